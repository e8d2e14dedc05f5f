/* fs: creating directory trees. Invariant: success means path is a directory (or a
 * symlink to one) now; a file in the way is an error, never a silent success. */
#include "infra/fs.h"

#include "common/error.h"

#include <errno.h>
#include <linux/limits.h> /* PATH_MAX (<limits.h> finds server/limits.h) */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* One level: made, or already a directory. */
static int make_one(const char *dir, mode_t mode)
{
	struct stat st;
	if (mkdir(dir, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(dir, &st) != 0)
		return -1; /* removed since (ENOENT): a caller may try again */
	if (S_ISDIR(st.st_mode))
		return 0;
	errno = ENOTDIR;
	return -1;
}

/* fs_make_dirs, naming in failed (n bytes) the prefix of path that failed. */
static int make_dirs(const char *path, mode_t mode, char *failed, size_t n)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	failed[0] = '\0';
	if (!len) {
		errno = ENOENT;
		return -1;
	}
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = '\0';
		if (make_one(buf, mode)) {
			int e = errno;
			snprintf(failed, n, "%s", buf);
			errno = e;
			return -1;
		}
		if (!c)
			return 0;
		*p = c;
	}
}

int fs_make_dirs(const char *path, mode_t mode)
{
	char failed[PATH_MAX];
	return make_dirs(path, mode, failed, sizeof(failed));
}

int fs_mkdir_p(const char *path, mode_t mode, struct bo_error *err)
{
	char failed[PATH_MAX];
	if (!make_dirs(path, mode, failed, sizeof(failed)))
		return 0;
	if (errno == ENOTDIR && failed[0])
		return bo_error_set(err, BO_ESTORAGE, "cannot create directory %s: %s is not a directory", path, failed);
	return bo_error_set(err, BO_ESTORAGE, "cannot create directory %s: %s", path, strerror(errno));
}

int fs_mkdir_mode(const char *path, mode_t mode, struct bo_error *err)
{
	int rc = fs_mkdir_p(path, mode, err);
	if (rc)
		return rc;
	if (chmod(path, mode))
		return bo_error_set(err, BO_ESTORAGE, "cannot set the mode of %s: %s", path, strerror(errno));
	return 0;
}

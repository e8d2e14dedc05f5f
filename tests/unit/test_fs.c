/* test_fs: directory trees made in one go, an existing directory accepted, a file in the
 * way refused with a message that names it, the exact mode of fs_mkdir_mode. Each test
 * runs in its own temp directory (the cwd). */
#include "check.h"

#include "common/error.h"
#include "infra/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		close(fd);
}

static void test_fs__nested_create(void)
{
	struct bo_error err = BO_ERROR_INIT;
	char path[512];
	snprintf(path, sizeof(path), "%s/a/b/c", check_tmpdir);
	int rc = fs_mkdir_p(path, 0750, &err);
	check(rc == 0, "rc %d: %s", rc, err.detail);
	check(is_dir("a") && is_dir("a/b") && is_dir("a/b/c"), "the tree was not made");
	/* relative, with a trailing and a doubled slash */
	rc = fs_mkdir_p("x//y/z/", 0700, &err);
	check(rc == 0 && is_dir("x/y/z"), "rc %d: %s", rc, err.detail);
	check(fs_make_dirs("p/q", 0755) == 0 && is_dir("p/q"), "fs_make_dirs: %s", strerror(errno));
	bo_error_cleanup(&err);
}

static void test_fs__existing_dir_ok(void)
{
	struct bo_error err = BO_ERROR_INIT;
	require(mkdir("d", 0700) == 0 && mkdir("d/e", 0700) == 0, "setup");
	check(fs_mkdir_p("d/e", 0750, &err) == 0, "existing: %s", err.detail);
	check(fs_mkdir_p("d", 0750, &err) == 0, "existing parent: %s", err.detail);
	check(fs_mkdir_p("d/e/f", 0750, &err) == 0 && is_dir("d/e/f"), "one more level: %s", err.detail);
	check(fs_mkdir_p("/", 0750, &err) == 0, "the root: %s", err.detail);
	/* an existing directory keeps its mode: only fs_mkdir_mode sets it */
	struct stat st;
	check(stat("d", &st) == 0 && (st.st_mode & 07777) == 0700, "mode changed to %o", st.st_mode & 07777);
	bo_error_cleanup(&err);
}

static void test_fs__file_in_the_way(void)
{
	struct bo_error err = BO_ERROR_INIT;
	require(mkdir("top", 0700) == 0, "setup");
	touch("top/file");
	/* the file is the directory asked for */
	int rc = fs_mkdir_p("top/file", 0750, &err);
	check(rc == BO_ESTORAGE, "rc %d", rc);
	check(!strcmp(err.detail, "cannot create directory top/file: top/file is not a directory"), "%s", err.detail);
	bo_error_cleanup(&err);
	/* the file is a parent of it */
	rc = fs_mkdir_p("top/file/sub/deeper", 0750, &err);
	check(rc == BO_ESTORAGE, "rc %d", rc);
	check(!strcmp(err.detail, "cannot create directory top/file/sub/deeper: top/file is not a directory"), "%s",
	      err.detail);
	bo_error_cleanup(&err);
	/* the errno form, for storage_fs */
	errno = 0;
	check(fs_make_dirs("top/file/sub", 0755) == -1 && errno == ENOTDIR, "errno %d", errno);
	errno = 0;
	check(fs_make_dirs("top/file", 0755) == -1 && errno == ENOTDIR, "errno %d", errno);
	/* other failures carry strerror */
	rc = fs_mkdir_p("", 0750, &err);
	check(rc == BO_ESTORAGE && strstr(err.detail, "cannot create directory : "), "%s", err.detail);
	bo_error_cleanup(&err);
}

static void test_fs__exact_mode(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct stat st;
	mode_t old = umask(077);
	int rc = fs_mkdir_mode("m/n", 0711, &err);
	umask(old);
	check(rc == 0, "rc %d: %s", rc, err.detail);
	check(stat("m/n", &st) == 0 && (st.st_mode & 07777) == 0711, "mode %o despite umask 077",
	      st.st_mode & 07777);
	/* an existing directory is set to the mode too */
	require(chmod("m/n", 0700) == 0, "chmod");
	check(fs_mkdir_mode("m/n", 0711, &err) == 0, "%s", err.detail);
	check(stat("m/n", &st) == 0 && (st.st_mode & 07777) == 0711, "mode %o", st.st_mode & 07777);
	bo_error_cleanup(&err);
}

static struct check_test tests[] = {
	TEST(test_fs__nested_create),
	TEST(test_fs__existing_dir_ok),
	TEST(test_fs__file_in_the_way),
	TEST(test_fs__exact_mode),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* validate_dir: the struct validate_files callbacks over a local directory (the CLI: an RDF's
 * directory, a package directory or an extracted zip). Invariant: only regular files are
 * read; a path naming a symlink (O_NOFOLLOW), a directory or anything else reads as "no such
 * file", as it would in a package the server unpacked. */
#include "check/validate.h"

#include "common/error.h"
#include "common/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int dir_open(void *ctx, const char *path, struct bo_error *err)
{
	char full[4096];
	snprintf(full, sizeof(full), "%s/%s", (const char *)ctx, path);
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return BO_ENOTFOUND;
	if (fd < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot open %s: %s", full, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return BO_ENOTFOUND;
	}
	return fd;
}

static int dir_stat(void *ctx, const char *path, uint64_t *size, struct bo_error *err)
{
	int fd = dir_open(ctx, path, err);
	struct stat st;
	if (fd < 0)
		return fd;
	fstat(fd, &st);
	*size = (uint64_t)st.st_size;
	close(fd);
	return 0;
}

static int dir_sha256(void *ctx, const char *path, char hex[65], struct bo_error *err)
{
	int fd = dir_open(ctx, path, err), rc = 0;
	if (fd < 0)
		return fd;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], out[32];
	unsigned int olen = 0;
	ssize_t n;
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)n);
	if (n < 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(md, out, &olen);
	hex_encode(hex, out, 32);
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return rc;
}

static int dir_read_head(void *ctx, const char *path, void *buf, size_t len, size_t *got,
			 struct bo_error *err)
{
	int fd = dir_open(ctx, path, err);
	if (fd < 0)
		return fd;
	size_t have = 0;
	while (have < len) {
		ssize_t n = read(fd, (char *)buf + have, len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	*got = have;
	return 0;
}

void validate_files_dir(struct validate_files *out, const char *dir)
{
	out->ctx = (void *)(uintptr_t)dir;
	out->stat = dir_stat;
	out->sha256 = dir_sha256;
	out->read_head = dir_read_head;
}

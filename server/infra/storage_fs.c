/* storage_fs: objects are regular files under one directory, the key being the relative
 * path. Invariant: a key's file only ever appears by rename(2) of a complete temp file
 * from <dir>/.tmp/ (same filesystem), fsynced unless the caller asked for a nosync put
 * (derived data; storage_sync makes those durable), so a reader never sees half an
 * object, and a failed write leaves nothing behind. The content type rides in a user xattr
 * where the filesystem has them. */
#include "infra/storage_fs.h"

#include "common/error.h"
#include "common/hex.h"
#include "infra/fs.h"
#include "infra/sigv4.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_CT "user.bo.content_type"
#define TMP_DIR ".tmp"
#define COPY_CHUNK (256u << 10)

struct storage_fs {
	char *root;
};

/* root + "/" + rel into buf (PATH_MAX). */
static int join(char *buf, const struct storage_fs *fs, const char *rel, struct bo_error *err)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", fs->root, rel);
	if (n < 0 || n >= PATH_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "storage path for '%.80s' is too long", rel);
	return 0;
}

static int reserved(const char *key, struct bo_error *err)
{
	if (!strncmp(key, TMP_DIR "/", sizeof(TMP_DIR)) || !strcmp(key, TMP_DIR))
		return bo_error_set(err, BO_EBADREQUEST,
				    "storage key '%.80s': the top-level '" TMP_DIR "/' is reserved", key);
	return 0;
}

int storage_fs__open(void **out, const char *dir, struct bo_error *err)
{
	char tmp[PATH_MAX];
	struct stat st;
	if (!dir || !dir[0] || strlen(dir) > PATH_MAX - STORAGE_KEY_MAX - 64)
		return bo_error_set(err, BO_EBADREQUEST, "storage_dir must be set and shorter than %d bytes",
				    PATH_MAX - STORAGE_KEY_MAX - 64);
	struct storage_fs *fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->root = strdup(dir))) {
		free(fs);
		return bo_error_set(err, BO_ENOMEM, "out of memory opening storage");
	}
	size_t n = strlen(fs->root);
	while (n > 1 && fs->root[n - 1] == '/')
		fs->root[--n] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/" TMP_DIR, fs->root);
	if (fs_make_dirs(tmp, 0755) || stat(fs->root, &st) || !S_ISDIR(st.st_mode)) {
		int rc = bo_error_set(err, BO_ESTORAGE, "storage_dir %s is not a usable directory: %s",
				      fs->root, strerror(errno ? errno : ENOTDIR));
		free(fs->root);
		free(fs);
		return rc;
	}
	*out = fs;
	return 0;
}

static void fs_free(void *impl)
{
	struct storage_fs *fs = impl;
	if (!fs)
		return;
	free(fs->root);
	free(fs);
}

/* ---- writing ------------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* makes the rename durable; failure only weakens durability */
		close(fd);
	}
}

/* Prunes now-empty directories from path's parent up to (not including) the root. */
static void prune_parents(const struct storage_fs *fs, const char *path)
{
	char dir[PATH_MAX];
	size_t rl = strlen(fs->root);
	snprintf(dir, sizeof(dir), "%s", path);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) <= rl)
			return;
		*slash = '\0';
		if (rmdir(dir))
			return; /* not empty (or raced with a writer): stop */
	}
}

/* Moves the finished temp file into key, creating parent directories. A concurrent
 * prune may remove a parent between mkdir and rename, so ENOENT is retried. */
static int install(const struct storage_fs *fs, const char *tmp, const char *key, int durable,
		   struct bo_error *err)
{
	char dst[PATH_MAX], parent[PATH_MAX];
	int rc = join(dst, fs, key, err);
	if (rc)
		return rc;
	snprintf(parent, sizeof(parent), "%s", dst);
	*strrchr(parent, '/') = '\0';
	for (int attempt = 0; attempt < 5; attempt++) {
		if (fs_make_dirs(parent, 0755)) {
			if (errno == ENOTDIR || errno == EEXIST)
				return bo_error_set(err, BO_ECONFLICT,
						    "storage key '%.200s': a parent segment is an object", key);
			if (errno == ENOENT)
				continue;
			return bo_error_set(err, BO_ESTORAGE, "storage: cannot create %s: %s", parent,
					    strerror(errno));
		}
		if (rename(tmp, dst) == 0) {
			if (durable)
				fsync_parent(dst);
			return 0;
		}
		if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
			return bo_error_set(err, BO_ECONFLICT,
					    "storage key '%.200s' is a prefix of other keys", key);
		if (errno == ENOTDIR)
			return bo_error_set(err, BO_ECONFLICT,
					    "storage key '%.200s': a parent segment is an object", key);
		if (errno != ENOENT)
			break;
	}
	return bo_error_set(err, BO_ESTORAGE, "storage: cannot rename into %s: %s", dst,
			    strerror(errno));
}

/* Writes an object from srcfd (when >= 0) or from data/len, hashing as it goes when
 * sha256_hex wants the digest. ct NULL: keep what is in ct_from_fd's xattr (copy), else
 * octet-stream. durable == 0 skips the fsyncs (storage_sync does them in bulk). */
static int write_object(const struct storage_fs *fs, const char *key, int srcfd,
			const void *data, size_t len, const char *ct, char *sha256_hex, int durable,
			struct bo_error *err)
{
	int rc = BO_ESTORAGE;
	char tmp[PATH_MAX];
	int fd = -1;
	char *buf = NULL;
	EVP_MD_CTX *md = NULL;
	rc = reserved(key, err);
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s/" TMP_DIR "/put-XXXXXX", fs->root);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		tmp[0] = '\0';
		rc = bo_error_set(err, BO_ESTORAGE, "storage: cannot create a temp file in %s/" TMP_DIR ": %s",
				  fs->root, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, 0644)) {
		rc = bo_error_set(err, BO_ESTORAGE, "storage: chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	md = sha256_hex ? EVP_MD_CTX_new() : NULL;
	if (sha256_hex && (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory hashing %s", key);
		goto fail;
	}
	if (srcfd >= 0) {
		buf = malloc(COPY_CHUNK);
		if (!buf) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory writing %s", key);
			goto fail;
		}
		for (;;) {
			ssize_t r = read(srcfd, buf, COPY_CHUNK);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = bo_error_set(err, BO_EINTERNAL, "storage: reading the source of %s: %s",
						  key, strerror(errno));
				goto fail;
			}
			if (r == 0)
				break;
			if (md)
				EVP_DigestUpdate(md, buf, (size_t)r);
			if (write_all(fd, buf, (size_t)r)) {
				rc = bo_error_set(err, BO_ESTORAGE, "storage: writing %s: %s", key,
						  strerror(errno));
				goto fail;
			}
		}
	} else {
		if (md)
			EVP_DigestUpdate(md, data, len);
		if (write_all(fd, data, len)) {
			rc = bo_error_set(err, BO_ESTORAGE, "storage: writing %s: %s", key, strerror(errno));
			goto fail;
		}
	}
	if (ct && ct[0]) /* best effort: filesystems without user xattrs fall back to octet-stream */
		fsetxattr(fd, XATTR_CT, ct, strlen(ct), 0);
	else if (srcfd >= 0) {
		char v[128];
		ssize_t n = fgetxattr(srcfd, XATTR_CT, v, sizeof(v) - 1);
		if (n > 0)
			fsetxattr(fd, XATTR_CT, v, (size_t)n, 0);
	}
	if (durable && fsync(fd)) {
		rc = bo_error_set(err, BO_ESTORAGE, "storage: fsync %s: %s", key, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		rc = bo_error_set(err, BO_ESTORAGE, "storage: writing %s: %s", key, strerror(errno));
		goto fail;
	}
	fd = -1;
	rc = install(fs, tmp, key, durable, err);
	if (rc)
		goto fail;
	tmp[0] = '\0';
	if (sha256_hex) {
		unsigned char d[32];
		unsigned int dl = 0;
		EVP_DigestFinal_ex(md, d, &dl);
		hex_encode(sha256_hex, d, 32);
	}
	rc = 0;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}

static int fs_put_file(void *impl, const char *key, const char *path, const char *content_type,
		       char *sha256_hex, struct bo_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bo_error_set(err, BO_EINTERNAL, "storage: cannot read %s: %s", path, strerror(errno));
	int rc = write_object(impl, key, fd, NULL, 0,
			      content_type ? content_type : "application/octet-stream", sha256_hex, 1, err);
	close(fd);
	return rc;
}

static int fs_put_buffer(void *impl, const char *key, const void *data, size_t len,
			 const char *content_type, struct bo_error *err)
{
	return write_object(impl, key, -1, data, len,
			    content_type ? content_type : "application/octet-stream", NULL, 1, err);
}

static int fs_put_buffer_nosync(void *impl, const char *key, const void *data, size_t len,
				const char *content_type, struct bo_error *err)
{
	return write_object(impl, key, -1, data, len,
			    content_type ? content_type : "application/octet-stream", NULL, 0, err);
}

/* One syncfs(2) for every nosync put: cheaper than an fsync per file when a rebuild
 * writes thousands of small ones. */
static int fs_sync(void *impl, struct bo_error *err)
{
	const struct storage_fs *fs = impl;
	int fd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return bo_error_set(err, BO_ESTORAGE, "storage: cannot sync %s: %s", fs->root, strerror(e));
	}
	close(fd);
	return 0;
}

/* ---- reading --------------------------------------------------------------------- */

/* Opens key's file; a missing file, a directory or anything not regular is NOTFOUND. */
static int open_object(const struct storage_fs *fs, const char *key, int *fd_out,
		       struct stat *st, struct bo_error *err)
{
	char path[PATH_MAX];
	int rc = reserved(key, err);
	if (rc)
		return rc;
	rc = join(path, fs, key, err);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return bo_error_set(err, BO_ENOTFOUND, "storage object %.200s not found", key);
		return bo_error_set(err, BO_ESTORAGE, "storage: cannot open %s: %s", key, strerror(errno));
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return bo_error_set(err, BO_ENOTFOUND, "storage object %.200s not found", key);
	}
	*fd_out = fd;
	return 0;
}

static int fs_get_range(void *impl, const char *key, uint64_t offset, uint64_t length,
			int (*sink)(void *ctx, const void *buf, size_t n), void *ctx,
			struct bo_error *err)
{
	struct stat st;
	int fd = -1;
	char *buf = NULL;
	int rc = open_object(impl, key, &fd, &st, err);
	if (rc)
		return rc;
	uint64_t size = (uint64_t)st.st_size;
	if (offset > size) {
		rc = bo_error_set(err, BO_EBADREQUEST, "range start %llu is past the end of %.200s (%llu bytes)",
				  (unsigned long long)offset, key, (unsigned long long)size);
		goto fail;
	}
	uint64_t left = size - offset < length ? size - offset : length;
	buf = malloc(COPY_CHUNK);
	if (!buf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading %s", key);
		goto fail;
	}
	uint64_t pos = offset;
	while (left) {
		size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		ssize_t r = pread(fd, buf, want, (off_t)pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = bo_error_set(err, BO_ESTORAGE, "storage: reading %s: %s", key, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break; /* truncated under us: deliver what there was */
		if (sink(ctx, buf, (size_t)r)) {
			rc = bo_error_set(err, BO_EINTERNAL, "reading %s: stopped by the receiver", key);
			goto fail;
		}
		pos += (uint64_t)r;
		left -= (uint64_t)r;
	}
	rc = 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

static int fs_head(void *impl, const char *key, struct storage_stat *out, struct bo_error *err)
{
	struct stat st;
	int fd;
	int rc = open_object(impl, key, &fd, &st, err);
	if (rc)
		return rc;
	out->size = (uint64_t)st.st_size;
	/* Changes whenever the file is replaced (new inode) or rewritten. */
	snprintf(out->etag, sizeof(out->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec);
	ssize_t n = fgetxattr(fd, XATTR_CT, out->content_type, sizeof(out->content_type) - 1);
	if (n > 0)
		out->content_type[n] = '\0';
	else
		snprintf(out->content_type, sizeof(out->content_type), "application/octet-stream");
	close(fd);
	return 0;
}

static int fs_open_fd(void *impl, const char *key, int *fd_out, uint64_t *size_out,
		      struct bo_error *err)
{
	struct stat st;
	int rc = open_object(impl, key, fd_out, &st, err);
	if (rc)
		return rc;
	*size_out = (uint64_t)st.st_size;
	return 0;
}

/* ---- deleting ------------------------------------------------------------------ */

static int fs_del(void *impl, const char *key, struct bo_error *err)
{
	char path[PATH_MAX];
	int rc = reserved(key, err);
	if (rc)
		return rc;
	rc = join(path, impl, key, err);
	if (rc)
		return rc;
	if (unlink(path)) {
		/* A missing key (or one that is only a prefix of others) is not an error. */
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			return 0;
		return bo_error_set(err, BO_ESTORAGE, "storage: deleting %s: %s", key, strerror(errno));
	}
	prune_parents(impl, path);
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	return r && errno != ENOENT ? -1 : 0;
}

static int fs_delete_prefix(void *impl, const char *prefix, struct bo_error *err)
{
	char path[PATH_MAX];
	int rc = reserved(prefix, err);
	if (rc)
		return rc;
	rc = join(path, impl, prefix, err);
	if (rc)
		return rc;
	path[strlen(path) - 1] = '\0'; /* the prefix ends with '/' */
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return bo_error_set(err, BO_ESTORAGE, "storage: deleting under %s: %s", prefix,
				    strerror(errno));
	}
	prune_parents(impl, path);
	return 0;
}

/* ---- listing --------------------------------------------------------------------- */

struct entry {
	char *key;
	uint64_t size;
};

struct walk {
	const char *prefix;
	const char *start_after;
	struct entry *v;
	size_t n, cap;
	int oom;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

/* Walks the directory rel (relative to root, "" or ending in '/') collecting the keys
 * that start with w->prefix and sort after w->start_after. */
static int walk_dir(const struct storage_fs *fs, char *rel, size_t rel_len, struct walk *w)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", fs->root, rel);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	int rc = 0;
	size_t plen = strlen(w->prefix);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (rel_len == 0 && !strcmp(name, TMP_DIR))
			continue;
		size_t nl = strlen(name);
		if (rel_len + nl + 2 > STORAGE_KEY_MAX + 2)
			continue;
		memcpy(rel + rel_len, name, nl + 1);
		size_t klen = rel_len + nl;
		/* Prune subtrees that cannot match the prefix. */
		size_t cmp = klen < plen ? klen : plen;
		if (strncmp(rel, w->prefix, cmp))
			continue;
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", fs->root, rel);
		if (lstat(path, &st))
			continue; /* deleted meanwhile */
		if (S_ISDIR(st.st_mode)) {
			rel[klen] = '/';
			rel[klen + 1] = '\0';
			rc = walk_dir(fs, rel, klen + 1, w);
			if (rc)
				break;
			continue;
		}
		if (!S_ISREG(st.st_mode) || klen < plen)
			continue;
		if (w->start_after && strcmp(rel, w->start_after) <= 0)
			continue;
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 64;
			struct entry *v = realloc(w->v, cap * sizeof(*v));
			if (!v) {
				w->oom = 1;
				rc = -1;
				break;
			}
			w->v = v;
			w->cap = cap;
		}
		w->v[w->n].key = strdup(rel);
		if (!w->v[w->n].key) {
			w->oom = 1;
			rc = -1;
			break;
		}
		w->v[w->n].size = (uint64_t)st.st_size;
		w->n++;
	}
	closedir(d);
	rel[rel_len] = '\0';
	return rc;
}

static int fs_list(void *impl, const char *prefix, const char *start_after, int max,
		   int (*cb)(void *ctx, const char *key, uint64_t size), void *ctx,
		   char **next_out, struct bo_error *err)
{
	int rc;
	char rel[STORAGE_KEY_MAX + 2];
	struct walk w = {prefix, start_after, NULL, 0, 0, 0};
	/* Start at the deepest directory the prefix names. */
	const char *slash = strrchr(prefix, '/');
	size_t dl = slash ? (size_t)(slash - prefix) + 1 : 0;
	memcpy(rel, prefix, dl);
	rel[dl] = '\0';
	if (walk_dir(impl, rel, dl, &w)) {
		rc = w.oom ? bo_error_set(err, BO_ENOMEM, "out of memory listing %s", prefix)
			   : bo_error_set(err, BO_ESTORAGE, "storage: listing %s: %s", prefix,
					  strerror(errno));
		goto fail;
	}
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), cmp_entry);
	size_t take = w.n < (size_t)max ? w.n : (size_t)max;
	for (size_t i = 0; i < take; i++) {
		if (cb(ctx, w.v[i].key, w.v[i].size)) {
			rc = bo_error_set(err, BO_EINTERNAL, "listing %s: stopped by the receiver", prefix);
			goto fail;
		}
	}
	if (w.n > take) {
		*next_out = strdup(w.v[take - 1].key);
		if (!*next_out) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory listing %s", prefix);
			goto fail;
		}
	}
	rc = 0;
fail:
	for (size_t i = 0; i < w.n; i++)
		free(w.v[i].key);
	free(w.v);
	return rc;
}

/* ---- the rest -------------------------------------------------------------------- */

static int fs_copy(void *impl, const char *src_key, const char *dst_key, struct bo_error *err)
{
	struct stat st;
	int fd;
	int rc = open_object(impl, src_key, &fd, &st, err);
	if (rc)
		return rc;
	rc = write_object(impl, dst_key, fd, NULL, 0, NULL, NULL, 1, err);
	close(fd);
	return rc;
}

static int fs_presign_get(void *impl, const char *key, int expires, const char *base_url,
			  const struct storage_response *resp, char **url_out, struct bo_error *err)
{
	(void)impl, (void)expires, (void)resp;
	char *enc = NULL;
	if (!base_url || !base_url[0])
		return bo_error_set(err, BO_EBADREQUEST, "fs storage needs a base URL to link %.200s", key);
	int rc = sigv4_uri_encode(&enc, key, 1, err);
	if (rc)
		return rc;
	size_t bl = strlen(base_url);
	while (bl && base_url[bl - 1] == '/')
		bl--;
	size_t n = bl + strlen("/files/") + strlen(enc) + 1;
	char *url = malloc(n);
	if (!url) {
		free(enc);
		return bo_error_set(err, BO_ENOMEM, "out of memory linking %s", key);
	}
	snprintf(url, n, "%.*s/files/%s", (int)bl, base_url, enc);
	free(enc);
	*url_out = url;
	return 0;
}

static int fs_ping(void *impl, struct bo_error *err)
{
	const struct storage_fs *fs = impl;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/" TMP_DIR "/ping-XXXXXX", fs->root);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return bo_error_set(err, BO_ESTORAGE, "storage directory %s is not writable: %s", fs->root,
				    strerror(errno));
	close(fd);
	unlink(tmp);
	return 0;
}

const struct storage__backend storage_fs__backend = {
	.name = "fs",
	.free = fs_free,
	.put_file = fs_put_file,
	.put_buffer = fs_put_buffer,
	.put_buffer_nosync = fs_put_buffer_nosync,
	.sync = fs_sync,
	.get_range = fs_get_range,
	.head = fs_head,
	.del = fs_del,
	.delete_prefix = fs_delete_prefix,
	.list = fs_list,
	.copy = fs_copy,
	.presign_get = fs_presign_get,
	.open_fd = fs_open_fd,
	.ping = fs_ping,
};

/* storage: the one entry point to the blob store. It checks every key against the key
 * rules before a backend sees it, counts failures for /metrics, and implements the
 * whole-object reads (buffer, file) on top of each backend's ranged read.
 * Invariant: after storage_open, a storage is immutable except the atomic counter. */
#include "infra/storage.h"

#include "infra/db.h"

#include "common/error.h"
#include "infra/config.h"
#include "infra/storage_fs.h"
#include "infra/storage_s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct storage {
	const struct storage__backend *be;
	void *impl;
	_Atomic uint64_t errors;
};

/* ---- key rules ------------------------------------------------------------------ */

/* Length of the UTF-8 sequence at p (1..4), or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	uint32_t cp;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Checks key; a prefix (is_prefix) may be empty and may end with '/'. */
static int check_name(const char *key, int is_prefix, struct bo_error *err)
{
	const char *what = is_prefix ? "prefix" : "key";
	if (!key)
		return bo_error_set(err, BO_EBADREQUEST, "storage %s is missing", what);
	size_t len = strlen(key);
	if (len == 0 && !is_prefix)
		return bo_error_set(err, BO_EBADREQUEST, "storage key is empty");
	if (len > STORAGE_KEY_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "storage %s is %zu bytes, the limit is %d",
				    what, len, STORAGE_KEY_MAX);
	if (key[0] == '/')
		return bo_error_set(err, BO_EBADREQUEST, "storage %s '%.80s' starts with '/'", what, key);
	if (!is_prefix && key[len - 1] == '/')
		return bo_error_set(err, BO_EBADREQUEST, "storage key '%.80s' ends with '/'", key);
	const unsigned char *p = (const unsigned char *)key;
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return bo_error_set(err, BO_EBADREQUEST,
					    "storage %s contains a control character (byte %zu)", what, i);
		if (p[i] == '\\')
			return bo_error_set(err, BO_EBADREQUEST, "storage %s '%.80s' contains a backslash",
					    what, key);
		size_t n = utf8_len(p + i);
		if (n == 0)
			return bo_error_set(err, BO_EBADREQUEST,
					    "storage %s is not valid UTF-8 (byte %zu)", what, i);
		i += n;
	}
	/* Segment rules: no empty segment ("//"), no "." or "..". */
	const char *seg = key;
	while (*seg) {
		size_t sl = strcspn(seg, "/");
		int last = seg[sl] == '\0';
		if (sl == 0 && !(is_prefix && last))
			return bo_error_set(err, BO_EBADREQUEST, "storage %s '%.80s' contains '//'", what,
					    key);
		if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return bo_error_set(err, BO_EBADREQUEST,
					    "storage %s '%.80s' contains a '.' or '..' segment", what, key);
		seg += sl;
		if (*seg == '/')
			seg++;
	}
	return 0;
}

int storage_check_key(const char *key, struct bo_error *err) { return check_name(key, 0, err); }

/* ---- open / free ------------------------------------------------------------------ */

int storage_open(storage **out, const struct config *cfg, struct bo_error *err)
{
	int rc;
	storage *s = calloc(1, sizeof(*s));
	if (!s)
		return bo_error_set(err, BO_ENOMEM, "out of memory opening storage");
	atomic_init(&s->errors, 0);
	if (!strcmp(cfg->storage, "fs")) {
		s->be = &storage_fs__backend;
		rc = storage_fs__open(&s->impl, cfg->storage_dir, err);
	} else if (!strcmp(cfg->storage, "s3")) {
		s->be = &storage_s3__backend;
		rc = storage_s3__open(&s->impl, cfg, err);
	} else {
		rc = bo_error_set(err, BO_EBADREQUEST, "storage must be 'fs' or 's3', got '%s'",
				  cfg->storage);
	}
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void storage_free(storage *s)
{
	if (!s)
		return;
	s->be->free(s->impl);
	free(s);
}

const char *storage_backend_name(const storage *s) { return s->be->name; }

uint64_t storage_error_count(const storage *s)
{
	return atomic_load(&((storage *)(uintptr_t)s)->errors);
}

/* Counts rc when it is the storage's failure, not the caller's. */
static int counted(storage *s, int rc)
{
	if (rc && rc != BO_ENOTFOUND && rc != BO_EBADREQUEST && rc != BO_ETOOLARGE)
		atomic_fetch_add(&s->errors, 1);
	return rc;
}

/* ---- the API ----------------------------------------------------------------------- */

int storage_put_file(storage *s, const char *key, const char *path, const char *content_type,
		     char *sha256_hex, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->put_file(s->impl, key, path, content_type, sha256_hex, err));
}

int storage_put_buffer(storage *s, const char *key, const void *data, size_t len,
		       const char *content_type, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->put_buffer(s->impl, key, data, len, content_type, err));
}

int storage_put_buffer_nosync(storage *s, const char *key, const void *data, size_t len,
			      const char *content_type, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	if (!s->be->put_buffer_nosync)
		return counted(s, s->be->put_buffer(s->impl, key, data, len, content_type, err));
	return counted(s, s->be->put_buffer_nosync(s->impl, key, data, len, content_type, err));
}

int storage_sync(storage *s, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	return s->be->sync ? counted(s, s->be->sync(s->impl, err)) : 0;
}

int storage_get_range(storage *s, const char *key, uint64_t offset, uint64_t length,
		      int (*sink)(void *ctx, const void *buf, size_t n), void *ctx,
		      struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->get_range(s->impl, key, offset, length, sink, ctx, err));
}

struct file_sink {
	int fd;
	int failed_errno;
};

static int write_sink(void *ctx, const void *buf, size_t n)
{
	struct file_sink *fs = ctx;
	const char *p = buf;
	while (n) {
		ssize_t w = write(fs->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fs->failed_errno = w < 0 ? errno : EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Moves a backend error found under a sink we own into err (first error still wins). */
static int pass_error(struct bo_error *err, struct bo_error *inner, int rc)
{
	rc = bo_error_move(err, inner, rc);
	return rc;
}

int storage_get_file(storage *s, const char *key, const char *path, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	struct bo_error inner = BO_ERROR_INIT;
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	struct file_sink fsink = {-1, 0};
	fsink.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fsink.fd < 0)
		return counted(s, bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", path,
					       strerror(errno)));
	rc = s->be->get_range(s->impl, key, 0, UINT64_MAX, write_sink, &fsink, &inner);
	if (rc && fsink.failed_errno) /* our own sink stopped it: say why */
		rc = bo_error_set(err, BO_EINTERNAL, "writing %s: %s", path, strerror(fsink.failed_errno));
	else if (rc)
		rc = pass_error(err, &inner, rc);
	bo_error_cleanup(&inner);
	if (close(fsink.fd) && !rc)
		rc = bo_error_set(err, BO_EINTERNAL, "writing %s: %s", path, strerror(errno));
	if (rc)
		unlink(path);
	return counted(s, rc);
}

struct buf_sink {
	char *p;
	size_t len, cap, max;
	int too_large, oom;
};

static int buffer_sink(void *ctx, const void *buf, size_t n)
{
	struct buf_sink *b = ctx;
	if (n > b->max - b->len) {
		b->too_large = 1; /* it grew past max since the HEAD */
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, buf, n);
	b->len += n;
	return 0;
}

int storage_get_buffer(storage *s, const char *key, size_t max, char **out, size_t *len_out,
		       struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	struct storage_stat st;
	struct buf_sink b = {NULL, 0, 0, max, 0, 0};
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	/* HEAD first, so an oversized object is refused before any byte moves and the
	 * buffer is allocated once. */
	rc = s->be->head(s->impl, key, &st, err);
	if (rc)
		goto fail;
	if (st.size > max) {
		rc = bo_error_set(err, BO_ETOOLARGE, "storage object %s is %llu bytes, the limit is %zu",
				  key, (unsigned long long)st.size, max);
		goto fail;
	}
	b.cap = (size_t)st.size + 1;
	b.p = malloc(b.cap);
	if (!b.p) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading %s (%llu bytes)", key,
				  (unsigned long long)st.size);
		goto fail;
	}
	struct bo_error inner = BO_ERROR_INIT;
	rc = s->be->get_range(s->impl, key, 0, UINT64_MAX, buffer_sink, &b, &inner);
	if (rc && b.too_large)
		rc = bo_error_set(err, BO_ETOOLARGE, "storage object %s grew past the limit of %zu bytes",
				  key, max);
	else if (rc && b.oom)
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading %s", key);
	else if (rc)
		rc = pass_error(err, &inner, rc);
	bo_error_cleanup(&inner);
	if (rc)
		goto fail;
	b.p[b.len] = '\0';
	*out = b.p;
	*len_out = b.len;
	b.p = NULL;
fail:
	free(b.p);
	return counted(s, rc);
}

int storage_head(storage *s, const char *key, struct storage_stat *out, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->head(s->impl, key, out, err));
}

int storage_delete(storage *s, const char *key, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->del(s->impl, key, err));
}

int storage_delete_prefix(storage *s, const char *prefix, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(prefix, 1, err);
	if (rc)
		return rc;
	size_t n = strlen(prefix);
	if (n == 0 || prefix[n - 1] != '/')
		return bo_error_set(err, BO_EBADREQUEST,
				    "delete prefix '%.80s' must be non-empty and end with '/'", prefix);
	return counted(s, s->be->delete_prefix(s->impl, prefix, err));
}

int storage_list(storage *s, const char *prefix, const char *start_after, int max,
		 int (*cb)(void *ctx, const char *key, uint64_t size), void *ctx,
		 char **next_out, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	*next_out = NULL;
	int rc = check_name(prefix ? prefix : "", 1, err);
	if (rc)
		return rc;
	if (max < 1)
		return bo_error_set(err, BO_EBADREQUEST, "list page size must be at least 1, got %d", max);
	if (start_after && strlen(start_after) > STORAGE_KEY_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "list start_after is longer than %d bytes",
				    STORAGE_KEY_MAX);
	return counted(s, s->be->list(s->impl, prefix ? prefix : "", start_after, max, cb, ctx,
				      next_out, err));
}

int storage_copy(storage *s, const char *src_key, const char *dst_key, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	int rc = check_name(src_key, 0, err);
	if (rc)
		return rc;
	rc = check_name(dst_key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->copy(s->impl, src_key, dst_key, err));
}

int storage_presign_get(storage *s, const char *key, int expires, const char *base_url,
			const struct storage_response *resp, char **url_out, struct bo_error *err)
{
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	if (expires < 1 || expires > 604800)
		return bo_error_set(err, BO_EBADREQUEST,
				    "presigned URL lifetime %d s is outside 1..604800 (7 days)", expires);
	return counted(s, s->be->presign_get(s->impl, key, expires, base_url, resp, url_out, err));
}

int storage_open_fd(storage *s, const char *key, int *fd_out, uint64_t *size_out,
		    struct bo_error *err)
{
	int rc = check_name(key, 0, err);
	if (rc)
		return rc;
	return counted(s, s->be->open_fd(s->impl, key, fd_out, size_out, err));
}

int storage_ping(storage *s, struct bo_error *err)
{
	db_assert_no_write_tx(__func__);
	return counted(s, s->be->ping(s->impl, err));
}

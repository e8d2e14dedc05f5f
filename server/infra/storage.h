/* storage: the blob store behind the server — object keys to bytes, with two backends:
 * a local directory (storage_fs) and S3 over libcurl (storage_s3). Every entry point
 * validates its keys first, so backends only ever see keys that are safe as relative
 * file paths and as S3 keys. A storage is safe to use from several threads at once. */
#ifndef BO_STORAGE_H
#define BO_STORAGE_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct config;

typedef struct storage storage;

struct storage_stat {
	uint64_t size;
	char etag[128];         /* quoted, as an HTTP ETag */
	char content_type[128]; /* "application/octet-stream" when unknown */
};

/* Longest key or prefix accepted, in bytes. */
#define STORAGE_KEY_MAX 1024

/* Opens the backend named by cfg->storage ("fs": cfg->storage_dir, created if missing;
 * "s3": cfg->s3_*, no request is made — see storage_ping). cfg is read during the call
 * only. Keys are relative ("abc/draft/files/rdf.yaml"); for s3, cfg->s3_prefix (with a
 * '/' appended when it has none) is prepended. Key rules, checked by every function:
 * non-empty, <= STORAGE_KEY_MAX bytes, valid UTF-8, no leading or trailing '/', no "." or
 * ".." segments, no "//", no backslash, no control characters -> BO_EBADREQUEST. The fs
 * backend also reserves the top-level ".tmp/" (its temp files). Returns 0,
 * BO_EBADREQUEST (bad config), BO_ESTORAGE (directory unusable) or BO_ENOMEM.
 * *out is freed with storage_free. */
int storage_open(storage **out, const struct config *cfg, struct bo_error *err);
void storage_free(storage *s);

/* Checks a key against the rules above (what every function does first).
 * Returns 0 or BO_EBADREQUEST with a detail naming the rule. */
int storage_check_key(const char *key, struct bo_error *err);

/* Streams the local file path into key; sha256_hex (65 bytes, may be NULL) receives the
 * lowercase hex digest of what was stored. content_type may be NULL (octet-stream).
 * fs: temp file + fsync + rename (a reader never sees half an object; a failed put leaves
 * nothing). s3: single PUT below cfg->s3_part_size, multipart upload from there (aborted
 * on failure). Never holds the whole file in memory. Returns 0, BO_EBADREQUEST (key),
 * BO_EINTERNAL (path unreadable), BO_ECONFLICT (fs: a key is a prefix of this one),
 * BO_ESTORAGE (backend failed, after retries for s3) or BO_ENOMEM. */
int storage_put_file(storage *s, const char *key, const char *path, const char *content_type,
		     char *sha256_hex, struct bo_error *err);
/* As storage_put_file, from memory (single request/rename). */
int storage_put_buffer(storage *s, const char *key, const void *data, size_t len,
		       const char *content_type, struct bo_error *err);

/* As storage_put_buffer, for derived data that can be rebuilt at any time (the collection
 * index files): still atomic (a reader sees the old bytes or the new ones, never half),
 * but not made durable one by one — fs skips the fsyncs; s3 is unchanged. After a batch,
 * one storage_sync makes all of it durable. Same return codes as storage_put_buffer. */
int storage_put_buffer_nosync(storage *s, const char *key, const void *data, size_t len,
			      const char *content_type, struct bo_error *err);

/* Makes every earlier storage_put_buffer_nosync durable (fs: one syncfs(2) of the
 * storage's filesystem; s3: nothing, a completed PUT is durable). Returns 0 or
 * BO_ESTORAGE. */
int storage_sync(storage *s, struct bo_error *err);

/* Downloads key into the local file path (created/truncated, mode 0644; removed again on
 * failure). Returns 0, BO_ENOTFOUND, BO_EINTERNAL (path not writable), BO_ESTORAGE. */
int storage_get_file(storage *s, const char *key, const char *path, struct bo_error *err);

/* Reads key into *out (malloc'd, caller frees, with an extra NUL not counted in
 * *len_out). Returns 0, BO_ENOTFOUND, BO_ETOOLARGE (object larger than max bytes),
 * BO_ESTORAGE or BO_ENOMEM. */
int storage_get_buffer(storage *s, const char *key, size_t max, char **out, size_t *len_out,
		       struct bo_error *err);

/* Streams bytes [offset, offset+length) of key to sink (length UINT64_MAX = to the end;
 * a range past the end is cut at the end). An offset beyond the size is BO_EBADREQUEST;
 * offset == size gives no bytes. A sink returning non-zero stops the transfer and the
 * call returns BO_EINTERNAL. s3 retries resume after the bytes already delivered, so the
 * sink never sees a byte twice. Returns 0, BO_ENOTFOUND, BO_EBADREQUEST, BO_EINTERNAL,
 * BO_ESTORAGE. */
int storage_get_range(storage *s, const char *key, uint64_t offset, uint64_t length,
		      int (*sink)(void *ctx, const void *buf, size_t n), void *ctx,
		      struct bo_error *err);

/* Size, ETag and content type of key. Returns 0, BO_ENOTFOUND, BO_ESTORAGE. */
int storage_head(storage *s, const char *key, struct storage_stat *out, struct bo_error *err);

/* Deletes key; deleting a missing key is not an error. Returns 0, BO_ESTORAGE. */
int storage_delete(storage *s, const char *key, struct bo_error *err);

/* Deletes every key under prefix (non-empty, must end with '/', otherwise
 * BO_EBADREQUEST). Returns 0, BO_EBADREQUEST, BO_ESTORAGE. */
int storage_delete_prefix(storage *s, const char *prefix, struct bo_error *err);

/* Lists keys under prefix ("" = all) in byte-wise lexicographic order, strictly after
 * start_after (NULL = from the start), at most max (>= 1) keys, calling cb for each (keys
 * without s3_prefix; the string is valid during the call only). *next_out is the
 * start_after for the next page (malloc'd, caller frees), or NULL when no key follows.
 * cb returning non-zero stops with BO_EINTERNAL. Returns 0, BO_EBADREQUEST,
 * BO_EINTERNAL, BO_ESTORAGE, BO_ENOMEM. */
int storage_list(storage *s, const char *prefix, const char *start_after, int max,
		 int (*cb)(void *ctx, const char *key, uint64_t size), void *ctx,
		 char **next_out, struct bo_error *err);

/* Server-side copy of src_key to dst_key (s3: x-amz-copy-source, objects up to 5 GiB;
 * fs: copy to a temp file + rename). The content type is kept. Returns 0, BO_ENOTFOUND
 * (source missing), BO_ECONFLICT (fs), BO_ESTORAGE. */
int storage_copy(storage *s, const char *src_key, const char *dst_key, struct bo_error *err);

/* Headers a presigned GET makes the object store answer with instead of the object's own
 * (S3's response-content-type / response-content-disposition); a NULL member leaves that
 * header as stored. */
struct storage_response {
	const char *content_type;
	const char *content_disposition;
};

/* A URL that lets anyone GET key for expires seconds (1..604800). s3: SigV4 presigned
 * URL (the object need not exist) that signs resp's overrides (resp may be NULL). fs:
 * base_url + "/files/" + encoded key (base_url required; expires and resp unused: our
 * /files route sets its own headers). *url_out is malloc'd. Returns 0, BO_EBADREQUEST,
 * BO_ENOMEM. */
int storage_presign_get(storage *s, const char *key, int expires, const char *base_url,
			const struct storage_response *resp, char **url_out, struct bo_error *err);

/* fs only: opens key for reading (O_RDONLY|O_CLOEXEC; the caller closes *fd_out) and
 * gives its size. Returns 0 or BO_ENOTFOUND; on s3 always BO_ENOTFOUND (callers then
 * redirect to a presigned URL). */
int storage_open_fd(storage *s, const char *key, int *fd_out, uint64_t *size_out,
		    struct bo_error *err);

/* Reachability for /readyz (fs: the directory is writable; s3: HEAD bucket).
 * Returns 0 or BO_ESTORAGE. */
int storage_ping(storage *s, struct bo_error *err);

/* "fs" or "s3" (static string). */
const char *storage_backend_name(const storage *s);

/* Number of failed storage operations since open (every failure except BO_ENOTFOUND,
 * BO_EBADREQUEST and BO_ETOOLARGE, which are the caller's), for /metrics. Thread-safe. */
uint64_t storage_error_count(const storage *s);

/* ---- for the backends (storage_fs.c, storage_s3.c) only ---------------------------
 * Each backend exports one const table; storage.c validates keys and counts errors,
 * then calls through it. impl is the backend's own opaque object. */
struct storage__backend {
	const char *name;
	void (*free)(void *impl);
	int (*put_file)(void *impl, const char *key, const char *path, const char *content_type,
			char *sha256_hex, struct bo_error *err);
	int (*put_buffer)(void *impl, const char *key, const void *data, size_t len,
			  const char *content_type, struct bo_error *err);
	/* optional: NULL means put_buffer is used and sync does nothing */
	int (*put_buffer_nosync)(void *impl, const char *key, const void *data, size_t len,
				 const char *content_type, struct bo_error *err);
	int (*sync)(void *impl, struct bo_error *err);
	int (*get_range)(void *impl, const char *key, uint64_t offset, uint64_t length,
			 int (*sink)(void *ctx, const void *buf, size_t n), void *ctx,
			 struct bo_error *err);
	int (*head)(void *impl, const char *key, struct storage_stat *out, struct bo_error *err);
	int (*del)(void *impl, const char *key, struct bo_error *err);
	int (*delete_prefix)(void *impl, const char *prefix, struct bo_error *err);
	int (*list)(void *impl, const char *prefix, const char *start_after, int max,
		    int (*cb)(void *ctx, const char *key, uint64_t size), void *ctx,
		    char **next_out, struct bo_error *err);
	int (*copy)(void *impl, const char *src_key, const char *dst_key, struct bo_error *err);
	int (*presign_get)(void *impl, const char *key, int expires, const char *base_url,
			   const struct storage_response *resp, char **url_out, struct bo_error *err);
	int (*open_fd)(void *impl, const char *key, int *fd_out, uint64_t *size_out,
		       struct bo_error *err);
	int (*ping)(void *impl, struct bo_error *err);
};

#endif

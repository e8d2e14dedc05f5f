/* storage_s3: objects in an S3 bucket, over httpc (libcurl), signed with our sigv4 module.
 * Invariants: one CURL easy handle per call (connections are shared through a locked
 * CURLSH), so the backend is thread-safe with no mutable state of its own; a request
 * is retried (httpc: 5xx, 429, 408, network errors, exponential backoff from 100 ms) only
 * when its body can be replayed — every body here is a buffer or a file region read with
 * pread, so all are — each attempt is signed anew, and a download resumes after the bytes
 * already handed to the sink. */
#include "infra/storage_s3.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "infra/config.h"
#include "infra/httpc.h"
#include "infra/sigv4.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Largest XML response we accept (a 1000-key listing with 1 KiB keys is ~1.3 MiB). */
#define RESP_MAX (4u << 20)
/* S3 allows at most 10,000 parts per multipart upload. */
#define MAX_PARTS 10000
#define HASH_CHUNK (256u << 10)

struct storage_s3 {
	char *base;     /* scheme://host[:port] requests go to (bucket host when virtual-host) */
	char host[1024]; /* Host header value for base */
	char *bucket;
	char *prefix;   /* "" or ends with '/' */
	char *region;
	char *access_key;
	char *secret_key;
	int path_style;
	uint64_t part_size;
	int retries;
	long timeout;
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

/* ---- small helpers ------------------------------------------------------------- */

static char *cat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", a, b, c);
	return p;
}

/* Finds <tag>text</tag> in [s, end); val and vlen give the raw text, after the end
 * of the element. Returns 0 or -1. */
static int xml_find(const char *s, const char *end, const char *tag, const char **val,
		    size_t *vlen, const char **after)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	size_t ol = strlen(open), cl = strlen(close);
	for (const char *p = s; p + ol <= end; p++) {
		if (memcmp(p, open, ol))
			continue;
		const char *v = p + ol;
		for (const char *q = v; q + cl <= end; q++) {
			if (!memcmp(q, close, cl)) {
				*val = v;
				*vlen = (size_t)(q - v);
				if (after)
					*after = q + cl;
				return 0;
			}
		}
		return -1;
	}
	return -1;
}

/* Decodes the five XML entities and numeric references into buf (NUL-terminated,
 * truncated to len). */
static void xml_text(char *buf, size_t len, const char *v, size_t vlen)
{
	size_t o = 0;
	for (size_t i = 0; i < vlen && o + 4 < len;) {
		if (v[i] != '&') {
			buf[o++] = v[i++];
			continue;
		}
		static const struct {
			const char *e;
			char c;
		} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
		int done = 0;
		for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			size_t el = strlen(ents[k].e);
			if (i + el <= vlen && !memcmp(v + i, ents[k].e, el)) {
				buf[o++] = ents[k].c;
				i += el;
				done = 1;
				break;
			}
		}
		if (done)
			continue;
		if (i + 2 < vlen && v[i + 1] == '#') {
			const char *semi = memchr(v + i, ';', vlen - i);
			if (semi) {
				unsigned long cp = v[i + 2] == 'x' ? strtoul(v + i + 3, NULL, 16)
								   : strtoul(v + i + 2, NULL, 10);
				/* Encode the code point as UTF-8. */
				if (cp < 0x80) {
					buf[o++] = (char)cp;
				} else if (cp < 0x800) {
					buf[o++] = (char)(0xc0 | (cp >> 6));
					buf[o++] = (char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					buf[o++] = (char)(0xe0 | (cp >> 12));
					buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					buf[o++] = (char)(0x80 | (cp & 0x3f));
				} else {
					buf[o++] = (char)(0xf0 | (cp >> 18));
					buf[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
					buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					buf[o++] = (char)(0x80 | (cp & 0x3f));
				}
				i = (size_t)(semi - v) + 1;
				continue;
			}
		}
		buf[o++] = v[i++];
	}
	buf[o] = '\0';
}

/* Text of the first <tag> in the whole buffer, decoded, or "" when absent. */
static void xml_get(char *buf, size_t len, const struct buf *b, const char *tag)
{
	const char *v;
	size_t vl;
	buf[0] = '\0';
	if (b->p && !xml_find(b->p, b->p + b->len, tag, &v, &vl, NULL))
		xml_text(buf, len, v, vl);
}

/* XML-escapes s into b. */
static int xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		const char *r = NULL;
		switch (*s) {
		case '&': r = "&amp;"; break;
		case '<': r = "&lt;"; break;
		case '>': r = "&gt;"; break;
		case '"': r = "&quot;"; break;
		default: break;
		}
		if (r ? buf_add(b, r) : buf_addn(b, s, 1))
			return -1;
	}
	return 0;
}

/* ---- the request engine --------------------------------------------------------- */

/* The response headers every call captures, in httpc_response.header[] order. */
enum { H_ETAG, H_TYPE, H_LENGTH };
static const char *const want_headers[] = {"ETag", "Content-Type", "Content-Length", NULL};

/* Signed headers a caller may add to a call. */
#define CALL_HEADERS_MAX 8

struct call {
	/* request */
	const char *method;
	const char *what;  /* the caller's key (or bucket) for messages */
	const char *key;   /* full key with prefix, or NULL for the bucket itself */
	const struct sigv4_kv *query;
	size_t nquery;
	const struct sigv4_kv *headers; /* extra signed headers (at most CALL_HEADERS_MAX) */
	size_t nheaders;
	const char *payload_hash; /* NULL = hash of the buffer body (or empty) */
	const char *body;         /* buffer body, or */
	int body_fd;              /* file body (>= 0) read with pread from body_off */
	uint64_t body_off;
	uint64_t body_len;
	int has_range;
	uint64_t range_start, range_len; /* range_len UINT64_MAX = to the end */
	int (*sink)(void *ctx, const void *buf, size_t n); /* 2xx body (else kept in http.body) */
	void *sink_ctx;
	/* set by perform for sign_attempt */
	const struct storage_s3 *s3;
	const char *path;  /* the signed path */
	const char *hash;  /* the payload hash signed */
	/* per attempt */
	uint64_t body_pos;
	uint64_t skip;      /* bytes of a 200 answer to a ranged GET to drop */
	uint64_t delivered; /* bytes given to sink, over all attempts */
	uint64_t want;      /* bytes the sink still wants (UINT64_MAX = all) */
	int sink_stopped;
	int read_failed;
	struct buf lines;   /* this attempt's header lines, each ended by its NUL */
	const char *line[CALL_HEADERS_MAX + 6];
	/* the last answer */
	struct httpc_response http;
};

/* 2xx bytes of a GET: drops what a server that ignored Range sent again, and gives the
 * sink no more than it asked for. */
static int on_data(void *ud, long status, const void *buf, size_t len)
{
	struct call *c = ud;
	const char *p = buf;
	if (status != 200)
		c->skip = 0; /* 206: the server honoured Range */
	if (c->skip) {
		size_t d = c->skip < len ? (size_t)c->skip : len;
		c->skip -= d;
		p += d;
		len -= d;
	}
	if (c->want != UINT64_MAX && len > c->want)
		len = (size_t)c->want;
	if (!len)
		return 0;
	if (c->sink(c->sink_ctx, p, len)) {
		c->sink_stopped = 1;
		return 1;
	}
	c->delivered += len;
	if (c->want != UINT64_MAX)
		c->want -= len;
	return 0;
}

static size_t read_region(void *ud, char *buf, size_t cap)
{
	struct call *c = ud;
	uint64_t left = c->body_len - c->body_pos;
	size_t want = left < cap ? (size_t)left : cap;
	if (!want)
		return 0;
	ssize_t r;
	do
		r = pread(c->body_fd, buf, want, (off_t)(c->body_off + c->body_pos));
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		c->read_failed = 1; /* the file shrank or failed under us */
		return HTTPC_READ_ABORT;
	}
	c->body_pos += (uint64_t)r;
	return (size_t)r;
}

static int seek_region(void *ud, uint64_t off)
{
	struct call *c = ud;
	if (off > c->body_len)
		return -1;
	c->body_pos = off;
	return 0;
}

/* Signed path of a call: /bucket/key (path style) or /key (virtual host). */
static int call_path(struct buf *b, const struct storage_s3 *s3, const char *key)
{
	b->len = 0;
	if (buf_add(b, ""))
		return -1;
	if (s3->path_style && (buf_add(b, "/") || buf_add(b, s3->bucket)))
		return -1;
	if (key && (buf_add(b, "/") || buf_add(b, key)))
		return -1;
	if (!s3->path_style && !key && buf_add(b, "/"))
		return -1;
	return 0;
}

/* The URL of a call: base, the encoded path, the canonical query. */
static int call_url(struct buf *url, const struct storage_s3 *s3, const char *path, const struct call *c)
{
	char *query = NULL, *enc_path = NULL;
	int bad = sigv4_canonical_query(&query, c->query, c->nquery, NULL) ||
		  sigv4_uri_encode(&enc_path, path, 1, NULL) || buf_add(url, s3->base) || buf_add(url, enc_path) ||
		  (query[0] && (buf_add(url, "?") || buf_add(url, query)));
	free(query);
	free(enc_path);
	return bad ? -1 : 0;
}

static void add_line(struct buf *b, const char *name, const char *value)
{
	buf_add(b, name);
	buf_add(b, ": ");
	buf_add(b, value);
	buf_addn(b, "", 1);
}

/* Before every attempt: resumes a download after what the sink already has, and signs
 * again. Signing once would not do: the Range of a resumed download is a signed header,
 * and x-amz-date must stay within S3's 15 minutes of skew however long the earlier
 * attempts (each up to s3_timeout without a byte) and waits took. */
static int sign_attempt(void *ud, struct httpc_request *req, int attempt, struct bo_error *err)
{
	struct call *c = ud;
	const struct storage_s3 *s3 = c->s3;
	struct sigv4_kv hdrs[CALL_HEADERS_MAX + 2];
	size_t nh = 0;
	char range[96];
	(void)attempt;
	hdrs[nh++] = (struct sigv4_kv){"host", s3->host};
	for (size_t i = 0; i < c->nheaders && i < CALL_HEADERS_MAX; i++)
		hdrs[nh++] = c->headers[i];
	uint64_t start = c->range_start + c->delivered;
	uint64_t rlen = c->range_len == UINT64_MAX ? UINT64_MAX : c->range_len - c->delivered;
	c->want = c->sink ? rlen : UINT64_MAX;
	c->skip = 0;
	if (c->sink && (c->has_range || c->delivered)) {
		if (rlen == UINT64_MAX)
			snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)start);
		else
			snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)start,
				 (unsigned long long)(start + rlen - 1));
		hdrs[nh++] = (struct sigv4_kv){"range", range};
		c->skip = start; /* used only if the server ignores Range (200) */
	}
	c->body_pos = 0; /* replay the body from its start */
	struct sigv4_request sr = {c->method, c->path, c->query, c->nquery, hdrs, nh, c->hash};
	struct sigv4_credentials cred = {s3->access_key, s3->secret_key, s3->region, "s3"};
	struct sigv4_signature sig;
	int rc = sigv4_sign(&sig, &sr, &cred, time(NULL), err);
	if (rc)
		return rc;
	buf_free(&c->lines);
	add_line(&c->lines, "Authorization", sig.authorization);
	add_line(&c->lines, "x-amz-date", sig.amz_date);
	add_line(&c->lines, "x-amz-content-sha256", sig.content_sha256);
	for (size_t i = 1; i < nh; i++)
		add_line(&c->lines, hdrs[i].name, hdrs[i].value);
	if (c->lines.failed)
		return bo_error_set(err, BO_ENOMEM, "out of memory building an S3 request");
	size_t n = 0;
	for (size_t off = 0; off < c->lines.len; off += strlen(c->lines.p + off) + 1)
		c->line[n++] = c->lines.p + off;
	c->line[n] = NULL;
	req->headers = c->line;
	return 0;
}

static void set_storage_error_retry(struct bo_error *err)
{
	if (err && err->code == BO_ESTORAGE && !err->retry_after)
		err->retry_after = 5;
}

/* Maps a final non-2xx answer to an error. */
static int map_status(const struct storage_s3 *s3, struct call *c, struct bo_error *err)
{
	char code[128], msg[512];
	xml_get(code, sizeof(code), &c->http.body, "Code");
	xml_get(msg, sizeof(msg), &c->http.body, "Message");
	long st = c->http.status;
	if (st == 404 && strcmp(code, "NoSuchBucket") && strcmp(code, "NoSuchUpload") && c->key)
		return bo_error_set(err, BO_ENOTFOUND, "storage object %.200s not found", c->what);
	if (st == 416)
		return bo_error_set(err, BO_EBADREQUEST, "range is not satisfiable for %.200s", c->what);
	int rc;
	if (st == 404 && (!strcmp(code, "NoSuchBucket") || !c->key))
		rc = bo_error_set(err, BO_ESTORAGE,
				  "S3 bucket '%s' does not exist at %s (create it or fix s3_bucket)",
				  s3->bucket, s3->base);
	else if (st == 403 && (!strcmp(code, "SignatureDoesNotMatch") ||
			       !strcmp(code, "InvalidAccessKeyId") || !code[0]))
		rc = bo_error_set(err, BO_ESTORAGE,
				  "S3 %s %.200s: HTTP 403 %s%s%s: check s3_access_key and s3_secret_key",
				  c->method, c->what, code[0] ? code : "(no body)", msg[0] ? ": " : "", msg);
	else
		rc = bo_error_set(err, BO_ESTORAGE, "S3 %s %.200s: HTTP %ld %s%s%s", c->method, c->what, st,
				  code[0] ? code : "", msg[0] ? ": " : "", msg);
	set_storage_error_retry(err);
	return rc;
}

/* Runs c, retried by httpc. On return c->http describes the last answer. Returns 0 for
 * 2xx, else an error (mapped from the status or the transport). */
static int perform(const struct storage_s3 *s3, struct call *c, struct bo_error *err)
{
	int rc;
	struct buf path = {0}, url = {0};
	char body_hash[65], what[256];
	struct bo_error e = BO_ERROR_INIT;
	c->hash = c->payload_hash;
	if (!c->hash) {
		sigv4_sha256_hex(body_hash, c->body ? c->body : "", c->body ? (size_t)c->body_len : 0);
		c->hash = body_hash;
	}
	if (call_path(&path, s3, c->key) || call_url(&url, s3, path.p, c)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory building an S3 request");
		goto fail;
	}
	snprintf(what, sizeof(what), "S3 %s %.200s", c->method, c->what);
	c->s3 = s3;
	c->path = path.p;
	struct httpc_request req = {
		.method = c->method, .url = url.p, .what = what, .fail_code = BO_ESTORAGE,
		.want_headers = want_headers, .max_attempts = s3->retries + 1, .backoff_ms = 100,
		.backoff_max_ms = 100L << 10, .before_attempt = sign_attempt, .connect_timeout_s = s3->timeout,
		.stall_timeout_s = s3->timeout, .share = s3->share, .ctx = c,
	};
	if (c->body_fd >= 0) {
		req.read = read_region;
		req.seek = seek_region;
		req.read_len = c->body_len;
	} else {
		req.body = c->body;
		req.body_len = (size_t)c->body_len;
	}
	if (c->sink)
		req.sink = on_data;
	else
		req.max_body = RESP_MAX;
	rc = httpc_perform(&c->http, &req, &e);
	long st = c->http.status;
	if (c->sink_stopped) {
		rc = bo_error_set(err, BO_EINTERNAL, "reading %.200s: stopped by the receiver", c->what);
	} else if (c->read_failed) {
		rc = bo_error_set(err, BO_EINTERNAL, "S3 %s %.200s: the local file changed or failed while uploading",
				  c->method, c->what);
	} else if (rc) {
		bo_error_move(err, &e, rc);
		if (!c->http.too_large)
			set_storage_error_retry(err);
	} else if (st < 200 || st >= 300) {
		if (httpc_retryable_status(st)) {
			rc = bo_error_set(err, BO_ESTORAGE, "S3 %s %.200s: HTTP %ld after %d retries", c->method,
					  c->what, st, c->http.attempts - 1);
			set_storage_error_retry(err);
		} else {
			rc = map_status(s3, c, err);
		}
	}
fail:
	bo_error_cleanup(&e);
	free(path.p);
	free(url.p);
	return rc;
}

static void call_cleanup(struct call *c)
{
	httpc_response_cleanup(&c->http);
	buf_free(&c->lines);
}

static char *full_key(const struct storage_s3 *s3, const char *key)
{
	return cat3(s3->prefix, key, "");
}

/* A 200 answer that carries <Error> (CompleteMultipartUpload, CopyObject). */
static int check_body_error(const struct storage_s3 *s3, struct call *c, struct bo_error *err)
{
	if (!c->http.body.p || !strstr(c->http.body.p, "<Error>"))
		return 0;
	c->http.status = 500;
	return map_status(s3, c, err);
}

/* ---- open / free ---------------------------------------------------------------- */

static void lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)h, (void)access;
	struct storage_s3 *s3 = ud;
	pthread_mutex_lock(&s3->locks[data]);
}

static void unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	(void)h;
	struct storage_s3 *s3 = ud;
	pthread_mutex_unlock(&s3->locks[data]);
}

static void s3_free(void *impl)
{
	struct storage_s3 *s3 = impl;
	if (!s3)
		return;
	if (s3->share) {
		curl_share_cleanup(s3->share);
		for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&s3->locks[i]);
	}
	free(s3->base);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->region);
	free(s3->access_key);
	if (s3->secret_key)
		OPENSSL_cleanse(s3->secret_key, strlen(s3->secret_key));
	free(s3->secret_key);
	free(s3);
}

int storage_s3__open(void **out, const struct config *cfg, struct bo_error *err)
{
	int rc;
	struct storage_s3 *s3 = calloc(1, sizeof(*s3));
	if (!s3)
		return bo_error_set(err, BO_ENOMEM, "out of memory opening S3 storage");
	if (!cfg->s3_endpoint[0] || !cfg->s3_bucket[0] || !cfg->s3_access_key[0] ||
	    !cfg->s3_secret_key[0] || !cfg->s3_region[0]) {
		rc = bo_error_set(err, BO_EBADREQUEST,
				  "storage=s3 needs s3_endpoint, s3_bucket, s3_region, s3_access_key and s3_secret_key");
		goto fail;
	}
	/* Bucket names are DNS labels; this also keeps them out of URL syntax. */
	if (strlen(cfg->s3_bucket) > 63) {
		rc = bo_error_set(err, BO_EBADREQUEST, "s3_bucket '%s' is longer than 63 characters",
				  cfg->s3_bucket);
		goto fail;
	}
	for (const char *p = cfg->s3_bucket; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		      *p == '_')) {
			rc = bo_error_set(err, BO_EBADREQUEST,
					  "s3_bucket '%s' may contain only a-z, 0-9, '-', '.' and '_'",
					  cfg->s3_bucket);
			goto fail;
		}
	char authority[256];
	rc = sigv4_endpoint_host(authority, sizeof(authority), cfg->s3_endpoint, err);
	if (rc)
		goto fail;
	const char *scheme = !strncmp(cfg->s3_endpoint, "https://", 8) ? "https://" : "http://";
	/* The endpoint's authority as written (with an explicit port kept for the URL). */
	const char *auth_start = cfg->s3_endpoint + strlen(scheme);
	size_t auth_len = strcspn(auth_start, "/?#");
	char written[256];
	snprintf(written, sizeof(written), "%.*s", (int)auth_len, auth_start);
	s3->path_style = cfg->s3_path_style != 0;
	if (s3->path_style) {
		s3->base = cat3(scheme, written, "");
		snprintf(s3->host, sizeof(s3->host), "%s", authority);
	} else {
		char tmp[600];
		snprintf(tmp, sizeof(tmp), "%s.%s", cfg->s3_bucket, written);
		s3->base = cat3(scheme, tmp, "");
		snprintf(s3->host, sizeof(s3->host), "%s.%s", cfg->s3_bucket, authority);
	}
	size_t pl = strlen(cfg->s3_prefix);
	s3->prefix = cat3(cfg->s3_prefix, pl && cfg->s3_prefix[pl - 1] != '/' ? "/" : "", "");
	s3->bucket = strdup(cfg->s3_bucket);
	s3->region = strdup(cfg->s3_region);
	s3->access_key = strdup(cfg->s3_access_key);
	s3->secret_key = strdup(cfg->s3_secret_key);
	if (!s3->base || !s3->prefix || !s3->bucket || !s3->region || !s3->access_key ||
	    !s3->secret_key) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening S3 storage");
		goto fail;
	}
	if (s3->prefix[0] && (s3->prefix[0] == '/' || strstr(s3->prefix, "//"))) {
		rc = bo_error_set(err, BO_EBADREQUEST, "s3_prefix '%s' must not start with '/' or contain '//'",
				  cfg->s3_prefix);
		goto fail;
	}
	s3->part_size = (uint64_t)cfg->s3_part_size;
	s3->retries = (int)cfg->s3_retries;
	s3->timeout = (long)cfg->s3_timeout;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s3->locks[i], NULL);
	s3->share = curl_share_init();
	if (!s3->share) {
		for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&s3->locks[i]);
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening S3 storage");
		goto fail;
	}
	curl_share_setopt(s3->share, CURLSHOPT_LOCKFUNC, lock_cb);
	curl_share_setopt(s3->share, CURLSHOPT_UNLOCKFUNC, unlock_cb);
	curl_share_setopt(s3->share, CURLSHOPT_USERDATA, s3);
	curl_share_setopt(s3->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s3->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = s3;
	return 0;
fail:
	s3_free(s3);
	return rc;
}

/* ---- objects ------------------------------------------------------------------- */

static int put_single(struct storage_s3 *s3, const char *key, const char *fkey, int fd,
		      const void *data, uint64_t len, const char *ct, const char *hash,
		      struct bo_error *err)
{
	struct sigv4_kv h[] = {{"content-type", ct ? ct : "application/octet-stream"}};
	struct call c = {.method = "PUT", .what = key, .key = fkey, .headers = h, .nheaders = 1,
			 .payload_hash = hash, .body = data, .body_fd = fd, .body_len = len};
	int rc = perform(s3, &c, err);
	call_cleanup(&c);
	return rc;
}

/* Hashes [off, off+len) of fd into part (and total, when non-NULL). */
static int hash_region(int fd, uint64_t off, uint64_t len, char part_hex[65], EVP_MD_CTX *total,
		       char *buf)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		errno = ENOMEM;
		return -1;
	}
	while (len) {
		size_t want = len < HASH_CHUNK ? (size_t)len : HASH_CHUNK;
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* shrank while reading */
			EVP_MD_CTX_free(md);
			return -1;
		}
		EVP_DigestUpdate(md, buf, (size_t)r);
		if (total)
			EVP_DigestUpdate(total, buf, (size_t)r);
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	unsigned char d[32];
	unsigned int dl = 0;
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	hex_encode(part_hex, d, 32);
	return 0;
}

static void abort_multipart(struct storage_s3 *s3, const char *key, const char *fkey,
			    const char *upload_id)
{
	struct bo_error e = BO_ERROR_INIT;
	struct sigv4_kv q[] = {{"uploadId", upload_id}};
	struct call c = {.method = "DELETE", .what = key, .key = fkey, .query = q, .nquery = 1,
			 .body_fd = -1};
	if (perform(s3, &c, &e))
		log_warnx("S3 abort of multipart upload for %s failed: %s (the bucket may keep its parts)",
			  key, e.detail);
	call_cleanup(&c);
	bo_error_cleanup(&e);
}

/* Step 1 of a multipart upload: POST ?uploads, whose answer names the upload. */
static int start_multipart(struct storage_s3 *s3, const char *key, const char *fkey, const char *ct,
			   char *upload_id, size_t n, struct bo_error *err)
{
	struct sigv4_kv q[] = {{"uploads", ""}};
	struct sigv4_kv h[] = {{"content-type", ct ? ct : "application/octet-stream"}};
	struct call c = {.method = "POST", .what = key, .key = fkey, .query = q, .nquery = 1,
			 .headers = h, .nheaders = 1, .body_fd = -1};
	int rc = perform(s3, &c, err);
	if (!rc) {
		xml_get(upload_id, n, &c.http.body, "UploadId");
		if (!upload_id[0])
			rc = bo_error_set(err, BO_ESTORAGE, "S3 POST %.200s?uploads: no UploadId in the answer", key);
	}
	call_cleanup(&c);
	return rc;
}

/* Step 2, for each part: hashes [off, off+len) of fd (into total too, for the object's
 * digest), PUTs it and keeps the ETag S3 gives it (etag, 128 bytes). */
static int put_part(struct storage_s3 *s3, const char *key, const char *fkey, const char *upload_id, int fd,
		    uint64_t number, uint64_t off, uint64_t len, EVP_MD_CTX *total, char *buf, char *etag,
		    struct bo_error *err)
{
	char hash[65], num[24];
	if (hash_region(fd, off, len, hash, total, buf))
		return bo_error_set(err, BO_EINTERNAL, "reading the file for %s: %s", key, strerror(errno));
	snprintf(num, sizeof(num), "%llu", (unsigned long long)number);
	struct sigv4_kv q[] = {{"partNumber", num}, {"uploadId", upload_id}};
	struct call c = {.method = "PUT", .what = key, .key = fkey, .query = q, .nquery = 2,
			 .payload_hash = hash, .body_fd = fd, .body_off = off, .body_len = len};
	int rc = perform(s3, &c, err);
	if (!rc && !c.http.header[H_ETAG][0])
		rc = bo_error_set(err, BO_ESTORAGE, "S3 PUT %.200s part %s: no ETag in the answer", key, num);
	snprintf(etag, 128, "%.127s", c.http.header[H_ETAG]);
	call_cleanup(&c);
	return rc;
}

/* Step 3: POST the list of parts with their ETags; S3 may still refuse in a 200. */
static int complete_multipart(struct storage_s3 *s3, const char *key, const char *fkey, const char *upload_id,
			      char (*etags)[128], uint64_t nparts, struct bo_error *err)
{
	struct buf xml = {0};
	int bad = buf_add(&xml, "<CompleteMultipartUpload>");
	for (uint64_t i = 0; i < nparts && !bad; i++) {
		char num[64];
		snprintf(num, sizeof(num), "<Part><PartNumber>%llu</PartNumber><ETag>", (unsigned long long)(i + 1));
		bad = buf_add(&xml, num) || xml_escape(&xml, etags[i]) || buf_add(&xml, "</ETag></Part>");
	}
	if (bad || buf_add(&xml, "</CompleteMultipartUpload>")) {
		free(xml.p);
		return bo_error_set(err, BO_ENOMEM, "out of memory uploading %s", key);
	}
	struct sigv4_kv q[] = {{"uploadId", upload_id}};
	struct sigv4_kv h[] = {{"content-type", "application/xml"}};
	struct call c = {.method = "POST", .what = key, .key = fkey, .query = q, .nquery = 1,
			 .headers = h, .nheaders = 1, .body = xml.p, .body_fd = -1, .body_len = xml.len};
	int rc = perform(s3, &c, err);
	if (!rc)
		rc = check_body_error(s3, &c, err);
	call_cleanup(&c);
	free(xml.p);
	return rc;
}

/* A file of size >= s3_part_size: start, parts, complete; aborted on any failure after
 * the start, so the bucket does not keep orphan parts. */
static int put_multipart(struct storage_s3 *s3, const char *key, const char *fkey, int fd,
			 uint64_t size, const char *ct, char *sha256_hex, struct bo_error *err)
{
	int rc;
	char upload_id[1024] = "";
	char (*etags)[128] = NULL;
	char *buf = NULL;
	EVP_MD_CTX *total = NULL;
	uint64_t part = s3->part_size;
	if ((size + part - 1) / part > MAX_PARTS) /* keep within S3's part count */
		part = ((size + MAX_PARTS - 1) / MAX_PARTS + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	uint64_t nparts = (size + part - 1) / part;
	etags = calloc((size_t)nparts, sizeof(*etags));
	buf = malloc(HASH_CHUNK);
	total = EVP_MD_CTX_new();
	if (!etags || !buf || !total || !EVP_DigestInit_ex(total, EVP_sha256(), NULL)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory uploading %s", key);
		goto fail;
	}
	rc = start_multipart(s3, key, fkey, ct, upload_id, sizeof(upload_id), err);
	if (rc)
		goto fail;
	for (uint64_t i = 0; i < nparts; i++) {
		uint64_t off = i * part;
		uint64_t len = size - off < part ? size - off : part;
		rc = put_part(s3, key, fkey, upload_id, fd, i + 1, off, len, total, buf, etags[i], err);
		if (rc)
			goto fail;
	}
	rc = complete_multipart(s3, key, fkey, upload_id, etags, nparts, err);
	if (rc)
		goto fail;
	upload_id[0] = '\0'; /* completed: nothing to abort */
	if (sha256_hex) {
		unsigned char d[32];
		unsigned int dl = 0;
		EVP_DigestFinal_ex(total, d, &dl);
		hex_encode(sha256_hex, d, 32);
	}
	rc = 0;
fail:
	if (rc && upload_id[0])
		abort_multipart(s3, key, fkey, upload_id);
	free(etags);
	free(buf);
	EVP_MD_CTX_free(total);
	return rc;
}

static int s3_put_file(void *impl, const char *key, const char *path, const char *content_type,
		       char *sha256_hex, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	int rc;
	struct stat st;
	char *buf = NULL;
	char *fkey = full_key(s3, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!fkey) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory uploading %s", key);
		goto fail;
	}
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = bo_error_set(err, BO_EINTERNAL, "storage: cannot read %s: %s", path,
				  fd < 0 ? strerror(errno) : "not a regular file");
		goto fail;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size >= s3->part_size) {
		rc = put_multipart(s3, key, fkey, fd, size, content_type, sha256_hex, err);
		goto fail;
	}
	char hash[65];
	buf = malloc(HASH_CHUNK);
	if (!buf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory uploading %s", key);
		goto fail;
	}
	/* The payload hash is signed, so the file is read once to hash, once to send. */
	if (hash_region(fd, 0, size, hash, NULL, buf)) {
		rc = bo_error_set(err, BO_EINTERNAL, "reading %s: %s", path, strerror(errno));
		goto fail;
	}
	rc = put_single(s3, key, fkey, fd, NULL, size, content_type, hash, err);
	if (!rc && sha256_hex)
		memcpy(sha256_hex, hash, 65);
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(fkey);
	return rc;
}

static int s3_put_buffer(void *impl, const char *key, const void *data, size_t len,
			 const char *content_type, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	char *fkey = full_key(s3, key);
	if (!fkey)
		return bo_error_set(err, BO_ENOMEM, "out of memory uploading %s", key);
	char hash[65];
	sigv4_sha256_hex(hash, data, len);
	int rc = put_single(s3, key, fkey, -1, data ? data : "", len, content_type, hash, err);
	free(fkey);
	return rc;
}

static int s3_head(void *impl, const char *key, struct storage_stat *out, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	char *fkey = full_key(s3, key);
	if (!fkey)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	struct call c = {.method = "HEAD", .what = key, .key = fkey, .body_fd = -1};
	int rc = perform(s3, &c, err);
	if (!rc) {
		out->size = strtoull(c.http.header[H_LENGTH], NULL, 10);
		snprintf(out->etag, sizeof(out->etag), "%.*s", (int)sizeof(out->etag) - 1, c.http.header[H_ETAG]);
		snprintf(out->content_type, sizeof(out->content_type), "%.*s", (int)sizeof(out->content_type) - 1,
			 c.http.header[H_TYPE][0] ? c.http.header[H_TYPE] : "application/octet-stream");
	}
	call_cleanup(&c);
	free(fkey);
	return rc;
}

static int s3_get_range(void *impl, const char *key, uint64_t offset, uint64_t length,
			int (*sink)(void *ctx, const void *buf, size_t n), void *ctx,
			struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	if (length == 0 || offset > 0) {
		/* S3 answers 416 for a range at or past the end; HEAD tells which it is. */
		struct storage_stat st;
		int rc = s3_head(impl, key, &st, err);
		if (rc)
			return rc;
		if (offset > st.size)
			return bo_error_set(err, BO_EBADREQUEST,
					    "range start %llu is past the end of %.200s (%llu bytes)",
					    (unsigned long long)offset, key, (unsigned long long)st.size);
		if (offset == st.size || length == 0)
			return 0;
	}
	char *fkey = full_key(s3, key);
	if (!fkey)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	struct call c = {.method = "GET", .what = key, .key = fkey, .body_fd = -1,
			 .has_range = offset > 0 || length != UINT64_MAX, .range_start = offset,
			 .range_len = length, .sink = sink, .sink_ctx = ctx};
	int rc = perform(s3, &c, err);
	call_cleanup(&c);
	free(fkey);
	return rc;
}

static int s3_del(void *impl, const char *key, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	char *fkey = full_key(s3, key);
	if (!fkey)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	struct call c = {.method = "DELETE", .what = key, .key = fkey, .body_fd = -1};
	struct bo_error e = BO_ERROR_INIT;
	int rc = perform(s3, &c, &e);
	if (rc == BO_ENOTFOUND) /* S3 says 204 for a missing key; some servers 404 */
		rc = 0;
	else if (rc)
		bo_error_move(err, &e, rc);
	bo_error_cleanup(&e);
	call_cleanup(&c);
	free(fkey);
	return rc;
}

/* One ListObjectsV2 page under the full prefix after the full start_after; cb gets
 * full keys. Sets *truncated. */
static int list_page(struct storage_s3 *s3, const char *what, const char *fprefix,
		     const char *fstart, int maxkeys,
		     int (*cb)(void *ctx, const char *fkey, uint64_t size), void *ctx,
		     int *truncated, int *count, struct bo_error *err)
{
	char mk[16];
	snprintf(mk, sizeof(mk), "%d", maxkeys);
	struct sigv4_kv q[4] = {{"list-type", "2"}, {"max-keys", mk}, {"prefix", fprefix}};
	size_t nq = 3;
	if (fstart && fstart[0])
		q[nq++] = (struct sigv4_kv){"start-after", fstart};
	struct call c = {.method = "GET", .what = what, .key = NULL, .query = q, .nquery = nq,
			 .body_fd = -1};
	int rc = perform(s3, &c, err);
	if (rc)
		goto fail;
	char tmp[16];
	xml_get(tmp, sizeof(tmp), &c.http.body, "IsTruncated");
	*truncated = !strcmp(tmp, "true");
	*count = 0;
	const char *p = c.http.body.p ? c.http.body.p : "";
	const char *end = p + c.http.body.len;
	const char *blk, *after;
	size_t bl;
	char *keybuf = malloc(STORAGE_KEY_MAX * 4 + 64);
	if (!keybuf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory listing %s", what);
		goto fail;
	}
	while (!xml_find(p, end, "Contents", &blk, &bl, &after)) {
		const char *v;
		size_t vl;
		char size[32] = "0";
		if (xml_find(blk, blk + bl, "Key", &v, &vl, NULL)) {
			p = after;
			continue;
		}
		xml_text(keybuf, STORAGE_KEY_MAX * 4 + 64, v, vl);
		if (!xml_find(blk, blk + bl, "Size", &v, &vl, NULL))
			xml_text(size, sizeof(size), v, vl);
		(*count)++;
		if (cb(ctx, keybuf, strtoull(size, NULL, 10))) {
			free(keybuf);
			rc = 1; /* the caller's stop: it sets the error */
			goto fail;
		}
		p = after;
	}
	free(keybuf);
fail:
	call_cleanup(&c);
	return rc;
}

struct list_ctx {
	const struct storage_s3 *s3;
	int (*cb)(void *ctx, const char *key, uint64_t size);
	void *ctx;
	int max, emitted, more, stopped;
	char *last; /* last full key seen */
	int oom;
};

static int list_one(void *ud, const char *fkey, uint64_t size)
{
	struct list_ctx *l = ud;
	if (l->emitted == l->max) {
		l->more = 1; /* a key follows the page: the caller gets a next token */
		return 1;
	}
	size_t pl = strlen(l->s3->prefix);
	if (strncmp(fkey, l->s3->prefix, pl))
		return 0;
	char *dup = strdup(fkey);
	if (!dup) {
		l->oom = 1;
		return 1;
	}
	free(l->last);
	l->last = dup;
	if (l->cb(l->ctx, fkey + pl, size)) {
		l->stopped = 1;
		return 1;
	}
	l->emitted++;
	return 0;
}

static int s3_list(void *impl, const char *prefix, const char *start_after, int max,
		   int (*cb)(void *ctx, const char *key, uint64_t size), void *ctx,
		   char **next_out, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	int rc;
	struct list_ctx l = {s3, cb, ctx, max, 0, 0, 0, NULL, 0};
	char *fprefix = full_key(s3, prefix);
	char *fstart = start_after ? full_key(s3, start_after) : NULL;
	if (!fprefix || (start_after && !fstart)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory listing %s", prefix);
		goto fail;
	}
	for (;;) {
		int truncated = 0, count = 0;
		int want = l.max - l.emitted + 1; /* one more, to know if a next page exists */
		rc = list_page(s3, prefix, fprefix, l.last ? l.last : fstart, want > 1000 ? 1000 : want,
			       list_one, &l, &truncated, &count, err);
		if (rc < 0)
			goto fail;
		if (l.oom) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory listing %s", prefix);
			goto fail;
		}
		if (l.stopped) {
			rc = bo_error_set(err, BO_EINTERNAL, "listing %s: stopped by the receiver", prefix);
			goto fail;
		}
		if (l.more || (l.emitted == l.max && truncated)) {
			l.more = 1;
			break;
		}
		if (!truncated || count == 0)
			break;
	}
	if (l.more && l.last) {
		*next_out = strdup(l.last + strlen(s3->prefix));
		if (!*next_out) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory listing %s", prefix);
			goto fail;
		}
	}
	rc = 0;
fail:
	free(l.last);
	free(fprefix);
	free(fstart);
	return rc;
}

struct collect {
	char **keys;
	size_t n, cap;
};

static int collect_one(void *ud, const char *fkey, uint64_t size)
{
	(void)size;
	struct collect *c = ud;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		char **k = realloc(c->keys, cap * sizeof(*k));
		if (!k)
			return 1;
		c->keys = k;
		c->cap = cap;
	}
	c->keys[c->n] = strdup(fkey);
	if (!c->keys[c->n])
		return 1;
	c->n++;
	return 0;
}

static int s3_delete_prefix(void *impl, const char *prefix, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	int rc;
	struct collect col = {0};
	char *last = NULL;
	char *fprefix = full_key(s3, prefix);
	if (!fprefix)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	for (;;) {
		int truncated = 0, count = 0;
		rc = list_page(s3, prefix, fprefix, last, 1000, collect_one, &col, &truncated, &count, err);
		if (rc > 0)
			rc = bo_error_set(err, BO_ENOMEM, "out of memory deleting under %s", prefix);
		if (rc)
			goto fail;
		for (size_t i = 0; i < col.n; i++) {
			rc = s3_del(s3, col.keys[i] + strlen(s3->prefix), err);
			if (rc)
				goto fail;
		}
		if (col.n) {
			free(last);
			last = col.keys[col.n - 1];
			col.keys[col.n - 1] = NULL;
		}
		for (size_t i = 0; i < col.n; i++)
			free(col.keys[i]);
		col.n = 0;
		if (!truncated || count == 0)
			break;
	}
	rc = 0;
fail:
	for (size_t i = 0; i < col.n; i++)
		free(col.keys[i]);
	free(col.keys);
	free(last);
	free(fprefix);
	return rc;
}

static int s3_copy(void *impl, const char *src_key, const char *dst_key, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	int rc;
	char *fsrc = full_key(s3, src_key), *fdst = full_key(s3, dst_key);
	char *enc = NULL, *source = NULL;
	if (!fsrc || !fdst || sigv4_uri_encode(&enc, fsrc, 1, NULL) ||
	    !(source = cat3(s3->bucket, "/", enc))) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory copying %s", src_key);
		goto fail;
	}
	struct sigv4_kv h[] = {{"x-amz-copy-source", source}};
	struct call c = {.method = "PUT", .what = src_key, .key = fdst, .headers = h, .nheaders = 1,
			 .body = "", .body_fd = -1};
	rc = perform(s3, &c, err);
	if (!rc)
		rc = check_body_error(s3, &c, err);
	call_cleanup(&c);
fail:
	free(fsrc);
	free(fdst);
	free(enc);
	free(source);
	return rc;
}

static int s3_presign_get(void *impl, const char *key, int expires, const char *base_url,
			  const struct storage_response *resp, char **url_out, struct bo_error *err)
{
	(void)base_url;
	struct storage_s3 *s3 = impl;
	struct buf path = {0};
	char *fkey = full_key(s3, key);
	int rc;
	if (!fkey || call_path(&path, s3, fkey)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory presigning %s", key);
		goto fail;
	}
	struct sigv4_credentials cred = {s3->access_key, s3->secret_key, s3->region, "s3"};
	struct sigv4_kv extra[2];
	size_t n_extra = 0;
	if (resp && resp->content_disposition)
		extra[n_extra++] = (struct sigv4_kv){"response-content-disposition", resp->content_disposition};
	if (resp && resp->content_type)
		extra[n_extra++] = (struct sigv4_kv){"response-content-type", resp->content_type};
	rc = sigv4_presign(url_out, &cred, "GET", s3->base, path.p, expires, time(NULL), extra, n_extra, err);
fail:
	free(fkey);
	free(path.p);
	return rc;
}

static int s3_open_fd(void *impl, const char *key, int *fd_out, uint64_t *size_out,
		      struct bo_error *err)
{
	(void)impl, (void)fd_out, (void)size_out;
	return bo_error_set(err, BO_ENOTFOUND, "storage object %.200s has no local file (S3)", key);
}

static int s3_ping(void *impl, struct bo_error *err)
{
	struct storage_s3 *s3 = impl;
	struct call c = {.method = "HEAD", .what = s3->bucket, .key = NULL, .body_fd = -1};
	int rc = perform(s3, &c, err);
	call_cleanup(&c);
	return rc;
}

const struct storage__backend storage_s3__backend = {
	.name = "s3",
	.free = s3_free,
	.put_file = s3_put_file,
	.put_buffer = s3_put_buffer,
	.get_range = s3_get_range,
	.head = s3_head,
	.del = s3_del,
	.delete_prefix = s3_delete_prefix,
	.list = s3_list,
	.copy = s3_copy,
	.presign_get = s3_presign_get,
	.open_fd = s3_open_fd,
	.ping = s3_ping,
};

int storage_s3_create_bucket(const struct config *cfg, struct bo_error *err)
{
	void *impl = NULL;
	int rc = storage_s3__open(&impl, cfg, err);
	if (rc)
		return rc;
	struct storage_s3 *s3 = impl;
	struct call c = {.method = "PUT", .what = s3->bucket, .key = NULL, .body = "", .body_fd = -1};
	struct bo_error e = BO_ERROR_INIT;
	rc = perform(s3, &c, &e);
	if (rc && c.http.status == 409) {
		char code[64];
		xml_get(code, sizeof(code), &c.http.body, "Code");
		if (!strcmp(code, "BucketAlreadyOwnedByYou") || !strcmp(code, "BucketAlreadyExists"))
			rc = 0;
	}
	if (rc)
		bo_error_move(err, &e, rc);
	bo_error_cleanup(&e);
	call_cleanup(&c);
	s3_free(s3);
	return rc;
}

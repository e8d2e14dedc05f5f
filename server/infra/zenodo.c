/* zenodo: requests to Zenodo's legacy deposit API with Bearer auth (retried by httpc), bucket
 * uploads streamed from a file with their MD5 checked, and the pure builders the archive
 * job uses. Invariant: the token only ever goes to URLs under the configured base URL,
 * and every byte of user text that reaches the description HTML is escaped. */
#include "infra/zenodo.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/hex.h"
#include "infra/config.h"
#include "infra/httpc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define REPLY_MAX (16u << 20)
#define URL_MAX 4096
#define CHECKSUM_MAX 128

struct zenodo {
	char *base;  /* no trailing '/' */
	char *auth;  /* "Authorization: Bearer <token>" */
	long timeout;
	int retries;
	int64_t max_wait;
};

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ---- errors ----------------------------------------------------------------------- */

static void copy_cut(char *dst, size_t n, const char *s, size_t len)
{
	size_t k = len < n - 1 ? len : n - 1;
	for (size_t i = 0; i < k; i++)
		dst[i] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i];
	dst[k] = '\0';
}

void zenodo_error_parse(long status, const char *body, size_t len, struct zenodo_error *out)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	cJSON *o = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "message"));
	if (msg) {
		copy_cut(out->message, sizeof(out->message), msg, strlen(msg));
	} else if (body && len) {
		const char *nl = memchr(body, '\n', len);
		copy_cut(out->message, sizeof(out->message), body, nl ? (size_t)(nl - body) : len);
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "errors"))
	{
		if (out->nerrors >= ZENODO_ERRORS_MAX)
			break;
		const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "field"));
		const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "messages");
		if (!m && cJSON_IsArray(ms))
			m = cJSON_GetStringValue(cJSON_GetArrayItem(ms, 0));
		if (!m && cJSON_IsString(e))
			m = e->valuestring;
		if (!m)
			continue;
		copy_cut(out->errors[out->nerrors].field, sizeof(out->errors[0].field), field ? field : "",
			 field ? strlen(field) : 0);
		copy_cut(out->errors[out->nerrors].message, sizeof(out->errors[0].message), m, strlen(m));
		out->nerrors++;
	}
	cJSON_Delete(o);
}

void zenodo_error_format(const struct zenodo_error *e, char *buf, size_t n)
{
	size_t off = 0;
	int w = snprintf(buf, n, "HTTP %ld: %s", e->status, e->message[0] ? e->message : "no message");
	off = w < 0 ? 0 : (size_t)w;
	for (int i = 0; i < e->nerrors && off < n; i++) {
		w = snprintf(buf + off, n - off, "%s%s%s%s", i ? "; " : " (", e->errors[i].field,
			     e->errors[i].field[0] ? ": " : "", e->errors[i].message);
		off += w < 0 ? 0 : (size_t)w;
	}
	if (e->nerrors && off < n)
		snprintf(buf + off, n - off, ")");
}

/* ---- the client ------------------------------------------------------------------- */

int zenodo_open(zenodo **out, const struct config *cfg, struct bo_error *err)
{
	if (!cfg->zenodo_token || !cfg->zenodo_token[0])
		return bo_error_set(err, BO_EBADREQUEST, "zenodo_token is empty; set BO_ZENODO_TOKEN to archive to Zenodo");
	if (strncmp(cfg->zenodo_url, "https://", 8) && strncmp(cfg->zenodo_url, "http://", 7))
		return bo_error_set(err, BO_EBADREQUEST, "zenodo_url '%.200s' is not an http(s) URL", cfg->zenodo_url);
	if (strpbrk(cfg->zenodo_token, "\r\n"))
		return bo_error_set(err, BO_EBADREQUEST, "zenodo_token holds a line break");
	zenodo *z = calloc(1, sizeof(*z));
	if (!z)
		return oom(err);
	z->base = strdup(cfg->zenodo_url);
	if (asprintf(&z->auth, "Authorization: Bearer %s", cfg->zenodo_token) < 0)
		z->auth = NULL;
	if (!z->base || !z->auth) {
		zenodo_free(z);
		return oom(err);
	}
	size_t n = strlen(z->base);
	while (n && z->base[n - 1] == '/')
		z->base[--n] = '\0';
	z->timeout = (long)cfg->zenodo_timeout;
	z->retries = (int)cfg->zenodo_retries;
	z->max_wait = cfg->zenodo_max_wait;
	*out = z;
	return 0;
}

void zenodo_free(zenodo *z)
{
	if (!z)
		return;
	free(z->base);
	free(z->auth);
	free(z);
}

/* The base URL's origin and path prefix must start the link: a link elsewhere would get
 * our token. */
static int build_url(const zenodo *z, const char *url_or_path, char *out, size_t n, struct bo_error *err)
{
	int abs = !strncmp(url_or_path, "http://", 7) || !strncmp(url_or_path, "https://", 8);
	if (abs) {
		size_t bl = strlen(z->base);
		if (strncmp(url_or_path, z->base, bl) || (url_or_path[bl] && url_or_path[bl] != '/'))
			return bo_error_set(err, BO_EBADREQUEST,
					    "Zenodo sent a link outside %s (%.200s); refusing to send the token there", z->base,
					    url_or_path);
	}
	int w = abs ? snprintf(out, n, "%s", url_or_path)
		    : snprintf(out, n, "%s%s%s", z->base, url_or_path[0] == '/' ? "" : "/", url_or_path);
	if (w < 0 || (size_t)w >= n)
		return bo_error_set(err, BO_EBADREQUEST, "Zenodo URL too long (%.100s…)", url_or_path);
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return bo_error_set(err, BO_EBADREQUEST, "Zenodo URL holds a space or control character");
	return 0;
}

/* The file of an upload: read in chunks, its MD5 computed over the bytes sent. */
struct upload_file {
	FILE *f;
	EVP_MD_CTX *md5;
};

static size_t read_file(void *ctx, char *p, size_t n)
{
	struct upload_file *u = ctx;
	size_t got = fread(p, 1, n, u->f);
	if (got == 0 && ferror(u->f))
		return HTTPC_READ_ABORT;
	if (got && EVP_DigestUpdate(u->md5, p, got) != 1)
		return HTTPC_READ_ABORT;
	return got;
}

/* Every attempt sends the file from its start, so the digest starts over too. */
static int rewind_file(void *ctx, struct httpc_request *req, int attempt, struct bo_error *err)
{
	struct upload_file *u = ctx;
	(void)req, (void)attempt;
	if (fseek(u->f, 0, SEEK_SET) != 0 || EVP_DigestInit_ex(u->md5, EVP_md5(), NULL) != 1)
		return bo_error_set(err, BO_EINTERNAL, "cannot rewind the upload file");
	return 0;
}

static int status_code(long status)
{
	return status == 404 ? BO_ENOTFOUND : status == 401 ? BO_EUNAUTHORIZED : status == 403 ? BO_EFORBIDDEN : BO_EBADREQUEST;
}

/* One request with retries; req carries the method, URL and body, the rest is set here.
 * On 2xx the reply is in resp->body; *status_out is the last status either way. */
static int perform(zenodo *z, struct httpc_request *req, struct httpc_response *resp, long *status_out,
		   struct zenodo_error *zerr, struct bo_error *err)
{
	char what[URL_MAX + 32];
	const char *headers[] = {z->auth, "Accept: application/json",
				 req->read ? "Content-Type: application/octet-stream" : "Content-Type: application/json",
				 NULL};
	snprintf(what, sizeof(what), "Zenodo %s %s", req->method, req->url);
	req->what = what;
	req->fail_code = BO_EFETCH;
	req->headers = headers;
	req->max_body = REPLY_MAX;
	req->max_attempts = z->retries + 1;
	req->backoff_ms = 1000;
	req->backoff_max_ms = (long)z->max_wait * 1000;
	req->connect_timeout_s = 30;
	req->stall_timeout_s = z->timeout;
	int rc = httpc_perform(resp, req, err);
	long status = resp->status;
	*status_out = status;
	if (rc || (status >= 200 && status < 300))
		return rc;
	struct zenodo_error ze;
	char line[BO_ERROR_DETAIL_MAX - 100];
	zenodo_error_parse(status, resp->body.p, resp->body.len, &ze);
	zenodo_error_format(&ze, line, sizeof(line));
	if (zerr)
		*zerr = ze;
	if (!httpc_retryable_status(status)) /* retrying will not help */
		return bo_error_set(err, status_code(status), "%s: %s", what, line);
	return bo_error_set(err, BO_EFETCH, "%s: %s (after %d attempts)", what, line, resp->attempts);
}

int zenodo_call(zenodo *z, const char *method, const char *url_or_path, const cJSON *body, long *status_out,
		cJSON **json_out, struct zenodo_error *zerr, struct bo_error *err)
{
	char url[URL_MAX];
	char *text = NULL;
	struct httpc_response resp = {0};
	long status = 0;
	*json_out = NULL;
	int rc = build_url(z, url_or_path, url, sizeof(url), err);
	if (rc)
		return rc;
	if (body && !(text = cJSON_PrintUnformatted(body)))
		return oom(err);
	struct httpc_request req = {.method = method, .url = url, .body = text, .body_len = text ? strlen(text) : 0};
	rc = perform(z, &req, &resp, &status, zerr, err);
	if (!rc && resp.body.len) {
		*json_out = cJSON_ParseWithLength(resp.body.p, resp.body.len);
		if (!*json_out)
			rc = bo_error_set(err, BO_EFETCH, "Zenodo %s %s: the reply (HTTP %ld) is not JSON", method, url, status);
	}
	if (status_out)
		*status_out = status;
	free(text);
	httpc_response_cleanup(&resp);
	return rc;
}

/* Appends s percent-encoded except unreserved characters and (keep_slash) '/'. */
static void buf_urlencode(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p) || (keep_slash && *p == '/')) {
			buf_addn(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_addn(b, e, 3);
		}
	}
}

int zenodo_upload(zenodo *z, const char *bucket_url, const char *key, const char *path, struct bo_error *err)
{
	char url[URL_MAX];
	struct buf full = {0};
	struct upload_file u = {0};
	struct httpc_response resp = {0};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hexmd[2 * EVP_MAX_MD_SIZE + 8];
	long status = 0;
	cJSON *reply = NULL;
	int rc = 0;
	buf_add(&full, bucket_url);
	buf_add(&full, "/");
	buf_urlencode(&full, key, 1);
	if (full.failed) {
		rc = oom(err);
		goto out;
	}
	rc = build_url(z, full.p, url, sizeof(url), err);
	if (rc)
		goto out;
	u.f = fopen(path, "rb");
	if (!u.f) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read %s for the upload of %s: %s", path, key, strerror(errno));
		goto out;
	}
	struct stat sb;
	if (fstat(fileno(u.f), &sb) != 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	u.md5 = EVP_MD_CTX_new();
	if (!u.md5) {
		rc = oom(err);
		goto out;
	}
	struct httpc_request req = {.method = "PUT", .url = url, .read = read_file, .read_len = (uint64_t)sb.st_size,
				    .before_attempt = rewind_file, .ctx = &u};
	rc = perform(z, &req, &resp, &status, NULL, err);
	if (rc)
		goto out;
	if (EVP_DigestFinal_ex(u.md5, md, &mdlen) != 1) {
		rc = bo_error_set(err, BO_EINTERNAL, "MD5 failed");
		goto out;
	}
	hex_encode(hexmd, md, mdlen);
	reply = resp.body.len ? cJSON_ParseWithLength(resp.body.p, resp.body.len) : NULL;
	const char *sum = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "checksum"));
	if (!sum || strncmp(sum, "md5:", 4) || strcasecmp(sum + 4, hexmd)) {
		rc = bo_error_set(err, BO_EFETCH, "Zenodo stored %s with checksum %.80s, but we sent md5:%s; the upload will be repeated",
				  key, sum ? sum : "(none)", hexmd);
		goto out;
	}
out:
	cJSON_Delete(reply);
	if (u.f)
		fclose(u.f);
	EVP_MD_CTX_free(u.md5);
	httpc_response_cleanup(&resp);
	free(full.p);
	return rc;
}

int zenodo_license_id(const char *spdx, char *out, size_t n, struct bo_error *err)
{
	size_t len = spdx ? strlen(spdx) : 0;
	if (!len)
		return bo_error_set(err, BO_EBADREQUEST, "the RDF has no license; Zenodo needs one");
	if (len >= n)
		return bo_error_set(err, BO_EBADREQUEST, "license '%.60s…' is too long for a Zenodo license id", spdx);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)spdx[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != '+')
			return bo_error_set(err, BO_EBADREQUEST, "license '%.80s' is not an SPDX id (character '%c')", spdx,
					    isprint(c) ? c : '?');
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

int zenodo_license_known(zenodo *z, const char *id, int *known_out, struct bo_error *err)
{
	char path[256];
	cJSON *j = NULL;
	long status = 0;
	struct bo_error e2 = BO_ERROR_INIT;
	*known_out = 0;
	snprintf(path, sizeof(path), "/api/vocabularies/licenses/%s", id);
	int rc = zenodo_call(z, "GET", path, NULL, &status, &j, NULL, &e2);
	if (rc == BO_ENOTFOUND || rc == BO_EBADREQUEST) {
		/* an instance without the vocabulary endpoint: ask the legacy one */
		bo_error_cleanup(&e2);
		snprintf(path, sizeof(path), "/api/licenses/%s", id);
		rc = zenodo_call(z, "GET", path, NULL, &status, &j, NULL, &e2);
	}
	cJSON_Delete(j);
	if (rc == 0)
		*known_out = 1;
	else if (rc == BO_ENOTFOUND)
		rc = 0;
	else
		bo_error_set(err, rc, "%s", e2.detail);
	bo_error_cleanup(&e2);
	return rc;
}

/* ---- metadata --------------------------------------------------------------------- */

void zenodo_creator_name(const char *name, char *out, size_t n)
{
	while (*name == ' ')
		name++;
	size_t len = strlen(name);
	while (len && name[len - 1] == ' ')
		len--;
	const char *sp = NULL;
	for (size_t i = 0; i < len; i++)
		if (name[i] == ' ')
			sp = name + i;
	if (!sp || memchr(name, ',', len)) {
		snprintf(out, n, "%.*s", (int)len, name);
		return;
	}
	size_t given = (size_t)(sp - name);
	while (given && name[given - 1] == ' ')
		given--;
	snprintf(out, n, "%.*s, %.*s", (int)(len - (size_t)(sp + 1 - name)), sp + 1, (int)given, name);
}

static int is_http_url(const char *s, size_t n)
{
	if (!((n > 7 && !strncmp(s, "http://", 7)) || (n > 8 && !strncmp(s, "https://", 8))))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == '"' || s[i] == '<' || s[i] == '>' || s[i] == '\\')
			return 0;
	return 1;
}

static const char *find(const char *s, const char *end, const char *what)
{
	size_t wl = strlen(what);
	for (const char *p = s; p + wl <= end; p++)
		if (!memcmp(p, what, wl))
			return p;
	return NULL;
}

/* Inline markdown of [s, end): each construct is emitted only with its closer present,
 * so the tags are always balanced; everything else is escaped text. */
static void md_inline(struct buf *b, const char *s, const char *end, int depth)
{
	while (s < end) {
		const char *close;
		if (depth < 8 && *s == '`' && (close = find(s + 1, end, "`"))) {
			buf_add(b, "<code>");
			buf_add_html(b, s + 1, (size_t)(close - s - 1));
			buf_add(b, "</code>");
			s = close + 1;
		} else if (depth < 8 && s + 1 < end && s[0] == '*' && s[1] == '*' && (close = find(s + 2, end, "**")) &&
			   close > s + 2) {
			buf_add(b, "<strong>");
			md_inline(b, s + 2, close, depth + 1);
			buf_add(b, "</strong>");
			s = close + 2;
		} else if (depth < 8 && *s == '*' && s + 1 < end && s[1] != '*' && s[1] != ' ' &&
			   (close = find(s + 1, end, "*"))) {
			buf_add(b, "<em>");
			md_inline(b, s + 1, close, depth + 1);
			buf_add(b, "</em>");
			s = close + 1;
		} else if (depth < 8 && *s == '[' && (close = find(s + 1, end, "](")) && find(close + 2, end, ")")) {
			const char *url = close + 2, *uend = find(url, end, ")");
			if (is_http_url(url, (size_t)(uend - url))) {
				buf_add(b, "<a href=\"");
				buf_add_html(b, url, (size_t)(uend - url));
				buf_add(b, "\">");
				md_inline(b, s + 1, close, depth + 1);
				buf_add(b, "</a>");
			} else {
				md_inline(b, s + 1, close, depth + 1);
			}
			s = uend + 1;
		} else {
			buf_add_html(b, s, 1);
			s++;
		}
	}
}

enum md_block { MD_NONE, MD_P, MD_UL, MD_OL };

static void md_close(struct buf *b, enum md_block *blk)
{
	if (*blk == MD_P)
		buf_add(b, "</p>\n");
	else if (*blk == MD_UL)
		buf_add(b, "</ul>\n");
	else if (*blk == MD_OL)
		buf_add(b, "</ol>\n");
	*blk = MD_NONE;
}

char *zenodo_markdown_html(const char *md, size_t len)
{
	struct buf b = {0};
	enum md_block blk = MD_NONE;
	int fence = 0;
	const char *p = md, *end = md + len;
	buf_addn(&b, "", 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
		if (le > p && le[-1] == '\r')
			le--;
		const char *t = p;
		while (t < le && (*t == ' ' || *t == '\t'))
			t++;
		size_t tl = (size_t)(le - t);
		if (tl >= 3 && !strncmp(t, "```", 3)) {
			if (fence) {
				buf_add(&b, "</code></pre>\n");
				fence = 0;
			} else {
				md_close(&b, &blk);
				buf_add(&b, "<pre><code>");
				fence = 1;
			}
		} else if (fence) {
			buf_add_html(&b, p, (size_t)(le - p));
			buf_add(&b, "\n");
		} else if (tl == 0) {
			md_close(&b, &blk);
		} else if (*t == '#') {
			int level = 0;
			while (level < (int)tl && t[level] == '#')
				level++;
			if (level <= 6 && (level == (int)tl || t[level] == ' ')) {
				md_close(&b, &blk);
				char tag[24];
				snprintf(tag, sizeof(tag), "<h%d>", level);
				buf_add(&b, tag);
				const char *h = t + level;
				while (h < le && *h == ' ')
					h++;
				md_inline(&b, h, le, 0);
				snprintf(tag, sizeof(tag), "</h%d>", level);
				buf_add(&b, tag);
				buf_add(&b, "\n");
			} else {
				if (blk != MD_P) {
					md_close(&b, &blk);
					buf_add(&b, "<p>");
					blk = MD_P;
				} else {
					buf_add(&b, "\n");
				}
				md_inline(&b, t, le, 0);
			}
		} else {
			enum md_block want = MD_P;
			const char *item = t;
			if (tl >= 2 && strchr("-*+", *t) && t[1] == ' ') {
				want = MD_UL;
				item = t + 2;
			} else {
				const char *d = t;
				while (d < le && isdigit((unsigned char)*d))
					d++;
				if (d > t && d + 1 < le && (*d == '.' || *d == ')') && d[1] == ' ') {
					want = MD_OL;
					item = d + 2;
				}
			}
			if (want == MD_P) {
				if (blk == MD_P) {
					buf_add(&b, "\n");
				} else {
					md_close(&b, &blk);
					buf_add(&b, "<p>");
					blk = MD_P;
				}
				md_inline(&b, t, le, 0);
			} else {
				if (blk != want) {
					md_close(&b, &blk);
					buf_add(&b, want == MD_UL ? "<ul>\n" : "<ol>\n");
					blk = want;
				}
				buf_add(&b, "<li>");
				md_inline(&b, item, le, 0);
				buf_add(&b, "</li>\n");
			}
		}
		p = next;
	}
	if (fence)
		buf_add(&b, "</code></pre>\n");
	md_close(&b, &blk);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static int add_related(cJSON *arr, const char *url, const char *relation, const char *resource_type)
{
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return -1;
	cJSON_AddItemToArray(arr, r);
	return !cJSON_AddStringToObject(r, "identifier", url) || !cJSON_AddStringToObject(r, "relation", relation) ||
			       !cJSON_AddStringToObject(r, "resource_type", resource_type) ||
			       !cJSON_AddStringToObject(r, "scheme", "url")
		       ? -1
		       : 0;
}

/* A package file as a URL: absolute http(s) references are kept, paths are put under
 * <files_url>/<id>/<version>/files/. */
static char *file_url(const struct zenodo_meta_input *in, const char *ref)
{
	struct buf b = {0};
	if (is_http_url(ref, strlen(ref))) {
		buf_add(&b, ref);
	} else {
		buf_add(&b, in->files_url);
		buf_add(&b, "/");
		buf_urlencode(&b, in->id, 0);
		buf_add(&b, "/");
		buf_urlencode(&b, in->version, 0);
		buf_add(&b, "/files/");
		buf_urlencode(&b, ref[0] == '.' && ref[1] == '/' ? ref + 2 : ref, 1);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int zenodo_metadata(const struct zenodo_meta_input *in, cJSON **out, struct bo_error *err)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(root, "metadata");
	char *html = NULL, *url = NULL;
	char title[512], name[512];
	int rc = 0, bad = !m;
	const cJSON *rdf = in->rdf, *e;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rdf, "type"));
	const char *desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rdf, "description"));
	if (!type)
		type = "model";
	if (bad)
		goto fail;
	snprintf(title, sizeof(title), "bioimage.io upload: %s", in->id);
	cJSON_AddStringToObject(m, "title", title);
	cJSON_AddStringToObject(m, "upload_type", !strcmp(type, "dataset") ? "dataset" : "software");
	cJSON *creators = cJSON_AddArrayToObject(m, "creators");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rdf, "authors"))
	{
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
		if (!n || !n[strspn(n, " ")])
			continue;
		cJSON *c = cJSON_CreateObject();
		if (!c || !creators) {
			cJSON_Delete(c);
			bad = 1;
			break;
		}
		zenodo_creator_name(n, name, sizeof(name));
		cJSON_AddStringToObject(c, "name", name);
		const char *aff = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "affiliation"));
		const char *orcid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "orcid"));
		if (aff && aff[0])
			cJSON_AddStringToObject(c, "affiliation", aff);
		if (orcid && orcid[0])
			cJSON_AddStringToObject(c, "orcid", orcid);
		cJSON_AddItemToArray(creators, c);
	}
	if (!bad && cJSON_GetArraySize(creators) == 0) {
		rc = bo_error_set(err, BO_EINVALIDRDF,
				  "%s/%s lists no authors with a name; Zenodo needs at least one creator (publish a version "
				  "with authors, then retry the job)",
				  in->id, in->version);
		goto fail;
	}
	if (in->documentation)
		html = zenodo_markdown_html(in->documentation, in->documentation_len);
	else {
		struct buf b = {0};
		buf_add(&b, "<p>");
		buf_add_html(&b, desc ? desc : title, strlen(desc ? desc : title));
		buf_add(&b, "</p>");
		html = b.failed ? (free(b.p), NULL) : b.p;
	}
	if (!html || !html[0]) {
		/* Zenodo rejects an empty description */
		free(html);
		html = strdup(title);
	}
	if (!html)
		goto fail;
	cJSON_AddStringToObject(m, "description", html);
	cJSON *kw = cJSON_AddArrayToObject(m, "keywords");
	char tkw[128];
	snprintf(tkw, sizeof(tkw), "bioimage.io:%s", type);
	cJSON_AddItemToArray(kw, cJSON_CreateString("backup.bioimage.io"));
	cJSON_AddItemToArray(kw, cJSON_CreateString("bioimage.io"));
	cJSON_AddItemToArray(kw, cJSON_CreateString(tkw));
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rdf, "tags"))
	{
		if (cJSON_IsString(e) && e->valuestring[0])
			cJSON_AddItemToArray(kw, cJSON_CreateString(e->valuestring));
	}
	char notes[1400], pkg[400] = "";
	/* Zenodo has no folders: the package is one zip, named here with its digest, so that
	 * a restore can check it (README "Archive to Zenodo") */
	if (in->package_name && in->package_sha256)
		snprintf(pkg, sizeof(pkg),
			 " The package is %s (SHA-256 %s): unzip it to get every file of the version at its path; "
			 "rdf.yaml and the covers are also deposited beside it.",
			 in->package_name, in->package_sha256);
	snprintf(notes, sizeof(notes), "Archived copy of bioimage.io %s %s, version %s: %s%s%.600s%s", type, in->id,
		 in->version, in->page_url, desc ? " — " : "", desc ? desc : "", pkg);
	cJSON_AddStringToObject(m, "notes", notes);
	cJSON_AddStringToObject(m, "license", in->license_id);
	cJSON *rel = cJSON_AddArrayToObject(m, "related_identifiers");
	bad |= !rel || add_related(rel, in->page_url, "isDocumentedBy", "publication-other");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rdf, "covers"))
	{
		if (!cJSON_IsString(e) || !e->valuestring[0])
			continue;
		if (!(url = file_url(in, e->valuestring)) || add_related(rel, url, "hasPart", "image-figure"))
			bad = 1;
		free(url);
		url = NULL;
	}
	const char *doc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rdf, "documentation"));
	if (doc && doc[0]) {
		if (!(url = file_url(in, doc)) ||
		    add_related(rel, url, "isDocumentedBy", "publication-softwaredocumentation"))
			bad = 1;
		free(url);
		url = NULL;
	}
	cJSON_AddStringToObject(m, "publication_date", in->publication_date);
	cJSON_AddStringToObject(m, "version", in->version);
	if (bad || !cJSON_GetObjectItemCaseSensitive(m, "version"))
		goto fail;
	free(html);
	*out = root;
	return 0;
fail:
	free(html);
	cJSON_Delete(root);
	return rc ? rc : oom(err);
}

/* http: the request lifecycle over libmicrohttpd.
 *   first callback: context, request id, route match, header size, auth, content type and
 *                   declared length checks — a refusal is answered before the body is read;
 *   body callbacks: JSON into a bounded buffer, uploads into a temp file with SHA-256;
 *   last callback:  the handler, then exactly one response;
 *   completion:     access log, metrics, and the one place the context is freed. */
#include "http/http.h"

#include "common/hex.h"
#include "common/utf8.h"
#include "http/form.h"
#include "http/http_gate.h"

#include "app.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/metrics.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARAMS 8
#define MAX_RESP_HEADERS 16
#define MULTIPART_BUFFER 65536
/* the multipart envelope (boundaries, part headers, small fields) on top of the file */
#define MULTIPART_SLACK (64 * 1024)

/* what a page on another origin may read of a response, and send in a request */
#define CORS_EXPOSE "ETag, X-Request-Id, Location, Retry-After, Content-Disposition"
/* the problem page for browsers: our style sheet, nothing else (the pages' CSP, narrowed) */
#define HTML_PROBLEM_CSP                                                                                          \
	"default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "        \
	"frame-ancestors 'none'"
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, If-None-Match, X-Request-Id"

struct http_server {
	struct MHD_Daemon *daemon;
	http_gate *gate; /* owns the listening socket; hands connections to daemon */
	struct app *app;
	const struct route_table *const *tables;
	size_t ntables;
	uint16_t port;
};

enum body_mode { BODY_NONE, BODY_BUFFER, BODY_FILE, BODY_MULTIPART };

struct http_req {
	http_server *srv;
	struct MHD_Connection *conn;
	arena *arena;
	struct bo_error err;
	char request_id[40];
	const char *method, *path;
	int uri_control; /* the raw request target holds a control byte (%00-%1f, %7f or raw) */
	int close;       /* answer with Connection: close (the rest of the stream is not framed) */
	const struct route *route;
	const char *param_names[MAX_PARAMS];
	const char *param_values[MAX_PARAMS];
	int nparams;
	struct timespec started;
	/* auth */
	int auth_done;
	struct auth_user user;
	int has_user;
	/* body */
	enum body_mode mode;
	uint64_t limit;
	uint64_t received;  /* content bytes: the JSON body, or the file (zip body or multipart part) */
	uint64_t raw_in;    /* request body bytes as sent (multipart framing included) */
	char *buf;
	size_t buf_len;
	int fd;
	char *file_path;
	int file_taken;
	EVP_MD_CTX *sha;
	struct MHD_PostProcessor *pp;
	struct form form; /* the multipart upload form's parts so far */
	struct http_upload upload;
	cJSON *json;
	int json_parsed;
	/* response */
	struct MHD_Response *resp;
	int status;
	uint64_t resp_bytes;
	int answered;
	const char *hdr_names[MAX_RESP_HEADERS];
	const char *hdr_values[MAX_RESP_HEADERS];
	int nhdrs;
};

/* ---------------------------------------------------------------- accessors */

arena *http_arena(http_req *r) { return r->arena; }
struct bo_error *http_err(http_req *r) { return &r->err; }
struct app *http_app(http_req *r) { return r->srv->app; }
const char *http_request_id(const http_req *r) { return r->request_id; }
const char *http_method(const http_req *r) { return r->method; }
const char *http_path(const http_req *r) { return r->path; }
const struct auth_user *http_user(const http_req *r) { return r->has_user ? &r->user : NULL; }
const struct http_upload *http_upload(const http_req *r) { return r->upload.path ? &r->upload : NULL; }
void http_upload_take(http_req *r) { r->file_taken = 1; }

const char *http_body(const http_req *r, size_t *len_out)
{
	if (len_out)
		*len_out = r->buf_len;
	return r->buf;
}

const char *http_param(http_req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (!strcmp(r->param_names[i], name))
			return r->param_values[i];
	return NULL;
}

const char *http_query(http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_client_ip(http_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char buf[INET6_ADDRSTRLEN] = "";
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, sizeof(buf));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, sizeof(buf));
	}
	const char *out = arena_strdup(r->arena, buf);
	return out ? out : "";
}

int http_authenticate(http_req *r)
{
	if (r->auth_done)
		return r->has_user ? 0 : r->err.code ? r->err.code : BO_EUNAUTHORIZED;
	r->auth_done = 1;
	sqlite3 *c = NULL;
	int rc = db_acquire(r->srv->app->db, &c, &r->err);
	if (rc)
		return rc;
	rc = auth_authenticate(c, http_header(r, MHD_HTTP_HEADER_AUTHORIZATION), &r->user, &r->err);
	db_release(r->srv->app->db, c);
	/* a scoped (partner, worker) token is nobody outside its routes: a public page asked with it
	 * sees an anonymous client, never the rights of the user behind it */
	if (!rc && r->user.scope[0] && (!r->route || r->route->auth != auth_scope_role(r->user.scope)))
		rc = auth_require(&r->user, AUTH_ROLE_UPLOADER, &r->err); /* the refusal worded for its scope */
	if (!rc)
		r->has_user = 1;
	return rc;
}

/* Every string and key of a parsed body is valid UTF-8 (cJSON passes raw bytes through
 * and turns \u escapes into bytes) and no object repeats a key: the first offence's key
 * path is written into where (n bytes). 0 when the tree is clean. */
static int json_offence(const cJSON *j, int depth, char *where, size_t n, const char **what)
{
	if (depth > 64) {
		*what = "is nested too deep";
		snprintf(where, n, "(depth %d)", depth);
		return 1;
	}
	if (cJSON_IsString(j) && j->valuestring && !utf8_valid(j->valuestring, strlen(j->valuestring))) {
		*what = "holds a string that is not valid UTF-8";
		return 1;
	}
	for (const cJSON *c = j->child; c; c = c->next) {
		if (c->string && !utf8_valid(c->string, strlen(c->string))) {
			*what = "holds a key that is not valid UTF-8";
			return 1;
		}
		if (cJSON_IsObject(j) && c->string)
			for (const cJSON *d = j->child; d != c; d = d->next)
				if (d->string && !strcmp(d->string, c->string)) {
					*what = "repeats a key";
					snprintf(where, n, "'%.*s'", utf8_prefix(c->string, 60), c->string);
					return 1;
				}
		if (json_offence(c, depth + 1, where, n, what)) {
			if (!where[0] && c->string && utf8_valid(c->string, strlen(c->string)))
				snprintf(where, n, "'%.*s'", utf8_prefix(c->string, 60), c->string);
			return 1;
		}
	}
	return 0;
}

cJSON *http_json(http_req *r)
{
	if (r->json_parsed)
		return r->json;
	r->json_parsed = 1;
	if (!r->buf || r->buf_len == 0) {
		bo_error_set(&r->err, BO_EBADREQUEST, "request body is empty; send a JSON object");
		return NULL;
	}
	const char *end = NULL;
	r->json = cJSON_ParseWithLengthOpts(r->buf, r->buf_len, &end, 0);
	if (!r->json) {
		size_t off = end ? (size_t)(end - r->buf) : 0;
		size_t line = 1, col = 1;
		for (size_t i = 0; i < off && i < r->buf_len; i++) {
			if (r->buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		bo_error_set(&r->err, BO_EBADREQUEST, "request body is not valid JSON (near line %zu, column %zu)",
			     line, col);
		return NULL;
	}
	arena_defer(r->arena, (void (*)(void *))cJSON_Delete, r->json);
	char where[80] = "";
	const char *what = NULL;
	if (json_offence(r->json, 0, where, sizeof(where), &what)) {
		bo_error_set(&r->err, BO_EBADREQUEST, "request body %s%s%s", what, where[0] ? " at " : "", where);
		r->json = NULL;
		return NULL;
	}
	return r->json;
}

/* ---------------------------------------------------------------- replies */

static int set_response(http_req *r, int status, struct MHD_Response *resp, uint64_t bytes)
{
	if (!resp)
		return bo_error_set(&r->err, BO_ENOMEM, "out of memory building the response");
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = status;
	r->resp_bytes = bytes;
	return 0;
}

int http_reply_data(http_req *r, int status, const char *content_type, const void *data, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
	if (resp && content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	return set_response(r, status, resp, len);
}

int http_reply_json(http_req *r, int status, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	if (!text)
		return bo_error_set(&r->err, BO_ENOMEM, "out of memory rendering JSON");
	size_t len = strlen(text);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return set_response(r, status, NULL, 0);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return set_response(r, status, resp, len);
}

int http_reply_fd(http_req *r, int status, const char *content_type, int fd, uint64_t size)
{
	struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
	if (!resp) {
		close(fd);
		return set_response(r, status, NULL, 0);
	}
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	return set_response(r, status, resp, size);
}

int http_reply_redirect(http_req *r, int status, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	return set_response(r, status, resp, 0);
}

int http_add_header(http_req *r, const char *name, const char *value)
{
	if (r->nhdrs == MAX_RESP_HEADERS)
		return bo_error_set(&r->err, BO_EINTERNAL, "too many response headers");
	r->hdr_names[r->nhdrs] = arena_strdup(r->arena, name);
	r->hdr_values[r->nhdrs] = arena_strdup(r->arena, value);
	if (!r->hdr_names[r->nhdrs] || !r->hdr_values[r->nhdrs])
		return bo_error_set(&r->err, BO_ENOMEM, "out of memory");
	r->nhdrs++;
	return 0;
}

/* Paths that carry a secret (sign-in links) are shown by their prefix in logs and errors,
 * whatever the method or status. */
static const char *shown_path(const char *path)
{
	static const char *const secret[] = {"/api/v1/signin/", "/signin/"};
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		size_t n = strlen(secret[i]);
		if (!strncmp(path, secret[i], n) && path[n])
			return i == 0 ? "/api/v1/signin/{token}" : "/signin/{token}";
	}
	return path;
}

static size_t path_methods(const http_req *r, char *methods, size_t cap);

/* Whether the client asks for a page rather than data: a browser's navigation (Accept
 * names text/html before any JSON type, or without one) for GET or HEAD. API clients
 * (Accept: application/json, a bare wildcard, or none, as curl sends) get problem+json. */
static int wants_html(http_req *r)
{
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return 0;
	const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	const char *html = accept ? strstr(accept, "text/html") : NULL;
	if (!html)
		return 0;
	const char *json = strstr(accept, "json");
	return !json || html < json;
}

/* The problem as a small page of our own: the title, the detail (escaped), the request
 * id and a link home, styled by our sheet; NULL when out of memory (the caller falls back
 * to JSON). Nothing in it runs, and the CSP says so. Caller frees. */
static char *problem_html(const http_req *r, int status)
{
	struct buf b = {.max = 64 * 1024};
	const char *title = bo_error_title(r->err.code);
	char line[64];
	snprintf(line, sizeof(line), "%d ", status);
	buf_add(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	buf_add(&b, line);
	buf_add_html(&b, title, strlen(title));
	buf_add(&b, " — BioImage Model Zoo backoffice</title><link rel=\"icon\" href=\"data:,\">"
		    "<link rel=\"stylesheet\" href=\"/static/app.css\"></head><body>"
		    "<header class=\"top\"><a class=\"brand\" href=\"/\"><span aria-hidden=\"true\">🦒</span> "
		    "BioImage Model Zoo</a></header><main id=\"main\" class=\"problem-page\"><h1>");
	buf_add_html(&b, title, strlen(title));
	buf_add(&b, "</h1><p class=\"problem-detail\">");
	buf_add_html(&b, r->err.detail, strlen(r->err.detail));
	buf_add(&b, "</p><p class=\"muted\">HTTP status ");
	buf_add(&b, line);
	buf_add(&b, "· request id <code>");
	buf_add_html(&b, r->request_id, strlen(r->request_id));
	buf_add(&b, "</code></p><p><a href=\"/\">Upload</a> · <a href=\"/collection\">The collection</a></p>"
		    "</main></body></html>\n");
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

static void reply_problem(http_req *r)
{
	if (!r->err.code)
		bo_error_set(&r->err, BO_EINTERNAL, "handler failed without saying why");
	int status = bo_error_status(r->err.code);
	if (status >= 500)
		log_rerror(r->request_id, "%s %s: %s %s", r->method, shown_path(r->path), bo_error_name(r->err.code),
			   r->err.detail);
	int html = wants_html(r);
	char *body = html ? problem_html(r, status) : NULL;
	if (!body)
		html = 0;
	if (!body)
		body = bo_error_render(&r->err, shown_path(r->path), r->request_id);
	struct MHD_Response *resp = NULL;
	if (body) {
		resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
	}
	if (!resp) {
		static const char fallback[] = "{\"type\":\"/problems/out-of-memory\",\"status\":503}";
		resp = MHD_create_response_from_buffer(sizeof(fallback) - 1, (void *)(uintptr_t)fallback,
						       MHD_RESPMEM_PERSISTENT);
		status = 503;
		html = 0;
	}
	if (resp) {
		if (html) {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
			MHD_add_response_header(resp, "Content-Security-Policy", HTML_PROBLEM_CSP);
			MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
		} else {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
		}
		/* RFC 9110: a 401 says how to authenticate, a 405 which methods the path has */
		if (status == 401)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						"Bearer realm=\"bioimage.io backoffice\"");
		char methods[160];
		if (status == 405 && path_methods(r, methods, sizeof(methods)))
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, methods);
		if (status == 503 || status == 429) {
			char ra[16];
			snprintf(ra, sizeof(ra), "%d", r->err.retry_after > 0 ? r->err.retry_after : 5);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
		}
	}
	if (r->resp) {
		MHD_destroy_response(r->resp);
		r->resp = NULL;
	}
	r->resp = resp;
	r->status = status;
	r->resp_bytes = body ? strlen(body) : 0;
}

static enum MHD_Result send_reply(http_req *r)
{
	if (!r->resp)
		reply_problem(r);
	if (!r->resp)
		return MHD_NO;
	MHD_add_response_header(r->resp, "X-Request-Id", r->request_id);
	/* CORS: pages and tools on other origins (bioimage.io, the uploader) read the
	 * collection files, /files and the API. No route reads cookies (tokens come in the
	 * Authorization header, which a browser never adds on its own), so any origin may. */
	MHD_add_response_header(r->resp, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(r->resp, "Access-Control-Expose-Headers", CORS_EXPOSE);
	for (int i = 0; i < r->nhdrs; i++)
		MHD_add_response_header(r->resp, r->hdr_names[i], r->hdr_values[i]);
	if (r->close)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONNECTION, "close");
	r->answered = 1;
	enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ok;
}

static enum MHD_Result send_problem(http_req *r)
{
	if (r->resp) {
		MHD_destroy_response(r->resp);
		r->resp = NULL;
	}
	reply_problem(r);
	return send_reply(r);
}

/* ---------------------------------------------------------------- routing */

/* Matches pattern against path; fills params when r is non-NULL. Literal segments are
 * compared exactly; "{name}" takes one non-empty segment; "{*name}" the non-empty rest. */
static int match_pattern(const char *pattern, const char *path, http_req *r)
{
	const char *p = pattern, *u = path;
	int n = 0;
	while (*p && *u) {
		if (*p != '/' || *u != '/')
			return 0;
		p++, u++;
		const char *pe = strchr(p, '/');
		size_t plen = pe ? (size_t)(pe - p) : strlen(p);
		const char *ue = strchr(u, '/');
		size_t ulen = ue ? (size_t)(ue - u) : strlen(u);
		if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
			int rest = p[1] == '*';
			if (rest)
				ulen = strlen(u);
			if (ulen == 0 || n == MAX_PARAMS)
				return 0;
			if (r) {
				r->param_names[n] = arena_strndup(r->arena, p + 1 + rest, plen - 2 - (size_t)rest);
				r->param_values[n] = arena_strndup(r->arena, u, ulen);
				if (!r->param_names[n] || !r->param_values[n])
					return 0;
			}
			n++;
		} else if (plen != ulen || strncmp(p, u, plen)) {
			return 0;
		}
		p += plen;
		u += ulen;
	}
	if (*p || *u)
		return 0;
	if (r)
		r->nparams = n;
	return 1;
}

/* Literal routes win over parameter routes of the same shape ("/ids/suggest" over
 * "/ids/{id}"): score = number of literal characters matched. */
static int pattern_score(const char *pattern)
{
	int s = 0;
	int in_param = 0;
	for (const char *p = pattern; *p; p++) {
		if (*p == '{')
			in_param = 1;
		else if (*p == '}')
			in_param = 0;
		else if (!in_param)
			s++;
	}
	return s;
}

int http_route_match(const struct route_table *const *tables, size_t ntables, const char *method,
		     const char *path, const struct route **out, int *method_mismatch)
{
	const struct route *best = NULL;
	int best_score = -1;
	*method_mismatch = 0;
	for (size_t t = 0; t < ntables; t++) {
		for (size_t i = 0; i < tables[t]->count; i++) {
			const struct route *rt = &tables[t]->routes[i];
			if (!match_pattern(rt->pattern, path, NULL))
				continue;
			int head_ok = !strcmp(method, "HEAD") && !strcmp(rt->method, "GET");
			if (strcmp(rt->method, method) && !head_ok) {
				*method_mismatch = 1;
				continue;
			}
			int sc = pattern_score(rt->pattern);
			if (sc > best_score) {
				best = rt;
				best_score = sc;
			}
		}
	}
	*out = best;
	return best ? 0 : BO_ENOTFOUND;
}

/* ---------------------------------------------------------------- bodies */

static int open_temp_file(http_req *r)
{
	r->file_path = arena_printf(r->arena, "%s/upload-XXXXXX", r->srv->app->tmp_dir);
	if (!r->file_path)
		return bo_error_set(&r->err, BO_ENOMEM, "out of memory");
	r->fd = mkstemp(r->file_path);
	if (r->fd < 0) {
		r->file_path = NULL;
		return bo_error_set(&r->err, BO_ESTORAGE, "cannot create a temp file for the upload: %s",
				    strerror(errno));
	}
	r->sha = EVP_MD_CTX_new();
	if (!r->sha || EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1)
		return bo_error_set(&r->err, BO_ENOMEM, "out of memory");
	return 0;
}

static int write_file_chunk(http_req *r, const char *data, size_t len)
{
	if (r->received + len > r->limit)
		return bo_error_set(&r->err, BO_ETOOLARGE,
				    "upload exceeds %llu bytes (max_upload_bytes)", (unsigned long long)r->limit);
	r->received += len;
	EVP_DigestUpdate(r->sha, data, len);
	while (len > 0) {
		ssize_t n = write(r->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bo_error_set(&r->err, BO_ESTORAGE, "cannot write the upload to disk: %s",
					    strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static enum MHD_Result on_form_field(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *filename, const char *content_type,
				     const char *transfer_encoding, const char *data, uint64_t off,
				     size_t size)
{
	(void)kind, (void)content_type, (void)transfer_encoding;
	http_req *r = cls;
	if (r->err.code)
		return MHD_YES; /* keep parsing so the answer comes after the body */
	int what = form_take(&r->form, key, off, data, size, &r->err);
	if (what == FORM_PACKAGE_FIRST) {
		if (filename)
			r->upload.filename = arena_strdup(r->arena, filename);
		if (open_temp_file(r))
			return MHD_YES;
	}
	if ((what == FORM_PACKAGE_FIRST || what == FORM_PACKAGE_MORE) && size)
		write_file_chunk(r, data, size);
	return MHD_YES;
}

static int media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);
	return ctype && !strncasecmp(ctype, want, n) && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* Decides how the body is read, before any byte of it arrives. */
static int plan_body(http_req *r)
{
	const struct config *cfg = r->srv->app->cfg;
	const char *ctype = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *clen_s = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	int has_body = (clen_s && strcmp(clen_s, "0")) || te;
	unsigned long long clen = 0;
	if (clen_s) {
		char *end = NULL;
		errno = 0;
		clen = strtoull(clen_s, &end, 10);
		if (errno || !end || *end)
			return bo_error_set(&r->err, BO_EBADREQUEST, "Content-Length is not a number");
	}
	if (!has_body) {
		r->mode = BODY_NONE;
		return 0;
	}
	enum http_body kind = r->route->body;
	if (kind == HTTP_BODY_NONE)
		return bo_error_set(&r->err, BO_ETOOLARGE, "%s %s takes no request body", r->method, r->route->pattern);
	if (media_is(ctype, "application/json")) {
		r->mode = BODY_BUFFER;
		r->limit = (uint64_t)cfg->max_json_body;
	} else if (kind == HTTP_BODY_UPLOAD &&
		   (media_is(ctype, "application/zip") || media_is(ctype, "application/x-zip-compressed") ||
		    media_is(ctype, "application/octet-stream"))) {
		r->mode = BODY_FILE;
		r->limit = (uint64_t)cfg->max_upload_bytes;
	} else if (kind == HTTP_BODY_UPLOAD && media_is(ctype, "multipart/form-data")) {
		r->mode = BODY_MULTIPART;
		r->limit = (uint64_t)cfg->max_upload_bytes;
	} else {
		return bo_error_set(&r->err, BO_EMEDIATYPE,
				    "Content-Type '%s' is not accepted here; send %s", ctype ? ctype : "(none)",
				    kind == HTTP_BODY_UPLOAD
					    ? "application/zip, multipart/form-data (field 'package') or application/json {\"url\": …}"
					    : "application/json");
	}
	uint64_t allowed = r->limit + (r->mode == BODY_MULTIPART ? MULTIPART_SLACK : 0);
	if (clen_s && clen > allowed) {
		if (r->mode == BODY_BUFFER)
			return bo_error_set(&r->err, BO_ETOOLARGE, "JSON body of %llu bytes exceeds %llu bytes (max_json_body)",
					    clen, (unsigned long long)r->limit);
		return bo_error_set(&r->err, BO_ETOOLARGE, "upload of %llu bytes exceeds %llu bytes (max_upload_bytes)",
				    clen, (unsigned long long)r->limit);
	}
	if (r->mode == BODY_BUFFER) {
		r->buf = arena_alloc(r->arena, clen_s ? clen + 1 : r->limit + 1);
		if (!r->buf)
			return bo_error_set(&r->err, BO_ENOMEM, "out of memory");
	} else if (r->mode == BODY_FILE) {
		return open_temp_file(r);
	} else {
		r->pp = MHD_create_post_processor(r->conn, MULTIPART_BUFFER, on_form_field, r);
		if (!r->pp)
			return bo_error_set(&r->err, BO_EBADREQUEST, "multipart/form-data body without a boundary");
	}
	return 0;
}

/* Returns 0, or -1 when the connection must be dropped (an undeclared-length body ran
 * past its limit: answering would mean reading all of it). */
static int take_body(http_req *r, const char *data, size_t len)
{
	r->raw_in += len;
	if (r->err.code) {
		/* declared length was fine but something failed: discard the rest, answer at the end */
		return 0;
	}
	switch (r->mode) {
	case BODY_BUFFER:
		if (r->buf_len + len > r->limit) {
			bo_error_set(&r->err, BO_ETOOLARGE, "JSON body exceeds %llu bytes (max_json_body)",
				     (unsigned long long)r->limit);
			return -1;
		}
		memcpy(r->buf + r->buf_len, data, len);
		r->buf_len += len;
		r->received += len;
		return 0;
	case BODY_FILE:
		if (write_file_chunk(r, data, len) && r->err.code == BO_ETOOLARGE)
			return -1;
		return 0;
	case BODY_MULTIPART:
		/* received counts the file part only (write_file_chunk), so max_upload_bytes bounds
		 * the package as for a zip body; the framing around it gets MULTIPART_SLACK */
		if (r->raw_in > r->limit + MULTIPART_SLACK) {
			bo_error_set(&r->err, BO_ETOOLARGE, "upload exceeds %llu bytes (max_upload_bytes)",
				     (unsigned long long)r->limit);
			return -1;
		}
		if (MHD_post_process(r->pp, data, len) != MHD_YES && !r->err.code)
			bo_error_set(&r->err, BO_EBADREQUEST, "malformed multipart/form-data body");
		return r->err.code == BO_ETOOLARGE ? -1 : 0;
	case BODY_NONE:
		return 0;
	}
	return 0;
}

static int finish_body(http_req *r)
{
	if (r->pp) {
		MHD_destroy_post_processor(r->pp);
		r->pp = NULL;
		if (!r->err.code && !r->form.saw_package)
			return bo_error_set(&r->err, BO_EBADREQUEST,
					    "multipart form has no file field named 'package': with curl, -F package=@pkg.zip");
		r->upload.form_id = form_id(&r->form);
	}
	if (r->fd >= 0 && r->file_path) {
		unsigned char md[32];
		unsigned mdlen = 0;
		if (fsync(r->fd) != 0 && !r->err.code)
			return bo_error_set(&r->err, BO_ESTORAGE, "cannot flush the upload to disk: %s", strerror(errno));
		close(r->fd);
		r->fd = -1;
		if (r->err.code)
			return r->err.code;
		EVP_DigestFinal_ex(r->sha, md, &mdlen);
		hex_encode(r->upload.sha256, md, mdlen);
		r->upload.path = r->file_path;
		r->upload.size = r->received;
		metrics_add_upload_bytes(r->srv->app->metrics, r->received);
	}
	if (r->buf)
		r->buf[r->buf_len] = '\0';
	return r->err.code;
}

/* The methods the path has ("GET, HEAD, POST"; HEAD with GET) into methods; their length,
 * 0 when no route matches the path. */
static size_t path_methods(const http_req *r, char *methods, size_t cap)
{
	size_t n = 0;
	methods[0] = '\0';
	for (size_t t = 0; t < r->srv->ntables; t++) {
		for (size_t i = 0; i < r->srv->tables[t]->count; i++) {
			const struct route *rt = &r->srv->tables[t]->routes[i];
			if (!match_pattern(rt->pattern, r->path, NULL) || strstr(methods, rt->method))
				continue;
			int w = snprintf(methods + n, cap - n, "%s%s%s", n ? ", " : "", rt->method,
					 !strcmp(rt->method, "GET") ? ", HEAD" : "");
			if (w > 0 && (size_t)w < cap - n)
				n += (size_t)w;
		}
	}
	return n;
}

/* A CORS preflight: 204 with the methods the path has (HEAD with GET), or 404. */
static enum MHD_Result send_preflight(http_req *r)
{
	char methods[160];
	size_t n = path_methods(r, methods, sizeof(methods));
	if (!n) {
		bo_error_set(&r->err, BO_ENOTFOUND, "no such endpoint: %s", shown_path(r->path));
		return send_problem(r);
	}
	if (http_reply_data(r, 204, NULL, "", 0) || http_add_header(r, "Access-Control-Allow-Methods", methods) ||
	    http_add_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS) ||
	    http_add_header(r, "Access-Control-Max-Age", "86400") || http_add_header(r, "Allow", methods)) {
		bo_error_set(&r->err, BO_ENOMEM, "out of memory");
		return send_problem(r);
	}
	return send_reply(r);
}

/* ---------------------------------------------------------------- lifecycle */

static void make_request_id(http_req *r)
{
	const char *given = http_header(r, "X-Request-Id");
	if (given) {
		size_t n = strlen(given);
		int ok = n > 0 && n < sizeof(r->request_id);
		for (size_t i = 0; ok && i < n; i++)
			ok = (given[i] >= 'a' && given[i] <= 'z') || (given[i] >= 'A' && given[i] <= 'Z') ||
			     (given[i] >= '0' && given[i] <= '9') || given[i] == '-' || given[i] == '_';
		if (ok) {
			memcpy(r->request_id, given, n + 1);
			return;
		}
	}
	unsigned char rnd[8];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	hex_encode(r->request_id, rnd, sizeof(rnd));
}

struct header_sum {
	size_t total;
	int content_length, transfer_encoding; /* how many of each framing header */
};

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct header_sum *s = cls;
	s->total += strlen(key) + (value ? strlen(value) : 0) + 4;
	s->content_length += !strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH);
	s->transfer_encoding += !strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	return MHD_YES;
}

/* Everything decided from the request line and headers. */
static int begin(http_req *r)
{
	/* RFC 9112 6.1: both framings at once is how requests are smuggled past proxies; a
	 * coding we do not decode would leave the body unread. Refused, and the connection
	 * closed, since what follows on it cannot be framed. */
	struct header_sum hs = {0};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, sum_header, &hs);
	if (hs.content_length > 1 || hs.transfer_encoding > 1) {
		r->close = 1;
		return bo_error_set(&r->err, BO_EBADREQUEST, "the request repeats its %s header; send it once",
				    hs.content_length > 1 ? "Content-Length" : "Transfer-Encoding");
	}
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te && MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		r->close = 1;
		return bo_error_set(&r->err, BO_EBADREQUEST,
				    "the request has both Content-Length and Transfer-Encoding; send one of them");
	}
	if (te && strcasecmp(te, "chunked")) {
		r->close = 1;
		return bo_error_set(&r->err, BO_EBADREQUEST,
				    "Transfer-Encoding other than chunked is not supported; send the body chunked or "
				    "with a Content-Length");
	}
	if (hs.total > (size_t)r->srv->app->cfg->max_header_bytes)
		return bo_error_set(&r->err, BO_EHEADERS, "request headers total %zu bytes; the limit is %lld (max_header_bytes)",
				    hs.total, (long long)r->srv->app->cfg->max_header_bytes);
	int method_mismatch = 0;
	if (http_route_match(r->srv->tables, r->srv->ntables, r->method, r->path, &r->route, &method_mismatch)) {
		if (method_mismatch)
			return bo_error_set(&r->err, BO_EMETHOD, "%s is not allowed on %s", r->method, shown_path(r->path));
		return bo_error_set(&r->err, BO_ENOTFOUND, "no such endpoint: %s", shown_path(r->path));
	}
	if (!match_pattern(r->route->pattern, r->path, r))
		return bo_error_set(&r->err, BO_ENOMEM, "out of memory");
	if (r->route->auth != AUTH_ROLE_NONE) {
		int rc = http_authenticate(r);
		if (rc)
			return rc;
		rc = auth_require(&r->user, r->route->auth, &r->err);
		if (rc)
			return rc;
	}
	return plan_body(r);
}

static void req_free(http_req *r)
{
	if (!r)
		return;
	if (r->pp)
		MHD_destroy_post_processor(r->pp);
	if (r->fd >= 0)
		close(r->fd);
	if (r->file_path && !r->file_taken)
		unlink(r->file_path);
	EVP_MD_CTX_free(r->sha);
	if (r->resp)
		MHD_destroy_response(r->resp);
	bo_error_cleanup(&r->err);
	arena_free(r->arena);
	free(r);
}

/* 1 when the raw request target holds a control byte, raw or percent-encoded: libmicrohttpd
 * decodes %00 into a NUL that would cut the path short (/files/x/rdf.yaml%00.png) */
static int uri_has_control(const char *uri)
{
	for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (*p == '%' && isxdigit(p[1]) && isxdigit(p[2])) {
			int v = (isdigit(p[1]) ? p[1] - '0' : (tolower(p[1]) - 'a' + 10)) * 16 +
				(isdigit(p[2]) ? p[2] - '0' : (tolower(p[2]) - 'a' + 10));
			if (v < 0x20 || v == 0x7f)
				return 1;
		}
	}
	return 0;
}

/* MHD's URI log callback sees the request target before it is decoded; what it returns
 * becomes the connection's request (on_request fills in the rest) */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)conn;
	http_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->srv = cls;
	r->fd = -1;
	r->uri_control = uri_has_control(uri);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	http_server *srv = cls;
	http_req *r = *con_cls;
	if (!r || !r->method) {
		if (!r && !(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		r->arena = arena_create();
		r->fd = -1;
		r->srv = srv;
		r->conn = conn;
		clock_gettime(CLOCK_MONOTONIC, &r->started);
		*con_cls = r;
		if (!r->arena)
			return MHD_NO;
		r->method = arena_strdup(r->arena, method);
		r->path = arena_strdup(r->arena, url);
		make_request_id(r);
		if (!r->method || !r->path)
			return MHD_NO;
		if (r->uri_control) {
			bo_error_set(&r->err, BO_EBADREQUEST,
				     "the request path holds a control character (a NUL or another byte below 0x20, "
				     "raw or percent-encoded); no path of this server has one");
			return send_problem(r);
		}
		if (!strcmp(r->method, "OPTIONS"))
			return send_preflight(r);
		if (begin(r))
			return send_problem(r); /* answered before the body is read */
		return MHD_YES;
	}
	if (r->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		int drop = take_body(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (drop) {
			log_rwarnx(r->request_id, "%s %s: %s; closing the connection", r->method, shown_path(r->path), r->err.detail);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (finish_body(r))
		return send_problem(r);
	int rc = r->route->handler(r);
	if (rc || !r->resp) {
		if (!r->err.code)
			bo_error_set(&r->err, rc ? rc : BO_EINTERNAL, "handler gave no response");
		return send_problem(r);
	}
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn;
	http_req *r = *con_cls;
	if (!r)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (double)(now.tv_sec - r->started.tv_sec) + (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
	int status = r->answered ? r->status : 0;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->answered == 0)
		status = 499; /* client went away or we dropped the connection */
	/* a path that carries a secret (a sign-in link's token) is logged as its route pattern,
	 * or by its prefix when no route matched (another method, a 404) */
	const char *logged = r->path ? shown_path(r->path) : "-";
	if (r->route && strstr(r->route->pattern, "{token}"))
		logged = r->route->pattern;
	log_access(r->request_id, r->method ? r->method : "-", logged, status,
		   (unsigned long long)r->raw_in, (unsigned long long)r->resp_bytes, secs * 1e3);
	metrics_observe_request(r->srv->app->metrics, r->route ? r->route->method : "-",
				r->route ? r->route->pattern : "unmatched", status, secs);
	req_free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warnx("http: %s", msg);
}

static void gate_handoff(void *ctx, int fd, const struct sockaddr *addr, socklen_t len)
{
	http_server *s = ctx;
	/* on failure (MHD's connection or per-address limit) MHD has closed fd */
	if (MHD_add_connection(s->daemon, fd, addr, len) != MHD_YES)
		log_warnx("http: connection refused by the connection limits (http_threads_max, http_per_ip_max)");
}

int http_start(http_server **out, struct app *app, const struct route_table *const *tables, size_t ntables,
	       struct bo_error *err)
{
	const struct config *cfg = app->cfg;
	http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	s->app = app;
	s->tables = tables;
	s->ntables = ntables;
	/* MHD answers on its own (431, HTML) only past this pool; our own problem+json 431
	 * comes first for anything up to max_header_bytes * 2. */
	size_t pool = (size_t)cfg->max_header_bytes * 2 + 65536;
	s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					     MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
				     0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				     MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->http_threads_max,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->http_per_ip_max,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool, MHD_OPTION_END);
	if (!s->daemon) {
		free(s);
		return bo_error_set(err, BO_EINTERNAL, "cannot start libmicrohttpd");
	}
	/* the gate's own 431 only past what MHD's pool holds and http.c answers itself */
	struct http_gate_options go = {cfg->listen, (int)cfg->port, (int)cfg->http_threads_max,
				       (int)cfg->http_per_ip_max, (int)cfg->http_header_timeout * 1000,
				       (size_t)cfg->max_header_bytes * 2 + 32768};
	int rc = http_gate_start(&s->gate, &go, gate_handoff, s, err);
	if (rc) {
		MHD_stop_daemon(s->daemon);
		free(s);
		return rc;
	}
	s->port = http_gate_port(s->gate);
	*out = s;
	return 0;
}

uint16_t http_port(const http_server *s) { return s->port; }

void http_stop(http_server *s)
{
	if (!s)
		return;
	http_gate_stop(s->gate);
	MHD_stop_daemon(s->daemon);
	free(s);
}

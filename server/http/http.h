/* http: libmicrohttpd glue. Routes are data (const tables exported by routes_*.c);
 * each request gets a context with an arena and a bo_error, created on the first
 * callback and freed in the completion callback only. Bodies stream with limits:
 * JSON into a bounded buffer, uploads (zip or multipart) into a temp file with SHA-256.
 * Every response carries X-Request-Id; every failure is rendered once as problem+json. */
#ifndef BO_HTTP_H
#define BO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "domain/auth.h"

struct bo_error;
struct cJSON;
struct app;
typedef struct arena arena;
typedef struct http_req http_req;
typedef struct http_server http_server;

enum http_body {
	HTTP_BODY_NONE,   /* a body is refused with 413 */
	HTTP_BODY_JSON,   /* application/json up to max_json_body, parsed on demand */
	HTTP_BODY_UPLOAD, /* application/zip (or octet-stream) or multipart/form-data field
			     "package" streamed to a temp file up to max_upload_bytes; or
			     application/json up to max_json_body */
};

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/ids/{id}"; a last segment "{*key}" takes the rest */
	enum http_body body;
	enum auth_role auth; /* AUTH_ROLE_NONE = public */
	int (*handler)(http_req *r); /* 0 after a reply was set, or a BO_E* code with the error set */
	const char *summary;
};

struct route_table {
	const struct route *routes;
	size_t count;
};

/* What an upload body became. */
struct http_upload {
	const char *path;     /* temp file (removed when the request ends unless taken) */
	uint64_t size;
	char sha256[65];
	const char *filename; /* multipart filename, may be NULL */
	const char *form_id;  /* multipart field "id", may be NULL */
};

/* Starts the daemon on cfg->listen:cfg->port (port 0 = any free port). tables is
 * borrowed and must outlive the server. */
int http_start(http_server **out, struct app *app, const struct route_table *const *tables,
	       size_t ntables, struct bo_error *err);
uint16_t http_port(const http_server *s);
void http_stop(http_server *s);

/* Per-request accessors (borrowed for the request's lifetime). */
arena *http_arena(http_req *r);
struct bo_error *http_err(http_req *r);
struct app *http_app(http_req *r);
const char *http_request_id(const http_req *r);
const char *http_method(const http_req *r);
const char *http_path(const http_req *r);
/* Path parameter by name from the route pattern; NULL if absent. */
const char *http_param(http_req *r, const char *name);
const char *http_query(http_req *r, const char *name);
const char *http_header(http_req *r, const char *name);
/* The peer's IP address as text ("127.0.0.1", "::1"), on the request arena; "" when
 * unknown. The direct peer: a proxy in front would need X-Forwarded-For handling. */
const char *http_client_ip(http_req *r);
/* The authenticated user, or NULL for anonymous requests to public routes. */
const struct auth_user *http_user(const http_req *r);
/* Authenticates on demand on public routes that behave differently for users. 0 or
 * BO_EUNAUTHORIZED. */
int http_authenticate(http_req *r);

/* The JSON body: NULL with BO_EBADREQUEST set when missing or malformed (the detail
 * gives the position), owned by the request. */
struct cJSON *http_json(http_req *r);
/* The raw body bytes (JSON bodies), may be NULL. */
const char *http_body(const http_req *r, size_t *len_out);
/* The upload, or NULL when the body was not a streamed upload. */
const struct http_upload *http_upload(const http_req *r);
/* Transfers the upload temp file to the caller (it will not be removed at request end). */
void http_upload_take(http_req *r);

/* Replies. Each returns 0 (or BO_ENOMEM). http_reply_json takes ownership of body. */
int http_reply_json(http_req *r, int status, struct cJSON *body);
int http_reply_data(http_req *r, int status, const char *content_type, const void *data,
		    size_t len);
/* Serves an open file descriptor (taken) of size bytes. */
int http_reply_fd(http_req *r, int status, const char *content_type, int fd, uint64_t size);
int http_reply_redirect(http_req *r, int status, const char *location);
/* Adds a response header (copied) to whatever reply is sent. */
int http_add_header(http_req *r, const char *name, const char *value);

/* For tests and openapi checks: iterate the tables of a running or not running server. */
int http_route_match(const struct route_table *const *tables, size_t ntables, const char *method,
		     const char *path, const struct route **out, int *method_mismatch);

#endif

/* error: the one table of error kinds (code <-> HTTP status <-> problem type <-> title)
 * and the error object that carries one failure from where it is found to the HTTP
 * boundary or the CLI, where it is rendered once. */
#ifndef BO_ERROR_H
#define BO_ERROR_H

#include <stdarg.h>
#include <stddef.h>

struct cJSON;

/* X(NAME, http_status, problem_slug, title). BO_E<NAME> is the negative code. INTERNAL
 * stays last: an unknown code maps to it. */
#define BO_ERROR_KINDS(X)                                                              \
	X(BADREQUEST, 400, "bad-request", "Malformed request")                        \
	X(UNAUTHORIZED, 401, "unauthorized", "Authentication required")               \
	X(FORBIDDEN, 403, "forbidden", "Not allowed")                                 \
	X(NOTFOUND, 404, "not-found", "Resource not found")                           \
	X(METHOD, 405, "method-not-allowed", "Method not allowed")                    \
	X(CONFLICT, 409, "state-conflict", "Conflicts with the current state")        \
	X(IDTAKEN, 409, "id-taken", "Id is owned by another concept")                 \
	X(TOOLARGE, 413, "too-large", "Request exceeds a limit")                      \
	X(TIMEOUT, 408, "request-timeout", "Request timeout")                         \
	X(MEDIATYPE, 415, "unsupported-media-type", "Unsupported content type")       \
	X(INVALIDPACKAGE, 422, "invalid-package", "Invalid package")                  \
	X(INVALIDRDF, 422, "invalid-rdf", "Invalid resource description")             \
	X(INVALIDID, 422, "invalid-id", "Invalid resource id")                        \
	X(TESTSFAILED, 422, "tests-failed", "Tests failed")                           \
	X(TOOMANY, 429, "too-many-drafts", "Too many drafts in flight")               \
	X(RATELIMITED, 429, "rate-limited", "Too many requests")                      \
	X(HEADERS, 431, "headers-too-large", "Request headers too large")             \
	X(FETCH, 502, "fetch-failed", "Could not fetch the package URL")              \
	X(STORAGE, 503, "storage-unavailable", "Storage unavailable")                 \
	X(DATABASE, 503, "database-unavailable", "Database unavailable")              \
	X(NOMEM, 503, "out-of-memory", "Out of memory")                               \
	X(GONE, 410, "gone", "No longer there (a lease that expired or was superseded)") \
	X(INTERNAL, 500, "internal", "Internal error")

enum bo_code {
	BO_OK = 0,
#define BO_X_ENUM(name, status, slug, title) BO_E##name,
	BO__FIRST = -100,
	BO_ERROR_KINDS(BO_X_ENUM)
#undef BO_X_ENUM
	BO__LAST
};

#define BO_ERROR_DETAIL_MAX 1024

/* Carried by a request (or a CLI command, or a job run). The first error set wins:
 * callers pass it up unchanged and never overwrite a lower, more precise one. */
struct bo_error {
	int code;                        /* 0 or a BO_E* code */
	char detail[BO_ERROR_DETAIL_MAX]; /* one line, what went wrong and what to do */
	struct cJSON *errors;            /* optional array of {loc,msg,type,line,column}; owned */
	struct cJSON *extra;             /* optional object merged into the problem body; owned */
	int retry_after;                 /* seconds for 503/429, 0 = none */
};

#define BO_ERROR_INIT {0, {0}, NULL, NULL, 0}

/* Sets code and a printf-formatted detail unless an error is already set.
 * Returns the code now held by err (so `return bo_error_set(...)` works). */
int bo_error_set(struct bo_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int bo_error_setv(struct bo_error *err, int code, const char *fmt, va_list ap);

/* Appends {loc, msg, type, line, column} to err->errors. loc is a JSON array (taken,
 * may be NULL), line/column 0 = unknown. Returns 0 or BO_ENOMEM. */
int bo_error_add(struct bo_error *err, struct cJSON *loc, const char *msg, const char *type,
		 int line, int column);

/* Passes src's error on to dst whole: code (code when src has none), detail, errors[],
 * extra and retry_after, unless dst already holds one (the first error wins). src is
 * cleared either way. Returns dst's code. dst may be NULL (src is only cleared). */
int bo_error_move(struct bo_error *dst, struct bo_error *src, int code);

/* Clears err, freeing what it owns. */
void bo_error_cleanup(struct bo_error *err);

/* Table lookups; an unknown code maps to INTERNAL. */
int bo_error_status(int code);
const char *bo_error_slug(int code);
const char *bo_error_title(int code);
/* "BO_ENOTFOUND"-like name for logs. */
const char *bo_error_name(int code);

/* Renders the problem+json body. instance is the request path (may be NULL).
 * Returns a malloc'd string (caller frees) or NULL on allocation failure. */
char *bo_error_render(const struct bo_error *err, const char *instance, const char *request_id);

#endif

/* routes: the route tables the server serves. Each routes_<area>.c exports one const
 * table; routes_all lists them all for http_start, the openapi check and the route test. */
#ifndef BO_ROUTES_H
#define BO_ROUTES_H

#include "http/http.h"

extern const struct route_table routes_meta;
extern const struct route_table routes_ids;
extern const struct route_table routes_uploads;
extern const struct route_table routes_resources;
extern const struct route_table routes_admin;
extern const struct route_table routes_review;
extern const struct route_table routes_compat;
extern const struct route_table routes_worker;
extern const struct route_table routes_collection;
extern const struct route_table routes_signin;
extern const struct route_table routes_pages;

extern const struct route_table *const routes_all[];
extern const size_t routes_all_count;

/* public_url + printf-formatted path, on the request arena (NULL on allocation failure). */
/* PUBLIC_URL + the formatted path; a path under /files/ is made under FILES_URL (a separate
 * origin for user files when the operator sets one). */
const char *routes_url(http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when a browser shows a file of this Content-Type without running anything in it
 * (images that are not SVG, plain text, JSON, YAML); /files/ serves every other type as
 * an attachment. */
int routes_inert_type(const char *type);

/* Replies 200 with an uploader's bytes (text of len bytes, of type) made inert on our origin,
 * where the pages keep the session token: a sandbox CSP with no sources and nosniff, as
 * /files/ serves them. Returns what the reply calls return (BO_ENOMEM on a header). */
int routes_reply_uploaded(http_req *r, const char *type, const char *text, size_t len);

#endif

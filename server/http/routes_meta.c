/* routes_meta: liveness, readiness, metrics, the OpenAPI document, and the objects of
 * the local storage backend (/files/{key}). */
#include "http/routes.h"

#include "app.h"
#include "common/buf.h"
#include "common/error.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/metrics.h"
#include "infra/package.h"
#include "infra/storage.h"
#include "pipeline/archive.h"
#include "pipeline/retest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPENAPI_MAX_BYTES (1 << 20)

static int get_healthz(http_req *r)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddStringToObject(o, "status", "ok");
	return http_reply_json(r, 200, o);
}

static int get_readyz(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	int rc = db_ping(a->db, err);
	if (rc)
		return rc;
	rc = storage_ping(a->storage, err);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "status", "ready");
		cJSON_AddStringToObject(o, "database", "ok");
		cJSON_AddStringToObject(o, "storage", storage_backend_name(a->storage));
	}
	return http_reply_json(r, 200, o);
}

static int get_metrics(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	char *text = NULL;
	size_t len = 0;
	cJSON *counts = NULL;
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = jobs_counts(c, &counts, err);
	if (!rc)
		rc = archive_metrics(c, &text, &len, err);
	if (!rc)
		rc = retest_metrics(c, &text, &len, err);
	db_release(a->db, c);
	if (rc) {
		cJSON_Delete(counts);
		free(text);
		return rc;
	}
	rc = metrics_render(a->metrics, &text, &len);
	rc |= metrics_appendf(&text, &len, "# HELP bo_jobs Jobs by kind and state.\n# TYPE bo_jobs gauge\n");
	const cJSON *kind, *state;
	cJSON_ArrayForEach(kind, counts)
	{
		cJSON_ArrayForEach(state, kind)
		{
			rc |= metrics_appendf(&text, &len, "bo_jobs{kind=\"%s\",state=\"%s\"} %.0f\n", kind->string,
					      state->string, state->valuedouble);
		}
	}
	rc |= metrics_appendf(&text, &len,
			      "# HELP bo_storage_errors_total Failed storage operations.\n"
			      "# TYPE bo_storage_errors_total counter\nbo_storage_errors_total{backend=\"%s\"} %llu\n",
			      storage_backend_name(a->storage), (unsigned long long)storage_error_count(a->storage));
	cJSON_Delete(counts);
	if (rc) {
		free(text);
		return bo_error_set(err, BO_ENOMEM, "out of memory rendering metrics");
	}
	rc = http_reply_data(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

static int get_openapi(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	char path[4096];
	snprintf(path, sizeof(path), "%s/openapi.yaml", a->cfg->schema_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size > OPENAPI_MAX_BYTES) {
		if (fd >= 0)
			close(fd);
		return bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
	}
	return http_reply_fd(r, 200, "application/yaml", fd, (uint64_t)sb.st_size);
}

int routes_inert_type(const char *type)
{
	static const char *const inert[] = {"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain",
					    "text/markdown", "text/csv", "text/x-python", "application/json",
					    "application/yaml"};
	size_t n = strcspn(type, ";");
	for (size_t i = 0; i < sizeof(inert) / sizeof(inert[0]); i++)
		if (strlen(inert[i]) == n && !strncmp(type, inert[i], n))
			return 1;
	return 0;
}

/* uploaders' bytes on our origin, where the pages keep the session token: nothing in them
 * may run here. A sandboxed CSP with no sources stops scripts of any type the browser
 * renders. 0 or non-zero when a header could not be added. */
static int add_inert_headers(http_req *r)
{
	return http_add_header(r, "Content-Security-Policy", "sandbox; default-src 'none'") |
	       http_add_header(r, "X-Content-Type-Options", "nosniff");
}

int routes_reply_uploaded(http_req *r, const char *type, const char *text, size_t len)
{
	if (add_inert_headers(r))
		return bo_error_set(http_err(r), BO_ENOMEM, "out of memory");
	return http_reply_data(r, 200, type, text, len);
}

/* Local backend: stream the file. S3: redirect to a short-lived presigned URL, on the
 * bucket's origin, that makes the bucket answer with our content type and, for types
 * that are not plainly inert, as an attachment (whatever type the object was stored with). */
static int get_file(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *key = http_param(r, "key");
	const char *type = package_content_type(key);
	int fd = -1;
	uint64_t size = 0;
	if (!strcmp(storage_backend_name(a->storage), "s3")) {
		struct storage_stat st;
		int rc = storage_head(a->storage, key, &st, err);
		if (rc)
			return rc;
		char *url = NULL;
		struct storage_response resp = {type, routes_inert_type(type) ? NULL : "attachment"};
		rc = storage_presign_get(a->storage, key, 300, a->cfg->public_url, &resp, &url, err);
		if (rc)
			return rc;
		rc = http_reply_redirect(r, 302, url);
		free(url);
		return rc;
	}
	int rc = storage_open_fd(a->storage, key, &fd, &size, err);
	if (rc)
		return rc;
	/* types that are not plainly inert (SVG, XML, PDF, anything unknown) are downloads,
	 * never rendered */
	rc = add_inert_headers(r);
	if (!routes_inert_type(type))
		rc |= http_add_header(r, "Content-Disposition", "attachment");
	if (rc) {
		close(fd);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	return http_reply_fd(r, 200, type, fd, size);
}

/* GET /problems/{type}: what a problem type means, so the `type` URI of every
 * problem+json body leads somewhere: a page for a browser, {type, title, status} for an
 * API client. Only the slugs of our table match; nothing of the request is echoed. */
static int get_problem(http_req *r)
{
	const char *slug = http_param(r, "type");
	int code = 0;
	for (int c = BO__FIRST + 1; c < BO__LAST && !code; c++)
		if (!strcmp(bo_error_slug(c), slug))
			code = c;
	if (!code)
		return bo_error_set(http_err(r), BO_ENOTFOUND, "no such problem type");
	const char *accept = http_header(r, "Accept");
	if (accept && strstr(accept, "text/html")) {
		const char *title = bo_error_title(code);
		char status[64];
		struct buf b = {.max = 16 * 1024};
		buf_add(&b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
		buf_add_html(&b, title, strlen(title));
		buf_add(&b, "</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main><h1>");
		buf_add_html(&b, title, strlen(title));
		snprintf(status, sizeof(status), "</h1><p>HTTP status %d. ", bo_error_status(code));
		buf_add(&b, status);
		buf_add(&b, "Answers of this type are <code>application/problem+json</code>; "
			    "their <code>detail</code> says what happened and what to change, <code>errors</code> (when "
			    "present) lists every problem with its place, and <code>request_id</code> finds the answer in "
			    "the server's log.</p><p><a href=\"/\">bioimage.io backoffice</a></p></main></body></html>");
		int rc = b.failed ? bo_error_set(http_err(r), BO_ENOMEM, "out of memory")
				  : http_reply_data(r, 200, "text/html; charset=utf-8", b.p, b.len);
		buf_free(&b);
		return rc;
	}
	cJSON *o = cJSON_CreateObject();
	char type[96];
	snprintf(type, sizeof(type), "/problems/%s", slug);
	if (!o || !cJSON_AddStringToObject(o, "type", type) || !cJSON_AddStringToObject(o, "title", bo_error_title(code)) ||
	    !cJSON_AddNumberToObject(o, "status", bo_error_status(code))) {
		cJSON_Delete(o);
		return bo_error_set(http_err(r), BO_ENOMEM, "out of memory");
	}
	return http_reply_json(r, 200, o);
}

static const struct route table[] = {
	{"GET", "/problems/{type}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_problem, "what a problem type means (HTML or JSON)"},
	{"GET", "/healthz", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_healthz, "liveness"},
	{"GET", "/readyz", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_readyz, "database and storage reachable"},
	{"GET", "/metrics", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_metrics, "Prometheus metrics"},
	{"GET", "/api/v1/openapi.yaml", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_openapi, "this API's OpenAPI document"},
	{"GET", "/files/{*key}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_file, "a storage object"},
};

const struct route_table routes_meta = {table, sizeof(table) / sizeof(table[0])};

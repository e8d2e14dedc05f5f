/* routes_resources: reading concepts and their drafts — public, as the website and the
 * status page read them. The documents are resource_view's (DESIGN §10). */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "common/hex.h"
#include "domain/drafts.h"
#include "domain/maintainers.h"
#include "infra/db.h"
#include "infra/config.h"
#include "pipeline/resource_view.h"
#include "pipeline/version_zip.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000

/* One read on a pooled connection, then the 200 with its document. */
static int reply_view(http_req *r, int (*view)(const struct app *, sqlite3 *, const char *, cJSON **, struct bo_error *))
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	sqlite3 *c = NULL;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = view(a, c, http_param(r, "id"), &o, err);
	db_release(a->db, c);
	return rc ? rc : http_reply_json(r, 200, o);
}

static int get_draft(http_req *r) { return reply_view(r, resource_view_draft); }

static int get_events(http_req *r) { return reply_view(r, resource_view_events); }

static int get_resource(http_req *r) { return reply_view(r, resource_view_resource); }

static int parse_limit(http_req *r, const char *name, int def, int max, int *out)
{
	const char *s = http_query(r, name);
	if (!s) {
		*out = def;
		return 0;
	}
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > max)
		return bo_error_set(http_err(r), BO_EBADREQUEST, "%s must be an integer between 0 and %d", name, max);
	*out = (int)v;
	return 0;
}

static int get_resources(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	struct drafts_filter f = {.type = http_query(r, "type"), .state = http_query(r, "state"), .q = http_query(r, "q")};
	enum draft_state state;
	sqlite3 *c = NULL;
	cJSON *o = NULL;
	int rc = parse_limit(r, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, &f.limit);
	if (!rc)
		rc = parse_limit(r, "offset", 0, 1 << 30, &f.offset);
	if (rc)
		return rc;
	if (f.state && drafts_state_parse(f.state, &state))
		return bo_error_set(err, BO_EBADREQUEST, "state '%.40s' is not a draft state", f.state);
	rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = resource_view_list(a, c, &f, &o, err);
	db_release(a->db, c);
	return rc ? rc : http_reply_json(r, 200, o);
}

/* The documentation of a version or of the draft as text, from our origin, for the pages'
 * Markdown renderer (whatever the storage: an S3 redirect is another origin, which the
 * pages' connect-src refuses). The uploader's bytes: inert here, as /files/ serves them. */
static int get_documentation(http_req *r, const char *version)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	sqlite3 *c = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = resource_view_documentation(a, c, http_param(r, "id"), version, &text, &len, err);
	db_release(a->db, c);
	if (!rc)
		rc = routes_reply_uploaded(r, "text/markdown; charset=utf-8", text, len);
	free(text);
	return rc;
}

static int get_version_documentation(http_req *r) { return get_documentation(r, http_param(r, "version")); }
static int get_draft_documentation(http_req *r) { return get_documentation(r, NULL); }

static int get_version(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	sqlite3 *c = NULL;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = resource_view_version(a, c, http_param(r, "id"), http_param(r, "version"), &o, err);
	db_release(a->db, c);
	return rc ? rc : http_reply_json(r, 200, o);
}

/* The signed-in user's drafts and the published resources they maintain (My uploads). */
static int get_my_resources(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	int limit = 0, offset = 0;
	sqlite3 *c = NULL;
	int rc = parse_limit(r, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, &limit);
	if (!rc)
		rc = parse_limit(r, "offset", 0, 1 << 30, &offset);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "limit", limit) || !cJSON_AddNumberToObject(o, "offset", offset)) {
		cJSON_Delete(o);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	rc = db_acquire(a->db, &c, err);
	if (!rc) {
		rc = maintainers_list_mine(c, http_user(r), limit, offset, o, err);
		db_release(a->db, c);
	}
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	return http_reply_json(r, 200, o);
}

/* The package's ETag: the SHA-256 of every file's path and SHA-256, in path order (the
 * zip is made of exactly these bytes, dated alike, so the same files are the same zip). */
static int package_etag(const cJSON *files, char *out, size_t n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];
	unsigned int dl = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	const cJSON *f;
	cJSON_ArrayForEach(f, files)
	{
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
		const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "sha256"));
		ok = ok && path && sha && EVP_DigestUpdate(md, path, strlen(path) + 1) == 1 &&
		     EVP_DigestUpdate(md, sha, strlen(sha) + 1) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(md, d, &dl) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	char hex[65];
	hex_encode(hex, d, 32);
	snprintf(out, n, "\"pkg-%.32s\"", hex);
	return 0;
}

/* <id>-<version>.zip with anything but [A-Za-z0-9._-] as '_', for Content-Disposition */
static void package_filename(const char *id, const char *version, char *out, size_t n)
{
	snprintf(out, n, "%s-%s.zip", id, version);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == '_'))
			*p = '_';
}

/* GET …/versions/{version}/package.zip: the version's files as one zip, the same bytes as
 * the package.zip on Zenodo (version_zip). Built in a temp file that is unlinked as soon
 * as it is open, so nothing is left behind whatever happens to the connection; bounded by
 * max_zip_total_bytes, as an upload is. */
static int get_package_zip(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *id = http_param(r, "id"), *version = http_param(r, "version");
	sqlite3 *c = NULL;
	cJSON *o = NULL, *paths = NULL;
	char zip_path[4096] = "", etag[80], name[300], disp[400];
	int fd = -1;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = resource_view_version(a, c, id, version, &o, err);
	db_release(a->db, c);
	if (rc)
		goto fail;
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files"), *f;
	double total = 0;
	paths = cJSON_CreateArray();
	if (!paths || package_etag(files, etag, sizeof(etag))) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON_ArrayForEach(f, files)
	{
		total += cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "size"));
		cJSON *p = cJSON_CreateString(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path")));
		if (!p || !cJSON_AddItemToArray(paths, p)) {
			cJSON_Delete(p);
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (total > (double)a->cfg->max_zip_total_bytes) {
		rc = bo_error_set(err, BO_ETOOLARGE,
				  "%s/%s has %.0f bytes of files, more than max_zip_total_bytes (%lld): fetch the files one by "
				  "one from the version's files list",
				  id, version, total, (long long)a->cfg->max_zip_total_bytes);
		goto fail;
	}
	package_filename(id, version, name, sizeof(name));
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
	rc = http_add_header(r, "ETag", etag);
	if (!rc)
		rc = http_add_header(r, "Cache-Control", "public, max-age=300");
	if (rc)
		goto fail;
	const char *inm = http_header(r, "If-None-Match");
	if (inm && strstr(inm, etag)) {
		rc = http_reply_data(r, 304, NULL, "", 0);
		goto fail;
	}
	rc = version_zip_temp(a, "download", zip_path, sizeof(zip_path), err);
	if (rc) {
		zip_path[0] = '\0';
		goto fail;
	}
	rc = version_zip_build(a, id, version, paths, zip_path, NULL, NULL, NULL, err);
	if (rc)
		goto fail;
	fd = open(zip_path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read back the package zip");
		goto fail;
	}
	rc = http_add_header(r, "Content-Disposition", disp);
	if (rc)
		goto fail;
	rc = http_reply_fd(r, 200, "application/zip", fd, (uint64_t)sb.st_size);
	fd = -1; /* taken */
fail:
	if (zip_path[0])
		unlink(zip_path);
	if (fd >= 0)
		close(fd);
	cJSON_Delete(paths);
	cJSON_Delete(o);
	return rc;
}

static const struct route table[] = {
	{"GET", "/api/v1/resources", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_resources,
	 "concepts with their draft state and latest version (?type=&state=&q=&limit=&offset=)"},
	{"GET", "/api/v1/resources/{id}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_resource, "one concept: versions, draft, DOIs"},
	{"GET", "/api/v1/resources/{id}/draft", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_draft,
	 "the draft: state, revision, rdf, files, validation and test summaries"},
	{"GET", "/api/v1/resources/{id}/draft/events", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_events, "the draft's log"},
	{"GET", "/api/v1/resources/{id}/versions/{version}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_version,
	 "a published version: rdf, files, DOI, yanked"},
	{"GET", "/api/v1/me/resources", HTTP_BODY_NONE, AUTH_ROLE_UPLOADER, get_my_resources,
	 "the caller's drafts and the published resources they maintain (?limit=&offset=)"},
	{"GET", "/api/v1/resources/{id}/versions/{version}/documentation", HTTP_BODY_NONE, AUTH_ROLE_NONE,
	 get_version_documentation, "a published version's documentation file as text (at most 1 MiB)"},
	{"GET", "/api/v1/resources/{id}/draft/documentation", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_draft_documentation,
	 "the draft's documentation file as text (at most 1 MiB)"},
	{"GET", "/api/v1/resources/{id}/versions/{version}/package.zip", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_package_zip,
	 "a published version's files as one zip (attachment, ETag)"},
};

const struct route_table routes_resources = {table, sizeof(table) / sizeof(table[0])};

/* routes_resources: reading concepts and their drafts — public, as the website and the
 * status page read them. The documents are resource_view's (DESIGN §10). */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "domain/drafts.h"
#include "domain/maintainers.h"
#include "infra/db.h"
#include "pipeline/resource_view.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

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
};

const struct route_table routes_resources = {table, sizeof(table) / sizeof(table[0])};

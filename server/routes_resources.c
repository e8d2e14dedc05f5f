/* routes_resources: reading concepts and their drafts — public, as the website and the
 * status page read them. Field names of the draft are a contract (DESIGN §10). */
#include "routes.h"

#include "app.h"
#include "arena.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "ids.h"
#include "lifecycle.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000

/* Adds a parsed JSON column (or null) to o under name. */
static void add_json_column(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	cJSON *v = sqlite3_column_type(st, col) == SQLITE_NULL ? NULL : cJSON_Parse(db_column_text(st, col));
	cJSON_AddItemToObject(o, name, v ? v : cJSON_CreateNull());
}

/* Adds a text column (or null) to o under name. */
static void add_text_column(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, db_column_text(st, col));
}

/* The files of the draft (subject "draft") or of a version, with their URLs. */
static int list_files(http_req *r, sqlite3 *c, const char *id, const char *subject, cJSON *out,
		      struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT path, size, sha256, content_type FROM files WHERE concept_id = ?1 "
			    "AND version_or_draft = ?2 ORDER BY path",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, subject);
	cJSON *files = cJSON_AddArrayToObject(out, "files");
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *f = cJSON_CreateObject();
		if (!f)
			break;
		const char *path = db_column_text(st, 0);
		cJSON_AddStringToObject(f, "path", path);
		cJSON_AddNumberToObject(f, "size", (double)sqlite3_column_int64(st, 1));
		cJSON_AddStringToObject(f, "sha256", db_column_text(st, 2));
		cJSON_AddStringToObject(f, "content_type", db_column_text(st, 3));
		const char *url = routes_url(r, "/files/%s/%s/files/%s", id, subject, path);
		cJSON_AddStringToObject(f, "url", url ? url : "");
		cJSON_AddItemToArray(files, f);
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list files", err);
	sqlite3_finalize(st);
	return rc;
}

static int draft_tests(sqlite3 *c, const char *id, int revision, cJSON *out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char rev[16];
	snprintf(rev, sizeof(rev), "%d", revision);
	int rc = db_prepare(c, &st,
			    "SELECT kind, weight_format, status, summary_json, tool, tool_version, started_at, finished_at "
			    "FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 ORDER BY id",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, rev);
	cJSON *tests = cJSON_AddArrayToObject(out, "tests");
	cJSON_AddNullToObject(out, "validation");
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!strcmp(db_column_text(st, 0), "static")) {
			cJSON_DeleteItemFromObjectCaseSensitive(out, "validation");
			add_json_column(out, "validation", st, 3);
			continue;
		}
		cJSON *t = cJSON_CreateObject();
		if (!t)
			break;
		cJSON_AddStringToObject(t, "weight_format", db_column_text(st, 1));
		cJSON_AddStringToObject(t, "status", db_column_text(st, 2));
		add_json_column(t, "summary", st, 3);
		cJSON_AddStringToObject(t, "tool", db_column_text(st, 4));
		cJSON_AddStringToObject(t, "tool_version", db_column_text(st, 5));
		cJSON_AddItemToArray(tests, t);
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list test runs", err);
	sqlite3_finalize(st);
	return rc;
}

static int get_draft(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *id = http_param(r, "id");
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT c.type, d.revision, d.state, d.state_detail, d.created_at, d.updated_at, d.rdf_json, "
			"u.id, u.name, d.package_sha256, d.package_size FROM drafts d JOIN concepts c ON c.id = d.concept_id "
			"LEFT JOIN users u ON u.id = d.uploader_id WHERE d.concept_id = ?1",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", id)
					 : db_fail(c, "read draft", err);
		goto fail;
	}
	o = cJSON_CreateObject();
	if (!o) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	int revision = sqlite3_column_int(st, 1);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "id_emoji", ids_emoji(a->ids, id));
	cJSON_AddStringToObject(o, "type", db_column_text(st, 0));
	cJSON_AddNumberToObject(o, "revision", revision);
	cJSON_AddStringToObject(o, "state", db_column_text(st, 2));
	cJSON_AddStringToObject(o, "state_detail", db_column_text(st, 3));
	cJSON *status = lifecycle_status_json(a, id, db_column_text(st, 2), db_column_text(st, 3), db_column_text(st, 5));
	cJSON_AddItemToObject(o, "status", status ? status : cJSON_CreateNull());
	cJSON *uploader = cJSON_AddObjectToObject(o, "uploader");
	if (uploader) {
		cJSON_AddNumberToObject(uploader, "id", (double)sqlite3_column_int64(st, 7));
		cJSON_AddStringToObject(uploader, "name", db_column_text(st, 8));
	}
	cJSON_AddStringToObject(o, "created", db_column_text(st, 4));
	cJSON_AddStringToObject(o, "updated", db_column_text(st, 5));
	cJSON *pkg = cJSON_AddObjectToObject(o, "package");
	if (pkg) {
		cJSON_AddStringToObject(pkg, "sha256", db_column_text(st, 9));
		cJSON_AddNumberToObject(pkg, "size", (double)sqlite3_column_int64(st, 10));
	}
	add_json_column(o, "rdf", st, 6);
	sqlite3_finalize(st);
	st = NULL;
	rc = list_files(r, c, id, "draft", o, err);
	if (!rc)
		rc = draft_tests(c, id, revision, o, err);
	if (rc)
		goto fail;
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	if (links) {
		cJSON_AddStringToObject(links, "self", routes_url(r, "/api/v1/resources/%s/draft", id));
		cJSON_AddStringToObject(links, "status_page", routes_url(r, "/status/%s", id));
		cJSON_AddStringToObject(links, "events", routes_url(r, "/api/v1/resources/%s/draft/events", id));
		cJSON_AddStringToObject(links, "chat", routes_url(r, "/api/v1/resources/%s/draft/chat", id));
		cJSON_AddStringToObject(links, "files", routes_url(r, "/files/%s/draft/files/", id));
	}
	db_release(a->db, c);
	return http_reply_json(r, 200, o);
fail:
	sqlite3_finalize(st);
	db_release(a->db, c);
	cJSON_Delete(o);
	return rc;
}

static int get_events(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *id = http_param(r, "id");
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		goto fail;
	int taken = ids_is_taken(c, id, err);
	if (taken <= 0) {
		rc = taken < 0 ? taken : bo_error_set(err, BO_ENOTFOUND, "no resource '%s'", id);
		goto fail;
	}
	rc = db_prepare(c, &st,
			"SELECT e.id, e.at, e.kind, e.message, e.details_json, e.subject, u.name FROM events e "
			"LEFT JOIN users u ON u.id = e.actor_id WHERE e.concept_id = ?1 ORDER BY e.id",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		if (!e)
			break;
		cJSON_AddNumberToObject(e, "id", (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(e, "at", db_column_text(st, 1));
		cJSON_AddStringToObject(e, "kind", db_column_text(st, 2));
		cJSON_AddStringToObject(e, "message", db_column_text(st, 3));
		add_json_column(e, "details", st, 4);
		cJSON_AddStringToObject(e, "subject", db_column_text(st, 5));
		if (sqlite3_column_type(st, 6) == SQLITE_NULL)
			cJSON_AddStringToObject(e, "actor", "system");
		else
			cJSON_AddStringToObject(e, "actor", db_column_text(st, 6));
		cJSON_AddItemToArray(arr, e);
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list events", err);
		goto fail;
	}
	sqlite3_finalize(st);
	db_release(a->db, c);
	return http_reply_json(r, 200, arr);
fail:
	sqlite3_finalize(st);
	db_release(a->db, c);
	cJSON_Delete(arr);
	return rc;
}

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
	int limit, offset;
	int rc = parse_limit(r, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, &limit);
	if (!rc)
		rc = parse_limit(r, "offset", 0, 1 << 30, &offset);
	if (rc)
		return rc;
	const char *type = http_query(r, "type"), *state = http_query(r, "state"), *q = http_query(r, "q");
	if (state && !lifecycle_state_find(state))
		return bo_error_set(err, BO_EBADREQUEST, "state '%.40s' is not a draft state", state);
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	rc = db_acquire(a->db, &c, err);
	if (rc)
		goto fail;
	rc = db_prepare(c, &st,
			"SELECT c.id, c.type, c.created_at, d.state, d.revision, json_extract(d.rdf_json, '$.name'), "
			"(SELECT v.version FROM versions v WHERE v.concept_id = c.id AND v.state = 'published' "
			" ORDER BY v.published_at DESC LIMIT 1), c.concept_doi "
			"FROM concepts c LEFT JOIN drafts d ON d.concept_id = c.id "
			"WHERE (?1 IS NULL OR c.type = ?1) AND (?2 IS NULL OR d.state = ?2) "
			"AND (?3 IS NULL OR instr(c.id, ?3) > 0 OR instr(lower(coalesce(json_extract(d.rdf_json, '$.name'), '')), lower(?3)) > 0) "
			"ORDER BY c.created_at DESC, c.id LIMIT ?4 OFFSET ?5",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, type);
	db_bind_text(st, 2, state);
	db_bind_text(st, 3, q);
	sqlite3_bind_int(st, 4, limit);
	sqlite3_bind_int(st, 5, offset);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		if (!e)
			break;
		const char *id = db_column_text(st, 0);
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "type", db_column_text(st, 1));
		cJSON_AddStringToObject(e, "created", db_column_text(st, 2));
		if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
			cJSON_AddNullToObject(e, "draft");
		} else {
			cJSON *d = cJSON_AddObjectToObject(e, "draft");
			cJSON_AddStringToObject(d, "state", db_column_text(st, 3));
			cJSON_AddNumberToObject(d, "revision", sqlite3_column_int(st, 4));
			cJSON_AddStringToObject(d, "url", routes_url(r, "/api/v1/resources/%s/draft", id));
		}
		add_text_column(e, "name", st, 5);
		add_text_column(e, "latest_version", st, 6);
		add_text_column(e, "concept_doi", st, 7);
		cJSON_AddItemToArray(arr, e);
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list resources", err);
		goto fail;
	}
	sqlite3_finalize(st);
	db_release(a->db, c);
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(arr);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	cJSON_AddItemToObject(o, "resources", arr);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddNumberToObject(o, "offset", offset);
	return http_reply_json(r, 200, o);
fail:
	sqlite3_finalize(st);
	db_release(a->db, c);
	cJSON_Delete(arr);
	return rc;
}

static int get_resource(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *id = http_param(r, "id");
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT c.type, c.created_at, c.concept_doi, d.state, d.revision, d.state_detail, d.updated_at "
			"FROM concepts c LEFT JOIN drafts d ON d.concept_id = c.id WHERE c.id = ?1",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? bo_error_set(err, BO_ENOTFOUND, "no resource '%s'", id)
					 : db_fail(c, "read resource", err);
		goto fail;
	}
	o = cJSON_CreateObject();
	if (!o) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "id_emoji", ids_emoji(a->ids, id));
	cJSON_AddStringToObject(o, "type", db_column_text(st, 0));
	cJSON_AddStringToObject(o, "created", db_column_text(st, 1));
	add_text_column(o, "concept_doi", st, 2);
	if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
		cJSON_AddNullToObject(o, "draft");
	} else {
		cJSON *d = cJSON_AddObjectToObject(o, "draft");
		cJSON_AddStringToObject(d, "state", db_column_text(st, 3));
		cJSON_AddNumberToObject(d, "revision", sqlite3_column_int(st, 4));
		cJSON *status = lifecycle_status_json(a, id, db_column_text(st, 3), db_column_text(st, 5),
						      db_column_text(st, 6));
		cJSON_AddItemToObject(d, "status", status ? status : cJSON_CreateNull());
		cJSON_AddStringToObject(d, "url", routes_url(r, "/api/v1/resources/%s/draft", id));
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = db_prepare(c, &st,
			"SELECT version, state, created_at, published_at, doi, zenodo_state, yank_reason, zenodo_deposition_id, "
			"(SELECT state FROM jobs WHERE kind = 'archive' AND subject = v.concept_id || '/' || v.version "
			" ORDER BY id DESC LIMIT 1), "
			"(SELECT last_error FROM jobs WHERE kind = 'archive' AND subject = v.concept_id || '/' || v.version "
			" ORDER BY id DESC LIMIT 1) FROM versions v WHERE concept_id = ?1 ORDER BY created_at DESC",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	cJSON *versions = cJSON_AddArrayToObject(o, "versions");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *v = cJSON_CreateObject();
		if (!v)
			break;
		cJSON_AddStringToObject(v, "version", db_column_text(st, 0));
		cJSON_AddStringToObject(v, "state", db_column_text(st, 1));
		cJSON_AddStringToObject(v, "created", db_column_text(st, 2));
		for (int col = 3; col <= 9; col++) {
			/* archive_*: the Zenodo step reached and the latest archive job, for operators */
			static const char *names[] = {"published",   "doi", "archive_state", "yank_reason", "zenodo_deposition_id",
						      "archive_job", "archive_error"};
			add_text_column(v, names[col - 3], st, col);
		}
		cJSON_AddItemToArray(versions, v);
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list versions", err);
		goto fail;
	}
	sqlite3_finalize(st);
	db_release(a->db, c);
	return http_reply_json(r, 200, o);
fail:
	sqlite3_finalize(st);
	db_release(a->db, c);
	cJSON_Delete(o);
	return rc;
}

static int get_version(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *id = http_param(r, "id"), *v = http_param(r, "version");
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT v.state, v.created_at, v.published_at, v.doi, v.yank_reason, v.rdf_json, v.rdf_sha256, "
			"v.zenodo_state, c.type, c.concept_doi FROM versions v JOIN concepts c ON c.id = v.concept_id "
			"WHERE v.concept_id = ?1 AND v.version = ?2 AND v.state != 'publishing'",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, v);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? bo_error_set(err, BO_ENOTFOUND, "'%s' has no published version '%s'", id, v)
					 : db_fail(c, "read version", err);
		goto fail;
	}
	o = cJSON_CreateObject();
	if (!o) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "version", v);
	cJSON_AddStringToObject(o, "type", db_column_text(st, 8));
	cJSON_AddStringToObject(o, "state", db_column_text(st, 0));
	cJSON_AddBoolToObject(o, "yanked", !strcmp(db_column_text(st, 0), "yanked"));
	add_text_column(o, "yank_reason", st, 4);
	cJSON_AddStringToObject(o, "created", db_column_text(st, 1));
	add_text_column(o, "published", st, 2);
	add_text_column(o, "doi", st, 3);
	add_text_column(o, "concept_doi", st, 9);
	add_text_column(o, "archive_state", st, 7);
	cJSON_AddStringToObject(o, "rdf_sha256", db_column_text(st, 6));
	add_json_column(o, "rdf", st, 5);
	sqlite3_finalize(st);
	st = NULL;
	rc = list_files(r, c, id, v, o, err);
	if (rc)
		goto fail;
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	if (links) {
		cJSON_AddStringToObject(links, "rdf", routes_url(r, "/files/%s/%s/files/rdf.yaml", id, v));
		cJSON_AddStringToObject(links, "info", routes_url(r, "/files/%s/%s/info.json", id, v));
		cJSON_AddStringToObject(links, "test_summary", routes_url(r, "/files/%s/%s/test_summary.yaml", id, v));
		cJSON_AddStringToObject(links, "events", routes_url(r, "/api/v1/resources/%s/draft/events", id));
	}
	db_release(a->db, c);
	return http_reply_json(r, 200, o);
fail:
	sqlite3_finalize(st);
	db_release(a->db, c);
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
};

const struct route_table routes_resources = {table, sizeof(table) / sizeof(table[0])};

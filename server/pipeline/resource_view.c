/* resource_view: the API's documents of concepts, drafts and versions. The draft and its
 * runs come from drafts; files, versions and events are read here. */
#include "pipeline/resource_view.h"


#include "app.h"
#include "common/error.h"
#include "domain/compat.h"
#include "domain/drafts.h"
#include "domain/ids.h"
#include "infra/config.h"
#include "infra/db.h"
#include "pipeline/lifecycle.h"
#include "infra/storage.h"
#include "pipeline/review.h"
#include "pipeline/stage.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define URL_MAX 4096

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* Adds the URL of path (printf-style) under name (config_url's rule). */
__attribute__((format(printf, 4, 5))) static void add_url(cJSON *o, const char *name, const struct config *cfg,
							  const char *fmt, ...)
{
	char path[URL_MAX], url[URL_MAX + 1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	config_url(cfg, path, url, sizeof(url));
	cJSON_AddStringToObject(o, name, url);
}

/* A parsed JSON text (or null) under name. */
static void add_json_text(cJSON *o, const char *name, const char *text)
{
	cJSON *v = text ? cJSON_Parse(text) : NULL;
	cJSON_AddItemToObject(o, name, v ? v : cJSON_CreateNull());
}

/* A text column (or null) under name. */
static void add_text_column(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, db_column_text(st, col));
}

static void add_json_column(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	add_json_text(o, name, sqlite3_column_type(st, col) == SQLITE_NULL ? NULL : db_column_text(st, col));
}

/* The files of the draft (subject "draft") or of a version, with their URLs. */
static int add_files(const struct app *a, sqlite3 *c, const char *id, const char *subject, cJSON *out,
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *files = cJSON_AddArrayToObject(out, "files");
	if (!files)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT path, size, sha256, content_type FROM files WHERE concept_id = ?1 "
			    "AND version_or_draft = ?2 ORDER BY path",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, subject);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *f = cJSON_CreateObject();
		if (!f || !cJSON_AddItemToArray(files, f)) {
			cJSON_Delete(f);
			rc = oom(err);
			break;
		}
		const char *path = db_column_text(st, 0);
		cJSON_AddStringToObject(f, "path", path);
		cJSON_AddNumberToObject(f, "size", (double)sqlite3_column_int64(st, 1));
		cJSON_AddStringToObject(f, "sha256", db_column_text(st, 2));
		cJSON_AddStringToObject(f, "content_type", db_column_text(st, 3));
		add_url(f, "url", a->cfg, "/files/%s/%s/files/%s", id, subject, path);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list files", err);
	sqlite3_finalize(st);
	return rc;
}

/* validation (the static summary or null) and tests [{weight_format, status, summary,
 * tool, tool_version}] of the revision. */
/* "compatibility": the partner tools' reports [{tool, status, reported_at, report}]. */
static int add_compat(sqlite3 *c, const char *id, const char *version, cJSON *out, struct bo_error *err)
{
	cJSON *arr = NULL;
	int rc = compat_list(c, NULL, id, version, &arr, err);
	if (!rc && !cJSON_AddItemToObject(out, "compatibility", arr)) {
		cJSON_Delete(arr);
		rc = oom(err);
	}
	return rc;
}

static int add_runs(sqlite3 *c, const char *id, int revision, cJSON *out, struct bo_error *err)
{
	struct draft_runs runs = {0};
	cJSON *tests = cJSON_AddArrayToObject(out, "tests");
	const char *validation = NULL;
	if (!tests)
		return oom(err);
	int rc = drafts_runs_list(c, id, revision, &runs, err);
	for (size_t i = 0; !rc && i < runs.n; i++) {
		const struct draft_run *run = &runs.v[i];
		if (!strcmp(run->kind, "static")) {
			validation = run->summary_json;
			continue;
		}
		cJSON *t = cJSON_CreateObject();
		if (!t || !cJSON_AddItemToArray(tests, t)) {
			cJSON_Delete(t);
			rc = oom(err);
			break;
		}
		cJSON_AddStringToObject(t, "weight_format", run->weight_format);
		cJSON_AddStringToObject(t, "status", run->status);
		add_json_text(t, "summary", run->summary_json);
		cJSON_AddStringToObject(t, "tool", run->tool);
		cJSON_AddStringToObject(t, "tool_version", run->tool_version);
	}
	if (!rc)
		add_json_text(out, "validation", validation);
	drafts_runs_free(&runs);
	return rc;
}

/* A document that starts {id, id_emoji, type}; NULL when out of memory. */
static cJSON *doc_begin(const struct app *a, const char *id, const char *type)
{
	cJSON *o = cJSON_CreateObject();
	if (o && (!cJSON_AddStringToObject(o, "id", id) || !cJSON_AddStringToObject(o, "id_emoji", ids_emoji(a->ids, id)) ||
		  !cJSON_AddStringToObject(o, "type", type))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

int resource_view_draft(const struct app *a, sqlite3 *c, const char *id, cJSON **out, struct bo_error *err)
{
	struct draft d;
	int found = 0;
	cJSON *o = NULL;
	int rc = drafts_get(c, id, DRAFTS_WITH_RDF, &d, &found, err);
	if (rc)
		return rc;
	if (!found)
		return bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", id);
	o = doc_begin(a, id, d.type);
	if (!o) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddNumberToObject(o, "revision", d.revision);
	cJSON_AddStringToObject(o, "state", drafts_state_name(d.state));
	cJSON_AddStringToObject(o, "state_detail", d.state_detail);
	cJSON *status = lifecycle_status_json(a, id, d.state, d.state_detail, d.updated_at);
	cJSON_AddItemToObject(o, "status", status ? status : cJSON_CreateNull());
	cJSON *uploader = cJSON_AddObjectToObject(o, "uploader");
	if (uploader) {
		cJSON_AddNumberToObject(uploader, "id", (double)d.uploader_id);
		cJSON_AddStringToObject(uploader, "name", d.uploader_name);
	}
	cJSON_AddStringToObject(o, "created", d.created_at);
	cJSON_AddStringToObject(o, "updated", d.updated_at);
	cJSON *pkg = cJSON_AddObjectToObject(o, "package");
	if (pkg) {
		cJSON_AddStringToObject(pkg, "sha256", d.package_sha256);
		cJSON_AddNumberToObject(pkg, "size", (double)d.package_size);
	}
	add_json_text(o, "rdf", d.rdf_json);
	/* the version an accept would publish, so a reviewer confirms what will be published */
	char pv[80];
	struct bo_error pverr = BO_ERROR_INIT;
	if (!review_pick_version(c, id, cJSON_GetObjectItemCaseSensitive(o, "rdf"), pv, sizeof(pv), &pverr))
		cJSON_AddStringToObject(o, "publish_version", pv);
	else
		cJSON_AddNullToObject(o, "publish_version");
	bo_error_cleanup(&pverr);
	/* the RDF as the uploader sent it (rdf.yaml is re-serialised with the id stamped), so
	 * that the line of a validation problem can be shown in the uploader's own text */
	char okey[STORAGE_KEY_MAX + 1];
	cJSON *orig = NULL;
	if (!stage_original_key(id, d.rdf_name, okey, sizeof(okey), NULL) && (orig = cJSON_AddObjectToObject(o, "rdf_original"))) {
		cJSON_AddStringToObject(orig, "path", d.rdf_name);
		add_url(orig, "url", a->cfg, "/files/%s", okey);
		/* the same text from our own origin (the page's connect-src is 'self') */
		add_url(orig, "text_url", a->cfg, "/api/v1/resources/%s/draft/rdf-original", id);
	} else if (!orig) {
		cJSON_AddNullToObject(o, "rdf_original");
	}
	rc = add_files(a, c, id, "draft", o, err);
	if (!rc)
		rc = add_runs(c, id, d.revision, o, err);
	if (!rc)
		rc = add_compat(c, id, "draft", o, err);
	if (rc)
		goto fail;
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	if (!links) {
		rc = oom(err);
		goto fail;
	}
	add_url(links, "self", a->cfg, "/api/v1/resources/%s/draft", id);
	add_url(links, "status_page", a->cfg, "/status/%s", id);
	add_url(links, "events", a->cfg, "/api/v1/resources/%s/draft/events", id);
	add_url(links, "chat", a->cfg, "/api/v1/resources/%s/draft/chat", id);
	add_url(links, "files", a->cfg, "/files/%s/draft/files/", id);
	*out = o;
	o = NULL;
fail:
	drafts_release(&d);
	cJSON_Delete(o);
	return rc;
}

static int add_versions(sqlite3 *c, const char *id, cJSON *o, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *versions = cJSON_AddArrayToObject(o, "versions");
	if (!versions)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT version, state, created_at, published_at, doi, zenodo_state, yank_reason, "
			    "zenodo_deposition_id, "
			    "(SELECT state FROM jobs WHERE kind = 'archive' AND subject = v.concept_id || '/' || v.version "
			    " ORDER BY id DESC LIMIT 1), "
			    "(SELECT last_error FROM jobs WHERE kind = 'archive' AND subject = v.concept_id || '/' || v.version "
			    " ORDER BY id DESC LIMIT 1) FROM versions v WHERE concept_id = ?1 ORDER BY created_at DESC",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *v = cJSON_CreateObject();
		if (!v || !cJSON_AddItemToArray(versions, v)) {
			cJSON_Delete(v);
			rc = oom(err);
			break;
		}
		cJSON_AddStringToObject(v, "version", db_column_text(st, 0));
		cJSON_AddStringToObject(v, "state", db_column_text(st, 1));
		cJSON_AddStringToObject(v, "created", db_column_text(st, 2));
		/* archive_*: the Zenodo step reached and the latest archive job, for operators */
		static const char *names[] = {"published",   "doi", "archive_state", "yank_reason", "zenodo_deposition_id",
					      "archive_job", "archive_error"};
		for (int col = 3; col <= 9; col++)
			add_text_column(v, names[col - 3], st, col);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list versions", err);
	sqlite3_finalize(st);
	return rc;
}

int resource_view_resource(const struct app *a, sqlite3 *c, const char *id, cJSON **out, struct bo_error *err)
{
	struct drafts_concept k;
	int found = 0;
	cJSON *o = NULL;
	int rc = drafts_get_concept(c, id, &k, &found, err);
	if (rc)
		return rc;
	if (!found)
		return bo_error_set(err, BO_ENOTFOUND, "no resource '%s'", id);
	o = doc_begin(a, id, k.type);
	if (!o) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddStringToObject(o, "created", k.created_at);
	if (k.concept_doi[0])
		cJSON_AddStringToObject(o, "concept_doi", k.concept_doi);
	else
		cJSON_AddNullToObject(o, "concept_doi");
	if (!k.has_draft) {
		cJSON_AddNullToObject(o, "draft");
	} else {
		cJSON *d = cJSON_AddObjectToObject(o, "draft");
		if (!d) {
			rc = oom(err);
			goto fail;
		}
		cJSON_AddStringToObject(d, "state", drafts_state_name(k.state));
		cJSON_AddNumberToObject(d, "revision", k.revision);
		cJSON *status = lifecycle_status_json(a, id, k.state, k.state_detail, k.updated_at);
		cJSON_AddItemToObject(d, "status", status ? status : cJSON_CreateNull());
		add_url(d, "url", a->cfg, "/api/v1/resources/%s/draft", id);
	}
	rc = add_versions(c, id, o, err);
	if (rc)
		goto fail;
	*out = o;
	o = NULL;
fail:
	drafts_concept_release(&k);
	cJSON_Delete(o);
	return rc;
}

int resource_view_version(const struct app *a, sqlite3 *c, const char *id, const char *version, cJSON **out,
			  struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT v.state, v.created_at, v.published_at, v.doi, v.yank_reason, v.rdf_json, v.rdf_sha256, "
			    "v.zenodo_state, c.type, c.concept_doi FROM versions v JOIN concepts c ON c.id = v.concept_id "
			    "WHERE v.concept_id = ?1 AND v.version = ?2 AND v.state != 'publishing'",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? bo_error_set(err, BO_ENOTFOUND, "'%s' has no published version '%s'", id, version)
					 : db_fail(c, "read version", err);
		goto fail;
	}
	o = cJSON_CreateObject();
	if (!o) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "version", version);
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
	rc = add_files(a, c, id, version, o, err);
	if (!rc)
		rc = add_compat(c, id, version, o, err);
	if (rc)
		goto fail;
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	if (!links) {
		rc = oom(err);
		goto fail;
	}
	add_url(links, "rdf", a->cfg, "/files/%s/%s/files/rdf.yaml", id, version);
	add_url(links, "info", a->cfg, "/files/%s/%s/info.json", id, version);
	add_url(links, "test_summary", a->cfg, "/files/%s/%s/test_summary.yaml", id, version);
	add_url(links, "events", a->cfg, "/api/v1/resources/%s/draft/events", id);
	*out = o;
	o = NULL;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(o);
	return rc;
}

int resource_view_list(const struct app *a, sqlite3 *c, const struct drafts_filter *f, cJSON **out,
		       struct bo_error *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = o ? cJSON_AddArrayToObject(o, "resources") : NULL;
	if (!arr) {
		cJSON_Delete(o);
		return oom(err);
	}
	int rc = drafts_list_resources(c, f, arr, err);
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "draft");
		if (cJSON_IsObject(d))
			add_url(d, "url", a->cfg, "/api/v1/resources/%s/draft",
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id")));
	}
	cJSON_AddNumberToObject(o, "limit", f->limit);
	cJSON_AddNumberToObject(o, "offset", f->offset);
	*out = o;
	return 0;
}

int resource_view_events(const struct app *a, sqlite3 *c, const char *id, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	(void)a;
	int taken = ids_is_taken(c, id, err);
	if (taken <= 0)
		return taken < 0 ? taken : bo_error_set(err, BO_ENOTFOUND, "no resource '%s'", id);
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT e.id, e.at, e.kind, e.message, e.details_json, e.subject, u.name FROM events e "
			    "LEFT JOIN users u ON u.id = e.actor_id WHERE e.concept_id = ?1 ORDER BY e.id",
			    err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			rc = oom(err);
			goto fail;
		}
		cJSON_AddNumberToObject(e, "id", (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(e, "at", db_column_text(st, 1));
		cJSON_AddStringToObject(e, "kind", db_column_text(st, 2));
		cJSON_AddStringToObject(e, "message", db_column_text(st, 3));
		add_json_column(e, "details", st, 4);
		cJSON_AddStringToObject(e, "subject", db_column_text(st, 5));
		cJSON_AddStringToObject(e, "actor",
					sqlite3_column_type(st, 6) == SQLITE_NULL ? "system" : db_column_text(st, 6));
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list events", err);
		goto fail;
	}
	*out = arr;
	arr = NULL;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(arr);
	return rc;
}

int resource_view_documentation(const struct app *a, sqlite3 *c, const char *id, const char *version, char **text,
				size_t *len, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *rdf = NULL;
	const char *v = version ? version : "draft";
	char path[1024], key[STORAGE_KEY_MAX];
	*text = NULL;
	*len = 0;
	int rc = db_prepare(c, &st,
			    version ? "SELECT rdf_json FROM versions WHERE concept_id = ?1 AND version = ?2 "
				      "AND state IN ('published', 'yanked')"
				    : "SELECT rdf_json FROM drafts WHERE concept_id = ?1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	if (version)
		db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rdf = cJSON_Parse(db_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "read the RDF for its documentation", err);
	else if (version)
		rc = bo_error_set(err, BO_ENOTFOUND, "no published version '%s' of '%s'", v, id);
	else
		rc = bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", id);
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto out;
	const char *doc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rdf, "documentation"));
	if (!doc || !*doc) {
		rc = bo_error_set(err, BO_ENOTFOUND, "%s/%s has no documentation", id, v);
		goto out;
	}
	if (!strncmp(doc, "http://", 7) || !strncmp(doc, "https://", 8)) {
		rc = bo_error_set(err, BO_ENOTFOUND, "the documentation of %s/%s is not in the package: %.500s", id, v, doc);
		goto out;
	}
	while (!strncmp(doc, "./", 2))
		doc += 2;
	snprintf(path, sizeof(path), "%s", doc);
	/* only a file the package recorded: the key cannot be steered anywhere else */
	rc = db_prepare(c, &st, "SELECT size FROM files WHERE concept_id = ?1 AND version_or_draft = ?2 AND path = ?3", err);
	if (rc)
		goto out;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, v);
	db_bind_text(st, 3, path);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = bo_error_set(err, BO_ENOTFOUND, "the documentation '%.200s' is not among the files of %s/%s", path, id, v);
	else if (step != SQLITE_ROW)
		rc = db_fail(c, "look up the documentation file", err);
	else if (sqlite3_column_int64(st, 0) > (sqlite3_int64)RESOURCE_DOC_MAX)
		rc = bo_error_set(err, BO_ETOOLARGE, "the documentation '%.200s' is %lld bytes; pages show at most %u", path,
				  (long long)sqlite3_column_int64(st, 0), RESOURCE_DOC_MAX);
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto out;
	int n = snprintf(key, sizeof(key), "%s/%s/files/%s", id, v, path);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		rc = bo_error_set(err, BO_ENOTFOUND, "the documentation path of %s/%s is too long", id, v);
		goto out;
	}
	rc = storage_get_buffer(a->storage, key, RESOURCE_DOC_MAX, text, len, err);
out:
	cJSON_Delete(rdf);
	return rc;
}

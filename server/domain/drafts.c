/* drafts: every statement on `drafts` and `test_runs`. Test runs are keyed by
 * revision_or_version, a TEXT column (a version's runs would carry its name), so a
 * revision is bound as its decimal text. */
#include "domain/drafts.h"

#include "common/error.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[DRAFT_NUM_STATES] = {
	[DRAFT_UNPACKING] = "unpacking",
	[DRAFT_UNPACKED] = "unpacked",
	[DRAFT_TESTING] = "testing",
	[DRAFT_AWAITING_REVIEW] = "awaiting review",
	[DRAFT_CHANGES_REQUESTED] = "changes requested",
	[DRAFT_ACCEPTED] = "accepted",
	[DRAFT_PUBLISHED] = "published",
	[DRAFT_ERROR] = "error",
};

const char *drafts_state_name(enum draft_state s)
{
	return (unsigned)s < DRAFT_NUM_STATES ? state_names[s] : "?";
}

int drafts_state_parse(const char *name, enum draft_state *out)
{
	for (int i = 0; name && i < DRAFT_NUM_STATES; i++)
		if (!strcmp(state_names[i], name)) {
			*out = (enum draft_state)i;
			return 0;
		}
	return -1;
}

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	snprintf(dst, n, "%s", db_column_text(st, col));
}

/* A state read back from the table; the schema's CHECK keeps it one of ours. */
static int state_col(sqlite3 *c, sqlite3_stmt *st, int col, enum draft_state *out, struct bo_error *err)
{
	if (drafts_state_parse(db_column_text(st, col), out))
		return bo_error_set(err, BO_EDATABASE, "a draft has the unknown state '%s'", db_column_text(st, col));
	(void)c;
	return 0;
}

/* Prepares a statement on the runs of one revision: ?1 the concept, ?2 the revision (as
 * the TEXT of revision_or_version); the caller binds the rest. */
static int prepare_runs(sqlite3 *c, sqlite3_stmt **st, const char *sql, const char *concept_id, int revision,
			struct bo_error *err)
{
	char rev[16];
	snprintf(rev, sizeof(rev), "%d", revision);
	int rc = db_prepare(c, st, sql, err);
	if (rc)
		return rc;
	db_bind_text(*st, 1, concept_id);
	db_bind_text(*st, 2, rev);
	return 0;
}

/* ---------------------------------------------------------------- one draft */

int drafts_get(sqlite3 *c, const char *concept_id, unsigned flags, struct draft *d, int *found,
	       struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(d, 0, sizeof(*d));
	*found = 0;
	/* json_valid first: json_extract on a broken document would fail the statement */
	int rc = db_prepare(c, &st,
			    "SELECT d.revision, d.state, d.state_detail, c.type, "
			    "  COALESCE(CASE WHEN json_valid(d.rdf_json) THEN json_extract(d.rdf_json, '$.name') END, ''), "
			    "  COALESCE(CASE WHEN json_valid(d.rdf_json) THEN json_extract(d.rdf_json, '$.format_version') END, ''), "
			    "  COALESCE(d.uploader_id, 0), COALESCE(u.name, ''), "
			    "  CASE WHEN u.disabled = 0 THEN u.email ELSE '' END, "
			    "  d.package_sha256, d.package_size, d.package_path, d.rdf_name, d.created_at, d.updated_at, "
			    "  CASE WHEN ?2 THEN d.rdf_json END "
			    "FROM drafts d JOIN concepts c ON c.id = d.concept_id "
			    "LEFT JOIN users u ON u.id = d.uploader_id WHERE d.concept_id = ?1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	sqlite3_bind_int(st, 2, (flags & DRAFTS_WITH_RDF) != 0);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		d->revision = sqlite3_column_int(st, 0);
		rc = state_col(c, st, 1, &d->state, err);
		d->state_detail = strdup(db_column_text(st, 2));
		copy_col(d->type, sizeof(d->type), st, 3);
		copy_col(d->name, sizeof(d->name), st, 4);
		copy_col(d->format_version, sizeof(d->format_version), st, 5);
		d->uploader_id = sqlite3_column_int64(st, 6);
		copy_col(d->uploader_name, sizeof(d->uploader_name), st, 7);
		copy_col(d->uploader_email, sizeof(d->uploader_email), st, 8);
		copy_col(d->package_sha256, sizeof(d->package_sha256), st, 9);
		d->package_size = sqlite3_column_int64(st, 10);
		copy_col(d->package_path, sizeof(d->package_path), st, 11);
		copy_col(d->rdf_name, sizeof(d->rdf_name), st, 12);
		copy_col(d->created_at, sizeof(d->created_at), st, 13);
		copy_col(d->updated_at, sizeof(d->updated_at), st, 14);
		if (flags & DRAFTS_WITH_RDF)
			d->rdf_json = strdup(db_column_text(st, 15));
		if (!rc && (!d->state_detail || ((flags & DRAFTS_WITH_RDF) && !d->rdf_json)))
			rc = oom(err);
		if (!rc)
			*found = 1;
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read draft", err);
	}
	sqlite3_finalize(st);
	if (rc)
		drafts_release(d);
	return rc;
}

void drafts_release(struct draft *d)
{
	free(d->state_detail);
	free(d->rdf_json);
	d->state_detail = d->rdf_json = NULL;
}

int drafts_state(sqlite3 *c, const char *concept_id, int *revision, enum draft_state *state, int *found,
		 struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	int rc = db_prepare(c, &st, "SELECT revision, state FROM drafts WHERE concept_id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*revision = sqlite3_column_int(st, 0);
		rc = state_col(c, st, 1, state, err);
		*found = !rc;
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read draft", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int drafts_put_revision(sqlite3 *c, const struct draft_revision *r, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "INSERT INTO drafts(concept_id, revision, state, state_detail, uploader_id, package_sha256, "
			    "package_size, package_path, rdf_name, rdf_json, created_at, updated_at) "
			    "VALUES (?1, ?2, 'unpacking', '', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
			    "ON CONFLICT(concept_id) DO UPDATE SET revision = excluded.revision, state = 'unpacking', "
			    "state_detail = '', uploader_id = excluded.uploader_id, package_sha256 = excluded.package_sha256, "
			    "package_size = excluded.package_size, package_path = excluded.package_path, "
			    "rdf_name = excluded.rdf_name, rdf_json = excluded.rdf_json, updated_at = excluded.updated_at",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, r->concept_id);
	sqlite3_bind_int(st, 2, r->revision);
	sqlite3_bind_int64(st, 3, r->uploader_id);
	db_bind_text(st, 4, r->package_sha256);
	sqlite3_bind_int64(st, 5, r->package_size);
	db_bind_text(st, 6, r->package_path);
	db_bind_text(st, 7, r->rdf_name);
	db_bind_text(st, 8, r->rdf_json);
	db_bind_text(st, 9, now);
	return db_step_done(st, err);
}

int drafts_import(sqlite3 *c, const struct draft_import *d, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "INSERT INTO drafts(concept_id, revision, state, state_detail, uploader_id, package_sha256, "
			    "package_size, package_path, rdf_name, rdf_json, created_at, updated_at) "
			    "VALUES (?1, ?2, ?3, ?4, NULL, ?5, 0, '', 'rdf.yaml', ?6, ?7, ?8) "
			    "ON CONFLICT(concept_id) DO NOTHING",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, d->concept_id);
	sqlite3_bind_int(st, 2, d->revision);
	db_bind_text(st, 3, drafts_state_name(d->state));
	db_bind_text(st, 4, d->state_detail ? d->state_detail : "");
	db_bind_text(st, 5, d->package_sha256);
	db_bind_text(st, 6, d->rdf_json);
	db_bind_text(st, 7, d->created_at);
	db_bind_text(st, 8, d->updated_at);
	return db_step_done(st, err);
}

int drafts_set_state(sqlite3 *c, const char *concept_id, int revision, enum draft_state state,
		     const char *detail, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "UPDATE drafts SET state = ?1, state_detail = ?2, updated_at = ?3 "
			    "WHERE concept_id = ?4 AND revision = ?5",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, drafts_state_name(state));
	db_bind_text(st, 2, detail ? detail : "");
	db_bind_text(st, 3, now);
	db_bind_text(st, 4, concept_id);
	sqlite3_bind_int(st, 5, revision);
	return db_step_done(st, err);
}

int drafts_set_rdf(sqlite3 *c, const char *concept_id, int revision, const char *rdf_json, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "UPDATE drafts SET rdf_json = ?1 WHERE concept_id = ?2 AND revision = ?3", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, rdf_json);
	db_bind_text(st, 2, concept_id);
	sqlite3_bind_int(st, 3, revision);
	return db_step_done(st, err);
}

int drafts_delete(sqlite3 *c, const char *concept_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "DELETE FROM drafts WHERE concept_id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	return db_step_done(st, err);
}

int drafts_snapshot_version(sqlite3 *c, const char *concept_id, const char *version, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, revision) "
			    "SELECT d.concept_id, ?2, 'publishing', d.rdf_json, "
			    "COALESCE((SELECT sha256 FROM files f WHERE f.concept_id = d.concept_id "
			    "  AND f.version_or_draft = 'draft' AND f.path = 'rdf.yaml'), ''), ?3, d.revision "
			    "FROM drafts d WHERE d.concept_id = ?1 "
			    "ON CONFLICT(concept_id, version) DO NOTHING",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, now);
	return db_step_done(st, err);
}

int drafts_count_in_flight(sqlite3 *c, int64_t user_id, int *n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT count(*) FROM drafts WHERE uploader_id = ?1 "
			    "AND state NOT IN ('published', 'error')",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, user_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int(st, 0);
	else
		rc = db_fail(c, "count drafts", err);
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- listings */

static int64_t age_seconds(const char *iso)
{
	struct tm tm = {0};
	if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	int64_t t = (int64_t)timegm(&tm), now = db_now_unix();
	return now > t ? now - t : 0;
}

int drafts_list_awaiting(sqlite3 *c, cJSON *items, struct bo_error *err)
{
	return drafts_list_in_state(c, DRAFT_AWAITING_REVIEW, items, err);
}

int drafts_list_in_state(sqlite3 *c, enum draft_state state, cJSON *items, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	/* One statement: the static verdict and the dynamic runs come as sub-selects. */
	int rc = db_prepare(c, &st,
			    "SELECT d.concept_id, c.type, json_extract(d.rdf_json, '$.name'), d.revision, u.id, u.name, "
			    "d.updated_at, "
			    "(SELECT status FROM test_runs t WHERE t.concept_id = d.concept_id AND t.kind = 'static' "
			    "  AND t.revision_or_version = CAST(d.revision AS TEXT) AND t.of_version = 0), "
			    "(SELECT json_group_array(json_object('weight_format', weight_format, 'status', status)) "
			    "  FROM test_runs t WHERE t.concept_id = d.concept_id AND t.kind = 'dynamic' "
			    "  AND t.revision_or_version = CAST(d.revision AS TEXT) AND t.of_version = 0) "
			    "FROM drafts d JOIN concepts c ON c.id = d.concept_id LEFT JOIN users u ON u.id = d.uploader_id "
			    "WHERE d.state = ?1 ORDER BY d.updated_at, d.concept_id",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, drafts_state_name(state));
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *it = cJSON_CreateObject();
		if (!it || !cJSON_AddItemToArray(items, it)) {
			cJSON_Delete(it);
			rc = oom(err);
			goto out;
		}
		cJSON_AddStringToObject(it, "id", db_column_text(st, 0));
		cJSON_AddStringToObject(it, "type", db_column_text(st, 1));
		cJSON_AddStringToObject(it, "name", db_column_text(st, 2));
		cJSON_AddNumberToObject(it, "revision", sqlite3_column_int(st, 3));
		cJSON *up = cJSON_AddObjectToObject(it, "uploader");
		cJSON_AddNumberToObject(up, "id", (double)sqlite3_column_int64(st, 4));
		cJSON_AddStringToObject(up, "name", db_column_text(st, 5));
		cJSON_AddStringToObject(it, "since", db_column_text(st, 6));
		cJSON_AddNumberToObject(it, "age_seconds", (double)age_seconds(db_column_text(st, 6)));
		if (sqlite3_column_type(st, 7) == SQLITE_NULL)
			cJSON_AddNullToObject(it, "validation");
		else
			cJSON_AddStringToObject(it, "validation", db_column_text(st, 7));
		cJSON *tests = cJSON_Parse(db_column_text(st, 8));
		cJSON_AddItemToObject(it, "tests", tests ? tests : cJSON_CreateArray());
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "read the review queue", err);
out:
	sqlite3_finalize(st);
	return rc;
}

static void add_text_or_null(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, db_column_text(st, col));
}

int drafts_list_resources(sqlite3 *c, const struct drafts_filter *f, cJSON *out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(
		c, &st,
		"SELECT c.id, c.type, c.created_at, d.state, d.revision, json_extract(d.rdf_json, '$.name'), "
		"(SELECT v.version FROM versions v WHERE v.concept_id = c.id AND v.state = 'published' "
		" ORDER BY v.published_at DESC LIMIT 1), c.concept_doi "
		"FROM concepts c LEFT JOIN drafts d ON d.concept_id = c.id "
		"WHERE (?1 IS NULL OR c.type = ?1) AND (?2 IS NULL OR d.state = ?2) "
		"AND (?3 IS NULL OR instr(c.id, ?3) > 0 OR instr(lower(coalesce(json_extract(d.rdf_json, '$.name'), '')), "
		"lower(?3)) > 0) "
		"ORDER BY c.created_at DESC, c.id LIMIT ?4 OFFSET ?5",
		err);
	if (rc)
		return rc;
	db_bind_text(st, 1, f->type);
	db_bind_text(st, 2, f->state);
	db_bind_text(st, 3, f->q);
	sqlite3_bind_int(st, 4, f->limit);
	sqlite3_bind_int(st, 5, f->offset);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(out, e)) {
			cJSON_Delete(e);
			rc = oom(err);
			goto out;
		}
		cJSON_AddStringToObject(e, "id", db_column_text(st, 0));
		cJSON_AddStringToObject(e, "type", db_column_text(st, 1));
		cJSON_AddStringToObject(e, "created", db_column_text(st, 2));
		if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
			cJSON_AddNullToObject(e, "draft");
		} else {
			cJSON *d = cJSON_AddObjectToObject(e, "draft");
			cJSON_AddStringToObject(d, "state", db_column_text(st, 3));
			cJSON_AddNumberToObject(d, "revision", sqlite3_column_int(st, 4));
		}
		add_text_or_null(e, "name", st, 5);
		add_text_or_null(e, "latest_version", st, 6);
		add_text_or_null(e, "concept_doi", st, 7);
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list resources", err);
out:
	sqlite3_finalize(st);
	return rc;
}

int drafts_each(sqlite3 *c, drafts_each_fn fn, void *ctx, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT d.concept_id, c.type, d.revision, d.state, d.state_detail, d.rdf_json, d.package_sha256, "
			    "d.created_at, d.updated_at, COALESCE(d.uploader_id, c.created_by, 0), c.concept_doi, "
			    "(SELECT sha256 FROM files f WHERE f.concept_id = d.concept_id AND f.version_or_draft = 'draft' "
			    "AND f.path = 'rdf.yaml'), "
			    "(SELECT json_group_array(version) FROM (SELECT version FROM versions v WHERE v.concept_id = "
			    "d.concept_id AND v.state = 'published' ORDER BY v.created_at DESC, "
			    "v.version DESC)) "
			    "FROM drafts d JOIN concepts c ON c.id = d.concept_id ORDER BY d.concept_id",
			    err);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct drafts_row r = {
			.concept_id = db_column_text(st, 0),
			.type = db_column_text(st, 1),
			.revision = sqlite3_column_int(st, 2),
			.state_detail = db_column_text(st, 4),
			.rdf_json = db_column_text(st, 5),
			.package_sha256 = db_column_text(st, 6),
			.created_at = db_column_text(st, 7),
			.updated_at = db_column_text(st, 8),
			.created_by = sqlite3_column_int64(st, 9),
			.concept_doi = db_column_text(st, 10),
			.rdf_sha256 = db_column_text(st, 11),
			.versions_json = db_column_text(st, 12),
		};
		rc = state_col(c, st, 3, &r.state, err);
		if (!rc)
			rc = fn(ctx, &r, err);
		if (rc)
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "read drafts", err);
	sqlite3_finalize(st);
	return rc;
}

int drafts_get_concept(sqlite3 *c, const char *concept_id, struct drafts_concept *o, int *found,
		       struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(o, 0, sizeof(*o));
	*found = 0;
	int rc = db_prepare(c, &st,
			    "SELECT c.type, c.created_at, COALESCE(c.concept_doi, ''), d.state, d.revision, "
			    "d.state_detail, d.updated_at "
			    "FROM concepts c LEFT JOIN drafts d ON d.concept_id = c.id WHERE c.id = ?1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		copy_col(o->type, sizeof(o->type), st, 0);
		copy_col(o->created_at, sizeof(o->created_at), st, 1);
		copy_col(o->concept_doi, sizeof(o->concept_doi), st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			o->has_draft = 1;
			rc = state_col(c, st, 3, &o->state, err);
			o->revision = sqlite3_column_int(st, 4);
			o->state_detail = strdup(db_column_text(st, 5));
			copy_col(o->updated_at, sizeof(o->updated_at), st, 6);
			if (!rc && !o->state_detail)
				rc = oom(err);
		}
		*found = !rc;
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read resource", err);
	}
	sqlite3_finalize(st);
	if (rc)
		drafts_concept_release(o);
	return rc;
}

void drafts_concept_release(struct drafts_concept *d)
{
	free(d->state_detail);
	d->state_detail = NULL;
}

/* ---------------------------------------------------------------- test runs */

int drafts_runs_list(sqlite3 *c, const char *concept_id, int revision, struct draft_runs *out,
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	int rc = prepare_runs(c, &st,
			      "SELECT kind, COALESCE(weight_format, ''), status, summary_json, COALESCE(tool, ''), "
			      "COALESCE(tool_version, ''), COALESCE(started_at, ''), COALESCE(finished_at, '') "
			      "FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 ORDER BY id",
			      concept_id, revision, err);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct draft_run *v = realloc(out->v, ncap * sizeof(*v));
			if (!v) {
				rc = oom(err);
				goto out;
			}
			out->v = v;
			cap = ncap;
		}
		struct draft_run *r = &out->v[out->n];
		memset(r, 0, sizeof(*r));
		copy_col(r->kind, sizeof(r->kind), st, 0);
		copy_col(r->weight_format, sizeof(r->weight_format), st, 1);
		copy_col(r->status, sizeof(r->status), st, 2);
		copy_col(r->tool, sizeof(r->tool), st, 4);
		copy_col(r->tool_version, sizeof(r->tool_version), st, 5);
		copy_col(r->started_at, sizeof(r->started_at), st, 6);
		copy_col(r->finished_at, sizeof(r->finished_at), st, 7);
		out->n++;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL && !(r->summary_json = strdup(db_column_text(st, 3)))) {
			rc = oom(err);
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list test runs", err);
out:
	sqlite3_finalize(st);
	if (rc)
		drafts_runs_free(out);
	return rc;
}

void drafts_runs_free(struct draft_runs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].summary_json);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

int drafts_runs_unfinished(sqlite3 *c, const char *concept_id, int revision, int *n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_runs(c, &st,
			      "SELECT count(*) FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 "
			      "AND status IN ('queued', 'running')",
			      concept_id, revision, err);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int(st, 0);
	else
		rc = db_fail(c, "count unfinished test runs", err);
	sqlite3_finalize(st);
	return rc;
}

/* The status of the newest run of kind (and format, for dynamic runs), "" when none. */
static int run_status(sqlite3 *c, const char *concept_id, int revision, const char *kind, const char *format,
		      char *out, size_t n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	int rc = prepare_runs(c, &st,
			      "SELECT status FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 "
			      "AND kind = ?3 AND (?4 IS NULL OR weight_format = ?4) ORDER BY id DESC LIMIT 1",
			      concept_id, revision, err);
	if (rc)
		return rc;
	db_bind_text(st, 3, kind);
	db_bind_text(st, 4, format);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		copy_col(out, n, st, 0);
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "read test run", err);
	sqlite3_finalize(st);
	return rc;
}

int drafts_run_static_status(sqlite3 *c, const char *concept_id, int revision, char *out, size_t n,
			     struct bo_error *err)
{
	return run_status(c, concept_id, revision, "static", NULL, out, n, err);
}

int drafts_run_dynamic_status(sqlite3 *c, const char *concept_id, int revision, const char *format, char *out,
			      size_t n, struct bo_error *err)
{
	return run_status(c, concept_id, revision, "dynamic", format, out, n, err);
}

int drafts_run_record_static(sqlite3 *c, const char *concept_id, int revision, const struct draft_run_verdict *v,
			     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_runs(c, &st,
			      "DELETE FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 AND kind = 'static'",
			      concept_id, revision, err);
	if (rc)
		return rc;
	rc = db_step_done(st, err);
	if (rc)
		return rc;
	rc = prepare_runs(c, &st,
			  "INSERT INTO test_runs(concept_id, revision_or_version, kind, weight_format, tool, tool_version, "
			  "status, summary_json, started_at, finished_at) VALUES (?1, ?2, 'static', NULL, ?3, ?4, ?5, ?6, ?7, ?8)",
			  concept_id, revision, err);
	if (rc)
		return rc;
	db_bind_text(st, 3, v->tool);
	db_bind_text(st, 4, v->tool_version);
	db_bind_text(st, 5, v->status);
	db_bind_text(st, 6, v->summary_json);
	db_bind_text(st, 7, v->started_at);
	db_bind_text(st, 8, v->finished_at);
	return db_step_done(st, err);
}

int drafts_runs_clear_dynamic(sqlite3 *c, const char *concept_id, int revision, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_runs(c, &st,
			      "DELETE FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 AND kind = 'dynamic'",
			      concept_id, revision, err);
	if (rc)
		return rc;
	return db_step_done(st, err);
}

int drafts_run_queue_dynamic(sqlite3 *c, const char *concept_id, int revision, const char *format,
			     const char *tool, const char *tool_version, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_runs(c, &st,
			      "INSERT INTO test_runs(concept_id, revision_or_version, kind, weight_format, tool, tool_version, "
			      "status) VALUES (?1, ?2, 'dynamic', ?3, ?4, ?5, 'queued')",
			      concept_id, revision, err);
	if (rc)
		return rc;
	db_bind_text(st, 3, format);
	db_bind_text(st, 4, tool);
	db_bind_text(st, 5, tool_version);
	return db_step_done(st, err);
}

int drafts_run_start(sqlite3 *c, const char *concept_id, int revision, const char *format, const char *started_at,
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_runs(c, &st,
			      "UPDATE test_runs SET status = 'running', started_at = ?4 WHERE concept_id = ?1 "
			      "AND revision_or_version = ?2 AND of_version = 0 AND kind = 'dynamic' AND weight_format = ?3",
			      concept_id, revision, err);
	if (rc)
		return rc;
	db_bind_text(st, 3, format);
	db_bind_text(st, 4, started_at);
	return db_step_done(st, err);
}

int drafts_run_finish(sqlite3 *c, const char *concept_id, int revision, const char *format,
		      const struct draft_run_verdict *v, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_runs(c, &st,
			      "UPDATE test_runs SET status = ?4, summary_json = ?5, tool = ?6, tool_version = ?7, "
			      "started_at = coalesce(?8, started_at), finished_at = ?9 "
			      "WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 AND kind = 'dynamic' AND weight_format = ?3",
			      concept_id, revision, err);
	if (rc)
		return rc;
	db_bind_text(st, 3, format);
	db_bind_text(st, 4, v->status);
	db_bind_text(st, 5, v->summary_json);
	db_bind_text(st, 6, v->tool);
	db_bind_text(st, 7, v->tool_version);
	db_bind_text(st, 8, v->started_at);
	db_bind_text(st, 9, v->finished_at);
	return db_step_done(st, err);
}

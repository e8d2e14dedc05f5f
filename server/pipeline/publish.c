/* publish: storage first, database last (like stage). A `publishing` versions row marks
 * the intent; the copies under <id>/<version>/ are made (again, after a crash) until the
 * single commit flips the row to `published` and deletes the draft. Invariant: after that
 * commit nothing under <id>/<version>/ is written by this job again — a re-run finds the
 * version published and does nothing. */
#include "pipeline/publish.h"

#include "app.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/rdf.h"
#include "domain/drafts.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/storage.h"
#include "pipeline/lifecycle.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOUCH_EVERY 16
#define KEY_MAX 2048

struct pub {
	struct app *a;
	const char *id;
	int revision;
	char version[80];
	int64_t reviewer;
};

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* "published"/"yanked"/"publishing" or "" when there is no row. */
static int version_state(sqlite3 *c, const struct pub *p, char *state, size_t n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	state[0] = '\0';
	int rc = db_prepare(c, &st, "SELECT state FROM versions WHERE concept_id = ?1 AND version = ?2", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, p->id);
	db_bind_text(st, 2, p->version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(state, n, "%s", db_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "read version", err);
	sqlite3_finalize(st);
	return rc;
}

/* Whether this job still owns the draft: same revision, and accepted (or in error after a
 * dead publish job of this very version, which `jobs retry` resumes). *found = 0 when
 * there is no draft. */
static int still_ours(sqlite3 *c, const struct pub *p, int *ours, enum draft_state *dstate, int *found,
		      struct bo_error *err)
{
	char vstate[16];
	int rev = 0;
	*ours = 0;
	int rc = drafts_state(c, p->id, &rev, dstate, found, err);
	if (!rc)
		rc = version_state(c, p, vstate, sizeof(vstate), err);
	if (rc)
		return rc;
	*ours = *found && rev == p->revision &&
		(*dstate == DRAFT_ACCEPTED || (*dstate == DRAFT_ERROR && !strcmp(vstate, "publishing")));
	return 0;
}

/* The draft's file paths (caller frees with cJSON_Delete). */
static int list_files(sqlite3 *c, const struct pub *p, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT path FROM files WHERE concept_id = ?1 AND version_or_draft = 'draft' ORDER BY path",
			    err);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	db_bind_text(st, 1, p->id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, cJSON_CreateString(db_column_text(st, 0)));
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list draft files", err);
	sqlite3_finalize(st);
	if (rc)
		cJSON_Delete(arr);
	else
		*out = arr;
	return rc;
}

static int copy_files(const struct pub *p, const cJSON *paths, const struct job *job, struct bo_error *err)
{
	char src[KEY_MAX], dst[KEY_MAX];
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, paths) {
		snprintf(src, sizeof(src), "%s/draft/files/%s", p->id, e->valuestring);
		snprintf(dst, sizeof(dst), "%s/%s/files/%s", p->id, p->version, e->valuestring);
		int rc = storage_copy(p->a->storage, src, dst, err);
		if (rc)
			return rc;
		if (++i % TOUCH_EVERY == 0)
			jobs_touch(job);
	}
	return 0;
}

/* A summary's details as the reference's test entries: [{name, status, error,
 * traceback, warnings}], the name followed by " (<format>)" for a dynamic run; error
 * the details' messages joined, warnings {loc: message}, each null when there is none. */
static int add_entries(cJSON *list, const cJSON *summary, const char *format)
{
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details"))
	{
		char name[600];
		const char *dn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "name"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
		snprintf(name, sizeof(name), "%s%s%s%s", dn ? dn : "", format ? " (" : "", format ? format : "",
			 format ? ")" : "");
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(list, e)) {
			cJSON_Delete(e);
			return -1;
		}
		struct buf errors = {.max = 4096}; /* a summary's error text, bounded */
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(d, "errors"))
		{
			const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "msg"));
			if (msg && !errors.failed) {
				buf_add(&errors, errors.len ? "; " : "");
				buf_add(&errors, msg);
			}
		}
		cJSON *warnings = cJSON_CreateObject();
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(d, "warnings"))
		{
			const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "msg"));
			char loc[512] = "";
			size_t used = 0;
			const cJSON *l;
			cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(x, "loc"))
			{
				int w = cJSON_IsNumber(l) ? snprintf(loc + used, sizeof(loc) - used, "%s%d", used ? "." : "", l->valueint)
							  : snprintf(loc + used, sizeof(loc) - used, "%s%s", used ? "." : "",
								     cJSON_GetStringValue(l) ? cJSON_GetStringValue(l) : "");
				if (w > 0 && (size_t)w < sizeof(loc) - used)
					used += (size_t)w;
			}
			if (warnings && msg && !cJSON_GetObjectItemCaseSensitive(warnings, loc[0] ? loc : "-"))
				cJSON_AddStringToObject(warnings, loc[0] ? loc : "-", msg);
		}
		cJSON_AddStringToObject(e, "name", name);
		cJSON_AddStringToObject(e, "status", st && !strcmp(st, "passed") ? "passed" : "failed");
		if (errors.len)
			cJSON_AddStringToObject(e, "error", errors.p);
		else
			cJSON_AddNullToObject(e, "error");
		cJSON_AddNullToObject(e, "traceback");
		if (warnings && warnings->child)
			cJSON_AddItemToObject(e, "warnings", warnings);
		else {
			cJSON_Delete(warnings);
			cJSON_AddNullToObject(e, "warnings");
		}
		int bad = errors.failed && !errors.over; /* past the bound: cut, not failed */
		buf_free(&errors);
		if (bad)
			return -1;
	}
	return 0;
}

int publish_summary_entries(cJSON *list, const cJSON *summary, const char *format)
{
	return add_entries(list, summary, format);
}

/* Stores a summary as JSON under key. */
static int put_summary(const struct pub *p, const char *key, const cJSON *summary, struct bo_error *err)
{
	char *text = cJSON_Print(summary);
	int rc = text ? storage_put_buffer(p->a->storage, key, text, strlen(text), "application/json", err) : oom(err);
	free(text);
	return rc;
}

/* The version's test summaries: each run's full summary (a bioimageio.spec
 * ValidationSummary) in summaries/static.json and summaries/<weight format>.json, and
 * test_summary.yaml in the reference's shape {status, rdf_sha256, tests: {"<tool>_<version>":
 * [entries]}}. Its top level is also the static ValidationSummary (that model allows
 * more keys), so a reader of either kind can read it; status is the verdict of all runs:
 * failed when any failed. */
static int write_summaries(const struct pub *p, const struct draft_runs *runs, const char *rdf_sha256,
			   struct bo_error *err)
{
	char key[KEY_MAX], tool[160], source[KEY_MAX + 1024];
	cJSON *top = NULL, *tests = cJSON_CreateObject();
	snprintf(source, sizeof(source), "%s/%s/%s/files/rdf.yaml", p->a->cfg->files_url, p->id, p->version);
	char *text = NULL;
	int failed = 0, rc = tests ? 0 : oom(err);
	for (size_t i = 0; !rc && i < runs->n; i++) {
		const struct draft_run *r = &runs->v[i];
		int is_static = !strcmp(r->kind, "static");
		cJSON *s = r->summary_json ? cJSON_Parse(r->summary_json) : NULL;
		if (!s)
			continue; /* a run without a summary has nothing to tell */
		/* judged as the draft; published, the same bytes are the version's rdf.yaml */
		if (cJSON_HasObjectItem(s, "source_name"))
			cJSON_ReplaceItemInObjectCaseSensitive(s, "source_name", cJSON_CreateString(source));
		failed |= strcmp(r->status, "passed") && strcmp(r->status, "valid-format");
		snprintf(key, sizeof(key), "%s/%s/summaries/%s.json", p->id, p->version, is_static ? "static" : r->weight_format);
		rc = put_summary(p, key, s, err);
		snprintf(tool, sizeof(tool), "%s_%s", r->tool, r->tool_version);
		cJSON *list = cJSON_GetObjectItemCaseSensitive(tests, tool);
		if (!rc && !list && !(list = cJSON_AddArrayToObject(tests, tool)))
			rc = oom(err);
		if (!rc && add_entries(list, s, is_static ? NULL : r->weight_format))
			rc = oom(err);
		if (is_static && !top)
			top = s;
		else
			cJSON_Delete(s);
	}
	if (rc)
		goto out;
	if (!top && !(top = cJSON_CreateObject())) {
		rc = oom(err);
		goto out;
	}
	char status[16];
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(top, "status"));
	/* copied: the item goes before the new one is added */
	snprintf(status, sizeof(status), "%s", failed || !st ? "failed" : st);
	cJSON_DeleteItemFromObjectCaseSensitive(top, "status");
	cJSON_DeleteItemFromObjectCaseSensitive(top, "tests");
	cJSON_DeleteItemFromObjectCaseSensitive(top, "rdf_sha256");
	if (!cJSON_AddStringToObject(top, "status", status) ||
	    !cJSON_AddStringToObject(top, "rdf_sha256", rdf_sha256) || !cJSON_AddItemToObject(top, "tests", tests)) {
		rc = oom(err);
		goto out;
	}
	tests = NULL;
	text = rdf_emit(top, err);
	if (!text) {
		rc = err->code ? err->code : oom(err);
		goto out;
	}
	snprintf(key, sizeof(key), "%s/%s/test_summary.yaml", p->id, p->version);
	rc = storage_put_buffer(p->a->storage, key, text, strlen(text), "application/yaml", err);
out:
	free(text);
	cJSON_Delete(top);
	cJSON_Delete(tests);
	return rc;
}

/* info.json and test_summary.yaml (the revision's runs: the static summary with the
 * dynamic runs under `tests`). */
static int write_meta(sqlite3 *c, const struct pub *p, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *info = cJSON_CreateObject();
	char *text = NULL, key[KEY_MAX], rdf_sha256[65] = "";
	struct draft_runs runs = {0};
	int rc = db_prepare(c, &st,
			    "SELECT v.created_at, c.concept_doi, v.doi, v.rdf_sha256 FROM versions v "
			    "JOIN concepts c ON c.id = v.concept_id "
			    "WHERE v.concept_id = ?1 AND v.version = ?2",
			    err);
	if (rc)
		goto out;
	db_bind_text(st, 1, p->id);
	db_bind_text(st, 2, p->version);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(c, "read version", err);
		goto out;
	}
	cJSON_AddStringToObject(info, "created", db_column_text(st, 0));
	for (int col = 1; col <= 2; col++) {
		const char *name = col == 1 ? "concept_doi" : "doi";
		if (sqlite3_column_type(st, col) == SQLITE_NULL)
			cJSON_AddNullToObject(info, name);
		else
			cJSON_AddStringToObject(info, name, db_column_text(st, col));
	}
	cJSON_AddNumberToObject(info, "download_count", 0);
	snprintf(rdf_sha256, sizeof(rdf_sha256), "%s", db_column_text(st, 3));
	sqlite3_finalize(st);
	st = NULL;
	text = cJSON_Print(info);
	if (!text) {
		rc = oom(err);
		goto out;
	}
	snprintf(key, sizeof(key), "%s/%s/info.json", p->id, p->version);
	rc = storage_put_buffer(p->a->storage, key, text, strlen(text), "application/json", err);
	free(text);
	text = NULL;
	if (rc)
		goto out;

	rc = drafts_runs_list(c, p->id, p->revision, &runs, err);
	if (!rc)
		rc = write_summaries(p, &runs, rdf_sha256, err);
out:
	sqlite3_finalize(st);
	cJSON_Delete(info);
	drafts_runs_free(&runs);
	free(text);
	return rc;
}

static int exec_bound(sqlite3 *c, const char *sql, const struct pub *p, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st, sql, err);
	if (rc)
		return rc;
	/* Every statement here names its parameters ?1 id, ?2 version, ?3 now, ?4 reviewer. */
	db_bind_text(st, 1, p->id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		db_bind_text(st, 2, p->version);
	if (sqlite3_bind_parameter_count(st) >= 3)
		db_bind_text(st, 3, now);
	if (sqlite3_bind_parameter_count(st) >= 4) {
		if (p->reviewer)
			sqlite3_bind_int64(st, 4, p->reviewer);
		else
			sqlite3_bind_null(st, 4);
	}
	return db_step_done(st, err);
}

static int commit_version(sqlite3 *c, const struct pub *p, int *done, struct bo_error *err)
{
	enum draft_state dstate;
	int ours = 0, found = 0;
	*done = 0;
	int rc = db_begin(c, err);
	if (rc)
		return rc;
	rc = still_ours(c, p, &ours, &dstate, &found, err);
	if (rc || !ours)
		goto fail; /* rc 0 and !ours: a stale job; nothing to do */
	if (dstate == DRAFT_ERROR)
		rc = lifecycle_transition(c, p->a->cfg, p->id, p->revision, DRAFT_ACCEPTED, "", 0, err);
	/* entering published queues the collection rebuild and the archive */
	struct lifecycle_move m = {.concept_id = p->id,
				   .revision = p->revision,
				   .to = DRAFT_PUBLISHED,
				   .detail = p->version,
				   .actor_id = p->reviewer,
				   .version = p->version};
	if (!rc)
		rc = lifecycle_move(c, p->a->cfg, &m, err);
	if (!rc)
		rc = exec_bound(c,
				"UPDATE versions SET state = 'published', published_at = ?3, published_by = ?4 "
				"WHERE concept_id = ?1 AND version = ?2",
				p, err);
	if (!rc)
		rc = exec_bound(c,
				"INSERT OR REPLACE INTO files(concept_id, version_or_draft, path, size, sha256, content_type) "
				"SELECT concept_id, ?2, path, size, sha256, content_type FROM files "
				"WHERE concept_id = ?1 AND version_or_draft = 'draft'",
				p, err);
	if (!rc)
		rc = exec_bound(c, "DELETE FROM files WHERE concept_id = ?1 AND version_or_draft = 'draft'", p, err);
	if (!rc)
		rc = drafts_delete(c, p->id, err);
	if (!rc)
		rc = db_commit(c, err);
	if (rc)
		goto fail;
	*done = 1;
	return 0;
fail:
	db_rollback(c);
	return rc;
}

static int parse_payload(const struct job *job, struct pub *p, struct bo_error *err)
{
	cJSON *o = cJSON_Parse(job->payload_json);
	const cJSON *rev = cJSON_GetObjectItemCaseSensitive(o, "revision");
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "version"));
	const cJSON *who = cJSON_GetObjectItemCaseSensitive(o, "reviewer");
	int rc = 0;
	if (!cJSON_IsNumber(rev) || !v || !v[0] || strlen(v) >= sizeof(p->version) || strchr(v, '/'))
		rc = bo_error_set(err, BO_EINTERNAL, "publish job %lld: bad payload %s", (long long)job->id,
				  job->payload_json);
	else {
		p->revision = rev->valueint;
		snprintf(p->version, sizeof(p->version), "%s", v);
		p->reviewer = cJSON_IsNumber(who) ? (int64_t)who->valuedouble : 0;
	}
	cJSON_Delete(o);
	return rc;
}

int publish_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct pub p = {.a = ctx, .id = job->subject};
	sqlite3 *c = NULL;
	cJSON *paths = NULL;
	char vstate[16];
	enum draft_state dstate = DRAFT_ERROR;
	int ours = 0, found = 0, done = 0;
	int rc = parse_payload(job, &p, err);
	if (rc) {
		/* retrying cannot fix a bad payload */
		log_error("%s", err->detail);
		bo_error_cleanup(err);
		return 0;
	}
	rc = db_acquire(p.a->db, &c, err);
	if (rc)
		return rc;
	rc = version_state(c, &p, vstate, sizeof(vstate), err);
	if (!rc && (!strcmp(vstate, "published") || !strcmp(vstate, "yanked"))) {
		log_info("publish: %s/%s is already published", p.id, p.version);
		goto out;
	}
	if (!rc)
		rc = still_ours(c, &p, &ours, &dstate, &found, err);
	if (rc)
		goto out;
	if (!ours) {
		log_info("publish: %s revision %d is no longer accepted (%s); nothing to do", p.id, p.revision,
			 found ? drafts_state_name(dstate) : "no draft");
		goto out;
	}
	if (!vstate[0]) {
		rc = db_begin(c, err);
		if (!rc)
			rc = drafts_snapshot_version(c, p.id, p.version, err);
		if (!rc)
			rc = db_commit(c, err);
		else
			db_rollback(c);
		if (rc)
			goto out;
	}
	rc = list_files(c, &p, &paths, err);
	if (!rc)
		rc = copy_files(&p, paths, job, err);
	if (!rc)
		rc = write_meta(c, &p, err);
	if (!rc)
		rc = commit_version(c, &p, &done, err);
	if (rc || !done)
		goto out;
	log_info("publish: %s/%s published (%d files)", p.id, p.version, cJSON_GetArraySize(paths));
	/* The draft's objects are no longer referenced; a failure here leaves garbage that the
	 * next upload's stage clears, never a broken version. */
	char prefix[KEY_MAX];
	struct bo_error derr = BO_ERROR_INIT;
	snprintf(prefix, sizeof(prefix), "%s/draft/", p.id);
	if (storage_delete_prefix(p.a->storage, prefix, &derr))
		log_warnx("publish: %s: the draft's objects stay: %s", p.id, derr.detail);
	bo_error_cleanup(&derr);
	jobs_notify(p.a->jobs);
out:
	cJSON_Delete(paths);
	db_release(p.a->db, c);
	return rc;
}

void publish_dead(void *ctx, const struct job *job, const char *last_error)
{
	struct app *a = ctx;
	struct bo_error err = BO_ERROR_INIT;
	struct pub p = {.a = a, .id = job->subject};
	sqlite3 *c = NULL;
	char msg[BO_ERROR_DETAIL_MAX + 256];
	if (parse_payload(job, &p, &err) || db_acquire(a->db, &c, &err))
		goto out;
	snprintf(msg, sizeof(msg),
		 "publishing version %s failed after %d attempts (%s); an operator can retry it with "
		 "'backoffice jobs retry %lld'",
		 p.version, job->attempts, last_error ? last_error : "unknown error", (long long)job->id);
	if (db_begin(c, &err) == 0) {
		if (lifecycle_transition(c, a->cfg, p.id, p.revision, DRAFT_ERROR, msg, 0, &err) || db_commit(c, &err))
			db_rollback(c);
	}
out:
	if (err.code)
		log_error("publish: %s: cannot record the failure: %s", job->subject, err.detail);
	db_release(a->db, c);
	bo_error_cleanup(&err);
}

/* publish: storage first, database last (like stage). A `publishing` versions row marks
 * the intent; the copies under <id>/<version>/ are made (again, after a crash) until the
 * single commit flips the row to `published` and deletes the draft. Invariant: after that
 * commit nothing under <id>/<version>/ is written by this job again — a re-run finds the
 * version published and does nothing. */
#include "pipeline/publish.h"

#include "app.h"
#include "common/error.h"
#include "common/log.h"
#include "common/rdf.h"
#include "domain/drafts.h"
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

/* info.json and test_summary.yaml (the revision's runs: the static summary with the
 * dynamic runs under `tests`). */
static int write_meta(sqlite3 *c, const struct pub *p, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *info = cJSON_CreateObject(), *sum = NULL;
	char *text = NULL, key[KEY_MAX];
	struct draft_runs runs = {0};
	int rc = db_prepare(c, &st,
			    "SELECT v.created_at, c.concept_doi, v.doi FROM versions v JOIN concepts c ON c.id = v.concept_id "
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
	if (rc)
		goto out;
	cJSON *tests = cJSON_CreateArray();
	for (size_t i = 0; i < runs.n; i++) {
		const struct draft_run *r = &runs.v[i];
		cJSON *s = r->summary_json ? cJSON_Parse(r->summary_json) : NULL;
		if (!strcmp(r->kind, "static") && !sum) {
			sum = s;
			continue;
		}
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "weight_format", r->weight_format);
		cJSON_AddStringToObject(t, "status", r->status);
		cJSON_AddItemToObject(t, "summary", s ? s : cJSON_CreateNull());
		cJSON_AddItemToArray(tests, t);
	}
	if (!sum)
		sum = cJSON_CreateObject();
	cJSON_AddItemToObject(sum, "tests", tests);
	text = rdf_emit(sum, err);
	if (!text) {
		rc = err->code ? err->code : oom(err);
		goto out;
	}
	snprintf(key, sizeof(key), "%s/%s/test_summary.yaml", p->id, p->version);
	rc = storage_put_buffer(p->a->storage, key, text, strlen(text), "application/yaml", err);
out:
	sqlite3_finalize(st);
	cJSON_Delete(info);
	cJSON_Delete(sum);
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

/* validate_job: validation reads, the verdict is one transaction. The files table rows
 * of the draft are loaded first (they are what the stage job put in storage), the RDF is
 * validated against them with storage reads for headers, then the static test run, the
 * event and the state change are committed together, after re-checking that the
 * revision is still current; for a valid model the same transaction queues one dynamic
 * run and one `test` job per weight format. Invariant: a draft in `awaiting review` has a
 * static test run of its revision; a re-run replaces it. */
#include "pipeline/validate_job.h"

#include "app.h"
#include "check/validate.h"
#include "common/error.h"
#include "common/log.h"
#include "common/version.h"
#include "infra/config.h"
#include "domain/drafts.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/storage.h"
#include "pipeline/lifecycle.h"
#include "pipeline/stage.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RDF_PATH "rdf.yaml"

/* ---------------------------------------------------------------- the draft's files */

struct draft_file {
	char *path;
	uint64_t size;
	char sha256[65];
};

/* What the validator's IO checks see: the draft's files rows, sorted by path. */
struct draft_files {
	struct app *a;
	const char *id;
	struct draft_file *v;
	size_t n;
};

static void draft_files_clear(struct draft_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static int draft_files_load(sqlite3 *c, struct draft_files *f, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = db_prepare(c, &st,
			    "SELECT path, size, sha256 FROM files WHERE concept_id = ?1 AND version_or_draft = 'draft' "
			    "ORDER BY path",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, f->id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (f->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct draft_file *nv = realloc(f->v, ncap * sizeof(*nv));
			if (!nv) {
				rc = bo_error_set(err, BO_ENOMEM, "out of memory");
				goto fail;
			}
			f->v = nv;
			cap = ncap;
		}
		struct draft_file *df = &f->v[f->n];
		df->path = strdup(db_column_text(st, 0));
		if (!df->path) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		f->n++;
		df->size = (uint64_t)sqlite3_column_int64(st, 1);
		snprintf(df->sha256, sizeof(df->sha256), "%s", db_column_text(st, 2));
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list draft files", err);
fail:
	sqlite3_finalize(st);
	return rc;
}

static int cmp_path(const void *key, const void *elem)
{
	return strcmp(key, ((const struct draft_file *)elem)->path);
}

static const struct draft_file *draft_files_find(const struct draft_files *f, const char *path)
{
	if (!f->n)
		return NULL;
	return bsearch(path, f->v, f->n, sizeof(*f->v), cmp_path);
}

/* Not found is an answer, not an error: err is left alone so the validator can go on. */
static int files_stat(void *ctx, const char *path, uint64_t *size, struct bo_error *err)
{
	(void)err;
	const struct draft_file *df = draft_files_find(ctx, path);
	if (!df)
		return BO_ENOTFOUND;
	*size = df->size;
	return 0;
}

static int files_sha256(void *ctx, const char *path, char hex[65], struct bo_error *err)
{
	(void)err;
	const struct draft_file *df = draft_files_find(ctx, path);
	if (!df)
		return BO_ENOTFOUND;
	memcpy(hex, df->sha256, 65);
	return 0;
}

struct head {
	unsigned char *buf;
	size_t len, got;
};

static int head_sink(void *ctx, const void *buf, size_t n)
{
	struct head *h = ctx;
	size_t take = h->len - h->got < n ? h->len - h->got : n;
	memcpy(h->buf + h->got, buf, take);
	h->got += take;
	return 0;
}

static int files_read_head(void *ctx, const char *path, void *buf, size_t len, size_t *got,
			   struct bo_error *err)
{
	struct draft_files *f = ctx;
	const struct draft_file *df = draft_files_find(f, path);
	*got = 0;
	if (!df)
		return BO_ENOTFOUND;
	if (!len || !df->size)
		return 0;
	char key[STORAGE_KEY_MAX + 1];
	int n = snprintf(key, sizeof(key), "%s/draft/files/%s", f->id, path);
	if (n < 0 || (size_t)n >= sizeof(key))
		return BO_ENOTFOUND; /* the stage job could not have stored it under this name */
	struct head h = {buf, len, 0};
	struct bo_error lerr = BO_ERROR_INIT;
	int rc = storage_get_range(f->a->storage, key, 0, len, head_sink, &h, &lerr);
	if (rc == BO_ENOTFOUND)
		/* listed in the files table but gone from storage: retrying may not help, but it
		 * is the server's fault, never the RDF's */
		rc = bo_error_set(err, BO_ESTORAGE, "%s is listed as a draft file but missing from storage; "
				  "upload the package again", key);
	else if (rc)
		rc = bo_error_move(err, &lerr, rc);
	bo_error_cleanup(&lerr);
	*got = h.got;
	return rc;
}

/* ---------------------------------------------------------------- published versions */

struct version_ctx {
	struct app *a;
	const char *id;
};

static int version_exists(void *ctx, const char *version, struct bo_error *err)
{
	struct version_ctx *vc = ctx;
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = db_acquire(vc->a->db, &c, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT 1 FROM versions WHERE concept_id = ?1 AND version = ?2 "
			"AND state IN ('published', 'yanked')",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, vc->id);
	db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = 1;
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "look up versions", err);
	sqlite3_finalize(st);
fail:
	db_release(vc->a->db, c);
	return rc;
}

/* ---------------------------------------------------------------- the job */

/* Moves the draft into `testing` (from unpacked, or from error when an operator retried
 * a dead validate job) and loads its files. *go = 0 when the job is stale. */
static int begin_testing(struct app *a, const char *id, int revision, struct draft_files *files, char *rdf_name,
			 size_t rdf_name_len, int *go, struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct draft d = {0};
	enum draft_state state = DRAFT_ERROR;
	int cur = 0, found = 0;
	*go = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (rc)
		goto fail;
	rc = drafts_get(c, id, 0, &d, &found, err);
	if (rc)
		goto fail;
	cur = d.revision;
	state = d.state;
	snprintf(rdf_name, rdf_name_len, "%s", d.rdf_name);
	if (!found || cur != revision ||
	    (state != DRAFT_UNPACKED && state != DRAFT_TESTING && state != DRAFT_ERROR)) {
		log_info("validate: %s revision %d: nothing to do (draft %s)", id, revision,
			 !found ? "gone" : cur != revision ? "has a newer revision" : drafts_state_name(state));
		goto fail;
	}
	if (state != DRAFT_TESTING) {
		rc = lifecycle_transition(c, a->cfg, id, revision, DRAFT_TESTING,
					  state == DRAFT_ERROR ? "static validation retried" : NULL, 0, err);
		if (rc)
			goto fail;
	}
	rc = draft_files_load(c, files, err);
	if (!rc)
		rc = db_commit(c, err);
	if (!rc)
		*go = 1;
fail:
	drafts_release(&d);
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

/* The RDF as the uploader sent it (stage_original_key), so every
 * location of the summary is one of their file; a draft staged before there was such a
 * copy has the stamped rdf.yaml only. *file names what was read. */
static int read_rdf(struct app *a, const char *id, const char *rdf_name, char **text, size_t *len, char *file,
		    size_t file_len, struct bo_error *err)
{
	char key[STORAGE_KEY_MAX + 1];
	const char *base = NULL;
	if (!stage_original_key(id, rdf_name, key, sizeof(key), &base)) {
		int rc = storage_get_buffer(a->storage, key, (size_t)a->cfg->max_yaml_bytes, text, len, err);
		if (rc != BO_ENOTFOUND) {
			snprintf(file, file_len, "%s", base);
			return rc;
		}
		bo_error_cleanup(err);
	}
	snprintf(key, sizeof(key), "%s/draft/files/%s", id, RDF_PATH);
	snprintf(file, file_len, "%s", RDF_PATH);
	return storage_get_buffer(a->storage, key, (size_t)a->cfg->max_yaml_bytes, text, len, err);
}

static int count_errors(const cJSON *summary)
{
	cJSON *errs = validate_summary_errors(summary);
	int n = cJSON_GetArraySize(errs);
	cJSON_Delete(errs);
	return n;
}

/* The verdict: replaces the revision's static run, logs it, and moves the draft on when
 * no run of the revision is still unfinished. Stale (superseded, or moved out of
 * testing meanwhile): nothing is written. */
static int record(struct app *a, const char *id, int revision, const cJSON *summary, const char *started,
		  struct bo_error *err)
{
	sqlite3 *c = NULL;
	enum draft_state state;
	char finished[40], msg[160];
	char *summary_json = NULL;
	int cur = 0, found = 0, ntests = 0;
	const char *status = validate_summary_status(summary);
	const char *verdict = !strcmp(status, "failed") ? "failed" : "passed";
	db_now_iso(finished, sizeof(finished));
	summary_json = cJSON_PrintUnformatted(summary);
	if (!summary_json)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		goto out;
	rc = db_begin(c, err);
	if (rc)
		goto fail;
	rc = drafts_state(c, id, &cur, &state, &found, err);
	if (rc)
		goto fail;
	if (!found || cur != revision || state != DRAFT_TESTING) {
		log_info("validate: %s revision %d: verdict dropped (draft %s)", id, revision,
			 !found ? "gone" : cur != revision ? "has a newer revision" : drafts_state_name(state));
		goto fail;
	}
	const struct draft_run_verdict v = {.tool = VALIDATE_JOB_TOOL,
					    .tool_version = BO_VERSION,
					    .status = verdict,
					    .summary_json = summary_json,
					    .started_at = started,
					    .finished_at = finished};
	rc = drafts_run_record_static(c, id, revision, &v, err);
	if (rc)
		goto fail;
	if (!strcmp(verdict, "failed"))
		snprintf(msg, sizeof(msg), "static validation failed with %d error(s)", count_errors(summary));
	else
		snprintf(msg, sizeof(msg), "static validation %s", status);
	rc = lifecycle_event(c, id, "draft", 0, "validated", msg, NULL, err);
	if (!rc)
		rc = lifecycle_static_verdict(c, a->cfg, id, revision, strcmp(verdict, "failed") != 0, &ntests, err);
	if (rc)
		goto fail;
	rc = db_commit(c, err);
	if (!rc)
		log_info("validate: %s revision %d: %s%s", id, revision, msg,
			 ntests ? "; dynamic tests queued" : "");
	if (!rc && ntests)
		jobs_notify(a->jobs);
fail:
	db_rollback(c);
	db_release(a->db, c);
out:
	free(summary_json);
	return rc;
}

int validate_job_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	const char *id = job->subject;
	struct draft_files files = {.a = a, .id = id};
	struct version_ctx vc = {a, id};
	cJSON *payload = NULL, *summary = NULL;
	char *text = NULL;
	size_t len = 0;
	char key[STORAGE_KEY_MAX + 1], started[40], rdf_name[1100] = "", file[1100] = "";
	int go = 0, rc;

	payload = cJSON_Parse(job->payload_json);
	const cJSON *jrev = cJSON_GetObjectItemCaseSensitive(payload, "revision");
	if (!cJSON_IsNumber(jrev)) {
		rc = bo_error_set(err, BO_EINTERNAL, "validate job payload has no revision");
		goto fail;
	}
	int revision = jrev->valueint;
	rc = begin_testing(a, id, revision, &files, rdf_name, sizeof(rdf_name), &go, err);
	if (rc || !go)
		goto fail;
	db_now_iso(started, sizeof(started));
	snprintf(key, sizeof(key), "%s/draft/files/%s", id, RDF_PATH);
	rc = read_rdf(a, id, rdf_name, &text, &len, file, sizeof(file), err);
	if (rc)
		goto fail;
	struct validate_files vf = {&files, files_stat, files_sha256, files_read_head};
	/* the name a summary reader can open: the public URL of the draft's rdf.yaml */
	char source[STORAGE_KEY_MAX + 2048];
	snprintf(source, sizeof(source), "%s/%s", a->cfg->files_url, key);
	struct validate_options opt = {
		.files = &vf,
		.version_exists = version_exists,
		.version_ctx = &vc,
		.source_name = source,
		.limits = &a->rdf_limits,
	};
	rc = validate_text(a->validator, text, len, &opt, &summary, err);
	if (rc)
		goto fail;
	/* the file every line and column refers to (ValidationSummary allows more keys) */
	if (!cJSON_AddStringToObject(summary, "rdf_file", file)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	jobs_touch(job);
	rc = record(a, id, revision, summary, started, err);
fail:
	draft_files_clear(&files);
	cJSON_Delete(summary);
	cJSON_Delete(payload);
	free(text);
	return rc;
}

void validate_job_dead(void *ctx, const struct job *job, const char *last_error)
{
	struct app *a = ctx;
	struct bo_error err = BO_ERROR_INIT;
	sqlite3 *c = NULL;
	cJSON *payload = cJSON_Parse(job->payload_json);
	const cJSON *jrev = cJSON_GetObjectItemCaseSensitive(payload, "revision");
	char msg[BO_ERROR_DETAIL_MAX + 256];
	int rc = 0;
	if (!cJSON_IsNumber(jrev))
		goto out;
	snprintf(msg, sizeof(msg),
		 "static validation could not finish after %d attempts (%s); an operator can retry it with "
		 "'backoffice jobs retry %lld', or upload the package again",
		 job->attempts, last_error ? last_error : "unknown error", (long long)job->id);
	rc = db_acquire(a->db, &c, &err);
	if (rc)
		goto out;
	rc = db_begin(c, &err);
	if (!rc)
		rc = lifecycle_transition(c, a->cfg, job->subject, jrev->valueint, DRAFT_ERROR, msg, 0, &err);
	if (!rc)
		rc = db_commit(c, &err);
	db_rollback(c);
	db_release(a->db, c);
	if (!rc)
		log_warnx("validate: %s revision %d: %s", job->subject, jrev->valueint, msg);
out:
	/* a superseded revision or a draft that moved on is not this job's business */
	if (rc && rc != BO_ECONFLICT && rc != BO_ENOTFOUND)
		log_error("validate: %s: cannot record the failure: %s", job->subject, err.detail);
	bo_error_cleanup(&err);
	cJSON_Delete(payload);
}

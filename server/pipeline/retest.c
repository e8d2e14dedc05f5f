/* retest: see retest.h. Selection and queueing are one transaction; the job reads the
 * version's files outside any transaction and records its verdict in one that re-checks
 * the run first (a run with a verdict is never overwritten). The version's files are only
 * read: the run writes test_runs, test_summary.yaml (outside files/) and nothing else. */
#include "pipeline/retest.h"

#include "app.h"
#include "check/summary.h"
#include "check/weights.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/rdf.h"
#include "common/version.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/metrics.h"
#include "infra/storage.h"
#include "pipeline/collection.h"
#include "pipeline/publish.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RDF_PATH "rdf.yaml"
#define KEY_MAX 2048
#define SLOT_WAIT_MS 1000
#define REQUEUE_DELAY_SECONDS 5 /* a job that found every worker slot busy */
#define SCAN_AGAIN_SECONDS 30   /* the automatic re-test, while some are left */
#define SUMMARY_MAX_BYTES (8u << 20)
#define RULES_FILE_MAX (4u << 20)
#define LOG_QUEUED_MAX 20 /* queued re-tests named one by one in the log, then a count */
#define LEASE_TOUCH_SECONDS 2

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ---------------------------------------------------------------- the judge */

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void retest_rules_version(char out[RETEST_RULES_MAX], const char *schema_dir)
{
	char dir[PATH_MAX], path[PATH_MAX], hex[65];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct buf_acc {
		char *p;
		size_t len, cap;
	} acc = {0};
	int ok = 0;
	snprintf(out, RETEST_RULES_MAX, "rules-unknown");
	if ((size_t)snprintf(dir, sizeof(dir), "%s/rules", schema_dir) >= sizeof(dir))
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(names, ncap * sizeof(*nv));
			if (!nv)
				goto out;
			names = nv;
			cap = ncap;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto out;
		n++;
	}
	qsort(names, n, sizeof(*names), names_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
			goto out;
		FILE *f = fopen(path, "rb");
		if (!f)
			goto out;
		if (fstat(fileno(f), &st) || st.st_size < 0 || (size_t)st.st_size > RULES_FILE_MAX) {
			fclose(f);
			goto out;
		}
		size_t need = acc.len + strlen(names[i]) + 1 + (size_t)st.st_size + 1;
		if (need > acc.cap) {
			char *np = realloc(acc.p, need * 2);
			if (!np) {
				fclose(f);
				goto out;
			}
			acc.p = np;
			acc.cap = need * 2;
		}
		/* the name, a NUL, the bytes, a NUL: a rename is a new rule set too */
		memcpy(acc.p + acc.len, names[i], strlen(names[i]) + 1);
		acc.len += strlen(names[i]) + 1;
		size_t got = fread(acc.p + acc.len, 1, (size_t)st.st_size, f);
		fclose(f);
		if (got != (size_t)st.st_size)
			goto out;
		acc.len += got;
		acc.p[acc.len++] = '\0';
	}
	ok = n > 0 && !hex_sha256(hex, acc.p ? acc.p : "", acc.len);
	if (ok)
		snprintf(out, RETEST_RULES_MAX, "rules-%.16s", hex);
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(acc.p);
}

static const char *nz(const char *s) { return s ? s : ""; }

int retest_judge_same(const struct retest_judge *cur, const struct retest_judge *last)
{
	if (!cur || !last)
		return 0;
	if (strcmp(nz(cur->tool), nz(last->tool)) || strcmp(nz(cur->tool_version), nz(last->tool_version)) ||
	    strcmp(nz(cur->rules_version), nz(last->rules_version)))
		return 0;
	if (*nz(cur->runtime_version) && *nz(last->runtime_version) &&
	    strcmp(cur->runtime_version, last->runtime_version))
		return 0;
	return 1;
}

/* runtime and runtime_version of a summary's env: the worker's object {runtime,
 * runtime_version, backoffice} or the spec's list [[name, version, …], …] (the entry
 * that is not "backoffice"). */
static void runtime_of(const cJSON *summary, char *rt, size_t rtn, char *rtv, size_t rtvn)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(summary, "env");
	rt[0] = rtv[0] = '\0';
	if (cJSON_IsObject(env)) {
		snprintf(rt, rtn, "%s", nz(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, "runtime"))));
		snprintf(rtv, rtvn, "%s", nz(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, "runtime_version"))));
		return;
	}
	const cJSON *row;
	cJSON_ArrayForEach(row, env)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
		const char *ver = cJSON_GetStringValue(cJSON_GetArrayItem(row, 1));
		if (name && ver && strcmp(name, "backoffice")) {
			snprintf(rt, rtn, "%s", name);
			snprintf(rtv, rtvn, "%s", ver);
			return;
		}
	}
}

/* The runtime version of the newest finished run of format made by today's tool version
 * (what the runtime is now, as far as any run has seen), into buf ("" when none). */
static int current_runtime(sqlite3 *c, const char *format, char *buf, size_t n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	buf[0] = '\0';
	int rc = db_prepare(c, &st,
			    "SELECT runtime_version FROM test_runs WHERE kind = 'dynamic' AND weight_format = ?1 "
			    "AND tool = ?2 AND tool_version = ?3 AND COALESCE(runtime_version, '') != '' "
			    "AND status IN ('passed', 'failed') ORDER BY finished_at DESC, id DESC LIMIT 1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, format);
	db_bind_text(st, 2, TEST_JOB_TOOL);
	db_bind_text(st, 3, BO_VERSION);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(buf, n, "%s", db_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "read the current runtime version", err);
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- selection */

struct fmt_runtime {
	char format[64];
	char version[64];
};

struct sel {
	sqlite3 *c;
	const char *rules;
	const struct retest_options *o;
	struct retest_result *res;
	struct fmt_runtime rt[16]; /* current runtime per format, looked up once */
	int nrt;
	char now[40];
};

static int runtime_cached(struct sel *s, const char *format, const char **out, struct bo_error *err)
{
	for (int i = 0; i < s->nrt; i++)
		if (!strcmp(s->rt[i].format, format)) {
			*out = s->rt[i].version;
			return 0;
		}
	if (s->nrt == (int)(sizeof(s->rt) / sizeof(s->rt[0]))) {
		*out = "";
		return 0;
	}
	struct fmt_runtime *r = &s->rt[s->nrt];
	snprintf(r->format, sizeof(r->format), "%s", format);
	int rc = current_runtime(s->c, format, r->version, sizeof(r->version), err);
	if (rc)
		return rc;
	s->nrt++;
	*out = r->version;
	return 0;
}

static int enqueue_job(sqlite3 *c, const char *id, const char *version, const char *format, int64_t run,
		       int64_t delay, struct bo_error *err)
{
	cJSON *p = cJSON_CreateObject();
	char *text = NULL;
	int64_t job = 0;
	if (!p || !cJSON_AddStringToObject(p, "version", version) || !cJSON_AddStringToObject(p, "weight_format", format) ||
	    !cJSON_AddNumberToObject(p, "run", (double)run) || !(text = cJSON_PrintUnformatted(p))) {
		cJSON_Delete(p);
		return oom(err);
	}
	cJSON_Delete(p);
	/* a kind of its own: a draft's new revision cancels the draft's `test` jobs, never a
	 * published version's re-test, and lease/Slurm workers take draft tests only, so with
	 * those runners re-tests still run on the server's own runners */
	int rc = jobs_enqueue(c, "retest", id, text, 0, &job, err);
	free(text);
	if (rc || !delay)
		return rc;
	return jobs_delay(c, job, delay, err);
}

/* One (version, format): up to date, pending, or queued now. */
static int consider_format(struct sel *s, const char *id, const char *version, const char *revision,
			   const char *format, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *cur_rt = "";
	char why[400] = "";
	int rc = db_prepare(s->c, &st,
			    "SELECT status, tool, tool_version, COALESCE(runtime_version, ''), COALESCE(rules_version, ''), "
			    "of_version FROM test_runs WHERE concept_id = ?1 AND kind = 'dynamic' AND weight_format = ?3 "
			    "AND ((of_version = 1 AND revision_or_version = ?2) OR (of_version = 0 AND revision_or_version = ?4)) "
			    "ORDER BY of_version DESC, id DESC LIMIT 1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, format);
	db_bind_text(st, 4, revision);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = db_fail(s->c, "read the latest run", err);
		goto out;
	}
	if (step == SQLITE_DONE) {
		if (s->o->only_recorded)
			goto out; /* nothing recorded to compare */
		snprintf(why, sizeof(why), "no recorded run");
	} else {
		const char *status = db_column_text(st, 0);
		if (!strcmp(status, "queued") || !strcmp(status, "running")) {
			s->res->pending++;
			goto out;
		}
		rc = runtime_cached(s, format, &cur_rt, err);
		if (rc)
			goto out;
		struct retest_judge cur = {TEST_JOB_TOOL, BO_VERSION, s->rules, cur_rt};
		struct retest_judge last = {db_column_text(st, 1), db_column_text(st, 2), db_column_text(st, 4),
					    db_column_text(st, 3)};
		if (retest_judge_same(&cur, &last)) {
			s->res->up_to_date++;
			goto out;
		}
		snprintf(why, sizeof(why), "judged by %s %s, rules %s, runtime %s; now %s %s, rules %s, runtime %s",
			 last.tool, last.tool_version, last.rules_version[0] ? last.rules_version : "unrecorded",
			 last.runtime_version[0] ? last.runtime_version : "unrecorded", cur.tool, cur.tool_version,
			 cur.rules_version, cur.runtime_version[0] ? cur.runtime_version : "not yet seen");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (s->o->max_jobs && s->res->queued >= s->o->max_jobs) {
		s->res->more = 1;
		goto out;
	}
	int64_t run = 0;
	if (!s->o->dry_run) {
		rc = db_prepare(s->c, &st,
				"INSERT INTO test_runs(concept_id, revision_or_version, of_version, kind, weight_format, tool, "
				"tool_version, status, queued_at) VALUES (?1, ?2, 1, 'dynamic', ?3, ?4, ?5, 'queued', ?6)",
				err);
		if (rc)
			goto out;
		db_bind_text(st, 1, id);
		db_bind_text(st, 2, version);
		db_bind_text(st, 3, format);
		db_bind_text(st, 4, TEST_JOB_TOOL);
		db_bind_text(st, 5, BO_VERSION);
		db_bind_text(st, 6, s->now);
		rc = db_step_done(st, err);
		st = NULL;
		if (rc)
			goto out;
		run = sqlite3_last_insert_rowid(s->c);
		rc = enqueue_job(s->c, id, version, format, run, 0, err);
		if (rc)
			goto out;
	}
	cJSON *it = cJSON_CreateObject();
	if (!it || !cJSON_AddItemToArray(s->res->runs, it)) {
		cJSON_Delete(it);
		rc = oom(err);
		goto out;
	}
	if (!cJSON_AddStringToObject(it, "id", id) || !cJSON_AddStringToObject(it, "version", version) ||
	    !cJSON_AddStringToObject(it, "weight_format", format) || !cJSON_AddNumberToObject(it, "run", (double)run) ||
	    !cJSON_AddStringToObject(it, "reason", why)) {
		rc = oom(err);
		goto out;
	}
	s->res->queued++;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Every weight format of one version (or only o->format). */
static int consider_version(struct sel *s, const char *id, const char *version, const char *revision,
			    const char *rdf_json, struct bo_error *err)
{
	cJSON *rdf = cJSON_Parse(rdf_json);
	const cJSON *weights = cJSON_GetObjectItemCaseSensitive(rdf, "weights");
	int rc = 0, any = 0;
	s->res->versions++;
	for (const cJSON *w = weights_next(weights, NULL); !rc && w; w = weights_next(weights, w)) {
		if (s->o->format && strcmp(s->o->format, w->string))
			continue;
		any = 1;
		rc = consider_format(s, id, version, revision, w->string, err);
	}
	if (!rc && !any && s->o->format)
		s->res->no_format++;
	cJSON_Delete(rdf);
	return rc;
}

/* The published versions a target names (all of them when target is NULL). */
static int select_versions(struct sel *s, const char *target, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char id[256] = "", version[128] = "";
	int whole = 0;
	if (target) {
		const char *slash = strchr(target, '/');
		size_t idn = slash ? (size_t)(slash - target) : strlen(target);
		if (!idn || idn >= sizeof(id) || (slash && (!slash[1] || strlen(slash + 1) >= sizeof(version) ||
							    strchr(slash + 1, '/'))))
			return bo_error_set(err, BO_EBADREQUEST, "'%s' is not ID or ID/VERSION", target);
		snprintf(id, sizeof(id), "%.*s", (int)idn, target);
		if (slash)
			snprintf(version, sizeof(version), "%s", slash + 1);
		whole = !slash;
	}
	/* ID alone: its latest published version (the newest by creation, as collection.json) */
	int rc = db_prepare(s->c, &st,
			    "SELECT concept_id, version, COALESCE(CAST(revision AS TEXT), ''), rdf_json FROM versions "
			    "WHERE state = 'published' AND (?1 IS NULL OR concept_id = ?1) AND (?2 IS NULL OR version = ?2) "
			    "ORDER BY concept_id, created_at DESC, version DESC",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, target ? id : NULL);
	db_bind_text(st, 2, version[0] ? version : NULL);
	int step = SQLITE_DONE, n = 0;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (whole && n)
			break;
		n++;
		char cid[256], ver[128], rev[24];
		snprintf(cid, sizeof(cid), "%s", db_column_text(st, 0));
		snprintf(ver, sizeof(ver), "%s", db_column_text(st, 1));
		snprintf(rev, sizeof(rev), "%s", db_column_text(st, 2));
		rc = consider_version(s, cid, ver, rev, db_column_text(st, 3), err);
	}
	if (!rc && !whole && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = db_fail(s->c, "list published versions", err);
	sqlite3_finalize(st);
	if (!rc && target && !n)
		rc = bo_error_set(err, BO_ENOTFOUND,
				  version[0] ? "'%s' is not a published version (unknown, or yanked)"
					     : "'%s' has no published version (unknown id)",
				  target);
	return rc;
}

int retest_queue(sqlite3 *c, const char *rules_version, const struct retest_options *o, struct retest_result *out,
		 struct bo_error *err)
{
	struct sel s = {.c = c, .rules = rules_version, .o = o, .res = out};
	memset(out, 0, sizeof(*out));
	db_now_iso(s.now, sizeof(s.now));
	if (!(out->runs = cJSON_CreateArray()))
		return oom(err);
	int rc = db_begin(c, err);
	if (rc)
		return rc;
	if (o->all)
		rc = select_versions(&s, NULL, err);
	for (int i = 0; !rc && i < o->ntargets; i++)
		rc = select_versions(&s, o->targets[i], err);
	if (!rc && !o->dry_run)
		rc = db_commit(c, err);
	db_rollback(c);
	return rc;
}

void retest_result_free(struct retest_result *r)
{
	if (!r)
		return;
	cJSON_Delete(r->runs);
	r->runs = NULL;
}

int retest_progress_of(sqlite3 *c, const cJSON *runs, struct retest_progress *out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *list = cJSON_CreateArray();
	char *text = NULL;
	const cJSON *r;
	memset(out, 0, sizeof(*out));
	cJSON_ArrayForEach(r, runs)
	{
		cJSON *n = cJSON_CreateNumber(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "run")));
		if (!list || !n || !cJSON_AddItemToArray(list, n)) {
			cJSON_Delete(n);
			cJSON_Delete(list);
			return oom(err);
		}
	}
	if (!list || !(text = cJSON_PrintUnformatted(list))) {
		cJSON_Delete(list);
		return oom(err);
	}
	cJSON_Delete(list);
	int rc = db_prepare(c, &st,
			    "SELECT t.status, count(*) FROM test_runs t JOIN json_each(?1) j ON t.id = j.value "
			    "GROUP BY t.status",
			    err);
	if (rc)
		goto out;
	db_bind_text(st, 1, text);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = db_column_text(st, 0);
		int n = sqlite3_column_int(st, 1);
		if (!strcmp(status, "queued"))
			out->queued += n;
		else if (!strcmp(status, "running"))
			out->running += n;
		else if (!strcmp(status, "failed") || !strcmp(status, "error"))
			out->failed += n;
		else
			out->done += n;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "count re-test runs", err);
out:
	sqlite3_finalize(st);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- the job */

struct vjob {
	struct app *a;
	const struct job *job;
	const char *id;
	char version[128];
	char format[64];
	int64_t run;
	struct test_files files; /* the version's */
	time_t touched;
};

static int vjob_parse(const struct job *job, struct vjob *v)
{
	cJSON *p = cJSON_Parse(job->payload_json);
	const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version"));
	const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "weight_format"));
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(p, "run");
	int ok = ver && *ver && strlen(ver) < sizeof(v->version) && !strchr(ver, '/') && f && *f &&
		 strlen(f) < sizeof(v->format) && cJSON_IsNumber(run);
	if (ok) {
		snprintf(v->version, sizeof(v->version), "%s", ver);
		snprintf(v->format, sizeof(v->format), "%s", f);
		v->run = (int64_t)run->valuedouble;
	}
	cJSON_Delete(p);
	return ok;
}

int retest_job_is_version(const struct job *job)
{
	cJSON *p = cJSON_Parse(job->payload_json);
	int yes = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version")) != NULL;
	cJSON_Delete(p);
	return yes;
}

/* The run's status, and the version's state, in the caller's transaction. */
static int run_state(sqlite3 *c, const struct vjob *v, char *status, size_t sn, char *vstate, size_t vn,
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	status[0] = vstate[0] = '\0';
	int rc = db_prepare(c, &st,
			    "SELECT t.status, COALESCE(v.state, '') FROM test_runs t LEFT JOIN versions v "
			    "ON v.concept_id = t.concept_id AND v.version = t.revision_or_version "
			    "WHERE t.id = ?1 AND t.concept_id = ?2 AND t.revision_or_version = ?3 AND t.of_version = 1 "
			    "AND t.weight_format = ?4",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, v->run);
	db_bind_text(st, 2, v->id);
	db_bind_text(st, 3, v->version);
	db_bind_text(st, 4, v->format);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(status, sn, "%s", db_column_text(st, 0));
		snprintf(vstate, vn, "%s", db_column_text(st, 1));
	} else if (step != SQLITE_DONE)
		rc = db_fail(c, "read the re-test run", err);
	sqlite3_finalize(st);
	return rc;
}

static int set_run(sqlite3 *c, int64_t run, const char *sql, const char *a1, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, sql, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	db_bind_text(st, 2, a1);
	return db_step_done(st, err);
}

/* Claims the run (queued → running) and lists the version's files. *go = 0 for a stale
 * job; a run of a yanked version becomes `skipped`. */
static int vjob_begin(struct vjob *v, int *go, struct bo_error *err)
{
	sqlite3 *c = NULL;
	char status[16], vstate[16], now[40];
	*go = 0;
	db_now_iso(now, sizeof(now));
	int rc = db_acquire(v->a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = run_state(c, v, status, sizeof(status), vstate, sizeof(vstate), err);
	if (rc)
		goto fail;
	if (strcmp(status, "queued") && strcmp(status, "running")) {
		log_info("retest: %s/%s %s: nothing to do (%s)", v->id, v->version, v->format,
			 status[0] ? "the run has a verdict" : "no such run");
		goto fail;
	}
	if (strcmp(vstate, "published")) {
		rc = set_run(c, v->run, "UPDATE test_runs SET status = 'skipped', finished_at = ?2 WHERE id = ?1", now, err);
		if (!rc)
			rc = db_commit(c, err);
		if (!rc)
			log_info("retest: %s/%s %s: skipped, the version is %s", v->id, v->version, v->format,
				 vstate[0] ? vstate : "gone");
		goto fail;
	}
	rc = set_run(c, v->run, "UPDATE test_runs SET status = 'running', started_at = ?2 WHERE id = ?1", now, err);
	if (!rc)
		rc = test_files_list(c, &v->files, err);
	if (!rc)
		rc = db_commit(c, err);
	if (!rc)
		*go = 1;
fail:
	db_rollback(c);
	db_release(v->a->db, c);
	return rc;
}

/* Where a version's files come from: <id>/<version>/files/<path>, read only. */
static int vjob_fill(void *ctx, const char *pkg_dir, struct bo_error *err)
{
	return test_files_fill(&((struct vjob *)ctx)->files, pkg_dir, err);
}

static void vjob_tick(void *ctx)
{
	struct vjob *v = ctx;
	time_t now = time(NULL);
	if (now - v->touched >= LEASE_TOUCH_SECONDS) {
		jobs_touch(v->job);
		v->touched = now;
	}
}

static int queue_followups(sqlite3 *c, const struct vjob *v, struct bo_error *err)
{
	char subject[KEY_MAX], reason[KEY_MAX];
	snprintf(subject, sizeof(subject), "%s/%s", v->id, v->version);
	snprintf(reason, sizeof(reason), "re-test %s/%s (%s)", v->id, v->version, v->format);
	int rc = jobs_enqueue_coalesced(c, "retest-summary", subject, NULL, NULL, err);
	if (!rc)
		rc = collection_enqueue_rebuild(c, reason, err);
	return rc;
}

/* The verdict, with the judge, in one transaction that re-checks the run. */
static int vjob_record(struct vjob *v, const char *status, const char *summary_json, const char *rt,
		       const char *rtv, struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	char rs[16], vs[16], now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_acquire(v->a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = run_state(c, v, rs, sizeof(rs), vs, sizeof(vs), err);
	if (rc || (strcmp(rs, "queued") && strcmp(rs, "running")))
		goto fail; /* a verdict is never overwritten */
	rc = db_prepare(c, &st,
			"UPDATE test_runs SET status = ?2, summary_json = ?3, tool = ?4, tool_version = ?5, runtime = ?6, "
			"runtime_version = ?7, rules_version = ?8, finished_at = ?9 WHERE id = ?1",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, v->run);
	db_bind_text(st, 2, status);
	db_bind_text(st, 3, summary_json);
	db_bind_text(st, 4, TEST_JOB_TOOL);
	db_bind_text(st, 5, BO_VERSION);
	db_bind_text(st, 6, rt && *rt ? rt : NULL);
	db_bind_text(st, 7, rtv && *rtv ? rtv : NULL);
	db_bind_text(st, 8, v->a->rules_version);
	db_bind_text(st, 9, now);
	rc = db_step_done(st, err);
	if (!rc)
		rc = queue_followups(c, v, err);
	if (!rc)
		rc = db_commit(c, err);
	if (!rc)
		log_info("retest: %s/%s (%s) %s (%s %s, %s%s%s)", v->id, v->version, v->format, status, TEST_JOB_TOOL,
			 BO_VERSION, v->a->rules_version, rtv && *rtv ? ", runtime " : "", rtv && *rtv ? rtv : "");
fail:
	db_rollback(c);
	db_release(v->a->db, c);
	return rc;
}

static int step_aside(struct vjob *v, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(v->a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = enqueue_job(c, v->id, v->version, v->format, v->run, REQUEUE_DELAY_SECONDS, err);
	if (!rc)
		rc = db_commit(c, err);
	db_rollback(c);
	db_release(v->a->db, c);
	return rc;
}

int retest_job_run(struct app *a, const struct job *job, struct bo_error *err)
{
	struct vjob v = {.a = a, .job = job, .id = job->subject, .files = {.a = a, .job = job, .id = job->subject}};
	char sandbox_dir[PATH_MAX], source[KEY_MAX + 1024], rt[64], rtv[64];
	cJSON *summary = NULL;
	char *json = NULL;
	int go = 0, slot = 0, rc = 0;
	if (!vjob_parse(job, &v)) {
		log_error("retest: job %lld: bad payload %s", (long long)job->id, job->payload_json);
		return 0; /* retrying cannot fix it */
	}
	v.files.folder = v.version;
	if (a->test_slots) {
		if (!test_slots_take(a->test_slots, SLOT_WAIT_MS))
			return step_aside(&v, err);
		slot = 1;
	}
	rc = vjob_begin(&v, &go, err);
	if (rc || !go)
		goto fail;
	rc = test_sandbox_dir(a->cfg, sandbox_dir, sizeof(sandbox_dir), err);
	if (rc)
		goto fail;
	struct test_worker_request rq = {
		.cfg = a->cfg,
		.scratch_parent = sandbox_dir,
		.rdf_file = RDF_PATH,
		.weight_format = v.format,
		.fill = vjob_fill,
		.outputs = NULL, /* produced tensors of a re-test are not kept: the summary has the numbers */
		.tick = vjob_tick,
		.ctx = &v,
	};
	rc = test_worker_run(&rq, &summary, err);
	if (rc)
		goto fail;
	runtime_of(summary, rt, sizeof(rt), rtv, sizeof(rtv));
	char status[16];
	snprintf(status, sizeof(status), "%s", nz(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(summary, "status"))));
	if (!status[0])
		snprintf(status, sizeof(status), "error");
	snprintf(source, sizeof(source), "%s/%s/%s/files/%s", a->cfg->files_url, v.id, v.version, RDF_PATH);
	struct summary_source src = {source, v.id, "model", NULL};
	if (summary_to_spec(summary, &src) || !(json = cJSON_PrintUnformatted(summary))) {
		rc = oom(err);
		goto fail;
	}
	rc = vjob_record(&v, status, json, rt, rtv, err);
	if (!rc)
		jobs_notify(a->jobs);
fail:
	if (slot)
		test_slots_give(a->test_slots);
	test_files_free(&v.files);
	free(json);
	cJSON_Delete(summary);
	return rc;
}

void retest_job_dead(struct app *a, const struct job *job, const char *last_error)
{
	struct vjob v = {.a = a, .job = job, .id = job->subject};
	struct bo_error err = BO_ERROR_INIT;
	char msg[BO_ERROR_DETAIL_MAX + 256], *json = NULL;
	if (!vjob_parse(job, &v))
		return;
	snprintf(msg, sizeof(msg), "the re-test could not finish after %d attempts (%s); retry it with "
		 "'backoffice jobs retry %lld'", job->attempts, last_error ? last_error : "unknown error", (long long)job->id);
	cJSON *s = cJSON_CreateObject();
	if (s && cJSON_AddStringToObject(s, "name", "re-test") && cJSON_AddStringToObject(s, "status", "error") &&
	    cJSON_AddStringToObject(s, "error", msg))
		json = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	if (!json || vjob_record(&v, "error", json, NULL, NULL, &err))
		log_error("retest: %s/%s: cannot record the failure of job %lld: %s", v.id, v.version, (long long)job->id,
			  err.detail[0] ? err.detail : "out of memory");
	free(json);
	bo_error_cleanup(&err);
}

/* ---------------------------------------------------------------- draft runs */

static int enqueue_scan(sqlite3 *c, int64_t delay, struct bo_error *err)
{
	int64_t job = 0;
	int rc = delay ? jobs_enqueue(c, "retest-scan", "collection", NULL, 0, &job, err)
		       : jobs_enqueue_coalesced(c, "retest-scan", "collection", NULL, &job, err);
	if (rc || !delay || !job)
		return rc;
	return jobs_delay(c, job, delay, err);
}

int retest_stamp_draft_run(sqlite3 *c, const struct app *a, const char *concept_id, int revision,
			   const char *format, const char *summary_json, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char rev[16], rt[64], rtv[64], before[64];
	cJSON *s = summary_json ? cJSON_Parse(summary_json) : NULL;
	runtime_of(s, rt, sizeof(rt), rtv, sizeof(rtv));
	cJSON_Delete(s);
	snprintf(rev, sizeof(rev), "%d", revision);
	int rc = current_runtime(c, format, before, sizeof(before), err);
	if (!rc)
		rc = db_prepare(c, &st,
				"UPDATE test_runs SET runtime = ?4, runtime_version = ?5, rules_version = ?6 "
				"WHERE concept_id = ?1 AND revision_or_version = ?2 AND of_version = 0 AND kind = 'dynamic' "
				"AND weight_format = ?3",
				err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, rev);
	db_bind_text(st, 3, format);
	db_bind_text(st, 4, rt[0] ? rt : NULL);
	db_bind_text(st, 5, rtv[0] ? rtv : NULL);
	db_bind_text(st, 6, a->rules_version);
	rc = db_step_done(st, err);
	if (!rc && a->cfg->retest_on_change && before[0] && rtv[0] && strcmp(before, rtv)) {
		log_info("retest: %s runs now report %s %s (was %s): queueing the automatic re-test", format, rt, rtv, before);
		rc = enqueue_scan(c, 0, err);
	}
	return rc;
}

/* ---------------------------------------------------------------- test_summary.yaml */

struct vrun {
	char kind[16], format[64], status[16], tool[64], tool_version[64], runtime[64], runtime_version[64],
		rules[RETEST_RULES_MAX], finished[40];
	int of_version;
	char *summary_json;
};

static void vruns_free(struct vrun *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].summary_json);
	free(v);
}

/* The version's finished runs: the publishing revision's, then its re-tests, oldest first. */
static int vruns_list(sqlite3 *c, const char *id, const char *version, struct vrun **out, size_t *nout,
		      char *sha, size_t shan, int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	struct vrun *v = NULL;
	size_t n = 0, cap = 0;
	char rev[24] = "";
	*found = 0;
	int rc = db_prepare(c, &st,
			    "SELECT rdf_sha256, COALESCE(CAST(revision AS TEXT), '') FROM versions "
			    "WHERE concept_id = ?1 AND version = ?2 AND state = 'published'",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*found = 1;
		snprintf(sha, shan, "%s", db_column_text(st, 0));
		snprintf(rev, sizeof(rev), "%s", db_column_text(st, 1));
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!*found)
		return 0;
	rc = db_prepare(c, &st,
			"SELECT kind, COALESCE(weight_format, ''), status, summary_json, tool, tool_version, "
			"COALESCE(runtime, ''), COALESCE(runtime_version, ''), COALESCE(rules_version, ''), "
			"COALESCE(finished_at, ''), of_version FROM test_runs WHERE concept_id = ?1 "
			"AND ((of_version = 0 AND revision_or_version = ?3) OR (of_version = 1 AND revision_or_version = ?2)) "
			"AND status NOT IN ('queued', 'running') ORDER BY of_version, id",
			err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, rev);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct vrun *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				rc = oom(err);
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct vrun *r = &v[n];
		memset(r, 0, sizeof(*r));
		n++;
		snprintf(r->kind, sizeof(r->kind), "%s", db_column_text(st, 0));
		snprintf(r->format, sizeof(r->format), "%s", db_column_text(st, 1));
		snprintf(r->status, sizeof(r->status), "%s", db_column_text(st, 2));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL && !(r->summary_json = strdup(db_column_text(st, 3)))) {
			rc = oom(err);
			break;
		}
		snprintf(r->tool, sizeof(r->tool), "%s", db_column_text(st, 4));
		snprintf(r->tool_version, sizeof(r->tool_version), "%s", db_column_text(st, 5));
		snprintf(r->runtime, sizeof(r->runtime), "%s", db_column_text(st, 6));
		snprintf(r->runtime_version, sizeof(r->runtime_version), "%s", db_column_text(st, 7));
		snprintf(r->rules, sizeof(r->rules), "%s", db_column_text(st, 8));
		snprintf(r->finished, sizeof(r->finished), "%s", db_column_text(st, 9));
		r->of_version = sqlite3_column_int(st, 10);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list the version's runs", err);
	sqlite3_finalize(st);
	if (rc) {
		vruns_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int add_str_or_null(cJSON *o, const char *key, const char *v)
{
	return (v && *v ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key)) ? 0 : -1;
}

/* The entries of one run, each naming its judge (as the reference's entries name
 * bioimageio_spec_version / bioimageio_core_version). */
static int run_entries(cJSON *list, const struct vrun *r, const cJSON *s)
{
	int first = cJSON_GetArraySize(list);
	int is_static = !strcmp(r->kind, "static");
	if (publish_summary_entries(list, s, is_static ? NULL : r->format))
		return -1;
	if (is_static)
		return 0;
	for (cJSON *e = cJSON_GetArrayItem(list, first); e; e = e->next) {
		if (add_str_or_null(e, "backoffice_version", r->tool_version) || add_str_or_null(e, "runtime", r->runtime) ||
		    add_str_or_null(e, "runtime_version", r->runtime_version) ||
		    add_str_or_null(e, "rules_version", r->rules) || add_str_or_null(e, "tested_at", r->finished) ||
		    !cJSON_AddBoolToObject(e, "retest", r->of_version))
			return -1;
	}
	return 0;
}

/* The status of the version's runs: the static run's and the latest run per format. */
static int runs_failed(const struct vrun *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int later = 0;
		if (strcmp(v[i].kind, "static"))
			for (size_t j = i + 1; j < n; j++)
				later |= !strcmp(v[j].kind, "dynamic") && !strcmp(v[j].format, v[i].format);
		if (later)
			continue;
		if (strcmp(v[i].status, "passed") && strcmp(v[i].status, "valid-format") && strcmp(v[i].status, "skipped"))
			return 1;
	}
	return 0;
}

int retest_summary_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	sqlite3 *c = NULL;
	struct vrun *runs = NULL;
	size_t n = 0, len = 0;
	rdf_doc *doc = NULL;
	cJSON *top = NULL, *tests = NULL;
	char id[256], version[128], sha[80] = "", key[KEY_MAX], tool[160], *text = NULL, *old = NULL;
	int found = 0, ours_static = 0, old_failed = 0;
	const char *slash = strchr(job->subject, '/');
	if (!slash || (size_t)(slash - job->subject) >= sizeof(id) || strlen(slash + 1) >= sizeof(version)) {
		log_error("retest-summary: bad subject %s", job->subject);
		return 0;
	}
	snprintf(id, sizeof(id), "%.*s", (int)(slash - job->subject), job->subject);
	snprintf(version, sizeof(version), "%s", slash + 1);
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = vruns_list(c, id, version, &runs, &n, sha, sizeof(sha), &found, err);
	db_release(a->db, c);
	if (rc || !found)
		goto out;
	snprintf(key, sizeof(key), "%s/%s/test_summary.yaml", id, version);
	rc = storage_get_buffer(a->storage, key, SUMMARY_MAX_BYTES, &old, &len, err);
	if (rc == BO_ENOTFOUND) {
		bo_error_cleanup(err);
		rc = 0;
	} else if (rc) {
		goto out;
	} else if (rdf_parse(&doc, old, len, &a->rdf_limits, err)) {
		/* a file we cannot read back is rewritten from our runs alone */
		log_warnx("retest-summary: %s is not readable YAML; rewriting it from the runs", key);
		bo_error_cleanup(err);
	} else if (cJSON_IsObject(rdf_root(doc))) {
		top = rdf_take_root(doc);
	}
	/* the static summary stays the top level (publish.c: both readers can read it) */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(runs[i].kind, "static") || !runs[i].summary_json)
			continue;
		cJSON *s = cJSON_Parse(runs[i].summary_json);
		if (!s)
			continue;
		ours_static = 1;
		if (top) {
			cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(top, "tests");
			cJSON_Delete(top);
			top = s;
			if (t)
				cJSON_AddItemToObject(top, "tests", t);
		} else {
			top = s;
		}
		break;
	}
	if (!top && !(top = cJSON_CreateObject())) {
		rc = oom(err);
		goto out;
	}
	old_failed = !ours_static && !strcmp(nz(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(top, "status"))), "failed");
	tests = cJSON_DetachItemFromObjectCaseSensitive(top, "tests");
	if (!cJSON_IsObject(tests)) {
		cJSON_Delete(tests);
		tests = cJSON_CreateObject();
	}
	if (!tests) {
		rc = oom(err);
		goto out;
	}
	/* our tools' lists are rebuilt from the runs; other tools' (an import's) stay */
	for (size_t i = 0; i < n; i++) {
		snprintf(tool, sizeof(tool), "%s_%s", runs[i].tool, runs[i].tool_version);
		cJSON_DeleteItemFromObjectCaseSensitive(tests, tool);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		cJSON *s = runs[i].summary_json ? cJSON_Parse(runs[i].summary_json) : NULL;
		if (!s)
			continue;
		snprintf(tool, sizeof(tool), "%s_%s", runs[i].tool, runs[i].tool_version);
		cJSON *list = cJSON_GetObjectItemCaseSensitive(tests, tool);
		if (!list && !(list = cJSON_AddArrayToObject(tests, tool)))
			rc = oom(err);
		if (!rc && run_entries(list, &runs[i], s))
			rc = oom(err);
		cJSON_Delete(s);
	}
	if (rc)
		goto out;
	const char *status = old_failed || runs_failed(runs, n) ? "failed" : "passed";
	cJSON_DeleteItemFromObjectCaseSensitive(top, "status");
	cJSON_DeleteItemFromObjectCaseSensitive(top, "rdf_sha256");
	if (!cJSON_AddStringToObject(top, "status", status) || !cJSON_AddStringToObject(top, "rdf_sha256", sha) ||
	    !cJSON_AddItemToObject(top, "tests", tests)) {
		rc = oom(err);
		goto out;
	}
	tests = NULL;
	text = rdf_emit(top, err);
	if (!text) {
		rc = err->code ? err->code : oom(err);
		goto out;
	}
	rc = storage_put_buffer(a->storage, key, text, strlen(text), "application/yaml", err);
	if (!rc)
		log_info("retest-summary: %s rewritten (%zu runs, %s)", key, n, status);
out:
	rdf_free(doc);
	free(old);
	free(text);
	cJSON_Delete(top);
	cJSON_Delete(tests);
	vruns_free(runs, n);
	return rc;
}

/* ---------------------------------------------------------------- the automatic re-test */

static int count_pending(sqlite3 *c, int *n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*n = 0;
	int rc = db_prepare(c, &st,
			    "SELECT count(*) FROM test_runs WHERE of_version = 1 AND status IN ('queued', 'running')", err);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int(st, 0);
	else
		rc = db_fail(c, "count pending re-tests", err);
	sqlite3_finalize(st);
	return rc;
}

int retest_scan_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	sqlite3 *c = NULL;
	struct retest_result res = {0};
	int pending = 0;
	(void)job;
	if (!a->cfg->retest_on_change)
		return 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = count_pending(c, &pending, err);
	if (rc)
		goto out;
	int room = (int)a->cfg->retest_max_queued - pending;
	if (room <= 0) {
		res.more = 1;
	} else {
		struct retest_options o = {.all = 1, .only_recorded = 1, .max_jobs = room};
		rc = retest_queue(c, a->rules_version, &o, &res, err);
		if (rc)
			goto out;
	}
	int i = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, res.runs)
	{
		if (i++ >= LOG_QUEUED_MAX)
			break;
		log_info("retest: queued %s/%s (%s): %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")),
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "version")),
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "weight_format")),
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "reason")));
	}
	if (res.queued || res.more)
		log_info("retest: the judge changed: %d re-test(s) queued (%d up to date, %d already queued%s)", res.queued,
			 res.up_to_date, res.pending + pending, res.more ? "; the rest later" : "");
	if (res.more) {
		rc = db_begin(c, err);
		if (!rc)
			rc = enqueue_scan(c, SCAN_AGAIN_SECONDS, err);
		if (!rc)
			rc = db_commit(c, err);
		db_rollback(c);
	}
	if (!rc && res.queued)
		jobs_notify(a->jobs);
out:
	retest_result_free(&res);
	db_release(a->db, c);
	return rc;
}

int retest_on_start(struct app *a, struct bo_error *err)
{
	sqlite3 *c = NULL;
	if (!a->cfg->retest_on_change)
		return 0;
	log_info("retest: judge now %s %s, rule set %s; comparing with the published versions' latest runs",
		 TEST_JOB_TOOL, BO_VERSION, a->rules_version);
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	/* a dry run first (one stale pair is enough): a collection judged by today's judge
	 * gets no job at all */
	struct retest_result res = {0};
	struct retest_options o = {.all = 1, .only_recorded = 1, .max_jobs = 1, .dry_run = 1};
	rc = retest_queue(c, a->rules_version, &o, &res, err);
	if (!rc && res.queued) {
		rc = db_begin(c, err);
		if (!rc)
			rc = enqueue_scan(c, 0, err);
		if (!rc)
			rc = db_commit(c, err);
		db_rollback(c);
	}
	retest_result_free(&res);
	db_release(a->db, c);
	return rc;
}

/* ---------------------------------------------------------------- metrics */

int retest_metrics(sqlite3 *c, char **out, size_t *len, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	long long queued = 0, running = 0, done = 0;
	int bad = 0;
	int rc = db_prepare(c, &st,
			    "SELECT status, count(*) FROM test_runs WHERE of_version = 1 GROUP BY status ORDER BY status", err);
	if (rc)
		return rc;
	bad |= metrics_appendf(out, len,
			       "# HELP bo_retest_verdicts Finished re-tests of published versions by verdict.\n"
			       "# TYPE bo_retest_verdicts gauge\n");
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = db_column_text(st, 0);
		long long n = sqlite3_column_int64(st, 1);
		if (!strcmp(s, "queued"))
			queued = n;
		else if (!strcmp(s, "running"))
			running = n;
		else {
			done += n;
			bad |= metrics_appendf(out, len, "bo_retest_verdicts{status=\"%s\"} %lld\n", s, n);
		}
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "count re-tests", err);
	sqlite3_finalize(st);
	bad |= metrics_appendf(out, len,
			       "# HELP bo_retest_runs Re-tests of published versions (backoffice retest) by state.\n"
			       "# TYPE bo_retest_runs gauge\n"
			       "bo_retest_runs{state=\"queued\"} %lld\nbo_retest_runs{state=\"running\"} %lld\n"
			       "bo_retest_runs{state=\"done\"} %lld\n",
			       queued, running, done);
	if (!rc && bad)
		rc = oom(err);
	return rc;
}

/* slurm: the Slurm runner (slurm.h). Slurm commands are run outside transactions; each
 * state change of our bookkeeping is one short transaction. The worker token of a Slurm
 * job exists only in the database (its SHA-256) and in the job's script, which is written
 * into DATA_DIR/slurm (0700, the file 0700) and removed once sbatch has copied it; it is
 * never on a command line or in the log. */
#include "pipeline/slurm.h"

#include "app.h"
#include "common/error.h"
#include "common/log.h"
#include "domain/auth.h"
#include "domain/drafts.h"
#include "domain/slurm_jobs.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/slurm.h"
#include "pipeline/lifecycle.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX 65536
#define READY_BATCH 16
#define SBATCH_PAUSE_SECONDS 30 /* after sbatch failed: the controller may be down */

struct slurm_runner {
	struct app *a;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	time_t sbatch_pause_until;
	char dir[PATH_MAX];    /* the job scripts, 0700 */
	char logs[PATH_MAX];   /* sbatch --output */
	char worker[PATH_MAX]; /* backoffice-worker on the nodes */
	char url[2048];        /* the server as the nodes reach it */
	char *out;             /* OUT_MAX bytes of command output */
};

/* ---------------------------------------------------------------- the script */

/* A value for a single-quoted shell word: ours (config), but checked all the same. */
static int quotable(const char *v) { return v && !strchr(v, '\'') && !strchr(v, '\n'); }

static int put_env(FILE *f, const char *name, const char *value)
{
	if (!value || !*value)
		return 0;
	if (!quotable(value))
		return -1;
	return fprintf(f, "%s='%s'\nexport %s\n", name, value, name) < 0 ? -1 : 0;
}

/* The job's script: the worker's jail settings (the server's own, from its config), the
 * token in the environment (unset by the worker before it runs anything), the worker. */
static int write_script(struct slurm_runner *s, const char *path, int64_t job_id, const char *token,
			struct bo_error *err)
{
	const struct config *cfg = s->a->cfg;
	char num[6][64];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (fd < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot create the Slurm job script %s: %s", path, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	snprintf(num[0], sizeof(num[0]), "%" PRId64, cfg->test_timeout);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, cfg->test_memory);
	snprintf(num[2], sizeof(num[2]), "%" PRId64, cfg->test_cpu_seconds);
	snprintf(num[3], sizeof(num[3]), "%" PRId64, cfg->test_processes);
	snprintf(num[4], sizeof(num[4]), "%" PRId64, cfg->test_scratch);
	int bad = fprintf(f, "#!/bin/sh\n# backoffice test job %" PRId64 " (generated; runs the lease worker for this job only)\n",
			  job_id) < 0;
	bad |= put_env(f, "PATH", "/usr/local/bin:/usr/bin:/bin") || put_env(f, "BO_SANDBOX", cfg->sandbox) ||
	       put_env(f, "BO_BWRAP_PATH", cfg->bwrap_path) || put_env(f, "BO_WORKER_PATH", cfg->worker_path) ||
	       put_env(f, "BO_ONNXRUNTIME_LIB", cfg->onnxruntime_lib) || put_env(f, "BO_PYTHON", cfg->python) ||
	       put_env(f, "BO_TEST_TIMEOUT", num[0]) || put_env(f, "BO_TEST_MEMORY", num[1]) ||
	       put_env(f, "BO_TEST_CPU_SECONDS", num[2]) || put_env(f, "BO_TEST_PROCESSES", num[3]) ||
	       put_env(f, "BO_TEST_SCRATCH", num[4]);
	/* sanitizer builds (tests) run their worker with the same options */
	const char *const san[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
	for (size_t i = 0; i < sizeof(san) / sizeof(san[0]); i++)
		bad |= put_env(f, san[i], getenv(san[i]));
	bad |= put_env(f, "BO_WORKER_TOKEN", token);
	bad |= !quotable(s->worker) || !quotable(s->url) || !quotable(cfg->slurm_capabilities) ||
	       fprintf(f, "exec '%s' --lease '%s' --once%s%s%s\n", s->worker, s->url,
		       cfg->slurm_capabilities[0] ? " --capabilities '" : "", cfg->slurm_capabilities,
		       cfg->slurm_capabilities[0] ? "'" : "") < 0;
	bad |= fclose(f) != 0;
	if (bad) {
		unlink(path);
		return bo_error_set(err, BO_EINTERNAL,
				    "cannot write the Slurm job script (a path or setting with a quote or newline?)");
	}
	return 0;
}

/* ---------------------------------------------------------------- small transactions */

static int revoke_token(struct app *a, sqlite3 *c, int64_t token_id)
{
	char id[32];
	struct bo_error err = BO_ERROR_INIT;
	snprintf(id, sizeof(id), "%" PRId64, token_id);
	int rc = auth_token_revoke(c, id, &err);
	if (rc)
		log_error("slurm: cannot revoke worker token %s: %s", id, err.detail);
	bo_error_cleanup(&err);
	(void)a;
	return rc;
}

/* Ends row (its token revoked) in one transaction. */
static int end_row(struct app *a, int64_t row, int64_t token_id, const char *state, const char *slurm_state,
		   struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = slurm_jobs_end(c, row, state, slurm_state, err);
	if (!rc)
		rc = revoke_token(a, c, token_id) ? bo_error_set(err, BO_EDATABASE, "cannot revoke the token") : 0;
	if (!rc)
		rc = db_commit(c, err);
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

static int event(struct app *a, const char *concept, const char *message, int64_t slurm_id, int64_t job_id,
		 const char *format, const char *state, struct bo_error *err)
{
	sqlite3 *c = NULL;
	char details[256];
	snprintf(details, sizeof(details),
		 "{\"slurm_job_id\":%" PRId64 ",\"test_job_id\":%" PRId64 ",\"weight_format\":\"%s\",\"slurm_state\":\"%s\"}",
		 slurm_id, job_id, format, state);
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = lifecycle_event(c, concept, "draft", 0, "slurm", message, details, err);
	if (!rc)
		rc = db_commit(c, err);
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

/* Whether the draft still is at revision (the test job matters). */
static int current(struct app *a, const char *concept, int revision, int *yes, struct bo_error *err)
{
	sqlite3 *c = NULL;
	enum draft_state state;
	int cur = 0, found = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = drafts_state(c, concept, &cur, &state, &found, err);
	db_release(a->db, c);
	*yes = !rc && found && cur == revision;
	return rc;
}

/* ---------------------------------------------------------------- submit */

static int submit(struct slurm_runner *s, int64_t job_id, const char *concept, int revision, const char *format,
		  struct bo_error *err)
{
	struct app *a = s->a;
	const struct config *cfg = a->cfg;
	sqlite3 *c = NULL;
	char token[AUTH_TOKEN_LEN + 64], scope[AUTH_SCOPE_MAX + 1], label[128], script[PATH_MAX + 64], name[64],
		output[PATH_MAX + 64], part[256], acct[256], tm[32], gres[256];
	int64_t user_id = 0, token_id = 0, row = 0;
	snprintf(scope, sizeof(scope), AUTH_SCOPE_JOB_PREFIX "%" PRId64, job_id);
	snprintf(label, sizeof(label), "Slurm job of test job %" PRId64, job_id);
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = slurm_jobs_user(c, &user_id, err);
	if (!rc)
		rc = auth_token_create(c, user_id, label, scope, token, &token_id, err);
	if (!rc)
		rc = slurm_jobs_add(c, job_id, concept, revision, format, token_id, &row, err);
	if (!rc)
		rc = db_commit(c, err);
	db_rollback(c);
	db_release(a->db, c);
	if (rc)
		goto out;
	snprintf(script, sizeof(script), "%s/job-%" PRId64 ".sh", s->dir, row);
	snprintf(name, sizeof(name), "--job-name=bo-test-%" PRId64, job_id);
	snprintf(output, sizeof(output), "--output=%s/bo-test-%" PRId64 "-%%j.out", s->logs, job_id);
	snprintf(tm, sizeof(tm), "--time=%" PRId64, cfg->slurm_time);
	const char *argv[16];
	int n = 0;
	argv[n++] = cfg->slurm_sbatch;
	argv[n++] = "--parsable";
	argv[n++] = "--export=NONE"; /* nothing of the server's environment goes to the node */
	argv[n++] = name;
	argv[n++] = output;
	argv[n++] = tm;
	if (cfg->slurm_partition[0] && (size_t)snprintf(part, sizeof(part), "--partition=%s", cfg->slurm_partition) < sizeof(part))
		argv[n++] = part;
	if (cfg->slurm_account[0] && (size_t)snprintf(acct, sizeof(acct), "--account=%s", cfg->slurm_account) < sizeof(acct))
		argv[n++] = acct;
	if (cfg->slurm_gres[0] && (size_t)snprintf(gres, sizeof(gres), "--gres=%s", cfg->slurm_gres) < sizeof(gres))
		argv[n++] = gres;
	argv[n++] = "--";
	argv[n++] = script;
	argv[n] = NULL;
	int64_t slurm_id = 0;
	rc = write_script(s, script, job_id, token, err);
	explicit_bzero(token, sizeof(token));
	if (!rc) {
		int st = slurm_cmd_run(argv, s->out, OUT_MAX, err);
		unlink(script);
		if (st < 0)
			rc = st;
		else if (st > 0 || !(slurm_id = slurm_parse_sbatch(s->out)))
			rc = bo_error_set(err, BO_EINTERNAL, "sbatch exited %d: %.300s", st, s->out);
	}
	if (rc) {
		struct bo_error e2 = BO_ERROR_INIT;
		if (end_row(a, row, token_id, "ended", "NOT SUBMITTED", &e2))
			log_error("slurm: %s", e2.detail);
		bo_error_cleanup(&e2);
		s->sbatch_pause_until = time(NULL) + SBATCH_PAUSE_SECONDS;
		goto out;
	}
	rc = db_acquire(a->db, &c, err);
	if (rc)
		goto out;
	rc = slurm_jobs_set_slurm_id(c, row, slurm_id, err);
	db_release(a->db, c);
	if (rc)
		goto out;
	char msg[256];
	snprintf(msg, sizeof(msg), "dynamic test (%s) submitted as Slurm job %" PRId64, format, slurm_id);
	log_info("slurm: %s revision %d %s: test job %" PRId64 " submitted as Slurm job %" PRId64, concept, revision,
		 format, job_id, slurm_id);
	rc = event(a, concept, msg, slurm_id, job_id, format, "PENDING", err);
out:
	explicit_bzero(token, sizeof(token));
	return rc;
}

static int submit_ready(struct slurm_runner *s, struct bo_error *err)
{
	struct app *a = s->a;
	sqlite3 *c = NULL;
	cJSON *ready = NULL;
	if (time(NULL) < s->sbatch_pause_until)
		return 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = slurm_jobs_ready(c, db_now_unix(), READY_BATCH, &ready, err);
	db_release(a->db, c);
	const cJSON *j;
	cJSON_ArrayForEach(j, ready)
	{
		if (rc || time(NULL) < s->sbatch_pause_until)
			break;
		int64_t job_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "job_id"));
		const char *concept = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "subject"));
		cJSON *p = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "payload")));
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "revision");
		const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "weight_format"));
		int yes = 0;
		if (!cJSON_IsNumber(r) || !format || strlen(format) > 63) {
			log_error("slurm: test job %" PRId64 " has a payload without revision or weight_format", job_id);
		} else if (!(rc = current(a, concept, r->valueint, &yes, err)) && !yes) {
			/* the draft moved on before it was submitted: nothing to run (as a local runner) */
			if (!(rc = db_acquire(a->db, &c, err))) {
				rc = slurm_jobs_settle_stale(c, job_id, err);
				db_release(a->db, c);
			}
		} else if (!rc) {
			rc = submit(s, job_id, concept, r->valueint, format, err);
			if (rc) {
				log_error("slurm: %s %s: test job %" PRId64 " not submitted (again in %d s): %s", concept, format,
					  job_id, SBATCH_PAUSE_SECONDS, err->detail);
				bo_error_cleanup(err);
				rc = 0;
			}
		}
		cJSON_Delete(p);
	}
	cJSON_Delete(ready);
	return rc;
}

/* ---------------------------------------------------------------- follow */

/* The final state of an ended job: sacct's, or (no accounting: sacct fails) scontrol's,
 * which Slurm keeps MinJobAge seconds after the end; "UNKNOWN" when neither knows. */
static void final_state(struct slurm_runner *s, int64_t slurm_id, char *state, size_t n)
{
	const struct config *cfg = s->a->cfg;
	struct bo_error err = BO_ERROR_INIT;
	char id[32];
	snprintf(id, sizeof(id), "%" PRId64, slurm_id);
	const char *sacct[] = {cfg->slurm_sacct, "--noheader", "--parsable2", "--allocations",
			       "--format=JobIDRaw,State", "--jobs", id, NULL};
	if (slurm_cmd_run(sacct, s->out, OUT_MAX, &err) == 0 && slurm_parse_state(s->out, slurm_id, state, n))
		return;
	bo_error_cleanup(&err);
	const char *scontrol[] = {cfg->slurm_scontrol, "--oneliner", "show", "job", id, NULL};
	if (slurm_cmd_run(scontrol, s->out, OUT_MAX, &err) == 0 && slurm_parse_scontrol(s->out, state, n))
		return;
	bo_error_cleanup(&err);
	snprintf(state, n, "UNKNOWN");
}

struct give_up_ctx {
	int64_t job_id;
	const char *reason;
};

static int guard_give_up(sqlite3 *c, void *ctx, struct bo_error *err)
{
	struct give_up_ctx *g = ctx;
	int changed = 0;
	int rc = slurm_jobs_give_up(c, g->job_id, g->reason, &changed, err);
	if (!rc && !changed)
		rc = bo_error_set(err, BO_ECONFLICT, "test job %" PRId64 " already ended", g->job_id);
	return rc;
}

/* A Slurm job ended and its test job has no result: the run becomes `error` saying so. */
static int no_result(struct slurm_runner *s, const cJSON *r, int64_t slurm_id, const char *state,
		     struct bo_error *err)
{
	struct app *a = s->a;
	const char *concept = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "concept"));
	const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "weight_format"));
	int revision = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "revision"));
	int64_t job_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "job_id"));
	char msg[512], name[128];
	snprintf(msg, sizeof(msg),
		 "the Slurm job %" PRId64 " of this test ended %s without a result; a reviewer can re-run the tests",
		 slurm_id, state);
	snprintf(name, sizeof(name), "reproduce test outputs (%s)", format);
	cJSON *sum = cJSON_CreateObject(), *details = NULL, *d = NULL, *errs = NULL, *e = NULL;
	int rc = 0, recorded = 0;
	if (!sum || !cJSON_AddStringToObject(sum, "name", name) || !cJSON_AddStringToObject(sum, "status", "error") ||
	    !cJSON_AddStringToObject(sum, "weight_format", format) || !(details = cJSON_AddArrayToObject(sum, "details")) ||
	    !(d = cJSON_CreateObject()) || !cJSON_AddItemToArray(details, d) ||
	    !cJSON_AddStringToObject(d, "name", "run the test as a Slurm batch job") ||
	    !cJSON_AddStringToObject(d, "status", "error") || !(errs = cJSON_AddArrayToObject(d, "errors")) ||
	    !cJSON_AddArrayToObject(d, "warnings") || !(e = cJSON_CreateObject()) || !cJSON_AddItemToArray(errs, e) ||
	    !cJSON_AddStringToObject(e, "msg", msg) || !cJSON_AddStringToObject(e, "type", "slurm")) {
		cJSON_Delete(sum);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	struct give_up_ctx g = {job_id, msg};
	const struct test_job_guard guard = {guard_give_up, &g};
	struct bo_error e2 = BO_ERROR_INIT;
	rc = test_job_store(a, concept, revision, format, sum, NULL, &guard, &recorded, &e2);
	cJSON_Delete(sum);
	if (rc == BO_ECONFLICT) /* its result came in after all */
		rc = 0;
	if (rc)
		return bo_error_move(err, &e2, rc);
	bo_error_cleanup(&e2);
	if (recorded)
		log_warnx("slurm: %s revision %d %s: %s", concept, revision, format, msg);
	return 0;
}

/* Settles a stale test job that an ended or cancelled Slurm job leaves unfinished. */
static int settle(struct app *a, int64_t job_id, const char *why, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int changed = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = slurm_jobs_give_up(c, job_id, why, &changed, err);
	db_release(a->db, c);
	return rc;
}

static int follow_one(struct slurm_runner *s, const cJSON *r, const char *squeue_out, struct bo_error *err)
{
	struct app *a = s->a;
	int64_t row = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "row"));
	int64_t slurm_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "slurm_id"));
	int64_t token_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "token_id"));
	int64_t job_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "job_id"));
	const char *concept = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "concept"));
	const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "weight_format"));
	const char *job_state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "job_state"));
	int revision = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "revision"));
	char state[64] = "", id[32], msg[256];
	int yes = 0;
	if (!slurm_id) /* a server stopped between the row and sbatch's answer */
		return end_row(a, row, token_id, "ended", "NOT SUBMITTED", err);
	int rc = current(a, concept, revision, &yes, err);
	if (rc)
		return rc;
	/* the draft moved on (a new revision; its queued jobs were cancelled): its Slurm job goes.
	 * A job that is done with its result current is left to exit by itself. */
	int stale = !yes || !strcmp(job_state, "dead") || !*job_state;
	int queued = slurm_parse_state(squeue_out, slurm_id, state, sizeof(state)) && !slurm_state_final(state);
	snprintf(id, sizeof(id), "%" PRId64, slurm_id);
	if (queued && stale) {
		const char *argv[] = {a->cfg->slurm_scancel, "--", id, NULL};
		int st = slurm_cmd_run(argv, s->out, OUT_MAX, err);
		if (st)
			return st < 0 ? st : bo_error_set(err, BO_EINTERNAL, "scancel %s exited %d: %.300s", id, st, s->out);
		log_info("slurm: %s revision %d %s: the draft moved on; Slurm job %s (%s) scancelled", concept, revision,
			 format, id, state);
		rc = settle(a, job_id, "the draft moved on; its Slurm job was cancelled", err);
		if (!rc)
			rc = end_row(a, row, token_id, "cancelled", state, err);
		snprintf(msg, sizeof(msg), "dynamic test (%s) of revision %d: Slurm job %s cancelled (the draft moved on)",
			 format, revision, id);
		if (!rc)
			rc = event(a, concept, msg, slurm_id, job_id, format, "CANCELLED", err);
		return rc;
	}
	if (queued)
		return 0;
	if (!state[0] || !slurm_state_final(state))
		final_state(s, slurm_id, state, sizeof(state));
	if (!strcmp(job_state, "done") && yes) {
		log_info("slurm: %s revision %d %s: Slurm job %s ended %s", concept, revision, format, id, state);
	} else if (!stale) {
		rc = no_result(s, r, slurm_id, state, err);
	} else {
		rc = settle(a, job_id, "the draft moved on", err);
	}
	if (!rc)
		rc = end_row(a, row, token_id, "ended", state, err);
	return rc;
}

static int follow(struct slurm_runner *s, struct bo_error *err)
{
	struct app *a = s->a;
	sqlite3 *c = NULL;
	cJSON *active = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = slurm_jobs_active(c, &active, err);
	db_release(a->db, c);
	if (rc || !cJSON_GetArraySize(active)) {
		cJSON_Delete(active);
		return rc;
	}
	const char *argv[] = {a->cfg->slurm_squeue, "--noheader", "--me", "--states=all", "--format=%i|%T", NULL};
	int st = slurm_cmd_run(argv, s->out, OUT_MAX, err);
	if (st) {
		cJSON_Delete(active);
		return st < 0 ? st : bo_error_set(err, BO_EINTERNAL, "squeue exited %d: %.300s", st, s->out);
	}
	char *listing = strdup(s->out);
	if (!listing) {
		cJSON_Delete(active);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	const cJSON *r;
	cJSON_ArrayForEach(r, active)
	{
		rc = follow_one(s, r, listing, err);
		if (rc) {
			log_error("slurm: following Slurm job %.0f: %s", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "slurm_id")),
				  err->detail);
			bo_error_cleanup(err);
			rc = 0;
		}
	}
	free(listing);
	cJSON_Delete(active);
	return 0;
}

/* ---------------------------------------------------------------- the thread */

static void *loop(void *arg)
{
	struct slurm_runner *s = arg;
	struct bo_error err = BO_ERROR_INIT;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		if (follow(s, &err) || submit_ready(s, &err)) {
			log_error("slurm: %s", err.detail);
			bo_error_cleanup(&err);
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (SLURM_POLL_MS % 1000) * 1000000L;
		until.tv_sec += SLURM_POLL_MS / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&s->mu);
		if (!s->stop)
			pthread_cond_timedwait(&s->cv, &s->mu, &until);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int make_dir(const char *path, mode_t mode, struct bo_error *err)
{
	if (mkdir(path, mode) && errno != EEXIST)
		return bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", path, strerror(errno));
	if (chmod(path, mode))
		return bo_error_set(err, BO_EINTERNAL, "cannot chmod %s: %s", path, strerror(errno));
	return 0;
}

int slurm_start(struct app *a, slurm_runner **out, struct bo_error *err)
{
	const struct config *cfg = a->cfg;
	struct slurm_runner *s = calloc(1, sizeof(*s));
	char exe[PATH_MAX];
	if (!s || !(s->out = malloc(OUT_MAX))) {
		if (s)
			free(s);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	s->a = a;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	snprintf(s->dir, sizeof(s->dir), "%s/slurm", cfg->data_dir);
	int rc = make_dir(s->dir, 0700, err);
	if (cfg->slurm_log_dir[0])
		snprintf(s->logs, sizeof(s->logs), "%s", cfg->slurm_log_dir);
	else
		snprintf(s->logs, sizeof(s->logs), "%s/slurm/logs", cfg->data_dir);
	if (!rc && !cfg->slurm_log_dir[0])
		rc = make_dir(s->logs, 0700, err);
	if (cfg->slurm_worker[0]) {
		snprintf(s->worker, sizeof(s->worker), "%s", cfg->slurm_worker);
	} else {
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[len > 0 ? len : 0] = '\0';
		snprintf(s->worker, sizeof(s->worker), "%s/backoffice-worker", len > 0 ? dirname(exe) : ".");
	}
	snprintf(s->url, sizeof(s->url), "%s", cfg->slurm_url[0] ? cfg->slurm_url : cfg->public_url);
	if (!rc && (!quotable(s->worker) || !quotable(s->url) || strchr(s->logs, '\'')))
		rc = bo_error_set(err, BO_EBADREQUEST, "slurm_worker, slurm_url and slurm_log_dir may hold no quote or newline");
	if (!rc && pthread_create(&s->thread, NULL, loop, s))
		rc = bo_error_set(err, BO_EINTERNAL, "cannot start the Slurm thread");
	if (rc) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s->out);
		free(s);
		return rc;
	}
	log_info("slurm: test jobs go to Slurm (sbatch %s%s%s), workers reach the server at %s", s->worker,
		 cfg->slurm_partition[0] ? " on partition " : "", cfg->slurm_partition, s->url);
	*out = s;
	return 0;
}

void slurm_stop(slurm_runner *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->out);
	free(s);
}

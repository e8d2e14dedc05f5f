/* jobs: claim with a single UPDATE … RETURNING (atomic under SQLite's write lock, so two
 * runners never take the same job), lease with expiry, retry with exponential backoff,
 * dead after max attempts. Invariant: a job leaves `running` only through finish(),
 * jobs_recover() or an expired lease. */
#include "infra/jobs.h"

#include "common/error.h"
#include "common/log.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNNERS 64
#define BACKOFF_CAP_SECONDS 3600
#define IDLE_WAIT_SECONDS 1
#define SWEEP_EVERY_IDLE 30 /* idle polls between lease sweeps */

struct jobs {
	db *db;
	const struct jobs_kind *kinds;
	size_t nkinds;
	void *ctx;
	struct jobs_options opt;
	char owner[96];
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	int nthreads;
	pthread_t threads[MAX_RUNNERS];
};

int jobs_enqueue(sqlite3 *c, const char *kind, const char *subject, const char *payload_json,
		 int max_attempts, int64_t *id_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "INSERT INTO jobs(kind, subject, payload_json, state, attempts, max_attempts, "
			    "run_after, created_at) VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?5, ?6)",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, subject);
	db_bind_text(st, 3, payload_json ? payload_json : "{}");
	sqlite3_bind_int(st, 4, max_attempts);
	sqlite3_bind_int64(st, 5, db_now_unix());
	db_bind_text(st, 6, now);
	rc = db_step_done(st, err);
	if (!rc && id_out)
		*id_out = sqlite3_last_insert_rowid(c);
	return rc;
}

int jobs_delay(sqlite3 *c, int64_t id, int64_t seconds, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "UPDATE jobs SET run_after = ?1 WHERE id = ?2", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, db_now_unix() + seconds);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(st, err);
}

int jobs_enqueue_coalesced(sqlite3 *c, const char *kind, const char *subject,
			   const char *payload_json, int64_t *id_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "SELECT id FROM jobs WHERE kind = ?1 AND subject = ?2 AND state = 'queued'",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, subject);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (id_out)
			*id_out = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		return 0;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "find queued job", err);
	sqlite3_finalize(st);
	if (rc)
		return rc;
	return jobs_enqueue(c, kind, subject, payload_json, 0, id_out, err);
}

int jobs_cancel_subject(sqlite3 *c, const char *subject, const char *kind, const char *reason,
			struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "UPDATE jobs SET state = 'dead', last_error = ?1, finished_at = ?2 "
			    "WHERE subject = ?3 AND (?4 IS NULL OR kind = ?4) AND state IN ('queued', 'failed')",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, reason);
	db_bind_text(st, 2, now);
	db_bind_text(st, 3, subject);
	db_bind_text(st, 4, kind);
	rc = db_step_done(st, err);
	return rc ? rc : sqlite3_changes(c);
}

int jobs_create(jobs **out, db *d, const struct jobs_kind *kinds, size_t nkinds, void *ctx,
		const struct jobs_options *opt, struct bo_error *err)
{
	unsigned char rnd[6];
	jobs *q = calloc(1, sizeof(*q));
	if (!q)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	q->db = d;
	q->kinds = kinds;
	q->nkinds = nkinds;
	q->ctx = ctx;
	q->opt = *opt;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	snprintf(q->owner, sizeof(q->owner), "%s:%d:%02x%02x%02x%02x%02x%02x",
		 opt->owner_prefix ? opt->owner_prefix : "cli", (int)getpid(), rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5]);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	*out = q;
	return 0;
}

int jobs_recover(jobs *q, int server_owned, struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = db_acquire(q->db, &c, err);
	if (rc)
		return rc;
	/* A server holds the data-directory lock, so any job a previous server process left
	 * running is abandoned, whatever its lease says. */
	rc = db_prepare(c, &st,
			"UPDATE jobs SET state = 'queued', lease_until = NULL, lease_owner = NULL, "
			"last_error = 'lease expired (worker stopped); re-queued' "
			"WHERE state = 'running' AND (lease_until < ?1 OR (?2 AND lease_owner LIKE 'serve:%' "
			"AND lease_owner != ?3))",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, db_now_unix());
	sqlite3_bind_int(st, 2, server_owned);
	db_bind_text(st, 3, q->owner);
	rc = db_step_done(st, err);
	if (rc)
		goto fail;
	rc = sqlite3_changes(c);
	if (rc > 0)
		log_info("jobs: re-queued %d abandoned job(s)", rc);
fail:
	db_release(q->db, c);
	return rc;
}

static const struct jobs_kind *find_kind(const jobs *q, const char *kind)
{
	for (size_t i = 0; i < q->nkinds; i++)
		if (!strcmp(q->kinds[i].kind, kind))
			return &q->kinds[i];
	return NULL;
}

struct claimed {
	struct job job;
	char *kind, *subject, *payload;
};

static void claimed_cleanup(struct claimed *cl)
{
	free(cl->kind);
	free(cl->subject);
	free(cl->payload);
	memset(cl, 0, sizeof(*cl));
}

/* Returns 1 when a job was claimed into cl, 0 when none is ready, <0 on error. */
static int claim(jobs *q, sqlite3 *c, const char *kind, struct claimed *cl, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t now = db_now_unix();
	int rc = db_prepare(c, &st,
			    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1, "
			    "lease_owner = ?2, max_attempts = CASE WHEN max_attempts > 0 THEN max_attempts ELSE ?5 END "
			    "WHERE id = (SELECT id FROM jobs WHERE state IN ('queued', 'failed') "
			    "AND run_after <= ?3 AND (?4 IS NULL OR kind = ?4) AND (?6 IS NULL OR kind != ?6) "
			    "ORDER BY run_after, id LIMIT 1) "
			    "RETURNING id, kind, subject, payload_json, attempts, max_attempts",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now + q->opt.lease_seconds);
	db_bind_text(st, 2, q->owner);
	sqlite3_bind_int64(st, 3, now);
	db_bind_text(st, 4, kind);
	sqlite3_bind_int64(st, 5, q->opt.max_attempts);
	db_bind_text(st, 6, q->opt.skip_kind);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		sqlite3_finalize(st);
		return 0;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "claim job", err);
		sqlite3_finalize(st);
		return rc;
	}
	cl->job.id = sqlite3_column_int64(st, 0);
	cl->kind = strdup(db_column_text(st, 1));
	cl->subject = strdup(db_column_text(st, 2));
	cl->payload = strdup(db_column_text(st, 3));
	cl->job.attempts = sqlite3_column_int(st, 4);
	cl->job.max_attempts = sqlite3_column_int(st, 5);
	if (cl->job.max_attempts <= 0)
		cl->job.max_attempts = (int)q->opt.max_attempts;
	/* step to completion so the UPDATE's changes are final before finalize */
	while (sqlite3_step(st) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	if (!cl->kind || !cl->subject || !cl->payload) {
		claimed_cleanup(cl);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	cl->job.kind = cl->kind;
	cl->job.subject = cl->subject;
	cl->job.payload_json = cl->payload;
	cl->job.queue = q;
	return 1;
}

/* Records the outcome; retried jobs become `failed` with a run_after in the future. */
static int finish(jobs *q, sqlite3 *c, const struct claimed *cl, int outcome, const char *msg,
		  int *dead_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	*dead_out = 0;
	int rc;
	if (outcome == 0) {
		rc = db_prepare(c, &st,
				"UPDATE jobs SET state = 'done', finished_at = ?1, lease_until = NULL, "
				"last_error = NULL WHERE id = ?2 AND lease_owner = ?3 AND state = 'running'",
				err);
		if (rc)
			return rc;
		db_bind_text(st, 1, now);
	} else if (cl->job.attempts >= cl->job.max_attempts || (cl->job.give_up && *cl->job.give_up)) {
		*dead_out = 1;
		rc = db_prepare(c, &st,
				"UPDATE jobs SET state = 'dead', finished_at = ?1, lease_until = NULL, "
				"last_error = ?4 WHERE id = ?2 AND lease_owner = ?3 AND state = 'running'",
				err);
		if (rc)
			return rc;
		db_bind_text(st, 1, now);
		db_bind_text(st, 4, msg);
	} else {
		int64_t delay = q->opt.backoff_seconds;
		for (int i = 1; i < cl->job.attempts && delay < BACKOFF_CAP_SECONDS; i++)
			delay *= 2;
		if (delay > BACKOFF_CAP_SECONDS)
			delay = BACKOFF_CAP_SECONDS;
		rc = db_prepare(c, &st,
				"UPDATE jobs SET state = 'failed', run_after = ?1, lease_until = NULL, "
				"last_error = ?4 WHERE id = ?2 AND lease_owner = ?3 AND state = 'running'",
				err);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, db_now_unix() + delay);
		db_bind_text(st, 4, msg);
	}
	sqlite3_bind_int64(st, 2, cl->job.id);
	db_bind_text(st, 3, q->owner);
	return db_step_done(st, err);
}

/* Runs the handler without holding a pooled connection (handlers take their own),
 * then records the outcome. */
static void run_claimed(jobs *q, struct claimed *cl)
{
	struct bo_error jerr = BO_ERROR_INIT, ferr = BO_ERROR_INIT;
	const struct jobs_kind *k = find_kind(q, cl->kind);
	sqlite3 *c = NULL;
	int outcome, dead = 0, give_up = 0;
	struct timespec t0, t1;
	cl->job.give_up = &give_up;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!k)
		outcome = bo_error_set(&jerr, BO_EINTERNAL, "no handler for job kind '%s'", cl->kind);
	else
		outcome = k->run(q->ctx, &cl->job, &jerr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	char msg[BO_ERROR_DETAIL_MAX + 64];
	snprintf(msg, sizeof(msg), "%s: %s", bo_error_name(outcome), jerr.detail);
	int rc = db_acquire(q->db, &c, &ferr);
	if (!rc)
		rc = finish(q, c, cl, outcome, outcome ? msg : NULL, &dead, &ferr);
	db_release(q->db, c);
	if (rc)
		log_error("jobs: cannot record the outcome of job %lld (%s): %s", (long long)cl->job.id,
			  cl->kind, ferr.detail);
	if (outcome == 0)
		log_info("jobs: job %lld %s %s done in %.0f ms", (long long)cl->job.id, cl->kind,
			 cl->subject, ms);
	else
		log_warnx("jobs: job %lld %s %s attempt %d/%d failed%s: %s", (long long)cl->job.id,
			  cl->kind, cl->subject, cl->job.attempts, cl->job.max_attempts,
			  dead ? " (dead)" : "", msg);
	if (dead && k && k->dead && !rc)
		k->dead(q->ctx, &cl->job, msg);
	bo_error_cleanup(&jerr);
	bo_error_cleanup(&ferr);
}

/* Returns 1 when a job was claimed into cl, 0 when none, <0 on error. */
static int claim_one(jobs *q, const char *kind, struct claimed *cl, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(q->db, &c, err);
	if (rc)
		return rc;
	rc = claim(q, c, kind, cl, err);
	db_release(q->db, c);
	return rc;
}

int jobs_run_one(jobs *q, const char *kind, int *ran_out, struct bo_error *err)
{
	struct claimed cl = {0};
	*ran_out = 0;
	int rc = claim_one(q, kind, &cl, err);
	if (rc <= 0)
		return rc;
	*ran_out = 1;
	run_claimed(q, &cl);
	claimed_cleanup(&cl);
	return 0;
}

static void *runner_main(void *arg)
{
	jobs *q = arg;
	unsigned idle = 0;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		int stop = q->stopping;
		pthread_mutex_unlock(&q->lock);
		if (stop)
			break;
		struct bo_error err = BO_ERROR_INIT;
		struct claimed cl = {0};
		int rc = claim_one(q, NULL, &cl, &err);
		if (rc < 0)
			log_error("jobs: claim failed: %s", err.detail);
		bo_error_cleanup(&err);
		if (rc == 1) {
			run_claimed(q, &cl);
			claimed_cleanup(&cl);
			continue;
		}
		/* nothing ready: now and then re-queue jobs whose lease expired (a handler that hung
		 * or a CLI runner that died), then sleep until notified or the next poll */
		if (++idle % SWEEP_EVERY_IDLE == 0) {
			rc = jobs_recover(q, 0, &err);
			if (rc < 0)
				log_warnx("jobs: lease sweep failed: %s", err.detail);
			bo_error_cleanup(&err);
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += IDLE_WAIT_SECONDS;
		pthread_mutex_lock(&q->lock);
		if (!q->stopping)
			pthread_cond_timedwait(&q->wake, &q->lock, &until);
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

int jobs_start(jobs *q, int n, struct bo_error *err)
{
	if (n > MAX_RUNNERS)
		n = MAX_RUNNERS;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&q->threads[i], NULL, runner_main, q)) {
			jobs_stop(q);
			return bo_error_set(err, BO_EINTERNAL, "cannot start job runner thread: %s", strerror(errno));
		}
		q->nthreads++;
	}
	return 0;
}

void jobs_notify(jobs *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void jobs_stop(jobs *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	q->nthreads = 0;
}

void jobs_free(jobs *q)
{
	if (!q)
		return;
	jobs_stop(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	free(q);
}

void jobs_give_up(const struct job *job)
{
	if (job->give_up)
		*job->give_up = 1;
}

void jobs_touch(const struct job *job)
{
	jobs *q = job->queue;
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	struct bo_error err = BO_ERROR_INIT;
	if (!q || db_acquire(q->db, &c, &err))
		goto fail;
	if (db_prepare(c, &st, "UPDATE jobs SET lease_until = ?1 WHERE id = ?2 AND lease_owner = ?3", &err))
		goto fail;
	sqlite3_bind_int64(st, 1, db_now_unix() + q->opt.lease_seconds);
	sqlite3_bind_int64(st, 2, job->id);
	db_bind_text(st, 3, q->owner);
	db_step_done(st, &err);
fail:
	if (err.code)
		log_warnx("jobs: cannot extend the lease of job %lld: %s", (long long)job->id, err.detail);
	if (q)
		db_release(q->db, c);
	bo_error_cleanup(&err);
}

int jobs_counts(sqlite3 *c, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *o = cJSON_CreateObject();
	int rc = o ? 0 : bo_error_set(err, BO_ENOMEM, "out of memory");
	if (rc)
		return rc;
	rc = db_prepare(c, &st, "SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
			err);
	if (rc)
		goto fail;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = db_column_text(st, 0);
		cJSON *k = cJSON_GetObjectItemCaseSensitive(o, kind);
		if (!k)
			k = cJSON_AddObjectToObject(o, kind);
		if (!k || !cJSON_AddNumberToObject(k, db_column_text(st, 1), sqlite3_column_int64(st, 2))) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "count jobs", err);
		goto fail;
	}
	*out = o;
	o = NULL;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(o);
	return rc;
}

static cJSON *row_to_json(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
	cJSON_AddStringToObject(o, "kind", db_column_text(st, 1));
	cJSON_AddStringToObject(o, "subject", db_column_text(st, 2));
	cJSON_AddStringToObject(o, "state", db_column_text(st, 3));
	cJSON_AddNumberToObject(o, "attempts", sqlite3_column_int(st, 4));
	cJSON_AddNumberToObject(o, "max_attempts", sqlite3_column_int(st, 5));
	if (sqlite3_column_type(st, 6) == SQLITE_NULL)
		cJSON_AddNullToObject(o, "last_error");
	else
		cJSON_AddStringToObject(o, "last_error", db_column_text(st, 6));
	cJSON_AddStringToObject(o, "created_at", db_column_text(st, 7));
	if (sqlite3_column_type(st, 8) == SQLITE_NULL)
		cJSON_AddNullToObject(o, "finished_at");
	else
		cJSON_AddStringToObject(o, "finished_at", db_column_text(st, 8));
	cJSON *payload = cJSON_Parse(db_column_text(st, 9));
	cJSON_AddItemToObject(o, "payload", payload ? payload : cJSON_CreateObject());
	return o;
}

#define JOB_COLUMNS "id, kind, subject, state, attempts, max_attempts, last_error, created_at, finished_at, payload_json"

int jobs_get(sqlite3 *c, int64_t id, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*out = row_to_json(st);
		rc = *out ? 0 : bo_error_set(err, BO_ENOMEM, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = bo_error_set(err, BO_ENOTFOUND, "no job %lld", (long long)id);
	} else {
		rc = db_fail(c, "get job", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int jobs_retry(sqlite3 *c, int64_t id, struct bo_error *err)
{
	cJSON *job = NULL;
	sqlite3_stmt *st = NULL;
	int rc = jobs_get(c, id, &job, err);
	if (rc)
		return rc;
	const char *state = cJSON_GetObjectItemCaseSensitive(job, "state")->valuestring;
	if (strcmp(state, "dead") && strcmp(state, "failed")) {
		rc = bo_error_set(err, BO_ECONFLICT, "job %lld is %s; only dead or failed jobs can be retried",
				  (long long)id, state);
		goto fail;
	}
	rc = db_prepare(c, &st,
			"UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?1, finished_at = NULL "
			"WHERE id = ?2",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, db_now_unix());
	sqlite3_bind_int64(st, 2, id);
	rc = db_step_done(st, err);
fail:
	cJSON_Delete(job);
	return rc;
}

int jobs_list(sqlite3 *c, const char *state, int limit, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *arr = cJSON_CreateArray();
	int rc = arr ? 0 : bo_error_set(err, BO_ENOMEM, "out of memory");
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, state);
	sqlite3_bind_int(st, 2, limit);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = row_to_json(st);
		if (!o) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		cJSON_AddItemToArray(arr, o);
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list jobs", err);
		goto fail;
	}
	*out = arr;
	arr = NULL;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(arr);
	return rc;
}

/* Unit tests for jobs: the outbox (enqueue rolls back with its transaction), claiming
 * and running, backoff and dead jobs, coalescing, cancellation, lease recovery, retry,
 * the JSON views, and runner threads that run every job exactly once. */
#include "check.h"
#include "sql_check.h"

#include "infra/db.h"
#include "common/error.h"
#include "infra/jobs.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <time.h>

#define MAX_IDS 256

struct ctx {
	db *d;
	pthread_mutex_t lock;
	int fail;              /* handler fails while set */
	int calls;
	int dead_calls;
	int calls_by_id[MAX_IDS];
	char last_kind[32], last_subject[64], last_payload[256], last_dead_error[1200];
	int last_attempts, last_max_attempts;
	char owner[128];       /* lease_owner seen by the handler */
	int touch_ok;          /* jobs_touch moved an expired lease into the future */
	int do_touch;
};

static int handler(void *vctx, const struct job *job, struct bo_error *err)
{
	struct ctx *c = vctx;
	pthread_mutex_lock(&c->lock);
	c->calls++;
	if (job->id > 0 && job->id < MAX_IDS)
		c->calls_by_id[job->id]++;
	snprintf(c->last_kind, sizeof(c->last_kind), "%s", job->kind);
	snprintf(c->last_subject, sizeof(c->last_subject), "%s", job->subject);
	snprintf(c->last_payload, sizeof(c->last_payload), "%s", job->payload_json);
	c->last_attempts = job->attempts;
	c->last_max_attempts = job->max_attempts;
	int fail = c->fail, do_touch = c->do_touch;
	pthread_mutex_unlock(&c->lock);

	if (do_touch) {
		/* read our lease owner, expire the lease, and let jobs_touch renew it */
		struct bo_error e = BO_ERROR_INIT;
		sqlite3 *conn = NULL;
		if (!db_acquire(c->d, &conn, &e)) {
			sqlite3_stmt *st = NULL;
			char sql[128];
			snprintf(sql, sizeof(sql), "SELECT lease_owner FROM jobs WHERE id = %lld", (long long)job->id);
			if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
				snprintf(c->owner, sizeof(c->owner), "%s", db_column_text(st, 0));
			sqlite3_finalize(st);
			snprintf(sql, sizeof(sql), "UPDATE jobs SET lease_until = 1 WHERE id = %lld", (long long)job->id);
			sqlite3_exec(conn, sql, NULL, NULL, NULL);
			db_release(c->d, conn);
		}
		jobs_touch(job);
		if (!db_acquire(c->d, &conn, &e)) {
			sqlite3_stmt *st = NULL;
			char sql[128];
			snprintf(sql, sizeof(sql), "SELECT lease_until FROM jobs WHERE id = %lld", (long long)job->id);
			if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
				c->touch_ok = sqlite3_column_int64(st, 0) >= db_now_unix() + 50;
			sqlite3_finalize(st);
			db_release(c->d, conn);
		}
		bo_error_cleanup(&e);
	}
	if (fail)
		return bo_error_set(err, BO_ESTORAGE, "s3 is down (attempt %d)", job->attempts);
	return 0;
}

static void on_dead(void *vctx, const struct job *job, const char *last_error)
{
	struct ctx *c = vctx;
	(void)job;
	pthread_mutex_lock(&c->lock);
	c->dead_calls++;
	snprintf(c->last_dead_error, sizeof(c->last_dead_error), "%s", last_error ? last_error : "");
	pthread_mutex_unlock(&c->lock);
}

static const struct jobs_kind kinds[] = {
	{"stage", handler, on_dead},
	{"test", handler, on_dead},
	{"mail", handler, NULL},
};

struct fixture {
	db *d;
	jobs *q;
	sqlite3 *c; /* a held connection for setup and inspection */
	struct ctx ctx;
	struct bo_error err;
};

static int setup(struct fixture *f, int64_t backoff, int64_t max_attempts)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->ctx.lock, NULL);
	int rc = db_open(&f->d, "t.db", check_src("migrations"), &f->err);
	check(rc == 0, "db_open: %s", f->err.detail);
	if (rc)
		return rc;
	f->ctx.d = f->d;
	struct jobs_options opt = {60, max_attempts, backoff, "serve", NULL};
	rc = jobs_create(&f->q, f->d, kinds, sizeof(kinds) / sizeof(kinds[0]), &f->ctx, &opt, &f->err);
	check(rc == 0, "jobs_create: %s", f->err.detail);
	if (rc)
		return rc;
	rc = db_acquire(f->d, &f->c, &f->err);
	check(rc == 0, "acquire");
	return rc;
}

static void teardown(struct fixture *f)
{
	jobs_free(f->q);
	if (f->c)
		db_release(f->d, f->c);
	db_close(f->d);
	pthread_mutex_destroy(&f->ctx.lock);
	bo_error_cleanup(&f->err);
}


/* Text column of job id (static buffer). */
static const char *job_text(sqlite3 *c, int64_t id, const char *col)
{
	static char buf[1200];
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT %s FROM jobs WHERE id = %lld", col, (long long)id);
	sqlite3_stmt *st = NULL;
	snprintf(buf, sizeof(buf), "<none>");
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof(buf), "%s", sqlite3_column_type(st, 0) == SQLITE_NULL ? "<null>" : db_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}


/* Enqueues one job in its own transaction. */
static int64_t enqueue(struct fixture *f, const char *kind, const char *subject, const char *payload,
		       int max_attempts)
{
	int64_t id = 0;
	check(db_begin(f->c, &f->err) == 0, "begin: %s", f->err.detail);
	check(jobs_enqueue(f->c, kind, subject, payload, max_attempts, &id, &f->err) == 0, "enqueue: %s",
	      f->err.detail);
	check(db_commit(f->c, &f->err) == 0, "commit: %s", f->err.detail);
	return id;
}

static void test_jobs__enqueue_rolls_back_with_transaction(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		int64_t id = 0;
		check(db_begin(f.c, &f.err) == 0, "begin");
		check(jobs_enqueue(f.c, "stage", "affable-shark", NULL, 0, &id, &f.err) == 0, "enqueue: %s",
		      f.err.detail);
		check(id > 0, "id %lld", (long long)id);
		db_rollback(f.c);
		check(sql_intf(f.c, "SELECT count(*) FROM jobs") == 0, "job survived the rollback");
		int ran = -1;
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 0, "ran %d after rollback", ran);
		check(f.ctx.calls == 0, "handler ran");

		id = enqueue(&f, "stage", "affable-shark", NULL, 0);
		check(sql_intf(f.c, "SELECT count(*) FROM jobs") == 1, "committed job missing");
		check(!strcmp(job_text(f.c, id, "state"), "queued"), "state %s", job_text(f.c, id, "state"));
		check(!strcmp(job_text(f.c, id, "payload_json"), "{}"), "NULL payload stored as %s",
		      job_text(f.c, id, "payload_json"));
		/* an unknown kind is refused by the schema */
		check(db_begin(f.c, &f.err) == 0, "begin");
		int rc = jobs_enqueue(f.c, "no-such-kind", "x", NULL, 0, NULL, &f.err);
		check(rc == BO_EDATABASE, "unknown kind rc %d", rc);
		db_rollback(f.c);
		bo_error_cleanup(&f.err);
	}
	teardown(&f);
}

static void test_jobs__run_one(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		int64_t id = enqueue(&f, "stage", "affable-shark", "{\"revision\":3}", 0);
		int64_t mail = enqueue(&f, "mail", "user:1", "{\"to\":\"a@b\"}", 0);
		int ran = -1;
		f.ctx.do_touch = 1;
		/* kind filter: no test job is queued */
		check(jobs_run_one(f.q, "test", &ran, &f.err) == 0 && ran == 0, "ran a test job");
		check(jobs_run_one(f.q, "stage", &ran, &f.err) == 0, "run_one: %s", f.err.detail);
		check(ran == 1, "ran %d", ran);
		check(f.ctx.calls == 1, "handler calls %d", f.ctx.calls);
		check(!strcmp(f.ctx.last_kind, "stage"), "kind %s", f.ctx.last_kind);
		check(!strcmp(f.ctx.last_subject, "affable-shark"), "subject %s", f.ctx.last_subject);
		check(!strcmp(f.ctx.last_payload, "{\"revision\":3}"), "payload %s", f.ctx.last_payload);
		check(f.ctx.last_attempts == 1, "attempts %d", f.ctx.last_attempts);
		check(f.ctx.last_max_attempts == 5, "max_attempts %d (queue default)", f.ctx.last_max_attempts);
		check(!strncmp(f.ctx.owner, "serve:", 6), "lease owner '%s'", f.ctx.owner);
		check(f.ctx.touch_ok, "jobs_touch did not renew the lease");
		check(!strcmp(job_text(f.c, id, "state"), "done"), "state %s", job_text(f.c, id, "state"));
		check(strcmp(job_text(f.c, id, "finished_at"), "<null>"), "finished_at not set");
		check(!strcmp(job_text(f.c, id, "last_error"), "<null>"), "last_error %s",
		      job_text(f.c, id, "last_error"));
		check(!strcmp(job_text(f.c, id, "lease_until"), "<null>"), "lease kept after done");
		check(!strcmp(job_text(f.c, mail, "state"), "queued"), "mail job touched");

		f.ctx.do_touch = 0;
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 1, "mail job not run");
		check(!strcmp(f.ctx.last_kind, "mail"), "kind %s", f.ctx.last_kind);
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 0, "ran %d with an empty queue", ran);
		check(f.ctx.calls == 2, "handler calls %d", f.ctx.calls);
	}
	teardown(&f);
}

static void test_jobs__backoff_grows(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		int64_t id = enqueue(&f, "stage", "affable-shark", NULL, 0);
		f.ctx.fail = 1;
		const int64_t want[] = {2, 4, 8, 16};
		for (int attempt = 1; attempt <= 4; attempt++) {
			int ran = -1;
			int64_t before = db_now_unix();
			check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 1, "attempt %d did not run", attempt);
			int64_t after = db_now_unix();
			check(!strcmp(job_text(f.c, id, "state"), "failed"), "attempt %d: state %s", attempt,
			      job_text(f.c, id, "state"));
			check(sql_intf(f.c, "SELECT attempts FROM jobs WHERE id = %lld", (long long)id) == attempt,
			      "attempts column");
			long long run_after = sql_intf(f.c, "SELECT run_after FROM jobs WHERE id = %lld", (long long)id);
			check(run_after - before >= want[attempt - 1] && run_after - after <= want[attempt - 1],
			      "attempt %d: run_after - now = %lld, want %lld", attempt, run_after - before,
			      (long long)want[attempt - 1]);
			const char *le = job_text(f.c, id, "last_error");
			check(strstr(le, "BO_ESTORAGE") && strstr(le, "s3 is down"), "last_error '%s'", le);
			char num[32];
			snprintf(num, sizeof(num), "attempt %d", attempt);
			check(strstr(le, num) != NULL, "last_error '%s' is not from attempt %d", le, attempt);
			/* not due yet: nothing to claim */
			check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 0, "claimed a job before run_after");
			sql_execf(f.c, "UPDATE jobs SET run_after = 0 WHERE id = %lld", (long long)id);
		}
		check(f.ctx.calls == 4, "calls %d", f.ctx.calls);
		check(f.ctx.dead_calls == 0, "dead before max_attempts");
	}
	teardown(&f);
}

static void test_jobs__dead_after_max_attempts(void)
{
	struct fixture f;
	if (setup(&f, 0, 5) == 0) {
		int64_t id = enqueue(&f, "stage", "affable-shark", NULL, 3);
		int64_t mail = enqueue(&f, "mail", "m", NULL, 1);
		f.ctx.fail = 1;
		int ran = -1;
		for (int i = 0; i < 3; i++) {
			/* backoff 0: due at once */
			check(jobs_run_one(f.q, "stage", &ran, &f.err) == 0 && ran == 1, "attempt %d", i + 1);
			check(f.ctx.last_max_attempts == 3, "max_attempts %d", f.ctx.last_max_attempts);
		}
		check(!strcmp(job_text(f.c, id, "state"), "dead"), "state %s", job_text(f.c, id, "state"));
		check(strcmp(job_text(f.c, id, "finished_at"), "<null>"), "finished_at not set");
		check(f.ctx.dead_calls == 1, "dead callback called %d times", f.ctx.dead_calls);
		check(strstr(f.ctx.last_dead_error, "s3 is down (attempt 3)") != NULL, "dead error '%s'",
		      f.ctx.last_dead_error);
		check(jobs_run_one(f.q, "stage", &ran, &f.err) == 0 && ran == 0, "a dead job ran");
		check(f.ctx.calls == 3, "calls %d", f.ctx.calls);
		/* a kind without a dead callback dies quietly */
		check(jobs_run_one(f.q, "mail", &ran, &f.err) == 0 && ran == 1, "mail");
		check(!strcmp(job_text(f.c, mail, "state"), "dead"), "mail state %s", job_text(f.c, mail, "state"));
		check(f.ctx.dead_calls == 1, "dead callback called for mail");
	}
	teardown(&f);
}

static void test_jobs__kind_without_handler_fails(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		int64_t id = enqueue(&f, "archive", "x", NULL, 0);
		int ran = -1;
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 1, "did not claim");
		check(!strcmp(job_text(f.c, id, "state"), "failed"), "state %s", job_text(f.c, id, "state"));
		check(strstr(job_text(f.c, id, "last_error"), "no handler") != NULL, "last_error %s",
		      job_text(f.c, id, "last_error"));
		check(f.ctx.calls == 0, "a handler ran");
	}
	teardown(&f);
}

static void test_jobs__coalesced(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		int64_t a = 0, b = 0, c = 0, d = 0, e = 0;
		check(db_begin(f.c, &f.err) == 0, "begin");
		check(jobs_enqueue_coalesced(f.c, "test", "s1", "{\"n\":1}", &a, &f.err) == 0, "1: %s", f.err.detail);
		check(jobs_enqueue_coalesced(f.c, "test", "s1", "{\"n\":2}", &b, &f.err) == 0, "2: %s", f.err.detail);
		check(jobs_enqueue_coalesced(f.c, "test", "s2", NULL, &c, &f.err) == 0, "3");
		check(jobs_enqueue_coalesced(f.c, "mail", "s1", NULL, &d, &f.err) == 0, "4");
		check(db_commit(f.c, &f.err) == 0, "commit");
		check(a > 0 && a == b, "second coalesced enqueue made job %lld (first %lld)", (long long)b, (long long)a);
		check(c != a && d != a && c != d, "different subject/kind coalesced");
		check(sql_intf(f.c, "SELECT count(*) FROM jobs WHERE kind='test' AND subject='s1'") == 1, "two s1 jobs");
		check(sql_intf(f.c, "SELECT count(*) FROM jobs") == 3, "count %lld",
		      sql_intf(f.c, "SELECT count(*) FROM jobs"));
		/* once the job is running, a new change needs a new job */
		sql_execf(f.c, "UPDATE jobs SET state='running' WHERE id=%lld", (long long)a);
		check(jobs_enqueue_coalesced(f.c, "test", "s1", NULL, &e, &f.err) == 0, "5");
		check(e != a && e > 0, "coalesced into a running job");
		check(sql_intf(f.c, "SELECT count(*) FROM jobs WHERE kind='test' AND subject='s1'") == 2, "count s1");
	}
	teardown(&f);
}

static void test_jobs__cancel_subject(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		int64_t a1 = enqueue(&f, "stage", "A", NULL, 0);
		int64_t a2 = enqueue(&f, "test", "A", NULL, 0);
		int64_t a3 = enqueue(&f, "test", "A", NULL, 0);
		int64_t a4 = enqueue(&f, "mail", "A", NULL, 0);
		int64_t b1 = enqueue(&f, "stage", "B", NULL, 0);
		sql_execf(f.c, "UPDATE jobs SET state='done' WHERE id=%lld", (long long)a3);
		sql_execf(f.c, "UPDATE jobs SET state='failed' WHERE id=%lld", (long long)a4);
		int n = jobs_cancel_subject(f.c, "A", "test", "superseded by revision 2", &f.err);
		check(n == 1, "cancel A/test returned %d", n);
		check(!strcmp(job_text(f.c, a2, "state"), "dead"), "a2 %s", job_text(f.c, a2, "state"));
		check(!strcmp(job_text(f.c, a2, "last_error"), "superseded by revision 2"), "reason %s",
		      job_text(f.c, a2, "last_error"));
		check(!strcmp(job_text(f.c, a1, "state"), "queued"), "a1 cancelled by kind filter");
		n = jobs_cancel_subject(f.c, "A", NULL, "gone", &f.err);
		check(n == 2, "cancel A returned %d", n);
		check(!strcmp(job_text(f.c, a1, "state"), "dead"), "a1 %s", job_text(f.c, a1, "state"));
		check(!strcmp(job_text(f.c, a4, "state"), "dead"), "failed a4 %s", job_text(f.c, a4, "state"));
		check(!strcmp(job_text(f.c, a3, "state"), "done"), "done job cancelled: %s", job_text(f.c, a3, "state"));
		check(!strcmp(job_text(f.c, b1, "state"), "queued"), "B cancelled");
		check(strcmp(job_text(f.c, a1, "finished_at"), "<null>"), "finished_at not set");
		check(jobs_cancel_subject(f.c, "nobody", NULL, "x", &f.err) == 0, "cancel of nothing");
		int ran = -1;
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 1, "B should run");
		check(!strcmp(f.ctx.last_subject, "B"), "ran %s", f.ctx.last_subject);
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 0, "a cancelled job ran");
		check(f.ctx.dead_calls == 0, "cancel calls the dead callback");
	}
	teardown(&f);
}

static void test_jobs__recover(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		/* learn our own owner string by running one job */
		enqueue(&f, "stage", "probe", NULL, 0);
		f.ctx.do_touch = 1;
		int ran = -1;
		check(jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran == 1, "probe");
		f.ctx.do_touch = 0;
		require(!strncmp(f.ctx.owner, "serve:", 6), "owner '%s'", f.ctx.owner);

		int64_t expired = enqueue(&f, "stage", "e", NULL, 0);
		int64_t other_serve = enqueue(&f, "stage", "o", NULL, 0);
		int64_t mine = enqueue(&f, "stage", "m", NULL, 0);
		int64_t cli = enqueue(&f, "stage", "c", NULL, 0);
		int64_t far = db_now_unix() + 3600;
		sql_execf(f.c, "UPDATE jobs SET state='running', lease_until=%lld, lease_owner='cli:1:aa' WHERE id=%lld",
		     (long long)(db_now_unix() - 10), (long long)expired);
		sql_execf(f.c, "UPDATE jobs SET state='running', lease_until=%lld, lease_owner='serve:999:bb' WHERE id=%lld",
		     (long long)far, (long long)other_serve);
		sql_execf(f.c, "UPDATE jobs SET state='running', lease_until=%lld, lease_owner='%s' WHERE id=%lld",
		     (long long)far, f.ctx.owner, (long long)mine);
		sql_execf(f.c, "UPDATE jobs SET state='running', lease_until=%lld, lease_owner='cli:5:cc' WHERE id=%lld",
		     (long long)far, (long long)cli);

		int n = jobs_recover(f.q, 0, &f.err);
		check(n == 1, "recover(0) returned %d, want 1", n);
		check(!strcmp(job_text(f.c, expired, "state"), "queued"), "expired %s", job_text(f.c, expired, "state"));
		check(!strcmp(job_text(f.c, expired, "lease_owner"), "<null>"), "lease_owner kept");
		check(!strcmp(job_text(f.c, other_serve, "state"), "running"), "other serve job requeued without server_owned");

		n = jobs_recover(f.q, 1, &f.err);
		check(n == 1, "recover(1) returned %d, want 1", n);
		check(!strcmp(job_text(f.c, other_serve, "state"), "queued"), "other serve %s",
		      job_text(f.c, other_serve, "state"));
		check(!strcmp(job_text(f.c, mine, "state"), "running"), "our own running job was requeued");
		check(!strcmp(job_text(f.c, cli, "state"), "running"), "a live cli job was requeued");
		check(jobs_recover(f.q, 1, &f.err) == 0, "second recover not idempotent");

		/* the recovered jobs run again */
		int before = f.ctx.calls;
		while (jobs_run_one(f.q, NULL, &ran, &f.err) == 0 && ran)
			;
		check(f.ctx.calls - before == 2, "%d recovered jobs ran, want 2", f.ctx.calls - before);
	}
	teardown(&f);
}

static void test_jobs__retry(void)
{
	struct fixture f;
	if (setup(&f, 0, 5) == 0) {
		int64_t dead = enqueue(&f, "stage", "d", NULL, 1);
		int64_t done = enqueue(&f, "test", "t", NULL, 0);
		int ran;
		f.ctx.fail = 1;
		check(jobs_run_one(f.q, "stage", &ran, &f.err) == 0 && ran == 1, "run dead");
		f.ctx.fail = 0;
		check(jobs_run_one(f.q, "test", &ran, &f.err) == 0 && ran == 1, "run done");
		require(!strcmp(job_text(f.c, dead, "state"), "dead"), "state %s", job_text(f.c, dead, "state"));

		int rc = jobs_retry(f.c, dead, &f.err);
		check(rc == 0, "retry dead: %s", f.err.detail);
		check(!strcmp(job_text(f.c, dead, "state"), "queued"), "state %s", job_text(f.c, dead, "state"));
		check(sql_intf(f.c, "SELECT attempts FROM jobs WHERE id=%lld", (long long)dead) == 0, "attempts not reset");
		check(!strcmp(job_text(f.c, dead, "finished_at"), "<null>"), "finished_at kept");
		check(jobs_run_one(f.q, "stage", &ran, &f.err) == 0 && ran == 1, "retried job did not run");
		check(!strcmp(job_text(f.c, dead, "state"), "done"), "state %s", job_text(f.c, dead, "state"));

		rc = jobs_retry(f.c, done, &f.err);
		check(rc == BO_ECONFLICT, "retry done: rc %d", rc);
		check(strstr(f.err.detail, "done") != NULL, "detail '%s'", f.err.detail);
		check(!strcmp(job_text(f.c, done, "state"), "done"), "done job changed");
		bo_error_cleanup(&f.err);
		int64_t queued = enqueue(&f, "mail", "q", NULL, 0);
		rc = jobs_retry(f.c, queued, &f.err);
		check(rc == BO_ECONFLICT, "retry queued: rc %d", rc);
		bo_error_cleanup(&f.err);
		rc = jobs_retry(f.c, 99999, &f.err);
		check(rc == BO_ENOTFOUND, "retry missing: rc %d", rc);
		bo_error_cleanup(&f.err);
	}
	teardown(&f);
}

static double num(const cJSON *o, const char *k) { return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k)); }
static const char *str(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static void test_jobs__json_views(void)
{
	struct fixture f;
	if (setup(&f, 0, 5) == 0) {
		int64_t s1 = enqueue(&f, "stage", "x1", "{\"revision\":1}", 0);
		int64_t s2 = enqueue(&f, "stage", "x2", NULL, 0);
		int64_t s3 = enqueue(&f, "stage", "x3", NULL, 0);
		int64_t m1 = enqueue(&f, "mail", "u", "not json", 1);
		int ran;
		check(jobs_run_one(f.q, "stage", &ran, &f.err) == 0 && ran == 1, "run s1");
		f.ctx.fail = 1;
		check(jobs_run_one(f.q, "mail", &ran, &f.err) == 0 && ran == 1, "run m1");

		cJSON *counts = NULL;
		require(jobs_counts(f.c, &counts, &f.err) == 0, "counts: %s", f.err.detail);
		const cJSON *stage = cJSON_GetObjectItemCaseSensitive(counts, "stage");
		const cJSON *mail = cJSON_GetObjectItemCaseSensitive(counts, "mail");
		check(cJSON_IsObject(stage) && cJSON_IsObject(mail), "counts shape");
		check(num(stage, "done") == 1 && num(stage, "queued") == 2, "stage counts");
		check(num(mail, "dead") == 1, "mail counts");
		check(cJSON_GetArraySize(counts) == 2, "kinds %d", cJSON_GetArraySize(counts));
		cJSON_Delete(counts);

		cJSON *job = NULL;
		require(jobs_get(f.c, s1, &job, &f.err) == 0, "get: %s", f.err.detail);
		check(num(job, "id") == (double)s1, "id");
		check(!strcmp(str(job, "kind"), "stage") && !strcmp(str(job, "subject"), "x1"), "kind/subject");
		check(!strcmp(str(job, "state"), "done"), "state");
		check(num(job, "attempts") == 1, "attempts %g", num(job, "attempts"));
		check(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(job, "max_attempts")), "max_attempts");
		check(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(job, "last_error")), "last_error not null");
		check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(job, "created_at")), "created_at");
		check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(job, "finished_at")), "finished_at");
		const cJSON *payload = cJSON_GetObjectItemCaseSensitive(job, "payload");
		check(num(payload, "revision") == 1, "payload not parsed");
		cJSON_Delete(job);
		job = NULL;
		require(jobs_get(f.c, m1, &job, &f.err) == 0, "get m1");
		check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(job, "last_error")), "last_error of dead job");
		check(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(job, "payload")), "bad payload not {}");
		check(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(job, "finished_at")) == 0, "finished_at of dead");
		cJSON_Delete(job);
		job = NULL;
		check(jobs_get(f.c, 4242, &job, &f.err) == BO_ENOTFOUND && job == NULL, "missing job");
		bo_error_cleanup(&f.err);

		cJSON *list = NULL;
		require(jobs_list(f.c, NULL, 100, &list, &f.err) == 0, "list: %s", f.err.detail);
		check(cJSON_GetArraySize(list) == 4, "list size %d", cJSON_GetArraySize(list));
		check(num(cJSON_GetArrayItem(list, 0), "id") == (double)m1, "not newest first");
		check(num(cJSON_GetArrayItem(list, 3), "id") == (double)s1, "oldest not last");
		cJSON_Delete(list);
		list = NULL;
		require(jobs_list(f.c, "queued", 100, &list, &f.err) == 0, "list queued");
		check(cJSON_GetArraySize(list) == 2, "queued size %d", cJSON_GetArraySize(list));
		check(num(cJSON_GetArrayItem(list, 0), "id") == (double)s3 &&
			      num(cJSON_GetArrayItem(list, 1), "id") == (double)s2,
		      "queued order");
		cJSON_Delete(list);
		list = NULL;
		require(jobs_list(f.c, NULL, 1, &list, &f.err) == 0, "list limit");
		check(cJSON_GetArraySize(list) == 1, "limit 1 gave %d", cJSON_GetArraySize(list));
		cJSON_Delete(list);
		list = NULL;
		require(jobs_list(f.c, "running", 10, &list, &f.err) == 0, "list running");
		check(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 0, "running not empty array");
		cJSON_Delete(list);
	}
	teardown(&f);
}

static void test_jobs__runner_threads(void)
{
	struct fixture f;
	if (setup(&f, 2, 5) == 0) {
		enum { N = 20 };
		require(jobs_start(f.q, 2, &f.err) == 0, "start: %s", f.err.detail);
		int64_t ids[N];
		check(db_begin(f.c, &f.err) == 0, "begin");
		for (int i = 0; i < N; i++) {
			char subject[32];
			snprintf(subject, sizeof(subject), "s%d", i);
			check(jobs_enqueue(f.c, i % 2 ? "stage" : "test", subject, NULL, 0, &ids[i], &f.err) == 0,
			      "enqueue %d", i);
		}
		check(db_commit(f.c, &f.err) == 0, "commit");
		/* the runners must not hold our connection's lock: release it while they work */
		db_release(f.d, f.c);
		f.c = NULL;
		jobs_notify(f.q);
		int done = 0;
		for (int waited = 0; waited < 1000 && done < N; waited++) {
			usleep(10000);
			pthread_mutex_lock(&f.ctx.lock);
			done = f.ctx.calls;
			pthread_mutex_unlock(&f.ctx.lock);
		}
		/* let the last outcomes be recorded, then stop */
		sqlite3 *c = NULL;
		long long ndone = 0;
		for (int waited = 0; waited < 500; waited++) {
			if (db_acquire(f.d, &c, &f.err) == 0) {
				ndone = sql_intf(c, "SELECT count(*) FROM jobs WHERE state='done'");
				db_release(f.d, c);
			}
			if (ndone == N)
				break;
			usleep(10000);
		}
		jobs_stop(f.q);
		check(ndone == N, "%lld of %d jobs done", ndone, N);
		pthread_mutex_lock(&f.ctx.lock);
		check(f.ctx.calls == N, "handler ran %d times, want %d", f.ctx.calls, N);
		for (int i = 0; i < N; i++)
			check(f.ctx.calls_by_id[ids[i]] == 1, "job %lld ran %d times", (long long)ids[i],
			      f.ctx.calls_by_id[ids[i]]);
		pthread_mutex_unlock(&f.ctx.lock);
		jobs_stop(f.q); /* twice is fine */
		jobs_notify(NULL);
		jobs_stop(NULL);
	}
	teardown(&f);
	jobs_free(NULL);
}

static struct check_test tests[] = {
	TEST(test_jobs__enqueue_rolls_back_with_transaction),
	TEST(test_jobs__run_one),
	TEST(test_jobs__backoff_grows),
	TEST(test_jobs__dead_after_max_attempts),
	TEST(test_jobs__kind_without_handler_fails),
	TEST(test_jobs__coalesced),
	TEST(test_jobs__cancel_subject),
	TEST(test_jobs__recover),
	TEST(test_jobs__retry),
	TEST(test_jobs__json_views),
	TEST(test_jobs__runner_threads),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

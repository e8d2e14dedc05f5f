/* jobs: the queue of side effects, in SQLite. A job is enqueued in the same
 * transaction as the state change that needs it (outbox pattern), claimed by a runner
 * with a lease, retried with exponential backoff, and dead after max attempts.
 * Handlers must be idempotent: a job can run again after a crash. */
#ifndef BO_JOBS_H
#define BO_JOBS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;
typedef struct db db;

typedef struct jobs jobs;

struct job {
	int64_t id;
	const char *kind;
	const char *subject;
	const char *payload_json;
	int attempts;     /* including this one */
	int max_attempts;
	jobs *queue;      /* for jobs_touch */
	int *give_up;     /* for jobs_give_up */
};

/* A handler returns 0 when the job is done, or a BO_E* code with err set to retry it
 * later (dead after max_attempts). Failures that retrying cannot fix should be recorded
 * by the handler itself (e.g. the draft goes to `error`) and return 0. */
typedef int (*jobs_handler_fn)(void *ctx, const struct job *job, struct bo_error *err);
/* Called once when a job becomes dead, with its last error (may be NULL). */
typedef void (*jobs_dead_fn)(void *ctx, const struct job *job, const char *last_error);

struct jobs_kind {
	const char *kind;
	jobs_handler_fn run;
	jobs_dead_fn dead;
};

struct jobs_options {
	int64_t lease_seconds;
	int64_t max_attempts;
	int64_t backoff_seconds;
	const char *owner_prefix; /* "serve" or "cli": lease_owner is "<prefix>:<pid>:<random>" */
	const char *skip_kind;    /* a kind these runners never claim (NULL = none): with
				     test_runner=lease, "test", which lease workers take */
};

/* Enqueues a job inside the caller's open transaction. payload_json NULL = "{}".
 * max_attempts 0 = the queue's configured default (written into the row when first claimed).
 * Returns BO_EDATABASE on failure. id_out may be NULL. */
int jobs_enqueue(sqlite3 *c, const char *kind, const char *subject, const char *payload_json,
		 int max_attempts, int64_t *id_out, struct bo_error *err);
/* Postpones job id (just enqueued, in the caller's transaction) to run no sooner than
 * seconds from now. Returns 0 or BO_EDATABASE. */
int jobs_delay(sqlite3 *c, int64_t id, int64_t seconds, struct bo_error *err);
/* Like jobs_enqueue, but does nothing when a job of this kind and subject is already
 * queued (not yet running): bursts of changes coalesce into one job. */
int jobs_enqueue_coalesced(sqlite3 *c, const char *kind, const char *subject,
			   const char *payload_json, int64_t *id_out, struct bo_error *err);
/* Marks queued/failed jobs of subject (and kind, NULL = any) as dead with reason, so a
 * superseded revision's work is not done. Returns the number cancelled or <0. */
int jobs_cancel_subject(sqlite3 *c, const char *subject, const char *kind, const char *reason,
			struct bo_error *err);

/* Creates a queue bound to db and the handler table (borrowed; must outlive the queue). */
int jobs_create(jobs **out, db *d, const struct jobs_kind *kinds, size_t nkinds, void *ctx,
		const struct jobs_options *opt, struct bo_error *err);
/* Re-queues running jobs whose lease expired, and (for a server, which holds the data
 * directory lock) every running job left by an earlier server process. Returns the count. */
int jobs_recover(jobs *q, int server_owned, struct bo_error *err);
/* Starts n runner threads. */
int jobs_start(jobs *q, int n, struct bo_error *err);
/* Wakes the runners (after an enqueue was committed). */
void jobs_notify(jobs *q);
/* Stops and joins the runners (the running jobs finish first). */
void jobs_stop(jobs *q);
void jobs_free(jobs *q);
/* Claims and runs one ready job in the calling thread (CLI, tests). *ran_out = 0 when none
 * was ready. kind NULL = any kind. */
int jobs_run_one(jobs *q, const char *kind, int *ran_out, struct bo_error *err);
/* Makes the failure the handler is about to return final: the job becomes dead now
 * (its dead callback runs) instead of being retried; `jobs retry` can still revive it. */
void jobs_give_up(const struct job *job);
/* Extends the lease of a running job (long handlers call it between steps). */
void jobs_touch(const struct job *job);

/* {"<kind>": {"<state>": n}} counts (caller cJSON_Delete). */
int jobs_counts(sqlite3 *c, struct cJSON **out, struct bo_error *err);
/* One job as JSON {id, kind, subject, state, attempts, max_attempts, last_error,
 * created_at, finished_at, payload}. BO_ENOTFOUND. */
int jobs_get(sqlite3 *c, int64_t id, struct cJSON **out, struct bo_error *err);
/* Puts a dead or failed job back in the queue with fresh attempts. BO_ENOTFOUND,
 * BO_ECONFLICT when it is queued, running or done. */
int jobs_retry(sqlite3 *c, int64_t id, struct bo_error *err);
/* JSON array of jobs, newest first, optionally filtered by state (NULL = all), at most limit. */
int jobs_list(sqlite3 *c, const char *state, int limit, struct cJSON **out, struct bo_error *err);

#endif

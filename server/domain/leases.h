/* leases: the bookkeeping of test jobs leased by remote workers (test_runner=lease). A
 * lease is a worker_leases row that holds one running `test` job of the queue (the job's
 * lease_owner is "lease:<id>", its lease_until the lease's expiry) for one worker token's
 * user. Invariant: a job is held by at most one active lease, and only an active,
 * unexpired lease that still owns its job may end it with a result; an expired lease
 * gives its job back to the queue and can never end it. The worker_leases table is this
 * module's (the jobs rows it touches are only those of leased `test` jobs). */
#ifndef BO_LEASES_H
#define BO_LEASES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;

/* A lease id: hex of 16 random bytes; a file secret: hex of 32 random bytes. */
#define LEASES_ID_LEN 32
#define LEASES_SECRET_LEN 64

struct lease {
	char id[LEASES_ID_LEN + 1];
	int64_t job_id;
	int64_t user_id;
	char concept_id[256];
	int revision;
	char weight_format[64];
	char state[16]; /* active | done | expired */
	int64_t expires_unix;
};

/* Expires every active lease whose expires_unix is before now (in its own transaction,
 * or the caller's): the lease becomes `expired` and its job goes back to the queue
 * (`queued`, last_error says why), or, when the job used up its attempts, becomes `dead`.
 * *n_out (may be NULL) = leases expired; *dead_out (may be NULL; caller cJSON_Delete) =
 * an array of the jobs that died, [{id, subject, payload, attempts}], for their dead
 * callback. BO_EDATABASE, BO_ENOMEM. */
int leases_expire(sqlite3 *c, int64_t now, int *n_out, struct cJSON **dead_out, struct bo_error *err);

/* Inside the caller's transaction: claims the oldest ready `test` job whose payload's
 * weight_format is one of formats (a JSON array of strings) for user_id until
 * now + lease_seconds, and records the lease (capabilities_json: what the worker said it
 * can run, kept for the operator). *found = 0 when no such job is ready. On success *out
 * describes the lease and secret receives the file secret (LEASES_SECRET_LEN + 1 bytes),
 * the only copy. max_attempts: the queue's default for a job that has none yet.
 * BO_EDATABASE, BO_EINTERNAL (no randomness), BO_ENOMEM. */
int leases_claim(sqlite3 *c, int64_t user_id, const char *formats_json, const char *capabilities_json,
		 int64_t lease_seconds, int64_t max_attempts, int64_t now, struct lease *out,
		 char secret[LEASES_SECRET_LEN + 1], int *found, struct bo_error *err);

/* leases_claim restricted to the test job job_id (0 = any): what a job-scoped worker token
 * (auth_scope_job, test_runner=slurm) may lease. */
int leases_claim_job(sqlite3 *c, int64_t user_id, int64_t job_id, const char *formats_json,
		     const char *capabilities_json, int64_t lease_seconds, int64_t max_attempts, int64_t now,
		     struct lease *out, char secret[LEASES_SECRET_LEN + 1], int *found, struct bo_error *err);

/* The lease id held by user_id, checked for an end or an extension at now: 0 when it is
 * active, unexpired and still owns its job (then *out is filled); BO_ENOTFOUND for an
 * unknown id or another user's lease; BO_ECONFLICT when it already ended with a result
 * (`done`); BO_EGONE when it expired or its job was taken from it. BO_EDATABASE. */
int leases_check(sqlite3 *c, const char *id, int64_t user_id, int64_t now, struct lease *out,
		 struct bo_error *err);

/* Moves an active lease (and its job's lease_until) to now + lease_seconds. BO_EGONE when
 * it is no longer active. BO_EDATABASE. */
int leases_extend(sqlite3 *c, const char *id, int64_t lease_seconds, int64_t now, struct bo_error *err);

/* Ends a lease: it becomes `done` and its job, when the lease still owns it, `done`.
 * Inside the caller's transaction (the one that stores the result) or its own. 0 or
 * BO_EDATABASE. */
int leases_close(sqlite3 *c, const char *id, struct bo_error *err);

/* The active, unexpired lease whose file secret is secret, into *out. BO_EFORBIDDEN for
 * an unknown secret or a lease that ended (a capability that no longer works).
 * BO_EDATABASE. */
int leases_by_secret(sqlite3 *c, const char *secret, int64_t now, struct lease *out, struct bo_error *err);

/* The draft files of concept_id as a JSON array [{path, size, sha256}] by path (caller
 * cJSON_Delete). BO_EDATABASE, BO_ENOMEM. */
int leases_files(sqlite3 *c, const char *concept_id, struct cJSON **out, struct bo_error *err);

/* Whether path is a draft file of concept_id (*found 0/1). BO_EDATABASE. */
int leases_file_known(sqlite3 *c, const char *concept_id, const char *path, int *found, struct bo_error *err);

#endif

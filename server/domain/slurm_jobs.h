/* slurm_jobs: the bookkeeping of test_runner=slurm (pipeline/slurm). A slurm_jobs row is
 * one Slurm batch job the server submitted for one `test` job of the queue, with the
 * job-scoped worker token it carries. Invariant: a test job has at most one `active` row;
 * a row ends once (ended or cancelled) and its token is revoked then. The slurm_jobs table
 * is this module's; the jobs and worker_leases rows it touches are only those of its test
 * jobs. */
#ifndef BO_SLURM_JOBS_H
#define BO_SLURM_JOBS_H

#include <sqlite3.h>
#include <stdint.h>

struct bo_error;
struct cJSON;

/* The user that owns the job-scoped worker tokens (created on first use, role uploader —
 * the token's scope confines it — with an email no mail can reach). */
#define SLURM_JOBS_USER_EMAIL "slurm-runner@backoffice.invalid"

/* *user_id = that user's id, created when missing. BO_EDATABASE. */
int slurm_jobs_user(sqlite3 *c, int64_t *user_id, struct bo_error *err);

/* Test jobs ready to run (queued or failed, run_after <= now) without an active Slurm job,
 * oldest first, at most limit: *out [{job_id, subject, payload}] (caller cJSON_Delete).
 * BO_EDATABASE, BO_ENOMEM. */
int slurm_jobs_ready(sqlite3 *c, int64_t now, int limit, struct cJSON **out, struct bo_error *err);

/* Records a submission of test job job_id (its token token_id) as active; *row_out.
 * BO_EDATABASE. */
int slurm_jobs_add(sqlite3 *c, int64_t job_id, const char *concept_id, int revision, const char *format,
		   int64_t token_id, int64_t *row_out, struct bo_error *err);

/* The Slurm job id sbatch gave row. BO_EDATABASE. */
int slurm_jobs_set_slurm_id(sqlite3 *c, int64_t row, int64_t slurm_id, struct bo_error *err);

/* The active rows: *out [{row, job_id, slurm_id (0 = none yet), token_id, concept,
 * revision, weight_format, job_state ("" when the job row is gone)}]. BO_EDATABASE. */
int slurm_jobs_active(sqlite3 *c, struct cJSON **out, struct bo_error *err);

/* Ends row as state (ended | cancelled) with Slurm's last state. BO_EDATABASE. */
int slurm_jobs_end(sqlite3 *c, int64_t row, const char *state, const char *slurm_state, struct bo_error *err);

/* Inside the verdict's transaction: test job job_id, when still unfinished (queued,
 * failed, running), becomes dead with reason and any active lease of it ends; *changed
 * 1, else 0 (it already ended: its result was stored or it was cancelled). BO_EDATABASE. */
int slurm_jobs_give_up(sqlite3 *c, int64_t job_id, const char *reason, int *changed, struct bo_error *err);

/* A ready test job that turned out stale (its draft moved on) is done without a Slurm job,
 * as the local runner's "nothing to do". BO_EDATABASE. */
int slurm_jobs_settle_stale(sqlite3 *c, int64_t job_id, struct bo_error *err);

#endif

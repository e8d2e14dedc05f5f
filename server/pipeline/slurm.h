/* slurm: test_runner=slurm (README "Runners"). A thread of the server submits each ready
 * `test` job of the queue as one Slurm batch job (sbatch), whose generated script runs
 * `backoffice-worker --lease URL --once` with a worker token scoped to that one job
 * ("worker:job:<id>", created for it and revoked when it ends), so the job runs through
 * the lease routes (pipeline/lease) on a Slurm node. It follows the Slurm jobs (squeue;
 * for an ended one sacct, or scontrol where sacct has no accounting): one that ends
 * without a result (FAILED, TIMEOUT, CANCELLED, NODE_FAIL, …, or COMPLETED without a
 * result) makes its run `error` with Slurm's state; one whose draft moved on (a new
 * revision, a cancelled job) is scancelled. Bookkeeping: domain/slurm_jobs. */
#ifndef BO_PIPELINE_SLURM_H
#define BO_PIPELINE_SLURM_H

struct app;
struct bo_error;

typedef struct slurm_runner slurm_runner;

/* How often (ms) the thread looks for ready test jobs and asks squeue. */
#define SLURM_POLL_MS 1000

/* Starts the thread (a's config must say test_runner=slurm), creating the private script
 * directory DATA_DIR/slurm (0700) and the log directory. BO_EINTERNAL. */
int slurm_start(struct app *a, slurm_runner **out, struct bo_error *err);

/* Stops and joins the thread (Slurm jobs keep running; the next server follows them). */
void slurm_stop(slurm_runner *s);

#endif

/* test_job: dynamic tests (DESIGN §8). One `test` job per weight format of a model whose
 * static validation passed; each downloads the draft's files into a sandbox scratch
 * directory, runs `backoffice-worker` there (workers/PROTOCOL.md) and stores the summary
 * as the revision's `dynamic` test run of that format. When no run of the revision is
 * left unfinished, the draft goes testing → awaiting review. The CLI `backoffice test`
 * runs the same worker through test_worker_run. */
#ifndef BO_TEST_JOB_H
#define BO_TEST_JOB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct config;
struct job;
struct bo_error;
struct cJSON;

/* Where the server's sandbox scratch directories go (a killed server's are removed at
 * the next start): DATA_DIR/sandbox, or, for a server running as root (which drops to the
 * jail's uid, who must be able to pass), TEST_SANDBOX_ROOT/<hash of the data directory>. */
#define TEST_SANDBOX_DIR "sandbox"
#define TEST_SANDBOX_ROOT "/var/tmp/backoffice-sandbox"

/* The scratch parent for cfg into buf, created (mode 0700, or 0711 for the root case). */
int test_sandbox_dir(const struct config *cfg, char *buf, size_t n, struct bo_error *err);

/* The tool name written into test_runs for dynamic tests (its version: BO_VERSION). */
#define TEST_JOB_TOOL "backoffice-worker"

/* ---- the limit on concurrent test workers (one per server, in struct app) ---------- */

typedef struct test_slots test_slots;

/* n >= 1 slots. BO_ENOMEM. */
int test_slots_create(test_slots **out, int n, struct bo_error *err);
void test_slots_free(test_slots *s);
/* Takes a free slot, waiting at most wait_ms: 1 when taken (give it back), 0 when all
 * stayed busy. The re-test of a published version (pipeline/retest.h) shares them. */
int test_slots_take(test_slots *s, int wait_ms);
void test_slots_give(test_slots *s);

/* ---- scheduling (inside the caller's transaction) ---------------------------------- */

/* For the draft of concept_id at revision, when it is a model: replaces the revision's
 * dynamic runs by one `queued` run per weight format of its RDF (drafts.rdf_json) and
 * enqueues one test job each. *njobs (may be NULL) is the number enqueued (0 for other
 * types or a model without weights). BO_EDATABASE, BO_ENOMEM. */
int test_job_schedule(sqlite3 *c, const char *concept_id, int revision, int *njobs, struct bo_error *err);

/* ---- the job ------------------------------------------------------------------------ */

/* jobs_handler_fn for kind "test"; ctx is the struct app; payload {revision,
 * weight_format}, or {version, weight_format, run} for a re-test of a published version
 * (handled by retest_job_run). A stale job (the revision moved on, the run already has a verdict)
 * does nothing. When all max_test_workers slots are busy the job re-enqueues itself a
 * few seconds later and returns 0 (the runner thread is not held). A worker that
 * crashes, times out, runs out of memory or prints no valid result is an `error` run
 * with the reason. Storage or database trouble returns its code (retried). */
int test_job_run(void *ctx, const struct job *job, struct bo_error *err);
/* With test_runner=lease the server's runners leave `test` jobs to lease workers
 * (pipeline/lease), which use the three calls below around a worker run elsewhere. */

/* Marks the run of a job that is about to run as running, in one transaction that checks
 * it still matters first (*go = 0 for a stale job: the revision moved on or the run has a
 * verdict). BO_EDATABASE. */
int test_job_start(struct app *a, const char *id, int revision, const char *format, int *go, struct bo_error *err);

/* Refuses to store a verdict unless check (run inside the verdict's transaction, after the
 * run was found current) returns 0; its code is returned and nothing is written. */
struct test_job_guard {
	int (*check)(sqlite3 *c, void *ctx, struct bo_error *err);
	void *ctx;
};

/* Stores summary (a worker's test summary, edited into the bioimageio.spec shape here) as
 * the verdict of the run, with its event, and moves the draft on when it was the last run:
 * what the local runner does with its worker's result. A stale run is left alone (0, and
 * *recorded = 0; recorded may be NULL). guard may be NULL. BO_EDATABASE, BO_ENOMEM. */
int test_job_store(struct app *a, const char *id, int revision, const char *format, struct cJSON *summary,
		   const char *started, const struct test_job_guard *guard, int *recorded, struct bo_error *err);

/* The storage key of a produced tensor name of a run into buf; -1 when storage cannot
 * hold that name (it is then not kept). */
int test_job_output_key(const char *id, const char *format, const char *name, char *buf, size_t n);
/* Points the summary's details at the stored copy key of the produced file name and
 * lists it in test_outputs. */
void test_job_point_output(struct cJSON *summary, const char *name, const char *key);

/* jobs_dead_fn: the run becomes `error` with the last error; the draft still moves on. */
void test_job_dead(void *ctx, const struct job *job, const char *last_error);

/* POST …/draft/tests: re-runs the dynamic tests of the current revision (the draft must
 * be `awaiting review` or `changes requested`: BO_ECONFLICT otherwise; a draft without
 * dynamic tests — not a model, or static validation failed — is BO_ECONFLICT too). The
 * runs go back to queued, their jobs are enqueued and the draft goes to `testing`, with
 * an event by actor_id, in one transaction. *out {id, revision, state, tests:[{weight_format,
 * status}]}. BO_ENOTFOUND without a draft. */
int test_job_rerun(struct app *a, int64_t actor_id, const char *concept_id, struct cJSON **out,
		   struct bo_error *err);

/* ---- the files a run downloads (draft tests and re-tests) --------------------------- */

/* <id>/<folder>/files/<path> for every files row of (id, folder): folder is "draft" or a
 * published version. job (may be NULL) has its lease extended while files download. */
struct test_files {
	struct app *a;
	const struct job *job;
	const char *id;
	const char *folder;
	char **paths;
	size_t npaths;
};

/* Reads the paths in the caller's connection (and transaction). BO_EDATABASE, BO_ENOMEM. */
int test_files_list(sqlite3 *c, struct test_files *f, struct bo_error *err);
/* Downloads every path into pkg_dir (each checked to be a safe relative path again, since
 * it becomes a local file name); a listed file missing from storage is BO_ESTORAGE. */
int test_files_fill(struct test_files *f, const char *pkg_dir, struct bo_error *err);
void test_files_free(struct test_files *f);
/* Whether p is a relative path without empty, "." or ".." segments: the rule for any stored
 * or received name that becomes a local file name under a package directory. 1 or 0. */
int test_files_path_ok(const char *p);

/* ---- one worker run (server and CLI) ------------------------------------------------ */

struct test_worker_request {
	const struct config *cfg;   /* worker_path, onnxruntime_lib, python, test_* limits, test_fault */
	const char *package_dir;    /* absolute; NULL: <scratch>/pkg, filled by fill */
	const char *scratch_parent; /* where the sandbox's scratch directory goes (NULL: $TMPDIR or /tmp) */
	const char *rdf_file;       /* relative to the package directory */
	const char *weight_format;
	/* puts the package files into pkg_dir (already created); may be NULL */
	int (*fill)(void *ctx, const char *pkg_dir, struct bo_error *err);
	/* for a `failed` run: out_dir holds the produced tensors (<name>.npy); may edit the
	 * summary to point at where they were kept; may be NULL */
	int (*outputs)(void *ctx, const char *out_dir, struct cJSON *summary, struct bo_error *err);
	void (*tick)(void *ctx); /* about once a second while the worker runs; may be NULL */
	void *ctx;
};

/* Runs the worker on one weight format in the sandbox and returns its test summary in
 * *summary_out (caller cJSON_Delete): the worker's own result, or a summary with status
 * `error` that says why there is none (crash, timeout, memory, no or bad JSON, worker not
 * found). Returns 0, or the code of fill/outputs, or BO_EINTERNAL/BO_ENOMEM when the
 * sandbox itself failed (scratch directory, fork). */
int test_worker_run(const struct test_worker_request *rq, struct cJSON **summary_out, struct bo_error *err);

/* The worker binary: cfg->worker_path, or backoffice-worker next to the running binary.
 * Writes into buf (n bytes). */
void test_worker_path(const struct config *cfg, char *buf, size_t n);

/* At server start: removes the scratch directories a killed server left under
 * DATA_DIR/sandbox, and says in the log whether the jail works here (or that the operator
 * chose sandbox=none). A jail that does not work is logged, not fatal: test runs then end
 * `error` with "sandbox unavailable". BO_EINTERNAL when the old directories stay. */
int test_sandbox_start(const struct config *cfg, struct bo_error *err);

/* Whether the jail of cfg works here, showing the worker as a test run does (for
 * `backoffice sandbox check` and the start-up log). 0, or BO_EINTERNAL with the reason. */
int test_sandbox_check(const struct config *cfg, struct bo_error *err);

/* The libonnxruntime a worker at `worker` loads: cfg->onnxruntime_lib, or LAYOUT_ORT_REL
 * from its directory when that exists, else "" (onnx runs then say it is missing). */
void test_ort_path(const struct config *cfg, const char *worker, char *buf, size_t n);

#endif

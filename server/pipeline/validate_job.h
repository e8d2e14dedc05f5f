/* validate_job: the `validate` job. After staging, a draft's rdf.yaml is validated with
 * IO checks against the files the stage job recorded (sizes and sha256 from the files
 * table, headers read from storage); the summary becomes the revision's `static` test
 * run and the draft moves unpacked → testing → awaiting review (when no test run of the
 * revision is still unfinished). A failed validation is a verdict too. The job is queued
 * by lifecycle on entering unpacked; its verdict goes to lifecycle_static_verdict, which
 * queues a passing model's dynamic tests in the same transaction, so the draft stays in
 * testing until they have verdicts. */
#ifndef BO_VALIDATE_JOB_H
#define BO_VALIDATE_JOB_H

#include <sqlite3.h>

struct job;
struct bo_error;

/* The tool name written into test_runs for static validation (its version: BO_VERSION). */
#define VALIDATE_JOB_TOOL "backoffice-validate"

/* jobs_handler_fn for kind "validate"; ctx is the struct app. A stale job (the revision
 * moved on, the draft left unpacked/testing) does nothing and returns 0. Storage or
 * database trouble returns its code so the job is retried. */
int validate_job_run(void *ctx, const struct job *job, struct bo_error *err);
/* jobs_dead_fn: the draft goes to `error` saying how an operator retries the job. */
void validate_job_dead(void *ctx, const struct job *job, const char *last_error);

#endif

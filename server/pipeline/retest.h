/* retest: test runs of published versions (README "Re-testing the collection"). A
 * re-test is a `test` job whose payload names a version ({version, weight_format, run})
 * instead of a draft revision; it runs the worker on the version's files
 * (<id>/<version>/files/, never written) and adds a run to test_runs (of_version = 1,
 * revision_or_version = the version): the run that published the version stays. Every
 * dynamic run records its judge — tool and tool version, the runtime and runtime version
 * the worker reported, and the rule set in force — and a version is re-judged when the
 * judge of its latest run per weight format is not today's. After a run the version's
 * test_summary.yaml (outside files/) is rewritten with all its runs (job
 * `retest-summary`) and the collection rebuild is queued. `backoffice retest` and the
 * server's automatic re-test (job `retest-scan`, config retest_on_change) share
 * retest_queue. */
#ifndef BO_RETEST_H
#define BO_RETEST_H

#include <sqlite3.h>
#include <stddef.h>

struct app;
struct config;
struct job;
struct bo_error;
struct cJSON;

#define RETEST_RULES_MAX 40 /* "rules-" and 16 hex digits, with room */

/* The version of the rule set of static validation: "rules-" and the first 16 hex digits
 * of the SHA-256 of SCHEMA_DIR/rules/ *.json files (names and bytes, in name order), so that
 * any edit of a rule file is a new rule set. "rules-unknown" when the directory cannot
 * be read. */
void retest_rules_version(char out[RETEST_RULES_MAX], const char *schema_dir);

/* Who judged a run (or judges now). Strings are borrowed; "" = not recorded/unknown. */
struct retest_judge {
	const char *tool;
	const char *tool_version;
	const char *rules_version;
	const char *runtime_version; /* "onnxruntime 1.20.1" style is not needed: the version */
};

/* Whether a run judged by last needs no re-test under cur: same tool, tool version and
 * rule set, and the same runtime version when both are known (an `error` run that never
 * reached a runtime records none). last NULL (no run) is never up to date. */
int retest_judge_same(const struct retest_judge *cur, const struct retest_judge *last);

/* What to re-test. targets: "ID" (its latest published version) or "ID/VERSION"; none
 * with all = every published version. format NULL = every weight format of each version.
 * only_recorded: skip formats without any recorded run (the automatic re-test compares
 * recorded judges; `retest` also tests versions that never had a run, e.g. imported).
 * max_jobs 0 = no bound; otherwise at most that many are queued and *more says whether
 * some were left. dry_run: nothing is written. */
struct retest_options {
	const char *const *targets;
	int ntargets;
	int all;
	const char *format;
	int only_recorded;
	int max_jobs;
	int dry_run;
};

struct retest_result {
	int versions;    /* published versions looked at */
	int queued;      /* runs (and jobs) queued, or that would be (dry_run) */
	int up_to_date;  /* (version, format) pairs whose latest run has today's judge */
	int pending;     /* pairs that already have a queued or running re-test */
	int no_format;   /* targets without the asked weight format */
	int more;        /* max_jobs was reached */
	struct cJSON *runs; /* [{id, version, weight_format, run, reason}] queued (caller cJSON_Delete) */
};

/* Queues the re-tests of o in one transaction on c (opened here): one queued run and one
 * `test` job per (version, format) that is not up to date and not already pending.
 * rules_version is today's (struct app). BO_ENOTFOUND for a target that is not a
 * published version (unknown id, unknown or yanked version) — nothing is queued then;
 * BO_EBADREQUEST for a malformed target; BO_EDATABASE, BO_ENOMEM. */
int retest_queue(sqlite3 *c, const char *rules_version, const struct retest_options *o, struct retest_result *out,
		 struct bo_error *err);
void retest_result_free(struct retest_result *r);

/* Progress of the runs with the ids in runs (retest_result.runs): counts of queued,
 * running, done (passed, skipped) and failed (failed, error). */
struct retest_progress {
	int queued, running, done, failed;
};
int retest_progress_of(sqlite3 *c, const struct cJSON *runs, struct retest_progress *out, struct bo_error *err);

/* Whether job (kind "test") names a published version rather than a draft revision. */
int retest_job_is_version(const struct job *job);

/* The version branch of test_job_run / test_job_dead (ctx the struct app): a stale job
 * (the run has a verdict, the version was yanked: the run becomes `skipped`) does
 * nothing; the max_test_workers slots apply like for draft tests. */
int retest_job_run(struct app *a, const struct job *job, struct bo_error *err);
void retest_job_dead(struct app *a, const struct job *job, const char *last_error);

/* Inside the caller's transaction, after a draft's dynamic run of format got its verdict:
 * records the judge (runtime and runtime version from the summary's env, the rule set)
 * on the run of (concept_id, revision). When the run reports a runtime version other
 * than the last one seen for that format, the automatic re-test is queued (cfg
 * retest_on_change). BO_EDATABASE. */
int retest_stamp_draft_run(sqlite3 *c, const struct app *a, const char *concept_id, int revision,
			   const char *format, const char *summary_json, struct bo_error *err);

/* jobs_handler_fn for kind "retest-summary" (subject "<id>/<version>"): rewrites the
 * version's test_summary.yaml from its runs (the publishing revision's and every
 * re-test), keeping the tools of the existing file that are not ours (an imported
 * version's). Idempotent. */
int retest_summary_run(void *ctx, const struct job *job, struct bo_error *err);

/* jobs_handler_fn for kind "retest-scan": the automatic re-test. Does nothing unless
 * retest_on_change; queues at most retest_max_queued re-tests minus those already queued
 * or running, logs what and why, and queues itself again later while some are left. */
int retest_scan_run(void *ctx, const struct job *job, struct bo_error *err);

/* At server start, when retest_on_change: queues the scan job when some version's latest
 * run has another judge than today's (a dry run of the scan decides). */
int retest_on_start(struct app *a, struct bo_error *err);

/* Appends the Prometheus text of re-test runs by state (queued, running, done) and of
 * finished re-tests by verdict. BO_EDATABASE, BO_ENOMEM. */
int retest_metrics(sqlite3 *c, char **out, size_t *len, struct bo_error *err);

#endif

/* publish: the `publish` job that turns an accepted draft into an immutable version
 * (DESIGN §5): <id>/<version>/files/ (server-side copies of the draft's files, rdf.yaml
 * byte-identical to the stamped draft RDF), info.json and test_summary.yaml, then one
 * transaction that marks the version published, moves the files rows, records the
 * transition (event, mail), deletes the draft and queues the collection rebuild. */
#ifndef BO_PUBLISH_H
#define BO_PUBLISH_H

struct job;
struct bo_error;
struct cJSON;

/* jobs_handler_fn for kind "publish"; ctx is the struct app. Payload {revision, version,
 * reviewer}. Idempotent: a re-run after a crash re-copies and commits once; a version
 * already published, or a draft that moved on, makes it a no-op. */
int publish_run(void *ctx, const struct job *job, struct bo_error *err);
/* jobs_dead_fn: the draft goes to `error` saying how to retry (backoffice jobs retry N). */
void publish_dead(void *ctx, const struct job *job, const char *last_error);

/* Appends to list (a cJSON array) the test_summary.yaml entries of one run's summary
 * (a bioimageio.spec ValidationSummary): {name, status, error, traceback, warnings} per
 * detail, the name followed by " (<format>)" when format is not NULL. 0, or -1 when out
 * of memory. The re-test rewrites test_summary.yaml with it (pipeline/retest.h). */
int publish_summary_entries(struct cJSON *list, const struct cJSON *summary, const char *format);

#endif

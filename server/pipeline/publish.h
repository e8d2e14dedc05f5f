/* publish: the `publish` job that turns an accepted draft into an immutable version
 * (DESIGN §5): <id>/<version>/files/ (server-side copies of the draft's files, rdf.yaml
 * byte-identical to the stamped draft RDF), info.json and test_summary.yaml, then one
 * transaction that marks the version published, moves the files rows, records the
 * transition (event, mail), deletes the draft and queues the collection rebuild. */
#ifndef BO_PUBLISH_H
#define BO_PUBLISH_H

struct job;
struct bo_error;

/* jobs_handler_fn for kind "publish"; ctx is the struct app. Payload {revision, version,
 * reviewer}. Idempotent: a re-run after a crash re-copies and commits once; a version
 * already published, or a draft that moved on, makes it a no-op. */
int publish_run(void *ctx, const struct job *job, struct bo_error *err);
/* jobs_dead_fn: the draft goes to `error` saying how to retry (backoffice jobs retry N). */
void publish_dead(void *ctx, const struct job *job, const char *last_error);

#endif

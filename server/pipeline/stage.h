/* stage: the `stage` job. Unpacks an accepted package from DATA_DIR/incoming into
 * storage under <id>/draft/files/, with the RDF re-emitted as rdf.yaml carrying `id`
 * and `id_emoji`, records every file, writes <id>/draft/draft.json and moves the draft
 * unpacking → unpacked, enqueueing its `validate` job in the same transaction (or →
 * error with what to fix). Idempotent: a re-run re-unpacks. */
#ifndef BO_STAGE_H
#define BO_STAGE_H

#include <stddef.h>

struct job;
struct bo_error;

/* Where the RDF as the uploader sent it is kept: <id>/draft/original/<its file name>
 * (validation reads those bytes, so its lines are the uploader's). rdf_name is its path in
 * the package. 0, or -1 when it has no file name or the key passes n or STORAGE_KEY_MAX;
 * *base (may be NULL) is the file name. */
#define STAGE_ORIGINAL_DIR "draft/original/"
int stage_original_key(const char *id, const char *rdf_name, char *out, size_t n, const char **base);

/* A new object with id and emoji ("" when NULL) as `id` and `id_emoji` first, then every
 * other member of root (moved out of it; root's own id and id_emoji are dropped), as the
 * reference stamps an RDF. NULL when out of memory (root is then partly emptied). The
 * caller frees the result with cJSON_Delete. */
struct cJSON *stage_stamp(struct cJSON *root, const char *id, const char *emoji);

/* jobs_handler_fn for kind "stage"; ctx is the struct app. */
int stage_run(void *ctx, const struct job *job, struct bo_error *err);
/* jobs_dead_fn: the draft goes to `error` saying the upload is kept and how to retry. */
void stage_dead(void *ctx, const struct job *job, const char *last_error);

#endif

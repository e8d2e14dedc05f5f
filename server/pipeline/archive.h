/* archive: the `archive` job — deposits a published version on Zenodo and writes the
 * DOIs back (database, <id>/<version>/info.json, then the collection rebuild). Resumable
 * by the step stored in versions.zenodo_state (draft-created, files-uploaded,
 * metadata-set, published) with the deposition in versions.zenodo_deposition_id. */
#ifndef BO_ARCHIVE_H
#define BO_ARCHIVE_H

#include <sqlite3.h>
#include <stddef.h>

struct bo_error;
struct config;
struct job;

/* Enqueues (inside the caller's open transaction) the archive job of id/version, subject
 * "<id>/<version>". Does nothing when cfg->zenodo_token is empty (archiving is off).
 * Returns 0 or BO_EDATABASE. */
int archive_enqueue(sqlite3 *c, const struct config *cfg, const char *id, const char *version,
		    struct bo_error *err);

/* `backoffice backup`: enqueues (in its own transaction) an archive job for every
 * published or yanked version without a DOI that has no archive job queued, running or
 * failed, oldest first. *count_out = the number enqueued. Returns 0, BO_EBADREQUEST
 * (zenodo_token empty) or BO_EDATABASE. */
int archive_enqueue_missing(sqlite3 *c, const struct config *cfg, int *count_out, struct bo_error *err);

/* Archives a published version again, in today's layout (package.zip beside rdf.yaml and
 * the covers), for versions archived before it. Zenodo locks the files of a published
 * record, so this makes a new Zenodo version of the concept (newversion on its latest
 * published deposition: the concept DOI stays); once published, the version's doi is the
 * new record's, and the old record stays on Zenodo. Queues the job (the server's runners
 * or `jobs run` do it). Returns 0, BO_EBADREQUEST (archiving off), BO_ENOTFOUND (no such
 * published version), BO_ECONFLICT (not archived yet, or an archive job of it pending). */
int archive_reupload(sqlite3 *c, const struct config *cfg, const char *id, const char *version,
		     struct bo_error *err);

/* The job handler (ctx is the struct app). A Zenodo validation error, an unknown license
 * or an RDF without authors makes the job dead at once (jobs_give_up) with the reason;
 * the version stays published and `jobs retry` resumes from the stored step. */
int archive_run(void *ctx, const struct job *job, struct bo_error *err);
/* Logs the dead job for an operator (the version is never unpublished). */
void archive_dead(void *ctx, const struct job *job, const char *last_error);

/* Appends the Prometheus gauge bo_archive_versions{state} (published and yanked versions
 * by archive step, "none" = not started) to *out. Returns 0, BO_EDATABASE or BO_ENOMEM. */
int archive_metrics(sqlite3 *c, char **out, size_t *len, struct bo_error *err);

#endif

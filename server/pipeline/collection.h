/* collection: the public index files (collection.json, collection_draft.json,
 * all_versions[_draft].json, id_map[_draft].json, <id>/versions.json) built from the
 * database in one read transaction, written to storage only when their bytes change,
 * committed to the history, and kept in memory for serving with a strong ETag. */
#ifndef BO_COLLECTION_H
#define BO_COLLECTION_H

#include <sqlite3.h>
#include <stddef.h>

struct app;
struct bo_error;
struct job;
typedef struct collection collection;
typedef struct collection_blob collection_blob;

/* The index files the server serves, by storage key. */
extern const char *const collection_files[];
extern const size_t collection_files_count;

/* Creates the per-server state: the serving cache and the memo of the last build (so a
 * rebuild after one publish re-renders only that concept). *out is freed with
 * collection_free. Returns 0 or BO_ENOMEM. */
int collection_create(collection **out, struct bo_error *err);
void collection_free(collection *co);

/* Enqueues (inside the caller's open transaction) the coalesced `rebuild` job, subject
 * "collection". reason (e.g. "publish affable-shark/1 (accepted by Jane Doe)", at most
 * 1000 bytes kept) is appended to the queued job's reasons, which become the history
 * commit message. Returns 0 or BO_EDATABASE. */
int collection_enqueue_rebuild(sqlite3 *c, const char *reason, struct bo_error *err);

/* Builds every index file from the database (one read transaction), writes the ones whose
 * bytes changed to storage (atomically, made durable by one storage_sync at the end),
 * refreshes the serving cache, and commits collection.json with the RDFs it lists to the
 * history when it changed (message = reason; NULL = "rebuild"), on a second thread while
 * the files are written; returns once both are done.
 * One rebuild runs at a time per app. Deterministic: the same database gives the same
 * bytes. Returns 0, BO_EDATABASE, BO_ESTORAGE, BO_EINTERNAL (template, history) or
 * BO_ENOMEM. */
int collection_rebuild(struct app *a, const char *reason, struct bo_error *err);

/* Whether a rebuild would keep the collection's URLs: BO_ECONFLICT (the detail names both)
 * when the stored collection.json was built with another url_root than this
 * configuration's files_url gives, as when a CLI run lacks the server's BO_PUBLIC_URL;
 * 0 when they agree or nothing was built yet. BO_ESTORAGE, BO_ENOMEM. */
int collection_check_url_root(struct app *a, struct bo_error *err);

/* The `rebuild` job handler (ctx is the struct app). */
int collection_job_run(void *ctx, const struct job *job, struct bo_error *err);

/* The current bytes of one of collection_files (name without a leading '/'), from memory,
 * loading from storage on first use or when storage changed underneath (another process
 * ran `backoffice rebuild`), building once when storage has none. *out holds a reference:
 * release it with collection_blob_release. Thread-safe. Returns 0, BO_ENOTFOUND (not an
 * index file), BO_ESTORAGE, BO_ENOMEM, or a rebuild error. */
int collection_get(struct app *a, const char *name, collection_blob **out, struct bo_error *err);
const char *collection_blob_data(const collection_blob *b, size_t *len_out);
/* Strong ETag: the quoted lowercase SHA-256 of the bytes. */
const char *collection_blob_etag(const collection_blob *b);
void collection_blob_release(collection_blob *b);

#endif

/* collection_internal: what the three files of the collection module share, and nothing
 * any other module may include (they use collection.h):
 *   collection.c        the build: index files rendered from the database, the memo;
 *   collection_cache.c  the serving cache: the bytes served, with their ETags;
 *   collection_write.c  a rebuild's writes (versions.json writer threads, the history
 *                       commit beside them) and the queued `rebuild` job.
 * Names shared between these files carry a double underscore (collection__build). */
#ifndef BO_COLLECTION_INTERNAL_H
#define BO_COLLECTION_INTERNAL_H

#include "common/buf.h"
#include "infra/history.h"
#include "pipeline/collection.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

struct app;
struct bo_error;
struct cJSON;

/* Largest index file we build or load (a 10,000-concept collection is ~10 MB). */
#define COLLECTION__INDEX_MAX_BYTES ((size_t)512 << 20)

/* The index files, in the order of collection_files[]. */
enum { F_COLLECTION, F_COLLECTION_DRAFT, F_ALL_VERSIONS, F_ALL_VERSIONS_DRAFT, F_ID_MAP, F_ID_MAP_DRAFT, NFILES };

/* What the last build rendered for one concept, keyed by a signature of its rows. */
struct collection__memo {
	char *id;
	char *sig;
	char *entry;    /* the collection.json entry */
	char *versions; /* <id>/versions.json */
	char *version;  /* the version collection.json lists, NULL when all are yanked */
	char *av;       /* its all_versions.json entry */
	char *ids;      /* its id_map.json members, without braces */
	int changed;    /* versions.json differs from what storage holds (or may) */
	char listed_created[40]; /* the listed version's: the entry's place in collection.json */
	char newest_created[40]; /* the newest version's: the place in all_versions.json */
};

/* One build's results: every index file's bytes, and the memo of this build. */
struct collection__outputs {
	struct buf f[NFILES];
	struct buf entries;       /* collection.json entries, comma-separated */
	struct buf draft_entries; /* collection_draft.json entries */
	struct cJSON *n_res, *n_ver; /* config counters by type */
	struct cJSON *types;         /* types seen */
	char latest[40];          /* newest published_at listed: collection.json's `created` */
	char latest_draft[40];
	struct collection__memo *memo; /* one per published concept, in id order */
	size_t nmemo, capmemo;
};

/* The serving cache (collection_cache.c); thread-safe, its own lock. */
typedef struct collection__cache collection__cache;

struct collection {
	collection__cache *cache;
	pthread_mutex_t build_lock;    /* one build at a time; guards every field below */
	struct collection__memo *memo; /* the last build's, moved into the next one */
	size_t nmemo;
	size_t sizes[NFILES + 1]; /* output sizes of the last build (+ entries), to size buffers */
	int warm;                 /* the memo reflects what storage holds */
	char history_sha[65];     /* collection.json as last committed to the history */
	history_cache *history;   /* the RDFs of the tip we committed */
};

/* ---- collection.c: the build -------------------------------------------------------- */

/* Renders every index file into *o (zeroed by the caller, then collection__outputs_clear)
 * from one read transaction on a connection of its own; no storage access. Uses and
 * empties co's memo (the parts of unchanged concepts move into o->memo), so the caller
 * holds co->build_lock and, on failure, starts the next build cold. Returns 0,
 * BO_EDATABASE, BO_EINTERNAL (template) or BO_ENOMEM. */
int collection__build(struct app *a, struct collection__outputs *o, struct bo_error *err);
void collection__outputs_clear(struct collection__outputs *o);
void collection__memo_clear(struct collection__memo *m, size_t n);

/* ---- collection_cache.c: the serving cache ------------------------------------------ */

/* An empty cache. *out is freed with collection__cache_free (NULL ok). BO_ENOMEM. */
int collection__cache_create(collection__cache **out, struct bo_error *err);
void collection__cache_free(collection__cache *c);

/* A new reference to file i's cached blob (collection_blob_release), or NULL when none
 * is cached or, unless any_age, when storage was last asked about it too long ago. */
collection_blob *collection__cache_take(collection__cache *c, int i, int any_age);

/* Caches a copy of data (len bytes) as file i, with its SHA-256 (hex) and the ETag
 * storage gave for it; readers holding the old blob keep it. 0 or BO_ENOMEM. */
int collection__cache_put(collection__cache *c, int i, const char *data, size_t len, const char *sha_hex,
			  const char *storage_etag, struct bo_error *err);

#endif

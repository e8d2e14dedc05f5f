/* history: a bare git repository (libgit2) with one commit per change of the published
 * collection.json. Each commit's tree holds collection.json and, for every version it
 * lists, <id>/<version>/rdf.yaml. Functions open the repository per call, so they are
 * safe from any thread; concurrent committers are serialised by the ref update (the
 * loser gets BO_ECONFLICT and its rebuild job retries). */
#ifndef BO_HISTORY_H
#define BO_HISTORY_H

#include <stddef.h>

struct bo_error;
struct cJSON;

/* Most commits one history_list call returns. */
#define HISTORY_LIST_MAX 1000

/* One RDF the committed collection lists (stored at <concept_id>/<version>/rdf.yaml). */
struct history_rdf {
	const char *concept_id;
	const char *version;
};

/* Reads the bytes of <id>/<version>/files/rdf.yaml for the commit; *out is malloc'd
 * (caller frees). Returns 0, BO_ENOTFOUND (the RDF is then left out) or another code. */
typedef int (*history_load_fn)(void *ctx, const char *concept_id, const char *version, char **out,
			       size_t *len_out, struct bo_error *err);

/* Commits collection (len bytes) and the listed RDFs to the repository at dir (created as
 * a bare repository when missing) on refs/heads/main, with message (trimmed to 64 KiB),
 * unless the tip already holds these exact bytes of collection.json (*committed_out = 0).
 * RDFs already in the tip's tree at the same path are reused without calling load.
 * committed_out may be NULL. Returns 0, BO_EINTERNAL (libgit2's message), BO_ECONFLICT
 * (another process moved the branch meanwhile), BO_ENOMEM. */
int history_commit(const char *dir, const void *collection, size_t len, const struct history_rdf *rdfs,
		   size_t nrdfs, history_load_fn load, void *load_ctx, const char *message,
		   int *committed_out, struct bo_error *err);

/* What one process remembers between its commits: the tip it made last and the
 * <id>/<version> RDF directories of that tip's tree, so its next commit neither reads the
 * tip's subtrees (one per concept) nor looks each listed RDF up. Owned by the caller,
 * used by one history_commit_cached at a time; history_cache_free accepts NULL. */
typedef struct history_cache history_cache;
void history_cache_free(history_cache *c);

/* As history_commit. *cache (NULL at first) is trusted only while it names the current
 * tip; otherwise (another process committed meanwhile) the tip's tree is read once as
 * history_commit does. After a commit *cache describes the new tip (on BO_ENOMEM it may
 * be left NULL). Same return codes as history_commit. */
int history_commit_cached(const char *dir, const void *collection, size_t len, const struct history_rdf *rdfs,
			  size_t nrdfs, history_load_fn load, void *load_ctx, const char *message,
			  int *committed_out, history_cache **cache, struct bo_error *err);

/* {"commits":[{id, message, time}]}, newest first, at most limit (1..HISTORY_LIST_MAX);
 * time is ISO 8601 UTC. An absent repository gives an empty list. *out is owned by the
 * caller (cJSON_Delete). Returns 0, BO_EINTERNAL, BO_ENOMEM. */
int history_list(const char *dir, int limit, struct cJSON **out, struct bo_error *err);

/* The collection.json of commit (full 40-hex id, or an unambiguous prefix of at least 7)
 * into *out (malloc'd, NUL-terminated, caller frees). Returns 0, BO_EBADREQUEST (not a
 * commit id), BO_ENOTFOUND, BO_EINTERNAL, BO_ENOMEM. */
int history_read(const char *dir, const char *commit, char **out, size_t *len_out, struct bo_error *err);

#endif

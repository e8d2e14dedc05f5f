/* draft_diff: what the draft's current revision changed (issue 16), against the previous
 * revision that was staged and against the latest published version: each file by path
 * (added, removed, changed, same by SHA-256) and a line diff of rdf.yaml (linediff). The
 * revisions' files and rdf.yaml text are what staging kept in revision_files and
 * revision_rdf; a published version's files are its rows of the files table. */
#ifndef BO_DRAFT_DIFF_H
#define BO_DRAFT_DIFF_H

#include <sqlite3.h>

struct app;
struct bo_error;
struct cJSON;

/* {id, revision, staged, against_previous: null | {revision, identical, summary {added,
 * removed, changed, same}, files [{path, change, sha256_old, sha256_new, size_old,
 * size_new}], rdf_diff: [lines] | null, rdf_diff_status}, against_published: null | {version,
 * revision, …the same}}. rdf_diff_status is "ok", "too large to diff" or "not kept" (a
 * revision staged before the texts were kept). *out: caller frees with cJSON_Delete.
 * BO_ENOTFOUND when the concept has no draft. */
int draft_diff_view(const struct app *a, sqlite3 *c, const char *id, struct cJSON **out, struct bo_error *err);

/* The RDF of the draft's current revision as the uploader sent it (*out: caller frees).
 * BO_ENOTFOUND when there is no draft or its revision's text was not kept. */
int draft_diff_original(sqlite3 *c, const char *id, char **out, struct bo_error *err);

#endif

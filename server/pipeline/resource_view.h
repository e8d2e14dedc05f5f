/* resource_view: the JSON of a concept, its draft, a version and their listings as the
 * API gives them (DESIGN §10: the field names are a contract), built from the database
 * for the API, the CLI and tests alike. URLs come from the configured public_url and
 * files_url, never from a request. Each function reads on the caller's connection and
 * sets *out (caller frees with cJSON_Delete). */
#ifndef BO_RESOURCE_VIEW_H
#define BO_RESOURCE_VIEW_H

#include <sqlite3.h>
#include <stddef.h>

struct app;
struct bo_error;
struct cJSON;
struct drafts_filter;

/* {id, id_emoji, type, revision, state, state_detail, status, uploader {id, name},
 * created, updated, package {sha256, size}, rdf, files [...], validation, tests [...],
 * links {...}}. BO_ENOTFOUND when the concept has no draft. */
int resource_view_draft(const struct app *a, sqlite3 *c, const char *id, struct cJSON **out,
			struct bo_error *err);
/* {id, id_emoji, type, created, concept_doi, draft: null | {state, revision, status, url},
 * versions [...]}. BO_ENOTFOUND when there is no such concept. */
int resource_view_resource(const struct app *a, sqlite3 *c, const char *id, struct cJSON **out,
			   struct bo_error *err);
/* {id, version, type, state, yanked, …, rdf, files [...], links {...}} of a version that is
 * published or yanked. BO_ENOTFOUND otherwise. */
int resource_view_version(const struct app *a, sqlite3 *c, const char *id, const char *version,
			  struct cJSON **out, struct bo_error *err);
/* {resources: [...], limit, offset}: concepts with their draft, newest first. */
int resource_view_list(const struct app *a, sqlite3 *c, const struct drafts_filter *f, struct cJSON **out,
		       struct bo_error *err);
/* [{id, at, kind, message, details, subject, actor}] of the concept's events, oldest
 * first; actors by name ("system" for the server). BO_ENOTFOUND for an unknown id. */
int resource_view_events(const struct app *a, sqlite3 *c, const char *id, struct cJSON **out,
			 struct bo_error *err);

/* Bound of a documentation file served by resource_view_documentation (bytes). */
#define RESOURCE_DOC_MAX (1U << 20)

/* The documentation file (the RDF's `documentation`, a file of the package) of version
 * (NULL: the draft) of id, read from storage into *text (malloc'd, *len bytes), so the
 * pages can render it from our own origin whatever the storage is. Returns 0;
 * BO_ENOTFOUND (no such version or draft, no documentation, or one that is a URL: the
 * detail names it, or a file the package lacks), BO_ETOOLARGE (over RESOURCE_DOC_MAX),
 * BO_EDATABASE, BO_ESTORAGE, BO_ENOMEM. */
int resource_view_documentation(const struct app *a, sqlite3 *c, const char *id, const char *version, char **text,
				size_t *len, struct bo_error *err);

#endif

/* imports: the rows `backoffice import` reads and writes when it adopts an existing
 * collection (pipeline/import): concepts, versions, files and aliases. Every function takes
 * the caller's connection and runs inside its transaction; none commits. Drafts are
 * drafts_import's (drafts owns that table). */
#ifndef BO_IMPORTS_H
#define BO_IMPORTS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;

/* A concept as the import compares it. "" for SQL NULL. */
struct imports_concept {
	char type[32];
	char concept_doi[256];
	int revisions;
};

/* *found = 0 when there is no concept id. 0 or BO_EDATABASE. */
int imports_concept_get(sqlite3 *c, const char *id, struct imports_concept *out, int *found, struct bo_error *err);

/* Sets created_at and concept_doi (NULL or "" = none) of a concept ids_reserve_named just
 * inserted. 0 or BO_EDATABASE. */
int imports_concept_adopt(sqlite3 *c, const char *id, const char *created, const char *concept_doi,
			  struct bo_error *err);

/* Raises concepts.revisions to at least revision (an imported draft is revision 1, so the
 * next upload is 2). 0 or BO_EDATABASE. */
int imports_concept_revisions(sqlite3 *c, const char *id, int revision, struct bo_error *err);

/* A version row to insert: state 'published' or 'yanked'; published_at = created;
 * source_url NULL for our own files. */
struct imports_version {
	const char *concept_id, *version, *state, *rdf_json, *rdf_sha256, *created, *doi, *source_url;
};

/* The stored version of (id, version): *found = 0 when there is none; sha and doi ("" for
 * NULL) are copied into the caller's buffers of 65 and 256 bytes. 0 or BO_EDATABASE. */
int imports_version_get(sqlite3 *c, const char *id, const char *version, char sha[65], char doi[256], int *found,
			struct bo_error *err);
/* Inserts the version; BO_ECONFLICT when the row exists (the caller checked). 0, BO_ECONFLICT
 * or BO_EDATABASE. */
int imports_version_add(sqlite3 *c, const struct imports_version *v, struct bo_error *err);

/* Inserts a files row (version_or_draft a version or "draft"); an existing row is kept
 * (INSERT OR IGNORE). 0 or BO_EDATABASE. */
int imports_file_add(sqlite3 *c, const char *id, const char *version_or_draft, const char *path, uint64_t size,
		     const char *sha256, const char *content_type, struct bo_error *err);

/* sha256 of a files row into sha (65 bytes), "" when there is none. 0 or BO_EDATABASE. */
int imports_file_sha(sqlite3 *c, const char *id, const char *version_or_draft, const char *path, char sha[65],
		     struct bo_error *err);

/* The concept an alias names, copied into concept_id (n bytes); *found = 0 when none.
 * 0 or BO_EDATABASE. */
int imports_alias_get(sqlite3 *c, const char *alias, char *concept_id, size_t n, int *found, struct bo_error *err);
/* Records alias -> concept_id. 0 or BO_EDATABASE (also for an alias taken already: check
 * with imports_alias_get first). */
int imports_alias_add(sqlite3 *c, const char *alias, const char *concept_id, struct bo_error *err);

#endif

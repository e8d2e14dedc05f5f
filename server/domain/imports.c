/* imports: the statements of `backoffice import` on concepts, versions, files and aliases. */
#include "domain/imports.h"

#include "common/error.h"
#include "infra/db.h"

#include <stdio.h>
#include <string.h>

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	snprintf(dst, n, "%s", db_column_text(st, col));
}

static void bind_or_null(sqlite3_stmt *st, int idx, const char *s)
{
	if (s && *s)
		db_bind_text(st, idx, s);
	else
		sqlite3_bind_null(st, idx);
}

int imports_concept_get(sqlite3 *c, const char *id, struct imports_concept *out, int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof(*out));
	*found = 0;
	int rc = db_prepare(c, &st, "SELECT type, COALESCE(concept_doi, ''), revisions FROM concepts WHERE id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = 1;
		copy_col(out->type, sizeof(out->type), st, 0);
		copy_col(out->concept_doi, sizeof(out->concept_doi), st, 1);
		out->revisions = sqlite3_column_int(st, 2);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read concept", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int imports_concept_adopt(sqlite3 *c, const char *id, const char *created, const char *concept_doi,
			  struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "UPDATE concepts SET created_at = ?2, concept_doi = ?3 WHERE id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, created);
	bind_or_null(st, 3, concept_doi);
	return db_step_done(st, err);
}

int imports_concept_revisions(sqlite3 *c, const char *id, int revision, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "UPDATE concepts SET revisions = max(revisions, ?2) WHERE id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, revision);
	return db_step_done(st, err);
}

int imports_version_get(sqlite3 *c, const char *id, const char *version, char sha[65], char doi[256], int *found,
			struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	sha[0] = doi[0] = '\0';
	int rc = db_prepare(c, &st,
			    "SELECT rdf_sha256, COALESCE(doi, '') FROM versions WHERE concept_id = ?1 AND version = ?2", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = 1;
		copy_col(sha, 65, st, 0);
		copy_col(doi, 256, st, 1);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read version", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int imports_version_add(sqlite3 *c, const struct imports_version *v, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, "
			    "published_at, doi, source_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8) "
			    "ON CONFLICT(concept_id, version) DO NOTHING",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, v->concept_id);
	db_bind_text(st, 2, v->version);
	db_bind_text(st, 3, v->state);
	db_bind_text(st, 4, v->rdf_json);
	db_bind_text(st, 5, v->rdf_sha256);
	db_bind_text(st, 6, v->created);
	bind_or_null(st, 7, v->doi);
	bind_or_null(st, 8, v->source_url);
	rc = db_step_done(st, err);
	if (!rc && sqlite3_changes(c) != 1)
		rc = bo_error_set(err, BO_ECONFLICT, "version %s/%s exists", v->concept_id, v->version);
	return rc;
}

int imports_file_add(sqlite3 *c, const char *id, const char *version_or_draft, const char *path, uint64_t size,
		     const char *sha256, const char *content_type, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "INSERT OR IGNORE INTO files(concept_id, version_or_draft, path, size, sha256, content_type) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version_or_draft);
	db_bind_text(st, 3, path);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
	db_bind_text(st, 5, sha256);
	db_bind_text(st, 6, content_type);
	return db_step_done(st, err);
}

int imports_file_sha(sqlite3 *c, const char *id, const char *version_or_draft, const char *path, char sha[65],
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	sha[0] = '\0';
	int rc = db_prepare(c, &st,
			    "SELECT sha256 FROM files WHERE concept_id = ?1 AND version_or_draft = ?2 AND path = ?3", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version_or_draft);
	db_bind_text(st, 3, path);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		copy_col(sha, 65, st, 0);
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "read file", err);
	sqlite3_finalize(st);
	return rc;
}

int imports_alias_get(sqlite3 *c, const char *alias, char *concept_id, size_t n, int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	if (n)
		concept_id[0] = '\0';
	int rc = db_prepare(c, &st, "SELECT concept_id FROM aliases WHERE alias = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, alias);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = 1;
		copy_col(concept_id, n, st, 0);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read alias", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int imports_alias_add(sqlite3 *c, const char *alias, const char *concept_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "INSERT INTO aliases(alias, concept_id) VALUES (?1, ?2)", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, alias);
	db_bind_text(st, 2, concept_id);
	return db_step_done(st, err);
}

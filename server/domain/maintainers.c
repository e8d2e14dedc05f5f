/* maintainers: whether a user may act as maintainer of a concept. Invariant: read-only, and
 * the RDF that names the maintainers is the latest published version's (the draft's only
 * while nothing is published), so the authors a new draft lists gain nothing before it is
 * published. */
#include "domain/maintainers.h"

#include "common/error.h"
#include "domain/auth.h"
#include "domain/drafts.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static int email_listed(const cJSON *rdf, const char *key, const char *email)
{
	const cJSON *people = cJSON_GetObjectItemCaseSensitive(rdf, key), *p;
	if (!cJSON_IsArray(people))
		return 0;
	cJSON_ArrayForEach(p, people) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "email");
		if (cJSON_IsString(e) && !strcasecmp(e->valuestring, email))
			return 1;
	}
	return 0;
}

/* 1 if the RDF text (len bytes) lists email among its authors or maintainers, else 0; an
 * unparsable stored RDF names nobody (it was validated when stored). */
static int text_lists(const char *text, size_t len, const char *email)
{
	cJSON *rdf = text ? cJSON_ParseWithLength(text, len) : NULL;
	int yes = rdf && (email_listed(rdf, "authors", email) || email_listed(rdf, "maintainers", email));
	cJSON_Delete(rdf);
	return yes;
}

/* 1 if the latest published version's RDF lists email, 0 if not, 2 if nothing is
 * published, <0 error. */
static int published_lists(sqlite3 *c, const char *concept_id, const char *email, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT rdf_json FROM versions WHERE concept_id = ?1 AND state = 'published' "
			    "ORDER BY published_at DESC LIMIT 1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 2;
	else if (step != SQLITE_ROW)
		rc = db_fail(c, "read rdf", err);
	else
		rc = text_lists((const char *)sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), email);
	sqlite3_finalize(st);
	return rc;
}

/* The rule of maintainers_includes without the reviewer/admin clause. */
static int maintains(sqlite3 *c, const struct auth_user *user, const char *concept_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	struct draft d = {0};
	int found = 0, rc;
	rc = db_prepare(c, &st, "SELECT created_by = ?2 FROM concepts WHERE id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	sqlite3_bind_int64(st, 2, user->id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step != SQLITE_ROW)
		rc = db_fail(c, "look up concept", err);
	else
		rc = sqlite3_column_int(st, 0) == 1 ? 1 : 2;
	sqlite3_finalize(st);
	if (rc != 2)
		return rc;
	rc = drafts_get(c, concept_id, DRAFTS_WITH_RDF, &d, &found, err);
	if (rc)
		return rc;
	if (found && d.uploader_id == user->id)
		rc = 1;
	else if (!user->email[0])
		rc = 0;
	else {
		rc = published_lists(c, concept_id, user->email, err);
		if (rc == 2)
			rc = found && text_lists(d.rdf_json, strlen(d.rdf_json), user->email);
	}
	drafts_release(&d);
	return rc;
}

int maintainers_includes(sqlite3 *c, const struct auth_user *user, const char *concept_id, struct bo_error *err)
{
	if (!user || user->disabled || !concept_id)
		return 0;
	if (user->role >= AUTH_ROLE_REVIEWER)
		return 1;
	return maintains(c, user, concept_id, err);
}

static int oom(struct bo_error *err)
{
	return bo_error_set(err, BO_ENOMEM, "out of memory");
}

/* Adds column col as key: text, or null for SQL NULL. 0 or BO_ENOMEM. */
static int add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	cJSON *v = sqlite3_column_type(st, col) == SQLITE_NULL ? cJSON_CreateNull()
								: cJSON_CreateString(db_column_text(st, col));
	return v && cJSON_AddItemToObject(o, key, v) ? 0 : BO_ENOMEM;
}

static int list_drafts(sqlite3 *c, const struct auth_user *user, int limit, int offset, cJSON *items,
		       struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT d.concept_id, "
			    "  COALESCE(CASE WHEN json_valid(d.rdf_json) THEN json_extract(d.rdf_json, '$.name') END, ''), "
			    "  c.type, d.state, d.revision, d.updated_at "
			    "FROM drafts d JOIN concepts c ON c.id = d.concept_id "
			    "WHERE d.uploader_id = ?1 AND d.state <> 'published' "
			    "ORDER BY d.updated_at DESC, d.concept_id LIMIT ?2 OFFSET ?3",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, user->id);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int(st, 3, offset);
	int step = SQLITE_DONE;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o)) {
			cJSON_Delete(o);
			rc = oom(err);
			break;
		}
		if (add_text(o, "id", st, 0) || add_text(o, "name", st, 1) || add_text(o, "type", st, 2) ||
		    add_text(o, "state", st, 3) || !cJSON_AddNumberToObject(o, "revision", sqlite3_column_int(st, 4)) ||
		    add_text(o, "updated_at", st, 5))
			rc = oom(err);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list drafts", err);
	sqlite3_finalize(st);
	return rc;
}

/* Candidates are the published concepts the user created or whose latest RDF holds their
 * email somewhere (instr, a cheap prefilter); maintains() then applies the one rule. */
static int list_resources(sqlite3 *c, const struct auth_user *user, int limit, int offset, cJSON *items,
			  struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT v.concept_id, "
			    "  COALESCE(CASE WHEN json_valid(v.rdf_json) THEN json_extract(v.rdf_json, '$.name') END, ''), "
			    "  k.type, v.version, v.doi, k.concept_doi, v.published_at "
			    "FROM versions v JOIN concepts k ON k.id = v.concept_id "
			    "WHERE v.state = 'published' AND v.published_at = (SELECT max(w.published_at) FROM versions w "
			    "    WHERE w.concept_id = v.concept_id AND w.state = 'published') "
			    "  AND (k.created_by = ?1 OR (?2 <> '' AND instr(lower(v.rdf_json), lower(?2)) > 0)) "
			    "ORDER BY v.published_at DESC, v.concept_id",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, user->id);
	db_bind_text(st, 2, user->email);
	int step = SQLITE_DONE, skipped = 0, n = 0;
	while (!rc && n < limit && (step = sqlite3_step(st)) == SQLITE_ROW) {
		int yes = maintains(c, user, db_column_text(st, 0), err);
		if (yes < 0) {
			rc = yes;
			break;
		}
		if (!yes || skipped++ < offset)
			continue;
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o)) {
			cJSON_Delete(o);
			rc = oom(err);
			break;
		}
		n++;
		if (add_text(o, "id", st, 0) || add_text(o, "name", st, 1) || add_text(o, "type", st, 2) ||
		    add_text(o, "latest_version", st, 3) || add_text(o, "doi", st, 4) ||
		    add_text(o, "concept_doi", st, 5) || add_text(o, "published_at", st, 6))
			rc = oom(err);
	}
	if (!rc && n < limit && step != SQLITE_DONE)
		rc = db_fail(c, "list resources", err);
	sqlite3_finalize(st);
	return rc;
}

int maintainers_list_mine(sqlite3 *c, const struct auth_user *user, int limit, int offset, cJSON *mine,
			  struct bo_error *err)
{
	cJSON *drafts = cJSON_AddArrayToObject(mine, "drafts");
	cJSON *resources = cJSON_AddArrayToObject(mine, "resources");
	if (!drafts || !resources)
		return oom(err);
	int rc = list_drafts(c, user, limit, offset, drafts, err);
	if (rc)
		return rc;
	return list_resources(c, user, limit, offset, resources, err);
}

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

int maintainers_includes(sqlite3 *c, const struct auth_user *user, const char *concept_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	struct draft d = {0};
	int found = 0, rc;
	if (!user || user->disabled || !concept_id)
		return 0;
	if (user->role >= AUTH_ROLE_REVIEWER)
		return 1;
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

/* compat: rows of partner compatibility reports (see compat.h). */
#include "domain/compat.h"

#include "common/error.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int compat_put(sqlite3 *c, const char *concept_id, const char *version, const char *tool, const char *status,
	       const char *report_json, int64_t user_id, int *replaced, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	int rc = db_prepare(c, &st, "SELECT 1 FROM compatibility WHERE concept_id = ?1 AND version = ?2 AND tool = ?3",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, tool);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_fail(c, "read a compatibility report", err);
	if (replaced)
		*replaced = step == SQLITE_ROW;
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st,
			"INSERT INTO compatibility(concept_id, version, tool, status, report_json, reported_by, reported_at) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(concept_id, version, tool) DO UPDATE SET "
			"status = excluded.status, report_json = excluded.report_json, reported_by = excluded.reported_by, "
			"reported_at = excluded.reported_at",
			err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, tool);
	db_bind_text(st, 4, status);
	db_bind_text(st, 5, report_json);
	if (user_id > 0)
		sqlite3_bind_int64(st, 6, user_id);
	db_bind_text(st, 7, now);
	return db_step_done(st, err); /* finalizes st */
}

int compat_list(sqlite3 *c, sqlite3_stmt **cache, const char *concept_id, const char *version, cJSON **out,
		struct bo_error *err)
{
	sqlite3_stmt *own = NULL, **st = cache ? cache : &own;
	int rc = 0;
	*out = NULL;
	if (!*st && (rc = db_prepare(c, st,
				     "SELECT tool, status, reported_at, report_json FROM compatibility "
				     "WHERE concept_id = ?1 AND version = ?2 ORDER BY tool",
				     err)))
		return rc;
	sqlite3_reset(*st);
	db_bind_text(*st, 1, concept_id);
	db_bind_text(*st, 2, version);
	cJSON *arr = cJSON_CreateArray();
	if (!arr) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto done;
	}
	int step;
	while ((step = sqlite3_step(*st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto done;
		}
		cJSON_AddStringToObject(o, "tool", db_column_text(*st, 0));
		cJSON_AddStringToObject(o, "status", db_column_text(*st, 1));
		cJSON_AddStringToObject(o, "reported_at", db_column_text(*st, 2));
		cJSON *rep = cJSON_Parse(db_column_text(*st, 3));
		cJSON_AddItemToObject(o, "report", rep ? rep : cJSON_CreateNull());
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list compatibility reports", err);
done:
	sqlite3_reset(*st);
	if (own)
		sqlite3_finalize(own);
	if (rc)
		cJSON_Delete(arr);
	else
		*out = arr;
	return rc;
}

int compat_get(sqlite3 *c, const char *concept_id, const char *version, const char *tool, char **json,
	       struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*json = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT report_json FROM compatibility WHERE concept_id = ?1 AND version = ?2 AND tool = ?3", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, tool);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*json = strdup(db_column_text(st, 0));
		if (!*json)
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read a compatibility report", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int compat_clear_draft(sqlite3 *c, const char *concept_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "DELETE FROM compatibility WHERE concept_id = ?1 AND version = 'draft'", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	return db_step_done(st, err); /* finalizes st */
}

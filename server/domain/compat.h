/* compat: the compatibility reports partner tools (ilastik, deepimagej, …) send about a
 * published version or a draft, one row per (concept, version or "draft", tool) where tool
 * is "<name>_<tool version>". Rows only; what a report must hold is compat_report's. */
#ifndef BO_COMPAT_H
#define BO_COMPAT_H

#include <sqlite3.h>
#include <stdint.h>

struct bo_error;
struct cJSON;

/* Inserts or replaces the report of tool for (concept_id, version) in the caller's
 * transaction. *replaced (may be NULL) says whether one was there. 0 or BO_EDATABASE. */
int compat_put(sqlite3 *c, const char *concept_id, const char *version, const char *tool, const char *status,
	       const char *report_json, int64_t user_id, int *replaced, struct bo_error *err);

/* The reports of (concept_id, version) by tool name: a JSON array of {tool, status,
 * reported_at, report} (report the stored object, tool excluded as the reference keeps it).
 * *st caches the prepared statement between calls (NULL: prepared and finalized here; else
 * the caller finalizes it). 0, BO_EDATABASE, BO_ENOMEM. */
int compat_list(sqlite3 *c, sqlite3_stmt **st, const char *concept_id, const char *version, struct cJSON **out,
		struct bo_error *err);

/* The stored JSON of one report, malloc'd into *json (NULL when there is none). 0 or
 * BO_EDATABASE/BO_ENOMEM. */
int compat_get(sqlite3 *c, const char *concept_id, const char *version, const char *tool, char **json,
	       struct bo_error *err);

/* Drops the draft's reports of concept_id (a new revision was not judged by them). */
int compat_clear_draft(sqlite3 *c, const char *concept_id, struct bo_error *err);

#endif

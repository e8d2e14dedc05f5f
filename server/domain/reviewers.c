/* reviewers: the reviewers file into users with the reviewer role. Invariant: all or
 * nothing — every entry is read and checked (fields, duplicates within the file, ids held by
 * another user) before anything is written, every problem is reported with its entry's loc,
 * and one bad entry imports no one. */
#include "domain/reviewers.h"

#include "common/error.h"
#include "domain/auth.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	int index;
	char email[AUTH_EMAIL_MAX + 1]; /* lowercased; "" when invalid */
	const char *name, *orcid, *affiliation, *github_user, *external_id; /* borrowed from the tree */
};

static int report(struct bo_error *err, int i, const char *field, const char *msg)
{
	if (!err)
		return 0;
	cJSON *loc = cJSON_CreateArray();
	if (!loc || !cJSON_AddItemToArray(loc, cJSON_CreateString("reviewers")) ||
	    !cJSON_AddItemToArray(loc, cJSON_CreateNumber(i)) || !cJSON_AddItemToArray(loc, cJSON_CreateString(field))) {
		cJSON_Delete(loc);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	if (bo_error_add(err, loc, msg, "value_error", 0, 0))
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	return 0;
}

/* An optional string field: absent, null and "" read as NULL. Returns 1 when it was reported
 * as bad, 0 when fine, BO_ENOMEM. */
static int entry_text(const cJSON *e, int i, const char *key, size_t max, const char **out, struct bo_error *err)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, key);
	char msg[96];
	*out = NULL;
	if (!f || cJSON_IsNull(f))
		return 0;
	if (!cJSON_IsString(f)) {
		snprintf(msg, sizeof(msg), "%s must be a string", key);
		return report(err, i, key, msg) ? BO_ENOMEM : 1;
	}
	if (strnlen(f->valuestring, max + 1) > max) {
		snprintf(msg, sizeof(msg), "%s is longer than %zu bytes", key, max);
		return report(err, i, key, msg) ? BO_ENOMEM : 1;
	}
	if (*f->valuestring)
		*out = f->valuestring;
	return 0;
}

/* Reads and checks one entry; returns the number of problems reported or BO_ENOMEM. */
static int read_entry(const cJSON *e, int i, struct entry *out, struct bo_error *err)
{
	int bad = 0, r;
	out->index = i;
	if (!cJSON_IsObject(e))
		return report(err, i, "email", "entry must be an object with at least name and email") ? BO_ENOMEM : 1;
	const cJSON *email = cJSON_GetObjectItemCaseSensitive(e, "email");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
	if (!cJSON_IsString(email) || !auth_is_valid_email(email->valuestring)) {
		if (report(err, i, "email", "missing or invalid email (one @, no spaces, at most 319 bytes)"))
			return BO_ENOMEM;
		bad++;
	} else {
		auth_lower_email(out->email, sizeof(out->email), email->valuestring);
	}
	if (!cJSON_IsString(name) || !auth_is_valid_name(name->valuestring)) {
		if (report(err, i, "name", "missing or invalid name (1-255 characters, no control characters)"))
			return BO_ENOMEM;
		bad++;
	} else {
		out->name = name->valuestring;
	}
	struct {
		const char *key;
		size_t max;
		const char **dst;
	} fields[] = {
		{"orcid", AUTH_ORCID_MAX, &out->orcid},
		{"affiliation", REVIEWERS_TEXT_MAX, &out->affiliation},
		{"github_user", REVIEWERS_TEXT_MAX, &out->github_user},
		{"id", REVIEWERS_TEXT_MAX, &out->external_id},
	};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		r = entry_text(e, i, fields[f].key, fields[f].max, fields[f].dst, err);
		if (r < 0)
			return r;
		bad += r;
	}
	if (out->orcid && !auth_is_valid_orcid(out->orcid)) {
		if (report(err, i, "orcid", "orcid must be printable characters without spaces"))
			return BO_ENOMEM;
		bad++;
	}
	return bad;
}

static int cmp_entry_email(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = strcmp(x->email, y->email);
	return c ? c : x->index - y->index;
}

static int cmp_entry_id(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = strcmp(x->external_id ? x->external_id : "", y->external_id ? y->external_id : "");
	return c ? c : x->index - y->index;
}

/* Emails and ids listed twice in the file; sorting keeps this O(n log n) for 4 MiB files. */
static int find_duplicates(struct entry *entries, struct entry **order, int n, struct bo_error *err)
{
	int bad = 0;
	char msg[160];
	for (int i = 0; i < n; i++)
		order[i] = &entries[i];
	qsort(order, (size_t)n, sizeof(*order), cmp_entry_email);
	for (int i = 1; i < n; i++) {
		if (!order[i]->email[0] || strcmp(order[i - 1]->email, order[i]->email))
			continue;
		snprintf(msg, sizeof(msg), "email is listed twice (also in entry %d)", order[i - 1]->index);
		if (report(err, order[i]->index, "email", msg))
			return BO_ENOMEM;
		bad++;
	}
	qsort(order, (size_t)n, sizeof(*order), cmp_entry_id);
	for (int i = 1; i < n; i++) {
		if (!order[i]->external_id || !order[i - 1]->external_id ||
		    strcmp(order[i - 1]->external_id, order[i]->external_id))
			continue;
		snprintf(msg, sizeof(msg), "id is listed twice (also in entry %d)", order[i - 1]->index);
		if (report(err, order[i]->index, "id", msg))
			return BO_ENOMEM;
		bad++;
	}
	return bad;
}

/* An id (external_id is UNIQUE) already held by a user with another email cannot be moved
 * silently: which of the two accounts is the reviewer is for an operator to decide. */
static int find_taken_ids(sqlite3 *c, const struct entry *entries, int n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int bad = 0;
	char msg[AUTH_EMAIL_MAX + 64];
	int rc = db_prepare(c, &st, "SELECT email FROM users WHERE external_id = ?1", err);
	if (rc)
		return rc;
	for (int i = 0; i < n; i++) {
		if (!entries[i].external_id || !entries[i].email[0])
			continue;
		sqlite3_reset(st);
		db_bind_text(st, 1, entries[i].external_id);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW && strcmp(db_column_text(st, 0), entries[i].email)) {
			snprintf(msg, sizeof(msg), "id belongs to the user %s", db_column_text(st, 0));
			if (report(err, i, "id", msg)) {
				bad = BO_ENOMEM;
				break;
			}
			bad++;
		} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
			bad = db_fail(c, "look up reviewer id", err);
			break;
		}
	}
	sqlite3_finalize(st);
	return bad;
}

static int bind_entry(sqlite3_stmt *st, const struct entry *e)
{
	int rc = db_bind_text(st, 1, e->name);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 2, e->email);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 3, e->orcid);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 4, e->affiliation);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 5, e->github_user);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 6, e->external_id);
	return rc;
}

static int write_entries(sqlite3 *c, const struct entry *entries, int n, int *added, int *updated,
			 struct bo_error *err)
{
	sqlite3_stmt *sel = NULL, *upd = NULL, *ins = NULL;
	char now[32];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &sel, "SELECT id FROM users WHERE email = ?1", err);
	if (!rc)
		/* COALESCE: a field missing from the file keeps what the user already has; an admin
		 * stays admin; disabled is left alone */
		rc = db_prepare(c, &upd,
				"UPDATE users SET name = ?1, orcid = COALESCE(?3, orcid), affiliation = COALESCE(?4, affiliation), "
				"github_user = COALESCE(?5, github_user), external_id = COALESCE(?6, external_id), "
				"role = CASE role WHEN 'admin' THEN 'admin' ELSE 'reviewer' END WHERE email = ?2",
				err);
	if (!rc)
		rc = db_prepare(c, &ins,
				"INSERT INTO users(name, email, orcid, affiliation, github_user, external_id, role, created_at) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'reviewer', ?7)",
				err);
	if (rc)
		goto fail;
	for (int i = 0; i < n; i++) {
		sqlite3_reset(sel);
		db_bind_text(sel, 1, entries[i].email);
		int step = sqlite3_step(sel);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			rc = db_fail(c, "look up reviewer", err);
			goto fail;
		}
		sqlite3_stmt *w = step == SQLITE_ROW ? upd : ins;
		sqlite3_reset(w);
		if (bind_entry(w, &entries[i]) != SQLITE_OK || (w == ins && db_bind_text(ins, 7, now) != SQLITE_OK)) {
			rc = db_fail(c, "bind reviewer", err);
			goto fail;
		}
		if (sqlite3_step(w) != SQLITE_DONE) {
			rc = db_fail(c, w == ins ? "insert reviewer" : "update reviewer", err);
			goto fail;
		}
		if (w == ins)
			(*added)++;
		else
			(*updated)++;
	}
	rc = 0;
fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	return rc;
}

int reviewers_import(sqlite3 *c, const char *json_text, size_t len, int *added_out, int *updated_out,
		     struct bo_error *err)
{
	cJSON *root = NULL;
	struct entry *entries = NULL;
	struct entry **order = NULL;
	const char *end = NULL;
	int added = 0, updated = 0, bad = 0, n = 0, own = 0, in_tx = 0, rc, r;
	if (added_out)
		*added_out = 0;
	if (updated_out)
		*updated_out = 0;
	if (len > REVIEWERS_IMPORT_MAX_BYTES)
		return bo_error_set(err, BO_ETOOLARGE, "reviewers file is larger than %u bytes",
				    REVIEWERS_IMPORT_MAX_BYTES);
	root = cJSON_ParseWithLengthOpts(json_text, len, &end, 0);
	if (!root) {
		rc = bo_error_set(err, BO_EBADREQUEST, "reviewers file is not valid JSON (near byte %td)",
				  end ? end - json_text : (ptrdiff_t)0);
		goto fail;
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "reviewers");
	if (!cJSON_IsArray(list)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "reviewers file must be an object with a \"reviewers\" array");
		goto fail;
	}
	n = cJSON_GetArraySize(list);
	entries = calloc((size_t)n + 1, sizeof(*entries));
	order = calloc((size_t)n + 1, sizeof(*order));
	if (!entries || !order) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	const cJSON *e;
	int i = 0;
	cJSON_ArrayForEach(e, list) {
		r = read_entry(e, i, &entries[i], err);
		if (r < 0) {
			rc = r;
			goto fail;
		}
		bad += r;
		i++;
	}
	r = find_duplicates(entries, order, n, err);
	if (r < 0) {
		rc = r;
		goto fail;
	}
	bad += r;
	/* the id check reads users, so it runs under the write lock with the writes */
	rc = db_begin_or_join(c, &own, err);
	if (rc)
		goto fail;
	in_tx = 1;
	r = find_taken_ids(c, entries, n, err);
	if (r < 0) {
		rc = r;
		goto fail;
	}
	bad += r;
	if (bad) {
		rc = bo_error_set(err, BO_EBADREQUEST, "reviewers file: %d problem%s in %d entries; nothing was imported",
				  bad, bad == 1 ? "" : "s", n);
		goto fail;
	}
	rc = write_entries(c, entries, n, &added, &updated, err);
	if (rc)
		goto fail;
	if (added_out)
		*added_out = added;
	if (updated_out)
		*updated_out = updated;
	rc = 0;
fail:
	if (in_tx)
		rc = db_end_joined(c, own, rc, err);
	if (rc && added_out)
		*added_out = 0;
	if (rc && updated_out)
		*updated_out = 0;
	free(order);
	free(entries);
	cJSON_Delete(root);
	return rc;
}

/* review: reviewer decisions, chat, the queue and yanking. Invariant: a decision reads
 * the draft, checks the state, tests and version, and writes the transition, chat, events
 * and jobs in ONE immediate transaction, so two reviewers racing cannot both win and a
 * crash leaves either all of it or none. */
#include "pipeline/review.h"

#include "app.h"
#include "common/error.h"
#include "domain/auth.h"
#include "domain/drafts.h"
#include "domain/ids.h"
#include "domain/maintainers.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "pipeline/collection.h"
#include "pipeline/lifecycle.h"
#include "pipeline/notify.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERSION_PATTERN "^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$"

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ---- version ------------------------------------------------------------------- */

static int version_text(const cJSON *v, char *out, size_t n)
{
	if (cJSON_IsString(v) && v->valuestring[0]) {
		snprintf(out, n, "%s", v->valuestring);
		return 1;
	}
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
		snprintf(out, n, "%.15g", v->valuedouble);
		return 1;
	}
	return 0;
}

int review_pick_version(sqlite3 *c, const char *concept_id, const cJSON *rdf, char *out, size_t n,
			struct bo_error *err)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rdf, "config"), "bioimageio");
	if (!version_text(cJSON_GetObjectItemCaseSensitive(rdf, "version"), out, n) &&
	    !version_text(cJSON_GetObjectItemCaseSensitive(cfg, "version"), out, n)) {
		/* No version in the RDF: the next integer, as the reference numbered them. */
		sqlite3_stmt *st = NULL;
		int rc = db_prepare(c, &st,
				    "SELECT COALESCE(MAX(CAST(version AS INTEGER)), 0) FROM versions "
				    "WHERE concept_id = ?1 AND version GLOB '[0-9]*' AND version NOT GLOB '*[^0-9]*'",
				    err);
		if (rc)
			return rc;
		db_bind_text(st, 1, concept_id);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			return db_fail(c, "read versions", err);
		}
		snprintf(out, n, "%lld", (long long)sqlite3_column_int64(st, 0) + 1);
		sqlite3_finalize(st);
	}
	regex_t re;
	if (regcomp(&re, VERSION_PATTERN, REG_EXTENDED | REG_NOSUB))
		return oom(err);
	int bad = regexec(&re, out, 0, NULL, 0) != 0;
	regfree(&re);
	if (bad) {
		int rc = bo_error_set(err, BO_EINVALIDRDF,
				      "version '%.64s' must start with a letter or digit and use only letters, digits, "
				      "'.', '+' and '-' (at most 64)",
				      out);
		cJSON *loc = cJSON_CreateArray();
		cJSON_AddItemToArray(loc, cJSON_CreateString("version"));
		bo_error_add(err, loc, err->detail, "version_invalid", 0, 0);
		return rc;
	}
	return 0;
}

/* ---- the draft as a decision sees it ------------------------------------------- */

struct draft_row {
	int revision;
	enum draft_state state;
	cJSON *rdf;
};

static int load_draft(sqlite3 *c, const char *id, struct draft_row *d, struct bo_error *err)
{
	struct draft dr;
	int found = 0;
	memset(d, 0, sizeof(*d));
	int rc = drafts_get(c, id, DRAFTS_WITH_RDF, &dr, &found, err);
	if (rc)
		return rc;
	if (!found)
		return bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", id);
	d->revision = dr.revision;
	d->state = dr.state;
	d->rdf = cJSON_Parse(dr.rdf_json);
	drafts_release(&dr);
	if (!d->rdf)
		return bo_error_set(err, BO_EINTERNAL, "the draft of '%s' has no readable RDF", id);
	return 0;
}

/* Verdicts of the revision: static status ("" when none) and how many dynamic runs
 * failed or errored. */
static int load_verdicts(sqlite3 *c, const char *id, int revision, char *static_status, size_t n,
			 int *dynamic_failed, struct bo_error *err)
{
	struct draft_runs runs = {0};
	static_status[0] = '\0';
	*dynamic_failed = 0;
	int rc = drafts_runs_list(c, id, revision, &runs, err);
	for (size_t i = 0; !rc && i < runs.n; i++) {
		const struct draft_run *r = &runs.v[i];
		if (!strcmp(r->kind, "static"))
			snprintf(static_status, n, "%s", r->status);
		else if (!strcmp(r->status, "failed") || !strcmp(r->status, "error"))
			(*dynamic_failed)++;
	}
	drafts_runs_free(&runs);
	return rc;
}

static int version_exists(sqlite3 *c, const char *id, const char *version, int *exists, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "SELECT 1 FROM versions WHERE concept_id = ?1 AND version = ?2", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	*exists = step == SQLITE_ROW;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_fail(c, "read versions", err);
	sqlite3_finalize(st);
	return rc;
}

int review_chat_add(sqlite3 *c, const char *concept_id, int64_t author_id, const char *text,
		    int64_t *id_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "INSERT INTO chat(concept_id, subject, at, author_id, text) VALUES (?1, 'draft', ?2, ?3, ?4)",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, now);
	if (author_id)
		sqlite3_bind_int64(st, 3, author_id);
	db_bind_text(st, 4, text);
	rc = db_step_done(st, err);
	if (!rc && id_out)
		*id_out = sqlite3_last_insert_rowid(c);
	/* chat.json follows, written after the commit */
	if (!rc)
		rc = jobs_enqueue_coalesced(c, "draft-json", concept_id, NULL, NULL, err);
	return rc;
}

static int message_ok(const char *m, struct bo_error *err, const char *what)
{
	size_t n = m ? strlen(m) : 0;
	while (n && (m[n - 1] == ' ' || m[n - 1] == '\n' || m[n - 1] == '\t' || m[n - 1] == '\r'))
		n--;
	if (n == 0 || n > REVIEW_MESSAGE_MAX) {
		int rc = bo_error_set(err, BO_EBADREQUEST, n ? "'%s' is longer than %d bytes" : "'%s' is required: say what to change",
				      what, REVIEW_MESSAGE_MAX);
		cJSON *loc = cJSON_CreateArray();
		cJSON_AddItemToArray(loc, cJSON_CreateString(what));
		bo_error_add(err, loc, err->detail, n ? "too_long" : "missing", 0, 0);
		return rc;
	}
	return 0;
}

/* ---- decisions ------------------------------------------------------------------ */

static int accept(struct app *a, sqlite3 *c, const struct auth_user *reviewer, const char *id,
		  struct draft_row *d, const struct review_decision *dec, cJSON *out, struct bo_error *err)
{
	char static_status[16], version[80], details[256];
	int failed = 0, exists = 0;
	(void)a;
	if (d->state != DRAFT_AWAITING_REVIEW && d->state != DRAFT_CHANGES_REQUESTED)
		return bo_error_set(err, BO_ECONFLICT,
				    "the draft of '%s' is '%s'; a reviewer can accept it only in 'awaiting review' or "
				    "'changes requested'",
				    id, drafts_state_name(d->state));
	int rc = load_verdicts(c, id, d->revision, static_status, sizeof(static_status), &failed, err);
	if (rc)
		return rc;
	if (strcmp(static_status, "passed"))
		return bo_error_set(err, BO_ETESTSFAILED,
				    "static validation of revision %d %s; request changes instead (the uploader must fix "
				    "the RDF)",
				    d->revision, static_status[0] ? "failed" : "has no verdict");
	if (failed && !dec->acknowledge_failed_tests)
		return bo_error_set(err, BO_ETESTSFAILED,
				    "%d dynamic test run%s of revision %d failed; look at the evidence and accept with "
				    "\"acknowledge_failed_tests\": true, or request changes",
				    failed, failed == 1 ? "" : "s", d->revision);
	rc = review_pick_version(c, id, d->rdf, version, sizeof(version), err);
	if (!rc)
		rc = version_exists(c, id, version, &exists, err);
	if (rc)
		return rc;
	if (exists)
		return bo_error_set(err, BO_ECONFLICT,
				    "version '%s' of '%s' is already published; raise `version` in the RDF and upload again",
				    version, id);
	/* entering accepted queues the publish job of the version */
	struct lifecycle_move m = {.concept_id = id,
				   .revision = d->revision,
				   .to = DRAFT_ACCEPTED,
				   .detail = "",
				   .actor_id = reviewer->id,
				   .version = version};
	rc = lifecycle_move(c, a->cfg, &m, err);
	if (rc)
		return rc;
	cJSON *det = cJSON_CreateObject();
	cJSON_AddStringToObject(det, "decision", "accept");
	cJSON_AddStringToObject(det, "version", version);
	cJSON_AddBoolToObject(det, "acknowledge_failed_tests", dec->acknowledge_failed_tests != 0);
	cJSON_AddNumberToObject(det, "failed_dynamic_tests", failed);
	if (!det || !cJSON_PrintPreallocated(det, details, sizeof(details), 0)) {
		cJSON_Delete(det);
		return oom(err);
	}
	cJSON_Delete(det);
	char msg[512];
	snprintf(msg, sizeof(msg), "accepted as version %s by %s%s", version, reviewer->name,
		 failed ? " (failed dynamic tests acknowledged)" : "");
	rc = lifecycle_event(c, id, "draft", reviewer->id, "review", msg, details, err);
	if (!rc && dec->message && dec->message[0])
		rc = review_chat_add(c, id, reviewer->id, dec->message, NULL, err);
	if (rc)
		return rc;
	cJSON_AddStringToObject(out, "state", drafts_state_name(DRAFT_ACCEPTED));
	cJSON_AddStringToObject(out, "version", version);
	cJSON_AddNumberToObject(out, "job", (double)m.job_id);
	return 0;
}

static int request_changes(sqlite3 *c, const struct config *cfg, const struct auth_user *reviewer, const char *id,
			   struct draft_row *d, const struct review_decision *dec, cJSON *out,
			   struct bo_error *err)
{
	if (d->state != DRAFT_AWAITING_REVIEW)
		return bo_error_set(err, BO_ECONFLICT,
				    "the draft of '%s' is '%s'; changes can be requested only in 'awaiting review'", id,
				    drafts_state_name(d->state));
	/* the message goes to the uploader (mail) and the chat, which only maintainers and
	 * reviewers read; the public state says only that changes were asked for */
	struct lifecycle_move m = {.concept_id = id,
				   .revision = d->revision,
				   .to = DRAFT_CHANGES_REQUESTED,
				   .detail = "a reviewer asked for changes: the message is in the chat and was mailed to the "
					     "uploader",
				   .note = dec->message,
				   .actor_id = reviewer->id};
	int rc = lifecycle_move(c, cfg, &m, err);
	if (!rc)
		rc = review_chat_add(c, id, reviewer->id, dec->message, NULL, err);
	char msg[320];
	snprintf(msg, sizeof(msg), "changes requested by %s", reviewer->name);
	if (!rc)
		rc = lifecycle_event(c, id, "draft", reviewer->id, "review", msg,
				     "{\"decision\":\"request_changes\"}", err);
	if (!rc)
		cJSON_AddStringToObject(out, "state", drafts_state_name(DRAFT_CHANGES_REQUESTED));
	return rc;
}

int review_decide(struct app *a, const struct auth_user *reviewer, const char *concept_id,
		  const struct review_decision *dec, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct draft_row d = {0};
	cJSON *o = NULL;
	int rc = 0, began = 0;
	if (!dec->accept && message_ok(dec->message, err, "message"))
		return err->code;
	if (dec->accept && dec->message && strlen(dec->message) > REVIEW_MESSAGE_MAX)
		return message_ok(dec->message, err, "message");
	rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (rc)
		goto fail;
	began = 1;
	rc = load_draft(c, concept_id, &d, err);
	if (rc)
		goto fail;
	o = cJSON_CreateObject();
	if (!o) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddStringToObject(o, "id", concept_id);
	cJSON_AddNumberToObject(o, "revision", d.revision);
	rc = dec->accept ? accept(a, c, reviewer, concept_id, &d, dec, o, err)
			 : request_changes(c, a->cfg, reviewer, concept_id, &d, dec, o, err);
	if (rc)
		goto fail;
	rc = db_commit(c, err);
	if (rc)
		goto fail;
	began = 0;
	if (dec->accept)
		jobs_notify(a->jobs);
	*out = o;
	o = NULL;
fail:
	if (began)
		db_rollback(c);
	db_release(a->db, c);
	cJSON_Delete(d.rdf);
	cJSON_Delete(o);
	return rc;
}

/* ---- queue ---------------------------------------------------------------------- */

int review_queue(struct app *a, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	/* drafts waiting for their uploader, so that no draft vanishes from every list */
	cJSON *waiting = cJSON_AddArrayToObject(o, "changes_requested");
	if (!o || !items || !waiting) {
		cJSON_Delete(o);
		return oom(err);
	}
	int rc = db_acquire(a->db, &c, err);
	if (!rc)
		rc = drafts_list_awaiting(c, items, err);
	if (!rc)
		rc = drafts_list_in_state(c, DRAFT_CHANGES_REQUESTED, waiting, err);
	db_release(a->db, c);
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* ---- chat ----------------------------------------------------------------------- */

static int may_chat(sqlite3 *c, const struct auth_user *u, const char *id, struct bo_error *err)
{
	int taken = ids_is_taken(c, id, err);
	if (taken <= 0)
		return taken < 0 ? taken : bo_error_set(err, BO_ENOTFOUND, "no resource '%s'", id);
	int rc = maintainers_includes(c, u, id, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return bo_error_set(err, BO_EFORBIDDEN,
				    "only the maintainers of '%s' and reviewers take part in its chat", id);
	return 0;
}

int review_chat_list(struct app *a, const struct auth_user *u, const char *id, cJSON **out,
		     struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	/* drafts waiting for their uploader, so that no draft vanishes from every list */
	cJSON *waiting = cJSON_AddArrayToObject(o, "changes_requested");
	if (!o || !items || !waiting) {
		cJSON_Delete(o);
		return oom(err);
	}
	int rc = db_acquire(a->db, &c, err);
	if (!rc)
		rc = may_chat(c, u, id, err);
	if (!rc)
		rc = db_prepare(c, &st,
				"SELECT m.id, m.at, m.author_id, u.name, m.text FROM chat m LEFT JOIN users u "
				"ON u.id = m.author_id WHERE m.concept_id = ?1 ORDER BY m.id",
				err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *m = cJSON_CreateObject();
		if (!m) {
			rc = oom(err);
			goto fail;
		}
		cJSON_AddItemToArray(items, m);
		cJSON_AddNumberToObject(m, "id", (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(m, "at", db_column_text(st, 1));
		cJSON *au = cJSON_AddObjectToObject(m, "author");
		cJSON_AddNumberToObject(au, "id", (double)sqlite3_column_int64(st, 2));
		cJSON_AddStringToObject(au, "name", db_column_text(st, 3));
		cJSON_AddStringToObject(m, "text", db_column_text(st, 4));
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "read the chat", err);
fail:
	sqlite3_finalize(st);
	db_release(a->db, c);
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return 0;
}

int review_chat_post(struct app *a, const struct auth_user *u, const char *id, const char *text,
		     cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int64_t mid = 0;
	int began = 0;
	if (message_ok(text, err, "text"))
		return err->code;
	int rc = db_acquire(a->db, &c, err);
	if (!rc)
		rc = db_begin(c, err);
	if (rc)
		goto fail;
	began = 1;
	rc = may_chat(c, u, id, err);
	if (!rc)
		rc = review_chat_add(c, id, u->id, text, &mid, err);
	if (!rc)
		rc = notify_chat(c, a->cfg, id, u->id, u->role == AUTH_ROLE_REVIEWER || u->role == AUTH_ROLE_ADMIN,
				 text, err);
	if (!rc)
		rc = db_commit(c, err);
	if (rc)
		goto fail;
	began = 0;
	cJSON *m = cJSON_CreateObject();
	if (!m) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddNumberToObject(m, "id", (double)mid);
	cJSON *au = cJSON_AddObjectToObject(m, "author");
	cJSON_AddNumberToObject(au, "id", (double)u->id);
	cJSON_AddStringToObject(au, "name", u->name);
	cJSON_AddStringToObject(m, "text", text);
	*out = m;
fail:
	if (began)
		db_rollback(c);
	db_release(a->db, c);
	return rc;
}

/* ---- yank ----------------------------------------------------------------------- */

int review_yank(struct app *a, const struct auth_user *reviewer, const char *id, const char *version,
		const char *reason, struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int began = 0;
	if (message_ok(reason, err, "reason"))
		return err->code;
	int rc = db_acquire(a->db, &c, err);
	if (!rc)
		rc = db_begin(c, err);
	if (rc)
		goto fail;
	began = 1;
	rc = db_prepare(c, &st, "SELECT state FROM versions WHERE concept_id = ?1 AND version = ?2", err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? bo_error_set(err, BO_ENOTFOUND, "'%s' has no version '%s'", id, version)
					 : db_fail(c, "read version", err);
		goto fail;
	}
	if (strcmp(db_column_text(st, 0), "published")) {
		rc = bo_error_set(err, BO_ECONFLICT, "version '%s' of '%s' is '%s', not 'published'", version, id,
				  db_column_text(st, 0));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = db_prepare(c, &st,
			"UPDATE versions SET state = 'yanked', yank_reason = ?3 WHERE concept_id = ?1 AND version = ?2",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	db_bind_text(st, 3, reason);
	rc = db_step_done(st, err);
	st = NULL;
	char msg[REVIEW_MESSAGE_MAX + 400], why[512];
	snprintf(msg, sizeof(msg), "yanked by %s: %s", reviewer->name, reason);
	snprintf(why, sizeof(why), "yank %s/%s (by %s)", id, version, reviewer->name);
	if (!rc)
		rc = lifecycle_event(c, id, version, reviewer->id, "yank", msg, NULL, err);
	if (!rc)
		rc = collection_enqueue_rebuild(c, why, err);
	if (!rc)
		rc = db_commit(c, err);
	if (rc)
		goto fail;
	began = 0;
	jobs_notify(a->jobs);
fail:
	sqlite3_finalize(st);
	if (began)
		db_rollback(c);
	db_release(a->db, c);
	return rc;
}

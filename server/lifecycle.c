/* lifecycle: one table of states and one of transitions, so the rules live in data.
 * Invariant: drafts.state only changes through lifecycle_transition, and each change
 * has its events row written in the same transaction. */
#include "lifecycle.h"

#include "app.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "jobs.h"
#include "notify.h"
#include "storage.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct lifecycle_state states[] = {
	{"unpacking", 1, "📦", "the package is being unpacked into storage"},
	{"unpacked", 2, "⏳", "files are staged; tests are queued"},
	{"testing", 3, "🧪", "static validation or a dynamic test is running"},
	{"awaiting review", 4, "🧐", "every test has a verdict; waiting for a reviewer"},
	{"changes requested", 5, "🔧", "a reviewer asked for changes"},
	{"accepted", 5, "👍", "a reviewer accepted; publishing"},
	{"published", 6, "🎉", "published"},
	{"error", 0, "🔴", "staging failed"},
};

/* from → to. A new upload (revision) restarts at unpacking from any state but accepted;
 * that is a new revision, not a transition, and is handled by the upload path. */
static const struct {
	const char *from, *to;
} transitions[] = {
	{"unpacking", "unpacked"},
	{"unpacking", "error"},
	{"error", "unpacking"}, /* an operator retries a dead stage job */
	{"error", "testing"},   /* an operator retries a dead validate job */
	{"unpacked", "testing"},
	{"unpacked", "error"},
	{"testing", "awaiting review"},
	{"testing", "error"},
	{"awaiting review", "testing"},
	{"awaiting review", "changes requested"},
	{"awaiting review", "accepted"},
	{"changes requested", "accepted"},
	{"changes requested", "testing"},
	{"accepted", "published"},
	{"accepted", "error"},
	{"error", "accepted"}, /* an operator retries a dead publish job */
};

const struct lifecycle_state *lifecycle_state_find(const char *name)
{
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(states[i].name, name))
			return &states[i];
	return NULL;
}

int lifecycle_allowed(const char *from, const char *to)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (!strcmp(transitions[i].from, from) && !strcmp(transitions[i].to, to))
			return 1;
	return 0;
}

int lifecycle_event(sqlite3 *c, const char *concept_id, const char *subject, int64_t actor_id,
		    const char *kind, const char *message, const char *details_json, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "INSERT INTO events(concept_id, subject, at, actor_id, kind, message, details_json) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, subject);
	db_bind_text(st, 3, now);
	if (actor_id > 0)
		sqlite3_bind_int64(st, 4, actor_id);
	else
		sqlite3_bind_null(st, 4);
	db_bind_text(st, 5, kind);
	db_bind_text(st, 6, message ? message : "");
	db_bind_text(st, 7, details_json);
	rc = db_step_done(st, err);
	/* the draft's public files (draft.json, log.json) follow, written after the commit */
	if (!rc && !strcmp(subject, "draft"))
		rc = jobs_enqueue_coalesced(c, "draft-json", concept_id, NULL, NULL, err);
	return rc;
}

int lifecycle_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			 const char *to, const char *detail, int64_t actor_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char from[32] = "";
	int cur_rev = 0;
	int rc = db_prepare(c, &st, "SELECT state, revision FROM drafts WHERE concept_id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(from, sizeof(from), "%s", db_column_text(st, 0));
		cur_rev = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (step == SQLITE_DONE)
		return bo_error_set(err, BO_ENOTFOUND, "%s has no draft", concept_id);
	if (step != SQLITE_ROW)
		return db_fail(c, "read draft state", err);
	if (cur_rev != revision)
		return bo_error_set(err, BO_ECONFLICT, "%s: revision %d was superseded by revision %d", concept_id,
				    revision, cur_rev);
	if (!lifecycle_allowed(from, to))
		return bo_error_set(err, BO_ECONFLICT, "%s: cannot go from '%s' to '%s'", concept_id, from, to);
	char now[40];
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st,
			"UPDATE drafts SET state = ?1, state_detail = ?2, updated_at = ?3 "
			"WHERE concept_id = ?4 AND revision = ?5",
			err);
	if (rc)
		return rc;
	db_bind_text(st, 1, to);
	db_bind_text(st, 2, detail ? detail : "");
	db_bind_text(st, 3, now);
	db_bind_text(st, 4, concept_id);
	sqlite3_bind_int(st, 5, revision);
	rc = db_step_done(st, err);
	if (rc)
		return rc;
	/* after the row changed and in its transaction: the mails go out iff this commits */
	rc = notify_transition(c, cfg, concept_id, from, to, detail, actor_id, err);
	if (rc)
		return rc;
	char details[160];
	snprintf(details, sizeof(details), "{\"from\":\"%s\",\"to\":\"%s\",\"revision\":%d}", from, to, revision);
	char msg[BO_ERROR_DETAIL_MAX + 64];
	snprintf(msg, sizeof(msg), "%s → %s%s%s", from, to, detail && *detail ? ": " : "", detail ? detail : "");
	/* the event also queues the draft-json job that rewrites draft.json after the commit */
	return lifecycle_event(c, concept_id, "draft", actor_id, "state", msg, details, err);
}

cJSON *lifecycle_status_json(const struct app *a, const char *concept_id, const char *state,
			     const char *detail, const char *timestamp)
{
	const struct lifecycle_state *s = lifecycle_state_find(state);
	cJSON *o = cJSON_CreateObject();
	char url[2048];
	if (!o || !s) {
		cJSON_Delete(o);
		return NULL;
	}
	snprintf(url, sizeof(url), "%s/status/%s", a->cfg->public_url, concept_id);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddNumberToObject(o, "step", s->step);
	cJSON_AddNumberToObject(o, "num_steps", LIFECYCLE_NUM_STEPS);
	cJSON_AddStringToObject(o, "icon", s->icon);
	cJSON_AddStringToObject(o, "description", detail && *detail ? detail : s->description);
	cJSON_AddStringToObject(o, "timestamp", timestamp);
	/* the reference's ErrorStatus: message, traceback, during (the state it left, which
	 * we do not keep as a full status object: null, which its model allows) */
	if (!strcmp(s->name, "error") &&
	    (!cJSON_AddStringToObject(o, "message", detail && *detail ? detail : s->description) ||
	     !cJSON_AddArrayToObject(o, "traceback") || !cJSON_AddNullToObject(o, "during"))) {
		cJSON_Delete(o);
		return NULL;
	}
	if (!cJSON_AddStringToObject(o, "run_url", url)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* draft.json of the row as committed now: *text (malloc'd) and the row's updated_at in
 * stamp. BO_ENOTFOUND when the draft is gone. */
static int draft_json_text(struct app *a, sqlite3 *c, const char *concept_id, char **text, char *stamp,
			   size_t stamp_len, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *doc = NULL;
	*text = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT state, state_detail, updated_at, created_at FROM drafts WHERE concept_id = ?1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? bo_error_set(err, BO_ENOTFOUND, "%s has no draft", concept_id)
					 : db_fail(c, "read draft", err);
		goto fail;
	}
	snprintf(stamp, stamp_len, "%s", db_column_text(st, 2));
	doc = cJSON_CreateObject();
	cJSON *status = lifecycle_status_json(a, concept_id, db_column_text(st, 0), db_column_text(st, 1),
					      db_column_text(st, 2));
	if (!doc || !status) {
		cJSON_Delete(status);
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON_AddItemToObject(doc, "status", status);
	cJSON_AddStringToObject(doc, "created", db_column_text(st, 3));
	*text = cJSON_Print(doc);
	if (!*text)
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
fail:
	sqlite3_finalize(st);
	cJSON_Delete(doc);
	return rc;
}

/* The uploader UI's <id>/draft/log.json ({log_version, entries:[{message, details,
 * details_formatted, timestamp, run_url}]}) and chat.json ({messages:[{author, text,
 * timestamp}]}), from the events and chat rows of the draft. People appear by name, never
 * by address, as in the API. The newest DRAFT_FILE_ROWS rows of each. */
#define DRAFT_FILE_ROWS 2000

static int put_json(struct app *a, const char *key, cJSON *doc, struct bo_error *err)
{
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	int rc = text ? storage_put_buffer(a->storage, key, text, strlen(text), "application/json", err)
		      : bo_error_set(err, BO_ENOMEM, "out of memory");
	free(text);
	return rc;
}

static int draft_log_files(struct app *a, sqlite3 *c, const char *id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char key[512], run_url[1024];
	snprintf(run_url, sizeof(run_url), "%s/status/%s", a->cfg->public_url, id);
	cJSON *log = cJSON_CreateObject(), *chat = cJSON_CreateObject();
	cJSON *entries = log ? cJSON_AddArrayToObject(log, "entries") : NULL;
	cJSON *messages = chat ? cJSON_AddArrayToObject(chat, "messages") : NULL;
	int rc = 0;
	if (!entries || !messages || !cJSON_AddNumberToObject(log, "log_version", 1)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto out;
	}
	rc = db_prepare(c, &st,
			"SELECT * FROM (SELECT e.id, e.at, e.kind, e.message, e.details_json, u.name FROM events e "
			"LEFT JOIN users u ON u.id = e.actor_id WHERE e.concept_id = ?1 AND e.subject = 'draft' "
			"ORDER BY e.id DESC LIMIT ?2) ORDER BY id",
			err);
	if (rc)
		goto out;
	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, DRAFT_FILE_ROWS);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		cJSON *details = cJSON_Parse(db_column_text(st, 4));
		char formatted[256];
		const char *who = db_column_text(st, 5);
		snprintf(formatted, sizeof(formatted), "%s%s%s", db_column_text(st, 2), *who ? " by " : "", who);
		if (!e || !cJSON_AddItemToArray(entries, e)) {
			cJSON_Delete(e);
			cJSON_Delete(details);
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto out;
		}
		cJSON_AddStringToObject(e, "message", db_column_text(st, 3));
		cJSON_AddItemToObject(e, "details", details ? details : cJSON_CreateObject());
		cJSON_AddStringToObject(e, "details_formatted", formatted);
		cJSON_AddStringToObject(e, "timestamp", db_column_text(st, 1));
		cJSON_AddStringToObject(e, "run_url", run_url);
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = db_prepare(c, &st,
			"SELECT * FROM (SELECT m.id, m.at, m.text, COALESCE(u.name, '') FROM chat m "
			"LEFT JOIN users u ON u.id = m.author_id WHERE m.concept_id = ?1 AND m.subject = 'draft' "
			"ORDER BY m.id DESC LIMIT ?2) ORDER BY id",
			err);
	if (rc)
		goto out;
	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, DRAFT_FILE_ROWS);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *m = cJSON_CreateObject();
		if (!m || !cJSON_AddItemToArray(messages, m)) {
			cJSON_Delete(m);
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto out;
		}
		cJSON_AddStringToObject(m, "author", db_column_text(st, 3));
		cJSON_AddStringToObject(m, "text", db_column_text(st, 2));
		cJSON_AddStringToObject(m, "timestamp", db_column_text(st, 1));
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(key, sizeof(key), "%s/draft/log.json", id);
	rc = put_json(a, key, log, err);
	snprintf(key, sizeof(key), "%s/draft/chat.json", id);
	if (!rc)
		rc = put_json(a, key, chat, err);
out:
	sqlite3_finalize(st);
	cJSON_Delete(log);
	cJSON_Delete(chat);
	return rc;
}

/* Two runs for one draft may overlap (a transition while one is writing): each checks
 * after its PUT that the row did not change meanwhile and writes again if it did, so the
 * last PUT always carries the latest committed state. */
#define DRAFT_JSON_ROUNDS 5

int lifecycle_draft_json_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	sqlite3 *c = NULL;
	char *text = NULL;
	char stamp[40] = "", now_stamp[40] = "", key[512];
	snprintf(key, sizeof(key), "%s/draft/draft.json", job->subject);
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	for (int round = 0; round < DRAFT_JSON_ROUNDS; round++) {
		rc = draft_json_text(a, c, job->subject, &text, stamp, sizeof(stamp), err);
		if (rc == BO_ENOTFOUND) { /* published or removed since: nothing to describe */
			bo_error_cleanup(err);
			rc = 0;
			break;
		}
		if (!rc)
			rc = storage_put_buffer(a->storage, key, text, strlen(text), "application/json", err);
		free(text);
		text = NULL;
		if (rc)
			break;
		rc = draft_json_text(a, c, job->subject, &text, now_stamp, sizeof(now_stamp), err);
		free(text);
		text = NULL;
		if (rc == BO_ENOTFOUND) {
			bo_error_cleanup(err);
			rc = 0;
			break;
		}
		if (rc || !strcmp(stamp, now_stamp))
			break;
	}
	/* log and chat after draft.json; a later event or message queues another run */
	if (!rc && stamp[0])
		rc = draft_log_files(a, c, job->subject, err);
	db_release(a->db, c);
	return rc;
}

int lifecycle_draft_state(sqlite3 *c, const char *id, int *revision, char *state, size_t state_len, int *found,
			   struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	int rc = db_prepare(c, &st, "SELECT revision, state FROM drafts WHERE concept_id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = 1;
		*revision = sqlite3_column_int(st, 0);
		snprintf(state, state_len, "%s", db_column_text(st, 1));
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read draft", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int lifecycle_finish_testing(struct app *a, sqlite3 *c, const char *concept_id, int revision,
			     int *moved, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char rev[16], state[32];
	int cur = 0, found = 0;
	*moved = 0;
	snprintf(rev, sizeof(rev), "%d", revision);
	int rc = db_prepare(c, &st,
			    "SELECT count(*) FROM test_runs WHERE concept_id = ?1 AND revision_or_version = ?2 "
			    "AND status IN ('queued', 'running')",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, rev);
	int unfinished = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (unfinished < 0)
		return db_fail(c, "count unfinished test runs", err);
	if (unfinished)
		return 0;
	rc = lifecycle_draft_state(c, concept_id, &cur, state, sizeof(state), &found, err);
	if (rc || !found || cur != revision || strcmp(state, "testing"))
		return rc;
	rc = lifecycle_transition(c, a->cfg, concept_id, revision, "awaiting review", NULL, 0, err);
	if (!rc)
		*moved = 1;
	return rc;
}

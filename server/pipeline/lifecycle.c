/* lifecycle: one table of states and one of transitions with what entering each sets
 * going, so the pipeline lives in data. Invariant: drafts.state only changes through
 * lifecycle_move, and each change has its events row written in the same transaction. */
#include "pipeline/lifecycle.h"

#include "app.h"
#include "check/validate.h"
#include "common/error.h"
#include "domain/auth.h"
#include "domain/compat.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/storage.h"
#include "pipeline/archive.h"
#include "pipeline/collection.h"
#include "pipeline/notify.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct lifecycle_state states[DRAFT_NUM_STATES] = {
	[DRAFT_UNPACKING] = {DRAFT_UNPACKING, "unpacking", 1, "📦", "the package is being unpacked into storage"},
	[DRAFT_UNPACKED] = {DRAFT_UNPACKED, "unpacked", 2, "⏳", "files are staged; tests are queued"},
	[DRAFT_TESTING] = {DRAFT_TESTING, "testing", 3, "🧪", "static validation or a dynamic test is running"},
	[DRAFT_AWAITING_REVIEW] = {DRAFT_AWAITING_REVIEW, "awaiting review", 4, "🧐",
				   "every test has a verdict; waiting for a reviewer"},
	[DRAFT_CHANGES_REQUESTED] = {DRAFT_CHANGES_REQUESTED, "changes requested", 5, "🔧",
				     "changes are needed: static validation failed, or a reviewer asked for them"},
	[DRAFT_ACCEPTED] = {DRAFT_ACCEPTED, "accepted", 5, "👍", "a reviewer accepted; publishing"},
	[DRAFT_PUBLISHED] = {DRAFT_PUBLISHED, "published", 6, "🎉", "published"},
	[DRAFT_ERROR] = {DRAFT_ERROR, "error", 0, "🔴", "staging failed"},
};

/* What entering a state sets going, in the transaction of the move. */
enum enter_action {
	ENTER_NOTHING,
	ENTER_VALIDATE, /* the validate job: static validation of the staged files */
	ENTER_RETEST,   /* a reviewer re-runs the dynamic tests: one test job per weight format */
	ENTER_PUBLISH,  /* the publish job: copy the draft to its version */
	ENTER_RELEASE,  /* the collection rebuild and, when archiving is on, the Zenodo archive */
};

/* The pipeline. A new upload (revision) restarts at unpacking from any state but accepted
 * (lifecycle_begin_revision, which queues the stage job); a static verdict queues the
 * dynamic tests (lifecycle_static_verdict); the last verdict moves testing on
 * (lifecycle_finish_testing). Moves out of error are an operator retrying the dead job
 * of that step, which goes on by itself: they enter nothing. */
static const struct {
	enum draft_state from, to;
	enum enter_action enter;
} transitions[] = {
	{DRAFT_UNPACKING, DRAFT_UNPACKED, ENTER_VALIDATE},
	{DRAFT_UNPACKING, DRAFT_ERROR, ENTER_NOTHING},
	{DRAFT_ERROR, DRAFT_UNPACKING, ENTER_NOTHING}, /* a dead stage job retried */
	{DRAFT_ERROR, DRAFT_TESTING, ENTER_NOTHING},   /* a dead validate job retried */
	{DRAFT_UNPACKED, DRAFT_TESTING, ENTER_NOTHING}, /* the validate job began */
	{DRAFT_UNPACKED, DRAFT_ERROR, ENTER_NOTHING},
	{DRAFT_TESTING, DRAFT_AWAITING_REVIEW, ENTER_NOTHING}, /* reviewers are mailed (notify) */
	/* static validation failed: the uploader is told what to fix; nothing a reviewer can
	 * accept, so no reviewer is asked (the reference's own state for "fix this") */
	{DRAFT_TESTING, DRAFT_CHANGES_REQUESTED, ENTER_NOTHING},
	{DRAFT_TESTING, DRAFT_ERROR, ENTER_NOTHING},
	{DRAFT_AWAITING_REVIEW, DRAFT_TESTING, ENTER_RETEST},
	{DRAFT_AWAITING_REVIEW, DRAFT_CHANGES_REQUESTED, ENTER_NOTHING},
	{DRAFT_AWAITING_REVIEW, DRAFT_ACCEPTED, ENTER_PUBLISH},
	{DRAFT_CHANGES_REQUESTED, DRAFT_ACCEPTED, ENTER_PUBLISH},
	{DRAFT_CHANGES_REQUESTED, DRAFT_TESTING, ENTER_RETEST},
	{DRAFT_ACCEPTED, DRAFT_PUBLISHED, ENTER_RELEASE},
	{DRAFT_ACCEPTED, DRAFT_ERROR, ENTER_NOTHING},
	{DRAFT_ERROR, DRAFT_ACCEPTED, ENTER_NOTHING}, /* a dead publish job retried */
};

#define NTRANSITIONS (sizeof(transitions) / sizeof(transitions[0]))

static int find_transition(enum draft_state from, enum draft_state to)
{
	for (size_t i = 0; i < NTRANSITIONS; i++)
		if (transitions[i].from == from && transitions[i].to == to)
			return (int)i;
	return -1;
}

const struct lifecycle_state *lifecycle_state_of(enum draft_state s)
{
	return (unsigned)s < DRAFT_NUM_STATES ? &states[s] : NULL;
}

int lifecycle_allowed(enum draft_state from, enum draft_state to)
{
	return find_transition(from, to) >= 0;
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

static int enqueue_revision_job(sqlite3 *c, const char *kind, const char *concept_id, int revision,
				int64_t *job_id, struct bo_error *err)
{
	char payload[64];
	snprintf(payload, sizeof(payload), "{\"revision\":%d}", revision);
	return jobs_enqueue(c, kind, concept_id, payload, 0, job_id, err);
}

static int enter_publish(sqlite3 *c, struct lifecycle_move *m, struct bo_error *err)
{
	if (!m->version || !m->version[0])
		return bo_error_set(err, BO_EINTERNAL, "%s: accepting needs the version to publish", m->concept_id);
	cJSON *p = cJSON_CreateObject();
	char *text = NULL;
	if (p && cJSON_AddNumberToObject(p, "revision", m->revision) &&
	    cJSON_AddStringToObject(p, "version", m->version) &&
	    cJSON_AddNumberToObject(p, "reviewer", (double)m->actor_id))
		text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!text)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int rc = jobs_enqueue(c, "publish", m->concept_id, text, 0, &m->job_id, err);
	free(text);
	return rc;
}

/* The version is live: the collection follows, and its archive when archiving is on.
 * The rebuild's reason names who accepted it (the history commit says so). */
static int enter_release(sqlite3 *c, const struct config *cfg, const struct lifecycle_move *m,
			 struct bo_error *err)
{
	char reason[512], name[256] = "";
	if (!m->version || !m->version[0])
		return bo_error_set(err, BO_EINTERNAL, "%s: publishing needs the version", m->concept_id);
	/* the name only decorates the reason: a failed lookup leaves it out */
	if (m->actor_id && auth_user_name(c, m->actor_id, name, sizeof(name), err))
		bo_error_cleanup(err);
	snprintf(reason, sizeof(reason), "publish %s/%s%s%s%s", m->concept_id, m->version,
		 name[0] ? " (accepted by " : "", name, name[0] ? ")" : "");
	int rc = collection_enqueue_rebuild(c, reason, err);
	if (!rc && cfg)
		rc = archive_enqueue(c, cfg, m->concept_id, m->version, err);
	return rc;
}

static int enter(sqlite3 *c, const struct config *cfg, enum enter_action action, struct lifecycle_move *m,
		 struct bo_error *err)
{
	switch (action) {
	case ENTER_NOTHING:
		return 0;
	case ENTER_VALIDATE:
		return enqueue_revision_job(c, "validate", m->concept_id, m->revision, &m->job_id, err);
	case ENTER_RETEST: {
		int rc = test_job_schedule(c, m->concept_id, m->revision, &m->njobs, err);
		if (!rc && !m->njobs)
			rc = bo_error_set(err, BO_ECONFLICT,
					  "the draft of '%s' has no weights to test (dynamic tests are for models)",
					  m->concept_id);
		return rc;
	}
	case ENTER_PUBLISH:
		return enter_publish(c, m, err);
	case ENTER_RELEASE:
		return enter_release(c, cfg, m, err);
	}
	return bo_error_set(err, BO_EINTERNAL, "unknown lifecycle action %d", (int)action);
}

int lifecycle_move(sqlite3 *c, const struct config *cfg, struct lifecycle_move *m, struct bo_error *err)
{
	enum draft_state from;
	int cur_rev = 0, found = 0;
	m->job_id = 0;
	m->njobs = 0;
	const struct lifecycle_state *to = lifecycle_state_of(m->to);
	if (!to)
		return bo_error_set(err, BO_EINTERNAL, "%s: no such state %d", m->concept_id, (int)m->to);
	int rc = drafts_state(c, m->concept_id, &cur_rev, &from, &found, err);
	if (rc)
		return rc;
	if (!found)
		return bo_error_set(err, BO_ENOTFOUND, "%s has no draft", m->concept_id);
	if (cur_rev != m->revision)
		return bo_error_set(err, BO_ECONFLICT, "%s: revision %d was superseded by revision %d", m->concept_id,
				    m->revision, cur_rev);
	int t = find_transition(from, m->to);
	if (t < 0)
		return bo_error_set(err, BO_ECONFLICT, "%s: cannot go from '%s' to '%s'", m->concept_id,
				    drafts_state_name(from), to->name);
	rc = drafts_set_state(c, m->concept_id, m->revision, m->to, m->detail, err);
	if (!rc)
		rc = enter(c, cfg, transitions[t].enter, m, err);
	/* after the row changed and in its transaction: the mails go out iff this commits */
	if (!rc)
		rc = notify_transition(c, cfg, m->concept_id, from, m->to, m->note ? m->note : m->detail, m->actor_id, err);
	if (rc)
		return rc;
	const char *detail = m->detail ? m->detail : "";
	char details[160];
	snprintf(details, sizeof(details), "{\"from\":\"%s\",\"to\":\"%s\",\"revision\":%d}",
		 drafts_state_name(from), to->name, m->revision);
	char msg[BO_ERROR_DETAIL_MAX + 64];
	snprintf(msg, sizeof(msg), "%s → %s%s%s", drafts_state_name(from), to->name, *detail ? ": " : "", detail);
	/* the event also queues the draft-json job that rewrites draft.json after the commit */
	return lifecycle_event(c, m->concept_id, "draft", m->actor_id, "state", msg, details, err);
}

int lifecycle_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			 enum draft_state to, const char *detail, int64_t actor_id, struct bo_error *err)
{
	struct lifecycle_move m = {
		.concept_id = concept_id, .revision = revision, .to = to, .detail = detail, .actor_id = actor_id};
	return lifecycle_move(c, cfg, &m, err);
}

int lifecycle_begin_revision(sqlite3 *c, const struct draft_revision *r, const char *message, int64_t *job_id,
			     struct bo_error *err)
{
	int rc = drafts_put_revision(c, r, err);
	/* partner reports judged the previous revision's files */
	if (!rc)
		rc = compat_clear_draft(c, r->concept_id, err);
	if (!rc)
		rc = lifecycle_event(c, r->concept_id, "draft", r->uploader_id, "upload", message, NULL, err);
	if (!rc)
		rc = enqueue_revision_job(c, "stage", r->concept_id, r->revision, job_id, err);
	return rc;
}

int lifecycle_static_verdict(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			     int passed, int *njobs, struct bo_error *err)
{
	int rc = 0;
	*njobs = 0;
	/* a valid model goes on to its dynamic tests, one per weight format (the draft stays
	 * in testing until each has a verdict) */
	if (passed)
		rc = test_job_schedule(c, concept_id, revision, njobs, err);
	if (!rc)
		rc = lifecycle_finish_testing(c, cfg, concept_id, revision, NULL, err);
	return rc;
}

/* When the revision's static validation failed: *detail (malloc'd) says so, with the
 * errors as "line:col  loc  message" (as many as state_detail holds); else NULL. */
static int static_failure(sqlite3 *c, const char *concept_id, int revision, char **detail, struct bo_error *err)
{
	struct draft_runs runs = {0};
	*detail = NULL;
	int rc = drafts_runs_list(c, concept_id, revision, &runs, err);
	for (size_t i = 0; !rc && i < runs.n; i++) {
		const struct draft_run *r = &runs.v[i];
		if (strcmp(r->kind, "static") || strcmp(r->status, "failed"))
			continue;
		cJSON *summary = r->summary_json ? cJSON_Parse(r->summary_json) : NULL;
		cJSON *errors = validate_summary_errors(summary);
		char *list = validate_errors_text(summary, BO_ERROR_DETAIL_MAX - 160);
		int n = cJSON_GetArraySize(errors);
		if (!list || asprintf(detail, "static validation failed with %d error%s; fix %s in the RDF and upload a new "
						"revision:\n%s",
				       n, n == 1 ? "" : "s", n == 1 ? "it" : "them", list) < 0) {
			*detail = NULL;
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		}
		free(list);
		cJSON_Delete(errors);
		cJSON_Delete(summary);
		break;
	}
	drafts_runs_free(&runs);
	return rc;
}

int lifecycle_finish_testing(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			     int *moved, struct bo_error *err)
{
	enum draft_state state;
	int cur = 0, found = 0, unfinished = 0;
	if (moved)
		*moved = 0;
	int rc = drafts_runs_unfinished(c, concept_id, revision, &unfinished, err);
	if (rc || unfinished)
		return rc;
	rc = drafts_state(c, concept_id, &cur, &state, &found, err);
	if (rc || !found || cur != revision || state != DRAFT_TESTING)
		return rc;
	char *detail = NULL;
	rc = static_failure(c, concept_id, revision, &detail, err);
	if (!rc)
		rc = lifecycle_transition(c, cfg, concept_id, revision,
					  detail ? DRAFT_CHANGES_REQUESTED : DRAFT_AWAITING_REVIEW, detail, 0, err);
	free(detail);
	if (!rc && moved)
		*moved = 1;
	return rc;
}

cJSON *lifecycle_status_json(const struct app *a, const char *concept_id, enum draft_state state,
			     const char *detail, const char *timestamp)
{
	const struct lifecycle_state *s = lifecycle_state_of(state);
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
	if (s->state == DRAFT_ERROR &&
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
	struct draft d;
	cJSON *doc = NULL;
	int found = 0;
	*text = NULL;
	int rc = drafts_get(c, concept_id, 0, &d, &found, err);
	if (rc)
		return rc;
	if (!found)
		return bo_error_set(err, BO_ENOTFOUND, "%s has no draft", concept_id);
	snprintf(stamp, stamp_len, "%s", d.updated_at);
	doc = cJSON_CreateObject();
	cJSON *status = lifecycle_status_json(a, concept_id, d.state, d.state_detail, d.updated_at);
	if (!doc || !status || !cJSON_AddItemToObject(doc, "status", status)) {
		cJSON_Delete(status);
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	if (!cJSON_AddStringToObject(doc, "created", d.created_at) || !(*text = cJSON_Print(doc)))
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
fail:
	drafts_release(&d);
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
	if (!entries || !messages || !cJSON_AddStringToObject(log, "log_version", "0.1.0")) {
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

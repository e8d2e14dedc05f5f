/* lifecycle: the draft pipeline of DESIGN §5 as one table. Each row is a transition the
 * server allows and what entering it sets going (the next job of the pipeline), so the
 * pipeline reads top to bottom in lifecycle.c and every next job is enqueued there, in
 * the transaction of the move. Every state change goes through lifecycle_move inside the
 * caller's transaction, which writes the events row and queues the mails in it too. */
#ifndef BO_LIFECYCLE_H
#define BO_LIFECYCLE_H

#include "domain/drafts.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;
struct app;
struct config;

struct lifecycle_state {
	enum draft_state state;
	const char *name; /* drafts_state_name(state) */
	int step;
	const char *icon;
	const char *description;
};

#define LIFECYCLE_NUM_STEPS 6

/* The state's row; NULL out of range. */
const struct lifecycle_state *lifecycle_state_of(enum draft_state s);
/* Whether from → to is an allowed transition. */
int lifecycle_allowed(enum draft_state from, enum draft_state to);

/* One move of a draft. */
struct lifecycle_move {
	const char *concept_id;
	int revision;         /* must still be the draft's */
	enum draft_state to;
	const char *detail;   /* kept in drafts.state_detail (what to fix, for `error`): public; may be NULL */
	const char *note;     /* said only in the mails of the move (a reviewer's message, which the
				 draft's public state must not show); NULL: the mails quote detail */
	int64_t actor_id;     /* 0 = the system */
	const char *version;  /* entering `accepted` from review: the version it publishes as */
	int64_t job_id;       /* out: the job the move queued (the publish job of an accept), else 0 */
	int njobs;            /* out: the test jobs a re-test queued */
};

/* Moves the draft from its current state to m->to, if that transition is allowed and the
 * revision is still current, and does what entering the state sets going (the table in
 * lifecycle.c). The transition's mails are queued in the same transaction
 * (notify_transition; cfg gives public_url; cfg NULL = no mails and no archiving, for
 * tools and tests). BO_ECONFLICT when the revision moved on, the transition is not
 * allowed (the detail names both states) or a re-test finds nothing to test;
 * BO_ENOTFOUND when there is no draft; BO_EINTERNAL for an accept without a version. */
int lifecycle_move(sqlite3 *c, const struct config *cfg, struct lifecycle_move *m, struct bo_error *err);
/* lifecycle_move without the extras. */
int lifecycle_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			 enum draft_state to, const char *detail, int64_t actor_id, struct bo_error *err);

/* A new revision of a draft starts at unpacking (from any state, which is not a
 * transition): writes its row (drafts_put_revision), the upload event with message by
 * the uploader, and queues the stage job (*job_id). */
int lifecycle_begin_revision(sqlite3 *c, const struct draft_revision *r, const char *message, int64_t *job_id,
			     struct bo_error *err);

/* The static verdict of the revision is recorded (in the caller's transaction): a model
 * that passed gets its dynamic tests queued (*njobs), then lifecycle_finish_testing. */
int lifecycle_static_verdict(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			     int passed, int *njobs, struct bo_error *err);

/* DESIGN §5: testing → awaiting review once no test run of the revision is queued or
 * running. Call inside the transaction that recorded a verdict; does nothing (0, *moved 0)
 * while runs are unfinished or the draft is not this revision in `testing`. moved may be
 * NULL. */
int lifecycle_finish_testing(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			     int *moved, struct bo_error *err);

/* Appends an events row (subject "draft" or a version). details_json may be NULL. */
int lifecycle_event(sqlite3 *c, const char *concept_id, const char *subject, int64_t actor_id,
		    const char *kind, const char *message, const char *details_json,
		    struct bo_error *err);

/* The status object of DESIGN §6: {name, step, num_steps, icon, description, timestamp,
 * run_url}. detail (may be empty) replaces the description for `error`. */
struct cJSON *lifecycle_status_json(const struct app *a, const char *concept_id, enum draft_state state,
				    const char *detail, const char *timestamp);

/* The "draft-json" job, which every draft event (so every transition) and chat message
 * enqueues (coalesced) in its transaction: writes <id>/draft/draft.json ({status,
 * created}), log.json and chat.json (the uploader UI's shapes) from the rows as committed,
 * after the commit, so no storage I/O happens under the write lock. A draft that is gone
 * has nothing to write (done). ctx is the app. */
struct job;
int lifecycle_draft_json_run(void *ctx, const struct job *job, struct bo_error *err);

#endif

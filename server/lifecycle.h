/* lifecycle: the draft states of DESIGN §5 (names, steps, icons), the transitions the
 * server allows, and the events log. Every transition goes through lifecycle_transition
 * inside the caller's transaction, which writes the events row in the same transaction. */
#ifndef BO_LIFECYCLE_H
#define BO_LIFECYCLE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;
struct app;
struct config;

struct lifecycle_state {
	const char *name; /* "unpacking", … as stored in drafts.state */
	int step;
	const char *icon;
	const char *description;
};

#define LIFECYCLE_NUM_STEPS 6

/* The state's row, or NULL for an unknown name. */
const struct lifecycle_state *lifecycle_state_find(const char *name);
/* Whether from → to is an allowed transition. */
int lifecycle_allowed(const char *from, const char *to);

/* Moves the draft of concept_id at revision from its current state to `to`, if that
 * transition is allowed and the revision is still current. detail is kept in
 * drafts.state_detail (what to fix, for `error`). actor_id 0 = the system. The
 * transition's mails are queued in the same transaction (notify_transition; cfg gives
 * public_url; cfg NULL = no mails, for tools and tests).
 * BO_ECONFLICT when the revision moved on or the transition is not allowed (the detail
 * names both states), BO_ENOTFOUND when there is no draft. */
int lifecycle_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, int revision,
			 const char *to, const char *detail, int64_t actor_id, struct bo_error *err);

/* The draft's revision and state; *found = 0 (and 0 returned) when the concept has no
 * draft. BO_EDATABASE on failure. */
int lifecycle_draft_state(sqlite3 *c, const char *concept_id, int *revision, char *state,
			  size_t state_len, int *found, struct bo_error *err);

/* DESIGN §5: testing → awaiting review once no test run of the revision is queued or
 * running. Call inside the transaction that recorded a verdict; does nothing (0, *moved 0)
 * while runs are unfinished or the draft is not this revision in `testing`. */
int lifecycle_finish_testing(struct app *a, sqlite3 *c, const char *concept_id, int revision,
			     int *moved, struct bo_error *err);

/* Appends an events row (subject "draft" or a version). details_json may be NULL. */
int lifecycle_event(sqlite3 *c, const char *concept_id, const char *subject, int64_t actor_id,
		    const char *kind, const char *message, const char *details_json,
		    struct bo_error *err);

/* The status object of DESIGN §6: {name, step, num_steps, icon, description, timestamp,
 * run_url}. detail (may be empty) replaces the description for `error`. */
struct cJSON *lifecycle_status_json(const struct app *a, const char *concept_id, const char *state,
				    const char *detail, const char *timestamp);

/* The "draft-json" job, which every draft event (so every transition) and chat message
 * enqueues (coalesced) in its transaction: writes <id>/draft/draft.json ({status,
 * created}), log.json and chat.json (the uploader UI's shapes) from the rows as committed,
 * after the commit, so no storage I/O happens under the write lock. A draft that is gone
 * has nothing to write (done). ctx is the app. */
struct job;
int lifecycle_draft_json_run(void *ctx, const struct job *job, struct bo_error *err);

#endif

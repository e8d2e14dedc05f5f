/* review: what reviewers and maintainers do with a draft and its versions (DESIGN §5):
 * accept or request changes, chat, the review queue, yanking a version. Every decision is
 * one transaction: the state change (with its event and mails, via lifecycle) and the
 * jobs it causes (publish, rebuild) commit together or not at all. */
#ifndef BO_REVIEW_H
#define BO_REVIEW_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct auth_user;
struct bo_error;
struct cJSON;

#define REVIEW_MESSAGE_MAX 10000 /* bytes of a review message or a chat text */

struct review_decision {
	int accept;                   /* 1 accept, 0 request changes */
	const char *message;          /* required to request changes; optional to accept */
	int acknowledge_failed_tests; /* accept despite failed dynamic tests */
};

/* Applies a reviewer's decision to the draft of concept_id. Accept: only in `awaiting
 * review` or `changes requested` (else BO_ECONFLICT naming the state); refused with
 * BO_ETESTSFAILED when static validation failed, or a dynamic test failed without
 * acknowledge_failed_tests; the version (review_pick_version) must not exist yet
 * (BO_ECONFLICT); then the draft goes `accepted` and a publish job is queued. Request
 * changes: only in `awaiting review`; message required (BO_EBADREQUEST with
 * errors[{loc:["message"]}]); it goes to the chat and the uploader's mail. Returns 0 and
 * *out {id, state, version (accept), job (accept)}; BO_ENOTFOUND without a draft. */
int review_decide(struct app *a, const struct auth_user *reviewer, const char *concept_id,
		  const struct review_decision *d, struct cJSON **out, struct bo_error *err);

/* The version a draft publishes as: the RDF's `version`, else
 * `config.bioimageio.version`, else one more than the concept's highest integer version
 * ("1" for the first). BO_EINVALIDRDF when the chosen text does not match
 * ^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$. */
int review_pick_version(sqlite3 *c, const char *concept_id, const struct cJSON *rdf, char *out,
			size_t n, struct bo_error *err);

/* Drafts in `awaiting review`, oldest first: {items:[{id, type, name, revision, uploader,
 * since, age_seconds, validation, tests:[{weight_format, status}]}], changes_requested:
 * [the same for drafts in `changes requested`, since = when changes were asked for]}. */
int review_queue(struct app *a, struct cJSON **out, struct bo_error *err);

/* The draft's chat, oldest first: {items:[{id, at, author:{id,name}, text}]}. The user must
 * be a maintainer of the concept or a reviewer (BO_EFORBIDDEN). */
int review_chat_list(struct app *a, const struct auth_user *u, const char *concept_id,
		     struct cJSON **out, struct bo_error *err);
/* Adds a chat message (1..REVIEW_MESSAGE_MAX bytes, BO_EBADREQUEST otherwise); same
 * permission. *out is the new message. */
int review_chat_post(struct app *a, const struct auth_user *u, const char *concept_id,
		     const char *text, struct cJSON **out, struct bo_error *err);
/* Adds a chat row in the caller's transaction (used by decisions too). */
int review_chat_add(sqlite3 *c, const char *concept_id, int64_t author_id, const char *text,
		    int64_t *id_out, struct bo_error *err);

/* Yanks a published version with a reason (required): it stays downloadable and listed
 * with yanked: true; collection.json falls back to the newest non-yanked version.
 * BO_ENOTFOUND, BO_ECONFLICT when it is not `published`. */
int review_yank(struct app *a, const struct auth_user *reviewer, const char *concept_id,
		const char *version, const char *reason, struct bo_error *err);

#endif

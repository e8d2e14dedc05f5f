/* notify: who gets which mail on which draft transition (DESIGN §5). Called from one
 * place, lifecycle_transition, after the draft row was updated and inside the same
 * transaction, so mails are queued exactly for the transitions that commit. */
#ifndef BO_NOTIFY_H
#define BO_NOTIFY_H

#include "domain/drafts.h"

#include <sqlite3.h>
#include <stdint.h>

struct bo_error;
struct config;

/* Enqueues the mails of the transition from → to of concept_id's draft (mail_enqueue):
 *  - `awaiting review`: to the uploader (static validation verdict of the revision, dynamic
 *    test counts, link <public_url>/status/<id>), and to every reviewer and admin who is not
 *    disabled (name, type, id, link <public_url>/review);
 *  - `changes requested`: to the uploader, detail (the reviewer's message) quoted in full;
 *    with actor_id 0 (static validation failed), detail (the errors) likewise,
 *    and no reviewer is mailed: there is nothing they could accept;
 *  - `published`: to the uploader, detail = the version;
 *  - `error`: to the uploader, detail = what to fix.
 * Other transitions send nothing; neither does an uploader who is unknown or disabled.
 * actor_id > 0 names who acted. cfg NULL = no mails (tools and tests without a config).
 * Returns 0, BO_EDATABASE, BO_ENOMEM; an address the mail module refuses (BO_EBADREQUEST)
 * is logged and skipped, so one bad users row cannot block a transition. */
int notify_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, enum draft_state from,
		      enum draft_state to, const char *detail, int64_t actor_id, struct bo_error *err);

/* Enqueues the mails of a chat message that author_id just wrote on concept_id's draft,
 * so that the other side learns of it without watching the page:
 *  - written by the draft's uploader, or by anyone who is not a reviewer: to the reviewers
 *    (and admins) who already took part (wrote in the chat or acted on the concept), or to
 *    every reviewer when none did yet;
 *  - written by a reviewer who is not the uploader: to the uploader.
 * The author never gets a copy; the text is quoted in full, the author named by name. No
 * draft or cfg NULL sends nothing. Errors as notify_transition. */
int notify_chat(sqlite3 *c, const struct config *cfg, const char *concept_id, int64_t author_id,
		int author_is_reviewer, const char *text, struct bo_error *err);

#endif

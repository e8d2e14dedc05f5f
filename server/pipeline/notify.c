/* notify: the table of who is told what when a draft changes state. It only reads the
 * database and enqueues mail jobs in the caller's transaction; it never sends, so a mail
 * server that is down cannot slow down or undo a transition. */
#include "pipeline/notify.h"

#include "common/error.h"
#include "domain/auth.h"
#include "common/log.h"
#include "domain/drafts.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct draft_info {
	struct draft d;
	char actor_name[256];
};

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

static int load_info(sqlite3 *c, const char *id, int64_t actor_id, struct draft_info *d, int *found,
		     struct bo_error *err)
{
	int rc = drafts_get(c, id, 0, &d->d, found, err);
	if (rc || !*found || actor_id <= 0)
		return rc;
	return auth_user_name(c, actor_id, d->actor_name, sizeof(d->actor_name), err);
}

/* "static validation passed; dynamic tests: 2 passed, 1 failed" for the revision, the
 * dynamic statuses in name order. */
static int verdict_text(sqlite3 *c, const char *id, int revision, char *out, size_t n, struct bo_error *err)
{
	struct draft_runs runs = {0};
	struct {
		const char *status;
		int count;
	} dyn[16];
	size_t ndyn = 0, used = 0;
	char dyn_text[512] = "";
	const char *stat = "not run";
	int rc = drafts_runs_list(c, id, revision, &runs, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < runs.n; i++) {
		const struct draft_run *r = &runs.v[i];
		if (!strcmp(r->kind, "static")) {
			stat = r->status;
			continue;
		}
		size_t k = 0;
		while (k < ndyn && strcmp(dyn[k].status, r->status) < 0)
			k++;
		if (k < ndyn && !strcmp(dyn[k].status, r->status)) {
			dyn[k].count++;
		} else if (ndyn < sizeof(dyn) / sizeof(dyn[0])) {
			memmove(&dyn[k + 1], &dyn[k], (ndyn - k) * sizeof(dyn[0]));
			dyn[k].status = r->status;
			dyn[k].count = 1;
			ndyn++;
		}
	}
	for (size_t k = 0; k < ndyn && used < sizeof(dyn_text); k++) {
		int w = snprintf(dyn_text + used, sizeof(dyn_text) - used, "%s%d %s", used ? ", " : "", dyn[k].count,
				 dyn[k].status);
		if (w > 0)
			used += (size_t)w;
	}
	snprintf(out, n, "static validation %s%s%s", stat, dyn_text[0] ? "; dynamic tests: " : "", dyn_text);
	drafts_runs_free(&runs);
	return 0;
}

/* Enqueues one mail; an address the mail module refuses is logged and skipped. */
static int send_one(sqlite3 *c, const char *to, const char *subject, const char *body, struct bo_error *err)
{
	struct bo_error e = BO_ERROR_INIT;
	int rc = mail_enqueue(c, to, subject, body, &e);
	if (rc == BO_EBADREQUEST) {
		/* the detail, not the address: a refused address may hold CR/LF */
		log_warnx("notify: mail '%s' skipped: %s", subject, e.detail);
		rc = 0;
	} else if (rc) {
		rc = bo_error_move(err, &e, rc);
	}
	bo_error_cleanup(&e);
	return rc;
}

/* Writes text with every line prefixed by "> " (the reviewer's message, quoted in full). */
static void put_quoted(FILE *f, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "> %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static int to_reviewers(sqlite3 *c, const struct config *cfg, const char *id, const struct draft *d,
			struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char *body = NULL;
	size_t len = 0;
	char subject[MAIL_SUBJECT_MAX];
	int rc;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		return oom(err);
	fprintf(f,
		"A new draft is waiting for a review.\n\n"
		"Name:     %s\n"
		"Type:     %s\n"
		"Id:       %s\n"
		"Revision: %d\n"
		"Uploader: %s\n\n"
		"Review queue: %s/review\n"
		"Status:       %s/status/%s\n",
		d->name[0] ? d->name : "(no name)", d->type, id, d->revision,
		d->uploader_name[0] ? d->uploader_name : "(unknown)", cfg->public_url, cfg->public_url, id);
	if (fclose(f) != 0) {
		free(body);
		return oom(err);
	}
	snprintf(subject, sizeof(subject), "[bioimage.io] %s: new %s awaiting review", id, d->type);
	rc = db_prepare(c, &st,
			"SELECT email FROM users WHERE role IN ('reviewer', 'admin') AND disabled = 0 ORDER BY id", err);
	if (rc)
		goto fail;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = send_one(c, db_column_text(st, 0), subject, body, err);
		if (rc)
			goto fail;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list reviewers for a mail", err);
fail:
	sqlite3_finalize(st);
	free(body);
	return rc;
}

int notify_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, enum draft_state from,
		      enum draft_state to, const char *detail, int64_t actor_id, struct bo_error *err)
{
	struct draft_info info = {0};
	const struct draft *d = &info.d;
	char subject[MAIL_SUBJECT_MAX], verdict[600];
	char *body = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int found = 0, rc;
	(void)from;
	if (!cfg)
		return 0;
	int awaiting = to == DRAFT_AWAITING_REVIEW, changes = to == DRAFT_CHANGES_REQUESTED,
	    published = to == DRAFT_PUBLISHED, error = to == DRAFT_ERROR;
	if (!awaiting && !changes && !published && !error)
		return 0;
	rc = load_info(c, concept_id, actor_id, &info, &found, err);
	if (rc || !found)
		goto out;
	if (awaiting)
		rc = to_reviewers(c, cfg, concept_id, d, err);
	if (rc || !d->uploader_email[0])
		goto out;
	if (awaiting)
		rc = verdict_text(c, concept_id, d->revision, verdict, sizeof(verdict), err);
	if (rc)
		goto out;
	f = open_memstream(&body, &len);
	if (!f) {
		rc = oom(err);
		goto out;
	}
	fprintf(f, "Hello %s,\n\n", d->uploader_name[0] ? d->uploader_name : "uploader");
	const char *what = d->name[0] ? d->name : concept_id;
	if (awaiting) {
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: awaiting review", concept_id);
		fprintf(f,
			"your upload \"%s\" (%s, revision %d) was tested and now waits for a reviewer.\n\n"
			"Verdict: %s\n\n"
			"Follow it here: %s/status/%s\n",
			what, concept_id, d->revision, verdict, cfg->public_url, concept_id);
	} else if (changes && actor_id <= 0) {
		/* the system's: static validation failed, detail lists the errors */
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: static validation failed", concept_id);
		fprintf(f, "\"%s\" (%s, revision %d) did not pass static validation, so it does not go to the\n"
			   "reviewers yet. Fix the RDF and upload a new revision (with ?id=%s):\n\n",
			what, concept_id, d->revision, concept_id);
		put_quoted(f, detail ? detail : "");
		fprintf(f, "\nEach error names the file you uploaded, its line and column.\nStatus: %s/status/%s\n",
			cfg->public_url, concept_id);
	} else if (changes) {
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: changes requested", concept_id);
		fprintf(f, "%s asked for changes to \"%s\" (%s, revision %d):\n\n",
			info.actor_name[0] ? info.actor_name : "A reviewer", what, concept_id, d->revision);
		put_quoted(f, detail ? detail : "");
		fprintf(f,
			"\nUpload a new revision with the changes, or answer in the chat.\n"
			"Status: %s/status/%s\n",
			cfg->public_url, concept_id);
	} else if (published) {
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: version %.64s published", concept_id,
			 detail && *detail ? detail : "?");
		fprintf(f,
			"\"%s\" (%s) was published as version %s.\n\n"
			"It is listed in the collection once the next rebuild ran: %s/status/%s\n",
			what, concept_id, detail && *detail ? detail : "?", cfg->public_url, concept_id);
	} else {
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: error", concept_id);
		fprintf(f,
			"\"%s\" (%s, revision %d) could not be processed:\n\n"
			"%s\n\n"
			"Fix this and upload again. Status: %s/status/%s\n",
			what, concept_id, d->revision, detail && *detail ? detail : "(no detail recorded)",
			cfg->public_url, concept_id);
	}
	fputs("\n-- \nThe BioImage Model Zoo backoffice\n", f);
	if (fclose(f) != 0)
		rc = oom(err);
	else
		rc = send_one(c, d->uploader_email, subject, body, err);
	free(body);
out:
	drafts_release(&info.d);
	return rc;
}

/* Reviewers and admins who took part in concept ?1's draft (chat or events), else all of
 * them; never ?2, the author. */
static const char chat_reviewers_sql[] =
	"WITH r AS (SELECT id, email FROM users WHERE role IN ('reviewer', 'admin') AND disabled = 0 AND id != ?2), "
	"p AS (SELECT id FROM r WHERE id IN (SELECT author_id FROM chat WHERE concept_id = ?1 "
	"UNION SELECT actor_id FROM events WHERE concept_id = ?1)) "
	"SELECT email FROM r WHERE NOT EXISTS (SELECT 1 FROM p) OR id IN (SELECT id FROM p) ORDER BY id";

int notify_chat(sqlite3 *c, const struct config *cfg, const char *concept_id, int64_t author_id,
		int author_is_reviewer, const char *text, struct bo_error *err)
{
	struct draft_info info = {0};
	const struct draft *d = &info.d;
	sqlite3_stmt *st = NULL;
	char subject[MAIL_SUBJECT_MAX];
	char *body = NULL;
	size_t len = 0;
	int found = 0;
	if (!cfg)
		return 0;
	int rc = load_info(c, concept_id, author_id, &info, &found, err);
	if (rc || !found)
		goto out;
	int to_uploader = author_is_reviewer && author_id != d->uploader_id;
	FILE *f = open_memstream(&body, &len);
	if (!f) {
		rc = oom(err);
		goto out;
	}
	fprintf(f, "%s wrote in the chat of \"%s\" (%s, revision %d):\n\n",
		info.actor_name[0] ? info.actor_name : "Someone", d->name[0] ? d->name : concept_id, concept_id,
		d->revision);
	put_quoted(f, text);
	if (to_uploader)
		fprintf(f, "\nAnswer on the status page: %s/status/%s\n", cfg->public_url, concept_id);
	else
		fprintf(f, "\nAnswer on the review page: %s/review#%s\n", cfg->public_url, concept_id);
	fputs("\n-- \nThe BioImage Model Zoo backoffice\n", f);
	if (fclose(f) != 0) {
		rc = oom(err);
		goto out;
	}
	snprintf(subject, sizeof(subject), "[bioimage.io] %s: new chat message", concept_id);
	if (to_uploader) {
		if (d->uploader_email[0])
			rc = send_one(c, d->uploader_email, subject, body, err);
		goto out;
	}
	rc = db_prepare(c, &st, chat_reviewers_sql, err);
	if (rc)
		goto out;
	db_bind_text(st, 1, concept_id);
	sqlite3_bind_int64(st, 2, author_id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = send_one(c, db_column_text(st, 0), subject, body, err);
		if (rc)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list reviewers for a chat mail", err);
out:
	sqlite3_finalize(st);
	free(body);
	drafts_release(&info.d);
	return rc;
}

/* notify: the table of who is told what when a draft changes state. It only reads the
 * database and enqueues mail jobs in the caller's transaction; it never sends, so a mail
 * server that is down cannot slow down or undo a transition. */
#include "notify.h"

#include "config.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct draft_info {
	int revision;
	char type[64];
	char name[256];
	char uploader_email[MAIL_ADDRESS_MAX + 1];
	char uploader_name[256];
	char actor_name[256];
};

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

static int load_info(sqlite3 *c, const char *id, int64_t actor_id, struct draft_info *d, int *found,
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	/* json_valid first: json_extract on a broken document would fail the transition */
	int rc = db_prepare(c, &st,
			    "SELECT d.revision, c.type, "
			    "  COALESCE(CASE WHEN json_valid(d.rdf_json) THEN json_extract(d.rdf_json, '$.name') END, ''), "
			    "  CASE WHEN u.disabled = 0 THEN u.email ELSE '' END, COALESCE(u.name, '') "
			    "FROM drafts d JOIN concepts c ON c.id = d.concept_id "
			    "LEFT JOIN users u ON u.id = d.uploader_id WHERE d.concept_id = ?1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = 1;
		d->revision = sqlite3_column_int(st, 0);
		snprintf(d->type, sizeof(d->type), "%s", db_column_text(st, 1));
		snprintf(d->name, sizeof(d->name), "%s", db_column_text(st, 2));
		snprintf(d->uploader_email, sizeof(d->uploader_email), "%s", db_column_text(st, 3));
		snprintf(d->uploader_name, sizeof(d->uploader_name), "%s", db_column_text(st, 4));
	}
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_fail(c, "read the draft for its mails", err);
	if (!*found || actor_id <= 0)
		return 0;
	rc = db_prepare(c, &st, "SELECT name FROM users WHERE id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, actor_id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(d->actor_name, sizeof(d->actor_name), "%s", db_column_text(st, 0));
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_fail(c, "read the actor for a mail", err);
	return 0;
}

/* "static validation passed; dynamic tests: 2 passed, 1 failed" for the revision. */
static int verdict_text(sqlite3 *c, const char *id, int revision, char *out, size_t n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char rev[16], dyn[512] = "";
	const char *stat = "not run";
	char stat_buf[32];
	size_t used = 0;
	snprintf(rev, sizeof(rev), "%d", revision);
	int rc = db_prepare(c, &st,
			    "SELECT kind, status, count(*) FROM test_runs WHERE concept_id = ?1 "
			    "AND revision_or_version = ?2 GROUP BY kind, status ORDER BY kind, status",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, rev);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = db_column_text(st, 0);
		if (!strcmp(kind, "static")) {
			snprintf(stat_buf, sizeof(stat_buf), "%s", db_column_text(st, 1));
			stat = stat_buf;
		} else if (used < sizeof(dyn)) {
			int w = snprintf(dyn + used, sizeof(dyn) - used, "%s%d %s", used ? ", " : "",
					 sqlite3_column_int(st, 2), db_column_text(st, 1));
			if (w > 0)
				used += (size_t)w;
		}
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return db_fail(c, "read the test verdicts for a mail", err);
	snprintf(out, n, "static validation %s%s%s", stat, dyn[0] ? "; dynamic tests: " : "", dyn);
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

static int to_reviewers(sqlite3 *c, const struct config *cfg, const char *id, const struct draft_info *d,
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

int notify_transition(sqlite3 *c, const struct config *cfg, const char *concept_id, const char *from,
		      const char *to, const char *detail, int64_t actor_id, struct bo_error *err)
{
	struct draft_info d = {0};
	char subject[MAIL_SUBJECT_MAX], verdict[600];
	char *body = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int found = 0, rc;
	(void)from;
	if (!cfg)
		return 0;
	int awaiting = !strcmp(to, "awaiting review"), changes = !strcmp(to, "changes requested"),
	    published = !strcmp(to, "published"), error = !strcmp(to, "error");
	if (!awaiting && !changes && !published && !error)
		return 0;
	rc = load_info(c, concept_id, actor_id, &d, &found, err);
	if (rc || !found)
		return rc;
	if (awaiting) {
		rc = to_reviewers(c, cfg, concept_id, &d, err);
		if (rc)
			return rc;
	}
	if (!d.uploader_email[0])
		return 0;
	if (awaiting) {
		rc = verdict_text(c, concept_id, d.revision, verdict, sizeof(verdict), err);
		if (rc)
			return rc;
	}
	f = open_memstream(&body, &len);
	if (!f)
		return oom(err);
	fprintf(f, "Hello %s,\n\n", d.uploader_name[0] ? d.uploader_name : "uploader");
	const char *what = d.name[0] ? d.name : concept_id;
	if (awaiting) {
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: awaiting review", concept_id);
		fprintf(f,
			"your upload \"%s\" (%s, revision %d) was tested and now waits for a reviewer.\n\n"
			"Verdict: %s\n\n"
			"Follow it here: %s/status/%s\n",
			what, concept_id, d.revision, verdict, cfg->public_url, concept_id);
	} else if (changes) {
		snprintf(subject, sizeof(subject), "[bioimage.io] %s: changes requested", concept_id);
		fprintf(f, "%s asked for changes to \"%s\" (%s, revision %d):\n\n",
			d.actor_name[0] ? d.actor_name : "A reviewer", what, concept_id, d.revision);
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
			what, concept_id, d.revision, detail && *detail ? detail : "(no detail recorded)",
			cfg->public_url, concept_id);
	}
	fputs("\n-- \nThe BioImage Model Zoo backoffice\n", f);
	if (fclose(f) != 0) {
		free(body);
		return oom(err);
	}
	rc = send_one(c, d.uploader_email, subject, body, err);
	free(body);
	return rc;
}

/* Unit tests for mail and notify: enqueue refuses header injection and rolls back with
 * its transaction, the file outbox writes a well-formed RFC 5322 message, RFC 2047
 * subjects decode back, SMTP delivery to a real aiosmtpd (started here) and a refused
 * connection, and who gets which mail on which transition. */
#include "check.h"
#include "net_check.h"

#include "app.h"
#include "infra/config.h"
#include "infra/db.h"
#include "common/error.h"
#include "infra/jobs.h"
#include "pipeline/lifecycle.h"
#include "infra/mail.h"
#include "pipeline/notify.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------------------ */

static struct config *load_cfg(const char *smtp_url)
{
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = NULL;
	char url[256];
	snprintf(url, sizeof(url), "%s", smtp_url ? smtp_url : "");
	char *argv[] = {"--data-dir", ".", "--public-url", "https://bo.example.org/", "--smtp-url",
			url, "--smtp-timeout", "5", "--mail-from",
			"Zoo Bot <bot@zoo.example.org>"};
	int rc = config_load(&cfg, 10, argv, NULL, NULL, &err);
	check(rc == 0, "config_load: %s", err.detail);
	bo_error_cleanup(&err);
	return cfg;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* The only regular entry of dir not starting with '.', or NULL (count in *n). */
static char *only_file(const char *dir, int *n)
{
	char *found = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		(*n)++;
		free(found);
		found = NULL;
		if (asprintf(&found, "%s/%s", dir, e->d_name) < 0)
			found = NULL;
	}
	closedir(d);
	return found;
}

static int count_hidden(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int b64val(int ch)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = ch ? strchr(t, ch) : NULL;
	return p ? (int)(p - t) : -1;
}

/* Decodes a header of =?UTF-8?B?…?= words separated by CRLF SP into out; -1 if malformed
 * or a word is longer than 75 characters. */
static int decode_2047(const char *h, char *out, size_t n)
{
	size_t o = 0;
	while (*h) {
		if (strncmp(h, "=?UTF-8?B?", 10))
			return -1;
		const char *end = strstr(h + 10, "?=");
		if (!end || end + 2 - h > 75)
			return -1;
		unsigned acc = 0;
		int bits = 0;
		for (const char *p = h + 10; p < end; p++) {
			if (*p == '=')
				break;
			int v = b64val(*p);
			if (v < 0)
				return -1;
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (o + 1 >= n)
					return -1;
				out[o++] = (char)((acc >> bits) & 0xff);
			}
		}
		h = end + 2;
		if (!strncmp(h, "\r\n ", 3))
			h += 3;
		else if (*h)
			return -1;
	}
	out[o] = '\0';
	return 0;
}

/* Starts aiosmtpd's Maildir handler on port writing into dir; the pid, or -1. */
static pid_t smtp_start(int port, const char *dir)
{
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("smtpd.log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c",
		      "aiosmtpd.handlers.Mailbox", dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 200; i++) {
		if (port_open(port))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(50);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void smtp_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

struct dbfix {
	db *d;
	sqlite3 *c;
	struct bo_error err;
};

static void exec_sql(sqlite3 *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
	check(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

static int db_setup(struct dbfix *f)
{
	memset(f, 0, sizeof(*f));
	int rc = db_open(&f->d, "t.db", check_src("migrations"), &f->err);
	check(rc == 0, "db_open: %s", f->err.detail);
	if (!rc)
		rc = db_acquire(f->d, &f->c, &f->err);
	return rc;
}

static void db_teardown(struct dbfix *f)
{
	if (f->c)
		db_release(f->d, f->c);
	db_close(f->d);
	bo_error_cleanup(&f->err);
}

static int count_rows(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int n = -1;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Payload of the mail job to `to` with a subject containing `subj`, or NULL (caller frees). */
static char *mail_payload(sqlite3 *c, const char *to, const char *subj)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	if (sqlite3_prepare_v2(c,
			       "SELECT payload_json FROM jobs WHERE kind = 'mail' AND subject = ?1 "
			       "AND json_extract(payload_json, '$.subject') LIKE '%' || ?2 || '%' ORDER BY id DESC",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, to, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, subj, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			out = strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return out;
}

/* ---- enqueue -------------------------------------------------------------------------- */

static void test_mail__enqueue_refuses_injection(void)
{
	struct dbfix f;
	if (db_setup(&f)) {
		db_teardown(&f);
		return;
	}
	const char *bad_to[] = {"ada@example.org\r\nBcc: eve@example.org", "ada@example.org\n", "ada@example.org\r",
				"Ada <ada@example.org>", "ada@example.org, eve@example.org", "no-at-sign", "@x", "",
				"a@b@c"};
	require(db_begin(f.c, &f.err) == 0, "begin");
	for (size_t i = 0; i < sizeof(bad_to) / sizeof(*bad_to); i++) {
		struct bo_error e = BO_ERROR_INIT;
		int rc = mail_enqueue(f.c, bad_to[i], "hello", "body", &e);
		check(rc == BO_EBADREQUEST, "to '%s' gave %d", bad_to[i], rc);
		check(e.detail[0], "no detail for '%s'", bad_to[i]);
		bo_error_cleanup(&e);
	}
	const char *bad_subject[] = {"hi\r\nBcc: eve@example.org", "hi\nthere", "tab\there", ""};
	for (size_t i = 0; i < sizeof(bad_subject) / sizeof(*bad_subject); i++) {
		struct bo_error e = BO_ERROR_INIT;
		check(mail_enqueue(f.c, "ada@example.org", bad_subject[i], "b", &e) == BO_EBADREQUEST,
		      "subject %zu accepted", i);
		bo_error_cleanup(&e);
	}
	char *big = malloc(MAIL_BODY_MAX + 2);
	require(big, "oom");
	memset(big, 'x', MAIL_BODY_MAX + 1);
	big[MAIL_BODY_MAX + 1] = '\0';
	struct bo_error e = BO_ERROR_INIT;
	check(mail_enqueue(f.c, "ada@example.org", "s", big, &e) == BO_EBADREQUEST, "oversized body accepted");
	bo_error_cleanup(&e);
	free(big);
	check(count_rows(f.c, "SELECT count(*) FROM jobs") == 0, "a refused mail left a job");

	/* a good one is a queued mail job, subject = recipient; rollback takes it away */
	int rc = mail_enqueue(f.c, "ada@example.org", "[bioimage.io] x: hi", "line 1\nline 2", &f.err);
	check(rc == 0, "enqueue: %s", f.err.detail);
	char *p = mail_payload(f.c, "ada@example.org", "x: hi");
	cJSON *j = cJSON_Parse(p ? p : "");
	check(j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "body")), "line 1\nline 2"),
	      "payload %s", p ? p : "(none)");
	cJSON_Delete(j);
	free(p);
	check(count_rows(f.c, "SELECT count(*) FROM jobs WHERE kind = 'mail' AND state = 'queued'") == 1,
	      "not one queued mail job");
	db_rollback(f.c);
	check(count_rows(f.c, "SELECT count(*) FROM jobs") == 0, "the mail job survived the rollback");
	db_teardown(&f);
}

/* ---- rendering and the file outbox ------------------------------------------------------ */

static void test_mail__rfc2047_subject(void)
{
	struct bo_error err = BO_ERROR_INIT;
	char *out = NULL, dec[512];
	check(mail_encode_header(&out, "[bioimage.io] affable-shark: published", &err) == 0, "ascii");
	check(out && !strcmp(out, "[bioimage.io] affable-shark: published"), "ASCII changed: %s", out);
	free(out);
	out = NULL;
	/* long enough for several encoded-words, with 2-, 3- and 4-byte characters */
	const char *s = "[bioimage.io] modèle de segmentation « noyaux » 🦈 — Größe ± 10 µm, ça marche très bien 🎉";
	check(mail_encode_header(&out, s, &err) == 0, "encode: %s", err.detail);
	require(out, "no output");
	check(!strncmp(out, "=?UTF-8?B?", 10), "not an encoded-word: %s", out);
	check(strstr(out, "\r\n ") != NULL, "a %zu-byte subject was not folded", strlen(s));
	for (const char *p = out; *p; p++)
		check((unsigned char)*p < 0x80, "non-ASCII byte left in %s", out);
	check(decode_2047(out, dec, sizeof(dec)) == 0, "malformed: %s", out);
	check(!strcmp(dec, s), "decodes to '%s'", dec);
	free(out);
	bo_error_cleanup(&err);
}

static void test_mail__file_outbox(void)
{
	struct config *cfg = load_cfg(NULL);
	require(cfg, "config");
	struct app a = {0};
	a.cfg = cfg;
	struct bo_error err = BO_ERROR_INIT;
	char long_line[3000];
	memset(long_line, 'y', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	cJSON *pl = cJSON_CreateObject();
	cJSON_AddStringToObject(pl, "to", "ada@example.org");
	cJSON_AddStringToObject(pl, "subject", "[bioimage.io] affable-shark: awaiting review 🧐");
	char body[4000];
	snprintf(body, sizeof(body), "Hello Ada,\n.dot line\nbare cr\rend\n%s\nlast", long_line);
	cJSON_AddStringToObject(pl, "body", body);
	char *payload = cJSON_PrintUnformatted(pl);
	cJSON_Delete(pl);
	struct job job = {.id = 42, .kind = "mail", .subject = "ada@example.org", .payload_json = payload, .attempts = 1,
			  .max_attempts = 5};
	int rc = mail_run(&a, &job, &err);
	check(rc == 0, "mail_run: %s", err.detail);
	int n = 0;
	char *path = only_file("mail", &n);
	check(n == 1, "%d files in mail/", n);
	check(count_hidden("mail") == 0, "a temp file was left in mail/");
	require(path, "no .eml written");
	const char *base = strrchr(path, '/') + 1;
	long long ms = 0;
	int id = 0;
	check(sscanf(base, "%lld-%d.eml", &ms, &id) == 2 && id == 42 && ms > 1600000000000LL,
	      "file name %s is not <unix-ms>-<job id>.eml", base);
	char *msg = slurp(path);
	require(msg, "read %s", path);
	char *sep = strstr(msg, "\r\n\r\n");
	require(sep, "no header/body separator");
	*sep = '\0';
	const char *body_text = sep + 4;
	check(strstr(msg, "From: Zoo Bot <bot@zoo.example.org>\r\n") == msg, "From first: %s", msg);
	check(strstr(msg, "\r\nTo: ada@example.org\r\n"), "To");
	check(strstr(msg, "\r\nSubject: =?UTF-8?B?"), "subject not RFC 2047 encoded");
	check(strstr(msg, "\r\nDate: ") && strstr(msg, " +0000\r\n"), "Date");
	check(strstr(msg, "\r\nMessage-ID: <bo.42.") && strstr(msg, "@zoo.example.org>\r\n"), "Message-ID");
	check(strstr(msg, "\r\nMIME-Version: 1.0\r\n"), "MIME-Version");
	check(strstr(msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n"), "Content-Type");
	check(strstr(msg, "\r\nContent-Transfer-Encoding: 8bit"), "CTE");
	/* every line ends in CRLF, none is over 998 bytes, no bare CR or LF */
	int bad = 0;
	const char *p = body_text;
	while (*p) {
		const char *nl = strstr(p, "\r\n");
		if (!nl || nl - p > 998 || memchr(p, '\n', (size_t)(nl - p)) || memchr(p, '\r', (size_t)(nl - p)))
			bad++;
		if (!nl)
			break;
		p = nl + 2;
	}
	check(bad == 0, "%d malformed body line(s)", bad);
	check(!strncmp(body_text, "Hello Ada,\r\n.dot line\r\nbare cr\r\nend\r\n", 37), "body: %.60s", body_text);
	check(strstr(body_text, "\r\nlast\r\n") != NULL, "last line lost");
	/* the 2999-byte line is wrapped, not cut */
	size_t ys = 0;
	for (const char *q = body_text; *q; q++)
		ys += *q == 'y';
	check(ys == sizeof(long_line) - 1, "%zu of %zu bytes of the long line kept", ys, sizeof(long_line) - 1);

	/* a payload that is not a mail is an error (the job is retried, then dead) */
	struct bo_error e2 = BO_ERROR_INIT;
	struct job bad_job = job;
	bad_job.payload_json = "{\"to\":\"x@y.org\\r\\nBcc: z@y.org\",\"subject\":\"s\",\"body\":\"b\"}";
	check(mail_run(&a, &bad_job, &e2) == BO_EBADREQUEST, "an injected recipient was written");
	bo_error_cleanup(&e2);
	free(msg);
	free(path);
	free(payload);
	bo_error_cleanup(&err);
	config_free(cfg);
}

/* ---- SMTP ----------------------------------------------------------------------------- */

static void test_mail__smtp_delivery(void)
{
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    access("/usr/lib/python3/dist-packages/aiosmtpd", F_OK) != 0)
		skip_test("python3-aiosmtpd is not installed (make deps-test)");
	int port = free_port();
	require(port > 0, "free port");
	char dir[512], url[64];
	snprintf(dir, sizeof(dir), "%s/maildir", check_tmpdir);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	pid_t pid = smtp_start(port, dir);
	require(pid > 0, "aiosmtpd did not start (see smtpd.log in the test dir)");
	struct config *cfg = load_cfg(url);
	struct app a = {0};
	a.cfg = cfg;
	struct bo_error err = BO_ERROR_INIT;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const char *payload = "{\"to\":\"ada@example.org\",\"subject\":\"[bioimage.io] affable-shark: published\","
			      "\"body\":\"Version 1 is out.\\n.\\n.leading dot\\nbye\"}";
	struct job job = {.id = 7, .kind = "mail", .subject = "ada@example.org", .payload_json = payload, .attempts = 1,
			  .max_attempts = 5};
	int rc = cfg ? mail_run(&a, &job, &err) : -1;
	check(rc == 0, "mail_run: %s", err.detail);
	char newdir[600], *msg = NULL;
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	int n = 0;
	for (int i = 0; i < 100 && n == 0; i++) {
		char *path = only_file(newdir, &n);
		if (path) {
			msg = slurp(path);
			free(path);
		}
		if (!n)
			sleep_ms(50);
	}
	check(n == 1, "%d messages arrived", n);
	check(msg && strstr(msg, "Subject: [bioimage.io] affable-shark: published"), "subject: %s", msg ? msg : "");
	check(msg && strstr(msg, "To: ada@example.org"), "To");
	/* libcurl dot-stuffs, the server un-stuffs: a lone "." line must not end the data early */
	check(msg && strstr(msg, "Version 1 is out.\n.\n.leading dot\nbye"), "body: %s", msg ? msg : "");
	free(msg);

	/* server gone: a refused connection is an error, so the queue retries */
	smtp_stop(pid);
	struct bo_error e2 = BO_ERROR_INIT;
	rc = mail_run(&a, &job, &e2);
	check(rc != 0, "a send to a stopped server succeeded");
	check(strstr(e2.detail, url) != NULL, "detail does not name the server: %s", e2.detail);
	bo_error_cleanup(&e2);
	curl_global_cleanup();
	bo_error_cleanup(&err);
	config_free(cfg);
}

/* ---- notify --------------------------------------------------------------------------- */

static void notify_fixture(struct dbfix *f)
{
	exec_sql(f->c, "INSERT INTO users(id, name, email, role, created_at) VALUES "
		       "(1, 'Ada', 'ada@example.org', 'uploader', '2024-01-01T00:00:00Z'), "
		       "(2, 'Rita', 'rita@example.org', 'reviewer', '2024-01-01T00:00:00Z'), "
		       "(3, 'Adam', 'adam@example.org', 'admin', '2024-01-01T00:00:00Z'), "
		       "(4, 'Gone', 'gone@example.org', 'reviewer', '2024-01-01T00:00:00Z'), "
		       "(5, 'Ula', 'ula@example.org', 'uploader', '2024-01-01T00:00:00Z')");
	exec_sql(f->c, "UPDATE users SET disabled = 1 WHERE id = 4");
	exec_sql(f->c, "INSERT INTO concepts(id, type, created_at, created_by) VALUES "
		       "('affable-shark', 'dataset', '2024-01-01T00:00:00Z', 1)");
	exec_sql(f->c, "INSERT INTO drafts(concept_id, revision, state, uploader_id, package_sha256, package_size, "
		       "package_path, rdf_name, rdf_json, created_at, updated_at) VALUES ('affable-shark', 2, "
		       "'testing', 1, 'abc', 10, 'incoming/x.zip', 'rdf.yaml', '{\"name\":\"Nuclei in 3D\"}', "
		       "'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')");
	exec_sql(f->c, "INSERT INTO test_runs(concept_id, revision_or_version, kind, tool, tool_version, status) VALUES "
		       "('affable-shark', '1', 'static', 'v', '1', 'failed'), ('affable-shark', '2', 'static', 'v', '1', 'passed')");
}

static void test_mail__notify_awaiting_review(void)
{
	struct dbfix f;
	if (db_setup(&f)) {
		db_teardown(&f);
		return;
	}
	struct config *cfg = load_cfg(NULL);
	require(cfg, "config");
	notify_fixture(&f);
	/* through lifecycle_transition: the one place that calls notify */
	require(db_begin(f.c, &f.err) == 0, "begin");
	int rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, DRAFT_AWAITING_REVIEW, NULL, 0, &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	check(db_commit(f.c, &f.err) == 0, "commit");
	check(count_rows(f.c, "SELECT count(*) FROM jobs WHERE kind = 'mail'") == 3,
	      "expected 3 mails (uploader, reviewer, admin), got %d",
	      count_rows(f.c, "SELECT count(*) FROM jobs WHERE kind = 'mail'"));
	check(count_rows(f.c, "SELECT count(*) FROM jobs WHERE subject IN ('gone@example.org', 'ula@example.org')") == 0,
	      "a disabled reviewer or an unrelated uploader got a mail");
	char *p = mail_payload(f.c, "ada@example.org", "affable-shark: awaiting review");
	cJSON *j = cJSON_Parse(p ? p : "");
	const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(j, "body"));
	check(body && strstr(body, "static validation passed"), "verdict of revision 2 missing: %s", body ? body : p);
	check(body && strstr(body, "https://bo.example.org/status/affable-shark"), "status link missing");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "subject")) ?: "",
		      "[bioimage.io] affable-shark: awaiting review"),
	      "uploader subject");
	cJSON_Delete(j);
	free(p);
	const char *revs[] = {"rita@example.org", "adam@example.org"};
	for (int i = 0; i < 2; i++) {
		p = mail_payload(f.c, revs[i], "affable-shark");
		j = cJSON_Parse(p ? p : "");
		body = cJSON_GetStringValue(cJSON_GetObjectItem(j, "body"));
		check(body && strstr(body, "Nuclei in 3D") && strstr(body, "dataset") && strstr(body, "affable-shark") &&
			      strstr(body, "https://bo.example.org/review"),
		      "reviewer mail to %s: %s", revs[i], p ? p : "(none)");
		cJSON_Delete(j);
		free(p);
	}

	/* a transition that rolls back takes its mails with it */
	require(db_begin(f.c, &f.err) == 0, "begin");
	rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, DRAFT_CHANGES_REQUESTED,
				  "Please add a cover.\nAnd fix the license.", 2, &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	p = mail_payload(f.c, "ada@example.org", "changes requested");
	j = cJSON_Parse(p ? p : "");
	body = cJSON_GetStringValue(cJSON_GetObjectItem(j, "body"));
	check(body && strstr(body, "Rita asked") && strstr(body, "> Please add a cover.\n> And fix the license.\n"),
	      "message not quoted in full: %s", body ? body : "(none)");
	cJSON_Delete(j);
	free(p);
	db_rollback(f.c);
	check(count_rows(f.c, "SELECT count(*) FROM jobs WHERE kind = 'mail'") == 3, "rolled back mail kept");

	/* error: state_detail; cfg NULL: nothing */
	require(db_begin(f.c, &f.err) == 0, "begin");
	exec_sql(f.c, "UPDATE drafts SET state = 'testing'");
	rc = notify_transition(f.c, NULL, "affable-shark", DRAFT_TESTING, DRAFT_ERROR, "x", 0, &f.err);
	check(rc == 0 && count_rows(f.c, "SELECT count(*) FROM jobs WHERE kind = 'mail'") == 3, "cfg NULL sent mail");
	rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, DRAFT_ERROR, "rdf.yaml: 'name' is missing; add it", 0,
				  &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	p = mail_payload(f.c, "ada@example.org", "affable-shark: error");
	check(p && strstr(p, "rdf.yaml: 'name' is missing; add it"), "error mail: %s", p ? p : "(none)");
	free(p);
	/* a transition without mails */
	int before = count_rows(f.c, "SELECT count(*) FROM jobs");
	rc = notify_transition(f.c, cfg, "affable-shark", DRAFT_ERROR, DRAFT_UNPACKING, NULL, 0, &f.err);
	check(rc == 0 && count_rows(f.c, "SELECT count(*) FROM jobs") == before, "unpacking sent a mail");
	/* published: the version in the subject and body */
	rc = notify_transition(f.c, cfg, "affable-shark", DRAFT_ACCEPTED, DRAFT_PUBLISHED, "1.2", 2, &f.err);
	check(rc == 0, "notify: %s", f.err.detail);
	p = mail_payload(f.c, "ada@example.org", "version 1.2 published");
	check(p && strstr(p, "published as version 1.2"), "published mail: %s", p ? p : "(none)");
	free(p);
	db_rollback(f.c);
	config_free(cfg);
	db_teardown(&f);
}

static struct check_test tests[] = {
	TEST(test_mail__enqueue_refuses_injection),
	TEST(test_mail__rfc2047_subject),
	TEST(test_mail__file_outbox),
	TEST(test_mail__smtp_delivery),
	TEST(test_mail__notify_awaiting_review),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

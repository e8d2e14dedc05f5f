/* mail: the mail outbox and its job handler. Invariant: every header line we write is
 * built from values checked for CR/LF and control characters (at enqueue and again at
 * send), so a recipient or subject can never add a header or a recipient; the body is
 * re-ended with CRLF and wrapped at 998 bytes as RFC 5322 requires. */
#include "infra/mail.h"

#include "app.h"
#include "common/error.h"
#include "common/log.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/fs.h"
#include "infra/jobs.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define LINE_MAX_OCTETS 998 /* RFC 5322 2.1.1, without the CRLF */
#define WORD_RAW_MAX 45     /* 45 bytes -> 60 base64 chars -> a 72-char encoded-word */

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ---- validation ------------------------------------------------------------------- */

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

static int check_to(const char *to, struct bo_error *err)
{
	if (!to || !*to)
		return bo_error_set(err, BO_EBADREQUEST, "mail: the recipient address is empty");
	if (strlen(to) > MAIL_ADDRESS_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "mail: the recipient address is longer than %d bytes",
				    MAIL_ADDRESS_MAX);
	/* CR/LF would start a new header or SMTP command; the others would name a second
	 * recipient or break the <…> of the envelope */
	if (has_control(to))
		return bo_error_set(err, BO_EBADREQUEST, "mail: the recipient address holds CR, LF or another control character");
	if (strpbrk(to, " <>,;\"()\\"))
		return bo_error_set(err, BO_EBADREQUEST,
				    "mail: recipient '%.80s' is not one plain address (no spaces or <>,;\" allowed)", to);
	const char *at = strchr(to, '@');
	if (!at || at == to || !at[1] || strchr(at + 1, '@'))
		return bo_error_set(err, BO_EBADREQUEST, "mail: recipient '%.80s' is not an address like name@example.org",
				    to);
	return 0;
}

static int check_subject(const char *subject, struct bo_error *err)
{
	if (!subject || !*subject)
		return bo_error_set(err, BO_EBADREQUEST, "mail: the subject is empty");
	if (strlen(subject) > MAIL_SUBJECT_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "mail: the subject is longer than %d bytes", MAIL_SUBJECT_MAX);
	if (has_control(subject))
		return bo_error_set(err, BO_EBADREQUEST, "mail: the subject holds CR, LF or another control character");
	return 0;
}

static int check_body(const char *body, struct bo_error *err)
{
	if (!body)
		return bo_error_set(err, BO_EBADREQUEST, "mail: the body is missing");
	if (strlen(body) > MAIL_BODY_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "mail: the body is longer than %d bytes", MAIL_BODY_MAX);
	return 0;
}

static int check_mail(const char *to, const char *subject, const char *body, struct bo_error *err)
{
	int rc = check_to(to, err);
	if (!rc)
		rc = check_subject(subject, err);
	if (!rc)
		rc = check_body(body, err);
	return rc;
}

int mail_enqueue(sqlite3 *c, const char *to, const char *subject, const char *body, struct bo_error *err)
{
	char *payload = NULL;
	int rc = check_mail(to, subject, body, err);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "to", to) || !cJSON_AddStringToObject(o, "subject", subject) ||
	    !cJSON_AddStringToObject(o, "body", body)) {
		rc = oom(err);
		goto fail;
	}
	payload = cJSON_PrintUnformatted(o);
	if (!payload) {
		rc = oom(err);
		goto fail;
	}
	rc = jobs_enqueue(c, "mail", to, payload, 0, NULL, err);
fail:
	cJSON_Delete(o);
	free(payload);
	return rc;
}

/* ---- rendering -------------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(FILE *f, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		fputc(b64[(v >> 18) & 63], f);
		fputc(b64[(v >> 12) & 63], f);
		fputc(i + 1 < n ? b64[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? b64[v & 63] : '=', f);
	}
}

/* Largest cut <= max that does not split a UTF-8 sequence (continuation bytes 10xxxxxx). */
static size_t utf8_cut(const unsigned char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t cut = max;
	while (cut > 0 && (s[cut] & 0xC0) == 0x80)
		cut--;
	return cut > 0 ? cut : max; /* invalid UTF-8: cut anyway rather than loop */
}

int mail_encode_header(char **out, const char *text, struct bo_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int ascii = 1;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p >= 0x80)
			ascii = 0;
	if (ascii) {
		*out = strdup(text);
		return *out ? 0 : oom(err);
	}
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return oom(err);
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);
	while (n > 0) {
		size_t k = utf8_cut(s, n, WORD_RAW_MAX);
		fputs("=?UTF-8?B?", f);
		put_base64(f, s, k);
		fputs("?=", f);
		s += k;
		n -= k;
		if (n > 0)
			fputs("\r\n ", f); /* folding: the next encoded-word on a continuation line */
	}
	if (fclose(f) != 0) {
		free(buf);
		return oom(err);
	}
	*out = buf;
	return 0;
}

/* The address inside "Name <addr>", or the whole value. */
static void from_address(const char *from, char *out, size_t n)
{
	const char *lt = strrchr(from, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		snprintf(out, n, "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, n, "%s", from);
}

static void rfc5322_date(time_t now, char *out, size_t n)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&now, &tm);
	/* names by hand: strftime's %a/%b follow the locale */
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Body lines end with CRLF (a lone CR or LF counts as a line end) and are at most 998
 * bytes; longer lines are wrapped at a UTF-8 boundary. */
static void put_body(FILE *f, const char *body)
{
	const unsigned char *p = (const unsigned char *)body;
	while (*p) {
		size_t n = strcspn((const char *)p, "\r\n");
		const unsigned char *line = p;
		size_t left = n;
		do {
			size_t k = utf8_cut(line, left, LINE_MAX_OCTETS);
			fwrite(line, 1, k, f);
			fputs("\r\n", f);
			line += k;
			left -= k;
		} while (left > 0);
		p += n;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (*p)
			p++;
	}
}

int mail_render(char **out, size_t *len_out, const struct config *cfg, const char *to, const char *subject,
		const char *body, int64_t job_id, time_t now, struct bo_error *err)
{
	char *buf = NULL, *enc = NULL;
	size_t len = 0;
	FILE *f = NULL;
	char addr[512], date[64];
	unsigned rnd = 0;
	int rc = check_mail(to, subject, body, err);
	if (rc)
		return rc;
	if (has_control(cfg->mail_from))
		return bo_error_set(err, BO_EBADREQUEST, "mail: mail_from holds a control character");
	rc = mail_encode_header(&enc, subject, err);
	if (rc)
		return rc;
	f = open_memstream(&buf, &len);
	if (!f) {
		rc = oom(err);
		goto fail;
	}
	from_address(cfg->mail_from, addr, sizeof(addr));
	const char *domain = strrchr(addr, '@');
	rfc5322_date(now, date, sizeof(date));
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (unsigned)getpid();
	fprintf(f, "From: %s\r\n", cfg->mail_from);
	fprintf(f, "To: %s\r\n", to);
	fprintf(f, "Subject: %s\r\n", enc);
	fprintf(f, "Date: %s\r\n", date);
	fprintf(f, "Message-ID: <bo.%" PRId64 ".%lld.%08x@%s>\r\n", job_id, (long long)now, rnd,
		domain && domain[1] ? domain + 1 : "localhost");
	fputs("MIME-Version: 1.0\r\n"
	      "Content-Type: text/plain; charset=utf-8\r\n"
	      "Content-Transfer-Encoding: 8bit\r\n"
	      "\r\n",
	      f);
	put_body(f, body);
	if (fclose(f) != 0) {
		f = NULL;
		rc = oom(err);
		goto fail;
	}
	f = NULL;
	*out = buf;
	*len_out = len;
	buf = NULL;
	rc = 0;
fail:
	if (f)
		fclose(f);
	free(buf);
	free(enc);
	return rc;
}

/* ---- delivery --------------------------------------------------------------------- */

struct reader {
	const char *data;
	size_t len, pos;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *userp)
{
	struct reader *r = userp;
	size_t want = size * nmemb, left = r->len - r->pos;
	size_t n = want < left ? want : left;
	memcpy(dst, r->data + r->pos, n);
	r->pos += n;
	return n;
}

static int send_smtp(const struct config *cfg, const char *to, const char *msg, size_t len, struct bo_error *err)
{
	char from[512], env_from[520], env_to[MAIL_ADDRESS_MAX + 3], errbuf[CURL_ERROR_SIZE] = "";
	struct reader r = {msg, len, 0};
	struct curl_slist *rcpt = NULL;
	int rc;
	CURL *h = curl_easy_init();
	if (!h)
		return oom(err);
	from_address(cfg->mail_from, from, sizeof(from));
	snprintf(env_from, sizeof(env_from), "<%s>", from);
	snprintf(env_to, sizeof(env_to), "<%s>", to);
	rcpt = curl_slist_append(NULL, env_to);
	if (!rcpt) {
		rc = oom(err);
		goto fail;
	}
	curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &r);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)(cfg->smtp_timeout < 10 ? cfg->smtp_timeout : 10));
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout);
	if (cfg->smtp_starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_user[0]) {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	db_assert_no_write_tx("sending mail");
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		long code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		rc = bo_error_set(err, BO_EINTERNAL, "mail to %s via %s: %s%s (will retry)", to, cfg->smtp_url,
				  errbuf[0] ? errbuf : curl_easy_strerror(cc),
				  code == 535 ? "; login denied: check smtp_user and smtp_password" : "");
		goto fail;
	}
	rc = 0;
fail:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* DATA_DIR/mail/<unix-ms>-<job id>.eml, written to a dot-file first and renamed, so a
 * reader of the directory only ever sees whole mails. */
static int write_file(const struct config *cfg, int64_t job_id, const char *msg, size_t len, struct bo_error *err)
{
	char dir[4096], tmp[4200], path[4200];
	struct timeval tv;
	int fd = -1, rc;
	gettimeofday(&tv, NULL);
	long long ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	snprintf(dir, sizeof(dir), "%s/mail", cfg->data_dir);
	rc = fs_mkdir_p(dir, 0750, err);
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%" PRId64 "-%ld", dir, job_id, (long)getpid());
	snprintf(path, sizeof(path), "%s/%lld-%" PRId64 ".eml", dir, ms, job_id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return bo_error_set(err, BO_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
	if (write_all(fd, msg, len) != 0 || fsync(fd) != 0) {
		rc = bo_error_set(err, BO_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = bo_error_set(err, BO_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = bo_error_set(err, BO_ESTORAGE, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int mail_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	const struct config *cfg = a->cfg;
	char *msg = NULL;
	size_t len = 0;
	int rc;
	cJSON *p = cJSON_Parse(job->payload_json);
	const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "to"));
	const char *subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "subject"));
	const char *body = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "body"));
	if (!to || !subject || !body) {
		rc = bo_error_set(err, BO_EBADREQUEST, "mail job %" PRId64 ": payload needs strings to, subject and body",
				  job->id);
		goto fail;
	}
	rc = mail_render(&msg, &len, cfg, to, subject, body, job->id, time(NULL), err);
	if (rc)
		goto fail;
	if (cfg->smtp_url[0])
		rc = send_smtp(cfg, to, msg, len, err);
	else
		rc = write_file(cfg, job->id, msg, len, err);
	if (!rc)
		log_info("mail %" PRId64 " to %s: %s (%s)", job->id, to, subject,
			 cfg->smtp_url[0] ? "sent" : "written under DATA_DIR/mail");
fail:
	cJSON_Delete(p);
	free(msg);
	return rc;
}

/* mail: an outbox of `mail` jobs. A mail is only ever enqueued inside the transaction of
 * the state change it reports (so it is sent exactly when that change committed, and a
 * failing mail server never blocks or undoes it); the job handler sends it with libcurl
 * SMTP, or writes it as a file under DATA_DIR/mail/ when no smtp_url is configured. */
#ifndef BO_MAIL_H
#define BO_MAIL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct bo_error;
struct config;
struct job;

/* Bounds of one mail (bytes). An address per RFC 5321 is at most 254 bytes; a subject
 * names an id and a state; a body quotes at most a review message (10,000 bytes). */
#define MAIL_ADDRESS_MAX 254
#define MAIL_SUBJECT_MAX 400
#define MAIL_BODY_MAX (256 * 1024)

/* Enqueues a mail job in the caller's open transaction (payload {to, subject, body}; the
 * job's subject is the recipient, so cancelling a concept's jobs never drops its mails).
 * to must look like one address (no CR/LF or other control characters, no spaces, '<',
 * '>' or ',', one '@', at most MAIL_ADDRESS_MAX bytes); subject has no CR/LF or control
 * characters and at most MAIL_SUBJECT_MAX bytes; body is UTF-8 text of at most
 * MAIL_BODY_MAX bytes. BO_EBADREQUEST when one is not, BO_EDATABASE, BO_ENOMEM. */
int mail_enqueue(sqlite3 *c, const char *to, const char *subject, const char *body,
		 struct bo_error *err);

/* The `mail` job handler (ctx = struct app). Sends the payload's mail over SMTP when
 * cfg->smtp_url is set, else writes DATA_DIR/mail/<unix-ms>-<job id>.eml (temp file +
 * rename, so a reader never sees half a mail). Returns 0 when sent, or an error (the
 * queue retries with backoff): BO_EINTERNAL naming the SMTP failure, BO_ESTORAGE for a
 * file that cannot be written, BO_EBADREQUEST for a payload that is not a valid mail. */
int mail_run(void *ctx, const struct job *job, struct bo_error *err);

/* Builds the RFC 5322 message (CRLF line ends): From (cfg->mail_from), To, Subject
 * (RFC 2047 encoded when not ASCII), Date (from now), Message-ID (from job_id), MIME
 * headers for 8-bit UTF-8 text, then the body with its lines ended by CRLF and lines
 * longer than 998 bytes wrapped. *out is malloc'd (caller frees), *len_out its length.
 * BO_EBADREQUEST for an invalid to/subject, BO_ENOMEM. */
int mail_render(char **out, size_t *len_out, const struct config *cfg, const char *to,
		const char *subject, const char *body, int64_t job_id, time_t now,
		struct bo_error *err);

/* Encodes a header value as RFC 2047 encoded-words (=?UTF-8?B?…?=, each at most 75
 * characters, never splitting a UTF-8 sequence, folded with CRLF SP) when it holds a
 * non-ASCII byte; ASCII text is copied. *out is malloc'd. BO_ENOMEM. */
int mail_encode_header(char **out, const char *text, struct bo_error *err);

#endif

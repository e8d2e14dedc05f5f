/* signin: one-time links by mail and the session tokens they give.
 * Invariant: a link row holds only the SHA-256 of its token, and it is marked used in the
 * same transaction that creates the session token, so a link yields at most one session;
 * the mail carrying a link is enqueued in the transaction that stores the link. */
#include "domain/signin.h"

#include "common/error.h"
#include "common/hex.h"
#include "domain/auth.h"
#include "infra/db.h"
#include "infra/mail.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TOKEN_PREFIX "sl_"
#define TOKEN_PREFIX_LEN 3
#define TOKEN_RAW 32
#define LINK_BASE_MAX 2000
#define PRUNE_AFTER_SECONDS 86400

struct signin_policy signin_policy_default(void)
{
	struct signin_policy p = {SIGNIN_LINK_TTL_SECONDS, SIGNIN_MAX_PER_EMAIL, SIGNIN_MAX_PER_IP,
				  SIGNIN_WINDOW_SECONDS};
	return p;
}

static int sha256_hex(const char *s, char hex[65], struct bo_error *err)
{
	if (hex_sha256(hex, s, strlen(s)))
		return bo_error_set(err, BO_EINTERNAL, "SHA-256 (EVP_Digest) failed");
	return 0;
}

static void base64url(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
	}
	out[o] = 0;
}

static int token_wellformed(const char *t)
{
	if (!t || strlen(t) != SIGNIN_TOKEN_LEN || strncmp(t, TOKEN_PREFIX, TOKEN_PREFIX_LEN))
		return 0;
	for (const char *s = t + TOKEN_PREFIX_LEN; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

/* Trims and lowercases email into out (>= MAIL_ADDRESS_MAX + 1 bytes). */
static int email_normalize(const char *email, char *out, struct bo_error *err)
{
	if (!email)
		return bo_error_set(err, BO_EBADREQUEST, "email is required");
	while (*email == ' ' || *email == '\t')
		email++;
	size_t n = strlen(email);
	while (n && (email[n - 1] == ' ' || email[n - 1] == '\t'))
		n--;
	if (n == 0)
		return bo_error_set(err, BO_EBADREQUEST, "email is empty; give the address to mail the link to");
	if (n > MAIL_ADDRESS_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "email is longer than %d bytes", MAIL_ADDRESS_MAX);
	int ats = 0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)email[i];
		if (ch <= ' ' || ch == 127 || strchr("<>,;\"()[]\\", ch))
			return bo_error_set(err, BO_EBADREQUEST,
					    "email contains a blank, control or special character at byte %zu", i);
		if (ch == '@') {
			ats++;
			at = i;
		}
		out[i] = (char)tolower(ch);
	}
	out[n] = 0;
	if (ats != 1 || at == 0 || at == n - 1)
		return bo_error_set(err, BO_EBADREQUEST, "email must look like name@host (one '@' with text on both sides)");
	return 0;
}

/* Counts links of column = value since `since`, and the oldest such created_unix. */
static int count_since(sqlite3 *c, const char *sql, const char *value, int64_t since, int *count,
		       int64_t *oldest, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, sql, err);
	if (rc)
		return rc;
	db_bind_text(st, 1, value);
	sqlite3_bind_int64(st, 2, since);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(c, "count sign-in links", err);
		sqlite3_finalize(st);
		return rc;
	}
	*count = sqlite3_column_int(st, 0);
	*oldest = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return 0;
}

static int rate_limited(struct bo_error *err, const char *what, int max, int window, int64_t oldest, int64_t now)
{
	int64_t wait = oldest + window - now;
	if (wait < 1)
		wait = 1;
	int rc = bo_error_set(err, BO_ERATELIMITED,
			      "too many sign-in links asked for this %s (%d in %d minutes); try again in %lld minute(s)",
			      what, max, window / 60, (long long)(wait + 59) / 60);
	err->retry_after = (int)wait;
	return rc;
}

int signin_request(sqlite3 *c, const struct signin_policy *p, const char *email, const char *client_ip,
		   const char *link_base, int64_t now, char *token_out, struct bo_error *err)
{
	char addr[MAIL_ADDRESS_MAX + 1], token[64], hex[65], body[LINK_BASE_MAX + 512];
	unsigned char raw[TOKEN_RAW];
	sqlite3_stmt *st = NULL;
	int in_tx = 0, rc;
	if (!p || !link_base || strlen(link_base) > LINK_BASE_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "sign-in: missing policy or link base too long");
	if (!client_ip)
		client_ip = "";
	if (strlen(client_ip) > SIGNIN_IP_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "client IP longer than %d bytes", SIGNIN_IP_MAX);
	rc = email_normalize(email, addr, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (rc)
		return rc;
	in_tx = 1;
	rc = db_prepare(c, &st, "DELETE FROM signin_links WHERE created_unix < ?1", err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now - PRUNE_AFTER_SECONDS);
	rc = db_step_done(st, err);
	st = NULL;
	if (rc)
		goto fail;
	int n = 0;
	int64_t oldest = 0, since = now - p->window_seconds;
	rc = count_since(c, "SELECT count(*), min(created_unix) FROM signin_links WHERE email = ?1 AND created_unix > ?2",
			 addr, since, &n, &oldest, err);
	if (rc)
		goto fail;
	if (n >= p->max_per_email) {
		rc = rate_limited(err, "address", p->max_per_email, p->window_seconds, oldest, now);
		goto fail;
	}
	if (client_ip[0]) {
		rc = count_since(c,
				 "SELECT count(*), min(created_unix) FROM signin_links WHERE client_ip = ?1 AND created_unix > ?2",
				 client_ip, since, &n, &oldest, err);
		if (rc)
			goto fail;
		if (n >= p->max_per_ip) {
			rc = rate_limited(err, "client", p->max_per_ip, p->window_seconds, oldest, now);
			goto fail;
		}
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		rc = bo_error_set(err, BO_EINTERNAL, "random generator (RAND_bytes) failed");
		goto fail;
	}
	memcpy(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	base64url(raw, sizeof(raw), token + TOKEN_PREFIX_LEN);
	rc = sha256_hex(token, hex, err);
	if (rc)
		goto fail;
	rc = db_prepare(c, &st,
			"INSERT INTO signin_links(email, client_ip, token_sha256, created_unix, expires_unix) "
			"VALUES (?1, ?2, ?3, ?4, ?5)",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, addr);
	db_bind_text(st, 2, client_ip);
	db_bind_text(st, 3, hex);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now + p->link_ttl_seconds);
	rc = db_step_done(st, err);
	st = NULL;
	if (rc)
		goto fail;
	snprintf(body, sizeof(body),
		 "Open this link to sign in to the BioImage Model Zoo backoffice:\n\n%s%s\n\n"
		 "It works once, within %d minutes. If you did not ask for it, ignore this mail.\n",
		 link_base, token, p->link_ttl_seconds / 60);
	rc = mail_enqueue(c, addr, "[bioimage.io] your sign-in link", body, err);
	if (rc)
		goto fail;
	rc = db_commit(c, err);
	if (rc)
		goto fail;
	in_tx = 0;
	if (token_out)
		memcpy(token_out, token, SIGNIN_TOKEN_LEN + 1);
fail:
	sqlite3_finalize(st);
	if (in_tx)
		db_rollback(c);
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

int signin_redeem(sqlite3 *c, const struct signin_policy *p, const char *token, int64_t now,
		  char *session_out, struct auth_user *user_out, struct bo_error *err)
{
	char hex[65], email[MAIL_ADDRESS_MAX + 1];
	sqlite3_stmt *st = NULL;
	struct auth_user u;
	int in_tx = 0, rc;
	(void)p; /* the expiry was fixed when the link was made */
	if (!token_wellformed(token))
		return bo_error_set(err, BO_EUNAUTHORIZED, "this is not a sign-in link; ask for a new one");
	rc = sha256_hex(token, hex, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (rc)
		return rc;
	in_tx = 1;
	rc = db_prepare(c, &st, "SELECT id, email, expires_unix, used_unix FROM signin_links WHERE token_sha256 = ?1",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, hex);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = bo_error_set(err, BO_EUNAUTHORIZED, "unknown sign-in link; ask for a new one");
		goto fail;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "look up sign-in link", err);
		goto fail;
	}
	int64_t id = sqlite3_column_int64(st, 0), expires = sqlite3_column_int64(st, 2);
	int used = sqlite3_column_type(st, 3) != SQLITE_NULL;
	snprintf(email, sizeof(email), "%s", db_column_text(st, 1));
	sqlite3_finalize(st);
	st = NULL;
	if (used) {
		rc = bo_error_set(err, BO_EUNAUTHORIZED, "this sign-in link was already used; ask for a new one");
		goto fail;
	}
	if (now >= expires) {
		rc = bo_error_set(err, BO_EUNAUTHORIZED, "this sign-in link has expired; ask for a new one");
		goto fail;
	}
	rc = db_prepare(c, &st, "UPDATE signin_links SET used_unix = ?1 WHERE id = ?2 AND used_unix IS NULL", err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	rc = db_step_done(st, err);
	st = NULL;
	if (rc)
		goto fail;
	struct bo_error probe = BO_ERROR_INIT;
	rc = auth_user_get(c, email, &u, &probe);
	int missing = rc == BO_ENOTFOUND;
	bo_error_cleanup(&probe);
	if (rc && !missing) {
		rc = bo_error_set(err, BO_EDATABASE, "look up the user of %s", email);
		goto fail;
	}
	if (missing) {
		char name[MAIL_ADDRESS_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)(strchr(email, '@') - email), email);
		rc = auth_user_add(c, name, email, AUTH_ROLE_UPLOADER, NULL, NULL, err);
		if (rc)
			goto fail;
		rc = auth_user_get(c, email, &u, err);
		if (rc)
			goto fail;
	}
	if (u.disabled) {
		rc = bo_error_set(err, BO_EUNAUTHORIZED, "the user %s is disabled; ask an admin", email);
		goto fail;
	}
	rc = auth_token_create(c, u.id, SIGNIN_SESSION_LABEL, NULL, session_out, NULL, err);
	if (rc)
		goto fail;
	rc = db_commit(c, err);
	if (rc)
		goto fail;
	in_tx = 0;
	if (user_out)
		*user_out = u;
fail:
	sqlite3_finalize(st);
	if (in_tx)
		db_rollback(c);
	return rc;
}

int signin_signout(sqlite3 *c, const char *authorization_header, struct bo_error *err)
{
	char tok[AUTH_TOKEN_LEN + 1];
	int rc = auth_parse_bearer(authorization_header, tok, err);
	return rc ? rc : auth_token_revoke(c, tok, err);
}

/* auth: identity — users, hashed API tokens and roles (the reviewers file is imported by
 * reviewers.c, the maintainer check is maintainers.c). Invariants: a token string exists only
 * in the creator's hands — the database holds its SHA-256 hex; emails are stored lowercased
 * so the UNIQUE index is case-insensitive in effect; a disabled user never authenticates and
 * has no live tokens. */
#include "domain/auth.h"

#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "infra/db.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_RAW_BYTES 32
#define TOKEN_PREFIX "bo_"
#define TOKEN_PREFIX_LEN 3
#define SHA256_HEX 65
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
/* last_used_at is refreshed at most this often (seconds). */
#define LAST_USED_PERIOD 60

#define USER_COLS "id, name, email, orcid, role, disabled"

/* ---- roles ------------------------------------------------------------------------------ */

static const char *const role_names[] = {"none", "uploader", "reviewer", "admin", "partner", "worker"};

const char *auth_role_name(enum auth_role r)
{
	if (r < AUTH_ROLE_NONE || r > AUTH_ROLE_WORKER)
		return role_names[0];
	return role_names[r];
}

int auth_role_parse(const char *s, enum auth_role *out)
{
	for (int r = AUTH_ROLE_UPLOADER; s && r <= AUTH_ROLE_ADMIN; r++) {
		if (!strcmp(s, role_names[r])) {
			*out = (enum auth_role)r;
			return 0;
		}
	}
	return BO_EBADREQUEST;
}

int auth_require(const struct auth_user *user, enum auth_role need, struct bo_error *err)
{
	if (!user)
		return bo_error_set(err, BO_EUNAUTHORIZED, "this needs a bearer token with the %s role",
				    auth_role_name(need));
	if (user->disabled)
		return bo_error_set(err, BO_EFORBIDDEN, "this needs the %s role", auth_role_name(need));
	if (need == AUTH_ROLE_PARTNER) {
		if (!strncmp(user->scope, "partner", 7) || (!user->scope[0] && user->role == AUTH_ROLE_ADMIN))
			return 0;
		return bo_error_set(err, BO_EFORBIDDEN, "this needs a partner token (backoffice token create EMAIL --partner TOOL)");
	}
	if (need == AUTH_ROLE_WORKER) {
		if (auth_scope_role(user->scope) == AUTH_ROLE_WORKER)
			return 0;
		return bo_error_set(err, BO_EFORBIDDEN, "this needs a worker token (backoffice token create EMAIL --worker)");
	}
	if (user->scope[0])
		return bo_error_set(err, BO_EFORBIDDEN, "this token is a %s token: %s", user->scope,
				    auth_scope_role(user->scope) == AUTH_ROLE_WORKER
					    ? "it may only lease test jobs and report their results"
					    : "it may only send compatibility reports");
	if (user->role < need)
		return bo_error_set(err, BO_EFORBIDDEN, "this needs the %s role", auth_role_name(need));
	return 0;
}

enum auth_role auth_scope_role(const char *scope)
{
	if (!scope || !*scope)
		return AUTH_ROLE_NONE;
	return !strcmp(scope, "worker") || auth_scope_job(scope) > 0 ? AUTH_ROLE_WORKER : AUTH_ROLE_PARTNER;
}

int64_t auth_scope_job(const char *scope)
{
	static const char prefix[] = AUTH_SCOPE_JOB_PREFIX;
	const char *p = scope ? scope + sizeof(prefix) - 1 : NULL;
	int64_t id = 0;
	if (!scope || strncmp(scope, prefix, sizeof(prefix) - 1) || !*p || strlen(p) > 18 || *p == '0')
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		id = id * 10 + (*p - '0');
	}
	return id;
}

int auth_scope_valid(const char *scope)
{
	if (!scope || !*scope || !strcmp(scope, "partner") || !strcmp(scope, "worker") || auth_scope_job(scope) > 0)
		return 1;
	if (strncmp(scope, "partner:", 8))
		return 0;
	size_t n = strnlen(scope + 8, AUTH_TOOL_MAX + 1);
	if (n == 0 || n > AUTH_TOOL_MAX)
		return 0;
	for (const char *p = scope + 8; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return 0;
	return 1;
}

/* ---- field checks ----------------------------------------------------------------------- */

int auth_is_valid_email(const char *s)
{
	if (!s)
		return 0;
	size_t len = strnlen(s, AUTH_EMAIL_MAX + 1);
	const char *at = strchr(s, '@');
	if (len == 0 || len > AUTH_EMAIL_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

int auth_is_valid_name(const char *s)
{
	int visible = 0;
	if (!s || strnlen(s, AUTH_NAME_MAX + 1) > AUTH_NAME_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < ' ' || *p == 0x7f)
			return 0;
		if (*p != ' ')
			visible = 1;
	}
	return visible;
}

int auth_is_valid_orcid(const char *s)
{
	if (!s || strnlen(s, AUTH_ORCID_MAX + 1) > AUTH_ORCID_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

void auth_lower_email(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}

static int all_digits(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9' || n >= max)
			return 0;
	return n > 0;
}

/* ---- tokens ----------------------------------------------------------------------------- */

static void base64url(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = B64URL;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = abc[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
}

/* "bo_" and exactly 43 base64url characters. */
static int token_shape(const char *t, size_t len)
{
	if (len != AUTH_TOKEN_LEN || strncmp(t, TOKEN_PREFIX, TOKEN_PREFIX_LEN))
		return 0;
	for (size_t i = TOKEN_PREFIX_LEN; i < len; i++)
		if (!strchr(B64URL, t[i]))
			return 0;
	return 1;
}

static int sha256_hex(const char *s, size_t len, char hex[SHA256_HEX], struct bo_error *err)
{
	if (hex_sha256(hex, s, len))
		return bo_error_set(err, BO_EINTERNAL, "SHA-256 (OpenSSL EVP_Digest) failed");
	return 0;
}

/* Same format as db_now_iso, so the two compare as strings. */
static void iso_at(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".000Z");
}

static int row_user(sqlite3_stmt *st, int col, struct auth_user *out, struct bo_error *err)
{
	enum auth_role role;
	if (auth_role_parse(db_column_text(st, col + 4), &role))
		return bo_error_set(err, BO_EINTERNAL, "user %lld has unknown role '%.40s' in the database",
				    (long long)sqlite3_column_int64(st, col), db_column_text(st, col + 4));
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, col);
	snprintf(out->name, sizeof(out->name), "%s", db_column_text(st, col + 1));
	snprintf(out->email, sizeof(out->email), "%s", db_column_text(st, col + 2));
	snprintf(out->orcid, sizeof(out->orcid), "%s", db_column_text(st, col + 3));
	out->role = role;
	out->disabled = sqlite3_column_int(st, col + 5) != 0;
	return 0;
}

static int invalid_token(struct bo_error *err)
{
	return bo_error_set(err, BO_EUNAUTHORIZED, "invalid or revoked token");
}

int auth_parse_bearer(const char *header, char tok[AUTH_TOKEN_LEN + 1], struct bo_error *err)
{
	while (header && (*header == ' ' || *header == '\t'))
		header++;
	if (!header || !*header)
		return bo_error_set(err, BO_EUNAUTHORIZED, "missing bearer token");
	if (!strncasecmp(header, "Bearer", 6) && !header[6])
		return invalid_token(err); /* the scheme without a token */
	if (strncasecmp(header, "Bearer", 6) || (header[6] != ' ' && header[6] != '\t')) {
		/* the shape of the header, not the token, is wrong: say so (nothing to probe) */
		size_t n = strnlen(header, AUTH_TOKEN_LEN + 64);
		while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
			n--;
		if (token_shape(header, n))
			return bo_error_set(err, BO_EUNAUTHORIZED,
					    "the token needs its scheme: send 'Authorization: Bearer <token>'");
		return bo_error_set(err, BO_EUNAUTHORIZED, "the Authorization header must be 'Bearer <token>'");
	}
	const char *t = header + 7;
	while (*t == ' ' || *t == '\t')
		t++;
	size_t len = strnlen(t, AUTH_TOKEN_LEN + 64);
	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	if (!token_shape(t, len))
		return invalid_token(err);
	memcpy(tok, t, len);
	tok[len] = '\0';
	return 0;
}

int auth_authenticate(sqlite3 *c, const char *header, struct auth_user *out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char hex[SHA256_HEX], last_used[40], cutoff[40], tok[AUTH_TOKEN_LEN + 1];
	int64_t token_id = 0;
	int rc = auth_parse_bearer(header, tok, err);
	if (rc)
		return rc;
	rc = sha256_hex(tok, strlen(tok), hex, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT t.id, t.last_used_at, t.revoked_at IS NOT NULL, "
			"u.id, u.name, u.email, u.orcid, u.role, u.disabled, COALESCE(t.scope, '') "
			"FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?1",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, hex);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE || (step == SQLITE_ROW && sqlite3_column_int(st, 2))) {
		rc = invalid_token(err);
		goto fail;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "look up token", err);
		goto fail;
	}
	token_id = sqlite3_column_int64(st, 0);
	snprintf(last_used, sizeof(last_used), "%s", db_column_text(st, 1));
	rc = row_user(st, 3, out, err);
	if (rc)
		goto fail;
	snprintf(out->scope, sizeof(out->scope), "%s", db_column_text(st, 9));
	if (out->disabled) {
		rc = bo_error_set(err, BO_EUNAUTHORIZED, "user is disabled");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	iso_at(time(NULL) - LAST_USED_PERIOD, cutoff, sizeof(cutoff));
	if (strcmp(last_used, cutoff) < 0) {
		char now[32];
		db_now_iso(now, sizeof(now));
		if (sqlite3_prepare_v2(c, "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2", -1, &st, NULL) != SQLITE_OK ||
		    db_bind_text(st, 1, now) != SQLITE_OK || sqlite3_bind_int64(st, 2, token_id) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			/* bookkeeping only: a busy database must not turn a valid token into a 401/503 */
			log_warnx("auth: could not record use of token %lld: %s", (long long)token_id, sqlite3_errmsg(c));
	}
	rc = 0;
fail:
	sqlite3_finalize(st);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

int auth_token_create(sqlite3 *c, int64_t user_id, const char *label, const char *scope, char *token_out,
		      int64_t *token_id_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	unsigned char raw[TOKEN_RAW_BYTES];
	char token[AUTH_TOKEN_LEN + 1], hex[SHA256_HEX], now[32];
	int rc;
	if (!label)
		label = "";
	if (strnlen(label, AUTH_LABEL_MAX + 1) > AUTH_LABEL_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "token label is longer than %d bytes", AUTH_LABEL_MAX);
	if (!auth_scope_valid(scope))
		return bo_error_set(err, BO_EBADREQUEST,
				    "token scope must be 'worker', 'partner' or 'partner:<tool>' (tool: 1..%d of A-Z a-z 0-9 . -)",
				    AUTH_TOOL_MAX);
	rc = db_prepare(c, &st, "SELECT disabled FROM users WHERE id = ?1", err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, user_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = bo_error_set(err, BO_ENOTFOUND, "no user with id %lld", (long long)user_id);
		goto fail;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "look up user", err);
		goto fail;
	}
	if (sqlite3_column_int(st, 0)) {
		rc = bo_error_set(err, BO_ECONFLICT, "user %lld is disabled; tokens cannot be created for it",
				  (long long)user_id);
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		rc = bo_error_set(err, BO_EINTERNAL, "random generator (RAND_bytes) failed");
		goto fail;
	}
	memcpy(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	base64url(raw, sizeof(raw), token + TOKEN_PREFIX_LEN);
	rc = sha256_hex(token, strlen(token), hex, err);
	if (rc)
		goto fail;
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st, "INSERT INTO tokens(user_id, token_sha256, label, created_at, scope) VALUES (?1, ?2, ?3, ?4, ?5)",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, hex);
	db_bind_text(st, 3, label);
	db_bind_text(st, 4, now);
	if (scope && *scope)
		db_bind_text(st, 5, scope);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_fail(c, "insert token", err);
		goto fail;
	}
	if (token_id_out)
		*token_id_out = sqlite3_last_insert_rowid(c);
	memcpy(token_out, token, sizeof(token));
	rc = 0;
fail:
	sqlite3_finalize(st);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

int auth_token_revoke(sqlite3 *c, const char *id_or_token, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char hex[SHA256_HEX], now[32];
	int by_token, rc;
	if (!id_or_token || !*id_or_token)
		return bo_error_set(err, BO_EBADREQUEST, "give a token id or the token (bo_…) to revoke");
	by_token = !strncmp(id_or_token, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	if (by_token) {
		size_t len = strnlen(id_or_token, AUTH_TOKEN_LEN + 1);
		if (!token_shape(id_or_token, len))
			return bo_error_set(err, BO_ENOTFOUND, "no such token (a token is bo_ and 43 characters)");
		rc = sha256_hex(id_or_token, len, hex, err);
		if (rc)
			return rc;
	} else if (!all_digits(id_or_token, 18)) {
		return bo_error_set(err, BO_EBADREQUEST, "'%.40s' is neither a token id nor a token (bo_…)", id_or_token);
	}
	db_now_iso(now, sizeof(now));
	/* COALESCE keeps the first revocation time, so revoking twice is harmless */
	rc = db_prepare(c, &st,
			by_token ? "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?1) WHERE token_sha256 = ?2"
				 : "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, now);
	if (by_token)
		db_bind_text(st, 2, hex);
	else
		sqlite3_bind_int64(st, 2, strtoll(id_or_token, NULL, 10));
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_fail(c, "revoke token", err);
		goto fail;
	}
	if (sqlite3_changes(c) == 0) {
		rc = by_token ? bo_error_set(err, BO_ENOTFOUND, "no such token")
			      : bo_error_set(err, BO_ENOTFOUND, "no token with id %s", id_or_token);
		goto fail;
	}
	rc = 0;
fail:
	sqlite3_finalize(st);
	return rc;
}

/* ---- users ------------------------------------------------------------------------------ */

int auth_user_add(sqlite3 *c, const char *name, const char *email, enum auth_role role, const char *orcid,
		  int64_t *id_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char lower[AUTH_EMAIL_MAX + 1], now[32];
	int rc;
	if (!auth_is_valid_name(name))
		return bo_error_set(err, BO_EBADREQUEST, "name must be 1-%d characters without control characters",
				    AUTH_NAME_MAX);
	if (!auth_is_valid_email(email))
		return bo_error_set(err, BO_EBADREQUEST,
				    "email must be one address like name@example.org (one @, no spaces, at most %d bytes)",
				    AUTH_EMAIL_MAX);
	if (role < AUTH_ROLE_UPLOADER || role > AUTH_ROLE_ADMIN)
		return bo_error_set(err, BO_EBADREQUEST, "role must be uploader, reviewer or admin");
	if (orcid && *orcid && !auth_is_valid_orcid(orcid))
		return bo_error_set(err, BO_EBADREQUEST, "orcid must be at most %d printable characters without spaces",
				    AUTH_ORCID_MAX);
	auth_lower_email(lower, sizeof(lower), email);
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st, "INSERT INTO users(name, email, orcid, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, lower);
	db_bind_text(st, 3, orcid && *orcid ? orcid : NULL);
	db_bind_text(st, 4, auth_role_name(role));
	db_bind_text(st, 5, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(c) == SQLITE_CONSTRAINT_UNIQUE)
			rc = bo_error_set(err, BO_ECONFLICT, "a user with email %s already exists", lower);
		else
			rc = db_fail(c, "insert user", err);
		goto fail;
	}
	if (id_out)
		*id_out = sqlite3_last_insert_rowid(c);
	rc = 0;
fail:
	sqlite3_finalize(st);
	return rc;
}

int auth_user_get(sqlite3 *c, const char *email_or_id, struct auth_user *out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char lower[AUTH_EMAIL_MAX + 1];
	int by_id, rc;
	if (!email_or_id || !*email_or_id)
		return bo_error_set(err, BO_EBADREQUEST, "give a user id or email");
	by_id = all_digits(email_or_id, 18);
	if (!by_id && strnlen(email_or_id, AUTH_EMAIL_MAX + 1) > AUTH_EMAIL_MAX)
		return bo_error_set(err, BO_ENOTFOUND, "no user with that email (longer than %d bytes)", AUTH_EMAIL_MAX);
	rc = db_prepare(c, &st,
			by_id ? "SELECT " USER_COLS " FROM users WHERE id = ?1" : "SELECT " USER_COLS " FROM users WHERE email = ?1",
			err);
	if (rc)
		goto fail;
	if (by_id) {
		sqlite3_bind_int64(st, 1, strtoll(email_or_id, NULL, 10));
	} else {
		auth_lower_email(lower, sizeof(lower), email_or_id);
		db_bind_text(st, 1, lower);
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = bo_error_set(err, BO_ENOTFOUND, "no user with %s %.100s", by_id ? "id" : "email", email_or_id);
		goto fail;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "look up user", err);
		goto fail;
	}
	rc = row_user(st, 0, out, err);
fail:
	sqlite3_finalize(st);
	return rc;
}

int auth_user_list(sqlite3 *c, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *arr = NULL;
	int rc, step;
	*out = NULL;
	rc = db_prepare(c, &st, "SELECT id, name, email, orcid, role, disabled, created_at FROM users ORDER BY id", err);
	if (rc)
		goto fail;
	arr = cJSON_CreateArray();
	if (!arr)
		goto nomem;
	for (;;) {
		step = sqlite3_step(st);
		if (step != SQLITE_ROW)
			break;
		cJSON *u = cJSON_CreateObject();
		if (!u)
			goto nomem;
		cJSON_AddItemToArray(arr, u);
		if (!cJSON_AddNumberToObject(u, "id", (double)sqlite3_column_int64(st, 0)) ||
		    !cJSON_AddStringToObject(u, "name", db_column_text(st, 1)) ||
		    !cJSON_AddStringToObject(u, "email", db_column_text(st, 2)) ||
		    !(sqlite3_column_type(st, 3) == SQLITE_NULL ? cJSON_AddNullToObject(u, "orcid")
								  : cJSON_AddStringToObject(u, "orcid", db_column_text(st, 3))) ||
		    !cJSON_AddStringToObject(u, "role", db_column_text(st, 4)) ||
		    !cJSON_AddBoolToObject(u, "disabled", sqlite3_column_int(st, 5) != 0) ||
		    !cJSON_AddStringToObject(u, "created_at", db_column_text(st, 6)))
			goto nomem;
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list users", err);
		goto fail;
	}
	*out = arr;
	arr = NULL;
	rc = 0;
	goto fail;
nomem:
	rc = bo_error_set(err, BO_ENOMEM, "out of memory");
fail:
	cJSON_Delete(arr);
	sqlite3_finalize(st);
	return rc;
}

int auth_user_disable(sqlite3 *c, const char *email_or_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	struct auth_user u;
	char now[32];
	int own = 0;
	int rc = db_begin_or_join(c, &own, err);
	if (rc)
		return rc;
	rc = auth_user_get(c, email_or_id, &u, err);
	if (rc)
		goto fail;
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st, "UPDATE users SET disabled = 1 WHERE id = ?1", err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, u.id);
	rc = db_step_done(st, err);
	st = NULL;
	if (rc)
		goto fail;
	rc = db_prepare(c, &st, "UPDATE tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL", err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, now);
	sqlite3_bind_int64(st, 2, u.id);
	rc = db_step_done(st, err);
	st = NULL;
fail:
	sqlite3_finalize(st);
	return db_end_joined(c, own, rc, err);
}

int auth_user_name(sqlite3 *c, int64_t id, char *out, size_t n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	int rc = db_prepare(c, &st, "SELECT name FROM users WHERE id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(out, n, "%s", db_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "read user", err);
	sqlite3_finalize(st);
	return rc;
}

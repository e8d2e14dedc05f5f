/* auth: users, hashed API tokens, roles and the reviewers import (the maintainer check is
 * maintainers.c).
 * Invariants: a token string exists only in the creator's hands — the database holds its
 * SHA-256 hex; emails are stored lowercased so the UNIQUE index is case-insensitive in
 * effect; a disabled user never authenticates and has no live tokens. */
#include "auth.h"

#include "db.h"
#include "error.h"
#include "hex.h"
#include "log.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
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

static const char *const role_names[] = {"none", "uploader", "reviewer", "admin"};

const char *auth_role_name(enum auth_role r)
{
	if (r < AUTH_ROLE_NONE || r > AUTH_ROLE_ADMIN)
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
	if (user->disabled || user->role < need)
		return bo_error_set(err, BO_EFORBIDDEN, "this needs the %s role", auth_role_name(need));
	return 0;
}

/* ---- field checks ----------------------------------------------------------------------- */

static int valid_email(const char *s)
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

static int valid_name(const char *s)
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

static int valid_orcid(const char *s)
{
	if (!s || strnlen(s, AUTH_ORCID_MAX + 1) > AUTH_ORCID_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

static void lower_copy(char *dst, size_t cap, const char *src)
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

/* ---- transactions ----------------------------------------------------------------------- */

/* Takes the write lock with our own BEGIN IMMEDIATE unless the caller already opened a
 * transaction, in which case our writes become part of it. */
static int tx_begin(sqlite3 *c, int *own, struct bo_error *err)
{
	*own = sqlite3_get_autocommit(c);
	return *own ? db_begin(c, err) : 0;
}

static int tx_end(sqlite3 *c, int own, int rc, struct bo_error *err)
{
	if (!own)
		return rc;
	if (rc) {
		db_rollback(c);
		return rc;
	}
	return db_commit(c, err);
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
	if (strncasecmp(header, "Bearer", 6) || (header[6] != ' ' && header[6] != '\t'))
		return invalid_token(err);
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
			"u.id, u.name, u.email, u.orcid, u.role, u.disabled "
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

int auth_token_create(sqlite3 *c, int64_t user_id, const char *label, char *token_out, int64_t *token_id_out,
		      struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	unsigned char raw[TOKEN_RAW_BYTES];
	char token[AUTH_TOKEN_LEN + 1], hex[SHA256_HEX], now[32];
	int rc;
	if (!label)
		label = "";
	if (strnlen(label, AUTH_LABEL_MAX + 1) > AUTH_LABEL_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "token label is longer than %d bytes", AUTH_LABEL_MAX);
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
	rc = db_prepare(c, &st, "INSERT INTO tokens(user_id, token_sha256, label, created_at) VALUES (?1, ?2, ?3, ?4)",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, hex);
	db_bind_text(st, 3, label);
	db_bind_text(st, 4, now);
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
	if (!valid_name(name))
		return bo_error_set(err, BO_EBADREQUEST, "name must be 1-%d characters without control characters",
				    AUTH_NAME_MAX);
	if (!valid_email(email))
		return bo_error_set(err, BO_EBADREQUEST,
				    "email must be one address like name@example.org (one @, no spaces, at most %d bytes)",
				    AUTH_EMAIL_MAX);
	if (role < AUTH_ROLE_UPLOADER || role > AUTH_ROLE_ADMIN)
		return bo_error_set(err, BO_EBADREQUEST, "role must be uploader, reviewer or admin");
	if (orcid && *orcid && !valid_orcid(orcid))
		return bo_error_set(err, BO_EBADREQUEST, "orcid must be at most %d printable characters without spaces",
				    AUTH_ORCID_MAX);
	lower_copy(lower, sizeof(lower), email);
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
		lower_copy(lower, sizeof(lower), email_or_id);
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
	int rc = tx_begin(c, &own, err);
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
	return tx_end(c, own, rc, err);
}

/* ---- reviewers import ------------------------------------------------------------------- */

struct entry {
	int index;
	char email[AUTH_EMAIL_MAX + 1]; /* lowercased; "" when invalid */
	const char *name, *orcid, *affiliation, *github_user, *external_id; /* borrowed from the tree */
};

static int report(struct bo_error *err, int i, const char *field, const char *msg)
{
	if (!err)
		return 0;
	cJSON *loc = cJSON_CreateArray();
	if (!loc || !cJSON_AddItemToArray(loc, cJSON_CreateString("reviewers")) ||
	    !cJSON_AddItemToArray(loc, cJSON_CreateNumber(i)) || !cJSON_AddItemToArray(loc, cJSON_CreateString(field))) {
		cJSON_Delete(loc);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	if (bo_error_add(err, loc, msg, "value_error", 0, 0))
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	return 0;
}

/* An optional string field: absent, null and "" read as NULL. Returns 1 when it was reported
 * as bad, 0 when fine, BO_ENOMEM. */
static int entry_text(const cJSON *e, int i, const char *key, size_t max, const char **out, struct bo_error *err)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, key);
	char msg[96];
	*out = NULL;
	if (!f || cJSON_IsNull(f))
		return 0;
	if (!cJSON_IsString(f)) {
		snprintf(msg, sizeof(msg), "%s must be a string", key);
		return report(err, i, key, msg) ? BO_ENOMEM : 1;
	}
	if (strnlen(f->valuestring, max + 1) > max) {
		snprintf(msg, sizeof(msg), "%s is longer than %zu bytes", key, max);
		return report(err, i, key, msg) ? BO_ENOMEM : 1;
	}
	if (*f->valuestring)
		*out = f->valuestring;
	return 0;
}

/* Reads and checks one entry; returns the number of problems reported or BO_ENOMEM. */
static int read_entry(const cJSON *e, int i, struct entry *out, struct bo_error *err)
{
	int bad = 0, r;
	out->index = i;
	if (!cJSON_IsObject(e))
		return report(err, i, "email", "entry must be an object with at least name and email") ? BO_ENOMEM : 1;
	const cJSON *email = cJSON_GetObjectItemCaseSensitive(e, "email");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
	if (!cJSON_IsString(email) || !valid_email(email->valuestring)) {
		if (report(err, i, "email", "missing or invalid email (one @, no spaces, at most 319 bytes)"))
			return BO_ENOMEM;
		bad++;
	} else {
		lower_copy(out->email, sizeof(out->email), email->valuestring);
	}
	if (!cJSON_IsString(name) || !valid_name(name->valuestring)) {
		if (report(err, i, "name", "missing or invalid name (1-255 characters, no control characters)"))
			return BO_ENOMEM;
		bad++;
	} else {
		out->name = name->valuestring;
	}
	struct {
		const char *key;
		size_t max;
		const char **dst;
	} fields[] = {
		{"orcid", AUTH_ORCID_MAX, &out->orcid},
		{"affiliation", AUTH_TEXT_MAX, &out->affiliation},
		{"github_user", AUTH_TEXT_MAX, &out->github_user},
		{"id", AUTH_TEXT_MAX, &out->external_id},
	};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		r = entry_text(e, i, fields[f].key, fields[f].max, fields[f].dst, err);
		if (r < 0)
			return r;
		bad += r;
	}
	if (out->orcid && !valid_orcid(out->orcid)) {
		if (report(err, i, "orcid", "orcid must be printable characters without spaces"))
			return BO_ENOMEM;
		bad++;
	}
	return bad;
}

static int cmp_entry_email(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = strcmp(x->email, y->email);
	return c ? c : x->index - y->index;
}

static int cmp_entry_id(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = strcmp(x->external_id ? x->external_id : "", y->external_id ? y->external_id : "");
	return c ? c : x->index - y->index;
}

/* Emails and ids listed twice in the file; sorting keeps this O(n log n) for 4 MiB files. */
static int find_duplicates(struct entry *entries, struct entry **order, int n, struct bo_error *err)
{
	int bad = 0;
	char msg[160];
	for (int i = 0; i < n; i++)
		order[i] = &entries[i];
	qsort(order, (size_t)n, sizeof(*order), cmp_entry_email);
	for (int i = 1; i < n; i++) {
		if (!order[i]->email[0] || strcmp(order[i - 1]->email, order[i]->email))
			continue;
		snprintf(msg, sizeof(msg), "email is listed twice (also in entry %d)", order[i - 1]->index);
		if (report(err, order[i]->index, "email", msg))
			return BO_ENOMEM;
		bad++;
	}
	qsort(order, (size_t)n, sizeof(*order), cmp_entry_id);
	for (int i = 1; i < n; i++) {
		if (!order[i]->external_id || !order[i - 1]->external_id ||
		    strcmp(order[i - 1]->external_id, order[i]->external_id))
			continue;
		snprintf(msg, sizeof(msg), "id is listed twice (also in entry %d)", order[i - 1]->index);
		if (report(err, order[i]->index, "id", msg))
			return BO_ENOMEM;
		bad++;
	}
	return bad;
}

/* An id (external_id is UNIQUE) already held by a user with another email cannot be moved
 * silently: which of the two accounts is the reviewer is for an operator to decide. */
static int find_taken_ids(sqlite3 *c, const struct entry *entries, int n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int bad = 0;
	char msg[AUTH_EMAIL_MAX + 64];
	int rc = db_prepare(c, &st, "SELECT email FROM users WHERE external_id = ?1", err);
	if (rc)
		return rc;
	for (int i = 0; i < n; i++) {
		if (!entries[i].external_id || !entries[i].email[0])
			continue;
		sqlite3_reset(st);
		db_bind_text(st, 1, entries[i].external_id);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW && strcmp(db_column_text(st, 0), entries[i].email)) {
			snprintf(msg, sizeof(msg), "id belongs to the user %s", db_column_text(st, 0));
			if (report(err, i, "id", msg)) {
				bad = BO_ENOMEM;
				break;
			}
			bad++;
		} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
			bad = db_fail(c, "look up reviewer id", err);
			break;
		}
	}
	sqlite3_finalize(st);
	return bad;
}

static int bind_entry(sqlite3_stmt *st, const struct entry *e)
{
	int rc = db_bind_text(st, 1, e->name);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 2, e->email);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 3, e->orcid);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 4, e->affiliation);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 5, e->github_user);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 6, e->external_id);
	return rc;
}

static int write_entries(sqlite3 *c, const struct entry *entries, int n, int *added, int *updated,
			 struct bo_error *err)
{
	sqlite3_stmt *sel = NULL, *upd = NULL, *ins = NULL;
	char now[32];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &sel, "SELECT id FROM users WHERE email = ?1", err);
	if (!rc)
		/* COALESCE: a field missing from the file keeps what the user already has; an admin
		 * stays admin; disabled is left alone */
		rc = db_prepare(c, &upd,
				"UPDATE users SET name = ?1, orcid = COALESCE(?3, orcid), affiliation = COALESCE(?4, affiliation), "
				"github_user = COALESCE(?5, github_user), external_id = COALESCE(?6, external_id), "
				"role = CASE role WHEN 'admin' THEN 'admin' ELSE 'reviewer' END WHERE email = ?2",
				err);
	if (!rc)
		rc = db_prepare(c, &ins,
				"INSERT INTO users(name, email, orcid, affiliation, github_user, external_id, role, created_at) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'reviewer', ?7)",
				err);
	if (rc)
		goto fail;
	for (int i = 0; i < n; i++) {
		sqlite3_reset(sel);
		db_bind_text(sel, 1, entries[i].email);
		int step = sqlite3_step(sel);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			rc = db_fail(c, "look up reviewer", err);
			goto fail;
		}
		sqlite3_stmt *w = step == SQLITE_ROW ? upd : ins;
		sqlite3_reset(w);
		if (bind_entry(w, &entries[i]) != SQLITE_OK || (w == ins && db_bind_text(ins, 7, now) != SQLITE_OK)) {
			rc = db_fail(c, "bind reviewer", err);
			goto fail;
		}
		if (sqlite3_step(w) != SQLITE_DONE) {
			rc = db_fail(c, w == ins ? "insert reviewer" : "update reviewer", err);
			goto fail;
		}
		if (w == ins)
			(*added)++;
		else
			(*updated)++;
	}
	rc = 0;
fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	return rc;
}

int auth_users_import(sqlite3 *c, const char *json_text, size_t len, int *added_out, int *updated_out,
		      struct bo_error *err)
{
	cJSON *root = NULL;
	struct entry *entries = NULL;
	struct entry **order = NULL;
	const char *end = NULL;
	int added = 0, updated = 0, bad = 0, n = 0, own = 0, in_tx = 0, rc, r;
	if (added_out)
		*added_out = 0;
	if (updated_out)
		*updated_out = 0;
	if (len > AUTH_IMPORT_MAX_BYTES)
		return bo_error_set(err, BO_ETOOLARGE, "reviewers file is larger than %u bytes", AUTH_IMPORT_MAX_BYTES);
	root = cJSON_ParseWithLengthOpts(json_text, len, &end, 0);
	if (!root) {
		rc = bo_error_set(err, BO_EBADREQUEST, "reviewers file is not valid JSON (near byte %td)",
				  end ? end - json_text : (ptrdiff_t)0);
		goto fail;
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "reviewers");
	if (!cJSON_IsArray(list)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "reviewers file must be an object with a \"reviewers\" array");
		goto fail;
	}
	n = cJSON_GetArraySize(list);
	entries = calloc((size_t)n + 1, sizeof(*entries));
	order = calloc((size_t)n + 1, sizeof(*order));
	if (!entries || !order) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	const cJSON *e;
	int i = 0;
	cJSON_ArrayForEach(e, list) {
		r = read_entry(e, i, &entries[i], err);
		if (r < 0) {
			rc = r;
			goto fail;
		}
		bad += r;
		i++;
	}
	r = find_duplicates(entries, order, n, err);
	if (r < 0) {
		rc = r;
		goto fail;
	}
	bad += r;
	/* the id check reads users, so it runs under the write lock with the writes */
	rc = tx_begin(c, &own, err);
	if (rc)
		goto fail;
	in_tx = 1;
	r = find_taken_ids(c, entries, n, err);
	if (r < 0) {
		rc = r;
		goto fail;
	}
	bad += r;
	if (bad) {
		rc = bo_error_set(err, BO_EBADREQUEST, "reviewers file: %d problem%s in %d entries; nothing was imported",
				  bad, bad == 1 ? "" : "s", n);
		goto fail;
	}
	rc = write_entries(c, entries, n, &added, &updated, err);
	if (rc)
		goto fail;
	if (added_out)
		*added_out = added;
	if (updated_out)
		*updated_out = updated;
	rc = 0;
fail:
	if (in_tx)
		rc = tx_end(c, own, rc, err);
	if (rc && added_out)
		*added_out = 0;
	if (rc && updated_out)
		*updated_out = 0;
	free(order);
	free(entries);
	cJSON_Delete(root);
	return rc;
}

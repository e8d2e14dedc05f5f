/* Unit tests for auth: token format and hashing, authentication outcomes, roles, users.
 * The reviewers import and the maintainer check are test_reviewers.c and test_maintainers.c. */
#include "check.h"
#include "auth_check.h"

#include "domain/auth.h"
#include "infra/db.h"
#include "common/error.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>

static void new_token(sqlite3 *c, int64_t user, char tok[64], int64_t *tid)
{
	struct bo_error err = BO_ERROR_INIT;
	int rc = auth_token_create(c, user, "test", NULL, tok, tid, &err);
	check(rc == 0, "token: %s", err.detail);
	bo_error_cleanup(&err);
}

static int sql_int(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int n = -1;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void expect_auth_fails(sqlite3 *c, const char *header, const char *detail)
{
	struct bo_error err = BO_ERROR_INIT;
	struct auth_user u;
	int rc = auth_authenticate(c, header, &u, &err);
	check(rc == BO_EUNAUTHORIZED, "'%s' gave %d", header ? header : "(null)", rc);
	check(!strcmp(err.detail, detail), "'%s': detail '%s', want '%s'", header ? header : "(null)", err.detail,
	      detail);
	bo_error_cleanup(&err);
}

static void expect_auth_ok(sqlite3 *c, const char *header, int64_t user)
{
	struct bo_error err = BO_ERROR_INIT;
	struct auth_user u;
	int rc = auth_authenticate(c, header, &u, &err);
	check(rc == 0 && u.id == user, "'%s': rc %d id %lld: %s", header, rc, (long long)u.id, err.detail);
	bo_error_cleanup(&err);
}

/* ---- tokens ----------------------------------------------------------------------------- */

static void test_auth__token_format(void)
{
	struct fixture fx;
	char a[64], b[64];
	int64_t ta = 0, tb = 0;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t u = add_user(fx.c, "Ada", "ada@example.org", AUTH_ROLE_UPLOADER);
	new_token(fx.c, u, a, &ta);
	new_token(fx.c, u, b, &tb);
	check(strlen(a) == AUTH_TOKEN_LEN && strlen(a) == 46, "length %zu", strlen(a));
	check(!strncmp(a, "bo_", 3), "prefix: %s", a);
	for (size_t i = 3; i < strlen(a); i++)
		check(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]) != NULL,
		      "char %zu of %s is not base64url", i, a);
	check(strcmp(a, b) != 0, "two tokens are equal");
	check(ta > 0 && tb > ta, "ids %lld %lld", (long long)ta, (long long)tb);
	/* decode: 43 base64url characters are exactly 32 bytes (the last holds 2 padding bits) */
	const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	check(((strchr(abc, a[45]) - abc) & 3) == 0, "last character carries only 4 data bits");

	struct bo_error err = BO_ERROR_INIT;
	char t[64];
	check(auth_token_create(fx.c, 999, NULL, NULL, t, NULL, &err) == BO_ENOTFOUND, "unknown user");
	bo_error_cleanup(&err);
	char label[300];
	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	check(auth_token_create(fx.c, u, label, NULL, t, NULL, &err) == BO_EBADREQUEST, "long label");
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

/* A partner token sends compatibility reports and nothing else, whatever its user's role;
 * an admin's unscoped token may send them too; a bad scope is refused at creation. */
static void test_auth__partner_scope(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	struct auth_user u;
	char t[64], hdr[80];
	require(fixture_open(&fx) == 0, "fixture");
	int64_t rev = add_user(fx.c, "Pat", "pat@example.org", AUTH_ROLE_REVIEWER);
	int64_t adm = add_user(fx.c, "Ann", "ann@example.org", AUTH_ROLE_ADMIN);
	int64_t up = add_user(fx.c, "Ulf", "ulf@example.org", AUTH_ROLE_UPLOADER);
	static const char *const bad_scopes[] = {"admin", "partner:", "partner:a b", "partner:x_y", "Partner",
						 "partner:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	for (size_t i = 0; i < sizeof(bad_scopes) / sizeof(bad_scopes[0]); i++) {
		check(auth_token_create(fx.c, rev, "", bad_scopes[i], t, NULL, &err) == BO_EBADREQUEST, "scope '%s'",
		      bad_scopes[i]);
		bo_error_cleanup(&err);
	}
	require(auth_token_create(fx.c, rev, "ilastik CI", "partner:ilastik", t, NULL, &err) == 0, "%s", err.detail);
	snprintf(hdr, sizeof(hdr), "Bearer %s", t);
	require(auth_authenticate(fx.c, hdr, &u, &err) == 0, "%s", err.detail);
	check(!strcmp(u.scope, "partner:ilastik") && u.role == AUTH_ROLE_REVIEWER, "scope '%s' role %d", u.scope, u.role);
	check(auth_require(&u, AUTH_ROLE_PARTNER, &err) == 0, "partner route: %s", err.detail);
	for (int need = AUTH_ROLE_UPLOADER; need <= AUTH_ROLE_ADMIN; need++) {
		check(auth_require(&u, (enum auth_role)need, &err) == BO_EFORBIDDEN, "a partner token passed need %d", need);
		check(strstr(err.detail, "only send compatibility reports") != NULL, "detail %s", err.detail);
		bo_error_cleanup(&err);
	}
	/* unscoped: an admin may send reports, an uploader or reviewer may not */
	int64_t who[] = {adm, rev, up};
	for (int i = 0; i < 3; i++) {
		require(auth_token_create(fx.c, who[i], "", NULL, t, NULL, &err) == 0, "%s", err.detail);
		snprintf(hdr, sizeof(hdr), "Bearer %s", t);
		require(auth_authenticate(fx.c, hdr, &u, &err) == 0, "%s", err.detail);
		check(u.scope[0] == '\0', "unscoped token has scope '%s'", u.scope);
		check(auth_require(&u, AUTH_ROLE_PARTNER, &err) == (i == 0 ? 0 : BO_EFORBIDDEN), "user %d on a partner route",
		      i);
		bo_error_cleanup(&err);
	}
	check(!strcmp(auth_role_name(AUTH_ROLE_PARTNER), "partner"), "name");
	check(auth_role_parse("partner", &(enum auth_role){0}) == BO_EBADREQUEST, "partner is not a user's role");
	fixture_close(&fx);
}

static int file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *buf = slurp(path, &len);
	int found = buf && memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static void test_auth__hash_stored_not_token(void)
{
	struct fixture fx;
	char tok[64], hex[65];
	unsigned char md[32];
	unsigned int mdlen = 0;
	sqlite3_stmt *st = NULL;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t u = add_user(fx.c, "Ada", "ada@example.org", AUTH_ROLE_UPLOADER);
	new_token(fx.c, u, tok, NULL);
	require(EVP_Digest(tok, strlen(tok), md, &mdlen, EVP_sha256(), NULL) == 1, "digest");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	require(sqlite3_prepare_v2(fx.c, "SELECT token_sha256, label FROM tokens", -1, &st, NULL) == SQLITE_OK, "prep");
	require(sqlite3_step(st) == SQLITE_ROW, "row");
	check(!strcmp((const char *)sqlite3_column_text(st, 0), hex), "stored %s, want sha256 %s",
	      sqlite3_column_text(st, 0), hex);
	check(!strcmp((const char *)sqlite3_column_text(st, 1), "test"), "label");
	sqlite3_finalize(st);
	/* the token is in neither the database nor its WAL */
	check(!file_contains("t.db", tok) && !file_contains("t.db-wal", tok), "token found in the database files");
	check(file_contains("t.db", hex) || file_contains("t.db-wal", hex), "hash not found in the database files");
	fixture_close(&fx);
}

static void test_auth__authenticate(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	char tok[64], tok2[64], header[128];
	int64_t tid = 0, tid2 = 0;
	struct auth_user u;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t id = add_user(fx.c, "Ada Lovelace", "Ada@Example.org", AUTH_ROLE_REVIEWER);
	new_token(fx.c, id, tok, &tid);
	new_token(fx.c, id, tok2, &tid2);

	snprintf(header, sizeof(header), "Bearer %s", tok);
	require(auth_authenticate(fx.c, header, &u, &err) == 0, "ok: %s", err.detail);
	check(u.id == id && u.role == AUTH_ROLE_REVIEWER && !u.disabled, "user fields");
	check(!strcmp(u.name, "Ada Lovelace") && !strcmp(u.email, "ada@example.org"), "name %s email %s", u.name, u.email);
	snprintf(header, sizeof(header), "  bearer \t%s  ", tok);
	expect_auth_ok(fx.c, header, id);

	/* missing */
	expect_auth_fails(fx.c, NULL, "missing bearer token");
	expect_auth_fails(fx.c, "", "missing bearer token");
	expect_auth_fails(fx.c, "   ", "missing bearer token");
	/* malformed */
	expect_auth_fails(fx.c, "Bearer", "invalid or revoked token");
	expect_auth_fails(fx.c, "Bearer ", "invalid or revoked token");
	/* the header's shape is wrong, not the token: said so, with the way to fix it */
	snprintf(header, sizeof(header), "Basic %s", tok);
	expect_auth_fails(fx.c, header, "the Authorization header must be 'Bearer <token>'");
	snprintf(header, sizeof(header), "Bearer%s", tok);
	expect_auth_fails(fx.c, header, "the Authorization header must be 'Bearer <token>'");
	snprintf(header, sizeof(header), "%s", tok);
	expect_auth_fails(fx.c, header, "the token needs its scheme: send 'Authorization: Bearer <token>'");
	snprintf(header, sizeof(header), "Bearer %s", tok);
	header[20] = '!';
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	snprintf(header, sizeof(header), "Bearer %sx", tok);
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	snprintf(header, sizeof(header), "Bearer %.40s", tok);
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	snprintf(header, sizeof(header), "Bearer %s", tok + 3);
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	/* unknown: well-formed but never issued (one character changed) */
	snprintf(header, sizeof(header), "Bearer %s", tok);
	header[30] = header[30] == 'A' ? 'B' : 'A';
	expect_auth_fails(fx.c, header, "invalid or revoked token");

	/* revoked by id, then by the token string; the other token keeps working meanwhile */
	snprintf(header, sizeof(header), "%lld", (long long)tid);
	require(auth_token_revoke(fx.c, header, &err) == 0, "revoke by id: %s", err.detail);
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	snprintf(header, sizeof(header), "Bearer %s", tok2);
	expect_auth_ok(fx.c, header, id);
	require(auth_token_revoke(fx.c, tok2, &err) == 0, "revoke by token: %s", err.detail);
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	check(auth_token_revoke(fx.c, tok2, &err) == 0, "revoking twice is fine: %s", err.detail);
	check(auth_token_revoke(fx.c, "12345", &err) == BO_ENOTFOUND, "unknown id");
	bo_error_cleanup(&err);
	check(auth_token_revoke(fx.c, "bo_nope", &err) == BO_ENOTFOUND, "unknown token");
	bo_error_cleanup(&err);
	check(auth_token_revoke(fx.c, "drop table", &err) == BO_EBADREQUEST, "neither");
	bo_error_cleanup(&err);
	check(sql_int(fx.c, "SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL") == 2, "two revoked");
	fixture_close(&fx);
}

static void test_auth__disabled_user(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	char tok[64], tok2[64], header[128];
	require(fixture_open(&fx) == 0, "fixture");
	int64_t id = add_user(fx.c, "Bo", "bo@example.org", AUTH_ROLE_UPLOADER);
	int64_t other = add_user(fx.c, "Cy", "cy@example.org", AUTH_ROLE_UPLOADER);
	new_token(fx.c, id, tok, NULL);
	new_token(fx.c, other, tok2, NULL);
	/* a live token of a disabled user (e.g. disabled by hand in SQL) still does not work */
	require(sqlite3_exec(fx.c, "UPDATE users SET disabled = 1", NULL, NULL, NULL) == SQLITE_OK, "disable by hand");
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_auth_fails(fx.c, header, "user is disabled");
	require(sqlite3_exec(fx.c, "UPDATE users SET disabled = 0", NULL, NULL, NULL) == SQLITE_OK, "enable");
	expect_auth_ok(fx.c, header, id);

	/* auth_user_disable disables and revokes every token of that user, and only theirs */
	require(auth_user_disable(fx.c, "BO@example.org", &err) == 0, "disable: %s", err.detail);
	expect_auth_fails(fx.c, header, "invalid or revoked token");
	check(sql_int(fx.c, "SELECT count(*) FROM tokens WHERE revoked_at IS NULL") == 1, "other token live");
	snprintf(header, sizeof(header), "Bearer %s", tok2);
	expect_auth_ok(fx.c, header, other);
	struct auth_user u;
	require(auth_user_get(fx.c, "bo@example.org", &u, &err) == 0, "get");
	check(u.disabled == 1, "disabled flag");
	char t[64];
	check(auth_token_create(fx.c, id, "", NULL, t, NULL, &err) == BO_ECONFLICT, "no tokens for disabled users");
	bo_error_cleanup(&err);
	check(auth_user_disable(fx.c, "nobody@example.org", &err) == BO_ENOTFOUND, "unknown user");
	bo_error_cleanup(&err);
	check(auth_user_disable(fx.c, "bo@example.org", &err) == 0, "twice: %s", err.detail);
	/* inside a caller's transaction it joins it, and a rollback undoes it */
	require(db_begin(fx.c, &err) == 0, "begin");
	require(auth_user_disable(fx.c, "cy@example.org", &err) == 0, "disable in tx: %s", err.detail);
	db_rollback(fx.c);
	expect_auth_ok(fx.c, header, other);
	fixture_close(&fx);
}

static void test_auth__last_used_throttled(void)
{
	struct fixture fx;
	char tok[64], header[128];
	require(fixture_open(&fx) == 0, "fixture");
	int64_t id = add_user(fx.c, "Ada", "ada@example.org", AUTH_ROLE_UPLOADER);
	new_token(fx.c, id, tok, NULL);
	check(sql_int(fx.c, "SELECT count(*) FROM tokens WHERE last_used_at IS NULL") == 1, "never used");
	snprintf(header, sizeof(header), "Bearer %s", tok);
	expect_auth_ok(fx.c, header, id);
	check(sql_int(fx.c, "SELECT count(*) FROM tokens WHERE last_used_at IS NOT NULL") == 1, "recorded");
	/* a recent value is left alone */
	sqlite3_exec(fx.c, "UPDATE tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-20 seconds')", NULL,
		     NULL, NULL);
	int changes_before = sqlite3_total_changes(fx.c);
	expect_auth_ok(fx.c, header, id);
	check(sqlite3_total_changes(fx.c) == changes_before, "wrote within the minute");
	check(sql_int(fx.c, "SELECT last_used_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 seconds') FROM tokens") == 1,
	      "value kept");
	/* an old value is refreshed */
	sqlite3_exec(fx.c, "UPDATE tokens SET last_used_at = '2000-01-01T00:00:00.000Z'", NULL, NULL, NULL);
	expect_auth_ok(fx.c, header, id);
	check(sql_int(fx.c, "SELECT last_used_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 seconds') FROM tokens") == 1,
	      "refreshed");
	fixture_close(&fx);
}

/* ---- roles ------------------------------------------------------------------------------ */

static void test_auth__roles(void)
{
	struct bo_error err = BO_ERROR_INIT;
	enum auth_role r = AUTH_ROLE_NONE;
	for (int i = AUTH_ROLE_UPLOADER; i <= AUTH_ROLE_ADMIN; i++) {
		check(auth_role_parse(auth_role_name((enum auth_role)i), &r) == 0 && (int)r == i, "round trip %d", i);
	}
	check(!strcmp(auth_role_name(AUTH_ROLE_REVIEWER), "reviewer"), "name");
	check(!strcmp(auth_role_name(AUTH_ROLE_NONE), "none"), "none");
	check(!strcmp(auth_role_name((enum auth_role)42), "none"), "out of range");
	check(auth_role_parse("none", &r) == BO_EBADREQUEST, "none is not a role");
	check(auth_role_parse("Admin", &r) == BO_EBADREQUEST, "case");
	check(auth_role_parse(NULL, &r) == BO_EBADREQUEST, "NULL");
	check(AUTH_ROLE_UPLOADER < AUTH_ROLE_REVIEWER && AUTH_ROLE_REVIEWER < AUTH_ROLE_ADMIN, "order");

	struct auth_user u;
	memset(&u, 0, sizeof(u));
	for (int have = AUTH_ROLE_UPLOADER; have <= AUTH_ROLE_ADMIN; have++) {
		for (int need = AUTH_ROLE_UPLOADER; need <= AUTH_ROLE_ADMIN; need++) {
			u.role = (enum auth_role)have;
			int rc = auth_require(&u, (enum auth_role)need, &err);
			check(rc == (have >= need ? 0 : BO_EFORBIDDEN), "have %d need %d: %d", have, need, rc);
			if (rc) {
				char want[64];
				snprintf(want, sizeof(want), "this needs the %s role", auth_role_name((enum auth_role)need));
				check(!strcmp(err.detail, want), "detail %s", err.detail);
			}
			bo_error_cleanup(&err);
		}
	}
	u.role = AUTH_ROLE_ADMIN;
	u.disabled = 1;
	check(auth_require(&u, AUTH_ROLE_UPLOADER, &err) == BO_EFORBIDDEN, "disabled");
	bo_error_cleanup(&err);
	check(auth_require(NULL, AUTH_ROLE_UPLOADER, &err) == BO_EUNAUTHORIZED, "anonymous");
	bo_error_cleanup(&err);
}

/* ---- users ------------------------------------------------------------------------------ */

static void test_auth__user_add(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	char email[400], name[300];
	struct auth_user u;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t id = add_user(fx.c, "Ada", "Ada@Example.ORG", AUTH_ROLE_ADMIN);
	check(auth_user_add(fx.c, "Ada 2", "ada@example.org", AUTH_ROLE_UPLOADER, NULL, NULL, &err) == BO_ECONFLICT,
	      "duplicate");
	bo_error_cleanup(&err);
	check(auth_user_add(fx.c, "Ada 3", "ADA@EXAMPLE.ORG", AUTH_ROLE_UPLOADER, NULL, NULL, &err) == BO_ECONFLICT,
	      "duplicate in other case");
	check(strstr(err.detail, "already exists") != NULL, "detail %s", err.detail);
	bo_error_cleanup(&err);

	const char *bad_emails[] = {"", "no-at-sign", "a@b@example.org", "@example.org", "ada@", "a da@example.org",
				    "ada@exa mple.org", "ada\t@example.org", "ada@example.org\n", NULL};
	for (size_t i = 0; i < sizeof(bad_emails) / sizeof(bad_emails[0]); i++) {
		check(auth_user_add(fx.c, "X", bad_emails[i], AUTH_ROLE_UPLOADER, NULL, NULL, &err) == BO_EBADREQUEST,
		      "email '%s' accepted", bad_emails[i] ? bad_emails[i] : "(null)");
		check(strstr(err.detail, "email") != NULL, "detail %s", err.detail);
		bo_error_cleanup(&err);
	}
	/* 320 bytes is too long; 319 fits auth_user.email */
	memset(email, 'a', sizeof(email));
	memcpy(email + 320 - 12, "@example.org", 13);
	check(strlen(email) == 320, "len");
	check(auth_user_add(fx.c, "X", email, AUTH_ROLE_UPLOADER, NULL, NULL, &err) == BO_EBADREQUEST, "320 bytes");
	bo_error_cleanup(&err);
	int64_t long_id = 0;
	check(auth_user_add(fx.c, "X", email + 1, AUTH_ROLE_UPLOADER, NULL, &long_id, &err) == 0, "319 bytes: %s",
	      err.detail);
	check(auth_user_get(fx.c, email + 1, &u, &err) == 0 && !strcmp(u.email, email + 1), "long email round trip");

	const char *bad_names[] = {"", "   ", "a\nb", "tab\there", NULL};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		check(auth_user_add(fx.c, bad_names[i], "n@example.org", AUTH_ROLE_UPLOADER, NULL, NULL, &err) ==
			      BO_EBADREQUEST,
		      "name %zu accepted", i);
		bo_error_cleanup(&err);
	}
	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	check(auth_user_add(fx.c, name, "n@example.org", AUTH_ROLE_UPLOADER, NULL, NULL, &err) == BO_EBADREQUEST,
	      "256-byte name");
	bo_error_cleanup(&err);
	name[255] = '\0';
	check(auth_user_add(fx.c, name, "n@example.org", AUTH_ROLE_UPLOADER, "0000-0002-1825-0097", NULL, &err) == 0,
	      "255-byte name: %s", err.detail);
	check(auth_user_add(fx.c, "R", "r@example.org", AUTH_ROLE_NONE, NULL, NULL, &err) == BO_EBADREQUEST, "role none");
	bo_error_cleanup(&err);
	check(auth_user_add(fx.c, "R", "r@example.org", AUTH_ROLE_UPLOADER, "has space", NULL, &err) == BO_EBADREQUEST,
	      "orcid");
	bo_error_cleanup(&err);

	/* lookups by id and by email in any case */
	char idtext[32];
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	require(auth_user_get(fx.c, idtext, &u, &err) == 0, "by id: %s", err.detail);
	check(u.id == id && u.role == AUTH_ROLE_ADMIN && !strcmp(u.email, "ada@example.org"), "by id fields");
	require(auth_user_get(fx.c, "aDa@eXample.org", &u, &err) == 0, "by email: %s", err.detail);
	check(u.id == id, "by email");
	require(auth_user_get(fx.c, "n@example.org", &u, &err) == 0, "n");
	check(!strcmp(u.orcid, "0000-0002-1825-0097") && strlen(u.name) == 255, "orcid %s", u.orcid);
	check(auth_user_get(fx.c, "999", &u, &err) == BO_ENOTFOUND, "unknown id");
	bo_error_cleanup(&err);
	check(auth_user_get(fx.c, "who@example.org", &u, &err) == BO_ENOTFOUND, "unknown email");
	bo_error_cleanup(&err);
	check(sql_int(fx.c, "SELECT count(*) FROM users") == 3, "three users");
	fixture_close(&fx);
}

static void test_auth__user_list(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	cJSON *list = NULL;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t a = add_user(fx.c, "Ada", "ada@example.org", AUTH_ROLE_ADMIN);
	require(auth_user_add(fx.c, "Bo", "bo@example.org", AUTH_ROLE_UPLOADER, "0000-0001-0000-0000", NULL, &err) == 0,
		"add");
	require(auth_user_disable(fx.c, "bo@example.org", &err) == 0, "disable");
	require(auth_user_list(fx.c, &list, &err) == 0, "list: %s", err.detail);
	require(cJSON_GetArraySize(list) == 2, "two users");
	cJSON *u0 = cJSON_GetArrayItem(list, 0), *u1 = cJSON_GetArrayItem(list, 1);
	check(cJSON_GetNumberValue(cJSON_GetObjectItem(u0, "id")) == (double)a, "id");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(u0, "name")), "Ada"), "name");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(u0, "role")), "admin"), "role");
	check(cJSON_IsNull(cJSON_GetObjectItem(u0, "orcid")), "null orcid");
	check(cJSON_IsFalse(cJSON_GetObjectItem(u0, "disabled")), "enabled");
	check(cJSON_IsString(cJSON_GetObjectItem(u0, "created_at")), "created_at");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(u1, "email")), "bo@example.org"), "email");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(u1, "orcid")), "0000-0001-0000-0000"), "orcid");
	check(cJSON_IsTrue(cJSON_GetObjectItem(u1, "disabled")), "disabled");
	cJSON_Delete(list);
	fixture_close(&fx);
}

/* A worker token leases test jobs and nothing else; no other token (not even an admin's)
 * reaches the worker routes. */
static void test_auth__worker_scope(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	struct auth_user u;
	char t[64], hdr[80];
	require(fixture_open(&fx) == 0, "fixture");
	int64_t adm = add_user(fx.c, "Ann", "ann@example.org", AUTH_ROLE_ADMIN);
	check(auth_token_create(fx.c, adm, "", "worker:x", t, NULL, &err) == BO_EBADREQUEST, "worker:x is no scope");
	bo_error_cleanup(&err);
	require(auth_token_create(fx.c, adm, "gpu host", "worker", t, NULL, &err) == 0, "%s", err.detail);
	snprintf(hdr, sizeof(hdr), "Bearer %s", t);
	require(auth_authenticate(fx.c, hdr, &u, &err) == 0, "%s", err.detail);
	check(!strcmp(u.scope, "worker") && auth_scope_role(u.scope) == AUTH_ROLE_WORKER, "scope '%s'", u.scope);
	check(auth_require(&u, AUTH_ROLE_WORKER, &err) == 0, "worker route: %s", err.detail);
	for (int need = AUTH_ROLE_UPLOADER; need <= AUTH_ROLE_PARTNER; need++) {
		check(auth_require(&u, (enum auth_role)need, &err) == BO_EFORBIDDEN, "a worker token passed need %d", need);
		bo_error_cleanup(&err);
	}
	check(auth_require(&u, AUTH_ROLE_UPLOADER, &err) == BO_EFORBIDDEN && strstr(err.detail, "lease test jobs"),
	      "detail %s", err.detail);
	bo_error_cleanup(&err);
	require(auth_token_create(fx.c, adm, "", NULL, t, NULL, &err) == 0, "%s", err.detail);
	snprintf(hdr, sizeof(hdr), "Bearer %s", t);
	require(auth_authenticate(fx.c, hdr, &u, &err) == 0, "%s", err.detail);
	check(auth_require(&u, AUTH_ROLE_WORKER, &err) == BO_EFORBIDDEN, "an admin's token on a worker route");
	bo_error_cleanup(&err);
	check(auth_scope_role("partner:ilastik") == AUTH_ROLE_PARTNER && auth_scope_role("") == AUTH_ROLE_NONE, "roles");
	check(!strcmp(auth_role_name(AUTH_ROLE_WORKER), "worker"), "name");
	check(auth_role_parse("worker", &(enum auth_role){0}) == BO_EBADREQUEST, "worker is not a user's role");
	fixture_close(&fx);
}

static struct check_test tests[] = {
	TEST(test_auth__token_format),
	TEST(test_auth__hash_stored_not_token),
	TEST(test_auth__authenticate),
	TEST(test_auth__disabled_user),
	TEST(test_auth__last_used_throttled),
	TEST(test_auth__roles),
	TEST(test_auth__partner_scope),
	TEST(test_auth__worker_scope),
	TEST(test_auth__user_add),
	TEST(test_auth__user_list),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* signin: links expire, work once, are stored only as hashes, are rate-limited per address
 * and per client IP, mail the link in the same transaction, and give a session token that
 * authenticates (a new address becomes an uploader) and that sign-out revokes. */
#include "domain/auth.h"
#include "check.h"
#include "infra/db.h"
#include "common/error.h"
#include "domain/signin.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE "http://zoo.test/signin/"
#define NOW 1800000000

struct fixture {
	db *d;
	sqlite3 *c;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

/* The database from schema/backoffice.sql (test_db checks it equals the migrations). */
static int fixture_open(struct fixture *fx)
{
	struct bo_error err = BO_ERROR_INIT;
	memset(fx, 0, sizeof(*fx));
	int rc = db_open(&fx->d, "t.db", NULL, &err);
	if (!rc)
		rc = db_acquire(fx->d, &fx->c, &err);
	char *schema = rc ? NULL : slurp(check_src("schema/backoffice.sql"));
	if (schema)
		rc = db_exec(fx->c, schema, &err);
	else
		rc = rc ? rc : -1;
	free(schema);
	check(rc == 0, "fixture: %s", err.detail);
	bo_error_cleanup(&err);
	if (rc) {
		if (fx->c)
			db_release(fx->d, fx->c);
		db_close(fx->d);
	}
	return rc;
}

static void fixture_close(struct fixture *fx)
{
	if (fx->c)
		db_release(fx->d, fx->c);
	db_close(fx->d);
}

static long long scalar(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_signin__link_mailed_hashed_and_redeemed(void)
{
	struct fixture fx;
	if (fixture_open(&fx))
		return;
	struct bo_error err = BO_ERROR_INIT;
	struct signin_policy p = signin_policy_default();
	char tok[64] = "", session[64] = "";
	int rc = signin_request(fx.c, &p, "  New.Person@Example.ORG ", "10.0.0.1", BASE, NOW, tok, &err);
	require(rc == 0, "request: %s", err.detail);
	check(strlen(tok) == SIGNIN_TOKEN_LEN && !strncmp(tok, "sl_", 3), "token shape: %s", tok);

	/* only the hash is stored */
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(tok, strlen(tok), md, &mdlen, EVP_sha256(), NULL);
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	sqlite3_stmt *st = NULL;
	require(sqlite3_prepare_v2(fx.c, "SELECT token_sha256, email, expires_unix - created_unix FROM signin_links", -1,
				   &st, NULL) == SQLITE_OK,
		"prepare");
	require(sqlite3_step(st) == SQLITE_ROW, "no link row");
	check(!strcmp((const char *)sqlite3_column_text(st, 0), hex), "stored %s, want the SHA-256 %s",
	      sqlite3_column_text(st, 0), hex);
	check(!strcmp((const char *)sqlite3_column_text(st, 1), "new.person@example.org"), "email %s",
	      sqlite3_column_text(st, 1));
	check(sqlite3_column_int(st, 2) == 900, "expiry %d s, want 900", sqlite3_column_int(st, 2));
	sqlite3_finalize(st);
	check(scalar(fx.c, "SELECT count(*) FROM signin_links WHERE token_sha256 LIKE '%sl_%'") == 0, "token stored");

	/* the mail job carries the link */
	st = NULL;
	require(sqlite3_prepare_v2(fx.c, "SELECT subject, payload_json FROM jobs WHERE kind = 'mail'", -1, &st, NULL) ==
			SQLITE_OK,
		"prepare jobs");
	require(sqlite3_step(st) == SQLITE_ROW, "no mail job");
	check(!strcmp((const char *)sqlite3_column_text(st, 0), "new.person@example.org"), "mail to %s",
	      sqlite3_column_text(st, 0));
	cJSON *pl = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
	const char *mbody = cJSON_GetStringValue(cJSON_GetObjectItem(pl, "body"));
	char link[256];
	snprintf(link, sizeof(link), BASE "%s", tok);
	check(mbody && strstr(mbody, link), "mail body lacks the link: %s", mbody ? mbody : "(none)");
	cJSON_Delete(pl);
	sqlite3_finalize(st);

	/* no user yet; redeeming creates an uploader and a session token that authenticates */
	check(scalar(fx.c, "SELECT count(*) FROM users") == 0, "user created before the link was used");
	struct auth_user u;
	rc = signin_redeem(fx.c, &p, tok, NOW + 60, session, &u, &err);
	require(rc == 0, "redeem: %s", err.detail);
	check(u.role == AUTH_ROLE_UPLOADER && !strcmp(u.email, "new.person@example.org") && !strcmp(u.name, "new.person"),
	      "user %s %s %d", u.name, u.email, u.role);
	char hdr[128];
	snprintf(hdr, sizeof(hdr), "Bearer %s", session);
	struct auth_user who;
	rc = auth_authenticate(fx.c, hdr, &who, &err);
	check(rc == 0 && who.id == u.id, "session token does not authenticate: %s", err.detail);
	check(scalar(fx.c, "SELECT count(*) FROM tokens WHERE label = 'session'") == 1, "no session token row");

	/* the same user's CLI token, which sign-out must leave alone */
	char cli[64], clihdr[160];
	rc = auth_token_create(fx.c, u.id, "cli", NULL, cli, NULL, &err);
	require(rc == 0, "cli token: %s", err.detail);
	snprintf(clihdr, sizeof(clihdr), "Bearer %s", cli);
	/* sign-out revokes the session token, and only it */
	rc = signin_signout(fx.c, hdr, &err);
	check(rc == 0, "signout: %s", err.detail);
	struct bo_error e2 = BO_ERROR_INIT;
	rc = auth_authenticate(fx.c, hdr, &who, &e2);
	check(rc == BO_EUNAUTHORIZED, "revoked session still works (%d)", rc);
	bo_error_cleanup(&e2);
	rc = auth_authenticate(fx.c, clihdr, &who, &e2);
	check(rc == 0 && who.id == u.id, "sign-out revoked the user's CLI token too: %s", e2.detail);
	bo_error_cleanup(&e2);
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

static void test_signin__single_use_and_expiry(void)
{
	struct fixture fx;
	if (fixture_open(&fx))
		return;
	struct bo_error err = BO_ERROR_INIT;
	struct signin_policy p = signin_policy_default();
	char t1[64], t2[64], s[64];
	require(signin_request(fx.c, &p, "a@example.org", "10.0.0.1", BASE, NOW, t1, &err) == 0, "%s", err.detail);
	require(signin_request(fx.c, &p, "a@example.org", "10.0.0.1", BASE, NOW, t2, &err) == 0, "%s", err.detail);
	check(strcmp(t1, t2), "two links got the same token");

	require(signin_redeem(fx.c, &p, t1, NOW + 1, s, NULL, &err) == 0, "first use: %s", err.detail);
	int rc = signin_redeem(fx.c, &p, t1, NOW + 2, s, NULL, &err);
	check(rc == BO_EUNAUTHORIZED && strstr(err.detail, "already used"), "second use: %d %s", rc, err.detail);
	bo_error_cleanup(&err);

	/* expired exactly at the end of the TTL; an expired link is not consumed */
	rc = signin_redeem(fx.c, &p, t2, NOW + SIGNIN_LINK_TTL_SECONDS, s, NULL, &err);
	check(rc == BO_EUNAUTHORIZED && strstr(err.detail, "expired"), "expired: %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	check(scalar(fx.c, "SELECT count(*) FROM signin_links WHERE used_unix IS NULL") == 1, "expired link marked used");
	rc = signin_redeem(fx.c, &p, t2, NOW + SIGNIN_LINK_TTL_SECONDS - 1, s, NULL, &err);
	check(rc == 0, "just before expiry: %s", err.detail);
	bo_error_cleanup(&err);

	/* unknown and malformed tokens */
	char fake[64];
	memcpy(fake, t1, sizeof(fake));
	fake[10] = fake[10] == 'A' ? 'B' : 'A';
	rc = signin_redeem(fx.c, &p, fake, NOW + 3, s, NULL, &err);
	check(rc == BO_EUNAUTHORIZED && strstr(err.detail, "unknown"), "unknown: %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	rc = signin_redeem(fx.c, &p, "sl_../../etc", NOW + 3, s, NULL, &err);
	check(rc == BO_EUNAUTHORIZED && strstr(err.detail, "not a sign-in link"), "malformed: %d %s", rc, err.detail);
	bo_error_cleanup(&err);

	/* the same address signs in as the same user; one user, two sessions */
	check(scalar(fx.c, "SELECT count(*) FROM users") == 1, "users: %lld", scalar(fx.c, "SELECT count(*) FROM users"));
	check(scalar(fx.c, "SELECT count(*) FROM tokens WHERE label = 'session' AND revoked_at IS NULL") == 2, "sessions");
	fixture_close(&fx);
}

static void test_signin__rate_limits(void)
{
	struct fixture fx;
	if (fixture_open(&fx))
		return;
	struct bo_error err = BO_ERROR_INIT;
	struct signin_policy p = signin_policy_default();
	int rc;
	/* per address: 5 from different IPs pass, the 6th is refused with a Retry-After */
	for (int i = 0; i < SIGNIN_MAX_PER_EMAIL; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.1.0.%d", i);
		rc = signin_request(fx.c, &p, "busy@example.org", ip, BASE, NOW + i, NULL, &err);
		require(rc == 0, "request %d: %s", i, err.detail);
	}
	rc = signin_request(fx.c, &p, "BUSY@example.org", "10.9.9.9", BASE, NOW + 10, NULL, &err);
	check(rc == BO_ERATELIMITED && strstr(err.detail, "address"), "6th for the address: %d %s", rc, err.detail);
	check(err.retry_after == SIGNIN_WINDOW_SECONDS - 10, "retry_after %d", err.retry_after);
	bo_error_cleanup(&err);
	check(scalar(fx.c, "SELECT count(*) FROM jobs WHERE kind = 'mail'") == SIGNIN_MAX_PER_EMAIL,
	      "a refused request enqueued a mail");
	/* the window slides: an hour after the first, one more passes */
	rc = signin_request(fx.c, &p, "busy@example.org", "10.9.9.9", BASE, NOW + SIGNIN_WINDOW_SECONDS, NULL, &err);
	check(rc == 0, "after the window: %s", err.detail);
	bo_error_cleanup(&err);

	/* per IP: 5 addresses pass from one client, the 6th is refused */
	for (int i = 0; i < SIGNIN_MAX_PER_IP; i++) {
		char em[64];
		snprintf(em, sizeof(em), "u%d@example.org", i);
		rc = signin_request(fx.c, &p, em, "192.0.2.7", BASE, NOW, NULL, &err);
		require(rc == 0, "ip request %d: %s", i, err.detail);
	}
	rc = signin_request(fx.c, &p, "other@example.org", "192.0.2.7", BASE, NOW + 5, NULL, &err);
	check(rc == BO_ERATELIMITED && strstr(err.detail, "client"), "6th from the IP: %d %s", rc, err.detail);
	check(err.retry_after == SIGNIN_WINDOW_SECONDS - 5, "retry_after %d", err.retry_after);
	bo_error_cleanup(&err);
	rc = signin_request(fx.c, &p, "other@example.org", "192.0.2.8", BASE, NOW + 5, NULL, &err);
	check(rc == 0, "another IP is not limited: %s", err.detail);
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

static void test_signin__bad_input(void)
{
	struct fixture fx;
	if (fixture_open(&fx))
		return;
	struct bo_error err = BO_ERROR_INIT;
	struct signin_policy p = signin_policy_default();
	const char *bad[] = {"", "   ", "no-at", "@host", "a@", "a@b@c", "a b@c", "a@b\r\nBcc: x@y", "<a@b>", NULL};
	for (int i = 0; i < 10; i++) {
		int rc = signin_request(fx.c, &p, bad[i], "10.0.0.1", BASE, NOW, NULL, &err);
		check(rc == BO_EBADREQUEST, "%s accepted (%d)", bad[i] ? bad[i] : "NULL", rc);
		bo_error_cleanup(&err);
	}
	char longmail[400];
	memset(longmail, 'a', sizeof(longmail));
	memcpy(longmail + 300, "@example.org", 13);
	check(signin_request(fx.c, &p, longmail, "10.0.0.1", BASE, NOW, NULL, &err) == BO_EBADREQUEST, "long email");
	bo_error_cleanup(&err);
	check(scalar(fx.c, "SELECT count(*) FROM signin_links") == 0, "a refused request stored a link");
	/* a disabled user cannot sign in */
	char tok[64], s[64];
	require(auth_user_add(fx.c, "Gone", "gone@example.org", AUTH_ROLE_REVIEWER, NULL, NULL, &err) == 0, "%s",
		err.detail);
	require(auth_user_disable(fx.c, "gone@example.org", &err) == 0, "%s", err.detail);
	require(signin_request(fx.c, &p, "gone@example.org", "", BASE, NOW, tok, &err) == 0, "%s", err.detail);
	int rc = signin_redeem(fx.c, &p, tok, NOW + 1, s, NULL, &err);
	check(rc == BO_EUNAUTHORIZED && strstr(err.detail, "disabled"), "disabled: %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	check(scalar(fx.c, "SELECT count(*) FROM tokens") == 0, "a token was made for a disabled user");
	/* an existing reviewer keeps the role */
	require(auth_user_add(fx.c, "Rev", "rev@example.org", AUTH_ROLE_REVIEWER, NULL, NULL, &err) == 0, "%s", err.detail);
	require(signin_request(fx.c, &p, "Rev@Example.org", "", BASE, NOW, tok, &err) == 0, "%s", err.detail);
	struct auth_user u;
	require(signin_redeem(fx.c, &p, tok, NOW + 1, s, &u, &err) == 0, "%s", err.detail);
	check(u.role == AUTH_ROLE_REVIEWER && !strcmp(u.name, "Rev"), "reviewer became %s %d", u.name, u.role);
	/* sign-out needs a bearer token */
	check(signin_signout(fx.c, NULL, &err) == BO_EUNAUTHORIZED, "signout without a header");
	bo_error_cleanup(&err);
	check(signin_signout(fx.c, "Basic abc", &err) == BO_EUNAUTHORIZED, "signout with Basic");
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

static struct check_test tests[] = {
	TEST(test_signin__link_mailed_hashed_and_redeemed),
	TEST(test_signin__single_use_and_expiry),
	TEST(test_signin__rate_limits),
	TEST(test_signin__bad_input),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

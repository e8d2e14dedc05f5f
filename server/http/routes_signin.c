/* routes_signin: sign-in by email (a one-time link by mail, exchanged for a session token),
 * sign-out, and who the caller is. The exchange is POST only: a GET must not consume a link,
 * since mail scanners and link previews fetch the links in mails. The exchange and sign-out
 * take an empty (or any JSON) body, which they ignore. */
#include "http/routes.h"

#include "app.h"
#include "common/arena.h"
#include "common/error.h"
#include "domain/signin.h"
#include "infra/config.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <string.h>

static cJSON *user_json(const struct auth_user *u)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)u->id);
	cJSON_AddStringToObject(o, "name", u->name);
	cJSON_AddStringToObject(o, "email", u->email);
	cJSON_AddStringToObject(o, "role", auth_role_name(u->role));
	return o;
}

static int post_signin(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r);
	if (!body)
		return err->code;
	const cJSON *email = cJSON_GetObjectItemCaseSensitive(body, "email");
	if (!cJSON_IsString(email)) {
		bo_error_add(err, cJSON_CreateStringArray((const char *[]){"email"}, 1), "a string is required",
			     "missing", 0, 0);
		return bo_error_set(err, BO_EBADREQUEST, "email is required: {\"email\": \"you@example.org\"}");
	}
	const char *base = routes_url(r, "/signin/");
	if (!base)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	struct signin_policy p = signin_policy_default();
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = signin_request(c, &p, email->valuestring, http_client_ip(r), base, db_now_unix(), NULL, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "status", "sent");
		cJSON_AddNumberToObject(o, "expires_in", p.link_ttl_seconds);
	}
	return http_reply_json(r, 202, o);
}

static int post_signin_token(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	struct signin_policy p = signin_policy_default();
	char session[64];
	struct auth_user u;
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = signin_redeem(c, &p, http_param(r, "token"), db_now_unix(), session, &u, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "token", session);
		cJSON_AddStringToObject(o, "label", SIGNIN_SESSION_LABEL);
		cJSON_AddItemToObject(o, "user", user_json(&u));
	}
	memset(session, 0, sizeof(session));
	http_add_header(r, "Cache-Control", "no-store");
	return http_reply_json(r, 200, o);
}

static int post_signout(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = signin_signout(c, http_header(r, "Authorization"), err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddBoolToObject(o, "signed_out", 1);
	return http_reply_json(r, 200, o);
}

static int get_me(http_req *r)
{
	const struct auth_user *u = http_user(r);
	if (!u)
		return bo_error_set(http_err(r), BO_EUNAUTHORIZED, "missing bearer token");
	return http_reply_json(r, 200, user_json(u));
}

static const struct route table[] = {
	{"POST", "/api/v1/signin", HTTP_BODY_JSON, AUTH_ROLE_NONE, post_signin,
	 "mail a one-time sign-in link {email}; rate-limited per address and client"},
	{"POST", "/api/v1/signin/{token}", HTTP_BODY_JSON, AUTH_ROLE_NONE, post_signin_token,
	 "exchange a sign-in link's token for a session token (once, within 15 minutes)"},
	{"POST", "/api/v1/signout", HTTP_BODY_JSON, AUTH_ROLE_UPLOADER, post_signout, "revoke the token of this request"},
	{"GET", "/api/v1/me", HTTP_BODY_NONE, AUTH_ROLE_UPLOADER, get_me, "the signed-in user {id, name, email, role}"},
};

const struct route_table routes_signin = {table, sizeof(table) / sizeof(table[0])};

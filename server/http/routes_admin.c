/* routes_admin: users and tokens (admin), and job status (an uploader sees the jobs of
 * concepts they maintain, a reviewer sees all). */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "domain/auth.h"
#include "domain/maintainers.h"
#include "infra/db.h"
#include "infra/jobs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_string(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int post_user(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r);
	if (!body)
		return err->code;
	const char *name = json_string(body, "name"), *email = json_string(body, "email");
	const char *role_s = json_string(body, "role"), *orcid = json_string(body, "orcid");
	enum auth_role role = AUTH_ROLE_UPLOADER;
	if (!name || !email)
		return bo_error_set(err, BO_EBADREQUEST, "fields 'name' and 'email' (strings) are required");
	if (role_s && auth_role_parse(role_s, &role))
		return bo_error_set(err, BO_EBADREQUEST, "role must be uploader, reviewer or admin, got '%.40s'", role_s);
	sqlite3 *c = NULL;
	int64_t id = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = auth_user_add(c, name, email, role, orcid, &id, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddNumberToObject(o, "id", (double)id);
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "email", email);
		cJSON_AddStringToObject(o, "role", auth_role_name(role));
	}
	return http_reply_json(r, 201, o);
}

static int post_token(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r);
	if (!body)
		return err->code;
	const char *user = json_string(body, "user"), *label = json_string(body, "label");
	if (!user)
		return bo_error_set(err, BO_EBADREQUEST, "field 'user' (an email or user id, string) is required");
	sqlite3 *c = NULL;
	struct auth_user u;
	char token[80];
	int64_t token_id = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = auth_user_get(c, user, &u, err);
	if (!rc)
		rc = auth_token_create(c, u.id, label ? label : "", NULL, token, &token_id, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddNumberToObject(o, "id", (double)token_id);
		cJSON_AddStringToObject(o, "token", token);
		cJSON_AddNumberToObject(o, "user_id", (double)u.id);
		cJSON_AddStringToObject(o, "note", "shown once; keep it secret");
	}
	return http_reply_json(r, 201, o);
}

static int get_job(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *n = http_param(r, "n");
	char *end = NULL;
	long long id = strtoll(n, &end, 10);
	if (*end || id <= 0)
		return bo_error_set(err, BO_EBADREQUEST, "job id must be a positive integer");
	sqlite3 *c = NULL;
	cJSON *job = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = jobs_get(c, id, &job, err);
	if (!rc && http_user(r)->role < AUTH_ROLE_REVIEWER) {
		const char *subject = cJSON_GetObjectItemCaseSensitive(job, "subject")->valuestring;
		int mine = maintainers_includes(c, http_user(r), subject, err);
		if (mine < 0)
			rc = mine;
		else if (!mine) /* do not reveal other people's jobs exist */
			rc = bo_error_set(err, BO_ENOTFOUND, "no job %lld", id);
	}
	db_release(a->db, c);
	if (rc) {
		cJSON_Delete(job);
		return rc;
	}
	return http_reply_json(r, 200, job);
}

static const struct route table[] = {
	{"POST", "/api/v1/users", HTTP_BODY_JSON, AUTH_ROLE_ADMIN, post_user, "create a user {name, email, role, orcid}"},
	{"POST", "/api/v1/tokens", HTTP_BODY_JSON, AUTH_ROLE_ADMIN, post_token, "create a token {user, label}; shown once"},
	{"GET", "/api/v1/jobs/{n}", HTTP_BODY_NONE, AUTH_ROLE_UPLOADER, get_job, "a job's state"},
};

const struct route_table routes_admin = {table, sizeof(table) / sizeof(table[0])};

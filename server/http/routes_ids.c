/* routes_ids: checking an id before uploading with it, and suggesting a free one. */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "domain/ids.h"
#include "domain/maintainers.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <string.h>

static int get_id(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *id = http_param(r, "id");
	struct ids_info info = {0};
	struct bo_error perr = BO_ERROR_INIT;
	int valid = ids_parse(a->ids, id, &info, &perr) == 0;
	sqlite3 *c = NULL;
	/* a signed-in caller learns whether the upload would be a revision they may make; a
	 * token that does not authenticate only loses that answer (the route is public) */
	int signed_in = http_header(r, "Authorization") && http_authenticate(r) == 0;
	if (!signed_in)
		bo_error_cleanup(err);
	int rc = db_acquire(a->db, &c, err);
	if (rc) {
		bo_error_cleanup(&perr);
		return rc;
	}
	int taken = ids_is_taken(c, id, err), mine = 0;
	if (taken == 1 && signed_in)
		mine = maintainers_includes(c, http_user(r), id, err);
	db_release(a->db, c);
	if (taken < 0 || mine < 0) {
		bo_error_cleanup(&perr);
		return taken < 0 ? taken : mine;
	}
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddBoolToObject(o, "valid", valid);
		if (valid) {
			cJSON_AddStringToObject(o, "type", info.vocab_type);
			cJSON_AddStringToObject(o, "emoji", info.emoji ? info.emoji : "");
		} else {
			cJSON_AddNullToObject(o, "type");
			cJSON_AddNullToObject(o, "emoji");
			cJSON_AddStringToObject(o, "reason", perr.detail);
		}
		cJSON_AddBoolToObject(o, "taken", taken);
		if (taken && signed_in)
			cJSON_AddBoolToObject(o, "you_maintain", mine);
	}
	bo_error_cleanup(&perr);
	return http_reply_json(r, 200, o);
}

static int get_suggest(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *type = http_query(r, "type");
	if (!type)
		type = "model";
	const char *vocab = ids_vocab_type(type);
	if (!vocab)
		return bo_error_set(err, BO_EBADREQUEST,
				    "type must be model, dataset, notebook, application or generic, got '%.40s'", type);
	char id[128];
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = ids_suggest(a->ids, c, vocab, id, sizeof(id), err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "type", vocab);
		cJSON_AddStringToObject(o, "emoji", ids_emoji(a->ids, id));
	}
	return http_reply_json(r, 200, o);
}

static const struct route table[] = {
	{"GET", "/api/v1/ids/suggest", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_suggest, "a free id for ?type="},
	{"GET", "/api/v1/ids/{id}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_id, "{valid, type, emoji, taken, you_maintain (signed in, taken)}"},
};

const struct route_table routes_ids = {table, sizeof(table) / sizeof(table[0])};

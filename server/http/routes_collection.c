/* routes_collection: the public index files (collection.json & co.) served from the
 * in-memory copy kept by the collection module, with a strong ETag (the SHA-256 of the
 * bytes) and If-None-Match → 304, and the collection history (list, and any past
 * collection.json by commit). */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "infra/config.h"
#include "infra/history.h"
#include "pipeline/collection.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_CONTROL "public, max-age=60"
#define HISTORY_DEFAULT_LIMIT 50

/* Whether an If-None-Match header value names etag ("*", a list, weak forms too: the
 * weak comparison is what RFC 9110 prescribes for If-None-Match). */
static int etag_matches(const char *header, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

static int get_index(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	collection_blob *b = NULL;
	const char *name = http_path(r) + 1;
	int rc = collection_get(a, name, &b, err);
	if (rc)
		return rc;
	size_t len = 0;
	const char *data = collection_blob_data(b, &len);
	const char *etag = collection_blob_etag(b);
	const char *inm = http_header(r, "If-None-Match");
	rc = http_add_header(r, "ETag", etag);
	if (!rc)
		rc = http_add_header(r, "Cache-Control", CACHE_CONTROL);
	if (!rc && inm && etag_matches(inm, etag))
		rc = http_reply_data(r, 304, NULL, "", 0);
	else if (!rc)
		rc = http_reply_data(r, 200, "application/json", data, len);
	collection_blob_release(b);
	return rc;
}

static int get_history(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const char *q = http_query(r, "limit");
	long limit = HISTORY_DEFAULT_LIMIT;
	if (q) {
		char *end = NULL;
		errno = 0;
		limit = strtol(q, &end, 10);
		if (errno || end == q || *end || limit < 1 || limit > HISTORY_LIST_MAX)
			return bo_error_set(err, BO_EBADREQUEST, "limit must be an integer from 1 to %d", HISTORY_LIST_MAX);
	}
	cJSON *out = NULL;
	int rc = history_list(a->cfg->history_dir, (int)limit, &out, err);
	if (rc)
		return rc;
	return http_reply_json(r, 200, out);
}

static int get_history_commit(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	char *text = NULL;
	size_t len = 0;
	int rc = history_read(a->cfg->history_dir, http_param(r, "commit"), &text, &len, err);
	if (rc)
		return rc;
	/* a past collection never changes: cache it for long */
	rc = http_add_header(r, "Cache-Control", "public, max-age=31536000, immutable");
	if (!rc)
		rc = http_reply_data(r, 200, "application/json", text, len);
	free(text);
	return rc;
}

static const struct route table[] = {
	{"GET", "/collection.json", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_index, "the published collection (ETag)"},
	{"GET", "/collection_draft.json", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_index, "drafts with their status (ETag)"},
	{"GET", "/all_versions.json", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_index, "every published version (ETag)"},
	{"GET", "/all_versions_draft.json", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_index, "every draft (ETag)"},
	{"GET", "/id_map.json", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_index, "alias -> {source, sha256} (ETag)"},
	{"GET", "/id_map_draft.json", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_index, "draft id -> {source, sha256} (ETag)"},
	{"GET", "/api/v1/collection/history", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_history,
	 "commits of collection.json, newest first (?limit=)"},
	{"GET", "/api/v1/collection/history/{commit}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_history_commit,
	 "collection.json as of a commit"},
};

const struct route_table routes_collection = {table, sizeof(table) / sizeof(table[0])};

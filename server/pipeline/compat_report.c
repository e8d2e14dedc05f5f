/* compat_report: partner compatibility reports in (checked), rows and jobs out. */
#include "pipeline/compat_report.h"

#include "app.h"
#include "common/error.h"
#include "common/log.h"
#include "common/utf8.h"
#include "domain/auth.h"
#include "domain/compat.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/storage.h"
#include "pipeline/collection.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_PART_MAX 40

static int part_ok(const char *s, size_t n)
{
	if (n == 0 || n > TOOL_PART_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '+')
			return 0;
	return 1;
}

/* "<name>_<version>": the name's length, or 0 when tool is not of that form. */
static size_t tool_name_len(const char *tool)
{
	const char *us = tool ? strchr(tool, '_') : NULL;
	if (!us || strchr(us + 1, '_'))
		return 0;
	size_t n = (size_t)(us - tool);
	return part_ok(tool, n) && part_ok(us + 1, strlen(us + 1)) ? n : 0;
}

static int is_http_url(const char *s)
{
	if (strncmp(s, "https://", 8) && strncmp(s, "http://", 7))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
			return 0;
	return strlen(s) <= COMPAT_URL_MAX && strlen(s) > 8;
}

static int bad(struct bo_error *err, const char *field, const char *why)
{
	return bo_error_set(err, BO_EBADREQUEST, "compatibility report: '%s' %s", field, why);
}

/* The reference's shape: status, error and details required (error may be null, details
 * anything), badge and links optional; other keys are kept, as the reference allows. */
static int check_body(const cJSON *b, const char **status, struct bo_error *err)
{
	if (!cJSON_IsObject(b))
		return bo_error_set(err, BO_EBADREQUEST, "compatibility report: the body must be a JSON object");
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "status"));
	if (!st || (strcmp(st, "passed") && strcmp(st, "failed") && strcmp(st, "not-applicable")))
		return bad(err, "status", "must be \"passed\", \"failed\" or \"not-applicable\"");
	*status = st;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(b, "error");
	if (!e)
		return bad(err, "error", "is required (null when there is none)");
	if (!cJSON_IsNull(e) && (!cJSON_IsString(e) || strlen(e->valuestring) > COMPAT_ERROR_MAX))
		return bad(err, "error", "must be null or a string of at most 10000 bytes");
	if (!cJSON_GetObjectItemCaseSensitive(b, "details"))
		return bad(err, "details", "is required (any JSON value explaining the status)");
	const cJSON *badge = cJSON_GetObjectItemCaseSensitive(b, "badge");
	if (badge && !cJSON_IsNull(badge)) {
		if (!cJSON_IsObject(badge))
			return bad(err, "badge", "must be null or {icon, label, url}");
		static const char *const urls[] = {"icon", "url"};
		for (int i = 0; i < 2; i++) {
			const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(badge, urls[i]));
			if (!u || !is_http_url(u))
				return bad(err, urls[i][0] == 'i' ? "badge.icon" : "badge.url",
					   "must be an http(s) URL of at most 2000 bytes");
		}
		const char *label = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(badge, "label"));
		if (!label || !*label || strlen(label) > COMPAT_LABEL_MAX)
			return bad(err, "badge.label", "must be a string of 1..200 bytes");
	}
	const cJSON *links = cJSON_GetObjectItemCaseSensitive(b, "links");
	if (links) {
		if (!cJSON_IsArray(links) || cJSON_GetArraySize(links) > COMPAT_LINKS_MAX)
			return bad(err, "links", "must be a list of at most 100 resource ids");
		const cJSON *l;
		cJSON_ArrayForEach(l, links)
		{
			const char *s = cJSON_GetStringValue(l);
			size_t n = s ? strlen(s) : 0;
			int ok = n > 0 && n <= COMPAT_LINK_MAX;
			for (size_t i = 0; ok && i < n; i++)
				ok = isalnum((unsigned char)s[i]) || strchr("._/-", s[i]);
			if (!ok)
				return bad(err, "links", "must hold resource ids (1..200 of A-Z a-z 0-9 . _ / -)");
		}
	}
	return 0;
}

/* BO_ENOTFOUND unless version (NULL: the draft) of id exists (published or yanked). */
static int target_exists(sqlite3 *c, const char *id, const char *version, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    version ? "SELECT 1 FROM versions WHERE concept_id = ?1 AND version = ?2 "
				      "AND state IN ('published', 'yanked')"
				    : "SELECT 1 FROM drafts WHERE concept_id = ?1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	if (version)
		db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step == SQLITE_ROW)
		return 0;
	if (step != SQLITE_DONE)
		return db_fail(c, "look up the version of a compatibility report", err);
	return version ? bo_error_set(err, BO_ENOTFOUND, "no published version '%s' of '%s'", version, id)
		       : bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", id);
}

int compat_report_put(struct app *a, const struct auth_user *u, const char *id, const char *version,
		      const char *tool, const cJSON *body, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	char *json = NULL, *payload = NULL;
	const char *status = NULL, *v = version ? version : "draft";
	int replaced = 0, began = 0;
	size_t name_len = tool_name_len(tool);
	if (!name_len)
		return bo_error_set(err, BO_EBADREQUEST,
				    "tool must be <name>_<tool version>, e.g. ilastik_1.4.1 (each 1..40 of A-Z a-z 0-9 . + -)");
	if (!strncmp(u->scope, "partner:", 8) &&
	    (strlen(u->scope + 8) != name_len || strncmp(u->scope + 8, tool, name_len)))
		return bo_error_set(err, BO_EFORBIDDEN, "this token sends the reports of %s only, not of %.*s",
				    u->scope + 8, (int)name_len, tool);
	int rc = check_body(body, &status, err);
	if (rc)
		return rc;
	json = cJSON_PrintUnformatted(body);
	cJSON *p = cJSON_CreateObject();
	if (p) {
		cJSON_AddStringToObject(p, "version", v);
		cJSON_AddStringToObject(p, "tool", tool);
		payload = cJSON_PrintUnformatted(p);
		cJSON_Delete(p);
	}
	if (!json || !payload) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	rc = db_acquire(a->db, &c, err);
	if (!rc)
		rc = db_begin(c, err);
	if (rc)
		goto fail;
	began = 1;
	rc = target_exists(c, id, version, err);
	if (!rc)
		rc = compat_put(c, id, v, tool, status, json, u->id, &replaced, err);
	if (!rc)
		rc = jobs_enqueue(c, "compat-json", id, payload, 0, NULL, err);
	if (!rc) {
		char reason[200];
		snprintf(reason, sizeof(reason), "compatibility: %s %s for %s/%s", tool, status, id, v);
		rc = collection_enqueue_rebuild(c, reason, err);
	}
	if (!rc)
		rc = db_commit(c, err);
	if (rc)
		goto fail;
	began = 0;
	jobs_notify(a->jobs);
	log_info("compatibility: %s reported %s for %s/%s (user %lld)", tool, status, id, v, (long long)u->id);
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	char url[1024];
	snprintf(url, sizeof(url), "%s/%s/%s/compatibility/%s.json", a->cfg->files_url, id, v, tool);
	cJSON_AddStringToObject(o, "tool", tool);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddBoolToObject(o, "replaced", replaced);
	cJSON_AddStringToObject(o, "report_url", url);
	*out = o;
fail:
	if (began)
		db_rollback(c);
	if (c)
		db_release(a->db, c);
	free(json);
	free(payload);
	return rc;
}

int compat_report_list(struct app *a, const char *id, const char *version, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	cJSON *arr = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = target_exists(c, id, version, err);
	if (!rc)
		rc = compat_list(c, NULL, id, version ? version : "draft", &arr, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToObject(o, "reports", arr)) {
		cJSON_Delete(o);
		cJSON_Delete(arr);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	*out = o;
	return 0;
}

int compat_report_json_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	sqlite3 *c = NULL;
	char *json = NULL;
	cJSON *p = cJSON_Parse(job->payload_json ? job->payload_json : "{}");
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "version"));
	const char *tool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "tool"));
	int rc = 0;
	if (!v || !tool || !tool_name_len(tool) || strchr(v, '/')) {
		jobs_give_up(job);
		rc = bo_error_set(err, BO_EINTERNAL, "compat-json: bad payload %.200s", job->payload_json);
		goto out;
	}
	rc = db_acquire(a->db, &c, err);
	if (!rc)
		rc = compat_get(c, job->subject, v, tool, &json, err);
	if (c)
		db_release(a->db, c);
	if (rc || !json)
		goto out; /* replaced by nothing: a report is never deleted, so this is a race only */
	char key[STORAGE_KEY_MAX];
	int n = snprintf(key, sizeof(key), "%s/%s/compatibility/%s.json", job->subject, v, tool);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		jobs_give_up(job);
		rc = bo_error_set(err, BO_EINTERNAL, "compat-json: key too long for %s", job->subject);
		goto out;
	}
	rc = storage_put_buffer(a->storage, key, json, strlen(json), "application/json", err);
out:
	free(json);
	cJSON_Delete(p);
	return rc;
}

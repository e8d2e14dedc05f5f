/* summary: see summary.h. */
#include "check/summary.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

int summary_severity(const char *name)
{
	if (name && !strcmp(name, "info"))
		return 20;
	if (name && !strcmp(name, "alert"))
		return 35;
	return 30;
}

static int set_string(cJSON *o, const char *key, const char *value)
{
	cJSON *v = cJSON_CreateString(value);
	if (!v)
		return -1;
	if (cJSON_HasObjectItem(o, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(o, key, v) ? 0 : -1;
	return cJSON_AddItemToObject(o, key, v) ? 0 : -1;
}

/* {"runtime": "onnxruntime", "runtime_version": "1.30.0", "backoffice": "0.4.0", …} ->
 * [["onnxruntime", "1.30.0", "", ""], ["backoffice", "0.4.0", "", ""]]; other keys of
 * the object (not packages) move to the summary's top level. */
static int env_to_list(cJSON *s)
{
	cJSON *env = cJSON_GetObjectItemCaseSensitive(s, "env");
	if (!cJSON_IsObject(env))
		return 0;
	cJSON *list = cJSON_CreateArray();
	if (!list)
		return -1;
	const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, "runtime"));
	const char *rtv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, "runtime_version"));
	const char *pairs[][2] = {{rt, rtv ? rtv : ""}, {"backoffice",
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, "backoffice"))}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (!pairs[i][0] || !pairs[i][1])
			continue;
		const char *row[4] = {pairs[i][0], pairs[i][1], "", ""};
		cJSON *r = cJSON_CreateStringArray(row, 4);
		if (!r || !cJSON_AddItemToArray(list, r)) {
			cJSON_Delete(r);
			cJSON_Delete(list);
			return -1;
		}
	}
	cJSON *rest = cJSON_DetachItemFromObjectCaseSensitive(s, "env");
	cJSON *e = rest ? rest->child : NULL;
	while (e) {
		cJSON *next = e->next;
		if (strcmp(e->string, "runtime") && strcmp(e->string, "runtime_version") && strcmp(e->string, "backoffice") &&
		    !cJSON_HasObjectItem(s, e->string))
			cJSON_AddItemToObject(s, e->string, cJSON_Duplicate(e, 1));
		e = next;
	}
	cJSON_Delete(rest);
	return cJSON_AddItemToObject(s, "env", list) ? 0 : -1;
}

static int warnings_numeric(cJSON *warnings)
{
	cJSON *w;
	cJSON_ArrayForEach(w, warnings)
	{
		cJSON *sev = cJSON_GetObjectItemCaseSensitive(w, "severity");
		if (sev && cJSON_IsNumber(sev))
			continue;
		cJSON *n = cJSON_CreateNumber(summary_severity(cJSON_GetStringValue(sev)));
		if (!n)
			return -1;
		if (sev)
			cJSON_ReplaceItemInObjectCaseSensitive(w, "severity", n);
		else
			cJSON_AddItemToObject(w, "severity", n);
	}
	return 0;
}

static int detail_to_spec(cJSON *d)
{
	cJSON *ctx = cJSON_DetachItemFromObjectCaseSensitive(d, "context");
	if (ctx && !cJSON_AddItemToObject(d, "comparison", ctx)) {
		cJSON_Delete(ctx);
		return -1;
	}
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
	cJSON *warnings = cJSON_GetObjectItemCaseSensitive(d, "warnings");
	if (!warnings && !(warnings = cJSON_AddArrayToObject(d, "warnings")))
		return -1;
	if (st && !strcmp(st, "skipped")) {
		/* the spec has no skipped step: it passes, flagged skipped: true (our key), and
		 * the reasons become warnings so that a skip still shows to any reader */
		const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "reason"));
		if (reason) {
			cJSON *w = cJSON_CreateObject();
			char msg[600];
			snprintf(msg, sizeof(msg), "skipped: %s", reason);
			if (!w || !cJSON_AddItemToObject(w, "loc", cJSON_CreateArray()) || set_string(w, "msg", msg) ||
			    set_string(w, "type", "skipped") || !cJSON_AddItemToObject(w, "severity", cJSON_CreateNumber(20)) ||
			    !cJSON_AddItemToArray(warnings, w)) {
				cJSON_Delete(w);
				return -1;
			}
		}
		if (!cJSON_AddBoolToObject(d, "skipped", 1))
			return -1;
		cJSON *errors = cJSON_DetachItemFromObjectCaseSensitive(d, "errors");
		cJSON *e = errors ? errors->child : NULL;
		while (e) {
			cJSON *next = e->next;
			cJSON *w = cJSON_DetachItemViaPointer(errors, e);
			if (set_string(w, "type", "skipped") ||
			    !cJSON_AddItemToObject(w, "severity", cJSON_CreateNumber(35)) ||
			    !cJSON_AddItemToArray(warnings, w)) {
				cJSON_Delete(errors);
				return -1;
			}
			e = next;
		}
		cJSON_Delete(errors);
		if (!cJSON_AddArrayToObject(d, "errors") || set_string(d, "status", "passed"))
			return -1;
	} else if (st && strcmp(st, "passed") && strcmp(st, "failed")) {
		if (set_string(d, "status", "failed"))
			return -1;
	}
	return warnings_numeric(warnings);
}

int summary_to_spec(cJSON *s, const struct summary_source *src)
{
	if (!cJSON_IsObject(s))
		return 0;
	if (src) {
		const char *kv[][2] = {{"source_name", src->source_name}, {"id", src->id}, {"type", src->type},
				       {"format_version", src->format_version}};
		for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
			if (kv[i][1] && set_string(s, kv[i][0], kv[i][1]))
				return -1;
	}
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "status"));
	const char *to = NULL;
	if (st && !strcmp(st, "skipped"))
		to = "valid-format";
	else if (st && strcmp(st, "passed") && strcmp(st, "failed") && strcmp(st, "valid-format"))
		to = "failed";
	if (to && set_string(s, "status", to))
		return -1;
	cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(s, "details"))
	{
		if (detail_to_spec(d))
			return -1;
	}
	return env_to_list(s);
}

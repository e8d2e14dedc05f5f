/* error: the one conversion point from internal error codes to problem+json.
 * Invariant: status, slug and title of a code come only from BO_ERROR_KINDS. */
#include "common/error.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

struct kind {
	int code;
	int status;
	const char *slug;
	const char *title;
	const char *name;
};

static const struct kind kinds[] = {
#define BO_X_ROW(n, st, sl, ti) {BO_E##n, st, sl, ti, "BO_E" #n},
	BO_ERROR_KINDS(BO_X_ROW)
#undef BO_X_ROW
};

static const struct kind *find(int code)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].code == code)
			return &kinds[i];
	return &kinds[sizeof(kinds) / sizeof(kinds[0]) - 1]; /* INTERNAL is last */
}

int bo_error_status(int code) { return code == 0 ? 200 : find(code)->status; }
const char *bo_error_slug(int code) { return find(code)->slug; }
const char *bo_error_title(int code) { return find(code)->title; }
const char *bo_error_name(int code) { return code == 0 ? "BO_OK" : find(code)->name; }

int bo_error_setv(struct bo_error *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	if (err->code)
		return err->code;
	err->code = code;
	if (fmt)
		vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	else
		err->detail[0] = '\0';
	return code;
}

int bo_error_set(struct bo_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = bo_error_setv(err, code, fmt, ap);
	va_end(ap);
	return rc;
}

int bo_error_add(struct bo_error *err, cJSON *loc, const char *msg, const char *type, int line,
		 int column)
{
	cJSON *item = NULL;
	if (!err->errors) {
		err->errors = cJSON_CreateArray();
		if (!err->errors)
			goto fail;
	}
	item = cJSON_CreateObject();
	if (!item)
		goto fail;
	if (!loc)
		loc = cJSON_CreateArray();
	if (!loc)
		goto fail;
	cJSON_AddItemToObject(item, "loc", loc);
	loc = NULL;
	if (!cJSON_AddStringToObject(item, "msg", msg ? msg : "") ||
	    !cJSON_AddStringToObject(item, "type", type ? type : "error"))
		goto fail;
	if (line > 0) {
		if (!cJSON_AddNumberToObject(item, "line", line) ||
		    !cJSON_AddNumberToObject(item, "column", column))
			goto fail;
	}
	cJSON_AddItemToArray(err->errors, item);
	return 0;
fail:
	cJSON_Delete(loc);
	cJSON_Delete(item);
	return BO_ENOMEM;
}

int bo_error_move(struct bo_error *dst, struct bo_error *src, int code)
{
	int rc = src->code ? src->code : code;
	if (dst && !dst->code) {
		*dst = *src;
		dst->code = rc;
		memset(src, 0, sizeof(*src));
	} else {
		bo_error_cleanup(src);
	}
	return dst ? dst->code : rc;
}

void bo_error_cleanup(struct bo_error *err)
{
	if (!err)
		return;
	cJSON_Delete(err->errors);
	cJSON_Delete(err->extra);
	memset(err, 0, sizeof(*err));
}

char *bo_error_render(const struct bo_error *err, const char *instance, const char *request_id)
{
	const struct kind *k = find(err->code ? err->code : BO_EINTERNAL);
	char type[128];
	char *out = NULL;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	snprintf(type, sizeof(type), "/problems/%s", k->slug);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "title", k->title);
	cJSON_AddNumberToObject(o, "status", k->status);
	cJSON_AddStringToObject(o, "detail", err->detail[0] ? err->detail : k->title);
	if (instance)
		cJSON_AddStringToObject(o, "instance", instance);
	if (request_id)
		cJSON_AddStringToObject(o, "request_id", request_id);
	cJSON *errs = err->errors ? cJSON_Duplicate(err->errors, 1) : cJSON_CreateArray();
	if (errs)
		cJSON_AddItemToObject(o, "errors", errs);
	if (err->extra) {
		cJSON *it;
		cJSON_ArrayForEach(it, err->extra)
		{
			if (!cJSON_GetObjectItemCaseSensitive(o, it->string))
				cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
		}
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

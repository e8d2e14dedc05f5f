/* validate_problems: where a validation's problems go. A loc stack follows the walk; each
 * problem is recorded with that loc and the YAML line/column of its node (or nearest existing
 * ancestor), as an error or a warning, into a sink. Invariant: reporting never fails the walk;
 * an allocation failure is remembered in vctx.oom. */
#include "check/validate_internal.h"

#include "common/rdf.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void validate__push_key(struct vctx *c, const char *k)
{
	if (c->nloc < LOC_MAX)
		c->loc[c->nloc] = (struct seg){k, 0};
	c->nloc++;
}

void validate__push_idx(struct vctx *c, int i)
{
	if (c->nloc < LOC_MAX)
		c->loc[c->nloc] = (struct seg){NULL, i};
	c->nloc++;
}

void validate__pop(struct vctx *c) { c->nloc--; }

cJSON *validate__loc_json(const struct vctx *c)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < c->nloc && i < LOC_MAX; i++)
		cJSON_AddItemToArray(a, c->loc[i].key ? cJSON_CreateString(c->loc[i].key)
						    : cJSON_CreateNumber(c->loc[i].idx));
	return a;
}

int validate__sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->errors = cJSON_CreateArray();
	s->warnings = cJSON_CreateArray();
	s->refs = cJSON_CreateArray();
	return s->errors && s->warnings && s->refs ? 0 : -1;
}

void validate__sink_cleanup(struct sink *s)
{
	cJSON_Delete(s->errors);
	cJSON_Delete(s->warnings);
	cJSON_Delete(s->refs);
	memset(s, 0, sizeof(*s));
}

void validate__move_items(cJSON *to, cJSON *from)
{
	cJSON *e;
	while ((e = cJSON_DetachItemFromArray(from, 0)))
		cJSON_AddItemToArray(to, e);
}

void validate__sink_move(struct sink *to, struct sink *from)
{
	validate__move_items(to->errors, from->errors);
	validate__move_items(to->warnings, from->warnings);
	validate__move_items(to->refs, from->refs);
	to->nerr += from->nerr;
	from->nerr = 0;
}

/* Adds a problem at the current loc (plus `extra` key when not NULL). */
static void vreportv(struct vctx *c, struct sink *s, int warning, const char *extra,
		     const char *type, const char *fmt, va_list ap)
{
	char msg[768];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (extra)
		validate__push_key(c, extra);
	cJSON *loc = validate__loc_json(c);
	if (extra)
		validate__pop(c);
	cJSON *p = cJSON_CreateObject();
	if (!loc || !p) {
		cJSON_Delete(loc);
		cJSON_Delete(p);
		c->oom = 1;
		return;
	}
	int line = 0, column = 0;
	rdf_mark(c->doc, loc, &line, &column);
	cJSON_AddItemToObject(p, "loc", loc);
	cJSON_AddStringToObject(p, "msg", msg);
	cJSON_AddStringToObject(p, "type", type);
	if (warning)
		cJSON_AddStringToObject(p, "severity", "warning");
	cJSON_AddNumberToObject(p, "line", line);
	cJSON_AddNumberToObject(p, "column", column);
	cJSON_AddItemToArray(warning ? s->warnings : s->errors, p);
	if (!warning)
		s->nerr++;
}

void validate__report(struct vctx *c, struct sink *s, int warning, const char *extra, const char *type,
		      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreportv(c, s, warning, extra, type, fmt, ap);
	va_end(ap);
}

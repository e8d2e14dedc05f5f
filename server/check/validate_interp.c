/* validate_interp: the rules interpreter. Walks the RDF along a rules def (types, required and
 * recommended keys, enums, patterns, formats, unions with a discriminator), reporting every
 * problem and recording every file reference for the IO checks. Invariant: it never stops at
 * the first problem; a union reports the problems of its closest alternative only. */
#include "check/validate_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

static const cJSON *rget(const cJSON *rule, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(rule, k);
}

static const char *type_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "array";
	return "object";
}

static int is_integral(double d) { return isfinite(d) && d == floor(d) && fabs(d) < 9.0e15; }

static int type_matches(const char *t, const cJSON *v)
{
	if (!strcmp(t, "any"))
		return 1;
	if (!strcmp(t, "integer"))
		return cJSON_IsNumber(v) && is_integral(v->valuedouble);
	return !strcmp(t, type_of(v));
}

/* Short text of a value for messages. */
static void show(const cJSON *v, char *buf, size_t n)
{
	if (cJSON_IsString(v))
		snprintf(buf, n, "'%.60s%s'", v->valuestring, strlen(v->valuestring) > 60 ? "…" : "");
	else if (cJSON_IsNumber(v))
		snprintf(buf, n, "%g", v->valuedouble);
	else
		snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : type_of(v));
}

int validate__is_url(const char *s)
{
	return !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
}

int validate__hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return 0;
	return n == 64;
}

/* A package-relative path the server could have unpacked: no absolute part, "..",
 * backslash or control characters. "./" prefixes are dropped into out. */
int validate__clean_rel_path(const char *in, char *out, size_t n)
{
	while (in[0] == '.' && in[1] == '/')
		in += 2;
	if (!*in || *in == '/' || strlen(in) >= n || strchr(in, '\\') || strstr(in, "://"))
		return -1;
	for (const char *p = in; *p; p++)
		if ((unsigned char)*p < 0x20)
			return -1;
	for (const char *p = in; *p;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if ((len == 2 && !strncmp(p, "..", 2)) || len == 0)
			return -1;
		p += len + (e ? 1 : 0);
	}
	snprintf(out, n, "%s", in);
	return 0;
}

static void add_ref(struct vctx *c, struct sink *s, const char *path, const cJSON *sha)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *loc = validate__loc_json(c);
	if (!r || !loc) {
		cJSON_Delete(r);
		cJSON_Delete(loc);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToObject(r, "loc", loc);
	cJSON_AddStringToObject(r, "path", path);
	if (cJSON_IsString(sha) && sha->string) {
		cJSON *sloc = validate__loc_json(c);
		if (sloc && cJSON_GetArraySize(sloc) > 0)
			cJSON_ReplaceItemInArray(sloc, cJSON_GetArraySize(sloc) - 1,
						 cJSON_CreateString(sha->string));
		cJSON_AddStringToObject(r, "sha256", sha->valuestring);
		cJSON_AddItemToObject(r, "sha256_loc", sloc);
	}
	cJSON_AddItemToArray(s->refs, r);
}

/* A reference to a file: an http(s) URL, or a path inside the package recorded for the
 * IO checks. prefix_colon: "conda:env.yaml" style; class_suffix: "file.py:Class". */
static void check_file(struct vctx *c, struct sink *s, const cJSON *rule, const char *val,
		       const cJSON *parent)
{
	char path[1024];
	const char *sk = cJSON_GetStringValue(rget(rule, "sha256_key"));
	const cJSON *sha = sk ? cJSON_GetObjectItemCaseSensitive(parent, sk) : NULL;
	const char *fmt = cJSON_GetStringValue(rget(rule, "format"));
	if (validate__is_url(val))
		return;
	if ((strstr(val, "://") && !(fmt && !strcmp(fmt, "conda_file"))) || !strncmp(val, "doi:", 4)) {
		ERR(c, s, "url_scheme", "'%.100s' is neither an http(s) URL nor a path in the package", val);
		return;
	}
	const char *p = val;
	char buf[1024];
	if (fmt && !strcmp(fmt, "conda_file")) { /* "conda:environment.yaml" or a plain path */
		const char *colon = strchr(val, ':');
		if (colon && !validate__is_url(val))
			p = colon + 1;
		if (validate__is_url(p))
			return;
	} else if (fmt && !strcmp(fmt, "source_class")) {
		/* "unet.py:UNet" names a file; "package.module.Class" an importable name. */
		const char *colon = strrchr(val, ':');
		if (!colon)
			return;
		snprintf(buf, sizeof(buf), "%.*s", (int)(colon - val), val);
		p = buf;
		if (validate__is_url(p))
			return;
	}
	if (validate__clean_rel_path(p, path, sizeof(path))) {
		ERR(c, s, "path_invalid",
		    "'%.100s' must be an http(s) URL or a relative path inside the package (no '..', no absolute path)",
		    val);
		return;
	}
	add_ref(c, s, path, sha);
}

static int check_orcid(const char *s)
{
	/* 0000-0002-1825-0097: ISO 7064 11,2 check digit. */
	if (strlen(s) != 19)
		return 0;
	int total = 0;
	for (int i = 0; i < 18; i++) {
		if (i == 4 || i == 9 || i == 14) {
			if (s[i] != '-')
				return 0;
			continue;
		}
		if (!isdigit((unsigned char)s[i]))
			return 0;
		total = (total + (s[i] - '0')) * 2;
	}
	int r = (12 - total % 11) % 11;
	return s[18] == (r == 10 ? 'X' : '0' + r);
}

static int check_datetime(const char *s)
{
	/* ISO 8601: a date, optionally T/space and a time, optionally a zone. */
	int y, mo, d, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31)
		return 0;
	return 1;
}

static void suggest_license(const validator *v, const char *val, char *out, size_t n)
{
	/* "CC BY 4.0" -> CC-BY-4.0; "bsd-3-clause" -> BSD-3-Clause: compare ignoring case,
	 * spaces, '-' and '_'. */
	char want[128], have[128];
	size_t k = 0;
	out[0] = '\0';
	for (const char *p = val; *p && k + 1 < sizeof(want); p++)
		if (isalnum((unsigned char)*p) || *p == '.' || *p == '+')
			want[k++] = (char)tolower((unsigned char)*p);
	want[k] = '\0';
	for (size_t i = 0; i < v->nspdx; i++) {
		k = 0;
		for (const char *p = v->spdx[i]; *p && k + 1 < sizeof(have); p++)
			if (isalnum((unsigned char)*p) || *p == '.' || *p == '+')
				have[k++] = (char)tolower((unsigned char)*p);
		have[k] = '\0';
		if (!strcmp(want, have)) {
			snprintf(out, n, "%s", v->spdx[i]);
			return;
		}
	}
	if (!strcmp(want, "bsd2") || !strcmp(want, "bsd"))
		snprintf(out, n, "BSD-2-Clause");
	else if (!strcmp(want, "bsd3"))
		snprintf(out, n, "BSD-3-Clause");
}

static void check_format(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val,
			 const cJSON *parent)
{
	const char *f = cJSON_GetStringValue(rget(rule, "format"));
	if (!f || !cJSON_IsString(val))
		return;
	const char *t = val->valuestring;
	if (!strcmp(f, "spdx")) {
		if (validate__in_sorted(c->v->spdx, c->v->nspdx, t))
			return;
		if (validate__in_sorted(c->v->spdx_deprecated, c->v->nspdx_deprecated, t)) {
			WARN(c, s, "license_deprecated",
			     "'%s' is a deprecated SPDX license identifier; use its current form (e.g. GPL-3.0-only or GPL-3.0-or-later)",
			     t);
			return;
		}
		char sug[64];
		suggest_license(c->v, t, sug, sizeof(sug));
		if (sug[0])
			ERR(c, s, "license_unknown",
			    "'%.80s' is not an SPDX license identifier; did you mean '%s'? (https://spdx.org/licenses/)",
			    t, sug);
		else
			ERR(c, s, "license_unknown",
			    "'%.80s' is not an SPDX license identifier (https://spdx.org/licenses/), e.g. MIT, CC-BY-4.0, BSD-3-Clause",
			    t);
	} else if (!strcmp(f, "file") || !strcmp(f, "conda_file") || !strcmp(f, "source_class")) {
		check_file(c, s, rule, t, parent);
	} else if (!strcmp(f, "url")) {
		if (!validate__is_url(t))
			ERR(c, s, "url_scheme", "'%.100s' is not an http(s) URL", t);
	} else if (!strcmp(f, "icon")) {
		/* An emoji or two characters, else a file or URL. */
		if (strlen(t) > 8)
			check_file(c, s, rule, t, parent);
	} else if (!strcmp(f, "sha256")) {
		if (!validate__hex64(t))
			ERR(c, s, "sha256_format", "'%.80s' is not a SHA-256 (64 hexadecimal digits)", t);
	} else if (!strcmp(f, "orcid")) {
		if (!check_orcid(t))
			ERR(c, s, "orcid_invalid",
			    "'%.40s' is not a valid ORCID iD (0000-0000-0000-0000, with its check digit)", t);
	} else if (!strcmp(f, "date-time")) {
		if (!check_datetime(t))
			ERR(c, s, "datetime_invalid", "'%.60s' is not an ISO 8601 date/time (e.g. 2024-01-31T12:00:00Z)", t);
	} else if (!strcmp(f, "doi")) {
		/* bioimageio.spec converts doi.org URLs to bare DOIs; so do we, when reading. */
		const char *d = t;
		const char *prefixes[] = {"https://doi.org/", "http://doi.org/", "https://dx.doi.org/",
					  "http://dx.doi.org/", "doi:"};
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (!strncasecmp(d, prefixes[i], strlen(prefixes[i])))
				d += strlen(prefixes[i]);
		if (strncmp(d, "10.", 3) || !strchr(d, '/'))
			ERR(c, s, "doi_invalid", "'%.80s' is not a DOI (10.NNNN/suffix)", t);
	} else if (!strcmp(f, "email")) {
		const char *at = strchr(t, '@');
		if (!at || at == t || !strchr(at, '.'))
			ERR(c, s, "email_invalid", "'%.80s' is not an email address", t);
	}
}

static const cJSON *resolve(struct vctx *c, const cJSON *rule)
{
	for (int i = 0; i < REF_CHAIN_MAX; i++) {
		const char *r = cJSON_GetStringValue(rget(rule, "ref"));
		if (!r)
			return rule;
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(c->rs->defs, r);
		if (!d)
			return rule; /* rules are checked by the tests; an unknown ref checks nothing */
		rule = d;
	}
	return rule;
}

static int check_types(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val)
{
	const cJSON *t = rget(rule, "type");
	if (!t)
		return 1;
	if (cJSON_IsString(t)) {
		if (type_matches(t->valuestring, val))
			return 1;
		char got[96];
		show(val, got, sizeof(got));
		ERR(c, s, !strcmp(t->valuestring, "array") ? "list_type"
			  : !strcmp(t->valuestring, "object") ? "dict_type"
							      : "type_error",
		    "expected %s %s, got %s %s",
		    strchr("aeiou", t->valuestring[0]) ? "an" : "a", t->valuestring, type_of(val), got);
		return 0;
	}
	char want[160] = "";
	const cJSON *e;
	cJSON_ArrayForEach(e, t) {
		if (cJSON_IsString(e) && type_matches(e->valuestring, val))
			return 1;
		if (cJSON_IsString(e))
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", want[0] ? " or " : "",
				 e->valuestring);
	}
	char got[96];
	show(val, got, sizeof(got));
	ERR(c, s, "type_error", "expected %s, got %s %s", want, type_of(val), got);
	return 0;
}

static void check_union(struct vctx *c, struct sink *s, const cJSON *alts, const cJSON *val,
			const cJSON *parent)
{
	struct sink best = {0};
	int have_best = 0;
	const cJSON *alt;
	cJSON_ArrayForEach(alt, alts) {
		struct sink trial;
		if (validate__sink_init(&trial)) {
			c->oom = 1;
			validate__sink_cleanup(&trial);
			break;
		}
		validate__check_value(c, &trial, alt, val, parent);
		if (trial.nerr == 0) {
			validate__sink_cleanup(&best);
			validate__sink_move(s, &trial);
			validate__sink_cleanup(&trial);
			return;
		}
		if (!have_best || trial.nerr < best.nerr) {
			validate__sink_cleanup(&best);
			best = trial;
			have_best = 1;
		} else {
			validate__sink_cleanup(&trial);
		}
	}
	if (have_best)
		validate__sink_move(s, &best);
	validate__sink_cleanup(&best);
}

static void check_object(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val)
{
	const cJSON *props = rget(rule, "properties");
	const cJSON *e;
	cJSON_ArrayForEach(e, rget(rule, "required")) {
		if (cJSON_IsString(e) && !cJSON_GetObjectItemCaseSensitive(val, e->valuestring))
			validate__report(c, s, 0, e->valuestring, "missing", "required field '%s' is missing",
				e->valuestring);
	}
	cJSON_ArrayForEach(e, rget(rule, "recommended")) {
		if (cJSON_IsString(e) && !cJSON_GetObjectItemCaseSensitive(val, e->valuestring))
			validate__report(c, s, 1, e->valuestring, "recommended", "field '%s' is recommended",
				e->valuestring);
	}
	const cJSON *mp = rget(rule, "min_properties");
	if (cJSON_IsNumber(mp) && cJSON_GetArraySize(val) < mp->valueint)
		ERR(c, s, "too_short", "needs at least %d entr%s", mp->valueint, mp->valueint == 1 ? "y" : "ies");
	const cJSON *closed = rget(rule, "closed");
	const cJSON *values = rget(rule, "values");
	const cJSON *kv;
	cJSON_ArrayForEach(kv, val) {
		const cJSON *pr = cJSON_GetObjectItemCaseSensitive(props, kv->string);
		validate__push_key(c, kv->string);
		if (pr) {
			validate__check_value(c, s, pr, kv, val);
		} else if (values) {
			validate__check_value(c, s, values, kv, val);
		} else if (cJSON_IsTrue(closed)) {
			ERR(c, s, "extra_forbidden", "unknown field '%.60s' is not allowed here", kv->string);
		} else if (cJSON_IsString(closed) && !strcmp(closed->valuestring, "warn")) {
			WARN(c, s, "extra_ignored", "unknown field '%.60s' is ignored", kv->string);
		}
		validate__pop(c);
	}
}

static void check_array(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val)
{
	int n = cJSON_GetArraySize(val);
	const cJSON *mn = rget(rule, "min_items"), *mx = rget(rule, "max_items");
	if (cJSON_IsNumber(mn) && n < mn->valuedouble)
		ERR(c, s, "too_short", "needs at least %d item%s, has %d", mn->valueint,
		    mn->valueint == 1 ? "" : "s", n);
	if (cJSON_IsNumber(mx) && n > mx->valuedouble)
		ERR(c, s, "too_long", "allows at most %d items, has %d", mx->valueint, n);
	const cJSON *items = rget(rule, "items");
	if (!items)
		return;
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, val) {
		validate__push_idx(c, i++);
		validate__check_value(c, s, items, e, val);
		validate__pop(c);
	}
}

/* A string's length, pattern and format. */
static void check_string(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val,
			 const cJSON *parent)
{
	size_t len = strlen(val->valuestring);
	const cJSON *mn = rget(rule, "min_length"), *mx = rget(rule, "max_length");
	if (cJSON_IsNumber(mn) && len < (size_t)mn->valuedouble)
		ERR(c, s, len ? "too_short" : "string_empty",
		    len ? "must have at least %d characters" : "must not be empty", mn->valueint);
	if (cJSON_IsNumber(mx) && len > (size_t)mx->valuedouble)
		ERR(c, s, "too_long", "must have at most %d characters, has %zu", mx->valueint, len);
	const cJSON *pat = rget(rule, "pattern");
	for (size_t i = 0; pat && i < c->v->npats; i++) {
		if (c->v->pats[i].node != pat)
			continue;
		if (regexec(&c->v->pats[i].re, val->valuestring, 0, NULL, 0)) {
			const char *hint = cJSON_GetStringValue(rget(rule, "pattern_hint"));
			ERR(c, s, "string_pattern_mismatch", "'%.80s' %s", val->valuestring,
			    hint ? hint : "has the wrong form");
		}
		break;
	}
	check_format(c, s, rule, val, parent);
}

/* A number's bounds. */
static void check_number(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val)
{
	double d = val->valuedouble;
	const cJSON *mn = rget(rule, "minimum"), *xm = rget(rule, "exclusive_minimum"),
		    *mx = rget(rule, "maximum");
	if (cJSON_IsNumber(mn) && !(d >= mn->valuedouble))
		ERR(c, s, "greater_than_equal", "must be >= %g, got %g", mn->valuedouble, d);
	if (cJSON_IsNumber(xm) && !(d > xm->valuedouble))
		ERR(c, s, "greater_than", "must be > %g, got %g", xm->valuedouble, d);
	if (cJSON_IsNumber(mx) && !(d <= mx->valuedouble))
		ERR(c, s, "less_than_equal", "must be <= %g, got %g", mx->valuedouble, d);
}

/* An object whose tag field (disc.field) picks its rule from disc.map; a missing or unknown
 * tag is reported on the field with the tags allowed. */
static void check_tagged(struct vctx *c, struct sink *s, const cJSON *disc, const cJSON *val,
			 const cJSON *parent)
{
	const char *field = cJSON_GetStringValue(rget(disc, "field"));
	const cJSON *tag = field ? cJSON_GetObjectItemCaseSensitive(val, field) : NULL;
	const cJSON *target = cJSON_IsString(tag)
				      ? cJSON_GetObjectItemCaseSensitive(rget(disc, "map"), tag->valuestring)
				      : NULL;
	if (!target) {
		char list[300] = "";
		const cJSON *e;
		cJSON_ArrayForEach(e, rget(disc, "map"))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s'%s'",
				 list[0] ? ", " : "", e->string);
		if (!tag)
			validate__report(c, s, 0, field, "missing", "required field '%s' is missing (one of %s)",
					 field ? field : "?", list);
		else
			validate__report(c, s, 0, field, "union_tag_invalid", "'%s' must be one of %s",
					 field ? field : "?", list);
		return;
	}
	validate__check_value(c, s, target, val, parent);
}

void validate__check_value(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val,
			   const cJSON *parent)
{
	rule = resolve(c, rule);
	if (c->nloc >= LOC_MAX || c->oom)
		return;
	int warn = cJSON_IsString(rget(rule, "severity")) &&
		   !strcmp(rget(rule, "severity")->valuestring, "warning");
	struct sink ws;
	struct sink *out = s;
	if (warn) { /* a warning rule: its problems are checked into a side sink, then moved
		     * as warnings */
		if (validate__sink_init(&ws)) {
			c->oom = 1;
			validate__sink_cleanup(&ws);
			return;
		}
		out = &ws;
	}
	const char *dep = cJSON_GetStringValue(rget(rule, "deprecated"));
	if (dep)
		WARN(c, out, "deprecated", "%s", dep);
	const cJSON *alts = rget(rule, "any_of");
	if (alts) {
		check_union(c, out, alts, val, parent);
		goto done;
	}
	if (!check_types(c, out, rule, val))
		goto done;
	const cJSON *en = rget(rule, "enum"), *cn = rget(rule, "const");
	if (cn && !cJSON_Compare(cn, val, 1)) {
		char want[96], got[96];
		show(cn, want, sizeof(want));
		show(val, got, sizeof(got));
		ERR(c, out, "literal_error", "must be %s, got %s", want, got);
		goto done;
	}
	if (en) {
		int ok = 0;
		char list[400] = "";
		const cJSON *e;
		cJSON_ArrayForEach(e, en) {
			ok |= cJSON_Compare(e, val, 1);
			char one[64];
			show(e, one, sizeof(one));
			if (strlen(list) + strlen(one) + 8 < sizeof(list))
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 list[0] ? ", " : "", one);
		}
		if (!ok) {
			char got[96];
			show(val, got, sizeof(got));
			ERR(c, out, "literal_error", "must be one of %s; got %s", list, got);
			goto done;
		}
	}
	if (cJSON_IsString(val)) {
		check_string(c, out, rule, val, parent);
	} else if (cJSON_IsNumber(val)) {
		check_number(c, out, rule, val);
	} else if (cJSON_IsArray(val)) {
		check_array(c, out, rule, val);
	} else if (cJSON_IsObject(val)) {
		const cJSON *disc = rget(rule, "discriminator");
		if (disc)
			check_tagged(c, out, disc, val, parent);
		else
			check_object(c, out, rule, val);
	}
done:
	if (warn) {
		cJSON *e;
		while ((e = cJSON_DetachItemFromArray(ws.errors, 0))) {
			cJSON_AddStringToObject(e, "severity", "warning");
			cJSON_AddItemToArray(s->warnings, e);
		}
		validate__move_items(s->warnings, ws.warnings);
		validate__move_items(s->refs, ws.refs);
		validate__sink_cleanup(&ws);
	}
}

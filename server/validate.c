/* validate: static validation (DESIGN §7). Two layers: the rules interpreter walks the
 * RDF along a declarative description from SCHEMA_DIR/rules (types, required keys,
 * enums, patterns, formats, unions), collecting every problem and every file reference;
 * then checks in C that rules cannot say (tensor ids, axes, sizes, halo, test tensors,
 * files, documentation, version). Invariant: nothing stops at the first problem, and
 * every problem carries its loc and the YAML line/column of the node (or its nearest
 * existing ancestor). */
#include "validate.h"

#include "error.h"
#include "hex.h"
#include "log.h"
#include "npy.h"
#include "rdf.h"
#include "summary.h"
#include "version.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RULES_MAX_BYTES (4 << 20)
#define LOC_MAX 48      /* deeper than any rule reaches */
#define REF_CHAIN_MAX 16
#define DOC_HEAD_BYTES (256 << 10)
#define NPY_HEAD_FIRST 256

/* ======================================================================================
 * Loaded rules
 * ==================================================================================== */

struct ruleset {
	char type[32];
	char minor[8]; /* "0.4" */
	cJSON *doc;    /* the file; defs resolved (extends and base merged) */
	const cJSON *defs;
	const cJSON *root;
};

struct pattern {
	const cJSON *node; /* the "pattern" string node of a rule */
	regex_t re;
};

struct validator {
	struct ruleset *sets;
	size_t nsets;
	struct pattern *pats;
	size_t npats;
	char **spdx; /* sorted licence ids */
	size_t nspdx;
	char **spdx_deprecated; /* sorted */
	size_t nspdx_deprecated;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int in_sorted(char *const *list, size_t n, const char *s)
{
	return n && bsearch(&s, list, n, sizeof(*list), cmp_str) != NULL;
}

static char *slurp(const char *path, size_t max, size_t *len_out, struct bo_error *err)
{
	char *buf = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		bo_error_set(err, BO_EINTERNAL, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (!buf) {
		bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	size_t n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		bo_error_set(err, BO_EINTERNAL, "%s: %s", path,
			     n > max ? "file too large" : "read error");
		goto fail;
	}
	buf[n] = '\0';
	if (len_out)
		*len_out = n;
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

static int load_spdx(validator *v, const char *schema_dir, struct bo_error *err)
{
	char path[4096];
	int rc = 0;
	cJSON *doc = NULL;
	snprintf(path, sizeof(path), "%s/spdx_licenses.json", schema_dir);
	char *text = slurp(path, RULES_MAX_BYTES, NULL, err);
	if (!text)
		return err->code;
	doc = cJSON_Parse(text);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "licenses");
	int n = cJSON_GetArraySize(list);
	if (!cJSON_IsArray(list) || n == 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "%s: no \"licenses\" list", path);
		goto fail;
	}
	v->spdx = calloc((size_t)n, sizeof(char *));
	v->spdx_deprecated = calloc((size_t)n, sizeof(char *));
	if (!v->spdx || !v->spdx_deprecated) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, list) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "licenseId"));
		if (!id)
			continue;
		char *dup = strdup(id);
		if (!dup) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "isDeprecatedLicenseId")))
			v->spdx_deprecated[v->nspdx_deprecated++] = dup;
		else
			v->spdx[v->nspdx++] = dup;
	}
	qsort(v->spdx, v->nspdx, sizeof(char *), cmp_str);
	qsort(v->spdx_deprecated, v->nspdx_deprecated, sizeof(char *), cmp_str);
fail:
	cJSON_Delete(doc);
	free(text);
	return rc;
}

/* A def with "base": its properties and required keys are the base's plus its own (its
 * own win); every other key is its own, else the base's. Resolved once at load. */
static int merge_base(cJSON *defs, cJSON *def, int depth, const char *file, struct bo_error *err)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(def, "base");
	if (!b)
		return 0;
	if (depth > REF_CHAIN_MAX || !cJSON_IsString(b))
		return bo_error_set(err, BO_EINTERNAL, "%s: bad or cyclic \"base\" in %s", file,
				    def->string ? def->string : "?");
	cJSON *base = cJSON_GetObjectItemCaseSensitive(defs, b->valuestring);
	if (!base)
		return bo_error_set(err, BO_EINTERNAL, "%s: unknown base %s", file, b->valuestring);
	if (merge_base(defs, base, depth + 1, file, err))
		return err->code;
	cJSON_DeleteItemFromObjectCaseSensitive(def, "base");
	cJSON *e;
	cJSON_ArrayForEach(e, base) {
		cJSON *mine = cJSON_GetObjectItemCaseSensitive(def, e->string);
		if (!strcmp(e->string, "properties") || !strcmp(e->string, "required")) {
			if (!mine) {
				cJSON_AddItemToObject(def, e->string, cJSON_Duplicate(e, 1));
				continue;
			}
			cJSON *x;
			cJSON_ArrayForEach(x, e) {
				if (cJSON_IsString(x)) { /* required */
					int have = 0;
					const cJSON *y;
					cJSON_ArrayForEach(y, mine) have |= cJSON_IsString(y) &&
									   !strcmp(y->valuestring, x->valuestring);
					const cJSON *drop = cJSON_GetObjectItemCaseSensitive(def, "optional");
					cJSON_ArrayForEach(y, drop) have |= cJSON_IsString(y) &&
									   !strcmp(y->valuestring, x->valuestring);
					if (!have)
						cJSON_AddItemToArray(mine, cJSON_Duplicate(x, 1));
				} else if (!cJSON_GetObjectItemCaseSensitive(mine, x->string)) {
					cJSON_AddItemToObject(mine, x->string, cJSON_Duplicate(x, 1));
				}
			}
			continue;
		}
		if (!mine)
			cJSON_AddItemToObject(def, e->string, cJSON_Duplicate(e, 1));
	}
	/* Properties a def drops from its base ("remove": [...]). */
	const cJSON *rm = cJSON_GetObjectItemCaseSensitive(def, "remove");
	const cJSON *k;
	cJSON_ArrayForEach(k, rm) {
		if (cJSON_IsString(k))
			cJSON_DeleteItemFromObjectCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(def, "properties"), k->valuestring);
	}
	return 0;
}

static int collect_patterns(validator *v, const cJSON *node, const char *file, struct bo_error *err)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, node) {
		if (e->string && !strcmp(e->string, "pattern") && cJSON_IsString(e)) {
			struct pattern *p = realloc(v->pats, (v->npats + 1) * sizeof(*p));
			if (!p)
				return bo_error_set(err, BO_ENOMEM, "out of memory");
			v->pats = p;
			if (regcomp(&p[v->npats].re, e->valuestring, REG_EXTENDED | REG_NOSUB))
				return bo_error_set(err, BO_EINTERNAL, "%s: bad pattern %s", file,
						    e->valuestring);
			p[v->npats++].node = e;
		} else if (cJSON_IsObject(e) || cJSON_IsArray(e)) {
			if (collect_patterns(v, e, file, err))
				return err->code;
		}
	}
	return 0;
}

static cJSON *load_rules_file(const char *dir, const char *name, struct bo_error *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *text = slurp(path, RULES_MAX_BYTES, NULL, err);
	if (!text)
		return NULL;
	cJSON *doc = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(doc) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "defs"))) {
		cJSON_Delete(doc);
		bo_error_set(err, BO_EINTERNAL, "%s: not a rules file (JSON object with \"defs\")", path);
		return NULL;
	}
	return doc;
}

/* "extends": defs of the parent file (recursively) that this file does not define. */
static int apply_extends(cJSON *doc, const char *dir, int depth, struct bo_error *err)
{
	const cJSON *ext = cJSON_GetObjectItemCaseSensitive(doc, "extends");
	if (!ext)
		return 0;
	if (!cJSON_IsString(ext) || depth > 8)
		return bo_error_set(err, BO_EINTERNAL, "rules: bad or cyclic \"extends\"");
	char name[128];
	snprintf(name, sizeof(name), "%s.json", ext->valuestring);
	cJSON *parent = load_rules_file(dir, name, err);
	if (!parent)
		return err->code;
	if (apply_extends(parent, dir, depth + 1, err)) {
		cJSON_Delete(parent);
		return err->code;
	}
	cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "defs");
	cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(parent, "defs")) {
		if (!cJSON_GetObjectItemCaseSensitive(defs, e->string))
			cJSON_AddItemToObject(defs, e->string, cJSON_Duplicate(e, 1));
	}
	cJSON_Delete(parent);
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "extends");
	return 0;
}

int validate_load(validator **out, const char *schema_dir, struct bo_error *err)
{
	char dir[4096];
	DIR *d = NULL;
	validator *v = calloc(1, sizeof(*v));
	if (!v)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	if (load_spdx(v, schema_dir, err))
		goto fail;
	snprintf(dir, sizeof(dir), "%s/rules", schema_dir);
	d = opendir(dir);
	if (!d) {
		bo_error_set(err, BO_EINTERNAL, "cannot open the validation rules in %s: %s", dir,
			     strerror(errno));
		goto fail;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		const char *dash = strrchr(de->d_name, '-');
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") || !dash || dash - de->d_name >= 32 ||
		    n - (size_t)(dash - de->d_name) - 6 >= 8)
			continue;
		cJSON *doc = load_rules_file(dir, de->d_name, err);
		if (!doc || apply_extends(doc, dir, 0, err)) {
			cJSON_Delete(doc);
			goto fail;
		}
		struct ruleset *s = realloc(v->sets, (v->nsets + 1) * sizeof(*s));
		if (!s) {
			cJSON_Delete(doc);
			bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		v->sets = s;
		s = &v->sets[v->nsets++];
		memset(s, 0, sizeof(*s));
		s->doc = doc;
		snprintf(s->type, sizeof(s->type), "%.*s", (int)(dash - de->d_name), de->d_name);
		snprintf(s->minor, sizeof(s->minor), "%.*s", (int)(n - (size_t)(dash - de->d_name) - 6),
			 dash + 1);
		cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "defs");
		cJSON *def;
		cJSON_ArrayForEach(def, defs) {
			if (merge_base(defs, def, 0, de->d_name, err))
				goto fail;
		}
		s->defs = defs;
		s->root = cJSON_GetObjectItemCaseSensitive(defs, "Root");
		if (!s->root) {
			bo_error_set(err, BO_EINTERNAL, "%s/%s: no \"Root\" def", dir, de->d_name);
			goto fail;
		}
		if (collect_patterns(v, defs, de->d_name, err))
			goto fail;
	}
	closedir(d);
	d = NULL;
	if (!v->nsets) {
		bo_error_set(err, BO_EINTERNAL, "no validation rules in %s", dir);
		goto fail;
	}
	*out = v;
	return 0;
fail:
	if (d)
		closedir(d);
	validate_free(v);
	return err->code ? err->code : BO_EINTERNAL;
}

void validate_free(validator *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nsets; i++)
		cJSON_Delete(v->sets[i].doc);
	free(v->sets);
	for (size_t i = 0; i < v->npats; i++)
		regfree(&v->pats[i].re);
	free(v->pats);
	for (size_t i = 0; i < v->nspdx; i++)
		free(v->spdx[i]);
	for (size_t i = 0; i < v->nspdx_deprecated; i++)
		free(v->spdx_deprecated[i]);
	free(v->spdx);
	free(v->spdx_deprecated);
	free(v);
}

static const struct ruleset *find_set(const validator *v, const char *type, const char *minor)
{
	for (size_t i = 0; i < v->nsets; i++)
		if (!strcmp(v->sets[i].type, type) && !strcmp(v->sets[i].minor, minor))
			return &v->sets[i];
	return NULL;
}

/* ======================================================================================
 * Problems: a loc stack, sinks, reporting with marks
 * ==================================================================================== */

struct seg {
	const char *key; /* NULL: index */
	int idx;
};

struct sink {
	cJSON *errors, *warnings;
	cJSON *refs; /* file references found by the rules: {loc, path, sha256} */
	int nerr;
};

struct vctx {
	const validator *v;
	const rdf_doc *doc;
	const struct ruleset *rs;
	struct seg loc[LOC_MAX];
	int nloc;
	int oom;
};

static void push_key(struct vctx *c, const char *k)
{
	if (c->nloc < LOC_MAX)
		c->loc[c->nloc] = (struct seg){k, 0};
	c->nloc++;
}

static void push_idx(struct vctx *c, int i)
{
	if (c->nloc < LOC_MAX)
		c->loc[c->nloc] = (struct seg){NULL, i};
	c->nloc++;
}

static void pop(struct vctx *c) { c->nloc--; }

static cJSON *loc_json(const struct vctx *c)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < c->nloc && i < LOC_MAX; i++)
		cJSON_AddItemToArray(a, c->loc[i].key ? cJSON_CreateString(c->loc[i].key)
						    : cJSON_CreateNumber(c->loc[i].idx));
	return a;
}

static int sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->errors = cJSON_CreateArray();
	s->warnings = cJSON_CreateArray();
	s->refs = cJSON_CreateArray();
	return s->errors && s->warnings && s->refs ? 0 : -1;
}

static void sink_cleanup(struct sink *s)
{
	cJSON_Delete(s->errors);
	cJSON_Delete(s->warnings);
	cJSON_Delete(s->refs);
	memset(s, 0, sizeof(*s));
}

static void move_items(cJSON *to, cJSON *from)
{
	cJSON *e;
	while ((e = cJSON_DetachItemFromArray(from, 0)))
		cJSON_AddItemToArray(to, e);
}

static void sink_move(struct sink *to, struct sink *from)
{
	move_items(to->errors, from->errors);
	move_items(to->warnings, from->warnings);
	move_items(to->refs, from->refs);
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
		push_key(c, extra);
	cJSON *loc = loc_json(c);
	if (extra)
		pop(c);
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

__attribute__((format(printf, 6, 7))) static void
vreport(struct vctx *c, struct sink *s, int warning, const char *extra, const char *type,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreportv(c, s, warning, extra, type, fmt, ap);
	va_end(ap);
}

#define ERR(c, s, type, ...) vreport(c, s, 0, NULL, type, __VA_ARGS__)
#define WARN(c, s, type, ...) vreport(c, s, 1, NULL, type, __VA_ARGS__)

/* ======================================================================================
 * The rules interpreter
 * ==================================================================================== */

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

static int is_url(const char *s)
{
	return !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
}

static int hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return 0;
	return n == 64;
}

/* A package-relative path the server could have unpacked: no absolute part, "..",
 * backslash or control characters. "./" prefixes are dropped into out. */
static int clean_rel_path(const char *in, char *out, size_t n)
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
	cJSON *loc = loc_json(c);
	if (!r || !loc) {
		cJSON_Delete(r);
		cJSON_Delete(loc);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToObject(r, "loc", loc);
	cJSON_AddStringToObject(r, "path", path);
	if (cJSON_IsString(sha) && sha->string) {
		cJSON *sloc = loc_json(c);
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
	if (is_url(val))
		return;
	if ((strstr(val, "://") && !(fmt && !strcmp(fmt, "conda_file"))) || !strncmp(val, "doi:", 4)) {
		ERR(c, s, "url_scheme", "'%.100s' is neither an http(s) URL nor a path in the package", val);
		return;
	}
	const char *p = val;
	char buf[1024];
	if (fmt && !strcmp(fmt, "conda_file")) { /* "conda:environment.yaml" or a plain path */
		const char *colon = strchr(val, ':');
		if (colon && !is_url(val))
			p = colon + 1;
		if (is_url(p))
			return;
	} else if (fmt && !strcmp(fmt, "source_class")) {
		/* "unet.py:UNet" names a file; "package.module.Class" an importable name. */
		const char *colon = strrchr(val, ':');
		if (!colon)
			return;
		snprintf(buf, sizeof(buf), "%.*s", (int)(colon - val), val);
		p = buf;
		if (is_url(p))
			return;
	}
	if (clean_rel_path(p, path, sizeof(path))) {
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
		if (in_sorted(c->v->spdx, c->v->nspdx, t))
			return;
		if (in_sorted(c->v->spdx_deprecated, c->v->nspdx_deprecated, t)) {
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
		if (!is_url(t))
			ERR(c, s, "url_scheme", "'%.100s' is not an http(s) URL", t);
	} else if (!strcmp(f, "icon")) {
		/* An emoji or two characters, else a file or URL. */
		if (strlen(t) > 8)
			check_file(c, s, rule, t, parent);
	} else if (!strcmp(f, "sha256")) {
		if (!hex64(t))
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

static void check_value(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val,
			const cJSON *parent);

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
		if (sink_init(&trial)) {
			c->oom = 1;
			sink_cleanup(&trial);
			break;
		}
		check_value(c, &trial, alt, val, parent);
		if (trial.nerr == 0) {
			sink_cleanup(&best);
			sink_move(s, &trial);
			sink_cleanup(&trial);
			return;
		}
		if (!have_best || trial.nerr < best.nerr) {
			sink_cleanup(&best);
			best = trial;
			have_best = 1;
		} else {
			sink_cleanup(&trial);
		}
	}
	if (have_best)
		sink_move(s, &best);
	sink_cleanup(&best);
}

static void check_object(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val)
{
	const cJSON *props = rget(rule, "properties");
	const cJSON *e;
	cJSON_ArrayForEach(e, rget(rule, "required")) {
		if (cJSON_IsString(e) && !cJSON_GetObjectItemCaseSensitive(val, e->valuestring))
			vreport(c, s, 0, e->valuestring, "missing", "required field '%s' is missing",
				e->valuestring);
	}
	cJSON_ArrayForEach(e, rget(rule, "recommended")) {
		if (cJSON_IsString(e) && !cJSON_GetObjectItemCaseSensitive(val, e->valuestring))
			vreport(c, s, 1, e->valuestring, "recommended", "field '%s' is recommended",
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
		push_key(c, kv->string);
		if (pr) {
			check_value(c, s, pr, kv, val);
		} else if (values) {
			check_value(c, s, values, kv, val);
		} else if (cJSON_IsTrue(closed)) {
			ERR(c, s, "extra_forbidden", "unknown field '%.60s' is not allowed here", kv->string);
		} else if (cJSON_IsString(closed) && !strcmp(closed->valuestring, "warn")) {
			WARN(c, s, "extra_ignored", "unknown field '%.60s' is ignored", kv->string);
		}
		pop(c);
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
		push_idx(c, i++);
		check_value(c, s, items, e, val);
		pop(c);
	}
}

static void check_value(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val,
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
		if (sink_init(&ws)) {
			c->oom = 1;
			sink_cleanup(&ws);
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
		size_t len = strlen(val->valuestring);
		const cJSON *mn = rget(rule, "min_length"), *mx = rget(rule, "max_length");
		if (cJSON_IsNumber(mn) && len < (size_t)mn->valuedouble)
			ERR(c, out, len ? "too_short" : "string_empty",
			    len ? "must have at least %d characters" : "must not be empty", mn->valueint);
		if (cJSON_IsNumber(mx) && len > (size_t)mx->valuedouble)
			ERR(c, out, "too_long", "must have at most %d characters, has %zu", mx->valueint, len);
		const cJSON *pat = rget(rule, "pattern");
		for (size_t i = 0; pat && i < c->v->npats; i++) {
			if (c->v->pats[i].node != pat)
				continue;
			if (regexec(&c->v->pats[i].re, val->valuestring, 0, NULL, 0)) {
				const char *hint = cJSON_GetStringValue(rget(rule, "pattern_hint"));
				ERR(c, out, "string_pattern_mismatch", "'%.80s' %s", val->valuestring,
				    hint ? hint : "has the wrong form");
			}
			break;
		}
		check_format(c, out, rule, val, parent);
	} else if (cJSON_IsNumber(val)) {
		double d = val->valuedouble;
		const cJSON *mn = rget(rule, "minimum"), *xm = rget(rule, "exclusive_minimum"),
			    *mx = rget(rule, "maximum");
		if (cJSON_IsNumber(mn) && !(d >= mn->valuedouble))
			ERR(c, out, "greater_than_equal", "must be >= %g, got %g", mn->valuedouble, d);
		if (cJSON_IsNumber(xm) && !(d > xm->valuedouble))
			ERR(c, out, "greater_than", "must be > %g, got %g", xm->valuedouble, d);
		if (cJSON_IsNumber(mx) && !(d <= mx->valuedouble))
			ERR(c, out, "less_than_equal", "must be <= %g, got %g", mx->valuedouble, d);
	} else if (cJSON_IsArray(val)) {
		check_array(c, out, rule, val);
	} else if (cJSON_IsObject(val)) {
		const cJSON *disc = rget(rule, "discriminator");
		if (disc) {
			const char *field = cJSON_GetStringValue(rget(disc, "field"));
			const cJSON *tag = field ? cJSON_GetObjectItemCaseSensitive(val, field) : NULL;
			const cJSON *target = cJSON_IsString(tag)
						      ? cJSON_GetObjectItemCaseSensitive(rget(disc, "map"),
											 tag->valuestring)
						      : NULL;
			if (!target) {
				char list[300] = "";
				const cJSON *e;
				cJSON_ArrayForEach(e, rget(disc, "map"))
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s'%s'",
						 list[0] ? ", " : "", e->string);
				if (!tag)
					vreport(c, out, 0, field, "missing", "required field '%s' is missing (one of %s)",
						field ? field : "?", list);
				else
					vreport(c, out, 0, field, "union_tag_invalid", "'%s' must be one of %s",
						field ? field : "?", list);
				goto done;
			}
			check_value(c, out, target, val, parent);
			goto done;
		}
		check_object(c, out, rule, val);
	}
done:
	if (warn) {
		cJSON *e;
		while ((e = cJSON_DetachItemFromArray(ws.errors, 0))) {
			cJSON_AddStringToObject(e, "severity", "warning");
			cJSON_AddItemToArray(s->warnings, e);
		}
		move_items(s->warnings, ws.warnings);
		move_items(s->refs, ws.refs);
		sink_cleanup(&ws);
	}
}

/* ======================================================================================
 * Models: tensors and axes (C checks)
 * ==================================================================================== */

enum { SZ_ANY, SZ_FIXED, SZ_PARAM, SZ_REF, SZ_NEW };

struct axis {
	char id[24];
	char type; /* b c i t s */
	int size_kind;
	int64_t fixed, min, step;
	const char *ref_tensor, *ref_axis; /* SZ_REF (0.5: ids; 0.4: ref_axis NULL, same index) */
	double ref_scale;                  /* 0.4 implicit shape: scale */
	double offset;                     /* 0.4: offset (output adds 2*offset); 0.5: offset */
	double scale;                      /* 0.5 axis scale */
	int64_t halo;
	int ref_index;                     /* 0.4: the referenced tensor's axis */
	char ref_buf[2][40];               /* 0.5.0 draft "tensor.axis" references, split */
};

struct tensor {
	char id[64];
	int output, index, naxes, axes_ok;
	int ref_bad; /* its size reference is broken: sizes derived from it mean nothing */
	struct axis axes[NPY_MAX_DIMS];
	const cJSON *node;
	const char *data_type;
	/* the test tensor: its path and where it is written */
	char test_path[1024];
	struct seg test_loc[5];
	int test_nloc;
	int test_ndim; /* -1: not read */
	int64_t test_shape[NPY_MAX_DIMS];
};

struct model {
	int v05; /* 0.5 layout; else 0.3/0.4 */
	int n;
	struct tensor t[64];
};

static void set_loc(struct vctx *c, const struct seg *segs, int n)
{
	c->nloc = 0;
	for (int i = 0; i < n; i++)
		c->loc[c->nloc++] = segs[i];
}

static void tensor_loc(struct vctx *c, const struct tensor *t)
{
	c->nloc = 0;
	push_key(c, t->output ? "outputs" : "inputs");
	push_idx(c, t->index);
}

static struct tensor *find_tensor(struct model *m, const char *id)
{
	for (int i = 0; id && i < m->n; i++)
		if (!strcmp(m->t[i].id, id))
			return &m->t[i];
	return NULL;
}

static int find_axis(const struct tensor *t, const char *id)
{
	for (int i = 0; id && i < t->naxes; i++)
		if (!strcmp(t->axes[i].id, id))
			return i;
	return -1;
}

static int num_list(const cJSON *a, int n, double *out)
{
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
		return -1;
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		if (cJSON_IsNull(e))
			out[i++] = NAN;
		else if (cJSON_IsNumber(e))
			out[i++] = e->valuedouble;
		else
			return -1;
	}
	return 0;
}

static char axis_type_04(char letter)
{
	switch (letter) {
	case 'b': return 'b';
	case 'c': return 'c';
	case 'i': return 'i';
	case 't': return 't';
	default: return 's';
	}
}

/* 0.3/0.4: axes "bcyx", shape list | {min, step} | {reference_tensor, scale, offset}. */
static void read_tensor_04(struct vctx *c, struct sink *s, struct model *m, struct tensor *t)
{
	const cJSON *axes = cJSON_GetObjectItemCaseSensitive(t->node, "axes");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t->node, "name"));
	snprintf(t->id, sizeof(t->id), "%s", name ? name : "");
	t->data_type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t->node, "data_type"));
	if (!cJSON_IsString(axes))
		return;
	size_t n = strlen(axes->valuestring);
	tensor_loc(c, t);
	push_key(c, "axes");
	if (n == 0 || n > NPY_MAX_DIMS) {
		ERR(c, s, "axes_invalid", "axes '%s' must have 1 to %d letters", axes->valuestring, NPY_MAX_DIMS);
		return;
	}
	int ok = 1;
	for (size_t i = 0; i < n; i++) {
		char a = axes->valuestring[i];
		if (!strchr("bitczyx", a)) {
			ERR(c, s, "axes_invalid", "axes '%s': '%c' is not one of b, i, t, c, z, y, x",
			    axes->valuestring, a);
			ok = 0;
		} else if (memchr(axes->valuestring, a, i)) {
			ERR(c, s, "axes_invalid", "axes '%s': '%c' appears twice", axes->valuestring, a);
			ok = 0;
		}
		t->axes[i] = (struct axis){.type = axis_type_04(a), .size_kind = SZ_ANY, .scale = 1};
		t->axes[i].id[0] = a;
	}
	t->naxes = (int)n;
	t->axes_ok = ok;
	c->nloc--;
	/* shape */
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t->node, "shape");
	double a[NPY_MAX_DIMS], b[NPY_MAX_DIMS];
	push_key(c, "shape");
	if (cJSON_IsArray(shape)) {
		if (num_list(shape, t->naxes, a))
			ERR(c, s, "shape_mismatch", "shape has %d entries but axes '%s' has %d",
			    cJSON_GetArraySize(shape), axes->valuestring, t->naxes);
		else
			for (int i = 0; i < t->naxes; i++)
				t->axes[i].size_kind = SZ_FIXED, t->axes[i].fixed = (int64_t)a[i];
	} else if (cJSON_IsObject(shape) && cJSON_GetObjectItemCaseSensitive(shape, "min")) {
		if (num_list(cJSON_GetObjectItemCaseSensitive(shape, "min"), t->naxes, a) ||
		    num_list(cJSON_GetObjectItemCaseSensitive(shape, "step"), t->naxes, b))
			vreport(c, s, 0, "min", "shape_mismatch",
				"shape min and step must each have %d entries, one per axis of '%s'", t->naxes,
				axes->valuestring);
		else
			for (int i = 0; i < t->naxes; i++) {
				t->axes[i].size_kind = b[i] == 0 ? SZ_FIXED : SZ_PARAM;
				t->axes[i].fixed = t->axes[i].min = (int64_t)a[i];
				t->axes[i].step = (int64_t)b[i];
			}
	} else if (cJSON_IsObject(shape)) {
		const char *key = cJSON_GetObjectItemCaseSensitive(shape, "reference_tensor") ? "reference_tensor"
													: "reference_input";
		const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(shape, key));
		if (!t->output)
			ERR(c, s, "shape_invalid", "an input shape cannot reference another tensor");
		if (num_list(cJSON_GetObjectItemCaseSensitive(shape, "scale"), t->naxes, a) ||
		    num_list(cJSON_GetObjectItemCaseSensitive(shape, "offset"), t->naxes, b)) {
			vreport(c, s, 0, "scale", "shape_mismatch",
				"shape scale and offset must each have %d entries, one per axis of '%s'",
				t->naxes, axes->valuestring);
		} else if (ref) {
			/* A null scale marks an axis the reference does not have (size
			 * 2*offset); the others map, in order, onto the reference's axes. */
			int k = 0;
			for (int i = 0; i < t->naxes; i++) {
				t->axes[i].size_kind = isnan(a[i]) ? SZ_NEW : SZ_REF;
				t->axes[i].ref_tensor = ref;
				t->axes[i].ref_index = isnan(a[i]) ? -1 : k++;
				t->axes[i].ref_scale = a[i];
				t->axes[i].offset = b[i];
			}
		}
	}
	c->nloc--;
	const cJSON *halo = cJSON_GetObjectItemCaseSensitive(t->node, "halo");
	if (halo) {
		push_key(c, "halo");
		if (num_list(halo, t->naxes, a))
			ERR(c, s, "shape_mismatch", "halo must have %d entries, one per axis of '%s'", t->naxes,
			    axes->valuestring);
		else
			for (int i = 0; i < t->naxes; i++)
				t->axes[i].halo = (int64_t)a[i];
		c->nloc--;
	}
	(void)m;
}

/* 0.5: axes [{type, id, size, scale, channel_names, halo}]. */
static void read_tensor_05(struct vctx *c, struct sink *s, struct tensor *t)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t->node, "id"));
	snprintf(t->id, sizeof(t->id), "%s", id ? id : t->output ? "output" : "input");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(t->node, "data");
	t->data_type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "type"));
	const cJSON *axes = cJSON_GetObjectItemCaseSensitive(t->node, "axes");
	if (!cJSON_IsArray(axes))
		return;
	int n = cJSON_GetArraySize(axes), nbatch = 0;
	tensor_loc(c, t);
	push_key(c, "axes");
	if (n == 0 || n > NPY_MAX_DIMS) {
		ERR(c, s, "axes_invalid", "a tensor needs 1 to %d axes, has %d", NPY_MAX_DIMS, n);
		return;
	}
	t->naxes = n;
	t->axes_ok = 1;
	int i = 0;
	const cJSON *ax;
	cJSON_ArrayForEach(ax, axes) {
		struct axis *a = &t->axes[i];
		*a = (struct axis){.size_kind = SZ_ANY, .scale = 1};
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ax, "type"));
		const char *aid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ax, "id"));
		a->type = !type ? '?' : !strcmp(type, "space") ? 's' : type[0];
		snprintf(a->id, sizeof(a->id), "%s",
			 aid ? aid : !type ? "?" : !strcmp(type, "space") ? "x" : type);
		push_idx(c, i);
		if (a->type == 'b' && ++nbatch > 1)
			ERR(c, s, "axes_invalid", "a tensor can have only one batch axis");
		if (find_axis(t, a->id) >= 0 && find_axis(t, a->id) < i) {
			vreport(c, s, 0, "id", "duplicate_axis_id", "axis id '%s' is used twice in this tensor", a->id);
			t->axes_ok = 0;
		}
		const cJSON *sc = cJSON_GetObjectItemCaseSensitive(ax, "scale");
		if (cJSON_IsNumber(sc) && sc->valuedouble > 0)
			a->scale = sc->valuedouble;
		const cJSON *halo = cJSON_GetObjectItemCaseSensitive(ax, "halo");
		if (cJSON_IsNumber(halo))
			a->halo = (int64_t)halo->valuedouble;
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(ax, "size");
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(ax, "channel_names");
		if (a->type == 'c' && cJSON_IsArray(names)) {
			a->size_kind = SZ_FIXED;
			a->fixed = cJSON_GetArraySize(names);
		} else if (cJSON_IsNumber(size)) {
			a->size_kind = SZ_FIXED;
			a->fixed = (int64_t)size->valuedouble;
		} else if (cJSON_IsObject(size) && cJSON_GetObjectItemCaseSensitive(size, "min")) {
			const cJSON *mn = cJSON_GetObjectItemCaseSensitive(size, "min");
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(size, "step");
			a->size_kind = SZ_PARAM;
			a->min = a->fixed = cJSON_IsNumber(mn) ? (int64_t)mn->valuedouble : 1;
			a->step = cJSON_IsNumber(st) ? (int64_t)st->valuedouble : 1;
		} else if (cJSON_IsObject(size) && cJSON_GetObjectItemCaseSensitive(size, "tensor_id")) {
			const cJSON *off = cJSON_GetObjectItemCaseSensitive(size, "offset");
			a->size_kind = SZ_REF;
			a->ref_tensor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(size, "tensor_id"));
			a->ref_axis = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(size, "axis_id"));
			a->offset = cJSON_IsNumber(off) ? off->valuedouble : 0;
		}
		else if (cJSON_IsString(size) && strrchr(size->valuestring, '.')) {
			/* 0.5.0 draft: "tensor.axis" */
			const char *dot = strrchr(size->valuestring, '.');
			snprintf(a->ref_buf[0], sizeof(a->ref_buf[0]), "%.*s", (int)(dot - size->valuestring),
				 size->valuestring);
			snprintf(a->ref_buf[1], sizeof(a->ref_buf[1]), "%s", dot + 1);
			a->size_kind = SZ_REF;
			a->ref_tensor = a->ref_buf[0];
			a->ref_axis = a->ref_buf[1];
		}
		if (a->halo && a->size_kind != SZ_REF)
			vreport(c, s, 0, "halo", "halo_invalid",
				"a halo needs a size that references another tensor's axis");
		pop(c);
		i++;
	}
}

/* The smallest size an axis can have, or -1 when unknown. */
static int64_t axis_min(struct model *m, const struct tensor *t, int ai, int depth)
{
	const struct axis *a = &t->axes[ai];
	if (depth > 8)
		return -1;
	switch (a->size_kind) {
	case SZ_FIXED: return a->fixed;
	case SZ_PARAM: return a->min;
	case SZ_ANY: return 1;
	case SZ_NEW: return (int64_t)(2 * a->offset);
	default: break;
	}
	struct tensor *r = find_tensor(m, a->ref_tensor);
	int ri = m->v05 ? (r ? find_axis(r, a->ref_axis) : -1) : a->ref_index;
	if (!r || ri < 0 || ri >= r->naxes)
		return -1;
	int64_t rm = axis_min(m, r, ri, depth + 1);
	if (rm < 0)
		return -1;
	if (m->v05)
		return (int64_t)floor((double)rm * r->axes[ri].scale / a->scale + a->offset);
	return (int64_t)floor((double)rm * a->ref_scale + 2 * a->offset);
}

static void check_references(struct vctx *c, struct sink *s, struct model *m, struct tensor *t)
{
	for (int i = 0; i < t->naxes; i++) {
		struct axis *a = &t->axes[i];
		if (a->size_kind != SZ_REF && !(a->size_kind == SZ_NEW && !m->v05))
			continue;
		tensor_loc(c, t);
		if (!m->v05) {
			push_key(c, "shape");
			const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t->node, "shape");
			const char *key = cJSON_GetObjectItemCaseSensitive(shape, "reference_tensor")
						  ? "reference_tensor" : "reference_input";
			struct tensor *r = find_tensor(m, a->ref_tensor);
			t->ref_bad = !r || r->output;
			if (!r || r->output)
				vreport(c, s, 0, key, "reference_invalid",
					"'%s' is not the name of an input tensor", a->ref_tensor);
			else {
				int mapped = 0;
				for (int k = 0; k < t->naxes; k++)
					mapped += t->axes[k].size_kind == SZ_REF;
				t->ref_bad = mapped != r->naxes;
				if (mapped != r->naxes)
					vreport(c, s, 0, key, "reference_invalid",
						"referenced tensor '%s' has %d dimensions but output '%s' maps %d of its %d axes onto it (scale not null); they must match",
						r->id, r->naxes, t->id, mapped, t->naxes);
			}
			return; /* one reference per 0.4 tensor */
		}
		push_key(c, "axes");
		push_idx(c, i);
		push_key(c, "size");
		struct tensor *r = find_tensor(m, a->ref_tensor);
		int ri = r ? find_axis(r, a->ref_axis) : -1;
		t->ref_bad |= !r || ri < 0;
		if (!r)
			vreport(c, s, 0, "tensor_id", "reference_invalid", "no tensor has the id '%s'",
				a->ref_tensor ? a->ref_tensor : "");
		else if (ri < 0)
			vreport(c, s, 0, "axis_id", "reference_invalid", "tensor '%s' has no axis '%s'", r->id,
				a->ref_axis ? a->ref_axis : "");
		else if (r->axes[ri].type == 'b')
			vreport(c, s, 0, "axis_id", "reference_invalid",
				"a size cannot reference the batch axis '%s' of tensor '%s'", a->ref_axis, r->id);
		else if (r == t && ri == i)
			vreport(c, s, 0, "axis_id", "reference_invalid", "an axis size cannot reference itself");
	}
}

static void fmt_shape(char *buf, size_t n, const int64_t *v, int k, const char *sep)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < k && o + 24 < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? sep : "", (long long)v[i]);
}

static void check_halo(struct vctx *c, struct sink *s, struct model *m, struct tensor *t)
{
	int64_t mins[NPY_MAX_DIMS], halos[NPY_MAX_DIMS];
	int bad = -1;
	for (int i = 0; i < t->naxes; i++) {
		mins[i] = axis_min(m, t, i, 0);
		halos[i] = t->axes[i].halo;
		if (halos[i] < 0 || (halos[i] && mins[i] >= 0 && mins[i] - 2 * halos[i] < 1))
			bad = bad < 0 ? i : bad;
	}
	if (bad < 0)
		return;
	char ms[256], hs[256];
	fmt_shape(ms, sizeof(ms), mins, t->naxes, " ");
	fmt_shape(hs, sizeof(hs), halos, t->naxes, ", ");
	tensor_loc(c, t);
	if (m->v05) {
		push_key(c, "axes");
		push_idx(c, bad);
		push_key(c, "halo");
		ERR(c, s, "halo_too_large",
		    "halo %lld of axis '%s' of output '%s' leaves nothing: its minimal size is %lld; the halo must be less than half of it",
		    (long long)halos[bad], t->axes[bad].id, t->id, (long long)mins[bad]);
	} else {
		push_key(c, "halo");
		ERR(c, s, "halo_too_large", "Minimal shape [%s] of output %s is too small for halo [%s]", ms, t->id,
		    hs);
	}
}

static int read_model(struct vctx *c, struct sink *s, const cJSON *root, struct model *m)
{
	const char *sides[2] = {"inputs", "outputs"};
	m->n = 0;
	for (int o = 0; o < 2; o++) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, sides[o]);
		int i = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, list) {
			if (m->n >= (int)(sizeof(m->t) / sizeof(m->t[0]))) {
				c->nloc = 0;
				push_key(c, sides[o]);
				ERR(c, s, "too_long", "at most %d tensors are supported",
				    (int)(sizeof(m->t) / sizeof(m->t[0])));
				return -1;
			}
			struct tensor *t = &m->t[m->n++];
			memset(t, 0, sizeof(*t));
			t->output = o;
			t->index = i++;
			t->node = e;
			t->test_ndim = -1;
			if (cJSON_IsObject(e)) {
				if (m->v05)
					read_tensor_05(c, s, t);
				else
					read_tensor_04(c, s, m, t);
			}
		}
	}
	return 0;
}

static void check_model(struct vctx *c, struct sink *s, const cJSON *root, struct model *m)
{
	if (read_model(c, s, root, m))
		return;
	for (int i = 0; i < m->n; i++) {
		struct tensor *t = &m->t[i];
		for (int j = 0; j < i; j++) {
			if (!t->id[0] || strcmp(m->t[j].id, t->id))
				continue;
			tensor_loc(c, t);
			vreport(c, s, 0, m->v05 ? "id" : "name", "duplicate_tensor_id",
				"tensor %s '%s' is already used by %s[%d]; tensor %ss must be unique",
				m->v05 ? "id" : "name", t->id, m->t[j].output ? "outputs" : "inputs", m->t[j].index,
				m->v05 ? "id" : "name");
			break;
		}
	}
	for (int i = 0; i < m->n; i++)
		if (m->t[i].axes_ok)
			check_references(c, s, m, &m->t[i]);
	for (int i = 0; i < m->n; i++)
		if (m->t[i].axes_ok && m->t[i].output && !m->t[i].ref_bad)
			check_halo(c, s, m, &m->t[i]);
}

/* ======================================================================================
 * IO checks: referenced files, test tensors, documentation
 * ==================================================================================== */

struct io {
	const struct validate_files *f;
	cJSON *cache; /* path -> {"size": n} or {"missing": true}, plus "sha256" once computed */
	int rc;       /* a callback failure: the validation cannot finish */
	struct bo_error *err;
};

/* 1 present, 0 missing, -1 callback failure (io->rc set). */
static int io_exists(struct io *io, const char *path)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(io->cache, path);
	if (e)
		return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "missing")) ? 0 : 1;
	uint64_t size = 0;
	int rc = io->f->stat(io->f->ctx, path, &size, io->err);
	if (rc && rc != BO_ENOTFOUND) {
		io->rc = rc;
		return -1;
	}
	cJSON *o = cJSON_AddObjectToObject(io->cache, path);
	if (o && rc)
		cJSON_AddTrueToObject(o, "missing");
	else if (o)
		cJSON_AddNumberToObject(o, "size", (double)size);
	return rc ? 0 : 1;
}

static const char *io_sha256(struct io *io, const char *path)
{
	cJSON *e = cJSON_GetObjectItemCaseSensitive(io->cache, path);
	const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "sha256"));
	if (have)
		return have;
	char hex[65] = "";
	int rc = io->f->sha256(io->f->ctx, path, hex, io->err);
	if (rc) {
		io->rc = rc;
		return NULL;
	}
	cJSON *s = cJSON_AddStringToObject(e, "sha256", hex);
	return s ? s->valuestring : NULL;
}

static void set_loc_json(struct vctx *c, const cJSON *loc)
{
	c->nloc = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, loc) {
		if (cJSON_IsString(e))
			push_key(c, e->valuestring);
		else
			push_idx(c, e->valueint);
	}
}

static void check_files(struct vctx *c, struct sink *s, const cJSON *refs, struct io *io)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, refs) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "path"));
		const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "sha256"));
		int have = io_exists(io, path);
		if (have < 0)
			return;
		set_loc_json(c, cJSON_GetObjectItemCaseSensitive(r, "loc"));
		if (!have) {
			ERR(c, s, "file_missing", "'%s' is not in the package; add it or give an http(s) URL", path);
			continue;
		}
		if (!want || !hex64(want))
			continue;
		const char *got = io_sha256(io, path);
		if (!got)
			return;
		if (strcasecmp(got, want)) {
			set_loc_json(c, cJSON_GetObjectItemCaseSensitive(r, "sha256_loc"));
			ERR(c, s, "sha256_mismatch",
			    "sha256 of '%s' is %s but the RDF declares %s; update the hash or the file", path, got,
			    want);
		}
	}
}

/* Reads the .npy header of a present file into t->test_shape; problems are reported. */
static void read_test_header(struct vctx *c, struct sink *s, struct tensor *t, struct io *io)
{
	unsigned char *buf = NULL;
	size_t want = NPY_HEAD_FIRST, got = 0, needed = 0;
	struct npy_header h;
	for (int pass = 0; pass < 2; pass++) {
		unsigned char *nb = realloc(buf, want);
		if (!nb) {
			c->oom = 1;
			goto out;
		}
		buf = nb;
		int rc = io->f->read_head(io->f->ctx, t->test_path, buf, want, &got, io->err);
		if (rc) {
			io->rc = rc;
			goto out;
		}
		struct bo_error perr = BO_ERROR_INIT;
		rc = npy_parse_header(buf, got, &h, &needed, &perr);
		if (rc == NPY_ENEEDMORE && pass == 0 && needed > want && got == want) {
			want = needed;
			continue;
		}
		set_loc(c, t->test_loc, t->test_nloc);
		if (rc == NPY_ENEEDMORE)
			ERR(c, s, "npy_invalid", "'%s' is not a valid .npy file: it is shorter than its header",
			    t->test_path);
		else if (rc)
			ERR(c, s, "npy_invalid", "'%s': %s", t->test_path, perr.detail);
		bo_error_cleanup(&perr);
		if (rc)
			goto out;
		break;
	}
	t->test_ndim = h.ndim;
	memcpy(t->test_shape, h.shape, sizeof(t->test_shape));
	set_loc(c, t->test_loc, t->test_nloc);
	if (h.ndim != t->naxes) {
		char shp[256];
		fmt_shape(shp, sizeof(shp), h.shape, h.ndim, ", ");
		ERR(c, s, "npy_shape", "test tensor '%s' has shape (%s), %d axes, but %s[%d] declares %d axes",
		    t->test_path, shp, h.ndim, t->output ? "outputs" : "inputs", t->index, t->naxes);
		t->test_ndim = -1;
	} else if (t->data_type && strcmp(t->data_type, npy_dtype_name(h.dtype))) {
		WARN(c, s, "npy_dtype", "test tensor '%s' holds %s but %s[%d] declares data_type %s",
		     t->test_path, npy_dtype_name(h.dtype), t->output ? "outputs" : "inputs", t->index,
		     t->data_type);
	}
out:
	free(buf);
}

/* Whether test shape fits the declared sizes; explains the first axis that does not. */
static int fits(struct model *m, const struct tensor *t, char *why, size_t n)
{
	for (int i = 0; i < t->naxes; i++) {
		const struct axis *a = &t->axes[i];
		int64_t v = t->test_shape[i];
		int64_t want = -1;
		switch (a->size_kind) {
		case SZ_FIXED:
			if (v != a->fixed && !(a->type == 'b' && m->v05)) {
				snprintf(why, n, "axis '%s' must be %lld", a->id, (long long)a->fixed);
				return 0;
			}
			break;
		case SZ_PARAM:
			if (v < a->min || (a->step ? (v - a->min) % a->step : v != a->min)) {
				snprintf(why, n, "axis '%s' must be %lld + n×%lld (n = 0, 1, 2, …)", a->id,
					 (long long)a->min, (long long)a->step);
				return 0;
			}
			break;
		case SZ_NEW:
			want = (int64_t)(2 * a->offset);
			break;
		case SZ_REF: {
			const struct tensor *r = find_tensor(m, a->ref_tensor);
			int ri = !r ? -1 : m->v05 ? find_axis(r, a->ref_axis) : a->ref_index;
			if (!r || ri < 0 || r->test_ndim != r->naxes)
				break;
			double rs = (double)r->test_shape[ri];
			want = m->v05 ? (int64_t)floor(rs * r->axes[ri].scale / a->scale + a->offset)
				      : (int64_t)floor(rs * a->ref_scale + 2 * a->offset);
			break;
		}
		default:
			break;
		}
		if (want >= 0 && v != want && a->type != 'b') {
			snprintf(why, n, "axis '%s' must be %lld from the size of its reference tensor '%s'", a->id,
				 (long long)want, a->ref_tensor ? a->ref_tensor : "");
			return 0;
		}
	}
	return 1;
}

static void locate_test_tensors(struct vctx *c, struct sink *s, const cJSON *root, struct model *m)
{
	for (int i = 0; i < m->n; i++) {
		struct tensor *t = &m->t[i];
		const cJSON *src;
		if (m->v05) {
			src = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(t->node, "test_tensor"), "source");
			t->test_loc[0] = (struct seg){t->output ? "outputs" : "inputs", 0};
			t->test_loc[1] = (struct seg){NULL, t->index};
			t->test_loc[2] = (struct seg){"test_tensor", 0};
			t->test_loc[3] = (struct seg){"source", 0};
			t->test_nloc = 4;
		} else {
			const char *key = t->output ? "test_outputs" : "test_inputs";
			const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, key);
			src = cJSON_GetArrayItem(list, t->index);
			t->test_loc[0] = (struct seg){key, 0};
			t->test_loc[1] = (struct seg){NULL, t->index};
			t->test_nloc = 2;
		}
		if (cJSON_IsString(src) && !is_url(src->valuestring))
			clean_rel_path(src->valuestring, t->test_path, sizeof(t->test_path));
	}
	if (m->v05)
		return;
	for (int o = 0; o < 2; o++) {
		const char *key = o ? "test_outputs" : "test_inputs";
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, key);
		int want = 0;
		for (int i = 0; i < m->n; i++)
			want += m->t[i].output == o;
		if (cJSON_IsArray(list) && cJSON_GetArraySize(list) != want) {
			c->nloc = 0;
			push_key(c, key);
			ERR(c, s, "test_tensor_count", "%s lists %d files but the model has %d %s", key,
			    cJSON_GetArraySize(list), want, o ? "outputs" : "inputs");
		}
	}
}

static void check_test_tensors(struct vctx *c, struct sink *s, struct model *m, struct io *io)
{
	for (int i = 0; i < m->n && !io->rc; i++) {
		struct tensor *t = &m->t[i];
		if (!t->test_path[0] || !t->axes_ok)
			continue;
		int have = io_exists(io, t->test_path);
		if (have == 1) /* a missing file is reported once, with the referenced files */
			read_test_header(c, s, t, io);
	}
	for (int i = 0; i < m->n && !io->rc; i++) {
		struct tensor *t = &m->t[i];
		char why[256], shp[256];
		if (t->test_ndim < 0 || t->test_ndim != t->naxes || fits(m, t, why, sizeof(why)))
			continue;
		fmt_shape(shp, sizeof(shp), t->test_shape, t->test_ndim, ", ");
		set_loc(c, t->test_loc, t->test_nloc);
		ERR(c, s, "npy_shape", "test tensor '%s' has shape (%s), which does not fit %s[%d] '%s': %s",
		    t->test_path, shp, t->output ? "outputs" : "inputs", t->index, t->id, why);
	}
}

static int has_validation_heading(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[0] == '#') {
			for (size_t i = 0; i + 10 <= n; i++)
				if (!strncasecmp(p + i, "validation", 10))
					return 1;
		}
		p += n + 1;
	}
	return 0;
}

static void check_documentation(struct vctx *c, struct sink *s, const cJSON *root, struct io *io)
{
	const cJSON *doc = cJSON_GetObjectItemCaseSensitive(root, "documentation");
	char path[1024];
	if (!cJSON_IsString(doc) || is_url(doc->valuestring) ||
	    clean_rel_path(doc->valuestring, path, sizeof(path)) || io_exists(io, path) != 1)
		return; /* missing or remote: the rules and the file checks say so */
	char *buf = malloc(DOC_HEAD_BYTES);
	size_t got = 0;
	if (!buf) {
		c->oom = 1;
		return;
	}
	int rc = io->f->read_head(io->f->ctx, path, buf, DOC_HEAD_BYTES, &got, io->err);
	if (rc)
		io->rc = rc;
	else if (!has_validation_heading(buf, got)) {
		c->nloc = 0;
		push_key(c, "documentation");
		WARN(c, s, "documentation_no_validation",
		     "'%s' has no section on validation (a heading with the word \"Validation\"): say how the model was validated",
		     path);
	}
	free(buf);
}

static void check_version(struct vctx *c, struct sink *s, const cJSON *root,
			  const struct validate_options *opt, int *rc_out, struct bo_error *err)
{
	static const char *pat = "^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$";
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
	char text[96];
	if (!v)
		return;
	c->nloc = 0;
	push_key(c, "version");
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		snprintf(text, sizeof(text), "%.15g", v->valuedouble);
	else if (cJSON_IsString(v))
		snprintf(text, sizeof(text), "%s", v->valuestring);
	else
		return; /* the rules report the type */
	regex_t re;
	if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB)) {
		c->oom = 1;
		return;
	}
	int bad = regexec(&re, text, 0, NULL, 0) != 0 || strlen(text) > 64;
	regfree(&re);
	if (bad) {
		ERR(c, s, "version_invalid",
		    "version '%.64s' must start with a letter or digit and use only letters, digits, '.', '+' and '-' (at most 64)",
		    text);
		return;
	}
	if (!opt || !opt->version_exists)
		return;
	int rc = opt->version_exists(opt->version_ctx, text, err);
	if (rc < 0)
		*rc_out = rc;
	else if (rc == 1)
		ERR(c, s, "version_exists",
		    "version '%s' of this resource is already published; published versions are immutable, so raise the version",
		    text);
}

/* ======================================================================================
 * The summary
 * ==================================================================================== */

static cJSON *detail_new(cJSON *details, const char *name)
{
	cJSON *d = cJSON_CreateObject();
	if (!d)
		return NULL;
	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddStringToObject(d, "status", "passed");
	cJSON_AddItemToObject(d, "loc", cJSON_CreateArray());
	cJSON_AddItemToObject(d, "errors", cJSON_CreateArray());
	cJSON_AddItemToObject(d, "warnings", cJSON_CreateArray());
	cJSON_AddItemToArray(details, d);
	return d;
}

/* Moves a sink's problems into a new detail; its status follows. */
static void detail_from(cJSON *details, const char *name, struct sink *s)
{
	cJSON *d = detail_new(details, name);
	if (!d)
		return;
	move_items(cJSON_GetObjectItemCaseSensitive(d, "errors"), s->errors);
	move_items(cJSON_GetObjectItemCaseSensitive(d, "warnings"), s->warnings);
	if (s->nerr)
		cJSON_ReplaceItemInObjectCaseSensitive(d, "status", cJSON_CreateString("failed"));
	s->nerr = 0;
}

static void detail_skipped(cJSON *details, const char *name, const char *why)
{
	cJSON *d = detail_new(details, name);
	if (!d)
		return;
	cJSON_ReplaceItemInObjectCaseSensitive(d, "status", cJSON_CreateString("skipped"));
	cJSON_AddStringToObject(d, "reason", why);
}

static void minor_of(const char *fv, char *out, size_t n)
{
	const char *dot = strchr(fv, '.');
	const char *dot2 = dot ? strchr(dot + 1, '.') : NULL;
	snprintf(out, n, "%.*s", (int)(dot2 ? (size_t)(dot2 - fv) : strlen(fv)), fv);
}

static const char *str_or(const cJSON *o, const char *k, const char *dflt)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : dflt;
}

/* Picks the rules for the RDF; reports why none fits. */
static const struct ruleset *pick_rules(struct vctx *c, struct sink *s, const cJSON *root,
					char *type, size_t tn, char *fv, size_t fn)
{
	const cJSON *jfv = cJSON_GetObjectItemCaseSensitive(root, "format_version");
	const cJSON *jt = cJSON_GetObjectItemCaseSensitive(root, "type");
	char minor[16];
	c->nloc = 0;
	snprintf(fv, fn, "%s", cJSON_IsString(jfv) ? jfv->valuestring : "");
	snprintf(type, tn, "%s", cJSON_IsString(jt) ? jt->valuestring : "");
	if (!jfv) {
		vreport(c, s, 0, "format_version", "missing",
			"required field 'format_version' is missing (e.g. format_version: 0.5.4)");
		return NULL;
	}
	if (!cJSON_IsString(jfv)) {
		vreport(c, s, 0, "format_version", "type_error",
			"format_version must be a string like \"0.5.4\"; quote it if YAML read it as a number");
		return NULL;
	}
	if (jt && !cJSON_IsString(jt)) {
		vreport(c, s, 0, "type", "type_error", "type must be a string such as model or dataset");
		return NULL;
	}
	minor_of(fv, minor, sizeof(minor));
	if (!type[0]) {
		if (strcmp(minor, "0.2") && strcmp(minor, "0.3")) {
			vreport(c, s, 0, "type", "missing", "required field 'type' is missing (model, dataset, notebook, application)");
			return NULL;
		}
		snprintf(type, tn, "generic");
	}
	const struct ruleset *rs = find_set(c->v, type, minor);
	if (rs)
		return rs;
	int known = 0;
	char list[256] = "";
	for (size_t i = 0; i < c->v->nsets; i++) {
		if (strcmp(c->v->sets[i].type, type))
			continue;
		known = 1;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "",
			 c->v->sets[i].minor);
	}
	if (known) {
		vreport(c, s, 0, "format_version", "format_version_unsupported",
			"format_version '%s' is not supported for type %s; supported: %s", fv, type, list);
		return NULL;
	}
	rs = find_set(c->v, "generic", minor);
	if (!rs) {
		vreport(c, s, 0, "format_version", "format_version_unsupported",
			"format_version '%s' is not supported for type %s", fv, type);
		return NULL;
	}
	vreport(c, s, 1, "type", "type_unknown", "type '%.40s' is not a known type; validated as generic", type);
	return rs;
}

int validate_text(const validator *v, const char *text, size_t len,
		  const struct validate_options *opt, cJSON **summary, struct bo_error *err)
{
	struct rdf_limits lim;
	rdf_doc *doc = NULL;
	struct sink s;
	int rc = 0;
	char type[64] = "", fv[64] = "", name[128];
	cJSON *sum = cJSON_CreateObject();
	cJSON *details = cJSON_CreateArray();
	struct io io = {0};
	struct model *m = NULL;
	struct vctx c = {0};
	if (!opt->limits)
		rdf_limits_from_config(&lim, NULL);
	if (sink_init(&s) || !sum || !details) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	io.f = opt->files;
	io.err = err;
	io.cache = cJSON_CreateObject();
	c.v = v;
	struct bo_error perr = BO_ERROR_INIT;
	int prc = rdf_parse(&doc, text, len, opt->limits ? opt->limits : &lim, &perr);
	if (prc == BO_ENOMEM) {
		bo_error_cleanup(&perr);
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON *yd = detail_new(details, "YAML syntax");
	if (prc) {
		/* A YAML problem fails the summary; nothing else can be checked. */
		cJSON *yerr = cJSON_GetObjectItemCaseSensitive(yd, "errors");
		if (perr.errors)
			move_items(yerr, perr.errors);
		if (!cJSON_GetArraySize(yerr))
			cJSON_AddItemToArray(yerr, cJSON_Parse("{\"loc\":[],\"type\":\"yaml_syntax\"}")),
				cJSON_AddStringToObject(cJSON_GetArrayItem(yerr, 0), "msg", perr.detail);
		cJSON_ReplaceItemInObjectCaseSensitive(yd, "status", cJSON_CreateString("failed"));
		bo_error_cleanup(&perr);
		cJSON_AddStringToObject(sum, "name", "");
		goto finish;
	}
	bo_error_cleanup(&perr);
	const cJSON *root = rdf_root(doc);
	c.doc = doc;
	snprintf(name, sizeof(name), "%s", str_or(root, "name", ""));
	cJSON_AddStringToObject(sum, "name", name);
	c.rs = pick_rules(&c, &s, root, type, sizeof(type), fv, sizeof(fv));
	char dname[160];
	snprintf(dname, sizeof(dname), "format: %s %s rules", type[0] ? type : "?", c.rs ? c.rs->minor : fv);
	if (c.rs) {
		c.nloc = 0;
		check_value(&c, &s, c.rs->root, root, NULL);
	}
	detail_from(details, dname, &s);
	int model = c.rs && !strcmp(c.rs->type, "model");
	if (model) {
		m = calloc(1, sizeof(*m));
		if (!m) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		m->v05 = !strcmp(c.rs->minor, "0.5");
		check_model(&c, &s, root, m);
		if (!opt->files)
			locate_test_tensors(&c, &s, root, m);
		detail_from(details, "tensors and axes", &s);
	}
	if (!opt->files) {
		detail_skipped(details, "referenced files", "IO checks are off");
		if (model)
			detail_skipped(details, "test tensors", "IO checks are off");
		detail_skipped(details, "documentation", "IO checks are off");
	} else if (c.rs) {
		check_files(&c, &s, s.refs, &io);
		if (io.rc)
			goto io_failed;
		detail_from(details, "referenced files", &s);
		if (model) {
			locate_test_tensors(&c, &s, root, m);
			check_test_tensors(&c, &s, m, &io);
			if (io.rc)
				goto io_failed;
			detail_from(details, "test tensors", &s);
		}
		check_documentation(&c, &s, root, &io);
		if (io.rc)
			goto io_failed;
		detail_from(details, "documentation", &s);
	}
	if (c.rs) {
		int vrc = 0;
		check_version(&c, &s, root, opt, &vrc, err);
		if (vrc) {
			rc = vrc;
			goto fail;
		}
		detail_from(details, "version", &s);
	}
	if (c.oom) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
finish:;
	int failed = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, details) failed |= !strcmp(str_or(d, "status", ""), "failed");
	cJSON_AddStringToObject(sum, "source_name", opt->source_name ? opt->source_name : "");
	cJSON_AddStringToObject(sum, "id", doc ? str_or(rdf_root(doc), "id", "") : "");
	cJSON_AddStringToObject(sum, "type", type);
	cJSON_AddStringToObject(sum, "format_version", fv);
	cJSON_AddStringToObject(sum, "status", failed ? "failed" : opt->files ? "passed" : "valid-format");
	cJSON_AddItemToObject(sum, "details", details);
	details = NULL;
	cJSON *env = cJSON_AddObjectToObject(sum, "env");
	cJSON_AddStringToObject(env, "backoffice", BO_VERSION);
	cJSON_AddBoolToObject(env, "io_checks", opt->files != NULL);
	if (summary_to_spec(sum, NULL)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	*summary = sum;
	sum = NULL;
	goto out;
io_failed:
	rc = io.rc;
fail:
	if (!err->code)
		bo_error_set(err, rc ? rc : BO_EINTERNAL, "validation could not finish");
out:
	free(m);
	cJSON_Delete(io.cache);
	cJSON_Delete(details);
	cJSON_Delete(sum);
	sink_cleanup(&s);
	rdf_free(doc);
	return rc;
}

const char *validate_summary_status(const cJSON *summary)
{
	return str_or(summary, "status", "failed");
}

const char *validate_summary_type(const cJSON *summary)
{
	return str_or(summary, "type", "");
}

cJSON *validate_summary_errors(const cJSON *summary)
{
	cJSON *all = cJSON_CreateArray();
	const cJSON *d, *e;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details")) {
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "errors")) {
			cJSON *dup = cJSON_Duplicate(e, 1);
			if (!dup || !all) {
				cJSON_Delete(dup);
				cJSON_Delete(all);
				return NULL;
			}
			cJSON_AddItemToArray(all, dup);
		}
	}
	return all;
}

static void print_loc(FILE *f, const cJSON *loc)
{
	const cJSON *e;
	int first = 1;
	cJSON_ArrayForEach(e, loc) {
		if (cJSON_IsNumber(e))
			fprintf(f, "[%d]", e->valueint);
		else
			fprintf(f, "%s%s", first ? "" : ".", e->valuestring);
		first = 0;
	}
	if (first)
		fputs("(root)", f);
}

static void print_problems(FILE *f, const cJSON *list, const char *mark)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, list) {
		const cJSON *line = cJSON_GetObjectItemCaseSensitive(e, "line");
		const cJSON *col = cJSON_GetObjectItemCaseSensitive(e, "column");
		fprintf(f, "    %s ", mark);
		if (cJSON_IsNumber(line) && line->valueint > 0)
			fprintf(f, "%d:%d  ", line->valueint, cJSON_IsNumber(col) ? col->valueint : 0);
		print_loc(f, cJSON_GetObjectItemCaseSensitive(e, "loc"));
		fprintf(f, "  %s\n", str_or(e, "msg", ""));
	}
}

int validate_print_table(const cJSON *summary, FILE *f)
{
	int nerr = 0, nwarn = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details")) {
		nerr += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "errors"));
		nwarn += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "warnings"));
	}
	fprintf(f, "%s: %s %s \"%s\" — %s (%d error%s, %d warning%s)\n", str_or(summary, "source_name", ""),
		str_or(summary, "type", "?"), str_or(summary, "format_version", "?"),
		str_or(summary, "name", ""), validate_summary_status(summary), nerr, nerr == 1 ? "" : "s",
		nwarn, nwarn == 1 ? "" : "s");
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details")) {
		const char *st = str_or(d, "status", "");
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(d, "warnings");
		int skipped = !strcmp(st, "skipped") || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "skipped"));
		const char *mark = !strcmp(st, "failed")   ? "✗"
				   : skipped               ? "–"
				   : cJSON_GetArraySize(w) ? "⚠"
							   : "✓";
		fprintf(f, "  %s %s", mark, str_or(d, "name", ""));
		if (skipped)
			fprintf(f, " (skipped: %s)", str_or(d, "reason", ""));
		fputc('\n', f);
		print_problems(f, cJSON_GetObjectItemCaseSensitive(d, "errors"), "✗");
		if (!skipped) /* its one warning repeats the reason just printed */
			print_problems(f, w, "⚠");
	}
	return ferror(f) ? -1 : 0;
}

/* ======================================================================================
 * Files in a local directory (the CLI)
 * ==================================================================================== */

static int dir_open(void *ctx, const char *path, struct bo_error *err)
{
	char full[4096];
	snprintf(full, sizeof(full), "%s/%s", (const char *)ctx, path);
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return BO_ENOTFOUND;
	if (fd < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot open %s: %s", full, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return BO_ENOTFOUND;
	}
	return fd;
}

static int dir_stat(void *ctx, const char *path, uint64_t *size, struct bo_error *err)
{
	int fd = dir_open(ctx, path, err);
	struct stat st;
	if (fd < 0)
		return fd;
	fstat(fd, &st);
	*size = (uint64_t)st.st_size;
	close(fd);
	return 0;
}

static int dir_sha256(void *ctx, const char *path, char hex[65], struct bo_error *err)
{
	int fd = dir_open(ctx, path, err), rc = 0;
	if (fd < 0)
		return fd;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], out[32];
	unsigned int olen = 0;
	ssize_t n;
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)n);
	if (n < 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(md, out, &olen);
	hex_encode(hex, out, 32);
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return rc;
}

static int dir_read_head(void *ctx, const char *path, void *buf, size_t len, size_t *got,
			 struct bo_error *err)
{
	int fd = dir_open(ctx, path, err);
	if (fd < 0)
		return fd;
	size_t have = 0;
	while (have < len) {
		ssize_t n = read(fd, (char *)buf + have, len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	*got = have;
	return 0;
}

void validate_files_dir(struct validate_files *out, const char *dir)
{
	out->ctx = (void *)(uintptr_t)dir;
	out->stat = dir_stat;
	out->sha256 = dir_sha256;
	out->read_head = dir_read_head;
}

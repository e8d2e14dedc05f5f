/* validate_rules: loading the validation rules (SCHEMA_DIR/rules/TYPE-MAJOR.MINOR.json) and
 * the SPDX licence list into an immutable validator. Invariant: every "extends" and "base" is
 * resolved and every pattern compiled here, once, so the interpreter only reads. */
#include "check/validate_internal.h"

#include "common/error.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULES_MAX_BYTES (4 << 20)

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int validate__in_sorted(char *const *list, size_t n, const char *s)
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

const struct ruleset *validate__find_set(const validator *v, const char *type, const char *minor)
{
	for (size_t i = 0; i < v->nsets; i++)
		if (!strcmp(v->sets[i].type, type) && !strcmp(v->sets[i].minor, minor))
			return &v->sets[i];
	return NULL;
}

/* precheck: validating an RDF sent by the upload page with the names of its zip's entries
 * (precheck.h). Invariant: nothing is stored; the answer is a function of the request. */
#include "pipeline/precheck.h"

#include "app.h"
#include "check/validate.h"
#include "common/error.h"
#include "common/rdf.h"
#include "infra/config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const accepted_types[] = {"model", "dataset", "notebook", "application", "generic"};

/* The entry names, and the folder of the RDF (its prefix, "" at top level). */
struct names {
	const char *const *v;
	size_t n;
	const char *prefix;
	size_t plen;
};

static int names_stat(void *ctx, const char *path, uint64_t *size, struct bo_error *err)
{
	const struct names *nm = ctx;
	(void)err;
	*size = 0;
	for (size_t i = 0; i < nm->n; i++)
		if (!strncmp(nm->v[i], nm->prefix, nm->plen) && !strcmp(nm->v[i] + nm->plen, path))
			return 0;
	return BO_ENOTFOUND;
}

/* never called: names_only asks for stat alone */
static int names_sha256(void *ctx, const char *path, char hex[65], struct bo_error *err)
{
	(void)ctx, (void)hex;
	return bo_error_set(err, BO_EINTERNAL, "precheck has no bytes of '%s'", path);
}

static int names_read_head(void *ctx, const char *path, void *buf, size_t len, size_t *got, struct bo_error *err)
{
	(void)ctx, (void)buf, (void)len;
	*got = 0;
	return bo_error_set(err, BO_EINTERNAL, "precheck has no bytes of '%s'", path);
}

/* What package_open leaves out: folders and the junk macOS adds. */
static int is_entry(const char *name)
{
	size_t n = strlen(name);
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	return n && name[n - 1] != '/' && strncmp(name, "__MACOSX/", 9) && strcmp(base, ".DS_Store");
}

static cJSON *string_or_null(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? cJSON_CreateString(v->valuestring) : cJSON_CreateNull();
}

/* {name, type, id, license, authors, covers} from the parsed RDF (root NULL: all null). */
static cJSON *preview_new(const cJSON *root)
{
	cJSON *p = cJSON_CreateObject();
	if (!p)
		return NULL;
	static const char *const keys[] = {"name", "type", "id", "license"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cJSON_AddItemToObject(p, keys[i], string_or_null(root, keys[i]));
	cJSON *authors = cJSON_AddArrayToObject(p, "authors");
	cJSON *covers = cJSON_AddArrayToObject(p, "covers");
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "authors")) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (cJSON_IsString(name))
			cJSON_AddItemToArray(authors, cJSON_CreateString(name->valuestring));
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "covers")) {
		if (cJSON_IsString(e))
			cJSON_AddItemToArray(covers, cJSON_CreateString(e->valuestring));
	}
	return p;
}

/* The upload's own refusal of a type (upload.c read_rdf), as a failed detail of summary. */
static int check_type(cJSON *summary, const rdf_doc *doc)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rdf_root(doc), "type");
	char msg[200] = "";
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "collection"))
		snprintf(msg, sizeof(msg), "collection RDFs are not accepted as uploads; upload its resources one by one");
	else if (cJSON_IsString(type)) {
		int known = 0;
		for (size_t i = 0; i < sizeof(accepted_types) / sizeof(accepted_types[0]); i++)
			known |= !strcmp(type->valuestring, accepted_types[i]);
		if (!known)
			snprintf(msg, sizeof(msg), "type '%.40s' is not one of model, dataset, notebook, application, generic",
				 type->valuestring);
	}
	if (!msg[0])
		return 0;
	int line = 0, col = 0;
	cJSON *d = cJSON_CreateObject(), *errors = cJSON_CreateArray(), *e = cJSON_CreateObject();
	cJSON *loc = cJSON_CreateArray();
	if (!d || !errors || !e || !loc || !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(summary, "details"), d)) {
		cJSON_Delete(d), cJSON_Delete(errors), cJSON_Delete(e), cJSON_Delete(loc);
		return BO_ENOMEM;
	}
	cJSON_AddItemToArray(loc, cJSON_CreateString("type"));
	rdf_mark(doc, loc, &line, &col);
	cJSON_AddStringToObject(d, "name", "accepted as an upload");
	cJSON_AddStringToObject(d, "status", "failed");
	cJSON_AddItemToObject(d, "loc", cJSON_CreateArray());
	cJSON_AddItemToObject(d, "errors", errors);
	cJSON_AddItemToObject(d, "warnings", cJSON_CreateArray());
	cJSON_AddItemToArray(errors, e);
	cJSON_AddItemToObject(e, "loc", loc);
	cJSON_AddStringToObject(e, "msg", msg);
	cJSON_AddStringToObject(e, "type", "value_error");
	cJSON_AddNumberToObject(e, "line", line);
	cJSON_AddNumberToObject(e, "column", col);
	cJSON_ReplaceItemInObjectCaseSensitive(summary, "status", cJSON_CreateString("failed"));
	return 0;
}

static int count_warnings(const cJSON *summary)
{
	int n = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details"))
		n += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "warnings"));
	return n;
}

int precheck_rdf(struct app *a, const char *text, size_t len, const char *rdf_file, const char *const *files,
		 size_t n, cJSON **out, struct bo_error *err)
{
	const char **entries = NULL;
	const char *picked = NULL;
	rdf_doc *doc = NULL;
	cJSON *summary = NULL, *errors = NULL, *preview = NULL, *extra = NULL;
	size_t nent = 0;
	int rc;
	*out = NULL;
	if (len > (size_t)a->cfg->max_yaml_bytes) {
		rc = bo_error_set(err, BO_ETOOLARGE, "%.200s is %zu bytes; the limit is %lld (max_yaml_bytes)", rdf_file,
				  len, (long long)a->cfg->max_yaml_bytes);
		goto fail;
	}
	if (n > (size_t)a->package_limits.max_entries) {
		rc = bo_error_set(err, BO_ETOOLARGE, "the zip has %zu entries; the limit is %lld (max_zip_entries)", n,
				  (long long)a->package_limits.max_entries);
		goto fail;
	}
	entries = calloc(n ? n : 1, sizeof(*entries));
	if (!entries) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const char *f = files[i];
		while (!strncmp(f, "./", 2))
			f += 2;
		if (is_entry(f))
			entries[nent++] = f;
	}
	rc = rdf_find_name(entries, nent, &picked, err);
	if (rc)
		goto fail;
	const char *want = rdf_file;
	while (!strncmp(want, "./", 2))
		want += 2;
	if (strcmp(picked, want)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "rdf_file is '%.200s' but an upload of this zip reads '%.200s'",
				  rdf_file, picked);
		goto fail;
	}
	const char *slash = strrchr(picked, '/');
	struct names nm = {entries, nent, picked, slash ? (size_t)(slash - picked) + 1 : 0};
	struct validate_files vf = {&nm, names_stat, names_sha256, names_read_head};
	struct validate_options opt = {
		.files = &vf, .names_only = 1, .source_name = picked, .limits = &a->rdf_limits};
	rc = validate_text(a->validator, text, len, &opt, &summary, err);
	if (rc)
		goto fail;
	struct bo_error perr = BO_ERROR_INIT;
	rdf_parse(&doc, text, len, &a->rdf_limits, &perr); /* a YAML problem is in the summary already */
	bo_error_cleanup(&perr);
	if (doc && check_type(summary, doc)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	preview = preview_new(doc ? rdf_root(doc) : NULL);
	cJSON_AddStringToObject(summary, "rdf_file", picked);
	errors = validate_summary_errors(summary);
	if (!preview || !errors) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON *e;
	cJSON_ArrayForEach(e, errors) cJSON_AddStringToObject(e, "file", picked);
	int nerr = cJSON_GetArraySize(errors);
	extra = cJSON_CreateObject();
	if (!extra) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	if (!nerr)
		cJSON_AddStringToObject(extra, "status", validate_summary_status(summary));
	cJSON_AddStringToObject(extra, "rdf_file", picked);
	if (!nerr) {
		cJSON_AddItemToObject(extra, "errors", errors);
		errors = NULL;
		cJSON_AddNumberToObject(extra, "warnings", count_warnings(summary));
	}
	cJSON_AddItemToObject(extra, "preview", preview);
	preview = NULL;
	cJSON_AddItemToObject(extra, "validation", summary);
	summary = NULL;
	if (!nerr) {
		*out = extra;
		extra = NULL;
		rc = 0;
		goto fail;
	}
	const cJSON *first = cJSON_GetArrayItem(errors, 0);
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(first, "line");
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "msg"));
	rc = bo_error_set(err, BO_EINVALIDRDF, "%.200s has %d problem(s); the first, line %d: %.300s", picked, nerr,
			  cJSON_IsNumber(line) ? line->valueint : 0,
			  msg ? msg : "invalid");
	cJSON_Delete(err->errors);
	err->errors = errors;
	errors = NULL;
	cJSON_Delete(err->extra);
	err->extra = extra;
	extra = NULL;
fail:
	cJSON_Delete(extra);
	cJSON_Delete(errors);
	cJSON_Delete(preview);
	cJSON_Delete(summary);
	rdf_free(doc);
	free(entries);
	return rc;
}

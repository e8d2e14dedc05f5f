/* validate: static validation (DESIGN §7). Two layers: the rules interpreter walks the
 * RDF along a declarative description from SCHEMA_DIR/rules (types, required keys,
 * enums, patterns, formats, unions), collecting every problem and every file reference;
 * then checks in C that rules cannot say (tensor ids, axes, sizes, halo, test tensors,
 * files, documentation, version). Invariant: nothing stops at the first problem, and
 * every problem carries its loc and the YAML line/column of the node (or its nearest
 * existing ancestor). This file holds validate_text, which orders the checks, and the
 * summary; validate_internal.h lists the other files of the module. */
#include "check/validate.h"

#include "check/summary.h"
#include "check/validate_internal.h"
#include "common/error.h"
#include "common/rdf.h"
#include "common/version.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	validate__move_items(cJSON_GetObjectItemCaseSensitive(d, "errors"), s->errors);
	validate__move_items(cJSON_GetObjectItemCaseSensitive(d, "warnings"), s->warnings);
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
		validate__report(c, s, 0, "format_version", "missing",
			"required field 'format_version' is missing (e.g. format_version: 0.5.4)");
		return NULL;
	}
	if (!cJSON_IsString(jfv)) {
		validate__report(c, s, 0, "format_version", "type_error",
			"format_version must be a string like \"0.5.4\"; quote it if YAML read it as a number");
		return NULL;
	}
	if (jt && !cJSON_IsString(jt)) {
		validate__report(c, s, 0, "type", "type_error", "type must be a string such as model or dataset");
		return NULL;
	}
	minor_of(fv, minor, sizeof(minor));
	if (!type[0]) {
		if (strcmp(minor, "0.2") && strcmp(minor, "0.3")) {
			validate__report(c, s, 0, "type", "missing",
					 "required field 'type' is missing (model, dataset, notebook, application)");
			return NULL;
		}
		snprintf(type, tn, "generic");
	}
	const struct ruleset *rs = validate__find_set(c->v, type, minor);
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
		validate__report(c, s, 0, "format_version", "format_version_unsupported",
			"format_version '%s' is not supported for type %s; supported: %s", fv, type, list);
		return NULL;
	}
	rs = validate__find_set(c->v, "generic", minor);
	if (!rs) {
		validate__report(c, s, 0, "format_version", "format_version_unsupported",
			"format_version '%s' is not supported for type %s", fv, type);
		return NULL;
	}
	validate__report(c, s, 1, "type", "type_unknown", "type '%.40s' is not a known type; validated as generic",
			 type);
	return rs;
}

/* The IO checks, each into its own detail, or the three details "skipped" without files.
 * m: the model's tensors, NULL when the RDF is no model. Returns 0, or io->rc when a files
 * callback failed: the validation cannot finish. */
static int io_details(struct vctx *c, struct sink *s, cJSON *details, const cJSON *root, struct model *m,
		      const struct validate_options *opt, struct io *io)
{
	if (!opt->files) {
		detail_skipped(details, "referenced files", "IO checks are off");
		if (m)
			detail_skipped(details, "test tensors", "IO checks are off");
		detail_skipped(details, "documentation", "IO checks are off");
		return 0;
	}
	if (!c->rs)
		return 0;
	validate__check_files(c, s, s->refs, io);
	if (io->rc)
		return io->rc;
	detail_from(details, "referenced files", s);
	if (opt->names_only) {
		if (m)
			detail_skipped(details, "test tensors", "only the file names were sent");
		detail_skipped(details, "documentation", "only the file names were sent");
		return 0;
	}
	if (m) {
		validate__locate_test_tensors(c, s, root, m);
		validate__check_test_tensors(c, s, m, io);
		if (io->rc)
			return io->rc;
		detail_from(details, "test tensors", s);
	}
	validate__check_documentation(c, s, root, io);
	if (io->rc)
		return io->rc;
	detail_from(details, "documentation", s);
	return 0;
}

/* The summary around details (which sum takes): source, id, type, format_version, the
 * overall status and env, then summary_to_spec's shape. 0, or non-zero when
 * summary_to_spec failed (no memory). */
static int fill_summary(cJSON *sum, cJSON *details, const rdf_doc *doc, const char *type, const char *fv,
			const struct validate_options *opt)
{
	int failed = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, details) failed |= !strcmp(str_or(d, "status", ""), "failed");
	cJSON_AddStringToObject(sum, "source_name", opt->source_name ? opt->source_name : "");
	cJSON_AddStringToObject(sum, "id", doc ? str_or(rdf_root(doc), "id", "") : "");
	cJSON_AddStringToObject(sum, "type", type);
	cJSON_AddStringToObject(sum, "format_version", fv);
	cJSON_AddStringToObject(sum, "status",
				failed ? "failed" : opt->files && !opt->names_only ? "passed" : "valid-format");
	cJSON_AddItemToObject(sum, "details", details);
	cJSON *env = cJSON_AddObjectToObject(sum, "env");
	cJSON_AddStringToObject(env, "backoffice", BO_VERSION);
	cJSON_AddBoolToObject(env, "io_checks", opt->files != NULL);
	return summary_to_spec(sum, NULL);
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
		rdf_limits_default(&lim);
	if (validate__sink_init(&s) || !sum || !details) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	io.f = opt->files;
	io.names_only = opt->names_only;
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
			validate__move_items(yerr, perr.errors);
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
		validate__check_value(&c, &s, c.rs->root, root, NULL);
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
		validate__check_model(&c, &s, root, m);
		if (!opt->files || opt->names_only)
			validate__locate_test_tensors(&c, &s, root, m);
		detail_from(details, "tensors and axes", &s);
	}
	if (io_details(&c, &s, details, root, m, opt, &io))
		goto io_failed;
	if (c.rs) {
		int vrc = 0;
		validate__check_version(&c, &s, root, opt, &vrc, err);
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
	int spec_rc = fill_summary(sum, details, doc, type, fv, opt);
	details = NULL; /* in sum now */
	if (spec_rc) {
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
	validate__sink_cleanup(&s);
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

char *validate_errors_text(const cJSON *summary, size_t max_bytes)
{
	char *text = NULL, *line = NULL;
	size_t len = 0, cap = 0, used = 0;
	int left = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	/* the file the lines refer to, when the summary names it (the validate job's) */
	const char *file = str_or(summary, "rdf_file", "");
	const cJSON *d, *e;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details")) {
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "errors")) {
			FILE *lf = open_memstream(&line, &cap);
			if (!lf)
				break;
			const cJSON *ln = cJSON_GetObjectItemCaseSensitive(e, "line");
			const cJSON *col = cJSON_GetObjectItemCaseSensitive(e, "column");
			if (cJSON_IsNumber(ln) && ln->valueint > 0)
				fprintf(lf, "%s%s%d:%d  ", file, *file ? ":" : "", ln->valueint,
					cJSON_IsNumber(col) ? col->valueint : 0);
			print_loc(lf, cJSON_GetObjectItemCaseSensitive(e, "loc"));
			fprintf(lf, "  %s\n", str_or(e, "msg", ""));
			fclose(lf);
			size_t n = line ? strlen(line) : 0;
			if (!left && used + n + 32 <= max_bytes) {
				fputs(line ? line : "", f);
				used += n;
			} else {
				left++;
			}
			free(line);
			line = NULL;
		}
	}
	if (left)
		fprintf(f, "… and %d more\n", left);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
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

/* validate_io: the checks that read the package through struct validate_files: referenced
 * files present with the declared sha256, test tensors' .npy headers fitting the declared
 * axes, a documentation section on validation, and version not yet published. Invariant: a
 * callback failure is never a problem of the RDF; it stops the validation (io.rc). */
#include "check/validate_internal.h"

#include "common/error.h"
#include "common/npy.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_HEAD_BYTES (256 << 10)
#define NPY_HEAD_FIRST 256

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
			validate__push_key(c, e->valuestring);
		else
			validate__push_idx(c, e->valueint);
	}
}

void validate__check_files(struct vctx *c, struct sink *s, const cJSON *refs, struct io *io)
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
		if (io->names_only || !want || !validate__hex64(want))
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
		validate__set_loc(c, t->test_loc, t->test_nloc);
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
	validate__set_loc(c, t->test_loc, t->test_nloc);
	if (h.ndim != t->naxes) {
		char shp[256];
		validate__fmt_shape(shp, sizeof(shp), h.shape, h.ndim, ", ");
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
			const struct tensor *r = validate__find_tensor(m, a->ref_tensor);
			int ri = !r ? -1 : m->v05 ? validate__find_axis(r, a->ref_axis) : a->ref_index;
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

void validate__locate_test_tensors(struct vctx *c, struct sink *s, const cJSON *root, struct model *m)
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
		if (cJSON_IsString(src) && !validate__is_url(src->valuestring))
			validate__clean_rel_path(src->valuestring, t->test_path, sizeof(t->test_path));
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
			validate__push_key(c, key);
			ERR(c, s, "test_tensor_count", "%s lists %d files but the model has %d %s", key,
			    cJSON_GetArraySize(list), want, o ? "outputs" : "inputs");
		}
	}
}

void validate__check_test_tensors(struct vctx *c, struct sink *s, struct model *m, struct io *io)
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
		validate__fmt_shape(shp, sizeof(shp), t->test_shape, t->test_ndim, ", ");
		validate__set_loc(c, t->test_loc, t->test_nloc);
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

void validate__check_documentation(struct vctx *c, struct sink *s, const cJSON *root, struct io *io)
{
	const cJSON *doc = cJSON_GetObjectItemCaseSensitive(root, "documentation");
	char path[1024];
	if (!cJSON_IsString(doc) || validate__is_url(doc->valuestring) ||
	    validate__clean_rel_path(doc->valuestring, path, sizeof(path)) || io_exists(io, path) != 1)
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
		validate__push_key(c, "documentation");
		WARN(c, s, "documentation_no_validation",
		     "'%s' has no section on validation (a heading with the word \"Validation\"): say how the model was validated",
		     path);
	}
	free(buf);
}

void validate__check_version(struct vctx *c, struct sink *s, const cJSON *root,
			     const struct validate_options *opt, int *rc_out, struct bo_error *err)
{
	static const char *pat = "^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$";
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
	char text[96];
	if (!v)
		return;
	c->nloc = 0;
	validate__push_key(c, "version");
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

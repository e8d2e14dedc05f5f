/* model: reads the parts of a model RDF the test worker needs into struct model, mapping
 * 0.4 (axes as letters, shape min/step or reference/scale/offset, test_inputs lists,
 * processing `name`) and 0.5 (axis objects, size objects, test_tensor, processing `id`)
 * onto one representation. Everything is checked here, so the worker can trust counts
 * and ids; kwargs stay borrowed from the parsed document the model owns. */
#include "model.h"

#include "common/error.h"
#include "common/rdf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int copy_str(char *dst, size_t len, const char *src, const char *what, struct bo_error *err)
{
	if (strlen(src) >= len)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s is longer than %zu bytes", what, len - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int parse_dtype(const char *s, enum npy_dtype *out)
{
	static const char *const names[] = {"bool", "int8", "uint8", "int16", "uint16", "int32",
					    "uint32", "int64", "uint64", "float16", "float32", "float64"};
	static const enum npy_dtype types[] = {NPY_BOOL, NPY_I8, NPY_U8, NPY_I16, NPY_U16, NPY_I32,
					       NPY_U32, NPY_I64, NPY_U64, NPY_F16, NPY_F32, NPY_F64};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(s, names[i])) {
			*out = types[i];
			return 0;
		}
	return -1;
}

static int parse_ops(struct model_tensor *t, const cJSON *list, const char *field, int legacy,
		     struct bo_error *err)
{
	const cJSON *op;

	if (!list || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s of '%s' must be a list", field, t->id);
	cJSON_ArrayForEach(op, list) {
		const char *name = str(op, legacy ? "name" : "id");

		if (!name)
			name = str(op, legacy ? "id" : "name");
		if (!name)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s of '%s': a step has no %s", field,
					    t->id, legacy ? "name" : "id");
		if (t->nops >= MODEL_MAX_OPS)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s of '%s' has more than %d steps",
					    field, t->id, MODEL_MAX_OPS);
		t->ops[t->nops].name = name;
		t->ops[t->nops].kwargs = get(op, "kwargs");
		t->nops++;
	}
	return 0;
}

static int axis_kind(const char *type, enum model_axis_kind *out)
{
	static const char *const names[] = {"batch", "channel", "index", "time", "space"};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(type, names[i])) {
			*out = (enum model_axis_kind)i;
			return 0;
		}
	return -1;
}

static int64_t num_i64(const cJSON *v, int64_t dflt)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 ? (int64_t)v->valuedouble
										 : dflt;
}

/* 0.5 axis object */
static int parse_axis05(struct model_tensor *t, struct model_axis *a, const cJSON *o,
			struct bo_error *err)
{
	static const char *const default_ids[] = {"batch", "channel", "index", "time", "x"};
	const char *type = str(o, "type"), *id = str(o, "id");
	const cJSON *size = get(o, "size");
	int rc;

	if (!type || axis_kind(type, &a->kind))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "an axis of '%s' has no known type", t->id);
	rc = copy_str(a->id, sizeof(a->id), id ? id : default_ids[a->kind], "an axis id", err);
	if (rc)
		return rc;
	a->size = -1;
	a->scale = cJSON_IsNumber(get(o, "scale")) ? get(o, "scale")->valuedouble : 1;
	if (a->kind == MODEL_AXIS_CHANNEL && cJSON_IsArray(get(o, "channel_names")))
		a->size = cJSON_GetArraySize(get(o, "channel_names"));
	if (cJSON_IsNumber(size)) {
		a->size = num_i64(size, -1);
	} else if (cJSON_IsObject(size)) {
		if (get(size, "tensor_id") || get(size, "axis_id")) {
			const char *tid = str(size, "tensor_id"), *aid = str(size, "axis_id");

			if (!tid || !aid)
				return bo_error_set(err, BO_EINVALIDPACKAGE,
						    "axis '%s' of '%s': a size reference needs tensor_id and axis_id",
						    a->id, t->id);
			rc = copy_str(a->ref_tensor, sizeof(a->ref_tensor), tid, "a tensor_id", err);
			if (!rc)
				rc = copy_str(a->ref_axis, sizeof(a->ref_axis), aid, "an axis_id", err);
			if (rc)
				return rc;
			a->offset = cJSON_IsNumber(get(size, "offset")) ? get(size, "offset")->valuedouble : 0;
		} else {
			a->min = num_i64(get(size, "min"), 1);
			a->step = num_i64(get(size, "step"), 0);
			if (!a->step)
				a->size = a->min;
		}
	}
	return 0;
}

static int parse_tensor(struct model *m, struct model_tensor *t, const cJSON *o, int output,
			struct bo_error *err)
{
	const char *what = output ? "outputs" : "inputs";
	const char *id = str(o, m->legacy ? "name" : "id");
	const cJSON *axes = get(o, "axes"), *data = get(o, "data");
	const char *dt = NULL;
	int rc;

	if (!cJSON_IsObject(o))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "an entry of %s is not a mapping", what);
	/* 0.5 ids default to input/output */
	rc = copy_str(t->id, sizeof(t->id), id ? id : output ? "output" : "input", "a tensor id", err);
	if (rc)
		return rc;
	if (m->legacy) {
		dt = str(o, "data_type");
	} else {
		if (cJSON_IsArray(data))
			data = cJSON_GetArrayItem(data, 0);
		dt = str(data, "type");
	}
	t->dtype = NPY_F32;
	if (dt && parse_dtype(dt, &t->dtype))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s': unknown data type '%s'", what, t->id, dt);
	if (m->legacy) {
		const cJSON *shape = get(o, "shape");

		if (!cJSON_IsString(axes))
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s': axes must be a string like bcyx",
					    what, t->id);
		t->ndim = (int)strlen(axes->valuestring);
		if (t->ndim > NPY_MAX_DIMS)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s' has more than %d axes", what, t->id,
					    NPY_MAX_DIMS);
		for (int d = 0; d < t->ndim; d++) {
			struct model_axis *a = &t->axes[d];
			char c = axes->valuestring[d];
			const char *aid = ops_axis_letter_id(c);

			if (!aid)
				return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s': unknown axis letter '%c'",
						    what, t->id, c);
			snprintf(a->id, sizeof(a->id), "%s", aid);
			a->kind = c == 'b' ? MODEL_AXIS_BATCH : c == 'c' ? MODEL_AXIS_CHANNEL
				: c == 'i' ? MODEL_AXIS_INDEX : c == 't' ? MODEL_AXIS_TIME : MODEL_AXIS_SPACE;
			a->size = -1;
			a->scale = 1;
			if (cJSON_IsArray(shape)) {
				a->size = num_i64(cJSON_GetArrayItem(shape, d), -1);
			} else if (cJSON_IsObject(shape) && get(shape, "min")) {
				a->min = num_i64(cJSON_GetArrayItem(get(shape, "min"), d), 1);
				a->step = num_i64(cJSON_GetArrayItem(get(shape, "step"), d), 0);
				if (!a->step)
					a->size = a->min;
			} else if (cJSON_IsObject(shape) && str(shape, "reference_tensor")) {
				const cJSON *sc = cJSON_GetArrayItem(get(shape, "scale"), d);
				const cJSON *of = cJSON_GetArrayItem(get(shape, "offset"), d);

				rc = copy_str(a->ref_tensor, sizeof(a->ref_tensor), str(shape, "reference_tensor"),
					      "reference_tensor", err);
				if (rc)
					return rc;
				a->scale = cJSON_IsNumber(sc) ? sc->valuedouble : 1;
				a->offset = cJSON_IsNumber(of) ? of->valuedouble : 0;
			}
		}
	} else {
		const cJSON *ax;

		if (!cJSON_IsArray(axes))
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s': axes must be a list", what, t->id);
		if (cJSON_GetArraySize(axes) > NPY_MAX_DIMS)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s' has more than %d axes", what, t->id,
					    NPY_MAX_DIMS);
		cJSON_ArrayForEach(ax, axes) {
			rc = parse_axis05(t, &t->axes[t->ndim], ax, err);
			if (rc)
				return rc;
			t->ndim++;
		}
		if (cJSON_IsString(get(get(o, "test_tensor"), "source"))) {
			rc = copy_str(t->test_tensor, sizeof(t->test_tensor),
				      str(get(o, "test_tensor"), "source"), "a test_tensor source", err);
			if (rc)
				return rc;
		}
	}
	return parse_ops(t, get(o, output ? "postprocessing" : "preprocessing"),
			 output ? "postprocessing" : "preprocessing", m->legacy, err);
}

static int parse_tensors(struct model *m, const cJSON *root, int output, struct bo_error *err)
{
	const char *what = output ? "outputs" : "inputs";
	const cJSON *list = get(root, what), *o;
	struct model_tensor *ts = output ? m->outputs : m->inputs;
	size_t *n = output ? &m->nout : &m->nin;
	int rc;

	if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "the RDF has no %s", what);
	if (cJSON_GetArraySize(list) > MODEL_MAX_TENSORS)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "the RDF has more than %d %s", MODEL_MAX_TENSORS,
				    what);
	cJSON_ArrayForEach(o, list) {
		rc = parse_tensor(m, &ts[*n], o, output, err);
		if (rc)
			return rc;
		(*n)++;
	}
	if (m->legacy) {
		const cJSON *tl = get(root, output ? "test_outputs" : "test_inputs");

		for (size_t i = 0; i < *n; i++) {
			const cJSON *p = cJSON_GetArrayItem(tl, (int)i);

			if (cJSON_IsString(p)) {
				rc = copy_str(ts[i].test_tensor, sizeof(ts[i].test_tensor), p->valuestring,
					      output ? "a test_outputs entry" : "a test_inputs entry", err);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

int model_load(struct model **out, const char *text, size_t len, struct bo_error *err)
{
	struct rdf_limits lim;
	struct model *m = NULL;
	const cJSON *root, *w, *e;
	const char *type, *fv;
	int rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory loading the RDF");
		goto fail;
	}
	rdf_limits_default(&lim);
	rc = rdf_parse(&m->doc, text, len, &lim, err);
	if (rc)
		goto fail;
	root = rdf_root(m->doc);
	type = str(root, "type");
	fv = str(root, "format_version");
	if (!type || strcmp(type, "model")) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "the RDF describes a %s, not a model",
				  type ? type : "resource without type");
		goto fail;
	}
	if (!fv || (strncmp(fv, "0.4.", 4) && strncmp(fv, "0.5.", 4))) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "format_version %s is not supported by the test worker (0.4.x or 0.5.x)",
				  fv ? fv : "(missing)");
		goto fail;
	}
	snprintf(m->format_version, sizeof(m->format_version), "%s", fv);
	m->legacy = !strncmp(fv, "0.4.", 4);
	rc = parse_tensors(m, root, 0, err);
	if (!rc)
		rc = parse_tensors(m, root, 1, err);
	if (rc)
		goto fail;
	w = get(root, "weights");
	if (!cJSON_IsObject(w)) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "the RDF has no weights");
		goto fail;
	}
	cJSON_ArrayForEach(e, w) {
		struct model_weights *mw;

		if (m->nweights >= MODEL_MAX_WEIGHTS) {
			rc = bo_error_set(err, BO_EINVALIDPACKAGE, "the RDF lists more than %d weight formats",
					  MODEL_MAX_WEIGHTS);
			goto fail;
		}
		mw = &m->weights[m->nweights++];
		rc = copy_str(mw->format, sizeof(mw->format), e->string, "a weights format", err);
		if (!rc && str(e, "source"))
			rc = copy_str(mw->source, sizeof(mw->source), str(e, "source"), "a weights source", err);
		if (rc)
			goto fail;
	}
	*out = m;
	m = NULL;
	rc = 0;
fail:
	model_free(m);
	return rc;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	rdf_free(m->doc);
	free(m);
}

const struct model_weights *model_weights_find(const struct model *m, const char *format)
{
	for (size_t i = 0; i < m->nweights; i++)
		if (!strcmp(m->weights[i].format, format))
			return &m->weights[i];
	return NULL;
}

int model_input_index(const struct model *m, const char *id)
{
	for (size_t i = 0; i < m->nin; i++)
		if (!strcmp(m->inputs[i].id, id))
			return (int)i;
	return -1;
}

/* An empty or missing list matches anything. */
static int list_matches(const cJSON *list, const char *s)
{
	const cJSON *v;

	if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list))
		return 1;
	cJSON_ArrayForEach(v, list) {
		if (cJSON_IsString(v) && !strcmp(v->valuestring, s))
			return 1;
	}
	return 0;
}

static void num(const cJSON *o, const char *k, double *out)
{
	const cJSON *v = get(o, k);

	if (cJSON_IsNumber(v))
		*out = v->valuedouble;
}

int model_tolerance(const struct model *m, const char *wf, const char *output_id,
		    struct compare_tolerance *out)
{
	const cJSON *bio = get(get(rdf_root(m->doc), "config"), "bioimageio");
	const cJSON *e;

	out->rtol = 1e-3;
	out->atol = 1e-4;
	out->mismatched_per_million = 0;
	if (!m->legacy) {
		cJSON_ArrayForEach(e, get(bio, "reproducibility_tolerance")) {
			if (!cJSON_IsObject(e) || !list_matches(get(e, "weights_formats"), wf) ||
			    !list_matches(get(e, "output_ids"), output_id))
				continue;
			num(e, "relative_tolerance", &out->rtol);
			num(e, "absolute_tolerance", &out->atol);
			num(e, "mismatched_elements_per_million", &out->mismatched_per_million);
			return 1;
		}
		return 0;
	}
	e = get(bio, "test_kwargs");
	if (cJSON_IsObject(get(e, wf)))
		e = get(e, wf);
	if (!cJSON_IsObject(e))
		return 0;
	if (cJSON_IsNumber(get(e, "decimal"))) {
		out->atol = 1.5 * pow(10, -get(e, "decimal")->valuedouble);
		out->rtol = 0;
		return 1;
	}
	if (!get(e, "absolute_tolerance") && !get(e, "relative_tolerance"))
		return 0;
	num(e, "relative_tolerance", &out->rtol);
	num(e, "absolute_tolerance", &out->atol);
	return 1;
}

int model_output_shape(const struct model *m, size_t k, const int64_t (*in_shapes)[NPY_MAX_DIMS],
		       int64_t *out, struct bo_error *err)
{
	const struct model_tensor *t = &m->outputs[k];
	int64_t batch = -1;

	for (size_t i = 0; i < m->nin; i++)
		for (int d = 0; d < m->inputs[i].ndim; d++)
			if (m->inputs[i].axes[d].kind == MODEL_AXIS_BATCH)
				batch = in_shapes[i][d];
	for (int d = 0; d < t->ndim; d++) {
		const struct model_axis *a = &t->axes[d];
		const struct model_tensor *rt;
		int ri, rd = -1;
		double v;

		out[d] = a->size;
		if (a->kind == MODEL_AXIS_BATCH && a->size < 0) {
			out[d] = batch;
			continue;
		}
		if (!a->ref_tensor[0])
			continue;
		ri = model_input_index(m, a->ref_tensor);
		if (ri < 0) /* references to outputs are not resolved here */
			continue;
		rt = &m->inputs[ri];
		if (m->legacy) {
			rd = d < rt->ndim ? d : -1;
		} else {
			for (int j = 0; j < rt->ndim; j++)
				if (!strcmp(rt->axes[j].id, a->ref_axis))
					rd = j;
		}
		if (rd < 0)
			return bo_error_set(err, BO_EINVALIDPACKAGE,
					    "output '%s' axis '%s' refers to an axis '%s' that tensor '%s' does not have",
					    t->id, a->id, a->ref_axis, rt->id);
		if (m->legacy)
			v = (double)in_shapes[ri][rd] * a->scale + 2 * a->offset;
		else
			v = (double)in_shapes[ri][rd] * rt->axes[rd].scale / (a->scale ? a->scale : 1) + a->offset;
		out[d] = (int64_t)llround(v);
	}
	return 0;
}

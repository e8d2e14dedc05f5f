/* ops: the spec's processing operations on a tensor of doubles with named axes. Every
 * statistic (mean, population std, percentiles) is computed per group: the elements that
 * share their coordinates on the axes that are kept (not reduced). Invariant: t->data
 * always holds t->count values already rounded to what t->dtype can represent. */
#include "ops.h"

#include "common/error.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS_DEFAULT 1e-6

const char *ops_axis_letter_id(char letter)
{
	switch (letter) {
	case 'b': return "batch";
	case 'c': return "channel";
	case 'i': return "index";
	case 't': return "time";
	case 'x': return "x";
	case 'y': return "y";
	case 'z': return "z";
	default: return NULL;
	}
}

static const struct {
	const char *name;
	enum npy_dtype t;
} dtype_names[] = {
	{"bool", NPY_BOOL}, {"int8", NPY_I8}, {"uint8", NPY_U8}, {"int16", NPY_I16},
	{"uint16", NPY_U16}, {"int32", NPY_I32}, {"uint32", NPY_U32}, {"int64", NPY_I64},
	{"uint64", NPY_U64}, {"float16", NPY_F16}, {"float32", NPY_F32}, {"float64", NPY_F64},
};

static int dtype_parse(const char *s, enum npy_dtype *out)
{
	for (size_t i = 0; i < sizeof(dtype_names) / sizeof(*dtype_names); i++)
		if (!strcmp(s, dtype_names[i].name)) {
			*out = dtype_names[i].t;
			return 0;
		}
	return -1;
}

static size_t item_size(enum npy_dtype t)
{
	switch (t) {
	case NPY_BOOL: case NPY_I8: case NPY_U8: return 1;
	case NPY_I16: case NPY_U16: case NPY_F16: return 2;
	case NPY_I32: case NPY_U32: case NPY_F32: return 4;
	default: return 8;
	}
}

static double sat(double v, double lo, double hi)
{
	if (isnan(v))
		return 0;
	v = trunc(v);
	return v < lo ? lo : v > hi ? hi : v;
}

/* The value v becomes once stored as t. */
static double round_to(enum npy_dtype t, double v)
{
	switch (t) {
	case NPY_BOOL: return v != 0 && !isnan(v) ? 1 : 0;
	case NPY_I8: return sat(v, INT8_MIN, INT8_MAX);
	case NPY_U8: return sat(v, 0, UINT8_MAX);
	case NPY_I16: return sat(v, INT16_MIN, INT16_MAX);
	case NPY_U16: return sat(v, 0, UINT16_MAX);
	case NPY_I32: return sat(v, INT32_MIN, INT32_MAX);
	case NPY_U32: return sat(v, 0, UINT32_MAX);
	/* 2^63 and 2^64 are exact doubles; the cast below clamps just under them */
	case NPY_I64: return sat(v, -9223372036854775808.0, 9223372036854774784.0);
	case NPY_U64: return sat(v, 0, 18446744073709549568.0);
#ifdef __FLT16_MAX__
	case NPY_F16: return (double)(_Float16)v;
#else
	case NPY_F16: return (double)(float)v;
#endif
	case NPY_F32: return (double)(float)v;
	default: return v;
	}
}

static double load_elem(enum npy_dtype t, const void *p, size_t i)
{
	switch (t) {
	case NPY_BOOL: return ((const uint8_t *)p)[i] != 0;
	case NPY_I8: return ((const int8_t *)p)[i];
	case NPY_U8: return ((const uint8_t *)p)[i];
	case NPY_I16: return ((const int16_t *)p)[i];
	case NPY_U16: return ((const uint16_t *)p)[i];
	case NPY_I32: return ((const int32_t *)p)[i];
	case NPY_U32: return ((const uint32_t *)p)[i];
	case NPY_I64: return (double)((const int64_t *)p)[i];
	case NPY_U64: return (double)((const uint64_t *)p)[i];
#ifdef __FLT16_MAX__
	case NPY_F16: return ((const _Float16 *)p)[i];
#else
	case NPY_F16: return NAN;
#endif
	case NPY_F32: return ((const float *)p)[i];
	default: return ((const double *)p)[i];
	}
}

static void store_elem(enum npy_dtype t, void *p, size_t i, double v)
{
	v = round_to(t, v);
	switch (t) {
	case NPY_BOOL: ((uint8_t *)p)[i] = (uint8_t)v; break;
	case NPY_I8: ((int8_t *)p)[i] = (int8_t)v; break;
	case NPY_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
	case NPY_I16: ((int16_t *)p)[i] = (int16_t)v; break;
	case NPY_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
	case NPY_I32: ((int32_t *)p)[i] = (int32_t)v; break;
	case NPY_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
	case NPY_I64: ((int64_t *)p)[i] = (int64_t)v; break;
	case NPY_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
#ifdef __FLT16_MAX__
	case NPY_F16: ((_Float16 *)p)[i] = (_Float16)v; break;
#else
	case NPY_F16: ((uint16_t *)p)[i] = 0x7e00; break;
#endif
	case NPY_F32: ((float *)p)[i] = (float)v; break;
	default: ((double *)p)[i] = v; break;
	}
}

int ops_tensor_init(struct ops_tensor *out, const char *id, enum npy_dtype t, int ndim,
		    const int64_t *shape, const char *const *ids, const void *data, size_t count,
		    struct bo_error *err)
{
	size_t n = 1;

	memset(out, 0, sizeof(*out));
	if (ndim < 0 || ndim > NPY_MAX_DIMS)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "tensor '%s' has %d dimensions", id, ndim);
	for (int d = 0; d < ndim; d++) {
		if (shape[d] < 0)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "tensor '%s' has a negative size", id);
		n *= (size_t)shape[d];
	}
	if (n != count)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "tensor '%s': shape holds %zu elements, data %zu",
				    id, n, count);
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->dtype = t;
	out->ndim = ndim;
	for (int d = 0; d < ndim; d++) {
		out->shape[d] = shape[d];
		snprintf(out->axes[d], sizeof(out->axes[d]), "%s", ids[d]);
	}
	out->count = count;
	out->data = malloc((count ? count : 1) * sizeof(double));
	if (!out->data)
		return bo_error_set(err, BO_ENOMEM, "out of memory converting tensor '%s'", id);
	for (size_t i = 0; i < count; i++)
		out->data[i] = load_elem(t, data, i);
	return 0;
}

int ops_tensor_pack(const struct ops_tensor *t, void **out, size_t *nbytes, struct bo_error *err)
{
	size_t sz = item_size(t->dtype);

	*out = malloc(t->count ? t->count * sz : 1);
	if (!*out)
		return bo_error_set(err, BO_ENOMEM, "out of memory converting tensor '%s'", t->id);
	for (size_t i = 0; i < t->count; i++)
		store_elem(t->dtype, *out, i, t->data[i]);
	*nbytes = t->count * sz;
	return 0;
}

void ops_tensor_cleanup(struct ops_tensor *t)
{
	if (!t)
		return;
	free(t->data);
	t->data = NULL;
}

/* --- groups: elements that agree on every kept axis */

struct iter {
	int ndim;
	int64_t coord[NPY_MAX_DIMS];
	size_t gstride[NPY_MAX_DIMS];
	const int64_t *shape;
	size_t g; /* group of the current element */
};

/* reduce[d] = 1 for reduced axes. Returns the number of groups. */
static size_t iter_init(struct iter *it, const struct ops_tensor *t, const int *reduce)
{
	size_t ng = 1;

	memset(it, 0, sizeof(*it));
	it->ndim = t->ndim;
	it->shape = t->shape;
	for (int d = t->ndim - 1; d >= 0; d--) {
		it->gstride[d] = reduce[d] ? 0 : ng;
		if (!reduce[d])
			ng *= (size_t)t->shape[d];
	}
	return ng;
}

static void iter_next(struct iter *it)
{
	for (int d = it->ndim - 1; d >= 0; d--) {
		it->coord[d]++;
		it->g += it->gstride[d];
		if (it->coord[d] < it->shape[d])
			return;
		it->g -= it->gstride[d] * (size_t)it->shape[d];
		it->coord[d] = 0;
	}
}

static int axis_find(const struct ops_tensor *t, const char *id)
{
	for (int d = 0; d < t->ndim; d++)
		if (!strcmp(t->axes[d], id))
			return d;
	return -1;
}

/* Fills reduce[] from kwargs "axes" (0.4: "cyx" letters; 0.5: ["channel","y","x"]);
 * absent means every axis. 0.4 mode per_dataset also reduces the batch axis. */
static int reduce_axes(const struct ops_tensor *t, const char *op, const cJSON *kw,
		       const struct ops_context *ctx, int *reduce, struct bo_error *err)
{
	const cJSON *axes = cJSON_GetObjectItemCaseSensitive(kw, "axes");
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(kw, "mode");

	for (int d = 0; d < t->ndim; d++)
		reduce[d] = !axes || cJSON_IsNull(axes);
	if (cJSON_IsString(axes)) {
		for (const char *p = axes->valuestring; *p; p++) {
			const char *id = ops_axis_letter_id(*p);
			int d = id ? axis_find(t, id) : -1;

			if (d < 0)
				return bo_error_set(err, BO_EINVALIDPACKAGE,
						    "%s: axis '%c' is not an axis of tensor '%s'", op, *p, t->id);
			reduce[d] = 1;
		}
	} else if (cJSON_IsArray(axes)) {
		const cJSON *a;

		cJSON_ArrayForEach(a, axes) {
			int d = cJSON_IsString(a) ? axis_find(t, a->valuestring) : -1;

			if (d < 0)
				return bo_error_set(err, BO_EINVALIDPACKAGE,
						    "%s: axes lists '%s', not an axis of tensor '%s'", op,
						    cJSON_IsString(a) ? a->valuestring : "(not a string)", t->id);
			reduce[d] = 1;
		}
	} else if (axes && !cJSON_IsNull(axes)) {
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: axes must be a string or a list", op);
	}
	if (ctx && ctx->legacy && cJSON_IsString(mode) && !strcmp(mode->valuestring, "per_dataset")) {
		int b = axis_find(t, "batch");

		if (b >= 0)
			reduce[b] = 1;
	}
	return 0;
}

/* A scalar or a per-axis list parameter. */
struct param {
	double scalar;
	const cJSON *list; /* NULL: scalar */
	int axis;
};

static double param_at(const struct param *p, const struct iter *it)
{
	const cJSON *v;

	if (!p->list)
		return p->scalar;
	v = cJSON_GetArrayItem(p->list, (int)it->coord[p->axis]);
	return v ? v->valuedouble : NAN;
}

/* Reads kwargs[key]: a number, or a list of numbers along one axis: 0.5 names it in
 * kwargs "axis"; otherwise (0.4) it is the one kept, non-batch axis of the list's length. */
static int param_parse(const struct ops_tensor *t, const char *op, const cJSON *kw, const char *key,
		       double dflt, int required, const int *reduce, struct param *p,
		       struct bo_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(kw, key);
	const cJSON *axis = cJSON_GetObjectItemCaseSensitive(kw, "axis");
	const cJSON *e;
	int n, found = -1;

	memset(p, 0, sizeof(*p));
	p->scalar = dflt;
	p->axis = -1;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: kwargs '%s' is missing", op, key);
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		p->scalar = v->valuedouble;
		return 0;
	}
	if (!cJSON_IsArray(v))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: kwargs '%s' must be a number or a list", op,
				    key);
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsNumber(e))
			return bo_error_set(err, BO_EINVALIDPACKAGE,
					    "%s: kwargs '%s' must be a list of numbers (nested lists are not supported)",
					    op, key);
	}
	n = cJSON_GetArraySize(v);
	if (n == 1) {
		p->scalar = cJSON_GetArrayItem(v, 0)->valuedouble;
		return 0;
	}
	if (cJSON_IsString(axis)) {
		found = axis_find(t, axis->valuestring);
		if (found < 0)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: axis '%s' is not an axis of tensor '%s'",
					    op, axis->valuestring, t->id);
	} else {
		for (int d = 0; d < t->ndim; d++) {
			if ((reduce && reduce[d]) || !strcmp(t->axes[d], "batch") || t->shape[d] != n)
				continue;
			if (found >= 0)
				return bo_error_set(err, BO_EINVALIDPACKAGE,
						    "%s: '%s' has %d values and tensor '%s' has several axes of that size; name one with 'axis'",
						    op, key, n, t->id);
			found = d;
		}
		if (found < 0)
			return bo_error_set(err, BO_EINVALIDPACKAGE,
					    "%s: '%s' has %d values but no kept axis of tensor '%s' has that size",
					    op, key, n, t->id);
	}
	if (t->shape[found] != n)
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "%s: '%s' has %d values but axis '%s' of tensor '%s' has size %lld", op, key,
				    n, t->axes[found], t->id, (long long)t->shape[found]);
	p->list = v;
	p->axis = found;
	return 0;
}

static int number_kw(const char *op, const cJSON *kw, const char *key, double dflt, double *out,
		     struct bo_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(kw, key);

	*out = dflt;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: kwargs '%s' must be a number", op, key);
	*out = v->valuedouble;
	return 0;
}

/* Per-group mean and population std of t over reduce[] (ng groups). */
static int group_stats(const struct ops_tensor *t, const int *reduce, double **mean, double **std,
		       size_t *ngroups, struct bo_error *err)
{
	struct iter it;
	size_t ng = iter_init(&it, t, reduce);
	double *m = calloc(ng ? ng : 1, sizeof(double));
	double *s = calloc(ng ? ng : 1, sizeof(double));
	size_t *cnt = calloc(ng ? ng : 1, sizeof(size_t));
	int rc = 0;

	if (!m || !s || !cnt) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory computing statistics of '%s'", t->id);
		goto fail;
	}
	for (size_t i = 0; i < t->count; i++, iter_next(&it)) {
		m[it.g] += t->data[i];
		cnt[it.g]++;
	}
	for (size_t g = 0; g < ng; g++)
		m[g] = cnt[g] ? m[g] / (double)cnt[g] : 0;
	iter_init(&it, t, reduce);
	for (size_t i = 0; i < t->count; i++, iter_next(&it)) {
		double dv = t->data[i] - m[it.g];

		s[it.g] += dv * dv;
	}
	for (size_t g = 0; g < ng; g++)
		s[g] = cnt[g] ? sqrt(s[g] / (double)cnt[g]) : 0;
	*mean = m;
	*std = s;
	*ngroups = ng;
	m = s = NULL;
fail:
	free(m);
	free(s);
	free(cnt);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* numpy's default ("linear") percentile of n sorted values. */
static double percentile(const double *v, size_t n, double q)
{
	double pos, frac;
	size_t lo;

	if (!n)
		return NAN;
	pos = q / 100.0 * (double)(n - 1);
	lo = (size_t)floor(pos);
	if (lo >= n - 1)
		return v[n - 1];
	frac = pos - (double)lo;
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

/* Per-group percentiles lo_q and hi_q of t over reduce[]. */
static int group_percentiles(const struct ops_tensor *t, const int *reduce, double lo_q, double hi_q,
			     double **lo, double **hi, size_t *ngroups, struct bo_error *err)
{
	struct iter it;
	size_t ng = iter_init(&it, t, reduce);
	size_t per = ng ? t->count / ng : 0;
	double *buf = malloc((t->count ? t->count : 1) * sizeof(double));
	size_t *fill = calloc(ng ? ng : 1, sizeof(size_t));
	double *l = calloc(ng ? ng : 1, sizeof(double));
	double *h = calloc(ng ? ng : 1, sizeof(double));
	int rc = 0;

	if (!buf || !fill || !l || !h) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory computing percentiles of '%s'", t->id);
		goto fail;
	}
	for (size_t i = 0; i < t->count; i++, iter_next(&it))
		buf[it.g * per + fill[it.g]++] = t->data[i];
	for (size_t g = 0; g < ng; g++) {
		qsort(buf + g * per, per, sizeof(double), cmp_double);
		l[g] = percentile(buf + g * per, per, lo_q);
		h[g] = percentile(buf + g * per, per, hi_q);
	}
	*lo = l;
	*hi = h;
	*ngroups = ng;
	l = h = NULL;
fail:
	free(buf);
	free(fill);
	free(l);
	free(h);
	return rc;
}

static const struct ops_tensor *find_ref(const struct ops_context *ctx, const char *op,
					 const cJSON *kw, struct bo_error *err)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(kw, "reference_tensor");

	if (!cJSON_IsString(r)) {
		bo_error_set(err, BO_EINVALIDPACKAGE, "%s: kwargs 'reference_tensor' must name a tensor", op);
		return NULL;
	}
	for (size_t i = 0; ctx && i < ctx->n; i++)
		if (!strcmp(ctx->tensors[i].id, r->valuestring))
			return &ctx->tensors[i];
	bo_error_set(err, BO_EINVALIDPACKAGE, "%s: reference tensor '%s' is not available", op,
		     r->valuestring);
	return NULL;
}

/* reduce[] of ref: the axes reduced in t, by id. */
static void ref_reduce(const struct ops_tensor *t, const int *reduce, const struct ops_tensor *ref,
		       int *out)
{
	for (int d = 0; d < ref->ndim; d++) {
		int td = axis_find(t, ref->axes[d]);

		out[d] = td < 0 ? 1 : reduce[td];
	}
}

static void round_all(struct ops_tensor *t)
{
	for (size_t i = 0; i < t->count; i++)
		t->data[i] = round_to(t->dtype, t->data[i]);
}

/* (x - mean) / (std + eps) with per-group or parameter statistics */
static int op_zmuv(struct ops_tensor *t, const char *op, const cJSON *kw,
		   const struct ops_context *ctx, int fixed, struct bo_error *err)
{
	int reduce[NPY_MAX_DIMS];
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(kw, "mode");
	double *mean = NULL, *std = NULL, eps;
	struct param pm, ps;
	struct iter it;
	size_t ng = 0;
	int rc;

	rc = number_kw(op, kw, "eps", EPS_DEFAULT, &eps, err);
	if (rc)
		return rc;
	rc = reduce_axes(t, op, kw, ctx, reduce, err);
	if (rc)
		return rc;
	if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "fixed"))
		fixed = 1;
	else if (mode && !cJSON_IsNull(mode) &&
		 (!cJSON_IsString(mode) || (strcmp(mode->valuestring, "per_sample") &&
					    strcmp(mode->valuestring, "per_dataset"))))
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "%s: mode must be per_sample, per_dataset or fixed", op);
	if (fixed) {
		rc = param_parse(t, op, kw, "mean", 0, 1, ctx && ctx->legacy ? reduce : NULL, &pm, err);
		if (!rc)
			rc = param_parse(t, op, kw, "std", 1, 1, ctx && ctx->legacy ? reduce : NULL, &ps, err);
		if (rc)
			return rc;
		iter_init(&it, t, reduce);
		for (size_t i = 0; i < t->count; i++, iter_next(&it))
			t->data[i] = (t->data[i] - param_at(&pm, &it)) / (param_at(&ps, &it) + eps);
	} else {
		rc = group_stats(t, reduce, &mean, &std, &ng, err);
		if (rc)
			return rc;
		iter_init(&it, t, reduce);
		for (size_t i = 0; i < t->count; i++, iter_next(&it))
			t->data[i] = (t->data[i] - mean[it.g]) / (std[it.g] + eps);
		free(mean);
		free(std);
	}
	if (t->dtype != NPY_F64)
		t->dtype = NPY_F32;
	round_all(t);
	return 0;
}

static int op_scale_mean_variance(struct ops_tensor *t, const char *op, const cJSON *kw,
				  const struct ops_context *ctx, struct bo_error *err)
{
	int reduce[NPY_MAX_DIMS], rreduce[NPY_MAX_DIMS];
	double *m = NULL, *s = NULL, *rm = NULL, *rs = NULL, eps;
	const struct ops_tensor *ref;
	struct iter it;
	size_t ng = 0, rng = 0;
	int rc;

	rc = number_kw(op, kw, "eps", EPS_DEFAULT, &eps, err);
	if (!rc)
		rc = reduce_axes(t, op, kw, ctx, reduce, err);
	if (rc)
		return rc;
	ref = find_ref(ctx, op, kw, err);
	if (!ref)
		return err->code;
	ref_reduce(t, reduce, ref, rreduce);
	rc = group_stats(t, reduce, &m, &s, &ng, err);
	if (!rc)
		rc = group_stats(ref, rreduce, &rm, &rs, &rng, err);
	if (rc)
		goto fail;
	if (rng != ng && rng != 1) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "%s: tensor '%s' and reference '%s' do not agree on the kept axes", op,
				  t->id, ref->id);
		goto fail;
	}
	iter_init(&it, t, reduce);
	for (size_t i = 0; i < t->count; i++, iter_next(&it)) {
		size_t rg = rng == 1 ? 0 : it.g;

		t->data[i] = (t->data[i] - m[it.g]) / (s[it.g] + eps) * (rs[rg] + eps) + rm[rg];
	}
	if (t->dtype != NPY_F64)
		t->dtype = NPY_F32;
	round_all(t);
fail:
	free(m);
	free(s);
	free(rm);
	free(rs);
	return rc;
}

static int op_scale_range(struct ops_tensor *t, const char *op, const cJSON *kw,
			  const struct ops_context *ctx, struct bo_error *err)
{
	int reduce[NPY_MAX_DIMS], rreduce[NPY_MAX_DIMS];
	double *lo = NULL, *hi = NULL, eps, qlo, qhi;
	const struct ops_tensor *src = t;
	struct iter it;
	size_t ng = 0, tng;
	int rc;

	rc = number_kw(op, kw, "eps", EPS_DEFAULT, &eps, err);
	if (!rc)
		rc = number_kw(op, kw, "min_percentile", 0, &qlo, err);
	if (!rc)
		rc = number_kw(op, kw, "max_percentile", 100, &qhi, err);
	if (!rc)
		rc = reduce_axes(t, op, kw, ctx, reduce, err);
	if (rc)
		return rc;
	if (!(qlo >= 0 && qlo < qhi && qhi <= 100))
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "%s: need 0 <= min_percentile < max_percentile <= 100", op);
	memcpy(rreduce, reduce, sizeof(reduce));
	if (cJSON_GetObjectItemCaseSensitive(kw, "reference_tensor") &&
	    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(kw, "reference_tensor"))) {
		src = find_ref(ctx, op, kw, err);
		if (!src)
			return err->code;
		ref_reduce(t, reduce, src, rreduce);
	}
	rc = group_percentiles(src, rreduce, qlo, qhi, &lo, &hi, &ng, err);
	if (rc)
		goto fail;
	tng = iter_init(&it, t, reduce);
	if (ng != tng && ng != 1) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "%s: tensor '%s' and reference '%s' do not agree on the kept axes", op,
				  t->id, src->id);
		goto fail;
	}
	for (size_t i = 0; i < t->count; i++, iter_next(&it)) {
		size_t g = ng == 1 ? 0 : it.g;

		t->data[i] = (t->data[i] - lo[g]) / (hi[g] - lo[g] + eps);
	}
	if (t->dtype != NPY_F64)
		t->dtype = NPY_F32;
	round_all(t);
fail:
	free(lo);
	free(hi);
	return rc;
}

int ops_apply(struct ops_tensor *t, const char *name, const struct cJSON *kwargs,
	      const struct ops_context *ctx, struct bo_error *err)
{
	int legacy = ctx && ctx->legacy;
	int reduce[NPY_MAX_DIMS];
	struct param a, b;
	struct iter it;
	int rc;

	if (kwargs && !cJSON_IsObject(kwargs) && !cJSON_IsNull(kwargs))
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: kwargs must be a mapping", name);
	if (!strcmp(name, "sigmoid")) {
		for (size_t i = 0; i < t->count; i++)
			t->data[i] = 1.0 / (1.0 + exp(-t->data[i]));
		if (t->dtype != NPY_F64)
			t->dtype = NPY_F32;
		round_all(t);
		return 0;
	}
	if (!strcmp(name, "ensure_dtype")) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(kwargs, "dtype");

		if (!cJSON_IsString(d) || dtype_parse(d->valuestring, &t->dtype))
			return bo_error_set(err, BO_EINVALIDPACKAGE,
					    "ensure_dtype: kwargs 'dtype' must be a data type name like float32");
		round_all(t);
		return 0;
	}
	if (!strcmp(name, "clip")) {
		double lo, hi;

		rc = number_kw(name, kwargs, "min", -INFINITY, &lo, err);
		if (!rc)
			rc = number_kw(name, kwargs, "max", INFINITY, &hi, err);
		if (rc)
			return rc;
		if (lo > hi)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "clip: min %g is above max %g", lo, hi);
		for (size_t i = 0; i < t->count; i++) {
			double v = t->data[i];

			t->data[i] = v < lo ? lo : v > hi ? hi : v;
		}
		round_all(t);
		return 0;
	}
	if (!strcmp(name, "binarize")) {
		rc = param_parse(t, name, kwargs, "threshold", 0, 1, NULL, &a, err);
		if (rc)
			return rc;
		for (size_t d = 0; d < NPY_MAX_DIMS; d++)
			reduce[d] = 1;
		iter_init(&it, t, reduce);
		for (size_t i = 0; i < t->count; i++, iter_next(&it))
			t->data[i] = t->data[i] > param_at(&a, &it) ? 1 : 0;
		t->dtype = NPY_BOOL;
		return 0;
	}
	if (!strcmp(name, "scale_linear")) {
		rc = reduce_axes(t, name, kwargs, ctx, reduce, err);
		if (rc)
			return rc;
		/* without axes (0.4) every axis may carry the parameter lists */
		if (!cJSON_GetObjectItemCaseSensitive(kwargs, "axes"))
			for (size_t d = 0; d < NPY_MAX_DIMS; d++)
				reduce[d] = 0;
		rc = param_parse(t, name, kwargs, "gain", 1, 0, legacy ? reduce : NULL, &a, err);
		if (!rc)
			rc = param_parse(t, name, kwargs, "offset", 0, 0, legacy ? reduce : NULL, &b, err);
		if (rc)
			return rc;
		iter_init(&it, t, reduce);
		for (size_t i = 0; i < t->count; i++, iter_next(&it))
			t->data[i] = t->data[i] * param_at(&a, &it) + param_at(&b, &it);
		if (t->dtype != NPY_F64)
			t->dtype = NPY_F32;
		round_all(t);
		return 0;
	}
	if (!strcmp(name, "zero_mean_unit_variance"))
		return op_zmuv(t, name, kwargs, ctx, 0, err);
	if (!strcmp(name, "fixed_zero_mean_unit_variance"))
		return op_zmuv(t, name, kwargs, ctx, 1, err);
	if (!strcmp(name, "scale_mean_variance"))
		return op_scale_mean_variance(t, name, kwargs, ctx, err);
	if (!strcmp(name, "scale_range"))
		return op_scale_range(t, name, kwargs, ctx, err);
	return bo_error_set(err, BO_EINVALIDPACKAGE, "unknown processing op '%s'", name);
}

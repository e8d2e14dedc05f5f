/* validate_tensors: the checks in C of a model's tensors and axes that rules cannot say:
 * unique tensor ids, axes, size references between tensors and halos against the minimal
 * shape, for the 0.3/0.4 and the 0.5 layouts. Invariant: a size derived from a broken
 * reference is never checked further (tensor.ref_bad), so one mistake gives one problem. */
#include "check/validate_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void validate__set_loc(struct vctx *c, const struct seg *segs, int n)
{
	c->nloc = 0;
	for (int i = 0; i < n; i++)
		c->loc[c->nloc++] = segs[i];
}

static void tensor_loc(struct vctx *c, const struct tensor *t)
{
	c->nloc = 0;
	validate__push_key(c, t->output ? "outputs" : "inputs");
	validate__push_idx(c, t->index);
}

struct tensor *validate__find_tensor(struct model *m, const char *id)
{
	for (int i = 0; id && i < m->n; i++)
		if (!strcmp(m->t[i].id, id))
			return &m->t[i];
	return NULL;
}

int validate__find_axis(const struct tensor *t, const char *id)
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
	validate__push_key(c, "axes");
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
	validate__push_key(c, "shape");
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
			validate__report(c, s, 0, "min", "shape_mismatch",
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
			validate__report(c, s, 0, "scale", "shape_mismatch",
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
		validate__push_key(c, "halo");
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
	validate__push_key(c, "axes");
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
		validate__push_idx(c, i);
		if (a->type == 'b' && ++nbatch > 1)
			ERR(c, s, "axes_invalid", "a tensor can have only one batch axis");
		if (validate__find_axis(t, a->id) >= 0 && validate__find_axis(t, a->id) < i) {
			validate__report(c, s, 0, "id", "duplicate_axis_id",
					 "axis id '%s' is used twice in this tensor", a->id);
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
			validate__report(c, s, 0, "halo", "halo_invalid",
				"a halo needs a size that references another tensor's axis");
		validate__pop(c);
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
	struct tensor *r = validate__find_tensor(m, a->ref_tensor);
	int ri = m->v05 ? (r ? validate__find_axis(r, a->ref_axis) : -1) : a->ref_index;
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
			validate__push_key(c, "shape");
			const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t->node, "shape");
			const char *key = cJSON_GetObjectItemCaseSensitive(shape, "reference_tensor")
						  ? "reference_tensor" : "reference_input";
			struct tensor *r = validate__find_tensor(m, a->ref_tensor);
			t->ref_bad = !r || r->output;
			if (!r || r->output)
				validate__report(c, s, 0, key, "reference_invalid",
					"'%s' is not the name of an input tensor", a->ref_tensor);
			else {
				int mapped = 0;
				for (int k = 0; k < t->naxes; k++)
					mapped += t->axes[k].size_kind == SZ_REF;
				t->ref_bad = mapped != r->naxes;
				if (mapped != r->naxes)
					validate__report(c, s, 0, key, "reference_invalid",
						"referenced tensor '%s' has %d dimensions but output '%s' maps %d of its %d axes onto it (scale not null); they must match",
						r->id, r->naxes, t->id, mapped, t->naxes);
			}
			return; /* one reference per 0.4 tensor */
		}
		validate__push_key(c, "axes");
		validate__push_idx(c, i);
		validate__push_key(c, "size");
		struct tensor *r = validate__find_tensor(m, a->ref_tensor);
		int ri = r ? validate__find_axis(r, a->ref_axis) : -1;
		t->ref_bad |= !r || ri < 0;
		if (!r)
			validate__report(c, s, 0, "tensor_id", "reference_invalid", "no tensor has the id '%s'",
				a->ref_tensor ? a->ref_tensor : "");
		else if (ri < 0)
			validate__report(c, s, 0, "axis_id", "reference_invalid", "tensor '%s' has no axis '%s'",
					 r->id, a->ref_axis ? a->ref_axis : "");
		else if (r->axes[ri].type == 'b')
			validate__report(c, s, 0, "axis_id", "reference_invalid",
				"a size cannot reference the batch axis '%s' of tensor '%s'", a->ref_axis, r->id);
		else if (r == t && ri == i)
			validate__report(c, s, 0, "axis_id", "reference_invalid",
					 "an axis size cannot reference itself");
	}
}

void validate__fmt_shape(char *buf, size_t n, const int64_t *v, int k, const char *sep)
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
	validate__fmt_shape(ms, sizeof(ms), mins, t->naxes, " ");
	validate__fmt_shape(hs, sizeof(hs), halos, t->naxes, ", ");
	tensor_loc(c, t);
	if (m->v05) {
		validate__push_key(c, "axes");
		validate__push_idx(c, bad);
		validate__push_key(c, "halo");
		ERR(c, s, "halo_too_large",
		    "halo %lld of axis '%s' of output '%s' leaves nothing: its minimal size is %lld; the halo must be less than half of it",
		    (long long)halos[bad], t->axes[bad].id, t->id, (long long)mins[bad]);
	} else {
		validate__push_key(c, "halo");
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
				validate__push_key(c, sides[o]);
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

void validate__check_model(struct vctx *c, struct sink *s, const cJSON *root, struct model *m)
{
	if (read_model(c, s, root, m))
		return;
	for (int i = 0; i < m->n; i++) {
		struct tensor *t = &m->t[i];
		for (int j = 0; j < i; j++) {
			if (!t->id[0] || strcmp(m->t[j].id, t->id))
				continue;
			tensor_loc(c, t);
			validate__report(c, s, 0, m->v05 ? "id" : "name", "duplicate_tensor_id",
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

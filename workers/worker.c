/* backoffice-worker: runs one model's weights of one format on the package's test inputs
 * and prints one JSON test summary (workers/PROTOCOL.md). Untrusted package content is
 * only read here, under the parent's sandbox; every failure of the package becomes a
 * `failed` detail that says what to fix, every failure of this machine an `error`, and the
 * result is always written (exit 2 only for a spec that cannot be read). */
#include "compare.h"
#include "common/error.h"
#include "model.h"
#include "common/npy.h"
#include "ops.h"
#include "common/rdf.h"
#include "runtime.h"
#include "common/layout.h"
#include "common/version.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPEC_MAX (1 << 20)      /* job spec bytes on stdin */
#define PATH_MAX 4096           /* common/limits.h shadows <limits.h> on the include path */
#define TENSOR_DEFAULT_MAX ((size_t)1 << 30)

/* LeakSanitizer (sanitizer builds): ONNX Runtime allocates a few bytes at load time that it
 * never frees (PLATFORM-NOTES); they are not ours to fix. Unused in other builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libonnxruntime.so.1\n";
}

/* The runtimes linked into this binary; torchscript comes from TORCH_SO (torch_runtime),
 * formats absent from both are skipped with a reason. */
static const struct runtime_ops *const runtimes[] = {&runtime_onnx, &runtime_state_dict};

/* libtorch is behind this shared object next to the worker (Makefile): loading it costs
 * ~0.4 s and ~160 MB, so only torchscript runs load it. */
#define TORCH_SO "backoffice-torch.so"

struct job {
	const char *package_dir, *rdf_file, *weight_format, *output_dir, *onnxruntime_lib, *python;
	const char *scratch_dir, *fault;
	int threads;
	size_t max_tensor_bytes;
	int have_tol;
	struct compare_tolerance tol;
};

struct run {
	cJSON *details;
	int failed, errored;
};

/* --- result helpers */

static cJSON *detail_add(struct run *r, const char *name, const char *status)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddStringToObject(d, "status", status);
	cJSON_AddItemToObject(d, "errors", cJSON_CreateArray());
	cJSON_AddItemToObject(d, "warnings", cJSON_CreateArray());
	cJSON_AddItemToArray(r->details, d);
	if (!strcmp(status, "failed"))
		r->failed = 1;
	else if (!strcmp(status, "error"))
		r->errored = 1;
	return d;
}

static void detail_error(cJSON *d, cJSON *loc, const char *msg, const char *type)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddItemToObject(e, "loc", loc ? loc : cJSON_CreateArray());
	cJSON_AddStringToObject(e, "msg", msg);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddItemToArray(cJSON_GetObjectItem(d, "errors"), e);
}

/* A check that failed with err: failed for the package's faults, error otherwise. */
static void detail_from_err(struct run *r, const char *name, const struct bo_error *err, cJSON *loc)
{
	int pkg = err->code == BO_EINVALIDPACKAGE || err->code == BO_EINVALIDRDF ||
		  err->code == BO_ENOTFOUND || err->code == BO_ETOOLARGE;
	cJSON *d = detail_add(r, name, pkg ? "failed" : "error");

	detail_error(d, loc, err->detail[0] ? err->detail : bo_error_title(err->code),
		     pkg ? "invalid_package" : "internal");
}

static cJSON *loc2(const char *a, int i)
{
	cJSON *l = cJSON_CreateArray();

	cJSON_AddItemToArray(l, cJSON_CreateString(a));
	cJSON_AddItemToArray(l, cJSON_CreateNumber(i));
	return l;
}

static cJSON *shape_json(int ndim, const int64_t *shape)
{
	cJSON *a = cJSON_CreateArray();

	for (int d = 0; d < ndim; d++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape[d]));
	return a;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
	size_t o = 0;

	o += (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < ndim && o < len; d++)
		o += (size_t)snprintf(buf + o, len - o, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (o < len)
		snprintf(buf + o, len - o, "]");
}

/* --- files */

/* package_dir/rel, refusing absolute paths, URLs and '..' so the package cannot point
 * the worker at files outside itself. */
static int package_path(char *out, size_t len, const struct job *job, const char *rel,
			struct bo_error *err)
{
	const char *p = rel;

	if (!*rel || rel[0] == '/' || strstr(rel, "://"))
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "'%s' is not a relative path inside the package", rel);
	while (p) {
		if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
			return bo_error_set(err, BO_EINVALIDPACKAGE, "'%s' points outside the package", rel);
		p = strchr(p, '/');
		if (p)
			p++;
	}
	if ((size_t)snprintf(out, len, "%s/%s", job->package_dir, rel) >= len)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "path '%s' is too long", rel);
	return 0;
}

static int read_all(FILE *f, size_t max, char **out, size_t *len, const char *what,
		    struct bo_error *err)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1), *nb;

	*out = NULL;
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (n > max) {
			free(buf);
			return bo_error_set(err, BO_ETOOLARGE, "%s is larger than %zu bytes", what, max);
		}
		if (got == 0)
			break;
		if (n == cap) {
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	if (!buf)
		return bo_error_set(err, BO_ENOMEM, "out of memory reading %s", what);
	if (ferror(f)) {
		free(buf);
		return bo_error_set(err, BO_EINTERNAL, "cannot read %s", what);
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* --- tensors */

static const char *const *axis_ids(const struct model_tensor *t, const char **ids)
{
	for (int d = 0; d < t->ndim; d++)
		ids[d] = t->axes[d].id;
	return ids;
}

static int load_test_tensor(const struct job *job, const struct model_tensor *t, const char *what,
			    int index, struct npy_array **out, struct bo_error *err)
{
	char path[PATH_MAX];
	int rc;

	*out = NULL;
	if (!t->test_tensor[0])
		return bo_error_set(err, BO_EINVALIDPACKAGE, "%s '%s' has no test tensor", what, t->id);
	rc = package_path(path, sizeof(path), job, t->test_tensor, err);
	if (!rc)
		rc = npy_load(path, job->max_tensor_bytes, out, err);
	if (rc) {
		/* npy names no file: say which one */
		char detail[BO_ERROR_DETAIL_MAX];

		snprintf(detail, sizeof(detail), "%.600s (%s %d '%.300s')", err->detail, what, index, t->test_tensor);
		memcpy(err->detail, detail, sizeof(detail));
		return rc;
	}
	if ((*out)->h.ndim != t->ndim) {
		char s[256];

		shape_str(s, sizeof(s), (*out)->h.ndim, (*out)->h.shape);
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "test tensor %s of %s '%s' has shape %s but the RDF declares %d axes",
				  t->test_tensor, what, t->id, s, t->ndim);
		npy_array_free(*out);
		*out = NULL;
	}
	return rc;
}

static int apply_ops(struct ops_tensor *t, const struct model_tensor *mt, const struct ops_context *ctx,
		     struct bo_error *err)
{
	for (size_t i = 0; i < mt->nops; i++) {
		int rc = ops_apply(t, mt->ops[i].name, mt->ops[i].kwargs, ctx, err);

		if (rc)
			return rc;
	}
	return 0;
}

static void rt_inputs_free(struct rt_tensor *in, size_t n)
{
	runtime_tensors_free(in, n);
}

/* rt tensors (packed to their current dtype) from processed tensors; names = the model's. */
static int pack_inputs(struct ops_tensor *ts, size_t n, const char *const *names, size_t nnames,
		       struct rt_tensor **out, struct bo_error *err)
{
	struct rt_tensor *in = calloc(n ? n : 1, sizeof(*in));
	int rc = 0;

	*out = NULL;
	if (!in)
		return bo_error_set(err, BO_ENOMEM, "out of memory preparing inputs");
	for (size_t i = 0; i < n; i++) {
		snprintf(in[i].name, sizeof(in[i].name), "%s", i < nnames ? names[i] : "");
		in[i].dtype = ts[i].dtype;
		in[i].ndim = ts[i].ndim;
		memcpy(in[i].shape, ts[i].shape, sizeof(in[i].shape));
		rc = ops_tensor_pack(&ts[i], &in[i].data, &in[i].nbytes, err);
		if (rc) {
			rt_inputs_free(in, n);
			return rc;
		}
	}
	*out = in;
	return 0;
}

/* Writes the produced tensor next to the run's outputs; returns the path in buf or "". */
static void save_produced(const struct job *job, const struct ops_tensor *t, char *buf, size_t len)
{
	struct bo_error err = BO_ERROR_INIT;
	void *data = NULL;
	size_t nbytes;
	char name[160];

	buf[0] = 0;
	if (!job->output_dir)
		return;
	/* output ids are validated names, but keep the file inside output_dir whatever they are */
	snprintf(name, sizeof(name), "%s", t->id);
	for (char *p = name; *p; p++)
		if (*p == '/' || (p == name && *p == '.'))
			*p = '_';
	mkdir(job->output_dir, 0700);
	if ((size_t)snprintf(buf, len, "%s/%s.npy", job->output_dir, name) >= len ||
	    ops_tensor_pack(t, &data, &nbytes, &err) ||
	    npy_save(buf, t->dtype, t->ndim, t->shape, data, &err)) {
		fprintf(stderr, "backoffice-worker: cannot keep the produced tensor: %s\n", err.detail);
		buf[0] = 0;
	}
	free(data);
	bo_error_cleanup(&err);
}

/* --- the run */

struct state {
	const struct job *job;
	struct model *m;
	const struct runtime_ops *ops;
	runtime *rt;
	struct ops_tensor in[MODEL_MAX_TENSORS];   /* preprocessed test inputs */
	size_t nin;
};

/* Runs the model on processed inputs and postprocesses: *outs (nout tensors) on success. */
static int forward(struct state *s, struct ops_tensor *in, struct ops_tensor *outs, size_t *nout,
		   struct bo_error *err)
{
	const char *const *in_names, *const *out_names;
	size_t nin_names, nout_names, nres = 0;
	struct rt_tensor *rin = NULL, *res = NULL;
	struct ops_tensor ctxt[2 * MODEL_MAX_TENSORS];
	struct ops_context ctx = {ctxt, 0, s->m->legacy};
	const char *ids[NPY_MAX_DIMS];
	size_t made = 0;
	int rc;

	*nout = 0;
	s->ops->io_names(s->rt, &in_names, &nin_names, &out_names, &nout_names);
	rc = pack_inputs(in, s->m->nin, in_names, nin_names, &rin, err);
	if (rc)
		goto fail;
	rc = s->ops->run(s->rt, rin, s->m->nin, &res, &nres, err);
	if (rc)
		goto fail;
	if (nres != s->m->nout) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "the model produced %zu outputs, the RDF declares %zu",
				  nres, s->m->nout);
		goto fail;
	}
	for (size_t k = 0; k < nres; k++) {
		const struct model_tensor *mt = &s->m->outputs[k];
		size_t isz = res[k].nbytes, count = 1;

		if (res[k].ndim != mt->ndim) {
			char sh[256];

			shape_str(sh, sizeof(sh), res[k].ndim, res[k].shape);
			rc = bo_error_set(err, BO_EINVALIDPACKAGE,
					  "output %zu ('%s') has shape %s but the RDF declares %d axes", k, mt->id,
					  sh, mt->ndim);
			goto fail;
		}
		for (int d = 0; d < res[k].ndim; d++)
			count *= (size_t)res[k].shape[d];
		(void)isz;
		rc = ops_tensor_init(&outs[k], mt->id, res[k].dtype, res[k].ndim, res[k].shape,
				     axis_ids(mt, ids), res[k].data, count, err);
		made = k + 1;
		if (rc)
			goto fail;
	}
	/* postprocessing may refer to inputs and to outputs by id */
	for (size_t i = 0; i < s->m->nin; i++)
		ctxt[ctx.n++] = in[i];
	for (size_t k = 0; k < nres; k++)
		ctxt[ctx.n++] = outs[k];
	for (size_t k = 0; k < nres; k++) {
		rc = apply_ops(&outs[k], &s->m->outputs[k], &ctx, err);
		if (rc)
			goto fail;
		ctxt[s->m->nin + k] = outs[k];
	}
	*nout = nres;
	made = 0;
	rc = 0;
fail:
	for (size_t k = 0; k < made; k++)
		ops_tensor_cleanup(&outs[k]);
	runtime_tensors_free(rin, s->m->nin);
	runtime_tensors_free(res, nres);
	return rc;
}

static void check_outputs(struct state *s, struct run *r, struct ops_tensor *outs)
{
	const struct job *job = s->job;

	for (size_t k = 0; k < s->m->nout; k++) {
		struct bo_error err = BO_ERROR_INIT;
		const struct model_tensor *mt = &s->m->outputs[k];
		struct npy_array *exp = NULL;
		double *e = NULL;
		struct compare_result cr;
		struct compare_tolerance tol;
		char name[1400], msg[1024], produced[PATH_MAX], ws[256];
		int same = 1;
		cJSON *d, *c;

		snprintf(name, sizeof(name), "output '%s' matches %s", mt->id,
			 mt->test_tensor[0] ? mt->test_tensor : "its test tensor");
		if (load_test_tensor(job, mt, "output", (int)k, &exp, &err)) {
			detail_from_err(r, name, &err, loc2("outputs", (int)k));
			bo_error_cleanup(&err);
			continue;
		}
		if (exp->h.ndim != outs[k].ndim)
			same = 0;
		for (int i = 0; same && i < exp->h.ndim; i++)
			same = exp->h.shape[i] == outs[k].shape[i];
		if (!same) {
			char a[256], b[256];

			shape_str(a, sizeof(a), outs[k].ndim, outs[k].shape);
			shape_str(b, sizeof(b), exp->h.ndim, exp->h.shape);
			snprintf(msg, sizeof(msg), "the model produced shape %s, the test output %.300s has %s", a,
				 mt->test_tensor, b);
			d = detail_add(r, name, "failed");
			detail_error(d, loc2("outputs", (int)k), msg, "shape_mismatch");
			save_produced(job, &outs[k], produced, sizeof(produced));
			c = cJSON_AddObjectToObject(d, "context");
			cJSON_AddItemToObject(c, "shape", shape_json(outs[k].ndim, outs[k].shape));
			cJSON_AddItemToObject(c, "expected_shape", shape_json(exp->h.ndim, exp->h.shape));
			if (produced[0])
				cJSON_AddStringToObject(c, "produced", produced);
			npy_array_free(exp);
			continue;
		}
		e = malloc((outs[k].count ? outs[k].count : 1) * sizeof(double));
		if (!e) {
			d = detail_add(r, name, "error");
			detail_error(d, loc2("outputs", (int)k), "out of memory comparing outputs", "internal");
			npy_array_free(exp);
			continue;
		}
		for (size_t i = 0; i < outs[k].count; i++)
			e[i] = npy_get_f64(exp, (int64_t)i);
		if (job->have_tol)
			tol = job->tol;
		else
			model_tolerance(s->m, job->weight_format, mt->id, &tol);
		compare_values(&cr, outs[k].data, e, outs[k].count, outs[k].ndim, outs[k].shape, &tol);
		d = detail_add(r, name, cr.passed ? "passed" : "failed");
		shape_str(ws, sizeof(ws), outs[k].ndim, cr.worst_index);
		produced[0] = 0;
		if (!cr.passed) {
			snprintf(msg, sizeof(msg),
				 "%zu of %zu elements differ beyond atol %g + rtol %g·|expected|%s (max |diff| %g at %s: got %g, expected %g)",
				 cr.mismatched, cr.elements, tol.atol, tol.rtol,
				 cr.nan_mismatched ? ", NaN against a number counted" : "", cr.max_abs_diff, ws,
				 cr.got, cr.expected);
			detail_error(d, loc2("outputs", (int)k), msg, "mismatch");
			save_produced(job, &outs[k], produced, sizeof(produced));
		}
		c = cJSON_AddObjectToObject(d, "context");
		cJSON_AddNumberToObject(c, "max_abs_diff", cr.max_abs_diff);
		cJSON_AddItemToObject(c, "worst_index", shape_json(outs[k].ndim, cr.worst_index));
		cJSON_AddNumberToObject(c, "got", cr.got);
		cJSON_AddNumberToObject(c, "expected", cr.expected);
		cJSON_AddNumberToObject(c, "mismatched_elements", (double)cr.mismatched);
		cJSON_AddNumberToObject(c, "nan_mismatched_elements", (double)cr.nan_mismatched);
		cJSON_AddNumberToObject(c, "elements", (double)cr.elements);
		cJSON_AddNumberToObject(c, "rtol", tol.rtol);
		cJSON_AddNumberToObject(c, "atol", tol.atol);
		cJSON_AddNumberToObject(c, "mismatched_elements_per_million_allowed",
					tol.mismatched_per_million);
		cJSON_AddItemToObject(c, "shape", shape_json(outs[k].ndim, outs[k].shape));
		if (produced[0])
			cJSON_AddStringToObject(c, "produced", produced);
		free(e);
		npy_array_free(exp);
	}
}

/* Input i cropped or zero-padded to shape (batch entries repeat the test sample's). */
static int resize_input(const struct ops_tensor *src, const int64_t *shape, struct ops_tensor *out,
			struct bo_error *err)
{
	size_t count = 1;
	int64_t coord[NPY_MAX_DIMS] = {0};

	for (int d = 0; d < src->ndim; d++)
		count *= (size_t)shape[d];
	memset(out, 0, sizeof(*out));
	memcpy(out->id, src->id, sizeof(out->id));
	memcpy(out->axes, src->axes, sizeof(out->axes));
	out->dtype = src->dtype;
	out->ndim = src->ndim;
	memcpy(out->shape, shape, sizeof(int64_t) * (size_t)src->ndim);
	out->count = count;
	out->data = calloc(count ? count : 1, sizeof(double));
	if (!out->data)
		return bo_error_set(err, BO_ENOMEM, "out of memory preparing inputs");
	for (size_t i = 0; i < count; i++) {
		size_t si = 0;
		int inside = 1;

		for (int d = 0; d < src->ndim; d++) {
			int64_t c = coord[d];

			if (!strcmp(src->axes[d], "batch") && src->shape[d] > 0)
				c %= src->shape[d];
			if (c >= src->shape[d])
				inside = 0;
			si = si * (size_t)src->shape[d] + (size_t)(c < src->shape[d] ? c : 0);
		}
		if (inside)
			out->data[i] = src->data[si];
		for (int d = src->ndim - 1; d >= 0; d--) {
			if (++coord[d] < shape[d])
				break;
			coord[d] = 0;
		}
	}
	return 0;
}

/* 0.5 models with parametrised input axes: batch 1 and 2, n = 0, 1, 2. */
static void check_shapes(struct state *s, struct run *r)
{
	int param = 0;

	for (size_t i = 0; i < s->m->nin; i++)
		for (int d = 0; d < s->m->inputs[i].ndim; d++)
			param |= s->m->inputs[i].axes[d].step > 0;
	if (s->m->legacy || !param)
		return;
	for (int batch = 1; batch <= 2; batch++) {
		for (int n = 0; n <= 2; n++) {
			struct bo_error err = BO_ERROR_INIT;
			struct ops_tensor in[MODEL_MAX_TENSORS], outs[MODEL_MAX_TENSORS];
			int64_t shapes[MODEL_MAX_TENSORS][NPY_MAX_DIMS];
			size_t nin = 0, nout = 0;
			char name[128], msg[1024] = "";
			int rc = 0;

			snprintf(name, sizeof(name), "output shapes at batch %d, n = %d", batch, n);
			memset(in, 0, sizeof(in));
			for (size_t i = 0; i < s->m->nin; i++) {
				const struct model_tensor *mt = &s->m->inputs[i];

				for (int a = 0; a < mt->ndim; a++) {
					const struct model_axis *ax = &mt->axes[a];

					shapes[i][a] = s->in[i].shape[a];
					if (ax->kind == MODEL_AXIS_BATCH)
						shapes[i][a] = batch;
					else if (ax->step > 0)
						shapes[i][a] = ax->min + n * ax->step;
					else if (ax->size >= 0)
						shapes[i][a] = ax->size;
				}
			}
			/* references between inputs: the referenced axis' size (+ offset) */
			for (size_t i = 0; i < s->m->nin; i++) {
				const struct model_tensor *mt = &s->m->inputs[i];

				for (int a = 0; a < mt->ndim; a++) {
					int ri = mt->axes[a].ref_tensor[0] ? model_input_index(s->m, mt->axes[a].ref_tensor) : -1;

					for (int b = 0; ri >= 0 && b < s->m->inputs[ri].ndim; b++)
						if (!strcmp(s->m->inputs[ri].axes[b].id, mt->axes[a].ref_axis))
							shapes[i][a] = shapes[ri][b] + (int64_t)mt->axes[a].offset;
				}
			}
			for (size_t i = 0; i < s->m->nin && !rc; i++, nin++)
				rc = resize_input(&s->in[i], shapes[i], &in[i], &err);
			if (!rc)
				rc = forward(s, in, outs, &nout, &err);
			if (rc) {
				detail_from_err(r, name, &err, NULL);
			} else {
				for (size_t k = 0; k < nout; k++) {
					int64_t want[NPY_MAX_DIMS];
					int ok = 1;

					if (model_output_shape(s->m, k, (const int64_t(*)[NPY_MAX_DIMS])shapes, want, &err))
						break;
					for (int a = 0; a < outs[k].ndim; a++)
						ok &= want[a] < 0 || want[a] == outs[k].shape[a];
					if (!ok && !msg[0]) {
						char g[256], w[256];

						shape_str(g, sizeof(g), outs[k].ndim, outs[k].shape);
						shape_str(w, sizeof(w), outs[k].ndim, want);
						snprintf(msg, sizeof(msg),
							 "output '%.127s' has shape %.255s, the axes declare %.255s (-1: any)",
							 outs[k].id, g, w);
					}
				}
				if (err.code)
					detail_from_err(r, name, &err, NULL);
				else if (msg[0])
					detail_error(detail_add(r, name, "failed"), NULL, msg, "shape_mismatch");
				else
					detail_add(r, name, "passed");
			}
			for (size_t i = 0; i < nin; i++)
				ops_tensor_cleanup(&in[i]);
			for (size_t k = 0; k < nout; k++)
				ops_tensor_cleanup(&outs[k]);
			bo_error_cleanup(&err);
		}
	}
}

static const char *skip_reason(const char *wf)
{
	if (!strcmp(wf, "tensorflow_saved_model_bundle") || !strcmp(wf, "keras_hdf5") ||
	    !strcmp(wf, "tensorflow_js"))
		return "no TensorFlow runtime on this server";
	return NULL;
}

/* The directory of this binary into buf (no trailing slash); "" when /proc cannot say. */
static void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0) {
		buf[0] = 0;
		return;
	}
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
	else
		buf[0] = 0;
}

/* runtime_torchscript from <this binary's dir>/TORCH_SO. The library stays loaded until
 * exit (never dlclose: libtorch keeps threads and static state). BO_EINTERNAL when it is
 * absent or not ours: this server's fault, not the package's. */
static int torch_runtime(const struct runtime_ops **out, struct bo_error *err)
{
	char path[PATH_MAX];
	const char *why;
	void *lib, *sym;

	exe_dir(path, sizeof(path));
	if (!path[0])
		return bo_error_set(err, BO_EINTERNAL,
				    "torch runtime not built: cannot find this worker's directory to look for %s",
				    TORCH_SO);
	if (strlen(path) + sizeof("/" TORCH_SO) > sizeof(path))
		return bo_error_set(err, BO_EINTERNAL, "torch runtime not built: the worker's path is too long");
	strncat(path, "/" TORCH_SO, sizeof(path) - strlen(path) - 1);
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		why = dlerror();
		return bo_error_set(err, BO_EINTERNAL,
				    "torch runtime not built: %s (`make all` builds it next to the worker)",
				    why ? why : path);
	}
	sym = dlsym(lib, "runtime_torchscript");
	if (!sym) {
		dlclose(lib);
		return bo_error_set(err, BO_EINTERNAL,
				    "torch runtime not built: %s has no runtime_torchscript; rebuild it", path);
	}
	*out = sym;
	return 0;
}

/* The model description of the job: 0, or the step failed and r says why. */
static int load_description(const struct job *job, struct state *s, struct run *r)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rdf_limits lim;
	char path[PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc = package_path(path, sizeof(path), job, job->rdf_file, &err);
	if (!rc) {
		f = fopen(path, "rb");
		if (!f)
			rc = bo_error_set(&err, BO_EINVALIDPACKAGE, "cannot open %s: %s", job->rdf_file,
					  strerror(errno));
	}
	rdf_limits_default(&lim);
	if (!rc)
		rc = read_all(f, (size_t)lim.max_bytes, &text, &len, job->rdf_file, &err);
	if (f)
		fclose(f);
	if (!rc)
		rc = model_load(&s->m, text, len, &err);
	free(text);
	if (rc)
		detail_from_err(r, "load model description", &err, NULL);
	bo_error_cleanup(&err);
	return rc;
}

/* The runtime of the job's weight format with its weights open (step "load weights"):
 * 0, or r says why not (an error, or skipped where this worker cannot run them). */
static int open_weights(const struct job *job, struct state *s, struct run *r, char *runtime_name, size_t rlen)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rt_options opt = {0};
	char path[PATH_MAX], wpath[PATH_MAX];
	int rc = -1;
	const struct model_weights *w = model_weights_find(s->m, job->weight_format);
	if (!w) {
		snprintf(path, sizeof(path), "the RDF has no %s weights", job->weight_format);
		detail_error(detail_add(r, "load weights", "error"), NULL, path, "no_weights");
		return -1;
	}
	if (skip_reason(job->weight_format)) {
		detail_error(detail_add(r, "load weights", "skipped"), NULL, skip_reason(job->weight_format),
			     "skipped");
		return -1;
	}
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(*runtimes); i++)
		if (!strcmp(runtimes[i]->weight_format, job->weight_format))
			s->ops = runtimes[i];
	if (!s->ops && !strcmp(job->weight_format, "torchscript") && torch_runtime(&s->ops, &err)) {
		detail_from_err(r, "load weights", &err, NULL);
		goto out;
	}
	if (!s->ops) {
		snprintf(path, sizeof(path), "no runtime for weight format %s on this server", job->weight_format);
		detail_error(detail_add(r, "load weights", "skipped"), NULL, path, "skipped");
		goto out;
	}
	rc = package_path(wpath, sizeof(wpath), job, w->source, &err);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/%s", job->package_dir, job->rdf_file);
		opt.package_dir = job->package_dir;
		opt.scratch_dir = job->scratch_dir;
		opt.onnxruntime_lib = job->onnxruntime_lib;
		opt.python = job->python;
		opt.rdf_path = path;
		opt.threads = job->threads;
		rc = s->ops->open(&s->rt, wpath, &opt, &err);
	}
	if (rc) {
		detail_from_err(r, "load weights", &err, NULL);
		goto out;
	}
	snprintf(runtime_name, rlen, "%s", s->ops->version(s->rt));
	detail_add(r, "load weights", "passed");
out:
	bo_error_cleanup(&err);
	return rc ? -1 : 0;
}

/* The test inputs, preprocessed (steps "load test inputs", "preprocessing"). */
static int prepare_inputs(const struct job *job, struct state *s, struct run *r)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_context ctx;
	int rc = 0;
	for (size_t i = 0; i < s->m->nin; i++) {
		const struct model_tensor *mt = &s->m->inputs[i];
		struct npy_array *a = NULL;
		const char *ids[NPY_MAX_DIMS];

		rc = load_test_tensor(job, mt, "input", (int)i, &a, &err);
		if (!rc)
			rc = ops_tensor_init(&s->in[i], mt->id, a->h.dtype, a->h.ndim, a->h.shape,
					     axis_ids(mt, ids), a->data, (size_t)a->h.count, &err);
		npy_array_free(a);
		if (rc) {
			detail_from_err(r, "load test inputs", &err, loc2("inputs", (int)i));
			goto out;
		}
		s->nin = i + 1;
	}
	detail_add(r, "load test inputs", "passed");
	ctx.tensors = s->in;
	ctx.n = s->nin;
	ctx.legacy = s->m->legacy;
	for (size_t i = 0; i < s->m->nin; i++) {
		rc = apply_ops(&s->in[i], &s->m->inputs[i], &ctx, &err);
		if (rc) {
			detail_from_err(r, "preprocessing", &err, loc2("inputs", (int)i));
			goto out;
		}
	}
	detail_add(r, "preprocessing", "passed");
out:
	bo_error_cleanup(&err);
	return rc;
}

static void test_model(const struct job *job, struct run *r, char *runtime_name, size_t rlen)
{
	struct bo_error err = BO_ERROR_INIT;
	struct state s = {0};
	struct ops_tensor outs[MODEL_MAX_TENSORS];
	size_t nout = 0;

	s.job = job;
	if (load_description(job, &s, r) || open_weights(job, &s, r, runtime_name, rlen) || prepare_inputs(job, &s, r))
		goto done;
	if (forward(&s, s.in, outs, &nout, &err)) {
		detail_from_err(r, "run model and postprocessing", &err, NULL);
		goto done;
	}
	detail_add(r, "run model and postprocessing", "passed");
	check_outputs(&s, r, outs);
	for (size_t k = 0; k < nout; k++)
		ops_tensor_cleanup(&outs[k]);
	check_shapes(&s, r);
done:
	for (size_t i = 0; i < s.nin; i++)
		ops_tensor_cleanup(&s.in[i]);
	if (s.rt)
		s.ops->close(s.rt);
	model_free(s.m);
	bo_error_cleanup(&err);
}

/* --- the job spec */

static const char *spec_str(const cJSON *spec, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int parse_spec(const cJSON *spec, struct job *job, char *why, size_t len)
{
	const cJSON *v;

	memset(job, 0, sizeof(*job));
	if (!cJSON_IsObject(spec)) {
		snprintf(why, len, "the job spec is not a JSON object");
		return -1;
	}
	job->package_dir = spec_str(spec, "package_dir");
	job->rdf_file = spec_str(spec, "rdf_file");
	job->weight_format = spec_str(spec, "weight_format");
	job->output_dir = spec_str(spec, "output_dir");
	job->onnxruntime_lib = spec_str(spec, "onnxruntime_lib");
	job->python = spec_str(spec, "python");
	job->scratch_dir = spec_str(spec, "scratch_dir");
	job->fault = spec_str(spec, "fault");
	if (!job->package_dir || !job->rdf_file || !job->weight_format) {
		snprintf(why, len, "the job spec needs package_dir, rdf_file and weight_format (strings)");
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(spec, "threads");
	job->threads = cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 64 ? v->valueint : 1;
	v = cJSON_GetObjectItemCaseSensitive(spec, "max_tensor_bytes");
	job->max_tensor_bytes = cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e15
					? (size_t)v->valuedouble
					: TENSOR_DEFAULT_MAX;
	v = cJSON_GetObjectItemCaseSensitive(spec, "tolerance");
	if (cJSON_IsObject(v)) {
		const cJSON *x;

		job->have_tol = 1;
		job->tol.rtol = 1e-3;
		job->tol.atol = 1e-4;
		x = cJSON_GetObjectItemCaseSensitive(v, "rtol");
		if (cJSON_IsNumber(x))
			job->tol.rtol = x->valuedouble;
		x = cJSON_GetObjectItemCaseSensitive(v, "atol");
		if (cJSON_IsNumber(x))
			job->tol.atol = x->valuedouble;
		x = cJSON_GetObjectItemCaseSensitive(v, "mismatched_elements_per_million");
		if (cJSON_IsNumber(x))
			job->tol.mismatched_per_million = x->valuedouble;
	} else if (v && !cJSON_IsNull(v)) {
		snprintf(why, len, "tolerance must be null or an object");
		return -1;
	}
	return 0;
}

/* Faults for the sandbox tests; honoured only with BO_WORKER_FAULTS=1. */
static void inject_fault(const char *fault)
{
	const char *on = getenv("BO_WORKER_FAULTS");

	if (!fault || !on || strcmp(on, "1"))
		return;
	if (!strcmp(fault, "segfault")) {
		/* die by the signal, not by a sanitizer's report of it */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	} else if (!strcmp(fault, "sleep")) {
		for (;;)
			pause();
	} else if (!strcmp(fault, "alloc")) {
		for (;;) {
			char *p = malloc(64 << 20);

			if (p)
				memset(p, 1, 64 << 20);
		}
	}
}

/* The default libonnxruntime: build/<variant>/../deps/npm/…, next to this binary. */
static void default_ort(char *buf, size_t len)
{
	char exe[PATH_MAX];

	buf[0] = 0;
	exe_dir(exe, sizeof(exe));
	if (!exe[0])
		return;
	if ((size_t)snprintf(buf, len, "%s%s", exe, LAYOUT_ORT_REL) >= len || access(buf, R_OK))
		buf[0] = 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The lease worker loop (server/pipeline/lease_client.c, in libbo.a, which the Makefile
 * links into this binary): `backoffice-worker --lease URL --token T` leases jobs over HTTP
 * and runs each in the jail as this same binary in its stdin mode. Declared here because
 * the worker's own sources include common/ only (tests/lint/layers.sh). */
int lease_client_main(int argc, char **argv);

int main(int argc, char **argv)
{
	struct bo_error err = BO_ERROR_INIT;
	struct timespec t0;
	struct job job;
	struct run r = {0};
	struct rusage ru;
	char *text = NULL, why[BO_ERROR_DETAIL_MAX] = "", ort[PATH_MAX], scratch[PATH_MAX], rtname[128] = "";
	char title[160];
	cJSON *spec = NULL, *res = NULL, *env;
	const char *status;
	size_t len = 0;
	char *out = NULL;
	int exit_code = 0;

	if (argc > 1 && !strcmp(argv[1], "--lease"))
		return lease_client_main(argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r.details = cJSON_CreateArray();
	if (read_all(stdin, SPEC_MAX, &text, &len, "the job spec", &err))
		snprintf(why, sizeof(why), "%s", err.detail);
	else if (!(spec = cJSON_ParseWithLength(text, len)))
		snprintf(why, sizeof(why), "the job spec is not valid JSON");
	else
		parse_spec(spec, &job, why, sizeof(why));
	if (why[0]) {
		detail_error(detail_add(&r, "read job spec", "error"), NULL, why, "bad_spec");
		exit_code = 2;
		memset(&job, 0, sizeof(job));
	} else {
		inject_fault(job.fault);
		if (!job.onnxruntime_lib || !*job.onnxruntime_lib) {
			default_ort(ort, sizeof(ort));
			job.onnxruntime_lib = ort[0] ? ort : NULL;
		}
		if (!job.scratch_dir) {
			/* the sandbox runs us in a fresh scratch directory */
			if (getcwd(scratch, sizeof(scratch) - 8)) {
				strncat(scratch, "/work", sizeof(scratch) - strlen(scratch) - 1);
				mkdir(scratch, 0700);
				job.scratch_dir = scratch;
			}
		}
		test_model(&job, &r, rtname, sizeof(rtname));
	}

	status = r.errored ? "error" : r.failed ? "failed" : "passed";
	if (!r.errored && !r.failed && cJSON_GetArraySize(r.details) == 1 &&
	    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r.details, 0), "status")),
		    "skipped"))
		status = "skipped";
	res = cJSON_CreateObject();
	snprintf(title, sizeof(title), "reproduce test outputs (%s)",
		 job.weight_format ? job.weight_format : "?");
	cJSON_AddStringToObject(res, "name", title);
	if (job.weight_format)
		cJSON_AddStringToObject(res, "weight_format", job.weight_format);
	else
		cJSON_AddNullToObject(res, "weight_format");
	cJSON_AddStringToObject(res, "status", status);
	cJSON_AddItemToObject(res, "details", r.details);
	env = cJSON_AddObjectToObject(res, "env");
	{
		char *sp = strchr(rtname, ' ');

		if (sp)
			*sp++ = 0;
		if (rtname[0])
			cJSON_AddStringToObject(env, "runtime", rtname);
		else
			cJSON_AddNullToObject(env, "runtime");
		if (sp)
			cJSON_AddStringToObject(env, "runtime_version", sp);
		else
			cJSON_AddNullToObject(env, "runtime_version");
	}
	cJSON_AddStringToObject(env, "backoffice", BO_VERSION);
	cJSON_AddNumberToObject(res, "wall_ms", (double)elapsed_ms(&t0));
	getrusage(RUSAGE_SELF, &ru);
	cJSON_AddNumberToObject(res, "peak_rss_kb", (double)ru.ru_maxrss);
	out = cJSON_PrintUnformatted(res);
	if (out) {
		fputs(out, stdout);
		fputc('\n', stdout);
	}
	if (fflush(stdout) || !out)
		exit_code = exit_code ? exit_code : 1;
	free(out);
	cJSON_Delete(res);
	cJSON_Delete(spec);
	free(text);
	bo_error_cleanup(&err);
	return exit_code;
}

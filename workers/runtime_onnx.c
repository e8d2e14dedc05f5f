/* runtime_onnx: the `onnx` weight format through ONNX Runtime's C API. The library comes
 * from the npm package onnxruntime-node, which ships no header, so the part of the API used
 * here is declared below: OrtGetApiBase() returns two function pointers, GetApi(version)
 * returns the OrtApi table, an append-only array of function pointers whose slot numbers
 * never change between releases. Only slots up to the last one used are declared; a slot
 * index that were wrong would call the wrong function, so the indices are checked by the
 * unit and worker tests that run real models. Every tensor is copied out of ORT's memory
 * before its OrtValue is released, so nothing ORT owns escapes this file. */
#include "runtime.h"

#include "common/error.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORT_API_VERSION_WANTED 17 /* ORT 1.17 (2024); every slot used below exists since v1 */

typedef struct ort_status ort_status; /* NULL means success */
typedef struct ort_env ort_env;
typedef struct ort_session ort_session;
typedef struct ort_session_options ort_session_options;
typedef struct ort_value ort_value;
typedef struct ort_memory_info ort_memory_info;
typedef struct ort_allocator ort_allocator;
typedef struct ort_shape_info ort_shape_info;

typedef void (*ort_unused)(void);

/* The OrtApi table: slot n is the n-th member. */
struct ort_api {
	ort_unused s0_create_status;
	int (*get_error_code)(const ort_status *);                               /* 1 */
	const char *(*get_error_message)(const ort_status *);                    /* 2 */
	ort_status *(*create_env)(int level, const char *logid, ort_env **out);  /* 3 */
	ort_unused s4, s5;
	ort_status *(*disable_telemetry)(const ort_env *);                       /* 6 */
	ort_status *(*create_session)(const ort_env *, const char *path, const ort_session_options *,
				      ort_session **out);                        /* 7 */
	ort_unused s8;
	ort_status *(*run)(ort_session *, const void *run_options, const char *const *in_names,
			   const ort_value *const *inputs, size_t nin, const char *const *out_names,
			   size_t nout, ort_value **outputs);                    /* 9 */
	ort_status *(*create_session_options)(ort_session_options **out);       /* 10 */
	ort_unused s11, s12, s13, s14, s15, s16, s17, s18, s19, s20, s21, s22, s23;
	ort_status *(*set_intra_op_threads)(ort_session_options *, int);         /* 24 */
	ort_status *(*set_inter_op_threads)(ort_session_options *, int);         /* 25 */
	ort_unused s26, s27, s28, s29;
	ort_status *(*session_input_count)(const ort_session *, size_t *out);    /* 30 */
	ort_status *(*session_output_count)(const ort_session *, size_t *out);   /* 31 */
	ort_unused s32, s33, s34, s35;
	ort_status *(*session_input_name)(const ort_session *, size_t i, ort_allocator *,
					  char **out);                           /* 36 */
	ort_status *(*session_output_name)(const ort_session *, size_t i, ort_allocator *,
					   char **out);                          /* 37 */
	ort_unused s38, s39, s40, s41, s42, s43, s44, s45, s46, s47, s48;
	ort_status *(*create_tensor_with_data)(const ort_memory_info *, void *data, size_t len,
					       const int64_t *shape, size_t ndim, int type,
					       ort_value **out);                 /* 49 */
	ort_unused s50;
	ort_status *(*tensor_mutable_data)(ort_value *, void **out);             /* 51 */
	ort_unused s52, s53, s54, s55, s56, s57, s58, s59;
	ort_status *(*tensor_element_type)(const ort_shape_info *, int *out);    /* 60 */
	ort_status *(*dimensions_count)(const ort_shape_info *, size_t *out);    /* 61 */
	ort_status *(*dimensions)(const ort_shape_info *, int64_t *out, size_t n); /* 62 */
	ort_unused s63, s64;
	ort_status *(*tensor_type_and_shape)(const ort_value *, ort_shape_info **out); /* 65 */
	ort_unused s66, s67, s68;
	ort_status *(*create_cpu_memory_info)(int alloc_type, int mem_type,
					      ort_memory_info **out);            /* 69 */
	ort_unused s70, s71, s72, s73, s74, s75;
	ort_status *(*allocator_free)(ort_allocator *, void *p);                 /* 76 */
	ort_unused s77;
	ort_status *(*default_allocator)(ort_allocator **out);                   /* 78 */
	ort_unused s79, s80, s81, s82, s83, s84, s85, s86, s87, s88, s89, s90, s91;
	void (*release_env)(ort_env *);                                          /* 92 */
	void (*release_status)(ort_status *);                                    /* 93 */
	void (*release_memory_info)(ort_memory_info *);                          /* 94 */
	void (*release_session)(ort_session *);                                  /* 95 */
	void (*release_value)(ort_value *);                                      /* 96 */
	ort_unused s97, s98;
	void (*release_shape_info)(ort_shape_info *);                            /* 99 */
	void (*release_session_options)(ort_session_options *);                  /* 100 */
};

struct ort_api_base {
	const struct ort_api *(*get_api)(uint32_t version);
	const char *(*get_version_string)(void);
};

/* ONNXTensorElementDataType values, OrtAllocatorType, OrtMemType, OrtLoggingLevel. */
enum {
	ORT_T_FLOAT = 1, ORT_T_UINT8 = 2, ORT_T_INT8 = 3, ORT_T_UINT16 = 4, ORT_T_INT16 = 5,
	ORT_T_INT32 = 6, ORT_T_INT64 = 7, ORT_T_BOOL = 9, ORT_T_FLOAT16 = 10, ORT_T_DOUBLE = 11,
	ORT_T_UINT32 = 12, ORT_T_UINT64 = 13
};
#define ORT_ARENA_ALLOCATOR 1
#define ORT_MEM_DEFAULT 0
#define ORT_LOG_ERROR 3

struct runtime {
	void *lib;
	const struct ort_api *api;
	ort_env *env;
	ort_session *session;
	ort_memory_info *mem;
	char **in_names, **out_names;
	size_t nin, nout;
	char version[64];
};

static const struct {
	enum npy_dtype npy;
	int ort;
} dtypes[] = {
	{NPY_F32, ORT_T_FLOAT}, {NPY_F64, ORT_T_DOUBLE}, {NPY_U8, ORT_T_UINT8}, {NPY_I8, ORT_T_INT8},
	{NPY_U16, ORT_T_UINT16}, {NPY_I16, ORT_T_INT16}, {NPY_I32, ORT_T_INT32},
	{NPY_I64, ORT_T_INT64}, {NPY_BOOL, ORT_T_BOOL}, {NPY_F16, ORT_T_FLOAT16},
	{NPY_U32, ORT_T_UINT32}, {NPY_U64, ORT_T_UINT64},
};

static int to_ort_type(enum npy_dtype t)
{
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(*dtypes); i++)
		if (dtypes[i].npy == t)
			return dtypes[i].ort;
	return -1;
}

static int from_ort_type(int t, enum npy_dtype *out)
{
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(*dtypes); i++)
		if (dtypes[i].ort == t) {
			*out = dtypes[i].npy;
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

/* Turns a non-NULL status into err (code given), releasing it. Returns code or 0. */
static int check(runtime *rt, ort_status *st, int code, const char *what, struct bo_error *err)
{
	char msg[700];
	const char *m;
	size_t n = 0;

	if (!st)
		return 0;
	m = rt->api->get_error_message(st);
	/* one line: ORT messages may span lines (shape details come after a newline) */
	for (; m && *m && n < sizeof(msg) - 1; m++)
		if (*m != '\n' || (n && msg[n - 1] != ' '))
			msg[n++] = *m == '\n' || *m == '\r' ? ' ' : *m;
	while (n && msg[n - 1] == ' ')
		n--;
	msg[n] = 0;
	bo_error_set(err, code, "onnx: %s: %s", what, msg);
	rt->api->release_status(st);
	return code;
}

static void free_names(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void onnx_close(runtime *rt)
{
	if (!rt)
		return;
	if (rt->api) {
		if (rt->session)
			rt->api->release_session(rt->session);
		if (rt->mem)
			rt->api->release_memory_info(rt->mem);
		if (rt->env)
			rt->api->release_env(rt->env);
	}
	free_names(rt->in_names, rt->nin);
	free_names(rt->out_names, rt->nout);
	/* never dlclose: ORT keeps static state and threads that must not outlive their
	 * code; the worker is one process per test run, so the mapping dies with it */
	free(rt);
}

/* Copies the session's input or output names into malloc'd strings. */
static int read_names(runtime *rt, int outputs, ort_allocator *alloc, struct bo_error *err)
{
	size_t n = 0;
	char ***names = outputs ? &rt->out_names : &rt->in_names;
	size_t *count = outputs ? &rt->nout : &rt->nin;
	int rc;

	rc = check(rt, outputs ? rt->api->session_output_count(rt->session, &n)
			       : rt->api->session_input_count(rt->session, &n),
		   BO_EINVALIDPACKAGE, "reading the model's io", err);
	if (rc)
		return rc;
	if (n > NPY_MAX_DIMS * 64)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "onnx: the model declares %zu %s (limit %d)",
				    n, outputs ? "outputs" : "inputs", NPY_MAX_DIMS * 64);
	*names = calloc(n ? n : 1, sizeof(char *));
	if (!*names)
		return bo_error_set(err, BO_ENOMEM, "out of memory reading onnx io names");
	for (size_t i = 0; i < n; i++) {
		char *name = NULL;

		rc = check(rt, outputs ? rt->api->session_output_name(rt->session, i, alloc, &name)
				       : rt->api->session_input_name(rt->session, i, alloc, &name),
			   BO_EINVALIDPACKAGE, "reading the model's io names", err);
		if (rc)
			return rc;
		(*names)[i] = strdup(name ? name : "");
		*count = i + 1;
		rt->api->release_status(rt->api->allocator_free(alloc, name));
		if (!(*names)[i])
			return bo_error_set(err, BO_ENOMEM, "out of memory reading onnx io names");
	}
	*count = n;
	return 0;
}

static int onnx_open(runtime **out, const char *weights_path, const struct rt_options *opt,
		     struct bo_error *err)
{
	const struct ort_api_base *(*get_base)(void);
	const struct ort_api_base *base;
	ort_session_options *so = NULL;
	ort_allocator *alloc = NULL;
	const char *lib = opt && opt->onnxruntime_lib && *opt->onnxruntime_lib
				  ? opt->onnxruntime_lib
				  : "libonnxruntime.so.1";
	runtime *rt = NULL;
	void *sym;
	int rc;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening onnx weights");
		goto fail;
	}
	rt->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!rt->lib) {
		rc = bo_error_set(err, BO_EINTERNAL,
				  "cannot load ONNX Runtime (%s); set onnxruntime_lib to libonnxruntime.so.1 "
				  "from the npm package onnxruntime-node (make deps-test installs it)",
				  dlerror());
		goto fail;
	}
	sym = dlsym(rt->lib, "OrtGetApiBase");
	if (!sym) {
		rc = bo_error_set(err, BO_EINTERNAL, "%s has no OrtGetApiBase: not ONNX Runtime", lib);
		goto fail;
	}
	/* dlsym returns data pointers; POSIX guarantees the conversion for functions */
	*(void **)&get_base = sym;
	base = get_base();
	rt->api = base ? base->get_api(ORT_API_VERSION_WANTED) : NULL;
	if (!rt->api) {
		rc = bo_error_set(err, BO_EINTERNAL, "%s does not provide ONNX Runtime C API version %d",
				  lib, ORT_API_VERSION_WANTED);
		goto fail;
	}
	snprintf(rt->version, sizeof(rt->version), "onnxruntime %s", base->get_version_string());

	rc = check(rt, rt->api->create_env(ORT_LOG_ERROR, "backoffice-worker", &rt->env), BO_EINTERNAL,
		   "creating the environment", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->disable_telemetry(rt->env), BO_EINTERNAL, "disabling telemetry", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->create_session_options(&so), BO_EINTERNAL, "session options", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->set_intra_op_threads(so, opt && opt->threads > 0 ? opt->threads : 1),
		   BO_EINTERNAL, "setting threads", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->set_inter_op_threads(so, 1), BO_EINTERNAL, "setting threads", err);
	if (rc)
		goto fail;
	/* no execution provider appended: ORT then uses only its CPU provider */
	rc = check(rt, rt->api->create_session(rt->env, weights_path, so, &rt->session),
		   BO_EINVALIDPACKAGE, "cannot load the weights", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->create_cpu_memory_info(ORT_ARENA_ALLOCATOR, ORT_MEM_DEFAULT, &rt->mem),
		   BO_EINTERNAL, "memory info", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->default_allocator(&alloc), BO_EINTERNAL, "allocator", err);
	if (rc)
		goto fail;
	rc = read_names(rt, 0, alloc, err);
	if (rc)
		goto fail;
	rc = read_names(rt, 1, alloc, err);
	if (rc)
		goto fail;
	*out = rt;
	rt = NULL;
	rc = 0;
fail:
	if (so)
		(*out ? (*out)->api : rt->api)->release_session_options(so);
	onnx_close(rt);
	return rc;
}

static int onnx_io_names(runtime *rt, const char *const **inputs, size_t *nin,
			 const char *const **outputs, size_t *nout)
{
	*inputs = (const char *const *)rt->in_names;
	*nin = rt->nin;
	*outputs = (const char *const *)rt->out_names;
	*nout = rt->nout;
	return 0;
}

/* Copies one output value into t (data malloc'd). */
static int copy_output(runtime *rt, ort_value *v, const char *name, struct rt_tensor *t,
		       struct bo_error *err)
{
	ort_shape_info *info = NULL;
	size_t ndim = 0;
	int type = 0;
	void *src = NULL;
	size_t count = 1;
	int rc;

	snprintf(t->name, sizeof(t->name), "%s", name);
	rc = check(rt, rt->api->tensor_type_and_shape(v, &info), BO_EINVALIDPACKAGE,
		   "an output is not a tensor", err);
	if (rc)
		goto fail;
	rc = check(rt, rt->api->tensor_element_type(info, &type), BO_EINTERNAL, "output type", err);
	if (!rc)
		rc = check(rt, rt->api->dimensions_count(info, &ndim), BO_EINTERNAL, "output shape", err);
	if (rc)
		goto fail;
	if (ndim > NPY_MAX_DIMS) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "onnx: output '%s' has %zu dimensions (limit %d)",
				  name, ndim, NPY_MAX_DIMS);
		goto fail;
	}
	if (from_ort_type(type, &t->dtype)) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "onnx: output '%s' has element type %d, which has no .npy equivalent here",
				  name, type);
		goto fail;
	}
	rc = check(rt, rt->api->dimensions(info, t->shape, ndim), BO_EINTERNAL, "output shape", err);
	if (rc)
		goto fail;
	t->ndim = (int)ndim;
	for (size_t i = 0; i < ndim; i++) {
		if (t->shape[i] < 0 || (t->shape[i] && count > SIZE_MAX / 16 / (size_t)t->shape[i])) {
			rc = bo_error_set(err, BO_EINVALIDPACKAGE, "onnx: output '%s' has an impossible shape",
					  name);
			goto fail;
		}
		count *= (size_t)t->shape[i];
	}
	t->nbytes = count * item_size(t->dtype);
	t->data = malloc(t->nbytes ? t->nbytes : 1);
	if (!t->data) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory copying onnx output '%s'", name);
		goto fail;
	}
	if (t->nbytes) {
		rc = check(rt, rt->api->tensor_mutable_data(v, &src), BO_EINTERNAL, "output data", err);
		if (rc)
			goto fail;
		memcpy(t->data, src, t->nbytes);
	}
	rc = 0;
fail:
	if (info)
		rt->api->release_shape_info(info);
	return rc;
}

static int onnx_run(runtime *rt, const struct rt_tensor *inputs, size_t nin,
		    struct rt_tensor **outputs, size_t *nout, struct bo_error *err)
{
	ort_value **in = NULL, **res = NULL;
	struct rt_tensor *outs = NULL;
	int rc;

	*outputs = NULL;
	*nout = 0;
	if (nin != rt->nin) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "onnx: the model takes %zu inputs, %zu given",
				  rt->nin, nin);
		goto fail;
	}
	in = calloc(nin ? nin : 1, sizeof(*in));
	res = calloc(rt->nout ? rt->nout : 1, sizeof(*res));
	outs = calloc(rt->nout ? rt->nout : 1, sizeof(*outs));
	if (!in || !res || !outs) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory running onnx");
		goto fail;
	}
	for (size_t i = 0; i < nin; i++) {
		int type = to_ort_type(inputs[i].dtype);

		if (type < 0) {
			rc = bo_error_set(err, BO_EINVALIDPACKAGE, "onnx: input %zu has an unsupported dtype", i);
			goto fail;
		}
		rc = check(rt, rt->api->create_tensor_with_data(rt->mem, inputs[i].data, inputs[i].nbytes,
								inputs[i].shape, (size_t)inputs[i].ndim,
								type, &in[i]),
			   BO_EINVALIDPACKAGE, "input tensor", err);
		if (rc)
			goto fail;
	}
	rc = check(rt, rt->api->run(rt->session, NULL, (const char *const *)rt->in_names,
				    (const ort_value *const *)in, nin, (const char *const *)rt->out_names,
				    rt->nout, res),
		   BO_EINVALIDPACKAGE, "the model failed to run", err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < rt->nout; i++) {
		rc = copy_output(rt, res[i], rt->out_names[i], &outs[i], err);
		if (rc)
			goto fail;
	}
	*outputs = outs;
	*nout = rt->nout;
	outs = NULL;
	rc = 0;
fail:
	for (size_t i = 0; in && i < nin; i++)
		if (in[i])
			rt->api->release_value(in[i]);
	for (size_t i = 0; res && i < rt->nout; i++)
		if (res[i])
			rt->api->release_value(res[i]);
	free(in);
	free(res);
	runtime_tensors_free(outs, rt->nout);
	return rc;
}

static const char *onnx_version(runtime *rt)
{
	return rt->version;
}

const struct runtime_ops runtime_onnx = {
	.weight_format = "onnx",
	.open = onnx_open,
	.io_names = onnx_io_names,
	.run = onnx_run,
	.version = onnx_version,
	.close = onnx_close,
};

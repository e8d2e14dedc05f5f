/* runtime: one interface over the model runtimes the worker can use (onnx through ONNX
 * Runtime's C API loaded with dlopen, torchscript through libtorch behind a C++ shim,
 * pytorch_state_dict through /usr/bin/python3 + python3-torch). A runtime loads one weights
 * file and runs it on named input tensors; tensors are C-order, native byte order. */
#ifndef BO_RUNTIME_H
#define BO_RUNTIME_H

#include "common/npy.h"

#include <stddef.h>
#include <stdint.h>

struct bo_error;

/* A tensor passed to or returned by a runtime. `data` is owned by whoever made the tensor:
 * inputs by the caller; outputs by the runtime until runtime_tensors_free. */
struct rt_tensor {
	char name[128];  /* the model's own input/output name ("input.1", "0", …) */
	enum npy_dtype dtype;
	int ndim;
	int64_t shape[NPY_MAX_DIMS];
	void *data;
	size_t nbytes;
};

struct rt_options {
	const char *package_dir;   /* the unpacked package (architecture sources, weights) */
	const char *scratch_dir;   /* a private writable directory */
	const char *onnxruntime_lib; /* path of libonnxruntime.so.1 (onnx) */
	const char *python;        /* /usr/bin/python3 (pytorch_state_dict) */
	const char *rdf_path;      /* the RDF (pytorch_state_dict reads the architecture from it) */
	int threads;               /* intra-op threads, 1 by default */
};

typedef struct runtime runtime;

/* The operations every runtime provides. open: loads weights_path (BO_EINVALIDPACKAGE with a
 * one-line reason when the file is corrupt or not a model of this format; BO_EINTERNAL when
 * the runtime itself cannot be loaded, e.g. no libonnxruntime). run: inputs in the model's
 * input order (names may be used by runtimes that bind by name); *outputs allocated by the
 * runtime in the model's output order. version: a static string like "onnxruntime 1.30.0". */
struct runtime_ops {
	const char *weight_format; /* "onnx", "torchscript", "pytorch_state_dict" */
	int (*open)(runtime **out, const char *weights_path, const struct rt_options *opt,
		    struct bo_error *err);
	/* The model's declared input/output names in order (borrowed; may be empty strings when
	 * the format has no names, e.g. torchscript). */
	int (*io_names)(runtime *rt, const char *const **inputs, size_t *nin,
			const char *const **outputs, size_t *nout);
	int (*run)(runtime *rt, const struct rt_tensor *inputs, size_t nin, struct rt_tensor **outputs,
		   size_t *nout, struct bo_error *err);
	const char *(*version)(runtime *rt);
	void (*close)(runtime *rt);
};

extern const struct runtime_ops runtime_onnx;
extern const struct runtime_ops runtime_torchscript;
extern const struct runtime_ops runtime_state_dict;

/* Frees tensors returned by run (data and array). NULL ok. */
void runtime_tensors_free(struct rt_tensor *t, size_t n);

#endif

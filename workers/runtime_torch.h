/* runtime_torch: the C face of the one C++ file (runtime_torch.cpp), a thin extern "C" shim
 * over libtorch's TorchScript loader. Nothing C++ crosses this boundary: every exception is
 * caught inside the shim and comes back as a return code plus a one-line message. */
#ifndef BO_RUNTIME_TORCH_H
#define BO_RUNTIME_TORCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "runtime.h" /* C declarations: C linkage from C++ too */

/* Return codes of the shim (the C side maps them to BO_E* codes). */
#define TORCH_OK 0
#define TORCH_EMODEL (-1)  /* the file is not a TorchScript model, or the model raised */
#define TORCH_EINPUT (-2)  /* an input the shim cannot hand to libtorch (dtype, shape) */
#define TORCH_ENOMEM (-3)

typedef struct torch_module torch_module;

/* Loads a TorchScript archive (torch::jit::load on the CPU), puts it in eval mode and sets
 * libtorch's intra-op threads to `threads` (>= 1; process-wide in libtorch). Returns
 * TORCH_OK with *out (free with torch_module_free), or TORCH_EMODEL / TORCH_ENOMEM with
 * libtorch's message (first line, no backtrace) in msg (msglen bytes, NUL-terminated). */
int torch_module_load(torch_module **out, const char *path, int threads, char *msg,
		      size_t msglen);

/* Names of forward's arguments (self excluded) from the method schema, and the number of
 * outputs when the schema's return type says it (a Tensor: 1, a Tuple of n: n; 0 when
 * unknown, e.g. a List). Borrowed, valid until torch_module_free. Never fails. */
void torch_module_io(torch_module *m, const char *const **inputs, size_t *nin, size_t *nout);

/* Runs forward under NoGradGuard on copies of the inputs (C order, native byte order;
 * dtypes bool, int8, uint8, int16, int32, int64, float16, float32, float64; others give
 * TORCH_EINPUT). The result may be a tensor or a tuple/list of tensors; each becomes one
 * output: contiguous, its own dtype (bfloat16 is widened to float32), name "" in the
 * order returned. *outputs (array and every data, malloc'd) is owned by the caller
 * (runtime_tensors_free). Returns TORCH_OK, TORCH_EINPUT, TORCH_EMODEL (the model raised,
 * or returned something that is not tensors: msg says what), TORCH_ENOMEM. */
int torch_module_forward(torch_module *m, const struct rt_tensor *inputs, size_t nin,
			 struct rt_tensor **outputs, size_t *nout, char *msg, size_t msglen);

/* NULL ok. */
void torch_module_free(torch_module *m);

/* "libtorch 1.13.1" (static). */
const char *torch_runtime_version(void);

#ifdef __cplusplus
}
#endif

#endif

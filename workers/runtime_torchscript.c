/* runtime_torchscript: the `torchscript` weight format through libtorch, behind the C++
 * shim of runtime_torch.cpp. This file only maps the shim's codes and messages onto the
 * runtime interface (runtime.h): a file libtorch cannot load is the package's fault
 * (BO_EINVALIDPACKAGE), never the worker's. Built with the shim into backoffice-torch.so,
 * whose only export is runtime_torchscript (the worker dlopens it for torchscript runs). */
#include "runtime.h"

#include "common/error.h"
#include "runtime_torch.h"

#include <stdlib.h>

struct runtime {
	torch_module *m;
	const char **output_names; /* nout empty strings: TorchScript has no output names */
	size_t nout;
};

static int map_code(int trc)
{
	switch (trc) {
	case TORCH_OK: return 0;
	case TORCH_ENOMEM: return BO_ENOMEM;
	default: return BO_EINVALIDPACKAGE;
	}
}

static void ts_close(runtime *rt)
{
	if (!rt)
		return;
	torch_module_free(rt->m);
	free(rt->output_names);
	free(rt);
}

static int ts_open(runtime **out, const char *weights_path, const struct rt_options *opt,
		   struct bo_error *err)
{
	char msg[BO_ERROR_DETAIL_MAX - 128] = "";
	runtime *rt = NULL;
	const char *const *in;
	size_t nin;
	int rc;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening torchscript weights");
		goto fail;
	}
	rc = torch_module_load(&rt->m, weights_path, opt && opt->threads > 0 ? opt->threads : 1,
			       msg, sizeof(msg));
	if (rc) {
		rc = bo_error_set(err, map_code(rc), "torchscript weights %s cannot be loaded: %s",
				  weights_path, msg);
		goto fail;
	}
	torch_module_io(rt->m, &in, &nin, &rt->nout);
	if (rt->nout) {
		rt->output_names = calloc(rt->nout, sizeof(*rt->output_names));
		if (!rt->output_names) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory opening torchscript weights");
			goto fail;
		}
		for (size_t i = 0; i < rt->nout; i++)
			rt->output_names[i] = "";
	}
	*out = rt;
	rt = NULL;
	rc = 0;
fail:
	ts_close(rt);
	return rc;
}

static int ts_io_names(runtime *rt, const char *const **inputs, size_t *nin,
		       const char *const **outputs, size_t *nout)
{
	size_t n;
	torch_module_io(rt->m, inputs, nin, &n);
	*outputs = rt->output_names;
	*nout = rt->nout;
	return 0;
}

static int ts_run(runtime *rt, const struct rt_tensor *inputs, size_t nin,
		  struct rt_tensor **outputs, size_t *nout, struct bo_error *err)
{
	char msg[BO_ERROR_DETAIL_MAX - 64] = "";
	int rc = torch_module_forward(rt->m, inputs, nin, outputs, nout, msg, sizeof(msg));
	/* an input libtorch cannot take comes from the package's test tensors */
	if (rc == TORCH_EINPUT)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "torchscript: %s", msg);
	if (rc)
		return bo_error_set(err, map_code(rc), "torchscript model raised: %s", msg);
	return 0;
}

static const char *ts_version(runtime *rt)
{
	(void)rt;
	return torch_runtime_version();
}

const struct runtime_ops runtime_torchscript = {
	.weight_format = "torchscript",
	.open = ts_open,
	.io_names = ts_io_names,
	.run = ts_run,
	.version = ts_version,
	.close = ts_close,
};

/* runtime_torch.cpp: the project's one C++ file, an extern "C" shim over libtorch's
 * TorchScript API (see runtime_torch.h). Invariant: no C++ exception and no C++ object
 * crosses the boundary — every entry point catches everything and answers with a TORCH_*
 * code and a one-line message; outputs are plain malloc'd buffers the C side frees. */
#include "runtime_torch.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#if !defined(BO_LIBTORCH_VERSION) && __has_include(<torch/csrc/api/include/torch/version.h>)
#include <torch/csrc/api/include/torch/version.h>
#define BO_LIBTORCH_VERSION TORCH_VERSION
#endif
#ifndef BO_LIBTORCH_VERSION
#define BO_LIBTORCH_VERSION "(unknown version)"
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

struct torch_module {
	torch::jit::Module module;
	std::vector<std::string> input_names;
	std::vector<const char *> input_ptrs;
	size_t nout = 0;
};

/* Copies the first line of text into msg (libtorch messages carry source excerpts and
 * backtraces on later lines; the summary wants one line). */
static void set_msg(char *msg, size_t msglen, const char *prefix, const char *text)
{
	if (!msg || msglen == 0)
		return;
	/* An exception inside a TorchScript model comes as "The following operation failed
	 * in the TorchScript interpreter." plus two tracebacks; the reason is the last line. */
	static const char interp[] = "The following operation failed in the TorchScript";
	if (strncmp(text, interp, sizeof(interp) - 1) == 0) {
		const char *end = text + strlen(text);
		while (end > text && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		const char *start = end;
		while (start > text && start[-1] != '\n')
			start--;
		if (start > text) {
			snprintf(msg, msglen, "%s%.*s", prefix, (int)(end - start), start);
			return;
		}
	}
	size_t n = strcspn(text, "\n");
	snprintf(msg, msglen, "%s%.*s", prefix, (int)n, text);
}

/* Maps the active exception to a code and message; call only inside a catch block. */
static int catch_current(char *msg, size_t msglen, const char *prefix)
{
	try {
		throw;
	} catch (const std::bad_alloc &) {
		set_msg(msg, msglen, prefix, "out of memory");
		return TORCH_ENOMEM;
	} catch (const c10::Error &e) {
		set_msg(msg, msglen, prefix, e.what_without_backtrace());
		return TORCH_EMODEL;
	} catch (const std::exception &e) {
		set_msg(msg, msglen, prefix, e.what());
		return TORCH_EMODEL;
	} catch (...) {
		set_msg(msg, msglen, prefix, "unknown C++ exception");
		return TORCH_EMODEL;
	}
}

static bool dtype_to_torch(enum npy_dtype t, c10::ScalarType *out)
{
	switch (t) {
	case NPY_BOOL: *out = c10::kBool; return true;
	case NPY_I8: *out = c10::kChar; return true;
	case NPY_U8: *out = c10::kByte; return true;
	case NPY_I16: *out = c10::kShort; return true;
	case NPY_I32: *out = c10::kInt; return true;
	case NPY_I64: *out = c10::kLong; return true;
	case NPY_F16: *out = c10::kHalf; return true;
	case NPY_F32: *out = c10::kFloat; return true;
	case NPY_F64: *out = c10::kDouble; return true;
	default: return false; /* libtorch 1.13 has no uint16/32/64 tensors */
	}
}

static bool dtype_from_torch(c10::ScalarType t, enum npy_dtype *out)
{
	switch (t) {
	case c10::kBool: *out = NPY_BOOL; return true;
	case c10::kChar: *out = NPY_I8; return true;
	case c10::kByte: *out = NPY_U8; return true;
	case c10::kShort: *out = NPY_I16; return true;
	case c10::kInt: *out = NPY_I32; return true;
	case c10::kLong: *out = NPY_I64; return true;
	case c10::kHalf: *out = NPY_F16; return true;
	case c10::kFloat: *out = NPY_F32; return true;
	case c10::kDouble: *out = NPY_F64; return true;
	default: return false;
	}
}

extern "C" int torch_module_load(torch_module **out, const char *path, int threads, char *msg,
				 size_t msglen)
{
	*out = nullptr;
	torch_module *m = nullptr;
	try {
		m = new torch_module();
		at::set_num_threads(threads > 0 ? threads : 1);
		m->module = torch::jit::load(std::string(path), c10::Device(c10::kCPU));
		m->module.eval();
		/* The schema is informative only: a module without a usable forward fails at
		 * run time with libtorch's own message. */
		try {
			const c10::FunctionSchema &s =
				m->module.get_method("forward").function().getSchema();
			const auto &args = s.arguments();
			for (size_t i = 1; i < args.size(); i++) /* 0 is self */
				m->input_names.push_back(args[i].name());
			if (s.returns().size() == 1) {
				const c10::TypePtr &rt = s.returns()[0].type();
				if (rt->kind() == c10::TypeKind::TensorType)
					m->nout = 1;
				else if (rt->kind() == c10::TypeKind::TupleType)
					m->nout = rt->expect<c10::TupleType>()->elements().size();
			}
		} catch (const c10::Error &) {
			m->input_names.clear();
			m->nout = 0;
		}
		for (const std::string &s : m->input_names)
			m->input_ptrs.push_back(s.c_str());
	} catch (...) {
		delete m;
		return catch_current(msg, msglen, "");
	}
	*out = m;
	return TORCH_OK;
}

extern "C" void torch_module_io(torch_module *m, const char *const **inputs, size_t *nin,
				size_t *nout)
{
	*inputs = m->input_ptrs.empty() ? nullptr : m->input_ptrs.data();
	*nin = m->input_ptrs.size();
	*nout = m->nout;
}

/* Copies one produced tensor into a malloc'd rt_tensor. */
static int tensor_out(at::Tensor t, size_t index, struct rt_tensor *o, char *msg, size_t msglen)
{
	if (t.scalar_type() == c10::kBFloat16)
		t = t.to(c10::kFloat);
	enum npy_dtype dt;
	if (!dtype_from_torch(t.scalar_type(), &dt)) {
		snprintf(msg, msglen, "output %zu has dtype %s, which has no .npy equivalent here",
			 index, c10::toString(t.scalar_type()));
		return TORCH_EMODEL;
	}
	if (t.dim() > NPY_MAX_DIMS) {
		snprintf(msg, msglen, "output %zu has %lld dimensions (at most %d)", index,
			 (long long)t.dim(), NPY_MAX_DIMS);
		return TORCH_EMODEL;
	}
	t = t.detach().to(c10::kCPU).contiguous();
	o->dtype = dt;
	o->ndim = (int)t.dim();
	for (int d = 0; d < o->ndim; d++)
		o->shape[d] = t.size(d);
	o->nbytes = (size_t)t.numel() * (size_t)t.element_size();
	o->data = malloc(o->nbytes ? o->nbytes : 1);
	if (!o->data) {
		snprintf(msg, msglen, "out of memory for output %zu (%zu bytes)", index, o->nbytes);
		return TORCH_ENOMEM;
	}
	if (o->nbytes)
		memcpy(o->data, t.data_ptr(), o->nbytes);
	return TORCH_OK;
}

static void outputs_free(struct rt_tensor *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].data);
	free(t);
}

extern "C" int torch_module_forward(torch_module *m, const struct rt_tensor *inputs, size_t nin,
				    struct rt_tensor **outputs, size_t *nout, char *msg,
				    size_t msglen)
{
	*outputs = nullptr;
	*nout = 0;
	struct rt_tensor *outs = nullptr;
	size_t n = 0;
	int rc = TORCH_OK;
	try {
		at::NoGradGuard no_grad;
		std::vector<c10::IValue> args;
		args.reserve(nin);
		for (size_t i = 0; i < nin; i++) {
			const struct rt_tensor *in = &inputs[i];
			c10::ScalarType st;
			if (!dtype_to_torch(in->dtype, &st)) {
				snprintf(msg, msglen, "input %zu has dtype %s, which libtorch cannot take",
					 i, npy_dtype_name(in->dtype));
				return TORCH_EINPUT;
			}
			if (in->ndim < 0 || in->ndim > NPY_MAX_DIMS) {
				snprintf(msg, msglen, "input %zu has %d dimensions", i, in->ndim);
				return TORCH_EINPUT;
			}
			std::vector<int64_t> sizes(in->shape, in->shape + in->ndim);
			at::Tensor t = torch::empty(sizes, at::TensorOptions().dtype(st));
			size_t want = (size_t)t.numel() * (size_t)t.element_size();
			if (want != in->nbytes) {
				snprintf(msg, msglen, "input %zu holds %zu bytes, its shape needs %zu", i,
					 in->nbytes, want);
				return TORCH_EINPUT;
			}
			if (want) /* a copy: the model may write into its inputs */
				memcpy(t.data_ptr(), in->data, want);
			args.emplace_back(std::move(t));
		}
		c10::IValue res = m->module.forward(std::move(args));
		std::vector<at::Tensor> ts;
		if (res.isTensor()) {
			ts.push_back(res.toTensor());
		} else if (res.isTuple() || res.isList()) {
			std::vector<c10::IValue> elems;
			if (res.isTuple())
				elems = res.toTupleRef().elements().vec();
			else
				elems = res.toListRef().vec();
			for (size_t i = 0; i < elems.size(); i++) {
				if (!elems[i].isTensor()) {
					snprintf(msg, msglen,
						 "forward returned a %s whose element %zu is a %s, not a tensor",
						 res.tagKind().c_str(), i, elems[i].tagKind().c_str());
					return TORCH_EMODEL;
				}
				ts.push_back(elems[i].toTensor());
			}
		} else {
			snprintf(msg, msglen,
				 "forward returned a %s (expected a tensor or a tuple/list of tensors)",
				 res.tagKind().c_str());
			return TORCH_EMODEL;
		}
		outs = static_cast<struct rt_tensor *>(calloc(ts.size() ? ts.size() : 1, sizeof *outs));
		if (!outs) {
			snprintf(msg, msglen, "out of memory for %zu outputs", ts.size());
			return TORCH_ENOMEM;
		}
		for (n = 0; n < ts.size(); n++) {
			rc = tensor_out(ts[n], n, &outs[n], msg, msglen);
			if (rc != TORCH_OK) {
				n++; /* free what this one may hold too (data is NULL on failure) */
				break;
			}
		}
	} catch (...) {
		rc = catch_current(msg, msglen, "");
	}
	if (rc != TORCH_OK) {
		outputs_free(outs, n);
		return rc;
	}
	*outputs = outs;
	*nout = n;
	return TORCH_OK;
}

extern "C" void torch_module_free(torch_module *m)
{
	delete m;
}

extern "C" const char *torch_runtime_version(void)
{
	return "libtorch " BO_LIBTORCH_VERSION;
}

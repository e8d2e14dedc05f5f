/* test_torch: the two torch runtimes (runtime_torchscript over libtorch, runtime_state_dict
 * over /usr/bin/python3 + python3-torch) on the corpus packages and on tiny models made
 * here with python3-torch, including corrupt files and a weights file that tries to run
 * code when unpickled. */
#include "check.h"

#include "common/error.h"
#include "common/npy.h"
#include "runtime.h"

#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>

extern char **environ;

#define PY "/usr/bin/python3"

/* ---------------------------------------------------------------- helpers */

static const char *corpus_pkg(const char *name)
{
	static char path[4096];
	const char *corpus = getenv("BO_CORPUS_DIR");
	snprintf(path, sizeof(path), "%.3000s/packages/%s",
		 corpus && *corpus ? corpus : check_src("../shared/corpus"), name);
	return path;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Runs `python3 file` (code written to file first); returns its exit status, -1 if it
 * could not run. */
static int run_python(const char *file, const char *code)
{
	char *argv[] = {PY, (char *)(uintptr_t)file, NULL};
	pid_t pid;
	int status;
	if (write_text(file, code))
		return -1;
	if (posix_spawn(&pid, PY, NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* 1 when python3-torch is importable (else the test is skipped: the Makefile's deps
 * install it, a bare checkout may not have it). */
static int have_python_torch(void)
{
	return run_python("probe.py", "import torch, numpy\n") == 0;
}

static struct rt_tensor tensor_of(struct npy_array *a)
{
	struct rt_tensor t;
	memset(&t, 0, sizeof(t));
	t.dtype = a->h.dtype;
	t.ndim = a->h.ndim;
	memcpy(t.shape, a->h.shape, sizeof(t.shape));
	t.data = a->data;
	t.nbytes = a->nbytes;
	return t;
}

/* zero_mean_unit_variance, per sample, on a float32 bcyx array: over c,y,x together
 * (with_channel) or per channel over y,x; population std, eps 1e-6 (as DYNAMIC_CHECKS.json
 * "what" says the corpus outputs were reproduced). */
static void zmuv_bcyx(struct npy_array *a, int with_channel)
{
	float *x = a->data;
	int64_t b = a->h.shape[0], c = a->h.shape[1], yx = a->h.shape[2] * a->h.shape[3];
	int64_t groups = with_channel ? b : b * c, len = with_channel ? c * yx : yx;
	for (int64_t g = 0; g < groups; g++) {
		float *v = x + g * len;
		double sum = 0, sq = 0;
		for (int64_t i = 0; i < len; i++)
			sum += v[i];
		double mean = sum / (double)len;
		for (int64_t i = 0; i < len; i++)
			sq += (v[i] - mean) * (v[i] - mean);
		double sd = sqrt(sq / (double)len);
		for (int64_t i = 0; i < len; i++)
			v[i] = (float)((v[i] - mean) / (sd + 1e-6));
	}
}

/* Compares a produced float32 tensor with the expected array: mismatches beyond
 * atol + rtol*|e|; returns the count (or -1 when shapes differ) and the max |diff|. */
static int64_t compare_f32(const struct rt_tensor *got, const struct npy_array *want, int sigmoid,
			   double *max_diff)
{
	*max_diff = 0;
	if (got->dtype != NPY_F32 || got->ndim != want->h.ndim ||
	    memcmp(got->shape, want->h.shape, sizeof(int64_t) * (size_t)got->ndim) != 0)
		return -1;
	const float *g = got->data;
	int64_t bad = 0;
	for (int64_t i = 0; i < want->h.count; i++) {
		double v = g[i];
		if (sigmoid)
			v = (float)(1.0 / (1.0 + exp(-v)));
		double e = npy_get_f64(want, i), d = fabs(v - e);
		if (d > *max_diff)
			*max_diff = d;
		if (d > 1e-4 + 1e-3 * fabs(e))
			bad++;
	}
	return bad;
}

/* ---------------------------------------------------------------- torchscript */

struct corpus_case {
	const char *pkg, *weights;
	int nio;
	const char *inputs[2], *outputs[2];
	int zmuv_with_channel; /* axes channel,y,x (1) or x,y (0) */
	int sigmoid;           /* postprocessing sigmoid declared */
};

static void test_torch__torchscript_corpus(void)
{
	static const struct corpus_case cases[] = {
		{"spec-bioimage-io__unet2d_nuclei_broad", "weights.pt", 1, {"test_input.npy"},
		 {"test_output.npy"}, 0, 1},
		{"spec-bioimage-io__unet2d_multi_tensor", "weights_torchscript_traced.pt", 2,
		 {"test_input_0.npy", "test_input_1.npy"},
		 {"test_output_0.npy", "test_output_1.npy"}, 1, 0},
		{"spec-bioimage-io-2024-01__unet2d_multi_tensor_v0_4", "weights-torchscript.pt", 2,
		 {"test_input_0.npy", "test_input_1.npy"},
		 {"test_output_0.npy", "test_output_1.npy"}, 1, 0},
	};
	char path[4500];
	snprintf(path, sizeof(path), "%s/%s", corpus_pkg(cases[0].pkg), cases[0].weights);
	if (access(path, R_OK))
		skip_test("%s is absent (the corpus sits beside the checkout)", path);
	check(strncmp(runtime_torchscript.version(NULL), "libtorch 1.13", 13) == 0, "version %s",
	      runtime_torchscript.version(NULL));
	check(strcmp(runtime_torchscript.weight_format, "torchscript") == 0, "format");

	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		const struct corpus_case *k = &cases[c];
		struct bo_error err = BO_ERROR_INIT;
		struct rt_options opt = {.package_dir = corpus_pkg(k->pkg), .threads = 1};
		struct npy_array *in[2] = {NULL, NULL}, *want[2] = {NULL, NULL};
		struct rt_tensor tin[2], *out = NULL;
		size_t nout = 0, nin_names = 0, nout_names = 0;
		const char *const *in_names, *const *out_names;
		runtime *rt = NULL;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", corpus_pkg(k->pkg), k->weights);
		rc = runtime_torchscript.open(&rt, path, &opt, &err);
		check(rc == 0, "%s: open: %s", k->pkg, err.detail);
		for (int i = 0; rc == 0 && i < k->nio; i++) {
			snprintf(path, sizeof(path), "%s/%s", corpus_pkg(k->pkg), k->inputs[i]);
			rc = npy_load(path, 1 << 28, &in[i], &err);
			if (rc == 0) {
				zmuv_bcyx(in[i], k->zmuv_with_channel);
				tin[i] = tensor_of(in[i]);
			}
			snprintf(path, sizeof(path), "%s/%s", corpus_pkg(k->pkg), k->outputs[i]);
			if (rc == 0)
				rc = npy_load(path, 1 << 28, &want[i], &err);
			check(rc == 0, "%s: %s", path, err.detail);
		}
		if (rc == 0) {
			runtime_torchscript.io_names(rt, &in_names, &nin_names, &out_names,
						     &nout_names);
			check(nin_names == (size_t)k->nio, "%s: %zu input names", k->pkg, nin_names);
			rc = runtime_torchscript.run(rt, tin, (size_t)k->nio, &out, &nout, &err);
			check(rc == 0, "%s: run: %s", k->pkg, err.detail);
		}
		if (rc == 0) {
			check(nout == (size_t)k->nio, "%s: %zu outputs", k->pkg, nout);
			check(nout_names == 0 || nout_names == nout, "%s: %zu output names", k->pkg,
			      nout_names);
			for (size_t i = 0; i < nout && i < 2; i++) {
				double max_diff;
				int64_t bad = compare_f32(&out[i], want[i], k->sigmoid, &max_diff);
				printf("  %s %s: max |diff| %.3g, %lld mismatches\n", k->pkg,
				       k->outputs[i], max_diff, (long long)bad);
				check(bad == 0, "%s %s: %lld mismatches (max |diff| %g)", k->pkg,
				      k->outputs[i], (long long)bad, max_diff);
			}
		}
		runtime_tensors_free(out, nout);
		runtime_torchscript.close(rt);
		for (int i = 0; i < 2; i++) {
			npy_array_free(in[i]);
			npy_array_free(want[i]);
		}
		bo_error_cleanup(&err);
	}
}

static void test_torch__torchscript_corrupt(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rt_options opt = {.package_dir = ".", .threads = 1};
	runtime *rt = NULL;

	require(write_text("junk.pt", "this is not a zip archive\n") == 0, "write");
	int rc = runtime_torchscript.open(&rt, "junk.pt", &opt, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d", rc);
	printf("  corrupt: %s\n", err.detail);
	check(rt == NULL, "no runtime on failure");
	check(strstr(err.detail, "junk.pt") && strstr(err.detail, "zip archive"),
	      "libtorch's reason: %s", err.detail);
	check(strchr(err.detail, '\n') == NULL, "one line: %s", err.detail);
	bo_error_cleanup(&err);

	rc = runtime_torchscript.open(&rt, "absent.pt", &opt, &err);
	check(rc == BO_EINVALIDPACKAGE, "absent: rc %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	runtime_torchscript.close(NULL);
}

/* A scripted module made here: two inputs of different dtypes, a tuple of a float and an
 * int64 output, and an exception raised by the model itself. */
static void test_torch__torchscript_dtypes_and_raise(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rt_options opt = {.package_dir = ".", .threads = 1};
	struct rt_tensor in[2], *out = NULL;
	size_t nout = 0, nin_names = 0, nout_names = 0;
	const char *const *in_names, *const *out_names;
	runtime *rt = NULL;
	double x[6] = {1, -2, 3.5, 4, 5, 6};
	int32_t y[3] = {7, -8, 9};
	int rc;

	if (!have_python_torch())
		skip_test("/usr/bin/python3 has no torch (make deps installs python3-torch)");
	require(run_python("mk.py",
			   "import torch\n"
			   "from typing import Tuple\n"
			   "class M(torch.nn.Module):\n"
			   "    def forward(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:\n"
			   "        if x.dim() != 2:\n"
			   "            raise ValueError('x must have 2 dimensions')\n"
			   "        return (x * 2).float(), (y + 1).long()\n"
			   "torch.jit.script(M()).save('m.pt')\n") == 0,
		"making m.pt");
	rc = runtime_torchscript.open(&rt, "m.pt", &opt, &err);
	require(rc == 0, "open: %s", err.detail);
	runtime_torchscript.io_names(rt, &in_names, &nin_names, &out_names, &nout_names);
	check(nin_names == 2 && strcmp(in_names[0], "x") == 0 && strcmp(in_names[1], "y") == 0,
	      "input names from forward's schema");
	check(nout_names == 2, "a Tuple of 2 gives 2 outputs, got %zu", nout_names);

	memset(in, 0, sizeof(in));
	in[0] = (struct rt_tensor){.dtype = NPY_F64, .ndim = 2, .shape = {2, 3}, .data = x,
				   .nbytes = sizeof(x)};
	in[1] = (struct rt_tensor){.dtype = NPY_I32, .ndim = 1, .shape = {3}, .data = y,
				   .nbytes = sizeof(y)};
	rc = runtime_torchscript.run(rt, in, 2, &out, &nout, &err);
	check(rc == 0, "run: %s", err.detail);
	if (rc == 0 && nout == 2) {
		check(out[0].dtype == NPY_F32 && out[0].ndim == 2 && out[0].shape[0] == 2 &&
			      out[0].shape[1] == 3 && out[0].nbytes == 6 * sizeof(float),
		      "output 0 float32 [2,3]");
		check(out[1].dtype == NPY_I64 && out[1].ndim == 1 && out[1].shape[0] == 3,
		      "output 1 int64 [3]");
		const float *o0 = out[0].data;
		const int64_t *o1 = out[1].data;
		for (int i = 0; i < 6; i++)
			check(o0[i] == (float)(2 * x[i]), "o0[%d] = %g", i, o0[i]);
		for (int i = 0; i < 3; i++)
			check(o1[i] == y[i] + 1, "o1[%d] = %lld", i, (long long)o1[i]);
		check(x[0] == 1, "inputs are not modified");
	} else {
		check(0, "expected 2 outputs, got %zu", nout);
	}
	runtime_tensors_free(out, nout);
	out = NULL;
	nout = 0;

	/* the model raises: its message, as BO_EINVALIDPACKAGE */
	in[0].ndim = 1;
	in[0].shape[0] = 6;
	rc = runtime_torchscript.run(rt, in, 2, &out, &nout, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d", rc);
	check(strstr(err.detail, "x must have 2 dimensions") != NULL, "detail: %s", err.detail);
	check(out == NULL && nout == 0, "no outputs on failure");
	bo_error_cleanup(&err);

	/* a dtype libtorch 1.13 has no tensor for */
	uint16_t u[3] = {1, 2, 3};
	in[1] = (struct rt_tensor){.dtype = NPY_U16, .ndim = 1, .shape = {3}, .data = u,
				   .nbytes = sizeof(u)};
	in[0].ndim = 2;
	in[0].shape[0] = 2;
	rc = runtime_torchscript.run(rt, in, 2, &out, &nout, &err);
	check(rc == BO_EINVALIDPACKAGE && strstr(err.detail, "uint16"), "uint16: %d %s", rc,
	      err.detail);
	bo_error_cleanup(&err);

	/* wrong input count: libtorch's schema check, not a crash */
	rc = runtime_torchscript.run(rt, in, 1, &out, &nout, &err);
	check(rc == BO_EINVALIDPACKAGE, "one input: %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	runtime_torchscript.close(rt);
}

/* ---------------------------------------------------------------- pytorch_state_dict */

static const char tiny_arch[] =
	"import torch\n"
	"class Tiny(torch.nn.Module):\n"
	"    def __init__(self, n_in, n_out, scale=1.0):\n"
	"        super().__init__()\n"
	"        self.lin = torch.nn.Linear(n_in, n_out)\n"
	"        self.scale = scale\n"
	"    def forward(self, x, y):\n"
	"        print('architecture code printing to stdout')\n"
	"        if x.shape[-1] == 5:\n"
	"            raise RuntimeError('width 5 is not supported')\n"
	"        return torch.relu(self.lin(x)) * self.scale, (y * 3).to(torch.int64)\n";

/* Makes pkg/tiny.py, pkg/weights.pt (a real torch.save of the state dict), inputs and the
 * expected outputs computed by eager python. */
static const char tiny_make[] =
	"import sys, numpy as np, torch\n"
	"sys.path.insert(0, 'pkg')\n"
	"from tiny import Tiny\n"
	"torch.manual_seed(3)\n"
	"m = Tiny(4, 3, scale=2.0).eval()\n"
	"torch.save(m.state_dict(), 'pkg/weights.pt')\n"
	"x = np.random.RandomState(1).randn(2, 4).astype(np.float32)\n"
	"y = np.arange(6, dtype=np.int32).reshape(2, 3)\n"
	"np.save('x.npy', x); np.save('y.npy', y)\n"
	"with torch.no_grad():\n"
	"    a, b = m(torch.from_numpy(x), torch.from_numpy(y))\n"
	"np.save('exp0.npy', a.numpy()); np.save('exp1.npy', b.numpy())\n"
	"class Evil:\n"
	"    def __reduce__(self):\n"
	"        import os\n"
	"        return (os.system, ('touch pwned',))\n"
	"torch.save({'lin.weight': Evil()}, 'pkg/evil.pt')\n";

static const char rdf_05[] = "format_version: 0.5.4\n"
			     "type: model\n"
			     "weights:\n"
			     "  pytorch_state_dict:\n"
			     "    source: weights.pt\n"
			     "    architecture:\n"
			     "      source: tiny.py\n"
			     "      callable: Tiny\n"
			     "      kwargs: {n_in: 4, n_out: 3, scale: 2.0}\n";

static const char rdf_04[] = "format_version: 0.4.10\n"
			     "type: model\n"
			     "weights:\n"
			     "  pytorch_state_dict:\n"
			     "    source: weights.pt\n"
			     "    architecture: tiny.py:Tiny\n"
			     "    kwargs: {n_in: 4, n_out: 3, scale: 2.0}\n";

static int make_tiny_package(void)
{
	if (mkdir("pkg", 0755) || mkdir("scratch", 0755) || write_text("pkg/tiny.py", tiny_arch) ||
	    write_text("pkg/rdf05.yaml", rdf_05) || write_text("pkg/rdf04.yaml", rdf_04))
		return -1;
	return run_python("mk.py", tiny_make);
}

static void run_tiny(const char *rdf, const char *weights)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rt_options opt = {.package_dir = "pkg", .scratch_dir = "scratch", .python = PY,
				 .rdf_path = rdf, .threads = 1};
	struct npy_array *x = NULL, *y = NULL, *e0 = NULL, *e1 = NULL;
	struct rt_tensor in[2], *out = NULL;
	size_t nout = 0, nin_names = 0, nout_names = 0;
	const char *const *in_names, *const *out_names;
	runtime *rt = NULL;
	int rc;

	rc = npy_load("x.npy", 1 << 20, &x, &err);
	if (rc == 0)
		rc = npy_load("y.npy", 1 << 20, &y, &err);
	if (rc == 0)
		rc = npy_load("exp0.npy", 1 << 20, &e0, &err);
	if (rc == 0)
		rc = npy_load("exp1.npy", 1 << 20, &e1, &err);
	check(rc == 0, "fixtures: %s", err.detail);
	if (rc == 0) {
		rc = runtime_state_dict.open(&rt, weights, &opt, &err);
		check(rc == 0, "%s: open: %s", rdf, err.detail);
	}
	if (rc == 0) {
		check(strncmp(runtime_state_dict.version(rt), "pytorch 1.13", 12) == 0,
		      "version %s", runtime_state_dict.version(rt));
		runtime_state_dict.io_names(rt, &in_names, &nin_names, &out_names, &nout_names);
		check(nin_names == 2 && strcmp(in_names[0], "x") == 0 &&
			      strcmp(in_names[1], "y") == 0,
		      "input names from forward's signature (%zu)", nin_names);
		in[0] = tensor_of(x);
		in[1] = tensor_of(y);
		/* twice: the child serves several runs */
		for (int round = 0; round < 2; round++) {
			rc = runtime_state_dict.run(rt, in, 2, &out, &nout, &err);
			check(rc == 0, "run %d: %s", round, err.detail);
			if (rc || nout != 2) {
				check(0, "expected 2 outputs, got %zu", nout);
				break;
			}
			double max_diff;
			check(compare_f32(&out[0], e0, 0, &max_diff) == 0 && max_diff < 1e-6,
			      "output 0 equals eager python (max |diff| %g)", max_diff);
			check(out[1].dtype == NPY_I64 && out[1].nbytes == e1->nbytes &&
				      memcmp(out[1].data, e1->data, e1->nbytes) == 0,
			      "output 1 is int64 y*3");
			runtime_tensors_free(out, nout);
			out = NULL;
			nout = 0;
		}
		/* the model raises on this width: an error for this run, the child lives on */
		int64_t w5[10] = {0};
		struct rt_tensor bad[2] = {in[0], in[1]};
		bad[0].dtype = NPY_I64;
		bad[0].shape[1] = 5;
		bad[0].data = w5;
		bad[0].nbytes = sizeof(w5);
		rc = runtime_state_dict.run(rt, bad, 2, &out, &nout, &err);
		check(rc == BO_EINVALIDPACKAGE && strstr(err.detail, "width 5 is not supported"),
		      "model error: %d %s", rc, err.detail);
		bo_error_cleanup(&err);
		rc = runtime_state_dict.run(rt, in, 2, &out, &nout, &err);
		check(rc == 0 && nout == 2, "a run after a failed one: %s", err.detail);
	}
	runtime_tensors_free(out, nout);
	runtime_state_dict.close(rt);
	npy_array_free(x);
	npy_array_free(y);
	npy_array_free(e0);
	npy_array_free(e1);
	bo_error_cleanup(&err);
}

static void test_torch__state_dict_tiny(void)
{
	if (!have_python_torch())
		skip_test("/usr/bin/python3 has no torch (make deps installs python3-torch)");
	require(make_tiny_package() == 0, "making the tiny package");
	check(strcmp(runtime_state_dict.weight_format, "pytorch_state_dict") == 0, "format");
	run_tiny("pkg/rdf05.yaml", "pkg/weights.pt");
	run_tiny("pkg/rdf04.yaml", "pkg/weights.pt");
	check(access("scratch/sd_in_0_0.npy", F_OK) != 0, "input files are removed");
}

static void test_torch__state_dict_pickle_refused(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rt_options opt = {.package_dir = "pkg", .scratch_dir = "scratch", .python = PY,
				 .rdf_path = "pkg/rdf05.yaml", .threads = 1};
	runtime *rt = NULL;

	if (!have_python_torch())
		skip_test("/usr/bin/python3 has no torch (make deps installs python3-torch)");
	require(make_tiny_package() == 0, "making the tiny package");
	int rc = runtime_state_dict.open(&rt, "pkg/evil.pt", &opt, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d: %s", rc, err.detail);
	printf("  pickled call: %s\n", err.detail);
	check(rt == NULL, "no runtime");
	check(strstr(err.detail, "weights_only=True") != NULL, "says why: %s", err.detail);
	check(access("pwned", F_OK) != 0 && access("scratch/pwned", F_OK) != 0 &&
		      access("pkg/pwned", F_OK) != 0,
	      "the pickled call did not run");
	bo_error_cleanup(&err);
}

static void test_torch__state_dict_bad_architecture(void)
{
	static const struct {
		const char *rdf, *want;
		int code;
	} cases[] = {
		{"weights:\n  pytorch_state_dict:\n    source: weights.pt\n    architecture:\n"
		 "      source: tiny.py\n      callable: Nope\n      kwargs: {n_in: 4, n_out: 3}\n",
		 "has no callable 'Nope'", BO_EINVALIDPACKAGE},
		{"weights:\n  pytorch_state_dict:\n    source: weights.pt\n    architecture:\n"
		 "      source: tiny.py\n      callable: Tiny\n      kwargs: {n_in: 4, n_out: 7}\n",
		 "weights do not fit Tiny", BO_EINVALIDPACKAGE},
		{"weights:\n  pytorch_state_dict:\n    source: weights.pt\n    architecture:\n"
		 "      source: ../outside.py\n      callable: Tiny\n",
		 "outside the package", BO_EINVALIDPACKAGE},
		{"weights:\n  pytorch_state_dict:\n    source: weights.pt\n    architecture:\n"
		 "      source: https://example.com/tiny.py\n      callable: Tiny\n",
		 "must be a file in the package", BO_EINVALIDPACKAGE},
		{"weights:\n  pytorch_state_dict:\n    source: weights.pt\n",
		 "does not name a source file", BO_EINVALIDPACKAGE},
		{"weights:\n  pytorch_state_dict:\n    source: weights.pt\n    architecture:\n"
		 "      source: tiny.py\n      callable: Tiny\n      kwargs: {n_in: 4}\n",
		 "Tiny(**kwargs) raised", BO_EINVALIDPACKAGE},
	};
	if (!have_python_torch())
		skip_test("/usr/bin/python3 has no torch (make deps installs python3-torch)");
	require(make_tiny_package() == 0, "making the tiny package");
	require(write_text("outside.py", tiny_arch) == 0, "outside.py");
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bo_error err = BO_ERROR_INIT;
		struct rt_options opt = {.package_dir = "pkg", .scratch_dir = "scratch",
					 .python = PY, .rdf_path = "pkg/bad.yaml", .threads = 1};
		runtime *rt = NULL;
		require(write_text("pkg/bad.yaml", cases[i].rdf) == 0, "write");
		int rc = runtime_state_dict.open(&rt, "pkg/weights.pt", &opt, &err);
		printf("  case %zu: %s\n", i, err.detail);
		check(rc == cases[i].code && strstr(err.detail, cases[i].want),
		      "case %zu: rc %d detail '%s' (want '%s')", i, rc, err.detail, cases[i].want);
		check(rt == NULL, "case %zu: no runtime", i);
		runtime_state_dict.close(rt);
		bo_error_cleanup(&err);
	}
	/* no python at that path: the worker's fault, said plainly */
	struct bo_error err = BO_ERROR_INIT;
	struct rt_options opt = {.package_dir = "pkg", .scratch_dir = "scratch",
				 .python = "/nonexistent/python3", .rdf_path = "pkg/rdf05.yaml",
				 .threads = 1};
	runtime *rt = NULL;
	int rc = runtime_state_dict.open(&rt, "pkg/weights.pt", &opt, &err);
	check(rc == BO_EINTERNAL && strstr(err.detail, "python3-torch"), "no python: %d %s", rc,
	      err.detail);
	bo_error_cleanup(&err);

	/* a child that exits at once: an error, not SIGPIPE or a hang */
	opt.python = "/bin/false";
	rc = runtime_state_dict.open(&rt, "pkg/weights.pt", &opt, &err);
	check(rc == BO_EINTERNAL && strstr(err.detail, "python exited"), "dead child: %d %s", rc,
	      err.detail);
	check(rt == NULL, "no runtime");
	bo_error_cleanup(&err);
}

/* The corpus RDFs (0.5 mapping and 0.4 "file.py:Class") name an architecture file that the
 * corpus did not copy: the runtime reads the right name from each and says it is missing. */
static void test_torch__state_dict_corpus_rdf(void)
{
	static const char *const pkgs[][2] = {
		{"spec-bioimage-io__unet2d_multi_tensor", "bioimageio.yaml"},
		{"spec-bioimage-io-2024-01__unet2d_multi_tensor_v0_4", "rdf_v0_4.yaml"},
	};
	char rdf[4500], weights[4500];
	if (!have_python_torch())
		skip_test("/usr/bin/python3 has no torch (make deps installs python3-torch)");
	require(mkdir("scratch", 0755) == 0, "scratch");
	for (size_t i = 0; i < 2; i++) {
		struct bo_error err = BO_ERROR_INIT;
		runtime *rt = NULL;
		snprintf(rdf, sizeof(rdf), "%s/%s", corpus_pkg(pkgs[i][0]), pkgs[i][1]);
		snprintf(weights, sizeof(weights), "%s/weights.pt", corpus_pkg(pkgs[i][0]));
		if (access(rdf, R_OK))
			skip_test("%s is absent (the corpus sits beside the checkout)", rdf);
		struct rt_options opt = {.package_dir = corpus_pkg(pkgs[i][0]),
					 .scratch_dir = "scratch", .python = PY, .rdf_path = rdf,
					 .threads = 1};
		int rc = runtime_state_dict.open(&rt, weights, &opt, &err);
		check(rc == BO_EINVALIDPACKAGE &&
			      strstr(err.detail, "multi_tensor_unet.py is not in the package"),
		      "%s: %d %s", pkgs[i][0], rc, err.detail);
		runtime_state_dict.close(rt);
		bo_error_cleanup(&err);
	}
}

static const struct check_test tests[] = {
	TEST(test_torch__state_dict_corpus_rdf),
	TEST(test_torch__torchscript_corpus),
	TEST(test_torch__torchscript_corrupt),
	TEST(test_torch__torchscript_dtypes_and_raise),
	TEST(test_torch__state_dict_tiny),
	TEST(test_torch__state_dict_pickle_refused),
	TEST(test_torch__state_dict_bad_architecture),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

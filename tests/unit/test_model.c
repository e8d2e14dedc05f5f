/* test_model: RDF 0.4 and 0.5 into struct model: the corpus packages (ids, axes, sizes,
 * processing, test tensors, weights, tolerances) and small hand-written RDFs for the cases
 * the corpus lacks (test_kwargs decimal, reproducibility_tolerance selection, output shape
 * references, refusals). */
#include "check.h"

#include "common/error.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <math.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct model *load_corpus(const char *pkg, const char *rdf)
{
	char path[4096];
	const char *corpus = getenv("BO_CORPUS_DIR");
	struct bo_error err = BO_ERROR_INIT;
	struct model *m = NULL;
	size_t len = 0;
	char *text;

	snprintf(path, sizeof(path), "%.3000s/packages/%s/%s", corpus && *corpus ? corpus : check_src("../shared/corpus"),
		 pkg, rdf);
	text = slurp(path, &len);
	if (!text)
		return NULL;
	if (model_load(&m, text, len, &err))
		fprintf(stderr, "model_load %s: %s\n", path, err.detail);
	free(text);
	bo_error_cleanup(&err);
	return m;
}

static int load_text(struct model **m, const char *text, struct bo_error *err)
{
	return model_load(m, text, strlen(text), err);
}

static void test_model__corpus_v05(void)
{
	struct model *m = load_corpus("spec-bioimage-io__unet2d_nuclei_broad", "bioimageio.yaml");
	struct compare_tolerance tol;
	int64_t in[1][NPY_MAX_DIMS] = {{1, 1, 512, 512}}, out[NPY_MAX_DIMS];
	struct bo_error err = BO_ERROR_INIT;

	require(m, "nuclei broad loads");
	check(!m->legacy && m->nin == 1 && m->nout == 1, "counts");
	check(!strcmp(m->inputs[0].id, "raw") && !strcmp(m->outputs[0].id, "probability"), "ids");
	check(m->inputs[0].ndim == 4 && m->inputs[0].axes[0].kind == MODEL_AXIS_BATCH &&
	      !strcmp(m->inputs[0].axes[1].id, "channel") && m->inputs[0].axes[1].size == 1 &&
	      !strcmp(m->inputs[0].axes[2].id, "y") && m->inputs[0].axes[2].size == 512 &&
	      !strcmp(m->inputs[0].axes[3].id, "x"), "axes (x is the default space id)");
	check(m->inputs[0].nops == 3 && !strcmp(m->inputs[0].ops[1].name, "zero_mean_unit_variance"),
	      "preprocessing list");
	check(m->outputs[0].nops == 2 && !strcmp(m->outputs[0].ops[0].name, "sigmoid"), "postprocessing");
	check(!strcmp(m->inputs[0].test_tensor, "test_input.npy") &&
	      !strcmp(m->outputs[0].test_tensor, "test_output.npy"), "test tensors");
	check(model_weights_find(m, "onnx") && !strcmp(model_weights_find(m, "onnx")->source, "weights.onnx"),
	      "onnx weights");
	check(!model_weights_find(m, "keras_hdf5"), "no keras weights");
	check(model_tolerance(m, "onnx", "probability", &tol) == 0 && tol.rtol == 1e-3 && tol.atol == 1e-4,
	      "default tolerance");
	check(!model_output_shape(m, 0, (const int64_t(*)[NPY_MAX_DIMS])in, out, &err), "%s", err.detail);
	check(out[0] == 1 && out[1] == 1 && out[2] == 512 && out[3] == 512, "output shape by reference");
	in[0][0] = 2;
	in[0][2] = 256;
	model_output_shape(m, 0, (const int64_t(*)[NPY_MAX_DIMS])in, out, &err);
	check(out[0] == 2 && out[2] == 256 && out[3] == 512, "batch and y follow the input");
	model_free(m);

	m = load_corpus("spec-bioimage-io__unet2d_multi_tensor", "bioimageio.yaml");
	require(m, "multi tensor 0.5 loads");
	check(m->nin == 2 && m->nout == 2, "two inputs, two outputs");
	check(m->inputs[0].axes[2].step == 16 && m->inputs[0].axes[2].min == 32, "parametrised size %lld %lld",
	      (long long)m->inputs[0].axes[2].min, (long long)m->inputs[0].axes[2].step);
	check(model_tolerance(m, "torchscript", m->outputs[0].id, &tol) == 1 && tol.atol == 1e-5 &&
	      tol.rtol == 1e-3, "reproducibility_tolerance atol %g rtol %g", tol.atol, tol.rtol);
	model_free(m);
	bo_error_cleanup(&err);
}

static void test_model__corpus_v04(void)
{
	struct model *m = load_corpus("spec-bioimage-io-2024-01__unet2d_multi_tensor_v0_4", "rdf_v0_4.yaml");
	int64_t in[2][NPY_MAX_DIMS] = {{1, 1, 64, 64}, {1, 1, 32, 48}}, out[NPY_MAX_DIMS];
	struct bo_error err = BO_ERROR_INIT;

	require(m, "0.4 multi tensor loads");
	check(m->legacy && m->nin == 2 && m->nout == 2, "counts");
	check(!strcmp(m->inputs[1].id, "input1") && !strcmp(m->inputs[0].axes[1].id, "channel") &&
	      m->inputs[0].axes[0].kind == MODEL_AXIS_BATCH, "names and axis letters");
	check(m->inputs[0].axes[3].min == 32 && m->inputs[0].axes[3].step == 16, "shape min/step");
	check(!strcmp(m->inputs[0].ops[0].name, "zero_mean_unit_variance") &&
	      !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m->inputs[0].ops[0].kwargs, "axes")), "cyx"),
	      "0.4 processing name and kwargs");
	check(!strcmp(m->inputs[1].test_tensor, "test_input_1.npy") &&
	      !strcmp(m->outputs[0].test_tensor, "test_output_0.npy"), "test_inputs lists");
	check(!model_output_shape(m, 1, (const int64_t(*)[NPY_MAX_DIMS])in, out, &err), "%s", err.detail);
	check(out[2] == 32 && out[3] == 48, "output1 follows input1 (scale 1, offset 0): %lld %lld",
	      (long long)out[2], (long long)out[3]);
	model_free(m);
	bo_error_cleanup(&err);
}

static const char *RDF04 =
	"format_version: 0.4.10\ntype: model\n"
	"inputs: [{name: a, axes: bcyx, data_type: uint8, shape: [1, 1, 8, 8]}]\n"
	"outputs: [{name: o, axes: bcyx, data_type: float32,\n"
	"  shape: {reference_tensor: a, scale: [1, 0, 0.5, 0.5], offset: [0, 1.5, 0, 0]}}]\n"
	"weights: {onnx: {source: w.onnx}, torchscript: {source: w.pt}}\n"
	"config: {bioimageio: {test_kwargs: {onnx: {decimal: 3}, torchscript: {absolute_tolerance: 0.01, relative_tolerance: 0}}}}\n";

static void test_model__legacy_tolerance_and_shape(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct model *m = NULL;
	struct compare_tolerance tol;
	int64_t in[1][NPY_MAX_DIMS] = {{1, 1, 8, 8}}, out[NPY_MAX_DIMS];

	require(!load_text(&m, RDF04, &err), "loads: %s", err.detail);
	check(m->inputs[0].dtype == NPY_U8, "data_type");
	check(model_tolerance(m, "onnx", "o", &tol) == 1 && fabs(tol.atol - 1.5e-3) < 1e-15 && tol.rtol == 0,
	      "decimal 3 -> atol 1.5e-3, rtol 0 (got %g %g)", tol.atol, tol.rtol);
	check(model_tolerance(m, "torchscript", "o", &tol) == 1 && tol.atol == 0.01 && tol.rtol == 0,
	      "explicit tolerances");
	check(!model_output_shape(m, 0, (const int64_t(*)[NPY_MAX_DIMS])in, out, &err), "%s", err.detail);
	/* c: 1*0 + 2*1.5 = 3; y, x: 8*0.5 = 4 */
	check(out[0] == 1 && out[1] == 3 && out[2] == 4 && out[3] == 4, "%lld %lld %lld", (long long)out[1],
	      (long long)out[2], (long long)out[3]);
	model_free(m);
	bo_error_cleanup(&err);
}

static const char *RDF05 =
	"format_version: 0.5.3\ntype: model\n"
	"inputs: [{id: in, axes: [{type: batch}, {type: space, id: x, size: {min: 16, step: 8}}]}]\n"
	"outputs: [{id: out, axes: [{type: batch}, {type: space, id: x, scale: 2,\n"
	"  size: {tensor_id: in, axis_id: x, offset: -2}}], data: {type: float64}}]\n"
	"weights: {onnx: {source: w.onnx}}\n"
	"config: {bioimageio: {reproducibility_tolerance: [\n"
	"  {weights_formats: [torchscript], absolute_tolerance: 9},\n"
	"  {output_ids: [out], relative_tolerance: 0.5, mismatched_elements_per_million: 10}]}}\n";

static void test_model__v05_tolerance_selection_and_refs(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct model *m = NULL;
	struct compare_tolerance tol;
	int64_t in[1][NPY_MAX_DIMS] = {{2, 32}}, out[NPY_MAX_DIMS];

	require(!load_text(&m, RDF05, &err), "loads: %s", err.detail);
	check(m->outputs[0].dtype == NPY_F64, "data.type");
	check(model_tolerance(m, "onnx", "out", &tol) == 1 && tol.rtol == 0.5 && tol.atol == 1e-4 &&
	      tol.mismatched_per_million == 10, "second entry matches onnx: %g %g %g", tol.rtol, tol.atol,
	      tol.mismatched_per_million);
	check(model_tolerance(m, "torchscript", "out", &tol) == 1 && tol.atol == 9, "first entry for torchscript");
	check(model_tolerance(m, "onnx", "other", &tol) == 0, "no entry for another output");
	check(!model_output_shape(m, 0, (const int64_t(*)[NPY_MAX_DIMS])in, out, &err), "%s", err.detail);
	/* 32 * 1 / 2 - 2 = 14 */
	check(out[0] == 2 && out[1] == 14, "%lld %lld", (long long)out[0], (long long)out[1]);
	model_free(m);
	bo_error_cleanup(&err);
}

static void test_model__refusals(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct model *m = NULL;

	check(load_text(&m, "format_version: 0.5.3\ntype: dataset\n", &err) == BO_EINVALIDPACKAGE &&
	      strstr(err.detail, "not a model"), "dataset: %s", err.detail);
	bo_error_cleanup(&err);
	check(load_text(&m, "format_version: 0.3.0\ntype: model\n", &err) == BO_EINVALIDPACKAGE &&
	      strstr(err.detail, "0.3.0"), "old format: %s", err.detail);
	bo_error_cleanup(&err);
	check(load_text(&m, "format_version: 0.5.3\ntype: model\ninputs: []\n", &err) == BO_EINVALIDPACKAGE &&
	      strstr(err.detail, "no inputs"), "no inputs: %s", err.detail);
	bo_error_cleanup(&err);
	check(load_text(&m,
			"format_version: 0.4.9\ntype: model\ninputs: [{name: a, axes: bqyx}]\noutputs: [{name: b, axes: bcyx}]\nweights: {}\n",
			&err) == BO_EINVALIDPACKAGE && strstr(err.detail, "'q'"), "bad letter: %s", err.detail);
	bo_error_cleanup(&err);
	check(load_text(&m,
			"format_version: 0.5.3\ntype: model\ninputs: [{id: a, axes: [{type: space}], data: {type: complex}}]\noutputs: [{id: b, axes: [{type: batch}]}]\nweights: {}\n",
			&err) == BO_EINVALIDPACKAGE && strstr(err.detail, "complex"), "bad dtype: %s", err.detail);
	bo_error_cleanup(&err);
	check(load_text(&m, "a: [unclosed\n", &err) == BO_EINVALIDRDF, "YAML error");
	check(m == NULL, "nothing returned on failure");
	bo_error_cleanup(&err);
}

static struct check_test tests[] = {
	TEST(test_model__corpus_v05),
	TEST(test_model__corpus_v04),
	TEST(test_model__legacy_tolerance_and_shape),
	TEST(test_model__v05_tolerance_selection_and_refs),
	TEST(test_model__refusals),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

/* Unit tests for weights: the one rule for which weight formats are tested, as the
 * server sees an RDF (drafts.rdf_json, JSON) and as the CLI sees it (rdf_parse of the
 * YAML): both must pick the same formats in the same order. */
#include "check.h"

#include "common/error.h"
#include "common/rdf.h"
#include "check/weights.h"

#include <cjson/cJSON.h>

/* The picked formats, comma-separated, into out. */
static void picked(const cJSON *rdf, char *out, size_t n)
{
	const cJSON *ws = cJSON_GetObjectItemCaseSensitive(rdf, "weights");
	size_t len = 0;
	out[0] = '\0';
	for (const cJSON *w = weights_next(ws, NULL); w; w = weights_next(ws, w))
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? "," : "", w->string);
}

static void test_weights__order_and_nulls(void)
{
	char got[256];
	cJSON *rdf = cJSON_Parse("{\"type\":\"model\",\"weights\":{\"torchscript\":{\"source\":\"w.pt\"},"
				 "\"keras_hdf5\":null,\"onnx\":{\"source\":\"w.onnx\"},\"\":{\"source\":\"x\"},"
				 "\"pytorch_state_dict\":{\"source\":\"w.pth\"}}}");
	require(rdf, "parse");
	picked(rdf, got, sizeof(got));
	check(!strcmp(got, "torchscript,onnx,pytorch_state_dict"), "got %s", got);
	cJSON_Delete(rdf);
}

static void test_weights__none(void)
{
	char got[256];
	const char *docs[] = {
		"{\"type\":\"model\"}",
		"{\"weights\":null}",
		"{\"weights\":{}}",
		"{\"weights\":[{\"source\":\"w.onnx\"}]}", /* a list has no format names */
		"{\"weights\":\"onnx\"}",
		"{\"weights\":{\"onnx\":null,\"\":{}}}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cJSON *rdf = cJSON_Parse(docs[i]);
		require(rdf, "parse %s", docs[i]);
		picked(rdf, got, sizeof(got));
		check(!*got, "%s: got %s", docs[i], got);
		cJSON_Delete(rdf);
	}
	check(weights_next(NULL, NULL) == NULL, "NULL weights");
	check(!weights_is_runnable(NULL), "NULL entry");
}

static void test_weights__is_runnable(void)
{
	cJSON *ws = cJSON_Parse("{\"onnx\":{},\"torchscript\":null,\"\":{},\"keras_hdf5\":false}");
	require(ws, "parse");
	check(weights_is_runnable(cJSON_GetObjectItemCaseSensitive(ws, "onnx")), "onnx");
	check(!weights_is_runnable(cJSON_GetObjectItemCaseSensitive(ws, "torchscript")), "null value");
	check(!weights_is_runnable(cJSON_GetObjectItemCaseSensitive(ws, "")), "empty key");
	/* not null: static validation judges the value, the rule does not */
	check(weights_is_runnable(cJSON_GetObjectItemCaseSensitive(ws, "keras_hdf5")), "false value");
	check(!weights_is_runnable(ws), "the mapping itself has no key");
	cJSON_Delete(ws);
}

/* What the CLI reads (YAML) and what the server reads (the JSON stored from it) pick
 * the same formats. */
static void test_weights__yaml_and_json_agree(void)
{
	const char *yaml = "type: model\n"
			   "weights:\n"
			   "  onnx:\n    source: w.onnx\n"
			   "  tensorflow_saved_model_bundle: ~\n"
			   "  '':\n    source: x\n"
			   "  torchscript:\n    source: w.pt\n";
	struct rdf_limits lim;
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *doc = NULL;
	char from_yaml[256], from_json[256];
	rdf_limits_default(&lim);
	require(rdf_parse(&doc, yaml, strlen(yaml), &lim, &err) == 0, "rdf_parse: %s", err.detail);
	picked(rdf_root(doc), from_yaml, sizeof(from_yaml));
	char *text = cJSON_PrintUnformatted(rdf_root(doc));
	cJSON *json = text ? cJSON_Parse(text) : NULL;
	free(text);
	rdf_free(doc);
	require(json, "round trip");
	picked(json, from_json, sizeof(from_json));
	cJSON_Delete(json);
	check(!strcmp(from_yaml, "onnx,torchscript"), "yaml %s", from_yaml);
	check(!strcmp(from_yaml, from_json), "yaml %s, json %s", from_yaml, from_json);
	bo_error_cleanup(&err);
}

static struct check_test tests[] = {
	TEST(test_weights__order_and_nulls),
	TEST(test_weights__none),
	TEST(test_weights__is_runnable),
	TEST(test_weights__yaml_and_json_agree),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

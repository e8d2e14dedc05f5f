/* Unit tests for summary: our summaries reshaped as bioimageio.spec's ValidationSummary. */
#include "check.h"

#include "check/summary.h"

#include <cjson/cJSON.h>

static const char *str(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static void test_summary__dynamic(void)
{
	cJSON *s = cJSON_Parse(
		"{\"name\":\"reproduce test outputs (onnx)\",\"status\":\"error\",\"details\":["
		"{\"name\":\"load\",\"status\":\"error\",\"errors\":[{\"loc\":[],\"msg\":\"boom\",\"type\":\"internal\"}]},"
		"{\"name\":\"out\",\"status\":\"passed\",\"errors\":[],\"warnings\":[{\"loc\":[],\"msg\":\"w\",\"type\":\"t\","
		"\"severity\":\"alert\"}],\"context\":{\"max_abs_diff\":1e-6}},"
		"{\"name\":\"weights\",\"status\":\"skipped\",\"errors\":[{\"loc\":[],\"msg\":\"no runtime\",\"type\":\"x\"}]}],"
		"\"env\":{\"runtime\":\"onnxruntime\",\"runtime_version\":\"1.30.0\",\"backoffice\":\"0.4.0\",\"io_checks\":true}}");
	require(s, "fixture");
	struct summary_source src = {"http://h/files/a/draft/files/rdf.yaml", "a", "model", "0.5.4"};
	check(summary_to_spec(s, &src) == 0, "reshape");
	check(!strcmp(str(s, "status"), "failed") && !strcmp(str(s, "source_name"), src.source_name) &&
		      !strcmp(str(s, "type"), "model") && !strcmp(str(s, "format_version"), "0.5.4") && !strcmp(str(s, "id"), "a"),
	      "top level: %s %s", str(s, "status"), str(s, "source_name"));
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "details");
	check(!strcmp(str(cJSON_GetArrayItem(d, 0), "status"), "failed"), "error detail -> failed");
	const cJSON *d1 = cJSON_GetArrayItem(d, 1);
	check(!cJSON_HasObjectItem(d1, "context") &&
		      cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d1, "comparison"),
									"max_abs_diff")) == 1e-6,
	      "context -> comparison");
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		      cJSON_GetObjectItemCaseSensitive(d1, "warnings"), 0), "severity")) == 35,
	      "alert -> 35");
	const cJSON *d2 = cJSON_GetArrayItem(d, 2);
	const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d2, "warnings"), 0);
	check(!strcmp(str(d2, "status"), "passed") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d2, "skipped")) &&
		      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d2, "errors")) == 0 && w &&
		      !strcmp(str(w, "msg"), "no runtime") && !strcmp(str(w, "type"), "skipped"),
	      "skipped detail: passed, flagged, its reason a warning");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(s, "env");
	check(cJSON_IsArray(env) && cJSON_GetArraySize(env) == 2, "env list");
	const cJSON *r0 = cJSON_GetArrayItem(env, 0);
	check(cJSON_GetArraySize(r0) == 4 && !strcmp(cJSON_GetArrayItem(r0, 0)->valuestring, "onnxruntime") &&
		      !strcmp(cJSON_GetArrayItem(r0, 1)->valuestring, "1.30.0"),
	      "env row [name, version, build, channel]");
	check(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "io_checks")), "non-package env keys move up");
	cJSON_Delete(s);
}

static void test_summary__statuses(void)
{
	const char *cases[][2] = {{"passed", "passed"}, {"failed", "failed"}, {"valid-format", "valid-format"},
				  {"skipped", "valid-format"}, {"error", "failed"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "status", cases[i][0]);
		check(summary_to_spec(s, NULL) == 0 && !strcmp(str(s, "status"), cases[i][1]), "%s -> %s (got %s)",
		      cases[i][0], cases[i][1], str(s, "status"));
		cJSON_Delete(s);
	}
	check(summary_severity("info") == 20 && summary_severity("warning") == 30 && summary_severity("alert") == 35 &&
		      summary_severity(NULL) == 30,
	      "severities");
}

static struct check_test tests[] = {
	TEST(test_summary__dynamic),
	TEST(test_summary__statuses),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

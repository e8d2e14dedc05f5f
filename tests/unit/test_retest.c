/* Unit tests for the selection of re-tests (pipeline/retest.h) on a migrated database:
 * the judge comparison, which (version, format) pairs are queued, up to date or already
 * pending, ID alone = its latest published version, yanked and unknown targets, one
 * weight format, the bound of the automatic re-test, dry runs, and the rule-set hash. */
#include "check.h"
#include "sql_check.h"

#include "common/error.h"
#include "common/version.h"
#include "infra/db.h"
#include "pipeline/retest.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/stat.h>

#define RULES "rules-0123456789abcdef"

struct fx {
	db *d;
	sqlite3 *c;
	struct bo_error err;
};

static void setup(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	int rc = db_open(&f->d, "t.db", check_src("migrations"), &f->err);
	require(rc == 0, "db_open: %s", f->err.detail);
	require(db_acquire(f->d, &f->c, &f->err) == 0, "acquire");
	sql_exec(f->c, "INSERT INTO users(id, name, email, role, created_at) VALUES (1, 'U', 'u@x', 'uploader', 'x');"
		       "INSERT INTO concepts(id, type, created_at, created_by) VALUES ('a', 'model', 'x', 1), "
		       "('b', 'model', 'x', 1), ('c', 'dataset', 'x', 1);"
		       "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, revision) VALUES "
		       "('a', '1', 'published', '{\"weights\":{\"onnx\":{\"source\":\"w.onnx\"},\"torchscript\":{\"source\":\"w.pt\"}}}', 's', '2026-01-01', 3),"
		       "('a', '2', 'published', '{\"weights\":{\"onnx\":{\"source\":\"w.onnx\"}}}', 's', '2026-02-01', 5),"
		       "('a', '3', 'yanked', '{\"weights\":{\"onnx\":{\"source\":\"w.onnx\"}}}', 's', '2026-03-01', 7),"
		       "('b', '1', 'published', '{\"weights\":{\"onnx\":{\"source\":\"w.onnx\"}}}', 's', '2026-01-01', NULL),"
		       "('c', '1', 'published', '{\"type\":\"dataset\"}', 's', '2026-01-01', NULL);");
}

static void teardown(struct fx *f)
{
	if (f->c)
		db_release(f->d, f->c);
	db_close(f->d);
	bo_error_cleanup(&f->err);
}

static int queue(struct fx *f, const struct retest_options *o, struct retest_result *r)
{
	bo_error_cleanup(&f->err);
	return retest_queue(f->c, RULES, o, r, &f->err);
}

static void test_judge(void)
{
	struct retest_judge cur = {"backoffice-worker", "0.4.0", RULES, "1.20.1"};
	struct retest_judge same = cur, other_tool = cur, other_rules = cur, other_rt = cur, no_rt = cur;
	other_tool.tool_version = "0.3.9";
	other_rules.rules_version = "rules-old";
	other_rt.runtime_version = "1.19.0";
	no_rt.runtime_version = "";
	check(retest_judge_same(&cur, &same), "same judge");
	check(!retest_judge_same(&cur, &other_tool), "another worker version");
	check(!retest_judge_same(&cur, &other_rules), "another rule set");
	check(!retest_judge_same(&cur, &other_rt), "another runtime version");
	check(retest_judge_same(&cur, &no_rt), "a run without a runtime (error) is judged by worker and rules");
	check(!retest_judge_same(&cur, NULL), "no run is never up to date");
	struct retest_judge unknown_now = cur;
	unknown_now.runtime_version = "";
	check(retest_judge_same(&unknown_now, &other_rt), "no runtime seen yet: not compared");
}

static void test_select_all(void)
{
	struct fx f;
	struct retest_result r = {0};
	setup(&f);
	struct retest_options o = {.all = 1};
	/* a/1 onnx has a re-test by an older worker; a/1 torchscript was published with
	 * today's judge (revision 3); a/2 has a pending re-test; b/1 has no run at all */
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO test_runs(concept_id, revision_or_version, of_version, kind, weight_format, tool, tool_version, "
		 "status, rules_version) VALUES "
		 "('a', '1', 1, 'dynamic', 'onnx', 'backoffice-worker', '0.0.1', 'passed', '" RULES "'),"
		 "('a', '3', 0, 'dynamic', 'torchscript', 'backoffice-worker', '%s', 'passed', '" RULES "'),"
		 "('a', '2', 1, 'dynamic', 'onnx', 'backoffice-worker', '%s', 'queued', NULL),"
		 /* a draft revision 1 of a must not count as version 1's run */
		 "('a', '1', 0, 'dynamic', 'onnx', 'backoffice-worker', '%s', 'passed', '" RULES "')",
		 BO_VERSION, BO_VERSION, BO_VERSION);
	sql_exec(f.c, sql);
	require(queue(&f, &o, &r) == 0, "queue: %s", f.err.detail);
	check(r.versions == 4, "versions %d (yanked a/3 is not one)", r.versions);
	check(r.queued == 2, "queued %d (a/1 onnx, b/1 onnx)", r.queued);
	check(r.up_to_date == 1, "up to date %d (a/1 torchscript)", r.up_to_date);
	check(r.pending == 1, "pending %d (a/2)", r.pending);
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE of_version = 1 AND status = 'queued'") == 3, "runs");
	check(sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'retest' AND json_extract(payload_json, '$.version') IS NOT NULL") == 2,
	      "jobs");
	sql_expect_text(f.c, "SELECT group_concat(subject || '/' || json_extract(payload_json, '$.version') || ' ' || "
			     "json_extract(payload_json, '$.weight_format'), ',') FROM (SELECT * FROM jobs ORDER BY id)",
			"a/1 onnx,b/1 onnx");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE tool_version = '0.0.1'") == 1, "the old run stays");
	retest_result_free(&r);
	/* again: the new runs are pending, nothing more */
	require(queue(&f, &o, &r) == 0, "queue again");
	check(r.queued == 0 && r.pending == 3, "again: queued %d pending %d", r.queued, r.pending);
	retest_result_free(&r);
	/* once they pass with today's judge, all is up to date */
	sql_exec(f.c, "UPDATE test_runs SET status = 'passed', rules_version = '" RULES "', runtime_version = '1.2' "
		      "WHERE status = 'queued'");
	require(queue(&f, &o, &r) == 0, "queue after the runs");
	check(r.queued == 0 && r.up_to_date == 4, "after: queued %d up to date %d", r.queued, r.up_to_date);
	retest_result_free(&r);
	/* a run that saw a newer runtime makes the others stale */
	sql_exec(f.c, "UPDATE test_runs SET runtime_version = '1.3', finished_at = 'z' WHERE concept_id = 'b'");
	require(queue(&f, &o, &r) == 0, "queue after a runtime change");
	check(r.queued == 2, "runtime change: queued %d (a/1 and a/2 onnx)", r.queued);
	retest_result_free(&r);
	teardown(&f);
}

static void test_targets(void)
{
	struct fx f;
	struct retest_result r = {0};
	setup(&f);
	const char *latest[] = {"a"};
	struct retest_options o = {.targets = latest, .ntargets = 1, .dry_run = 1};
	require(queue(&f, &o, &r) == 0, "queue a: %s", f.err.detail);
	check(r.versions == 1 && r.queued == 1, "ID alone: versions %d queued %d", r.versions, r.queued);
	sql_expect_text(f.c, "SELECT count(*) FROM test_runs", "0");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r.runs, 0), "version")), "2"),
	      "ID alone is its latest published version");
	retest_result_free(&r);
	const char *one[] = {"a/1"};
	struct retest_options of = {.targets = one, .ntargets = 1, .format = "torchscript"};
	require(queue(&f, &of, &r) == 0, "queue a/1 torchscript");
	check(r.queued == 1 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r.runs, 0), "weight_format")),
					 "torchscript"),
	      "one format");
	retest_result_free(&r);
	const char *noformat[] = {"b/1"};
	struct retest_options on = {.targets = noformat, .ntargets = 1, .format = "torchscript"};
	require(queue(&f, &on, &r) == 0, "queue b/1 torchscript");
	check(r.queued == 0 && r.no_format == 1, "missing format: queued %d no_format %d", r.queued, r.no_format);
	retest_result_free(&r);
	const char *bad[][2] = {{"nope", NULL}, {"a/3", NULL}, {"a/9", NULL}};
	for (size_t i = 0; i < 3; i++) {
		const char *t[] = {bad[i][0]};
		struct retest_options ob = {.targets = t, .ntargets = 1};
		check(queue(&f, &ob, &r) == BO_ENOTFOUND, "%s: not found", bad[i][0]);
		retest_result_free(&r);
	}
	const char *mal[] = {"a/1/2"};
	struct retest_options om = {.targets = mal, .ntargets = 1};
	check(queue(&f, &om, &r) == BO_EBADREQUEST, "malformed target");
	retest_result_free(&r);
	/* a refused target queues nothing, even after good ones */
	const char *mixed[] = {"b/1", "nope"};
	struct retest_options ox = {.targets = mixed, .ntargets = 2};
	check(queue(&f, &ox, &r) == BO_ENOTFOUND, "mixed");
	retest_result_free(&r);
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE concept_id = 'b'") == 0, "rolled back");
	teardown(&f);
}

static void test_bound(void)
{
	struct fx f;
	struct retest_result r = {0};
	setup(&f);
	/* the automatic re-test compares recorded judges only, at most max_jobs at once */
	sql_exec(f.c, "INSERT INTO test_runs(concept_id, revision_or_version, of_version, kind, weight_format, tool, "
		      "tool_version, status) VALUES ('a', '3', 0, 'dynamic', 'onnx', 'backoffice-worker', '0.0.1', 'passed'),"
		      "('a', '3', 0, 'dynamic', 'torchscript', 'backoffice-worker', '0.0.1', 'passed'),"
		      "('a', '5', 0, 'dynamic', 'onnx', 'backoffice-worker', '0.0.1', 'passed')");
	struct retest_options o = {.all = 1, .only_recorded = 1, .max_jobs = 2};
	require(queue(&f, &o, &r) == 0, "queue");
	check(r.queued == 2 && r.more, "bounded: queued %d more %d", r.queued, r.more);
	retest_result_free(&r);
	require(queue(&f, &o, &r) == 0, "queue the rest");
	check(r.queued == 1 && !r.more && r.pending == 2, "the rest: queued %d more %d pending %d", r.queued, r.more,
	      r.pending);
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE concept_id = 'b'") == 0, "b/1 has no recorded run");
	retest_result_free(&r);
	teardown(&f);
}

static void test_rules_version(void)
{
	char a[RETEST_RULES_MAX], b[RETEST_RULES_MAX], c[RETEST_RULES_MAX];
	require(mkdir("s", 0700) == 0 && mkdir("s/rules", 0700) == 0, "mkdir");
	FILE *fp = fopen("s/rules/model-0.5.json", "w");
	require(fp, "open");
	fputs("{\"a\":1}", fp);
	fclose(fp);
	retest_rules_version(a, "s");
	retest_rules_version(b, "s");
	check(!strncmp(a, "rules-", 6) && strlen(a) == 22 && !strcmp(a, b), "stable: %s %s", a, b);
	fp = fopen("s/rules/model-0.5.json", "a");
	fputs(" ", fp);
	fclose(fp);
	retest_rules_version(c, "s");
	check(strcmp(a, c), "an edit is a new rule set");
	retest_rules_version(c, "nowhere");
	check(!strcmp(c, "rules-unknown"), "unreadable: %s", c);
}

static const struct check_test tests[] = {
	TEST(test_judge), TEST(test_select_all), TEST(test_targets), TEST(test_bound), TEST(test_rules_version),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for test_job on a real app (migrated database, fs storage) with a fake worker
 * script written by the test: scheduling one run and one job per weight format (models
 * only), verdicts and the move to `awaiting review` after the last run, the produced
 * tensor of a failed run kept in storage, a worker printing garbage, stale jobs, a dead
 * job, and the reviewer's re-run. */
#include "check.h"
#include "sql_check.h"

#include "app.h"
#include "infra/config.h"
#include "infra/db.h"
#include "common/error.h"
#include "infra/jobs.h"
#include "common/log.h"
#include "infra/storage.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "busy-bee"

/* onnx passes; torchscript fails and produces out/output0.npy; "garbage" prints no JSON */
static const char worker_script[] =
	"#!/bin/sh\n"
	"spec=$(cat)\n"
	"get() { printf '%s' \"$spec\" | /usr/bin/jq -r \"$1\"; }\n"
	"fmt=$(get .weight_format); out=$(get .output_dir); pkg=$(get .package_dir)\n"
	"[ -f \"$pkg/rdf.yaml\" ] && [ -f \"$pkg/sub/data.npy\" ] || { echo '{\"status\":\"error\",\"details\":[]}'; exit 0; }\n"
	"case $fmt in\n"
	"  onnx) echo '{\"name\":\"r\",\"status\":\"passed\",\"details\":[]}' ;;\n"
	"  torchscript) cp \"$pkg/sub/data.npy\" \"$out/output0.npy\"\n"
	"    echo '{\"status\":\"failed\",\"details\":[{\"name\":\"c\",\"status\":\"failed\",\"errors\":[],"
	"\"context\":{\"produced\":\"out/output0.npy\"}}]}' ;;\n"
	"  *) echo 'this is not JSON' ;;\n"
	"esac\n";

struct fixture {
	struct config *cfg;
	struct app *a;
	sqlite3 *c;
	struct bo_error err;
};

static int setup(struct fixture *f)
{
	char dd[64], md[4200], sd[4200], wp[4200], cwd[4096];
	memset(f, 0, sizeof(*f));
	log_set_level(LOG_LEVEL_ERROR);
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	snprintf(wp, sizeof(wp), "--worker-path=%s/worker.sh", cwd);
	FILE *w = fopen("worker.sh", "w");
	if (!w)
		return -1;
	fputs(worker_script, w);
	fclose(w);
	chmod("worker.sh", 0755);
	/* the jail's uid (a root test drops to it) must be able to pass to the worker */
	chmod(cwd, 0711);
	snprintf(dd, sizeof(dd), "--data-dir=var");
	snprintf(md, sizeof(md), "--migrations-dir=%s", check_src("migrations"));
	snprintf(sd, sizeof(sd), "--schema-dir=%s", check_src("schema"));
	char st[] = "--storage=fs", at[] = "--job-max-attempts=2";
	char *argv[] = {dd, md, sd, st, at, wp, NULL};
	int rc = config_load(&f->cfg, 6, argv, NULL, NULL, &f->err);
	check(rc == 0, "config: %s", f->err.detail);
	if (rc)
		return rc;
	rc = app_open(&f->a, f->cfg, 0, &f->err);
	check(rc == 0, "app_open: %s", f->err.detail);
	if (rc)
		return rc;
	rc = db_acquire(f->a->db, &f->c, &f->err);
	check(rc == 0, "acquire");
	return rc;
}

static void teardown(struct fixture *f)
{
	if (f->c)
		db_release(f->a->db, f->c);
	app_close(f->a);
	config_free(f->cfg);
	bo_error_cleanup(&f->err);
}




static void stage_file(struct fixture *f, const char *path, const char *text)
{
	char key[512], sql[1024];
	snprintf(key, sizeof(key), ID "/draft/files/%s", path);
	check(storage_put_buffer(f->a->storage, key, text, strlen(text), NULL, &f->err) == 0, "put %s: %s", key,
	      f->err.detail);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) "
		 "VALUES ('" ID "', 'draft', '%s', %zu, 'x', 'text/plain')",
		 path, strlen(text));
	sql_exec(f->c, sql);
}

/* A draft of type at revision rev in state, whose RDF has weights (rdf_json). */
static void make_draft(struct fixture *f, const char *type, int rev, const char *state, const char *rdf_json)
{
	char sql[2048];
	snprintf(sql, sizeof(sql), "INSERT INTO concepts(id, type, created_at) VALUES ('" ID "', '%s', '2024-01-01T00:00:00.000Z')",
		 type);
	sql_exec(f->c, sql);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO drafts(concept_id, revision, state, package_sha256, package_size, package_path, "
		 "rdf_name, rdf_json, created_at, updated_at) VALUES ('" ID "', %d, '%s', 'abc', 10, 'x.zip', "
		 "'rdf.yaml', '%s', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')",
		 rev, state, rdf_json);
	sql_exec(f->c, sql);
	stage_file(f, "rdf.yaml", "type: model\n");
	stage_file(f, "sub/data.npy", "not really npy, but bytes to keep");
}

static int schedule(struct fixture *f, int rev)
{
	int n = -1;
	check(db_begin(f->c, &f->err) == 0, "begin");
	check(test_job_schedule(f->c, ID, rev, &n, &f->err) == 0, "schedule: %s", f->err.detail);
	check(db_commit(f->c, &f->err) == 0, "commit");
	return n;
}

static int run_one(struct fixture *f)
{
	int ran = 0;
	bo_error_cleanup(&f->err);
	check(jobs_run_one(f->a->jobs, "test", &ran, &f->err) == 0, "run: %s", f->err.detail);
	return ran;
}

#define WEIGHTS "{\"type\":\"model\",\"weights\":{\"onnx\":{\"source\":\"w.onnx\"},\"torchscript\":{\"source\":\"w.pt\"}}}"

static void test_test_job__runs_and_awaits_review(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, "model", 1, "testing", WEIGHTS);
	check(schedule(&f, 1) == 2, "two formats, two jobs");
	sql_expect_text(f.c, "SELECT group_concat(weight_format || ':' || status, ',') FROM test_runs WHERE kind = 'dynamic'",
		    "onnx:queued,torchscript:queued");
	sql_expect_text(f.c, "SELECT group_concat(payload_json, ' ') FROM jobs WHERE kind = 'test'",
		    "{\"revision\":1,\"weight_format\":\"onnx\"} {\"revision\":1,\"weight_format\":\"torchscript\"}");
	require(run_one(&f) == 1, "first job");
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE weight_format = 'onnx'", "passed");
	sql_expect_text(f.c, "SELECT state FROM drafts", "testing"); /* torchscript is still queued */
	require(run_one(&f) == 1, "second job");
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE weight_format = 'torchscript'", "failed");
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	sql_expect_text(f.c, "SELECT tool || ' ' || (started_at IS NOT NULL) || ' ' || (finished_at >= started_at) FROM test_runs "
			 "WHERE weight_format = 'torchscript'",
		    "backoffice-worker 1 1");
	/* the produced tensor is kept and the summary points at it */
	sql_expect_text(f.c, "SELECT json_extract(summary_json, '$.details[0].comparison.produced') FROM test_runs WHERE weight_format = 'torchscript'",
		    ID "/draft/test_outputs/torchscript/output0.npy");
	char *kept = NULL;
	size_t len = 0;
	check(storage_get_buffer(f.a->storage, ID "/draft/test_outputs/torchscript/output0.npy", 1024, &kept, &len, &f.err) == 0 &&
		      !strcmp(kept, "not really npy, but bytes to keep"),
	      "kept tensor: %s", kept ? kept : f.err.detail);
	free(kept);
	sql_expect_text(f.c, "SELECT json_extract(summary_json, '$.sandbox.wall_ms') >= 0 FROM test_runs WHERE weight_format = 'onnx'", "1");
	check(sql_int(f.c, "SELECT count(*) FROM events WHERE kind = 'tested'") == 2, "tested events");
	/* the same job again (a crash before it was marked done): the run has a verdict, nothing changes */
	struct job j = {.id = 1, .kind = "test", .subject = ID,
			.payload_json = "{\"revision\":1,\"weight_format\":\"onnx\"}", .attempts = 1, .max_attempts = 2};
	check(test_job_run(f.a, &j, &f.err) == 0, "re-run: %s", f.err.detail);
	check(sql_int(f.c, "SELECT count(*) FROM events WHERE kind = 'tested'") == 2, "a verdict was recorded twice");
out:
	teardown(&f);
}

static void test_test_job__only_models_have_dynamic_tests(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, "dataset", 1, "testing", "{\"type\":\"dataset\"}");
	check(schedule(&f, 1) == 0, "a dataset got test jobs");
	check(sql_int(f.c, "SELECT count(*) FROM jobs") == 0 && sql_int(f.c, "SELECT count(*) FROM test_runs") == 0, "rows made");
out:
	teardown(&f);
}

static void test_test_job__garbage_stale_and_dead(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, "model", 2, "testing",
		   "{\"type\":\"model\",\"weights\":{\"keras_hdf5\":{\"source\":\"w.h5\"},\"onnx\":{\"source\":\"w\"}}}");
	check(schedule(&f, 2) == 2, "two jobs");
	/* a worker that prints no JSON: an error run that says so */
	require(run_one(&f) == 1, "keras job");
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE weight_format = 'keras_hdf5'", "error");
	sql_expect_text(f.c, "SELECT json_extract(summary_json, '$.details[0].errors[0].msg') FROM test_runs WHERE weight_format = 'keras_hdf5'",
		    "the test worker printed no valid result (not a JSON object with a status; exit status 0)");
	/* a job of an older revision does nothing */
	struct job old = {.id = 99, .kind = "test", .subject = ID,
			  .payload_json = "{\"revision\":1,\"weight_format\":\"onnx\"}", .attempts = 1, .max_attempts = 2};
	check(test_job_run(f.a, &old, &f.err) == 0, "stale: %s", f.err.detail);
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE weight_format = 'onnx'", "queued");
	/* a dead job: an error run with the reason, and the draft moves on */
	struct job dead = {.id = 2, .kind = "test", .subject = ID,
			   .payload_json = "{\"revision\":2,\"weight_format\":\"onnx\"}", .attempts = 2, .max_attempts = 2};
	test_job_dead(f.a, &dead, "storage unavailable");
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE weight_format = 'onnx'", "error");
	check(sql_int(f.c, "SELECT json_extract(summary_json, '$.details[0].errors[0].msg') LIKE "
			 "'the test could not finish after 2 attempts (storage unavailable)%jobs retry 2%' FROM test_runs "
			 "WHERE weight_format = 'onnx'") == 1,
	      "dead message");
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	/* the queued job of that run finds a verdict and does nothing */
	require(run_one(&f) == 1, "onnx job");
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE weight_format = 'onnx'", "error");
out:
	teardown(&f);
}

static void test_test_job__rerun(void)
{
	struct fixture f;
	cJSON *o = NULL;
	if (setup(&f))
		goto out;
	make_draft(&f, "model", 1, "testing", WEIGHTS);
	check(test_job_rerun(f.a, 0, ID, &o, &f.err) == BO_ECONFLICT && strstr(f.err.detail, "'testing'"), "in testing: %s",
	      f.err.detail);
	bo_error_cleanup(&f.err);
	schedule(&f, 1);
	while (run_one(&f))
		;
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	require(test_job_rerun(f.a, 0, ID, &o, &f.err) == 0, "rerun: %s", f.err.detail);
	char *text = cJSON_PrintUnformatted(o);
	check(!strcmp(text, "{\"id\":\"" ID "\",\"revision\":1,\"state\":\"testing\",\"tests\":["
			    "{\"weight_format\":\"onnx\",\"status\":\"queued\"},{\"weight_format\":\"torchscript\",\"status\":\"queued\"}]}"),
	      "reply %s", text);
	free(text);
	cJSON_Delete(o);
	o = NULL;
	sql_expect_text(f.c, "SELECT state FROM drafts", "testing");
	check(sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'test' AND state = 'queued'") == 2, "two new jobs");
	check(sql_int(f.c, "SELECT count(*) FROM events WHERE kind = 'tests re-run'") == 1, "event");
	while (run_one(&f))
		;
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	/* a failed static validation leaves nothing to re-run */
	sql_exec(f.c, "INSERT INTO test_runs(concept_id, revision_or_version, kind, tool, tool_version, status) "
		  "VALUES ('" ID "', '1', 'static', 'v', '1', 'failed')");
	check(test_job_rerun(f.a, 0, ID, &o, &f.err) == BO_ECONFLICT && strstr(f.err.detail, "static validation"),
	      "static failed: %s", f.err.detail);
	bo_error_cleanup(&f.err);
	check(test_job_rerun(f.a, 0, "no-such-id", &o, &f.err) == BO_ENOTFOUND, "unknown id");
out:
	cJSON_Delete(o);
	teardown(&f);
}

static const struct check_test tests[] = {
	TEST(test_test_job__runs_and_awaits_review),
	TEST(test_test_job__only_models_have_dynamic_tests),
	TEST(test_test_job__garbage_stale_and_dead),
	TEST(test_test_job__rerun),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

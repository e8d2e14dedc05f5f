/* Unit tests for validate_job on a real app (migrated database, fs storage, the rules in
 * schema/): a staged dataset is validated with IO checks and reaches `awaiting review`
 * with a static test run; a missing documentation file is a failed verdict; a re-run
 * replaces nothing twice; a stale job does nothing; storage trouble is retried; a dead
 * job moves the draft to `error` with the retry command, and the retried job resumes. */
#include "check.h"
#include "sql_check.h"

#include "app.h"
#include "infra/config.h"
#include "infra/db.h"
#include "common/error.h"
#include "infra/jobs.h"
#include "pipeline/lifecycle.h"
#include "common/log.h"
#include "infra/storage.h"
#include "pipeline/validate_job.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdint.h>

#define ID "ambitious-ant"

static const char rdf_text[] = "id: " ID "\n"
			       "format_version: 0.2.4\n"
			       "type: dataset\n"
			       "name: Minimal test dataset\n"
			       "description: A tiny dataset used by the backoffice tests.\n"
			       "authors:\n"
			       "  - name: Test Author\n"
			       "    email: author@example.org\n"
			       "license: CC-BY-4.0\n"
			       "documentation: README.md\n"
			       "tags: [test, fluorescence]\n";
static const char readme_text[] = "# Minimal\n\n## Validation\n\nNothing to validate.\n";

struct fixture {
	struct config *cfg;
	struct app *a;
	sqlite3 *c;
	struct bo_error err;
};

static int setup(struct fixture *f)
{
	char dd[64], md[4200], sd[4200];
	memset(f, 0, sizeof(*f));
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(dd, sizeof(dd), "--data-dir=var");
	snprintf(md, sizeof(md), "--migrations-dir=%s", check_src("migrations"));
	snprintf(sd, sizeof(sd), "--schema-dir=%s", check_src("schema"));
	char st[] = "--storage=fs", at[] = "--job-max-attempts=2";
	char *argv[] = {dd, md, sd, st, at, NULL};
	int rc = config_load(&f->cfg, 5, argv, NULL, NULL, &f->err);
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





/* Stores a file under the draft and records it as the stage job does. */
static void stage_file(struct fixture *f, const char *path, const char *text)
{
	char key[512], hex[65], sql[1024];
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(key, sizeof(key), ID "/draft/files/%s", path);
	check(storage_put_buffer(f->a->storage, key, text, strlen(text), NULL, &f->err) == 0, "put %s: %s", key,
	      f->err.detail);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) "
		 "VALUES ('" ID "', 'draft', '%s', %zu, '%s', 'text/plain')",
		 path, strlen(text), hex);
	sql_exec(f->c, sql);
}

/* A draft of revision rev in state, with rdf.yaml (and README.md when with_readme). */
static void make_draft(struct fixture *f, int rev, const char *state, int with_readme)
{
	char sql[1024];
	sql_exec(f->c, "INSERT INTO concepts(id, type, created_at) VALUES ('" ID "', 'dataset', '2024-01-01T00:00:00.000Z')");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO drafts(concept_id, revision, state, package_sha256, package_size, package_path, "
		 "rdf_name, rdf_json, created_at, updated_at) VALUES ('" ID "', %d, '%s', 'abc', 10, 'x.zip', "
		 "'rdf.yaml', '{}', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')",
		 rev, state);
	sql_exec(f->c, sql);
	stage_file(f, "rdf.yaml", rdf_text);
	if (with_readme)
		stage_file(f, "README.md", readme_text);
}

static int64_t enqueue(struct fixture *f, int rev)
{
	int64_t id = 0;
	check(db_begin(f->c, &f->err) == 0, "begin");
	char payload[32];
	snprintf(payload, sizeof(payload), "{\"revision\":%d}", rev);
	check(jobs_enqueue(f->c, "validate", ID, payload, 0, &id, &f->err) == 0, "enqueue: %s", f->err.detail);
	check(db_commit(f->c, &f->err) == 0, "commit");
	return id;
}

static int run_direct(struct fixture *f, int rev, int64_t job_id)
{
	char payload[32];
	snprintf(payload, sizeof(payload), "{\"revision\":%d}", rev);
	struct job j = {.id = job_id, .kind = "validate", .subject = ID, .payload_json = payload, .attempts = 1,
			.max_attempts = 2};
	bo_error_cleanup(&f->err);
	return validate_job_run(f->a, &j, &f->err);
}

static void test_validate_job__passes_and_awaits_review(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, 1, "unpacking", 1);
	/* entering unpacked queues the validate job (the lifecycle table) */
	require(db_begin(f.c, &f.err) == 0, "begin");
	check(lifecycle_transition(f.c, NULL, ID, 1, DRAFT_UNPACKED, NULL, 0, &f.err) == 0, "to unpacked: %s",
	      f.err.detail);
	require(db_commit(f.c, &f.err) == 0, "commit");
	sql_expect_text(f.c, "SELECT payload_json FROM jobs WHERE kind = 'validate'", "{\"revision\":1}");
	int ran = 0;
	require(jobs_run_one(f.a->jobs, "validate", &ran, &f.err) == 0 && ran == 1, "run: %s", f.err.detail);
	sql_expect_text(f.c, "SELECT state FROM jobs WHERE kind = 'validate'", "done");
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	sql_expect_text(f.c, "SELECT kind || ' ' || status || ' ' || tool || ' ' || revision_or_version FROM test_runs",
		    "static passed backoffice-validate 1");
	sql_expect_text(f.c, "SELECT json_extract(summary_json, '$.status') FROM test_runs", "passed");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE started_at IS NOT NULL AND finished_at >= started_at") == 1,
	      "timestamps");
	sql_expect_text(f.c, "SELECT group_concat(json_extract(details_json, '$.to'), ',') FROM events WHERE kind = 'state'",
		    "unpacked,testing,awaiting review");
	check(sql_int(f.c, "SELECT count(*) FROM events WHERE kind = 'validated'") == 1, "validated event");
	/* the job again (a crash before it was marked done): the draft moved on, nothing changes */
	check(run_direct(&f, 1, 1) == 0, "re-run: %s", f.err.detail);
	check(sql_int(f.c, "SELECT count(*) FROM test_runs") == 1, "a re-run added a test run");
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	/* a retry while still testing replaces the run of the revision */
	sql_exec(f.c, "UPDATE drafts SET state = 'testing'");
	check(run_direct(&f, 1, 1) == 0, "retry in testing: %s", f.err.detail);
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE kind = 'static'") == 1, "the static run was duplicated");
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
out:
	teardown(&f);
}

static void test_validate_job__missing_file_is_a_failed_verdict(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, 1, "unpacked", 0);
	check(run_direct(&f, 1, 5) == 0, "run: %s", f.err.detail);
	/* a failed verdict goes back to the uploader, never to the reviewers, saying what */
	sql_expect_text(f.c, "SELECT state FROM drafts", "changes requested");
	sql_expect_text(f.c, "SELECT status FROM test_runs WHERE kind = 'static'", "failed");
	char *detail = sql_text(f.c, "SELECT state_detail FROM drafts");
	check(strstr(detail, "static validation failed with 1 error; fix it") && strstr(detail, "documentation"),
	      "state_detail does not say what to fix: %s", detail);
	free(detail);
	char *s = sql_text(f.c, "SELECT summary_json FROM test_runs");
	cJSON *summary = cJSON_Parse(s);
	free(s);
	int found = 0;
	const cJSON *d, *e;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details"))
	{
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "errors"))
		{
			const cJSON *loc0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "loc"), 0);
			if (cJSON_IsString(loc0) && !strcmp(loc0->valuestring, "documentation"))
				found = 1;
		}
	}
	check(found, "no error at documentation in the summary");
	cJSON_Delete(summary);
out:
	teardown(&f);
}

static void test_validate_job__stale_does_nothing(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, 2, "unpacked", 1);
	check(run_direct(&f, 1, 5) == 0, "stale run: %s", f.err.detail);
	sql_expect_text(f.c, "SELECT state FROM drafts", "unpacked");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs") == 0, "a stale job recorded a run");
	sql_exec(f.c, "UPDATE drafts SET state = 'unpacking'");
	check(run_direct(&f, 2, 5) == 0, "run on unpacking: %s", f.err.detail);
	sql_expect_text(f.c, "SELECT state FROM drafts", "unpacking");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs") == 0, "a job on an unpacking draft recorded a run");
out:
	teardown(&f);
}

static void test_validate_job__storage_trouble_retries_then_dead_then_retry(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	make_draft(&f, 1, "unpacked", 1);
	/* rdf.yaml gone from storage: an error to retry, never a verdict */
	check(storage_delete(f.a->storage, ID "/draft/files/rdf.yaml", &f.err) == 0, "delete");
	int rc = run_direct(&f, 1, 5);
	check(rc != 0, "a missing rdf.yaml gave a verdict");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs") == 0, "a run was recorded");
	sql_expect_text(f.c, "SELECT state FROM drafts", "testing");
	/* through the queue: two attempts, then dead, and the draft says how to retry */
	int64_t jid = enqueue(&f, 1);
	sql_exec(f.c, "UPDATE jobs SET run_after = 0");
	int ran = 0;
	check(jobs_run_one(f.a->jobs, "validate", &ran, &f.err) == 0 && ran == 1, "attempt 1");
	sql_exec(f.c, "UPDATE jobs SET run_after = 0");
	check(jobs_run_one(f.a->jobs, "validate", &ran, &f.err) == 0 && ran == 1, "attempt 2");
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT state FROM jobs WHERE id = %lld", (long long)jid);
	sql_expect_text(f.c, sql, "dead");
	sql_expect_text(f.c, "SELECT state FROM drafts", "error");
	char *detail = sql_text(f.c, "SELECT state_detail FROM drafts");
	char want[64];
	snprintf(want, sizeof(want), "backoffice jobs retry %lld", (long long)jid);
	check(strstr(detail, want) != NULL, "detail does not say '%s': %s", want, detail);
	free(detail);
	/* storage fixed, the operator retries: error → testing → awaiting review */
	check(storage_put_buffer(f.a->storage, ID "/draft/files/rdf.yaml", rdf_text, strlen(rdf_text), NULL, &f.err) == 0,
	      "put: %s", f.err.detail);
	check(jobs_retry(f.c, jid, &f.err) == 0, "retry: %s", f.err.detail);
	sql_exec(f.c, "UPDATE jobs SET run_after = 0");
	check(jobs_run_one(f.a->jobs, "validate", &ran, &f.err) == 0 && ran == 1, "retried run");
	sql_expect_text(f.c, "SELECT state FROM drafts", "awaiting review");
	sql_expect_text(f.c, "SELECT status FROM test_runs", "passed");
out:
	teardown(&f);
}

static struct check_test tests[] = {
	TEST(test_validate_job__passes_and_awaits_review),
	TEST(test_validate_job__missing_file_is_a_failed_verdict),
	TEST(test_validate_job__stale_does_nothing),
	TEST(test_validate_job__storage_trouble_retries_then_dead_then_retry),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

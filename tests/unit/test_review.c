/* Unit tests for review decisions on a real app (migrated database, fs storage): the
 * version a draft publishes as, accept refused for a version that exists (409) and for
 * failed tests unless acknowledged (recorded in the event), the states a decision needs,
 * and the publish job it queues. */
#include "check.h"
#include "sql_check.h"

#include "app.h"
#include "domain/auth.h"
#include "infra/config.h"
#include "infra/db.h"
#include "common/error.h"
#include "common/log.h"
#include "pipeline/review.h"

#include <cjson/cJSON.h>

#define ID "ambitious-ant"

struct fixture {
	struct config *cfg;
	struct app *a;
	sqlite3 *c;
	struct bo_error err;
	struct auth_user rev;
};



/* A model draft awaiting review whose static validation passed. */
static int setup(struct fixture *f, const char *rdf_json)
{
	char dd[] = "--data-dir=var", md[4200], sd[4200], st[] = "--storage=fs";
	memset(f, 0, sizeof(*f));
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(md, sizeof(md), "--migrations-dir=%s", check_src("migrations"));
	snprintf(sd, sizeof(sd), "--schema-dir=%s", check_src("schema"));
	char *argv[] = {dd, md, sd, st, NULL};
	int rc = config_load(&f->cfg, 4, argv, NULL, NULL, &f->err);
	if (!rc)
		rc = app_open(&f->a, f->cfg, 0, &f->err);
	if (!rc)
		rc = db_acquire(f->a->db, &f->c, &f->err);
	check(rc == 0, "setup: %s", f->err.detail);
	if (rc)
		return rc;
	sql_exec(f->c, "INSERT INTO users(id, name, email, role, created_at) VALUES "
		   "(7, 'Rita Reviewer', 'rita@example.org', 'reviewer', '2026-01-01T00:00:00Z'),"
		   "(8, 'Sam Scientist', 'sam@example.org', 'uploader', '2026-01-01T00:00:00Z')");
	sql_exec(f->c, "INSERT INTO concepts(id, type, created_at, created_by, revisions) VALUES "
		   "('" ID "', 'model', '2026-01-01T00:00:00Z', 8, 1)");
	sqlite3_stmt *s = NULL;
	sqlite3_prepare_v2(f->c,
			   "INSERT INTO drafts(concept_id, revision, state, uploader_id, package_sha256, package_size, "
			   "package_path, rdf_name, rdf_json, created_at, updated_at) VALUES ('" ID "', 1, "
			   "'awaiting review', 8, 'x', 1, 'p', 'rdf.yaml', ?1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
			   -1, &s, NULL);
	sqlite3_bind_text(s, 1, rdf_json, -1, SQLITE_STATIC);
	check(sqlite3_step(s) == SQLITE_DONE, "insert draft");
	sqlite3_finalize(s);
	sql_exec(f->c, "INSERT INTO test_runs(concept_id, revision_or_version, kind, tool, tool_version, status) "
		   "VALUES ('" ID "', '1', 'static', 'backoffice-validate', '0', 'passed')");
	f->rev.id = 7;
	snprintf(f->rev.name, sizeof(f->rev.name), "Rita Reviewer");
	return 0;
}

static void teardown(struct fixture *f)
{
	if (f->c)
		db_release(f->a->db, f->c);
	app_close(f->a);
	config_free(f->cfg);
	bo_error_cleanup(&f->err);
}

static int decide(struct fixture *f, int accept, const char *msg, int ack)
{
	struct review_decision d = {accept, msg, ack};
	cJSON *out = NULL;
	bo_error_cleanup(&f->err);
	int rc = review_decide(f->a, &f->rev, ID, &d, &out, &f->err);
	cJSON_Delete(out);
	return rc;
}

static void test_review__pick_version(void)
{
	struct fixture f;
	if (setup(&f, "{}"))
		goto out;
	const char *cases[][2] = {
		{"{\"version\": \"0.2.1\"}", "0.2.1"},
		{"{\"version\": 3}", "3"},
		{"{\"config\": {\"bioimageio\": {\"version\": \"1.1\"}}}", "1.1"},
		{"{}", "1"},
	};
	char v[80];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *rdf = cJSON_Parse(cases[i][0]);
		check(review_pick_version(f.c, ID, rdf, v, sizeof(v), &f.err) == 0 && !strcmp(v, cases[i][1]),
		      "%s -> '%s', want '%s'", cases[i][0], v, cases[i][1]);
		cJSON_Delete(rdf);
	}
	/* the next integer after the highest integer version; other versions do not count */
	sql_exec(f.c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at) VALUES "
		  "('" ID "', '1', 'published', '{}', '', 'x'), ('" ID "', '2', 'yanked', '{}', '', 'x'), "
		  "('" ID "', '10.5', 'published', '{}', '', 'x')");
	cJSON *rdf = cJSON_Parse("{}");
	check(review_pick_version(f.c, ID, rdf, v, sizeof(v), &f.err) == 0 && !strcmp(v, "3"), "next: '%s'", v);
	cJSON_Delete(rdf);
	rdf = cJSON_Parse("{\"version\": \"../2\"}");
	check(review_pick_version(f.c, ID, rdf, v, sizeof(v), &f.err) == BO_EINVALIDRDF, "bad version refused");
	cJSON_Delete(rdf);
out:
	teardown(&f);
}

static void test_review__accept_existing_version_conflicts(void)
{
	struct fixture f;
	if (setup(&f, "{\"version\": \"1.0\"}"))
		goto out;
	sql_exec(f.c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at) VALUES "
		  "('" ID "', '1.0', 'published', '{}', '', 'x')");
	check(decide(&f, 1, NULL, 0) == BO_ECONFLICT, "accept of an existing version: %d %s", f.err.code, f.err.detail);
	check(strstr(f.err.detail, "'1.0'") != NULL, "detail names the version: %s", f.err.detail);
	check(sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'publish'") == 0, "no publish job");
	check(sql_int(f.c, "SELECT count(*) FROM drafts WHERE state = 'awaiting review'") == 1, "state unchanged");
out:
	teardown(&f);
}

static void test_review__failed_tests_need_acknowledgement(void)
{
	struct fixture f;
	if (setup(&f, "{}"))
		goto out;
	sql_exec(f.c, "INSERT INTO test_runs(concept_id, revision_or_version, kind, weight_format, tool, tool_version, status) "
		  "VALUES ('" ID "', '1', 'dynamic', 'onnx', 'w', '0', 'failed'),"
		  "('" ID "', '1', 'dynamic', 'torchscript', 'w', '0', 'passed')");
	check(decide(&f, 1, NULL, 0) == BO_ETESTSFAILED, "unacknowledged: %d", f.err.code);
	check(strstr(f.err.detail, "acknowledge_failed_tests") != NULL, "detail: %s", f.err.detail);
	check(decide(&f, 1, "ok despite onnx", 1) == 0, "acknowledged: %s", f.err.detail);
	check(sql_int(f.c, "SELECT count(*) FROM drafts WHERE state = 'accepted'") == 1, "accepted");
	check(sql_int(f.c, "SELECT count(*) FROM events WHERE kind = 'review' AND "
			 "json_extract(details_json, '$.acknowledge_failed_tests') = 1 AND "
			 "json_extract(details_json, '$.failed_dynamic_tests') = 1") == 1,
	      "the acknowledgement is recorded");
	check(sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'publish' AND "
			 "json_extract(payload_json, '$.version') = '1' AND json_extract(payload_json, '$.reviewer') = 7") == 1,
	      "a publish job for version 1");
	check(sql_int(f.c, "SELECT count(*) FROM chat WHERE text = 'ok despite onnx' AND author_id = 7") == 1, "chat");
	/* accepted: nothing more to decide */
	check(decide(&f, 1, NULL, 1) == BO_ECONFLICT, "accept twice");
	check(decide(&f, 0, "late", 0) == BO_ECONFLICT, "request changes after accept");
out:
	teardown(&f);
}

static void test_review__static_failure_blocks_accept(void)
{
	struct fixture f;
	if (setup(&f, "{}"))
		goto out;
	sql_exec(f.c, "UPDATE test_runs SET status = 'failed' WHERE kind = 'static'");
	check(decide(&f, 1, NULL, 1) == BO_ETESTSFAILED, "static failure: %d", f.err.code);
	check(decide(&f, 0, "", 0) == BO_EBADREQUEST, "empty message");
	check(f.err.errors && cJSON_GetArraySize(f.err.errors) == 1, "errors[] names the field");
	check(decide(&f, 0, "Fix the license.", 0) == 0, "request changes: %s", f.err.detail);
	/* the message is the chat's (private) and the mail's; the public state only says so */
	check(sql_int(f.c, "SELECT count(*) FROM drafts WHERE state = 'changes requested' AND "
			   "state_detail LIKE 'a reviewer asked for changes%' AND instr(state_detail, 'license') = 0") == 1,
	      "changes requested, with the message kept out of the public state");
	check(sql_int(f.c, "SELECT count(*) FROM chat WHERE text = 'Fix the license.'") == 1, "the message is in the chat");
	check(sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'mail' AND payload_json LIKE '%Fix the license.%'") == 1,
	      "the message is not in the uploader's mail");
	check(decide(&f, 0, "again", 0) == BO_ECONFLICT, "request changes twice");
out:
	teardown(&f);
}

static struct check_test tests[] = {
	TEST(test_review__pick_version),
	TEST(test_review__accept_existing_version_conflicts),
	TEST(test_review__failed_tests_need_acknowledgement),
	TEST(test_review__static_failure_blocks_accept),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for drafts, the one owner of the drafts and test_runs tables, on a real
 * migrated database: a revision written and read back (and replaced by the next one),
 * states as an enum with names, the runs of a revision from queued to a verdict, the
 * review queue and the resource listing with their filters. */
#include "check.h"
#include "sql_check.h"

#include "infra/db.h"
#include "domain/drafts.h"
#include "common/error.h"

#include <cjson/cJSON.h>

struct fixture {
	db *d;
	sqlite3 *c;
	struct bo_error err;
};

static int setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	int rc = db_open(&f->d, "t.db", check_src("migrations"), &f->err);
	check(rc == 0, "db_open: %s", f->err.detail);
	if (!rc)
		rc = db_acquire(f->d, &f->c, &f->err);
	if (rc)
		return rc;
	sql_exec(f->c, "INSERT INTO users(id, name, email, role, created_at) VALUES "
		       "(1, 'Ada', 'ada@example.org', 'uploader', '2024-01-01T00:00:00.000Z'), "
		       "(2, 'Bob', 'bob@example.org', 'uploader', '2024-01-01T00:00:00.000Z')");
	sql_exec(f->c, "UPDATE users SET disabled = 1 WHERE id = 2");
	sql_exec(f->c, "INSERT INTO concepts(id, type, created_at, created_by) VALUES "
		       "('affable-shark', 'model', '2024-01-02T00:00:00.000Z', 1), "
		       "('ambrosial-apple', 'dataset', '2024-01-03T00:00:00.000Z', 2), "
		       "('lonely-concept', 'model', '2024-01-01T00:00:00.000Z', 1)");
	return 0;
}

static void teardown(struct fixture *f)
{
	if (f->c)
		db_release(f->d, f->c);
	db_close(f->d);
	bo_error_cleanup(&f->err);
}

static int put(struct fixture *f, const char *id, int revision, int64_t uploader, const char *rdf_json)
{
	const struct draft_revision r = {.concept_id = id,
					 .revision = revision,
					 .uploader_id = uploader,
					 .package_sha256 = "ab12",
					 .package_size = 908,
					 .package_path = "/var/incoming/x.zip",
					 .rdf_name = "pkg/rdf.yaml",
					 .rdf_json = rdf_json};
	int rc = drafts_put_revision(f->c, &r, &f->err);
	check(rc == 0, "put %s r%d: %s", id, revision, f->err.detail);
	return rc;
}

static void test_drafts__state_names(void)
{
	static const char *names[] = {"unpacking",         "unpacked", "testing",   "awaiting review",
				      "changes requested", "accepted", "published", "error"};
	check(DRAFT_NUM_STATES == sizeof(names) / sizeof(names[0]), "%d states", DRAFT_NUM_STATES);
	for (int i = 0; i < DRAFT_NUM_STATES; i++) {
		enum draft_state s;
		check(!strcmp(drafts_state_name((enum draft_state)i), names[i]), "name of %d: %s", i,
		      drafts_state_name((enum draft_state)i));
		check(drafts_state_parse(names[i], &s) == 0 && (int)s == i, "parse %s", names[i]);
	}
	enum draft_state s;
	check(drafts_state_parse("Testing", &s) == -1, "parse is case-sensitive");
	check(drafts_state_parse("awaiting_review", &s) == -1, "underscore spelling parsed");
	check(drafts_state_parse("", &s) == -1 && drafts_state_parse(NULL, &s) == -1, "empty or NULL parsed");
	check(!strcmp(drafts_state_name(DRAFT_NUM_STATES), "?"), "out of range has a name");
}

static void test_drafts__revision_roundtrip(void)
{
	struct fixture f;
	struct draft d = {0};
	int found = -1, rev = 0;
	enum draft_state st;
	if (setup(&f))
		goto out;
	check(drafts_get(f.c, "affable-shark", 0, &d, &found, &f.err) == 0 && found == 0, "a draft before the upload");
	if (put(&f, "affable-shark", 1, 1, "{\"name\":\"Shark\",\"format_version\":\"0.5.3\"}"))
		goto out;
	require(drafts_get(f.c, "affable-shark", DRAFTS_WITH_RDF, &d, &found, &f.err) == 0 && found, "get: %s",
		f.err.detail);
	check(d.revision == 1 && d.state == DRAFT_UNPACKING, "r%d %s", d.revision, drafts_state_name(d.state));
	check(!strcmp(d.type, "model") && !strcmp(d.name, "Shark") && !strcmp(d.format_version, "0.5.3"),
	      "type %s name %s fv %s", d.type, d.name, d.format_version);
	check(d.uploader_id == 1 && !strcmp(d.uploader_name, "Ada") && !strcmp(d.uploader_email, "ada@example.org"),
	      "uploader %lld %s %s", (long long)d.uploader_id, d.uploader_name, d.uploader_email);
	check(!strcmp(d.package_sha256, "ab12") && d.package_size == 908 && !strcmp(d.rdf_name, "pkg/rdf.yaml"),
	      "package");
	check(d.rdf_json && strstr(d.rdf_json, "Shark"), "rdf_json %s", d.rdf_json ? d.rdf_json : "(null)");
	check(!strcmp(d.state_detail, ""), "detail '%s'", d.state_detail);
	drafts_release(&d);
	require(drafts_get(f.c, "affable-shark", 0, &d, &found, &f.err) == 0 && found, "get");
	check(d.rdf_json == NULL, "the RDF read without DRAFTS_WITH_RDF");
	drafts_release(&d);

	/* a state change is the row's, and only at the current revision */
	check(drafts_set_state(f.c, "affable-shark", 1, DRAFT_ERROR, "bad zip: fix it", &f.err) == 0, "set");
	check(drafts_state(f.c, "affable-shark", &rev, &st, &found, &f.err) == 0 && found && rev == 1 &&
		      st == DRAFT_ERROR,
	      "state %s", drafts_state_name(st));
	sql_expect_text(f.c, "SELECT state_detail FROM drafts", "bad zip: fix it");
	check(drafts_set_rdf(f.c, "affable-shark", 1, "{\"name\":\"Stamped\"}", &f.err) == 0, "set rdf");
	sql_expect_text(f.c, "SELECT json_extract(rdf_json, '$.name') FROM drafts", "Stamped");

	/* the next revision replaces the row: back to unpacking, by its uploader (disabled: no mail) */
	if (put(&f, "affable-shark", 2, 2, "not json {"))
		goto out;
	require(drafts_get(f.c, "affable-shark", 0, &d, &found, &f.err) == 0 && found, "get r2: %s", f.err.detail);
	check(d.revision == 2 && d.state == DRAFT_UNPACKING && !strcmp(d.state_detail, ""), "r%d %s '%s'", d.revision,
	      drafts_state_name(d.state), d.state_detail);
	check(!strcmp(d.uploader_email, "") && !strcmp(d.uploader_name, "Bob"), "a disabled uploader's address: '%s'",
	      d.uploader_email);
	check(!strcmp(d.name, ""), "a broken RDF has the name '%s'", d.name);
	drafts_release(&d);
	check(sql_int(f.c, "SELECT count(*) FROM drafts") == 1, "one row per concept");

	/* a state the schema does not know is a database error, never a guess */
	sql_exec(f.c, "PRAGMA ignore_check_constraints = 1; UPDATE drafts SET state = 'limbo'; "
		      "PRAGMA ignore_check_constraints = 0");
	check(drafts_state(f.c, "affable-shark", &rev, &st, &found, &f.err) == BO_EDATABASE && !found, "limbo read");
	check(strstr(f.err.detail, "limbo") != NULL, "detail '%s'", f.err.detail);
	bo_error_cleanup(&f.err);

	check(drafts_delete(f.c, "affable-shark", &f.err) == 0, "delete");
	check(drafts_state(f.c, "affable-shark", &rev, &st, &found, &f.err) == 0 && !found, "deleted draft found");
out:
	drafts_release(&d);
	teardown(&f);
}

static void test_drafts__runs(void)
{
	struct fixture f;
	struct draft_runs runs = {0};
	char status[32];
	int n = -1;
	if (setup(&f) || put(&f, "affable-shark", 3, 1, "{}"))
		goto out;
	check(drafts_run_static_status(f.c, "affable-shark", 3, status, sizeof(status), &f.err) == 0 && !status[0],
	      "static status before a verdict: '%s'", status);
	const struct draft_run_verdict bad = {.tool = "v", .tool_version = "1", .status = "failed",
					      .summary_json = "{\"status\":\"failed\"}", .started_at = "t0",
					      .finished_at = "t1"};
	const struct draft_run_verdict good = {.tool = "v", .tool_version = "2", .status = "passed",
					       .summary_json = "{\"status\":\"passed\"}", .started_at = "t2",
					       .finished_at = "t3"};
	check(drafts_run_record_static(f.c, "affable-shark", 3, &bad, &f.err) == 0, "static 1");
	check(drafts_run_record_static(f.c, "affable-shark", 3, &good, &f.err) == 0, "static 2");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE kind = 'static'") == 1, "a second static verdict added a run");
	check(drafts_run_static_status(f.c, "affable-shark", 3, status, sizeof(status), &f.err) == 0 &&
		      !strcmp(status, "passed"),
	      "static status '%s'", status);

	check(drafts_run_queue_dynamic(f.c, "affable-shark", 3, "onnx", "w", "1", &f.err) == 0 &&
		      drafts_run_queue_dynamic(f.c, "affable-shark", 3, "torchscript", "w", "1", &f.err) == 0,
	      "queue: %s", f.err.detail);
	check(drafts_runs_unfinished(f.c, "affable-shark", 3, &n, &f.err) == 0 && n == 2, "unfinished %d", n);
	check(drafts_run_start(f.c, "affable-shark", 3, "onnx", "t4", &f.err) == 0, "start");
	check(drafts_run_dynamic_status(f.c, "affable-shark", 3, "onnx", status, sizeof(status), &f.err) == 0 &&
		      !strcmp(status, "running"),
	      "onnx '%s'", status);
	const struct draft_run_verdict done = {.tool = "w", .tool_version = "1", .status = "failed",
					       .summary_json = "{\"status\":\"failed\"}", .finished_at = "t5"};
	check(drafts_run_finish(f.c, "affable-shark", 3, "onnx", &done, &f.err) == 0, "finish");
	sql_expect_text(f.c, "SELECT started_at || ' ' || finished_at FROM test_runs WHERE weight_format = 'onnx'",
			"t4 t5");
	check(drafts_runs_unfinished(f.c, "affable-shark", 3, &n, &f.err) == 0 && n == 1, "unfinished %d", n);
	/* other revisions' runs are theirs */
	check(drafts_runs_unfinished(f.c, "affable-shark", 2, &n, &f.err) == 0 && n == 0, "revision 2 has %d", n);

	require(drafts_runs_list(f.c, "affable-shark", 3, &runs, &f.err) == 0, "list: %s", f.err.detail);
	check(runs.n == 3, "%zu runs", runs.n);
	if (runs.n == 3) {
		check(!strcmp(runs.v[0].kind, "static") && !strcmp(runs.v[0].status, "passed") &&
			      !strcmp(runs.v[0].tool_version, "2") && runs.v[0].summary_json,
		      "static run %s %s", runs.v[0].kind, runs.v[0].status);
		check(!strcmp(runs.v[1].weight_format, "onnx") && !strcmp(runs.v[1].status, "failed"), "run 1 %s %s",
		      runs.v[1].weight_format, runs.v[1].status);
		check(!strcmp(runs.v[2].weight_format, "torchscript") && !strcmp(runs.v[2].status, "queued") &&
			      runs.v[2].summary_json == NULL,
		      "run 2 %s %s", runs.v[2].weight_format, runs.v[2].status);
	}
	check(drafts_runs_clear_dynamic(f.c, "affable-shark", 3, &f.err) == 0, "clear");
	check(sql_int(f.c, "SELECT count(*) FROM test_runs") == 1, "clear kept %lld runs (the static one only)",
	      sql_int(f.c, "SELECT count(*) FROM test_runs"));
out:
	drafts_runs_free(&runs);
	teardown(&f);
}

static void test_drafts__listings(void)
{
	struct fixture f;
	cJSON *items = cJSON_CreateArray(), *res = cJSON_CreateArray();
	int n = -1;
	if (setup(&f) || put(&f, "affable-shark", 1, 1, "{\"name\":\"Great Shark\"}") ||
	    put(&f, "ambrosial-apple", 1, 1, "{\"name\":\"Apples\"}"))
		goto out;
	sql_exec(f.c, "UPDATE drafts SET state = 'awaiting review', updated_at = '2024-02-0' || "
		      "(CASE concept_id WHEN 'affable-shark' THEN '2' ELSE '1' END) || 'T00:00:00.000Z'");
	const struct draft_run_verdict ok = {.tool = "v", .tool_version = "1", .status = "passed", .summary_json = "{}"};
	check(drafts_run_record_static(f.c, "affable-shark", 1, &ok, &f.err) == 0, "static");
	check(drafts_run_queue_dynamic(f.c, "affable-shark", 1, "onnx", "w", "1", &f.err) == 0, "dynamic");
	require(drafts_list_awaiting(f.c, items, &f.err) == 0, "queue: %s", f.err.detail);
	require(cJSON_GetArraySize(items) == 2, "%d in the queue", cJSON_GetArraySize(items));
	cJSON *first = cJSON_GetArrayItem(items, 0), *second = cJSON_GetArrayItem(items, 1);
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "id")), "ambrosial-apple"), "oldest first");
	check(cJSON_IsNull(cJSON_GetObjectItem(first, "validation")), "no verdict is null");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(second, "validation")), "passed"), "verdict");
	check(cJSON_GetArraySize(cJSON_GetObjectItem(second, "tests")) == 1, "tests");
	check(cJSON_GetNumberValue(cJSON_GetObjectItem(second, "age_seconds")) > 0, "age");

	/* changes requested: listed apart, and no longer in the queue */
	sql_exec(f.c, "UPDATE drafts SET state = 'changes requested' WHERE concept_id = 'affable-shark'");
	cJSON *waiting = cJSON_CreateArray(), *queue = cJSON_CreateArray();
	check(drafts_list_in_state(f.c, DRAFT_CHANGES_REQUESTED, waiting, &f.err) == 0, "waiting: %s", f.err.detail);
	check(drafts_list_awaiting(f.c, queue, &f.err) == 0, "queue again");
	check(cJSON_GetArraySize(waiting) == 1 &&
		      !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(waiting, 0), "id")), "affable-shark"),
	      "changes requested: %d", cJSON_GetArraySize(waiting));
	check(cJSON_GetArraySize(queue) == 1, "%d still awaiting review", cJSON_GetArraySize(queue));
	cJSON_Delete(waiting);
	cJSON_Delete(queue);
	sql_exec(f.c, "UPDATE drafts SET state = 'awaiting review' WHERE concept_id = 'affable-shark'");

	check(drafts_count_in_flight(f.c, 1, &n, &f.err) == 0 && n == 2, "in flight %d", n);
	sql_exec(f.c, "UPDATE drafts SET state = 'error' WHERE concept_id = 'ambrosial-apple'");
	check(drafts_count_in_flight(f.c, 1, &n, &f.err) == 0 && n == 1, "in flight after an error %d", n);

	struct drafts_filter all = {.limit = 10};
	require(drafts_list_resources(f.c, &all, res, &f.err) == 0, "list: %s", f.err.detail);
	check(cJSON_GetArraySize(res) == 3, "%d resources", cJSON_GetArraySize(res));
	cJSON *lonely = cJSON_GetArrayItem(res, 2);
	check(cJSON_IsNull(cJSON_GetObjectItem(lonely, "draft")) && cJSON_IsNull(cJSON_GetObjectItem(lonely, "name")),
	      "a concept without a draft");
	cJSON_Delete(res);
	res = cJSON_CreateArray();
	struct drafts_filter by_name = {.q = "SHARK", .limit = 10};
	require(drafts_list_resources(f.c, &by_name, res, &f.err) == 0, "list q");
	check(cJSON_GetArraySize(res) == 1 &&
		      !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "id")), "affable-shark"),
	      "q matches the name case-insensitively");
	cJSON_Delete(res);
	res = cJSON_CreateArray();
	struct drafts_filter by_state = {.state = "error", .type = "dataset", .limit = 10};
	require(drafts_list_resources(f.c, &by_state, res, &f.err) == 0, "list state");
	check(cJSON_GetArraySize(res) == 1, "state and type filter: %d", cJSON_GetArraySize(res));

	/* the version row of a publish: the draft's RDF, once */
	check(drafts_snapshot_version(f.c, "affable-shark", "1", &f.err) == 0, "snapshot");
	check(drafts_snapshot_version(f.c, "affable-shark", "1", &f.err) == 0, "snapshot again");
	sql_expect_text(f.c, "SELECT state || ' ' || revision || ' ' || json_extract(rdf_json, '$.name') FROM versions",
			"publishing 1 Great Shark");
	check(sql_int(f.c, "SELECT count(*) FROM versions") == 1, "versions");
out:
	cJSON_Delete(items);
	cJSON_Delete(res);
	teardown(&f);
}

static void test_drafts__concept(void)
{
	struct fixture f;
	struct drafts_concept k = {0};
	int found = -1;
	if (setup(&f) || put(&f, "affable-shark", 4, 1, "{}"))
		goto out;
	require(drafts_get_concept(f.c, "lonely-concept", &k, &found, &f.err) == 0 && found, "lonely");
	check(!k.has_draft && !strcmp(k.type, "model") && !strcmp(k.concept_doi, ""), "lonely %d %s", k.has_draft,
	      k.type);
	drafts_concept_release(&k);
	sql_exec(f.c, "UPDATE concepts SET concept_doi = '10.5281/zenodo.1' WHERE id = 'affable-shark'");
	require(drafts_get_concept(f.c, "affable-shark", &k, &found, &f.err) == 0 && found, "shark");
	check(k.has_draft && k.revision == 4 && k.state == DRAFT_UNPACKING && !strcmp(k.concept_doi, "10.5281/zenodo.1"),
	      "shark %d r%d %s", k.has_draft, k.revision, k.concept_doi);
	drafts_concept_release(&k);
	check(drafts_get_concept(f.c, "no-such-thing", &k, &found, &f.err) == 0 && !found, "unknown concept found");
out:
	drafts_concept_release(&k);
	teardown(&f);
}

struct each_seen {
	int n, stop_at;
	char ids[4][64], sha[4][70], versions[4][64];
	int64_t created_by[4];
};

static int each_one(void *ctx, const struct drafts_row *r, struct bo_error *err)
{
	struct each_seen *s = ctx;
	(void)err;
	if (s->n < 4) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", r->concept_id);
		snprintf(s->sha[s->n], sizeof(s->sha[0]), "%s", r->rdf_sha256);
		snprintf(s->versions[s->n], sizeof(s->versions[0]), "%s", r->versions_json);
		s->created_by[s->n] = r->created_by;
	}
	return ++s->n == s->stop_at ? BO_ECONFLICT : 0;
}

static void test_drafts__each(void)
{
	struct fixture f;
	struct each_seen seen = {0};
	if (setup(&f) || put(&f, "ambrosial-apple", 1, 2, "{}") || put(&f, "affable-shark", 1, 1, "{}"))
		goto out;
	sql_exec(f.c, "INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) VALUES "
		      "('affable-shark', 'draft', 'rdf.yaml', 3, 'aaaa', 'application/yaml')");
	sql_exec(f.c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at, "
		      "revision) VALUES ('affable-shark', '1', 'published', '{}', '', '2024-01-01', '2024-01-01', 1), "
		      "('affable-shark', '2', 'published', '{}', '', '2024-02-01', '2024-02-01', 1), "
		      "('affable-shark', '3', 'publishing', '{}', '', '2024-03-01', NULL, 1)");
	require(drafts_each(f.c, each_one, &seen, &f.err) == 0, "each: %s", f.err.detail);
	check(seen.n == 2, "%d drafts", seen.n);
	check(!strcmp(seen.ids[0], "affable-shark") && !strcmp(seen.ids[1], "ambrosial-apple"), "id order: %s %s",
	      seen.ids[0], seen.ids[1]);
	check(!strcmp(seen.sha[0], "aaaa") && !strcmp(seen.sha[1], ""), "rdf sha256 '%s' '%s'", seen.sha[0], seen.sha[1]);
	check(!strcmp(seen.versions[0], "[\"2\",\"1\"]") && !strcmp(seen.versions[1], "[]"),
	      "published versions %s %s", seen.versions[0], seen.versions[1]);
	check(seen.created_by[1] == 2, "created_by %lld", (long long)seen.created_by[1]);
	/* a callback's failure stops the walk and is returned */
	struct each_seen stop = {.stop_at = 1};
	check(drafts_each(f.c, each_one, &stop, &f.err) == BO_ECONFLICT && stop.n == 1, "stop: rc and %d calls", stop.n);
out:
	teardown(&f);
}

static struct check_test tests[] = {
	TEST(test_drafts__each),
	TEST(test_drafts__state_names), TEST(test_drafts__revision_roundtrip), TEST(test_drafts__runs),
	TEST(test_drafts__listings),    TEST(test_drafts__concept),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

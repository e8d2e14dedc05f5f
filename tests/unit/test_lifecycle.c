/* Unit tests for lifecycle: the states of DESIGN §5 with their steps and icons, allowed
 * and refused transitions, lifecycle_transition on a real migrated database (events row
 * in the same transaction, stale revision, refused transition, no draft), the status
 * object and draft.json. */
#include "check.h"

#include "app.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "jobs.h"
#include "lifecycle.h"
#include "storage.h"

#include <cjson/cJSON.h>

struct want_state {
	const char *name;
	int step;
	const char *icon;
};

static const struct want_state want_states[] = {
	{"unpacking", 1, "📦"},         {"unpacked", 2, "⏳"},  {"testing", 3, "🧪"},
	{"awaiting review", 4, "🧐"},   {"changes requested", 5, "🔧"},
	{"accepted", 5, "👍"},          {"published", 6, "🎉"}, {"error", 0, "🔴"},
};
#define NSTATES (sizeof(want_states) / sizeof(want_states[0]))

static void test_lifecycle__states(void)
{
	for (size_t i = 0; i < NSTATES; i++) {
		const struct lifecycle_state *s = lifecycle_state_find(want_states[i].name);
		require(s, "state '%s' missing", want_states[i].name);
		check(!strcmp(s->name, want_states[i].name), "name %s", s->name);
		check(s->step == want_states[i].step, "%s: step %d, want %d", s->name, s->step, want_states[i].step);
		check(!strcmp(s->icon, want_states[i].icon), "%s: icon %s, want %s", s->name, s->icon,
		      want_states[i].icon);
		check(s->description && s->description[0], "%s: no description", s->name);
		check(s->step >= 0 && s->step <= LIFECYCLE_NUM_STEPS, "%s: step out of range", s->name);
	}
	check(LIFECYCLE_NUM_STEPS == 6, "num steps %d", LIFECYCLE_NUM_STEPS);
	check(lifecycle_state_find("nope") == NULL, "unknown state found");
	check(lifecycle_state_find("") == NULL, "empty state found");
	check(lifecycle_state_find("Testing") == NULL, "state lookup is case-insensitive");
	check(lifecycle_state_find("awaiting_review") == NULL, "underscore spelling accepted");
}

static const char *const allowed[][2] = {
	{"unpacking", "unpacked"},
	{"unpacking", "error"},
	{"error", "unpacking"},
	{"error", "testing"},
	{"unpacked", "testing"},
	{"unpacked", "error"},
	{"testing", "awaiting review"},
	{"testing", "error"},
	{"awaiting review", "testing"},
	{"awaiting review", "changes requested"},
	{"awaiting review", "accepted"},
	{"changes requested", "accepted"},
	{"changes requested", "testing"},
	{"accepted", "published"},
	{"accepted", "error"},
	{"error", "accepted"},
};
#define NALLOWED (sizeof(allowed) / sizeof(allowed[0]))

static void test_lifecycle__transitions(void)
{
	/* the whole matrix: exactly the listed pairs are allowed */
	int n_allowed = 0;
	for (size_t i = 0; i < NSTATES; i++) {
		for (size_t j = 0; j < NSTATES; j++) {
			const char *from = want_states[i].name, *to = want_states[j].name;
			int want = 0;
			for (size_t k = 0; k < NALLOWED; k++)
				if (!strcmp(allowed[k][0], from) && !strcmp(allowed[k][1], to))
					want = 1;
			int got = lifecycle_allowed(from, to);
			check(got == want, "'%s' -> '%s': allowed %d, want %d", from, to, got, want);
			n_allowed += got;
		}
	}
	check(n_allowed == (int)NALLOWED, "%d transitions allowed, want %zu", n_allowed, NALLOWED);
	/* spot checks named by DESIGN §5 */
	check(!lifecycle_allowed("testing", "accepted"), "accept while testing");
	check(!lifecycle_allowed("unpacking", "accepted"), "accept while unpacking");
	check(!lifecycle_allowed("published", "unpacking"), "published is final");
	check(!lifecycle_allowed("accepted", "changes requested"), "accepted cannot go back to review");
	check(!lifecycle_allowed("nope", "unpacked"), "unknown from");
	check(!lifecycle_allowed("unpacking", "nope"), "unknown to");
}

struct fixture {
	db *d;
	sqlite3 *c;
	int64_t user_id;
	struct bo_error err;
};

static void exec(sqlite3 *c, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK)
		check(0, "%s: %s", sql, msg);
	sqlite3_free(msg);
}

static long long q_int(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *q_text(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = strdup(db_column_text(st, 0));
	sqlite3_finalize(st);
	return v ? v : strdup("<no row>");
}

static int setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	int rc = db_open(&f->d, "t.db", check_src("migrations"), &f->err);
	check(rc == 0, "db_open: %s", f->err.detail);
	if (rc)
		return rc;
	rc = db_acquire(f->d, &f->c, &f->err);
	check(rc == 0, "acquire");
	if (rc)
		return rc;
	exec(f->c, "INSERT INTO users(name, email, role, created_at) VALUES ('Ada', 'ada@example.org', 'uploader', "
		   "'2024-01-01T00:00:00.000Z')");
	f->user_id = sqlite3_last_insert_rowid(f->c);
	exec(f->c, "INSERT INTO concepts(id, type, created_at, created_by) VALUES ('affable-shark', 'model', "
		   "'2024-01-01T00:00:00.000Z', 1)");
	exec(f->c, "INSERT INTO concepts(id, type, created_at) VALUES ('lonely-concept', 'model', "
		   "'2024-01-01T00:00:00.000Z')");
	exec(f->c, "INSERT INTO drafts(concept_id, revision, state, uploader_id, package_sha256, package_size, "
		   "package_path, rdf_name, rdf_json, created_at, updated_at) VALUES ('affable-shark', 2, "
		   "'unpacking', 1, 'abc', 10, 'incoming/x.zip', 'rdf.yaml', '{}', '2024-01-01T00:00:00.000Z', "
		   "'2024-01-01T00:00:00.000Z')");
	return 0;
}

static void teardown(struct fixture *f)
{
	if (f->c)
		db_release(f->d, f->c);
	db_close(f->d);
	bo_error_cleanup(&f->err);
}

static void expect_state(sqlite3 *c, const char *want)
{
	char *s = q_text(c, "SELECT state FROM drafts WHERE concept_id='affable-shark'");
	check(!strcmp(s, want), "state '%s', want '%s'", s, want);
	free(s);
}

static void test_lifecycle__transition_writes_event_in_transaction(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	/* rolled back: neither the state nor the event remain */
	require(db_begin(f.c, &f.err) == 0, "begin");
	int rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, "unpacked", NULL, f.user_id, &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	expect_state(f.c, "unpacked");
	check(q_int(f.c, "SELECT count(*) FROM events") == 1, "event not written in the transaction");
	db_rollback(f.c);
	expect_state(f.c, "unpacking");
	check(q_int(f.c, "SELECT count(*) FROM events") == 0, "event survived the rollback");

	/* committed */
	require(db_begin(f.c, &f.err) == 0, "begin");
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, "unpacked", NULL, f.user_id, &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	require(db_commit(f.c, &f.err) == 0, "commit: %s", f.err.detail);
	expect_state(f.c, "unpacked");
	char *updated = q_text(f.c, "SELECT updated_at FROM drafts WHERE concept_id='affable-shark'");
	check(strcmp(updated, "2024-01-01T00:00:00.000Z"), "updated_at not changed");
	free(updated);
	check(q_int(f.c, "SELECT count(*) FROM events") == 1, "events %lld", q_int(f.c, "SELECT count(*) FROM events"));
	char *subject = q_text(f.c, "SELECT subject FROM events");
	char *kind = q_text(f.c, "SELECT kind FROM events");
	char *msg = q_text(f.c, "SELECT message FROM events");
	char *details = q_text(f.c, "SELECT details_json FROM events");
	char *concept = q_text(f.c, "SELECT concept_id FROM events");
	check(!strcmp(subject, "draft"), "subject %s", subject);
	check(!strcmp(kind, "state"), "kind %s", kind);
	check(!strcmp(concept, "affable-shark"), "concept %s", concept);
	check(strstr(msg, "unpacking") && strstr(msg, "unpacked"), "message '%s'", msg);
	check(q_int(f.c, "SELECT actor_id FROM events") == f.user_id, "actor_id");
	cJSON *dj = cJSON_Parse(details);
	check(dj != NULL, "details_json '%s' is not JSON", details);
	if (dj) {
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dj, "from")) ?: "", "unpacking"),
		      "details.from");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dj, "to")) ?: "", "unpacked"),
		      "details.to");
		check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(dj, "revision")) == 2, "details.revision");
	}
	cJSON_Delete(dj);
	free(subject);
	free(kind);
	free(msg);
	free(details);
	free(concept);

	/* system actor and a detail for error */
	require(db_begin(f.c, &f.err) == 0, "begin");
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, "error", "rdf.yaml is missing; add it and upload again",
				  0, &f.err);
	check(rc == 0, "to error: %s", f.err.detail);
	require(db_commit(f.c, &f.err) == 0, "commit");
	expect_state(f.c, "error");
	char *sd = q_text(f.c, "SELECT state_detail FROM drafts WHERE concept_id='affable-shark'");
	check(!strcmp(sd, "rdf.yaml is missing; add it and upload again"), "state_detail '%s'", sd);
	free(sd);
	check(q_int(f.c, "SELECT actor_id FROM events ORDER BY id DESC LIMIT 1") == -2, "system actor not NULL");
	char *m2 = q_text(f.c, "SELECT message FROM events ORDER BY id DESC LIMIT 1");
	check(strstr(m2, "rdf.yaml is missing") != NULL, "message '%s' lacks the detail", m2);
	free(m2);
out:
	teardown(&f);
}

static void test_lifecycle__transition_refusals(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	/* stale revision */
	int rc = lifecycle_transition(f.c, NULL, "affable-shark", 1, "unpacked", NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "stale revision rc %d", rc);
	check(strstr(f.err.detail, "revision 1") && strstr(f.err.detail, "2"), "detail '%s'", f.err.detail);
	bo_error_cleanup(&f.err);
	/* a future revision is just as stale */
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 3, "unpacked", NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "future revision rc %d", rc);
	bo_error_cleanup(&f.err);
	/* not allowed */
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, "published", NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "disallowed rc %d", rc);
	check(strstr(f.err.detail, "unpacking") && strstr(f.err.detail, "published"), "detail '%s' lacks the states",
	      f.err.detail);
	bo_error_cleanup(&f.err);
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, "no-such-state", NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "unknown target rc %d", rc);
	bo_error_cleanup(&f.err);
	/* no draft */
	rc = lifecycle_transition(f.c, NULL, "lonely-concept", 1, "unpacked", NULL, 0, &f.err);
	check(rc == BO_ENOTFOUND, "no draft rc %d", rc);
	check(strstr(f.err.detail, "lonely-concept") != NULL, "detail '%s'", f.err.detail);
	bo_error_cleanup(&f.err);
	rc = lifecycle_transition(f.c, NULL, "does-not-exist", 1, "unpacked", NULL, 0, &f.err);
	check(rc == BO_ENOTFOUND, "no concept rc %d", rc);
	bo_error_cleanup(&f.err);
	/* nothing changed, nothing logged */
	expect_state(f.c, "unpacking");
	check(q_int(f.c, "SELECT count(*) FROM events") == 0, "a refused transition wrote an event");

	/* a full path to published works step by step */
	const char *path[] = {"unpacked", "testing", "awaiting review", "changes requested", "testing",
			      "awaiting review", "accepted", "published"};
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, path[i], NULL, f.user_id, &f.err);
		check(rc == 0, "-> %s: %s", path[i], f.err.detail);
		bo_error_cleanup(&f.err);
	}
	expect_state(f.c, "published");
	check(q_int(f.c, "SELECT count(*) FROM events") == 8, "events %lld", q_int(f.c, "SELECT count(*) FROM events"));
out:
	teardown(&f);
}

static void test_lifecycle__status_json(void)
{
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.public_url = "https://bo.example.org";
	struct app a;
	memset(&a, 0, sizeof(a));
	a.cfg = &cfg;
	for (size_t i = 0; i < NSTATES; i++) {
		cJSON *o = lifecycle_status_json(&a, "affable-shark", want_states[i].name, "", "2024-05-01T10:00:00.000Z");
		require(o, "status of %s is NULL", want_states[i].name);
		const struct lifecycle_state *s = lifecycle_state_find(want_states[i].name);
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name")), want_states[i].name),
		      "name");
		check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "step")) == want_states[i].step, "step");
		check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "num_steps")) == 6, "num_steps");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "icon")), want_states[i].icon),
		      "icon");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "description")), s->description),
		      "description");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "timestamp")),
			      "2024-05-01T10:00:00.000Z"),
		      "timestamp");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "run_url")),
			      "https://bo.example.org/status/affable-shark"),
		      "run_url %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "run_url")));
		/* 7 members; error has the reference's message, traceback and during too */
		int want = !strcmp(want_states[i].name, "error") ? 10 : 7;
		check(cJSON_GetArraySize(o) == want, "%s: %d members, want %d", want_states[i].name, cJSON_GetArraySize(o),
		      want);
		cJSON_Delete(o);
	}
	cJSON *o = lifecycle_status_json(&a, "affable-shark", "error", "bad zip: fix and upload again", "t");
	require(o, "error status NULL");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "description")),
		      "bad zip: fix and upload again"),
	      "detail did not replace the description");
	/* the reference's ErrorStatus fields */
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "message")) ?: "",
		      "bad zip: fix and upload again") &&
		      cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "traceback")) &&
		      cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "during")),
	      "error status without message, traceback, during");
	cJSON_Delete(o);
	o = lifecycle_status_json(&a, "affable-shark", "testing", NULL, "t");
	check(o != NULL, "NULL detail refused");
	check(!cJSON_HasObjectItem(o, "message") && !cJSON_HasObjectItem(o, "during"), "error fields on another state");
	cJSON_Delete(o);
	check(lifecycle_status_json(&a, "affable-shark", "bogus", "", "t") == NULL, "unknown state gave a status");
}

/* the draft-json job: writes the committed row; a transition enqueues it (once while
 * queued); a draft that is gone is done, not an error */
static void test_lifecycle__draft_json_job(void)
{
	struct fixture f;
	struct config *cfg = NULL;
	storage *st = NULL;
	char *text = NULL;
	cJSON *doc = NULL;
	if (setup(&f))
		goto out;
	char *args[] = {"--storage-dir=st", "--public-url=http://pub.example:1/", NULL};
	require(config_load(&cfg, 2, args, NULL, NULL, &f.err) == 0, "config: %s", f.err.detail);
	if (storage_open(&st, cfg, &f.err))
		check(0, "storage_open: %s", f.err.detail);
	if (!st)
		goto out;
	struct app a;
	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	a.storage = st;
	a.db = f.d;
	struct job job = {.id = 1, .kind = "draft-json", .subject = "affable-shark"};
	int rc = lifecycle_draft_json_run(&a, &job, &f.err);
	check(rc == 0, "write: %s", f.err.detail);
	size_t len = 0;
	rc = storage_get_buffer(st, "affable-shark/draft/draft.json", 1 << 20, &text, &len, &f.err);
	check(rc == 0, "read back: %s", f.err.detail);
	doc = text ? cJSON_Parse(text) : NULL;
	check(doc != NULL, "draft.json is not JSON");
	if (doc) {
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "name")) ?: "", "unpacking"),
		      "status.name");
		check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(status, "step")) == 1, "status.step");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(status, "run_url")) ?: "",
			      "http://pub.example:1/status/affable-shark"),
		      "run_url");
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "created")) ?: "",
			      "2024-01-01T00:00:00.000Z"),
		      "created");
	}
	struct job gone = {.id = 2, .kind = "draft-json", .subject = "lonely-concept"};
	rc = lifecycle_draft_json_run(&a, &gone, &f.err);
	check(rc == 0 && f.err.code == 0, "no draft: rc %d %s", rc, f.err.detail);
	check(storage_head(st, "lonely-concept/draft/draft.json", &(struct storage_stat){0}, &f.err) == BO_ENOTFOUND,
	      "a draft.json for a concept without a draft");
	bo_error_cleanup(&f.err);
	/* two transitions in one transaction: one queued job, written after the commit */
	exec(f.c, "DELETE FROM jobs");
	require(db_begin(f.c, &f.err) == 0, "%s", f.err.detail);
	rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, "unpacked", NULL, 0, &f.err);
	if (!rc)
		rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, "testing", NULL, 0, &f.err);
	check(rc == 0, "transitions: %s", f.err.detail);
	check(db_commit(f.c, &f.err) == 0, "%s", f.err.detail);
	check(q_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'draft-json' AND subject = 'affable-shark' "
			 "AND state = 'queued'") == 1, "draft-json jobs queued: %lld",
	      q_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'draft-json'"));
out:
	cJSON_Delete(doc);
	free(text);
	storage_free(st);
	config_free(cfg);
	teardown(&f);
}

static struct check_test tests[] = {
	TEST(test_lifecycle__states),
	TEST(test_lifecycle__transitions),
	TEST(test_lifecycle__transition_writes_event_in_transaction),
	TEST(test_lifecycle__transition_refusals),
	TEST(test_lifecycle__status_json),
	TEST(test_lifecycle__draft_json_job),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

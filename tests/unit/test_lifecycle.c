/* Unit tests for lifecycle: the states of DESIGN §5 with their steps and icons, allowed
 * and refused transitions, lifecycle_transition on a real migrated database (events row
 * in the same transaction, stale revision, refused transition, no draft), the status
 * object and draft.json. */
#include "check.h"
#include "sql_check.h"

#include "app.h"
#include "infra/config.h"
#include "infra/db.h"
#include "common/error.h"
#include "domain/drafts.h"
#include "infra/jobs.h"
#include "pipeline/lifecycle.h"
#include "infra/storage.h"

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

/* The state named name; DRAFT_NUM_STATES (which no function accepts) for a name that is
 * none. */
static enum draft_state S(const char *name)
{
	enum draft_state s;
	return drafts_state_parse(name, &s) ? DRAFT_NUM_STATES : s;
}

static const struct lifecycle_state *find(const char *name) { return lifecycle_state_of(S(name)); }

static void test_lifecycle__states(void)
{
	for (size_t i = 0; i < NSTATES; i++) {
		const struct lifecycle_state *s = find(want_states[i].name);
		require(s, "state '%s' missing", want_states[i].name);
		check(!strcmp(s->name, want_states[i].name), "name %s", s->name);
		check(s->step == want_states[i].step, "%s: step %d, want %d", s->name, s->step, want_states[i].step);
		check(!strcmp(s->icon, want_states[i].icon), "%s: icon %s, want %s", s->name, s->icon,
		      want_states[i].icon);
		check(s->description && s->description[0], "%s: no description", s->name);
		check(s->step >= 0 && s->step <= LIFECYCLE_NUM_STEPS, "%s: step out of range", s->name);
	}
	check(LIFECYCLE_NUM_STEPS == 6, "num steps %d", LIFECYCLE_NUM_STEPS);
	check(find("nope") == NULL, "unknown state found");
	check(find("") == NULL, "empty state found");
	check(find("Testing") == NULL, "state lookup is case-insensitive");
	check(find("awaiting_review") == NULL, "underscore spelling accepted");
}

static const char *const allowed[][2] = {
	{"unpacking", "unpacked"},
	{"unpacking", "error"},
	{"error", "unpacking"},
	{"error", "testing"},
	{"unpacked", "testing"},
	{"unpacked", "error"},
	{"testing", "awaiting review"},
	{"testing", "changes requested"},
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
			int got = lifecycle_allowed(S(from), S(to));
			check(got == want, "'%s' -> '%s': allowed %d, want %d", from, to, got, want);
			n_allowed += got;
		}
	}
	check(n_allowed == (int)NALLOWED, "%d transitions allowed, want %zu", n_allowed, NALLOWED);
	/* spot checks named by DESIGN §5 */
	check(!lifecycle_allowed(S("testing"), S("accepted")), "accept while testing");
	check(!lifecycle_allowed(S("unpacking"), S("accepted")), "accept while unpacking");
	check(!lifecycle_allowed(S("published"), S("unpacking")), "published is final");
	check(!lifecycle_allowed(S("accepted"), S("changes requested")), "accepted cannot go back to review");
	check(!lifecycle_allowed(S("nope"), S("unpacked")), "unknown from");
	check(!lifecycle_allowed(S("unpacking"), S("nope")), "unknown to");
}

struct fixture {
	db *d;
	sqlite3 *c;
	int64_t user_id;
	struct bo_error err;
};




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
	sql_exec(f->c, "INSERT INTO users(name, email, role, created_at) VALUES ('Ada', 'ada@example.org', 'uploader', "
		   "'2024-01-01T00:00:00.000Z')");
	f->user_id = sqlite3_last_insert_rowid(f->c);
	sql_exec(f->c, "INSERT INTO concepts(id, type, created_at, created_by) VALUES ('affable-shark', 'model', "
		   "'2024-01-01T00:00:00.000Z', 1)");
	sql_exec(f->c, "INSERT INTO concepts(id, type, created_at) VALUES ('lonely-concept', 'model', "
		   "'2024-01-01T00:00:00.000Z')");
	sql_exec(f->c, "INSERT INTO drafts(concept_id, revision, state, uploader_id, package_sha256, package_size, "
		   "package_path, rdf_name, rdf_json, created_at, updated_at) VALUES ('affable-shark', 2, "
		   "'unpacking', 1, 'abc', 10, 'incoming/x.zip', 'rdf.yaml', "
		   "'{\"type\":\"model\",\"weights\":{\"onnx\":{\"source\":\"w.onnx\"}}}', '2024-01-01T00:00:00.000Z', "
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
	char *s = sql_text(c, "SELECT state FROM drafts WHERE concept_id='affable-shark'");
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
	int rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, S("unpacked"), NULL, f.user_id, &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	expect_state(f.c, "unpacked");
	check(sql_int(f.c, "SELECT count(*) FROM events") == 1, "event not written in the transaction");
	db_rollback(f.c);
	expect_state(f.c, "unpacking");
	check(sql_int(f.c, "SELECT count(*) FROM events") == 0, "event survived the rollback");

	/* committed */
	require(db_begin(f.c, &f.err) == 0, "begin");
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, S("unpacked"), NULL, f.user_id, &f.err);
	check(rc == 0, "transition: %s", f.err.detail);
	require(db_commit(f.c, &f.err) == 0, "commit: %s", f.err.detail);
	expect_state(f.c, "unpacked");
	char *updated = sql_text(f.c, "SELECT updated_at FROM drafts WHERE concept_id='affable-shark'");
	check(strcmp(updated, "2024-01-01T00:00:00.000Z"), "updated_at not changed");
	free(updated);
	check(sql_int(f.c, "SELECT count(*) FROM events") == 1, "events %lld", sql_int(f.c, "SELECT count(*) FROM events"));
	char *subject = sql_text(f.c, "SELECT subject FROM events");
	char *kind = sql_text(f.c, "SELECT kind FROM events");
	char *msg = sql_text(f.c, "SELECT message FROM events");
	char *details = sql_text(f.c, "SELECT details_json FROM events");
	char *concept = sql_text(f.c, "SELECT concept_id FROM events");
	check(!strcmp(subject, "draft"), "subject %s", subject);
	check(!strcmp(kind, "state"), "kind %s", kind);
	check(!strcmp(concept, "affable-shark"), "concept %s", concept);
	check(strstr(msg, "unpacking") && strstr(msg, "unpacked"), "message '%s'", msg);
	check(sql_int(f.c, "SELECT actor_id FROM events") == f.user_id, "actor_id");
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
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, S("error"), "rdf.yaml is missing; add it and upload again",
				  0, &f.err);
	check(rc == 0, "to error: %s", f.err.detail);
	require(db_commit(f.c, &f.err) == 0, "commit");
	expect_state(f.c, "error");
	char *sd = sql_text(f.c, "SELECT state_detail FROM drafts WHERE concept_id='affable-shark'");
	check(!strcmp(sd, "rdf.yaml is missing; add it and upload again"), "state_detail '%s'", sd);
	free(sd);
	check(sql_int(f.c, "SELECT actor_id IS NULL FROM events ORDER BY id DESC LIMIT 1") == 1, "system actor not NULL");
	char *m2 = sql_text(f.c, "SELECT message FROM events ORDER BY id DESC LIMIT 1");
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
	int rc = lifecycle_transition(f.c, NULL, "affable-shark", 1, S("unpacked"), NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "stale revision rc %d", rc);
	check(strstr(f.err.detail, "revision 1") && strstr(f.err.detail, "2"), "detail '%s'", f.err.detail);
	bo_error_cleanup(&f.err);
	/* a future revision is just as stale */
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 3, S("unpacked"), NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "future revision rc %d", rc);
	bo_error_cleanup(&f.err);
	/* not allowed */
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, S("published"), NULL, 0, &f.err);
	check(rc == BO_ECONFLICT, "disallowed rc %d", rc);
	check(strstr(f.err.detail, "unpacking") && strstr(f.err.detail, "published"), "detail '%s' lacks the states",
	      f.err.detail);
	bo_error_cleanup(&f.err);
	/* states are an enum now: a value out of range is a bug of the caller */
	rc = lifecycle_transition(f.c, NULL, "affable-shark", 2, DRAFT_NUM_STATES, NULL, 0, &f.err);
	check(rc == BO_EINTERNAL, "unknown target rc %d", rc);
	bo_error_cleanup(&f.err);
	/* no draft */
	rc = lifecycle_transition(f.c, NULL, "lonely-concept", 1, S("unpacked"), NULL, 0, &f.err);
	check(rc == BO_ENOTFOUND, "no draft rc %d", rc);
	check(strstr(f.err.detail, "lonely-concept") != NULL, "detail '%s'", f.err.detail);
	bo_error_cleanup(&f.err);
	rc = lifecycle_transition(f.c, NULL, "does-not-exist", 1, S("unpacked"), NULL, 0, &f.err);
	check(rc == BO_ENOTFOUND, "no concept rc %d", rc);
	bo_error_cleanup(&f.err);
	/* nothing changed, nothing logged */
	expect_state(f.c, "unpacking");
	check(sql_int(f.c, "SELECT count(*) FROM events") == 0, "a refused transition wrote an event");

	/* a full path to published works step by step, and entering each state queues the
	 * next job of the pipeline (the table's on-enter actions) */
	static const struct {
		const char *to, *job; /* the kind of job entering it queues, or NULL */
	} path[] = {
		{"unpacked", "validate"}, {"testing", NULL},  {"awaiting review", NULL}, {"changes requested", NULL},
		{"testing", "test"},      {"awaiting review", NULL}, {"accepted", "publish"}, {"published", "rebuild"},
	};
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		long long before = sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind != 'draft-json'");
		struct lifecycle_move m = {.concept_id = "affable-shark",
					   .revision = 2,
					   .to = S(path[i].to),
					   .actor_id = f.user_id,
					   .version = "1"};
		if (!strcmp(path[i].to, "awaiting review"))
			sql_exec(f.c, "UPDATE test_runs SET status = 'passed'"); /* the verdicts are in */
		rc = lifecycle_move(f.c, NULL, &m, &f.err);
		check(rc == 0, "-> %s: %s", path[i].to, f.err.detail);
		bo_error_cleanup(&f.err);
		long long after = sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind != 'draft-json'");
		if (!path[i].job) {
			check(after == before, "-> %s queued %lld jobs", path[i].to, after - before);
			continue;
		}
		check(after == before + 1, "-> %s queued %lld jobs, want 1", path[i].to, after - before);
		char *kind = sql_text(f.c, "SELECT kind FROM jobs WHERE kind != 'draft-json' ORDER BY id DESC LIMIT 1");
		check(!strcmp(kind, path[i].job), "-> %s queued a '%s' job, want '%s'", path[i].to, kind, path[i].job);
		free(kind);
	}
	expect_state(f.c, "published");
	check(sql_int(f.c, "SELECT count(*) FROM events") == 8, "events %lld", sql_int(f.c, "SELECT count(*) FROM events"));
	char *payload = sql_text(f.c, "SELECT payload_json FROM jobs WHERE kind = 'publish'");
	check(strstr(payload, "\"version\":\"1\"") && strstr(payload, "\"revision\":2"), "publish payload %s", payload);
	free(payload);
	char *why = sql_text(f.c, "SELECT payload_json FROM jobs WHERE kind = 'rebuild'");
	check(strstr(why, "publish affable-shark/1 (accepted by Ada)") != NULL, "rebuild reason %s", why);
	free(why);
	check(sql_int(f.c, "SELECT count(*) FROM test_runs WHERE kind = 'dynamic' AND weight_format = 'onnx'") == 1,
	      "the re-test did not queue the onnx run");
out:
	teardown(&f);
}

/* An accept needs the version it publishes, and a re-test needs something to test: both
 * are refused with nothing changed. */
static void test_lifecycle__enter_refusals(void)
{
	struct fixture f;
	if (setup(&f))
		goto out;
	sql_exec(f.c, "UPDATE drafts SET state = 'awaiting review', rdf_json = '{}'");
	struct lifecycle_move m = {.concept_id = "affable-shark", .revision = 2, .to = DRAFT_ACCEPTED};
	require(db_begin(f.c, &f.err) == 0, "begin");
	int rc = lifecycle_move(f.c, NULL, &m, &f.err);
	check(rc == BO_EINTERNAL, "accept without a version rc %d", rc);
	db_rollback(f.c);
	bo_error_cleanup(&f.err);
	m.to = DRAFT_TESTING;
	require(db_begin(f.c, &f.err) == 0, "begin");
	rc = lifecycle_move(f.c, NULL, &m, &f.err);
	check(rc == BO_ECONFLICT && strstr(f.err.detail, "no weights"), "re-test without weights rc %d: %s", rc,
	      f.err.detail);
	db_rollback(f.c);
	bo_error_cleanup(&f.err);
	expect_state(f.c, "awaiting review");
	check(sql_int(f.c, "SELECT count(*) FROM jobs") == 0, "a refused move queued a job");
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
		cJSON *o = lifecycle_status_json(&a, "affable-shark", S(want_states[i].name), "", "2024-05-01T10:00:00.000Z");
		require(o, "status of %s is NULL", want_states[i].name);
		const struct lifecycle_state *s = find(want_states[i].name);
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
	cJSON *o = lifecycle_status_json(&a, "affable-shark", S("error"), "bad zip: fix and upload again", "t");
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
	o = lifecycle_status_json(&a, "affable-shark", S("testing"), NULL, "t");
	check(o != NULL, "NULL detail refused");
	check(!cJSON_HasObjectItem(o, "message") && !cJSON_HasObjectItem(o, "during"), "error fields on another state");
	cJSON_Delete(o);
	check(lifecycle_status_json(&a, "affable-shark", S("bogus"), "", "t") == NULL, "unknown state gave a status");
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
	sql_exec(f.c, "DELETE FROM jobs");
	require(db_begin(f.c, &f.err) == 0, "%s", f.err.detail);
	rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, S("unpacked"), NULL, 0, &f.err);
	if (!rc)
		rc = lifecycle_transition(f.c, cfg, "affable-shark", 2, S("testing"), NULL, 0, &f.err);
	check(rc == 0, "transitions: %s", f.err.detail);
	check(db_commit(f.c, &f.err) == 0, "%s", f.err.detail);
	check(sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'draft-json' AND subject = 'affable-shark' "
			 "AND state = 'queued'") == 1, "draft-json jobs queued: %lld",
	      sql_int(f.c, "SELECT count(*) FROM jobs WHERE kind = 'draft-json'"));
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
	TEST(test_lifecycle__enter_refusals),
	TEST(test_lifecycle__status_json),
	TEST(test_lifecycle__draft_json_job),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

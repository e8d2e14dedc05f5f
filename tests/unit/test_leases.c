/* Unit tests for leases: claiming by weight format (never one job twice), the checks a
 * heartbeat and a result go through (another user's lease, an ended one, an expired one),
 * expiry giving the job back to the queue (and killing it after its attempts), and the
 * file secret that works only while its lease lives. */
#include "check.h"
#include "auth_check.h"

#include "common/error.h"
#include "domain/leases.h"
#include "infra/db.h"
#include "infra/jobs.h"

#include <cjson/cJSON.h>

#define NOW 1000000

static int64_t enqueue(sqlite3 *c, const char *subject, const char *format)
{
	struct bo_error err = BO_ERROR_INIT;
	char payload[128];
	int64_t id = 0;
	snprintf(payload, sizeof(payload), "{\"revision\":1,\"weight_format\":\"%s\"}", format);
	int rc = db_begin(c, &err);
	if (!rc)
		rc = jobs_enqueue(c, "test", subject, payload, 0, &id, &err);
	if (!rc)
		rc = db_commit(c, &err);
	/* run_after is now: make it the test's past */
	sqlite3_stmt *st = NULL;
	if (!rc)
		rc = db_prepare(c, &st, "UPDATE jobs SET run_after = 0 WHERE id = ?1", &err);
	if (!rc) {
		sqlite3_bind_int64(st, 1, id);
		rc = db_step_done(st, &err);
	}
	check(rc == 0, "enqueue: %s", err.detail);
	bo_error_cleanup(&err);
	return id;
}

static int claim(sqlite3 *c, int64_t user, const char *formats, int64_t now, struct lease *l, char *secret)
{
	struct bo_error err = BO_ERROR_INIT;
	int found = 0;
	int rc = db_begin(c, &err);
	if (!rc)
		rc = leases_claim(c, user, formats, "{\"gpu\":false}", 10, 2, now, l, secret, &found, &err);
	if (!rc)
		rc = db_commit(c, &err);
	db_rollback(c);
	check(rc == 0, "claim: %s", err.detail);
	bo_error_cleanup(&err);
	return found;
}

static const char *job_state(sqlite3 *c, int64_t id, char *buf, size_t n)
{
	struct bo_error err = BO_ERROR_INIT;
	sqlite3_stmt *st = NULL;
	buf[0] = '\0';
	if (db_prepare(c, &st, "SELECT state FROM jobs WHERE id = ?1", &err)) {
		check(0, "%s", err.detail);
		bo_error_cleanup(&err);
		return buf;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, n, "%s", db_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static void test_leases__claim_by_format(void)
{
	struct fixture fx;
	struct lease l, l2;
	char secret[LEASES_SECRET_LEN + 1], s2[LEASES_SECRET_LEN + 1], state[16];
	require(fixture_open(&fx) == 0, "fixture");
	int64_t w = add_user(fx.c, "W", "w@example.org", AUTH_ROLE_UPLOADER);
	int64_t onnx = enqueue(fx.c, "a", "onnx");
	int64_t ts = enqueue(fx.c, "b", "torchscript");
	check(!claim(fx.c, w, "[\"tensorflow_saved_model_bundle\"]", NOW, &l, secret), "a job nobody asked for");
	require(claim(fx.c, w, "[\"torchscript\", \"pytorch_state_dict\"]", NOW, &l, secret), "torchscript");
	check(l.job_id == ts && !strcmp(l.weight_format, "torchscript") && !strcmp(l.concept_id, "b") && l.revision == 1,
	      "leased job %lld %s", (long long)l.job_id, l.weight_format);
	check(strlen(l.id) == LEASES_ID_LEN && strlen(secret) == LEASES_SECRET_LEN && l.expires_unix == NOW + 10, "lease");
	check(!strcmp(job_state(fx.c, ts, state, sizeof(state)), "running"), "job %s", state);
	check(!claim(fx.c, w, "[\"torchscript\"]", NOW, &l2, s2), "the same job twice");
	require(claim(fx.c, w, "[\"onnx\", \"torchscript\"]", NOW, &l2, s2), "onnx");
	check(l2.job_id == onnx && strcmp(l.id, l2.id) && strcmp(secret, s2), "a second lease");
	check(!claim(fx.c, w, "[\"onnx\", \"torchscript\"]", NOW, &l2, s2), "nothing left");
	fixture_close(&fx);
}

static void test_leases__check_extend_close(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	struct lease l, got;
	char secret[LEASES_SECRET_LEN + 1], state[16];
	require(fixture_open(&fx) == 0, "fixture");
	int64_t w = add_user(fx.c, "W", "w@example.org", AUTH_ROLE_UPLOADER);
	int64_t other = add_user(fx.c, "O", "o@example.org", AUTH_ROLE_UPLOADER);
	int64_t job = enqueue(fx.c, "a", "onnx");
	require(claim(fx.c, w, "[\"onnx\"]", NOW, &l, secret), "claim");
	check(leases_check(fx.c, l.id, w, NOW + 5, &got, &err) == 0 && got.job_id == job, "check: %s", err.detail);
	bo_error_cleanup(&err);
	check(leases_check(fx.c, l.id, other, NOW, &got, &err) == BO_ENOTFOUND, "another user's lease");
	bo_error_cleanup(&err);
	check(leases_check(fx.c, "../../x", w, NOW, &got, &err) == BO_ENOTFOUND, "a bad id");
	bo_error_cleanup(&err);
	check(leases_extend(fx.c, l.id, 10, NOW + 8, &err) == 0, "extend: %s", err.detail);
	bo_error_cleanup(&err);
	check(leases_check(fx.c, l.id, w, NOW + 15, &got, &err) == 0 && got.expires_unix == NOW + 18, "extended");
	bo_error_cleanup(&err);
	check(leases_by_secret(fx.c, secret, NOW, &got, &err) == 0 && !strcmp(got.id, l.id), "secret: %s", err.detail);
	bo_error_cleanup(&err);
	check(leases_by_secret(fx.c, "abc", NOW, &got, &err) == BO_EFORBIDDEN, "short secret");
	bo_error_cleanup(&err);
	secret[0] = secret[0] == 'a' ? 'b' : 'a';
	check(leases_by_secret(fx.c, secret, NOW, &got, &err) == BO_EFORBIDDEN, "wrong secret");
	bo_error_cleanup(&err);
	secret[0] = secret[0] == 'a' ? 'b' : 'a';
	check(leases_close(fx.c, l.id, &err) == 0, "close: %s", err.detail);
	check(!strcmp(job_state(fx.c, job, state, sizeof(state)), "done"), "job %s", state);
	check(leases_check(fx.c, l.id, w, NOW, &got, &err) == BO_ECONFLICT, "a second result");
	bo_error_cleanup(&err);
	check(leases_extend(fx.c, l.id, 10, NOW, &err) == BO_EGONE, "heartbeat after the end");
	bo_error_cleanup(&err);
	check(leases_by_secret(fx.c, secret, NOW, &got, &err) == BO_EFORBIDDEN, "secret after the end");
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

static void test_leases__expiry(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	struct lease l, l2, got;
	char secret[LEASES_SECRET_LEN + 1], s2[LEASES_SECRET_LEN + 1], state[16];
	cJSON *dead = NULL;
	int n = -1;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t a = add_user(fx.c, "A", "a@example.org", AUTH_ROLE_UPLOADER);
	int64_t b = add_user(fx.c, "B", "b@example.org", AUTH_ROLE_UPLOADER);
	int64_t job = enqueue(fx.c, "a", "onnx");
	require(claim(fx.c, a, "[\"onnx\"]", NOW, &l, secret), "claim");
	/* past its expiry, before any sweep: already refused */
	check(leases_check(fx.c, l.id, a, NOW + 11, &got, &err) == BO_EGONE, "an expired lease ends nothing");
	bo_error_cleanup(&err);
	check(leases_by_secret(fx.c, secret, NOW + 11, &got, &err) == BO_EFORBIDDEN, "its file link");
	bo_error_cleanup(&err);
	check(leases_expire(fx.c, NOW + 5, &n, &dead, &err) == 0 && n == 0 && cJSON_GetArraySize(dead) == 0, "too early");
	cJSON_Delete(dead);
	check(leases_expire(fx.c, NOW + 11, &n, &dead, &err) == 0 && n == 1 && cJSON_GetArraySize(dead) == 0,
	      "expire: %s (n %d)", err.detail, n);
	cJSON_Delete(dead);
	check(!strcmp(job_state(fx.c, job, state, sizeof(state)), "queued"), "back in the queue: %s", state);
	require(claim(fx.c, b, "[\"onnx\"]", NOW + 12, &l2, s2), "B takes it");
	check(l2.job_id == job, "the same job");
	check(leases_check(fx.c, l.id, a, NOW + 12, &got, &err) == BO_EGONE, "A's late result");
	bo_error_cleanup(&err);
	check(leases_check(fx.c, l2.id, b, NOW + 12, &got, &err) == 0, "B's lease: %s", err.detail);
	bo_error_cleanup(&err);
	/* the second loss (max_attempts 2): the job is dead, for its dead callback */
	check(leases_expire(fx.c, NOW + 30, &n, &dead, &err) == 0 && n == 1 && cJSON_GetArraySize(dead) == 1, "dead");
	const cJSON *d0 = cJSON_GetArrayItem(dead, 0);
	check(cJSON_GetNumberValue(cJSON_GetObjectItem(d0, "id")) == (double)job &&
		      !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(d0, "subject")), "a") &&
		      cJSON_GetNumberValue(cJSON_GetObjectItem(d0, "attempts")) == 2,
	      "the dead job");
	cJSON_Delete(dead);
	check(!strcmp(job_state(fx.c, job, state, sizeof(state)), "dead"), "job %s", state);
	check(!claim(fx.c, a, "[\"onnx\"]", NOW + 31, &l, secret), "a dead job is not leased");
	fixture_close(&fx);
}

static struct check_test tests[] = {
	TEST(test_leases__claim_by_format),
	TEST(test_leases__check_extend_close),
	TEST(test_leases__expiry),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for reviewers: the reviewers file imported into users (fields kept, an uploader
 * upgraded, an admin kept), and a file with bad entries imports nothing and reports each. */
#include "check.h"
#include "auth_check.h"

#include "domain/auth.h"
#include "infra/db.h"
#include "common/error.h"
#include "domain/reviewers.h"

#include <cjson/cJSON.h>

#define REVIEWERS "tests/fixtures/reviewers.json"

static int sql_int(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int n = -1;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_reviewers__import(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	size_t len = 0;
	int added = -1, updated = -1;
	struct auth_user u;
	char path[4096];
	snprintf(path, sizeof(path), "%s", check_src(REVIEWERS));
	if (access(path, R_OK) != 0) {
		skip_test("%s is missing", path);
	}
	char *text = slurp(path, &len);
	require(text, "read %s", path);
	if (fixture_open(&fx)) {
		free(text);
		return;
	}
	/* an existing uploader with one of the emails (other case) is upgraded, not duplicated */
	int64_t bruno = add_user(fx.c, "Bruno", "Bruno.Sample@example.org", AUTH_ROLE_UPLOADER);
	require(reviewers_import(fx.c, text, len, &added, &updated, &err) == 0, "import: %s", err.detail);
	check(added == 2 && updated == 1, "added %d updated %d", added, updated);
	check(sql_int(fx.c, "SELECT count(*) FROM users WHERE role = 'reviewer'") == 3, "three reviewers");
	require(auth_user_get(fx.c, "ada.placeholder@example.org", &u, &err) == 0, "ada");
	check(!strcmp(u.name, "Ada Placeholder") && !strcmp(u.orcid, "0000-0000-0000-0001") &&
		      u.role == AUTH_ROLE_REVIEWER,
	      "ada fields");
	check(sql_int(fx.c, "SELECT count(*) FROM users WHERE external_id = 'github|10000001' AND "
			    "affiliation = 'Example Institute of Microscopy' AND github_user = 'example-reviewer-ada'") == 1,
	      "kept external_id, affiliation, github_user");
	require(auth_user_get(fx.c, "bruno.sample@example.org", &u, &err) == 0, "bruno");
	check(u.id == bruno && u.role == AUTH_ROLE_REVIEWER && !strcmp(u.name, "Bruno Sample"), "bruno upgraded");

	/* re-import: nothing new, all three updated; an admin is never downgraded */
	sqlite3_exec(fx.c, "UPDATE users SET role = 'admin' WHERE email = 'chidi.testperson@example.net'", NULL, NULL,
		     NULL);
	require(reviewers_import(fx.c, text, len, &added, &updated, &err) == 0, "re-import: %s", err.detail);
	check(added == 0 && updated == 3, "re-import added %d updated %d", added, updated);
	check(sql_int(fx.c, "SELECT count(*) FROM users") == 3, "still three users");
	require(auth_user_get(fx.c, "chidi.testperson@example.net", &u, &err) == 0, "chidi");
	check(u.role == AUTH_ROLE_ADMIN, "admin kept");
	free(text);
	fixture_close(&fx);
}

/* loc of errors[i] is ["reviewers", index, field]. */
static int has_error_at(const struct bo_error *err, int index, const char *field)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, err->errors) {
		const cJSON *loc = cJSON_GetObjectItem(e, "loc");
		if (cJSON_GetArraySize(loc) == 3 && !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(loc, 0)), "reviewers") &&
		    cJSON_GetNumberValue(cJSON_GetArrayItem(loc, 1)) == index &&
		    !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(loc, 2)), field))
			return 1;
	}
	return 0;
}

static void expect_import_fails(sqlite3 *c, const char *json, int code, const char *detail_part)
{
	struct bo_error err = BO_ERROR_INIT;
	int added = -1, updated = -1;
	int rc = reviewers_import(c, json, strlen(json), &added, &updated, &err);
	check(rc == code, "%.60s: rc %d", json, rc);
	check(strstr(err.detail, detail_part) != NULL, "detail '%s' lacks '%s'", err.detail, detail_part);
	check(added == 0 && updated == 0, "counts %d %d", added, updated);
	bo_error_cleanup(&err);
}

static void test_reviewers__bad_entry_imports_nothing(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	int added = -1, updated = -1;
	require(fixture_open(&fx) == 0, "fixture");
	const char *json = "{\"reviewers\":["
			   "{\"id\":\"github|1\",\"name\":\"Good One\",\"email\":\"good@example.org\"},"
			   "{\"id\":\"github|2\",\"name\":\"No Email\"},"
			   "{\"id\":\"github|3\",\"name\":\"Bad Email\",\"email\":\"not an email\"},"
			   "{\"id\":\"github|4\",\"name\":\"\",\"email\":\"noname@example.org\",\"orcid\":5},"
			   "{\"id\":\"github|1\",\"name\":\"Dup\",\"email\":\"GOOD@example.org\"},"
			   "\"not an object\""
			   "]}";
	int rc = reviewers_import(fx.c, json, strlen(json), &added, &updated, &err);
	check(rc == BO_EBADREQUEST, "rc %d", rc);
	check(strstr(err.detail, "nothing was imported") != NULL, "detail %s", err.detail);
	check(has_error_at(&err, 1, "email"), "missing email reported");
	check(has_error_at(&err, 2, "email"), "bad email reported");
	check(has_error_at(&err, 3, "name"), "empty name reported");
	check(has_error_at(&err, 3, "orcid"), "orcid of the wrong type reported");
	check(has_error_at(&err, 4, "email"), "duplicate email reported");
	check(has_error_at(&err, 4, "id"), "duplicate id reported");
	check(has_error_at(&err, 5, "email"), "non-object entry reported");
	check(!has_error_at(&err, 0, "email"), "good entry not reported");
	check(cJSON_GetArraySize(err.errors) == 7, "%d errors", cJSON_GetArraySize(err.errors));
	bo_error_cleanup(&err);
	check(sql_int(fx.c, "SELECT count(*) FROM users") == 0, "nothing imported");

	/* an id that already belongs to another user */
	add_user(fx.c, "Owner", "owner@example.org", AUTH_ROLE_UPLOADER);
	sqlite3_exec(fx.c, "UPDATE users SET external_id = 'github|9'", NULL, NULL, NULL);
	const char *steal = "{\"reviewers\":[{\"id\":\"github|9\",\"name\":\"Thief\",\"email\":\"thief@example.org\"}]}";
	rc = reviewers_import(fx.c, steal, strlen(steal), &added, &updated, &err);
	check(rc == BO_EBADREQUEST && has_error_at(&err, 0, "id"), "id of another user: rc %d", rc);
	bo_error_cleanup(&err);
	check(sql_int(fx.c, "SELECT count(*) FROM users") == 1, "thief not imported");

	expect_import_fails(fx.c, "{\"reviewers\": [", BO_EBADREQUEST, "not valid JSON");
	expect_import_fails(fx.c, "[]", BO_EBADREQUEST, "\"reviewers\" array");
	expect_import_fails(fx.c, "{\"reviewers\": {}}", BO_EBADREQUEST, "\"reviewers\" array");
	char *big = malloc(REVIEWERS_IMPORT_MAX_BYTES + 2);
	require(big, "malloc");
	memset(big, ' ', REVIEWERS_IMPORT_MAX_BYTES + 1);
	big[REVIEWERS_IMPORT_MAX_BYTES + 1] = '\0';
	expect_import_fails(fx.c, big, BO_ETOOLARGE, "larger than");
	free(big);
	/* an empty list is a valid, empty import */
	const char *empty = "{\"reviewers\": []}";
	check(reviewers_import(fx.c, empty, strlen(empty), &added, &updated, &err) == 0 && added == 0 && updated == 0,
	      "empty: %s", err.detail);
	fixture_close(&fx);
}

static struct check_test tests[] = {
	TEST(test_reviewers__import),
	TEST(test_reviewers__bad_entry_imports_nothing),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for maintainers: who may act as maintainer of a concept (creator, draft
 * uploader, emails in the latest published RDF or else the draft's, reviewers), and who not. */
#include "check.h"
#include "auth_check.h"

#include "domain/auth.h"
#include "infra/db.h"
#include "common/error.h"
#include "domain/maintainers.h"

static void exec_ok(sqlite3 *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
	check(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
	sqlite3_free(msg);
}

static int maint(sqlite3 *c, sqlite3_int64 user_id, const char *concept)
{
	struct bo_error err = BO_ERROR_INIT;
	struct auth_user u;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)user_id);
	if (auth_user_get(c, id, &u, &err))
		return -100;
	int rc = maintainers_includes(c, &u, concept, &err);
	check(rc >= 0, "maintainers_includes: %s", err.detail);
	bo_error_cleanup(&err);
	return rc;
}

static void test_maintainers__includes(void)
{
	struct fixture fx;
	require(fixture_open(&fx) == 0, "fixture");
	int64_t creator = add_user(fx.c, "Creator", "creator@example.org", AUTH_ROLE_UPLOADER);
	int64_t author = add_user(fx.c, "Author", "author@example.org", AUTH_ROLE_UPLOADER);
	int64_t stranger = add_user(fx.c, "Stranger", "stranger@example.org", AUTH_ROLE_UPLOADER);
	int64_t reviewer = add_user(fx.c, "Rev", "rev@example.org", AUTH_ROLE_REVIEWER);
	int64_t uploader = add_user(fx.c, "Up", "up@example.org", AUTH_ROLE_UPLOADER);
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO concepts(id, type, created_at, created_by) VALUES ('affable-shark', 'model', 'now', %lld);"
		 "INSERT INTO drafts(concept_id, revision, state, uploader_id, package_sha256, package_size, package_path,"
		 " rdf_name, rdf_json, created_at, updated_at) VALUES ('affable-shark', 1, 'awaiting review', %lld, 'x', 1,"
		 " 'p', 'rdf.yaml', '{\"authors\":[{\"name\":\"A\",\"email\":\"Author@EXAMPLE.org\"},{\"name\":\"N\"}]}',"
		 " 'now', 'now');",
		 (long long)creator, (long long)uploader);
	exec_ok(fx.c, sql);
	/* draft only: its authors count */
	check(maint(fx.c, creator, "affable-shark") == 1, "creator");
	check(maint(fx.c, uploader, "affable-shark") == 1, "draft uploader");
	check(maint(fx.c, author, "affable-shark") == 1, "author email in the draft (case-insensitive)");
	check(maint(fx.c, stranger, "affable-shark") == 0, "stranger");
	check(maint(fx.c, reviewer, "affable-shark") == 1, "reviewer");
	check(maint(fx.c, stranger, "no-such-concept") == 0, "unknown concept");

	/* once published, the latest published version decides, not the draft */
	exec_ok(fx.c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) "
		      "VALUES ('affable-shark', '1', 'published', '{\"authors\":[{\"email\":\"other@example.org\"}]}', "
		      "'s', 't', '2024-01-01T00:00:00.000Z')");
	check(maint(fx.c, author, "affable-shark") == 0, "author only in the draft");
	exec_ok(fx.c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) "
		      "VALUES ('affable-shark', '2', 'published', '{\"authors\":[],\"maintainers\":"
		      "[{\"name\":\"S\",\"email\":\"stranger@example.org\"}]}', 's', 't', '2025-01-01T00:00:00.000Z')");
	exec_ok(fx.c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) "
		      "VALUES ('affable-shark', '0', 'published', '{\"authors\":[{\"email\":\"author@example.org\"}]}', "
		      "'s', 't', '2023-01-01T00:00:00.000Z')");
	check(maint(fx.c, stranger, "affable-shark") == 1, "maintainer email in the latest version");
	check(maint(fx.c, author, "affable-shark") == 0, "author of an older version only");
	check(maint(fx.c, creator, "affable-shark") == 1, "creator stays");

	/* a disabled user maintains nothing; NULL user neither */
	struct bo_error err = BO_ERROR_INIT;
	struct auth_user u;
	require(auth_user_get(fx.c, "creator@example.org", &u, &err) == 0, "get");
	u.disabled = 1;
	check(maintainers_includes(fx.c, &u, "affable-shark", &err) == 0, "disabled");
	check(maintainers_includes(fx.c, NULL, "affable-shark", &err) == 0, "NULL user");
	fixture_close(&fx);
}

static struct check_test tests[] = {
	TEST(test_maintainers__includes),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

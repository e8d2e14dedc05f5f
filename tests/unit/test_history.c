/* Unit tests of history: commits only on change, RDFs of the listed versions in the
 * tree (loaded once, removed when no longer listed), list newest first, read back. */
#include "check.h"

#include "common/error.h"
#include "infra/history.h"

#include <cjson/cJSON.h>
#include <git2.h>

#define DIR_ "hist.git"

struct loader {
	int calls;
	int missing; /* answer BO_ENOTFOUND */
};

static int load(void *ctx, const char *id, const char *version, char **out, size_t *len, struct bo_error *err)
{
	struct loader *l = ctx;
	l->calls++;
	if (l->missing)
		return bo_error_set(err, BO_ENOTFOUND, "no rdf");
	if (asprintf(out, "id: %s\nversion: %s\n", id, version) < 0)
		return bo_error_set(err, BO_ENOMEM, "oom");
	*len = strlen(*out);
	return 0;
}

static int commits(void)
{
	cJSON *o = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int n = -1;
	if (!history_list(DIR_, 100, &o, &err))
		n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "commits"));
	cJSON_Delete(o);
	bo_error_cleanup(&err);
	return n;
}

/* Whether the tip's tree has path. */
static int tip_has(const char *path)
{
	git_repository *r = NULL;
	git_object *obj = NULL;
	char spec[512];
	snprintf(spec, sizeof(spec), "refs/heads/main:%s", path);
	git_libgit2_init();
	int ok = !git_repository_open_bare(&r, DIR_) && !git_revparse_single(&obj, r, spec);
	git_object_free(obj);
	git_repository_free(r);
	git_libgit2_shutdown();
	return ok;
}

static void test_history__commit_list_read(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct loader l = {0};
	struct history_rdf two[] = {{"busy-bee", "1"}, {"affable-shark", "2"}};
	int committed = -1;
	check(commits() == 0, "no repository: empty list");
	int rc = history_commit(DIR_, "{\"a\":1}", 7, two, 2, load, &l, "publish affable-shark/2 (accepted by Rita)",
				&committed, &err);
	check(rc == 0 && committed == 1, "first commit: %s", err.detail);
	check(l.calls == 2, "both RDFs loaded (%d)", l.calls);
	check(tip_has("collection.json") && tip_has("affable-shark/2/rdf.yaml") && tip_has("busy-bee/1/rdf.yaml"),
	      "tree holds collection.json and the RDFs");
	rc = history_commit(DIR_, "{\"a\":1}", 7, two, 2, load, &l, "again", &committed, &err);
	check(rc == 0 && committed == 0, "same bytes: no commit");
	check(commits() == 1, "still one commit");
	/* affable-shark moves to version 3: 2 leaves the tree, busy-bee is not loaded again */
	struct history_rdf next[] = {{"affable-shark", "3"}, {"busy-bee", "1"}};
	l.calls = 0;
	rc = history_commit(DIR_, "{\"a\":2}", 7, next, 2, load, &l, "publish affable-shark/3", &committed, &err);
	check(rc == 0 && committed == 1, "second commit: %s", err.detail);
	check(l.calls == 1, "only the new RDF is loaded (%d)", l.calls);
	check(tip_has("affable-shark/3/rdf.yaml") && !tip_has("affable-shark/2/rdf.yaml") &&
		      tip_has("busy-bee/1/rdf.yaml"),
	      "tree follows the listed versions");
	cJSON *o = NULL;
	require(history_list(DIR_, 100, &o, &err) == 0, "list: %s", err.detail);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "commits");
	require(cJSON_GetArraySize(arr) == 2, "two commits");
	const cJSON *newest = cJSON_GetArrayItem(arr, 0), *oldest = cJSON_GetArrayItem(arr, 1);
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(newest, "message")->valuestring, "publish affable-shark/3"),
	      "newest first");
	const char *t = cJSON_GetObjectItemCaseSensitive(newest, "time")->valuestring;
	check(strlen(t) == 20 && t[19] == 'Z', "UTC time %s", t);
	char id[41];
	snprintf(id, sizeof(id), "%s", cJSON_GetObjectItemCaseSensitive(oldest, "id")->valuestring);
	cJSON_Delete(o);
	o = NULL;
	check(history_list(DIR_, 1, &o, &err) == 0 &&
		      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "commits")) == 1,
	      "limit");
	cJSON_Delete(o);
	char *text = NULL;
	size_t len = 0;
	rc = history_read(DIR_, id, &text, &len, &err);
	check(rc == 0 && len == 7 && !strcmp(text, "{\"a\":1}"), "read the first collection back");
	free(text);
	text = NULL;
	id[7] = '\0';
	rc = history_read(DIR_, id, &text, &len, &err);
	check(rc == 0 && text && !strcmp(text, "{\"a\":1}"), "by a 7-digit prefix");
	free(text);
	text = NULL;
	bo_error_cleanup(&err);
	check(history_read(DIR_, "zz", &text, &len, &err) == BO_EBADREQUEST, "not a commit id");
	bo_error_cleanup(&err);
	check(history_read(DIR_, "0000000000000000000000000000000000000000", &text, &len, &err) == BO_ENOTFOUND,
	      "unknown commit");
	bo_error_cleanup(&err);
	check(history_read(DIR_, "../../etc/passwd", &text, &len, &err) == BO_EBADREQUEST, "hostile id");
	bo_error_cleanup(&err);
}

static void test_history__missing_rdf_still_commits(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct loader l = {.missing = 1};
	struct history_rdf one[] = {{"calm-cat", "1"}};
	int committed = 0;
	check(history_commit(DIR_, "[]", 2, one, 1, load, &l, "rebuild", &committed, &err) == 0 && committed,
	      "commit: %s", err.detail);
	check(tip_has("collection.json") && !tip_has("calm-cat/1/rdf.yaml"), "index kept, absent RDF left out");
	bo_error_cleanup(&err);
	char *text = NULL;
	size_t len = 0;
	check(history_read("no-such.git", "abcdef1", &text, &len, &err) == BO_ENOTFOUND, "no repository");
	bo_error_cleanup(&err);
}

/* A cache that names the tip spares the tree walk and the loads; once another committer
 * moves the tip the cache is not trusted and the tree still follows the listed versions. */
static void test_history__cache(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct loader l = {0};
	history_cache *cache = NULL;
	int committed = 0;
	struct history_rdf v1[] = {{"busy-bee", "1"}, {"affable-shark", "1"}, {"affable-shark", "1"}};
	int rc = history_commit_cached(DIR_, "{\"a\":1}", 7, v1, 3, load, &l, "one", &committed, &cache, &err);
	check(rc == 0 && committed && cache, "first: %s", err.detail);
	check(l.calls == 2, "a duplicate is loaded once (%d)", l.calls);
	struct history_rdf v2[] = {{"affable-shark", "2"}, {"busy-bee", "1"}, {"calm-cat", "1"}};
	l.calls = 0;
	rc = history_commit_cached(DIR_, "{\"a\":2}", 7, v2, 3, load, &l, "two", &committed, &cache, &err);
	check(rc == 0 && committed, "second: %s", err.detail);
	check(l.calls == 2, "only the new RDFs are loaded (%d)", l.calls);
	check(tip_has("affable-shark/2/rdf.yaml") && !tip_has("affable-shark/1") && tip_has("busy-bee/1/rdf.yaml") &&
		      tip_has("calm-cat/1/rdf.yaml"),
	      "tree follows the listed versions");
	/* another process commits: busy-bee is gone, dizzy-dog/1 added */
	struct history_rdf other[] = {{"affable-shark", "2"}, {"calm-cat", "1"}, {"dizzy-dog", "1"}};
	check(history_commit(DIR_, "{\"a\":3}", 7, other, 3, load, &l, "cli", &committed, &err) == 0 && committed,
	      "other committer: %s", err.detail);
	/* our stale cache must not resurrect busy-bee nor skip loading it */
	struct history_rdf v4[] = {{"affable-shark", "2"}, {"busy-bee", "1"}};
	l.calls = 0;
	rc = history_commit_cached(DIR_, "{\"a\":4}", 7, v4, 2, load, &l, "four", &committed, &cache, &err);
	check(rc == 0 && committed, "after another committer: %s", err.detail);
	check(l.calls == 1, "busy-bee loaded again (%d)", l.calls);
	check(tip_has("busy-bee/1/rdf.yaml") && !tip_has("dizzy-dog") && !tip_has("calm-cat") &&
		      tip_has("affable-shark/2/rdf.yaml"),
	      "tree follows the listed versions after a stale cache");
	check(commits() == 4, "four commits (%d)", commits());
	history_cache_free(cache);
	history_cache_free(NULL);
	bo_error_cleanup(&err);
}

static struct check_test tests[] = {
	TEST(test_history__commit_list_read),
	TEST(test_history__missing_rdf_still_commits),
	TEST(test_history__cache),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

/* Unit tests of collection: entries vs the real index's keys and types, yanked
 * fallback, deterministic bytes, id_map aliases, thumbnails, coalesced reasons, the
 * incremental path and the serving cache — all against synthetic database rows. */
#include "check.h"

#include "app.h"
#include "pipeline/collection.h"
#include "infra/config.h"
#include "infra/db.h"
#include "common/error.h"
#include "infra/history.h"
#include "infra/jobs.h"
#include "common/log.h"
#include "infra/storage.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>

#define REAL_INDEX "collection/collection-bioimage-io__gh-pages__collection.json"

struct fixture {
	struct config *cfg;
	struct app *a;
	struct bo_error err;
};

static void exec(struct fixture *f, const char *sql)
{
	sqlite3 *c = NULL;
	char *msg = NULL;
	require(db_acquire(f->a->db, &c, &f->err) == 0, "acquire: %s", f->err.detail);
	if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK)
		check(0, "%s: %s", sql, msg);
	sqlite3_free(msg);
	db_release(f->a->db, c);
}

static int open_app(struct fixture *f)
{
	char dd[] = "--data-dir=var", md[4200], sd[4200], pu[] = "--public-url=http://bo.test";
	snprintf(md, sizeof(md), "--migrations-dir=%s", check_src("migrations"));
	snprintf(sd, sizeof(sd), "--schema-dir=%s", check_src("schema"));
	char *argv[] = {dd, md, sd, pu, NULL};
	int rc = config_load(&f->cfg, 4, argv, NULL, NULL, &f->err);
	if (!rc)
		rc = app_open(&f->a, f->cfg, 0, &f->err);
	check(rc == 0, "setup: %s", f->err.detail);
	return rc;
}

static void close_app(struct fixture *f)
{
	app_close(f->a);
	config_free(f->cfg);
	f->a = NULL;
	f->cfg = NULL;
}

/* Users, a model with two published versions (the newer yanked), a dataset with one,
 * a notebook whose only version is yanked, and a draft. */
static int setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	log_set_level(LOG_LEVEL_ERROR);
	if (open_app(f))
		return -1;
	exec(f, "INSERT INTO users(id, name, email, role, created_at) VALUES "
		"(7, 'Rita Reviewer', 'rita@example.org', 'reviewer', '2026-01-01T00:00:00Z'),"
		"(8, 'Sam Scientist', 'sam@example.org', 'uploader', '2026-01-01T00:00:00Z');"
		"INSERT INTO concepts(id, type, created_at, created_by, concept_doi) VALUES "
		"('affable-shark', 'model', '2026-01-01T00:00:00Z', 8, '10.5281/zenodo.100'),"
		"('busy-bee', 'dataset', '2026-01-02T00:00:00Z', 8, NULL),"
		"('calm-cat', 'notebook', '2026-01-03T00:00:00Z', 7, NULL),"
		"('daring-dog', 'model', '2026-01-04T00:00:00Z', 8, NULL);"
		"INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at, doi) VALUES "
		"('affable-shark', '1', 'published', '{\"id\":\"affable-shark\",\"id_emoji\":\"\xf0\x9f\xa6\x88\",\"name\":\"Shark\","
		"\"description\":\"Nuclei\",\"type\":\"model\",\"license\":\"MIT\",\"tags\":[\"unet\",\"2d\",\"unet\",\"nuclei\"],"
		"\"authors\":[{\"name\":\"Ann\",\"affiliation\":\"EMBL\",\"github_user\":\"ann\"}],"
		"\"covers\":[\"cover.png\",\"https://x.org/c.png\"],\"icon\":\"icon.png\",\"links\":[\"busy-bee\"],"
		"\"badges\":[{\"label\":\"b\",\"url\":\"https://b\"},{\"label\":\"v1.0\",\"icon\":\"./badge.svg\",\"url\":\"docs/index.html\"}],\"training_data\":{\"id\":\"busy-bee\"},"
		"\"config\":{\"bioimageio\":{\"thumbnails\":{\"cover.png\":\"cover.thumbnail.png\"}}}}', "
		"'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', '2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z', '10.5281/zenodo.101'),"
		"('affable-shark', '2', 'yanked', '{\"id\":\"affable-shark\",\"name\":\"Shark v2\"}', 'a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2', "
		"'2026-01-06T00:00:00Z', '2026-01-06T00:00:00Z', NULL),"
		"('busy-bee', '1', 'published', '{\"id\":\"busy-bee\",\"id_emoji\":\"\xf0\x9f\x90\x9d\",\"name\":\"Bees\","
		"\"tags\":[\"nuclei\",\"2d\"]}', 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1', '2026-01-02T00:00:00Z', '2026-01-07T00:00:00Z', NULL),"
		"('calm-cat', '1', 'yanked', '{\"id\":\"calm-cat\",\"name\":\"Cat\"}', 'c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1', '2026-01-03T00:00:00Z', "
		"'2026-01-03T00:00:00Z', NULL),"
		"('daring-dog', '1', 'publishing', '{\"id\":\"daring-dog\"}', 'd1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1', '2026-01-04T00:00:00Z', NULL, NULL);"
		"INSERT INTO drafts(concept_id, revision, state, uploader_id, package_sha256, package_size, package_path, "
		"rdf_name, rdf_json, created_at, updated_at) VALUES ('daring-dog', 2, 'awaiting review', 8, 'pkg', 1, 'p', "
		"'rdf.yaml', '{\"id\":\"daring-dog\",\"name\":\"Dog\",\"covers\":[\"c.png\"]}', '2026-01-04T00:00:00Z', "
		"'2026-01-08T00:00:00Z');"
		"INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) VALUES "
		"('daring-dog', 'draft', 'rdf.yaml', 10, '" "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1" "', "
		"'application/yaml');");
	return check_failures_in_test ? -1 : 0;
}

static void teardown(struct fixture *f)
{
	close_app(f);
	bo_error_cleanup(&f->err);
}

static cJSON *load(struct fixture *f, const char *key)
{
	char *text = NULL;
	size_t len = 0;
	struct bo_error err = BO_ERROR_INIT;
	int rc = storage_get_buffer(f->a->storage, key, 64 << 20, &text, &len, &err);
	check(rc == 0, "%s: %s", key, err.detail);
	bo_error_cleanup(&err);
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	check(o != NULL, "%s is not JSON", key);
	free(text);
	return o;
}

static char *load_text(struct fixture *f, const char *key, size_t *len)
{
	char *text = NULL;
	struct bo_error err = BO_ERROR_INIT;
	storage_get_buffer(f->a->storage, key, 64 << 20, &text, len, &err);
	bo_error_cleanup(&err);
	return text;
}

static const cJSON *entry_of(const cJSON *index, const char *id)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(index, "collection"))
	{
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(e, "id");
		if (cJSON_IsString(i) && !strcmp(i->valuestring, id))
			return e;
	}
	return NULL;
}

static int json_kind(const cJSON *v)
{
	if (cJSON_IsBool(v))
		return cJSON_True; /* true and false are one JSON type */
	return v ? (v->type & 0xff) : -1;
}

static void test_collection__keys_and_types_match_real_index(void)
{
	struct fixture f;
	char path[8192];
	const char *corpus = getenv("BO_CORPUS_DIR");
	snprintf(path, sizeof(path), "%.4000s/%s", corpus && *corpus ? corpus : check_src("../shared/corpus"),
		 REAL_INDEX);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		skip_test("%s is absent (the community corpus sits beside the checkout in CI)", path);
	static char buf[4 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	cJSON *real = cJSON_Parse(buf);
	require(real, "%s does not parse", path);
	if (setup(&f)) {
		cJSON_Delete(real);
		teardown(&f);
		return;
	}
	int rc = collection_rebuild(f.a, "test", &f.err);
	check(rc == 0, "rebuild: %s", f.err.detail);
	cJSON *ours = load(&f, "collection.json");
	const cJSON *mine = entry_of(ours, "affable-shark");
	check(mine != NULL, "affable-shark is listed");
	/* the real index's keys are optional there (download_url in about half its entries,
	 * icon in few): every key we write that it has too is of the same JSON type */
	int keys = 0;
	const cJSON *e, *k;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(real, "collection"))
	{
		cJSON_ArrayForEach(k, e)
		{
			const cJSON *v = mine ? cJSON_GetObjectItemCaseSensitive(mine, k->string) : NULL;
			keys++;
			/* the reference's download_count is "?" or a number; the legacy index only has numbers */
			int unknown_count = !strcmp(k->string, "download_count") && cJSON_IsString(v) &&
					    !strcmp(v->valuestring, "?");
			if (v && !cJSON_IsNull(v) && !cJSON_IsNull(k) && !unknown_count)
				check(json_kind(v) == json_kind(k), "entry key %s: type %d, the real index has %d", k->string,
				      json_kind(v), json_kind(k));
		}
	}
	check(keys > 100, "the real index has entries (%d keys seen)", keys);
	/* the keys every entry has (DESIGN §6.1, and the reference's required ones) */
	static const char *const required[] = {"id", "name", "description", "type", "authors", "badges", "covers",
					       "concept_doi", "created", "download_count", "license", "links", "tags",
					       "nickname_icon", "rdf_source", "rdf_sha256", "root_url",
					       "versions", "dois", "owners"};
	for (size_t i = 0; mine && i < sizeof(required) / sizeof(required[0]); i++)
		check(cJSON_GetObjectItemCaseSensitive(mine, required[i]) != NULL, "key %s is missing", required[i]);
	/* present because the RDF has them: an icon file, training_data with an id */
	check(mine && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(mine, "icon")), "the RDF's icon");
	check(mine && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(mine, "training_data"), "id")),
	      "the RDF's training_data");
	/* absent from the RDF, so absent from the entry: nothing invented or empty */
	const cJSON *bee = entry_of(ours, "busy-bee");
	static const char *const absent[] = {"icon", "training_data", "download_url", "source"};
	for (size_t i = 0; bee && i < sizeof(absent) / sizeof(absent[0]); i++)
		check(!cJSON_HasObjectItem(bee, absent[i]), "busy-bee has %s, which its RDF has not", absent[i]);
	check(bee != NULL, "busy-bee is listed");
	check(mine && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(mine, "dois")) ==
			      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(mine, "versions")),
	      "one doi per listed version");
	/* top level: every key of the real index */
	cJSON_ArrayForEach(k, real)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(ours, k->string);
		check(v != NULL && json_kind(v) == json_kind(k), "top-level key %s missing or of another type", k->string);
	}
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(ours, "config");
	const cJSON *nres = cJSON_GetObjectItemCaseSensitive(cfg, "n_resources");
	const cJSON *nver = cJSON_GetObjectItemCaseSensitive(cfg, "n_resource_versions");
	check(cJSON_GetObjectItemCaseSensitive(nres, "model") &&
		      cJSON_GetObjectItemCaseSensitive(nres, "model")->valuedouble == 1,
	      "one model listed (daring-dog is still publishing)");
	check(cJSON_GetObjectItemCaseSensitive(nver, "model")->valuedouble == 2, "two model versions (one yanked)");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(cfg, "url_root")->valuestring, "http://bo.test/files/"),
	      "url_root is the storage root with its slash: %s", cJSON_GetObjectItemCaseSensitive(cfg, "url_root")->valuestring);
	const cJSON *owners = cJSON_GetObjectItemCaseSensitive(mine, "owners");
	check(cJSON_GetArraySize(owners) == 1 && cJSON_GetArrayItem(owners, 0)->valuedouble == 8, "owners = [8]");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(mine, "nickname_icon")->valuestring, "\xf0\x9f\xa6\x88"),
	      "nickname_icon is the id emoji");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(mine, "tags");
	check(cJSON_GetArraySize(tags) == 3 && !strcmp(cJSON_GetArrayItem(tags, 0)->valuestring, "2d") &&
		      !strcmp(cJSON_GetArrayItem(tags, 2)->valuestring, "unet"),
	      "tags sorted and deduplicated");
	const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(mine, "authors"), 0);
	check(a0 && !cJSON_GetObjectItemCaseSensitive(a0, "github_user") &&
		      cJSON_GetObjectItemCaseSensitive(a0, "affiliation"),
	      "authors keep name/affiliation/email/orcid only");
	cJSON *draft = load(&f, "collection_draft.json");
	const cJSON *de = entry_of(draft, "daring-dog");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(de, "status");
	check(st && !strcmp(cJSON_GetObjectItemCaseSensitive(st, "name")->valuestring, "awaiting review") &&
		      cJSON_GetObjectItemCaseSensitive(st, "step")->valuedouble == 4 &&
		      cJSON_GetObjectItemCaseSensitive(st, "num_steps")->valuedouble == 6,
	      "draft entry carries the status object");
	check(de && strstr(cJSON_GetObjectItemCaseSensitive(de, "rdf_source")->valuestring, "/daring-dog/draft/files/rdf.yaml"),
	      "draft rdf_source points into the draft");
	cJSON_Delete(draft);
	cJSON_Delete(ours);
	cJSON_Delete(real);
	teardown(&f);
}

/* The reference's rules for what an entry says (bioimage-io/collection, CollectionEntry
 * and create_collection_entries): the listed version's date, "?" while downloads are not
 * counted (dates are the versions' creation, info.json's created), a nickname only for legacy RDFs, license null when the RDF has none, badges
 * resolved like covers; entries newest first, all_versions.json's concepts newest
 * version first. */
static void test_collection__reference_rules(void)
{
	struct fixture f;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	check(collection_rebuild(f.a, "test", &f.err) == 0, "rebuild: %s", f.err.detail);
	cJSON *c = load(&f, "collection.json"), *av = load(&f, "all_versions.json");
	const cJSON *e, *shark = entry_of(c, "affable-shark"), *bee = entry_of(c, "busy-bee");
	require(shark && bee, "both listed");
	char order[256] = "";
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "collection"))
	{
		strncat(order, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id")), sizeof(order) - strlen(order) - 2);
		strncat(order, " ", sizeof(order) - strlen(order) - 1);
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "download_count")) ?: "", "?"),
		      "download_count is not \"?\"");
		check(!cJSON_HasObjectItem(e, "nickname"), "a nickname invented for %s",
		      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id")));
	}
	check(!strcmp(order, "busy-bee affable-shark "), "entries not newest first: %s", order);
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(shark, "created")), "2026-01-01T00:00:00Z"),
	      "created is not the listed version's: %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(shark, "created")));
	check(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(bee, "license")), "an absent license is not null");
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(shark, "license")), "MIT"), "license");
	const cJSON *b1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(shark, "badges"), 1);
	check(b1 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b1, "icon")) ?: "",
			    "http://bo.test/files/affable-shark/1/files/badge.svg"),
	      "badge icon not resolved: %s", b1 ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b1, "icon")) : "-");
	check(b1 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b1, "url")) ?: "",
			    "http://bo.test/files/affable-shark/1/files/docs/index.html"),
	      "badge url not resolved");
	check(b1 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b1, "label")) ?: "", "v1.0"),
	      "a badge label was taken for a path");
	const cJSON *b0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(shark, "badges"), 0);
	check(b0 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b0, "url")) ?: "", "https://b"),
	      "an absolute badge url changed");
	order[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(av, "entries"))
	{
		strncat(order, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "concept")), sizeof(order) - strlen(order) - 2);
		strncat(order, " ", sizeof(order) - strlen(order) - 1);
	}
	check(!strcmp(order, "affable-shark calm-cat busy-bee "), "all_versions not newest version first: %s", order);
	/* a legacy RDF keeps its nickname, and its icon */
	exec(&f, "UPDATE versions SET rdf_json = json_set(rdf_json, '$.config.bioimageio.nickname', 'loyal-goat', "
		 "'$.config.bioimageio.nickname_icon', 'G'), rdf_sha256 = 'b2' || substr(rdf_sha256, 3) "
		 "WHERE concept_id = 'busy-bee'");
	check(collection_rebuild(f.a, "legacy", &f.err) == 0, "rebuild: %s", f.err.detail);
	cJSON_Delete(c);
	c = load(&f, "collection.json");
	bee = entry_of(c, "busy-bee");
	check(bee && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(bee, "nickname")) ?: "", "loyal-goat") &&
		      !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(bee, "nickname_icon")) ?: "", "G"),
	      "a legacy nickname was dropped");
	cJSON_Delete(c);
	cJSON_Delete(av);
	teardown(&f);
}

static void test_collection__yanked_fallback(void)
{
	struct fixture f;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	check(collection_rebuild(f.a, "test", &f.err) == 0, "rebuild: %s", f.err.detail);
	cJSON *c = load(&f, "collection.json");
	const cJSON *e = entry_of(c, "affable-shark");
	require(e, "affable-shark listed");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(e, "version")->valuestring, "1"), "falls back to version 1");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring, "Shark"), "with version 1's RDF");
	check(strstr(cJSON_GetObjectItemCaseSensitive(e, "rdf_source")->valuestring, "/affable-shark/1/files/rdf.yaml"),
	      "rdf_source of version 1");
	const cJSON *vs = cJSON_GetObjectItemCaseSensitive(e, "versions");
	check(cJSON_GetArraySize(vs) == 1, "the yanked version is not listed in versions");
	check(entry_of(c, "calm-cat") == NULL, "a concept whose every version is yanked is not listed");
	check(entry_of(c, "daring-dog") == NULL, "a version still publishing is not listed");
	cJSON *av = load(&f, "all_versions.json");
	const cJSON *ent;
	int yanked = 0, seen_cat = 0;
	cJSON_ArrayForEach(ent, cJSON_GetObjectItemCaseSensitive(av, "entries"))
	{
		const char *id = cJSON_GetObjectItemCaseSensitive(ent, "concept")->valuestring;
		seen_cat |= !strcmp(id, "calm-cat");
		const cJSON *v;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(ent, "versions"))
		{
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "yanked")))
				yanked++;
		}
		check(strcmp(id, "daring-dog"), "publishing versions are not in all_versions");
	}
	check(yanked == 2 && seen_cat, "yanked versions listed with yanked: true (%d)", yanked);
	cJSON *vj = load(&f, "affable-shark/versions.json");
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(vj, "versions"), 0);
	check(first && !strcmp(cJSON_GetObjectItemCaseSensitive(first, "v")->valuestring, "2"),
	      "versions.json newest first");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(vj, "concept_doi")->valuestring, "10.5281/zenodo.100"),
	      "versions.json concept_doi");
	cJSON_Delete(vj);
	cJSON_Delete(av);
	cJSON_Delete(c);
	teardown(&f);
}

static void test_collection__deterministic_bytes(void)
{
	struct fixture f;
	char *one[8] = {0};
	size_t len[8] = {0};
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	check(collection_rebuild(f.a, "first", &f.err) == 0, "rebuild: %s", f.err.detail);
	for (size_t i = 0; i < collection_files_count; i++)
		one[i] = load_text(&f, collection_files[i], &len[i]);
	/* a fresh process (cold memo) building the same database */
	close_app(&f);
	require(open_app(&f) == 0, "reopen");
	/* remove the files so the rebuild must write them again */
	for (size_t i = 0; i < collection_files_count; i++)
		storage_delete(f.a->storage, collection_files[i], &f.err);
	check(collection_rebuild(f.a, "second", &f.err) == 0, "rebuild: %s", f.err.detail);
	for (size_t i = 0; i < collection_files_count; i++) {
		size_t l2 = 0;
		char *two = load_text(&f, collection_files[i], &l2);
		check(one[i] && two && len[i] == l2 && !memcmp(one[i], two, l2), "%s differs between builds",
		      collection_files[i]);
		free(two);
		free(one[i]);
	}
	cJSON *h = NULL;
	check(history_list(f.cfg->history_dir, 10, &h, &f.err) == 0, "history: %s", f.err.detail);
	check(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "commits")) == 1,
	      "the same collection is committed once");
	cJSON_Delete(h);
	teardown(&f);
}

static void test_collection__id_map_resolves_every_alias(void)
{
	struct fixture f;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	check(collection_rebuild(f.a, "test", &f.err) == 0, "rebuild: %s", f.err.detail);
	cJSON *m = load(&f, "id_map.json");
	cJSON *av = load(&f, "all_versions.json");
	static const char *const want[][2] = {
		{"affable-shark", "1"},        {"affable-shark/1", "1"}, {"affable-shark/2", "2"},
		{"10.5281/zenodo.100", "1"},   {"10.5281/zenodo.101", "1"}, {"busy-bee", "1"},
		{"busy-bee/1", "1"},           {"calm-cat/1", "1"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, want[i][0]);
		char tail[64];
		snprintf(tail, sizeof(tail), "/%s/files/rdf.yaml", want[i][1]);
		const char *src = r ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "source")) : NULL;
		check(src && strlen(src) > strlen(tail) && !strcmp(src + strlen(src) - strlen(tail), tail),
		      "alias %s resolves to version %s (%s)", want[i][0], want[i][1], src ? src : "-");
	}
	check(!cJSON_GetObjectItemCaseSensitive(m, "calm-cat"), "an all-yanked concept has no latest alias");
	/* every alias points at a version all_versions lists, with the same sha256 */
	const cJSON *alias;
	int n = 0;
	cJSON_ArrayForEach(alias, m)
	{
		/* exactly bioimageio.spec's LightHttpFileDescr: source and a 64-hex sha256 */
		check(cJSON_GetArraySize(alias) == 2, "alias %s has %d keys", alias->string, cJSON_GetArraySize(alias));
		const char *src = cJSON_GetObjectItemCaseSensitive(alias, "source")->valuestring;
		const char *sha = cJSON_GetObjectItemCaseSensitive(alias, "sha256")->valuestring;
		check(strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64, "alias %s sha256 %s", alias->string, sha);
		int found = 0;
		const cJSON *ent, *v;
		cJSON_ArrayForEach(ent, cJSON_GetObjectItemCaseSensitive(av, "entries"))
		{
			cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(ent, "versions"))
			{
				found |= !strcmp(cJSON_GetObjectItemCaseSensitive(v, "source")->valuestring, src) &&
					 !strcmp(cJSON_GetObjectItemCaseSensitive(v, "sha256")->valuestring, sha);
			}
		}
		check(found, "alias %s -> %s is in all_versions", alias->string, src);
		n++;
	}
	check(n == 8, "8 aliases (got %d)", n);
	cJSON *dm = load(&f, "id_map_draft.json");
	cJSON *dav = load(&f, "all_versions_draft.json");
	/* a draft whose rdf.yaml is staged resolves as <id>/draft and <id>; all_versions_draft
	 * has the reference's entries[].versions[] with v "draft" */
	int drafts = 0;
	const cJSON *dent;
	cJSON_ArrayForEach(dent, cJSON_GetObjectItemCaseSensitive(dav, "entries"))
	{
		const cJSON *v0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(dent, "versions"), 0);
		check(v0 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v0, "v")) ?: "", "draft"),
		      "draft entry without versions[0].v == draft");
		check(cJSON_HasObjectItem(dent, "concept_doi") && cJSON_HasObjectItem(v0, "created") &&
			      cJSON_HasObjectItem(v0, "doi") && cJSON_HasObjectItem(v0, "source") &&
			      cJSON_HasObjectItem(v0, "sha256"),
		      "draft entry fields");
		const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v0, "sha256"));
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dent, "concept"));
		char dalias[256];
		snprintf(dalias, sizeof(dalias), "%s/draft", id ? id : "");
		const cJSON *da = cJSON_GetObjectItemCaseSensitive(dm, dalias);
		if (sha) {
			drafts++;
			check(da && cJSON_GetArraySize(da) == 2 &&
				      !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(da, "sha256")) ?: "", sha),
			      "%s in id_map_draft.json", dalias);
			check(cJSON_GetObjectItemCaseSensitive(dm, id) != NULL, "%s in id_map_draft.json", id);
		} else {
			check(da == NULL, "%s without a staged rdf.yaml is resolvable", dalias);
		}
	}
	check(drafts == 1, "the staged draft daring-dog resolves (%d)", drafts);
	cJSON_ArrayForEach(alias, dm)
		check(cJSON_GetArraySize(alias) == 2, "draft alias %s has %d keys", alias->string, cJSON_GetArraySize(alias));
	cJSON_Delete(dav);
	cJSON_Delete(dm);
	cJSON_Delete(av);
	cJSON_Delete(m);
	teardown(&f);
}

static void test_collection__thumbnails_and_absolute_urls(void)
{
	struct fixture f;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	check(collection_rebuild(f.a, "test", &f.err) == 0, "rebuild: %s", f.err.detail);
	cJSON *c = load(&f, "collection.json");
	const cJSON *e = entry_of(c, "affable-shark");
	const cJSON *covers = cJSON_GetObjectItemCaseSensitive(e, "covers");
	require(cJSON_GetArraySize(covers) == 2, "two covers");
	check(!strcmp(cJSON_GetArrayItem(covers, 0)->valuestring,
		      "http://bo.test/files/affable-shark/1/files/cover.thumbnail.png"),
	      "thumbnail swapped in: %s", cJSON_GetArrayItem(covers, 0)->valuestring);
	check(!strcmp(cJSON_GetArrayItem(covers, 1)->valuestring, "https://x.org/c.png"), "absolute URLs kept");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(e, "icon")->valuestring,
		      "http://bo.test/files/affable-shark/1/files/icon.png"),
	      "icon made absolute");
	check(!strcmp(cJSON_GetObjectItemCaseSensitive(e, "root_url")->valuestring,
		      "http://bo.test/files/affable-shark/1/files"),
	      "root_url");
	cJSON_Delete(c);
	teardown(&f);
}

static void test_collection__coalesced_reasons_become_the_commit_message(void)
{
	struct fixture f;
	sqlite3 *c = NULL;
	int ran = 0;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	require(db_acquire(f.a->db, &c, &f.err) == 0, "acquire");
	for (int i = 0; i < 2; i++) {
		check(db_begin(c, &f.err) == 0, "begin");
		check(collection_enqueue_rebuild(c, i ? "yank affable-shark/2 (by Rita)" : "publish busy-bee/1", &f.err) ==
			      0,
		      "enqueue: %s", f.err.detail);
		check(db_commit(c, &f.err) == 0, "commit");
	}
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(c, "SELECT count(*) FROM jobs WHERE kind = 'rebuild' AND state = 'queued'", -1, &st, NULL);
	check(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1, "one coalesced job");
	sqlite3_finalize(st);
	db_release(f.a->db, c);
	check(jobs_run_one(f.a->jobs, "rebuild", &ran, &f.err) == 0 && ran == 1, "run: %s", f.err.detail);
	cJSON *h = NULL;
	check(history_list(f.cfg->history_dir, 10, &h, &f.err) == 0, "history");
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(h, "commits"), 0);
	check(c0 && !strcmp(cJSON_GetObjectItemCaseSensitive(c0, "message")->valuestring,
			    "publish busy-bee/1\nyank affable-shark/2 (by Rita)"),
	      "message joins the reasons: %s", c0 ? cJSON_GetObjectItemCaseSensitive(c0, "message")->valuestring : "");
	cJSON_Delete(h);
	teardown(&f);
}

static void test_collection__incremental_writes_only_what_changed(void)
{
	struct fixture f;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	check(collection_rebuild(f.a, "first", &f.err) == 0, "rebuild: %s", f.err.detail);
	/* if the next rebuild rewrote busy-bee's versions.json, it would come back */
	check(storage_delete(f.a->storage, "busy-bee/versions.json", &f.err) == 0, "delete");
	exec(&f, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) "
		 "VALUES ('affable-shark', '3', 'published', '{\"id\":\"affable-shark\",\"name\":\"Shark 3\"}', 'sha-s3', "
		 "'2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')");
	check(collection_rebuild(f.a, "publish affable-shark/3", &f.err) == 0, "rebuild: %s", f.err.detail);
	cJSON *c = load(&f, "collection.json");
	const cJSON *e = entry_of(c, "affable-shark");
	check(e && !strcmp(cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring, "Shark 3"), "new version listed");
	cJSON *vj = load(&f, "affable-shark/versions.json");
	check(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(vj, "versions")) == 3, "versions.json updated");
	struct storage_stat st;
	struct bo_error e2 = BO_ERROR_INIT;
	check(storage_head(f.a->storage, "busy-bee/versions.json", &st, &e2) == BO_ENOTFOUND,
	      "an unchanged concept's versions.json is not rewritten");
	bo_error_cleanup(&e2);
	cJSON *h = NULL;
	check(history_list(f.cfg->history_dir, 10, &h, &f.err) == 0, "history");
	check(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "commits")) == 2, "two commits");
	cJSON_Delete(h);
	cJSON_Delete(vj);
	cJSON_Delete(c);
	teardown(&f);
}

static void test_collection__serving_cache(void)
{
	struct fixture f;
	collection_blob *b = NULL, *b2 = NULL;
	if (setup(&f)) {
		teardown(&f);
		return;
	}
	/* nothing built yet: the first get builds from the database */
	require(collection_get(f.a, "collection.json", &b, &f.err) == 0, "get: %s", f.err.detail);
	size_t len = 0, slen = 0;
	const char *data = collection_blob_data(b, &len);
	char *stored = load_text(&f, "collection.json", &slen);
	check(stored && slen == len && !memcmp(stored, data, len), "cache holds the stored bytes");
	check(strlen(collection_blob_etag(b)) == 66 && collection_blob_etag(b)[0] == '"', "strong sha256 etag");
	check(collection_get(f.a, "id_map.json", &b2, &f.err) == 0, "second file");
	collection_blob_release(b2);
	b2 = NULL;
	/* a rebuild with changes replaces the cached blob; the old reference stays valid */
	exec(&f, "UPDATE versions SET state = 'yanked' WHERE concept_id = 'busy-bee'");
	check(collection_rebuild(f.a, "yank", &f.err) == 0, "rebuild: %s", f.err.detail);
	check(collection_get(f.a, "collection.json", &b2, &f.err) == 0, "get again");
	check(b2 && strcmp(collection_blob_etag(b), collection_blob_etag(b2)), "new etag after a change");
	check(memchr(data, 'c', len) != NULL, "old bytes still readable");
	struct bo_error e2 = BO_ERROR_INIT;
	collection_blob *none = NULL;
	check(collection_get(f.a, "secrets.json", &none, &e2) == BO_ENOTFOUND, "only index files");
	bo_error_cleanup(&e2);
	free(stored);
	collection_blob_release(b);
	collection_blob_release(b2);
	teardown(&f);
}

static struct check_test tests[] = {
	TEST(test_collection__keys_and_types_match_real_index),
	TEST(test_collection__reference_rules),
	TEST(test_collection__yanked_fallback),
	TEST(test_collection__deterministic_bytes),
	TEST(test_collection__id_map_resolves_every_alias),
	TEST(test_collection__thumbnails_and_absolute_urls),
	TEST(test_collection__coalesced_reasons_become_the_commit_message),
	TEST(test_collection__incremental_writes_only_what_changed),
	TEST(test_collection__serving_cache),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

/* Unit tests for ids: parsing against the real vocabulary and the published collection,
 * hyphenated words, hostile input, generation, reservation and concurrent reservation. */
#include "check.h"

#include "infra/db.h"
#include "common/error.h"
#include "domain/ids.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <regex.h>

#define COLLECTION "collection/collection-bioimage-io__gh-pages__collection.json"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
		buf[n] = '\0';
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static cJSON *load_json(const char *path)
{
	char *text = slurp(path);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	free(text);
	return j;
}

static ids *load_real(void)
{
	struct bo_error err = BO_ERROR_INIT;
	ids *v = NULL;
	int rc = ids_load(&v, check_src("schema/id_parts.json"), &err);
	check(rc == 0, "ids_load: %s", err.detail);
	bo_error_cleanup(&err);
	return v;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Expects id to parse as vocab type `type` with emoji `emoji` (NULL = any). */
static void expect_id(const ids *v, const char *id, const char *type, const char *emoji)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ids_info info = {NULL, NULL};
	int rc = ids_parse(v, id, &info, &err);
	check(rc == 0, "%s: %s", id, err.detail);
	if (rc == 0) {
		check(!strcmp(info.vocab_type, type), "%s: type %s, want %s", id, info.vocab_type, type);
		if (emoji)
			check(!strcmp(info.emoji, emoji), "%s: emoji %s, want %s", id, info.emoji, emoji);
	}
	bo_error_cleanup(&err);
}

static void expect_invalid(const ids *v, const char *id, const char *detail_part)
{
	struct bo_error err = BO_ERROR_INIT;
	int rc = ids_parse(v, id, NULL, &err);
	check(rc == BO_EINVALIDID, "'%.80s' gave %d, want BO_EINVALIDID", id, rc);
	check(strstr(err.detail, detail_part) != NULL, "'%.80s': detail '%s' lacks '%s'", id, err.detail,
	      detail_part);
	bo_error_cleanup(&err);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static void test_ids__vocab_type(void)
{
	check(!strcmp(ids_vocab_type("model"), "model"), "model");
	check(!strcmp(ids_vocab_type("dataset"), "dataset"), "dataset");
	check(!strcmp(ids_vocab_type("notebook"), "notebook"), "notebook");
	check(!strcmp(ids_vocab_type("application"), "notebook"), "application");
	check(!strcmp(ids_vocab_type("generic"), "notebook"), "generic");
	check(ids_vocab_type("collection") == NULL, "collection gets no id");
	check(ids_vocab_type("Model") == NULL, "types are case-sensitive");
	check(ids_vocab_type(NULL) == NULL, "NULL");
}

static void test_ids__known_ids_and_emoji(void)
{
	ids *v = load_real();
	require(v, "vocabulary");
	expect_id(v, "affable-shark", "model", "\U0001F988");
	expect_id(v, "ambitious-sloth", "model", "\U0001F9A5");
	expect_id(v, "passionate-t-rex", "model", "\U0001F996");
	expect_id(v, "easy-going-sauropod", "model", "\U0001F995");
	expect_id(v, "appetizing-apple", "dataset", "\U0001F34E");
	expect_id(v, "adorable-blouse", "notebook", "\U0001F45A");
	check(!strcmp(ids_emoji(v, "affable-shark"), "\U0001F988"), "ids_emoji of a valid id");
	check(!strcmp(ids_emoji(v, "passionate-t-rex"), "\U0001F996"), "ids_emoji with a hyphenated noun");
	check(!strcmp(ids_emoji(v, "not-an-id"), ""), "ids_emoji of an unknown id is empty");
	check(!strcmp(ids_emoji(v, ""), ""), "ids_emoji of an empty string is empty");
	ids_free(v);
}

/* Every nickname (and id) of the published collection that looks like adjective-noun must
 * parse, with the type and emoji the collection gives it. */
static void test_ids__corpus_collection(void)
{
	char path[8192], base[4096];
	const char *corpus = getenv("BO_CORPUS_DIR");
	snprintf(base, sizeof(base), "%s", corpus ? corpus : check_src("../shared/corpus"));
	snprintf(path, sizeof(path), "%s/%s", base, COLLECTION);
	if (access(path, R_OK) != 0) {
		skip_test("%s is missing", path);
	}
	ids *v = load_real();
	cJSON *col = load_json(path);
	regex_t re;
	require(regcomp(&re, "^[a-z]+(-[a-z]+)+$", REG_EXTENDED | REG_NOSUB) == 0, "regcomp");
	int parsed = 0, shark = 0, sloth = 0;
	const cJSON *e;
	if (!v || !col)
		goto out;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(col, "collection")) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
		const char *icon = cJSON_GetStringValue(cJSON_GetObjectItem(e, "nickname_icon"));
		const char *fields[] = {"id", "nickname"};
		for (size_t f = 0; f < 2; f++) {
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, fields[f]));
			if (!id || regexec(&re, id, 0, NULL, 0) != 0)
				continue;
			expect_id(v, id, ids_vocab_type(type), f == 1 ? icon : NULL);
			parsed++;
			shark += !strcmp(id, "affable-shark");
			sloth += !strcmp(id, "ambitious-sloth");
		}
	}
	check(parsed >= 40, "only %d adjective-noun ids found in the collection", parsed);
	check(shark == 1 && sloth == 1, "affable-shark %d, ambitious-sloth %d", shark, sloth);
out:
	check(v && col, "vocabulary and collection load");
	regfree(&re);
	cJSON_Delete(col);
	ids_free(v);
}

/* Every adjective x noun of every type, read from the JSON independently of ids.c. This covers
 * all the real hyphenated words ("easy-going", "t-rex", "french-fries", "well-fitted"). */
static void test_ids__whole_vocabulary(void)
{
	ids *v = load_real();
	cJSON *parts = load_json(check_src("schema/id_parts.json"));
	const cJSON *type;
	int hyph_adj = 0, hyph_noun = 0, both = 0;
	char id[128];
	require(v && parts, "load");
	cJSON_ArrayForEach(type, parts) {
		const cJSON *a, *n;
		const cJSON *adjs = cJSON_GetObjectItem(type, "adjectives"), *nouns = cJSON_GetObjectItem(type, "nouns");
		check((uint64_t)cJSON_GetArraySize(adjs) * (uint64_t)cJSON_GetArraySize(nouns) ==
			      ids_space(v, type->string),
		      "ids_space(%s)", type->string);
		cJSON_ArrayForEach(a, adjs) {
			cJSON_ArrayForEach(n, nouns) {
				snprintf(id, sizeof(id), "%s-%s", a->valuestring, n->string);
				int before = check_failures_in_test;
				expect_id(v, id, type->string, n->valuestring);
				if (check_failures_in_test != before)
					goto out; /* one report is enough */
				int ha = strchr(a->valuestring, '-') != NULL, hn = strchr(n->string, '-') != NULL;
				hyph_adj += ha;
				hyph_noun += hn;
				both += ha && hn;
			}
		}
	}
	check(hyph_adj > 0 && hyph_noun > 0 && both > 0, "hyphenated words: adj %d noun %d both %d", hyph_adj,
	      hyph_noun, both);
	check(ids_space(v, "collection") == 0, "no space for collection");
out:
	cJSON_Delete(parts);
	ids_free(v);
}

static void test_ids__hyphenated_parts(void)
{
	ids *v = load_real();
	require(v, "load");
	expect_id(v, "easy-going-t-rex", "model", "\U0001F996");
	expect_id(v, "non-judgemental-eagle", "model", NULL);
	expect_id(v, "laid-back-lobster", "model", NULL);
	expect_id(v, "self-disciplined-water-buffalo", "model", "\U0001F403");
	expect_id(v, "appetizing-french-fries", "dataset", NULL);
	expect_id(v, "well-fitted-t-shirt", "notebook", NULL);
	expect_id(v, "all-purpose-lab-coat", "notebook", NULL);
	/* a noun from another vocabulary's hyphenated word must not be accepted */
	expect_invalid(v, "easy-going-t-shirt", "different vocabularies");
	expect_invalid(v, "easy-going-t", "not a known noun");
	ids_free(v);
}

static void test_ids__wrong_input(void)
{
	ids *v = load_real();
	char longid[201];
	require(v, "load");
	memset(longid, 'a', 200);
	longid[200] = '\0';
	longid[7] = '-';
	expect_invalid(v, "Affable-shark", "lowercase");
	expect_invalid(v, "affable", "adjective-noun");
	expect_invalid(v, "affable-", "adjective-noun");
	expect_invalid(v, "-shark", "adjective-noun");
	expect_invalid(v, "affable--shark", "adjective-noun");
	expect_invalid(v, "affable-shark-", "adjective-noun");
	expect_invalid(v, "x-y", "known adjective");
	expect_invalid(v, "affable-xyz", "'xyz' is not a known noun");
	expect_invalid(v, "affable-apple", "different vocabularies");
	expect_invalid(v, longid, "longer than 64");
	expect_invalid(v, "", "empty");
	expect_invalid(v, NULL, "empty");
	expect_invalid(v, "affable shark", "lowercase");
	expect_invalid(v, "affable_shark", "lowercase");
	expect_invalid(v, "affable-shark/../x", "lowercase");
	expect_invalid(v, "aff\xc3\xa4" "ble-shark", "lowercase");
	/* the long id is not echoed back */
	struct bo_error err = BO_ERROR_INIT;
	ids_parse(v, longid, NULL, &err);
	check(strstr(err.detail, "aaaaaaaaaa") == NULL, "detail echoes the long id: %s", err.detail);
	bo_error_cleanup(&err);
	ids_free(v);
}

/* ---- loading ---------------------------------------------------------------------------- */

static void expect_load_fails(const char *json, const char *detail_part)
{
	struct bo_error err = BO_ERROR_INIT;
	ids *v = NULL;
	write_file("parts.json", json);
	int rc = ids_load(&v, "parts.json", &err);
	check(rc == BO_EINTERNAL && v == NULL, "load of %.60s gave %d", json, rc);
	check(strstr(err.detail, detail_part) != NULL, "detail '%s' lacks '%s'", err.detail, detail_part);
	bo_error_cleanup(&err);
	ids_free(v);
}

#define GOOD_DATASET "\"dataset\":{\"adjectives\":[\"tasty\"],\"nouns\":{\"apple\":\"A\"}}"
#define GOOD_NOTEBOOK "\"notebook\":{\"adjectives\":[\"comfy\"],\"nouns\":{\"hat\":\"H\"}}"

static void test_ids__load_errors(void)
{
	struct bo_error err = BO_ERROR_INIT;
	ids *v = NULL;
	check(ids_load(&v, "missing.json", &err) == BO_EINTERNAL, "missing file");
	check(strstr(err.detail, "missing.json") != NULL, "detail names the file: %s", err.detail);
	bo_error_cleanup(&err);
	expect_load_fails("{\"model\": [", "not valid JSON");
	expect_load_fails("[]", "JSON object");
	expect_load_fails("{" GOOD_DATASET "," GOOD_NOTEBOOK "}", "no 'model'");
	expect_load_fails("{\"model\":{\"adjectives\":[\"Big\"],\"nouns\":{\"cat\":\"C\"}}," GOOD_DATASET "," GOOD_NOTEBOOK "}",
			  "lowercase");
	expect_load_fails("{\"model\":{\"adjectives\":[\"big\",\"big\"],\"nouns\":{\"cat\":\"C\"}}," GOOD_DATASET
			  "," GOOD_NOTEBOOK "}",
			  "listed twice");
	expect_load_fails("{\"model\":{\"adjectives\":[\"big\"],\"nouns\":{\"cat\":1}}," GOOD_DATASET "," GOOD_NOTEBOOK "}",
			  "emoji");
	expect_load_fails("{\"model\":{\"adjectives\":[],\"nouns\":{\"cat\":\"C\"}}," GOOD_DATASET "," GOOD_NOTEBOOK "}",
			  "at least one");
	/* "a" + "b-c" and "a-b" + "c" are the same id */
	expect_load_fails("{\"model\":{\"adjectives\":[\"a\",\"a-b\"],\"nouns\":{\"b-c\":\"X\",\"c\":\"Y\"}}," GOOD_DATASET
			  "," GOOD_NOTEBOOK "}",
			  "more than one way");
	/* the same id in two types */
	expect_load_fails("{\"model\":{\"adjectives\":[\"tasty\"],\"nouns\":{\"apple\":\"X\"}}," GOOD_DATASET
			  "," GOOD_NOTEBOOK "}",
			  "more than one way");
	/* over 4 MiB */
	FILE *f = fopen("big.json", "wb");
	require(f, "create big.json");
	require(ftruncate(fileno(f), (off_t)IDS_VOCAB_MAX_BYTES + 1) == 0, "truncate");
	fclose(f);
	check(ids_load(&v, "big.json", &err) == BO_EINTERNAL && v == NULL, "oversized file");
	check(strstr(err.detail, "larger than") != NULL, "detail: %s", err.detail);
	bo_error_cleanup(&err);
}

/* ---- generation ------------------------------------------------------------------------- */

static int cmp_ids(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

static void test_ids__generate_parses_back(void)
{
	ids *v = load_real();
	struct bo_error err = BO_ERROR_INIT;
	const char *types[] = {"model", "dataset", "notebook", "application", "generic"};
	enum { N = 2000 };
	static char got[N][IDS_MAX + 1];
	require(v, "load");
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (int i = 0; i < N; i++) {
			int rc = ids_generate(v, types[t], got[i], sizeof(got[i]), &err);
			require(rc == 0, "generate %s: %s", types[t], err.detail);
			expect_id(v, got[i], ids_vocab_type(types[t]), NULL);
		}
		/* uniform draws over >= 3,000 ids: 2,000 draws are nearly all distinct */
		qsort(got, N, sizeof(got[0]), cmp_ids);
		int distinct = 1;
		for (int i = 1; i < N; i++)
			distinct += strcmp(got[i - 1], got[i]) != 0;
		check(distinct > 1000, "%s: only %d distinct ids in %d draws", types[t], distinct, N);
	}
	char small[8];
	check(ids_generate(v, "model", small, sizeof(small), &err) == BO_EINTERNAL, "small buffer");
	check(strstr(err.detail, "too small") != NULL && small[0] == '\0', "detail: %s", err.detail);
	bo_error_cleanup(&err);
	check(ids_generate(v, "collection", got[0], sizeof(got[0]), &err) == BO_EBADREQUEST, "collection");
	bo_error_cleanup(&err);
	ids_free(v);
}

/* ---- reservation ------------------------------------------------------------------------ */

struct fixture {
	db *d;
	sqlite3 *c;
	ids *v;
};

static int fixture_open(struct fixture *fx, const char *vocab_path)
{
	struct bo_error err = BO_ERROR_INIT;
	memset(fx, 0, sizeof(*fx));
	int rc = db_open(&fx->d, "t.db", check_src("migrations"), &err);
	if (!rc)
		rc = db_acquire(fx->d, &fx->c, &err);
	if (!rc)
		rc = ids_load(&fx->v, vocab_path ? vocab_path : check_src("schema/id_parts.json"), &err);
	check(rc == 0, "fixture: %s", err.detail);
	bo_error_cleanup(&err);
	return rc;
}

static void fixture_close(struct fixture *fx)
{
	if (fx->c)
		db_release(fx->d, fx->c);
	db_close(fx->d);
	ids_free(fx->v);
}

static int count_concepts(sqlite3 *c)
{
	sqlite3_stmt *st = NULL;
	int n = -1;
	if (sqlite3_prepare_v2(c, "SELECT count(*) FROM concepts", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_ids__reserve_unique(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	enum { N = 200 };
	static char got[N][IDS_MAX + 1];
	require(fixture_open(&fx, NULL) == 0, "fixture");
	require(db_begin(fx.c, &err) == 0, "begin: %s", err.detail);
	for (int i = 0; i < N; i++) {
		int rc = ids_reserve(fx.v, fx.c, i % 2 ? "model" : "application", 0, got[i], sizeof(got[i]), &err);
		require(rc == 0, "reserve %d: %s", i, err.detail);
		expect_id(fx.v, got[i], i % 2 ? "model" : "notebook", NULL);
	}
	require(db_commit(fx.c, &err) == 0, "commit: %s", err.detail);
	check(count_concepts(fx.c) == N, "%d concepts", count_concepts(fx.c));
	for (int i = 0; i < N; i++)
		check(ids_is_taken(fx.c, got[i], &err) == 1, "%s is taken", got[i]);
	qsort(got, N, sizeof(got[0]), cmp_ids);
	for (int i = 1; i < N; i++)
		check(strcmp(got[i - 1], got[i]) != 0, "duplicate %s", got[i]);

	/* the stored type is the RDF type */
	sqlite3_stmt *st = NULL;
	require(sqlite3_prepare_v2(fx.c, "SELECT count(*) FROM concepts WHERE type = 'application'", -1, &st, NULL) == 0,
		"prepare");
	check(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == N / 2, "application rows");
	sqlite3_finalize(st);

	/* named reservation: first wins, second is BO_EIDTAKEN; a generated id is taken too */
	check(ids_is_taken(fx.c, "easy-going-t-rex", &err) == 0, "free before");
	check(ids_reserve_named(fx.c, "easy-going-t-rex", "model", 0, &err) == 0, "first: %s", err.detail);
	check(ids_reserve_named(fx.c, "easy-going-t-rex", "model", 0, &err) == BO_EIDTAKEN, "second");
	check(strstr(err.detail, "easy-going-t-rex") != NULL, "detail: %s", err.detail);
	bo_error_cleanup(&err);
	check(ids_reserve_named(fx.c, got[0], "model", 0, &err) == BO_EIDTAKEN, "generated id taken");
	bo_error_cleanup(&err);
	check(ids_is_taken(fx.c, "easy-going-t-rex", &err) == 1, "taken after");
	check(ids_reserve_named(fx.c, "../etc", "model", 0, &err) == BO_EINVALIDID, "bad id");
	bo_error_cleanup(&err);
	check(ids_reserve_named(fx.c, "fresh-id", "", 0, &err) == BO_EBADREQUEST, "empty type");
	bo_error_cleanup(&err);
	char buf[IDS_MAX + 1];
	check(ids_reserve(fx.v, fx.c, "collection", 0, buf, sizeof(buf), &err) == BO_EINVALIDRDF, "collection");
	bo_error_cleanup(&err);
	/* a creator that does not exist is the caller's error, not a database outage */
	check(ids_reserve(fx.v, fx.c, "model", 4242, buf, sizeof(buf), &err) == BO_EBADREQUEST, "unknown creator");
	bo_error_cleanup(&err);
	check(count_concepts(fx.c) == N + 1, "%d concepts", count_concepts(fx.c));
	fixture_close(&fx);
}

static void test_ids__reserve_records_creator(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	char buf[IDS_MAX + 1];
	sqlite3_stmt *st = NULL;
	require(fixture_open(&fx, NULL) == 0, "fixture");
	require(sqlite3_exec(fx.c, "INSERT INTO users(id, name, email, role, created_at) VALUES (7, 'U', 'u@x.org', "
				   "'uploader', 'now')",
			     NULL, NULL, NULL) == SQLITE_OK,
		"insert user");
	require(ids_reserve(fx.v, fx.c, "dataset", 7, buf, sizeof(buf), &err) == 0, "reserve: %s", err.detail);
	require(sqlite3_prepare_v2(fx.c, "SELECT type, created_by, created_at FROM concepts WHERE id = ?1", -1, &st, NULL) ==
			SQLITE_OK,
		"prepare");
	sqlite3_bind_text(st, 1, buf, -1, SQLITE_STATIC);
	require(sqlite3_step(st) == SQLITE_ROW, "row for %s", buf);
	check(!strcmp((const char *)sqlite3_column_text(st, 0), "dataset"), "type");
	check(sqlite3_column_int(st, 1) == 7, "created_by");
	check(strlen((const char *)sqlite3_column_text(st, 2)) == 24, "created_at ISO: %s", sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	fixture_close(&fx);
}

static void test_ids__suggest(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	char buf[IDS_MAX + 1];
	require(fixture_open(&fx, NULL) == 0, "fixture");
	for (int i = 0; i < 50; i++) {
		require(ids_suggest(fx.v, fx.c, "dataset", buf, sizeof(buf), &err) == 0, "suggest: %s", err.detail);
		expect_id(fx.v, buf, "dataset", NULL);
		check(ids_is_taken(fx.c, buf, &err) == 0, "suggested %s is free", buf);
		/* not reserved by suggest; reserving it is what takes it */
		check(ids_reserve_named(fx.c, buf, "dataset", 0, &err) == 0, "reserve suggestion %s: %s", buf, err.detail);
	}
	check(count_concepts(fx.c) == 50, "50 concepts");
	check(ids_suggest(fx.v, fx.c, "collection", buf, sizeof(buf), &err) == BO_EBADREQUEST, "collection");
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

/* ---- concurrency ------------------------------------------------------------------------ */

struct worker {
	db *d;
	const ids *v;
	int want;               /* reservations to make; 0 = until the space is exhausted */
	int made;
	int exhausted;
	int failed;
	char got[400][IDS_MAX + 1];
	char detail[BO_ERROR_DETAIL_MAX];
};

/* Each thread has its own pooled connection and reserves one id per BEGIN IMMEDIATE
 * transaction, as an upload handler does. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	sqlite3 *c = NULL;
	struct bo_error err = BO_ERROR_INIT;
	if (db_acquire(w->d, &c, &err)) {
		w->failed = 1;
		return NULL;
	}
	while (w->want == 0 || w->made < w->want) {
		if (w->made >= (int)(sizeof(w->got) / sizeof(w->got[0]))) {
			w->failed = 1;
			break;
		}
		char *buf = w->got[w->made];
		int rc = db_begin(c, &err);
		if (!rc)
			rc = ids_reserve(w->v, c, "model", 0, buf, IDS_MAX + 1, &err);
		if (!rc)
			rc = db_commit(c, &err);
		if (rc) {
			db_rollback(c);
			if (rc == BO_ECONFLICT && strstr(err.detail, "exhausted"))
				w->exhausted = 1;
			else
				w->failed = 1;
			snprintf(w->detail, sizeof(w->detail), "%s", err.detail);
			break;
		}
		w->made++;
	}
	bo_error_cleanup(&err);
	db_release(w->d, c);
	return NULL;
}

static void run_workers(struct fixture *fx, struct worker *w, int want)
{
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].d = fx->d;
		w[i].v = fx->v;
		w[i].want = want;
	}
	for (int i = 0; i < 2; i++)
		check(pthread_create(&th[i], NULL, worker_run, &w[i]) == 0, "pthread_create");
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
}

static void check_distinct(struct worker *w)
{
	static char all[800][IDS_MAX + 1];
	int n = 0;
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < w[t].made; i++)
			memcpy(all[n++], w[t].got[i], IDS_MAX + 1);
	qsort(all, (size_t)n, sizeof(all[0]), cmp_ids);
	for (int i = 1; i < n; i++)
		check(strcmp(all[i - 1], all[i]) != 0, "two threads got %s", all[i]);
}

static void test_ids__concurrent_reserve(void)
{
	struct fixture fx;
	static struct worker w[2];
	require(fixture_open(&fx, NULL) == 0, "fixture");
	run_workers(&fx, w, 150);
	for (int t = 0; t < 2; t++)
		check(!w[t].failed && w[t].made == 150, "thread %d made %d: %s", t, w[t].made, w[t].detail);
	check(count_concepts(fx.c) == 300, "%d concepts", count_concepts(fx.c));
	check_distinct(w);
	fixture_close(&fx);
}

/* A six-id space: the threads collide constantly, so every reservation after the first few
 * goes through the ON CONFLICT retry, and together they must take each id exactly once. */
static void test_ids__concurrent_tiny_space(void)
{
	struct fixture fx;
	struct bo_error err = BO_ERROR_INIT;
	static struct worker w[2];
	char buf[IDS_MAX + 1];
	write_file("tiny.json", "{\"model\":{\"adjectives\":[\"red\",\"big-bad\"],\"nouns\":{\"fox\":\"F\",\"t-rex\":\"T\","
				"\"owl\":\"O\"}}," GOOD_DATASET "," GOOD_NOTEBOOK "}");
	require(fixture_open(&fx, "tiny.json") == 0, "fixture");
	check(ids_space(fx.v, "model") == 6, "space %llu", (unsigned long long)ids_space(fx.v, "model"));
	run_workers(&fx, w, 0);
	for (int t = 0; t < 2; t++)
		check(!w[t].failed && w[t].exhausted, "thread %d: %s", t, w[t].detail);
	check(w[0].made + w[1].made == 6, "made %d + %d", w[0].made, w[1].made);
	check(count_concepts(fx.c) == 6, "%d concepts", count_concepts(fx.c));
	check_distinct(w);
	check(ids_suggest(fx.v, fx.c, "model", buf, sizeof(buf), &err) == BO_ECONFLICT, "suggest when full");
	check(buf[0] == '\0', "no suggestion left in buf");
	bo_error_cleanup(&err);
	fixture_close(&fx);
}

static struct check_test tests[] = {
	TEST(test_ids__vocab_type),
	TEST(test_ids__known_ids_and_emoji),
	TEST(test_ids__corpus_collection),
	TEST(test_ids__whole_vocabulary),
	TEST(test_ids__hyphenated_parts),
	TEST(test_ids__wrong_input),
	TEST(test_ids__load_errors),
	TEST(test_ids__generate_parses_back),
	TEST(test_ids__reserve_unique),
	TEST(test_ids__reserve_records_creator),
	TEST(test_ids__suggest),
	TEST(test_ids__concurrent_reserve),
	TEST(test_ids__concurrent_tiny_space),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for rdf: YAML parsing with marks and limits, hostile documents, file-name
 * discovery, and emit -> parse round trips. Tests that need the community corpus
 * (BO_CORPUS_DIR, else ../shared/corpus beside the repo) are listed as SKIP, not counted
 * as passed, when it is missing. */
#include "check.h"

#include "../lib/json_same.h"

#include "infra/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/rdf.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <time.h>

static struct rdf_limits default_limits(void)
{
	struct rdf_limits l;
	rdf_limits_default(&l);
	return l;
}

static char corpus_dir[4096];

static int find_corpus(void)
{
	const char *env = getenv("BO_CORPUS_DIR");
	struct stat sb;
	char cwd[2048];
	/* check_run sets BO_SOURCE_DIR (for check_src) to the starting directory; we run
	 * before it, so do the same here. */
	if (!getenv("BO_SOURCE_DIR") && getcwd(cwd, sizeof(cwd)))
		setenv("BO_SOURCE_DIR", cwd, 0);
	snprintf(corpus_dir, sizeof(corpus_dir), "%s", env ? env : check_src("../shared/corpus"));
	char probe[4200];
	snprintf(probe, sizeof(probe), "%s/rdf/valid", corpus_dir);
	return stat(probe, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf)
			buf[n] = '\0';
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static int has_nan_or_inf(const cJSON *n)
{
	const cJSON *c;
	if (cJSON_IsNumber(n))
		return !isfinite(n->valuedouble);
	cJSON_ArrayForEach(c, n)
	{
		if (has_nan_or_inf(c))
			return 1;
	}
	return 0;
}

static rdf_doc *parse_str(const char *text, struct bo_error *err)
{
	struct rdf_limits lim = default_limits();
	rdf_doc *d = NULL;
	rdf_parse(&d, text, strlen(text), &lim, err);
	return d;
}

/* The i-th error's field. */
static const cJSON *err_field(const struct bo_error *err, int i, const char *field)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(err->errors, i), field);
}

static int err_line(const struct bo_error *err, int i)
{
	const cJSON *l = err_field(err, i, "line");
	return cJSON_IsNumber(l) ? l->valueint : -1;
}

static int err_col(const struct bo_error *err, int i)
{
	const cJSON *l = err_field(err, i, "column");
	return cJSON_IsNumber(l) ? l->valueint : -1;
}

static const char *err_type(const struct bo_error *err, int i)
{
	const cJSON *t = err_field(err, i, "type");
	return cJSON_IsString(t) ? t->valuestring : "";
}

static const char *err_msg(const struct bo_error *err, int i)
{
	const cJSON *t = err_field(err, i, "msg");
	return cJSON_IsString(t) ? t->valuestring : "";
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- corpus walking ---------------------------------------------------------------- */

struct walk {
	int files;
	int failures;
	int roundtrips;
};

static void check_file(const char *path, struct walk *w)
{
	size_t len = 0;
	char *text = slurp(path, &len);
	struct rdf_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = NULL, *d2 = NULL;
	char *yaml = NULL;
	if (!text) {
		check(0, "cannot read %s", path);
		w->failures++;
		return;
	}
	w->files++;
	int rc = rdf_parse(&d, text, len, &lim, &err);
	check(rc == 0, "%s: %s", path, err.detail);
	if (rc) {
		w->failures++;
		goto done;
	}
	yaml = rdf_emit(rdf_root(d), &err);
	check(yaml != NULL, "%s: emit: %s", path, err.detail);
	if (!yaml)
		goto done;
	rc = rdf_parse(&d2, yaml, strlen(yaml), &lim, &err);
	check(rc == 0, "%s: re-parse: %s\n%s", path, err.detail, yaml);
	if (rc)
		goto done;
	check(json_same(rdf_root(d), rdf_root(d2)), "%s: round trip differs", path);
	/* Where no inf/nan is involved, cJSON's own comparison must agree too. */
	if (!has_nan_or_inf(rdf_root(d)))
		check(cJSON_Compare(rdf_root(d), rdf_root(d2), 1), "%s: cJSON_Compare", path);
	w->roundtrips++;
done:
	free(yaml);
	free(text);
	rdf_free(d);
	rdf_free(d2);
	bo_error_cleanup(&err);
}

static void walk_dir(const char *dir, struct walk *w, int depth)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	if (!dh || depth > 8) {
		if (dh)
			closedir(dh);
		return;
	}
	while ((de = readdir(dh)) != NULL) {
		char path[4096];
		struct stat sb;
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			walk_dir(path, w, depth + 1);
		else if (n > 5 && strcmp(de->d_name + n - 5, ".yaml") == 0 &&
			 strcmp(de->d_name, "test_summary.yaml") != 0)
			check_file(path, w);
	}
	closedir(dh);
}

static rdf_doc *parse_corpus_file(const char *rel)
{
	char path[4300];
	size_t len = 0;
	struct rdf_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = NULL;
	snprintf(path, sizeof(path), "%s/rdf/valid/%s", corpus_dir, rel);
	char *text = slurp(path, &len);
	if (text && rdf_parse(&d, text, len, &lim, &err) != 0)
		d = NULL;
	check(d != NULL, "%s: %s", rel, err.detail);
	free(text);
	bo_error_cleanup(&err);
	return d;
}

/* ---- corpus tests ------------------------------------------------------------------ */

static void test_rdf__corpus_parses_and_round_trips(void)
{
	struct walk w = {0, 0, 0};
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/rdf/valid", corpus_dir);
	walk_dir(dir, &w, 0);
	printf("  corpus: %d YAML files parsed, %d round trips\n", w.files, w.roundtrips);
	check(w.files >= 40, "only %d files found", w.files);
	check(w.failures == 0, "%d failures", w.failures);
	check(w.roundtrips == w.files, "round trips %d of %d", w.roundtrips, w.files);
}

static void test_rdf__corpus_values(void)
{
	rdf_doc *d = parse_corpus_file("spec-bioimage-io__models__unet2d_multi_tensor__bioimageio/"
				       "bioimageio.yaml");
	if (d) {
		/* %YAML 1.2 header, and `absolute_tolerance: 1e-05` is a number. */
		cJSON *root = rdf_root(d);
		const cJSON *fv = cJSON_GetObjectItemCaseSensitive(root, "format_version");
		check(cJSON_IsString(fv) && strcmp(fv->valuestring, "0.5.4") == 0, "format_version");
		const cJSON *tol = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(root, "config"), "bioimageio"),
			"reproducibility_tolerance");
		const cJSON *t0 = cJSON_GetArrayItem(tol, 0);
		const cJSON *abs_tol = cJSON_GetObjectItemCaseSensitive(t0, "absolute_tolerance");
		check(cJSON_IsNumber(abs_tol) && abs_tol->valuedouble == 1e-05, "1e-05 is a number");
	}
	rdf_free(d);

	d = parse_corpus_file("spec-bioimage-io-2024-01__models__hpa-densenet__rdf/rdf.yaml");
	if (d) {
		const cJSON *in0 = cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(rdf_root(d), "inputs"), 0);
		const cJSON *range = cJSON_GetObjectItemCaseSensitive(in0, "data_range");
		const cJSON *lo = cJSON_GetArrayItem(range, 0), *hi = cJSON_GetArrayItem(range, 1);
		check(cJSON_IsNumber(lo) && isinf(lo->valuedouble) && lo->valuedouble < 0, "-.inf");
		check(cJSON_IsNumber(hi) && isinf(hi->valuedouble) && hi->valuedouble > 0, ".inf");
	}
	rdf_free(d);
}

/* ---- self-contained tests ---------------------------------------------------------- */

static void test_rdf__limits_from_config(void)
{
	struct rdf_limits l = default_limits();
	check(l.max_bytes == LIMIT_YAML_BYTES && l.max_depth == LIMIT_YAML_DEPTH &&
		      l.max_nodes == LIMIT_YAML_NODES && l.max_scalar_bytes == LIMIT_YAML_SCALAR_BYTES &&
		      l.alias_budget == LIMIT_YAML_ALIAS_BUDGET,
	      "defaults");
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_yaml_bytes = 1;
	cfg.max_yaml_depth = 2;
	cfg.max_yaml_nodes = 3;
	cfg.max_yaml_scalar_bytes = 4;
	cfg.max_yaml_alias_budget = 5;
	config_rdf_limits(&cfg, &l);
	check(l.max_bytes == 1 && l.max_depth == 2 && l.max_nodes == 3 && l.max_scalar_bytes == 4 &&
		      l.alias_budget == 5,
	      "from cfg");
}

static void test_rdf__scalars(void)
{
	const char *text = "n1: null\nn2: ~\nn3:\nn4: NULL\n"
			   "b1: true\nb2: False\nb3: TRUE\n"
			   "s1: yes\ns2: no\ns3: on\ns4: off\ns5: '12'\ns6: \"true\"\n"
			   "s7: 0.4.10\ns8: 1_000\ns9: 0b101\ns10: ! 12\ns11: !!str 13\n"
			   "i1: 42\ni2: -7\ni3: 0x1F\ni4: 0o17\ni5: 007\ni6: +3\n"
			   "f1: 1e-06\nf2: 1.5e3\nf3: .inf\nf4: -.inf\nf5: .nan\nf6: 0.5\nf7: .5\n"
			   "f8: 1.\nf9: -2.5E-3\n";
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str(text, &err);
	require(d, "parse: %s", err.detail);
	cJSON *r = rdf_root(d);
#define GET(k) cJSON_GetObjectItemCaseSensitive(r, k)
	check(cJSON_IsNull(GET("n1")) && cJSON_IsNull(GET("n2")) && cJSON_IsNull(GET("n3")) &&
		      cJSON_IsNull(GET("n4")),
	      "nulls");
	check(cJSON_IsTrue(GET("b1")) && cJSON_IsFalse(GET("b2")) && cJSON_IsTrue(GET("b3")),
	      "bools");
	const char *strs[][2] = {{"s1", "yes"},	  {"s2", "no"},	    {"s3", "on"},
				 {"s4", "off"},	  {"s5", "12"},	    {"s6", "true"},
				 {"s7", "0.4.10"}, {"s8", "1_000"}, {"s9", "0b101"},
				 {"s10", "12"},	  {"s11", "13"}};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const cJSON *s = GET(strs[i][0]);
		check(cJSON_IsString(s) && strcmp(s->valuestring, strs[i][1]) == 0, "%s",
		      strs[i][0]);
	}
	struct {
		const char *k;
		double v;
	} nums[] = {{"i1", 42},	   {"i2", -7},	    {"i3", 31},	 {"i4", 15},
		    {"i5", 7},	   {"i6", 3},	    {"f1", 1e-06}, {"f2", 1500},
		    {"f6", 0.5},   {"f7", 0.5},	    {"f8", 1.0},  {"f9", -2.5e-3}};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		const cJSON *n = GET(nums[i].k);
		check(cJSON_IsNumber(n) && n->valuedouble == nums[i].v, "%s", nums[i].k);
	}
	check(cJSON_IsNumber(GET("f3")) && isinf(GET("f3")->valuedouble) &&
		      GET("f3")->valuedouble > 0,
	      ".inf");
	check(cJSON_IsNumber(GET("f4")) && isinf(GET("f4")->valuedouble) &&
		      GET("f4")->valuedouble < 0,
	      "-.inf");
	check(cJSON_IsNumber(GET("f5")) && isnan(GET("f5")->valuedouble), ".nan");
#undef GET
	rdf_free(d);
	bo_error_cleanup(&err);
}

static const char hand_rdf[] = "%YAML 1.2\n"
			       "---\n"
			       "type: model\n"
			       "inputs:\n"
			       "  - id: raw\n"
			       "    axes:\n"
			       "      - type: batch\n"
			       "      - type: channel\n"
			       "      - type: space\n"
			       "        id: x\n"
			       "        size: {min: 64, step: 16}\n"
			       "name: \"hand\"\n";

static void test_rdf__marks(void)
{
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str(hand_rdf, &err);
	require(d, "parse: %s", err.detail);
	int line = 0, col = 0;
	cJSON *loc = cJSON_Parse("[\"inputs\",0,\"axes\",2]");
	check(rdf_mark(d, loc, &line, &col) == 0, "found");
	check(line == 9 && col == 9, "axes[2] at %d:%d", line, col);
	cJSON_Delete(loc);

	loc = cJSON_Parse("[\"inputs\",0,\"axes\",2,\"size\",\"step\"]");
	check(rdf_mark(d, loc, &line, &col) == 0 && line == 11 && col == 31, "step at %d:%d", line,
	      col);
	cJSON_Delete(loc);

	loc = cJSON_Parse("[\"name\"]");
	check(rdf_mark(d, loc, &line, &col) == 0 && line == 12 && col == 7, "name at %d:%d", line,
	      col);
	cJSON_Delete(loc);

	/* Missing: the deepest existing ancestor (axes[1]). */
	loc = cJSON_Parse("[\"inputs\",0,\"axes\",1,\"id\"]");
	check(rdf_mark(d, loc, &line, &col) == BO_ENOTFOUND, "missing");
	check(line == 8 && col == 9, "ancestor at %d:%d", line, col);
	cJSON_Delete(loc);

	loc = cJSON_Parse("[\"inputs\",5]");
	check(rdf_mark(d, loc, &line, &col) == BO_ENOTFOUND && line == 5 && col == 3,
	      "index out of range -> inputs at %d:%d", line, col);
	cJSON_Delete(loc);

	check(rdf_mark(d, NULL, &line, &col) == 0 && line == 3 && col == 1, "root at %d:%d", line,
	      col);

	/* Marks outlive the tree once it is taken. */
	cJSON *root = rdf_take_root(d);
	check(rdf_root(d) == NULL, "taken");
	cJSON_Delete(root);
	loc = cJSON_Parse("[\"inputs\",0,\"axes\",2]");
	check(rdf_mark(d, loc, &line, &col) == 0 && line == 9 && col == 9, "after take");
	cJSON_Delete(loc);
	rdf_free(d);
	bo_error_cleanup(&err);
}

static void test_rdf__duplicate_keys(void)
{
	const char *text = "name: a\n"
			   "type: model\n"
			   "name: b\n"
			   "inputs:\n"
			   "  - id: x\n"
			   "    id: y\n";
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str(text, &err);
	check(d == NULL, "rejected");
	check(err.code == BO_EINVALIDRDF, "code %d", err.code);
	require(cJSON_GetArraySize(err.errors) == 2, "2 errors, got %d",
		cJSON_GetArraySize(err.errors));
	check(strcmp(err_type(&err, 0), "duplicate_key") == 0, "type");
	check(err_line(&err, 0) == 3 && err_col(&err, 0) == 1, "first at %d:%d", err_line(&err, 0),
	      err_col(&err, 0));
	check(err_line(&err, 1) == 6 && err_col(&err, 1) == 5, "second at %d:%d",
	      err_line(&err, 1), err_col(&err, 1));
	check(strstr(err_msg(&err, 0), "'name'") && strstr(err_msg(&err, 0), "line 1"), "%s",
	      err_msg(&err, 0));
	char *loc = cJSON_PrintUnformatted(err_field(&err, 1, "loc"));
	check(loc && strcmp(loc, "[\"inputs\",0,\"id\"]") == 0, "loc %s", loc ? loc : "-");
	free(loc);
	check(strstr(err.detail, "line 3, column 1") && strstr(err.detail, "1 more"), "%s",
	      err.detail);
	bo_error_cleanup(&err);
}

static void test_rdf__syntax_error(void)
{
	const char *text = "name: a\n"
			   "tags: [one, two\n"
			   "type: model\n";
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str(text, &err);
	check(d == NULL && err.code == BO_EINVALIDRDF, "rejected");
	require(cJSON_GetArraySize(err.errors) == 1, "one error");
	check(strcmp(err_type(&err, 0), "yaml_syntax") == 0, "type %s", err_type(&err, 0));
	check(err_line(&err, 0) == 3 && err_col(&err, 0) == 5, "at %d:%d", err_line(&err, 0),
	      err_col(&err, 0));
	check(strstr(err.detail, "line 3") != NULL, "%s", err.detail);
	bo_error_cleanup(&err);

	d = parse_str("a: b\n  c: d\n", &err);
	check(d == NULL && err_line(&err, 0) == 2, "bad indentation at line %d", err_line(&err, 0));
	bo_error_cleanup(&err);

	d = parse_str("a: \"unterminated\n", &err);
	check(d == NULL && strcmp(err_type(&err, 0), "yaml_syntax") == 0, "unterminated");
	bo_error_cleanup(&err);

	const char nul[] = "a: b\0c\n";
	struct rdf_limits lim = default_limits();
	check(rdf_parse(&d, nul, sizeof(nul) - 1, &lim, &err) == BO_EINVALIDRDF, "NUL in text");
	bo_error_cleanup(&err);
}

static void test_rdf__billion_laughs(void)
{
	const char *text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
			   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
			   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
			   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
			   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
			   "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
			   "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
			   "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct bo_error err = BO_ERROR_INIT;
	double t0 = now_ms();
	rdf_doc *d = parse_str(text, &err);
	double ms = now_ms() - t0;
	check(d == NULL && err.code == BO_EINVALIDRDF, "rejected");
	check(strcmp(err_type(&err, 0), "limit") == 0, "type %s", err_type(&err, 0));
	check(strstr(err.detail, "alias") && strstr(err.detail, "max_yaml_alias_budget"), "%s",
	      err.detail);
	check(ms < 500, "took %.1f ms", ms);
	bo_error_cleanup(&err);

	/* Within budget, aliases are copies with their own marks. */
	d = parse_str("base: &b {x: 1, y: [1, 2]}\ncopy: *b\n", &err);
	require(d, "parse: %s", err.detail);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(rdf_root(d), "copy");
	check(json_same(c, cJSON_GetObjectItemCaseSensitive(rdf_root(d), "base")), "copy equal");
	int line = 0, col = 0;
	cJSON *loc = cJSON_Parse("[\"copy\"]");
	check(rdf_mark(d, loc, &line, &col) == 0 && line == 2 && col == 7, "alias mark %d:%d",
	      line, col);
	cJSON_Delete(loc);
	loc = cJSON_Parse("[\"copy\",\"y\",1]");
	check(rdf_mark(d, loc, &line, &col) == 0 && line == 1 && col == 24,
	      "inside alias: anchor's mark %d:%d", line, col);
	cJSON_Delete(loc);
	rdf_free(d);
	bo_error_cleanup(&err);
}

static void test_rdf__aliases_and_merges(void)
{
	const char *text = "defaults: &d {a: 1, b: 2, c: {deep: true}}\n"
			   "other: &o {b: 20, z: 26}\n"
			   "one:\n"
			   "  <<: *d\n"
			   "  b: 3\n"
			   "list:\n"
			   "  a: 0\n"
			   "  <<: [*o, *d]\n"
			   "inline:\n"
			   "  <<: {q: 1}\n"
			   "key: &k name\n"
			   "*k : 5\n";
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str(text, &err);
	require(d, "parse: %s", err.detail);
	cJSON *expect = cJSON_Parse(
		"{\"defaults\":{\"a\":1,\"b\":2,\"c\":{\"deep\":true}},\"other\":{\"b\":20,\"z\":26},"
		"\"one\":{\"b\":3,\"a\":1,\"c\":{\"deep\":true}},"
		"\"list\":{\"a\":0,\"b\":20,\"z\":26,\"c\":{\"deep\":true}},"
		"\"inline\":{\"q\":1},\"key\":\"name\",\"name\":5}");
	char *got = cJSON_PrintUnformatted(rdf_root(d));
	check(json_same(rdf_root(d), expect), "merged: %s", got);
	free(got);
	cJSON_Delete(expect);
	int line = 0, col = 0;
	cJSON *loc = cJSON_Parse("[\"one\",\"a\"]");
	check(rdf_mark(d, loc, &line, &col) == 0 && line == 1 && col == 18, "merged mark %d:%d",
	      line, col);
	cJSON_Delete(loc);
	rdf_free(d);

	d = parse_str("a: &a [1, *a]\n", &err);
	check(d == NULL && strcmp(err_type(&err, 0), "recursive_alias") == 0, "recursive: %s",
	      err.detail);
	bo_error_cleanup(&err);
	d = parse_str("a: *nope\nb: *nope2\n", &err);
	check(d == NULL && cJSON_GetArraySize(err.errors) == 2 &&
		      strcmp(err_type(&err, 1), "unknown_alias") == 0,
	      "unknown: %s", err.detail);
	bo_error_cleanup(&err);
	d = parse_str("a:\n  <<: 5\n", &err);
	check(d == NULL && strcmp(err_type(&err, 0), "invalid_merge") == 0, "bad merge: %s",
	      err.detail);
	bo_error_cleanup(&err);
}

static void test_rdf__non_scalar_key(void)
{
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str("? [a, b]\n: 1\n? {x: 1}\n: 2\nok: 3\n", &err);
	check(d == NULL && err.code == BO_EINVALIDRDF, "rejected");
	check(cJSON_GetArraySize(err.errors) == 2, "two errors: %d", cJSON_GetArraySize(err.errors));
	check(strcmp(err_type(&err, 0), "non_scalar_key") == 0 && err_line(&err, 0) == 1 &&
		      err_line(&err, 1) == 3,
	      "%s at %d", err_type(&err, 0), err_line(&err, 0));
	bo_error_cleanup(&err);
}

static void test_rdf__depth_bomb(void)
{
	size_t n = 100000;
	char *text = malloc(2 * n + 1);
	require(text, "alloc");
	memset(text, '[', n);
	memset(text + n, ']', n);
	text[2 * n] = '\0';
	struct bo_error err = BO_ERROR_INIT;
	struct rdf_limits lim = default_limits();
	rdf_doc *d = NULL;
	double t0 = now_ms();
	int rc = rdf_parse(&d, text, 2 * n, &lim, &err);
	double ms = now_ms() - t0;
	check(rc == BO_EINVALIDRDF && strcmp(err_type(&err, 0), "limit") == 0, "rc %d %s", rc,
	      err.detail);
	check(strstr(err.detail, "depth") && strstr(err.detail, "64"), "%s", err.detail);
	check(ms < 500, "took %.1f ms", ms);
	free(text);
	bo_error_cleanup(&err);

	/* Block mappings nested 70 deep, and an alias that would go too deep. */
	char buf[8192];
	size_t o = 0;
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%*sk%d:\n", 2 * i, "", i);
	snprintf(buf + o, sizeof(buf) - o, "%*sv\n", 140, "");
	d = parse_str(buf, &err);
	check(d == NULL && strcmp(err_type(&err, 0), "limit") == 0, "block depth: %s", err.detail);
	bo_error_cleanup(&err);

	lim.max_depth = 4;
	const char *deep = "a: &a [[[1]]]\nb: [*a]\n";
	check(rdf_parse(&d, deep, strlen(deep), &lim, &err) == BO_EINVALIDRDF &&
		      strstr(err.detail, "depth"),
	      "alias depth: %s", err.detail);
	bo_error_cleanup(&err);
}

static void test_rdf__big_scalar_and_document(void)
{
	size_t n = (2u << 20) + 10;
	char *text = malloc(n + 1);
	require(text, "alloc");
	memcpy(text, "a: ", 3);
	memset(text + 3, 'x', n - 4);
	text[n - 1] = '\n';
	text[n] = '\0';
	struct bo_error err = BO_ERROR_INIT;
	struct rdf_limits lim = default_limits();
	rdf_doc *d = NULL;
	int rc = rdf_parse(&d, text, n, &lim, &err);
	check(rc == BO_EINVALIDRDF && strcmp(err_type(&err, 0), "limit") == 0, "scalar: %s",
	      err.detail);
	check(strstr(err.detail, "max_yaml_scalar_bytes"), "%s", err.detail);
	bo_error_cleanup(&err);

	lim.max_bytes = 1000;
	rc = rdf_parse(&d, text, n, &lim, &err);
	check(rc == BO_EINVALIDRDF && strstr(err.detail, "max_yaml_bytes"), "bytes: %s",
	      err.detail);
	bo_error_cleanup(&err);
	free(text);
}

static void test_rdf__too_many_nodes(void)
{
	char buf[20000];
	size_t o = snprintf(buf, sizeof(buf), "items:\n");
	for (int i = 0; i < 2000; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "- %d\n", i);
	struct bo_error err = BO_ERROR_INIT;
	struct rdf_limits lim = default_limits();
	lim.max_nodes = 1000;
	rdf_doc *d = NULL;
	int rc = rdf_parse(&d, buf, o, &lim, &err);
	check(rc == BO_EINVALIDRDF && strstr(err.detail, "max_yaml_nodes"), "%s", err.detail);
	bo_error_cleanup(&err);
	lim.max_nodes = 3000;
	rc = rdf_parse(&d, buf, o, &lim, &err);
	check(rc == 0 && cJSON_GetArraySize(cJSON_GetObjectItem(rdf_root(d), "items")) == 2000,
	      "under the limit: %s", err.detail);
	rdf_free(d);
	bo_error_cleanup(&err);
}

static void test_rdf__not_mapping_and_documents(void)
{
	const char *cases[] = {"- a\n- b\n", "just text\n", "", "# only a comment\n", "---\n"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bo_error err = BO_ERROR_INIT;
		rdf_doc *d = parse_str(cases[i], &err);
		check(d == NULL && err.code == BO_EINVALIDRDF &&
			      strcmp(err_type(&err, 0), "rdf_not_mapping") == 0,
		      "case %zu: %s", i, err.detail);
		bo_error_cleanup(&err);
	}
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = parse_str("a: 1\n---\nb: 2\n", &err);
	check(d == NULL && strcmp(err_type(&err, 0), "multiple_documents") == 0 &&
		      err_line(&err, 0) == 2,
	      "multi: %s", err.detail);
	bo_error_cleanup(&err);

	d = parse_str("%YAML 1.1\n---\na: yes\n", &err);
	check(d && cJSON_IsString(cJSON_GetObjectItem(rdf_root(d), "a")), "1.1 header: %s",
	      err.detail);
	rdf_free(d);
	bo_error_cleanup(&err);
	d = parse_str("---\na: 1\n...\n", &err);
	check(d != NULL, "explicit document markers: %s", err.detail);
	rdf_free(d);
	bo_error_cleanup(&err);
}

static void test_rdf__emit_round_trip(void)
{
	cJSON *t = cJSON_CreateObject();
	require(t, "alloc");
	const char *strings[] = {"yes", "No", "on", "true", "null", "~", "", "1.0", "0x10", "007",
				 "1e3", ".inf", ".nan", "<<", "=", "a: b", "# not a comment",
				 "- item", "  leading", "trailing  ", "multi\nline\n",
				 "no final newline\nsecond", "\ttab", "µm and ünïcödé", "0.4.10",
				 "2021-01-01", "'quoted'", "\"dq\"", "{curly}", "[square]", "*star",
				 "&amp", "!bang", "%percent", "@at", "`tick", "|pipe", ">gt", "?q",
				 "plain words", "line\r\nwindows", "\x01 control", "-", "---", "..."};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		char key[16];
		snprintf(key, sizeof(key), "s%zu", i);
		cJSON_AddStringToObject(t, key, strings[i]);
	}
	cJSON_AddStringToObject(t, "yes", "key that YAML 1.1 reads as a bool");
	cJSON_AddStringToObject(t, "1", "numeric key");
	cJSON_AddStringToObject(t, "<<", "not a merge");
	double nums[] = {0, -0.0, 1, -1, 1e-06, 0.1, 1.5e300, 123456789012345678.0, 2.5, -3.75e-8,
			 INFINITY, -INFINITY, NAN};
	cJSON *arr = cJSON_AddArrayToObject(t, "numbers");
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		cJSON *n = cJSON_CreateNumber(0);
		n->valuedouble = nums[i];
		cJSON_AddItemToArray(arr, n);
	}
	cJSON_AddItemToObject(t, "empty_map", cJSON_CreateObject());
	cJSON_AddItemToObject(t, "empty_list", cJSON_CreateArray());
	cJSON_AddNullToObject(t, "nothing");
	cJSON_AddTrueToObject(t, "t");
	cJSON_AddFalseToObject(t, "f");
	cJSON *nested = cJSON_Parse("{\"a\":[{\"b\":[[1,2],[]],\"c\":{}}],\"d\":[[[\"x\"]]]}");
	cJSON_AddItemToObject(t, "nested", nested);

	struct bo_error err = BO_ERROR_INIT;
	char *yaml = rdf_emit(t, &err);
	require(yaml, "emit: %s", err.detail);
	check(strstr(yaml, "empty_map: {}") && strstr(yaml, "empty_list: []"), "empty:\n%s", yaml);
	check(strstr(yaml, "- .inf") && strstr(yaml, "- -.inf") && strstr(yaml, "- .nan"),
	      "inf/nan:\n%s", yaml);
	check(strstr(yaml, "s0: 'yes'") || strstr(yaml, "s0: \"yes\""), "yes quoted:\n%s", yaml);
	check(strstr(yaml, "s20: |") != NULL, "literal block:\n%s", yaml);
	check(strstr(yaml, "s39: plain words") != NULL, "plain stays plain:\n%s", yaml);
	check(strncmp(yaml, "s0:", 3) == 0, "block style, no document marker:\n%s", yaml);
	struct rdf_limits lim = default_limits();
	rdf_doc *d = NULL;
	int rc = rdf_parse(&d, yaml, strlen(yaml), &lim, &err);
	check(rc == 0, "re-parse: %s\n%s", err.detail, yaml);
	if (rc == 0)
		check(json_same(t, rdf_root(d)), "round trip differs:\n%s", yaml);
	rdf_free(d);
	free(yaml);
	bo_error_cleanup(&err);

	/* Not UTF-8: a clean error, not a broken document. */
	cJSON *bad = cJSON_CreateObject();
	cJSON_AddStringToObject(bad, "k", "\xff\xfe");
	yaml = rdf_emit(bad, &err);
	check(yaml == NULL && err.code == BO_EINTERNAL, "invalid UTF-8: %s", err.detail);
	free(yaml);
	cJSON_Delete(bad);
	bo_error_cleanup(&err);
	cJSON_Delete(t);
}

static void test_rdf__find_name(void)
{
	struct bo_error err = BO_ERROR_INIT;
	const char *out = NULL;
	{
		const char *n[] = {"bioimageio.yaml", "docs/rdf.yaml", "rdf.yaml", "x.bioimageio.yaml"};
		check(rdf_find_name(n, 4, &out, &err) == 0 && strcmp(out, "rdf.yaml") == 0,
		      "rdf.yaml wins");
	}
	{
		const char *n[] = {"weights.pt", "model.bioimageio.yaml", "bioimageio.yaml"};
		check(rdf_find_name(n, 3, &out, &err) == 0 && strcmp(out, "bioimageio.yaml") == 0,
		      "bioimageio.yaml next");
	}
	{
		const char *n[] = {"a.rdf.yaml", "m.bioimageio.yaml"};
		check(rdf_find_name(n, 2, &out, &err) == 0 && strcmp(out, "m.bioimageio.yaml") == 0,
		      "*.bioimageio.yaml over *.rdf.yaml");
	}
	{
		const char *n[] = {"a.bioimageio.yaml", "README.md", "b.bioimageio.yaml"};
		check(rdf_find_name(n, 3, &out, &err) == BO_EINVALIDPACKAGE && out == NULL,
		      "two candidates");
		check(strcmp(err.detail, "package has 2 candidate RDF files: a.bioimageio.yaml, "
					 "b.bioimageio.yaml") == 0,
		      "%s", err.detail);
		bo_error_cleanup(&err);
	}
	{
		const char *n[] = {"unet/", "unet/rdf.yaml", "unet/weights/w.pt", "unet/README.md"};
		check(rdf_find_name(n + 1, 3, &out, &err) == 0 && strcmp(out, "unet/rdf.yaml") == 0,
		      "nested single folder");
	}
	{
		const char *n[] = {"a/rdf.yaml", "b/rdf.yaml"};
		check(rdf_find_name(n, 2, &out, &err) == BO_EINVALIDPACKAGE, "two folders");
		check(strcmp(err.detail, "package has no rdf.yaml or bioimageio.yaml") == 0, "%s",
		      err.detail);
		bo_error_cleanup(&err);
	}
	{
		const char *n[] = {"README.md", "sub/rdf.yaml"};
		check(rdf_find_name(n, 2, &out, &err) == BO_EINVALIDPACKAGE, "not at top level");
		bo_error_cleanup(&err);
	}
	{
		check(rdf_find_name(NULL, 0, &out, &err) == BO_EINVALIDPACKAGE, "empty");
		bo_error_cleanup(&err);
	}
	{
		const char *n[] = {"._rdf.yaml", "rdf.yaml"};
		check(rdf_find_name(n, 2, &out, &err) == 0 && strcmp(out, "rdf.yaml") == 0,
		      "resource fork ignored");
	}
	bo_error_cleanup(&err);
}

static const struct check_test all_tests[] = {
	TEST(test_rdf__limits_from_config),
	TEST(test_rdf__scalars),
	TEST(test_rdf__marks),
	TEST(test_rdf__duplicate_keys),
	TEST(test_rdf__syntax_error),
	TEST(test_rdf__billion_laughs),
	TEST(test_rdf__aliases_and_merges),
	TEST(test_rdf__non_scalar_key),
	TEST(test_rdf__depth_bomb),
	TEST(test_rdf__big_scalar_and_document),
	TEST(test_rdf__too_many_nodes),
	TEST(test_rdf__not_mapping_and_documents),
	TEST(test_rdf__emit_round_trip),
	TEST(test_rdf__find_name),
	TEST(test_rdf__corpus_parses_and_round_trips),
	TEST(test_rdf__corpus_values),
};

int main(int argc, char **argv)
{
	struct check_test tests[sizeof(all_tests) / sizeof(all_tests[0])];
	size_t n = 0;
	int have_corpus = find_corpus();
	for (size_t i = 0; i < sizeof(all_tests) / sizeof(all_tests[0]); i++) {
		if (!have_corpus && strstr(all_tests[i].name, "__corpus")) {
			printf("SKIP %s (no corpus)\n", all_tests[i].name);
			continue;
		}
		tests[n++] = all_tests[i];
	}
	return check_run(argc, argv, tests, n);
}

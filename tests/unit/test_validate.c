/* Static validation, judged by the community corpus: every valid RDF validates, every
 * invalid one fails for the reason its NOTE.md gives, mutations of valid RDFs fail at the
 * expected loc, and hostile YAML gives a failed summary instead of a crash. */
#include "check.h"

#include "common/error.h"
#include "common/hex.h"
#include "common/rdf.h"
#include "common/npy.h"
#include "check/validate.h"

#include <cjson/cJSON.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char corpus[4096];
static validator *V;

static int have_corpus(void)
{
	const char *env = getenv("BO_CORPUS_DIR");
	struct stat sb;
	char probe[4200];
	snprintf(corpus, sizeof(corpus), "%s", env ? env : check_src("../shared/corpus"));
	snprintf(probe, sizeof(probe), "%s/manifest.json", corpus);
	return stat(probe, &sb) == 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static validator *rules(void)
{
	if (!V) {
		struct bo_error err = BO_ERROR_INIT;
		if (validate_load(&V, check_src("schema"), &err))
			fprintf(stderr, "validate_load: %s\n", err.detail);
		bo_error_cleanup(&err);
	}
	return V;
}

/* Validates text with the package in dir (NULL: no IO checks). */
static cJSON *run_text(const char *text, size_t len, const char *dir)
{
	struct bo_error err = BO_ERROR_INIT;
	struct validate_files files;
	cJSON *sum = NULL;
	if (dir)
		validate_files_dir(&files, dir);
	struct validate_options opt = {.files = dir ? &files : NULL, .source_name = "test"};
	int rc = validate_text(rules(), text, len, &opt, &sum, &err);
	check(rc == 0, "validate_text: %s", err.detail);
	bo_error_cleanup(&err);
	return sum;
}

static cJSON *run_file(const char *path, int io)
{
	size_t len = 0;
	char *text = slurp(path, &len);
	char dcopy[4200];
	if (!text) {
		check(0, "cannot read %s", path);
		return NULL;
	}
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	cJSON *sum = run_text(text, len, io ? dirname(dcopy) : NULL);
	free(text);
	return sum;
}

static const char *status(const cJSON *sum) { return validate_summary_status(sum); }

/* The first error whose loc prints as want_loc (e.g. ["license"]) and whose type is
 * want_type (NULL: any); it must carry a line. */
static const cJSON *find_error(const cJSON *sum, const char *want_loc, const char *want_type)
{
	const cJSON *d, *e;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(sum, "details")) {
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "errors")) {
			char *loc = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(e, "loc"));
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
			int ok = loc && !strcmp(loc, want_loc) && (!want_type || (type && !strcmp(type, want_type)));
			free(loc);
			if (ok)
				return e;
		}
	}
	return NULL;
}

static int count_errors(const cJSON *sum)
{
	cJSON *all = validate_summary_errors(sum);
	int n = cJSON_GetArraySize(all);
	cJSON_Delete(all);
	return n;
}

static void dump(const cJSON *sum)
{
	if (sum)
		validate_print_table(sum, stderr);
}

#define expect_error(sum, loc, type)                                                     \
	do {                                                                               \
		const cJSON *e_ = find_error(sum, loc, type);                               \
		check(e_ != NULL, "no %s error at %s", type ? type : "", loc);              \
		if (!e_)                                                                   \
			dump(sum);                                                         \
		else                                                                       \
			check(cJSON_GetObjectItemCaseSensitive(e_, "line")->valueint > 0, \
			      "error at %s has no line", loc);                             \
	} while (0)

static cJSON *manifest(void)
{
	char path[4200];
	size_t len;
	snprintf(path, sizeof(path), "%s/manifest.json", corpus);
	char *text = slurp(path, &len);
	cJSON *m = text ? cJSON_Parse(text) : NULL;
	free(text);
	return m;
}

static void item_path(const cJSON *item, char *out, size_t n)
{
	snprintf(out, n, "%s/%s/%s", corpus,
		 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "path")),
		 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "rdf_file")));
}

static int is_kind(const cJSON *item, const char *kind)
{
	const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "kind"));
	return k && !strcmp(k, kind);
}

/* ---- the judge: rdf/valid ---------------------------------------------------------- */

static void test_validate__corpus_valid_without_io(void)
{
	if (!have_corpus())
		skip_test("no corpus at %s", corpus);
	cJSON *m = manifest();
	require(m != NULL, "manifest.json");
	int n = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, m) {
		if (!is_kind(item, "rdf/valid"))
			continue;
		char path[4400];
		item_path(item, path, sizeof(path));
		cJSON *sum = run_file(path, 0);
		n++;
		check(sum && !strcmp(status(sum), "valid-format"), "%s: %s", path, sum ? status(sum) : "-");
		if (sum && strcmp(status(sum), "valid-format"))
			dump(sum);
		cJSON_Delete(sum);
	}
	printf("  %d valid corpus RDFs validated without IO checks\n", n);
	check(n == 44, "expected the 44 valid RDFs of the corpus, found %d", n);
	cJSON_Delete(m);
}

/* The path a manifest reference names in the package, or "" for URLs. */
static void ref_path(const char *ref, char *out, size_t n)
{
	out[0] = '\0';
	if (!strncmp(ref, "http://", 7) || !strncmp(ref, "https://", 8))
		return;
	if (!strncmp(ref, "conda:", 6))
		ref += 6;
	while (!strncmp(ref, "./", 2))
		ref += 2;
	snprintf(out, n, "%s", ref);
	char *colon = strchr(out, ':');
	if (colon)
		*colon = '\0'; /* "unet.py:UNet" */
}

/* With IO checks, every valid RDF fails only for the files the corpus left out
 * (manifest status excluded/absent), each named once per reference. */
static void test_validate__corpus_valid_with_io_fails_only_for_left_out_files(void)
{
	if (!have_corpus())
		skip_test("no corpus at %s", corpus);
	cJSON *m = manifest();
	require(m != NULL, "manifest.json");
	int items = 0, missing_total = 0, unlisted = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, m) {
		if (!is_kind(item, "rdf/valid"))
			continue;
		char path[4400], dir[4400], p[1024];
		item_path(item, path, sizeof(path));
		snprintf(dir, sizeof(dir), "%s", path);
		dirname(dir);
		cJSON *sum = run_file(path, 1);
		if (!sum)
			continue;
		items++;
		/* expected: references not in the folder */
		cJSON *want = cJSON_CreateObject();
		const cJSON *r;
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(item, "references")) {
			ref_path(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "ref")), p, sizeof(p));
			char full[5500];
			struct stat sb;
			snprintf(full, sizeof(full), "%s/%s", dir, p);
			if (p[0] && stat(full, &sb) != 0 && !cJSON_GetObjectItemCaseSensitive(want, p))
				cJSON_AddTrueToObject(want, p);
		}
		/* got: every error must be a missing file, and one of those */
		cJSON *errs = validate_summary_errors(sum);
		cJSON *got = cJSON_CreateObject();
		const cJSON *e;
		cJSON_ArrayForEach(e, errs) {
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
			const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
			check(type && !strcmp(type, "file_missing"), "%s: unexpected %s: %s", path, type, msg);
			const char *q = msg ? strchr(msg, '\'') : NULL;
			const char *q2 = q ? strchr(q + 1, '\'') : NULL;
			if (q && q2) {
				snprintf(p, sizeof(p), "%.*s", (int)(q2 - q - 1), q + 1);
				char full[5500];
				struct stat sb;
				snprintf(full, sizeof(full), "%s/%s", dir, p);
				check(stat(full, &sb) != 0, "%s: '%s' reported missing but it is there", path, p);
				/* The manifest does not list every reference (0.5.0 draft
				 * test tensors, 0.3 top-level source, weights attachments). */
				if (!cJSON_GetObjectItemCaseSensitive(want, p))
					unlisted++;
				if (!cJSON_GetObjectItemCaseSensitive(got, p))
					cJSON_AddTrueToObject(got, p);
			}
		}
		cJSON_ArrayForEach(e, want) {
			check(cJSON_GetObjectItemCaseSensitive(got, e->string) != NULL,
			      "%s: left-out file '%s' not reported", path, e->string);
			missing_total++;
		}
		const char *st = status(sum);
		check(!strcmp(st, cJSON_GetArraySize(got) ? "failed" : "passed"), "%s: status %s with %d missing",
		      path, st, cJSON_GetArraySize(got));
		cJSON_Delete(errs);
		cJSON_Delete(got);
		cJSON_Delete(want);
		cJSON_Delete(sum);
	}
	printf("  %d valid RDFs with IO checks; all %d files the manifest leaves out reported, and %d missing references it does not list\n",
	       items, missing_total, unlisted);
	check(items == 44 && missing_total > 20, "items %d, missing %d", items, missing_total);
	cJSON_Delete(m);
}

/* ---- the judge: the legacy collection and bioimageio.spec's verdicts --------------- */

/* The static verdict bioimageio.spec wrote into a legacy test_summary.yaml: the test
 * "... static validation ... with update to latest format ..." where present, else the
 * plain static validation; NULL when it has neither. */
static const char *spec_verdict(const cJSON *summary)
{
	const char *plain = NULL;
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(summary, "tests"),
								 "bioimageio"))
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "status"));
		if (!name || !st || !strstr(name, "static validation"))
			continue;
		if (strstr(name, "with update to latest format"))
			return st;
		if (!plain)
			plain = st;
	}
	return plain;
}

/* Every RDF of the legacy collection gets the static verdict bioimageio.spec gave those
 * exact bytes (the summary's rdf_sha256 proves they are the ones judged). */
static void test_validate__legacy_collection_agrees_with_bioimageio_spec(void)
{
	char dir[4300];
	if (!have_corpus())
		skip_test("no corpus at %s", corpus);
	snprintf(dir, sizeof(dir), "%s/legacy-collection", corpus);
	char mpath[4400];
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
	size_t len = 0;
	char *mtext = slurp(mpath, &len);
	cJSON *m = mtext ? cJSON_Parse(mtext) : NULL;
	free(mtext);
	require(m != NULL, "%s", mpath);
	int n = 0, agree = 0, spec_failed = 0, ours_failed = 0, other_bytes = 0;
	struct rdf_limits lim;
	rdf_limits_default(&lim);
	const cJSON *item;
	cJSON_ArrayForEach(item, m)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "name"));
		char rpath[4600], spath[4600], sha[65];
		snprintf(rpath, sizeof(rpath), "%s/%s/rdf.yaml", dir, name ? name : "?");
		snprintf(spath, sizeof(spath), "%s/%s/test_summary.yaml", dir, name ? name : "?");
		size_t rlen = 0, slen = 0;
		char *rtext = slurp(rpath, &rlen), *stext = slurp(spath, &slen);
		struct bo_error err = BO_ERROR_INIT;
		rdf_doc *sd = NULL;
		check(rtext && stext, "%s: rdf.yaml and test_summary.yaml", name);
		if (!rtext || !stext || rdf_parse(&sd, stext, slen, &lim, &err)) {
			check(0, "%s: test_summary.yaml does not parse: %s", name, err.detail);
			goto next;
		}
		const cJSON *summary = rdf_root(sd);
		hex_sha256(sha, rtext, rlen);
		/* the corpus README promises the judged bytes; one folder breaks it (noted, still
		 * compared: its verdict is the one the collection published) */
		if (strcmp(sha, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(summary, "rdf_sha256")) ?: "")) {
			printf("  note: %s/rdf.yaml is not the exact file its summary judged (sha256 differs)\n", name);
			other_bytes++;
		}
		const char *want = spec_verdict(summary);
		check(want != NULL, "%s: no static verdict in its summary", name);
		cJSON *sum = run_text(rtext, rlen, NULL);
		const char *got = sum ? status(sum) : "-";
		/* without IO checks a pass is "valid-format" */
		int ours_passed = !strcmp(got, "passed") || !strcmp(got, "valid-format");
		n++;
		spec_failed += want && strcmp(want, "passed");
		ours_failed += !ours_passed;
		if (want && ours_passed == !strcmp(want, "passed")) {
			agree++;
		} else {
			check(0, "%s: bioimageio.spec says %s, we say %s", name, want ? want : "-", got);
			dump(sum);
		}
		cJSON_Delete(sum);
	next:
		rdf_free(sd);
		bo_error_cleanup(&err);
		free(rtext);
		free(stext);
	}
	printf("  legacy collection: we agree with bioimageio.spec on %d of %d RDFs (it failed %d, we failed %d)\n",
	       agree, n, spec_failed, ours_failed);
	check(n == cJSON_GetArraySize(m) && n >= 132, "judged %d of %d", n, cJSON_GetArraySize(m));
	check(other_bytes <= 1, "%d RDFs are not the bytes their summaries judged", other_bytes);
	cJSON_Delete(m);
}

/* The rules of 0.2-era formats follow bioimageio.spec 0.4 (the spec those formats were
 * written for): a cite entry's doi is free text (malformed: a warning), and a 0.4 model
 * may leave out cite (a warning); model 0.5 keeps both as errors. */
static void test_validate__old_formats_take_cite_as_their_spec_did(void)
{
	static const char m04[] =
		"format_version: 0.4.9\ntype: model\nname: m\ndescription: d\nauthors: [{name: A}]\n"
		"license: MIT\ndocumentation: README.md\ntimestamp: 2022-01-01T00:00:00\n"
		"inputs: [{name: x, axes: bcyx, data_type: float32, shape: [1, 1, 64, 64]}]\n"
		"outputs: [{name: y, axes: bcyx, data_type: float32, shape: [1, 1, 64, 64]}]\n"
		"test_inputs: [in.npy]\ntest_outputs: [out.npy]\n"
		"weights: {onnx: {source: w.onnx, sha256: '"
		"0000000000000000000000000000000000000000000000000000000000000000'}}\n";
	cJSON *s = run_text(m04, sizeof(m04) - 1, NULL);
	require(s, "summary");
	check(!strcmp(status(s), "valid-format"), "a 0.4 model without cite: %s", status(s));
	if (strcmp(status(s), "valid-format"))
		dump(s);
	cJSON_Delete(s);
	char buf[2048];
	snprintf(buf, sizeof(buf), "%scite: [{text: a, doi: ''}, {text: b, doi: 'https://arxiv.org/abs/1505.04597'}]\n",
		 m04);
	s = run_text(buf, strlen(buf), NULL);
	require(s, "summary");
	check(!strcmp(status(s), "valid-format"), "0.4 cite dois as free text: %s", status(s));
	cJSON_Delete(s);
	static const char g03[] = "format_version: 0.3.0\ntype: dataset\nname: d\ndescription: d\n"
				  "cite: [{text: a, doi: 'https://arxiv.org/abs/1505.04597'}]\n";
	s = run_text(g03, sizeof(g03) - 1, NULL);
	require(s, "summary");
	expect_error(s, "[\"cite\",0,\"doi\"]", "doi_invalid");
	cJSON_Delete(s);
}

/* ---- the judge: rdf/invalid, one test per folder ------------------------------------ */

static cJSON *invalid(const char *folder, const char *file, int io)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/rdf/invalid/%s/%s", corpus, folder, file);
	return run_file(path, io);
}

#define NEED_CORPUS()                                                                    \
	do {                                                                               \
		if (!have_corpus())                                                        \
			skip_test("no corpus at %s", corpus);                              \
	} while (0)

/* "YAML parse error: it is a printf template (channel_names: [%s] ...)". */
static void test_validate__invalid_jdll_cellpose_yaml_error(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("JDLL__special_models__cellpose__rdf", "rdf.yaml", 0);
	require(s, "summary");
	check(!strcmp(status(s), "failed"), "status %s", status(s));
	cJSON *errs = validate_summary_errors(s);
	const cJSON *first = cJSON_GetArrayItem(errs, 0);
	check(cJSON_GetArraySize(errs) == 1, "one YAML error, got %d", cJSON_GetArraySize(errs));
	check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "type")), "yaml_syntax"),
	      "type");
	check(cJSON_GetObjectItemCaseSensitive(first, "line")->valueint == 20 &&
		      cJSON_GetObjectItemCaseSensitive(first, "column")->valueint == 21,
	      "line/column of the '%%s' (20:21), got %d:%d", cJSON_GetObjectItemCaseSensitive(first, "line")->valueint,
	      cJSON_GetObjectItemCaseSensitive(first, "column")->valueint);
	cJSON_Delete(errs);
	cJSON_Delete(s);
}

/* "Minimal shape [1 32 32 1] of output output is too small for halo [0, 97, 97, 0]". */
static void test_validate__invalid_mulux_halo(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("collection-bioimage-io__rdfs__deepimagej__MU-Lux_CTC_PhC-C2DL-PSC__latest", "rdf.yaml", 0);
	require(s, "summary");
	expect_error(s, "[\"outputs\",0,\"halo\"]", "halo_too_large");
	const cJSON *e = find_error(s, "[\"outputs\",0,\"halo\"]", "halo_too_large");
	check(e && strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg")),
			  "Minimal shape [1 32 32 1] of output output is too small for halo [0, 97, 97, 0]"),
	      "message as bioimageio.spec words it");
	cJSON_Delete(s);
}

/* "license 'BSD2' is not an SPDX identifier". */
static void test_validate__invalid_skin_lesion_license(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("collection-bioimage-io__rdfs__deepimagej__SkinLesionClassification__latest", "rdf.yaml", 0);
	require(s, "summary");
	expect_error(s, "[\"license\"]", "license_unknown");
	const cJSON *e = find_error(s, "[\"license\"]", "license_unknown");
	check(e && strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg")), "BSD-2-Clause"),
	      "suggests BSD-2-Clause");
	check(count_errors(s) == 1, "only the license, got %d errors", count_errors(s));
	cJSON_Delete(s);
}

/* "output shape references input_images (3 dims) but output_images has 4 dims". */
static void test_validate__invalid_widefield_dapi_reference(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("collection-bioimage-io__rdfs__deepimagej__WidefieldDapiSuperResolution__latest",
			   "rdf.yaml", 0);
	require(s, "summary");
	expect_error(s, "[\"outputs\",0,\"shape\",\"reference_tensor\"]", "reference_invalid");
	check(count_errors(s) == 1, "only the reference, got %d errors", count_errors(s));
	cJSON_Delete(s);
}

/* "license 'CC BY 4.0' (spaces) is not an SPDX identifier (should be CC-BY-4.0)". */
static void test_validate__invalid_widefield_txred_license(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("collection-bioimage-io__rdfs__deepimagej__WidefieldTxredSuperResolution__latest",
			   "rdf.yaml", 0);
	require(s, "summary");
	expect_error(s, "[\"license\"]", "license_unknown");
	const cJSON *e = find_error(s, "[\"license\"]", "license_unknown");
	check(e && strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg")), "'CC-BY-4.0'"),
	      "suggests CC-BY-4.0");
	cJSON_Delete(s);
}

/* QuPath: format_version 0.5.3 with 0.4-only fields; a strict 0.5 validator rejects them. */
static void test_validate__invalid_qupath_04_fields_in_05(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("qupath-bioimageio-spec__brightfield_multiout_v0_5__rdf", "rdf.yaml", 0);
	require(s, "summary");
	const char *keys[] = {"test_inputs", "test_outputs", "sample_inputs", "sample_outputs"};
	for (size_t i = 0; i < 4; i++) {
		char loc[64];
		snprintf(loc, sizeof(loc), "[\"%s\"]", keys[i]);
		expect_error(s, loc, "extra_forbidden");
	}
	expect_error(s, "[\"attachments\"]", "list_type"); /* {files: [...]} is the 0.4 form */
	cJSON_Delete(s);
}

/* Test input (1,512,512,1) does not fit min [1,80,80,1] step [0,17,17,0]: found from the
 * .npy header, so only with IO checks. */
static void test_validate__invalid_stardist_wrong_shape2_npy(void)
{
	NEED_CORPUS();
	const char *f = "spec-bioimage-io__models__stardist_example_model__rdf_wrong_shape2_v0_4";
	cJSON *s = invalid(f, "rdf_wrong_shape2_v0_4.yaml", 1);
	require(s, "summary");
	expect_error(s, "[\"test_inputs\",0]", "npy_shape");
	cJSON_Delete(s);
	s = invalid(f, "rdf_wrong_shape2_v0_4.yaml", 0);
	check(s && !strcmp(status(s), "valid-format"), "without IO checks the shape cannot be seen");
	cJSON_Delete(s);
}

/* Input and output share the name 'data'. */
static void test_validate__invalid_duplicate_tensor_names(void)
{
	NEED_CORPUS();
	cJSON *s = invalid("spec-bioimage-io__models__unet2d_nuclei_broad__invalid_v0_4_0_duplicate_tensor_names",
			   "invalid_v0_4_0_duplicate_tensor_names.bioimageio.yaml", 0);
	require(s, "summary");
	expect_error(s, "[\"outputs\",0,\"name\"]", "duplicate_tensor_id");
	check(count_errors(s) == 1, "only the duplicate, got %d", count_errors(s));
	cJSON_Delete(s);
}

/* Dynamic or dead-URL reasons: static validation cannot see them. What it finds instead:
 * - wrong_shape_v0_4: the declared output offset only shows against test_output0.npy,
 *   which the snapshot lacks: with IO checks the missing file is what fails;
 * - DeepSTORM, Mt3VirtualStaining: the 404 is a remote URL we do not fetch; the RDF is
 *   well-formed, and with IO checks only its attachments absent from the corpus fail;
 * - N2VSEMDemo: its pickled test tensor is remote (we never fetch at validation); the
 *   npy module refuses pickled arrays when a worker loads it (test_npy). */
static void test_validate__invalid_dynamic_or_dead_url_pass_static(void)
{
	NEED_CORPUS();
	const char *folders[][2] = {
		{"spec-bioimage-io__models__stardist_example_model__rdf_wrong_shape_v0_4", "rdf_wrong_shape_v0_4.yaml"},
		{"collection-bioimage-io__rdfs__deepimagej__DeepSTORMZeroCostDL4Mic__latest", "rdf.yaml"},
		{"collection-bioimage-io__rdfs__deepimagej__Mt3VirtualStaining__latest", "rdf.yaml"},
		{"collection-bioimage-io__rdfs__fiji__N2VSEMDemo__latest", "rdf.yaml"},
	};
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		cJSON *s = invalid(folders[i][0], folders[i][1], 0);
		check(s && !strcmp(status(s), "valid-format"), "%s: static %s", folders[i][0], s ? status(s) : "-");
		cJSON_Delete(s);
		s = invalid(folders[i][0], folders[i][1], 1);
		cJSON *errs = validate_summary_errors(s);
		const cJSON *e;
		cJSON_ArrayForEach(e, errs)
			check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type")), "file_missing"),
			      "%s: only missing files with IO checks", folders[i][0]);
		cJSON_Delete(errs);
		cJSON_Delete(s);
	}
	cJSON *s = invalid(folders[0][0], folders[0][1], 1);
	expect_error(s, "[\"test_outputs\",0]", "file_missing");
	cJSON_Delete(s);
}

/* ---- mutations of a valid 0.5 model ---------------------------------------------- */

#define NUCLEI "rdf/valid/spec-bioimage-io__models__unet2d_nuclei_broad__bioimageio"

/* The reference RDF text with `from` replaced by `to` (first occurrence). */
static char *mutate(const char *from, const char *to)
{
	char path[4400];
	size_t len;
	snprintf(path, sizeof(path), "%s/%s/bioimageio.yaml", corpus, NUCLEI);
	char *text = slurp(path, &len);
	if (!text)
		return NULL;
	char *at = strstr(text, from);
	if (!at) {
		free(text);
		return NULL;
	}
	size_t out_len = len - strlen(from) + strlen(to);
	char *out = malloc(out_len + 1);
	size_t head = (size_t)(at - text);
	memcpy(out, text, head);
	memcpy(out + head, to, strlen(to));
	memcpy(out + head + strlen(to), at + strlen(from), len - head - strlen(from) + 1);
	free(text);
	return out;
}

static void expect_mutation(const char *from, const char *to, const char *loc, const char *type)
{
	char *text = mutate(from, to);
	require(text, "mutation %s", from);
	cJSON *s = run_text(text, strlen(text), NULL);
	check(s && !strcmp(status(s), "failed"), "%s -> %s: %s", from, to, s ? status(s) : "-");
	expect_error(s, loc, type);
	cJSON_Delete(s);
	free(text);
}

static void test_validate__mutations(void)
{
	NEED_CORPUS();
	expect_mutation("documentation: README.md", "", "[\"documentation\"]", "missing");
	expect_mutation("license: MIT", "license: 42", "[\"license\"]", "type_error");
	expect_mutation("license: MIT", "license: BSD2", "[\"license\"]", "license_unknown");
	expect_mutation("  - id: probability", "  - id: raw", "[\"outputs\",0,\"id\"]", "duplicate_tensor_id");
	expect_mutation("license: MIT", "license: MIT\nlanguage: python", "[\"language\"]", "extra_forbidden");
	expect_mutation("format_version: 0.5.4", "format_version: 0.9.1", "[\"format_version\"]",
			"format_version_unsupported");
	expect_mutation("      - type: batch", "      - type: batchy", "[\"inputs\",0,\"axes\",0,\"type\"]",
			"union_tag_invalid");
}

/* Copies the reference package to ./pkg and writes the mutated RDF there. */
static void make_package(const char *text)
{
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "cp -r '%s/%s' pkg && chmod -R u+w pkg", corpus, NUCLEI);
	require(system(cmd) == 0, "copy the package");
	FILE *f = fopen("pkg/bioimageio.yaml", "w");
	require(f && fputs(text, f) >= 0 && fclose(f) == 0, "write rdf");
}

static void test_validate__mutation_sha256_changed(void)
{
	NEED_CORPUS();
	char *text = mutate("92768a2e0f2643c80b57afa5494019a5aafe5b0d92fe36ae740763adf3594a57",
			    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	require(text, "mutation");
	make_package(text);
	cJSON *s = run_text(text, strlen(text), "pkg");
	expect_error(s, "[\"inputs\",0,\"test_tensor\",\"sha256\"]", "sha256_mismatch");
	cJSON_Delete(s);
	free(text);
}

/* names_only (the upload page's check: the zip's names, not its bytes): every referenced file
 * must be present, but no sha256 is compared and no file is read; at best "valid-format". */
static void test_validate__names_only(void)
{
	NEED_CORPUS();
	char *text = mutate("92768a2e0f2643c80b57afa5494019a5aafe5b0d92fe36ae740763adf3594a57",
			    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	require(text, "mutation");
	make_package(text);
	require(unlink("pkg/README.md") == 0, "remove README.md");
	struct bo_error err = BO_ERROR_INIT;
	struct validate_files files;
	validate_files_dir(&files, "pkg");
	struct validate_options opt = {.files = &files, .names_only = 1, .source_name = "test"};
	cJSON *s = NULL;
	check(validate_text(rules(), text, strlen(text), &opt, &s, &err) == 0, "validate_text: %s", err.detail);
	bo_error_cleanup(&err);
	expect_error(s, "[\"documentation\"]", "file_missing");
	check(!find_error(s, "[\"inputs\",0,\"test_tensor\",\"sha256\"]", "sha256_mismatch"),
	      "names_only compared a sha256");
	check(!strcmp(status(s), "failed"), "status %s", status(s));
	cJSON_Delete(s);
	/* the README back and the weights this corpus copy leaves out, as empty files (their
	 * bytes are never read), the architecture by URL: nothing is missing */
	static const char *const made[] = {"pkg/README.md", "pkg/weights.onnx", "pkg/weights.pt"};
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		FILE *f = fopen(made[i], "w");
		require(f, "write %s", made[i]);
		fclose(f);
	}
	char *fixed = mutate("source: unet2d.py", "source: https://example.org/unet2d.py");
	require(fixed, "mutation");
	s = NULL;
	check(validate_text(rules(), fixed, strlen(fixed), &opt, &s, &err) == 0, "validate_text: %s", err.detail);
	bo_error_cleanup(&err);
	check(!strcmp(status(s), "valid-format") && count_errors(s) == 0, "status %s with %d errors", status(s),
	      count_errors(s));
	if (count_errors(s))
		dump(s);
	cJSON_Delete(s);
	free(fixed);
	free(text);
}

static void test_validate__mutation_test_tensor_shape(void)
{
	NEED_CORPUS();
	char *text = mutate("x", "x"); /* unchanged RDF */
	require(text, "rdf");
	make_package(text);
	/* Replace test_input.npy by a (1, 1, 512, 256) array: x no longer fits. */
	static float data[512 * 256];
	int64_t shape[4] = {1, 1, 512, 256};
	struct bo_error err = BO_ERROR_INIT;
	require(npy_save("pkg/test_input.npy", NPY_F32, 4, shape, data, &err) == 0, "npy_save: %s", err.detail);
	cJSON *s = run_text(text, strlen(text), "pkg");
	expect_error(s, "[\"inputs\",0,\"test_tensor\",\"source\"]", "npy_shape");
	expect_error(s, "[\"inputs\",0,\"test_tensor\",\"sha256\"]", "sha256_mismatch");
	cJSON_Delete(s);
	/* A 3-d array does not match the 4 declared axes. */
	int64_t shape3[3] = {1, 512, 256};
	require(npy_save("pkg/test_input.npy", NPY_F32, 3, shape3, data, &err) == 0, "npy_save");
	s = run_text(text, strlen(text), "pkg");
	const cJSON *e = find_error(s, "[\"inputs\",0,\"test_tensor\",\"source\"]", "npy_shape");
	check(e && strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg")), "declares 4 axes"),
	      "axes count");
	cJSON_Delete(s);
	/* A pickled (object) array is refused from its header. */
	FILE *f = fopen("pkg/test_input.npy", "wb");
	const char hdr[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
	char buf[128];
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, hdr, sizeof(hdr) - 1);
	buf[127] = '\n';
	require(f && fwrite(buf, 1, 128, f) == 128 && fclose(f) == 0, "write pickled npy");
	s = run_text(text, strlen(text), "pkg");
	e = find_error(s, "[\"inputs\",0,\"test_tensor\",\"source\"]", "npy_invalid");
	check(e && strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg")), "pickle"),
	      "pickled test tensor refused");
	if (!e)
		dump(s);
	cJSON_Delete(s);
	bo_error_cleanup(&err);
	free(text);
}

/* One RDF with many problems reports every one of them. */
static void test_validate__many_problems_all_reported(void)
{
	NEED_CORPUS();
	char *a = mutate("license: MIT", "license: CC BY 4.0\nlanguage: java");
	require(a, "mutation");
	char *b = strstr(a, "  - id: probability");
	require(b, "output id");
	memcpy(b, "  - id: raw        ", strlen("  - id: probability"));
	char *c = strstr(a, "documentation: README.md");
	if (!c)
		free(a);
	require(c, "documentation");
	memset(c, ' ', strlen("documentation: README.md"));
	cJSON *s = run_text(a, strlen(a), NULL);
	expect_error(s, "[\"license\"]", "license_unknown");
	expect_error(s, "[\"language\"]", "extra_forbidden");
	expect_error(s, "[\"outputs\",0,\"id\"]", "duplicate_tensor_id");
	expect_error(s, "[\"documentation\"]", "missing");
	check(count_errors(s) == 4, "4 errors, got %d", count_errors(s));
	cJSON_Delete(s);
	free(a);
}

/* ---- hostile YAML ------------------------------------------------------------------ */

static void expect_yaml_failure(const char *what, const char *text, size_t len)
{
	cJSON *s = run_text(text, len, NULL);
	require(s, "%s: a summary", what);
	check(!strcmp(status(s), "failed"), "%s: status %s", what, status(s));
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "details"), 0);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "errors"), 0);
	check(e && cJSON_GetObjectItemCaseSensitive(e, "msg"), "%s: a message", what);
	printf("  %s: %s\n", what, e ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg")) : "-");
	cJSON_Delete(s);
}

static void test_validate__hostile_yaml(void)
{
	/* billion laughs */
	char bomb[4096];
	size_t o = (size_t)snprintf(bomb, sizeof(bomb), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 12; i++)
		o += (size_t)snprintf(bomb + o, sizeof(bomb) - o,
				      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
				      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	expect_yaml_failure("alias bomb", bomb, o);
	/* 10,000-deep nesting */
	size_t n = 10000;
	char *deep = malloc(2 * n + 16);
	require(deep, "alloc");
	memcpy(deep, "a: ", 3);
	memset(deep + 3, '[', n);
	memset(deep + 3 + n, ']', n);
	expect_yaml_failure("10000-deep", deep, 3 + 2 * n);
	free(deep);
	/* a 100 MB scalar */
	size_t big = 100u << 20;
	char *huge = malloc(big + 16);
	require(huge, "alloc");
	memcpy(huge, "name: ", 6);
	memset(huge + 6, 'x', big);
	expect_yaml_failure("100 MB scalar", huge, big + 6);
	free(huge);
	/* invalid UTF-8 and tabs */
	const char bad_utf8[] = "format_version: 0.2.3\nname: \xff\xfe\xfd\ndescription: x\n";
	expect_yaml_failure("invalid UTF-8", bad_utf8, sizeof(bad_utf8) - 1);
	const char tabs[] = "format_version: 0.2.3\nname: x\nauthors:\n\t- name: y\n";
	expect_yaml_failure("tab indentation", tabs, sizeof(tabs) - 1);
	const char dup[] = "format_version: 0.2.3\nname: x\nname: y\ndescription: d\n";
	cJSON *s = run_text(dup, sizeof(dup) - 1, NULL);
	expect_error(s, "[\"name\"]", "duplicate_key");
	cJSON_Delete(s);
}

/* ---- the rest --------------------------------------------------------------------- */

static void test_validate__types_and_versions(void)
{
	const char ds[] = "format_version: 0.2.4\ntype: dataset\nname: D\ndescription: d\nlicense: CC-BY-4.0\n"
			  "authors: [{name: A}]\ncite: [{text: t, doi: 10.1/x}]\nversion: 1.2.0\n";
	cJSON *s = run_text(ds, sizeof(ds) - 1, NULL);
	check(s && !strcmp(status(s), "valid-format"), "dataset 0.2");
	check(!strcmp(validate_summary_type(s), "dataset"), "type");
	cJSON_Delete(s);
	const char bad_version[] = "format_version: 0.2.4\ntype: dataset\nname: D\ndescription: d\nversion: '../1'\n";
	s = run_text(bad_version, sizeof(bad_version) - 1, NULL);
	expect_error(s, "[\"version\"]", "version_invalid");
	cJSON_Delete(s);
	const char nb[] = "format_version: 0.3.0\ntype: notebook\nname: N\ndescription: d\nlicense: MIT\n"
			  "authors: [{name: A}]\ncite: [{text: t, url: 'https://x.org'}]\n";
	s = run_text(nb, sizeof(nb) - 1, NULL);
	expect_error(s, "[\"source\"]", "missing");
	cJSON_Delete(s);
	const char nofv[] = "type: model\nname: x\n";
	s = run_text(nofv, sizeof(nofv) - 1, NULL);
	expect_error(s, "[\"format_version\"]", "missing");
	cJSON_Delete(s);
}

static int version_one_exists(void *ctx, const char *version, struct bo_error *err)
{
	(void)ctx, (void)err;
	return !strcmp(version, "1.2.0");
}

static void test_validate__version_already_published(void)
{
	const char ds[] = "format_version: 0.2.4\ntype: dataset\nname: D\ndescription: d\nversion: 1.2.0\n";
	struct bo_error err = BO_ERROR_INIT;
	struct validate_options opt = {.version_exists = version_one_exists};
	cJSON *s = NULL;
	require(validate_text(rules(), ds, sizeof(ds) - 1, &opt, &s, &err) == 0, "%s", err.detail);
	expect_error(s, "[\"version\"]", "version_exists");
	cJSON_Delete(s);
}

/* Documentation without a validation section is a warning; the summary still passes. */
static void test_validate__documentation_warning_never_fails(void)
{
	NEED_CORPUS();
	char *text = mutate("x", "x");
	require(text, "rdf");
	make_package(text);
	/* the reference package without its weights: give it stand-ins so only the docs remain */
	require(system("cd pkg && touch weights.onnx weights.pt unet2d.py") == 0, "stand-ins");
	cJSON *s = run_text(text, strlen(text), "pkg");
	const cJSON *d, *w;
	int warned = 0;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(s, "details"))
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(d, "warnings"))
			warned |= !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "type")),
					  "documentation_no_validation");
	check(warned, "documentation warning");
	/* stand-in weights have the wrong sha256: those are the only errors */
	cJSON *errs = validate_summary_errors(s);
	const cJSON *e;
	cJSON_ArrayForEach(e, errs)
		check(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type")), "sha256_mismatch"),
		      "only hash mismatches of the stand-ins");
	cJSON_Delete(errs);
	cJSON_Delete(s);
	FILE *f = fopen("pkg/README.md", "a");
	require(f && fputs("\n## Validation\nchecked on 3 datasets\n", f) >= 0 && fclose(f) == 0, "readme");
	s = run_text(text, strlen(text), "pkg");
	warned = 0;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(s, "details"))
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(d, "warnings"))
			warned |= !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "type")),
					  "documentation_no_validation");
	check(!warned, "no warning once the README has a validation section");
	cJSON_Delete(s);
	free(text);
}

static void test_validate__load_errors(void)
{
	struct bo_error err = BO_ERROR_INIT;
	validator *v = NULL;
	check(validate_load(&v, "no-such-dir", &err) == BO_EINTERNAL && v == NULL, "missing dir");
	check(strstr(err.detail, "no-such-dir") != NULL, "detail names the dir: %s", err.detail);
	bo_error_cleanup(&err);
	char cmd[4400];
	snprintf(cmd, sizeof(cmd), "mkdir -p s/rules && cp '%s' s/ && echo '{\"defs\": 3' > s/rules/model-0.5.json",
		 check_src("schema/spdx_licenses.json"));
	require(system(cmd) == 0, "setup");
	check(validate_load(&v, "s", &err) == BO_EINTERNAL, "malformed rules file refused");
	check(strstr(err.detail, "model-0.5.json") != NULL, "detail names the file: %s", err.detail);
	bo_error_cleanup(&err);
}

static struct check_test tests[] = {
	TEST(test_validate__corpus_valid_without_io),
	TEST(test_validate__names_only),
	TEST(test_validate__corpus_valid_with_io_fails_only_for_left_out_files),
	TEST(test_validate__legacy_collection_agrees_with_bioimageio_spec),
	TEST(test_validate__old_formats_take_cite_as_their_spec_did),
	TEST(test_validate__invalid_jdll_cellpose_yaml_error),
	TEST(test_validate__invalid_mulux_halo),
	TEST(test_validate__invalid_skin_lesion_license),
	TEST(test_validate__invalid_widefield_dapi_reference),
	TEST(test_validate__invalid_widefield_txred_license),
	TEST(test_validate__invalid_qupath_04_fields_in_05),
	TEST(test_validate__invalid_stardist_wrong_shape2_npy),
	TEST(test_validate__invalid_duplicate_tensor_names),
	TEST(test_validate__invalid_dynamic_or_dead_url_pass_static),
	TEST(test_validate__mutations),
	TEST(test_validate__mutation_sha256_changed),
	TEST(test_validate__mutation_test_tensor_shape),
	TEST(test_validate__many_problems_all_reported),
	TEST(test_validate__hostile_yaml),
	TEST(test_validate__types_and_versions),
	TEST(test_validate__version_already_published),
	TEST(test_validate__documentation_warning_never_fails),
	TEST(test_validate__load_errors),
};

int main(int argc, char **argv)
{
	int rc = check_run(argc, argv, tests, sizeof tests / sizeof *tests);
	validate_free(V);
	return rc;
}

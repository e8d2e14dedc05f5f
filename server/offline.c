/* offline: `backoffice validate` and `backoffice test` on a local path (see offline.h).
 * Invariant: nothing outlives a call — a zip is unpacked into a temp directory of its
 * own that every path out of offline_validate/offline_test removes. The steps are those
 * of an upload (find the RDF, read it within max_yaml_bytes, validate_text, then
 * test_worker_run per weight format), minus the database and storage. */
#include "offline.h"

#include "check/validate.h"
#include "check/weights.h"
#include "common/error.h"
#include "common/rdf.h"
#include "infra/config.h"
#include "infra/package.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names looked at in a package directory to find its RDF (more are ignored). */
#define DIR_NAMES_MAX 256

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ---------------------------------------------------------------- the rules */

int offline_load_rules(validator **out, const struct config *cfg, struct bo_error *err)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	struct stat st;
	snprintf(cand, sizeof(cand), "%s/rules", cfg->schema_dir);
	if (stat(cand, &st)) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			const char *dir = dirname(exe);
			const char *tries[] = {"../../schema", "../schema", "../share/backoffice/schema"};
			for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
				snprintf(cand, sizeof(cand), "%s/%s/rules", dir, tries[i]);
				if (!stat(cand, &st)) {
					snprintf(cand, sizeof(cand), "%s/%s", dir, tries[i]);
					return validate_load(out, cand, err);
				}
			}
		}
	}
	return validate_load(out, cfg->schema_dir, err);
}

/* ---------------------------------------------------------------- finding the package */

/* A path resolved to its RDF: what validation and the test runs read. */
struct local_package {
	char *rdf_path;     /* the RDF file (malloc'd) */
	char tmp[PATH_MAX]; /* the temp directory of an unpacked zip, "" when none */
	char *text;         /* the RDF's bytes, at most max_yaml_bytes + 1 */
	size_t len;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void local_clear(struct local_package *p)
{
	if (p->tmp[0])
		nftw(p->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(p->rdf_path);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* The RDF of a package directory, chosen among its entries as in an upload. */
static int find_in_dir(const char *path, char **rdf_out, struct bo_error *err)
{
	struct bo_error e = BO_ERROR_INIT;
	const char *names[DIR_NAMES_MAX], *pick = NULL;
	char *owned[DIR_NAMES_MAX];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(path);
	while (d && (de = readdir(d)) && n < DIR_NAMES_MAX)
		if (de->d_name[0] != '.' && (owned[n] = strdup(de->d_name)))
			names[n] = owned[n], n++;
	if (d)
		closedir(d);
	if (rdf_find_name(names, n, &pick, &e) == 0 && asprintf(rdf_out, "%s/%s", path, pick) < 0)
		*rdf_out = NULL;
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	/* no RDF in the directory is a usage error here, not an invalid upload */
	int rc = *rdf_out ? 0
			  : bo_error_set(err, BO_EBADREQUEST, "%s: %s", path,
					 e.detail[0] ? e.detail : "cannot read the directory");
	bo_error_cleanup(&e);
	return rc;
}

/* Extracts every entry of p under tmp, creating the directories on the way. */
static int extract_all(package *p, const char *tmp, struct bo_error *err)
{
	char path[PATH_MAX];
	int rc = 0;
	for (size_t i = 0; !rc && i < package_count(p); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", tmp, package_name(p, i)) >= sizeof(path))
			return bo_error_set(err, BO_EINVALIDPACKAGE, "entry name too long: %s", package_name(p, i));
		for (char *s = path + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
			*s = '\0';
			if (mkdir(path, 0700) && errno != EEXIST)
				rc = bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", path, strerror(errno));
			*s = '/';
		}
		if (!rc)
			rc = package_extract(p, i, path, NULL, NULL, err);
	}
	return rc;
}

/* Unpacks a zip into a new temp dir (pkg->tmp, set as soon as it exists so that
 * local_clear removes it); pkg->rdf_path is the RDF's path inside it. */
static int unpack_zip(const struct config *cfg, const char *zip, struct local_package *pkg, struct bo_error *err)
{
	struct package_limits lim;
	package *p = NULL;
	const char *name = NULL;
	const char *base = getenv("TMPDIR");
	char tmp[PATH_MAX];
	int rc;
	package_limits_from_config(&lim, cfg);
	snprintf(tmp, sizeof(tmp), "%s/backoffice-validate-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp))
		return bo_error_set(err, BO_EINTERNAL, "cannot create a temp directory: %s", strerror(errno));
	snprintf(pkg->tmp, sizeof(pkg->tmp), "%s", tmp);
	rc = package_open(&p, zip, &lim, err);
	if (!rc)
		rc = package_find_rdf(p, &name, err);
	if (!rc)
		rc = extract_all(p, tmp, err);
	if (!rc && asprintf(&pkg->rdf_path, "%s/%s", tmp, name) < 0) {
		pkg->rdf_path = NULL;
		rc = oom(err);
	}
	package_close(p);
	return rc;
}

static int is_zip(const char *path)
{
	unsigned char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	return n == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

static int has_zip_suffix(const char *path)
{
	size_t n = strlen(path);
	return !strncasecmp(path + (n > 4 ? n - 4 : 0), ".zip", 4);
}

/* pkg->rdf_path for path: the RDF in a directory, in an unpacked zip, or path itself. */
static int local_resolve(const struct config *cfg, const char *path, struct local_package *pkg, struct bo_error *err)
{
	struct stat st;
	if (stat(path, &st))
		return bo_error_set(err, BO_EBADREQUEST, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return find_in_dir(path, &pkg->rdf_path, err);
	if (is_zip(path)) {
		struct bo_error e = BO_ERROR_INIT;
		int rc = unpack_zip(cfg, path, pkg, &e);
		/* a zip that is not an acceptable package is judged invalid; one that could not
		 * be unpacked here (temp directory, disk) was not judged at all */
		int judged = rc == BO_EINVALIDPACKAGE || rc == BO_ETOOLARGE;
		if (rc)
			rc = bo_error_set(err, judged ? rc : BO_EBADREQUEST, "%s: %s", path, e.detail);
		bo_error_cleanup(&e);
		return rc;
	}
	if (has_zip_suffix(path))
		return bo_error_set(err, BO_EBADREQUEST, "%s: not a zip file", path);
	pkg->rdf_path = strdup(path);
	return pkg->rdf_path ? 0 : oom(err);
}

/* pkg->text: the RDF's bytes. One byte over max_yaml_bytes is read, so that the parser
 * reports the limit instead of seeing a truncated document. */
static int local_read_rdf(const struct config *cfg, struct local_package *pkg, struct bo_error *err)
{
	struct stat st;
	size_t max = (size_t)cfg->max_yaml_bytes + 1;
	ssize_t got = 0;
	int fd = open(pkg->rdf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		int rc = bo_error_set(err, BO_EBADREQUEST, "%s: %s", pkg->rdf_path,
				      fd < 0 ? strerror(errno) : "not a file");
		if (fd >= 0)
			close(fd);
		return rc;
	}
	pkg->text = malloc(max);
	while (pkg->text && pkg->len < max && (got = read(fd, pkg->text + pkg->len, max - pkg->len)) > 0)
		pkg->len += (size_t)got;
	close(fd);
	if (!pkg->text || got < 0)
		return bo_error_set(err, BO_EBADREQUEST, "%s: cannot read", pkg->rdf_path);
	return 0;
}

/* ---------------------------------------------------------------- validation */

/* validate_text on pkg's RDF; with io_checks, its files are looked up beside it. */
static int local_validate(const validator *v, const struct config *cfg, const char *source,
			  const struct local_package *pkg, int io_checks, cJSON **out, struct bo_error *err)
{
	struct validate_files files;
	struct rdf_limits lim;
	char *dcopy = strdup(pkg->rdf_path);
	char *dir = dcopy ? strdup(dirname(dcopy)) : NULL;
	free(dcopy);
	config_rdf_limits(cfg, &lim);
	validate_files_dir(&files, dir ? dir : ".");
	struct validate_options opt = {.files = io_checks ? &files : NULL, .source_name = source, .limits = &lim};
	int rc = validate_text(v, pkg->text, pkg->len, &opt, out, err);
	free(dir);
	return rc;
}

/* Resolves, reads and validates path into pkg (the caller clears pkg). */
static int validate_into(const struct config *cfg, const validator *v, const char *path, int io_checks,
			 struct local_package *pkg, cJSON **out, struct bo_error *err)
{
	int rc = local_resolve(cfg, path, pkg, err);
	if (!rc)
		rc = local_read_rdf(cfg, pkg, err);
	if (!rc)
		rc = local_validate(v, cfg, path, pkg, io_checks, out, err);
	return rc;
}

int offline_validate(cJSON **out, const struct config *cfg, const validator *v, const char *path, int io_checks,
		     struct bo_error *err)
{
	struct local_package pkg = {0};
	*out = NULL;
	int rc = validate_into(cfg, v, path, io_checks, &pkg, out, err);
	local_clear(&pkg);
	return rc;
}

/* ---------------------------------------------------------------- dynamic tests */

/* One worker run per weight format of the model in pkg (as the server picks them, or
 * only `only`), appended to tests. */
static int run_tests(const struct config *cfg, const char *path, const struct local_package *pkg,
		     const char *only, cJSON *tests, struct bo_error *err)
{
	struct bo_error e = BO_ERROR_INIT;
	struct rdf_limits lim;
	rdf_doc *doc = NULL;
	char dir[PATH_MAX], *dcopy = NULL;
	int rc, matched = 0;
	config_rdf_limits(cfg, &lim);
	/* the RDF the validator just accepted, for its weight formats */
	rc = rdf_parse(&doc, pkg->text, pkg->len, &lim, &e);
	if (rc) {
		rc = bo_error_set(err, BO_EBADREQUEST, "%s: %s", pkg->rdf_path, e.detail[0] ? e.detail : "cannot read");
		goto fail;
	}
	dcopy = strdup(pkg->rdf_path);
	if (!dcopy || !realpath(dirname(dcopy), dir)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "%s: cannot resolve its directory", pkg->rdf_path);
		goto fail;
	}
	const char *slash = strrchr(pkg->rdf_path, '/');
	const cJSON *root = rdf_root(doc), *weights = NULL;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "type"));
	if (type && !strcmp(type, "model"))
		weights = cJSON_GetObjectItemCaseSensitive(root, "weights");
	for (const cJSON *w = weights_next(weights, NULL); w; w = weights_next(weights, w)) {
		if (only && strcmp(only, w->string))
			continue;
		matched++;
		struct test_worker_request rq = {
			.cfg = cfg, .package_dir = dir, .rdf_file = slash ? slash + 1 : pkg->rdf_path,
			.weight_format = w->string,
		};
		cJSON *one = NULL;
		rc = test_worker_run(&rq, &one, err);
		if (rc)
			goto fail;
		cJSON_AddItemToArray(tests, one);
	}
	rc = only && !matched ? bo_error_set(err, BO_EBADREQUEST, "%s has no '%s' weights", path, only) : 0;
fail:
	bo_error_cleanup(&e);
	free(dcopy);
	rdf_free(doc);
	return rc;
}

/* Passed: validation did not fail and no run did either (a skipped format does not fail). */
static int verdict(const cJSON *validation, const cJSON *tests)
{
	int ok = strcmp(validate_summary_status(validation), "failed") != 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, tests)
	{
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "status"));
		if (!s || (strcmp(s, "passed") && strcmp(s, "skipped")))
			ok = 0;
	}
	return ok;
}

int offline_test(cJSON **out, const struct config *cfg, const validator *v, const char *path, const char *only,
		 struct bo_error *err)
{
	struct local_package pkg = {0};
	cJSON *validation = NULL, *tests = NULL, *result = NULL;
	*out = NULL;
	int rc = validate_into(cfg, v, path, 1, &pkg, &validation, err);
	if (rc)
		goto fail;
	tests = cJSON_CreateArray();
	if (!tests) {
		rc = oom(err);
		goto fail;
	}
	if (strcmp(validate_summary_status(validation), "failed")) {
		rc = run_tests(cfg, path, &pkg, only, tests, err);
		if (rc)
			goto fail;
	}
	result = cJSON_CreateObject();
	if (!result || !cJSON_AddStringToObject(result, "status", verdict(validation, tests) ? "passed" : "failed") ||
	    !cJSON_AddStringToObject(result, "source", path)) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddItemToObject(result, "validation", validation);
	cJSON_AddItemToObject(result, "tests", tests);
	validation = tests = NULL;
	*out = result;
	result = NULL;
	rc = 0;
fail:
	local_clear(&pkg);
	cJSON_Delete(validation);
	cJSON_Delete(tests);
	cJSON_Delete(result);
	return rc;
}

int offline_test_passed(const cJSON *result)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "status"));
	return s && !strcmp(s, "passed");
}

/* ---------------------------------------------------------------- the table */

static const char *status_mark(const char *status)
{
	return !strcmp(status, "passed") ? "✓" : !strcmp(status, "skipped") ? "–" : "✗";
}

/* One check of a run, with its first five problems. */
static void print_detail(const cJSON *d, FILE *f)
{
	const char *ds = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
	const char *dn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "name"));
	fprintf(f, "  %s %s\n", status_mark(ds ? ds : "error"), dn ? dn : "?");
	const cJSON *e;
	int shown = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "errors"))
	{
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
		if (msg && shown++ < 5)
			fprintf(f, "      %s\n", msg);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "warnings"))
	{
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
		if (msg && shown++ < 5)
			fprintf(f, "      ⚠ %s\n", msg);
	}
}

/* One block per weight format: the run's verdict, then each check. */
static void print_run(const cJSON *t, FILE *f)
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "status"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
	const cJSON *wall = cJSON_GetObjectItemCaseSensitive(t, "wall_ms");
	const cJSON *rss = cJSON_GetObjectItemCaseSensitive(t, "peak_rss_kb");
	fprintf(f, "\n%s %s: %s", status_mark(status ? status : "error"), name ? name : "dynamic test",
		status ? status : "error");
	if (cJSON_IsNumber(wall))
		fprintf(f, " (%.0f ms", wall->valuedouble);
	if (cJSON_IsNumber(wall) && cJSON_IsNumber(rss))
		fprintf(f, ", peak RSS %.0f MiB", rss->valuedouble / 1024);
	fprintf(f, "%s\n", cJSON_IsNumber(wall) ? ")" : "");
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(t, "details"))
	{
		print_detail(d, f);
	}
	const char *log = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "stderr"));
	if (log && *log)
		fprintf(f, "  worker log (end):\n%s%s", log, log[strlen(log) - 1] == '\n' ? "" : "\n");
}

void offline_print_test(const cJSON *result, FILE *f)
{
	const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "source"));
	int ok = offline_test_passed(result);
	const cJSON *t;
	validate_print_table(cJSON_GetObjectItemCaseSensitive(result, "validation"), f);
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(result, "tests"))
	{
		print_run(t, f);
	}
	fprintf(f, "\n%s %s: %s\n", ok ? "✓" : "✗", source ? source : "", ok ? "passed" : "failed");
}

/* Unit tests for package: good and hostile zips. Every zip is made here, in the test's
 * temp dir, with libzip; what libzip refuses to write (a NUL in a name, a header that
 * lies about the size, a bad CRC) is made by patching the bytes of a libzip-made zip.
 * So no fixture script or python is needed (tests/fixtures/make_bad_zips.py is not used). */
#include "check.h"

#include "infra/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "infra/package.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <zip.h>

struct zent {
	const char *name;
	size_t name_len; /* 0: strlen(name) */
	const void *data;
	size_t len;
	int method;        /* ZIP_CM_STORE or ZIP_CM_DEFLATE (0 = store) */
	unsigned mode;     /* unix mode incl. type bits; 0 = default */
	int dir;           /* a directory entry */
	int encrypt;       /* AES-256 with a password */
};

static int make_zip(const char *path, const struct zent *e, size_t n)
{
	int zerr = 0;
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	if (!za)
		return -1;
	for (size_t i = 0; i < n; i++) {
		zip_int64_t idx;
		if (e[i].dir) {
			idx = zip_dir_add(za, e[i].name, 0);
		} else {
			zip_source_t *src = zip_source_buffer(za, e[i].data, e[i].len, 0);
			if (!src)
				goto fail;
			idx = zip_file_add(za, e[i].name, src, 0);
			if (idx < 0) {
				zip_source_free(src);
				goto fail;
			}
			if (zip_set_file_compression(za, (zip_uint64_t)idx,
						     e[i].method ? e[i].method : ZIP_CM_STORE, 0))
				goto fail;
		}
		if (idx < 0)
			goto fail;
		if (e[i].mode &&
		    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
						     (zip_uint32_t)e[i].mode << 16))
			goto fail;
		if (e[i].encrypt &&
		    zip_file_set_encryption(za, (zip_uint64_t)idx, ZIP_EM_AES_256, "secret"))
			goto fail;
	}
	return zip_close(za) == 0 ? 0 : -1;
fail:
	zip_discard(za);
	return -1;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static int spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = fwrite(data, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Replaces every occurrence of from[0..n) by to[0..n). Returns the count. */
static int patch_bytes(const char *path, const void *from, const void *to, size_t n)
{
	size_t len = 0;
	int count = 0;
	unsigned char *b = slurp(path, &len);
	if (!b)
		return -1;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(b + i, from, n) == 0) {
			memcpy(b + i, to, n);
			count++;
		}
	if (spit(path, b, len))
		count = -1;
	free(b);
	return count;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Sets a 32-bit field of the local and central headers of the entry named name:
 * local_off/central_off are the field offsets in each header. */
static int patch_header32(const char *path, const char *name, size_t local_off,
			  size_t central_off, uint32_t value)
{
	size_t len = 0, nl = strlen(name);
	int count = 0;
	unsigned char *b = slurp(path, &len);
	if (!b)
		return -1;
	for (size_t i = 0; i + 46 + nl <= len; i++) {
		if (memcmp(b + i, "PK\3\4", 4) == 0 && memcmp(b + i + 30, name, nl) == 0) {
			put32(b + i + local_off, value);
			count++;
		} else if (memcmp(b + i, "PK\1\2", 4) == 0 && memcmp(b + i + 46, name, nl) == 0) {
			put32(b + i + central_off, value);
			count++;
		}
	}
	if (spit(path, b, len))
		count = -1;
	free(b);
	return count;
}

static struct package_limits default_limits(void)
{
	struct package_limits l;
	package_limits_from_config(&l, NULL);
	return l;
}

static int count_errors(const struct bo_error *err) { return cJSON_GetArraySize(err->errors); }

/* Whether err->errors has an entry with loc ["files", name] and the type. */
static int has_error(const struct bo_error *err, const char *name, const char *type)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, err->errors)
	{
		const cJSON *loc = cJSON_GetObjectItemCaseSensitive(e, "loc");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
		const cJSON *l1 = cJSON_GetArrayItem(loc, 1);
		if (cJSON_IsString(cJSON_GetArrayItem(loc, 0)) &&
		    strcmp(cJSON_GetArrayItem(loc, 0)->valuestring, "files") == 0 &&
		    cJSON_IsString(l1) && strcmp(l1->valuestring, name) == 0 && cJSON_IsString(t) &&
		    strcmp(t->valuestring, type) == 0)
			return 1;
	}
	return 0;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char rdf_text[] = "type: model\nname: test\n";

/* ---------------------------------------------------------------------------------- */

static void test_package__limits_from_config(void)
{
	struct package_limits l = default_limits();
	check(l.max_entries == LIMIT_ZIP_ENTRIES, "%lld", (long long)l.max_entries);
	check(l.max_total_bytes == (int64_t)LIMIT_ZIP_TOTAL_BYTES, "total");
	check(l.max_ratio == LIMIT_ZIP_RATIO, "ratio");
	check(l.max_name_bytes == LIMIT_ZIP_NAME_BYTES, "name");
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_zip_entries = 7;
	cfg.max_zip_total_bytes = 1234;
	cfg.max_zip_ratio = 9;
	package_limits_from_config(&l, &cfg);
	check(l.max_entries == 7 && l.max_total_bytes == 1234 && l.max_ratio == 9, "from cfg");
}

static void test_package__good_zip(void)
{
	static unsigned char weights[300000];
	for (size_t i = 0; i < sizeof(weights); i++)
		weights[i] = (unsigned char)((i * 2654435761u) >> 13);
	const char doc[] = "# Model\nSome documentation.\n";
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, ZIP_CM_DEFLATE, 0, 0, 0},
		{"weights/", 0, NULL, 0, 0, 0, 1, 0},
		{"weights/model.pt", 0, weights, sizeof(weights), ZIP_CM_DEFLATE, 0100644, 0, 0},
		{"./README.md", 0, doc, sizeof(doc) - 1, ZIP_CM_STORE, 0, 0, 0},
		{"docs//extra/./notes.txt", 0, "n", 1, 0, 0, 0, 0},
		{"__MACOSX/._rdf.yaml", 0, "junk", 4, 0, 0, 0, 0},
		{".DS_Store", 0, "junk", 4, 0, 0, 0, 0},
		{"weights/.DS_Store", 0, "junk", 4, 0, 0, 0, 0},
	};
	require(make_zip("good.zip", e, sizeof(e) / sizeof(e[0])) == 0, "make zip");
	struct bo_error err = BO_ERROR_INIT;
	struct package_limits lim = default_limits();
	package *p = NULL;
	int rc = package_open(&p, "good.zip", &lim, &err);
	require(rc == 0, "open: %s", err.detail);
	require(package_count(p) == 4, "count %zu", package_count(p));
	check(strcmp(package_name(p, 0), "rdf.yaml") == 0, "%s", package_name(p, 0));
	check(strcmp(package_name(p, 1), "weights/model.pt") == 0, "%s", package_name(p, 1));
	check(strcmp(package_name(p, 2), "README.md") == 0, "%s", package_name(p, 2));
	check(strcmp(package_name(p, 3), "docs/extra/notes.txt") == 0, "%s", package_name(p, 3));
	check(package_size(p, 1) == sizeof(weights), "size");

	const char *rdf = NULL;
	check(package_find_rdf(p, &rdf, &err) == 0 && rdf && strcmp(rdf, "rdf.yaml") == 0,
	      "find rdf");

	char *text = NULL;
	size_t len = 0;
	rc = package_read(p, 0, 1 << 20, &text, &len, &err);
	check(rc == 0 && len == sizeof(rdf_text) - 1 && strcmp(text, rdf_text) == 0, "read");
	free(text);
	text = NULL;
	rc = package_read(p, 1, 1000, &text, &len, &err);
	check(rc == BO_ETOOLARGE && text == NULL, "read over max: %d", rc);
	check(strstr(err.detail, "weights/model.pt") != NULL, "%s", err.detail);
	bo_error_cleanup(&err);

	char want[65], got[65] = "";
	uint64_t size = 0;
	sha256_hex(weights, sizeof(weights), want);
	rc = package_extract(p, 1, "model.pt", got, &size, &err);
	check(rc == 0, "extract: %s", err.detail);
	check(size == sizeof(weights), "size %llu", (unsigned long long)size);
	check(strcmp(got, want) == 0, "sha256 %s != %s", got, want);
	size_t flen = 0;
	unsigned char *fdata = slurp("model.pt", &flen);
	check(fdata && flen == sizeof(weights) && memcmp(fdata, weights, flen) == 0, "file bytes");
	free(fdata);
	struct stat sb;
	check(stat("model.pt", &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode %o",
	      (unsigned)sb.st_mode);

	sha256_hex(doc, sizeof(doc) - 1, want);
	rc = package_extract(p, 2, "README.md", got, NULL, &err);
	check(rc == 0 && strcmp(got, want) == 0, "stored entry sha256");
	package_close(p);
	bo_error_cleanup(&err);
}

static void test_package__content_type(void)
{
	check(strcmp(package_content_type("rdf.yaml"), "application/yaml") == 0, "yaml");
	check(strcmp(package_content_type("a/b/cover.PNG"), "image/png") == 0, "png");
	check(strcmp(package_content_type("x.jpeg"), "image/jpeg") == 0, "jpeg");
	check(strcmp(package_content_type("test_input.npy"), "application/octet-stream") == 0,
	      "npy");
	check(strcmp(package_content_type("README.md"), "text/markdown; charset=utf-8") == 0,
	      "md");
	check(strcmp(package_content_type("cover.svg"), "image/svg+xml") == 0, "svg");
	check(strcmp(package_content_type("index.html"), "text/plain; charset=utf-8") == 0,
	      "html is not served as html");
	check(strcmp(package_content_type("noext"), "application/octet-stream") == 0, "noext");
	check(strcmp(package_content_type(".hidden"), "application/octet-stream") == 0,
	      "dotfile");
	check(strcmp(package_content_type("dir.v1/file"), "application/octet-stream") == 0,
	      "dot in folder");
}

static void test_package__not_a_zip(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct package_limits lim = default_limits();
	package *p = NULL;
	const char text[] = "this is not a zip archive at all, just some text\n";
	require(spit("text.zip", text, sizeof(text) - 1) == 0, "write");
	check(package_open(&p, "text.zip", &lim, &err) == BO_EINVALIDPACKAGE, "text");
	check(p == NULL, "no package");
	check(strstr(err.detail, "not a zip archive") != NULL, "%s", err.detail);
	bo_error_cleanup(&err);

	require(spit("empty.zip", "", 0) == 0, "write");
	check(package_open(&p, "empty.zip", &lim, &err) == BO_EINVALIDPACKAGE, "empty");
	check(strstr(err.detail, "not a zip archive") != NULL, "%s", err.detail);
	bo_error_cleanup(&err);

	check(package_open(&p, "missing.zip", &lim, &err) == BO_EINTERNAL, "missing file");
	bo_error_cleanup(&err);
}

static void test_package__truncated(void)
{
	static unsigned char data[50000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + (i >> 5));
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, ZIP_CM_DEFLATE, 0, 0, 0},
		{"data.bin", 0, data, sizeof(data), ZIP_CM_DEFLATE, 0, 0, 0},
	};
	require(make_zip("whole.zip", e, 2) == 0, "make");
	size_t len = 0;
	unsigned char *b = slurp("whole.zip", &len);
	require(b != NULL, "read");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	/* Cut in the data, in the central directory, and just before the end record. */
	size_t cuts[] = {len / 2, len - 60, len - 10};
	for (size_t k = 0; k < 3; k++) {
		require(spit("cut.zip", b, cuts[k]) == 0, "write");
		int rc = package_open(&p, "cut.zip", &lim, &err);
		check(rc == BO_EINVALIDPACKAGE, "cut at %zu: rc %d (%s)", cuts[k], rc, err.detail);
		check(p == NULL, "no package");
		package_close(p);
		p = NULL;
		bo_error_cleanup(&err);
	}
	free(b);
}

static void test_package__ratio_bomb(void)
{
	size_t n = 20u << 20;
	unsigned char *zeros = calloc(1, n);
	require(zeros, "alloc");
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, 0, 0, 0, 0},
		{"bomb.bin", 0, zeros, n, ZIP_CM_DEFLATE, 0, 0, 0},
	};
	int made = make_zip("bomb.zip", e, 2);
	free(zeros);
	require(made == 0, "make");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	int rc = package_open(&p, "bomb.zip", &lim, &err);
	check(rc == BO_ETOOLARGE, "rc %d", rc);
	check(p == NULL, "no package");
	check(strstr(err.detail, "max_zip_ratio") && strstr(err.detail, "bomb.bin"), "%s",
	      err.detail);
	check(has_error(&err, "bomb.bin", "limit"), "error entry");
	bo_error_cleanup(&err);

	/* The same zip passes when the ratio limit allows it. */
	lim.max_ratio = 100000;
	rc = package_open(&p, "bomb.zip", &lim, &err);
	check(rc == 0, "allowed: %s", err.detail);
	package_close(p);
	bo_error_cleanup(&err);
}

static void test_package__total_and_entries(void)
{
	static unsigned char a[600], b[600];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	struct zent e[] = {
		{"a.bin", 0, a, sizeof(a), 0, 0, 0, 0},
		{"b.bin", 0, b, sizeof(b), 0, 0, 0, 0},
		{"c.txt", 0, "c", 1, 0, 0, 0, 0},
		{"d/", 0, NULL, 0, 0, 0, 1, 0},
		{"d/e.txt", 0, "e", 1, 0, 0, 0, 0},
		{"f.txt", 0, "f", 1, 0, 0, 0, 0},
	};
	require(make_zip("six.zip", e, 6) == 0, "make");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;

	lim.max_total_bytes = 1000;
	int rc = package_open(&p, "six.zip", &lim, &err);
	check(rc == BO_ETOOLARGE, "total rc %d", rc);
	check(strstr(err.detail, "1203 bytes; the limit is 1000 (max_zip_total_bytes)"), "%s",
	      err.detail);
	bo_error_cleanup(&err);

	lim = default_limits();
	lim.max_entries = 5;
	rc = package_open(&p, "six.zip", &lim, &err);
	check(rc == BO_ETOOLARGE, "entries rc %d", rc);
	check(strcmp(err.detail, "package has 6 entries; the limit is 5 (max_zip_entries)") == 0,
	      "%s", err.detail);
	bo_error_cleanup(&err);

	lim.max_entries = 6;
	rc = package_open(&p, "six.zip", &lim, &err);
	check(rc == 0 && package_count(p) == 5, "at the limit: %s", err.detail);
	package_close(p);
	bo_error_cleanup(&err);
}

static void test_package__bad_names(void)
{
	char longseg[300];
	memset(longseg, 'x', sizeof(longseg) - 1);
	longseg[sizeof(longseg) - 1] = '\0';
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, 0, 0, 0, 0},
		{"../x", 0, "1", 1, 0, 0, 0, 0},
		{"/abs", 0, "2", 1, 0, 0, 0, 0},
		{"a\\b", 0, "3", 1, 0, 0, 0, 0},
		{"nulQname.txt", 0, "4", 1, 0, 0, 0, 0}, /* Q becomes NUL below */
		{"bad\xff\xfe.txt", 0, "5", 1, 0, 0, 0, 0},
		{"C:evil.txt", 0, "6", 1, 0, 0, 0, 0},
		{"ctl\x01.txt", 0, "7", 1, 0, 0, 0, 0},
		{longseg, 0, "8", 1, 0, 0, 0, 0},
		{"ok/../../up.txt", 0, "9", 1, 0, 0, 0, 0},
		{"fine/name.txt", 0, "10", 2, 0, 0, 0, 0},
	};
	size_t n = sizeof(e) / sizeof(e[0]);
	require(make_zip("names.zip", e, n) == 0, "make");
	check(patch_bytes("names.zip", "nulQname", "nul\0name", 8) == 2, "patched NUL");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	int rc = package_open(&p, "names.zip", &lim, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d", rc);
	check(p == NULL, "no package");
	check(count_errors(&err) == 9, "all reported: %d", count_errors(&err));
	check(has_error(&err, "../x", "path_traversal"), "../x");
	check(has_error(&err, "/abs", "absolute_path"), "/abs");
	check(has_error(&err, "a\\x5Cb", "invalid_name") || has_error(&err, "a\\b", "invalid_name"),
	      "backslash");
	check(has_error(&err, "nul\\x00name.txt", "invalid_name"), "NUL");
	check(has_error(&err, "bad\\xFF\\xFE.txt", "invalid_name"), "invalid UTF-8");
	check(has_error(&err, "C:evil.txt", "absolute_path"), "drive letter");
	check(has_error(&err, "ctl\\x01.txt", "invalid_name"), "control char");
	check(has_error(&err, "ok/../../up.txt", "path_traversal"), "nested ..");
	check(strstr(err.detail, "package has 9 invalid entries; first: '../x'") != NULL, "%s",
	      err.detail);
	/* The problem body must be valid JSON whatever bytes the names had. */
	char *body = bo_error_render(&err, "/api/v1/uploads", "r1");
	cJSON *parsed = body ? cJSON_Parse(body) : NULL;
	check(parsed != NULL, "render parses");
	cJSON_Delete(parsed);
	free(body);
	bo_error_cleanup(&err);

	/* A name over max_name_bytes. */
	lim.max_name_bytes = 20;
	struct zent l[] = {{"a-rather-long-name-indeed.txt", 0, "x", 1, 0, 0, 0, 0}};
	require(make_zip("long.zip", l, 1) == 0, "make");
	rc = package_open(&p, "long.zip", &lim, &err);
	check(rc == BO_EINVALIDPACKAGE, "long rc %d", rc);
	check(strstr(err.detail, "29 bytes; the limit is 20") != NULL, "%s", err.detail);
	bo_error_cleanup(&err);
}

static void test_package__special_entries(void)
{
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, 0, 0, 0, 0},
		{"link", 0, "/etc/passwd", 11, 0, 0120777, 0, 0},
		{"fifo", 0, "", 0, 0, 0010644, 0, 0},
		{"dev", 0, "", 0, 0, 0020644, 0, 0},
		{"secret.txt", 0, "top secret", 10, ZIP_CM_DEFLATE, 0, 0, 1},
	};
	require(make_zip("special.zip", e, 5) == 0, "make");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	int rc = package_open(&p, "special.zip", &lim, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d", rc);
	check(count_errors(&err) == 4, "errors %d", count_errors(&err));
	check(has_error(&err, "link", "not_regular_file"), "symlink");
	check(has_error(&err, "fifo", "not_regular_file"), "fifo");
	check(has_error(&err, "dev", "not_regular_file"), "device");
	check(has_error(&err, "secret.txt", "encrypted"), "encrypted");
	bo_error_cleanup(&err);
}

static void test_package__duplicates(void)
{
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, 0, 0, 0, 0},
		{"a.txt", 0, "1", 1, 0, 0, 0, 0},
		{"./a.txt", 0, "2", 1, 0, 0, 0, 0},
		{"B.txt", 0, "3", 1, 0, 0, 0, 0},
		{"b.txt", 0, "4", 1, 0, 0, 0, 0},
		{"d", 0, "5", 1, 0, 0, 0, 0},
		{"D/x.txt", 0, "6", 1, 0, 0, 0, 0},
		{"sub//c.txt", 0, "7", 1, 0, 0, 0, 0},
		{"sub/c.txt", 0, "8", 1, 0, 0, 0, 0},
	};
	require(make_zip("dups.zip", e, 9) == 0, "make");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	int rc = package_open(&p, "dups.zip", &lim, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d", rc);
	check(count_errors(&err) == 4, "errors %d", count_errors(&err));
	check(has_error(&err, "./a.txt", "duplicate_name"), "./a.txt");
	check(has_error(&err, "b.txt", "duplicate_name"), "case");
	check(has_error(&err, "D/x.txt", "duplicate_name"), "file vs folder");
	check(has_error(&err, "sub/c.txt", "duplicate_name"), "collapsed //");
	bo_error_cleanup(&err);

	/* Byte-identical names (libzip cannot write them; patch "b.txt" into "a.txt"). */
	struct zent same[] = {{"a.txt", 0, "1", 1, 0, 0, 0, 0}, {"b.txt", 0, "2", 1, 0, 0, 0, 0}};
	require(make_zip("same.zip", same, 2) == 0, "make");
	check(patch_bytes("same.zip", "b.txt", "a.txt", 5) == 2, "patched");
	rc = package_open(&p, "same.zip", &lim, &err);
	check(rc == BO_EINVALIDPACKAGE && count_errors(&err) == 1 &&
		      has_error(&err, "a.txt", "duplicate_name"),
	      "exact duplicate: %s", err.detail);
	bo_error_cleanup(&err);
}

static void test_package__lying_headers(void)
{
	static unsigned char data[4096];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)('a' + i % 26);
	struct zent e[] = {
		{"rdf.yaml", 0, rdf_text, sizeof(rdf_text) - 1, 0, 0, 0, 0},
		{"long.bin", 0, data, sizeof(data), ZIP_CM_DEFLATE, 0, 0, 0},
		{"crc.bin", 0, data, sizeof(data), ZIP_CM_DEFLATE, 0, 0, 0},
	};
	require(make_zip("lie.zip", e, 3) == 0, "make");
	/* long.bin: declared uncompressed size 1000, real 4096 (offsets 22 / 24). */
	check(patch_header32("lie.zip", "long.bin", 22, 24, 1000) == 2, "patched size");
	/* crc.bin: a wrong CRC (offsets 14 / 16). */
	check(patch_header32("lie.zip", "crc.bin", 14, 16, 0xDEADBEEF) == 2, "patched crc");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	int rc = package_open(&p, "lie.zip", &lim, &err);
	require(rc == 0, "open: %s", err.detail);
	require(package_count(p) == 3, "count");
	check(package_size(p, 1) == 1000, "declared size");

	char hex[65];
	uint64_t size = 0;
	rc = package_extract(p, 1, "long.out", hex, &size, &err);
	check(rc == BO_ETOOLARGE, "longer than declared: rc %d", rc);
	check(strstr(err.detail, "more data than the 1000 bytes") != NULL, "%s", err.detail);
	check(access("long.out", F_OK) != 0, "dest removed");
	bo_error_cleanup(&err);

	char *buf = NULL;
	size_t len = 0;
	rc = package_read(p, 1, 1 << 20, &buf, &len, &err);
	check(rc == BO_ETOOLARGE && buf == NULL, "read longer: rc %d", rc);
	bo_error_cleanup(&err);

	rc = package_extract(p, 2, "crc.out", hex, &size, &err);
	check(rc == BO_EINVALIDPACKAGE, "crc: rc %d", rc);
	check(strstr(err.detail, "CRC") != NULL, "%s", err.detail);
	check(access("crc.out", F_OK) != 0, "dest removed");
	bo_error_cleanup(&err);

	rc = package_extract(p, 0, "rdf.out", hex, &size, &err);
	check(rc == 0 && size == sizeof(rdf_text) - 1, "the good entry still extracts");
	package_close(p);
	bo_error_cleanup(&err);
}

static void test_package__find_rdf_nested(void)
{
	struct zent e[] = {
		{"mymodel/", 0, NULL, 0, 0, 0, 1, 0},
		{"mymodel/my.bioimageio.yaml", 0, rdf_text, sizeof(rdf_text) - 1, 0, 0, 0, 0},
		{"mymodel/w.pt", 0, "w", 1, 0, 0, 0, 0},
		{"__MACOSX/mymodel/._my.bioimageio.yaml", 0, "j", 1, 0, 0, 0, 0},
	};
	require(make_zip("nested.zip", e, 4) == 0, "make");
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	require(package_open(&p, "nested.zip", &lim, &err) == 0, "open: %s", err.detail);
	const char *name = NULL;
	check(package_find_rdf(p, &name, &err) == 0, "find: %s", err.detail);
	check(name && strcmp(name, "mymodel/my.bioimageio.yaml") == 0, "%s", name ? name : "-");
	package_close(p);
	bo_error_cleanup(&err);

	struct zent none[] = {{"README.md", 0, "x", 1, 0, 0, 0, 0}};
	require(make_zip("none.zip", none, 1) == 0, "make");
	require(package_open(&p, "none.zip", &lim, &err) == 0, "open");
	check(package_find_rdf(p, &name, &err) == BO_EINVALIDPACKAGE, "none");
	check(strcmp(err.detail, "package has no rdf.yaml or bioimageio.yaml") == 0, "%s",
	      err.detail);
	package_close(p);
	bo_error_cleanup(&err);
}

/* ---- the community corpus packages --------------------------------------------------- */

static char corpus_dir[4096];

static int find_corpus(void)
{
	const char *env = getenv("BO_CORPUS_DIR");
	char cwd[2048], probe[4200];
	struct stat sb;
	/* check_run sets BO_SOURCE_DIR only when it starts; we look before it. */
	if (!getenv("BO_SOURCE_DIR") && getcwd(cwd, sizeof(cwd)))
		setenv("BO_SOURCE_DIR", cwd, 0);
	snprintf(corpus_dir, sizeof(corpus_dir), "%s", env ? env : check_src("../shared/corpus"));
	snprintf(probe, sizeof(probe), "%s/packages", corpus_dir);
	return stat(probe, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Zips a corpus package (every file of its .sha256sums, under prefix), opens it, finds
 * the RDF and extracts every file, comparing with the recorded SHA-256. Returns the
 * find_rdf code; *rdf_out gets a copy of the RDF name. */
static int corpus_package(const char *name, const char *prefix, char *rdf_out, size_t cap)
{
	char path[4400], line[600];
	struct zent e[32];
	char names[32][300], sums[32][65];
	unsigned char *data[32];
	size_t n = 0;
	int rc = -1;
	snprintf(path, sizeof(path), "%s/packages/%s.sha256sums", corpus_dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		check(0, "cannot open %s", path);
		return -1;
	}
	while (n < 32 && fgets(line, sizeof(line), f)) {
		char file[256];
		if (sscanf(line, "%64s %255s", sums[n], file) != 2)
			continue;
		snprintf(path, sizeof(path), "%s/packages/%s/%s", corpus_dir, name, file);
		size_t len = 0;
		data[n] = slurp(path, &len);
		check(data[n] != NULL, "read %s", path);
		if (!data[n])
			break;
		snprintf(names[n], sizeof(names[n]), "%s%s", prefix, file);
		memset(&e[n], 0, sizeof(e[n]));
		e[n].name = names[n];
		e[n].data = data[n];
		e[n].len = len;
		e[n].method = ZIP_CM_DEFLATE;
		n++;
	}
	fclose(f);
	struct package_limits lim = default_limits();
	struct bo_error err = BO_ERROR_INIT;
	package *p = NULL;
	if (make_zip("corpus.zip", e, n) != 0) {
		check(0, "make zip of %s", name);
		goto done;
	}
	if (package_open(&p, "corpus.zip", &lim, &err) != 0) {
		check(0, "%s: open: %s", name, err.detail);
		goto done;
	}
	check(package_count(p) == n, "%s: %zu entries", name, package_count(p));
	for (size_t i = 0; i < package_count(p) && i < n; i++) {
		char hex[65] = "";
		uint64_t size = 0;
		check(strcmp(package_name(p, i), names[i]) == 0, "name %s", package_name(p, i));
		check(package_extract(p, i, "out.bin", hex, &size, &err) == 0, "%s: %s", names[i],
		      err.detail);
		check(strcmp(hex, sums[i]) == 0 && size == e[i].len, "%s: sha256 %s", names[i], hex);
		remove("out.bin");
	}
	const char *rdf = NULL;
	rc = package_find_rdf(p, &rdf, &err);
	snprintf(rdf_out, cap, "%s", rdf ? rdf : "");
	for (size_t i = 0; rdf && i < package_count(p); i++) {
		if (strcmp(package_name(p, i), rdf) != 0)
			continue;
		char *text = NULL;
		size_t len = 0;
		check(package_read(p, i, 1 << 20, &text, &len, &err) == 0 && len == e[i].len,
		      "read rdf");
		free(text);
	}
done:
	package_close(p);
	bo_error_cleanup(&err);
	for (size_t i = 0; i < n; i++)
		free(data[i]);
	return rc;
}

static void test_package__corpus_packages(void)
{
	char rdf[512];
	check(corpus_package("spec-bioimage-io__unet2d_nuclei_broad", "", rdf, sizeof(rdf)) == 0 &&
		      strcmp(rdf, "bioimageio.yaml") == 0,
	      "nuclei_broad: bioimageio.yaml over v0_4_9.bioimageio.yaml, got %s", rdf);
	check(corpus_package("spec-bioimage-io__unet2d_multi_tensor", "unet2d_multi_tensor/", rdf,
			     sizeof(rdf)) == 0 &&
		      strcmp(rdf, "unet2d_multi_tensor/bioimageio.yaml") == 0,
	      "multi_tensor in a folder, got %s", rdf);
	/* Its RDF is named rdf_v0_4.yaml, which no discovery rule matches (nor the
	 * reference's): uploading it needs a rename; the files themselves are fine. */
	check(corpus_package("spec-bioimage-io-2024-01__unet2d_multi_tensor_v0_4", "", rdf,
			     sizeof(rdf)) == BO_EINVALIDPACKAGE,
	      "rdf_v0_4.yaml is not discovered");
}

static const struct check_test all_tests[] = {
	TEST(test_package__limits_from_config),
	TEST(test_package__good_zip),
	TEST(test_package__content_type),
	TEST(test_package__not_a_zip),
	TEST(test_package__truncated),
	TEST(test_package__ratio_bomb),
	TEST(test_package__total_and_entries),
	TEST(test_package__bad_names),
	TEST(test_package__special_entries),
	TEST(test_package__duplicates),
	TEST(test_package__lying_headers),
	TEST(test_package__find_rdf_nested),
	TEST(test_package__corpus_packages),
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

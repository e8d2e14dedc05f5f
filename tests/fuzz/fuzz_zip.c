/* fuzz_zip: package_open (server/infra/package.h) on arbitrary bytes as the uploaded package:
 * our own central-directory scan, libzip's open and every entry rule, under the limits.h
 * defaults and under tight limits. An opened package may list only names the rules allow
 * (checked here again from package.h, not from package.c), no two equal after
 * case folding, no file that is also a folder, within the limits; each listed entry must
 * read back as exactly its declared size or fail with a listed code; the RDF it finds is
 * parsed as an upload would. A refusal must carry a listed code and a readable problem. */
#include "harness.h"

#include "common/error.h"
#include "infra/package.h"
#include "common/rdf.h"
#include "common/utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Entries read back per package, and the most bytes read from one: the fuzzer's inputs
 * are a few KiB, but deflate turns them into MiB. */
#define READ_ENTRIES 8
#define READ_MAX (256u << 10)

static void check_name(const char *name, const struct package_limits *lim)
{
	size_t len = strlen(name), seg = 0;
	FUZZ_ASSERT(len > 0, "an empty name");
	FUZZ_ASSERT(len <= (size_t)lim->max_name_bytes, "a name over max_name_bytes");
	FUZZ_ASSERT(utf8_valid(name, len), "a name that is not UTF-8");
	FUZZ_ASSERT(name[0] != '/' && name[len - 1] != '/', "a leading or trailing '/'");
	int letter = (name[0] | 0x20) >= 'a' && (name[0] | 0x20) <= 'z';
	FUZZ_ASSERT(!(len >= 2 && name[1] == ':' && letter), "a name with a drive letter");
	FUZZ_ASSERT(strncmp(name, "__MACOSX/", 9) != 0, "junk listed as a file");
	const char *base = strrchr(name, '/');
	FUZZ_ASSERT(strcmp(base ? base + 1 : name, ".DS_Store") != 0, "junk listed as a file");
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (i == len || c == '/') {
			const char *s = name + i - seg;
			FUZZ_ASSERT(seg > 0, "an empty segment ('//')");
			FUZZ_ASSERT(!(seg == 1 && s[0] == '.'), "a '.' segment left");
			FUZZ_ASSERT(!(seg == 2 && s[0] == '.' && s[1] == '.'), "a '..' segment");
			FUZZ_ASSERT(seg <= 255, "a segment over 255 bytes");
			seg = 0;
			continue;
		}
		seg++;
		FUZZ_ASSERT(c >= 0x20 && c != 0x7F && c != '\\', "a control character or '\\'");
		/* C1 controls U+0080..U+009F are 0xC2 0x80..0x9F in UTF-8 */
		FUZZ_ASSERT(!(c == 0xC2 && (unsigned char)name[i + 1] < 0xA0), "a C1 control");
	}
}

static void check_package(package *p, const struct package_limits *lim)
{
	size_t n = package_count(p);
	uint64_t total = 0;
	FUZZ_ASSERT(n <= (size_t)lim->max_entries, "more files than max_entries");
	for (size_t i = 0; i < n; i++) {
		const char *a = package_name(p, i);
		size_t la = strlen(a);
		check_name(a, lim);
		total += package_size(p, i);
		for (size_t j = 0; j < i; j++) {
			const char *b = package_name(p, j);
			size_t lb = strlen(b);
			FUZZ_ASSERT(strcasecmp(a, b) != 0, "two files with the same name");
			/* "x" and "x/y": a file cannot also be a folder */
			FUZZ_ASSERT(!(la < lb && b[la] == '/' && strncasecmp(a, b, la) == 0),
				    "a file that is also a parent folder");
			FUZZ_ASSERT(!(lb < la && a[lb] == '/' && strncasecmp(a, b, lb) == 0),
				    "a file that is also a parent folder");
		}
	}
	FUZZ_ASSERT(total <= (uint64_t)lim->max_total_bytes, "declared sizes over max_total_bytes");
}

static void read_entries(package *p)
{
	static const int allowed[] = {BO_ETOOLARGE, BO_EINVALIDPACKAGE, BO_ENOMEM, 0};
	size_t n = package_count(p);
	for (size_t i = 0; i < n && i < READ_ENTRIES; i++) {
		struct bo_error err = BO_ERROR_INIT;
		char *data = NULL;
		size_t len = 0;
		int rc = package_read(p, i, READ_MAX, &data, &len, &err);
		if (rc) {
			FUZZ_ASSERT(data == NULL, "*out not NULL after a failure");
			if (package_size(p, i) > READ_MAX)
				FUZZ_ASSERT(rc == BO_ETOOLARGE, "over max but not BO_ETOOLARGE");
			fuzz_check_error(rc, &err, allowed);
			continue;
		}
		FUZZ_ASSERT(len == package_size(p, i), "an entry read back at another size");
		FUZZ_ASSERT(data[len] == '\0', "package_read's buffer is not NUL-terminated");
		free(data);
	}
}

/* The RDF of an opened package, read and parsed as an upload does it. */
static void parse_rdf(package *p)
{
	static const int find_allowed[] = {BO_EINVALIDPACKAGE, 0};
	struct bo_error err = BO_ERROR_INIT;
	const char *name = NULL;
	int rc = package_find_rdf(p, &name, &err);
	if (rc) {
		FUZZ_ASSERT(name == NULL, "*name_out not NULL after a failure");
		fuzz_check_error(rc, &err, find_allowed);
		return;
	}
	size_t i = 0;
	while (i < package_count(p) && package_name(p, i) != name)
		i++;
	FUZZ_ASSERT(i < package_count(p), "the RDF name is not one of the package's names");
	char *text = NULL;
	size_t len = 0;
	if (package_read(p, i, READ_MAX, &text, &len, &err) == 0) {
		struct rdf_limits lim;
		rdf_doc *d = NULL;
		rdf_limits_default(&lim);
		rdf_parse(&d, text, len, &lim, &err);
		rdf_free(d);
		free(text);
	}
	bo_error_cleanup(&err);
}

static void open_under(const char *path, const struct package_limits *lim, int read_too)
{
	static const int allowed[] = {BO_EINVALIDPACKAGE, BO_ETOOLARGE, BO_ENOMEM, 0};
	struct bo_error err = BO_ERROR_INIT;
	package *p = (package *)&err; /* must be reset to NULL on failure */
	int rc = package_open(&p, path, lim, &err);
	if (rc) {
		FUZZ_ASSERT(p == NULL, "*out not NULL after a failure");
		fuzz_check_error(rc, &err, allowed);
		return;
	}
	FUZZ_ASSERT(p != NULL && err.code == 0 && err.errors == NULL,
		    "success with an error set or no package");
	check_package(p, lim);
	if (read_too) {
		read_entries(p);
		parse_rdf(p);
	}
	package_close(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct package_limits def, tight;
	const char *path = fuzz_file(data, size);
	package_limits_from_config(&def, NULL);
	tight.max_entries = 3;
	tight.max_total_bytes = 1000;
	tight.max_ratio = 2;
	tight.max_name_bytes = 12;
	open_under(path, &def, 1);
	open_under(path, &tight, 0);
	return 0;
}

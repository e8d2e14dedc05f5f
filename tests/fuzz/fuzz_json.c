/* fuzz_json: the checks a JSON request body goes through, as far as public functions
 * reach them. The body checks themselves (http_json: cJSON parse, then every string and
 * key valid UTF-8, no repeated key, depth <= 64) are static in server/http/http.c, so this
 * harness parses the body the same way (cJSON_ParseWithLengthOpts, no NUL required) and
 * judges it with the one public judge, utf8_valid / utf8_seq_len (common/utf8.h), which it
 * also checks byte by byte against the table of well-formed sequences in the Unicode
 * standard (ch. 3, table 3-7). A body that passes goes through rdf_emit -> rdf_parse,
 * which must give the same tree back (rdf.h; the stage job writes RDF trees that way). */
#include "harness.h"

#include "../lib/json_same.h"

#include "common/error.h"
#include "common/rdf.h"
#include "common/utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence at s (n >= 1 bytes) and its code point, or 0:
 * table 3-7 as data, one row per lead-byte range with the range of the second byte. */
static size_t ref_seq_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const struct {
		unsigned char lead_lo, lead_hi, len, second_lo, second_hi;
	} rows[] = {
		{0x00, 0x7F, 1, 0, 0},
		{0xC2, 0xDF, 2, 0x80, 0xBF},
		{0xE0, 0xE0, 3, 0xA0, 0xBF}, /* no overlong 3-byte forms */
		{0xE1, 0xEC, 3, 0x80, 0xBF},
		{0xED, 0xED, 3, 0x80, 0x9F}, /* no surrogates */
		{0xEE, 0xEF, 3, 0x80, 0xBF},
		{0xF0, 0xF0, 4, 0x90, 0xBF}, /* no overlong 4-byte forms */
		{0xF1, 0xF3, 4, 0x80, 0xBF},
		{0xF4, 0xF4, 4, 0x80, 0x8F}, /* nothing above U+10FFFF */
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lead_lo || s[0] > rows[r].lead_hi)
			continue;
		size_t len = rows[r].len;
		if (len == 1) {
			*cp = s[0];
			return 1;
		}
		if (n < len || s[1] < rows[r].second_lo || s[1] > rows[r].second_hi)
			return 0;
		uint32_t v = s[0] & (0xFF >> (len + 1));
		for (size_t k = 1; k < len; k++) {
			if (k > 1 && (s[k] < 0x80 || s[k] > 0xBF))
				return 0;
			v = v << 6 | (s[k] & 0x3F);
		}
		*cp = v;
		return len;
	}
	return 0;
}

static int ref_valid(const unsigned char *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0; i < n;) {
		size_t k = ref_seq_len(s + i, n - i, &cp);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* utf8.h against the table on these bytes: the same verdict for the whole and, at every
 * offset, the same sequence length and code point. */
static void check_utf8(const unsigned char *s, size_t n)
{
	FUZZ_ASSERT(utf8_valid((const char *)s, n) == ref_valid(s, n),
		    "utf8_valid disagrees with table 3-7");
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = 0, ref_cp = 0;
		size_t k = utf8_seq_len(s + i, n - i, &cp);
		size_t ref = ref_seq_len(s + i, n - i, &ref_cp);
		FUZZ_ASSERT(k == ref, "utf8_seq_len disagrees with table 3-7");
		FUZZ_ASSERT(k == 0 || cp == ref_cp, "utf8_seq_len decodes another code point");
	}
}

/* The body rules of http_json: 0 when the tree is clean. */
static int body_offence(const cJSON *j, int depth)
{
	if (depth > 64)
		return 1;
	if (cJSON_IsString(j) && !utf8_valid(j->valuestring, strlen(j->valuestring)))
		return 1;
	for (const cJSON *c = j->child; c; c = c->next) {
		if (c->string && !utf8_valid(c->string, strlen(c->string)))
			return 1;
		if (cJSON_IsObject(j))
			for (const cJSON *d = j->child; d != c; d = d->next)
				if (strcmp(d->string, c->string) == 0)
					return 1;
		if (body_offence(c, depth + 1))
			return 1;
	}
	return 0;
}

/* Every string and key of the tree through check_utf8 (cJSON turns \u escapes into
 * bytes, lone surrogates included, so these are not the input bytes). */
static void check_tree_utf8(const cJSON *j)
{
	if (cJSON_IsString(j))
		check_utf8((const unsigned char *)j->valuestring, strlen(j->valuestring));
	for (const cJSON *c = j->child; c; c = c->next) {
		if (c->string)
			check_utf8((const unsigned char *)c->string, strlen(c->string));
		check_tree_utf8(c);
	}
}

/* A clean body as an RDF tree: rdf_emit must write it (every string is UTF-8) and
 * rdf_parse must read the same tree back. A top level that is not an object is wrapped,
 * because an RDF is a mapping. */
static void round_trip(cJSON *body)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rdf_limits lim;
	rdf_doc *d = NULL;
	cJSON *root = body, *wrap = NULL;
	if (!cJSON_IsObject(body)) {
		wrap = cJSON_CreateObject();
		FUZZ_ASSERT(wrap != NULL, "out of memory in the harness");
		cJSON_AddItemReferenceToObject(wrap, "body", body);
		root = wrap;
	}
	rdf_limits_default(&lim);
	lim.max_bytes = INT64_MAX; /* a body may be longer as YAML; limits.h caps bodies at */
	lim.max_depth = 1000;	   /* 1 MiB and http_json at 64 levels, plus our wrapper */
	lim.max_nodes = INT64_MAX;
	lim.alias_budget = 0;
	char *text = rdf_emit(root, &err);
	if (!text) {
		fprintf(stderr, "rdf_emit: %s\n", err.detail);
		FUZZ_ASSERT(err.code == BO_ENOMEM, "rdf_emit refuses a clean tree");
		goto done;
	}
	int rc = rdf_parse(&d, text, strlen(text), &lim, &err);
	if (rc)
		fprintf(stderr, "emitted YAML does not parse (%s):\n%s\n", err.detail, text);
	FUZZ_ASSERT(rc == 0, "rdf_parse refuses what rdf_emit wrote");
	if (!json_same(root, rdf_root(d))) {
		char *a = cJSON_PrintUnformatted(root), *b = cJSON_PrintUnformatted(rdf_root(d));
		fprintf(stderr, "before: %s\nemitted:\n%s\nafter: %s\n", a, text, b);
		free(a);
		free(b);
		FUZZ_ASSERT(0, "rdf_emit -> rdf_parse changes the tree");
	}
done:
	rdf_free(d);
	free(text);
	cJSON_Delete(wrap); /* the reference only */
	bo_error_cleanup(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_utf8(data, size);
	const char *end = NULL;
	cJSON *body = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
	if (!body)
		return 0;
	check_tree_utf8(body);
	if (!body_offence(body, 0))
		round_trip(body);
	cJSON_Delete(body);
	return 0;
}

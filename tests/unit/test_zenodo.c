/* test_zenodo: the pure parts of the Zenodo client — error bodies in Zenodo's two
 * shapes, license ids, creator names, the escaping markdown renderer and
 * the deposition metadata built from an RDF. The HTTP parts run against the double in
 * tests/http/160-archive.sh. */
#include "check.h"

#include "common/error.h"
#include "infra/zenodo.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void test_zenodo__error_legacy_shape(void)
{
	const char body[] = "{\"status\": 400, \"message\": \"Validation error.\", \"errors\": ["
			    "{\"field\": \"metadata.creators\", \"message\": \"Missing data for required field.\"},"
			    "{\"field\": \"metadata.license\", \"messages\": [\"Invalid license provided.\", \"x\"]}]}";
	struct zenodo_error e;
	char line[512];
	zenodo_error_parse(400, body, strlen(body), &e);
	check(e.status == 400, "status %ld", e.status);
	check(!strcmp(e.message, "Validation error."), "message '%s'", e.message);
	require(e.nerrors == 2, "nerrors %d", e.nerrors);
	check(!strcmp(e.errors[0].field, "metadata.creators"), "%s", e.errors[0].field);
	check(!strcmp(e.errors[1].message, "Invalid license provided."), "%s", e.errors[1].message);
	zenodo_error_format(&e, line, sizeof(line));
	check(!strcmp(line, "HTTP 400: Validation error. (metadata.creators: Missing data for required field.; "
			    "metadata.license: Invalid license provided.)"),
	      "%s", line);
}

static void test_zenodo__error_not_json_and_limits(void)
{
	struct zenodo_error e;
	const char html[] = "<html>Bad Gateway</html>\nmore";
	zenodo_error_parse(502, html, strlen(html), &e);
	check(e.status == 502 && !strcmp(e.message, "<html>Bad Gateway</html>") && e.nerrors == 0, "'%s'", e.message);
	zenodo_error_parse(500, NULL, 0, &e);
	check(e.message[0] == '\0' && e.nerrors == 0, "empty body");
	/* more errors than kept, and a message longer than the field */
	char big[8192];
	size_t off = (size_t)snprintf(big, sizeof(big), "{\"message\": \"");
	for (int i = 0; i < 400; i++)
		big[off++] = 'm';
	off += (size_t)snprintf(big + off, sizeof(big) - off, "\", \"errors\": [");
	for (int i = 0; i < 20; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "%s{\"field\": \"f%d\", \"message\": \"bad\"}", i ? "," : "", i);
	snprintf(big + off, sizeof(big) - off, "]}");
	zenodo_error_parse(400, big, strlen(big), &e);
	check(e.nerrors == ZENODO_ERRORS_MAX, "nerrors %d", e.nerrors);
	check(strlen(e.message) == sizeof(e.message) - 1, "message cut at %zu", strlen(e.message));
}

static void test_zenodo__license_id(void)
{
	struct bo_error err = BO_ERROR_INIT;
	char id[32];
	check(zenodo_license_id("CC-BY-4.0", id, sizeof(id), &err) == 0 && !strcmp(id, "cc-by-4.0"), "%s", id);
	check(zenodo_license_id("GPL-3.0+", id, sizeof(id), &err) == 0 && !strcmp(id, "gpl-3.0+"), "%s", id);
	check(zenodo_license_id("", id, sizeof(id), &err) == BO_EBADREQUEST && strstr(err.detail, "no license"), "%s",
	      err.detail);
	bo_error_cleanup(&err);
	check(zenodo_license_id(NULL, id, sizeof(id), &err) == BO_EBADREQUEST, "NULL");
	bo_error_cleanup(&err);
	check(zenodo_license_id("MIT/../x", id, sizeof(id), &err) == BO_EBADREQUEST && strstr(err.detail, "'/'"), "%s",
	      err.detail);
	bo_error_cleanup(&err);
	check(zenodo_license_id("A-VERY-LONG-LICENSE-NAME-1.0-OR-LATER", id, 16, &err) == BO_EBADREQUEST, "too long");
	bo_error_cleanup(&err);
}

static void test_zenodo__creator_name(void)
{
	char out[64];
	zenodo_creator_name("Jane Doe", out, sizeof(out));
	check(!strcmp(out, "Doe, Jane"), "%s", out);
	zenodo_creator_name("  Anna Maria van Tester ", out, sizeof(out));
	check(!strcmp(out, "Tester, Anna Maria van"), "%s", out);
	zenodo_creator_name("Doe, Jane", out, sizeof(out));
	check(!strcmp(out, "Doe, Jane"), "%s", out);
	zenodo_creator_name("Plato", out, sizeof(out));
	check(!strcmp(out, "Plato"), "%s", out);
	zenodo_creator_name("Jane Doe", out, 6);
	check(strlen(out) == 5, "cut: %s", out);
}

static void test_zenodo__markdown_escapes_everything(void)
{
	const char md[] = "# Title <script>alert(1)</script>\n"
			  "\n"
			  "Some *emph* and **bold** & `a<b>` text.\n"
			  "Second line with [a link](https://example.org/x?a=1&b=\"2\") and "
			  "[bad](javascript:alert(1)) and <img src=x onerror=alert(1)>.\n"
			  "\n"
			  "- one\n"
			  "- two <b>\n"
			  "1. first\n"
			  "\n"
			  "```\n"
			  "<raw> & code\n"
			  "```\n"
			  "**unclosed\n";
	char *html = zenodo_markdown_html(md, strlen(md));
	require(html, "html");
	check(strstr(html, "<h1>Title &lt;script&gt;alert(1)&lt;/script&gt;</h1>"), "%s", html);
	check(strstr(html, "<p>Some <em>emph</em> and <strong>bold</strong> &amp; <code>a&lt;b&gt;</code> text.\n"),
	      "%s", html);
	check(!strstr(html, "<a href=\"https://example.org/x") && strstr(html, "a link"),
	      "a URL with a quote is no link target: %s", html);
	check(!strstr(html, "javascript:alert(1)\""), "javascript link became a href: %s", html);
	check(strstr(html, ">bad<") == NULL && strstr(html, "bad"), "the bad link stays text: %s", html);
	check(strstr(html, "&lt;img src=x onerror=alert(1)&gt;"), "%s", html);
	check(strstr(html, "<ul>\n<li>one</li>\n<li>two &lt;b&gt;</li>\n</ul>\n<ol>\n<li>first</li>\n</ol>"), "%s", html);
	check(strstr(html, "<pre><code>&lt;raw&gt; &amp; code\n</code></pre>"), "%s", html);
	check(strstr(html, "<p>**unclosed</p>"), "%s", html);
	/* nothing but our tags: every '<' starts one of them */
	static const char *const tags[] = {"<h1>", "</h1>", "<p>", "</p>", "<em>", "</em>", "<strong>", "</strong>",
					   "<code>", "</code>", "<a href=\"", "</a>", "<ul>", "</ul>", "<ol>", "</ol>",
					   "<li>", "</li>", "<pre>", "</pre>"};
	for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
		int ok = 0;
		for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
			ok |= !strncmp(p, tags[i], strlen(tags[i]));
		check(ok, "unexpected tag at '%.30s'", p);
	}
	free(html);

	const char link[] = "see [docs](https://example.org/a_b) now";
	html = zenodo_markdown_html(link, strlen(link));
	require(html, "html");
	check(!strcmp(html, "<p>see <a href=\"https://example.org/a_b\">docs</a> now</p>\n"), "%s", html);
	free(html);
	html = zenodo_markdown_html("", 0);
	check(html && !strcmp(html, ""), "empty");
	free(html);
}

static cJSON *rdf_fixture(const char *authors)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "{\"type\": \"model\", \"name\": \"UNet\", \"description\": \"Segments <nuclei> & more\","
		 " \"license\": \"CC-BY-4.0\", \"tags\": [\"unet\", \"segmentation\"],"
		 " \"covers\": [\"cover one.png\", \"https://example.org/c.png\"], \"documentation\": \"./doc/README.md\","
		 " \"authors\": %s}",
		 authors);
	return cJSON_Parse(text);
}

static void test_zenodo__metadata(void)
{
	struct bo_error err = BO_ERROR_INIT;
	cJSON *rdf = rdf_fixture("[{\"name\": \"Jane Doe\", \"affiliation\": \"EMBL\", \"orcid\": \"0000-0002-1825-0097\"},"
				 " {\"name\": \"Plato\"}, {\"name\": \"  \"}]");
	require(rdf, "fixture");
	const char doc[] = "# About\n\nUse <it>.\n";
	struct zenodo_meta_input in = {
		.rdf = rdf, .id = "affable-shark", .version = "2", .documentation = doc,
		.documentation_len = strlen(doc), .page_url = "https://bioimage.io/#/?id=affable-shark",
		.files_url = "http://files.test", .license_id = "cc-by-4.0", .publication_date = "2026-02-03",
	};
	cJSON *out = NULL;
	require(zenodo_metadata(&in, &out, &err) == 0, "%s", err.detail);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(out, "metadata");
#define S(o, k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k))
	check(!strcmp(S(m, "title"), "bioimage.io upload: affable-shark"), "%s", S(m, "title"));
	check(!strcmp(S(m, "upload_type"), "software"), "%s", S(m, "upload_type"));
	check(!strcmp(S(m, "license"), "cc-by-4.0") && !strcmp(S(m, "version"), "2") &&
		      !strcmp(S(m, "publication_date"), "2026-02-03"),
	      "license/version/date");
	check(!strcmp(S(m, "description"), "<h1>About</h1>\n<p>Use &lt;it&gt;.</p>\n"), "%s", S(m, "description"));
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(m, "creators");
	require(cJSON_GetArraySize(cr) == 2, "blank author names are skipped: %d", cJSON_GetArraySize(cr));
	const cJSON *c0 = cJSON_GetArrayItem(cr, 0), *c1 = cJSON_GetArrayItem(cr, 1);
	check(!strcmp(S(c0, "name"), "Doe, Jane") && !strcmp(S(c0, "affiliation"), "EMBL") &&
		      !strcmp(S(c0, "orcid"), "0000-0002-1825-0097"),
	      "creator 0");
	check(!strcmp(S(c1, "name"), "Plato") && !cJSON_GetObjectItemCaseSensitive(c1, "orcid"), "creator 1");
	char *kw = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(m, "keywords"));
	check(kw && !strcmp(kw, "[\"backup.bioimage.io\",\"bioimage.io\",\"bioimage.io:model\",\"unet\",\"segmentation\"]"),
	      "%s", kw);
	free(kw);
	const cJSON *rel = cJSON_GetObjectItemCaseSensitive(m, "related_identifiers");
	require(cJSON_GetArraySize(rel) == 4, "related %d", cJSON_GetArraySize(rel));
	check(!strcmp(S(cJSON_GetArrayItem(rel, 0), "identifier"), "https://bioimage.io/#/?id=affable-shark"), "page");
	check(!strcmp(S(cJSON_GetArrayItem(rel, 1), "identifier"), "http://files.test/affable-shark/2/files/cover%20one.png") &&
		      !strcmp(S(cJSON_GetArrayItem(rel, 1), "relation"), "hasPart"),
	      "%s", S(cJSON_GetArrayItem(rel, 1), "identifier"));
	check(!strcmp(S(cJSON_GetArrayItem(rel, 2), "identifier"), "https://example.org/c.png"), "absolute cover");
	check(!strcmp(S(cJSON_GetArrayItem(rel, 3), "identifier"), "http://files.test/affable-shark/2/files/doc/README.md") &&
		      !strcmp(S(cJSON_GetArrayItem(rel, 3), "relation"), "isDocumentedBy"),
	      "%s", S(cJSON_GetArrayItem(rel, 3), "identifier"));
	check(strstr(S(m, "notes"), "affable-shark") != NULL, "%s", S(m, "notes"));
	cJSON_Delete(out);

	/* no documentation: the RDF description, escaped */
	in.documentation = NULL;
	require(zenodo_metadata(&in, &out, &err) == 0, "%s", err.detail);
	m = cJSON_GetObjectItemCaseSensitive(out, "metadata");
	check(!strcmp(S(m, "description"), "<p>Segments &lt;nuclei&gt; &amp; more</p>"), "%s", S(m, "description"));
	cJSON_Delete(out);
	cJSON_Delete(rdf);

	/* a dataset; no authors at all -> BO_EINVALIDRDF naming the version */
	rdf = rdf_fixture("[]");
	in.rdf = rdf;
	cJSON_ReplaceItemInObjectCaseSensitive(rdf, "type", cJSON_CreateString("dataset"));
	out = NULL;
	check(zenodo_metadata(&in, &out, &err) == BO_EINVALIDRDF && out == NULL, "no authors");
	check(strstr(err.detail, "affable-shark/2") && strstr(err.detail, "authors"), "%s", err.detail);
	bo_error_cleanup(&err);
	cJSON_DeleteItemFromObjectCaseSensitive(rdf, "authors");
	check(zenodo_metadata(&in, &out, &err) == BO_EINVALIDRDF, "authors missing");
	bo_error_cleanup(&err);
	cJSON_AddItemToObject(rdf, "authors", cJSON_Parse("[{\"name\": \"Ann Lee\"}]"));
	require(zenodo_metadata(&in, &out, &err) == 0, "%s", err.detail);
	check(!strcmp(S(cJSON_GetObjectItemCaseSensitive(out, "metadata"), "upload_type"), "dataset"), "dataset");
#undef S
	cJSON_Delete(out);
	cJSON_Delete(rdf);
}

static struct check_test tests[] = {
	TEST(test_zenodo__error_legacy_shape),
	TEST(test_zenodo__error_not_json_and_limits),
	TEST(test_zenodo__license_id),
	TEST(test_zenodo__creator_name),
	TEST(test_zenodo__markdown_escapes_everything),
	TEST(test_zenodo__metadata),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for error: the kinds table, first-error-wins, errors[] entries and the
 * problem+json rendering (parsed back with cJSON). */
#include "check.h"

#include "common/error.h"

#include <cjson/cJSON.h>

struct expect_kind {
	int code;
	int status;
	const char *slug;
	const char *title;
	const char *name;
};

/* Written out by hand (not from BO_ERROR_KINDS) so a changed row is noticed. */
static const struct expect_kind expected[] = {
	{BO_EBADREQUEST, 400, "bad-request", "Malformed request", "BO_EBADREQUEST"},
	{BO_EUNAUTHORIZED, 401, "unauthorized", "Authentication required", "BO_EUNAUTHORIZED"},
	{BO_EFORBIDDEN, 403, "forbidden", "Not allowed", "BO_EFORBIDDEN"},
	{BO_ENOTFOUND, 404, "not-found", "Resource not found", "BO_ENOTFOUND"},
	{BO_EMETHOD, 405, "method-not-allowed", "Method not allowed", "BO_EMETHOD"},
	{BO_ECONFLICT, 409, "state-conflict", "Conflicts with the current state", "BO_ECONFLICT"},
	{BO_EIDTAKEN, 409, "id-taken", "Id is owned by another concept", "BO_EIDTAKEN"},
	{BO_ETOOLARGE, 413, "too-large", "Request exceeds a limit", "BO_ETOOLARGE"},
	{BO_ETIMEOUT, 408, "request-timeout", "Request timeout", "BO_ETIMEOUT"},
	{BO_EMEDIATYPE, 415, "unsupported-media-type", "Unsupported content type", "BO_EMEDIATYPE"},
	{BO_EINVALIDPACKAGE, 422, "invalid-package", "Invalid package", "BO_EINVALIDPACKAGE"},
	{BO_EINVALIDRDF, 422, "invalid-rdf", "Invalid resource description", "BO_EINVALIDRDF"},
	{BO_EINVALIDID, 422, "invalid-id", "Invalid resource id", "BO_EINVALIDID"},
	{BO_ETESTSFAILED, 422, "tests-failed", "Tests failed", "BO_ETESTSFAILED"},
	{BO_ETOOMANY, 429, "too-many-drafts", "Too many drafts in flight", "BO_ETOOMANY"},
	{BO_ERATELIMITED, 429, "rate-limited", "Too many requests", "BO_ERATELIMITED"},
	{BO_EHEADERS, 431, "headers-too-large", "Request headers too large", "BO_EHEADERS"},
	{BO_EFETCH, 502, "fetch-failed", "Could not fetch the package URL", "BO_EFETCH"},
	{BO_ESTORAGE, 503, "storage-unavailable", "Storage unavailable", "BO_ESTORAGE"},
	{BO_EDATABASE, 503, "database-unavailable", "Database unavailable", "BO_EDATABASE"},
	{BO_ENOMEM, 503, "out-of-memory", "Out of memory", "BO_ENOMEM"},
	{BO_EGONE, 410, "gone", "No longer there (a lease that expired or was superseded)", "BO_EGONE"},
	{BO_EINTERNAL, 500, "internal", "Internal error", "BO_EINTERNAL"},
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void test_error__kinds_table(void)
{
	for (size_t i = 0; i < NEXPECTED; i++) {
		const struct expect_kind *e = &expected[i];
		check(e->code < 0, "%s code %d not negative", e->name, e->code);
		check(bo_error_status(e->code) == e->status, "%s status %d, want %d", e->name,
		      bo_error_status(e->code), e->status);
		check(streq(bo_error_slug(e->code), e->slug), "%s slug %s", e->name, bo_error_slug(e->code));
		check(streq(bo_error_title(e->code), e->title), "%s title %s", e->name, bo_error_title(e->code));
		check(streq(bo_error_name(e->code), e->name), "%s name %s", e->name, bo_error_name(e->code));
		for (size_t j = 0; j < i; j++)
			check(expected[j].code != e->code, "%s and %s share code %d", e->name, expected[j].name,
			      e->code);
	}
	/* every enum value between the bounds is covered by the list above */
	check((size_t)(BO__LAST - BO__FIRST - 1) == NEXPECTED, "enum has %d kinds, test lists %zu",
	      BO__LAST - BO__FIRST - 1, NEXPECTED);
	check(bo_error_status(0) == 200, "status of 0 is %d", bo_error_status(0));
	check(streq(bo_error_name(0), "BO_OK"), "name of 0 is %s", bo_error_name(0));
}

static void test_error__unknown_code_is_internal(void)
{
	int bogus[] = {-1, -5000, 12345, BO__FIRST, BO__LAST};
	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		check(bo_error_status(bogus[i]) == 500, "code %d status %d", bogus[i], bo_error_status(bogus[i]));
		check(streq(bo_error_slug(bogus[i]), "internal"), "code %d slug %s", bogus[i],
		      bo_error_slug(bogus[i]));
		check(streq(bo_error_title(bogus[i]), "Internal error"), "code %d title", bogus[i]);
		check(streq(bo_error_name(bogus[i]), "BO_EINTERNAL"), "code %d name %s", bogus[i],
		      bo_error_name(bogus[i]));
	}
	struct bo_error err = BO_ERROR_INIT;
	err.code = -4242;
	snprintf(err.detail, sizeof(err.detail), "weird");
	char *body = bo_error_render(&err, NULL, NULL);
	require(body, "render returned NULL");
	cJSON *o = cJSON_Parse(body);
	free(body);
	require(o, "render output is not JSON");
	check(streq(str_of(o, "type"), "/problems/internal"), "type %s", str_of(o, "type"));
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status")) == 500, "status");
	check(streq(str_of(o, "detail"), "weird"), "detail %s", str_of(o, "detail"));
	cJSON_Delete(o);
}

static void test_error__first_error_wins(void)
{
	struct bo_error err = BO_ERROR_INIT;
	int rc = bo_error_set(&err, BO_ENOTFOUND, "no concept %s", "affable-shark");
	check(rc == BO_ENOTFOUND, "set returned %d", rc);
	check(err.code == BO_ENOTFOUND, "code %d", err.code);
	check(streq(err.detail, "no concept affable-shark"), "detail '%s'", err.detail);
	rc = bo_error_set(&err, BO_EINTERNAL, "something later %d", 7);
	check(rc == BO_ENOTFOUND, "second set returned %d, want the held code", rc);
	check(err.code == BO_ENOTFOUND, "code overwritten to %d", err.code);
	check(streq(err.detail, "no concept affable-shark"), "detail overwritten to '%s'", err.detail);
	bo_error_cleanup(&err);
	check(err.code == 0 && err.detail[0] == '\0' && !err.errors && !err.extra, "cleanup did not reset");
	/* after cleanup a new error can be set */
	rc = bo_error_set(&err, BO_ECONFLICT, "again");
	check(rc == BO_ECONFLICT && err.code == BO_ECONFLICT, "set after cleanup: %d", rc);
	bo_error_cleanup(&err);
	/* NULL err is tolerated and the code passes through */
	check(bo_error_set(NULL, BO_ESTORAGE, "x") == BO_ESTORAGE, "NULL err");
	bo_error_cleanup(NULL);
}

static void test_error__detail_truncated_not_overflowed(void)
{
	struct bo_error err = BO_ERROR_INIT;
	char big[BO_ERROR_DETAIL_MAX * 3];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bo_error_set(&err, BO_EBADREQUEST, "%s", big);
	check(strlen(err.detail) == BO_ERROR_DETAIL_MAX - 1, "detail length %zu", strlen(err.detail));
	bo_error_cleanup(&err);
}

static void test_error__add_entries(void)
{
	struct bo_error err = BO_ERROR_INIT;
	cJSON *loc = cJSON_CreateArray();
	cJSON_AddItemToArray(loc, cJSON_CreateString("inputs"));
	cJSON_AddItemToArray(loc, cJSON_CreateNumber(0));
	cJSON_AddItemToArray(loc, cJSON_CreateString("axes"));
	check(bo_error_add(&err, loc, "field required", "missing", 12, 5) == 0, "add 1");
	check(bo_error_add(&err, NULL, "bad file", NULL, 0, 0) == 0, "add 2");
	require(cJSON_IsArray(err.errors), "errors not an array");
	require(cJSON_GetArraySize(err.errors) == 2, "errors has %d entries", cJSON_GetArraySize(err.errors));

	const cJSON *e0 = cJSON_GetArrayItem(err.errors, 0);
	const cJSON *l0 = cJSON_GetObjectItemCaseSensitive(e0, "loc");
	check(cJSON_IsArray(l0) && cJSON_GetArraySize(l0) == 3, "loc of entry 0");
	check(streq(cJSON_GetStringValue(cJSON_GetArrayItem(l0, 0)), "inputs"), "loc[0]");
	check(cJSON_GetNumberValue(cJSON_GetArrayItem(l0, 1)) == 0, "loc[1]");
	check(streq(cJSON_GetStringValue(cJSON_GetArrayItem(l0, 2)), "axes"), "loc[2]");
	check(streq(str_of(e0, "msg"), "field required"), "msg %s", str_of(e0, "msg"));
	check(streq(str_of(e0, "type"), "missing"), "type %s", str_of(e0, "type"));
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e0, "line")) == 12, "line");
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e0, "column")) == 5, "column");

	const cJSON *e1 = cJSON_GetArrayItem(err.errors, 1);
	const cJSON *l1 = cJSON_GetObjectItemCaseSensitive(e1, "loc");
	check(cJSON_IsArray(l1) && cJSON_GetArraySize(l1) == 0, "NULL loc becomes []");
	check(streq(str_of(e1, "msg"), "bad file"), "msg 1");
	check(streq(str_of(e1, "type"), "error"), "default type %s", str_of(e1, "type"));
	check(!cJSON_GetObjectItemCaseSensitive(e1, "line"), "line 0 must be omitted");
	check(!cJSON_GetObjectItemCaseSensitive(e1, "column"), "column must be omitted with line 0");
	/* adding entries does not set the code */
	check(err.code == 0, "code %d", err.code);
	bo_error_cleanup(&err);
	check(err.errors == NULL, "cleanup kept errors");
}

static void test_error__render_problem_json(void)
{
	struct bo_error err = BO_ERROR_INIT;
	bo_error_set(&err, BO_EINVALIDRDF, "rdf.yaml: 2 problems; fix them and upload again");
	cJSON *loc = cJSON_CreateArray();
	cJSON_AddItemToArray(loc, cJSON_CreateString("name"));
	bo_error_add(&err, loc, "too long", "value_error", 3, 7);
	err.extra = cJSON_CreateObject();
	cJSON_AddStringToObject(err.extra, "concept_id", "affable-shark");
	cJSON_AddNumberToObject(err.extra, "revision", 4);
	/* extra must not override the standard members */
	cJSON_AddNumberToObject(err.extra, "status", 200);
	cJSON_AddStringToObject(err.extra, "type", "/problems/nope");

	char *body = bo_error_render(&err, "/api/v1/uploads", "req-123");
	require(body, "render returned NULL");
	cJSON *o = cJSON_Parse(body);
	free(body);
	require(cJSON_IsObject(o), "render output is not a JSON object");
	check(streq(str_of(o, "type"), "/problems/invalid-rdf"), "type %s", str_of(o, "type"));
	check(streq(str_of(o, "title"), "Invalid resource description"), "title %s", str_of(o, "title"));
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status")) == 422, "status");
	check(streq(str_of(o, "detail"), "rdf.yaml: 2 problems; fix them and upload again"), "detail %s",
	      str_of(o, "detail"));
	check(streq(str_of(o, "instance"), "/api/v1/uploads"), "instance %s", str_of(o, "instance"));
	check(streq(str_of(o, "request_id"), "req-123"), "request_id %s", str_of(o, "request_id"));
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(o, "errors");
	require(cJSON_IsArray(errs) && cJSON_GetArraySize(errs) == 1, "errors array");
	const cJSON *e0 = cJSON_GetArrayItem(errs, 0);
	check(streq(str_of(e0, "msg"), "too long"), "errors[0].msg");
	check(streq(str_of(e0, "type"), "value_error"), "errors[0].type");
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e0, "line")) == 3, "errors[0].line");
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e0, "column")) == 7, "errors[0].column");
	check(streq(str_of(o, "concept_id"), "affable-shark"), "extra concept_id");
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "revision")) == 4, "extra revision");
	/* exactly one status/type member each */
	int nstatus = 0, ntype = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, o)
	{
		nstatus += !strcmp(it->string, "status");
		ntype += !strcmp(it->string, "type");
	}
	check(nstatus == 1 && ntype == 1, "status x%d, type x%d", nstatus, ntype);
	cJSON_Delete(o);
	/* render does not consume err */
	check(err.errors && err.extra, "render took ownership");
	bo_error_cleanup(&err);
}

static void test_error__render_minimal(void)
{
	struct bo_error err = BO_ERROR_INIT;
	bo_error_set(&err, BO_ENOTFOUND, NULL);
	char *body = bo_error_render(&err, NULL, NULL);
	require(body, "render returned NULL");
	cJSON *o = cJSON_Parse(body);
	free(body);
	require(o, "not JSON");
	check(streq(str_of(o, "type"), "/problems/not-found"), "type %s", str_of(o, "type"));
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status")) == 404, "status");
	/* an empty detail falls back to the title */
	check(streq(str_of(o, "detail"), "Resource not found"), "detail %s", str_of(o, "detail"));
	check(!cJSON_GetObjectItemCaseSensitive(o, "instance"), "instance present without one");
	check(!cJSON_GetObjectItemCaseSensitive(o, "request_id"), "request_id present without one");
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(o, "errors");
	check(cJSON_IsArray(errs) && cJSON_GetArraySize(errs) == 0, "errors must be []");
	cJSON_Delete(o);
	bo_error_cleanup(&err);

	/* code 0 (nothing set) renders as internal rather than a 200 problem */
	struct bo_error none = BO_ERROR_INIT;
	body = bo_error_render(&none, "/x", "r");
	require(body, "render returned NULL");
	o = cJSON_Parse(body);
	free(body);
	require(o, "not JSON");
	check(streq(str_of(o, "type"), "/problems/internal"), "type %s", str_of(o, "type"));
	check(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status")) == 500, "status");
	cJSON_Delete(o);
}

static void test_error__render_escapes_detail(void)
{
	struct bo_error err = BO_ERROR_INIT;
	const char *nasty = "quote \" backslash \\ newline \n tab \t ctrl \x01 é";
	bo_error_set(&err, BO_EBADREQUEST, "%s", nasty);
	char *body = bo_error_render(&err, "/p?\"x\"", "id\"");
	require(body, "render returned NULL");
	cJSON *o = cJSON_Parse(body);
	free(body);
	require(o, "render of a detail with quotes is not valid JSON");
	check(streq(str_of(o, "detail"), nasty), "detail did not round-trip");
	check(streq(str_of(o, "instance"), "/p?\"x\""), "instance did not round-trip");
	cJSON_Delete(o);
	bo_error_cleanup(&err);
}

/* bo_error_move keeps what bo_error_set(dst, code, "%s", src.detail) lost: errors[],
 * extra and retry_after; the first error still wins; src is left empty. */
static void test_error__move_keeps_everything(void)
{
	struct bo_error src = BO_ERROR_INIT, dst = BO_ERROR_INIT;
	bo_error_set(&src, BO_EINVALIDRDF, "two problems");
	bo_error_add(&src, NULL, "first", "missing", 3, 1);
	bo_error_add(&src, NULL, "second", "type", 7, 2);
	src.retry_after = 30;
	check(bo_error_move(&dst, &src, BO_EINTERNAL) == BO_EINVALIDRDF, "code");
	check(!strcmp(dst.detail, "two problems") && cJSON_GetArraySize(dst.errors) == 2 && dst.retry_after == 30,
	      "moved: %s, %d errors, retry %d", dst.detail, cJSON_GetArraySize(dst.errors), dst.retry_after);
	check(src.code == 0 && src.errors == NULL && src.detail[0] == '\0', "src emptied");
	/* first wins */
	struct bo_error later = BO_ERROR_INIT;
	bo_error_set(&later, BO_ESTORAGE, "later");
	check(bo_error_move(&dst, &later, 0) == BO_EINVALIDRDF && !strcmp(dst.detail, "two problems"), "first wins");
	check(later.code == 0, "later cleared");
	/* src without a code takes the one given */
	struct bo_error bare = BO_ERROR_INIT, into = BO_ERROR_INIT;
	check(bo_error_move(&into, &bare, BO_ESTORAGE) == BO_ESTORAGE && into.code == BO_ESTORAGE, "code given");
	check(bo_error_move(NULL, &dst, 0) == BO_EINVALIDRDF && dst.errors == NULL, "NULL dst only clears");
	bo_error_cleanup(&into);
}

static struct check_test tests[] = {
	TEST(test_error__kinds_table),
	TEST(test_error__unknown_code_is_internal),
	TEST(test_error__first_error_wins),
	TEST(test_error__detail_truncated_not_overflowed),
	TEST(test_error__add_entries),
	TEST(test_error__render_problem_json),
	TEST(test_error__render_minimal),
	TEST(test_error__render_escapes_detail),
	TEST(test_error__move_keeps_everything),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

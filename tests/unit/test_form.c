/* Unit tests for form: the upload form's rules over post-processor chunks. */
#include "check.h"

#include "http/form.h"

static void test_form__package_and_id(void)
{
	struct form f = {0};
	struct bo_error e = BO_ERROR_INIT;
	check(form_take(&f, "package", 0, "PK", 2, &e) == FORM_PACKAGE_FIRST, "first");
	check(form_take(&f, "package", 2, "zz", 2, &e) == FORM_PACKAGE_MORE, "more");
	check(form_take(&f, "note", 0, "x", 1, &e) == FORM_IGNORED, "other fields are ignored");
	check(form_id(&f) == NULL, "no id yet");
	check(form_take(&f, "id", 0, "affable-", 8, &e) == FORM_ID, "id");
	check(form_take(&f, "id", 8, "shark", 5, &e) == FORM_ID, "id, continued");
	check(f.package_bytes == 4 && !strcmp(form_id(&f), "affable-shark"), "%llu '%s'",
	      (unsigned long long)f.package_bytes, form_id(&f));
	check(e.code == 0, "%s", e.detail);
}

static void test_form__repeats_refused(void)
{
	struct form f = {0};
	struct bo_error e = BO_ERROR_INIT;
	form_take(&f, "package", 0, "PK", 2, &e);
	check(form_take(&f, "package", 0, "PK", 2, &e) == BO_EBADREQUEST && strstr(e.detail, "more than one 'package'"),
	      "second package: %s", e.detail);
	bo_error_cleanup(&e);
	form_take(&f, "id", 0, "a", 1, &e);
	check(form_take(&f, "id", 0, "b", 1, &e) == BO_EBADREQUEST && strstr(e.detail, "more than one 'id'"),
	      "second id: %s", e.detail);
	bo_error_cleanup(&e);
	/* a part without a name (libmicrohttpd gives key NULL): found by fuzz_multipart, it
	 * crashed the server in strcmp */
	struct form n = {0};
	check(form_take(&n, NULL, 0, "PK", 2, &e) == BO_EBADREQUEST && strstr(e.detail, "no name"), "%s", e.detail);
	bo_error_cleanup(&e);
	/* an empty first package part followed by one with bytes is one part, not two */
	struct form g = {0};
	check(form_take(&g, "package", 0, "", 0, &e) == FORM_PACKAGE_FIRST, "empty first");
	check(form_take(&g, "package", 0, "PK", 2, &e) == FORM_PACKAGE_MORE, "bytes after an empty start");
}

static void test_form__id_limit(void)
{
	struct form f = {0};
	struct bo_error e = BO_ERROR_INIT;
	char id[FORM_ID_MAX];
	memset(id, 'a', sizeof(id));
	/* FORM_ID_MAX - 1 bytes fit, one more does not */
	check(form_take(&f, "id", 0, id, FORM_ID_MAX - 1, &e) == FORM_ID, "at the limit: %s", e.detail);
	check(strlen(form_id(&f)) == FORM_ID_MAX - 1, "kept");
	struct form g = {0};
	check(form_take(&g, "id", 0, id, FORM_ID_MAX, &e) == BO_EBADREQUEST, "one past the limit");
	bo_error_cleanup(&e);
}

static struct check_test tests[] = {
	TEST(test_form__package_and_id),
	TEST(test_form__repeats_refused),
	TEST(test_form__id_limit),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

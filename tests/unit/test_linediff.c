/* Unit tests for linediff: equal texts, a changed line with context, insertions and
 * removals at the ends, gaps of unchanged lines, and the bounds (too many lines, too large
 * a table, too long a result). */
#include "check.h"

#include "common/error.h"
#include "common/linediff.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

/* The diff of a and b as one string, lines joined by '|' ("" for none); NULL when too large. */
static char *diff(const char *a, const char *b, const struct linediff_limits *lim)
{
	static char buf[8192];
	struct bo_error err = BO_ERROR_INIT;
	cJSON *out = NULL;
	int too_large = 0;
	int rc = linediff_run(&out, &too_large, a, b, lim, &err);
	if (rc) {
		check(0, "linediff_run: %s", err.detail);
		return "(error)";
	}
	if (too_large) {
		check(out == NULL, "too large but a result");
		return NULL;
	}
	if (!cJSON_IsArray(out)) {
		check(0, "not an array");
		return "(error)";
	}
	buf[0] = '\0';
	size_t len = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, out)
	{
		int w = snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "|" : "", it->valuestring);
		if (w <= 0 || (size_t)w >= sizeof(buf) - len) {
			check(0, "result too long for the test buffer");
			break;
		}
		len += (size_t)w;
	}
	cJSON_Delete(out);
	return buf;
}

static void expect(const char *a, const char *b, const struct linediff_limits *lim, const char *want)
{
	char *got = diff(a, b, lim);
	check(got && !strcmp(got, want), "diff of\n%s\n--- and\n%s\n--- is '%s', expected '%s'", a, b, got ? got : "(too large)",
	      want);
}

static void test_linediff__equal(void)
{
	expect("", "", NULL, "");
	expect("a\nb\n", "a\nb\n", NULL, "");
	/* a final newline is not a line of its own */
	expect("a\nb", "a\nb\n", NULL, "");
}

static void test_linediff__change_with_context(void)
{
	expect("a\nb\nc\n", "a\nB\nc\n", NULL, " a|-b|+B| c");
	expect("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\n", NULL, "@ 1 unchanged line| 2| 3| 4|-5|+X| 6| 7| 8|@ 1 unchanged line");
	struct linediff_limits one = LINEDIFF_DEFAULTS;
	one.context = 1;
	expect("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\n", &one, "@ 3 unchanged lines| 4|-5|+X| 6|@ 3 unchanged lines");
	/* two changes far apart: the middle becomes a gap, context on both sides */
	expect("a\n1\n2\n3\n4\n5\nb\n", "A\n1\n2\n3\n4\n5\nB\n", &one, "-a|+A| 1|@ 3 unchanged lines| 5|-b|+B");
}

static void test_linediff__ends(void)
{
	expect("", "x\ny\n", NULL, "+x|+y");
	expect("x\ny\n", "", NULL, "-x|-y");
	expect("b\nc\n", "a\nb\nc\n", NULL, "+a| b| c");
	expect("a\nb\n", "a\nb\nc\n", NULL, " a| b|+c");
	/* the LCS keeps the longest common part: one line moved is one removal, one insertion */
	expect("a\nb\nc\nd\n", "b\nc\nd\na\n", NULL, "-a| b| c| d|+a");
}

static void test_linediff__bounds(void)
{
	struct linediff_limits lim = LINEDIFF_DEFAULTS;
	lim.max_lines = 3;
	check(diff("a\nb\nc\nd\n", "a\n", &lim) == NULL, "4 lines > max_lines 3");
	check(diff("a\nb\nc\n", "a\n", &lim) != NULL, "3 lines are allowed");
	/* the head and tail in common do not count towards the table */
	lim = LINEDIFF_DEFAULTS;
	lim.max_cells = 16;
	check(diff("s\ns\ns\ns\ns\ns\nx\ns\ns\ns\ns\n", "s\ns\ns\ns\ns\ns\ny\ns\ns\ns\ns\n", &lim) != NULL,
	      "a one-line middle fits 16 cells");
	check(diff("a\nb\nc\nd\ne\n", "v\nw\nx\ny\nz\n", &lim) == NULL, "a 6x6 table > 16 cells");
	/* the result is cut at max_out lines and says how many were left out */
	lim = LINEDIFF_DEFAULTS;
	lim.max_out = 2;
	expect("", "1\n2\n3\n4\n5\n", &lim, "+1|+2|@ 3 more lines not shown");
}

static void test_linediff__large(void)
{
	/* 5000 lines a side with a change in the middle: the head and tail are cut, it is quick */
	size_t n = 5000;
	char *a = malloc(n * 8 + 1), *b = malloc(n * 8 + 1);
	require(a && b, "malloc");
	size_t la = 0, lb = 0;
	for (size_t i = 0; i < n; i++) {
		la += (size_t)snprintf(a + la, 9, "%06zu\n", i);
		lb += (size_t)snprintf(b + lb, 9, "%06zu\n", i == 2500 ? (size_t)999999 : i);
	}
	char *got = diff(a, b, NULL);
	check(got && !strcmp(got, "@ 2497 unchanged lines| 002497| 002498| 002499|-002500|+999999| 002501| 002502| 002503|@ 2496 unchanged lines"),
	      "%s", got ? got : "(too large)");
	/* 5001 lines: too large */
	char *c = malloc(n * 8 + 16);
	require(c, "malloc");
	memcpy(c, a, la + 1);
	memcpy(c + la, "x\n", 3);
	check(diff(c, b, NULL) == NULL, "5001 lines diffed");
	free(a);
	free(b);
	free(c);
}

static struct check_test tests[] = {
	TEST(test_linediff__equal),
	TEST(test_linediff__change_with_context),
	TEST(test_linediff__ends),
	TEST(test_linediff__bounds),
	TEST(test_linediff__large),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

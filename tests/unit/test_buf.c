/* Unit tests for buf: growth, NUL bytes, the bound at its edge, sticky failure, the HTML escape. */
#include "check.h"

#include "common/buf.h"

static void test_buf__grows(void)
{
	struct buf b = {0};
	for (int i = 0; i < 1000; i++)
		check(buf_add(&b, "abc") == 0, "append %d", i);
	check(b.len == 3000 && strlen(b.p) == 3000 && !b.failed, "len %zu", b.len);
	check(buf_addn(&b, "x\0y", 3) == 0 && b.len == 3003 && b.p[3001] == '\0' && b.p[3002] == 'y', "NUL kept");
	buf_free(&b);
	check(b.p == NULL && b.len == 0, "freed");
	check(buf_addn(&b, "", 0) == 0 && b.p && b.p[0] == '\0', "empty append gives an empty string");
	buf_free(&b);
}

static void test_buf__bound(void)
{
	struct buf b = {.max = 8};
	check(buf_add(&b, "12345678") == 0 && b.len == 8, "at the bound: accepted");
	check(buf_add(&b, "9") == -1 && b.over && b.failed, "one past: refused");
	check(b.len == 8 && !strcmp(b.p, "12345678"), "unchanged: %s", b.p);
	check(buf_add(&b, "") == -1, "sticky");
	buf_free(&b);
	check(b.max == 8 && !b.failed, "free keeps max, clears the failure");
	struct buf c = {.max = 4};
	buf_reserve(&c, 3);
	check(buf_add(&c, "abcd") == 0 && !strcmp(c.p, "abcd"), "reserve then fill");
	buf_free(&c);
}

static void test_buf__html(void)
{
	struct buf b = {0};
	const char in[] = "<img src=x onerror='a()'>&\"q\"\0z";
	check(buf_add_html(&b, in, sizeof(in) - 1) == 0, "escape");
	check(!strcmp(b.p, "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;q&quot;z"), "escaped: %s", b.p);
	buf_free(&b);
	struct buf c = {.max = 6};
	check(buf_add_html(&c, "<<", 2) == -1 && c.over, "past the bound: refused");
	buf_free(&c);
}

static struct check_test tests[] = {
	TEST(test_buf__grows),
	TEST(test_buf__bound),
	TEST(test_buf__html),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

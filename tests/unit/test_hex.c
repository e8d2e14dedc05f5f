/* Unit tests for hex: encoding and the SHA-256 vectors of FIPS 180-2. */
#include "check.h"

#include "common/hex.h"

static void test_hex__encode(void)
{
	char out[9];
	hex_encode(out, "\x00\x0f\xa5\xff", 4);
	check(!strcmp(out, "000fa5ff"), "%s", out);
	hex_encode(out, "", 0);
	check(out[0] == '\0', "empty");
}

static void test_hex__sha256(void)
{
	char out[65];
	check(hex_sha256(out, "abc", 3) == 0 &&
		      !strcmp(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	      "abc: %s", out);
	check(hex_sha256(out, "", 0) == 0 &&
		      !strcmp(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "empty: %s", out);
}

static struct check_test tests[] = {
	TEST(test_hex__encode),
	TEST(test_hex__sha256),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

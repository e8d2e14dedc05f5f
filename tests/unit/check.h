/* check.h: the in-tree unit test harness. A test file defines test functions named
 * test_<module>__<case> and lists them in TESTS; main runs them (or those named on the
 * command line), each in a fresh temp directory, and prints `N passed, N failed`. */
#ifndef BO_CHECK_H
#define BO_CHECK_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_failures_in_test;
static int check_skipped_in_test;

/* Ends the current test as skipped (not counted as passed), saying why. */
#define skip_test(...)                                                               \
	do {                                                                         \
		printf("SKIP %s: ", __func__);                                       \
		printf(__VA_ARGS__);                                                 \
		printf("\n");                                                        \
		check_skipped_in_test = 1;                                           \
		return;                                                              \
	} while (0)

#define check(cond, ...)                                                             \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                \
			fprintf(stderr, "\n");                                       \
			check_failures_in_test++;                                    \
		}                                                                    \
	} while (0)

/* Stops the current test when cond fails (for preconditions of later checks). */
#define require(cond, ...)                                                           \
	do {                                                                         \
		if (!(cond)) {                                                       \
			check(cond, __VA_ARGS__);                                    \
			return;                                                      \
		}                                                                    \
	} while (0)

static int check_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

struct check_test {
	const char *name;
	void (*fn)(void);
};

#define TEST(fn) {#fn, fn}

/* The temp directory of the running test (cwd is set to it too). */
static char check_tmpdir[256];

static int check_run(int argc, char **argv, const struct check_test *tests, size_t n)
{
	int passed = 0, failed = 0, skipped = 0;
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return 2;
	setenv("BO_SOURCE_DIR", cwd, 0);
	for (size_t i = 0; i < n; i++) {
		if (argc > 1) {
			int want = 0;
			for (int a = 1; a < argc; a++)
				if (strstr(tests[i].name, argv[a]))
					want = 1;
			if (!want)
				continue;
		}
		snprintf(check_tmpdir, sizeof(check_tmpdir), "/tmp/bo-unit-XXXXXX");
		if (!mkdtemp(check_tmpdir) || chdir(check_tmpdir))
			return 2;
		check_failures_in_test = 0;
		check_skipped_in_test = 0;
		fflush(stdout);
		tests[i].fn();
		if (chdir(cwd))
			return 2;
		if (check_skipped_in_test && !check_failures_in_test) {
			skipped++;
			nftw(check_tmpdir, check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
		} else if (check_failures_in_test) {
			failed++;
			printf("FAIL %s (kept %s)\n", tests[i].name, check_tmpdir);
		} else {
			passed++;
			printf("PASS %s\n", tests[i].name);
			if (getenv("CHECK_KEEP") == NULL)
				nftw(check_tmpdir, check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
		}
	}
	if (skipped)
		printf("(%d skipped)\n", skipped);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* Path of a file in the source tree (tests run with cwd in a temp dir). */
static inline const char *check_src(const char *rel)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", getenv("BO_SOURCE_DIR"), rel);
	return buf;
}

#endif

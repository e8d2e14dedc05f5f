/* replay: the main of test_fuzz_<name> (built by `make unit` with gcc and the normal
 * flags), so that the committed corpus of a libFuzzer harness runs in every `make test`
 * without clang. Each input is read into a buffer of exactly its size (an over-read is an
 * ASan report, as under libFuzzer) and given to LLVMFuzzerTestOneInput once; a broken
 * contract aborts, so the runner sees no final count and reports the binary as failed,
 * with the input named on the last "RUN" line of the log.
 *
 * Inputs: the files and directories given as arguments; else the directory in
 * BO_FUZZ_CORPUS; else tests/fuzz/corpus/<name> under BO_SOURCE_DIR (what tests/run
 * exports, as tests/unit/check.h uses it), else under the source tree this binary was
 * built from, so it runs from any directory. A corpus that is missing or empty fails. */
#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME='\"rdf\"' (the harness name)"
#endif
#ifndef FUZZ_SOURCE_DIR
#define FUZZ_SOURCE_DIR "."
#endif

/* Inputs larger than this are refused rather than read: committed seeds are < 64 KiB. */
#define INPUT_MAX (16u << 20)

static int passed, failed;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf = NULL;
	if (!f || fstat(fileno(f), &st) != 0 || st.st_size > INPUT_MAX) {
		printf("FAIL %s (cannot read it, or larger than %u bytes)\n", path, INPUT_MAX);
		failed++;
		goto done;
	}
	size_t n = (size_t)st.st_size;
	/* exactly n bytes (1 for an empty file: malloc(0) may return NULL) */
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		printf("FAIL %s (read error)\n", path);
		failed++;
		goto done;
	}
	fprintf(stderr, "RUN %s\n", path);
	LLVMFuzzerTestOneInput(buf, n);
	printf("PASS %s\n", path);
	passed++;
done:
	free(buf);
	if (f)
		fclose(f);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular file of dir, in name order (stable logs). Returns how many. */
static int run_dir(const char *dir)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, by_name), ran = 0;
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			run_file(path);
			ran++;
		}
		free(list[i]);
	}
	free(list);
	return ran;
}

static void run_arg(const char *arg)
{
	struct stat st;
	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (run_dir(arg) <= 0) {
			printf("FAIL %s (no corpus: the directory is missing or empty)\n", arg);
			failed++;
		}
	} else {
		run_file(arg);
	}
}

int main(int argc, char **argv)
{
	/* the runner reads stdout and stderr interleaved from one log */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_arg(argv[i]);
	} else {
		const char *env = getenv("BO_FUZZ_CORPUS");
		const char *src = getenv("BO_SOURCE_DIR");
		char dir[4096];
		if (env && env[0])
			snprintf(dir, sizeof(dir), "%s", env);
		else
			snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
				 src && src[0] ? src : FUZZ_SOURCE_DIR, FUZZ_NAME);
		run_arg(dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

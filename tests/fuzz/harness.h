/* harness: what the libFuzzer harnesses (tests/fuzz/fuzz_<name>.c) share, in the fuzzer
 * build (`make fuzz`, clang + libFuzzer) and in the replay build (test_fuzz_<name>, gcc,
 * replay.c as main). A harness aborts only when a contract of the code under test does
 * not hold, so every abort is a finding and libFuzzer keeps the input. */
#ifndef BO_FUZZ_HARNESS_H
#define BO_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;

/* The libFuzzer entry point each fuzz_<name>.c defines; always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken contract: prints where and what to stderr, then aborts. */
#define FUZZ_ASSERT(cond, what)                                                          \
	do {                                                                             \
		if (!(cond))                                                             \
			fuzz_fail(__FILE__, __LINE__, #cond, what);                      \
	} while (0)

__attribute__((noreturn)) void fuzz_fail(const char *file, int line, const char *cond,
					 const char *what);

/* The path of a regular file holding exactly data[0..size), for entry points that take a
 * path (package_open, npy_load). One file per process, rewritten on every call: a memfd
 * reached as /proc/self/fd/N (no disk I/O), else a temp file removed at exit. Borrowed
 * until the next call. Aborts when neither can be made (the harness cannot run). */
const char *fuzz_file(const uint8_t *data, size_t size);

/* Checks an error return: rc is negative and one of the allowed codes (a list ended by
 * 0), err holds the same code and a non-empty detail, and the problem+json rendered from
 * err is valid JSON in valid UTF-8 (RFC 8259: what an HTTP client decodes). Then
 * cleans err up. */
void fuzz_check_error(int rc, struct bo_error *err, const int *allowed);

#endif

/* harness: see harness.h. Nothing here judges input: it only checks what the code under
 * test promises about its outputs. */
#include "harness.h"

#include "common/error.h"
#include "common/utf8.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_fail(const char *file, int line, const char *cond, const char *what)
{
	fprintf(stderr, "FUZZ CONTRACT BROKEN %s:%d: %s: %s\n", file, line, cond, what);
	abort();
}

static int file_fd = -1;
static char file_path[64];
static char tmp_path[4096]; /* set only for the temp-file fallback */

static void remove_tmp(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
}

static void file_open(void)
{
	file_fd = memfd_create("bo-fuzz", MFD_CLOEXEC);
	if (file_fd >= 0) {
		snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
		/* /proc may be missing (some chroots): then the memfd has no path */
		if (access(file_path, R_OK) == 0)
			return;
		close(file_fd);
	}
	const char *dir = getenv("TMPDIR");
	snprintf(tmp_path, sizeof(tmp_path), "%s/bo-fuzz-XXXXXX", dir && dir[0] ? dir : "/tmp");
	file_fd = mkstemp(tmp_path);
	FUZZ_ASSERT(file_fd >= 0, "cannot create a temp file for the input");
	atexit(remove_tmp);
	snprintf(file_path, sizeof(file_path), "%.63s", tmp_path);
	if (strlen(tmp_path) >= sizeof(file_path))
		fuzz_fail(__FILE__, __LINE__, "strlen(tmp_path) < 64", "TMPDIR is too long");
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
	if (file_fd < 0)
		file_open();
	FUZZ_ASSERT(ftruncate(file_fd, 0) == 0, "cannot truncate the input file");
	for (size_t off = 0; off < size;) {
		ssize_t w = pwrite(file_fd, data + off, size - off, (off_t)off);
		FUZZ_ASSERT(w > 0, "cannot write the input file");
		off += (size_t)w;
	}
	return file_path;
}

void fuzz_check_error(int rc, struct bo_error *err, const int *allowed)
{
	int ok = 0;
	for (const int *a = allowed; *a; a++)
		if (rc == *a)
			ok = 1;
	if (!ok) {
		fprintf(stderr, "unexpected code %d (%s): %s\n", rc, bo_error_name(rc),
			err->detail);
		FUZZ_ASSERT(ok, "an error code the header does not list");
	}
	FUZZ_ASSERT(err->code == rc, "the returned code is not the one in err");
	FUZZ_ASSERT(err->detail[0] != '\0', "an error without a detail");
	char *body = bo_error_render(err, "/fuzz", "fuzz");
	if (body) {
		size_t n = strlen(body);
		if (!utf8_valid(body, n))
			fprintf(stderr, "problem body: %s\n", body);
		FUZZ_ASSERT(utf8_valid(body, n), "the problem+json body is not valid UTF-8");
		cJSON *back = cJSON_ParseWithLength(body, n);
		FUZZ_ASSERT(back != NULL, "the problem+json body is not valid JSON");
		cJSON_Delete(back);
		free(body);
	}
	bo_error_cleanup(err);
}

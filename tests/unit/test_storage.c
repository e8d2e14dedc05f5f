/* Unit tests for storage: the same cases run against storage_fs (a temp dir) and, when
 * BO_TEST_S3_ENDPOINT is set (tests/lib/swift.sh exports it), against storage_s3 on a
 * real signature-checking S3 server, plus S3-only cases (multipart, presigned URLs,
 * wrong secret). Without the env the S3 cases print "SKIP (no S3)" and are not run. */
#include "check.h"

#include "infra/config.h"
#include "common/error.h"
#include "infra/sigv4.h"
#include "infra/storage.h"
#include "infra/storage_s3.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <openssl/evp.h>

/* ---- fixtures ------------------------------------------------------------------- */

static int s3_counter;

static struct config *make_config(const char *backend, const char *secret_override,
				  const char *endpoint_override)
{
	char dir[512], prefix[128], ep[512], bucket[128], ak[128], sk[128], region[64];
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = NULL;
	if (!strcmp(backend, "fs")) {
		snprintf(dir, sizeof dir, "--storage-dir=%s/store", check_tmpdir);
		char *argv[] = {"--storage=fs", dir};
		if (config_load(&cfg, 2, argv, NULL, NULL, &err))
			fprintf(stderr, "config: %s\n", err.detail);
		return cfg;
	}
	const char *e = getenv("BO_TEST_S3_ENDPOINT");
	snprintf(ep, sizeof ep, "--s3-endpoint=%s", endpoint_override ? endpoint_override : e);
	snprintf(bucket, sizeof bucket, "--s3-bucket=%s", getenv("BO_TEST_S3_BUCKET"));
	snprintf(ak, sizeof ak, "--s3-access-key=%s", getenv("BO_TEST_S3_ACCESS_KEY"));
	snprintf(sk, sizeof sk, "--s3-secret-key=%s",
		 secret_override ? secret_override : getenv("BO_TEST_S3_SECRET_KEY"));
	const char *r = getenv("BO_TEST_S3_REGION");
	snprintf(region, sizeof region, "--s3-region=%s", r ? r : "us-east-1");
	/* A fresh key namespace per test, so runs and tests never see each other's keys. */
	snprintf(prefix, sizeof prefix, "--s3-prefix=t%ld-%d-%d", (long)time(NULL), (int)getpid(),
		 ++s3_counter);
	char *argv[] = {"--storage=s3", ep, bucket, ak, sk, region, prefix, "--s3-part-size=5M",
			"--s3-retries=2", "--s3-timeout=30"};
	if (config_load(&cfg, 10, argv, NULL, NULL, &err))
		fprintf(stderr, "config: %s\n", err.detail);
	return cfg;
}

static storage *open_backend(const char *backend, struct config **cfg_out)
{
	struct bo_error err = BO_ERROR_INIT;
	storage *s = NULL;
	struct config *cfg = make_config(backend, NULL, NULL);
	if (!cfg)
		return NULL;
	if (!strcmp(backend, "s3") && storage_s3_create_bucket(cfg, &err)) {
		fprintf(stderr, "create bucket: %s\n", err.detail);
		config_free(cfg);
		return NULL;
	}
	if (storage_open(&s, cfg, &err)) {
		fprintf(stderr, "storage_open: %s\n", err.detail);
		config_free(cfg);
		return NULL;
	}
	*cfg_out = cfg;
	return s;
}

static void with_backend(const char *backend, void (*fn)(storage *s, const char *backend))
{
	struct config *cfg = NULL;
	storage *s = open_backend(backend, &cfg);
	require(s, "cannot open the %s backend", backend);
	fn(s, backend);
	storage_free(s);
	config_free(cfg);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) || w != len ? -1 : 0;
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p) {
		p[n] = '\0';
		*len = (size_t)n;
	}
	return p;
}

static void sha256_file(const char *path, char hex[65])
{
	size_t n = 0;
	char *p = read_whole(path, &n);
	sigv4_sha256_hex(hex, p ? p : "", p ? n : 0);
	free(p);
}

struct collected {
	char keys[64][64];
	uint64_t sizes[64];
	int n;
};

static int collect_cb(void *ctx, const char *key, uint64_t size)
{
	struct collected *c = ctx;
	if (c->n == 64)
		return 1;
	snprintf(c->keys[c->n], sizeof c->keys[0], "%s", key);
	c->sizes[c->n++] = size;
	return 0;
}

static int count_keys(storage *s, const char *prefix)
{
	struct bo_error err = BO_ERROR_INIT;
	struct collected c = {.n = 0};
	char *next = NULL;
	int rc = storage_list(s, prefix, NULL, 64, collect_cb, &c, &next, &err);
	free(next);
	return rc ? -1 : c.n;
}

struct membuf {
	char data[4096];
	size_t n;
	int stop_after;
};

static int mem_sink(void *ctx, const void *buf, size_t n)
{
	struct membuf *m = ctx;
	if (m->stop_after && m->n >= (size_t)m->stop_after)
		return 1;
	if (m->n + n > sizeof m->data)
		return 1;
	memcpy(m->data + m->n, buf, n);
	m->n += n;
	return 0;
}

/* ---- cases shared by both backends ------------------------------------------------ */

static void case_put_get(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	const char *text = "type: model\nname: Ünïcode ✓\n";
	int rc = storage_put_buffer(s, "abc/draft/files/rdf.yaml", text, strlen(text),
				    "application/x-yaml", &err);
	require(rc == 0, "%s put_buffer: %s", backend, err.detail);
	char *buf = NULL;
	size_t len = 0;
	rc = storage_get_buffer(s, "abc/draft/files/rdf.yaml", 1 << 20, &buf, &len, &err);
	require(rc == 0, "%s get_buffer: %s", backend, err.detail);
	check(len == strlen(text) && !memcmp(buf, text, len) && buf[len] == '\0', "%s content", backend);
	free(buf);

	struct storage_stat st;
	rc = storage_head(s, "abc/draft/files/rdf.yaml", &st, &err);
	require(rc == 0, "%s head: %s", backend, err.detail);
	check(st.size == strlen(text), "%s size %llu", backend, (unsigned long long)st.size);
	check(!strcmp(st.content_type, "application/x-yaml"), "%s ct %s", backend, st.content_type);
	check(st.etag[0] == '"', "%s etag %s", backend, st.etag);

	/* put_file with a digest, key with spaces and unicode; get_file back. */
	char data[3000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + 3);
	require(write_file("src.bin", data, sizeof data) == 0, "write src");
	char sha[65] = "", want[65];
	sigv4_sha256_hex(want, data, sizeof data);
	const char *key = "abc/draft/files/a dir/wéights (1)+x.bin";
	rc = storage_put_file(s, key, "src.bin", NULL, sha, &err);
	require(rc == 0, "%s put_file: %s", backend, err.detail);
	check(!strcmp(sha, want), "%s sha %s want %s", backend, sha, want);
	rc = storage_get_file(s, key, "out.bin", &err);
	require(rc == 0, "%s get_file: %s", backend, err.detail);
	char got[65];
	sha256_file("out.bin", got);
	check(!strcmp(got, want), "%s get_file content differs", backend);
	rc = storage_head(s, key, &st, &err);
	check(rc == 0 && st.size == sizeof data, "%s head size", backend);
	check(!strcmp(st.content_type, "application/octet-stream"), "%s default ct %s", backend,
	      st.content_type);

	/* Overwrite replaces. */
	rc = storage_put_buffer(s, key, "new", 3, "text/plain", &err);
	require(rc == 0, "%s overwrite: %s", backend, err.detail);
	rc = storage_get_buffer(s, key, 100, &buf, &len, &err);
	check(rc == 0 && len == 3 && !memcmp(buf, "new", 3), "%s overwrite content", backend);
	free(buf);

	/* Too large for max. */
	rc = storage_get_buffer(s, "abc/draft/files/rdf.yaml", 5, &buf, &len, &err);
	check(rc == BO_ETOOLARGE, "%s max: %d", backend, rc);
	bo_error_cleanup(&err);

	/* Empty object. */
	rc = storage_put_buffer(s, "empty", "", 0, NULL, &err);
	require(rc == 0, "%s empty put: %s", backend, err.detail);
	rc = storage_get_buffer(s, "empty", 10, &buf, &len, &err);
	check(rc == 0 && len == 0 && buf && buf[0] == '\0', "%s empty get: %s", backend, err.detail);
	free(buf);
	check(storage_ping(s, &err) == 0, "%s ping: %s", backend, err.detail);
	check(storage_error_count(s) == 0, "%s error count %llu", backend,
	      (unsigned long long)storage_error_count(s));
}

static void case_range(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	const char *text = "0123456789abcdefghij";
	require(storage_put_buffer(s, "r/x", text, 20, NULL, &err) == 0, "%s put: %s", backend, err.detail);
	struct membuf m = {.n = 0};
	int rc = storage_get_range(s, "r/x", 5, 4, mem_sink, &m, &err);
	check(rc == 0 && m.n == 4 && !memcmp(m.data, "5678", 4), "%s range 5+4: %d %zu", backend, rc, m.n);
	m.n = 0;
	rc = storage_get_range(s, "r/x", 15, UINT64_MAX, mem_sink, &m, &err);
	check(rc == 0 && m.n == 5 && !memcmp(m.data, "fghij", 5), "%s range to end", backend);
	m.n = 0;
	rc = storage_get_range(s, "r/x", 18, 100, mem_sink, &m, &err);
	check(rc == 0 && m.n == 2 && !memcmp(m.data, "ij", 2), "%s range cut at end", backend);
	m.n = 0;
	rc = storage_get_range(s, "r/x", 0, UINT64_MAX, mem_sink, &m, &err);
	check(rc == 0 && m.n == 20 && !memcmp(m.data, text, 20), "%s whole", backend);
	m.n = 0;
	rc = storage_get_range(s, "r/x", 20, 10, mem_sink, &m, &err);
	check(rc == 0 && m.n == 0, "%s range at end: %d", backend, rc);
	rc = storage_get_range(s, "r/x", 21, 10, mem_sink, &m, &err);
	check(rc == BO_EBADREQUEST, "%s range past end: %d", backend, rc);
	bo_error_cleanup(&err);
	/* A sink that refuses stops the transfer with BO_EINTERNAL. */
	struct membuf stop = {.n = 0, .stop_after = 1};
	stop.n = 1;
	rc = storage_get_range(s, "r/x", 0, UINT64_MAX, mem_sink, &stop, &err);
	check(rc == BO_EINTERNAL, "%s sink stop: %d", backend, rc);
	bo_error_cleanup(&err);
}

static void case_missing(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	char *buf = NULL;
	size_t len;
	struct storage_stat st;
	struct membuf m = {.n = 0};
	check(storage_get_buffer(s, "no/such", 10, &buf, &len, &err) == BO_ENOTFOUND, "%s get_buffer",
	      backend);
	bo_error_cleanup(&err);
	check(storage_head(s, "no/such", &st, &err) == BO_ENOTFOUND, "%s head", backend);
	bo_error_cleanup(&err);
	check(storage_get_range(s, "no/such", 0, 10, mem_sink, &m, &err) == BO_ENOTFOUND, "%s range",
	      backend);
	bo_error_cleanup(&err);
	check(storage_get_file(s, "no/such", "out", &err) == BO_ENOTFOUND, "%s get_file", backend);
	check(access("out", F_OK) != 0, "%s get_file left a file behind", backend);
	bo_error_cleanup(&err);
	check(storage_copy(s, "no/such", "dst", &err) == BO_ENOTFOUND, "%s copy: %s", backend, err.detail);
	bo_error_cleanup(&err);
	check(storage_delete(s, "no/such", &err) == 0, "%s delete missing: %s", backend, err.detail);
	check(storage_delete_prefix(s, "no/", &err) == 0, "%s delete_prefix missing: %s", backend,
	      err.detail);
	check(storage_error_count(s) == 0, "%s not-found counted as failure", backend);
}

static void case_list_pagination(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	char key[64];
	/* Inserted in an order that is not the listing order. */
	for (int i = 24; i >= 0; i--) {
		snprintf(key, sizeof key, "p/k%02d", i);
		require(storage_put_buffer(s, key, key, (size_t)(i % 5), NULL, &err) == 0, "%s put %s: %s",
			backend, key, err.detail);
	}
	require(storage_put_buffer(s, "p/sub/deep", "d", 1, NULL, &err) == 0, "%s put", backend);
	require(storage_put_buffer(s, "p2/y", "y", 1, NULL, &err) == 0, "%s put", backend);
	require(storage_put_buffer(s, "o", "o", 1, NULL, &err) == 0, "%s put", backend);

	char *start = NULL;
	struct collected all = {.n = 0};
	int pages = 0;
	do {
		struct collected c = {.n = 0};
		char *next = NULL;
		int rc = storage_list(s, "p/", start, 10, collect_cb, &c, &next, &err);
		require(rc == 0, "%s list: %s", backend, err.detail);
		check(c.n == (pages < 2 ? 10 : 6), "%s page %d has %d keys", backend, pages, c.n);
		for (int i = 0; i < c.n; i++) {
			all.sizes[all.n] = c.sizes[i];
			memcpy(all.keys[all.n++], c.keys[i], sizeof c.keys[0]);
		}
		free(start);
		start = next;
		pages++;
	} while (start && pages < 10);
	check(pages == 3, "%s pages %d", backend, pages);
	require(all.n == 26, "%s listed %d keys", backend, all.n);
	for (int i = 0; i < 25; i++) {
		snprintf(key, sizeof key, "p/k%02d", i);
		check(!strcmp(all.keys[i], key), "%s order: %s at %d", backend, all.keys[i], i);
		check(all.sizes[i] == (uint64_t)(i % 5), "%s size of %s", backend, key);
	}
	check(!strcmp(all.keys[25], "p/sub/deep"), "%s last %s", backend, all.keys[25]);

	/* Exactly max keys left: no next token. */
	struct collected c = {.n = 0};
	char *next = NULL;
	require(storage_list(s, "p/", "p/k15", 10, collect_cb, &c, &next, &err) == 0, "%s", err.detail);
	check(c.n == 10 && next == NULL, "%s exact page: %d next=%s", backend, c.n, next ? next : "");
	free(next);

	/* Partial-segment prefix and the whole store. */
	check(count_keys(s, "p") == 27, "%s prefix 'p': %d", backend, count_keys(s, "p"));
	check(count_keys(s, "") == 28, "%s all: %d", backend, count_keys(s, ""));
	check(count_keys(s, "p/k1") == 10, "%s prefix p/k1", backend);

	/* A callback that stops. */
	struct collected full = {.n = 64};
	check(storage_list(s, "p/", NULL, 5, collect_cb, &full, &next, &err) == BO_EINTERNAL,
	      "%s stop", backend);
	bo_error_cleanup(&err);
	check(storage_list(s, "p/", NULL, 0, collect_cb, &c, &next, &err) == BO_EBADREQUEST,
	      "%s max 0", backend);
	bo_error_cleanup(&err);
}

static void case_copy_delete(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	require(storage_put_buffer(s, "d/a/1", "one", 3, "text/plain", &err) == 0, "%s", err.detail);
	require(storage_put_buffer(s, "d/b/2", "two", 3, NULL, &err) == 0, "%s", err.detail);
	require(storage_put_buffer(s, "d2/x", "x", 1, NULL, &err) == 0, "%s", err.detail);
	int rc = storage_copy(s, "d/a/1", "v/1.0/files/é 1", &err);
	require(rc == 0, "%s copy: %s", backend, err.detail);
	char *buf = NULL;
	size_t len = 0;
	rc = storage_get_buffer(s, "v/1.0/files/é 1", 10, &buf, &len, &err);
	check(rc == 0 && len == 3 && !memcmp(buf, "one", 3), "%s copied content", backend);
	free(buf);
	struct storage_stat st;
	check(storage_head(s, "v/1.0/files/é 1", &st, &err) == 0 && !strcmp(st.content_type, "text/plain"),
	      "%s copy keeps content type: %s", backend, st.content_type);

	rc = storage_delete(s, "d/b/2", &err);
	check(rc == 0, "%s delete: %s", backend, err.detail);
	check(storage_head(s, "d/b/2", &st, &err) == BO_ENOTFOUND, "%s deleted still there", backend);
	bo_error_cleanup(&err);

	rc = storage_delete_prefix(s, "d/", &err);
	check(rc == 0, "%s delete_prefix: %s", backend, err.detail);
	check(count_keys(s, "d/") == 0, "%s d/ not empty", backend);
	check(count_keys(s, "d2/") == 1, "%s d2/ touched", backend);
	check(count_keys(s, "v/") == 1, "%s v/ touched", backend);
	check(storage_delete_prefix(s, "d2", &err) == BO_EBADREQUEST, "%s prefix without '/'", backend);
	bo_error_cleanup(&err);
	check(storage_delete_prefix(s, "", &err) == BO_EBADREQUEST, "%s empty prefix", backend);
	bo_error_cleanup(&err);
	check(count_keys(s, "d2/") == 1, "%s d2/ gone", backend);
}

static void case_bad_keys(storage *s, const char *backend)
{
	static const char *bad[] = {
		"", "/abs", "a//b", "a/./b", "a/../b", "..", ".", "a/..", "a\\b", "ctl\x01", "del\x7f",
		"trail/", "bad\xff utf8", "\xc0\xaf", NULL,
	};
	struct bo_error err = BO_ERROR_INIT;
	for (int i = 0; bad[i]; i++) {
		check(storage_put_buffer(s, bad[i], "x", 1, NULL, &err) == BO_EBADREQUEST,
		      "%s accepted key '%s'", backend, bad[i]);
		bo_error_cleanup(&err);
	}
	char longkey[STORAGE_KEY_MAX + 2];
	memset(longkey, 'a', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	check(storage_put_buffer(s, longkey, "x", 1, NULL, &err) == BO_EBADREQUEST, "%s long key", backend);
	check(strstr(err.detail, "1024") != NULL, "%s: %s", backend, err.detail);
	bo_error_cleanup(&err);
	longkey[STORAGE_KEY_MAX] = '\0';
	check(storage_check_key(longkey, &err) == 0, "%s 1024-byte key refused", backend);
	check(storage_check_key("a/..b/.c/c.", &err) == 0, "%s dots inside names refused: %s", backend,
	      err.detail);
	check(count_keys(s, "") == 0, "%s a bad key left something", backend);
	check(storage_error_count(s) == 0, "%s bad keys counted as storage failures", backend);
}

static void case_no_half_object(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	int rc = storage_put_file(s, "h/x", "does-not-exist", NULL, NULL, &err);
	check(rc != 0, "%s put from a missing file succeeded", backend);
	check(strstr(err.detail, "does-not-exist") != NULL, "%s detail: %s", backend, err.detail);
	bo_error_cleanup(&err);
	struct storage_stat st;
	check(storage_head(s, "h/x", &st, &err) == BO_ENOTFOUND, "%s half object exists", backend);
	bo_error_cleanup(&err);
	check(count_keys(s, "") == 0, "%s something was left", backend);
	check(storage_error_count(s) == 1, "%s failure not counted: %llu", backend,
	      (unsigned long long)storage_error_count(s));
	if (!strcmp(backend, "fs")) {
		/* No temp file left either. */
		char path[600];
		snprintf(path, sizeof path, "%s/store/.tmp", check_tmpdir);
		DIR *d = opendir(path);
		require(d, "no .tmp dir");
		int n = 0;
		struct dirent *de;
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		check(n == 0, "fs left %d temp files", n);
	}
}

struct thr {
	storage *s;
	int id;
	int failures;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 8; i++) {
		struct bo_error err = BO_ERROR_INIT;
		char key[64], val[64];
		snprintf(key, sizeof key, "c/t%d/k%d", t->id, i);
		snprintf(val, sizeof val, "value %d %d", t->id, i);
		char *buf = NULL;
		size_t len = 0;
		if (storage_put_buffer(t->s, key, val, strlen(val), NULL, &err) ||
		    storage_get_buffer(t->s, key, 100, &buf, &len, &err) || len != strlen(val) ||
		    memcmp(buf, val, len))
			t->failures++;
		free(buf);
		if (i % 2 && storage_delete(t->s, key, &err))
			t->failures++;
		bo_error_cleanup(&err);
	}
	return NULL;
}

static void case_threads(storage *s, const char *backend)
{
	pthread_t th[4];
	struct thr t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){s, i, 0};
		pthread_create(&th[i], NULL, thread_main, &t[i]);
	}
	int failures = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		failures += t[i].failures;
	}
	check(failures == 0, "%s: %d failures from threads", backend, failures);
	check(count_keys(s, "c/") == 16, "%s: %d keys after threads", backend, count_keys(s, "c/"));
}

/* Derived-data puts: same bytes, content type and replacement as a durable put; the
 * sync after them succeeds; bad keys are still refused; fs leaves no temp file. */
static void case_nosync(storage *s, const char *backend)
{
	struct bo_error err = BO_ERROR_INIT;
	char *buf = NULL;
	size_t len = 0;
	struct storage_stat st;
	int rc = storage_put_buffer_nosync(s, "n/index.json", "{\"a\":1}\n", 8, "application/json", &err);
	check(rc == 0, "%s nosync put: %s", backend, err.detail);
	rc = storage_put_buffer_nosync(s, "n/index.json", "{\"a\":22}\n", 9, "application/json", &err);
	check(rc == 0, "%s nosync replace: %s", backend, err.detail);
	check(storage_sync(s, &err) == 0, "%s sync: %s", backend, err.detail);
	rc = storage_get_buffer(s, "n/index.json", 100, &buf, &len, &err);
	check(rc == 0 && len == 9 && !memcmp(buf, "{\"a\":22}\n", 9), "%s read back the replacement", backend);
	free(buf);
	check(storage_head(s, "n/index.json", &st, &err) == 0 && !strcmp(st.content_type, "application/json") &&
		      st.size == 9,
	      "%s head: %s %llu", backend, st.content_type, (unsigned long long)st.size);
	check(storage_put_buffer_nosync(s, "n/../x", "x", 1, NULL, &err) == BO_EBADREQUEST, "%s bad key", backend);
	bo_error_cleanup(&err);
	check(count_keys(s, "") == 1, "%s keys: %d", backend, count_keys(s, ""));
	if (!strcmp(backend, "fs")) {
		char path[600];
		snprintf(path, sizeof path, "%s/store/.tmp", check_tmpdir);
		DIR *d = opendir(path);
		require(d, "no .tmp dir");
		int n = 0;
		struct dirent *de;
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		check(n == 0, "fs left %d temp files", n);
	}
}

#define BOTH(name)                                                                        \
	static void test_storage__fs_##name(void) { with_backend("fs", case_##name); }    \
	static void test_storage__s3_##name(void) { with_backend("s3", case_##name); }

BOTH(put_get)
BOTH(range)
BOTH(missing)
BOTH(list_pagination)
BOTH(copy_delete)
BOTH(bad_keys)
BOTH(no_half_object)
BOTH(threads)
BOTH(nosync)

/* ---- fs only ------------------------------------------------------------------- */

static void test_storage__fs_presign_open_fd(void)
{
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	storage *s = open_backend("fs", &cfg);
	require(s, "open");
	check(!strcmp(storage_backend_name(s), "fs"), "name");
	require(storage_put_buffer(s, "a b/é.txt", "hello", 5, NULL, &err) == 0, "%s", err.detail);
	char *url = NULL;
	int rc = storage_presign_get(s, "a b/é.txt", 60, "http://x:1/", NULL, &url, &err);
	check(rc == 0 && url && !strcmp(url, "http://x:1/files/a%20b/%C3%A9.txt"), "url %s", url);
	free(url);
	check(storage_presign_get(s, "a", 60, NULL, NULL, &url, &err) == BO_EBADREQUEST, "no base url");
	bo_error_cleanup(&err);
	int fd = -1;
	uint64_t size = 0;
	rc = storage_open_fd(s, "a b/é.txt", &fd, &size, &err);
	require(rc == 0, "%s", err.detail);
	char buf[16] = {0};
	check(size == 5 && read(fd, buf, sizeof buf) == 5 && !memcmp(buf, "hello", 5), "fd content");
	close(fd);
	check(storage_open_fd(s, "a b", &fd, &size, &err) == BO_ENOTFOUND, "a directory opened");
	bo_error_cleanup(&err);
	check(storage_open_fd(s, "nope", &fd, &size, &err) == BO_ENOTFOUND, "missing opened");
	bo_error_cleanup(&err);
	/* The reserved temp area is neither listable nor addressable. */
	check(storage_put_buffer(s, ".tmp/x", "x", 1, NULL, &err) == BO_EBADREQUEST, ".tmp writable");
	bo_error_cleanup(&err);
	check(count_keys(s, "") == 1, "listing shows %d keys", count_keys(s, ""));
	/* A key that is a prefix of another cannot be an fs file. */
	check(storage_put_buffer(s, "a b", "x", 1, NULL, &err) == BO_ECONFLICT, "dir/file clash: %d",
	      err.code);
	bo_error_cleanup(&err);
	/* Deleting the last key prunes its empty directories. */
	require(storage_delete(s, "a b/é.txt", &err) == 0, "%s", err.detail);
	char path[600];
	snprintf(path, sizeof path, "%s/store/a b", check_tmpdir);
	check(access(path, F_OK) != 0, "empty directory left behind");
	storage_free(s);
	config_free(cfg);
}

static void test_storage__fs_bad_dir(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = NULL;
	require(write_file("afile", "x", 1) == 0, "write");
	char *argv[] = {"--storage=fs", "--storage-dir=afile/sub"};
	require(config_load(&cfg, 2, argv, NULL, NULL, &err) == 0, "%s", err.detail);
	storage *s = NULL;
	check(storage_open(&s, cfg, &err) == BO_ESTORAGE, "opened a dir under a file");
	check(strstr(err.detail, "afile/sub") != NULL, "%s", err.detail);
	check(s == NULL, "s set");
	config_free(cfg);
}

/* ---- s3 without a server ------------------------------------------------------------ */

/* Always runs: a closed port gives BO_ESTORAGE after the configured retries. */
static void test_storage__s3_unreachable(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = NULL;
	char *argv[] = {"--storage=s3", "--s3-endpoint=http://127.0.0.1:1", "--s3-bucket=b",
			"--s3-access-key=k", "--s3-secret-key=s", "--s3-retries=2", "--s3-timeout=5"};
	require(config_load(&cfg, 7, argv, NULL, NULL, &err) == 0, "%s", err.detail);
	storage *s = NULL;
	require(storage_open(&s, cfg, &err) == 0, "%s", err.detail);
	check(!strcmp(storage_backend_name(s), "s3"), "name");
	int rc = storage_put_buffer(s, "abc/x", "x", 1, NULL, &err);
	check(rc == BO_ESTORAGE, "rc %d", rc);
	check(strstr(err.detail, "S3 PUT abc/x") && strstr(err.detail, "after 2 retries"), "%s",
	      err.detail);
	check(err.retry_after > 0, "no retry_after");
	bo_error_cleanup(&err);
	check(storage_ping(s, &err) == BO_ESTORAGE, "ping");
	bo_error_cleanup(&err);
	check(storage_error_count(s) == 2, "count %llu", (unsigned long long)storage_error_count(s));
	int fd;
	uint64_t size;
	check(storage_open_fd(s, "abc/x", &fd, &size, &err) == BO_ENOTFOUND, "open_fd on s3");
	bo_error_cleanup(&err);
	/* Presigning needs no server. */
	char *url = NULL;
	check(storage_presign_get(s, "abc/x", 60, NULL, NULL, &url, &err) == 0, "%s", err.detail);
	const char *want = "http://127.0.0.1:1/b/abc/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&";
	check(url && !strncmp(url, want, strlen(want)), "%s", url);
	free(url);
	storage_free(s);
	config_free(cfg);

	char *bad[] = {"--storage=s3", "--s3-endpoint=http://h", "--s3-bucket=Bad/Bucket",
		       "--s3-access-key=k", "--s3-secret-key=s"};
	require(config_load(&cfg, 5, bad, NULL, NULL, &err) == 0, "%s", err.detail);
	check(storage_open(&s, cfg, &err) == BO_EBADREQUEST, "bad bucket accepted");
	check(strstr(err.detail, "s3_bucket") != NULL, "%s", err.detail);
	config_free(cfg);
}

/* ---- s3 with a server ---------------------------------------------------------------- */

static void test_storage__s3_multipart(void)
{
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	storage *s = open_backend("s3", &cfg);
	require(s, "open");
	/* 12 MiB + 1 byte of pseudo-random data, part size 5 MiB -> 3 parts. */
	size_t n = (12u << 20) + 1;
	unsigned char *data = malloc(n);
	require(data, "malloc");
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (unsigned char)(x >> 16);
	}
	int w = write_file("big.bin", data, n);
	char want[65];
	sigv4_sha256_hex(want, data, n);
	free(data);
	require(w == 0, "write");
	char sha[65] = "";
	int rc = storage_put_file(s, "big/w.bin", "big.bin", "application/octet-stream", sha, &err);
	require(rc == 0, "multipart put: %s", err.detail);
	check(!strcmp(sha, want), "sha %s want %s", sha, want);
	struct storage_stat st;
	rc = storage_head(s, "big/w.bin", &st, &err);
	check(rc == 0 && st.size == n, "size %llu", (unsigned long long)st.size);
	/* A multipart ETag has a "-<parts>" suffix. */
	check(strstr(st.etag, "-3\"") != NULL, "etag %s", st.etag);
	rc = storage_get_file(s, "big/w.bin", "back.bin", &err);
	require(rc == 0, "get: %s", err.detail);
	char got[65];
	sha256_file("back.bin", got);
	check(!strcmp(got, want), "downloaded sha %s", got);
	/* A range across the part boundary. */
	struct membuf m = {.n = 0};
	rc = storage_get_range(s, "big/w.bin", (5u << 20) - 10, 20, mem_sink, &m, &err);
	check(rc == 0 && m.n == 20, "range %d %zu", rc, m.n);
	size_t bl = 0;
	char *back = read_whole("back.bin", &bl);
	check(back && !memcmp(m.data, back + (5u << 20) - 10, 20), "range content");
	free(back);
	check(storage_delete_prefix(s, "big/", &err) == 0, "%s", err.detail);
	storage_free(s);
	config_free(cfg);
}

static size_t curl_to_membuf(char *p, size_t sz, size_t n, void *ud)
{
	return mem_sink(ud, p, sz * n) ? 0 : sz * n;
}

static long fetch(const char *url, struct membuf *m)
{
	CURL *h = curl_easy_init();
	long code = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_to_membuf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

static void test_storage__s3_presign(void)
{
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	storage *s = open_backend("s3", &cfg);
	require(s, "open");
	require(storage_put_buffer(s, "pre/a b/é.txt", "presigned!", 10, "text/plain", &err) == 0, "%s",
		err.detail);
	char *url = NULL;
	require(storage_presign_get(s, "pre/a b/é.txt", 300, NULL, NULL, &url, &err) == 0, "%s", err.detail);
	struct membuf m = {.n = 0};
	long code = fetch(url, &m);
	check(code == 200 && m.n == 10 && !memcmp(m.data, "presigned!", 10), "GET presigned: %ld %zu", code,
	      m.n);
	/* Tamper with one hex digit of the signature. */
	char *sig = strstr(url, "X-Amz-Signature=");
	require(sig, "no signature in %s", url);
	sig += strlen("X-Amz-Signature=");
	*sig = *sig == '0' ? '1' : '0';
	m.n = 0;
	code = fetch(url, &m);
	check(code == 403, "tampered URL got %ld", code);
	free(url);
	/* the response overrides are signed: the same URL with another disposition is refused */
	url = NULL;
	struct storage_response resp = {"text/plain; charset=utf-8", "attachment"};
	require(storage_presign_get(s, "pre/a b/é.txt", 300, NULL, &resp, &url, &err) == 0, "%s", err.detail);
	m.n = 0;
	code = fetch(url, &m);
	check(code == 200 && m.n == 10, "GET presigned with overrides: %ld %zu (%s)", code, m.n, url);
	char *disp = strstr(url, "attachment");
	require(disp, "no disposition in %s", url);
	memcpy(disp, "inlineXXXX", 10);
	m.n = 0;
	code = fetch(url, &m);
	check(code == 403, "URL with a changed disposition got %ld", code);
	free(url);
	check(storage_delete_prefix(s, "pre/", &err) == 0, "%s", err.detail);
	storage_free(s);
	config_free(cfg);
}

static void test_storage__s3_wrong_secret(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = make_config("s3", "not-the-secret", NULL);
	require(cfg, "config");
	storage *s = NULL;
	require(storage_open(&s, cfg, &err) == 0, "%s", err.detail);
	int rc = storage_put_buffer(s, "ws/x", "x", 1, NULL, &err);
	check(rc == BO_ESTORAGE, "rc %d", rc);
	check(strstr(err.detail, "SignatureDoesNotMatch") && strstr(err.detail, "s3_secret_key"), "%s",
	      err.detail);
	bo_error_cleanup(&err);
	struct storage_stat st;
	rc = storage_head(s, "ws/x", &st, &err);
	check(rc == BO_ESTORAGE && strstr(err.detail, "s3_secret_key"), "head: %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	check(storage_ping(s, &err) == BO_ESTORAGE, "ping with a wrong secret");
	bo_error_cleanup(&err);
	storage_free(s);
	config_free(cfg);
}

static void test_storage__s3_missing_bucket(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = make_config("s3", NULL, NULL);
	require(cfg, "config");
	free(cfg->s3_bucket);
	cfg->s3_bucket = strdup("bo-no-such-bucket");
	storage *s = NULL;
	require(storage_open(&s, cfg, &err) == 0, "%s", err.detail);
	check(storage_ping(s, &err) == BO_ESTORAGE && strstr(err.detail, "does not exist"), "ping: %s",
	      err.detail);
	bo_error_cleanup(&err);
	storage_free(s);
	config_free(cfg);
}

int main(int argc, char **argv)
{
	static const struct check_test fs_tests[] = {
		TEST(test_storage__fs_put_get),
		TEST(test_storage__fs_range),
		TEST(test_storage__fs_missing),
		TEST(test_storage__fs_list_pagination),
		TEST(test_storage__fs_copy_delete),
		TEST(test_storage__fs_bad_keys),
		TEST(test_storage__fs_no_half_object),
		TEST(test_storage__fs_threads),
		TEST(test_storage__fs_nosync),
		TEST(test_storage__fs_presign_open_fd),
		TEST(test_storage__fs_bad_dir),
		TEST(test_storage__s3_unreachable),
	};
	static const struct check_test s3_tests[] = {
		TEST(test_storage__s3_put_get),
		TEST(test_storage__s3_range),
		TEST(test_storage__s3_missing),
		TEST(test_storage__s3_list_pagination),
		TEST(test_storage__s3_copy_delete),
		TEST(test_storage__s3_bad_keys),
		TEST(test_storage__s3_no_half_object),
		TEST(test_storage__s3_threads),
		TEST(test_storage__s3_nosync),
		TEST(test_storage__s3_multipart),
		TEST(test_storage__s3_presign),
		TEST(test_storage__s3_wrong_secret),
		TEST(test_storage__s3_missing_bucket),
	};
	size_t nfs = sizeof fs_tests / sizeof *fs_tests, ns3 = sizeof s3_tests / sizeof *s3_tests;
	struct check_test tests[sizeof fs_tests / sizeof *fs_tests + sizeof s3_tests / sizeof *s3_tests];
	size_t n = 0;
	for (size_t i = 0; i < nfs; i++)
		tests[n++] = fs_tests[i];
	int have_s3 = getenv("BO_TEST_S3_ENDPOINT") && getenv("BO_TEST_S3_ENDPOINT")[0];
	for (size_t i = 0; i < ns3; i++) {
		if (have_s3)
			tests[n++] = s3_tests[i];
		else
			printf("SKIP (no S3) %s\n", s3_tests[i].name);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = check_run(argc, argv, tests, n);
	curl_global_cleanup();
	return rc;
}

/* test_httpc: the retrying HTTP call against a loopback python3 server
 * (tests/fakes/httpc_server.py): Retry-After honoured, 4xx not retried, 5xx retried until
 * the attempts run out, bodies bounded, headers and bodies sent as given, sinks, the
 * per-attempt hook, refused addresses, a header list that ran out of memory never sent;
 * and the retry delays. */
#include "check.h"
#include "net_check.h"

#include "common/error.h"
#include "infra/httpc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#define PYTHON "/usr/bin/python3"

static pid_t server_pid;
static int server_port;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts the server once for all tests (the port, or -1); main stops it. */
static int server(void)
{
	if (server_pid > 0)
		return server_port;
	if (access(PYTHON, X_OK) != 0)
		return -1;
	char script[4096], port[16];
	snprintf(script, sizeof(script), "%s", check_src("tests/fakes/httpc_server.py"));
	server_port = free_port();
	snprintf(port, sizeof(port), "%d", server_port);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(PYTHON, "python3", script, port, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 200; i++) {
		if (port_open(server_port)) {
			server_pid = pid;
			return server_port;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(50);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void server_stop(void)
{
	if (server_pid <= 0)
		return;
	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	server_pid = 0;
}

static void url_of(char *buf, size_t n, const char *path)
{
	snprintf(buf, n, "http://127.0.0.1:%d%s", server_port, path);
}

/* How many requests the server saw for path. */
static int count_of(const char *path)
{
	char url[256], what[300];
	url_of(url, sizeof(url), "/count");
	snprintf(what, sizeof(what), "%s%s", url, path);
	struct httpc_request req = {.method = "GET", .url = what, .what = "count", .max_attempts = 1};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int n = -1;
	if (httpc_perform(&resp, &req, &err) == 0 && resp.status == 200 && resp.body.p)
		n = (int)strtol(resp.body.p, NULL, 10);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
	return n;
}

#define NEED_SERVER() require(server() > 0, "the python3 test server did not start (" PYTHON ")")

static void test_httpc__retry_after_then_ok(void)
{
	NEED_SERVER();
	char url[256];
	url_of(url, sizeof(url), "/flaky/a");
	/* a backoff of 10 ms: only the server's Retry-After: 1 explains a wait of a second */
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET flaky", .max_attempts = 3,
				    .backoff_ms = 10, .backoff_max_ms = 5000};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	double t0 = now_s();
	int rc = httpc_perform(&resp, &req, &err);
	double waited = now_s() - t0;
	check(rc == 0, "rc %d: %s", rc, err.detail);
	check(resp.status == 200, "status %ld", resp.status);
	check(resp.attempts == 2, "attempts %d", resp.attempts);
	check(resp.body.p && !strcmp(resp.body.p, "ok"), "body '%s'", resp.body.p ? resp.body.p : "(none)");
	check(waited >= 0.9 && waited < 4, "waited %.2f s for Retry-After: 1", waited);
	check(count_of("/flaky/a") == 2, "server saw %d requests", count_of("/flaky/a"));
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__retry_after_capped(void)
{
	NEED_SERVER();
	char url[256];
	url_of(url, sizeof(url), "/flaky/capped");
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET flaky", .max_attempts = 2,
				    .backoff_ms = 10, .backoff_max_ms = 200};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	double t0 = now_s();
	int rc = httpc_perform(&resp, &req, &err);
	double waited = now_s() - t0;
	check(rc == 0 && resp.status == 200 && resp.attempts == 2, "rc %d status %ld attempts %d", rc, resp.status,
	      resp.attempts);
	check(waited < 0.8, "Retry-After: 1 was not capped at 200 ms (%.2f s)", waited);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__client_error_not_retried(void)
{
	NEED_SERVER();
	char url[256];
	url_of(url, sizeof(url), "/status/404/a");
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET 404", .max_attempts = 4,
				    .backoff_ms = 10, .backoff_max_ms = 100};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	check(rc == 0, "an answer is not an error of httpc: rc %d %s", rc, err.detail);
	check(resp.status == 404 && resp.attempts == 1, "status %ld attempts %d", resp.status, resp.attempts);
	check(resp.body.p && !strcmp(resp.body.p, "status 404"), "the error body is kept");
	check(count_of("/status/404/a") == 1, "server saw %d requests", count_of("/status/404/a"));
	check(!httpc_retryable_status(404) && !httpc_retryable_status(400) && httpc_retryable_status(408) &&
		      httpc_retryable_status(429) && httpc_retryable_status(502),
	      "retryable statuses");
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__server_error_stops_after_max_attempts(void)
{
	NEED_SERVER();
	char url[256];
	url_of(url, sizeof(url), "/status/500/a");
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET 500", .max_attempts = 3,
				    .backoff_ms = 10, .backoff_max_ms = 100};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	check(rc == 0, "rc %d %s", rc, err.detail);
	check(resp.status == 500 && resp.attempts == 3, "status %ld attempts %d", resp.status, resp.attempts);
	check(count_of("/status/500/a") == 3, "server saw %d requests", count_of("/status/500/a"));
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__body_over_limit(void)
{
	NEED_SERVER();
	/* announced by Content-Length (refused up front), and only seen while reading */
	const char *paths[] = {"/big/5000", "/stream/5000"};
	for (size_t i = 0; i < 2; i++) {
		char url[256];
		url_of(url, sizeof(url), paths[i]);
		struct httpc_request req = {.method = "GET", .url = url, .what = "GET big", .fail_code = BO_ESTORAGE,
					    .max_body = 1000, .max_attempts = 3, .backoff_ms = 10};
		struct httpc_response resp = {0};
		struct bo_error err = BO_ERROR_INIT;
		int rc = httpc_perform(&resp, &req, &err);
		check(rc == BO_ESTORAGE && resp.too_large, "%s: rc %d too_large %d", paths[i], rc, resp.too_large);
		check(strstr(err.detail, "GET big: response larger than 1000 bytes"), "%s: %s", paths[i], err.detail);
		check(resp.attempts == 1, "%s: a body too large is not retried (%d attempts)", paths[i], resp.attempts);
		httpc_response_cleanup(&resp);
		bo_error_cleanup(&err);
	}
	/* a HEAD announces a size but brings no body */
	char head_url[256];
	url_of(head_url, sizeof(head_url), "/big/5000");
	const char *want[] = {"Content-Length", NULL};
	struct httpc_request head = {.method = "HEAD", .url = head_url, .what = "HEAD big", .max_body = 1000,
				     .want_headers = want};
	struct httpc_response hresp = {0};
	struct bo_error herr = BO_ERROR_INIT;
	int hrc = httpc_perform(&hresp, &head, &herr);
	check(hrc == 0 && hresp.status == 200 && !strcmp(hresp.header[0], "5000"), "HEAD: rc %d %s: %s", hrc,
	      hresp.header[0], herr.detail);
	httpc_response_cleanup(&hresp);
	bo_error_cleanup(&herr);
	/* at the limit is fine */
	char url[256];
	url_of(url, sizeof(url), "/stream/1000");
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET big", .max_body = 1000};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	check(rc == 0 && resp.status == 200 && resp.body.len == 1000, "rc %d len %zu: %s", rc, resp.body.len,
	      err.detail);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__no_answer(void)
{
	int port = free_port(); /* nobody listens there */
	require(port > 0, "free port");
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET closed", .fail_code = BO_ESTORAGE,
				    .max_attempts = 2, .backoff_ms = 10, .connect_timeout_s = 5};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	check(rc == BO_ESTORAGE && resp.status == 0 && resp.attempts == 2, "rc %d status %ld attempts %d", rc,
	      resp.status, resp.attempts);
	check(!strncmp(err.detail, "GET closed: ", 12) && strstr(err.detail, " after 1 retries"), "%s", err.detail);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
	/* fail_code 0 is BO_EFETCH, and one attempt says nothing about retries */
	struct httpc_request once = {.method = "GET", .url = url, .what = "GET closed", .connect_timeout_s = 5};
	rc = httpc_perform(&resp, &once, &err);
	check(rc == BO_EFETCH && !strstr(err.detail, "retries"), "rc %d: %s", rc, err.detail);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__headers_and_body_sent(void)
{
	NEED_SERVER();
	char url[256];
	url_of(url, sizeof(url), "/echo");
	const char *headers[] = {"X-Test: yes", "Authorization: Bearer t0k3n", NULL};
	const char *want[] = {"x-reply", "X-Absent", NULL};
	struct httpc_request req = {.method = "PUT", .url = url, .what = "PUT echo", .headers = headers,
				    .body = "hello", .body_len = 5, .want_headers = want};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	require(rc == 0 && resp.status == 200 && resp.body.p, "rc %d status %ld: %s", rc, resp.status, err.detail);
	const char *b = resp.body.p;
	check(!strncmp(b, "PUT /echo\n", 10), "method: %s", b);
	check(strstr(b, "X-Test: yes") && strstr(b, "Authorization: Bearer t0k3n"), "headers: %s", b);
	check(strstr(b, "Content-Length: 5"), "length: %s", b);
	check(!strstr(b, "Expect:") && !strstr(b, "Content-Type:"), "no Expect, no invented Content-Type: %s", b);
	size_t len = strlen(b);
	check(len >= 5 && !strcmp(b + len - 5, "hello"), "body: %s", b);
	check(!strcmp(resp.header[0], "echoed") && resp.header[1][0] == '\0', "captured '%s' '%s'", resp.header[0],
	      resp.header[1]);
	httpc_response_cleanup(&resp);
	/* POST without a body still sends an (empty) one; HEAD reads no body */
	struct httpc_request post = {.method = "POST", .url = url, .what = "POST echo"};
	rc = httpc_perform(&resp, &post, &err);
	check(rc == 0 && resp.body.p && strstr(resp.body.p, "Content-Length: 0"), "POST: %s",
	      resp.body.p ? resp.body.p : err.detail);
	httpc_response_cleanup(&resp);
	struct httpc_request head = {.method = "HEAD", .url = url, .what = "HEAD echo"};
	rc = httpc_perform(&resp, &head, &err);
	check(rc == 0 && resp.status == 200 && resp.body.len == 0, "HEAD: rc %d len %zu", rc, resp.body.len);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

struct stream {
	const char *data;
	size_t len, pos;
	struct buf got;
	int attempts_seen;
	const char *line[2];
	char header[32];
	int fail_at;
};

static size_t stream_read(void *ctx, char *buf, size_t n)
{
	struct stream *s = ctx;
	size_t k = s->len - s->pos < n ? s->len - s->pos : n;
	memcpy(buf, s->data + s->pos, k);
	s->pos += k;
	return k;
}

static int stream_sink(void *ctx, long status, const void *p, size_t n)
{
	struct stream *s = ctx;
	return status == 200 ? buf_addn(&s->got, p, n) : -1;
}

static int stream_before(void *ctx, struct httpc_request *req, int attempt, struct bo_error *err)
{
	struct stream *s = ctx;
	s->attempts_seen = attempt;
	s->pos = 0;
	if (attempt == s->fail_at)
		return bo_error_set(err, BO_EINTERNAL, "hook refused attempt %d", attempt);
	snprintf(s->header, sizeof(s->header), "X-Attempt: %d", attempt);
	s->line[0] = s->header;
	s->line[1] = NULL;
	req->headers = s->line;
	return 0;
}

static void test_httpc__stream_sink_and_hook(void)
{
	NEED_SERVER();
	char url[256];
	/* a streamed PUT body, the answer into a sink, a header per attempt */
	url_of(url, sizeof(url), "/echo");
	struct stream s = {.data = "streamed bytes", .len = 14};
	struct httpc_request req = {.method = "PUT", .url = url, .what = "PUT echo", .read = stream_read,
				    .read_len = 14, .sink = stream_sink, .before_attempt = stream_before, .ctx = &s};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	check(rc == 0 && resp.status == 200, "rc %d status %ld: %s", rc, resp.status, err.detail);
	check(resp.body.len == 0, "a 2xx body goes to the sink only (%zu in body)", resp.body.len);
	check(s.got.p && strstr(s.got.p, "X-Attempt: 1") && strstr(s.got.p, "Content-Length: 14"), "sink: %s",
	      s.got.p ? s.got.p : "(none)");
	check(s.got.p && s.got.len >= 14 && !memcmp(s.got.p + s.got.len - 14, "streamed bytes", 14), "body sent");
	buf_free(&s.got);
	httpc_response_cleanup(&resp);
	/* retried: the hook runs before each attempt; a non-2xx body is not the sink's */
	url_of(url, sizeof(url), "/flaky/hook");
	struct stream s2 = {0};
	struct httpc_request req2 = {.method = "GET", .url = url, .what = "GET flaky", .sink = stream_sink,
				     .before_attempt = stream_before, .ctx = &s2, .max_attempts = 2,
				     .backoff_ms = 10, .backoff_max_ms = 100};
	rc = httpc_perform(&resp, &req2, &err);
	check(rc == 0 && resp.status == 200 && s2.attempts_seen == 2, "rc %d status %ld hook saw %d", rc, resp.status,
	      s2.attempts_seen);
	check(s2.got.p && !strcmp(s2.got.p, "ok"), "sink got '%s'", s2.got.p ? s2.got.p : "(none)");
	buf_free(&s2.got);
	httpc_response_cleanup(&resp);
	/* a hook that fails ends the call before anything is sent */
	url_of(url, sizeof(url), "/status/200/hook");
	struct stream s3 = {.fail_at = 1};
	struct httpc_request req3 = {.method = "GET", .url = url, .what = "GET", .before_attempt = stream_before,
				     .ctx = &s3};
	rc = httpc_perform(&resp, &req3, &err);
	check(rc == BO_EINTERNAL && strstr(err.detail, "hook refused attempt 1"), "rc %d: %s", rc, err.detail);
	check(count_of("/status/200/hook") == 0, "sent despite the hook");
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static int refuse_all(void *ctx, const char *ip)
{
	snprintf(ctx, 64, "%s", ip);
	return 0;
}

static void test_httpc__refused_address(void)
{
	NEED_SERVER();
	char url[256], seen[64] = "";
	url_of(url, sizeof(url), "/status/200/refused");
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET refused", .max_attempts = 3,
				    .backoff_ms = 10, .allow_address = refuse_all, .ctx = seen};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = httpc_perform(&resp, &req, &err);
	check(rc == BO_EFETCH && resp.attempts == 1, "rc %d attempts %d (a refusal is not retried)", rc, resp.attempts);
	check(!strcmp(seen, "127.0.0.1"), "asked about '%s'", seen);
	check(count_of("/status/200/refused") == 0, "the request reached the server");
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

/* libcurl's allocators (curl_global_init_mem), passing through unless told to fail the
 * copy of one header line: what curl_slist_append does first. */
static const char *fail_dup_of;

static void *t_malloc(size_t n) { return malloc(n); }
static void t_free(void *p) { free(p); }
static void *t_realloc(void *p, size_t n) { return realloc(p, n); }
static void *t_calloc(size_t n, size_t m) { return calloc(n, m); }
static char *t_strdup(const char *s)
{
	if (fail_dup_of && !strncmp(s, fail_dup_of, strlen(fail_dup_of)))
		return NULL;
	return strdup(s);
}

static void test_httpc__header_oom_is_not_sent(void)
{
	NEED_SERVER();
	char url[256];
	url_of(url, sizeof(url), "/status/200/oom");
	const char *headers[] = {"Accept: application/json", "Authorization: Bearer secret", NULL};
	struct httpc_request req = {.method = "GET", .url = url, .what = "GET oom", .headers = headers,
				    .max_attempts = 3, .backoff_ms = 10};
	struct httpc_response resp = {0};
	struct bo_error err = BO_ERROR_INIT;
	fail_dup_of = "Authorization:";
	int rc = httpc_perform(&resp, &req, &err);
	fail_dup_of = NULL;
	check(rc == BO_ENOMEM && strstr(err.detail, "headers of GET oom"), "rc %d: %s", rc, err.detail);
	check(count_of("/status/200/oom") == 0, "sent without its Authorization");
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
	/* the allocator hook is live: the same call goes out once it stops failing */
	rc = httpc_perform(&resp, &req, &err);
	check(rc == 0 && resp.status == 200 && count_of("/status/200/oom") == 1, "rc %d: %s", rc, err.detail);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void test_httpc__retry_delay(void)
{
	/* 429 honours X-RateLimit-Reset (plus a margin), then Retry-After */
	check(httpc_retry_delay_ms(429, 1003, 0, 1, 1000, 1000, 120000) == 3250, "reset");
	check(httpc_retry_delay_ms(429, 0, 7, 1, 1000, 1000, 120000) == 7000, "retry-after");
	check(httpc_retry_delay_ms(503, 0, 7, 1, 1000, 1000, 120000) == 7000, "retry-after on 503");
	check(httpc_retry_delay_ms(500, 0, 7, 1, 1000, 1000, 120000) == 1000, "not on 500");
	check(httpc_retry_delay_ms(429, 999999, 0, 1, 1000, 1000, 60000) == 60000, "capped");
	check(httpc_retry_delay_ms(503, 0, INT64_MAX, 1, 1000, 1000, 60000) == 60000, "a huge Retry-After capped");
	check(httpc_retry_delay_ms(429, 900, 0, 1, 1000, 1000, 60000) == 100, "a reset in the past waits the minimum");
	/* 5xx and transport errors back off exponentially */
	check(httpc_retry_delay_ms(500, 0, 0, 1, 0, 1000, 120000) == 1000, "1st");
	check(httpc_retry_delay_ms(503, 0, 0, 3, 0, 1000, 120000) == 4000, "3rd");
	check(httpc_retry_delay_ms(0, 0, 0, 30, 0, 1000, 120000) == 120000, "capped");
	check(httpc_retry_delay_ms(0, 0, 0, 1, 0, 100, 102400) == 100, "S3's first");
	check(httpc_retry_delay_ms(0, 0, 0, 12, 0, 100, 102400) == 102400, "S3's cap");
}

static struct check_test tests[] = {
	TEST(test_httpc__retry_after_then_ok),
	TEST(test_httpc__retry_after_capped),
	TEST(test_httpc__client_error_not_retried),
	TEST(test_httpc__server_error_stops_after_max_attempts),
	TEST(test_httpc__body_over_limit),
	TEST(test_httpc__no_answer),
	TEST(test_httpc__headers_and_body_sent),
	TEST(test_httpc__stream_sink_and_hook),
	TEST(test_httpc__refused_address),
	TEST(test_httpc__header_oom_is_not_sent),
	TEST(test_httpc__retry_delay),
};

int main(int argc, char **argv)
{
	curl_global_init_mem(CURL_GLOBAL_DEFAULT, t_malloc, t_free, t_realloc, t_strdup, t_calloc);
	int rc = check_run(argc, argv, tests, sizeof tests / sizeof *tests);
	server_stop();
	curl_global_cleanup();
	return rc;
}

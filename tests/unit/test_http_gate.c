/* Unit tests for http_gate: the header-block check (where the block ends, which
 * Content-Length values go on to libmicrohttpd) and the gate itself on a loopback port:
 * complete headers are handed over with their bytes still unread, a malformed length gets
 * one problem+json answer, a trickling client gets 408 at the deadline, a full table of one
 * address gets 429. */
#include "check.h"

#include "http/http_gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

static int head_rc(const char *s, size_t *len)
{
	struct bo_error e = BO_ERROR_INIT;
	int rc = http_gate_check_head(s, strlen(s), len, &e);
	if (rc)
		check(e.detail[0] != '\0', "no detail for rc %d", rc);
	bo_error_cleanup(&e);
	return rc;
}

static void test_http_gate__head_end(void)
{
	size_t len = 99;
	check(head_rc("GET / HTTP/1.1\r\nHost: x\r\n", &len) == 0 && len == 0, "incomplete: %zu", len);
	check(head_rc("GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY", &len) == 0 && len == 27, "CRLF end: %zu", len);
	check(head_rc("GET / HTTP/1.1\nHost: x\n\nBODY", &len) == 0 && len == 24, "LF end: %zu", len);
	check(head_rc("", &len) == 0 && len == 0, "empty");
	/* a body that looks like headers is not read as headers */
	check(head_rc("POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\nContent-Length: zz\r\n\r\n", &len) == 0 &&
		      len == 39, "body: %zu", len);
}

static void test_http_gate__content_length(void)
{
	size_t len;
	const char *ok[] = {"0", "12", " 12 ", "\t7", "18446744073709551615"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char req[200];
		snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:%s\r\n\r\n", ok[i]);
		check(head_rc(req, &len) == 0 && len > 0, "'%s' refused", ok[i]);
	}
	const char *bad[] = {"12abc", "-1", "0x10", "5, 5", "", " ", "1 2", "+3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char req[200];
		snprintf(req, sizeof(req), "POST / HTTP/1.1\r\ncontent-LENGTH: %s\r\nHost: x\r\n\r\n", bad[i]);
		check(head_rc(req, &len) == BO_EBADREQUEST, "'%s' not refused", bad[i]);
	}
	check(head_rc("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", &len) == BO_ETOOLARGE,
	      "2^64 not refused as too large");
	check(head_rc("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &len) == BO_ETOOLARGE,
	      "huge not refused as too large");
	/* only the header named exactly so; the request line is not a header */
	check(head_rc("POST /Content-Length:x HTTP/1.1\r\nX-Content-Length: abc\r\n\r\n", &len) == 0,
	      "other names checked");
}

/* ---------------------------------------------------------------- the gate on loopback */

struct handed {
	pthread_mutex_t mu;
	int n;
	char first[256];
};

static void on_handoff(void *ctx, int fd, const struct sockaddr *addr, socklen_t len)
{
	(void)addr, (void)len;
	struct handed *h = ctx;
	pthread_mutex_lock(&h->mu);
	h->n++;
	/* the bytes are still there to be read from the first one */
	ssize_t got = recv(fd, h->first, sizeof(h->first) - 1, 0);
	h->first[got > 0 ? got : 0] = '\0';
	pthread_mutex_unlock(&h->mu);
	close(fd);
}

static int dial(uint16_t port, const char *from)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, from, &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	a.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* what the gate answers within ms milliseconds (until it closes) */
static void answer_of(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;
	struct pollfd p = {fd, POLLIN, 0};
	while (n + 1 < len && poll(&p, 1, ms) == 1) {
		ssize_t r = recv(fd, buf + n, len - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
}

static int count(const char *hay, const char *needle)
{
	int k = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

static void test_http_gate__loopback(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct handed h = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};
	struct http_gate_options o = {"127.0.0.1", 0, 8, 3, 700, 4096};
	http_gate *g = NULL;
	require(http_gate_start(&g, &o, on_handoff, &h, &err) == 0, "%s", err.detail);
	uint16_t port = http_gate_port(g);
	check(port != 0, "no port");
	char buf[2048];

	/* a request sent in two pieces is handed over whole, unread */
	int fd = dial(port, "127.0.0.1");
	require(fd >= 0, "dial");
	check(send(fd, "GET /a HTTP/1.1\r\n", 17, 0) == 17, "send");
	usleep(100 * 1000);
	check(send(fd, "Host: x\r\n\r\n", 11, 0) == 11, "send");
	for (int i = 0; i < 100 && !h.n; i++)
		usleep(10 * 1000);
	pthread_mutex_lock(&h.mu);
	check(h.n == 1 && !strcmp(h.first, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "handed %d '%s'", h.n, h.first);
	pthread_mutex_unlock(&h.mu);
	close(fd);

	/* a malformed length: one status line, problem+json, then the connection closes */
	fd = dial(port, "127.0.0.1");
	require(fd >= 0, "dial");
	const char *bad = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}";
	check(send(fd, bad, strlen(bad), 0) == (ssize_t)strlen(bad), "send");
	answer_of(fd, buf, sizeof(buf), 2000);
	check(count(buf, "HTTP/1.1 ") == 1 && !strncmp(buf, "HTTP/1.1 400 ", 13) &&
		      strstr(buf, "application/problem+json") && strstr(buf, "decimal number"),
	      "answer: %s", buf);
	close(fd);

	/* trickling one byte at a time does not extend the deadline */
	fd = dial(port, "127.0.0.1");
	require(fd >= 0, "dial");
	const char *slow = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t k = 0;
	buf[0] = '\0';
	for (; slow[k]; k++) {
		if (send(fd, slow + k, 1, MSG_NOSIGNAL) != 1)
			break;
		answer_of(fd, buf, sizeof(buf), 50);
		if (buf[0])
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	check(!strncmp(buf, "HTTP/1.1 408 ", 13) && strstr(buf, "request-timeout"), "after %zu bytes: '%s'", k, buf);
	check(ms >= 650 && k < strlen(slow), "408 after %.0f ms and %zu bytes", ms, k);
	close(fd);

	/* one address: 3 waiting, the 4th is told so; another address still gets in */
	int held[3];
	for (int i = 0; i < 3; i++) {
		held[i] = dial(port, "127.0.0.3");
		require(held[i] >= 0, "dial");
		check(send(held[i], "GET", 3, 0) == 3, "send");
	}
	usleep(100 * 1000);
	fd = dial(port, "127.0.0.3");
	require(fd >= 0, "dial");
	answer_of(fd, buf, sizeof(buf), 500);
	check(!strncmp(buf, "HTTP/1.1 429 ", 13), "4th from one address: '%s'", buf);
	close(fd);
	fd = dial(port, "127.0.0.4");
	require(fd >= 0, "dial");
	check(send(fd, "GET /b HTTP/1.1\r\n\r\n", 19, 0) == 19, "send");
	for (int i = 0; i < 100 && h.n < 2; i++)
		usleep(10 * 1000);
	check(h.n == 2, "another address not handed over (%d)", h.n);
	close(fd);
	for (int i = 0; i < 3; i++)
		close(held[i]);

	/* a header block past max_head_bytes: 431 */
	fd = dial(port, "127.0.0.1");
	require(fd >= 0, "dial");
	char big[6000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	check(send(fd, big, sizeof(big), 0) == (ssize_t)sizeof(big), "send");
	answer_of(fd, buf, sizeof(buf), 2000);
	check(!strncmp(buf, "HTTP/1.1 431 ", 13), "big: '%.100s'", buf);
	close(fd);
	http_gate_stop(g);
	bo_error_cleanup(&err);
}

static struct check_test tests[] = {
	TEST(test_http_gate__head_end),
	TEST(test_http_gate__content_length),
	TEST(test_http_gate__loopback),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

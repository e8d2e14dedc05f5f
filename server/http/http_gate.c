/* http_gate: see http_gate.h. One thread polls the listening socket and every connection
 * whose first header block is still arriving. It peeks (MSG_PEEK) so MHD later reads the
 * request from the first byte, and sets SO_RCVLOWAT just past what it has seen, so a
 * connection wakes the poll only when new bytes arrive, not on the ones already peeked. */
#include "http/http_gate.h"

#include "common/hex.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct pending {
	int fd;
	struct sockaddr_in addr;
	int64_t since_ms;
	size_t seen; /* bytes peeked so far */
};

struct http_gate {
	struct http_gate_options opt;
	http_gate_handoff handoff;
	void *ctx;
	int lfd;
	int wake[2]; /* written by http_gate_stop */
	uint16_t port;
	pthread_t thread;
	struct pending *p;
	size_t n;
	char *buf; /* max_head_bytes + 1, for one peek at a time */
	struct pollfd *pfd;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- the check */

static const char *find_head_end(const char *buf, size_t n, size_t *len)
{
	/* the empty line: CRLF CRLF, or the bare LFs MHD also accepts */
	for (size_t i = 0; i + 1 < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n') {
			*len = i + 2;
			return buf + i;
		}
		if (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n') {
			*len = i + 3;
			return buf + i;
		}
	}
	return NULL;
}

static int check_length(const char *v, size_t n, struct bo_error *err)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n == 0)
		return bo_error_set(err, BO_EBADREQUEST, "the Content-Length header is empty: give the body's size in bytes");
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return bo_error_set(err, BO_EBADREQUEST,
					    "the Content-Length header is not a decimal number of bytes (RFC 9110 8.6)");
		unsigned d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return bo_error_set(err, BO_ETOOLARGE, "the Content-Length header does not fit 64 bits");
		x = x * 10 + d;
	}
	return 0;
}

int http_gate_check_head(const char *buf, size_t n, size_t *head_len, struct bo_error *err)
{
	*head_len = 0;
	if (!find_head_end(buf, n, head_len))
		return 0;
	static const char name[] = "content-length:";
	const size_t nl = sizeof(name) - 1;
	const char *end = buf + *head_len;
	const char *line = memchr(buf, '\n', *head_len); /* past the request line */
	while (line && line + 1 < end) {
		line++;
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			break;
		if ((size_t)(eol - line) >= nl && !strncasecmp(line, name, nl)) {
			int rc = check_length(line + nl, (size_t)(eol - line) - nl, err);
			if (rc)
				return rc;
		}
		line = eol;
	}
	return 0;
}

/* ---------------------------------------------------------------- answers */

/* A problem+json answer on a connection MHD never saw, then close. The socket is
 * non-blocking and the answer small: what does not fit the send buffer is dropped. */
static void answer(struct pending *p, int code, const char *detail)
{
	struct bo_error e = BO_ERROR_INIT;
	bo_error_set(&e, code, "%s", detail);
	char rid[17];
	unsigned char rnd[8];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	hex_encode(rid, rnd, sizeof(rnd));
	char *body = bo_error_render(&e, NULL, rid);
	int status = bo_error_status(code);
	const char *reason = MHD_get_reason_phrase_for((unsigned)status);
	char head[512];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nContent-Length: %zu\r\n"
			  "X-Request-Id: %s\r\nConnection: close\r\n\r\n",
			  status, reason && *reason ? reason : bo_error_title(code), body ? strlen(body) : 0, rid);
	unsigned long long sent = 0;
	if (hn > 0 && (size_t)hn < sizeof(head)) {
		ssize_t w = send(p->fd, head, (size_t)hn, MSG_NOSIGNAL);
		if (w == hn && body) {
			ssize_t b = send(p->fd, body, strlen(body), MSG_NOSIGNAL);
			sent = b > 0 ? (unsigned long long)b : 0;
		}
	}
	log_access(rid, "-", "-", status, (unsigned long long)p->seen, sent, (double)(now_ms() - p->since_ms));
	/* unread bytes make close() send a reset, which can make the client drop the answer
	 * before reading it: end our side, then consume what the client already sent */
	shutdown(p->fd, SHUT_WR);
	for (int k = 0; k < 64 && recv(p->fd, head, sizeof(head), 0) > 0; k++)
		;
	free(body);
	bo_error_cleanup(&e);
}

static void drop(http_gate *g, size_t i)
{
	close(g->p[i].fd);
	g->p[i] = g->p[--g->n];
}

/* ---------------------------------------------------------------- the loop */

/* 1: the connection left the table (handed over, answered or gone), 0: still waiting */
static int step(http_gate *g, size_t i, int64_t now)
{
	struct pending *p = &g->p[i];
	ssize_t got = recv(p->fd, g->buf, g->opt.max_head_bytes + 1, MSG_PEEK);
	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		drop(g, i);
		return 1;
	}
	if (got > 0)
		p->seen = (size_t)got;
	struct bo_error e = BO_ERROR_INIT;
	size_t head = 0;
	int rc = http_gate_check_head(g->buf, p->seen, &head, &e);
	if (rc) {
		answer(p, rc, e.detail);
		bo_error_cleanup(&e);
		drop(g, i);
		return 1;
	}
	if (head) {
		int one = 1;
		setsockopt(p->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		g->handoff(g->ctx, p->fd, (const struct sockaddr *)&p->addr, sizeof(p->addr));
		g->p[i] = g->p[--g->n];
		return 1;
	}
	if (p->seen > g->opt.max_head_bytes) {
		char d[160];
		snprintf(d, sizeof(d), "the request's header block exceeds %zu bytes", g->opt.max_head_bytes);
		answer(p, BO_EHEADERS, d);
		drop(g, i);
		return 1;
	}
	if (now - p->since_ms >= g->opt.header_timeout_ms) {
		char d[160];
		snprintf(d, sizeof(d), "the request's headers did not arrive within %d ms of connecting",
			 g->opt.header_timeout_ms);
		answer(p, BO_ETIMEOUT, d);
		drop(g, i);
		return 1;
	}
	int low = (int)p->seen + 1;
	setsockopt(p->fd, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof(low));
	return 0;
}

static int same_ip_pending(const http_gate *g, const struct sockaddr_in *a)
{
	int k = 0;
	for (size_t i = 0; i < g->n; i++)
		k += g->p[i].addr.sin_addr.s_addr == a->sin_addr.s_addr;
	return k;
}

static void accept_new(http_gate *g, int64_t now)
{
	while (g->n < (size_t)g->opt.max_pending) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int fd = accept4(g->lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("http: accept");
			return;
		}
		struct pending p = {fd, a, now, 0};
		if (g->opt.per_ip_max > 0 && same_ip_pending(g, &a) >= g->opt.per_ip_max) {
			answer(&p, BO_ERATELIMITED, "too many connections from your address are still sending headers");
			close(fd);
			continue;
		}
		g->p[g->n++] = p;
	}
}

static void *gate_main(void *arg)
{
	http_gate *g = arg;
	for (;;) {
		int64_t now = now_ms();
		int timeout = -1;
		size_t np = 0;
		g->pfd[np++] = (struct pollfd){g->wake[0], POLLIN, 0};
		/* a full table leaves new connections in the kernel's backlog */
		g->pfd[np++] = (struct pollfd){g->n < (size_t)g->opt.max_pending ? g->lfd : -1, POLLIN, 0};
		for (size_t i = 0; i < g->n; i++) {
			g->pfd[np++] = (struct pollfd){g->p[i].fd, POLLIN, 0};
			int64_t left = g->p[i].since_ms + g->opt.header_timeout_ms - now;
			if (left < 0)
				left = 0;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		int r = poll(g->pfd, np, timeout);
		if (r < 0 && errno != EINTR) {
			log_warn("http: gate poll");
			sleep(1);
			continue;
		}
		if (g->pfd[0].revents)
			break;
		now = now_ms();
		/* walk the pollfds of this round by fd: step() reorders the table */
		for (size_t k = 2; k < np; k++) {
			int fd = g->pfd[k].fd;
			for (size_t i = 0; i < g->n; i++) {
				if (g->p[i].fd != fd)
					continue;
				if (g->pfd[k].revents || now - g->p[i].since_ms >= g->opt.header_timeout_ms)
					step(g, i, now);
				break;
			}
		}
		if (g->pfd[1].revents)
			accept_new(g, now);
	}
	return NULL;
}

/* ---------------------------------------------------------------- start, stop */

int http_gate_start(http_gate **out, const struct http_gate_options *opt, http_gate_handoff handoff,
		    void *ctx, struct bo_error *err)
{
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)opt->port);
	if (inet_pton(AF_INET, opt->listen, &addr.sin_addr) != 1)
		return bo_error_set(err, BO_EBADREQUEST, "listen: '%s' is not an IPv4 address", opt->listen);
	http_gate *g = calloc(1, sizeof(*g));
	if (!g)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	g->opt = *opt;
	g->handoff = handoff;
	g->ctx = ctx;
	g->lfd = g->wake[0] = g->wake[1] = -1;
	int rc = BO_ENOMEM;
	g->p = calloc((size_t)opt->max_pending, sizeof(*g->p));
	g->pfd = calloc((size_t)opt->max_pending + 2, sizeof(*g->pfd));
	g->buf = malloc(opt->max_head_bytes + 1);
	if (!g->p || !g->pfd || !g->buf) {
		bo_error_set(err, rc, "out of memory");
		goto fail;
	}
	rc = BO_EINTERNAL;
	int one = 1;
	g->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->lfd < 0 || setsockopt(g->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(g->lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(g->lfd, 512)) {
		bo_error_set(err, rc, "cannot listen on %s:%d (port in use?): %s", opt->listen, opt->port,
			     strerror(errno));
		goto fail;
	}
	socklen_t al = sizeof(addr);
	if (getsockname(g->lfd, (struct sockaddr *)&addr, &al) == 0)
		g->port = ntohs(addr.sin_port);
	if (pipe2(g->wake, O_CLOEXEC)) {
		bo_error_set(err, rc, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&g->thread, NULL, gate_main, g)) {
		bo_error_set(err, rc, "cannot start the HTTP gate's thread");
		goto fail;
	}
	*out = g;
	return 0;
fail:
	if (g->lfd >= 0)
		close(g->lfd);
	if (g->wake[0] >= 0)
		close(g->wake[0]), close(g->wake[1]);
	free(g->p);
	free(g->pfd);
	free(g->buf);
	free(g);
	return rc;
}

uint16_t http_gate_port(const http_gate *g) { return g->port; }

void http_gate_stop(http_gate *g)
{
	if (!g)
		return;
	ssize_t w = write(g->wake[1], "x", 1);
	(void)w;
	pthread_join(g->thread, NULL);
	for (size_t i = 0; i < g->n; i++)
		close(g->p[i].fd);
	close(g->lfd);
	close(g->wake[0]);
	close(g->wake[1]);
	free(g->p);
	free(g->pfd);
	free(g->buf);
	free(g);
}

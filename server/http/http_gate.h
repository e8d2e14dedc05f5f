/* http_gate: the listening socket in front of libmicrohttpd. A new connection waits here,
 * without a thread of its own, until the header block of its first request has arrived;
 * only then is it handed to MHD (MHD_add_connection), which gives it a thread.
 *
 * Why it exists, for what MHD 0.9.75 (Debian 12) cannot do itself:
 * - an absolute deadline for the header block that trickled bytes do not extend (MHD's
 *   connection timeout is an idle timeout): slowloris clients hold one slot of the gate's
 *   table each, never a thread, and per address at most per_ip_max of them;
 * - problem+json for a malformed or oversized Content-Length, which MHD answers with its
 *   status line and headers written twice (a response a proxy in front would misread).
 * Later requests on a kept-alive connection are MHD's alone; http.c checks their framing. */
#ifndef BO_HTTP_GATE_H
#define BO_HTTP_GATE_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct http_gate http_gate;

struct http_gate_options {
	const char *listen;       /* IPv4 address */
	int port;                 /* 0 = any free port */
	int max_pending;          /* connections waiting for their header block at once */
	int per_ip_max;           /* of those, from one address */
	int header_timeout_ms;    /* from accept to the end of the header block */
	size_t max_head_bytes;    /* header block larger than this: 431 */
};

/* Takes the connection (fd is non-blocking, its first request's header block is in the
 * socket's receive queue). Owns fd from the call on, also when it fails. */
typedef void (*http_gate_handoff)(void *ctx, int fd, const struct sockaddr *addr, socklen_t len);

/* Binds, listens and starts the gate's thread. Returns 0, BO_EBADREQUEST (bad address),
 * BO_EINTERNAL (cannot listen: the port in use) or BO_ENOMEM. */
int http_gate_start(http_gate **out, const struct http_gate_options *opt, http_gate_handoff handoff,
		    void *ctx, struct bo_error *err);

/* The port it listens on (the bound one when opt->port was 0). */
uint16_t http_gate_port(const http_gate *g);

/* Stops accepting, closes the connections still waiting, joins the thread. NULL is fine. */
void http_gate_stop(http_gate *g);

/* The header block at the start of buf[0..n): *head_len is its length with the empty line
 * that ends it, 0 while it is incomplete. Returns 0 when it may go to MHD,
 * BO_EBADREQUEST (a Content-Length that is not a decimal number) or BO_ETOOLARGE (one
 * that does not fit 64 bits), with a one-line detail in err. Pure; exposed for tests. */
int http_gate_check_head(const char *buf, size_t n, size_t *head_len, struct bo_error *err);

#endif

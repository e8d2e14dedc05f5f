/* httpc: the one retrying libcurl call behind every outgoing HTTP request (Zenodo, S3,
 * package URLs). It owns the header list (never sends a request that lost a header),
 * retries transport errors, 408, 429 and 5xx with bounded exponential backoff or the
 * server's Retry-After, bounds the response body, and checks the no-I/O-in-a-write-
 * transaction rule (db.h) before every attempt. What a status means is the caller's:
 * httpc only says which answer came. */
#ifndef BO_HTTPC_H
#define BO_HTTPC_H

#include "common/buf.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;

/* Response headers one call may capture, and the bytes kept of each value (NUL included;
 * longer values are cut). */
#define HTTPC_WANT_MAX 4
#define HTTPC_VALUE_MAX 256
/* Bytes kept of a non-2xx body when a sink takes the 2xx ones: enough for an error
 * document, and an error page never costs the memory a download would. */
#define HTTPC_ERROR_BODY_MAX (64u << 10)
/* What a read callback returns to end the call. */
#define HTTPC_READ_ABORT ((size_t)-1)

struct httpc_request {
	const char *method; /* "GET", "HEAD", "PUT", "POST", "DELETE", ... */
	const char *url;    /* http:// or https:// only */
	const char *what;   /* required: names the call in messages and logs ("S3 PUT a/b") */
	int fail_code;      /* BO_E code when no answer came; 0 = BO_EFETCH */
	/* "Name: value" lines, NULL-terminated (NULL = none), read again before every attempt
	 * (so before_attempt may point it elsewhere). "Expect:" is always added (no 100-continue
	 * round trip) and "Content-Type:" when none is given (libcurl's form type never goes). */
	const char *const *headers;

	/* The body: a buffer (sent with a Content-Length; POST and PUT always send one, empty
	 * when body is NULL), or a stream of read_len bytes from read. */
	const void *body;
	size_t body_len;
	size_t (*read)(void *ctx, char *buf, size_t n); /* bytes, 0 at the end, or HTTPC_READ_ABORT */
	int (*seek)(void *ctx, uint64_t offset);        /* optional: 0, or -1 when it cannot */
	uint64_t read_len;

	/* The answer. 2xx bodies go to sink when it is set (status is the answer's; nonzero
	 * stops the call), everything else to resp->body. No body may pass max_body bytes
	 * (0 = no bound): over it the call fails (libcurl also refuses a larger Content-Length
	 * up front). */
	int (*sink)(void *ctx, long status, const void *p, size_t n);
	size_t max_body;
	const char *const *want_headers; /* names captured into resp->header[i], NULL-terminated */

	/* Retries: attempt n+1 waits backoff_ms * 2^(n-1), Retry-After (429, 503) or
	 * X-RateLimit-Reset (429, unix seconds), never more than backoff_max_ms nor less than
	 * 100 ms. */
	int max_attempts; /* 1 = no retry; less counts as 1 */
	long backoff_ms, backoff_max_ms;
	/* Called before every attempt (1-based), after the previous answer was dropped: resets
	 * the caller's per-attempt state (a rewound file, a digest) and may change req->headers
	 * (S3 signs each attempt again). Returns 0 or a BO_E code with err set, which ends the
	 * call. */
	int (*before_attempt)(void *ctx, struct httpc_request *req, int attempt, struct bo_error *err);

	/* Connection, per attempt; 0 = libcurl's default (none for the last two). */
	long connect_timeout_s;
	long stall_timeout_s; /* fails an attempt that moves no byte for this long */
	long timeout_s;       /* the whole attempt */
	int max_redirects;    /* 0 = redirects are answers; else followed, to http(s) only */
	const char *user_agent;
	CURLSH *share;        /* connections and DNS shared between calls; NULL = none */
	/* Asked before each connection (redirects included) with the peer's address as text
	 * ("" for an unknown family): 0 refuses it, before any byte is sent. NULL = any. */
	int (*allow_address)(void *ctx, const char *ip);
	void *ctx; /* for every callback above */
};

/* Filled by httpc_perform; zeroed before the first call; httpc_response_cleanup frees. */
struct httpc_response {
	long status;    /* of the last answer; 0 = none came */
	int attempts;   /* attempts made */
	int too_large;  /* the call failed because a body passed max_body */
	struct buf body; /* the last answer's body (see sink) */
	char header[HTTPC_WANT_MAX][HTTPC_VALUE_MAX]; /* values of want_headers; "" = absent */
};

/* Performs req, retrying transient failures until req->max_attempts. Returns 0 when an
 * answer came (resp->status, any status: the caller judges it; a retryable one means the
 * attempts ran out). Otherwise, with err set:
 *   fail_code  no answer came: "<what>: <libcurl's message>", " after N retries" added when
 *              it was retried (a refused address, a stopped read or sink, and errors that
 *              cannot pass are not retried); also a body over max_body (resp->too_large),
 *              "<what>: response larger than N bytes"
 *   BO_ENOMEM  (headers, body), never sending a request that lost a header
 *   or what before_attempt returned.
 * resp->body and header[] describe the last answer either way. */
int httpc_perform(struct httpc_response *resp, struct httpc_request *req, struct bo_error *err);

/* Frees resp's body and zeroes it. */
void httpc_response_cleanup(struct httpc_response *resp);

/* Whether httpc retries an answer with this status: 408, 429 and 5xx. */
int httpc_retryable_status(long status);

/* Milliseconds to wait before attempt number attempt + 1 after an answer with status
 * (0 = none came): 429 waits until ratelimit_reset (unix seconds; 0 = absent) plus 250 ms,
 * 429 and 503 wait retry_after seconds (0 = absent), else first_ms * 2^(attempt-1);
 * everything capped at max_ms and at least 100 ms. */
long httpc_retry_delay_ms(long status, int64_t ratelimit_reset, int64_t retry_after, int attempt, int64_t now,
			  long first_ms, long max_ms);

#endif

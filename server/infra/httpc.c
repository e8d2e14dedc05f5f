/* httpc: one libcurl easy handle per call, reset for each attempt; the header list is
 * rebuilt from the caller's lines before every attempt and the attempt is not made unless
 * every line made it in. Invariant: no attempt starts while this thread holds the
 * database write lock (db_assert_no_write_tx), and no body grows past its bound. */
#include "infra/httpc.h"

#include "common/error.h"
#include "common/log.h"
#include "infra/db.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* The state of one attempt, which the libcurl callbacks share. */
struct attempt {
	struct httpc_request *req;
	struct httpc_response *resp;
	CURL *curl;
	size_t body_bytes;      /* of the current answer, over max_body fails */
	int64_t retry_after;     /* seconds; 0 = absent */
	int64_t ratelimit_reset; /* unix seconds; 0 = absent */
	int too_large, oom, refused, read_aborted;
};

/* ---- delays ------------------------------------------------------------------------ */

int httpc_retryable_status(long status) { return status == 408 || status == 429 || status >= 500; }

long httpc_retry_delay_ms(long status, int64_t ratelimit_reset, int64_t retry_after, int attempt, int64_t now,
			  long first_ms, long max_ms)
{
	int64_t ms;
	int64_t cap_s = max_ms / 1000 + 1; /* keeps the products below from overflowing */
	if (status == 429 && ratelimit_reset > 0)
		ms = (ratelimit_reset - now > cap_s ? cap_s : ratelimit_reset - now) * 1000 + 250; /* the window turns over at that second */
	else if ((status == 429 || status == 503) && retry_after > 0)
		ms = (retry_after > cap_s ? cap_s : retry_after) * 1000;
	else {
		ms = first_ms;
		for (int i = 1; i < attempt && ms < max_ms; i++)
			ms *= 2;
	}
	if (ms > max_ms)
		ms = max_ms;
	if (ms < 100)
		ms = 100;
	return (long)ms;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- libcurl callbacks ------------------------------------------------------------- */

/* value [v, v+vl) as an integer of seconds; 0 when it is not one (an HTTP date in
 * Retry-After is not honoured: the backoff applies). */
static int64_t seconds(const char *v, size_t vl)
{
	int64_t n = 0;
	if (!vl)
		return 0;
	for (size_t i = 0; i < vl; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		if (n < INT64_MAX / 100)
			n = n * 10 + (v[i] - '0');
	}
	return n;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct attempt *a = ud;
	size_t len = size * n;
	if (len >= 5 && !memcmp(buf, "HTTP/", 5)) { /* a new answer (after 100-continue, a redirect) */
		memset(a->resp->header, 0, sizeof(a->resp->header));
		a->retry_after = a->ratelimit_reset = 0;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t nl = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (nl == 11 && !strncasecmp(buf, "Retry-After", 11))
		a->retry_after = seconds(v, vl);
	else if (nl == 17 && !strncasecmp(buf, "X-RateLimit-Reset", 17))
		a->ratelimit_reset = seconds(v, vl);
	const char *const *want = a->req->want_headers;
	for (int i = 0; want && want[i] && i < HTTPC_WANT_MAX; i++) {
		if (strlen(want[i]) != nl || strncasecmp(buf, want[i], nl))
			continue;
		size_t k = vl < HTTPC_VALUE_MAX - 1 ? vl : HTTPC_VALUE_MAX - 1;
		memcpy(a->resp->header[i], v, k);
		a->resp->header[i][k] = '\0';
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct attempt *a = ud;
	const struct httpc_request *req = a->req;
	size_t len = size * n;
	long status = 0;
	if (req->max_body && len > req->max_body - a->body_bytes) {
		a->too_large = 1;
		return 0;
	}
	a->body_bytes += len;
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (req->sink && status >= 200 && status < 300)
		return req->sink(req->ctx, status, p, len) ? 0 : len;
	size_t keep = len;
	if (req->sink) /* an error page next to a download: the start says enough */
		keep = a->resp->body.len >= HTTPC_ERROR_BODY_MAX ? 0
		       : len < HTTPC_ERROR_BODY_MAX - a->resp->body.len ? len
									: HTTPC_ERROR_BODY_MAX - a->resp->body.len;
	if (keep && buf_addn(&a->resp->body, p, keep)) {
		a->oom = 1;
		return 0;
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct attempt *a = ud;
	size_t got = a->req->read(a->req->ctx, buf, size * n);
	if (got == HTTPC_READ_ABORT) {
		a->read_aborted = 1;
		return CURL_READFUNC_ABORT;
	}
	return got;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct attempt *a = ud;
	if (origin != SEEK_SET || off < 0 || a->req->seek(a->req->ctx, (uint64_t)off))
		return CURL_SEEKFUNC_CANTSEEK;
	return CURL_SEEKFUNC_OK;
}

static int allowed(struct attempt *a, const char *ip)
{
	if (a->req->allow_address(a->req->ctx, ip))
		return 1;
	a->refused = 1;
	return 0;
}

/* libcurl asks for every socket it would connect (each address of each hop): a refused
 * address is turned down before any packet leaves, so a closed and an open port of it
 * look the same. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *address)
{
	char ip[INET6_ADDRSTRLEN] = "";
	(void)purpose;
	if (address->family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)&address->addr)->sin_addr, ip, sizeof(ip));
	else if (address->family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)&address->addr)->sin6_addr, ip,
			  sizeof(ip));
	if (!allowed(ud, ip))
		return CURL_SOCKET_BAD;
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* After each connection is made, before the request is sent: the second look, should a
 * connection ever be made without on_open_socket. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
		     int conn_local_port)
{
	(void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
	return allowed(ud, conn_primary_ip) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

/* ---- one attempt ------------------------------------------------------------------- */

/* The caller's lines plus ours, all or nothing: a list that lost a line (say the
 * Authorization) is never sent. */
static int build_headers(struct curl_slist **out, const struct httpc_request *req, struct bo_error *err)
{
	struct curl_slist *list = NULL, *more;
	int has_type = 0;
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		has_type |= !strncasecmp(req->headers[i], "Content-Type:", 13);
		if (!(more = curl_slist_append(list, req->headers[i])))
			goto oom;
		list = more;
	}
	if (!(more = curl_slist_append(list, "Expect:")))
		goto oom;
	list = more;
	if (!has_type) {
		if (!(more = curl_slist_append(list, "Content-Type:")))
			goto oom;
		list = more;
	}
	*out = list;
	return 0;
oom:
	curl_slist_free_all(list);
	return bo_error_set(err, BO_ENOMEM, "out of memory building the headers of %s", req->what);
}

static void set_method(CURL *h, const struct httpc_request *req, struct attempt *a)
{
	const char *m = req->method;
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (req->read) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		/* a Content-Length, not chunked: a bucket wants the size up front */
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->read_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, a);
		if (req->seek) {
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, a);
		}
		if (strcmp(m, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	} else if (req->body || !strcmp(m, "POST") || !strcmp(m, "PUT")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(m, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
}

static void set_options(CURL *h, const struct httpc_request *req, struct attempt *a, struct curl_slist *hl,
			char *errbuf)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	if (req->connect_timeout_s > 0)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req->connect_timeout_s);
	if (req->stall_timeout_s > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->stall_timeout_s);
	}
	if (req->timeout_s > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
	if (req->max_redirects > 0) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)req->max_redirects);
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	/* the Content-Length of a HEAD is the resource's size, not a body coming */
	if (req->max_body && strcmp(req->method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_body);
	if (req->user_agent)
		curl_easy_setopt(h, CURLOPT_USERAGENT, req->user_agent);
	if (req->share)
		curl_easy_setopt(h, CURLOPT_SHARE, req->share);
	if (req->allow_address) {
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, a);
		curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
		curl_easy_setopt(h, CURLOPT_PREREQDATA, a);
	}
	set_method(h, req, a);
}

/* Transport failures another attempt cannot mend: ours (memory, a callback that
 * stopped, a body past its bound) and a URL libcurl will never take. */
static int transport_retryable(CURLcode cc, const struct attempt *a)
{
	if (a->refused || a->read_aborted)
		return 0;
	switch (cc) {
	case CURLE_OUT_OF_MEMORY:
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return 0;
	default:
		return 1;
	}
}

/* ---- the call ---------------------------------------------------------------------- */

int httpc_perform(struct httpc_response *resp, struct httpc_request *req, struct bo_error *err)
{
	int rc;
	struct curl_slist *hl = NULL;
	char errbuf[CURL_ERROR_SIZE];
	int max_attempts = req->max_attempts > 1 ? req->max_attempts : 1;
	int fail_code = req->fail_code ? req->fail_code : BO_EFETCH;
	CURL *h = curl_easy_init();
	if (!h)
		return bo_error_set(err, BO_ENOMEM, "out of memory starting %s", req->what);
	for (int attempt = 1;; attempt++) {
		struct attempt a = {.req = req, .resp = resp, .curl = h};
		resp->status = 0;
		resp->attempts = attempt;
		resp->too_large = 0;
		buf_free(&resp->body);
		memset(resp->header, 0, sizeof(resp->header));
		if (req->before_attempt) {
			rc = req->before_attempt(req->ctx, req, attempt, err);
			if (rc)
				goto fail;
		}
		curl_slist_free_all(hl);
		hl = NULL;
		rc = build_headers(&hl, req, err);
		if (rc)
			goto fail;
		errbuf[0] = '\0';
		set_options(h, req, &a, hl, errbuf);
		db_assert_no_write_tx(req->what);
		CURLcode cc = curl_easy_perform(h);
		if (a.oom) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory reading the answer to %s", req->what);
			goto fail;
		}
		if (a.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
			resp->too_large = 1;
			rc = bo_error_set(err, fail_code, "%s: response larger than %zu bytes", req->what, req->max_body);
			goto fail;
		}
		long status = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
		int again = cc == CURLE_OK ? httpc_retryable_status(status) : transport_retryable(cc, &a);
		if (!again || attempt >= max_attempts) {
			rc = 0;
			if (cc != CURLE_OK && attempt > 1)
				rc = bo_error_set(err, fail_code, "%s: %s after %d retries", req->what, why, attempt - 1);
			else if (cc != CURLE_OK)
				rc = bo_error_set(err, fail_code, "%s: %s", req->what, why);
			goto fail;
		}
		long ms = httpc_retry_delay_ms(status, a.ratelimit_reset, a.retry_after, attempt, (int64_t)time(NULL),
					       req->backoff_ms, req->backoff_max_ms);
		char said[32];
		snprintf(said, sizeof(said), "HTTP %ld", status);
		log_warnx("%s: %s; retry %d/%d in %ld ms", req->what, cc == CURLE_OK ? said : why, attempt,
			  max_attempts - 1, ms);
		sleep_ms(ms);
	}
fail:
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return rc;
}

void httpc_response_cleanup(struct httpc_response *resp)
{
	if (!resp)
		return;
	buf_free(&resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* fuzz_multipart: multipart/form-data bodies as the upload route reads them. The input is
 * the body of one POST with a fixed boundary (`fuzzboundary`), sent over a loopback TCP
 * connection to an in-process libmicrohttpd daemon (the library and version the server
 * uses); its handler feeds the body to MHD's post processor, as server/http/http.c does, and
 * every chunk the processor reports to form_take (server/http/form.h), the upload form's rules.
 *
 * Contracts checked: form_take's result is a form_chunk or BO_EBADREQUEST with a detail
 * (fuzz_check_error); a 'package' chunk continues at the offset the bytes so far reach, so
 * what the caller stores is the part's bytes in order; package_bytes is the sum of the
 * package chunks; the id never reaches FORM_ID_MAX bytes and form_id gives exactly the
 * bytes taken; after an error nothing else is taken (the caller ignores the rest). The
 * daemon answers every input (no hang, no crash) and the next input gets a fresh state. */
#include "harness.h"

#include "common/error.h"
#include "http/form.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BOUNDARY "fuzzboundary"

/* requests the daemon has finished: one input waits for its own, so at most one
 * connection is in flight and the daemon's limits never refuse an input */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static unsigned long done_n;
static enum MHD_RequestTerminationCode done_toe; /* how the last one ended */

struct state {
	struct form form;
	struct bo_error err;
	int failed;               /* form_take refused: nothing more may be taken */
	uint64_t package_seen;    /* bytes of package chunks handed to the caller */
	char id_seen[FORM_ID_MAX];
	size_t id_seen_len;
	struct MHD_PostProcessor *pp;
};

static enum MHD_Result on_chunk(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
				const char *content_type, const char *transfer_encoding, const char *data,
				uint64_t off, size_t size)
{
	(void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
	struct state *s = cls;
	if (s->failed)
		return MHD_YES; /* as http.c: keep parsing, take nothing */
	uint64_t before = s->form.package_bytes;
	size_t id_before = s->form.id_len;
	int rc = form_take(&s->form, key, off, data, size, &s->err);
	if (rc < 0) {
		static const int allowed[] = {BO_EBADREQUEST, 0};
		fuzz_check_error(rc, &s->err, allowed);
		s->failed = 1;
		FUZZ_ASSERT(s->form.package_bytes == before && s->form.id_len == id_before,
			    "a refused chunk changed the form");
		return MHD_YES;
	}
	switch (rc) {
	case FORM_PACKAGE_FIRST:
	case FORM_PACKAGE_MORE:
		FUZZ_ASSERT(rc == FORM_PACKAGE_MORE || before == 0, "a first package chunk after package bytes");
		FUZZ_ASSERT(size == 0 || off == s->package_seen,
			    "package bytes out of order: the stored file would not be the part");
		s->package_seen += size;
		FUZZ_ASSERT(s->form.package_bytes == s->package_seen, "package_bytes is not the sum of its chunks");
		break;
	case FORM_ID:
		FUZZ_ASSERT(s->form.id_len == id_before + size && s->form.id_len < FORM_ID_MAX, "id length");
		memcpy(s->id_seen + s->id_seen_len, data, size);
		s->id_seen_len += size;
		break;
	case FORM_IGNORED:
		FUZZ_ASSERT(s->form.package_bytes == before && s->form.id_len == id_before, "an ignored field was taken");
		break;
	default:
		FUZZ_ASSERT(0, "form_take returned no form_chunk");
	}
	return MHD_YES;
}

static void check_done(struct state *s)
{
	const char *id = form_id(&s->form);
	if (s->id_seen_len) {
		FUZZ_ASSERT(id && strlen(id) <= s->id_seen_len && !memcmp(id, s->id_seen, s->id_seen_len),
			    "form_id is not the bytes taken");
	} else {
		FUZZ_ASSERT(id == NULL, "an id without id chunks");
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version;
	struct state *s = *con_cls;
	if (!s) {
		s = calloc(1, sizeof(*s));
		FUZZ_ASSERT(s != NULL, "out of memory");
		s->pp = MHD_create_post_processor(con, 4096, on_chunk, s);
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size) {
		if (s->pp && MHD_post_process(s->pp, upload, *upload_size) != MHD_YES)
			s->failed = 1; /* http.c: "malformed multipart/form-data body" */
		*upload_size = 0;
		return MHD_YES;
	}
	if (s->pp)
		MHD_destroy_post_processor(s->pp);
	s->pp = NULL;
	check_done(s);
	struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)(uintptr_t) "ok", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(con, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)con, (void)toe;
	struct state *s = *con_cls;
	if (s) {
		if (s->pp)
			MHD_destroy_post_processor(s->pp);
		bo_error_cleanup(&s->err);
		free(s);
		*con_cls = NULL;
	}
	pthread_mutex_lock(&done_mu);
	done_n++;
	done_toe = toe;
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
}

static struct MHD_Daemon *daemon_once(uint16_t *port)
{
	static struct MHD_Daemon *d;
	static uint16_t p;
	if (!d) {
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
				     on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				     MHD_OPTION_SOCK_ADDR,
				     &(struct sockaddr_in){.sin_family = AF_INET,
							   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
				     MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
		FUZZ_ASSERT(d != NULL, "cannot start libmicrohttpd on loopback");
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		FUZZ_ASSERT(info != NULL, "no port");
		p = info->port;
	}
	*port = p;
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t port;
	daemon_once(&port);
	pthread_mutex_lock(&done_mu);
	unsigned long want = done_n + 1;
	pthread_mutex_unlock(&done_mu);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_ASSERT(fd >= 0, "socket");
	/* each input from another loopback address: the daemon closes first, and thousands
	 * of its TIME_WAIT sockets from one client address would exhaust the port space */
	static uint32_t next_src;
	next_src = (next_src + 1) % 0xfffe;
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f010001u + next_src)};
	FUZZ_ASSERT(bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0, "bind to a loopback address");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int c = connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (c != 0 && errno == EINTR) { /* libFuzzer's timers: the connect goes on */
		struct pollfd pw = {fd, POLLOUT, 0};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		while (poll(&pw, 1, 5000) < 0 && errno == EINTR)
			;
		c = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0 ? 0 : -1;
	}
	if (c != 0)
		fprintf(stderr, "connect: %s\n", strerror(errno));
	FUZZ_ASSERT(c == 0, "connect to the daemon");
	char head[256];
	int hn = snprintf(head, sizeof(head),
			  "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			  "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\nContent-Length: %zu\r\n\r\n",
			  size);
	FUZZ_ASSERT(send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn, "send the head");
	size_t sent = 0;
	while (sent < size) {
		ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR) /* libFuzzer's timers */
			continue;
		if (w <= 0)
			break; /* the daemon may close early; its answer says how it ended */
		sent += (size_t)w;
	}
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char ans[512];
	size_t got = 0;
	ssize_t r;
	while ((r = recv(fd, ans, sizeof(ans), 0)) > 0 || (r < 0 && errno == EINTR))
		got += r > 0 ? (size_t)r : 0;
	int rerr = r < 0 ? errno : 0;
	close(fd);
	/* every request ends within the daemon's timeout, and one that ended well was answered */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&done_mu);
	int rc = 0;
	while (done_n < want && rc == 0)
		rc = pthread_cond_timedwait(&done_cv, &done_mu, &until);
	int finished = done_n >= want;
	enum MHD_RequestTerminationCode toe = done_toe;
	pthread_mutex_unlock(&done_mu);
	FUZZ_ASSERT(finished, "the daemon never finished the request");
	if (sent == size && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && got == 0) {
		fprintf(stderr, "recv: %s\n", rerr ? strerror(rerr) : "end of stream");
		FUZZ_ASSERT(0, "a request that ended well sent no answer");
	}
	return 0;
}

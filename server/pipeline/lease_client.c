/* lease_client: the lease worker loop (lease_client.h). One job at a time; a signal only
 * sets a flag, looked at between jobs and between long polls, so a job in progress always
 * ends with its result. The token goes only to the server's /api/v1/worker/ URLs, never to
 * the file URLs (presigned S3 URLs or job-scoped links), and never into a log line. */
#include "pipeline/lease_client.h"

#include "common/error.h"
#include "common/hex.h"
#include "common/layout.h"
#include "common/log.h"
#include "common/version.h"
#include "infra/config.h"
#include "infra/httpc.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_SECONDS 5          /* long poll; a signal is seen within this */
#define ERROR_PAUSE_SECONDS 3   /* after a failed call, before the next lease */
#define ONCE_POLLS 12           /* --once: long polls (about a minute) before giving up */
#define LEASE_REPLY_MAX (4u << 20)
#define CAPS_FILE_MAX (64u << 10)
#define FILE_BYTES_MAX (16ull << 30)

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct client {
	const struct config *cfg;
	char base[1024];      /* the server, without a trailing slash */
	char auth[128];       /* "Authorization: Bearer …" */
	cJSON *capabilities;  /* what this host advertises */
	char scratch[PATH_MAX];
	int leased;           /* jobs leased so far (--once stops after one) */
};

struct job {
	struct client *cl;
	cJSON *lease;         /* the server's answer (borrowed strings below point into it) */
	const char *id, *format, *heartbeat_url, *result_url, *outputs_url;
	int lease_seconds;
	time_t beat;          /* last heartbeat */
	int lost;             /* the server said the lease is gone: no result will be kept */
};

/* The path of a URL for log lines: without scheme, host and query (no secret of a file
 * link is ever logged: file lines name the package path instead). */
static const char *url_path(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "/";
}

/* One call to the server with the worker token; JSON body or none. *status, and the reply
 * body in resp (caller cleans up). */
static int call(struct client *cl, const char *method, const char *url, const char *json, struct httpc_response *resp,
		struct bo_error *err)
{
	char what[256];
	snprintf(what, sizeof(what), "%s %.200s", method, url_path(url));
	const char *headers[] = {cl->auth, json ? "Content-Type: application/json" : NULL, NULL};
	struct httpc_request rq = {
		.method = method,
		.url = url,
		.what = what,
		.headers = headers,
		.body = json,
		.body_len = json ? strlen(json) : 0,
		.max_body = LEASE_REPLY_MAX,
		.max_attempts = 3,
		.backoff_ms = 500,
		.backoff_max_ms = 5000,
		.connect_timeout_s = 10,
		.timeout_s = WAIT_SECONDS + 30,
		.user_agent = "backoffice-worker/" BO_VERSION,
	};
	memset(resp, 0, sizeof(*resp));
	return httpc_perform(resp, &rq, err);
}

static void log_refusal(const char *what, const char *url, const struct httpc_response *resp)
{
	cJSON *p = resp->body.len ? cJSON_ParseWithLength(resp->body.p, resp->body.len) : NULL;
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
	log_warnx("lease worker: %s: %s answered HTTP %ld%s%s", what, url_path(url), resp->status, detail ? ": " : "",
		  detail ? detail : "");
	cJSON_Delete(p);
}

/* ---------------------------------------------------------------- heartbeat */

static void heartbeat(struct job *j, int force)
{
	time_t now = time(NULL);
	int every = j->lease_seconds / 3 > 0 ? j->lease_seconds / 3 : 1;
	if (j->lost || (!force && now - j->beat < every))
		return;
	j->beat = now;
	struct httpc_response resp;
	struct bo_error err = BO_ERROR_INIT;
	if (call(j->cl, "POST", j->heartbeat_url, "{}", &resp, &err)) {
		log_warnx("lease worker: heartbeat: %s", err.detail);
	} else if (resp.status == 410 || resp.status == 409 || resp.status == 404) {
		log_refusal("heartbeat", j->heartbeat_url, &resp);
		j->lost = 1;
	} else if (resp.status != 200) {
		log_refusal("heartbeat", j->heartbeat_url, &resp);
	}
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&err);
}

static void job_tick(void *ctx) { heartbeat(ctx, 0); }

/* ---------------------------------------------------------------- downloads */

struct download {
	int fd;
	uint64_t got, max;
	EVP_MD_CTX *md;
};

static int sink_file(void *ctx, long status, const void *p, size_t n)
{
	struct download *d = ctx;
	(void)status;
	if (d->got + n > d->max)
		return 1;
	d->got += n;
	if (EVP_DigestUpdate(d->md, p, n) != 1)
		return 1;
	for (const char *s = p; n > 0;) {
		ssize_t w = write(d->fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int restart_download(void *ctx, struct httpc_request *req, int attempt, struct bo_error *err)
{
	struct download *d = ctx;
	(void)req;
	(void)attempt;
	d->got = 0;
	if (lseek(d->fd, 0, SEEK_SET) < 0 || ftruncate(d->fd, 0) || EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1)
		return bo_error_set(err, BO_EINTERNAL, "cannot restart a download: %s", strerror(errno));
	return 0;
}

static int download(const cJSON *f, const char *pkg_dir, struct bo_error *err)
{
	const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "url"));
	const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "sha256"));
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
	char path[PATH_MAX], what[1200], hex[65];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!rel || !url || !sha || !cJSON_IsNumber(size) || size->valuedouble < 0 ||
	    size->valuedouble > (double)FILE_BYTES_MAX || !test_files_path_ok(rel) ||
	    (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return bo_error_set(err, BO_EFETCH, "the lease lists a file without a safe path, an http(s) url, size and sha256");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", pkg_dir, rel) >= sizeof(path))
		return bo_error_set(err, BO_EFETCH, "file path too long: %s", rel);
	for (char *s = path + strlen(pkg_dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int bad = mkdir(path, 0700) && errno != EEXIST;
		*s = '/';
		if (bad)
			return bo_error_set(err, BO_EINTERNAL, "cannot create a directory for %s: %s", rel, strerror(errno));
	}
	struct download d = {.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600),
			     .max = (uint64_t)size->valuedouble,
			     .md = EVP_MD_CTX_new()};
	int rc = 0;
	if (d.fd < 0 || !d.md) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", rel, strerror(errno));
		goto out;
	}
	/* the file URL is a capability of its own: no token goes with it */
	snprintf(what, sizeof(what), "GET package file %.1000s", rel);
	struct httpc_request rq = {.method = "GET", .url = url, .what = what, .sink = sink_file,
				   .before_attempt = restart_download, .max_attempts = 3, .backoff_ms = 500,
				   .backoff_max_ms = 5000, .connect_timeout_s = 10, .stall_timeout_s = 60,
				   .user_agent = "backoffice-worker/" BO_VERSION, .ctx = &d};
	struct httpc_response resp;
	memset(&resp, 0, sizeof(resp));
	rc = httpc_perform(&resp, &rq, err);
	if (!rc && resp.status != 200)
		rc = bo_error_set(err, BO_EFETCH, "%s: HTTP %ld", what, resp.status);
	httpc_response_cleanup(&resp);
	if (rc)
		goto out;
	if (EVP_DigestFinal_ex(d.md, md, &mdlen) != 1) {
		rc = bo_error_set(err, BO_EINTERNAL, "SHA-256 failed");
		goto out;
	}
	hex_encode(hex, md, mdlen);
	if (d.got != d.max || strcmp(hex, sha))
		rc = bo_error_set(err, BO_EFETCH, "%s: got %llu bytes with SHA-256 %s, the lease says %llu bytes and %s", rel,
				  (unsigned long long)d.got, hex, (unsigned long long)d.max, sha);
out:
	if (d.fd >= 0)
		close(d.fd);
	EVP_MD_CTX_free(d.md);
	return rc;
}

static int job_fill(void *ctx, const char *pkg_dir, struct bo_error *err)
{
	struct job *j = ctx;
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j->lease, "job"), "files");
	const cJSON *f;
	if (!cJSON_IsArray(files))
		return bo_error_set(err, BO_EFETCH, "the lease lists no files");
	cJSON_ArrayForEach(f, files)
	{
		int rc = download(f, pkg_dir, err);
		if (rc)
			return rc;
		heartbeat(j, 0);
	}
	return 0;
}

/* ---------------------------------------------------------------- uploads */

struct upload {
	int fd;
};

static size_t read_fd(void *ctx, char *buf, size_t n)
{
	struct upload *u = ctx;
	ssize_t r;
	while ((r = read(u->fd, buf, n)) < 0 && errno == EINTR)
		;
	return r < 0 ? HTTPC_READ_ABORT : (size_t)r;
}

static int rewind_fd(void *ctx, struct httpc_request *req, int attempt, struct bo_error *err)
{
	struct upload *u = ctx;
	(void)req;
	(void)attempt;
	if (lseek(u->fd, 0, SEEK_SET) < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot rewind a tensor: %s", strerror(errno));
	return 0;
}

/* test_worker_run's outputs callback (a failed run): each produced .npy to the server,
 * which points the summary at its stored copy when the result arrives. */
static int job_outputs(void *ctx, const char *out_dir, cJSON *summary, struct bo_error *err)
{
	struct job *j = ctx;
	(void)summary;
	(void)err;
	DIR *d = opendir(out_dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[PATH_MAX], url[2048], what[400];
		size_t n = strlen(e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".npy"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", out_dir, e->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode))
			continue; /* a symlink from the worker could point anywhere */
		struct upload u = {open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
		if (u.fd < 0)
			continue;
		snprintf(url, sizeof(url), "%s%s", j->outputs_url, e->d_name);
		snprintf(what, sizeof(what), "PUT %.300s", url_path(url));
		const char *headers[] = {j->cl->auth, "Content-Type: application/octet-stream", NULL};
		struct httpc_request rq = {.method = "PUT", .url = url, .what = what, .headers = headers, .read = read_fd,
					   .read_len = (uint64_t)st.st_size, .before_attempt = rewind_fd, .max_attempts = 3,
					   .backoff_ms = 500, .backoff_max_ms = 5000, .connect_timeout_s = 10,
					   .stall_timeout_s = 60, .max_body = 64 << 10,
					   .user_agent = "backoffice-worker/" BO_VERSION, .ctx = &u};
		struct httpc_response resp;
		struct bo_error uerr = BO_ERROR_INIT;
		memset(&resp, 0, sizeof(resp));
		if (httpc_perform(&resp, &rq, &uerr))
			log_warnx("lease worker: %s", uerr.detail);
		else if (resp.status != 200)
			log_refusal("produced tensor", url, &resp);
		httpc_response_cleanup(&resp);
		bo_error_cleanup(&uerr);
		close(u.fd);
		heartbeat(j, 0);
	}
	closedir(d);
	return 0;
}

/* ---------------------------------------------------------------- one job */

static int lease_url(struct client *cl, const char *path, char *out, size_t n)
{
	return (size_t)snprintf(out, n, "%s%s", cl->base, path) >= n ? -1 : 0;
}

/* 1 when a job ran (whatever its result), 0 when none came, <0 on trouble. */
static int one_job(struct client *cl, struct bo_error *err)
{
	char url[1200];
	struct httpc_response resp;
	cJSON *req = cJSON_CreateObject(), *summary = NULL;
	char *body = NULL, *result = NULL;
	struct job j = {.cl = cl};
	int rc = 0;
	if (!req || !cJSON_AddItemReferenceToObject(req, "capabilities", cl->capabilities) ||
	    !cJSON_AddNumberToObject(req, "wait_seconds", WAIT_SECONDS) || !(body = cJSON_PrintUnformatted(req))) {
		cJSON_Delete(req);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	cJSON_Delete(req);
	lease_url(cl, "/api/v1/worker/lease", url, sizeof(url));
	rc = call(cl, "POST", url, body, &resp, err);
	free(body);
	if (rc)
		return rc;
	if (resp.status == 204) {
		httpc_response_cleanup(&resp);
		return 0;
	}
	if (resp.status != 200) {
		long st = resp.status;
		log_refusal("lease", url, &resp);
		httpc_response_cleanup(&resp);
		return bo_error_set(err, st == 401 || st == 403 ? BO_EFORBIDDEN : BO_EFETCH,
				    "the server refused the lease (HTTP %ld)", st);
	}
	cl->leased++;
	j.lease = cJSON_ParseWithLength(resp.body.p, resp.body.len);
	httpc_response_cleanup(&resp);
	const cJSON *job = cJSON_GetObjectItemCaseSensitive(j.lease, "job");
	j.id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j.lease, "lease_id"));
	j.format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "weight_format"));
	j.heartbeat_url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j.lease, "heartbeat_url"));
	j.result_url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j.lease, "result_url"));
	j.outputs_url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j.lease, "outputs_url"));
	j.lease_seconds = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j.lease, "lease_seconds"));
	const char *rdf = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(job, "spec"), "rdf_file"));
	const char *concept = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "concept"));
	/* the token goes to our own server only: every URL we send it to is under base */
	size_t nb = strlen(cl->base);
	if (!j.id || !j.format || !rdf || !concept || !j.heartbeat_url || !j.result_url || !j.outputs_url ||
	    j.lease_seconds <= 0 || strncmp(j.heartbeat_url, cl->base, nb) || strncmp(j.result_url, cl->base, nb) ||
	    strncmp(j.outputs_url, cl->base, nb) || !test_files_path_ok(rdf)) {
		rc = bo_error_set(err, BO_EFETCH, "the server's lease answer lacks fields or points elsewhere");
		goto out;
	}
	log_info("lease worker: leased %s %s (lease %.8s…)", concept, j.format, j.id);
	j.beat = time(NULL);
	struct test_worker_request rq = {
		.cfg = cl->cfg,
		.scratch_parent = cl->scratch[0] ? cl->scratch : NULL,
		.rdf_file = rdf,
		.weight_format = j.format,
		.fill = job_fill,
		.outputs = job_outputs,
		.tick = job_tick,
		.ctx = &j,
	};
	rc = test_worker_run(&rq, &summary, err);
	if (rc) {
		/* a download or this host failed, not the model: the lease expires and another
		 * worker tries */
		log_warnx("lease worker: %s %s: no result (%s); the lease will expire", concept, j.format, err->detail);
		bo_error_cleanup(err);
		rc = 1;
		goto out;
	}
	if (j.lost) {
		log_warnx("lease worker: %s %s: the lease was lost while the test ran; the result is dropped", concept,
			  j.format);
		rc = 1;
		goto out;
	}
	result = cJSON_PrintUnformatted(summary);
	if (!result) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto out;
	}
	rc = call(cl, "PUT", j.result_url, result, &resp, err);
	if (rc)
		goto out;
	if (resp.status == 200)
		log_info("lease worker: %s %s: %s, result stored", concept, j.format,
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(summary, "status")));
	else
		log_refusal("result", j.result_url, &resp);
	httpc_response_cleanup(&resp);
	rc = 1;
out:
	free(result);
	cJSON_Delete(summary);
	cJSON_Delete(j.lease);
	return rc;
}

/* ---------------------------------------------------------------- capabilities */

/* What this host can run: onnx when ONNX Runtime is found, torchscript when the torch
 * runtime sits next to the worker, pytorch_state_dict when the configured Python runs. */
static cJSON *detect(const struct config *cfg, int gpu)
{
	char worker[PATH_MAX], ort[PATH_MAX], dir[PATH_MAX], torch[PATH_MAX];
	cJSON *c = cJSON_CreateObject();
	cJSON *formats = cJSON_AddArrayToObject(c, "weight_formats");
	cJSON *rt = cJSON_AddObjectToObject(c, "runtimes");
	test_worker_path(cfg, worker, sizeof(worker));
	test_ort_path(cfg, worker, ort, sizeof(ort));
	if (ort[0]) {
		cJSON_AddItemToArray(formats, cJSON_CreateString("onnx"));
		cJSON_AddStringToObject(rt, "onnxruntime", "1");
	}
	snprintf(dir, sizeof(dir), "%s", worker);
	if ((size_t)snprintf(torch, sizeof(torch), "%s/backoffice-torch.so", dirname(dir)) < sizeof(torch) &&
	    !access(torch, R_OK)) {
		cJSON_AddItemToArray(formats, cJSON_CreateString("torchscript"));
		cJSON_AddStringToObject(rt, "libtorch", "1");
	}
	if (cfg->python && !access(cfg->python, X_OK)) {
		cJSON_AddItemToArray(formats, cJSON_CreateString("pytorch_state_dict"));
		cJSON_AddStringToObject(rt, "python", cfg->python);
	}
	cJSON_AddBoolToObject(c, "gpu", gpu);
	cJSON_AddStringToObject(c, "backoffice", BO_VERSION);
	return c;
}

static cJSON *read_caps(const char *path, int gpu)
{
	FILE *f = fopen(path, "r");
	char *text = malloc(CAPS_FILE_MAX + 1);
	size_t n = 0;
	cJSON *c = NULL;
	if (f && text) {
		n = fread(text, 1, CAPS_FILE_MAX + 1, f);
		if (n <= CAPS_FILE_MAX)
			c = cJSON_ParseWithLength(text, n);
	}
	if (f)
		fclose(f);
	free(text);
	if (c && !cJSON_IsObject(c)) {
		cJSON_Delete(c);
		c = NULL;
	}
	if (c && gpu) {
		cJSON_DeleteItemFromObjectCaseSensitive(c, "gpu");
		cJSON_AddBoolToObject(c, "gpu", 1);
	}
	return c;
}

/* ---------------------------------------------------------------- main */

static int usage(void)
{
	fprintf(stderr, "usage: backoffice-worker --lease URL [--token TOKEN] [--capabilities FILE] [--gpu] [--scratch DIR] [--once]\n"
			"  leases test jobs from the backoffice at URL (test_runner=lease) with a worker token\n"
			"  (backoffice token create EMAIL --worker) and runs them in the jail; SIGTERM finishes\n"
			"  the current job, then exits. Without --token, BO_WORKER_TOKEN holds it (a Slurm job's\n"
			"  script). --once: lease one job (waiting at most %d long polls), run it, exit.\n"
			"  Options of the jail and the limits come from BO_* as for\n"
			"  the server (BO_SANDBOX, BO_TEST_TIMEOUT, BO_ONNXRUNTIME_LIB, …).\n",
		ONCE_POLLS);
	return 2;
}

int lease_client_main(int argc, char **argv)
{
	struct client cl = {0};
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	const char *url = NULL, *token = NULL, *caps = NULL, *scratch = NULL;
	int gpu = 0, status = 0, once = 0, polls = 0;
	char env_token[80] = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--gpu")) {
			gpu = 1;
			continue;
		}
		if (!strcmp(a, "--once")) {
			once = 1;
			continue;
		}
		if (!v)
			return usage();
		if (!strcmp(a, "--lease"))
			url = v;
		else if (!strcmp(a, "--token"))
			token = v;
		else if (!strcmp(a, "--capabilities"))
			caps = v;
		else if (!strcmp(a, "--scratch"))
			scratch = v;
		else
			return usage();
		i++;
	}
	/* from the environment (a Slurm job's script), unset before anything runs: the jail and
	 * the model never see it */
	char *et = getenv("BO_WORKER_TOKEN");
	if (!token && et && strlen(et) < sizeof(env_token)) {
		snprintf(env_token, sizeof(env_token), "%s", et);
		token = env_token;
	}
	if (et) {
		explicit_bzero(et, strlen(et));
		unsetenv("BO_WORKER_TOKEN");
	}
	if (!url || !token || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || strlen(url) >= sizeof(cl.base) ||
	    strlen(token) > 64 || strpbrk(token, "\r\n"))
		return usage();
	snprintf(cl.base, sizeof(cl.base), "%s", url);
	for (size_t n = strlen(cl.base); n > 0 && cl.base[n - 1] == '/'; n--)
		cl.base[n - 1] = '\0';
	snprintf(cl.auth, sizeof(cl.auth), "Authorization: Bearer %s", token);
	/* the token is on our command line: hide it from anyone who reads /proc/<pid>/cmdline later */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--token") && i + 1 < argc)
			memset(argv[i + 1], 'x', strlen(argv[i + 1]));
	if (config_load(&cfg, 0, NULL, NULL, NULL, &err)) {
		fprintf(stderr, "backoffice-worker: %s\n", err.detail);
		bo_error_cleanup(&err);
		return 2;
	}
	cl.cfg = cfg;
	log_set_level(LOG_LEVEL_INFO);
	cl.capabilities = caps ? read_caps(caps, gpu) : detect(cfg, gpu);
	if (!cl.capabilities) {
		fprintf(stderr, "backoffice-worker: %s is not a JSON object of capabilities\n", caps);
		config_free(cfg);
		return 2;
	}
	if (scratch) {
		snprintf(cl.scratch, sizeof(cl.scratch), "%s", scratch);
	} else if (geteuid() == 0 && strcmp(cfg->sandbox, "none")) {
		/* a root worker drops to the jail's uid, which must be able to pass (as the server's) */
		snprintf(cl.scratch, sizeof(cl.scratch), TEST_SANDBOX_ROOT "/lease-%d", (int)getpid());
		if ((mkdir(TEST_SANDBOX_ROOT, 0711) && errno != EEXIST) || (mkdir(cl.scratch, 0711) && errno != EEXIST)) {
			fprintf(stderr, "backoffice-worker: cannot create %s: %s\n", cl.scratch, strerror(errno));
			status = 1;
			goto out;
		}
		chmod(cl.scratch, 0711);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "backoffice-worker: libcurl did not initialise\n");
		status = 1;
		goto out;
	}
	char *shown = cJSON_PrintUnformatted(cl.capabilities);
	log_info("lease worker: leasing from %s with capabilities %s", cl.base, shown ? shown : "?");
	free(shown);
	while (!stopping) {
		int rc = one_job(&cl, &err);
		if (rc == BO_EFORBIDDEN) {
			log_error("lease worker: the server refuses this token (%s); stopping", err.detail);
			status = 1;
			break;
		}
		if (rc < 0) {
			log_warnx("lease worker: %s; trying again in %d s", err.detail, ERROR_PAUSE_SECONDS);
			for (int s = 0; s < ERROR_PAUSE_SECONDS * 10 && !stopping; s++) {
				struct timespec nap = {0, 100000000L};
				nanosleep(&nap, NULL);
			}
		}
		bo_error_cleanup(&err);
		if (once && (cl.leased || ++polls >= ONCE_POLLS)) {
			if (!cl.leased) {
				log_warnx("lease worker: --once: no job came in %d long polls", polls);
				status = 1;
			}
			break;
		}
	}
	if (stopping)
		log_info("lease worker: stopped by a signal");
	curl_global_cleanup();
out:
	if (cl.scratch[0] && !scratch)
		rmdir(cl.scratch);
	cJSON_Delete(cl.capabilities);
	config_free(cfg);
	bo_error_cleanup(&err);
	return status;
}

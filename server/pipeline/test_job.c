/* test_job: the `test` job and the worker run it shares with the CLI. The job's reads
 * and the worker run happen outside transactions; the verdict (run row, event, draft
 * state) is one transaction that re-checks the revision first. Invariant: a dynamic run
 * of the current revision is queued or running exactly while a test job for it may
 * still record a verdict; a run with a verdict is never overwritten by a stale job. */
#include "pipeline/test_job.h"

#include "app.h"
#include "check/summary.h"
#include "check/weights.h"
#include "common/error.h"
#include "common/layout.h"
#include "common/log.h"
#include "common/version.h"
#include "domain/drafts.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/fs.h"
#include "infra/jobs.h"
#include "infra/sandbox.h"
#include "infra/storage.h"
#include "pipeline/lifecycle.h"
#include "pipeline/retest.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RDF_PATH "rdf.yaml"
#define SLOT_WAIT_MS 1000       /* how long a job waits for a free worker slot */
#define REQUEUE_DELAY_SECONDS 5 /* then it steps aside for this long */
#define LEASE_TOUCH_SECONDS 2   /* while the worker runs (job_lease_seconds is at least 5) */
#define MAX_TENSOR_BYTES (1ull << 30)
#define WORKER_FILE_BYTES (4ull << 30) /* RLIMIT_FSIZE: produced tensors */
#define WORKER_OPEN_FILES 1024         /* runtimes open many shared libraries */
#define STDERR_IN_SUMMARY 8192         /* tail of the worker's log kept in an error run */

/* A sanitizer build of the worker (built with the server, next to it) reserves terabytes
 * of address space at start and cannot run under RLIMIT_AS: there the memory limit is
 * the parent's watch on resident memory only. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WORKER_ADDRESS_LIMITED 0
#else
#define WORKER_ADDRESS_LIMITED 1
#endif

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ---------------------------------------------------------------- slots */

struct test_slots {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int free;
};

int test_slots_create(test_slots **out, int n, struct bo_error *err)
{
	test_slots *s = calloc(1, sizeof(*s));
	if (!s)
		return oom(err);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->freed, NULL);
	s->free = n > 0 ? n : 1;
	*out = s;
	return 0;
}

void test_slots_free(test_slots *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->freed);
	free(s);
}

static int slots_take(test_slots *s, int wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int got = 0;
	pthread_mutex_lock(&s->lock);
	while (s->free == 0)
		if (pthread_cond_timedwait(&s->freed, &s->lock, &until))
			break;
	if (s->free > 0) {
		s->free--;
		got = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

static void slots_give(test_slots *s)
{
	pthread_mutex_lock(&s->lock);
	s->free++;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

int test_slots_take(test_slots *s, int wait_ms) { return slots_take(s, wait_ms); }
void test_slots_give(test_slots *s) { slots_give(s); }

/* ---------------------------------------------------------------- the worker run */

/* The jail of config (DESIGN §8.5), without its extra files. */
static struct sandbox_jail jail_of(const struct config *cfg)
{
	struct sandbox_jail j = {
		.bwrap = cfg->bwrap_path,
		.uid = (unsigned)cfg->sandbox_uid,
		.gid = (unsigned)cfg->sandbox_gid,
		.tmp_bytes = (uint64_t)cfg->test_scratch,
		.processes = cfg->test_processes,
	};
	return j;
}

int test_sandbox_dir(const struct config *cfg, char *buf, size_t n, struct bo_error *err)
{
	char real[PATH_MAX];
	if (geteuid() != 0 || !strcmp(cfg->sandbox, "none")) {
		if ((size_t)snprintf(buf, n, "%s/" TEST_SANDBOX_DIR, cfg->data_dir) >= n)
			return bo_error_set(err, BO_EINTERNAL, "data directory path too long");
		return fs_mkdir_mode(buf, 0700, err);
	}
	/* bwrap, run as the jail's uid, resolves what it mounts by path: the scratch must lie
	 * where that uid may pass (0711 all the way, nothing listable), which a data directory
	 * need not be. One directory per data directory, so that a server removes only its own
	 * leftovers. */
	if (!realpath(cfg->data_dir, real))
		return bo_error_set(err, BO_EINTERNAL, "cannot resolve the data directory %s: %s", cfg->data_dir,
				    strerror(errno));
	uint64_t h = 1469598103934665603ull; /* FNV-1a: a name, not a secret */
	for (const char *p = real; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	int rc = fs_mkdir_mode(TEST_SANDBOX_ROOT, 0711, err);
	if (rc)
		return rc;
	if ((size_t)snprintf(buf, n, TEST_SANDBOX_ROOT "/%016llx", (unsigned long long)h) >= n)
		return bo_error_set(err, BO_EINTERNAL, "sandbox path too long");
	return fs_mkdir_mode(buf, 0711, err);
}

int test_sandbox_check(const struct config *cfg, struct bo_error *err)
{
	struct sandbox_jail j = jail_of(cfg);
	char worker[PATH_MAX];
	/* with the worker shown, as a test run shows it: the jail's uid must reach it */
	test_worker_path(cfg, worker, sizeof(worker));
	if (worker[0] == '/' && !access(worker, X_OK))
		j.files[0] = worker;
	return sandbox_probe_jail(&j, err);
}

int test_sandbox_start(const struct config *cfg, struct bo_error *err)
{
	char dir[PATH_MAX];
	int rc = test_sandbox_dir(cfg, dir, sizeof(dir), err);
	if (rc)
		return rc;
	int n = sandbox_remove_stale(dir);
	if (n < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot remove old sandbox directories in %s: %s", dir,
				    strerror(errno));
	if (n > 0)
		log_info("sandbox: removed %d scratch director%s a previous server left in %s", n, n == 1 ? "y" : "ies",
			 dir);
	if (!strcmp(cfg->sandbox, "none")) {
		log_warnx("sandbox=none: uploaded model code (pytorch_state_dict architectures, weights parsed by "
			  "the runtimes) runs UNCONFINED, with the rights of this server, as the operator chose");
		return 0;
	}
	struct bo_error perr = BO_ERROR_INIT;
	if (test_sandbox_check(cfg, &perr))
		log_warnx("sandbox unavailable: %s. Uploaded code will not run: every dynamic test is an error run "
			  "until the jail works (or the operator sets sandbox=none to run it unconfined)",
			  perr.detail);
	else
		log_info("sandbox: the bubblewrap jail works (%s; uid %lld when started as root)", cfg->bwrap_path,
			 (long long)cfg->sandbox_uid);
	bo_error_cleanup(&perr);
	return 0;
}

void test_ort_path(const struct config *cfg, const char *worker, char *buf, size_t n)
{
	char dir[PATH_MAX];
	buf[0] = '\0';
	if (cfg->onnxruntime_lib && *cfg->onnxruntime_lib) {
		snprintf(buf, n, "%s", cfg->onnxruntime_lib);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", worker);
	if ((size_t)snprintf(buf, n, "%s%s", dirname(dir), LAYOUT_ORT_REL) >= n || access(buf, R_OK))
		buf[0] = '\0';
}

void test_worker_path(const struct config *cfg, char *buf, size_t n)
{
	char exe[PATH_MAX];
	if (cfg->worker_path && *cfg->worker_path) {
		snprintf(buf, n, "%s", cfg->worker_path);
		return;
	}
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		snprintf(buf, n, "backoffice-worker");
		return;
	}
	exe[len] = '\0';
	snprintf(buf, n, "%s/backoffice-worker", dirname(exe));
}

struct run_ctx {
	const struct test_worker_request *rq;
	char ort[PATH_MAX]; /* libonnxruntime the worker loads ("" = none found) */
	int jailed;
	char *spec;      /* the job spec sent on stdin */
	char out_dir[PATH_MAX];
	struct sandbox_result *res;
	const struct sandbox_limits *lim;
	cJSON *summary;  /* built in collect, while the produced files still exist */
};

static cJSON *error_summary(const char *format, const char *msg)
{
	char name[128];
	snprintf(name, sizeof(name), "reproduce test outputs (%s)", format);
	cJSON *s = cJSON_CreateObject();
	cJSON *details = cJSON_AddArrayToObject(s, "details");
	cJSON *d = cJSON_CreateObject();
	cJSON *errors = cJSON_AddArrayToObject(d, "errors");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "name", name);
	cJSON_AddStringToObject(s, "weight_format", format);
	cJSON_AddStringToObject(s, "status", "error");
	cJSON_AddStringToObject(d, "name", "run the test worker");
	cJSON_AddStringToObject(d, "status", "error");
	cJSON_AddItemToObject(e, "loc", cJSON_CreateArray());
	cJSON_AddStringToObject(e, "msg", msg);
	cJSON_AddStringToObject(e, "type", "worker");
	cJSON_AddItemToArray(errors, e);
	cJSON_AddItemToObject(d, "warnings", cJSON_CreateArray());
	cJSON_AddItemToArray(details, d);
	cJSON *env = cJSON_AddObjectToObject(s, "env");
	cJSON_AddStringToObject(env, "backoffice", BO_VERSION);
	if (!cJSON_GetObjectItemCaseSensitive(s, "env") || !cJSON_GetObjectItemCaseSensitive(d, "warnings")) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

static int valid_status(const char *s)
{
	return s && (!strcmp(s, "passed") || !strcmp(s, "failed") || !strcmp(s, "skipped") || !strcmp(s, "error"));
}

/* The worker's result, or an error summary saying why there is none. */
static cJSON *summary_from(const struct test_worker_request *rq, const struct sandbox_result *res,
			   const struct sandbox_limits *lim)
{
	char msg[512], why[256];
	cJSON *s = NULL;
	if (res->reason == SANDBOX_EXITED) {
		s = cJSON_ParseWithLength(res->out, res->out_len);
		if (s && cJSON_IsObject(s) &&
		    valid_status(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "status")))) {
			if (!cJSON_GetObjectItemCaseSensitive(s, "weight_format"))
				cJSON_AddStringToObject(s, "weight_format", rq->weight_format);
			goto done;
		}
		cJSON_Delete(s);
		const char *asan = res->errout ? strstr(res->errout, "ERROR: AddressSanitizer: ") : NULL;
		if (asan && !res->out_len) {
			/* a sanitizer build catches the crash itself and exits instead of dying by the signal */
			asan += strlen("ERROR: AddressSanitizer: ");
			snprintf(msg, sizeof(msg), "the test worker crashed (AddressSanitizer: %.*s; exit status %d)",
				 (int)strcspn(asan, " \n"), asan, res->exit_code);
		} else if (!res->out_len)
			snprintf(msg, sizeof(msg), "the test worker exited with status %d without printing a result",
				 res->exit_code);
		else
			snprintf(msg, sizeof(msg),
				 "the test worker printed no valid result (not a JSON object with a status; "
				 "exit status %d)", res->exit_code);
	} else {
		sandbox_describe(res, lim, why, sizeof(why));
		snprintf(msg, sizeof(msg), "the test worker %s", why);
	}
	s = error_summary(rq->weight_format, msg);
	if (s && res->errout_len) {
		size_t off = res->errout_len > STDERR_IN_SUMMARY ? res->errout_len - STDERR_IN_SUMMARY : 0;
		cJSON_AddStringToObject(s, "stderr", res->errout + off);
	}
done:
	if (s) {
		cJSON *sb = cJSON_AddObjectToObject(s, "sandbox");
		cJSON_AddBoolToObject(sb, "jailed", res->jailed);
		cJSON_AddBoolToObject(sb, "network_cut", res->network_cut);
		cJSON_AddNumberToObject(sb, "wall_ms", (double)res->wall_ms);
		cJSON_AddNumberToObject(sb, "cpu_ms", (double)res->cpu_ms);
		cJSON_AddNumberToObject(sb, "peak_rss_kb", (double)res->peak_rss_kb);
		if (!cJSON_GetObjectItemCaseSensitive(s, "wall_ms"))
			cJSON_AddNumberToObject(s, "wall_ms", (double)res->wall_ms);
		if (!cJSON_GetObjectItemCaseSensitive(s, "peak_rss_kb"))
			cJSON_AddNumberToObject(s, "peak_rss_kb", (double)res->peak_rss_kb);
	}
	return s;
}

/* Copies the regular files and directories under src into dst (an existing directory);
 * symlinks and other entries are left out, as staging refuses them. */
static int copy_tree(const char *src, const char *dst, int depth, struct bo_error *err)
{
	DIR *d = opendir(src);
	if (!d)
		return bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s", src, strerror(errno));
	if (depth > 32) {
		closedir(d);
		return bo_error_set(err, BO_EINTERNAL, "%s: directories nested too deep", src);
	}
	struct dirent *e;
	int rc = 0;
	char from[PATH_MAX], to[PATH_MAX], buf[65536];
	while (!rc && (e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(from, sizeof(from), "%s/%s", src, e->d_name) >= sizeof(from) ||
		    (size_t)snprintf(to, sizeof(to), "%s/%s", dst, e->d_name) >= sizeof(to)) {
			rc = bo_error_set(err, BO_EINTERNAL, "%s: path too long", src);
			break;
		}
		if (lstat(from, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(to, 0700))
				rc = bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", to, strerror(errno));
			else
				rc = copy_tree(from, to, depth + 1, err);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ssize_t n = 0;
		while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n) {
				n = -1;
				break;
			}
		if (in < 0 || out < 0 || n < 0)
			rc = bo_error_set(err, BO_EINTERNAL, "cannot copy %s: %s", from, strerror(errno));
		if (in >= 0)
			close(in);
		if (out >= 0 && close(out) && !rc)
			rc = bo_error_set(err, BO_EINTERNAL, "cannot write %s: %s", to, strerror(errno));
	}
	closedir(d);
	return rc;
}

static int run_prepare(void *ctx, const char *scratch, const char *seen_as, const void **input,
		       size_t *input_len, struct bo_error *err)
{
	struct run_ctx *rc = ctx;
	const struct test_worker_request *rq = rc->rq;
	const struct config *cfg = rq->cfg;
	char pkg[PATH_MAX], pkg_seen[PATH_MAX], out_seen[PATH_MAX];
	int r = 0;
	if ((size_t)snprintf(rc->out_dir, sizeof(rc->out_dir), "%s/out", scratch) >= sizeof(rc->out_dir) ||
	    (size_t)snprintf(pkg, sizeof(pkg), "%s/pkg", scratch) >= sizeof(pkg) ||
	    (size_t)snprintf(pkg_seen, sizeof(pkg_seen), "%s/pkg", seen_as) >= sizeof(pkg_seen) ||
	    (size_t)snprintf(out_seen, sizeof(out_seen), "%s/out", seen_as) >= sizeof(out_seen))
		return bo_error_set(err, BO_EINTERNAL, "scratch path too long: %s", scratch);
	if (mkdir(rc->out_dir, 0700))
		return bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", rc->out_dir, strerror(errno));
	if (rq->package_dir && rc->jailed) {
		/* the jail's uid may not reach a package given in place (a 0700 home or temp
		 * directory): it gets a copy in the scratch like a server run */
		if (mkdir(pkg, 0700))
			return bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", pkg, strerror(errno));
		if ((r = copy_tree(rq->package_dir, pkg, 0, err)))
			return r;
	} else if (!rq->package_dir) {
		if (mkdir(pkg, 0700))
			return bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", pkg, strerror(errno));
		if (rq->fill && (r = rq->fill(rq->ctx, pkg, err)))
			return r;
	}
	cJSON *spec = cJSON_CreateObject();
	if (!spec)
		return oom(err);
	/* paths as the worker sees them (in the jail: under SANDBOX_JOB_DIR; a package given
	 * in place is shown at its own path) */
	cJSON_AddStringToObject(spec, "package_dir", rq->package_dir && !rc->jailed ? rq->package_dir : pkg_seen);
	cJSON_AddStringToObject(spec, "rdf_file", rq->rdf_file);
	cJSON_AddStringToObject(spec, "weight_format", rq->weight_format);
	cJSON_AddStringToObject(spec, "output_dir", out_seen);
	cJSON_AddNullToObject(spec, "tolerance");
	if (rc->ort[0])
		cJSON_AddStringToObject(spec, "onnxruntime_lib", rc->ort);
	else
		cJSON_AddNullToObject(spec, "onnxruntime_lib");
	cJSON_AddStringToObject(spec, "python", cfg->python);
	cJSON_AddNumberToObject(spec, "threads", 1);
	cJSON_AddNumberToObject(spec, "max_tensor_bytes", (double)MAX_TENSOR_BYTES);
	if (cfg->test_fault && *cfg->test_fault)
		cJSON_AddStringToObject(spec, "fault", cfg->test_fault);
	else
		cJSON_AddNullToObject(spec, "fault");
	rc->spec = cJSON_PrintUnformatted(spec);
	cJSON_Delete(spec);
	if (!rc->spec)
		return oom(err);
	*input = rc->spec;
	*input_len = strlen(rc->spec);
	return 0;
}

static int run_collect(void *ctx, const char *scratch, struct bo_error *err)
{
	struct run_ctx *rc = ctx;
	(void)scratch;
	rc->summary = summary_from(rc->rq, rc->res, rc->lim);
	if (!rc->summary)
		return oom(err);
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc->summary, "status"));
	if (rc->rq->outputs && status && !strcmp(status, "failed"))
		return rc->rq->outputs(rc->rq->ctx, rc->out_dir, rc->summary, err);
	return 0;
}

static void run_tick(void *ctx)
{
	struct run_ctx *rc = ctx;
	if (rc->rq->tick)
		rc->rq->tick(rc->rq->ctx);
}

int test_worker_run(const struct test_worker_request *rq, cJSON **summary_out, struct bo_error *err)
{
	const struct config *cfg = rq->cfg;
	char worker[PATH_MAX], msg[PATH_MAX + 256];
	struct sandbox_result res;
	struct sandbox_limits lim = {
		.timeout_ms = cfg->test_timeout * 1000,
		.memory_bytes = WORKER_ADDRESS_LIMITED ? (uint64_t)cfg->test_memory : 0,
		.cpu_seconds = cfg->test_cpu_seconds,
		.file_bytes = WORKER_FILE_BYTES,
		.open_files = WORKER_OPEN_FILES,
		.out_bytes = (uint64_t)cfg->test_scratch,
		.rss_bytes = (uint64_t)cfg->test_memory,
	};
	struct run_ctx rc = {.rq = rq, .res = &res, .lim = &lim};
	const char *env_fault[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/nonexistent", "OMP_NUM_THREADS=1",
				   "BO_WORKER_FAULTS=1", NULL};
	char torch_so[PATH_MAX], dir[PATH_MAX];
	struct sandbox_jail jail = jail_of(cfg);
	int nfiles = 0;
	test_worker_path(cfg, worker, sizeof(worker));
	test_ort_path(cfg, worker, rc.ort, sizeof(rc.ort));
	rc.jailed = strcmp(cfg->sandbox, "none") != 0;
	/* what the jail shows besides /usr and the scratch: the worker, the torch runtime next
	 * to it, ONNX Runtime */
	jail.files[nfiles++] = worker;
	snprintf(dir, sizeof(dir), "%s", worker);
	if ((size_t)snprintf(torch_so, sizeof(torch_so), "%s/backoffice-torch.so", dirname(dir)) < sizeof(torch_so) &&
	    !access(torch_so, R_OK))
		jail.files[nfiles++] = torch_so;
	if (rc.ort[0])
		jail.files[nfiles++] = rc.ort;
	*summary_out = NULL;
	if (worker[0] != '/' || access(worker, X_OK)) {
		/* an operator problem, but a verdict all the same: the queue goes on */
		snprintf(msg, sizeof(msg),
			 "the test worker %s cannot be run (%s); build it (make) or set BO_WORKER_PATH, then re-run the tests",
			 worker, worker[0] != '/' ? "not an absolute path" : strerror(errno));
		*summary_out = error_summary(rq->weight_format, msg);
		return *summary_out ? 0 : oom(err);
	}
	const char *argv[] = {worker, NULL};
	struct sandbox_spec spec = {
		.argv = argv,
		.env = cfg->test_fault && *cfg->test_fault ? env_fault : NULL,
		.limits = lim,
		.jail = rc.jailed ? &jail : NULL,
		.scratch_parent = rq->scratch_parent,
		.prepare = run_prepare,
		.collect = run_collect,
		.tick = run_tick,
		.ctx = &rc,
	};
	int r = sandbox_run(&spec, &res, err);
	if (!r) {
		*summary_out = rc.summary;
		rc.summary = NULL;
		sandbox_result_clear(&res);
	}
	cJSON_Delete(rc.summary);
	free(rc.spec);
	return r;
}

/* ---------------------------------------------------------------- scheduling */


static int enqueue_one(sqlite3 *c, const char *id, int revision, const char *format, int64_t delay,
		       struct bo_error *err)
{
	cJSON *p = cJSON_CreateObject();
	char *text = NULL;
	int64_t job = 0;
	cJSON_AddNumberToObject(p, "revision", revision);
	cJSON_AddStringToObject(p, "weight_format", format);
	text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!text)
		return oom(err);
	int rc = jobs_enqueue(c, "test", id, text, 0, &job, err);
	free(text);
	if (rc || !delay)
		return rc;
	return jobs_delay(c, job, delay, err);
}

int test_job_schedule(sqlite3 *c, const char *concept_id, int revision, int *njobs, struct bo_error *err)
{
	struct draft d;
	cJSON *rdf = NULL;
	int n = 0, found = 0;
	if (njobs)
		*njobs = 0;
	int rc = drafts_get(c, concept_id, DRAFTS_WITH_RDF, &d, &found, err);
	if (rc)
		return rc;
	if (found && d.revision == revision && !strcmp(d.type, "model"))
		rdf = cJSON_Parse(d.rdf_json);
	drafts_release(&d);
	if (!rdf)
		return 0;
	rc = drafts_runs_clear_dynamic(c, concept_id, revision, err);
	if (rc)
		goto out;
	/* the formats to run: the rule `backoffice test` follows too (weights.h) */
	const cJSON *weights = cJSON_GetObjectItemCaseSensitive(rdf, "weights");
	for (const cJSON *w = weights_next(weights, NULL); w; w = weights_next(weights, w)) {
		rc = drafts_run_queue_dynamic(c, concept_id, revision, w->string, TEST_JOB_TOOL, BO_VERSION, err);
		if (!rc)
			rc = enqueue_one(c, concept_id, revision, w->string, 0, err);
		if (rc)
			goto out;
		n++;
	}
	if (njobs)
		*njobs = n;
out:
	cJSON_Delete(rdf);
	return rc;
}

/* ---------------------------------------------------------------- the verdict */

/* Opens a transaction and checks that the job still matters: the draft is at revision and
 * the run has no verdict. *go = 0 otherwise (the transaction is still open). */
static int check_current(sqlite3 *c, const char *id, int revision, const char *format, int *go,
			 struct bo_error *err)
{
	char status[32] = "";
	enum draft_state state;
	int cur = 0, found = 0;
	*go = 0;
	int rc = db_begin(c, err);
	if (!rc)
		rc = drafts_state(c, id, &cur, &state, &found, err);
	if (!rc && found && cur == revision)
		rc = drafts_run_dynamic_status(c, id, revision, format, status, sizeof(status), err);
	if (rc)
		return rc;
	if (!found || cur != revision || (strcmp(status, "queued") && strcmp(status, "running"))) {
		log_info("test: %s revision %d %s: nothing to do (%s)", id, revision, format,
			 !found ? "no draft" : cur != revision ? "a newer revision exists" : "the run has a verdict");
		return 0;
	}
	*go = 1;
	return 0;
}

/* Writes the verdict and moves the draft on when it was the last run. guard (may be NULL)
 * runs in the same transaction first and may refuse (its code is returned, nothing is
 * written); *recorded (may be NULL) says whether the verdict was written. */
static int record(struct app *a, const char *id, int revision, const char *format, const char *status,
		  const char *summary_json, const char *started, const char *message,
		  const struct test_job_guard *guard, int *recorded, struct bo_error *err)
{
	sqlite3 *c = NULL;
	char finished[40];
	int go = 0;
	if (recorded)
		*recorded = 0;
	db_now_iso(finished, sizeof(finished));
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = check_current(c, id, revision, format, &go, err);
	if (rc || !go)
		goto fail;
	if (guard)
		rc = guard->check(c, guard->ctx, err);
	if (rc)
		goto fail;
	const struct draft_run_verdict v = {.tool = TEST_JOB_TOOL,
					    .tool_version = BO_VERSION,
					    .status = status,
					    .summary_json = summary_json,
					    .started_at = started,
					    .finished_at = finished};
	rc = drafts_run_finish(c, id, revision, format, &v, err);
	if (!rc) /* the judge, which a later re-test compares with (pipeline/retest.h) */
		rc = retest_stamp_draft_run(c, a, id, revision, format, summary_json, err);
	if (!rc)
		rc = lifecycle_event(c, id, "draft", 0, "tested", message, NULL, err);
	if (!rc)
		rc = lifecycle_finish_testing(c, a->cfg, id, revision, NULL, err);
	if (rc)
		goto fail;
	rc = db_commit(c, err);
	if (!rc)
		log_info("test: %s revision %d: %s", id, revision, message);
	if (!rc && recorded)
		*recorded = 1;
fail:
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

/* ---------------------------------------------------------------- the job */

struct job_ctx {
	struct app *a;
	const struct job *job;
	const char *id;
	const char *format;
	struct test_files files; /* the draft's */
	time_t touched; /* when the lease was last extended */
};

static int begin_run(struct app *a, struct job_ctx *jc, int revision, int *go, struct bo_error *err)
{
	sqlite3 *c = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = check_current(c, jc->id, revision, jc->format, go, err);
	if (rc || !*go)
		goto fail;
	rc = drafts_run_start(c, jc->id, revision, jc->format, now, err);
	if (rc)
		goto fail;
	rc = test_files_list(c, &jc->files, err);
	if (!rc)
		rc = db_commit(c, err);
fail:
	if (rc)
		*go = 0;
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

int test_files_list(sqlite3 *c, struct test_files *f, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = db_prepare(c, &st, "SELECT path FROM files WHERE concept_id = ?1 AND version_or_draft = ?2 ORDER BY path",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, f->id);
	db_bind_text(st, 2, f->folder);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (f->npaths == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nv = realloc(f->paths, ncap * sizeof(*nv));
			if (!nv) {
				rc = oom(err);
				break;
			}
			f->paths = nv;
			cap = ncap;
		}
		if (!(f->paths[f->npaths] = strdup(db_column_text(st, 0)))) {
			rc = oom(err);
			break;
		}
		f->npaths++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list the files to test", err);
	sqlite3_finalize(st);
	return rc;
}

void test_files_free(struct test_files *f)
{
	for (size_t i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	free(f->paths);
	f->paths = NULL;
	f->npaths = 0;
}

int test_files_path_ok(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > STORAGE_KEY_MAX)
		return 0;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n + (e ? 1 : 0);
	}
	return 1;
}

int test_files_fill(struct test_files *f, const char *pkg_dir, struct bo_error *err)
{
	char path[PATH_MAX], key[STORAGE_KEY_MAX + 1];
	int draft = !strcmp(f->folder, "draft");
	if (!f->npaths)
		return bo_error_set(err, BO_ESTORAGE, "%s/%s has no files rows; there is nothing to test", f->id, f->folder);
	for (size_t i = 0; i < f->npaths; i++) {
		const char *rel = f->paths[i];
		/* the stage job checked it; again, since it becomes a local file name */
		if (!test_files_path_ok(rel))
			return bo_error_set(err, BO_EINTERNAL, "file name '%s' is not a safe relative path", rel);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", pkg_dir, rel) >= sizeof(path) ||
		    (size_t)snprintf(key, sizeof(key), "%s/%s/files/%s", f->id, f->folder, rel) >= sizeof(key))
			return bo_error_set(err, BO_EINTERNAL, "file name too long: %s", rel);
		for (char *s = path + strlen(pkg_dir) + 1; (s = strchr(s, '/')); s++) {
			*s = '\0';
			int bad = mkdir(path, 0700) && errno != EEXIST;
			*s = '/';
			if (bad)
				return bo_error_set(err, BO_EINTERNAL, "cannot create a directory for %s: %s", path,
						    strerror(errno));
		}
		int rc = storage_get_file(f->a->storage, key, path, err);
		if (rc == BO_ENOTFOUND)
			return bo_error_set(err, BO_ESTORAGE, "%s is listed as a file of %s/%s but missing from storage%s", key,
					    f->id, f->folder, draft ? "; upload the package again" : "");
		if (rc)
			return rc;
		if (f->job)
			jobs_touch(f->job);
	}
	return 0;
}

static int job_fill(void *ctx, const char *pkg_dir, struct bo_error *err)
{
	return test_files_fill(&((struct job_ctx *)ctx)->files, pkg_dir, err);
}

/* Points each detail's context.produced at the stored copy, by file name. */
static void point_at(cJSON *summary, const char *name, const char *key)
{
	cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(summary, "details"))
	{
		cJSON *ctx = cJSON_GetObjectItemCaseSensitive(d, "context");
		const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx, "produced"));
		if (!p)
			continue;
		const char *base = strrchr(p, '/');
		if (!strcmp(base ? base + 1 : p, name))
			cJSON_ReplaceItemInObjectCaseSensitive(ctx, "produced", cJSON_CreateString(key));
	}
}

static int job_outputs(void *ctx, const char *out_dir, cJSON *summary, struct bo_error *err)
{
	struct job_ctx *jc = ctx;
	char path[PATH_MAX], key[STORAGE_KEY_MAX + 1];
	int rc = 0;
	DIR *d = opendir(out_dir);
	if (!d)
		return 0; /* nothing produced */
	cJSON *kept = cJSON_AddArrayToObject(summary, "test_outputs");
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".npy"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", out_dir, e->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode))
			continue; /* a symlink from the worker could point anywhere */
		if (test_job_output_key(jc->id, jc->format, e->d_name, key, sizeof(key)))
			continue; /* a name storage cannot hold is not kept */
		rc = storage_put_file(jc->a->storage, key, path, "application/octet-stream", NULL, err);
		if (!rc) {
			point_at(summary, e->d_name, key);
			cJSON_AddItemToArray(kept, cJSON_CreateString(key));
		}
	}
	closedir(d);
	return rc;
}

/* A lease is minutes long; extending it every few seconds is enough and keeps the
 * database quiet during a long test. */
static void job_tick(void *ctx)
{
	struct job_ctx *jc = ctx;
	time_t now = time(NULL);
	if (now - jc->touched >= LEASE_TOUCH_SECONDS) {
		jobs_touch(jc->job);
		jc->touched = now;
	}
}

static int step_aside(struct app *a, const char *id, int revision, const char *format, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = enqueue_one(c, id, revision, format, REQUEUE_DELAY_SECONDS, err);
	if (!rc)
		rc = db_commit(c, err);
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

static int payload_of(const struct job *job, int *revision, char *format, size_t n)
{
	cJSON *p = cJSON_Parse(job->payload_json);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "revision");
	const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "weight_format"));
	int ok = cJSON_IsNumber(r) && f && *f && strlen(f) < n;
	if (ok) {
		*revision = r->valueint;
		snprintf(format, n, "%s", f);
	}
	cJSON_Delete(p);
	return ok;
}

/* The run's summary as bioimageio.spec reads one (summary.h), naming what was tested:
 * the public URL of the draft's rdf.yaml, its id, type and format_version. */
static int spec_shape(struct app *a, const char *id, cJSON *summary, struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct draft d = {0};
	char source[STORAGE_KEY_MAX + 2048];
	int found = 0;
	snprintf(source, sizeof(source), "%s/%s/draft/files/%s", a->cfg->files_url, id, RDF_PATH);
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = drafts_get(c, id, 0, &d, &found, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	struct summary_source src = {source, id, found && d.type[0] ? d.type : "model",
				     found && d.format_version[0] ? d.format_version : NULL};
	rc = summary_to_spec(summary, &src) ? oom(err) : 0;
	drafts_release(&d);
	return rc;
}

int test_job_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	struct job_ctx jc = {.a = a, .job = job, .id = job->subject,
			     .files = {.a = a, .job = job, .id = job->subject, .folder = "draft"}};
	char format[64], started[40], prefix[STORAGE_KEY_MAX + 1];
	cJSON *summary = NULL;
	int revision = 0, go = 0, slot = 0, rc;
	if (retest_job_is_version(job)) /* a published version: its files, a new run */
		return retest_job_run(a, job, err);
	if (!payload_of(job, &revision, format, sizeof(format)))
		return bo_error_set(err, BO_EINTERNAL, "test job payload needs a revision and a weight_format");
	jc.format = format;
	if (a->test_slots) {
		if (!slots_take(a->test_slots, SLOT_WAIT_MS)) {
			log_debug("test: %s %s: every test worker slot is busy; trying again in %d s", job->subject, format,
				  REQUEUE_DELAY_SECONDS);
			return step_aside(a, job->subject, revision, format, err);
		}
		slot = 1;
	}
	rc = begin_run(a, &jc, revision, &go, err);
	if (rc || !go)
		goto fail;
	db_now_iso(started, sizeof(started));
	snprintf(prefix, sizeof(prefix), "%s/draft/test_outputs/%s/", jc.id, format);
	rc = storage_delete_prefix(a->storage, prefix, err);
	if (rc)
		goto fail;
	char sandbox_dir[PATH_MAX];
	rc = test_sandbox_dir(a->cfg, sandbox_dir, sizeof(sandbox_dir), err);
	if (rc)
		goto fail;
	struct test_worker_request rq = {
		.cfg = a->cfg,
		.scratch_parent = sandbox_dir,
		.rdf_file = RDF_PATH,
		.weight_format = format,
		.fill = job_fill,
		.outputs = job_outputs,
		.tick = job_tick,
		.ctx = &jc,
	};
	rc = test_worker_run(&rq, &summary, err);
	if (!rc)
		rc = test_job_store(a, jc.id, revision, format, summary, started, NULL, NULL, err);
fail:
	if (slot)
		slots_give(a->test_slots);
	test_files_free(&jc.files);
	cJSON_Delete(summary);
	return rc;
}

int test_job_store(struct app *a, const char *id, int revision, const char *format, cJSON *summary,
		   const char *started, const struct test_job_guard *guard, int *recorded, struct bo_error *err)
{
	char status[16], msg[640];
	char *summary_json = NULL;
	snprintf(status, sizeof(status), "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(summary, "status")));
	if (!strcmp(status, "error")) {
		const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(summary, "details"), 0);
		const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d0, "errors"), 0);
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e0, "msg"));
		snprintf(msg, sizeof(msg), "dynamic test (%s): error: %.500s", format, why ? why : "see the summary");
	} else {
		snprintf(msg, sizeof(msg), "dynamic test (%s) %s", format, status);
	}
	int rc = spec_shape(a, id, summary, err);
	if (rc)
		return rc;
	summary_json = cJSON_PrintUnformatted(summary);
	if (!summary_json)
		return oom(err);
	rc = record(a, id, revision, format, status, summary_json, started, msg, guard, recorded, err);
	free(summary_json);
	return rc;
}

int test_job_start(struct app *a, const char *id, int revision, const char *format, int *go, struct bo_error *err)
{
	sqlite3 *c = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = check_current(c, id, revision, format, go, err);
	if (!rc && *go)
		rc = drafts_run_start(c, id, revision, format, now, err);
	if (!rc)
		rc = db_commit(c, err);
	if (rc)
		*go = 0;
	db_rollback(c);
	db_release(a->db, c);
	return rc;
}

void test_job_point_output(cJSON *summary, const char *name, const char *key)
{
	cJSON *kept = cJSON_GetObjectItemCaseSensitive(summary, "test_outputs");
	if (!cJSON_IsArray(kept)) {
		cJSON_DeleteItemFromObjectCaseSensitive(summary, "test_outputs");
		kept = cJSON_AddArrayToObject(summary, "test_outputs");
	}
	point_at(summary, name, key);
	if (kept)
		cJSON_AddItemToArray(kept, cJSON_CreateString(key));
}

int test_job_output_key(const char *id, const char *format, const char *name, char *buf, size_t n)
{
	struct bo_error kerr = BO_ERROR_INIT;
	int bad = (size_t)snprintf(buf, n, "%s/draft/test_outputs/%s/%s", id, format, name) >= n ||
		  storage_check_key(buf, &kerr);
	bo_error_cleanup(&kerr);
	return bad ? -1 : 0;
}

void test_job_dead(void *ctx, const struct job *job, const char *last_error)
{
	struct app *a = ctx;
	struct bo_error err = BO_ERROR_INIT;
	char format[64], msg[BO_ERROR_DETAIL_MAX + 256], line[BO_ERROR_DETAIL_MAX + 400];
	int revision = 0;
	char *json = NULL;
	if (retest_job_is_version(job)) {
		retest_job_dead(a, job, last_error);
		return;
	}
	if (!payload_of(job, &revision, format, sizeof(format)))
		return;
	snprintf(msg, sizeof(msg),
		 "the test could not finish after %d attempts (%s); a reviewer can re-run the tests, or an operator "
		 "can retry it with 'backoffice jobs retry %lld'",
		 job->attempts, last_error ? last_error : "unknown error", (long long)job->id);
	cJSON *s = error_summary(format, msg);
	if (s && spec_shape(a, job->subject, s, &err)) {
		cJSON_Delete(s);
		s = NULL;
	}
	json = s ? cJSON_PrintUnformatted(s) : NULL;
	cJSON_Delete(s);
	snprintf(line, sizeof(line), "dynamic test (%s): error: %s", format, msg);
	int rc = json ? record(a, job->subject, revision, format, "error", json, NULL, line, NULL, NULL, &err) : BO_ENOMEM;
	if (rc)
		log_error("test: %s: cannot record the failure of test job %lld: %s", job->subject, (long long)job->id,
			  err.detail[0] ? err.detail : "out of memory");
	free(json);
	bo_error_cleanup(&err);
}

/* ---------------------------------------------------------------- re-run */

int test_job_rerun(struct app *a, int64_t actor_id, const char *concept_id, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct draft_runs runs = {0};
	char verdict[32];
	enum draft_state state;
	int revision = 0, found = 0;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = drafts_state(c, concept_id, &revision, &state, &found, err);
	if (rc)
		goto fail;
	if (!found) {
		rc = bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", concept_id);
		goto fail;
	}
	if (state != DRAFT_AWAITING_REVIEW && state != DRAFT_CHANGES_REQUESTED) {
		rc = bo_error_set(err, BO_ECONFLICT,
				  "the draft of '%s' is '%s'; tests can be re-run in 'awaiting review' or 'changes requested'",
				  concept_id, drafts_state_name(state));
		goto fail;
	}
	rc = drafts_run_static_status(c, concept_id, revision, verdict, sizeof(verdict), err);
	if (rc)
		goto fail;
	if (!strcmp(verdict, "failed")) {
		rc = bo_error_set(err, BO_ECONFLICT,
				  "static validation of revision %d failed, so it has no dynamic tests; upload a fixed package",
				  revision);
		goto fail;
	}
	/* entering testing from review queues the runs (a conflict when there is nothing to test) */
	rc = lifecycle_transition(c, a->cfg, concept_id, revision, DRAFT_TESTING, NULL, actor_id, err);
	if (!rc)
		rc = lifecycle_event(c, concept_id, "draft", actor_id, "tests re-run", "dynamic tests re-run", NULL, err);
	if (!rc)
		rc = drafts_runs_list(c, concept_id, revision, &runs, err);
	if (rc)
		goto fail;
	o = cJSON_CreateObject();
	cJSON *tests = NULL;
	if (!o || !cJSON_AddStringToObject(o, "id", concept_id) || !cJSON_AddNumberToObject(o, "revision", revision) ||
	    !cJSON_AddStringToObject(o, "state", drafts_state_name(DRAFT_TESTING)) ||
	    !(tests = cJSON_AddArrayToObject(o, "tests"))) {
		rc = oom(err);
		goto fail;
	}
	for (size_t i = 0; i < runs.n; i++) {
		if (strcmp(runs.v[i].kind, "dynamic"))
			continue;
		cJSON *t = cJSON_CreateObject();
		if (!t || !cJSON_AddItemToArray(tests, t)) {
			cJSON_Delete(t);
			rc = oom(err);
			goto fail;
		}
		cJSON_AddStringToObject(t, "weight_format", runs.v[i].weight_format);
		cJSON_AddStringToObject(t, "status", runs.v[i].status);
	}
	rc = db_commit(c, err);
	if (rc)
		goto fail;
	jobs_notify(a->jobs);
	*out = o;
	o = NULL;
fail:
	db_rollback(c);
	db_release(a->db, c);
	drafts_runs_free(&runs);
	cJSON_Delete(o);
	return rc;
}

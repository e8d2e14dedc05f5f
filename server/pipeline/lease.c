/* lease: test jobs for remote workers (lease.h). The server never trusts what a worker
 * sends: the capabilities only choose jobs, a result is shape-checked and then stored by
 * test_job_store like a local worker's, and it is stored only inside a transaction that
 * finds the lease still holding its job (domain/leases). I/O (storage) happens outside
 * transactions. */
#include "pipeline/lease.h"

#include "app.h"
#include "common/error.h"
#include "common/log.h"
#include "common/npy.h"
#include "domain/auth.h"
#include "domain/drafts.h"
#include "domain/leases.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/storage.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 200
#define FORMATS_MAX 16
#define FORMAT_NAME_MAX 63
#define DETAILS_MAX 1000
#define PRESIGN_MIN_SECONDS 60 /* downloads start at once, but a slow link needs a minute */

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

static int bad(struct bo_error *err, const char *what)
{
	return bo_error_set(err, BO_EBADREQUEST, "%s", what);
}

static int lease_mode(struct app *a, struct bo_error *err)
{
	if (strcmp(a->cfg->test_runner, "lease") && strcmp(a->cfg->test_runner, "slurm"))
		return bo_error_set(err, BO_ECONFLICT, "this server runs its tests itself (test_runner=%s); it leases no jobs",
				    a->cfg->test_runner);
	return 0;
}

/* A job-scoped token (test_runner=slurm, one per Slurm job) holds only its own job's lease. */
static int scope_allows(const struct auth_user *u, const struct lease *l, struct bo_error *err)
{
	int64_t only = auth_scope_job(u->scope);
	if (only && only != l->job_id)
		return bo_error_set(err, BO_ENOTFOUND, "no lease %s for this worker", l->id);
	return 0;
}

/* ---------------------------------------------------------------- acquire */

/* capabilities.weight_formats as a JSON array text (malloc'd) after checking the body. */
static int parse_request(const cJSON *body, char **formats_out, char **caps_out, int *wait_out, struct bo_error *err)
{
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(body, "capabilities");
	const cJSON *formats = cJSON_GetObjectItemCaseSensitive(caps, "weight_formats");
	const cJSON *runtimes = cJSON_GetObjectItemCaseSensitive(caps, "runtimes");
	const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(caps, "gpu");
	const cJSON *wait = cJSON_GetObjectItemCaseSensitive(body, "wait_seconds");
	const cJSON *f;
	if (!cJSON_IsObject(body) || !cJSON_IsObject(caps))
		return bad(err, "the body must be an object with 'capabilities' (an object)");
	if (!cJSON_IsArray(formats) || cJSON_GetArraySize(formats) < 1 || cJSON_GetArraySize(formats) > FORMATS_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "capabilities.weight_formats must be an array of 1..%d names",
				    FORMATS_MAX);
	cJSON_ArrayForEach(f, formats)
	{
		const char *s = cJSON_GetStringValue(f);
		if (!s || !*s || strlen(s) > FORMAT_NAME_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(s))
			return bad(err, "capabilities.weight_formats holds a name that is not [a-z0-9_]{1,63}");
	}
	if (runtimes && !cJSON_IsObject(runtimes))
		return bad(err, "capabilities.runtimes must be an object {runtime: version}");
	cJSON_ArrayForEach(f, runtimes)
	if (!cJSON_IsString(f) || strlen(f->valuestring) > 64)
		return bad(err, "capabilities.runtimes values must be version strings of at most 64 bytes");
	if (gpu && !cJSON_IsBool(gpu))
		return bad(err, "capabilities.gpu must be true or false");
	if (wait && (!cJSON_IsNumber(wait) || wait->valuedouble < 0 || wait->valuedouble > LEASE_WAIT_MAX))
		return bo_error_set(err, BO_EBADREQUEST, "wait_seconds must be a number from 0 to %d", LEASE_WAIT_MAX);
	*wait_out = wait ? (int)wait->valuedouble : 0;
	*formats_out = cJSON_PrintUnformatted(formats);
	*caps_out = cJSON_PrintUnformatted(caps);
	if (!*formats_out || !*caps_out) {
		free(*formats_out);
		free(*caps_out);
		return oom(err);
	}
	return 0;
}

/* Jobs whose lease expired once too often: their runs become `error` (test_job_dead). */
static void bury(struct app *a, const cJSON *dead)
{
	const cJSON *d;
	cJSON_ArrayForEach(d, dead)
	{
		struct job job = {
			.id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "id")),
			.kind = "test",
			.subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "subject")),
			.payload_json = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "payload")),
			.attempts = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "attempts")),
		};
		log_warnx("lease: test job %lld (%s) lost its lease worker %d times; it is dead", (long long)job.id,
			  job.subject, job.attempts);
		test_job_dead(a, &job, "its lease workers stopped heartbeating (leases expired)");
	}
}

/* Expires old leases, then claims one job: 1 with *l and secret filled, 0 when none. */
static int claim_once(struct app *a, const struct auth_user *u, const char *formats, const char *caps,
		      struct lease *l, char *secret, struct bo_error *err)
{
	sqlite3 *c = NULL;
	cJSON *dead = NULL;
	int found = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = leases_expire(c, db_now_unix(), NULL, &dead, err);
	if (!rc)
		rc = db_begin(c, err);
	if (!rc)
		rc = leases_claim_job(c, u->id, auth_scope_job(u->scope), formats, caps, a->cfg->worker_lease_seconds,
				      a->cfg->job_max_attempts, db_now_unix(), l, secret, &found, err);
	if (!rc)
		rc = db_commit(c, err);
	db_rollback(c);
	db_release(a->db, c);
	if (dead)
		bury(a, dead);
	cJSON_Delete(dead);
	return rc ? rc : found;
}

static int close_lease(struct app *a, const char *id, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = leases_close(c, id, err);
	db_release(a->db, c);
	return rc;
}

/* path percent-encoded but for its slashes and unreserved characters. */
static int encode_path(const char *p, char *out, size_t n)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *s = (const unsigned char *)p; *s; s++) {
		int plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
			    strchr("-._~/", *s);
		if (o + (plain ? 1 : 3) >= n)
			return -1;
		if (plain) {
			out[o++] = (char)*s;
		} else {
			out[o++] = '%';
			out[o++] = hexd[*s >> 4];
			out[o++] = hexd[*s & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* The job part of the answer: what to run and where its files are. */
static int describe(struct app *a, const struct lease *l, const char *secret, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	cJSON *files = NULL, *o = NULL;
	char key[STORAGE_KEY_MAX + 1], enc[3 * STORAGE_KEY_MAX + 1], path[3 * STORAGE_KEY_MAX + 200], url[sizeof(path) + 2048];
	int s3 = !strcmp(storage_backend_name(a->storage), "s3");
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = leases_files(c, l->concept_id, &files, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *f;
	cJSON_ArrayForEach(f, files)
	{
		const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
		char *signed_url = NULL;
		if ((size_t)snprintf(key, sizeof(key), "%s/draft/files/%s", l->concept_id, rel) >= sizeof(key)) {
			rc = bo_error_set(err, BO_EINTERNAL, "draft file name too long: %s", rel);
			goto fail;
		}
		if (s3) {
			int secs = (int)a->cfg->worker_lease_seconds;
			rc = storage_presign_get(a->storage, key, secs < PRESIGN_MIN_SECONDS ? PRESIGN_MIN_SECONDS : secs,
						 a->cfg->public_url, NULL, &signed_url, err);
			if (rc)
				goto fail;
			snprintf(url, sizeof(url), "%s", signed_url);
			free(signed_url);
		} else {
			if (encode_path(rel, enc, sizeof(enc))) {
				rc = bo_error_set(err, BO_EINTERNAL, "draft file name too long: %s", rel);
				goto fail;
			}
			snprintf(path, sizeof(path), "/api/v1/worker/files/%s/%s", secret, enc);
			config_url(a->cfg, path, url, sizeof(url));
		}
		if (!cJSON_AddStringToObject(f, "url", url)) {
			rc = oom(err);
			goto fail;
		}
	}
	o = cJSON_CreateObject();
	cJSON *job = cJSON_AddObjectToObject(o, "job");
	cJSON *spec = cJSON_AddObjectToObject(job, "spec");
	/* PROTOCOL.md's spec without the paths, which are the worker host's own */
	if (!o || !job || !spec || !cJSON_AddStringToObject(o, "lease_id", l->id) ||
	    !cJSON_AddNumberToObject(o, "lease_seconds", (double)a->cfg->worker_lease_seconds) ||
	    !cJSON_AddStringToObject(job, "concept", l->concept_id) || !cJSON_AddNumberToObject(job, "revision", l->revision) ||
	    !cJSON_AddStringToObject(job, "weight_format", l->weight_format) ||
	    !cJSON_AddStringToObject(spec, "rdf_file", "rdf.yaml") ||
	    !cJSON_AddStringToObject(spec, "weight_format", l->weight_format) || !cJSON_AddNullToObject(spec, "tolerance") ||
	    !cJSON_AddNumberToObject(spec, "threads", 1)) {
		rc = oom(err);
		goto fail;
	}
	cJSON_AddItemToObject(job, "files", files);
	files = NULL;
	const char *const links[][2] = {{"heartbeat_url", "heartbeat"}, {"result_url", "result"}, {"outputs_url", "outputs/"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/worker/leases/%s/%s", l->id, links[i][1]);
		config_url(a->cfg, path, url, sizeof(url));
		if (!cJSON_AddStringToObject(o, links[i][0], url)) {
			rc = oom(err);
			goto fail;
		}
	}
	*out = o;
	o = NULL;
fail:
	cJSON_Delete(files);
	cJSON_Delete(o);
	return rc;
}

int lease_acquire(struct app *a, const struct auth_user *u, const cJSON *body, cJSON **out, struct bo_error *err)
{
	char *formats = NULL, *caps = NULL, secret[LEASES_SECRET_LEN + 1], prefix[STORAGE_KEY_MAX + 1];
	struct lease l;
	int wait = 0, polling = 0;
	*out = NULL;
	int rc = lease_mode(a, err);
	if (!rc)
		rc = parse_request(body, &formats, &caps, &wait, err);
	if (rc)
		return rc;
	/* each long poll holds a connection thread: past the bound, answer at once */
	if (wait > 0) {
		if (__atomic_add_fetch(&a->lease_polls, 1, __ATOMIC_SEQ_CST) > LEASE_POLLS_MAX)
			wait = 0;
		polling = 1;
	}
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int got = claim_once(a, u, formats, caps, &l, secret, err);
		if (got < 0) {
			rc = got;
			goto fail;
		}
		if (got) {
			int go = 0;
			rc = test_job_start(a, l.concept_id, l.revision, l.weight_format, &go, err);
			if (rc)
				goto fail;
			if (go)
				break;
			/* a stale job (the draft moved on): done, and look again at once */
			rc = close_lease(a, l.id, err);
			if (rc)
				goto fail;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)wait * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			goto fail; /* rc 0, *out NULL: nothing for this worker */
		struct timespec nap = {0, (left < POLL_MS ? left : POLL_MS) * 1000000L};
		nanosleep(&nap, NULL);
	}
	/* a new run starts without the tensors of an earlier one */
	snprintf(prefix, sizeof(prefix), "%s/draft/test_outputs/%s/", l.concept_id, l.weight_format);
	rc = storage_delete_prefix(a->storage, prefix, err);
	if (!rc)
		rc = describe(a, &l, secret, out, err);
	if (!rc)
		log_info("lease: %s revision %d %s leased to user %lld (lease %.8s…)", l.concept_id, l.revision,
			 l.weight_format, (long long)u->id, l.id);
fail:
	if (polling)
		__atomic_sub_fetch(&a->lease_polls, 1, __ATOMIC_SEQ_CST);
	free(formats);
	free(caps);
	return rc;
}

/* ---------------------------------------------------------------- heartbeat */

/* The lease of u at id, live; a lease whose draft moved on ends here (BO_EGONE). */
static int live_lease(struct app *a, sqlite3 *c, const struct auth_user *u, const char *id, struct lease *l,
		      struct bo_error *err)
{
	enum draft_state state;
	int cur = 0, found = 0;
	int rc = leases_check(c, id, u->id, db_now_unix(), l, err);
	if (!rc)
		rc = scope_allows(u, l, err);
	if (!rc)
		rc = drafts_state(c, l->concept_id, &cur, &state, &found, err);
	if (rc)
		return rc;
	if (!found || cur != l->revision) {
		rc = leases_close(c, id, err);
		(void)a;
		return rc ? rc : bo_error_set(err, BO_EGONE, "the draft of lease %s moved on to another revision", id);
	}
	return 0;
}

int lease_heartbeat(struct app *a, const struct auth_user *u, const char *id, cJSON **out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct lease l;
	int rc = lease_mode(a, err);
	if (rc)
		return rc;
	rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = live_lease(a, c, u, id, &l, err);
	if (!rc)
		rc = leases_extend(c, id, a->cfg->worker_lease_seconds, db_now_unix(), err);
	db_release(a->db, c);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "lease_seconds", (double)a->cfg->worker_lease_seconds)) {
		cJSON_Delete(o);
		return oom(err);
	}
	*out = o;
	return 0;
}

/* ---------------------------------------------------------------- result */

static int status_ok(const char *s)
{
	return s && (!strcmp(s, "passed") || !strcmp(s, "failed") || !strcmp(s, "skipped") || !strcmp(s, "error"));
}

/* A worker's summary, as untrusted as any upload: the fields we read and show must have
 * their types; the rest is kept as the worker wrote it (bounded by the body limit). */
static int check_summary(const cJSON *s, const char *format, struct bo_error *err)
{
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(s, "details");
	const cJSON *wf = cJSON_GetObjectItemCaseSensitive(s, "weight_format");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(s, "env");
	const cJSON *d;
	int i = 0;
	if (!cJSON_IsObject(s))
		return bad(err, "the result must be a JSON object (a test summary, workers/PROTOCOL.md)");
	if (!status_ok(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "status"))))
		return bad(err, "result.status must be passed, failed, skipped or error");
	if (!cJSON_IsArray(details) || cJSON_GetArraySize(details) > DETAILS_MAX)
		return bo_error_set(err, BO_EBADREQUEST, "result.details must be an array of at most %d checks", DETAILS_MAX);
	if (wf && (!cJSON_IsString(wf) || strcmp(wf->valuestring, format)))
		return bo_error_set(err, BO_EBADREQUEST, "result.weight_format must be '%s', the leased job's", format);
	if (name && !cJSON_IsString(name))
		return bad(err, "result.name must be a string");
	if (env && !cJSON_IsObject(env))
		return bad(err, "result.env must be an object");
	cJSON_ArrayForEach(d, details)
	{
		const cJSON *errs = cJSON_GetObjectItemCaseSensitive(d, "errors");
		const cJSON *warns = cJSON_GetObjectItemCaseSensitive(d, "warnings");
		const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(d, "context");
		if (!cJSON_IsObject(d) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "name")) ||
		    !status_ok(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"))) ||
		    (errs && !cJSON_IsArray(errs)) || (warns && !cJSON_IsArray(warns)) || (ctx && !cJSON_IsObject(ctx)))
			return bo_error_set(err, BO_EBADREQUEST,
					    "result.details[%d] must be an object with name, status (passed|failed|skipped|error) "
					    "and arrays errors and warnings",
					    i);
		const cJSON *e;
		cJSON_ArrayForEach(e, errs)
		if (!cJSON_IsObject(e) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "msg")))
			return bo_error_set(err, BO_EBADREQUEST, "result.details[%d].errors: each needs a msg string", i);
		i++;
	}
	return 0;
}

struct keys {
	cJSON *list;
};

static int add_key(void *ctx, const char *key, uint64_t size)
{
	(void)size;
	struct keys *k = ctx;
	return cJSON_AddItemToArray(k->list, cJSON_CreateString(key)) ? 0 : 1;
}

/* The produced tensors this lease uploaded, pointed at from the summary. */
static int attach_outputs(struct app *a, const struct lease *l, cJSON *summary, struct bo_error *err)
{
	char prefix[STORAGE_KEY_MAX + 1];
	struct keys k = {cJSON_CreateArray()};
	char *next = NULL;
	if (!k.list)
		return oom(err);
	snprintf(prefix, sizeof(prefix), "%s/draft/test_outputs/%s/", l->concept_id, l->weight_format);
	int rc = storage_list(a->storage, prefix, NULL, 1000, add_key, &k, &next, err);
	free(next);
	const cJSON *key;
	cJSON_ArrayForEach(key, k.list)
	{
		const char *base = strrchr(key->valuestring, '/');
		test_job_point_output(summary, base ? base + 1 : key->valuestring, key->valuestring);
	}
	cJSON_Delete(k.list);
	return rc;
}

struct guard_ctx {
	const char *id;
	int64_t user_id;
};

/* In the verdict's transaction: the lease still holds its job, and ends with it. */
static int guard_lease(sqlite3 *c, void *ctx, struct bo_error *err)
{
	struct guard_ctx *g = ctx;
	struct lease l;
	int rc = leases_check(c, g->id, g->user_id, db_now_unix(), &l, err);
	return rc ? rc : leases_close(c, g->id, err);
}

int lease_result(struct app *a, const struct auth_user *u, const char *id, const cJSON *body, cJSON **out,
		 struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct lease l;
	cJSON *summary = NULL, *o = NULL;
	int recorded = 0;
	int rc = lease_mode(a, err);
	if (rc)
		return rc;
	rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = leases_check(c, id, u->id, db_now_unix(), &l, err);
	db_release(a->db, c);
	if (!rc)
		rc = scope_allows(u, &l, err);
	if (!rc)
		rc = check_summary(body, l.weight_format, err);
	if (rc)
		return rc;
	if (!(summary = cJSON_Duplicate(body, 1)))
		return oom(err);
	/* what the server adds itself, as for a local run */
	cJSON_DeleteItemFromObjectCaseSensitive(summary, "test_outputs");
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(summary, "status"));
	if (!strcmp(status, "failed"))
		rc = attach_outputs(a, &l, summary, err);
	struct guard_ctx g = {id, u->id};
	const struct test_job_guard guard = {guard_lease, &g};
	if (!rc)
		rc = test_job_store(a, l.concept_id, l.revision, l.weight_format, summary, NULL, &guard, &recorded, err);
	if (rc)
		goto fail;
	if (!recorded) {
		/* the run got a verdict elsewhere or the draft moved on: the lease ends empty-handed */
		rc = close_lease(a, id, err);
		if (!rc)
			rc = bo_error_set(err, BO_ECONFLICT,
					  "the run of lease %s already has a verdict or its draft moved on; nothing was stored", id);
		goto fail;
	}
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddTrueToObject(o, "stored") ||
	    !cJSON_AddStringToObject(o, "status", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(summary, "status")))) {
		rc = oom(err);
		goto fail;
	}
	log_info("lease: %s revision %d %s: result of lease %.8s… stored", l.concept_id, l.revision, l.weight_format, id);
	*out = o;
	o = NULL;
fail:
	cJSON_Delete(summary);
	cJSON_Delete(o);
	return rc;
}

/* ---------------------------------------------------------------- produced tensors */

int lease_output(struct app *a, const struct auth_user *u, const char *id, const char *file, const char *path,
		 uint64_t size, struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct lease l;
	char key[STORAGE_KEY_MAX + 1], head[4096];
	struct npy_header h;
	size_t n = strlen(file);
	int rc = lease_mode(a, err);
	if (rc)
		return rc;
	if (n < 5 || n > 132 || strcmp(file + n - 4, ".npy") || file[0] == '.' ||
	    strspn(file, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return bad(err, "a produced tensor is <output name>.npy, the name of [A-Za-z0-9._-]");
	if (size > LEASE_OUTPUT_MAX)
		return bo_error_set(err, BO_ETOOLARGE, "a produced tensor may have at most %llu bytes",
				    (unsigned long long)LEASE_OUTPUT_MAX);
	rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = live_lease(a, c, u, id, &l, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot read the uploaded tensor: %s", strerror(errno));
	ssize_t got = read(fd, head, sizeof(head));
	close(fd);
	size_t needed = 0;
	struct bo_error nerr = BO_ERROR_INIT;
	rc = got > 0 ? npy_parse_header(head, (size_t)got, &h, &needed, &nerr) : 1;
	if (rc < 0)
		rc = bo_error_set(err, BO_EBADREQUEST, "not an .npy file: %s", nerr.detail);
	else if (rc == 1 || h.data_offset + (uint64_t)h.count * (uint64_t)h.item_size != size)
		rc = bad(err, "the body is not a complete .npy file (its header and size disagree)");
	bo_error_cleanup(&nerr);
	if (rc)
		return rc;
	if (test_job_output_key(l.concept_id, l.weight_format, file, key, sizeof(key)))
		return bad(err, "storage cannot hold a tensor of that name");
	return storage_put_file(a->storage, key, path, "application/octet-stream", NULL, err);
}

/* ---------------------------------------------------------------- files */

int lease_file(struct app *a, const char *secret, const char *path, int *fd_out, uint64_t *size_out,
	       struct bo_error *err)
{
	sqlite3 *c = NULL;
	struct lease l;
	char key[STORAGE_KEY_MAX + 1];
	int found = 0;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = leases_by_secret(c, secret, db_now_unix(), &l, err);
	if (!rc)
		rc = leases_file_known(c, l.concept_id, path, &found, err);
	db_release(a->db, c);
	if (rc)
		return rc;
	if (!found || (size_t)snprintf(key, sizeof(key), "%s/draft/files/%s", l.concept_id, path) >= sizeof(key))
		return bo_error_set(err, BO_ENOTFOUND, "no such file in this job's package");
	return storage_open_fd(a->storage, key, fd_out, size_out, err);
}

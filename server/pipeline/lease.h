/* lease: the server side of remote test workers (test_runner=lease, and the Slurm runner's jobs; README "Runners").
 * A worker token's long poll leases one `test` job the worker can run (its weight format
 * among the worker's capabilities) with short-lived capability URLs for the draft's
 * files; heartbeats extend the lease; the result goes through the same code path as a
 * local worker run's (test_job_store), inside a transaction that first checks the lease
 * still owns its job, so exactly one result is kept per run. Bookkeeping: domain/leases. */
#ifndef BO_LEASE_H
#define BO_LEASE_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct auth_user;
struct bo_error;
struct cJSON;

/* The longest long poll (seconds) and the most long polls held at once (more are answered
 * at once, without waiting: each holds a connection thread). */
#define LEASE_WAIT_MAX 30
#define LEASE_POLLS_MAX 32
/* Largest result body (bytes, 413) and largest produced tensor a worker may upload. */
#define LEASE_RESULT_MAX (1u << 20)
#define LEASE_OUTPUT_MAX (1ull << 30)

/* POST /api/v1/worker/lease: body {capabilities: {weight_formats: [..], runtimes: {..}, gpu},
 * wait_seconds 0..LEASE_WAIT_MAX}. *out = {lease_id, lease_seconds, job: {concept, revision,
 * weight_format, spec, files: [{path, size, sha256, url}]}, heartbeat_url, result_url,
 * outputs_url}, or NULL when no job came within wait_seconds (204). BO_EBADREQUEST (body
 * shape), BO_ECONFLICT (test_runner is neither lease nor slurm), BO_EDATABASE, BO_ESTORAGE. */
int lease_acquire(struct app *a, const struct auth_user *u, const struct cJSON *body, struct cJSON **out,
		  struct bo_error *err);

/* POST …/leases/{id}/heartbeat: *out = {lease_seconds}. BO_ENOTFOUND (not this worker's),
 * BO_ECONFLICT (a result was stored), BO_EGONE (expired, or the draft moved on). */
int lease_heartbeat(struct app *a, const struct auth_user *u, const char *id, struct cJSON **out,
		    struct bo_error *err);

/* PUT …/leases/{id}/result: body a test summary (PROTOCOL.md "Result"), checked like any
 * untrusted input (BO_EBADREQUEST naming the offence). Stored as the run's verdict and the
 * lease ends: *out = {stored: true, status}. BO_ENOTFOUND, BO_ECONFLICT (a second result,
 * or the run already has a verdict), BO_EGONE (expired or superseded lease: nothing stored). */
int lease_result(struct app *a, const struct auth_user *u, const char *id, const struct cJSON *body,
		 struct cJSON **out, struct bo_error *err);

/* PUT …/leases/{id}/outputs/{name}.npy: the produced tensor in the file at path (size
 * bytes), kept where a local run keeps it. BO_EBADREQUEST (name, not an .npy), BO_ETOOLARGE,
 * and the lease codes of lease_heartbeat. */
int lease_output(struct app *a, const struct auth_user *u, const char *id, const char *file, const char *path,
		 uint64_t size, struct bo_error *err);

/* GET /api/v1/worker/files/{secret}/{path}: opens a draft file of the lease whose file
 * secret this is (*fd_out, *size_out; the caller closes). BO_EFORBIDDEN when the secret is
 * unknown or its lease ended, BO_ENOTFOUND for a path that is not a file of that draft. */
int lease_file(struct app *a, const char *secret, const char *path, int *fd_out, uint64_t *size_out,
	       struct bo_error *err);

#endif

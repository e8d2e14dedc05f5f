/* routes_worker: what lease workers (test_runner=lease) call with a worker token — lease a
 * test job (long poll), heartbeat it, upload its produced tensors and its result — and the
 * job-scoped file links they download the package from. The rules live in pipeline/lease;
 * these handlers only read the request and shape the reply. */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "domain/auth.h"
#include "pipeline/lease.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <unistd.h>

static int post_lease(http_req *r)
{
	cJSON *body = http_json(r);
	if (!body)
		return http_err(r)->code;
	cJSON *o = NULL;
	int rc = lease_acquire(http_app(r), http_user(r), body, &o, http_err(r));
	if (rc)
		return rc;
	return o ? http_reply_json(r, 200, o) : http_reply_data(r, 204, NULL, "", 0);
}

static int post_heartbeat(http_req *r)
{
	cJSON *o = NULL;
	int rc = lease_heartbeat(http_app(r), http_user(r), http_param(r, "lease"), &o, http_err(r));
	return rc ? rc : http_reply_json(r, 200, o);
}

static int put_result(http_req *r)
{
	size_t len = 0;
	http_body(r, &len);
	if (len > LEASE_RESULT_MAX)
		return bo_error_set(http_err(r), BO_ETOOLARGE, "a result may have at most %u bytes", LEASE_RESULT_MAX);
	cJSON *body = http_json(r);
	if (!body)
		return http_err(r)->code;
	cJSON *o = NULL;
	int rc = lease_result(http_app(r), http_user(r), http_param(r, "lease"), body, &o, http_err(r));
	return rc ? rc : http_reply_json(r, 200, o);
}

static int put_output(http_req *r)
{
	const struct http_upload *up = http_upload(r);
	if (!up)
		return bo_error_set(http_err(r), BO_EMEDIATYPE, "send the tensor as application/octet-stream");
	int rc = lease_output(http_app(r), http_user(r), http_param(r, "lease"), http_param(r, "file"), up->path,
			      up->size, http_err(r));
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddTrueToObject(o, "stored")) {
		cJSON_Delete(o);
		return bo_error_set(http_err(r), BO_ENOMEM, "out of memory");
	}
	return http_reply_json(r, 200, o);
}

/* The secret in the path is the capability: no token, only while the lease lives, only
 * the files of its draft. */
static int get_file(http_req *r)
{
	int fd = -1;
	uint64_t size = 0;
	int rc = lease_file(http_app(r), http_param(r, "secret"), http_param(r, "path"), &fd, &size, http_err(r));
	if (rc)
		return rc;
	if (http_add_header(r, "Cache-Control", "no-store")) {
		close(fd);
		return bo_error_set(http_err(r), BO_ENOMEM, "out of memory");
	}
	return http_reply_fd(r, 200, "application/octet-stream", fd, size);
}

static const struct route table[] = {
	{"POST", "/api/v1/worker/lease", HTTP_BODY_JSON, AUTH_ROLE_WORKER, post_lease,
	 "lease a test job this worker can run (long poll up to wait_seconds; 204 when none) (worker token)"},
	{"POST", "/api/v1/worker/leases/{lease}/heartbeat", HTTP_BODY_JSON, AUTH_ROLE_WORKER, post_heartbeat,
	 "extend a lease (410 when it expired or its job moved on) (worker token)"},
	{"PUT", "/api/v1/worker/leases/{lease}/result", HTTP_BODY_JSON, AUTH_ROLE_WORKER, put_result,
	 "the test summary of a leased job; ends the lease (worker token)"},
	{"PUT", "/api/v1/worker/leases/{lease}/outputs/{file}", HTTP_BODY_UPLOAD, AUTH_ROLE_WORKER, put_output,
	 "a produced tensor <output>.npy of a failed comparison (worker token)"},
	{"GET", "/api/v1/worker/files/{secret}/{*path}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_file,
	 "a package file of a leased job (the secret is the capability; only while the lease lives)"},
};

const struct route_table routes_worker = {table, sizeof(table) / sizeof(table[0])};

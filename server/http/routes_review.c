/* routes_review: the reviewer's and maintainer's endpoints — review queue, decisions,
 * chat, a published version and yanking it. The rules live in `review`; these handlers
 * only read the request and shape the reply. */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "domain/auth.h"
#include "infra/db.h"
#include "pipeline/draft_diff.h"
#include "pipeline/review.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *field(const cJSON *o, const char *name) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name)); }

static int get_queue(http_req *r)
{
	cJSON *o = NULL;
	int rc = review_queue(http_app(r), &o, http_err(r));
	return rc ? rc : http_reply_json(r, 200, o);
}

/* Public, as the draft it compares is. */
static int get_diff(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	sqlite3 *c = NULL;
	cJSON *o = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = draft_diff_view(a, c, http_param(r, "id"), &o, err);
	db_release(a->db, c);
	return rc ? rc : http_reply_json(r, 200, o);
}

/* Text, never HTML: the uploader's bytes are served as text/plain. */
static int get_original(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	sqlite3 *c = NULL;
	char *text = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = draft_diff_original(c, http_param(r, "id"), &text, err);
	db_release(a->db, c);
	if (!rc)
		rc = routes_reply_uploaded(r, "text/plain; charset=utf-8", text, strlen(text));
	free(text);
	return rc;
}

static int post_review(http_req *r)
{
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r);
	if (!body)
		return err->code;
	const char *decision = field(body, "decision");
	const cJSON *ack = cJSON_GetObjectItemCaseSensitive(body, "acknowledge_failed_tests");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(body, "message");
	if (!decision || (strcmp(decision, "accept") && strcmp(decision, "request_changes")))
		return bo_error_set(err, BO_EBADREQUEST,
				    "'decision' must be \"accept\" or \"request_changes\"");
	if (ack && !cJSON_IsBool(ack))
		return bo_error_set(err, BO_EBADREQUEST, "'acknowledge_failed_tests' must be true or false");
	if (msg && !cJSON_IsString(msg) && !cJSON_IsNull(msg))
		return bo_error_set(err, BO_EBADREQUEST, "'message' must be a string");
	struct review_decision d = {
		.accept = !strcmp(decision, "accept"),
		.message = cJSON_IsString(msg) ? msg->valuestring : NULL,
		.acknowledge_failed_tests = cJSON_IsTrue(ack),
	};
	cJSON *o = NULL;
	int rc = review_decide(http_app(r), http_user(r), http_param(r, "id"), &d, &o, err);
	return rc ? rc : http_reply_json(r, d.accept ? 202 : 200, o);
}

static int get_chat(http_req *r)
{
	cJSON *o = NULL;
	int rc = review_chat_list(http_app(r), http_user(r), http_param(r, "id"), &o, http_err(r));
	return rc ? rc : http_reply_json(r, 200, o);
}

static int post_chat(http_req *r)
{
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r);
	if (!body)
		return err->code;
	cJSON *o = NULL;
	int rc = review_chat_post(http_app(r), http_user(r), http_param(r, "id"), field(body, "text"), &o, err);
	return rc ? rc : http_reply_json(r, 201, o);
}

static int post_yank(http_req *r)
{
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r);
	if (!body)
		return err->code;
	const char *id = http_param(r, "id"), *v = http_param(r, "version");
	int rc = review_yank(http_app(r), http_user(r), id, v, field(body, "reason"), err);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "version", v);
	cJSON_AddStringToObject(o, "state", "yanked");
	return http_reply_json(r, 200, o);
}

/* The body is optional (nothing to say yet); it is never read. */
static int post_tests(http_req *r)
{
	cJSON *o = NULL;
	int rc = test_job_rerun(http_app(r), http_user(r)->id, http_param(r, "id"), &o, http_err(r));
	return rc ? rc : http_reply_json(r, 202, o);
}

static const struct route table[] = {
	{"GET", "/api/v1/review-queue", HTTP_BODY_NONE, AUTH_ROLE_REVIEWER, get_queue,
	 "drafts awaiting review, oldest first, with age and verdicts; and those in changes requested"},
	{"GET", "/api/v1/resources/{id}/draft/diff", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_diff,
	 "what the draft's revision changed against the previous revision and the published version"},
	{"GET", "/api/v1/resources/{id}/draft/rdf-original", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_original,
	 "the RDF of the draft's revision as uploaded (text/plain)"},
	{"POST", "/api/v1/resources/{id}/draft/review", HTTP_BODY_JSON, AUTH_ROLE_REVIEWER, post_review,
	 "accept or request changes {decision, message, acknowledge_failed_tests}"},
	{"POST", "/api/v1/resources/{id}/draft/tests", HTTP_BODY_JSON, AUTH_ROLE_REVIEWER, post_tests,
	 "re-run the dynamic tests of the current revision (awaiting review or changes requested)"},
	{"GET", "/api/v1/resources/{id}/draft/chat", HTTP_BODY_NONE, AUTH_ROLE_UPLOADER, get_chat,
	 "the draft's chat (maintainers and reviewers)"},
	{"POST", "/api/v1/resources/{id}/draft/chat", HTTP_BODY_JSON, AUTH_ROLE_UPLOADER, post_chat,
	 "add a chat message {text}"},
	{"POST", "/api/v1/resources/{id}/versions/{version}/yank", HTTP_BODY_JSON, AUTH_ROLE_REVIEWER, post_yank,
	 "yank a published version {reason}"},
};

const struct route_table routes_review = {table, sizeof(table) / sizeof(table[0])};

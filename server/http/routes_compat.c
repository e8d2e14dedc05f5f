/* routes_compat: partner compatibility reports — PUT by a partner token (or an admin),
 * GET for anyone, for a published version and for the draft. The rules live in
 * compat_report; these handlers only read the request and shape the reply. */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "domain/auth.h"
#include "pipeline/compat_report.h"

#include <cjson/cJSON.h>
#include <string.h>

static int put_report(http_req *r, const char *version)
{
	cJSON *body = http_json(r);
	if (!body)
		return http_err(r)->code;
	cJSON *o = NULL;
	int rc = compat_report_put(http_app(r), http_user(r), http_param(r, "id"), version, http_param(r, "tool"), body,
				   &o, http_err(r));
	if (rc)
		return rc;
	return http_reply_json(r, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "replaced")) ? 200 : 201, o);
}

static int put_version_report(http_req *r) { return put_report(r, http_param(r, "version")); }
static int put_draft_report(http_req *r) { return put_report(r, NULL); }

static int get_reports(http_req *r, const char *version)
{
	cJSON *o = NULL;
	int rc = compat_report_list(http_app(r), http_param(r, "id"), version, &o, http_err(r));
	return rc ? rc : http_reply_json(r, 200, o);
}

static int get_version_reports(http_req *r) { return get_reports(r, http_param(r, "version")); }
static int get_draft_reports(http_req *r) { return get_reports(r, NULL); }

static const struct route table[] = {
	{"PUT", "/api/v1/resources/{id}/versions/{version}/compatibility/{tool}", HTTP_BODY_JSON, AUTH_ROLE_PARTNER,
	 put_version_report, "a partner tool's report {status, error, details, badge, links} (partner token)"},
	{"PUT", "/api/v1/resources/{id}/draft/compatibility/{tool}", HTTP_BODY_JSON, AUTH_ROLE_PARTNER,
	 put_draft_report, "a partner tool's report about the draft (partner token)"},
	{"GET", "/api/v1/resources/{id}/versions/{version}/compatibility", HTTP_BODY_NONE, AUTH_ROLE_NONE,
	 get_version_reports, "the partner reports of a published version"},
	{"GET", "/api/v1/resources/{id}/draft/compatibility", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_draft_reports,
	 "the partner reports of the draft"},
};

const struct route_table routes_compat = {table, sizeof(table) / sizeof(table[0])};

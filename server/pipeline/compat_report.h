/* compat_report: partner tools report whether a resource works in their software
 * (issue 17), in the reference's shape {status: passed|failed|not-applicable, error,
 * details, badge, links}. A report is checked like any untrusted input, stored per
 * (version or draft, tool), written to storage at <id>/<version>/compatibility/<tool>.json
 * (the reference's layout, by the compat-json job after the commit) and turned into
 * collection.json tags and links by the next rebuild (collection.c, the reference's rule). */
#ifndef BO_COMPAT_REPORT_H
#define BO_COMPAT_REPORT_H

struct app;
struct auth_user;
struct bo_error;
struct cJSON;
struct job;

/* Bounds of a report's parts (bytes / items). */
#define COMPAT_ERROR_MAX 10000
#define COMPAT_LINKS_MAX 100
#define COMPAT_LINK_MAX 200
#define COMPAT_URL_MAX 2000
#define COMPAT_LABEL_MAX 200

/* Stores body as the report of tool ("<name>_<tool version>", each 1..40 of A-Z a-z 0-9 .
 * + -, exactly one '_') about version (NULL: the draft) of concept id, sent by u (a partner
 * token, which may be limited to one tool name, or an admin). *out: {tool, status,
 * reported_at, replaced, report_url}. Returns 0; BO_EBADREQUEST (tool name, body: each
 * problem names its field), BO_EFORBIDDEN (a token for another tool), BO_ENOTFOUND (no
 * such version or draft), BO_EDATABASE, BO_ENOMEM. */
int compat_report_put(struct app *a, const struct auth_user *u, const char *id, const char *version,
		      const char *tool, const struct cJSON *body, struct cJSON **out, struct bo_error *err);

/* The reports of version (NULL: the draft) of id: {reports: [{tool, status, reported_at,
 * report}]}. BO_ENOTFOUND for an unknown version or draft. */
int compat_report_list(struct app *a, const char *id, const char *version, struct cJSON **out,
		       struct bo_error *err);

/* The "compat-json" job (payload {version, tool}): writes the stored report to storage. */
int compat_report_json_run(void *ctx, const struct job *job, struct bo_error *err);

#endif

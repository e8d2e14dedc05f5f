/* auth: users, API tokens and roles. A token ("bo_" + base64url of 32 random bytes) is shown
 * once at creation; the database keeps only its SHA-256, so a leaked database does not leak
 * working tokens. Roles are ordered: uploader < reviewer < admin. A token may carry a scope
 * that narrows it: a partner token (scope "partner" or "partner:<tool name>") may only send
 * compatibility reports, whatever its user's role; a worker token (scope "worker") may only
 * lease test jobs and report their results (test_runner=lease). */
#ifndef BO_AUTH_H
#define BO_AUTH_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;

enum auth_role { AUTH_ROLE_NONE = 0, AUTH_ROLE_UPLOADER = 1, AUTH_ROLE_REVIEWER = 2, AUTH_ROLE_ADMIN = 3,
		 /* not a user's role and outside the order: what a route needs to take partner
		  * reports (a partner token, or an admin's unscoped token) */
		 AUTH_ROLE_PARTNER = 4,
		 /* the same for the lease worker routes: only a worker token (scope "worker") */
		 AUTH_ROLE_WORKER = 5 };

/* Bytes of a token scope: "partner:" + a tool name of at most AUTH_TOOL_MAX bytes. */
#define AUTH_TOOL_MAX 40
#define AUTH_SCOPE_MAX 48

/* A user as the handlers see it (filled by auth_authenticate / auth_user_get). */
struct auth_user {
	int64_t id;
	char name[256];
	char email[320];
	char orcid[64]; /* "" when unknown */
	enum auth_role role;
	int disabled;
	char scope[AUTH_SCOPE_MAX + 1]; /* the token's scope; "" = the user's role */
};

/* Bounds on user fields (untrusted on the CLI, the admin API and the reviewers file).
 * The email bound is 319 so that an email always fits auth_user.email with its NUL. */
#define AUTH_NAME_MAX 255
#define AUTH_EMAIL_MAX 319
#define AUTH_ORCID_MAX 63
#define AUTH_LABEL_MAX 255
/* Bytes of a token string: "bo_" + 43 base64url characters. */
#define AUTH_TOKEN_LEN 46

/* The rules for user fields, shared by every writer of users (auth_user_add, the reviewers
 * import): 1 when s is acceptable, 0 when not (NULL never is). A name has 1..AUTH_NAME_MAX
 * bytes, no control characters and not only blanks; an email one '@' with text on both
 * sides, no blanks or control characters, at most AUTH_EMAIL_MAX bytes; an orcid at most
 * AUTH_ORCID_MAX printable bytes without blanks. */
int auth_is_valid_name(const char *s);
int auth_is_valid_email(const char *s);
int auth_is_valid_orcid(const char *s);
/* src lowercased (ASCII) into dst of cap bytes, truncated to fit: how emails are stored and
 * looked up. */
void auth_lower_email(char *dst, size_t cap, const char *src);

/* "uploader", "reviewer", "admin", or "none" for AUTH_ROLE_NONE and out-of-range values.
 * Static string. */
const char *auth_role_name(enum auth_role r);
/* Parses "uploader" | "reviewer" | "admin" into *out; anything else (including NULL and
 * "none") is BO_EBADREQUEST naming the accepted values. */
int auth_role_parse(const char *s, enum auth_role *out);

/* The token of an Authorization header value ("Bearer bo_…": the scheme case-insensitive,
 * blanks around ignored) into tok (AUTH_TOKEN_LEN + 1 bytes). NULL/empty → BO_EUNAUTHORIZED
 * "missing bearer token"; another scheme (or a bare token) → BO_EUNAUTHORIZED saying the
 * header must be "Bearer <token>"; a token of the wrong shape → BO_EUNAUTHORIZED "invalid
 * or revoked token" (the same words as an unknown token: nothing to probe). The one
 * parser of the header, for authentication and for sign-out. */
int auth_parse_bearer(const char *header, char tok[AUTH_TOKEN_LEN + 1], struct bo_error *err);

/* Resolves an Authorization header value ("Bearer bo_…"; the scheme is case-insensitive,
 * surrounding blanks are ignored). NULL/empty → BO_EUNAUTHORIZED "missing bearer token";
 * another scheme, a malformed, unknown or revoked token → BO_EUNAUTHORIZED "invalid or revoked
 * token"; a disabled user → BO_EUNAUTHORIZED "user is disabled". BO_EDATABASE on a database
 * failure. On success fills *out and returns 0. Updates tokens.last_used_at only when it is
 * more than a minute old (a write per request would serialise all readers on the write lock);
 * a failure of that bookkeeping write is logged and does not fail the request. Must not be
 * called inside a transaction that the caller later rolls back if last_used_at matters. */
int auth_authenticate(sqlite3 *c, const char *authorization_header, struct auth_user *out,
		      struct bo_error *err);

/* A worker token for exactly one test job (test_runner=slurm): scope "worker:job:<job id>";
 * it leases that job only (pipeline/slurm creates one per Slurm job and revokes it after). */
#define AUTH_SCOPE_JOB_PREFIX "worker:job:"

/* The job id of a "worker:job:<id>" scope (a positive decimal without leading zeros), else 0. */
int64_t auth_scope_job(const char *scope);

/* Whether scope is one a token may carry: NULL or "" (none), "worker", "worker:job:<id>", "partner", or
 * "partner:<name>" with a name of 1..AUTH_TOOL_MAX bytes of [A-Za-z0-9.-]. 1 or 0. */
int auth_scope_valid(const char *scope);

/* The route requirement a token of this scope is limited to: AUTH_ROLE_PARTNER for a
 * partner scope, AUTH_ROLE_WORKER for "worker" and "worker:job:<id>", AUTH_ROLE_NONE for an unscoped token
 * (whose user's role decides). */
enum auth_role auth_scope_role(const char *scope);

/* 0 if user has at least the role need (need AUTH_ROLE_PARTNER: a partner token or an
 * admin's unscoped token; need AUTH_ROLE_WORKER: a worker token only; any other need
 * refuses a scoped token); otherwise BO_EFORBIDDEN "this needs the <need>
 * role" (also for a disabled user), or BO_EUNAUTHORIZED for a NULL user (no token given). */
int auth_require(const struct auth_user *user, enum auth_role need, struct bo_error *err);

/* Adds a user. name: 1..AUTH_NAME_MAX bytes without control characters; email: one '@' with
 * text on both sides, no blanks or control characters, at most AUTH_EMAIL_MAX bytes, stored
 * lowercased (emails are matched case-insensitively everywhere); role: not AUTH_ROLE_NONE;
 * orcid: NULL/"" or at most AUTH_ORCID_MAX printable bytes without blanks. Returns 0 and
 * *id_out (may be NULL), BO_EBADREQUEST for bad fields, BO_ECONFLICT for a duplicate email,
 * BO_EDATABASE. */
int auth_user_add(sqlite3 *c, const char *name, const char *email, enum auth_role role,
		  const char *orcid, int64_t *id_out, struct bo_error *err);

/* Looks a user up by numeric id ("12") or by email (case-insensitive). Disabled users are
 * returned too (out->disabled says so). Returns 0, BO_ENOTFOUND, BO_EDATABASE. */
int auth_user_get(sqlite3 *c, const char *email_or_id, struct auth_user *out, struct bo_error *err);

/* The name of user id into out ("" when there is no such user). BO_EDATABASE. */
int auth_user_name(sqlite3 *c, int64_t id, char *out, size_t n, struct bo_error *err);

/* All users, by id: a JSON array of {id, name, email, orcid (null when unknown), role,
 * disabled (bool), created_at}. *out is owned by the caller (cJSON_Delete).
 * Returns 0, BO_ENOMEM, BO_EDATABASE. */
int auth_user_list(sqlite3 *c, cJSON **out, struct bo_error *err);

/* Disables the user and revokes all their tokens, atomically (in its own BEGIN IMMEDIATE
 * transaction, or in the caller's if one is open). Disabling a disabled user is a no-op
 * success. Returns 0, BO_ENOTFOUND, BO_EDATABASE. */
int auth_user_disable(sqlite3 *c, const char *email_or_id, struct bo_error *err);

/* Creates a token for an enabled user; label (NULL = "") at most AUTH_LABEL_MAX bytes;
 * scope (NULL = none) as auth_scope_valid, else BO_EBADREQUEST.
 * token_out must hold >= 64 bytes; it receives the only copy of the token (AUTH_TOKEN_LEN
 * characters). *token_id_out may be NULL. Returns 0, BO_ENOTFOUND (no such user),
 * BO_ECONFLICT (user disabled), BO_EBADREQUEST (label too long), BO_EINTERNAL (no
 * randomness), BO_EDATABASE. */
int auth_token_create(sqlite3 *c, int64_t user_id, const char *label, const char *scope, char *token_out,
		      int64_t *token_id_out, struct bo_error *err);

/* Revokes by token id ("7") or by the token string itself ("bo_…"). Revoking a revoked token
 * succeeds and keeps the first revocation time. Returns 0, BO_ENOTFOUND, BO_EBADREQUEST
 * (neither an id nor a token), BO_EDATABASE. */
int auth_token_revoke(sqlite3 *c, const char *id_or_token, struct bo_error *err);

#endif

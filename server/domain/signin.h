/* signin: sign-in by email for people without a CLI token. A request mails a one-time link
 * (the mail is enqueued in the transaction that stores the link); opening the link gives a
 * session token (an ordinary API token labelled "session"), creating an uploader for a new
 * address. Only the SHA-256 of a link's token is stored; a link expires after a short time,
 * works once, and requests are rate-limited per address and per client IP. */
#ifndef BO_SIGNIN_H
#define BO_SIGNIN_H

#include <sqlite3.h>
#include <stdint.h>

struct auth_user;
struct bo_error;

/* Defaults of struct signin_policy. */
#define SIGNIN_LINK_TTL_SECONDS 900
#define SIGNIN_MAX_PER_EMAIL 5 /* links per address per window */
#define SIGNIN_MAX_PER_IP 5    /* links per client IP per window */
#define SIGNIN_WINDOW_SECONDS 3600
/* "sl_" + 43 base64url characters (32 random bytes). */
#define SIGNIN_TOKEN_LEN 46
/* The label of the API tokens that sign-in creates. */
#define SIGNIN_SESSION_LABEL "session"
/* A client IP as text (IPv6 with zone fits). */
#define SIGNIN_IP_MAX 63

struct signin_policy {
	int link_ttl_seconds;
	int max_per_email;
	int max_per_ip;
	int window_seconds;
};

/* The defaults above. */
struct signin_policy signin_policy_default(void);

/* Asks for a sign-in link for email (trimmed of blanks, lowercased; one '@' with text on both
 * sides, no blanks, control characters or <>,;"() — at most 254 bytes) from client_ip (at most
 * SIGNIN_IP_MAX bytes; "" when unknown). In one BEGIN IMMEDIATE transaction: refuses with
 * BO_ETOOMANY (err->retry_after = seconds until the oldest counted request leaves the window)
 * when the address or the IP already asked p->max_per_* times in the last p->window_seconds;
 * stores the link's hash with expiry now + p->link_ttl_seconds; enqueues a mail to the
 * address with link_base + token (link_base e.g. "https://host/signin/", at most 2000 bytes).
 * Links older than a day are pruned. token_out (may be NULL; else >= 64 bytes) receives the
 * token — for tests only; the server never shows it. Whether the address belongs to a user is
 * not revealed. Returns 0, BO_EBADREQUEST (bad email or argument), BO_ETOOMANY, BO_EINTERNAL
 * (no randomness), BO_ENOMEM, BO_EDATABASE. */
int signin_request(sqlite3 *c, const struct signin_policy *p, const char *email, const char *client_ip,
		   const char *link_base, int64_t now, char *token_out, struct bo_error *err);

/* Exchanges a link token for a session token, in one BEGIN IMMEDIATE transaction: the link
 * must exist (by hash), be unused and not expired at now; it is marked used; the user of its
 * address is created as an uploader (name = the address's local part) when missing; an API
 * token labelled SIGNIN_SESSION_LABEL is created. session_out (>= 64 bytes) receives the only
 * copy of the session token; *user_out (may be NULL) the user. Returns 0; BO_EUNAUTHORIZED
 * with a detail that says whether the link is malformed/unknown, used, expired, or its user
 * disabled (ask for a new link); BO_EINTERNAL, BO_ENOMEM, BO_EDATABASE. */
int signin_redeem(sqlite3 *c, const struct signin_policy *p, const char *token, int64_t now,
		  char *session_out, struct auth_user *user_out, struct bo_error *err);

/* Revokes the token of an Authorization header value ("Bearer bo_…"), i.e. signs out the
 * session that made the request. Returns 0, BO_EUNAUTHORIZED (no bearer token), BO_ENOTFOUND,
 * BO_EDATABASE. */
int signin_signout(sqlite3 *c, const char *authorization_header, struct bo_error *err);

#endif

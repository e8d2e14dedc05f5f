/* reviewers: the import of the reviewers file (the list the BioImage Model Zoo keeps of its
 * reviewers) into users with the reviewer role. All or nothing: a file with any bad entry
 * imports no one, and every bad entry is reported. */
#ifndef BO_REVIEWERS_H
#define BO_REVIEWERS_H

#include <sqlite3.h>
#include <stddef.h>

struct bo_error;

/* Bound on affiliation, external id and github user in the reviewers file (bytes). */
#define REVIEWERS_TEXT_MAX 1024
/* Reviewers file: 4 MiB (BO_ETOOLARGE above). */
#define REVIEWERS_IMPORT_MAX_BYTES (4U << 20)

/* Imports the reviewers file (JSON text of len bytes, at most REVIEWERS_IMPORT_MAX_BYTES, else
 * BO_ETOOLARGE): {"reviewers":[{id, name, affiliation, orcid, github_user, email}]}. Each entry
 * becomes or updates (keyed by email, case-insensitive) a user with role reviewer — an admin
 * stays admin, a disabled user stays disabled — keeping external_id = id, name, affiliation,
 * github_user and orcid. Every bad entry is reported with bo_error_add (loc ["reviewers", i,
 * "<field>"]: missing or invalid email or name, a field of the wrong type or too long, an email
 * or id listed twice, an id that belongs to another user) and the import then fails with
 * BO_EBADREQUEST, importing nothing. Runs in its own BEGIN IMMEDIATE transaction (or the
 * caller's if one is open; on failure the caller rolls it back). *added_out / *updated_out
 * (may be NULL) count the users. Returns 0, BO_EBADREQUEST (not JSON, wrong shape, bad entries), BO_ETOOLARGE, BO_ENOMEM,
 * BO_EDATABASE. */
int reviewers_import(sqlite3 *c, const char *json_text, size_t len, int *added_out,
		     int *updated_out, struct bo_error *err);

#endif

/* leases: worker_leases rows and the jobs rows they hold (leases.h). A claim is one
 * UPDATE … RETURNING on jobs (atomic under SQLite's write lock, so two workers never get
 * the same job) plus the lease row, in the caller's transaction; an end re-checks that the
 * lease still owns its job, so a late result of an expired lease can never be stored. */
#include "domain/leases.h"

#include "common/error.h"
#include "common/hex.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER_PREFIX "lease:"
#define LEASE_COLS "id, job_id, user_id, concept_id, revision, weight_format, state, expires_unix"

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

static void lease_of_row(sqlite3_stmt *st, struct lease *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->id, sizeof(l->id), "%s", db_column_text(st, 0));
	l->job_id = sqlite3_column_int64(st, 1);
	l->user_id = sqlite3_column_int64(st, 2);
	snprintf(l->concept_id, sizeof(l->concept_id), "%s", db_column_text(st, 3));
	l->revision = sqlite3_column_int(st, 4);
	snprintf(l->weight_format, sizeof(l->weight_format), "%s", db_column_text(st, 5));
	snprintf(l->state, sizeof(l->state), "%s", db_column_text(st, 6));
	l->expires_unix = sqlite3_column_int64(st, 7);
}

static int random_hex(char *out, size_t nbytes, struct bo_error *err)
{
	unsigned char raw[32];
	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		return bo_error_set(err, BO_EINTERNAL, "random generator (RAND_bytes) failed");
	hex_encode(out, raw, nbytes);
	return 0;
}

int leases_expire(sqlite3 *c, int64_t now, int *n_out, cJSON **dead_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *dead = NULL;
	int own = 0, n = 0;
	if (n_out)
		*n_out = 0;
	if (dead_out)
		*dead_out = NULL;
	int rc = db_begin_or_join(c, &own, err);
	if (rc)
		return rc;
	if (!(dead = cJSON_CreateArray())) {
		rc = oom(err);
		goto fail;
	}
	/* the jobs first (while their leases still say active): back to the queue, or dead
	 * when a lease was lost as often as the job may be tried */
	rc = db_prepare(c, &st,
			"UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
			"lease_until = NULL, lease_owner = NULL, finished_at = CASE WHEN attempts >= max_attempts "
			"THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now') END, "
			"last_error = 'the lease worker stopped heartbeating (lease expired)' "
			"WHERE state = 'running' AND lease_owner IN (SELECT '" OWNER_PREFIX "' || id FROM worker_leases "
			"WHERE state = 'active' AND expires_unix < ?1) "
			"RETURNING id, subject, payload_json, attempts, state",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (strcmp(db_column_text(st, 4), "dead"))
			continue;
		cJSON *j = cJSON_CreateObject();
		if (!j || !cJSON_AddItemToArray(dead, j) || !cJSON_AddNumberToObject(j, "id", (double)sqlite3_column_int64(st, 0)) ||
		    !cJSON_AddStringToObject(j, "subject", db_column_text(st, 1)) ||
		    !cJSON_AddStringToObject(j, "payload", db_column_text(st, 2)) ||
		    !cJSON_AddNumberToObject(j, "attempts", sqlite3_column_int(st, 3))) {
			rc = oom(err);
			break;
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "re-queue the jobs of expired leases", err);
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto fail;
	rc = db_prepare(c, &st,
			"UPDATE worker_leases SET state = 'expired', finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
			"WHERE state = 'active' AND expires_unix < ?1",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	rc = db_step_done(st, err);
	if (rc)
		goto fail;
	n = sqlite3_changes(c);
fail:
	rc = db_end_joined(c, own, rc, err);
	if (!rc) {
		if (n_out)
			*n_out = n;
		if (dead_out) {
			*dead_out = dead;
			dead = NULL;
		}
	}
	cJSON_Delete(dead);
	return rc;
}

int leases_claim(sqlite3 *c, int64_t user_id, const char *formats_json, const char *capabilities_json,
		 int64_t lease_seconds, int64_t max_attempts, int64_t now, struct lease *out,
		 char secret[LEASES_SECRET_LEN + 1], int *found, struct bo_error *err)
{
	return leases_claim_job(c, user_id, 0, formats_json, capabilities_json, lease_seconds, max_attempts, now, out,
				secret, found, err);
}

int leases_claim_job(sqlite3 *c, int64_t user_id, int64_t job_id, const char *formats_json,
		     const char *capabilities_json, int64_t lease_seconds, int64_t max_attempts, int64_t now,
		     struct lease *out, char secret[LEASES_SECRET_LEN + 1], int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char id[LEASES_ID_LEN + 1], owner[sizeof(OWNER_PREFIX) + LEASES_ID_LEN], hash[65], started[40];
	cJSON *payload = NULL;
	*found = 0;
	int rc = random_hex(id, LEASES_ID_LEN / 2, err);
	if (!rc)
		rc = random_hex(secret, LEASES_SECRET_LEN / 2, err);
	if (rc)
		return rc;
	if (hex_sha256(hash, secret, LEASES_SECRET_LEN))
		return bo_error_set(err, BO_EINTERNAL, "SHA-256 (OpenSSL EVP_Digest) failed");
	snprintf(owner, sizeof(owner), OWNER_PREFIX "%s", id);
	rc = db_prepare(c, &st,
			"UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1, lease_owner = ?2, "
			"max_attempts = CASE WHEN max_attempts > 0 THEN max_attempts ELSE ?3 END "
			"WHERE id = (SELECT id FROM jobs WHERE kind = 'test' AND state IN ('queued', 'failed') "
			"AND run_after <= ?4 AND json_valid(payload_json) AND json_extract(payload_json, '$.weight_format') "
			"IN (SELECT value FROM json_each(?5)) AND (?6 = 0 OR id = ?6) ORDER BY run_after, id LIMIT 1) "
			"RETURNING id, subject, payload_json",
			err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now + lease_seconds);
	db_bind_text(st, 2, owner);
	sqlite3_bind_int64(st, 3, max_attempts);
	sqlite3_bind_int64(st, 4, now);
	db_bind_text(st, 5, formats_json);
	sqlite3_bind_int64(st, 6, job_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		sqlite3_finalize(st);
		return 0;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "lease a test job", err);
		sqlite3_finalize(st);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->job_id = sqlite3_column_int64(st, 0);
	out->user_id = user_id;
	snprintf(out->concept_id, sizeof(out->concept_id), "%s", db_column_text(st, 1));
	payload = cJSON_Parse(db_column_text(st, 2));
	while (sqlite3_step(st) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	st = NULL;
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(payload, "revision");
	const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "weight_format"));
	if (!cJSON_IsNumber(r) || !f || strlen(f) >= sizeof(out->weight_format)) {
		cJSON_Delete(payload);
		return bo_error_set(err, BO_EINTERNAL, "test job %lld has a payload without revision or weight_format",
				    (long long)out->job_id);
	}
	out->revision = r->valueint;
	snprintf(out->weight_format, sizeof(out->weight_format), "%s", f);
	cJSON_Delete(payload);
	snprintf(out->state, sizeof(out->state), "active");
	out->expires_unix = now + lease_seconds;
	db_now_iso(started, sizeof(started));
	rc = db_prepare(c, &st,
			"INSERT INTO worker_leases (id, secret_sha256, job_id, user_id, concept_id, revision, weight_format, "
			"capabilities, state, started_at, expires_unix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', ?9, ?10)",
			err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, out->job_id);
	sqlite3_bind_int64(st, 4, user_id);
	db_bind_text(st, 5, out->concept_id);
	sqlite3_bind_int(st, 6, out->revision);
	db_bind_text(st, 7, out->weight_format);
	db_bind_text(st, 8, capabilities_json ? capabilities_json : "{}");
	db_bind_text(st, 9, started);
	sqlite3_bind_int64(st, 10, out->expires_unix);
	rc = db_step_done(st, err);
	if (!rc)
		*found = 1;
	return rc;
}

/* The lease row of id into *out; *found 0/1. */
static int lease_get(sqlite3 *c, const char *where, const char *value, struct lease *out, char *owner_out,
		     size_t owner_n, int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[512];
	*found = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT l.id, l.job_id, l.user_id, l.concept_id, l.revision, l.weight_format, l.state, l.expires_unix, "
		 "COALESCE(j.lease_owner, '') FROM worker_leases l LEFT JOIN jobs j ON j.id = l.job_id "
		 "AND j.state = 'running' WHERE l.%s = ?1",
		 where);
	int rc = db_prepare(c, &st, sql, err);
	if (rc)
		return rc;
	db_bind_text(st, 1, value);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		lease_of_row(st, out);
		snprintf(owner_out, owner_n, "%s", db_column_text(st, 8));
		*found = 1;
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read a lease", err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Whether the lease is active, unexpired at now and still owns its job. */
static int lease_live(const struct lease *l, const char *owner, int64_t now)
{
	char want[sizeof(OWNER_PREFIX) + LEASES_ID_LEN];
	snprintf(want, sizeof(want), OWNER_PREFIX "%s", l->id);
	return !strcmp(l->state, "active") && l->expires_unix >= now && !strcmp(owner, want);
}

int leases_check(sqlite3 *c, const char *id, int64_t user_id, int64_t now, struct lease *out, struct bo_error *err)
{
	char owner[128];
	int found = 0;
	if (strlen(id) != LEASES_ID_LEN || strspn(id, "0123456789abcdef") != LEASES_ID_LEN)
		return bo_error_set(err, BO_ENOTFOUND, "no such lease");
	int rc = lease_get(c, "id", id, out, owner, sizeof(owner), &found, err);
	if (rc)
		return rc;
	if (!found || out->user_id != user_id)
		return bo_error_set(err, BO_ENOTFOUND, "no such lease");
	if (!strcmp(out->state, "done"))
		return bo_error_set(err, BO_ECONFLICT, "lease %s already ended with a result", id);
	if (!lease_live(out, owner, now))
		return bo_error_set(err, BO_EGONE,
				    "lease %s expired (no heartbeat within its lease_seconds) or its job moved on; "
				    "its job went back to the queue and another result will be kept",
				    id);
	return 0;
}

int leases_extend(sqlite3 *c, const char *id, int64_t lease_seconds, int64_t now, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char owner[sizeof(OWNER_PREFIX) + LEASES_ID_LEN];
	int own = 0;
	snprintf(owner, sizeof(owner), OWNER_PREFIX "%s", id);
	int rc = db_begin_or_join(c, &own, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"UPDATE worker_leases SET expires_unix = ?1 WHERE id = ?2 AND state = 'active' AND expires_unix >= ?3",
			err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now + lease_seconds);
	db_bind_text(st, 2, id);
	sqlite3_bind_int64(st, 3, now);
	rc = db_step_done(st, err);
	if (rc)
		goto fail;
	if (sqlite3_changes(c) != 1) {
		rc = bo_error_set(err, BO_EGONE, "lease %s is no longer active", id);
		goto fail;
	}
	rc = db_prepare(c, &st, "UPDATE jobs SET lease_until = ?1 WHERE lease_owner = ?2 AND state = 'running'", err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now + lease_seconds);
	db_bind_text(st, 2, owner);
	rc = db_step_done(st, err);
	if (!rc && sqlite3_changes(c) != 1)
		rc = bo_error_set(err, BO_EGONE, "lease %s no longer holds its job", id);
fail:
	return db_end_joined(c, own, rc, err);
}

int leases_close(sqlite3 *c, const char *id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char owner[sizeof(OWNER_PREFIX) + LEASES_ID_LEN];
	int own = 0;
	snprintf(owner, sizeof(owner), OWNER_PREFIX "%s", id);
	int rc = db_begin_or_join(c, &own, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"UPDATE jobs SET state = 'done', finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
			"lease_until = NULL, last_error = NULL WHERE lease_owner = ?1 AND state = 'running'",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, owner);
	rc = db_step_done(st, err);
	if (rc)
		goto fail;
	rc = db_prepare(c, &st,
			"UPDATE worker_leases SET state = 'done', finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
			"WHERE id = ?1 AND state = 'active'",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	rc = db_step_done(st, err);
fail:
	return db_end_joined(c, own, rc, err);
}

int leases_by_secret(sqlite3 *c, const char *secret, int64_t now, struct lease *out, struct bo_error *err)
{
	char hash[65], owner[128];
	int found = 0;
	if (strlen(secret) != LEASES_SECRET_LEN)
		return bo_error_set(err, BO_EFORBIDDEN, "this file link is not valid (or its lease ended)");
	if (hex_sha256(hash, secret, LEASES_SECRET_LEN))
		return bo_error_set(err, BO_EINTERNAL, "SHA-256 (OpenSSL EVP_Digest) failed");
	int rc = lease_get(c, "secret_sha256", hash, out, owner, sizeof(owner), &found, err);
	if (rc)
		return rc;
	if (!found || !lease_live(out, owner, now))
		return bo_error_set(err, BO_EFORBIDDEN, "this file link is not valid (or its lease ended)");
	return 0;
}

int leases_files(sqlite3 *c, const char *concept_id, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *a = cJSON_CreateArray();
	if (!a)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT path, size, sha256 FROM files WHERE concept_id = ?1 AND version_or_draft = 'draft' "
			    "ORDER BY path",
			    err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, concept_id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *f = cJSON_CreateObject();
		if (!f || !cJSON_AddItemToArray(a, f) || !cJSON_AddStringToObject(f, "path", db_column_text(st, 0)) ||
		    !cJSON_AddNumberToObject(f, "size", (double)sqlite3_column_int64(st, 1)) ||
		    !cJSON_AddStringToObject(f, "sha256", db_column_text(st, 2))) {
			rc = oom(err);
			break;
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list draft files", err);
	sqlite3_finalize(st);
fail:
	if (rc) {
		cJSON_Delete(a);
		return rc;
	}
	*out = a;
	return 0;
}

int leases_file_known(sqlite3 *c, const char *concept_id, const char *path, int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	int rc = db_prepare(c, &st,
			    "SELECT 1 FROM files WHERE concept_id = ?1 AND version_or_draft = 'draft' AND path = ?2", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, concept_id);
	db_bind_text(st, 2, path);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*found = 1;
	else if (step != SQLITE_DONE)
		rc = db_fail(c, "look a draft file up", err);
	sqlite3_finalize(st);
	return rc;
}

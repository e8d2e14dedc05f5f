/* slurm_jobs: bookkeeping of the Slurm batch jobs of test_runner=slurm (slurm_jobs.h). */
#include "domain/slurm_jobs.h"

#include "common/error.h"
#include "domain/auth.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <string.h>

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

int slurm_jobs_user(sqlite3 *c, int64_t *user_id, struct bo_error *err)
{
	struct auth_user u;
	struct bo_error nerr = BO_ERROR_INIT;
	int rc = auth_user_get(c, SLURM_JOBS_USER_EMAIL, &u, &nerr);
	if (!rc) {
		*user_id = u.id;
		return 0;
	}
	if (nerr.code != BO_ENOTFOUND)
		return bo_error_move(err, &nerr, rc);
	bo_error_cleanup(&nerr);
	return auth_user_add(c, "Slurm runner", SLURM_JOBS_USER_EMAIL, AUTH_ROLE_UPLOADER, NULL, user_id, err);
}

int slurm_jobs_ready(sqlite3 *c, int64_t now, int limit, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *a = cJSON_CreateArray();
	if (!a)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT j.id, j.subject, j.payload_json FROM jobs j WHERE j.kind = 'test' "
			    "AND j.state IN ('queued', 'failed') AND j.run_after <= ?1 AND NOT EXISTS "
			    "(SELECT 1 FROM slurm_jobs s WHERE s.job_id = j.id AND s.state = 'active') "
			    "ORDER BY j.run_after, j.id LIMIT ?2",
			    err);
	if (rc)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o) || !cJSON_AddNumberToObject(o, "job_id", (double)sqlite3_column_int64(st, 0)) ||
		    !cJSON_AddStringToObject(o, "subject", db_column_text(st, 1)) ||
		    !cJSON_AddStringToObject(o, "payload", db_column_text(st, 2))) {
			rc = oom(err);
			goto fail;
		}
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list the test jobs for Slurm", err);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = a;
	return 0;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(a);
	return rc;
}

int slurm_jobs_add(sqlite3 *c, int64_t job_id, const char *concept_id, int revision, const char *format,
		   int64_t token_id, int64_t *row_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "INSERT INTO slurm_jobs(job_id, token_id, concept_id, revision, weight_format, state, submitted_at) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6)",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	sqlite3_bind_int64(st, 2, token_id);
	db_bind_text(st, 3, concept_id);
	sqlite3_bind_int(st, 4, revision);
	db_bind_text(st, 5, format);
	db_bind_text(st, 6, now);
	rc = db_step_done(st, err);
	if (!rc)
		*row_out = sqlite3_last_insert_rowid(c);
	return rc;
}

int slurm_jobs_set_slurm_id(sqlite3 *c, int64_t row, int64_t slurm_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "UPDATE slurm_jobs SET slurm_id = ?2 WHERE id = ?1", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_int64(st, 2, slurm_id);
	return db_step_done(st, err);
}

int slurm_jobs_active(sqlite3 *c, cJSON **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	cJSON *a = cJSON_CreateArray();
	if (!a)
		return oom(err);
	int rc = db_prepare(c, &st,
			    "SELECT s.id, s.job_id, COALESCE(s.slurm_id, 0), s.token_id, s.concept_id, s.revision, "
			    "s.weight_format, COALESCE(j.state, '') FROM slurm_jobs s LEFT JOIN jobs j ON j.id = s.job_id "
			    "WHERE s.state = 'active' ORDER BY s.id",
			    err);
	if (rc)
		goto fail;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o) || !cJSON_AddNumberToObject(o, "row", (double)sqlite3_column_int64(st, 0)) ||
		    !cJSON_AddNumberToObject(o, "job_id", (double)sqlite3_column_int64(st, 1)) ||
		    !cJSON_AddNumberToObject(o, "slurm_id", (double)sqlite3_column_int64(st, 2)) ||
		    !cJSON_AddNumberToObject(o, "token_id", (double)sqlite3_column_int64(st, 3)) ||
		    !cJSON_AddStringToObject(o, "concept", db_column_text(st, 4)) ||
		    !cJSON_AddNumberToObject(o, "revision", sqlite3_column_int(st, 5)) ||
		    !cJSON_AddStringToObject(o, "weight_format", db_column_text(st, 6)) ||
		    !cJSON_AddStringToObject(o, "job_state", db_column_text(st, 7))) {
			rc = oom(err);
			goto fail;
		}
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(c, "list the active Slurm jobs", err);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = a;
	return 0;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(a);
	return rc;
}

int slurm_jobs_end(sqlite3 *c, int64_t row, const char *state, const char *slurm_state, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "UPDATE slurm_jobs SET state = ?2, slurm_state = ?3, ended_at = ?4 WHERE id = ?1 AND state = 'active'",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, row);
	db_bind_text(st, 2, state);
	db_bind_text(st, 3, slurm_state);
	db_bind_text(st, 4, now);
	return db_step_done(st, err);
}

int slurm_jobs_give_up(sqlite3 *c, int64_t job_id, const char *reason, int *changed, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	*changed = 0;
	int rc = db_prepare(c, &st,
			    "UPDATE jobs SET state = 'dead', last_error = ?2, finished_at = ?3, lease_until = NULL "
			    "WHERE id = ?1 AND kind = 'test' AND state IN ('queued', 'failed', 'running')",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	db_bind_text(st, 2, reason);
	db_bind_text(st, 3, now);
	rc = db_step_done(st, err);
	if (rc)
		return rc;
	*changed = sqlite3_changes(c) > 0;
	rc = db_prepare(c, &st,
			"UPDATE worker_leases SET state = 'done', finished_at = ?2 WHERE job_id = ?1 AND state = 'active'", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	db_bind_text(st, 2, now);
	return db_step_done(st, err);
}

int slurm_jobs_settle_stale(sqlite3 *c, int64_t job_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[40];
	db_now_iso(now, sizeof(now));
	int rc = db_prepare(c, &st,
			    "UPDATE jobs SET state = 'done', finished_at = ?2, last_error = NULL "
			    "WHERE id = ?1 AND kind = 'test' AND state IN ('queued', 'failed')",
			    err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	db_bind_text(st, 2, now);
	return db_step_done(st, err);
}

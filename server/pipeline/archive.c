/* archive: one published version -> one Zenodo deposition, step by step. Invariant: the
 * deposition id is committed (with zenodo_state = draft-created) before any file is sent,
 * and each later step is committed after Zenodo confirmed it, so a re-run continues the
 * same deposition; a later version is always a `newversion` of the concept's latest
 * published deposition, and waits while another version of the concept is half-archived,
 * so one concept never gets two Zenodo concepts. */
#include "pipeline/archive.h"

#include "app.h"
#include "common/error.h"
#include "common/log.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/metrics.h"
#include "infra/storage.h"
#include "infra/zenodo.h"
#include "pipeline/collection.h"
#include "pipeline/version_zip.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX 2048
#define DOC_MAX (1u << 20)  /* documentation markdown read for the description */
#define INFO_MAX (64u << 10)
#define PAGE_URL "https://bioimage.io/#/?id="

struct arc {
	struct app *a;
	const struct job *job;
	zenodo *z;
	sqlite3 *c;
	char id[256];
	char version[80];
	char dep[64];     /* deposition id, "" before the draft exists */
	char zstate[32];  /* versions.zenodo_state, "" = not started */
	char published_at[40];
	char *rdf_json;
	char newversion_of[64]; /* a re-upload: the deposition to call newversion on */
};

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* A failure retrying cannot fix: the job is dead now, with this reason. */
static int give_up(struct arc *r, int code, struct bo_error *err)
{
	jobs_give_up(r->job);
	log_error("archive %s/%s: %s (fix it, then 'backoffice jobs retry %lld')", r->id, r->version, err->detail,
		  (long long)r->job->id);
	return code;
}

int archive_enqueue(sqlite3 *c, const struct config *cfg, const char *id, const char *version, struct bo_error *err)
{
	char subject[512];
	if (!cfg->zenodo_token[0])
		return 0;
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "id", id);
	cJSON_AddStringToObject(p, "version", version);
	char *text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!text)
		return oom(err);
	snprintf(subject, sizeof(subject), "%s/%s", id, version);
	int rc = jobs_enqueue_coalesced(c, "archive", subject, text, NULL, err);
	free(text);
	return rc;
}

/* The write transaction of an operator command that queues archive jobs, refused while
 * archiving is off (the jobs would wait for a token forever). */
static int begin_archiving(sqlite3 *c, const struct config *cfg, struct bo_error *err)
{
	if (!cfg->zenodo_token[0])
		return bo_error_set(err, BO_EBADREQUEST, "archiving is off: set zenodo_token (BO_ZENODO_TOKEN) first");
	return db_begin(c, err);
}

int archive_reupload(sqlite3 *c, const struct config *cfg, const char *id, const char *version,
		     struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char state[32] = "", latest[64] = "", subject[512];
	int rc = begin_archiving(c, cfg, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT COALESCE(zenodo_state, ''), (SELECT zenodo_deposition_id FROM versions o WHERE "
			"o.concept_id = v.concept_id AND o.zenodo_state = 'published' ORDER BY "
			"CAST(o.zenodo_deposition_id AS INTEGER) DESC LIMIT 1) FROM versions v "
			"WHERE concept_id = ?1 AND version = ?2 AND state IN ('published', 'yanked')",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(state, sizeof(state), "%s", db_column_text(st, 0));
		snprintf(latest, sizeof(latest), "%s", db_column_text(st, 1));
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(subject, sizeof(subject), "%s/%s", id, version);
	if (step == SQLITE_DONE) {
		rc = bo_error_set(err, BO_ENOTFOUND, "%s has no published version %s", id, version);
		goto fail;
	}
	if (step != SQLITE_ROW) {
		rc = db_fail(c, "read version", err);
		goto fail;
	}
	rc = db_prepare(c, &st,
			"SELECT count(*) FROM jobs WHERE kind = 'archive' AND subject = ?1 AND state IN ('queued', 'running', 'failed')",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, subject);
	int pending = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	st = NULL;
	if (pending) {
		rc = bo_error_set(err, BO_ECONFLICT, "an archive job of %s is pending; wait for it or retry it", subject);
		goto fail;
	}
	if (strcmp(state, "published") || !latest[0]) {
		rc = bo_error_set(err, BO_ECONFLICT, "%s is not archived yet (%s): 'backoffice backup' archives it", subject,
				  state[0] ? state : "not started");
		goto fail;
	}
	rc = db_prepare(c, &st,
			"UPDATE versions SET zenodo_state = NULL, zenodo_deposition_id = NULL, archive_package_sha256 = NULL "
			"WHERE concept_id = ?1 AND version = ?2",
			err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, version);
	rc = db_step_done(st, err);
	st = NULL;
	cJSON *p = rc ? NULL : cJSON_CreateObject();
	if (!rc && p) {
		cJSON_AddStringToObject(p, "id", id);
		cJSON_AddStringToObject(p, "version", version);
		cJSON_AddStringToObject(p, "newversion_of", latest);
	}
	char *text = p ? cJSON_PrintUnformatted(p) : NULL;
	cJSON_Delete(p);
	if (!rc && !text)
		rc = oom(err);
	if (!rc)
		rc = jobs_enqueue(c, "archive", subject, text, 0, NULL, err);
	free(text);
	if (!rc)
		rc = db_commit(c, err);
	if (!rc)
		log_info("archive %s: queued again, as a new Zenodo version after deposition %s", subject, latest);
fail:
	sqlite3_finalize(st);
	if (rc)
		db_rollback(c);
	return rc;
}

int archive_enqueue_missing(sqlite3 *c, const struct config *cfg, int *count_out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*count_out = 0;
	int rc = begin_archiving(c, cfg, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st,
			"SELECT v.concept_id, v.version FROM versions v WHERE v.state IN ('published', 'yanked') "
			"AND v.doi IS NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'archive' "
			"AND j.subject = v.concept_id || '/' || v.version AND j.state IN ('queued', 'running', 'failed')) "
			"ORDER BY v.created_at, v.concept_id",
			err);
	int step = SQLITE_DONE;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = archive_enqueue(c, cfg, db_column_text(st, 0), db_column_text(st, 1), err);
		if (!rc)
			(*count_out)++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(c, "list versions without a DOI", err);
	sqlite3_finalize(st);
	if (!rc)
		rc = db_commit(c, err);
	if (rc)
		db_rollback(c);
	return rc;
}

/* ---- database --------------------------------------------------------------------- */

/* Returns 0 with *found = 0 when the version is not published (nothing to archive). */
static int load_version(struct arc *r, int *found, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*found = 0;
	int rc = db_prepare(r->c, &st,
			    "SELECT COALESCE(zenodo_state, ''), COALESCE(zenodo_deposition_id, ''), rdf_json, "
			    "COALESCE(published_at, created_at) FROM versions "
			    "WHERE concept_id = ?1 AND version = ?2 AND state IN ('published', 'yanked')",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, r->id);
	db_bind_text(st, 2, r->version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = 1;
		snprintf(r->zstate, sizeof(r->zstate), "%s", db_column_text(st, 0));
		snprintf(r->dep, sizeof(r->dep), "%s", db_column_text(st, 1));
		snprintf(r->published_at, sizeof(r->published_at), "%s", db_column_text(st, 3));
		free(r->rdf_json);
		r->rdf_json = strdup(db_column_text(st, 2));
		if (!r->rdf_json)
			rc = oom(err);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(r->c, "read version", err);
	}
	sqlite3_finalize(st);
	return rc;
}

static int set_step(struct arc *r, const char *zstate, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(r->c, &st,
			    "UPDATE versions SET zenodo_state = ?3, zenodo_deposition_id = ?4 "
			    "WHERE concept_id = ?1 AND version = ?2",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, r->id);
	db_bind_text(st, 2, r->version);
	db_bind_text(st, 3, zstate);
	db_bind_text(st, 4, r->dep);
	rc = db_step_done(st, err);
	if (!rc)
		snprintf(r->zstate, sizeof(r->zstate), "%s", zstate);
	return rc;
}

/* One text value from a query with ?1 id, ?2 version; "" when there is no row. */
static int query_text(struct arc *r, const char *sql, char *out, size_t n, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	int rc = db_prepare(r->c, &st, sql, err);
	if (rc)
		return rc;
	db_bind_text(st, 1, r->id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		db_bind_text(st, 2, r->version);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		snprintf(out, n, "%s", db_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = db_fail(r->c, "read archive state", err);
	sqlite3_finalize(st);
	return rc;
}

/* ---- steps ------------------------------------------------------------------------ */

static void json_id(const cJSON *v, char *out, size_t n)
{
	if (cJSON_IsNumber(v))
		snprintf(out, n, "%.0f", v->valuedouble);
	else if (cJSON_IsString(v))
		snprintf(out, n, "%s", v->valuestring);
	else
		out[0] = '\0';
}

static const char *link_of(const cJSON *dep, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "links"), name));
}

static int get_deposition(struct arc *r, cJSON **out, struct bo_error *err)
{
	char path[128];
	long status;
	snprintf(path, sizeof(path), "/api/deposit/depositions/%s", r->dep);
	return zenodo_call(r->z, "GET", path, NULL, &status, out, NULL, err);
}

/* First version: a new deposition. Later versions: newversion of the latest published
 * deposition (its id, never the concept's) and the draft it links to. */
static int step_draft(struct arc *r, struct bo_error *err)
{
	char other[256], prev[64], path[160];
	cJSON *j = NULL, *draft = NULL;
	long status;
	int rc = query_text(r,
			    "SELECT version || ' (' || COALESCE(zenodo_state, 'not started') || ')' FROM versions v "
			    "WHERE concept_id = ?1 AND version != ?2 AND COALESCE(zenodo_state, '') != 'published' AND "
			    "(zenodo_deposition_id IS NOT NULL OR (created_at < (SELECT created_at FROM versions WHERE "
			    "concept_id = ?1 AND version = ?2) AND EXISTS (SELECT 1 FROM jobs WHERE kind = 'archive' "
			    "AND subject = v.concept_id || '/' || v.version AND state IN ('queued', 'running', 'failed'))))",
			    other, sizeof(other), err);
	if (rc)
		return rc;
	if (other[0])
		return bo_error_set(err, BO_ECONFLICT, "waiting for the archive of %s/%s to finish first", r->id, other);
	rc = query_text(r,
			"SELECT zenodo_deposition_id FROM versions WHERE concept_id = ?1 AND version != ?2 "
			"AND zenodo_state = 'published' ORDER BY CAST(zenodo_deposition_id AS INTEGER) DESC LIMIT 1",
			prev, sizeof(prev), err);
	if (rc)
		return rc;
	/* a re-upload continues the concept from the deposition it named (its own record,
	 * when it is the concept's only or latest version), never a new concept */
	if (r->newversion_of[0] && (!prev[0] || atoll(r->newversion_of) > atoll(prev)))
		snprintf(prev, sizeof(prev), "%s", r->newversion_of);
	if (!prev[0]) {
		cJSON *empty = cJSON_CreateObject();
		rc = empty ? zenodo_call(r->z, "POST", "/api/deposit/depositions", empty, &status, &draft, NULL, err)
			   : oom(err);
		cJSON_Delete(empty);
	} else {
		snprintf(path, sizeof(path), "/api/deposit/depositions/%s/actions/newversion", prev);
		rc = zenodo_call(r->z, "POST", path, NULL, &status, &j, NULL, err);
		const char *latest = rc ? NULL : link_of(j, "latest_draft");
		if (!rc && !latest)
			rc = bo_error_set(err, BO_EFETCH, "Zenodo's newversion of deposition %s has no links.latest_draft", prev);
		if (!rc)
			rc = zenodo_call(r->z, "GET", latest, NULL, &status, &draft, NULL, err);
	}
	if (!rc) {
		json_id(cJSON_GetObjectItemCaseSensitive(draft, "id"), r->dep, sizeof(r->dep));
		if (!r->dep[0])
			rc = bo_error_set(err, BO_EFETCH, "Zenodo's new deposition has no id");
	}
	if (!rc)
		rc = set_step(r, "draft-created", err);
	if (!rc)
		log_info("archive %s/%s: deposition %s created%s%s", r->id, r->version, r->dep,
			 prev[0] ? " as a new version of " : "", prev);
	cJSON_Delete(j);
	cJSON_Delete(draft);
	return rc;
}

/* Zenodo has no folders (a record is a flat list of files; the legacy API strips paths
 * from names), so a version is deposited as: ARCHIVE_PACKAGE, the version's files at
 * their paths in one zip, which restores it exactly; and beside it rdf.yaml and the
 * covers that are top-level files, for people browsing the record. Nothing nested is
 * ever a record file name, so nothing can be renamed or collide. */
#define ARCHIVE_PACKAGE "package.zip"
static int temp_path(struct arc *r, char *out, size_t n, struct bo_error *err)
{
	return version_zip_temp(r->a, "archive", out, n, err);
}

static void touch_job(const void *job) { jobs_touch(job); }

static int upload_one(struct arc *r, const char *bucket, const char *file, struct bo_error *err)
{
	char key[KEY_MAX], tmp[4096];
	snprintf(key, sizeof(key), "%s/%s/files/%s", r->id, r->version, file);
	int rc = temp_path(r, tmp, sizeof(tmp), err);
	if (rc)
		return rc;
	rc = storage_get_file(r->a->storage, key, tmp, err);
	if (!rc)
		rc = zenodo_upload(r->z, bucket, file, tmp, err);
	unlink(tmp);
	return rc;
}

/* Whether the record shows `path` beside the zip: rdf.yaml and top-level covers. */
static int shown_beside(const cJSON *rdf, const char *path)
{
	if (strchr(path, '/') || strchr(path, '\\') || !strcmp(path, ARCHIVE_PACKAGE))
		return 0;
	if (!strcmp(path, "rdf.yaml"))
		return 1;
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rdf, "covers"))
	{
		const char *s = cJSON_GetStringValue(c);
		if (s && (!strcmp(s, path) || (!strncmp(s, "./", 2) && !strcmp(s + 2, path))))
			return 1;
	}
	return 0;
}

/* Deletes every file of the draft (the previous version's, or ours from an interrupted
 * run), then deposits the package zip and, beside it, rdf.yaml and the top-level covers. */
static int step_files(struct arc *r, cJSON *dep, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *bucket = link_of(dep, "bucket");
	const cJSON *f;
	long status;
	int rc = 0, n = 0;
	if (!bucket)
		return bo_error_set(err, BO_EFETCH, "Zenodo deposition %s has no links.bucket", r->dep);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(dep, "files"))
	{
		char fid[128], path[256];
		cJSON *j = NULL;
		json_id(cJSON_GetObjectItemCaseSensitive(f, "id"), fid, sizeof(fid));
		if (!fid[0] || strpbrk(fid, "/?#"))
			continue;
		snprintf(path, sizeof(path), "/api/deposit/depositions/%s/files/%s", r->dep, fid);
		rc = zenodo_call(r->z, "DELETE", path, NULL, &status, &j, NULL, err);
		cJSON_Delete(j);
		if (rc == BO_ENOTFOUND) {
			bo_error_cleanup(err);
			rc = 0;
		}
		if (rc)
			return rc;
	}
	rc = db_prepare(r->c, &st,
			"SELECT path FROM files WHERE concept_id = ?1 AND version_or_draft = ?2 ORDER BY path", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, r->id);
	db_bind_text(st, 2, r->version);
	cJSON *paths = cJSON_CreateArray();
	while (paths && sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddItemToArray(paths, cJSON_CreateString(db_column_text(st, 0)));
	sqlite3_finalize(st);
	st = NULL;
	if (!paths)
		return oom(err);
	cJSON_ArrayForEach(f, paths)
	{
		if (!cJSON_IsString(f)) {
			cJSON_Delete(paths);
			return oom(err);
		}
	}
	if (cJSON_GetArraySize(paths) == 0) {
		cJSON_Delete(paths);
		return bo_error_set(err, BO_EINTERNAL, "%s/%s has no files to archive", r->id, r->version);
	}
	char zip_path[4096], sha[65] = "";
	cJSON *rdf = cJSON_Parse(r->rdf_json);
	rc = temp_path(r, zip_path, sizeof(zip_path), err);
	if (!rc) {
		rc = version_zip_build(r->a, r->id, r->version, paths, zip_path, sha, touch_job, r->job, err);
		if (!rc)
			rc = zenodo_upload(r->z, bucket, ARCHIVE_PACKAGE, zip_path, err);
		unlink(zip_path);
	}
	if (!rc)
		n++;
	cJSON_ArrayForEach(f, paths)
	{
		if (rc)
			break;
		if (!shown_beside(rdf, f->valuestring))
			continue;
		rc = upload_one(r, bucket, f->valuestring, err);
		n++;
		jobs_touch(r->job);
	}
	cJSON_Delete(paths);
	cJSON_Delete(rdf);
	if (!rc)
		rc = db_prepare(r->c, &st,
				"UPDATE versions SET archive_package_sha256 = ?3 WHERE concept_id = ?1 AND version = ?2", err);
	if (!rc) {
		db_bind_text(st, 1, r->id);
		db_bind_text(st, 2, r->version);
		db_bind_text(st, 3, sha);
		rc = db_step_done(st, err);
	}
	if (!rc)
		rc = set_step(r, "files-uploaded", err);
	if (!rc)
		log_info("archive %s/%s: %s (sha256 %.12s…) and %d file(s) beside it uploaded to deposition %s", r->id,
			 r->version, ARCHIVE_PACKAGE, sha, n - 1, r->dep);
	return rc;
}

static int step_metadata(struct arc *r, struct bo_error *err)
{
	cJSON *rdf = cJSON_Parse(r->rdf_json), *meta = NULL, *reply = NULL;
	char license[128], page[512], date[16], path[160], key[KEY_MAX];
	char *doc = NULL;
	size_t doc_len = 0;
	int known = 0, rc = 0;
	long status;
	if (!rdf)
		return bo_error_set(err, BO_EINTERNAL, "%s/%s: the stored RDF is not JSON", r->id, r->version);
	rc = zenodo_license_id(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rdf, "license")), license,
			       sizeof(license), err);
	if (rc) {
		rc = give_up(r, rc, err);
		goto out;
	}
	rc = zenodo_license_known(r->z, license, &known, err);
	if (rc)
		goto out;
	if (!known) {
		rc = bo_error_set(err, BO_EBADREQUEST,
				  "license '%s' of %s/%s is not in Zenodo's license vocabulary; Zenodo cannot archive it "
				  "under that license",
				  license, r->id, r->version);
		rc = give_up(r, rc, err);
		goto out;
	}
	const char *docref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rdf, "documentation"));
	if (docref && docref[0] && strncmp(docref, "http://", 7) && strncmp(docref, "https://", 8)) {
		struct bo_error derr = BO_ERROR_INIT;
		snprintf(key, sizeof(key), "%s/%s/files/%s", r->id, r->version,
			 !strncmp(docref, "./", 2) ? docref + 2 : docref);
		if (storage_get_buffer(r->a->storage, key, DOC_MAX, &doc, &doc_len, &derr)) {
			if (derr.code != BO_ENOTFOUND && derr.code != BO_ETOOLARGE && derr.code != BO_EBADREQUEST) {
				rc = bo_error_move(err, &derr, derr.code);
				goto out;
			}
			log_warnx("archive %s/%s: documentation not used: %s", r->id, r->version, derr.detail);
			doc = NULL;
		}
		bo_error_cleanup(&derr);
	}
	char pkg_sha[80] = "";
	rc = query_text(r, "SELECT COALESCE(archive_package_sha256, '') FROM versions WHERE concept_id = ?1 AND version = ?2",
			pkg_sha, sizeof(pkg_sha), err);
	if (rc)
		goto out;
	snprintf(page, sizeof(page), PAGE_URL "%s", r->id);
	snprintf(date, sizeof(date), "%.10s", r->published_at);
	struct zenodo_meta_input in = {
		.rdf = rdf,
		.id = r->id,
		.version = r->version,
		.documentation = doc,
		.documentation_len = doc_len,
		.page_url = page,
		.files_url = r->a->cfg->files_url,
		.license_id = license,
		.publication_date = date,
		.package_name = pkg_sha[0] ? ARCHIVE_PACKAGE : NULL,
		.package_sha256 = pkg_sha[0] ? pkg_sha : NULL,
	};
	rc = zenodo_metadata(&in, &meta, err);
	if (rc == BO_EINVALIDRDF)
		rc = give_up(r, rc, err);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "/api/deposit/depositions/%s", r->dep);
	rc = zenodo_call(r->z, "PUT", path, meta, &status, &reply, NULL, err);
	if (rc == BO_EBADREQUEST)
		rc = give_up(r, rc, err); /* Zenodo's validation message, for an operator */
	if (!rc)
		rc = set_step(r, "metadata-set", err);
out:
	cJSON_Delete(rdf);
	cJSON_Delete(meta);
	cJSON_Delete(reply);
	free(doc);
	return rc;
}

/* The DOIs as Zenodo gave them, committed with the rebuild that puts them in the
 * collection files. */
static int record_published(struct arc *r, const cJSON *dep, struct bo_error *err)
{
	const char *doi = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dep, "doi"));
	const char *cdoi = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dep, "conceptdoi"));
	char recid[64], reason[512], have[256];
	sqlite3_stmt *st = NULL;
	json_id(cJSON_GetObjectItemCaseSensitive(dep, "conceptrecid"), recid, sizeof(recid));
	if (!doi || !doi[0] || !cdoi || !cdoi[0])
		return bo_error_set(err, BO_EFETCH, "Zenodo deposition %s is published but has no doi/conceptdoi yet", r->dep);
	int rc = db_begin(r->c, err);
	if (rc)
		return rc;
	rc = query_text(r, "SELECT COALESCE(concept_doi, '') FROM concepts WHERE id = ?1", have, sizeof(have), err);
	if (!rc && have[0] && strcmp(have, cdoi))
		log_warnx("archive %s/%s: Zenodo gives concept DOI %s, the database holds %s; keeping %s", r->id, r->version,
			  cdoi, have, have);
	if (!rc)
		rc = db_prepare(r->c, &st,
				"UPDATE versions SET doi = ?3, zenodo_state = 'published' WHERE concept_id = ?1 AND version = ?2",
				err);
	if (!rc) {
		db_bind_text(st, 1, r->id);
		db_bind_text(st, 2, r->version);
		db_bind_text(st, 3, doi);
		rc = db_step_done(st, err);
	}
	if (!rc)
		rc = db_prepare(r->c, &st,
				"UPDATE concepts SET concept_doi = COALESCE(concept_doi, ?2), "
				"zenodo_conceptrecid = COALESCE(zenodo_conceptrecid, NULLIF(?3, '')) WHERE id = ?1",
				err);
	if (!rc) {
		db_bind_text(st, 1, r->id);
		db_bind_text(st, 2, cdoi);
		db_bind_text(st, 3, recid);
		rc = db_step_done(st, err);
	}
	snprintf(reason, sizeof(reason), "archive %s/%s: DOI %s", r->id, r->version, doi);
	if (!rc)
		rc = collection_enqueue_rebuild(r->c, reason, err);
	if (!rc)
		rc = db_commit(r->c, err);
	if (rc) {
		db_rollback(r->c);
		return rc;
	}
	snprintf(r->zstate, sizeof(r->zstate), "published");
	log_info("archive %s/%s: published on Zenodo as %s (concept %s)", r->id, r->version, doi, cdoi);
	return 0;
}

static int step_publish(struct arc *r, struct bo_error *err)
{
	char path[160];
	cJSON *j = NULL;
	long status;
	snprintf(path, sizeof(path), "/api/deposit/depositions/%s/actions/publish", r->dep);
	int rc = zenodo_call(r->z, "POST", path, NULL, &status, &j, NULL, err);
	if (rc == BO_ENOTFOUND || rc == BO_EBADREQUEST) {
		/* an earlier attempt may have published it (Zenodo answers a repeat with 404) */
		struct bo_error gerr = BO_ERROR_INIT;
		cJSON *dep = NULL;
		if (!get_deposition(r, &dep, &gerr) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dep, "submitted"))) {
			bo_error_cleanup(err);
			cJSON_Delete(j);
			j = dep;
			dep = NULL;
			rc = 0;
		} else if (rc == BO_EBADREQUEST) {
			rc = give_up(r, rc, err);
		}
		cJSON_Delete(dep);
		bo_error_cleanup(&gerr);
	}
	if (!rc)
		rc = record_published(r, j, err);
	cJSON_Delete(j);
	return rc;
}

/* info.json of the version, the one file of a published version that is rewritten. */
static int write_info(struct arc *r, struct bo_error *err)
{
	char key[KEY_MAX], doi[256], cdoi[256];
	char *old = NULL;
	size_t len = 0;
	int rc = query_text(r, "SELECT COALESCE(doi, '') FROM versions WHERE concept_id = ?1 AND version = ?2", doi,
			    sizeof(doi), err);
	if (!rc)
		rc = query_text(r, "SELECT COALESCE(concept_doi, '') FROM concepts WHERE id = ?1", cdoi, sizeof(cdoi), err);
	if (rc)
		return rc;
	snprintf(key, sizeof(key), "%s/%s/info.json", r->id, r->version);
	struct bo_error gerr = BO_ERROR_INIT;
	rc = storage_get_buffer(r->a->storage, key, INFO_MAX, &old, &len, &gerr);
	if (rc && rc != BO_ENOTFOUND) {
		bo_error_move(err, &gerr, rc);
		return rc;
	}
	bo_error_cleanup(&gerr);
	cJSON *info = old ? cJSON_ParseWithLength(old, len) : NULL;
	free(old);
	if (!cJSON_IsObject(info)) {
		cJSON_Delete(info);
		info = cJSON_CreateObject();
		if (info) {
			cJSON_AddStringToObject(info, "created", r->published_at);
			cJSON_AddNumberToObject(info, "download_count", 0);
		}
	}
	if (!info)
		return oom(err);
	cJSON_DeleteItemFromObjectCaseSensitive(info, "concept_doi");
	cJSON_DeleteItemFromObjectCaseSensitive(info, "doi");
	cJSON_AddStringToObject(info, "concept_doi", cdoi);
	cJSON_AddStringToObject(info, "doi", doi);
	char *text = cJSON_Print(info);
	cJSON_Delete(info);
	if (!text)
		return oom(err);
	rc = storage_put_buffer(r->a->storage, key, text, strlen(text), "application/json", err);
	free(text);
	return rc;
}

static int parse_payload(const struct job *job, struct arc *r, struct bo_error *err)
{
	cJSON *o = cJSON_Parse(job->payload_json);
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "version"));
	int rc = 0;
	if (!id || !id[0] || !v || !v[0] || strlen(id) >= sizeof(r->id) || strlen(v) >= sizeof(r->version) ||
	    strchr(v, '/') || strchr(id, '/'))
		rc = bo_error_set(err, BO_EINTERNAL, "archive job %lld: bad payload %.200s", (long long)job->id,
				  job->payload_json);
	else {
		snprintf(r->id, sizeof(r->id), "%s", id);
		snprintf(r->version, sizeof(r->version), "%s", v);
		const char *nv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "newversion_of"));
		if (nv && strlen(nv) < sizeof(r->newversion_of) && strspn(nv, "0123456789") == strlen(nv))
			snprintf(r->newversion_of, sizeof(r->newversion_of), "%s", nv);
	}
	cJSON_Delete(o);
	return rc;
}

int archive_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct arc r = {.a = ctx, .job = job};
	int found = 0;
	int rc = parse_payload(job, &r, err);
	if (rc)
		return give_up(&r, rc, err);
	if (!r.a->cfg->zenodo_token[0]) {
		log_info("archive %s/%s: archiving is off (zenodo_token is empty); nothing to do", r.id, r.version);
		return 0;
	}
	rc = zenodo_open(&r.z, r.a->cfg, err);
	if (!rc)
		rc = db_acquire(r.a->db, &r.c, err);
	if (!rc)
		rc = load_version(&r, &found, err);
	if (rc)
		goto out;
	if (!found) {
		log_warnx("archive %s/%s: not a published version; nothing to archive", r.id, r.version);
		goto out;
	}
	while (!rc && strcmp(r.zstate, "published")) {
		cJSON *dep = NULL;
		if (!r.zstate[0] || !r.dep[0]) {
			rc = step_draft(&r, err);
			jobs_touch(job);
			continue;
		}
		/* every later step starts from Zenodo's view: a deposition published by an
		 * attempt that died before it could record so is only recorded */
		rc = get_deposition(&r, &dep, err);
		if (!rc && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dep, "submitted")))
			rc = record_published(&r, dep, err);
		else if (!rc && !strcmp(r.zstate, "draft-created"))
			rc = step_files(&r, dep, err);
		else if (!rc && !strcmp(r.zstate, "files-uploaded"))
			rc = step_metadata(&r, err);
		else if (!rc && !strcmp(r.zstate, "metadata-set"))
			rc = step_publish(&r, err);
		else if (!rc)
			rc = give_up(&r, bo_error_set(err, BO_EINTERNAL, "unknown zenodo_state '%s'", r.zstate), err);
		cJSON_Delete(dep);
		jobs_touch(job);
	}
	if (!rc)
		rc = write_info(&r, err);
	if (!rc)
		jobs_notify(r.a->jobs);
out:
	if (r.c)
		db_release(r.a->db, r.c);
	zenodo_free(r.z);
	free(r.rdf_json);
	return rc;
}

void archive_dead(void *ctx, const struct job *job, const char *last_error)
{
	(void)ctx;
	log_error("archive: %s stays published without a DOI; the archive job %lld is dead (%s); after fixing the "
		  "cause run 'backoffice jobs retry %lld' (it resumes from the step it reached)",
		  job->subject, (long long)job->id, last_error ? last_error : "unknown error", (long long)job->id);
}

int archive_metrics(sqlite3 *c, char **out, size_t *len, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT COALESCE(zenodo_state, 'none'), count(*) FROM versions WHERE state != 'publishing' "
			    "GROUP BY 1 ORDER BY 1",
			    err);
	if (rc)
		return rc;
	int bad = metrics_appendf(out, len,
				  "# HELP bo_archive_versions Published versions by Zenodo archive step (none = not started).\n"
				  "# TYPE bo_archive_versions gauge\n");
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		bad |= metrics_appendf(out, len, "bo_archive_versions{state=\"%s\"} %lld\n", db_column_text(st, 0),
				       (long long)sqlite3_column_int64(st, 1));
	if (step != SQLITE_DONE)
		rc = db_fail(c, "count archive states", err);
	sqlite3_finalize(st);
	if (!rc && bad)
		rc = oom(err);
	return rc;
}

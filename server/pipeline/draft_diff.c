/* draft_diff: the diff of a draft's revision against the previous one and the published
 * version (see draft_diff.h). Files are compared by a merge of two lists sorted by path. */
#include "pipeline/draft_diff.h"

#include "app.h"
#include "common/error.h"
#include "common/linediff.h"
#include "domain/drafts.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

struct fentry {
	char *path;
	char sha256[65];
	int64_t size;
};
struct flist {
	struct fentry *v;
	size_t n;
};

static void flist_free(struct flist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The files of a revision (subject NULL) or of the files table's subject ('draft' or a
 * version), sorted by path (SQLite's BINARY order, which strcmp agrees with). */
static int flist_load(sqlite3 *c, const char *id, int revision, const char *subject, struct flist *out,
		      struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	int rc = db_prepare(c, &st,
			    subject ? "SELECT path, sha256, size FROM files WHERE concept_id = ?1 AND version_or_draft = ?2 "
				      "ORDER BY path"
				    : "SELECT path, sha256, size FROM revision_files WHERE concept_id = ?1 AND revision = ?2 "
				      "ORDER BY path",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	if (subject)
		db_bind_text(st, 2, subject);
	else
		sqlite3_bind_int(st, 2, revision);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fentry *v = realloc(out->v, ncap * sizeof(*v));
			if (!v) {
				rc = oom(err);
				goto out;
			}
			out->v = v;
			cap = ncap;
		}
		struct fentry *f = &out->v[out->n];
		if (!(f->path = strdup(db_column_text(st, 0)))) {
			rc = oom(err);
			goto out;
		}
		snprintf(f->sha256, sizeof(f->sha256), "%s", db_column_text(st, 1));
		f->size = sqlite3_column_int64(st, 2);
		out->n++;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(c, "list files", err);
out:
	sqlite3_finalize(st);
	if (rc)
		flist_free(out);
	return rc;
}

/* The kept rdf.yaml text of a revision, NULL (and 0) when none was kept. */
static int rdf_text(sqlite3 *c, const char *id, int revision, char **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*out = NULL;
	int rc = db_prepare(c, &st, "SELECT rdf_yaml FROM revision_rdf WHERE concept_id = ?1 AND revision = ?2", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, revision);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (!(*out = strdup(db_column_text(st, 0))))
			rc = oom(err);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read a revision's rdf.yaml", err);
	}
	sqlite3_finalize(st);
	return rc;
}

static void add_file(cJSON *files, const char *change, const struct fentry *o, const struct fentry *n, int *fail)
{
	cJSON *f = cJSON_CreateObject();
	if (!f || !cJSON_AddItemToArray(files, f)) {
		cJSON_Delete(f);
		*fail = 1;
		return;
	}
	cJSON_AddStringToObject(f, "path", (n ? n : o)->path);
	cJSON_AddStringToObject(f, "change", change);
	if (o) {
		cJSON_AddStringToObject(f, "sha256_old", o->sha256);
		cJSON_AddNumberToObject(f, "size_old", (double)o->size);
	} else {
		cJSON_AddNullToObject(f, "sha256_old");
	}
	if (n) {
		cJSON_AddStringToObject(f, "sha256_new", n->sha256);
		cJSON_AddNumberToObject(f, "size_new", (double)n->size);
	} else {
		cJSON_AddNullToObject(f, "sha256_new");
	}
}

/* Fills o with identical, summary and files: old against new, merged by path. */
static int compare_files(cJSON *o, const struct flist *old, const struct flist *new, struct bo_error *err)
{
	cJSON *files = cJSON_CreateArray();
	int fail = !files;
	int added = 0, removed = 0, changed = 0, same = 0;
	size_t i = 0, j = 0;
	while (!fail && (i < old->n || j < new->n)) {
		int cmp = i == old->n ? 1 : j == new->n ? -1 : strcmp(old->v[i].path, new->v[j].path);
		if (cmp < 0) {
			add_file(files, "removed", &old->v[i++], NULL, &fail);
			removed++;
		} else if (cmp > 0) {
			add_file(files, "added", NULL, &new->v[j++], &fail);
			added++;
		} else {
			int eq = !strcmp(old->v[i].sha256, new->v[j].sha256) && old->v[i].size == new->v[j].size;
			add_file(files, eq ? "same" : "changed", &old->v[i], &new->v[j], &fail);
			if (eq)
				same++;
			else
				changed++;
			i++, j++;
		}
	}
	cJSON *sum = fail ? NULL : cJSON_CreateObject();
	if (fail || !sum) {
		cJSON_Delete(files);
		return oom(err);
	}
	cJSON_AddBoolToObject(o, "identical", !added && !removed && !changed && same > 0);
	cJSON_AddNumberToObject(sum, "added", added);
	cJSON_AddNumberToObject(sum, "removed", removed);
	cJSON_AddNumberToObject(sum, "changed", changed);
	cJSON_AddNumberToObject(sum, "same", same);
	cJSON_AddItemToObject(o, "summary", sum);
	cJSON_AddItemToObject(o, "files", files);
	return 0;
}

/* rdf_diff and rdf_diff_status of old against new (either may be NULL: not kept). */
static int compare_rdf(cJSON *o, const char *old, const char *new, struct bo_error *err)
{
	cJSON *lines = NULL;
	int too_large = 0;
	if (!old || !new) {
		cJSON_AddNullToObject(o, "rdf_diff");
		cJSON_AddStringToObject(o, "rdf_diff_status", "not kept");
		return 0;
	}
	int rc = linediff_run(&lines, &too_large, old, new, &LINEDIFF_DEFAULTS, err);
	if (rc)
		return rc;
	cJSON_AddItemToObject(o, "rdf_diff", lines ? lines : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "rdf_diff_status", too_large ? "too large to diff" : "ok");
	return 0;
}

/* The newest kept revision before revision, 0 when none. */
static int previous_revision(sqlite3 *c, const char *id, int revision, int *out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*out = 0;
	int rc = db_prepare(c, &st,
			    "SELECT max(revision) FROM (SELECT revision FROM revision_files WHERE concept_id = ?1 "
			    "AND revision < ?2 UNION SELECT revision FROM revision_rdf WHERE concept_id = ?1 AND revision < ?2)",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, revision);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else
		rc = db_fail(c, "read the previous revision", err);
	sqlite3_finalize(st);
	return rc;
}

/* The latest published version: *version "" when there is none; *revision 0 when the
 * version does not say which revision it was. */
static int latest_version(sqlite3 *c, const char *id, char *version, size_t n, int *revision, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	version[0] = '\0';
	*revision = 0;
	int rc = db_prepare(c, &st,
			    "SELECT version, COALESCE(revision, 0) FROM versions WHERE concept_id = ?1 AND state = 'published' "
			    "ORDER BY published_at DESC, created_at DESC LIMIT 1",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(version, n, "%s", db_column_text(st, 0));
		*revision = sqlite3_column_int(st, 1);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read the latest version", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int draft_diff_view(const struct app *a, sqlite3 *c, const char *id, cJSON **out, struct bo_error *err)
{
	struct draft d;
	struct flist cur = {0}, other = {0};
	char *cur_rdf = NULL, *other_rdf = NULL;
	char version[64];
	int found = 0, prev = 0, vrev = 0;
	cJSON *o = NULL;
	(void)a;
	int rc = drafts_get(c, id, 0, &d, &found, err);
	if (rc)
		return rc;
	if (!found)
		return bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft", id);
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "id", id) || !cJSON_AddNumberToObject(o, "revision", d.revision)) {
		rc = oom(err);
		goto fail;
	}
	/* the revision as staging kept it; a draft staged before that was kept has its files
	 * in the files table (once staged: while unpacking, those rows are the last revision's) */
	rc = flist_load(c, id, d.revision, NULL, &cur, err);
	if (!rc && !cur.n && d.state != DRAFT_UNPACKING && d.state != DRAFT_ERROR)
		rc = flist_load(c, id, 0, "draft", &cur, err);
	if (!rc)
		rc = rdf_text(c, id, d.revision, &cur_rdf, err);
	if (rc)
		goto fail;
	cJSON_AddBoolToObject(o, "staged", cur.n > 0);
	if (!cur.n) {
		cJSON_AddNullToObject(o, "against_previous");
		cJSON_AddNullToObject(o, "against_published");
		goto done;
	}
	rc = previous_revision(c, id, d.revision, &prev, err);
	if (rc)
		goto fail;
	if (!prev) {
		cJSON_AddNullToObject(o, "against_previous");
	} else {
		cJSON *p = cJSON_AddObjectToObject(o, "against_previous");
		if (!p) {
			rc = oom(err);
			goto fail;
		}
		cJSON_AddNumberToObject(p, "revision", prev);
		rc = flist_load(c, id, prev, NULL, &other, err);
		if (!rc)
			rc = rdf_text(c, id, prev, &other_rdf, err);
		if (!rc)
			rc = compare_files(p, &other, &cur, err);
		if (!rc)
			rc = compare_rdf(p, other_rdf, cur_rdf, err);
		if (rc)
			goto fail;
		flist_free(&other);
		free(other_rdf);
		other_rdf = NULL;
	}
	rc = latest_version(c, id, version, sizeof(version), &vrev, err);
	if (rc)
		goto fail;
	if (!version[0]) {
		cJSON_AddNullToObject(o, "against_published");
	} else {
		cJSON *p = cJSON_AddObjectToObject(o, "against_published");
		if (!p) {
			rc = oom(err);
			goto fail;
		}
		cJSON_AddStringToObject(p, "version", version);
		if (vrev)
			cJSON_AddNumberToObject(p, "revision", vrev);
		else
			cJSON_AddNullToObject(p, "revision");
		/* a version's files are the draft's rows copied at publishing, byte for byte */
		rc = flist_load(c, id, 0, version, &other, err);
		if (!rc && vrev)
			rc = rdf_text(c, id, vrev, &other_rdf, err);
		if (!rc)
			rc = compare_files(p, &other, &cur, err);
		if (!rc)
			rc = compare_rdf(p, other_rdf, cur_rdf, err);
		if (rc)
			goto fail;
	}
done:
	*out = o;
	o = NULL;
	rc = 0;
fail:
	cJSON_Delete(o);
	flist_free(&cur);
	flist_free(&other);
	free(cur_rdf);
	free(other_rdf);
	drafts_release(&d);
	return rc;
}

int draft_diff_original(sqlite3 *c, const char *id, char **out, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	*out = NULL;
	int rc = db_prepare(c, &st,
			    "SELECT r.original FROM drafts d JOIN revision_rdf r ON r.concept_id = d.concept_id "
			    "AND r.revision = d.revision WHERE d.concept_id = ?1 AND r.original IS NOT NULL",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (!(*out = strdup(db_column_text(st, 0))))
			rc = oom(err);
	} else if (step == SQLITE_DONE) {
		rc = bo_error_set(err, BO_ENOTFOUND, "'%s' has no draft whose uploaded RDF was kept", id);
	} else {
		rc = db_fail(c, "read the uploaded RDF", err);
	}
	sqlite3_finalize(st);
	return rc;
}

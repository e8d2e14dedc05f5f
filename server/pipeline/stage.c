/* stage: storage first, database last. Objects are written under the draft prefix,
 * then one transaction records the files and the state change; a crash between the two
 * re-runs the job, which clears the prefix and writes everything again.
 * Invariant: a draft in `unpacked` has exactly the package's files (plus the thumbnails
 * under thumbnails/ that its rdf.yaml maps) in storage and in the files table, and its
 * rdf.yaml carries the concept's id. */
#include "pipeline/stage.h"

#include "app.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/rdf.h"
#include "domain/drafts.h"
#include "domain/ids.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/jobs.h"
#include "infra/package.h"
#include "infra/storage.h"
#include "infra/thumbs.h"
#include "pipeline/lifecycle.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGED_RDF_NAME "rdf.yaml"
#define TOUCH_EVERY 16

struct staged_file {
	char *path;
	uint64_t size;
	char sha256[65];
	const char *content_type;
};

int stage_original_key(const char *id, const char *rdf_name, char *out, size_t n, const char **base)
{
	const char *b = strrchr(rdf_name, '/') ? strrchr(rdf_name, '/') + 1 : rdf_name;
	if (base)
		*base = b;
	int w = snprintf(out, n, "%s/" STAGE_ORIGINAL_DIR "%s", id, b);
	return *b && w > 0 && (size_t)w < n && (size_t)w <= STORAGE_KEY_MAX ? 0 : -1;
}

cJSON *stage_stamp(cJSON *root, const char *id, const char *emoji)
{
	/* id and id_emoji go first so a reader sees them at the top of rdf.yaml */
	cJSON *stamped = cJSON_CreateObject();
	if (!stamped || !cJSON_AddStringToObject(stamped, "id", id) ||
	    !cJSON_AddStringToObject(stamped, "id_emoji", emoji ? emoji : "")) {
		cJSON_Delete(stamped);
		return NULL;
	}
	while (root->child) {
		cJSON *item = cJSON_DetachItemViaPointer(root, root->child);
		if (!strcmp(item->string, "id") || !strcmp(item->string, "id_emoji"))
			cJSON_Delete(item);
		else
			cJSON_AddItemToObject(stamped, item->string, item);
	}
	return stamped;
}

/* Parses the RDF entry and stamps id and id_emoji (first, in that order, as the
 * reference does). *out is the stamped tree (caller frees with cJSON_Delete); *original the
 * entry's own text (caller frees). */
static int stamp_rdf(struct app *a, package *p, size_t idx, const char *id, cJSON **out, char **original,
		     struct bo_error *err)
{
	char *text = NULL;
	size_t len = 0;
	rdf_doc *doc = NULL;
	struct ids_info info = {0};
	cJSON *stamped = NULL;
	int rc = package_read(p, idx, (size_t)a->cfg->max_yaml_bytes, &text, &len, err);
	if (rc)
		goto fail;
	/* the uploader's own bytes, which validation reads so that every line and column it
	 * reports is one of the file they sent (rdf.yaml is re-serialised with the stamp) */
	char key[STORAGE_KEY_MAX + 1];
	if (stage_original_key(id, package_name(p, idx), key, sizeof(key), NULL))
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "the RDF's path in the package is too long");
	else
		rc = storage_put_buffer(a->storage, key, text, len, "application/yaml", err);
	if (rc)
		goto fail;
	rc = rdf_parse(&doc, text, len, &a->rdf_limits, err);
	if (rc)
		goto fail;
	rc = ids_parse(a->ids, id, &info, err);
	if (rc)
		goto fail;
	stamped = stage_stamp(rdf_root(doc), id, info.emoji);
	if (!stamped) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	*out = stamped;
	stamped = NULL;
	*original = text;
	text = NULL;
	rc = 0;
fail:
	cJSON_Delete(stamped);
	rdf_free(doc);
	free(text);
	return rc;
}

/* Moves the draft to error with a message for the uploader; the job is then done. */
static int fail_draft(struct app *a, const char *id, int revision, const char *detail, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = lifecycle_transition(c, a->cfg, id, revision, DRAFT_ERROR, detail, 0, err);
	if (!rc)
		rc = db_commit(c, err);
	db_release(a->db, c);
	if (!rc)
		log_warnx("stage: %s revision %d: %s", id, revision, detail);
	/* a superseded revision is not this job's business any more */
	if (rc == BO_ECONFLICT) {
		bo_error_cleanup(err);
		rc = 0;
	}
	return rc;
}

static int restart_draft(struct app *a, const char *id, int revision, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (!rc)
		rc = lifecycle_transition(c, a->cfg, id, revision, DRAFT_UNPACKING, "staging retried", 0, err);
	if (!rc)
		rc = db_commit(c, err);
	db_release(a->db, c);
	return rc;
}

/* Keeps what this revision is, for the reviewer's diff against other revisions (the
 * draft's files rows are replaced by the next revision): each file's path, size and
 * SHA-256, and the staged rdf.yaml's text (yaml may be NULL: nothing kept). A revision
 * staged again replaces its rows. */
static int keep_revision(sqlite3 *c, const char *id, int revision, const struct staged_file *files, size_t n,
			 const char *yaml, const char *original, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	static const char *const clear[] = {
		"DELETE FROM revision_files WHERE concept_id = ?1 AND revision = ?2",
		"DELETE FROM revision_rdf WHERE concept_id = ?1 AND revision = ?2",
	};
	int rc = 0;
	for (size_t i = 0; !rc && i < sizeof(clear) / sizeof(clear[0]); i++) {
		rc = db_prepare(c, &st, clear[i], err);
		if (rc)
			break;
		db_bind_text(st, 1, id);
		sqlite3_bind_int(st, 2, revision);
		rc = db_step_done(st, err);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		rc = db_prepare(c, &st,
				"INSERT INTO revision_files(concept_id, revision, path, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
				err);
		if (rc)
			break;
		db_bind_text(st, 1, id);
		sqlite3_bind_int(st, 2, revision);
		db_bind_text(st, 3, files[i].path);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)files[i].size);
		db_bind_text(st, 5, files[i].sha256);
		rc = db_step_done(st, err);
	}
	if (!rc && yaml) {
		rc = db_prepare(c, &st,
				"INSERT INTO revision_rdf(concept_id, revision, rdf_yaml, original) VALUES (?1, ?2, ?3, ?4)", err);
		if (!rc) {
			db_bind_text(st, 1, id);
			sqlite3_bind_int(st, 2, revision);
			db_bind_text(st, 3, yaml);
			db_bind_text(st, 4, original);
			rc = db_step_done(st, err);
		}
	}
	return rc;
}

/* warnings: array of {message, details} from the thumbnails, may be NULL */
static int record(struct app *a, const char *id, int revision, struct staged_file *files, size_t n,
		  const char *rdf_json, const char *yaml, const char *original, const cJSON *warnings,
		  struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_begin(c, err);
	if (rc)
		goto fail;
	rc = db_prepare(c, &st, "DELETE FROM files WHERE concept_id = ?1 AND version_or_draft = 'draft'", err);
	if (rc)
		goto fail;
	db_bind_text(st, 1, id);
	rc = db_step_done(st, err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		rc = db_prepare(c, &st,
				"INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) "
				"VALUES (?1, 'draft', ?2, ?3, ?4, ?5)",
				err);
		if (rc)
			goto fail;
		db_bind_text(st, 1, id);
		db_bind_text(st, 2, files[i].path);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)files[i].size);
		db_bind_text(st, 4, files[i].sha256);
		db_bind_text(st, 5, files[i].content_type);
		rc = db_step_done(st, err);
		if (rc)
			goto fail;
	}
	rc = keep_revision(c, id, revision, files, n, yaml, original, err);
	if (rc)
		goto fail;
	rc = drafts_set_rdf(c, id, revision, rdf_json, err);
	if (rc)
		goto fail;
	char msg[128];
	snprintf(msg, sizeof(msg), "%zu files staged", n);
	rc = lifecycle_event(c, id, "draft", 0, "staged", msg, NULL, err);
	const cJSON *w;
	cJSON_ArrayForEach(w, warnings)
	{
		if (rc)
			break;
		char *details = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(w, "details"));
		rc = lifecycle_event(c, id, "draft", 0, "warning",
				     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "message")), details, err);
		free(details);
	}
	/* entering unpacked queues the validate job: a staged draft always gets its verdict */
	if (!rc)
		rc = lifecycle_transition(c, a->cfg, id, revision, DRAFT_UNPACKED, NULL, 0, err);
	if (!rc)
		rc = db_commit(c, err);
fail:
	db_release(a->db, c);
	return rc;
}

/* The name an entry gets under files/: the RDF's folder prefix (a zipped folder) is
 * dropped, and the RDF itself becomes rdf.yaml. */
static const char *staged_name(const char *entry, const char *rdf_name, size_t prefix_len)
{
	if (!strcmp(entry, rdf_name))
		return STAGED_RDF_NAME;
	return entry + prefix_len;
}

/* ---------------------------------------------------------------- thumbnails */

/* Covers, icons and badge icons that are files of the package get a PNG thumbnail
 * (the reference's sizes) stored beside the files under thumbnails/<path>.png and
 * mapped in the stamped RDF's config.bioimageio.thumbnails. An image that cannot be
 * thumbnailed is a warning event, never a failed upload. */
#define COVER_W 600
#define COVER_H 340
#define ICON_SIZE 320
#define THUMBS_MAX 64
#define THUMBS_DIR "thumbnails/"

struct thumbs_run {
	struct app *a;
	package *p;
	const struct job *job;
	const char *prefix;       /* <id>/draft/files/ */
	struct staged_file *files;
	size_t *nfiles;           /* package files first, thumbnails appended */
	size_t npackage;          /* files[0..npackage) are package entry i = index i */
	char dir[4200];           /* scratch directory */
	cJSON *map;               /* {original: thumbnail} */
	cJSON *warnings;          /* [{message, details}] */
	int tried; /* local images attempted, at most THUMBS_MAX */
};

/* Returns 0, or BO_ENOMEM set in err. */
static int add_warning(struct thumbs_run *t, const char *field, const char *path, const char *detail,
		       struct bo_error *err)
{
	char msg[BO_ERROR_DETAIL_MAX + 600];
	snprintf(msg, sizeof(msg), "no thumbnail for %s %s: %s", field, path, detail);
	/* a bound on event rows too: an RDF may list thousands of covers */
	if (cJSON_GetArraySize(t->warnings) >= THUMBS_MAX) {
		log_info("stage: %s (not recorded: too many warnings)", msg);
		return 0;
	}
	cJSON *w = cJSON_CreateObject();
	cJSON *d = cJSON_AddObjectToObject(w, "details");
	if (!w || !d || !cJSON_AddStringToObject(w, "message", msg) || !cJSON_AddStringToObject(d, "field", field) ||
	    !cJSON_AddStringToObject(d, "image", path) || !cJSON_AddItemToArray(t->warnings, w)) {
		cJSON_Delete(w);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	log_info("stage: %s", msg);
	return 0;
}

static int name_taken(const struct thumbs_run *t, const char *name)
{
	for (size_t i = 0; i < *t->nfiles; i++)
		if (!strcmp(t->files[i].path, name))
			return 1;
	return 0;
}

/* thumbnails/<path>.png, or thumbnails/<path>.<k>.png when the package already has a
 * file of that name: the package's own files are never overwritten. */
static int thumb_name(const struct thumbs_run *t, const char *path, char *out, size_t len)
{
	for (int k = 0; k < 10; k++) {
		int n = k ? snprintf(out, len, THUMBS_DIR "%s.%d.png", path, k)
			  : snprintf(out, len, THUMBS_DIR "%s.png", path);
		if (n < 0 || (size_t)n >= len)
			return -1;
		if (!name_taken(t, out))
			return 0;
	}
	return -1;
}

/* The package file index of a relative path, or -1 (URL, emoji, missing, escaping). */
static long find_local(const struct thumbs_run *t, const char *path)
{
	if (strstr(path, "://") || path[0] == '/')
		return -1;
	for (size_t i = 0; i < t->npackage; i++)
		if (!strcmp(t->files[i].path, path))
			return (long)i;
	return -1;
}

static int thumb_one(struct thumbs_run *t, const char *field, const cJSON *item, int box_w, int box_h,
		     int must_be_file, struct bo_error *err)
{
	const char *raw = cJSON_GetStringValue(item);
	if (!raw || !*raw)
		return 0;
	const char *path = raw;
	while (!strncmp(path, "./", 2))
		path += 2;
	if (cJSON_GetObjectItemCaseSensitive(t->map, raw))
		return 0; /* the same image under another field: one thumbnail (the first size) */
	long idx = find_local(t, path);
	if (idx < 0) {
		/* URLs are left alone, and so are emoji icons; a missing cover file is the validator's */
		if (must_be_file && !strstr(path, "://"))
			return add_warning(t, field, raw, "the file is not in the package", err);
		return 0;
	}
	char src[4500], dst[4300], name[1400], key[2200];
	if (t->tried >= THUMBS_MAX) {
		snprintf(name, sizeof(name), "only the first %d images of a package get thumbnails", THUMBS_MAX);
		return add_warning(t, field, raw, name, err);
	}
	const char *base = strrchr(path, '/');
	snprintf(src, sizeof(src), "%s/%s", t->dir, base ? base + 1 : path);
	snprintf(dst, sizeof(dst), "%s/thumbnail.png", t->dir);
	if (thumb_name(t, path, name, sizeof(name)) != 0)
		return add_warning(t, field, raw, "no free thumbnail name", err);
	char sha[65];
	uint64_t size = 0;
	struct bo_error terr = BO_ERROR_INIT;
	t->tried++;
	/* terr: an unusable image is the uploader's warning, anything else is this job's error */
	int rc = package_extract(t->p, (size_t)idx, src, sha, &size, &terr);
	if (!rc)
		rc = thumbs_make(src, dst, box_w, box_h, t->a->cfg->max_image_pixels, &terr);
	unlink(src);
	if (rc) {
		if (rc == BO_EINVALIDPACKAGE || rc == BO_ETOOLARGE)
			rc = add_warning(t, field, raw, terr.detail, err);
		else
			bo_error_move(err, &terr, rc);
		bo_error_cleanup(&terr);
		unlink(dst);
		return rc;
	}
	struct stat sb;
	snprintf(key, sizeof(key), "%s%s", t->prefix, name);
	struct staged_file *sf = &t->files[*t->nfiles];
	sf->path = strdup(name);
	if (!sf->path) {
		unlink(dst);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	(*t->nfiles)++;
	sf->content_type = "image/png";
	rc = stat(dst, &sb) == 0 ? 0 : bo_error_set(err, BO_EINTERNAL, "cannot stat %s: %s", dst, strerror(errno));
	if (!rc) {
		sf->size = (uint64_t)sb.st_size;
		rc = storage_put_file(t->a->storage, key, dst, sf->content_type, sf->sha256, err);
	}
	unlink(dst);
	if (rc)
		return rc;
	if (!cJSON_AddStringToObject(t->map, raw, name))
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	jobs_touch(t->job);
	return 0;
}

/* Puts the mapping under config.bioimageio.thumbnails, creating the objects when
 * missing and keeping their other keys. The key is ours: an uploaded mapping is
 * replaced (or removed when we made none), so it never names files that do not exist. */
static int map_thumbnails(cJSON *root, cJSON **map, struct bo_error *err)
{
	cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
	if (config && !cJSON_IsObject(config))
		return 0; /* the validator reports a config that is not a mapping */
	if (!config && !cJSON_GetArraySize(*map))
		return 0;
	if (!config && !(config = cJSON_AddObjectToObject(root, "config")))
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	cJSON *bio = cJSON_GetObjectItemCaseSensitive(config, "bioimageio");
	if (bio && !cJSON_IsObject(bio))
		return 0;
	if (!bio && !cJSON_GetArraySize(*map))
		return 0;
	if (!bio && !(bio = cJSON_AddObjectToObject(config, "bioimageio")))
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	cJSON_DeleteItemFromObjectCaseSensitive(bio, "thumbnails");
	if (cJSON_GetArraySize(*map)) {
		if (!cJSON_AddItemToObject(bio, "thumbnails", *map))
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		*map = NULL;
	}
	return 0;
}

/* Makes the thumbnails of root's images, appending them to files (which has room for
 * THUMBS_MAX more) and their warnings to *warnings_out (caller frees). */
static int make_thumbnails(struct app *a, package *p, const struct job *job, cJSON *root, const char *prefix,
			   struct staged_file *files, size_t *nfiles, cJSON **warnings_out, struct bo_error *err)
{
	struct thumbs_run t = {.a = a, .p = p, .job = job, .prefix = prefix, .files = files, .nfiles = nfiles,
			       .npackage = *nfiles};
	int rc = 0, have_dir = 0;
	t.map = cJSON_CreateObject();
	t.warnings = cJSON_CreateArray();
	if (!t.map || !t.warnings) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(t.dir, sizeof(t.dir), "%s/stage-%lld.thumbs", a->tmp_dir, (long long)job->id);
	if (mkdir(t.dir, 0700) != 0 && errno != EEXIST) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", t.dir, strerror(errno));
		goto fail;
	}
	have_dir = 1;
	const cJSON *item;
	/* the reference's order: covers, badge icons, icon */
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "covers"))
	{
		rc = thumb_one(&t, "cover", item, COVER_W, COVER_H, 1, err);
		if (rc)
			goto fail;
	}
	const cJSON *badge;
	cJSON_ArrayForEach(badge, cJSON_GetObjectItemCaseSensitive(root, "badges"))
	{
		rc = thumb_one(&t, "badge icon", cJSON_GetObjectItemCaseSensitive(badge, "icon"), ICON_SIZE, ICON_SIZE, 0,
			       err);
		if (rc)
			goto fail;
	}
	rc = thumb_one(&t, "icon", cJSON_GetObjectItemCaseSensitive(root, "icon"), ICON_SIZE, ICON_SIZE, 0, err);
	if (rc)
		goto fail;
	rc = map_thumbnails(root, &t.map, err);
	if (rc)
		goto fail;
	*warnings_out = t.warnings;
	t.warnings = NULL;
fail:
	if (have_dir)
		rmdir(t.dir);
	cJSON_Delete(t.map);
	cJSON_Delete(t.warnings);
	return rc;
}

/* One stage job's work in progress; stage_run frees it. */
struct staging {
	struct app *a;
	const struct job *job;
	const char *id;
	int revision;
	struct draft d;
	package *p;
	struct staged_file *files; /* the entries, then the thumbnails */
	size_t nfiles;
	size_t rdf_file; /* files[rdf_file] is rdf.yaml, written last */
	cJSON *rdf;      /* the stamped RDF */
	cJSON *warnings;
	char *yaml, *rdf_json, *scratch;
	char *original; /* the RDF entry as uploaded */
	char prefix[600]; /* <id>/draft/files/ */
};

/* The draft this job stages: *go = 0 when the job is stale (the draft is gone, has a
 * newer revision or moved on). A dead stage job an operator retried starts over. */
static int stage_begin(struct staging *s, int *go, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int found = 0;
	*go = 0;
	int rc = db_acquire(s->a->db, &c, err);
	if (rc)
		return rc;
	rc = drafts_get(c, s->id, 0, &s->d, &found, err);
	db_release(s->a->db, c);
	if (rc)
		return rc;
	if (found && s->d.revision == s->revision && s->d.state == DRAFT_ERROR) {
		/* unpack again from the kept package */
		rc = restart_draft(s->a, s->id, s->revision, err);
		if (rc)
			return rc;
		s->d.state = DRAFT_UNPACKING;
	}
	if (!found || s->d.revision != s->revision || s->d.state != DRAFT_UNPACKING) {
		log_info("stage: %s revision %d: nothing to do (draft %s)", s->id, s->revision,
			 !found				? "gone"
			 : s->d.revision != s->revision ? "has a newer revision"
							: drafts_state_name(s->d.state));
		return 0;
	}
	*go = 1;
	return 0;
}

/* Every entry into storage under prefix (rdf.yaml is parsed and stamped, written later);
 * each entry is extracted to the scratch file, hashed, then sent. */
static int stage_entries(struct staging *s, struct bo_error *err)
{
	size_t n = package_count(s->p);
	s->files = calloc(n + THUMBS_MAX, sizeof(*s->files));
	if (asprintf(&s->scratch, "%s/stage-%lld", s->a->tmp_dir, (long long)s->job->id) < 0)
		s->scratch = NULL;
	if (!s->files || !s->scratch)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	const char *slash = strrchr(s->d.rdf_name, '/');
	size_t prefix_len = slash ? (size_t)(slash - s->d.rdf_name) + 1 : 0;
	char original[700];
	snprintf(original, sizeof(original), "%s/" STAGE_ORIGINAL_DIR, s->id);
	int rc = storage_delete_prefix(s->a->storage, s->prefix, err);
	if (!rc)
		rc = storage_delete_prefix(s->a->storage, original, err);
	for (size_t i = 0; !rc && i < n; i++) {
		const char *entry = package_name(s->p, i);
		const char *name = staged_name(entry, s->d.rdf_name, prefix_len);
		char key[2200];
		snprintf(key, sizeof(key), "%s%s", s->prefix, name);
		struct staged_file *sf = &s->files[s->nfiles];
		if (!(sf->path = strdup(name)))
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		s->nfiles++;
		sf->content_type = package_content_type(name);
		if (!strcmp(name, STAGED_RDF_NAME) && !strcmp(entry, s->d.rdf_name)) {
			/* written after the thumbnails, which it maps */
			rc = stamp_rdf(s->a, s->p, i, s->id, &s->rdf, &s->original, err);
			s->rdf_file = s->nfiles - 1;
			sf->content_type = "application/yaml";
		} else {
			rc = package_extract(s->p, i, s->scratch, sf->sha256, &sf->size, err);
			if (!rc)
				rc = storage_put_file(s->a->storage, key, s->scratch, sf->content_type, NULL, err);
			unlink(s->scratch);
		}
		if (!rc && (i + 1) % TOUCH_EVERY == 0)
			jobs_touch(s->job);
	}
	return rc;
}

/* The thumbnails, then the stamped rdf.yaml that maps them. */
static int stage_rdf(struct staging *s, struct bo_error *err)
{
	if (!s->rdf)
		return 0;
	int rc = make_thumbnails(s->a, s->p, s->job, s->rdf, s->prefix, s->files, &s->nfiles, &s->warnings, err);
	if (rc)
		return rc;
	s->yaml = rdf_emit(s->rdf, err);
	s->rdf_json = cJSON_PrintUnformatted(s->rdf);
	if (!s->yaml || !s->rdf_json)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	struct staged_file *sf = &s->files[s->rdf_file];
	char key[2200];
	snprintf(key, sizeof(key), "%s%s", s->prefix, STAGED_RDF_NAME);
	sf->size = strlen(s->yaml);
	hex_sha256(sf->sha256, s->yaml, sf->size);
	return storage_put_buffer(s->a->storage, key, s->yaml, sf->size, sf->content_type, err);
}

/* A package the uploader must fix: the draft goes to error saying what, and the staged
 * objects go (with_files). Other failures return as they are (the job is retried). */
static int stage_refuse(struct staging *s, int rc, int with_files, struct bo_error *err)
{
	if (rc != BO_EINVALIDPACKAGE && rc != BO_ETOOLARGE && !(with_files && rc == BO_EINVALIDRDF))
		return rc;
	char msg[BO_ERROR_DETAIL_MAX + 64];
	snprintf(msg, sizeof(msg), "%s; fix the package and upload again", err->detail);
	bo_error_cleanup(err);
	if (with_files) {
		storage_delete_prefix(s->a->storage, s->prefix, err);
		bo_error_cleanup(err);
	}
	return fail_draft(s->a, s->id, s->revision, msg, err);
}

/* The staged draft's package and those of revisions superseded before they were staged
 * are no longer needed. */
static void stage_drop_packages(const struct staging *s)
{
	if (unlink(s->d.package_path) != 0 && errno != ENOENT)
		log_warn("stage: cannot remove %s", s->d.package_path);
	for (int old = 1; old < s->revision; old++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.r%d.zip", s->a->incoming_dir, s->id, old);
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("stage: cannot remove %s", path);
	}
}

int stage_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct staging s = {.a = ctx, .job = job, .id = job->subject};
	int go = 0, rc;
	cJSON *payload = cJSON_Parse(job->payload_json);
	const cJSON *jrev = cJSON_GetObjectItemCaseSensitive(payload, "revision");
	if (!cJSON_IsNumber(jrev)) {
		rc = bo_error_set(err, BO_EINTERNAL, "stage job payload has no revision");
		goto out;
	}
	s.revision = jrev->valueint;
	snprintf(s.prefix, sizeof(s.prefix), "%s/draft/files/", s.id);
	rc = stage_begin(&s, &go, err);
	if (rc || !go)
		goto out;
	rc = package_open(&s.p, s.d.package_path, &s.a->package_limits, err);
	if (rc) {
		rc = stage_refuse(&s, rc, 0, err);
		goto out;
	}
	rc = stage_entries(&s, err);
	if (!rc)
		rc = stage_rdf(&s, err);
	if (rc) {
		rc = stage_refuse(&s, rc, 1, err);
		goto out;
	}
	rc = record(s.a, s.id, s.revision, s.files, s.nfiles, s.rdf_json, s.yaml, s.original, s.warnings, err);
	if (rc == BO_ECONFLICT) {
		/* a newer revision arrived while we unpacked; it has its own stage job */
		log_info("stage: %s revision %d superseded while staging: %s", s.id, s.revision, err->detail);
		bo_error_cleanup(err);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	jobs_notify(s.a->jobs);
	stage_drop_packages(&s);
	log_info("stage: %s revision %d: %zu files staged", s.id, s.revision, s.nfiles);
out:
	for (size_t i = 0; i < s.nfiles; i++)
		free(s.files[i].path);
	free(s.files);
	free(s.yaml);
	free(s.original);
	free(s.rdf_json);
	free(s.scratch);
	cJSON_Delete(s.rdf);
	cJSON_Delete(s.warnings);
	package_close(s.p);
	cJSON_Delete(payload);
	drafts_release(&s.d);
	return rc;
}

void stage_dead(void *ctx, const struct job *job, const char *last_error)
{
	struct app *a = ctx;
	struct bo_error err = BO_ERROR_INIT;
	cJSON *payload = cJSON_Parse(job->payload_json);
	const cJSON *jrev = cJSON_GetObjectItemCaseSensitive(payload, "revision");
	char msg[BO_ERROR_DETAIL_MAX + 256];
	snprintf(msg, sizeof(msg),
		 "staging failed after %d attempts (%s); the upload is kept: an operator can retry it with "
		 "'backoffice jobs retry %lld', or upload the package again",
		 job->attempts, last_error ? last_error : "unknown error", (long long)job->id);
	if (cJSON_IsNumber(jrev) && fail_draft(a, job->subject, jrev->valueint, msg, &err))
		log_error("stage: %s: cannot record the failure: %s", job->subject, err.detail);
	bo_error_cleanup(&err);
	cJSON_Delete(payload);
}

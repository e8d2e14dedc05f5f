/* import: adopting an existing collection. Storage is read first (and hashed, streaming,
 * only for what the database does not have yet), then one transaction per concept compares
 * and inserts; a dry run rolls every transaction back. Nothing is written to storage.
 *
 * Placeholders for what the adopted layout does not carry (documented in README
 * "Importing an existing collection"):
 * - an imported draft is revision 1 (concepts.revisions is raised to 1, so the next upload
 *   is revision 2), has no uploader, package_sha256 = the sha256 of its staged rdf.yaml,
 *   package_size 0 and package_path "" (no package was kept: the draft cannot be re-staged,
 *   only replaced by a new upload), rdf_name "rdf.yaml"; no test runs are imported;
 * - a draft without draft.json is taken as "awaiting review";
 * - a legacy version without config.bioimageio.created has the listed entry's `created`
 *   (the newest version) or LEGACY_CREATED_UNKNOWN. */
#include "pipeline/import.h"

#include "app.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/rdf.h"
#include "domain/drafts.h"
#include "domain/ids.h"
#include "domain/imports.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/package.h"
#include "infra/storage.h"
#include "pipeline/collection.h"
#include "pipeline/stage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define META_MAX (1u << 20)         /* versions.json, info.json, draft.json */
#define LEGACY_INDEX_MAX (64u << 20) /* the legacy collection.json (the real one is 0.4 MiB) */
#define LIST_PAGE 1000
#define VERSION_MAX 100
#define LEGACY_CREATED_UNKNOWN "1970-01-01T00:00:00Z"
#define KEY_BUF (2 * STORAGE_KEY_MAX + 256) /* <id>/<version>/… with room to spare */

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

/* ------------------------------------------------------------------ parsing pieces */

int import_time_normalize(const char *in, char *out, size_t n)
{
	struct tm tm = {0};
	const char *p = in ? strptime(in, "%Y-%m-%d", &tm) : NULL;
	int ms = -1;
	long off = 0;
	if (!p || (*p != 'T' && *p != ' '))
		return -1;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		int digits = 0;
		ms = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (!digits)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0, used = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 || used != 5 || hh > 23 || mm > 59)
			return -1;
		off = sign * (hh * 3600L + mm * 60L);
		p += 1 + used;
	}
	if (*p)
		return -1;
	time_t t = timegm(&tm) - off;
	struct tm u;
	if (!gmtime_r(&t, &u))
		return -1;
	size_t w = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &u);
	if (!w)
		return -1;
	int x = ms >= 0 ? snprintf(out + w, n - w, ".%03dZ", ms) : snprintf(out + w, n - w, "Z");
	return x > 0 && (size_t)x < n - w ? 0 : -1;
}

int import_legacy_paths(const char *rdf_source, char *path, size_t np, char *base, size_t nb)
{
	const char *r = rdf_source ? strstr(rdf_source, "/rdfs/") : NULL;
	const char *tail = "/rdf.yaml";
	size_t len = rdf_source ? strlen(rdf_source) : 0;
	if (!r || len < strlen(tail) || strcmp(rdf_source + len - strlen(tail), tail))
		return -1;
	const char *start = r + strlen("/rdfs/");
	const char *end = rdf_source + len - strlen(tail); /* end of <path>/<version> */
	const char *vslash = end;
	while (vslash > start && vslash[-1] != '/')
		vslash--;
	if (vslash <= start + 1 || vslash[-2] == '/') /* no path before the version, or an empty segment */
		return -1;
	size_t plen = (size_t)(vslash - 1 - start);
	/* every segment of the path must be a plain name */
	for (const char *s = start; s < vslash - 1;) {
		const char *e = memchr(s, '/', (size_t)(vslash - 1 - s));
		size_t sl = e ? (size_t)(e - s) : (size_t)(vslash - 1 - s);
		if (!sl || (sl == 1 && s[0] == '.') || (sl == 2 && s[0] == '.' && s[1] == '.'))
			return -1;
		s += sl + 1;
	}
	size_t blen = (size_t)(vslash - 1 - rdf_source);
	if (plen >= np || blen >= nb)
		return -1;
	memcpy(path, start, plen);
	path[plen] = '\0';
	memcpy(base, rdf_source, blen);
	base[blen] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ the run */

struct run {
	struct app *a;
	sqlite3 *c;
	const struct import_opts *o;
	struct import_report *r;
	struct timespec last;
	size_t total;
};

static void say(struct run *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *u, const char *fmt, ...)
{
	if (!u->o->out)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (u->o->dry_run)
		fputs("(dry run) ", u->o->out);
	vfprintf(u->o->out, fmt, ap);
	fputc('\n', u->o->out);
	va_end(ap);
}

/* At most one line a second, and the last one. */
static void progress(struct run *u, int last)
{
	struct timespec now;
	if (!u->o->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!last && now.tv_sec - u->last.tv_sec < 1)
		return;
	u->last = now;
	fprintf(u->o->progress, "import: %d/%zu concepts (%d created, %d unchanged, %d conflicts, %d skipped)\n",
		u->r->concepts, u->total, u->r->created, u->r->unchanged, u->r->conflicts, u->r->skipped);
	fflush(u->o->progress);
}

static const char *jstr(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A parsed RDF's stamped JSON and type. */
struct rdf_read {
	char sha[65];
	char type[32];
	char *rdf_json; /* malloc'd */
	cJSON *root;    /* the parsed RDF before stamping (legacy reads config from it) */
};

static void rdf_read_free(struct rdf_read *x)
{
	free(x->rdf_json);
	cJSON_Delete(x->root);
	memset(x, 0, sizeof(*x));
}

/* Parses text and stamps id (and its emoji). BO_EINVALIDRDF (with the reason) for an RDF
 * we cannot adopt. */
static int rdf_take(struct run *u, const char *text, size_t len, const char *id, struct rdf_read *out,
		    struct bo_error *err)
{
	rdf_doc *doc = NULL;
	cJSON *stamped = NULL;
	hex_sha256(out->sha, text, len);
	int rc = rdf_parse(&doc, text, len, &u->a->rdf_limits, err);
	if (rc)
		return rc == BO_ENOMEM ? rc : bo_error_set(err, BO_EINVALIDRDF, "%s", err->detail);
	const char *type = jstr(rdf_root(doc), "type");
	if (!type || !ids_vocab_type(type) || strlen(type) >= sizeof(out->type)) {
		rc = bo_error_set(err, BO_EINVALIDRDF, "rdf.yaml has no resource type we adopt");
		goto out;
	}
	snprintf(out->type, sizeof(out->type), "%s", type);
	out->root = cJSON_Duplicate(rdf_root(doc), 1);
	stamped = out->root ? stage_stamp(rdf_root(doc), id, ids_emoji(u->a->ids, id)) : NULL;
	out->rdf_json = stamped ? cJSON_PrintUnformatted(stamped) : NULL;
	rc = out->rdf_json ? 0 : oom(err);
out:
	cJSON_Delete(stamped);
	rdf_free(doc);
	return rc;
}

/* Reads key as JSON (NULL and 0 when missing). */
static int get_json(struct run *u, const char *key, cJSON **out, struct bo_error *err)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = storage_get_buffer(u->a->storage, key, META_MAX, &text, &len, err);
	if (rc == BO_ENOTFOUND) {
		bo_error_cleanup(err);
		return 0;
	}
	if (rc)
		return rc;
	*out = cJSON_ParseWithLength(text, len);
	free(text);
	if (!*out || !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		return bo_error_set(err, BO_EINVALIDRDF, "%s is not a JSON object", key);
	}
	return 0;
}

static int sha_sink(void *ctx, const void *buf, size_t n) { return EVP_DigestUpdate(ctx, buf, n) == 1 ? 0 : -1; }

/* sha256 of an object, streamed (no object is held whole in memory). */
static int hash_object(struct run *u, const char *key, char sha[65], struct bo_error *err)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	if (!x || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(x);
		return oom(err);
	}
	int rc = storage_get_range(u->a->storage, key, 0, UINT64_MAX, sha_sink, x, err);
	if (!rc && EVP_DigestFinal_ex(x, md, &mdlen) != 1)
		rc = bo_error_set(err, BO_EINTERNAL, "sha256 of %s failed", key);
	if (!rc)
		hex_encode(sha, md, mdlen);
	EVP_MD_CTX_free(x);
	return rc;
}

/* ------------------------------------------------------------------ storage keys */

struct key {
	char *k;
	uint64_t size;
};

struct keys {
	struct key *v;
	size_t n, cap;
};

static void keys_free(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->v[i].k);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

static int keys_add(void *ctx, const char *key, uint64_t size)
{
	struct keys *ks = ctx;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 1024;
		struct key *p = realloc(ks->v, cap * sizeof(*p));
		if (!p)
			return -1;
		ks->v = p;
		ks->cap = cap;
	}
	ks->v[ks->n].k = strdup(key);
	ks->v[ks->n].size = size;
	return ks->v[ks->n].k ? (ks->n++, 0) : -1;
}

static int keys_list(storage *s, struct keys *ks, struct bo_error *err)
{
	char *after = NULL, *next = NULL;
	int rc;
	do {
		rc = storage_list(s, "", after, LIST_PAGE, keys_add, ks, &next, err);
		free(after);
		after = next;
		next = NULL;
	} while (!rc && after);
	free(after);
	if (rc == BO_EINTERNAL)
		rc = oom(err); /* only our callback stops a listing */
	return rc;
}

/* Whether the sorted range [lo, hi) has key. */
static int has_key(const struct keys *ks, size_t lo, size_t hi, const char *key)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ks->v[mid].k, key);
		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* ------------------------------------------------------------------ one stored concept */

struct pfile {
	const char *path; /* borrowed from the key list */
	uint64_t size;
	char sha[65];
};

struct pver {
	char v[VERSION_MAX + 1]; /* a version, or "draft" */
	char created[40], updated[40], doi[256];
	int yanked;
	char *source_url; /* legacy: where its rdf.yaml is (malloc'd), NULL for our storage */
	struct rdf_read rdf;
	struct pfile *files;
	size_t nfiles;
	enum draft_state state;
	char *detail;
};

static void pver_free(struct pver *p)
{
	rdf_read_free(&p->rdf);
	free(p->files);
	free(p->detail);
	free(p->source_url);
}

/* The files under <id>/<v>/files/ in [lo, hi), hashed (rdf.yaml's hash is the one read). */
static int collect_files(struct run *u, const struct keys *ks, size_t lo, size_t hi, const char *id, struct pver *p,
			 struct bo_error *err)
{
	char prefix[KEY_BUF];
	snprintf(prefix, sizeof(prefix), "%s/%s/files/", id, p->v);
	size_t pl = strlen(prefix);
	for (size_t i = lo; i < hi; i++)
		if (!strncmp(ks->v[i].k, prefix, pl))
			p->nfiles++;
	p->files = p->nfiles ? calloc(p->nfiles, sizeof(*p->files)) : NULL;
	if (p->nfiles && !p->files)
		return oom(err);
	size_t k = 0;
	for (size_t i = lo; i < hi && k < p->nfiles; i++) {
		if (strncmp(ks->v[i].k, prefix, pl))
			continue;
		struct pfile *f = &p->files[k++];
		f->path = ks->v[i].k + pl;
		f->size = ks->v[i].size;
		int rc = !strcmp(f->path, "rdf.yaml") ? (memcpy(f->sha, p->rdf.sha, 65), 0)
						      : hash_object(u, ks->v[i].k, f->sha, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Reads <id>/<v>/files/rdf.yaml. BO_EINVALIDRDF: reported and skipped by the caller. */
static int read_rdf(struct run *u, const char *id, const char *v, struct rdf_read *out, struct bo_error *err)
{
	char key[KEY_BUF], *text = NULL;
	size_t len = 0;
	snprintf(key, sizeof(key), "%s/%s/files/rdf.yaml", id, v);
	int rc = storage_get_buffer(u->a->storage, key, (size_t)u->a->cfg->max_yaml_bytes, &text, &len, err);
	if (rc == BO_ETOOLARGE)
		rc = bo_error_set(err, BO_EINVALIDRDF, "rdf.yaml is larger than max_yaml_bytes");
	if (!rc)
		rc = rdf_take(u, text, len, id, out, err);
	free(text);
	return rc;
}

static void copy_time(char *dst, size_t n, const char *iso)
{
	if (!iso || import_time_normalize(iso, dst, n))
		dst[0] = '\0';
}

/* The DB side of one concept: created/unchanged/conflict for the concept, each version and
 * the draft, inside one transaction (rolled back in a dry run). */
static int apply_concept(struct run *u, const char *id, const char *type, const char *concept_doi, struct pver *vs,
			 size_t nv, struct pver *draft, const char *const *aliases, struct bo_error *err)
{
	sqlite3 *c = u->c;
	struct imports_concept have;
	int found = 0;
	char created[40] = "";
	for (size_t i = 0; i < nv; i++)
		if (vs[i].created[0] && (!created[0] || strcmp(vs[i].created, created) < 0))
			snprintf(created, sizeof(created), "%s", vs[i].created);
	if (!created[0] && draft)
		snprintf(created, sizeof(created), "%s", draft->created);
	if (!created[0])
		db_now_iso(created, sizeof(created));
	int rc = db_begin(c, err);
	if (rc)
		return rc;
	rc = imports_concept_get(c, id, &have, &found, err);
	if (rc)
		goto fail;
	if (!found) {
		rc = ids_reserve_named(c, id, type, 0, err);
		if (!rc)
			rc = imports_concept_adopt(c, id, created, concept_doi, err);
		if (rc)
			goto fail;
		u->r->created++;
		say(u, "create concept %s (%s)", id, type);
	} else if (strcmp(have.type, type) || strcmp(have.concept_doi, concept_doi ? concept_doi : "")) {
		u->r->conflicts++;
		say(u, "conflict: concept %s is %s with concept DOI '%s' in the database, %s with '%s' in the import", id,
		    have.type, have.concept_doi, type, concept_doi ? concept_doi : "");
	} else {
		u->r->unchanged++;
	}
	for (size_t i = 0; aliases && aliases[i]; i++) {
		char owner[IDS_MAX + 1];
		int taken = 0;
		rc = imports_alias_get(c, aliases[i], owner, sizeof(owner), &taken, err);
		if (rc)
			goto fail;
		if (!taken && strcmp(aliases[i], id) && ids_is_taken(c, aliases[i], err) != 0) {
			if (err->code) {
				rc = err->code;
				goto fail;
			}
			u->r->conflicts++;
			say(u, "conflict: alias %s of %s is the id of another concept", aliases[i], id);
		} else if (taken && strcmp(owner, id)) {
			u->r->conflicts++;
			say(u, "conflict: alias %s names %s in the database, %s in the import", aliases[i], owner, id);
		} else if (taken) {
			u->r->unchanged++;
		} else {
			rc = imports_alias_add(c, aliases[i], id, err);
			if (rc)
				goto fail;
			u->r->created++;
			say(u, "create alias %s -> %s", aliases[i], id);
		}
	}
	for (size_t i = 0; i < nv; i++) {
		struct pver *p = &vs[i];
		char sha[65], doi[256];
		rc = imports_version_get(c, id, p->v, sha, doi, &found, err);
		if (rc)
			goto fail;
		if (found) {
			if (strcmp(sha, p->rdf.sha) || strcmp(doi, p->doi)) {
				u->r->conflicts++;
				say(u, "conflict: version %s/%s has rdf_sha256 %s and DOI '%s' in the database, %s and '%s' in the import",
				    id, p->v, sha, doi, p->rdf.sha, p->doi);
			} else {
				u->r->unchanged++;
			}
			continue;
		}
		struct imports_version row = {.concept_id = id,
					      .version = p->v,
					      .state = p->yanked ? "yanked" : "published",
					      .rdf_json = p->rdf.rdf_json,
					      .rdf_sha256 = p->rdf.sha,
					      .created = p->created[0] ? p->created : created,
					      .doi = p->doi,
					      .source_url = p->source_url};
		rc = imports_version_add(c, &row, err);
		for (size_t f = 0; !rc && f < p->nfiles; f++)
			rc = imports_file_add(c, id, p->v, p->files[f].path, p->files[f].size, p->files[f].sha,
					      package_content_type(p->files[f].path), err);
		if (rc)
			goto fail;
		u->r->created++;
		say(u, "create version %s/%s (%zu files)", id, p->v, p->nfiles);
	}
	if (draft) {
		struct draft d = {0};
		rc = drafts_get(c, id, 0, &d, &found, err);
		if (rc)
			goto fail;
		if (found) {
			char sha[65];
			enum draft_state st = d.state;
			drafts_release(&d);
			rc = imports_file_sha(c, id, "draft", "rdf.yaml", sha, err);
			if (rc)
				goto fail;
			if (st != draft->state || strcmp(sha, draft->rdf.sha)) {
				u->r->conflicts++;
				say(u, "conflict: the draft of %s is '%s' with rdf.yaml %s in the database, '%s' with %s in the import",
				    id, drafts_state_name(st), sha, drafts_state_name(draft->state), draft->rdf.sha);
			} else {
				u->r->unchanged++;
			}
		} else {
			struct draft_import di = {.concept_id = id,
						  .revision = 1,
						  .state = draft->state,
						  .state_detail = draft->detail,
						  .package_sha256 = draft->rdf.sha,
						  .rdf_json = draft->rdf.rdf_json,
						  .created_at = draft->created,
						  .updated_at = draft->updated[0] ? draft->updated : draft->created};
			rc = drafts_import(c, &di, err);
			if (!rc)
				rc = imports_concept_revisions(c, id, 1, err);
			for (size_t f = 0; !rc && f < draft->nfiles; f++)
				rc = imports_file_add(c, id, "draft", draft->files[f].path, draft->files[f].size,
						      draft->files[f].sha, package_content_type(draft->files[f].path), err);
			if (rc)
				goto fail;
			u->r->created++;
			say(u, "create draft %s (%s, %zu files)", id, drafts_state_name(draft->state), draft->nfiles);
		}
	}
	if (u->o->dry_run) {
		db_rollback(c);
		return 0;
	}
	return db_commit(c, err);
fail:
	db_rollback(c);
	return rc;
}

/* 1 when (id, v) has a versions row (read outside any transaction: only to skip hashing). */
static int version_known(struct run *u, const char *id, const char *v)
{
	char sha[65], doi[256];
	int found = 0;
	struct bo_error e = BO_ERROR_INIT;
	int rc = imports_version_get(u->c, id, v, sha, doi, &found, &e);
	bo_error_cleanup(&e);
	return !rc && found;
}

/* A skip or a fatal error: an RDF or JSON we cannot adopt is reported and skipped. */
static int soft(struct run *u, int rc, const char *what, struct bo_error *err)
{
	if (rc != BO_EINVALIDRDF)
		return rc;
	u->r->skipped++;
	say(u, "skip %s: %s", what, err->detail);
	bo_error_cleanup(err);
	return 0;
}

static int version_entry(const cJSON *versions, const char *v, const cJSON **out)
{
	const cJSON *e;
	*out = NULL;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(versions, "versions"))
	{
		const cJSON *jv = cJSON_GetObjectItemCaseSensitive(e, "v");
		char num[32];
		const char *s = cJSON_GetStringValue(jv);
		if (cJSON_IsNumber(jv)) {
			snprintf(num, sizeof(num), "%lld", (long long)jv->valuedouble);
			s = num;
		}
		if (s && !strcmp(s, v)) {
			*out = e;
			return 1;
		}
	}
	return 0;
}

/* One <id>/ of storage: keys [lo, hi). */
static int storage_concept(struct run *u, const struct keys *ks, size_t lo, size_t hi, const char *id,
			   struct bo_error *err)
{
	struct ids_info info;
	struct pver *vs = NULL, draft = {0};
	size_t nv = 0;
	cJSON *versions = NULL, *meta = NULL;
	char key[KEY_BUF], concept_doi[256] = "", type[32] = "";
	int rc = 0, have_draft = 0;
	u->r->concepts++;
	if (ids_parse(u->a->ids, id, &info, err)) {
		u->r->skipped++;
		say(u, "skip %s/: not an id of ours (%s)", id, err->detail);
		bo_error_cleanup(err);
		goto out;
	}
	snprintf(key, sizeof(key), "%s/versions.json", id);
	rc = soft(u, get_json(u, key, &versions, err), key, err);
	if (rc)
		goto out;
	snprintf(concept_doi, sizeof(concept_doi), "%s", jstr(versions, "concept_doi") ? jstr(versions, "concept_doi") : "");
	/* the versions: every <id>/<v>/files/rdf.yaml */
	vs = calloc(hi - lo + 1, sizeof(*vs));
	if (!vs) {
		rc = oom(err);
		goto out;
	}
	size_t il = strlen(id) + 1;
	for (size_t i = lo; i < hi; i++) {
		const char *rest = ks->v[i].k + il, *slash = strchr(rest, '/');
		if (!slash || strcmp(slash, "/files/rdf.yaml") || (size_t)(slash - rest) > VERSION_MAX)
			continue;
		int is_draft = (size_t)(slash - rest) == 5 && !strncmp(rest, "draft", 5);
		struct pver *p = is_draft ? &draft : &vs[nv];
		snprintf(p->v, sizeof(p->v), "%.*s", (int)(slash - rest), rest);
		if (is_draft) {
			have_draft = 1;
			continue;
		}
		nv++;
		const cJSON *ve = NULL;
		version_entry(versions, p->v, &ve);
		snprintf(key, sizeof(key), "%s/%s/info.json", id, p->v);
		cJSON_Delete(meta);
		meta = NULL;
		rc = has_key(ks, lo, hi, key) ? get_json(u, key, &meta, err) : 0;
		if (rc == BO_EINVALIDRDF) { /* a broken info.json: versions.json may still say it all */
			say(u, "warning: %s", err->detail);
			bo_error_cleanup(err);
			rc = 0;
		}
		if (rc)
			goto out;
		copy_time(p->created, sizeof(p->created), jstr(ve, "created") ? jstr(ve, "created") : jstr(meta, "created"));
		const char *doi = jstr(ve, "doi") ? jstr(ve, "doi") : jstr(meta, "doi");
		snprintf(p->doi, sizeof(p->doi), "%s", doi ? doi : "");
		if (!concept_doi[0] && jstr(meta, "concept_doi"))
			snprintf(concept_doi, sizeof(concept_doi), "%s", jstr(meta, "concept_doi"));
		p->yanked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ve, "yanked"));
		rc = read_rdf(u, id, p->v, &p->rdf, err);
		if (!rc && !version_known(u, id, p->v))
			rc = collect_files(u, ks, lo, hi, id, p, err);
		if (rc == BO_EINVALIDRDF) {
			char what[KEY_BUF];
			snprintf(what, sizeof(what), "%s/%s", id, p->v);
			rc = soft(u, rc, what, err);
			pver_free(p);
			memset(p, 0, sizeof(*p));
			nv--;
		}
		if (rc)
			goto out;
		if (!type[0] || strcmp(p->created, vs[0].created) >= 0)
			snprintf(type, sizeof(type), "%s", p->rdf.type);
	}
	if (have_draft) {
		snprintf(key, sizeof(key), "%s/draft/draft.json", id);
		cJSON_Delete(meta);
		meta = NULL;
		rc = has_key(ks, lo, hi, key) ? get_json(u, key, &meta, err) : 0;
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(meta, "status");
		const char *name = jstr(status, "name");
		if (!rc && name && drafts_state_parse(name, &draft.state))
			rc = bo_error_set(err, BO_EINVALIDRDF, "%s: unknown status '%.64s'", key, name);
		if (!rc && !name)
			draft.state = DRAFT_AWAITING_REVIEW;
		const char *detail = jstr(status, "description") ? jstr(status, "description") : jstr(status, "message");
		if (!rc && !(draft.detail = strdup(detail ? detail : "")))
			rc = oom(err);
		if (!rc) {
			copy_time(draft.created, sizeof(draft.created), jstr(meta, "created"));
			copy_time(draft.updated, sizeof(draft.updated), jstr(status, "timestamp"));
			if (!draft.created[0])
				db_now_iso(draft.created, sizeof(draft.created));
			rc = read_rdf(u, id, "draft", &draft.rdf, err);
		}
		if (!rc)
			rc = collect_files(u, ks, lo, hi, id, &draft, err);
		if (rc == BO_EINVALIDRDF) {
			char what[KEY_BUF];
			snprintf(what, sizeof(what), "the draft of %s", id);
			rc = soft(u, rc, what, err);
			have_draft = 0;
		}
		if (rc)
			goto out;
		if (!type[0] && have_draft)
			snprintf(type, sizeof(type), "%s", draft.rdf.type);
	}
	if (!nv && !have_draft) {
		u->r->skipped++;
		say(u, "skip %s/: no version or draft with a files/rdf.yaml", id);
		goto out;
	}
	rc = apply_concept(u, id, type, concept_doi[0] ? concept_doi : NULL, vs, nv, have_draft ? &draft : NULL, NULL,
			   err);
out:
	for (size_t i = 0; vs && i < nv; i++)
		pver_free(&vs[i]);
	free(vs);
	pver_free(&draft);
	cJSON_Delete(versions);
	cJSON_Delete(meta);
	progress(u, 0);
	return rc;
}

static int finish(struct run *u, const char *what, struct bo_error *err)
{
	progress(u, 1);
	if (u->o->dry_run || !u->r->created)
		return 0;
	char reason[256];
	snprintf(reason, sizeof(reason), "import %s (%d rows created)", what, u->r->created);
	int rc = db_begin(u->c, err);
	if (!rc)
		rc = collection_enqueue_rebuild(u->c, reason, err);
	if (!rc)
		rc = db_commit(u->c, err);
	else
		db_rollback(u->c);
	return rc;
}

int import_storage(struct app *a, const struct import_opts *opts, struct import_report *r, struct bo_error *err)
{
	struct keys ks = {0};
	struct run u = {.a = a, .o = opts, .r = r};
	memset(r, 0, sizeof(*r));
	int rc = keys_list(a->storage, &ks, err);
	if (!rc)
		rc = db_acquire(a->db, &u.c, err);
	if (rc)
		goto out;
	/* keys are sorted, so the keys of one <id>/ are contiguous */
	for (size_t i = 0; i < ks.n; i++) {
		const char *s = strchr(ks.v[i].k, '/');
		if (s && (i == 0 || strncmp(ks.v[i - 1].k, ks.v[i].k, (size_t)(s - ks.v[i].k) + 1)))
			u.total++;
	}
	for (size_t i = 0; !rc && i < ks.n;) {
		const char *s = strchr(ks.v[i].k, '/');
		if (!s) { /* collection.json & co. are built from the database */
			i++;
			continue;
		}
		size_t pl = (size_t)(s - ks.v[i].k) + 1, j = i + 1;
		while (j < ks.n && !strncmp(ks.v[j].k, ks.v[i].k, pl))
			j++;
		char id[STORAGE_KEY_MAX + 1];
		snprintf(id, sizeof(id), "%.*s", (int)pl - 1, ks.v[i].k);
		rc = storage_concept(&u, &ks, i, j, id, err);
		i = j;
	}
	if (!rc)
		rc = finish(&u, "of storage", err);
out:
	if (u.c)
		db_release(a->db, u.c);
	keys_free(&ks);
	return rc;
}

/* ------------------------------------------------------------------ legacy */

static int read_file(const char *path, size_t max, char **out, size_t *len, struct bo_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	*out = NULL;
	if (!f)
		return errno == ENOENT ? BO_ENOTFOUND : bo_error_set(err, BO_EBADREQUEST, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
		fclose(f);
		return bo_error_set(err, BO_EINVALIDRDF, "%s is not a regular file of at most %zu bytes", path, max);
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
	fclose(f);
	if (!buf)
		return oom(err);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* The id an entry gets: its alias from an earlier import, else its nickname when that is an
 * id of ours of its type, else a fresh one (reserved in the caller's transaction: each
 * entry's transaction is begun here and ended by apply_concept's own). */
static int legacy_id(struct run *u, const char *legacy, const char *nick, const char *type, char *id, size_t n,
		     int *fresh, struct bo_error *err)
{
	struct ids_info info;
	int found = 0;
	*fresh = 0;
	int rc = imports_alias_get(u->c, legacy, id, n, &found, err);
	if (rc || found)
		return rc;
	if (nick && !ids_parse(u->a->ids, nick, &info, err) && !strcmp(info.vocab_type, ids_vocab_type(type))) {
		snprintf(id, n, "%s", nick);
		return 0;
	}
	bo_error_cleanup(err);
	/* a suggestion nobody holds; apply_concept reserves it in its transaction */
	*fresh = 1;
	return ids_suggest(u->a->ids, u->c, type, id, n, err);
}

static int legacy_entry(struct run *u, const char *dir, const cJSON *e, struct bo_error *err)
{
	const char *legacy = jstr(e, "id"), *type = jstr(e, "type"), *src = jstr(e, "rdf_source");
	const cJSON *jv, *versions = cJSON_GetObjectItemCaseSensitive(e, "versions");
	char path[STORAGE_KEY_MAX], base[STORAGE_KEY_MAX + 512], file[4096 + STORAGE_KEY_MAX], id[IDS_MAX + 1];
	char listed_created[40] = "", concept_doi[256] = "";
	struct pver *vs = NULL;
	size_t nv = 0, want = (size_t)cJSON_GetArraySize(versions);
	int rc = 0, fresh = 0;
	u->r->concepts++;
	if (!legacy || !type || !ids_vocab_type(type) || import_legacy_paths(src, path, sizeof(path), base, sizeof(base)) ||
	    !want) {
		u->r->skipped++;
		say(u, "skip entry %.200s: no id, adoptable type, versions or rdf_source .../rdfs/<path>/<version>/rdf.yaml",
		    legacy ? legacy : "(no id)");
		return 0;
	}
	copy_time(listed_created, sizeof(listed_created), jstr(e, "created"));
	vs = calloc(want, sizeof(*vs));
	if (!vs)
		return oom(err);
	const char *nick = NULL;
	cJSON_ArrayForEach(jv, versions)
	{
		const char *v = cJSON_GetStringValue(jv);
		char *text = NULL;
		size_t len = 0;
		if (!v || !*v || strlen(v) > VERSION_MAX || strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, "..") ||
		    !strcmp(v, "draft"))
			continue;
		snprintf(file, sizeof(file), "%s/rdfs/%s/%s/rdf.yaml", dir, path, v);
		rc = read_file(file, (size_t)u->a->cfg->max_yaml_bytes, &text, &len, err);
		if (rc == BO_ENOTFOUND) {
			u->r->skipped++;
			say(u, "skip %s/%s: no rdfs/%s/%s/rdf.yaml", legacy, v, path, v);
			rc = 0;
			continue;
		}
		struct pver *p = &vs[nv];
		snprintf(p->v, sizeof(p->v), "%s", v);
		/* the id is stamped below, once known: parse with a placeholder first */
		if (!rc)
			rc = rdf_take(u, text, len, "", &p->rdf, err);
		free(text);
		if (rc == BO_EINVALIDRDF) {
			char what[STORAGE_KEY_MAX + 128];
			snprintf(what, sizeof(what), "%s/%s", legacy, v);
			rc = soft(u, rc, what, err);
			rdf_read_free(&p->rdf);
			continue;
		}
		if (rc)
			goto out;
		nv++;
		const cJSON *bio = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p->rdf.root, "config"),
								   "bioimageio");
		copy_time(p->created, sizeof(p->created), jstr(bio, "created"));
		if (!p->created[0])
			snprintf(p->created, sizeof(p->created), "%s",
				 jv == versions->child && listed_created[0] ? listed_created : LEGACY_CREATED_UNKNOWN);
		const char *doi = jstr(bio, "doi");
		/* a Zenodo concept's version is its record: DOI 10.5281/zenodo.<record> */
		if (doi)
			snprintf(p->doi, sizeof(p->doi), "%s", doi);
		else if (!strncmp(legacy, "10.5281/zenodo.", 15) && strspn(v, "0123456789") == strlen(v))
			snprintf(p->doi, sizeof(p->doi), "10.5281/zenodo.%s", v);
		if (!concept_doi[0]) {
			const char *cd = jstr(cJSON_GetObjectItemCaseSensitive(p->rdf.root, "config"), "_conceptdoi");
			if (cd)
				snprintf(concept_doi, sizeof(concept_doi), "%s", cd);
		}
		if (!nick)
			nick = jstr(bio, "nickname");
		if (asprintf(&p->source_url, "%s/%s/rdf.yaml", base, v) < 0) {
			p->source_url = NULL;
			rc = oom(err);
			goto out;
		}
	}
	if (!nv) {
		u->r->skipped++;
		say(u, "skip entry %s: none of its versions has an rdf.yaml under rdfs/%s/", legacy, path);
		goto out;
	}
	if (!concept_doi[0] && !strncmp(legacy, "10.5281/zenodo.", 15))
		snprintf(concept_doi, sizeof(concept_doi), "%s", legacy);
	rc = legacy_id(u, legacy, nick, type, id, sizeof(id), &fresh, err);
	if (rc)
		goto out;
	if (fresh)
		say(u, "entry %s has no nickname that is an id of ours: it becomes %s", legacy, id);
	for (size_t i = 0; !rc && i < nv; i++) {
		/* stamp our id, as stage does */
		cJSON *root = cJSON_Parse(vs[i].rdf.rdf_json);
		cJSON *stamped = root ? stage_stamp(root, id, ids_emoji(u->a->ids, id)) : NULL;
		char *json = stamped ? cJSON_PrintUnformatted(stamped) : NULL;
		cJSON_Delete(root);
		cJSON_Delete(stamped);
		if (!json) {
			rc = oom(err);
			break;
		}
		free(vs[i].rdf.rdf_json);
		vs[i].rdf.rdf_json = json;
	}
	const char *aliases[] = {legacy, NULL};
	if (!rc)
		rc = apply_concept(u, id, type, concept_doi[0] ? concept_doi : NULL, vs, nv, NULL, aliases, err);
out:
	for (size_t i = 0; i < want; i++)
		pver_free(&vs[i]);
	free(vs);
	progress(u, 0);
	return rc;
}

int import_legacy(struct app *a, const char *dir, const struct import_opts *opts, struct import_report *r,
		  struct bo_error *err)
{
	struct run u = {.a = a, .o = opts, .r = r};
	char path[4096], *text = NULL;
	size_t len = 0;
	cJSON *index = NULL;
	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/collection.json", dir);
	int rc = read_file(path, LEGACY_INDEX_MAX, &text, &len, err);
	if (rc == BO_ENOTFOUND || rc == BO_EINVALIDRDF) {
		bo_error_cleanup(err);
		rc = bo_error_set(err, BO_EBADREQUEST, "%s: no collection.json of at most 64 MiB", dir);
	}
	if (rc)
		goto out;
	index = cJSON_ParseWithLength(text, len);
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(index, "collection"), *e;
	if (!cJSON_IsArray(entries)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "%s has no \"collection\" list", path);
		goto out;
	}
	u.total = (size_t)cJSON_GetArraySize(entries);
	rc = db_acquire(a->db, &u.c, err);
	cJSON_ArrayForEach(e, entries)
	{
		if (rc)
			break;
		rc = legacy_entry(&u, dir, e, err);
	}
	if (!rc)
		rc = finish(&u, "of the legacy collection", err);
out:
	if (u.c)
		db_release(a->db, u.c);
	cJSON_Delete(index);
	free(text);
	return rc;
}

/* collection: builds the public index files from the database — never by listing
 * storage — in one read transaction, so every file of one build describes the same
 * instant. Invariants: the output is a pure function of the database rows (no clocks,
 * sorted keys and tags), so equal databases give equal bytes, ETags and no history
 * commit; one build runs at a time per app (build_lock), and the memo of the last build
 * lets the next re-render only the concepts whose rows changed. Writing the files is
 * collection_write.c's, serving them collection_cache.c's. */
#include "pipeline/collection.h"
#include "domain/compat.h"
#include "pipeline/collection_internal.h"

#include "app.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/history.h"
#include "infra/storage.h"
#include "pipeline/lifecycle.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest collection template. */
#define TEMPLATE_MAX_BYTES ((size_t)1 << 20)

const char *const collection_files[] = {
	"collection.json", "collection_draft.json", "all_versions.json",
	"all_versions_draft.json", "id_map.json", "id_map_draft.json",
};
const size_t collection_files_count = NFILES;

/* ------------------------------------------------------------------ small helpers */

/* Every index file is bounded by COLLECTION__INDEX_MAX_BYTES: past it the build fails as
 * out of memory. */
static void index_add(struct buf *b, const char *s, size_t n)
{
	b->max = COLLECTION__INDEX_MAX_BYTES;
	buf_addn(b, s, n);
}

/* Sizes the buffer for n bytes up front (the last build's size), so a large output is
 * not copied by every doubling. */
static void index_reserve(struct buf *b, size_t n)
{
	b->max = COLLECTION__INDEX_MAX_BYTES;
	buf_reserve(b, n);
}

static void buf_puts(struct buf *b, const char *s)
{
	index_add(b, s, strlen(s));
}

/* A JSON string literal (UTF-8 passes through; quotes, backslashes, controls escaped). */
static void buf_json_str(struct buf *b, const char *s)
{
	index_add(b, "\"", 1);
	const char *run = s;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		index_add(b, run, (size_t)(s - run));
		char esc[8];
		if (ch == '"' || ch == '\\')
			snprintf(esc, sizeof(esc), "\\%c", ch);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
		buf_puts(b, esc);
		run = s + 1;
	}
	index_add(b, run, (size_t)(s - run));
	index_add(b, "\"", 1);
}

/* Text or JSON null. */
static void buf_json_str_or_null(struct buf *b, const char *s)
{
	if (s && *s)
		buf_json_str(b, s);
	else
		buf_puts(b, "null");
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

void collection__memo_clear(struct collection__memo *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].id);
		free(m[i].sig);
		free(m[i].entry);
		free(m[i].versions);
		free(m[i].version);
		free(m[i].av);
		free(m[i].ids);
	}
	free(m);
}

/* ------------------------------------------------------------------ lifetime */

int collection_create(collection **out, struct bo_error *err)
{
	collection *co = calloc(1, sizeof(*co));
	if (!co)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int rc = collection__cache_create(&co->cache, err);
	if (rc) {
		free(co);
		return rc;
	}
	pthread_mutex_init(&co->build_lock, NULL);
	*out = co;
	return 0;
}

void collection_free(collection *co)
{
	if (!co)
		return;
	collection__cache_free(co->cache);
	collection__memo_clear(co->memo, co->nmemo);
	history_cache_free(co->history);
	pthread_mutex_destroy(&co->build_lock);
	free(co);
}

/* ------------------------------------------------------------------ entries */

struct vrow {
	char *version, *state, *sha, *created, *doi;
	char *src; /* versions.source_url: where an imported legacy version's rdf.yaml is; "" = ours */
	char *compat; /* its partner reports as "tool status at,…" ("" when none): the signature's */
};

struct concept {
	char *id, *type, *created, *concept_doi;
	char *aliases; /* its other names (aliases table), newline-separated, "" when none */
	int64_t created_by;
	struct vrow *v; /* newest first */
	size_t nv, cap;
};

static void concept_clear(struct concept *k)
{
	free(k->id);
	free(k->type);
	free(k->created);
	free(k->concept_doi);
	free(k->aliases);
	for (size_t i = 0; i < k->nv; i++) {
		free(k->v[i].version);
		free(k->v[i].state);
		free(k->v[i].sha);
		free(k->v[i].created);
		free(k->v[i].doi);
		free(k->v[i].compat);
		free(k->v[i].src);
	}
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* The version collection.json lists: the newest non-yanked one, or NULL. */
static const struct vrow *listed_version(const struct concept *k)
{
	for (size_t i = 0; i < k->nv; i++)
		if (strcmp(k->v[i].state, "yanked"))
			return &k->v[i];
	return NULL;
}

struct build {
	struct app *a;
	sqlite3 *c;
	const char *files_url; /* no trailing slash */
	sqlite3_stmt *rdf_st, *user_st, *compat_st;
	struct bo_error *err;
};

/* url_root/<id>/<version>/files/<path>, or path itself when already absolute. A version
 * whose files stay elsewhere (source_url, an imported legacy version) resolves under its
 * rdf.yaml's folder instead, and "rdf.yaml" is that URL itself. */
static char *abs_url(const struct build *b, const struct concept *k, const char *version, const char *path)
{
	char *out = NULL;
	const char *src = NULL;
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
		return strdup(path);
	while (!strncmp(path, "./", 2))
		path += 2;
	for (size_t i = 0; i < k->nv; i++)
		if (!strcmp(k->v[i].version, version) && k->v[i].src && *k->v[i].src)
			src = k->v[i].src;
	if (src) {
		const char *slash = strrchr(src, '/');
		size_t dir = slash ? (size_t)(slash - src) : strlen(src);
		if (!strcmp(path, "rdf.yaml") && slash && !strcmp(slash + 1, "rdf.yaml"))
			return strdup(src);
		if (asprintf(&out, "%.*s/%s", (int)dir, src, path) < 0)
			return NULL;
	} else if (!strcmp(version, "draft")) {
		if (asprintf(&out, "%s/%s/draft/files/%s", b->files_url, k->id, path) < 0)
			return NULL;
	} else if (asprintf(&out, "%s/%s/%s/files/%s", b->files_url, k->id, version, path) < 0) {
		return NULL;
	}
	return out;
}

static int add_url(cJSON *o, const char *key, char *url)
{
	if (!url)
		return -1;
	cJSON *s = cJSON_AddStringToObject(o, key, url);
	free(url);
	return s ? 0 : -1;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *get_str(const cJSON *o, const char *key, const char *def)
{
	const cJSON *v = get(o, key);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : def;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* A copy of the array rdf[key], or an empty array (badges and links are always lists). */
static cJSON *array_or_empty(const cJSON *rdf, const char *key)
{
	const cJSON *v = get(rdf, key);
	return cJSON_IsArray(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateArray();
}

/* Tags: strings only, deduplicated, in byte order, so the output never depends on
 * how the uploader ordered them. */
static cJSON *sorted_tags(const cJSON *rdf)
{
	const cJSON *tags = get(rdf, "tags");
	int n = cJSON_IsArray(tags) ? cJSON_GetArraySize(tags) : 0;
	const char **v = n ? calloc((size_t)n, sizeof(*v)) : NULL;
	cJSON *out = cJSON_CreateArray();
	size_t k = 0;
	const cJSON *t;
	if (!out || (n && !v)) {
		free(v);
		cJSON_Delete(out);
		return NULL;
	}
	cJSON_ArrayForEach(t, tags)
	{
		if (cJSON_IsString(t) && t->valuestring)
			v[k++] = t->valuestring;
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_str);
	for (size_t i = 0; i < k; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]))
			cJSON_AddItemToArray(out, cJSON_CreateString(v[i]));
	free(v);
	return out;
}

/* covers (and icon) point at their thumbnails when stage made some
 * (config.bioimageio.thumbnails: {original: thumbnail}). */
static const char *thumbnail_of(const cJSON *rdf, const char *path)
{
	const cJSON *th = get(get(get(rdf, "config"), "bioimageio"), "thumbnails");
	return get_str(th, path, path);
}

static cJSON *authors_of(const cJSON *rdf)
{
	static const char *const keep[] = {"name", "affiliation", "email", "orcid"};
	cJSON *out = cJSON_CreateArray();
	const cJSON *a;
	cJSON_ArrayForEach(a, get(rdf, "authors"))
	{
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			const char *s = get_str(a, keep[i], NULL);
			if (s)
				cJSON_AddStringToObject(o, keep[i], s);
		}
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

/* {name, email} of a user row, or NULL. The one place an account's address is published:
 * the reference's CollectionEntry requires uploader.email (tests/http/128 loads ours into
 * its models), and the website reads it; pages and the API show names only. */
static cJSON *user_of(struct build *b, int64_t user_id)
{
	cJSON *o = NULL;
	if (!user_id)
		return NULL;
	if (!b->user_st && db_prepare(b->c, &b->user_st, "SELECT name, email FROM users WHERE id = ?1", b->err))
		return NULL;
	sqlite3_reset(b->user_st);
	sqlite3_bind_int64(b->user_st, 1, user_id);
	if (sqlite3_step(b->user_st) == SQLITE_ROW) {
		o = cJSON_CreateObject();
		if (o) {
			cJSON_AddStringToObject(o, "name", db_column_text(b->user_st, 0));
			cJSON_AddStringToObject(o, "email", db_column_text(b->user_st, 1));
		}
	}
	sqlite3_reset(b->user_st);
	return o;
}

/* One collection entry from the RDF of `version` (a version string or "draft") of k.
 * versions lists the concept's published version strings (newest first). As the
 * reference writes its entries (exclude_defaults), a field the RDF does not have is
 * left out rather than written empty: an empty icon or training_data fails the
 * reference's model, and an invented download_url or source gives every card a download
 * button to rdf.yaml. rdf_sha256 and dois (one per listed version) are the reference's. */
/* A badge's or cover's string as the reference resolves it: the thumbnail stage made
 * for the file (by its name), then a relative path (one with a dot, not starting with
 * http or /) made absolute under the version's files. Emoji and absolute URLs stay. */
static char *resolve_ref(const struct build *b, const struct concept *k, const char *version, const cJSON *rdf,
			 const char *s)
{
	const cJSON *thumbs = get(get(get(rdf, "config"), "bioimageio"), "thumbnails");
	const char *name = strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
	if (strncmp(s, "https://", 8))
		s = get_str(thumbs, s, get_str(thumbs, name, s));
	if (!strncmp(s, "http", 4) || s[0] == '/' || !strchr(s, '.'))
		return strdup(s);
	return abs_url(b, k, version, s);
}

/* badges [{icon, label, url}] with icon and url resolved (the label is text: the
 * reference's resolver would turn a label with a dot into a URL). */
static cJSON *badges_of(const struct build *b, const struct concept *k, const char *version, const cJSON *rdf)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *bd;
	cJSON_ArrayForEach(bd, get(rdf, "badges"))
	{
		cJSON *o = cJSON_IsObject(bd) ? cJSON_Duplicate(bd, 1) : NULL;
		if (!o || !cJSON_AddItemToArray(out, o)) {
			cJSON_Delete(o);
			continue;
		}
		static const char *const urls[] = {"icon", "url"};
		for (size_t i = 0; i < 2; i++) {
			const char *v = get_str(o, urls[i], NULL);
			char *r = v ? resolve_ref(b, k, version, rdf, v) : NULL;
			if (r)
				cJSON_ReplaceItemInObjectCaseSensitive(o, urls[i], cJSON_CreateString(r));
			free(r);
		}
	}
	return out;
}

static int arr_find(const cJSON *arr, const char *s)
{
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return i;
		i++;
	}
	return -1;
}

static void arr_drop(cJSON *arr, const char *s)
{
	int i;
	while ((i = arr_find(arr, s)) >= 0)
		cJSON_DeleteItemFromArray(arr, i);
}

static int arr_add(cJSON *arr, const char *s)
{
	return arr_find(arr, s) >= 0 || cJSON_AddItemToArray(arr, cJSON_CreateString(s)) ? 0 : -1;
}

/* The partner reports of id/version turned into tags and links by the reference's rule
 * (create_collection_entries): the plain tag "<name>-compatible" of every reporting tool is
 * dropped first, so a manual tag cannot fake it; then a passed report adds its links and
 * the tags "<name>_<v>-compatible" and "<name>-compatible", any other status drops
 * "<name>_<v>-compatible". Tags stay sorted and unique (the reference keeps a set). */
static int apply_compat(struct build *b, const char *id, const char *version, cJSON *e)
{
	cJSON *reports = NULL;
	char tag[128];
	int rc = compat_list(b->c, &b->compat_st, id, version, &reports, b->err);
	if (rc)
		return rc;
	cJSON *tags = cJSON_GetObjectItemCaseSensitive(e, "tags"), *links = cJSON_GetObjectItemCaseSensitive(e, "links");
	const cJSON *r;
	int bad = !tags || !links;
	cJSON_ArrayForEach(r, reports)
	{
		const char *tool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "tool"));
		snprintf(tag, sizeof(tag), "%.*s-compatible", tool ? (int)strcspn(tool, "_") : 0, tool ? tool : "");
		arr_drop(tags, tag);
	}
	cJSON_ArrayForEach(r, reports)
	{
		const char *tool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "tool"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "status"));
		if (!tool || !st || bad)
			continue;
		snprintf(tag, sizeof(tag), "%s-compatible", tool);
		if (strcmp(st, "passed")) {
			arr_drop(tags, tag);
			continue;
		}
		const cJSON *l;
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "report"), "links"))
			if (cJSON_IsString(l))
				bad |= arr_add(links, l->valuestring);
		bad |= arr_add(tags, tag);
		snprintf(tag, sizeof(tag), "%.*s-compatible", (int)strcspn(tool, "_"), tool);
		bad |= arr_add(tags, tag);
	}
	cJSON_Delete(reports);
	if (!bad) {
		/* sorted_tags reads rdf.tags: hand it ours */
		cJSON *holder = cJSON_CreateObject();
		cJSON *sorted = holder && cJSON_AddItemReferenceToObject(holder, "tags", tags) ? sorted_tags(holder) : NULL;
		cJSON_Delete(holder);
		bad = !sorted || !cJSON_ReplaceItemInObjectCaseSensitive(e, "tags", sorted);
		if (bad)
			cJSON_Delete(sorted);
	}
	return bad ? bo_error_set(b->err, BO_ENOMEM, "out of memory adding the compatibility of %s", id) : 0;
}

static cJSON *entry_build(struct build *b, const struct concept *k, const cJSON *rdf, const char *version,
			  const char *created, const char *version_doi, const char *rdf_sha256, cJSON *versions,
			  int compat)
{
	cJSON *e = cJSON_CreateObject();
	cJSON *covers = cJSON_CreateArray();
	const cJSON *it;
	int bad = !e || !covers || !versions;
	if (bad)
		goto fail;
	cJSON_AddStringToObject(e, "id", k->id);
	cJSON_AddStringToObject(e, "name", get_str(rdf, "name", k->id));
	cJSON_AddStringToObject(e, "description", get_str(rdf, "description", ""));
	cJSON_AddStringToObject(e, "type", k->type);
	cJSON_AddItemToObject(e, "authors", authors_of(rdf));
	const cJSON *up = get(rdf, "uploader");
	cJSON *uploader = cJSON_IsObject(up) ? cJSON_Duplicate(up, 1) : user_of(b, k->created_by);
	cJSON_AddItemToObject(e, "uploader", uploader ? uploader : cJSON_CreateNull());
	cJSON_AddItemToObject(e, "badges", badges_of(b, k, version, rdf));
	cJSON_ArrayForEach(it, get(rdf, "covers"))
	{
		if (!cJSON_IsString(it) || !it->valuestring)
			continue;
		char *url = abs_url(b, k, version, thumbnail_of(rdf, it->valuestring));
		cJSON *s = url ? cJSON_CreateString(url) : NULL;
		free(url);
		bad |= !s;
		cJSON_AddItemToArray(covers, s);
	}
	cJSON_AddItemToObject(e, "covers", covers);
	covers = NULL;
	const char *icon = get_str(rdf, "icon", NULL);
	if (icon && strchr(icon, '.')) /* a file or URL; an emoji icon has no URL to give */
		bad |= add_url(e, "icon", abs_url(b, k, version, thumbnail_of(rdf, icon)));
	if (k->concept_doi && *k->concept_doi)
		cJSON_AddStringToObject(e, "concept_doi", k->concept_doi);
	else
		cJSON_AddNullToObject(e, "concept_doi");
	if (version_doi && *version_doi)
		cJSON_AddStringToObject(e, "doi", version_doi);
	else
		cJSON_AddNullToObject(e, "doi");
	/* the listed version's creation, as the reference dates an entry */
	cJSON_AddStringToObject(e, "created", created);
	/* the reference's type: "?" until downloads are counted */
	cJSON_AddStringToObject(e, "download_count", "?");
	char *rdf_url = abs_url(b, k, version, "rdf.yaml");
	const char *dl = get_str(rdf, "download_url", NULL);
	if (dl)
		bad |= add_url(e, "download_url", strdup(dl));
	const char *license = get_str(rdf, "license", NULL);
	if (license)
		cJSON_AddStringToObject(e, "license", license);
	else
		cJSON_AddNullToObject(e, "license"); /* required there, but may be null */
	cJSON_AddItemToObject(e, "links", array_or_empty(rdf, "links"));
	cJSON_AddItemToObject(e, "tags", sorted_tags(rdf));
	if (compat && apply_compat(b, k->id, version, e))
		goto fail;
	/* a nickname only where a legacy RDF has one other than its id; the icon is then its
	 * own, else the id's emoji (the reference's rule) */
	const cJSON *bio = get(get(rdf, "config"), "bioimageio");
	const char *nick = get_str(bio, "nickname", NULL), *nick_icon = NULL;
	if (nick && strcmp(nick, k->id)) {
		cJSON_AddStringToObject(e, "nickname", nick);
		nick_icon = get_str(bio, "nickname_icon", NULL);
	} else {
		nick_icon = get_str(rdf, "id_emoji", NULL);
	}
	if (nick_icon && *nick_icon)
		cJSON_AddStringToObject(e, "nickname_icon", nick_icon);
	const char *src = get_str(rdf, "source", NULL);
	if (src)
		bad |= add_url(e, "source", strdup(src));
	bad |= add_url(e, "rdf_source", rdf_url);
	if (rdf_sha256 && *rdf_sha256)
		cJSON_AddStringToObject(e, "rdf_sha256", rdf_sha256);
	char *root = abs_url(b, k, version, "");
	if (root && *root && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	bad |= add_url(e, "root_url", root);
	const cJSON *td = get(rdf, "training_data");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(td, "id")))
		cJSON_AddItemToObject(e, "training_data", cJSON_Duplicate(td, 1));
	cJSON_AddStringToObject(e, "version", version);
	cJSON *dois = cJSON_AddArrayToObject(e, "dois");
	cJSON_ArrayForEach(it, versions)
	{
		const char *doi = NULL;
		for (size_t i = 0; i < k->nv && cJSON_IsString(it); i++)
			if (!strcmp(k->v[i].version, it->valuestring))
				doi = k->v[i].doi;
		cJSON_AddItemToArray(dois, doi && *doi ? cJSON_CreateString(doi) : cJSON_CreateNull());
	}
	bad |= !dois;
	cJSON_AddItemToObject(e, "versions", versions);
	versions = NULL;
	cJSON *owners = cJSON_AddArrayToObject(e, "owners");
	if (owners && k->created_by)
		cJSON_AddItemToArray(owners, cJSON_CreateNumber((double)k->created_by));
	if (bad || !owners)
		goto fail;
	return e;
fail:
	cJSON_Delete(versions);
	cJSON_Delete(covers);
	cJSON_Delete(e);
	return NULL;
}

static cJSON *version_list(const struct concept *k)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < k->nv; i++)
		if (strcmp(k->v[i].state, "yanked"))
			cJSON_AddItemToArray(arr, cJSON_CreateString(k->v[i].version));
	return arr;
}

/* Renders the collection.json entry of k (NULL text when every version is yanked). */
static int render_entry(struct build *b, const struct concept *k, char **out)
{
	const struct vrow *lv = listed_version(k);
	cJSON *rdf = NULL, *e = NULL;
	*out = NULL;
	if (!lv)
		return 0;
	if (!b->rdf_st &&
	    db_prepare(b->c, &b->rdf_st, "SELECT rdf_json FROM versions WHERE concept_id = ?1 AND version = ?2", b->err))
		return b->err->code;
	sqlite3_reset(b->rdf_st);
	db_bind_text(b->rdf_st, 1, k->id);
	db_bind_text(b->rdf_st, 2, lv->version);
	if (sqlite3_step(b->rdf_st) == SQLITE_ROW)
		rdf = cJSON_Parse(db_column_text(b->rdf_st, 0));
	sqlite3_reset(b->rdf_st);
	if (!rdf) {
		/* A row we wrote ourselves; a broken one must not hide every other entry. */
		log_warnx("collection: %s/%s has no readable rdf_json; listed without RDF fields", k->id, lv->version);
		rdf = cJSON_CreateObject();
		if (!rdf)
			return bo_error_set(b->err, BO_ENOMEM, "out of memory");
	}
	e = entry_build(b, k, rdf, lv->version, lv->created, lv->doi, lv->sha, version_list(k), lv->compat[0] != '\0');
	cJSON_Delete(rdf);
	if (e)
		*out = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	return *out ? 0 : bo_error_set(b->err, BO_ENOMEM, "out of memory rendering the entry of %s", k->id);
}

/* <id>/versions.json: {concept_doi, versions:[{v, created, doi, yanked}]}, newest first. */
static char *render_versions(const struct concept *k)
{
	struct buf o = {0};
	buf_puts(&o, "{\"concept_doi\":");
	buf_json_str_or_null(&o, k->concept_doi);
	buf_puts(&o, ",\"versions\":[");
	for (size_t i = 0; i < k->nv; i++) {
		buf_puts(&o, i ? ",{\"v\":" : "{\"v\":");
		buf_json_str(&o, k->v[i].version);
		buf_puts(&o, ",\"created\":");
		buf_json_str(&o, k->v[i].created);
		buf_puts(&o, ",\"doi\":");
		buf_json_str_or_null(&o, k->v[i].doi);
		buf_puts(&o, strcmp(k->v[i].state, "yanked") ? ",\"yanked\":false}" : ",\"yanked\":true}");
	}
	buf_puts(&o, "]}\n");
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	return o.p;
}

/* Everything that feeds a concept's entry and versions.json, in one string. */
static char *signature(const struct concept *k)
{
	struct buf s = {0};
	char n[32];
	buf_json_str(&s, k->type);
	buf_json_str(&s, k->created);
	buf_json_str_or_null(&s, k->concept_doi);
	buf_json_str(&s, k->aliases);
	snprintf(n, sizeof(n), "%lld", (long long)k->created_by);
	buf_puts(&s, n);
	for (size_t i = 0; i < k->nv; i++) {
		buf_json_str(&s, k->v[i].version);
		buf_json_str(&s, k->v[i].state);
		buf_json_str(&s, k->v[i].sha);
		buf_json_str(&s, k->v[i].created);
		buf_json_str_or_null(&s, k->v[i].doi);
		buf_json_str(&s, k->v[i].compat);
		buf_json_str(&s, k->v[i].src);
	}
	if (s.failed) {
		free(s.p);
		return NULL;
	}
	return s.p;
}

/* ------------------------------------------------------------------ the build */

static void count_type(cJSON *counts, const char *type, int by)
{
	cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, type);
	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + by);
	else
		cJSON_AddNumberToObject(counts, type, by);
}

static void note_type(struct collection__outputs *o, const char *type)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, o->types)
	{
		if (!strcmp(t->valuestring, type))
			return;
	}
	cJSON_AddItemToArray(o->types, cJSON_CreateString(type));
}

struct alias {
	const char *name;
	const char *json;
};

static int cmp_alias(const void *x, const void *y)
{
	return strcmp(((const struct alias *)x)->name, ((const struct alias *)y)->name);
}

/* id_map records are collected unsorted and written sorted by alias. */
static void alias_add(struct buf *pairs, const char *alias, const char *json)
{
	index_add(pairs, alias, strlen(alias) + 1);
	index_add(pairs, json, strlen(json) + 1);
}

static int aliases_render(struct buf *pairs, struct buf *out)
{
	size_t n = 0;
	for (size_t i = 0; i < pairs->len; i += strlen(pairs->p + i) + 1)
		n++;
	n /= 2;
	struct alias *v = n ? calloc(n, sizeof(*v)) : NULL;
	if (n && !v)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < pairs->len && k < n; k++) {
		v[k].name = pairs->p + i;
		i += strlen(pairs->p + i) + 1;
		v[k].json = pairs->p + i;
		i += strlen(pairs->p + i) + 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_alias);
	buf_puts(out, "{");
	for (size_t i = 0, w = 0; i < n; i++) {
		if (i && !strcmp(v[i].name, v[i - 1].name))
			continue; /* first wins: a concept id beats a DOI spelled the same */
		if (w++)
			buf_puts(out, ",");
		buf_json_str(out, v[i].name);
		buf_puts(out, ":");
		buf_puts(out, v[i].json);
	}
	buf_puts(out, "}\n");
	free(v);
	return out->failed ? -1 : 0;
}

static int memo_push(struct collection__outputs *o, struct collection__memo *m)
{
	if (o->nmemo == o->capmemo) {
		size_t cap = o->capmemo ? o->capmemo * 2 : 256;
		struct collection__memo *p = realloc(o->memo, cap * sizeof(*p));
		if (!p)
			return -1;
		o->memo = p;
		o->capmemo = cap;
	}
	o->memo[o->nmemo++] = *m;
	return 0;
}

/* The all_versions.json entry of k and its id_map.json members ("alias":{…},…). Aliases
 * are unique by construction (concept ids are unique, "<id>/<version>" has a slash that
 * ids and DOIs lack, DOIs are unique per version, the aliases table's are unique and
 * import refuses one that is another concept's id), so id_map needs no sort: its members
 * follow the concept order, which is deterministic. An id_map value is exactly
 * {source, sha256}: bioimageio.spec reads each as a LightHttpFileDescr, which forbids
 * other keys, so one richer value would make the whole map unreadable to it. */
static int render_records(struct build *b, const struct concept *k, char **av_out, char **ids_out)
{
	struct buf av = {0}, idm = {0}, rec = {0}, light = {0};
	const struct vrow *lv = listed_version(k);
	buf_puts(&av, "{\"concept\":");
	buf_json_str(&av, k->id);
	buf_puts(&av, ",\"type\":");
	buf_json_str(&av, k->type);
	buf_puts(&av, ",\"concept_doi\":");
	buf_json_str_or_null(&av, k->concept_doi);
	buf_puts(&av, ",\"versions\":[");
	for (size_t i = 0; i < k->nv; i++) {
		const struct vrow *v = &k->v[i];
		char *src = abs_url(b, k, v->version, "rdf.yaml");
		if (!src)
			goto oom;
		light.len = 0;
		buf_puts(&light, "{\"source\":");
		buf_json_str(&light, src);
		buf_puts(&light, ",\"sha256\":");
		buf_json_str(&light, v->sha);
		buf_puts(&light, "}");
		rec.len = 0;
		buf_puts(&rec, "{\"v\":");
		buf_json_str(&rec, v->version);
		buf_puts(&rec, ",\"source\":");
		buf_json_str(&rec, src);
		buf_puts(&rec, ",\"sha256\":");
		buf_json_str(&rec, v->sha);
		buf_puts(&rec, ",\"created\":");
		buf_json_str(&rec, v->created);
		buf_puts(&rec, ",\"doi\":");
		buf_json_str_or_null(&rec, v->doi);
		buf_puts(&rec, strcmp(v->state, "yanked") ? ",\"yanked\":false}" : ",\"yanked\":true}");
		free(src);
		if (rec.failed || light.failed)
			goto oom;
		if (i)
			buf_puts(&av, ",");
		index_add(&av, rec.p, rec.len);
		/* id/version; the version DOI; the id and concept DOI name the listed version */
		const char *names[4] = {NULL, v->doi && *v->doi ? v->doi : NULL, v == lv ? k->id : NULL,
					v == lv && k->concept_doi && *k->concept_doi ? k->concept_doi : NULL};
		for (int j = 0; j < 4; j++) {
			if (j && !names[j])
				continue;
			if (idm.len)
				buf_puts(&idm, ",");
			if (j == 0) {
				char alias[STORAGE_KEY_MAX];
				snprintf(alias, sizeof(alias), "%s/%s", k->id, v->version);
				buf_json_str(&idm, alias);
			} else {
				buf_json_str(&idm, names[j]);
			}
			buf_puts(&idm, ":");
			index_add(&idm, light.p, light.len);
		}
		/* the other names of an imported concept name the listed version too (one equal to
		 * the concept DOI is written once, above) */
		for (const char *al = v == lv ? k->aliases : ""; *al;) {
			size_t n = strcspn(al, "\n");
			if (!(k->concept_doi && strlen(k->concept_doi) == n && !strncmp(al, k->concept_doi, n)) &&
			    !(strlen(k->id) == n && !strncmp(al, k->id, n))) {
				char alias[STORAGE_KEY_MAX];
				snprintf(alias, sizeof(alias), "%.*s", (int)n, al);
				buf_puts(&idm, ",");
				buf_json_str(&idm, alias);
				buf_puts(&idm, ":");
				index_add(&idm, light.p, light.len);
			}
			al += n + (al[n] == '\n');
		}
	}
	buf_puts(&av, "]}");
	free(rec.p);
	free(light.p);
	if (av.failed || idm.failed)
		goto oom2;
	*av_out = av.p;
	*ids_out = idm.p ? idm.p : strdup("");
	return *ids_out ? 0 : bo_error_set(b->err, BO_ENOMEM, "out of memory");
oom:
	free(rec.p);
	free(light.p);
oom2:
	free(av.p);
	free(idm.p);
	return bo_error_set(b->err, BO_ENOMEM, "out of memory building the collection");
}

/* One published concept: take its rendered parts from the last build's memo when its
 * rows did not change (moving them: the memo is rebuilt by this build), else render them;
 * then append them to the outputs. */
static int concept_done(struct build *b, struct collection__outputs *o, const struct concept *k,
			struct collection__memo *prev, size_t nprev, size_t *pi, int warm)
{
	struct collection__memo m = {0};
	int rc = 0;
	while (*pi < nprev && strcmp(prev[*pi].id, k->id) < 0)
		(*pi)++;
	struct collection__memo *old = *pi < nprev && !strcmp(prev[*pi].id, k->id) ? &prev[*pi] : NULL;
	m.id = xstrdup(k->id);
	m.sig = signature(k);
	if (!m.id || !m.sig)
		goto oom;
	const struct vrow *lv = listed_version(k);
	if (old && old->versions && !strcmp(old->sig, m.sig)) {
		m.entry = old->entry;
		m.versions = old->versions;
		m.version = old->version;
		m.av = old->av;
		m.ids = old->ids;
		old->entry = old->versions = old->version = old->av = old->ids = NULL;
	} else {
		rc = render_entry(b, k, &m.entry);
		if (!rc)
			rc = render_records(b, k, &m.av, &m.ids);
		if (rc)
			goto fail;
		m.versions = render_versions(k);
		m.version = lv ? strdup(lv->version) : NULL;
		if (!m.versions || (lv && !m.version))
			goto oom;
	}
	m.changed = !warm || !old || !old->sig || strcmp(old->sig, m.sig);
	snprintf(m.newest_created, sizeof(m.newest_created), "%s", k->nv ? k->v[0].created : "");
	if (m.entry) {
		snprintf(m.listed_created, sizeof(m.listed_created), "%s", lv->created);
		count_type(o->n_res, k->type, 1);
		note_type(o, k->type);
		if (strcmp(lv->created, o->latest) > 0)
			snprintf(o->latest, sizeof(o->latest), "%s", lv->created);
	}
	count_type(o->n_ver, k->type, (int)k->nv);
	struct buf *idm = &o->f[F_ID_MAP];
	if (idm->len > 1 && *m.ids)
		buf_puts(idm, ",");
	buf_puts(idm, m.ids);
	if (memo_push(o, &m))
		goto oom;
	return 0;
oom:
	rc = bo_error_set(b->err, BO_ENOMEM, "out of memory building the collection");
fail:
	free(m.id);
	free(m.sig);
	free(m.entry);
	free(m.versions);
	free(m.version);
	free(m.av);
	free(m.ids);
	return rc;
}

/* ------------------------------------------------------------------ drafts */

/* The draft entries, all_versions_draft.json and id_map_draft.json. */
/* One draft's parts, kept until all are read so they can be ordered. */
struct draft_part {
	char *id;
	char created[40];
	char *entry; /* its collection_draft.json entry */
	char *av;    /* its all_versions_draft.json concept */
};

struct draft_files {
	struct build *b;
	struct collection__outputs *o;
	struct buf pairs; /* id_map_draft.json's aliases */
	struct draft_part *v;
	size_t n, cap;
};

/* The draft's entry in collection_draft.json (with its status). */
static int draft_entry(struct draft_files *df, const struct concept *k, const struct drafts_row *r, char **out)
{
	struct build *b = df->b;
	cJSON *rdf = cJSON_Parse(r->rdf_json);
	cJSON *versions = cJSON_Parse(r->versions_json);
	if (!rdf)
		rdf = cJSON_CreateObject();
	if (!cJSON_IsArray(versions)) {
		cJSON_Delete(versions);
		versions = cJSON_CreateArray();
	}
	cJSON *e = rdf ? entry_build(b, k, rdf, "draft", r->created_at, NULL, r->rdf_sha256, versions, 1) : NULL;
	cJSON_Delete(rdf);
	cJSON *status = lifecycle_status_json(b->a, k->id, r->state, r->state_detail, r->updated_at);
	if (!e || !status || !cJSON_AddItemToObject(e, "status", status)) {
		cJSON_Delete(status);
		cJSON_Delete(e);
		return bo_error_set(b->err, BO_ENOMEM, "out of memory building the draft entry of %s", k->id);
	}
	*out = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (!*out)
		return bo_error_set(b->err, BO_ENOMEM, "out of memory");
	if (strcmp(r->updated_at, df->o->latest_draft) > 0)
		snprintf(df->o->latest_draft, sizeof(df->o->latest_draft), "%s", r->updated_at);
	return 0;
}

/* The draft's concept in all_versions_draft.json (the reference's shape, a versions list
 * with v "draft", plus what we know more) and, once its rdf.yaml is staged (it has a
 * sha256), its aliases "<id>/draft" and, for bioimageio.spec's resolve_draft, "<id>". */
static int draft_record(struct draft_files *df, const struct concept *k, const struct drafts_row *r, char **out)
{
	char *src = abs_url(df->b, k, "draft", "rdf.yaml");
	struct buf av = {0}, light = {0};
	char n[32];
	snprintf(n, sizeof(n), "%d", r->revision);
	buf_puts(&av, "{\"concept\":");
	buf_json_str(&av, k->id);
	buf_puts(&av, ",\"type\":");
	buf_json_str(&av, k->type);
	buf_puts(&av, ",\"concept_doi\":");
	buf_json_str_or_null(&av, k->concept_doi);
	buf_puts(&av, ",\"versions\":[{\"v\":\"draft\",\"source\":");
	buf_json_str(&av, src ? src : "");
	buf_puts(&av, ",\"sha256\":");
	buf_json_str_or_null(&av, r->rdf_sha256);
	buf_puts(&av, ",\"created\":");
	buf_json_str(&av, k->created);
	buf_puts(&av, ",\"doi\":null,\"revision\":");
	buf_puts(&av, n);
	buf_puts(&av, ",\"state\":");
	buf_json_str(&av, drafts_state_name(r->state));
	buf_puts(&av, ",\"package_sha256\":");
	buf_json_str(&av, r->package_sha256);
	buf_puts(&av, ",\"updated\":");
	buf_json_str(&av, r->updated_at);
	buf_puts(&av, "}]}");
	if (strlen(r->rdf_sha256) == 64) {
		buf_puts(&light, "{\"source\":");
		buf_json_str(&light, src ? src : "");
		buf_puts(&light, ",\"sha256\":");
		buf_json_str(&light, r->rdf_sha256);
		buf_puts(&light, "}");
		char alias[STORAGE_KEY_MAX];
		snprintf(alias, sizeof(alias), "%s/draft", k->id);
		alias_add(&df->pairs, alias, light.p ? light.p : "null");
		alias_add(&df->pairs, k->id, light.p ? light.p : "null");
	}
	int oom = av.failed || light.failed || !src;
	free(src);
	free(light.p);
	if (oom) {
		free(av.p);
		return bo_error_set(df->b->err, BO_ENOMEM, "out of memory");
	}
	*out = av.p;
	return 0;
}

static int draft_add(void *ctx, const struct drafts_row *r, struct bo_error *err)
{
	struct draft_files *df = ctx;
	struct concept k = {0};
	(void)err; /* b->err is the same: entry_build reports there */
	if (df->n == df->cap) {
		size_t cap = df->cap ? df->cap * 2 : 64;
		struct draft_part *v = realloc(df->v, cap * sizeof(*v));
		if (!v)
			return bo_error_set(df->b->err, BO_ENOMEM, "out of memory");
		df->v = v;
		df->cap = cap;
	}
	struct draft_part *part = &df->v[df->n];
	memset(part, 0, sizeof(*part));
	k.id = xstrdup(r->concept_id);
	k.type = xstrdup(r->type);
	k.created = xstrdup(r->created_at);
	k.concept_doi = xstrdup(r->concept_doi);
	k.created_by = r->created_by;
	part->id = xstrdup(r->concept_id);
	snprintf(part->created, sizeof(part->created), "%s", r->created_at);
	int rc = !k.id || !k.type || !k.created || !k.concept_doi || !part->id
			 ? bo_error_set(df->b->err, BO_ENOMEM, "out of memory")
			 : draft_entry(df, &k, r, &part->entry);
	if (!rc)
		rc = draft_record(df, &k, r, &part->av);
	df->n++; /* freed with the others, whole or not */
	concept_clear(&k);
	return rc;
}

/* Newest draft first, as the reference orders both draft files; then by id. */
static int cmp_draft(const void *x, const void *y)
{
	const struct draft_part *a = x, *b = y;
	int c = strcmp(b->created, a->created);
	return c ? c : strcmp(a->id, b->id);
}

/* The draft entries, all_versions_draft.json and id_map_draft.json. */
static int drafts_build(struct build *b, struct collection__outputs *o)
{
	struct draft_files df = {.b = b, .o = o};
	struct buf *av = &o->f[F_ALL_VERSIONS_DRAFT];
	int rc = drafts_each(b->c, draft_add, &df, b->err);
	if (!rc) {
		if (df.n)
			qsort(df.v, df.n, sizeof(*df.v), cmp_draft);
		buf_puts(av, "{\"entries\":[");
		for (size_t i = 0; i < df.n; i++) {
			if (i) {
				buf_puts(&o->draft_entries, ",");
				buf_puts(av, ",");
			}
			buf_puts(&o->draft_entries, df.v[i].entry);
			buf_puts(av, df.v[i].av);
		}
		buf_puts(av, "]}\n");
		if (aliases_render(&df.pairs, &o->f[F_ID_MAP_DRAFT]))
			rc = bo_error_set(b->err, BO_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < df.n; i++) {
		free(df.v[i].id);
		free(df.v[i].entry);
		free(df.v[i].av);
	}
	free(df.v);
	free(df.pairs.p);
	return rc;
}

/* The template (schema_dir/collection_template.json) with the computed config keys, the
 * entries and `created`, rendered compactly. */
static int index_render(struct build *b, struct collection__outputs *o, int draft, struct buf *out)
{
	char path[4096];
	char *text = NULL;
	size_t len = 0;
	cJSON *t = NULL;
	int rc;
	snprintf(path, sizeof(path), "%s/collection_template.json", b->a->cfg->schema_dir);
	FILE *f = fopen(path, "rb");
	if (f) {
		text = malloc(TEMPLATE_MAX_BYTES + 1);
		len = text ? fread(text, 1, TEMPLATE_MAX_BYTES + 1, f) : 0;
		fclose(f);
	}
	if (!text || len > TEMPLATE_MAX_BYTES) {
		free(text);
		return bo_error_set(b->err, BO_EINTERNAL, "cannot read the collection template %s (at most %zu bytes)",
				    path, TEMPLATE_MAX_BYTES);
	}
	text[len] = '\0';
	t = cJSON_Parse(text);
	free(text);
	text = NULL;
	if (!cJSON_IsObject(t)) {
		cJSON_Delete(t);
		return bo_error_set(b->err, BO_EINTERNAL, "%s is not a JSON object; fix the collection template", path);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(t, "collection");
	cJSON_DeleteItemFromObjectCaseSensitive(t, "created");
	cJSON *cfg = cJSON_GetObjectItemCaseSensitive(t, "config");
	if (!cJSON_IsObject(cfg)) {
		cJSON_DeleteItemFromObjectCaseSensitive(t, "config");
		cfg = cJSON_AddObjectToObject(t, "config");
	}
	/* resource_types: the template's order first, then the types we have, sorted */
	cJSON *types = cJSON_CreateArray();
	const cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(cfg, "resource_types"))
	{
		if (cJSON_IsString(x))
			cJSON_AddItemToArray(types, cJSON_CreateString(x->valuestring));
	}
	size_t nt = (size_t)cJSON_GetArraySize(o->types), k = 0;
	const char **seen = calloc(nt + 1, sizeof(*seen));
	cJSON_ArrayForEach(x, o->types)
	{
		if (seen)
			seen[k++] = x->valuestring;
	}
	if (seen && k)
		qsort(seen, k, sizeof(*seen), cmp_str);
	for (size_t i = 0; seen && i < k; i++) {
		int have = 0;
		cJSON_ArrayForEach(x, types)
		{
			have |= !strcmp(x->valuestring, seen[i]);
		}
		if (!have)
			cJSON_AddItemToArray(types, cJSON_CreateString(seen[i]));
	}
	free(seen);
	const char *keys[] = {"n_resources", "n_resource_versions", "resource_types", "url_root"};
	for (size_t i = 0; cfg && i < 4; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, keys[i]);
	if (cfg) {
		cJSON_AddItemToObject(cfg, "n_resources", cJSON_Duplicate(o->n_res, 1));
		cJSON_AddItemToObject(cfg, "n_resource_versions", cJSON_Duplicate(o->n_ver, 1));
		cJSON_AddItemToObject(cfg, "resource_types", types);
		types = NULL;
		/* the storage root, with its slash, as the reference writes it */
		char root[STORAGE_KEY_MAX + 2048];
		snprintf(root, sizeof(root), "%s/", b->files_url);
		cJSON_AddStringToObject(cfg, "url_root", root);
	}
	cJSON_Delete(types);
	text = cJSON_PrintUnformatted(t);
	cJSON_Delete(t);
	if (!text || !cfg)
		goto oom;
	len = strlen(text);
	if (len < 2 || text[len - 1] != '}')
		goto oom;
	index_add(out, text, len - 1);
	buf_puts(out, len > 2 ? ",\"collection\":[" : "\"collection\":[");
	buf_puts(out, draft ? o->draft_entries.p ? o->draft_entries.p : "" : o->entries.p ? o->entries.p : "");
	buf_puts(out, "],\"created\":");
	const char *created = draft ? (strcmp(o->latest_draft, o->latest) > 0 ? o->latest_draft : o->latest) : o->latest;
	buf_json_str(out, *created ? created : "1970-01-01T00:00:00Z");
	buf_puts(out, "}\n");
	free(text);
	rc = out->failed ? bo_error_set(b->err, BO_ENOMEM, "out of memory") : 0;
	return rc;
oom:
	free(text);
	return bo_error_set(b->err, BO_ENOMEM, "out of memory rendering the collection");
}

void collection__outputs_clear(struct collection__outputs *o)
{
	for (int i = 0; i < NFILES; i++)
		free(o->f[i].p);
	free(o->entries.p);
	free(o->draft_entries.p);
	cJSON_Delete(o->n_res);
	cJSON_Delete(o->n_ver);
	cJSON_Delete(o->types);
	collection__memo_clear(o->memo, o->nmemo);
}

/* Newest first: by creation (info.json's created), then by version string (both descending). Sorting
 * a concept's few versions here lets the scan follow the primary key without a sort. */
static int cmp_newest_first(const void *x, const void *y)
{
	const struct vrow *a = x, *b = y;
	int c = strcmp(b->created, a->created);
	return c ? c : strcmp(b->version, a->version);
}

/* The reference's order: collection.json's entries by download count, then newest
 * listed version first; all_versions.json's concepts newest version first. Every count
 * is "?" (0) so far, so the dates decide; equal dates keep the id order. */
static int cmp_listed(const void *x, const void *y)
{
	const struct collection__memo *a = *(const struct collection__memo *const *)x;
	const struct collection__memo *b = *(const struct collection__memo *const *)y;
	int c = strcmp(b->listed_created, a->listed_created);
	return c ? c : strcmp(a->id, b->id);
}

static int cmp_newest(const void *x, const void *y)
{
	const struct collection__memo *a = *(const struct collection__memo *const *)x;
	const struct collection__memo *b = *(const struct collection__memo *const *)y;
	int c = strcmp(b->newest_created, a->newest_created);
	return c ? c : strcmp(a->id, b->id);
}

/* Appends the memo's entries and all_versions records to o in the reference's order
 * (the memo itself stays in id order: the next build walks it beside the rows). */
static int order_published(struct build *b, struct collection__outputs *o)
{
	const struct collection__memo **v = o->nmemo ? malloc(o->nmemo * sizeof(*v)) : NULL;
	if (o->nmemo && !v)
		return bo_error_set(b->err, BO_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->nmemo; i++)
		v[i] = &o->memo[i];
	if (o->nmemo)
		qsort(v, o->nmemo, sizeof(*v), cmp_listed);
	for (size_t i = 0; i < o->nmemo; i++) {
		if (!v[i]->entry)
			continue;
		if (o->entries.len)
			buf_puts(&o->entries, ",");
		buf_puts(&o->entries, v[i]->entry);
	}
	if (o->nmemo)
		qsort(v, o->nmemo, sizeof(*v), cmp_newest);
	struct buf *av = &o->f[F_ALL_VERSIONS];
	for (size_t i = 0; i < o->nmemo; i++) {
		if (i)
			buf_puts(av, ",");
		buf_puts(av, v[i]->av);
	}
	free(v);
	return 0;
}

/* Reads every row and renders every output into o (no storage access). */
static int build_all(struct build *b, struct collection__outputs *o, struct collection__memo *prev, size_t nprev,
		     int warm)
{
	sqlite3_stmt *st = NULL;
	struct concept k = {0};
	size_t pi = 0;
	int rc, step;
	o->n_res = cJSON_CreateObject();
	o->n_ver = cJSON_CreateObject();
	o->types = cJSON_CreateArray();
	if (!o->n_res || !o->n_ver || !o->types)
		return bo_error_set(b->err, BO_ENOMEM, "out of memory");
	rc = db_prepare(b->c, &st,
			"SELECT v.concept_id, c.type, c.created_at, c.concept_doi, COALESCE(c.created_by, 0), v.version, "
			"v.state, v.rdf_sha256, v.created_at, v.doi, "
			"(SELECT group_concat(x.tool || ' ' || x.status || ' ' || x.reported_at, ',') FROM compatibility x "
			"WHERE x.concept_id = v.concept_id AND x.version = v.version), COALESCE(v.source_url, ''), "
			"COALESCE((SELECT group_concat(a.alias, char(10)) FROM aliases a WHERE a.concept_id = v.concept_id), '') "
			"FROM versions v JOIN concepts c ON c.id = v.concept_id WHERE v.state IN ('published', 'yanked') "
			"ORDER BY v.concept_id",
			b->err);
	if (rc)
		return rc;
	buf_puts(&o->f[F_ALL_VERSIONS], "{\"entries\":[");
	buf_puts(&o->f[F_ID_MAP], "{");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = db_column_text(st, 0);
		if (k.id && strcmp(k.id, id)) {
			qsort(k.v, k.nv, sizeof(*k.v), cmp_newest_first);
			rc = concept_done(b, o, &k, prev, nprev, &pi, warm);
			concept_clear(&k);
			if (rc)
				goto fail;
		}
		if (!k.id) {
			k.id = xstrdup(id);
			k.type = xstrdup(db_column_text(st, 1));
			k.created = xstrdup(db_column_text(st, 2));
			k.concept_doi = xstrdup(db_column_text(st, 3));
			k.created_by = sqlite3_column_int64(st, 4);
			k.aliases = xstrdup(db_column_text(st, 12));
		}
		if (k.nv == k.cap) {
			size_t cap = k.cap ? k.cap * 2 : 4;
			struct vrow *p = realloc(k.v, cap * sizeof(*p));
			if (!p)
				goto oom;
			k.v = p;
			k.cap = cap;
		}
		struct vrow *v = &k.v[k.nv++];
		v->version = xstrdup(db_column_text(st, 5));
		v->state = xstrdup(db_column_text(st, 6));
		v->sha = xstrdup(db_column_text(st, 7));
		v->created = xstrdup(db_column_text(st, 8));
		v->doi = xstrdup(db_column_text(st, 9));
		v->compat = xstrdup(db_column_text(st, 10));
		v->src = xstrdup(db_column_text(st, 11));
		if (!k.id || !k.type || !k.created || !k.concept_doi || !k.aliases || !v->version || !v->state ||
		    !v->sha || !v->created || !v->doi || !v->compat || !v->src)
			goto oom;
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(b->c, "read versions", b->err);
		goto fail;
	}
	if (k.id) {
		qsort(k.v, k.nv, sizeof(*k.v), cmp_newest_first);
		rc = concept_done(b, o, &k, prev, nprev, &pi, warm);
		if (rc)
			goto fail;
	}
	rc = order_published(b, o);
	if (rc)
		goto fail;
	buf_puts(&o->f[F_ALL_VERSIONS], "]}\n");
	buf_puts(&o->f[F_ID_MAP], "}\n");
	rc = drafts_build(b, o);
	if (!rc)
		rc = index_render(b, o, 0, &o->f[F_COLLECTION]);
	if (!rc)
		rc = index_render(b, o, 1, &o->f[F_COLLECTION_DRAFT]);
	for (int i = 0; !rc && i < NFILES; i++)
		if (o->f[i].failed)
			rc = bo_error_set(b->err, BO_ENOMEM, "out of memory building %s", collection_files[i]);
	goto fail;
oom:
	rc = bo_error_set(b->err, BO_ENOMEM, "out of memory building the collection");
fail:
	concept_clear(&k);
	sqlite3_finalize(st);
	return rc;
}

int collection__build(struct app *a, struct collection__outputs *o, struct bo_error *err)
{
	collection *co = a->collection;
	struct build b = {.a = a, .err = err};
	char files_url[2048];
	int rc, in_tx = 0;
	snprintf(files_url, sizeof(files_url), "%s", a->cfg->files_url);
	b.files_url = files_url;
	rc = db_acquire(a->db, &b.c, err);
	if (rc)
		goto fail;
	/* A deferred transaction: a consistent snapshot without taking the write lock. */
	rc = db_exec(b.c, "BEGIN", err);
	if (rc)
		goto fail;
	in_tx = 1;
	for (int i = 0; i < NFILES; i++)
		index_reserve(&o->f[i], co->sizes[i] + co->sizes[i] / 16 + 4096);
	index_reserve(&o->entries, co->sizes[NFILES] + co->sizes[NFILES] / 16 + 4096);
	rc = build_all(&b, o, co->memo, co->nmemo, co->warm);
	sqlite3_finalize(b.rdf_st);
	sqlite3_finalize(b.compat_st);
	sqlite3_finalize(b.user_st);
	b.rdf_st = b.user_st = NULL;
	if (rc)
		goto fail;
	rc = db_exec(b.c, "COMMIT", err);
	if (rc)
		goto fail;
	in_tx = 0;
fail:
	if (in_tx)
		db_rollback(b.c);
	if (b.c)
		db_release(a->db, b.c);
	return rc;
}

/* history: the collection's git history with libgit2. Each call opens the bare
 * repository, does its work and closes it, so no libgit2 object is shared between
 * threads. Invariant: refs/heads/main only moves forward, one commit per distinct
 * collection.json; a commit's tree is the previous one updated in place (upserts for new
 * RDFs, removals for versions no longer listed), so a commit after one publish writes a
 * handful of objects, not the whole collection. Which RDFs the tip holds is learnt by one
 * walk of its concept subtrees, or, with a history_cache naming the tip, not read at all. */
#include "infra/history.h"

#include "common/error.h"

#include <cjson/cJSON.h>
#include <git2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BRANCH "refs/heads/main"
#define MESSAGE_MAX (64 * 1024)
#define PATH_MAX_BYTES 1024

static int git_fail(int code, const char *what, struct bo_error *err)
{
	const git_error *e = git_error_last();
	if (code == GIT_EMODIFIED || code == GIT_ELOCKED)
		return bo_error_set(err, BO_ECONFLICT, "history: %s: the branch moved meanwhile; retry", what);
	return bo_error_set(err, BO_EINTERNAL, "history: %s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* Opens the bare repository at dir; create != 0 makes it (HEAD -> main) when missing.
 * *out NULL with 0 when it does not exist and create == 0. */
static int repo_open(git_repository **out, const char *dir, int create, struct bo_error *err)
{
	*out = NULL;
	int rc = git_repository_open_bare(out, dir);
	if (rc == 0)
		return 0;
	if (rc != GIT_ENOTFOUND)
		return git_fail(rc, dir, err);
	if (!create)
		return 0;
	git_repository_init_options opt;
	git_repository_init_options_init(&opt, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opt.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	opt.initial_head = "main";
	rc = git_repository_init_ext(out, dir, &opt);
	return rc ? git_fail(rc, dir, err) : 0;
}

/* The tip commit of main, or NULL (0) when the branch has none yet. */
static int tip_commit(git_commit **out, git_repository *repo, struct bo_error *err)
{
	git_oid oid;
	*out = NULL;
	int rc = git_reference_name_to_id(&oid, repo, BRANCH);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (!rc)
		rc = git_commit_lookup(out, repo, &oid);
	return rc ? git_fail(rc, "read the branch tip", err) : 0;
}

static int cmp_rdf(const void *x, const void *y)
{
	const struct history_rdf *a = x, *b = y;
	int c = strcmp(a->concept_id, b->concept_id);
	return c ? c : strcmp(a->version, b->version);
}

struct history_cache {
	git_oid tip;
	struct history_rdf *have; /* sorted by cmp_rdf; strings owned (id and version) */
	size_t n;
};

void history_cache_free(history_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free((char *)(uintptr_t)c->have[i].concept_id);
		free((char *)(uintptr_t)c->have[i].version);
	}
	free(c->have);
	free(c);
}

/* Appends (id, version) to c (strings copied). */
static int cache_add(history_cache *c, size_t *cap, const char *id, const char *version)
{
	if (c->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct history_rdf *p = realloc(c->have, nc * sizeof(*p));
		if (!p)
			return -1;
		c->have = p;
		*cap = nc;
	}
	char *a = strdup(id), *b = strdup(version);
	if (!a || !b) {
		free(a);
		free(b);
		return -1;
	}
	c->have[c->n++] = (struct history_rdf){a, b};
	return 0;
}

/* The <id>/<version> directories of base (one read per concept subtree), sorted. */
static int cache_from_tree(history_cache **out, git_repository *repo, const git_tree *base, struct bo_error *err)
{
	history_cache *c = calloc(1, sizeof(*c));
	size_t cap = 0;
	if (!c)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	size_t count = base ? git_tree_entrycount(base) : 0;
	for (size_t i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(base, i);
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			continue;
		git_tree *sub = NULL;
		int rc = git_tree_lookup(&sub, repo, git_tree_entry_id(e));
		if (rc) {
			history_cache_free(c);
			return git_fail(rc, "read a tree", err);
		}
		for (size_t j = 0; j < git_tree_entrycount(sub); j++)
			if (cache_add(c, &cap, git_tree_entry_name(e), git_tree_entry_name(git_tree_entry_byindex(sub, j)))) {
				git_tree_free(sub);
				history_cache_free(c);
				return bo_error_set(err, BO_ENOMEM, "out of memory");
			}
		git_tree_free(sub);
	}
	/* git orders "a-b" before "a/", strcmp the other way: sort for bsearch */
	if (c->n)
		qsort(c->have, c->n, sizeof(*c->have), cmp_rdf);
	*out = c;
	return 0;
}

int history_commit(const char *dir, const void *collection, size_t len, const struct history_rdf *rdfs,
		   size_t nrdfs, history_load_fn load, void *load_ctx, const char *message, int *committed_out,
		   struct bo_error *err)
{
	history_cache *cache = NULL;
	int rc = history_commit_cached(dir, collection, len, rdfs, nrdfs, load, load_ctx, message, committed_out,
				       &cache, err);
	history_cache_free(cache);
	return rc;
}

/* Whether tree's collection.json holds exactly these len bytes. Sizes first: hashing a large
 * collection.json costs more than reading a header. What cannot be read counts as "no": the
 * commit then goes ahead. */
static int tree_holds(git_repository *repo, const git_tree *tree, const void *collection, size_t len)
{
	git_tree_entry *entry = NULL;
	git_odb *odb = NULL;
	git_oid now;
	size_t tip_len = 0;
	git_object_t tip_type;
	int same_size = !git_tree_entry_bypath(&entry, tree, "collection.json") && !git_repository_odb(&odb, repo) &&
			!git_odb_read_header(&tip_len, &tip_type, odb, git_tree_entry_id(entry)) && tip_len == len;
	git_odb_free(odb);
	int same = same_size && !git_odb_hash(&now, collection, len, GIT_OBJECT_BLOB) &&
		   git_oid_equal(&now, git_tree_entry_id(entry));
	git_tree_entry_free(entry);
	return same;
}

/* The empty tree the first commit is built on. */
static int empty_tree(git_tree **out, git_repository *repo, struct bo_error *err)
{
	git_treebuilder *tb = NULL;
	git_oid tree_oid;
	int rc = git_treebuilder_new(&tb, repo, NULL);
	if (!rc)
		rc = git_treebuilder_write(&tree_oid, tb);
	git_treebuilder_free(tb);
	if (!rc)
		rc = git_tree_lookup(out, repo, &tree_oid);
	return rc ? git_fail(rc, "create the first tree", err) : 0;
}

/* The tree updates of one commit; paths[i] (owned, may be NULL) is the path of ups[i]. */
struct updates {
	git_tree_update *ups;
	char **paths;
	size_t n;
};

/* An upsert of <id>/<version>/rdf.yaml for each listed RDF the tip does not hold (published
 * versions are immutable, so one it holds is unchanged), loaded through load; every RDF the
 * new tree holds is also added to next, the cache of the commit being made. sorted (n,
 * sorted by cmp_rdf) may list one RDF twice. */
static int upsert_listed(struct updates *u, history_cache *next, git_repository *repo,
			 const struct history_rdf *sorted, size_t n, const history_cache *have, history_load_fn load,
			 void *load_ctx, struct bo_error *err)
{
	size_t next_cap = 0;
	git_oid oid;
	int rc;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX_BYTES];
		if (i && !cmp_rdf(&sorted[i], &sorted[i - 1]))
			continue;
		/* unchanged: published versions are immutable */
		int in_tip = have->n && bsearch(&sorted[i], have->have, have->n, sizeof(*have->have), cmp_rdf);
		if (!in_tip) {
			snprintf(path, sizeof(path), "%s/%s/rdf.yaml", sorted[i].concept_id, sorted[i].version);
			char *data = NULL;
			size_t dlen = 0;
			struct bo_error e2 = BO_ERROR_INIT;
			int lrc = load(load_ctx, sorted[i].concept_id, sorted[i].version, &data, &dlen, &e2);
			if (lrc == BO_ENOTFOUND) {
				bo_error_cleanup(&e2);
				continue; /* listed without files (should not happen); the index is still kept */
			}
			if (lrc) {
				rc = bo_error_set(err, lrc, "%s", e2.detail);
				bo_error_cleanup(&e2);
				return rc;
			}
			rc = git_blob_create_from_buffer(&oid, repo, data, dlen);
			free(data);
			if (rc)
				return git_fail(rc, path, err);
			u->paths[u->n] = strdup(path);
			if (!u->paths[u->n])
				return bo_error_set(err, BO_ENOMEM, "out of memory");
			u->ups[u->n] = (git_tree_update){.action = GIT_TREE_UPDATE_UPSERT, .id = oid,
							 .filemode = GIT_FILEMODE_BLOB, .path = u->paths[u->n]};
			u->n++;
		}
		if (cache_add(next, &next_cap, sorted[i].concept_id, sorted[i].version))
			return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	return 0;
}

/* A removal of every <id>/<version> of the tip that sorted (n) no longer lists. */
static int remove_unlisted(struct updates *u, const history_cache *have, const struct history_rdf *sorted,
			   size_t n, struct bo_error *err)
{
	for (size_t i = 0; i < have->n; i++) {
		if (n && bsearch(&have->have[i], sorted, n, sizeof(*sorted), cmp_rdf))
			continue;
		if (asprintf(&u->paths[u->n], "%s/%s", have->have[i].concept_id, have->have[i].version) < 0) {
			u->paths[u->n] = NULL;
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		}
		u->ups[u->n] = (git_tree_update){.action = GIT_TREE_UPDATE_REMOVE, .path = u->paths[u->n]};
		u->n++;
	}
	return 0;
}

/* base with the updates applied, committed on BRANCH over parent (NULL: the first commit)
 * with message ("rebuild" when empty) into *commit_oid. */
static int commit_tree(git_oid *commit_oid, git_repository *repo, git_tree *base, git_commit *parent,
		       const struct updates *u, const char *message, struct bo_error *err)
{
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid;
	char msg[MESSAGE_MAX + 1];
	int rc = git_tree_create_updated(&tree_oid, repo, base, u->n, u->ups);
	if (!rc)
		rc = git_tree_lookup(&tree, repo, &tree_oid);
	if (!rc)
		rc = git_signature_now(&sig, "backoffice", "backoffice@localhost");
	if (rc) {
		rc = git_fail(rc, "build the tree", err);
		goto fail;
	}
	snprintf(msg, sizeof(msg), "%s\n", message && *message ? message : "rebuild");
	const git_commit *parents[1] = {parent};
	rc = git_commit_create(commit_oid, repo, BRANCH, sig, sig, NULL, msg, tree, parent ? 1 : 0, parents);
	if (rc)
		rc = git_fail(rc, "commit", err);
fail:
	git_signature_free(sig);
	git_tree_free(tree);
	return rc;
}

int history_commit_cached(const char *dir, const void *collection, size_t len, const struct history_rdf *rdfs,
			  size_t nrdfs, history_load_fn load, void *load_ctx, const char *message,
			  int *committed_out, history_cache **cache, struct bo_error *err)
{
	git_repository *repo = NULL;
	git_commit *parent = NULL;
	git_tree *base = NULL;
	struct updates u = {0};
	struct history_rdf *sorted = NULL;
	history_cache *read = NULL, *next = NULL;
	const history_cache *have = NULL;
	size_t cap;
	git_oid oid, commit_oid;
	int rc;
	if (committed_out)
		*committed_out = 0;
	git_libgit2_init();
	rc = repo_open(&repo, dir, 1, err);
	if (!rc)
		rc = tip_commit(&parent, repo, err);
	if (rc)
		goto fail;
	if (parent) {
		rc = git_commit_tree(&base, parent);
		if (rc) {
			rc = git_fail(rc, "read the tip's tree", err);
			goto fail;
		}
		if (tree_holds(repo, base, collection, len)) {
			rc = 0; /* the tip already holds these bytes */
			goto fail;
		}
	} else {
		rc = empty_tree(&base, repo, err);
		if (rc)
			goto fail;
	}
	/* The RDF directories the tip holds: from the cache when it names the tip, else
	 * from one walk of the tip's tree. */
	if (*cache && parent && git_oid_equal(&(*cache)->tip, git_commit_id(parent))) {
		have = *cache;
	} else {
		rc = cache_from_tree(&read, repo, parent ? base : NULL, err);
		if (rc)
			goto fail;
		have = read;
	}
	next = calloc(1, sizeof(*next));
	sorted = calloc(nrdfs + 1, sizeof(*sorted));
	cap = nrdfs + have->n + 64;
	u.ups = calloc(cap, sizeof(*u.ups));
	u.paths = calloc(cap, sizeof(*u.paths));
	if (!next || !sorted || !u.ups || !u.paths) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	if (nrdfs)
		memcpy(sorted, rdfs, nrdfs * sizeof(*rdfs));
	if (nrdfs)
		qsort(sorted, nrdfs, sizeof(*sorted), cmp_rdf);
	rc = git_blob_create_from_buffer(&oid, repo, collection, len);
	if (rc) {
		rc = git_fail(rc, "write collection.json", err);
		goto fail;
	}
	u.ups[u.n++] = (git_tree_update){.action = GIT_TREE_UPDATE_UPSERT, .id = oid,
					 .filemode = GIT_FILEMODE_BLOB, .path = "collection.json"};
	rc = upsert_listed(&u, next, repo, sorted, nrdfs, have, load, load_ctx, err);
	if (!rc)
		rc = remove_unlisted(&u, have, sorted, nrdfs, err);
	if (!rc)
		rc = commit_tree(&commit_oid, repo, base, parent, &u, message, err);
	if (rc)
		goto fail;
	if (committed_out)
		*committed_out = 1;
	/* sorted was deduplicated while adding, so next is sorted and unique */
	git_oid_cpy(&next->tip, &commit_oid);
	history_cache_free(*cache);
	*cache = next;
	next = NULL;
	rc = 0;
fail:
	for (size_t i = 0; u.paths && i < u.n; i++)
		free(u.paths[i]);
	free(u.paths);
	free(u.ups);
	free(sorted);
	history_cache_free(read);
	history_cache_free(next);
	git_tree_free(base);
	git_commit_free(parent);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

static void iso_time(git_time_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int history_list(const char *dir, int limit, cJSON **out, struct bo_error *err)
{
	git_repository *repo = NULL;
	git_revwalk *walk = NULL;
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "commits") : NULL;
	git_oid oid;
	int rc = 0;
	if (limit < 1 || limit > HISTORY_LIST_MAX)
		limit = limit < 1 ? 1 : HISTORY_LIST_MAX;
	git_libgit2_init();
	if (!arr) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	rc = repo_open(&repo, dir, 0, err);
	if (rc || !repo)
		goto done;
	rc = git_revwalk_new(&walk, repo);
	if (!rc)
		rc = git_revwalk_push_ref(walk, BRANCH);
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto done;
	}
	if (rc) {
		rc = git_fail(rc, "walk the history", err);
		goto fail;
	}
	for (int n = 0; n < limit && !git_revwalk_next(&oid, walk); n++) {
		git_commit *c = NULL;
		char id[GIT_OID_HEXSZ + 1], when[32];
		rc = git_commit_lookup(&c, repo, &oid);
		if (rc) {
			rc = git_fail(rc, "read a commit", err);
			goto fail;
		}
		git_oid_tostr(id, sizeof(id), &oid);
		iso_time(git_commit_time(c), when, sizeof(when));
		cJSON *o = cJSON_CreateObject();
		const char *m = git_commit_message(c);
		size_t ml = m ? strlen(m) : 0;
		while (ml && m[ml - 1] == '\n')
			ml--;
		char *msg = strndup(m ? m : "", ml);
		if (o && msg) {
			cJSON_AddStringToObject(o, "id", id);
			cJSON_AddStringToObject(o, "message", msg);
			cJSON_AddStringToObject(o, "time", when);
		}
		free(msg);
		git_commit_free(c);
		if (!o || !msg || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
	}
done:
	if (!rc) {
		*out = doc;
		doc = NULL;
	}
fail:
	cJSON_Delete(doc);
	git_revwalk_free(walk);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int history_read(const char *dir, const char *commit, char **out, size_t *len_out, struct bo_error *err)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	git_oid oid;
	size_t n = strlen(commit);
	int rc;
	if (n < 7 || n > GIT_OID_HEXSZ || strspn(commit, "0123456789abcdef") != n)
		return bo_error_set(err, BO_EBADREQUEST, "'%.64s' is not a commit id (7 to 40 lowercase hex digits)", commit);
	git_libgit2_init();
	rc = repo_open(&repo, dir, 0, err);
	if (rc)
		goto fail;
	if (!repo) {
		rc = bo_error_set(err, BO_ENOTFOUND, "no history yet");
		goto fail;
	}
	rc = git_oid_fromstrn(&oid, commit, n);
	if (!rc)
		rc = git_commit_lookup_prefix(&c, repo, &oid, n);
	if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC) {
		rc = bo_error_set(err, rc == GIT_EAMBIGUOUS ? BO_EBADREQUEST : BO_ENOTFOUND,
				  "commit %s %s in the collection history", commit,
				  rc == GIT_EAMBIGUOUS ? "is ambiguous; give more digits" : "is not");
		goto fail;
	}
	if (!rc)
		rc = git_commit_tree(&tree, c);
	if (!rc)
		rc = git_tree_entry_bypath(&entry, tree, "collection.json");
	if (!rc)
		rc = git_blob_lookup(&blob, repo, git_tree_entry_id(entry));
	if (rc) {
		rc = git_fail(rc, "read collection.json", err);
		goto fail;
	}
	size_t len = (size_t)git_blob_rawsize(blob);
	*out = malloc(len + 1);
	if (!*out) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(*out, git_blob_rawcontent(blob), len);
	(*out)[len] = '\0';
	*len_out = len;
	rc = 0;
fail:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(c);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

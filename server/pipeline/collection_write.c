/* collection_write: a rebuild's output goes to storage and the history — the changed
 * versions.json files on a few writer threads, the index files after them, the history
 * commit of collection.json on a second thread meanwhile — and the `rebuild` job queued
 * by every change coalesces their reasons into one commit message. Invariants: a file is
 * written only when its bytes changed; the files are made durable by one storage_sync at
 * the end; a failed rebuild leaves the memo empty, so the next one starts cold. */
#include "pipeline/collection.h"
#include "pipeline/collection_internal.h"

#include "app.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/history.h"
#include "infra/jobs.h"
#include "infra/storage.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rebuild reasons kept in one queued job; later ones are counted, not kept. */
#define REASONS_MAX 50
#define REASON_BYTES_MAX 1000

static double ms_between(struct timespec a, struct timespec b)
{
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/* ------------------------------------------------------------------ enqueue */

int collection_enqueue_rebuild(sqlite3 *c, const char *reason, struct bo_error *err)
{
	char r[REASON_BYTES_MAX + 1];
	snprintf(r, sizeof(r), "%s", reason && *reason ? reason : "rebuild");
	sqlite3_stmt *st = NULL;
	/* Append to the queued job, if any: its run will cover this change too. */
	int rc = db_prepare(c, &st,
			    "UPDATE jobs SET payload_json = CASE WHEN json_array_length(payload_json, '$.reasons') < ?2 "
			    "THEN json_insert(payload_json, '$.reasons[#]', ?1) "
			    "ELSE json_set(payload_json, '$.more', COALESCE(json_extract(payload_json, '$.more'), 0) + 1) END "
			    "WHERE kind = 'rebuild' AND subject = 'collection' AND state = 'queued' "
			    "AND json_valid(payload_json) AND json_type(payload_json, '$.reasons') = 'array'",
			    err);
	if (rc)
		return rc;
	db_bind_text(st, 1, r);
	sqlite3_bind_int(st, 2, REASONS_MAX);
	rc = db_step_done(st, err);
	if (rc)
		return rc;
	if (sqlite3_changes(c) > 0)
		return 0;
	cJSON *p = cJSON_CreateObject();
	cJSON *arr = p ? cJSON_AddArrayToObject(p, "reasons") : NULL;
	char *text = NULL;
	if (arr)
		cJSON_AddItemToArray(arr, cJSON_CreateString(r));
	if (arr && cJSON_GetArraySize(arr) == 1)
		text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!text)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	rc = jobs_enqueue_coalesced(c, "rebuild", "collection", text, NULL, err);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------ writes */

static int load_rdf(void *ctx, const char *concept_id, const char *version, char **out, size_t *len_out,
		    struct bo_error *err)
{
	struct app *a = ctx;
	char key[STORAGE_KEY_MAX + 1];
	snprintf(key, sizeof(key), "%s/%s/files/rdf.yaml", concept_id, version);
	return storage_get_buffer(a->storage, key, (size_t)a->cfg->max_yaml_bytes, out, len_out, err);
}

/* Writes key unless storage already holds exactly these bytes (when cold: compared by
 * reading it back; when warm the caller knows). The index files are derived from the
 * database, so they are written atomically but without an fsync each: the rebuild ends
 * with one storage_sync. */
static int put_if_changed(struct app *a, const char *key, const char *data, size_t len, int check,
			  int *wrote, struct bo_error *err)
{
	*wrote = 0;
	if (check) {
		char *old = NULL;
		size_t olen = 0;
		struct bo_error e2 = BO_ERROR_INIT;
		int rc = storage_get_buffer(a->storage, key, COLLECTION__INDEX_MAX_BYTES, &old, &olen, &e2);
		int same = !rc && olen == len && !memcmp(old, data, len);
		free(old);
		bo_error_cleanup(&e2);
		if (same)
			return 0;
	}
	*wrote = 1;
	return storage_put_buffer_nosync(a->storage, key, data, len, "application/json", err);
}

/* The versions.json writes run on a few threads: each is a small object whose cost is
 * the storage round trip (an fsync, an S3 request), so a full build's 10,000 of them
 * overlap instead of queueing. */
#define WRITERS 8

struct writers {
	struct app *a;
	struct collection__memo *memo;
	size_t n, next;
	int check, written, rc;
	struct bo_error err;
	pthread_mutex_t lock;
};

static void *writer_main(void *arg)
{
	struct writers *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (w->next < w->n && !w->memo[w->next].changed)
			w->next++;
		size_t i = w->next++;
		int stop = w->rc || i >= w->n;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			return NULL;
		char key[STORAGE_KEY_MAX + 1];
		struct bo_error e = BO_ERROR_INIT;
		int wrote = 0;
		snprintf(key, sizeof(key), "%s/versions.json", w->memo[i].id);
		int rc = put_if_changed(w->a, key, w->memo[i].versions, strlen(w->memo[i].versions), w->check, &wrote, &e);
		pthread_mutex_lock(&w->lock);
		w->written += wrote;
		if (rc && !w->rc) {
			w->rc = rc;
			bo_error_move(&w->err, &e, rc);
		}
		pthread_mutex_unlock(&w->lock);
		bo_error_cleanup(&e);
	}
}

static int write_versions(struct app *a, struct collection__memo *memo, size_t n, int check, int *written, struct bo_error *err)
{
	struct writers w = {.a = a, .memo = memo, .n = n, .check = check, .err = BO_ERROR_INIT};
	pthread_t th[WRITERS];
	size_t changed = 0, nth = 0;
	for (size_t i = 0; i < n; i++)
		changed += memo[i].changed != 0;
	pthread_mutex_init(&w.lock, NULL);
	/* one change (the usual publish): no threads */
	size_t want = changed < 2 ? 0 : changed < WRITERS ? changed : WRITERS;
	for (; nth < want; nth++)
		if (pthread_create(&th[nth], NULL, writer_main, &w))
			break;
	writer_main(&w);
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&w.lock);
	*written = w.written;
	int rc = w.rc;
	bo_error_move(w.rc ? err : NULL, &w.err, w.rc);
	return rc;
}

/* The second thread of a rebuild: the digest of collection.json when it changed, then
 * its history commit (the other digests are the writing thread's, which is otherwise
 * done first). */
struct side {
	const char *history_dir;
	void *load_ctx;
	const struct collection__outputs *o;
	const struct history_rdf *listed;
	size_t nlisted;
	const char *message;
	history_cache **cache;
	int todo[NFILES];       /* bytes differ from the cache: digest and write */
	char sha[NFILES][65];   /* every file's digest once done */
	char history_sha[65];   /* collection.json as last committed */
	int committed, rc;
	double hash_ms, history_ms;
	struct bo_error err;
};

static void *side_main(void *arg)
{
	struct side *sd = arg;
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sd->todo[F_COLLECTION])
		hex_sha256(sd->sha[F_COLLECTION], sd->o->f[F_COLLECTION].p, sd->o->f[F_COLLECTION].len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* one commit per change of collection.json (history_commit also compares with its
	 * tip, so a cold start does not commit the same bytes twice) */
	if (strcmp(sd->history_sha, sd->sha[F_COLLECTION]))
		sd->rc = history_commit_cached(sd->history_dir, sd->o->f[F_COLLECTION].p, sd->o->f[F_COLLECTION].len,
					       sd->listed, sd->nlisted, load_rdf, sd->load_ctx, sd->message, &sd->committed,
					       sd->cache, &sd->err);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	sd->hash_ms = ms_between(t0, t1);
	sd->history_ms = ms_between(t1, t2);
	return NULL;
}

/* ------------------------------------------------------------------ rebuild */

/* One rebuild, between its steps. */
struct rebuild {
	struct app *a;
	collection *co;
	struct collection__outputs o;
	struct side sd;
	struct history_rdf *listed; /* the RDFs collection.json lists, for the history */
	int nwritten, nversions;    /* index files and versions.json files written */
	struct timespec t0, tb, tj, ts, tw, t1;
};

/* What the second thread needs: which files differ from the cache, what the history
 * last committed, and the RDFs the new collection.json lists. */
static int side_prepare(struct rebuild *r, const char *reason, struct bo_error *err)
{
	collection *co = r->co;
	struct side *sd = &r->sd;
	*sd = (struct side){.history_dir = r->a->cfg->history_dir, .load_ctx = r->a, .o = &r->o,
			    .message = reason && *reason ? reason : "rebuild", .cache = &co->history,
			    .err = BO_ERROR_INIT};
	for (int i = 0; i < NFILES; i++) {
		/* The cached bytes are what storage holds (we wrote or loaded them): equal bytes
		 * need neither a write nor a digest. */
		collection_blob *cur = collection__cache_take(co->cache, i, 1);
		size_t len = 0;
		const char *data = cur ? collection_blob_data(cur, &len) : NULL;
		int same = cur && len == r->o.f[i].len && !memcmp(data, r->o.f[i].p, len);
		if (same)
			snprintf(sd->sha[i], sizeof(sd->sha[i]), "%.64s", collection_blob_etag(cur) + 1);
		collection_blob_release(cur);
		sd->todo[i] = !same;
	}
	memcpy(sd->history_sha, co->history_sha, sizeof(sd->history_sha));
	r->listed = calloc(r->o.nmemo + 1, sizeof(*r->listed));
	if (!r->listed)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->o.nmemo; i++)
		if (r->o.memo[i].version)
			r->listed[sd->nlisted++] = (struct history_rdf){r->o.memo[i].id, r->o.memo[i].version};
	sd->listed = r->listed;
	return 0;
}

/* Writes what changed and digests it, while the second thread commits to the history. */
static int write_all(struct rebuild *r, struct bo_error *err)
{
	struct side *sd = &r->sd;
	int cold = !r->co->warm, rc;
	pthread_t th;
	/* The history commit (and the digest of collection.json it needs) runs on a second
	 * thread while this one writes the files and digests the others: both only read o,
	 * and storage is thread-safe. Should a write fail after the commit, the retried rebuild writes the
	 * same bytes and history_commit finds them at its tip, so no commit is doubled. */
	int threaded = !pthread_create(&th, NULL, side_main, sd);
	if (!threaded)
		side_main(sd);
	rc = write_versions(r->a, r->o.memo, r->o.nmemo, cold, &r->nversions, err);
	for (int i = 0; !rc && i < NFILES; i++) {
		int wrote = 0;
		if (sd->todo[i])
			rc = put_if_changed(r->a, collection_files[i], r->o.f[i].p, r->o.f[i].len, cold, &wrote, err);
		r->nwritten += wrote;
	}
	for (int i = 0; !rc && i < NFILES; i++)
		if (sd->todo[i] && i != F_COLLECTION)
			hex_sha256(sd->sha[i], r->o.f[i].p, r->o.f[i].len);
	clock_gettime(CLOCK_MONOTONIC, &r->tj);
	if (threaded)
		pthread_join(th, NULL);
	if (!rc && sd->rc)
		rc = bo_error_move(err, &sd->err, sd->rc);
	bo_error_cleanup(&sd->err);
	return rc;
}

/* The serving cache takes the new bytes of every file written, with storage's ETag. */
static int cache_refresh(struct rebuild *r, struct bo_error *err)
{
	for (int i = 0; i < NFILES; i++) {
		if (!r->sd.todo[i])
			continue;
		struct storage_stat st;
		const struct buf *f = &r->o.f[i];
		int rc = storage_head(r->a->storage, collection_files[i], &st, err);
		if (!rc)
			rc = collection__cache_put(r->co->cache, i, f->p, f->len, r->sd.sha[i], st.etag, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* This build becomes the last one: its memo (the next build starts from it), the
 * digest the history holds, and its sizes. */
static void adopt(struct rebuild *r)
{
	collection *co = r->co;
	memcpy(co->history_sha, r->sd.sha[F_COLLECTION], sizeof(co->history_sha));
	collection__memo_clear(co->memo, co->nmemo);
	co->memo = r->o.memo;
	co->nmemo = r->o.nmemo;
	r->o.memo = NULL;
	r->o.nmemo = 0;
	co->warm = 1;
	for (int i = 0; i < NFILES; i++)
		co->sizes[i] = r->o.f[i].len;
	co->sizes[NFILES] = r->o.entries.len;
}

static void log_rebuild(const struct rebuild *r, const char *reason)
{
	log_info("collection rebuilt in %.1f ms (build %.1f, write and digests %.1f, wait for history %.1f, sync "
		 "%.1f; on a second thread from the write on: collection.json digest %.1f + history %.1f): %zu "
		 "concepts, %d index file(s) and %d versions.json written, %s (%s)",
		 ms_between(r->t0, r->t1), ms_between(r->t0, r->tb), ms_between(r->tb, r->tj), ms_between(r->tj, r->ts),
		 ms_between(r->ts, r->tw), r->sd.hash_ms, r->sd.history_ms, r->co->nmemo, r->nwritten, r->nversions,
		 r->sd.committed ? "history committed" : "history unchanged", reason && *reason ? reason : "rebuild");
}

int collection_rebuild(struct app *a, const char *reason, struct bo_error *err)
{
	collection *co = a->collection;
	struct rebuild r = {.a = a, .co = co, .sd = {.err = BO_ERROR_INIT}};
	int rc;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	pthread_mutex_lock(&co->build_lock);
	rc = collection__build(a, &r.o, err);
	clock_gettime(CLOCK_MONOTONIC, &r.tb);
	if (!rc)
		rc = side_prepare(&r, reason, err);
	if (!rc)
		rc = write_all(&r, err);
	if (!rc)
		rc = cache_refresh(&r, err);
	clock_gettime(CLOCK_MONOTONIC, &r.ts);
	if (!rc && (r.nwritten || r.nversions))
		rc = storage_sync(a->storage, err);
	clock_gettime(CLOCK_MONOTONIC, &r.tw);
	if (!rc) {
		adopt(&r);
		clock_gettime(CLOCK_MONOTONIC, &r.t1);
		log_rebuild(&r, reason);
	} else {
		/* the build moved parts out of the memo: start the next build cold */
		collection__memo_clear(co->memo, co->nmemo);
		co->memo = NULL;
		co->nmemo = 0;
		co->warm = 0;
	}
	pthread_mutex_unlock(&co->build_lock);
	collection__outputs_clear(&r.o);
	free(r.listed);
	return rc;
}

/* ------------------------------------------------------------------ the job */

int collection_job_run(void *ctx, const struct job *job, struct bo_error *err)
{
	struct app *a = ctx;
	struct buf msg = {.max = COLLECTION__INDEX_MAX_BYTES};
	cJSON *p = cJSON_Parse(job->payload_json ? job->payload_json : "{}");
	const cJSON *r;
	int n = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(p, "reasons"))
	{
		if (!cJSON_IsString(r))
			continue;
		if (n++)
			buf_add(&msg, "\n");
		buf_add(&msg, r->valuestring);
	}
	const cJSON *more = cJSON_GetObjectItemCaseSensitive(p, "more");
	if (cJSON_IsNumber(more) && more->valuedouble > 0) {
		char line[64];
		snprintf(line, sizeof(line), "\n(and %.0f more changes)", more->valuedouble);
		buf_add(&msg, line);
	}
	cJSON_Delete(p);
	int rc = msg.failed ? bo_error_set(err, BO_ENOMEM, "out of memory")
			 : collection_rebuild(a, msg.p && *msg.p ? msg.p : "rebuild", err);
	free(msg.p);
	return rc;
}

int collection_check_url_root(struct app *a, struct bo_error *err)
{
	char *text = NULL, want[4096];
	size_t len = 0;
	snprintf(want, sizeof(want), "%s/", a->cfg->files_url);
	int rc = storage_get_buffer(a->storage, "collection.json", (size_t)1 << 30, &text, &len, err);
	if (rc == BO_ENOTFOUND) {
		bo_error_cleanup(err);
		return 0;
	}
	if (rc)
		return rc;
	cJSON *doc = cJSON_ParseWithLength(text, len);
	free(text);
	const char *have =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "config"), "url_root"));
	if (have && strcmp(have, want))
		rc = bo_error_set(err, BO_ECONFLICT,
				  "collection.json was built with url_root %.900s, and this configuration would rewrite every "
				  "URL to %.900s: give the server's configuration (the env file, BO_PUBLIC_URL, BO_FILES_URL), "
				  "or --new-url to change them on purpose",
				  have, want);
	cJSON_Delete(doc);
	return rc;
}

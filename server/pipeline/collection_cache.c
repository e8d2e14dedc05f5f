/* collection_cache: the bytes of the index files as the server serves them, with a
 * strong ETag, kept in memory and shared by reference between readers and the rebuild
 * that replaces them. Invariant: a cached blob holds what storage held (or was written)
 * when storage_etag was current; a blob unconfirmed for CACHE_CHECK_SECONDS is checked
 * against storage again, so a file replaced by another process (`backoffice rebuild`)
 * is served within that time. */
#include "pipeline/collection.h"
#include "pipeline/collection_internal.h"

#include "app.h"
#include "common/error.h"
#include "common/hex.h"
#include "infra/storage.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long the serving cache trusts its bytes before asking storage whether another
 * process replaced the file. */
#define CACHE_CHECK_SECONDS 2

struct collection_blob {
	char *data;
	size_t len;
	char etag[68];          /* "\"" + sha256 hex + "\"" */
	char storage_etag[128]; /* what storage_head said when these bytes were current */
	int64_t refs;           /* under *lock */
	pthread_mutex_t *lock;  /* the owning cache's lock */
	time_t checked;         /* last time storage was asked (monotonic seconds) */
};

struct collection__cache {
	pthread_mutex_t lock; /* blobs and their refs */
	collection_blob *blobs[NFILES];
};

static time_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ------------------------------------------------------------------ lifetime */

int collection__cache_create(collection__cache **out, struct bo_error *err)
{
	collection__cache *c = calloc(1, sizeof(*c));
	if (!c)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void blob_unref(collection_blob *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

void collection__cache_free(collection__cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < NFILES; i++)
		blob_unref(c->blobs[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ------------------------------------------------------------------ blobs */

static collection_blob *blob_new(const char *data, size_t len, const char *hex, const char *storage_etag)
{
	collection_blob *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->data = malloc(len + 1);
	if (!b->data) {
		free(b);
		return NULL;
	}
	memcpy(b->data, data, len);
	b->data[len] = '\0';
	b->len = len;
	snprintf(b->etag, sizeof(b->etag), "\"%s\"", hex);
	snprintf(b->storage_etag, sizeof(b->storage_etag), "%s", storage_etag ? storage_etag : "");
	b->refs = 1;
	b->checked = now_mono();
	return b;
}

/* Drops one reference; the last one frees. Caller holds the cache's lock. */
static void blob_put_locked(collection_blob *b)
{
	if (b && --b->refs == 0)
		blob_unref(b);
}

static void cache_set(collection__cache *c, int i, collection_blob *b)
{
	b->lock = &c->lock;
	pthread_mutex_lock(&c->lock);
	collection_blob *old = c->blobs[i];
	c->blobs[i] = b;
	blob_put_locked(old);
	pthread_mutex_unlock(&c->lock);
}

const char *collection_blob_data(const collection_blob *b, size_t *len_out)
{
	*len_out = b->len;
	return b->data;
}

const char *collection_blob_etag(const collection_blob *b)
{
	return b->etag;
}

void collection_blob_release(collection_blob *b)
{
	if (!b)
		return;
	pthread_mutex_t *m = b->lock;
	pthread_mutex_lock(m);
	blob_put_locked(b);
	pthread_mutex_unlock(m);
}

/* ------------------------------------------------------------------ the cache */

collection_blob *collection__cache_take(collection__cache *c, int i, int any_age)
{
	collection_blob *b = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->blobs[i] && (any_age || now_mono() - c->blobs[i]->checked < CACHE_CHECK_SECONDS)) {
		b = c->blobs[i];
		b->refs++;
	}
	pthread_mutex_unlock(&c->lock);
	return b;
}

int collection__cache_put(collection__cache *c, int i, const char *data, size_t len, const char *sha_hex,
			  const char *storage_etag, struct bo_error *err)
{
	collection_blob *b = blob_new(data, len, sha_hex, storage_etag);
	if (!b)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	cache_set(c, i, b);
	return 0;
}

/* A new reference to the cached blob when storage still holds its bytes (storage_etag
 * unchanged; it is then trusted for CACHE_CHECK_SECONDS again), else NULL. */
static collection_blob *cache_confirm(collection__cache *c, int i, const char *storage_etag)
{
	collection_blob *b = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->blobs[i] && !strcmp(c->blobs[i]->storage_etag, storage_etag)) {
		c->blobs[i]->checked = now_mono();
		c->blobs[i]->refs++;
		b = c->blobs[i];
	}
	pthread_mutex_unlock(&c->lock);
	return b;
}

static int file_index(const char *name)
{
	for (int i = 0; i < NFILES; i++)
		if (!strcmp(collection_files[i], name))
			return i;
	return -1;
}

int collection_get(struct app *a, const char *name, collection_blob **out, struct bo_error *err)
{
	collection__cache *c = a->collection->cache;
	struct storage_stat st;
	char *data = NULL;
	size_t len = 0;
	int i = file_index(name), rc;
	if (i < 0)
		return bo_error_set(err, BO_ENOTFOUND, "%s is not a collection file", name);
	*out = collection__cache_take(c, i, 0);
	if (*out)
		return 0;
	rc = storage_head(a->storage, name, &st, err);
	if (rc == BO_ENOTFOUND) {
		/* Nothing built yet (a fresh data directory): build once, from the database. */
		bo_error_cleanup(err);
		rc = collection_rebuild(a, "initial build", err);
		if (rc)
			return rc;
		*out = collection__cache_take(c, i, 1);
		return *out ? 0 : bo_error_set(err, BO_EINTERNAL, "%s was built but is not cached", name);
	}
	if (rc)
		return rc;
	*out = cache_confirm(c, i, st.etag);
	if (*out)
		return 0;
	/* Replaced by another process (the `rebuild` command): load the new bytes. */
	rc = storage_get_buffer(a->storage, name, COLLECTION__INDEX_MAX_BYTES, &data, &len, err);
	if (rc)
		return rc;
	char hex[65];
	hex_sha256(hex, data, len);
	collection_blob *b = blob_new(data, len, hex, st.etag);
	free(data);
	if (!b)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	b->refs++; /* the caller's */
	cache_set(c, i, b);
	*out = b;
	return 0;
}

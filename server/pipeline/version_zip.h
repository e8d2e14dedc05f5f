/* version_zip: a published version's files as one zip, the package a visitor downloads
 * (GET /api/v1/resources/{id}/versions/{version}/package.zip) and the package.zip the
 * archive job deposits on Zenodo — one builder, so both are the same bytes. */
#ifndef BO_VERSION_ZIP_H
#define BO_VERSION_ZIP_H

#include <stddef.h>

struct app;
struct bo_error;
struct cJSON;

/* Writes the files named by paths (a JSON array of strings, relative to
 * <id>/<version>/files/) into a new zip at zip_path: stored, not compressed (weights do not
 * shrink, and the bytes come out as they went in), every entry dated 1980-01-01 so a
 * version's zip is always the same bytes. Each file passes through a temp file in
 * a->tmp_dir, removed before returning. sha (may be NULL) receives the zip's SHA-256 in
 * hex; tick (may be NULL) is called with tick_ctx after each file (a job's heartbeat).
 * Returns 0, or BO_ENOTFOUND / BO_ESTORAGE… from storage, BO_EINTERNAL (libzip, temp
 * files) or BO_ENOMEM. zip_path is left for the caller to remove in every case. */
int version_zip_build(const struct app *a, const char *id, const char *version, const struct cJSON *paths,
		      const char *zip_path, char sha[65], void (*tick)(const void *), const void *tick_ctx, struct bo_error *err);

/* A new empty temp file in a->tmp_dir named <prefix>-XXXXXX; its path into out. Returns 0
 * or BO_EINTERNAL. */
int version_zip_temp(const struct app *a, const char *prefix, char *out, size_t n, struct bo_error *err);

#endif

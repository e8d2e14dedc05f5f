/* version_zip: see version_zip.h. Moved here from archive (build_package) so the download
 * route and the Zenodo deposit share it. */
#include "pipeline/version_zip.h"

#include "app.h"
#include "common/error.h"
#include "common/hex.h"
#include "infra/storage.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#define KEY_MAX 2048
#define TMP_PATH_MAX 4096
/* 1980-01-01, the first DOS date: a fixed time makes a version's zip the same bytes */
#define ZIP_TIME ((time_t)315532800)

static int oom(struct bo_error *err) { return bo_error_set(err, BO_ENOMEM, "out of memory"); }

int version_zip_temp(const struct app *a, const char *prefix, char *out, size_t n, struct bo_error *err)
{
	snprintf(out, n, "%s/%s-XXXXXX", a->tmp_dir, prefix);
	int fd = mkstemp(out);
	if (fd < 0)
		return bo_error_set(err, BO_EINTERNAL, "cannot create a temp file in %s", a->tmp_dir);
	close(fd);
	return 0;
}

static int file_sha256(const char *path, char sha[65], struct bo_error *err)
{
	FILE *fp = fopen(path, "rb");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], d[32];
	unsigned int dl = 0;
	size_t got;
	int rc = 0;
	if (!fp || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read back the package zip");
	while (!rc && (got = fread(buf, 1, sizeof(buf), fp)) > 0)
		EVP_DigestUpdate(md, buf, got);
	if (!rc && (ferror(fp) || EVP_DigestFinal_ex(md, d, &dl) != 1))
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read back the package zip");
	if (!rc)
		hex_encode(sha, d, 32);
	if (fp)
		fclose(fp);
	EVP_MD_CTX_free(md);
	return rc;
}

int version_zip_build(const struct app *a, const char *id, const char *version, const cJSON *paths,
		      const char *zip_path, char sha[65], void (*tick)(const void *), const void *tick_ctx, struct bo_error *err)
{
	int n = cJSON_GetArraySize(paths), zerr = 0, rc = 0;
	/* libzip reads each source when the archive is closed: the temp files live till then */
	char(*tmp)[TMP_PATH_MAX] = calloc((size_t)(n ? n : 1), sizeof(*tmp));
	zip_t *za = tmp ? zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr) : NULL;
	if (!za) {
		free(tmp);
		return tmp ? bo_error_set(err, BO_EINTERNAL, "cannot create the package zip %s (libzip error %d)", zip_path, zerr)
			   : oom(err);
	}
	int i = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, paths)
	{
		char key[KEY_MAX];
		if (!cJSON_IsString(f) || !f->valuestring) {
			rc = bo_error_set(err, BO_EINTERNAL, "a file path of %s/%s is not a string", id, version);
			break;
		}
		snprintf(key, sizeof(key), "%s/%s/files/%s", id, version, f->valuestring);
		rc = version_zip_temp(a, "package", tmp[i], sizeof(tmp[i]), err);
		if (rc)
			break;
		i++;
		rc = storage_get_file(a->storage, key, tmp[i - 1], err);
		if (rc)
			break;
		zip_source_t *src = zip_source_file(za, tmp[i - 1], 0, -1);
		zip_int64_t idx = src ? zip_file_add(za, f->valuestring, src, ZIP_FL_ENC_UTF_8) : -1;
		if (idx < 0) {
			if (src)
				zip_source_free(src);
			rc = bo_error_set(err, BO_EINTERNAL, "cannot add %s to the package zip: %s", f->valuestring,
					  zip_strerror(za));
			break;
		}
		zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
		zip_file_set_mtime(za, (zip_uint64_t)idx, ZIP_TIME, 0);
		if (tick)
			tick(tick_ctx);
	}
	if (rc) {
		zip_discard(za);
	} else if (zip_close(za) != 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot write the package zip: %s", zip_strerror(za));
		zip_discard(za);
	}
	for (int k = 0; k < i; k++)
		unlink(tmp[k]);
	free(tmp);
	if (!rc && sha)
		rc = file_sha256(zip_path, sha, err);
	return rc;
}

/* upload: taking a package in. Everything that can be checked at once is checked
 * before answering (zip structure and limits, RDF present, parseable and valid as far
 * as it can be judged without its files, type, id,
 * permission, drafts in flight); then the package is kept in DATA_DIR/incoming, the
 * draft row, its event and its stage job are written in one transaction, and the
 * caller answers 202. */
#ifndef BO_UPLOAD_H
#define BO_UPLOAD_H

#include <stdint.h>

struct app;
struct auth_user;
struct bo_error;
struct cJSON;

struct upload_request {
	const struct auth_user *user;
	const char *package_path; /* a temp file; renamed into incoming/ on success */
	uint64_t size;
	const char *sha256;       /* hex */
	const char *concept_id;   /* ?id= or the form's id field; NULL = from the RDF or new */
	const char *source;       /* "zip", "multipart" or the URL, for the events log */
};

/* Accepts the package. On success *out is the 202 body {id, id_emoji, revision, status,
 * links, job} (caller cJSON_Delete). Errors: BO_EINVALIDPACKAGE, BO_ETOOLARGE,
 * BO_EINVALIDRDF (with errors[] carrying loc/line/column; when static validation without
 * the package's files failed, err->extra has the whole summary as "validation"), BO_EINVALIDID (with a
 * "suggestion" in err->extra), BO_EIDTAKEN, BO_ECONFLICT (draft accepted), BO_ETOOMANY,
 * BO_EDATABASE, BO_ESTORAGE. On failure the package file is left for the caller. */
int upload_accept(struct app *a, const struct upload_request *req, struct cJSON **out,
		  struct bo_error *err);

/* Fetches url (http or https only, redirects limited to http/https, no loopback/private
 * addresses unless cfg->fetch_allow_private, cfg->fetch_timeout,
 * at most cfg->max_upload_bytes) into a temp file in tmp_dir, with SHA-256.
 * *path_out is malloc'd (caller unlinks and frees). BO_EBADREQUEST for a bad URL,
 * BO_ETOOLARGE, BO_EFETCH for network errors and HTTP statuses >= 400. */
int upload_fetch(struct app *a, const char *url, char **path_out, uint64_t *size_out,
		 char *sha256_hex, struct bo_error *err);

#endif

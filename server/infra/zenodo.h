/* zenodo: a client of Zenodo's legacy deposit API (libcurl) and the pure pieces the
 * archive job builds on: error parsing, deposition metadata from an RDF,
 * and a small, escaping markdown-to-HTML renderer for the description. */
#ifndef BO_ZENODO_H
#define BO_ZENODO_H

#include <stddef.h>

struct bo_error;
struct cJSON;
struct config;

typedef struct zenodo zenodo;

#define ZENODO_ERRORS_MAX 8

/* Zenodo's error body {status, message, errors: [{field, message|messages}]}. */
struct zenodo_error {
	long status;
	char message[256];
	int nerrors;
	struct {
		char field[128];
		char message[256];
	} errors[ZENODO_ERRORS_MAX];
};

/* Parses an error body (any bytes; not JSON gives message = the first line of the body,
 * cut). status is the HTTP status; a status in the body does not override it. At most
 * ZENODO_ERRORS_MAX field errors are kept. Never fails. */
void zenodo_error_parse(long status, const char *body, size_t len, struct zenodo_error *out);
/* One line: "HTTP 400: Validation error. (metadata.creators: Missing data; …)". */
void zenodo_error_format(const struct zenodo_error *e, char *buf, size_t n);

/* Creates a client from cfg (zenodo_url, zenodo_token, zenodo_timeout, zenodo_retries,
 * zenodo_max_wait). An empty token is BO_EBADREQUEST. *out is freed with zenodo_free. */
int zenodo_open(zenodo **out, const struct config *cfg, struct bo_error *err);
void zenodo_free(zenodo *z);

/* One JSON request with httpc's retries (408, 429, 5xx, dropped connections, timeouts;
 * 429 waits for X-RateLimit-Reset or Retry-After, 503 for Retry-After, up to zenodo_max_wait).
 * url_or_path is absolute (a link Zenodo gave) or a path under the base URL. body may
 * be NULL (no body). On 2xx returns 0, *status_out = the status, *json_out the parsed body
 * (NULL for an empty body; caller cJSON_Delete). Otherwise zerr (may be NULL) holds
 * Zenodo's error and the return is BO_ENOTFOUND (404), BO_EUNAUTHORIZED (401),
 * BO_EFORBIDDEN (403), BO_EBADREQUEST (another 4xx: Zenodo's message in err — retrying
 * will not help) or BO_EFETCH (5xx, 429 or transport errors after the retries). The
 * token is sent as Authorization: Bearer, never in the URL. Responses above 16 MiB are
 * BO_EFETCH. */
int zenodo_call(zenodo *z, const char *method, const char *url_or_path, const struct cJSON *body,
		long *status_out, struct cJSON **json_out, struct zenodo_error *zerr, struct bo_error *err);

/* Streams the local file path into the deposition bucket as key (PUT {bucket_url}/{key},
 * each '/'-separated segment percent-encoded, the '/' kept), with the same retries,
 * computing the MD5 of the bytes sent and comparing it with the "checksum": "md5:…" of
 * the reply (a mismatch is BO_EFETCH). Memory is bounded (the file is read in chunks).
 * Returns 0 or the codes of zenodo_call, BO_EINTERNAL when path is unreadable. */
int zenodo_upload(zenodo *z, const char *bucket_url, const char *key, const char *path, struct bo_error *err);

/* Whether Zenodo knows license id (GET /api/vocabularies/licenses/{id}; the legacy
 * /api/licenses/{id} when the vocabulary endpoint is absent). *known_out = 1 or 0.
 * Returns 0 or a zenodo_call error other than BO_ENOTFOUND. */
int zenodo_license_known(zenodo *z, const char *id, int *known_out, struct bo_error *err);

/* Zenodo's license vocabulary id for an SPDX id: lowercase ("CC-BY-4.0" -> "cc-by-4.0").
 * Returns 0, or BO_EBADREQUEST when spdx is empty, longer than n-1 or holds characters
 * other than letters, digits, '.', '-', '+'. */
int zenodo_license_id(const char *spdx, char *out, size_t n, struct bo_error *err);

/* "Family, Given" from "Given Family" (split at the last space; a name that already
 * holds a comma or is one word is kept). Writes at most n-1 bytes. */
void zenodo_creator_name(const char *name, char *out, size_t n);

/* Renders markdown to HTML safely: every character of the input is escaped, and only
 * ATX headings, paragraphs, '-'/'*'/'1.' lists, fenced and `inline` code, **bold**,
 * *emphasis* and [links](http(s)://…) become tags (other link targets stay text).
 * Returns a malloc'd string (caller frees) or NULL on allocation failure. */
char *zenodo_markdown_html(const char *md, size_t len);

/* What the deposition metadata is built from. Strings are borrowed. */
struct zenodo_meta_input {
	const struct cJSON *rdf;   /* the published RDF (JSON) */
	const char *id;            /* the concept id */
	const char *version;       /* the version string */
	const char *documentation; /* the documentation markdown, NULL when none */
	size_t documentation_len;
	const char *page_url;      /* e.g. https://bioimage.io/#/?id=<id> */
	const char *files_url;     /* base URL of stored objects: <files_url>/<id>/<version>/files/<path> */
	const char *license_id;    /* the checked vocabulary id */
	const char *publication_date; /* YYYY-MM-DD */
	const char *package_name;  /* the deposited package zip, with its SHA-256: NULL = none */
	const char *package_sha256;
};

/* The {"metadata": {...}} body of the metadata PUT: title "bioimage.io upload: <id>",
 * upload_type (dataset for datasets, software otherwise), creators from authors
 * ({name "Family, Given", affiliation, orcid}), description (documentation as HTML, or the
 * RDF description escaped), keywords (backup.bioimage.io, bioimage.io,
 * bioimage.io:<type>, then the tags), notes, license, related_identifiers (page,
 * covers, documentation), publication_date, version. Returns 0, BO_EINVALIDRDF when the
 * RDF has no authors with a name (a creator is required) or BO_ENOMEM. */
int zenodo_metadata(const struct zenodo_meta_input *in, struct cJSON **out, struct bo_error *err);

#endif

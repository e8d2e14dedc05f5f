/* sigv4: AWS Signature Version 4 for S3 (Authorization header and presigned URLs).
 * Pure functions: no network, no clock (the time is passed in), no global state, so
 * they are thread-safe and the tests are deterministic. Paths and query parameters are
 * given raw (unencoded); the signer encodes them per the AWS rules, and the caller
 * builds its URL with sigv4_uri_encode/sigv4_canonical_query so that what is sent is
 * exactly what was signed. */
#ifndef BO_SIGV4_H
#define BO_SIGV4_H

#include <stddef.h>
#include <time.h>

struct bo_error;

/* A name/value pair (query parameter or header). Strings are borrowed. */
struct sigv4_kv {
	const char *name;
	const char *value;
};

/* Who signs and for what scope. All strings borrowed; service is "s3" for us. */
struct sigv4_credentials {
	const char *access_key;
	const char *secret_key;
	const char *region;
	const char *service;
};

/* The request to sign. Everything borrowed. */
struct sigv4_request {
	const char *method;  /* "GET", "PUT", ... */
	const char *path;    /* raw absolute path, "/bucket/a b/ü.txt"; encoded by the signer */
	const struct sigv4_kv *query; /* raw, any order; "uploads" is {"uploads", ""} */
	size_t nquery;
	/* Headers to sign, any case and order; must contain "host". Must not contain
	 * x-amz-date or x-amz-content-sha256: the signer adds those two itself. */
	const struct sigv4_kv *headers;
	size_t nheaders;
	const char *payload_hash; /* lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
};

#define SIGV4_AUTH_MAX 2048
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The three header values the caller must send with the request. */
struct sigv4_signature {
	char authorization[SIGV4_AUTH_MAX]; /* "AWS4-HMAC-SHA256 Credential=..., Signature=..." */
	char amz_date[17];                  /* x-amz-date: "20240102T030405Z" */
	char content_sha256[65];            /* x-amz-content-sha256: the payload_hash given */
};

/* Signs req at time now. Returns 0, BO_EBADREQUEST (missing host, a forbidden header,
 * payload_hash not 64 hex digits nor UNSIGNED-PAYLOAD, a result longer than
 * SIGV4_AUTH_MAX) or BO_ENOMEM. out is filled only on success. */
int sigv4_sign(struct sigv4_signature *out, const struct sigv4_request *req,
	       const struct sigv4_credentials *cred, time_t now, struct bo_error *err);

/* The canonical request for req with the x-amz-date value amz_date (what sigv4_sign
 * hashes; exposed for tests and debugging). *out is malloc'd (caller frees). Returns 0,
 * BO_EBADREQUEST or BO_ENOMEM. */
int sigv4_canonical_request(char **out, const struct sigv4_request *req, const char *amz_date,
			    struct bo_error *err);

/* A presigned URL: endpoint ("http(s)://host[:port]", no trailing path) + encoded path +
 * the X-Amz-* query (SignedHeaders=host, UNSIGNED-PAYLOAD), valid for expires seconds
 * (1..604800) from now, plus n_extra (at most SIGV4_PRESIGN_EXTRA_MAX) signed query
 * parameters such as S3's response-content-disposition. The signed host is the endpoint's authority without a default
 * port (:80 for http, :443 for https), as HTTP clients send it. *url_out is malloc'd.
 * Returns 0, BO_EBADREQUEST (bad endpoint or expires) or BO_ENOMEM. */
#define SIGV4_PRESIGN_EXTRA_MAX 4
int sigv4_presign(char **url_out, const struct sigv4_credentials *cred, const char *method,
		  const char *endpoint, const char *path, int expires, time_t now,
		  const struct sigv4_kv *extra, size_t n_extra, struct bo_error *err);

/* Percent-encodes s as SigV4 wants: bytes outside A-Z a-z 0-9 - _ . ~ become %XX
 * (uppercase hex); '/' is kept when keep_slash. *out is malloc'd. 0 or BO_ENOMEM. */
int sigv4_uri_encode(char **out, const char *s, int keep_slash, struct bo_error *err);

/* The canonical query string of n raw parameters: each name and value encoded, sorted
 * by name then value, joined with '&', "name=" for an empty value. "" when n == 0.
 * *out is malloc'd. 0 or BO_ENOMEM. */
int sigv4_canonical_query(char **out, const struct sigv4_kv *query, size_t n,
			  struct bo_error *err);

/* Host header value for an endpoint URL ("http://h:80/..." -> "h"); writes at most
 * len bytes. Returns 0 or BO_EBADREQUEST (not http(s)://, empty or too long host). */
int sigv4_endpoint_host(char *buf, size_t len, const char *endpoint, struct bo_error *err);

/* Lowercase hex SHA-256 of data into hex[65]. */
void sigv4_sha256_hex(char hex[65], const void *data, size_t len);

#endif

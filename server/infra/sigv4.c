/* sigv4: AWS Signature Version 4 (header and presigned-URL forms) for S3.
 * Invariant: the canonical request is built only from the raw inputs, with every path
 * segment and query component encoded here, so callers that build their URLs with the
 * same encoders send exactly the bytes that were signed. No clock, no globals. */
#include "infra/sigv4.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/hex.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static void sb_encode(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p) || (keep_slash && *p == '/')) {
			buf_addn(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_addn(b, e, 3);
		}
	}
}

void sigv4_sha256_hex(char hex[65], const void *data, size_t len) { hex_sha256(hex, data, len); }

int sigv4_uri_encode(char **out, const char *s, int keep_slash, struct bo_error *err)
{
	struct buf b = {0};
	buf_add(&b, "");
	sb_encode(&b, s, keep_slash);
	if (b.failed) {
		free(b.p);
		return bo_error_set(err, BO_ENOMEM, "out of memory encoding a URI");
	}
	*out = b.p;
	return 0;
}

/* ---- canonical query --------------------------------------------------------- */

struct enc_kv {
	char *name;
	char *value;
};

static int cmp_enc_kv(const void *a, const void *b)
{
	const struct enc_kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

int sigv4_canonical_query(char **out, const struct sigv4_kv *query, size_t n,
			  struct bo_error *err)
{
	int rc = BO_ENOMEM;
	struct buf b = {0};
	struct enc_kv *kv = calloc(n ? n : 1, sizeof(*kv));
	if (!kv)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (sigv4_uri_encode(&kv[i].name, query[i].name, 0, NULL) ||
		    sigv4_uri_encode(&kv[i].value, query[i].value ? query[i].value : "", 0, NULL))
			goto fail;
	}
	/* AWS sorts by the encoded names (byte order), then values for repeated names. */
	qsort(kv, n, sizeof(*kv), cmp_enc_kv);
	buf_add(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_add(&b, "&");
		buf_add(&b, kv[i].name);
		buf_add(&b, "=");
		buf_add(&b, kv[i].value);
	}
	if (b.failed)
		goto fail;
	*out = b.p;
	b.p = NULL;
	rc = 0;
fail:
	if (kv)
		for (size_t i = 0; i < n; i++) {
			free(kv[i].name);
			free(kv[i].value);
		}
	free(kv);
	free(b.p);
	if (rc)
		bo_error_set(err, rc, "out of memory building a query string");
	return rc;
}

/* ---- canonical headers --------------------------------------------------------- */

struct hdr {
	char *name;  /* lowercased */
	char *value; /* trimmed, inner runs of spaces collapsed */
	size_t order;
};

static int cmp_hdr(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	if (d)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

/* "Trimall": strip leading/trailing whitespace, collapse inner runs to one space. */
static char *trimall_dup(const char *s)
{
	char *d = malloc(strlen(s) + 1);
	if (!d)
		return NULL;
	size_t n = 0;
	int space = 0;
	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			space = n > 0;
			continue;
		}
		if (space)
			d[n++] = ' ';
		space = 0;
		d[n++] = *p;
	}
	d[n] = '\0';
	return d;
}

static int valid_payload_hash(const char *h)
{
	if (!h)
		return 0;
	if (!strcmp(h, SIGV4_UNSIGNED_PAYLOAD))
		return 1;
	if (strlen(h) != 64)
		return 0;
	for (const char *p = h; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return 0;
	return 1;
}

/* Builds the canonical request and the signed-headers list (both into bufs). */
static int build_canonical(struct buf *creq, struct buf *signed_hdrs,
			   const struct sigv4_request *req, const char *amz_date,
			   struct bo_error *err)
{
	int rc = BO_ENOMEM;
	size_t nh = req->nheaders + 2;
	char *query = NULL;
	struct hdr *h = calloc(nh, sizeof(*h));
	if (!h)
		goto fail;
	int have_host = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		h[i].name = lower_dup(req->headers[i].name);
		h[i].value = trimall_dup(req->headers[i].value ? req->headers[i].value : "");
		h[i].order = i;
		if (!h[i].name || !h[i].value)
			goto fail;
		if (!strcmp(h[i].name, "host"))
			have_host = 1;
		if (!strcmp(h[i].name, "x-amz-date") || !strcmp(h[i].name, "x-amz-content-sha256")) {
			rc = bo_error_set(err, BO_EBADREQUEST,
					  "sigv4: header '%s' is set by the signer, do not pass it",
					  h[i].name);
			goto fail;
		}
	}
	if (!have_host) {
		rc = bo_error_set(err, BO_EBADREQUEST, "sigv4: the request has no host header");
		goto fail;
	}
	if (!valid_payload_hash(req->payload_hash)) {
		rc = bo_error_set(err, BO_EBADREQUEST,
				  "sigv4: payload hash must be 64 lowercase hex digits or UNSIGNED-PAYLOAD");
		goto fail;
	}
	h[nh - 2].name = strdup("x-amz-content-sha256");
	h[nh - 2].value = strdup(req->payload_hash);
	h[nh - 1].name = strdup("x-amz-date");
	h[nh - 1].value = strdup(amz_date);
	h[nh - 2].order = nh - 2;
	h[nh - 1].order = nh - 1;
	if (!h[nh - 2].name || !h[nh - 2].value || !h[nh - 1].name || !h[nh - 1].value)
		goto fail;
	qsort(h, nh, sizeof(*h), cmp_hdr);

	rc = sigv4_canonical_query(&query, req->query, req->nquery, err);
	if (rc)
		goto fail;
	rc = BO_ENOMEM;
	buf_add(creq, req->method);
	buf_add(creq, "\n");
	sb_encode(creq, req->path && req->path[0] ? req->path : "/", 1);
	buf_add(creq, "\n");
	buf_add(creq, query);
	buf_add(creq, "\n");
	buf_add(signed_hdrs, "");
	for (size_t i = 0; i < nh; i++) {
		/* Repeated names become one line with the values joined by ','. */
		if (i && !strcmp(h[i].name, h[i - 1].name)) {
			buf_add(creq, ",");
			buf_add(creq, h[i].value);
			continue;
		}
		if (i) {
			buf_add(creq, "\n");
			buf_add(signed_hdrs, ";");
		}
		buf_add(creq, h[i].name);
		buf_add(creq, ":");
		buf_add(creq, h[i].value);
		buf_add(signed_hdrs, h[i].name);
	}
	buf_add(creq, "\n\n");
	buf_add(creq, signed_hdrs->p ? signed_hdrs->p : "");
	buf_add(creq, "\n");
	buf_add(creq, req->payload_hash);
	if (creq->failed || signed_hdrs->failed)
		goto fail;
	rc = 0;
fail:
	if (h)
		for (size_t i = 0; i < nh; i++) {
			free(h[i].name);
			free(h[i].value);
		}
	free(h);
	free(query);
	if (rc == BO_ENOMEM)
		bo_error_set(err, rc, "out of memory signing a request");
	return rc;
}

int sigv4_canonical_request(char **out, const struct sigv4_request *req, const char *amz_date,
			    struct bo_error *err)
{
	struct buf creq = {0}, sh = {0};
	int rc = build_canonical(&creq, &sh, req, amz_date, err);
	free(sh.p);
	if (rc) {
		free(creq.p);
		return rc;
	}
	*out = creq.p;
	return 0;
}

/* ---- signature ----------------------------------------------------------------- */

static int format_dates(char amz_date[17], char day[9], time_t now)
{
	struct tm tm;
	if (!gmtime_r(&now, &tm))
		return -1;
	if (strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -1;
	memcpy(day, amz_date, 8);
	day[8] = '\0';
	return 0;
}

static void hmac256(unsigned char out[32], const void *key, size_t keylen, const char *msg)
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &len);
}

/* signature hex of string_to_sign with the key derived for day/region/service. */
static int signature_hex(char sig[65], const struct sigv4_credentials *cred, const char *day,
			 const char *sts)
{
	unsigned char k[32];
	struct buf secret = {0};
	buf_add(&secret, "AWS4");
	buf_add(&secret, cred->secret_key);
	if (secret.failed) {
		free(secret.p);
		return -1;
	}
	hmac256(k, secret.p, secret.len, day);
	OPENSSL_cleanse(secret.p, secret.len);
	free(secret.p);
	hmac256(k, k, 32, cred->region);
	hmac256(k, k, 32, cred->service);
	hmac256(k, k, 32, "aws4_request");
	hmac256(k, k, 32, sts);
	hex_encode(sig, k, 32);
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

static int string_to_sign(struct buf *sts, const char *amz_date, const char *day,
			  const struct sigv4_credentials *cred, const char *creq)
{
	char hash[65];
	sigv4_sha256_hex(hash, creq, strlen(creq));
	buf_add(sts, "AWS4-HMAC-SHA256\n");
	buf_add(sts, amz_date);
	buf_add(sts, "\n");
	buf_add(sts, day);
	buf_add(sts, "/");
	buf_add(sts, cred->region);
	buf_add(sts, "/");
	buf_add(sts, cred->service);
	buf_add(sts, "/aws4_request\n");
	buf_add(sts, hash);
	return sts->failed ? -1 : 0;
}

static int check_cred(const struct sigv4_credentials *cred, struct bo_error *err)
{
	if (!cred->access_key || !cred->access_key[0] || !cred->secret_key || !cred->region ||
	    !cred->region[0] || !cred->service || !cred->service[0])
		return bo_error_set(err, BO_EBADREQUEST,
				    "sigv4: access key, secret key, region and service are required");
	return 0;
}

int sigv4_sign(struct sigv4_signature *out, const struct sigv4_request *req,
	       const struct sigv4_credentials *cred, time_t now, struct bo_error *err)
{
	int rc;
	struct buf creq = {0}, sh = {0}, sts = {0};
	char amz_date[17], day[9], sig[65];
	rc = check_cred(cred, err);
	if (rc)
		goto fail;
	if (format_dates(amz_date, day, now)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "sigv4: time %lld out of range", (long long)now);
		goto fail;
	}
	rc = build_canonical(&creq, &sh, req, amz_date, err);
	if (rc)
		goto fail;
	if (string_to_sign(&sts, amz_date, day, cred, creq.p) ||
	    signature_hex(sig, cred, day, sts.p)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory signing a request");
		goto fail;
	}
	int n = snprintf(out->authorization, sizeof(out->authorization),
			 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
			 "Signature=%s",
			 cred->access_key, day, cred->region, cred->service, sh.p, sig);
	if (n < 0 || (size_t)n >= sizeof(out->authorization)) {
		rc = bo_error_set(err, BO_EBADREQUEST,
				  "sigv4: Authorization header longer than %d bytes (too many signed headers?)",
				  SIGV4_AUTH_MAX);
		goto fail;
	}
	memcpy(out->amz_date, amz_date, sizeof(out->amz_date));
	snprintf(out->content_sha256, sizeof(out->content_sha256), "%s", req->payload_hash);
	rc = 0;
fail:
	free(creq.p);
	free(sh.p);
	free(sts.p);
	return rc;
}

/* ---- presigned URLs ------------------------------------------------------------ */

int sigv4_endpoint_host(char *buf, size_t len, const char *endpoint, struct bo_error *err)
{
	const char *p;
	const char *dflt;
	if (!strncmp(endpoint, "http://", 7)) {
		p = endpoint + 7;
		dflt = ":80";
	} else if (!strncmp(endpoint, "https://", 8)) {
		p = endpoint + 8;
		dflt = ":443";
	} else {
		return bo_error_set(err, BO_EBADREQUEST,
				    "endpoint '%s' must start with http:// or https://", endpoint);
	}
	size_t n = strcspn(p, "/?#");
	size_t dl = strlen(dflt);
	/* Clients (libcurl, botocore) omit the scheme's default port from Host. */
	if (n > dl && !strncmp(p + n - dl, dflt, dl))
		n -= dl;
	if (n == 0 || n >= len)
		return bo_error_set(err, BO_EBADREQUEST, "endpoint '%s' has an empty or too long host",
				    endpoint);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

int sigv4_presign(char **url_out, const struct sigv4_credentials *cred, const char *method,
		  const char *endpoint, const char *path, int expires, time_t now,
		  const struct sigv4_kv *extra, size_t n_extra, struct bo_error *err)
{
	int rc;
	char host[512], amz_date[17], day[9], sig[65], exp[16];
	struct buf credential = {0}, creq = {0}, sh = {0}, sts = {0}, url = {0};
	char *query = NULL;
	rc = check_cred(cred, err);
	if (rc)
		goto fail;
	if (expires < 1 || expires > 604800) {
		rc = bo_error_set(err, BO_EBADREQUEST,
				  "presigned URL lifetime %d s is outside 1..604800 (7 days)", expires);
		goto fail;
	}
	if (n_extra > SIGV4_PRESIGN_EXTRA_MAX) {
		rc = bo_error_set(err, BO_EBADREQUEST, "presigned URL with %zu extra parameters (at most %d)",
				  n_extra, SIGV4_PRESIGN_EXTRA_MAX);
		goto fail;
	}
	rc = sigv4_endpoint_host(host, sizeof(host), endpoint, err);
	if (rc)
		goto fail;
	if (format_dates(amz_date, day, now)) {
		rc = bo_error_set(err, BO_EBADREQUEST, "sigv4: time %lld out of range", (long long)now);
		goto fail;
	}
	buf_add(&credential, cred->access_key);
	buf_add(&credential, "/");
	buf_add(&credential, day);
	buf_add(&credential, "/");
	buf_add(&credential, cred->region);
	buf_add(&credential, "/");
	buf_add(&credential, cred->service);
	buf_add(&credential, "/aws4_request");
	snprintf(exp, sizeof(exp), "%d", expires);
	rc = BO_ENOMEM;
	if (credential.failed)
		goto fail;
	struct sigv4_kv q[5 + SIGV4_PRESIGN_EXTRA_MAX] = {
		{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
		{"X-Amz-Credential", credential.p},
		{"X-Amz-Date", amz_date},
		{"X-Amz-Expires", exp},
		{"X-Amz-SignedHeaders", "host"},
	};
	for (size_t i = 0; i < n_extra; i++)
		q[5 + i] = extra[i];
	struct sigv4_kv hdr[] = {{"host", host}};
	/* The presigned form signs only host and has no x-amz-* headers, so the canonical
	 * request is assembled here rather than by build_canonical. */
	rc = sigv4_canonical_query(&query, q, 5 + n_extra, err);
	if (rc)
		goto fail;
	rc = BO_ENOMEM;
	buf_add(&creq, method);
	buf_add(&creq, "\n");
	sb_encode(&creq, path && path[0] ? path : "/", 1);
	buf_add(&creq, "\n");
	buf_add(&creq, query);
	buf_add(&creq, "\nhost:");
	buf_add(&creq, hdr[0].value);
	buf_add(&creq, "\n\nhost\n" SIGV4_UNSIGNED_PAYLOAD);
	if (creq.failed || string_to_sign(&sts, amz_date, day, cred, creq.p) ||
	    signature_hex(sig, cred, day, sts.p))
		goto fail;
	size_t elen = strlen(endpoint);
	while (elen && endpoint[elen - 1] == '/')
		elen--;
	buf_addn(&url, endpoint, elen);
	sb_encode(&url, path && path[0] ? path : "/", 1);
	buf_add(&url, "?");
	buf_add(&url, query);
	buf_add(&url, "&X-Amz-Signature=");
	buf_add(&url, sig);
	if (url.failed)
		goto fail;
	*url_out = url.p;
	url.p = NULL;
	rc = 0;
fail:
	if (rc == BO_ENOMEM)
		bo_error_set(err, rc, "out of memory presigning a URL");
	free(query);
	free(credential.p);
	free(creq.p);
	free(sh.p);
	free(sts.p);
	free(url.p);
	return rc;
}

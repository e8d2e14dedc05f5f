/* Unit tests for sigv4: vectors made by botocore (tests/fixtures/gen_sigv4_vectors.py),
 * the examples of the public AWS SigV4 documentation, and the error paths. */
#include "check.h"

#include "common/error.h"
#include "infra/sigv4.h"

#include <cjson/cJSON.h>

static cJSON *load_vectors(void)
{
	FILE *f = fopen(check_src("tests/fixtures/sigv4_vectors.json"), "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	cJSON *j = cJSON_Parse(buf);
	free(buf);
	return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills kv[] from a JSON array of [name, value] pairs; returns the count. */
static size_t pairs(const cJSON *arr, struct sigv4_kv *kv, size_t max)
{
	size_t n = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, arr)
	{
		if (n == max)
			break;
		kv[n].name = cJSON_GetArrayItem(p, 0)->valuestring;
		kv[n].value = cJSON_GetArrayItem(p, 1)->valuestring;
		n++;
	}
	return n;
}

static void run_sign_vector(const cJSON *v)
{
	struct bo_error err = BO_ERROR_INIT;
	struct sigv4_kv q[16], h[16];
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(v, "expect");
	struct sigv4_request req = {
		.method = jstr(v, "method"),
		.path = jstr(v, "path"),
		.query = q,
		.nquery = pairs(cJSON_GetObjectItemCaseSensitive(v, "query"), q, 16),
		.headers = h,
		.nheaders = 0,
		.payload_hash = jstr(v, "payload_hash"),
	};
	/* botocore lists the x-amz-* headers it added; our signer adds them itself. */
	struct sigv4_kv all[16];
	size_t nall = pairs(cJSON_GetObjectItemCaseSensitive(v, "headers"), all, 16);
	for (size_t i = 0; i < nall; i++)
		if (strcasecmp(all[i].name, "x-amz-date") && strcasecmp(all[i].name, "x-amz-content-sha256"))
			h[req.nheaders++] = all[i];
	struct sigv4_credentials cred = {jstr(v, "access_key"), jstr(v, "secret_key"),
					 jstr(v, "region"), "s3"};
	time_t t = (time_t)cJSON_GetObjectItemCaseSensitive(v, "time")->valuedouble;
	const char *name = jstr(v, "name");

	char *creq = NULL;
	int rc = sigv4_canonical_request(&creq, &req, jstr(exp, "amz_date"), &err);
	check(rc == 0, "%s: %s", name, err.detail);
	if (creq)
		check(!strcmp(creq, jstr(exp, "canonical_request")), "%s: canonical request\n%s\n--- want\n%s",
		      name, creq, jstr(exp, "canonical_request"));
	free(creq);

	struct sigv4_signature sig;
	rc = sigv4_sign(&sig, &req, &cred, t, &err);
	check(rc == 0, "%s: %s", name, err.detail);
	if (rc == 0) {
		check(!strcmp(sig.authorization, jstr(exp, "authorization")), "%s:\n got %s\nwant %s", name,
		      sig.authorization, jstr(exp, "authorization"));
		check(!strcmp(sig.amz_date, jstr(exp, "amz_date")), "%s: date %s", name, sig.amz_date);
		check(!strcmp(sig.content_sha256, req.payload_hash), "%s: content sha", name);
	}
	bo_error_cleanup(&err);
}

static void run_presign_vector(const cJSON *v)
{
	struct bo_error err = BO_ERROR_INIT;
	struct sigv4_credentials cred = {jstr(v, "access_key"), jstr(v, "secret_key"),
					 jstr(v, "region"), "s3"};
	time_t t = (time_t)cJSON_GetObjectItemCaseSensitive(v, "time")->valuedouble;
	int expires = cJSON_GetObjectItemCaseSensitive(v, "expires")->valueint;
	char *url = NULL;
	int rc = sigv4_presign(&url, &cred, jstr(v, "method"), jstr(v, "endpoint"), jstr(v, "path"),
			       expires, t, NULL, 0, &err);
	check(rc == 0, "%s: %s", jstr(v, "name"), err.detail);
	const char *want = jstr(cJSON_GetObjectItemCaseSensitive(v, "expect"), "url");
	if (url)
		check(!strcmp(url, want), "%s:\n got %s\nwant %s", jstr(v, "name"), url, want);
	free(url);
	bo_error_cleanup(&err);
}

static void test_sigv4__botocore_vectors(void)
{
	cJSON *j = load_vectors();
	require(j, "cannot read tests/fixtures/sigv4_vectors.json");
	int nsign = 0, npresign = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "vectors"))
	{
		const char *kind = jstr(v, "kind");
		if (!strcmp(kind, "sign")) {
			run_sign_vector(v);
			nsign++;
		} else if (!strcmp(kind, "presign")) {
			run_presign_vector(v);
			npresign++;
		}
	}
	/* The brief asks for at least these many; a truncated fixture must not pass. */
	check(nsign >= 7, "only %d sign vectors", nsign);
	check(npresign >= 2, "only %d presign vectors", npresign);
	cJSON_Delete(j);
}

/* The GET-object and presigned-URL examples of the public AWS SigV4 documentation
 * ("Authenticating Requests: Using the Authorization Header / Query Parameters"). */
static void test_sigv4__aws_documented_examples(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct sigv4_credentials cred = {"AKIAIOSFODNN7EXAMPLE",
					 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
	time_t t = 1369353600; /* Fri, 24 May 2013 00:00:00 GMT */
	struct sigv4_kv h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
	struct sigv4_request req = {"GET", "/test.txt", NULL, 0, h, 2, SIGV4_EMPTY_SHA256};
	struct sigv4_signature sig;
	int rc = sigv4_sign(&sig, &req, &cred, t, &err);
	require(rc == 0, "%s", err.detail);
	check(strstr(sig.authorization,
		     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
	      "%s", sig.authorization);
	check(strstr(sig.authorization, "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"),
	      "%s", sig.authorization);
	check(!strcmp(sig.amz_date, "20130524T000000Z"), "%s", sig.amz_date);

	char *url = NULL;
	rc = sigv4_presign(&url, &cred, "GET", "https://examplebucket.s3.amazonaws.com", "/test.txt",
			   86400, t, NULL, 0, &err);
	require(rc == 0, "%s", err.detail);
	check(strstr(url, "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404") != NULL,
	      "%s", url);
	free(url);
	/* extra parameters join the signed canonical query in its sorted order (after the
	 * X-Amz-* ones: lowercase sorts after uppercase) and change the signature */
	url = NULL;
	struct sigv4_kv extra[] = {{"response-content-type", "text/plain; charset=utf-8"},
				   {"response-content-disposition", "attachment"}};
	rc = sigv4_presign(&url, &cred, "GET", "https://examplebucket.s3.amazonaws.com", "/test.txt",
			   86400, t, extra, 2, &err);
	require(rc == 0, "%s", err.detail);
	check(strstr(url, "X-Amz-SignedHeaders=host&response-content-disposition=attachment&"
			  "response-content-type=text%2Fplain%3B%20charset%3Dutf-8&X-Amz-Signature=") != NULL,
	      "%s", url);
	check(strstr(url, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404") == NULL,
	      "the overrides are not signed: %s", url);
	free(url);
}

static void test_sigv4__encoding_and_query(void)
{
	struct bo_error err = BO_ERROR_INIT;
	char *s = NULL;
	require(sigv4_uri_encode(&s, "a b/ü~-_.*+=", 1, &err) == 0, "%s", err.detail);
	check(!strcmp(s, "a%20b/%C3%BC~-_.%2A%2B%3D"), "%s", s);
	free(s);
	require(sigv4_uri_encode(&s, "a/b", 0, &err) == 0, "%s", err.detail);
	check(!strcmp(s, "a%2Fb"), "%s", s);
	free(s);

	/* Repeated names sort by value; an empty value keeps its '='; encoding happens
	 * before sorting ("a b" -> "a%20b" sorts before "a-b"? '%' < '-'). */
	struct sigv4_kv q[] = {{"b", "2"}, {"uploads", ""}, {"b", "1"}, {"a-b", "x"}, {"a b", "y"}};
	require(sigv4_canonical_query(&s, q, 5, &err) == 0, "%s", err.detail);
	check(!strcmp(s, "a%20b=y&a-b=x&b=1&b=2&uploads="), "%s", s);
	free(s);
	require(sigv4_canonical_query(&s, NULL, 0, &err) == 0, "%s", err.detail);
	check(!strcmp(s, ""), "'%s'", s);
	free(s);

	char host[64];
	require(sigv4_endpoint_host(host, sizeof host, "http://127.0.0.1:80/x", &err) == 0, "%s", err.detail);
	check(!strcmp(host, "127.0.0.1"), "%s", host);
	require(sigv4_endpoint_host(host, sizeof host, "https://h:8443", &err) == 0, "%s", err.detail);
	check(!strcmp(host, "h:8443"), "%s", host);
	require(sigv4_endpoint_host(host, sizeof host, "https://h:443", &err) == 0, "%s", err.detail);
	check(!strcmp(host, "h"), "%s", host);
	check(sigv4_endpoint_host(host, sizeof host, "ftp://h", &err) == BO_EBADREQUEST, "ftp accepted");
	bo_error_cleanup(&err);
}

static void test_sigv4__header_canonicalisation(void)
{
	/* Same request, headers in a different case/order and with extra blanks: the
	 * signature must not change. */
	struct sigv4_credentials cred = {"k", "s", "us-east-1", "s3"};
	struct sigv4_kv h1[] = {{"Host", "h"}, {"Content-Type", "text/plain;  charset=x"}};
	struct sigv4_kv h2[] = {{"content-type", "  text/plain; charset=x "}, {"HOST", "h"}};
	struct sigv4_request r1 = {"PUT", "/b/k", NULL, 0, h1, 2, SIGV4_UNSIGNED_PAYLOAD};
	struct sigv4_request r2 = {"PUT", "/b/k", NULL, 0, h2, 2, SIGV4_UNSIGNED_PAYLOAD};
	struct sigv4_signature s1, s2;
	struct bo_error err = BO_ERROR_INIT;
	require(sigv4_sign(&s1, &r1, &cred, 1700000000, &err) == 0, "%s", err.detail);
	require(sigv4_sign(&s2, &r2, &cred, 1700000000, &err) == 0, "%s", err.detail);
	check(!strcmp(s1.authorization, s2.authorization), "%s vs %s", s1.authorization, s2.authorization);
	/* A different time or path changes it. */
	require(sigv4_sign(&s2, &r1, &cred, 1700000001, &err) == 0, "%s", err.detail);
	check(strcmp(s1.authorization, s2.authorization) != 0, "time not signed");
	r2.path = "/b/k2";
	require(sigv4_sign(&s2, &r2, &cred, 1700000000, &err) == 0, "%s", err.detail);
	check(strcmp(s1.authorization, s2.authorization) != 0, "path not signed");
}

static void test_sigv4__errors(void)
{
	struct sigv4_credentials cred = {"k", "s", "us-east-1", "s3"};
	struct sigv4_signature sig;
	struct sigv4_kv nohost[] = {{"content-type", "x"}};
	struct sigv4_request r = {"GET", "/", NULL, 0, nohost, 1, SIGV4_EMPTY_SHA256};
	struct bo_error err = BO_ERROR_INIT;
	check(sigv4_sign(&sig, &r, &cred, 0, &err) == BO_EBADREQUEST, "no host accepted");
	check(strstr(err.detail, "host") != NULL, "%s", err.detail);
	bo_error_cleanup(&err);

	struct sigv4_kv dated[] = {{"host", "h"}, {"X-Amz-Date", "20200101T000000Z"}};
	r.headers = dated;
	r.nheaders = 2;
	check(sigv4_sign(&sig, &r, &cred, 0, &err) == BO_EBADREQUEST, "x-amz-date accepted");
	bo_error_cleanup(&err);

	struct sigv4_kv host[] = {{"host", "h"}};
	r.headers = host;
	r.nheaders = 1;
	r.payload_hash = "ABC";
	check(sigv4_sign(&sig, &r, &cred, 0, &err) == BO_EBADREQUEST, "bad payload hash accepted");
	bo_error_cleanup(&err);

	char *url = NULL;
	check(sigv4_presign(&url, &cred, "GET", "http://h", "/b/k", 0, 0, NULL, 0, &err) == BO_EBADREQUEST,
	      "expires 0 accepted");
	bo_error_cleanup(&err);
	struct sigv4_kv many[SIGV4_PRESIGN_EXTRA_MAX + 1] = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}};
	check(sigv4_presign(&url, &cred, "GET", "http://h", "/b/k", 10, 0, many, SIGV4_PRESIGN_EXTRA_MAX + 1,
			    &err) == BO_EBADREQUEST, "too many extra parameters accepted");
	bo_error_cleanup(&err);
	check(sigv4_presign(&url, &cred, "GET", "http://h", "/b/k", 604801, 0, NULL, 0, &err) == BO_EBADREQUEST,
	      "expires > 7 days accepted");
	bo_error_cleanup(&err);
	struct sigv4_credentials nokey = {"", "s", "us-east-1", "s3"};
	check(sigv4_presign(&url, &nokey, "GET", "http://h", "/b/k", 10, 0, NULL, 0, &err) == BO_EBADREQUEST,
	      "empty access key accepted");
	check(url == NULL, "url set on error");
	bo_error_cleanup(&err);
}

int main(int argc, char **argv)
{
	static const struct check_test tests[] = {
		TEST(test_sigv4__botocore_vectors),
		TEST(test_sigv4__aws_documented_examples),
		TEST(test_sigv4__encoding_and_query),
		TEST(test_sigv4__header_canonicalisation),
		TEST(test_sigv4__errors),
	};
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

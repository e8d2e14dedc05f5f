/* routes_uploads: POST /api/v1/uploads — a zip body, a multipart form (field
 * "package") or JSON {"url": …}. The body has already streamed to a temp file (http);
 * upload_accept decides. */
#include "http/routes.h"

#include "app.h"
#include "common/error.h"
#include "infra/metrics.h"
#include "common/arena.h"
#include "pipeline/precheck.h"
#include "pipeline/upload.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int post_upload(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	const struct http_upload *up = http_upload(r);
	struct upload_request req = {.user = http_user(r)};
	char *fetched = NULL;
	char sha[65] = "";
	cJSON *out = NULL;
	int rc;
	req.concept_id = http_query(r, "id");
	const char *ct = http_header(r, "Content-Type");
	int multipart = ct && !strncasecmp(ct, "multipart/form-data", 19);
	if (ct && (!up || !up->size) &&
	    (multipart || !strncasecmp(ct, "application/zip", 15) || !strncasecmp(ct, "application/octet-stream", 24)))
		return bo_error_set(err, BO_EBADREQUEST,
				    "the request holds no package: send the zip as the body (curl --data-binary @pkg.zip "
				    "-H 'Content-Type: application/zip'), as the form field 'package' (curl -F package=@pkg.zip), "
				    "or JSON {\"url\": \"https://…/pkg.zip\"}");
	/* a form field sent as text, not as a file: curl -F package=x.zip without the @ */
	if (up && multipart && !up->filename)
		return bo_error_set(err, BO_EBADREQUEST,
				    "the form field 'package' holds %llu bytes of text, not a file: with curl, write "
				    "-F package=@pkg.zip (the @ sends the file)",
				    (unsigned long long)up->size);
	if (up) {
		req.package_path = up->path;
		req.size = up->size;
		req.sha256 = up->sha256;
		req.source = up->filename ? up->filename : "request body";
		if (!req.concept_id && up->form_id && up->form_id[0])
			req.concept_id = up->form_id;
	} else {
		cJSON *body = http_json(r);
		if (!body)
			return err->code ? err->code : bo_error_set(err, BO_EBADREQUEST, "empty body");
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(body, "url");
		if (!cJSON_IsObject(body) || !cJSON_IsString(url)) {
			rc = bo_error_set(err, BO_EBADREQUEST, "a JSON upload must be {\"url\": \"https://…/package.zip\"}");
			bo_error_add(err, NULL, "field 'url' (string) is required", "missing", 0, 0);
			return rc;
		}
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
		if (!req.concept_id && cJSON_IsString(id))
			req.concept_id = id->valuestring;
		uint64_t size = 0;
		rc = upload_fetch(a, url->valuestring, &fetched, &size, sha, err);
		if (rc)
			return rc;
		metrics_add_upload_bytes(a->metrics, size);
		req.package_path = fetched;
		req.size = size;
		req.sha256 = sha;
		req.source = url->valuestring;
	}
	rc = upload_accept(a, &req, &out, err);
	if (fetched) {
		if (rc)
			unlink(fetched);
		free(fetched);
	}
	if (rc)
		return rc;
	if (up)
		http_upload_take(r); /* renamed into incoming/ */
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(out, "links"), "self");
	if (cJSON_IsString(self))
		http_add_header(r, "Location", self->valuestring);
	return http_reply_json(r, 202, out);
}

/* POST /api/v1/validate {rdf, rdf_file, files}: the upload page's check before sending
 * (precheck.h); 200 with the preview when it passes, the upload's 422 when it fails. */
static int post_validate(http_req *r)
{
	struct app *a = http_app(r);
	struct bo_error *err = http_err(r);
	cJSON *body = http_json(r), *out = NULL;
	if (!body)
		return err->code ? err->code : bo_error_set(err, BO_EBADREQUEST, "empty body");
	const cJSON *rdf = cJSON_GetObjectItemCaseSensitive(body, "rdf");
	const cJSON *file = cJSON_GetObjectItemCaseSensitive(body, "rdf_file");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(body, "files"), *f;
	if (!cJSON_IsObject(body) || !cJSON_IsString(rdf) || !cJSON_IsString(file) || !cJSON_IsArray(files))
		return bo_error_set(err, BO_EBADREQUEST,
				    "send {\"rdf\": \"<the RDF's text>\", \"rdf_file\": \"<its name in the zip>\", "
				    "\"files\": [\"<every entry name of the zip>\", …]}");
	int n = cJSON_GetArraySize(files);
	if (n > a->package_limits.max_entries)
		return bo_error_set(err, BO_ETOOLARGE, "'files' lists %d names; the limit is %lld (max_zip_entries)", n,
				    (long long)a->package_limits.max_entries);
	const char **names = arena_alloc(http_arena(r), (size_t)(n ? n : 1) * sizeof(*names));
	if (!names)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int i = 0;
	cJSON_ArrayForEach(f, files) {
		if (!cJSON_IsString(f))
			return bo_error_set(err, BO_EBADREQUEST, "files[%d] is not a string", i);
		if ((int64_t)strlen(f->valuestring) > a->package_limits.max_name_bytes)
			return bo_error_set(err, BO_EBADREQUEST, "files[%d] is longer than %lld bytes", i,
					    (long long)a->package_limits.max_name_bytes);
		names[i++] = f->valuestring;
	}
	int rc = precheck_rdf(a, rdf->valuestring, strlen(rdf->valuestring), file->valuestring, names, (size_t)n,
			      &out, err);
	if (rc)
		return rc;
	return http_reply_json(r, 200, out);
}

static const struct route table[] = {
	{"POST", "/api/v1/uploads", HTTP_BODY_UPLOAD, AUTH_ROLE_UPLOADER, post_upload,
	 "upload a package (zip, multipart field 'package', or {\"url\"}); ?id= for a new revision"},
	{"POST", "/api/v1/validate", HTTP_BODY_JSON, AUTH_ROLE_UPLOADER, post_validate,
	 "check an RDF before uploading {rdf, rdf_file, files}: the upload's static validation and its files"},
};

const struct route_table routes_uploads = {table, sizeof(table) / sizeof(table[0])};

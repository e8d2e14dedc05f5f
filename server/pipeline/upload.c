/* upload: the synchronous half of staging. Invariant: a 202 is only answered after the
 * package file is durable in incoming/ and the draft row, its event and its stage job
 * are committed together; a refusal leaves no row, no reservation and no file behind. */
#include "pipeline/upload.h"

#include "app.h"
#include "check/validate.h"
#include "common/error.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/rdf.h"
#include "domain/auth.h"
#include "domain/drafts.h"
#include "domain/ids.h"
#include "domain/maintainers.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/httpc.h"
#include "infra/jobs.h"
#include "infra/package.h"
#include "pipeline/lifecycle.h"

#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

static const char *const accepted_types[] = {"model", "dataset", "notebook", "application", "generic"};

/* ---------------------------------------------------------------- the RDF */

struct rdf_facts {
	char type[32];
	char id[128]; /* "" when the RDF has none */
	char rdf_name[1100];
	char *rdf_json; /* malloc'd */
};

static int invalid_field(struct bo_error *err, const char *field, const char *msg, const rdf_doc *doc)
{
	int line = 0, col = 0;
	cJSON *loc = cJSON_CreateArray();
	if (loc) {
		cJSON_AddItemToArray(loc, cJSON_CreateString(field));
		rdf_mark(doc, loc, &line, &col);
	}
	bo_error_set(err, BO_EINVALIDRDF, "%s", msg);
	bo_error_add(err, loc, msg, "value_error", line, col);
	return BO_EINVALIDRDF;
}

/* "inputs.0.test_tensor" from a loc array, for the one-line detail. */
static void loc_text(const cJSON *loc, char *buf, size_t size)
{
	size_t used = 0;
	const cJSON *it;
	buf[0] = '\0';
	cJSON_ArrayForEach(it, loc)
	{
		int n;
		if (cJSON_IsNumber(it))
			n = snprintf(buf + used, size - used, "%s%d", used ? "." : "", it->valueint);
		else
			n = snprintf(buf + used, size - used, "%s%s", used ? "." : "",
				     cJSON_IsString(it) ? it->valuestring : "?");
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, size, "(top level)");
}

/* Static validation without the package's files (the checks that need them run in the
 * validate job once the package is staged): a failure now is a 422 carrying every
 * problem and the whole summary, so the uploader learns everything at once. The version
 * check waits for the job too: the concept is not known yet. */
static int refuse_invalid(struct app *a, const char *text, size_t len, const char *rdf_name, struct bo_error *err)
{
	cJSON *summary = NULL, *errors = NULL;
	struct validate_options opt = {.source_name = rdf_name, .limits = &a->rdf_limits};
	int rc = validate_text(a->validator, text, len, &opt, &summary, err);
	if (rc)
		return rc;
	if (strcmp(validate_summary_status(summary), "failed")) {
		cJSON_Delete(summary);
		return 0;
	}
	errors = validate_summary_errors(summary);
	cJSON *extra = cJSON_CreateObject();
	if (!errors || !extra) {
		cJSON_Delete(extra);
		cJSON_Delete(errors);
		cJSON_Delete(summary);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	const cJSON *first = cJSON_GetArrayItem(errors, 0);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "msg");
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(first, "line");
	char where[200];
	loc_text(cJSON_GetObjectItemCaseSensitive(first, "loc"), where, sizeof(where));
	rc = bo_error_set(err, BO_EINVALIDRDF,
			  "%.200s has %d problem(s); the first, line %d at %s: %.300s; 'errors' lists them all: "
			  "fix them and upload again",
			  rdf_name, cJSON_GetArraySize(errors), cJSON_IsNumber(line) ? line->valueint : 0, where,
			  cJSON_IsString(msg) ? msg->valuestring : "invalid");
	cJSON_Delete(err->errors);
	err->errors = errors;
	cJSON_AddItemToObject(extra, "validation", summary);
	cJSON_Delete(err->extra);
	err->extra = extra;
	return rc;
}

static int read_rdf(struct app *a, const char *path, struct rdf_facts *f, struct bo_error *err)
{
	package *p = NULL;
	rdf_doc *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	const char *name = NULL;
	int rc = package_open(&p, path, &a->package_limits, err);
	if (rc)
		goto fail;
	rc = package_find_rdf(p, &name, err);
	if (rc)
		goto fail;
	snprintf(f->rdf_name, sizeof(f->rdf_name), "%s", name);
	size_t idx = 0;
	while (idx < package_count(p) && strcmp(package_name(p, idx), name))
		idx++;
	rc = package_read(p, idx, (size_t)a->cfg->max_yaml_bytes, &text, &len, err);
	if (rc)
		goto fail;
	rc = rdf_parse(&doc, text, len, &a->rdf_limits, err);
	if (rc) {
		/* name the file: the uploader may not know which one we read */
		char tmp[BO_ERROR_DETAIL_MAX + 256];
		snprintf(tmp, sizeof(tmp), "%.200s: %s", f->rdf_name, err->detail);
		memcpy(err->detail, tmp, BO_ERROR_DETAIL_MAX - 1);
		err->detail[BO_ERROR_DETAIL_MAX - 1] = '\0';
		goto fail;
	}
	const cJSON *root = rdf_root(doc);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsString(type)) {
		rc = invalid_field(err, "type", type ? "field 'type' must be a string" : "field 'type' is missing", doc);
		goto fail;
	}
	if (!strcmp(type->valuestring, "collection")) {
		rc = invalid_field(err, "type", "collection RDFs are not accepted as uploads; upload its resources one by one", doc);
		goto fail;
	}
	int known = 0;
	for (size_t i = 0; i < sizeof(accepted_types) / sizeof(accepted_types[0]); i++)
		known |= !strcmp(type->valuestring, accepted_types[i]);
	if (!known) {
		char msg[200];
		snprintf(msg, sizeof(msg), "type '%.40s' is not one of model, dataset, notebook, application, generic",
			 type->valuestring);
		rc = invalid_field(err, "type", msg, doc);
		goto fail;
	}
	snprintf(f->type, sizeof(f->type), "%s", type->valuestring);
	/* after the type: without one there are no rules to apply */
	rc = refuse_invalid(a, text, len, f->rdf_name, err);
	if (rc)
		goto fail;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (id && !cJSON_IsString(id) && !cJSON_IsNull(id)) {
		rc = invalid_field(err, "id", "field 'id' must be a string", doc);
		goto fail;
	}
	if (cJSON_IsString(id)) {
		if (strlen(id->valuestring) >= sizeof(f->id)) {
			rc = invalid_field(err, "id", "field 'id' is too long", doc);
			goto fail;
		}
		snprintf(f->id, sizeof(f->id), "%s", id->valuestring);
	}
	f->rdf_json = cJSON_PrintUnformatted(root);
	if (!f->rdf_json) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	rc = 0;
fail:
	free(text);
	rdf_free(doc);
	package_close(p);
	return rc;
}

/* 422 for an id that is not ours to give, with a free id of the right type to use. */
static int refuse_id(struct app *a, sqlite3 *c, const char *vocab, struct bo_error *err)
{
	char suggestion[128];
	struct bo_error tmp = BO_ERROR_INIT;
	if (!ids_suggest(a->ids, c, vocab, suggestion, sizeof(suggestion), &tmp)) {
		err->extra = cJSON_CreateObject();
		if (err->extra)
			cJSON_AddStringToObject(err->extra, "suggestion", suggestion);
		size_t used = strlen(err->detail);
		snprintf(err->detail + used, sizeof(err->detail) - used,
			 "; remove 'id' to get a new one, or use a free id such as '%s'", suggestion);
	}
	bo_error_cleanup(&tmp);
	return err->code;
}

static int check_id(struct app *a, sqlite3 *c, const char *id, const char *rdf_type, struct bo_error *err)
{
	struct ids_info info;
	const char *vocab = ids_vocab_type(rdf_type);
	int rc = ids_parse(a->ids, id, &info, err);
	if (!rc && strcmp(info.vocab_type, vocab)) {
		rc = bo_error_set(err, BO_EINVALIDID, "id '%s' is a %s id, but the RDF has type '%s'", id,
				  info.vocab_type, rdf_type);
	}
	if (!rc)
		return 0;
	if (err->code == BO_EINVALIDID) {
		cJSON *loc = cJSON_CreateArray();
		if (loc)
			cJSON_AddItemToArray(loc, cJSON_CreateString("id"));
		bo_error_add(err, loc, err->detail, "invalid_id", 0, 0);
		return refuse_id(a, c, vocab, err);
	}
	return rc;
}

/* ---------------------------------------------------------------- the transaction */

struct existing {
	int concept_exists;
	char type[32];
	int draft_exists;
	int revision;
	int last_revision; /* concepts.revisions: survives the draft's deletion at publish */
	enum draft_state state;
};

static int load_existing(sqlite3 *c, const char *id, struct existing *ex, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	memset(ex, 0, sizeof(*ex));
	int rc = db_prepare(c, &st, "SELECT type, revisions FROM concepts WHERE id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		ex->concept_exists = 1;
		snprintf(ex->type, sizeof(ex->type), "%s", db_column_text(st, 0));
		ex->last_revision = sqlite3_column_int(st, 1);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(c, "read concept", err);
	}
	sqlite3_finalize(st);
	if (!rc && ex->concept_exists)
		rc = drafts_state(c, id, &ex->revision, &ex->state, &ex->draft_exists, err);
	return rc;
}

static int set_revisions(sqlite3 *c, const char *id, int revision, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "UPDATE concepts SET revisions = ?2 WHERE id = ?1", err);
	if (rc)
		return rc;
	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, revision);
	return db_step_done(st, err);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static cJSON *response_body(struct app *a, const char *id, const char *emoji, int revision, int64_t job_id)
{
	char now[40], url[2048];
	db_now_iso(now, sizeof(now));
	cJSON *o = cJSON_CreateObject();
	cJSON *links = cJSON_CreateObject();
	cJSON *status = lifecycle_status_json(a, id, DRAFT_UNPACKING, NULL, now);
	if (!o || !links || !status) {
		cJSON_Delete(o);
		cJSON_Delete(links);
		cJSON_Delete(status);
		return NULL;
	}
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "id_emoji", emoji ? emoji : "");
	cJSON_AddNumberToObject(o, "revision", revision);
	cJSON_AddStringToObject(o, "state", "unpacking");
	cJSON_AddItemToObject(o, "status", status);
	snprintf(url, sizeof(url), "%s/api/v1/resources/%s/draft", a->cfg->public_url, id);
	cJSON_AddStringToObject(links, "self", url);
	snprintf(url, sizeof(url), "%s/api/v1/resources/%s/draft/events", a->cfg->public_url, id);
	cJSON_AddStringToObject(links, "events", url);
	snprintf(url, sizeof(url), "%s/status/%s", a->cfg->public_url, id);
	cJSON_AddStringToObject(links, "status_page", url);
	snprintf(url, sizeof(url), "%s/api/v1/jobs/%lld", a->cfg->public_url, (long long)job_id);
	cJSON_AddStringToObject(links, "job", url);
	cJSON_AddItemToObject(o, "links", links);
	cJSON_AddNumberToObject(o, "job", (double)job_id);
	return o;
}

/* The revision this upload becomes, after what refuses it: an id of another type or of
 * other maintainers, a draft being published, too many drafts in flight. */
static int next_revision(struct app *a, sqlite3 *c, const struct upload_request *req, const char *id,
			 const struct existing *ex, const char *type, int *revision, struct bo_error *err)
{
	int rc;
	*revision = 1;
	if (ex->concept_exists) {
		if (strcmp(ex->type, type))
			return bo_error_set(err, BO_EINVALIDID, "'%s' is a %s; this RDF has type '%s'", id, ex->type, type);
		rc = maintainers_includes(c, req->user, id, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return bo_error_set(err, BO_EIDTAKEN,
					    "'%s' belongs to another concept's maintainers; %s to get a new id, or ask a maintainer "
					    "to add your email to its authors",
					    id, req->concept_id ? "upload without ?id=" : "remove 'id' from the RDF");
		if (ex->draft_exists && ex->state == DRAFT_ACCEPTED)
			return bo_error_set(err, BO_ECONFLICT,
					    "'%s' was accepted and is being published; upload a new version once it is published",
					    id);
		*revision = (ex->draft_exists && ex->revision > ex->last_revision ? ex->revision : ex->last_revision) + 1;
	}
	if (ex->draft_exists)
		return 0;
	int n = 0;
	rc = drafts_count_in_flight(c, req->user->id, &n, err);
	if (rc)
		return rc;
	if (n >= a->cfg->max_drafts_per_user) {
		rc = bo_error_set(err, BO_ETOOMANY,
				  "you have %d drafts in flight; the limit is %lld (max_drafts_per_user): wait for reviews "
				  "or withdraw a draft",
				  n, (long long)a->cfg->max_drafts_per_user);
		err->retry_after = 3600;
	}
	return rc;
}

int upload_accept(struct app *a, const struct upload_request *req, cJSON **out, struct bo_error *err)
{
	struct rdf_facts f;
	sqlite3 *c = NULL;
	char id[128] = "", final_path[4096] = "";
	int revision = 1, renamed = 0;
	int64_t job_id = 0;
	memset(&f, 0, sizeof(f));
	int rc = read_rdf(a, req->package_path, &f, err);
	if (rc)
		goto fail;
	if (req->concept_id && f.id[0] && strcmp(req->concept_id, f.id)) {
		rc = bo_error_set(err, BO_EINVALIDRDF,
				  "the RDF's id '%s' differs from the id '%s' this upload is for; make them equal or remove 'id' from the RDF",
				  f.id, req->concept_id);
		goto fail;
	}
	const char *wanted = req->concept_id ? req->concept_id : (f.id[0] ? f.id : NULL);
	rc = db_acquire(a->db, &c, err);
	if (rc)
		goto fail;
	if (wanted) {
		rc = check_id(a, c, wanted, f.type, err);
		if (rc)
			goto fail;
	}
	rc = db_begin(c, err);
	if (rc)
		goto fail;
	struct existing ex;
	if (wanted) {
		snprintf(id, sizeof(id), "%s", wanted);
		rc = load_existing(c, id, &ex, err);
		if (rc)
			goto fail;
	} else {
		memset(&ex, 0, sizeof(ex));
	}
	rc = next_revision(a, c, req, id, &ex, f.type, &revision, err);
	if (rc)
		goto fail;
	if (!ex.concept_exists) {
		if (wanted)
			rc = ids_reserve_named(c, id, f.type, req->user->id, err);
		else
			rc = ids_reserve(a->ids, c, f.type, req->user->id, id, sizeof(id), err);
		if (rc)
			goto fail;
	}
	if (ex.draft_exists) {
		char reason[96];
		snprintf(reason, sizeof(reason), "superseded by revision %d", revision);
		rc = jobs_cancel_subject(c, id, NULL, reason, err);
		if (rc < 0)
			goto fail;
	}
	snprintf(final_path, sizeof(final_path), "%s/%s.r%d.zip", a->incoming_dir, id, revision);
	const struct draft_revision dr = {.concept_id = id,
					  .revision = revision,
					  .uploader_id = req->user->id,
					  .package_sha256 = req->sha256,
					  .package_size = (int64_t)req->size,
					  .package_path = final_path,
					  .rdf_name = f.rdf_name,
					  .rdf_json = f.rdf_json};
	char msg[600];
	snprintf(msg, sizeof(msg), "revision %d uploaded by %s from %s (%llu bytes, sha256 %s)", revision,
		 req->user->name, req->source ? req->source : "upload", (unsigned long long)req->size, req->sha256);
	rc = set_revisions(c, id, revision, err);
	if (!rc)
		rc = lifecycle_begin_revision(c, &dr, msg, &job_id, err);
	if (rc)
		goto fail;
	/* the package must be durable before anyone is told it was accepted */
	if (rename(req->package_path, final_path) != 0 || fsync_dir(a->incoming_dir) != 0) {
		rc = bo_error_set(err, BO_ESTORAGE, "cannot keep the package in %s: %s", a->incoming_dir, strerror(errno));
		goto fail;
	}
	renamed = 1;
	rc = db_commit(c, err);
	if (rc)
		goto fail;
	renamed = 0; /* committed: the package belongs to the stage job now */
	jobs_notify(a->jobs);
	*out = response_body(a, id, ids_emoji(a->ids, id), revision, job_id);
	if (!*out)
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
	else
		log_info("upload: %s revision %d accepted (%s, %llu bytes) from %s", id, revision, f.type,
			 (unsigned long long)req->size, req->user->email);
fail:
	if (rc && renamed)
		rename(final_path, req->package_path); /* give it back: nothing was committed */
	if (c) {
		db_rollback(c);
		db_release(a->db, c);
	}
	free(f.rdf_json);
	return rc;
}

/* ---------------------------------------------------------------- fetching by URL */

struct fetch {
	int allow_private;
	int refused;
	char refused_ip[64];
	int fd;
	uint64_t size;
	EVP_MD_CTX *sha;
};

/* The package's bytes (httpc keeps them within max_upload_bytes). */
static int fetch_write(void *ud, long status, const void *data, size_t len)
{
	struct fetch *f = ud;
	(void)status;
	EVP_DigestUpdate(f->sha, data, len);
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(f->fd, (const char *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	f->size += len;
	return 0;
}

/* Whether ip (text form from libcurl) is loopback, private, link-local, unspecified,
 * CGNAT or multicast: what a package URL must not reach from the server (SSRF). */
static int ip_is_internal(const char *ip)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, ip, b) == 1) {
		return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) ||
		       (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
		       (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] >= 224;
	}
	if (inet_pton(AF_INET6, ip, b) == 1) {
		static const unsigned char zero[10] = {0};
		if (!memcmp(b, zero, 10) && b[10] == 0xff && b[11] == 0xff) /* v4-mapped */
			return b[12] == 0 || b[12] == 10 || b[12] == 127 || (b[12] == 169 && b[13] == 254) ||
			       (b[12] == 172 && (b[13] & 0xf0) == 16) || (b[12] == 192 && b[13] == 168) ||
			       (b[12] == 100 && (b[13] & 0xc0) == 64) || b[12] >= 224;
		int all_zero_but_last = !memcmp(b, zero, 10) && !b[10] && !b[11] && !b[12] && !b[13] && !b[14];
		return (all_zero_but_last && b[15] <= 1) || (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
		       b[0] == 0xff;
	}
	return 1; /* unparseable: refuse */
}

/* httpc asks about every address libcurl would connect (each of each hop, redirects
 * included): an internal one is refused before any packet leaves, so a closed and an open
 * internal port look the same (no port scan through package URLs). */
static int fetch_allow(void *ud, const char *ip)
{
	struct fetch *f = ud;
	if (f->allow_private || !ip_is_internal(ip))
		return 1;
	f->refused = 1;
	snprintf(f->refused_ip, sizeof(f->refused_ip), "%s", ip[0] ? ip : "an address of an unknown family");
	return 0;
}

int upload_fetch(struct app *a, const char *url, char **path_out, uint64_t *size_out, char *sha256_hex,
		 struct bo_error *err)
{
	struct fetch f = {.fd = -1, .allow_private = (int)a->cfg->fetch_allow_private};
	uint64_t limit = (uint64_t)a->cfg->max_upload_bytes;
	struct httpc_response resp = {0};
	struct bo_error e = BO_ERROR_INIT;
	char *path = NULL;
	char what[4200];
	int rc = 0;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return bo_error_set(err, BO_EBADREQUEST, "'url' must be an http:// or https:// URL");
	if (strlen(url) > 4096)
		return bo_error_set(err, BO_EBADREQUEST, "'url' is longer than 4096 bytes");
	if (asprintf(&path, "%s/fetch-XXXXXX", a->tmp_dir) < 0)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	f.fd = mkstemp(path);
	if (f.fd < 0) {
		rc = bo_error_set(err, BO_ESTORAGE, "cannot create a temp file: %s", strerror(errno));
		goto fail;
	}
	f.sha = EVP_MD_CTX_new();
	if (!f.sha || EVP_DigestInit_ex(f.sha, EVP_sha256(), NULL) != 1) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(what, sizeof(what), "cannot fetch %s", url);
	/* one attempt: the uploader is waiting, and can try again */
	struct httpc_request req = {
		.method = "GET", .url = url, .what = what, .fail_code = BO_EFETCH, .max_attempts = 1,
		.sink = fetch_write, .max_body = (size_t)limit, .connect_timeout_s = 30,
		.timeout_s = (long)a->cfg->fetch_timeout, .max_redirects = 5, .user_agent = "bioimageio-backoffice",
		.allow_address = fetch_allow, .ctx = &f,
	};
	rc = httpc_perform(&resp, &req, &e);
	if (f.refused) {
		rc = bo_error_set(err, BO_EBADREQUEST,
				  "%s leads to %s, an internal address; package URLs must be public", url, f.refused_ip);
		goto fail;
	}
	if (resp.too_large) {
		rc = bo_error_set(err, BO_ETOOLARGE, "the package at the URL exceeds %llu bytes (max_upload_bytes)",
				  (unsigned long long)limit);
		goto fail;
	}
	if (rc) {
		bo_error_move(err, &e, rc);
		goto fail;
	}
	if (resp.status >= 400) {
		rc = bo_error_set(err, BO_EFETCH, "fetching %s returned HTTP %ld", url, resp.status);
		goto fail;
	}
	if (fsync(f.fd) != 0) {
		rc = bo_error_set(err, BO_ESTORAGE, "cannot flush the fetched package: %s", strerror(errno));
		goto fail;
	}
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(f.sha, md, &mdlen);
	hex_encode(sha256_hex, md, mdlen);
	*size_out = f.size;
	*path_out = path;
	path = NULL;
fail:
	if (f.fd >= 0)
		close(f.fd);
	if (path) {
		unlink(path);
		free(path);
	}
	EVP_MD_CTX_free(f.sha);
	httpc_response_cleanup(&resp);
	bo_error_cleanup(&e);
	return rc;
}

/* routes_pages: the web pages (the .html files of static_dir) and their assets (/static/…), with a strict
 * Content-Security-Policy: everything comes from this server, no inline script or style, no
 * framing. Asset paths are checked before any file is opened: only [A-Za-z0-9._-] segments
 * that do not start with a dot, so nothing outside static_dir can be named. The pages'
 * libraries (marked, DOMPurify) are served from vendor_dir by an allow-list of their two
 * browser builds: /static/vendor/<file> names nothing else of node_modules. */
#include "http/routes.h"

#include "app.h"
#include "common/arena.h"
#include "common/error.h"
#include "infra/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSET_PATH_MAX 200
#define ASSET_MAX_BYTES (8U << 20)

struct ctype {
	const char *ext, *type;
};

static const struct ctype ctypes[] = {
	{".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"}, {".svg", "image/svg+xml"},
	{".png", "image/png"}, {".ico", "image/x-icon"},
	{".json", "application/json"}, {".txt", "text/plain; charset=utf-8"},
	{".woff2", "font/woff2"},
};

static const char *content_type(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
		size_t e = strlen(ctypes[i].ext);
		if (n > e && !strcmp(path + n - e, ctypes[i].ext))
			return ctypes[i].type;
	}
	return NULL;
}

static int asset_path_ok(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	if (n == 0 || n > ASSET_PATH_MAX)
		return 0;
	int seg_start = 1;
	for (const char *s = p; *s; s++) {
		char ch = *s;
		if (ch == '/') {
			if (seg_start) /* empty segment */
				return 0;
			seg_start = 1;
			continue;
		}
		if (seg_start && ch == '.')
			return 0;
		seg_start = 0;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	return !seg_start;
}

/* Images may come from the S3 endpoint (the /files/ route redirects there), and from blob:
 * URLs the upload page makes of the covers it reads out of the chosen zip. */
static int security_headers(http_req *r, int page)
{
	const struct config *cfg = http_app(r)->cfg;
	const char *img_extra = "";
	if (cfg->storage && !strcmp(cfg->storage, "s3") && cfg->s3_endpoint && cfg->s3_endpoint[0])
		img_extra = arena_printf(http_arena(r), " %s", cfg->s3_endpoint);
	const char *csp = arena_printf(http_arena(r),
				       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:%s; "
				       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
				       "frame-ancestors 'none'",
				       img_extra ? img_extra : "");
	if (!csp)
		return bo_error_set(http_err(r), BO_ENOMEM, "out of memory");
	int rc = 0;
	if (page)
		rc |= http_add_header(r, "Content-Security-Policy", csp);
	rc |= http_add_header(r, "X-Content-Type-Options", "nosniff");
	/* the sign-in page's URL holds a one-time token: never send it anywhere */
	rc |= http_add_header(r, "Referrer-Policy", "no-referrer");
	rc |= http_add_header(r, "X-Frame-Options", "DENY");
	rc |= http_add_header(r, "Cache-Control", page ? "no-store" : "no-cache");
	return rc ? http_err(r)->code : 0;
}

/* /static/vendor/<name> -> <vendor_dir>/<file>: the UMD builds, which define a global
 * (marked, DOMPurify) for a plain <script> */
static const struct vendor_file {
	const char *name, *file;
} vendor_files[] = {
	{"marked.min.js", "marked/marked.min.js"},
	{"purify.min.js", "dompurify/dist/purify.min.js"},
};

/* hint: said when the file is missing (NULL: "no asset /static/<rel>") */
static int serve_path(http_req *r, const char *dir, const char *rel, int page, const char *hint)
{
	struct bo_error *err = http_err(r);
	const char *type = content_type(rel);
	if (!type)
		return bo_error_set(err, BO_ENOTFOUND, "no asset %s (unknown file type)", rel);
	const char *path = arena_printf(http_arena(r), "%s/%s", dir, rel);
	if (!path)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > ASSET_MAX_BYTES) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (fd < 0 && e != ENOENT && e != ENOTDIR)
			return bo_error_set(err, BO_EINTERNAL, "cannot read %s: %s (check static_dir and vendor_dir)", path,
					    strerror(e));
		return hint ? bo_error_set(err, BO_ENOTFOUND, "%s", hint) : bo_error_set(err, BO_ENOTFOUND, "no asset /static/%s", rel);
	}
	int rc = security_headers(r, page);
	if (rc) {
		close(fd);
		return rc;
	}
	char etag[80];
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb.st_size,
		 (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)sb.st_mtim.tv_nsec);
	rc = http_add_header(r, "ETag", etag);
	if (rc) {
		close(fd);
		return rc;
	}
	const char *inm = http_header(r, "If-None-Match");
	if (inm && strstr(inm, etag)) {
		close(fd);
		return http_reply_data(r, 304, type, "", 0);
	}
	return http_reply_fd(r, 200, type, fd, (uint64_t)sb.st_size);
}

static int serve_file(http_req *r, const char *rel, int page)
{
	return serve_path(r, http_app(r)->cfg->static_dir, rel, page, NULL);
}

static int get_upload_page(http_req *r)
{
	return serve_file(r, "index.html", 1);
}

static int get_review_page(http_req *r)
{
	return serve_file(r, "review.html", 1);
}

static int get_status_page(http_req *r)
{
	return serve_file(r, "status.html", 1);
}

static int get_collection_page(http_req *r)
{
	return serve_file(r, "collection.html", 1);
}

static int get_detail_page(http_req *r)
{
	return serve_file(r, "detail.html", 1);
}

static int get_signin_page(http_req *r)
{
	return serve_file(r, "signin.html", 1);
}

static int get_my_page(http_req *r)
{
	return serve_file(r, "my.html", 1);
}

static int get_asset(http_req *r)
{
	const char *p = http_param(r, "path");
	if (!asset_path_ok(p))
		return bo_error_set(http_err(r), BO_ENOTFOUND,
				    "no asset /static/%.200s (names are [A-Za-z0-9._-] segments, no leading dot)",
				    p ? p : "");
	if (!strncmp(p, "vendor/", 7)) {
		for (size_t i = 0; i < sizeof(vendor_files) / sizeof(vendor_files[0]); i++)
			if (!strcmp(p + 7, vendor_files[i].name))
				return serve_path(r, http_app(r)->cfg->vendor_dir, vendor_files[i].file, 0,
						  "the pages' libraries are not installed in vendor_dir (make deps-web)");
		return bo_error_set(http_err(r), BO_ENOTFOUND, "no asset /static/%.200s (vendor/ has marked.min.js and purify.min.js)",
				    p);
	}
	return serve_file(r, p, 0);
}

static const struct route table[] = {
	{"GET", "/", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_upload_page, "web page: upload a package"},
	{"GET", "/review", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_review_page, "web page: the review queue and drafts"},
	{"GET", "/status/{id}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_status_page, "web page: a draft's status"},
	{"GET", "/collection", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_collection_page, "web page: the published collection"},
	{"GET", "/my", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_my_page, "web page: my uploads (drafts and resources I maintain)"},
	{"GET", "/collection/{id}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_detail_page,
	 "web page: one published resource (documentation, covers, versions, citation, download)"},
	{"GET", "/signin/{token}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_signin_page,
	 "web page: exchanges a sign-in link for a session"},
	{"GET", "/static/{*path}", HTTP_BODY_NONE, AUTH_ROLE_NONE, get_asset, "the pages' scripts, styles and images (ETag)"},
};

const struct route_table routes_pages = {table, sizeof(table) / sizeof(table[0])};

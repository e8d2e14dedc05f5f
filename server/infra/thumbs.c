/* thumbs: libvips is process-global, so its start-up and lock-down happen once
 * (pthread_once) and every thumbnail goes through the same three gates: the loader must
 * be one we allow, the header's pixel count must be under the limit, and the decode must
 * not report truncation or corruption. The output is rendered to memory (it is small)
 * before it is written, so a decode error is never mistaken for a write error. */
#include "infra/thumbs.h"

#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

/* The formats a cover or icon may use: the raster formats of the RDF spec (png, jpeg,
 * gif) plus webp, which browsers show too. Everything else is blocked: svg goes through
 * librsvg (XML, external references), tiff through libtiff (a long CVE history, and
 * multi-page/tiled layouts covers never need), and magick/pdf/heif/jxl/openslide are
 * large parsers we have no use for. The website shows the original in those cases. */
static const char *const allowed_classes[] = {"VipsForeignLoadPng", "VipsForeignLoadJpeg",
					      "VipsForeignLoadNsgif", "VipsForeignLoadWebp"};

#define N_ALLOWED (sizeof(allowed_classes) / sizeof(allowed_classes[0]))

/* libvips itself is global state; these only remember whether it was started. */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

/* libvips reports damaged input as GLib warnings on stderr; they belong in our log, at
 * debug level, since the caller already turns the failure into one clear message. */
static void route_vips_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	(void)level, (void)data;
	log_debug("%s: %s", domain ? domain : "glib", message);
}

static void init_vips(void)
{
	if (VIPS_INIT("backoffice") != 0) {
		init_rc = -1;
		return;
	}
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
			  route_vips_log, NULL);
	/* untrusted first (magick, pdf, svg, …), then every loader but ours */
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (size_t i = 0; i < N_ALLOWED; i++)
		vips_operation_block_set(allowed_classes[i], FALSE);
	/* one thread per pipeline: stage jobs already run in parallel, and a thumbnail is small */
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	init_rc = 0;
}

int thumbs_init(struct bo_error *err)
{
	pthread_once(&init_once, init_vips);
	if (init_rc != 0) {
		char *msg = vips_error_buffer_copy();
		bo_error_set(err, BO_EINTERNAL, "cannot start libvips: %s", msg ? msg : "unknown error");
		g_free(msg);
		return err->code;
	}
	return 0;
}

void thumbs_shutdown(void)
{
	if (init_rc == 0) {
		vips_shutdown();
		init_rc = -1;
	}
}

/* The first line of libvips's error text, cleared for the next call. libvips keeps
 * one buffer per process, so under concurrent jobs a line may come from another
 * thumbnail; it is only ever used as a hint after our own message. */
static void vips_reason(const char *src_path, char *buf, size_t len)
{
	char *msg = vips_error_buffer_copy();
	snprintf(buf, len, "%s", msg && *msg ? msg : "unknown error");
	g_free(msg);
	buf[strcspn(buf, "\r\n")] = '\0';
	/* the message is shown to uploaders: drop our scratch directory from it */
	const char *slash = strrchr(src_path, '/');
	size_t dlen = slash ? (size_t)(slash - src_path) + 1 : 0;
	char *hit;
	while (dlen && (hit = memmem(buf, strlen(buf), src_path, dlen)))
		memmove(hit, hit + dlen, strlen(hit + dlen) + 1);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* loader is a class name such as VipsForeignLoadPngFile: a subclass of an allowed base */
static int loader_allowed(const char *loader)
{
	for (size_t i = 0; i < N_ALLOWED; i++) {
		size_t n = strlen(allowed_classes[i]);
		if (!strncmp(loader, allowed_classes[i], n) && !strcmp(loader + n, "File"))
			return 1;
	}
	return 0;
}

int thumbs_make(const char *src_path, const char *dst_png_path, int max_w, int max_h, int64_t max_pixels,
		struct bo_error *err)
{
	VipsImage *head = NULL, *thumb = NULL, *mem = NULL;
	char tmp[4200], reason[512];
	const char *name = base_name(src_path);
	int rc = BO_EINTERNAL, tmp_written = 0;

	if (init_rc != 0)
		return bo_error_set(err, BO_EINTERNAL, "thumbnails: libvips is not started (thumbs_init)");
	if (max_w < 1 || max_h < 1)
		return bo_error_set(err, BO_EINTERNAL, "thumbnails: bad target size %dx%d", max_w, max_h);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst_png_path) >= (int)sizeof(tmp))
		return bo_error_set(err, BO_EINTERNAL, "thumbnails: destination path too long");

	/* gate 1: sniff the format; defence in depth besides the class blocking */
	const char *loader = vips_foreign_find_load(src_path);
	if (!loader) {
		vips_error_clear();
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "%s is not a readable PNG, JPEG, GIF or WebP image", name);
		goto fail;
	}
	if (!loader_allowed(loader)) {
		/* VipsForeignLoadSvgFile -> SvgFile: enough to name the format */
		const char *fmt = !strncmp(loader, "VipsForeignLoad", 15) ? loader + 15 : loader;
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "%s is in a format not accepted for thumbnails (%s); use PNG, JPEG, GIF or WebP",
				  name, fmt);
		goto fail;
	}
	/* gate 2: the header only (libvips opens lazily); decompression bombs stop here */
	head = vips_image_new_from_file(src_path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!head) {
		vips_reason(src_path, reason, sizeof(reason));
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "%s cannot be read as an image (%s)", name, reason);
		goto fail;
	}
	int64_t w = vips_image_get_width(head), h = vips_image_get_height(head);
	if (w < 1 || h < 1 || w * h > max_pixels) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "%s is %lldx%lld pixels, more than the %lld allowed (max_image_pixels); use a smaller "
				  "image",
				  name, (long long)w, (long long)h, (long long)max_pixels);
		goto fail;
	}
	g_object_unref(head);
	head = NULL;
	/* gate 3: decode (first page only, the default), failing on truncation or corruption */
	if (vips_thumbnail(src_path, &thumb, max_w, "height", max_h, "size", VIPS_SIZE_DOWN, "fail_on",
			   VIPS_FAIL_ON_TRUNCATED, NULL) != 0) {
		vips_reason(src_path, reason, sizeof(reason));
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "%s cannot be decoded (%s)", name, reason);
		goto fail;
	}
	mem = vips_image_copy_memory(thumb);
	if (!mem) {
		vips_reason(src_path, reason, sizeof(reason));
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "%s cannot be decoded (%s)", name, reason);
		goto fail;
	}
	tmp_written = 1;
	if (vips_pngsave(mem, tmp, "strip", TRUE, "compression", 9, NULL) != 0) {
		vips_reason(src_path, reason, sizeof(reason));
		rc = bo_error_set(err, BO_EINTERNAL, "cannot write thumbnail %s: %s", tmp, reason);
		goto fail;
	}
	if (rename(tmp, dst_png_path) != 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot rename %s to %s: %s", tmp, dst_png_path,
				  strerror(errno));
		goto fail;
	}
	tmp_written = 0;
	rc = 0;
fail:
	if (tmp_written)
		unlink(tmp);
	if (head)
		g_object_unref(head);
	if (thumb)
		g_object_unref(thumb);
	if (mem)
		g_object_unref(mem);
	return rc;
}

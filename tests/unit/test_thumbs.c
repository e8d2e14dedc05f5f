/* Unit tests for thumbs: inputs are generated here with libvips itself (PNG, JPEG,
 * animated GIF), by hand (an SVG, a PNG whose header claims 30000×30000 pixels) or by
 * damaging a good file (truncation); outputs are read back with libvips. */
#include "check.h"

#include "common/error.h"
#include "infra/thumbs.h"

#include <stdint.h>
#include <vips/vips.h>

#define MAX_PIXELS INT64_C(40000000)

/* A w×h RGB image with the given constant value in every band, saved by suffix. */
static int make_image(const char *path, int w, int h, double value)
{
	VipsImage *black = NULL, *img = NULL;
	int rc = -1;
	if (vips_black(&black, w, h, "bands", 3, NULL) == 0 && vips_linear1(black, &img, 1.0, value, "uchar", TRUE, NULL) == 0 &&
	    vips_image_write_to_file(img, path, NULL) == 0)
		rc = 0;
	if (black)
		g_object_unref(black);
	if (img)
		g_object_unref(img);
	return rc;
}

static int read_size(const char *path, int *w, int *h, double *avg)
{
	VipsImage *img = vips_image_new_from_file(path, NULL);
	if (!img)
		return -1;
	*w = vips_image_get_width(img);
	*h = vips_image_get_height(img);
	int rc = avg ? vips_avg(img, avg, NULL) : 0;
	g_object_unref(img);
	return rc;
}

static int is_png(const char *path)
{
	unsigned char sig[8] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(sig, 1, sizeof(sig), f);
	fclose(f);
	return n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8);
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_thumbs__large_png_fits_box(void)
{
	struct bo_error err = BO_ERROR_INIT;
	int w = 0, h = 0;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	require(make_image("big.png", 2000, 1000, 100) == 0, "cannot make big.png");
	int rc = thumbs_make("big.png", "big.thumb.png", 600, 340, MAX_PIXELS, &err);
	require(rc == 0, "rc %d: %s", rc, err.detail);
	check(is_png("big.thumb.png"), "output is not a PNG");
	require(read_size("big.thumb.png", &w, &h, NULL) == 0, "cannot read output");
	check(w == 600 && h == 300, "got %dx%d, want 600x300", w, h);
	check(!exists("big.thumb.png.tmp"), "temp file left behind");
	/* a tall image is limited by the height */
	require(make_image("tall.png", 500, 1000, 100) == 0, "cannot make tall.png");
	rc = thumbs_make("tall.png", "tall.thumb.png", 600, 340, MAX_PIXELS, &err);
	require(rc == 0, "rc %d: %s", rc, err.detail);
	require(read_size("tall.thumb.png", &w, &h, NULL) == 0, "cannot read output");
	check(w == 170 && h == 340, "got %dx%d, want 170x340", w, h);
	bo_error_cleanup(&err);
}

static void test_thumbs__small_not_upscaled(void)
{
	struct bo_error err = BO_ERROR_INIT;
	int w = 0, h = 0;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	require(make_image("small.png", 120, 40, 7) == 0, "cannot make small.png");
	int rc = thumbs_make("small.png", "out.png", 320, 320, MAX_PIXELS, &err);
	require(rc == 0, "rc %d: %s", rc, err.detail);
	require(read_size("out.png", &w, &h, NULL) == 0, "cannot read output");
	check(w == 120 && h == 40, "got %dx%d, want 120x40 (no upscaling)", w, h);
	bo_error_cleanup(&err);
}

static void test_thumbs__jpeg(void)
{
	struct bo_error err = BO_ERROR_INIT;
	int w = 0, h = 0;
	double avg = 0;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	require(make_image("photo.jpg", 800, 800, 200) == 0, "cannot make photo.jpg");
	int rc = thumbs_make("photo.jpg", "photo.png", 320, 320, MAX_PIXELS, &err);
	require(rc == 0, "rc %d: %s", rc, err.detail);
	check(is_png("photo.png"), "output is not a PNG");
	require(read_size("photo.png", &w, &h, &avg) == 0, "cannot read output");
	check(w == 320 && h == 320, "got %dx%d, want 320x320", w, h);
	check(avg > 195 && avg < 205, "average %.1f, want about 200", avg);
	bo_error_cleanup(&err);
}

static void test_thumbs__svg_blocked(void)
{
	struct bo_error err = BO_ERROR_INIT;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	FILE *f = fopen("cover.svg", "w");
	require(f, "cannot write cover.svg");
	fputs("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"50\">"
	      "<rect width=\"100\" height=\"50\" fill=\"red\"/></svg>\n",
	      f);
	fclose(f);
	int rc = thumbs_make("cover.svg", "out.png", 600, 340, MAX_PIXELS, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d, want BO_EINVALIDPACKAGE", rc);
	check(strstr(err.detail, "cover.svg") != NULL, "detail does not name the file: %s", err.detail);
	check(!exists("out.png") && !exists("out.png.tmp"), "an output was written for a blocked format");
	bo_error_cleanup(&err);
	/* the block also holds when libvips is asked directly, not only through our sniffing */
	VipsImage *img = vips_image_new_from_file("cover.svg", NULL);
	check(img == NULL, "libvips opened an SVG: the svg loader is not blocked");
	if (img)
		g_object_unref(img);
	vips_error_clear();
	bo_error_cleanup(&err);
}

/* webp is allowed; tiff is blocked on purpose (libtiff, multi-page layouts covers never need) */
static void test_thumbs__webp_allowed_tiff_blocked(void)
{
	struct bo_error err = BO_ERROR_INIT;
	int w = 0, h = 0;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	require(make_image("c.webp", 700, 700, 50) == 0, "cannot make c.webp");
	int rc = thumbs_make("c.webp", "webp.png", 600, 340, MAX_PIXELS, &err);
	require(rc == 0, "webp: rc %d: %s", rc, err.detail);
	require(read_size("webp.png", &w, &h, NULL) == 0, "cannot read output");
	check(w == 340 && h == 340, "got %dx%d, want 340x340", w, h);
	require(make_image("c.tif", 100, 100, 50) == 0, "cannot make c.tif");
	rc = thumbs_make("c.tif", "tif.png", 600, 340, MAX_PIXELS, &err);
	check(rc == BO_EINVALIDPACKAGE, "tiff: rc %d, want BO_EINVALIDPACKAGE", rc);
	check(strstr(err.detail, "c.tif") != NULL, "detail: %s", err.detail);
	check(!exists("tif.png"), "an output was written for a tiff");
	bo_error_cleanup(&err);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

static void write_chunk(FILE *f, const char *type, const unsigned char *data, uint32_t len)
{
	unsigned char buf[64];
	put_be32(buf, len);
	fwrite(buf, 1, 4, f);
	memcpy(buf, type, 4);
	if (len)
		memcpy(buf + 4, data, len);
	fwrite(buf, 1, 4 + len, f);
	put_be32(buf, crc32_png(buf, 4 + len));
	fwrite(buf, 1, 4, f);
}

static void test_thumbs__bomb_refused_from_header(void)
{
	struct bo_error err = BO_ERROR_INIT;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	/* a valid-looking PNG: 30000×30000 8-bit grey, an IDAT of an empty zlib stream */
	unsigned char ihdr[13] = {0};
	put_be32(ihdr, 30000);
	put_be32(ihdr + 4, 30000);
	ihdr[8] = 8; /* bit depth */
	ihdr[9] = 0; /* greyscale */
	static const unsigned char idat[] = {0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};
	FILE *f = fopen("bomb.png", "wb");
	require(f, "cannot write bomb.png");
	fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
	write_chunk(f, "IHDR", ihdr, sizeof(ihdr));
	write_chunk(f, "IDAT", idat, sizeof(idat));
	write_chunk(f, "IEND", NULL, 0);
	fclose(f);
	int rc = thumbs_make("bomb.png", "out.png", 600, 340, MAX_PIXELS, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d, want BO_EINVALIDPACKAGE", rc);
	/* the pixel gate answered (it names the size and the option), not a decode error */
	check(strstr(err.detail, "30000x30000") && strstr(err.detail, "max_image_pixels"),
	      "not refused by the header check: %s", err.detail);
	check(!exists("out.png"), "an output was written for a bomb");
	bo_error_cleanup(&err);
	/* the limit is the caller's: a real image just over it is refused the same way */
	require(make_image("over.png", 100, 100, 1) == 0, "cannot make over.png");
	rc = thumbs_make("over.png", "out.png", 600, 340, 9999, &err);
	check(rc == BO_EINVALIDPACKAGE && strstr(err.detail, "max_image_pixels"), "rc %d: %s", rc, err.detail);
	bo_error_cleanup(&err);
	rc = thumbs_make("over.png", "out.png", 600, 340, 10000, &err);
	check(rc == 0, "exactly at the limit: rc %d: %s", rc, err.detail);
	bo_error_cleanup(&err);
}

static void test_thumbs__truncated(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct stat sb;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	/* noise so the compressed data is long enough to cut in the middle */
	VipsImage *noise = NULL;
	require(vips_gaussnoise(&noise, 400, 400, "mean", 128.0, "sigma", 40.0, NULL) == 0, "gaussnoise");
	int wrc = vips_image_write_to_file(noise, "whole.png", NULL);
	g_object_unref(noise);
	require(wrc == 0, "cannot make whole.png");
	require(stat("whole.png", &sb) == 0 && sb.st_size > 2000, "whole.png too small");
	require(truncate("whole.png", sb.st_size / 2) == 0, "truncate");
	int rc = thumbs_make("whole.png", "out.png", 100, 100, MAX_PIXELS, &err);
	check(rc == BO_EINVALIDPACKAGE, "rc %d, want BO_EINVALIDPACKAGE (%s)", rc, err.detail);
	check(strstr(err.detail, "whole.png") && strstr(err.detail, "cannot be decoded"), "detail: %s", err.detail);
	check(!strchr(err.detail, '\n'), "detail is not one line: %s", err.detail);
	check(!exists("out.png") && !exists("out.png.tmp"), "an output was written for a truncated file");
	bo_error_cleanup(&err);
	/* not an image at all */
	FILE *f = fopen("notes.png", "w");
	require(f, "cannot write notes.png");
	fputs("this is text, not a PNG\n", f);
	fclose(f);
	rc = thumbs_make("notes.png", "out.png", 100, 100, MAX_PIXELS, &err);
	check(rc == BO_EINVALIDPACKAGE && strstr(err.detail, "notes.png"), "rc %d: %s", rc, err.detail);
	bo_error_cleanup(&err);
	/* a destination that cannot be written is ours, not the uploader's */
	require(make_image("ok.png", 10, 10, 1) == 0, "cannot make ok.png");
	rc = thumbs_make("ok.png", "no-such-dir/out.png", 100, 100, MAX_PIXELS, &err);
	check(rc == BO_EINTERNAL, "rc %d, want BO_EINTERNAL (%s)", rc, err.detail);
	bo_error_cleanup(&err);
}

static void test_thumbs__gif_first_frame(void)
{
	struct bo_error err = BO_ERROR_INIT;
	int w = 0, h = 0;
	double avg = -1;
	require(thumbs_init(&err) == 0, "init: %s", err.detail);
	/* three 200×100 frames stacked: white, then two black ones */
	VipsImage *white = NULL, *black = NULL, *frames[3] = {NULL, NULL, NULL}, *anim = NULL;
	int ok = vips_black(&black, 200, 100, "bands", 3, NULL) == 0 &&
		 vips_linear1(black, &white, 1.0, 255.0, "uchar", TRUE, NULL) == 0;
	if (ok) {
		frames[0] = white;
		frames[1] = black;
		frames[2] = black;
		ok = vips_arrayjoin(frames, &anim, 3, "across", 1, NULL) == 0;
	}
	if (ok) {
		vips_image_set_int(anim, "page-height", 100);
		ok = vips_gifsave(anim, "anim.gif", NULL) == 0;
	}
	if (white)
		g_object_unref(white);
	if (black)
		g_object_unref(black);
	if (anim)
		g_object_unref(anim);
	require(ok, "cannot make anim.gif: %s", vips_error_buffer());
	VipsImage *all = vips_image_new_from_file("anim.gif", "n", -1, NULL);
	require(all, "cannot read anim.gif back");
	int pages = vips_image_get_n_pages(all);
	g_object_unref(all);
	require(pages == 3, "anim.gif has %d pages, want 3", pages);
	int rc = thumbs_make("anim.gif", "anim.png", 600, 340, MAX_PIXELS, &err);
	require(rc == 0, "rc %d: %s", rc, err.detail);
	require(read_size("anim.png", &w, &h, &avg) == 0, "cannot read output");
	check(w == 200 && h == 100, "got %dx%d, want one 200x100 frame", w, h);
	check(avg > 250, "average %.1f: not the white first frame", avg);
	bo_error_cleanup(&err);
}

static const struct check_test tests[] = {
	TEST(test_thumbs__large_png_fits_box),
	TEST(test_thumbs__small_not_upscaled),
	TEST(test_thumbs__jpeg),
	TEST(test_thumbs__svg_blocked),
	TEST(test_thumbs__webp_allowed_tiff_blocked),
	TEST(test_thumbs__bomb_refused_from_header),
	TEST(test_thumbs__truncated),
	TEST(test_thumbs__gif_first_frame),
};

int main(int argc, char **argv)
{
	int rc = check_run(argc, argv, tests, sizeof tests / sizeof *tests);
	thumbs_shutdown();
	return rc;
}

/* thumbs: PNG thumbnails of a package's cover, icon and badge images (libvips), for
 * the stage job. Images are untrusted: only the png, jpeg, gif and webp loaders are
 * allowed, the pixel count is checked on the header before anything is decoded, and
 * only the first page/frame is read. */
#ifndef BO_THUMBS_H
#define BO_THUMBS_H

#include <stdint.h>

struct bo_error;

/* Starts libvips for this process and locks it down (loaders other than png, jpeg,
 * gif and webp blocked, one worker thread per pipeline, operation cache off). Safe to
 * call more than once and from several threads: only the first call does the work, the
 * others return its result. 0, or BO_EINTERNAL when libvips cannot start. */
int thumbs_init(struct bo_error *err);

/* Shuts libvips down at process exit; no thumbs_* call may follow. Does nothing when
 * thumbs_init never ran. */
void thumbs_shutdown(void);

/* Writes a PNG of src_path (its first page/frame) that fits in max_w × max_h keeping
 * the aspect ratio, never upscaled, to dst_png_path (via dst_png_path.tmp + rename, so
 * a reader never sees half a file). thumbs_init must have succeeded.
 * Returns 0; BO_EINVALIDPACKAGE with a one-line reason when the image cannot be used
 * (unknown or blocked format, more than max_pixels = width × height pixels in the
 * header, truncated or corrupt data): a warning for the uploader; BO_EINTERNAL when
 * the PNG cannot be written. */
int thumbs_make(const char *src_path, const char *dst_png_path, int max_w, int max_h, int64_t max_pixels,
		struct bo_error *err);

#endif

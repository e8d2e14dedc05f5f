/* package: reading an uploaded package zip (libzip) under limits and path rules.
 * Every entry is checked when the package is opened, before any byte is extracted;
 * extraction streams with SHA-256 and never trusts the sizes the headers declare. */
#ifndef BO_PACKAGE_H
#define BO_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct config;

struct package_limits {
	int64_t max_entries;     /* entries in the zip, directories and junk included */
	int64_t max_total_bytes; /* sum of the declared uncompressed sizes */
	int64_t max_ratio;       /* size / compressed size, for entries over 1 MiB */
	int64_t max_name_bytes;  /* bytes of an entry name (each segment is also <= 255) */
};

/* Fills limits from config (max_zip_entries, max_zip_total_bytes, max_zip_ratio) and
 * limits.h (LIMIT_ZIP_NAME_BYTES). cfg NULL gives the limits.h defaults. */
void package_limits_from_config(struct package_limits *out, const struct config *cfg);

typedef struct package package;

/* Opens the zip at zip_path and checks EVERY entry before anything is extracted.
 * Returns 0 and *out (free with package_close), or:
 *  BO_EINVALIDPACKAGE  not a zip, truncated, corrupt or inconsistent central directory,
 *                      multi-part archive; or one or more bad entries: bad names (empty,
 *                      absolute, drive letter, "..", backslash, NUL, control characters,
 *                      invalid UTF-8, too long), symlinks/devices/other non-regular
 *                      entries, encrypted entries, unsupported compression, duplicates
 *                      after normalisation (case-insensitive) — each bad entry is added to
 *                      err->errors as {loc: ["files", name], msg, type}, all of them;
 *  BO_ETOOLARGE        more than lim->max_entries entries, declared total over
 *                      lim->max_total_bytes, or an entry over 1 MiB whose declared ratio
 *                      exceeds lim->max_ratio (the detail names the limit and its value);
 *  BO_ENOMEM, BO_EINTERNAL (the file cannot be read).
 * Directory entries, "__MACOSX/…" and ".DS_Store" are accepted and skipped. */
int package_open(package **out, const char *zip_path, const struct package_limits *lim,
		 struct bo_error *err);
/* NULL ok. */
void package_close(package *p);

/* Regular-file entries (directories and junk skipped), in archive order. Names are
 * normalised ("./" prefixes and "." segments removed, "//" collapsed) and borrowed from
 * p (valid until package_close). i must be < package_count(p). */
size_t package_count(const package *p);
const char *package_name(const package *p, size_t i);
/* Uncompressed size as declared by the central directory. */
uint64_t package_size(const package *p, size_t i);

/* Finds the RDF among the entries with rdf_find_name. *name_out is borrowed from p.
 * BO_EINVALIDPACKAGE when there is none or the best kind is ambiguous. */
int package_find_rdf(const package *p, const char **name_out, struct bo_error *err);

/* Reads entry i into a malloc'd NUL-terminated buffer (*out, caller frees; *len_out
 * excludes the NUL). BO_ETOOLARGE if the entry has (or turns out to have) more than max
 * bytes or more than its header declares; BO_EINVALIDPACKAGE on CRC error/truncation;
 * BO_ENOMEM. */
int package_read(package *p, size_t i, size_t max, char **out, size_t *len_out,
		 struct bo_error *err);

/* Extracts entry i to dest_path (created 0644, truncated, symlinks not followed),
 * streaming, and computes the SHA-256 (sha256_hex: 65 bytes, lower-case hex) and the
 * real size. BO_ETOOLARGE if more bytes come out than declared; BO_EINVALIDPACKAGE on
 * CRC error or truncation; BO_ESTORAGE when the disk is full; BO_EINTERNAL for other
 * I/O errors. dest_path is removed on failure. sha256_hex and size_out may be NULL. */
int package_extract(package *p, size_t i, const char *dest_path, char *sha256_hex,
		    uint64_t *size_out, struct bo_error *err);

/* Content type from the file extension (case-insensitive); default
 * "application/octet-stream". HTML is served as text/plain so an uploaded page cannot
 * run script on our origin. Returns a static string. */
const char *package_content_type(const char *name);

#endif

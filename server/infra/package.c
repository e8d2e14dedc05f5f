/* package: an uploaded zip, opened under limits. Invariant: a package object exists only
 * if every entry passed the checks (count, sizes, ratio, name rules, entry type,
 * encryption, duplicates), so callers may extract any listed entry under its normalised
 * name. Names are judged on the raw central-directory bytes read by our own scan,
 * because libzip rewrites them (NUL becomes a space, CP437 is converted to UTF-8). */
#include "infra/package.h"

#include "common/error.h"
#include "common/hex.h"
#include "common/limits.h"
#include "common/rdf.h"
#include "common/utf8.h"
#include "infra/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define SEGMENT_MAX 255
#define EOCD_LEN 22
#define CDH_LEN 46
#define DISPLAY_MAX 160

/* One central-directory record as our scan saw it. */
struct raw_entry {
	char *name;       /* first min(len, max_name_bytes + 1) bytes, NUL-terminated */
	size_t len;       /* real length of the name */
	size_t stored;    /* bytes kept in name (may contain NUL bytes) */
	uint16_t gpflags; /* general purpose bit flags */
};

struct entry {
	char *name; /* normalised */
	uint64_t size;
	zip_uint64_t index;
};

struct package {
	zip_t *za;
	struct entry *files;
	size_t n;
	const char **names; /* the names array, for rdf_find_name */
};

void package_limits_from_config(struct package_limits *out, const struct config *cfg)
{
	out->max_entries = cfg ? cfg->max_zip_entries : LIMIT_ZIP_ENTRIES;
	out->max_total_bytes = cfg ? cfg->max_zip_total_bytes : (int64_t)LIMIT_ZIP_TOTAL_BYTES;
	out->max_ratio = cfg ? cfg->max_zip_ratio : LIMIT_ZIP_RATIO;
	out->max_name_bytes = LIMIT_ZIP_NAME_BYTES;
}

/* ---- little helpers ------------------------------------------------------------ */

static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* A printable rendering of an untrusted name for messages and JSON: valid printable
 * UTF-8 is kept, every other byte becomes \xNN; long names are cut with "...". */
static void display_name(char *dst, size_t cap, const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t k = utf8_seq_len(s + i, len - i, &cp);
		if (o + 8 >= cap || o >= DISPLAY_MAX) {
			snprintf(dst + o, cap - o, "...");
			return;
		}
		if (k == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02X", s[i]);
			i++;
		} else {
			memcpy(dst + o, s + i, k);
			o += k;
			i += k;
		}
	}
	dst[o] = '\0';
}

/* ---- our own central directory scan ---------------------------------------------- */

static void raw_free(struct raw_entry *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		free(r[i].name);
	free(r);
}

static int read_at(FILE *f, uint64_t off, void *buf, size_t len)
{
	if (off > (uint64_t)INT64_MAX || fseeko(f, (off_t)off, SEEK_SET) != 0)
		return -1;
	return fread(buf, 1, len, f) == len ? 0 : -1;
}

/* Where the central directory lies, as the end of central directory record says. */
struct cd_span {
	uint64_t count;     /* records */
	uint64_t size;      /* bytes */
	uint64_t off;       /* offset of the first record */
	uint64_t end_limit; /* the directory must end here or before */
};

/* Finds the end of central directory record in the last 64 KiB of the file (fsize bytes)
 * and, when a zip64 locator precedes it, the zip64 record; a multi-part archive is
 * refused. */
static int find_eocd(FILE *f, uint64_t fsize, struct cd_span *cd, struct bo_error *err)
{
	unsigned char *tail = NULL;
	int rc;
	size_t tlen = fsize < EOCD_LEN + 65535 ? (size_t)fsize : EOCD_LEN + 65535;
	tail = malloc(tlen);
	if (!tail)
		return bo_error_set(err, BO_ENOMEM, "out of memory reading the zip directory");
	if (read_at(f, fsize - tlen, tail, tlen)) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read the uploaded package");
		goto fail;
	}
	/* The record closest to the end whose comment fits wins, as unzip does. */
	size_t e = 0;
	int found = 0;
	for (size_t i = tlen - EOCD_LEN + 1; i-- > 0;) {
		if (get32(tail + i) == 0x06054b50 && i + EOCD_LEN + get16(tail + i + 20) <= tlen) {
			e = i;
			found = 1;
			break;
		}
	}
	if (!found) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "not a zip archive (no end of central directory found; the file "
				  "may be truncated); upload a complete .zip file");
		goto fail;
	}
	uint64_t eocd_pos = fsize - tlen + e;
	cd->count = get16(tail + e + 10);
	cd->size = get32(tail + e + 12);
	cd->off = get32(tail + e + 16);
	cd->end_limit = eocd_pos;
	int multidisk = get16(tail + e + 4) != 0 || get16(tail + e + 6) != 0 ||
			get16(tail + e + 8) != get16(tail + e + 10);
	if (eocd_pos >= 20) {
		unsigned char loc[20], z[56];
		if (read_at(f, eocd_pos - 20, loc, sizeof(loc)) == 0 && get32(loc) == 0x07064b50) {
			uint64_t z_off = get64(loc + 8);
			if (z_off > eocd_pos - 20 || read_at(f, z_off, z, sizeof(z)) ||
			    get32(z) != 0x06064b50) {
				rc = bo_error_set(err, BO_EINVALIDPACKAGE,
						  "zip archive is corrupt (bad zip64 end of central "
						  "directory); re-create it with a standard zip tool");
				goto fail;
			}
			multidisk = multidisk || get32(loc + 16) > 1 || get32(z + 16) != 0 ||
				    get32(z + 20) != 0 || get64(z + 24) != get64(z + 32);
			cd->count = get64(z + 32);
			cd->size = get64(z + 40);
			cd->off = get64(z + 48);
			cd->end_limit = z_off;
		}
	}
	if (multidisk) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "multi-part zip archives are not supported; upload a single .zip");
		goto fail;
	}
	rc = 0;
fail:
	free(tail);
	return rc;
}

/* Reads the cd->count records of the central directory into raw (room for all of them),
 * keeping at most keep_max bytes of each name. *nraw counts the records whose name was
 * allocated, also on failure (for raw_free). */
static int read_records(FILE *f, const struct cd_span *cd, size_t keep_max, struct raw_entry *raw, size_t *nraw,
			struct bo_error *err)
{
	unsigned char h[CDH_LEN];
	uint64_t used = 0;
	*nraw = 0;
	if (cd->off > (uint64_t)INT64_MAX || fseeko(f, (off_t)cd->off, SEEK_SET) != 0)
		goto corrupt;
	while (*nraw < cd->count) {
		if (cd->size - used < CDH_LEN || fread(h, 1, CDH_LEN, f) != CDH_LEN || get32(h) != 0x02014b50)
			goto corrupt;
		size_t nlen = get16(h + 28);
		uint64_t skip = (uint64_t)get16(h + 30) + get16(h + 32);
		used += CDH_LEN + nlen + skip;
		if (used > cd->size)
			goto corrupt;
		size_t keep = nlen < keep_max ? nlen : keep_max;
		struct raw_entry *r = &raw[*nraw];
		r->name = malloc(keep + 1);
		if (!r->name)
			return bo_error_set(err, BO_ENOMEM, "out of memory reading the zip directory");
		(*nraw)++;
		r->len = nlen;
		r->stored = keep;
		r->gpflags = get16(h + 8);
		if (fread(r->name, 1, keep, f) != keep)
			goto corrupt;
		r->name[keep] = '\0';
		skip += nlen - keep;
		if (skip && fseeko(f, (off_t)skip, SEEK_CUR) != 0)
			goto corrupt;
	}
	return 0;
corrupt:
	return bo_error_set(err, BO_EINVALIDPACKAGE,
			    "zip archive is truncated or corrupt (bad central directory record "
			    "%zu); upload a complete .zip file",
			    *nraw + 1);
}

/* Finds the end of central directory (zip64 aware), checks the entry count against the
 * limit before anything is allocated for it, and reads every record's raw name. */
static int scan_cd(const char *path, const struct package_limits *lim, struct raw_entry **out,
		   size_t *n_out, struct bo_error *err)
{
	FILE *f = NULL;
	struct raw_entry *raw = NULL;
	size_t nraw = 0;
	struct cd_span cd = {0};
	struct stat st;
	int rc = BO_EINVALIDPACKAGE;

	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st) != 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read the uploaded package: %s",
				  strerror(errno));
		goto fail;
	}
	uint64_t fsize = (uint64_t)st.st_size;
	if (fsize < EOCD_LEN) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "not a zip archive (%llu bytes, too short); upload a .zip file",
				  (unsigned long long)fsize);
		goto fail;
	}
	rc = find_eocd(f, fsize, &cd, err);
	if (rc)
		goto fail;
	if (cd.count > (uint64_t)lim->max_entries) {
		rc = bo_error_set(err, BO_ETOOLARGE,
				  "package has %llu entries; the limit is %lld (max_zip_entries)",
				  (unsigned long long)cd.count, (long long)lim->max_entries);
		goto fail;
	}
	if (cd.off > cd.end_limit || cd.size > cd.end_limit - cd.off || cd.count * CDH_LEN > cd.size) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "zip archive is truncated or corrupt (the central directory does "
				  "not fit in the file); upload a complete .zip file");
		goto fail;
	}
	raw = calloc(cd.count ? cd.count : 1, sizeof(*raw));
	if (!raw) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading the zip directory");
		goto fail;
	}
	rc = read_records(f, &cd, (size_t)lim->max_name_bytes + 1, raw, &nraw, err);
	if (rc)
		goto fail;
	*out = raw;
	*n_out = nraw;
	raw = NULL;
	rc = 0;
fail:
	raw_free(raw, nraw);
	if (f)
		fclose(f);
	return rc;
}

/* ---- name rules ------------------------------------------------------------------ */

/* Checks a raw name; returns NULL when it is acceptable, else the reason, and sets
 * *type to the problem type. */
static const char *name_problem(const struct raw_entry *r, const struct package_limits *lim,
				const char **type, char *buf, size_t cap)
{
	const unsigned char *s = (const unsigned char *)r->name;
	*type = "invalid_name";
	if (r->len == 0)
		return "the name is empty";
	if (r->len > (size_t)lim->max_name_bytes) {
		snprintf(buf, cap, "the name is %zu bytes; the limit is %lld bytes", r->len,
			 (long long)lim->max_name_bytes);
		return buf;
	}
	for (size_t i = 0; i < r->len;) {
		uint32_t cp = 0;
		size_t k = utf8_seq_len(s + i, r->len - i, &cp);
		if (k == 0)
			return "the name is not valid UTF-8";
		if (cp == 0)
			return "the name contains a NUL byte";
		if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
			return "the name contains a control character";
		if (cp == '\\')
			return "the name contains a backslash; use '/' between folders";
		i += k;
	}
	if (s[0] == '/') {
		*type = "absolute_path";
		return "the name is an absolute path; use paths relative to the package root";
	}
	if (((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') && r->len >= 2 && s[1] == ':') {
		*type = "absolute_path";
		return "the name starts with a drive letter; use paths relative to the package root";
	}
	size_t seg = 0;
	for (size_t i = 0; i <= r->len; i++) {
		if (i == r->len || s[i] == '/') {
			if (seg == 2 && s[i - 1] == '.' && s[i - 2] == '.') {
				*type = "path_traversal";
				return "the name has a '..' segment; keep every path inside the package";
			}
			if (seg > SEGMENT_MAX)
				return "a folder or file name in the path is longer than 255 bytes";
			seg = 0;
		} else {
			seg++;
		}
	}
	return NULL;
}

/* "./a//b/./c" -> "a/b/c" (a trailing '/' is dropped too). Caller frees. */
static char *normalise(const char *name, size_t len)
{
	char *o = malloc(len + 1);
	size_t n = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && name[j] != '/')
			j++;
		size_t seg = j - i;
		if (seg > 0 && !(seg == 1 && name[i] == '.')) {
			if (n)
				o[n++] = '/';
			memcpy(o + n, name + i, seg);
			n += seg;
		}
		i = j + 1;
	}
	o[n] = '\0';
	return o;
}

static int is_junk(const char *norm)
{
	const char *base = strrchr(norm, '/');
	base = base ? base + 1 : norm;
	return strncmp(norm, "__MACOSX/", 9) == 0 || strcmp(norm, "__MACOSX") == 0 ||
	       strcmp(base, ".DS_Store") == 0;
}

/* ---- a small string set for duplicate detection (case-insensitive) ------------------- */

struct sset {
	char **slot;
	size_t cap, n;
};

static uint64_t hash_lower(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

static int eq_lower(const char *a, const char *b, size_t blen)
{
	return strlen(a) == blen && strncasecmp(a, b, blen) == 0;
}

static char **sset_find(const struct sset *s, const char *key, size_t len)
{
	size_t i = (size_t)hash_lower(key, len) & (s->cap - 1);
	while (s->slot[i] && !eq_lower(s->slot[i], key, len))
		i = (i + 1) & (s->cap - 1);
	return &s->slot[i];
}

static int sset_has(const struct sset *s, const char *key, size_t len)
{
	return s->cap && *sset_find(s, key, len) != NULL;
}

/* Adds key[0..len) if absent. Returns 0 or -1 on allocation failure. */
static int sset_add(struct sset *s, const char *key, size_t len)
{
	if ((s->n + 1) * 2 > s->cap) {
		struct sset bigger = {NULL, s->cap ? s->cap * 2 : 64, 0};
		bigger.slot = calloc(bigger.cap, sizeof(char *));
		if (!bigger.slot)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i])
				*sset_find(&bigger, s->slot[i], strlen(s->slot[i])) = s->slot[i];
		bigger.n = s->n;
		free(s->slot);
		*s = bigger;
	}
	char **p = sset_find(s, key, len);
	if (*p)
		return 0;
	*p = strndup(key, len);
	if (!*p)
		return -1;
	s->n++;
	return 0;
}

static void sset_cleanup(struct sset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* ---- open ------------------------------------------------------------------------ */

/* Records one bad entry. Returns 0 or BO_ENOMEM. */
static int add_bad(struct bo_error *err, const struct raw_entry *r, const char *reason,
		   const char *type, size_t *nbad, char *first, size_t first_cap)
{
	char shown[DISPLAY_MAX + 16];
	char msg[512];
	cJSON *loc = NULL;
	display_name(shown, sizeof(shown), r->name, r->stored);
	snprintf(msg, sizeof(msg), "'%s': %s", shown, reason);
	if (*nbad == 0)
		snprintf(first, first_cap, "%s", msg);
	(*nbad)++;
	loc = cJSON_CreateArray();
	if (!loc || !cJSON_AddItemToArray(loc, cJSON_CreateString("files")) ||
	    !cJSON_AddItemToArray(loc, cJSON_CreateString(shown))) {
		cJSON_Delete(loc);
		return BO_ENOMEM;
	}
	return bo_error_add(err, loc, msg, type, 0, 0);
}

static int map_zip_open_error(int zerr, struct bo_error *err)
{
	zip_error_t ze;
	int rc;
	zip_error_init_with_code(&ze, zerr);
	switch (zerr) {
	case ZIP_ER_MEMORY:
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening the package");
		break;
	case ZIP_ER_NOZIP:
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "not a zip archive; upload a .zip file");
		break;
	case ZIP_ER_OPEN:
	case ZIP_ER_READ:
	case ZIP_ER_SEEK:
		rc = bo_error_set(err, BO_EINTERNAL, "cannot read the uploaded package: %s",
				  zip_error_strerror(&ze));
		break;
	default:
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "zip archive is corrupt or inconsistent (%s); re-create it with a "
				  "standard zip tool",
				  zip_error_strerror(&ze));
	}
	zip_error_fini(&ze);
	return rc;
}

/* The entry type from the external attributes: 0 regular, 1 directory, -1 other. */
static int entry_kind(zip_t *za, zip_uint64_t i, const char *raw, size_t len)
{
	zip_uint8_t opsys = 0;
	zip_uint32_t attr = 0;
	int dir = len > 0 && raw[len - 1] == '/';
	if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0)
		return -1;
	if (opsys == ZIP_OPSYS_UNIX || opsys == ZIP_OPSYS_OS_X) {
		unsigned mode = (attr >> 16) & 0170000;
		if (mode == 0100000 || (mode == 0 && !dir))
			return dir ? 1 : 0;
		if (mode == 0040000 || (mode == 0 && dir))
			return 1;
		return -1;
	}
	/* MS-DOS attributes: 0x10 directory, 0x400 reparse point (a Windows link). */
	if (attr & 0x400)
		return -1;
	return (dir || (attr & 0x10)) ? 1 : 0;
}

/* Limits on the declared sizes: all of them are checked before any name rule. */
static int check_sizes(zip_t *za, const struct raw_entry *raw, size_t n,
		       const struct package_limits *lim, struct bo_error *err)
{
	uint64_t total = 0;
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		zip_stat_t st;
		zip_stat_init(&st);
		if (zip_stat_index(za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
		    !(st.valid & ZIP_STAT_COMP_SIZE))
			return bo_error_set(err, BO_EINVALIDPACKAGE,
					    "zip archive is corrupt (entry %zu has no sizes)", i + 1);
		total = st.size > UINT64_MAX - total ? UINT64_MAX : total + st.size;
		uint64_t r = (uint64_t)lim->max_ratio;
		/* comp_size * r cannot overflow when it is compared: a product past
		 * UINT64_MAX is larger than any size. */
		int over = st.size > LIMIT_ZIP_RATIO_MIN_BYTES &&
			   (st.comp_size == 0 ||
			    (st.comp_size <= UINT64_MAX / r && st.size > st.comp_size * r));
		if (over) {
			char shown[DISPLAY_MAX + 16], msg[512];
			cJSON *loc = NULL;
			display_name(shown, sizeof(shown), raw[i].name, raw[i].stored);
			snprintf(msg, sizeof(msg),
				 "entry '%s' expands from %llu to %llu bytes (ratio %llu:1); the "
				 "limit is %lld:1 (max_zip_ratio)",
				 shown, (unsigned long long)st.comp_size, (unsigned long long)st.size,
				 (unsigned long long)(st.comp_size ? st.size / st.comp_size : st.size),
				 (long long)lim->max_ratio);
			bo_error_set(err, BO_ETOOLARGE, "%s", msg);
			loc = cJSON_CreateArray();
			if (loc) {
				cJSON_AddItemToArray(loc, cJSON_CreateString("files"));
				cJSON_AddItemToArray(loc, cJSON_CreateString(shown));
			}
			if (bo_error_add(err, loc, msg, "limit", 0, 0))
				return BO_ENOMEM;
			bad = 1;
		}
	}
	if (total > (uint64_t)lim->max_total_bytes) {
		return bo_error_set(err, BO_ETOOLARGE,
				    "package unpacks to %llu bytes; the limit is %lld "
				    "(max_zip_total_bytes)",
				    (unsigned long long)total, (long long)lim->max_total_bytes);
	}
	return bad ? BO_ETOOLARGE : 0;
}

/* libzip's view of the archive into p->za (package_close discards it), which must list as
 * many entries as our scan found. */
static int open_libzip(package *p, const char *zip_path, size_t nraw, struct bo_error *err)
{
	int zerr = 0;
	p->za = zip_open(zip_path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (!p->za && zerr == ZIP_ER_EXISTS)
		/* Two entries with the same name: open without the consistency check so our
		 * duplicate rule reports them per entry (the package is refused either way). */
		p->za = zip_open(zip_path, ZIP_RDONLY, &zerr);
	if (!p->za)
		return map_zip_open_error(zerr, err);
	if (zip_get_num_entries(p->za, 0) != (zip_int64_t)nraw)
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "zip archive is inconsistent (the central directory lists %zu "
				    "entries, libzip sees %lld); re-create it with a standard zip tool",
				    nraw, (long long)zip_get_num_entries(p->za, 0));
	return 0;
}

/* The normalised name of entry i (kind: 0 file, 1 folder) against the names seen so far,
 * compared case-insensitively: a file may not share its name with another file, a folder or
 * a parent folder of another file; a folder not with a file. An accepted file joins
 * p->files (with size), its parents and accepted folders join dirs; junk is dropped. Sets
 * *why and *type on a collision. Returns 0 or BO_ENOMEM. */
static int place_entry(package *p, size_t i, const struct raw_entry *r, int kind, uint64_t size, struct sset *files,
		       struct sset *dirs, const char **why, const char **type, struct bo_error *err)
{
	char *norm = normalise(r->name, r->len);
	if (!norm)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	size_t nl = strlen(norm);
	if (kind == 1 || is_junk(norm)) {
		/* A folder entry named like a file is a collision too. */
		if (kind == 1 && nl && sset_has(files, norm, nl)) {
			*why = "a folder has the same name as a file (names are compared case-insensitively)";
			*type = "duplicate_name";
		} else if (kind == 1 && nl && sset_add(dirs, norm, nl)) {
			free(norm);
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		}
		free(norm);
		return 0;
	}
	if (nl == 0) {
		*why = "the name is empty after normalisation";
	} else if (sset_has(files, norm, nl)) {
		*why = "another entry has the same name (after removing './' and comparing case-insensitively)";
		*type = "duplicate_name";
	} else if (sset_has(dirs, norm, nl)) {
		*why = "a folder has the same name as this file (names are compared case-insensitively)";
		*type = "duplicate_name";
	} else {
		for (size_t k = 0; k < nl && !*why; k++)
			if (norm[k] == '/' && sset_has(files, norm, k)) {
				*why = "a parent folder has the same name as a file";
				*type = "duplicate_name";
			}
	}
	if (*why) {
		free(norm);
		return 0;
	}
	if (sset_add(files, norm, nl)) {
		free(norm);
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < nl; k++)
		if (norm[k] == '/' && sset_add(dirs, norm, k)) {
			free(norm);
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		}
	p->files[p->n].name = norm;
	p->files[p->n].size = size;
	p->files[p->n].index = i;
	p->n++;
	return 0;
}

/* What is wrong with entry i, checked in this order: the name rules, then the entry type
 * (regular file or folder), encryption and compression method, then the name against the
 * others (place_entry). *why stays NULL when nothing is (a file is then in p); it may point
 * into whybuf (cap bytes). Returns 0 or BO_ENOMEM. */
static int judge_entry(package *p, size_t i, const struct raw_entry *r, const struct package_limits *lim,
		       struct sset *files, struct sset *dirs, const char **why, const char **type, char *whybuf,
		       size_t cap, struct bo_error *err)
{
	zip_stat_t st;
	*why = name_problem(r, lim, type, whybuf, cap);
	if (*why)
		return 0;
	int kind = entry_kind(p->za, i, r->name, r->len);
	zip_stat_init(&st);
	zip_stat_index(p->za, i, 0, &st);
	if (kind < 0) {
		*why = "the entry is a symbolic link, device or other special file; "
		       "only regular files and folders are allowed";
		*type = "not_regular_file";
	} else if ((r->gpflags & 1) ||
		   ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)) {
		*why = "the entry is encrypted; upload a zip without a password";
		*type = "encrypted";
	} else if (kind == 0 &&
		   (!(st.valid & ZIP_STAT_COMP_METHOD) || !zip_compression_method_supported(st.comp_method, 0))) {
		*why = "the entry uses an unsupported compression method; use deflate or store";
		*type = "unsupported_compression";
	} else {
		return place_entry(p, i, r, kind, st.size, files, dirs, why, type, err);
	}
	return 0;
}

int package_open(package **out, const char *zip_path, const struct package_limits *lim,
		 struct bo_error *err)
{
	struct raw_entry *raw = NULL;
	size_t nraw = 0, nbad = 0;
	struct sset files = {0}, dirs = {0};
	package *p = NULL;
	char first[600] = "";
	int rc;

	*out = NULL;
	rc = scan_cd(zip_path, lim, &raw, &nraw, err);
	if (rc)
		goto fail;
	p = calloc(1, sizeof(*p));
	if (p)
		p->files = calloc(nraw ? nraw : 1, sizeof(*p->files));
	if (!p || !p->files) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening the package");
		goto fail;
	}
	rc = open_libzip(p, zip_path, nraw, err);
	if (!rc)
		rc = check_sizes(p->za, raw, nraw, lim, err);
	if (rc)
		goto fail;

	for (size_t i = 0; i < nraw; i++) {
		const char *why = NULL, *type = NULL;
		char whybuf[128];
		rc = judge_entry(p, i, &raw[i], lim, &files, &dirs, &why, &type, whybuf, sizeof(whybuf), err);
		if (rc)
			goto fail;
		if (why) {
			rc = add_bad(err, &raw[i], why, type, &nbad, first, sizeof(first));
			if (rc) {
				bo_error_set(err, rc, "out of memory");
				goto fail;
			}
		}
	}
	if (nbad) {
		if (nbad == 1)
			rc = bo_error_set(err, BO_EINVALIDPACKAGE, "package has an invalid entry: %s",
					  first);
		else
			rc = bo_error_set(err, BO_EINVALIDPACKAGE,
					  "package has %zu invalid entries; first: %s", nbad, first);
		goto fail;
	}
	p->names = calloc(p->n ? p->n : 1, sizeof(*p->names));
	if (!p->names) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory opening the package");
		goto fail;
	}
	for (size_t i = 0; i < p->n; i++)
		p->names[i] = p->files[i].name;
	*out = p;
	p = NULL;
	rc = 0;
fail:
	package_close(p);
	raw_free(raw, nraw);
	sset_cleanup(&files);
	sset_cleanup(&dirs);
	return rc;
}

void package_close(package *p)
{
	if (!p)
		return;
	if (p->za)
		zip_discard(p->za);
	for (size_t i = 0; i < p->n; i++)
		free(p->files[i].name);
	free(p->files);
	free(p->names);
	free(p);
}

size_t package_count(const package *p) { return p->n; }
const char *package_name(const package *p, size_t i) { return p->files[i].name; }
uint64_t package_size(const package *p, size_t i) { return p->files[i].size; }

int package_find_rdf(const package *p, const char **name_out, struct bo_error *err)
{
	return rdf_find_name(p->names, p->n, name_out, err);
}

/* ---- streaming reads ------------------------------------------------------------- */

typedef int (*sink_fn)(void *ctx, const void *buf, size_t len, struct bo_error *err);

/* Streams entry i into sink. Stops as soon as more bytes come out than the header
 * declared (a lying header is the zip bomb that a declared-size check cannot see). */
static int stream_entry(package *p, size_t i, sink_fn sink, void *ctx, uint64_t *size_out,
			struct bo_error *err)
{
	const struct entry *e = &p->files[i];
	zip_file_t *zf = NULL;
	unsigned char *buf = NULL;
	uint64_t got = 0;
	int rc;

	zf = zip_fopen_index(p->za, e->index, 0);
	if (!zf) {
		zip_error_t *ze = zip_get_error(p->za);
		rc = zip_error_code_zip(ze) == ZIP_ER_MEMORY
			     ? bo_error_set(err, BO_ENOMEM, "out of memory reading '%s'", e->name)
			     : bo_error_set(err, BO_EINVALIDPACKAGE, "'%s' cannot be read (%s)",
					    e->name, zip_error_strerror(ze));
		goto fail;
	}
	buf = malloc(65536);
	if (!buf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading '%s'", e->name);
		goto fail;
	}
	for (;;) {
		zip_int64_t n = zip_fread(zf, buf, 65536);
		if (n < 0) {
			zip_error_t *ze = zip_file_get_error(zf);
			int zc = zip_error_code_zip(ze);
			if (zc == ZIP_ER_MEMORY)
				rc = bo_error_set(err, BO_ENOMEM, "out of memory reading '%s'",
						  e->name);
			else if (zc == ZIP_ER_CRC)
				rc = bo_error_set(err, BO_EINVALIDPACKAGE,
						  "'%s' is corrupt (CRC mismatch); re-create the zip",
						  e->name);
			else
				rc = bo_error_set(err, BO_EINVALIDPACKAGE,
						  "'%s' is truncated or corrupt (%s); re-create the zip",
						  e->name, zip_error_strerror(ze));
			goto fail;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
		if (got > e->size) {
			rc = bo_error_set(err, BO_ETOOLARGE,
					  "'%s' holds more data than the %llu bytes its header "
					  "declares; re-create the zip",
					  e->name, (unsigned long long)e->size);
			goto fail;
		}
		rc = sink(ctx, buf, (size_t)n, err);
		if (rc)
			goto fail;
	}
	if (got != e->size) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "'%s' is truncated (%llu of %llu bytes); re-create the zip", e->name,
				  (unsigned long long)got, (unsigned long long)e->size);
		goto fail;
	}
	if (size_out)
		*size_out = got;
	rc = 0;
fail:
	free(buf);
	if (zf)
		zip_fclose(zf);
	return rc;
}

struct membuf {
	char *data;
	size_t len, cap;
};

static int mem_sink(void *ctx, const void *buf, size_t len, struct bo_error *err)
{
	struct membuf *m = ctx;
	if (len > m->cap - m->len)
		return bo_error_set(err, BO_EINTERNAL, "entry grew past its buffer");
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

int package_read(package *p, size_t i, size_t max, char **out, size_t *len_out,
		 struct bo_error *err)
{
	struct membuf m = {NULL, 0, 0};
	int rc;
	*out = NULL;
	if (p->files[i].size > max) {
		rc = bo_error_set(err, BO_ETOOLARGE, "'%s' is %llu bytes; the limit is %zu",
				  p->files[i].name, (unsigned long long)p->files[i].size, max);
		goto fail;
	}
	m.cap = (size_t)p->files[i].size;
	m.data = malloc(m.cap + 1);
	if (!m.data) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory reading '%s'", p->files[i].name);
		goto fail;
	}
	rc = stream_entry(p, i, mem_sink, &m, NULL, err);
	if (rc)
		goto fail;
	m.data[m.len] = '\0';
	*out = m.data;
	m.data = NULL;
	if (len_out)
		*len_out = m.len;
	rc = 0;
fail:
	free(m.data);
	return rc;
}

struct file_sink {
	int fd;
	EVP_MD_CTX *md;
	const char *path;
};

static int file_sink_write(void *ctx, const void *buf, size_t len, struct bo_error *err)
{
	struct file_sink *fs = ctx;
	const char *b = buf;
	if (EVP_DigestUpdate(fs->md, buf, len) != 1)
		return bo_error_set(err, BO_EINTERNAL, "SHA-256 update failed");
	while (len) {
		ssize_t w = write(fs->fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			return bo_error_set(err, (e == ENOSPC || e == EDQUOT) ? BO_ESTORAGE : BO_EINTERNAL,
					    "cannot write %s: %s", fs->path, strerror(e));
		}
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

int package_extract(package *p, size_t i, const char *dest_path, char *sha256_hex,
		    uint64_t *size_out, struct bo_error *err)
{
	struct file_sink fs = {-1, NULL, dest_path};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t size = 0;
	int created = 0;
	int rc;

	fs.md = EVP_MD_CTX_new();
	if (!fs.md || EVP_DigestInit_ex(fs.md, EVP_sha256(), NULL) != 1) {
		rc = bo_error_set(err, BO_ENOMEM, "cannot start SHA-256");
		goto fail;
	}
	fs.fd = open(dest_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fs.fd < 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", dest_path,
				  strerror(errno));
		goto fail;
	}
	created = 1;
	rc = stream_entry(p, i, file_sink_write, &fs, &size, err);
	if (rc)
		goto fail;
	if (close(fs.fd) != 0) {
		fs.fd = -1;
		rc = bo_error_set(err, errno == ENOSPC ? BO_ESTORAGE : BO_EINTERNAL,
				  "cannot write %s: %s", dest_path, strerror(errno));
		goto fail;
	}
	fs.fd = -1;
	if (EVP_DigestFinal_ex(fs.md, md, &mdlen) != 1 || mdlen != 32) {
		rc = bo_error_set(err, BO_EINTERNAL, "SHA-256 failed");
		goto fail;
	}
	if (sha256_hex)
		hex_encode(sha256_hex, md, 32);
	if (size_out)
		*size_out = size;
	rc = 0;
fail:
	if (fs.fd >= 0)
		close(fs.fd);
	if (rc && created)
		unlink(dest_path);
	EVP_MD_CTX_free(fs.md);
	return rc;
}

/* ---- content types --------------------------------------------------------------- */

static const struct {
	const char *ext;
	const char *type;
} content_types[] = {
	{"yaml", "application/yaml"}, {"yml", "application/yaml"},
	{"json", "application/json"}, {"md", "text/markdown; charset=utf-8"},
	{"txt", "text/plain; charset=utf-8"}, {"py", "text/x-python; charset=utf-8"},
	{"ijm", "text/plain; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
	{"html", "text/plain; charset=utf-8"}, {"htm", "text/plain; charset=utf-8"},
	{"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
	{"gif", "image/gif"}, {"svg", "image/svg+xml"}, {"tif", "image/tiff"},
	{"tiff", "image/tiff"}, {"webp", "image/webp"}, {"bmp", "image/bmp"},
	{"npy", "application/octet-stream"}, {"npz", "application/octet-stream"},
	{"onnx", "application/octet-stream"}, {"pt", "application/octet-stream"},
	{"pth", "application/octet-stream"}, {"h5", "application/x-hdf5"},
	{"hdf5", "application/x-hdf5"}, {"zip", "application/zip"},
	{"gz", "application/gzip"}, {"tar", "application/x-tar"},
	{"pdf", "application/pdf"}, {"ipynb", "application/x-ipynb+json"},
	{"xml", "application/xml"},
};

const char *package_content_type(const char *name)
{
	const char *slash = name ? strrchr(name, '/') : NULL;
	const char *base = slash ? slash + 1 : name;
	const char *dot = base ? strrchr(base, '.') : NULL;
	if (!dot || dot == base)
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
		if (strcasecmp(dot + 1, content_types[i].ext) == 0)
			return content_types[i].type;
	return "application/octet-stream";
}

/* npy: reads and writes NumPy .npy files (format 1.0/2.0/3.0). The header dict is parsed
 * by a strict recursive-descent reader for the literal numpy writes
 * ({'descr': ..., 'fortran_order': ..., 'shape': (...), }), never by a general Python
 * parser. Invariant: a parsed header has a supported dtype, at most NPY_MAX_DIMS
 * non-negative dimensions, and count * item_size that fits in int64. */
#include "common/npy.h"

#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BIG_ENDIAN 1
#else
#define HOST_BIG_ENDIAN 0
#endif

struct dtype_info {
	enum npy_dtype t;
	char kind; /* numpy typestr kind: b, i, u, f */
	int size;
	const char *name;
};

static const struct dtype_info dtypes[] = {
	{NPY_BOOL, 'b', 1, "bool"},    {NPY_I8, 'i', 1, "int8"},     {NPY_U8, 'u', 1, "uint8"},
	{NPY_I16, 'i', 2, "int16"},    {NPY_U16, 'u', 2, "uint16"},  {NPY_I32, 'i', 4, "int32"},
	{NPY_U32, 'u', 4, "uint32"},   {NPY_I64, 'i', 8, "int64"},   {NPY_U64, 'u', 8, "uint64"},
	{NPY_F16, 'f', 2, "float16"},  {NPY_F32, 'f', 4, "float32"}, {NPY_F64, 'f', 8, "float64"},
};

static const struct dtype_info *dtype_find(enum npy_dtype t)
{
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (dtypes[i].t == t)
			return &dtypes[i];
	return NULL;
}

const char *npy_dtype_name(enum npy_dtype t)
{
	const struct dtype_info *d = dtype_find(t);
	return d ? d->name : "unknown";
}

/* ======================================================================================
 * Header dict parser
 * ==================================================================================== */

struct lex {
	const char *s, *p, *end;
	struct bo_error *err;
};

static int lex_fail(struct lex *lx, const char *what)
{
	return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
			    "npy header dict is malformed at offset %zu: %s", (size_t)(lx->p - lx->s),
			    what);
}

static void lex_ws(struct lex *lx)
{
	while (lx->p < lx->end &&
	       (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
		lx->p++;
}

/* Skips whitespace, then consumes c if it is next. */
static int lex_accept(struct lex *lx, char c)
{
	lex_ws(lx);
	if (lx->p < lx->end && *lx->p == c) {
		lx->p++;
		return 1;
	}
	return 0;
}

/* A quoted string ('...' or "...") without escapes, into out (NUL-terminated). */
static int lex_string(struct lex *lx, char *out, size_t cap, const char *what)
{
	lex_ws(lx);
	if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) {
		char msg[96];
		snprintf(msg, sizeof(msg), "expected a quoted %s", what);
		return lex_fail(lx, msg);
	}
	char q = *lx->p++;
	size_t n = 0;
	while (lx->p < lx->end && *lx->p != q) {
		unsigned char c = (unsigned char)*lx->p;
		if (c == '\\')
			return lex_fail(lx, "escape sequences in strings are not supported");
		if (c < 0x20 || c >= 0x7f)
			return lex_fail(lx, "strings must be printable ASCII");
		if (n + 1 >= cap) {
			char msg[96];
			snprintf(msg, sizeof(msg), "%s longer than %zu characters", what, cap - 1);
			return lex_fail(lx, msg);
		}
		out[n++] = (char)c;
		lx->p++;
	}
	if (lx->p >= lx->end)
		return lex_fail(lx, "unterminated string");
	lx->p++;
	out[n] = '\0';
	return 0;
}

static int lex_word(struct lex *lx, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, w, n) != 0)
		return 0;
	const char *after = lx->p + n;
	if (after < lx->end && (*after == '_' || (*after >= 'a' && *after <= 'z') ||
				(*after >= 'A' && *after <= 'Z') || (*after >= '0' && *after <= '9')))
		return 0;
	lx->p = after;
	return 1;
}

/* Maps a typestr like "<f4" to a dtype; the detail names what is unsupported. */
static int descr_parse(struct lex *lx, const char *descr, struct npy_header *h)
{
	const char *d = descr;
	char order = 0;
	if (*d == '<' || *d == '>' || *d == '|' || *d == '=')
		order = *d++;
	if (*d == 'O')
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy dtype '%s': object arrays (pickled data) are refused; save "
				    "the tensor with a numeric dtype",
				    descr);
	if (order == '=')
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy dtype '%s': native byte order '=' is ambiguous in a file; "
				    "use '<' or '>'",
				    descr);
	char kind = *d;
	if (kind == '\0')
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE, "npy dtype is empty");
	d++;
	int size = 0;
	while (*d >= '0' && *d <= '9' && size < 1000)
		size = size * 10 + (*d++ - '0');
	if (*d != '\0' || size == 0)
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy dtype '%s' is not a numpy type string like '<f4'", descr);
	const struct dtype_info *found = NULL;
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (dtypes[i].kind == kind && dtypes[i].size == size)
			found = &dtypes[i];
	if (!found) {
		const char *why = "is not supported";
		if (kind == 'c')
			why = "is complex, which is not supported";
		else if (kind == 'U' || kind == 'S' || kind == 'a')
			why = "is a string type, which is not supported";
		else if (kind == 'V')
			why = "is a void/structured type: structured dtypes are not supported";
		else if (kind == 'M' || kind == 'm')
			why = "is a date/time type, which is not supported";
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy dtype '%s' %s; use bool, (u)int8..64 or float16/32/64", descr,
				    why);
	}
	if (size > 1 && order == '|')
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy dtype '%s' has %d-byte items but no byte order; use '<' or '>'",
				    descr, size);
	if (size > 1 && order == 0)
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy dtype '%s' has no byte order; use '<' or '>'", descr);
	h->dtype = found->t;
	h->item_size = size;
	h->big_endian = size > 1 && order == '>';
	return 0;
}

/* A non-negative decimal dimension; Python 2 numpy wrote longs as "512L". */
static int shape_dim(struct lex *lx, int64_t *out)
{
	lex_ws(lx);
	if (lx->p < lx->end && *lx->p == '-')
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy shape has a negative dimension at offset %zu",
				    (size_t)(lx->p - lx->s));
	if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9')
		return lex_fail(lx, "expected a dimension (non-negative integer) in shape");
	int64_t v = 0;
	while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
		int digit = *lx->p - '0';
		if (v > (INT64_MAX - digit) / 10)
			return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
					    "npy shape has a dimension larger than 2^63-1");
		v = v * 10 + digit;
		lx->p++;
	}
	if (lx->p < lx->end && *lx->p == 'L')
		lx->p++;
	*out = v;
	return 0;
}

/* "()", "(5,)", "(1, 2, 3)" or "(1, 2, 3,)"; "(5)" is an int in Python, not a tuple. */
static int shape_parse(struct lex *lx, struct npy_header *h)
{
	int rc;
	if (!lex_accept(lx, '('))
		return lex_fail(lx, "shape must be a tuple like (1, 256, 256)");
	h->ndim = 0;
	if (lex_accept(lx, ')'))
		return 0;
	for (;;) {
		int64_t dim = 0;
		rc = shape_dim(lx, &dim);
		if (rc)
			return rc;
		if (h->ndim == NPY_MAX_DIMS)
			return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
					    "npy shape has more than %d dimensions", NPY_MAX_DIMS);
		h->shape[h->ndim++] = dim;
		if (lex_accept(lx, ')')) {
			if (h->ndim == 1)
				return lex_fail(lx, "a one-element shape must be written (n,)");
			return 0;
		}
		if (!lex_accept(lx, ','))
			return lex_fail(lx, "expected ',' or ')' in shape");
		if (lex_accept(lx, ')'))
			return 0;
	}
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int dict_parse(struct lex *lx, struct npy_header *h)
{
	int seen = 0, rc;
	if (!lex_accept(lx, '{'))
		return lex_fail(lx, "expected '{'");
	for (;;) {
		if (lex_accept(lx, '}'))
			break;
		char key[32];
		rc = lex_string(lx, key, sizeof(key), "key");
		if (rc)
			return rc;
		if (!lex_accept(lx, ':'))
			return lex_fail(lx, "expected ':' after a key");
		int bit;
		if (strcmp(key, "descr") == 0)
			bit = KEY_DESCR;
		else if (strcmp(key, "fortran_order") == 0)
			bit = KEY_FORTRAN;
		else if (strcmp(key, "shape") == 0)
			bit = KEY_SHAPE;
		else
			return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
					    "npy header has an unknown key '%s' (only descr, "
					    "fortran_order and shape are allowed)",
					    key);
		if (seen & bit)
			return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
					    "npy header has the key '%s' twice", key);
		seen |= bit;
		lex_ws(lx);
		if (bit == KEY_DESCR) {
			if (lx->p < lx->end && (*lx->p == '[' || *lx->p == '('))
				return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
						    "npy descr is a list of fields: structured dtypes "
						    "are not supported");
			rc = lex_string(lx, h->descr, sizeof(h->descr), "descr");
			if (!rc)
				rc = descr_parse(lx, h->descr, h);
		} else if (bit == KEY_FORTRAN) {
			if (lex_word(lx, "True"))
				h->fortran_order = 1;
			else if (lex_word(lx, "False"))
				h->fortran_order = 0;
			else
				rc = lex_fail(lx, "fortran_order must be True or False");
		} else {
			rc = shape_parse(lx, h);
		}
		if (rc)
			return rc;
		if (lex_accept(lx, '}'))
			break;
		if (!lex_accept(lx, ','))
			return lex_fail(lx, "expected ',' or '}' after a value");
	}
	lex_ws(lx);
	if (lx->p != lx->end)
		return lex_fail(lx, "unexpected bytes after the closing '}'");
	if (!(seen & KEY_DESCR))
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE, "npy header has no 'descr' key");
	if (!(seen & KEY_FORTRAN))
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE,
				    "npy header has no 'fortran_order' key");
	if (!(seen & KEY_SHAPE))
		return bo_error_set(lx->err, BO_EINVALIDPACKAGE, "npy header has no 'shape' key");
	return 0;
}

int npy_parse_header(const void *buf, size_t len, struct npy_header *out, size_t *needed,
		     struct bo_error *err)
{
	const unsigned char *b = buf;
	struct npy_header h;
	memset(&h, 0, sizeof(h));
	size_t have = len < sizeof(magic) ? len : sizeof(magic);
	if (memcmp(b, magic, have) != 0)
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "not an npy file: it does not start with \\x93NUMPY");
	if (len < 10) {
		if (needed)
			*needed = 10;
		return NPY_ENEEDMORE;
	}
	h.major = b[6];
	h.minor = b[7];
	size_t prefix, hlen;
	if (h.major == 1 && h.minor == 0) {
		prefix = 10;
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
	} else if ((h.major == 2 || h.major == 3) && h.minor == 0) {
		if (len < 12) {
			if (needed)
				*needed = 12;
			return NPY_ENEEDMORE;
		}
		prefix = 12;
		hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
		       (size_t)b[11] << 24;
	} else {
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)",
				    h.major, h.minor);
	}
	if (hlen > NPY_HEADER_MAX)
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "npy header is %zu bytes, more than the limit of %d", hlen,
				    NPY_HEADER_MAX);
	if (hlen == 0)
		return bo_error_set(err, BO_EINVALIDPACKAGE, "npy header is empty");
	if (len < prefix + hlen) {
		if (needed)
			*needed = prefix + hlen;
		return NPY_ENEEDMORE;
	}
	struct lex lx = {(const char *)b + prefix, (const char *)b + prefix,
			 (const char *)b + prefix + hlen, err};
	int rc = dict_parse(&lx, &h);
	if (rc)
		return rc;
	h.count = 1;
	for (int i = 0; i < h.ndim; i++) {
		if (h.shape[i] != 0 && h.count > INT64_MAX / h.shape[i])
			return bo_error_set(err, BO_EINVALIDPACKAGE,
					    "npy shape has more than 2^63-1 elements");
		h.count *= h.shape[i];
	}
	if (h.count > INT64_MAX / h.item_size)
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "npy data size (%lld elements of %d bytes) overflows",
				    (long long)h.count, h.item_size);
	h.data_offset = prefix + hlen;
	*out = h;
	return 0;
}

/* ======================================================================================
 * Loading
 * ==================================================================================== */

static void swap_bytes(unsigned char *p, size_t n, int size)
{
	for (size_t i = 0; i < n; i++, p += size)
		for (int a = 0, z = size - 1; a < z; a++, z--) {
			unsigned char t = p[a];
			p[a] = p[z];
			p[z] = t;
		}
}

/* Reads exactly n bytes at off; BO_EINVALIDPACKAGE when the file ends first. */
static int read_at(int fd, void *buf, size_t n, off_t off, const char *path,
		   struct bo_error *err)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = pread(fd, p, n, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return bo_error_set(err, BO_EINTERNAL, "%s: read: %s", path, strerror(errno));
		if (got == 0)
			return bo_error_set(err, BO_EINVALIDPACKAGE, "%s: npy file is truncated",
					    path);
		p += got;
		n -= (size_t)got;
		off += got;
	}
	return 0;
}

/* Fortran order (first index fastest) to C order (last index fastest): walks the source
 * in its own order with a multi-index and places each element at its C offset. */
static void transpose_to_c(unsigned char *dst, const unsigned char *src,
			   const struct npy_header *h)
{
	int64_t idx[NPY_MAX_DIMS] = {0}, cstride[NPY_MAX_DIMS] = {0};
	size_t isz = (size_t)h->item_size;
	int64_t s = 1;
	for (int d = h->ndim - 1; d >= 0; d--) {
		cstride[d] = s;
		s *= h->shape[d];
	}
	int64_t coff = 0;
	for (int64_t j = 0; j < h->count; j++) {
		memcpy(dst + (size_t)coff * isz, src + (size_t)j * isz, isz);
		for (int d = 0; d < h->ndim; d++) {
			idx[d]++;
			coff += cstride[d];
			if (idx[d] < h->shape[d])
				break;
			coff -= idx[d] * cstride[d];
			idx[d] = 0;
		}
	}
}

int npy_load(const char *path, size_t max_bytes, struct npy_array **out, struct bo_error *err)
{
	int rc = BO_EINTERNAL, fd = -1;
	unsigned char *head = NULL;
	void *raw = NULL;
	struct npy_array *a = NULL;
	*out = NULL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = bo_error_set(err, errno == ENOENT ? BO_ENOTFOUND : BO_EINTERNAL, "%s: %s",
				  path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = bo_error_set(err, BO_EINTERNAL, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE, "%s: not a regular file", path);
		goto fail;
	}
	size_t fsize = (size_t)st.st_size;
	size_t want = NPY_HEAD_GUESS;
	struct npy_header h;
	for (;;) {
		size_t n = want < fsize ? want : fsize;
		unsigned char *nh = realloc(head, n ? n : 1);
		if (!nh) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory reading %s", path);
			goto fail;
		}
		head = nh;
		rc = read_at(fd, head, n, 0, path, err);
		if (rc)
			goto fail;
		size_t more = 0;
		rc = npy_parse_header(head, n, &h, &more, err);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		if (n == fsize || more <= n) {
			rc = bo_error_set(err, BO_EINVALIDPACKAGE,
					  "%s: npy file is truncated inside its header (%zu of %zu "
					  "bytes)",
					  path, fsize, more);
			goto fail;
		}
		want = more;
	}
	/* count * item_size fits in int64 (npy_parse_header checks it). */
	uint64_t nbytes = (uint64_t)h.count * (uint64_t)h.item_size;
	if (nbytes > max_bytes || nbytes > SIZE_MAX) {
		rc = bo_error_set(err, BO_ETOOLARGE,
				  "%s: npy data is %llu bytes, more than the limit of %zu", path,
				  (unsigned long long)nbytes, max_bytes);
		goto fail;
	}
	if ((uint64_t)fsize != h.data_offset + nbytes) {
		rc = bo_error_set(err, BO_EINVALIDPACKAGE,
				  "%s: npy file is %zu bytes but its header (%s, %lld elements) "
				  "needs %llu: %s",
				  path, fsize, h.descr, (long long)h.count,
				  (unsigned long long)(h.data_offset + nbytes),
				  (uint64_t)fsize < h.data_offset + nbytes ? "truncated"
									    : "trailing bytes");
		goto fail;
	}
	a = calloc(1, sizeof(*a));
	raw = malloc(nbytes ? (size_t)nbytes : 1);
	if (!a || !raw) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory loading %s (%llu bytes)", path,
				  (unsigned long long)nbytes);
		goto fail;
	}
	rc = read_at(fd, raw, (size_t)nbytes, (off_t)h.data_offset, path, err);
	if (rc)
		goto fail;
	if (h.item_size > 1 && h.big_endian != HOST_BIG_ENDIAN)
		swap_bytes(raw, (size_t)h.count, h.item_size);
	if (h.fortran_order && h.ndim > 1) {
		void *c = malloc(nbytes ? (size_t)nbytes : 1);
		if (!c) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory loading %s (%llu bytes)",
					  path, (unsigned long long)nbytes);
			goto fail;
		}
		transpose_to_c(c, raw, &h);
		free(raw);
		raw = c;
	}
	a->h = h;
	a->data = raw;
	a->nbytes = (size_t)nbytes;
	raw = NULL;
	*out = a;
	a = NULL;
	rc = 0;
fail:
	if (fd >= 0)
		close(fd);
	free(head);
	free(raw);
	free(a);
	return rc;
}

void npy_array_free(struct npy_array *a)
{
	if (!a)
		return;
	free(a->data);
	free(a);
}

/* ======================================================================================
 * Saving
 * ==================================================================================== */

static int write_all(FILE *f, const void *p, size_t n)
{
	if (n == 0)
		return 0; /* p may be NULL for an empty array, and fwrite wants non-NULL */
	return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int npy_save(const char *path, enum npy_dtype t, int ndim, const int64_t *shape,
	     const void *data, struct bo_error *err)
{
	int rc = BO_EINTERNAL;
	FILE *f = NULL;
	const struct dtype_info *d = dtype_find(t);
	if (!d)
		return bo_error_set(err, BO_EINTERNAL, "npy_save: unknown dtype %d", (int)t);
	if (ndim < 0 || ndim > NPY_MAX_DIMS || (ndim > 0 && !shape))
		return bo_error_set(err, BO_EINTERNAL, "npy_save: bad ndim %d", ndim);
	int64_t count = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (shape[i] != 0 && count > INT64_MAX / shape[i]))
			return bo_error_set(err, BO_EINTERNAL, "npy_save: bad shape");
		count *= shape[i];
	}
	if (count > INT64_MAX / d->size || (uint64_t)count * (uint64_t)d->size > SIZE_MAX ||
	    (count > 0 && !data))
		return bo_error_set(err, BO_EINTERNAL, "npy_save: bad data size");
	size_t nbytes = (size_t)count * (size_t)d->size;

	/* The dict is < 600 bytes for 16 dims of 19 digits each. */
	char dict[1024];
	size_t n = (size_t)snprintf(dict, sizeof(dict),
				    "{'descr': '%c%c%d', 'fortran_order': False, 'shape': (",
				    d->size == 1 ? '|' : '<', d->kind, d->size);
	for (int i = 0; i < ndim; i++)
		n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%s%lld", i ? ", " : "",
				      (long long)shape[i]);
	n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%s), }", ndim == 1 ? "," : "");
	/* Pad with spaces so magic+version+len+dict+'\n' is a multiple of 64. */
	size_t total = 10 + n + 1;
	size_t padded = (total + 63) / 64 * 64;
	memset(dict + n, ' ', padded - total);
	n += padded - total;
	dict[n++] = '\n';
	unsigned char pre[10];
	memcpy(pre, magic, sizeof(magic));
	pre[6] = 1;
	pre[7] = 0;
	pre[8] = (unsigned char)(n & 0xff);
	pre[9] = (unsigned char)(n >> 8);

	f = fopen(path, "wb");
	if (!f) {
		rc = bo_error_set(err, BO_EINTERNAL, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (write_all(f, pre, sizeof(pre)) || write_all(f, dict, n))
		goto write_fail;
	if (!HOST_BIG_ENDIAN || d->size == 1) {
		if (write_all(f, data, nbytes))
			goto write_fail;
	} else {
		unsigned char chunk[4096];
		const unsigned char *src = data;
		while (nbytes > 0) {
			size_t c = nbytes < sizeof(chunk) ? nbytes : sizeof(chunk);
			memcpy(chunk, src, c);
			swap_bytes(chunk, c / (size_t)d->size, d->size);
			if (write_all(f, chunk, c))
				goto write_fail;
			src += c;
			nbytes -= c;
		}
	}
	FILE *tmp = f;
	f = NULL;
	if (fclose(tmp) != 0)
		goto write_fail;
	return 0;
write_fail:
	rc = bo_error_set(err, BO_EINTERNAL, "%s: write: %s", path, strerror(errno));
	if (f)
		fclose(f);
	f = NULL;
	remove(path);
fail:
	if (f)
		fclose(f);
	return rc;
}

/* ======================================================================================
 * Element access
 * ==================================================================================== */

static double half_to_double(uint16_t v)
{
	int sign = v >> 15, exp = (v >> 10) & 0x1f, man = v & 0x3ff;
	double r;
	if (exp == 0)
		r = ldexp(man, -24);
	else if (exp == 31)
		r = man ? NAN : INFINITY;
	else
		r = ldexp(man + 1024, exp - 25);
	return sign ? -r : r;
}

double npy_get_f64(const struct npy_array *a, int64_t i)
{
	if (!a || i < 0 || i >= a->h.count)
		return NAN;
	const unsigned char *p = (const unsigned char *)a->data + (size_t)i * (size_t)a->h.item_size;
	union {
		int8_t i8;
		uint8_t u8;
		int16_t i16;
		uint16_t u16;
		int32_t i32;
		uint32_t u32;
		int64_t i64;
		uint64_t u64;
		float f32;
		double f64;
	} u;
	memcpy(&u, p, (size_t)a->h.item_size);
	switch (a->h.dtype) {
	case NPY_BOOL: return u.u8 ? 1.0 : 0.0;
	case NPY_I8: return u.i8;
	case NPY_U8: return u.u8;
	case NPY_I16: return u.i16;
	case NPY_U16: return u.u16;
	case NPY_I32: return u.i32;
	case NPY_U32: return u.u32;
	case NPY_I64: return (double)u.i64;
	case NPY_U64: return (double)u.u64;
	case NPY_F16: return half_to_double(u.u16);
	case NPY_F32: return u.f32;
	case NPY_F64: return u.f64;
	}
	return NAN;
}

/* npy: NumPy .npy files, the test tensors of bioimage.io models. The static validator
 * parses only the header from the first bytes of a file; the model test worker loads
 * whole arrays and writes the outputs it produced. Input is untrusted: the header dict is
 * read by a small parser for exactly the literal numpy writes, and every size is bounded. */
#ifndef BO_NPY_H
#define BO_NPY_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;

#define NPY_MAX_DIMS 16
#define NPY_HEADER_MAX 65536 /* header dict length limit (bytes) */

/* Returned (positive, not an error) by npy_parse_header when the buffer holds only part
 * of the header: *needed says how many bytes from the start of the file to pass. */
#define NPY_ENEEDMORE 1

/* Enough bytes for the whole header of every file numpy writes for arrays of up to a few
 * dimensions (it pads the header to 64 or 128 bytes); a good first read. */
#define NPY_HEAD_GUESS 128

enum npy_dtype {
	NPY_BOOL,
	NPY_I8,
	NPY_U8,
	NPY_I16,
	NPY_U16,
	NPY_I32,
	NPY_U32,
	NPY_I64,
	NPY_U64,
	NPY_F16,
	NPY_F32,
	NPY_F64
};

struct npy_header {
	int major, minor;      /* format version 1.0, 2.0, 3.0 */
	enum npy_dtype dtype;
	char descr[16];        /* as written, e.g. "<f4", "|u1" */
	int item_size;         /* bytes per element */
	int big_endian;        /* 1 for '>' descr with item_size > 1 */
	int fortran_order;
	int ndim;              /* 0..NPY_MAX_DIMS */
	int64_t shape[NPY_MAX_DIMS];
	int64_t count;         /* product of shape (1 for ndim 0), overflow-checked */
	size_t data_offset;    /* bytes before the data (magic+len+dict, aligned) */
};

/* Parses the header from the first len bytes of a file.
 * Returns 0 with *out filled (count * item_size is also known to fit in int64).
 * Returns NPY_ENEEDMORE (1) when buf ends before the header does: *needed (if needed is
 * not NULL) is then the number of bytes from the start of the file that are enough to
 * parse it (at most 12 + NPY_HEADER_MAX); err is not touched, the caller reads more and
 * calls again. Otherwise returns BO_EINVALIDPACKAGE with a one-line detail naming what
 * is wrong: not an npy file (magic), unsupported version, header longer than
 * NPY_HEADER_MAX, malformed dict (missing, unknown or duplicate key, trailing garbage),
 * unknown or unsupported dtype (object arrays (pickled data) and structured dtypes are
 * refused), more than NPY_MAX_DIMS dimensions, negative or overflowing shape.
 * out is only meaningful after a 0 return. */
int npy_parse_header(const void *buf, size_t len, struct npy_header *out, size_t *needed,
		     struct bo_error *err);

/* "float32", "uint8", ... (the bioimage.io data_type names; bool -> "bool"). Static
 * string; "unknown" for a value outside the enum. */
const char *npy_dtype_name(enum npy_dtype t);

/* Loaded array: data in native byte order and C order (Fortran order transposed on load).
 * h describes the file as written (descr, big_endian, fortran_order are the file's);
 * nbytes = h.count * h.item_size. */
struct npy_array {
	struct npy_header h;
	void *data;
	size_t nbytes;
};

/* Loads a whole file, at most max_bytes of data (BO_ETOOLARGE beyond, checked from the
 * header before anything is allocated), checking the file size equals
 * data_offset + count*item_size exactly (truncated or trailing bytes, or any header
 * problem of npy_parse_header -> BO_EINVALIDPACKAGE). BO_ENOTFOUND when path does not
 * exist, BO_ENOMEM, BO_EINTERNAL for other I/O errors. On success *out is owned by the
 * caller, who frees it with npy_array_free; on failure *out is NULL. */
int npy_load(const char *path, size_t max_bytes, struct npy_array **out, struct bo_error *err);

/* NULL ok. */
void npy_array_free(struct npy_array *a);

/* Writes a C-order little-endian .npy (format 1.0, header padded to 64 bytes) for dtype t.
 * data holds count = product(shape) elements of t in native byte order (may be NULL when
 * count is 0). ndim 0..NPY_MAX_DIMS, every shape[i] >= 0, the byte size must fit in int64:
 * BO_EINTERNAL otherwise (a caller bug), and BO_EINTERNAL with strerror when the file
 * cannot be written (a partial file is removed). */
int npy_save(const char *path, enum npy_dtype t, int ndim, const int64_t *shape,
	     const void *data, struct bo_error *err);

/* Element i (C order, native) of a loaded array as double (for comparisons). 64-bit
 * integers beyond 2^53 lose precision; NAN when i is outside [0, count). */
double npy_get_f64(const struct npy_array *a, int64_t i);

#endif

/* fuzz_npy: the .npy reader (common/npy.h) on arbitrary bytes, as a test tensor of an
 * uploaded package. npy_parse_header on the whole input and through the read loop a
 * caller runs (NPY_HEAD_GUESS bytes, then *needed) must agree; a parsed header must meet
 * the invariant of npy.c (supported dtype, at most NPY_MAX_DIMS non-negative dims,
 * count * item_size in int64). npy_load of the same bytes as a file must load exactly the
 * files whose size matches the header, and its Fortran-to-C transposition and byte swap
 * are checked against an index computation of our own. */
#include "harness.h"

#include "common/error.h"
#include "common/npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What npy_load may allocate for one fuzz input: small, so a header claiming GiB is
 * refused (BO_ETOOLARGE) before any allocation rather than slowing the fuzzer. */
#define LOAD_MAX (1u << 20)

static void check_header(const struct npy_header *h, size_t len)
{
	FUZZ_ASSERT((h->major == 1 || h->major == 2 || h->major == 3) && h->minor == 0,
		    "an unsupported version was accepted");
	FUZZ_ASSERT(memchr(h->descr, '\0', sizeof(h->descr)) != NULL, "descr not terminated");
	FUZZ_ASSERT(strcmp(npy_dtype_name(h->dtype), "unknown") != 0, "dtype outside the enum");
	int isz = h->item_size;
	FUZZ_ASSERT(isz == 1 || isz == 2 || isz == 4 || isz == 8, "an item size of no dtype");
	FUZZ_ASSERT(!h->big_endian || h->item_size > 1, "big_endian set for 1-byte items");
	FUZZ_ASSERT(h->fortran_order == 0 || h->fortran_order == 1, "fortran_order not 0/1");
	FUZZ_ASSERT(h->ndim >= 0 && h->ndim <= NPY_MAX_DIMS, "ndim out of range");
	int64_t count = 1;
	for (int i = 0; i < h->ndim; i++) {
		FUZZ_ASSERT(h->shape[i] >= 0, "a negative dimension");
		FUZZ_ASSERT(h->shape[i] == 0 || count <= INT64_MAX / h->shape[i],
			    "the shape product overflows");
		count *= h->shape[i];
	}
	FUZZ_ASSERT(count == h->count, "count is not the product of the shape");
	FUZZ_ASSERT(h->count <= INT64_MAX / h->item_size, "count * item_size overflows");
	FUZZ_ASSERT(h->data_offset <= len && h->data_offset >= 10 + 1,
		    "data_offset outside what was read");
}

/* Field by field: the padding of struct npy_header need not survive a struct copy. */
static int same_header(const struct npy_header *a, const struct npy_header *b)
{
	if (a->major != b->major || a->minor != b->minor || a->dtype != b->dtype ||
	    strcmp(a->descr, b->descr) != 0 || a->item_size != b->item_size ||
	    a->big_endian != b->big_endian || a->fortran_order != b->fortran_order ||
	    a->ndim != b->ndim || a->count != b->count || a->data_offset != b->data_offset)
		return 0;
	for (int i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

/* The read loop of a caller: NPY_HEAD_GUESS bytes first, then what *needed says, until
 * the header parses, fails, or the file ends. Returns the last result. */
static int parse_in_steps(const uint8_t *data, size_t size, struct npy_header *h)
{
	size_t len = size < NPY_HEAD_GUESS ? size : NPY_HEAD_GUESS;
	for (;;) {
		struct bo_error err = BO_ERROR_INIT;
		size_t needed = 0;
		int rc = npy_parse_header(data, len, h, &needed, &err);
		if (rc != NPY_ENEEDMORE) {
			bo_error_cleanup(&err);
			return rc;
		}
		FUZZ_ASSERT(err.code == 0, "NPY_ENEEDMORE touched err");
		FUZZ_ASSERT(needed > len, "NPY_ENEEDMORE asks for no more bytes");
		FUZZ_ASSERT(needed <= 12 + NPY_HEADER_MAX, "*needed beyond 12 + NPY_HEADER_MAX");
		if (needed > size)
			return rc;
		len = needed;
	}
}

/* Element i (C order) of the file's data, as npy_load must return it: the Fortran
 * offset of the same multi-index, bytes swapped when the file's order is not ours. */
static void expected_element(const struct npy_header *h, const uint8_t *file, int64_t i,
			     uint8_t *out)
{
	int64_t src = i;
	if (h->fortran_order && h->ndim > 1) {
		int64_t rest = i, fstride = 1, idx[NPY_MAX_DIMS];
		for (int d = h->ndim - 1; d >= 0; d--) {
			idx[d] = rest % h->shape[d];
			rest /= h->shape[d];
		}
		src = 0;
		for (int d = 0; d < h->ndim; d++) {
			src += idx[d] * fstride;
			fstride *= h->shape[d];
		}
	}
	const uint8_t *p = file + h->data_offset + (size_t)src * (size_t)h->item_size;
	int swap = h->item_size > 1 && h->big_endian != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
	for (int b = 0; b < h->item_size; b++)
		out[b] = swap ? p[h->item_size - 1 - b] : p[b];
}

static void check_load(const uint8_t *data, size_t size, int hrc, const struct npy_header *h)
{
	static const int allowed[] = {BO_EINVALIDPACKAGE, BO_ETOOLARGE, BO_ENOMEM, 0};
	struct bo_error err = BO_ERROR_INIT;
	struct npy_array *a = NULL;
	int rc = npy_load(fuzz_file(data, size), LOAD_MAX, &a, &err);
	uint64_t nbytes = hrc == 0 ? (uint64_t)h->count * (uint64_t)h->item_size : 0;
	int loadable = hrc == 0 && nbytes <= LOAD_MAX && h->data_offset + nbytes == size;
	if (rc) {
		FUZZ_ASSERT(a == NULL, "*out not NULL after a failure");
		if (loadable)
			fprintf(stderr, "npy_load: %s\n", err.detail);
		FUZZ_ASSERT(!loadable, "npy_load refuses a file whose size matches its header");
		if (hrc == 0 && nbytes > LOAD_MAX)
			FUZZ_ASSERT(rc == BO_ETOOLARGE, "data over max_bytes is not BO_ETOOLARGE");
		fuzz_check_error(rc, &err, allowed);
		return;
	}
	FUZZ_ASSERT(loadable, "npy_load accepts a file the header parser refuses or sizes wrong");
	FUZZ_ASSERT(same_header(&a->h, h), "npy_load's header differs");
	FUZZ_ASSERT(a->nbytes == nbytes, "nbytes is not count * item_size");
	uint8_t want[8];
	for (int64_t i = 0; i < a->h.count && i < 4096; i++) {
		expected_element(h, data, i, want);
		const uint8_t *got = (const uint8_t *)a->data + (size_t)i * (size_t)h->item_size;
		FUZZ_ASSERT(memcmp(got, want, (size_t)h->item_size) == 0,
			    "an element is not where C order puts it");
		(void)npy_get_f64(a, i);
	}
	FUZZ_ASSERT(isnan(npy_get_f64(a, -1)) && isnan(npy_get_f64(a, a->h.count)),
		    "npy_get_f64 outside [0, count) is not NAN");
	npy_array_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int allowed[] = {BO_EINVALIDPACKAGE, 0};
	struct bo_error err = BO_ERROR_INIT;
	struct npy_header h, steps;
	size_t needed = 0;
	int rc = npy_parse_header(data, size, &h, &needed, &err);
	if (rc == 0) {
		check_header(&h, size);
		/* the header alone is enough, and gives the same result */
		struct npy_header again;
		FUZZ_ASSERT(npy_parse_header(data, h.data_offset, &again, NULL, &err) == 0 &&
				    same_header(&again, &h),
			    "the header's own bytes do not give the same header");
	} else if (rc == NPY_ENEEDMORE) {
		FUZZ_ASSERT(needed > size, "NPY_ENEEDMORE for bytes already given");
	} else {
		fuzz_check_error(rc, &err, allowed);
	}
	bo_error_cleanup(&err);
	int src = parse_in_steps(data, size, &steps);
	FUZZ_ASSERT(src == rc, "the read loop and the whole buffer disagree");
	if (rc == 0)
		FUZZ_ASSERT(same_header(&steps, &h), "the read loop gives another header");
	check_load(data, size, rc, &h);
	return 0;
}

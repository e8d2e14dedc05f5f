/* compare: a produced tensor against the expected test output, the way bioimageio.core
 * judges reproduction: an element mismatches when |got - expected| > atol + rtol·|expected|
 * (NaN equals NaN; NaN against a number mismatches), and the output passes when the
 * mismatches per million elements do not exceed the allowed number. */
#ifndef BO_COMPARE_H
#define BO_COMPARE_H

#include "common/npy.h"

#include <stddef.h>
#include <stdint.h>

struct compare_tolerance {
	double rtol, atol;
	double mismatched_per_million; /* allowed mismatches per million elements */
};

struct compare_result {
	size_t elements;
	size_t mismatched;
	size_t nan_mismatched;     /* of mismatched: a NaN against a number */
	double max_abs_diff;       /* over elements where both are numbers; 0 when none */
	size_t worst;              /* flat index of the worst element (see below) */
	int64_t worst_index[NPY_MAX_DIMS]; /* worst as coordinates (ndim of the shape) */
	double got, expected;      /* the values at worst */
	int passed;
};

/* Compares n elements of got and expected (C order, shape of ndim dims whose product is n).
 * The worst element is the mismatch with the largest |diff| (a NaN mismatch only when no
 * numeric one exists); with no mismatch, the element with the largest |diff|. Never fails. */
void compare_values(struct compare_result *out, const double *got, const double *expected,
		    size_t n, int ndim, const int64_t *shape, const struct compare_tolerance *tol);

#endif

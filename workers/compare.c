/* compare: element-wise tolerance check of a produced tensor against its expected values,
 * with the location of the worst element so a failure can point at it. Pure arithmetic:
 * no allocation, no error path. */
#include "compare.h"

#include <math.h>
#include <string.h>

void compare_values(struct compare_result *out, const double *got, const double *expected,
		    size_t n, int ndim, const int64_t *shape, const struct compare_tolerance *tol)
{
	double worst_mis = -1, worst_any = -1;
	size_t wi_mis = 0, wi_any = 0, wi_nan = 0;
	int have_nan = 0;
	size_t rest;

	memset(out, 0, sizeof(*out));
	out->elements = n;
	for (size_t i = 0; i < n; i++) {
		double g = got[i], e = expected[i], d;

		if (isnan(g) || isnan(e)) {
			if (isnan(g) && isnan(e))
				continue;
			out->mismatched++;
			out->nan_mismatched++;
			if (!have_nan) {
				have_nan = 1;
				wi_nan = i;
			}
			continue;
		}
		d = fabs(g - e);
		/* inf - inf is NaN: equal infinities match, others differ by inf */
		if (isnan(d))
			d = g == e ? 0 : INFINITY;
		if (d > out->max_abs_diff)
			out->max_abs_diff = d;
		if (d > worst_any) {
			worst_any = d;
			wi_any = i;
		}
		if (d > tol->atol + tol->rtol * fabs(e)) {
			out->mismatched++;
			if (d > worst_mis) {
				worst_mis = d;
				wi_mis = i;
			}
		}
	}
	out->worst = worst_mis >= 0 ? wi_mis : have_nan ? wi_nan : wi_any;
	if (n) {
		out->got = got[out->worst];
		out->expected = expected[out->worst];
	}
	rest = out->worst;
	for (int d = ndim - 1; d >= 0; d--) {
		size_t s = shape[d] > 0 ? (size_t)shape[d] : 1;

		out->worst_index[d] = (int64_t)(rest % s);
		rest /= s;
	}
	out->passed = n == 0 || (double)out->mismatched * 1e6 / (double)n <= tol->mismatched_per_million;
}

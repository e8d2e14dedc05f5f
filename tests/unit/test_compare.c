/* test_compare: the reproduction criterion |got - expected| <= atol + rtol·|expected|, the
 * count of mismatches against the allowed number per million, the worst element and its
 * coordinates, and NaN handling. */
#include "check.h"

#include "compare.h"

#include <math.h>

static const struct compare_tolerance DEFAULT_TOL = {1e-3, 1e-4, 0};

static void test_compare__exact_and_within_tolerance(void)
{
	double e[] = {1, 2, 3, 4, 5, 6};
	/* 3 + 1e-4 + 3e-3 = 3.0031 is the boundary for element 2: 3.003 passes */
	double g[] = {1, 2, 3.003, 4, 5, 6.0000001};
	int64_t shape[] = {2, 3};
	struct compare_result r;

	compare_values(&r, g, e, 6, 2, shape, &DEFAULT_TOL);
	check(r.passed && r.mismatched == 0 && r.elements == 6, "within tolerance passes");
	check(fabs(r.max_abs_diff - 0.003) < 1e-12, "max diff %g", r.max_abs_diff);
	/* no mismatch: worst is the largest difference, element 2 = [0, 2] */
	check(r.worst == 2 && r.worst_index[0] == 0 && r.worst_index[1] == 2, "worst %zu [%lld, %lld]", r.worst,
	      (long long)r.worst_index[0], (long long)r.worst_index[1]);
}

static void test_compare__planted_mismatches(void)
{
	double e[24] = {0}, g[24] = {0};
	int64_t shape[] = {2, 3, 4};
	struct compare_result r;

	/* element [1, 2, 3] = 23 off by 0.5, element [0, 1, 1] = 5 off by 0.01 */
	g[23] = 0.5;
	g[5] = -0.01;
	compare_values(&r, g, e, 24, 3, shape, &DEFAULT_TOL);
	check(!r.passed && r.mismatched == 2, "2 mismatches, got %zu", r.mismatched);
	check(r.max_abs_diff == 0.5 && r.worst == 23, "worst %zu diff %g", r.worst, r.max_abs_diff);
	check(r.worst_index[0] == 1 && r.worst_index[1] == 2 && r.worst_index[2] == 3, "coordinates");
	check(r.got == 0.5 && r.expected == 0, "values at worst");

	/* 2 of 24 = 83333 per million: allowed at 100000, not at 80000 */
	struct compare_tolerance loose = {1e-3, 1e-4, 100000};
	compare_values(&r, g, e, 24, 3, shape, &loose);
	check(r.passed && r.mismatched == 2, "allowed per million");
	loose.mismatched_per_million = 80000;
	compare_values(&r, g, e, 24, 3, shape, &loose);
	check(!r.passed, "beyond the allowed per million");

	/* rtol scales with |expected| */
	double e2[] = {1000}, g2[] = {1000.9};
	int64_t s1[] = {1};
	compare_values(&r, g2, e2, 1, 1, s1, &DEFAULT_TOL);
	check(r.passed, "0.9 <= 1e-4 + 1e-3*1000");
	g2[0] = 1001.2;
	compare_values(&r, g2, e2, 1, 1, s1, &DEFAULT_TOL);
	check(!r.passed && r.mismatched == 1, "1.2 > 1.0001");
}

static void test_compare__nan(void)
{
	double e[] = {NAN, 1, NAN, 2};
	double g[] = {NAN, NAN, 5, 2.5};
	int64_t shape[] = {4};
	struct compare_result r;

	compare_values(&r, g, e, 4, 1, shape, &DEFAULT_TOL);
	/* NaN vs NaN equal; NaN vs 1 and 5 vs NaN mismatch; 2.5 vs 2 mismatches numerically */
	check(r.mismatched == 3 && r.nan_mismatched == 2, "mismatched %zu nan %zu", r.mismatched,
	      r.nan_mismatched);
	check(r.worst == 3 && r.max_abs_diff == 0.5, "numeric worst first: %zu %g", r.worst, r.max_abs_diff);
	double e2[] = {NAN, 1}, g2[] = {NAN, NAN};
	int64_t s2[] = {2};
	compare_values(&r, g2, e2, 2, 1, s2, &DEFAULT_TOL);
	check(!r.passed && r.worst == 1 && r.max_abs_diff == 0, "NaN-only mismatch is the worst");
	double e3[] = {NAN}, g3[] = {NAN};
	int64_t s3[] = {1};
	compare_values(&r, g3, e3, 1, 1, s3, &DEFAULT_TOL);
	check(r.passed && r.mismatched == 0, "NaN equals NaN");
}

static struct check_test tests[] = {
	TEST(test_compare__exact_and_within_tolerance),
	TEST(test_compare__planted_mismatches),
	TEST(test_compare__nan),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

/* test_ops: every processing op on small tensors whose results are computed by hand in the
 * comments, with 0.4 (letters, mode) and 0.5 (ids, axis) kwargs, and the errors a bad
 * kwarg gives. */
#include "check.h"

#include "common/error.h"
#include "ops.h"

#include <cjson/cJSON.h>
#include <math.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-5)

/* A float32 tensor (values given as doubles) with axes ids. */
static int mk(struct ops_tensor *t, const char *id, int ndim, const int64_t *shape, const char *const *ids,
	      const float *v, size_t n)
{
	struct bo_error err = BO_ERROR_INIT;
	int rc = ops_tensor_init(t, id, NPY_F32, ndim, shape, ids, v, n, &err);
	bo_error_cleanup(&err);
	return rc;
}

/* Applies op with kwargs given as JSON text; returns the rc, err filled. */
static int apply(struct ops_tensor *t, const char *op, const char *kw, const struct ops_context *ctx,
		 struct bo_error *err)
{
	cJSON *k = kw ? cJSON_Parse(kw) : NULL;
	int rc = ops_apply(t, op, k, ctx, err);
	cJSON_Delete(k);
	return rc;
}

static const char *const CYX[] = {"channel", "y", "x"};
static const char *const BCYX[] = {"batch", "channel", "y", "x"};

/* 2 channels of 2x2: c0 = 1 2 3 4, c1 = 10 20 30 40 */
static int mk_c2(struct ops_tensor *t)
{
	static const float v[] = {1, 2, 3, 4, 10, 20, 30, 40};
	static const int64_t s[] = {2, 2, 2};
	return mk(t, "raw", 3, s, CYX, v, 8);
}

static void test_ops__sigmoid_clip(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t;
	static const float v[] = {0, 2, -2, 100};
	static const int64_t s[] = {4};
	static const char *const X[] = {"x"};

	require(!mk(&t, "t", 1, s, X, v, 4), "init");
	check(!apply(&t, "sigmoid", NULL, NULL, &err), "sigmoid: %s", err.detail);
	/* 1/(1+e^0) = 0.5; 1/(1+e^-2) = 0.880797; 1/(1+e^2) = 0.119203 */
	check(NEAR(t.data[0], 0.5) && NEAR(t.data[1], 0.880797) && NEAR(t.data[2], 0.119203) &&
	      NEAR(t.data[3], 1.0), "sigmoid %g %g %g %g", t.data[0], t.data[1], t.data[2], t.data[3]);
	check(!apply(&t, "clip", "{\"min\":0.2,\"max\":0.8}", NULL, &err), "clip: %s", err.detail);
	check(NEAR(t.data[0], 0.5) && NEAR(t.data[1], 0.8) && NEAR(t.data[2], 0.2) && NEAR(t.data[3], 0.8),
	      "clip %g %g %g %g", t.data[0], t.data[1], t.data[2], t.data[3]);
	check(apply(&t, "clip", "{\"min\":1,\"max\":0}", NULL, &err) == BO_EINVALIDPACKAGE &&
	      strstr(err.detail, "above max"), "min > max refused: %s", err.detail);
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
}

static void test_ops__zero_mean_unit_variance_per_channel(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t;

	require(!mk_c2(&t), "init");
	/* 0.5: reduce y, x per channel. c0: mean 2.5, population std sqrt(1.25) = 1.118034
	 * -> (1-2.5)/(1.118034+1e-6) = -1.341640; c1 is c0 * 10 -> the same values */
	check(!apply(&t, "zero_mean_unit_variance", "{\"axes\":[\"y\",\"x\"]}", NULL, &err), "%s", err.detail);
	check(NEAR(t.data[0], -1.341640) && NEAR(t.data[3], 1.341640) && NEAR(t.data[4], -1.341640) &&
	      NEAR(t.data[7], 1.341640), "%g %g %g %g", t.data[0], t.data[3], t.data[4], t.data[7]);
	ops_tensor_cleanup(&t);

	/* 0.4 letters "cyx": all 8 values jointly: mean 13.75, var = (1+4+9+16+100+400+900+1600)/8
	 * - 13.75^2 = 378.75 - 189.0625 = 189.6875, std 13.772729; (1 - 13.75)/13.772729 = -0.925742 */
	struct ops_context legacy = {NULL, 0, 1};
	require(!mk_c2(&t), "init");
	check(!apply(&t, "zero_mean_unit_variance", "{\"axes\":\"cyx\",\"mode\":\"per_sample\"}", &legacy, &err),
	      "%s", err.detail);
	check(NEAR(t.data[0], -0.925742), "joint %g", t.data[0]);
	ops_tensor_cleanup(&t);

	/* 0.4 mode fixed with per-channel mean/std along the kept axis c */
	require(!mk_c2(&t), "init");
	check(!apply(&t, "zero_mean_unit_variance",
		     "{\"axes\":\"yx\",\"mode\":\"fixed\",\"mean\":[1,10],\"std\":[2,5]}", &legacy, &err),
	      "%s", err.detail);
	/* c0: (4-1)/(2+1e-6) = 1.4999993; c1: (40-10)/(5+1e-6) = 5.999999 */
	check(NEAR(t.data[3], 1.5) && NEAR(t.data[7], 6.0), "fixed %g %g", t.data[3], t.data[7]);
	ops_tensor_cleanup(&t);

	/* an axis the tensor does not have */
	require(!mk_c2(&t), "init");
	check(apply(&t, "zero_mean_unit_variance", "{\"axes\":[\"z\"]}", NULL, &err) == BO_EINVALIDPACKAGE &&
	      strstr(err.detail, "'z'"), "unknown axis: %s", err.detail);
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
}

static void test_ops__fixed_and_scale_linear_per_axis(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t;

	require(!mk_c2(&t), "init");
	/* 0.5 fixed_zero_mean_unit_variance with per-channel lists along axis channel */
	check(!apply(&t, "fixed_zero_mean_unit_variance",
		     "{\"mean\":[2,20],\"std\":[1,10],\"axis\":\"channel\"}", NULL, &err), "%s", err.detail);
	/* c0: (1-2)/1 = -1, (4-2)/1 = 2; c1: (10-20)/10 = -1, (40-20)/10 = 2 */
	check(NEAR(t.data[0], -1) && NEAR(t.data[3], 2) && NEAR(t.data[4], -1) && NEAR(t.data[7], 2),
	      "%g %g %g %g", t.data[0], t.data[3], t.data[4], t.data[7]);
	ops_tensor_cleanup(&t);

	require(!mk_c2(&t), "init");
	check(!apply(&t, "scale_linear", "{\"gain\":[2,0.5],\"offset\":[1,-1],\"axis\":\"channel\"}", NULL,
		     &err), "%s", err.detail);
	/* c0: 1*2+1 = 3, 4*2+1 = 9; c1: 10*0.5-1 = 4, 40*0.5-1 = 19 */
	check(t.data[0] == 3 && t.data[3] == 9 && t.data[4] == 4 && t.data[7] == 19, "%g %g %g %g",
	      t.data[0], t.data[3], t.data[4], t.data[7]);
	check(!apply(&t, "scale_linear", "{\"gain\":-1}", NULL, &err), "scalar gain: %s", err.detail);
	check(t.data[0] == -3, "scalar gain applied: %g", t.data[0]);
	/* a list of the wrong length */
	check(apply(&t, "scale_linear", "{\"gain\":[1,2,3],\"axis\":\"channel\"}", NULL, &err) ==
		      BO_EINVALIDPACKAGE && strstr(err.detail, "has size 2"), "length: %s", err.detail);
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);

	/* 0.4 scale_linear: list along the kept axis (c), axes "yx" reduced */
	struct ops_context legacy = {NULL, 0, 1};
	require(!mk_c2(&t), "init");
	check(!apply(&t, "scale_linear", "{\"gain\":[1,0.1],\"offset\":[0,0],\"axes\":\"yx\"}", &legacy, &err),
	      "%s", err.detail);
	check(t.data[7] == 4 && t.data[3] == 4, "legacy per-channel gain %g %g", t.data[3], t.data[7]);
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
}

static void test_ops__binarize_ensure_dtype(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t;
	void *packed = NULL;
	size_t nbytes = 0;

	require(!mk_c2(&t), "init");
	check(!apply(&t, "binarize", "{\"threshold\":[2.5,25],\"axis\":\"channel\"}", NULL, &err), "%s",
	      err.detail);
	/* c0 > 2.5: 0 0 1 1; c1 > 25: 0 0 1 1 */
	check(t.data[1] == 0 && t.data[2] == 1 && t.data[5] == 0 && t.data[6] == 1 && t.dtype == NPY_BOOL,
	      "binarize per channel");
	ops_tensor_cleanup(&t);

	require(!mk_c2(&t), "init");
	check(!apply(&t, "binarize", "{\"threshold\":3}", NULL, &err), "%s", err.detail);
	check(t.data[2] == 0 && t.data[3] == 1, "binarize scalar: 3 > 3 is false");
	ops_tensor_cleanup(&t);

	require(!mk_c2(&t), "init");
	check(!apply(&t, "scale_linear", "{\"gain\":30.7}", NULL, &err), "%s", err.detail);
	check(!apply(&t, "ensure_dtype", "{\"dtype\":\"uint8\"}", NULL, &err), "%s", err.detail);
	/* 1*30.7 -> 30 (truncated), 10*30.7 = 307 -> 255 (saturated) */
	check(t.dtype == NPY_U8 && t.data[0] == 30 && t.data[4] == 255, "uint8 %g %g", t.data[0], t.data[4]);
	check(!ops_tensor_pack(&t, &packed, &nbytes, &err), "pack");
	check(nbytes == 8 && ((unsigned char *)packed)[0] == 30 && ((unsigned char *)packed)[4] == 255,
	      "packed bytes");
	free(packed);
	check(apply(&t, "ensure_dtype", "{\"dtype\":\"complex64\"}", NULL, &err) == BO_EINVALIDPACKAGE,
	      "unknown dtype refused");
	check(apply(&t, "no_such_op", NULL, NULL, &err) == BO_EINVALIDPACKAGE, "unknown op refused");
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
}

static void test_ops__scale_range(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t;
	/* 0..10 in one channel of 11 values */
	float v[11];
	static const int64_t s[] = {1, 1, 11};
	static const char *const CYX1[] = {"channel", "y", "x"};

	for (int i = 0; i < 11; i++)
		v[i] = (float)i;
	require(!mk(&t, "t", 3, s, CYX1, v, 11), "init");
	/* percentiles 10 and 90 (linear): 1 and 9 -> (x-1)/(8+1e-6): 5 -> 0.5, 0 -> -0.125 */
	check(!apply(&t, "scale_range", "{\"min_percentile\":10,\"max_percentile\":90,\"axes\":[\"y\",\"x\"]}",
		     NULL, &err), "%s", err.detail);
	check(NEAR(t.data[5], 0.5) && NEAR(t.data[0], -0.125) && NEAR(t.data[10], 1.125), "%g %g %g",
	      t.data[5], t.data[0], t.data[10]);
	ops_tensor_cleanup(&t);

	/* percentile 25 of 0..10 is 2.5: between elements (interpolated) */
	require(!mk(&t, "t", 3, s, CYX1, v, 11), "init");
	check(!apply(&t, "scale_range", "{\"min_percentile\":25,\"max_percentile\":75}", NULL, &err), "%s",
	      err.detail);
	/* lo 2.5, hi 7.5: (5 - 2.5)/5 = 0.5 */
	check(NEAR(t.data[5], 0.5) && NEAR(t.data[10], 1.5), "%g %g", t.data[5], t.data[10]);
	check(apply(&t, "scale_range", "{\"min_percentile\":90,\"max_percentile\":10}", NULL, &err) ==
		      BO_EINVALIDPACKAGE, "reversed percentiles refused");
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
}

static void test_ops__scale_mean_variance_reference(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t, ref;
	static const float a[] = {1, 3}, b[] = {10, 30};
	static const int64_t s[] = {2};
	static const char *const X[] = {"x"};

	require(!mk(&t, "out", 1, s, X, a, 2) && !mk(&ref, "in", 1, s, X, b, 2), "init");
	struct ops_context ctx = {&ref, 1, 0};
	/* t: mean 2, std 1; ref: mean 20, std 10 -> (1-2)/(1+eps)*(10+eps)+20 = 10 (to 1e-5) */
	check(!apply(&t, "scale_mean_variance", "{\"reference_tensor\":\"in\"}", &ctx, &err), "%s", err.detail);
	check(NEAR(t.data[0], 10) && NEAR(t.data[1], 30), "%g %g", t.data[0], t.data[1]);
	check(apply(&t, "scale_mean_variance", "{\"reference_tensor\":\"nope\"}", &ctx, &err) ==
		      BO_EINVALIDPACKAGE && strstr(err.detail, "nope"), "unknown reference: %s", err.detail);
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
	ops_tensor_cleanup(&ref);
}

static void test_ops__per_dataset_reduces_batch(void)
{
	struct bo_error err = BO_ERROR_INIT;
	struct ops_tensor t;
	/* batch 2 of one value each: per_sample gives 0 for both; per_dataset (0.4) mean 2, std 1 */
	static const float v[] = {1, 3};
	static const int64_t s[] = {2, 1, 1, 1};
	struct ops_context legacy = {NULL, 0, 1};

	require(!mk(&t, "t", 4, s, BCYX, v, 2), "init");
	check(!apply(&t, "zero_mean_unit_variance", "{\"axes\":\"cyx\",\"mode\":\"per_sample\"}", &legacy, &err),
	      "%s", err.detail);
	check(t.data[0] == 0 && t.data[1] == 0, "per sample %g %g", t.data[0], t.data[1]);
	ops_tensor_cleanup(&t);
	require(!mk(&t, "t", 4, s, BCYX, v, 2), "init");
	check(!apply(&t, "zero_mean_unit_variance", "{\"axes\":\"cyx\",\"mode\":\"per_dataset\"}", &legacy,
		     &err), "%s", err.detail);
	check(NEAR(t.data[0], -1) && NEAR(t.data[1], 1), "per dataset %g %g", t.data[0], t.data[1]);
	bo_error_cleanup(&err);
	ops_tensor_cleanup(&t);
}

static struct check_test tests[] = {
	TEST(test_ops__sigmoid_clip),
	TEST(test_ops__zero_mean_unit_variance_per_channel),
	TEST(test_ops__fixed_and_scale_linear_per_axis),
	TEST(test_ops__binarize_ensure_dtype),
	TEST(test_ops__scale_range),
	TEST(test_ops__scale_mean_variance_reference),
	TEST(test_ops__per_dataset_reduces_batch),
};

int main(int argc, char **argv)
{
	return check_run(argc, argv, tests, sizeof tests / sizeof *tests);
}

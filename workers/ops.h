/* ops: the processing operations of the bioimage.io model spec (0.4 and 0.5), applied to a
 * tensor held as doubles with named axes. Values stay doubles between operations; `dtype`
 * records the data type the values currently represent (ensure_dtype rounds the values to
 * that type), and the caller converts to dtype at the end. */
#ifndef BO_OPS_H
#define BO_OPS_H

#include "common/npy.h"

#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;

#define OPS_AXIS_ID_MAX 64

struct ops_tensor {
	char id[128];                                /* tensor id (0.5) or name (0.4) */
	enum npy_dtype dtype;
	int ndim;
	int64_t shape[NPY_MAX_DIMS];
	char axes[NPY_MAX_DIMS][OPS_AXIS_ID_MAX];    /* axis ids: "batch", "channel", "y", "x", … */
	double *data;                                /* count elements, C order; owned */
	size_t count;
};

/* Tensors an op may refer to by id (scale_mean_variance and scale_range reference_tensor). */
struct ops_context {
	const struct ops_tensor *tensors;
	size_t n;
	int legacy; /* 1 for 0.4 kwargs: axes as a string of letters, `mode` */
};

/* Maps a 0.4 axis letter to the axis id used here: b→batch, c→channel, i→index, t→time,
 * x/y/z→x/y/z. Returns NULL for other letters. */
const char *ops_axis_letter_id(char letter);

/* Makes a tensor from count elements of dtype t (native byte order, C order). ids: ndim
 * axis ids. Returns 0, BO_ENOMEM, or BO_EINVALIDPACKAGE for a shape whose product is not
 * count. *out is initialised (data owned by it: ops_tensor_cleanup). */
int ops_tensor_init(struct ops_tensor *out, const char *id, enum npy_dtype t, int ndim,
		    const int64_t *shape, const char *const *ids, const void *data, size_t count,
		    struct bo_error *err);

/* Converts the values to t->dtype into a malloc'd buffer (*out, *nbytes; caller frees).
 * Floats round to nearest; integers truncate toward zero and saturate at the type's range;
 * NaN becomes 0 for integer types. Returns 0 or BO_ENOMEM. */
int ops_tensor_pack(const struct ops_tensor *t, void **out, size_t *nbytes, struct bo_error *err);

/* Frees the data. NULL ok; the struct may be cleaned twice. */
void ops_tensor_cleanup(struct ops_tensor *t);

/* Applies op `name` with kwargs (a JSON object or NULL) to t in place. Names: binarize,
 * clip, ensure_dtype, fixed_zero_mean_unit_variance, scale_linear, scale_mean_variance,
 * scale_range, sigmoid, zero_mean_unit_variance. Returns 0; BO_EINVALIDPACKAGE with a
 * one-line message naming the op for an unknown op, a missing/ill-typed kwarg, an axis
 * the tensor does not have, a per-axis list whose length is not that axis' size, or an
 * unknown reference tensor; BO_ENOMEM. On error t may be partly modified. */
int ops_apply(struct ops_tensor *t, const char *name, const struct cJSON *kwargs,
	      const struct ops_context *ctx, struct bo_error *err);

#endif

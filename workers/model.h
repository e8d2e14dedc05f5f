/* model: what the test worker needs from a model RDF (format 0.4 or 0.5), in one shape for
 * both: inputs and outputs in order with their axes, data type, processing and test tensor;
 * the weights by format; the reproduction tolerances. The struct is plain data the worker
 * reads (fields documented below); processing kwargs point into the parsed document the
 * model keeps, so they live until model_free. */
#ifndef BO_MODEL_H
#define BO_MODEL_H

#include "compare.h"
#include "common/npy.h"
#include "ops.h"

#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;

#define MODEL_MAX_TENSORS 64  /* inputs, outputs: more is refused */
#define MODEL_MAX_OPS 32      /* processing steps per tensor */
#define MODEL_MAX_WEIGHTS 16

enum model_axis_kind { MODEL_AXIS_BATCH, MODEL_AXIS_CHANNEL, MODEL_AXIS_INDEX, MODEL_AXIS_TIME,
		       MODEL_AXIS_SPACE };

struct model_axis {
	char id[OPS_AXIS_ID_MAX];  /* 0.5 id (defaults: batch, channel, index, time, x); 0.4 letter mapped by ops_axis_letter_id */
	enum model_axis_kind kind;
	int64_t size;              /* fixed size, or -1 */
	int64_t min, step;         /* parametrised (step > 0): size = min + n·step */
	char ref_tensor[128];      /* size taken from another tensor ("" = none) */
	char ref_axis[OPS_AXIS_ID_MAX]; /* 0.5: that tensor's axis id; 0.4: "" (same position) */
	double scale;              /* 0.5: the axis' own scale (1); 0.4: the output shape's scale */
	double offset;             /* 0.5: size offset; 0.4: output offset (size = ref·scale + 2·offset) */
};

struct model_op {
	const char *name;            /* "zero_mean_unit_variance", … (borrowed) */
	const struct cJSON *kwargs;  /* object or NULL (borrowed) */
};

struct model_tensor {
	char id[128];                /* 0.5 id, 0.4 name */
	enum npy_dtype dtype;        /* declared data type (float32 when not declared) */
	int ndim;
	struct model_axis axes[NPY_MAX_DIMS];
	struct model_op ops[MODEL_MAX_OPS]; /* preprocessing (inputs) or postprocessing (outputs) */
	size_t nops;
	char test_tensor[1024];      /* path relative to the package ("" when missing) */
};

struct model_weights {
	char format[64];             /* onnx, torchscript, pytorch_state_dict, … */
	char source[1024];           /* relative path or URL ("" when missing) */
};

struct model {
	int legacy;                  /* 1 for format_version 0.4.x */
	char format_version[32];
	struct model_tensor inputs[MODEL_MAX_TENSORS], outputs[MODEL_MAX_TENSORS];
	size_t nin, nout;
	struct model_weights weights[MODEL_MAX_WEIGHTS];
	size_t nweights;
	struct rdf_doc *doc;         /* owned: the kwargs point into it */
};

/* Parses an RDF text (len bytes, at most the rdf.h default limits) into *out (free with
 * model_free). Returns 0, BO_EINVALIDRDF (YAML problems, from rdf_parse) or
 * BO_EINVALIDPACKAGE with a one-line message naming the field (not a model, unknown
 * format_version, missing inputs/outputs/axes, more than the MODEL_MAX_* limits, an
 * unknown data type or axis, an id longer than its field), BO_ENOMEM. */
int model_load(struct model **out, const char *text, size_t len, struct bo_error *err);

/* NULL ok. */
void model_free(struct model *m);

/* The weights entry of a format, or NULL (borrowed). */
const struct model_weights *model_weights_find(const struct model *m, const char *format);

/* Tolerances for output output_id run with weights format wf: 0.5 the first
 * config.bioimageio.reproducibility_tolerance entry whose weights_formats and output_ids
 * (empty = any) match; 0.4 config.bioimageio.test_kwargs (per weight format or flat):
 * decimal d gives atol 1.5·10^-d and rtol 0, else absolute_/relative_tolerance. Defaults
 * rtol 1e-3, atol 1e-4, 0 per million. Returns 1 when the RDF gave them, 0 for defaults. */
int model_tolerance(const struct model *m, const char *wf, const char *output_id,
		    struct compare_tolerance *out);

/* Index of the input or output with this id, or -1. */
int model_input_index(const struct model *m, const char *id);

/* The expected shape of output k given the actual input shapes (in_shapes[i] for input i,
 * with the declared ndim): fixed sizes, references, batch = the inputs' batch. Entries that
 * cannot be known are -1. Returns 0, or BO_EINVALIDPACKAGE when a reference names an
 * unknown tensor or axis. */
int model_output_shape(const struct model *m, size_t k, const int64_t (*in_shapes)[NPY_MAX_DIMS],
		       int64_t *out, struct bo_error *err);

#endif

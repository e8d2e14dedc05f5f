/* validate_internal: what the files of the validate module share, and nothing else includes.
 * validate.h is the public API; this header carries the loaded rules, the problem sinks and
 * loc stack, the model's tensors and the IO cache, with the validate__ functions that pass
 * them between the files:
 *   validate.c          validate_text (the order of the checks) and the summary
 *   validate_rules.c    loading SCHEMA_DIR/rules and the SPDX list (validate_load/_free)
 *   validate_problems.c the loc stack, sinks and reporting with YAML marks
 *   validate_interp.c   the rules interpreter
 *   validate_tensors.c  the C checks of a model's tensors and axes
 *   validate_io.c       the IO checks: referenced files, test tensors, documentation, version
 *   validate_dir.c      validate_files_dir (the CLI's files in a local directory)
 * Reporting never fails a check: a problem that cannot be recorded (no memory) sets
 * vctx.oom, and validate_text turns that into BO_ENOMEM once the walk is over. */
#ifndef BO_VALIDATE_INTERNAL_H
#define BO_VALIDATE_INTERNAL_H

#include "check/validate.h"
#include "common/npy.h"
#include "common/rdf.h"

#include <cjson/cJSON.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#define LOC_MAX 48 /* deeper than any rule reaches */
#define REF_CHAIN_MAX 16

/* ---- loaded rules (validate_rules.c) ----------------------------------------------------- */

struct ruleset {
	char type[32];
	char minor[8]; /* "0.4" */
	cJSON *doc;    /* the file; defs resolved (extends and base merged) */
	const cJSON *defs;
	const cJSON *root;
};

struct pattern {
	const cJSON *node; /* the "pattern" string node of a rule */
	regex_t re;
};

struct validator {
	struct ruleset *sets;
	size_t nsets;
	struct pattern *pats;
	size_t npats;
	char **spdx; /* sorted licence ids */
	size_t nspdx;
	char **spdx_deprecated; /* sorted */
	size_t nspdx_deprecated;
};

/* Whether s is in list (n strings sorted by strcmp). */
int validate__in_sorted(char *const *list, size_t n, const char *s);
/* The rules for type and minor format version ("0.4"), or NULL; borrowed from v. */
const struct ruleset *validate__find_set(const validator *v, const char *type, const char *minor);

/* ---- problems (validate_problems.c) ------------------------------------------------------ */

struct seg {
	const char *key; /* NULL: index */
	int idx;
};

struct sink {
	cJSON *errors, *warnings;
	cJSON *refs; /* file references found by the rules: {loc, path, sha256} */
	int nerr;
};

/* One validation's walk: the rules, the document (for marks) and the loc of the node being
 * checked. The loc may be pushed past LOC_MAX; only the first LOC_MAX segments are kept. */
struct vctx {
	const validator *v;
	const rdf_doc *doc;
	const struct ruleset *rs;
	struct seg loc[LOC_MAX];
	int nloc;
	int oom;
};

void validate__push_key(struct vctx *c, const char *k);
void validate__push_idx(struct vctx *c, int i);
void validate__pop(struct vctx *c);
/* The current loc as a new JSON array (caller owns it), NULL on allocation failure. */
cJSON *validate__loc_json(const struct vctx *c);
/* Empty sink: 0, or -1 on allocation failure (validate__sink_cleanup is still needed). */
int validate__sink_init(struct sink *s);
void validate__sink_cleanup(struct sink *s);
/* Moves every item of the array from to the end of the array to. */
void validate__move_items(cJSON *to, cJSON *from);
/* Moves all problems and references of from into to. */
void validate__sink_move(struct sink *to, struct sink *from);
/* Records an error (or a warning) at the current loc, with extra as one more key when not
 * NULL, and the YAML line/column of that node or its nearest existing ancestor. An
 * allocation failure sets c->oom. */
__attribute__((format(printf, 6, 7))) void validate__report(struct vctx *c, struct sink *s, int warning,
							      const char *extra, const char *type,
							      const char *fmt, ...);

#define ERR(c, s, type, ...) validate__report(c, s, 0, NULL, type, __VA_ARGS__)
#define WARN(c, s, type, ...) validate__report(c, s, 1, NULL, type, __VA_ARGS__)

/* ---- the rules interpreter (validate_interp.c) ------------------------------------------- */

/* Checks val (whose parent object is parent, NULL at the root) against rule at the current
 * loc, into s; file references found go to s->refs. */
void validate__check_value(struct vctx *c, struct sink *s, const cJSON *rule, const cJSON *val,
			   const cJSON *parent);
/* An http:// or https:// URL. */
int validate__is_url(const char *s);
/* Exactly 64 hexadecimal digits. */
int validate__hex64(const char *s);
/* A package-relative path the server could have unpacked (into out, n bytes): 0, or -1. */
int validate__clean_rel_path(const char *in, char *out, size_t n);

/* ---- models: tensors and axes (validate_tensors.c) --------------------------------------- */

enum { SZ_ANY, SZ_FIXED, SZ_PARAM, SZ_REF, SZ_NEW };

struct axis {
	char id[24];
	char type; /* b c i t s */
	int size_kind;
	int64_t fixed, min, step;
	const char *ref_tensor, *ref_axis; /* SZ_REF (0.5: ids; 0.4: ref_axis NULL, same index) */
	double ref_scale;                  /* 0.4 implicit shape: scale */
	double offset;                     /* 0.4: offset (output adds 2*offset); 0.5: offset */
	double scale;                      /* 0.5 axis scale */
	int64_t halo;
	int ref_index;                     /* 0.4: the referenced tensor's axis */
	char ref_buf[2][40];               /* 0.5.0 draft "tensor.axis" references, split */
};

struct tensor {
	char id[64];
	int output, index, naxes, axes_ok;
	int ref_bad; /* its size reference is broken: sizes derived from it mean nothing */
	struct axis axes[NPY_MAX_DIMS];
	const cJSON *node;
	const char *data_type;
	/* the test tensor: its path and where it is written */
	char test_path[1024];
	struct seg test_loc[5];
	int test_nloc;
	int test_ndim; /* -1: not read */
	int64_t test_shape[NPY_MAX_DIMS];
};

struct model {
	int v05; /* 0.5 layout; else 0.3/0.4 */
	int n;
	struct tensor t[64];
};

/* Replaces the current loc with the n segments segs. */
void validate__set_loc(struct vctx *c, const struct seg *segs, int n);
/* The tensor named id (NULL: none), the index of the axis named id in t (-1: none). */
struct tensor *validate__find_tensor(struct model *m, const char *id);
int validate__find_axis(const struct tensor *t, const char *id);
/* k numbers joined by sep into buf (n bytes), as many as fit. */
void validate__fmt_shape(char *buf, size_t n, const int64_t *v, int k, const char *sep);
/* Reads root's inputs and outputs into m (m->v05 set by the caller) and checks tensor ids,
 * axes, size references and halos. */
void validate__check_model(struct vctx *c, struct sink *s, const cJSON *root, struct model *m);

/* ---- IO checks (validate_io.c) ----------------------------------------------------------- */

struct io {
	const struct validate_files *f;
	cJSON *cache; /* path -> {"size": n} or {"missing": true}, plus "sha256" once computed */
	int rc;       /* a callback failure: the validation cannot finish */
	int names_only; /* presence only: no sha256 (validate_options.names_only) */
	struct bo_error *err;
};

/* Each check reports into s; a failing files callback sets io->rc (err set by the
 * callback), and the caller then stops: the validation cannot finish. */
/* The references the rules collected (refs: the sink's refs): present, and the declared
 * sha256 when there is one. */
void validate__check_files(struct vctx *c, struct sink *s, const cJSON *refs, struct io *io);
/* Where each tensor's test tensor is (t->test_path, t->test_loc); for 0.3/0.4 also whether
 * test_inputs/test_outputs list one file per tensor. Needs no files. */
void validate__locate_test_tensors(struct vctx *c, struct sink *s, const cJSON *root, struct model *m);
/* The .npy headers of the present test tensors against the declared axes and sizes. */
void validate__check_test_tensors(struct vctx *c, struct sink *s, struct model *m, struct io *io);
/* A local documentation file should have a heading on validation (a warning). */
void validate__check_documentation(struct vctx *c, struct sink *s, const cJSON *root, struct io *io);
/* version: its form, and with opt->version_exists that it is not yet published; a
 * version_exists failure goes to *rc_out (err set by the callback). */
void validate__check_version(struct vctx *c, struct sink *s, const cJSON *root,
			     const struct validate_options *opt, int *rc_out, struct bo_error *err);

#endif

/* linediff: a line diff of two texts (a reviewer's view of what a revision changed in its
 * rdf.yaml). A longest common subsequence over the lines between the common head and tail,
 * with bounds so that an untrusted upload cannot make it slow or large: at most max_lines
 * lines a side and max_cells cells of the LCS table (two bytes each); beyond them the
 * texts are "too large to diff". The result is a cJSON array of strings, one per line:
 * "-old", "+new", " same" (context), and "@ N unchanged lines" where unchanged lines are
 * left out; two equal texts give []. */
#ifndef BO_LINEDIFF_H
#define BO_LINEDIFF_H

#include <stddef.h>

struct bo_error;
struct cJSON;

struct linediff_limits {
	size_t max_lines; /* lines per text */
	size_t max_cells; /* of the LCS table, after the common head and tail are cut */
	size_t context;   /* unchanged lines kept around a change */
	size_t max_out;   /* lines of the result; then "@ N more lines not shown" */
};

/* The defaults: 5000 lines, 4 Mi cells (8 MiB), 3 lines of context, 2000 lines out. */
extern const struct linediff_limits LINEDIFF_DEFAULTS;

/* *out (caller frees with cJSON_Delete) is the diff of a and b (NUL-terminated; a final
 * newline does not make an empty last line), or NULL with *too_large = 1 when a bound is
 * passed. BO_ENOMEM. */
int linediff_run(struct cJSON **out, int *too_large, const char *a, const char *b, const struct linediff_limits *lim,
		 struct bo_error *err);

#endif

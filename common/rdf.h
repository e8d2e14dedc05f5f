/* rdf: resource description files. YAML (libyaml) -> cJSON with the line/column of every
 * node, under limits; RDF file-name discovery in a package; emitting a cJSON tree back as
 * YAML. */
#ifndef BO_RDF_H
#define BO_RDF_H

#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct config;
struct cJSON;

struct rdf_limits {
	int64_t max_bytes;        /* document size; also the scalar text (keys included) that
				     alias expansion (and merges) may add */
	int64_t max_depth;        /* nesting of mappings/sequences, the root is depth 1 */
	int64_t max_nodes;        /* nodes in the result, alias copies and keys included */
	int64_t max_scalar_bytes; /* one scalar */
	int64_t alias_budget;     /* nodes that alias expansion (and merges) may add */
};

/* The limits.h defaults (the worker's, and every tool's without a config; the server's
 * come from its config: config_rdf_limits). */
void rdf_limits_default(struct rdf_limits *out);

typedef struct rdf_doc rdf_doc;

/* Parses YAML text (one document; text need not be NUL-terminated) into a cJSON tree,
 * keeping the 1-based line/column of every node. YAML 1.2 core schema for plain
 * scalars: null/Null/NULL/~/empty -> null; true/false (True/TRUE/False/FALSE) -> bool;
 * ints (decimal, 0x, 0o) and floats (1e-06, 1.5e3, .inf, -.inf, .nan) -> numbers (inf
 * and nan are IEEE values in valuedouble); everything else, yes/no/on/off included, and
 * every quoted scalar -> string. Keys are the scalars' text. `%YAML 1.1|1.2` accepted.
 * Aliases are expanded by copy; `<<` merges (a mapping or a list of mappings) are
 * applied, explicit keys winning.
 * Returns 0 and *out (free with rdf_free), or BO_EINVALIDRDF with one err->errors entry
 * {loc, msg, type, line, column} per problem, all that can be collected:
 *   "yaml_syntax" (libyaml's problem and mark), "duplicate_key" (the second key's mark),
 *   "non_scalar_key", "invalid_merge", "recursive_alias", "unknown_alias",
 *   "multiple_documents", "rdf_not_mapping" (top level not a mapping, or empty),
 *   "limit" (document bytes, depth, nodes, scalar length, alias budget, bytes added by
 *   aliases — the message names the limit and its value; parsing stops there, so a
 *   billion-laughs document fails in milliseconds); or BO_ENOMEM. */
int rdf_parse(rdf_doc **out, const char *text, size_t len, const struct rdf_limits *lim,
	      struct bo_error *err);
/* Frees the document and its root unless taken. NULL ok. */
void rdf_free(rdf_doc *d);

/* The root object (borrowed, lives as long as d; NULL after rdf_take_root). */
struct cJSON *rdf_root(const rdf_doc *d);
/* Detaches the root: the caller owns it (cJSON_Delete). The marks are kept in d, apart
 * from the tree, so rdf_mark keeps working whatever the caller does with the tree. */
struct cJSON *rdf_take_root(rdf_doc *d);

/* Line/column (1-based) of the node at loc, a cJSON array of strings (keys) and numbers
 * (indices), e.g. ["inputs",0,"axes",2]; NULL or [] is the root. For a missing path the
 * mark of the deepest existing ancestor is given. O(depth).
 * Returns 0 if the exact node was found, BO_ENOTFOUND otherwise (marks still filled). */
int rdf_mark(const rdf_doc *d, const struct cJSON *loc, int *line, int *column);

/* Picks the RDF file among package entry names ('/'-separated paths). Only top-level
 * files count — but when every name sits under one common top-level folder (zips made by
 * "compress folder"), the files directly in that folder count instead. Order: rdf.yaml,
 * bioimageio.yaml, *.bioimageio.yaml, *.rdf.yaml. *out is one of names[] (borrowed).
 * BO_EINVALIDPACKAGE "package has 2 candidate RDF files: a.bioimageio.yaml,
 * b.bioimageio.yaml" when the best kind is ambiguous, or "package has no rdf.yaml or
 * bioimageio.yaml" when there is none. */
int rdf_find_name(const char *const *names, size_t n, const char **out, struct bo_error *err);

/* Emits a cJSON tree as block-style YAML (UTF-8, 2-space indent, keys in tree order;
 * strings quoted whenever a plain scalar would resolve to something else under YAML 1.2
 * or 1.1 or could be misread; multi-line strings as literal blocks when possible;
 * inf/nan as .inf/-.inf/.nan; empty containers as {} and []). rdf_parse of the output
 * gives back an equal tree. Returns a malloc'd string (caller frees) or NULL with
 * BO_ENOMEM, or BO_EINTERNAL when a string is not valid UTF-8. */
char *rdf_emit(const struct cJSON *root, struct bo_error *err);

#endif

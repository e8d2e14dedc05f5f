/* validate: static validation of a resource description (DESIGN §7). Our own rules per
 * type and format version, as data in SCHEMA_DIR/rules/TYPE-MAJOR.MINOR.json applied by a small
 * interpreter, plus semantic checks in C (tensor ids, axes, sizes, halo, test tensors,
 * file references, documentation, version). Every problem is reported, each with its loc
 * in the RDF and the YAML line/column. The result is a validation summary in the shape
 * bioimageio.spec writes. */
#ifndef BO_VALIDATE_H
#define BO_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bo_error;
struct cJSON;
struct rdf_limits;

/* How the validator reaches the package's files for the IO checks. Paths are
 * package-relative, '/'-separated, already free of "..", absolute parts and URLs.
 * Every function returns 0, BO_ENOTFOUND when there is no such regular file, or another
 * BO_E* code with err set (storage trouble: the validation cannot finish and the caller
 * retries; it is never reported as a problem of the RDF). */
struct validate_files {
	void *ctx;
	int (*stat)(void *ctx, const char *path, uint64_t *size, struct bo_error *err);
	/* hex: 64 lower-case hex digits and a NUL. */
	int (*sha256)(void *ctx, const char *path, char hex[65], struct bo_error *err);
	/* Up to len bytes from the start of the file into buf; *got bytes were read. */
	int (*read_head)(void *ctx, const char *path, void *buf, size_t len, size_t *got,
			 struct bo_error *err);
};

struct validate_options {
	/* NULL: no IO checks (bioimageio.spec's perform_io_checks=False); the summary is then
	 * at best "valid-format". Uploads are always validated with files. */
	const struct validate_files *files;
	/* NULL: the "not yet published" check of `version` is skipped. Otherwise returns 1
	 * when the concept already has this version, 0 when not, a BO_E* code (err set) when
	 * it cannot tell. */
	int (*version_exists)(void *ctx, const char *version, struct bo_error *err);
	void *version_ctx;
	/* Shown as source_name in the summary (file name or storage key); may be NULL. */
	const char *source_name;
	/* YAML limits; NULL = limits.h defaults. */
	const struct rdf_limits *limits;
	/* With files: only files->stat is called (the upload page sends the zip's names, not its
	 * bytes): referenced files must be present; sha256, test tensors and documentation
	 * are skipped, and the summary is at best "valid-format". */
	int names_only;
};

typedef struct validator validator;

/* Loads the rules (SCHEMA_DIR/rules/TYPE-MAJOR.MINOR.json) and the SPDX list
 * (SCHEMA_DIR/spdx_licenses.json). The result is immutable and may be shared by threads.
 * BO_EINTERNAL with the file and the problem when a rules file is malformed or missing. */
int validate_load(validator **out, const char *schema_dir, struct bo_error *err);
/* NULL ok. */
void validate_free(validator *v);

/* Validates RDF text (YAML). A YAML problem (syntax, duplicate key, limit) is not an
 * error return: it gives a failed summary with the problem's line/column.
 * Returns 0 and *summary (caller cJSON_Delete):
 *   {name, source_name, id, type, format_version, status, details[], env}
 * status: "failed" when any detail has errors; "passed" when IO checks ran and nothing
 * failed; "valid-format" when IO checks were skipped and nothing failed. Each detail:
 *   {name, status: passed|failed|skipped, loc, errors:[{loc,msg,type,line,column}],
 *    warnings:[{loc,msg,type,severity,line,column}]}
 * Returns BO_ENOMEM, or the code of a files/version_exists callback failure (err set by
 * the callback) — then no summary. */
int validate_text(const validator *v, const char *text, size_t len,
		  const struct validate_options *opt, struct cJSON **summary, struct bo_error *err);

/* "passed", "valid-format" or "failed" from a summary (borrowed; "failed" if absent). */
const char *validate_summary_status(const struct cJSON *summary);
/* Type and format_version the summary found ("" if unknown; borrowed). */
const char *validate_summary_type(const struct cJSON *summary);

/* Every error of a summary as a new array of {loc,msg,type,line,column} (for a 422
 * problem+json body). NULL on allocation failure. */
struct cJSON *validate_summary_errors(const struct cJSON *summary);

/* Every error of a summary as text for a person, one per line: "line:col  loc  message"
 * (the table's form; "file:line:col" when the summary has rdf_file, the file the lines
 * refer to), at most max_bytes (whole lines; "… and N more" when cut). malloc'd,
 * "" when there is none; NULL on allocation failure. */
char *validate_errors_text(const struct cJSON *summary, size_t max_bytes);

/* Prints the summary as a readable table: one line per check with ✓/✗/⚠/–, then its
 * problems as "  line:col  loc  message". Returns 0 or -1 on a write error. */
int validate_print_table(const struct cJSON *summary, FILE *f);

/* File-access callbacks over a local directory (the CLI: an RDF's directory, a package
 * directory, or a zip extracted to a temp directory). dir is borrowed. */
void validate_files_dir(struct validate_files *out, const char *dir);

#endif

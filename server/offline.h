/* offline: the pipeline behind `backoffice validate` and `backoffice test`, run on a local
 * path without a server, database or storage. A path is an RDF file (its directory is the
 * package), a package directory (its RDF found as in an upload) or a zip (unpacked into a
 * temp directory that is removed before returning). Validation uses the server's rules
 * and the dynamic tests the server's worker, sandbox and weight-format rule (weights.h),
 * so a package that passes here passes the same checks on upload. main.c only parses the
 * arguments and prints what these functions return. */
#ifndef BO_OFFLINE_H
#define BO_OFFLINE_H

#include <stdio.h>

struct bo_error;
struct cJSON;
struct config;
typedef struct validator validator;

/* Loads the validation rules: cfg->schema_dir when it has rules/, else the schema/ next
 * to the running binary (build/x/backoffice -> ../../schema, ../schema,
 * ../share/backoffice/schema), so the CLI works from any directory. *out is freed with
 * validate_free. Returns 0 or the error of validate_load. */
int offline_load_rules(validator **out, const struct config *cfg, struct bo_error *err);

/* Validates the package at path (io_checks 0: without looking at its files, as
 * bioimageio.spec's perform_io_checks=False). Returns 0 with *out, the summary of
 * validate_text (caller cJSON_Delete), whether it passed or failed. Otherwise no summary
 * and err->detail starts with the path:
 *   BO_EBADREQUEST: the path cannot be used (missing, unreadable, not a file, a
 *     directory without an RDF, a .zip that is not a zip, or the zip could not be
 *     unpacked here) — the CLI's usage error, exit 2;
 *   BO_EINVALIDPACKAGE, BO_ETOOLARGE: a zip that is not an acceptable package (package.h
 *     limits from cfg) — the package is invalid, exit 1;
 *   BO_ENOMEM, or a code of validate_text. */
int offline_validate(struct cJSON **out, const struct config *cfg, const validator *v, const char *path,
		     int io_checks, struct bo_error *err);

/* Static validation of path (with IO checks), then, when it did not fail and the RDF is
 * a model, one sandboxed worker run per weight format the server would test
 * (weights_next), or only the format `only` when not NULL. Returns 0 with *out (caller
 * cJSON_Delete):
 *   {status: "passed"|"failed", source: path, validation: <summary>, tests: [<test summary>]}
 * status is passed when validation did not fail and every run passed or was skipped.
 * Otherwise no result: the codes of offline_validate; BO_EBADREQUEST when the RDF cannot
 * be read again or `only` names no weights of the model; the code of test_worker_run. */
int offline_test(struct cJSON **out, const struct config *cfg, const validator *v, const char *path,
		 const char *only, struct bo_error *err);

/* 1 when an offline_test result passed. */
int offline_test_passed(const struct cJSON *result);

/* An offline_test result as text, like `bioimageio test`: the validation table, one block
 * per weight format (verdict, wall time and peak RSS, each check with its first problems,
 * the end of the worker's log), then the verdict line. */
void offline_print_test(const struct cJSON *result, FILE *f);

#endif

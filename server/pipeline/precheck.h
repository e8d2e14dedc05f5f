/* precheck: the upload page's check of an RDF before the package is sent. The page reads
 * the RDF and the entry names out of the zip in the browser and sends them; the server runs
 * the static validation of `backoffice validate --no-io-checks` on the text, checks that
 * every file the RDF names is among the names, and the upload's own refusals (the RDF file
 * is the one upload would pick, its type is one upload accepts), so what passes here is
 * what an upload of the same zip passes at once. */
#ifndef BO_PRECHECK_H
#define BO_PRECHECK_H

#include <stddef.h>

struct app;
struct bo_error;
struct cJSON;

/* Checks text (len bytes, at most cfg->max_yaml_bytes: BO_ETOOLARGE) read from the entry
 * rdf_file of a zip whose entry names are files (n strings, at most max_zip_entries:
 * BO_ETOOLARGE). BO_EBADREQUEST when rdf_file is not the RDF upload would pick among
 * files; BO_EINVALIDPACKAGE when there is none or it is ambiguous.
 * Passed: 0 and *out (caller cJSON_Delete) {status, rdf_file, errors: [], warnings: n,
 * preview, validation}. Failed: BO_EINVALIDRDF, err->errors every error
 * ({loc, msg, type, line, column, file}) and err->extra {rdf_file, preview, validation}.
 * preview: {name, type, id, license, authors: [names], covers: [paths as written]}, each
 * null when the RDF does not say. */
int precheck_rdf(struct app *a, const char *text, size_t len, const char *rdf_file, const char *const *files,
		 size_t n, struct cJSON **out, struct bo_error *err);

#endif

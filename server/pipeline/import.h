/* import: `backoffice import`, adopting a collection that exists already.
 * - import_storage: the configured storage (fs directory or S3 bucket + prefix) in the
 *   reference backoffice's layout (<id>/versions.json, <id>/<v>/info.json,
 *   <id>/<v>/files/…, <id>/draft/draft.json, <id>/draft/files/…), which is also ours: the
 *   rows are made for the objects where they are (nothing is copied or written).
 * - import_legacy: a checkout of the legacy collection's gh-pages branch (collection.json +
 *   rdfs/<legacy id>/<version>/rdf.yaml); the files stay at their URLs (versions.source_url).
 * Both are idempotent: a row that exists with the same content is "unchanged", one with other
 * content (another rdf_sha256, type or DOI) is a conflict, reported and never overwritten.
 * Each concept is one transaction (rolled back in a dry run, so nothing is written). */
#ifndef BO_IMPORT_H
#define BO_IMPORT_H

#include <stddef.h>
#include <stdio.h>

struct app;
struct bo_error;

struct import_opts {
	int dry_run;
	FILE *out;      /* one line per change, conflict or skip ("create version x/1") */
	FILE *progress; /* throttled progress lines, NULL for none */
};

/* Rows counted: concepts, versions, drafts and aliases (files rows go with their version or
 * draft). skipped: objects that cannot be adopted (no id of ours, no rdf.yaml, bad RDF),
 * each reported on opts->out. */
struct import_report {
	int created, unchanged, conflicts, skipped;
	int concepts; /* concepts seen */
};

/* After a real import that created rows, queues a collection rebuild. Returns 0 (conflicts
 * and skips are in *r, not errors), BO_ESTORAGE, BO_EDATABASE, BO_ENOMEM. */
int import_storage(struct app *a, const struct import_opts *opts, struct import_report *r, struct bo_error *err);

/* dir holds collection.json and rdfs/. Entries without config.bioimageio.nickname (or
 * whose nickname is not an id of ours) get a new id from our vocabulary; every entry's
 * collection.json id becomes an alias. Returns 0, BO_EBADREQUEST (dir or collection.json
 * unusable), BO_EDATABASE, BO_ENOMEM. */
int import_legacy(struct app *a, const char *dir, const struct import_opts *opts, struct import_report *r,
		  struct bo_error *err);

/* ---- the parsing pieces (unit-tested) ---- */

/* An ISO 8601 time as our columns store it (UTC, 'T', 'Z'): "2022-06-15 22:06:22.658325"
 * -> "2022-06-15T22:06:22.658Z", "2024-01-02T03:04:05+01:00" -> "2024-01-02T02:04:05Z"; a
 * time already in our form comes back unchanged (so a bucket we wrote imports as it is).
 * Fractions keep milliseconds; no zone means UTC. 0, or -1 when in is not such a time or
 * out (n bytes, 32 suffice) is too small. */
int import_time_normalize(const char *in, char *out, size_t n);

/* From a legacy rdf_source URL ".../rdfs/<path>/<version>/rdf.yaml": the legacy path
 * ("10.5281/zenodo.5764892") into path and the URL up to and including it into base (no
 * trailing slash). 0, or -1 when the URL has no such shape, a segment is "." or "..", or a
 * buffer is too small. */
int import_legacy_paths(const char *rdf_source, char *path, size_t np, char *base, size_t nb);

#endif

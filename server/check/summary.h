/* summary: our validation and test summaries in the shape of bioimageio.spec's
 * ValidationSummary (spec-bioimage-io summary.py), which the ecosystem's tools parse:
 * warning severities as numbers (20 info, 30 warning, 35 alert), env as a list of
 * [name, version, build, channel], detail status only passed|failed, top-level status
 * passed|valid-format|failed, and our comparison numbers under our own key `comparison`,
 * not in `context`, which the spec does not let anyone extend. The worker's protocol
 * (workers/PROTOCOL.md) stays as it is; this is applied where a summary is published. */
#ifndef BO_SUMMARY_H
#define BO_SUMMARY_H

struct cJSON;

/* What a dynamic summary lacks that the spec requires (NULL members are left alone). */
struct summary_source {
	const char *source_name;    /* the public URL of the rdf.yaml tested */
	const char *id;
	const char *type;
	const char *format_version;
};

/* Reshapes s in place (see above); src may be NULL. A skipped detail becomes passed with
 * its reasons as alert-level warnings of type "skipped"; an error detail becomes failed; a
 * skipped run is valid-format, an errored one failed (the run's own status, kept by the
 * caller, still says which). Returns 0, or -1 when out of memory (s is then partly
 * reshaped and still valid JSON). */
int summary_to_spec(struct cJSON *s, const struct summary_source *src);

/* 20, 30 or 35 for "info", "warning", "alert"; 30 for anything else. */
int summary_severity(const char *name);

#endif

/* weights: the one rule for which weight formats of a model RDF get a dynamic test run.
 * The server's test jobs (test_job_schedule) and the CLI (`backoffice test`, offline.c)
 * both pick formats through it, so a package tested locally runs the formats the server
 * would run. */
#ifndef BO_WEIGHTS_H
#define BO_WEIGHTS_H

struct cJSON;

/* 1 when entry, a member of a model RDF's `weights` mapping, is a format to run: its
 * key (entry->string, the weight format's name) is not empty and its value is not null
 * (`onnx: null` declares no onnx weights). 0 otherwise, and for NULL. The value is not
 * checked further: static validation judged it, and the worker reports what it cannot
 * run (a format without a runtime is `skipped`). */
int weights_is_runnable(const struct cJSON *entry);

/* The runnable members of weights (an RDF's `weights`; NULL or anything but an object
 * has none), in the RDF's order: the first one after prev (prev NULL: the first one),
 * or NULL when none is left. Borrowed from weights. Loop with
 *   for (w = weights_next(ws, NULL); w; w = weights_next(ws, w)) … w->string … */
const struct cJSON *weights_next(const struct cJSON *weights, const struct cJSON *prev);

#endif

/* metrics: counters for /metrics (Prometheus text format): requests by route and
 * status, a request latency histogram, upload bytes. Owned by the server context;
 * thread-safe. Job and storage figures are read at render time from their owners. */
#ifndef BO_METRICS_H
#define BO_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;

/* NULL on allocation failure. */
metrics *metrics_create(void);
void metrics_free(metrics *m);

/* route is the route pattern ("/api/v1/ids/{id}", or "unmatched"), borrowed for the
 * program's life (route tables are static). */
void metrics_observe_request(metrics *m, const char *method, const char *route, int status,
			     double seconds);
void metrics_add_upload_bytes(metrics *m, uint64_t bytes);

/* Appends the Prometheus text of the counters to a malloc'd buffer (*out, *len are
 * grown; *out may start NULL). Returns 0 or -1 on allocation failure. */
int metrics_render(metrics *m, char **out, size_t *len);

/* Appends printf-formatted text to a malloc'd buffer (used by renderers of other
 * figures). Returns 0 or -1. */
int metrics_appendf(char **out, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

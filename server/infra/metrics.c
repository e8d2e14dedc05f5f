/* metrics: a fixed table of (method, route, status) counters and one latency histogram
 * per route, under one mutex. The table is bounded: routes are a static set, statuses a
 * handful, so MAX_SERIES is never reached in practice; past it, observations are dropped
 * and counted. */
#include "infra/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 512
#define MAX_ROUTES 128

static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	const char *method, *route;
	int status;
	uint64_t count;
};

struct histogram {
	const char *route;
	uint64_t counts[NBUCKETS];
	uint64_t total;
	double sum;
};

struct metrics {
	pthread_mutex_t lock;
	struct series series[MAX_SERIES];
	size_t nseries;
	struct histogram hist[MAX_ROUTES];
	size_t nhist;
	uint64_t dropped;
	uint64_t upload_bytes;
};

metrics *metrics_create(void)
{
	metrics *m = calloc(1, sizeof(*m));
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_observe_request(metrics *m, const char *method, const char *route, int status,
			     double seconds)
{
	pthread_mutex_lock(&m->lock);
	size_t i;
	for (i = 0; i < m->nseries; i++) {
		struct series *s = &m->series[i];
		if (s->status == status && !strcmp(s->route, route) && !strcmp(s->method, method))
			break;
	}
	if (i == m->nseries) {
		if (m->nseries < MAX_SERIES) {
			m->series[i] = (struct series){method, route, status, 0};
			m->nseries++;
		} else {
			m->dropped++;
			goto unlock;
		}
	}
	m->series[i].count++;
	for (i = 0; i < m->nhist; i++)
		if (!strcmp(m->hist[i].route, route))
			break;
	if (i == m->nhist) {
		if (m->nhist == MAX_ROUTES)
			goto unlock;
		m->hist[i].route = route;
		m->nhist++;
	}
	struct histogram *h = &m->hist[i];
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b])
			h->counts[b]++;
	h->total++;
	h->sum += seconds;
unlock:
	pthread_mutex_unlock(&m->lock);
}

void metrics_add_upload_bytes(metrics *m, uint64_t bytes)
{
	pthread_mutex_lock(&m->lock);
	m->upload_bytes += bytes;
	pthread_mutex_unlock(&m->lock);
}

int metrics_appendf(char **out, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *piece = NULL;
	int n = vasprintf(&piece, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char *grown = realloc(*out, *len + (size_t)n + 1);
	if (!grown) {
		free(piece);
		return -1;
	}
	memcpy(grown + *len, piece, (size_t)n + 1);
	*out = grown;
	*len += (size_t)n;
	free(piece);
	return 0;
}

int metrics_render(metrics *m, char **out, size_t *len)
{
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	rc |= metrics_appendf(out, len,
			      "# HELP bo_http_requests_total HTTP requests by method, route and status.\n"
			      "# TYPE bo_http_requests_total counter\n");
	for (size_t i = 0; i < m->nseries && !rc; i++)
		rc |= metrics_appendf(out, len, "bo_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
				      m->series[i].method, m->series[i].route, m->series[i].status,
				      (unsigned long long)m->series[i].count);
	rc |= metrics_appendf(out, len,
			      "# HELP bo_http_request_duration_seconds Request latency by route.\n"
			      "# TYPE bo_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->nhist && !rc; i++) {
		const struct histogram *h = &m->hist[i];
		for (size_t b = 0; b < NBUCKETS; b++)
			rc |= metrics_appendf(out, len, "bo_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
					      h->route, buckets[b], (unsigned long long)h->counts[b]);
		rc |= metrics_appendf(out, len,
				      "bo_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
				      "bo_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
				      "bo_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
				      h->route, (unsigned long long)h->total, h->route, h->sum, h->route,
				      (unsigned long long)h->total);
	}
	rc |= metrics_appendf(out, len,
			      "# HELP bo_upload_bytes_total Bytes received in package uploads.\n"
			      "# TYPE bo_upload_bytes_total counter\nbo_upload_bytes_total %llu\n"
			      "# HELP bo_metrics_dropped_total Observations dropped because the series table was full.\n"
			      "# TYPE bo_metrics_dropped_total counter\nbo_metrics_dropped_total %llu\n",
			      (unsigned long long)m->upload_bytes, (unsigned long long)m->dropped);
	pthread_mutex_unlock(&m->lock);
	return rc ? -1 : 0;
}

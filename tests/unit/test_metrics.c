/* Unit tests for metrics: the Prometheus text of counters and the latency histogram
 * (cumulative buckets, +Inf, sum, count), upload bytes, appendf, and observations from
 * four threads that must sum exactly. */
#include "check.h"

#include "infra/metrics.h"

#include <pthread.h>

/* Value of the sample line that starts with `series` followed by a space; -1 if absent. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p;) {
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static char *render(metrics *m)
{
	char *out = NULL;
	size_t len = 0;
	if (metrics_render(m, &out, &len)) {
		free(out);
		return NULL;
	}
	if (out && strlen(out) != len) {
		free(out);
		return NULL;
	}
	return out;
}

/* Every line is a comment (# HELP/# TYPE) or `name{labels} value` / `name value`. */
static int well_formed(const char *text)
{
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		if (!e)
			return 0; /* the format ends every line with \n */
		size_t len = (size_t)(e - p);
		if (len == 0)
			return 0;
		if (p[0] == '#') {
			if (strncmp(p, "# HELP ", 7) && strncmp(p, "# TYPE ", 7))
				return 0;
		} else {
			const char *sp = memrchr(p, ' ', len);
			if (!sp || sp == p)
				return 0;
			char *end = NULL;
			strtod(sp + 1, &end);
			if (end != e)
				return 0;
			for (const char *q = p; q < sp && *q != '{'; q++)
				if (!(*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
				      (*q >= '0' && *q <= '9') || *q == ':'))
					return 0;
		}
		p = e + 1;
	}
	return 1;
}

static void test_metrics__empty(void)
{
	metrics *m = metrics_create();
	require(m, "create");
	char *t = render(m);
	require(t, "render");
	check(well_formed(t), "malformed:\n%s", t);
	check(strstr(t, "# TYPE bo_http_requests_total counter") != NULL, "requests TYPE");
	check(strstr(t, "# TYPE bo_http_request_duration_seconds histogram") != NULL, "histogram TYPE");
	check(sample(t, "bo_upload_bytes_total") == 0, "upload bytes");
	check(sample(t, "bo_metrics_dropped_total") == 0, "dropped");
	check(!strstr(t, "bo_http_requests_total{"), "series without observations");
	free(t);
	metrics_free(m);
	metrics_free(NULL);
}

static void test_metrics__counters_and_histogram(void)
{
	metrics *m = metrics_create();
	require(m, "create");
	const char *ids = "/api/v1/ids/{id}";
	metrics_observe_request(m, "GET", ids, 200, 0.0005);
	metrics_observe_request(m, "GET", ids, 200, 0.003);
	metrics_observe_request(m, "GET", ids, 404, 0.2);
	metrics_observe_request(m, "GET", ids, 200, 45.0); /* beyond the last bucket */
	metrics_observe_request(m, "POST", "/api/v1/uploads", 201, 1.0);
	metrics_add_upload_bytes(m, 1000);
	metrics_add_upload_bytes(m, 234);
	char *t = render(m);
	require(t, "render");
	check(well_formed(t), "malformed:\n%s", t);
	check(sample(t, "bo_http_requests_total{method=\"GET\",route=\"/api/v1/ids/{id}\",status=\"200\"}") == 3,
	      "GET ids 200");
	check(sample(t, "bo_http_requests_total{method=\"GET\",route=\"/api/v1/ids/{id}\",status=\"404\"}") == 1,
	      "GET ids 404");
	check(sample(t, "bo_http_requests_total{method=\"POST\",route=\"/api/v1/uploads\",status=\"201\"}") == 1,
	      "POST uploads 201");
	/* buckets are cumulative */
	const char *h = "bo_http_request_duration_seconds_bucket{route=\"/api/v1/ids/{id}\",le=";
	char key[256];
	struct {
		const char *le;
		double want;
	} b[] = {{"\"0.001\"}", 1}, {"\"0.005\"}", 2}, {"\"0.01\"}", 2}, {"\"0.1\"}", 2}, {"\"0.25\"}", 3},
		 {"\"1\"}", 3},     {"\"10\"}", 3},    {"\"30\"}", 3},   {"\"+Inf\"}", 4}};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		snprintf(key, sizeof(key), "%s%s", h, b[i].le);
		check(sample(t, key) == b[i].want, "%s = %g, want %g", key, sample(t, key), b[i].want);
	}
	double sum = sample(t, "bo_http_request_duration_seconds_sum{route=\"/api/v1/ids/{id}\"}");
	check(sum > 45.2034 && sum < 45.2036, "sum %f", sum);
	check(sample(t, "bo_http_request_duration_seconds_count{route=\"/api/v1/ids/{id}\"}") == 4, "count");
	check(sample(t, "bo_http_request_duration_seconds_count{route=\"/api/v1/uploads\"}") == 1, "uploads count");
	check(sample(t, "bo_http_request_duration_seconds_bucket{route=\"/api/v1/uploads\",le=\"0.5\"}") == 0,
	      "uploads le 0.5");
	check(sample(t, "bo_http_request_duration_seconds_bucket{route=\"/api/v1/uploads\",le=\"1\"}") == 1,
	      "le is inclusive");
	check(sample(t, "bo_upload_bytes_total") == 1234, "upload bytes %g", sample(t, "bo_upload_bytes_total"));
	/* buckets of one route increase monotonically */
	double prev = -1;
	const char *p = t;
	while ((p = strstr(p, h))) {
		const char *sp = strchr(p, ' ');
		double v = strtod(sp + 1, NULL);
		check(v >= prev, "bucket decreased at %.60s", p);
		prev = v;
		p = sp;
	}
	free(t);
	metrics_free(m);
}

static void test_metrics__render_appends(void)
{
	metrics *m = metrics_create();
	require(m, "create");
	char *out = NULL;
	size_t len = 0;
	check(metrics_appendf(&out, &len, "first %d\n", 1) == 0, "appendf");
	check(len == strlen("first 1\n"), "len %zu", len);
	check(metrics_render(m, &out, &len) == 0, "render");
	check(metrics_appendf(&out, &len, "bo_jobs{state=\"%s\"} %d\n", "queued", 3) == 0, "appendf after");
	require(out, "no output");
	check(!strncmp(out, "first 1\n# HELP", 14), "render did not append: %.30s", out);
	check(strlen(out) == len, "len %zu vs strlen %zu", len, strlen(out));
	check(sample(out, "bo_jobs{state=\"queued\"}") == 3, "tail line");
	check(well_formed(out + strlen("first 1\n")), "malformed");
	free(out);
	metrics_free(m);
}

#define THREADS 4
#define PER_THREAD 5000

struct worker {
	metrics *m;
	int id;
};

static const char *const thread_routes[] = {"/healthz", "/api/v1/ids/{id}", "/files/{*key}"};

static void *observe(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		metrics_observe_request(w->m, i % 2 ? "GET" : "POST", thread_routes[i % 3], 200 + (i % 2) * 204,
					0.002);
		metrics_add_upload_bytes(w->m, 3);
	}
	return NULL;
}

static void test_metrics__concurrent(void)
{
	metrics *m = metrics_create();
	require(m, "create");
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){m, i};
		pthread_create(&th[i], NULL, observe, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	char *t = render(m);
	require(t, "render");
	check(well_formed(t), "malformed");
	/* sum every requests_total sample and every histogram count */
	double total = 0, hist_total = 0;
	for (const char *p = t; (p = strstr(p, "bo_http_requests_total{")); p++)
		total += strtod(strchr(p, ' ') + 1, NULL);
	for (const char *p = t; (p = strstr(p, "bo_http_request_duration_seconds_count{")); p++)
		hist_total += strtod(strchr(p, ' ') + 1, NULL);
	check(total == THREADS * PER_THREAD, "requests total %g, want %d", total, THREADS * PER_THREAD);
	check(hist_total == THREADS * PER_THREAD, "histogram total %g, want %d", hist_total, THREADS * PER_THREAD);
	check(sample(t, "bo_upload_bytes_total") == 3.0 * THREADS * PER_THREAD, "upload bytes %g",
	      sample(t, "bo_upload_bytes_total"));
	/* i%2 and i%3 give 6 (method, route) combinations, each status tied to the method */
	int series = 0;
	for (const char *p = t; (p = strstr(p, "bo_http_requests_total{")); p++)
		series++;
	check(series == 6, "%d series, want 6", series);
	double healthz = sample(t, "bo_http_request_duration_seconds_count{route=\"/healthz\"}");
	/* i%3 == 0 for 1667 of 5000 per thread */
	check(healthz == THREADS * 1667, "healthz count %g", healthz);
	check(sample(t, "bo_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"}") == 0, "le 0.001");
	check(sample(t, "bo_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"}") == healthz,
	      "le 0.005");
	free(t);
	metrics_free(m);
}

static void test_metrics__bounded_series(void)
{
	metrics *m = metrics_create();
	require(m, "create");
	/* far more distinct statuses than the table holds: the excess is dropped and counted */
	for (int s = 0; s < 2000; s++)
		metrics_observe_request(m, "GET", "/x", s, 0.01);
	char *t = render(m);
	require(t, "render");
	check(well_formed(t), "malformed");
	double dropped = sample(t, "bo_metrics_dropped_total");
	int series = 0;
	for (const char *p = t; (p = strstr(p, "bo_http_requests_total{")); p++)
		series++;
	check(dropped > 0, "nothing dropped");
	check(series + dropped == 2000, "series %d + dropped %g != 2000", series, dropped);
	free(t);
	metrics_free(m);
}

static struct check_test tests[] = {
	TEST(test_metrics__empty),
	TEST(test_metrics__counters_and_histogram),
	TEST(test_metrics__render_appends),
	TEST(test_metrics__concurrent),
	TEST(test_metrics__bounded_series),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* Unit tests for the route tables and http_route_match: every route is complete and
 * well formed, no two routes can claim the same requests, every route is reachable,
 * literal segments beat parameters, {*key} takes slashes, 405 is told from 404, and
 * routes with bodies declare their body kind and need authentication. */
#include "check.h"

#include "common/error.h"
#include "http/http.h"
#include "http/routes.h"

#define MAX_SEGS 32

struct segs {
	int n;
	const char *s[MAX_SEGS];
	size_t len[MAX_SEGS];
};

static void split(const char *pattern, struct segs *out)
{
	out->n = 0;
	const char *p = pattern;
	while (*p == '/' && out->n < MAX_SEGS) {
		p++;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		out->s[out->n] = p;
		out->len[out->n] = len;
		out->n++;
		p += len;
	}
}

static int is_param(const char *s, size_t len) { return len >= 2 && s[0] == '{' && s[len - 1] == '}'; }
static int is_rest(const char *s, size_t len) { return is_param(s, len) && s[1] == '*'; }

/* Same shape: same segment count, and at each position both are parameters or both are
 * the same literal. A literal facing a parameter makes the shapes differ (the literal
 * wins at match time). */
static int same_shape(const char *a, const char *b)
{
	struct segs sa, sb;
	split(a, &sa);
	split(b, &sb);
	if (sa.n != sb.n)
		return 0;
	for (int i = 0; i < sa.n; i++) {
		int pa = is_param(sa.s[i], sa.len[i]), pb = is_param(sb.s[i], sb.len[i]);
		if (pa != pb)
			return 0;
		if (!pa && (sa.len[i] != sb.len[i] || strncmp(sa.s[i], sb.s[i], sa.len[i])))
			return 0;
	}
	return 1;
}

#define FOR_EACH_ROUTE(t, i, rt)                                                          \
	for (size_t t = 0; t < routes_all_count; t++)                                    \
		for (size_t i = 0; i < routes_all[t]->count; i++)                         \
			for (const struct route *rt = &routes_all[t]->routes[i]; rt; rt = NULL)

static void test_routes__every_route_complete(void)
{
	int n = 0;
	require(routes_all_count >= 5, "routes_all has %zu tables", routes_all_count);
	for (size_t t = 0; t < routes_all_count; t++) {
		require(routes_all[t], "table %zu is NULL", t);
		check(routes_all[t]->count == 0 || routes_all[t]->routes, "table %zu has no routes array", t);
	}
	FOR_EACH_ROUTE(t, i, rt)
	{
		n++;
		const char *m = rt->method;
		check(m && (!strcmp(m, "GET") || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") ||
			    !strcmp(m, "DELETE")),
		      "table %zu route %zu: method '%s'", t, i, m ? m : "(null)");
		check(rt->pattern && rt->pattern[0] == '/', "table %zu route %zu: pattern '%s'", t, i,
		      rt->pattern ? rt->pattern : "(null)");
		check(rt->handler != NULL, "%s %s: no handler", m, rt->pattern);
		check(rt->summary && rt->summary[0], "%s %s: no summary", m, rt->pattern);
		check(rt->body == HTTP_BODY_NONE || rt->body == HTTP_BODY_JSON || rt->body == HTTP_BODY_UPLOAD,
		      "%s %s: body %d", m, rt->pattern, (int)rt->body);
		check(rt->auth >= AUTH_ROLE_NONE && rt->auth <= AUTH_ROLE_WORKER, "%s %s: auth %d", m, rt->pattern,
		      (int)rt->auth);
		if (!rt->pattern)
			continue;
		/* well-formed segments: non-empty, braces only as whole segments, {*x} last */
		struct segs s;
		split(rt->pattern, &s);
		size_t plen = strlen(rt->pattern);
		check(plen == 1 || rt->pattern[plen - 1] != '/', "%s %s: trailing slash", m, rt->pattern);
		for (int k = 0; k < s.n; k++) {
			check(s.len[k] > 0 || plen == 1, "%s %s: empty segment", m, rt->pattern);
			int param = is_param(s.s[k], s.len[k]);
			int braces = memchr(s.s[k], '{', s.len[k]) || memchr(s.s[k], '}', s.len[k]);
			check(param || !braces, "%s %s: segment %d has stray braces", m, rt->pattern, k);
			if (param)
				check(s.len[k] > 2 + (size_t)is_rest(s.s[k], s.len[k]), "%s %s: unnamed parameter", m,
				      rt->pattern);
			if (is_rest(s.s[k], s.len[k]))
				check(k == s.n - 1, "%s %s: {*...} not last", m, rt->pattern);
		}
	}
	check(n >= 10, "only %d routes", n);
}

static void test_routes__no_duplicate_shapes(void)
{
	FOR_EACH_ROUTE(t1, i1, a)
	{
		FOR_EACH_ROUTE(t2, i2, b)
		{
			if (t2 < t1 || (t2 == t1 && i2 <= i1))
				continue;
			if (strcmp(a->method, b->method))
				continue;
			check(!same_shape(a->pattern, b->pattern), "%s %s and %s %s claim the same requests", a->method,
			      a->pattern, b->method, b->pattern);
		}
	}
	/* the comparison itself */
	check(same_shape("/a/{x}/c", "/a/{y}/c"), "params with other names have one shape");
	check(!same_shape("/api/v1/ids/suggest", "/api/v1/ids/{id}"), "literal vs param is allowed");
	check(!same_shape("/a/{x}", "/a/{x}/b"), "different lengths");
	check(same_shape("/files/{*key}", "/files/{*path}"), "rest params");
}

/* Builds a concrete path for a pattern: parameters become sample values. */
static void concrete(const char *pattern, char *buf, size_t len)
{
	struct segs s;
	split(pattern, &s);
	size_t used = 0;
	buf[0] = '\0';
	for (int k = 0; k < s.n && used < len; k++) {
		if (is_rest(s.s[k], s.len[k]))
			used += (size_t)snprintf(buf + used, len - used, "/some/deep/key.png");
		else if (is_param(s.s[k], s.len[k]))
			used += (size_t)snprintf(buf + used, len - used, "/zz-sample-%d", k);
		else
			used += (size_t)snprintf(buf + used, len - used, "/%.*s", (int)s.len[k], s.s[k]);
	}
	if (s.n == 0)
		snprintf(buf, len, "/");
}

static void test_routes__every_route_reachable(void)
{
	FOR_EACH_ROUTE(t, i, rt)
	{
		char path[512];
		concrete(rt->pattern, path, sizeof(path));
		const struct route *got = NULL;
		int mm = -1;
		int rc = http_route_match(routes_all, routes_all_count, rt->method, path, &got, &mm);
		check(rc == 0 && got == rt, "%s %s (as %s) matched %s", rt->method, rt->pattern, path,
		      got ? got->pattern : "nothing");
		if (!strcmp(rt->method, "GET")) {
			rc = http_route_match(routes_all, routes_all_count, "HEAD", path, &got, &mm);
			check(rc == 0 && got == rt, "HEAD %s did not match its GET route", path);
		}
	}
}

static void test_routes__match_real_tables(void)
{
	const struct route *rt = NULL;
	int mm = -1;
	int rc = http_route_match(routes_all, routes_all_count, "GET", "/api/v1/ids/suggest", &rt, &mm);
	check(rc == 0 && rt && !strcmp(rt->pattern, "/api/v1/ids/suggest"), "suggest matched %s",
	      rt ? rt->pattern : "nothing");
	rc = http_route_match(routes_all, routes_all_count, "GET", "/api/v1/ids/affable-shark", &rt, &mm);
	check(rc == 0 && rt && !strcmp(rt->pattern, "/api/v1/ids/{id}"), "id matched %s",
	      rt ? rt->pattern : "nothing");
	rc = http_route_match(routes_all, routes_all_count, "GET", "/files/affable-shark/1/files/w.pt", &rt, &mm);
	check(rc == 0 && rt && !strcmp(rt->pattern, "/files/{*key}"), "files matched %s",
	      rt ? rt->pattern : "nothing");
	rc = http_route_match(routes_all, routes_all_count, "GET", "/files/", &rt, &mm);
	check(rc == BO_ENOTFOUND && rt == NULL && mm == 0, "/files/ rc %d", rc);
	rc = http_route_match(routes_all, routes_all_count, "DELETE", "/healthz", &rt, &mm);
	check(rc == BO_ENOTFOUND && rt == NULL && mm == 1, "DELETE /healthz rc %d mm %d", rc, mm);
	rc = http_route_match(routes_all, routes_all_count, "GET", "/no/such/thing", &rt, &mm);
	check(rc == BO_ENOTFOUND && rt == NULL && mm == 0, "/no/such/thing rc %d mm %d", rc, mm);
	rc = http_route_match(routes_all, routes_all_count, "GET", "/healthz/", &rt, &mm);
	check(rc == BO_ENOTFOUND, "trailing slash matched %s", rt ? rt->pattern : "");
	rc = http_route_match(routes_all, routes_all_count, "GET", "/HEALTHZ", &rt, &mm);
	check(rc == BO_ENOTFOUND, "match is case-insensitive");
}

static int dummy(http_req *r)
{
	(void)r;
	return 0;
}

static const struct route synth_routes[] = {
	{"GET", "/x/{id}", HTTP_BODY_NONE, AUTH_ROLE_NONE, dummy, "param"},
	{"GET", "/x/suggest", HTTP_BODY_NONE, AUTH_ROLE_NONE, dummy, "literal after param"},
	{"GET", "/x/{id}/files/{*key}", HTTP_BODY_NONE, AUTH_ROLE_NONE, dummy, "rest"},
	{"GET", "/x/{id}/files/index", HTTP_BODY_NONE, AUTH_ROLE_NONE, dummy, "literal beside rest"},
	{"POST", "/y", HTTP_BODY_JSON, AUTH_ROLE_ADMIN, dummy, "post only"},
	{"GET", "/", HTTP_BODY_NONE, AUTH_ROLE_NONE, dummy, "root"},
};
static const struct route_table synth = {synth_routes, sizeof(synth_routes) / sizeof(synth_routes[0])};

static void test_routes__match_synthetic(void)
{
	const struct route_table *const tables[] = {&synth};
	const struct route *rt = NULL;
	int mm = -1;
	/* literal wins whatever the table order */
	int rc = http_route_match(tables, 1, "GET", "/x/suggest", &rt, &mm);
	check(rc == 0 && rt == &synth_routes[1], "/x/suggest matched %s", rt ? rt->summary : "nothing");
	rc = http_route_match(tables, 1, "GET", "/x/abc", &rt, &mm);
	check(rc == 0 && rt == &synth_routes[0], "/x/abc matched %s", rt ? rt->summary : "nothing");
	rc = http_route_match(tables, 1, "GET", "/x/abc/files/a/b/c.txt", &rt, &mm);
	check(rc == 0 && rt == &synth_routes[2], "rest with slashes matched %s", rt ? rt->summary : "nothing");
	rc = http_route_match(tables, 1, "GET", "/x/abc/files/index", &rt, &mm);
	check(rc == 0 && rt == &synth_routes[3], "literal beside rest matched %s", rt ? rt->summary : "nothing");
	rc = http_route_match(tables, 1, "GET", "/x/abc/files", &rt, &mm);
	check(rc == BO_ENOTFOUND, "rest matched an empty remainder");
	rc = http_route_match(tables, 1, "GET", "/x/abc/files/", &rt, &mm);
	check(rc == BO_ENOTFOUND, "rest matched an empty remainder after the slash");
	rc = http_route_match(tables, 1, "GET", "/x/", &rt, &mm);
	check(rc == BO_ENOTFOUND, "param matched an empty segment");
	rc = http_route_match(tables, 1, "GET", "/x/a/b", &rt, &mm);
	check(rc == BO_ENOTFOUND, "{id} matched two segments");
	rc = http_route_match(tables, 1, "GET", "/", &rt, &mm);
	check(rc == 0 && rt == &synth_routes[5], "root");
	rc = http_route_match(tables, 1, "GET", "", &rt, &mm);
	check(rc == BO_ENOTFOUND, "empty path matched %s", rt ? rt->summary : "");
	/* method mismatch vs not found */
	rc = http_route_match(tables, 1, "GET", "/y", &rt, &mm);
	check(rc == BO_ENOTFOUND && mm == 1 && rt == NULL, "GET /y: rc %d mm %d", rc, mm);
	rc = http_route_match(tables, 1, "POST", "/y", &rt, &mm);
	check(rc == 0 && mm == 0 && rt == &synth_routes[4], "POST /y: rc %d mm %d", rc, mm);
	rc = http_route_match(tables, 1, "HEAD", "/y", &rt, &mm);
	check(rc == BO_ENOTFOUND && mm == 1, "HEAD on a POST route: rc %d mm %d", rc, mm);
	rc = http_route_match(tables, 1, "POST", "/z", &rt, &mm);
	check(rc == BO_ENOTFOUND && mm == 0, "POST /z: rc %d mm %d", rc, mm);
	rc = http_route_match(tables, 0, "GET", "/", &rt, &mm);
	check(rc == BO_ENOTFOUND && rt == NULL, "no tables");
}

/* The only writes without a token (issue 8): asking for a sign-in link (rate-limited per
 * address and client) and exchanging a link's one-time secret for a session. */
static int public_write(const struct route *rt)
{
	return !strcmp(rt->pattern, "/api/v1/signin") || !strcmp(rt->pattern, "/api/v1/signin/{token}");
}

static void test_routes__bodies_need_auth(void)
{
	FOR_EACH_ROUTE(t, i, rt)
	{
		int writes = !strcmp(rt->method, "POST") || !strcmp(rt->method, "PUT") || !strcmp(rt->method, "PATCH");
		if (writes) {
			check(rt->body == HTTP_BODY_JSON || rt->body == HTTP_BODY_UPLOAD, "%s %s: body %d", rt->method,
			      rt->pattern, (int)rt->body);
			check(rt->auth != AUTH_ROLE_NONE || public_write(rt), "%s %s takes a body without authentication",
			      rt->method, rt->pattern);
		} else {
			check(rt->body == HTTP_BODY_NONE, "%s %s declares a body", rt->method, rt->pattern);
		}
	}
}

static struct check_test tests[] = {
	TEST(test_routes__every_route_complete),
	TEST(test_routes__no_duplicate_shapes),
	TEST(test_routes__every_route_reachable),
	TEST(test_routes__match_real_tables),
	TEST(test_routes__match_synthetic),
	TEST(test_routes__bodies_need_auth),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

/* routes: the one list of route tables, and small helpers the handlers share. */
#include "http/routes.h"

#include "app.h"
#include "common/arena.h"
#include "infra/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct route_table *const routes_all[] = {
	&routes_meta, &routes_ids, &routes_uploads, &routes_resources, &routes_review, &routes_admin,
	&routes_collection, &routes_signin, &routes_pages, &routes_compat, &routes_worker,
};
const size_t routes_all_count = sizeof(routes_all) / sizeof(routes_all[0]);

const char *routes_url(http_req *r, const char *fmt, ...)
{
	char path[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	char url[sizeof(path) + 2048];
	config_url(http_app(r)->cfg, path, url, sizeof(url));
	return arena_strdup(http_arena(r), url);
}

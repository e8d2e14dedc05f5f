/* json_same.h: strict cJSON tree equality for tests (unit tests and fuzz harnesses): the
 * same types, object keys in the same order, numbers equal with NaN equal to NaN and inf
 * to inf (cJSON_Compare says neither). Header-only, so each test links nothing more. */
#ifndef BO_TESTS_JSON_SAME_H
#define BO_TESTS_JSON_SAME_H

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static inline int json_same(const cJSON *a, const cJSON *b)
{
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return 0;
	if (cJSON_IsNumber(a))
		return (isnan(a->valuedouble) && isnan(b->valuedouble)) || a->valuedouble == b->valuedouble;
	if (cJSON_IsString(a))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (!cJSON_IsArray(a) && !cJSON_IsObject(a))
		return 1;
	const cJSON *x = a->child, *y = b->child;
	for (; x && y; x = x->next, y = y->next) {
		if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0)
			return 0;
		if (!json_same(x, y))
			return 0;
	}
	return x == NULL && y == NULL;
}

#endif

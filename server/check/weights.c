/* weights: which weight formats of a model are tested (see weights.h). It holds no
 * state; the point of the module is that the rule exists once. */
#include "check/weights.h"

#include <cjson/cJSON.h>
#include <stddef.h>

int weights_is_runnable(const cJSON *entry)
{
	/* keys of a YAML mapping are strings; a null entry is not a weight format */
	return entry && entry->string && *entry->string && !cJSON_IsNull(entry);
}

const cJSON *weights_next(const cJSON *weights, const cJSON *prev)
{
	if (!cJSON_IsObject(weights))
		return NULL;
	const cJSON *w = prev ? prev->next : weights->child;
	while (w && !weights_is_runnable(w))
		w = w->next;
	return w;
}

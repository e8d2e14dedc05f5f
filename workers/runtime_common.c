/* runtime_common: what every runtime shares. Output tensors are malloc'd by the runtime
 * (array and each data block), so one function frees them whatever runtime made them. */
#include "runtime.h"

#include <stdlib.h>

void runtime_tensors_free(struct rt_tensor *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].data);
	free(t);
}

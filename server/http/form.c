/* form: see form.h. */
#include "http/form.h"

#include <string.h>

int form_take(struct form *f, const char *key, uint64_t off, const char *data, size_t size,
	      struct bo_error *err)
{
	/* libmicrohttpd reports a part whose Content-Disposition has no name with key NULL */
	if (!key)
		return bo_error_set(err, BO_EBADREQUEST,
				    "a form part has no name: send Content-Disposition: form-data; name=\"package\"");
	if (!strcmp(key, "package")) {
		if (f->saw_package && off == 0 && f->package_bytes > 0)
			return bo_error_set(err, BO_EBADREQUEST, "the form has more than one 'package' part; send one");
		f->package_bytes += size;
		if (!f->saw_package) {
			f->saw_package = 1;
			return FORM_PACKAGE_FIRST;
		}
		return FORM_PACKAGE_MORE;
	}
	if (!strcmp(key, "id")) {
		if (off == 0 && f->id_len > 0)
			return bo_error_set(err, BO_EBADREQUEST, "the form has more than one 'id' field; send one");
		if (f->id_len + size >= FORM_ID_MAX)
			return bo_error_set(err, BO_EBADREQUEST, "form field 'id' is longer than %d bytes",
					    FORM_ID_MAX - 1);
		memcpy(f->id + f->id_len, data, size);
		f->id_len += size;
		return FORM_ID;
	}
	return FORM_IGNORED;
}

const char *form_id(struct form *f)
{
	if (!f->id_len)
		return NULL;
	f->id[f->id_len] = '\0';
	return f->id;
}

/* form: the rules of the upload form (multipart/form-data) over the chunks libmicrohttpd's
 * post processor reports: one file part named 'package', whose bytes the caller stores, at
 * most one 'id' field shorter than FORM_ID_MAX bytes, every other field ignored. A repeated
 * part is refused rather than glued onto the first (the post processor reports a value
 * again from offset 0 when a part of the same name starts). */
#ifndef BO_FORM_H
#define BO_FORM_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

#define FORM_ID_MAX 128

struct form {
	int saw_package;
	uint64_t package_bytes; /* of the 'package' part so far */
	char id[FORM_ID_MAX];   /* the 'id' field, NUL-terminated by form_id */
	size_t id_len;
};

enum form_chunk {
	FORM_IGNORED = 0,       /* a field the form does not use */
	FORM_PACKAGE_FIRST = 1, /* the first chunk of 'package': the caller opens its file */
	FORM_PACKAGE_MORE = 2,  /* a later chunk of 'package' */
	FORM_ID = 3             /* taken into f->id */
};

/* Takes one chunk of field key (NULL: a part without a name) at offset off within its
 * value. Returns a form_chunk, or BO_EBADREQUEST with err set (a part without a name, a
 * second 'package' part, a second 'id', an 'id' too long);
 * after that the caller ignores the rest of the body. f starts zeroed. */
int form_take(struct form *f, const char *key, uint64_t off, const char *data, size_t size,
	      struct bo_error *err);

/* The 'id' field, or NULL when the form had none. */
const char *form_id(struct form *f);

#endif

/* buf: a growable NUL-terminated byte string with an optional bound, the one copy of what
 * the S3 client, SigV4, the Zenodo client, the collection builder and the RDF emitter each
 * grew for themselves. The first failure sticks: after running out of memory or past max
 * (over is set then), appends do nothing and return -1, so a builder checks once at the
 * end. A zeroed struct is an empty, unbounded buffer. */
#ifndef BO_BUF_H
#define BO_BUF_H

#include <stddef.h>

struct buf {
	char *p;        /* NULL until the first append; NUL-terminated after */
	size_t len, cap;
	size_t max;     /* most bytes it may hold; 0 = no bound */
	int failed;     /* an append failed (out of memory or past max) */
	int over;       /* ... because it would pass max */
};

/* Appends n bytes (they may hold NULs). 0, or -1 when it failed now or before. */
int buf_addn(struct buf *b, const void *s, size_t n);
/* Appends a C string. */
int buf_add(struct buf *b, const char *s);
/* Appends n bytes of text escaped for HTML element content and quoted attribute values
 * (& < > " ' become entities, NULs are dropped): the one escape of the Zenodo
 * description and of the server's HTML pages (problems). 0, or -1 as buf_addn. */
int buf_add_html(struct buf *b, const char *s, size_t n);
/* Makes room for n bytes in all, up front (a hint: failing here is not a failure). */
void buf_reserve(struct buf *b, size_t n);
/* Frees the bytes and empties b (max is kept). */
void buf_free(struct buf *b);

#endif

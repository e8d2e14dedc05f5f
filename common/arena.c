/* arena: bump allocation in chunks; big requests get their own chunk.
 * Invariant: every deferred destructor runs exactly once, before memory is released. */
#include "common/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 8192

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
};

struct deferred {
	struct deferred *next;
	void (*fn)(void *);
	void *ptr;
};

struct arena {
	struct chunk *chunks;
	struct deferred *defers;
};

arena *arena_create(void) { return calloc(1, sizeof(arena)); }

void arena_free(arena *a)
{
	if (!a)
		return;
	while (a->defers) {
		struct deferred *d = a->defers;
		a->defers = d->next;
		d->fn(d->ptr);
		free(d);
	}
	while (a->chunks) {
		struct chunk *c = a->chunks;
		a->chunks = c->next;
		free(c);
	}
	free(a);
}

void *arena_alloc(arena *a, size_t size)
{
	const size_t align = _Alignof(max_align_t);
	/* rounding up (and the chunk header) must not wrap around to a small block */
	if (size > SIZE_MAX - sizeof(struct chunk) - align)
		return NULL;
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	struct chunk *c = a->chunks;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > CHUNK ? size : CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		if (size > CHUNK && a->chunks) {
			/* keep the partly used head chunk in front for small allocations */
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena *a, const char *s) { return s ? arena_strndup(a, s, strlen(s)) : NULL; }

char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = NULL;
	if (n >= 0) {
		p = arena_alloc(a, (size_t)n + 1);
		if (p)
			vsnprintf(p, (size_t)n + 1, fmt, ap2);
	}
	va_end(ap2);
	return p;
}

int arena_defer(arena *a, void (*fn)(void *), void *ptr)
{
	if (!ptr)
		return 0;
	struct deferred *d = malloc(sizeof(*d));
	if (!d) {
		fn(ptr);
		return -1;
	}
	d->fn = fn;
	d->ptr = ptr;
	d->next = a->defers;
	a->defers = d;
	return 0;
}

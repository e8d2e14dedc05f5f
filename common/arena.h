/* arena: a per-request (or per-job) allocation pool freed in one place.
 * Objects from libraries that allocate on their own are registered with
 * arena_defer so they are released with the arena, on every path. */
#ifndef BO_ARENA_H
#define BO_ARENA_H

#include <stddef.h>

typedef struct arena arena;

/* Returns NULL on allocation failure. */
arena *arena_create(void);
/* Runs deferred destructors (last registered first), then frees every block. NULL ok. */
void arena_free(arena *a);

/* Zeroed memory owned by the arena, or NULL. */
void *arena_alloc(arena *a, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(ptr) to run when the arena is freed. If registration fails the
 * destructor runs at once and -1 is returned, so ptr never leaks. ptr NULL is ignored. */
int arena_defer(arena *a, void (*fn)(void *), void *ptr);

#endif

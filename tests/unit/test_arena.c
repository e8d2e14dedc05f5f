/* Unit tests for arena: alignment, zeroing, big allocations beside small ones, string
 * helpers, and deferred destructors (exactly once, last registered first). */
#include "check.h"

#include "common/arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

static void test_arena__alignment_and_zeroing(void)
{
	arena *a = arena_create();
	require(a, "arena_create");
	const size_t align = alignof(max_align_t);
	size_t sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 1000, 4095, 0, 5};
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *p = arena_alloc(a, sizes[i]);
			require(p, "alloc %zu", sizes[i]);
			check((uintptr_t)p % align == 0, "alloc %zu at %p not aligned to %zu", sizes[i], (void *)p,
			      align);
			int zero = 1;
			for (size_t k = 0; k < sizes[i]; k++)
				zero &= p[k] == 0;
			check(zero, "alloc %zu not zeroed", sizes[i]);
			/* write the whole block: ASan catches any overlap or overrun */
			memset(p, 0xAB, sizes[i]);
		}
	}
	arena_free(a);
}

static void test_arena__distinct_blocks(void)
{
	arena *a = arena_create();
	require(a, "arena_create");
	enum { N = 3000 };
	uint32_t *ptrs[N];
	for (uint32_t i = 0; i < N; i++) {
		ptrs[i] = arena_alloc(a, sizeof(uint32_t) * 4);
		require(ptrs[i], "alloc %u", i);
		for (int k = 0; k < 4; k++)
			ptrs[i][k] = i * 4 + (uint32_t)k;
	}
	/* no block was handed out twice or overwritten by a later one */
	int ok = 1;
	for (uint32_t i = 0; i < N; i++)
		for (int k = 0; k < 4; k++)
			ok &= ptrs[i][k] == i * 4 + (uint32_t)k;
	check(ok, "blocks overlap");
	arena_free(a);
}

static void test_arena__big_allocations(void)
{
	arena *a = arena_create();
	require(a, "arena_create");
	char *small1 = arena_alloc(a, 100);
	require(small1, "small1");
	memset(small1, 's', 100);
	size_t big_sizes[] = {8192, 8193, 100000, 5u << 20};
	char *bigs[4];
	for (int i = 0; i < 4; i++) {
		bigs[i] = arena_alloc(a, big_sizes[i]);
		require(bigs[i], "big %zu", big_sizes[i]);
		check(bigs[i][0] == 0 && bigs[i][big_sizes[i] - 1] == 0, "big %zu not zeroed", big_sizes[i]);
		memset(bigs[i], 'A' + i, big_sizes[i]);
	}
	/* small allocations after a big one still work and do not touch the big blocks */
	char *small2 = arena_alloc(a, 200);
	require(small2, "small2");
	memset(small2, 't', 200);
	for (int i = 0; i < 4; i++)
		check(bigs[i][0] == 'A' + i && bigs[i][big_sizes[i] - 1] == 'A' + i, "big %d overwritten", i);
	check(small1[0] == 's' && small1[99] == 's', "small1 overwritten");
	arena_free(a);
}

static void test_arena__impossible_size(void)
{
	arena *a = arena_create();
	require(a, "arena_create");
	/* rounding these up to the alignment would wrap around to a tiny block */
	check(arena_alloc(a, SIZE_MAX) == NULL, "alloc SIZE_MAX returned a block");
	check(arena_alloc(a, SIZE_MAX - 3) == NULL, "alloc SIZE_MAX-3 returned a block");
	/* the arena still works afterwards */
	char *p = arena_strdup(a, "ok");
	check(p && !strcmp(p, "ok"), "arena unusable after a refused allocation");
	arena_free(a);
}

static void test_arena__strings(void)
{
	arena *a = arena_create();
	require(a, "arena_create");
	const char *src = "affable-shark";
	char *d = arena_strdup(a, src);
	require(d, "strdup");
	check(d != src && !strcmp(d, src), "strdup '%s'", d);
	check(arena_strdup(a, NULL) == NULL, "strdup(NULL) must be NULL");
	char *n = arena_strndup(a, "hello world", 5);
	require(n, "strndup");
	check(!strcmp(n, "hello"), "strndup '%s'", n);
	char *e = arena_strndup(a, "", 0);
	require(e, "strndup empty");
	check(e[0] == '\0', "empty strndup");
	char *p = arena_printf(a, "%s/%d/%05.1f/%c", "id", -42, 3.14159, 'x');
	require(p, "printf");
	check(!strcmp(p, "id/-42/003.1/x"), "printf '%s'", p);
	/* a formatted string bigger than a chunk */
	char *long_in = arena_alloc(a, 20001);
	require(long_in, "alloc long");
	memset(long_in, 'z', 20000);
	char *q = arena_printf(a, "<%s>", long_in);
	require(q, "printf long");
	check(strlen(q) == 20002 && q[0] == '<' && q[20001] == '>' && q[1] == 'z', "long printf");
	char *empty = arena_printf(a, "%s", "");
	require(empty, "printf empty");
	check(empty[0] == '\0', "empty printf");
	arena_free(a);
}

struct record {
	int order[16];
	int n;
	int calls[16];
};

struct tag {
	struct record *rec;
	int id;
};

static void record_fn(void *ptr)
{
	struct tag *t = ptr;
	t->rec->order[t->rec->n++] = t->id;
	t->rec->calls[t->id]++;
}

static void free_fn(void *ptr) { free(ptr); }

static void test_arena__defer_reverse_once(void)
{
	struct record rec = {{0}, 0, {0}};
	struct tag tags[5];
	arena *a = arena_create();
	require(a, "arena_create");
	for (int i = 0; i < 5; i++) {
		tags[i] = (struct tag){&rec, i};
		check(arena_defer(a, record_fn, &tags[i]) == 0, "defer %d", i);
	}
	/* NULL ptr is ignored, not called */
	check(arena_defer(a, record_fn, NULL) == 0, "defer NULL");
	/* malloc'd objects are released with the arena (LSan would report a leak otherwise) */
	check(arena_defer(a, free_fn, malloc(64)) == 0, "defer malloc");
	check(rec.n == 0, "destructor ran before free");
	arena_free(a);
	check(rec.n == 5, "%d destructors ran, want 5", rec.n);
	for (int i = 0; i < 5; i++) {
		check(rec.order[i] == 4 - i, "position %d ran %d, want %d", i, rec.order[i], 4 - i);
		check(rec.calls[i] == 1, "destructor %d ran %d times", i, rec.calls[i]);
	}
}

struct uses_arena {
	char *text;
	int *seen;
};

static void read_arena_memory(void *ptr)
{
	struct uses_arena *u = ptr;
	/* destructors run before the chunks are freed: arena memory is still readable */
	*u->seen = !strcmp(u->text, "still here");
}

static void test_arena__defer_before_memory_release(void)
{
	int seen = 0;
	arena *a = arena_create();
	require(a, "arena_create");
	struct uses_arena *u = arena_alloc(a, sizeof(*u));
	require(u, "alloc");
	u->text = arena_strdup(a, "still here");
	u->seen = &seen;
	arena_defer(a, read_arena_memory, u);
	arena_free(a);
	check(seen == 1, "destructor did not see arena memory");
}

static void test_arena__free_null(void)
{
	arena_free(NULL);
	arena *a = arena_create();
	require(a, "arena_create");
	arena_free(a); /* empty arena */
	check(1, "unreachable");
}

static struct check_test tests[] = {
	TEST(test_arena__alignment_and_zeroing),
	TEST(test_arena__distinct_blocks),
	TEST(test_arena__big_allocations),
	TEST(test_arena__impossible_size),
	TEST(test_arena__strings),
	TEST(test_arena__defer_reverse_once),
	TEST(test_arena__defer_before_memory_release),
	TEST(test_arena__free_null),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

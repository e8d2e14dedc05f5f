/* buf: see buf.h. */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#define BUF_FIRST_CAP 256

int buf_addn(struct buf *b, const void *s, size_t n)
{
	if (b->failed)
		return -1;
	if (b->max && n > b->max - b->len) {
		b->failed = b->over = 1;
		return -1;
	}
	if (n + 1 > b->cap - b->len || !b->p) {
		size_t cap = b->cap ? b->cap : BUF_FIRST_CAP;
		while (cap - b->len < n + 1) {
			if (cap > ((size_t)-1) / 2) {
				b->failed = 1;
				return -1;
			}
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int buf_add(struct buf *b, const char *s) { return buf_addn(b, s, strlen(s)); }

int buf_add_html(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': buf_add(b, "&amp;"); break;
		case '<': buf_add(b, "&lt;"); break;
		case '>': buf_add(b, "&gt;"); break;
		case '"': buf_add(b, "&quot;"); break;
		case '\'': buf_add(b, "&#39;"); break;
		case '\0': break;
		default: buf_addn(b, s + i, 1);
		}
	}
	return b->failed ? -1 : 0;
}

void buf_reserve(struct buf *b, size_t n)
{
	if (b->failed || n < b->cap || (b->max && n > b->max + 1))
		return;
	char *p = realloc(b->p, n + 1);
	if (p) {
		if (!b->p)
			p[0] = '\0';
		b->p = p;
		b->cap = n + 1;
	}
}

void buf_free(struct buf *b)
{
	free(b->p);
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
}

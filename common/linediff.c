/* linediff: LCS line diff with bounds (see linediff.h). */
#include "common/linediff.h"

#include "common/error.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct linediff_limits LINEDIFF_DEFAULTS = {
	.max_lines = 5000, .max_cells = 4u << 20, .context = 3, .max_out = 2000};

struct line {
	const char *p;
	size_t n;
};

/* The lines of s (at most max + 1 are counted, so the caller can tell "more than max"). */
static int split(const char *s, size_t max, struct line **out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	struct line *v = NULL;
	const char *p = s;
	while (*p && n <= max) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct line *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[n].p = p;
		v[n].n = len;
		n++;
		p = nl ? nl + 1 : p + len;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int same(const struct line *a, const struct line *b) { return a->n == b->n && !memcmp(a->p, b->p, a->n); }

/* One line of the script: op ' ', '-' or '+' and its text. */
struct op {
	char op;
	const struct line *l;
};

struct emit {
	cJSON *arr;
	size_t shown, max, hidden;
	int oom;
};

static void add(struct emit *e, char op, const char *p, size_t n)
{
	if (e->oom)
		return;
	if (e->shown >= e->max) {
		e->hidden++;
		return;
	}
	char *s = malloc(n + 2);
	if (!s) {
		e->oom = 1;
		return;
	}
	s[0] = op;
	memcpy(s + 1, p, n);
	s[n + 1] = '\0';
	cJSON *item = cJSON_CreateString(s);
	free(s);
	if (!item || !cJSON_AddItemToArray(e->arr, item)) {
		cJSON_Delete(item);
		e->oom = 1;
		return;
	}
	e->shown++;
}

static void add_gap(struct emit *e, size_t n)
{
	char buf[64];
	int w = snprintf(buf, sizeof(buf), "@ %zu unchanged line%s", n, n == 1 ? "" : "s");
	add(e, '@', buf + 1, (size_t)w - 1);
}

/* The script as lines with context: unchanged runs longer than the context around them
 * become "@ N unchanged lines". */
static void render(struct emit *e, const struct op *ops, size_t n, size_t ctx)
{
	size_t i = 0;
	while (i < n) {
		if (ops[i].op != ' ') {
			add(e, ops[i].op, ops[i].l->p, ops[i].l->n);
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && ops[j].op == ' ')
			j++;
		/* the run [i, j) of unchanged lines: keep ctx after a change, ctx before one */
		size_t keep_head = i > 0 ? ctx : 0, keep_tail = j < n ? ctx : 0, run = j - i;
		if (keep_head + keep_tail >= run) {
			for (size_t k = i; k < j; k++)
				add(e, ' ', ops[k].l->p, ops[k].l->n);
		} else {
			for (size_t k = i; k < i + keep_head; k++)
				add(e, ' ', ops[k].l->p, ops[k].l->n);
			add_gap(e, run - keep_head - keep_tail);
			for (size_t k = j - keep_tail; k < j; k++)
				add(e, ' ', ops[k].l->p, ops[k].l->n);
		}
		i = j;
	}
}

int linediff_run(cJSON **out, int *too_large, const char *a, const char *b, const struct linediff_limits *lim,
		 struct bo_error *err)
{
	struct line *la = NULL, *lb = NULL;
	uint16_t *t = NULL;
	struct op *ops = NULL;
	cJSON *arr = NULL;
	size_t na = 0, nb = 0;
	int rc = BO_ENOMEM;
	*out = NULL;
	*too_large = 0;
	if (!lim)
		lim = &LINEDIFF_DEFAULTS;
	if (split(a ? a : "", lim->max_lines, &la, &na) || split(b ? b : "", lim->max_lines, &lb, &nb))
		goto fail;
	if (na > lim->max_lines || nb > lim->max_lines || lim->max_lines > UINT16_MAX) {
		*too_large = 1;
		rc = 0;
		goto fail;
	}
	size_t head = 0, tail = 0;
	while (head < na && head < nb && same(&la[head], &lb[head]))
		head++;
	while (tail < na - head && tail < nb - head && same(&la[na - 1 - tail], &lb[nb - 1 - tail]))
		tail++;
	size_t n = na - head - tail, m = nb - head - tail;
	if (n && m && (n + 1) > lim->max_cells / (m + 1)) {
		*too_large = 1;
		rc = 0;
		goto fail;
	}
	/* t[i][j]: the LCS length of a's middle from i and b's middle from j */
	size_t w = m + 1;
	t = calloc((n + 1) * w, sizeof(*t));
	ops = malloc((na + nb + 1) * sizeof(*ops));
	arr = cJSON_CreateArray();
	if (!t || !ops || !arr)
		goto fail;
	const struct line *ma = la + head, *mb = lb + head;
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;)
			t[i * w + j] = same(&ma[i], &mb[j]) ? (uint16_t)(t[(i + 1) * w + j + 1] + 1)
				       : t[(i + 1) * w + j] >= t[i * w + j + 1] ? t[(i + 1) * w + j]
										  : t[i * w + j + 1];
	size_t k = 0;
	for (size_t i = 0; i < head; i++)
		ops[k++] = (struct op){' ', &la[i]};
	size_t i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && same(&ma[i], &mb[j])) {
			ops[k++] = (struct op){' ', &ma[i]};
			i++, j++;
		} else if (i < n && (j == m || t[(i + 1) * w + j] >= t[i * w + j + 1])) {
			/* removals first on a tie, as diff -u shows a changed line */
			ops[k++] = (struct op){'-', &ma[i++]};
		} else {
			ops[k++] = (struct op){'+', &mb[j++]};
		}
	}
	for (size_t q = nb - tail; q < nb; q++)
		ops[k++] = (struct op){' ', &lb[q]};
	struct emit e = {.arr = arr, .max = lim->max_out};
	if (n || m)
		render(&e, ops, k, lim->context);
	if (!e.oom && e.hidden) {
		char buf[64];
		int wr = snprintf(buf, sizeof(buf), " %zu more lines not shown", e.hidden);
		e.max++;
		add(&e, '@', buf, (size_t)wr);
	}
	if (e.oom)
		goto fail;
	*out = arr;
	arr = NULL;
	rc = 0;
fail:
	if (rc)
		bo_error_set(err, BO_ENOMEM, "out of memory");
	cJSON_Delete(arr);
	free(ops);
	free(t);
	free(la);
	free(lb);
	return rc;
}

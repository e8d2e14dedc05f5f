/* rdf: YAML resource descriptions <-> cJSON. The parser builds the tree from libyaml
 * events under limits checked before each allocation (bytes, depth, nodes, scalar length,
 * alias budget), so hostile documents fail early and cheaply. Invariant: every node of the
 * tree has a mark in a parallel tree of marks owned by the rdf_doc (an arena plus a
 * (mapping, key) hash), so rdf_mark never touches the cJSON tree and stays O(depth). */
#include "common/rdf.h"

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ======================================================================================
 * Marks: a parallel tree. Bodies can be shared (an alias copy points at the body of its
 * anchor, so deeper marks show where the content was written).
 * ==================================================================================== */

enum { K_SCALAR, K_SEQ, K_MAP };

struct mbody {
	int kind;
	size_t n, cap;
	struct mnode **kids;
};

struct mnode {
	int line, column;
	struct mbody *body; /* NULL for scalars */
};

/* Open-addressing hash of (owner pointer, string key) -> value. Keys are not copied. */
struct hent {
	const void *owner;
	const char *key;
	void *val;
};

struct htab {
	struct hent *e;
	size_t cap, n;
};

static size_t hkey(const void *owner, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)owner;
	for (const unsigned char *s = (const unsigned char *)key; *s; s++)
		h = (h ^ *s) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static struct hent *htab_slot(const struct htab *t, const void *owner, const char *key)
{
	size_t i = hkey(owner, key) & (t->cap - 1);
	while (t->e[i].key && !(t->e[i].owner == owner && strcmp(t->e[i].key, key) == 0))
		i = (i + 1) & (t->cap - 1);
	return &t->e[i];
}

static void *htab_get(const struct htab *t, const void *owner, const char *key)
{
	return t->cap ? htab_slot(t, owner, key)->val : NULL;
}

/* Inserts or replaces. key must outlive the table. Returns 0 or -1 (no memory). */
static int htab_put(struct htab *t, const void *owner, const char *key, void *val)
{
	if ((t->n + 1) * 2 > t->cap) {
		struct htab b = {NULL, t->cap ? t->cap * 2 : 64, 0};
		b.e = calloc(b.cap, sizeof(*b.e));
		if (!b.e)
			return -1;
		for (size_t i = 0; i < t->cap; i++)
			if (t->e[i].key)
				*htab_slot(&b, t->e[i].owner, t->e[i].key) = t->e[i];
		b.n = t->n;
		free(t->e);
		*t = b;
	}
	struct hent *s = htab_slot(t, owner, key);
	if (!s->key)
		t->n++;
	s->owner = owner;
	s->key = key;
	s->val = val;
	return 0;
}

static void htab_cleanup(struct htab *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

struct rdf_doc {
	cJSON *root; /* owned unless taken */
	struct mnode *root_mark;
	arena *a;        /* every mnode, mbody, kids array and key copy */
	struct htab keys; /* (mbody*, key) -> mnode* */
};

static struct mnode *mnode_new(arena *a, int kind, int line, int column)
{
	struct mnode *m = arena_alloc(a, sizeof(*m));
	if (!m)
		return NULL;
	m->line = line;
	m->column = column;
	if (kind != K_SCALAR) {
		m->body = arena_alloc(a, sizeof(*m->body));
		if (!m->body)
			return NULL;
		m->body->kind = kind;
	}
	return m;
}

static int body_append(arena *a, struct mbody *b, struct mnode *kid)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4;
		struct mnode **k = arena_alloc(a, cap * sizeof(*k));
		if (!k)
			return -1;
		if (b->n)
			memcpy(k, b->kids, b->n * sizeof(*k));
		b->kids = k;
		b->cap = cap;
	}
	b->kids[b->n++] = kid;
	return 0;
}

/* ======================================================================================
 * Plain scalar resolution (YAML 1.2 core schema), shared by the parser and the emitter.
 * ==================================================================================== */

enum { R_STRING, R_NULL, R_TRUE, R_FALSE, R_NUMBER };

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int digits_in_base(const char *s, size_t len, int base, double *out)
{
	double v = 0;
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int d;
		char c = s[i];
		if (is_digit(c))
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return 0;
		if (d >= base)
			return 0;
		v = v * base + d;
	}
	*out = v;
	return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float_text(const char *s, size_t len)
{
	size_t i = 0, d = 0;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < len && is_digit(s[i]))
		i++, d++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit(s[i]))
			i++, d++;
	}
	if (d == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = 0;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < len && is_digit(s[i]))
			i++, e++;
		if (e == 0)
			return 0;
	}
	return i == len;
}

static int eq3(const char *s, size_t len, const char *a, const char *b, const char *c)
{
	size_t n = strlen(a);
	return len == n && (memcmp(s, a, n) == 0 || memcmp(s, b, n) == 0 || memcmp(s, c, n) == 0);
}

/* s must be NUL-terminated at len (libyaml's and cJSON's strings are). */
static int resolve_plain(const char *s, size_t len, double *num)
{
	if (len == 0 || (len == 1 && s[0] == '~') || eq3(s, len, "null", "Null", "NULL"))
		return R_NULL;
	if (eq3(s, len, "true", "True", "TRUE"))
		return R_TRUE;
	if (eq3(s, len, "false", "False", "FALSE"))
		return R_FALSE;
	if (len > 2 && s[0] == '0' && s[1] == 'o')
		return digits_in_base(s + 2, len - 2, 8, num) ? R_NUMBER : R_STRING;
	if (len > 2 && s[0] == '0' && s[1] == 'x')
		return digits_in_base(s + 2, len - 2, 16, num) ? R_NUMBER : R_STRING;
	size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
	if (eq3(s + sign, len - sign, ".inf", ".Inf", ".INF")) {
		*num = s[0] == '-' ? -INFINITY : INFINITY;
		return R_NUMBER;
	}
	if (eq3(s, len, ".nan", ".NaN", ".NAN")) {
		*num = NAN;
		return R_NUMBER;
	}
	if (is_float_text(s, len)) {
		*num = strtod(s, NULL);
		return R_NUMBER;
	}
	return R_STRING;
}

/* cJSON_CreateNumber casts to int, which is undefined for NaN: set the double after. */
static cJSON *number_node(double v)
{
	cJSON *n = cJSON_CreateNumber(0);
	if (!n)
		return NULL;
	n->valuedouble = v;
	if (isnan(v))
		n->valueint = 0;
	else if (v >= 2147483647.0)
		n->valueint = 2147483647;
	else if (v <= -2147483648.0)
		n->valueint = -2147483647 - 1;
	else
		n->valueint = (int)v;
	return n;
}

/* ======================================================================================
 * Parser
 * ==================================================================================== */

enum key_state { KEY_OK, KEY_SKIP, KEY_MERGE };

struct merge_src {
	const cJSON *node;
	struct mnode *mark;
};

struct frame {
	cJSON *node;
	struct mnode *mark;
	int is_map;
	size_t n;       /* children attached so far (sequence index of the next one) */
	int want_key;   /* mapping: the next node is a key */
	enum key_state key_state;
	char *key;      /* mapping: the pending key (malloc'd) */
	int has_merge;  /* a "<<" key was seen */
	struct merge_src *merges;
	size_t nmerges;
	struct anchor *anchor; /* anchored here, completed at the end event */
	int64_t nodes_at_start;
	int64_t bytes_at_start;
	int height; /* container height of the children */
};

struct anchor {
	const cJSON *node;
	struct mnode *mark;
	const char *text; /* scalars: the source text (for keys) */
	int64_t count;    /* nodes in the anchored subtree */
	int64_t bytes;    /* scalar text in the anchored subtree, keys included */
	int height;       /* containers on the longest path, 0 for a scalar */
	int complete;
};

struct parser {
	const struct rdf_limits *lim;
	struct bo_error *err;
	rdf_doc *doc;
	struct frame *frames;
	size_t nframes, capframes;
	struct htab anchors; /* (NULL, name) -> struct anchor*, names in the arena */
	cJSON *spares;       /* discarded nodes, kept alive because anchors may point in */
	int64_t nodes, alias_nodes;
	int64_t bytes, alias_bytes; /* scalar text in the tree (keys, copies included); copies' */
	int docs;
	int stop;  /* a fatal problem: no more events are read */
	int nomem;
	int nerr;
	char first[512];
};

static struct frame *top(struct parser *st)
{
	return st->nframes ? &st->frames[st->nframes - 1] : NULL;
}

/* The path of the node being built: keys and indices of the open frames, plus the
 * pending key or next index of the innermost one when with_last is set. */
static cJSON *current_loc(struct parser *st, int with_last)
{
	cJSON *loc = cJSON_CreateArray();
	if (!loc)
		return NULL;
	size_t upto = st->nframes;
	for (size_t k = 0; k < upto; k++) {
		struct frame *f = &st->frames[k];
		int last = k + 1 == upto;
		if (last && !with_last)
			break;
		cJSON *part = NULL;
		if (f->is_map) {
			if (f->want_key || !f->key)
				break;
			part = cJSON_CreateString(f->key);
		} else {
			part = cJSON_CreateNumber((double)f->n);
		}
		if (!part || !cJSON_AddItemToArray(loc, part)) {
			cJSON_Delete(part);
			cJSON_Delete(loc);
			return NULL;
		}
	}
	return loc;
}

static void report(struct parser *st, cJSON *loc, int line, int column, const char *type,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Records one problem (loc is taken). Positions are 1-based. */
static void report(struct parser *st, cJSON *loc, int line, int column, const char *type,
		   const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st->nerr == 0) {
		if (line > 0)
			snprintf(st->first, sizeof(st->first), "line %d, column %d: %s", line,
				 column, msg);
		else
			snprintf(st->first, sizeof(st->first), "%s", msg);
	}
	st->nerr++;
	if (bo_error_add(st->err, loc, msg, type, line, column))
		st->nomem = 1;
}

static void limit_hit(struct parser *st, const yaml_mark_t *m, const char *what,
		      long long value, const char *option)
{
	report(st, current_loc(st, 1), m ? (int)m->line + 1 : 0, m ? (int)m->column + 1 : 0,
	       "limit", "the document exceeds the %s limit of %lld (%s)", what, value, option);
	st->stop = 1;
}

static void spare(struct parser *st, cJSON *node)
{
	if (node)
		cJSON_AddItemToArray(st->spares, node);
}

static int count_node(struct parser *st, const yaml_mark_t *m, int64_t n)
{
	st->nodes += n;
	if (st->nodes > st->lim->max_nodes) {
		limit_hit(st, m, "node count", (long long)st->lim->max_nodes, "max_yaml_nodes");
		return -1;
	}
	return 0;
}

static int check_merge_value(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return 0;
	if (!cJSON_IsArray(v))
		return -1;
	const cJSON *c;
	cJSON_ArrayForEach(c, v)
	{
		if (!cJSON_IsObject(c))
			return -1;
	}
	return 0;
}

static int add_merge(struct parser *st, struct frame *f, const cJSON *node,
		     struct mnode *mark)
{
	struct merge_src *m = realloc(f->merges, (f->nmerges + 1) * sizeof(*m));
	if (!m) {
		st->nomem = 1;
		return -1;
	}
	f->merges = m;
	f->merges[f->nmerges].node = node;
	f->merges[f->nmerges].mark = mark;
	f->nmerges++;
	return 0;
}

/* Hands a finished node to its parent (or makes it the root). Ownership of node passes
 * to the tree, or to the spares when it is discarded. */
static void attach(struct parser *st, cJSON *node, struct mnode *mark, int height,
		   const yaml_mark_t *ym)
{
	struct frame *f = top(st);
	arena *a = st->doc->a;
	if (!f) {
		st->doc->root = node;
		st->doc->root_mark = mark;
		return;
	}
	if (height > f->height)
		f->height = height;
	if (!f->is_map) {
		cJSON_AddItemToArray(f->node, node);
		if (body_append(a, f->mark->body, mark))
			st->nomem = 1;
		f->n++;
		return;
	}
	if (f->want_key) {
		/* Only a non-scalar key gets here; it was reported when it started. */
		spare(st, node);
		f->want_key = 0;
		f->key_state = KEY_SKIP;
		return;
	}
	if (f->key_state == KEY_OK) {
		char *k = arena_strdup(a, f->key);
		if (!k || body_append(a, f->mark->body, mark) ||
		    htab_put(&st->doc->keys, f->mark->body, k, mark)) {
			st->nomem = 1;
			spare(st, node);
		} else if (!cJSON_AddItemToObject(f->node, f->key, node)) {
			st->nomem = 1;
			spare(st, node);
		}
	} else if (f->key_state == KEY_MERGE) {
		if (check_merge_value(node)) {
			report(st, current_loc(st, 1), (int)ym->line + 1, (int)ym->column + 1,
			       "invalid_merge",
			       "the value of a merge key '<<' must be a mapping or a list of "
			       "mappings");
		} else {
			add_merge(st, f, node, mark);
		}
		spare(st, node); /* stays alive until the merge is applied */
	} else {
		spare(st, node);
	}
	free(f->key);
	f->key = NULL;
	f->want_key = 1;
	f->key_state = KEY_OK;
	f->n++;
}

static struct anchor *new_anchor(struct parser *st, const char *name)
{
	arena *a = st->doc->a;
	struct anchor *an = arena_alloc(a, sizeof(*an));
	char *nm = arena_strdup(a, name);
	if (!an || !nm || htab_put(&st->anchors, NULL, nm, an)) {
		st->nomem = 1;
		return NULL;
	}
	return an;
}

/* A scalar (or an aliased scalar) in key position. */
static void take_key(struct parser *st, struct frame *f, const char *text, int plain,
		     const yaml_mark_t *ym)
{
	int line = (int)ym->line + 1, column = (int)ym->column + 1;
	f->want_key = 0;
	if (plain && strcmp(text, "<<") == 0) {
		if (f->has_merge) {
			report(st, current_loc(st, 0), line, column, "duplicate_key",
			       "duplicate merge key '<<'");
			f->key_state = KEY_SKIP;
		} else {
			f->has_merge = 1;
			f->key_state = KEY_MERGE;
		}
		return;
	}
	const struct mnode *prev = htab_get(&st->doc->keys, f->mark->body, text);
	if (prev) {
		cJSON *loc = current_loc(st, 0);
		if (loc && !cJSON_AddItemToArray(loc, cJSON_CreateString(text))) {
			cJSON_Delete(loc);
			loc = NULL;
		}
		report(st, loc, line, column, "duplicate_key",
		       "duplicate key '%.*s' (first at line %d, column %d); keep only one",
		       utf8_prefix(text, 200), text, prev->line, prev->column);
		f->key_state = KEY_SKIP;
		return;
	}
	f->key = strdup(text);
	if (!f->key) {
		st->nomem = 1;
		return;
	}
	f->key_state = KEY_OK;
}

static void on_scalar(struct parser *st, yaml_event_t *ev)
{
	const yaml_mark_t *ym = &ev->start_mark;
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct frame *f = top(st);
	struct anchor *an = NULL;
	cJSON *node = NULL;
	struct mnode *mark = NULL;

	if (len > (uint64_t)st->lim->max_scalar_bytes) {
		limit_hit(st, ym, "scalar length", (long long)st->lim->max_scalar_bytes,
			  "max_yaml_scalar_bytes");
		return;
	}
	if (count_node(st, ym, 1))
		return;
	st->bytes += (int64_t)len;
	if (ev->data.scalar.anchor) {
		an = new_anchor(st, (const char *)ev->data.scalar.anchor);
		if (!an)
			return;
		an->text = arena_strndup(st->doc->a, text, len);
		if (!an->text) {
			st->nomem = 1;
			return;
		}
		an->count = 1;
		an->bytes = (int64_t)len;
	}
	if (f && f->is_map && f->want_key) {
		if (an) {
			/* The key's node lives among the spares so that aliases can copy it. */
			node = cJSON_CreateString(text);
			mark = mnode_new(st->doc->a, K_SCALAR, (int)ym->line + 1,
					 (int)ym->column + 1);
			if (!node || !mark) {
				cJSON_Delete(node);
				st->nomem = 1;
				return;
			}
			spare(st, node);
			an->node = node;
			an->mark = mark;
			an->complete = 1;
		}
		take_key(st, f, text, plain, ym);
		return;
	}
	const char *tag = (const char *)ev->data.scalar.tag;
	double num = 0;
	int r = R_STRING;
	if (plain && (!tag || strcmp(tag, "!") != 0) &&
	    !(tag && strcmp(tag, YAML_STR_TAG) == 0))
		r = resolve_plain(text, len, &num);
	switch (r) {
	case R_NULL:
		node = cJSON_CreateNull();
		break;
	case R_TRUE:
		node = cJSON_CreateTrue();
		break;
	case R_FALSE:
		node = cJSON_CreateFalse();
		break;
	case R_NUMBER:
		node = number_node(num);
		break;
	default:
		node = cJSON_CreateString(text);
	}
	mark = mnode_new(st->doc->a, K_SCALAR, (int)ym->line + 1, (int)ym->column + 1);
	if (!node || !mark) {
		cJSON_Delete(node);
		st->nomem = 1;
		return;
	}
	if (an) {
		an->node = node;
		an->mark = mark;
		an->complete = 1;
	}
	attach(st, node, mark, 0, ym);
}

static void on_start(struct parser *st, yaml_event_t *ev, int is_map)
{
	const yaml_mark_t *ym = &ev->start_mark;
	const yaml_char_t *anchor_name =
		is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	struct frame *f = top(st);
	struct frame nf;

	if ((int64_t)st->nframes + 1 > st->lim->max_depth) {
		limit_hit(st, ym, "nesting depth", (long long)st->lim->max_depth, "max_yaml_depth");
		return;
	}
	if (count_node(st, ym, 1))
		return;
	if (f && f->is_map && f->want_key)
		report(st, current_loc(st, 0), (int)ym->line + 1, (int)ym->column + 1,
		       "non_scalar_key", "a mapping key must be a scalar, not a %s",
		       is_map ? "mapping" : "sequence");
	if (st->nframes == st->capframes) {
		size_t cap = st->capframes ? st->capframes * 2 : 16;
		struct frame *fr = realloc(st->frames, cap * sizeof(*fr));
		if (!fr) {
			st->nomem = 1;
			return;
		}
		st->frames = fr;
		st->capframes = cap;
	}
	memset(&nf, 0, sizeof(nf));
	nf.is_map = is_map;
	nf.want_key = is_map;
	nf.node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
	nf.mark = mnode_new(st->doc->a, is_map ? K_MAP : K_SEQ, (int)ym->line + 1,
			    (int)ym->column + 1);
	nf.nodes_at_start = st->nodes;
	nf.bytes_at_start = st->bytes;
	if (!nf.node || !nf.mark) {
		cJSON_Delete(nf.node);
		st->nomem = 1;
		return;
	}
	if (anchor_name) {
		nf.anchor = new_anchor(st, (const char *)anchor_name);
		if (!nf.anchor) {
			cJSON_Delete(nf.node);
			return;
		}
		nf.anchor->node = nf.node;
		nf.anchor->mark = nf.mark;
	}
	st->frames[st->nframes++] = nf;
}

/* Walks a subtree: node count, string bytes (keys included) and container height. */
static void measure(const cJSON *n, int64_t *count, int64_t *bytes, int *height)
{
	int h = 0;
	const cJSON *c;
	(*count)++;
	if (cJSON_IsString(n))
		*bytes += (int64_t)strlen(n->valuestring);
	if (!cJSON_IsArray(n) && !cJSON_IsObject(n)) {
		*height = 0;
		return;
	}
	cJSON_ArrayForEach(c, n)
	{
		int ch = 0;
		if (c->string)
			*bytes += (int64_t)strlen(c->string);
		measure(c, count, bytes, &ch);
		if (ch > h)
			h = ch;
	}
	*height = h + 1;
}

/* Accounts for what a copy adds: nodes against the node limit and the alias budget, and
 * scalar text against max_bytes. The node budget alone would let 100,000 aliases of one
 * 1 MiB scalar build 100 GB from a 1.4 MiB document: copies may add at most one
 * document's worth of text. */
static int budget(struct parser *st, const yaml_mark_t *ym, int64_t count, int64_t bytes,
		  int height, size_t depth)
{
	if ((int64_t)depth + height > st->lim->max_depth) {
		limit_hit(st, ym, "nesting depth", (long long)st->lim->max_depth, "max_yaml_depth");
		return -1;
	}
	st->alias_nodes += count;
	if (st->alias_nodes > st->lim->alias_budget) {
		limit_hit(st, ym, "alias expansion budget", (long long)st->lim->alias_budget,
			  "max_yaml_alias_budget");
		return -1;
	}
	st->alias_bytes += bytes;
	st->bytes += bytes;
	if (st->alias_bytes > st->lim->max_bytes) {
		limit_hit(st, ym, "alias expansion size (bytes)", (long long)st->lim->max_bytes,
			  "max_yaml_bytes");
		return -1;
	}
	return count_node(st, ym, count);
}

/* Applies "<<" sources to the mapping f: a key already present wins, earlier sources win
 * over later ones. Copies count against the alias budget. */
static void apply_merges(struct parser *st, struct frame *f, const yaml_mark_t *ym)
{
	arena *a = st->doc->a;
	for (size_t s = 0; s < f->nmerges && !st->stop && !st->nomem; s++) {
		const cJSON *src = f->merges[s].node;
		struct mnode *smark = f->merges[s].mark;
		size_t nsub = cJSON_IsArray(src) ? (size_t)cJSON_GetArraySize(src) : 1;
		const cJSON *sub = cJSON_IsArray(src) ? src->child : src;
		for (size_t k = 0; k < nsub && sub; k++, sub = sub->next) {
			struct mnode *m = cJSON_IsArray(src) ? smark->body->kids[k] : smark;
			const cJSON *c;
			cJSON_ArrayForEach(c, sub)
			{
				if (htab_get(&st->doc->keys, f->mark->body, c->string))
					continue;
				int64_t count = 0, bytes = (int64_t)strlen(c->string);
				int height = 0;
				measure(c, &count, &bytes, &height);
				if (budget(st, ym, count, bytes, height, st->nframes))
					return;
				/* the mapping's own height, which its anchor and parent get */
				if (height > f->height)
					f->height = height;
				struct mnode *km = htab_get(&st->doc->keys, m->body, c->string);
				if (!km)
					km = m;
				char *key = arena_strdup(a, c->string);
				cJSON *copy = cJSON_Duplicate(c, 1);
				if (!copy || !key || body_append(a, f->mark->body, km) ||
				    htab_put(&st->doc->keys, f->mark->body, key, km) ||
				    !cJSON_AddItemToObject(f->node, key, copy)) {
					cJSON_Delete(copy);
					st->nomem = 1;
					return;
				}
			}
		}
	}
}

static void on_end(struct parser *st, yaml_event_t *ev)
{
	struct frame fr;
	if (!st->nframes)
		return;
	if (st->frames[st->nframes - 1].nmerges)
		apply_merges(st, &st->frames[st->nframes - 1], &ev->start_mark);
	fr = st->frames[--st->nframes];
	free(fr.key);
	free(fr.merges);
	if (fr.anchor) {
		fr.anchor->count = st->nodes - fr.nodes_at_start + 1;
		fr.anchor->bytes = st->bytes - fr.bytes_at_start;
		fr.anchor->height = fr.height + 1;
		fr.anchor->complete = 1;
	}
	yaml_mark_t start = ev->start_mark;
	start.line = (size_t)fr.mark->line - 1;
	start.column = (size_t)fr.mark->column - 1;
	attach(st, fr.node, fr.mark, fr.height + 1, &start);
}

static void on_alias(struct parser *st, yaml_event_t *ev)
{
	const yaml_mark_t *ym = &ev->start_mark;
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *an = htab_get(&st->anchors, NULL, name);
	struct frame *f = top(st);
	int line = (int)ym->line + 1, column = (int)ym->column + 1;
	cJSON *node = NULL;
	struct mnode *mark = NULL;

	if (!an || !an->complete) {
		report(st, current_loc(st, 1), line, column, an ? "recursive_alias" : "unknown_alias",
		       an ? "alias '*%.100s' refers to a node that contains it"
			  : "alias '*%.100s' has no anchor '&%.100s' before it",
		       name, name);
		if (count_node(st, ym, 1))
			return;
		if (f && f->is_map && f->want_key) {
			f->want_key = 0;
			f->key_state = KEY_SKIP;
			return;
		}
		node = cJSON_CreateNull();
		mark = mnode_new(st->doc->a, K_SCALAR, line, column);
		if (!node || !mark) {
			cJSON_Delete(node);
			st->nomem = 1;
			return;
		}
		attach(st, node, mark, 0, ym);
		return;
	}
	if (f && f->is_map && f->want_key) {
		if (count_node(st, ym, 1))
			return;
		if (an->text) {
			/* a key copy is text too: [{*k : 1}, {*k : 1}, …] with a 1 MiB k */
			if (budget(st, ym, 0, (int64_t)strlen(an->text), 0, st->nframes))
				return;
			take_key(st, f, an->text, 0, ym);
		} else {
			report(st, current_loc(st, 0), line, column, "non_scalar_key",
			       "a mapping key must be a scalar, but '*%.100s' is a %s", name,
			       cJSON_IsObject(an->node) ? "mapping" : "sequence");
			f->want_key = 0;
			f->key_state = KEY_SKIP;
		}
		return;
	}
	if (f && f->is_map && f->key_state == KEY_MERGE) {
		/* The anchored node is alive until the parse ends: merge from it directly. */
		if (check_merge_value(an->node))
			report(st, current_loc(st, 1), line, column, "invalid_merge",
			       "the value of a merge key '<<' must be a mapping or a list of "
			       "mappings");
		else
			add_merge(st, f, an->node, an->mark);
		f->want_key = 1;
		f->key_state = KEY_OK;
		f->n++;
		return;
	}
	if (budget(st, ym, an->count, an->bytes, an->height, st->nframes))
		return;
	if (f && f->is_map && f->key_state == KEY_SKIP) {
		f->want_key = 1;
		f->key_state = KEY_OK;
		f->n++;
		return;
	}
	node = cJSON_Duplicate(an->node, 1);
	mark = arena_alloc(st->doc->a, sizeof(*mark));
	if (!node || !mark) {
		cJSON_Delete(node);
		st->nomem = 1;
		return;
	}
	mark->line = line;
	mark->column = column;
	mark->body = an->mark->body;
	attach(st, node, mark, an->height, ym);
}

static void on_event(struct parser *st, yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++st->docs > 1) {
			report(st, cJSON_CreateArray(), (int)ev->start_mark.line + 1,
			       (int)ev->start_mark.column + 1, "multiple_documents",
			       "the file holds more than one YAML document; keep only one");
			st->stop = 1;
		}
		break;
	case YAML_SCALAR_EVENT:
		on_scalar(st, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_start(st, ev, 0);
		break;
	case YAML_MAPPING_START_EVENT:
		on_start(st, ev, 1);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(st, ev);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(st, ev);
		break;
	default:
		break;
	}
}

void rdf_limits_default(struct rdf_limits *out)
{
	out->max_bytes = LIMIT_YAML_BYTES;
	out->max_depth = LIMIT_YAML_DEPTH;
	out->max_nodes = LIMIT_YAML_NODES;
	out->max_scalar_bytes = LIMIT_YAML_SCALAR_BYTES;
	out->alias_budget = LIMIT_YAML_ALIAS_BUDGET;
}

int rdf_parse(rdf_doc **out, const char *text, size_t len, const struct rdf_limits *lim,
	      struct bo_error *err)
{
	struct parser st;
	yaml_parser_t yp;
	int yp_ready = 0;
	int rc;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	st.lim = lim;
	st.err = err;
	st.doc = calloc(1, sizeof(*st.doc));
	if (st.doc)
		st.doc->a = arena_create();
	st.spares = cJSON_CreateArray();
	if (!st.doc || !st.doc->a || !st.spares) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory parsing the RDF");
		goto fail;
	}
	if (len > (uint64_t)lim->max_bytes) {
		report(&st, cJSON_CreateArray(), 0, 0, "limit",
		       "the document is %zu bytes; the limit is %lld (max_yaml_bytes)", len,
		       (long long)lim->max_bytes);
		goto done;
	}
	if (!yaml_parser_initialize(&yp)) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory parsing the RDF");
		goto fail;
	}
	yp_ready = 1;
	yaml_parser_set_input_string(&yp, (const unsigned char *)(text ? text : ""), text ? len : 0);
	while (!st.stop && !st.nomem) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&yp, &ev)) {
			if (yp.error == YAML_MEMORY_ERROR) {
				st.nomem = 1;
				break;
			}
			const yaml_mark_t *m = &yp.problem_mark;
			if (yp.context && (yp.context_mark.line != m->line ||
					   yp.context_mark.column != m->column))
				report(&st, current_loc(&st, 1), (int)m->line + 1, (int)m->column + 1,
				       "yaml_syntax", "YAML syntax error: %s (%s at line %d, column %d)",
				       yp.problem ? yp.problem : "invalid YAML", yp.context,
				       (int)yp.context_mark.line + 1, (int)yp.context_mark.column + 1);
			else
				report(&st, current_loc(&st, 1), (int)m->line + 1, (int)m->column + 1,
				       "yaml_syntax", "YAML syntax error: %s%s%s%s",
				       yp.problem ? yp.problem : "invalid YAML",
				       yp.context ? " (" : "", yp.context ? yp.context : "",
				       yp.context ? ")" : "");
			break;
		}
		int end = ev.type == YAML_STREAM_END_EVENT;
		on_event(&st, &ev);
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	if (st.nomem) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory parsing the RDF");
		goto fail;
	}
	if (st.nerr == 0 && !cJSON_IsObject(st.doc->root)) {
		const struct mnode *m = st.doc->root_mark;
		report(&st, cJSON_CreateArray(), m ? m->line : 1, m ? m->column : 1,
		       "rdf_not_mapping",
		       st.doc->root ? "the top level of the RDF must be a mapping of fields "
				      "(name: …, type: …)"
				    : "the RDF is empty; it must be a mapping of fields (name: …, "
				      "type: …)");
	}
done:
	if (st.nomem) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory parsing the RDF");
		goto fail;
	}
	if (st.nerr) {
		if (st.nerr > 1)
			rc = bo_error_set(err, BO_EINVALIDRDF, "%s (and %d more problems)", st.first,
					  st.nerr - 1);
		else
			rc = bo_error_set(err, BO_EINVALIDRDF, "%s", st.first);
		goto fail;
	}
	*out = st.doc;
	st.doc = NULL;
	rc = 0;
fail:
	if (yp_ready)
		yaml_parser_delete(&yp);
	/* Frames left open by an error own their nodes. */
	for (size_t k = 0; k < st.nframes; k++) {
		cJSON_Delete(st.frames[k].node);
		free(st.frames[k].key);
		free(st.frames[k].merges);
	}
	free(st.frames);
	htab_cleanup(&st.anchors);
	cJSON_Delete(st.spares);
	rdf_free(st.doc);
	return rc;
}

void rdf_free(rdf_doc *d)
{
	if (!d)
		return;
	cJSON_Delete(d->root);
	htab_cleanup(&d->keys);
	arena_free(d->a);
	free(d);
}

cJSON *rdf_root(const rdf_doc *d) { return d->root; }

cJSON *rdf_take_root(rdf_doc *d)
{
	cJSON *r = d->root;
	d->root = NULL;
	return r;
}

int rdf_mark(const rdf_doc *d, const cJSON *loc, int *line, int *column)
{
	const struct mnode *m = d->root_mark;
	int found = m != NULL;
	const cJSON *part;
	if (m && loc) {
		cJSON_ArrayForEach(part, loc)
		{
			const struct mnode *next = NULL;
			if (m->body && m->body->kind == K_SEQ && cJSON_IsNumber(part) &&
			    part->valuedouble >= 0 && part->valuedouble < (double)m->body->n &&
			    part->valuedouble == floor(part->valuedouble))
				next = m->body->kids[(size_t)part->valuedouble];
			else if (m->body && m->body->kind == K_MAP && cJSON_IsString(part))
				next = htab_get(&d->keys, m->body, part->valuestring);
			if (!next) {
				found = 0;
				break;
			}
			m = next;
		}
	}
	*line = m ? m->line : 0;
	*column = m ? m->column : 0;
	return found ? 0 : BO_ENOTFOUND;
}

/* ======================================================================================
 * RDF file-name discovery
 * ==================================================================================== */

static int rdf_kind(const char *base)
{
	size_t n = strlen(base);
	if (strncmp(base, "._", 2) == 0) /* macOS resource forks */
		return -1;
	if (strcmp(base, "rdf.yaml") == 0)
		return 0;
	if (strcmp(base, "bioimageio.yaml") == 0)
		return 1;
	if (n > 16 && strcmp(base + n - 16, ".bioimageio.yaml") == 0)
		return 2;
	if (n > 9 && strcmp(base + n - 9, ".rdf.yaml") == 0)
		return 3;
	return -1;
}

int rdf_find_name(const char *const *names, size_t n, const char **out, struct bo_error *err)
{
	size_t plen = 0;
	int top_level = 0;
	*out = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strchr(names[i], '/'))
			top_level = 1;
	if (!top_level && n > 0) {
		/* Every name is in a folder: look inside it if it is the same for all. */
		const char *slash = strchr(names[0], '/');
		plen = (size_t)(slash - names[0]) + 1;
		for (size_t i = 1; i < n; i++)
			if (strncmp(names[i], names[0], plen) != 0)
				plen = 0;
		if (plen == 0)
			plen = SIZE_MAX;
	}
	int best = 4;
	size_t count = 0;
	for (size_t i = 0; i < n && plen != SIZE_MAX; i++) {
		const char *rest = names[i] + plen;
		if (strchr(rest, '/'))
			continue;
		int k = rdf_kind(rest);
		if (k < 0)
			continue;
		if (k < best) {
			best = k;
			count = 0;
		}
		if (k == best) {
			if (count == 0)
				*out = names[i];
			count++;
		}
	}
	if (count == 1)
		return 0;
	*out = NULL;
	if (count == 0)
		return bo_error_set(err, BO_EINVALIDPACKAGE,
				    "package has no rdf.yaml or bioimageio.yaml");
	char list[700];
	size_t o = 0;
	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *rest = names[i] + plen;
		if (strchr(rest, '/') || rdf_kind(rest) != best)
			continue;
		int w = snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - o) {
			snprintf(list + (o < sizeof(list) - 5 ? o : sizeof(list) - 5),
				 sizeof(list) - (o < sizeof(list) - 5 ? o : sizeof(list) - 5), ", ...");
			break;
		}
		o += (size_t)w;
	}
	return bo_error_set(err, BO_EINVALIDPACKAGE, "package has %zu candidate RDF files: %s",
			    count, list);
}

/* ======================================================================================
 * Emitter
 * ==================================================================================== */

/* libyaml's write handler: 1 = written */
static int out_write(void *ctx, unsigned char *bytes, size_t size) { return buf_addn(ctx, bytes, size) == 0; }

/* Words YAML 1.1 readers (PyYAML) turn into booleans or null. */
static int yaml11_word(const char *s)
{
	static const char *const words[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
					    "NO", "on", "On", "ON", "off", "Off", "OFF", "="};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* A plain scalar would be read back as something other than this string, or could be
 * by a YAML 1.1 reader (numbers with '_', sexagesimals, dates, booleans), or is "<<". */
static int needs_quotes(const char *s)
{
	double num;
	size_t len = strlen(s);
	if (resolve_plain(s, len, &num) != R_STRING || strcmp(s, "<<") == 0 || yaml11_word(s))
		return 1;
	if (is_digit(s[0]))
		return 1;
	if ((s[0] == '-' || s[0] == '+' || s[0] == '.') && (is_digit(s[1]) || s[1] == '.'))
		return 1;
	return 0;
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev) { return yaml_emitter_emit(em, ev); }

static int emit_scalar(yaml_emitter_t *em, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)text,
					  (int)strlen(text), 1, 1, style))
		return 0;
	return emit(em, &ev);
}

static int emit_string(yaml_emitter_t *em, const char *s, int is_key)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	if (strchr(s, '\n') && !is_key)
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (needs_quotes(s) || strchr(s, '\n'))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(em, s, style);
}

static int emit_number(yaml_emitter_t *em, double v)
{
	char buf[64];
	if (isnan(v))
		return emit_scalar(em, ".nan", YAML_PLAIN_SCALAR_STYLE);
	if (isinf(v))
		return emit_scalar(em, v > 0 ? ".inf" : "-.inf", YAML_PLAIN_SCALAR_STYLE);
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, sizeof(buf), "%.0f", v);
	} else {
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
	}
	return emit_scalar(em, buf, YAML_PLAIN_SCALAR_STYLE);
}

static int emit_node(yaml_emitter_t *em, const cJSON *n, int depth)
{
	yaml_event_t ev;
	const cJSON *c;
	if (depth > 10000)
		return 0;
	if (cJSON_IsObject(n)) {
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !emit(em, &ev))
			return 0;
		cJSON_ArrayForEach(c, n)
		{
			if (!emit_string(em, c->string ? c->string : "", 1) ||
			    !emit_node(em, c, depth + 1))
				return 0;
		}
		return yaml_mapping_end_event_initialize(&ev) && emit(em, &ev);
	}
	if (cJSON_IsArray(n)) {
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !emit(em, &ev))
			return 0;
		cJSON_ArrayForEach(c, n)
		{
			if (!emit_node(em, c, depth + 1))
				return 0;
		}
		return yaml_sequence_end_event_initialize(&ev) && emit(em, &ev);
	}
	if (cJSON_IsString(n) || cJSON_IsRaw(n))
		return emit_string(em, n->valuestring ? n->valuestring : "", 0);
	if (cJSON_IsNumber(n))
		return emit_number(em, n->valuedouble);
	if (cJSON_IsTrue(n))
		return emit_scalar(em, "true", YAML_PLAIN_SCALAR_STYLE);
	if (cJSON_IsFalse(n))
		return emit_scalar(em, "false", YAML_PLAIN_SCALAR_STYLE);
	return emit_scalar(em, "null", YAML_PLAIN_SCALAR_STYLE);
}

char *rdf_emit(const cJSON *root, struct bo_error *err)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct buf o = {0};
	char *result = NULL;

	if (!yaml_emitter_initialize(&em)) {
		bo_error_set(err, BO_ENOMEM, "out of memory writing YAML");
		return NULL;
	}
	yaml_emitter_set_output(&em, out_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && emit(&em, &ev) &&
		 yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
		 emit(&em, &ev) && emit_node(&em, root, 0) &&
		 yaml_document_end_event_initialize(&ev, 1) && emit(&em, &ev) &&
		 yaml_stream_end_event_initialize(&ev) && emit(&em, &ev) && yaml_emitter_flush(&em);
	if (!ok) {
		if (o.failed || em.error == YAML_MEMORY_ERROR)
			bo_error_set(err, BO_ENOMEM, "out of memory writing YAML");
		else
			bo_error_set(err, BO_EINTERNAL, "cannot write the RDF as YAML: %s",
				     em.problem ? em.problem : "the tree is too deep");
		goto fail;
	}
	result = o.p;
	o.p = NULL;
fail:
	free(o.p);
	yaml_emitter_delete(&em);
	return result;
}

/* fuzz_rdf: rdf_parse (common/rdf.h) on arbitrary bytes, as an uploaded rdf.yaml. Each
 * input is parsed twice: under the limits.h defaults (what an upload gets) and under tight
 * limits, so that inputs of a few hundred bytes reach every limit (depth, nodes, scalar
 * length, alias budget, document bytes). A parsed tree must respect the limits it was
 * parsed under (its text at most the document's plus max_bytes of copies) and have a
 * mark for every node; a tree parsed under the defaults must
 * survive rdf_emit -> rdf_parse unchanged (rdf.h promises an equal tree; the stage job
 * stores every RDF that way). A refusal must be BO_EINVALIDRDF with its problems listed. */
#include "harness.h"

#include "../lib/json_same.h"

#include "common/error.h"
#include "common/rdf.h"
#include "common/utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The problem types rdf.h lists. */
static const char *const problem_types[] = {
	"yaml_syntax",	   "duplicate_key",   "non_scalar_key",     "invalid_merge",
	"recursive_alias", "unknown_alias",   "multiple_documents", "rdf_not_mapping",
	"limit",
};

struct walk {
	const rdf_doc *doc;
	const struct rdf_limits *lim;
	cJSON *path;   /* keys and indices from the root to the node being visited */
	int64_t nodes; /* values seen (keys are not cJSON nodes) */
	int64_t text;  /* bytes of strings and keys */
	int marks;     /* rdf_mark calls left: O(depth) each, the first nodes are enough */
};

/* Every container within max_depth (the root is 1), every string within the scalar
 * limit, at most max_nodes values, and a mark found for each visited node. */
static void walk(struct walk *w, const cJSON *n, int depth)
{
	w->nodes++;
	FUZZ_ASSERT(w->nodes <= w->lim->max_nodes, "more nodes than max_nodes");
	if (cJSON_IsString(n)) {
		size_t len = strlen(n->valuestring);
		FUZZ_ASSERT(len <= (size_t)w->lim->max_scalar_bytes,
			    "a string longer than max_scalar_bytes");
		w->text += (int64_t)len;
	}
	if (w->marks > 0) {
		int line = 0, column = 0;
		w->marks--;
		FUZZ_ASSERT(rdf_mark(w->doc, w->path, &line, &column) == 0,
			    "rdf_mark does not find a node of the tree");
		FUZZ_ASSERT(line >= 1 && column >= 1, "a mark is not 1-based");
	}
	if (!cJSON_IsArray(n) && !cJSON_IsObject(n))
		return;
	FUZZ_ASSERT(depth <= w->lim->max_depth, "a tree deeper than max_depth");
	int i = 0;
	for (const cJSON *c = n->child; c; c = c->next, i++) {
		cJSON *part = cJSON_IsObject(n) ? cJSON_CreateString(c->string)
					       : cJSON_CreateNumber((double)i);
		FUZZ_ASSERT(part != NULL, "out of memory in the harness");
		if (cJSON_IsObject(n)) {
			size_t len = strlen(c->string);
			FUZZ_ASSERT(len <= (size_t)w->lim->max_scalar_bytes,
				    "a key longer than max_scalar_bytes");
			w->text += (int64_t)len;
		}
		cJSON_AddItemToArray(w->path, part);
		walk(w, c, depth + 1);
		cJSON_DeleteItemFromArray(w->path, cJSON_GetArraySize(w->path) - 1);
	}
}

static void check_refusal(int rc, struct bo_error *err)
{
	static const int allowed[] = {BO_EINVALIDRDF, BO_ENOMEM, 0};
	if (rc == BO_EINVALIDRDF) {
		FUZZ_ASSERT(cJSON_IsArray(err->errors) && cJSON_GetArraySize(err->errors) > 0,
			    "BO_EINVALIDRDF without err->errors");
		const cJSON *e;
		cJSON_ArrayForEach(e, err->errors)
		{
			const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
			FUZZ_ASSERT(cJSON_IsString(type), "a problem without a type");
			FUZZ_ASSERT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(e, "loc")),
				    "a problem without a loc array");
			FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "msg")),
				    "a problem without a msg");
			int known = 0;
			size_t ntypes = sizeof(problem_types) / sizeof(problem_types[0]);
			for (size_t k = 0; k < ntypes; k++)
				if (strcmp(type->valuestring, problem_types[k]) == 0)
					known = 1;
			FUZZ_ASSERT(known, "a problem type rdf.h does not list");
		}
	}
	fuzz_check_error(rc, err, allowed);
}

/* rdf_emit of a parsed tree, parsed again: the same tree. The second parse keeps the
 * depth and scalar limits (the tree met them) and allows no alias at all (the emitter
 * writes none), but not the byte and node limits: expanded aliases may legitimately
 * make the text longer and add key nodes. */
static void round_trip(const cJSON *root, const struct rdf_limits *lim)
{
	struct bo_error err = BO_ERROR_INIT;
	struct rdf_limits again = *lim;
	rdf_doc *d2 = NULL;
	again.max_bytes = INT64_MAX;
	again.max_nodes = INT64_MAX;
	again.alias_budget = 0;
	char *text = rdf_emit(root, &err);
	if (!text) {
		/* the parser only makes valid UTF-8, so only memory can fail here */
		static const int allowed[] = {BO_ENOMEM, 0};
		fprintf(stderr, "rdf_emit: %s\n", err.detail);
		fuzz_check_error(err.code, &err, allowed);
		return;
	}
	int rc = rdf_parse(&d2, text, strlen(text), &again, &err);
	if (rc)
		fprintf(stderr, "emitted YAML does not parse (%s):\n%s\n", err.detail, text);
	FUZZ_ASSERT(rc == 0, "rdf_parse refuses what rdf_emit wrote");
	if (!json_same(root, rdf_root(d2))) {
		char *a = cJSON_PrintUnformatted(root), *b = cJSON_PrintUnformatted(rdf_root(d2));
		fprintf(stderr, "before: %s\nemitted:\n%s\nafter: %s\n", a, text, b);
		free(a);
		free(b);
		FUZZ_ASSERT(0, "rdf_emit -> rdf_parse changes the tree");
	}
	rdf_free(d2);
	free(text);
	bo_error_cleanup(&err);
}

static void parse_under(const uint8_t *data, size_t size, const struct rdf_limits *lim,
			int emit_too)
{
	struct bo_error err = BO_ERROR_INIT;
	rdf_doc *d = (rdf_doc *)&err; /* must be reset to NULL on failure */
	int rc = rdf_parse(&d, (const char *)data, size, lim, &err);
	if (rc) {
		FUZZ_ASSERT(d == NULL, "*out not NULL after a failure");
		check_refusal(rc, &err);
		return;
	}
	FUZZ_ASSERT(d != NULL && err.code == 0 && err.errors == NULL,
		    "success with an error set or no document");
	const cJSON *root = rdf_root(d);
	FUZZ_ASSERT(cJSON_IsObject(root), "a parsed RDF whose top level is not a mapping");
	struct walk w = {d, lim, cJSON_CreateArray(), 0, 0, 256};
	FUZZ_ASSERT(w.path != NULL, "out of memory in the harness");
	walk(&w, root, 1);
	/* what the document holds plus what copies may add (rdf.h, max_bytes) */
	FUZZ_ASSERT(w.text <= (int64_t)size + lim->max_bytes,
		    "alias copies add more text than max_bytes");
	cJSON_Delete(w.path);
	if (emit_too)
		round_trip(root, lim);
	/* the marks live apart from the tree: they must outlast a taken root */
	cJSON *taken = rdf_take_root(d);
	int line = 0, column = 0;
	FUZZ_ASSERT(rdf_root(d) == NULL, "rdf_root after rdf_take_root");
	FUZZ_ASSERT(rdf_mark(d, NULL, &line, &column) == 0, "no mark for the root");
	rdf_free(d);
	cJSON_Delete(taken);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdf_limits def, tight;
	rdf_limits_default(&def);
	tight.max_bytes = 2048;
	tight.max_depth = 6;
	tight.max_nodes = 64;
	tight.max_scalar_bytes = 48;
	tight.alias_budget = 16;
	parse_under(data, size, &def, 1);
	parse_under(data, size, &tight, 0);
	return 0;
}

/* ids: memorable ids from the vocabulary of schema/id_parts.json, and their reservation.
 * Invariant: every id of the loaded vocabulary has exactly one reading (adjective, noun,
 * type) — ids_load refuses a vocabulary where hyphenated words make one id ambiguous — and
 * an id is taken only by the INSERT of its concepts row, never by a check-then-insert. */
#include "domain/ids.h"

#include "common/error.h"
#include "infra/db.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 31     /* two words and a hyphen stay within IDS_MAX */
#define EMOJI_MAX 32
#define RESERVE_TRIES 100

struct noun {
	char *word;
	char *emoji;
};

struct vocab {
	char **adjs; /* sorted */
	size_t nadj;
	struct noun *nouns; /* sorted by word */
	size_t nnoun;
};

/* Index order of ids.vocabs; the strings double as the borrowed ids_info.vocab_type. */
static const char *const vocab_names[] = {"model", "dataset", "notebook"};
#define NVOCAB (sizeof(vocab_names) / sizeof(vocab_names[0]))

struct ids {
	struct vocab vocabs[NVOCAB];
};

/* ---- vocabulary types ------------------------------------------------------------------- */

const char *ids_vocab_type(const char *rdf_type)
{
	if (!rdf_type)
		return NULL;
	if (!strcmp(rdf_type, "model"))
		return vocab_names[0];
	if (!strcmp(rdf_type, "dataset"))
		return vocab_names[1];
	if (!strcmp(rdf_type, "notebook") || !strcmp(rdf_type, "application") || !strcmp(rdf_type, "generic"))
		return vocab_names[2];
	return NULL;
}

/* Index into ids.vocabs for a vocabulary or RDF type, or -1. */
static int vocab_index(const char *type)
{
	const char *name = ids_vocab_type(type);
	for (size_t i = 0; name && i < NVOCAB; i++)
		if (!strcmp(name, vocab_names[i]))
			return (int)i;
	return -1;
}

/* ---- lookup ----------------------------------------------------------------------------- */

/* strcmp between a NUL-terminated word and the part s[0..len). */
static int cmp_part(const char *word, const char *s, size_t len)
{
	int c = strncmp(word, s, len);
	if (c)
		return c;
	return word[len] != '\0';
}

static const char *find_adj(const struct vocab *vc, const char *s, size_t len)
{
	size_t lo = 0, hi = vc->nadj;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_part(vc->adjs[mid], s, len);
		if (c == 0)
			return vc->adjs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct noun *find_noun(const struct vocab *vc, const char *s, size_t len)
{
	size_t lo = 0, hi = vc->nnoun;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_part(vc->nouns[mid].word, s, len);
		if (c == 0)
			return &vc->nouns[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Counts the readings of id[0..len) as adjective-noun over all types and keeps the last one. */
static int count_readings(const ids *v, const char *id, size_t len, int *type_out, const struct noun **noun_out)
{
	int n = 0;
	for (size_t k = 1; k + 1 < len; k++) {
		if (id[k] != '-')
			continue;
		for (size_t t = 0; t < NVOCAB; t++) {
			if (!find_adj(&v->vocabs[t], id, k))
				continue;
			const struct noun *nn = find_noun(&v->vocabs[t], id + k + 1, len - k - 1);
			if (!nn)
				continue;
			n++;
			*type_out = (int)t;
			*noun_out = nn;
		}
	}
	return n;
}

/* Lowercase letters with single inner hyphens: the shape of words and of whole ids. */
static int plain_shape(const char *s, size_t len)
{
	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-' ? s[i + 1] == '-' : (s[i] < 'a' || s[i] > 'z'))
			return 0;
	}
	return 1;
}

/* The lexical part of parsing, shared with ids_reserve_named: length, characters, shape. */
static int check_syntax(const char *id, size_t *len_out, struct bo_error *err)
{
	if (!id || !*id)
		return bo_error_set(err, BO_EINVALIDID, "id is empty; ids look like 'affable-shark'");
	size_t len = strnlen(id, IDS_MAX + 1);
	if (len > IDS_MAX)
		return bo_error_set(err, BO_EINVALIDID, "id is longer than %d bytes; ids look like 'affable-shark'",
				    IDS_MAX);
	for (size_t i = 0; i < len; i++) {
		if (id[i] != '-' && (id[i] < 'a' || id[i] > 'z'))
			return bo_error_set(err, BO_EINVALIDID,
					    "id may contain only lowercase letters a-z and hyphens (byte %zu is not one)",
					    i + 1);
	}
	if (!strchr(id, '-') || !plain_shape(id, len))
		return bo_error_set(err, BO_EINVALIDID, "id '%s' is not of the form adjective-noun (like 'affable-shark')",
				    id);
	*len_out = len;
	return 0;
}

/* Explains why an id of valid shape has no reading. */
static int explain_no_reading(const ids *v, const char *id, size_t len, struct bo_error *err)
{
	size_t best_adj = 0;
	int mixed = 0;
	for (size_t k = 1; k + 1 < len; k++) {
		if (id[k] != '-')
			continue;
		for (size_t t = 0; t < NVOCAB; t++) {
			if (!find_adj(&v->vocabs[t], id, k))
				continue;
			best_adj = k;
			for (size_t u = 0; u < NVOCAB; u++)
				if (u != t && find_noun(&v->vocabs[u], id + k + 1, len - k - 1))
					mixed = 1;
		}
	}
	if (!best_adj)
		return bo_error_set(err, BO_EINVALIDID, "id '%s' does not start with a known adjective", id);
	if (mixed)
		return bo_error_set(err, BO_EINVALIDID,
				    "id '%s': adjective and noun come from different vocabularies (model, dataset, notebook)",
				    id);
	return bo_error_set(err, BO_EINVALIDID, "id '%s': '%s' is not a known noun", id, id + best_adj + 1);
}

int ids_parse(const ids *v, const char *id, struct ids_info *info, struct bo_error *err)
{
	size_t len = 0;
	int type = -1;
	const struct noun *nn = NULL;
	int rc = check_syntax(id, &len, err);
	if (rc)
		return rc;
	if (count_readings(v, id, len, &type, &nn) == 0)
		return explain_no_reading(v, id, len, err);
	if (info) {
		info->vocab_type = vocab_names[type];
		info->emoji = nn->emoji;
	}
	return 0;
}

uint64_t ids_space(const ids *v, const char *vocab_type)
{
	int t = vocab_index(vocab_type);
	if (t < 0)
		return 0;
	return (uint64_t)v->vocabs[t].nadj * v->vocabs[t].nnoun;
}

/* ---- loading ---------------------------------------------------------------------------- */

static int read_all(const char *path, char **out, size_t *len_out, struct bo_error *err)
{
	char *buf = NULL;
	int rc = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return bo_error_set(err, BO_EINTERNAL, "id vocabulary %s cannot be read: %s", path, strerror(errno));
	buf = malloc(IDS_VOCAB_MAX_BYTES + 1);
	if (!buf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	size_t n = fread(buf, 1, IDS_VOCAB_MAX_BYTES + 1, f);
	if (ferror(f)) {
		rc = bo_error_set(err, BO_EINTERNAL, "id vocabulary %s cannot be read: %s", path, strerror(errno));
		goto fail;
	}
	if (n > IDS_VOCAB_MAX_BYTES) {
		rc = bo_error_set(err, BO_EINTERNAL, "id vocabulary %s is larger than %u bytes", path,
				  IDS_VOCAB_MAX_BYTES);
		goto fail;
	}
	*out = buf;
	*len_out = n;
	buf = NULL;
fail:
	free(buf);
	fclose(f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_noun(const void *a, const void *b)
{
	return strcmp(((const struct noun *)a)->word, ((const struct noun *)b)->word);
}

static int check_word(const char *path, const char *type, const char *what, const cJSON *item,
		      struct bo_error *err)
{
	if (!cJSON_IsString(item))
		return bo_error_set(err, BO_EINTERNAL, "id vocabulary %s: %s %s must be strings", path, type, what);
	size_t len = strlen(item->valuestring);
	if (len > WORD_MAX || !plain_shape(item->valuestring, len))
		return bo_error_set(err, BO_EINTERNAL,
				    "id vocabulary %s: %s %s '%.40s' is not 1-%d lowercase letters with single inner hyphens",
				    path, type, what, item->valuestring, WORD_MAX);
	return 0;
}

static int load_vocab(struct vocab *vc, const char *path, const char *type, const cJSON *obj,
		      struct bo_error *err)
{
	const cJSON *adjs = cJSON_GetObjectItemCaseSensitive(obj, "adjectives");
	const cJSON *nouns = cJSON_GetObjectItemCaseSensitive(obj, "nouns");
	const cJSON *it;
	int rc;
	if (!cJSON_IsObject(obj) || !cJSON_IsArray(adjs) || !cJSON_IsObject(nouns))
		return bo_error_set(err, BO_EINTERNAL,
				    "id vocabulary %s: '%s' must be an object with an 'adjectives' array and a 'nouns' object",
				    path, type);
	size_t nadj = (size_t)cJSON_GetArraySize(adjs), nnoun = (size_t)cJSON_GetArraySize(nouns);
	if (nadj == 0 || nnoun == 0)
		return bo_error_set(err, BO_EINTERNAL, "id vocabulary %s: '%s' needs at least one adjective and one noun",
				    path, type);
	vc->adjs = calloc(nadj, sizeof(*vc->adjs));
	vc->nouns = calloc(nnoun, sizeof(*vc->nouns));
	if (!vc->adjs || !vc->nouns)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, adjs) {
		rc = check_word(path, type, "adjectives", it, err);
		if (rc)
			return rc;
		vc->adjs[vc->nadj] = strdup(it->valuestring);
		if (!vc->adjs[vc->nadj])
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		vc->nadj++;
	}
	cJSON_ArrayForEach(it, nouns) {
		const char *word = it->string;
		size_t wlen = strlen(word);
		if (wlen > WORD_MAX || !plain_shape(word, wlen))
			return bo_error_set(err, BO_EINTERNAL,
					    "id vocabulary %s: %s noun '%.40s' is not 1-%d lowercase letters with single inner hyphens",
					    path, type, word, WORD_MAX);
		if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > EMOJI_MAX)
			return bo_error_set(err, BO_EINTERNAL, "id vocabulary %s: %s noun '%s' needs an emoji string of 1-%d bytes",
					    path, type, word, EMOJI_MAX);
		struct noun *nn = &vc->nouns[vc->nnoun];
		nn->word = strdup(word);
		nn->emoji = strdup(it->valuestring);
		vc->nnoun++;
		if (!nn->word || !nn->emoji)
			return bo_error_set(err, BO_ENOMEM, "out of memory");
	}
	qsort(vc->adjs, vc->nadj, sizeof(*vc->adjs), cmp_str);
	qsort(vc->nouns, vc->nnoun, sizeof(*vc->nouns), cmp_noun);
	for (size_t i = 1; i < vc->nadj; i++)
		if (!strcmp(vc->adjs[i - 1], vc->adjs[i]))
			return bo_error_set(err, BO_EINTERNAL, "id vocabulary %s: %s adjective '%s' is listed twice", path,
					    type, vc->adjs[i]);
	for (size_t i = 1; i < vc->nnoun; i++)
		if (!strcmp(vc->nouns[i - 1].word, vc->nouns[i].word))
			return bo_error_set(err, BO_EINTERNAL, "id vocabulary %s: %s noun '%s' is listed twice", path, type,
					    vc->nouns[i].word);
	return 0;
}

/* Every id must read back as itself and nothing else; with hyphenated words ("easy-going",
 * "t-rex") and words shared between types this is not automatic. About 30,000 ids for the
 * real vocabulary, checked once at start. */
static int check_unambiguous(const ids *v, const char *path, struct bo_error *err)
{
	char id[IDS_MAX + 1];
	for (size_t t = 0; t < NVOCAB; t++) {
		const struct vocab *vc = &v->vocabs[t];
		for (size_t a = 0; a < vc->nadj; a++) {
			for (size_t n = 0; n < vc->nnoun; n++) {
				int len = snprintf(id, sizeof(id), "%s-%s", vc->adjs[a], vc->nouns[n].word);
				int type = -1;
				const struct noun *nn = NULL;
				if (count_readings(v, id, (size_t)len, &type, &nn) != 1)
					return bo_error_set(err, BO_EINTERNAL,
							    "id vocabulary %s: id '%s' can be read in more than one way; "
							    "rename one of the hyphenated words",
							    path, id);
			}
		}
	}
	return 0;
}

int ids_load(ids **out, const char *path, struct bo_error *err)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	ids *v = NULL;
	const char *end = NULL;
	*out = NULL;
	int rc = read_all(path, &text, &len, err);
	if (rc)
		goto fail;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		rc = bo_error_set(err, BO_EINTERNAL, "id vocabulary %s is not valid JSON (near byte %td)", path,
				  end ? end - text : (ptrdiff_t)0);
		goto fail;
	}
	if (!cJSON_IsObject(root)) {
		rc = bo_error_set(err, BO_EINTERNAL, "id vocabulary %s must be a JSON object of types", path);
		goto fail;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t t = 0; t < NVOCAB; t++) {
		const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, vocab_names[t]);
		if (!obj) {
			rc = bo_error_set(err, BO_EINTERNAL, "id vocabulary %s has no '%s' vocabulary", path, vocab_names[t]);
			goto fail;
		}
		rc = load_vocab(&v->vocabs[t], path, vocab_names[t], obj, err);
		if (rc)
			goto fail;
	}
	rc = check_unambiguous(v, path, err);
	if (rc)
		goto fail;
	*out = v;
	v = NULL;
fail:
	ids_free(v);
	cJSON_Delete(root);
	free(text);
	return rc;
}

void ids_free(ids *v)
{
	if (!v)
		return;
	for (size_t t = 0; t < NVOCAB; t++) {
		struct vocab *vc = &v->vocabs[t];
		for (size_t i = 0; vc->adjs && i < vc->nadj; i++)
			free(vc->adjs[i]);
		for (size_t i = 0; vc->nouns && i < vc->nnoun; i++) {
			free(vc->nouns[i].word);
			free(vc->nouns[i].emoji);
		}
		free(vc->adjs);
		free(vc->nouns);
	}
	free(v);
}

/* ---- generation and reservation --------------------------------------------------------- */

/* Uniform in [0, n) by rejection, so no id is likelier than another. n > 0. */
static int random_below(uint64_t n, uint64_t *out)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	for (;;) {
		uint64_t r;
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			return -1;
		if (r < limit) {
			*out = r % n;
			return 0;
		}
	}
}

int ids_generate(const ids *v, const char *vocab_type, char *buf, size_t len, struct bo_error *err)
{
	int t = vocab_index(vocab_type);
	uint64_t idx;
	if (len > 0)
		buf[0] = '\0';
	if (t < 0)
		return bo_error_set(err, BO_EBADREQUEST, "no id vocabulary for type '%.40s' (model, dataset or notebook)",
				    vocab_type ? vocab_type : "");
	const struct vocab *vc = &v->vocabs[t];
	if (random_below((uint64_t)vc->nadj * vc->nnoun, &idx))
		return bo_error_set(err, BO_EINTERNAL, "random generator (RAND_bytes) failed");
	const char *adj = vc->adjs[idx / vc->nnoun];
	const char *noun = vc->nouns[idx % vc->nnoun].word;
	size_t need = strlen(adj) + 1 + strlen(noun) + 1;
	if (need > len)
		return bo_error_set(err, BO_EINTERNAL, "id buffer of %zu bytes is too small (need %zu)", len, need);
	snprintf(buf, len, "%s-%s", adj, noun);
	return 0;
}

/* Converts a failed step of an INSERT into concepts. A foreign-key failure means the creator
 * does not exist, which is the caller's mistake, not an unavailable database. */
static int insert_fail(sqlite3 *c, int64_t user_id, struct bo_error *err)
{
	if (sqlite3_extended_errcode(c) == SQLITE_CONSTRAINT_FOREIGNKEY)
		return bo_error_set(err, BO_EBADREQUEST, "user %lld does not exist", (long long)user_id);
	return db_fail(c, "insert into concepts", err);
}

static const char insert_sql[] = "INSERT INTO concepts(id, type, created_at, created_by) VALUES (?1, ?2, ?3, ?4) "
				 "ON CONFLICT(id) DO NOTHING";

static int bind_insert(sqlite3_stmt *st, const char *id, const char *type, const char *now, int64_t user_id)
{
	int rc = db_bind_text(st, 1, id);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 2, type);
	if (rc == SQLITE_OK)
		rc = db_bind_text(st, 3, now);
	if (rc == SQLITE_OK)
		rc = user_id > 0 ? sqlite3_bind_int64(st, 4, user_id) : sqlite3_bind_null(st, 4);
	return rc;
}

int ids_reserve(const ids *v, sqlite3 *c, const char *rdf_type, int64_t user_id, char *buf, size_t len,
		struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc, won = 0;
	if (len > 0)
		buf[0] = '\0';
	const char *vt = ids_vocab_type(rdf_type);
	if (!vt)
		return bo_error_set(err, BO_EINVALIDRDF,
				    "resources of type '%.40s' get no id (model, dataset, notebook, application or generic)",
				    rdf_type ? rdf_type : "");
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st, insert_sql, err);
	if (rc)
		goto fail;
	for (int i = 0; i < RESERVE_TRIES && !won; i++) {
		rc = ids_generate(v, vt, buf, len, err);
		if (rc)
			goto fail;
		sqlite3_reset(st);
		if (bind_insert(st, buf, rdf_type, now, user_id) != SQLITE_OK) {
			rc = db_fail(c, "bind", err);
			goto fail;
		}
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = insert_fail(c, user_id, err);
			goto fail;
		}
		/* ON CONFLICT DO NOTHING changed no row: someone holds this id; draw again */
		won = sqlite3_changes(c) == 1;
	}
	if (!won) {
		rc = bo_error_set(err, BO_ECONFLICT, "id space exhausted: no free %s id found in %d tries", vt,
				  RESERVE_TRIES);
		goto fail;
	}
	rc = 0;
fail:
	if (rc && len > 0)
		buf[0] = '\0';
	sqlite3_finalize(st);
	return rc;
}

int ids_reserve_named(sqlite3 *c, const char *id, const char *rdf_type, int64_t user_id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	size_t len;
	int rc = check_syntax(id, &len, err);
	if (rc)
		return rc;
	if (!rdf_type || !*rdf_type)
		return bo_error_set(err, BO_EBADREQUEST, "the resource type is missing");
	db_now_iso(now, sizeof(now));
	rc = db_prepare(c, &st, insert_sql, err);
	if (rc)
		goto fail;
	if (bind_insert(st, id, rdf_type, now, user_id) != SQLITE_OK) {
		rc = db_fail(c, "bind", err);
		goto fail;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = insert_fail(c, user_id, err);
		goto fail;
	}
	if (sqlite3_changes(c) != 1) {
		rc = bo_error_set(err, BO_EIDTAKEN, "id '%s' is already taken", id);
		goto fail;
	}
	rc = 0;
fail:
	sqlite3_finalize(st);
	return rc;
}

int ids_is_taken(sqlite3 *c, const char *id, struct bo_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(c, &st, "SELECT 1 FROM concepts WHERE id = ?1", err);
	if (rc)
		return rc;
	if (db_bind_text(st, 1, id) != SQLITE_OK) {
		rc = db_fail(c, "bind", err);
		goto fail;
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = 1;
	else if (step == SQLITE_DONE)
		rc = 0;
	else
		rc = db_fail(c, "look up id", err);
fail:
	sqlite3_finalize(st);
	return rc;
}

int ids_suggest(const ids *v, sqlite3 *c, const char *vocab_type, char *buf, size_t len, struct bo_error *err)
{
	int rc = 0;
	for (int i = 0; i < RESERVE_TRIES; i++) {
		rc = ids_generate(v, vocab_type, buf, len, err);
		if (rc)
			return rc;
		rc = ids_is_taken(c, buf, err);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			return 0;
	}
	rc = bo_error_set(err, BO_ECONFLICT, "id space exhausted: no free %s id found in %d tries",
			  ids_vocab_type(vocab_type), RESERVE_TRIES);
fail:
	if (len > 0)
		buf[0] = '\0';
	return rc;
}

const char *ids_emoji(const ids *v, const char *id)
{
	struct ids_info info = {0};
	struct bo_error err = BO_ERROR_INIT;
	int rc = ids_parse(v, id, &info, &err);
	bo_error_cleanup(&err);
	return rc == 0 && info.emoji ? info.emoji : "";
}

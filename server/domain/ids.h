/* ids: the memorable resource ids ("affable-shark"): the vocabulary of schema/id_parts.json,
 * parsing (with hyphenated parts: "easy-going-t-rex"), emoji lookup, random generation and
 * reservation. A row in `concepts` IS the reservation: inserting it is how an id is taken, so
 * the UNIQUE primary key decides every race between concurrent uploads. */
#ifndef BO_IDS_H
#define BO_IDS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;

/* The loaded vocabulary. Immutable after ids_load, so one instance may be shared by every
 * thread without locking. */
typedef struct ids ids;

/* Longest id accepted or produced, in bytes (without the NUL). A buffer of IDS_MAX + 1
 * bytes always holds a generated id. */
#define IDS_MAX 64

/* Vocabulary file: 4 MiB at most (the real one is 13 KiB). */
#define IDS_VOCAB_MAX_BYTES (4U << 20)

/* Loads the vocabulary: {"model": {"adjectives": [...], "nouns": {"noun": "emoji", ...}},
 * "dataset": {...}, "notebook": {...}}. All three types are required; other keys are ignored.
 * Words must be lowercase ASCII letters with inner single hyphens, 1..31 bytes, unique within
 * their list; emojis 1..32 bytes. The file is refused if any adjective-noun id could be read
 * in two ways (for instance "a" + "b-c" and "a-b" + "c", or one id in two types), so
 * ids_parse always has at most one answer.
 * Returns 0 and *out (free with ids_free), or BO_EINTERNAL (unreadable, too large, malformed;
 * the detail names the file and the problem) or BO_ENOMEM. */
int ids_load(ids **out, const char *path, struct bo_error *err);
void ids_free(ids *v);

/* The vocabulary type for an RDF type: "model" -> "model", "dataset" -> "dataset", and
 * "notebook", "application", "generic" -> "notebook" (the reference service names every
 * non-model, non-dataset resource from the notebook vocabulary; the published collection
 * confirms it for applications). NULL for types that get no id (e.g. "collection") and NULL
 * input. The result is a static string. */
const char *ids_vocab_type(const char *rdf_type);

/* What an id is. Both pointers are borrowed from v (valid until ids_free). */
struct ids_info {
	const char *vocab_type; /* "model", "dataset" or "notebook" */
	const char *emoji;      /* the noun's emoji, UTF-8 */
};

/* Parses id as <adjective>-<noun> of one vocabulary, trying every hyphen as the split point.
 * Ids are lowercase ASCII letters and hyphens only, at most IDS_MAX bytes.
 * Returns 0 and fills *info (info may be NULL to only validate), or BO_EINVALIDID with a detail
 * that says why ("is empty", "is longer than 64 bytes", "may contain only lowercase letters
 * a-z and hyphens", "is not of the form adjective-noun", "does not start with a known
 * adjective", "'x' is not a known noun", "adjective and noun come from different
 * vocabularies"). The detail quotes the id only once it is known to be short and plain. */
int ids_parse(const ids *v, const char *id, struct ids_info *info, struct bo_error *err);

/* The emoji of a valid id, "" for anything else (borrowed from v). */
const char *ids_emoji(const ids *v, const char *id);

/* Writes a uniformly random id of vocab_type into buf (randomness from OpenSSL RAND_bytes).
 * vocab_type may also be any RDF type that ids_vocab_type maps (e.g. "application").
 * Returns 0, BO_EBADREQUEST for a type with no vocabulary, BO_EINTERNAL if len is too small
 * (IDS_MAX + 1 always suffices) or the random generator fails. */
int ids_generate(const ids *v, const char *vocab_type, char *buf, size_t len, struct bo_error *err);

/* Reserves a fresh id for a resource of rdf_type: generates one and inserts
 * concepts(id, type = rdf_type, created_at = now, created_by = user_id) with
 * INSERT ... ON CONFLICT DO NOTHING; the insert that changes a row wins. Runs inside the
 * caller's transaction (start it with db_begin so the write lock is held up front); it does
 * not begin or commit one. user_id <= 0 records no creator (NULL, for system actions).
 * Retries up to 100 times, then BO_ECONFLICT "id space exhausted".
 * Returns 0 with the id in buf, BO_EINVALIDRDF for an RDF type that gets no id (collection),
 * BO_EINTERNAL (buffer too small, no randomness) or BO_EDATABASE. */
int ids_reserve(const ids *v, sqlite3 *c, const char *rdf_type, int64_t user_id, char *buf,
		size_t len, struct bo_error *err);

/* Reserves the given id (an uploaded RDF's own id) the same way, in the caller's transaction.
 * Only the id's length, characters and adjective-noun shape are checked here (so it is safe
 * as a storage key); whether it belongs to the vocabulary of rdf_type is the caller's
 * ids_parse.
 * Returns 0 if inserted, BO_EIDTAKEN if the id exists, BO_EINVALIDID for a malformed id,
 * BO_EBADREQUEST for an empty rdf_type, BO_EDATABASE. */
int ids_reserve_named(sqlite3 *c, const char *id, const char *rdf_type, int64_t user_id,
		      struct bo_error *err);

/* Suggests an id of vocab_type (or an RDF type ids_vocab_type maps) that is not in concepts,
 * without reserving it: a later ids_reserve_named may still lose a race and get BO_EIDTAKEN.
 * Returns 0 with the id in buf, BO_EBADREQUEST (unknown type), BO_ECONFLICT (no free id found
 * in 100 tries), BO_EINTERNAL, BO_EDATABASE. */
int ids_suggest(const ids *v, sqlite3 *c, const char *vocab_type, char *buf, size_t len,
		struct bo_error *err);

/* 1 if id is a row of concepts, 0 if not, or BO_EDATABASE. */
int ids_is_taken(sqlite3 *c, const char *id, struct bo_error *err);

/* Number of distinct ids of vocab_type (adjectives x nouns); 0 for an unknown type. */
uint64_t ids_space(const ids *v, const char *vocab_type);

#endif

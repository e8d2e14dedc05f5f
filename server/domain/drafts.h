/* drafts: the one owner of the `drafts` and `test_runs` tables (DESIGN §4). Every
 * statement that reads or writes either lives here, so a column's meaning is decided in
 * one file and the modules of the pipeline ask for a draft instead of each reading it its
 * own way. Functions take the caller's connection and run inside its transaction, if any;
 * they never commit. State changes go through lifecycle_transition, the only caller of
 * drafts_set_state. */
#ifndef BO_DRAFTS_H
#define BO_DRAFTS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;
struct cJSON;

/* The states of DESIGN §5, in the order of the pipeline. The names are what
 * drafts.state stores (and the schema's CHECK lists). */
enum draft_state {
	DRAFT_UNPACKING,
	DRAFT_UNPACKED,
	DRAFT_TESTING,
	DRAFT_AWAITING_REVIEW,
	DRAFT_CHANGES_REQUESTED,
	DRAFT_ACCEPTED,
	DRAFT_PUBLISHED,
	DRAFT_ERROR,
	DRAFT_NUM_STATES
};

/* "unpacking", …; "?" for a value out of range. */
const char *drafts_state_name(enum draft_state s);
/* 0 and *out, or -1 for a name that is not a state. */
int drafts_state_parse(const char *name, enum draft_state *out);

/* A draft as read by drafts_get. Strings are copies; state_detail and rdf_json are
 * malloc'd (drafts_release frees them). */
struct draft {
	int revision;
	enum draft_state state;
	char *state_detail;
	char type[32];      /* the concept's type */
	char name[256];     /* the RDF's name, "" when it has none */
	char format_version[32];
	int64_t uploader_id;
	char uploader_name[256];
	char uploader_email[320]; /* "" when the account is disabled: no mail to it */
	char package_sha256[65];
	int64_t package_size;
	char package_path[4096];
	char rdf_name[1100];
	char created_at[40], updated_at[40];
	char *rdf_json; /* only with DRAFTS_WITH_RDF, else NULL */
};

#define DRAFTS_WITH_RDF 1u

/* The draft of concept_id: *found = 0 (and 0 returned) when there is none. flags:
 * DRAFTS_WITH_RDF also reads the stamped RDF (it can be large). BO_EDATABASE, BO_ENOMEM. */
int drafts_get(sqlite3 *c, const char *concept_id, unsigned flags, struct draft *d, int *found,
	       struct bo_error *err);
void drafts_release(struct draft *d);

/* Revision and state only (the check every job makes before it acts). */
int drafts_state(sqlite3 *c, const char *concept_id, int *revision, enum draft_state *state, int *found,
		 struct bo_error *err);

/* A new revision of a draft, in unpacking (insert, or replace the previous revision's row). */
struct draft_revision {
	const char *concept_id;
	int revision;
	int64_t uploader_id;
	const char *package_sha256;
	int64_t package_size;
	const char *package_path;
	const char *rdf_name;
	const char *rdf_json;
};
int drafts_put_revision(sqlite3 *c, const struct draft_revision *r, struct bo_error *err);

/* A draft adopted by `backoffice import` from another backoffice's storage, inserted as it
 * is (its files are in storage already, no job is queued): uploader NULL, package fields
 * are placeholders (import.c says which). Nothing happens when the concept has a draft
 * (the caller compared it first). */
struct draft_import {
	const char *concept_id;
	int revision;
	enum draft_state state;
	const char *state_detail, *package_sha256, *rdf_json, *created_at, *updated_at;
};
int drafts_import(sqlite3 *c, const struct draft_import *d, struct bo_error *err);

/* Sets state, state_detail and updated_at of the draft at revision (lifecycle_transition
 * only: it checks the move first). */
int drafts_set_state(sqlite3 *c, const char *concept_id, int revision, enum draft_state state,
		     const char *detail, struct bo_error *err);
/* Replaces the stamped RDF of the draft at revision (staging stamps thumbnails into it). */
int drafts_set_rdf(sqlite3 *c, const char *concept_id, int revision, const char *rdf_json, struct bo_error *err);
/* The draft is gone (it became a version). */
int drafts_delete(sqlite3 *c, const char *concept_id, struct bo_error *err);
/* The version row of a publish intent, from the draft: its RDF, the rdf.yaml's sha256 and
 * revision, state 'publishing'. Nothing when the version row exists already. */
int drafts_snapshot_version(sqlite3 *c, const char *concept_id, const char *version, struct bo_error *err);
/* Drafts of the user that are neither published nor in error. */
int drafts_count_in_flight(sqlite3 *c, int64_t user_id, int *n, struct bo_error *err);

/* ---- listings (the API and the review queue) ---- */

/* The review queue: [{id, type, name, revision, uploader {id, name}, since, validation,
 * tests [{weight_format, status}]}] appended to items, oldest first. */
int drafts_list_awaiting(sqlite3 *c, struct cJSON *items, struct bo_error *err);
/* The same list for the drafts in state (since: when they entered it), oldest first. */
int drafts_list_in_state(sqlite3 *c, enum draft_state state, struct cJSON *items, struct bo_error *err);

/* Concepts with their draft, newest first: [{id, type, created, draft: null | {state,
 * revision}, name, latest_version, concept_doi}] appended to out. Filters may be NULL; q
 * matches the id or (case-insensitively) the draft's name. */
struct drafts_filter {
	const char *type, *state, *q;
	int limit, offset;
};
int drafts_list_resources(sqlite3 *c, const struct drafts_filter *f, struct cJSON *out, struct bo_error *err);

/* A draft as the collection's draft files list it. Strings are "" for SQL NULL and valid
 * during the callback only. */
struct drafts_row {
	const char *concept_id, *type;
	int revision;
	enum draft_state state;
	const char *state_detail, *rdf_json, *package_sha256, *created_at, *updated_at;
	int64_t created_by;      /* the uploader, else the concept's creator, else 0 */
	const char *concept_doi;
	const char *rdf_sha256;  /* of the staged rdf.yaml, "" before staging */
	const char *versions_json; /* the published versions, newest first: ["2", "1"] */
};
typedef int (*drafts_each_fn)(void *ctx, const struct drafts_row *row, struct bo_error *err);
/* Calls fn for every draft in id order, stopping at the first nonzero return (returned). */
int drafts_each(sqlite3 *c, drafts_each_fn fn, void *ctx, struct bo_error *err);

/* A concept with its draft, if any. *found = 0 when there is no such concept. */
struct drafts_concept {
	char type[32];
	char created_at[40];
	char concept_doi[256]; /* "" when none */
	int has_draft;
	int revision;
	enum draft_state state;
	char *state_detail; /* malloc'd, NULL without a draft */
	char updated_at[40];
};
int drafts_get_concept(sqlite3 *c, const char *concept_id, struct drafts_concept *out, int *found,
		       struct bo_error *err);
void drafts_concept_release(struct drafts_concept *d);

/* ---- test runs of a revision ---- */

struct draft_run {
	char kind[8]; /* "static" or "dynamic" */
	char weight_format[64];
	char status[16];
	char tool[64], tool_version[64];
	char started_at[40], finished_at[40];
	char *summary_json; /* NULL when none */
};
struct draft_runs {
	struct draft_run *v;
	size_t n;
};

/* The runs of the revision in the order they were made. */
int drafts_runs_list(sqlite3 *c, const char *concept_id, int revision, struct draft_runs *out,
		     struct bo_error *err);
void drafts_runs_free(struct draft_runs *r);
/* How many runs of the revision are queued or running. */
int drafts_runs_unfinished(sqlite3 *c, const char *concept_id, int revision, int *n, struct bo_error *err);
/* The static run's status, "" when there is none. */
int drafts_run_static_status(sqlite3 *c, const char *concept_id, int revision, char *out, size_t n,
			     struct bo_error *err);
/* The dynamic run's status for the format, "" when there is none. */
int drafts_run_dynamic_status(sqlite3 *c, const char *concept_id, int revision, const char *format, char *out,
			      size_t n, struct bo_error *err);

/* The static verdict of the revision, replacing an earlier one. */
struct draft_run_verdict {
	const char *tool, *tool_version, *status, *summary_json, *started_at, *finished_at;
};
int drafts_run_record_static(sqlite3 *c, const char *concept_id, int revision, const struct draft_run_verdict *v,
			     struct bo_error *err);
/* Forgets the dynamic runs of the revision (before they are scheduled again). */
int drafts_runs_clear_dynamic(sqlite3 *c, const char *concept_id, int revision, struct bo_error *err);
/* A queued dynamic run of the format. */
int drafts_run_queue_dynamic(sqlite3 *c, const char *concept_id, int revision, const char *format,
			     const char *tool, const char *tool_version, struct bo_error *err);
/* The dynamic run of the format is running since started_at. */
int drafts_run_start(sqlite3 *c, const char *concept_id, int revision, const char *format, const char *started_at,
		     struct bo_error *err);
/* The dynamic run's verdict (v->started_at NULL keeps the recorded start). */
int drafts_run_finish(sqlite3 *c, const char *concept_id, int revision, const char *format,
		      const struct draft_run_verdict *v, struct bo_error *err);

#endif

/* app: the server context — the long-lived objects every handler and job uses, created
 * at start and freed at stop. The only mutable state shared between threads lives in
 * these objects, each of which is thread-safe. */
#ifndef BO_APP_H
#define BO_APP_H

#include "common/rdf.h"
#include "infra/package.h"

struct config;
struct bo_error;
typedef struct db db;
typedef struct storage storage;
typedef struct ids ids;
typedef struct jobs jobs;
typedef struct metrics metrics;
typedef struct validator validator;
typedef struct collection collection;
typedef struct test_slots test_slots;

struct app {
	const struct config *cfg;
	db *db;
	storage *storage;
	ids *ids;
	jobs *jobs;
	metrics *metrics;
	validator *validator; /* the validation rules (immutable, shared by threads) */
	collection *collection; /* collection files: serving cache and rebuild memo */
	test_slots *test_slots; /* at most max_test_workers dynamic tests at once */
	char rules_version[40]; /* the rule set of static validation (retest_rules_version) */
	struct rdf_limits rdf_limits;
	struct package_limits package_limits;
	char *tmp_dir;      /* DATA_DIR/tmp: upload bodies while they arrive */
	char *incoming_dir; /* DATA_DIR/incoming: accepted packages until staged */
	int lock_fd;        /* flock on DATA_DIR/backoffice.lock (servers only) */
	int lease_polls;    /* lease workers' long polls held now (atomic builtins; pipeline/lease) */
};

/* Opens database (with migrations), storage, vocabulary, validation rules and the job
 * queue (runners not started). server != 0 takes the data directory lock so only one server runs on it
 * (BO_ECONFLICT otherwise). */
int app_open(struct app **out, const struct config *cfg, int server, struct bo_error *err);
void app_close(struct app *a);

#endif

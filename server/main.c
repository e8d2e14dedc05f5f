/* main: the `backoffice` command — `serve` and the operator subcommands. Each
 * subcommand loads the same config table (defaults < BO_* env < --flags), opens what it
 * needs, and exits 0 on success, 1 on failure, 2 on a usage error. */
#include "app.h"
#include "check/validate.h"
#include "common/error.h"
#include "common/log.h"
#include "common/version.h"
#include "domain/auth.h"
#include "domain/reviewers.h"
#include "http/http.h"
#include "http/routes.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/fs.h"
#include "infra/jobs.h"
#include "infra/storage.h"
#include "infra/storage_s3.h"
#include "offline.h"
#include "pipeline/archive.h"
#include "pipeline/collection.h"
#include "pipeline/import.h"
#include "pipeline/slurm.h"
#include "pipeline/resource_view.h"
#include "pipeline/retest.h"
#include "pipeline/test_job.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define IMPORT_MAX_BYTES (4 << 20)
#define ADMIN_EMAIL "admin@localhost"

struct cli {
	struct config *cfg;
	char **args; /* positional arguments and subcommand flags */
	int nargs;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: backoffice COMMAND [options]\n\n"
		   "commands:\n"
		   "  serve                               run the HTTP server and the job runners\n"
		   "  migrate                             apply pending database migrations\n"
		   "  check-config                        validate the configuration and print it\n"
		   "  env-example                         print an env file with every option\n"
		   "  routes                              list the HTTP endpoints\n"
		   "  storage create-bucket               create the configured S3 bucket (storage=s3)\n"
		   "  storage put KEY FILE                store FILE under KEY in the configured storage\n"
		   "  storage ls [PREFIX]                 list keys (and sizes) of the configured storage\n"
		   "  import storage [--dry-run]          adopt the collection in the configured storage (the\n"
		   "                                      reference's layout) in place; exit 1 on conflicts\n"
		   "  import legacy DIR [--dry-run]       adopt a checkout of the legacy collection's gh-pages\n"
		   "                                      (DIR/collection.json, DIR/rdfs/); exit 1 on conflicts\n"
		   "  sandbox check                       exit 0 when the bubblewrap jail for model code works here\n"
		   "  user add --name N --email E [--role uploader|reviewer|admin] [--orcid O]\n"
		   "  user list                           users as JSON\n"
		   "  user disable EMAIL|ID               disable a user and revoke their tokens\n"
		   "  users import FILE                   import reviewers (reviewers.json format)\n"
		   "  token create EMAIL|ID [--label L] [--partner TOOL|'*' | --worker]\n"
		   "                                      create a token (printed once); --partner: one that\n"
		   "                                      only sends TOOL's compatibility reports; --worker: one\n"
		   "                                      that only leases test jobs (backoffice-worker --lease)\n"
		   "  token revoke ID|TOKEN               revoke a token\n"
		   "  jobs list [--state S]               jobs as JSON, newest first\n"
		   "  jobs retry N                        re-queue a dead or failed job\n"
		   "  jobs run                            run ready jobs in the foreground until none is left\n"
		   "  show ID[/draft|/events|/VERSION]    a concept, its draft, its events or a version as the API gives it\n"
		   "  rebuild [--reason R] [--new-url]    rebuild collection.json & co. from the database now\n"
		   "                                      (refused when it would change the collection's URLs,\n"
		   "                                      unless --new-url)\n"
		   "  retest [--all | ID[/VERSION]...] [--weight-format F] [--dry-run] [--no-wait]\n"
		   "                                      queue re-tests of published versions (ID: its latest)\n"
		   "                                      whose latest run per weight format had another judge\n"
		   "                                      (worker, runtime, rule set); the server runs them;\n"
		   "                                      shows progress until done (exit 2: usage, unknown id)\n"
		   "  backup                              queue an archive (Zenodo) job for every version without a DOI\n"
		   "  backup --reupload ID/VERSION        archive a version again in today's layout (a new Zenodo version)\n"
		   "  validate PATH... [--json] [--no-io-checks]\n"
		   "                                      validate an RDF file, a package directory or a zip\n"
		   "                                      (exit 0 valid, 1 invalid, 2 usage); needs no server\n"
		   "  test PATH [--weight-format F] [--json]\n"
		   "                                      static validation, then the dynamic tests in the\n"
		   "                                      sandboxed worker (exit 0 passed, 1 failed, 2 usage)\n\n");
	config_usage(f);
}

static int fail_cli(struct bo_error *err)
{
	fprintf(stderr, "backoffice: %s\n", err->detail[0] ? err->detail : bo_error_title(err->code));
	if (err->errors) {
		const cJSON *e;
		cJSON_ArrayForEach(e, err->errors)
		{
			const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "msg");
			char *loc = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(e, "loc"));
			fprintf(stderr, "  %s: %s\n", loc ? loc : "", cJSON_IsString(msg) ? msg->valuestring : "");
			free(loc);
		}
	}
	return err->code == BO_EBADREQUEST ? EXIT_USAGE : 1;
}

/* Value of a subcommand flag (--name value) among the args, or NULL. */
static const char *flag_value(const struct cli *cli, const char *flag)
{
	for (int i = 0; i + 1 < cli->nargs; i++)
		if (!strcmp(cli->args[i], flag))
			return cli->args[i + 1];
	return NULL;
}

/* Whether a flag without a value (--new-url) is among the args. */
static int has_flag(const struct cli *cli, const char *flag)
{
	for (int i = 0; i < cli->nargs; i++)
		if (!strcmp(cli->args[i], flag))
			return 1;
	return 0;
}

/* The flags of any command that take no value: positional must not take the argument
 * after one of them for its value (`token create --worker EMAIL`). */
static int valueless_flag(const char *a)
{
	static const char *const v[] = {"--new-url", "--worker", "--dry-run", "--all", "--no-wait", "--json", "--no-io-checks"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(a, v[i]))
			return 1;
	return 0;
}

/* The i-th positional argument (skipping flags and their values), or NULL. */
static const char *positional(const struct cli *cli, int want)
{
	int n = 0;
	for (int i = 0; i < cli->nargs; i++) {
		if (!strncmp(cli->args[i], "--", 2)) {
			if (!valueless_flag(cli->args[i]))
				i++;
			continue;
		}
		if (n++ == want)
			return cli->args[i];
	}
	return NULL;
}

static int print_json(cJSON *o)
{
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* ---------------------------------------------------------------- serve */

/* On the first start with an empty database: an admin user whose token goes to
 * DATA_DIR/admin.token (0600), so `make run` gives the operator a working token. */
static int bootstrap_admin(struct app *a, struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	char token[80], path[4096];
	int64_t uid = 0, tid = 0;
	int fd = -1;
	int rc = db_acquire(a->db, &c, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st, "SELECT count(*) FROM users", err);
	if (rc)
		goto fail;
	int users = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (users != 0) {
		rc = users < 0 ? db_fail(c, "count users", err) : 0;
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/admin.token", a->cfg->data_dir);
	rc = db_begin(c, err);
	if (!rc)
		rc = auth_user_add(c, "Administrator", ADMIN_EMAIL, AUTH_ROLE_ADMIN, NULL, &uid, err);
	if (!rc)
		rc = auth_token_create(c, uid, "bootstrap admin token", NULL, token, &tid, err);
	if (rc)
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(token);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		rc = bo_error_set(err, BO_ESTORAGE, "cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	rc = db_commit(c, err);
	if (!rc)
		log_info("first start: created admin user %s; its token is in %s (mode 0600)", ADMIN_EMAIL, path);
fail:
	if (fd >= 0)
		close(fd);
	if (rc && fd >= 0)
		unlink(path);
	db_release(a->db, c);
	return rc;
}

static int cmd_serve(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	struct app *a = NULL;
	http_server *srv = NULL;
	slurm_runner *slurm = NULL;
	sigset_t set;
	int rc, sig = 0;
	/* signals are taken synchronously by this thread; every other thread inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = app_open(&a, cli->cfg, 1, &err);
	if (!rc)
		rc = bootstrap_admin(a, &err);
	if (!rc)
		rc = test_sandbox_start(cli->cfg, &err);
	if (!rc) {
		rc = jobs_recover(a->jobs, 1, &err);
		rc = rc < 0 ? rc : 0;
	}
	if (!rc)
		rc = retest_on_start(a, &err);
	if (!rc)
		rc = jobs_start(a->jobs, (int)cli->cfg->job_runners, &err);
	if (!rc && !strcmp(cli->cfg->test_runner, "slurm"))
		rc = slurm_start(a, &slurm, &err);
	if (!rc)
		rc = http_start(&srv, a, routes_all, routes_all_count, &err);
	if (rc)
		goto fail;
	log_info("backoffice listening on http://%s:%u (data in %s, storage %s, %lld job runners)", cli->cfg->listen,
		 http_port(srv), cli->cfg->data_dir, cli->cfg->storage, (long long)cli->cfg->job_runners);
	sigwait(&set, &sig);
	log_info("received signal %d, stopping", sig);
fail:
	http_stop(srv);
	slurm_stop(slurm);
	if (a)
		jobs_stop(a->jobs);
	app_close(a);
	if (rc) {
		int code = fail_cli(&err);
		bo_error_cleanup(&err);
		return code == EXIT_USAGE ? EXIT_USAGE : 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- database commands */

typedef int (*db_cmd_fn)(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err);

/* Opens the app (no server lock), lends a connection to fn, reports its error. */
static int with_db(struct cli *cli, db_cmd_fn fn)
{
	struct bo_error err = BO_ERROR_INIT;
	struct app *a = NULL;
	sqlite3 *c = NULL;
	int rc = app_open(&a, cli->cfg, 0, &err);
	if (!rc)
		rc = db_acquire(a->db, &c, &err);
	if (!rc)
		rc = fn(cli, a, c, &err);
	if (c)
		db_release(a->db, c);
	app_close(a);
	int code = rc ? fail_cli(&err) : 0;
	bo_error_cleanup(&err);
	return code;
}

static int user_add(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	const char *name = flag_value(cli, "--name"), *email = flag_value(cli, "--email");
	const char *role_s = flag_value(cli, "--role"), *orcid = flag_value(cli, "--orcid");
	enum auth_role role = AUTH_ROLE_UPLOADER;
	int64_t id = 0;
	if (!name || !email)
		return bo_error_set(err, BO_EBADREQUEST, "user add needs --name and --email");
	if (role_s && auth_role_parse(role_s, &role))
		return bo_error_set(err, BO_EBADREQUEST, "--role must be uploader, reviewer or admin");
	int rc = auth_user_add(c, name, email, role, orcid, &id, err);
	if (!rc)
		printf("user %lld %s (%s) added\n", (long long)id, email, auth_role_name(role));
	return rc;
}

static int user_list(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)cli, (void)a;
	cJSON *list = NULL;
	int rc = auth_user_list(c, &list, err);
	return rc ? rc : print_json(list);
}

static int user_disable(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	const char *who = positional(cli, 0);
	if (!who)
		return bo_error_set(err, BO_EBADREQUEST, "user disable needs an email or user id");
	int rc = auth_user_disable(c, who, err);
	if (!rc)
		printf("user %s disabled; their tokens are revoked\n", who);
	return rc;
}

static int users_import(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	const char *path = positional(cli, 0);
	if (!path)
		return bo_error_set(err, BO_EBADREQUEST, "users import needs a file");
	FILE *f = fopen(path, "rb");
	if (!f)
		return bo_error_set(err, BO_EBADREQUEST, "cannot read %s: %s", path, strerror(errno));
	char *buf = malloc(IMPORT_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, IMPORT_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	int rc, added = 0, updated = 0;
	if (n > IMPORT_MAX_BYTES) {
		rc = bo_error_set(err, BO_EBADREQUEST, "%s is larger than 4 MiB", path);
	} else {
		buf[n] = '\0';
		rc = reviewers_import(c, buf, n, &added, &updated, err);
	}
	free(buf);
	if (!rc)
		printf("imported %s: %d added, %d updated\n", path, added, updated);
	return rc;
}

static int token_create(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	const char *who = positional(cli, 0), *label = flag_value(cli, "--label");
	const char *partner = flag_value(cli, "--partner");
	struct auth_user u;
	char token[80], scope[AUTH_SCOPE_MAX + 16] = "";
	int64_t tid = 0;
	if (!who)
		return bo_error_set(err, BO_EBADREQUEST, "token create needs an email or user id");
	/* a partner token sends compatibility reports of that tool ('*': of any tool), nothing else */
	if (partner && strcmp(partner, "*"))
		snprintf(scope, sizeof(scope), "partner:%.*s", AUTH_TOOL_MAX + 1, partner);
	else if (partner)
		snprintf(scope, sizeof(scope), "partner");
	/* a worker token leases test jobs (test_runner=lease) and reports their results, nothing else */
	if (has_flag(cli, "--worker")) {
		if (partner)
			return bo_error_set(err, BO_EBADREQUEST, "a token is either --partner or --worker");
		snprintf(scope, sizeof(scope), "worker");
	}
	int rc = auth_user_get(c, who, &u, err);
	if (!rc)
		rc = auth_token_create(c, u.id, label ? label : "", scope, token, &tid, err);
	if (!rc)
		printf("%s\n", token);
	return rc;
}

static int token_revoke(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	const char *which = positional(cli, 0);
	if (!which)
		return bo_error_set(err, BO_EBADREQUEST, "token revoke needs a token id or the token");
	int rc = auth_token_revoke(c, which, err);
	if (!rc)
		printf("token revoked\n");
	return rc;
}

static int jobs_list_cmd(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	cJSON *list = NULL;
	int rc = jobs_list(c, flag_value(cli, "--state"), 1000, &list, err);
	return rc ? rc : print_json(list);
}

static int jobs_retry_cmd(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	const char *n = positional(cli, 0);
	char *end = NULL;
	long long id = n ? strtoll(n, &end, 10) : 0;
	if (!n || *end || id <= 0)
		return bo_error_set(err, BO_EBADREQUEST, "jobs retry needs a job number");
	int rc = jobs_retry(c, id, err);
	if (!rc)
		printf("job %lld re-queued; a running server picks it up\n", id);
	return rc;
}

/* The API's documents, read from the database (resource_view), for an operator without
 * a token or a server: ID, ID/draft, ID/events or ID/VERSION. */
static int show_cmd(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	const char *arg = positional(cli, 0);
	char id[128];
	cJSON *doc = NULL;
	int rc;
	const char *slash = arg ? strchr(arg, '/') : NULL;
	size_t n = arg ? (slash ? (size_t)(slash - arg) : strlen(arg)) : 0;
	if (!n || n >= sizeof(id))
		return bo_error_set(err, BO_EBADREQUEST, "show needs ID, ID/draft, ID/events or ID/VERSION");
	snprintf(id, sizeof(id), "%.*s", (int)n, arg);
	if (!slash)
		rc = resource_view_resource(a, c, id, &doc, err);
	else if (!strcmp(slash + 1, "draft"))
		rc = resource_view_draft(a, c, id, &doc, err);
	else if (!strcmp(slash + 1, "events"))
		rc = resource_view_events(a, c, id, &doc, err);
	else
		rc = resource_view_version(a, c, id, slash + 1, &doc, err);
	return rc ? rc : print_json(doc);
}

/* The scheduled rebuild: queued rebuild jobs first (their reasons name the changes in
 * the history), then one rebuild from the database, which writes and commits nothing
 * when nothing changed. Runs beside a live server (storage writes are atomic, the
 * server notices the new files by their storage ETag). */
static int cmd_rebuild(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	struct app *a = NULL;
	struct timespec t0, t1;
	int ran = 1, rc = app_open(&a, cli->cfg, 0, &err);
	/* a hand-run rebuild without the server's configuration would rewrite every URL */
	if (!rc && !has_flag(cli, "--new-url"))
		rc = collection_check_url_root(a, &err);
	while (!rc && ran)
		rc = jobs_run_one(a->jobs, "rebuild", &ran, &err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!rc)
		rc = collection_rebuild(a, flag_value(cli, "--reason") ? flag_value(cli, "--reason") : "scheduled rebuild",
					&err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	app_close(a);
	if (!rc)
		printf("collection rebuilt in %.1f ms\n",
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	int code = rc ? fail_cli(&err) : 0;
	bo_error_cleanup(&err);
	return code;
}

static int jobs_run_cmd(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)cli, (void)c;
	int ran = 1, total = 0;
	while (ran) {
		int rc = jobs_run_one(a->jobs, NULL, &ran, err);
		if (rc)
			return rc;
		total += ran;
	}
	printf("%d job(s) run\n", total);
	return 0;
}

/* Versions published while archiving was off or whose archive job was lost get a job;
 * the server's runners (or `jobs run`) do the work. */
static int backup_cmd(struct cli *cli, struct app *a, sqlite3 *c, struct bo_error *err)
{
	(void)a;
	int n = 0;
	const char *again = flag_value(cli, "--reupload");
	if (again) {
		char id[256];
		const char *slash = strchr(again, '/');
		if (!slash || slash == again || !slash[1] || (size_t)(slash - again) >= sizeof(id) || strchr(slash + 1, '/'))
			return bo_error_set(err, BO_EBADREQUEST, "--reupload takes ID/VERSION, e.g. affable-shark/1");
		snprintf(id, sizeof(id), "%.*s", (int)(slash - again), again);
		int rc = archive_reupload(c, cli->cfg, id, slash + 1, err);
		if (!rc)
			printf("archive job queued for %s: a new Zenodo version in package.zip layout\n", again);
		return rc;
	}
	int rc = archive_enqueue_missing(c, cli->cfg, &n, err);
	if (!rc)
		printf("%d archive job(s) queued\n", n);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

static int cmd_migrate(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	db *d = NULL;
	int applied = 0, version = 0;
	/* the first step on a new machine: the data directory may not exist yet */
	int rc = fs_mkdir_p(cli->cfg->data_dir, 0750, &err);
	if (!rc)
		rc = db_open(&d, cli->cfg->db_path, NULL, &err);
	if (!rc)
		rc = db_migrate(d, cli->cfg->migrations_dir, &applied, &err);
	if (!rc)
		rc = db_schema_version(d, &version, &err);
	db_close(d);
	if (rc) {
		int code = fail_cli(&err);
		bo_error_cleanup(&err);
		return code;
	}
	printf("database %s: %d migration(s) applied, schema version %d\n", cli->cfg->db_path, applied, version);
	return 0;
}

struct command {
	const char *group, *name; /* name NULL: a one-word command */
	int (*run)(struct cli *cli);
	db_cmd_fn db_fn;
	/* what a database command cannot do without, checked before the database is opened
	 * (a mistyped command must not create a new one): flags, and how many positionals */
	const char *const *needs;
	int npositional;
	const char *usage;
};

static const char *const needs_user_add[] = {"--name", "--email", NULL};

/* 0 when the command's required flags and positionals are there, else prints its usage
 * and returns EXIT_USAGE. */
static int check_needs(const struct cli *cli, const struct command *cmd)
{
	int ok = !cmd->npositional || positional(cli, cmd->npositional - 1);
	for (const char *const *f = cmd->needs; ok && f && *f; f++)
		ok = flag_value(cli, *f) != NULL;
	if (ok)
		return 0;
	fprintf(stderr, "usage: backoffice %s\n", cmd->usage ? cmd->usage : cmd->group);
	return EXIT_USAGE;
}

static int cmd_check_config(struct cli *cli)
{
	config_print(cli->cfg, stdout);
	printf("configuration ok\n");
	return 0;
}

/* `sandbox check`: exit 0 when the bubblewrap jail works here (tests and operators). */
static int cmd_sandbox_check(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	if (test_sandbox_check(cli->cfg, &err)) {
		printf("sandbox unavailable: %s\n", err.detail);
		bo_error_cleanup(&err);
		return 1;
	}
	printf("sandbox: the bubblewrap jail works (%s)\n", cli->cfg->bwrap_path);
	return 0;
}

static int cmd_env_example(struct cli *cli)
{
	(void)cli;
	config_print_env_example(stdout);
	return 0;
}

/* The route tables as text: what the README's endpoint list and the openapi test read. */
static int cmd_routes(struct cli *cli)
{
	(void)cli;
	for (size_t t = 0; t < routes_all_count; t++)
		for (size_t i = 0; i < routes_all[t]->count; i++) {
			const struct route *r = &routes_all[t]->routes[i];
			printf("%-6s %-40s %-9s %s\n", r->method, r->pattern,
			       r->auth == AUTH_ROLE_NONE ? "public" : auth_role_name(r->auth), r->summary);
		}
	return 0;
}

/* Creates the configured S3 bucket (an existing one is fine): first-time setup. */
static int cmd_create_bucket(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	if (strcmp(cli->cfg->storage, "s3")) {
		fprintf(stderr, "backoffice: storage is '%s'; create-bucket is for storage=s3\n", cli->cfg->storage);
		return EXIT_USAGE;
	}
	int rc = storage_s3_create_bucket(cli->cfg, &err);
	if (rc) {
		int code = fail_cli(&err);
		bo_error_cleanup(&err);
		return code;
	}
	printf("bucket %s ready at %s\n", cli->cfg->s3_bucket, cli->cfg->s3_endpoint);
	return 0;
}


/* ---------------------------------------------------------------- storage objects and import */

/* `storage put KEY FILE` and `storage ls [PREFIX]`: the configured storage by hand (what
 * an operator preparing an import, and the tests on S3, need). */
static int cmd_storage_put(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	storage *s = NULL;
	const char *key = positional(cli, 0), *file = positional(cli, 1);
	if (!key || !file) {
		fprintf(stderr, "usage: backoffice storage put KEY FILE\n");
		return EXIT_USAGE;
	}
	char sha[65] = "";
	const char *dot = strrchr(key, '.');
	const char *type = dot && !strcmp(dot, ".json") ? "application/json"
			   : dot && !strcmp(dot, ".yaml") ? "application/yaml"
							  : NULL;
	int rc = storage_open(&s, cli->cfg, &err);
	if (!rc)
		rc = storage_put_file(s, key, file, type, sha, &err);
	storage_free(s);
	if (!rc)
		printf("%s %s\n", sha, key);
	int code = rc ? fail_cli(&err) : 0;
	bo_error_cleanup(&err);
	return code;
}

static int print_key(void *ctx, const char *key, uint64_t size)
{
	(void)ctx;
	printf("%llu %s\n", (unsigned long long)size, key);
	return 0;
}

static int cmd_storage_ls(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	storage *s = NULL;
	char *after = NULL, *next = NULL;
	const char *prefix = positional(cli, 0);
	int rc = storage_open(&s, cli->cfg, &err);
	while (!rc) {
		rc = storage_list(s, prefix ? prefix : "", after, 1000, print_key, NULL, &next, &err);
		free(after);
		after = next;
		next = NULL;
		if (!after)
			break;
	}
	free(after);
	storage_free(s);
	int code = rc ? fail_cli(&err) : 0;
	bo_error_cleanup(&err);
	return code;
}

/* `import storage` / `import legacy DIR`: exit 0 when everything is adopted or unchanged,
 * 1 when there were conflicts (or a failure), 2 for usage errors. */
static int run_import(struct cli *cli, const char *dir)
{
	struct bo_error err = BO_ERROR_INIT;
	struct app *a = NULL;
	struct import_report r = {0};
	struct import_opts o = {.dry_run = has_flag(cli, "--dry-run"), .out = stdout, .progress = stderr};
	for (int i = 0; i < cli->nargs; i++)
		if (!strncmp(cli->args[i], "--", 2) && strcmp(cli->args[i], "--dry-run")) {
			fprintf(stderr, "backoffice import: unknown option '%s'\n", cli->args[i]);
			return EXIT_USAGE;
		}
	int rc = app_open(&a, cli->cfg, 0, &err);
	if (!rc)
		rc = dir ? import_legacy(a, dir, &o, &r, &err) : import_storage(a, &o, &r, &err);
	app_close(a);
	if (rc) {
		int code = fail_cli(&err);
		bo_error_cleanup(&err);
		return code;
	}
	printf("%simport: %d created, %d unchanged, %d conflicts, %d skipped (%d concepts)%s\n",
	       o.dry_run ? "(dry run) " : "", r.created, r.unchanged, r.conflicts, r.skipped, r.concepts,
	       o.dry_run ? "; nothing was written" : r.created ? "; a collection rebuild is queued" : "");
	return r.conflicts ? 1 : 0;
}

static int cmd_import_storage(struct cli *cli)
{
	for (int i = 0; i < cli->nargs; i++)
		if (strncmp(cli->args[i], "--", 2)) {
			fprintf(stderr, "usage: backoffice import storage [--dry-run]\n");
			return EXIT_USAGE;
		}
	if (0) {
		return EXIT_USAGE;
	}
	return run_import(cli, NULL);
}

static int cmd_import_legacy(struct cli *cli)
{
	const char *dir = NULL;
	int n = 0;
	for (int i = 0; i < cli->nargs; i++)
		if (strncmp(cli->args[i], "--", 2) && !n++)
			dir = cli->args[i];
	if (!dir || n != 1) {
		fprintf(stderr, "usage: backoffice import legacy DIR [--dry-run]\n");
		return EXIT_USAGE;
	}
	return run_import(cli, dir);
}

/* ---------------------------------------------------------------- validate and test */

/* Prints the error of an offline command; its exit status: 2 when the path could not be
 * used (offline.h), 1 otherwise. */
static int fail_offline(const char *cmd, struct bo_error *err)
{
	fprintf(stderr, "backoffice %s: %s\n", cmd, err->detail[0] ? err->detail : bo_error_title(err->code));
	int code = err->code == BO_EBADREQUEST ? EXIT_USAGE : 1;
	bo_error_cleanup(err);
	return code;
}

/* Exit 0 when every PATH is valid, 1 when one is not, 2 for usage errors. Several paths
 * share one process and one load of the rules (what CI over a whole collection wants). */
static int cmd_validate(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	int json = 0, io = 1, code = 0, npaths = 0;
	validator *v = NULL;
	cJSON *all = NULL;
	for (int i = 0; i < cli->nargs; i++) {
		if (!strcmp(cli->args[i], "--json"))
			json = 1;
		else if (!strcmp(cli->args[i], "--no-io-checks"))
			io = 0;
		else if (!strncmp(cli->args[i], "--", 2)) {
			fprintf(stderr, "backoffice validate: unknown option '%s'\n", cli->args[i]);
			return EXIT_USAGE;
		} else
			npaths++;
	}
	if (!npaths) {
		fprintf(stderr, "usage: backoffice validate PATH... [--json] [--no-io-checks]\n");
		return EXIT_USAGE;
	}
	if (offline_load_rules(&v, cli->cfg, &err)) {
		fail_offline("validate", &err);
		return 1;
	}
	all = npaths > 1 && json ? cJSON_CreateArray() : NULL;
	for (int i = 0; i < cli->nargs; i++) {
		const char *a = cli->args[i];
		cJSON *summary = NULL;
		if (!strncmp(a, "--", 2))
			continue;
		if (offline_validate(&summary, cli->cfg, v, a, io, &err)) {
			int rc = fail_offline("validate", &err);
			code = rc > code ? rc : code;
			continue;
		}
		if (!strcmp(validate_summary_status(summary), "failed") && code == 0)
			code = 1;
		if (all) {
			cJSON_AddItemToArray(all, summary);
		} else if (json) {
			print_json(summary); /* frees it */
		} else {
			validate_print_table(summary, stdout);
			cJSON_Delete(summary);
		}
	}
	if (all)
		print_json(all);
	validate_free(v);
	return code;
}

/* Exit 0 when static validation and every dynamic test passed (skipped formats do not
 * fail), 1 otherwise, 2 for usage errors. The worker runs exactly as in the server. */
static int cmd_test(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	const char *path = NULL, *only = NULL;
	int json = 0;
	validator *v = NULL;
	cJSON *result = NULL;
	for (int i = 0; i < cli->nargs; i++) {
		if (!strcmp(cli->args[i], "--json"))
			json = 1;
		else if (!strcmp(cli->args[i], "--weight-format") && i + 1 < cli->nargs)
			only = cli->args[++i];
		else if (!strncmp(cli->args[i], "--weight-format=", 16))
			only = cli->args[i] + 16;
		else if (!strncmp(cli->args[i], "--", 2) || path) {
			fprintf(stderr, "backoffice test: unexpected argument '%s'\n", cli->args[i]);
			return EXIT_USAGE;
		} else
			path = cli->args[i];
	}
	if (!path) {
		fprintf(stderr, "usage: backoffice test PATH [--weight-format F] [--json]\n");
		return EXIT_USAGE;
	}
	if (offline_load_rules(&v, cli->cfg, &err)) {
		fail_offline("test", &err);
		return 1;
	}
	int rc = offline_test(&result, cli->cfg, v, path, only, &err);
	validate_free(v);
	if (rc)
		return fail_offline("test", &err);
	int code = offline_test_passed(result) ? 0 : 1;
	if (json) {
		print_json(result); /* frees it */
	} else {
		offline_print_test(result, stdout);
		cJSON_Delete(result);
	}
	return code;
}

/* ---------------------------------------------------------------- retest */

#define RETEST_POLL_MS 250 /* the progress is redrawn at most 4 times a second */

static void retest_draw(const struct retest_progress *p, int total, int tty, int final)
{
	int finished = p->done + p->failed;
	if (tty) {
		char bar[41];
		int w = total ? (int)((long long)finished * 40 / total) : 40;
		for (int i = 0; i < 40; i++)
			bar[i] = i < w ? '#' : '.';
		bar[40] = '\0';
		fprintf(stderr, "\rretest [%s] %d/%d done, %d running, %d queued, %d failed\033[K%s", bar, finished, total,
			p->running, p->queued, p->failed, final ? "\n" : "");
	} else {
		fprintf(stderr, "retest: %d/%d done, %d running, %d queued, %d failed\n", finished, total, p->running,
			p->queued, p->failed);
	}
	fflush(stderr);
}

/* Queues the re-tests (retest_queue) and follows their runs until none is queued or
 * running. The CLI only enqueues: the server's runners (or `jobs run`) do the work,
 * within its max_test_workers slots. Exit 0, 1 on failure, 2 for usage or an unknown id. */
static int cmd_retest(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	struct app *a = NULL;
	sqlite3 *c = NULL;
	struct retest_result res = {0};
	struct retest_options o = {0};
	const char **targets = NULL;
	int dry = 0, wait = 1, code = 0, rc;
	targets = calloc((size_t)cli->nargs + 1, sizeof(*targets));
	if (!targets)
		return 1;
	for (int i = 0; i < cli->nargs; i++) {
		const char *x = cli->args[i];
		if (!strcmp(x, "--all"))
			o.all = 1;
		else if (!strcmp(x, "--dry-run"))
			dry = 1;
		else if (!strcmp(x, "--no-wait"))
			wait = 0;
		else if (!strcmp(x, "--weight-format") && i + 1 < cli->nargs)
			o.format = cli->args[++i];
		else if (!strncmp(x, "--weight-format=", 16))
			o.format = x + 16;
		else if (!strncmp(x, "--", 2)) {
			fprintf(stderr, "backoffice retest: unknown option '%s'\n", x);
			free(targets);
			return EXIT_USAGE;
		} else
			targets[o.ntargets++] = x;
	}
	if (!o.all == !o.ntargets || (o.format && !*o.format)) {
		fprintf(stderr, "usage: backoffice retest [--all | ID[/VERSION]...] [--weight-format F] [--dry-run] "
				"[--no-wait]\n");
		free(targets);
		return EXIT_USAGE;
	}
	o.targets = targets;
	o.dry_run = dry;
	rc = app_open(&a, cli->cfg, 0, &err);
	if (!rc)
		rc = db_acquire(a->db, &c, &err);
	if (!rc)
		rc = retest_queue(c, a->rules_version, &o, &res, &err);
	if (rc) {
		fprintf(stderr, "backoffice retest: %s\n", err.detail[0] ? err.detail : bo_error_title(err.code));
		code = err.code == BO_ENOTFOUND || err.code == BO_EBADREQUEST ? EXIT_USAGE : 1;
		goto out;
	}
	const cJSON *r;
	if (dry)
		cJSON_ArrayForEach(r, res.runs)
	printf("would queue %s/%s (%s): %s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")),
	       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "version")),
	       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "weight_format")),
	       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "reason")));
	printf("retest: %d %s (%d version%s; judge %s %s, %s), %d up to date, %d already queued", res.queued,
	       dry ? "would be queued" : "queued", res.versions, res.versions == 1 ? "" : "s", TEST_JOB_TOOL, BO_VERSION,
	       a->rules_version, res.up_to_date, res.pending);
	if (o.format && res.no_format)
		printf(", %d without %s weights", res.no_format, o.format);
	printf("\n");
	fflush(stdout);
	if (dry || !wait || !res.queued)
		goto out;
	int tty = isatty(STDERR_FILENO), total = cJSON_GetArraySize(res.runs);
	struct retest_progress p = {0}, last = {-1, -1, -1, -1};
	struct timespec nap = {0, RETEST_POLL_MS * 1000000L};
	time_t said = 0;
	for (;;) {
		rc = retest_progress_of(c, res.runs, &p, &err);
		if (rc) {
			code = fail_cli(&err);
			goto out;
		}
		int over = p.queued + p.running == 0;
		int changed = memcmp(&p, &last, sizeof(p)) != 0;
		/* a terminal is redrawn on every change; a log gets a line when it changed, at most every 5 s */
		if (over || (changed && (tty || time(NULL) - said >= 5))) {
			retest_draw(&p, total, tty, over);
			last = p;
			said = time(NULL);
		}
		if (over)
			break;
		nanosleep(&nap, NULL);
	}
	printf("retest: %d run(s) finished: %d passed or skipped, %d failed or error\n", p.done + p.failed, p.done,
	       p.failed);
out:
	if (c)
		db_release(a->db, c);
	app_close(a);
	retest_result_free(&res);
	bo_error_cleanup(&err);
	free(targets);
	return code;
}

static const struct command commands[] = {
	{"storage", "create-bucket", cmd_create_bucket, NULL, NULL, 0, NULL},
	{"storage", "put", cmd_storage_put, NULL, NULL, 0, NULL},
	{"storage", "ls", cmd_storage_ls, NULL, NULL, 0, NULL},
	{"import", "storage", cmd_import_storage, NULL, NULL, 0, NULL},
	{"import", "legacy", cmd_import_legacy, NULL, NULL, 0, NULL},
	{"sandbox", "check", cmd_sandbox_check, NULL, NULL, 0, NULL},
	{"routes", NULL, cmd_routes, NULL, NULL, 0, NULL},
	{"serve", NULL, cmd_serve, NULL, NULL, 0, NULL},
	{"migrate", NULL, cmd_migrate, NULL, NULL, 0, NULL},
	{"check-config", NULL, cmd_check_config, NULL, NULL, 0, NULL},
	{"env-example", NULL, cmd_env_example, NULL, NULL, 0, NULL},
	{"user", "add", NULL, user_add, needs_user_add, 0,
	 "user add --name N --email E [--role uploader|reviewer|admin] [--orcid O]"},
	{"user", "list", NULL, user_list, NULL, 0, NULL},
	{"user", "disable", NULL, user_disable, NULL, 1, "user disable EMAIL|ID"},
	{"users", "import", NULL, users_import, NULL, 1, "users import FILE"},
	{"token", "create", NULL, token_create, NULL, 1, "token create EMAIL|ID [--label L] [--partner TOOL|'*' | --worker]"},
	{"token", "revoke", NULL, token_revoke, NULL, 1, "token revoke ID|TOKEN"},
	{"jobs", "list", NULL, jobs_list_cmd, NULL, 0, NULL},
	{"jobs", "retry", NULL, jobs_retry_cmd, NULL, 1, "jobs retry N"},
	{"jobs", "run", NULL, jobs_run_cmd, NULL, 0, NULL},
	{"show", NULL, NULL, show_cmd, NULL, 1, "show ID[/draft|/events|/VERSION]"},
	{"validate", NULL, cmd_validate, NULL, NULL, 0, NULL},
	{"test", NULL, cmd_test, NULL, NULL, 0, NULL},
	{"rebuild", NULL, cmd_rebuild, NULL, NULL, 0, NULL},
	{"retest", NULL, cmd_retest, NULL, NULL, 0, NULL},
	{"backup", NULL, NULL, backup_cmd, NULL, 0, NULL},
};

int main(int argc, char **argv)
{
	struct bo_error err = BO_ERROR_INIT;
	struct cli cli = {0};
	enum log_level level;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	const struct command *cmd = NULL;
	int skip = 2;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].group, argv[1]))
			continue;
		if (!commands[i].name) {
			cmd = &commands[i];
			break;
		}
		if (argc > 2 && !strcmp(commands[i].name, argv[2])) {
			cmd = &commands[i];
			skip = 3;
			break;
		}
	}
	if (!cmd) {
		fprintf(stderr, "backoffice: unknown command '%s%s%s' (see backoffice --help)\n", argv[1],
			argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
		return EXIT_USAGE;
	}
	int rc = config_load(&cli.cfg, argc - skip, argv + skip, &cli.args, &cli.nargs, &err);
	if (rc) {
		int code = fail_cli(&err);
		bo_error_cleanup(&err);
		return code;
	}
	if (log_parse_level(cli.cfg->log_level, &level) == 0)
		log_set_level(level);
	/* validate needs no network; skipping libcurl's TLS setup keeps one run of it fast */
	if (cmd->run == cmd_validate || cmd->run == cmd_test) {
		rc = cmd->run(&cli);
	} else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "backoffice: cannot initialise libcurl\n");
		rc = 1;
	} else {
		rc = cmd->run ? cmd->run(&cli) : check_needs(&cli, cmd) ? EXIT_USAGE : with_db(&cli, cmd->db_fn);
		curl_global_cleanup();
	}
	free(cli.args);
	config_free(cli.cfg);
	return rc;
}

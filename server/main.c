/* main: the `backoffice` command — `serve` and the operator subcommands. Each
 * subcommand loads the same config table (defaults < BO_* env < --flags), opens what it
 * needs, and exits 0 on success, 1 on failure, 2 on a usage error. */
#include "app.h"
#include "archive.h"
#include "auth.h"
#include "collection.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "http.h"
#include "jobs.h"
#include "log.h"
#include "reviewers.h"
#include "routes.h"
#include "package.h"
#include "rdf.h"
#include "storage_s3.h"
#include "test_job.h"
#include "validate.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
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
		   "  sandbox check                       exit 0 when the bubblewrap jail for model code works here\n"
		   "  user add --name N --email E [--role uploader|reviewer|admin] [--orcid O]\n"
		   "  user list                           users as JSON\n"
		   "  user disable EMAIL|ID               disable a user and revoke their tokens\n"
		   "  users import FILE                   import reviewers (reviewers.json format)\n"
		   "  token create EMAIL|ID [--label L]   create a token (printed once)\n"
		   "  token revoke ID|TOKEN               revoke a token\n"
		   "  jobs list [--state S]               jobs as JSON, newest first\n"
		   "  jobs retry N                        re-queue a dead or failed job\n"
		   "  jobs run                            run ready jobs in the foreground until none is left\n"
		   "  rebuild [--reason R]                rebuild collection.json & co. from the database now\n"
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

/* The i-th positional argument (skipping flags and their values), or NULL. */
static const char *positional(const struct cli *cli, int want)
{
	int n = 0;
	for (int i = 0; i < cli->nargs; i++) {
		if (!strncmp(cli->args[i], "--", 2)) {
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
		rc = auth_token_create(c, uid, "bootstrap admin token", token, &tid, err);
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
		rc = jobs_start(a->jobs, (int)cli->cfg->job_runners, &err);
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
	struct auth_user u;
	char token[80];
	int64_t tid = 0;
	if (!who)
		return bo_error_set(err, BO_EBADREQUEST, "token create needs an email or user id");
	int rc = auth_user_get(c, who, &u, err);
	if (!rc)
		rc = auth_token_create(c, u.id, label ? label : "", token, &tid, err);
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
	int rc = db_open(&d, cli->cfg->db_path, NULL, &err);
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
};

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


/* ---- validate ------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* The rules: SCHEMA_DIR when it has them, else the schema/ next to the binary
 * (build/x/backoffice -> ../../schema), so the CLI works from any directory. */
static int load_validator(const struct config *cfg, validator **out, struct bo_error *err)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	struct stat st;
	snprintf(cand, sizeof(cand), "%s/rules", cfg->schema_dir);
	if (stat(cand, &st)) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			const char *dir = dirname(exe);
			const char *tries[] = {"../../schema", "../schema", "../share/backoffice/schema"};
			for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
				snprintf(cand, sizeof(cand), "%s/%s/rules", dir, tries[i]);
				if (!stat(cand, &st)) {
					snprintf(cand, sizeof(cand), "%s/%s", dir, tries[i]);
					return validate_load(out, cand, err);
				}
			}
		}
	}
	return validate_load(out, cfg->schema_dir, err);
}

/* Unpacks a zip into a new temp dir. *rdf_out: the RDF's path inside it (malloc'd). */
static int unpack_zip(const struct config *cfg, const char *zip, char *tmp, size_t tmplen,
		      char **rdf_out, struct bo_error *err)
{
	struct package_limits lim;
	package *p = NULL;
	const char *name;
	const char *base = getenv("TMPDIR");
	char path[PATH_MAX];
	int rc;
	package_limits_from_config(&lim, cfg);
	snprintf(tmp, tmplen, "%s/backoffice-validate-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp))
		return bo_error_set(err, BO_EINTERNAL, "cannot create a temp directory: %s", strerror(errno));
	rc = package_open(&p, zip, &lim, err);
	if (!rc)
		rc = package_find_rdf(p, &name, err);
	for (size_t i = 0; !rc && i < package_count(p); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", tmp, package_name(p, i)) >= sizeof(path)) {
			rc = bo_error_set(err, BO_EINVALIDPACKAGE, "entry name too long: %s", package_name(p, i));
			break;
		}
		for (char *s = path + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
			*s = '\0';
			if (mkdir(path, 0700) && errno != EEXIST)
				rc = bo_error_set(err, BO_EINTERNAL, "cannot create %s: %s", path, strerror(errno));
			*s = '/';
		}
		if (!rc)
			rc = package_extract(p, i, path, NULL, NULL, err);
	}
	if (!rc && asprintf(rdf_out, "%s/%s", tmp, name) < 0)
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
	package_close(p);
	return rc;
}

static int is_zip(const char *path)
{
	unsigned char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	return n == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

/* PATH: an RDF file (its directory is the package), a package directory (its RDF is
 * found as in an upload), or a zip. Returns 0 with *out, 1 when the package cannot be
 * validated (a bad zip is an invalid upload), 2 for usage errors; the reason is printed. */
/* keep (may be NULL): for `test`, which runs the worker on the package afterwards — the
 * RDF's path and the temp directory of an unpacked zip ("" when none) are handed over
 * and the caller removes keep->tmp. */
struct kept_package {
	char *rdf_path;
	char tmp[PATH_MAX];
};

static int validate_path(struct cli *cli, const validator *v, const char *path, int io, cJSON **out,
			 struct kept_package *keep)
{
	struct bo_error err = BO_ERROR_INIT;
	int code = 1;
	char tmp[PATH_MAX] = "", *rdf_path = NULL, *text = NULL, *dir = NULL;
	cJSON *summary = NULL;
	struct stat st;
	if (stat(path, &st)) {
		fprintf(stderr, "backoffice validate: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		const char *names[256];
		char *owned[256];
		size_t n = 0;
		const char *pick = NULL;
		struct dirent *de;
		while (d && (de = readdir(d)) && n < 256)
			if (de->d_name[0] != '.' && (owned[n] = strdup(de->d_name)))
				names[n] = owned[n], n++;
		if (d)
			closedir(d);
		if (rdf_find_name(names, n, &pick, &err) == 0 &&
		    asprintf(&rdf_path, "%s/%s", path, pick) < 0)
			rdf_path = NULL;
		for (size_t i = 0; i < n; i++)
			free(owned[i]);
		if (!rdf_path) {
			fprintf(stderr, "backoffice validate: %s: %s\n", path,
				err.detail[0] ? err.detail : "cannot read the directory");
			code = EXIT_USAGE;
			goto out;
		}
	} else if (is_zip(path)) {
		if (unpack_zip(cli->cfg, path, tmp, sizeof(tmp), &rdf_path, &err)) {
			fprintf(stderr, "backoffice validate: %s: %s\n", path, err.detail);
			code = err.code == BO_EINVALIDPACKAGE || err.code == BO_ETOOLARGE ? 1 : EXIT_USAGE;
			goto out;
		}
	} else if (!strncasecmp(path + (strlen(path) > 4 ? strlen(path) - 4 : 0), ".zip", 4)) {
		fprintf(stderr, "backoffice validate: %s: not a zip file\n", path);
		code = EXIT_USAGE;
		goto out;
	} else if (!(rdf_path = strdup(path))) {
		goto out;
	}
	size_t len = 0;
	int fd = open(rdf_path, O_RDONLY | O_CLOEXEC);
	struct stat rst;
	if (fd < 0 || fstat(fd, &rst) || !S_ISREG(rst.st_mode)) {
		fprintf(stderr, "backoffice validate: %s: %s\n", rdf_path, fd < 0 ? strerror(errno) : "not a file");
		if (fd >= 0)
			close(fd);
		code = EXIT_USAGE;
		goto out;
	}
	/* One byte over the limit is enough for the parser to report the limit. */
	size_t max = (size_t)cli->cfg->max_yaml_bytes + 1;
	text = malloc(max);
	ssize_t got = 0;
	while (text && len < max && (got = read(fd, text + len, max - len)) > 0)
		len += (size_t)got;
	close(fd);
	if (!text || got < 0) {
		fprintf(stderr, "backoffice validate: %s: cannot read\n", rdf_path);
		code = EXIT_USAGE;
		goto out;
	}
	char *dcopy = strdup(rdf_path);
	dir = dcopy ? strdup(dirname(dcopy)) : NULL;
	free(dcopy);
	struct validate_files files;
	struct rdf_limits lim;
	rdf_limits_from_config(&lim, cli->cfg);
	validate_files_dir(&files, dir ? dir : ".");
	struct validate_options opt = {.files = io ? &files : NULL, .source_name = path, .limits = &lim};
	if (validate_text(v, text, len, &opt, &summary, &err)) {
		fprintf(stderr, "backoffice validate: %s\n", err.detail);
		goto out;
	}
	*out = summary;
	summary = NULL;
	code = 0;
	if (keep) {
		keep->rdf_path = rdf_path;
		rdf_path = NULL;
		snprintf(keep->tmp, sizeof(keep->tmp), "%s", tmp);
		tmp[0] = '\0';
	}
out:
	if (tmp[0])
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	cJSON_Delete(summary);
	free(text);
	free(dir);
	free(rdf_path);
	bo_error_cleanup(&err);
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
	if (load_validator(cli->cfg, &v, &err)) {
		fprintf(stderr, "backoffice validate: %s\n", err.detail);
		bo_error_cleanup(&err);
		return 1;
	}
	all = npaths > 1 && json ? cJSON_CreateArray() : NULL;
	for (int i = 0; i < cli->nargs; i++) {
		const char *a = cli->args[i];
		cJSON *summary = NULL;
		if (!strncmp(a, "--", 2))
			continue;
		int rc = validate_path(cli, v, a, io, &summary, NULL);
		if (rc) {
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

/* ---- test ----------------------------------------------------------------------- */

static const char *status_mark(const char *status)
{
	return !strcmp(status, "passed") ? "✓" : !strcmp(status, "skipped") ? "–" : "✗";
}

/* One block per weight format, like `bioimageio test`: the run's verdict, then each
 * check with its first problems. */
static void print_tests_table(const cJSON *tests, FILE *f)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tests)
	{
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "status"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
		const cJSON *wall = cJSON_GetObjectItemCaseSensitive(t, "wall_ms");
		const cJSON *rss = cJSON_GetObjectItemCaseSensitive(t, "peak_rss_kb");
		fprintf(f, "\n%s %s: %s", status_mark(status ? status : "error"), name ? name : "dynamic test",
			status ? status : "error");
		if (cJSON_IsNumber(wall))
			fprintf(f, " (%.0f ms", wall->valuedouble);
		if (cJSON_IsNumber(wall) && cJSON_IsNumber(rss))
			fprintf(f, ", peak RSS %.0f MiB", rss->valuedouble / 1024);
		fprintf(f, "%s\n", cJSON_IsNumber(wall) ? ")" : "");
		const cJSON *d;
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(t, "details"))
		{
			const char *ds = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
			const char *dn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "name"));
			fprintf(f, "  %s %s\n", status_mark(ds ? ds : "error"), dn ? dn : "?");
			const cJSON *e;
			int shown = 0;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "errors"))
			{
				const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
				if (msg && shown++ < 5)
					fprintf(f, "      %s\n", msg);
			}
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "warnings"))
			{
				const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
				if (msg && shown++ < 5)
					fprintf(f, "      ⚠ %s\n", msg);
			}
		}
		const char *log = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "stderr"));
		if (log && *log)
			fprintf(f, "  worker log (end):\n%s%s", log, log[strlen(log) - 1] == '\n' ? "" : "\n");
	}
}

/* Exit 0 when static validation and every dynamic test passed (skipped formats do not
 * fail), 1 otherwise, 2 for usage errors. The worker runs exactly as in the server. */
static int cmd_test(struct cli *cli)
{
	struct bo_error err = BO_ERROR_INIT;
	struct kept_package keep = {0};
	const char *path = NULL, *only = NULL;
	int json = 0, code = 1;
	validator *v = NULL;
	rdf_doc *doc = NULL;
	cJSON *summary = NULL, *tests = NULL, *all = NULL;
	char *text = NULL, dir[PATH_MAX];
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
	if (load_validator(cli->cfg, &v, &err)) {
		fprintf(stderr, "backoffice test: %s\n", err.detail);
		goto out;
	}
	code = validate_path(cli, v, path, 1, &summary, &keep);
	if (code)
		goto out;
	code = 1;
	tests = cJSON_CreateArray();
	int static_ok = strcmp(validate_summary_status(summary), "failed") != 0;
	if (static_ok) {
		/* the weight formats, from the RDF the validator just accepted */
		size_t len = 0;
		struct rdf_limits lim;
		rdf_limits_from_config(&lim, cli->cfg);
		FILE *rf = fopen(keep.rdf_path, "r");
		size_t max = (size_t)cli->cfg->max_yaml_bytes;
		text = rf ? malloc(max + 1) : NULL;
		if (text)
			len = fread(text, 1, max, rf);
		if (rf)
			fclose(rf);
		if (!text || rdf_parse(&doc, text, len, &lim, &err)) {
			fprintf(stderr, "backoffice test: %s: %s\n", keep.rdf_path, err.detail[0] ? err.detail : "cannot read");
			code = EXIT_USAGE;
			goto out;
		}
		char *dcopy = strdup(keep.rdf_path);
		if (!dcopy || !realpath(dirname(dcopy), dir)) {
			fprintf(stderr, "backoffice test: %s: cannot resolve its directory\n", keep.rdf_path);
			free(dcopy);
			code = EXIT_USAGE;
			goto out;
		}
		free(dcopy);
		const char *slash = strrchr(keep.rdf_path, '/');
		const char *rdf_file = slash ? slash + 1 : keep.rdf_path;
		const cJSON *root = rdf_root(doc);
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "type"));
		const cJSON *w, *weights = NULL;
		int matched = 0;
		if (type && !strcmp(type, "model"))
			weights = cJSON_GetObjectItemCaseSensitive(root, "weights");
		cJSON_ArrayForEach(w, weights)
		{
			if (!w->string || cJSON_IsNull(w) || (only && strcmp(only, w->string)))
				continue;
			matched++;
			struct test_worker_request rq = {
				.cfg = cli->cfg, .package_dir = dir, .rdf_file = rdf_file, .weight_format = w->string,
			};
			cJSON *one = NULL;
			if (test_worker_run(&rq, &one, &err)) {
				fprintf(stderr, "backoffice test: %s\n", err.detail);
				goto out;
			}
			cJSON_AddItemToArray(tests, one);
		}
		if (only && !matched) {
			fprintf(stderr, "backoffice test: %s has no '%s' weights\n", path, only);
			code = EXIT_USAGE;
			goto out;
		}
	}
	int ok = static_ok;
	const cJSON *t;
	cJSON_ArrayForEach(t, tests)
	{
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "status"));
		if (!s || (strcmp(s, "passed") && strcmp(s, "skipped")))
			ok = 0;
	}
	code = ok ? 0 : 1;
	if (json) {
		all = cJSON_CreateObject();
		cJSON_AddStringToObject(all, "status", ok ? "passed" : "failed");
		cJSON_AddStringToObject(all, "source", path);
		cJSON_AddItemToObject(all, "validation", summary);
		cJSON_AddItemToObject(all, "tests", tests);
		summary = tests = NULL;
		print_json(all); /* frees it */
	} else {
		validate_print_table(summary, stdout);
		print_tests_table(tests, stdout);
		printf("\n%s %s: %s\n", ok ? "✓" : "✗", path, ok ? "passed" : "failed");
	}
out:
	if (keep.tmp[0])
		nftw(keep.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(keep.rdf_path);
	free(text);
	rdf_free(doc);
	cJSON_Delete(summary);
	cJSON_Delete(tests);
	validate_free(v);
	bo_error_cleanup(&err);
	return code;
}

static const struct command commands[] = {
	{"storage", "create-bucket", cmd_create_bucket, NULL},
	{"sandbox", "check", cmd_sandbox_check, NULL},
	{"routes", NULL, cmd_routes, NULL},
	{"serve", NULL, cmd_serve, NULL},
	{"migrate", NULL, cmd_migrate, NULL},
	{"check-config", NULL, cmd_check_config, NULL},
	{"env-example", NULL, cmd_env_example, NULL},
	{"user", "add", NULL, user_add},
	{"user", "list", NULL, user_list},
	{"user", "disable", NULL, user_disable},
	{"users", "import", NULL, users_import},
	{"token", "create", NULL, token_create},
	{"token", "revoke", NULL, token_revoke},
	{"jobs", "list", NULL, jobs_list_cmd},
	{"jobs", "retry", NULL, jobs_retry_cmd},
	{"jobs", "run", NULL, jobs_run_cmd},
	{"validate", NULL, cmd_validate, NULL},
	{"test", NULL, cmd_test, NULL},
	{"rebuild", NULL, cmd_rebuild, NULL},
	{"backup", NULL, NULL, backup_cmd},
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
		rc = cmd->run ? cmd->run(&cli) : with_db(&cli, cmd->db_fn);
		curl_global_cleanup();
	}
	free(cli.args);
	config_free(cli.cfg);
	return rc;
}

/* Unit tests for config: defaults, BO_* environment over defaults, flags over the
 * environment, both flag forms, size suffixes, range and choice errors that name the
 * option, unknown flags, and the values derived from data_dir/listen/port. */
#include "check.h"

#include "infra/config.h"
#include "common/error.h"

#include <stdint.h>

extern char **environ;

/* The BO_* environment of the process, taken away during a test and put back after. */
#define SAVED_MAX 64
static char *saved_env[SAVED_MAX];
static int nsaved;

static void env_clear(void)
{
	nsaved = 0;
	for (;;) {
		char *found = NULL;
		for (char **e = environ; *e; e++)
			if (!strncmp(*e, "BO_", 3) && strncmp(*e, "BO_SOURCE_DIR=", 14)) {
				found = *e;
				break;
			}
		if (!found)
			break;
		char *copy = strdup(found);
		char *eq = strchr(copy, '=');
		*eq = '\0';
		unsetenv(copy);
		*eq = '=';
		if (nsaved < SAVED_MAX)
			saved_env[nsaved++] = copy;
		else
			free(copy);
	}
}

/* Removes whatever the test set and puts the saved environment back. */
static void env_restore(void)
{
	env_clear();
	/* env_clear just saved the test's own variables: drop them */
	for (int i = 0; i < nsaved; i++)
		free(saved_env[i]);
	nsaved = 0;
}

static char *restore_list[SAVED_MAX];
static int nrestore;

static void env_begin(void)
{
	env_clear();
	for (int i = 0; i < nsaved; i++)
		restore_list[i] = saved_env[i];
	nrestore = nsaved;
	nsaved = 0;
}

static void env_end(void)
{
	env_restore();
	for (int i = 0; i < nrestore; i++) {
		char *eq = strchr(restore_list[i], '=');
		*eq = '\0';
		setenv(restore_list[i], eq + 1, 1);
		free(restore_list[i]);
	}
	nrestore = 0;
}

/* Loads argv (NULL-terminated list) with rest collection off; returns rc. */
static int load(struct config **cfg, struct bo_error *err, const char *const *args)
{
	int argc = 0;
	char *argv[32];
	while (args && args[argc] && argc < 31) {
		argv[argc] = (char *)(uintptr_t)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	*cfg = NULL;
	return config_load(cfg, argc, argv, NULL, NULL, err);
}

static int streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void test_config__defaults(void)
{
	env_begin();
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = load(&cfg, &err, NULL);
	check(rc == 0, "load: %s", err.detail);
	if (cfg) {
		check(streq(cfg->listen, "127.0.0.1"), "listen %s", cfg->listen);
		check(cfg->port == 8080, "port %lld", (long long)cfg->port);
		check(streq(cfg->data_dir, "var"), "data_dir %s", cfg->data_dir);
		check(streq(cfg->db_path, "var/backoffice.db"), "db_path %s", cfg->db_path);
		check(streq(cfg->storage_dir, "var/storage"), "storage_dir %s", cfg->storage_dir);
		check(streq(cfg->public_url, "http://127.0.0.1:8080"), "public_url %s", cfg->public_url);
		check(streq(cfg->migrations_dir, "migrations"), "migrations_dir %s", cfg->migrations_dir);
		check(streq(cfg->schema_dir, "schema"), "schema_dir %s", cfg->schema_dir);
		check(streq(cfg->storage, "fs"), "storage %s", cfg->storage);
		check(streq(cfg->log_level, "info"), "log_level %s", cfg->log_level);
		check(streq(cfg->s3_region, "us-east-1"), "s3_region %s", cfg->s3_region);
		check(streq(cfg->s3_endpoint, ""), "s3_endpoint %s", cfg->s3_endpoint);
		check(cfg->s3_path_style == 1, "s3_path_style");
		check(cfg->s3_part_size == 64 << 20, "s3_part_size %lld", (long long)cfg->s3_part_size);
		check(cfg->job_runners == 2, "job_runners");
		check(cfg->job_max_attempts == 5, "job_max_attempts");
		check(cfg->job_backoff_seconds == 2, "job_backoff_seconds");
		check(cfg->job_lease_seconds == 300, "job_lease_seconds");
		check(cfg->max_upload_bytes == INT64_C(4) << 30, "max_upload_bytes %lld",
		      (long long)cfg->max_upload_bytes);
		check(cfg->max_zip_total_bytes == INT64_C(16) << 30, "max_zip_total_bytes");
		check(cfg->max_zip_entries == 10000, "max_zip_entries");
		check(cfg->max_yaml_bytes == 4 << 20, "max_yaml_bytes %lld", (long long)cfg->max_yaml_bytes);
		check(cfg->max_json_body == 1 << 20, "max_json_body");
		check(cfg->max_header_bytes == 16 << 10, "max_header_bytes");
		check(cfg->max_drafts_per_user == 10, "max_drafts_per_user");
		check(cfg->fetch_timeout == 1800, "fetch_timeout");
	}
	config_free(cfg);
	bo_error_cleanup(&err);
	env_end();
}

static void test_config__env_over_defaults(void)
{
	env_begin();
	setenv("BO_PORT", "9000", 1);
	setenv("BO_DATA_DIR", "/srv/bo", 1);
	setenv("BO_MAX_UPLOAD_BYTES", "1G", 1);
	setenv("BO_S3_PATH_STYLE", "false", 1);
	setenv("BO_LOG_LEVEL", "debug", 1);
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = load(&cfg, &err, NULL);
	check(rc == 0, "load: %s", err.detail);
	if (cfg) {
		check(cfg->port == 9000, "port %lld", (long long)cfg->port);
		check(streq(cfg->data_dir, "/srv/bo"), "data_dir %s", cfg->data_dir);
		check(cfg->max_upload_bytes == INT64_C(1) << 30, "max_upload_bytes %lld",
		      (long long)cfg->max_upload_bytes);
		check(cfg->s3_path_style == 0, "s3_path_style");
		check(streq(cfg->log_level, "debug"), "log_level %s", cfg->log_level);
		check(streq(cfg->db_path, "/srv/bo/backoffice.db"), "db_path %s", cfg->db_path);
		check(streq(cfg->public_url, "http://127.0.0.1:9000"), "public_url %s", cfg->public_url);
	}
	config_free(cfg);
	bo_error_cleanup(&err);
	env_end();
}

/* The env file (the server unit's EnvironmentFile, which the CLI reads too): between the
 * defaults and the environment, quotes and comments as systemd reads them, others' keys
 * passed over, a misspelt BO_ key refused with its line, a named file that is missing
 * refused, --config read and not taken for an option. */
static void test_config__env_file(void)
{
	env_begin();
	FILE *f = fopen("bo.env", "w");
	require(f, "env file");
	fputs("# the server's settings\n\nBO_PORT=9100\nexport BO_DATA_DIR=\"/srv/from file\"\n"
	      "BO_PUBLIC_URL='https://bo.example.org'\nPATH_LIKE=ignored\n  BO_LOG_LEVEL=warn  \n",
	      f);
	fclose(f);
	setenv("BO_CONFIG_FILE", "bo.env", 1);
	setenv("BO_LOG_LEVEL", "debug", 1); /* the environment wins over the file */
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = load(&cfg, &err, NULL);
	check(rc == 0, "load: %s", err.detail);
	if (cfg) {
		check(cfg->port == 9100, "port %lld", (long long)cfg->port);
		check(streq(cfg->data_dir, "/srv/from file"), "data_dir %s", cfg->data_dir);
		check(streq(cfg->public_url, "https://bo.example.org"), "public_url %s", cfg->public_url);
		check(streq(cfg->log_level, "debug"), "the environment did not win: %s", cfg->log_level);
	}
	config_free(cfg);
	/* a flag wins over both; --config names another file and is no option of its own */
	f = fopen("other.env", "w");
	require(f, "other env file");
	fputs("BO_PORT=9200\n", f);
	fclose(f);
	static const char *const flags[] = {"--config", "other.env", "--job-runners=3", NULL};
	rc = load(&cfg, &err, flags);
	check(rc == 0, "load --config: %s", err.detail);
	if (cfg)
		check(cfg->port == 9200 && cfg->job_runners == 3, "--config other.env: port %lld", (long long)cfg->port);
	config_free(cfg);
	static const char *const none[] = {"--config=", NULL};
	rc = load(&cfg, &err, none);
	check(rc == 0 && cfg && cfg->port != 9100 && cfg->port != 9200, "--config= still read a file");
	config_free(cfg);
	/* a misspelt key: refused, naming the file and line */
	f = fopen("bad.env", "w");
	require(f, "bad env file");
	fputs("BO_PORT=9300\nBO_PUBLIC_ULR=https://typo.example.org\n", f);
	fclose(f);
	setenv("BO_CONFIG_FILE", "bad.env", 1);
	rc = load(&cfg, &err, NULL);
	check(rc == BO_EBADREQUEST && strstr(err.detail, "bad.env:2") && strstr(err.detail, "BO_PUBLIC_ULR"),
	      "a misspelt key: rc %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	config_free(cfg);
	setenv("BO_CONFIG_FILE", "no-such.env", 1);
	rc = load(&cfg, &err, NULL);
	check(rc == BO_EBADREQUEST && strstr(err.detail, "no-such.env"), "a named missing file: rc %d %s", rc, err.detail);
	bo_error_cleanup(&err);
	config_free(cfg);
	env_end();
}

static void test_config__flags_over_env(void)
{
	env_begin();
	setenv("BO_PORT", "9000", 1);
	setenv("BO_LISTEN", "10.0.0.1", 1);
	setenv("BO_JOB_RUNNERS", "7", 1);
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	const char *args[] = {"--port=9100", "--listen", "0.0.0.0", "--job-runners", "0", NULL};
	int rc = load(&cfg, &err, args);
	check(rc == 0, "load: %s", err.detail);
	if (cfg) {
		check(cfg->port == 9100, "port %lld (flag must beat env)", (long long)cfg->port);
		check(streq(cfg->listen, "0.0.0.0"), "listen %s", cfg->listen);
		check(cfg->job_runners == 0, "job_runners %lld", (long long)cfg->job_runners);
		check(streq(cfg->public_url, "http://0.0.0.0:9100"), "public_url %s", cfg->public_url);
	}
	config_free(cfg);
	bo_error_cleanup(&err);
	/* the last of repeated flags wins; the env value is untouched by a bad flag elsewhere */
	const char *args2[] = {"--port", "1", "--port=2", NULL};
	rc = load(&cfg, &err, args2);
	check(rc == 0 && cfg && cfg->port == 2, "repeated flag: rc %d", rc);
	config_free(cfg);
	bo_error_cleanup(&err);
	env_end();
}

static void expect_size(const char *flag_value, int64_t want)
{
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	char arg[128];
	snprintf(arg, sizeof(arg), "--max-json-body=%s", flag_value);
	const char *args[] = {arg, NULL};
	int rc = load(&cfg, &err, args);
	check(rc == 0, "%s: %s", arg, err.detail);
	if (cfg)
		check(cfg->max_json_body == want, "%s gave %lld, want %lld", arg, (long long)cfg->max_json_body,
		      (long long)want);
	config_free(cfg);
	bo_error_cleanup(&err);
}

static void expect_error(const char *const *args, int code, const char *const *parts)
{
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = load(&cfg, &err, args);
	check(rc == code, "%s: rc %d, want %d", args[0], rc, code);
	check(cfg == NULL, "%s: cfg set on error", args[0]);
	check(err.code == code, "%s: err.code %d", args[0], err.code);
	for (int i = 0; parts && parts[i]; i++)
		check(strstr(err.detail, parts[i]) != NULL, "%s: detail '%s' lacks '%s'", args[0], err.detail,
		      parts[i]);
	config_free(cfg);
	bo_error_cleanup(&err);
}

static void test_config__sizes(void)
{
	env_begin();
	expect_size("100", 100);
	expect_size("512K", 512 << 10);
	expect_size("512k", 512 << 10);
	expect_size("3M", 3 << 20);
	expect_size("8MiB", 8 << 20);
	expect_size("1G", INT64_C(1) << 30);
	expect_size("2KB", 2048);
	{
		struct config *cfg = NULL;
		struct bo_error err = BO_ERROR_INIT;
		const char *args[] = {"--max-upload-bytes=7G", NULL};
		check(load(&cfg, &err, args) == 0, "7G: %s", err.detail);
		if (cfg)
			check(cfg->max_upload_bytes == INT64_C(7) << 30, "7G gave %lld",
			      (long long)cfg->max_upload_bytes);
		config_free(cfg);
		bo_error_cleanup(&err);
	}
	const char *bad_suffix[] = {"--max-json-body=5X", NULL};
	const char *bad_suffix_parts[] = {"max_json_body", "5X", "size", NULL};
	expect_error(bad_suffix, BO_EBADREQUEST, bad_suffix_parts);
	const char *trailing[] = {"--max-json-body=5Mx", NULL};
	expect_error(trailing, BO_EBADREQUEST, bad_suffix_parts + 2);
	const char *empty[] = {"--max-json-body=", NULL};
	expect_error(empty, BO_EBADREQUEST, NULL);
	/* an integer option takes no suffix */
	const char *int_suffix[] = {"--port=8K", NULL};
	const char *int_suffix_parts[] = {"port", "integer", "8K", NULL};
	expect_error(int_suffix, BO_EBADREQUEST, int_suffix_parts);
	/* overflow of the multiplication is an error, not a wrap */
	const char *huge[] = {"--max-upload-bytes=99999999999999G", NULL};
	expect_error(huge, BO_EBADREQUEST, NULL);
	const char *huge2[] = {"--max-upload-bytes=99999999999999999999", NULL};
	expect_error(huge2, BO_EBADREQUEST, NULL);
	env_end();
}

static void test_config__negative_values(void)
{
	env_begin();
	/* negative sizes must be range errors (and must not shift a negative number) */
	const char *neg_size[] = {"--max-json-body=-1K", NULL};
	const char *neg_size_parts[] = {"max_json_body", NULL};
	expect_error(neg_size, BO_EBADREQUEST, neg_size_parts);
	const char *neg_shift[] = {"--max-json-body=-1<<3", NULL};
	expect_error(neg_shift, BO_EBADREQUEST, neg_size_parts);
	const char *neg_port[] = {"--port=-1", NULL};
	const char *neg_port_parts[] = {"port", "between 0 and 65535", "-1", NULL};
	expect_error(neg_port, BO_EBADREQUEST, neg_port_parts);
	env_end();
}

static void test_config__range_errors(void)
{
	env_begin();
	const char *port[] = {"--port=70000", NULL};
	const char *port_parts[] = {"command line", "port", "between 0 and 65535", "70000", NULL};
	expect_error(port, BO_EBADREQUEST, port_parts);
	const char *part[] = {"--s3-part-size=1M", NULL};
	const char *part_parts[] = {"s3_part_size", "between 5242880 and 5368709120", NULL};
	expect_error(part, BO_EBADREQUEST, part_parts);
	const char *runners[] = {"--job-runners", "65", NULL};
	const char *runners_parts[] = {"job_runners", "between 0 and 64", NULL};
	expect_error(runners, BO_EBADREQUEST, runners_parts);
	const char *boolv[] = {"--s3-path-style=maybe", NULL};
	const char *bool_parts[] = {"s3_path_style", "0 or 1", "maybe", NULL};
	expect_error(boolv, BO_EBADREQUEST, bool_parts);
	/* an env error names the variable as its source */
	setenv("BO_PORT", "99999", 1);
	const char *none[] = {NULL};
	const char *env_parts[] = {"BO_PORT", "between 0 and 65535", NULL};
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = load(&cfg, &err, none);
	check(rc == BO_EBADREQUEST, "env range: rc %d", rc);
	for (int i = 0; env_parts[i]; i++)
		check(strstr(err.detail, env_parts[i]) != NULL, "detail '%s' lacks '%s'", err.detail, env_parts[i]);
	config_free(cfg);
	bo_error_cleanup(&err);
	/* a good flag does not rescue a bad env value: the env is read first and refused */
	const char *fix[] = {"--port=1", NULL};
	rc = load(&cfg, &err, fix);
	check(rc == BO_EBADREQUEST, "bad env + good flag: rc %d", rc);
	config_free(cfg);
	bo_error_cleanup(&err);
	env_end();
}

static void test_config__bad_choice(void)
{
	env_begin();
	const char *st[] = {"--storage=ftp", NULL};
	const char *st_parts[] = {"storage", "fs", "s3", "ftp", NULL};
	expect_error(st, BO_EBADREQUEST, st_parts);
	/* a prefix or substring of the choice list is not a choice */
	const char *sub[] = {"--storage=f", NULL};
	const char *sub_parts[] = {"storage", "'f'", NULL};
	expect_error(sub, BO_EBADREQUEST, sub_parts);
	const char *pipe[] = {"--storage=fs|s3", NULL};
	expect_error(pipe, BO_EBADREQUEST, NULL);
	const char *lvl[] = {"--log-level=verbose", NULL};
	const char *lvl_parts[] = {"log_level", "verbose", NULL};
	expect_error(lvl, BO_EBADREQUEST, lvl_parts);
	env_end();
}

static void test_config__s3_needs_endpoint(void)
{
	env_begin();
	const char *no_ep[] = {"--storage=s3", "--s3-bucket=b", "--s3-access-key=ak", "--s3-secret-key=sk", NULL};
	const char *no_ep_parts[] = {"s3_endpoint", NULL};
	expect_error(no_ep, BO_EBADREQUEST, no_ep_parts);
	const char *no_bucket[] = {"--storage=s3", "--s3-endpoint=http://127.0.0.1:9000", "--s3-access-key=ak",
				   "--s3-secret-key=sk", NULL};
	const char *no_bucket_parts[] = {"s3_bucket", NULL};
	expect_error(no_bucket, BO_EBADREQUEST, no_bucket_parts);
	const char *bad_scheme[] = {"--storage=s3", "--s3-endpoint=ftp://h", "--s3-bucket=b", "--s3-access-key=ak",
				    "--s3-secret-key=sk", NULL};
	const char *bad_scheme_parts[] = {"s3_endpoint", "http://", NULL};
	expect_error(bad_scheme, BO_EBADREQUEST, bad_scheme_parts);

	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	const char *ok[] = {"--storage=s3", "--s3-endpoint=https://s3.example.org", "--s3-bucket=b",
			    "--s3-access-key=ak", "--s3-secret-key=sk", NULL};
	int rc = load(&cfg, &err, ok);
	check(rc == 0, "complete s3: %s", err.detail);
	if (cfg) {
		check(streq(cfg->storage, "s3"), "storage %s", cfg->storage);
		check(streq(cfg->s3_endpoint, "https://s3.example.org"), "endpoint %s", cfg->s3_endpoint);
		/* check-config must not print the secret */
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		require(f, "open_memstream");
		config_print(cfg, f);
		fclose(f);
		check(text && strstr(text, "s3_access_key") && strstr(text, "ak"), "print lacks the access key");
		check(text && !strstr(text, "= sk"), "print shows the secret: %s", text);
		free(text);
	}
	config_free(cfg);
	bo_error_cleanup(&err);
	env_end();
}

static void test_config__unknown_and_positional(void)
{
	env_begin();
	const char *unk[] = {"--no-such-option=1", NULL};
	const char *unk_parts[] = {"--no-such-option", NULL};
	expect_error(unk, BO_EBADREQUEST, unk_parts);
	const char *pos[] = {"stray", NULL};
	const char *pos_parts[] = {"stray", NULL};
	expect_error(pos, BO_EBADREQUEST, pos_parts);
	const char *novalue[] = {"--port", NULL};
	const char *novalue_parts[] = {"--port", "value", NULL};
	expect_error(novalue, BO_EBADREQUEST, novalue_parts);
	/* underscores are not the flag spelling */
	const char *underscore[] = {"--data_dir=x", NULL};
	expect_error(underscore, BO_EBADREQUEST, NULL);

	/* with rest_out, unknown flags and positionals are collected in order */
	char *argv[] = {"--port=81", "positional", "--sub-flag", "--data-dir", "d", "--x=y", "last", NULL};
	char **rest = NULL;
	int nrest = -1;
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	int rc = config_load(&cfg, 7, argv, &rest, &nrest, &err);
	check(rc == 0, "collect: %s", err.detail);
	if (rc == 0) {
		check(cfg->port == 81, "port %lld", (long long)cfg->port);
		check(streq(cfg->data_dir, "d"), "data_dir %s", cfg->data_dir);
		require(nrest == 4, "nrest %d, want 4", nrest);
		check(rest[0] == argv[1], "rest[0] %s", rest[0]);
		check(rest[1] == argv[2], "rest[1] %s", rest[1]);
		check(rest[2] == argv[5], "rest[2] %s", rest[2]);
		check(rest[3] == argv[6], "rest[3] %s", rest[3]);
		check(rest[4] == NULL, "rest not NULL-terminated");
	}
	free(rest);
	config_free(cfg);
	bo_error_cleanup(&err);
	/* a collecting load that fails leaks nothing and leaves rest_out alone */
	char *bad[] = {"x", "--port=abc", NULL};
	rest = NULL;
	cfg = NULL;
	rc = config_load(&cfg, 2, bad, &rest, &nrest, &err);
	check(rc == BO_EBADREQUEST && rest == NULL && cfg == NULL, "collect with bad value: rc %d", rc);
	bo_error_cleanup(&err);
	env_end();
}

static void test_config__derived(void)
{
	env_begin();
	struct config *cfg = NULL;
	struct bo_error err = BO_ERROR_INIT;
	const char *args[] = {"--data-dir=/data/bo", "--listen=192.168.1.5", "--port=4321", NULL};
	int rc = load(&cfg, &err, args);
	check(rc == 0, "load: %s", err.detail);
	if (cfg) {
		check(streq(cfg->db_path, "/data/bo/backoffice.db"), "db_path %s", cfg->db_path);
		check(streq(cfg->storage_dir, "/data/bo/storage"), "storage_dir %s", cfg->storage_dir);
		check(streq(cfg->public_url, "http://192.168.1.5:4321"), "public_url %s", cfg->public_url);
	}
	config_free(cfg);
	bo_error_cleanup(&err);

	/* explicit values are kept, and public_url loses trailing slashes */
	const char *args2[] = {"--data-dir=/data/bo", "--db-path=/elsewhere/x.db", "--storage-dir=/st",
			       "--public-url=https://bo.example.org//", NULL};
	rc = load(&cfg, &err, args2);
	check(rc == 0, "load: %s", err.detail);
	if (cfg) {
		check(streq(cfg->db_path, "/elsewhere/x.db"), "db_path %s", cfg->db_path);
		check(streq(cfg->storage_dir, "/st"), "storage_dir %s", cfg->storage_dir);
		check(streq(cfg->public_url, "https://bo.example.org"), "public_url %s", cfg->public_url);
	}
	config_free(cfg);
	bo_error_cleanup(&err);
	config_free(NULL);
	env_end();
}

static void test_config__usage_lists_every_flag(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	require(f, "open_memstream");
	config_usage(f);
	fclose(f);
	const char *want[] = {"--listen", "BO_LISTEN", "--port", "--data-dir", "BO_DATA_DIR", "--s3-part-size",
			      "--max-upload-bytes", "BO_MAX_UPLOAD_BYTES", "--job-backoff-seconds", NULL};
	for (int i = 0; want[i]; i++)
		check(text && strstr(text, want[i]), "usage lacks %s", want[i]);
	/* defaults written as limits.h expressions are shown as numbers */
	check(text && strstr(text, "4294967296"), "usage does not show max_upload_bytes as a number");
	free(text);

	text = NULL;
	len = 0;
	f = open_memstream(&text, &len);
	require(f, "open_memstream");
	config_print_env_example(f);
	fclose(f);
	check(text && strstr(text, "#BO_PORT=8080"), "env example lacks #BO_PORT=8080");
	check(text && strstr(text, "#BO_STORAGE=fs"), "env example lacks #BO_STORAGE=fs");
	free(text);
}

static struct check_test tests[] = {
	TEST(test_config__defaults),
	TEST(test_config__env_over_defaults),
	TEST(test_config__env_file),
	TEST(test_config__flags_over_env),
	TEST(test_config__sizes),
	TEST(test_config__negative_values),
	TEST(test_config__range_errors),
	TEST(test_config__bad_choice),
	TEST(test_config__s3_needs_endpoint),
	TEST(test_config__unknown_and_positional),
	TEST(test_config__derived),
	TEST(test_config__usage_lists_every_flag),
};

int main(int argc, char **argv) { return check_run(argc, argv, tests, sizeof tests / sizeof *tests); }

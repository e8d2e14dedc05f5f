/* config: options are rows of one table (name, type, default, range, env var, help);
 * parsing, range checks, help, check-config and the example env file are all
 * driven by it, so they cannot disagree. */
#include "infra/config.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/rdf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { OPT_STR, OPT_INT, OPT_SIZE, OPT_BOOL };

struct option_row {
	const char *name; /* flag --name (underscores become dashes), env BO_NAME */
	enum opt_type type;
	size_t offset;
	const char *def;
	int64_t min, max;
	const char *choices; /* "|a|b|" for enumerated strings, NULL otherwise */
	const char *help;
};

#define S(f) OPT_STR, offsetof(struct config, f)
#define I(f) OPT_INT, offsetof(struct config, f)
#define Z(f) OPT_SIZE, offsetof(struct config, f)
#define B(f) OPT_BOOL, offsetof(struct config, f)
#define STR2(x) #x
#define STR(x) STR2(x)

static const struct option_row options[] = {
	{"listen", S(listen), "127.0.0.1", 0, 0, NULL, "address the HTTP server binds"},
	{"port", I(port), "8080", 0, 65535, NULL, "TCP port (0 = pick a free one and log it)"},
	{"public_url", S(public_url), "", 0, 0, NULL,
	 "base URL for links in responses and collection files (default http://LISTEN:PORT)"},
	{"data_dir", S(data_dir), "var", 0, 0, NULL, "directory for the database, incoming uploads and the admin token"},
	{"db_path", S(db_path), "", 0, 0, NULL, "SQLite database file (default DATA_DIR/backoffice.db)"},
	{"migrations_dir", S(migrations_dir), "migrations", 0, 0, NULL, "directory of NNNN_name.sql migrations"},
	{"schema_dir", S(schema_dir), "schema", 0, 0, NULL, "directory of openapi.yaml, id_parts.json and validation rules"},
	{"static_dir", S(static_dir), "static", 0, 0, NULL, "directory of the web pages"},
	{"vendor_dir", S(vendor_dir), "build/deps/npm/node_modules", 0, 0, NULL,
	 "node_modules holding the pages' libraries marked and DOMPurify (make deps-web installs them there); /static/vendor/ serves their two browser files"},
	{"history_dir", S(history_dir), "", 0, 0, NULL, "git repository of collection.json history (default DATA_DIR/collection.git)"},
	{"files_url", S(files_url), "", 0, 0, NULL,
	 "base URL of stored objects in collection.json & co. (default PUBLIC_URL/files; e.g. the bucket's public URL)"},
	{"log_level", S(log_level), "info", 0, 0, "|error|warn|info|debug|", "error, warn, info or debug"},
	{"http_threads_max", I(http_threads_max), "256", 1, 10000, NULL, "concurrent HTTP connections"},
	{"http_per_ip_max", I(http_per_ip_max), "32", 0, 10000, NULL,
	 "concurrent HTTP connections from one client address (0 = no limit), so slow clients from one address cannot take every connection"},
	{"http_header_timeout", I(http_header_timeout), "20", 1, 600, NULL,
	 "seconds from connecting to the end of the first request's headers (408 after; trickled bytes do not extend it)"},
	{"storage", S(storage), "fs", 0, 0, "|fs|s3|", "storage backend: fs (local directory) or s3"},
	{"storage_dir", S(storage_dir), "", 0, 0, NULL, "root of the fs backend (default DATA_DIR/storage)"},
	{"s3_endpoint", S(s3_endpoint), "", 0, 0, NULL, "S3 endpoint URL, e.g. https://s3.example.org"},
	{"s3_region", S(s3_region), "us-east-1", 0, 0, NULL, "S3 region used in signatures"},
	{"s3_bucket", S(s3_bucket), "", 0, 0, NULL, "S3 bucket"},
	{"s3_access_key", S(s3_access_key), "", 0, 0, NULL, "S3 access key id"},
	{"s3_secret_key", S(s3_secret_key), "", 0, 0, NULL, "S3 secret access key"},
	{"s3_prefix", S(s3_prefix), "", 0, 0, NULL, "key prefix inside the bucket (may be empty)"},
	{"s3_path_style", B(s3_path_style), "1", 0, 1, NULL, "1 = http://host/bucket/key, 0 = http://bucket.host/key"},
	{"s3_part_size", Z(s3_part_size), "64M", 5 << 20, INT64_C(5) << 30, NULL, "multipart upload part size (5 MiB to 5 GiB)"},
	{"s3_retries", I(s3_retries), "4", 0, 20, NULL, "retries on 5xx and timeouts before storage-unavailable"},
	{"s3_timeout", I(s3_timeout), "60", 1, 3600, NULL, "seconds without progress before an S3 request fails"},
	{"job_runners", I(job_runners), "2", 0, 64, NULL, "job runner threads in the server (0 = none)"},
	{"job_lease_seconds", I(job_lease_seconds), "300", 5, 86400, NULL, "how long a claimed job is held before it counts as abandoned"},
	{"job_max_attempts", I(job_max_attempts), "5", 1, 100, NULL, "attempts before a job is dead"},
	{"job_backoff_seconds", I(job_backoff_seconds), "2", 0, 3600, NULL, "base of the exponential retry backoff"},
	{"max_upload_bytes", Z(max_upload_bytes), STR(LIMIT_UPLOAD_BYTES), 1, INT64_MAX, NULL, "largest upload body (413)"},
	{"max_zip_entries", I(max_zip_entries), STR(LIMIT_ZIP_ENTRIES), 1, 10000000, NULL, "most entries in a package zip (413)"},
	{"max_zip_total_bytes", Z(max_zip_total_bytes), STR(LIMIT_ZIP_TOTAL_BYTES), 1, INT64_MAX, NULL, "largest total uncompressed size of a package (413)"},
	{"max_zip_ratio", I(max_zip_ratio), STR(LIMIT_ZIP_RATIO), 2, 100000, NULL, "highest compression ratio of an entry over 1 MiB (413)"},
	{"max_yaml_bytes", Z(max_yaml_bytes), STR(LIMIT_YAML_BYTES), 1, INT64_C(1) << 30, NULL, "largest RDF file (422)"},
	{"max_yaml_depth", I(max_yaml_depth), STR(LIMIT_YAML_DEPTH), 2, 10000, NULL, "deepest RDF nesting (422)"},
	{"max_yaml_nodes", I(max_yaml_nodes), STR(LIMIT_YAML_NODES), 10, 100000000, NULL, "most nodes in an RDF (422)"},
	{"max_yaml_scalar_bytes", Z(max_yaml_scalar_bytes), STR(LIMIT_YAML_SCALAR_BYTES), 16, INT64_C(1) << 30, NULL, "longest RDF scalar (422)"},
	{"max_yaml_alias_budget", I(max_yaml_alias_budget), STR(LIMIT_YAML_ALIAS_BUDGET), 0, 100000000, NULL, "nodes that alias expansion may add (422)"},
	{"max_json_body", Z(max_json_body), STR(LIMIT_JSON_BODY), 16, INT64_C(1) << 30, NULL, "largest JSON request body (413)"},
	{"max_header_bytes", Z(max_header_bytes), STR(LIMIT_HEADER_BYTES), 1024, 1 << 20, NULL, "largest total of request headers (431)"},
	{"max_drafts_per_user", I(max_drafts_per_user), STR(LIMIT_DRAFTS_PER_USER), 1, 1000000, NULL, "drafts in flight per uploader (429)"},
	{"max_image_pixels", I(max_image_pixels), STR(LIMIT_IMAGE_PIXELS), 1, INT64_C(1) << 40, NULL,
	 "largest width x height of a cover or icon that gets a thumbnail (bigger: a warning, no thumbnail)"},
	{"fetch_allow_private", B(fetch_allow_private), "0", 0, 1, NULL,
	 "1 = package URLs may point at loopback, private and link-local addresses (tests, intranets)"},
	{"fetch_timeout", I(fetch_timeout), STR(LIMIT_FETCH_TOTAL_SECONDS), 1, 86400, NULL, "seconds to fetch a package given by URL"},
	{"worker_path", S(worker_path), "", 0, 0, NULL,
	 "the backoffice-worker binary for dynamic tests (default: next to the backoffice binary)"},
	{"onnxruntime_lib", S(onnxruntime_lib), "", 0, 0, NULL,
	 "libonnxruntime.so.1 the worker loads for onnx weights (default: ../deps/npm/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 from the worker binary's directory, where make deps-onnx installs it)"},
	{"python", S(python), "/usr/bin/python3", 0, 0, NULL, "Python with torch, for pytorch_state_dict weights"},
	{"test_timeout", I(test_timeout), "600", 1, 86400, NULL, "seconds a dynamic test may run before it is killed (an error run)"},
	{"test_memory", Z(test_memory), "4G", 64 << 20, INT64_MAX, NULL, "address space of a test worker (RLIMIT_AS)"},
	{"test_cpu_seconds", I(test_cpu_seconds), "600", 1, 86400, NULL, "CPU seconds of a test worker (RLIMIT_CPU)"},
	{"max_test_workers", I(max_test_workers), "1", 1, 64, NULL, "dynamic tests running at once in the server"},
	{"retest_on_change", B(retest_on_change), "1", 0, 1, NULL,
	 "1 = at start (and when a run reports a new runtime version) the server re-tests the published versions whose latest runs were judged by another worker, runtime or rule set"},
	{"retest_max_queued", I(retest_max_queued), "100", 1, 100000, NULL,
	 "most re-test jobs the automatic re-test keeps queued at once (the rest are queued later)"},
	{"test_runner", S(test_runner), "local", 0, 0, "|local|lease|slurm|",
	 "local = the server's job runners run dynamic tests in their jail; lease = test jobs wait for backoffice-worker --lease processes (worker tokens) that lease them over HTTP; slurm = the server submits one Slurm batch job per test job, which runs backoffice-worker --lease --once for that job"},
	{"slurm_partition", S(slurm_partition), "", 0, 0, NULL, "sbatch --partition of the test jobs (empty: the cluster's default partition; test_runner=slurm)"},
	{"slurm_account", S(slurm_account), "", 0, 0, NULL, "sbatch --account the test jobs are charged to (empty: the user's default)"},
	{"slurm_time", I(slurm_time), "30", 1, 10080, NULL, "sbatch --time of a test job, in minutes"},
	{"slurm_gres", S(slurm_gres), "", 0, 0, NULL, "sbatch --gres of a test job, e.g. gpu:1 (empty: none)"},
	{"slurm_sbatch", S(slurm_sbatch), "sbatch", 0, 0, NULL, "the sbatch command (a path, or a name looked up in PATH)"},
	{"slurm_squeue", S(slurm_squeue), "squeue", 0, 0, NULL, "the squeue command"},
	{"slurm_scancel", S(slurm_scancel), "scancel", 0, 0, NULL, "the scancel command"},
	{"slurm_sacct", S(slurm_sacct), "sacct", 0, 0, NULL,
	 "the sacct command, asked for the final state of an ended job (without slurmdbd it fails and the server asks scontrol)"},
	{"slurm_scontrol", S(slurm_scontrol), "scontrol", 0, 0, NULL, "the scontrol command (final state when sacct has no accounting)"},
	{"slurm_url", S(slurm_url), "", 0, 0, NULL,
	 "the URL the worker in a Slurm job reaches this server at (default: public_url)"},
	{"slurm_worker", S(slurm_worker), "", 0, 0, NULL,
	 "the backoffice-worker binary on the Slurm nodes (default: backoffice-worker next to the backoffice binary)"},
	{"slurm_capabilities", S(slurm_capabilities), "", 0, 0, NULL,
	 "a capabilities JSON file on the Slurm nodes, passed as backoffice-worker --capabilities (empty: the worker detects its node's runtimes)"},
	{"slurm_log_dir", S(slurm_log_dir), "", 0, 0, NULL,
	 "where the nodes write each Slurm job's output (sbatch --output; default DATA_DIR/slurm/logs; on a cluster a shared directory)"},
	{"worker_lease_seconds", I(worker_lease_seconds), "60", 2, 3600, NULL,
	 "how long a lease worker holds a test job without a heartbeat before it goes back to the queue (test_runner=lease)"},
	{"sandbox", S(sandbox), "bwrap", 0, 0, "|bwrap|none|",
	 "bwrap = uploaded model code runs only in the bubblewrap jail (a test run is an error 'sandbox unavailable' where the kernel refuses it); none = the operator accepts running it UNCONFINED with the server's rights"},
	{"bwrap_path", S(bwrap_path), "/usr/bin/bwrap", 0, 0, NULL, "bubblewrap (Debian package bubblewrap), which makes the jail"},
	{"sandbox_uid", I(sandbox_uid), "65534", 1, 4294967294LL, NULL, "uid a server running as root gives the jail (never 0)"},
	{"sandbox_gid", I(sandbox_gid), "65534", 1, 4294967294LL, NULL, "gid a server running as root gives the jail (never 0)"},
	{"test_processes", I(test_processes), "128", 8, 65536, NULL, "processes and threads a test worker may have at once, inside the jail"},
	{"test_scratch", Z(test_scratch), "1G", 1 << 20, INT64_MAX, NULL,
	 "size of a test worker's writable /tmp (tmpfs, in memory) and most bytes it may leave in its output directory"},
	{"test_fault", S(test_fault), "", 0, 0, "||segfault|sleep|alloc|",
	 "tests only: a fault the worker injects (the server also sets BO_WORKER_FAULTS=1 for the worker)"},
	{"smtp_url", S(smtp_url), "", 0, 0, NULL,
	 "mail server, smtp://host:port or smtps://host:port (empty = mails are written as files under DATA_DIR/mail/)"},
	{"smtp_user", S(smtp_user), "", 0, 0, NULL, "SMTP AUTH user (empty = no AUTH)"},
	{"smtp_password", S(smtp_password), "", 0, 0, NULL, "SMTP AUTH password"},
	{"smtp_starttls", B(smtp_starttls), "0", 0, 1, NULL, "1 = require STARTTLS on an smtp:// server (the mail is not sent without it)"},
	{"smtp_timeout", I(smtp_timeout), "30", 1, 3600, NULL, "seconds for one SMTP delivery before it fails and is retried"},
	{"mail_from", S(mail_from), "BioImage Model Zoo <noreply@localhost>", 0, 0, NULL, "From of every mail: \"Name <address>\" or an address"},
	{"zenodo_url", S(zenodo_url), "https://sandbox.zenodo.org", 0, 0, NULL,
	 "Zenodo base URL for archiving published versions (https://zenodo.org for production)"},
	{"zenodo_token", S(zenodo_token), "", 0, 0, NULL,
	 "Zenodo personal access token (deposit:write, deposit:actions); empty = published versions are not archived"},
	{"zenodo_timeout", I(zenodo_timeout), "120", 1, 3600, NULL, "seconds without progress before a Zenodo request fails"},
	{"zenodo_retries", I(zenodo_retries), "5", 0, 50, NULL, "retries of one Zenodo request on 429, 5xx and dropped connections"},
	{"zenodo_max_wait", I(zenodo_max_wait), "120", 1, 3600, NULL, "longest wait in seconds before retrying a Zenodo request (caps X-RateLimit-Reset)"},
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

/* The env file of deploy/backoffice.service, read by the server and the CLI alike. */
#define CONFIG_FILE_DEFAULT "/etc/backoffice/backoffice.env"
#define CONFIG_LINE_MAX 8192

static void env_name(const struct option_row *o, char *buf, size_t len)
{
	snprintf(buf, len, "BO_%s", o->name);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

static void flag_name(const struct option_row *o, char *buf, size_t len)
{
	snprintf(buf, len, "--%s", o->name);
	for (char *p = buf + 2; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* Accepts decimal with an optional K/M/G/T suffix (binary multiples); ULL suffixes
 * of limits.h macros are tolerated so defaults can be written as the macro text. */
static int parse_int(const char *s, int size_units, int64_t *out)
{
	char tmp[64];
	size_t n = 0;
	for (const char *p = s; *p && n + 1 < sizeof(tmp); p++)
		if (*p != '(' && *p != ')' && *p != ' ')
			tmp[n++] = *p;
	tmp[n] = '\0';
	errno = 0;
	char *end = NULL;
	long long v = strtoll(tmp, &end, 10);
	if (errno || end == tmp)
		return -1;
	/* "4ULL<<30" from limits.h */
	while (*end == 'U' || *end == 'L')
		end++;
	if (end[0] == '<' && end[1] == '<') {
		long long sh = strtoll(end + 2, &end, 10);
		if (sh < 0 || sh > 62 || v < 0 || v > (INT64_MAX >> sh))
			return -1;
		v <<= sh;
	}
	if (size_units && *end) {
		int shift = 0;
		switch (toupper((unsigned char)*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (v < 0 || v > (INT64_MAX >> shift)) /* shifting a negative value is undefined */
			return -1;
		v <<= shift;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int set_option(struct config *cfg, const struct option_row *o, const char *value,
		      const char *source, struct bo_error *err)
{
	char *base = (char *)cfg;
	if (o->type == OPT_STR) {
		if (o->choices) {
			char want[80];
			snprintf(want, sizeof(want), "|%s|", value);
			/* a value holding the separator could match several choices at once */
			if (strchr(value, '|') || !strstr(o->choices, want))
				return bo_error_set(err, BO_EBADREQUEST, "%s: %s must be one of %s, got '%s'",
						    source, o->name, o->choices, value);
		}
		char **slot = (char **)(base + o->offset);
		char *copy = strdup(value);
		if (!copy)
			return bo_error_set(err, BO_ENOMEM, "out of memory");
		free(*slot);
		*slot = copy;
		return 0;
	}
	int64_t v;
	if (o->type == OPT_BOOL) {
		if (!strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes"))
			v = 1;
		else if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no"))
			v = 0;
		else
			return bo_error_set(err, BO_EBADREQUEST, "%s: %s must be 0 or 1, got '%s'", source,
					    o->name, value);
	} else if (parse_int(value, o->type == OPT_SIZE, &v)) {
		return bo_error_set(err, BO_EBADREQUEST, "%s: %s must be %s, got '%s'", source,
				    o->name, o->type == OPT_SIZE ? "a size like 512K, 8M or 4G" : "an integer",
				    value);
	}
	if (v < o->min || v > o->max)
		return bo_error_set(err, BO_EBADREQUEST,
				    "%s: %s must be between %" PRId64 " and %" PRId64 ", got %" PRId64,
				    source, o->name, o->min, o->max, v);
	*(int64_t *)(base + o->offset) = v;
	return 0;
}

/* The option whose name, as namer spells it (--flag or BO_ENV), is the len bytes at s. */
static const struct option_row *find_named(void (*namer)(const struct option_row *, char *, size_t), const char *s,
					   size_t len)
{
	char name[96];
	for (size_t i = 0; i < NOPTS; i++) {
		namer(&options[i], name, sizeof(name));
		if (strlen(name) == len && !strncmp(name, s, len))
			return &options[i];
	}
	return NULL;
}

static const struct option_row *find_flag(const char *arg, size_t len) { return find_named(flag_name, arg, len); }

static int derive(struct config *cfg, struct bo_error *err)
{
	char buf[4096];
	if (!cfg->db_path[0]) {
		snprintf(buf, sizeof(buf), "%s/backoffice.db", cfg->data_dir);
		free(cfg->db_path);
		cfg->db_path = strdup(buf);
	}
	if (!cfg->storage_dir[0]) {
		snprintf(buf, sizeof(buf), "%s/storage", cfg->data_dir);
		free(cfg->storage_dir);
		cfg->storage_dir = strdup(buf);
	}
	if (!cfg->public_url[0]) {
		snprintf(buf, sizeof(buf), "http://%s:%" PRId64, cfg->listen, cfg->port);
		free(cfg->public_url);
		cfg->public_url = strdup(buf);
	}
	if (!cfg->db_path || !cfg->storage_dir || !cfg->public_url)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	/* links are built as public_url + "/path": no trailing slash */
	size_t n = strlen(cfg->public_url);
	while (n > 0 && cfg->public_url[n - 1] == '/')
		cfg->public_url[--n] = '\0';
	if (!cfg->history_dir[0]) {
		snprintf(buf, sizeof(buf), "%s/collection.git", cfg->data_dir);
		free(cfg->history_dir);
		cfg->history_dir = strdup(buf);
	}
	if (!cfg->files_url[0]) {
		snprintf(buf, sizeof(buf), "%s/files", cfg->public_url);
		free(cfg->files_url);
		cfg->files_url = strdup(buf);
	}
	if (!cfg->history_dir || !cfg->files_url)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	n = strlen(cfg->files_url);
	while (n > 0 && cfg->files_url[n - 1] == '/')
		cfg->files_url[--n] = '\0';
	if (!strcmp(cfg->storage, "s3") &&
	    (!cfg->s3_endpoint[0] || !cfg->s3_bucket[0] || !cfg->s3_access_key[0] || !cfg->s3_secret_key[0]))
		return bo_error_set(err, BO_EBADREQUEST,
				    "storage=s3 needs s3_endpoint, s3_bucket, s3_access_key and s3_secret_key");
	if (cfg->smtp_url[0] && strncmp(cfg->smtp_url, "smtp://", 7) && strncmp(cfg->smtp_url, "smtps://", 8))
		return bo_error_set(err, BO_EBADREQUEST, "smtp_url must start with smtp:// or smtps://, got '%s'",
				    cfg->smtp_url);
	if (strchr(cfg->mail_from, '\r') || strchr(cfg->mail_from, '\n') || !strchr(cfg->mail_from, '@'))
		return bo_error_set(err, BO_EBADREQUEST,
				    "mail_from must be one line with an address, like \"Name <noreply@example.org>\"");
	if (cfg->s3_endpoint[0] && strncmp(cfg->s3_endpoint, "http://", 7) &&
	    strncmp(cfg->s3_endpoint, "https://", 8))
		return bo_error_set(err, BO_EBADREQUEST, "s3_endpoint must start with http:// or https://, got '%s'",
				    cfg->s3_endpoint);
	return 0;
}

static const struct option_row *find_env(const char *name, size_t len) { return find_named(env_name, name, len); }

/* One line of an env file: "BO_KEY=value", optionally after "export " and with the value in
 * matching quotes (what systemd's EnvironmentFile= reads too). Blank lines and comments
 * say nothing; keys without the BO_ prefix belong to others and are passed over; an
 * unknown BO_ key is an error, as a misspelt option would silently do nothing. */
static int env_line(struct config *cfg, char *line, const char *where, struct bo_error *err)
{
	char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	if (!*p || *p == '#')
		return 0;
	if (!strncmp(p, "export ", 7))
		p += 7;
	char *eq = strchr(p, '=');
	if (!eq)
		return bo_error_set(err, BO_EBADREQUEST, "%s: expected KEY=value", where);
	if (strncmp(p, "BO_", 3))
		return 0;
	const struct option_row *o = find_env(p, (size_t)(eq - p));
	if (!o)
		return bo_error_set(err, BO_EBADREQUEST, "%s: unknown option %.*s (see backoffice env-example)", where,
				    (int)(eq - p), p);
	char *v = eq + 1;
	n = strlen(v);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		v++;
	}
	return set_option(cfg, o, v, where, err);
}

/* The env file the server's systemd unit reads (EnvironmentFile=) and every CLI command
 * reads too, so an operator's `backoffice rebuild` uses the server's public URL and
 * storage without repeating them. A missing default file is no file; a named one must
 * exist. */
static int load_env_file(struct config *cfg, const char *path, int named, struct bo_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (!named && errno == ENOENT)
			return 0;
		return bo_error_set(err, BO_EBADREQUEST, "cannot read the config file %s: %s", path, strerror(errno));
	}
	char line[CONFIG_LINE_MAX], where[600];
	int rc = 0, no = 0;
	while (!rc && fgets(line, sizeof(line), f)) {
		no++;
		snprintf(where, sizeof(where), "%.500s:%d", path, no);
		if (!strchr(line, '\n') && !feof(f))
			rc = bo_error_set(err, BO_EBADREQUEST, "%s: longer than %d bytes", where, CONFIG_LINE_MAX - 2);
		else
			rc = env_line(cfg, line, where, err);
	}
	if (!rc && ferror(f))
		rc = bo_error_set(err, BO_EBADREQUEST, "cannot read the config file %s", path);
	fclose(f);
	return rc;
}

/* --config FILE / --config=FILE among argv (removed from what the option loop sees), else
 * BO_CONFIG_FILE, else the default; "" means none. *named: given, not defaulted. */
static const char *config_file_of(int argc, char **argv, int *named, int *skip)
{
	*skip = -1;
	*named = 1;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9)) {
			*skip = i;
			return argv[i] + 9;
		}
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			*skip = i;
			return argv[i + 1];
		}
	}
	const char *env = getenv("BO_CONFIG_FILE");
	if (env)
		return env;
	*named = 0;
	return CONFIG_FILE_DEFAULT;
}

int config_load(struct config **out, int argc, char **argv, char ***rest_out, int *nrest_out,
		struct bo_error *err)
{
	int rc = BO_EINTERNAL;
	char **rest = NULL;
	int nrest = 0;
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	for (size_t i = 0; i < NOPTS; i++) {
		rc = set_option(cfg, &options[i], options[i].def, "default", err);
		if (rc)
			goto fail;
	}
	/* defaults, then the env file, then the environment, then flags: the later wins */
	int named = 0, skip = -1;
	const char *file = config_file_of(argc, argv, &named, &skip);
	if (*file) {
		rc = load_env_file(cfg, file, named, err);
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < NOPTS; i++) {
		char name[96];
		env_name(&options[i], name, sizeof(name));
		const char *v = getenv(name);
		if (v) {
			rc = set_option(cfg, &options[i], v, name, err);
			if (rc)
				goto fail;
		}
	}
	if (rest_out) {
		rest = calloc((size_t)argc + 1, sizeof(char *));
		if (!rest) {
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i == skip) { /* --config, read above */
			if (!strcmp(a, "--config"))
				i++;
			continue;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			if (!rest) {
				rc = bo_error_set(err, BO_EBADREQUEST, "unexpected argument '%s'", a);
				goto fail;
			}
			rest[nrest++] = argv[i];
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct option_row *o = find_flag(a, len);
		if (!o) {
			if (rest) { /* a subcommand's own flag */
				rest[nrest++] = argv[i];
				continue;
			}
			rc = bo_error_set(err, BO_EBADREQUEST, "unknown option '%.*s' (see --help)", (int)len, a);
			goto fail;
		}
		const char *v = eq ? eq + 1 : NULL;
		if (!v) {
			if (i + 1 >= argc) {
				rc = bo_error_set(err, BO_EBADREQUEST, "option '%s' needs a value", a);
				goto fail;
			}
			v = argv[++i];
		}
		rc = set_option(cfg, o, v, "command line", err);
		if (rc)
			goto fail;
	}
	rc = derive(cfg, err);
	if (rc)
		goto fail;
	*out = cfg;
	if (rest_out) {
		*rest_out = rest;
		*nrest_out = nrest;
	}
	return 0;
fail:
	free(rest);
	config_free(cfg);
	return rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NOPTS; i++)
		if (options[i].type == OPT_STR)
			free(*(char **)((char *)cfg + options[i].offset));
	free(cfg);
}

static int is_secret(const struct option_row *o)
{
	return strstr(o->name, "secret") != NULL || strstr(o->name, "password") != NULL || strstr(o->name, "token") != NULL;
}

void config_print(const struct config *cfg, FILE *f)
{
	const char *base = (const char *)cfg;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct option_row *o = &options[i];
		if (o->type == OPT_STR) {
			const char *v = *(char *const *)(base + o->offset);
			fprintf(f, "%-22s = %s\n", o->name, is_secret(o) && v[0] ? "(set, hidden)" : v);
		} else {
			fprintf(f, "%-22s = %" PRId64 "\n", o->name, *(const int64_t *)(base + o->offset));
		}
	}
}

void config_usage(FILE *f)
{
	char env[96], flag[96];
	fprintf(f, "Options (defaults < env file < environment < flags). The env file (BO_KEY=value lines, the\n"
		   "server unit's EnvironmentFile) is --config FILE, else $BO_CONFIG_FILE, else %s when it\n"
		   "exists; --config '' reads none.\n",
		CONFIG_FILE_DEFAULT);
	for (size_t i = 0; i < NOPTS; i++) {
		env_name(&options[i], env, sizeof(env));
		flag_name(&options[i], flag, sizeof(flag));
		int64_t v;
		if (options[i].type != OPT_STR && !parse_int(options[i].def, 0, &v))
			fprintf(f, "  %-24s %-24s %s (default: %" PRId64 ")\n", flag, env, options[i].help, v);
		else
			fprintf(f, "  %-24s %-24s %s (default: %s)\n", flag, env, options[i].help,
				options[i].def[0] ? options[i].def : "\"\"");
	}
}

void config_print_env_example(FILE *f)
{
	char env[96];
	fprintf(f, "# Environment file for backoffice serve: every option with its default.\n"
		   "# Uncomment and change what differs in your deployment.\n");
	for (size_t i = 0; i < NOPTS; i++) {
		env_name(&options[i], env, sizeof(env));
		int64_t v;
		if (options[i].type != OPT_STR && !parse_int(options[i].def, 0, &v))
			fprintf(f, "\n# %s\n#%s=%" PRId64 "\n", options[i].help, env, v);
		else
			fprintf(f, "\n# %s\n#%s=%s\n", options[i].help, env, options[i].def);
	}
}

void config_rdf_limits(const struct config *cfg, struct rdf_limits *out)
{
	out->max_bytes = cfg->max_yaml_bytes;
	out->max_depth = cfg->max_yaml_depth;
	out->max_nodes = cfg->max_yaml_nodes;
	out->max_scalar_bytes = cfg->max_yaml_scalar_bytes;
	out->alias_budget = cfg->max_yaml_alias_budget;
}

void config_url(const struct config *cfg, const char *path, char *out, size_t n)
{
	if (cfg->files_url && *cfg->files_url && !strncmp(path, "/files/", 7))
		snprintf(out, n, "%s/%s", cfg->files_url, path + 7);
	else
		snprintf(out, n, "%s%s", cfg->public_url, path);
}

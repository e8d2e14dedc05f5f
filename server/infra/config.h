/* config: the one option table. Read once (defaults < BO_* environment < --flags)
 * into an immutable struct config that hangs off the server context. Nothing else
 * reads getenv. */
#ifndef BO_CONFIG_H
#define BO_CONFIG_H

#include <stdint.h>
#include <stdio.h>

struct bo_error;

struct config {
	/* server */
	char *listen;        /* address to bind */
	int64_t port;
	char *public_url;    /* base URL used in links, run_url, collection URLs */
	char *data_dir;      /* var/: database, incoming uploads, admin token */
	char *db_path;       /* derived from data_dir when empty */
	char *migrations_dir;
	char *schema_dir;    /* schema/: openapi.yaml, id_parts.json, validation rules */
	char *static_dir;
	char *vendor_dir;    /* node_modules of the pages' libraries (marked, DOMPurify) */
	char *history_dir;   /* git repository of collection.json (default DATA_DIR/collection.git) */
	char *files_url;     /* base URL of stored objects in collection files (default PUBLIC_URL/files) */
	char *log_level;
	int64_t http_threads_max; /* concurrent connections */
	int64_t http_per_ip_max;  /* concurrent connections per client address (0 = no limit) */
	int64_t http_header_timeout; /* seconds from accept to the end of the first header block */
	/* storage */
	char *storage;       /* "fs" or "s3" */
	char *storage_dir;   /* derived from data_dir when empty */
	char *s3_endpoint;   /* e.g. http://127.0.0.1:9000 */
	char *s3_region;
	char *s3_bucket;
	char *s3_access_key;
	char *s3_secret_key;
	char *s3_prefix;     /* key prefix inside the bucket, may be empty */
	int64_t s3_path_style;
	int64_t s3_part_size;
	int64_t s3_retries;
	int64_t s3_timeout;  /* seconds per request */
	/* jobs */
	int64_t job_runners;
	int64_t job_lease_seconds;
	int64_t job_max_attempts;
	int64_t job_backoff_seconds;
	/* limits (defaults from limits.h) */
	int64_t max_upload_bytes;
	int64_t max_zip_entries;
	int64_t max_zip_total_bytes;
	int64_t max_zip_ratio;
	int64_t max_yaml_bytes;
	int64_t max_yaml_depth;
	int64_t max_yaml_nodes;
	int64_t max_yaml_scalar_bytes;
	int64_t max_yaml_alias_budget;
	int64_t max_json_body;
	int64_t max_header_bytes;
	int64_t max_drafts_per_user;
	int64_t max_image_pixels; /* thumbnails: width × height read from the header */
	int64_t fetch_timeout;
	int64_t fetch_allow_private; /* 0: package URLs may not reach loopback/private addresses */
	/* mail */
	char *smtp_url;       /* smtp://host:port or smtps://host:port; empty = write .eml files in DATA_DIR/mail */
	char *smtp_user;      /* AUTH user, empty = no AUTH */
	char *smtp_password;
	int64_t smtp_starttls; /* 1 = require STARTTLS on smtp:// */
	int64_t smtp_timeout;  /* seconds for one SMTP delivery */
	char *mail_from;      /* From header, "Name <addr>" or "addr" */
	/* dynamic tests (sandboxed workers) */
	char *worker_path;        /* backoffice-worker (default: next to the server binary) */
	char *onnxruntime_lib;    /* libonnxruntime.so.1 passed to the worker ("" = the worker's default) */
	char *python;             /* interpreter for pytorch_state_dict */
	int64_t test_timeout;     /* seconds of wall clock per test run */
	int64_t test_memory;      /* bytes of address space per worker */
	int64_t test_cpu_seconds; /* CPU seconds per worker */
	int64_t max_test_workers; /* test jobs running at once in one server */
	int64_t retest_on_change;  /* 1: the server re-tests published versions when the judge changes */
	int64_t retest_max_queued; /* most automatic re-test jobs queued at once */
	char *test_fault;         /* tests only: fault the worker injects (with BO_WORKER_FAULTS=1 in its env) */
	char *test_runner;        /* "local" (the server's runners), "lease" (remote workers lease test jobs) or "slurm" */
	int64_t worker_lease_seconds; /* a lease worker's hold on a test job between heartbeats */
	/* test_runner=slurm (pipeline/slurm) */
	char *slurm_partition, *slurm_account, *slurm_gres; /* sbatch options ("" = not given) */
	int64_t slurm_time;                                 /* sbatch --time, minutes */
	char *slurm_sbatch, *slurm_squeue, *slurm_scancel, *slurm_sacct, *slurm_scontrol; /* commands */
	char *slurm_url;     /* what the Slurm job's worker reaches the server at ("" = public_url) */
	char *slurm_worker;  /* backoffice-worker on the nodes ("" = next to backoffice) */
	char *slurm_log_dir; /* sbatch --output directory ("" = DATA_DIR/slurm/logs) */
	char *slurm_capabilities; /* --capabilities FILE of the Slurm job's worker ("" = detected) */
	char *sandbox;            /* "bwrap" (the jail) or "none" (unconfined, the operator's explicit choice) */
	char *bwrap_path;         /* bubblewrap */
	int64_t sandbox_uid, sandbox_gid; /* what a root server drops to for the jail */
	int64_t test_processes;   /* RLIMIT_NPROC inside the jail */
	int64_t test_scratch;     /* bytes of the jail's /tmp and of its output directory */
	/* archive to Zenodo */
	char *zenodo_url;         /* https://sandbox.zenodo.org or https://zenodo.org */
	char *zenodo_token;       /* personal access token; empty = archiving is off */
	int64_t zenodo_timeout;   /* seconds without progress before a Zenodo request fails */
	int64_t zenodo_retries;   /* retries of one request on 429, 5xx and transport errors */
	int64_t zenodo_max_wait;  /* longest wait in seconds before one retry (caps X-RateLimit-Reset) */
};

/* Parses env (BO_*) then argv flags (--name=value or --name value) over the defaults.
 * argv/argc are the arguments after the subcommand; unknown flags are errors unless
 * rest_out is non-NULL, in which case positional arguments are collected there (the
 * array is malloc'd, the strings borrowed from argv). Returns 0, or BO_EBADREQUEST with
 * a one-line detail naming the option, its range and the source of the bad value. */
int config_load(struct config **out, int argc, char **argv, char ***rest_out, int *nrest_out,
		struct bo_error *err);
void config_free(struct config *cfg);

/* Prints every option (name, env var, value, help) — `backoffice check-config`. */
void config_print(const struct config *cfg, FILE *f);
/* Prints the options table as help text. */
void config_usage(FILE *f);
/* Writes the example env file listing every option with its default, commented out. */
void config_print_env_example(FILE *f);

/* The YAML limits of cfg (max_yaml_*) for rdf_parse. */
struct rdf_limits;
void config_rdf_limits(const struct config *cfg, struct rdf_limits *out);

/* The URL of a path of ours ("/api/…", "/status/…", "/files/<key>") into out: /files/…
 * on files_url (which has no trailing slash and defaults to PUBLIC_URL/files), the rest on
 * public_url. The one rule for the API, the CLI and the pages. */
void config_url(const struct config *cfg, const char *path, char *out, size_t n);

#endif

/* app: opening and closing the server context in a fixed order (directories, lock,
 * database, storage, vocabulary, validation rules, queue) so a failure at any step undoes
 * the earlier ones. */
#include "app.h"

#include "check/validate.h"
#include "common/error.h"
#include "common/log.h"
#include "domain/ids.h"
#include "infra/config.h"
#include "infra/db.h"
#include "infra/fs.h"
#include "infra/jobs.h"
#include "infra/mail.h"
#include "infra/metrics.h"
#include "infra/storage.h"
#include "infra/thumbs.h"
#include "pipeline/archive.h"
#include "pipeline/collection.h"
#include "pipeline/compat_report.h"
#include "pipeline/lifecycle.h"
#include "pipeline/publish.h"
#include "pipeline/retest.h"
#include "pipeline/stage.h"
#include "pipeline/test_job.h"
#include "pipeline/validate_job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Handlers of each job kind; kinds without a handler yet are not enqueued by anyone. */
static const struct jobs_kind job_kinds[] = {
	{"stage", stage_run, stage_dead},
	{"validate", validate_job_run, validate_job_dead},
	{"test", test_job_run, test_job_dead},
	/* a published version's re-test: the same handler, which reads the version from the payload */
	{"retest", test_job_run, test_job_dead},
	{"publish", publish_run, publish_dead},
	{"rebuild", collection_job_run, NULL},
	{"mail", mail_run, NULL},
	{"archive", archive_run, archive_dead},
	{"draft-json", lifecycle_draft_json_run, NULL},
	{"compat-json", compat_report_json_run, NULL},
	{"retest-summary", retest_summary_run, NULL},
	{"retest-scan", retest_scan_run, NULL},
};

/* Upload bodies and scratch files of a server that was killed: nobody else writes
 * here while we hold the data directory lock, so all of it is garbage. */
static void clean_tmp(const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(dh);
	if (n)
		log_info("removed %d temp file(s) left in %s by an earlier run", n, dir);
}

int app_open(struct app **out, const struct config *cfg, int server, struct bo_error *err)
{
	char path[4096];
	int rc;
	struct app *a = calloc(1, sizeof(*a));
	if (!a)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	a->cfg = cfg;
	a->lock_fd = -1;
	config_rdf_limits(cfg, &a->rdf_limits);
	package_limits_from_config(&a->package_limits, cfg);
	if (asprintf(&a->tmp_dir, "%s/tmp", cfg->data_dir) < 0 ||
	    asprintf(&a->incoming_dir, "%s/incoming", cfg->data_dir) < 0) {
		a->tmp_dir = a->incoming_dir = NULL;
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	rc = fs_mkdir_p(cfg->data_dir, 0750, err);
	if (!rc)
		rc = fs_mkdir_p(a->tmp_dir, 0750, err);
	if (!rc)
		rc = fs_mkdir_p(a->incoming_dir, 0750, err);
	if (rc)
		goto fail;
	if (server) {
		snprintf(path, sizeof(path), "%s/backoffice.lock", cfg->data_dir);
		a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX | LOCK_NB) != 0) {
			rc = bo_error_set(err, BO_ECONFLICT, "another backoffice server is running on %s (%s is locked)",
					  cfg->data_dir, path);
			goto fail;
		}
		clean_tmp(a->tmp_dir);
		if (!cfg->zenodo_token[0])
			log_info("archiving to Zenodo is off (zenodo_token is empty): published versions get no DOI");
		else
			log_info("archiving published versions to %s", cfg->zenodo_url);
	}
	/* process-wide and idempotent: every process that may run a stage job has libvips up */
	rc = thumbs_init(err);
	if (rc)
		goto fail;
	rc = db_open(&a->db, cfg->db_path, cfg->migrations_dir, err);
	if (rc)
		goto fail;
	rc = storage_open(&a->storage, cfg, err);
	if (rc)
		goto fail;
	snprintf(path, sizeof(path), "%s/id_parts.json", cfg->schema_dir);
	rc = ids_load(&a->ids, path, err);
	if (rc)
		goto fail;
	rc = validate_load(&a->validator, cfg->schema_dir, err);
	retest_rules_version(a->rules_version, cfg->schema_dir);
	if (rc)
		goto fail;
	rc = collection_create(&a->collection, err);
	if (rc)
		goto fail;
	rc = test_slots_create(&a->test_slots, (int)cfg->max_test_workers, err);
	if (rc)
		goto fail;
	a->metrics = metrics_create();
	if (!a->metrics) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	struct jobs_options jo = {
		.lease_seconds = cfg->job_lease_seconds,
		.max_attempts = cfg->job_max_attempts,
		.backoff_seconds = cfg->job_backoff_seconds,
		.owner_prefix = server ? "serve" : "cli",
		/* lease workers (or Slurm jobs running them) run the tests elsewhere (pipeline/lease,
		 * pipeline/slurm); nothing here may take them */
		.skip_kind = strcmp(cfg->test_runner, "local") ? "test" : NULL,
	};
	rc = jobs_create(&a->jobs, a->db, job_kinds, sizeof(job_kinds) / sizeof(job_kinds[0]), a, &jo, err);
	if (rc)
		goto fail;
	*out = a;
	return 0;
fail:
	app_close(a);
	return rc;
}

void app_close(struct app *a)
{
	if (!a)
		return;
	jobs_free(a->jobs);
	metrics_free(a->metrics);
	collection_free(a->collection);
	test_slots_free(a->test_slots);
	validate_free(a->validator);
	ids_free(a->ids);
	storage_free(a->storage);
	db_close(a->db);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(a->tmp_dir);
	free(a->incoming_dir);
	free(a);
}

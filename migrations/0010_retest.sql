-- 0010_retest: test runs of published versions (backoffice retest, README "Re-testing the
-- collection"). A re-test run has of_version = 1 and revision_or_version = the version's
-- name; a draft's runs keep of_version = 0 and the revision's decimal text (versions and
-- revisions are both small numbers, so the column alone cannot tell them apart). The
-- judge of a run is recorded with it: tool and tool_version (as before), the runtime and
-- runtime_version the worker reported, and the rule set of static validation in force
-- (rules_version, a hash of schema/rules/*.json). A re-test never replaces a run: it adds
-- one. queued_at: when `retest` queued it (progress and /metrics). The job kinds
-- 'retest-summary' (rewrites <id>/<version>/test_summary.yaml) and 'retest-scan' (the
-- automatic re-test) join the jobs table's CHECK, rebuilt as in 0007.
ALTER TABLE test_runs ADD COLUMN of_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE test_runs ADD COLUMN runtime TEXT;
ALTER TABLE test_runs ADD COLUMN runtime_version TEXT;
ALTER TABLE test_runs ADD COLUMN rules_version TEXT;
ALTER TABLE test_runs ADD COLUMN queued_at TEXT;
CREATE INDEX test_runs_retest ON test_runs(of_version, status);
CREATE TABLE jobs_new (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('stage', 'validate', 'test', 'publish', 'rebuild',
                 'mail', 'archive', 'cleanup', 'draft-json', 'compat-json', 'retest-summary',
                 'retest-scan')),
  subject      TEXT NOT NULL,
  payload_json TEXT NOT NULL DEFAULT '{}',
  state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_after    INTEGER NOT NULL,
  lease_until  INTEGER,
  lease_owner  TEXT,
  last_error   TEXT,
  created_at   TEXT NOT NULL,
  finished_at  TEXT
);
INSERT INTO jobs_new(id, kind, subject, payload_json, state, attempts, max_attempts, run_after,
                     lease_until, lease_owner, last_error, created_at, finished_at)
  SELECT id, kind, subject, payload_json, state, attempts, max_attempts, run_after,
         lease_until, lease_owner, last_error, created_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs(state, run_after);
CREATE INDEX jobs_subject ON jobs(subject, kind);

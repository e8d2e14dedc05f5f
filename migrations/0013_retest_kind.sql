-- 0013_retest_kind: a published version's re-test is a job kind of its own, 'retest' (issue
-- 18), no longer a 'test' job with a version in its payload: a draft's new revision cancels
-- the draft's 'test' jobs and must never cancel a re-test, and lease / Slurm workers take
-- draft tests only. Queued re-tests move over; SQLite cannot change a CHECK constraint in
-- place, so the table is rebuilt with its rows, ids and indexes (as in 0005).
CREATE TABLE jobs_new (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('stage', 'validate', 'test', 'publish', 'rebuild',
                 'mail', 'archive', 'cleanup', 'draft-json', 'compat-json', 'retest-summary',
                 'retest-scan', 'retest')),
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
  SELECT id, CASE WHEN kind = 'test' AND json_valid(payload_json)
                       AND json_extract(payload_json, '$.version') IS NOT NULL THEN 'retest' ELSE kind END,
         subject, payload_json, state, attempts, max_attempts, run_after,
         lease_until, lease_owner, last_error, created_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs(state, run_after);
CREATE INDEX jobs_subject ON jobs(subject, kind);

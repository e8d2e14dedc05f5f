-- 0005_draft_json_jobs: a job kind 'draft-json' (issue 14). Every draft transition queues it
-- in its own transaction; it writes <id>/draft/draft.json after the commit, so no storage
-- I/O happens while the write lock is held. SQLite cannot change a CHECK constraint in
-- place, so the table is rebuilt with its rows, ids and indexes.
CREATE TABLE jobs_new (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('stage', 'validate', 'test', 'publish', 'rebuild',
                 'mail', 'archive', 'cleanup', 'draft-json')),
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

-- 0007_compatibility: partner tools (ilastik, deepimagej, …) report whether a published
-- version or a draft works in their software (issue 17). A report is kept per (concept,
-- version or 'draft', tool) where tool is '<name>_<tool version>'; a newer report of the same
-- tool replaces the older. A token may carry a scope: 'partner' (any tool) or
-- 'partner:<name>' (that tool only); such a token sends reports and can do nothing else.
-- The job kind 'compat-json' writes <id>/<version>/compatibility/<tool>.json (the
-- reference's layout) after the commit; the jobs table is rebuilt for its CHECK as in 0005.
ALTER TABLE tokens ADD COLUMN scope TEXT;
CREATE TABLE compatibility (
  concept_id   TEXT NOT NULL REFERENCES concepts(id),
  version      TEXT NOT NULL,
  tool         TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('passed', 'failed', 'not-applicable')),
  report_json  TEXT NOT NULL,
  reported_by  INTEGER REFERENCES users(id),
  reported_at  TEXT NOT NULL,
  PRIMARY KEY (concept_id, version, tool)
);
CREATE TABLE jobs_new (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('stage', 'validate', 'test', 'publish', 'rebuild',
                 'mail', 'archive', 'cleanup', 'draft-json', 'compat-json')),
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

-- 0011_worker_leases: test jobs leased by remote workers (test_runner=lease, issue 18). A
-- lease holds one running `test` job (jobs.lease_owner = 'lease:' || id) for one worker
-- token's user until expires_unix; each heartbeat moves it on. Only the SHA-256 of the
-- job-scoped file secret is kept (the worker's download URLs carry the secret itself).
-- state: active (the worker holds it), done (its result was stored, or the job turned out
-- stale), expired (no heartbeat in time: the job went back to the queue).
CREATE TABLE worker_leases (
  id            TEXT PRIMARY KEY,
  secret_sha256 TEXT NOT NULL UNIQUE,
  job_id        INTEGER NOT NULL,
  user_id       INTEGER NOT NULL REFERENCES users(id),
  concept_id    TEXT NOT NULL,
  revision      INTEGER NOT NULL,
  weight_format TEXT NOT NULL,
  capabilities  TEXT NOT NULL DEFAULT '{}',
  state         TEXT NOT NULL CHECK (state IN ('active', 'done', 'expired')),
  started_at    TEXT NOT NULL,
  expires_unix  INTEGER NOT NULL,
  finished_at   TEXT
);
CREATE INDEX worker_leases_active ON worker_leases(state, expires_unix);

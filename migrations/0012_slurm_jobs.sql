-- 0012_slurm_jobs: the Slurm batch jobs the server submitted for test jobs (test_runner=slurm,
-- issue 18). One row per submission: the test job it runs, the Slurm job id sbatch gave
-- (NULL until sbatch answered), the job-scoped worker token it carries (revoked when the row
-- ends), and the last Slurm state seen. state: active (submitted, being followed), ended (it
-- left the queue; slurm_state is its final state), cancelled (we scancelled it: the draft
-- moved on).
CREATE TABLE slurm_jobs (
  id            INTEGER PRIMARY KEY,
  job_id        INTEGER NOT NULL,
  slurm_id      INTEGER,
  token_id      INTEGER NOT NULL,
  concept_id    TEXT NOT NULL,
  revision      INTEGER NOT NULL,
  weight_format TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('active', 'ended', 'cancelled')),
  slurm_state   TEXT NOT NULL DEFAULT '',
  submitted_at  TEXT NOT NULL,
  ended_at      TEXT
);
CREATE INDEX slurm_jobs_active ON slurm_jobs(state, job_id);

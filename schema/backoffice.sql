-- 0001_init: users and tokens, concepts (the id reservation), drafts, versions, files,
-- test runs, events, chat and the job queue. Timestamps are ISO 8601 UTC text with Z;
-- job scheduling columns are unix seconds so they compare as integers.
-- 0002_revisions added concepts.revisions (last revision number, never restarts) and
-- versions.revision (the revision that became the version).
-- 0003_versions_collection_index added versions_collection (covers the collection scan).
-- 0005_draft_json_jobs added the job kind 'draft-json' (draft.json written after the commit).
-- 0006_archive_package added versions.archive_package_sha256 (the zip deposited on Zenodo).
-- 0007_compatibility added tokens.scope, the compatibility reports of partner tools and the
-- job kind 'compat-json'.
-- 0009_import added the aliases table and versions.source_url (`backoffice import`).
-- 0010_retest added test_runs.of_version, runtime, runtime_version, rules_version and
-- queued_at (`backoffice retest`: runs of published versions and the judge of every run).
-- 0011_worker_leases added worker_leases (test jobs leased by remote workers).
-- 0012_slurm_jobs added slurm_jobs (the Slurm batch jobs of test_runner=slurm).
-- 0013_retest_kind added the job kind 'retest' (a published version's re-test).

CREATE TABLE users (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  email       TEXT NOT NULL UNIQUE,
  orcid       TEXT,
  affiliation TEXT,
  github_user TEXT,
  external_id TEXT UNIQUE,
  role        TEXT NOT NULL CHECK (role IN ('uploader', 'reviewer', 'admin')),
  disabled    INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL
);

CREATE TABLE tokens (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users(id),
  token_sha256  TEXT NOT NULL UNIQUE,
  label         TEXT NOT NULL DEFAULT '',
  created_at    TEXT NOT NULL,
  last_used_at  TEXT,
  revoked_at    TEXT
, scope TEXT);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE concepts (
  id                  TEXT PRIMARY KEY,
  type                TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  created_by          INTEGER REFERENCES users(id),
  concept_doi         TEXT,
  zenodo_conceptrecid TEXT
, revisions INTEGER NOT NULL DEFAULT 0);

CREATE TABLE drafts (
  concept_id     TEXT PRIMARY KEY REFERENCES concepts(id),
  revision       INTEGER NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('unpacking', 'unpacked', 'testing',
                   'awaiting review', 'changes requested', 'accepted', 'published', 'error')),
  state_detail   TEXT NOT NULL DEFAULT '',
  uploader_id    INTEGER REFERENCES users(id),
  package_sha256 TEXT NOT NULL,
  package_size   INTEGER NOT NULL,
  package_path   TEXT NOT NULL,
  rdf_name       TEXT NOT NULL,
  rdf_json       TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);
CREATE INDEX drafts_uploader ON drafts(uploader_id, state);

CREATE TABLE versions (
  concept_id           TEXT NOT NULL REFERENCES concepts(id),
  version              TEXT NOT NULL,
  state                TEXT NOT NULL CHECK (state IN ('publishing', 'published', 'yanked')),
  rdf_json             TEXT NOT NULL,
  rdf_sha256           TEXT NOT NULL,
  created_at           TEXT NOT NULL,
  published_at         TEXT,
  published_by         INTEGER REFERENCES users(id),
  doi                  TEXT,
  zenodo_deposition_id TEXT,
  zenodo_state         TEXT,
  yank_reason          TEXT, revision INTEGER, archive_package_sha256 TEXT, source_url TEXT,
  PRIMARY KEY (concept_id, version)
);
CREATE INDEX versions_collection ON versions(concept_id, state, version, rdf_sha256, published_at, created_at, doi);

-- version_or_draft is the version string, or 'draft' for the draft's files.
CREATE TABLE files (
  concept_id       TEXT NOT NULL REFERENCES concepts(id),
  version_or_draft TEXT NOT NULL,
  path             TEXT NOT NULL,
  size             INTEGER NOT NULL,
  sha256           TEXT NOT NULL,
  content_type     TEXT NOT NULL,
  PRIMARY KEY (concept_id, version_or_draft, path)
);

CREATE TABLE test_runs (
  id                  INTEGER PRIMARY KEY,
  concept_id          TEXT NOT NULL REFERENCES concepts(id),
  revision_or_version TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('static', 'dynamic')),
  weight_format       TEXT,
  tool                TEXT NOT NULL,
  tool_version        TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'passed', 'failed',
                        'skipped', 'error')),
  summary_json        TEXT,
  started_at          TEXT,
  finished_at         TEXT
, of_version INTEGER NOT NULL DEFAULT 0, runtime TEXT, runtime_version TEXT, rules_version TEXT, queued_at TEXT);
CREATE INDEX test_runs_subject ON test_runs(concept_id, revision_or_version);
CREATE INDEX test_runs_retest ON test_runs(of_version, status);

-- subject is 'draft' or a version string.
CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  concept_id   TEXT NOT NULL REFERENCES concepts(id),
  subject      TEXT NOT NULL,
  at           TEXT NOT NULL,
  actor_id     INTEGER REFERENCES users(id),
  kind         TEXT NOT NULL,
  message      TEXT NOT NULL DEFAULT '',
  details_json TEXT
);
CREATE INDEX events_concept ON events(concept_id, id);

CREATE TABLE chat (
  id         INTEGER PRIMARY KEY,
  concept_id TEXT NOT NULL REFERENCES concepts(id),
  subject    TEXT NOT NULL,
  at         TEXT NOT NULL,
  author_id  INTEGER REFERENCES users(id),
  text       TEXT NOT NULL
);
CREATE INDEX chat_concept ON chat(concept_id, id);

CREATE TABLE "jobs" (
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
CREATE INDEX jobs_ready ON jobs(state, run_after);
CREATE INDEX jobs_subject ON jobs(subject, kind);

-- 0004_signin_links: one-time sign-in links mailed to an address (issue 8). Only the
-- SHA-256 of a link's token is kept; a link is used at most once (used_unix) and expires at
-- expires_unix. Rows also count requests per address and per client IP for the rate limits.
CREATE TABLE signin_links (
  id           INTEGER PRIMARY KEY,
  email        TEXT NOT NULL,
  client_ip    TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_unix INTEGER NOT NULL,
  expires_unix INTEGER NOT NULL,
  used_unix    INTEGER
);
CREATE INDEX signin_links_email ON signin_links(email, created_unix);
CREATE INDEX signin_links_ip ON signin_links(client_ip, created_unix);

-- 0007_compatibility: partner tools' reports per (concept, version or 'draft', tool), tool
-- being '<name>_<tool version>' (issue 17).
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

-- 0008_revision_files: what each revision of a draft was (issue 16): its files and its staged
-- rdf.yaml text, written by staging, kept after publishing.
CREATE TABLE revision_files (
  concept_id TEXT NOT NULL REFERENCES concepts(id),
  revision   INTEGER NOT NULL,
  path       TEXT NOT NULL,
  size       INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  PRIMARY KEY (concept_id, revision, path)
);
CREATE TABLE revision_rdf (
  concept_id TEXT NOT NULL REFERENCES concepts(id),
  revision   INTEGER NOT NULL,
  rdf_yaml   TEXT NOT NULL,
  original   TEXT,
  PRIMARY KEY (concept_id, revision)
);

-- 0009_import: other names of a concept (a legacy collection's ids), resolved by id_map.json.
CREATE TABLE aliases (
  alias       TEXT PRIMARY KEY,
  concept_id  TEXT NOT NULL REFERENCES concepts(id)
);
CREATE INDEX aliases_concept ON aliases(concept_id);

-- 0011_worker_leases: a test job leased by a remote worker (jobs.lease_owner = 'lease:' || id);
-- only the SHA-256 of the job-scoped file secret is kept.
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

-- 0012_slurm_jobs: a Slurm batch job the server submitted for a test job (test_runner=slurm),
-- with the job-scoped worker token it carries (revoked when the row ends).
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

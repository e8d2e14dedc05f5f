-- 0008_revision_files: what each revision of a draft was (issue 16), so a reviewer sees
-- what a new revision changed: its files by path with size and SHA-256, and the text of
-- its staged rdf.yaml, and the RDF as the uploader sent it (original: the page shows it with
-- the lines validation names, from our own origin). Staging writes them in the transaction that records the draft's
-- files; a revision staged again replaces its rows. Publishing keeps them (versions.revision
-- names the revision that became a version).
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

-- 0002_revisions: revision numbers of a concept never restart. Publishing deletes the
-- draft row, so the next upload takes its number from concepts.revisions; test runs stay
-- keyed by revision, and versions.revision says which revision became the version.
ALTER TABLE concepts ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0;
UPDATE concepts SET revisions = COALESCE((SELECT revision FROM drafts WHERE drafts.concept_id = concepts.id), 0);
ALTER TABLE versions ADD COLUMN revision INTEGER;

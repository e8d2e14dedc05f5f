-- 0009_import: adopting an existing collection (issue 17, `backoffice import`). aliases are
-- the other names a concept is known by (a legacy collection's ids such as
-- '10.5281/zenodo.5764892' or 'ilastik/ilastik'); id_map.json resolves each like the id.
-- versions.source_url is where a version's rdf.yaml lives when its files stay outside our
-- storage (an imported legacy version); NULL means our own <id>/<version>/files/.
CREATE TABLE aliases (
  alias       TEXT PRIMARY KEY,
  concept_id  TEXT NOT NULL REFERENCES concepts(id)
);
CREATE INDEX aliases_concept ON aliases(concept_id);
ALTER TABLE versions ADD COLUMN source_url TEXT;

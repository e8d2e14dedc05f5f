-- 0003_versions_collection_index: the collection rebuild reads every published version's
-- metadata but never rdf_json; a covering index lets that scan skip the table rows (where
-- the ~1 KB RDFs make it twice as slow), in concept order so no sort is needed.
CREATE INDEX versions_collection ON versions(concept_id, state, version, rdf_sha256, published_at, created_at, doi);

-- 0006_archive_package: a Zenodo record is a flat list of files (issue 21), so the archive
-- deposits the version's package as one zip; its SHA-256, named in the record's notes, is
-- kept here from the upload step for the metadata step (which may run in a later attempt).
ALTER TABLE versions ADD COLUMN archive_package_sha256 TEXT;

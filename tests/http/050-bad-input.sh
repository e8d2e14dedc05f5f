# Hostile uploads: every one gets a clear problem+json with the status that fits, path
# traversal through the storage route never escapes the storage root, and nothing
# half-written stays behind (no concept, no draft, no job, no temp file, no object in
# storage).
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
# small limits so the limit cases stay small: 5 MiB uploads, 2 MiB unpacked, 50 entries
export BO_MAX_UPLOAD_BYTES=5M BO_MAX_ZIP_TOTAL_BYTES=2M BO_MAX_ZIP_ENTRIES=50
start_server
UP=$(new_user sci@example.org uploader)
Z=$T/zips
/usr/bin/python3 "$BO_SOURCE_DIR/tests/fixtures/hostile_zips.py" "$Z"

upload() { req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
# expect_entry_error SUBSTRING: an errors[] entry whose msg contains it
expect_error_msg() { jq -e --arg s "$1" '[.errors[].msg] | any(contains($s))' "$T/body" >/dev/null || { body; fail "no error mentioning '$1'"; }; }

upload "$Z/notzip.zip";    expect_problem 422 invalid-package; jqb .detail | grep -qi "not a zip" || fail "notzip detail: $(jqb .detail)"
upload "$Z/truncated.zip"; expect_problem 422 invalid-package
upload "$Z/bomb_ratio.zip"; expect_problem 413 too-large; jqb .detail | grep -q "max_zip_ratio" || fail "ratio limit not named: $(jqb .detail)"
upload "$Z/bomb_total.zip"; expect_problem 413 too-large; jqb .detail | grep -q "max_zip_total_bytes" || fail "total limit not named: $(jqb .detail)"
upload "$Z/many.zip";      expect_problem 413 too-large; jqb .detail | grep -q "max_zip_entries" || fail "entries limit not named"
upload "$Z/traversal.zip"; expect_problem 422 invalid-package; expect_jq '.errors[0].loc == ["files", "../evil.txt"]'
upload "$Z/absolute.zip";  expect_problem 422 invalid-package; expect_jq '.errors | length == 1'
upload "$Z/backslash.zip"; expect_problem 422 invalid-package
upload "$Z/nul.zip";       expect_problem 422 invalid-package
upload "$Z/badutf8.zip";   expect_problem 422 invalid-package
upload "$Z/symlink.zip";   expect_problem 422 invalid-package
upload "$Z/dup_dot.zip";   expect_problem 422 invalid-package
upload "$Z/dup_case.zip";  expect_problem 422 invalid-package
upload "$Z/nordf.zip";     expect_problem 422 invalid-package; jqb .detail | grep -q "rdf.yaml" || fail "no-RDF detail"
upload "$Z/twordfs.zip";   expect_problem 422 invalid-package; jqb .detail | grep -q "a.bioimageio.yaml" || fail "candidates not named"
upload "$Z/badyaml.zip";   expect_problem 422 invalid-rdf; expect_jq '.errors[0].line >= 2 and .errors[0].column >= 1'
upload "$Z/aliasbomb.zip"; expect_problem 422 invalid-rdf; jqb .detail | grep -qi "alias" || fail "alias bomb detail: $(jqb .detail)"
upload "$Z/dupkeys.zip";   expect_problem 422 invalid-rdf; expect_jq '.errors[0].line == 4'
upload "$Z/collection.zip"; expect_problem 422 invalid-rdf; expect_jq '.errors[0].loc == ["type"]'
upload "$Z/notype.zip";    expect_problem 422 invalid-rdf; expect_jq '.errors[0].loc == ["type"]'

# over the upload limit: refused from Content-Length, before the body is read
head -c $((6 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/big.bin"
expect_problem 413 too-large
jqb .detail | grep -q "max_upload_bytes" || fail "upload limit not named"
# answered from Content-Length: the access log shows none of the 6 MiB body was read
rid=$(header X-Request-Id)
grep -q "ACCESS \[$rid\] POST /api/v1/uploads 413 in=0 " "$T/server.log" || { grep "$rid" "$T/server.log"; fail "the oversized body was read"; }
# wrong content type
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: text/plain' --data-binary @"$Z/good.zip"
expect_problem 415 unsupported-media-type
# multipart without the package field
req POST /api/v1/uploads -H "$(auth "$UP")" -F "other=@$Z/good.zip"
expect_problem 400 bad-request
jqb .detail | grep -q -- "-F package=@pkg.zip" || fail "no hint how to send the package: $(jqb .detail)"
# the form field as text (curl -F package=x.zip, without the @): said so, with the fix
req POST /api/v1/uploads -H "$(auth "$UP")" -F "package=good.zip"
expect_problem 400 bad-request
jqb .detail | grep -q "holds 8 bytes of text, not a file: with curl, write -F package=@pkg.zip" || fail "text field: $(jqb .detail)"
# an empty zip body is not told to send JSON
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @/dev/null
expect_problem 400 bad-request
jqb .detail | grep -q "the request holds no package" || fail "empty zip body: $(jqb .detail)"
! jqb .detail | grep -q "JSON object" || fail "an empty zip body was told to send a JSON object"
# the wrong role cannot upload: a disabled uploader
# (401 and 403 paths are covered by 020-auth)

# path traversal through the storage route never escapes the storage root
for p in "/files/../backoffice.db" "/files/..%2fbackoffice.db" "/files/a/../../admin.token" "/files/%2e%2e/admin.token" "/files//etc/passwd"; do
  code=$(curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$BASE$p")
  [ "$code" = 400 ] || [ "$code" = 404 ] || fail "$p answered $code"
done

# nothing half-written
db=$BO_DATA_DIR/backoffice.db
[ "$(sqlite3 "$db" 'SELECT count(*) FROM concepts')" = 0 ] || fail "a concept was left behind"
[ "$(sqlite3 "$db" 'SELECT count(*) FROM drafts')" = 0 ] || fail "a draft was left behind"
[ "$(sqlite3 "$db" 'SELECT count(*) FROM jobs')" = 0 ] || fail "a job was left behind"
sleep 0.3
[ -z "$(ls -A "$BO_DATA_DIR/tmp")" ] || { ls -la "$BO_DATA_DIR/tmp"; fail "temp files left"; }
[ -z "$(ls -A "$BO_DATA_DIR/incoming")" ] || fail "incoming files left"
if [ "$BO_STORAGE" = fs ]; then
  [ -z "$(find "$BO_DATA_DIR/storage" -type f 2>/dev/null)" ] || fail "objects left in storage"
fi

# a good package still goes through after all that
upload "$Z/good.zip"; expect_status 202
wait_state "$(jqb .id)" "awaiting review"
stop_server

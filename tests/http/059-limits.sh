# Every size limit at its boundary: at the limit accepted, one past refused with the status
# and the option named (a limit that moved by one byte would fail here). Zip total
# uncompressed bytes, zip entries, RDF bytes, JSON body bytes, upload bytes.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
export BO_MAX_ZIP_TOTAL_BYTES=200000 BO_MAX_ZIP_ENTRIES=6 BO_MAX_YAML_BYTES=4096 BO_MAX_JSON_BODY=1000
export BO_MAX_UPLOAD_BYTES=300000 BO_MAX_DRAFTS_PER_USER=100
start_server
UP=$(new_user up@example.org uploader)
upload() { req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
# pkg DIR TOTAL ENTRIES: rdf.yaml plus filler files, TOTAL uncompressed bytes in ENTRIES entries
pkg() {
  rm -rf "$1"; tiny_dataset "$1" "limits"
  local rdf; rdf=$(stat -c %s "$1/rdf.yaml")
  local left=$(($2 - rdf)) i
  for i in $(seq 2 "$3"); do
    local n=$((left / ($3 - i + 1)))
    head -c "$n" /dev/urandom >"$1/f$i.bin"; left=$((left - n))
  done
  (cd "$1" && rm -f ../pkg.zip && zip -q -0 -X ../pkg.zip ./*)
}
pkg "$T/a" 200000 6; upload "$T/pkg.zip"; expect_status 202
pkg "$T/a" 200001 6; upload "$T/pkg.zip"; expect_problem 413 too-large
jqb .detail | grep -q max_zip_total_bytes || fail "total: $(jqb .detail)"
pkg "$T/a" 50000 7; upload "$T/pkg.zip"; expect_problem 413 too-large
jqb .detail | grep -q max_zip_entries || fail "entries: $(jqb .detail)"
# the RDF: 4096 bytes pass the size check, 4097 do not (padding in a YAML comment)
rdf_of() { tiny_dataset "$T/r" "rdf size"; local n=$(( $1 - $(stat -c %s "$T/r/rdf.yaml") - 2 ));
  { printf '#'; head -c "$n" /dev/zero | tr '\0' 'x'; printf '\n'; } >>"$T/r/rdf.yaml"
  [ "$(stat -c %s "$T/r/rdf.yaml")" = "$1" ] || fail "rdf_of made $(stat -c %s "$T/r/rdf.yaml") bytes"
  (cd "$T/r" && rm -f ../r.zip && zip -q -X ../r.zip rdf.yaml); }
rdf_of 4096; upload "$T/r.zip"; expect_status 202
rdf_of 4097; upload "$T/r.zip"; expect_problem 413 too-large
jqb .detail | grep -q "rdf.yaml' is 4097 bytes; the limit is 4096" || fail "yaml: $(jqb .detail)"
# a JSON body of exactly 1000 bytes is read (and judged on its content); 1001 is 413
json_of() { local pad=$(( $1 - 12 )); printf '{"email":"%s"}' "$(head -c "$pad" /dev/zero | tr '\0' 'a')" >"$T/j.json"
  [ "$(stat -c %s "$T/j.json")" = "$1" ] || fail "json_of made $(stat -c %s "$T/j.json")"; }
json_of 1000; req POST /api/v1/signin -H 'Content-Type: application/json' --data-binary @"$T/j.json"
[ "$STATUS" != 413 ] || fail "a body at the limit was refused as too large"
json_of 1001; req POST /api/v1/signin -H 'Content-Type: application/json' --data-binary @"$T/j.json"
expect_problem 413 too-large
# the upload body: 300000 bytes are read, 300001 are refused from Content-Length
head -c 300000 /dev/urandom >"$T/u.bin"; upload "$T/u.bin"
[ "$STATUS" != 413 ] || fail "an upload at the limit was refused as too large"
head -c 300001 /dev/urandom >"$T/u.bin"; upload "$T/u.bin"; expect_problem 413 too-large
jqb .detail | grep -q max_upload_bytes || fail "upload: $(jqb .detail)"

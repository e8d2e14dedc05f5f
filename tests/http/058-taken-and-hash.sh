# Two refusals that only unit tests covered: a package naming an id that another
# concept's maintainers own is refused (409 id-taken) and leaves their draft untouched;
# a package whose RDF declares a wrong sha256 for a file it ships ends with a failed
# validation that names the file and both hashes.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server
ALICE=$(new_user alice@example.org uploader)
MALLORY=$(new_user mallory@example.org uploader)
P=$T/p
tiny_dataset "$P" mine
zip_dir "$P" "$T/a.zip"
upload_reviewable "$ALICE" "$T/a.zip"
req GET "/api/v1/resources/$ID/draft"; REV=$(jqb .revision)
# Mallory names Alice's id, in the RDF and in the query
M=$T/m
mkdir -p "$M"
printf 'id: %s\ntype: dataset\nformat_version: 0.2.4\nname: hijack\ndescription: d\nauthors: [{name: Mallory}]\nlicense: CC0-1.0\n' "$ID" >"$M/rdf.yaml"
zip_dir "$M" "$T/m.zip"
req POST /api/v1/uploads -H "$(auth "$MALLORY")" -H 'Content-Type: application/zip' --data-binary @"$T/m.zip"
expect_problem 409 id-taken
jqb .detail | grep -q "belongs to another concept's maintainers; remove 'id' from the RDF" || fail "detail: $(jqb .detail)"
req POST "/api/v1/uploads?id=$ID" -H "$(auth "$MALLORY")" -H 'Content-Type: application/zip' --data-binary @"$T/a.zip"
expect_problem 409 id-taken
# the id came from the query, not the RDF: the advice says so
jqb .detail | grep -q "belongs to another concept's maintainers; upload without ?id=" || fail "detail: $(jqb .detail)"
req GET "/api/v1/resources/$ID/draft"; expect_status 200
expect_jq ".revision == $REV and .rdf.name == \"mine\""

# a wrong sha256 for a shipped file
H=$T/h
mkdir -p "$H"
echo "the data" >"$H/data.txt"
BAD=abababababababababababababababababababababababababababababababab
printf 'type: dataset\nformat_version: 0.3.0\nname: hashes\ndescription: d\nauthors: [{name: Alice}]\nlicense: CC0-1.0\ncite: [{text: a paper, doi: 10.5281/zenodo.1}]\nattachments:\n  - source: data.txt\n    sha256: \"%s\"\n' "$BAD" >"$H/rdf.yaml"
zip_dir "$H" "$T/h.zip"
req POST /api/v1/uploads -H "$(auth "$ALICE")" -H 'Content-Type: application/zip' --data-binary @"$T/h.zip"
if [ "$STATUS" = 202 ]; then
  HID=$(jqb .id)
  wait_state "$HID" "changes requested" 60  # a failed verdict goes back to its uploader
  req GET "/api/v1/resources/$HID/draft"
  expect_jq '.validation.status == "failed"'
  V=$(jq -c '[.validation.details[].errors[]] | map(select(.type == "sha256_mismatch"))' "$T/body")
else
  expect_problem 422 invalid-rdf
  V=$(jq -c '[.errors[]?, (.validation.details[]?.errors[]?)] | map(select(.type == "sha256_mismatch"))' "$T/body")
fi
GOOD=$(sha256sum "$H/data.txt" | cut -d' ' -f1)
echo "$V" | jq -e --arg g "$GOOD" --arg b "$BAD" 'length == 1 and (.[0].msg | contains("data.txt") and contains($g) and contains($b))' >/dev/null ||
  fail "no sha256 mismatch naming the file and both hashes: $V"

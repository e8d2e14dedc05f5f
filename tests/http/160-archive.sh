# Archive to Zenodo against the double in tests/fakes/zenodo.py: the first and second
# version of one concept end with one concept DOI and two version DOIs, the second
# deposition holds exactly the second version's files (nested paths kept); 429, 500 and
# dropped connections at every step are retried into one deposition; a server SIGKILLed
# in the middle of an archive job finishes it after restart with one deposition per
# version; an unknown license and missing authors make a dead job with the reason, and
# `jobs retry` resumes it. The DOIs reach info.json, collection.json and the API.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env
ZP=$(free_port)
/usr/bin/python3 "$BO_SOURCE_DIR/tests/fakes/zenodo.py" "$ZP" test-token other-token 2>"$T/zenodo.log" &
EXTRA_PIDS+=($!)
ZB=http://127.0.0.1:$ZP
for _ in $(seq 1 50); do curl -fsS "$ZB/_state" >/dev/null 2>&1 && break; sleep 0.1; done
export BO_ZENODO_URL=$ZB BO_ZENODO_TOKEN=test-token BO_ZENODO_RETRIES=3 BO_ZENODO_MAX_WAIT=2
export BO_JOB_RUNNERS=0
start_server
UP=$(new_user sci@example.org uploader)
REV=$(new_user rev@example.org reviewer)
run_jobs() { "$BO_BIN" jobs run >>"$T/jobs.log" 2>&1 || { cat "$T/jobs.log"; fail "jobs run failed"; }; }
zstate() { curl -fsS "$ZB/_state" >"$T/zstate"; }
faults() { curl -fsS -X POST "$ZB/_faults" -H 'Content-Type: application/json' -d "$1" >/dev/null; }
accept() {
  req POST "/api/v1/resources/$1/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' \
    -d '{"decision":"accept","acknowledge_failed_tests":true}'
  expect_status 202
}
# publish DIR [ID]: uploads the folder (a new concept, or a version of ID), runs the jobs
# up to review, accepts; prints the id
publish() {
  rm -f "$T/p.zip"; zip_dir "$1" "$T/p.zip"
  req POST "/api/v1/uploads${2:+?id=$2}" -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/p.zip"
  expect_status 202
  local id; id=$(jqb .id)
  run_jobs
  accept "$id"
  echo "$id"
}
M=$T/m
mkdir -p "$M" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_multi_tensor/." "$M/" && chmod -R u+w "$M"
sed -i 's|source: multi_tensor_unet.py|source: https://example.org/multi_tensor_unet.py|' "$M/bioimageio.yaml"

# ---- version 1: a new deposition, published, DOIs written back
ID=$(publish "$M")
run_jobs
zstate
jq -e '.depositions | length == 1 and .[0].submitted == true' "$T/zstate" >/dev/null || { cat "$T/zstate"; fail "not one published deposition"; }
jq -e '[.log[] | select(.step == "license")] | length >= 1' "$T/zstate" >/dev/null || fail "the license was not looked up"
D1=$(jq -r '.depositions[0].id' "$T/zstate"); C1=$(jq -r '.depositions[0].conceptrecid' "$T/zstate")
req GET "/api/v1/resources/$ID"; expect_status 200
expect_jq '.concept_doi == "10.5072/zenodo.'"$C1"'" and .versions[0].doi == "10.5072/zenodo.'"$D1"'" and .versions[0].archive_state == "published" and .versions[0].archive_job == "done"'
get_object "$ID/1/info.json" "$T/info1.json"
jq -e '.doi == "10.5072/zenodo.'"$D1"'" and .concept_doi == "10.5072/zenodo.'"$C1"'" and .download_count == 0' "$T/info1.json" >/dev/null ||
  { cat "$T/info1.json"; fail "info.json of version 1 has no DOIs"; }
# the metadata Zenodo got
jq -e --arg id "$ID" '.depositions[0].metadata | .title == "bioimage.io upload: \($id)" and .upload_type == "software"
  and .creators[0].name == "Pape, Constantin" and .license == "cc-by-4.0" and (.keywords | index("backup.bioimage.io") != null)
  and (.description | test("<")) and .version == "1"
  and ([.related_identifiers[].identifier] | index("https://bioimage.io/#/?id=\($id)") != null)' "$T/zstate" >/dev/null ||
  { jq '.depositions[0].metadata' "$T/zstate"; fail "deposition metadata"; }

# Zenodo has no folders (the double refuses a key with '/'): the record is the package as
# one zip, with rdf.yaml and the top-level cover beside it; the notes name the zip's SHA-256
jq -r --argjson d "$D1" '.depositions[] | select(.id == $d) | .files | keys | sort | join(" ")' "$T/zstate" >"$T/d1files"
[ "$(cat "$T/d1files")" = "cover.jpg package.zip rdf.yaml" ] || fail "deposition $D1 holds: $(cat "$T/d1files")"
curl -fsS "$ZB/_file/$D1/package.zip" -o "$T/p1.zip" || fail "no package.zip in deposition $D1"
jq -e --arg s "$(sha256sum "$T/p1.zip" | cut -d' ' -f1)" '.depositions[0].metadata.notes | contains("package.zip (SHA-256 \($s))")' \
  "$T/zstate" >/dev/null || { jq '.depositions[0].metadata.notes' "$T/zstate"; fail "the notes do not name the zip's SHA-256"; }

# ---- version 2 with a nested file and a top-level file of the same base name; 429, 500
# and a dropped connection at every step
mkdir -p "$M/extra/deep" && echo "version two notes" >"$M/extra/deep/notes.txt"
echo "top-level notes, other bytes" >"$M/notes.txt"
faults '{"faults": [
  {"step": "newversion", "kind": "429", "times": 1}, {"step": "newversion", "kind": "500", "times": 1},
  {"step": "get", "kind": "500", "times": 1}, {"step": "get", "kind": "drop", "times": 1},
  {"step": "delete", "kind": "429", "times": 1}, {"step": "upload", "kind": "500", "times": 1},
  {"step": "upload", "kind": "drop", "times": 1}, {"step": "license", "kind": "429", "times": 1},
  {"step": "metadata", "kind": "500", "times": 1}, {"step": "metadata", "kind": "429", "times": 1},
  {"step": "publish", "kind": "500", "times": 1}, {"step": "publish", "kind": "drop", "times": 1}]}'
publish "$M" "$ID" >/dev/null
run_jobs
zstate
jq -e '[.faults[] | select(.times > 0)] | length == 0' "$T/zstate" >/dev/null || { jq .faults "$T/zstate"; fail "not every fault fired"; }
jq -e '.depositions | length == 2 and all(.submitted) and (map(.conceptrecid) | unique | length == 1)' "$T/zstate" >/dev/null ||
  { jq '.depositions | map({id, conceptrecid, submitted})' "$T/zstate"; fail "expected two published depositions of one concept"; }
D2=$(jq -r '.depositions | max_by(.id) | .id' "$T/zstate")
[ "$D2" != "$D1" ] || fail "version 2 reused deposition $D1"
req GET "/api/v1/resources/$ID/versions/2"; expect_status 200
expect_jq '.doi == "10.5072/zenodo.'"$D2"'" and .concept_doi == "10.5072/zenodo.'"$C1"'" and .archive_state == "published"'
jqb '[.files[].path] | sort | .[]' >"$T/v2files"
grep -qx 'extra/deep/notes.txt' "$T/v2files" || fail "the nested file is not in version 2"
grep -qx 'notes.txt' "$T/v2files" || fail "the top-level notes.txt is not in version 2"
jq -r --argjson d "$D2" '.depositions[] | select(.id == $d) | .files | keys | sort | join(" ")' "$T/zstate" >"$T/d2files"
[ "$(cat "$T/d2files")" = "cover.jpg package.zip rdf.yaml" ] || fail "deposition $D2 holds: $(cat "$T/d2files")"
# restore version 2 from its record: unzip package.zip; every file of the version comes
# back at its path, byte for byte, the nested notes.txt and the top-level one both
curl -fsS "$ZB/_file/$D2/package.zip" -o "$T/p2.zip" || fail "no package.zip in deposition $D2"
mkdir -p "$T/restore" && (cd "$T/restore" && unzip -q "$T/p2.zip") || fail "package.zip does not unzip"
(cd "$T/restore" && find . -type f | sed 's|^\./||' | sort) >"$T/restored"
diff "$T/v2files" "$T/restored" || fail "package.zip does not hold exactly version 2's files"
while read -r f; do
  get_object "$ID/2/files/$f" "$T/orig" || fail "cannot fetch $f"
  cmp -s "$T/orig" "$T/restore/$f" || fail "$f differs between the version and its Zenodo package"
done <"$T/v2files"
cmp -s "$T/restore/notes.txt" "$T/restore/extra/deep/notes.txt" && fail "the two notes.txt collapsed into one"
cmp -s "$T/restore/notes.txt" "$M/notes.txt" && cmp -s "$T/restore/extra/deep/notes.txt" "$M/extra/deep/notes.txt" ||
  fail "the restored notes.txt files are not the uploaded ones"
jq -e --argjson d "$D1" '.depositions[] | select(.id == $d) | .files | has("extra/deep/notes.txt") | not' "$T/zstate" >/dev/null ||
  fail "version 1's deposition changed"
# the newversion went to the published deposition, never to the concept id
jq -e --arg c "$C1" '[.log[] | select(.step == "newversion" and (.path | contains("/\($c)/")))] | length == 0' "$T/zstate" >/dev/null ||
  fail "newversion was called on the concept id"
get_object "$ID/2/info.json" "$T/info2.json"
jq -e '.doi == "10.5072/zenodo.'"$D2"'" and .concept_doi == "10.5072/zenodo.'"$C1"'"' "$T/info2.json" >/dev/null || fail "info.json v2"
run_jobs
req GET /collection.json; expect_status 200
jq -e --arg id "$ID" --arg c "10.5072/zenodo.$C1" '[.collection[] | select(.id == $id)][0] | .concept_doi == $c' "$T/body" >/dev/null ||
  { jq --arg id "$ID" '[.collection[] | select(.id == $id)][0]' "$T/body"; fail "collection.json has no concept_doi"; }
grep -q "10.5072/zenodo.$D2" "$T/body" || fail "collection.json does not name version 2's DOI"
req GET /metrics; expect_status 200
grep -q '^bo_archive_versions{state="published"} 2$' "$T/body" || { grep bo_archive "$T/body"; fail "metrics"; }

# ---- version 3: the server is SIGKILLed while the archive job uploads
echo "three" >"$M/extra/v3.txt"
publish "$M" "$ID" >/dev/null
faults '{"faults": [{"step": "upload", "kind": "delay", "seconds": 3, "times": 1}]}'
stop_server
BO_JOB_RUNNERS=1 start_server
for _ in $(seq 1 300); do
  zstate; jq -e '.faults[0].fired == 1' "$T/zstate" >/dev/null && break; sleep 0.1
done
jq -e '.faults[0].fired == 1' "$T/zstate" >/dev/null || { tail -30 "$T/server.log"; fail "the archive upload never started"; }
kill9_server
BO_JOB_RUNNERS=1 start_server
for _ in $(seq 1 300); do
  req GET "/api/v1/resources/$ID"; [ "$(jqb '.versions[] | select(.version == "3") | .doi')" != null ] && break; sleep 0.2
done
expect_jq '[.versions[] | select(.doi != null)] | length == 3'
zstate
jq -e '.depositions | length == 3 and all(.submitted) and (map(.conceptrecid) | unique | length == 1)' "$T/zstate" >/dev/null ||
  { jq '.depositions | map({id, conceptrecid, submitted})' "$T/zstate"; fail "expected one deposition per version"; }
stop_server
start_server

# ---- an unknown license and missing authors: dead jobs with the reason; retry resumes
sed -i 's|^license: CC-BY-4.0|license: 0BSD|' "$M/bioimageio.yaml"
ID2=$(publish "$M")
run_jobs
req GET "/api/v1/resources/$ID2"; expect_status 200
expect_jq '.versions[0].state == "published" and .versions[0].doi == null and .versions[0].archive_job == "dead"'
expect_jq '.versions[0].archive_error | test("0bsd.*not in Zenodo.s license vocabulary")'
JOB=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT id FROM jobs WHERE kind = 'archive' AND subject = '$ID2/1'")
# an operator fixes the RDF's license but the authors are missing: dead again, with that reason
sqlite3 "$BO_DATA_DIR/backoffice.db" "UPDATE versions SET rdf_json = json_set(json_set(rdf_json, '$.license', 'MIT'), '$.authors', json('[]')) WHERE concept_id = '$ID2'"
"$BO_BIN" jobs retry "$JOB" >/dev/null
run_jobs
req GET "/api/v1/resources/$ID2"
expect_jq '.versions[0].archive_job == "dead" and (.versions[0].archive_error | test("no authors"))'
expect_jq '.versions[0].archive_state == "files-uploaded"'
sqlite3 "$BO_DATA_DIR/backoffice.db" "UPDATE versions SET rdf_json = json_set(rdf_json, '$.authors', json('[{\"name\": \"Ann Lee\"}]')) WHERE concept_id = '$ID2'"
zstate; N=$(jq '.depositions | length' "$T/zstate")
"$BO_BIN" jobs retry "$JOB" >/dev/null
run_jobs
req GET "/api/v1/resources/$ID2"
expect_jq '.versions[0].archive_state == "published" and (.versions[0].doi | startswith("10.5072/zenodo."))'
zstate
[ "$(jq '.depositions | length' "$T/zstate")" = "$N" ] || fail "the retry made another deposition"
# `backup` finds nothing left to archive
"$BO_BIN" backup | grep -q '^0 archive job(s) queued' || fail "backup queued jobs for archived versions"

# ---- re-archiving a version (for versions archived before the package.zip layout): a new
# Zenodo version of the same concept, in today's layout; the version's DOI follows it
zstate; N=$(jq '.depositions | length' "$T/zstate")
req GET "/api/v1/resources/$ID"; OLD1=$(jqb '.versions[] | select(.version == "1") | .doi')
"$BO_BIN" backup --reupload "$ID/1" | grep -q "archive job queued for $ID/1" || fail "backup --reupload did not queue"
"$BO_BIN" backup --reupload "$ID/1" >/dev/null 2>"$T/again.err" && fail "a second re-upload while one is pending was queued"
grep -q "pending" "$T/again.err" || fail "no reason: $(cat "$T/again.err")"
run_jobs
zstate
[ "$(jq '.depositions | length' "$T/zstate")" = $((N + 1)) ] || fail "the re-upload did not make exactly one deposition"
jq -e --arg c "$C1" '.depositions | max_by(.id) | .submitted and (.conceptrecid | tostring) == $c and
  (.files | keys | sort == ["cover.jpg", "package.zip", "rdf.yaml"])' "$T/zstate" >/dev/null ||
  { jq '.depositions | max_by(.id) | {id, conceptrecid, submitted, files: (.files | keys)}' "$T/zstate"; fail "the re-upload's deposition"; }
DN=$(jq -r '.depositions | max_by(.id) | .id' "$T/zstate")
req GET "/api/v1/resources/$ID"; expect_status 200
expect_jq '(.versions[] | select(.version == "1") | .doi) == "10.5072/zenodo.'"$DN"'" and .concept_doi == "10.5072/zenodo.'"$C1"'"'
[ "$OLD1" != "10.5072/zenodo.$DN" ] || fail "the version kept its old DOI"
"$BO_BIN" backup --reupload "$ID/99" >/dev/null 2>"$T/err" && fail "re-upload of a missing version succeeded"
grep -q "no published version 99" "$T/err" || fail "missing version: $(cat "$T/err")"
"$BO_BIN" backup --reupload "$ID" >/dev/null 2>"$T/err" && fail "--reupload without a version succeeded"
grep -q "ID/VERSION" "$T/err" || fail "bad argument: $(cat "$T/err")"

# Every file the server publishes, and every summary in the API, read as the ecosystem's
# clients read them: tests/lib/ref_shapes.py holds the reference models (bioimageio.spec
# v0.5.7.2, bioimage-io/collection 4eb97f223) as structural checks, and this script feeds it
# what a client fetches over HTTP after a publish, with a second concept awaiting review:
# the six collection files, versions.json, info.json, test_summary.yaml, the full summaries
# under summaries/, each draft's draft.json, log.json and chat.json, and the API's
# validation and test summaries. Beside the shapes it checks what ties files together in
# the reference: id_map values are exactly {source, sha256} with the sha256 of the bytes at
# source, and a version's `created` is its info.json's in collection.json, all_versions.json
# and versions.json. Every violation is listed before the script fails.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
SHAPES=$BO_SOURCE_DIR/tests/lib/ref_shapes.py
# the checker must tell a reference file from a broken one before it judges ours
/usr/bin/python3 "$SHAPES" --self-test >"$T/self-test.out" 2>&1 || { cat "$T/self-test.out"; fail "ref_shapes.py --self-test"; }
grep -q ' 0 wrong$' "$T/self-test.out" || { cat "$T/self-test.out"; fail "self-test summary line"; }

setup_env
export BO_JOB_RUNNERS=0
start_server
UP=$(new_user sci@example.org uploader)
REV=$(new_user rev@example.org reviewer)
run_jobs() { "$BO_BIN" jobs run >>"$T/jobs.log" 2>&1 || { cat "$T/jobs.log"; fail "jobs run failed"; }; }
upload() { req POST "/api/v1/uploads${2:-}" -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
state() { curl -fsS "$BASE/api/v1/resources/$1/draft" | jq -r .state; }
say() { req POST "/api/v1/resources/$1/draft/chat" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d "{\"text\":\"$2\"}"; expect_status 201; }

# what a client gets at a URL, kept under $T/got/ (the name says where it came from)
mkdir -p "$T/got"
fetch() { # fetch PATH NAME: GET $BASE/PATH (following the S3 redirect) into $T/got/NAME
  curl -fsSL "$BASE/$1" -o "$T/got/$2" || fail "GET /$1 failed"
}
# shape KIND NAME...: the checker's violations are collected, the script goes on
: >"$T/violations"
shape() {
  local kind=$1 rc=0; shift
  (cd "$T/got" && exec /usr/bin/python3 "$SHAPES" "$kind" "$@") >>"$T/violations" 2>"$T/shape.err" || rc=$?
  # 1: violations (listed at the end); anything else: the checker itself failed
  [ $rc -le 1 ] || { cat "$T/shape.err"; fail "ref_shapes.py $kind $* exited $rc"; }
}
violation() { echo "$*" >>"$T/violations"; }

# the corpus model of 130 (architecture by URL: the package leaves the code out), published
M=$T/m
mkdir -p "$M" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_multi_tensor/." "$M/" && chmod -R u+w "$M"
sed -i 's|source: multi_tensor_unet.py|source: https://example.org/multi_tensor_unet.py|' "$M/bioimageio.yaml"
zip_dir "$M" "$T/m.zip"
upload "$T/m.zip"; expect_status 202
ID=$(jqb .id)
run_jobs
[ "$(state "$ID")" = "awaiting review" ] || fail "$ID not awaiting review: $(state "$ID")"
say "$ID" "Please check the cover."
run_jobs

# the API's summaries and the draft's files while it awaits review
api_summaries() { # api_summaries ID: .validation and each .tests[].summary as ValidationSummary
  local id=$1 n i
  fetch "api/v1/resources/$id/draft" "api-$id-draft.json"
  jq -e '.validation | type == "object"' "$T/got/api-$id-draft.json" >/dev/null || fail "$id: no validation in the API"
  jq '.validation' "$T/got/api-$id-draft.json" >"$T/got/api-$id-validation.json"
  n=$(jq '.tests | length' "$T/got/api-$id-draft.json")
  [ "$n" -ge 1 ] || fail "$id: no dynamic test in the API"
  set -- "api-$id-validation.json"
  for i in $(seq 0 $((n - 1))); do
    jq ".tests[$i].summary" "$T/got/api-$id-draft.json" >"$T/got/api-$id-test$i.json"
    set -- "$@" "api-$id-test$i.json"
  done
  shape validation-summary "$@"
}
draft_files() { # draft_files ID: <id>/draft/{draft,log,chat}.json
  fetch "files/$1/draft/draft.json" "$1-draft-draft.json"
  fetch "files/$1/draft/log.json" "$1-draft-log.json"
  fetch "files/$1/draft/chat.json" "$1-draft-chat.json"
  shape draft-json "$1-draft-draft.json"
  shape log-json "$1-draft-log.json"
  shape chat-json "$1-draft-chat.json"
  jq -e '(.messages | length) >= 1' "$T/got/$1-draft-chat.json" >/dev/null || fail "$1: the chat message is not in chat.json"
}
api_summaries "$ID"
draft_files "$ID"

# accept (the state-dict weights cannot pass without their code: acknowledged) and publish
req POST "/api/v1/resources/$ID/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' \
  -d '{"decision":"accept","acknowledge_failed_tests":true}'
expect_status 202
VER=$(jqb .version)
run_jobs
req GET "/api/v1/resources/$ID/versions/$VER"; expect_status 200; expect_jq '.state == "published"'

# a second concept, left awaiting review with a chat message; then a rebuild
upload "$T/m.zip"; expect_status 202
ID2=$(jqb .id)
run_jobs
[ "$(state "$ID2")" = "awaiting review" ] || fail "$ID2 not awaiting review: $(state "$ID2")"
say "$ID2" "Looking at it."
run_jobs
"$BO_BIN" rebuild --reason "128: reference shapes" >>"$T/jobs.log" 2>&1 || { cat "$T/jobs.log"; fail "rebuild"; }
run_jobs
api_summaries "$ID2"
draft_files "$ID2"

# the collection files
for f in collection collection_draft all_versions all_versions_draft id_map id_map_draft; do fetch "$f.json" "$f.json"; done
shape collection collection.json
shape collection-draft collection_draft.json
shape all-versions all_versions.json all_versions_draft.json
shape id-map id_map.json id_map_draft.json
jq -e --arg id "$ID" '[.collection[] | select(.id == $id)] | length == 1' "$T/got/collection.json" >/dev/null ||
  fail "$ID is not in collection.json"
jq -e --arg id "$ID2" '[.collection[] | select(.id == $id and .status.name == "awaiting review")] | length == 1' \
  "$T/got/collection_draft.json" >/dev/null || fail "$ID2 is not in collection_draft.json with its status"

# id_map values: exactly {source, sha256} (LightHttpFileDescr forbids other keys), the
# sha256 64 lower-case hex and that of the bytes at source (LightHttpFileDescr.get_reader
# checks it); the aliases the reference writes: <id>, <id>/<version>; <id>/draft for a draft
for m in id_map id_map_draft; do
  jq -r 'to_entries[] | select((.value | type) != "object" or (.value | keys) != ["sha256", "source"] or
      (.value.sha256 | type) != "string" or (.value.sha256 | test("^[0-9a-f]{64}$") | not)) | .key' \
    "$T/got/$m.json" | while read -r k; do violation "$m.json: $k: not exactly {source, sha256} with a 64-hex sha256"; done
  jq -r 'to_entries[] | [.key, .value.source, .value.sha256] | @tsv' "$T/got/$m.json" | while IFS=$'\t' read -r k src sha; do
    got=$(curl -fsSL "$src" | sha256sum | cut -d' ' -f1) || got="(unreadable)"
    [ "$got" = "$sha" ] || violation "$m.json: $k.sha256: $sha is not the sha256 of $src ($got)"
  done
done
jq -e --arg id "$ID" --arg v "$VER" 'has($id) and has($id + "/" + $v)' "$T/got/id_map.json" >/dev/null ||
  violation "id_map.json: no $ID or $ID/$VER"
jq -e --arg id "$ID2" 'has($id) and has($id + "/draft")' "$T/got/id_map_draft.json" >/dev/null ||
  violation "id_map_draft.json: no $ID2 or $ID2/draft"

# the published version's files
fetch "files/$ID/versions.json" "$ID-versions.json"
fetch "files/$ID/$VER/info.json" "$ID-$VER-info.json"
fetch "files/$ID/$VER/test_summary.yaml" "$ID-$VER-test_summary.yaml"
fetch "files/$ID/$VER/files/rdf.yaml" "$ID-$VER-rdf.yaml"
shape versions "$ID-versions.json"
shape info-json "$ID-$VER-info.json"
# test_summary.yaml: the reference's TestSummary ({status, tests: {"<tool>_<version>":
# [entries]}}) whose top level is also the static ValidationSummary, with the rdf_sha256 of
# the published rdf.yaml (as every legacy test_summary.yaml of the corpus has it)
shape test-summary-written "$ID-$VER-test_summary.yaml"
shape validation-summary "$ID-$VER-test_summary.yaml"
RDF_SHA=$(sha256sum "$T/got/$ID-$VER-rdf.yaml" | cut -d' ' -f1)
/usr/bin/python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
got = d.get("rdf_sha256", "missing") if isinstance(d, dict) else "missing"
got == sys.argv[2] or print("%s: rdf_sha256: %s, not the sha256 of the published rdf.yaml (%s)" % (sys.argv[3], got, sys.argv[2]))' \
  "$T/got/$ID-$VER-test_summary.yaml" "$RDF_SHA" "$ID-$VER-test_summary.yaml" >>"$T/violations"

# full summaries: summaries/static.json and summaries/<weight_format>.json, each a
# ValidationSummary; those that exist are checked (the version's API links or a try)
n=0
for s in static $(jq -r '.rdf.weights // {} | keys[]' "$T/got/api-$ID2-draft.json"); do
  code=$(curl -sSL -o "$T/got/$ID-$VER-summary-$s.json" -w '%{http_code}' "$BASE/files/$ID/$VER/summaries/$s.json")
  case $code in
    200) shape validation-summary "$ID-$VER-summary-$s.json"; n=$((n + 1)) ;;
    404) rm -f "$T/got/$ID-$VER-summary-$s.json" ;;
    *) violation "GET /files/$ID/$VER/summaries/$s.json: HTTP $code" ;;
  esac
done
echo "NOTE $n full summaries under $ID/$VER/summaries/ checked"

# a version's created is its info.json's everywhere the reference copies it: the
# collection entry (CollectionEntry.created = record_version.info.created), all_versions
# (ConceptVersion.created = v.info.created) and versions.json (VersionInfo.created)
CREATED=$(jq -r .created "$T/got/$ID-$VER-info.json")
jq -e --arg id "$ID" --arg c "$CREATED" '.collection[] | select(.id == $id) | .created == $c' "$T/got/collection.json" >/dev/null ||
  violation "collection.json: $ID.created: $(jq -r --arg id "$ID" '.collection[] | select(.id == $id) | .created' "$T/got/collection.json") is not info.json's created $CREATED"
jq -e --arg id "$ID" --arg v "$VER" --arg c "$CREATED" '.entries[] | select(.concept == $id) | .versions[] | select(.v == $v) | .created == $c' \
  "$T/got/all_versions.json" >/dev/null ||
  violation "all_versions.json: $ID versions[v=$VER].created is not info.json's created $CREATED"
jq -e --arg v "$VER" --arg c "$CREATED" '.versions[] | select(.v == $v) | .created == $c' "$T/got/$ID-versions.json" >/dev/null ||
  violation "$ID-versions.json: versions[v=$VER].created is not info.json's created $CREATED"

stop_server
if [ -s "$T/violations" ]; then
  echo "--- $(wc -l <"$T/violations") violation(s) of the reference models"
  cat "$T/violations"
  echo "--- the same, counted with indices as [N]"
  sed -E 's/\[[0-9]+\]/[N]/g' "$T/violations" | sort | uniq -c
  fail "published files or API summaries do not load into the reference models (listed above)"
fi

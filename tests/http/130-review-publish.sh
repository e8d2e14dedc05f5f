# Review and publish over HTTP, as reviewers and uploaders use it: the review queue,
# request changes (message in the chat), a new revision, accept, the publish job, the
# immutable version (rdf.yaml byte-identical to the stamped draft RDF), yank; and every
# illegal step refused with the status that fits. Job runners are off: the test runs the
# jobs with `backoffice jobs run`, so it can act while a draft is still unpacking.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
. "$BO_SOURCE_DIR/tests/lib/smtp.sh"
need_corpus
setup_env
MB=$T/maildir
smtp_start "$MB"
export BO_JOB_RUNNERS=0 BO_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT BO_SMTP_TIMEOUT=5
start_server
UP=$(new_user sci@example.org uploader)
REV=$(new_user rev@example.org reviewer)
STR=$(new_user stranger@example.org uploader)
run_jobs() { "$BO_BIN" jobs run >>"$T/jobs.log" 2>&1 || { cat "$T/jobs.log"; fail "jobs run failed"; }; }
upload() { req POST "/api/v1/uploads${2:-}" -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
review() { req POST "/api/v1/resources/$1/draft/review" -H "$(auth "$2")" -H 'Content-Type: application/json' -d "$3"; }
state() { curl -fsS "$BASE/api/v1/resources/$1/draft" | jq -r .state; }
# mail FILE: the one delivered message to TO whose Subject matches SUBJ (waits up to 30 s)
mail_to() {
  local f=
  for _ in $(seq 1 300); do
    f=$(grep -lE -- "^Subject: $2" "$MB"/new/* 2>/dev/null | xargs -r grep -l -- "^To: $1" || true)
    [ -n "$f" ] && break
    sleep 0.1
  done
  [ -n "$f" ] || { grep -h '^\(To\|Subject\):' "$MB"/new/* 2>/dev/null; fail "no mail to $1 with subject /$2/"; }
  [ "$(echo "$f" | wc -l)" = 1 ] || fail "more than one mail to $1 with subject /$2/"
  echo "$f"
}

# a corpus model whose architecture file is referenced by URL (the package leaves it out)
M=$T/m
mkdir -p "$M" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_multi_tensor/." "$M/" && chmod -R u+w "$M"
sed -i 's|source: multi_tensor_unet.py|source: https://example.org/multi_tensor_unet.py|' "$M/bioimageio.yaml"
zip_dir "$M" "$T/m.zip"

upload "$T/m.zip"; expect_status 202
ID=$(jqb .id)
# nothing can be decided while the draft is unpacking
review "$ID" "$REV" '{"decision":"accept"}'; expect_problem 409 state-conflict
jqb .detail | grep -q "unpacking" || fail "the detail does not name the state: $(jqb .detail)"
run_jobs
[ "$(state "$ID")" = "awaiting review" ] || fail "not awaiting review: $(state "$ID")"
# the uploader and the reviewer are told
f=$(mail_to sci@example.org "\\[bioimage.io\\] $ID: awaiting review")
grep -q "/status/$ID" "$f" || fail "the uploader's mail has no status link"
f=$(mail_to rev@example.org "\\[bioimage.io\\] $ID: new model awaiting review")
grep -q "/review" "$f" || fail "the reviewer's mail has no review link"

# the queue: reviewers only, oldest first, with age and verdicts
req GET /api/v1/review-queue -H "$(auth "$UP")"; expect_problem 403 forbidden
req GET /api/v1/review-queue -H "$(auth "$REV")"; expect_status 200
jq -e --arg id "$ID" '[.items[] | select(.id == $id and .validation == "passed" and .age_seconds >= 0 and .type == "model")] | length == 1' \
  "$T/body" >/dev/null || { body; fail "the draft is not in the queue as expected"; }

# an uploader cannot review; a decision needs a known decision; changes need a message
review "$ID" "$UP" '{"decision":"accept"}'; expect_problem 403 forbidden
review "$ID" "$REV" '{"decision":"maybe"}'; expect_problem 400 bad-request
review "$ID" "$REV" '{"decision":"request_changes","message":"   "}'; expect_problem 400 bad-request
expect_jq '.errors[0].loc == ["message"]'
review "$ID" "$REV" '{"decision":"request_changes","message":"Please add a cover image of the output."}'
expect_status 200; expect_jq '.state == "changes requested"'
run_jobs
f=$(mail_to sci@example.org "\\[bioimage.io\\] $ID: changes requested")
grep -q "Please add a cover image of the output." "$f" || fail "the changes-requested mail lacks the message"
# the message is the chat's, which is private: the public draft, draft.json and log.json
# only say that changes were asked for
curl -fsS "$BASE/api/v1/resources/$ID/draft" >"$T/pub.json"
! grep -q "Please add a cover image" "$T/pub.json" || fail "the reviewer's message is public in the draft"
jq -e '.state_detail | test("a reviewer asked for changes")' "$T/pub.json" >/dev/null || fail "state_detail: $(jq .state_detail "$T/pub.json")"
for f in draft.json log.json; do
  get_object "$ID/draft/$f" "$T/pub-$f"
  ! grep -q "Please add a cover image" "$T/pub-$f" || fail "the reviewer's message is public in $f"
done
review "$ID" "$REV" '{"decision":"request_changes","message":"again"}'; expect_problem 409 state-conflict

# the chat: the message is there; maintainers and reviewers take part, strangers do not
req GET "/api/v1/resources/$ID/draft/chat" -H "$(auth "$UP")"; expect_status 200
expect_jq '.items[0].text == "Please add a cover image of the output." and .items[0].author.name == "Test rev"'
req GET "/api/v1/resources/$ID/draft/chat" -H "$(auth "$STR")"; expect_problem 403 forbidden
req POST "/api/v1/resources/$ID/draft/chat" -H "$(auth "$UP")" -H 'Content-Type: application/json' -d '{"text":"Cover added."}'
expect_status 201
req POST "/api/v1/resources/$ID/draft/chat" -H "$(auth "$UP")" -H 'Content-Type: application/json' -d '{"text":""}'
expect_problem 400 bad-request
# the uploader UI's files, written after the commits: chat.json {messages:[{author, text,
# timestamp}]} and log.json {log_version, entries:[{message, details, details_formatted,
# timestamp, run_url}]}, people by name and never by address
run_jobs
get_object "$ID/draft/chat.json" "$T/chat.json" || fail "no draft chat.json"
jq -e '[.messages[] | .text] == ["Please add a cover image of the output.", "Cover added."] and
  .messages[0].author == "Test rev" and ([.messages[] | .timestamp | endswith("Z")] | all)' "$T/chat.json" >/dev/null ||
  { cat "$T/chat.json"; fail "chat.json"; }
get_object "$ID/draft/log.json" "$T/log.json" || fail "no draft log.json"
jq -e '.log_version == "0.1.0" and (.entries | length) >= 3 and
  ([.entries[] | has("message") and has("details") and has("details_formatted") and has("timestamp") and
    (.run_url | endswith("/status/'"$ID"'"))] | all) and
  ([.entries[].message] | any(test("changes requested")))' "$T/log.json" >/dev/null || { cat "$T/log.json"; fail "log.json"; }
grep -q '@example.org' "$T/chat.json" "$T/log.json" && fail "an email address in the public chat.json or log.json"

# a stranger cannot upload a revision of this concept; the uploader can
req POST "/api/v1/uploads?id=$ID" -H "$(auth "$STR")" -H 'Content-Type: application/zip' --data-binary @"$T/m.zip"
expect_problem 409 id-taken
upload "$T/m.zip" "?id=$ID"; expect_status 202
[ "$(jqb .revision)" = 2 ] || fail "expected revision 2, got $(jqb .revision)"
run_jobs
[ "$(state "$ID")" = "awaiting review" ] || fail "revision 2 not awaiting review"
get_object "$ID/draft/files/rdf.yaml" "$T/draft-rdf.yaml"
head -3 "$T/draft-rdf.yaml" | grep -q "^id: $ID" || fail "the draft RDF is not stamped"
# the CLI shows the API's documents (resource_view builds both): the same JSON
curl -fsS "$BASE/api/v1/resources/$ID/draft" | jq -S . >"$T/api-draft.json"
"$BO_BIN" show "$ID/draft" | jq -S . >"$T/cli-draft.json"
cmp "$T/api-draft.json" "$T/cli-draft.json" || fail "backoffice show $ID/draft differs from the API: $(diff "$T/api-draft.json" "$T/cli-draft.json" | head -5)"
curl -fsS "$BASE/api/v1/resources/$ID" | jq -S . >"$T/api-res.json"
"$BO_BIN" show "$ID" | jq -S . >"$T/cli-res.json"
cmp "$T/api-res.json" "$T/cli-res.json" || fail "backoffice show $ID differs from the API"
if "$BO_BIN" show no-such-thing/draft >"$T/show.out" 2>&1; then fail "show of an unknown id succeeded"; fi
grep -q "no-such-thing" "$T/show.out" || fail "show of an unknown id does not name it: $(cat "$T/show.out")"

# accept: 202 with the version and the publish job; then the job publishes (acknowledged:
# the state-dict weights cannot pass their dynamic test with the architecture left out)
review "$ID" "$REV" '{"decision":"accept","message":"Thanks, looks good.","acknowledge_failed_tests":true}'
expect_status 202; expect_jq '.state == "accepted" and .version == "1" and .job > 0'
# a new revision while accepted is refused
upload "$T/m.zip" "?id=$ID"; expect_problem 409 state-conflict
run_jobs
req GET "/api/v1/resources/$ID/draft"; expect_problem 404 not-found
f=$(mail_to sci@example.org "\\[bioimage.io\\] $ID: version 1 published")
req GET "/api/v1/resources/$ID/versions/1"; expect_status 200
expect_jq '.state == "published" and .yanked == false and .rdf.id == "'"$ID"'" and ([.files[].path] | index("rdf.yaml") != null)'
jq -S . "$T/body" >"$T/api-v1.json"
"$BO_BIN" show "$ID/1" | jq -S . >"$T/cli-v1.json"
cmp "$T/api-v1.json" "$T/cli-v1.json" || fail "backoffice show $ID/1 differs from the API"
get_object "$ID/1/files/rdf.yaml" "$T/v1-rdf.yaml"
cmp "$T/draft-rdf.yaml" "$T/v1-rdf.yaml" || fail "the published rdf.yaml differs from the stamped draft RDF"
get_object "$ID/1/info.json" "$T/info.json"
jq -e '.download_count == 0 and (.created | test("Z$"))' "$T/info.json" >/dev/null || fail "info.json"
get_object "$ID/1/test_summary.yaml" "$T/ts.yaml"
# the reference's shape {status, rdf_sha256, tests: {"<tool>_<version>": [entries]}}, the
# verdict of all runs (the state-dict run failed, acknowledged), and the full summaries
# beside it; its top level is the static ValidationSummary too, about the version's file
grep -q '^status: failed' "$T/ts.yaml" || { cat "$T/ts.yaml"; fail "test_summary.yaml: status is not the verdict of all runs"; }
# (quoted or not: the emitter quotes a hash only where YAML would read it as a number)
grep -qE "^rdf_sha256: \"?$(sha256sum "$T/v1-rdf.yaml" | cut -d' ' -f1)\"?$" "$T/ts.yaml" || fail "test_summary.yaml: rdf_sha256"
grep -q '^  backoffice-validate_[0-9.]*:$' "$T/ts.yaml" || fail "test_summary.yaml: no static tool entries"
grep -q '^  backoffice-worker_[0-9.]*:$' "$T/ts.yaml" || fail "test_summary.yaml: no dynamic tool entries"
grep -q '^  - name: load weights (pytorch_state_dict)$' "$T/ts.yaml" || fail "test_summary.yaml: the dynamic entry names its format"
grep -q "^source_name: .*/$ID/1/files/rdf.yaml" "$T/ts.yaml" || fail "test_summary.yaml: source_name is not the version's"
get_object "$ID/1/summaries/static.json" "$T/static.json"
jq -e '.status == "passed" and (.details | length) > 0 and (.source_name | endswith("/1/files/rdf.yaml"))' "$T/static.json" >/dev/null ||
  fail "summaries/static.json"
get_object "$ID/1/summaries/pytorch_state_dict.json" "$T/psd.json"
jq -e '.status == "failed" and .type == "model"' "$T/psd.json" >/dev/null || fail "summaries/pytorch_state_dict.json"
# a resource whose every run passed (a dataset: the static run only) says passed
tiny_dataset "$T/ds" "Passing data"
zip_dir "$T/ds" "$T/ds.zip"
upload "$T/ds.zip"; expect_status 202; DS=$(jqb .id)
run_jobs
[ "$(state "$DS")" = "awaiting review" ] || fail "the dataset is not awaiting review"
review "$DS" "$REV" '{"decision":"accept"}'; expect_status 202
run_jobs
get_object "$DS/1/test_summary.yaml" "$T/ds-ts.yaml"
grep -q '^status: passed$' "$T/ds-ts.yaml" || { cat "$T/ds-ts.yaml"; fail "a passing resource's test_summary.yaml"; }
grep -q '^  backoffice-validate_[0-9.]*:$' "$T/ds-ts.yaml" && ! grep -q 'backoffice-worker_' "$T/ds-ts.yaml" ||
  fail "a dataset's test_summary.yaml lists other tools than static validation"
# every file of the package is in the version
for f in $(cd "$M" && find . -type f | sed 's|^\./||'); do
  [ "$f" = bioimageio.yaml ] && continue
  get_object "$ID/1/files/$f" "$T/x" || fail "$f missing from the version"
  cmp -s "$M/$f" "$T/x" || fail "$f differs in the version"
done
req GET "/api/v1/resources/$ID/draft/events"; expect_status 200
expect_jq '[.[] | select(.kind == "state") | .details.to] | .[-2:] == ["accepted", "published"]'
expect_jq '[.[] | select(.kind == "review")] | length == 2'
# the collection: the rebuild job ran; the entry, the aliases, the history, no draft entry
run_jobs
EMOJI=$(curl -fsS "$BASE/api/v1/ids/$ID" | jq -r .emoji)
req GET /collection.json; expect_status 200
jq -e --arg id "$ID" --arg e "$EMOJI" '[.collection[] | select(.id == $id)] | length == 1 and
  (.[0] | .type == "model" and .versions == ["1"] and .nickname_icon == $e and (.rdf_source | test("^http.*/1/files/rdf.yaml$")))' \
  "$T/body" >/dev/null || { jq --arg id "$ID" '.collection[] | select(.id == $id)' "$T/body"; fail "collection.json entry"; }
req GET /id_map.json; expect_status 200
expect_jq '.["'"$ID"'"] != null and .["'"$ID"'/1"] != null'
req GET /collection_draft.json; expect_status 200
expect_jq '[.collection[] | select(.id == "'"$ID"'")] == []'
req GET /api/v1/collection/history; expect_status 200
jq -e --arg m "publish $ID/1 (accepted by Test rev)" '[.commits[] | select(.message | contains($m))] | length == 1' "$T/body" >/dev/null ||
  { body; fail "no history commit for the publish"; }
# the draft's objects are gone; publishing again has nothing to accept
curl -s -o /dev/null -w '%{http_code}' "$BASE/files/$ID/draft/files/rdf.yaml" | grep -q '^404$' || fail "draft objects left"
review "$ID" "$REV" '{"decision":"accept"}'; expect_problem 404 not-found

# without a `version` in the RDF the next integer is used: the same package publishes as 2
upload "$T/m.zip" "?id=$ID"; expect_status 202
[ "$(jqb .revision)" = 3 ] || fail "revisions restart after publishing: $(jqb .revision)"
run_jobs
review "$ID" "$REV" '{"decision":"reject"}'; expect_problem 400 bad-request
review "$ID" "$REV" '{"decision":"request_changes","message":"Please give it a version."}'; expect_status 200
# an RDF naming a version that exists: static validation fails at `version`, accept is refused
sed -i 's/^format_version:/version: 1\nformat_version:/' "$M/bioimageio.yaml"
grep -q '^version: 1$' "$M/bioimageio.yaml" || fail "version not added"
zip_dir "$M" "$T/m1.zip"
upload "$T/m1.zip" "?id=$ID"; expect_status 202
run_jobs
req GET "/api/v1/resources/$ID/draft"
expect_jq '.validation.status == "failed" and ([.validation.details[].errors[] | select(.loc == ["version"] and .type == "version_exists")] | length == 1)'
review "$ID" "$REV" '{"decision":"accept"}'; expect_problem 422 tests-failed

# static validation failed: accept is refused, even acknowledged
N=$T/n
mkdir -p "$N" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$N/" && chmod -R u+w "$N"
zip_dir "$N" "$T/n.zip"
upload "$T/n.zip"; expect_status 202
NID=$(jqb .id)
run_jobs
# back to the uploader at once, saying what to fix with its line; no reviewer is asked
[ "$(state "$NID")" = "changes requested" ] || fail "a draft that failed static validation is $(state "$NID")"
req GET "/api/v1/resources/$NID/draft"
# the location is the one in the file uploaded (bioimageio.yaml), not in the stamped rdf.yaml
LINE=$(grep -n 'source: unet2d.py' "$N/bioimageio.yaml" | cut -d: -f1)
[ -n "$LINE" ] || fail "no architecture line in the package"
expect_jq '(.state_detail | test("^static validation failed with 1 error; fix it")) and
  (.state_detail | test("bioimageio.yaml:'"$LINE"':[0-9]+  weights.pytorch_state_dict.architecture.source  .unet2d.py. is not in the package")) and
  .validation.rdf_file == "bioimageio.yaml"'
f=$(mail_to sci@example.org "\\[bioimage.io\\] $NID: static validation failed")
grep -q "unet2d.py' is not in the package" "$f" || fail "the mail does not say what to fix"
grep -q "upload a new revision" "$f" || fail "the mail does not say what to do"
if grep -l "^Subject: .*$NID: new model awaiting review" "$MB"/new/* >/dev/null 2>&1; then
  fail "reviewers were asked to review a draft that failed static validation"
fi
req GET /api/v1/review-queue -H "$(auth "$REV")"
expect_jq '[.items[] | select(.id == "'"$NID"'")] == []'
review "$NID" "$REV" '{"decision":"accept","acknowledge_failed_tests":true}'; expect_problem 422 tests-failed

# yank: reviewers only, with a reason, once
req POST "/api/v1/resources/$ID/versions/1/yank" -H "$(auth "$UP")" -H 'Content-Type: application/json' -d '{"reason":"x"}'
expect_problem 403 forbidden
req POST "/api/v1/resources/$ID/versions/1/yank" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d '{}'
expect_problem 400 bad-request
req POST "/api/v1/resources/$ID/versions/1/yank" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d '{"reason":"wrong normalisation"}'
expect_status 200
req POST "/api/v1/resources/$ID/versions/1/yank" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d '{"reason":"again"}'
expect_problem 409 state-conflict
req GET "/api/v1/resources/$ID/versions/1"; expect_jq '.yanked == true and .yank_reason == "wrong normalisation"'
get_object "$ID/1/files/rdf.yaml" "$T/still.yaml" || fail "a yanked version must stay downloadable"
req GET "/api/v1/resources/$ID/versions/9"; expect_problem 404 not-found
# the yanked version leaves collection.json (no other version) and stays in all_versions.json
run_jobs
req GET /collection.json; expect_jq '[.collection[] | select(.id == "'"$ID"'")] == []'
req GET /all_versions.json; expect_status 200
jq -e --arg id "$ID" '[.. | objects | select(.yanked == true)] | length >= 1' "$T/body" >/dev/null || { body | head -c 2000; fail "all_versions.json does not mark the yank"; }

stop_server

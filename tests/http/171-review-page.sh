# The reviewer page and the draft view (issue 16), over curl and in headless Chromium
# (tests/browser/171-review-page.mjs): the review queue lists drafts in changes requested
# apart; GET …/draft/diff compares a revision with the previous one and with the published
# version (byte-identical when every file's SHA-256 is the same; a line diff of rdf.yaml);
# the draft JSON names the RDF as uploaded and the version an accept publishes; re-running
# the tests is refused after a failed static validation. In the browser: typed text and
# focus survive a poll that re-rendered after another client's chat message, Open/#id/Back
# move focus, Accept asks in the page and Cancel does not accept, the identical-revision
# hint, the validation error's line highlighted in the uploaded RDF, the queue's rows and
# cells at 390 px. Server and SMTP on free loopback ports, stopped by PID. Screenshots go to
# build/test-artifacts/171-review/.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
. "$BO_SOURCE_DIR/tests/lib/smtp.sh"
need_corpus
PW=${BO_PLAYWRIGHT_CORE:-$BO_SOURCE_DIR/build/deps/npm/node_modules/playwright-core}
CHROMIUM=${BO_CHROMIUM:-/usr/bin/chromium}
NODE=${BO_NODE:-node}
command -v "$NODE" >/dev/null || fail "node is missing (make deps-browser)"
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (make deps-browser)"
[ -f "$PW/package.json" ] || fail "playwright-core is missing at $PW (make deps-browser)"
ART=$BO_SOURCE_DIR/build/test-artifacts/171-review
rm -rf "$ART"; mkdir -p "$ART"

setup_env
MB=$T/maildir
smtp_start "$MB"
export BO_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT BO_SMTP_TIMEOUT=5
start_server
"$BO_BIN" user add --name "Rita Reviewer" --email rev@example.org --role reviewer >/dev/null
REV=$("$BO_BIN" token create rev@example.org --label browser)
UP=$(new_user up@example.org uploader)
upload() { req POST "/api/v1/uploads${2:-}" -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
review() { req POST "/api/v1/resources/$1/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d "$2"; }
diff_of() { req GET "/api/v1/resources/$1/draft/diff"; expect_status 200; }

# A: awaiting review (the browser types into its forms); datasets have no dynamic tests
tiny_dataset "$T/a" "Alpha data"; zip_dir "$T/a" "$T/a.zip"
upload_reviewable "$UP" "$T/a.zip"; A=$ID
# B: changes requested
tiny_dataset "$T/b" "Beta data"; zip_dir "$T/b" "$T/b.zip"
upload_reviewable "$UP" "$T/b.zip"; B=$ID
review "$B" '{"decision":"request_changes","message":"Please describe the images."}'; expect_status 200
# C: published as version 1, then the same package again as revision 2
tiny_dataset "$T/c" "Gamma data"; zip_dir "$T/c" "$T/c.zip"
upload_reviewable "$UP" "$T/c.zip"; C=$ID
review "$C" '{"decision":"accept"}'; expect_status 202
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/resources/$C/versions/1")" = 200 ] && break
  sleep 0.1
done
req GET "/api/v1/resources/$C/versions/1"; expect_status 200
touch "$T/c/rdf.yaml"; rm -f "$T/c2.zip"; zip_dir "$T/c" "$T/c2.zip"
upload "$T/c2.zip" "?id=$C"; expect_status 202
wait_state "$C" "awaiting review" 60
# D: a model whose architecture file is missing: static validation fails, with a line
D_DIR=$T/d
mkdir -p "$D_DIR" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$D_DIR/" && chmod -R u+w "$D_DIR"
rm -f "$D_DIR/unet2d.py"
zip_dir "$D_DIR" "$T/d.zip"
upload "$T/d.zip"; expect_status 202; D=$(jqb .id)
for _ in $(seq 1 600); do
  v=$(curl -fsS "$BASE/api/v1/resources/$D/draft" | jq -r '.validation.status // ""')
  [ "$v" = failed ] && break
  sleep 0.1
done
[ "$v" = failed ] || fail "static validation of $D did not fail: $v"

# --- the documentation, as text from our origin (the pages render it): the draft's README
req GET "/api/v1/resources/$D/draft/documentation"; expect_status 200
header Content-Type | grep -q '^text/markdown' || fail "documentation type $(header Content-Type)"
header Content-Security-Policy | grep -q sandbox || fail "documentation without the sandbox CSP"
cmp -s "$T/body" "$D_DIR/README.md" || fail "the documentation differs from the package's README.md"
req GET "/api/v1/resources/$A/draft/documentation"; expect_problem 404 not-found
req GET "/api/v1/resources/no-such-draft/draft/documentation"; expect_problem 404 not-found

# --- the queue: changes requested in their own array, with since; the items stay as they were
req GET /api/v1/review-queue -H "$(auth "$REV")"; expect_status 200
expect_jq '[.items[] | select(.id == "'"$A"'" and .validation == "passed" and .revision == 1)] | length == 1'
expect_jq '[.items[] | select(.id == "'"$B"'")] | length == 0'
expect_jq '[.changes_requested[] | select(.id == "'"$B"'" and .revision == 1 and (.since | endswith("Z")) and .age_seconds >= 0 and .uploader.name == "Test up")] | length == 1'
req GET /api/v1/review-queue -H "$(auth "$UP")"; expect_problem 403 forbidden

# --- the diff: shape, 404 for an unknown id, a first revision has nothing to compare with
req GET /api/v1/resources/no-such-draft/draft/diff; expect_problem 404 not-found
diff_of "$A"
expect_jq '.id == "'"$A"'" and .revision == 1 and .staged == true and .against_previous == null and .against_published == null'
# the same package as a new revision of a published resource: byte-identical, both ways
diff_of "$C"
expect_jq '.revision == 2 and .against_published.version == "1" and .against_published.revision == 1 and .against_published.identical == true'
expect_jq '.against_published.summary.changed == 0 and .against_published.summary.added == 0 and .against_published.summary.same >= 1'
expect_jq '.against_published.rdf_diff == [] and .against_published.rdf_diff_status == "ok"'
expect_jq '.against_previous.revision == 1 and .against_previous.identical == true'
expect_jq '[.against_published.files[] | select(.path == "rdf.yaml" and .change == "same" and .sha256_old == .sha256_new and (.sha256_new | length) == 64)] | length == 1'
# the draft JSON: the RDF as uploaded (reachable) and the version an accept would publish
req GET "/api/v1/resources/$C/draft"; expect_status 200
expect_jq '.publish_version == "2" and .rdf_original.path == "rdf.yaml" and (.rdf_original.url | test("/files/'"$C"'/draft/original/rdf.yaml$"))'
req GET "/api/v1/resources/$D/draft"; expect_status 200
expect_jq '.rdf_original.path == "bioimageio.yaml"'
URL=$(jqb .rdf_original.url)
curl -fsS "$URL" -o "$T/d-original.yaml" || fail "the uploaded RDF is not served at $URL"
cmp "$T/d-original.yaml" "$D_DIR/bioimageio.yaml" || fail "the served RDF differs from the uploaded bioimageio.yaml"
TURL=$(jqb .rdf_original.text_url)
LINE=$(jqb '[.validation.details[].errors[]? | select(.line > 0) | .line][0]')
[ -n "$LINE" ] && [ "$LINE" != null ] || fail "no validation error of $D has a line"
# the same bytes from our own origin, as text (never HTML)
STATUS=$(curl -sS -D "$T/ohdrs" -o "$T/d-text.yaml" -w '%{http_code}' "$TURL")
[ "$STATUS" = 200 ] || fail "$TURL: HTTP $STATUS"
grep -qi '^Content-Type: text/plain; charset=utf-8' "$T/ohdrs" || fail "rdf-original type: $(grep -i '^Content-Type' "$T/ohdrs")"
grep -qi '^X-Content-Type-Options: nosniff' "$T/ohdrs" || fail "rdf-original without nosniff"
cmp "$T/d-text.yaml" "$D_DIR/bioimageio.yaml" || fail "rdf-original differs from the uploaded bioimageio.yaml"
req GET /api/v1/resources/no-such-draft/draft/rdf-original; expect_problem 404 not-found
# re-running the tests of a draft whose static validation failed is refused
req POST "/api/v1/resources/$D/draft/tests" -H "$(auth "$REV")"; expect_problem 409 state-conflict
jqb .detail | grep -q "static validation" || fail "the refusal does not say why: $(jqb .detail)"

# --- the browser
BASE=$BASE ARTIFACTS=$ART PLAYWRIGHT_CORE=$PW CHROMIUM=$CHROMIUM REV_TOKEN=$REV UP_TOKEN=$UP HOME=$T \
  A_ID=$A B_ID=$B C_ID=$C D_ID=$D D_LINE=$LINE \
  "$NODE" "$BO_SOURCE_DIR/tests/browser/171-review-page.mjs" >"$T/browser.log" 2>&1 &
NODE_PID=$!
EXTRA_PIDS+=("$NODE_PID")
wait "$NODE_PID" || { cat "$T/browser.log"; fail "the browser test failed (screenshots in $ART)"; }
cat "$T/browser.log"
for s in review-queue review-draft-typed review-after-poll accept-confirm accept-cancelled review-identical \
  review-error-line review-rdf-section phone-queue status-after-poll; do
  [ -s "$ART/$s.png" ] || fail "no screenshot $s.png"
done

# cancelling the confirmation accepted nothing
[ "$(curl -fsS "$BASE/api/v1/resources/$A/draft" | jq -r .state)" = "awaiting review" ] || fail "$A is no longer awaiting review"

# --- a revision that changes the RDF: the files and a line diff say what changed
sed -i 's/^description: d$/description: Phase contrast images of beta cells/' "$T/b/rdf.yaml"
rm -f "$T/b2.zip"; zip_dir "$T/b" "$T/b2.zip"
upload "$T/b2.zip" "?id=$B"; expect_status 202
wait_state "$B" "awaiting review" 60
diff_of "$B"
expect_jq '.revision == 2 and .against_previous.revision == 1 and .against_previous.identical == false and .against_published == null'
expect_jq '[.against_previous.files[] | select(.path == "rdf.yaml" and .change == "changed" and .sha256_old != .sha256_new)] | length == 1'
expect_jq '.against_previous.rdf_diff_status == "ok" and (.against_previous.rdf_diff | index("-description: d")) != null and
  (.against_previous.rdf_diff | index("+description: Phase contrast images of beta cells")) != null'
expect_jq '[.against_previous.rdf_diff[] | select(startswith("+") or startswith("-"))] | length == 2'
# the queue no longer lists B as waiting for its uploader
req GET /api/v1/review-queue -H "$(auth "$REV")"; expect_status 200
expect_jq '([.changes_requested[] | select(.id == "'"$B"'")] | length == 0) and ([.items[] | select(.id == "'"$B"'")] | length == 1)'
# what staging kept: one row per file and the rdf.yaml text of each revision
[ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM revision_rdf WHERE concept_id = '$B'")" = 2 ] ||
  fail "revision_rdf does not keep both revisions of $B"

# The upload page's check before sending (issue 16), My uploads, and the maintainer's view of
# a new revision. curl: POST /api/v1/validate (a passing RDF and its preview; bad YAML, a
# missing field, a bad licence, a file the RDF names that is not in the zip; malformed
# requests; limits; auth), GET /api/v1/me/resources, you_maintain on GET /api/v1/ids/{id}.
# Then headless Chromium (tests/browser/173-upload-page.mjs): a failing zip shows its problems
# with file and line before any upload and keeps Upload disabled; a passing one shows the
# preview with a blob: cover and uploads with the keyboard alone; the revision messages; My
# uploads. Server and SMTP on loopback free ports, stopped by PID. Screenshots go to
# build/test-artifacts/173-upload/.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
. "$BO_SOURCE_DIR/tests/lib/smtp.sh"
need_corpus
PW=${BO_PLAYWRIGHT_CORE:-$BO_SOURCE_DIR/build/deps/npm/node_modules/playwright-core}
CHROMIUM=${BO_CHROMIUM:-/usr/bin/chromium}
NODE=${BO_NODE:-node}
command -v "$NODE" >/dev/null || fail "node is missing (make deps-browser)"
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (make deps-browser)"
[ -f "$PW/package.json" ] || fail "playwright-core is missing at $PW (make deps-browser)"
ART=$BO_SOURCE_DIR/build/test-artifacts/173-upload
rm -rf "$ART"; mkdir -p "$ART"

setup_env
MB=$T/maildir
smtp_start "$MB"
export BO_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT BO_SMTP_TIMEOUT=5
start_server
UP=$(new_user maintainer@example.org uploader)
OTHER=$(new_user other@example.org uploader)
REV=$(new_user rev@example.org reviewer)
validate() { req POST /api/v1/validate -H 'Content-Type: application/json' "$@"; }
# body RDF_FILE RDF_TEXT_FILE NAME…: the page's request
body_of() { local f=$1 t=$2; shift 2; jq -n --rawfile y "$t" --arg f "$f" '{rdf: $y, rdf_file: $f, files: $ARGS.positional}' --args "$@"; }

# --- a passing RDF: 200, valid-format, the preview
N=$T/nuclei
nuclei_pkg "$N"
body_of bioimageio.yaml "$N/bioimageio.yaml" $(cd "$N" && ls) >"$T/good.json"
validate -H "$(auth "$UP")" --data-binary @"$T/good.json"; expect_status 200
expect_jq '.status == "valid-format" and .rdf_file == "bioimageio.yaml" and .errors == [] and .validation.status == "valid-format"'
expect_jq '.preview.name == "UNet 2D Nuclei Broad" and .preview.license == "MIT" and .preview.type == "model" and .preview.covers == ["cover0.png"] and (.preview.authors | index("Fynn Beuttenmueller") != null)'
# the same RDF inside a zipped folder: its names are relative to the RDF's folder
body_of pkg/bioimageio.yaml "$N/bioimageio.yaml" $(cd "$N" && ls | sed 's|^|pkg/|') pkg/ >"$T/folder.json"
validate -H "$(auth "$UP")" --data-binary @"$T/folder.json"; expect_status 200
expect_jq '.rdf_file == "pkg/bioimageio.yaml"'

# --- a referenced file that is not in the zip: 422 with its line in the user's file
body_of bioimageio.yaml "$N/bioimageio.yaml" $(cd "$N" && ls | grep -v '^cover0.png$') >"$T/missing.json"
validate -H "$(auth "$UP")" --data-binary @"$T/missing.json"; expect_problem 422 invalid-rdf
expect_jq '[.errors[] | select(.type == "file_missing")] | length == 1'
COVER_LINE=$(grep -n 'cover0.png' "$N/bioimageio.yaml" | head -1 | cut -d: -f1)
expect_jq '.errors[0].loc == ["covers", 0] and .errors[0].file == "bioimageio.yaml" and .errors[0].line == '"$COVER_LINE"
expect_jq '.preview.name == "UNet 2D Nuclei Broad" and .validation.rdf_file == "bioimageio.yaml"'

# --- the RDF itself wrong: a missing name, a licence that is not SPDX: each once, with lines
printf 'type: dataset\nformat_version: 0.2.4\ndescription: d\nauthors: [{name: A, email: up@example.org}]\nlicense: BSD2\n' >"$T/bad.yaml"
body_of rdf.yaml "$T/bad.yaml" rdf.yaml >"$T/bad.json"
validate -H "$(auth "$UP")" --data-binary @"$T/bad.json"; expect_problem 422 invalid-rdf
expect_jq '(.errors | length) == 2 and ([.errors[].loc[0]] | sort) == ["license", "name"] and all(.errors[]; .file == "rdf.yaml")'
expect_jq '[.errors[] | select(.loc[0] == "license")][0].line == 5'
# bad YAML: 422 with the line of the syntax error
printf 'type: dataset\nname: [unclosed\nlicense: MIT\n' >"$T/yaml.yaml"
body_of rdf.yaml "$T/yaml.yaml" rdf.yaml >"$T/yaml.json"
validate -H "$(auth "$UP")" --data-binary @"$T/yaml.json"; expect_problem 422 invalid-rdf
expect_jq '.errors[0].line >= 2 and .errors[0].file == "rdf.yaml"'
# a type upload refuses
printf 'type: collection\nformat_version: 0.2.4\nname: c\ndescription: d\nauthors: [{name: A}]\nlicense: MIT\n' >"$T/coll.yaml"
body_of rdf.yaml "$T/coll.yaml" rdf.yaml >"$T/coll.json"
validate -H "$(auth "$UP")" --data-binary @"$T/coll.json"; expect_problem 422 invalid-rdf
expect_jq 'any(.errors[]; .loc == ["type"] and (.msg | test("collection")) and .line == 1)'

# --- malformed requests: 400; no RDF among the names: 422 invalid-package
validate -H "$(auth "$UP")" -d '{"rdf": "x"}'; expect_problem 400 bad-request
validate -H "$(auth "$UP")" -d 'not json'; expect_problem 400 bad-request
validate -H "$(auth "$UP")" -d '{"rdf": "x", "rdf_file": "rdf.yaml", "files": ["rdf.yaml", 7]}'; expect_problem 400 bad-request
body_of other.yaml "$T/bad.yaml" rdf.yaml other.yaml >"$T/wrong.json"
validate -H "$(auth "$UP")" --data-binary @"$T/wrong.json"; expect_problem 400 bad-request
jqb .detail | grep -q "reads 'rdf.yaml'" || fail "detail: $(jqb .detail)"
body_of notes.yaml "$T/bad.yaml" notes.yaml README.md >"$T/none.json"
validate -H "$(auth "$UP")" --data-binary @"$T/none.json"; expect_problem 422 invalid-package
# --- limits: a body over max_json_body (1 MiB) is 413; more names than max_zip_entries is 413
head -c 1200000 /dev/zero | tr '\0' a | jq -Rs '{rdf: ., rdf_file: "rdf.yaml", files: ["rdf.yaml"]}' >"$T/big.json"
validate -H "$(auth "$UP")" --data-binary @"$T/big.json"; expect_problem 413 too-large
seq 1 10001 | jq -R . | jq -s '{rdf: "type: dataset", rdf_file: "rdf.yaml", files: (["rdf.yaml"] + .)}' >"$T/many.json"
validate -H "$(auth "$UP")" --data-binary @"$T/many.json"; expect_problem 413 too-large
jqb .detail | grep -q max_zip_entries || fail "detail: $(jqb .detail)"
# --- auth: none is 401 with WWW-Authenticate; a revoked/unknown token too
validate --data-binary @"$T/good.json"; expect_problem 401 unauthorized
[ -n "$(header WWW-Authenticate)" ] || fail "401 without WWW-Authenticate"
validate -H "Authorization: Bearer bo_nope" --data-binary @"$T/good.json"; expect_problem 401 unauthorized
# nothing was stored by any of it
[ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" 'SELECT count(*) FROM concepts')" = 0 ] || fail "validate stored a concept"

# --- a published dataset of the maintainer, and a second draft in progress
D=$T/pub
tiny_dataset "$D" "Published by the maintainer"
zip_dir "$D" "$T/pub.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/pub.zip"; expect_status 202
PUB=$(jqb .id)
wait_state "$PUB" "awaiting review" 60
req POST "/api/v1/resources/$PUB/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d '{"decision":"accept"}'
expect_status 202
for _ in $(seq 1 300); do
  v=$(curl -fsS "$BASE/api/v1/resources/$PUB" | jq -r '[.versions[]? | select(.state == "published")] | length')
  [ "$v" = 1 ] && break
  sleep 0.1
done
[ "$v" = 1 ] || fail "$PUB was not published"

# GET /api/v1/me/resources: the maintainer's resource; nothing for another user
req GET /api/v1/me/resources -H "$(auth "$UP")"; expect_status 200
expect_jq '.limit == 100 and .offset == 0 and .drafts == [] and (.resources | length) == 1'
expect_jq '.resources[0].id == "'"$PUB"'" and .resources[0].name == "Published by the maintainer" and .resources[0].latest_version != null and has("resources")'
req GET /api/v1/me/resources -H "$(auth "$OTHER")"; expect_status 200
expect_jq '.drafts == [] and .resources == []'
req GET /api/v1/me/resources -H "$(auth "$REV")"; expect_status 200
expect_jq '.resources == []' # a reviewer may act on everything, but maintains only their own
req GET '/api/v1/me/resources?limit=0' -H "$(auth "$UP")"; expect_status 200
expect_jq '.resources == [] and .drafts == []'
req GET '/api/v1/me/resources?offset=1' -H "$(auth "$UP")"; expect_status 200
expect_jq '.resources == []'
req GET '/api/v1/me/resources?limit=x' -H "$(auth "$UP")"; expect_problem 400 bad-request
req GET /api/v1/me/resources; expect_problem 401 unauthorized
# an in-progress draft of the other user shows on their page only
D2=$T/second
tiny_dataset "$D2" "Draft of the other user"
zip_dir "$D2" "$T/second.zip"
req POST /api/v1/uploads -H "$(auth "$OTHER")" -H 'Content-Type: application/zip' --data-binary @"$T/second.zip"; expect_status 202
SECOND=$(jqb .id)
req GET /api/v1/me/resources -H "$(auth "$OTHER")"; expect_status 200
expect_jq '(.drafts | length) == 1 and .drafts[0].id == "'"$SECOND"'" and .drafts[0].revision == 1 and (.drafts[0].state | type) == "string" and (.drafts[0].updated_at | type) == "string"'
req GET /api/v1/me/resources -H "$(auth "$UP")"; expect_jq '.drafts == []'

# you_maintain: only for a signed-in caller and a taken id
req GET "/api/v1/ids/$PUB" -H "$(auth "$UP")"; expect_status 200
expect_jq '.taken == true and .you_maintain == true'
req GET "/api/v1/ids/$PUB" -H "$(auth "$OTHER")"; expect_jq '.taken == true and .you_maintain == false'
req GET "/api/v1/ids/$PUB"; expect_jq '.taken == true and (has("you_maintain") | not)'
req GET "/api/v1/ids/$PUB" -H "Authorization: Bearer bo_nope"; expect_status 200
expect_jq '.taken == true and (has("you_maintain") | not)'

# --- the browser
# failing: a missing name, a licence that is not SPDX, a cover the zip lacks
F=$T/fail
mkdir -p "$F"
printf 'type: dataset\nformat_version: 0.2.4\ndescription: d\nauthors: [{name: A, email: up@example.org}]\nlicense: BSD2\ncovers: [missing.png]\n' >"$F/rdf.yaml"
zip_dir "$F" "$T/fail.zip"
# passing: a dataset in a zipped folder, with a real cover image
G=$T/goodpkg/pkg
tiny_dataset "$G" "Keyboard dataset" 'covers: [cover0.png]
'
sed -i 's/authors: \[{name: A, email: up@example.org}\]/authors: [{name: Ada Keyboard, email: maintainer@example.org}]/' "$G/rdf.yaml"
cp "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/cover0.png" "$G/"
chmod u+w "$G/cover0.png"
(cd "$T/goodpkg" && zip -q -r -X "$T/good.zip" pkg)

BASE=$BASE ARTIFACTS=$ART PLAYWRIGHT_CORE=$PW CHROMIUM=$CHROMIUM HOME=$T \
  FAIL_ZIP=$T/fail.zip GOOD_ZIP=$T/good.zip UP_TOKEN=$UP OTHER_TOKEN=$OTHER PUB_ID=$PUB \
  "$NODE" "$BO_SOURCE_DIR/tests/browser/173-upload-page.mjs" >"$T/browser.log" 2>&1 &
NODE_PID=$!
EXTRA_PIDS+=("$NODE_PID")
wait "$NODE_PID" || { cat "$T/browser.log"; fail "the browser test failed (screenshots in $ART)"; }
cat "$T/browser.log"
for s in check-failed check-passed keyboard-upload revision-maintainer revision-other my-uploads my-signed-out; do
  [ -s "$ART/$s.png" ] || fail "no screenshot $s.png"
done
# the keyboard upload reached the server whole, from the form, by the maintainer
KB=$(jq -r .keyboard "$ART/result.json")
req GET "/api/v1/resources/$KB/draft/events"; expect_status 200
expect_jq '[.[] | select(.kind == "upload" and (.message | contains("from good.zip ('"$(stat -c %s "$T/good.zip")"' bytes")))] | length == 1'

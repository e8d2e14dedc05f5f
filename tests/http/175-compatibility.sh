# Partner compatibility reports (issue 17): a partner token PUTs a report about a published
# version or a draft; it is checked like any untrusted input, stored in the reference's
# layout (<id>/<v>/compatibility/<tool>.json), listed on the version and draft API, and the
# next rebuild turns it into collection.json tags and links by the reference's rule. A
# partner token can do nothing else; other roles cannot send reports.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
mkdir -p "$BO_DATA_DIR"
"$BO_BIN" migrate >/dev/null
DB=$BO_DATA_DIR/backoffice.db
sqlite3 "$DB" <<'SQL'
INSERT INTO users(id, name, email, role, created_at) VALUES (5, 'Sam', 'sam@example.org', 'uploader', '2026-01-01T00:00:00Z');
INSERT INTO concepts(id, type, created_at, created_by) VALUES ('affable-shark', 'model', '2026-01-01T00:00:00Z', 5);
INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) VALUES
  ('affable-shark', '1', 'published', '{"id":"affable-shark","name":"Shark","tags":["zebra","ilastik-compatible","deepimagej-compatible"],"links":["ilastik/ilastik"]}', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', '2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z');
SQL
start_server
"$BO_BIN" user add --name "Ilastik CI" --email ci@ilastik.org --role uploader >/dev/null
ILASTIK=$("$BO_BIN" token create ci@ilastik.org --label ci --partner ilastik)
ANY=$("$BO_BIN" token create ci@ilastik.org --label any --partner '*')
UP=$(new_user up@example.org uploader)
REV=$(new_user rev@example.org reviewer)
ADM=$(new_user adm@example.org admin)
V=/api/v1/resources/affable-shark/versions/1/compatibility
put() { # put TOKEN TOOL JSON
  req PUT "$V/$2" -H "$(auth "$1")" -H 'Content-Type: application/json' -d "$3"
}
GOOD='{"status":"passed","error":null,"details":"ran the pixel classification workflow","badge":{"icon":"https://ilastik.org/icon.png","label":"ilastik","url":"https://ilastik.org/m"},"links":["ilastik/ilastik","ilastik/cell-classification"]}'

# --- who may send: a partner token of that tool, an admin; nobody else
put "$UP" ilastik_1.4 "$GOOD"; expect_problem 403 forbidden
put "$REV" ilastik_1.4 "$GOOD"; expect_problem 403 forbidden
req PUT "$V/ilastik_1.4" -H 'Content-Type: application/json' -d "$GOOD"; expect_problem 401 unauthorized
put "$ILASTIK" deepimagej_3.0 "$GOOD"; expect_problem 403 forbidden
jqb .detail | grep -q 'ilastik only' || fail "a tool-bound token's refusal does not say which tool: $(jqb .detail)"
# a partner token is nobody elsewhere: no uploads, no reviewer queue, no admin API
req GET /api/v1/review-queue -H "$(auth "$ILASTIK")"; expect_problem 403 forbidden
jqb .detail | grep -q 'only send compatibility reports' || fail "detail: $(jqb .detail)"
req POST /api/v1/uploads -H "$(auth "$ILASTIK")" -H 'Content-Type: application/zip' --data-binary 'PK'
[ "$STATUS" = 403 ] || fail "a partner token could upload: HTTP $STATUS"
req GET /api/v1/me -H "$(auth "$ILASTIK")"; expect_problem 403 forbidden

# --- bad bodies and names: 400 naming the field
for bad in '{"status":"ok","error":null,"details":1}' '{"error":null,"details":1}' '{"status":"passed","details":1}' \
  '{"status":"passed","error":null}' '{"status":"passed","error":7,"details":1}' '[1]' \
  '{"status":"passed","error":null,"details":1,"badge":{"icon":"javascript:alert(1)","label":"x","url":"https://a.b/c"}}' \
  '{"status":"passed","error":null,"details":1,"badge":{"icon":"https://a.b/i","label":"","url":"https://a.b/c"}}' \
  '{"status":"passed","error":null,"details":1,"links":["a b"]}' '{"status":"passed","error":null,"details":1,"links":"x"}' \
  '{"status":"passed","error":null,"details":1,"links":["<script>"]}'; do
  put "$ILASTIK" ilastik_1.4 "$bad"; expect_problem 400 bad-request
done
for tool in ilastik ilastik_1_4 '_1.4' 'ilastik_' 'ilastik_1.4%2F..%2Fx' 'ilas%20tik_1'; do
  put "$ANY" "$tool" "$GOOD"
  [ "$STATUS" = 400 ] || [ "$STATUS" = 404 ] || fail "tool name '$tool': HTTP $STATUS"
done
req PUT /api/v1/resources/affable-shark/versions/9/compatibility/ilastik_1.4 -H "$(auth "$ILASTIK")" \
  -H 'Content-Type: application/json' -d "$GOOD"; expect_problem 404 not-found
req PUT /api/v1/resources/affable-shark/draft/compatibility/ilastik_1.4 -H "$(auth "$ILASTIK")" \
  -H 'Content-Type: application/json' -d "$GOOD"; expect_problem 404 not-found

# --- a passed report: stored (201), listed, written in the reference's layout, tags and links out
put "$ILASTIK" ilastik_1.4 "$GOOD"; expect_status 201
expect_jq '.tool == "ilastik_1.4" and .status == "passed" and .replaced == false'
req GET "$V"; expect_status 200
expect_jq '.reports | length == 1 and .[0].tool == "ilastik_1.4" and .[0].report.badge.label == "ilastik" and (.[0].report | has("tool") | not)'
req GET /api/v1/resources/affable-shark/versions/1; expect_status 200
expect_jq '.compatibility[0].status == "passed"'
for _ in $(seq 1 100); do
  get_object affable-shark/1/compatibility/ilastik_1.4.json "$T/rep.json" 2>/dev/null && break
  sleep 0.1
done
[ -f "$T/rep.json" ] || fail "no affable-shark/1/compatibility/ilastik_1.4.json in storage"
jq -e '.status == "passed" and .error == null and (.links | length == 2)' "$T/rep.json" >/dev/null || fail "stored report: $(cat "$T/rep.json")"
entry() {
  for _ in $(seq 1 100); do
    req GET /collection.json
    jq -e --arg want "$1" '.collection[] | select(.id == "affable-shark") | .tags | index($want) != null' "$T/body" >/dev/null && return 0
    sleep 0.1
  done
  jq -c '.collection[] | select(.id == "affable-shark") | {tags, links}' "$T/body"
  fail "collection.json never got the tag $1"
}
entry ilastik_1.4-compatible
jq -e '.collection[] | select(.id == "affable-shark") |
  .tags == ["deepimagej-compatible", "ilastik-compatible", "ilastik_1.4-compatible", "zebra"] and
  .links == ["ilastik/ilastik", "ilastik/cell-classification"]' "$T/body" >/dev/null ||
  fail "tags/links: $(jq -c '.collection[] | select(.id == "affable-shark") | {tags, links}' "$T/body")"

# --- a failed report of another ilastik version keeps ilastik-compatible (1.4 passed) and
# adds no tag of its own; a failed deepimagej report removes the manual deepimagej-compatible
put "$ILASTIK" ilastik_1.5 '{"status":"failed","error":"shape mismatch","details":{"axes":"bcyx"}}'; expect_status 201
put "$ANY" deepimagej_3.0.4 '{"status":"failed","error":"no TensorFlow","details":null,"links":["deepimagej/deepimagej"]}'; expect_status 201
for _ in $(seq 1 100); do
  req GET /collection.json
  jq -e '.collection[] | select(.id == "affable-shark") | .tags | index("deepimagej-compatible") == null' "$T/body" >/dev/null && break
  sleep 0.1
done
jq -e '.collection[] | select(.id == "affable-shark") |
  .tags == ["ilastik-compatible", "ilastik_1.4-compatible", "zebra"] and (.links | index("deepimagej/deepimagej") == null)' "$T/body" >/dev/null ||
  fail "after failed reports: $(jq -c '.collection[] | select(.id == "affable-shark") | {tags, links}' "$T/body")"
# a newer report of the same tool replaces the older (200)
put "$ILASTIK" ilastik_1.4 '{"status":"not-applicable","error":null,"details":"not a pixel classifier"}'; expect_status 200
expect_jq '.replaced == true'
for _ in $(seq 1 100); do
  req GET /collection.json
  jq -e '.collection[] | select(.id == "affable-shark") | .tags | index("ilastik-compatible") == null' "$T/body" >/dev/null && break
  sleep 0.1
done
jq -e '.collection[] | select(.id == "affable-shark") | .tags == ["zebra"]' "$T/body" >/dev/null ||
  fail "after the 1.4 report became not-applicable: $(jq -c '.collection[] | select(.id == "affable-shark") | .tags' "$T/body")"
req GET "$V"; expect_jq '[.reports[].tool] == ["deepimagej_3.0.4", "ilastik_1.4", "ilastik_1.5"]'
# an admin's own token may send reports too
put "$ADM" biapy_3.5 '{"status":"passed","error":null,"details":{}}'; expect_status 201
[ "$(sqlite3 "$DB" "SELECT COUNT(*) FROM compatibility")" = 4 ] || fail "rows: $(sqlite3 "$DB" "SELECT * FROM compatibility")"
stop_server

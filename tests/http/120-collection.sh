# Collection files: built from database rows on first request, strong ETag and 304,
# Cache-Control, a rebuild by the CLI beside the running server, the history endpoints.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
export BO_PUBLIC_URL=http://bo.test
mkdir -p "$BO_DATA_DIR"
"$BO_BIN" migrate >/dev/null
DB=$BO_DATA_DIR/backoffice.db
sqlite3 "$DB" <<'SQL'
INSERT INTO users(id, name, email, role, created_at) VALUES (5, 'Sam', 'sam@example.org', 'uploader', '2026-01-01T00:00:00Z');
INSERT INTO concepts(id, type, created_at, created_by, concept_doi) VALUES
  ('affable-shark', 'model', '2026-01-01T00:00:00Z', 5, '10.5281/zenodo.1'),
  ('busy-bee', 'dataset', '2026-01-02T00:00:00Z', 5, NULL);
INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) VALUES
  ('affable-shark', '1', 'published', '{"id":"affable-shark","id_emoji":"🦈","name":"Shark","tags":["b","a"]}', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', '2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z'),
  ('affable-shark', '2', 'yanked', '{"id":"affable-shark","name":"Shark 2"}', 'a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2', '2026-01-04T00:00:00Z', '2026-01-04T00:00:00Z');
SQL
if [ "${BO_TEST_STORAGE:-fs}" = fs ]; then
  mkdir -p "$BO_DATA_DIR/storage/affable-shark/1/files"
  printf 'id: affable-shark\nname: Shark\n' >"$BO_DATA_DIR/storage/affable-shark/1/files/rdf.yaml"
fi
start_server

# first request builds from the database
req GET /collection.json
expect_status 200
header Content-Type | grep -q '^application/json' || fail "content type $(header Content-Type)"
etag=$(header ETag)
[[ "$etag" =~ ^\"[0-9a-f]{64}\"$ ]] || fail "not a strong sha256 ETag: $etag"
[ "\"$(sha256sum "$T/body" | cut -d' ' -f1)\"" = "$etag" ] || fail "ETag is not the sha256 of the body"
header Cache-Control | grep -q 'public, max-age=60' || fail "Cache-Control: $(header Cache-Control)"
expect_jq '.type == "collection" and (.collection | length) == 1'
expect_jq '.collection[0] | .id == "affable-shark" and .version == "1" and .versions == ["1"] and .tags == ["a","b"]'
expect_jq '.collection[0].rdf_source == "http://bo.test/files/affable-shark/1/files/rdf.yaml"'
expect_jq '.config.n_resources.model == 1 and .config.n_resource_versions.model == 2'

# conditional GET (curl leaves the output file alone when there is no body)
rm -f "$T/body"
req GET /collection.json -H "If-None-Match: $etag"
expect_status 304
[ "$(header ETag)" = "$etag" ] || fail "304 without the ETag"
[ ! -s "$T/body" ] || fail "304 with a body"
req GET /collection.json -H "If-None-Match: \"abc\", W/$etag"
expect_status 304
req GET /collection.json -H 'If-None-Match: "0000"'
expect_status 200

for f in collection_draft.json all_versions.json all_versions_draft.json id_map.json id_map_draft.json; do
  req GET "/$f"
  expect_status 200
  [ -n "$(header ETag)" ] || fail "$f without ETag"
  jq -e . "$T/body" >/dev/null || fail "$f is not JSON"
done
req GET /all_versions.json
expect_jq '[.entries[].versions[] | select(.yanked)] | length == 1'
expect_jq '[.entries[] | select(.concept == "affable-shark") | .versions[].v] | sort == ["1", "2"]'
# id_map values are exactly {source, sha256}: what bioimageio.spec's LightHttpFileDescr accepts
req GET /id_map.json
expect_jq '(."affable-shark".source | endswith("/affable-shark/1/files/rdf.yaml")) and
  (."affable-shark/2".source | endswith("/affable-shark/2/files/rdf.yaml")) and
  (."10.5281/zenodo.1".source | endswith("/1/files/rdf.yaml"))'
expect_jq '[.[] | keys == ["sha256", "source"] and (.sha256 | test("^[0-9a-f]{64}$"))] | all'

# history: one commit so far, readable back
req GET /api/v1/collection/history
expect_status 200
expect_jq '(.commits | length) == 1 and .commits[0].message == "initial build" and (.commits[0].time | endswith("Z"))'
first=$(jqb '.commits[0].id')
curl -fsS "$BASE/collection.json" -o "$T/now.json"
req GET "/api/v1/collection/history/$first"
expect_status 200
cmp -s "$T/body" "$T/now.json" || fail "history read differs from collection.json"
req GET "/api/v1/collection/history/${first:0:7}"
expect_status 200
req GET /api/v1/collection/history/not-hex
expect_problem 400 bad-request
req GET /api/v1/collection/history/0000000000000000000000000000000000000000
expect_problem 404 not-found
req GET '/api/v1/collection/history?limit=0'
expect_problem 400 bad-request

# a publish (rows) and the scheduled rebuild beside the running server
sqlite3 "$DB" "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) VALUES
  ('busy-bee', '1', 'published', '{\"id\":\"busy-bee\",\"name\":\"Bees\"}', 'b1', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')"
"$BO_BIN" rebuild --reason "publish busy-bee/1 (accepted by Rita)" >"$T/rebuild.out" 2>&1 || { cat "$T/rebuild.out"; fail "rebuild failed"; }
grep -q 'collection rebuilt in' "$T/rebuild.out" || fail "rebuild did not report"
new=
for _ in $(seq 1 50); do
  req GET /collection.json
  new=$(header ETag)
  [ "$new" != "$etag" ] && break
  sleep 0.1
done
[ "$new" != "$etag" ] || fail "the server still serves the old collection.json"
expect_jq '(.collection | length) == 2'
req GET /collection.json -H "If-None-Match: $etag"
expect_status 200
req GET '/api/v1/collection/history?limit=5'
expect_jq '(.commits | length) == 2 and .commits[0].message == "publish busy-bee/1 (accepted by Rita)"'
# nothing changed: no new commit
"$BO_BIN" rebuild >/dev/null 2>&1 || fail "second rebuild failed"
req GET /api/v1/collection/history
expect_jq '(.commits | length) == 2'
if [ "${BO_TEST_STORAGE:-fs}" = fs ]; then
  git --git-dir="$BO_DATA_DIR/collection.git" show main:affable-shark/1/rdf.yaml | grep -q 'name: Shark' ||
    fail "the listed RDF is not in the history"
fi
stop_server

# The first user path, on storage_fs and on storage_s3: upload a corpus model package
# (zip body, multipart form, URL), get a memorable id, the stage job unpacks it into
# <id>/draft/files/ with rdf.yaml stamped, the validate job gives a verdict, draft.json in the reference shape; new
# revisions; ids carried by the RDF (valid, unknown, wrongly typed, someone else's).
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env
start_server
UP=$(new_user sci@example.org uploader)
OTHER=$(new_user other@example.org uploader)
REV=$(new_user rev@example.org reviewer)

PKG=$T/nuclei
nuclei_pkg "$PKG"
zip_dir "$PKG" "$T/pkg.zip"

req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/pkg.zip"
expect_status 202
expect_jq '.revision == 1 and .state == "unpacking" and .status.name == "unpacking" and .status.step == 1 and .status.num_steps == 6'
ID=$(jqb .id)
[ -n "$(header Location)" ] || fail "no Location header"
expect_jq ".links.self == \"$BASE/api/v1/resources/$ID/draft\" and .links.status_page == \"$BASE/status/$ID\""
req GET "/api/v1/ids/$ID"
expect_jq '.valid and .type == "model" and .taken'
EMOJI=$(jqb .emoji)

wait_state "$ID" "awaiting review"
req GET "/api/v1/resources/$ID/draft"
expect_status 200
expect_jq ".id == \"$ID\" and .type == \"model\" and .revision == 1 and .status.name == \"awaiting review\" and .status.icon == \"🧐\" and (.validation.status | type == \"string\")"
expect_jq ".rdf.id == \"$ID\" and .rdf.id_emoji == \"$EMOJI\" and .rdf.name == \"UNet 2D Nuclei Broad\""
expect_jq ".package.sha256 == \"$(sha256sum "$T/pkg.zip" | cut -d' ' -f1)\""
# every file of the package is there, byte for byte (the RDF is rdf.yaml, stamped)
nfiles=$(cd "$PKG" && find . -type f | wc -l)
# the package's files plus the stage job's cover thumbnails (tests/http/110-thumbs.sh)
expect_jq "([.files[] | select(.path | startswith(\"thumbnails/\") | not)] | length) == $nfiles"
cp "$T/body" "$T/draft.json"
(cd "$PKG" && find . -type f | sed 's|^\./||') | while read -r f; do
  name=$f; [ "$f" = bioimageio.yaml ] && name=rdf.yaml
  want=$(sha256sum "$PKG/$f" | cut -d' ' -f1)
  jq -e --arg p "$name" '.files[] | select(.path == $p)' "$T/draft.json" >/dev/null || fail "$name not listed"
  get_object "$ID/draft/files/$name" "$T/obj"
  got=$(sha256sum "$T/obj" | cut -d' ' -f1)
  listed=$(jq -r --arg p "$name" '.files[] | select(.path == $p) | .sha256' "$T/draft.json")
  [ "$got" = "$listed" ] || fail "$name: listed sha256 differs from the stored object"
  [ "$name" = rdf.yaml ] || [ "$got" = "$want" ] || fail "$name differs from the package"
done
get_object "$ID/draft/files/rdf.yaml" "$T/rdf.yaml"
head -2 "$T/rdf.yaml" | grep -q "^id: $ID$" || { head -5 "$T/rdf.yaml"; fail "rdf.yaml does not start with the id"; }
grep -q "^id_emoji: " "$T/rdf.yaml" || fail "no id_emoji in rdf.yaml"
grep -Eq "^format_version: ['\"]?0.5.4['\"]?$" "$T/rdf.yaml" || fail "format_version lost in rdf.yaml"
get_object "$ID/draft/draft.json" "$T/dj"
jq -e ".status.name == \"awaiting review\" and .status.step == 4 and .status.num_steps == 6 and (.status.run_url | endswith(\"/status/$ID\")) and (.status.timestamp | test(\"Z$\")) and (.created | length > 0)" "$T/dj" >/dev/null || { cat "$T/dj"; fail "draft.json shape"; }
req GET "/api/v1/resources/$ID/draft/events"
expect_status 200
expect_jq '[.[].kind] | index("upload") != null and index("staged") != null'
expect_jq 'map(select(.kind == "state")) | .[0].details.to == "unpacked"'
expect_jq '.[0].actor == "Test sci"'
# the public log names the uploader, never their address
expect_jq '[.[] | .message, (.details | tostring)] | map(test("@")) | any | not'
expect_jq '[.[] | select(.kind == "upload") | .message | contains("uploaded by Test sci")] == [true]'

# the uploader sees the stage job; another uploader does not
JOB=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT id FROM jobs WHERE subject = '$ID' AND kind = 'stage'")
req GET "/api/v1/jobs/$JOB" -H "$(auth "$UP")"
expect_status 200; expect_jq '.state == "done" and .kind == "stage"'
req GET "/api/v1/jobs/$JOB" -H "$(auth "$OTHER")"
expect_problem 404 not-found

# multipart form (the web form): a second concept with a different id
req POST /api/v1/uploads -H "$(auth "$UP")" -F "package=@$T/pkg.zip;type=application/zip"
expect_status 202
ID2=$(jqb .id)
[ "$ID2" != "$ID" ] || fail "second upload got the same id"
wait_state "$ID2" "awaiting review"

# a new revision by the maintainer, then by a reviewer; not by someone else
req POST "/api/v1/uploads?id=$ID" -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/pkg.zip"
expect_status 202; expect_jq ".id == \"$ID\" and .revision == 2"
wait_state "$ID" "awaiting review"
req POST "/api/v1/uploads?id=$ID" -H "$(auth "$OTHER")" -H 'Content-Type: application/zip' --data-binary @"$T/pkg.zip"
expect_problem 409 id-taken
req POST "/api/v1/uploads?id=$ID" -H "$(auth "$REV")" -H 'Content-Type: application/zip' --data-binary @"$T/pkg.zip"
expect_status 202; expect_jq '.revision == 3'
wait_state "$ID" "awaiting review"
req GET "/api/v1/resources/$ID/draft"
expect_jq ".revision == 3 and ([.files[] | select(.path | startswith(\"thumbnails/\") | not)] | length) == $nfiles"

# ids carried by the RDF
mkdir -p "$T/ds"; cp -r "$BO_SOURCE_DIR/tests/fixtures/packages/dataset-minimal/." "$T/ds/"
req GET "/api/v1/ids/suggest?type=dataset"
WANT=$(jqb .id)
sed -i "1i id: $WANT" "$T/ds/rdf.yaml"
zip_dir "$T/ds" "$T/ds.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
expect_status 202; expect_jq ".id == \"$WANT\""
wait_state "$WANT" "awaiting review"
# the same id from someone who is not a maintainer: 409
req POST /api/v1/uploads -H "$(auth "$OTHER")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
expect_problem 409 id-taken
# unknown id: 422 with a free suggestion of the right type
sed -i "1s/.*/id: not-a-real-id/" "$T/ds/rdf.yaml"; rm "$T/ds.zip"; zip_dir "$T/ds" "$T/ds.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
expect_problem 422 invalid-id
SUG=$(jqb .suggestion)
curl -fsS "$BASE/api/v1/ids/$SUG" | jq -e '.valid and .type == "dataset" and (.taken | not)' >/dev/null || fail "suggestion $SUG is not a free dataset id"
expect_jq '.errors[0].loc == ["id"]'
# a model id on a dataset: 422
sed -i "1s/.*/id: affable-shark/" "$T/ds/rdf.yaml"; rm "$T/ds.zip"; zip_dir "$T/ds" "$T/ds.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
expect_problem 422 invalid-id
jqb .detail | grep -q "model id" || fail "detail does not say it is a model id"

# by URL, from a loopback web server: refused by default (no server-side requests to
# internal addresses), allowed when the operator says so
WEBPORT=$(free_port)
(cd "$T" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$WEBPORT" >"$T/web.log" 2>&1) &
EXTRA_PIDS+=($!)
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$WEBPORT/" -o /dev/null 2>/dev/null && break; sleep 0.1; done
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:$WEBPORT/pkg.zip\"}"
expect_problem 400 bad-request
jqb .detail | grep -q "internal address" || fail "SSRF refusal unclear: $(jqb .detail)"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d "{\"url\": \"http://localhost:$WEBPORT/pkg.zip\"}"
expect_problem 400 bad-request
# no port scan: a closed internal port answers exactly as an open one, and the open one
# never saw a connection (the address is judged before connecting)
: >"$T/web.log"
CLOSED=$(free_port)
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:$CLOSED/pkg.zip\"}"
expect_problem 400 bad-request
jqb .detail | grep -q "internal address" || fail "closed port: $(jqb .detail)"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:$WEBPORT/pkg.zip\"}"
expect_problem 400 bad-request
sleep 0.3
[ ! -s "$T/web.log" ] || fail "the internal web server was contacted: $(cat "$T/web.log")"
stop_server
export BO_FETCH_ALLOW_PRIVATE=1
start_server
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:$WEBPORT/pkg.zip\"}"
expect_status 202
ID3=$(jqb .id)
wait_state "$ID3" "awaiting review"
req GET "/api/v1/resources/$ID3/draft/events"
expect_jq "map(select(.kind == \"upload\")) | .[0].message | contains(\"http://127.0.0.1:$WEBPORT/pkg.zip\")"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:$WEBPORT/missing.zip\"}"
expect_problem 502 fetch-failed
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d '{"url": "file:///etc/passwd"}'
expect_problem 400 bad-request
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/json' -d '{"nourl": 1}'
expect_problem 400 bad-request

# listings
req GET "/api/v1/resources?type=model"
expect_status 200
expect_jq "[.resources[].id] | index(\"$ID\") != null and index(\"$WANT\") == null"
req GET "/api/v1/resources/$ID"
expect_jq ".draft.state == \"awaiting review\" and .draft.revision == 3 and .versions == []"
req GET "/api/v1/resources?q=nuclei"
expect_jq "[.resources[].id] | index(\"$ID\") != null"
req GET /metrics
grep -q '^bo_jobs{kind="stage",state="done"} [1-9]' "$T/body" || fail "stage jobs not in metrics"
awk '/^bo_upload_bytes_total/{exit !($2 > 0)}' "$T/body" || fail "upload bytes not counted"

# nothing left in the temp dir; staged packages removed from incoming/
sleep 0.5
[ -z "$(ls -A "$BO_DATA_DIR/tmp")" ] || { ls -la "$BO_DATA_DIR/tmp"; fail "temp files left"; }
[ -z "$(ls -A "$BO_DATA_DIR/incoming")" ] || { ls -la "$BO_DATA_DIR/incoming"; fail "incoming not cleaned"; }
stop_server

# The HTTP edge as an attacker probes it: control bytes in the request path (raw or
# percent-encoded) are refused with 400 before any route sees a truncated path; a
# sign-in link's token never reaches the access log or a problem body, whatever the
# method or status; JSON bodies with invalid UTF-8 or a repeated key are refused.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server
UP=$(new_user up@example.org uploader)
P=$T/p
mkdir -p "$P"
printf 'type: dataset\nformat_version: 0.2.4\nname: edge\ndescription: d\nauthors: [{name: A}]\nlicense: CC0-1.0\n' >"$P/rdf.yaml"
zip_dir "$P" "$T/p.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/p.zip"
expect_status 202
ID=$(jqb .id)
wait_state "$ID" "awaiting review" 60
req GET "/files/$ID/draft/files/rdf.yaml"; expect_status 200
# %00 used to cut the path at the NUL: rdf.yaml%00.png served rdf.yaml
for p in "/files/$ID/draft/files/rdf.yaml%00.png" "/api/v1/users%00/x" "/healthz%0a" "/files/$ID/draft/files/rdf.yaml%1f" "/healthz%7F"; do
  STATUS=$(curl -sS --path-as-is -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$BASE$p")
  expect_problem 400 bad-request
  jqb .detail | grep -q "control character" || fail "$p: detail $(jqb .detail)"
done
# percent-encoded printable bytes still work
req GET "/files/$ID/draft/files/rdf%2Eyaml"; expect_status 200

# sign-in link tokens: as a mail scanner (GET), with other methods, on a 404 below the prefix
TOK=sl_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | cut -c1-43)
for m in GET PUT DELETE PATCH; do
  req "$m" "/api/v1/signin/$TOK"; expect_problem 405 method-not-allowed
  grep -q "$TOK" "$T/body" && fail "$m: the token is in the problem body: $(body)"
done
req GET "/api/v1/signin/$TOK/more"
grep -q "$TOK" "$T/body" && fail "the token is in a 404 body: $(body)"
req POST "/api/v1/signin/$TOK"; expect_problem 401 unauthorized
grep -q "$TOK" "$T/body" && fail "the token is in the 401 body"
sleep 0.3
grep -q "$TOK" "$T/server.log" && fail "the token is in the server log: $(grep "$TOK" "$T/server.log" | head -2)"
grep -q 'GET /api/v1/signin/{token} 405' "$T/server.log" || fail "the GET is not logged by its prefix"
true

# JSON bodies: invalid UTF-8 (raw or by escapes) and repeated keys are refused with 400,
# before anything is stored or mailed
printf '{"email":"\xff\xfe@x.org"}' >"$T/bad.json"
req POST /api/v1/signin -H 'Content-Type: application/json' --data-binary @"$T/bad.json"
expect_problem 400 bad-request; jqb .detail | grep -q "not valid UTF-8" || fail "detail: $(jqb .detail)"
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"a\udcffb@x.org"}'
expect_problem 400 bad-request
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"a@x.org","email":"b@x.org"}'
expect_problem 400 bad-request; jqb .detail | grep -q "repeats a key at 'email'" || fail "detail: $(jqb .detail)"
req POST "/api/v1/resources/$ID/draft/chat" -H "$(auth "$UP")" -H 'Content-Type: application/json' --data-binary $'{"text":"ok \xc3\x28"}'
expect_problem 400 bad-request
sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM signin_links" | grep -qx 0 || fail "a sign-in link was stored for a refused body"
# valid UTF-8 passes
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"jürgen@example.org"}'
expect_status 202
true

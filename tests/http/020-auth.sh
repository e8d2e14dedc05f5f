# Users and tokens: CLI user add/list/disable, token create/revoke, reviewers import;
# 401 for missing, malformed, unknown and revoked tokens; 403 for the wrong role;
# the admin endpoints.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server

UP=$(new_user alice@example.org uploader)
[[ "$UP" == bo_* ]] || fail "token format: $UP"
[ ${#UP} -ge 40 ] || fail "token too short"
# only the hash is stored
sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT token_sha256 FROM tokens" | grep -q "$UP" && fail "token stored in clear"

"$BO_BIN" user list | jq -e 'map(.email) | index("alice@example.org") != null' >/dev/null || fail "user list"
if "$BO_BIN" user add --name Dup --email alice@example.org 2>"$T/err"; then fail "duplicate email accepted"; fi
if "$BO_BIN" user add --name X --email not-an-email 2>"$T/err"; then fail "bad email accepted"; fi

# reviewers import
"$BO_BIN" users import "$BO_SOURCE_DIR/tests/fixtures/reviewers.json" | grep -q "3 added" || fail "import"
"$BO_BIN" users import "$BO_SOURCE_DIR/tests/fixtures/reviewers.json" | grep -q "0 added, 3 updated" || fail "re-import"
"$BO_BIN" user list | jq -e '[.[] | select(.role == "reviewer")] | length == 3' >/dev/null || fail "3 reviewers"

# 401s
req POST /api/v1/uploads --data-binary @/dev/null -H 'Content-Type: application/zip'
expect_problem 401 unauthorized
req POST /api/v1/uploads -H "Authorization: Basic Zm9vOmJhcg==" -H 'Content-Type: application/zip' --data-binary x
expect_problem 401 unauthorized
req POST /api/v1/uploads -H "$(auth bo_notarealtoken)" -H 'Content-Type: application/zip' --data-binary x
expect_problem 401 unauthorized
# a 401 says how to authenticate (RFC 9110); a header without the scheme says what is wrong
[ "$(header WWW-Authenticate)" = 'Bearer realm="bioimage.io backoffice"' ] || fail "401 without WWW-Authenticate: '$(header WWW-Authenticate)'"
req POST /api/v1/uploads -H "Authorization: $UP" -H 'Content-Type: application/zip' --data-binary x
expect_problem 401 unauthorized
jqb .detail | grep -q "needs its scheme: send 'Authorization: Bearer <token>'" || fail "a bare token: $(jqb .detail)"
req POST /api/v1/uploads -H "Authorization: Basic Zm9vOmJhcg==" -H 'Content-Type: application/zip' --data-binary x
jqb .detail | grep -q "must be 'Bearer <token>'" || fail "another scheme: $(jqb .detail)"
# a 405 names the methods the path has
req DELETE /collection.json
expect_problem 405 method-not-allowed
[ "$(header Allow)" = "GET, HEAD" ] || fail "405 Allow: '$(header Allow)'"
# every problem type URI leads to a page (browsers) or a description (API clients)
req GET /problems/unauthorized -H 'Accept: text/html'
expect_status 200
header Content-Type | grep -q '^text/html' || fail "problem page type $(header Content-Type)"
grep -q '<h1>Authentication required</h1>' "$T/body" || fail "problem page: $(head -c 300 "$T/body")"
req GET /problems/method-not-allowed
expect_jq '.type == "/problems/method-not-allowed" and .status == 405 and (.title | length > 0)'
req GET /problems/no-such-type; expect_problem 404 not-found

# 403: an uploader may not create users
req POST /api/v1/users -H "$(auth "$UP")" -H 'Content-Type: application/json' -d '{"name":"B","email":"b@example.org"}'
expect_problem 403 forbidden

# admin creates a user and a token over HTTP; the token works
req POST /api/v1/users -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: application/json' -d '{"name":"Bob","email":"bob@example.org","role":"reviewer"}'
expect_status 201; expect_jq '.role == "reviewer"'
req POST /api/v1/users -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: application/json' -d '{"name":"Bob","email":"bob@example.org"}'
expect_problem 409 state-conflict
req POST /api/v1/users -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: application/json' -d '{"name":"Bob","email":"bob2@example.org","role":"king"}'
expect_problem 400 bad-request
req POST /api/v1/tokens -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: application/json' -d '{"user":"bob@example.org","label":"ci"}'
expect_status 201
BOB=$(jqb .token)
req GET /api/v1/jobs/99 -H "$(auth "$BOB")"
expect_problem 404 not-found

# malformed and oversized JSON bodies
req POST /api/v1/users -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: application/json' -d '{"name": "x",'
expect_problem 400 bad-request
jqb .detail | grep -q "not valid JSON" || fail "malformed JSON detail"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req POST /api/v1/users -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: application/json' --data-binary @"$T/big.json"
expect_problem 413 too-large
req POST /api/v1/users -H "$(auth "$ADMIN_TOKEN")" -H 'Content-Type: text/plain' -d 'x'
expect_problem 415 unsupported-media-type

# oversized headers: 431 problem+json
req GET /healthz -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
expect_problem 431 headers-too-large

# revoke and disable
TID=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.email = 'bob@example.org'")
"$BO_BIN" token revoke "$TID" >/dev/null
req GET /api/v1/jobs/99 -H "$(auth "$BOB")"
expect_problem 401 unauthorized
"$BO_BIN" token revoke "$UP" >/dev/null
req GET /api/v1/jobs/99 -H "$(auth "$UP")"
expect_problem 401 unauthorized
CAROL=$(new_user carol@example.org uploader)
"$BO_BIN" user disable carol@example.org >/dev/null
req GET /api/v1/jobs/99 -H "$(auth "$CAROL")"
expect_problem 401 unauthorized
stop_server

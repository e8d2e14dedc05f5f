# Health, readiness, metrics, the OpenAPI document against the route tables, request ids,
# 404/405 as problem+json, and the first-start admin token.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server

# first start: admin user, token file 0600 that works
[ -f "$BO_DATA_DIR/admin.token" ] || fail "no admin.token"
[ "$(stat -c %a "$BO_DATA_DIR/admin.token")" = 600 ] || fail "admin.token mode is not 0600"
req GET /api/v1/jobs/1 -H "$(auth "$ADMIN_TOKEN")"
expect_problem 404 not-found

req GET /healthz
expect_status 200; expect_jq '.status == "ok"'
[ -n "$(header X-Request-Id)" ] || fail "no X-Request-Id"
req GET /healthz -H "X-Request-Id: abc-123"
[ "$(header X-Request-Id)" = abc-123 ] || fail "given request id not echoed"
req GET /readyz
expect_status 200; expect_jq '.database == "ok"'

req GET /nope
expect_problem 404 not-found
req DELETE /healthz
expect_problem 405 method-not-allowed

req GET /metrics
expect_status 200
grep -q '^bo_http_requests_total{method="GET",route="/healthz",status="200"} [1-9]' "$T/body" || fail "request counter missing"
grep -q '^bo_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}' "$T/body" || fail "histogram missing"
grep -q '^bo_upload_bytes_total ' "$T/body" || fail "upload bytes missing"
grep -q '^bo_storage_errors_total{backend=' "$T/body" || fail "storage errors missing"
grep -q 'route="unmatched",status="404"' "$T/body" || fail "404 not counted"

# the OpenAPI document lists exactly the routes in the tables
req GET /api/v1/openapi.yaml
expect_status 200
awk '/^paths:/{p=1; next} p && /^  \/[^ ]*:$/{path=$1; sub(/:$/, "", path)} p && /^    (get|post|put|delete|patch):/{m=$1; sub(/:$/, "", m); print toupper(m), path}' "$T/body" | sort >"$T/openapi.routes"
"$BO_BIN" routes | awk '{p=$2; gsub(/\{\*/, "{", p); print $1, p}' | sort >"$T/table.routes"
diff -u "$T/table.routes" "$T/openapi.routes" || fail "openapi.yaml and the route tables differ"
[ "$(wc -l <"$T/table.routes")" -ge 10 ] || fail "too few routes listed"

# check-config validates and refuses bad values with a clear message
"$BO_BIN" check-config >/dev/null || fail "check-config failed on defaults"
if out=$(BO_PORT=70000 "$BO_BIN" check-config 2>&1); then fail "port 70000 accepted"; fi
echo "$out" | grep -q "port must be between 0 and 65535" || fail "unclear message: $out"
if out=$("$BO_BIN" check-config --storage=gcs 2>&1); then fail "storage=gcs accepted"; fi
echo "$out" | grep -q "storage must be one of" || fail "unclear message: $out"

# the example env file in deploy/ lists every option of the table, with its default
diff <("$BO_BIN" env-example) "$BO_SOURCE_DIR/deploy/backoffice.env.example" || fail "deploy/backoffice.env.example is stale: make env-example"

# a second server on the same data directory is refused
if BO_PORT=$(free_port) timeout 10 "$BO_BIN" serve >"$T/second.log" 2>&1; then fail "second server started"; fi
grep -q "another backoffice server is running" "$T/second.log" || fail "no clear message for a second server"

# access log: one line per request with id, method, path, status
grep -q 'ACCESS \[abc-123\] GET /healthz 200' "$T/server.log" || fail "no access log line"
stop_server

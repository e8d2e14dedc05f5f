# Storage failures: a wrong S3 secret makes /readyz answer 503 with a message for the
# operator; an upload accepted while storage is broken is kept, its stage job retries with
# backoff, goes dead, and the draft says so; once storage works, `backoffice jobs retry N`
# stages it from the kept package.
# storage: s3
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
export BO_JOB_MAX_ATTEMPTS=2 BO_JOB_BACKOFF_SECONDS=1 BO_S3_RETRIES=1
GOOD_SECRET=$BO_S3_SECRET_KEY
export BO_S3_SECRET_KEY=wrong-secret
start_server
req GET /readyz
expect_problem 503 storage-unavailable
jqb .detail | grep -q "s3_secret_key" || fail "readyz detail does not point at the credentials: $(jqb .detail)"
[ -n "$(header Retry-After)" ] || fail "503 without Retry-After"

UP=$(new_user sci@example.org uploader)
mkdir -p "$T/ds"; cp -r "$BO_SOURCE_DIR/tests/fixtures/packages/dataset-minimal/." "$T/ds/"
zip_dir "$T/ds" "$T/ds.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
expect_status 202
ID=$(jqb .id)
JOB=$(jqb .job)
wait_state "$ID" error 60
req GET "/api/v1/resources/$ID/draft"
expect_jq '.status.name == "error" and .status.icon == "🔴"'
jqb .state_detail | grep -q "backoffice jobs retry $JOB" || fail "error state does not say how to retry: $(jqb .state_detail)"
req GET "/api/v1/jobs/$JOB" -H "$(auth "$UP")"
expect_jq '.state == "dead" and .attempts == 2 and (.last_error | contains("SignatureDoesNotMatch") or contains("s3_secret_key"))'
req GET /metrics
awk '/^bo_storage_errors_total/{exit !($2 > 0)}' "$T/body" || fail "storage errors not counted"
[ -n "$(ls "$BO_DATA_DIR/incoming")" ] || fail "the package was not kept"
stop_server

# storage fixed: the operator retries the dead job and the draft is staged
export BO_S3_SECRET_KEY=$GOOD_SECRET
start_server
"$BO_BIN" jobs retry "$JOB" | grep -q "re-queued" || fail "jobs retry"
wait_state "$ID" "awaiting review" 60
req GET "/api/v1/resources/$ID/draft/events"
expect_jq '[.[] | select(.kind == "state") | .details.to] == ["error", "unpacking", "unpacked", "testing", "awaiting review"]'
stop_server

# Ids: check an id, suggest one per type, taken ids.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server

req GET /api/v1/ids/affable-shark
expect_status 200
expect_jq '.valid == true and .type == "model" and .emoji == "🦈" and .taken == false'
req GET /api/v1/ids/ambrosial-apple
expect_jq '.valid == true and .type == "dataset"'
req GET /api/v1/ids/not-an-id
expect_status 200; expect_jq '.valid == false and (.reason | length > 0)'
req GET /api/v1/ids/Affable-Shark
expect_jq '.valid == false'

for type in model dataset notebook application; do
  req GET "/api/v1/ids/suggest?type=$type"
  expect_status 200
  id=$(jqb .id)
  req GET "/api/v1/ids/$id"
  expect_jq '.valid == true and .taken == false'
done
req GET "/api/v1/ids/suggest?type=collection"
expect_problem 400 bad-request
stop_server

# A slow object store never turns into a busy database: S3 goes through a loopback proxy
# that holds every PUT for 11 s (longer than the database's 10 s busy timeout), a dataset
# is uploaded, and while it is staged, validated and moved to review, writes to the API
# (chat posts, 20 at once, again and again) all succeed: no 503, because no storage I/O
# happens while a write transaction is open (the test build also aborts on any). draft.json
# still follows the draft's state, written after each commit by the draft-json job.
# storage: s3
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
PPORT=$(free_port)
UP_HOST=$(echo "$BO_S3_ENDPOINT" | sed -E 's#^https?://([^:/]+).*#\1#')
UP_PORT=$(echo "$BO_S3_ENDPOINT" | sed -E 's#^https?://[^:/]+:([0-9]+).*#\1#')
/usr/bin/python3 "$BO_SOURCE_DIR/tests/fakes/slowproxy.py" "$PPORT" "$UP_HOST" "$UP_PORT" 11 \
  >"$T/proxy.out" 2>"$T/proxy.log" &
EXTRA_PIDS+=("$!")
for _ in $(seq 50); do grep -q ready "$T/proxy.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$T/proxy.out" || fail "the delay proxy did not start: $(cat "$T/proxy.log")"
export BO_S3_ENDPOINT=http://127.0.0.1:$PPORT
start_server
UP=$(new_user up@example.org uploader)
tiny_dataset "$T/p" "slow storage"
zip_dir "$T/p" "$T/p.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/p.zip"
expect_status 202
ID=$(jqb .id)
# writes while the pipeline runs against the slow store, until the draft awaits review
: >"$T/codes"
state=
for round in $(seq 1 20); do
  pids=()
  for i in $(seq 1 20); do
    curl -sS -o /dev/null -w '%{http_code}\n' -H "$(auth "$UP")" -H 'Content-Type: application/json' \
      -d "{\"text\": \"round $round message $i\"}" "$BASE/api/v1/resources/$ID/draft/chat" >>"$T/codes" &
    pids+=("$!")
  done
  wait "${pids[@]}"
  state=$(curl -fsS "$BASE/api/v1/resources/$ID/draft" | jq -r .state)
  [ "$state" = "awaiting review" ] && break
  sleep 1
done
echo "draft $ID: $state after $round rounds; chat answers: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
echo "delayed PUTs: $(grep -c delaying "$T/proxy.log")"
[ "$(grep -c delaying "$T/proxy.log")" -ge 1 ] || fail "no PUT went through the delay proxy"
[ "$state" = "awaiting review" ] || wait_state "$ID" "awaiting review" 120
[ "$round" -ge 2 ] || fail "the draft got through before the writes overlapped the slow PUTs ($round rounds)"
grep -qv '^201$' "$T/codes" && fail "API writes failed while storage was slow: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
[ "$(wc -l <"$T/codes")" -ge 40 ] || fail "too few writes ($(wc -l <"$T/codes"))"
# draft.json catches up with the state, written after the commits
for _ in $(seq 1 300); do
  curl -fsSL "$BASE/files/$ID/draft/draft.json" -o "$T/dj" 2>/dev/null &&
    [ "$(jq -r .status.name "$T/dj")" = "awaiting review" ] && break
  sleep 0.2
done
[ "$(jq -r .status.name "$T/dj")" = "awaiting review" ] || fail "draft.json says $(cat "$T/dj")"
grep -q "BUG:" "$T/server.log" && fail "I/O under the write lock: $(grep BUG: "$T/server.log")"
true

# Crash safety: SIGKILL the server while stage jobs run; after a restart every upload
# that got a 202 ends staged and validated (awaiting review), with its files byte for byte as in the package.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env
# one runner and a short lease so the restart finds abandoned work quickly
export BO_JOB_RUNNERS=1 BO_JOB_LEASE_SECONDS=5
start_server
UP=$(new_user sci@example.org uploader)
PKG=$T/multi
multi_pkg "$PKG"
zip_dir "$PKG" "$T/pkg.zip"

# ten uploads at once; with one runner the stage jobs queue up behind each other
pids=()
for i in $(seq 1 10); do
  curl -sS -o "$T/u$i.json" -w '%{http_code}\n' -H "$(auth "$UP")" -H 'Content-Type: application/zip' \
    --data-binary @"$T/pkg.zip" "$BASE/api/v1/uploads" >"$T/u$i.status" &
  pids+=($!)
done
wait "${pids[@]}"
# kill while the queue is busy: a kill after the queue drained would prove nothing
pending=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM jobs WHERE state IN ('queued','running')")
kill9_server
[ "$pending" -gt 0 ] || fail "the queue drained before the kill; the test proves nothing"
ids=()
for i in $(seq 1 10); do
  [ "$(cat "$T/u$i.status")" = 202 ] || fail "upload $i: $(cat "$T/u$i.status")"
  ids+=("$(jq -r .id "$T/u$i.json")")
done
echo "killed with $pending stage jobs pending"
start_server
for id in "${ids[@]}"; do
  wait_state "$id" "awaiting review" 120
  req GET "/api/v1/resources/$id/draft"
  cp "$T/body" "$T/d.json"
  (cd "$PKG" && find . -type f | sed 's|^\./||') | while read -r f; do
    name=$f; [ "$f" = bioimageio.yaml ] && continue
    get_object "$id/draft/files/$name" "$T/obj"
    cmp -s "$T/obj" "$PKG/$f" || fail "$id: $name differs from the package"
  done
  expect_jq "([.files[] | select(.path | startswith(\"thumbnails/\") | not)] | length) == $(cd "$PKG" && find . -type f | wc -l)"
done
# the last transition's mails and draft.json are queued with it and run just after: give them time
for _ in $(seq 1 100); do
  [ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM jobs WHERE state != 'done'")" = 0 ] && break
  sleep 0.1
done
[ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM jobs WHERE state != 'done'")" = 0 ] ||
  fail "jobs not done: $(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT id, kind, state FROM jobs WHERE state != 'done'" | tr '\n' ' ')"
stop_server

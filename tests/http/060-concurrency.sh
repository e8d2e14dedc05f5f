# Concurrent uploads: without an id they get two different ids; with the same new id one
# gets 202 and the other 409. Drafts in flight per user are limited (429).
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
export BO_MAX_DRAFTS_PER_USER=12
start_server
UP=$(new_user sci@example.org uploader)
UP2=$(new_user sci2@example.org uploader)
mkdir -p "$T/ds"; cp -r "$BO_SOURCE_DIR/tests/fixtures/packages/dataset-minimal/." "$T/ds/"
zip_dir "$T/ds" "$T/ds.zip"

pids=()
for i in 1 2 3 4 5 6; do
  curl -sS -o "$T/c$i.json" -w '%{http_code}\n' -H "$(auth "$UP")" -H 'Content-Type: application/zip' \
    --data-binary @"$T/ds.zip" "$BASE/api/v1/uploads" >"$T/c$i.status" &
  pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: the server is a background job too
for i in 1 2 3 4 5 6; do [ "$(cat "$T/c$i.status")" = 202 ] || { cat "$T/c$i.json"; fail "upload $i: $(cat "$T/c$i.status")"; }; done
n=$(jq -r .id "$T"/c?.json | sort -u | wc -l)
[ "$n" = 6 ] || fail "6 concurrent uploads got $n distinct ids"

# same new id from two users at once: exactly one wins
req GET "/api/v1/ids/suggest?type=dataset"
WANT=$(jqb .id)
sed -i "1i id: $WANT" "$T/ds/rdf.yaml"; rm "$T/ds.zip"; zip_dir "$T/ds" "$T/ds.zip"
pids=()
for i in 1 2; do
  tok=$UP; [ $i = 2 ] && tok=$UP2
  curl -sS -o "$T/s$i.json" -w '%{http_code}\n' -H "$(auth "$tok")" -H 'Content-Type: application/zip' \
    --data-binary @"$T/ds.zip" "$BASE/api/v1/uploads" >"$T/s$i.status" &
  pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$T/s1.status" "$T/s2.status" | sort | tr '\n' ' ')
[ "$codes" = "202 409 " ] || { cat "$T"/s?.json; fail "same id twice gave: $codes"; }
[ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM concepts WHERE id = '$WANT'")" = 1 ] || fail "id reserved twice"

# drafts in flight: UP has 6 or 7 now; fill to the limit, then 429
sed -i "1d" "$T/ds/rdf.yaml"; rm "$T/ds.zip"; zip_dir "$T/ds" "$T/ds.zip"
have=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM drafts d JOIN users u ON u.id = d.uploader_id WHERE u.email = 'sci@example.org'")
for _ in $(seq "$have" 11); do
  req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
  expect_status 202
done
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/ds.zip"
expect_problem 429 too-many-drafts
[ -n "$(header Retry-After)" ] || fail "429 without Retry-After"
stop_server

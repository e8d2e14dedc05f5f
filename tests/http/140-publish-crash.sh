# Crash safety of publishing: SIGKILL the server while publish jobs run; after a restart
# every accepted draft ends published exactly once, with every file of its package in the
# version, its draft gone, and no publish job left undone.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env
export BO_JOB_RUNNERS=0 BO_JOB_LEASE_SECONDS=5
start_server
UP=$(new_user sci@example.org uploader)
REV=$(new_user rev@example.org reviewer)
db() { sqlite3 "$BO_DATA_DIR/backoffice.db" "$1"; }
M=$T/m
mkdir -p "$M" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_multi_tensor/." "$M/" && chmod -R u+w "$M"
sed -i 's|source: multi_tensor_unet.py|source: https://example.org/multi_tensor_unet.py|' "$M/bioimageio.yaml"
zip_dir "$M" "$T/m.zip"

N=8
ids=()
for i in $(seq 1 $N); do
  req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/m.zip"
  expect_status 202
  ids+=("$(jqb .id)")
done
"$BO_BIN" jobs run >"$T/jobs.log" 2>&1 || { cat "$T/jobs.log"; fail "jobs run"; }
for id in "${ids[@]}"; do
  # acknowledged: the state-dict weights cannot pass their dynamic test without the architecture
  req POST "/api/v1/resources/$id/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' \
    -d '{"decision":"accept","acknowledge_failed_tests":true}'
  expect_status 202
done
stop_server

# one runner works through the publish jobs; kill it after the first is done
export BO_JOB_RUNNERS=1
start_server
for _ in $(seq 1 600); do
  [ "$(db "SELECT count(*) FROM jobs WHERE kind = 'publish' AND state = 'done'")" -ge 1 ] && break
  sleep 0.05
done
pending=$(db "SELECT count(*) FROM jobs WHERE kind = 'publish' AND state IN ('queued','running')")
kill9_server
[ "$pending" -gt 0 ] || fail "every publish job finished before the kill; the test proves nothing"
echo "killed with $pending of $N publish jobs pending"

start_server
for id in "${ids[@]}"; do
  for _ in $(seq 1 600); do
    [ "$(db "SELECT state FROM versions WHERE concept_id = '$id'")" = published ] && break
    sleep 0.1
  done
  [ "$(db "SELECT count(*) FROM versions WHERE concept_id = '$id'")" = 1 ] || fail "$id: not exactly one version"
  [ "$(db "SELECT state FROM versions WHERE concept_id = '$id'")" = published ] || fail "$id: not published"
  [ "$(db "SELECT count(*) FROM drafts WHERE concept_id = '$id'")" = 0 ] || fail "$id: the draft is left"
  (cd "$M" && find . -type f | sed 's|^\./||') | while read -r f; do
    [ "$f" = bioimageio.yaml ] && continue
    get_object "$id/1/files/$f" "$T/obj" || fail "$id: $f missing"
    cmp -s "$T/obj" "$M/$f" || fail "$id: $f differs"
  done
  get_object "$id/1/files/rdf.yaml" "$T/obj" || fail "$id: rdf.yaml missing"
  [ "$(db "SELECT count(*) FROM files WHERE concept_id = '$id' AND version_or_draft = '1' AND path NOT LIKE 'thumbnails/%'")" = \
    "$(cd "$M" && find . -type f | wc -l)" ] || fail "$id: files rows"
  [ "$(db "SELECT count(*) FROM events WHERE concept_id = '$id' AND kind = 'state' AND message LIKE 'accepted → published%'")" = 1 ] ||
    fail "$id: not published exactly once"
done
[ "$(db "SELECT count(*) FROM jobs WHERE kind = 'publish' AND state != 'done'")" = 0 ] || fail "publish jobs not done"
stop_server

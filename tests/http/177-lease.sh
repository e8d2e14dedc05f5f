# Lease workers (test_runner=lease, issue 18): the server runs no test itself; two
# `backoffice-worker --lease` processes on loopback (one advertising a GPU and no onnx) lease
# the 21 test jobs of 7 drafts over HTTP, each run in its own jail with a fake model worker
# (as in 150: onnx passes, torchscript fails with a produced tensor, the rest is skipped).
# One worker is frozen mid-job and killed -9: its lease expires (lease_seconds 4), the other
# re-runs the job, exactly one result per run is kept and every draft reaches awaiting
# review. Around that, by hand with curl: the worker role's walls (403 both ways), 204 for
# a worker that can run nothing queued, a bad result body (400), a lease left to expire
# (heartbeat and result 410, its file link 403), and SIGTERM finishing a job before exiting.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env
export BO_TEST_RUNNER=lease BO_WORKER_LEASE_SECONDS=4 BO_MAX_DRAFTS_PER_USER=50
WORKER_BIN=$(dirname "$BO_BIN")/backoffice-worker
[ -x "$WORKER_BIN" ] || fail "no $WORKER_BIN"
DB=$BO_DATA_DIR/backoffice.db
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }

# the model worker the lease workers run in their jail (it sleeps so that jobs overlap)
cat >"$T/worker" <<'EOF'
#!/bin/sh
spec=$(cat)
get() { printf '%s' "$spec" | /usr/bin/jq -r "$1"; }
fmt=$(get .weight_format); pkg=$(get .package_dir); rdf=$(get .rdf_file); out=$(get .output_dir)
sleep 1
[ -f "$pkg/$rdf" ] && [ -f "$pkg/test_output.npy" ] || { echo '{"status":"error","details":[]}'; exit 0; }
case $fmt in
  onnx) st=passed; det='{"name":"output matches","status":"passed","errors":[],"warnings":[]}' ;;
  torchscript) st=failed; cp "$pkg/test_output.npy" "$out/output0.npy"
    det='{"name":"output output0 matches","status":"failed","errors":[{"loc":["outputs",0],"msg":"3 elements differ","type":"mismatch"}],"context":{"produced":"out/output0.npy"}}' ;;
  *) st=skipped; det='{"name":"runtime","status":"skipped","errors":[],"warnings":[]}' ;;
esac
printf '{"name":"reproduce test outputs (%s)","weight_format":"%s","status":"%s","details":[%s],"env":{"runtime":"fake"}}\n' \
  "$fmt" "$fmt" "$st" "$det"
EOF
chmod +x "$T/worker"
export BO_WORKER_PATH=$T/worker
start_server
UP=$(new_user sci@example.org uploader)
worker_token() {
  "$BO_BIN" user add --name "Worker $1" --email "$1@example.org" --role uploader >/dev/null
  "$BO_BIN" token create "$1@example.org" --worker
}
WA=$(worker_token wa); WB=$(worker_token wb); WM=$(worker_token wm)
uid_of() { sql "SELECT id FROM users WHERE email = '$1@example.org'"; }
UA=$(uid_of wa); UB=$(uid_of wb); UM=$(uid_of wm)
lease() { # lease TOKEN FORMATS_JSON WAIT
  req POST /api/v1/worker/lease -H "$(auth "$1")" -H 'Content-Type: application/json' \
    --data "{\"capabilities\":{\"weight_formats\":$2,\"runtimes\":{\"onnxruntime\":\"1.30.0\"},\"gpu\":false},\"wait_seconds\":$3}"
}

# --- the worker role's walls
lease "$UP" '["onnx"]' 0
expect_problem 403 forbidden
req POST /api/v1/worker/lease -H 'Content-Type: application/json' --data '{}'
expect_problem 401 unauthorized
req GET /api/v1/me -H "$(auth "$WM")"
expect_problem 403 forbidden
req POST /api/v1/uploads -H "$(auth "$WM")" -H 'Content-Type: application/zip' --data-binary 'x'
expect_problem 403 forbidden
lease "$WM" '"onnx"' 0
expect_problem 400 bad-request
lease "$WM" '["onnx"]' 31
expect_problem 400 bad-request

# --- 7 drafts of the nuclei model: 3 test jobs each, all waiting for a lease worker
nuclei_pkg "$T/n"
zip_dir "$T/n" "$T/n.zip"
IDS=()
for _ in 1 2 3 4 5 6 7; do
  req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/n.zip"
  expect_status 202
  IDS+=("$(jqb .id)")
done
for id in "${IDS[@]}"; do wait_state "$id" testing 90; done
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'test' AND state = 'queued'")" = 21 ] && break; sleep 0.1
done
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'test' AND state = 'queued'")" = 21 ] || fail "21 test jobs are not queued"
sleep 2 # the server's own runners leave them alone
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'test' AND state = 'queued'")" = 21 ] || fail "the server ran a test itself"

# a worker that can run nothing queued waits, then gets 204
t0=$(date +%s%N)
lease "$WM" '["tensorflow_saved_model_bundle"]' 1
expect_status 204
[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 900 ] || fail "the long poll did not wait"

# --- one lease by hand, left to expire
lease "$WM" '["onnx"]' 0
expect_status 200
expect_jq '.job.weight_format == "onnx" and .lease_seconds == 4 and (.job.files | length) > 3
  and all(.job.files[]; (.url | startswith("http")) and (.sha256 | length) == 64 and .size >= 0)
  and (.job.spec | has("package_dir") | not) and .job.spec.rdf_file == "rdf.yaml"'
L=$(jqb .lease_id); LJOB=$(jqb .job.concept)
jq -c '.job.files[] | select(.path == "rdf.yaml")' "$T/body" >"$T/rdf.json"
FURL=$(jq -r .url "$T/rdf.json")
# the links never carry the worker's token
grep -q "$WM" "$T/body" && fail "the lease answer holds the worker token"
curl -fsS -o "$T/rdf.got" "$FURL" || fail "the file link does not work while the lease lives"
[ "$(sha256sum <"$T/rdf.got" | cut -d' ' -f1)" = "$(jq -r .sha256 "$T/rdf.json")" ] || fail "file link: wrong bytes"
if [ "$BO_STORAGE" = fs ]; then
  # the secret opens only this draft's files
  req GET "${FURL#$BASE}/../../../../etc/passwd" --path-as-is
  [ "$STATUS" = 404 ] || [ "$STATUS" = 400 ] || [ "$STATUS" = 403 ] || fail "file link escaped: $STATUS"
  req GET "$(dirname "${FURL#$BASE}")/no-such-file"
  expect_problem 404 not-found
fi
req PUT "/api/v1/worker/leases/$L/result" -H "$(auth "$WM")" -H 'Content-Type: application/json' --data '{"status":"great","details":[]}'
expect_problem 400 bad-request
req PUT "/api/v1/worker/leases/$L/result" -H "$(auth "$WM")" -H 'Content-Type: application/json' --data '[1,2]'
expect_problem 400 bad-request
req PUT "/api/v1/worker/leases/$L/result" -H "$(auth "$WM")" -H 'Content-Type: application/json' \
  --data '{"status":"passed","details":[{"name":3,"status":"passed"}]}'
expect_problem 400 bad-request
req PUT "/api/v1/worker/leases/$L/result" -H "$(auth "$WM")" -H 'Content-Type: application/json' \
  --data '{"status":"passed","weight_format":"torchscript","details":[]}'
expect_problem 400 bad-request
req PUT "/api/v1/worker/leases/$L/outputs/x.npy" -H "$(auth "$WM")" -H 'Content-Type: application/octet-stream' --data-binary 'not npy'
expect_problem 400 bad-request
req POST "/api/v1/worker/leases/$L/heartbeat" -H "$(auth "$WM")"
expect_status 200
expect_jq '.lease_seconds == 4'
req POST "/api/v1/worker/leases/$L/heartbeat" -H "$(auth "$WA")"
expect_problem 404 not-found
req POST "/api/v1/worker/leases/$L/heartbeat" -H "$(auth "$UP")"
expect_problem 403 forbidden
sleep 5.5
req POST "/api/v1/worker/leases/$L/heartbeat" -H "$(auth "$WM")"
expect_problem 410 gone
req PUT "/api/v1/worker/leases/$L/result" -H "$(auth "$WM")" -H 'Content-Type: application/json' \
  --data '{"name":"late","weight_format":"onnx","status":"passed","details":[]}'
expect_problem 410 gone
if [ "$BO_STORAGE" = fs ]; then # a presigned S3 URL lives its own minute; our link ends with the lease
  STATUS=$(curl -sS -o /dev/null -w '%{http_code}' "$FURL")
  [ "$STATUS" = 403 ] || fail "the file link still works after its lease ended ($STATUS)"
fi
# nothing of the late result was stored; the next lease call gives the job back to the queue
[ "$(sql "SELECT count(*) FROM test_runs WHERE concept_id = '$LJOB' AND kind = 'dynamic' AND weight_format = 'onnx' AND status NOT IN ('queued', 'running')")" = 0 ] \
  || fail "a late result was stored"
lease "$WM" '["tensorflow_saved_model_bundle"]' 0
expect_status 204
[ "$(sql "SELECT state FROM worker_leases WHERE id = '$L'")" = expired ] || fail "the lease did not expire"
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'test' AND state = 'queued'")" = 21 ] || fail "the job did not go back to the queue"

# --- two lease workers drain the queue; B (a GPU host without onnx) is killed mid-job
cat >"$T/caps-a.json" <<'EOF'
{"weight_formats": ["onnx", "torchscript", "pytorch_state_dict"], "runtimes": {"onnxruntime": "1.30.0", "libtorch": "1.13.1"}, "gpu": false}
EOF
cat >"$T/caps-b.json" <<'EOF'
{"weight_formats": ["torchscript", "pytorch_state_dict"], "runtimes": {"libtorch": "1.13.1"}}
EOF
"$WORKER_BIN" --lease "$BASE" --token "$WA" --capabilities "$T/caps-a.json" >"$T/wa.log" 2>&1 &
PA=$!; EXTRA_PIDS+=("$PA")
"$WORKER_BIN" --lease "$BASE/" --token "$WB" --capabilities "$T/caps-b.json" --gpu >"$T/wb.log" 2>&1 &
PB=$!; EXTRA_PIDS+=("$PB")
done_by() { sql "SELECT count(*) FROM worker_leases WHERE user_id = $1 AND state = 'done'"; }
for _ in $(seq 1 300); do
  [ "$(done_by "$UA")" -ge 1 ] && [ "$(done_by "$UB")" -ge 1 ] && break; sleep 0.1
done
[ "$(done_by "$UA")" -ge 1 ] && [ "$(done_by "$UB")" -ge 1 ] || { cat "$T/wa.log" "$T/wb.log"; fail "both workers did not store results"; }
# freeze B while it holds a lease (so it is mid-job), then kill it
KL=
for _ in $(seq 1 200); do
  KL=$(sql "SELECT id FROM worker_leases WHERE user_id = $UB AND state = 'active'")
  if [ -n "$KL" ]; then
    kill -STOP "$PB"
    [ "$(sql "SELECT state FROM worker_leases WHERE id = '$KL'")" = active ] && break
    kill -CONT "$PB"; KL=
  fi
  sleep 0.05
done
[ -n "$KL" ] || fail "worker B was never caught mid-job"
kill -9 "$PB"; wait "$PB" 2>/dev/null || true
KJOB=$(sql "SELECT job_id FROM worker_leases WHERE id = '$KL'")
for id in "${IDS[@]}"; do wait_state "$id" "awaiting review" 120; done
[ "$(sql "SELECT state FROM worker_leases WHERE id = '$KL'")" = expired ] || fail "the killed worker's lease did not expire"
[ "$(sql "SELECT count(*) FROM worker_leases WHERE job_id = $KJOB AND state = 'done' AND user_id = $UA")" = 1 ] \
  || fail "worker A did not re-run the job of the killed worker"
[ "$(sql "SELECT state FROM jobs WHERE id = $KJOB")" = done ] || fail "the re-run job is not done"
# B never got an onnx job; exactly one result per run; one 'tested' event per run
[ "$(sql "SELECT count(*) FROM worker_leases WHERE user_id = $UB AND weight_format = 'onnx'")" = 0 ] || fail "B got an onnx job"
[ "$(sql "SELECT count(*) FROM test_runs WHERE kind = 'dynamic'")" = 21 ] || fail "not 21 dynamic runs"
[ "$(sql "SELECT count(*) FROM (SELECT 1 FROM test_runs WHERE kind = 'dynamic' GROUP BY concept_id, revision_or_version, weight_format HAVING count(*) > 1)")" = 0 ] \
  || fail "a run has more than one result"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'tested'")" = 21 ] || fail "not one tested event per run: $(sql "SELECT count(*) FROM events WHERE kind = 'tested'")"
[ "$(sql "SELECT count(*) FROM worker_leases WHERE state = 'done'")" = 21 ] || fail "not 21 leases ended with a result"
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'test' AND state != 'done'")" = 0 ] || fail "test jobs left undone"
ID=${IDS[0]}
req GET "/api/v1/resources/$ID/draft"
expect_status 200
expect_jq '[.tests[] | select(.weight_format == "onnx")][0] | .status == "passed" and .tool == "backoffice-worker"
  and .summary.details[0].status == "passed"'
expect_jq '[.tests[] | select(.weight_format == "pytorch_state_dict")][0].status == "skipped"'
# a failed comparison: the uploaded tensor is kept where a local run keeps it, and pointed at
KEY="$ID/draft/test_outputs/torchscript/output0.npy"
expect_jq "[.tests[] | select(.weight_format == \"torchscript\")][0] | .status == \"failed\"
  and .summary.test_outputs == [\"$KEY\"] and .summary.details[0].comparison.produced == \"$KEY\""
get_object "$KEY" "$T/out.npy" || fail "the produced tensor was not stored"
cmp -s "$T/out.npy" "$T/n/test_output.npy" || fail "the stored tensor differs from the worker's"
# a result for the killed worker's (expired) lease is refused, and a second one for a done lease
req PUT "/api/v1/worker/leases/$KL/result" -H "$(auth "$WB")" -H 'Content-Type: application/json' \
  --data '{"status":"passed","details":[]}'
expect_problem 410 gone
DL=$(sql "SELECT id FROM worker_leases WHERE user_id = $UA AND state = 'done' LIMIT 1")
req PUT "/api/v1/worker/leases/$DL/result" -H "$(auth "$WA")" -H 'Content-Type: application/json' \
  --data '{"status":"passed","details":[]}'
expect_problem 409 state-conflict

# --- SIGTERM: A finishes the job it holds, then exits; the token is in no log line
new_user rev@example.org reviewer >"$T/rev.token"
req POST "/api/v1/resources/$ID/draft/tests" -H "$(auth "$(cat "$T/rev.token")")"
expect_status 202
for _ in $(seq 1 100); do
  [ -n "$(sql "SELECT id FROM worker_leases WHERE user_id = $UA AND state = 'active'")" ] && break; sleep 0.05
done
TL=$(sql "SELECT id FROM worker_leases WHERE user_id = $UA AND state = 'active'")
[ -n "$TL" ] || fail "A took none of the re-run jobs"
kill -TERM "$PA"
for _ in $(seq 1 200); do kill -0 "$PA" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PA" 2>/dev/null && fail "A did not exit after SIGTERM"
wait "$PA" || fail "A exited with $?"
[ "$(sql "SELECT state FROM worker_leases WHERE id = '$TL'")" = done ] || fail "A did not finish its job before exiting"
grep -q "stopped by a signal" "$T/wa.log" || fail "A's log does not say why it stopped"
grep -q "leased" "$T/wa.log" || fail "A's log names no job"

# --- the real model worker: a lease worker that finds its runtimes itself (ONNX Runtime,
# backoffice-torch.so, python) runs the corpus model in the jail, as itself in stdin mode
REVT=$(cat "$T/rev.token")
req POST "/api/v1/resources/${IDS[1]}/draft/tests" -H "$(auth "$REVT")"
expect_status 202
env -u BO_WORKER_PATH BO_TEST_TIMEOUT=120 "$WORKER_BIN" --lease "$BASE" --token "$WA" >"$T/wr.log" 2>&1 &
PR=$!; EXTRA_PIDS+=("$PR")
wait_state "${IDS[1]}" "awaiting review" 300
wait_state "$ID" "awaiting review" 300
grep -q 'capabilities {"weight_formats":\["onnx","torchscript"' "$T/wr.log" || { cat "$T/wr.log"; fail "the worker did not find its runtimes"; }
req GET "/api/v1/resources/${IDS[1]}/draft"
expect_jq '[.tests[] | select(.weight_format == "onnx")][0] | .status == "passed"
  and (.summary.env | tostring | test("onnxruntime"))'
if jailed; then expect_jq '[.tests[] | select(.weight_format == "onnx")][0].summary.sandbox.jailed == true'; fi
kill -TERM "$PR"; wait "$PR" || fail "the real worker exited with $?"
for t in "$WA" "$WB"; do
  grep -qF "$t" "$T/wa.log" "$T/wb.log" "$T/wr.log" "$T/server.log" && fail "a log holds a worker token"
done
true

# Dynamic tests over HTTP with a fake worker that follows workers/PROTOCOL.md without
# running a model (so this checks the server side: sandbox, test jobs, lifecycle, re-run,
# faults): a valid model gets one test job per weight format, at most max_test_workers at
# once; the draft waits in `testing` and reaches `awaiting review` with the summaries in
# GET …/draft; a failed run keeps its produced tensor in storage; a reviewer re-runs the
# tests; a worker that segfaults, hangs or eats memory becomes an `error` run with the
# reason and the queue goes on; `backoffice test` runs the same worker locally.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env

# The fake worker: onnx passes, torchscript fails (producing a tensor), anything else is
# skipped; faults as in PROTOCOL.md when BO_WORKER_FAULTS=1. It reports (in "seen") its
# start/end times in ms, so the test can see that runs never overlap, and what it saw of
# its jail. It can write nowhere outside the jail, so the result is its only report.
cat >"$T/worker" <<EOF
#!/bin/sh
spec=\$(cat)
get() { printf '%s' "\$spec" | /usr/bin/jq -r "\$1"; }
fmt=\$(get .weight_format); pkg=\$(get .package_dir); rdf=\$(get .rdf_file); out=\$(get .output_dir)
t0=\$(date +%s%3N)
if [ "\${BO_WORKER_FAULTS:-}" = 1 ]; then
  case \$(get '.fault // ""') in
    segfault) echo "about to crash" >&2; kill -SEGV \$\$ ;;
    sleep) exec sleep 3600 ;;
    alloc) exec /usr/bin/python3 -c 'a = []
while True: a.append(b"x" * (1 << 26))' ;;
  esac
fi
sleep 0.4
fds=\$(ls /proc/self/fd | wc -l); env=\$(env | sort | tr '\n' ' '); cwd=\$(pwd); id=\$(id -u)
host=\$(ls -d /work /root /home /var "$BO_DATA_DIR" "$T/n.zip" /etc/shadow 2>/dev/null | tr '\n' ' ')
[ -f "\$pkg/\$rdf" ] && [ -f "\$pkg/test_output.npy" ] || { echo '{"status":"error","details":[]}'; exit 0; }
case \$fmt in
  onnx) st=passed; det='{"name":"output matches","status":"passed","errors":[],"warnings":[]}' ;;
  torchscript) st=failed; cp "\$pkg/test_output.npy" "\$out/output0.npy"
    det='{"name":"output output0 matches test_output.npy","status":"failed","errors":[{"loc":["outputs",0],"msg":"3 of 262144 elements differ","type":"mismatch"}],"context":{"max_abs_diff":0.5,"produced":"out/output0.npy"}}' ;;
  *) st=skipped; det='{"name":"runtime","status":"skipped","errors":[],"warnings":[{"msg":"no runtime here"}]}' ;;
esac
t1=\$(date +%s%3N)
printf '{"name":"reproduce test outputs (%s)","weight_format":"%s","status":"%s","details":[%s],"env":{"runtime":"fake"},"seen":{"fds":%s,"env":"%s","cwd":"%s","pkg":"%s","uid":%s,"host":"%s","t0":%s,"t1":%s}}\n' \
  "\$fmt" "\$fmt" "\$st" "\$det" "\$fds" "\$env" "\$cwd" "\$pkg" "\$id" "\$host" "\$t0" "\$t1"
EOF
chmod +x "$T/worker"
export BO_WORKER_PATH=$T/worker
start_server
UP=$(new_user sci@example.org uploader)
REV=$(new_user rev@example.org reviewer)
draft() { req GET "/api/v1/resources/$1/draft"; expect_status 200; }
rerun() { req POST "/api/v1/resources/$1/draft/tests" -H "$(auth "$2")"; }

# the nuclei model with its architecture referenced by URL (the package leaves it out)
N=$T/n
mkdir -p "$N" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$N/" && chmod -R u+w "$N"
sed -i 's|source: unet2d.py|source: https://example.org/unet2d.py|' "$N/bioimageio.yaml"
grep -q 'https://example.org/unet2d.py' "$N/bioimageio.yaml" || fail "architecture not replaced"
zip_dir "$N" "$T/n.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/n.zip"
expect_status 202
ID=$(jqb .id)
wait_state "$ID" "awaiting review" 90
draft "$ID"
expect_jq '.validation.status == "passed"'
expect_jq '[.tests[].weight_format] | sort == ["onnx", "pytorch_state_dict", "torchscript"]'
expect_jq '[.tests[] | select(.weight_format == "onnx")][0] | .status == "passed" and .tool == "backoffice-worker"
  and .summary.details[0].status == "passed" and .summary.sandbox.wall_ms >= 400 and .summary.sandbox.peak_rss_kb > 0'
expect_jq '[.tests[] | select(.weight_format == "pytorch_state_dict")][0].status == "skipped"'
# the jail as the worker saw it: the package at /job/pkg, /tmp as its cwd, stdio only, a
# minimal env, nothing of the host's directories, an unprivileged uid
if jailed; then
  expect_jq '[.tests[] | select(.weight_format == "onnx")][0].summary | .sandbox.jailed and (.seen |
    .pkg == "/job/pkg" and .cwd == "/tmp" and .fds <= 5 and (.env | test("BO_|S3|TOKEN") | not) and
    (.env | test("PATH=/usr/bin:/bin")) and .host == "" and .uid != 0)'
else # unconfined (tests/run said why): a scratch cwd holding the package, stdio only, a minimal env
  expect_jq '[.tests[] | select(.weight_format == "onnx")][0].summary | (.sandbox.jailed | not) and (.seen |
    .pkg == .cwd + "/pkg" and .fds <= 5 and (.env | test("BO_|S3|TOKEN") | not) and (.env | test("PATH=/usr/bin:/bin")))'
fi
# a failed comparison: the produced tensor is kept next to the draft and the summary points at it
KEY="$ID/draft/test_outputs/torchscript/output0.npy"
expect_jq '[.tests[] | select(.weight_format == "torchscript")][0] | .status == "failed" and
  .summary.details[0].comparison.produced == "'"$KEY"'" and .summary.test_outputs == ["'"$KEY"'"]'
get_object "$KEY" "$T/produced.npy" || fail "the produced tensor is not in storage"
cmp "$T/produced.npy" "$N/test_output.npy" || fail "the stored tensor differs from what the worker wrote"
# the scratch directories are gone
left=$(find "$BO_DATA_DIR/sandbox" /var/tmp/backoffice-sandbox -maxdepth 2 -name 'bo-sandbox-*' 2>/dev/null |
  while read -r d; do if [ -n "$(find "$d" -newer "$T/n.zip" -print -quit)" ]; then echo "$d"; fi; done || true)
[ -z "$left" ] || fail "scratch directories left behind: $left"
# three runs, never two at once (max_test_workers = 1 with two job runners)
expect_jq '[.tests[].summary.seen | select(. != null)] | length == 3'
expect_jq '[.tests[].summary.seen | [.t0, .t1]] | sort | . as $r | [range(1; length) | select($r[.][0] < $r[. - 1][1])] | length == 0'
req GET "/api/v1/resources/$ID/draft/events"; expect_status 200
expect_jq '[.[] | select(.kind == "tested")] | length == 3'
expect_jq '[.[] | select(.kind == "state") | .details.to] | index("testing") < index("awaiting review")'
# the review queue shows the verdicts; a failed test needs acknowledging
req GET /api/v1/review-queue -H "$(auth "$REV")"; expect_status 200
expect_jq '[.items[] | select(.id == "'"$ID"'") | .tests[] | select(.weight_format == "torchscript" and .status == "failed")] | length == 1'
req POST "/api/v1/resources/$ID/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d '{"decision":"accept"}'
expect_problem 422 tests-failed

# re-run: reviewers only; runs back to queued, the draft back to testing, then a verdict again
rerun "$ID" "$UP"; expect_problem 403 forbidden
rerun nonexistent-id "$REV"; expect_problem 404 not-found
before=$(date +%s%3N)
rerun "$ID" "$REV"; expect_status 202
expect_jq '.state == "testing" and ([.tests[].status] | unique == ["queued"]) and (.tests | length == 3)'
rerun "$ID" "$REV"; expect_problem 409 state-conflict
wait_state "$ID" "awaiting review" 90
draft "$ID"
expect_jq '[.tests[].summary.seen.t0 | select(. > '"$before"')] | length == 3'
req GET "/api/v1/resources/$ID/draft/events"; expect_status 200
expect_jq '[.[] | select(.kind == "tests re-run")] | length == 1'

# faults: each becomes an `error` run with the reason, and the following jobs still run
fault_run() { # FAULT EXPECTED_REGEX [extra env…]
  local fault=$1 want=$2; shift 2
  stop_server
  BO_TEST_FAULT=$fault BO_WORKER_FAULTS=1 start_server_env "$@"
  # (an empty JSON body is fine too)
  req POST "/api/v1/resources/$ID/draft/tests" -H "$(auth "$REV")" -H 'Content-Type: application/json' -d '{}'
  expect_status 202
  wait_state "$ID" "awaiting review" 90
  draft "$ID"
  expect_jq '[.tests[].status] | unique == ["error"]'
  jq -e --arg re "$want" '[.tests[].summary.details[0].errors[0].msg | test($re)] | all' "$T/body" >/dev/null ||
    { jq '.tests[].summary.details' "$T/body"; fail "error runs for $fault do not say '$want'"; }
}
start_server_env() { # start_server with extra VAR=value settings for this server only
  local kv
  for kv in "$@"; do export "${kv?}"; done
  start_server
  for kv in "$@"; do unset "${kv%%=*}"; done
}
fault_run segfault 'crashed \(killed by SIGSEGV\)'
jq -e '.tests[0].summary.stderr | test("about to crash")' "$T/body" >/dev/null || fail "the worker's stderr is not in the error run"
fault_run sleep 'timed out after 2 s' BO_TEST_TIMEOUT=2
# (an address-space limit, or in sanitizer builds the watch on resident memory)
fault_run alloc '(out of memory under the|more than) 256 MiB' BO_TEST_MEMORY=256M BO_TEST_TIMEOUT=30
# a worker that is not there: an error run that says what to do
stop_server
BO_WORKER_PATH=$T/missing-worker start_server
rerun "$ID" "$REV"; expect_status 202
wait_state "$ID" "awaiting review" 60
draft "$ID"
expect_jq '[.tests[].summary.details[0].errors[0].msg | test("missing-worker cannot be run.*BO_WORKER_PATH")] | all'
stop_server
start_server

# the real worker (`make` builds it next to the server): the corpus model reproduces its
# test outputs with onnx and torchscript (max differences as in DYNAMIC_CHECKS.json, ~1e-6);
# the state-dict weights are a URL the sandbox cannot fetch, so they get no pass
stop_server
unset BO_WORKER_PATH
[ -x "$(dirname "$BO_BIN")/backoffice-worker" ] || fail "build the worker first: $(dirname "$BO_BIN")/backoffice-worker"
start_server
rerun "$ID" "$REV"; expect_status 202
wait_state "$ID" "awaiting review" 300
draft "$ID"
for f in onnx torchscript; do
  jq -e --arg f "$f" '[.tests[] | select(.weight_format == $f)][0] | .status == "passed" and
    ([.summary.details[] | select(.comparison.max_abs_diff != null) | .comparison.max_abs_diff < 0.0001] | (length > 0 and all)) and
    ([.summary.env[] | .[0]] | index("backoffice") != null and length >= 2) and .summary.peak_rss_kb > 0 and (.summary.sandbox.network_cut | type == "boolean")' \
    "$T/body" >/dev/null || { jq --arg f "$f" '.tests[] | select(.weight_format == $f)' "$T/body"; fail "$f did not pass with the real worker"; }
done
expect_jq '[.tests[] | select(.weight_format == "pytorch_state_dict")][0].status | IN("failed", "skipped", "error")'
# and its fault switch: a segfaulting worker is an error run, the other formats still run
stop_server
BO_TEST_FAULT=segfault BO_WORKER_FAULTS=1 start_server
rerun "$ID" "$REV"; expect_status 202
wait_state "$ID" "awaiting review" 120
draft "$ID"
# (a sanitizer build of the worker reports the SEGV itself and exits 1; its log is kept)
expect_jq '[.tests[] | select(.status == "error") | (.summary.details[0].errors[0].msg + (.summary.stderr // "")) | test("SEGV")] | length == 3'
stop_server
start_server

# a package whose static validation failed has no dynamic tests to re-run
B=$T/b
mkdir -p "$B" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$B/" && chmod -R u+w "$B"
zip_dir "$B" "$T/b.zip"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/b.zip"
expect_status 202
BID=$(jqb .id)
wait_state "$BID" "changes requested" 60
draft "$BID"; expect_jq '.validation.status == "failed" and .tests == []'
rerun "$BID" "$REV"; expect_problem 409 state-conflict

# the CLI runs the same worker on a package directory, a zip or an RDF file
export BO_WORKER_PATH=$T/worker
set +e
"$BO_BIN" test "$N" --json >"$T/cli.json" 2>"$T/cli.err"; rc=$?
set -e
[ $rc = 1 ] || { cat "$T/cli.err"; fail "backoffice test exit $rc, expected 1 (torchscript fails)"; }
jq -e '.status == "failed" and .validation.status == "passed" and ([.tests[].status] | sort == ["failed", "passed", "skipped"])' \
  "$T/cli.json" >/dev/null || { cat "$T/cli.json"; fail "backoffice test --json"; }
"$BO_BIN" test "$T/n.zip" --weight-format onnx --json >"$T/cli.json" || fail "onnx alone should pass"
jq -e '.status == "passed" and (.tests | length == 1) and .tests[0].weight_format == "onnx"' "$T/cli.json" >/dev/null ||
  { cat "$T/cli.json"; fail "backoffice test --weight-format onnx"; }
"$BO_BIN" test "$N/bioimageio.yaml" --weight-format onnx >"$T/cli.txt" || fail "table output run failed"
grep -q 'reproduce test outputs (onnx): passed' "$T/cli.txt" || { cat "$T/cli.txt"; fail "no table line for onnx"; }
set +e
"$BO_BIN" test "$N" --weight-format keras_hdf5 >/dev/null 2>"$T/cli.err"; rc=$?
"$BO_BIN" test "$B" --json >"$T/cli.json" 2>/dev/null; rc2=$?
"$BO_BIN" test "$T/nothing-here" >/dev/null 2>&1; rc3=$?
set -e
[ $rc = 2 ] && grep -q "no 'keras_hdf5' weights" "$T/cli.err" || fail "unknown weight format: exit $rc"
[ $rc2 = 1 ] && jq -e '.status == "failed" and .tests == []' "$T/cli.json" >/dev/null || fail "static failure: exit $rc2"
[ $rc3 = 2 ] || fail "missing path: exit $rc3"

stop_server

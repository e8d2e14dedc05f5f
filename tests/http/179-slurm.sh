# The Slurm runner (test_runner=slurm, issue 18): a real single-node Slurm cluster from
# Debian (munged, slurmctld, slurmd; started here from a generated slurm.conf in $T, no
# systemd) runs the test jobs the server submits with sbatch, one Slurm job per test job,
# each running `backoffice-worker --lease URL --once` with a token scoped to its job. The
# model worker is the fake one of 150/177 (onnx passes, torchscript fails with a produced
# tensor, the rest is skipped), so the verdicts are the local runner's. Checked: the Slurm
# job ids are recorded (slurm_jobs, `slurm` events), each job's output file holds the
# worker's log, Slurm's own records (scontrol, and the jobcomp/filetxt file) show the jobs
# COMPLETED — sacct cannot: without slurmdbd it answers "accounting storage is disabled",
# which this script checks, so the server falls back to scontrol; a draft superseded while
# its Slurm jobs are pending gets them scancelled (CANCELLED, gone from squeue, nothing
# stored, never run); a Slurm job cancelled behind the server's back makes its run `error`
# with Slurm's state; the job tokens are revoked and never logged.
# storage: fs
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
for c in munged slurmctld slurmd sbatch squeue scancel scontrol sacct sinfo; do
  command -v "$c" >/dev/null || skip_script "no $c (make deps-test installs slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" = 0 ] || skip_script "the single-node Slurm cluster runs as root here (SlurmUser=root)"
setup_env
S=$T/slurm
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log" "$T/slurm-logs"
chmod 0700 "$S/munge"
SLURM_PIDS=()
slurm_down() {
  # every job we know of goes, then the daemons, each by its PID
  [ -f "$S/slurm.conf" ] && scancel --full --quiet --me >/dev/null 2>&1 || true
  for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/pid"; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do
    alive=0
    for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/pid"; do
      [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break; sleep 0.1
  done
}
trap 'rc=$?; slurm_down; (exit $rc); cleanup_all' EXIT

dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 0400 "$S/munge/munge.key"
munged --key-file="$S/munge/munge.key" --socket="$S/munge/sock" --pid-file="$S/munge/pid" \
  --log-file="$S/munge/log" --seed-file="$S/munge/seed" --force || fail "munged did not start"
CTLD_PORT=$(free_port); SLURMD_PORT=$(free_port)
cat >"$S/slurm.conf" <<CONF
ClusterName=bo-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MinJobAge=600
NodeName=localhost NodeHostname=$(hostname) NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$S/slurm.conf
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not start"
for _ in $(seq 1 100); do
  [ "$(sinfo --noheader --format=%T 2>/dev/null)" = idle ] && break; sleep 0.2
done
[ "$(sinfo --noheader --format=%T)" = idle ] || { cat "$S/log/slurmctld.log"; fail "the Slurm node is not idle"; }

# the model worker the lease worker runs in its jail on the Slurm node
cat >"$T/worker" <<'W'
#!/bin/sh
spec=$(cat)
get() { printf '%s' "$spec" | /usr/bin/jq -r "$1"; }
fmt=$(get .weight_format); pkg=$(get .package_dir); rdf=$(get .rdf_file); out=$(get .output_dir)
[ -f "$pkg/$rdf" ] && [ -f "$pkg/test_output.npy" ] || { echo '{"status":"error","details":[]}'; exit 0; }
case $fmt in
  onnx) st=passed; det='{"name":"output matches","status":"passed","errors":[],"warnings":[]}' ;;
  torchscript) st=failed; cp "$pkg/test_output.npy" "$out/output0.npy"
    det='{"name":"output output0 matches","status":"failed","errors":[{"loc":["outputs",0],"msg":"3 elements differ","type":"mismatch"}],"context":{"produced":"out/output0.npy"}}' ;;
  *) st=skipped; det='{"name":"runtime","status":"skipped","errors":[],"warnings":[]}' ;;
esac
printf '{"name":"reproduce test outputs (%s)","weight_format":"%s","status":"%s","details":[%s],"env":{"runtime":"fake"}}\n' \
  "$fmt" "$fmt" "$st" "$det"
W
chmod +x "$T/worker"
# what the node's worker says it runs (its real runtimes are not next to the fake worker)
echo '{"weight_formats":["onnx","torchscript","pytorch_state_dict"],"runtimes":{"fake":"1"},"gpu":false}' >"$T/caps.json"
export BO_SLURM_CAPABILITIES=$T/caps.json
export BO_WORKER_PATH=$T/worker BO_TEST_RUNNER=slurm BO_SLURM_LOG_DIR=$T/slurm-logs BO_SLURM_TIME=5
export BO_SLURM_PARTITION=test BO_MAX_DRAFTS_PER_USER=50
jailed || export BO_SANDBOX=none
DB=$BO_DATA_DIR/backoffice.db
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }
start_server
UP=$(new_user sci@example.org uploader)
[ "$(stat -c %a "$BO_DATA_DIR/slurm")" = 700 ] || fail "the script directory is not private"

# --- one model through Slurm: 3 test jobs, 3 Slurm jobs, the local runner's verdicts
nuclei_pkg "$T/n"
zip_dir "$T/n" "$T/n.zip"
upload_reviewable "$UP" "$T/n.zip" 180
A=$ID
req GET "/api/v1/resources/$A/draft"
expect_jq '[.tests[] | select(.weight_format == "onnx")][0].status == "passed"
  and [.tests[] | select(.weight_format == "torchscript")][0].status == "failed"
  and [.tests[] | select(.weight_format == "pytorch_state_dict")][0].status == "skipped"' \
  || { body | head -c 3000; fail "verdicts differ from the local runner's"; }
# the results are in before the Slurm jobs exit: the server sees them end
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM slurm_jobs WHERE concept_id = '$A' AND state = 'active'")" = 0 ] && break; sleep 0.1
done
[ "$(sql "SELECT count(*) FROM slurm_jobs WHERE concept_id = '$A' AND state = 'ended' AND slurm_state = 'COMPLETED' AND slurm_id > 0")" = 3 ] \
  || { sql "SELECT * FROM slurm_jobs"; fail "3 Slurm jobs did not complete"; }
[ "$(sql "SELECT count(*) FROM events WHERE concept_id = '$A' AND kind = 'slurm' AND message LIKE '%submitted as Slurm job%'")" = 3 ] \
  || fail "the Slurm job ids are not in the draft's events"
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'test' AND subject = '$A' AND state = 'done'")" = 3 ] || fail "test jobs not done"
for sid in $(sql "SELECT slurm_id FROM slurm_jobs WHERE concept_id = '$A'"); do
  jid=$(sql "SELECT job_id FROM slurm_jobs WHERE slurm_id = $sid")
  # Slurm's own records: the controller's and the job completion file
  scontrol --oneliner show job "$sid" | grep -q 'JobState=COMPLETED' || fail "scontrol: Slurm job $sid not COMPLETED"
  grep -q "JobId=$sid .*Name=bo-test-$jid .*JobState=COMPLETED" "$S/log/jobcomp.txt" || fail "jobcomp: no COMPLETED record of $sid"
  f=$T/slurm-logs/bo-test-$jid-$sid.out
  [ -f "$f" ] || fail "no output file $f"
  grep -q 'lease worker: leased' "$f" && grep -q 'result stored' "$f" || { cat "$f"; fail "$f lacks the worker's log"; }
done
# sacct needs slurmdbd; without it Slurm says so (hence the server's scontrol fallback)
if sacct --noheader --parsable2 --jobs "$sid" >"$T/sacct.out" 2>&1; then
  grep -q "^$sid|" "$T/sacct.out" || fail "sacct answered but does not show job $sid"
else
  grep -q 'accounting storage is disabled' "$T/sacct.out" || { cat "$T/sacct.out"; fail "sacct failed otherwise"; }
fi
# the job tokens: one per Slurm job, scoped to its job, all revoked now, never logged
[ "$(sql "SELECT count(*) FROM tokens t JOIN slurm_jobs s ON s.token_id = t.id WHERE t.scope = 'worker:job:' || s.job_id AND t.revoked_at IS NOT NULL")" = 3 ] \
  || fail "the Slurm job tokens are not job-scoped and revoked"
ls "$BO_DATA_DIR/slurm" | grep -q '\.sh$' && fail "a job script was left behind"
grep -aEq 'bo_[A-Za-z0-9_-]{40}' "$T/server.log" "$T"/slurm-logs/* && fail "a token is in a log"

# --- a draft superseded while its Slurm jobs are pending: they are scancelled
scontrol update PartitionName=test State=DOWN
upload_b() {
  req POST "/api/v1/uploads$1" -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/n.zip"
  expect_status 202
}
upload_b ""
B=$(jqb .id)
wait_state "$B" testing 90
pending_of() { # pending_of REVISION: its Slurm job ids once all 3 are pending
  for _ in $(seq 1 200); do
    ids=$(sql "SELECT slurm_id FROM slurm_jobs WHERE concept_id = '$B' AND revision = $1 AND state = 'active' AND slurm_id > 0")
    if [ "$(echo "$ids" | grep -c .)" = 3 ]; then
      n=0; for i in $ids; do squeue --noheader --jobs "$i" --format=%T 2>/dev/null | grep -q PENDING && n=$((n + 1)); done
      [ $n = 3 ] && { echo "$ids"; return 0; }
    fi
    sleep 0.1
  done
  sql "SELECT * FROM slurm_jobs"; squeue; fail "3 pending Slurm jobs of $B revision $1 did not appear"
}
OLD=$(pending_of 1)
upload_b "?id=$B"
for _ in $(seq 1 200); do
  [ "$(sql "SELECT count(*) FROM slurm_jobs WHERE concept_id = '$B' AND revision = 1 AND state = 'cancelled'")" = 3 ] && break; sleep 0.1
done
[ "$(sql "SELECT count(*) FROM slurm_jobs WHERE concept_id = '$B' AND revision = 1 AND state = 'cancelled'")" = 3 ] \
  || { sql "SELECT * FROM slurm_jobs"; fail "the superseded revision's Slurm jobs were not cancelled"; }
for sid in $OLD; do
  squeue --noheader --format=%i | grep -qx "$sid" && fail "Slurm job $sid is still queued"
  scontrol --oneliner show job "$sid" | grep -q 'JobState=CANCELLED' || fail "Slurm job $sid is not CANCELLED"
  ls "$T"/slurm-logs/*-"$sid".out 2>/dev/null && fail "cancelled Slurm job $sid ran"
done
[ "$(sql "SELECT count(*) FROM events WHERE concept_id = '$B' AND kind = 'slurm' AND message LIKE '%cancelled (the draft moved on)%'")" = 3 ] \
  || fail "no events of the cancellations"
[ "$(sql "SELECT count(*) FROM events WHERE concept_id = '$B' AND kind = 'tested'")" = 0 ] || fail "a result was stored for $B"

# --- revision 2: one of its Slurm jobs is cancelled behind the server's back → its run is `error`
NEW=$(pending_of 2)
VICTIM=$(sql "SELECT slurm_id FROM slurm_jobs WHERE concept_id = '$B' AND revision = 2 AND weight_format = 'onnx'")
scancel "$VICTIM"
scontrol update PartitionName=test State=UP
wait_state "$B" "awaiting review" 180
req GET "/api/v1/resources/$B/draft"
expect_jq '.revision == 2
  and [.tests[] | select(.weight_format == "onnx")][0].status == "error"
  and [.tests[] | select(.weight_format == "torchscript")][0].status == "failed"
  and [.tests[] | select(.weight_format == "pytorch_state_dict")][0].status == "skipped"' \
  || { body | head -c 3000; fail "revision 2's verdicts"; }
grep -q "Slurm job $VICTIM of this test ended CANCELLED without a result" "$T/body" || { body | head -c 3000; fail "the error run does not say Slurm's state"; }
[ "$(sql "SELECT slurm_state FROM slurm_jobs WHERE slurm_id = $VICTIM")" = CANCELLED ] || fail "the victim's state is not recorded"
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM slurm_jobs WHERE state = 'active'")" = 0 ] && break; sleep 0.1
done
[ "$(sql "SELECT count(*) FROM slurm_jobs WHERE state = 'active'")" = 0 ] || fail "Slurm jobs are still followed"
[ "$(sql "SELECT count(*) FROM tokens WHERE scope LIKE 'worker:job:%' AND revoked_at IS NULL")" = 0 ] || fail "a job token is still valid"
[ -z "$(squeue --noheader --format=%i)" ] || fail "Slurm jobs are left: $(squeue)"
echo "179-slurm: 9 Slurm jobs (3 completed, 3 scancelled by the server, 1 cancelled outside, 2 completed), verdicts as the local runner's"

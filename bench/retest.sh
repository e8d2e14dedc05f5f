#!/usr/bin/env bash
# bench/retest.sh: throughput of re-testing N published versions (issue 18) with 1, 2 and 4
# test slots of one server (max_test_workers), and the per-job time that a capacity plan
# needs. The versions are SQL rows whose files are hard links of one small real model (the
# corpus nuclei U-Net with its onnx weights), so every job runs the real worker in the jail
# on real weights; `backoffice retest --all` queues one job per version and follows them.
# Prints, per slot count: wall time, jobs/min, ratio to 1 slot, and the mean job time from
# the runs' started/finished times. The reference (the Python backoffice) re-tests on
# GitHub-hosted runners, one VM per job, capped by the 256-job matrix; it cannot run here,
# so the ratio is to our own single slot. Lease and Slurm workers take draft tests only so
# far (README "Runners"): re-tests run on the server's slots.
# Usage: bench/retest.sh [N]   (default 24; BUILD=build/rel)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-24}
BUILD=${BUILD:-build/rel}
BIN=$ROOT/$BUILD/backoffice
CORPUS=${BO_CORPUS_DIR:-$ROOT/../shared/corpus}
SRC=$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad
make -s BUILD="$BUILD" "$BUILD/backoffice" "$BUILD/backoffice-worker" "$BUILD/backoffice-torch.so" >/dev/null
[ -d "$SRC" ] || { echo "no corpus at $CORPUS" >&2; exit 2; }
W=$(mktemp -d /tmp/bo-bench-retest-XXXXXX)
PID=
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# the package: the nuclei model with its onnx weights only
P=$W/pkg
mkdir -p "$P"
cp "$SRC/weights.onnx" "$SRC/test_input.npy" "$SRC/test_output.npy" "$P/"
/usr/bin/python3 - "$SRC/bioimageio.yaml" "$P/rdf.yaml" "$W/rdf.json" <<'EOF'
import json, sys, yaml
r = yaml.safe_load(open(sys.argv[1]))
r["weights"] = {"onnx": r["weights"]["onnx"]}
r["weights"]["onnx"].pop("parent", None)
for k in ("covers", "documentation"):
    r.pop(k, None)
yaml.safe_dump(r, open(sys.argv[2], "w"), sort_keys=False)
json.dump(r, open(sys.argv[3], "w"))
EOF
RDF_SHA=$(sha256sum "$P/rdf.yaml" | cut -d' ' -f1)

run() { # SLOTS: prints "slots wall_s mean_job_s"
  local slots=$1 d=$W/run$1
  export BO_DATA_DIR=$d/var BO_MIGRATIONS_DIR=$ROOT/migrations BO_SCHEMA_DIR=$ROOT/schema BO_STATIC_DIR=$ROOT/static
  export BO_STORAGE=fs BO_LISTEN=127.0.0.1 BO_LOG_LEVEL=warn BO_RETEST_ON_CHANGE=0 BO_PUBLIC_URL=http://bo.bench
  export BO_MAX_TEST_WORKERS=$slots BO_JOB_RUNNERS=$((slots + 1))
  BO_PORT=$(free_port); export BO_PORT
  mkdir -p "$BO_DATA_DIR"
  "$BIN" migrate >/dev/null
  {
    echo "BEGIN;"
    echo "INSERT INTO users(id, name, email, role, created_at) VALUES (5, 'Sam', 'sam@example.org', 'uploader', '2026-01-01T00:00:00Z');"
    for i in $(seq 1 "$N"); do
      id=b$(printf '%04d' "$i")
      echo "INSERT INTO concepts(id, type, created_at, created_by) VALUES ('$id', 'model', '2026-01-01T00:00:00Z', 5);"
      echo "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) VALUES ('$id', '1', 'published', readfile('$W/rdf.json'), '$RDF_SHA', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
      for f in rdf.yaml weights.onnx test_input.npy test_output.npy; do
        echo "INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) VALUES ('$id', '1', '$f', $(stat -c %s "$P/$f"), '$(sha256sum "$P/$f" | cut -d' ' -f1)', 'application/octet-stream');"
      done
    done
    echo "COMMIT;"
  } | sqlite3 "$BO_DATA_DIR/backoffice.db"
  for i in $(seq 1 "$N"); do
    mkdir -p "$BO_DATA_DIR/storage/b$(printf '%04d' "$i")/1/files"
    ln "$P"/* "$BO_DATA_DIR/storage/b$(printf '%04d' "$i")/1/files/"
  done
  "$BIN" serve >"$d/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$BO_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" retest --all >"$d/retest.out" 2>&1
  t1=$(date +%s.%N)
  kill "$PID"; wait "$PID" || true; PID=
  local done_n mean
  done_n=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM test_runs WHERE of_version = 1 AND status IN ('passed', 'failed')")
  [ "$done_n" = "$N" ] || { cat "$d/retest.out" >&2; echo "slots $slots: $done_n of $N re-tests finished" >&2; exit 1; }
  mean=$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT printf('%.2f', avg((julianday(finished_at) - julianday(started_at)) * 86400)) FROM test_runs WHERE of_version = 1")
  echo "$slots $(echo "$t1 - $t0" | bc -l) $mean"
}

echo "re-testing $N published versions (real worker, onnx, in the jail where it works) on $(nproc) cores"
printf '%-6s %10s %10s %10s %14s\n' slots wall_s jobs/min ratio mean_job_s
base=
for s in 1 2 4; do
  read -r slots wall mean < <(run "$s")
  [ -n "$base" ] || base=$wall
  printf '%-6s %10.1f %10.1f %10.2f %14s\n' "$slots" "$wall" "$(echo "$N * 60 / $wall" | bc -l)" \
    "$(echo "$base / $wall" | bc -l)" "$mean"
done

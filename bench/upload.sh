#!/usr/bin/env bash
# bench/upload.sh: upload throughput of a 1 GiB package through the server into S3 (Swift),
# against a plain curl --upload-file of the same bytes straight to the same Swift, in
# one run. Prints both throughputs, their ratio (goal >= 0.7) and the server's peak RSS
# (goal: flat, under 64 MiB whatever the package size). Two ratios: until the 202 (the
# package is durable in the server's incoming/ directory) and until the stage job has
# unpacked every file into S3 (the draft is `unpacked`).
# Usage: bench/upload.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE_MIB=${1:-1024}
BIN=$ROOT/${BUILD:-build/rel}/backoffice
[ -x "$BIN" ] || { echo "build first: make" >&2; exit 2; }
T=$(mktemp -d /tmp/bo-bench-XXXXXX)
SERVER_PID=
. "$ROOT/tests/lib/swift.sh"
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; swift_stop >/dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT
swift_start >"$T/swift.log" 2>&1 || { cat "$T/swift.log"; exit 1; }

# the package: an RDF and one big synthetic test tensor (.npy header + random bytes), stored
mkdir -p "$T/pkg"
cat >"$T/pkg/rdf.yaml" <<'YAML'
type: dataset
format_version: 0.2.4
name: benchmark package
description: one large synthetic tensor
authors: [{name: Bench}]
license: CC0-1.0
YAML
/usr/bin/python3 - "$T/pkg/tensor.npy" "$SIZE_MIB" <<'PY'
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
n = mib * 1024 * 1024 // 4
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % n
header = header + " " * (63 - (len(header) + 10) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    chunk = os.urandom(1 << 20)
    for _ in range(mib):
        f.write(chunk)
PY
(cd "$T/pkg" && zip -q -0 -X "$T/pkg.zip" rdf.yaml tensor.npy)
BYTES=$(stat -c %s "$T/pkg.zip")

# reference: the same bytes straight into the same Swift with curl --upload-file, to a
# presigned PUT URL (Debian's python3-botocore, installed by make deps-bench, only signs the URL)
REF_URL=$(/usr/bin/python3 - "$BO_TEST_S3_ENDPOINT" "$BO_TEST_S3_BUCKET" <<'PY'
import sys, botocore.session
from botocore.client import Config
s = botocore.session.get_session().create_client(
    "s3", endpoint_url=sys.argv[1], aws_access_key_id="test:tester", aws_secret_access_key="testing",
    region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(s.generate_presigned_url("put_object", Params={"Bucket": sys.argv[2], "Key": "bench-ref/pkg.zip"}, ExpiresIn=3600))
PY
)
BO_STORAGE=s3 BO_S3_ENDPOINT=$BO_TEST_S3_ENDPOINT BO_S3_BUCKET=$BO_TEST_S3_BUCKET BO_S3_ACCESS_KEY=$BO_TEST_S3_ACCESS_KEY \
  BO_S3_SECRET_KEY=$BO_TEST_S3_SECRET_KEY "$BIN" storage create-bucket >/dev/null
t0=$(date +%s%N)
curl -sS -f --upload-file "$T/pkg.zip" "$REF_URL" -o /dev/null ||
  { echo "the reference upload to Swift failed; Swift's logs:"; tail -n 20 "$SWIFT_DIR"/log/*.log; exit 1; }
t1=$(date +%s%N)
REF_NS=$((t1 - t0))

# ours: POST the zip, then wait until the stage job has put it into S3: the draft is past
# `unpacking` (the validate job may already have moved it on to testing or awaiting review)
export BO_DATA_DIR=$T/var BO_STORAGE=s3 BO_S3_ENDPOINT=$BO_TEST_S3_ENDPOINT BO_S3_ACCESS_KEY=$BO_TEST_S3_ACCESS_KEY
export BO_S3_SECRET_KEY=$BO_TEST_S3_SECRET_KEY BO_S3_BUCKET=$BO_TEST_S3_BUCKET BO_LOG_LEVEL=warn
export BO_MIGRATIONS_DIR=$ROOT/migrations BO_SCHEMA_DIR=$ROOT/schema
BO_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BO_PORT
"$BIN" serve >"$T/server.log" 2>&1 &
SERVER_PID=$!
up=0
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$BO_PORT/healthz" >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ "$up" = 1 ] || { echo "the server did not answer /healthz within 10 s"; tail "$T/server.log"; exit 1; }
"$BIN" user add --name Bench --email bench@example.org >/dev/null
TOK=$("$BIN" token create bench@example.org)
t0=$(date +%s%N)
ID=$(curl -sS -f -H "Authorization: Bearer $TOK" -H "Content-Type: application/zip" -X POST --upload-file "$T/pkg.zip" \
  "http://127.0.0.1:$BO_PORT/api/v1/uploads" | jq -r .id)
t_answer=$(date +%s%N)
[ -n "$ID" ] && [ "$ID" != null ] || { echo "the upload was not accepted"; tail "$T/server.log"; exit 1; }
# the staging limit: 600 s, far beyond any plausible rate for the package (10 min for 1 GiB)
deadline=$(( $(date +%s) + 600 ))
while :; do
  s=$(curl -sS "http://127.0.0.1:$BO_PORT/api/v1/resources/$ID/draft" | jq -r .state)
  case $s in
    unpacking) ;;
    error) echo "staging failed"; tail "$T/server.log"; exit 1 ;;
    ""|null) echo "cannot read the draft $ID"; tail "$T/server.log"; exit 1 ;;
    *) break ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the draft was still '$s' after 600 s"; tail "$T/server.log"; exit 1; }
  sleep 0.05
done
t1=$(date +%s%N)
OURS_NS=$((t1 - t0))
RSS_KB=$(grep VmHWM "/proc/$SERVER_PID/status" | awk '{print $2}')

awk -v b="$BYTES" -v ref="$REF_NS" -v ours="$OURS_NS" -v ans="$((t_answer - t0))" -v rss="$RSS_KB" 'BEGIN {
  mb = b / 1048576
  printf "package: %.0f MiB\n", mb
  printf "reference (curl --upload-file to Swift): %.1f MiB/s (%.2f s)\n", mb / (ref / 1e9), ref / 1e9
  printf "backoffice (upload + stage into Swift):  %.1f MiB/s (%.2f s; 202 after %.2f s)\n", mb / (ours / 1e9), ours / 1e9, ans / 1e9
  printf "ratio, package accepted and durable on the server (202): %.2f\n", (ref / ans)
  printf "ratio, package unpacked into S3 (draft unpacked): %.2f (goal >= 0.7)\n", (ref / ours)
  printf "server peak RSS: %.1f MiB (goal < 64 MiB)\n", rss / 1024
}'

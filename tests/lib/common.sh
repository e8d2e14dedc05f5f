# tests/lib/common.sh: what every black-box script uses. Each script gets its own data
# directory and its own server on a free loopback port; everything started here is
# stopped by PID in the EXIT trap.
set -euo pipefail
: "${BO_BIN:?run through tests/run (BO_BIN is the server binary)}"
: "${BO_SOURCE_DIR:?}"
T=$(mktemp -d /tmp/bo-http-XXXXXX)
# the jail's uid (a root server drops to it) must be able to pass to a worker copied here
chmod 0711 "$T"
SERVER_PID=
EXTRA_PIDS=()
CORPUS=${BO_CORPUS_DIR:-$BO_SOURCE_DIR/../shared/corpus}

MAIN_PID=$BASHPID
cleanup_all() {
  local rc=$?
  # background jobs (curl … &) are subshells that may run this trap too: only the script cleans up
  [ "$BASHPID" = "$MAIN_PID" ] || exit $rc
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ] && [ -f "$T/server.log" ]; then echo "--- server log"; tail -60 "$T/server.log"; fi
  rm -rf "$T"
  exit $rc
}
trap cleanup_all EXIT

fail() { echo "ASSERTION FAILED: $*" >&2; exit 1; }
# the script cannot run here (tests/run counts it as skipped, never as passed)
skip_script() { echo "SKIP $*"; exit 77; }
# jailed: 0 when the bubblewrap jail works here (tests/run probed it)
jailed() { [ -z "${BO_TEST_NO_JAIL:-}" ]; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Configures the server environment for this script: data dir, port, storage backend.
setup_env() {
  export BO_DATA_DIR=$T/var BO_LISTEN=127.0.0.1 BO_LOG_LEVEL=${BO_LOG_LEVEL:-info}
  export BO_MIGRATIONS_DIR=$BO_SOURCE_DIR/migrations BO_SCHEMA_DIR=$BO_SOURCE_DIR/schema
  export BO_STATIC_DIR=$BO_SOURCE_DIR/static
  export BO_JOB_BACKOFF_SECONDS=${BO_JOB_BACKOFF_SECONDS:-1}
  BO_PORT=$(free_port); export BO_PORT
  export BASE=http://127.0.0.1:$BO_PORT
  if [ "${BO_TEST_STORAGE:-fs}" = s3 ]; then
    export BO_STORAGE=s3 BO_S3_ENDPOINT=$BO_TEST_S3_ENDPOINT BO_S3_ACCESS_KEY=$BO_TEST_S3_ACCESS_KEY
    export BO_S3_SECRET_KEY=$BO_TEST_S3_SECRET_KEY BO_S3_REGION=${BO_TEST_S3_REGION:-us-east-1}
    export BO_S3_BUCKET=${BO_TEST_S3_BUCKET:-bo-test}
    # a prefix of our own so scripts sharing the bucket never see each other's objects
    export BO_S3_PREFIX=t$(basename "$T" | tr -dc 'a-zA-Z0-9')/
  else
    export BO_STORAGE=fs
  fi
}

start_server() {
  "$BO_BIN" serve "$@" >>"$T/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$T/server.log"; fail "server exited at start"; }
    sleep 0.1
  done
  curl -fsS "$BASE/healthz" >/dev/null || fail "server did not answer /healthz"
  ADMIN_TOKEN=$(cat "$BO_DATA_DIR/admin.token" 2>/dev/null || true)
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}

kill9_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

# req METHOD PATH [curl args…]: sets STATUS, BODY (file $T/body), HDRS (file $T/hdrs)
req() {
  local method=$1 path=$2; shift 2
  STATUS=$(curl -sS -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -X "$method" "$@" "$BASE$path")
}
body() { cat "$T/body"; }
jqb() { jq -r "$@" "$T/body"; }
header() { grep -i "^$1:" "$T/hdrs" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

expect_status() {
  [ "$STATUS" = "$1" ] || { echo "body: $(head -c 2000 "$T/body")"; fail "expected HTTP $1, got $STATUS"; }
}
# expect_problem STATUS SLUG: a problem+json body of that type
expect_problem() {
  expect_status "$1"
  header Content-Type | grep -q '^application/problem+json' || fail "Content-Type is $(header Content-Type), not problem+json"
  [ "$(jqb .type)" = "/problems/$2" ] || { body; fail "problem type $(jqb .type), expected /problems/$2"; }
  [ "$(jqb .status)" = "$1" ] || fail "problem status $(jqb .status) != $1"
  [ -n "$(jqb .detail)" ] || fail "problem without detail"
  [ -n "$(header X-Request-Id)" ] || fail "no X-Request-Id"
}
expect_jq() { # expect_jq EXPR: EXPR must be true for the body
  jq -e "$1" "$T/body" >/dev/null || { body; echo; fail "jq '$1' is not true"; }
}

auth() { echo "Authorization: Bearer $1"; }

# new_user EMAIL ROLE: creates a user with the CLI and prints a fresh token
new_user() {
  "$BO_BIN" user add --name "Test ${1%@*}" --email "$1" --role "$2" >/dev/null
  "$BO_BIN" token create "$1" --label test
}

# tiny_dataset DIR NAME [EXTRA_YAML]: a minimal valid dataset RDF in DIR/rdf.yaml
tiny_dataset() {
  mkdir -p "$1"
  printf 'type: dataset\nformat_version: 0.2.4\nname: %s\ndescription: d\nauthors: [{name: A, email: up@example.org}]\nlicense: CC0-1.0\n%s' \
    "$2" "${3:-}" >"$1/rdf.yaml"
}

# nuclei_pkg DIR: a copy of the corpus unet2d_nuclei_broad package that passes static
# validation: the corpus copy lacks its pytorch_state_dict architecture file (unet2d.py),
# so the architecture points at a URL instead (its dynamic run then fails, the others pass)
nuclei_pkg() {
  mkdir -p "$1" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$1/" && chmod -R u+w "$1"
  sed -i 's|source: unet2d.py|source: https://example.org/unet2d.py|' "$1/bioimageio.yaml"
  grep -q 'https://example.org/unet2d.py' "$1/bioimageio.yaml" || fail "nuclei_pkg: architecture not replaced"
}

# multi_pkg DIR: the corpus unet2d_multi_tensor package made to pass static validation the
# same way (its architecture file is not in the corpus copy either)
multi_pkg() {
  mkdir -p "$1" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_multi_tensor/." "$1/" && chmod -R u+w "$1"
  sed -i 's|source: multi_tensor_unet.py|source: https://example.org/multi_tensor_unet.py|' "$1/bioimageio.yaml"
  grep -q 'https://example.org/multi_tensor_unet.py' "$1/bioimageio.yaml" || fail "multi_pkg: architecture not replaced"
}

# zip_dir DIR OUT.zip: zips a folder's contents (top level = the folder's files)
zip_dir() { (cd "$1" && zip -q -r -X "$2" .); }

# wait_state ID STATE [seconds]: polls the draft until its state is STATE
# upload_reviewable TOKEN ZIP [SECONDS]: uploads ZIP (202), sets ID, and waits until the
# draft is awaiting review
upload_reviewable() {
  req POST /api/v1/uploads -H "$(auth "$1")" -H 'Content-Type: application/zip' --data-binary @"$2"
  expect_status 202
  ID=$(jqb .id)
  wait_state "$ID" "awaiting review" "${3:-60}"
}

wait_state() {
  local id=$1 want=$2 limit=${3:-60} s=
  for _ in $(seq 1 $((limit * 10))); do
    s=$(curl -fsS "$BASE/api/v1/resources/$id/draft" 2>/dev/null | jq -r .state || true)
    [ "$s" = "$want" ] && return 0
    sleep 0.1
  done
  curl -sS "$BASE/api/v1/resources/$id/draft" | head -c 3000; echo
  fail "$id did not reach '$want' in ${limit}s (last: $s)"
}

# Corpus packages; scripts that need them call need_corpus (skips with exit 0 and a note
# is not allowed: the corpus is part of the test data, CI has it).
need_corpus() { [ -d "$CORPUS/packages" ] || fail "corpus not found at $CORPUS"; }

# Fetches an object the way a consumer would: through the server's /files/ route.
get_object() { curl -fsSL "$BASE/files/$1" -o "$2"; }

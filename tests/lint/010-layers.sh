#!/usr/bin/env bash
# The layer check on this tree passes, and on copies of it with one offence each (an
# include upwards, an include without its folder, SQL in a route, a worker including a
# server module) it fails naming the file: the check can fail.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$ROOT/tests/lint/layers.sh
"$CHECK" "$ROOT"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect_offence() { # name, file, line to append, what the message says
  rm -rf "$tmp/t"; mkdir "$tmp/t"
  (cd "$ROOT" && tar cf - common server workers) | tar xf - -C "$tmp/t"
  echo "$3" >>"$tmp/t/$2"
  if out=$("$CHECK" "$tmp/t" 2>&1); then
    echo "ASSERTION FAILED: $1 passed the layer check"; exit 1
  fi
  echo "$out" | grep -q "$2" || { echo "ASSERTION FAILED: $1: the offence does not name $2: $out"; exit 1; }
  echo "$out" | grep -q "$4" || { echo "ASSERTION FAILED: $1: no '$4' in: $out"; exit 1; }
  echo "refused as expected: $1"
}
expect_offence "infra including pipeline" server/infra/db.c '#include "pipeline/lifecycle.h"' "upper layer pipeline"
expect_offence "common including infra" common/buf.c '#include "infra/db.h"' "upper layer infra"
expect_offence "an include without its folder" server/domain/ids.c '#include "drafts.h"' "names its folder"
expect_offence "SQL in a route" server/http/routes_meta.c 'static void f(void) { db_prepare(0, 0, "SELECT 1", 0); }' "SQL in the HTTP layer"
expect_offence "the worker including the server" workers/worker.c '#include "infra/db.h"' "common/ only"

# Re-testing the collection (README "Re-testing the collection"): a database of 200
# published versions made with SQL rows (100 concepts × versions 1 and 2, plus a yanked
# one) whose files are the corpus nuclei model with only its onnx weights; `backoffice
# retest --all` queues one re-test per version, the server's runners run the REAL worker
# on each within max_test_workers, and the CLI follows them to the end (plain progress
# lines: stderr is not a terminal here). Then: every version has exactly one new run,
# judged by today's worker, runtime and rule set; a second `retest --all` says all up to
# date and queues nothing; the published files are byte-identical (sha256 list);
# test_summary.yaml names the tools that judged the version and keeps the reference's
# shape; `retest ID/VERSION --weight-format onnx` queues one; an unknown id exits 2;
# /metrics counts re-tests; a changed rule set makes the server re-test by itself, at most
# retest_max_queued at once.
# storage: fs — the 200 versions' files are hard links of one copy of the package in the
# fs storage's directory (200 real copies, 1.2 GB, would be what an S3 run needs); the
# storage side of a re-test is the same storage_get_file a draft's test uses (150, both).
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
[ "${BO_TEST_STORAGE:-fs}" = fs ] || skip_script "fs storage only (see the header)"
setup_env
export BO_RETEST_ON_CHANGE=0 BO_MAX_TEST_WORKERS=2 BO_JOB_RUNNERS=3 BO_PUBLIC_URL=http://bo.test
mkdir -p "$BO_DATA_DIR"
"$BO_BIN" migrate >/dev/null
DB=$BO_DATA_DIR/backoffice.db
ST=$BO_DATA_DIR/storage

# the package: the nuclei model with its onnx weights only, rdf.yaml as published
P=$T/pkg
mkdir -p "$P"
SRC=$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad
cp "$SRC/weights.onnx" "$SRC/test_input.npy" "$SRC/test_output.npy" "$P/"
/usr/bin/python3 - "$SRC/bioimageio.yaml" "$P/rdf.yaml" "$T/rdf.json" <<'EOF'
import json, sys, yaml
r = yaml.safe_load(open(sys.argv[1]))
r["weights"] = {"onnx": r["weights"]["onnx"]}
r["weights"]["onnx"].pop("parent", None)
for k in ("covers", "documentation"):
    r.pop(k, None)
yaml.safe_dump(r, open(sys.argv[2], "w"), sort_keys=False)
json.dump(r, open(sys.argv[3], "w"))
EOF
grep -q 'onnx' "$P/rdf.yaml" || fail "no onnx weights in the trimmed RDF"
RDF_SHA=$(sha256sum "$P/rdf.yaml" | cut -d' ' -f1)

# rows: 100 concepts, versions 1 and 2 published, m001/3 yanked; half of the versions 1
# carry an old re-test run (an older worker judged them)
{
  echo "BEGIN;"
  echo "INSERT INTO users(id, name, email, role, created_at) VALUES (5, 'Sam', 'sam@example.org', 'uploader', '2026-01-01T00:00:00Z');"
  for i in $(seq -w 1 100); do
    id=m$( printf '%03d' "$((10#$i))" )
    echo "INSERT INTO concepts(id, type, created_at, created_by) VALUES ('$id', 'model', '2026-01-01T00:00:00Z', 5);"
    for v in 1 2; do
      echo "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) VALUES ('$id', '$v', 'published', readfile('$T/rdf.json'), '$RDF_SHA', '2026-01-0${v}T00:00:00Z', '2026-01-0${v}T00:00:00Z');"
      for f in rdf.yaml weights.onnx test_input.npy test_output.npy; do
        echo "INSERT INTO files(concept_id, version_or_draft, path, size, sha256, content_type) VALUES ('$id', '$v', '$f', $(stat -c %s "$P/$f"), '$(sha256sum "$P/$f" | cut -d' ' -f1)', 'application/octet-stream');"
      done
    done
    if [ $((10#$i % 2)) = 0 ]; then
      echo "INSERT INTO test_runs(concept_id, revision_or_version, of_version, kind, weight_format, tool, tool_version, status, finished_at, rules_version, summary_json) VALUES ('$id', '1', 1, 'dynamic', 'onnx', 'backoffice-worker', '0.0.1', 'passed', '2025-01-01T00:00:00Z', 'rules-old', '{\"name\":\"reproduce test outputs (onnx)\",\"status\":\"passed\",\"details\":[{\"name\":\"old check\",\"status\":\"passed\",\"errors\":[],\"warnings\":[]}]}');"
    fi
  done
  echo "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at) VALUES ('m001', '3', 'yanked', readfile('$T/rdf.json'), '$RDF_SHA', '2026-01-05T00:00:00Z', '2026-01-05T00:00:00Z');"
  echo "COMMIT;"
} >"$T/rows.sql"
sqlite3 "$DB" <"$T/rows.sql" || fail "rows"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM versions WHERE state = 'published'")" = 200 ] || fail "not 200 published versions"
for i in $(seq 1 100); do
  id=m$(printf '%03d' "$i")
  for v in 1 2 3; do
    mkdir -p "$ST/$id/$v/files"
    ln "$P"/* "$ST/$id/$v/files/"
  done
done
(cd "$ST" && find . -path '*/files/*' -type f | sort | xargs sha256sum) >"$T/before.sha"
[ "$(wc -l <"$T/before.sha")" = 1200 ] || fail "the storage holds $(wc -l <"$T/before.sha") files, not 1200"

start_server

# usage errors and an unknown id: exit 2, nothing queued
rc=0; "$BO_BIN" retest >"$T/u.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q 'usage: backoffice retest' "$T/u.out" || { cat "$T/u.out"; fail "retest without targets: exit $rc"; }
rc=0; "$BO_BIN" retest no-such-model >"$T/u.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "'no-such-model' has no published version (unknown id)" "$T/u.out" || { cat "$T/u.out"; fail "unknown id: exit $rc"; }
rc=0; "$BO_BIN" retest m001/3 >"$T/u.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "'m001/3' is not a published version" "$T/u.out" || { cat "$T/u.out"; fail "yanked version: exit $rc"; }
[ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE status = 'queued'")" = 0 ] || fail "a refused retest queued runs"

# a dry run says what it would do and writes nothing
"$BO_BIN" retest --all --dry-run >"$T/dry.out" 2>&1 || { cat "$T/dry.out"; fail "dry run failed"; }
grep -q '^retest: 200 would be queued (200 versions' "$T/dry.out" || { tail -3 "$T/dry.out"; fail "dry run count"; }
grep -q '^would queue m002/1 (onnx): judged by backoffice-worker 0.0.1, rules rules-old' "$T/dry.out" || fail "dry run does not say why m002/1"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE status = 'queued'")" = 0 ] || fail "the dry run queued runs"

# the whole collection, followed to the end
t0=$(date +%s)
"$BO_BIN" retest --all >"$T/all.out" 2>"$T/all.err" || { cat "$T/all.out" "$T/all.err"; tail -30 "$T/server.log"; fail "retest --all failed"; }
t1=$(date +%s)
echo "retest --all of 200 versions: $((t1 - t0)) s" >&2
grep -q '^retest: 200 queued (200 versions' "$T/all.out" || { cat "$T/all.out"; fail "not 200 queued"; }
grep -q '^retest: 200 run(s) finished' "$T/all.out" || { cat "$T/all.out"; fail "did not follow the runs to the end"; }
tail -1 "$T/all.err" | grep -q '^retest: 200/200 done, 0 running, 0 queued' || { tail -5 "$T/all.err"; fail "last progress line"; }
grep -q $'\r' "$T/all.err" && fail "a bar was drawn although stderr is not a terminal"
[ "$(wc -l <"$T/all.err")" -ge 2 ] || fail "no progress lines"

# exactly one new run per version, judged now, by the real worker
VER=$(sqlite3 "$DB" "SELECT tool_version FROM test_runs WHERE of_version = 1 AND status != 'queued' AND tool_version != '0.0.1' LIMIT 1")
[ -n "$VER" ] || fail "no finished re-test"
sqlite3 "$DB" "SELECT concept_id || '/' || revision_or_version, count(*) FROM test_runs WHERE of_version = 1 AND tool_version = '$VER' GROUP BY 1 HAVING count(*) != 1" >"$T/dups"
[ ! -s "$T/dups" ] || { head "$T/dups"; fail "versions with more than one new run"; }
[ "$(sqlite3 "$DB" "SELECT count(DISTINCT concept_id || '/' || revision_or_version) FROM test_runs WHERE of_version = 1 AND tool_version = '$VER'")" = 200 ] || fail "not every version was re-judged"
sqlite3 "$DB" "SELECT status, count(*) FROM test_runs WHERE of_version = 1 AND tool_version = '$VER' GROUP BY status" >"$T/statuses"
[ "$(cat "$T/statuses")" = "passed|200" ] || { cat "$T/statuses"; sqlite3 "$DB" "SELECT summary_json FROM test_runs WHERE of_version = 1 AND status != 'passed' LIMIT 1"; fail "not every re-test passed"; }
[ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE of_version = 1 AND tool_version = '$VER' AND runtime = 'onnxruntime' AND runtime_version != '' AND rules_version LIKE 'rules-%' AND rules_version != 'rules-old' AND finished_at IS NOT NULL")" = 200 ] ||
  fail "a run without its judge (runtime, rule set, when)"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE tool_version = '0.0.1'")" = 50 ] || fail "an old run was replaced"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE concept_id = 'm001' AND revision_or_version = '3'")" = 0 ] || fail "the yanked version was re-tested"
RT=$(sqlite3 "$DB" "SELECT runtime_version FROM test_runs WHERE of_version = 1 AND tool_version = '$VER' LIMIT 1")
grep -q "retest: m050/2 (onnx) passed (backoffice-worker $VER, rules-" "$T/server.log" || fail "the server did not log the verdict"

# again: all up to date, nothing queued
"$BO_BIN" retest --all >"$T/again.out" 2>&1 || { cat "$T/again.out"; fail "second retest failed"; }
grep -q '^retest: 0 queued (200 versions.*200 up to date, 0 already queued' "$T/again.out" || { cat "$T/again.out"; fail "second retest was not all up to date"; }

# the published files did not change
(cd "$ST" && find . -path '*/files/*' -type f | sort | xargs sha256sum) >"$T/after.sha"
cmp -s "$T/before.sha" "$T/after.sha" || { diff "$T/before.sha" "$T/after.sha" | head; fail "published files changed"; }

# test_summary.yaml names the tools (written by the retest-summary jobs)
for _ in $(seq 1 300); do
  [ "$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE kind IN ('retest-summary', 'rebuild') AND state IN ('queued', 'running')")" = 0 ] && break
  sleep 0.2
done
[ "$(ls "$ST"/m*/[12]/test_summary.yaml | wc -l)" = 200 ] || fail "not every version got its test_summary.yaml"
S=$ST/m002/1/test_summary.yaml
/usr/bin/python3 - "$S" "$VER" "$RT" <<'EOF' || fail "test_summary.yaml of m002/1"
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))
ver, rt = sys.argv[2], sys.argv[3]
new = s["tests"]["backoffice-worker_" + ver]
old = s["tests"]["backoffice-worker_0.0.1"]
assert s["status"] == "passed", s["status"]
assert all(e["runtime"] == "onnxruntime" and e["runtime_version"] == rt and e["retest"] is True
           and e["backoffice_version"] == ver and e["rules_version"].startswith("rules-") and e["tested_at"]
           for e in new), new
assert all(e["name"].endswith("(onnx)") for e in new), new
assert old and all(e["rules_version"] == "rules-old" for e in old), old
EOF
/usr/bin/python3 "$BO_SOURCE_DIR/tests/lib/ref_shapes.py" test-summary-written "$S" >"$T/shape.out" 2>&1 ||
  { cat "$T/shape.out"; fail "test_summary.yaml is not the reference's TestSummary"; }
grep -q 'rebuild' <(sqlite3 "$DB" "SELECT kind FROM jobs WHERE kind = 'rebuild' AND state = 'done'") || fail "no collection rebuild after the re-tests"

# /metrics
req GET /metrics
expect_status 200
grep -q '^bo_retest_runs{state="done"} 250$' "$T/body" || { grep retest "$T/body"; fail "metrics: done"; }
grep -q '^bo_retest_runs{state="queued"} 0$' "$T/body" || fail "metrics: queued"
grep -q '^bo_retest_verdicts{status="passed"} 250$' "$T/body" || fail "metrics: verdicts"

# one version, one format: queued although up to date? no: up to date; an old judge is
# simulated by another rule set on one run
"$BO_BIN" retest m007/2 --weight-format onnx --no-wait >"$T/one.out" 2>&1 || { cat "$T/one.out"; fail "retest ID/VERSION"; }
grep -q '^retest: 0 queued (1 version.*1 up to date' "$T/one.out" || { cat "$T/one.out"; fail "m007/2 not up to date"; }
sqlite3 "$DB" "UPDATE test_runs SET rules_version = 'rules-older' WHERE concept_id = 'm007' AND revision_or_version = '2' AND of_version = 1"
"$BO_BIN" retest m007/2 --weight-format onnx --no-wait >"$T/one.out" 2>&1 || { cat "$T/one.out"; fail "retest ID/VERSION"; }
grep -q '^retest: 1 queued (1 version' "$T/one.out" || { cat "$T/one.out"; fail "m007/2 not queued"; }
"$BO_BIN" retest m007/2 --weight-format torchscript --no-wait >"$T/one.out" 2>&1 || fail "retest --weight-format torchscript"
grep -q '0 queued.*1 without torchscript weights' "$T/one.out" || { cat "$T/one.out"; fail "a missing weight format is not said"; }
# ID alone is its latest version
sqlite3 "$DB" "UPDATE test_runs SET rules_version = 'rules-older' WHERE concept_id = 'm008' AND of_version = 1"
"$BO_BIN" retest m008 --dry-run >"$T/one.out" 2>&1 || fail "retest ID"
grep -q '^would queue m008/2 (onnx)' "$T/one.out" && ! grep -q 'm008/1' "$T/one.out" || { cat "$T/one.out"; fail "ID is not its latest version"; }
for _ in $(seq 1 300); do
  [ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE status IN ('queued', 'running')")" = 0 ] && break
  sleep 0.2
done
[ "$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE concept_id = 'm007' AND revision_or_version = '2' AND of_version = 1")" = 2 ] || fail "m007/2 has not two re-test runs"
stop_server

# the judge changes (another rule set): the server re-tests by itself, at most 7 queued at once
cp -r "$BO_SOURCE_DIR/schema" "$T/schema"
printf '\n' >>"$(ls "$T"/schema/rules/*.json | head -1)"
export BO_SCHEMA_DIR=$T/schema BO_RETEST_ON_CHANGE=1 BO_RETEST_MAX_QUEUED=7 BO_MAX_TEST_WORKERS=1
: >"$T/server.log"
start_server
for _ in $(seq 1 100); do grep -q 'retest: the judge changed' "$T/server.log" && break; sleep 0.1; done
grep -q 'retest: the judge changed: 7 re-test(s) queued (0 up to date, 0 already queued; the rest later)' "$T/server.log" ||
  { grep retest "$T/server.log" | head; fail "the server did not re-test by itself"; }
grep -q 'retest: queued m001/1 (onnx): judged by backoffice-worker .*, rules rules-.*; now backoffice-worker' "$T/server.log" ||
  fail "the log does not say why"
n=$(sqlite3 "$DB" "SELECT count(*) FROM test_runs WHERE of_version = 1 AND status IN ('queued', 'running')")
[ "$n" -le 7 ] || fail "$n automatic re-tests queued at once"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE kind = 'retest-scan' AND state = 'queued'")" = 1 ] || fail "the rest is not scheduled"
stop_server
echo "PASS 178 retest (200 versions in $((t1 - t0)) s)"

# `backoffice validate` as a scientist runs it, without a server: an RDF file, a package
# directory, a zip, several paths at once; the table and --json; exit 0 valid, 1 invalid
# (a YAML syntax error included), 2 usage; the rules found from any working directory.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
setup_env
V=$CORPUS/rdf/valid/spec-bioimage-io__models__unet2d_nuclei_broad__bioimageio
I=$CORPUS/rdf/invalid/collection-bioimage-io__rdfs__deepimagej__SkinLesionClassification__latest
run() { set +e; (cd / && "$BO_BIN" validate "$@") >"$T/out" 2>"$T/err"; rc=$?; set -e; }

# a valid RDF without IO checks: valid-format, exit 0, the table says so
run "$V/bioimageio.yaml" --no-io-checks
[ "$rc" = 0 ] || { cat "$T/out" "$T/err"; fail "valid RDF exit $rc"; }
grep -q 'valid-format (0 errors' "$T/out" || { cat "$T/out"; fail "no valid-format line"; }
grep -q '– referenced files (skipped: IO checks are off)' "$T/out" || fail "IO checks not shown as skipped"

# the same with IO checks: the corpus leaves the weights out, so exactly those fail
run "$V" --json
[ "$rc" = 1 ] || fail "with IO checks exit $rc"
jq -e '.status == "failed" and ([.details[].errors[].type] | unique == ["file_missing"])' "$T/out" >/dev/null \
  || { jq . "$T/out"; fail "only missing files expected"; }
jq -e '[.details[].errors[].loc] | any(. == ["weights","onnx","source"])' "$T/out" >/dev/null || fail "weights.onnx not named"

# a package zip with its weights present (stand-ins with the declared hashes cannot be made,
# so the zip holds a dataset) passes with IO checks
mkdir -p "$T/ds" && cp -r "$BO_SOURCE_DIR/tests/fixtures/packages/dataset-minimal/." "$T/ds/"
zip_dir "$T/ds" "$T/ds.zip"
run "$T/ds.zip"
[ "$rc" = 0 ] || { cat "$T/out" "$T/err"; fail "dataset zip exit $rc"; }
grep -q ' passed (0 errors' "$T/out" || { cat "$T/out"; fail "dataset zip not passed"; }
[ -z "$(ls /tmp | grep backoffice-validate- || true)" ] || fail "temp directory left behind"

# an invalid RDF: exit 1, the problem with line:col, loc and the suggestion
run "$I/rdf.yaml"
[ "$rc" = 1 ] || fail "invalid RDF exit $rc"
grep -q "✗ 70:10  license  'BSD2' is not an SPDX license identifier; did you mean 'BSD-2-Clause'" "$T/out" \
  || { cat "$T/out"; fail "license problem not shown"; }

# several paths: one process, one JSON array, exit 1 because one is invalid
run "$V/bioimageio.yaml" "$I/rdf.yaml" --no-io-checks --json
[ "$rc" = 1 ] || fail "batch exit $rc"
jq -e 'length == 2 and .[0].status == "valid-format" and .[1].status == "failed"' "$T/out" >/dev/null || fail "batch json"

# a YAML syntax error is a failed validation with its line and column
printf 'format_version: 0.2.4\nname: [unclosed\n' >"$T/bad.yaml"
run "$T/bad.yaml" --json
[ "$rc" = 1 ] || fail "YAML error exit $rc"
jq -e '.details[0].errors[0].type == "yaml_syntax" and .details[0].errors[0].line > 0' "$T/out" >/dev/null || fail "yaml error"

# usage errors: exit 2 with a message, never a summary
run "$T/no-such-file.yaml";       [ "$rc" = 2 ] && grep -q 'No such file' "$T/err" || fail "missing file: $rc"
printf 'not a zip' >"$T/fake.zip"; run "$T/fake.zip"; [ "$rc" = 2 ] && grep -q 'not a zip' "$T/err" || fail "not a zip: $rc"
mkdir -p "$T/empty"; run "$T/empty"; [ "$rc" = 2 ] && grep -q 'no rdf.yaml' "$T/err" || fail "empty dir: $rc $(cat "$T/err")"
run;                             [ "$rc" = 2 ] && grep -q 'usage' "$T/err" || fail "no path: $rc"
run "$V" --frobnicate;           [ "$rc" = 2 ] || fail "unknown option: $rc"
chmod 000 "$T/bad.yaml"; if [ "$(id -u)" != 0 ]; then run "$T/bad.yaml"; [ "$rc" = 2 ] || fail "unreadable: $rc"; fi
echo "validate CLI: ok"

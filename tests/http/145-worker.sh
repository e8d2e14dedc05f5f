# backoffice-worker as the sandbox runs it (workers/PROTOCOL.md): a job spec on stdin, one
# JSON result on stdout. Every corpus package with onnx weights passes with the differences
# DYNAMIC_CHECKS.json measured; planted faults fail with the planted numbers: a perturbed
# test output (worst index and difference), swapped inputs, a wrong-shape test input, a
# corrupt weights file, a pickled .npy; TensorFlow weights are skipped; 0.5 parametrised
# axes are run at batch 1/2 and n 0/1/2 with the output shapes checked; a bad spec exits 2.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
W=$(dirname "$BO_BIN")/backoffice-worker
[ -x "$W" ] || fail "no worker binary at $W (make $BUILD/backoffice-worker)"
PK=$CORPUS/packages
NUCLEI=spec-bioimage-io__unet2d_nuclei_broad
MULTI04=spec-bioimage-io-2024-01__unet2d_multi_tensor_v0_4

# run_worker PKG_DIR RDF FORMAT [extra json]: result in $T/res.json, exit status in $rc
run_worker() {
  mkdir -p "$T/run" && rm -rf "$T/run/out"
  printf '{"package_dir":"%s","rdf_file":"%s","weight_format":"%s","output_dir":"%s/run/out"%s}' \
    "$1" "$2" "$3" "$T" "${4:-}" >"$T/spec.json"
  set +e; (cd "$T/run" && "$W" <"$T/spec.json" >"$T/res.json" 2>"$T/worker.err"); rc=$?; set -e
  jq -e . "$T/res.json" >/dev/null || { cat "$T/worker.err"; fail "worker printed no JSON (exit $rc)"; }
}
copy_pkg() { rm -rf "$T/pkg" && cp -r "$PK/$1" "$T/pkg"; }
rdf_of() { for f in bioimageio.yaml rdf.yaml rdf_v0_4.yaml; do [ -f "$PK/$1/$f" ] && { echo "$f"; return; }; done; }

# --- 1. every corpus onnx package reproduces its test outputs, close to DYNAMIC_CHECKS.json
n=0
for pkg in $(jq -r '.onnx[] | select(.package) | .package' "$PK/DYNAMIC_CHECKS.json"); do
  rdf=$(rdf_of "$pkg")
  run_worker "$PK/$pkg" "$rdf" onnx
  [ "$rc" = 0 ] || fail "$pkg: exit $rc"
  jq -e '.status == "passed" and .env.runtime == "onnxruntime" and .wall_ms >= 0 and .peak_rss_kb > 0' \
    "$T/res.json" >/dev/null || { jq . "$T/res.json"; fail "$pkg did not pass"; }
  i=0
  for ref in $(jq -r --arg p "$pkg" '.onnx[] | select(.package == $p) | .results[].max_abs_diff' "$PK/DYNAMIC_CHECKS.json"); do
    ours=$(jq -r --argjson i "$i" '[.details[] | select(.name | startswith("output "))][$i].context.max_abs_diff' "$T/res.json")
    echo "$pkg output $i: max |diff| ours $ours, DYNAMIC_CHECKS $ref"
    /usr/bin/python3 -c "import sys; a, b = float('$ours'), float('$ref'); sys.exit(0 if abs(a - b) <= 1e-5 else 1)" \
      || fail "$pkg output $i: max diff $ours far from $ref"
    i=$((i + 1))
  done
  [ "$i" -gt 0 ] || fail "$pkg: no outputs compared"
  n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "only $n onnx packages in DYNAMIC_CHECKS.json"

# --- 2. a test output perturbed by 0.5 at [0, 0, 12, 7]: failed, that index, that difference
copy_pkg $NUCLEI
/usr/bin/python3 - "$T/pkg/test_output.npy" <<'PY'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
hl = struct.unpack('<H', b[8:10])[0] if b[6] == 1 else struct.unpack('<I', b[8:12])[0]
off = (10 if b[6] == 1 else 12) + hl + 4 * (12 * 512 + 7)   # float32 C order [1, 1, 512, 512]
v = struct.unpack('<f', b[off:off + 4])[0]
b[off:off + 4] = struct.pack('<f', v + 0.5)
open(p, 'wb').write(b)
PY
run_worker "$T/pkg" bioimageio.yaml onnx
[ "$rc" = 0 ] || fail "perturbed: exit $rc"
jq -e '.status == "failed"' "$T/res.json" >/dev/null || { jq . "$T/res.json"; fail "perturbed output passed"; }
jq -e '.details[] | select(.name | startswith("output ")) | .context
       | .worst_index == [0,0,12,7] and .mismatched_elements == 1 and (.max_abs_diff - 0.5 | fabs) < 1e-4' \
  "$T/res.json" >/dev/null || { jq '.details[-1]' "$T/res.json"; fail "planted index/difference not reported"; }
jq -r '.details[-1].errors[0].msg' "$T/res.json" | grep -q '1 of 262144 elements differ.*at \[0, 0, 12, 7\]' \
  || fail "message does not name the planted element"
prod=$(jq -r '.details[-1].context.produced' "$T/res.json")
[ -s "$prod" ] && head -c 6 "$prod" | grep -q NUMPY || fail "produced tensor not written ($prod)"

# --- 3. swapped inputs of the two-input model: outputs no longer match
copy_pkg $MULTI04
sed -i 's/test_input_0.npy/TMP.npy/; s/test_input_1.npy/test_input_0.npy/; s/TMP.npy/test_input_1.npy/' "$T/pkg/rdf_v0_4.yaml"
grep -A2 '^test_inputs' "$T/pkg/rdf_v0_4.yaml"
run_worker "$T/pkg" rdf_v0_4.yaml onnx
jq -e '.status == "failed" and ([.details[] | select(.status == "failed") | .name | startswith("output ")] | length) >= 1' \
  "$T/res.json" >/dev/null || { jq . "$T/res.json"; fail "swapped inputs did not fail"; }

# --- 4. a test input with the wrong number of dimensions
write_npy() { # path descr shape-tuple count itemsize
  /usr/bin/python3 - "$@" <<'PY'
import struct, sys
path, descr, shape, count, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
open(path, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + b'\0' * (count * size))
PY
}
copy_pkg $NUCLEI
write_npy "$T/pkg/test_input.npy" '<f4' '(1, 512, 512)' 262144 4
run_worker "$T/pkg" bioimageio.yaml onnx
jq -e '.status == "failed" and (.details[] | select(.name == "load test inputs") | .errors[0].msg
       | test("shape \\[1, 512, 512\\] but the RDF declares 4 axes"))' "$T/res.json" >/dev/null \
  || { jq . "$T/res.json"; fail "wrong-shape input not reported"; }

# --- 5. a pickled .npy (object array) as test input
copy_pkg $NUCLEI
write_npy "$T/pkg/test_input.npy" '|O' '(1, 1, 2, 2)' 4 8
run_worker "$T/pkg" bioimageio.yaml onnx
jq -e '.status == "failed" and (.details[] | select(.name == "load test inputs") | .errors[0].msg
       | test("object|pickle"; "i") and test("test_input.npy"))' "$T/res.json" >/dev/null \
  || { jq . "$T/res.json"; fail "pickled npy not refused clearly"; }

# --- 6. corrupt weights: failed at load weights with ONNX Runtime's message
copy_pkg $NUCLEI
head -c 4096 /dev/urandom >"$T/pkg/weights.onnx"
run_worker "$T/pkg" bioimageio.yaml onnx
[ "$rc" = 0 ] || fail "corrupt weights: exit $rc"
jq -e '.status == "failed" and .details[0].name == "load weights" and
       (.details[0].errors[0].msg | test("^onnx: cannot load the weights: .+"))' "$T/res.json" >/dev/null \
  || { jq . "$T/res.json"; fail "corrupt weights not reported"; }
jq -r '.details[0].errors[0].msg' "$T/res.json"

# --- 7. TensorFlow weights: skipped with the reason, never a pass
copy_pkg $NUCLEI
printf '  tensorflow_saved_model_bundle:\n    source: tf.zip\n' >>"$T/pkg/bioimageio.yaml"
run_worker "$T/pkg" bioimageio.yaml tensorflow_saved_model_bundle
jq -e '.status == "skipped" and .details[0].errors[0].msg == "no TensorFlow runtime on this server"' \
  "$T/res.json" >/dev/null || { jq . "$T/res.json"; fail "tensorflow not skipped"; }

# --- 8. 0.5 parametrised axes: batch 1/2 × n 0/1/2 with output shapes checked. The corpus
# onnx files have fixed sizes (the nuclei one refuses other sizes, which is reported), so
# the 0.5 two-input model runs through torchscript here.
copy_pkg $NUCLEI
/usr/bin/python3 - "$T/pkg/bioimageio.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("      - size: 512\n        id: y\n        type: space\n      - size: 512\n        type: space",
              "      - size: {min: 64, step: 16}\n        id: y\n        type: space\n      - size: {min: 64, step: 16}\n        type: space", 1)
open(p, 'w').write(s)
PY
grep -q 'min: 64' "$T/pkg/bioimageio.yaml" || fail "could not parametrise the RDF"
run_worker "$T/pkg" bioimageio.yaml onnx
jq -e '.status == "failed" and ([.details[] | select(.name | startswith("output shapes at"))] | length) == 6' \
  "$T/res.json" >/dev/null || { jq '[.details[] | {name, status, errors}]' "$T/res.json"; fail "fixed-size onnx"; }
jq -r '[.details[] | select(.name == "output shapes at batch 1, n = 0")][0].errors[0].msg' "$T/res.json" \
  | grep -q 'invalid dimensions for input: input.1.*index' || fail "ORT's shape message lost"
run_worker "$PK/spec-bioimage-io__unet2d_multi_tensor" bioimageio.yaml torchscript
jq -e '.status == "passed" and ([.details[] | select(.name | startswith("output shapes at")) | .status] == ["passed","passed","passed","passed","passed","passed"])' \
  "$T/res.json" >/dev/null || { jq '[.details[] | {name, status, errors}]' "$T/res.json"; fail "shape runs"; }
# output0 declared 4 pixels taller than the model makes it: every shape run fails
copy_pkg spec-bioimage-io__unet2d_multi_tensor
sed -i '0,/axis_id: y/s//axis_id: y\n          offset: 4/' "$T/pkg/bioimageio.yaml"
run_worker "$T/pkg" bioimageio.yaml torchscript
jq -e '.status == "failed" and ([.details[] | select(.name | startswith("output shapes at")) | select(.status == "failed")] | length) == 6' \
  "$T/res.json" >/dev/null || { jq '[.details[] | {name, status, errors}]' "$T/res.json"; fail "wrong declared shape not caught"; }
jq -r '[.details[] | select(.name == "output shapes at batch 2, n = 1")][0].errors[0].msg' "$T/res.json" \
  | grep -q "output 'output0' has shape \[2, 1, 48, 48\], the axes declare \[2, 1, 52, 48\]" || fail "shape message"

# --- 8b. libtorch is in backoffice-torch.so next to the worker, loaded for torchscript only:
# the worker does not link it, and a worker without the .so errors on torchscript (saying
# so) while onnx still passes
[ -f "$(dirname "$W")/backoffice-torch.so" ] || fail "no backoffice-torch.so next to $W"
! readelf -d "$W" | grep -q 'NEEDED.*libtorch' || fail "the worker links libtorch"
ORT=$(dirname "$W")/../deps/npm/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
W0=$W; mkdir -p "$T/bin" && cp "$W0" "$T/bin/" && W=$T/bin/backoffice-worker
run_worker "$PK/spec-bioimage-io__unet2d_multi_tensor" bioimageio.yaml torchscript
jq -e '.status == "error"' "$T/res.json" >/dev/null || { jq . "$T/res.json"; fail "torchscript without the .so"; }
jq -r '.details[] | select(.name == "load weights") | .errors[0].msg' "$T/res.json" \
  | grep -q "^torch runtime not built: .*backoffice-torch.so" || { jq . "$T/res.json"; fail "missing .so message"; }
run_worker "$PK/$NUCLEI" bioimageio.yaml onnx ",\"onnxruntime_lib\":\"$ORT\""
jq -e '.status == "passed"' "$T/res.json" >/dev/null || { jq . "$T/res.json"; fail "onnx without the .so"; }
W=$W0

# --- 9. a bad spec: exit 2 and an error result; faults only with BO_WORKER_FAULTS=1
set +e; echo 'not json' | "$W" >"$T/res.json" 2>/dev/null; rc=$?; set -e
[ "$rc" = 2 ] && jq -e '.status == "error"' "$T/res.json" >/dev/null || fail "bad spec: exit $rc"
run_worker "$PK/$NUCLEI" bioimageio.yaml onnx ',"fault":"segfault"'
[ "$rc" = 0 ] && jq -e '.status == "passed"' "$T/res.json" >/dev/null || fail "fault honoured without the env"
set +e; (cd "$T/run" && BO_WORKER_FAULTS=1 "$W" <"$T/spec.json" >/dev/null 2>&1); rc=$?; set -e
[ "$rc" = $((128 + 11)) ] || fail "segfault fault: exit $rc"
echo "worker checks passed"

#!/usr/bin/env bash
# bench/worker.sh: what the test worker adds over the model runtime itself. For each corpus
# package and each runnable weight format (onnx, torchscript), times
#  - a full worker run: `backoffice-worker` with a job spec on stdin (spawn, load the RDF and
#    the weights, pre/post-processing, inference, compare with the test outputs), and
#  - the bare inference of the same model on the same test inputs with the same runtime, in a
#    process of its own: onnxruntime-node's InferenceSession.run under `node` for onnx, and a
#    minimal libtorch program (compiled here once) calling forward() for torchscript;
# both single-threaded, best of ROUNDS, wall clock from spawn to exit, with peak RSS.
# Prints the ratio worker/bare per row; the goal is <= 1.25.
# Usage: bench/worker.sh [ROUNDS]   (default 3; BUILD=build/rel; needs the worker built)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-3}
BUILD=${BUILD:-build/rel}
WORKER=${WORKER:-$ROOT/$BUILD/backoffice-worker}
CORPUS=${BO_CORPUS_DIR:-$ROOT/../shared/corpus}
PY=/usr/bin/python3
ORT_NODE=${ORT_NODE:-$ROOT/build/deps/npm/node_modules/onnxruntime-node}
ORT_LIB=$ORT_NODE/bin/napi-v6/linux/x64/libonnxruntime.so.1
[ -x "$WORKER" ] || { echo "no worker at $WORKER: build it first (make BUILD=$BUILD)" >&2; exit 2; }
[ -d "$CORPUS/packages" ] || { echo "no corpus at $CORPUS" >&2; exit 2; }
[ -f "$ORT_LIB" ] || { echo "onnxruntime-node not found at $ORT_NODE (make deps, or set ORT_NODE)" >&2; exit 2; }
W=$(mktemp -d /tmp/bo-bench-worker-XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$ROOT/build/bench"

# --- the bare runners -------------------------------------------------------------------
cat >"$W/bare.js" <<'EOF'
// bare onnx inference: node bare.js MODEL INPUT.npy...
const ort = require(process.env.ORT_NODE);
const fs = require('fs');
const types = {'<f4': [Float32Array, 'float32'], '<f8': [Float64Array, 'float64'], '|u1': [Uint8Array, 'uint8'],
  '<i4': [Int32Array, 'int32'], '<i8': [BigInt64Array, 'int64'], '|i1': [Int8Array, 'int8'],
  '<u2': [Uint16Array, 'uint16'], '<i2': [Int16Array, 'int16']};
function npy(p) {
  const b = fs.readFileSync(p);
  const v2 = b[6] >= 2, hl = v2 ? b.readUInt32LE(8) : b.readUInt16LE(8), off = (v2 ? 12 : 10) + hl;
  const h = b.toString('latin1', v2 ? 12 : 10, off);
  const descr = /'descr':\s*'([^']+)'/.exec(h)[1];
  if (/'fortran_order':\s*True/.test(h)) throw new Error(p + ': Fortran order not supported by the bench');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(h)[1].split(',').filter(s => s.trim()).map(Number);
  const [T, name] = types[descr] || (() => { throw new Error(p + ': dtype ' + descr); })();
  const data = new T(b.buffer.slice(b.byteOffset + off, b.byteOffset + b.length));
  return new ort.Tensor(name, data, shape);
}
(async () => {
  const s = await ort.InferenceSession.create(process.argv[2], {intraOpNumThreads: 1, interOpNumThreads: 1});
  const feeds = {};
  s.inputNames.forEach((n, i) => { feeds[n] = npy(process.argv[3 + i]); });
  await s.run(feeds);
})().catch(e => { console.error(e.message); process.exit(1); });
EOF

TS_BIN=$ROOT/build/bench/bare-torchscript
TS_SRC=$W/bare-torchscript.cpp
cat >"$TS_SRC" <<'EOF'
// bare torchscript inference: bare-torchscript MODEL INPUT.npy... (float32, C order)
#include <torch/script.h>
#include <ATen/Parallel.h>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

static torch::Tensor npy(const char *p)
{
	std::ifstream f(p, std::ios::binary);
	std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	bool v2 = b.at(6) >= 2;
	size_t hl = v2 ? (unsigned char)b[8] | (unsigned char)b[9] << 8 | (unsigned char)b[10] << 16 | (size_t)(unsigned char)b[11] << 24
		       : (unsigned char)b[8] | (unsigned char)b[9] << 8;
	size_t start = v2 ? 12 : 10;
	std::string h(b.begin() + start, b.begin() + start + hl);
	std::smatch m;
	if (!std::regex_search(h, m, std::regex("'descr':\\s*'<f4'")) || std::regex_search(h, std::regex("'fortran_order':\\s*True")))
		throw std::runtime_error(std::string(p) + ": the bench reads float32 C-order only");
	std::regex_search(h, m, std::regex("'shape':\\s*\\(([^)]*)\\)"));
	std::vector<int64_t> shape;
	std::string s = m[1];
	const std::regex num("[0-9]+");
	for (std::sregex_iterator it(s.begin(), s.end(), num), end; it != end; ++it)
		shape.push_back(std::stoll(it->str()));
	return torch::from_blob(b.data() + start + hl, shape, torch::kFloat32).clone();
}

int main(int argc, char **argv)
{
	try {
		at::set_num_threads(1);
		torch::NoGradGuard no_grad;
		auto model = torch::jit::load(argv[1]);
		model.eval();
		std::vector<torch::jit::IValue> in;
		for (int i = 2; i < argc; i++)
			in.push_back(npy(argv[i]));
		model.forward(in);
	} catch (const std::exception &e) {
		fprintf(stderr, "%s\n", e.what());
		return 1;
	}
	return 0;
}
EOF
if [ ! -x "$TS_BIN" ] || ! cmp -s "$TS_SRC" "$TS_BIN.cpp"; then
	echo "compiling the bare libtorch runner (about 15 s)..." >&2
	g++ -std=c++17 -O2 -o "$TS_BIN" "$TS_SRC" -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
	cp "$TS_SRC" "$TS_BIN.cpp"
fi

# --- the packages -------------------------------------------------------------------------
# one line per (package, format): DIR RDF FORMAT WEIGHTS INPUT...
$PY - "$CORPUS/packages" >"$W/rows" <<'EOF'
import os, sys, yaml
root = sys.argv[1]
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if not os.path.isdir(d):
        continue
    names = ["rdf.yaml", "bioimageio.yaml"] + sorted(f for f in os.listdir(d) if f.endswith(".yaml"))
    rdf = next((f for f in names if os.path.exists(os.path.join(d, f))
                and "format_version" in open(os.path.join(d, f)).read()), None)
    if not rdf:
        continue
    doc = yaml.safe_load(open(os.path.join(d, rdf)))
    if doc.get("type") != "model":
        continue
    if "test_inputs" in doc:  # 0.4
        inputs = doc["test_inputs"]
    else:
        inputs = [i["test_tensor"]["source"] for i in doc.get("inputs", [])]
    for fmt in ("onnx", "torchscript"):
        w = (doc.get("weights") or {}).get(fmt)
        if w:
            print(d, rdf, fmt, w["source"], *inputs)
EOF

best() { # best wall seconds and its peak RSS over ROUNDS runs of "$@" (stdin from $IN)
	local b=999 r=0 t m
	for ((i = 0; i < ROUNDS; i++)); do
		local s0 s1
		s0=$(date +%s%N)
		/usr/bin/time -o "$W/time" -f '%M' "$@" <"$IN" >"$W/out" 2>"$W/err" ||
			{ echo "FAILED: $*" >&2; tail -5 "$W/err" >&2; return 1; }
		s1=$(date +%s%N)
		t=$(echo "scale=3; ($s1 - $s0) / 1000000000" | bc)
		read -r m <"$W/time"
		if (($(echo "$t < $b" | bc))); then b=$t r=$m; fi
	done
	echo "$b $r"
}

printf '%-48s %-12s %9s %9s %7s %10s %10s %s\n' package format worker_s bare_s ratio worker_MiB bare_MiB status
over=0 failed=0 rows=0
while read -r dir rdf fmt weights inputs; do
	rows=$((rows + 1))
	mkdir -p "$W/out-dir"
	jq -n --arg p "$dir" --arg r "$rdf" --arg f "$fmt" --arg o "$W/out-dir" --arg ort "$ORT_LIB" --arg py "$PY" \
		'{package_dir: $p, rdf_file: $r, weight_format: $f, output_dir: $o, tolerance: null,
		  onnxruntime_lib: $ort, python: $py, threads: 1, max_tensor_bytes: 1073741824, fault: null}' >"$W/spec.json"
	IN=$W/spec.json
	if ! best "$WORKER" >"$W/best"; then failed=$((failed + 1)); continue; fi
	read -r wt wm <"$W/best"
	status=$(jq -r .status "$W/out" 2>/dev/null || echo "no-json")
	IN=/dev/null
	args=()
	for f in $inputs; do args+=("$dir/$f"); done
	if [ "$fmt" = onnx ]; then
		ORT_NODE=$ORT_NODE best node "$W/bare.js" "$dir/$weights" "${args[@]}" >"$W/best" || { failed=$((failed + 1)); continue; }
	else
		best "$TS_BIN" "$dir/$weights" "${args[@]}" >"$W/best" || { failed=$((failed + 1)); continue; }
	fi
	read -r bt bm <"$W/best"
	ratio=$(echo "scale=2; $wt / $bt" | bc)
	(($(echo "$ratio > 1.25" | bc))) && over=$((over + 1))
	printf '%-48s %-12s %9.3f %9.3f %7.2f %10.0f %10.0f %s\n' "$(basename "$dir")" "$fmt" "$wt" "$bt" "$ratio" \
		"$(echo "$wm / 1024" | bc)" "$(echo "$bm / 1024" | bc)" "$status"
done <"$W/rows"
echo "goal: ratio <= 1.25 (rows over: $over); times are wall seconds from spawn to exit, best of $ROUNDS"
# a row that did not run is not a measurement: say so and fail
if [ "$failed" -gt 0 ] || [ "$rows" -eq 0 ]; then
	echo "bench/worker.sh: $failed of $rows rows did not run" >&2
	exit 1
fi

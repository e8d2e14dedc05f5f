# The jail, as an attacker tries it: the nuclei model with a pytorch_state_dict whose
# architecture file, on import, tries every escape the issue lists — read /etc/shadow and
# the admin token, open the database for writing, write into storage (then fetch it over
# /files), write into and read from the host's /tmp, connect to the server on loopback,
# fork 300 times, leave a setsid grandchild running, fill its scratch — then raises with
# its report, so the draft gets a verdict (a run that did not pass, carrying the report). Every
# attempt must have failed; nothing outside the package reaches the public draft JSON;
# the legitimate weights of the same package (onnx, torchscript) still pass in the jail.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
jailed || skip_script "the jail cannot be made here: $BO_TEST_NO_JAIL"
setup_env
export BO_TEST_SCRATCH=64M BO_TEST_PROCESSES=64 BO_TEST_TIMEOUT=120
start_server
UP=$(new_user mallory@example.org uploader)
STORE=$BO_DATA_DIR/storage
MARK=/tmp/bo-jail-mark-$$
echo "host secret $$" >"$MARK"
EXFIL=/tmp/bo-jail-exfil-$$
GRAND=bo-grandchild-$$
trap 'rc=$?; set +e; rm -f "$MARK" "$EXFIL"; pkill -f "$GRAND" 2>/dev/null; (exit $rc); cleanup_all' EXIT

P=$T/p
mkdir -p "$P" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$P/" && chmod -R u+w "$P"
cat >"$P/hostile.py" <<EOF
import os, socket, subprocess, time, torch
class UNet2d(torch.nn.Module):
    def __init__(self, input_channels, output_channels):
        super().__init__()
        self.conv = torch.nn.Conv2d(input_channels, output_channels, 1)
    def forward(self, x):
        return self.conv(x)
report = []
def attempt(name, fn):
    try:
        fn()
        report.append(name + "=ESCAPED")
    except Exception:
        report.append(name + "=held")
attempt("shadow", lambda: open("/etc/shadow").read())
attempt("token", lambda: open("$BO_DATA_DIR/admin.token").read())
attempt("database", lambda: open("$BO_DATA_DIR/backoffice.db", "r+b").read(16))
attempt("storage", lambda: open("$STORE/evil.txt", "w").write("planted"))
attempt("hosttmp-read", lambda: open("$MARK").read())
open("$EXFIL", "w").write("written from the jail")  # lands in the jail's own /tmp
attempt("loopback", lambda: socket.create_connection(("127.0.0.1", $BO_PORT), 2))
attempt("proc", lambda: [int(p) for p in os.listdir("/proc") if p.isdigit()][6])
n = 0
try:
    for i in range(300):
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        n += 1
except OSError:
    pass
report.append("forks=%d" % n)
try:
    subprocess.Popen(["/bin/bash", "-c", "exec -a $GRAND sleep 600"], start_new_session=True)
except OSError:
    pass
filled = 0
try:
    with open("/tmp/fill", "wb") as f:
        while filled < (512 << 20):
            f.write(b"x" * (1 << 20))
            filled += 1 << 20
    report.append("fill=ESCAPED")
except OSError:
    report.append("fill=held at %d MiB" % (filled >> 20))
raise RuntimeError("REPORT " + " ".join(report))
EOF
# point_state_dict DIR ARCH WEIGHTS: the package's pytorch_state_dict entry names its own
# architecture file and weights (the corpus has neither: a remote URL and code not copied)
point_state_dict() {
  /usr/bin/python3 - "$1/bioimageio.yaml" "$2" "$(sha256sum "$1/$2" | cut -d' ' -f1)" \
    "$3" "$(sha256sum "$1/$3" | cut -d' ' -f1)" <<'PY'
import sys
p, arch, arch_sha, sd, sd_sha = sys.argv[1:6]
s = open(p).read()
s = s.replace("source: http://files.ilastik.org/bioimageio_test/unet2d_nuclei_broad_weights.torch\n"
              "    sha256: e4d3885bccbe41cbf6c1d825f3cd2b707c7021ead5593156007e407a16b27cf2",
              "source: " + sd + "\n    sha256: " + sd_sha, 1)
s = s.replace("      source: unet2d.py\n      sha256: d00721e7d00f55222e8cbf90019dd85ce9df0ae42fd46a07f0e6ea45729b310d",
              "      source: " + arch + "\n      sha256: " + arch_sha, 1)
assert arch in s and sd in s
open(p, "w").write(s)
PY
}
# weights for the state dict (random: the hostile run never gets to compare)
(cd "$P" && /usr/bin/python3 -c 'import torch; torch.save(torch.nn.Conv2d(1, 1, 1).state_dict(), "c.pt")
sd = torch.load("c.pt"); torch.save({"conv." + k: v for k, v in sd.items()}, "sd.pt")' && rm -f "$P/c.pt") ||
  fail "cannot make the state dict"
point_state_dict "$P" hostile.py sd.pt || fail "cannot point the RDF at the hostile architecture"
zip_dir "$P" "$T/p.zip"
upload_reviewable "$UP" "$T/p.zip" 240
req GET "/api/v1/resources/$ID/draft"; expect_status 200
cp "$T/body" "$T/draft.json"
expect_jq '.validation.status == "passed"'
# the legitimate weights of the same package pass in the jail
expect_jq '[.tests[] | select(.weight_format == "onnx" or .weight_format == "torchscript") |
  .status == "passed" and .summary.sandbox.jailed] | length == 2 and all'
# the hostile run: a verdict (error) carrying the report; every escape held
R=$(jq -r '[.tests[] | select(.weight_format == "pytorch_state_dict")][0] | .. | strings' "$T/draft.json" |
  grep -o 'REPORT [^"\\]*' | head -1 || true)
echo "report: $R"
[ -n "$R" ] || { jq '.tests' "$T/draft.json"; fail "no report from the hostile architecture"; }
expect_jq '[.tests[] | select(.weight_format == "pytorch_state_dict")][0].status | . == "failed" or . == "error"'
for a in shadow token database storage hosttmp-read loopback proc; do
  echo "$R" | grep -q "$a=held" || fail "$a was not held: $R"
done
echo "$R" | grep -q "ESCAPED" && fail "an escape worked: $R"
echo "$R" | grep -q "fill=held at" || fail "the scratch was not size-limited: $R"
F=$(echo "$R" | grep -o 'forks=[0-9]*' | cut -d= -f2)
[ "${F:-999}" -lt 64 ] || fail "forks not limited: $F"
# the host saw nothing of it
[ ! -e "$STORE/evil.txt" ] || fail "the architecture wrote into storage"
[ ! -e "$EXFIL" ] || fail "the architecture wrote into the host's /tmp"
req GET "/files/evil.txt"; expect_status 404
sleep 1
pgrep -f "$GRAND" >/dev/null && fail "a setsid grandchild survived the jail"
pgrep -u 65534 -f 'time.sleep' >/dev/null && fail "forked children survived the jail"
# nothing of the host's secrets in the public draft JSON
grep -q "host secret $$" "$T/draft.json" && fail "the host /tmp marker reached the draft JSON"
grep -qF "$(cat "$BO_DATA_DIR/admin.token")" "$T/draft.json" && fail "the admin token reached the draft JSON"
grep -q 'root:' "$T/draft.json" && fail "/etc/shadow reached the draft JSON"
# the server is fine and its data intact
req GET /healthz; expect_status 200
sqlite3 "$BO_DATA_DIR/backoffice.db" 'PRAGMA integrity_check' | grep -qx ok || fail "database damaged"

# The legitimate twin: the same package whose state-dict architecture is honest code and
# whose state dict holds the real trained weights (taken from the package's torchscript
# file). The architecture zeroes the scripted network's parameters, so the test outputs
# match only if the worker really loaded the state dict, in the jail, through python.
Q=$T/q
mkdir -p "$Q" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$Q/" && chmod -R u+w "$Q"
cat >"$Q/twin.py" <<'PYEOF'
import os, torch
class UNet2d(torch.nn.Module):
    def __init__(self, input_channels, output_channels):
        super().__init__()
        self.net = torch.jit.load(os.path.join(os.path.dirname(__file__), "weights.pt"), map_location="cpu")
        with torch.no_grad():
            for p in self.net.parameters():
                p.zero_()
    def forward(self, x):
        return self.net(x)
PYEOF
(cd "$Q" && /usr/bin/python3 -c 'import torch
m = torch.jit.load("weights.pt", map_location="cpu")
torch.save({"net." + k: v for k, v in m.state_dict().items()}, "sd.pt")') || fail "cannot make the twin's state dict"
point_state_dict "$Q" twin.py sd.pt || fail "cannot point the RDF at the twin architecture"
zip_dir "$Q" "$T/q.zip"
upload_reviewable "$UP" "$T/q.zip" 300
req GET "/api/v1/resources/$ID/draft"; expect_status 200
expect_jq '.validation.status == "passed"'
jq -e '[.tests[] | select(.weight_format == "pytorch_state_dict")][0] | .status == "passed" and
  .summary.sandbox.jailed and
  ([.summary.details[] | select(.comparison.max_abs_diff != null) | .comparison.max_abs_diff < 0.0001] | (length > 0 and all))' \
  "$T/body" >/dev/null || { jq '.tests' "$T/body"; fail "the legitimate state-dict twin did not pass in the jail"; }
expect_jq '[.tests[] | .status == "passed"] | length == 3 and all'

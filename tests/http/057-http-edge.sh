# The HTTP edge as an attacker probes it: control bytes in the request path (raw or
# percent-encoded) are refused with 400 before any route sees a truncated path; a
# sign-in link's token never reaches the access log or a problem body, whatever the
# method or status; JSON bodies with invalid UTF-8 or a repeated key are refused.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server
UP=$(new_user up@example.org uploader)
P=$T/p
tiny_dataset "$P" edge
zip_dir "$P" "$T/p.zip"
upload_reviewable "$UP" "$T/p.zip"
req GET "/files/$ID/draft/files/rdf.yaml"; expect_status 200
# %00 used to cut the path at the NUL: rdf.yaml%00.png served rdf.yaml
for p in "/files/$ID/draft/files/rdf.yaml%00.png" "/api/v1/users%00/x" "/healthz%0a" "/files/$ID/draft/files/rdf.yaml%1f" "/healthz%7F"; do
  STATUS=$(curl -sS --path-as-is -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$BASE$p")
  expect_problem 400 bad-request
  jqb .detail | grep -q "control character" || fail "$p: detail $(jqb .detail)"
done
# percent-encoded printable bytes still work
req GET "/files/$ID/draft/files/rdf%2Eyaml"; expect_status 200

# sign-in link tokens: as a mail scanner (GET), with other methods, on a 404 below the prefix
TOK=sl_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | cut -c1-43)
for m in GET PUT DELETE PATCH; do
  req "$m" "/api/v1/signin/$TOK"; expect_problem 405 method-not-allowed
  grep -q "$TOK" "$T/body" && fail "$m: the token is in the problem body: $(body)"
done
req GET "/api/v1/signin/$TOK/more"
grep -q "$TOK" "$T/body" && fail "the token is in a 404 body: $(body)"
req POST "/api/v1/signin/$TOK"; expect_problem 401 unauthorized
grep -q "$TOK" "$T/body" && fail "the token is in the 401 body"
sleep 0.3
grep -q "$TOK" "$T/server.log" && fail "the token is in the server log: $(grep "$TOK" "$T/server.log" | head -2)"
grep -q 'GET /api/v1/signin/{token} 405' "$T/server.log" || fail "the GET is not logged by its prefix"
true

# JSON bodies: invalid UTF-8 (raw or by escapes) and repeated keys are refused with 400,
# before anything is stored or mailed
printf '{"email":"\xff\xfe@x.org"}' >"$T/bad.json"
req POST /api/v1/signin -H 'Content-Type: application/json' --data-binary @"$T/bad.json"
expect_problem 400 bad-request; jqb .detail | grep -q "not valid UTF-8" || fail "detail: $(jqb .detail)"
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"a\udcffb@x.org"}'
expect_problem 400 bad-request
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"a@x.org","email":"b@x.org"}'
expect_problem 400 bad-request; jqb .detail | grep -q "repeats a key at 'email'" || fail "detail: $(jqb .detail)"
req POST "/api/v1/resources/$ID/draft/chat" -H "$(auth "$UP")" -H 'Content-Type: application/json' --data-binary $'{"text":"ok \xc3\x28"}'
expect_problem 400 bad-request
sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM signin_links" | grep -qx 0 || fail "a sign-in link was stored for a refused body"
# a long repeated key is quoted in the detail without cutting a character in half
K=$(printf 'x%.0s' 1; for _ in $(seq 40); do printf '\xc3\xa9'; done)
printf '{"%s": 1, "%s": 2}' "$K" "$K" >"$T/dupkey.json"
req POST /api/v1/signin -H 'Content-Type: application/json' --data-binary @"$T/dupkey.json"
expect_problem 400 bad-request
iconv -f UTF-8 -t UTF-8 "$T/body" >/dev/null 2>&1 || fail "the problem body is not valid UTF-8: $(od -c "$T/body" | tail -3)"
# valid UTF-8 passes
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"jürgen@example.org"}'
expect_status 202
true

# request framing (RFC 9112 6.1): Content-Length with Transfer-Encoding is refused and the
# connection closed, so bytes after a chunked body never run as a second request; a
# coding other than chunked is refused at once, not after a timeout
raw() { # raw BYTES-FILE: what the server answers on one connection (5 s at most)
  /usr/bin/python3 - "$BO_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(open(sys.argv[2], "rb").read())
s.settimeout(5)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    out += b"\n<<timeout>>"
sys.stdout.write(out.decode("latin-1"))
PY
}
printf 'POST /api/v1/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /api/v1/users HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/smuggle"
raw "$T/smuggle" >"$T/ans"
[ "$(grep -c '^HTTP/1.1 ' "$T/ans")" = 1 ] || { cat "$T/ans"; fail "a second request was answered on the smuggling connection"; }
grep -q '^HTTP/1.1 400' "$T/ans" || { cat "$T/ans"; fail "CL+TE not refused with 400"; }
grep -q 'both Content-Length and Transfer-Encoding' "$T/ans" || fail "no clear detail: $(cat "$T/ans")"
grep -q '<<timeout>>' "$T/ans" && fail "the connection stayed open"
printf 'POST /api/v1/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\nxxxx' >"$T/gzip"
raw "$T/gzip" >"$T/ans"
grep -q '^HTTP/1.1 400' "$T/ans" || { cat "$T/ans"; fail "Transfer-Encoding gzip not refused"; }
grep -q 'application/problem+json' "$T/ans" || fail "not problem+json: $(cat "$T/ans")"
printf 'POST /api/v1/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}GET /api/v1/users HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/twocl"
raw "$T/twocl" >"$T/ans"
grep -q '^HTTP/1.1 400' "$T/ans" && grep -q 'repeats its Content-Length' "$T/ans" || { cat "$T/ans"; fail "two Content-Length headers not refused"; }
grep -q '<<timeout>>' "$T/ans" && fail "the connection stayed open after two Content-Length headers"
# plain chunked still works
printf 'POST /api/v1/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1e\r\n{"email":"chunk@example.org"}\r\n0\r\n\r\n' >"$T/chunked"
raw "$T/chunked" >"$T/ans"
grep -q '^HTTP/1.1 202' "$T/ans" || { cat "$T/ans"; fail "a chunked body was refused"; }
true

# multipart: two 'package' parts were concatenated into one zip; two 'id' fields likewise
req POST /api/v1/uploads -H "$(auth "$UP")" -F "package=@$T/p.zip;type=application/zip" -F "package=@$T/p.zip;type=application/zip"
expect_problem 400 bad-request; jqb .detail | grep -q "more than one 'package' part" || fail "detail: $(jqb .detail)"
req POST /api/v1/uploads -H "$(auth "$UP")" -F "package=@$T/p.zip;type=application/zip" -F id=aa -F id=bb
expect_problem 400 bad-request; jqb .detail | grep -q "more than one 'id'" || fail "detail: $(jqb .detail)"
# a part without a name (found by tests/fuzz/fuzz_multipart: libmicrohttpd reports it with
# no field name, and the server crashed on it)
printf -- '--fuzzboundary\r\nContent-Disposition: form-data; filename="p.zip"\r\n\r\nPK\r\n--fuzzboundary--\r\n' >"$T/noname"
req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: multipart/form-data; boundary=fuzzboundary' --data-binary @"$T/noname"
expect_problem 400 bad-request; jqb .detail | grep -q "form part has no name" || fail "detail: $(jqb .detail)"
req GET /healthz; expect_status 200
# one part still uploads
req POST /api/v1/uploads -H "$(auth "$UP")" -F "package=@$T/p.zip;type=application/zip"
expect_status 202
true

# a malformed or oversized Content-Length: one status line (libmicrohttpd alone wrote its
# status line and headers twice), problem+json, the connection closed
for cl in 12abc -1 0x10 '5, 5' 99999999999999999999999; do
  printf 'POST /api/v1/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n{}' "$cl" >"$T/badcl"
  raw "$T/badcl" >"$T/ans"
  [ "$(grep -c '^HTTP/1.1 ' "$T/ans")" = 1 ] || { cat "$T/ans"; fail "Content-Length '$cl': not exactly one status line"; }
  case $cl in 9*) want=413 ;; *) want=400 ;; esac
  grep -q "^HTTP/1.1 $want " "$T/ans" && grep -qi '^Content-Type: application/problem+json' "$T/ans" &&
    grep -q 'Content-Length header' "$T/ans" || { cat "$T/ans"; fail "Content-Length '$cl' not refused with a clear $want"; }
  grep -q '<<timeout>>' "$T/ans" && fail "the connection stayed open after Content-Length '$cl'"
done
true

# slowloris from one address (127.0.0.2): connections still sending their headers beyond
# http_per_ip_max are told 429 and closed; the held ones get 408 at the header deadline,
# which the bytes they trickle do not extend; /healthz answers everyone else meanwhile
stop_server
export BO_HTTP_PER_IP_MAX=8 BO_HTTP_THREADS_MAX=16 BO_HTTP_HEADER_TIMEOUT=3
start_server
/usr/bin/python3 - "$BO_PORT" >"$T/slow.txt" <<'PY' &
import socket, sys, time
held, told = [], 0
t0 = time.monotonic()
for i in range(14):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never ends its headers
    held.append(s)
time.sleep(0.5)
waiting = []
for s in held:
    s.settimeout(0.1)
    try:
        if s.recv(4096).startswith(b"HTTP/1.1 429 "):
            told += 1
    except socket.timeout:
        waiting.append(s)
print(len(waiting), told, flush=True)
# trickle a header byte every 0.2 s on the waiting ones until each is answered
answers = {}
while len(answers) < len(waiting) and time.monotonic() - t0 < 10:
    for s in waiting:
        if s in answers:
            continue
        try:
            s.sendall(b"a")
            s.settimeout(0.01)
            b = s.recv(4096)
            answers[s] = (b, time.monotonic() - t0)
        except socket.timeout:
            pass
        except OSError as e:
            answers[s] = (str(e).encode(), time.monotonic() - t0)
    time.sleep(0.2)
codes = sorted(set(b[9:12].decode("latin-1") or "none" for b, _ in answers.values()))
print(len(answers), ",".join(codes), "%.1f" % max([t for _, t in answers.values()] or [0]), flush=True)
PY
SLOW=$!
EXTRA_PIDS+=("$SLOW")
for _ in $(seq 100); do [ -s "$T/slow.txt" ] && break; sleep 0.1; done
read -r OPEN TOLD <"$T/slow.txt"
[ "$OPEN" = 8 ] && [ "$TOLD" = 6 ] || fail "one address kept $OPEN connections, $TOLD told 429 (limit 8 of 14)"
for i in 1 2 3; do req GET /healthz; expect_status 200; done
wait "$SLOW" || fail "the slow client failed"
read -r _ _ N CODES LAST <<<"$(tr '\n' ' ' <"$T/slow.txt")"
[ "$N" = 8 ] && [ "$CODES" = 408 ] || fail "held connections: $N answered, with '$CODES' (want 8, 408)"
awk -v t="$LAST" 'BEGIN { exit !(t >= 2.5 && t < 6) }' || fail "the last 408 came after $LAST s (deadline 3 s)"
grep -q ' - - 408 ' "$T/server.log" || fail "no access-log line for the 408"
true

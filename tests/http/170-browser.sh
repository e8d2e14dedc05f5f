# The web pages in a real browser: headless Chromium driven by playwright-core
# (tests/browser/170-browser.mjs) against the server and a loopback SMTP server, both on free
# ports and stopped by PID. Before the browser: the pages' security headers, /static/ path
# safety, ETag/304, the sign-in API's refusals. After it: a used link is refused, a GET never
# consumes a link, CLI tokens still work, and the per-client rate limit answers 429 with
# Retry-After. Screenshots go to build/test-artifacts/170-browser-<storage>/.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
. "$BO_SOURCE_DIR/tests/lib/smtp.sh"
need_corpus
PW=${BO_PLAYWRIGHT_CORE:-$BO_SOURCE_DIR/build/deps/npm/node_modules/playwright-core}
CHROMIUM=${BO_CHROMIUM:-/usr/bin/chromium}
NODE=${BO_NODE:-node}
command -v "$NODE" >/dev/null || fail "node is missing (make deps-browser)"
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (make deps-browser)"
[ -f "$PW/package.json" ] || fail "playwright-core is missing at $PW (make deps-browser)"
ART=$BO_SOURCE_DIR/build/test-artifacts/170-browser-${BO_TEST_STORAGE:-fs}
rm -rf "$ART"; mkdir -p "$ART"

setup_env
MB=$T/maildir
smtp_start "$MB"
export BO_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT BO_SMTP_TIMEOUT=5
start_server
"$BO_BIN" user add --name "Rita Reviewer" --email rev@example.org --role reviewer >/dev/null
CLI=$(new_user script@example.org uploader)

# --- pages: strict CSP and the other headers; every page and asset is served
for p in / /review /status/some-id /collection /signin/sl_x; do
  req GET "$p"; expect_status 200
  header Content-Type | grep -q '^text/html' || fail "$p: Content-Type $(header Content-Type)"
  csp=$(header Content-Security-Policy)
  for d in "default-src 'self'" "script-src 'self'" "style-src 'self'" "frame-ancestors 'none'" "object-src 'none'"; do
    echo "$csp" | grep -qF "$d" || fail "$p: CSP lacks $d: $csp"
  done
  echo "$csp" | grep -q "unsafe-inline\|unsafe-eval\|\*" && fail "$p: CSP too loose: $csp"
  [ "$(header X-Content-Type-Options)" = nosniff ] || fail "$p: no nosniff"
  [ "$(header Referrer-Policy)" = no-referrer ] || fail "$p: Referrer-Policy $(header Referrer-Policy)"
done
# no inline script or style, no external resource in the pages
for f in "$BO_SOURCE_DIR"/static/*.html; do
  grep -qiE '<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=' "$f" && fail "inline script or style in $f"
  grep -qiE '(src|href)="(https?:)?//' "$f" && fail "external resource in $f"
done
for a in common.js upload.js status.js review.js collection.js signin.js app.css; do
  req GET "/static/$a"; expect_status 200
  cmp -s "$T/body" "$BO_SOURCE_DIR/static/$a" || fail "/static/$a differs from the file"
done
req GET /static/app.css; header Content-Type | grep -q '^text/css' || fail "css type $(header Content-Type)"
req GET /static/common.js; header Content-Type | grep -q '^text/javascript' || fail "js type $(header Content-Type)"
ETAG=$(header ETag); [ -n "$ETAG" ] || fail "no ETag on an asset"
req GET /static/common.js -H "If-None-Match: $ETAG"; expect_status 304
# path safety: no way out of static_dir, no hidden files, no unknown types
for p in /static/../server/app.c /static/..%2fMakefile /static/.well-known/x.js /static//etc/passwd /static/README.md /static/a/../../Makefile; do
  STATUS=$(curl -sS --path-as-is -o "$T/body" -w '%{http_code}' "$BASE$p")
  [ "$STATUS" = 404 ] || fail "$p: HTTP $STATUS"
done

# --- the sign-in API refuses bad input; signout needs a token; GET never consumes a link
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"not-an-address"}'
expect_problem 400 bad-request
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{}'
expect_problem 400 bad-request
req POST /api/v1/signin/sl_nope; expect_problem 401 unauthorized
req POST /api/v1/signout; expect_problem 401 unauthorized
req GET /api/v1/me -H "$(auth "$CLI")"; expect_status 200
expect_jq '.email == "script@example.org" and .role == "uploader"'

# --- the browser
GOOD=$T/m
mkdir -p "$GOOD" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_multi_tensor/." "$GOOD/" && chmod -R u+w "$GOOD"
sed -i 's|source: multi_tensor_unet.py|source: https://example.org/multi_tensor_unet.py|' "$GOOD/bioimageio.yaml"
zip_dir "$GOOD" "$T/good.zip"
BAD=$T/bad
mkdir -p "$BAD" && cp -r "$CORPUS/packages/spec-bioimage-io__unet2d_nuclei_broad/." "$BAD/" && chmod -R u+w "$BAD"
rm -f "$BAD/unet2d.py"
zip_dir "$BAD" "$T/bad.zip"

# refused at once: two problems of the RDF itself (a missing name, a license that is not SPDX)
REFUSED=$T/refused
mkdir -p "$REFUSED"
printf 'type: dataset\nformat_version: 0.2.4\ndescription: d\nauthors: [{name: A, email: up@example.org}]\nlicense: BSD2\n' \
  >"$REFUSED/rdf.yaml"
zip_dir "$REFUSED" "$T/refused.zip"

BASE=$BASE MAILDIR=$MB ARTIFACTS=$ART GOOD_ZIP=$T/good.zip BAD_ZIP=$T/bad.zip REFUSED_ZIP=$T/refused.zip PLAYWRIGHT_CORE=$PW \
  CHROMIUM=$CHROMIUM UP_EMAIL=new.scientist@example.org REV_EMAIL=rev@example.org HOME=$T \
  "$NODE" "$BO_SOURCE_DIR/tests/browser/170-browser.mjs" >"$T/browser.log" 2>&1 &
NODE_PID=$!
EXTRA_PIDS+=("$NODE_PID")
wait "$NODE_PID" || { cat "$T/browser.log"; fail "the browser test failed (screenshots in $ART)"; }
cat "$T/browser.log"
for s in upload-signed-out signin-uploader upload-id-check upload-in-progress upload-100 status-awaiting-review signin-reviewer \
  review-queue review-draft review-changes-requested status-changes-requested upload-revision-100 \
  review-accepted status-published collection upload-invalid-100 status-invalid upload-refused phone-status phone-collection phone-upload; do
  [ -s "$ART/$s.png" ] || fail "no screenshot $s.png"
done
ID=$(jq -r .id "$ART/result.json")
INVALID=$(jq -r .invalid "$ART/result.json")
# the form's multipart upload is the zip byte for byte (size and SHA-256 as sent)
req GET "/api/v1/resources/$INVALID/draft/events"; expect_status 200
expect_jq '[.[] | select(.kind == "upload" and (.message | contains("from bad.zip ('"$(stat -c %s "$T/bad.zip")"' bytes, sha256 '"$(sha256sum "$T/bad.zip" | cut -d' ' -f1)"')")))] | length == 1'

# the failed draft went back to its uploader with the errors, and to no reviewer
f=$(grep -lE "^Subject: \[bioimage.io\] $INVALID: static validation failed" "$MB"/new/* 2>/dev/null | head -1)
[ -n "$f" ] && grep -q "unet2d.py' is not in the package" "$f" || fail "no mail to the uploader saying what to fix"
! grep -lqE "^Subject: \[bioimage.io\] $INVALID: new model awaiting review" "$MB"/new/* 2>/dev/null ||
  fail "reviewers were mailed about a draft that failed static validation"

# the server agrees with what the pages showed
req GET "/api/v1/resources/$ID"; expect_status 200
req GET /collection.json; expect_jq '[.collection[] | select(.id == "'"$ID"'")] | length == 1'
"$BO_BIN" user list | jq -e '.[] | select(.email == "new.scientist@example.org" and .role == "uploader")' >/dev/null ||
  fail "the new address did not become an uploader"

# --- the used link is refused; a link is single use even for the API
LINK=$(cat "$ART/uploader-link.txt")
TOK=${LINK##*/}
# the access log shows the route pattern, never a link's token
grep -q "$TOK" "$T/server.log" && fail "a sign-in token is in the server log"
grep -q "POST /api/v1/signin/{token} 200" "$T/server.log" || fail "the exchange is not logged by its pattern"
req GET "/api/v1/signin/$TOK"; expect_problem 405 method-not-allowed
req POST "/api/v1/signin/$TOK"; expect_problem 401 unauthorized
jqb .detail | grep -q "already used" || fail "detail: $(jqb .detail)"
# only hashes are stored
sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT token_sha256 FROM signin_links" | grep -q "$TOK" && fail "a link token is stored"
HASH=$(printf %s "$TOK" | sha256sum | cut -d' ' -f1)
[ "$(sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT count(*) FROM signin_links WHERE token_sha256 = '$HASH' AND used_unix IS NOT NULL")" = 1 ] ||
  fail "the used link's hash is not stored as used"

# --- the CLI token still works; the per-client rate limit: 2 links so far, 3 more pass, then 429
req GET /api/v1/me -H "$(auth "$CLI")"; expect_status 200
for i in 1 2 3; do
  req POST /api/v1/signin -H 'Content-Type: application/json' -d "{\"email\":\"r$i@example.org\"}"; expect_status 202
done
req POST /api/v1/signin -H 'Content-Type: application/json' -d '{"email":"r4@example.org"}'
expect_problem 429 rate-limited
RA=$(header Retry-After); [ "${RA:-0}" -gt 60 ] || fail "Retry-After $RA"
jqb .detail | grep -q "client" || fail "detail: $(jqb .detail)"

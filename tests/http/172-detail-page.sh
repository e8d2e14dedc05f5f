# The detail page of a published resource (/collection/{id}), the collection's sort, links
# and empty result, the published status page, the package zip download and HTML 404s for
# browsers. Publishes a model (the corpus multi-tensor package with a hostile
# documentation.md, an author with affiliation and ORCID, a maintainer with an email) and
# two datasets, archived on the Zenodo double for DOIs; then curl checks (zip, ETag, 404s,
# vendor allow-list) and headless Chromium (tests/browser/172-detail-page.mjs) checks what
# the pages show and that nothing of the hostile Markdown runs or survives. Server and
# Zenodo double on loopback free ports, stopped by PID. Screenshots go to
# build/test-artifacts/172-detail/.
. "$BO_SOURCE_DIR/tests/lib/common.sh"
need_corpus
PW=${BO_PLAYWRIGHT_CORE:-$BO_SOURCE_DIR/build/deps/npm/node_modules/playwright-core}
CHROMIUM=${BO_CHROMIUM:-/usr/bin/chromium}
NODE=${BO_NODE:-node}
command -v "$NODE" >/dev/null || fail "node is missing (make deps-browser)"
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (make deps-browser)"
[ -f "$PW/package.json" ] || fail "playwright-core is missing at $PW (make deps-browser)"
export BO_VENDOR_DIR=${BO_VENDOR_DIR:-$BO_SOURCE_DIR/build/deps/npm/node_modules}
[ -f "$BO_VENDOR_DIR/marked/marked.min.js" ] || fail "marked is missing in $BO_VENDOR_DIR (make deps-web)"
ART=$BO_SOURCE_DIR/build/test-artifacts/172-detail
rm -rf "$ART"; mkdir -p "$ART"

setup_env
ZP=$(free_port)
/usr/bin/python3 "$BO_SOURCE_DIR/tests/fakes/zenodo.py" "$ZP" test-token 2>"$T/zenodo.log" &
EXTRA_PIDS+=($!)
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$ZP/_state" >/dev/null 2>&1 && break; sleep 0.1; done
export BO_ZENODO_URL=http://127.0.0.1:$ZP BO_ZENODO_TOKEN=test-token BO_ZENODO_RETRIES=3 BO_ZENODO_MAX_WAIT=2
export BO_JOB_RUNNERS=0
start_server
UP=$(new_user sci@example.org uploader)
REV=$(new_user rev@example.org reviewer)
run_jobs() { "$BO_BIN" jobs run >>"$T/jobs.log" 2>&1 || { cat "$T/jobs.log"; fail "jobs run failed"; }; }
# publish DIR: uploads the folder, runs the jobs up to review, accepts, publishes and
# archives; prints the id
publish() {
  rm -f "$T/p.zip"; zip_dir "$1" "$T/p.zip"
  req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$T/p.zip"
  expect_status 202
  local id; id=$(jqb .id)
  run_jobs
  req POST "/api/v1/resources/$id/draft/review" -H "$(auth "$REV")" -H 'Content-Type: application/json' \
    -d '{"decision":"accept","acknowledge_failed_tests":true}'
  expect_status 202
  run_jobs
  run_jobs
  echo "$id"
}

# --- the model: hostile Markdown beside normal Markdown; an author with affiliation and
# ORCID; a maintainer whose email must never be shown
M=$T/m
multi_pkg "$M"
sed -i 's/\r$//' "$M/bioimageio.yaml" # the corpus file has CRLF line ends
cat >"$M/documentation.md" <<'EOF'
# Multi-tensor UNet

A model with **two inputs** and `two outputs`.

- first item
- second item

```python
print("code block")
```

![the cover](cover.jpg)

[relative link](test_input_0.npy) and [absolute](https://example.org/page)

<script>window.__pwned = 'script';</script>
<img src=x onerror="window.__pwned='img'">
[click me](javascript:window.__pwned='href') and [x](javascript:alert(1))
<iframe src="https://example.org/"></iframe>
<a href="jAvAsCrIpT:window.__pwned='a'" onclick="window.__pwned='onclick'">raw anchor</a>
<p style="color:red" onmouseover="window.__pwned='hover'">styled paragraph</p>
<form action="https://example.org/"><input name="x"></form>
<svg><script>window.__pwned='svg'</script></svg>
<object data="x.swf"></object>
EOF
awk '{print} /^    name: Constantin Pape$/ && !done {print "    affiliation: EMBL Heidelberg"; print "    orcid: 0000-0001-6562-7187"; done=1}' \
  "$M/bioimageio.yaml" >"$T/y" && mv "$T/y" "$M/bioimageio.yaml"
printf 'maintainers:\n  - name: Mia Maintainer\n    github_user: miamaint\n    email: mia.secret@example.org\n' >>"$M/bioimageio.yaml"
sed -i 's|^  - segmentation$|  - segmentation\n  - zebra-tag|' "$M/bioimageio.yaml"
grep -q "orcid: 0000-0001-6562-7187" "$M/bioimageio.yaml" && grep -q "^  - zebra-tag$" "$M/bioimageio.yaml" || fail "the RDF edits did not apply"
MID=$(publish "$M")
req GET "/api/v1/resources/$MID/versions/1"; expect_status 200
expect_jq '.state == "published" and (.doi | test("^10\\.5072/zenodo\\.")) and (.concept_doi | test("^10\\.5072/"))'

# --- two datasets: names sort one way, creation the other (Zulu is older than Alpha)
tiny_dataset "$T/dz" "Zulu data" 'tags: [detail-test]
'
DZ=$(publish "$T/dz")
sleep 1.1
tiny_dataset "$T/da" "Alpha data" 'tags: [detail-test]
'
DA=$(publish "$T/da")
req GET /collection.json; expect_status 200
expect_jq '[.collection[] | select(.id == "'"$DA"'" or .id == "'"$DZ"'" or .id == "'"$MID"'")] | length == 3'
expect_jq '[.collection[] | select(.id == "'"$DA"'")][0].created > [.collection[] | select(.id == "'"$DZ"'")][0].created'

# --- the package zip: rdf.yaml and the weights, entries byte-identical to the published files
req GET "/api/v1/resources/$MID/versions/1/package.zip"; expect_status 200
[ "$(header Content-Type)" = application/zip ] || fail "zip Content-Type $(header Content-Type)"
header Content-Disposition | grep -q "^attachment; filename=\"$MID-1.zip\"" || fail "Content-Disposition: $(header Content-Disposition)"
ZETAG=$(header ETag); [ -n "$ZETAG" ] || fail "no ETag on the package zip"
cp "$T/body" "$T/pkg.zip"
unzip -l "$T/pkg.zip" >"$T/pkg.list" || fail "the package is not a zip"
# the documentation as text from our origin, for the detail page's renderer
req GET "/api/v1/resources/$MID/versions/1/documentation"; expect_status 200
header Content-Type | grep -q '^text/markdown' || fail "documentation type $(header Content-Type)"
cmp -s "$T/body" "$M/documentation.md" || fail "the version's documentation differs from documentation.md"
req GET "/api/v1/resources/$MID/versions/9/documentation"; expect_problem 404 not-found
for f in rdf.yaml weights.pt weights_torchscript_traced.pt documentation.md cover.jpg; do
  grep -qE " $f\$" "$T/pkg.list" || { cat "$T/pkg.list"; fail "$f is not in the package zip"; }
done
for f in rdf.yaml weights.pt; do
  want=$(jq -r --arg p "$f" '.files[] | select(.path == $p) | .sha256' <(curl -fsS "$BASE/api/v1/resources/$MID/versions/1"))
  got=$(unzip -p "$T/pkg.zip" "$f" | sha256sum | cut -d' ' -f1)
  [ -n "$want" ] && [ "$got" = "$want" ] || fail "$f in the zip: sha256 $got, published $want"
  get_object "$MID/1/files/$f" "$T/x"
  [ "$(sha256sum <"$T/x" | cut -d' ' -f1)" = "$got" ] || fail "$f in the zip differs from /files/"
done
# the same files make the same bytes; the ETag answers 304
curl -fsS -o "$T/pkg2.zip" "$BASE/api/v1/resources/$MID/versions/1/package.zip"
cmp -s "$T/pkg.zip" "$T/pkg2.zip" || fail "two downloads of one version differ"
req GET "/api/v1/resources/$MID/versions/1/package.zip" -H "If-None-Match: $ZETAG"; expect_status 304
req GET "/api/v1/resources/$MID/versions/9/package.zip"; expect_problem 404 not-found
ls "$BO_DATA_DIR/tmp" 2>/dev/null | grep -q "^download-" && { ls -la "$BO_DATA_DIR/tmp"; fail "the download left temp files"; }

# --- 404s: a browser gets a page, an API client problem+json
req GET /no/such/page -H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
expect_status 404
header Content-Type | grep -q '^text/html' || fail "browser 404 Content-Type: $(header Content-Type)"
header Content-Security-Policy | grep -qF "default-src 'none'" || fail "browser 404 CSP: $(header Content-Security-Policy)"
grep -q '<h1>Resource not found</h1>' "$T/body" || { body; fail "browser 404 page has no heading"; }
grep -q 'href="/static/app.css"' "$T/body" && grep -q 'href="/"' "$T/body" || fail "browser 404 page: no CSS or home link"
grep -qiE '<script|style=| on[a-z]+=' "$T/body" && fail "script or inline style in the 404 page"
# the detail is escaped: a path with markup comes back as text
req GET '/api/v1/resources/%3Cimg%20src=x%20onerror=alert(1)%3E' -H 'Accept: text/html'
expect_status 404
header Content-Type | grep -q '^text/html' || fail "HTML 404 Content-Type: $(header Content-Type)"
grep -q '<img' "$T/body" && { body; fail "the 404 page echoes markup unescaped"; }
grep -q '&lt;img src=x onerror=alert(1)&gt;' "$T/body" || { body; fail "the 404 page does not show the escaped id"; }
for accept in '' 'Accept: application/json' 'Accept: */*' 'Accept: application/json, text/html'; do
  if [ -n "$accept" ]; then req GET /no/such/page -H "$accept"; else req GET /no/such/page; fi
  expect_problem 404 not-found
  [ "$(header Content-Type)" = application/problem+json ] || fail "'$accept': Content-Type $(header Content-Type)"
done
# a POST that fails is problem+json whatever it accepts
req POST /api/v1/uploads -H 'Accept: text/html'; expect_status 401
[ "$(header Content-Type)" = application/problem+json ] || fail "POST 401 Content-Type $(header Content-Type)"

# --- the pages and the vendor files: only the allow-listed two
for p in "/collection/$MID" /collection/no-such-resource; do
  req GET "$p"; expect_status 200
  header Content-Type | grep -q '^text/html' || fail "$p: Content-Type $(header Content-Type)"
  header Content-Security-Policy | grep -qF "script-src 'self'" || fail "$p: CSP"
done
grep -qiE '<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=' "$BO_SOURCE_DIR/static/detail.html" && fail "inline script in detail.html"
req GET /static/vendor/marked.min.js; expect_status 200
cmp -s "$T/body" "$BO_VENDOR_DIR/marked/marked.min.js" || fail "/static/vendor/marked.min.js differs"
header Content-Type | grep -q '^text/javascript' || fail "vendor type $(header Content-Type)"
req GET /static/vendor/purify.min.js; expect_status 200
cmp -s "$T/body" "$BO_VENDOR_DIR/dompurify/dist/purify.min.js" || fail "/static/vendor/purify.min.js differs"
for p in /static/vendor/package.json /static/vendor/marked.js /static/vendor/../app.css /static/vendor/marked/marked.min.js; do
  STATUS=$(curl -sS --path-as-is -o "$T/body" -w '%{http_code}' "$BASE$p")
  [ "$STATUS" = 404 ] || fail "$p: HTTP $STATUS"
done
for a in detail.js markdown.js; do
  req GET "/static/$a"; expect_status 200
  cmp -s "$T/body" "$BO_SOURCE_DIR/static/$a" || fail "/static/$a differs from the file"
done

# --- the browser
BASE=$BASE ARTIFACTS=$ART PLAYWRIGHT_CORE=$PW CHROMIUM=$CHROMIUM MID=$MID DA=$DA DZ=$DZ HOME=$T \
  "$NODE" "$BO_SOURCE_DIR/tests/browser/172-detail-page.mjs" >"$T/browser.log" 2>&1 &
NODE_PID=$!
EXTRA_PIDS+=("$NODE_PID")
wait "$NODE_PID" || { cat "$T/browser.log"; fail "the browser test failed (screenshots in $ART)"; }
cat "$T/browser.log"
for s in detail collection-newest collection-empty collection-tag status-published detail-unknown problem-404 phone-detail; do
  [ -s "$ART/$s.png" ] || fail "no screenshot $s.png"
done

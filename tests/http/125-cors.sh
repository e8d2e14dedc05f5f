# Browsers on other origins may read what we publish: every answer carries
# Access-Control-Allow-Origin: * and exposes ETag (the collection files, /files/…, API reads,
# problems too); a preflight (OPTIONS) is answered 204 with the path's methods and the request
# headers a page may send; an unknown path is still 404. In headless Chromium, a page on
# another origin fetches collection.json and reads its ETag.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server
UP=$(new_user up@example.org uploader)
tiny_dataset "$T/p" "cors"
zip_dir "$T/p" "$T/p.zip"
upload_reviewable "$UP" "$T/p.zip"
cors_ok() { # cors_ok WHAT: the last answer allows any origin and exposes ETag
  [ "$(header Access-Control-Allow-Origin)" = "*" ] || fail "$1: Access-Control-Allow-Origin '$(header Access-Control-Allow-Origin)'"
  header Access-Control-Expose-Headers | grep -q 'ETag' || fail "$1: ETag not exposed"
}
for p in /collection.json /id_map.json /all_versions_draft.json "/api/v1/resources/$ID/draft" /healthz; do
  req GET "$p" -H 'Origin: https://bioimage.io'; expect_status 200; cors_ok "$p"
done
req GET "/files/$ID/draft/files/rdf.yaml" -H 'Origin: https://bioimage.io'
case $STATUS in 200|302) ;; *) fail "/files answered $STATUS" ;; esac
cors_ok /files
req GET /api/v1/resources/no-such-thing -H 'Origin: https://bioimage.io'; expect_status 404; cors_ok "a problem"
# preflight
req OPTIONS "/api/v1/resources/$ID/draft/chat" -H 'Origin: https://bioimage.io' \
  -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization, content-type'
expect_status 204; cors_ok preflight
header Access-Control-Allow-Methods | grep -q 'POST' && header Access-Control-Allow-Methods | grep -q 'GET' ||
  fail "preflight methods: $(header Access-Control-Allow-Methods)"
header Access-Control-Allow-Headers | grep -qi 'authorization' && header Access-Control-Allow-Headers | grep -qi 'content-type' ||
  fail "preflight headers: $(header Access-Control-Allow-Headers)"
req OPTIONS /collection.json -H 'Origin: https://bioimage.io' -H 'Access-Control-Request-Method: GET'
expect_status 204
[ "$(header Access-Control-Allow-Methods)" = "GET, HEAD" ] || fail "collection.json preflight: $(header Access-Control-Allow-Methods)"
req OPTIONS /no/such/path -H 'Access-Control-Request-Method: GET'
expect_problem 404 not-found
# a real browser on another origin (a page served by python's http.server on another port)
PW=${BO_PLAYWRIGHT_CORE:-$BO_SOURCE_DIR/build/deps/npm/node_modules/playwright-core}
[ -f "$PW/package.json" ] && [ -x /usr/bin/chromium ] || fail "playwright-core or chromium missing (make deps-browser)"
OPORT=$(free_port)
mkdir -p "$T/www" && echo '<html><body>elsewhere</body></html>' >"$T/www/index.html"
(cd "$T/www" && exec /usr/bin/python3 -m http.server "$OPORT" --bind 127.0.0.1) >"$T/www.log" 2>&1 &
EXTRA_PIDS+=("$!")
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$OPORT/" >/dev/null 2>&1 && break; sleep 0.1; done
cat >"$T/cors.mjs" <<'JS'
import { createRequire } from 'node:module';
const { chromium } = createRequire(import.meta.url)(process.env.PLAYWRIGHT_CORE);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage();
  await page.goto(process.env.ORIGIN_URL);
  const got = await page.evaluate(async (base) => {
    const r = await fetch(`${base}/collection.json`);
    const j = await r.json();
    return { status: r.status, etag: r.headers.get('ETag'), entries: Array.isArray(j.collection) };
  }, process.env.BASE).catch((e) => ({ error: String(e) }));
  console.log(JSON.stringify(got));
  process.exit(got.status === 200 && got.etag && got.entries ? 0 : 1);
} finally {
  await browser.close();
}
JS
BASE=$BASE ORIGIN_URL=http://127.0.0.1:$OPORT/ PLAYWRIGHT_CORE=$PW CHROMIUM=/usr/bin/chromium HOME=$T \
  "${BO_NODE:-node}" "$T/cors.mjs" >"$T/browser.log" 2>&1 || { cat "$T/browser.log"; fail "a page on another origin could not read collection.json"; }
cat "$T/browser.log"
true

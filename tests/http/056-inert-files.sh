# Uploaded files served on our origin never run there: a package holding an SVG with a
# script, an HTML page and an XML file is staged; /files/ serves each with a sandboxed CSP
# without sources and nosniff, every type that is not plainly inert as an attachment, HTML
# as plain text, while images and text still display inline (with the same CSP); with
# files_url set, the API's file links point at that separate origin. The S3 backend
# redirects to the bucket (another origin) with a presigned URL that makes the bucket
# answer with our content type and the same attachment rule.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server
UP=$(new_user up@example.org uploader)
P=$T/p
tiny_dataset "$P" "inert files"
cat >"$P/evil.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg"><script>fetch('/api/v1/me')</script></svg>
SVG
echo '<html><script>alert(document.cookie)</script></html>' >"$P/page.html"
echo '<?xml version="1.0"?><x xmlns="http://www.w3.org/1999/xhtml"><script>1</script></x>' >"$P/data.xml"
echo '# readme' >"$P/README.md"
printf '\x89PNG\r\n\x1a\n' >"$P/pic.png"
zip_dir "$P" "$T/p.zip"
upload_reviewable "$UP" "$T/p.zip"
# file_headers F: the headers the client finally gets for F into $T/hdrs (on S3, after
# the redirect, which must leave our origin for the bucket)
file_headers() {
  req GET "/files/$ID/draft/files/$1"
  if [ "${BO_STORAGE:-fs}" = s3 ]; then
    expect_status 302
    local to; to=$(header Location)
    case $to in "$BASE"*|"") fail "$1: redirected to '$to', not to the bucket" ;; esac
    STATUS=$(curl -sS -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$to")
  fi
  expect_status 200
}
for f in evil.svg page.html data.xml README.md pic.png rdf.yaml; do
  file_headers "$f"
  if [ "${BO_STORAGE:-fs}" != s3 ]; then
    [ "$(header Content-Security-Policy)" = "sandbox; default-src 'none'" ] || fail "$f: CSP '$(header Content-Security-Policy)'"
    [ "$(header X-Content-Type-Options)" = nosniff ] || fail "$f: no nosniff"
  fi
  case $f in
    evil.svg|data.xml)
      header Content-Disposition | grep -q '^attachment' || fail "$f ($(header Content-Type)) is not an attachment" ;;
    *)
      [ -z "$(header Content-Disposition)" ] || fail "$f ($(header Content-Type)) should display inline" ;;
  esac
done
# the HTML page is not served as HTML at all: it shows as text
file_headers page.html; header Content-Type | grep -q '^text/plain' || fail "page.html as $(header Content-Type)"
grep -q '<script>alert' "$T/body" || fail "page.html: not its bytes"

# in Chromium: the SVG is a download, the HTML page's script never runs
PW=${BO_PLAYWRIGHT_CORE:-$BO_SOURCE_DIR/build/deps/npm/node_modules/playwright-core}
[ -f "$PW/package.json" ] && [ -x /usr/bin/chromium ] || fail "playwright-core or chromium missing (make deps-browser)"
BASE=$BASE ID=$ID PLAYWRIGHT_CORE=$PW CHROMIUM=/usr/bin/chromium HOME=$T \
  "${BO_NODE:-node}" "$BO_SOURCE_DIR/tests/browser/056-inert.mjs" >"$T/browser.log" 2>&1 &
NODE_PID=$!
EXTRA_PIDS+=("$NODE_PID")
wait "$NODE_PID" || { cat "$T/browser.log"; fail "uploaded files ran in the browser"; }
cat "$T/browser.log"

# a separate origin for user files: the API's file links point there
stop_server
BO_FILES_URL=https://files.example.org start_server
req GET "/api/v1/resources/$ID/draft"; expect_status 200
expect_jq '([.files[].url | startswith("https://files.example.org/'"$ID"'/draft/files/")] | all) and (.links.files | startswith("https://files.example.org/"))'

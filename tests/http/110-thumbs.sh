# Thumbnails in the stage job: local covers become PNG thumbnails within 600×340 under
# thumbnails/<path>.png (a package file of that name is never overwritten), recorded as
# draft files and mapped in the stamped RDF's config.bioimageio.thumbnails; an image that
# cannot be read is a warning event, not a failed upload.
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
start_server
UP=$(new_user sci@example.org uploader)

upload() { req POST /api/v1/uploads -H "$(auth "$UP")" -H 'Content-Type: application/zip' --data-binary @"$1"; }
copy_pkg() { rm -rf "$2"; mkdir -p "$2"; cp -r "$1/." "$2/"; chmod -R u+w "$2"; }
# png_make OUT W H: an RGB gradient PNG written with zlib only (no PIL here)
png_make() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import struct, sys, zlib
out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
row = lambda y: b"\0" + bytes((x * 255 // w, y * 255 // h, 128)[c] for x in range(w) for c in range(3))
raw = b"".join(row(y) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
with open(out, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
EOF
}
# png_size FILE: "W H" from the IHDR of a PNG, or fails when FILE is not a PNG
png_size() {
  /usr/bin/python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read(24)
if d[:8] != b"\x89PNG\r\n\x1a\n" or d[12:16] != b"IHDR":
    sys.exit("not a PNG: " + sys.argv[1])
print(*struct.unpack(">II", d[16:24]))
EOF
}

copy_pkg "$BO_SOURCE_DIR/tests/fixtures/packages/dataset-minimal" "$T/p"
mkdir -p "$T/p/images" "$T/p/thumbnails"
png_make "$T/p/images/cover.png" 2000 1000
png_make "$T/p/logo.png" 100 50
png_make "$T/p/icon.png" 500 400
printf 'this is not an image\n' >"$T/p/broken.png"
# the package's own file with the name our thumbnail of logo.png would get
printf 'a package file\n' >"$T/p/thumbnails/logo.png.png"
cat >>"$T/p/rdf.yaml" <<'EOF'
covers: [images/cover.png, broken.png, logo.png, "https://example.org/remote.png"]
icon: ./icon.png
config:
  bioimageio:
    thumbnails: {old.png: thumbnails/old.png.png}
    keep_me: 1
  other: kept
EOF
zip_dir "$T/p" "$T/p.zip"
upload "$T/p.zip"; expect_status 202
ID=$(jqb .id)
wait_state "$ID" "awaiting review"

req GET "/api/v1/resources/$ID/draft"
expect_status 200
# the thumbnails are files of the draft; broken.png got none; the package's file is kept
expect_jq '[.files[].path] | index("thumbnails/images/cover.png.png") != null'
expect_jq '[.files[].path] | index("thumbnails/logo.png.1.png") != null'
expect_jq '[.files[].path] | index("thumbnails/logo.png.png") != null'
expect_jq '[.files[].path | select(startswith("thumbnails/broken"))] == []'
expect_jq '[.files[] | select(.path == "thumbnails/images/cover.png.png") | .content_type] == ["image/png"]'
# the stamped RDF maps them, replacing the uploaded mapping and keeping the other keys
# (a URL cover is left alone; an icon file fits in 320×320)
expect_jq '.rdf.config.bioimageio.thumbnails == {"images/cover.png": "thumbnails/images/cover.png.png", "logo.png": "thumbnails/logo.png.1.png", "./icon.png": "thumbnails/icon.png.png"}'
expect_jq '.rdf.config.bioimageio.keep_me == 1 and .rdf.config.other == "kept"'
expect_jq '.rdf.covers == ["images/cover.png", "broken.png", "logo.png", "https://example.org/remote.png"] and .rdf.icon == "./icon.png"'
SHA=$(jqb '.files[] | select(.path == "thumbnails/images/cover.png.png") | .sha256')
SIZE=$(jqb '.files[] | select(.path == "thumbnails/images/cover.png.png") | .size')

# the objects in storage: PNGs within 600×340, never upscaled, as recorded
get_object "$ID/draft/files/thumbnails/images/cover.png.png" "$T/cover.thumb.png"
[ "$(png_size "$T/cover.thumb.png")" = "600 300" ] || fail "cover thumbnail is $(png_size "$T/cover.thumb.png"), want 600 300"
[ "$(sha256sum <"$T/cover.thumb.png" | cut -d' ' -f1)" = "$SHA" ] || fail "thumbnail sha256 differs from its files row"
[ "$(stat -c %s "$T/cover.thumb.png")" = "$SIZE" ] || fail "thumbnail size differs from its files row"
get_object "$ID/draft/files/thumbnails/logo.png.1.png" "$T/logo.thumb.png"
[ "$(png_size "$T/logo.thumb.png")" = "100 50" ] || fail "logo thumbnail is $(png_size "$T/logo.thumb.png"), want 100 50"
get_object "$ID/draft/files/thumbnails/icon.png.png" "$T/icon.thumb.png"
[ "$(png_size "$T/icon.thumb.png")" = "320 256" ] || fail "icon thumbnail is $(png_size "$T/icon.thumb.png"), want 320 256"
get_object "$ID/draft/files/thumbnails/logo.png.png" "$T/pkgfile"
[ "$(cat "$T/pkgfile")" = "a package file" ] || fail "the package's thumbnails/logo.png.png was overwritten"

# the stamped rdf.yaml in storage carries the mapping too
get_object "$ID/draft/files/rdf.yaml" "$T/rdf.yaml"
grep -q 'thumbnails/images/cover.png.png' "$T/rdf.yaml" || { cat "$T/rdf.yaml"; fail "rdf.yaml does not map the cover thumbnail"; }
grep -q 'old.png' "$T/rdf.yaml" && fail "rdf.yaml still has the uploaded thumbnail mapping"

# broken.png: one warning event naming it, and the upload went on
req GET "/api/v1/resources/$ID/draft/events"
expect_status 200
expect_jq '[.[] | select(.kind == "warning")] | length == 1'
expect_jq '[.[] | select(.kind == "warning")][0] | (.message | contains("broken.png")) and .details.image == "broken.png" and .details.field == "cover"'
echo "ok"

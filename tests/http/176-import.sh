# backoffice import (issue 17 part 2). A bucket in the reference's layout, built from real
# RDFs of ../shared/corpus/legacy-collection (concepts with two and three versions, a draft
# awaiting review, one with changes requested), is adopted in place: rows and the API match
# the objects, storage is not touched, a second run changes nothing, a dry run writes nothing,
# and a conflicting object is reported (exit 1) without overwriting its row. Then the legacy
# collection (collection.json + rdfs/) is imported and our collection.json is compared with
# the real one field by field (fs only: that part touches no storage but its own rebuild).
# storage: both
. "$BO_SOURCE_DIR/tests/lib/common.sh"
setup_env
mkdir -p "$BO_DATA_DIR"
"$BO_BIN" migrate >/dev/null
DB=$BO_DATA_DIR/backoffice.db
LEG=$CORPUS/legacy-collection
[ -f "$LEG/manifest.json" ] || fail "corpus not found at $LEG"

# --- a reference-layout bucket: <id>/versions.json, <id>/<v>/info.json, <id>/<v>/files/…,
# <id>/draft/draft.json, <id>/draft/files/…, collection.json
REF=$T/ref
python3 - "$LEG" "$REF" <<'PY'
import json, os, shutil, sys
leg, ref = sys.argv[1], sys.argv[2]
concepts = {  # id: ([corpus folders of its versions, oldest first], draft folder, draft status)
    "humorous-owl": (["10.5281__zenodo.5749843__5888237"], "10.5281__zenodo.5764892__6647674", "awaiting review"),
    "affable-shark": (["10.5281__zenodo.5764892__6647674"], None, None),
    "creative-panda": (["10.5281__zenodo.5817052__5850574", "10.5281__zenodo.5817052__5906839"], None, None),
    "hiding-tiger": (["10.5281__zenodo.5869899__5869900"], "10.5281__zenodo.5869899__6321179", "changes requested"),
    "powerful-chipmunk": (["10.5281__zenodo.5847355__6322908"], None, None),
    "kind-seashell": (["10.5281__zenodo.5874841__5874842"], None, None),
    "straightforward-crocodile": (["10.5281__zenodo.5910854__5911832", "10.5281__zenodo.5910854__6539073"], None, None),
    "discreet-rooster": (["10.5281__zenodo.5914248__5914249", "10.5281__zenodo.5914248__6514622",
                          "10.5281__zenodo.5914248__8186255"], None, None),
    "willing-hedgehog": ([], "10.5281__zenodo.6028280__6647695", "changes requested"),
}
def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else json.dumps(data, indent=2).encode())
for cid, (folders, draft, status) in concepts.items():
    versions = []
    cdoi = "10.5281/zenodo.%s" % (folders[0].split("__")[1].split(".")[1] if folders else "1")
    for i, f in enumerate(folders, 1):
        created = "2023-0%d-1%d 10:00:00.%06d" % (i, i, 123456 * i)
        doi = "10.5281/zenodo.%s" % f.split("__")[2]
        d = "%s/%s/%d" % (ref, cid, i)
        put(d + "/files/rdf.yaml", open(os.path.join(leg, f, "rdf.yaml"), "rb").read())
        put(d + "/files/README.md", ("# %s version %d\n" % (cid, i)).encode())
        put(d + "/info.json", {"created": created.replace(" ", "T"), "concept_doi": cdoi, "doi": doi, "download_count": 3})
        versions.append({"v": str(i), "created": created, "doi": doi})
    if folders:
        put("%s/%s/versions.json" % (ref, cid), {"concept_doi": cdoi, "versions": versions[::-1]})
    if draft:
        put("%s/%s/draft/files/rdf.yaml" % (ref, cid), open(os.path.join(leg, draft, "rdf.yaml"), "rb").read())
        put("%s/%s/draft/files/cover.png" % (ref, cid), b"\x89PNG not really")
        put("%s/%s/draft/draft.json" % (ref, cid), {"created": "2024-02-01T08:00:00",
            "status": {"name": status, "description": "status of %s" % cid, "step": 4, "timestamp": "2024-02-02T09:30:00+01:00"}})
put(ref + "/collection.json", {"collection": []})
put(ref + "/notes/readme.txt", b"not a concept")
PY
(cd "$REF" && find . -type f | sed 's|^\./||' | sort) >"$T/keys"
while read -r k; do "$BO_BIN" storage put "$k" "$REF/$k" >/dev/null; done <"$T/keys"
"$BO_BIN" storage ls >"$T/ls.before"
[ "$(wc -l <"$T/ls.before")" = "$(wc -l <"$T/keys")" ] || fail "storage ls lists $(wc -l <"$T/ls.before") keys, $(wc -l <"$T/keys") were put"
"$BO_BIN" storage ls humorous-owl/1/ | grep -q ' humorous-owl/1/files/rdf.yaml$' || fail "storage ls PREFIX"

dump() { sqlite3 "$DB" .dump | grep -v '^INSERT INTO jobs\|sqlite_sequence' ; }
count() { sqlite3 "$DB" "$1"; }

# --- a dry run writes nothing and says what it would do
dump >"$T/dump0"
"$BO_BIN" import storage --dry-run >"$T/dry.out" 2>"$T/dry.err" || { cat "$T/dry.out" "$T/dry.err"; fail "dry run failed"; }
grep -q '^(dry run) create version creative-panda/2 (2 files)$' "$T/dry.out" || { cat "$T/dry.out"; fail "dry run does not list the versions"; }
grep -q 'nothing was written' "$T/dry.out" || fail "dry run summary"
dump >"$T/dump1"
cmp -s "$T/dump0" "$T/dump1" || { diff "$T/dump0" "$T/dump1" | head; fail "the dry run wrote to the database"; }
[ "$(count 'SELECT count(*) FROM jobs')" = 0 ] || fail "the dry run queued a job"

# --- the import
"$BO_BIN" import storage >"$T/imp.out" 2>"$T/imp.err" || { cat "$T/imp.out" "$T/imp.err"; fail "import failed"; }
cat "$T/imp.out"
grep -q '^import: 10/10 concepts (24 created' "$T/imp.err" || fail "no progress on stderr"
# 9 concepts + 12 versions + 3 drafts
grep -q '^import: 24 created, 0 unchanged, 0 conflicts, 1 skipped (10 concepts); a collection rebuild is queued$' "$T/imp.out" ||
  fail "summary: $(tail -1 "$T/imp.out")"
grep -q '^skip notes/: not an id of ours' "$T/imp.out" || fail "the foreign prefix is not reported"
[ "$(count 'SELECT count(*) FROM concepts')" = 9 ] || fail "concepts"
[ "$(count "SELECT count(*) FROM versions WHERE state = 'published' AND source_url IS NULL")" = 12 ] || fail "versions"
[ "$(count "SELECT type || ' ' || created_at || ' ' || concept_doi || ' ' || revisions FROM concepts WHERE id = 'discreet-rooster'")" = \
  "model 2023-01-11T10:00:00.123Z 10.5281/zenodo.5914248 0" ] || fail "concept row: $(count "SELECT * FROM concepts WHERE id = 'discreet-rooster'")"
[ "$(count "SELECT created_at || ' ' || doi FROM versions WHERE concept_id = 'discreet-rooster' AND version = '3'")" = \
  "2023-03-13T10:00:00.370Z 10.5281/zenodo.8186255" ] || fail "version row"
for k in discreet-rooster/3/files/rdf.yaml creative-panda/1/files/README.md hiding-tiger/draft/files/cover.png; do
  id=${k%%/*}; rest=${k#*/}; v=${rest%%/*}; p=${rest#*/files/}
  want=$(sha256sum "$REF/$k" | cut -d' ' -f1); size=$(stat -c %s "$REF/$k")
  got=$(count "SELECT sha256 || ' ' || size FROM files WHERE concept_id = '$id' AND version_or_draft = '$v' AND path = '$p'")
  [ "$got" = "$want $size" ] || fail "files row of $k: '$got', want '$want $size'"
done
[ "$(count "SELECT rdf_sha256 FROM versions WHERE concept_id = 'affable-shark' AND version = '1'")" = \
  "$(sha256sum "$REF/affable-shark/1/files/rdf.yaml" | cut -d' ' -f1)" ] || fail "rdf_sha256"
[ "$(count "SELECT json_extract(rdf_json, '\$.id') || ' ' || json_extract(rdf_json, '\$.name') FROM versions WHERE concept_id = 'affable-shark'")" = \
  "affable-shark NucleiSegmentationBoundaryModel" ] || fail "rdf_json"
[ "$(count "SELECT state || '|' || state_detail || '|' || updated_at || '|' || revision FROM drafts WHERE concept_id = 'humorous-owl'")" = \
  "awaiting review|status of humorous-owl|2024-02-02T08:30:00Z|1" ] || fail "draft row: $(count "SELECT * FROM drafts WHERE concept_id = 'humorous-owl'")"
[ "$(count "SELECT state FROM drafts WHERE concept_id = 'hiding-tiger'")" = "changes requested" ] || fail "draft state"
[ "$(count "SELECT state FROM drafts WHERE concept_id = 'willing-hedgehog'")" = "changes requested" ] || fail "draft-only concept"
[ "$(count "SELECT count(*) FROM files WHERE version_or_draft = 'draft'")" = 6 ] || fail "draft files rows"
[ "$(count "SELECT count(*) FROM jobs WHERE kind = 'rebuild' AND state = 'queued'")" = 1 ] || fail "no rebuild queued"
# nothing in storage changed (same keys and sizes; on fs the same bytes)
"$BO_BIN" storage ls >"$T/ls.after"
cmp -s "$T/ls.before" "$T/ls.after" || { diff "$T/ls.before" "$T/ls.after"; fail "the import wrote to storage"; }
if [ "$BO_STORAGE" = fs ]; then
  (cd "$REF" && sha256sum $(cat "$T/keys")) >"$T/sums"
  (cd "$BO_DATA_DIR/storage" && sha256sum -c --quiet "$T/sums") || fail "objects changed on fs"
fi

# --- a second run changes nothing
dump >"$T/dump2"
"$BO_BIN" import storage >"$T/imp2.out" 2>/dev/null || { cat "$T/imp2.out"; fail "second import failed"; }
grep -q '^import: 0 created, 24 unchanged, 0 conflicts, 1 skipped (10 concepts)$' "$T/imp2.out" || fail "second run: $(tail -1 "$T/imp2.out")"
dump >"$T/dump3"
cmp -s "$T/dump2" "$T/dump3" || { diff "$T/dump2" "$T/dump3" | head; fail "the second import changed the database"; }

# --- the API and the collection see the adopted rows
start_server
for _ in $(seq 1 100); do
  [ "$(count "SELECT count(*) FROM jobs WHERE kind = 'rebuild' AND state = 'done'")" = 1 ] && break; sleep 0.1
done
req GET /api/v1/resources/discreet-rooster; expect_status 200
expect_jq '.type == "model" and .concept_doi == "10.5281/zenodo.5914248"'
req GET /api/v1/resources/discreet-rooster/versions/2; expect_status 200
req GET /api/v1/resources/humorous-owl/draft; expect_status 200
expect_jq '.state == "awaiting review"'
req GET /collection.json; expect_status 200
expect_jq '[.collection[].id] | sort == ["affable-shark","creative-panda","discreet-rooster","hiding-tiger","humorous-owl","kind-seashell","powerful-chipmunk","straightforward-crocodile"]'
expect_jq '(.collection[] | select(.id == "discreet-rooster") | .versions) == ["3","2","1"]'
expect_jq '(.collection[] | select(.id == "discreet-rooster") | .dois) == ["10.5281/zenodo.8186255","10.5281/zenodo.6514622","10.5281/zenodo.5914249"]'
get_object affable-shark/1/files/rdf.yaml "$T/served.yaml"
cmp -s "$T/served.yaml" "$REF/affable-shark/1/files/rdf.yaml" || fail "the adopted rdf.yaml is not served as it is"
stop_server
# the rebuild wrote our versions.json (same fields, plus yanked): an import of a bucket we
# wrote ourselves is a no-op too
"$BO_BIN" import storage >"$T/imp3.out" 2>/dev/null || { cat "$T/imp3.out"; fail "import after the rebuild failed"; }
grep -q '^import: 0 created, 24 unchanged, 0 conflicts' "$T/imp3.out" || fail "import of our own layout: $(tail -1 "$T/imp3.out")"

# --- a conflicting object: another rdf.yaml for an existing version
before=$(count "SELECT rdf_sha256 || rdf_json FROM versions WHERE concept_id = 'creative-panda' AND version = '1'")
cp "$LEG/10.5281__zenodo.5914248__5914249/rdf.yaml" "$T/other.yaml"
"$BO_BIN" storage put creative-panda/1/files/rdf.yaml "$T/other.yaml" >/dev/null
dump >"$T/dump4"
set +e; "$BO_BIN" import storage >"$T/imp4.out" 2>/dev/null; rc=$?; set -e
[ $rc = 1 ] || { cat "$T/imp4.out"; fail "a conflict exits $rc, not 1"; }
grep -q '^conflict: version creative-panda/1 has rdf_sha256 ' "$T/imp4.out" || { cat "$T/imp4.out"; fail "conflict not reported"; }
grep -q '^import: 0 created, 23 unchanged, 1 conflicts' "$T/imp4.out" || fail "summary: $(tail -1 "$T/imp4.out")"
[ "$(count "SELECT rdf_sha256 || rdf_json FROM versions WHERE concept_id = 'creative-panda' AND version = '1'")" = "$before" ] ||
  fail "the conflicting row was overwritten"
dump >"$T/dump5"
cmp -s "$T/dump4" "$T/dump5" || fail "a run with a conflict changed the database"
set +e; "$BO_BIN" import storage --dry-run >/dev/null 2>&1; rc=$?; set -e
[ $rc = 1 ] || fail "a dry run with a conflict exits $rc"
# usage
set +e; "$BO_BIN" import storage extra >/dev/null 2>&1; rc=$?; "$BO_BIN" import legacy >/dev/null 2>&1; rc2=$?; set -e
[ $rc = 2 ] && [ $rc2 = 2 ] || fail "usage errors exit $rc/$rc2"

# --- the legacy collection (fs: the import reads a directory and the rebuild writes fs storage)
[ "$BO_STORAGE" = fs ] || exit 0
REAL=$CORPUS/collection/collection-bioimage-io__gh-pages__collection.json
LD=$T/legacy
mkdir -p "$LD/rdfs"
cp "$REAL" "$LD/collection.json"
for d in "$LEG"/*/; do
  n=$(basename "$d"); p=$(echo "$n" | sed 's|__|/|g')
  mkdir -p "$LD/rdfs/$p" && cp "$d/rdf.yaml" "$LD/rdfs/$p/rdf.yaml"
done
export BO_DATA_DIR=$T/var2
mkdir -p "$BO_DATA_DIR"
"$BO_BIN" migrate >/dev/null
DB=$BO_DATA_DIR/backoffice.db
"$BO_BIN" import legacy "$LD" --dry-run >"$T/leg0.out" 2>/dev/null || { tail "$T/leg0.out"; fail "legacy dry run"; }
[ "$(count 'SELECT count(*) FROM concepts')" = 0 ] || fail "the legacy dry run wrote"
"$BO_BIN" import legacy "$LD" >"$T/leg.out" 2>"$T/leg.err" || { tail "$T/leg.out"; fail "legacy import failed"; }
tail -1 "$T/leg.out"
"$BO_BIN" import legacy "$LD" >"$T/leg2.out" 2>/dev/null || { tail "$T/leg2.out"; fail "second legacy import"; }
grep -q '^import: 0 created, ' "$T/leg2.out" || fail "second legacy import: $(tail -1 "$T/leg2.out")"
"$BO_BIN" jobs run >/dev/null
OURS=$BO_DATA_DIR/storage/collection.json
python3 - "$REAL" "$OURS" "$BO_DATA_DIR/storage/id_map.json" "$LD" "$T/agreement" <<'PY'
import json, os, sys
real = json.load(open(sys.argv[1]))["collection"]
ours = {e["id"]: e for e in json.load(open(sys.argv[2]))["collection"]}
idmap = json.load(open(sys.argv[3]))
ld = sys.argv[4]
by_src = {}
for e in ours.values():
    by_src[e["rdf_source"]] = e
def present(e):  # some version's rdf.yaml is in the corpus
    base = e["rdf_source"].split("/rdfs/")[1].rsplit("/", 2)[0]
    return any(os.path.exists("%s/rdfs/%s/%s/rdf.yaml" % (ld, base, v)) for v in e["versions"])
def listed_present(e):
    p = e["rdf_source"].split("/rdfs/")[1]
    return os.path.exists("%s/rdfs/%s" % (ld, p))
comparable = [e for e in real if present(e)]
print("real entries %d; with an RDF in the corpus %d (listed version present %d); without %d" % (
    len(real), len(comparable), sum(listed_present(e) for e in comparable), len(real) - len(comparable)))
def compare(entries):
  agree = {k: 0 for k in ["ids", "names", "types", "versions", "DOIs", "tags", "authors"]}
  diffs = []
  for r in entries:
      # our entry: by the legacy id through id_map.json (its source is our listed rdf.yaml)
      m = idmap.get(r["id"])
      o = by_src.get(m["source"]) if m else None
      if not o:
          diffs.append("%s: not in our collection" % r["id"]); continue
      want_id = r.get("nickname")
      if (want_id and o["id"] == want_id) or (not want_id and m):
          agree["ids"] += 1
      else:
          diffs.append("%s: id %s, nickname %s" % (r["id"], o["id"], want_id))
      if o["name"] == r["name"]: agree["names"] += 1
      else: diffs.append("%s: name %r, real %r" % (r["id"], o["name"], r["name"]))
      agree["types"] += o["type"] == r["type"]
      rv = [v for v in r["versions"] if os.path.exists("%s/rdfs/%s/%s/rdf.yaml" % (ld, r["rdf_source"].split("/rdfs/")[1].rsplit("/", 2)[0], v))]
      if o["versions"] == rv: agree["versions"] += 1
      else: diffs.append("%s: versions %s, real %s (present %s)" % (r["id"], o["versions"], r["versions"], rv))
      zen = r["id"].startswith("10.5281/zenodo.")
      want_dois = ["10.5281/zenodo.%s" % v for v in rv] if zen else [None] * len(rv)
      if o.get("concept_doi") == (r["id"] if zen else None) and o["dois"] == want_dois: agree["DOIs"] += 1
      else: diffs.append("%s: concept_doi %s dois %s" % (r["id"], o.get("concept_doi"), o["dois"]))
      if sorted(set(o["tags"])) == sorted(set(r["tags"])): agree["tags"] += 1
      else: diffs.append("%s: tags only ours %s, only real %s" % (r["id"], sorted(set(o["tags"]) - set(r["tags"])), sorted(set(r["tags"]) - set(o["tags"]))))
      ka = lambda a: [{k: x[k] for k in ("name", "affiliation", "orcid") if x.get(k)} for x in a]
      if ka(o.get("authors", [])) == ka(r.get("authors", [])): agree["authors"] += 1
      else: diffs.append("%s: authors %s, real %s" % (r["id"], ka(o.get("authors", [])), ka(r.get("authors", []))))
  return agree, diffs
result = {}
for label, entries in (("entries with an RDF in the corpus", comparable),
                       ("entries whose listed version is in the corpus", [e for e in comparable if listed_present(e)])):
    agree, diffs = compare(entries)
    n = len(entries)
    print("agreement over %d %s: %s" % (n, label, ", ".join("%s %d/%d" % (k, v, n) for k, v in agree.items())))
    for d in diffs: print("  " + d)
    result[label.split()[1]] = {"n": n, "agree": agree}
json.dump(result, open(sys.argv[5], "w"))
PY
# where our listed version is the real one, every field agrees; the other entries differ only
# where the older version we list differs (README "Importing an existing collection")
python3 - "$T/agreement" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
full, some = a["whose"], a["with"]
assert full["n"] >= 85 and some["n"] >= 94, a
assert all(v == full["n"] for v in full["agree"].values()), full
for k in ("ids", "types", "versions", "DOIs"):
    assert some["agree"][k] == some["n"], (k, some)
PY
# legacy ids resolve through id_map.json, and a relative cover resolves under the legacy URL
jq -e '."ilastik/ilastik".source | startswith("https://bioimage-io.github.io/collection-bioimage-io/rdfs/ilastik/ilastik/latest/rdf.yaml")' \
  "$BO_DATA_DIR/storage/id_map.json" >/dev/null || fail "ilastik/ilastik is not an alias in id_map.json"
jq -e '.collection[] | select(.id == "affable-shark") | .root_url == "https://bioimage-io.github.io/collection-bioimage-io/rdfs/10.5281/zenodo.5764892/6647674"' \
  "$OURS" >/dev/null || fail "root_url of a legacy version"
echo "import: ok"

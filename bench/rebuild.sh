#!/usr/bin/env bash
# bench/rebuild.sh: collection rebuild from the database at scale. A fresh database gets
# 10,000 synthetic concepts x 3 published versions (realistic ~1 KB RDFs, authors, tags,
# covers with thumbnails, DOIs), each version's rdf.yaml in storage (the history holds the
# listed ones). Measured in one process, as the server's rebuild job runs:
#  - full: the first rebuild (cold memo, every file written, first history commit);
#  - full again in a new process (cold memo; storage already holds the same bytes);
#  - incremental: after one more publish (one new version row), the next rebuild in the
#    same process (warm memo: only that concept is re-rendered, only changed files written).
# Every time is the whole collection_rebuild call: build (database scan and rendering),
# write (index files written atomically without an fsync each) + one storage_sync, and,
# on a second thread while the files are written, the ETag digests and the git history
# commit (its time is in the total, and also printed on its own).
# Goals: full < 1 s, incremental < 50 ms.
# Usage: [RDFS=0] bench/rebuild.sh [CONCEPTS]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-10000}
BUILD=${BUILD:-build/rel}
make -s BUILD="$BUILD" "$BUILD/libbo.a" "$BUILD/backoffice" >/dev/null
W=$(mktemp -d /tmp/bo-bench-rebuild-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
export BO_DATA_DIR=$W/var BO_MIGRATIONS_DIR=$ROOT/migrations BO_SCHEMA_DIR=$ROOT/schema
export BO_PUBLIC_URL=https://bo.example.org BO_LOG_LEVEL=warn
mkdir -p "$BO_DATA_DIR"
"$ROOT/$BUILD/backoffice" migrate >/dev/null

# the driver: times collection_rebuild in one process, before and after one publish
cat >"$W/driver.c" <<'C'
#include "app.h"
#include "collection.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>
static double ms(struct timespec a, struct timespec b)
{
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}
int main(int argc, char **argv)
{
	struct bo_error err = BO_ERROR_INIT;
	struct config *cfg = NULL;
	struct app *a = NULL;
	struct timespec t0, t1, t2, t3;
	char *none[] = {NULL};
	(void)argc;
	if (config_load(&cfg, 0, none, NULL, NULL, &err) || app_open(&a, cfg, 0, &err))
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (collection_rebuild(a, "bench full", &err))
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (argv[1] && argv[1][0] == 'i') {
		sqlite3 *c = NULL;
		if (db_acquire(a->db, &c, &err) ||
		    db_exec(c, "INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, "
			       "published_at) SELECT concept_id, (SELECT printf('%d', count(*)) FROM versions), 'published', rdf_json, 'new', "
			       "'2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z' FROM versions "
			       "WHERE concept_id = (SELECT min(id) FROM concepts) AND version = '3'", &err))
			goto fail;
		db_release(a->db, c);
		clock_gettime(CLOCK_MONOTONIC, &t2);
		if (collection_rebuild(a, "bench publish", &err))
			goto fail;
		clock_gettime(CLOCK_MONOTONIC, &t3);
		printf("full %.1f ms\nincremental %.1f ms\n", ms(t0, t1), ms(t2, t3));
	} else {
		printf("full %.1f ms\n", ms(t0, t1));
	}
	app_close(a);
	config_free(cfg);
	return 0;
fail:
	fprintf(stderr, "driver: %s\n", err.detail);
	return 1;
}
C
cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$ROOT/server" $(pkg-config --cflags libcjson sqlite3) -o "$W/driver" "$W/driver.c" \
	"$ROOT/$BUILD/libbo.a" $(pkg-config --libs libmicrohttpd libcurl yaml-0.1 libcjson libzip openssl sqlite3 libgit2 vips) \
	-lpthread -lm

echo "inserting $N concepts x 3 versions..."
sqlite3 "$BO_DATA_DIR/backoffice.db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
INSERT INTO users(id, name, email, role, created_at) VALUES (1, 'Bench User', 'bench@example.org', 'uploader', '2025-01-01T00:00:00.000Z');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO concepts(id, type, created_at, created_by, concept_doi)
SELECT printf('concept-%05d', i), CASE i % 4 WHEN 0 THEN 'model' WHEN 1 THEN 'dataset' WHEN 2 THEN 'notebook' ELSE 'application' END,
       printf('2025-01-01T00:00:%02d.000Z', i % 60), 1, printf('10.5281/zenodo.%d', 1000000 + i) FROM n;
WITH RECURSIVE v(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM v WHERE j < 3)
INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at, doi)
SELECT c.id, v.j, 'published',
  json_object('id', c.id, 'id_emoji', '🦈', 'type', c.type, 'format_version', '0.5.3', 'name', 'Synthetic ' || c.id,
    'description', 'A synthetic resource for the rebuild benchmark, version ' || v.j || ', with a description of realistic length.',
    'version', '' || v.j, 'license', 'CC-BY-4.0',
    'authors', json_array(json_object('name', 'Ann Author', 'affiliation', 'EMBL', 'orcid', '0000-0002-1825-0097'),
                          json_object('name', 'Bob Builder', 'affiliation', 'KTH', 'email', 'bob@example.org')),
    'maintainers', json_array(json_object('name', 'Ann Author', 'github_user', 'ann')),
    'tags', json_array('unet', 'segmentation', '2d', 'fluorescence-light-microscopy', 'nuclei', 'pytorch'),
    'covers', json_array('cover.png', 'cover2.png'), 'documentation', 'README.md',
    'cite', json_array(json_object('text', 'Author et al. 2024', 'doi', '10.1000/xyz')),
    'links', json_array('ilastik/ilastik', 'deepimagej/deepimagej'),
    'config', json_object('bioimageio', json_object('thumbnails', json_object('cover.png', 'cover.thumbnail.png', 'cover2.png', 'cover2.thumbnail.png')))),
  lower(hex(randomblob(32))), printf('2025-02-%02dT00:00:00.000Z', v.j), printf('2025-02-%02dT00:00:00.000Z', v.j),
  printf('10.5281/zenodo.%d', 2000000 + v.j * 100000 + substr(c.id, 9))
FROM concepts c, v;
COMMIT;
SQL
# every version's rdf.yaml in storage, as publish leaves it: the history commits them
# (RDFS=0 leaves them out, as this benchmark did before: history then commits no RDF)
S=$BO_DATA_DIR/storage
if [ "${RDFS:-1}" != 0 ]; then
	sqlite3 "$BO_DATA_DIR/backoffice.db" "SELECT '$S/' || concept_id || '/' || version || '/files' FROM versions" |
		xargs mkdir -p
	sqlite3 -separator $'\t' "$BO_DATA_DIR/backoffice.db" \
		"SELECT '$S/' || concept_id || '/' || version || '/files/rdf.yaml', rdf_json FROM versions" |
		awk -F'\t' '{ print $2 > $1; close($1) }'
fi
echo "database: $(du -h "$BO_DATA_DIR/backoffice.db" | cut -f1)"
out1=$(BO_LOG_LEVEL=info "$W/driver" incremental 2>"$W/log1")
out2=$(BO_LOG_LEVEL=info "$W/driver" full 2>"$W/log2")
full=$(echo "$out1" | awk '/^full/ {print $2}')
incr=$(echo "$out1" | awk '/^incremental/ {print $2}')
full2=$(echo "$out2" | awk '/^full/ {print $2}')
size=$(stat -c %s "$BO_DATA_DIR/storage/collection.json")
echo "collection.json: $size bytes, $(jq '.collection | length' "$BO_DATA_DIR/storage/collection.json") entries"
printf 'full rebuild (first, writes everything):        %8.1f ms  (goal < 1000 ms)\n' "$full"
printf 'full rebuild (new process, nothing changed):    %8.1f ms  (goal < 1000 ms)\n' "$full2"
printf 'incremental rebuild after one publish:          %8.1f ms  (goal < 50 ms)\n' "$incr"
echo "splits (from the server's log lines):"
phase() { grep -h 'collection rebuilt' "$1" | sed -n "$2p" | sed 's/^.*collection rebuilt in [0-9.]* ms (//; s/):.*//'; }
echo "  first full:      $(phase "$W/log1" 1)"
echo "  nothing changed: $(phase "$W/log2" 1)"
echo "  incremental:     $(phase "$W/log1" 2)"

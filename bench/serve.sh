#!/usr/bin/env bash
# bench/serve.sh: GET /collection.json under load — our server (from its in-memory copy,
# with ETag) against nginx serving the same bytes from a file, both on loopback, in the
# same run, measured with `wrk` (64 connections). Prints requests/s of each and the ratio.
# Goal: ours / nginx >= 0.5. Installs wrk and nginx with apt-get when missing (Debian, root).
# Usage: bench/serve.sh [CONCEPTS] [SECONDS]   (defaults 200 — about the size of the real
# index — and 10)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-200}
SECS=${2:-10}
BUILD=${BUILD:-build/rel}
BIN=$ROOT/$BUILD/backoffice
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
	apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
make -s BUILD="$BUILD" "$BUILD/backoffice" >/dev/null
W=$(mktemp -d /tmp/bo-bench-serve-XXXXXX)
SPID= NPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

export BO_DATA_DIR=$W/var BO_MIGRATIONS_DIR=$ROOT/migrations BO_SCHEMA_DIR=$ROOT/schema BO_STATIC_DIR=$ROOT/static
export BO_LOG_LEVEL=warn BO_LISTEN=127.0.0.1
BO_PORT=$(free_port)
export BO_PORT
mkdir -p "$BO_DATA_DIR"
"$BIN" migrate >/dev/null
sqlite3 "$BO_DATA_DIR/backoffice.db" <<SQL
BEGIN;
INSERT INTO users(id, name, email, role, created_at) VALUES (1, 'Bench User', 'bench@example.org', 'uploader', '2025-01-01T00:00:00.000Z');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO concepts(id, type, created_at, created_by) SELECT printf('concept-%05d', i), 'model', '2025-01-01T00:00:00.000Z', 1 FROM n;
INSERT INTO versions(concept_id, version, state, rdf_json, rdf_sha256, created_at, published_at)
SELECT id, '1', 'published', json_object('id', id, 'id_emoji', '🦈', 'name', 'Synthetic ' || id,
  'description', 'A synthetic model for the serving benchmark, with a description of realistic length.',
  'authors', json_array(json_object('name', 'Ann Author', 'affiliation', 'EMBL')), 'license', 'CC-BY-4.0',
  'tags', json_array('unet', 'segmentation', '2d', 'nuclei'), 'covers', json_array('cover.png')),
  lower(hex(randomblob(32))), '2025-02-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z' FROM concepts;
COMMIT;
SQL
"$BIN" rebuild >/dev/null 2>&1

# ours (job runners off: nothing else competes for the CPU)
BO_JOB_RUNNERS=0 "$BIN" serve >"$W/server.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$BO_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$BO_PORT/collection.json" -o "$W/ours.json" ||
	{ echo "our server did not serve collection.json; its log:" >&2; tail -20 "$W/server.log" >&2; exit 1; }

# nginx on the same bytes
NPORT=$(free_port)
mkdir -p "$W/www" "$W/nginx"
cp "$W/ours.json" "$W/www/collection.json"
# nginx workers run as an unprivileged user when started as root
chmod a+rx "$W" "$W/www"
chmod a+r "$W/www/collection.json"
cat >"$W/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/json json; }
  client_body_temp_path $W/nginx/body;
  proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi;
  uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server {
    listen 127.0.0.1:$NPORT;
    root $W/www;
    etag on;
    add_header Cache-Control "public, max-age=60";
  }
}
CONF
"$NGINX" -c "$W/nginx/nginx.conf" -p "$W/nginx" &
NPID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$NPORT/collection.json" -o /dev/null 2>/dev/null && break; sleep 0.1; done
cmp -s "$W/ours.json" <(curl -fsS "http://127.0.0.1:$NPORT/collection.json") || { echo "nginx serves other bytes" >&2; exit 1; }

size=$(stat -c %s "$W/ours.json")
rps() { wrk -t2 -c64 -d"${SECS}s" --latency "$1" | tee -a "$W/wrk.log" | awk '/^Requests\/sec/ {print $2}'; }
echo "collection.json: $size bytes ($N concepts); wrk -t2 -c64 -d${SECS}s"
ours=$(rps "http://127.0.0.1:$BO_PORT/collection.json")
ng=$(rps "http://127.0.0.1:$NPORT/collection.json")
ours304=$(wrk -t2 -c64 -d"${SECS}s" -H "If-None-Match: $(curl -fsSI "http://127.0.0.1:$BO_PORT/collection.json" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')" \
	"http://127.0.0.1:$BO_PORT/collection.json" | awk '/^Requests\/sec/ {print $2}')
printf 'ours:  %10.0f req/s\nnginx: %10.0f req/s\nratio: %10.2f  (goal >= 0.5)\nours, If-None-Match (304): %.0f req/s\n' \
	"$ours" "$ng" "$(awk -v a="$ours" -v b="$ng" 'BEGIN { print a / b }')" "$ours304"

#!/usr/bin/env bash
# The layers of the source tree (README "What is here"), checked: each file includes only
# its own layer or lower ones, every project include names its folder, and nothing in
# server/http/ talks SQL (the routes ask a module that owns the table). Prints each
# offence as file:line and exits 1 if there is any. $1: the tree (default: this one).
set -uo pipefail
cd "${1:-$(dirname "$0")/../..}"

# rank of a folder; the composition root (app.c, main.c, offline.c) is on top. app.h
# only declares the server context (pointers to opaque modules) that jobs and handlers
# receive, so any server module may include it.
rank() {
  case "$1" in
    common) echo 0 ;; infra) echo 1 ;; check) echo 2 ;; domain) echo 3 ;;
    pipeline) echo 4 ;; http) echo 5 ;; top) echo 6 ;; *) echo -1 ;;
  esac
}
layer_of_file() {
  case "$1" in
    common/*) echo common ;;
    server/*/*) d=${1#server/}; echo "${d%%/*}" ;;
    server/*) echo top ;;
    workers/*) echo workers ;;
  esac
}

bad=0
offence() { echo "$1: $2"; bad=1; }

files=$(ls common/*.[ch] server/*.[ch] server/*/*.[ch] workers/*.c workers/*.h workers/*.cpp 2>/dev/null)
[ -n "$files" ] || { echo "no sources found"; exit 1; }
for f in $files; do
  layer=$(layer_of_file "$f")
  [ "$(rank "$layer")" = -1 ] && [ "$layer" != workers ] && { offence "$f" "not in a layer folder"; continue; }
  while IFS=: read -r line inc; do
    inc=${inc#*\"}; inc=${inc%%\"*}
    case "$inc" in
      */*) target=${inc%%/*} ;;
      *)
        if [ "$layer" = workers ] && [ -f "workers/$inc" ]; then continue; fi
        if [ "$inc" = app.h ] && [ "$layer" != common ] && [ "$layer" != workers ]; then continue; fi
        if [ "$layer" = top ] && [ -f "server/$inc" ]; then continue; fi
        offence "$f:$line" "\"$inc\": a project include names its folder (\"common/…\", \"infra/…\", …)"
        continue ;;
    esac
    [ -f "$inc" ] || [ -f "server/$inc" ] || { offence "$f:$line" "\"$inc\" is not a file of the tree"; continue; }
    if [ "$layer" = workers ]; then
      [ "$target" = common ] || offence "$f:$line" "the worker shares common/ only, not \"$inc\""
      continue
    fi
    if [ "$(rank "$target")" -gt "$(rank "$layer")" ]; then
      offence "$f:$line" "$layer includes the upper layer $target (\"$inc\")"
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done

# the HTTP layer never prepares SQL
while IFS= read -r hit; do
  offence "${hit%%:*}:$(echo "$hit" | cut -d: -f2)" "SQL in the HTTP layer: $(echo "$hit" | cut -d: -f3- | sed 's/^[[:space:]]*//' | cut -c1-80)"
done < <(grep -nE '\b(db_prepare|sqlite3_prepare(_v2|_v3)?|sqlite3_exec)\b' server/http/*.c 2>/dev/null)

[ "$bad" -eq 0 ] && echo "layers: $(echo "$files" | wc -w) files, every include points down or sideways"
exit "$bad"

#!/usr/bin/env bash
# bench/validate.sh: static validation of every corpus RDF (rdf/valid and rdf/invalid) with
# `backoffice validate` (IO checks on: files, sha256, .npy headers), measured two ways, each
# against `cat` reading the same RDF files the same way (the I/O floor):
#  - batch: the whole corpus in one process (`backoffice validate F1 F2 ...` vs `cat F1 F2 ...`);
#  - single: one process per RDF, as an uploader runs it (includes process start).
# Prints RDFs per second, the ratios to cat, and the slowest single RDF.
# Goals: the whole corpus under 0.5 s; any one RDF under 20 ms.
# Usage: bench/validate.sh [ROUNDS]   (default 5; the best round of each is reported)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-5}
BIN=$ROOT/${BUILD:-build/rel}/backoffice
CORPUS=${BO_CORPUS_DIR:-$ROOT/../shared/corpus}
[ -x "$BIN" ] || { echo "build first: make" >&2; exit 2; }
[ -f "$CORPUS/manifest.json" ] || { echo "no corpus at $CORPUS" >&2; exit 2; }
mapfile -t FILES < <(jq -r '.[] | select(.kind == "rdf/valid" or .kind == "rdf/invalid") | "\(.path)/\(.rdf_file)"' \
	"$CORPUS/manifest.json" | sed "s|^|$CORPUS/|")
N=${#FILES[@]}
now() { date +%s.%N; }
best_validate=999 best_cat=999 best_batch=999 best_batch_cat=999 slowest=0 slowest_file=
for ((r = 0; r < ROUNDS; r++)); do
	t0=$(now)
	for f in "${FILES[@]}"; do
		s=$(now)
		"$BIN" validate "$f" >/dev/null 2>&1 || true
		e=$(now)
		d=$(echo "$e - $s" | bc)
		if [ "$r" -eq $((ROUNDS - 1)) ] && (($(echo "$d > $slowest" | bc))); then slowest=$d slowest_file=$f; fi
	done
	t1=$(now)
	for f in "${FILES[@]}"; do cat "$f" >/dev/null; done
	t2=$(now)
	"$BIN" validate "${FILES[@]}" >/dev/null 2>&1 || true
	t3=$(now)
	cat "${FILES[@]}" >/dev/null
	t4=$(now)
	tb=$(echo "$t3 - $t2" | bc) tbc=$(echo "$t4 - $t3" | bc)
	(($(echo "$tb < $best_batch" | bc))) && best_batch=$tb
	(($(echo "$tbc < $best_batch_cat" | bc))) && best_batch_cat=$tbc
	tv=$(echo "$t1 - $t0" | bc) tc=$(echo "$t2 - $t1" | bc)
	(($(echo "$tv < $best_validate" | bc))) && best_validate=$tv
	(($(echo "$tc < $best_cat" | bc))) && best_cat=$tc
done
# The loop's own timing calls are in both columns; they are small next to a process start.
printf 'corpus: %d RDFs, best of %d rounds\n' "$N" "$ROUNDS"
printf 'batch  (one process):  validate %.3f s, %.0f RDFs/s (goal: under 0.5 s); cat %.4f s; ratio %.1f\n' \
	"$best_batch" "$(echo "$N / $best_batch" | bc -l)" "$best_batch_cat" "$(echo "$best_batch / $best_batch_cat" | bc -l)"
printf 'single (one per RDF):  validate %.3f s, %.0f RDFs/s; cat %.3f s; ratio %.1f\n' \
	"$best_validate" "$(echo "$N / $best_validate" | bc -l)" "$best_cat" "$(echo "$best_validate / $best_cat" | bc -l)"
printf 'slowest single RDF:  %.1f ms (%s) (goal: under 20 ms)\n' "$(echo "$slowest * 1000" | bc -l)" "${slowest_file#$CORPUS/}"

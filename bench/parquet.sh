#!/usr/bin/env bash
# parquet.sh: decode throughput of our Parquet reader on a wide file shaped
# like the release's feature files (ROWS x COLS DOUBLE columns + an int64
# user_index), written by DuckDB (npm @duckdb/node-api, installed into the
# gitignored bench/.cache/duckdb). Runs DuckDB (1 thread, SUM over every
# column) and `coldstart parquet-dump --count` (1 core, decode every column
# chunk and walk every row) on the same file; medians of RUNS runs after one
# warm-up; writes bench/results/parquet.md.
#   ROWS=100000 COLS=2579 RUNS=3 bench/parquet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000}
COLS=${COLS:-2579}
RUNS=${RUNS:-3}
CACHE=bench/.cache
NODE_DIR=$CACHE/duckdb
FILE=$PWD/$CACHE/wide_${ROWS}x${COLS}.parquet
OUT=bench/results/parquet.md

if [ ! -d "$NODE_DIR/node_modules/@duckdb/node-api" ]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --silent @duckdb/node-api)
fi
cp bench/parquet.mjs "$NODE_DIR/parquet.mjs"
make -s build/coldstart

if [ ! -f "$FILE" ]; then
  echo "generating $FILE ($ROWS x $COLS doubles)..." >&2
  t0=$(date +%s.%N)
  (cd "$NODE_DIR" && node parquet.mjs gen "$FILE.tmp" "$ROWS" "$COLS")
  mv "$FILE.tmp" "$FILE"
  echo "generated in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s" >&2
fi
size=$(stat -c %s "$FILE")
mb=$(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}')
build/coldstart parquet-schema "$FILE" | sed -n '/^row group 0/,+3p' >&2

median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# warm-up (page cache) then timed runs
cat "$FILE" >/dev/null
ours=()
for r in $(seq 0 "$RUNS"); do
  line=$(taskset -c 0 build/coldstart parquet-dump --count "$FILE")
  s=$(echo "$line" | awk '{for(i=1;i<=NF;i++) if($i=="seconds") print $(i+1)}')
  [ "$r" -gt 0 ] && ours+=("$s")
  echo "ours run $r: $line" >&2
done
duck=()
for r in $(seq 0 "$RUNS"); do
  s=$(cd "$NODE_DIR" && taskset -c 0 node parquet.mjs read "$FILE" "$COLS")
  [ "$r" -gt 0 ] && duck+=("$s")
  echo "duckdb run $r: ${s}s" >&2
done
ours_med=$(printf '%s\n' "${ours[@]}" | median)
duck_med=$(printf '%s\n' "${duck[@]}" | median)
ours_mbs=$(awk -v m="$mb" -v s="$ours_med" 'BEGIN{printf "%.0f", m/s}')
duck_mbs=$(awk -v m="$mb" -v s="$duck_med" 'BEGIN{printf "%.0f", m/s}')
ratio=$(awk -v a="$duck_med" -v b="$ours_med" 'BEGIN{printf "%.2f", a/b}')
codec=$(build/coldstart parquet-schema "$FILE" | awk '/^  f0 /{print $3; exit}')
cpu=$(lscpu | grep 'Model name' | sed 's/.*: *//')

mkdir -p bench/results
cat > "$OUT" <<MD
# Parquet decode throughput

Machine: $cpu (2 shared cores; other helpers' jobs may have been running).
Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Both pinned to one core (taskset -c 0).

File: $ROWS rows x $COLS DOUBLE columns + int64 user_index, written by DuckDB
(@duckdb/node-api, defaults: codec $codec, one row group per 122880 rows),
$mb MB. File in page cache (warm-up read first); medians of $RUNS runs after
one warm-up run.

| reader | what it does | median s | MB/s of file |
|---|---|---:|---:|
| coldstart parquet-dump --count | decode every column chunk (pages, levels, values), walk every row | $ours_med | $ours_mbs |
| DuckDB (1 thread) | SELECT sum() over every column | $duck_med | $duck_mbs |

Ratio DuckDB time / ours: $ratio (target for ours: >= 300 MB/s on one core).
MD
cat "$OUT"

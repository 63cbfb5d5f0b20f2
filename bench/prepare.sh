#!/usr/bin/env bash
# prepare.sh: times `coldstart prepare` per stage at deezer scale (synthetic
# world, 50k songs, 60k warm + 100k cold users, ~18M events), TT-SVD d=128
# (median of RUNS runs) and UT-ALS d=256 (one run), the online featurizer in
# microseconds per user, and reading events.tsv next to plain Unix tools
# reading the same bytes (cat, wc -l, awk summing a column) as reference
# points. Writes bench/results/prepare.md.
# usage: bench/prepare.sh   (RUNS=3 MF=1 ALS_ITERS=5 by default; SKIP_SVD=1
# reuses the TT-SVD runs already in bench/.cache/prepare)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
MF=${MF:-1}
SKIP_SVD=${SKIP_SVD:-0}
ALS_ITERS=${ALS_ITERS:-5}
CACHE=bench/.cache/prepare
LOGS=$CACHE/deezer_logs
OUT=bench/results/prepare.md
mkdir -p "$CACHE" bench/results
make -j2 build/coldstart build/libcoldstart.a >/dev/null
if [ ! -f "$LOGS/events.tsv" ]; then
  echo "synth deezer world -> $LOGS" >&2
  build/coldstart synth --scale deezer --seed 1 --out "$LOGS" --force --quiet
fi
EVENTS_MB=$(awk -v b="$(stat -c %s "$LOGS/events.tsv")" 'BEGIN{printf "%.1f", b/1e6}')

median() { sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# stage seconds from the summary line "seconds: read X, cohort Y, ..."
stage() { grep "seconds: read" "$1" | tr ',' '\n' | sed 's/.*seconds: //' |
  awk -v s="$2" '$1 == s {print $2}'; }
STAGES="read cohort cf_data embed targets featurizer features save"

run_prepare() { # tag space dim [more flags]
  local tag=$1 space=$2 dim=$3
  shift 3
  /usr/bin/time -f "%e %M" -o "$CACHE/$tag.time" \
    build/coldstart prepare --logs "$LOGS" --space "$space" --dim "$dim" \
    --seed 1 --out "$CACHE/$tag.ds" "$@" 2>"$CACHE/$tag.err" ||
    { cat "$CACHE/$tag.err"; exit 1; }
}

if [ "$SKIP_SVD" != 1 ]; then
  for i in $(seq 1 "$RUNS"); do
    echo "prepare svd d=128, run $i/$RUNS" >&2
    run_prepare "svd_$i" svd 128
  done
fi
if [ "$MF" = 1 ]; then
  echo "prepare mf d=256, $ALS_ITERS ALS iterations" >&2
  run_prepare mf_1 mf 256 --als-iters "$ALS_ITERS"
fi

# reference points: the same bytes through plain tools (page cache warm)
ref() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'; }
cat "$LOGS/events.tsv" >/dev/null
T_CAT=$(ref cat "$LOGS/events.tsv")
T_WC=$(ref wc -l "$LOGS/events.tsv")
T_AWK=$(ref awk -F'\t' '{s += $5} END {print s}' "$LOGS/events.tsv")

# the online featurizer
make --no-print-directory build/bench/featurize_bench >/dev/null
FEAT=$(build/bench/featurize_bench "$CACHE/svd_1.ds" "$LOGS")

{
  echo "# prepare at deezer scale"
  echo
  echo "Machine: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) cores;" \
    "date $(date -u +%Y-%m-%dT%H:%MZ). Other helpers' benchmarks and tests were" \
    "running at the same time (load average $(cut -d' ' -f1-3 /proc/loadavg)), so" \
    "wall-clock seconds are pessimistic; medians of $RUNS runs for TT-SVD."
  echo
  echo "World: \`coldstart synth --scale deezer --seed 1\`: $(head -c 300 "$LOGS/world.json" >/dev/null; wc -l <"$LOGS/catalog.tsv") catalog lines," \
    "$(wc -l <"$LOGS/users.tsv") user lines, events.tsv $EVENTS_MB MB."
  echo
  echo "## Seconds per stage"
  echo
  printf "| stage |"; for s in $STAGES; do printf " %s |" "$s"; done; echo " total (wall) | peak RSS |"
  printf "| --- |"; for s in $STAGES; do printf " ---: |"; done; echo " ---: | ---: |"
  printf "| TT-SVD d=128 (median) |"
  for s in $STAGES; do
    printf " %s |" "$(for i in $(seq 1 "$RUNS"); do stage "$CACHE/svd_$i.err" "$s"; done | median)"
  done
  printf " %s |" "$(for i in $(seq 1 "$RUNS"); do cut -d' ' -f1 "$CACHE/svd_$i.time"; done | median)"
  echo " $(for i in $(seq 1 "$RUNS"); do cut -d' ' -f2 "$CACHE/svd_$i.time"; done | median | awk '{printf "%.2f GB", $1/1e6}') |"
  if [ "$MF" = 1 ]; then
    printf "| UT-ALS d=256, %s iterations (1 run) |" "$ALS_ITERS"
    for s in $STAGES; do printf " %s |" "$(stage "$CACHE/mf_1.err" "$s")"; done
    echo " $(cut -d' ' -f1 "$CACHE/mf_1.time") | $(cut -d' ' -f2 "$CACHE/mf_1.time" | awk '{printf "%.2f GB", $1/1e6}') |"
  fi
  echo
  echo "Stages: read = the four TSV files; cohort = split + per-user event index;"
  echo "cf_data = the warm + train-cohort stream matrix (baskets for TT-SVD);"
  echo "embed = cs_ttsvd_fit / cs_als_fit (src/embed, another helper's);"
  echo "targets = days-1-30 truth and targets (fold-in for UT-ALS val/test);"
  echo "features = every cohort user's F-vector; save = the dataset file (fsync)."
  echo
  if [ "$MF" = 1 ]; then
    grep "UT-ALS:" "$CACHE/mf_1.err" | sed 's/^ */UT-ALS (src\/embed): /' |
      cat
    echo
  fi
  echo "## Reading events.tsv ($EVENTS_MB MB)"
  echo
  echo "| reader | seconds | MB/s |"
  echo "| --- | ---: | ---: |"
  for i in $(seq 1 "$RUNS"); do grep "read events.tsv" "$CACHE/svd_$i.err" | sed 's/.* in \([0-9.]*\)s.*/\1/'; done | median |
    awk -v mb="$EVENTS_MB" '{printf "| coldstart (parse 5 fields, resolve ids; median) | %s | %.0f |\n", $1, mb/$1}'
  awk -v t="$T_CAT" -v mb="$EVENTS_MB" 'BEGIN{printf "| cat > /dev/null (page cache) | %s | %.0f |\n", t, mb/t}'
  awk -v t="$T_WC" -v mb="$EVENTS_MB" 'BEGIN{printf "| wc -l | %s | %.0f |\n", t, mb/t}'
  awk -v t="$T_AWK" -v mb="$EVENTS_MB" 'BEGIN{printf "| awk -F\\\\t sum of column 5 | %s | %.0f |\n", t, mb/t}'
  echo
  echo "## Online featurizer"
  echo
  echo "cs_featurizer_user on every user's registration-day events (the online path):"
  echo
  echo "    $FEAT"
  echo
  echo "Target: under 10 us per typical user at d=128."
  echo
  echo "## Summary of the last TT-SVD run"
  echo
  echo '```'
  sed -n '/^prepare: wrote/,$p' "$CACHE/svd_$RUNS.err"
  echo '```'
} >"$OUT"
cat "$OUT"

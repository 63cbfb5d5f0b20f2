#!/usr/bin/env bash
# bench/als.sh: UT-ALS seconds per iteration (d = 128, 256) and TT-SVD time
# on generated play matrices of the deezer, small and last.fm-360k shapes;
# writes bench/results/als.md.
#   bench/als.sh [THREADS]     (default 2)
# There is no same-run reference: the `implicit` library is not packaged in
# Debian (python3-implicit does not exist) and PyPI is not reachable here, so
# the comparison is against its published anchor, clearly labelled as such.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
BUILD=${BUILD:-build}
make --no-print-directory -j2 "$BUILD/libcoldstart.a" >/dev/null
mkdir -p "$BUILD/bench" bench/results
make --no-print-directory BUILD="$BUILD" "$BUILD/bench/als_bench" >/dev/null
B="$BUILD/bench/als_bench"
TSV=$(mktemp)
LOG=$(mktemp)
trap 'rm -f "$TSV" "$LOG"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# shape users songs mean-draws dims iters threads [svd]
nice "$B" small 30000 5000 25 64 15 "$THREADS" svd >>"$TSV" 2>>"$LOG"
nice "$B" deezer 150000 50000 25 128,256 3 "$THREADS" svd >>"$TSV" 2>>"$LOG"
nice "$B" lastfm360k 358868 292385 60 128 2 "$THREADS" >>"$TSV" 2>>"$LOG"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$LOG" >&2

ANCHOR_S=2.56       # implicit, last.fm-360k, 128 factors, desktop CPU
ANCHOR_NNZ=17535655 # last.fm-360k user-artist nonzeros
{
  echo "# UT-ALS and TT-SVD timings"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;" \
       "$(date -u '+%Y-%m-%d %H:%M UTC'); threads: $THREADS."
  echo "Load average before/after: $load_before / $load_after (the machine is"
  echo "shared with other engineers' builds and benchmarks: wall times are"
  echo "inflated, CPU seconds are the steadier number)."
  echo
  echo "Data: generated in bench/als_bench.c (users mix one of 200 taste groups"
  echo "with global Zipf popularity, play counts 1 + geometric); TT-SVD baskets"
  echo "are a user's songs in chunks of 12 (\"days\"). Each ALS figure is the"
  echo "median of 3 fits, per iteration, initialization excluded (each"
  echo "iteration includes its loss evaluation); cg_steps 3. cpu-s/iter is the"
  echo "CPU time of all threads together."
  echo
  echo "| what | shape | nnz | d | s/iter (wall) | cpu-s/iter |"
  echo "| --- | --- | --- | --- | --- | --- |"
  awk -F'\t' '$1=="als" {printf "| UT-ALS | %s: %s users x %s songs | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $8, $9}' "$TSV"
  echo
  echo "| what | shape | baskets | basket entries | d | seconds (wall) | cpu-s |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' '$1=="ttsvd" {printf "| TT-SVD (PPMI + randomized SVD, 2 power iterations) | %s: %s songs | %s | %s | %s | %s | %s |\n", $2, $4, $3, $5, $6, $8, $9}' "$TSV"
  echo
  echo "## Against the published anchor (not a same-run comparison)"
  echo
  echo "The \`implicit\` library's published figure: last.fm-360k, 128 factors,"
  echo "CG solver, ${ANCHOR_S} s per iteration on a desktop CPU (more cores than"
  echo "our 2 shared ones, different data). python3-implicit is not in Debian"
  echo "and PyPI is unreachable from this machine, so it could not be run here."
  echo "Our row below is a generated matrix of the same shape (358,868 users x"
  echo "292,385 artists) at a similar number of nonzeros."
  echo
  awk -F'\t' -v a="$ANCHOR_S" -v annz="$ANCHOR_NNZ" '$1=="als" && $2=="lastfm360k" {
      scaled = $8 * annz / $5;
      printf "| | nnz | s/iter | s/iter scaled to %d nnz | ratio to anchor |\n| --- | --- | --- | --- | --- |\n", annz;
      printf "| implicit (published) | %d | %.2f | %.2f | 1.00 |\n", annz, a, a;
      printf "| coldstart, %s threads | %s | %s | %.2f | %.2f |\n", $7, $5, $8, scaled, scaled / a }' "$TSV"
  echo
  echo "The deezer row scaled the same way (by nnz alone; rows also cost d^2"
  echo "each, so this is rough):"
  echo
  awk -F'\t' -v a="$ANCHOR_S" -v annz="$ANCHOR_NNZ" '$1=="als" && $2=="deezer" && $6==128 {
      printf "deezer d=128: %s s/iter on %s nnz -> %.2f s/iter at %d nnz (anchor %.2f).\n", $8, $5, $8 * annz / $5, annz, a }' "$TSV"
  echo
  echo "## Notes"
  cat <<'NOTES'

- Where the time goes (perf, 1 thread, deezer d=128): the sparse part of
  the CG row solves is bound by memory latency on random factor rows (each
  nonzero pulls a 512-byte row of the other side's factors; song rows of
  popular songs are long, so their CG steps re-stream the user factors);
  the dense Y^T Y products run as a register-blocked kernel at about
  50 GFLOP/s per core and are a minor share. Rows are prefetched a few
  nonzeros ahead. d=256 costs about 3x d=128 (twice the bytes per nonzero,
  four times the dense work).
- TT-SVD = PPMI build (two passes of a Gustavson row product with a
  per-thread bitmap) + 6 sparse x dense products (range finder, 2 power
  iterations, projection) of the ~19M-nonzero PPMI matrix with 138
  columns, plus Householder QRs of 50k x 138 blocks.
- The `make run` path (small scale, 5k songs, 30k users): ALS at d=64 is
  about 0.12 cpu-s per iteration (under 2 cpu-s for 15 iterations) and
  TT-SVD about 0.7 cpu-s: well under the minute budget.
NOTES
} >bench/results/als.md
cat bench/results/als.md

#!/usr/bin/env bash
# kmeans_worlds.sh: the k-means benchmark (bench/kmeans.py: coldstart vs
# scikit-learn vs faiss, k = 1000, 20 iterations) on more than one world, so
# that a fast path tuned to one world's structure cannot pass for a result:
#   - ours: `coldstart synth --scale deezer --seed 1` (the project's world);
#   - overlap: a deezer-scale world with overlapping tastes (users spread
#     far from their styles, more and more mixed tastes, fewer styles);
#   - the stand-in of bench/kmeans.py (make_synthetic: 300 overlapping
#     taste directions, no prepare step).
# The first two are prepared (TT-SVD, d = 128) and their training targets
# exported (export-npy); k-means runs on train_target.npy. Writes
# bench/results/kmeans.md. Usage: bench/kmeans_worlds.sh [--quick]
# (RUNS=3 by default; SKIP_SKLEARN=1 leaves scikit-learn out).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=bench/.cache/kmeans_worlds
RUNS=${RUNS:-3}
mkdir -p "$CACHE"
make -j2 build/coldstart build/libcoldstart.a >/dev/null
B=build/coldstart
world() { # name, synth knobs...
  local name=$1
  shift
  if [ ! -f "$CACHE/$name/npy/train_target.npy" ]; then
    echo "world $name: synth, prepare, export-npy" >&2
    nice -n 10 "$B" synth --scale deezer --out "$CACHE/$name/logs" --force \
      --quiet "$@"
    nice -n 10 "$B" prepare --logs "$CACHE/$name/logs" --out "$CACHE/$name/ds" \
      --quiet
    "$B" export-npy "$CACHE/$name/ds" --out "$CACHE/$name/npy" --quiet
    rm -rf "$CACHE/$name/logs" # the dataset and export are what is kept
  fi
}
world ours --seed 1
world overlap --seed 2 --user-spread 1.2 --extra-taste 0.9 --max-tastes 4 \
  --styles 12
extra=()
[ "${SKIP_SKLEARN:-0}" = 1 ] && extra+=(--skip-sklearn)
nice -n 10 /usr/bin/python3 bench/kmeans.py --runs "$RUNS" "${extra[@]}" \
  --npy "our deezer world=$CACHE/ours/npy" \
  --npy "overlapping tastes (synth knobs)=$CACHE/overlap/npy" --synthetic "$@"

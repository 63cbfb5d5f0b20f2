#!/usr/bin/env bash
# run_all.sh: every benchmark, one after the other (they share 2 cores, so
# never in parallel), on one deezer-scale synthetic world, then compiles
# bench/RESULTS.md. About 30-40 minutes on an idle 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
make -j2 build/coldstart build/libcoldstart.a >/dev/null
dir=$(bench/world.sh deezer)
npy=$dir/npy
[ -s "$npy/train_target.npy" ] || build/coldstart export-npy "$dir/deezer.dataset" --out "$npy"
PY=/usr/bin/python3 # Debian's python3, where python3-torch/sklearn/faiss live
step() { echo "== $* ($(date -u +%H:%M:%S))" >&2; }
step serve;     bench/serve.sh deezer
step scoring;   $PY bench/scoring.py --model "$dir/deezer.model" --dataset "$dir/deezer.dataset"
step kmeans;    $PY bench/kmeans.py --npy "$npy"
step regressor; $PY bench/regressor.py --npy "$npy"
step als;       bench/als.sh
step parquet;   bench/parquet.sh
step prepare;   bench/prepare.sh
bench/results.sh

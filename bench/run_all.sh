#!/usr/bin/env bash
# run_all.sh: the benchmarks, one after the other (they share 2 cores, so
# never in parallel), on the deezer-scale synthetic world made fresh by
# today's code (FRESH=0 keeps an existing one), then compiles
# bench/RESULTS.md. About an hour on an idle 2-core machine. Not here (each
# takes 20 minutes to hours; run them on their own): bench/worlds.sh,
# bench/strategies.sh, bench/scale.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
make -j2 build/coldstart build/libcoldstart.a >/dev/null
[ "${FRESH:-1}" = 1 ] && rm -f data/deezer/deezer.dataset data/deezer/deezer.model data/deezer/npy/*.npy
dir=$(bench/world.sh deezer)
npy=$dir/npy
[ -s "$npy/train_target.npy" ] || build/coldstart export-npy "$dir/deezer.dataset" --out "$npy"
PY=/usr/bin/python3 # Debian's python3, where python3-torch/sklearn/faiss live
step() { echo "== $* ($(date -u +%H:%M:%S))" >&2; }
step method;    bench/method.sh deezer
step oneuser;   bench/oneuser.sh deezer
step onnx;      bench/onnx.sh deezer
step half;      bench/half.sh
step serve;     bench/serve.sh deezer
step scoring;   $PY bench/scoring.py --model "$dir/deezer.model" --dataset "$dir/deezer.dataset"
step kmeans;    bench/kmeans_worlds.sh
step regressor; $PY bench/regressor.py --npy "$npy"
step als;       bench/als.sh
step parquet;   bench/parquet.sh
step prepare;   bench/prepare.sh
bench/results.sh

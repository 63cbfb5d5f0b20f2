#!/usr/bin/env bash
# world.sh: make (or reuse) the synthetic world a benchmark runs on:
# data/<scale>/logs, data/<scale>/<scale>.dataset (svd space) and
# data/<scale>/<scale>.model (SPACE=mf: <scale>-mf.dataset and .model, the
# UT-ALS space). Prints the directory. Usage: bench/world.sh deezer|small
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-deezer}
dim=${DIM:-$([ "$scale" = deezer ] && echo 128 || echo 64)}
dir=data/$scale
CS=${COLDSTART:-build/coldstart}
[ -x "$CS" ] || make -j2 build/coldstart >&2
[ -s "$dir/logs/events.tsv" ] || "$CS" synth --scale "$scale" --seed 1 --out "$dir/logs" --force >&2
space=${SPACE:-svd}
name=$scale
[ "$space" = svd ] || name=$scale-$space
[ -s "$dir/$name.dataset" ] || "$CS" prepare --logs "$dir/logs" --space "$space" --dim "$dim" --seed 1 --out "$dir/$name.dataset" >&2
[ -s "$dir/$name.model" ] || "$CS" train "$dir/$name.dataset" --out "$dir/$name.model" --seed 1 >&2
echo "$dir"

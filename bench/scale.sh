#!/usr/bin/env bash
# scale.sh: how the offline job's cost grows with scale (docs/mpi.md).
#   1. Synthetic worlds at 0.25x, 0.5x, 1x, 2x and 5x deezer scale (users
#      and events x f; catalog and playlists x sqrt(f)), each run through
#      prepare (TT-SVD, d = 128), train (defaults) and evaluate (test
#      split, every strategy) in one process: wall time and peak RSS
#      (/usr/bin/time), the stages' own seconds.
#   2. At 1x: the same three commands under `mpirun -np 2` (one thread per
#      rank) next to -np 1 (one process, two threads): the outputs are
#      compared byte for byte, and each stage's traffic (CS_DIST_TRAFFIC:
#      collectives, bytes, seconds inside collectives) is recorded.
#   3. bench/scale_report.py fits the exponents, compares peak memory with
#      the float32 data held, and writes the 50x / 16-machine estimate into
#      bench/results/scale.md.
# Usage: bench/scale.sh            (every scale; the 5x world needs ~3 GB of
#        disk for its logs and ~12 GB of RAM for train)
#        SCALES="0.25 0.5 1" bench/scale.sh   (a quicker subset)
#        REPORT_ONLY=1 bench/scale.sh          (rewrite scale.md from the
#        measurements already in bench/.cache/scale)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALES=${SCALES:-"0.25 0.5 1 2 5"}
NP_SCALE=${NP_SCALE:-1}
CACHE=${CACHE:-bench/.cache/scale}
OUT=${OUT:-bench/results/scale.md}
B=build/coldstart
mkdir -p "$CACHE" "$(dirname "$OUT")"
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
# one machine: shared memory only
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1

knobs() { # f -> synth flags
  awk -v f="$1" 'BEGIN {
    printf "--cold-users %d --warm-users %d --songs %d --playlists %d",
      100000 * f + 0.5, 60000 * f + 0.5, 50000 * sqrt(f) + 0.5,
      4000 * sqrt(f) + 0.5 }'
}

timed() { # tag, command...: wall and peak RSS into $CACHE/tag.time
  local tag=$1
  shift
  cut -d' ' -f1 /proc/loadavg >"$CACHE/$tag.load"
  /usr/bin/time -f "%e %M %U %S" -o "$CACHE/$tag.time" nice -n 10 "$@" \
    >"$CACHE/$tag.out" 2>"$CACHE/$tag.err" ||
    { tail -20 "$CACHE/$tag.err"; echo "scale.sh: $tag failed" >&2; exit 1; }
}

if [ "${REPORT_ONLY:-0}" != 1 ]; then
  make -j2 "$B" >/dev/null
  for f in $SCALES; do
    W="$CACHE/w$f"
    if [ ! -f "$W/events.tsv" ]; then
      echo "scale $f: synth $(knobs "$f")" >&2
      # shellcheck disable=SC2046
      nice -n 10 "$B" synth --scale deezer --seed 1 $(knobs "$f") --out "$W" \
        --force --quiet
    fi
    echo "scale $f: prepare, train, evaluate" >&2
    timed "prep_$f" "$B" prepare --logs "$W" --out "$CACHE/d$f.ds"
    timed "train_$f" "$B" train "$CACHE/d$f.ds" --out "$CACHE/m$f.model" \
      --timings
    timed "eval_$f" "$B" evaluate "$CACHE/m$f.model" "$CACHE/d$f.ds" \
      --format json
    stat -c %s "$CACHE/d$f.ds" >"$CACHE/d$f.size"
    stat -c %s "$CACHE/m$f.model" >"$CACHE/m$f.size"
    if [ "$f" != "$NP_SCALE" ]; then # big files: keep only what is reported
      rm -f "$CACHE/d$f.ds" "$CACHE/m$f.model"
      [ "${KEEP_WORLDS:-0}" = 1 ] || rm -rf "$W"
    fi
  done

  # -np 2 next to -np 1 at NP_SCALE, back to back (the machine's load
  # changes over the run: the pairs are what compares)
  f=$NP_SCALE
  W="$CACHE/w$f"
  echo "scale $f: -np 1 and -np 2, back to back" >&2
  timed "np1_prep_$f" "$B" prepare --logs "$W" --out "$CACHE/np1_d$f.ds"
  CS_DIST_TRAFFIC=1 timed "np2_prep_$f" "${MPIRUN[@]}" -np 2 "$B" prepare \
    --logs "$W" --out "$CACHE/np2_d$f.ds"
  timed "np1_train_$f" "$B" train "$CACHE/d$f.ds" --out "$CACHE/np1_m$f.model" \
    --timings
  CS_DIST_TRAFFIC=1 timed "np2_train_$f" "${MPIRUN[@]}" -np 2 "$B" train \
    "$CACHE/d$f.ds" --out "$CACHE/np2_m$f.model" --timings
  timed "np1_eval_$f" "$B" evaluate "$CACHE/m$f.model" "$CACHE/d$f.ds" \
    --format json
  CS_DIST_TRAFFIC=1 timed "np2_eval_$f" "${MPIRUN[@]}" -np 2 "$B" evaluate \
    "$CACHE/m$f.model" "$CACHE/d$f.ds" --format json
  same() { cmp -s "$1" "$2" && echo yes || echo NO; }
  {
    echo "prepare $(same "$CACHE/np1_d$f.ds" "$CACHE/np2_d$f.ds")"
    echo "train $(same "$CACHE/np1_m$f.model" "$CACHE/np2_m$f.model")"
    echo "evaluate $(same "$CACHE/np1_eval_$f.out" "$CACHE/np2_eval_$f.out")"
  } >"$CACHE/np2_same_$f"
  rm -f "$CACHE"/np[12]_d"$f".ds "$CACHE"/np[12]_m"$f".model
  lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}' \
    >"$CACHE/machine"
  nproc >>"$CACHE/machine"
  free -g | awk '/Mem:/ {print $2}' >>"$CACHE/machine"
  date -u +%Y-%m-%dT%H:%MZ >>"$CACHE/machine"
  uptime | sed 's/.*load average: //' >>"$CACHE/machine"
  mpirun --version 2>/dev/null | head -1 >>"$CACHE/machine"
fi
/usr/bin/python3 bench/scale_report.py --cache "$CACHE" --scales "$SCALES" \
  --np-scale "$NP_SCALE" --out "$OUT"

#!/usr/bin/env bash
# mpi.sh: the multi-process contract (docs/mpi.md) on localhost: `mpirun -np
# N coldstart prepare|train|evaluate` writes the same bytes as one process
# (N = 2 and 3: uneven shards, a rank with nothing to do in places), for
# both embedding spaces and both NDCG modes; the collectives and the
# distributed stages pass their own checks under mpirun (dist_test).
# The bad cases are in mpi_fail.sh.
set -euo pipefail
BUILD=${BUILD:-build}
. "$(dirname "$0")/../mpi/lib.sh"

# the collectives and the stages, each rank against a one-process run
for np in 2 3; do
  timeout 120 "${MPIRUN[@]}" -np $np "$BUILD/tests/dist/dist_test" >"$T/dist$np" 2>&1 ||
    { tail -30 "$T/dist$np"; fail "dist_test under -np $np"; }
  [ "$(grep -c 'PASSED' "$T/dist$np")" = $np ] || fail "dist_test: not every rank passed"
done

"$COLDSTART" synth --scale tiny --seed 3 --out "$T/logs" --cold-users 600 \
  --warm-users 900 --quiet >/dev/null 2>&1 || fail "synth"

TRAIN=(--clusters 30 --input-clusters 6 --epochs 3 --seed 2 --quiet)
MF=(--space mf --dim 8 --als-iters 3 --quiet)
for np in 1 2 3; do
  run $np "$COLDSTART" prepare --logs "$T/logs" --dim 16 --out "$T/svd$np.ds" \
    --quiet || fail "prepare svd -np $np"
  run $np "$COLDSTART" train "$T/svd1.ds" --out "$T/m$np.model" "${TRAIN[@]}" ||
    fail "train -np $np"
done
for np in 1 3; do
  run $np "$COLDSTART" prepare --logs "$T/logs" "${MF[@]}" --out "$T/mf$np.ds" ||
    fail "prepare mf -np $np"
  run $np "$COLDSTART" evaluate "$T/m1.model" "$T/svd1.ds" --format json \
    --quiet >"$T/e$np.json" || fail "evaluate -np $np"
done
for np in 2 3; do
  cmp "$T/svd1.ds" "$T/svd$np.ds" || fail "prepare svd: -np $np differs from one process"
  cmp "$T/m1.model" "$T/m$np.model" || fail "train: -np $np differs from one process"
done
cmp "$T/mf1.ds" "$T/mf3.ds" || fail "prepare mf: -np 3 differs from one process"
cmp "$T/e1.json" "$T/e3.json" || fail "evaluate: -np 3 differs from one process"
grep -q '"strategies": {"popularity"' "$T/e3.json" || fail "evaluate json: $(cat "$T/e3.json")"
[ "$(wc -l <"$T/e3.json")" = 1 ] || fail "evaluate: more than rank 0 printed"
# the sklearn NDCG mode too (its dense score rows per chunk)
run 2 "$COLDSTART" evaluate "$T/m1.model" "$T/svd1.ds" --format json --quiet \
  --ndcg sklearn --strategies semi,soft >"$T/sk2.json" || fail "evaluate sklearn -np 2"
"$COLDSTART" evaluate "$T/m1.model" "$T/svd1.ds" --format json --quiet \
  --ndcg sklearn --strategies semi,soft >"$T/sk1.json" || fail "evaluate sklearn"
cmp "$T/sk1.json" "$T/sk2.json" || fail "evaluate sklearn: -np 2 differs"

echo "mpi: -np 1, 2 and 3 give the same bytes"

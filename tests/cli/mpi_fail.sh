#!/usr/bin/env bash
# mpi_fail.sh: the bad cases of multi-process runs (docs/mpi.md): a rank
# that dies or fails makes every rank exit non-zero with a message and
# leaves no output or temp file; a bad line in one rank's shard of
# events.tsv is reported with its line in the file; a job stopped at any
# moment leaves either the complete file or nothing; commands without a
# multi-process path refuse to run under mpirun.
set -euo pipefail
. "$(dirname "$0")/../mpi/lib.sh"

"$COLDSTART" synth --scale tiny --seed 3 --out "$T/logs" --cold-users 600 \
  --warm-users 900 --quiet >/dev/null 2>&1 || fail "synth"
TRAIN=(--clusters 30 --input-clusters 6 --epochs 3 --seed 2 --quiet)
"$COLDSTART" prepare --logs "$T/logs" --dim 16 --out "$T/svd1.ds" --quiet ||
  fail "prepare"

no_leftovers() { # dir, name: neither the file nor a temp of it
  [ ! -e "$1/$2" ] || fail "$2 was written by a failed job"
  ! ls "$1" | grep -q "^$2\.tmp\." || fail "a temp file of $2 was left: $(ls "$1")"
}

# a rank that dies: every rank exits non-zero, with messages, nothing left
mkdir -p "$T/out"
if CS_TEST_DIE_RANK=1 CS_TEST_DIE_STAGE=embed run 2 "$COLDSTART" prepare \
  --logs "$T/logs" --dim 16 --out "$T/out/die.ds" 2>"$T/die.err"; then
  fail "prepare with a dying rank exited 0"
fi
grep -q "rank 1: CS_TEST_DIE_RANK: exiting at stage 'embed'" "$T/die.err" ||
  fail "no message from the dying rank: $(cat "$T/die.err")"
grep -q "rank 0: stopped by a signal" "$T/die.err" ||
  fail "rank 0 did not say it was stopped: $(cat "$T/die.err")"
no_leftovers "$T/out" die.ds

# a rank that fails: the others learn its message, rank 0 prints it once
if CS_TEST_FAIL_RANK=2 CS_TEST_FAIL_STAGE=kmeans run 3 "$COLDSTART" train \
  "$T/svd1.ds" --out "$T/out/fail.model" "${TRAIN[@]}" 2>"$T/fail.err"; then
  fail "train with a failing rank exited 0"
fi
[ "$(grep -c "rank 2: CS_TEST_FAIL_RANK: failing at stage 'kmeans'" "$T/fail.err")" = 1 ] ||
  fail "the failure was not reported once by rank 0: $(cat "$T/fail.err")"
no_leftovers "$T/out" fail.model

# a rank out of memory stops the job from where it is (it could not rejoin
# the others' collective): every rank non-zero, its message, nothing left
if CS_TEST_FAIL_RANK=1 CS_TEST_FAIL_CODE=ENOMEM CS_TEST_FAIL_STAGE=kmeans run 2 \
  "$COLDSTART" train "$T/svd1.ds" --out "$T/out/oom.model" "${TRAIN[@]}" 2>"$T/oom.err"; then
  fail "train with a rank out of memory exited 0"
fi
grep -q "rank 1: CS_TEST_FAIL_RANK: failing at stage 'kmeans' (out of memory); stopping every rank" "$T/oom.err" ||
  fail "no out-of-memory message from rank 1: $(cat "$T/oom.err")"
no_leftovers "$T/out" oom.model

# a bad line in one rank's shard: the file's line number, from rank 0
awk 'NR == 40000 {$0 = "1\t2\tstrem\tsong\t3"} {print}' "$T/logs/events.tsv" \
  >"$T/bad_events" && mkdir -p "$T/bad" && cp "$T/logs"/*.tsv "$T/bad/" &&
  mv "$T/bad_events" "$T/bad/events.tsv"
lines=$(wc -l <"$T/bad/events.tsv")
[ "$lines" -gt 60000 ] || fail "world too small for the shard test ($lines lines)"
if run 3 "$COLDSTART" prepare --logs "$T/bad" --dim 16 --out "$T/out/bad.ds" \
  2>"$T/bad.err"; then
  fail "a bad line passed"
fi
grep -q "events.tsv:40000: unknown action 'strem'" "$T/bad.err" ||
  fail "bad line not reported with its file line: $(cat "$T/bad.err")"
no_leftovers "$T/out" bad.ds

# stopped at some moment (before, while or after rank 0 writes): the
# complete file or nothing, and never a temp file
for delay in 0.25 0.6; do
  timeout 120 "${MPIRUN[@]}" -np 2 "$COLDSTART" prepare --logs "$T/logs" \
    --dim 16 --out "$T/out/stop.ds" --quiet 2>"$T/stop.err" &
  job=$!
  sleep "$delay"
  kill -TERM "$job" 2>/dev/null || true
  status=0
  wait "$job" || status=$?
  if [ -e "$T/out/stop.ds" ]; then
    cmp -s "$T/svd1.ds" "$T/out/stop.ds" ||
      fail "stopped after ${delay}s (exit $status): an incomplete stop.ds"
  else
    [ "$status" -ne 0 ] || fail "exit 0 without the file"
  fi
  ! ls "$T/out" | grep -q '\.tmp\.' || fail "stopped after ${delay}s: a temp file was left"
  rm -f "$T/out/stop.ds"
done

# commands without a multi-process path refuse (rank 0 says so)
if run 2 "$COLDSTART" synth --out "$T/x" 2>"$T/refuse.err"; then
  fail "synth ran under mpirun"
fi
grep -q "does not run under mpirun" "$T/refuse.err" || fail "no refusal message"
[ ! -e "$T/x" ] || fail "synth wrote under mpirun"
echo "mpi: failures stop every rank and leave nothing behind"

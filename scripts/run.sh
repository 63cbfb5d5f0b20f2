#!/usr/bin/env bash
# run.sh: the main job (`make run`): generate the small synthetic world (or
# reuse it), prepare it (TT-SVD space, d = 64), train the model, evaluate
# every strategy (the six of the paper, mix and blend) on the test split, print the table and write the HTML
# report next to it.
# Env: BUILD (build dir, default build), CS_RUN_DIR (default data/small),
# CS_RUN_THREADS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CS="$BUILD/coldstart"
DIR=${CS_RUN_DIR:-data/small}
LOGS="$DIR/logs"
DATASET="$DIR/small.dataset"
MODEL="$DIR/small.model"
TABLE="$DIR/test-table.md"
REPORT="$DIR/report.html"
THREADS=${CS_RUN_THREADS:-$(nproc)}
start=$SECONDS

stage() { printf '\n==> [%s] %s\n' "$1" "$2" >&2; }
done_in() { printf '    done in %ds (total %ds)\n' "$((SECONDS - $1))" "$((SECONDS - start))" >&2; }

[ -x "$CS" ] || { echo "run.sh: $CS not found (run make first)" >&2; exit 1; }
mkdir -p "$DIR"

stage 1/5 "synthetic world: small scale (5,000 songs, 10,000 cold users), seed 1 -> $LOGS"
t=$SECONDS
if [ -f "$LOGS/.complete" ]; then
  echo "    reusing $LOGS (delete it to regenerate)" >&2
else
  "$CS" synth --scale small --seed 1 --out "$LOGS" --force --threads "$THREADS"
  touch "$LOGS/.complete"
fi
done_in "$t"

stage 2/5 "prepare: cohort split 70/20/10, TT-SVD embeddings (d = 64), features -> $DATASET"
t=$SECONDS
if [ -f "$DATASET" ] && [ "$DATASET" -nt "$LOGS/.complete" ]; then
  echo "    reusing $DATASET (delete it to re-prepare)" >&2
else
  "$CS" prepare --logs "$LOGS" --space svd --dim 64 --seed 1 --out "$DATASET" \
    --threads "$THREADS"
fi
done_in "$t"

stage 3/5 "train: regressor, k-means (k = 1000) over targets, input clusters (k = 100), segments -> $MODEL"
t=$SECONDS
"$CS" train "$DATASET" --out "$MODEL" --seed 1 --threads "$THREADS"
done_in "$t"

stage 4/5 "evaluate: eight strategies on the test split, K = 50"
t=$SECONDS
"$CS" evaluate "$MODEL" "$DATASET" --split test --k 50 --threads "$THREADS" \
  --format markdown --quiet >"$TABLE"
"$CS" evaluate "$MODEL" "$DATASET" --split test --k 50 --threads "$THREADS" --quiet
done_in "$t"

stage 5/5 "report: charts of the comparison, NDCG@K, segments, example users -> $REPORT"
t=$SECONDS
"$CS" report "$MODEL" "$DATASET" --split test --k 50 --threads "$THREADS" \
  --out "$REPORT" --quiet
echo "    $REPORT" >&2
done_in "$t"

cat >&2 <<MSG

Files:
  raw logs      $LOGS/
  dataset       $DATASET
  model         $MODEL
  table         $TABLE (Markdown)
  report        $REPORT (open it in a browser; one file, works offline)

Next:
  $CS recommend $MODEL $DATASET --split test --strategy soft --users 3
  $CS serve $MODEL --port 8080
MSG

#!/usr/bin/env bash
# method.sh: the method's evaluation table at deezer scale on the synthetic
# world (bench/world.sh), with the training timings of the model it scores.
# Retrains the model (train --timings, the defaults, seed 1) so the table
# is of today's code, checks a second training writes the same bytes, and
# writes bench/results/method-SCALE.md. Usage: bench/method.sh [scale]
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-deezer}
BUILD=${BUILD:-build}
CS=$BUILD/coldstart
make --no-print-directory -j2 "$CS" >/dev/null
dir=$(bench/world.sh "$scale")
ds=$dir/$scale.dataset model=$dir/$scale.model
timings=$("$CS" train "$ds" --out "$model.tmp" --seed 1 --timings --quiet 2>&1 >/dev/null | tail -n 1)
"$CS" train "$ds" --out "$model.again" --seed 1 --quiet >/dev/null
same=no
cmp -s "$model.tmp" "$model.again" && same=yes
rm -f "$model.again"
mv "$model.tmp" "$model"
table=$("$CS" evaluate "$model" "$ds" --split test --k 50 --format markdown --quiet)
{
  echo "# The method at $scale scale (synthetic world)"
  echo
  echo "- date: $(date -u +%Y-%m-%d); machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; made by \`bench/method.sh\`"
  echo "- data: \`bench/world.sh $scale\` (\`coldstart synth --scale $scale --seed 1\`, \`prepare --space svd --seed 1\`)"
  echo "- model: \`coldstart train DATASET --out MODEL --seed 1 --timings\` (the defaults); a second training wrote a byte-identical file: $same. Timings line:"
  echo "  \`$timings\`"
  echo "- table: \`coldstart evaluate MODEL DATASET --split test --k 50 --format markdown\`; mean ± spread"
  echo "  (sample std of 10 fold means, 2 seeds x 5 folds). Tuned k and parameters per world: bench/results/strategies.md."
  echo
  echo "$table"
} >"bench/results/method-$scale.md"
cat "bench/results/method-$scale.md"

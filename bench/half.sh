#!/usr/bin/env bash
# half.sh: what `--half` (the regressor's weights rounded to float16) costs
# in accuracy and buys in speed, on several worlds and both spaces: the
# largest and mean absolute change of the predicted embeddings, how many
# users change nearest segment, soft segment set or soft list
# (bench/half_bench.c), the evaluation table with and without --half
# (`coldstart evaluate --format json`: the change of every metric next to
# its spread), and the one-row forward pass time both ways.
# Writes bench/results/half.md. Usage: bench/half.sh [WORLD...]
# (WORLD = scale:space; default deezer:svd small:svd small:mf)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make --no-print-directory -j2 "$BUILD/coldstart" "$BUILD/bench/half_bench" >/dev/null
CS=$BUILD/coldstart
worlds=("$@")
[ ${#worlds[@]} -gt 0 ] || worlds=(deezer:svd small:svd small:mf)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=bench/results/half.md
{
  echo "# float16 weights (--half) against float32"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%d)."
  echo "Split: test. Embeddings are L2-normalized (entries of magnitude ~0.09 at d = 128)."
  echo
  echo "| world | users | max abs diff | mean abs diff | nearest segment changed | soft segment set changed | soft list changed | forward f32 (us) | forward f16 (us) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$tmp/head.md"
: >"$tmp/eval.md"
for w in "${worlds[@]}"; do
  scale=${w%%:*} space=${w#*:}
  dir=$(SPACE=$space bench/world.sh "$scale")
  name=$scale
  [ "$space" = svd ] || name=$scale-$space
  model=$dir/$name.model ds=$dir/$name.dataset
  nice -n 5 "$BUILD/bench/half_bench" "$model" "$ds" >"$tmp/h.json"
  python3 - "$w" "$tmp/h.json" >>"$tmp/head.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
n = r["users"]
pct = lambda c: f"{c} ({100.0 * c / n:.2f}%)"
print(f"| {sys.argv[1]} | {n} | {r['max_abs_diff']:.2g} | {r['mean_abs_diff']:.2g} | "
      f"{pct(r['nearest_segment_changed'])} | {pct(r['soft_segment_set_changed'])} | "
      f"{pct(r['soft_list_changed'])} | {r['forward_us_f32']:.1f} | {r['forward_us_f16']:.1f} |")
PY
  "$CS" evaluate "$model" "$ds" --quiet --format json >"$tmp/e32.json"
  "$CS" evaluate "$model" "$ds" --quiet --format json --half >"$tmp/e16.json"
  python3 - "$w" "$tmp/e32.json" "$tmp/e16.json" >>"$tmp/eval.md" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[2:4])
print(f"\n### {sys.argv[1]}\n")
print("| strategy | metric | float32 | float16 | change | spread | change / spread |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for s, ma in a["strategies"].items():
    for metric in ("precision", "recall", "ndcg"):
        x, y = ma[metric]["mean"], b["strategies"][s][metric]["mean"]
        sd = ma[metric]["std"]
        print(f"| {s} | {metric} | {100 * x:.4f} | {100 * y:.4f} | {100 * (y - x):+.4f} | "
              f"{100 * sd:.4f} | {abs(y - x) / sd if sd > 0 else 0:.3f} |")
PY
done
{
  cat "$tmp/head.md"
  echo
  echo "Forward times: one row at a time over the first 2,000 users, median of 7 passes (noisy on this shared machine; bench/onnx.sh and bench/oneuser_bench.c measure the pass more carefully)."
  echo
  echo "## Evaluation tables (metrics in %)"
  cat "$tmp/eval.md"
} >"$out"
cat "$out"

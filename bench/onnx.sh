#!/usr/bin/env bash
# bench/onnx.sh: the regressor's forward pass, coldstart (the public
# cs_regressor_predict_threads, bench/onnx_bench.c) against ONNX Runtime
# (onnxruntime-node, bench/onnx.mjs) on the SAME exported model and the
# SAME input rows, in one run: batch 1 and batch 64, p50/p99 per call (and
# per user at batch 64), 1 and 2 threads on both sides (rows split between
# threads / ORT intra-op threads), on real feature rows of a deezer-scale test split
# and on dense random rows. Writes bench/results/onnx.md.
# Every (tool, rows, threads) run is repeated ROUNDS times, the tools
# alternating, and the table reports the median over rounds of each
# percentile, so a load swing on the shared machine hits both tools alike.
# Usage: bench/onnx.sh [scale]   (deezer by default; ROWS, CALLS1, CALLS64, ROUNDS)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scale=${1:-deezer}
n_rows=${ROWS:-1024}
calls1=${CALLS1:-3000}
calls64=${CALLS64:-500}
rounds=${ROUNDS:-3}
BUILD=${BUILD:-build}
make --no-print-directory -j2 "$BUILD/coldstart" "$BUILD/libcoldstart.a" >/dev/null
mkdir -p "$BUILD/bench" bench/results
make --no-print-directory BUILD="$BUILD" "$BUILD/bench/onnx_bench" >/dev/null
B="$BUILD/bench/onnx_bench"

dir=$(bench/world.sh "$scale")
model=$dir/$scale.model
exp=$dir/onnx
if [ ! -s "$exp/export.json" ] || [ "$model" -nt "$exp/export.json" ]; then
  nice "$BUILD/coldstart" export-onnx "$model" --out "$exp" --reference "$dir/$scale.dataset" \
    --split test --force --quiet
  nice "$BUILD/coldstart" export-onnx "$model" --out "$exp.unfolded" --unfolded --force --quiet
fi
F=$(jq '.n_features' "$exp/export.json")
d=$(jq '.dim' "$exp/export.json")
n_test=$(jq '.reference.n_users' "$exp/export.json")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bench/onnx.mjs rows "$exp" "$tmp" "$n_rows" 1 >/dev/null

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$tmp/all.jsonl"
for round in $(seq 1 "$rounds"); do
  for rows in real random; do
    for threads in 1 2; do
      "$B" "$model" "$tmp/$rows.f32" "$n_rows" "$threads" "$calls1" "$calls64" "$tmp/cs.$rows" |
        jq -c --arg rows "$rows" --argjson round "$round" \
          '. + {rows_kind: $rows, graph: "", round: $round}' >>"$tmp/all.jsonl"
      node bench/onnx.mjs ort "$exp/regressor.onnx" "$tmp/$rows.f32" "$n_rows" "$F" "$threads" \
        "$calls1" "$calls64" "$tmp/cs.$rows" |
        jq -c --arg rows "$rows" --argjson round "$round" \
          '. + {rows_kind: $rows, graph: "folded", round: $round}' >>"$tmp/all.jsonl"
    done
    node bench/onnx.mjs ort "$exp.unfolded/regressor.onnx" "$tmp/$rows.f32" "$n_rows" "$F" 1 \
      "$calls1" "$calls64" "$tmp/cs.$rows" |
      jq -c --arg rows "$rows" --argjson round "$round" \
        '. + {rows_kind: $rows, graph: "unfolded", round: $round}' >>"$tmp/all.jsonl"
  done
  echo "round $round/$rounds done" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$tmp/all.jsonl" >&2
ort_version=$(jq -r 'select(.tool == "onnxruntime") | .version' "$tmp/all.jsonl" | head -1)
nz_real=$(jq -r 'select(.tool == "coldstart" and .rows_kind == "real") | .nonzero_fraction' "$tmp/all.jsonl" | head -1)

# medians over rounds: one object per (tool, graph, rows, threads)
jq -cs '
  def med: sort | .[(length - 1) / 2 | floor];
  group_by([.tool, .graph, .rows_kind, .threads]) | .[]
  | {tool: .[0].tool, graph: .[0].graph, rows_kind: .[0].rows_kind, threads: .[0].threads,
     rounds: length,
     batch1: {p50_us: (map(.batch1.p50_us) | med), p99_us: (map(.batch1.p99_us) | med)},
     batch64: {p50_us_per_user: (map(.batch64.p50_us_per_user) | med),
               p99_us_per_user: (map(.batch64.p99_us_per_user) | med)}}' \
  "$tmp/all.jsonl" >"$tmp/median.jsonl"
# table rows, one per ORT run kind, for batch $1 (batch1|batch64) and field
# suffix $2 ("" per call, "_per_user")
table() {
  jq -rs --arg b "$1" --arg u "$2" '
    def f: . * 100 | round / 100 | tostring;
    (map(select(.tool == "coldstart")) | map({key: "\(.rows_kind)/\(.threads)", value: .}) | from_entries) as $cs
    | sort_by(.rows_kind != "real", .graph, .threads) | .[] | select(.tool == "onnxruntime")
    | $cs["\(.rows_kind)/\(.threads)"] as $c
    | "| \(.rows_kind) | \(.threads) | \(.graph) | \($c[$b]["p50_us" + $u] | f) | \($c[$b]["p99_us" + $u] | f) | \(.[$b]["p50_us" + $u] | f) | \(.[$b]["p99_us" + $u] | f) | \(.[$b]["p50_us" + $u] / $c[$b]["p50_us" + $u] | f)x | \(.[$b]["p99_us" + $u] / $c[$b]["p99_us" + $u] | f)x |"' \
    "$tmp/median.jsonl"
}
# the target (docs/onnx.md): coldstart's forward pass faster than ORT's at
# batch 1 and at batch 64; judged on p50, folded graph, per (rows, threads)
verdict() {
  jq -rs '
    (map(select(.tool == "coldstart")) | map({key: "\(.rows_kind)/\(.threads)", value: .}) | from_entries) as $cs
    | map(select(.tool == "onnxruntime" and .graph == "folded")) | sort_by(.rows_kind != "real", .threads) | .[]
    | $cs["\(.rows_kind)/\(.threads)"] as $c
    | (.batch1.p50_us / $c.batch1.p50_us) as $r1
    | (.batch64.p50_us_per_user / $c.batch64.p50_us_per_user) as $r64
    | "| \(.rows_kind) | \(.threads) | \(if $r1 > 1 then "yes" else "no" end) (\($r1 * 100 | round / 100)x) | \(if $r64 > 1 then "yes" else "no" end) (\($r64 * 100 | round / 100)x) |"' \
    "$tmp/median.jsonl"
}
diffs=$(jq -rs '[.[] | select(.tool == "onnxruntime") | .max_abs_diff_vs_coldstart | .batch1, .batch64] | max' "$tmp/all.jsonl")

{
  echo "# Regressor forward pass: coldstart vs ONNX Runtime"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;" \
       "$(date -u '+%Y-%m-%d %H:%M UTC'). Load average before/after: $load_before / $load_after"
  echo "(the machine is shared with other engineers' builds and benchmarks: absolute"
  echo "times are inflated and noisy, the ratios within one run are the steadier number)."
  echo
  echo "- model: the $scale-scale synthetic world's model (\`bench/world.sh $scale\`), F = $F, d = $d,"
  echo "  layers $F-400-300-200-$d; exported once with \`coldstart export-onnx\` (opset 17)."
  echo "- coldstart: \`cs_regressor_predict_threads\` on 1 row and on 64 rows (\`bench/onnx_bench.c\`,"
  echo "  linked against libcoldstart; at 2 threads the 64 rows are split 32 + 32, batch 1 uses one)."
  echo "  Its own kernel (src/model/forward.c: AVX-512 tiles of 4 rows x 64 outputs, folded"
  echo "  weights) skips inputs that are zero in every row of a tile."
  echo "- ONNX Runtime: onnxruntime-node $ort_version (its bundled CPU library), \`session.run\`"
  echo "  timed from JavaScript (\`bench/onnx.mjs\`: input tensors built before the clock, so the"
  echo "  time is run() itself including the N-API binding's per-call cost), graph optimization"
  echo "  'all', sequential execution, intra-op threads as stated, inter-op 1. \"folded\" is the"
  echo "  default export (standardization and BatchNorm folded into the Gemms); \"unfolded\" the"
  echo "  \`--unfolded\` export (Sub, Div, BatchNormalization nodes), for reference."
  echo "- rows: \"real\" = the first $n_rows users of the test split ($n_test users; the exported"
  echo "  reference/features.npy), raw features, $(awk -v z="$nz_real" 'BEGIN { printf "%.1f", 100 * z }')% of values nonzero; \"random\" = $n_rows dense rows, every"
  echo "  value uniform in [-1, 1) (seed 1). Both tools read the same rows from the same file."
  echo "- protocol: 200 warm-up calls, then $calls1 calls at batch 1 (cycling through the"
  echo "  $n_rows rows) and $calls64 calls at batch 64 (cycling through the $((n_rows / 64)) blocks);"
  echo "  p50/p99 of the per-call wall time. One process per (tool, rows, threads), run one"
  echo "  after the other, never in parallel, the tools alternating; $rounds rounds, and each table"
  echo "  cell is the median over the rounds of that percentile."
  echo "- same result: ONNX Runtime's embeddings of every timed row differ from coldstart's by"
  echo "  at most $diffs (max abs over all rows, batch 1 and 64, all runs)."
  echo
  echo "## Is coldstart faster than ONNX Runtime? (p50, default folded export)"
  echo
  echo "| rows | threads | batch 1 | batch 64 (per user) |"
  echo "| --- | --- | --- | --- |"
  verdict
  echo
  echo "## Batch 1: microseconds per call"
  echo
  echo "| rows | threads | ORT graph | coldstart p50 | coldstart p99 | ORT p50 | ORT p99 | ORT / coldstart p50 | ORT / coldstart p99 |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  table batch1 ""
  echo
  echo "## Batch 64: microseconds per user (per call / 64)"
  echo
  echo "| rows | threads | ORT graph | coldstart p50 | coldstart p99 | ORT p50 | ORT p99 | ORT / coldstart p50 | ORT / coldstart p99 |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  table batch64 "_per_user"
  echo
  echo "A ratio above 1 means coldstart is faster. The unfolded ORT row uses 1 thread and is"
  echo "compared with coldstart at 1 thread."
  echo
  echo "Raw results (one JSON line per process; \`round\` numbers the rounds):"
  echo
  echo '```'
  cat "$tmp/all.jsonl"
  echo '```'
} >bench/results/onnx.md
echo "wrote bench/results/onnx.md" >&2

#!/usr/bin/env bash
# oneuser.sh: one cold user, raw events to K = 50 songs in-process, stage by
# stage (bench/oneuser_bench.c: parse the request body, featurize, the
# regressor's one-row forward pass, the segment search, the allocation, the
# response JSON), for soft and the other strategies, float32 and float16
# weights (--half). ROUNDS runs alternate the variants; the table gives the
# median over rounds of each stage's p50 and p99. Target (docs/performance.md):
# raw events -> 50 songs (soft) under 50 us median at deezer scale.
# Writes bench/results/oneuser.md. Usage: bench/oneuser.sh [scale]
# (ROUNDS, USERS, REPEATS)
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-deezer}
rounds=${ROUNDS:-5}
users=${USERS:-2000}
repeats=${REPEATS:-3}
BUILD=${BUILD:-build}
make --no-print-directory -j2 "$BUILD/bench/oneuser_bench" >/dev/null
dir=$(bench/world.sh "$scale")
model=$dir/$scale.model
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the cold cohort's registration-day requests (bench/serve.sh makes them)
if [ ! -s "$dir/requests.jsonl" ]; then
  from=$(awk -F'\t' 'NR > 1 && $2 > m { m = $2 } END { print m - 6 }' "$dir/logs/users.tsv")
  awk -F'\t' -v from="$from" -v max=20000 -f bench/serve_requests.awk \
    "$dir/logs/users.tsv" "$dir/logs/events.tsv" >"$dir/requests.jsonl.tmp"
  mv "$dir/requests.jsonl.tmp" "$dir/requests.jsonl"
fi
head -n "$users" "$dir/requests.jsonl" >"$tmp/bodies.jsonl"
variants="soft:f32 soft:f16 semi:f32 full:f32 mix:f32 blend:f32"
for r in $(seq 1 "$rounds"); do
  for v in $variants; do
    strategy=${v%%:*} prec=${v#*:}
    if [ "$prec" = f16 ]; then
      CS_HALF=1 "$BUILD/bench/oneuser_bench" "$model" "$tmp/bodies.jsonl" "$strategy" "$repeats"
    else
      "$BUILD/bench/oneuser_bench" "$model" "$tmp/bodies.jsonl" "$strategy" "$repeats"
    fi | sed "s/^{/{\"variant\": \"$v\", \"round\": $r, /" >>"$tmp/runs.jsonl"
  done
done
/usr/bin/python3 - "$tmp/runs.jsonl" "$model" "$rounds" "$users" "$repeats" >bench/results/oneuser.md <<'PY'
import json, statistics, subprocess, sys, time
runs = [json.loads(l) for l in open(sys.argv[1])]
model, rounds, users, repeats = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
stages = ["parse", "featurize", "forward", "segment_search", "allocation", "json", "total"]
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[:3]
variants = []
for r in runs:
    if r["variant"] not in variants: variants.append(r["variant"])
def med(v, s, q):
    return statistics.median(r["stages_us"][s][q] for r in runs if r["variant"] == v)
print("## One user in-process (bench/oneuser.sh)\n")
print(f"Machine: {cpu}, 2 cores; {time.strftime('%Y-%m-%d', time.gmtime())}; load average at the end {' '.join(load)}.")
print(f"Model: {model}. {users} registration-day requests of the cold cohort (raw events + demographics),")
print(f"each answered {repeats} times per run, one thread, K = 50; {rounds} runs with the variants alternating;")
print("each cell is the median over runs of that stage's p50 (p99) in microseconds. total = the whole path,")
print("body to response JSON; features -> songs = forward + segment search + allocation; events -> songs adds")
print("featurize. f16: `--half` (float16 weights, bench/results/half.md).\n")
print("| strategy | weights | " + " | ".join(stages) + " | features -> songs | events -> songs |")
print("| --- | --- | " + " | ".join("---:" for _ in stages) + " | ---: | ---: |")
for v in variants:
    s, p = v.split(":")
    cells = [f"{med(v, st, 'p50'):.1f} ({med(v, st, 'p99'):.0f})" for st in stages]
    f2s = med(v, "forward", "p50") + med(v, "segment_search", "p50") + med(v, "allocation", "p50")
    e2s = f2s + med(v, "featurize", "p50")
    print(f"| {s} | {p} | " + " | ".join(cells) + f" | {f2s:.1f} | {e2s:.1f} |")
soft = [v for v in variants if v.startswith("soft:")]
best = min(med(v, "forward", "p50") + med(v, "segment_search", "p50") + med(v, "allocation", "p50") + med(v, "featurize", "p50") for v in soft)
verdict = "met" if best < 50 else f"not met ({best:.0f} us, {best / 50:.1f}x the target)"
print(f"\nTarget: raw events -> 50 songs (soft) under 50 us median: **{verdict}**.")
PY
cat bench/results/oneuser.md

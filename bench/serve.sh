#!/usr/bin/env bash
# serve.sh: HTTP service throughput and tail latency against the target of
# docs/performance.md
# (at least 10,000 requests/s with p99 under 5 ms at 16 connections on 2
# cores, loopback, keep-alive, raw-event requests of a deezer-scale cohort).
# Real registration-day requests of the cold cohort of a synthetic world,
# replayed by wrk at 1, 16 and 64 connections; the server's batch-size
# histogram scraped from /metrics around each level; the in-process request
# path (bench/serve_bench.c, one-row and batched, answers compared);
# model load time and peak memory. Writes bench/results/serve.md.
# Usage: bench/serve.sh [scale] (deezer by default; SECONDS_PER_RUN, RUNS,
# THREADS, BATCH_MAX)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
scale=${1:-deezer}
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-15}
threads=${THREADS:-2}
batch_max=${BATCH_MAX:-32}
BUILD=${BUILD:-build}
make --no-print-directory -j2 "$BUILD/coldstart" "$BUILD/libcoldstart.a" >/dev/null
dir=$(bench/world.sh "$scale")
model=$dir/$scale.model
bodies=$dir/requests.jsonl
if [ ! -s "$bodies" ]; then
  from=$(awk -F'\t' 'NR > 1 && $2 > m { m = $2 } END { print m - 6 }' "$dir/logs/users.tsv")
  awk -F'\t' -v from="$from" -v max=20000 -f bench/serve_requests.awk \
    "$dir/logs/users.tsv" "$dir/logs/events.tsv" >"$bodies.tmp"
  mv "$bodies.tmp" "$bodies"
fi
n_bodies=$(wc -l <"$bodies")
tmp=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# in-process: the request path without the network, one-row and batched
make --no-print-directory BUILD="$BUILD" "$BUILD/bench/serve_bench" >/dev/null
"$BUILD/bench/serve_bench" "$model" "$bodies" 4096 1 8 16 32 >"$tmp/inproc.jsonl"
cat "$tmp/inproc.jsonl" >&2

"$BUILD/coldstart" serve "$model" --port 0 --port-file "$tmp/port" --threads "$threads" \
  --batch-max "$batch_max" 2>"$tmp/serve.err" &
server_pid=$!
for _ in $(seq 1 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$tmp/port")"
curl -sf "$url/healthz" >/dev/null
# every body must be a valid request before we time anything
head -n 50 "$bodies" | while IFS= read -r b; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "$b" "$url/recommend")
  [ "$code" = 200 ] || { echo "request failed with $code: ${b:0:200}" >&2; exit 1; }
done
load_s=$(curl -s "$url/metrics" | awk '$1 == "coldstart_model_load_seconds" { print $2 }')
model_mb=$(awk -v b="$(stat -c %s "$model")" 'BEGIN { printf "%.1f", b / 1048576 }')

to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }'; }
run_wrk() { # connections -> "rps p50_ms p99_ms errors"
  BODIES="$bodies" wrk -t1 -c"$1" -d"${secs}s" --latency -s bench/serve.lua "$url" >"$tmp/wrk.txt"
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$tmp/wrk.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$tmp/wrk.txt" | to_ms)
  p99=$(awk '$1 == "99%" { print $2 }' "$tmp/wrk.txt" | to_ms)
  errs=$(awk '/Non-2xx|Socket errors/ { s = s $0 " " } END { print (s == "" ? "none" : s) }' "$tmp/wrk.txt")
  echo "$rps $p50 $p99 $errs"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# the batch-size histogram: cumulative bucket counts, le -> count
batch_hist() { curl -s "$url/metrics" | awk -F'[{}" ]+' '/^coldstart_batch_size_bucket/ { print $3, $NF }'; }
# batches per size bucket between two snapshots, as "1: x%, 2: y%, 3-4: z%, ..."
batch_dist() {
  awk 'NR == FNR { before[FNR] = $2; next }
    { le[FNR] = $1; cum = $2 - before[FNR]; per[FNR] = cum - prev; prev = cum; n = FNR }
    END { lo = 1; s = ""
      for (i = 1; i <= n; i++) {
        hi = le[i] == "+Inf" ? "" : le[i]
        lab = hi == "" ? ">" (lo - 1) : (lo == hi ? lo : lo "-" hi)
        if (per[i] > 0) s = s sprintf("%s%s: %.0f%%", s == "" ? "" : ", ", lab, 100 * per[i] / prev)
        if (hi != "") lo = hi + 1 }
      print s == "" ? "none" : s }' "$1" "$2"
}
batch_mean() { # mean batch size between two /metrics snapshots
  awk 'NR == FNR { b[$1] = $2; next } { a[$1] = $2 } END { printf "%.1f", (a["sum"] - b["sum"]) / ((a["count"] - b["count"]) > 0 ? (a["count"] - b["count"]) : 1) }' "$1" "$2"
}
batch_sum_count() { curl -s "$url/metrics" | awk '$1 == "coldstart_batch_size_sum" { print "sum", $2 } $1 == "coldstart_batch_size_count" { print "count", $2 }'; }

BODIES="$bodies" wrk -t1 -c16 -d3s -s bench/serve.lua "$url" >/dev/null # warm-up
rows=""
for conns in 1 16 64; do
  : >"$tmp/rps"; : >"$tmp/p50"; : >"$tmp/p99"
  errs_all=""
  batch_hist >"$tmp/h0"; batch_sum_count >"$tmp/s0"
  for _ in $(seq 1 "$runs"); do
    read -r rps p50 p99 errs < <(run_wrk "$conns")
    echo "$rps" >>"$tmp/rps"; echo "$p50" >>"$tmp/p50"; echo "$p99" >>"$tmp/p99"
    [ "$errs" = none ] || errs_all="$errs_all $errs"
    echo "connections $conns: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors: $errs" >&2
  done
  batch_hist >"$tmp/h1"; batch_sum_count >"$tmp/s1"
  dist=$(batch_dist "$tmp/h0" "$tmp/h1")
  mean=$(batch_mean "$tmp/s0" "$tmp/s1")
  rows="$rows| $conns | $(median <"$tmp/rps") | $(median <"$tmp/p50") | $(median <"$tmp/p99") | $mean | $dist | ${errs_all:-none} |
"
done
peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status")
rss_kb=$(awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status")
# a reload holds both models until the old one's last request ends
kill -HUP "$server_pid"
for _ in $(seq 1 100); do
  curl -s "$url/metrics" | grep -q '^coldstart_model_reloads_total{result="success"} 1' && break
  sleep 0.1
done
BODIES="$bodies" wrk -t1 -c16 -d1s -s bench/serve.lua "$url" >/dev/null
reload_peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status")
reload_rss_kb=$(awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status")
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

rps16=$(echo "$rows" | awk -F'|' '$2 + 0 == 16 { print $3 + 0 }')
p99_16=$(echo "$rows" | awk -F'|' '$2 + 0 == 16 { print $5 + 0 }')
verdict=$(awk -v r="$rps16" -v p="$p99_16" 'BEGIN { printf "%s (%.0f req/s = %.2fx the 10,000 target; p99 %.2f ms %s 5 ms)", (r >= 10000 && p < 5 ? "met" : "not met"), r, r / 10000, p, (p < 5 ? "<" : ">=") }')
# where the in-process time goes (batch 32), when perf is there
profile="(perf not installed)"
if command -v perf >/dev/null && perf record -q -o "$tmp/perf.data" "$BUILD/bench/serve_bench" "$model" "$bodies" 2048 32 >/dev/null 2>&1; then
  profile=$(perf report -i "$tmp/perf.data" --no-children --stdio --sort symbol 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n < 10 { printf "%s%s %s", (n ? ", " : ""), $3, $1; n++ }')
fi
inproc=$(jq -r '"| \(.batch) | \(.cpu_us_per_request) | \(.median_batch_cpu_us_per_request) | \(.per_core_rps) | \(.different_from_batch_1) | \(.failed) |"' "$tmp/inproc.jsonl")

mkdir -p bench/results
cat >bench/results/serve.md <<EOT
## HTTP service (bench/serve.sh)

Machine: $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2 }'), $(nproc) cores; $(date -u +%Y-%m-%d).
Load average when the run ended: $(cut -d' ' -f1-3 /proc/loadavg) (the cores are shared with
other engineers' work: expect up to 2x swings; the lead reruns on a quiet machine).
Model: $model ($scale synthetic world, svd space, default training; $model_mb MB);
$n_bodies real registration-day requests of the cold cohort (raw events +
demographics, strategy soft, K = 50) replayed round-robin by wrk (1 thread,
keep-alive, loopback). Server: \`coldstart serve --threads $threads --batch-max $batch_max\`
(defaults otherwise). wrk runs on the same 2 cores as the server, so these
numbers include the load generator's share of the CPU. Median of $runs runs
of ${secs} s at each connection count.

| connections | requests/s | p50 (ms) | p99 (ms) | mean batch | batches by size | errors |
| --- | --- | --- | --- | --- | --- | --- |
${rows}
Target (docs/performance.md, 16 connections): at least 10,000 requests/s with p99 under 5 ms: **${verdict}**.
There is no same-run reference for this one: Deezer's production service (ONNX
models behind a Go web service) is not public.

Server: model load (private copy + validation + smoke request) ${load_s} s;
peak resident memory ${peak_kb} kB (${rss_kb} kB after the runs), for a ${model_mb} MB model file;
after one SIGHUP reload under load: peak ${reload_peak_kb} kB (both models
held while requests on the old one finish), ${reload_rss_kb} kB once the old one is freed.

In-process request path (bench/serve_bench.c: parse + featurize each
request, one regressor pass per batch, recommendation + response JSON
each), thread CPU time per request over the first 4,096 bodies; "differ" counts
answers whose bytes differ from the same request answered alone (batch 1):

| batch | CPU us/request | median batch, us/request | requests/s per core | differ | failed |
| --- | --- | --- | --- | --- | --- |
${inproc}

Where the in-process time goes (perf, batch 32, top symbols, share of
samples; crc32_z is the model load): ${profile}.
EOT
cat bench/results/serve.md

#!/usr/bin/env bash
# tune.sh: `coldstart tune` -> `train --from-tune` on tiny data: the tune.json
# contract (every field the report reads), the choice made on validation
# only, the model storing k and the tuned parameters, evaluate/recommend
# starting from them (and reproducing the tuned validation NDCG), flags
# overriding them, an untuned model keeping the built-in defaults, and bad
# input refused.
set -euo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
TMP=$(mktemp -d "${CS_TMP:-/tmp}/tune.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "tune.sh: $*" >&2; exit 1; }

"$CS" synth --scale tiny --seed 1 --out "$TMP/logs" --quiet
"$CS" prepare --logs "$TMP/logs" --space svd --dim 16 --seed 1 --out "$TMP/ds" --quiet
"$CS" tune "$TMP/ds" --out "$TMP/tune" --clusters 10:50:20 --input-clusters 8 \
  --epochs 3 --seed 1 --quiet >"$TMP/tune.out"
J="$TMP/tune/tune.json"
[ -s "$J" ] || fail "no tune.json"
grep -q "chosen: k = " "$TMP/tune.out" || fail "no summary: $(cat "$TMP/tune.out")"

# the contract
jq -e --arg ds "$TMP/ds" '
  .dataset == $ds and .split == "validation" and .k_values == [10, 30, 50]
  and (.points | length) == 3
  and all(.points[]; (.k | type) == "number" and .inertia > 0 and .seconds >= 0
      and all(.validation | to_entries[]; .value.precision >= 0 and .value.precision <= 1
              and .value.recall >= 0 and .value.ndcg >= 0 and .value.ndcg <= 1)
      and (.validation | has("semi") and has("soft") and has("mix") and has("popularity")
           and has("full") and has("d0-streams") and has("input-clusters")))
  and ([.points[].inertia] | . == (sort | reverse))
  and (.elbow.k | IN(10, 30, 50)) and (.elbow.method | length) > 0
  and (.chosen.k | IN(10, 30, 50))
  and (.chosen.strategy | IN("popularity", "d0-streams", "input-clusters", "full", "semi", "soft", "mix", "blend"))
  and (.chosen.params | has("mix_m") and has("mix_tau") and has("mix_size") and has("mix_prior")
       and has("blend_beta") and has("blend_d0"))
  and .chosen.validation_ndcg == .chosen.validation[.chosen.strategy].ndcg
  and .chosen.validation_ndcg == ([.chosen.validation[].ndcg] | max)
  and (.trials | length) > 5 and .train.seed == 1 and .train.epochs == 3
  and .train.input_clusters == 8' "$J" >/dev/null || fail "tune.json contract: $(cat "$J")"
# the chosen k is a point's best segment strategy
jq -e '.chosen.k == (.points | max_by([.validation.semi.ndcg, .validation.soft.ndcg, .validation.mix.ndcg] | max) | .k)' \
  "$J" >/dev/null || fail "chosen k is not the best point"
# same data and seed, same choice and numbers (timings aside)
"$CS" tune "$TMP/ds" --out "$TMP/tune2" --clusters 10:50:20 --input-clusters 8 \
  --epochs 3 --seed 1 --quiet >/dev/null
strip='del(.seconds, .points[].seconds)'
[ "$(jq -S "$strip" "$J")" = "$(jq -S "$strip" "$TMP/tune2/tune.json")" ] || fail "tune is not deterministic"

# train --from-tune: k, strategy and parameters in the model
"$CS" train "$TMP/ds" --from-tune "$TMP/tune" --out "$TMP/tuned" --quiet
k=$(jq .chosen.k "$J")
strategy=$(jq -r .chosen.strategy "$J")
"$CS" inspect "$TMP/tuned" | grep -q 'tune.params' || fail "no tune.params section"
# evaluate starts from the tuned parameters: the tuned validation NDCG again
"$CS" evaluate "$TMP/tuned" "$TMP/ds" --split validation --format json --quiet >"$TMP/val.json"
for s in popularity d0-streams input-clusters full semi soft mix blend; do
  a=$(jq --arg s "$s" '.chosen.validation[$s].ndcg' "$J")
  b=$(jq --arg s "$s" '.strategies[$s].ndcg.mean' "$TMP/val.json")
  awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-7) }' ||
    fail "$s: tuned validation NDCG $a, evaluate of the tuned model $b"
done
# the report too: its validation table is evaluate's, its note names the
# tuned strategy (tune.json's chosen)
"$CS" report "$TMP/tuned" "$TMP/ds" --split validation --tune "$TMP/tune" --out "$TMP/r.html" --quiet
want=$(printf '%.2f' "$(jq '.strategies.mix.precision.mean * 100' "$TMP/val.json")")
grep -q "mix</td><td[^>]*>$want " "$TMP/r.html" ||
  fail "report: mix precision is not evaluate's $want on a tuned model"
grep -q "strategy $strategy (validation NDCG" "$TMP/r.html" || fail "report: no tuned strategy note"
# recommend starts from the tuned strategy; a flag overrides it
"$CS" recommend "$TMP/tuned" "$TMP/ds" --users 2 --k 5 --quiet >"$TMP/rec.jsonl"
[ "$(jq -r .strategy "$TMP/rec.jsonl" | sort -u)" = "$strategy" ] || fail "recommend: not the tuned strategy"
"$CS" recommend "$TMP/tuned" "$TMP/ds" --users 1 --k 5 --strategy soft --quiet | jq -e '.strategy == "soft"' >/dev/null ||
  fail "--strategy does not override"
# the tuned mix parameters are used unless given: the mix_m memberships
m=$(jq .chosen.params.mix_m "$J")
[ "$m" -gt "$k" ] && m=$k
"$CS" recommend "$TMP/tuned" "$TMP/ds" --users 1 --k 5 --strategy mix --quiet |
  jq -e --argjson m "$m" '(.memberships | length) == $m' >/dev/null || fail "tuned mix_m not applied"
"$CS" recommend "$TMP/tuned" "$TMP/ds" --users 1 --k 5 --strategy mix --mix-m 2 --quiet |
  jq -e '(.memberships | length) == 2' >/dev/null || fail "--mix-m does not override"
# a parameter given on the command line changes the result of a tuned model
"$CS" evaluate "$TMP/tuned" "$TMP/ds" --split validation --strategies mix --mix-tau 50 --mix-size 0 \
  --format json --quiet >"$TMP/over.json"
[ "$(jq .strategies.mix.ndcg.mean "$TMP/over.json")" != "$(jq .strategies.mix.ndcg.mean "$TMP/val.json")" ] ||
  fail "--mix-tau/--mix-size do not override the tuned values"
# --clusters given to train overrides the tuned k
"$CS" train "$TMP/ds" --from-tune "$TMP/tune" --clusters 7 --out "$TMP/k7" --quiet
"$CS" recommend "$TMP/k7" "$TMP/ds" --users 1 --k 5 --strategy mix --mix-m 32 --quiet |
  jq -e '(.memberships | length) == 7' >/dev/null || fail "--clusters does not override the tuned k"

# serve: the tuned strategy and parameters are the server's defaults, and a
# request without "strategy" gets what the offline path gives
"$CS" serve "$TMP/tuned" --port 0 --port-file "$TMP/port" --threads 1 2>"$TMP/serve.err" &
PID=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "server did not start: $(cat "$TMP/serve.err")"
"$CS" recommend "$TMP/tuned" "$TMP/ds" --split test --k 10 --users 1 --quiet >"$TMP/offline.json"
uid=$(jq -r '.user_id' "$TMP/offline.json")
read -r reg age country < <(awk -F'\t' -v u="$uid" 'NR > 1 && $1 == u { print $2, ($3 == "" ? "null" : $3), ($4 == "" ? "null" : "\"" $4 "\"") }' "$TMP/logs/users.tsv")
events=$(awk -F'\t' -v u="$uid" -v d="$reg" 'NR > 1 && $1 == u && $2 == d {
  printf "%s{\"action\": \"%s\", \"kind\": \"%s\", \"item_id\": %s}", sep, $3, $4, $5; sep = ", " }' \
  "$TMP/logs/events.tsv")
curl -s -X POST --data-binary "{\"user_id\": $uid, \"age\": $age, \"country\": $country, \"events\": [$events], \"k\": 10}" \
  "http://127.0.0.1:$(cat "$TMP/port")/recommend" >"$TMP/online.json"
jq -e --arg s "$strategy" '.strategy == $s and (.items | length) == 10' "$TMP/online.json" >/dev/null ||
  fail "serve default: $(cat "$TMP/online.json")"
[ "$(jq -c '[.items[].song_id]' "$TMP/online.json")" = "$(jq -c '[.items[].song_id]' "$TMP/offline.json")" ] ||
  fail "serve $(cat "$TMP/online.json") != recommend $(cat "$TMP/offline.json")"
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=""

# an untuned model (the format of every older file): built-in defaults
"$CS" train "$TMP/ds" --out "$TMP/plain" --clusters "$k" --input-clusters 8 --epochs 3 --quiet
"$CS" inspect "$TMP/plain" | grep -q 'tune.params' && fail "untuned model has tune.params"
"$CS" recommend "$TMP/plain" "$TMP/ds" --users 1 --k 5 --quiet | jq -e '.strategy == "soft"' >/dev/null ||
  fail "untuned model: default strategy is not soft"
"$CS" recommend "$TMP/plain" "$TMP/ds" --users 1 --k 5 --strategy mix --quiet |
  jq -e --argjson k "$k" '(.memberships | length) == ([32, $k] | min)' >/dev/null || fail "untuned mix_m"
# the six strategies do not depend on tuning: same model but the section
"$CS" evaluate "$TMP/plain" "$TMP/ds" --split test --strategies popularity,d0-streams,input-clusters,full,semi,soft \
  --format json --quiet >"$TMP/plain.json"
"$CS" evaluate "$TMP/tuned" "$TMP/ds" --split test --strategies popularity,d0-streams,input-clusters,full,semi,soft \
  --format json --quiet >"$TMP/tuned.json"
[ "$(cat "$TMP/plain.json")" = "$(cat "$TMP/tuned.json")" ] || fail "tuning changed the six strategies"

# bad input
rc=0; "$CS" tune "$TMP/ds" --out "$TMP/x" --clusters 5:1:1 --quiet 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--clusters" "$TMP/err" || fail "bad --clusters: exit $rc"
rc=0; "$CS" tune "$TMP/ds" --clusters 10 --quiet 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "missing --out: exit $rc"
echo '{"dataset": "x", "chosen": {"k": 10, "strategy": "nope", "params": {}}, "train": {}}' >"$TMP/x.json"
mkdir -p "$TMP/badtune" && cp "$TMP/x.json" "$TMP/badtune/tune.json"
rc=0; "$CS" train "$TMP/ds" --from-tune "$TMP/badtune" --out "$TMP/bad.model" --quiet 2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "tune.json: chosen.strategy 'nope'" "$TMP/err" || fail "bad tune.json: exit $rc: $(cat "$TMP/err")"
[ ! -e "$TMP/bad.model" ] || fail "a model was written from a bad tune.json"
echo "tune.sh: ok"

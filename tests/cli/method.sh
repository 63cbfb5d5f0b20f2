#!/usr/bin/env bash
# method.sh: the method end to end on tiny data: synth -> prepare -> train
# -> evaluate (every format) -> recommend, checking the output contracts.
set -euo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
TMP=$(mktemp -d "${CS_TMP:-/tmp}/method.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "method.sh: $*" >&2; exit 1; }

"$CS" synth --scale tiny --seed 1 --out "$TMP/logs" --quiet
"$CS" prepare --logs "$TMP/logs" --space svd --dim 16 --seed 1 --out "$TMP/ds" --quiet
"$CS" train "$TMP/ds" --out "$TMP/model" --clusters 40 --input-clusters 8 \
  --epochs 3 --seed 1 --timings --quiet 2>"$TMP/train.err"
[ -s "$TMP/model" ] || fail "no model file"
last=$(tail -n 1 "$TMP/train.err")
for key in '"seconds": {' '"kmeans": ' '"input_kmeans": ' '"regressor": ' \
  '"segments": ' '"val_mse": ' '"kmeans_inertia": '; do
  [[ "$last" == *"$key"* ]] || fail "train --timings: missing $key in: $last"
done
[[ "$last" == "{"*"}" ]] || fail "train --timings: last stderr line is not an object: $last"

# evaluate: JSON contract (one line, the six strategies, every metric)
"$CS" evaluate "$TMP/model" "$TMP/ds" --split test --k 50 --format json --quiet >"$TMP/eval.json"
[ "$(wc -l <"$TMP/eval.json")" -eq 1 ] || fail "evaluate json: not one line"
json=$(cat "$TMP/eval.json")
[[ "$json" == '{"split": "test", "k": 50, "users": '* ]] || fail "evaluate json head: $json"
for s in popularity d0-streams input-clusters full semi soft; do
  [[ "$json" == *"\"$s\": {\"precision\": {\"mean\": "* ]] || fail "evaluate json: no $s"
done
# every mean/std is a number in [0, 1]
bad=$(grep -oE '"(mean|std)": [^,}]+' "$TMP/eval.json" | awk '{ if ($2 < 0 || $2 > 1 || $2 !~ /^[0-9.e-]+$/) print }')
[ -z "$bad" ] || fail "evaluate json: values out of [0,1]: $bad"

# text, csv, markdown, a strategy subset, sklearn NDCG, the validation split
"$CS" evaluate "$TMP/model" "$TMP/ds" --quiet | grep -q '^soft ' || fail "text table has no soft row"
"$CS" evaluate "$TMP/model" "$TMP/ds" --format csv --strategies semi,soft --quiet >"$TMP/eval.csv"
[ "$(wc -l <"$TMP/eval.csv")" -eq 3 ] || fail "csv: expected header + 2 rows"
head -n 1 "$TMP/eval.csv" | grep -qx 'strategy,precision,precision_std,recall,recall_std,ndcg,ndcg_std' || fail "csv header"
"$CS" evaluate "$TMP/model" "$TMP/ds" --format markdown --ndcg sklearn --split validation --quiet | grep -q '^| semi |' || fail "markdown"
# threads do not change results
a=$("$CS" evaluate "$TMP/model" "$TMP/ds" --format json --threads 1 --quiet)
b=$("$CS" evaluate "$TMP/model" "$TMP/ds" --format json --threads 2 --quiet)
[ "$a" = "$b" ] || fail "evaluate differs between 1 and 2 threads"

# recommend: one JSON line per user, K items each
"$CS" recommend "$TMP/model" "$TMP/ds" --split test --strategy soft --k 10 --users 5 --quiet >"$TMP/rec.jsonl"
[ "$(wc -l <"$TMP/rec.jsonl")" -eq 5 ] || fail "recommend: expected 5 lines"
while IFS= read -r line; do
  [[ "$line" == '{"user_id": '*', "strategy": "soft", "memberships": [{"cluster": '* ]] || fail "recommend line: $line"
  n=$(grep -o '"song_id": ' <<<"$line" | wc -l)
  [ "$n" -eq 10 ] || fail "recommend: $n items, expected 10"
  m=$(grep -o '"weight": ' <<<"$line" | wc -l)
  [ "$m" -eq 5 ] || fail "recommend: $m memberships, expected 5"
done <"$TMP/rec.jsonl"
"$CS" recommend "$TMP/model" "$TMP/ds" --strategy full --k 3 --users 1 --quiet | grep -q '"memberships": \[\], "items": \[{"song_id": ' || fail "full: memberships not empty"

# --half: float16 weights give the same kind of answer and an evaluation
# table within 0.5 points of float32's, but different scores somewhere (the
# flag does reach the regressor)
"$CS" recommend "$TMP/model" "$TMP/ds" --strategy full --k 10 --users 20 --quiet >"$TMP/rec32.jsonl"
"$CS" recommend "$TMP/model" "$TMP/ds" --strategy full --k 10 --users 20 --half --quiet >"$TMP/rec16.jsonl"
[ "$(wc -l <"$TMP/rec16.jsonl")" -eq 20 ] || fail "recommend --half: expected 20 lines"
! cmp -s "$TMP/rec32.jsonl" "$TMP/rec16.jsonl" || fail "recommend --half: scores identical to float32"
"$CS" evaluate "$TMP/model" "$TMP/ds" --quiet --format json --strategies full,soft >"$TMP/e32.json"
"$CS" evaluate "$TMP/model" "$TMP/ds" --quiet --format json --strategies full,soft --half >"$TMP/e16.json"
worst=$(jq -n --slurpfile a "$TMP/e32.json" --slurpfile b "$TMP/e16.json" '
  [$a[0].strategies | to_entries[] | .key as $s | .value | to_entries[] |
   (.value.mean - $b[0].strategies[$s][.key].mean) | fabs] | max')
jq -e -n "$worst < 0.005" >/dev/null || fail "evaluate --half: a metric moved by $worst"

# errors: unknown strategy (usage, exit 2), wrong file kind (exit 65)
set +e
"$CS" evaluate "$TMP/model" "$TMP/ds" --strategies soft,nope --quiet 2>/dev/null; rc=$?
[ "$rc" -eq 2 ] || fail "unknown strategy: exit $rc, expected 2"
"$CS" evaluate "$TMP/ds" "$TMP/ds" --quiet 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a dataset accepted as a model"
grep -q "model" "$TMP/err" || fail "error does not mention the model: $(cat "$TMP/err")"
echo "method.sh: ok"

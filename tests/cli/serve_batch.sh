#!/usr/bin/env bash
# serve_batch.sh: micro-batching changes nothing in the answers: every test
# user's raw-event request answered alone (one at a time: batches of 1) and
# pipelined with the others (batches of up to --batch-max, seen in the
# batch-size histogram) gives the same bytes, for every strategy; and the
# songs and memberships equal the offline `coldstart recommend`.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
start_server "$TMP/model.1" --threads 2 --batch-max 16

# the test split's users, offline, and their registration-day requests
"$CS" recommend "$TMP/model.1" "$TMP/ds" --split test --strategy soft --k 20 --users 200 --quiet >"$TMP/offline.jsonl"
jq -r '.user_id' "$TMP/offline.jsonl" >"$TMP/uids"
awk -F'\t' 'FNR == 1 { file++; next }
  file == 1 { want[$1] = 1; order[n++] = $1; next }
  file == 2 && ($1 in want) { reg[$1] = $2; age[$1] = ($3 == "" ? "null" : $3); cty[$1] = ($4 == "" ? "null" : "\"" $4 "\"") ; next }
  file == 3 && ($1 in reg) && $2 == reg[$1] { ev[$1] = ev[$1] (ev[$1] == "" ? "" : ", ") "{\"action\": \"" $3 "\", \"kind\": \"" $4 "\", \"item_id\": " $5 "}" }
  END { for (i = 0; i < n; i++) { u = order[i]; if (u in reg) printf "{\"user_id\": %s, \"age\": %s, \"country\": %s, \"events\": [%s], \"k\": 20, \"strategy\": \"STRATEGY\"}\n", u, age[u], cty[u], ev[u] } }' \
  <(echo user_id; cat "$TMP/uids") "$TMP/logs/users.tsv" "$TMP/logs/events.tsv" >"$TMP/bodies.tmpl"
n=$(wc -l <"$TMP/bodies.tmpl")
[ "$n" -ge 100 ] || fail "only $n request bodies"

for s in soft semi full input-clusters; do
  sed "s/STRATEGY/$s/" "$TMP/bodies.tmpl" >"$TMP/bodies"
  $PY sequential-bodies "$PORT" <"$TMP/bodies" >"$TMP/alone.$s"
  $PY pipeline-bodies "$PORT" <"$TMP/bodies" >"$TMP/batched.$s"
  [ "$(wc -l <"$TMP/alone.$s")" = "$n" ] && [ "$(awk '$1 != 200' "$TMP/alone.$s" | wc -l)" = 0 ] ||
    fail "$s: not all answered alone"
  cmp -s "$TMP/alone.$s" "$TMP/batched.$s" ||
    fail "$s: batched answers differ from one-row answers: $(diff <(cut -c1-300 "$TMP/alone.$s") <(cut -c1-300 "$TMP/batched.$s") | head -4)"
done
# batches did form: some batch held more than one request
count=$(metric coldstart_batch_size_count)
ones=$(metric 'coldstart_batch_size_bucket{le="1"}')
big=$(metric 'coldstart_batch_size_bucket{le="8"}')
[ "$count" -gt "$ones" ] || fail "no batch larger than 1 ($ones of $count)"
[ "$count" -gt "$big" ] || fail "no batch larger than 8 ($big of $count)"
sum=$(metric coldstart_batch_size_sum)
[ "$sum" -eq $((8 * n)) ] || fail "batch sizes sum to $sum, expected $((8 * n)) requests"

# online (either way) = offline: same songs in the same order, same memberships
cut -d' ' -f2- "$TMP/alone.soft" | jq -c '[.user_id, [.items[].song_id], [.memberships[].cluster]]' >"$TMP/online.cmp"
jq -c '[.user_id, [.items[].song_id], [.memberships[].cluster]]' "$TMP/offline.jsonl" |
  cat >"$TMP/offline.cmp"
join -t'|' <(sed 's/^\[\([0-9]*\),/\1|/' "$TMP/online.cmp" | sort) <(sed 's/^\[\([0-9]*\),/\1|/' "$TMP/offline.cmp" | sort) |
  awk -F'|' '$2 != $3 { bad++ } END { print NR, bad + 0 }' >"$TMP/cmp.out"
read -r n_cmp n_bad <"$TMP/cmp.out"
[ "$n_cmp" -ge 100 ] && [ "$n_bad" = 0 ] || fail "online vs offline: $n_bad of $n_cmp users differ"
stop_server
echo "serve_batch.sh: ok"

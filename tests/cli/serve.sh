#!/usr/bin/env bash
# serve.sh: the HTTP service as a black box over a real socket: health,
# recommendations from raw events equal to the offline `recommend` for the
# same user, determinism, keep-alive, error statuses, clean stop on SIGTERM.
set -euo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
TMP=$(mktemp -d "${CS_TMP:-/tmp}/serve.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "serve.sh: $*" >&2; exit 1; }

"$CS" synth --scale tiny --seed 3 --out "$TMP/logs" --quiet
"$CS" prepare --logs "$TMP/logs" --space svd --dim 16 --seed 1 --out "$TMP/ds" --quiet
"$CS" train "$TMP/ds" --out "$TMP/model" --clusters 30 --input-clusters 8 \
  --epochs 3 --seed 1 --quiet

"$CS" serve "$TMP/model" --port 0 --port-file "$TMP/port" --threads 2 2>"$TMP/serve.err" &
PID=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "server did not start: $(cat "$TMP/serve.err")"
URL="http://127.0.0.1:$(cat "$TMP/port")"

post() { curl -s -o "$TMP/body" -w '%{http_code}' -X POST --data-binary @- "$URL/recommend"; }

# health
curl -sf "$URL/health" | jq -e '.status == "ok" and .dim == 16 and .featurizer == true' >/dev/null ||
  fail "health: $(curl -s "$URL/health")"

# The first test user of the offline path, rebuilt as a raw-event request
# from the logs: registration-day events and demographics.
"$CS" recommend "$TMP/model" "$TMP/ds" --split test --strategy soft --k 20 --users 1 --quiet >"$TMP/offline.json"
uid=$(jq -r '.user_id' "$TMP/offline.json")
read -r reg age country < <(awk -F'\t' -v u="$uid" 'NR > 1 && $1 == u { print $2, ($3 == "" ? "null" : $3), ($4 == "" ? "null" : "\"" $4 "\"") }' "$TMP/logs/users.tsv")
[ -n "$reg" ] || fail "user $uid not in users.tsv"
awk -F'\t' -v u="$uid" -v d="$reg" 'NR > 1 && $1 == u && $2 == d {
  printf "%s{\"action\": \"%s\", \"kind\": \"%s\", \"item_id\": %s}", sep, $3, $4, $5; sep = ", " }' \
  "$TMP/logs/events.tsv" >"$TMP/events.json"
body="{\"user_id\": $uid, \"age\": $age, \"country\": $country, \"events\": [$(cat "$TMP/events.json")], \"strategy\": \"soft\", \"k\": 20}"
code=$(post <<<"$body")
[ "$code" = 200 ] || fail "recommend: HTTP $code: $(cat "$TMP/body")"
jq -e --argjson u "$uid" '.user_id == $u and .strategy == "soft" and (.items | length) == 20
  and (.memberships | length) == 5 and ([.items[].song_id] | unique | length) == 20' "$TMP/body" >/dev/null ||
  fail "recommend response: $(cat "$TMP/body")"
online=$(jq -c '[.items[].song_id]' "$TMP/body")
offline=$(jq -c '[.items[].song_id]' "$TMP/offline.json")
[ "$online" = "$offline" ] || fail "online $online != offline $offline for user $uid"
[ "$(jq -c '[.memberships[].cluster]' "$TMP/body")" = "$(jq -c '[.memberships[].cluster]' "$TMP/offline.json")" ] ||
  fail "memberships differ online/offline"

# same request, same bytes; every strategy answers
cp "$TMP/body" "$TMP/first"
post <<<"$body" >/dev/null
cmp -s "$TMP/body" "$TMP/first" || fail "same request gave different bytes"
for s in popularity d0-streams input-clusters full semi soft; do
  code=$(post <<<"{\"events\": [$(cat "$TMP/events.json")], \"strategy\": \"$s\", \"k\": 7}")
  [ "$code" = 200 ] || fail "$s: HTTP $code $(cat "$TMP/body")"
  jq -e --arg s "$s" '.strategy == $s and (.items | length) == 7' "$TMP/body" >/dev/null || fail "$s: $(cat "$TMP/body")"
done
# an empty request is a user who did nothing: still K songs
code=$(post <<<'{}')
[ "$code" = 200 ] && jq -e '(.items | length) == 50' "$TMP/body" >/dev/null || fail "empty request: $code $(cat "$TMP/body")"

# keep-alive: many requests on one connection
n_ok=$(for i in $(seq 1 20); do echo "url = \"$URL/health\""; done | curl -s -K - -o /dev/null -w '%{http_code}\n' | grep -c 200)
[ "$n_ok" -eq 20 ] || fail "keep-alive: $n_ok/20"

# errors: status and a message naming the bad value
code=$(post <<<'{"events": [{"action": "strem", "kind": "song", "item_id": 1}]}')
[ "$code" = 400 ] && grep -q "unknown action 'strem'" "$TMP/body" || fail "bad action: $code $(cat "$TMP/body")"
code=$(post <<<'{"events": [}')
[ "$code" = 400 ] && jq -e '.error == "EFORMAT"' "$TMP/body" >/dev/null || fail "bad json: $code $(cat "$TMP/body")"
code=$(post <<<'{"k": 0}')
[ "$code" = 400 ] || fail "k=0: $code"
code=$(post <<<'{"strategy": "nope"}')
[ "$code" = 400 ] && grep -q "unknown strategy 'nope'" "$TMP/body" || fail "bad strategy: $code"
code=$(post <<<'{"features": [1, 2]}')
[ "$code" = 400 ] || fail "short features: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")
[ "$code" = 404 ] || fail "unknown path: $code"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$TMP/big"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$TMP/big" "$URL/recommend")
[ "$code" = 413 ] || fail "oversized body: $code"

# clean stop
kill -TERM "$PID"
wait "$PID" || fail "server exit status $?"
PID=""
grep -q "stopping after" "$TMP/serve.err" || fail "no stop message: $(cat "$TMP/serve.err")"
echo "serve.sh: ok"

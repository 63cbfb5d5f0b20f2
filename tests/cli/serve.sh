#!/usr/bin/env bash
# serve.sh: the HTTP service as a black box over a real socket: health,
# probes and metrics, recommendations from raw events equal to the offline
# `recommend` for the same user, determinism, keep-alive for every method,
# value checks (each a 400 naming the field), request ids and the access
# log, clean stop on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
mv "$TMP/model.1" "$TMP/model"
start_server "$TMP/model" --threads 2 --access-log "$TMP/access.log"

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

# probes
[ "$(curl -s -o "$TMP/b" -w '%{http_code}' "$URL/healthz")" = 200 ] && jq -e '.status == "ok"' "$TMP/b" >/dev/null || fail "healthz"
[ "$(curl -s -o "$TMP/b" -w '%{http_code}' "$URL/readyz")" = 200 ] && jq -e '.status == "ready" and (.crc | length) == 8' "$TMP/b" >/dev/null || fail "readyz: $(cat "$TMP/b")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$URL/healthz")" = 200 ] || fail "HEAD healthz"

# keep-alive for every method and status: GET, HEAD, 404 and 405 replies
# all on one connection
cfg=$(for i in $(seq 1 5); do for u in healthz nope recommend; do
  printf 'next\nurl = "%s/%s"\noutput = /dev/null\nwrite-out = "%%{http_code} %%{num_connects}\\n"\n' "$URL" "$u"; done; done | tail -n +2)
out=$(echo "$cfg" | curl -s -K -)
[ "$(echo "$out" | wc -l)" = 15 ] || fail "keep-alive mixed: $out"
[ "$(echo "$out" | awk '{ s += $2 } END { print s }')" = 1 ] || fail "keep-alive: more than one connection: $out"
[ "$(echo "$out" | awk '{ print $1 }' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" = "200:5 404:5 405:5 " ] ||
  fail "keep-alive statuses: $out"
n_ok=$(for i in $(seq 1 10); do printf 'next\nurl = "%s/healthz"\nhead\noutput = /dev/null\nwrite-out = "%%{http_code} %%{num_connects}\\n"\n' "$URL"; done | tail -n +2 |
  curl -s -K - | awk '$1 == 200 { n++; c += $2 } END { print n, c }')
[ "$n_ok" = "10 1" ] || fail "HEAD keep-alive: $n_ok"

# value checks: 400, JSON body, the field named
check400() { # body, expected text in the message
  code=$(post <<<"$1")
  [ "$code" = 400 ] || fail "expected 400 for $1, got $code: $(cat "$TMP/body")"
  jq -e --arg t "$2" '(.error | type) == "string" and (.message | contains($t))' "$TMP/body" >/dev/null ||
    fail "message for $1 should name '$2': $(cat "$TMP/body")"
}
check400 '{"age": 4294967321}' '"age" 4294967321'
check400 '{"age": -1}' '"age"'
check400 '{"age": 151}' '"age"'
check400 '{"age": 25.5}' '"age"'
check400 '{"age": "25"}' '"age"'
nf=$(jq -r '.n_features' <(curl -s "$URL/health"))
feat=$(awk -v n="$nf" 'BEGIN { for (i = 0; i < n; i++) printf "%s%s", (i ? "," : ""), (i == 3 ? "1e39" : "0") }')
check400 "{\"features\": [$feat]}" 'features[3]'
feat=$(awk -v n="$nf" 'BEGIN { for (i = 0; i < n; i++) printf "%s%s", (i ? "," : ""), (i == 7 ? "-3.5e38" : "0") }')
check400 "{\"features\": [$feat]}" 'features[7]'
check400 '{"events": [{"action": "stream", "kind": "song", "item_id": -4}]}' 'events[0].item_id'
check400 '{"events": [{"action": "stream", "kind": "song", "item_id": 99999999999999999999}]}' 'too big'
check400 '{"events": [{"action": "stream", "kind": "song", "item_id": 1.5}]}' 'events[0]'
check400 '{"events": [{"action": "stream", "kind": "song", "item_id": 1, "ts": 3}]}' 'unknown field "ts"'
check400 '{"k": 0}' '"k"'
check400 '{"k": 1001}' '"k"'
check400 '{"k": 5.0}' '"k"'
check400 '{"strategy": 3}' 'strategy'
check400 '{"strategey": "soft"}' 'unknown field "strategey"'
check400 '{"user_id": -2}' '"user_id"'
check400 "{\"features\": [$feat], \"age\": 3}" 'features'
check400 '[1, 2]' 'JSON object'
check400 '{"a": 1, "a": 2}' 'duplicate'
# a valid feature vector at the float32 edge is fine
feat=$(awk -v n="$nf" 'BEGIN { for (i = 0; i < n; i++) printf "%s%s", (i ? "," : ""), (i == 3 ? "3.4e38" : "0") }')
[ "$(post <<<"{\"features\": [$feat], \"strategy\": \"popularity\", \"k\": 3}")" = 200 ] || fail "float32 max: $(cat "$TMP/body")"
# every error body is JSON, including the method and path errors
for m in DELETE PUT FOO; do
  code=$(curl -s -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' -X "$m" "$URL/recommend")
  [ "$code" = 405 ] && grep -qi '^Allow: POST' "$TMP/h" && jq -e '.error == "EMETHOD"' "$TMP/b" >/dev/null ||
    fail "$m /recommend: $code $(cat "$TMP/h" "$TMP/b")"
done
for path in /health /healthz /readyz /metrics; do
  code=$(curl -s -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' -X FOO "$URL$path")
  [ "$code" = 405 ] && grep -qi '^Allow: GET, HEAD' "$TMP/h" && jq -e '.error == "EMETHOD"' "$TMP/b" >/dev/null ||
    fail "FOO $path: $code $(cat "$TMP/h" "$TMP/b")"
done
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST --data '{}' "$URL/healthz")
[ "$code" = 405 ] || fail "POST /healthz: $code"
jq -e '.error == "ENOTFOUND"' <(curl -s "$URL/nope") >/dev/null || fail "404 body not JSON"

# request ids: a client's id is echoed, else one is made; each distinct
rid=$(curl -s -D - -o /dev/null -H 'X-Request-Id: test-id-42' "$URL/healthz" | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }' | tr -d '\r')
[ "$rid" = test-id-42 ] || fail "X-Request-Id not echoed: '$rid'"
ids=$(for i in 1 2 3; do curl -s -D - -o /dev/null "$URL/healthz"; done | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }' | sort -u | wc -l)
[ "$ids" = 3 ] || fail "generated request ids not distinct"

# /metrics: Prometheus text with the contract's families
curl -s -D "$TMP/mh" -o "$TMP/metrics" "$URL/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/mh" || fail "metrics content type: $(cat "$TMP/mh")"
for fam in coldstart_http_requests_total coldstart_http_request_duration_seconds coldstart_batch_size \
  coldstart_http_requests_in_flight coldstart_model_info coldstart_model_load_seconds \
  coldstart_model_reloads_total coldstart_http_connections; do
  grep -q "^# TYPE $fam " "$TMP/metrics" || fail "metrics: no $fam"
done
awk '!/^#/ && NF != 2 { bad++ } END { exit bad > 0 }' "$TMP/metrics" || fail "metrics: malformed sample line"
n404=$(awk '$1 == "coldstart_http_requests_total{route=\"other\",code=\"404\"}" { print $2 }' "$TMP/metrics")
[ "${n404:-0}" -ge 6 ] || fail "404s not counted: $n404"
n400=$(awk '$1 == "coldstart_http_requests_total{route=\"/recommend\",code=\"400\"}" { print $2 }' "$TMP/metrics")
[ "${n400:-0}" -ge 20 ] || fail "400s not counted: $n400"
# histogram buckets cumulative and ending in _count
awk -F'[ {}]' '/^coldstart_http_request_duration_seconds_bucket\{route="\/recommend"/ { if ($NF < prev) bad = 1; prev = $NF; last = $NF }
  /^coldstart_http_request_duration_seconds_count\{route="\/recommend"/ { if ($NF != last) bad = 1 } END { exit bad }' "$TMP/metrics" ||
  fail "latency histogram not cumulative"
grep -q "^coldstart_model_info{path=\"$TMP/model\",crc=\"[0-9a-f]\{8\}\",space=\"svd\",dim=\"16\"" "$TMP/metrics" ||
  fail "model_info: $(grep model_info "$TMP/metrics")"

# clean stop
kill -TERM "$PID"
wait "$PID" || fail "server exit status $?"
PID=""
grep -q "stopping after" "$TMP/serve.err" || fail "no stop message: $(cat "$TMP/serve.err")"
# the access log: one JSON line per request, with the contract's fields
n_req=$(awk '{ n++ } END { print n }' "$TMP/access.log")
[ "$n_req" -ge 60 ] || fail "access log has $n_req lines"
jq -e -s 'all(.[]; (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.route | type) == "string"
  and (.status | type) == "number" and (.latency_ms | type) == "number" and (.batch_size | type) == "number"
  and (.request_id | length) > 0)' "$TMP/access.log" >/dev/null || fail "access log lines: $(head -3 "$TMP/access.log")"
jq -e -s 'any(.[]; .request_id == "test-id-42" and .route == "/healthz" and .status == 200)' "$TMP/access.log" >/dev/null ||
  fail "access log misses the client's request id"
jq -e -s 'any(.[]; .route == "/recommend" and .status == 200 and .batch_size >= 1)' "$TMP/access.log" >/dev/null ||
  fail "access log misses batch sizes"
echo "serve.sh: ok"

#!/usr/bin/env bash
# serve_reload.sh: the model file under a running server: overwriting it in
# place and truncating it never crash the server (it serves a private
# copy); SIGHUP with an empty or corrupt file is refused (the old model
# keeps serving, failure counted); SIGHUP with a good file swaps it (new
# identity in /metrics and /readyz, new answers), and requests already sent
# when the reload happens are all answered.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
make_model "$TMP" 2
cp "$TMP/model.1" "$TMP/live.model"
start_server "$TMP/live.model" --threads 2
crc() { curl -s "$URL/readyz" | jq -r '.crc'; }
reloads() { echo "$(metric 'coldstart_model_reloads_total{result="success"}') $(metric 'coldstart_model_reloads_total{result="failure"}')"; }
wait_reloads() { # expected "ok fail"
  for _ in $(seq 1 100); do [ "$(reloads)" = "$1" ] && return 0; sleep 0.05; done
  fail "reload counters $(reloads), expected $1"
}
body='{"events": [{"action": "stream", "kind": "song", "item_id": 1}, {"action": "stream", "kind": "song", "item_id": 2}], "strategy": "full", "k": 10}'
answer() { curl -s -X POST --data-binary "$body" "$URL/recommend" | jq -c '[.items[].song_id]'; }
crc1=$(crc)
ans1=$(answer)
[ "$(jq length <<<"$ans1")" = 10 ] || fail "first answer: $ans1"

# overwrite in place (same inode), then truncate: still serving model 1
cp "$TMP/model.2" "$TMP/live.model"
[ "$(answer)" = "$ans1" ] || fail "answer changed without a reload"
truncate -s 0 "$TMP/live.model"
for i in 1 2 3 4 5; do [ "$(answer)" = "$ans1" ] || fail "after truncate: request $i"; done
kill -0 "$PID" || fail "server died when its model file was truncated"

# SIGHUP on the empty file: refused
kill -HUP "$PID"
wait_reloads "0 1"
[ "$(crc)" = "$crc1" ] && [ "$(answer)" = "$ans1" ] || fail "a refused reload changed the model"
grep -q "reload refused" "$TMP/serve.err" || fail "no refusal message"
# a corrupt file (one byte flipped in the middle): refused by its checksum
cp "$TMP/model.2" "$TMP/live.model"
size=$(stat -c %s "$TMP/live.model")
printf '\377' | dd of="$TMP/live.model" bs=1 seek=$((size / 2)) conv=notrunc status=none
kill -HUP "$PID"
wait_reloads "0 2"
grep -q "checksum" "$TMP/serve.err" || fail "corrupt file: no checksum message"
[ "$(crc)" = "$crc1" ] || fail "a corrupt file was loaded"
# a file that is not a model at all
echo "not a model" >"$TMP/live.model"
kill -HUP "$PID"
wait_reloads "0 3"

# a good file: swapped, new identity, new answers
cp "$TMP/model.2" "$TMP/live.model"
kill -HUP "$PID"
wait_reloads "1 3"
crc2=$(crc)
[ "$crc2" != "$crc1" ] || fail "crc unchanged after reload"
grep -q "^coldstart_model_info{.*crc=\"$crc2\"" <(curl -s "$URL/metrics") || fail "model_info not updated"
ans2=$(answer)
[ "$ans2" != "$ans1" ] || fail "answers unchanged after loading another model"
load=$(metric coldstart_model_load_seconds)
awk -v t="$load" 'BEGIN { exit !(t > 0 && t < 10) }' || fail "load seconds: $load"

# requests already sent when a reload happens are all answered
kill -STOP "$PID"
printf '%s\n' "$body" | $PY many "$PORT" 30 >"$TMP/many.out" &
client=$!
for _ in $(seq 1 100); do grep -q sent "$TMP/many.out" 2>/dev/null && break; sleep 0.05; done
cp "$TMP/model.1" "$TMP/live.model"
kill -HUP "$PID"
kill -CONT "$PID"
wait "$client"
[ "$(tail -1 "$TMP/many.out")" = '{"200": 30}' ] || fail "requests across a reload: $(tail -1 "$TMP/many.out")"
wait_reloads "2 3"
[ "$(crc)" = "$crc1" ] && [ "$(answer)" = "$ans1" ] || fail "back to model 1: different answers"
stop_server
echo "serve_reload.sh: ok"

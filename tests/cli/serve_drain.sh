#!/usr/bin/env bash
# serve_drain.sh: SIGTERM drains: every request already sent is answered
# (60 requests sent while the server was stopped, then SIGTERM), new
# connections are refused, /readyz answers 503 on a connection opened
# before, a request half-received finishes, and the process exits 0; a
# request that never completes is cut at --drain-timeout, still exit 0.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
body='{"events": [{"action": "stream", "kind": "song", "item_id": 3}], "k": 20}'

# 60 requests fully sent before SIGTERM are all answered
start_server "$TMP/model.1" --threads 2
kill -STOP "$PID"
printf '%s\n' "$body" | $PY many "$PORT" 60 >"$TMP/many.out" &
client=$!
for _ in $(seq 1 100); do grep -q sent "$TMP/many.out" 2>/dev/null && break; sleep 0.05; done
grep -q sent "$TMP/many.out" || fail "client did not send"
kill -TERM "$PID"
kill -CONT "$PID"
wait "$client"
[ "$(tail -1 "$TMP/many.out")" = '{"200": 60}' ] || fail "drain answered $(tail -1 "$TMP/many.out") of 60"
stop_rc=0
wait "$PID" || stop_rc=$?
PID=""
[ "$stop_rc" = 0 ] || fail "exit status $stop_rc after drain"
grep -q "stopping after" "$TMP/serve.err" || fail "no stop message"

# 30 requests pipelined on one keep-alive connection before SIGTERM, more
# than one round (batches of 4): all
# answered, only the last one with Connection: close
start_server "$TMP/model.1" --threads 1 --batch-max 4
kill -STOP "$PID"
for _ in $(seq 1 30); do printf '%s\n' "$body"; done |
  $PY pipeline-bodies "$PORT" >"$TMP/pipe.out" &
client=$!
sleep 0.5 # the client's bytes reach the stopped server's socket
kill -TERM "$PID"
kill -CONT "$PID"
wait "$client" || true
n=$(grep -c '^200 ' "$TMP/pipe.out" || true)
[ "$n" = 30 ] || fail "drain answered $n of 30 pipelined requests"
stop_rc=0
wait "$PID" || stop_rc=$?
PID=""
[ "$stop_rc" = 0 ] || fail "exit status $stop_rc after draining a pipeline"

# during a drain: new connections refused, half-received requests finish
# (a /readyz among them answers 503), then exit 0
start_server "$TMP/model.1" --threads 2 --drain-timeout 20
mkfifo "$TMP/go_partial" "$TMP/go_ready"
$PY partial "$PORT" <"$TMP/go_partial" >"$TMP/partial.out" &
p_client=$!
exec 7>"$TMP/go_partial"
$PY partial "$PORT" readyz <"$TMP/go_ready" >"$TMP/ready.out" &
r_client=$!
exec 8>"$TMP/go_ready"
for _ in $(seq 1 100); do grep -q sent "$TMP/partial.out" 2>/dev/null && grep -q sent "$TMP/ready.out" 2>/dev/null && break; sleep 0.05; done
t0=$(date +%s.%N)
kill -TERM "$PID"
for _ in $(seq 1 100); do grep -q draining "$TMP/serve.err" && break; sleep 0.05; done
sleep 0.3
echo go >&8
wait "$r_client"
jq -e '.status == 503 and .body.error == "EDRAINING" and .connection == "close"' <(tail -1 "$TMP/ready.out") >/dev/null ||
  fail "readyz during drain: $(tail -1 "$TMP/ready.out")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true)
[ "$code" = 000 ] || fail "a new connection during drain got $code"
kill -0 "$PID" || fail "server left before the half-received request finished"
echo go >&7
wait "$p_client"
jq -e '.status == 200 and .connection == "close"' <(tail -1 "$TMP/partial.out") >/dev/null ||
  fail "half-received request: $(tail -1 "$TMP/partial.out")"
stop_rc=0
wait "$PID" || stop_rc=$?
PID=""
[ "$stop_rc" = 0 ] || fail "exit status $stop_rc"
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a < 10) }' || fail "drain did not end when the last request did"
exec 7>&- 8>&-

# a request that never completes: cut at --drain-timeout 1, exit 0
start_server "$TMP/model.1" --threads 2 --drain-timeout 1 --request-timeout 30
rm -f "$TMP/go_partial"
mkfifo "$TMP/go_partial"
$PY partial "$PORT" <"$TMP/go_partial" >"$TMP/partial.out" &
p_client=$!
exec 7>"$TMP/go_partial"
for _ in $(seq 1 100); do grep -q sent "$TMP/partial.out" 2>/dev/null && break; sleep 0.05; done
t0=$(date +%s.%N)
kill -TERM "$PID"
stop_rc=0
wait "$PID" || stop_rc=$?
PID=""
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
[ "$stop_rc" = 0 ] || fail "exit status $stop_rc after drain timeout"
awk -v t="$t" 'BEGIN { exit !(t >= 0.9 && t < 3) }' || fail "drain timeout 1 s took $t s"
grep -q "drain timeout: closing 1 connection unanswered" "$TMP/serve.err" || fail "no drain-timeout message"
echo go >&7
exec 7>&-
wait "$p_client" || true
echo "serve_drain.sh: ok"

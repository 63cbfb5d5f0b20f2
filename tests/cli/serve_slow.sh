#!/usr/bin/env bash
# serve_slow.sh: slow and greedy clients cannot starve the others: 4,096
# idle connections from one client address (127.0.0.2) while /healthz from
# another answers at once; the per-client cap refuses the excess with a
# JSON 503; a client sending one byte a second gets 408 at the
# whole-request deadline; an idle keep-alive connection is closed at the
# idle timeout; two clients pipelining hundreds of requests are served in
# turns. All on loopback addresses of this machine.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1

# two clients pipelining 300 requests each, on one server thread with
# batches of 4: served in turns, one request of each per pass, not the
# first client's 300 before the second's (the access log is in answer order)
start_server "$TMP/model.1" --threads 1 --batch-max 4 --access-log "$TMP/access.log"
$PY two-pipelines "$PORT" 300 >"$TMP/two.json"
jq -e '.a == 300 and .c == 300' "$TMP/two.json" >/dev/null || fail "two pipelines: $(cat "$TMP/two.json")"
stop_server
ids=$(jq -r 'select(.request_id | test("^[ac]-")) | .request_id[0:1]' "$TMP/access.log" | tr -d '\n')
[ "${#ids}" = 600 ] || fail "access log: ${#ids} of 600 requests"
# once both connections are ready they alternate: after the first
# answer to c, no run of a's answers longer than 4 (one batch)
rest=${ids#*c}
longest=$(grep -o 'a*' <<<"$rest" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$longest" -le 4 ] || fail "a pipelining client took $longest answers in a row: ${ids:0:120}..."
start_server "$TMP/model.1" --threads 2 --request-timeout 2 --idle-timeout 3 \
  --max-conns-per-client 64 --max-connections 10000

# 4,096 idle connections from 127.0.0.2, held for 3 s
$PY flood "$PORT" 4096 127.0.0.2 3 >"$TMP/flood.json" &
flood=$!
for _ in $(seq 1 100); do [ -s "$TMP/flood.json" ] && break; sleep 0.1; done
[ -s "$TMP/flood.json" ] || fail "flood did not start"
jq -e '.opened == 4096 and .rejected_503 >= 4000' "$TMP/flood.json" >/dev/null || fail "flood: $(cat "$TMP/flood.json")"
# meanwhile another client is served at once
for i in 1 2 3 4 5; do
  t=$(curl -s -o "$TMP/b" -w '%{http_code} %{time_total}' --max-time 2 "$URL/healthz") || fail "healthz under flood: curl failed"
  [ "${t%% *}" = 200 ] || fail "healthz under flood: $t"
  awk -v t="${t#* }" 'BEGIN { exit !(t < 0.5) }' || fail "healthz under flood took ${t#* } s"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "$URL/recommend")" = 200 ] || fail "recommend under flood"
rej=$(metric 'coldstart_http_connections_rejected_total{reason="per_client"}')
[ "$rej" -ge 4000 ] || fail "per-client rejections counted: $rej"
open=$(metric coldstart_http_connections)
[ "$open" -le 80 ] || fail "connections open under the cap: $open"
wait "$flood"

# one byte a second: 408 at the 2 s deadline, not held forever
out=$($PY slow "$PORT" 8)
jq -e '.status == 408 and .body.error == "ETIMEOUT" and .seconds < 4.5' <<<"$out" >/dev/null || fail "slow client: $out"
[ "$(metric 'coldstart_http_timeouts_total{kind="request"}')" -ge 1 ] || fail "request timeout not counted"

# an idle connection is closed after the 3 s idle timeout
out=$($PY idle "$PORT" 10)
jq -e '.closed and .seconds >= 2.5 and .seconds < 5' <<<"$out" >/dev/null || fail "idle connection: $out"
[ "$(metric 'coldstart_http_timeouts_total{kind="idle"}')" -ge 1 ] || fail "idle timeout not counted"
stop_server
echo "serve_slow.sh: ok"

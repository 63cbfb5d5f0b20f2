#!/usr/bin/env bash
# serve_slow.sh: slow and greedy clients cannot starve the others: 4,096
# idle connections from one client address (127.0.0.2) while /healthz from
# another answers at once; the per-client cap refuses the excess with a
# JSON 503; a client sending one byte a second gets 408 at the
# whole-request deadline; an idle keep-alive connection is closed at the
# idle timeout. All on loopback addresses of this machine.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
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

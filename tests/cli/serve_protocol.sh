#!/usr/bin/env bash
# serve_protocol.sh: HTTP/1.1 framing over raw sockets: pipelining (10 GET
# in one write, 10 answers in order), conflicting Content-Length, the
# protocol errors (400, 411, 413, 414, 431, 505) each with a JSON body,
# Expect: 100-continue, a client that half-closes after its requests.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
start_server "$TMP/model.1" --threads 2 --max-body 4096

# 10 pipelined GET /health in one write: 10 answers, all kept alive
out=$($PY pipeline "$PORT" GET /health 10)
[ "$(jq 'length' <<<"$out")" = 10 ] || fail "pipelined GET: $(jq 'length' <<<"$out") answers"
jq -e 'all(.[]; .status == 200 and .body.status == "ok" and (.headers.connection // "") != "close")' <<<"$out" >/dev/null ||
  fail "pipelined GET replies: $out"
out=$($PY pipeline "$PORT" HEAD /healthz 5)
[ "$(jq 'length' <<<"$out")" = 5 ] || fail "pipelined HEAD: $out"
out=$($PY pipeline "$PORT" GET /nope 5)
jq -e 'length == 5 and all(.[]; .status == 404 and .body.error == "ENOTFOUND")' <<<"$out" >/dev/null || fail "pipelined 404: $out"

# mixed pipeline: order kept across the batch (recommend) and the rest
printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nX-Request-Id: a1\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: a2\r\n\r\nPOST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\nX-Request-Id: a3\r\n\r\n{"k": -1}GET /readyz HTTP/1.1\r\nHost: t\r\nX-Request-Id: a4\r\n\r\nPOST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\nX-Request-Id: a5\r\n\r\n{"k": 3}' >"$TMP/mixed"
out=$($PY raw "$PORT" 5 <"$TMP/mixed")
[ "$(jq -c '[.[] | [.headers["x-request-id"], .status]]' <<<"$out")" = '[["a1",200],["a2",200],["a3",400],["a4",200],["a5",200]]' ] ||
  fail "mixed pipeline order: $(jq -c '[.[] | [.headers["x-request-id"], .status]]' <<<"$out")"
jq -e '.[4].body.items | length == 3' <<<"$out" >/dev/null || fail "mixed pipeline: k=3 answer"

# protocol errors: status, JSON body, connection closed
expect_error() { # status name: raw request on stdin
  local want=$1 name=$2 got
  got=$($PY raw "$PORT" 2)
  jq -e --argjson s "$want" --arg n "$name" 'length == 1 and .[0].status == $s and .[0].body.error == $n
    and (.[0].body.message | length) > 0 and .[0].headers.connection == "close"
    and (.[0].headers["content-type"] == "application/json")' <<<"$got" >/dev/null ||
    fail "expected $want $name: $got"
}
printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}' | expect_error 400 EFORMAT
printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 2\r\n\r\n{}' | expect_error 400 EFORMAT
printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' | expect_error 411 ELENGTH
printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}' | expect_error 400 EFORMAT
printf 'GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n' | expect_error 505 EVERSION
printf 'GET /healthz HTTP/1.1\r\n\r\n' | expect_error 400 EFORMAT
printf 'GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n' | expect_error 400 EFORMAT
printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n' | expect_error 400 EFORMAT
printf 'garbage\r\n\r\n' | expect_error 400 EFORMAT
{ printf 'GET /'; head -c 10000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\nHost: t\r\n\r\n'; } | expect_error 414 ETOOBIG
{ printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n'; for i in $(seq 1 300); do printf 'X-Pad-%d: %0100d\r\n' "$i" 0; done; printf '\r\n'; } |
  expect_error 431 ETOOBIG
printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n' | expect_error 413 ETOOBIG
# HTML never: the same errors through curl
code=$(curl -s -o "$TMP/b" -w '%{http_code}' --http1.1 -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' b)" "$URL/healthz")
[ "$code" = 431 ] && jq -e '.error == "ETOOBIG"' "$TMP/b" >/dev/null || fail "curl 431: $code $(head -c 200 "$TMP/b")"

# Expect: 100-continue: the interim reply, then the answer
out=$(printf 'POST /recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n' | $PY raw "$PORT" 1)
jq -e '.[0].status == 100' <<<"$out" >/dev/null || fail "no 100 Continue: $out"
# curl sends a 3 KB body with Expect and gets the answer at once
body="{\"events\": [$(for i in $(seq 1 60); do printf '%s{"action": "stream", "kind": "song", "item_id": %d}' "$([ "$i" = 1 ] || echo ,)" "$i"; done)]}"
t=$(curl -s -o "$TMP/b" -w '%{http_code} %{time_total}' -H 'Expect: 100-continue' -X POST --data-binary "$body" "$URL/recommend")
[ "${t%% *}" = 200 ] || fail "expect-continue POST: $t"
awk -v t="${t#* }" 'BEGIN { exit !(t < 0.9) }' || fail "expect-continue waited for curl's 1 s timeout: $t"

# a client that sends its requests then half-closes still gets every answer
out=$(printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n' | $PY raw "$PORT" 3 shutdown)
jq -e 'length == 2 and all(.[]; .status == 200)' <<<"$out" >/dev/null || fail "half-close: $out"
# HTTP/1.0: closes unless asked to keep alive
out=$(printf 'GET /healthz HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n' | $PY raw "$PORT" 2)
jq -e 'length == 1 and .[0].headers.connection == "close"' <<<"$out" >/dev/null || fail "HTTP/1.0: $out"
out=$(printf 'GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n' | $PY raw "$PORT" 2)
jq -e 'length == 2 and .[0].headers.connection == "keep-alive"' <<<"$out" >/dev/null || fail "HTTP/1.0 keep-alive: $out"

# the server is still healthy after all of it
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] || fail "not healthy at the end"
stop_server
echo "serve_protocol.sh: ok"

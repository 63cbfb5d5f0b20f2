# lib.sh: what the black-box server tests share (sourced, not run): a tiny
# trained model, starting/stopping `coldstart serve` on 127.0.0.1 with a
# port file, and failing with a message.
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY="python3 $HERE/client.py"
TMP=$(mktemp -d "${CS_TMP:-/tmp}/serve.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "$(basename "$0"): $*" >&2; [ -s "$TMP/serve.err" ] && sed 's/^/  server: /' "$TMP/serve.err" | tail -20 >&2; exit 1; }

# make_model DIR SEED: logs, dataset and model of a tiny synthetic world
make_model() {
  local dir=$1 seed=${2:-1}
  [ -s "$dir/logs/events.tsv" ] || "$CS" synth --scale tiny --seed 3 --out "$dir/logs" --quiet
  [ -s "$dir/ds" ] || "$CS" prepare --logs "$dir/logs" --space svd --dim 16 --seed 1 --out "$dir/ds" --quiet
  "$CS" train "$dir/ds" --out "$dir/model.$seed" --clusters 30 --input-clusters 8 \
    --epochs 3 --seed "$seed" --quiet
}

# start_server MODEL [flags...]: sets PID, PORT, URL
start_server() {
  rm -f "$TMP/port"
  "$CS" serve "$@" --port 0 --port-file "$TMP/port" 2>"$TMP/serve.err" &
  PID=$!
  for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
  [ -s "$TMP/port" ] || fail "server did not start"
  PORT=$(cat "$TMP/port")
  URL="http://127.0.0.1:$PORT"
}

# stop_server: SIGTERM, expect exit 0
stop_server() {
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  PID=""
  [ "$rc" = 0 ] || fail "server exit status $rc after SIGTERM"
}

# metric NAME_WITH_LABELS: its value from /metrics
metric() {
  curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }'
}

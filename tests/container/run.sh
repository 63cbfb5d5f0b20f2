#!/usr/bin/env bash
# tests/container/run.sh: the container image for real, with podman: builds
# the image (deploy/image.sh), runs it the way production does (non-root,
# read-only root filesystem, no capabilities, the model directory a read-only
# volume, the port published on 127.0.0.1 only), and checks over the
# published port: /readyz and /healthz, the image's HEALTHCHECK, a
# recommendation equal to the offline `coldstart recommend` for the same user,
# a SIGHUP reload to a second model (file replaced by rename in the volume,
# then `podman kill --signal HUP`: /metrics shows the reload and the answers
# become the second model's), a refused bad model (the old one keeps serving),
# and a SIGTERM drain (`podman stop`: a request already being received is
# answered, the drain is logged, exit status 0). Cleans up even on failure.
# Not part of `make test` (it builds an image: ~1 min); `make container-test`.
# Usage: tests/container/run.sh
#   CS_KEEP=1 keep the temp directory and the container for inspection.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# = 0 ] || { echo "usage: tests/container/run.sh (no arguments)" >&2; exit 2; }
# the drain log line the server writes on SIGTERM (docs/api.md: "draining",
# then "drained in")
DRAIN_LOG_RE=${CS_DRAIN_LOG_RE:-drain}
# rootful podman, as on our machines (rootless would need slirp4netns and
# subuids, and maps the container's uid elsewhere)
# shellcheck disable=SC2032,SC2033
[ "$(id -u)" -eq 0 ] || podman() { sudo podman "$@"; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1fs", b - a }'; }
say() { echo "container: [$(elapsed)] $*"; }
ok() { say "ok    $*"; }

name=coldstart-test-$$
TMP=$(mktemp -d "${CS_TMP:-/tmp}/coldstart-container.XXXXXX")
started=0
slow_pid=""
cleanup() {
  local rc=$?
  [ -n "$slow_pid" ] && kill "$slow_pid" 2>/dev/null
  if [ "${CS_KEEP:-0}" = 1 ]; then
    echo "container: kept $TMP and container $name" >&2
  else
    [ "$started" = 1 ] && podman rm -f -t 0 "$name" >/dev/null 2>&1
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
fail() {
  echo "container: FAIL  $*" >&2
  if [ "$started" = 1 ]; then
    echo "--- container log (last 30 lines):" >&2
    podman logs "$name" 2>&1 | tail -30 >&2 || true
  fi
  exit 1
}

# --- the image -------------------------------------------------------------
say "building the image (deploy/image.sh)"
read -r tag image size < <(CS_IIDFILE="$TMP/iid" deploy/image.sh localhost/coldstart:latest) ||
  fail "deploy/image.sh failed"
[ -n "$image" ] || fail "deploy/image.sh printed no image id"
ok "image $tag ${image:7:12}, $((size / 1000000)) MB"
CS=$PWD/build/container/ctx/coldstart # the image's own program, for the offline answers
[ -x "$CS" ] || fail "no program at $CS"

# --- a tiny world, two models and the offline answers of both ---------------
"$CS" synth --scale tiny --seed 3 --out "$TMP/logs" --quiet >/dev/null
"$CS" prepare --logs "$TMP/logs" --space svd --dim 16 --seed 1 --out "$TMP/ds" --quiet
for seed in 1 2; do
  "$CS" train "$TMP/ds" --out "$TMP/m$seed" --clusters 30 --input-clusters 8 \
    --epochs 3 --seed "$seed" --quiet
  "$CS" recommend "$TMP/m$seed" "$TMP/ds" --split test --strategy soft --k 20 --users 1 \
    --quiet >"$TMP/offline$seed.json"
done
answer() { jq -c '{u: .user_id, songs: [.items[].song_id], clusters: [.memberships[].cluster]}' "$1"; }
want1=$(answer "$TMP/offline1.json")
want2=$(answer "$TMP/offline2.json")
[ "$want1" != "$want2" ] || fail "the two models give the same answer: a reload would not show"
# The same user as a raw-event request, rebuilt from the logs (as tests/cli/serve.sh).
uid=$(jq -r '.user_id' "$TMP/offline1.json")
read -r reg age country < <(awk -F'\t' -v u="$uid" 'NR > 1 && $1 == u {
  print $2, ($3 == "" ? "null" : $3), ($4 == "" ? "null" : "\"" $4 "\"") }' "$TMP/logs/users.tsv")
[ -n "$reg" ] || fail "user $uid not in users.tsv"
events=$(awk -F'\t' -v u="$uid" -v d="$reg" 'NR > 1 && $1 == u && $2 == d {
  printf "%s{\"action\": \"%s\", \"kind\": \"%s\", \"item_id\": %s}", sep, $3, $4, $5; sep = ", " }' \
  "$TMP/logs/events.tsv")
printf '{"user_id": %s, "age": %s, "country": %s, "events": [%s], "strategy": "soft", "k": 20}' \
  "$uid" "$age" "$country" "$events" >"$TMP/request.json"
mkdir -p "$TMP/models"
cp "$TMP/m1" "$TMP/models/current.model"
chmod 0755 "$TMP/models"
chmod 0644 "$TMP/models/current.model"
ok "tiny world, models m1 and m2, offline answers for user $uid"

# --- run it as production does ----------------------------------------------
health_args=()
# podman runs the HEALTHCHECK from a systemd timer; without systemd the
# timer cannot be made (podman logs an error and runs the container anyway):
# the check is then run by hand below.
[ -S /run/systemd/private ] || health_args+=(--health-interval disable)
run_t0=$(date +%s.%N)
podman run -d --name "$name" --read-only --cap-drop all --security-opt no-new-privileges \
  --memory 1g --pids-limit 256 -v "$TMP/models:/models:ro" -p 127.0.0.1::8080 \
  "${health_args[@]}" "$image" >"$TMP/run.out" 2>"$TMP/run.err" ||
  fail "podman run: $(cat "$TMP/run.err")"
started=1
code=000
URL=""
for _ in $(seq 1 300); do
  [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] ||
    fail "not ready: the container exited (status $(podman inspect -f '{{.State.ExitCode}}' "$name"))"
  if [ -z "$URL" ]; then
    hostport=$(podman port "$name" 8080/tcp 2>/dev/null | head -1 || true)
    case "$hostport" in
    127.0.0.1:*) ok "port 8080 published on $hostport only" ;;
    *) fail "port published as '$hostport', not on 127.0.0.1" ;;
    esac
    URL="http://$hostport"
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || fail "not ready: GET /readyz gave $code"
ok "ready: GET /readyz 200, $(awk -v a="$run_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after podman run"

# --- how it runs ------------------------------------------------------------
pid=$(podman inspect -f '{{.State.Pid}}' "$name")
uid_line=$(awk '/^Uid:/ { print $2, $3 }' "/proc/$pid/status")
[ "$uid_line" = "10001 10001" ] || fail "the server runs as uid '$uid_line', not 10001"
[ "$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$name")" = true ] || fail "root filesystem is writable"
rw=$(podman inspect -f '{{range .Mounts}}{{if eq .Destination "/models"}}{{.RW}}{{end}}{{end}}' "$name")
[ "$rw" = false ] || fail "/models is mounted read-write ('$rw')"
ok "runs as uid 10001, read-only root filesystem, /models read-only"
podman healthcheck run "$name" >"$TMP/hc.out" 2>&1 || fail "HEALTHCHECK: $(cat "$TMP/hc.out")"
[ "$(podman inspect -f '{{.State.Health.Status}}' "$name")" = healthy ] || fail "health status not healthy"
ok "HEALTHCHECK (cs-probe) healthy"
code=$(curl -s -o "$TMP/healthz" -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] || fail "GET /healthz: $code"
# /health (kept for older clients, docs/api.md): the served model's shape
curl -sf "$URL/health" | jq -e '.status == "ok" and .dim == 16' >/dev/null || fail "/health: $(curl -s "$URL/health")"
ok "GET /healthz 200, /health 200 (dim 16)"

# --- a recommendation equal to the offline one --------------------------------
post() { # $1: output file; prints the status
  curl -s -o "$1" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$TMP/request.json" "$URL/recommend"
}
code=$(post "$TMP/online1.json")
[ "$code" = 200 ] || fail "POST /recommend: HTTP $code $(cat "$TMP/online1.json")"
got=$(answer "$TMP/online1.json")
[ "$got" = "$want1" ] || fail "online $got != offline $want1"
ok "POST /recommend equals the offline answer (user $uid, 20 songs, 5 segments)"

# --- reload: a second model, then a bad file ---------------------------------
metric_lines() { # $1: regex on the metric name: "name{labels} value" lines
  curl -sf "$URL/metrics" | awk -v re="$1" '!/^#/ { n = $1; sub(/\{.*/, "", n); if (n ~ re) print }'
}
replace_model() { # $1: new content; renamed into place, as a deploy would
  cp "$1" "$TMP/models/.current.model.new"
  chmod 0644 "$TMP/models/.current.model.new"
  mv -f "$TMP/models/.current.model.new" "$TMP/models/current.model"
}
wait_answer() { # $1: wanted answer; waits up to 10 s
  for _ in $(seq 1 100); do
    [ "$(post "$TMP/online.json")" = 200 ] && [ "$(answer "$TMP/online.json")" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
# The reload counters (docs/api.md: coldstart_model_reloads_total{result=
# "success"|"failure"}): the sum of the reload series whose line matches $1.
reloads() { metric_lines reload | awk -v re="$1" '$0 ~ re { s += $NF } END { print s + 0 }'; }
# The served model's identity: every model series but the reload counters
# (coldstart_model_info{crc=...}, its size, load time and timestamp).
identity() { metric_lines model | grep -v reload || true; }
code=$(curl -s -o "$TMP/metrics0" -w '%{http_code}' "$URL/metrics")
[ "$code" = 200 ] && grep -q '^# TYPE ' "$TMP/metrics0" || fail "GET /metrics: $code $(head -5 "$TMP/metrics0")"
[ -n "$(metric_lines reload)" ] && [ -n "$(identity)" ] ||
  fail "/metrics has no reload counters or model identity: $(grep -v '^#' "$TMP/metrics0" | grep -v _bucket | head -40)"
ok0=$(reloads success)
bad0=$(reloads fail)
id0=$(identity)
replace_model "$TMP/m2"
podman kill --signal HUP "$name" >/dev/null
wait_answer "$want2" || fail "after SIGHUP the answer is $(answer "$TMP/online.json"), not m2's $want2"
[ "$(reloads success)" = $((ok0 + 1)) ] && [ "$(reloads fail)" = "$bad0" ] ||
  fail "/metrics after one good reload: $(metric_lines reload | tr '\n' ' ')"
id1=$(identity)
[ "$id1" != "$id0" ] || fail "/metrics model identity did not change on reload: $id1"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] || fail "/readyz after reload"
ok "SIGHUP reload: answers are m2's; /metrics: one more successful reload, a new model identity"
printf 'this is not a coldstart model\n' >"$TMP/bad"
replace_model "$TMP/bad"
podman kill --signal HUP "$name" >/dev/null
for _ in $(seq 1 100); do
  [ "$(reloads fail)" = $((bad0 + 1)) ] && break
  sleep 0.1
done
[ "$(reloads fail)" = $((bad0 + 1)) ] && [ "$(reloads success)" = $((ok0 + 1)) ] ||
  fail "/metrics after a bad file: $(metric_lines reload | tr '\n' ' ')"
[ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || fail "the server died on a bad model"
code=$(post "$TMP/online.json")
[ "$code" = 200 ] && [ "$(answer "$TMP/online.json")" = "$want2" ] ||
  fail "after a refused reload: HTTP $code $(answer "$TMP/online.json"), not m2's answer"
[ "$(identity)" = "$id1" ] || fail "model identity changed on a refused reload: $(identity)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] || fail "/readyz after a refused reload"
ok "bad model refused on SIGHUP: one failed reload in /metrics, m2 keeps serving"
replace_model "$TMP/m2"

# --- drain: SIGTERM while a request is being received -------------------------
# The request's headers go now, its body 1.5 s later; SIGTERM comes between.
len=$(wc -c <"$TMP/request.json")
(
  sleep 1.5
  cat "$TMP/request.json"
) | curl -s -o "$TMP/slow.json" -w '%{http_code}' -X POST -T - -H "Content-Length: $len" -H 'Expect:' -H 'Transfer-Encoding:' \
  -H 'Content-Type: application/json' --max-time 30 "$URL/recommend" >"$TMP/slow.code" 2>&1 &
slow_pid=$!
sleep 0.5
stop_t0=$(date +%s.%N)
podman stop -t 30 "$name" >/dev/null 2>"$TMP/stop.err" || fail "podman stop: $(cat "$TMP/stop.err")"
stop_s=$(awk -v a="$stop_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
wait "$slow_pid" || true
slow_pid=""
status=$(podman inspect -f '{{.State.ExitCode}}' "$name")
[ "$status" = 0 ] || fail "exit status $status after SIGTERM (stopped in $stop_s s)"
ok "SIGTERM: exit status 0 after $stop_s s"
slow_code=$(cat "$TMP/slow.code")
[ "$slow_code" = 200 ] && [ "$(answer "$TMP/slow.json")" = "$want2" ] ||
  fail "the request in flight at SIGTERM got HTTP $slow_code $(head -c 300 "$TMP/slow.json")"
ok "the request being received at SIGTERM was answered (HTTP 200, the right songs)"
podman logs "$name" >"$TMP/log" 2>&1
grep -Ei -- "$DRAIN_LOG_RE" "$TMP/log" >"$TMP/drain.log" || fail "no drain line (/$DRAIN_LOG_RE/) in the log"
ok "drain logged: $(tail -1 "$TMP/drain.log" | cut -c1-120)"
say "passed"

#!/usr/bin/env bash
# measure-memory.sh: the memory the service needs in its container, for the
# resource requests of deploy/k8s.yaml. Runs the image on a model (default:
# the deezer-scale world of bench/world.sh), reads the server's resident set
# (VmRSS, and VmHWM = its peak) and the container cgroup's usage (what the
# kubelet sees) idle after load, then after 10 s of wrk load with the real
# registration-day requests of the cohort (bench/serve.lua, 16 connections),
# then across a SIGHUP reload (old and new model side by side), and prints
# one table. One run, no loop: numbers for a request, not a benchmark.
# Usage: deploy/measure-memory.sh [MODEL [REQUESTS.jsonl]]
set -euo pipefail
cd "$(dirname "$0")/.."
# rootful podman, as on our machines (rootless would need slirp4netns and
# subuids, and maps the container's uid elsewhere)
# shellcheck disable=SC2032,SC2033
[ "$(id -u)" -eq 0 ] || podman() { sudo podman "$@"; }
if [ $# -ge 1 ]; then
  model=$1
  bodies=${2:-}
else
  dir=$(nice -n 10 bench/world.sh deezer)
  model=$dir/deezer.model
  bodies=$dir/requests.jsonl
  if [ ! -s "$bodies" ]; then
    from=$(awk -F'\t' 'NR > 1 && $2 > m { m = $2 } END { print m - 6 }' "$dir/logs/users.tsv")
    awk -F'\t' -v from="$from" -v max=20000 -f bench/serve_requests.awk \
      "$dir/logs/users.tsv" "$dir/logs/events.tsv" >"$bodies.tmp"
    mv "$bodies.tmp" "$bodies"
  fi
fi
[ -s "$model" ] || { echo "measure-memory: no model at $model" >&2; exit 1; }
command -v wrk >/dev/null || scripts/deps.sh bench
read -r _ image _ < <(deploy/image.sh localhost/coldstart:latest)
[ -n "${image:-}" ] || exit 1
name=coldstart-mem-$$
tmp=$(mktemp -d)
trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/models"
chmod 0755 "$tmp/models"
# A copy whose pages are dropped from the page cache, so that the container
# reads the model itself and its cgroup is charged for it, as in a new pod.
cp "$model" "$tmp/models/current.model"
chmod 0644 "$tmp/models/current.model"
sync "$tmp/models/current.model"
dd if="$tmp/models/current.model" iflag=nocache count=0 status=none
t_start=$(date +%s.%N)
podman run -d --name "$name" --read-only --cap-drop all -v "$tmp/models:/models:ro" \
  -p 127.0.0.1::8080 --health-interval disable "$image" >/dev/null 2>"$tmp/run.err"
url="http://$(podman port "$name" 8080/tcp | head -1)"
for _ in $(seq 1 600); do
  curl -sf -o /dev/null "$url/readyz" && break
  [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || { podman logs "$name" >&2; exit 1; }
  sleep 0.1
done
curl -sf -o /dev/null "$url/readyz" || { echo "measure-memory: not ready" >&2; exit 1; }
t_ready=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
pid=$(podman inspect -f '{{.State.Pid}}' "$name")
cg=$(awk -F: '$2 == "memory" || $2 == "" { print $3; exit }' "/proc/$pid/cgroup")
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
cgroup_now() {
  if [ -f "/sys/fs/cgroup/memory$cg/memory.usage_in_bytes" ]; then
    cat "/sys/fs/cgroup/memory$cg/memory.usage_in_bytes"
  else cat "/sys/fs/cgroup$cg/memory.current"; fi
}
cgroup_peak() {
  if [ -f "/sys/fs/cgroup/memory$cg/memory.max_usage_in_bytes" ]; then
    cat "/sys/fs/cgroup/memory$cg/memory.max_usage_in_bytes"
  else cat "/sys/fs/cgroup$cg/memory.peak" 2>/dev/null || echo 0; fi
}
idle_rss=$(status_kib VmRSS)
idle_cg=$(cgroup_now)
BODIES="$bodies" wrk -t1 -c16 -d10s -s bench/serve.lua "$url" >"$tmp/wrk.txt"
rps=$(awk '/^Requests\/sec/ { print $2 }' "$tmp/wrk.txt")
load_rss=$(status_kib VmRSS)
hwm=$(status_kib VmHWM)
load_cg=$(cgroup_now)
peak_cg=$(cgroup_peak)
# a SIGHUP reload of the same model, copied and renamed into place: the new
# copy is loaded beside the old one, the peak shows both
cp "$tmp/models/current.model" "$tmp/models/.next.model"
sync "$tmp/models/.next.model"
dd if="$tmp/models/.next.model" iflag=nocache count=0 status=none
mv -f "$tmp/models/.next.model" "$tmp/models/current.model"
reloads() { curl -sf "$url/metrics" | awk '/^coldstart_model_reloads_total\{result="success"\}/ { print $2 }'; }
before=$(reloads)
podman kill --signal HUP "$name" >/dev/null
for _ in $(seq 1 600); do [ "$(reloads)" != "$before" ] && break; sleep 0.1; done
[ "$(reloads)" != "$before" ] || { podman logs "$name" >&2; echo "measure-memory: no reload" >&2; exit 1; }
sleep 1
reload_row="| after a SIGHUP reload (now / peak) | $(kib_mib "$(status_kib VmRSS)") / $(kib_mib "$(status_kib VmHWM)") | $(mib "$(cgroup_now)") / $(mib "$(cgroup_peak)") |"
cat <<EOT
model: $model ($(mib "$(stat -c %s "$model")") MiB file), ready in $t_ready s after podman run
| when | server RSS (MiB) | container cgroup usage (MiB) |
| --- | --- | --- |
| ready, idle | $(kib_mib "$idle_rss") | $(mib "$idle_cg") |
| after 10 s of load ($rps req/s, 16 connections) | $(kib_mib "$load_rss") | $(mib "$load_cg") |
| peak | $(kib_mib "$hwm") | $(mib "$peak_cg") |
$reload_row
EOT

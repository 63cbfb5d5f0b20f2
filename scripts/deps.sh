#!/usr/bin/env bash
# deps.sh: install the Debian packages coldstart needs, only those missing.
# A second run, with everything present, does nothing and returns at once.
# Usage: scripts/deps.sh [build|bench|container]
#   bench adds the reference tools; container adds what deploy/image.sh and
#   tests/container/ need: podman with runc (not crun: crun fails on our
#   machines), the CNI plugins for the bridge network and the published port,
#   debootstrap (CS_BASE=debian) and python3-yaml (tests/container/k8s.sh).
set -euo pipefail
build_pkgs="build-essential pkg-config libopenblas-dev liblapacke-dev libcmocka-dev
  libzstd-dev libsnappy-dev liblz4-dev zlib1g-dev libmicrohttpd-dev libjansson-dev
  clang libclang-rt-14-dev curl jq"
bench_pkgs="python3-numpy python3-torch python3-sklearn python3-faiss hyperfine wrk"
container_pkgs="podman runc containernetworking-plugins iptables debootstrap python3-yaml"
case "${1:-build}" in
build) want="$build_pkgs" ;;
bench) want="$build_pkgs $bench_pkgs" ;;
container) want="$build_pkgs $container_pkgs" ;;
*) echo "usage: scripts/deps.sh [build|bench|container]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2

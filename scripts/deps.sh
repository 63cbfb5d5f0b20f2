#!/usr/bin/env bash
# deps.sh: install the Debian packages coldstart needs, only those missing.
# A second run, with everything present, does nothing and returns at once.
# Usage: scripts/deps.sh [build|bench]   (bench adds the reference tools)
set -euo pipefail
build_pkgs="build-essential pkg-config libopenblas-dev liblapacke-dev libcmocka-dev
  libzstd-dev libsnappy-dev liblz4-dev zlib1g-dev libjansson-dev
  clang libclang-rt-14-dev curl jq python3"
bench_pkgs="python3-numpy python3-torch python3-sklearn python3-faiss hyperfine wrk"
want="$build_pkgs"
[ "${1:-build}" = "bench" ] && want="$build_pkgs $bench_pkgs"
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

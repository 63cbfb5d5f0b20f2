#!/usr/bin/env bash
# deps.sh: install the Debian packages coldstart needs, only those missing.
# A second run, with everything present, does nothing and returns at once.
# Then the npm packages of tests/node (onnxruntime-node, pinned by its
# package-lock.json; its CPU library ships inside the package, so
# --ignore-scripts installs it without any download step of its own).
# Usage: scripts/deps.sh [build|bench|container]
# The default (build) also installs what the test suite runs besides our
# programs: headless Chromium and a font to render the HTML report
# (tests/cli/report.sh) and python3 (stdlib only) to read its screenshot and
# parse its SVGs. bench adds the reference tools; container adds what
# deploy/image.sh and tests/container/ need: podman with runc (not crun:
# crun fails on our machines), the CNI plugins for the bridge network and the
# published port, debootstrap (CS_BASE=debian) and python3-yaml
# (tests/container/k8s.sh).
# OpenMPI (libopenmpi-dev, openmpi-bin) is the engine of multi-process runs
# (`mpirun -np N coldstart prepare|train|evaluate`, docs/mpi.md).
set -euo pipefail
cd "$(dirname "$0")/.."
npm_deps() {
  [ -d tests/node/node_modules/onnxruntime-node ] && return 0
  echo "deps: npm ci --ignore-scripts --prefix tests/node" >&2
  npm ci --ignore-scripts --no-audit --no-fund --prefix tests/node >&2
}
build_pkgs="build-essential pkg-config libopenblas-dev liblapacke-dev libcmocka-dev
  libzstd-dev libsnappy-dev liblz4-dev zlib1g-dev libjansson-dev
  clang libclang-rt-14-dev curl jq libopenmpi-dev openmpi-bin"
test_pkgs="chromium fonts-dejavu-core python3"
bench_pkgs="python3-numpy python3-torch python3-sklearn python3-faiss hyperfine wrk"
command -v npm >/dev/null || build_pkgs="$build_pkgs nodejs npm"
container_pkgs="podman runc containernetworking-plugins iptables debootstrap python3-yaml"
case "${1:-build}" in
build) want="$build_pkgs $test_pkgs" ;;
bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
container) want="$build_pkgs $test_pkgs $container_pkgs" ;;
*) echo "usage: scripts/deps.sh [build|bench|container]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  npm_deps
  exit 0
fi
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
npm_deps

#!/usr/bin/env bash
# run.sh: the main job (`make run`): the pipeline as far as it exists today.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
"$BUILD/coldstart" --version

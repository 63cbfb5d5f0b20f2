#!/usr/bin/env bash
# layering.sh: no library folder includes one later in the pipeline
# (docs/architecture.md; scripts/include_order.sh does the check).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/include_order.sh

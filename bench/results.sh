#!/usr/bin/env bash
# results.sh: compile bench/RESULTS.md from the per-benchmark tables that
# each bench script writes under bench/results/ (one file per topic).
set -euo pipefail
cd "$(dirname "$0")"
{
  echo "# Benchmark results"
  echo
  echo "Each section is written by its script (named in the heading) on this"
  echo "project's 2-core machine; the scripts run the reference tool and"
  echo "coldstart on the same data in one run and report medians and ratios."
  echo "Regenerate a section with its script, then run bench/results.sh."
  echo "Compiled $(date -u +%Y-%m-%d)."
  for f in summary kmeans regressor scoring serve parquet parquet_import prepare als; do
    [ -f "results/$f.md" ] || continue
    echo
    cat "results/$f.md"
  done
  for f in results/*.md; do
    case "$(basename "$f" .md)" in
      summary|kmeans|regressor|scoring|serve|parquet|parquet_import|prepare|als) ;;
      *) echo; cat "$f" ;;
    esac
  done
} >RESULTS.md.tmp
mv RESULTS.md.tmp RESULTS.md
echo "bench/RESULTS.md written"

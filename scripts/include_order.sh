#!/bin/sh
# include_order.sh: checks the include rule of docs/architecture.md: no
# library file of a src/ folder includes, directly or through a public
# header, a header of a later stage or of a peer on its own stage. A
# public header coldstart/X.h counts as the folder that implements it; an
# internal header "folder/x.h" as that folder. Test files (*_test.c) may
# include later stages (they build fixtures by training) and are listed
# separately, for information. Exit status 1 on a violation.
#   scripts/include_order.sh [-v]     (-v: also list the test-only includes)
cd "$(dirname "$0")/.." || exit 2
verbose=${1:-}

# Stage of each folder, in the order of docs/architecture.md (equal: peers).
ranks='core 0
dist 1
parquet 1
data 2
embed 3
features 4
prepare 5
importer 5
synth 5
model 6
recommend 7
evaluate 8
serve 8
onnx 8
train 9
report 9
cli 10
fuzz 10'

# Public header -> the folder that implements it.
home() {
  case "$1" in
    arena|container|ctx|error|fmt|io|mat|rng|sparse|topk) echo core ;;
    dist) echo dist ;;
    parquet) echo parquet ;;
    dataset|feature_tables|layout|logs|npy) echo data ;;
    embed) echo embed ;;
    featurize) echo features ;;
    prepare) echo prepare ;;
    importer) echo importer ;;
    synth) echo synth ;;
    model|regressor|segments|centroids) echo model ;;
    train|kmeans|tune) echo train ;;
    strategy) echo recommend ;;
    metrics|evaluate) echo evaluate ;;
    serve) echo serve ;;
    report) echo report ;;
    onnx) echo onnx ;;
    *) echo "UNMAPPED" ;;
  esac
}

edges() { # one line per include: FROM TO lib|test FILE HEADER
  for f in include/coldstart/*.h; do
    from=$(home "$(basename "$f" .h)")
    grep -oE '^#include "[^"]+"' "$f" | sed 's/^#include "//; s/"$//' |
      while read -r inc; do
        case "$inc" in
          coldstart/*) echo "$from $(home "$(basename "$inc" .h)") lib $f $inc" ;;
          *) echo "$from UNMAPPED lib $f $inc" ;;
        esac
      done
  done
  for dir in src/*/; do
    d=$(basename "$dir")
    for f in "$dir"*.c "$dir"*.h "$dir"*.def; do
      [ -f "$f" ] || continue
      case "$f" in *_test.c) kind="test" ;; *) kind="lib" ;; esac
      grep -oE '^#include "[^"]+"' "$f" | sed 's/^#include "//; s/"$//' |
        while read -r inc; do
          case "$inc" in
            coldstart/*) echo "$d $(home "$(basename "$inc" .h)") $kind $f $inc" ;;
            */*) echo "$d ${inc%%/*} $kind $f $inc" ;;
            *) echo "$d $d $kind $f $inc" ;;
          esac
        done
    done
  done
}

edges | awk -v ranks="$ranks" -v verbose="$verbose" '
  BEGIN {
    n = split(ranks, line, "\n")
    for (i = 1; i <= n; i++) { split(line[i], kv, " "); r[kv[1]] = kv[2] }
  }
  {
    from = $1; to = $2
    if (!(from in r) || !(to in r)) {
      printf "unknown folder or header: %s includes %s (%s)\n", $4, $5, to
      bad++
      next
    }
    if (from == to) next
    later = r[to] >= r[from]
    if ($3 == "lib") {
      if (later) {
        printf "VIOLATION: %s (stage %d) includes %s (%s, stage %d)\n", $4, r[from], $5, to, r[to]
        bad++
      } else ok++
    } else if (later) {
      tests++
      if (verbose == "-v") printf "test only: %s includes %s (%s)\n", $4, $5, to
    }
  }
  END {
    printf "include_order: %d cross-folder library includes in order, %d violations; %d test-only includes of later stages\n", ok, bad, tests
    exit bad > 0
  }'

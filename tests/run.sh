#!/usr/bin/env bash
# run.sh: runs the whole test suite: every cmocka unit-test binary under
# $BUILD/tests and every black-box CLI script under tests/cli, then prints one
# closing line "tests: N passed, M failed". Usage: BUILD=build tests/run.sh [filter]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export COLDSTART="$PWD/$BUILD/coldstart"
export CS_TMP=${CS_TMP:-$(mktemp -d /tmp/coldstart-tests.XXXXXX)}
filter=${1:-}
passed=0
failed=0
failed_names=()
run_one() {
  local name=$1
  shift
  local start end log
  log="$CS_TMP/$(basename "$name").log"
  start=$(date +%s.%N)
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    end=$(date +%s.%N)
    printf '  ok    %-40s %6.2fs\n' "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    printf '  FAIL  %s\n' "$name"
    sed 's/^/        /' "$log" | tail -40
  fi
}
for bin in $(find "$BUILD/tests" -type f -name '*_test' 2>/dev/null | sort); do
  [ -n "$filter" ] && [[ "$bin" != *"$filter"* ]] && continue
  run_one "${bin#"$BUILD"/tests/}" "$bin"
done
for script in $(find tests/cli -name '*.sh' 2>/dev/null | sort); do
  [ -n "$filter" ] && [[ "$script" != *"$filter"* ]] && continue
  run_one "$script" bash "$script"
done
rm -rf "$CS_TMP"
echo
if [ "$failed" -gt 0 ]; then echo "failed: ${failed_names[*]}"; fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

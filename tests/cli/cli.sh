#!/usr/bin/env bash
# cli.sh: the program's dispatch contract: help in three forms, --version,
# exit status 2 with usage for unknown commands and bad flags, and an error
# that names the file for a missing input.
set -uo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
fail() { echo "cli.sh: $*" >&2; exit 1; }
expect() { # expect STATUS PATTERN -- command...
  local want=$1 pattern=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*': exit $rc, expected $want: $out"
  [[ "$out" == *"$pattern"* ]] || fail "'$*': output lacks '$pattern': $out"
}
expect 0 "commands:" -- "$CS" --help
expect 0 "soft" -- "$CS" help evaluate
expect 0 "usage: coldstart train" -- "$CS" train --help
expect 0 "coldstart 0." -- "$CS" --version
expect 0 "coldstart 0." -- "$CS" version
expect 2 "unknown command 'frobnicate'" -- "$CS" frobnicate
expect 2 "unknown command 'nope'" -- "$CS" help nope
expect 2 "usage:" -- "$CS"
expect 2 "usage: coldstart evaluate" -- "$CS" evaluate --no-such-flag
expect 2 "--threads: bad value 'x'" -- "$CS" train --threads x
for cmd in synth prepare import-deezer tune train evaluate recommend serve inspect export-npy parquet-schema parquet-dump; do
  expect 0 "usage: coldstart $cmd" -- "$CS" "$cmd" --help
done
expect 66 "/nonexistent/model.cs" -- "$CS" inspect /nonexistent/model.cs
echo "cli.sh: ok"

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

# Every command documents every flag, and documents nothing it rejects:
# `help CMD` = `CMD --help`; each flag line of the help has its text; each
# flag of the usage line is in the help; each flag of the help is accepted
# (given with a value and three operands, the command stops on the operands,
# never on an unrecognized option).
commands=$("$CS" --help | awk '/^commands:/ { on = 1; next } on && NF { print $1 } on && !NF { exit }')
[ -n "$commands" ] || fail "no command list in --help"
for cmd in $commands; do
  help=$("$CS" help "$cmd") || fail "help $cmd: exit $?"
  [ "$help" = "$("$CS" "$cmd" --help)" ] || fail "help $cmd differs from $cmd --help"
  grep -q "^common options:" <<<"$help" || fail "help $cmd: no common options"
  flags=$(grep -oE '^  --[a-z0-9-]+' <<<"$help" | sed 's/^  --//')
  for f in $(grep -oE '\[?--[a-z0-9-]+' <<<"$(head -n 1 <<<"$help")" | sed 's/^\[\?--//' | sort -u); do
    [ "$f" = KNOB ] && continue
    grep -qx -- "$f" <<<"$flags" || fail "help $cmd: --$f is in the usage line but not documented"
  done
  # a flag line followed by nothing is undocumented
  awk '/^  --/ { if (pending) bad = 1; pending = ($0 ~ /^  --[^ ]+( [^ ]+)? *$/) }
       /^    / { pending = 0 } END { exit bad || pending }' <<<"$help" ||
    fail "help $cmd: a flag without a description"
  for f in $flags; do
    case $f in help | quiet | threads) continue ;; esac
    out=$("$CS" "$cmd" "--$f" 1 operand-a operand-b operand-c 2>&1)
    [[ "$out" != *"unrecognized option"* && "$out" != *"bad option"* ]] ||
      fail "$cmd --$f is documented but not accepted: $out"
  done
done
echo "cli.sh: ok"

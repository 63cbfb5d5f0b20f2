#!/usr/bin/env bash
# serve_docs.sh: every example in docs/api.md runs: each "$ command" line of
# a console block is run against a server on the tiny model (localhost:8080
# replaced by its address) and its output must equal the lines below it.
set -euo pipefail
. "$(dirname "$0")/../serve/lib.sh"
make_model "$TMP" 1
start_server "$TMP/model.1" --threads 2
doc="$(dirname "$0")/../../docs/api.md"
awk '/^```console$/ { inb = 1; next } /^```$/ { inb = 0; next } inb' "$doc" >"$TMP/examples"
n=0
cmd=""
: >"$TMP/expected"
run_one() {
  [ -z "$cmd" ] && return 0
  n=$((n + 1))
  bash -c "set -o pipefail; ${cmd//http:\/\/localhost:8080/$URL}" >"$TMP/got" 2>&1 || true
  # bodies carry no final newline: compare the text
  [ "$(cat "$TMP/got")" = "$(cat "$TMP/expected")" ] ||
    fail "docs/api.md example $n: $cmd
expected:
$(cat "$TMP/expected")
got:
$(cat "$TMP/got")"
}
while IFS= read -r line; do
  if [[ "$line" == '$ '* ]]; then
    run_one
    cmd=${line#\$ }
    : >"$TMP/expected"
  else
    printf '%s\n' "$line" >>"$TMP/expected"
  fi
done <"$TMP/examples"
run_one
[ "$n" -ge 15 ] || fail "only $n examples found in docs/api.md"
stop_server
# `coldstart help serve` documents every flag of the docs with its default
"$CS" help serve >"$TMP/help"
for flag in $(sed -n '/^## Flags/,$p' "$doc" | grep -o -- '`--[a-z-]* [^`]*`' | tr -d '`' | tr ' ' '='); do
  name=${flag%%=*} def=${flag#*=}
  [ "$def" = FILE ] && def=""
  # the flag's entry: its line and the wrapped lines up to the next flag
  entry=$(awk -v f="$name" '$1 == f { on = 1; print; next } on && /^  --/ { exit } on' "$TMP/help" | tr -s ' \n' ' ')
  [ -n "$entry" ] || fail "help serve: no $name"
  [ -z "$def" ] || [[ "$entry" == *"default $def"* ]] || fail "help serve: $name: no 'default $def' in: $entry"
done
echo "serve_docs.sh: ok ($n examples)"

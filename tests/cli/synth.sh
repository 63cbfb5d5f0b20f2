#!/usr/bin/env bash
# synth.sh: black-box test of `coldstart synth`: help lists the knobs, a tiny
# world is written and is byte-identical for one seed, a non-empty folder is
# refused without --force, bad flags are usage errors.
set -eu
: "${COLDSTART:?path to the coldstart binary}"
tmp=$(mktemp -d "${CS_TMP:-/tmp}/synth_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

help=$("$COLDSTART" synth --help)
for flag in --scale --seed --out --force --songs --cold-users --warm-users \
  --styles --d0-silent --month-plays --chart --unknown-age; do
  grep -q -- "$flag" <<<"$help" || fail "--help does not list $flag"
done

"$COLDSTART" synth --quiet --scale tiny --seed 3 --out "$tmp/a" >/dev/null
"$COLDSTART" synth --quiet --scale tiny --seed 3 --out "$tmp/b" >/dev/null
for f in catalog.tsv playlists.tsv users.tsv events.tsv world.json; do
  [ -s "$tmp/a/$f" ] || fail "$f missing"
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "$f differs between two runs"
done
[ "$(head -1 "$tmp/a/events.tsv")" = "$(printf 'user_id\tday\taction\tkind\titem_id')" ] ||
  fail "events.tsv header"
[ "$(ls "$tmp/a" | wc -l)" -eq 5 ] || fail "extra files left in the folder"

# a non-empty folder is refused, --force overwrites
if "$COLDSTART" synth --quiet --scale tiny --seed 4 --out "$tmp/a" 2>"$tmp/err"; then
  fail "overwrote a non-empty folder without --force"
fi
grep -q -- "--force" "$tmp/err" || fail "refusal does not mention --force"
cmp -s "$tmp/a/events.tsv" "$tmp/b/events.tsv" || fail "refused run touched files"
"$COLDSTART" synth --quiet --scale tiny --seed 4 --cold-users 200 --warm-users 100 \
  --force --out "$tmp/a" >/dev/null
[ "$(wc -l <"$tmp/a/users.tsv")" -eq 301 ] || fail "knob overrides not applied"
grep -q '"cold-users": 200' "$tmp/a/world.json" || fail "world.json params"

# usage errors exit 2
set +e
"$COLDSTART" synth --scale huge --out "$tmp/c" 2>/dev/null; [ $? -eq 2 ] || fail "bad scale"
"$COLDSTART" synth --scale tiny 2>/dev/null; [ $? -eq 2 ] || fail "missing --out"
"$COLDSTART" synth --out "$tmp/c" --unknown-age 2 2>/dev/null; [ $? -eq 2 ] || fail "range"
"$COLDSTART" synth --out "$tmp/c" --chart 0.9 --explore 0.5 2>/dev/null
[ $? -ne 0 ] || fail "chart + explore > 1 accepted"
set -e
[ ! -e "$tmp/c/events.tsv" ] || fail "failed run left files"
echo ok

#!/usr/bin/env bash
# synth.sh: black-box test of `coldstart synth`: help lists the knobs and
# presets, a tiny world is written and is byte-identical for one seed and to
# the bytes the generator wrote before presets existed, every preset is
# accepted and applies its values (read back from world.json), knob flags
# override presets, a non-empty folder is refused without --force, bad flags
# and unknown presets are usage errors.
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

# the default world is unchanged: SHA-256 of `synth --scale tiny --seed 2`
# as written by the generator before presets and --d0-actions existed (a
# C library with a different libm could change them; regenerate with the
# old binary then)
"$COLDSTART" synth --quiet --scale tiny --seed 2 --out "$tmp/g" >/dev/null
(cd "$tmp/g" && sha256sum -c --quiet) <<'SUMS' || fail "default tiny world changed bytes"
fc7d3d7ebfd8d24b9547d0dc1c67070c0d4427ccbd999f19aac7666c342029d5  catalog.tsv
0b023adc2d036cdf05d3f4a55ca68c1ee8ee8503a14f87554a14545f9d1af949  events.tsv
a43a051fcf626e410baf856a3ec5fda2eef110d6803f4c8aeb3b6f19081bb744  playlists.tsv
499ebd9ded0f20deb2b9025c4b8bd7e4bea36ff7bf7a2e569c4517135eec727a  users.tsv
795e8029615861392896327a6b8469f8a42e53d1bef4a177df9a78a15cbff91a  world.json
SUMS
grep -q '"preset"' "$tmp/g/world.json" && fail "world.json names a preset nobody asked for"

# presets: `help synth` lists them one line each; each is accepted and its
# values land in world.json (a few per preset, written out here on purpose)
help=$("$COLDSTART" help synth)
presets=$(sed -n '/^presets:/,/^$/p' <<<"$help" | awk 'NF > 1 { print $1 }')
for want in taste-led popularity-led sparse-d0 small-catalog deezer-like; do
  grep -qx -- "$want" <<<"$presets" || fail "help synth does not list preset $want"
done
param() { # param DIR KNOB -> its value in world.json
  jq -r --arg k "$2" '.params[$k]' "$1/world.json"
}
expect_param() { # expect_param DIR KNOB VALUE
  local got
  got=$(param "$1" "$2")
  awk -v a="$got" -v b="$3" 'BEGIN { exit !(a + 0 == b + 0) }' ||
    fail "$1: --$2 is $got in world.json, expected $3"
}
declare -A checks=(
  [taste-led]="chart=0.03 taste-sharpness=14 song-spread=1 styles=16"
  [popularity-led]="chart=0.35 artist-pop-sigma=2.7 taste-sharpness=3"
  [sparse-d0]="d0-silent=0.15 d0-streams=1.5 d0-actions=0.3"
  [small-catalog]="songs=100 styles=4 playlists=10 cold-users=200"
  [deezer-like]="chart=0.13 artist-pop-sigma=1.2 d0-stream-noise=0.89 month-plays=250"
)
for name in $presets; do
  [ -n "${checks[$name]:-}" ] || fail "preset $name has no checks in synth.sh"
  "$COLDSTART" synth --quiet --scale tiny --preset "$name" --seed 5 --cold-users 200 \
    --warm-users 100 --out "$tmp/p-$name" >/dev/null || fail "preset $name refused"
  [ "$(jq -r .preset "$tmp/p-$name/world.json")" = "$name" ] || fail "world.json preset $name"
  for kv in ${checks[$name]}; do expect_param "$tmp/p-$name" "${kv%%=*}" "${kv#*=}"; done
  expect_param "$tmp/p-$name" cold-users 200 # flags apply with presets
done
expect_param "$tmp/p-taste-led" d0-silent 0.05 # outside the preset: the default
# an explicit flag overrides the preset, before or after --preset
"$COLDSTART" synth --quiet --scale tiny --month-plays 77 --preset deezer-like \
  --cold-users 100 --warm-users 100 --out "$tmp/o1" >/dev/null
"$COLDSTART" synth --quiet --scale tiny --preset deezer-like --month-plays 77 \
  --cold-users 100 --warm-users 100 --out "$tmp/o2" >/dev/null
for o in o1 o2; do
  expect_param "$tmp/$o" month-plays 77
  expect_param "$tmp/$o" chart 0.13
done
cmp -s "$tmp/o1/events.tsv" "$tmp/o2/events.tsv" || fail "flag order changed the world"

# usage errors exit 2
set +e
"$COLDSTART" synth --scale huge --out "$tmp/c" 2>/dev/null; [ $? -eq 2 ] || fail "bad scale"
"$COLDSTART" synth --scale tiny 2>/dev/null; [ $? -eq 2 ] || fail "missing --out"
"$COLDSTART" synth --out "$tmp/c" --unknown-age 2 2>/dev/null; [ $? -eq 2 ] || fail "range"
"$COLDSTART" synth --out "$tmp/c" --chart 0.9 --explore 0.5 2>/dev/null
[ $? -ne 0 ] || fail "chart + explore > 1 accepted"
"$COLDSTART" synth --out "$tmp/c" --preset tastey 2>"$tmp/err"; [ $? -eq 2 ] || fail "unknown preset"
grep -q "unknown preset 'tastey'" "$tmp/err" || fail "unknown preset not named: $(cat "$tmp/err")"
for name in $presets; do
  grep -q -- "$name" "$tmp/err" || fail "unknown-preset error does not list $name"
done
"$COLDSTART" synth --out "$tmp/c" --preset 2>/dev/null; [ $? -eq 2 ] || fail "--preset without a name"
set -e
[ ! -e "$tmp/c/events.tsv" ] || fail "failed run left files"
echo ok

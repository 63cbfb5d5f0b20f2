#!/usr/bin/env bash
# prepare.sh: black-box test of `coldstart prepare`, `inspect` and
# `export-npy` on a tiny synthetic world: split sizes, determinism, both
# spaces, the .npy export, and a bad line in each TSV failing with its line
# number while leaving no output file behind.
set -euo pipefail
: "${COLDSTART:=build/coldstart}"
T=$(mktemp -d "${CS_TMP:-/tmp}/prepare.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$COLDSTART" synth --scale tiny --seed 1 --out "$T/logs" --quiet >/dev/null 2>&1 ||
  fail "synth"

"$COLDSTART" prepare --logs "$T/logs" --dim 16 --seed 5 --out "$T/a.ds" 2>"$T/a.err" ||
  { cat "$T/a.err"; fail "prepare svd"; }
grep -q "seconds: read" "$T/a.err" || fail "no summary with stage timings"
grep -q "cohort from day" "$T/a.err" || fail "no cohort line in summary"
"$COLDSTART" inspect "$T/a.ds" >"$T/a.txt" || fail "inspect"
grep -q "kind dataset, version 1" "$T/a.txt" || fail "inspect kind"
grep -q "space svd, source prepare, dim 16, features 339" "$T/a.txt" ||
  fail "inspect header: $(cat "$T/a.txt")"
n_train=$(awk '$1 == "train" && $3 == "users," {print $2}' "$T/a.txt")
n_val=$(awk '$1 == "validation" && $3 == "users," {print $2}' "$T/a.txt")
n_test=$(awk '$1 == "test" && $3 == "users," {print $2}' "$T/a.txt")
total=$((n_train + n_val + n_test))
[ "$total" -gt 0 ] || fail "no users"
# 70/20/10 split, rounded
[ $((n_train * 100 / total)) -ge 69 ] && [ $((n_train * 100 / total)) -le 71 ] ||
  fail "train share $n_train/$total"
grep -q "featurizer: [0-9]* songs" "$T/a.txt" || fail "no featurizer"

# same seed, same bytes
"$COLDSTART" prepare --logs "$T/logs" --dim 16 --seed 5 --out "$T/b.ds" --quiet ||
  fail "prepare again"
cmp -s "$T/a.ds" "$T/b.ds" || fail "same seed gave different files"

# the UT-ALS space
"$COLDSTART" prepare --logs "$T/logs" --space mf --dim 8 --als-iters 3 \
  --split 60/20/20 --out "$T/mf.ds" --quiet || fail "prepare mf"
"$COLDSTART" inspect "$T/mf.ds" | grep -q "space mf, source prepare, dim 8, features 179" ||
  fail "inspect mf"

# export
"$COLDSTART" export-npy "$T/a.ds" --out "$T/npy" --quiet || fail "export-npy"
for f in songs_embedding songs_id train_target; do
  [ -f "$T/npy/$f.npy" ] || fail "missing $f.npy"
done
for s in train validation test; do
  for f in user_id features truth_indptr truth_indices; do
    [ -f "$T/npy/${s}_$f.npy" ] || fail "missing ${s}_$f.npy"
  done
done
head -c 6 "$T/npy/songs_id.npy" | od -An -c | grep -q "N   U   M   P   Y" ||
  fail "npy magic"
head -c 128 "$T/npy/train_features.npy" | grep -aq "'descr': '<f4', 'fortran_order': False, 'shape': ($n_train, 339)" ||
  fail "features header"
grep -q '"age_column": 320' "$T/npy/schema.json" || fail "schema age_column"
grep -q '"nb_onboarding_like_artists"' "$T/npy/schema.json" || fail "schema counts"

# a bad line in each file: error names file and line; no output left behind
bad_case() { # file line sed-expression expected-message
  rm -rf "$T/bad"
  cp -r "$T/logs" "$T/bad"
  sed -i "$2s/$3/" "$T/bad/$1"
  if "$COLDSTART" prepare --logs "$T/bad" --dim 8 --out "$T/bad.ds" 2>"$T/bad.err"; then
    fail "$1:$2: prepare accepted a bad line"
  fi
  grep -qF "$4" "$T/bad.err" || fail "message for $1: $(cat "$T/bad.err")"
  [ ! -e "$T/bad.ds" ] || fail "$1: output left behind"
  ! ls "$T" | grep -q 'bad.ds.tmp' || fail "$1: temp file left behind"
}
bad_case events.tsv 1042 '\t[a-z_]*\t\([a-z]*\)\t\([0-9]*\)$/\tstrem\t\1\t\2' "events.tsv:1042: unknown action 'strem'"
bad_case users.tsv 17 '^\([0-9]*\)\t/\1x\t' "users.tsv:17: user_id"
bad_case catalog.tsv 5 '$/\t9' "catalog.tsv:5: expected 3 tab-separated fields, got 4"
bad_case playlists.tsv 3 '\t.*$/\tabc' "playlists.tsv:3: song_id"

# unusable input: a header-only events.tsv is an error, not an empty dataset
rm -rf "$T/empty" && cp -r "$T/logs" "$T/empty"
head -n 1 "$T/logs/events.tsv" >"$T/empty/events.tsv"
if "$COLDSTART" prepare --logs "$T/empty" --dim 8 --out "$T/empty.ds" 2>"$T/empty.err"; then
  fail "prepare accepted an events.tsv without events"
fi
grep -q "no stream of a warm-history or training user" "$T/empty.err" ||
  fail "header-only events: $(cat "$T/empty.err")"
[ ! -e "$T/empty.ds" ] || fail "header-only events: output written"

# an event dated before its user registered: counted and reported, not used
rm -rf "$T/early" && cp -r "$T/logs" "$T/early"
read -r uid reg < <(awk -F'\t' 'NR == 2 { print $1, $2 }' "$T/logs/users.tsv")
printf '%s\t%s\tstream\tsong\t1\n' "$uid" "$((reg - 3))" >>"$T/early/events.tsv"
"$COLDSTART" prepare --logs "$T/early" --dim 8 --out "$T/early.ds" 2>"$T/early.err" ||
  fail "prepare with an early event: $(cat "$T/early.err")"
grep -q "events dated before their user's registration day: 1 (not used)" "$T/early.err" ||
  fail "early event not reported: $(cat "$T/early.err")"

# an output path that is one of the inputs is refused; the input is intact
sum=$(cksum <"$T/logs/events.tsv")
set +e
"$COLDSTART" prepare --logs "$T/logs" --dim 8 --out "$T/logs/events.tsv" 2>"$T/self.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--out onto an input: exit $rc"
grep -q "is the input .*events.tsv" "$T/self.err" || fail "self: $(cat "$T/self.err")"
[ "$(cksum <"$T/logs/events.tsv")" = "$sum" ] || fail "events.tsv was changed"

# train refuses to write its model over its dataset
set +e
"$COLDSTART" train "$T/a.ds" --out "$T/a.ds" --quiet 2>/dev/null
[ $? -eq 2 ] || fail "train --out onto its dataset should be refused"
set -e
cmp -s "$T/a.ds" "$T/b.ds" || fail "the dataset was changed"

# usage errors
set +e
"$COLDSTART" prepare --logs "$T/logs" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing --out should be a usage error"
"$COLDSTART" prepare --logs "$T/nowhere" --out "$T/x.ds" 2>"$T/nf.err"
[ $? -ne 0 ] && grep -q "catalog.tsv" "$T/nf.err" || fail "missing folder"
set -e
echo "prepare.sh: ok"

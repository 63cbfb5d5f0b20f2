#!/usr/bin/env bash
# guard.sh: a model is only scored on data it was made for. evaluate and
# recommend refuse a dataset of another catalog, of another space, or whose
# evaluated users include the model's training users (the same logs split
# with another --seed), with a message saying which; a genuinely new cohort
# of the same service (users registered after the model's) is accepted.
set -euo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
TMP=$(mktemp -d "${CS_TMP:-/tmp}/guard.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "guard.sh: $*" >&2; exit 1; }

# One service with 14 cohort days: the model learns from the users who
# registered before the last 7 days, the new cohort is those after.
"$CS" synth --scale tiny --seed 5 --cohort-days 14 --out "$TMP/logs" --quiet
last=$(awk -F'\t' 'NR > 1 && $2 > m { m = $2 } END { print m }' "$TMP/logs/users.tsv")
cut=$((last - 6)) # the new cohort registers on days cut..last
mkdir "$TMP/before"
cp "$TMP/logs/catalog.tsv" "$TMP/logs/playlists.tsv" "$TMP/before/"
awk -F'\t' -v c="$cut" 'NR == 1 || $2 < c' "$TMP/logs/users.tsv" >"$TMP/before/users.tsv"
awk -F'\t' -v c="$cut" 'NR == FNR { if (FNR > 1 && $2 < c) keep[$1] = 1; next }
  FNR == 1 || ($1 in keep && $2 < c)' "$TMP/logs/users.tsv" "$TMP/logs/events.tsv" >"$TMP/before/events.tsv"

"$CS" prepare --logs "$TMP/before" --space svd --dim 16 --seed 1 --out "$TMP/a.ds" --quiet
"$CS" train "$TMP/a.ds" --out "$TMP/a.model" --clusters 20 --input-clusters 4 \
  --epochs 2 --seed 1 --quiet
"$CS" evaluate "$TMP/a.model" "$TMP/a.ds" --format json --quiet >/dev/null ||
  fail "the model's own dataset was refused"

refused() { # refused NAME PATTERN COMMAND...: exit status 2, message matches
  local name=$1 pattern=$2
  shift 2
  set +e
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2 (refused): $(cat "$TMP/err")"
  grep -qE "$pattern" "$TMP/err" || fail "$name: message lacks /$pattern/: $(cat "$TMP/err")"
  [ ! -s "$TMP/out" ] || fail "$name: printed results although refused"
}

# the same logs split with another seed: its test users were training users
"$CS" prepare --logs "$TMP/before" --space svd --dim 16 --seed 2 --out "$TMP/reseed.ds" --quiet
refused "another --seed" "of the [0-9]+ test users .* are users the model was trained on" \
  "$CS" evaluate "$TMP/a.model" "$TMP/reseed.ds" --quiet
refused "another --seed (recommend)" "users the model was trained on" \
  "$CS" recommend "$TMP/a.model" "$TMP/reseed.ds" --users 2 --quiet
"$CS" evaluate "$TMP/a.model" "$TMP/reseed.ds" --allow-training-users --quiet >/dev/null ||
  fail "--allow-training-users did not score them"
# scoring the training split itself needs the same flag
refused "train split" "train users" \
  "$CS" evaluate "$TMP/a.model" "$TMP/a.ds" --split train --quiet

# another service (same song ids 1..n, another catalog)
"$CS" synth --scale tiny --seed 6 --out "$TMP/other" --quiet
"$CS" prepare --logs "$TMP/other" --space svd --dim 16 --seed 1 --out "$TMP/other.ds" --quiet
refused "another world" "the songs differ: song [0-9]+ is on (artist|album)" \
  "$CS" evaluate "$TMP/a.model" "$TMP/other.ds" --quiet

# another space
"$CS" prepare --logs "$TMP/before" --space mf --dim 16 --seed 1 --out "$TMP/mf.ds" --quiet
refused "another space" "trained in the svd space, the dataset is in the mf space" \
  "$CS" evaluate "$TMP/a.model" "$TMP/mf.ds" --quiet

# the new cohort of the same service: accepted (its embeddings were
# retrained on more history, which is reported)
"$CS" prepare --logs "$TMP/logs" --cohort-from "$cut" --space svd --dim 16 --seed 1 \
  --out "$TMP/new.ds" --quiet
"$CS" evaluate "$TMP/a.model" "$TMP/new.ds" --format json >"$TMP/new.json" 2>"$TMP/new.err" ||
  fail "new cohort refused: $(cat "$TMP/new.err")"
jq -e '.users > 0 and (.strategies | length) >= 6 and (.strategies | has("soft"))' "$TMP/new.json" >/dev/null ||
  fail "new cohort: $(cat "$TMP/new.json")"
grep -q "song embeddings differ" "$TMP/new.err" || fail "no embedding warning: $(cat "$TMP/new.err")"
"$CS" recommend "$TMP/a.model" "$TMP/new.ds" --users 3 --quiet | jq -e '.items | length == 50' >/dev/null ||
  fail "recommend on the new cohort"
echo "guard.sh: ok"

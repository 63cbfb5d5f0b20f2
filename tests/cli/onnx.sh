#!/usr/bin/env bash
# onnx.sh: `coldstart export-onnx` checked by ONNX Runtime (onnxruntime-node,
# tests/node): in both spaces (svd, mf), folded and unfolded, the exported
# regressor.onnx gives coldstart's own embeddings within 1e-5 on every test
# user (one batch and one row at a time); semi and soft rebuilt in plain
# JavaScript from the exported tables and the README's steps give the same
# lists as `coldstart recommend`; wrong feature widths, a mismatched or
# truncated export, a non-empty folder and a non-model file fail clearly.
set -euo pipefail
CS=${COLDSTART:?set COLDSTART to the coldstart binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK="$ROOT/tests/node/check.mjs"
TMP=$(mktemp -d "${CS_TMP:-/tmp}/onnx.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "onnx.sh: $*" >&2; exit 1; }
[ -d "$ROOT/tests/node/node_modules/onnxruntime-node" ] ||
  fail "onnxruntime-node is not installed: run scripts/deps.sh (npm ci --ignore-scripts --prefix tests/node)"

"$CS" synth --scale tiny --seed 3 --out "$TMP/logs" --quiet
# svd d=16 (F=339) and mf d=24 (F=499): different widths for the mismatch check
for space in svd mf; do
  dim=$([ "$space" = svd ] && echo 16 || echo 24)
  "$CS" prepare --logs "$TMP/logs" --space "$space" --dim "$dim" --seed 1 --out "$TMP/$space.ds" --quiet
  "$CS" train "$TMP/$space.ds" --out "$TMP/$space.model" --clusters 30 --input-clusters 8 \
    --epochs 3 --seed 1 --quiet
  "$CS" export-onnx "$TMP/$space.model" --out "$TMP/$space" --reference "$TMP/$space.ds" --quiet
  "$CS" export-onnx "$TMP/$space.model" --out "$TMP/$space.unfolded" --reference "$TMP/$space.ds" \
    --unfolded --quiet
  n_test=$(jq '.reference.n_users' "$TMP/$space/export.json")
  [ "$n_test" -gt 50 ] || fail "$space: only $n_test reference users"
  jq -e --argjson d "$dim" '.dim == $d and .n_features == 20 * $d + 19 and .onnx.opset == 17
    and .onnx.folded == true and .files["centroids.npy"].shape == [30, $d]
    and .files["input_centroids.npy"].shape == [8, 20 * $d + 19]
    and .files["segments_indptr.npy"].shape == [31] and .reference.split == "test"' \
    "$TMP/$space/export.json" >/dev/null || fail "$space: export.json: $(cat "$TMP/$space/export.json")"
  grep -q "^## soft" "$TMP/$space/README.md" || fail "$space: README.md has no soft section"

  # semi and soft as `coldstart recommend` gives them
  for strategy in semi soft; do
    "$CS" recommend "$TMP/$space.model" "$TMP/$space.ds" --split test --strategy "$strategy" \
      --k 50 --quiet >"$TMP/$space.$strategy.jsonl"
  done
  # One node process: the embeddings of every test user in both graph
  # forms; semi and soft from the README, from coldstart's and from ONNX
  # Runtime's embeddings, equal to `coldstart recommend`.
  node "$CHECK" embeddings "$TMP/$space" 1e-5 + embeddings "$TMP/$space.unfolded" 1e-5 \
    + strategy "$TMP/$space" semi "$TMP/$space.semi.jsonl" 50 5 4 \
    + strategy "$TMP/$space" soft "$TMP/$space.soft.jsonl" 50 5 4 >"$TMP/$space.checks" ||
    fail "$space: $(cat "$TMP/$space.checks")"
  cat "$TMP/$space.checks"
  jq -se --argjson n "$n_test" '[.[] | select(.check == "embeddings" and .users == $n
    and .max_abs_diff_batch <= 1e-5 and .max_abs_diff_single <= 1e-5)] | length == 2' \
    "$TMP/$space.checks" >/dev/null || fail "$space: embeddings checks incomplete"
  jq -se --argjson n "$n_test" '[.[] | select(.check == "strategy" and .users == $n
    and .mismatches == 0)] | length == 4' "$TMP/$space.checks" >/dev/null ||
    fail "$space: strategy checks incomplete"
  # soft's fill step (fewer than K distinct candidates) is exercised
  jq -se '[.[] | select(.strategy == "soft") | .users_with_fill] | min > 0' \
    "$TMP/$space.checks" >/dev/null || fail "$space: no soft list used the fill"
done
# soft with other parameters (K = 20, m = 3, margin = 10); wrong widths are
# refused by ONNX Runtime with a message naming the input
"$CS" recommend "$TMP/svd.model" "$TMP/svd.ds" --strategy soft --k 20 --soft-m 3 --soft-margin 10 \
  --quiet >"$TMP/soft3.jsonl"
node "$CHECK" strategy "$TMP/svd" soft "$TMP/soft3.jsonl" 20 3 10 + reject "$TMP/svd" 338 340 \
  >"$TMP/more.checks" || fail "$(cat "$TMP/more.checks")"
cat "$TMP/more.checks"
jq -se '[.[] | select(.check == "reject" and (.message | test("Got: (338|340) Expected: 339")))]
  | length == 2' "$TMP/more.checks" >/dev/null || fail "wrong widths: $(cat "$TMP/more.checks")"
# a mismatched export fails clearly: the mf reference rows fed to the svd
# model; the right rows with another model's embeddings; a truncated file
for bad in rows emb trunc; do
  mkdir "$TMP/bad_$bad"
  cp "$TMP/svd/regressor.onnx" "$TMP/bad_$bad/"
  cp -r "$TMP/mf/reference" "$TMP/bad_$bad/"
done
cp "$TMP/svd/reference/features.npy" "$TMP/bad_emb/reference/"
cp "$TMP/svd/reference/features.npy" "$TMP/bad_trunc/reference/"
head -c 5000 "$TMP/svd/regressor.onnx" >"$TMP/bad_trunc/regressor.onnx"
node "$CHECK" not embeddings "$TMP/bad_rows" + not embeddings "$TMP/bad_emb" \
  + not embeddings "$TMP/bad_trunc" >"$TMP/bad.checks" || fail "a bad export passed: $(cat "$TMP/bad.checks")"
cat "$TMP/bad.checks"
msg() { jq -r --arg d "$TMP/bad_$1" 'select(.args[1] == $d) | .message' "$TMP/bad.checks"; }
grep -q "Got: 499 Expected: 339" <<<"$(msg rows)" || fail "mf rows into svd model: $(msg rows)"
grep -q "model gives d = 16, reference has d = 24" <<<"$(msg emb)" || fail "other embeddings: $(msg emb)"
grep -q "ONNX Runtime cannot load it" <<<"$(msg trunc)" || fail "truncated: $(msg trunc)"

# the command's own refusals
if "$CS" export-onnx "$TMP/svd.model" --out "$TMP/svd" --quiet 2>"$TMP/err"; then
  fail "export into a non-empty folder without --force succeeded"
fi
grep -q "is not empty (use --force to overwrite)" "$TMP/err" || fail "non-empty: $(cat "$TMP/err")"
cmp -s "$TMP/svd/regressor.onnx" "$TMP/svd.unfolded/regressor.onnx" && fail "folded == unfolded bytes"
cp "$TMP/svd/regressor.onnx" "$TMP/before.onnx"
"$CS" export-onnx "$TMP/svd.model" --out "$TMP/svd" --force --quiet
cmp -s "$TMP/svd/regressor.onnx" "$TMP/before.onnx" || fail "same model, different regressor.onnx bytes"
[ ! -e "$TMP/svd/reference" ] || fail "--force without --reference left the old reference/"
jq -e '.reference == null' "$TMP/svd/export.json" >/dev/null || fail "export.json still names a reference"
if "$CS" export-onnx "$TMP/svd.ds" --out "$TMP/x" --quiet 2>"$TMP/err"; then fail "a dataset exported"; fi
grep -q "svd.ds" "$TMP/err" || fail "dataset as model: $(cat "$TMP/err")"
if "$CS" export-onnx "$TMP/svd.model" --out "$TMP/y" --reference "$TMP/mf.ds" --quiet 2>"$TMP/err"; then
  fail "a reference dataset of the other space was accepted"
fi
[ ! -e "$TMP/y" ] || fail "a refused export left $TMP/y behind"
echo "onnx.sh: ok"

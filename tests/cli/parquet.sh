#!/usr/bin/env bash
# parquet.sh: black-box checks of parquet-schema, parquet-dump and
# import-deezer on the project's fixtures (tests/fixtures/parquet, made by
# scripts/fixtures/gen.mjs).
set -euo pipefail
: "${COLDSTART:?}"
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d "${CS_TMP:-/tmp}/parquet-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
FX=tests/fixtures/parquet
DUCK=$FX/duckdb

# schema: types, repetition, list layout, codecs, v2 encodings
out=$("$COLDSTART" parquet-schema "$DUCK/user_features_train_svd.v2.parquet")
grep -q 'OPTIONAL INT64 user_index' <<<"$out" || fail "schema: user_index"
grep -q 'REPEATED group list' <<<"$out" || fail "schema: list"
grep -q 'BYTE_STREAM_SPLIT' <<<"$out" || fail "schema: encodings"
grep -q 'DELTA_BINARY_PACKED' <<<"$out" || fail "schema: delta"
grep -q '^row group 0: 10 rows' <<<"$out" || fail "schema: row group"
grep -q '^row groups: 3' < <("$COLDSTART" parquet-schema "$DUCK/song_embeddings.v2.parquet") ||
  fail "schema: 3 row groups"
# Spark's layout and fastparquet's JSON-text lists
out=$("$COLDSTART" parquet-schema "$FX/deezer/user_features_train_svd.parquet")
grep -q 'OPTIONAL INT32 user_index' <<<"$out" || fail "spark schema: user_index"
grep -q 'REQUIRED group d1d30_songs (LIST)' <<<"$out" || fail "spark schema: list"
grep -q 'REQUIRED INT32 element' <<<"$out" || fail "spark schema: element"
grep -q 'PLAIN,PLAIN_DICTIONARY,RLE,BIT_PACKED' <<<"$out" || fail "spark schema: fallback encodings"
out=$("$COLDSTART" parquet-schema "$FX/deezer/song_embeddings.parquet")
grep -q 'OPTIONAL BYTE_ARRAY features_svd (JSON)' <<<"$out" || fail "fastparquet schema: JSON"
grep -q 'OPTIONAL BYTE_ARRAY features_mf (STRING)' <<<"$out" || fail "fastparquet schema: UTF8"

# dump: the first row exactly as DuckDB wrote it (the generator's first song)
"$COLDSTART" parquet-dump "$DUCK/song_embeddings.zstd.parquet" >"$TMP/songs.jsonl"
[ "$(wc -l <"$TMP/songs.jsonl")" -eq 40 ] || fail "dump: row count"
head -1 "$TMP/songs.jsonl" | grep -qF '{"song_index":182,"features_svd":[0.020852,-0.004313,0.053365,0.038775],' ||
  fail "dump: first row: $(head -c 200 "$TMP/songs.jsonl")"
# --columns picks and orders columns; nulls print as null, empty lists as []
"$COLDSTART" parquet-dump "$FX/release/user_features_train_svd.parquet" \
  --columns age_value,nb_favorite_songs,d1d30_songs >"$TMP/cols.jsonl"
grep -q '"nb_favorite_songs":null' "$TMP/cols.jsonl" || fail "dump --columns: no null: $(head -3 "$TMP/cols.jsonl")"
grep -q '"d1d30_songs":\[\]' "$TMP/cols.jsonl" || fail "dump --columns: no empty list"
[ "$(head -1 "$TMP/cols.jsonl" | cut -c1-13)" = '{"age_value":' ] || fail "dump --columns: order"
"$COLDSTART" parquet-dump --count "$FX/release/user_features_train_mf.parquet" | grep -q '^rows 10 columns 181 ' ||
  fail "dump --count"
# narrow columns before wide ones (INT32 then INT64 / dictionary DOUBLE):
# this overflowed the reused value buffer
"$COLDSTART" parquet-dump --count "$FX/mixed/types.duckdb.parquet" | grep -q '^rows 300 columns 10 values 2930 ' ||
  fail "dump --count mixed widths"
[ "$("$COLDSTART" parquet-dump "$FX/mixed/types.duckdb.parquet" | sed -n 300p)" = \
  '{"i":299,"b":false,"i32":-407,"i64":292000897,"f":119.5,"d_dict":0.0,"d":20.125,"i32_null":4,"s":"v2","i64b":897}' ] ||
  fail "dump mixed: last row $("$COLDSTART" parquet-dump "$FX/mixed/types.duckdb.parquet" | sed -n 300p)"
# unknown column is a usage error
if "$COLDSTART" parquet-dump "$DUCK/song_embeddings.zstd.parquet" --columns nope 2>/dev/null; then
  fail "unknown column accepted"
fi

# a truncated file: exit status for malformed input, message names the file and offset
head -c "$(($(stat -c %s "$DUCK/song_embeddings.gzip.parquet") / 2))" "$DUCK/song_embeddings.gzip.parquet" >"$TMP/cut.parquet"
set +e
"$COLDSTART" parquet-dump "$TMP/cut.parquet" >/dev/null 2>"$TMP/err"
status=$?
set -e
[ "$status" -eq 65 ] || fail "truncated: exit $status"
grep -q "cut.parquet: offset " "$TMP/err" || fail "truncated: message $(cat "$TMP/err")"

# import-deezer: pyarrow's layout, both spaces; Deezer's own writers (space
# from the names); Zenodo's naming (space from the block width)
for space in svd mf; do
  "$COLDSTART" import-deezer "$FX/release" --space "$space" --out "$TMP/$space.cs" --quiet
  [ -s "$TMP/$space.cs" ] || fail "import $space"
done
"$COLDSTART" import-deezer "$FX/deezer" --out "$TMP/deezer.cs" 2>"$TMP/log"
grep -q 'svd space, 40 songs, dim 4' "$TMP/log" || fail "deezer: $(cat "$TMP/log")"
cmp -s "$TMP/deezer.cs" "$TMP/svd.cs" || fail "deezer's writers and pyarrow's give different datasets"
"$COLDSTART" import-deezer "$FX/zenodo" --out "$TMP/zenodo.cs" 2>"$TMP/log"
grep -q 'mf space, 40 songs, dim 8' "$TMP/log" || fail "zenodo: $(cat "$TMP/log")"
cmp -s "$TMP/zenodo.cs" "$TMP/mf.cs" || fail "zenodo naming gives another dataset"
# a --space that disagrees with the width names both
set +e
"$COLDSTART" import-deezer "$FX/zenodo" --space svd --out "$TMP/x.cs" 2>"$TMP/err"
status=$?
set -e
[ "$status" -eq 2 ] || fail "disagreeing --space: exit $status"
grep -q -- '--space svd disagrees with .*user_features_train.parquet.*(space mf)' "$TMP/err" ||
  fail "disagreeing --space: $(cat "$TMP/err")"
[ ! -e "$TMP/x.cs" ] || fail "disagreeing --space wrote a file"
# both spaces present and no --space: a clear error
if "$COLDSTART" import-deezer "$FX/release" --out "$TMP/x.cs" 2>"$TMP/err"; then fail "ambiguous space accepted"; fi
grep -q 'pass --space svd or --space mf' "$TMP/err" || fail "ambiguous: $(cat "$TMP/err")"
# bad JSON text: file, row, column
mkdir "$TMP/bad"
for f in user_embeddings user_features_train_svd user_features_validation_svd user_features_test_svd; do
  ln -s "$PWD/$FX/deezer/$f.parquet" "$TMP/bad/$f.parquet"
done
ln -s "$PWD/$FX/bad/garbage/song_embeddings.parquet" "$TMP/bad/song_embeddings.parquet"
set +e
"$COLDSTART" import-deezer "$TMP/bad" --out "$TMP/x.cs" 2>"$TMP/err"
status=$?
set -e
[ "$status" -eq 65 ] || fail "bad JSON: exit $status"
grep -qF "song_embeddings.parquet: row 3: column 'features_svd': JSON list: bad number '0.002x'" "$TMP/err" ||
  fail "bad JSON: $(cat "$TMP/err")"
# help documents every flag with its default
help=$("$COLDSTART" help import-deezer)
grep -q -- '--out FILE' <<<"$help" || fail "help: --out"
grep -q -- '--space SPACE  *auto (default), svd or mf' <<<"$help" || fail "help: --space"
[ "$("$COLDSTART" import-deezer --help)" = "$help" ] || fail "--help differs from help"
# the imported file is a regular dataset: export-npy reads it
"$COLDSTART" export-npy "$TMP/svd.cs" --out "$TMP/npy" --quiet || fail "export-npy"
grep -q '"dim": *4' "$TMP/npy/schema.json" || fail "export-npy schema: $(cat "$TMP/npy/schema.json")"
[ -s "$TMP/npy/train_target.npy" ] || fail "export-npy targets"
if "$COLDSTART" import-deezer "$FX/release" --space pca --out "$TMP/x.cs" 2>/dev/null; then
  fail "bad space accepted"
fi
echo ok

#!/usr/bin/env bash
# parquet.sh: black-box checks of parquet-schema, parquet-dump and
# import-deezer on the shared fixtures.
set -euo pipefail
: "${COLDSTART:?}" "${CS_SHARED:?}"
TMP=$(mktemp -d "${CS_TMP:-/tmp}/parquet-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
DUCK=$CS_SHARED/fixtures/parquet-duckdb
REL=$CS_SHARED/fixtures/deezer-parquet/release

# schema: types, repetition, list layout, codecs, encodings
out=$("$COLDSTART" parquet-schema "$DUCK/user_features_train_svd.v2.parquet")
grep -q 'OPTIONAL INT64 user_index' <<<"$out" || fail "schema: user_index"
grep -q 'REPEATED group list' <<<"$out" || fail "schema: list"
grep -q 'BYTE_STREAM_SPLIT' <<<"$out" || fail "schema: encodings"
grep -q 'DELTA_BINARY_PACKED' <<<"$out" || fail "schema: delta"
grep -q '^row group 0: 50 rows' <<<"$out" || fail "schema: row group"

# dump: the first row exactly as DuckDB wrote it
"$COLDSTART" parquet-dump "$DUCK/song_embeddings.zstd.parquet" >"$TMP/songs.jsonl"
[ "$(wc -l <"$TMP/songs.jsonl")" -eq 50 ] || fail "dump: row count"
head -1 "$TMP/songs.jsonl" | grep -q '^{"song_index":7,"features_svd":\[0.0,0.8414709848078965,0.9092974268256817,' ||
  fail "dump: first row: $(head -c 200 "$TMP/songs.jsonl")"
# --columns picks and orders columns; nulls print as null, empty lists as []
line=$("$COLDSTART" parquet-dump "$DUCK/user_features_train_svd.snappy.parquet" \
  --columns age_value,nb_favorite_songs,d1d30_songs | head -1)
[ "$line" = '{"age_value":18,"nb_favorite_songs":null,"d1d30_songs":[]}' ] || fail "dump --columns: $line"
"$COLDSTART" parquet-dump --count "$REL/user_features_train_mf.parquet" | grep -q '^rows 120 columns 341 ' ||
  fail "dump --count"
# unknown column is a usage error
if "$COLDSTART" parquet-dump "$DUCK/song_embeddings.zstd.parquet" --columns nope 2>/dev/null; then
  fail "unknown column accepted"
fi

# a truncated file: exit status for malformed input, message names the file and offset
head -c 5000 "$DUCK/song_embeddings.gzip.parquet" >"$TMP/cut.parquet"
set +e
"$COLDSTART" parquet-dump "$TMP/cut.parquet" >/dev/null 2>"$TMP/err"
status=$?
set -e
[ "$status" -eq 65 ] || fail "truncated: exit $status"
grep -q "cut.parquet: offset " "$TMP/err" || fail "truncated: message $(cat "$TMP/err")"

# import-deezer, both spaces
for space in svd mf; do
  "$COLDSTART" import-deezer "$REL" --space "$space" --out "$TMP/$space.cs" --quiet
  [ -s "$TMP/$space.cs" ] || fail "import $space"
done
# the imported file is a regular dataset: export-npy reads it
if "$COLDSTART" help 2>&1 | grep -q export-npy; then
  "$COLDSTART" export-npy "$TMP/svd.cs" --out "$TMP/npy" --quiet
  grep -q '"dim": *8' "$TMP/npy/schema.json" || fail "export-npy schema: $(cat "$TMP/npy/schema.json")"
  [ -s "$TMP/npy/train_target.npy" ] || fail "export-npy targets"
fi
if "$COLDSTART" import-deezer "$REL" --space pca --out "$TMP/x.cs" 2>/dev/null; then
  fail "bad space accepted"
fi
echo ok

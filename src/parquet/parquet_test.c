/* parquet_test.c: the Parquet reader against every file of the project's
 * fixtures (tests/fixtures/parquet, made by scripts/fixtures/gen.mjs: the
 * pyarrow, Spark, fastparquet layouts, DuckDB, hyparquet-writer) with exact
 * comparison of every value, row group count and codec; plus the encodings
 * (bit unpacking vs its reference, RLE, delta, byte stream split) and
 * malformed inputs (truncations, corruptions: errors, never crashes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/parquet.h"
#include "parquet/pq_internal.h"

/* The fixtures, relative to the repository root (tests/run.sh runs every
 * test binary from there). */
#define FIXTURES "tests/fixtures/parquet"

static json_t *load_json(const char *path) {
  json_error_t jerr;
  json_t *j = json_load_file(path, 0, &jerr);
  if (!j) fail_msg("%s: %s (tests run from the repository root)", path, jerr.text);
  return j;
}

/* ---- exact comparison of one field against JSON values ---------------- */

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Compare dense value `v` of chunk `c` to JSON `j`; 1 when equal. */
static int value_equals(const cs_pq_chunk_t *c, int64_t v, const json_t *j) {
  switch (c->type) {
  case CS_PQ_DOUBLE:
    if (json_is_real(j)) return same_double(((const double *)c->values)[v], json_real_value(j));
    if (json_is_integer(j))
      return ((const double *)c->values)[v] == (double)json_integer_value(j);
    return 0;
  case CS_PQ_FLOAT:
    if (!json_is_number(j)) return 0;
    return ((const float *)c->values)[v] == (float)json_number_value(j);
  case CS_PQ_INT32:
  case CS_PQ_INT64:
    return json_is_integer(j) && cs_pq_value_int64(c, v) == json_integer_value(j);
  case CS_PQ_BOOLEAN:
    return json_is_boolean(j) && ((const uint8_t *)c->values)[v] == json_is_true(j);
  case CS_PQ_BYTE_ARRAY:
    if (json_is_array(j)) { /* a list stored as JSON text: same numbers */
      json_error_t jerr;
      json_t *got = json_loadb((const char *)c->bytes + c->offsets[v],
                               (size_t)(c->offsets[v + 1] - c->offsets[v]), 0, &jerr);
      int same = json_is_array(got) && json_array_size(got) == json_array_size(j);
      for (size_t k = 0; same && k < json_array_size(j); k++)
        same = json_number_value(json_array_get(got, k)) ==
               json_number_value(json_array_get(j, k));
      json_decref(got);
      return same;
    }
    return json_is_string(j) &&
           (size_t)(c->offsets[v + 1] - c->offsets[v]) == json_string_length(j) &&
           !memcmp(c->bytes + c->offsets[v], json_string_value(j), json_string_length(j));
  default:
    return 0;
  }
}

/* Reads field `name` of `path` and calls back per row with the JSON value
 * expected for file row r (via `expect`), failing on any difference. */
typedef const json_t *(*expect_fn)(void *arg, int64_t row);

static int64_t check_field(cs_pq_file_t *f, const char *name, expect_fn expect,
                           void *arg) {
  int fi = cs_pq_find_field(f, name);
  if (fi < 0) fail_msg("%s: no column '%s'", cs_pq_name(f), name);
  const cs_pq_field_t *fd = cs_pq_field(f, fi);
  assert_true(fd->column >= 0);
  const cs_pq_column_t *col = cs_pq_column(f, fd->column);
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  cs_err_t err;
  cs_err_clear(&err);
  int64_t row_base = 0, n_checked = 0;
  for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
    if (cs_pq_read_chunk(f, g, fd->column, &ch, &err))
      fail_msg("%s: %s", name, err.msg);
    cs_pq_cursor_t cur;
    cs_pq_cursor_init(&cur, &ch, col);
    for (int64_t r = 0; r < ch.n_rows; r++) {
      cs_pq_row_t row;
      if (cs_pq_cursor_next(&cur, &row, &err)) fail_msg("%s", err.msg);
      const json_t *j = expect(arg, row_base + r);
      if (!j) continue;
      n_checked++;
      if (json_is_null(j)) {
        if (!row.is_null)
          fail_msg("%s row %lld: expected null", name, (long long)(row_base + r));
        continue;
      }
      if (row.is_null)
        fail_msg("%s row %lld: unexpected null", name, (long long)(row_base + r));
      if (!fd->is_list) {
        if (!value_equals(&ch, row.value, j))
          fail_msg("%s: %s row %lld differs", cs_pq_name(f), name,
                   (long long)(row_base + r));
        continue;
      }
      if (!json_is_array(j) || (int64_t)json_array_size(j) != row.n_elems)
        fail_msg("%s: %s row %lld: list of %lld, expected %zu", cs_pq_name(f),
                 name, (long long)(row_base + r), (long long)row.n_elems,
                 json_array_size(j));
      int64_t v = row.value;
      for (int64_t e = 0; e < row.n_elems; e++) {
        const json_t *je = json_array_get(j, (size_t)e);
        if (cs_pq_slot_null(&ch, row.slot + e)) {
          if (!json_is_null(je)) fail_msg("%s row %lld: element null", name, (long long)r);
          continue;
        }
        if (!value_equals(&ch, v++, je))
          fail_msg("%s: %s row %lld element %lld differs", cs_pq_name(f), name,
                   (long long)(row_base + r), (long long)e);
      }
    }
    row_base += ch.n_rows;
  }
  assert_int_equal(row_base, cs_pq_num_rows(f));
  cs_pq_chunk_free(&ch);
  return n_checked;
}

/* ---- fixtures: truth/<table>.json {"key", "num_rows", "columns", "data"} - */

typedef struct {
  const json_t *values;  /* data[column], in ascending key order */
  const int64_t *perm;   /* file row -> truth row */
} truth_arg_t;

static const json_t *truth_expect(void *arg, int64_t row) {
  truth_arg_t *t = arg;
  return json_array_get(t->values, (size_t)t->perm[row]);
}

/* Check every column of `path` against its table's truth (rows matched by
 * the key column, whatever their order in the file); returns the values
 * checked. */
static int64_t check_against_truth(const char *path, const json_t *truth,
                                   const json_t *entry) {
  cs_pq_file_t *f;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_pq_open(&f, path, &err)) fail_msg("%s", err.msg);
  int64_t n_rows = json_integer_value(json_object_get(truth, "num_rows"));
  assert_int_equal(cs_pq_num_rows(f), n_rows);
  if (cs_pq_n_row_groups(f) != json_integer_value(json_object_get(entry, "row_groups")))
    fail_msg("%s: %d row groups, expected %lld", path, cs_pq_n_row_groups(f),
             (long long)json_integer_value(json_object_get(entry, "row_groups")));
  const char *codec = json_string_value(json_object_get(entry, "codec"));
  for (int g = 0; g < cs_pq_n_row_groups(f); g++)
    for (int c = 0; c < cs_pq_n_columns(f); c++)
      if (strcmp(cs_pq_codec_name(cs_pq_row_group(f, g)->columns[c].codec), codec))
        fail_msg("%s: column %d codec %s, expected %s", path, c,
                 cs_pq_codec_name(cs_pq_row_group(f, g)->columns[c].codec), codec);
  const json_t *data = json_object_get(truth, "data");
  const char *key = json_string_value(json_object_get(truth, "key"));
  const json_t *keys = json_object_get(data, key);
  /* file row -> truth row through the key column */
  int64_t *perm = malloc((size_t)n_rows * sizeof *perm);
  assert_non_null(perm);
  int fi = cs_pq_find_field(f, key);
  assert_true(fi >= 0);
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  int64_t base = 0;
  for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
    assert_int_equal(cs_pq_read_chunk(f, g, cs_pq_field(f, fi)->column, &ch, &err), 0);
    assert_int_equal(ch.n_values, ch.n_rows);
    for (int64_t r = 0; r < ch.n_rows; r++) {
      int64_t k = cs_pq_value_int64(&ch, r), at = -1;
      for (size_t i = 0; i < json_array_size(keys) && at < 0; i++)
        if (json_integer_value(json_array_get(keys, i)) == k) at = (int64_t)i;
      if (at < 0) fail_msg("%s: %s %lld is not in the truth", path, key, (long long)k);
      perm[base + r] = at;
    }
    base += ch.n_rows;
  }
  cs_pq_chunk_free(&ch);
  /* the file has exactly the truth's columns, and every one matches */
  const json_t *cols = json_object_get(truth, "columns");
  assert_int_equal(cs_pq_n_fields(f), (int)json_array_size(cols));
  int64_t checked = 0;
  for (size_t i = 0; i < json_array_size(cols); i++) {
    const char *name = json_string_value(json_array_get(cols, i));
    truth_arg_t t = {json_object_get(data, name), perm};
    assert_int_equal((int64_t)json_array_size(t.values), n_rows);
    checked += check_field(f, name, truth_expect, &t);
  }
  free(perm);
  cs_pq_close(f);
  return checked;
}

/* Every file MANIFEST.json lists, against its truth. */
static void test_fixtures(void **state) {
  (void)state;
  json_t *manifest = load_json(FIXTURES "/MANIFEST.json");
  const json_t *files = json_object_get(manifest, "files");
  int n_files = 0, n_text = 0;
  int64_t n_values = 0;
  char path[2048];
  for (size_t i = 0; i < json_array_size(files); i++) {
    const json_t *e = json_array_get(files, i);
    const char *table = json_string_value(json_object_get(e, "table"));
    snprintf(path, sizeof path, FIXTURES "/truth/%s.json", table);
    json_t *truth = load_json(path);
    snprintf(path, sizeof path, FIXTURES "/%s", json_string_value(json_object_get(e, "file")));
    n_values += check_against_truth(path, truth, e);
    n_text += json_array_size(json_object_get(e, "json_text")) > 0;
    json_decref(truth);
    n_files++;
  }
  json_decref(manifest);
  /* release 8, variants 5, deezer 5, sorted 2, duckdb 9, hyparquet 3, mixed 1 */
  assert_int_equal(n_files, 33);
  assert_int_equal(n_text, 5);
  assert_true(n_values > 10000);
}

/* Spark's dictionary gives up within a chunk: the later pages are PLAIN;
 * parquet-mr lists BIT_PACKED for the unused repetition levels. */
static void test_spark_layout(void **state) {
  (void)state;
  cs_pq_file_t *f;
  cs_err_t err;
  if (cs_pq_open(&f, FIXTURES "/deezer/user_features_train_svd.parquet", &err))
    fail_msg("%s", err.msg);
  const cs_pq_column_meta_t *m = &cs_pq_row_group(f, 0)->columns[0];
  int has[16] = {0};
  for (int k = 0; k < m->n_encodings; k++)
    if (m->encodings[k] >= 0 && m->encodings[k] < 16) has[m->encodings[k]] = 1;
  assert_true(has[0] && has[2] && has[4]); /* PLAIN, PLAIN_DICTIONARY, BIT_PACKED */
  assert_int_equal(cs_pq_column(f, 0)->type, CS_PQ_INT32);
  assert_int_equal(cs_pq_node(f, cs_pq_column(f, 0)->node)->repetition, CS_PQ_OPTIONAL);
  const cs_pq_field_t *songs = cs_pq_field(f, cs_pq_find_field(f, "d1d30_songs"));
  assert_true(songs->is_list);
  assert_int_equal(cs_pq_node(f, songs->node)->repetition, CS_PQ_REQUIRED);
  assert_int_equal(cs_pq_column(f, songs->column)->max_def, 1);
  cs_pq_close(f);
}

/* ---- encodings ---------------------------------------------------------- */

static void test_unpack_matches_reference(void **state) {
  (void)state;
  uint8_t src[32 * 40 + 8];
  uint32_t a[320], b[320];
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < sizeof src; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    src[i] = (uint8_t)x;
  }
  for (int bw = 0; bw <= 32; bw++)
    for (int n = 0; n <= 320; n += 37) {
      cs__unpack(src, bw, n, a);
      cs__unpack_ref(src, bw, n, b);
      assert_memory_equal(a, b, (size_t)n * sizeof *a);
    }
}

static void test_rle_hybrid(void **state) {
  (void)state;
  /* bw 3: RLE run of 5 x 4, then one bit-packed group 0..7 */
  const uint8_t data[] = {5 << 1, 4, (1 << 1) | 1, 0x88, 0xc6, 0xfa};
  uint32_t out[13];
  cs_err_t err;
  assert_int_equal(cs__rle_decode(data, sizeof data, 3, 13, out, "t", 0, &err), 0);
  const uint32_t want[13] = {4, 4, 4, 4, 4, 0, 1, 2, 3, 4, 5, 6, 7};
  assert_memory_equal(out, want, sizeof want);
  /* asking for more than the data holds is an error naming the offset */
  assert_int_equal(cs__rle_decode(data, sizeof data, 3, 14, out, "t.parquet", 100, &err),
                   CS_ETRUNC);
  assert_non_null(strstr(err.msg, "t.parquet: offset 106"));
  /* run value wider than the bit width */
  const uint8_t bad[] = {2 << 1, 9};
  assert_int_equal(cs__rle_decode(bad, sizeof bad, 3, 2, out, "t", 0, &err), CS_EFORMAT);
}

static void test_delta_binary_packed(void **state) {
  (void)state;
  /* block 128, 4 miniblocks, 5 values, first 7; deltas +1 -2 +3 +0:
   * min delta -2, bit widths 3 0 0 0, packed (3,0,5,2) */
  uint8_t data[64] = {0x80, 0x01, 4, 5, 14, 3, 3, 0, 0, 0};
  /* pack 3,0,5,2 + 28 zero values at bw 3 -> 12 bytes */
  uint32_t vals[32] = {3, 0, 5, 2};
  uint64_t bits = 0;
  for (int i = 0; i < 4; i++) bits |= (uint64_t)vals[i] << (3 * i);
  for (int i = 0; i < 12; i++) data[10 + i] = i < 2 ? (uint8_t)(bits >> (8 * i)) : 0;
  int64_t out[5];
  size_t used;
  cs_err_t err;
  assert_int_equal(cs__delta_decode(data, 22, 5, out, &used, "t", 0, &err), 0);
  const int64_t want[5] = {7, 8, 6, 9, 9};
  assert_memory_equal(out, want, sizeof want);
  assert_int_equal(cs__delta_decode(data, 11, 5, out, &used, "t", 0, &err), CS_ETRUNC);
}

static void test_byte_stream_split(void **state) {
  (void)state;
  double in[3] = {1.5, -2.25, 1e300}, out[3];
  uint8_t enc[24];
  for (int b = 0; b < 8; b++)
    for (int i = 0; i < 3; i++) enc[b * 3 + i] = ((uint8_t *)in)[i * 8 + b];
  cs_err_t err;
  assert_int_equal(cs__bss_decode(enc, 24, 8, 3, (uint8_t *)out, "t", 0, &err), 0);
  assert_memory_equal(in, out, sizeof in);
  assert_int_equal(cs__bss_decode(enc, 23, 8, 3, (uint8_t *)out, "t", 0, &err), CS_EFORMAT);
}


/* With CS_PQ_SEED_DIR set, keep a valid hand-built file as a fuzz seed. */
static void save_seed(const char *name, const uint8_t *data, size_t n) {
  const char *dir = getenv("CS_PQ_SEED_DIR");
  if (!dir || !*dir) return;
  char path[2048];
  snprintf(path, sizeof path, "%s/%s.parquet", dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, n, fp), n);
  assert_int_equal(fclose(fp), 0);
}

/* ---- hand-built files: a tiny Thrift compact writer ---------------------- */

typedef struct {
  uint8_t buf[8192];
  size_t n;
  int last[16];
  int depth;
} tw_t;

static void tw_byte(tw_t *w, uint8_t b) { w->buf[w->n++] = b; }
static void tw_varint(tw_t *w, uint64_t v) {
  while (v >= 0x80) {
    tw_byte(w, (uint8_t)(v | 0x80));
    v >>= 7;
  }
  tw_byte(w, (uint8_t)v);
}
static void tw_field(tw_t *w, int id, int type) {
  int delta = id - w->last[w->depth];
  if (delta > 0 && delta <= 15) {
    tw_byte(w, (uint8_t)(delta << 4 | type));
  } else {
    tw_byte(w, (uint8_t)type);
    tw_varint(w, (uint64_t)((id << 1) ^ (id >> 31)));
  }
  w->last[w->depth] = id;
}
static void tw_int(tw_t *w, int id, int type, int64_t v) {
  tw_field(w, id, type);
  tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
static void tw_i32(tw_t *w, int id, int64_t v) { tw_int(w, id, CS__T_I32, v); }
static void tw_i64(tw_t *w, int id, int64_t v) { tw_int(w, id, CS__T_I64, v); }
static void tw_str(tw_t *w, int id, const char *s) {
  if (id) tw_field(w, id, CS__T_BINARY);
  tw_varint(w, strlen(s));
  memcpy(w->buf + w->n, s, strlen(s));
  w->n += strlen(s);
}
static void tw_begin(tw_t *w, int id) { /* id 0: a list element */
  if (id) tw_field(w, id, CS__T_STRUCT);
  w->last[++w->depth] = 0;
}
static void tw_end(tw_t *w) {
  tw_byte(w, 0);
  w->depth--;
}
static void tw_list(tw_t *w, int id, int elem_type, int n) {
  tw_field(w, id, CS__T_LIST);
  tw_byte(w, (uint8_t)(n << 4 | elem_type));
}

/* One optional INT32 column "x" nested in `n_opt` optional levels (1: flat,
 * 2: inside optional group "g"), one row group of `n_rows` rows; the chunk
 * is `pages` (already with headers). */
static size_t build_file_typed(uint8_t *out, int type, int n_opt, int codec,
                               int64_t n_rows, const uint8_t *pages,
                               size_t pages_len, int64_t dict_offset) {
  memcpy(out, "PAR1", 4);
  memcpy(out + 4, pages, pages_len);
  size_t n = 4 + pages_len;
  tw_t w = {.n = 0, .depth = 0};
  tw_i32(&w, 1, 1);
  tw_list(&w, 2, CS__T_STRUCT, n_opt + 1);
  tw_begin(&w, 0);
  tw_str(&w, 4, "schema");
  tw_i32(&w, 5, 1);
  tw_end(&w);
  if (n_opt == 2) {
    tw_begin(&w, 0);
    tw_i32(&w, 3, 1);
    tw_str(&w, 4, "g");
    tw_i32(&w, 5, 1);
    tw_end(&w);
  }
  tw_begin(&w, 0);
  tw_i32(&w, 1, type);
  tw_i32(&w, 3, 1);
  tw_str(&w, 4, "x");
  tw_end(&w);
  tw_i64(&w, 3, n_rows);
  tw_list(&w, 4, CS__T_STRUCT, 1);
  tw_begin(&w, 0);
  tw_list(&w, 1, CS__T_STRUCT, 1);
  tw_begin(&w, 0);
  tw_i64(&w, 2, 4);
  tw_begin(&w, 3);
  tw_i32(&w, 1, type);
  tw_list(&w, 2, CS__T_I32, 1);
  tw_varint(&w, 0);
  tw_list(&w, 3, CS__T_BINARY, 1);
  tw_str(&w, 0, "x");
  tw_i32(&w, 4, codec);
  tw_i64(&w, 5, n_rows);
  tw_i64(&w, 6, (int64_t)pages_len);
  tw_i64(&w, 7, (int64_t)pages_len);
  tw_i64(&w, 9, dict_offset >= 0 ? dict_offset + 1 : 4);
  if (dict_offset >= 0) tw_i64(&w, 11, dict_offset);
  tw_end(&w);
  tw_end(&w);
  tw_i64(&w, 2, (int64_t)pages_len);
  tw_i64(&w, 3, n_rows);
  tw_end(&w);
  tw_byte(&w, 0);
  memcpy(out + n, w.buf, w.n);
  n += w.n;
  uint32_t len = (uint32_t)w.n;
  memcpy(out + n, &len, 4);
  memcpy(out + n + 4, "PAR1", 4);
  return n + 8;
}

static size_t build_file(uint8_t *out, int n_opt, int codec, int64_t n_rows,
                         const uint8_t *pages, size_t pages_len,
                         int64_t dict_offset) {
  return build_file_typed(out, CS_PQ_INT32, n_opt, codec, n_rows, pages,
                          pages_len, dict_offset);
}

/* A page: header (type 0 data v1 / 2 dictionary) + body. */
static size_t build_page(uint8_t *out, int type, int64_t num_values,
                         int encoding, const uint8_t *body, size_t body_len,
                         int64_t usize, int64_t csize) {
  tw_t w = {.n = 0, .depth = 0};
  tw_i32(&w, 1, type);
  tw_i32(&w, 2, usize);
  tw_i32(&w, 3, csize);
  tw_begin(&w, type == 2 ? 7 : 5);
  tw_i32(&w, 1, num_values);
  tw_i32(&w, 2, encoding);
  if (type == 0) {
    tw_i32(&w, 3, 3);
    tw_i32(&w, 4, 3);
  }
  tw_end(&w);
  tw_byte(&w, 0);
  memcpy(out, w.buf, w.n);
  memcpy(out + w.n, body, body_len);
  return w.n + body_len;
}

static int read_x(const uint8_t *file, size_t n, int32_t *vals, int64_t *n_vals,
                  cs_err_t *err) {
  cs_pq_file_t *f;
  int rc = cs_pq_open_mem(&f, file, n, "bad.parquet", err);
  if (rc) return rc;
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  rc = cs_pq_read_chunk(f, 0, 0, &ch, err);
  if (!rc) {
    *n_vals = ch.n_values;
    memcpy(vals, ch.values, (size_t)ch.n_values * 4);
  }
  cs_pq_chunk_free(&ch);
  cs_pq_close(f);
  return rc;
}

static void expect_error(const uint8_t *file, size_t n, int code, const char *what) {
  int32_t vals[64];
  int64_t n_vals;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = read_x(file, n, vals, &n_vals, &err);
  if (rc != code) fail_msg("expected %s for %s, got %s: %s", cs_errname(code), what,
                           cs_errname(rc), err.msg);
  if (!strstr(err.msg, "bad.parquet: offset ") || !strstr(err.msg, what))
    fail_msg("message '%s' lacks file/offset or '%s'", err.msg, what);
}

static void test_handmade_files(void **state) {
  (void)state;
  uint8_t page[1024], pages[2048], file[16384], body[256];
  int32_t vals[64];
  int64_t n_vals;
  cs_err_t err;
  /* valid: 3 rows, def levels RLE run of 3 x 1, PLAIN 5 6 7 */
  const uint8_t ok_body[] = {2, 0, 0, 0, 3 << 1, 1, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0};
  size_t pl = build_page(page, 0, 3, 0, ok_body, sizeof ok_body, sizeof ok_body, sizeof ok_body);
  size_t fl = build_file(file, 1, 0, 3, page, pl, -1);
  assert_int_equal(read_x(file, fl, vals, &n_vals, &err), 0);
  assert_int_equal(n_vals, 3);
  assert_int_equal(vals[2], 7);
  /* page claims more bytes than its chunk has */
  pl = build_page(page, 0, 3, 0, ok_body, sizeof ok_body, 500, 500);
  fl = build_file(file, 1, 0, 3, page, pl, -1);
  expect_error(file, fl, CS_ETRUNC, "runs past its chunk");
  /* uncompressed page whose sizes disagree */
  pl = build_page(page, 0, 3, 0, ok_body, sizeof ok_body, sizeof ok_body + 1, sizeof ok_body);
  fl = build_file(file, 1, 0, 3, page, pl, -1);
  expect_error(file, fl, CS_EFORMAT, "header says");
  /* too few value bytes for the levels' non-null count */
  pl = build_page(page, 0, 3, 0, ok_body, sizeof ok_body - 4, sizeof ok_body - 4,
                  sizeof ok_body - 4);
  fl = build_file(file, 1, 0, 3, page, pl, -1);
  expect_error(file, fl, CS_ETRUNC, "PLAIN values");
  /* definition level 3 in a column whose maximum is 2 */
  const uint8_t lv_body[] = {2, 0, 0, 0, 3 << 1, 3, 5, 0, 0, 0};
  pl = build_page(page, 0, 3, 0, lv_body, sizeof lv_body, sizeof lv_body, sizeof lv_body);
  fl = build_file(file, 2, 0, 3, page, pl, -1);
  expect_error(file, fl, CS_EFORMAT, "above the column's maximum");
  /* more values in the pages than rows in the row group */
  pl = build_page(page, 0, 3, 0, ok_body, sizeof ok_body, sizeof ok_body, sizeof ok_body);
  fl = build_file(file, 1, 0, 2, page, pl, -1);
  expect_error(file, fl, CS_EFORMAT, "more than the chunk");
  /* dictionary: 2 values, then indices 1, 0, 5 (5 out of range) */
  const uint8_t dict_body[] = {10, 0, 0, 0, 20, 0, 0, 0};
  size_t dl = build_page(pages, 2, 2, 0, dict_body, sizeof dict_body, sizeof dict_body,
                         sizeof dict_body);
  const uint8_t idx_ok[] = {2, 0, 0, 0, 3 << 1, 1, 3, (1 << 1) | 1, 0, 0};
  /* bw 3: values 1,0,1 -> bits 001 000 001 */
  uint8_t idx[sizeof idx_ok];
  memcpy(idx, idx_ok, sizeof idx);
  idx[8] = 1 | (0 << 3) | (1 << 6);
  pl = build_page(pages + dl, 0, 3, 8, idx, sizeof idx, sizeof idx, sizeof idx);
  fl = build_file(file, 1, 0, 3, pages, dl + pl, 4);
  save_seed("hand_dictionary", file, fl);
  assert_int_equal(read_x(file, fl, vals, &n_vals, &err), 0);
  assert_int_equal(n_vals, 3);
  assert_int_equal(vals[0], 20);
  assert_int_equal(vals[1], 10);
  assert_int_equal(vals[2], 20);
  idx[8] = (uint8_t)((1 | (5 << 6)) & 0xff);
  idx[9] = 5 >> 2;
  pl = build_page(pages + dl, 0, 3, 8, idx, sizeof idx, sizeof idx, sizeof idx);
  fl = build_file(file, 1, 0, 3, pages, dl + pl, 4);
  expect_error(file, fl, CS_EFORMAT, "dictionary index 5 out of range");
  /* SNAPPY page whose header promises one byte more than it holds */
  size_t clen = snappy_max_compressed_length(sizeof ok_body);
  assert_int_equal(snappy_compress((const char *)ok_body, sizeof ok_body, (char *)body, &clen),
                   SNAPPY_OK);
  pl = build_page(page, 0, 3, 0, body, clen, sizeof ok_body, (int64_t)clen);
  fl = build_file(file, 1, 1, 3, page, pl, -1);
  save_seed("hand_snappy", file, fl);
  assert_int_equal(read_x(file, fl, vals, &n_vals, &err), 0);
  pl = build_page(page, 0, 3, 0, body, clen, sizeof ok_body + 1, (int64_t)clen);
  fl = build_file(file, 1, 1, 3, page, pl, -1);
  expect_error(file, fl, CS_EFORMAT, "SNAPPY page decompresses to");
  /* bad thrift in the footer: a field with wire type 14 */
  pl = build_page(page, 0, 3, 0, ok_body, sizeof ok_body, sizeof ok_body, sizeof ok_body);
  fl = build_file(file, 1, 0, 3, page, pl, -1);
  uint32_t flen;
  memcpy(&flen, file + fl - 8, 4);
  file[fl - 8 - flen] = 0x1e;
  expect_error(file, fl, CS_EFORMAT, "bad type 14");
}

/* DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY pages, encoded by hand. */
static void test_delta_strings(void **state) {
  (void)state;
  uint8_t page[512], file[8192];
  /* lengths 3 3 1: first 3, deltas 0 -2 (min -2, bw 2: 2 0), then bytes */
  const uint8_t dlba[] = {2, 0, 0, 0, 3 << 1, 1,
                          0x80, 0x01, 4, 3, 6, 3, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                          'a', 'b', 'c', 'a', 'b', 'd', 'x'};
  /* prefixes 0 2 0 (min -2, bw 3: 4 0); suffix lengths 3 1 1 (min -2, bw 2:
   * 0 2); suffixes "abc" "d" "x" -> abc abd x */
  const uint8_t dba[] = {2, 0, 0, 0, 3 << 1, 1,
                         0x80, 0x01, 4, 3, 0, 3, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                         0x80, 0x01, 4, 3, 6, 3, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0,
                         'a', 'b', 'c', 'd', 'x'};
  for (int k = 0; k < 2; k++) {
    const uint8_t *body = k ? dba : dlba;
    size_t bl = k ? sizeof dba : sizeof dlba;
    size_t pl = build_page(page, 0, 3, k ? 7 : 6, body, bl, (int64_t)bl, (int64_t)bl);
    size_t fl = build_file_typed(file, CS_PQ_BYTE_ARRAY, 1, 0, 3, page, pl, -1);
    save_seed(k ? "hand_delta_byte_array" : "hand_delta_length", file, fl);
    cs_pq_file_t *f;
    cs_err_t err;
    cs_err_clear(&err);
    if (cs_pq_open_mem(&f, file, fl, "t.parquet", &err)) fail_msg("%s", err.msg);
    cs_pq_chunk_t ch;
    cs_pq_chunk_init(&ch);
    if (cs_pq_read_chunk(f, 0, 0, &ch, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ch.n_values, 3);
    const int64_t want_off[4] = {0, 3, 6, 7};
    assert_memory_equal(ch.offsets, want_off, sizeof want_off);
    assert_memory_equal(ch.bytes, "abcabdx", 7);
    cs_pq_chunk_free(&ch);
    cs_pq_close(f);
    /* one byte short: an error, not a read past the page */
    pl = build_page(page, 0, 3, k ? 7 : 6, body, bl - 1, (int64_t)bl - 1, (int64_t)bl - 1);
    fl = build_file_typed(file, CS_PQ_BYTE_ARRAY, 1, 0, 3, page, pl, -1);
    assert_int_equal(cs_pq_open_mem(&f, file, fl, "t.parquet", &err), 0);
    assert_true(cs_pq_read_chunk(f, 0, 0, &ch, &err) < 0);
    assert_non_null(strstr(err.msg, "t.parquet: offset "));
    cs_pq_chunk_free(&ch);
    cs_pq_close(f);
  }
}

/* ---- malformed files: every failure is an error naming file + offset --- */

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *size = (size_t)n;
  return buf;
}

/* Decode everything; returns 0 or the first error code. */
static int decode_all(const uint8_t *buf, size_t size, cs_err_t *err) {
  cs_pq_file_t *f;
  int rc = cs_pq_open_mem(&f, buf, size, "bad.parquet", err);
  if (rc) return rc;
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  for (int g = 0; g < cs_pq_n_row_groups(f) && !rc; g++)
    for (int c = 0; c < cs_pq_n_columns(f) && !rc; c++) {
      rc = cs_pq_read_chunk(f, g, c, &ch, err);
      cs_pq_cursor_t cur;
      cs_pq_cursor_init(&cur, &ch, cs_pq_column(f, c));
      cs_pq_row_t row;
      for (int64_t r = 0; r < ch.n_rows && !rc; r++) rc = cs_pq_cursor_next(&cur, &row, err);
    }
  cs_pq_chunk_free(&ch);
  cs_pq_close(f);
  return rc;
}

static void test_malformed(void **state) {
  (void)state;
  size_t size;
  uint8_t *buf = read_all(FIXTURES "/duckdb/user_embeddings.zstd.parquet", &size);
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(decode_all(buf, size, &err), 0);
  /* every truncation fails cleanly with the file name and an offset */
  for (size_t n = 0; n < size; n += (n < 64 || n > size - 64) ? 1 : 97) {
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    cs_err_clear(&err);
    int rc = decode_all(copy, n, &err);
    assert_true(rc < 0);
    assert_non_null(strstr(err.msg, "bad.parquet"));
    assert_non_null(strstr(err.msg, "offset"));
    free(copy);
  }
  /* corrupt bytes all over the data and the footer: never a crash */
  uint8_t *copy = malloc(size);
  for (size_t i = 4; i < size - 8; i += 7) {
    memcpy(copy, buf, size);
    copy[i] ^= 0x5a;
    cs_err_clear(&err);
    if (decode_all(copy, size, &err) && !strstr(err.msg, "bad.parquet"))
      fail_msg("byte %zu: message lacks the file name: %s", i, err.msg);
  }
  free(copy);
  free(buf);
  /* missing file */
  cs_pq_file_t *f;
  assert_int_equal(cs_pq_open(&f, "/nonexistent/x.parquet", &err), CS_ENOTFOUND);
  assert_non_null(strstr(err.msg, "/nonexistent/x.parquet"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unpack_matches_reference),
      cmocka_unit_test(test_rle_hybrid),
      cmocka_unit_test(test_delta_binary_packed),
      cmocka_unit_test(test_byte_stream_split),
      cmocka_unit_test(test_fixtures),
      cmocka_unit_test(test_spark_layout),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_handmade_files),
      cmocka_unit_test(test_delta_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* parquet_test.c: the Parquet reader against every shared fixture (pyarrow
 * release + variants, DuckDB files) with exact value comparison, plus the
 * encodings (bit unpacking vs its reference, RLE, delta, byte stream split)
 * and malformed inputs (truncations, corruptions: errors, never crashes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/parquet.h"
#include "parquet/pq_internal.h"

static const char *shared_dir(void) {
  const char *s = getenv("CS_SHARED");
  return s && *s ? s : "../shared";
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

/* ---- pyarrow fixtures: truth files {"num_rows","columns","data"} ------- */

typedef struct {
  const json_t *values;  /* data[column] */
  const int64_t *perm;   /* file row -> truth row, or NULL */
} truth_arg_t;

static const json_t *truth_expect(void *arg, int64_t row) {
  truth_arg_t *t = arg;
  return json_array_get(t->values, (size_t)(t->perm ? t->perm[row] : row));
}

/* Check `path` against `truth_path`; returns values checked. */
static int64_t check_against_truth(const char *path, const char *truth_path) {
  json_error_t jerr;
  json_t *truth = json_load_file(truth_path, 0, &jerr);
  if (!truth) fail_msg("%s: %s", truth_path, jerr.text);
  cs_pq_file_t *f;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_pq_open(&f, path, &err)) fail_msg("%s", err.msg);
  int64_t n_rows = json_integer_value(json_object_get(truth, "num_rows"));
  assert_int_equal(cs_pq_num_rows(f), n_rows);
  /* pandas writes rows in another order with the original position in
   * __index_level_0__: compare each file row with that truth row */
  int64_t *perm = NULL;
  if (cs_pq_find_field(f, "__index_level_0__") >= 0) {
    perm = malloc((size_t)n_rows * sizeof *perm);
    assert_non_null(perm);
    int fi = cs_pq_find_field(f, "__index_level_0__");
    cs_pq_chunk_t ch;
    cs_pq_chunk_init(&ch);
    int64_t base = 0;
    for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
      assert_int_equal(cs_pq_read_chunk(f, g, cs_pq_field(f, fi)->column, &ch, &err), 0);
      assert_int_equal(ch.n_values, ch.n_rows);
      for (int64_t r = 0; r < ch.n_rows; r++) {
        perm[base + r] = cs_pq_value_int64(&ch, r);
        assert_true(perm[base + r] >= 0 && perm[base + r] < n_rows);
      }
      base += ch.n_rows;
    }
    cs_pq_chunk_free(&ch);
  }
  const json_t *cols = json_object_get(truth, "columns");
  const json_t *data = json_object_get(truth, "data");
  int64_t checked = 0;
  for (size_t i = 0; i < json_array_size(cols); i++) {
    const char *name = json_string_value(json_array_get(cols, i));
    truth_arg_t t = {json_object_get(data, name), perm};
    assert_int_equal((int64_t)json_array_size(t.values), n_rows);
    checked += check_field(f, name, truth_expect, &t);
  }
  free(perm);
  cs_pq_close(f);
  json_decref(truth);
  return checked;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

static void test_release(void **state) {
  (void)state;
  char dir[1024], path[2048], truth[2048];
  snprintf(dir, sizeof dir, "%s/fixtures/deezer-parquet/release", shared_dir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n_files = 0;
  while ((e = readdir(d))) {
    if (!ends_with(e->d_name, ".parquet")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    snprintf(truth, sizeof truth, "%s/%.*s.truth.json", dir,
             (int)(strlen(e->d_name) - 8), e->d_name);
    int64_t n = check_against_truth(path, truth);
    assert_true(n > 0);
    n_files++;
  }
  closedir(d);
  assert_int_equal(n_files, 8);
}

static void test_variants(void **state) {
  (void)state;
  char dir[1024], sub[1400], path[2048], truth[2048];
  snprintf(dir, sizeof dir, "%s/fixtures/deezer-parquet/variants", shared_dir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n_files = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
    DIR *d2 = opendir(sub);
    if (!d2) continue;
    struct dirent *e2;
    while ((e2 = readdir(d2))) {
      if (!ends_with(e2->d_name, ".parquet")) continue;
      snprintf(path, sizeof path, "%s/%s", sub, e2->d_name);
      snprintf(truth, sizeof truth, "%s/fixtures/deezer-parquet/release/%.*s.truth.json",
               shared_dir(), (int)(strlen(e2->d_name) - 8), e2->d_name);
      assert_true(check_against_truth(path, truth) > 0);
      n_files++;
    }
    closedir(d2);
  }
  closedir(d);
  assert_true(n_files >= 20);
}

/* ---- DuckDB fixtures: *.expected.json = list of row objects ------------- */

typedef struct {
  const json_t *rows;
  const char *name;
  json_t *cache; /* pattern_expect's current value (owned) */
} rows_arg_t;

static const json_t *rows_expect(void *arg, int64_t row) {
  rows_arg_t *a = arg;
  const json_t *obj = json_array_get(a->rows, (size_t)row);
  if (!obj) fail_msg("no expected row %lld", (long long)row);
  const json_t *v = json_object_get(obj, a->name);
  if (!v) fail_msg("expected row %lld has no '%s'", (long long)row, a->name);
  return v;
}

/* The 4100-row file has no JSON of its own: its first 50 rows are the
 * train_svd expected rows and the whole file follows the generator's
 * pattern, which those rows show (user 100+i, ...). */
static const json_t *pattern_expect(void *arg, int64_t i) {
  rows_arg_t *a = arg;
  json_t *cache;
  if (a->cache) json_decref(a->cache);
  if (!strcmp(a->name, "user_index")) cache = json_integer(100 + i);
  else if (!strcmp(a->name, "age_embedding0")) cache = json_real(0.25 * (double)i);
  else if (!strcmp(a->name, "nb_favorite_songs"))
    cache = i % 3 == 0 ? json_null() : json_real(2.0 * (double)i);
  else if (i % 7 == 3) cache = json_null();
  else {
    cache = json_array();
    for (int64_t k = 0; k < i % 5; k++) json_array_append_new(cache, json_integer((i + k) * 1000 + 7));
  }
  if (i < 50) {
    /* cross-check the pattern against the expected rows */
    const json_t *want = rows_expect(arg, i);
    if (!json_equal(want, cache)) fail_msg("pattern differs from expected row %lld", (long long)i);
  }
  a->cache = cache;
  return cache;
}

static void test_duckdb(void **state) {
  (void)state;
  char dir[1024], path[2048], exp[2048];
  snprintf(dir, sizeof dir, "%s/fixtures/parquet-duckdb", shared_dir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n_files = 0;
  while ((e = readdir(d))) {
    if (!ends_with(e->d_name, ".parquet")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    const char *dot = strchr(e->d_name, '.');
    int is_4100 = strstr(e->d_name, "4100rows") != NULL;
    snprintf(exp, sizeof exp, "%s/%.*s.expected.json", dir,
             is_4100 ? (int)strlen("user_features_train_svd") : (int)(dot - e->d_name),
             is_4100 ? "user_features_train_svd" : e->d_name);
    json_error_t jerr;
    json_t *rows = json_load_file(exp, 0, &jerr);
    if (!rows) fail_msg("%s: %s", exp, jerr.text);
    cs_pq_file_t *f;
    cs_err_t err;
    cs_err_clear(&err);
    if (cs_pq_open(&f, path, &err)) fail_msg("%s", err.msg);
    if (is_4100) {
      assert_int_equal(cs_pq_num_rows(f), 4100);
      assert_int_equal(cs_pq_n_row_groups(f), 3);
    } else {
      assert_int_equal(cs_pq_num_rows(f), (int64_t)json_array_size(rows));
    }
    /* every column of the file, every row */
    assert_true(cs_pq_n_fields(f) >= 2);
    for (int fi = 0; fi < cs_pq_n_fields(f); fi++) {
      rows_arg_t a = {rows, cs_pq_field(f, fi)->name, NULL};
      int64_t n = check_field(f, a.name, is_4100 ? pattern_expect : rows_expect, &a);
      assert_int_equal(n, cs_pq_num_rows(f));
      json_decref(a.cache);
    }
    cs_pq_close(f);
    json_decref(rows);
    n_files++;
  }
  closedir(d);
  assert_int_equal(n_files, 16);
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
  char path[2048];
  snprintf(path, sizeof path, "%s/fixtures/parquet-duckdb/user_embeddings.snappy.parquet",
           shared_dir());
  size_t size;
  uint8_t *buf = read_all(path, &size);
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
    if (decode_all(copy, size, &err)) assert_non_null(strstr(err.msg, "bad.parquet"));
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
      cmocka_unit_test(test_release),
      cmocka_unit_test(test_variants),
      cmocka_unit_test(test_duckdb),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

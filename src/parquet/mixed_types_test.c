/* mixed_types_test.c: columns of different physical widths read one after
 * the other through ONE reused chunk (what parquet-dump --count and
 * import-deezer do): every ordered pair of the 8 physical types, PLAIN and
 * dictionary-encoded, in one row group and across several of growing and
 * shrinking sizes, plus one file where every pair is adjacent (a de Bruijn
 * order of 65 columns). Every value and every null is checked. Files are
 * built in memory by pq_test_writer.h; with CS_PQ_SEED_DIR set, a few are
 * saved as fuzz seeds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/parquet.h"
#include "parquet/pq_test_writer.h"

static const int all_types[8] = {CS_PQ_BOOLEAN, CS_PQ_INT32, CS_PQ_INT64,
                                 CS_PQ_INT96,   CS_PQ_FLOAT, CS_PQ_DOUBLE,
                                 CS_PQ_BYTE_ARRAY, CS_PQ_FIXED_LEN_BYTE_ARRAY};

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

/* Compare one decoded chunk (column c, rows from row0) with the writer. */
static void check_chunk(const cs_pq_chunk_t *ch, const pqw_col_t *col, int c,
                        int64_t row0, int64_t n_rows) {
  assert_int_equal(ch->type, col->type);
  assert_int_equal(ch->n_rows, n_rows);
  assert_int_equal(ch->n_levels, n_rows);
  int64_t v = 0;
  uint8_t want[32];
  for (int64_t r = 0; r < n_rows; r++) {
    int is_null = pqw_is_null(col, c, row0 + r);
    if (is_null != cs_pq_slot_null(ch, r))
      fail_msg("column %d (%s) row %lld: null %d, expected %d", c,
               cs_pq_type_name(col->type), (long long)(row0 + r),
               cs_pq_slot_null(ch, r), is_null);
    if (is_null) continue;
    size_t len = pqw_value(col, c, row0 + r, want);
    const uint8_t *got;
    size_t got_len = len;
    if (col->type == CS_PQ_BYTE_ARRAY || col->type == CS_PQ_FIXED_LEN_BYTE_ARRAY) {
      got = ch->bytes + ch->offsets[v];
      got_len = (size_t)(ch->offsets[v + 1] - ch->offsets[v]);
    } else {
      got = (const uint8_t *)ch->values + (size_t)v * len;
    }
    if (got_len != len || memcmp(got, want, len))
      fail_msg("column %d (%s%s) row %lld: value differs", c,
               cs_pq_type_name(col->type), col->dict ? ", dictionary" : "",
               (long long)(row0 + r));
    v++;
  }
  assert_int_equal(v, ch->n_values);
}

/* Read every (row group, column) in file order through one chunk. */
static void read_all_reused(const uint8_t *file, size_t size, const pqw_col_t *cols,
                            int n_cols, const int64_t *rg_rows, int n_rgs) {
  cs_pq_file_t *f;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_pq_open_mem(&f, file, size, "mixed.parquet", &err)) fail_msg("%s", err.msg);
  assert_int_equal(cs_pq_n_columns(f), n_cols);
  assert_int_equal(cs_pq_n_row_groups(f), n_rgs);
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  int64_t row0 = 0;
  for (int g = 0; g < n_rgs; g++) {
    for (int c = 0; c < n_cols; c++) {
      if (cs_pq_read_chunk(f, g, c, &ch, &err)) fail_msg("%s", err.msg);
      check_chunk(&ch, &cols[c], c, row0, rg_rows[g]);
    }
    row0 += rg_rows[g];
  }
  cs_pq_chunk_free(&ch);
  cs_pq_close(f);
}

static void test_every_pair(void **state) {
  (void)state;
  /* 300 rows: above the 256-item first allocation and above half of it, so
   * a capacity counted in items of the previous column's width overflows;
   * several row groups grow and shrink the chunk between reads */
  static const int64_t one[1] = {300}, several[4] = {300, 1000, 130, 700};
  int n_files = 0;
  for (int a = 0; a < 8; a++)
    for (int b = 0; b < 8; b++)
      for (int enc = 0; enc < 4; enc++) {
        pqw_col_t cols[2] = {
            {all_types[a], 0, (a + b) % 2, (enc & 1) && all_types[a] != CS_PQ_BOOLEAN},
            {all_types[b], 0, (a + b + 1) % 2, (enc & 2) && all_types[b] != CS_PQ_BOOLEAN}};
        for (int k = 0; k < 2; k++) {
          size_t size;
          uint8_t *file = pqw_file(cols, 2, k ? several : one, k ? 4 : 1, &size);
          read_all_reused(file, size, cols, 2, k ? several : one, k ? 4 : 1);
          n_files++;
          free(file);
        }
      }
  assert_int_equal(n_files, 8 * 8 * 4 * 2);
}

/* de Bruijn sequence B(8, 2): every ordered pair of types adjacent once. */
static int de_bruijn(int *seq) {
  int n = 0;
  /* the Lyndon words of length 1 and 2 in lexicographic order: t, then
   * t u for every u > t */
  for (int t1 = 0; t1 < 8; t1++) {
    seq[n++] = t1;
    for (int t2 = t1 + 1; t2 < 8; t2++) {
      seq[n++] = t1;
      seq[n++] = t2;
    }
  }
  seq[n] = seq[0]; /* close the cycle */
  return n + 1;
}

static void test_all_types_one_file(void **state) {
  (void)state;
  int seq[65];
  int n_cols = de_bruijn(seq);
  assert_int_equal(n_cols, 65);
  /* the order really holds every ordered pair */
  int seen[8][8] = {{0}};
  for (int i = 0; i + 1 < n_cols; i++) seen[seq[i]][seq[i + 1]]++;
  for (int a = 0; a < 8; a++)
    for (int b = 0; b < 8; b++) assert_true(seen[a][b] >= 1);
  pqw_col_t cols[65];
  for (int i = 0; i < n_cols; i++)
    cols[i] = (pqw_col_t){all_types[seq[i]], 3 + i % 9, i % 3 != 0,
                          i % 2 == 1 && all_types[seq[i]] != CS_PQ_BOOLEAN};
  static const int64_t one[1] = {400}, several[3] = {200, 600, 150};
  for (int k = 0; k < 2; k++) {
    size_t size;
    uint8_t *file = pqw_file(cols, n_cols, k ? several : one, k ? 3 : 1, &size);
    read_all_reused(file, size, cols, n_cols, k ? several : one, k ? 3 : 1);
    free(file);
  }
  /* small seeds for the fuzzer: a narrow column, then a wide one */
  static const int seeds[][2] = {{CS_PQ_INT32, CS_PQ_INT64}, {CS_PQ_FLOAT, CS_PQ_DOUBLE},
                                 {CS_PQ_BOOLEAN, CS_PQ_DOUBLE}, {CS_PQ_INT32, CS_PQ_INT96},
                                 {CS_PQ_BYTE_ARRAY, CS_PQ_INT64}};
  for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
    for (int dict = 0; dict < 2; dict++) {
      pqw_col_t c2[2] = {{seeds[s][0], 0, 1, 0}, {seeds[s][1], 0, 1, dict}};
      static const int64_t rows[2] = {160, 200};
      size_t size;
      uint8_t *file = pqw_file(c2, 2, rows, 2, &size);
      read_all_reused(file, size, c2, 2, rows, 2);
      char name[64];
      snprintf(name, sizeof name, "mixed_%s_%s%s", cs_pq_type_name(seeds[s][0]),
               cs_pq_type_name(seeds[s][1]), dict ? "_dict" : "");
      save_seed(name, file, size);
      free(file);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_pair),
      cmocka_unit_test(test_all_types_one_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sparse_test.c: CSR from triplets (sorting, duplicate sums, bad indices),
 * transpose against a dense reference and round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "coldstart/rng.h"
#include "coldstart/sparse.h"

static void test_from_triplets_sorts_and_sums(void **state) {
  (void)state;
  /* 3 x 4, unsorted, with (1,2) three times and (0,3) twice. */
  int64_t rows[] = {1, 0, 2, 1, 0, 1, 0, 1};
  int32_t cols[] = {2, 3, 0, 0, 1, 2, 3, 2};
  float vals[] = {1.f, 2.f, 5.f, 7.f, 3.f, 0.5f, 4.f, 0.25f};
  cs_csr_t m;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_csr_from_triplets(&m, 3, 4, rows, cols, vals, 8, &err), 0);
  assert_int_equal(m.n_rows, 3);
  assert_int_equal(m.n_cols, 4);
  assert_int_equal(cs_csr_nnz(&m), 5);
  int64_t want_ptr[] = {0, 2, 4, 5};
  int32_t want_idx[] = {1, 3, 0, 2, 0};
  float want_val[] = {3.f, 6.f, 7.f, 1.75f, 5.f};
  for (int i = 0; i < 4; i++) assert_int_equal(m.indptr[i], want_ptr[i]);
  for (int k = 0; k < 5; k++) {
    assert_int_equal(m.indices[k], want_idx[k]);
    assert_float_equal(m.values[k], want_val[k], 1e-6);
  }
  cs_csr_free(&m);
  cs_csr_free(&m); /* double free of a freed struct is harmless */
}

static void test_from_triplets_rejects_out_of_range(void **state) {
  (void)state;
  int64_t rows[] = {0, 3};
  int32_t cols[] = {0, 1};
  float vals[] = {1.f, 1.f};
  cs_csr_t m;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_csr_from_triplets(&m, 3, 4, rows, cols, vals, 2, &err),
                   CS_EINVAL);
  assert_non_null(strstr(err.msg, "triplet 1"));
  int32_t neg[] = {0, -1};
  int64_t ok_rows[] = {0, 1};
  assert_int_equal(cs_csr_from_triplets(&m, 3, 4, ok_rows, neg, vals, 2, &err),
                   CS_EINVAL);
}

static void test_empty(void **state) {
  (void)state;
  cs_csr_t m, t;
  assert_int_equal(cs_csr_from_triplets(&m, 5, 7, NULL, NULL, NULL, 0, NULL), 0);
  assert_int_equal(cs_csr_nnz(&m), 0);
  for (int r = 0; r <= 5; r++) assert_int_equal(m.indptr[r], 0);
  assert_int_equal(cs_csr_transpose(&t, &m, NULL), 0);
  assert_int_equal(t.n_rows, 7);
  assert_int_equal(t.n_cols, 5);
  assert_int_equal(cs_csr_nnz(&t), 0);
  cs_csr_free(&m);
  cs_csr_free(&t);
}

static void to_dense(const cs_csr_t *m, double *d) {
  memset(d, 0, (size_t)(m->n_rows * m->n_cols) * sizeof(double));
  for (int64_t r = 0; r < m->n_rows; r++)
    for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++)
      d[r * m->n_cols + m->indices[k]] += m->values[k];
}

static void test_random_matches_dense_and_transpose(void **state) {
  (void)state;
  const int64_t n_rows = 37, n_cols = 23, n = 400;
  int64_t *rows = malloc(n * sizeof(int64_t));
  int32_t *cols = malloc(n * sizeof(int32_t));
  float *vals = malloc(n * sizeof(float));
  double *want = calloc(n_rows * n_cols, sizeof(double));
  double *got = malloc(n_rows * n_cols * sizeof(double));
  double *got_t = malloc(n_rows * n_cols * sizeof(double));
  cs_rng_t rng;
  cs_rng_seed(&rng, 7);
  for (int64_t t = 0; t < n; t++) {
    rows[t] = (int64_t)cs_rng_below(&rng, n_rows);
    cols[t] = (int32_t)cs_rng_below(&rng, n_cols);
    vals[t] = (float)cs_rng_below(&rng, 5) + 1.f;
    want[rows[t] * n_cols + cols[t]] += vals[t];
  }
  cs_csr_t m, t, tt;
  assert_int_equal(cs_csr_from_triplets(&m, n_rows, n_cols, rows, cols, vals,
                                        n, NULL), 0);
  for (int64_t r = 0; r < n_rows; r++)
    for (int64_t k = m.indptr[r] + 1; k < m.indptr[r + 1]; k++)
      assert_true(m.indices[k - 1] < m.indices[k]);
  to_dense(&m, got);
  for (int64_t i = 0; i < n_rows * n_cols; i++)
    assert_float_equal(got[i], want[i], 1e-6);

  assert_int_equal(cs_csr_transpose(&t, &m, NULL), 0);
  assert_int_equal(t.n_rows, n_cols);
  to_dense(&t, got_t);
  for (int64_t r = 0; r < n_rows; r++)
    for (int64_t c = 0; c < n_cols; c++)
      assert_float_equal(got_t[c * n_rows + r], want[r * n_cols + c], 1e-6);
  for (int64_t r = 0; r < t.n_rows; r++)
    for (int64_t k = t.indptr[r] + 1; k < t.indptr[r + 1]; k++)
      assert_true(t.indices[k - 1] < t.indices[k]);

  assert_int_equal(cs_csr_transpose(&tt, &t, NULL), 0);
  assert_int_equal(cs_csr_nnz(&tt), cs_csr_nnz(&m));
  assert_memory_equal(tt.indptr, m.indptr, (n_rows + 1) * sizeof(int64_t));
  assert_memory_equal(tt.indices, m.indices, cs_csr_nnz(&m) * sizeof(int32_t));
  assert_memory_equal(tt.values, m.values, cs_csr_nnz(&m) * sizeof(float));
  cs_csr_free(&m);
  cs_csr_free(&t);
  cs_csr_free(&tt);
  free(rows);
  free(cols);
  free(vals);
  free(want);
  free(got);
  free(got_t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_from_triplets_sorts_and_sums),
      cmocka_unit_test(test_from_triplets_rejects_out_of_range),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_random_matches_dense_and_transpose),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

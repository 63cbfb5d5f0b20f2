/* forward_test.c: the batched serving forward pass against the reference
 * (cs_regressor_predict, one row at a time), and its batch independence:
 * every row of a batch is bitwise the row computed alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/regressor.h"
#include "coldstart/rng.h"
#include "serve/forward.h"

static void check(int n_in, int dim, int n_rows) {
  cs_regressor_t *r = NULL;
  cs_err_t err;
  assert_int_equal(cs_regressor_create(&r, n_in, dim, 7, &err), 0);
  cs_rng_t rng;
  cs_rng_seed(&rng, 11);
  float *X = calloc((size_t)n_rows * n_in, sizeof *X);
  /* sparse like a cold user: runs of nonzero features, most blocks empty */
  for (int i = 0; i < n_rows; i++)
    for (int j0 = 0; j0 < n_in; j0 += 16) {
      if (cs_rng_uniform(&rng) < 0.6) continue;
      for (int j = j0; j < j0 + 16 && j < n_in; j++)
        X[(size_t)i * n_in + j] = (float)(2.0 * cs_rng_uniform(&rng) - 1.0);
    }
  if (n_rows > 2) memset(X + n_in, 0, sizeof(float) * (size_t)n_in); /* an empty user */
  float *ref = malloc((size_t)n_rows * dim * sizeof *ref);
  float *batch = malloc((size_t)n_rows * dim * sizeof *batch);
  float *alone = malloc((size_t)n_rows * dim * sizeof *alone);
  for (int i = 0; i < n_rows; i++)
    assert_int_equal(cs_regressor_predict(r, X + (size_t)i * n_in, 1, ref + (size_t)i * dim, &err), 0);
  cs_serve_fwd_t *f = NULL;
  assert_int_equal(cs_serve_fwd_create(&f, r, n_rows), 0);
  cs_serve_fwd_run(f, X, n_rows, batch);
  for (int i = 0; i < n_rows; i++)
    cs_serve_fwd_run(f, X + (size_t)i * n_in, 1, alone + (size_t)i * dim);
  assert_memory_equal(batch, alone, (size_t)n_rows * dim * sizeof *batch);
  for (int i = 0; i < n_rows * dim; i++) assert_true(fabsf(batch[i] - ref[i]) < 1e-5f);
  /* a sub-batch (the first rows) gives the same rows again */
  if (n_rows > 3) {
    cs_serve_fwd_run(f, X, n_rows - 3, alone);
    assert_memory_equal(batch, alone, (size_t)(n_rows - 3) * dim * sizeof *batch);
  }
  cs_serve_fwd_free(f);
  cs_regressor_free(r);
  free(X);
  free(ref);
  free(batch);
  free(alone);
}

/* 339 inputs (tiny scale), hidden 400/300/200: whole 64-output blocks,
 * 16-output vectors and scalar tails; batches that end in 1, 2, 3 rows */
static void test_small(void **state) {
  (void)state;
  for (int n = 1; n <= 9; n++) check(339, 16, n);
}

static void test_wider(void **state) {
  (void)state;
  check(1299, 64, 32);
  check(1299, 67, 5); /* an output width that is not a multiple of 16 */
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_small), cmocka_unit_test(test_wider)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

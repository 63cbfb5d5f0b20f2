/* forward_test.c: the inference kernel against its plain twin, and what
 * serving relies on: the same value for a row alone or in any batch, with
 * float32 and float16 weights; the float16 conversions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/rng.h"
#include "model/regressor_internal.h"

/* A random layer: n_in x n_out transposed weights (float32, and the same
 * rounded to float16 when half), bias. */
typedef struct {
  cs__fwd_layer_t L;
  float *w, *b;
  uint16_t *w16;
} layer_t;

static layer_t layer_new(cs_rng_t *rng, int n_in, int n_out, int half) {
  layer_t t;
  size_t n = (size_t)n_in * n_out;
  t.w = malloc(n * sizeof *t.w);
  t.b = malloc((size_t)n_out * sizeof *t.b);
  t.w16 = malloc(n * sizeof *t.w16);
  for (size_t i = 0; i < n; i++) {
    t.w[i] = (float)(cs_rng_normal(rng) / sqrt((double)n_in));
    t.w16[i] = cs__float_to_half(t.w[i]);
  }
  for (int o = 0; o < n_out; o++) t.b[o] = (float)(0.1 * cs_rng_normal(rng));
  t.L = (cs__fwd_layer_t){n_in, n_out, half ? NULL : t.w, half ? t.w16 : NULL, t.b};
  return t;
}

static void layer_free(layer_t *t) {
  free(t->w);
  free(t->b);
  free(t->w16);
}

/* Rows of n_in inputs, sparse like registration-day features: whole blocks
 * of zeros (some zero in every row, so tiles skip them), the rest half
 * zero. */
static void fill_rows(cs_rng_t *rng, float *x, int n_rows, int ldx, int n_in) {
  for (int r = 0; r < n_rows; r++)
    for (int k = 0; k < n_in; k++) {
      int block_empty = (k / 8) % 3 == 1;
      x[(size_t)r * ldx + k] =
          block_empty || cs_rng_uniform(rng) < 0.5 ? 0.0f : (float)cs_rng_normal(rng);
    }
}

/* Every output equal (==: a zero may change sign) to the plain loop's, and
 * each row alone equal to the row in the batch. */
static void check_layer(cs_rng_t *rng, int n_in, int n_out, int n_rows, int half) {
  layer_t t = layer_new(rng, n_in, n_out, half);
  int ldx = n_in + 3, ldy = n_out + 5; /* strides wider than the rows */
  float *x = calloc((size_t)n_rows * ldx, sizeof *x);
  float *y = calloc((size_t)n_rows * ldy, sizeof *y);
  float *yref = calloc((size_t)n_rows * ldy, sizeof *yref);
  float *y1 = calloc((size_t)ldy, sizeof *y1);
  int32_t *ks = malloc((size_t)n_in * sizeof *ks);
  float *xv = malloc((size_t)n_in * 4 * sizeof *xv);
  uint8_t *used = malloc((size_t)n_in);
  fill_rows(rng, x, n_rows, ldx, n_in);
  cs__fwd_layer(&t.L, x, ldx, n_rows, y, ldy, ks, xv, used);
  cs__fwd_layer_ref(&t.L, x, ldx, n_rows, yref, ldy);
  for (int r = 0; r < n_rows; r++) {
    for (int o = 0; o < n_out; o++)
      if (!(y[(size_t)r * ldy + o] == yref[(size_t)r * ldy + o]))
        fail_msg("n_in %d n_out %d rows %d half %d: row %d out %d: %.9g, ref %.9g",
                 n_in, n_out, n_rows, half, r, o, (double)y[(size_t)r * ldy + o],
                 (double)yref[(size_t)r * ldy + o]);
    cs__fwd_layer(&t.L, x + (size_t)r * ldx, ldx, 1, y1, ldy, ks, xv, used);
    for (int o = 0; o < n_out; o++)
      if (!(y1[o] == y[(size_t)r * ldy + o]))
        fail_msg("n_in %d n_out %d rows %d half %d: row %d alone differs at %d",
                 n_in, n_out, n_rows, half, r, o);
  }
  free(x);
  free(y);
  free(yref);
  free(y1);
  free(ks);
  free(xv);
  free(used);
  layer_free(&t);
}

static void test_kernel_matches_reference(void **state) {
  (void)state;
  cs_rng_t rng;
  cs_rng_seed(&rng, 12);
  /* widths: one vector, tile remainders of the 4x64 and 1x128 tiles, the
   * model's 400/304/208/128 */
  const int outs[] = {16, 48, 64, 80, 128, 144, 208, 304, 400};
  const int ins[] = {1, 7, 50, 301};
  const int rows[] = {1, 2, 3, 4, 5, 7, 9, 33};
  for (int half = 0; half <= 1; half++)
    for (size_t a = 0; a < sizeof ins / sizeof *ins; a++)
      for (size_t b = 0; b < sizeof outs / sizeof *outs; b++)
        for (size_t c = 0; c < sizeof rows / sizeof *rows; c++)
          check_layer(&rng, ins[a], outs[b], rows[c], half);
}

/* float16: every half converts to a float and back unchanged (NaN stays
 * NaN); a float rounds to the nearest half, ties to even, overflow to
 * infinity. */
static void test_half_conversion(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = cs__half_to_float((uint16_t)h);
    int is_nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
    if (is_nan) {
      assert_true(isnan(f));
      continue;
    }
    assert_int_equal(cs__float_to_half(f), h);
  }
  assert_true(cs__half_to_float(0x3c00) == 1.0f);
  assert_true(cs__half_to_float(0xc000) == -2.0f);
  assert_true(cs__half_to_float(0x7bff) == 65504.0f);
  assert_true(cs__half_to_float(0x0001) == ldexpf(1.0f, -24));
  assert_int_equal(cs__float_to_half(1e6f), 0x7c00);
  assert_int_equal(cs__float_to_half(-1e6f), 0xfc00);
  /* 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: to even (1) */
  assert_int_equal(cs__float_to_half(1.0f + ldexpf(1.0f, -11)), 0x3c00);
  assert_int_equal(cs__float_to_half(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);
  cs_rng_t rng;
  cs_rng_seed(&rng, 3);
  for (int i = 0; i < 200000; i++) {
    float f = (float)(cs_rng_normal(&rng) * pow(2.0, -20.0 + 36.0 * cs_rng_uniform(&rng)));
    if (fabsf(f) >= 65504.0f) continue;
    uint16_t h = cs__float_to_half(f);
    double err = fabs((double)cs__half_to_float(h) - f);
    /* no neighbouring half is nearer */
    for (int d = -1; d <= 1; d += 2) {
      uint16_t g = (uint16_t)(h + d);
      if ((g & 0x7c00u) == 0x7c00u || (g & 0x7fffu) == 0x7fffu) continue;
      if ((g ^ h) & 0x8000u) continue; /* crossed zero */
      assert_true(err <= fabs((double)cs__half_to_float(g) - f));
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernel_matches_reference),
      cmocka_unit_test(test_half_conversion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

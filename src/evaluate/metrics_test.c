/* metrics_test.c: P/R/NDCG@K on hand-computed lists (|G| < K, ideal DCG),
 * the scikit-learn tie-averaged NDCG on hand-computed score vectors, the
 * spread against an independent computation, and segment construction. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/metrics.h"
#include "coldstart/rng.h"
#include "coldstart/segments.h"
#include "coldstart/train.h"

static void test_user_metrics(void **state) {
  (void)state;
  cs_user_metrics_t um;
  /* list [5 1 9], K = 3, G = {1 2 5}: hits at ranks 1 and 2. */
  const int32_t l1[3] = {5, 1, 9};
  const int64_t g1[3] = {1, 2, 5};
  cs_metrics_user(l1, 3, 3, g1, 3, &um);
  assert_float_equal(um.precision, 2.0 / 3.0, 1e-12);
  assert_float_equal(um.recall, 2.0 / 3.0, 1e-12);
  double dcg = 1.0 + 1.0 / log2(3.0), idcg = dcg + 0.5;
  assert_float_equal(um.ndcg, dcg / idcg, 1e-12);

  /* |G| = 1 < K = 5: precision denominator min(|G|, K) = 1. */
  const int32_t l2[5] = {0, 1, 2, 3, 4};
  const int64_t g2[1] = {3};
  cs_metrics_user(l2, 5, 5, g2, 1, &um);
  assert_float_equal(um.precision, 1.0, 1e-12);
  assert_float_equal(um.recall, 1.0, 1e-12);
  assert_float_equal(um.ndcg, 1.0 / log2(5.0), 1e-12);

  /* |G| = 4 > K = 2, no hits then one hit at rank 2. */
  const int64_t g3[4] = {1, 10, 11, 12};
  cs_metrics_user(l2, 5, 2, g3, 4, &um);
  assert_float_equal(um.precision, 0.5, 1e-12);
  assert_float_equal(um.recall, 0.25, 1e-12);
  assert_float_equal(um.ndcg, (1.0 / log2(3.0)) / (1.0 + 1.0 / log2(3.0)),
                     1e-12);

  /* Perfect list: NDCG 1; items past K are ignored. */
  const int64_t g4[2] = {0, 1};
  cs_metrics_user(l2, 5, 2, g4, 2, &um);
  assert_float_equal(um.ndcg, 1.0, 1e-12);
  assert_float_equal(um.precision, 1.0, 1e-12);
  const int32_t l5[4] = {7, 8, 0, 1};
  cs_metrics_user(l5, 4, 2, g4, 2, &um);
  assert_float_equal(um.precision, 0.0, 0);
  assert_float_equal(um.ndcg, 0.0, 0);
}

static void test_ndcg_sklearn(void **state) {
  (void)state;
  /* scores [3 2 2 2 1 0], G = {2}, k = 2: the tie group {1 2 3} spans
   * positions 1..3, only position 1 is inside k: gain 1/3 * 1/log2(3). */
  const float s1[6] = {3, 2, 2, 2, 1, 0};
  const int64_t top1[2] = {0, 1};
  const int64_t g1[1] = {2};
  assert_float_equal(cs_metrics_ndcg_sklearn(s1, 6, top1, 2, g1, 1),
                     (1.0 / 3.0) / log2(3.0), 1e-12);
  /* scores: song 5 = 10, song 1 = 9, all else 0; G = {1 2 5}, k = 3:
   * 1 + 1/log2(3) + (1/8) * 1/2 over the ideal 1 + 1/log2(3) + 1/2. */
  float s2[10] = {0};
  s2[5] = 10;
  s2[1] = 9;
  const int64_t top2[3] = {5, 1, 0};
  const int64_t g2[3] = {1, 2, 5};
  double dcg = 1.0 + 1.0 / log2(3.0) + 0.125 * 0.5;
  double idcg = 1.0 + 1.0 / log2(3.0) + 0.5;
  assert_float_equal(cs_metrics_ndcg_sklearn(s2, 10, top2, 3, g2, 3),
                     dcg / idcg, 1e-12);
  /* Distinct scores: equals the delivered-list NDCG. */
  const float s3[6] = {0.6f, 0.1f, 0.5f, 0.4f, 0.3f, 0.2f};
  const int64_t top3[3] = {0, 2, 3};
  const int32_t list3[3] = {0, 2, 3};
  const int64_t g3[2] = {2, 4};
  cs_user_metrics_t um;
  cs_metrics_user(list3, 3, 3, g3, 2, &um);
  assert_float_equal(cs_metrics_ndcg_sklearn(s3, 6, top3, 3, g3, 2), um.ndcg,
                     1e-12);
}

static double reference_spread(const double *v, int64_t n) {
  double means[10];
  for (int seed = 0; seed < 2; seed++) {
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    cs_rng_t rng;
    cs_rng_seed(&rng, (uint64_t)seed);
    cs_rng_shuffle_i64(&rng, perm, n);
    for (int p = 0; p < 5; p++) {
      double s = 0;
      int64_t c = 0;
      /* part sizes as numpy.array_split: n/5 + 1 for the first n%5 */
      int64_t start = 0;
      for (int q = 0; q < p; q++) start += n / 5 + (q < n % 5);
      int64_t size = n / 5 + (p < n % 5);
      for (int64_t i = start; i < start + size; i++) {
        s += v[perm[i]];
        c++;
      }
      means[seed * 5 + p] = s / (double)c;
    }
    free(perm);
  }
  double mu = 0, var = 0;
  for (int i = 0; i < 10; i++) mu += means[i] / 10;
  for (int i = 0; i < 10; i++) var += (means[i] - mu) * (means[i] - mu);
  return sqrt(var / 9);
}

static void test_spread(void **state) {
  (void)state;
  int64_t scratch[1000];
  double v[1000];
  for (int i = 0; i < 1000; i++) v[i] = 3.5;
  assert_float_equal(cs_metrics_spread(v, 1000, scratch), 0.0, 1e-12);
  assert_float_equal(cs_metrics_mean(v, 1000), 3.5, 1e-12);
  assert_float_equal(cs_metrics_spread(v, 4, scratch), 0.0, 0);
  for (int n = 5; n <= 1000; n += 199) {
    for (int i = 0; i < n; i++) v[i] = (double)((i * 37) % 11) / 10.0;
    double s = cs_metrics_spread(v, n, scratch);
    assert_true(s > 0.0);
    assert_float_equal(s, reference_spread(v, n), 1e-12);
    /* scale equivariance */
    for (int i = 0; i < n; i++) v[i] *= 4.0;
    assert_float_equal(cs_metrics_spread(v, n, scratch), 4.0 * s, 1e-12);
  }
  /* Two-valued vector with n = 10: every part has 2 users; a part mean is
   * 0, 0.5 or 1; the std is a finite known function of the shuffle. */
  for (int i = 0; i < 10; i++) v[i] = i < 5;
  assert_float_equal(cs_metrics_spread(v, 10, scratch),
                     reference_spread(v, 10), 1e-12);
}

static void test_segments_build(void **state) {
  (void)state;
  /* users 0..3 in segments 1, 1, 0, -1 (left out) */
  const int64_t ptr[5] = {0, 2, 4, 5, 7};
  const int64_t idx[7] = {3, 4, 4, 5, 2, 0, 1};
  const int32_t assign[4] = {1, 1, 0, -1};
  cs_segments_t s;
  cs_err_t err;
  assert_int_equal(cs_segments_build(2, assign, 4, ptr, idx, 6, &s, &err), 0);
  assert_int_equal(s.k, 2);
  assert_int_equal(cs_segments_len(&s, 0), 1);
  assert_int_equal(cs_segments_len(&s, 1), 3);
  assert_int_equal(s.n_users[0], 1);
  assert_int_equal(s.n_users[1], 2);
  const int32_t *l1 = s.songs + s.indptr[1]; /* 4 (2 users), then 3, 5 */
  assert_int_equal(l1[0], 4);
  assert_int_equal(l1[1], 3);
  assert_int_equal(l1[2], 5);
  assert_float_equal(s.p[s.indptr[1]], 0.5f, 1e-7);
  assert_float_equal(s.p[s.indptr[1] + 1], 0.25f, 1e-7);
  assert_float_equal(cs_segments_p(&s, 1, 5), 0.25f, 1e-7);
  assert_float_equal(cs_segments_p(&s, 1, 0), 0.0f, 0);
  /* full ranking of segment 0 over all songs: [2] then 0 1 3 4 5 */
  int32_t out[6];
  float p[6];
  assert_int_equal(cs_segments_take(&s, 0, 6, NULL, 0, out, p), 6);
  const int32_t expect[6] = {2, 0, 1, 3, 4, 5};
  for (int i = 0; i < 6; i++) assert_int_equal(out[i], expect[i]);
  assert_float_equal(p[0], 1.0f, 0);
  assert_float_equal(p[1], 0.0f, 0);
  /* with a stamp: pre-taken songs skipped */
  uint32_t stamp[6] = {0, 7, 0, 0, 0, 0};
  assert_int_equal(cs_segments_take(&s, 0, 3, stamp, 7, out, NULL), 3);
  assert_int_equal(out[0], 2);
  assert_int_equal(out[1], 0);
  assert_int_equal(out[2], 3);
  cs_segments_free(&s);
  /* out-of-range inputs are errors */
  const int32_t bad[4] = {1, 2, 0, 0};
  assert_int_equal(cs_segments_build(2, bad, 4, ptr, idx, 6, &s, &err),
                   CS_ERANGE);
  assert_int_equal(cs_segments_build(2, assign, 4, ptr, idx, 4, &s, &err),
                   CS_ERANGE);
  /* popularity: everyone in one segment */
  assert_int_equal(cs_segments_build(1, NULL, 4, ptr, idx, 6, &s, &err), 0);
  assert_int_equal(s.songs[0], 4);
  assert_int_equal(cs_segments_len(&s, 0), 6);
  cs_segments_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_user_metrics),
      cmocka_unit_test(test_ndcg_sklearn),
      cmocka_unit_test(test_spread),
      cmocka_unit_test(test_segments_build),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* kmeans_test.c: k-means known answers, the fast variant against the Lloyd
 * reference (same labels, same centroids), monotone inertia, determinism,
 * clamping, empty-cluster re-seeding, nearest/assign against brute force,
 * and the warm start from given centers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/kmeans.h"
#include "coldstart/rng.h"
#include "model/centroids_internal.h"
#include "train/kmeans_internal.h"

static cs_ctx_t make_ctx(int threads) {
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = threads;
  return ctx;
}

/* Gaussian mixture: n_comp centers in [-scale, scale]^dim, per-component
 * spread in [0.2, 1.2]. Caller frees. */
static float *make_mixture(uint64_t seed, int64_t n, int dim, int n_comp,
                           double scale) {
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  double *centers = malloc((size_t)n_comp * dim * sizeof *centers);
  double *spread = malloc((size_t)n_comp * sizeof *spread);
  float *X = malloc((size_t)n * dim * sizeof *X);
  for (int c = 0; c < n_comp; c++) {
    spread[c] = 0.2 + cs_rng_uniform(&rng);
    for (int d = 0; d < dim; d++)
      centers[c * dim + d] = scale * (2 * cs_rng_uniform(&rng) - 1);
  }
  for (int64_t i = 0; i < n; i++) {
    int c = (int)cs_rng_below(&rng, (uint64_t)n_comp);
    for (int d = 0; d < dim; d++)
      X[i * dim + d] =
          (float)(centers[c * dim + d] + spread[c] * cs_rng_normal(&rng));
  }
  free(centers);
  free(spread);
  return X;
}

static void fit_ok(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                   int k, int max_iter, uint64_t seed, int algo,
                   cs_kmeans_t *km) {
  cs_kmeans_params_t p;
  cs_kmeans_params_default(&p);
  p.k = k;
  p.max_iter = max_iter;
  p.seed = seed;
  p.algo = algo;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_kmeans_fit(ctx, X, n, dim, &p, km, &err);
  if (rc != 0) fail_msg("fit failed: %s", err.msg);
}

static void test_known_answer_blobs(void **state) {
  (void)state;
  /* Three blobs of 4 points, symmetric around (0,0), (10,0), (0,10). */
  const float off[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
  const float ctr[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  float X[24];
  for (int b = 0; b < 3; b++)
    for (int p = 0; p < 4; p++) {
      X[(b * 4 + p) * 2] = ctr[b][0] + off[p][0];
      X[(b * 4 + p) * 2 + 1] = ctr[b][1] + off[p][1];
    }
  for (int algo = 0; algo < 2; algo++) {
    for (uint64_t seed = 0; seed < 5; seed++) {
      cs_ctx_t ctx = make_ctx(1 + (int)(seed % 2));
      cs_kmeans_t km;
      fit_ok(&ctx, X, 12, 2, 3, 20, seed, algo, &km);
      assert_int_equal(km.k, 3);
      assert_float_equal(km.inertia, 12.0, 1e-9); /* 12 points at distance 1 */
      for (int b = 0; b < 3; b++) {
        int32_t c = km.assign[b * 4];
        for (int p = 1; p < 4; p++) assert_int_equal(km.assign[b * 4 + p], c);
        assert_float_equal(km.centroids[c * 2], ctr[b][0], 1e-6);
        assert_float_equal(km.centroids[c * 2 + 1], ctr[b][1], 1e-6);
      }
      assert_true(km.assign[0] != km.assign[4]);
      assert_true(km.assign[0] != km.assign[8]);
      assert_true(km.assign[4] != km.assign[8]);
      cs_kmeans_free(&km);
    }
  }
}

static void compare_fits(const float *X, int64_t n, int dim, int k,
                         int max_iter, uint64_t seed, int threads) {
  cs_ctx_t ctx = make_ctx(threads);
  cs_kmeans_t ref, fast;
  fit_ok(&ctx, X, n, dim, k, max_iter, seed, CS_KMEANS_LLOYD, &ref);
  fit_ok(&ctx, X, n, dim, k, max_iter, seed, CS_KMEANS_FAST, &fast);
  assert_int_equal(ref.k, fast.k);
  assert_int_equal(ref.n_iter, fast.n_iter);
  for (int64_t i = 0; i < n; i++) {
    if (ref.assign[i] != fast.assign[i])
      fail_msg("row %lld: lloyd %d fast %d (n=%lld dim=%d k=%d seed=%llu)",
               (long long)i, ref.assign[i], fast.assign[i], (long long)n, dim,
               k, (unsigned long long)seed);
  }
  /* the centroid sums are exact (fixed point): the same bits */
  assert_memory_equal(ref.centroids, fast.centroids,
                      (size_t)ref.k * dim * sizeof(float));
  assert_true(ref.inertia == fast.inertia);
  /* and the thread count does not matter */
  cs_ctx_t other = make_ctx(threads == 1 ? 3 : 1);
  cs_kmeans_t again;
  fit_ok(&other, X, n, dim, k, max_iter, seed, CS_KMEANS_FAST, &again);
  assert_memory_equal(again.centroids, fast.centroids,
                      (size_t)ref.k * dim * sizeof(float));
  assert_memory_equal(again.assign, fast.assign, (size_t)n * sizeof(int32_t));
  cs_kmeans_free(&again);
  cs_kmeans_free(&ref);
  cs_kmeans_free(&fast);
}

static void test_fast_equals_lloyd(void **state) {
  (void)state;
  float *A = make_mixture(1, 600, 8, 12, 5.0);
  compare_fits(A, 600, 8, 20, 15, 7, 1);
  compare_fits(A, 600, 8, 20, 15, 7, 2);
  compare_fits(A, 600, 8, 3, 30, 1, 2);
  free(A);
  /* Overlapping mixture, more clusters than components: slow convergence. */
  float *B = make_mixture(2, 800, 32, 6, 0.5);
  compare_fits(B, 800, 32, 40, 20, 3, 2);
  free(B);
  /* Integer grid with duplicates: exact ties everywhere. */
  float G[2 * 200];
  for (int i = 0; i < 200; i++) {
    G[2 * i] = (float)(i % 7);
    G[2 * i + 1] = (float)((i / 7) % 5);
  }
  compare_fits(G, 200, 2, 9, 20, 5, 2);
  compare_fits(G, 200, 2, 35, 20, 6, 1);
}

static void test_inertia_non_increasing(void **state) {
  (void)state;
  float *X = make_mixture(3, 500, 16, 10, 2.0);
  for (int algo = 0; algo < 2; algo++) {
    cs_ctx_t ctx = make_ctx(2);
    double prev = INFINITY;
    for (int it = 0; it <= 8; it++) {
      cs_kmeans_t km;
      fit_ok(&ctx, X, 500, 16, 25, it, 11, algo, &km);
      assert_true(km.n_iter <= it);
      assert_true(km.inertia <= prev * (1 + 1e-12));
      /* inertia is the exact sum of distances to the final centroids */
      double check = 0;
      for (int64_t i = 0; i < 500; i++)
        check += cs_centroid_dist2(X + i * 16, km.centroids + km.assign[i] * 16,
                                  16);
      assert_float_equal(km.inertia, check, 1e-9 * check);
      prev = km.inertia;
      cs_kmeans_free(&km);
    }
  }
  free(X);
}

static void test_deterministic(void **state) {
  (void)state;
  float *X = make_mixture(4, 700, 12, 9, 3.0);
  for (int algo = 0; algo < 2; algo++) {
    cs_ctx_t ctx = make_ctx(2);
    cs_kmeans_t a, b, c;
    fit_ok(&ctx, X, 700, 12, 30, 10, 99, algo, &a);
    fit_ok(&ctx, X, 700, 12, 30, 10, 99, algo, &b);
    fit_ok(&ctx, X, 700, 12, 30, 10, 100, algo, &c);
    assert_memory_equal(a.centroids, b.centroids, 30 * 12 * sizeof(float));
    assert_memory_equal(a.assign, b.assign, 700 * sizeof(int32_t));
    assert_true(a.inertia == b.inertia);
    assert_true(memcmp(a.centroids, c.centroids, 30 * 12 * sizeof(float)) != 0);
    cs_kmeans_free(&a);
    cs_kmeans_free(&b);
    cs_kmeans_free(&c);
  }
  /* Seeding does not depend on the thread count. */
  float s1[30 * 12], s2[30 * 12];
  cs_ctx_t one = make_ctx(1), two = make_ctx(2);
  cs__km_rows_t all;
  cs__km_rows_all(&all, 700);
  assert_int_equal(cs__kmeans_seed(&one, &all, X, 12, 30, 5, s1, NULL), 0);
  assert_int_equal(cs__kmeans_seed(&two, &all, X, 12, 30, 5, s2, NULL), 0);
  assert_memory_equal(s1, s2, sizeof s1);
  /* Seeds are data rows, all distinct here. */
  for (int j = 0; j < 30; j++) {
    int found = 0;
    for (int64_t i = 0; i < 700 && !found; i++)
      found = memcmp(s1 + j * 12, X + i * 12, 12 * sizeof(float)) == 0;
    assert_true(found);
    for (int o = 0; o < j; o++)
      assert_true(memcmp(s1 + j * 12, s1 + o * 12, 12 * sizeof(float)) != 0);
  }
  free(X);
}

/* Warm start: k_init = 0 is the plain fit; given centers stay first and
 * the additions are distinct data rows; same bytes whatever the threads;
 * the fast variant equals Lloyd from the same start; a larger k from the
 * previous k's centroids never has a higher inertia than that k's. */
static void test_warm_start(void **state) {
  (void)state;
  enum { N = 1500, D = 8 };
  float *X = make_mixture(21, N, D, 12, 4.0);
  cs_ctx_t one = make_ctx(1), three = make_ctx(3);
  cs_kmeans_params_t p;
  cs_kmeans_params_default(&p);
  p.k = 100;
  p.max_iter = 8;
  p.seed = 3;
  cs_err_t err;
  cs_kmeans_t a, b, c;
  assert_int_equal(cs_kmeans_fit(&one, X, N, D, &p, &a, &err), 0);
  assert_int_equal(cs_kmeans_fit_from(&one, X, N, D, &p, NULL, 0, &b, &err), 0);
  assert_memory_equal(a.centroids, b.centroids, 100 * D * sizeof(float));
  assert_memory_equal(a.assign, b.assign, N * sizeof(int32_t));
  cs_kmeans_free(&b);
  /* seeding 170 from the 100 (more than one refresh batch of given ones) */
  float *s1 = malloc(170 * D * sizeof(float)), *s2 = malloc(170 * D * sizeof(float));
  memcpy(s1, a.centroids, 100 * D * sizeof(float));
  memcpy(s2, a.centroids, 100 * D * sizeof(float));
  cs__km_rows_t all;
  cs__km_rows_all(&all, N);
  assert_int_equal(cs__kmeans_seed_from(&one, &all, X, D, 170, 100, 9, s1, &err), 0);
  assert_int_equal(cs__kmeans_seed_from(&three, &all, X, D, 170, 100, 9, s2, &err), 0);
  assert_memory_equal(s1, s2, 170 * D * sizeof(float));
  assert_memory_equal(s1, a.centroids, 100 * D * sizeof(float));
  for (int j = 100; j < 170; j++) {
    int found = 0;
    for (int64_t i = 0; i < N && !found; i++)
      found = memcmp(s1 + j * D, X + i * D, D * sizeof(float)) == 0;
    assert_true(found);
    for (int o = 0; o < j; o++)
      assert_true(memcmp(s1 + j * D, s1 + o * D, D * sizeof(float)) != 0);
  }
  /* the fits */
  p.k = 170;
  assert_int_equal(cs_kmeans_fit_from(&one, X, N, D, &p, a.centroids, 100, &b,
                                      &err), 0);
  assert_int_equal(cs_kmeans_fit_from(&three, X, N, D, &p, a.centroids, 100,
                                      &c, &err), 0);
  assert_memory_equal(b.centroids, c.centroids, 170 * D * sizeof(float));
  assert_memory_equal(b.assign, c.assign, N * sizeof(int32_t));
  assert_true(b.inertia <= a.inertia);
  cs_kmeans_free(&c);
  p.algo = CS_KMEANS_LLOYD;
  assert_int_equal(cs_kmeans_fit_from(&one, X, N, D, &p, a.centroids, 100, &c,
                                      &err), 0);
  assert_memory_equal(b.assign, c.assign, N * sizeof(int32_t));
  /* bit for bit, as kmeans.h promises for the two algorithms */
  assert_memory_equal(b.centroids, c.centroids, 170 * D * sizeof(float));
  cs_kmeans_free(&c);
  /* as many given centers as k: no seeding, Lloyd from them */
  p.algo = CS_KMEANS_FAST;
  p.k = 100;
  assert_int_equal(cs_kmeans_fit_from(&one, X, N, D, &p, b.centroids, 170, &c,
                                      &err), 0);
  assert_int_equal(c.k, 100);
  cs_kmeans_free(&c);
  /* a non-finite given center is refused */
  b.centroids[5] = NAN;
  assert_int_equal(cs_kmeans_fit_from(&one, X, N, D, &p, b.centroids, 170, &c,
                                      &err), CS_ERANGE);
  cs_kmeans_free(&a);
  cs_kmeans_free(&b);
  free(s1);
  free(s2);
  free(X);
}

static void test_k_clamped_and_errors(void **state) {
  (void)state;
  float X[5 * 3] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 4, 4, 4};
  cs_ctx_t ctx = make_ctx(1);
  for (int algo = 0; algo < 2; algo++) {
    cs_kmeans_t km;
    fit_ok(&ctx, X, 5, 3, 10, 20, 1, algo, &km);
    assert_int_equal(km.k, 5);
    assert_int_equal(km.n, 5);
    assert_float_equal(km.inertia, 0.0, 0.0);
    for (int i = 0; i < 5; i++)
      assert_memory_equal(km.centroids + km.assign[i] * 3, X + i * 3,
                          3 * sizeof(float));
    cs_kmeans_free(&km);
  }
  cs_kmeans_params_t p;
  cs_kmeans_params_default(&p);
  assert_int_equal(p.k, 1000);
  assert_int_equal(p.max_iter, 20);
  cs_kmeans_t km;
  cs_err_t err;
  p.k = 0;
  assert_int_equal(cs_kmeans_fit(&ctx, X, 5, 3, &p, &km, &err), CS_EINVAL);
  p.k = 2;
  X[7] = NAN;
  assert_int_equal(cs_kmeans_fit(&ctx, X, 5, 3, &p, &km, &err), CS_ERANGE);
  assert_non_null(strstr(err.msg, "row 2 column 1"));
  cs_kmeans_free(&km); /* zeroed by the failed fit: harmless */
  cs_kmeans_free(NULL);
}

static void test_empty_clusters_reseeded(void **state) {
  (void)state;
  /* 7 copies of A and 5 of B: with k = 4 seeding must repeat a row, its
   * duplicate centroid loses every tie and is re-seeded. */
  float X[12 * 2];
  for (int i = 0; i < 12; i++) {
    X[2 * i] = i < 7 ? 1.f : 5.f;
    X[2 * i + 1] = i < 7 ? 2.f : -3.f;
  }
  for (uint64_t seed = 0; seed < 6; seed++) {
    cs_ctx_t ctx = make_ctx(2);
    cs_kmeans_t ref, fast;
    fit_ok(&ctx, X, 12, 2, 4, 5, seed, CS_KMEANS_LLOYD, &ref);
    fit_ok(&ctx, X, 12, 2, 4, 5, seed, CS_KMEANS_FAST, &fast);
    assert_memory_equal(ref.assign, fast.assign, sizeof(int32_t) * 12);
    assert_memory_equal(ref.centroids, fast.centroids, sizeof(float) * 8);
    assert_float_equal(ref.inertia, 0.0, 0.0);
    /* every centroid sits on A or B (re-seeded ones included) */
    for (int j = 0; j < 4; j++) {
      const float *c = ref.centroids + 2 * j;
      assert_true((c[0] == 1.f && c[1] == 2.f) || (c[0] == 5.f && c[1] == -3.f));
    }
    cs_kmeans_free(&ref);
    cs_kmeans_free(&fast);
  }
  /* Update directly: cluster 1 empty, farthest row of cluster 0 moves. */
  float Y[4 * 1] = {0.f, 1.f, 4.f, 10.f};
  int32_t labels[4] = {0, 0, 0, 2};
  double dist2[4] = {1.0, 0.0, 9.0, 0.0}; /* centroid 0 was at 1 */
  int64_t sums[3] = {5 << 4, 0, 10 << 4}; /* fixed point, scale 4 */
  int64_t counts[3] = {3, 0, 1};
  float C[3] = {1.f, 7.f, 10.f};
  uint8_t moved[4] = {0};
  cs__km_rows_t all;
  cs__km_rows_all(&all, 4);
  assert_int_equal(cs__kmeans_update(&all, Y, 1, 3, labels, dist2, sums, 4,
                                     counts, C, moved),
                   1);
  assert_true(sums[0] == 1 << 4 && sums[1] == 4 << 4 && counts[0] == 2);
  assert_int_equal(labels[2], 1);
  assert_int_equal(moved[2], 1);
  assert_float_equal(C[0], 0.5f, 0);
  assert_float_equal(C[1], 4.f, 0);
  assert_float_equal(C[2], 10.f, 0);
}

static void test_nearest_and_assign_vs_brute_force(void **state) {
  (void)state;
  const int k = 300, dim = 24, n = 400;
  float *C = make_mixture(5, k, dim, 20, 1.0);
  /* duplicate centroids: ties must go to the lower index */
  memcpy(C + 17 * dim, C + 200 * dim, dim * sizeof(float));
  memcpy(C + 5 * dim, C + 6 * dim, dim * sizeof(float));
  float *Q = make_mixture(6, n, dim, 20, 1.0);
  memcpy(Q + 3 * dim, C + 200 * dim, dim * sizeof(float)); /* exact hit */
  const int ms[] = {1, 5, 17, k};
  int32_t idx[300], idx_ref[300];
  float dist[300], dist_ref[300];
  for (int q = 0; q < n; q++) {
    for (int t = 0; t < 4; t++) {
      int m = ms[t];
      if (m == k && q % 40 != 0) continue; /* the O(k^2) reference is slow */
      cs_centroids_nearest(C, k, dim, Q + q * dim, m, idx, dist);
      cs__centroids_nearest_ref(C, k, dim, Q + q * dim, m, idx_ref, dist_ref);
      assert_memory_equal(idx, idx_ref, m * sizeof(int32_t));
      for (int i = 0; i < m; i++) {
        assert_float_equal(dist[i], dist_ref[i], 0);
        if (i > 0) assert_true(dist[i] >= dist[i - 1]);
        double direct = sqrt(cs_centroid_dist2(Q + q * dim, C + idx[i] * dim,
                                              dim));
        assert_float_equal(dist[i], direct, 1e-5 * (1 + direct));
      }
    }
  }
  cs_centroids_nearest(C, k, dim, Q + 3 * dim, 2, idx, dist);
  assert_int_equal(idx[0], 17);
  assert_int_equal(idx[1], 200);
  assert_float_equal(dist[0], 0.f, 0);
  int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  for (int threads = 1; threads <= 2; threads++) {
    cs_ctx_t ctx = make_ctx(threads);
    assert_int_equal(cs_kmeans_assign(&ctx, C, k, dim, Q, n, a), 0);
    cs__kmeans_assign_ref(C, k, dim, Q, n, b);
    assert_memory_equal(a, b, n * sizeof *a);
    assert_int_equal(a[3], 17);
  }
  free(a);
  free(b);
  free(C);
  free(Q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_answer_blobs),
      cmocka_unit_test(test_fast_equals_lloyd),
      cmocka_unit_test(test_inertia_non_increasing),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_k_clamped_and_errors),
      cmocka_unit_test(test_warm_start),
      cmocka_unit_test(test_empty_clusters_reseeded),
      cmocka_unit_test(test_nearest_and_assign_vs_brute_force),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

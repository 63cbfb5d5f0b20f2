/* dist_test.c: the collectives of coldstart/dist.h. Run alone (the suite)
 * it checks the one-process world; run under `mpirun -np N` (tests/cli/
 * mpi.sh, N = 2 and 3) every rank checks that the N-rank result equals the
 * one it computes alone, bit for bit, with uneven partitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "coldstart/train.h"
#include "dist/dist_internal.h"
#include "train/regressor_train_internal.h"

static cs_dist_t g_world;

static void test_partitions(void **state) {
  (void)state;
  int64_t lo, hi;
  cs_dist_part(10, 0, 3, &lo, &hi);
  assert_true(lo == 0 && hi == 4);
  cs_dist_part(10, 2, 3, &lo, &hi);
  assert_true(lo == 7 && hi == 10);
  cs_dist_part(2, 2, 3, &lo, &hi); /* more ranks than items: empty */
  assert_true(lo == 2 && hi == 2);
  int64_t off[5];
  cs_dist_offsets(5000, 1024, 4, off); /* 5 blocks over 4 ranks: 2,1,1,1 */
  assert_true(off[0] == 0 && off[1] == 2048 && off[2] == 3072 &&
              off[3] == 4096 && off[4] == 5000);
  for (int size = 1; size <= 7; size++) {
    int64_t o[8];
    cs_dist_offsets(1234567, 2048, size, o);
    for (int r = 0; r < size; r++) {
      assert_true(o[r] <= o[r + 1]);
      assert_true(o[r] % 2048 == 0);
    }
    assert_true(o[0] == 0 && o[size] == 1234567);
  }
}

static void test_fixed_point(void **state) {
  (void)state;
  /* 70,000 unit-bounded terms: ~44 bits below the unit */
  int s = cs_fixed_scale(1.0, 70000);
  assert_int_equal(s, 62 - 1 - 17);
  cs_rng_t rng;
  cs_rng_seed(&rng, 5);
  int64_t fwd = 0, bwd = 0;
  double x[1000], exact = 0.0;
  for (int i = 0; i < 1000; i++) x[i] = 2.0 * cs_rng_uniform(&rng) - 1.0;
  for (int i = 0; i < 1000; i++) fwd += cs_fixed_from(x[i], s);
  for (int i = 999; i >= 0; i--) bwd += cs_fixed_from(x[i], s);
  for (int i = 0; i < 1000; i++) exact += x[i];
  assert_true(fwd == bwd); /* order-free */
  assert_true(fabs(cs_fixed_to(fwd, s) - exact) < 1e-10);
  assert_int_equal(cs_fixed_scale(0.0, 10), 0);
  /* the bound holds at the extreme: n terms of max_abs do not overflow */
  int s2 = cs_fixed_scale(3.5, 1 << 20);
  double total = ldexp(3.5, s2) * (double)(1 << 20);
  assert_true(total < 9.2e18);
}

/* Value j of block b: magnitudes far apart, so the order of the additions
 * shows in the last bits. */
static double block_value(int64_t b, int64_t j) {
  double big = (b % 3 == 0) ? 1e16 : 1.0;
  return (b % 2 ? -big : big) * (1.0 + 1e-3 * (double)((b * 31 + j * 7) % 97)) +
         1e-3 * (double)j;
}

static void check_sum_blocks(int64_t n_blocks, int64_t len) {
  const cs_dist_t *d = &g_world;
  int64_t lo, hi;
  cs_dist_part(n_blocks, d->rank, d->size, &lo, &hi);
  double *mine = malloc((size_t)((hi - lo) * len + 1) * sizeof(double));
  double *all = malloc((size_t)(n_blocks * len + 1) * sizeof(double));
  float *mine_f = malloc((size_t)((hi - lo) * len + 1) * sizeof(float));
  float *all_f = malloc((size_t)(n_blocks * len + 1) * sizeof(float));
  double *out = malloc((size_t)len * sizeof(double));
  double *want = malloc((size_t)len * sizeof(double));
  float *out_f = malloc((size_t)len * sizeof(float));
  float *want_f = malloc((size_t)len * sizeof(float));
  assert_non_null(mine && all && mine_f && all_f && out && want && out_f &&
                  want_f);
  for (int64_t b = 0; b < n_blocks; b++)
    for (int64_t j = 0; j < len; j++) {
      all[b * len + j] = block_value(b, j);
      all_f[b * len + j] = (float)(block_value(b, j) * 1e-12);
    }
  memcpy(mine, all + lo * len, (size_t)((hi - lo) * len) * sizeof(double));
  memcpy(mine_f, all_f + lo * len, (size_t)((hi - lo) * len) * sizeof(float));
  /* what one process computes */
  assert_int_equal(cs_dist_sum_blocks(&cs_dist_one, all, n_blocks, len, want),
                   0);
  assert_int_equal(
      cs_dist_sum_blocks_f(&cs_dist_one, all_f, n_blocks, len, want_f), 0);
  for (int64_t j = 0; j < len; j++) { /* ... is the plain ordered loop */
    double acc = 0.0;
    for (int64_t b = 0; b < n_blocks; b++) acc += all[b * len + j];
    assert_memory_equal(&acc, &want[j], sizeof acc);
  }
  assert_int_equal(cs_dist_sum_blocks(d, mine, n_blocks, len, out), 0);
  assert_int_equal(cs_dist_sum_blocks_f(d, mine_f, n_blocks, len, out_f), 0);
  assert_memory_equal(out, want, (size_t)len * sizeof(double));
  assert_memory_equal(out_f, want_f, (size_t)len * sizeof(float));
  free(mine);
  free(all);
  free(mine_f);
  free(all_f);
  free(out);
  free(want);
  free(out_f);
  free(want_f);
}

static void test_sum_blocks(void **state) {
  (void)state;
  check_sum_blocks(7, 5);      /* the gather-everything path */
  check_sum_blocks(5, 20011);  /* the segment (reduce-scatter) path */
  check_sum_blocks(2, 30000);  /* fewer blocks than ranks at -np 3 */
  check_sum_blocks(0, 3);      /* nothing: zeros */
}

static void test_integer_and_extrema(void **state) {
  (void)state;
  const cs_dist_t *d = &g_world;
  int64_t v[3] = {d->rank + 1, 1, (int64_t)1 << 40};
  assert_int_equal(cs_dist_sum_i64(d, v, 3), 0);
  assert_true(v[0] == (int64_t)d->size * (d->size + 1) / 2);
  assert_true(v[1] == d->size);
  assert_true(v[2] == ((int64_t)d->size << 40));
  double m[2] = {(double)d->rank, -(double)d->rank};
  cs_dist_max_f64(d, m, 2);
  assert_true(m[0] == d->size - 1 && m[1] == 0.0);
  double n[1] = {(double)d->rank + 0.5};
  cs_dist_min_f64(d, n, 1);
  assert_true(n[0] == 0.5);
  int64_t all[16];
  assert_true(d->size <= 16);
  cs_dist_allgather_i64(d, 10 * d->rank, all);
  for (int r = 0; r < d->size; r++) assert_true(all[r] == 10 * r);
  char buf[64] = {0};
  if (d->rank == d->size - 1) strcpy(buf, "from the last rank");
  cs_dist_bcast(d, buf, sizeof buf, d->size - 1);
  assert_string_equal(buf, "from the last rank");
  assert_int_equal(cs_dist_barrier(d), 0);
}

static void test_rows(void **state) {
  (void)state;
  const cs_dist_t *d = &g_world;
  enum { N = 1001, W = 3 };
  int64_t off[17];
  cs_dist_offsets(N, 64, d->size, off);
  int32_t *buf = calloc(N * W, sizeof(int32_t));
  assert_non_null(buf);
  for (int64_t i = off[d->rank]; i < off[d->rank + 1]; i++)
    for (int c = 0; c < W; c++) buf[i * W + c] = (int32_t)(i * 10 + c);
  assert_int_equal(cs_dist_gather_rows(d, buf, W * sizeof(int32_t), off, 0), 0);
  if (d->rank == 0)
    for (int64_t i = 0; i < N; i++)
      assert_int_equal(buf[i * W + 2], i * 10 + 2);
  memset(buf, 0, N * W * sizeof(int32_t));
  for (int64_t i = off[d->rank]; i < off[d->rank + 1]; i++)
    for (int c = 0; c < W; c++) buf[i * W + c] = (int32_t)(i * 10 + c);
  assert_int_equal(cs_dist_allgather_rows(d, buf, W * sizeof(int32_t), off), 0);
  for (int64_t i = 0; i < N; i++) assert_int_equal(buf[i * W + 1], i * 10 + 1);
  free(buf);
}

static void test_alltoallv(void **state) {
  (void)state;
  const cs_dist_t *d = &g_world;
  int64_t counts[16], got[16], total = 0;
  for (int q = 0; q < d->size; q++) total += counts[q] = q + d->rank + 1;
  int64_t *send = malloc((size_t)total * sizeof(int64_t));
  assert_non_null(send);
  int64_t at = 0;
  for (int q = 0; q < d->size; q++)
    for (int64_t k = 0; k < counts[q]; k++) send[at++] = d->rank * 1000 + q;
  void *recv = NULL;
  assert_int_equal(cs_dist_alltoallv(d, send, counts, sizeof(int64_t), &recv,
                                     got), 0);
  const int64_t *r = recv;
  at = 0;
  for (int src = 0; src < d->size; src++) {
    assert_true(got[src] == d->rank + src + 1);
    for (int64_t k = 0; k < got[src]; k++)
      assert_true(r[at++] == src * 1000 + d->rank);
  }
  free(send);
  free(recv);
}

static void test_agree(void **state) {
  (void)state;
  const cs_dist_t *d = &g_world;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_dist_agree(d, 0, &err), 0);
  int rc = 0;
  if (d->rank == d->size - 1)
    rc = cs_err_set(&err, CS_EFORMAT, "events.tsv:7: boom");
  rc = cs_dist_agree(d, rc, &err);
  assert_int_equal(rc, CS_EFORMAT);
  assert_int_equal(err.code, CS_EFORMAT);
  if (d->size > 1 && d->rank != d->size - 1) {
    char want[64];
    snprintf(want, sizeof want, "rank %d: events.tsv:7: boom", d->size - 1);
    assert_string_equal(err.msg, want);
  } else {
    assert_string_equal(err.msg, "events.tsv:7: boom");
  }
  /* the agreed failure must not outlive this test: a later assertion
   * failing on one rank would take finalize's barrier, not MPI_Abort */
  cs__dist_reset();
}

/* Clustered rows: n rows, dim columns, around n_comp random centers. */
static float *mixture(uint64_t seed, int64_t n, int dim, int n_comp) {
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  float *c = malloc((size_t)n_comp * dim * sizeof *c);
  float *X = malloc((size_t)n * dim * sizeof *X);
  for (int64_t e = 0; e < (int64_t)n_comp * dim; e++)
    c[e] = (float)(4.0 * cs_rng_uniform(&rng) - 2.0);
  for (int64_t i = 0; i < n; i++) {
    int64_t m = (int64_t)cs_rng_below(&rng, (uint64_t)n_comp);
    for (int j = 0; j < dim; j++)
      X[i * dim + j] = c[m * dim + j] + (float)(0.6 * cs_rng_normal(&rng));
  }
  free(c);
  return X;
}

static cs_ctx_t world_ctx(int threads) {
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = threads;
  ctx.dist = &g_world;
  return ctx;
}

/* The N-rank k-means equals the one-process fit: centroids, inertia and
 * every local label, bit for bit; with a rank holding no rows too. */
static void check_kmeans(int64_t n, int dim, int k, int algo) {
  float *X = mixture(9, n, dim, 12);
  cs_kmeans_params_t p;
  cs_kmeans_params_default(&p);
  p.k = k;
  p.max_iter = 12;
  p.seed = 4;
  p.algo = algo;
  cs_ctx_t solo = world_ctx(2), ctx = world_ctx(1);
  solo.dist = NULL;
  cs_kmeans_t one, many;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_kmeans_fit(&solo, X, n, dim, &p, &one, &err), 0);
  int64_t lo, hi;
  cs_kmeans_rows(&ctx, n, &lo, &hi);
  assert_int_equal(cs_kmeans_fit_dist(&ctx, X + lo * dim, n, dim, &p, &many,
                                      &err), 0);
  assert_true(many.row0 == lo && many.n == hi - lo);
  assert_int_equal(one.k, many.k);
  assert_int_equal(one.n_iter, many.n_iter);
  assert_memory_equal(one.centroids, many.centroids,
                      (size_t)k * dim * sizeof(float));
  assert_memory_equal(&one.inertia, &many.inertia, sizeof(double));
  if (hi > lo)
    assert_memory_equal(one.assign + lo, many.assign,
                        (size_t)(hi - lo) * sizeof(int32_t));
  cs_kmeans_free(&one);
  cs_kmeans_free(&many);
  free(X);
}

static void test_kmeans_ranks(void **state) {
  (void)state;
  check_kmeans(7000, 8, 40, CS_KMEANS_FAST);  /* 4 blocks: 2,1,1 at -np 3 */
  check_kmeans(7000, 8, 40, CS_KMEANS_LLOYD);
  check_kmeans(3000, 5, 300, CS_KMEANS_FAST); /* 2 blocks: rank 2 empty */
}

/* The N-rank regressor equals the one-process one: every weight, the
 * validation MSE, bit for bit (4 sub-blocks per minibatch, and 2: a rank
 * without any at -np 3). */
static void check_regressor(int batch) {
  enum { N = 700, NV = 150, F = 40, D = 8 };
  cs_rng_t rng;
  cs_rng_seed(&rng, 77);
  float *X = malloc((N + NV) * F * sizeof(float));
  float *Y = malloc((N + NV) * D * sizeof(float));
  for (int i = 0; i < N + NV; i++) {
    for (int c = 0; c < F; c++)
      X[i * F + c] = (c % 5 == 0 && i % 3) ? 0.f : (float)cs_rng_normal(&rng);
    for (int c = 0; c < D; c++)
      Y[i * D + c] = (float)(X[i * F + c] + 0.3 * X[i * F + c + D]);
    cs_normalize(D, Y + i * D);
  }
  cs_regressor_params_t p;
  cs_regressor_params_default(&p);
  p.epochs = 3;
  p.batch = batch;
  cs_ctx_t solo = world_ctx(2), ctx = world_ctx(1);
  solo.dist = NULL;
  cs_regressor_t *a, *b;
  cs_regressor_report_t ra = {0}, rb = {0};
  assert_int_equal(cs_regressor_create(&a, F, D, 3, NULL), 0);
  assert_int_equal(cs_regressor_create(&b, F, D, 3, NULL), 0);
  assert_int_equal(cs_regressor_train(&solo, a, X, Y, N, X + N * F, Y + N * D,
                                      NV, &p, &ra, NULL), 0);
  assert_int_equal(cs_regressor_train(&ctx, b, X, Y, N, X + N * F, Y + N * D,
                                      NV, &p, &rb, NULL), 0);
  assert_memory_equal(a->weights, b->weights, a->n_floats * sizeof(float));
  assert_memory_equal(&ra.val_mse, &rb.val_mse, sizeof(double));
  assert_memory_equal(&ra.train_mse, &rb.train_mse, sizeof(double));
  cs_regressor_free(a);
  cs_regressor_free(b);
  free(X);
  free(Y);
}

static void test_regressor_ranks(void **state) {
  (void)state;
  check_regressor(256);
  check_regressor(100);
}

int main(int argc, char **argv) {
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_dist_init(&g_world, &argc, &argv, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_partitions),
      cmocka_unit_test(test_fixed_point),
      cmocka_unit_test(test_sum_blocks),
      cmocka_unit_test(test_integer_and_extrema),
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_alltoallv),
      cmocka_unit_test(test_agree),
      cmocka_unit_test(test_kmeans_ranks),
      cmocka_unit_test(test_regressor_ranks),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  /* a failing rank must not leave the others waiting in a collective */
  return cs_dist_finalize(&g_world, failed ? 1 : 0);
}

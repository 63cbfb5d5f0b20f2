/* svd_test.c: sparse x dense kernel against its reference, randomized SVD
 * on a known low-rank matrix, PPMI on a hand-computed example, basket caps,
 * and TT-SVD properties (groups, zero rows, determinism). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/embed.h"
#include "coldstart/rng.h"
#include "embed/embed_internal.h"

static cs_ctx_t make_ctx(int n_threads) {
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = n_threads;
  return ctx;
}

/* Dense row-major matrix to CSR (drops exact zeros). */
static void dense_to_csr(const double *d, int64_t rows, int64_t cols,
                         cs_csr_t *out) {
  int64_t n = 0;
  int64_t *ri = malloc((size_t)(rows * cols) * sizeof(int64_t));
  int32_t *ci = malloc((size_t)(rows * cols) * sizeof(int32_t));
  float *vi = malloc((size_t)(rows * cols) * sizeof(float));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      if (d[r * cols + c] != 0.0) {
        ri[n] = r;
        ci[n] = (int32_t)c;
        vi[n] = (float)d[r * cols + c];
        n++;
      }
  assert_int_equal(cs_csr_from_triplets(out, rows, cols, ri, ci, vi, n, NULL), 0);
  free(ri);
  free(ci);
  free(vi);
}

static void random_sparse(cs_csr_t *out, int64_t rows, int64_t cols,
                          double density, uint64_t seed) {
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  double *d = calloc((size_t)(rows * cols), sizeof(double));
  for (int64_t i = 0; i < rows * cols; i++)
    if (cs_rng_uniform(&rng) < density) d[i] = cs_rng_normal(&rng);
  dense_to_csr(d, rows, cols, out);
  free(d);
}

static void test_csr_mm_matches_reference(void **state) {
  (void)state;
  cs_csr_t a;
  random_sparse(&a, 301, 203, 0.05, 3);
  const int64_t n = 37;
  float *x = malloc(203 * n * sizeof(float));
  float *y_ref = malloc(301 * n * sizeof(float));
  float *y = malloc(301 * n * sizeof(float));
  cs_rng_t rng;
  cs_rng_seed(&rng, 4);
  for (int64_t i = 0; i < 203 * n; i++) x[i] = (float)cs_rng_normal(&rng);
  cs_csr_mm_ref(&a, x, n, y_ref);
  for (int threads = 1; threads <= 3; threads++) {
    cs_ctx_t ctx = make_ctx(threads);
    memset(y, 0xff, 301 * n * sizeof(float)); /* NaNs: every cell written */
    cs_csr_mm(&ctx, &a, x, n, y);
    for (int64_t i = 0; i < 301 * n; i++)
      assert_float_equal(y[i], y_ref[i], 1e-4 * (1.0 + fabs(y_ref[i])));
  }
  cs_csr_free(&a);
  free(x);
  free(y_ref);
  free(y);
}

/* Orthonormal columns [rows x k] by modified Gram-Schmidt in double. */
static void random_orthonormal(double *q, int64_t rows, int64_t k,
                               cs_rng_t *rng) {
  for (int64_t i = 0; i < rows * k; i++) q[i] = cs_rng_normal(rng);
  for (int64_t c = 0; c < k; c++) {
    for (int64_t p = 0; p < c; p++) {
      double dot = 0.0;
      for (int64_t r = 0; r < rows; r++) dot += q[r * k + c] * q[r * k + p];
      for (int64_t r = 0; r < rows; r++) q[r * k + c] -= dot * q[r * k + p];
    }
    double nrm = 0.0;
    for (int64_t r = 0; r < rows; r++) nrm += q[r * k + c] * q[r * k + c];
    nrm = sqrt(nrm);
    for (int64_t r = 0; r < rows; r++) q[r * k + c] /= nrm;
  }
}

/* a [rows x cols, zeroed] = U diag(sing) V^T (U [rows x rank], V [cols x
 * rank]), and the same as CSR in out. */
static void planted(const double *u, const double *v, const double *sing,
                    int64_t rows, int64_t cols, int64_t rank, double *a,
                    cs_csr_t *out) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      for (int64_t j = 0; j < rank; j++)
        a[r * cols + c] += u[r * rank + j] * sing[j] * v[c * rank + j];
  dense_to_csr(a, rows, cols, out);
}

static void test_rsvd_recovers_low_rank(void **state) {
  (void)state;
  const int64_t rows = 120, cols = 90, rank = 6;
  const double sing[6] = {10, 7, 5, 3, 2, 1};
  double *u0 = malloc(rows * rank * sizeof(double));
  double *v0 = malloc(cols * rank * sizeof(double));
  double *a = calloc(rows * cols, sizeof(double));
  cs_rng_t rng;
  cs_rng_seed(&rng, 11);
  random_orthonormal(u0, rows, rank, &rng);
  random_orthonormal(v0, cols, rank, &rng);
  cs_csr_t m;
  planted(u0, v0, sing, rows, cols, rank, a, &m);
  cs_ctx_t ctx = make_ctx(2);

  for (int k = 3; k <= 6; k += 3) {
    float *u = malloc(rows * k * sizeof(float));
    float *v = malloc(cols * k * sizeof(float));
    float *s = malloc(k * sizeof(float));
    assert_int_equal(cs_rsvd(&ctx, &m, NULL, k, 8, 2, 5, u, s, v, NULL), 0);
    for (int j = 0; j < k; j++) {
      assert_float_equal(s[j], sing[j], 1e-3 * sing[j]);
      /* u_j and v_j match the planted vectors up to sign. */
      double du = 0.0, dv = 0.0;
      for (int64_t r = 0; r < rows; r++) du += u[r * k + j] * u0[r * rank + j];
      for (int64_t c = 0; c < cols; c++) dv += v[c * k + j] * v0[c * rank + j];
      assert_float_equal(fabs(du), 1.0, 1e-3);
      assert_float_equal(du * dv, 1.0, 1e-3); /* same sign on both sides */
    }
    if (k == rank) {
      double err2 = 0.0, nrm2 = 0.0;
      for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
          double rec = 0.0;
          for (int j = 0; j < k; j++) rec += u[r * k + j] * s[j] * v[c * k + j];
          double want = a[r * cols + c];
          err2 += (rec - want) * (rec - want);
          nrm2 += want * want;
        }
      assert_true(sqrt(err2 / nrm2) < 1e-4);
    }
    free(u);
    free(v);
    free(s);
  }
  /* More components than the matrix has: the extra ones are zero. */
  float *u = malloc(4 * 5 * sizeof(float)), s[5];
  cs_csr_t small;
  double d[4 * 3] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
  dense_to_csr(d, 4, 3, &small);
  assert_int_equal(cs_rsvd(&ctx, &small, NULL, 5, 2, 1, 1, u, s, NULL, NULL), 0);
  assert_float_equal(s[0], 3.f, 1e-5);
  assert_float_equal(s[1], 2.f, 1e-5);
  assert_float_equal(s[2], 1.f, 1e-5);
  assert_float_equal(s[3], 0.f, 0);
  assert_float_equal(s[4], 0.f, 0);
  for (int j = 0; j < 5; j++) assert_float_equal(u[3 * 5 + j], 0.f, 0);
  assert_float_equal(u[2 * 5 + 0], 1.f, 1e-5); /* sign: largest entry > 0 */
  free(u);
  cs_csr_free(&small);
  cs_csr_free(&m);
  free(u0);
  free(v0);
  free(a);
}

/* The symmetric path TT-SVD runs (cs__rsvd_sym, one process here): a
 * planted A = Q diag(s) Q^T gives back s and Q's columns up to sign, the
 * same bits for 1 and 3 threads. */
static void test_rsvd_sym_recovers_low_rank(void **state) {
  (void)state;
  const int64_t n = 100, rank = 5;
  const double sing[5] = {9, 6, 4, 2, 1};
  double *q0 = malloc(n * rank * sizeof(double));
  double *a = calloc(n * n, sizeof(double));
  cs_rng_t rng;
  cs_rng_seed(&rng, 13);
  random_orthonormal(q0, n, rank, &rng);
  cs_csr_t m;
  planted(q0, q0, sing, n, n, rank, a, &m);
  const int64_t off[2] = {0, n};
  float *u1 = malloc(n * rank * sizeof(float)), s1[5];
  float *u3 = malloc(n * rank * sizeof(float)), s3[5];
  cs_ctx_t c1 = make_ctx(1), c3 = make_ctx(3);
  assert_int_equal(cs__rsvd_sym(&c1, &cs_dist_one, &m, off, (int)rank, 8, 2, 5,
                                u1, s1, NULL), 0);
  assert_int_equal(cs__rsvd_sym(&c3, &cs_dist_one, &m, off, (int)rank, 8, 2, 5,
                                u3, s3, NULL), 0);
  assert_memory_equal(u1, u3, n * rank * sizeof(float));
  assert_memory_equal(s1, s3, sizeof s1);
  for (int j = 0; j < rank; j++) {
    assert_float_equal(s1[j], sing[j], 1e-3 * sing[j]);
    double dot = 0.0;
    for (int64_t r = 0; r < n; r++) dot += u1[r * rank + j] * q0[r * rank + j];
    assert_float_equal(fabs(dot), 1.0, 1e-3);
  }
  free(u1);
  free(u3);
  cs_csr_free(&m);
  free(q0);
  free(a);
}

static void basket_csr(cs_csr_t *out, int64_t n_songs, const int *rows,
                       const int *cols, const float *vals, int n) {
  int64_t ri[64];
  int32_t ci[64];
  int64_t n_rows = 0;
  for (int t = 0; t < n; t++) {
    ri[t] = rows[t];
    ci[t] = cols[t];
    if (rows[t] + 1 > n_rows) n_rows = rows[t] + 1;
  }
  assert_int_equal(cs_csr_from_triplets(out, n_rows, n_songs, ri, ci, vals, n,
                                        NULL), 0);
}

static void test_ppmi_hand_computed(void **state) {
  (void)state;
  /* Baskets {0,1,2}, {0,1}, {2,3}, {4, 5 (count 0: absent)}, {0,1}.
   * C01 = 3, C02 = C12 = C23 = 1; row sums 4, 4, 3, 1, 0, 0; total 12.
   * PMI01 = log(3*12/16), PMI02 = PMI12 = log(12/12) = 0 (dropped),
   * PMI23 = log(12/3). Song 4 shares no basket: empty row. */
  const int rows[] = {0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4};
  const int cols[] = {0, 1, 2, 0, 1, 2, 3, 4, 5, 1, 0};
  const float vals[] = {1, 2, 1, 1, 5, 1, 1, 3, 0, 1, 1};
  cs_csr_t b, ppmi;
  basket_csr(&b, 6, rows, cols, vals, 11);
  cs_ctx_t ctx = make_ctx(2);
  assert_int_equal(cs_ppmi_build(&ctx, &b, 100, 1, &ppmi, NULL), 0);
  assert_int_equal(ppmi.n_rows, 6);
  assert_int_equal(ppmi.n_cols, 6);
  const int64_t want_ptr[] = {0, 1, 2, 3, 4, 4, 4};
  const int32_t want_idx[] = {1, 0, 3, 2};
  const double want_val[] = {log(2.25), log(2.25), log(4.0), log(4.0)};
  for (int i = 0; i <= 6; i++) assert_int_equal(ppmi.indptr[i], want_ptr[i]);
  for (int k = 0; k < 4; k++) {
    assert_int_equal(ppmi.indices[k], want_idx[k]);
    assert_float_equal(ppmi.values[k], want_val[k], 1e-6);
  }
  cs_csr_free(&ppmi);
  cs_csr_free(&b);
}

/* Dense reference: count pairs basket by basket, then PMI, positive part. */
static void test_ppmi_matches_dense_reference(void **state) {
  (void)state;
  const int64_t n_songs = 40, n_baskets = 70;
  cs_csr_t b;
  random_sparse(&b, n_baskets, n_songs, 0.12, 17);
  for (int64_t k = 0; k < cs_csr_nnz(&b); k++)
    b.values[k] = fabsf(b.values[k]) + 0.5f; /* all present */
  double *c = calloc(n_songs * n_songs, sizeof(double));
  double row[40] = {0}, total = 0.0;
  for (int64_t bk = 0; bk < n_baskets; bk++)
    for (int64_t p = b.indptr[bk]; p < b.indptr[bk + 1]; p++)
      for (int64_t q = b.indptr[bk]; q < b.indptr[bk + 1]; q++)
        if (p != q) c[b.indices[p] * n_songs + b.indices[q]] += 1.0;
  for (int64_t i = 0; i < n_songs; i++)
    for (int64_t j = 0; j < n_songs; j++) {
      row[i] += c[i * n_songs + j];
      total += c[i * n_songs + j];
    }
  cs_csr_t ppmi;
  cs_ctx_t ctx = make_ctx(3);
  assert_int_equal(cs_ppmi_build(&ctx, &b, 1000, 1, &ppmi, NULL), 0);
  double *got = calloc(n_songs * n_songs, sizeof(double));
  for (int64_t i = 0; i < n_songs; i++)
    for (int64_t k = ppmi.indptr[i]; k < ppmi.indptr[i + 1]; k++)
      got[i * n_songs + ppmi.indices[k]] = ppmi.values[k];
  int64_t n_pos = 0;
  for (int64_t i = 0; i < n_songs; i++)
    for (int64_t j = 0; j < n_songs; j++) {
      double cij = c[i * n_songs + j], want = 0.0;
      if (cij > 0) want = log(cij * total / (row[i] * row[j]));
      if (want <= 1e-9) want = 0.0; /* positive part (exact ties excluded) */
      n_pos += want > 0.0;
      assert_float_equal(got[i * n_songs + j], want, 1e-5);
    }
  assert_true(n_pos > 50);
  assert_int_equal(cs_csr_nnz(&ppmi), n_pos);
  free(c);
  free(got);
  cs_csr_free(&ppmi);
  cs_csr_free(&b);
}

static void test_ppmi_caps_long_baskets(void **state) {
  (void)state;
  const int64_t n_songs = 300;
  int64_t ri[300];
  int32_t ci[300];
  for (int i = 0; i < 300; i++) {
    ri[i] = 0;
    ci[i] = i;
  }
  cs_csr_t b, p1, p2;
  assert_int_equal(cs_csr_from_triplets(&b, 1, n_songs, ri, ci, NULL, 300,
                                        NULL), 0);
  cs_ctx_t c1 = make_ctx(1), c2 = make_ctx(2);
  assert_int_equal(cs_ppmi_build(&c1, &b, 40, 9, &p1, NULL), 0);
  assert_int_equal(cs_ppmi_build(&c2, &b, 40, 9, &p2, NULL), 0);
  assert_int_equal(cs_csr_nnz(&p1), 40 * 39);
  int64_t kept = 0;
  for (int64_t i = 0; i < n_songs; i++) {
    int64_t len = p1.indptr[i + 1] - p1.indptr[i];
    assert_true(len == 0 || len == 39);
    kept += len > 0;
  }
  assert_int_equal(kept, 40);
  for (int64_t k = 0; k < cs_csr_nnz(&p1); k++)
    assert_float_equal(p1.values[k], log(40.0 / 39.0), 1e-6);
  assert_memory_equal(p1.indptr, p2.indptr, (n_songs + 1) * sizeof(int64_t));
  assert_memory_equal(p1.indices, p2.indices, 40 * 39 * sizeof(int32_t));
  cs_csr_free(&p2);
  assert_int_equal(cs_ppmi_build(&c1, &b, 1, 9, &p2, NULL), CS_EINVAL);
  cs_csr_free(&p1);
  cs_csr_free(&b);
}

static double cosine(const float *a, const float *b, int d) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < d; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / sqrt(aa * bb + 1e-30);
}

static void test_ttsvd_groups_and_determinism(void **state) {
  (void)state;
  /* 3 taste groups of 20 songs (0-59); song 60 is never played. Baskets of
   * 6 songs drawn within one group. */
  const int64_t n_songs = 61, n_baskets = 600, per = 6;
  int64_t *ri = malloc(n_baskets * per * sizeof(int64_t));
  int32_t *ci = malloc(n_baskets * per * sizeof(int32_t));
  cs_rng_t rng;
  cs_rng_seed(&rng, 21);
  for (int64_t bk = 0; bk < n_baskets; bk++) {
    int g = (int)(bk % 3);
    for (int64_t j = 0; j < per; j++) {
      ri[bk * per + j] = bk;
      ci[bk * per + j] = (int32_t)(g * 20 + (int)cs_rng_below(&rng, 20));
    }
  }
  cs_csr_t b;
  assert_int_equal(cs_csr_from_triplets(&b, n_baskets, n_songs, ri, ci, NULL,
                                        n_baskets * per, NULL), 0);
  cs_svd_params_t p;
  cs_svd_params_default(&p);
  assert_int_equal(p.dim, 128);
  p.dim = 8;
  float *e1 = malloc(n_songs * p.dim * sizeof(float));
  float *e2 = malloc(n_songs * p.dim * sizeof(float));
  cs_ctx_t c1 = make_ctx(1), c2 = make_ctx(2);
  assert_int_equal(cs_ttsvd_fit(&c1, &b, &p, e1, NULL), 0);
  assert_int_equal(cs_ttsvd_fit(&c2, &b, &p, e2, NULL), 0);
  assert_memory_equal(e1, e2, n_songs * p.dim * sizeof(float));
  for (int j = 0; j < p.dim; j++) assert_float_equal(e1[60 * p.dim + j], 0.f, 0);
  double within = 0, across = 0;
  int n_within = 0, n_across = 0;
  for (int i = 0; i < 60; i++)
    for (int j = i + 1; j < 60; j++) {
      double c = cosine(e1 + i * p.dim, e1 + j * p.dim, p.dim);
      if (i / 20 == j / 20) {
        within += c;
        n_within++;
      } else {
        across += c;
        n_across++;
      }
    }
  within /= n_within;
  across /= n_across;
  assert_true(within > 0.5);
  assert_true(across < 0.2);
  p.dim = 0;
  assert_int_equal(cs_ttsvd_fit(&c1, &b, &p, e1, NULL), CS_EINVAL);
  cs_csr_free(&b);
  free(ri);
  free(ci);
  free(e1);
  free(e2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csr_mm_matches_reference),
      cmocka_unit_test(test_rsvd_recovers_low_rank),
      cmocka_unit_test(test_rsvd_sym_recovers_low_rank),
      cmocka_unit_test(test_ppmi_hand_computed),
      cmocka_unit_test(test_ppmi_matches_dense_reference),
      cmocka_unit_test(test_ppmi_caps_long_baskets),
      cmocka_unit_test(test_ttsvd_groups_and_determinism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

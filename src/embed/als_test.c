/* als_test.c: UT-ALS: the loss against a brute-force sum, loss decreasing
 * every iteration, CG rows against an exact dense solve, fold-in, zero rows,
 * thread-count independence and parameter checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/embed.h"
#include "coldstart/rng.h"

/* x = the fold-in of (songs, plays) against song factors y (n_songs x d). */
static int fold_in(const float *y, int64_t n_songs, int d, const int32_t *songs,
                   const float *plays, int64_t n, const cs_als_params_t *p,
                   float *out) {
  float *gram = malloc((size_t)d * d * sizeof(float));
  if (!gram) return CS_ENOMEM;
  cs_als_gram(y, n_songs, d, gram);
  int rc = cs_als_fold_in_gram(y, n_songs, d, gram, songs, plays, n, p, out);
  free(gram);
  return rc;
}

static cs_ctx_t make_ctx(int n_threads) {
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = n_threads;
  return ctx;
}

/* Random play matrix; user `empty_user` and song `empty_song` get nothing. */
static void random_plays(cs_csr_t *out, int64_t n_users, int64_t n_songs,
                         double density, uint64_t seed, int64_t empty_user,
                         int64_t empty_song) {
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  int64_t cap = n_users * n_songs, n = 0;
  int64_t *ri = malloc(cap * sizeof(int64_t));
  int32_t *ci = malloc(cap * sizeof(int32_t));
  float *vi = malloc(cap * sizeof(float));
  for (int64_t u = 0; u < n_users; u++)
    for (int64_t s = 0; s < n_songs; s++) {
      /* songs are liked within a taste group, a little noise elsewhere */
      int same = (u % 3) == (s % 3);
      double pr = same ? density * 2.5 : density * 0.25;
      if (u == empty_user || s == empty_song || cs_rng_uniform(&rng) >= pr)
        continue;
      ri[n] = u;
      ci[n] = (int32_t)s;
      vi[n] = (float)(1 + cs_rng_below(&rng, 5));
      n++;
    }
  assert_int_equal(cs_csr_from_triplets(out, n_users, n_songs, ri, ci, vi, n,
                                        NULL), 0);
  free(ri);
  free(ci);
  free(vi);
}

static double brute_loss(const cs_csr_t *m, const float *x, const float *y,
                         int d, const cs_als_params_t *p) {
  double loss = 0.0;
  for (int64_t u = 0; u < m->n_rows; u++) {
    for (int64_t i = 0; i < m->n_cols; i++) {
      double s = 0.0, conf = 1.0, pref = 0.0;
      for (int c = 0; c < d; c++) s += (double)x[u * d + c] * y[i * d + c];
      for (int64_t k = m->indptr[u]; k < m->indptr[u + 1]; k++)
        if (m->indices[k] == i) {
          conf = 1.0 + p->alpha * m->values[k];
          pref = 1.0;
        }
      loss += conf * (pref - s) * (pref - s);
    }
  }
  double reg = 0.0;
  for (int64_t k = 0; k < m->n_rows * d; k++) reg += (double)x[k] * x[k];
  for (int64_t k = 0; k < m->n_cols * d; k++) reg += (double)y[k] * y[k];
  return loss + p->lambda * reg;
}

/* Exact row: (Y^T C_u Y + lambda I) x = Y^T C_u p, dense, by dposv. */
static void exact_row(const cs_csr_t *m, int64_t u, const float *y, int d,
                      const cs_als_params_t *p, double *x) {
  double *a = calloc(d * d, sizeof(double));
  memset(x, 0, d * sizeof(double));
  for (int64_t i = 0; i < m->n_cols; i++) {
    double conf = 1.0, pref = 0.0;
    for (int64_t k = m->indptr[u]; k < m->indptr[u + 1]; k++)
      if (m->indices[k] == i) {
        conf = 1.0 + p->alpha * m->values[k];
        pref = 1.0;
      }
    for (int r = 0; r < d; r++) {
      for (int c = 0; c < d; c++)
        a[r * d + c] += conf * (double)y[i * d + r] * y[i * d + c];
    }
    for (int r = 0; r < d; r++) x[r] += conf * pref * y[i * d + r];
  }
  for (int r = 0; r < d; r++) a[r * d + r] += p->lambda;
  assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', d, 1, a, d, x, 1), 0);
  free(a);
}

static void test_loss_matches_brute_force_and_decreases(void **state) {
  (void)state;
  cs_csr_t m;
  random_plays(&m, 60, 40, 0.15, 1, 7, 11);
  cs_als_params_t p;
  cs_als_params_default(&p);
  assert_int_equal(p.dim, 128);
  p.dim = 8;
  p.iters = 12;
  p.alpha = 2.f;
  p.lambda = 0.5f;
  float *x = malloc(60 * p.dim * sizeof(float));
  float *y = malloc(40 * p.dim * sizeof(float));
  cs_als_report_t rep;
  cs_ctx_t ctx = make_ctx(2);
  assert_int_equal(cs_als_fit(&ctx, &m, &p, x, y, &rep, NULL), 0);
  assert_int_equal(rep.iters, 12);
  for (int it = 1; it < rep.iters; it++) assert_true(rep.loss[it] < rep.loss[it - 1]);
  /* the loss fell substantially from the first iteration */
  assert_true(rep.loss[rep.iters - 1] < 0.95 * rep.loss[0]);
  double brute = brute_loss(&m, x, y, p.dim, &p);
  assert_float_equal(rep.loss[rep.iters - 1], brute, 1e-5 * brute);
  assert_float_equal(cs_als_loss(&ctx, &m, x, y, &p), brute, 1e-5 * brute);
  /* the empty user and the never-played song have zero factors */
  for (int c = 0; c < p.dim; c++) {
    assert_float_equal(x[7 * p.dim + c], 0.f, 0);
    assert_float_equal(y[11 * p.dim + c], 0.f, 0);
  }
  /* taste groups: a user scores own-group songs above other songs */
  int wins = 0, total = 0;
  for (int u = 0; u < 60; u++) {
    if (u == 7) continue;
    double own = 0, other = 0;
    for (int s = 0; s < 40; s++) {
      if (s == 11) continue;
      double sc = 0;
      for (int c = 0; c < p.dim; c++) sc += x[u * p.dim + c] * y[s * p.dim + c];
      if (u % 3 == s % 3) own += sc / 13.0; else other += sc / 26.0;
    }
    wins += own > other;
    total++;
  }
  assert_true(wins >= total - 2);
  cs_csr_free(&m);
  free(x);
  free(y);
}

/* dim 10 runs the scalar column tail of the dense kernel; 53 = 32 + 16 + 5
 * runs all three paths. */
static void check_cg_rows(int dim) {
  cs_csr_t m;
  random_plays(&m, 30, 50, 0.2, 2, 4, -1);
  cs_als_params_t p;
  cs_als_params_default(&p);
  p.dim = dim;
  p.cg_steps = 2 * dim;
  p.alpha = 5.f;
  p.lambda = 0.3f;
  const int d = p.dim;
  float *y = malloc(50 * d * sizeof(float));
  float *x = malloc(30 * d * sizeof(float));
  float gram[64 * 64];
  cs_rng_t rng;
  cs_rng_seed(&rng, 3);
  for (int i = 0; i < 50 * d; i++) y[i] = (float)(0.3 * cs_rng_normal(&rng));
  for (int i = 0; i < 30 * d; i++) x[i] = (float)(0.1 * cs_rng_normal(&rng));
  cs_als_gram(y, 50, d, gram);
  for (int r = 0; r < d; r++)
    for (int c = 0; c < d; c++) {
      double g = 0;
      for (int i = 0; i < 50; i++) g += (double)y[i * d + r] * y[i * d + c];
      assert_float_equal(gram[r * d + c], g, 1e-4);
    }
  cs_ctx_t ctx = make_ctx(3);
  assert_int_equal(cs_als_solve_rows(&ctx, &m, y, gram, &p, x, NULL), 0);
  double want[64];
  for (int64_t u = 0; u < 30; u++) {
    if (u == 4) {
      for (int c = 0; c < d; c++) assert_float_equal(x[u * d + c], 0.f, 0);
      continue;
    }
    exact_row(&m, u, y, d, &p, want);
    for (int c = 0; c < d; c++)
      assert_float_equal(x[u * d + c], want[c], 1e-3 * (1.0 + fabs(want[c])));
    /* fold-in of the same plays (split into duplicates) is the same row */
    int32_t songs[128]; /* up to 2 x 50 songs */
    float plays[128];
    int64_t n = 0;
    for (int64_t k = m.indptr[u]; k < m.indptr[u + 1]; k++) {
      songs[n] = m.indices[k];
      plays[n++] = m.values[k] - 0.5f;
      songs[n] = m.indices[k];
      plays[n++] = 0.5f;
    }
    float fold[64];
    assert_int_equal(fold_in(y, 50, d, songs, plays, n, &p, fold), 0);
    for (int c = 0; c < d; c++)
      assert_float_equal(fold[c], want[c], 1e-4 * (1.0 + fabs(want[c])));
  }
  float fold[64];
  int32_t bad_song = 50;
  float one = 1.f;
  assert_int_equal(fold_in(y, 50, d, &bad_song, &one, 1, &p, fold),
                   CS_EINVAL);
  assert_int_equal(fold_in(y, 50, d, NULL, NULL, 0, &p, fold), 0);
  for (int c = 0; c < d; c++) assert_float_equal(fold[c], 0.f, 0);
  cs_csr_free(&m);
  free(x);
  free(y);
}

static void test_cg_rows_match_exact_solve(void **state) {
  (void)state;
  check_cg_rows(10);
  check_cg_rows(53);
}

static void test_fit_independent_of_threads(void **state) {
  (void)state;
  cs_csr_t m;
  random_plays(&m, 150, 90, 0.1, 5, -1, -1);
  cs_als_params_t p;
  cs_als_params_default(&p);
  p.dim = 24;
  p.iters = 3;
  float *x1 = malloc(150 * p.dim * sizeof(float));
  float *y1 = malloc(90 * p.dim * sizeof(float));
  float *x2 = malloc(150 * p.dim * sizeof(float));
  float *y2 = malloc(90 * p.dim * sizeof(float));
  cs_ctx_t c1 = make_ctx(1), c3 = make_ctx(3);
  cs_als_report_t r1, r3;
  assert_int_equal(cs_als_fit(&c1, &m, &p, x1, y1, &r1, NULL), 0);
  assert_int_equal(cs_als_fit(&c3, &m, &p, x2, y2, &r3, NULL), 0);
  assert_memory_equal(x1, x2, 150 * p.dim * sizeof(float));
  assert_memory_equal(y1, y2, 90 * p.dim * sizeof(float));
  for (int it = 0; it < 3; it++) assert_true(r1.loss[it] == r3.loss[it]);
  free(x1);
  free(y1);
  free(x2);
  free(y2);
  cs_csr_free(&m);
}

static void test_rejects_bad_input(void **state) {
  (void)state;
  cs_csr_t m;
  int64_t ri[] = {0, 1};
  int32_t ci[] = {1, 0};
  float vi[] = {2.f, -1.f};
  assert_int_equal(cs_csr_from_triplets(&m, 2, 2, ri, ci, vi, 2, NULL), 0);
  cs_als_params_t p;
  cs_als_params_default(&p);
  p.dim = 4;
  float x[8], y[8];
  cs_err_t err;
  cs_err_clear(&err);
  cs_ctx_t ctx = make_ctx(1);
  assert_int_equal(cs_als_fit(&ctx, &m, &p, x, y, NULL, &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "user 1"));
  m.values[1] = 1.f;
  p.cg_steps = 0;
  assert_int_equal(cs_als_fit(&ctx, &m, &p, x, y, NULL, &err), CS_EINVAL);
  p.cg_steps = 3;
  p.lambda = -1.f;
  assert_int_equal(cs_als_fit(&ctx, &m, &p, x, y, NULL, &err), CS_EINVAL);
  p.lambda = 0.1f;
  p.iters = 2;
  assert_int_equal(cs_als_fit(&ctx, &m, &p, x, y, NULL, &err), 0);
  cs_csr_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loss_matches_brute_force_and_decreases),
      cmocka_unit_test(test_cg_rows_match_exact_solve),
      cmocka_unit_test(test_fit_independent_of_threads),
      cmocka_unit_test(test_rejects_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* regressor_test.c: the regressor against a double-precision plain-loop
 * reference (forward, and backprop vs finite differences), learning on a
 * synthetic problem, save/load round trips, bad files, determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/container.h"
#include "coldstart/ctx.h"
#include "coldstart/mat.h"
#include "coldstart/regressor.h"
#include "coldstart/train.h"
#include "coldstart/rng.h"
#include "train/regressor_train_internal.h"

/* --- double-precision reference -------------------------------------------
 * D is a double copy of r's weights; arrays are found by their offsets. */
#define REF(D, r, ptr) ((D) + ((ptr) - (r)->weights))

/* Forward n rows; train: BatchNorm on batch statistics, else running ones.
 * Writes the normalized outputs to out (may be NULL); returns the MSE to Y
 * (0 when Y is NULL). */
static double ref_forward(const cs_regressor_t *r, const double *D,
                          const float *X, const float *Y, int n, int train,
                          double *out) {
  int widest = r->n_in;
  for (int l = 1; l <= CS__REG_N_LINEAR; l++)
    if (r->size[l] > widest) widest = r->size[l];
  double *cur = calloc((size_t)n * widest, sizeof(double));
  double *nxt = calloc((size_t)n * widest, sizeof(double));
  assert_non_null(cur);
  assert_non_null(nxt);
  const double *mu = REF(D, r, r->p.in_mean), *sd = REF(D, r, r->p.in_std);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < r->n_in; j++)
      cur[(size_t)i * widest + j] =
          ((double)X[(size_t)i * r->n_in + j] - mu[j]) / sd[j];
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    int k = r->size[l], m = r->size[l + 1];
    const double *w = REF(D, r, r->p.w[l]), *b = REF(D, r, r->p.b[l]);
    for (int i = 0; i < n; i++)
      for (int o = 0; o < m; o++) {
        double z = b[o];
        for (int q = 0; q < k; q++)
          z += cur[(size_t)i * widest + q] * w[(size_t)o * k + q];
        nxt[(size_t)i * widest + o] = z;
      }
    if (l < CS__REG_N_BN) {
      const double *g = REF(D, r, r->p.gamma[l]), *be = REF(D, r, r->p.beta[l]);
      const double *rm = REF(D, r, r->p.run_mean[l]);
      const double *rv = REF(D, r, r->p.run_var[l]);
      for (int o = 0; o < m; o++) {
        for (int i = 0; i < n; i++) {
          double *a = &nxt[(size_t)i * widest + o];
          if (*a < 0) *a = 0;
        }
        double mean = rm[o], var = rv[o];
        if (train) {
          mean = var = 0;
          for (int i = 0; i < n; i++) mean += nxt[(size_t)i * widest + o];
          mean /= n;
          for (int i = 0; i < n; i++) {
            double d = nxt[(size_t)i * widest + o] - mean;
            var += d * d;
          }
          var /= n;
        }
        for (int i = 0; i < n; i++) {
          double *a = &nxt[(size_t)i * widest + o];
          *a = g[o] * (*a - mean) / sqrt(var + 1e-5) + be[o];
        }
      }
    }
    double *t = cur;
    cur = nxt;
    nxt = t;
  }
  double loss = 0;
  for (int i = 0; i < n; i++) {
    double *y = cur + (size_t)i * widest, nrm = 0;
    for (int j = 0; j < r->dim; j++) nrm += y[j] * y[j];
    nrm = sqrt(nrm);
    if (nrm < 1e-12) nrm = 1e-12;
    for (int j = 0; j < r->dim; j++) {
      double o = y[j] / nrm;
      if (out) out[(size_t)i * r->dim + j] = o;
      if (Y) {
        double d = o - Y[(size_t)i * r->dim + j];
        loss += d * d;
      }
    }
  }
  free(cur);
  free(nxt);
  return loss / ((double)n * r->dim);
}

static double *arena_to_double(const cs_regressor_t *r) {
  double *D = malloc(r->n_floats * sizeof(double));
  assert_non_null(D);
  for (size_t i = 0; i < r->n_floats; i++) D[i] = r->weights[i];
  return D;
}

static void fill_normal(cs_rng_t *rng, float *x, size_t n, double scale) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(scale * cs_rng_normal(rng));
}

/* A learnable problem: unit targets from a mixture; features are noisy
 * linear images of the target plus a count-like column at a large scale. */
static void make_problem(uint64_t seed, int n, int n_in, int dim, float *X,
                         float *Y) {
  cs_rng_t rng;
  cs_rng_seed(&rng, 12345); /* the same mixing matrix and centers always */
  float *M = malloc(sizeof(float) * dim * n_in);
  float *centers = malloc(sizeof(float) * 8 * dim);
  fill_normal(&rng, M, (size_t)dim * n_in, 1.0);
  fill_normal(&rng, centers, (size_t)8 * dim, 1.0);
  cs_rng_seed(&rng, seed);
  for (int i = 0; i < n; i++) {
    float *y = Y + (size_t)i * dim, *x = X + (size_t)i * n_in;
    int c = (int)cs_rng_below(&rng, 8);
    for (int j = 0; j < dim; j++)
      y[j] = centers[c * dim + j] + 0.3f * (float)cs_rng_normal(&rng);
    cs_normalize(dim, y);
    for (int q = 0; q < n_in; q++) {
      double v = 0;
      for (int j = 0; j < dim; j++) v += y[j] * M[j * n_in + q];
      x[q] = (float)(v + 0.2 * cs_rng_normal(&rng));
    }
    /* blocks of 4 features missing at random (zero), like empty
     * registration-day feature blocks */
    for (int q = 0; q + 4 < n_in; q += 4)
      if (cs_rng_uniform(&rng) < 0.5)
        for (int k = q; k < q + 4; k++) x[k] = 0.0f;
    x[n_in - 1] = (float)(100.0 * (1.0 + y[0]) + 5.0 * cs_rng_normal(&rng));
  }
  free(M);
  free(centers);
}

/* --- tests ------------------------------------------------------------------ */

/* Backprop vs finite differences of the double reference. tile: the first
 * layer's column tiles (0 = one dense GEMM; 2 = sparse, dense, sparse and
 * empty tiles on this batch). Returns the gradient through *grad_out. */
static void gradient_check(int tile, float **grad_out) {
  enum { F = 7, DIM = 3, B = 5 };
  const int hidden[3] = {6, 5, 4};
  cs_regressor_t *r;
  assert_int_equal(cs__regressor_create_hidden(&r, F, hidden, DIM, 7, NULL), 0);
  r->tile = tile;
  float X[B * F], Y[B * DIM];
  cs_rng_t rng;
  cs_rng_seed(&rng, 99);
  fill_normal(&rng, X, B * F, 2.0);
  for (int i = 0; i < B; i++) {
    X[i * F + 3] += 50.0f; /* an offset: standardization matters, and this
                              tile cannot be folded */
    if (i < 3) X[i * F + 0] = X[i * F + 1] = 0.0f; /* tile 0: 2 of 5 rows */
    if (i > 0) X[i * F + 4] = X[i * F + 5] = 0.0f; /* tile 2: 1 of 5 rows */
    X[i * F + 6] = 0.0f;                           /* tile 3: empty */
  }
  fill_normal(&rng, Y, B * DIM, 1.0);
  for (int i = 0; i < B; i++) cs_normalize(DIM, Y + i * DIM);
  /* non-trivial BatchNorm affine parameters */
  for (int l = 0; l < CS__REG_N_BN; l++)
    for (int j = 0; j < r->size[l + 1]; j++) {
      r->p.gamma[l][j] = (float)(1.0 + 0.3 * cs_rng_normal(&rng));
      r->p.beta[l][j] = (float)(0.2 * cs_rng_normal(&rng));
    }
  assert_int_equal(cs__regressor_fit_standardizer(r, X, B, 1, NULL), 0);

  float *grad = cs_alloc_aligned(r->n_floats * sizeof(float));
  double *D = arena_to_double(r);
  double ref_loss = ref_forward(r, D, X, Y, B, 1, NULL);
  double loss = cs__regressor_batch_grad(r, X, Y, NULL, B, grad);
  if (!(fabs(loss - ref_loss) < 1e-6)) fail_msg("tile %d: loss %.9g ref %.9g", tile, loss, ref_loss);

  double max_g = 0, max_err = 0;
  const double h = 1e-6;
  double *fd = calloc(r->n_trainable, sizeof(double));
  for (size_t i = 0; i < r->n_trainable; i++) {
    double keep = D[i];
    D[i] = keep + h;
    double lp = ref_forward(r, D, X, Y, B, 1, NULL);
    D[i] = keep - h;
    double lm = ref_forward(r, D, X, Y, B, 1, NULL);
    D[i] = keep;
    fd[i] = (lp - lm) / (2 * h);
    if (fabs(fd[i]) > max_g) max_g = fabs(fd[i]);
  }
  assert_true(max_g > 1e-4); /* the check is not vacuous */
  for (size_t i = 0; i < r->n_trainable; i++) {
    double e = fabs(fd[i] - grad[i]);
    if (e > max_err) max_err = e;
    if (e > 1e-4 * max_g + 1e-3 * fabs(fd[i]))
      fail_msg("gradient %zu: backprop %.9g, finite differences %.9g", i,
               (double)grad[i], fd[i]);
  }
  /* PyTorch-like running statistics after one batch */
  const float *rv = r->p.run_var[0], *rm = r->p.run_mean[0];
  assert_true(rv[0] != 1.0f || rm[0] != 0.0f);
  free(fd);
  free(D);
  cs_regressor_free(r);
  *grad_out = grad;
}

static void test_gradient_check(void **state) {
  (void)state;
  float *dense, *tiled;
  gradient_check(0, &dense);
  gradient_check(2, &tiled);
  /* the tiled (sparse) first layer agrees with the dense one */
  enum { N_W0 = 6 * 7 };
  double max_d = 0;
  for (int i = 0; i < N_W0; i++)
    if (fabs(dense[i]) > max_d) max_d = fabs(dense[i]);
  for (int i = 0; i < N_W0; i++)
    assert_true(fabs(dense[i] - tiled[i]) <= 1e-5 * max_d);
  free(dense);
  free(tiled);
}

static void test_forward_matches_reference(void **state) {
  (void)state;
  enum { F = 50, DIM = 8, N = 37 };
  cs_regressor_t *r;
  assert_int_equal(cs_regressor_create(&r, F, DIM, 3, NULL), 0);
  assert_int_equal(cs_regressor_n_in(r), F);
  assert_int_equal(cs_regressor_dim(r), DIM);
  cs_rng_t rng;
  cs_rng_seed(&rng, 5);
  for (int l = 0; l < CS__REG_N_BN; l++)
    for (int j = 0; j < r->size[l + 1]; j++) {
      r->p.gamma[l][j] = (float)(1.0 + 0.2 * cs_rng_normal(&rng));
      r->p.beta[l][j] = (float)(0.1 * cs_rng_normal(&rng));
      r->p.run_mean[l][j] = (float)(0.3 * cs_rng_uniform(&rng));
      r->p.run_var[l][j] = (float)(0.05 + cs_rng_uniform(&rng));
    }
  float *X = malloc(sizeof(float) * N * F), *out = malloc(sizeof(float) * N * DIM);
  fill_normal(&rng, X, (size_t)N * F, 3.0);
  for (int i = 0; i < N; i++) X[i * F + F - 1] = (float)(i * 10);
  assert_int_equal(cs__regressor_fit_standardizer(r, X, N, 2, NULL), 0);
  /* weights were changed behind the API: refresh the one-row form */
  assert_int_equal(cs__regressor_build_serving(r, NULL), 0);
  assert_int_equal(cs_regressor_predict(r, X, N, out, NULL), 0);
  double *D = arena_to_double(r), ref[N * DIM];
  ref_forward(r, D, X, NULL, N, 0, ref);
  for (int i = 0; i < N * DIM; i++) assert_true(fabs(ref[i] - out[i]) < 1e-5);
  for (int i = 0; i < N; i++)
    assert_true(fabs(cs_norm2_sq(DIM, out + i * DIM) - 1.0) < 1e-5);
  /* one row at a time (the sparse serving path, with rows made sparse like
   * registration-day features) gives the reference's answer */
  float one[DIM];
  for (int i = 0; i < N; i++) {
    float row[F];
    memcpy(row, X + i * F, sizeof row);
    for (int j = 0; j < F; j++)
      if ((j / 5 + i) % 3 == 0) row[j] = 0.0f;
    double ref_row[DIM];
    ref_forward(r, D, row, NULL, 1, 0, ref_row);
    assert_int_equal(cs_regressor_predict(r, row, 1, one, NULL), 0);
    for (int j = 0; j < DIM; j++) assert_true(fabs(one[j] - ref_row[j]) < 1e-5);
    if (i == 5) { /* and the unmodified row matches the batch */
      assert_int_equal(cs_regressor_predict(r, X + 5 * F, 1, one, NULL), 0);
      for (int j = 0; j < DIM; j++) assert_true(fabs(one[j] - out[5 * DIM + j]) < 1e-6);
    }
  }
  /* float16 weights: within 2e-3 of float32 per component, and not the
   * same numbers (the flag reaches the kernel); back to float32 exactly */
  float *out16 = malloc(sizeof(float) * N * DIM), *again = malloc(sizeof(float) * N * DIM);
  cs_regressor_set_half(r, 1);
  assert_int_equal(cs_regressor_half(r), 1);
  assert_int_equal(cs_regressor_predict(r, X, N, out16, NULL), 0);
  double max_diff = 0.0;
  for (int i = 0; i < N * DIM; i++) {
    double e = fabs((double)out16[i] - (double)out[i]);
    if (e > max_diff) max_diff = e;
  }
  assert_true(max_diff < 2e-3);
  assert_true(max_diff > 0.0);
  cs_regressor_set_half(r, 0);
  assert_int_equal(cs_regressor_predict(r, X, N, again, NULL), 0);
  assert_memory_equal(again, out, sizeof(float) * N * DIM);
  /* rows split between threads: the same bits */
  for (int t = 2; t <= 4; t++) {
    memset(again, 0, sizeof(float) * N * DIM);
    assert_int_equal(cs_regressor_predict_threads(r, X, N, again, t, NULL), 0);
    assert_memory_equal(again, out, sizeof(float) * N * DIM);
  }
  free(out16);
  free(again);
  free(D);
  free(X);
  free(out);
  cs_regressor_free(r);
}

typedef struct {
  int n, n_val, n_in, dim;
  float *X, *Y, *Xv, *Yv;
} problem_t;

static problem_t problem_new(int n, int n_val, int n_in, int dim) {
  problem_t p = {n, n_val, n_in, dim, NULL, NULL, NULL, NULL};
  p.X = malloc(sizeof(float) * n * n_in);
  p.Y = malloc(sizeof(float) * n * dim);
  p.Xv = malloc(sizeof(float) * n_val * n_in);
  p.Yv = malloc(sizeof(float) * n_val * dim);
  make_problem(1, n, n_in, dim, p.X, p.Y);
  make_problem(2, n_val, n_in, dim, p.Xv, p.Yv);
  return p;
}

static void problem_free(problem_t *p) {
  free(p->X);
  free(p->Y);
  free(p->Xv);
  free(p->Yv);
}

static void test_training_learns(void **state) {
  (void)state;
  problem_t pb = problem_new(2000, 500, 20, 4);
  cs_regressor_t *r;
  assert_int_equal(cs_regressor_create(&r, pb.n_in, pb.dim, 11, NULL), 0);
  r->tile = 4; /* exercise the sparse first layer */
  assert_int_equal(cs__regressor_fit_standardizer(r, pb.X, pb.n, 1, NULL), 0);
  double initial = cs_regressor_mse(r, pb.Xv, pb.Yv, pb.n_val);
  cs_regressor_params_t p;
  cs_regressor_params_default(&p);
  p.epochs = 8;
  cs_regressor_report_t rep = {0};
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_err_t err;
  assert_int_equal(cs_regressor_train(&ctx, r, pb.X, pb.Y, pb.n, pb.Xv, pb.Yv,
                                      pb.n_val, &p, &rep, &err), 0);
  double final = cs_regressor_mse(r, pb.Xv, pb.Yv, pb.n_val);
  assert_true(rep.epochs_run >= 1 && rep.epochs_run <= 8);
  assert_true(fabs(final - rep.val_mse) < 1e-9); /* best weights restored */
  assert_true(final < 0.2 * initial);
  assert_true(rep.train_mse > 0 && rep.seconds >= 0);
  cs_regressor_free(r);
  problem_free(&pb);
}

static void test_determinism(void **state) {
  (void)state;
  problem_t pb = problem_new(600, 100, 12, 4);
  cs_regressor_params_t p;
  cs_regressor_params_default(&p);
  p.epochs = 2;
  p.batch = 64;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = 2;
  cs_regressor_t *a, *b;
  assert_int_equal(cs_regressor_create(&a, pb.n_in, pb.dim, 4, NULL), 0);
  assert_int_equal(cs_regressor_create(&b, pb.n_in, pb.dim, 4, NULL), 0);
  assert_memory_equal(a->weights, b->weights, a->n_floats * sizeof(float));
  a->tile = b->tile = 4;
  assert_int_equal(cs_regressor_train(&ctx, a, pb.X, pb.Y, pb.n, pb.Xv, pb.Yv,
                                      pb.n_val, &p, NULL, NULL), 0);
  assert_int_equal(cs_regressor_train(&ctx, b, pb.X, pb.Y, pb.n, pb.Xv, pb.Yv,
                                      pb.n_val, &p, NULL, NULL), 0);
  assert_memory_equal(a->weights, b->weights, a->n_floats * sizeof(float));
  /* the thread count does not matter: fixed sub-blocks, summed in order;
   * nor does training on row indices instead of a copy */
  cs_regressor_t *t1;
  assert_int_equal(cs_regressor_create(&t1, pb.n_in, pb.dim, 4, NULL), 0);
  t1->tile = 4;
  ctx.n_threads = 1;
  assert_int_equal(cs_regressor_train(&ctx, t1, pb.X, pb.Y, pb.n, pb.Xv,
                                      pb.Yv, pb.n_val, &p, NULL, NULL), 0);
  assert_memory_equal(a->weights, t1->weights, a->n_floats * sizeof(float));
  cs_regressor_free(t1);
  int64_t *rows = malloc((size_t)pb.n * sizeof *rows);
  int64_t *rows_v = malloc((size_t)pb.n_val * sizeof *rows_v);
  float *X2 = malloc((size_t)pb.n * 2 * pb.n_in * sizeof(float));
  float *Y2 = malloc((size_t)pb.n * 2 * pb.dim * sizeof(float));
  for (int64_t i = 0; i < pb.n; i++) { /* row i at 2i + 1, garbage between */
    rows[i] = 2 * (pb.n - 1 - i) + 1;
    for (int c = 0; c < pb.n_in; c++) {
      X2[rows[i] * pb.n_in + c] = pb.X[i * pb.n_in + c];
      X2[(rows[i] - 1) * pb.n_in + c] = 1e6f;
    }
    for (int c = 0; c < pb.dim; c++) {
      Y2[rows[i] * pb.dim + c] = pb.Y[i * pb.dim + c];
      Y2[(rows[i] - 1) * pb.dim + c] = -7.f;
    }
  }
  for (int64_t i = 0; i < pb.n_val; i++) rows_v[i] = i;
  cs_regressor_t *ix;
  assert_int_equal(cs_regressor_create(&ix, pb.n_in, pb.dim, 4, NULL), 0);
  ix->tile = 4;
  ctx.n_threads = 3;
  assert_int_equal(cs__regressor_train_rows(&ctx, ix, X2, Y2, rows, pb.n,
                                            pb.Xv, pb.Yv, rows_v, pb.n_val,
                                            &p, NULL, NULL), 0);
  assert_memory_equal(a->weights, ix->weights, a->n_floats * sizeof(float));
  cs_regressor_free(ix);
  free(rows);
  free(rows_v);
  free(X2);
  free(Y2);
  /* another seed differs */
  cs_regressor_t *c;
  assert_int_equal(cs_regressor_create(&c, pb.n_in, pb.dim, 5, NULL), 0);
  assert_true(memcmp(a->weights, c->weights, a->n_floats * sizeof(float)) != 0);
  cs_regressor_free(a);
  cs_regressor_free(b);
  cs_regressor_free(c);
  problem_free(&pb);
}

static void tmp_path(char *buf, size_t size, const char *tag) {
  const char *dir = getenv("TMPDIR");
  snprintf(buf, size, "%s/cs_regressor_%s_%ld.cs", dir ? dir : "/tmp", tag,
           (long)getpid());
}

static void test_save_load_round_trip(void **state) {
  (void)state;
  problem_t pb = problem_new(300, 50, 10, 5);
  cs_regressor_t *r;
  assert_int_equal(cs_regressor_create(&r, pb.n_in, pb.dim, 8, NULL), 0);
  cs_regressor_params_t p;
  cs_regressor_params_default(&p);
  p.epochs = 2;
  cs_err_t err;
  assert_int_equal(cs_regressor_train(NULL, r, pb.X, pb.Y, pb.n, pb.Xv, pb.Yv,
                                      pb.n_val, &p, NULL, &err), 0);
  char path[256];
  tmp_path(path, sizeof(path), "rt");
  cs_container_writer_t *w;
  assert_int_equal(cs_container_writer_create(&w, "model", 1, &err), 0);
  assert_int_equal(cs_regressor_save(r, w, "reg.", &err), 0);
  assert_int_equal(cs_container_writer_commit(w, path, &err), 0);
  cs_container_writer_free(w);

  cs_container_t *c;
  assert_int_equal(cs_container_load(&c, path, "model", &err), 0);
  cs_regressor_t *q;
  assert_int_equal(cs_regressor_load(&q, c, "reg.", &err), 0);
  assert_int_equal(cs_regressor_n_in(q), pb.n_in);
  assert_int_equal(cs_regressor_dim(q), pb.dim);
  float *o1 = malloc(sizeof(float) * pb.n_val * pb.dim);
  float *o2 = malloc(sizeof(float) * pb.n_val * pb.dim);
  assert_int_equal(cs_regressor_predict(r, pb.Xv, pb.n_val, o1, NULL), 0);
  assert_int_equal(cs_regressor_predict(q, pb.Xv, pb.n_val, o2, NULL), 0);
  assert_memory_equal(o1, o2, sizeof(float) * pb.n_val * pb.dim);
  /* a wrong prefix is reported, not crashed on */
  cs_regressor_t *bad;
  assert_int_not_equal(cs_regressor_load(&bad, c, "nope.", &err), 0);
  assert_null(bad);
  /* a loaded (mapped, read-only) regressor can be trained further */
  assert_int_equal(cs_regressor_train(NULL, q, pb.X, pb.Y, pb.n, pb.Xv, pb.Yv,
                                      pb.n_val, &p, NULL, &err), 0);
  assert_non_null(q->weights);
  cs_regressor_free(q);
  cs_container_unref(c);
  unlink(path);
  free(o1);
  free(o2);
  cs_regressor_free(r);
  problem_free(&pb);
}

/* Write a container holding r's sections, with section `replace` swapped
 * for `size` bytes of `data`. */
static void write_tampered(const cs_regressor_t *r, const char *path,
                           const char *replace, const void *data, size_t size) {
  cs_container_writer_t *full;
  cs_err_t err;
  char tmp[300];
  snprintf(tmp, sizeof(tmp), "%s.src", path);
  assert_int_equal(cs_container_writer_create(&full, "model", 1, &err), 0);
  assert_int_equal(cs_regressor_save(r, full, "", &err), 0);
  assert_int_equal(cs_container_writer_commit(full, tmp, &err), 0);
  cs_container_writer_free(full);
  cs_container_t c;
  assert_int_equal(cs_container_open(&c, tmp, "model", &err), 0);
  cs_container_writer_t *w;
  assert_int_equal(cs_container_writer_create(&w, "model", 1, &err), 0);
  for (uint32_t i = 0; i < c.n_sections; i++) {
    const char *name = c.sections[i].name;
    size_t sz;
    const void *d = cs_container_get(&c, name, &sz);
    if (strcmp(name, replace) == 0) {
      d = data;
      sz = size;
    }
    assert_int_equal(cs_container_add_copy(w, name, d, sz, &err), 0);
  }
  assert_int_equal(cs_container_writer_commit(w, path, &err), 0);
  cs_container_writer_free(w);
  cs_container_close(&c);
  unlink(tmp);
}

static void expect_load_error(const char *path, int code, const char *needle) {
  cs_container_t *c;
  cs_err_t err;
  assert_int_equal(cs_container_load(&c, path, "model", &err), 0);
  cs_regressor_t *r = (cs_regressor_t *)c; /* must be reset to NULL */
  int rc = cs_regressor_load(&r, c, "", &err);
  assert_int_equal(rc, code);
  assert_null(r);
  if (!strstr(err.msg, needle)) fail_msg("'%s' lacks '%s'", err.msg, needle);
  cs_container_unref(c);
}

static void test_load_rejects_bad_sections(void **state) {
  (void)state;
  cs_regressor_t *r;
  assert_int_equal(cs_regressor_create(&r, 9, 4, 1, NULL), 0);
  char path[256];
  tmp_path(path, sizeof(path), "bad");
  float short_w[3] = {0};
  write_tampered(r, path, "w1", short_w, sizeof(short_w));
  expect_load_error(path, CS_EFORMAT, "w1");
  float neg_var[400];
  for (int j = 0; j < 400; j++) neg_var[j] = 1.0f;
  neg_var[17] = -1.0f;
  write_tampered(r, path, "bn0_var", neg_var, sizeof(neg_var));
  expect_load_error(path, CS_EFORMAT, "bn0_var");
  float nan_b[4] = {0, NAN, 0, 0};
  write_tampered(r, path, "b3", nan_b, sizeof(nan_b));
  expect_load_error(path, CS_EFORMAT, "b3");
  uint32_t header[8] = {1, 0, 4, 400, 300, 200, 0, 0};
  write_tampered(r, path, "header", header, sizeof(header));
  expect_load_error(path, CS_EFORMAT, "header");
  header[0] = 99;
  header[1] = 9;
  write_tampered(r, path, "header", header, sizeof(header));
  expect_load_error(path, CS_EVERSION, "header");
  write_tampered(r, path, "header", header, 5);
  expect_load_error(path, CS_EFORMAT, "header");
  unlink(path);
  cs_regressor_free(r);
}

/* Folding what the model holds: a weight beyond float16's range keeps
 * --half off; one that overflows float32 (a tiny input spread) is refused,
 * not turned into inf (fma(0, inf) = NaN would make a row depend on its
 * tile-mates). */
static void test_folding_limits(void **state) {
  (void)state;
  enum { F = 20, DIM = 4 };
  cs_regressor_t *r;
  assert_int_equal(cs_regressor_create(&r, F, DIM, 3, NULL), 0);
  r->p.in_std[2] = 1e-3f; /* folded first-layer weights x1000 */
  r->p.w[0][2] = 100.0f;  /* -> 1e5 > 65504 */
  assert_int_equal(cs__regressor_build_serving(r, NULL), 0);
  cs_regressor_set_half(r, 1);
  assert_int_equal(cs_regressor_half(r), 0);
  r->p.in_std[2] = 1e-37f; /* -> 1e39: not a float */
  cs_err_t err;
  assert_int_equal(cs__regressor_build_serving(r, &err), CS_ERANGE);
  assert_non_null(strstr(err.msg, "overflows float"));
  r->p.in_std[2] = 1.0f;
  r->p.w[0][2] = 0.5f;
  assert_int_equal(cs__regressor_build_serving(r, NULL), 0);
  cs_regressor_set_half(r, 1);
  assert_int_equal(cs_regressor_half(r), 1);
  cs_regressor_free(r);
}

static void test_bad_arguments(void **state) {
  (void)state;
  cs_regressor_t *r;
  cs_err_t err;
  assert_int_equal(cs_regressor_create(&r, 0, 4, 1, &err), CS_EINVAL);
  assert_null(r);
  assert_int_equal(cs_regressor_create(&r, 3, 2, 1, &err), 0);
  float X[6] = {1, 2, 3, 4, 5, 6}, Y[4] = {1, 0, 0, 1};
  cs_regressor_params_t p;
  cs_regressor_params_default(&p);
  p.lr = -1;
  assert_int_equal(cs_regressor_train(NULL, r, X, Y, 2, NULL, NULL, 0, &p,
                                      NULL, &err), CS_EINVAL);
  cs_regressor_params_default(&p);
  assert_int_equal(cs_regressor_train(NULL, r, X, Y, 1, NULL, NULL, 0, &p,
                                      NULL, &err), CS_EINVAL);
  /* no validation set: no early stopping, val_mse is NaN */
  p.epochs = 2;
  cs_regressor_report_t rep = {0};
  assert_int_equal(cs_regressor_train(NULL, r, X, Y, 2, NULL, NULL, 0, &p,
                                      &rep, &err), 0);
  assert_int_equal(rep.epochs_run, 2);
  assert_true(isnan(rep.val_mse));
  cs_regressor_params_reference(&p);
  assert_int_equal(p.epochs, 130);
  assert_int_equal(p.batch, 512);
  assert_true(fabs(p.lr - 1e-5f) < 1e-12);
  cs_regressor_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradient_check),
      cmocka_unit_test(test_forward_matches_reference),
      cmocka_unit_test(test_folding_limits),
      cmocka_unit_test(test_training_learns),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_save_load_round_trip),
      cmocka_unit_test(test_load_rejects_bad_sections),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* regressor_train.c: training of the regressor: PyTorch-like creation, the
 * input standardization, train-mode forward and backward (BatchNorm on batch
 * statistics, L2-normalized output, MSE), Adam, and the epoch loop with
 * validation, a cosine lr schedule and early stopping that restores the best
 * weights. */
#ifdef __AVX__
#include <immintrin.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "train/regressor_train_internal.h"

static const int k_hidden[CS__REG_N_BN] = {400, 300, 200};

void cs_regressor_params_default(cs_regressor_params_t *p) {
  /* Fast schedule: 100x the paper's lr, cosine-annealed, early stopping on
   * validation MSE with the best weights restored (bench/results/regressor.md
   * shows it reaches the reference schedule's validation MSE). */
  p->epochs = 8;
  p->lr = 1e-3f;
  p->batch = 256;
  p->seed = 42;
  p->patience = 2;
  p->lr_final = 1e-5f;
}

void cs_regressor_params_reference(cs_regressor_params_t *p) {
  p->epochs = 130;
  p->lr = 1e-5f;
  p->batch = 512;
  p->seed = 42;
  p->patience = 0;
  p->lr_final = 0.0f;
}

static void fill_uniform(cs_rng_t *rng, float *x, size_t n, double bound) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((2.0 * cs_rng_uniform(rng) - 1.0) * bound);
}

int cs_regressor_create(cs_regressor_t **out, int n_in, int dim, uint64_t seed,
                        cs_err_t *err) {
  return cs__regressor_create_hidden(out, n_in, k_hidden, dim, seed, err);
}

int cs__regressor_create_hidden(cs_regressor_t **out, int n_in,
                                const int hidden[3], int dim, uint64_t seed,
                                cs_err_t *err) {
  *out = NULL;
  if (n_in < 1 || n_in > CS__REG_MAX_IN || dim < 1 || dim > CS__REG_MAX_WIDTH)
    return cs_err_set(err, CS_EINVAL,
                      "regressor: bad shape n_in=%d dim=%d", n_in, dim);
  for (int l = 0; l < CS__REG_N_BN; l++)
    if (hidden[l] < 1 || hidden[l] > CS__REG_MAX_WIDTH)
      return cs_err_set(err, CS_EINVAL, "regressor: bad hidden width %d",
                        hidden[l]);
  cs_regressor_t *r = calloc(1, sizeof(*r));
  if (!r) return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  r->n_in = n_in;
  r->dim = dim;
  r->size[0] = n_in;
  for (int l = 0; l < CS__REG_N_BN; l++) r->size[l + 1] = hidden[l];
  r->size[CS__REG_N_LINEAR] = dim;
  r->tile = CS__REG_DEFAULT_TILE;
  if (cs__regressor_alloc(r)) {
    cs_regressor_free(r);
    return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  }
  /* nn.Linear's default: kaiming_uniform(a=sqrt(5)) gives
   * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights, the same for biases. */
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    double bound = 1.0 / sqrt((double)r->size[l]);
    fill_uniform(&rng, r->p.w[l], (size_t)r->size[l + 1] * r->size[l], bound);
    fill_uniform(&rng, r->p.b[l], (size_t)r->size[l + 1], bound);
  }
  for (int l = 0; l < CS__REG_N_BN; l++)
    for (int j = 0; j < r->size[l + 1]; j++) {
      r->p.gamma[l][j] = 1.0f;
      r->p.run_var[l][j] = 1.0f;
    }
  for (int j = 0; j < n_in; j++) r->p.in_std[j] = 1.0f;
  int rc = cs__regressor_build_serving(r, err);
  if (rc != CS_OK) {
    cs_regressor_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

/* --- input standardization ------------------------------------------------
 * Column means, then standard deviations around them, over the training
 * rows in fixed blocks of STD_BLOCK rows: each block's sums are a partial
 * (rank r computes blocks [lo, hi) of cs_dist_part), added in block order,
 * so the result does not depend on the thread or rank count. */

#define STD_BLOCK 1024

typedef struct {
  const float *X;
  const int64_t *rows; /* NULL: rows 0..n-1 */
  int64_t n, blk0;
  int n_in;
  double *part;       /* [local blocks x n_in] */
  const double *mean; /* NULL: the sums pass; else squared deviations */
} std_job_t;

static int std_blocks(void *arg, int64_t b0, int64_t b1, int tid,
                      cs_err_t *err) {
  (void)tid;
  (void)err;
  const std_job_t *j = arg;
  const int n_in = j->n_in;
  for (int64_t b = b0; b < b1; b++) {
    double *acc = j->part + b * n_in;
    for (int c = 0; c < n_in; c++) acc[c] = 0.0;
    int64_t i0 = (j->blk0 + b) * STD_BLOCK;
    int64_t i1 = i0 + STD_BLOCK < j->n ? i0 + STD_BLOCK : j->n;
    for (int64_t i = i0; i < i1; i++) {
      const float *x = j->X + (j->rows ? j->rows[i] : i) * (int64_t)n_in;
      if (!j->mean) {
        for (int c = 0; c < n_in; c++) acc[c] += x[c];
      } else {
        for (int c = 0; c < n_in; c++) {
          double d = x[c] - j->mean[c];
          acc[c] += d * d;
        }
      }
    }
  }
  return 0;
}

static int fit_standardizer(cs_regressor_t *r, const cs_dist_t *d,
                            int n_threads, const float *X,
                            const int64_t *rows, int64_t n, cs_err_t *err) {
  const int n_in = r->n_in;
  const int64_t n_blocks = (n + STD_BLOCK - 1) / STD_BLOCK;
  int64_t lo, hi;
  cs_dist_part(n_blocks, d->rank, d->size, &lo, &hi);
  double *part = malloc(((size_t)(hi - lo) + 2) * n_in * sizeof(double));
  int rc = part ? 0
                : cs_err_set(err, CS_ENOMEM,
                             "regressor: standardizing %d columns", n_in);
  if ((rc = cs_dist_agree(d, rc, err))) {
    free(part);
    return rc;
  }
  double *mean = part + (size_t)(hi - lo) * n_in, *sq = mean + n_in;
  std_job_t job = {X, rows, n, lo, n_in, part, NULL};
  cs_parallel_for(n_threads, hi - lo, std_blocks, &job, NULL);
  cs_dist_sum_blocks(d, part, n_blocks, n_in, mean);
  for (int c = 0; c < n_in; c++) mean[c] /= (double)n;
  job.mean = mean;
  cs_parallel_for(n_threads, hi - lo, std_blocks, &job, NULL);
  cs_dist_sum_blocks(d, part, n_blocks, n_in, sq);
  for (int c = 0; c < n_in; c++) {
    double sd = sqrt(sq[c] / (double)n);
    r->p.in_mean[c] = (float)mean[c];
    r->p.in_std[c] = (sd < 1e-6 || !isfinite(sd)) ? 1.0f : (float)sd;
  }
  free(part);
  return 0;
}

int cs__regressor_fit_standardizer(cs_regressor_t *r, const float *X,
                                   int64_t n, int n_threads, cs_err_t *err) {
  return fit_standardizer(r, &cs_dist_one, n_threads, X, NULL, n, err);
}

/* --- validation MSE --------------------------------------------------------
 * Per fixed block of VAL_BLOCK rows (the inference of a row does not depend
 * on the rows beside it), summed in block order over the ranks. */

#define VAL_BLOCK 512

typedef struct {
  const cs_regressor_t *r;
  const float *X, *Y;
  const int64_t *rows; /* NULL: rows 0..n-1 */
  int64_t n, blk0;
  double *part;        /* [local blocks] squared errors */
  float **buf;         /* [n_threads] VAL_BLOCK x (n_in + dim) */
} val_job_t;

static int val_blocks(void *arg, int64_t b0, int64_t b1, int tid,
                      cs_err_t *err) {
  (void)err;
  const val_job_t *j = arg;
  const int n_in = j->r->n_in, dim = j->r->dim;
  for (int64_t b = b0; b < b1; b++) {
    int64_t i0 = (j->blk0 + b) * VAL_BLOCK;
    int64_t m = i0 + VAL_BLOCK < j->n ? VAL_BLOCK : j->n - i0;
    const float *x = j->X + i0 * n_in, *y = j->Y + i0 * dim;
    if (j->rows) {
      float *bx = j->buf[tid], *by = bx + (size_t)VAL_BLOCK * n_in;
      for (int64_t i = 0; i < m; i++) {
        memcpy(bx + i * n_in, j->X + j->rows[i0 + i] * n_in,
               sizeof(float) * n_in);
        memcpy(by + i * dim, j->Y + j->rows[i0 + i] * dim, sizeof(float) * dim);
      }
      x = bx;
      y = by;
    }
    j->part[b] = cs_regressor_mse(j->r, x, y, m) * (double)m * dim;
  }
  return 0;
}

static double validation_mse(const cs_regressor_t *r, const cs_dist_t *d,
                             int n_threads, const float *X, const float *Y,
                             const int64_t *rows, int64_t n) {
  const int64_t n_blocks = (n + VAL_BLOCK - 1) / VAL_BLOCK;
  int64_t lo, hi;
  cs_dist_part(n_blocks, d->rank, d->size, &lo, &hi);
  double *part = malloc(((size_t)(hi - lo) + 1) * sizeof(double));
  float **buf = calloc((size_t)n_threads, sizeof *buf);
  int ok = part && buf;
  for (int t = 0; ok && rows && t < n_threads; t++)
    ok = (buf[t] = malloc((size_t)VAL_BLOCK * (r->n_in + r->dim) *
                          sizeof(float))) != NULL;
  val_job_t job = {r, X, Y, rows, n, lo, part, buf};
  if (ok) cs_parallel_for(n_threads, hi - lo, val_blocks, &job, NULL);
  for (int64_t b = 0; !ok && part && b < hi - lo; b++) part[b] = NAN;
  double total = NAN;
  if (part) cs_dist_sum_blocks(d, part, n_blocks, 1, &total);
  for (int t = 0; buf && t < n_threads; t++) free(buf[t]);
  free(buf);
  free(part);
  return total / ((double)n * r->dim);
}

/* Per-batch buffers of the train-mode pass. */
typedef struct {
  int cap;                  /* rows */
  float *x;                 /* [cap x n_in] standardized inputs */
  float *act[CS__REG_N_BN]; /* post-ReLU activations */
  float *xhat[CS__REG_N_BN];
  float *h[CS__REG_N_BN];   /* BatchNorm outputs = next layer's input */
  float *inv_std[CS__REG_N_BN];
  float *y, *out;           /* [cap x dim] raw output and normalized */
  float *norm;              /* [cap] */
  float *d_a, *d_b;         /* [cap x widest] gradient scratch */
  double *acc0, *acc1;      /* [widest] column reductions */
  float *block;             /* the single allocation */
  /* First layer on column tiles (see first_forward): */
  int n_tiles, tile;        /* tile width; n_tiles = 0: one dense GEMM */
  float *mu_eff;            /* [n_in] what x[j] - mu_eff[j] subtracts */
  float *ms_eff;            /* [n_in] (mean - mu_eff) / std: folded part */
  int any_fold;
  float *bias0;             /* [size[1]] b0 - W0 ms_eff */
  float *gx;                /* [cap x n_in] gathered rows of sparse tiles */
  int *kind;                /* [n_tiles] TILE_EMPTY / TILE_DENSE / TILE_SPARSE */
  int *n_rows;              /* [n_tiles] active rows */
  int *rows;                /* [n_tiles x cap] their indices */
  size_t *goff;             /* [n_tiles] offsets into gx */
} work_t;

enum { TILE_EMPTY = 0, TILE_DENSE = 1, TILE_SPARSE = 2 };
/* A tile is folded (kept sparse) when its columns' |mean / std| are at most
 * this: x' = x/std - mean/std then loses at most ~2 bits to cancellation. */
#define FOLD_MAX_RATIO 4.0f

static void work_free(work_t *w) {
  free(w->block);
  free(w->acc0);
  free(w->kind);
  free(w->goff);
  memset(w, 0, sizeof(*w));
}

static int work_init(work_t *w, const cs_regressor_t *r, int cap) {
  memset(w, 0, sizeof(*w));
  int widest = r->dim;
  for (int l = 1; l < CS__REG_N_LINEAR; l++)
    if (r->size[l] > widest) widest = r->size[l];
  size_t c = (size_t)cap, total = c * r->n_in;
  for (int l = 0; l < CS__REG_N_BN; l++)
    total += 3 * c * r->size[l + 1] + (size_t)r->size[l + 1] + 16 * 4;
  total += 2 * c * r->dim + c + 2 * c * widest + 16 * 6;
  total += 2 * (size_t)r->n_in + (size_t)r->size[1] + c * r->n_in + 16 * 4;
  w->block = cs_alloc_aligned(total * sizeof(float));
  w->acc0 = calloc(2 * (size_t)widest, sizeof(double));
  if (!w->block || !w->acc0) {
    work_free(w);
    return CS_ENOMEM;
  }
  w->cap = cap;
  float *q = w->block;
#define WORK_TAKE(ptr, count)                   \
  do {                                          \
    (ptr) = q;                                  \
    q += ((size_t)(count) + 15) & ~(size_t)15;  \
  } while (0)
  WORK_TAKE(w->x, c * r->n_in);
  for (int l = 0; l < CS__REG_N_BN; l++) {
    WORK_TAKE(w->act[l], c * r->size[l + 1]);
    WORK_TAKE(w->xhat[l], c * r->size[l + 1]);
    WORK_TAKE(w->h[l], c * r->size[l + 1]);
    WORK_TAKE(w->inv_std[l], r->size[l + 1]);
  }
  WORK_TAKE(w->y, c * r->dim);
  WORK_TAKE(w->out, c * r->dim);
  WORK_TAKE(w->norm, c);
  WORK_TAKE(w->d_a, c * widest);
  WORK_TAKE(w->d_b, c * widest);
  WORK_TAKE(w->mu_eff, r->n_in);
  WORK_TAKE(w->ms_eff, r->n_in);
  WORK_TAKE(w->bias0, r->size[1]);
  WORK_TAKE(w->gx, c * r->n_in);
#undef WORK_TAKE
  w->acc1 = w->acc0 + widest;
  /* Column tiles: a tile whose columns can be folded keeps raw zeros as
   * zeros (x/std), so rows with nothing in it are skipped. */
  w->tile = r->tile > 0 && r->tile < r->n_in ? r->tile : 0;
  w->n_tiles = w->tile ? (r->n_in + w->tile - 1) / w->tile : 0;
  const float *mu = r->p.in_mean, *sd = r->p.in_std;
  for (int t = 0; t < (w->n_tiles ? w->n_tiles : 1); t++) {
    int k0 = t * w->tile, k1 = w->tile ? k0 + w->tile : r->n_in;
    if (k1 > r->n_in) k1 = r->n_in;
    int fold = w->tile > 0;
    for (int j = k0; j < k1 && fold; j++)
      fold = fabsf(mu[j] / sd[j]) <= FOLD_MAX_RATIO;
    for (int j = k0; j < k1; j++) {
      w->mu_eff[j] = fold ? 0.0f : mu[j];
      w->ms_eff[j] = fold ? mu[j] / sd[j] : 0.0f;
      if (fold && w->ms_eff[j] != 0.0f) w->any_fold = 1;
    }
  }
  if (w->n_tiles) {
    size_t nt = (size_t)w->n_tiles;
    w->kind = calloc(nt * (2 + c), sizeof(int));
    w->goff = calloc(nt, sizeof(size_t));
    if (!w->kind || !w->goff) {
      work_free(w);
      return CS_ENOMEM;
    }
    w->n_rows = w->kind + nt;
    w->rows = w->n_rows + nt;
  }
  return 0;
}

/* Column sums of a [rows x cols] matrix into acc (double). */
static void col_sums(const float *a, int rows, int cols, double *acc) {
  for (int j = 0; j < cols; j++) acc[j] = 0.0;
  for (int i = 0; i < rows; i++) {
    const float *ar = a + (size_t)i * cols;
    for (int j = 0; j < cols; j++) acc[j] += ar[j];
  }
}

/* Linear forward: z = in W^T + b. */
static void linear_forward(const float *in, int rows, int k, const float *w,
                           const float *b, int n_out, float *z) {
  for (int i = 0; i < rows; i++)
    memcpy(z + (size_t)i * n_out, b, sizeof(float) * n_out);
  cs_gemm(CS_NOTRANS, CS_TRANS, rows, n_out, k, 1.0f, in, k, w, k, 1.0f, z,
          n_out);
}

/* Rows X[idx[i]] into w->x as (x - mu_eff) / std (= standardized, or x/std
 * in folded tiles), and each tile's active rows (any nonzero value). */
static void gather(const cs_regressor_t *r, work_t *w, const float *X,
                   const int64_t *idx, int rows) {
  const float *mu = w->mu_eff, *sd = r->p.in_std;
  int n_in = r->n_in, tile = w->tile;
  for (int t = 0; t < w->n_tiles; t++) w->n_rows[t] = 0;
  for (int i = 0; i < rows; i++) {
    const float *x = X + (idx ? idx[i] : i) * (int64_t)n_in;
    float *xs = w->x + (size_t)i * n_in;
    for (int j = 0; j < n_in; j++) xs[j] = (x[j] - mu[j]) / sd[j];
    for (int t = 0; t < w->n_tiles; t++) {
      int k0 = t * tile, k1 = k0 + tile < n_in ? k0 + tile : n_in, nz = 0;
      for (int j = k0; j < k1; j++) nz |= xs[j] != 0.0f;
      if (nz) w->rows[(size_t)t * w->cap + w->n_rows[t]++] = i;
    }
  }
  /* Classify tiles; gather the inputs of sparse ones, contiguous. */
  size_t off = 0;
  for (int t = 0; t < w->n_tiles; t++) {
    int nr = w->n_rows[t], k0 = t * tile;
    int kw = k0 + tile < n_in ? tile : n_in - k0;
    w->kind[t] = nr == 0 ? TILE_EMPTY
                 : (int64_t)nr * 4 >= (int64_t)rows * 3 ? TILE_DENSE
                                                         : TILE_SPARSE;
    if (w->kind[t] != TILE_SPARSE) continue;
    w->goff[t] = off;
    const int *ri = w->rows + (size_t)t * w->cap;
    for (int q = 0; q < nr; q++)
      memcpy(w->gx + off + (size_t)q * kw, w->x + (size_t)ri[q] * n_in + k0,
             sizeof(float) * kw);
    off += (size_t)nr * kw;
  }
}

/* Columns [k0, k1) of the next run of consecutive dense tiles from *t on
 * (or the whole width when not tiled); returns 0 when none is left. */
static int next_dense_run(const work_t *w, int n_in, int *t, int *k0,
                          int *k1) {
  if (!w->n_tiles) {
    if (*t > 0) return 0;
    *t = 1;
    *k0 = 0;
    *k1 = n_in;
    return 1;
  }
  while (*t < w->n_tiles && w->kind[*t] != TILE_DENSE) (*t)++;
  if (*t >= w->n_tiles) return 0;
  *k0 = *t * w->tile;
  while (*t < w->n_tiles && w->kind[*t] == TILE_DENSE) (*t)++;
  *k1 = *t * w->tile < n_in ? *t * w->tile : n_in;
  return 1;
}

/* First Linear layer, z = x' W0^T + b0 with x' = xs - ms_eff:
 * z = xs W0^T + (b0 - W0 ms_eff), where xs is zero on a row's inactive
 * tiles: dense tiles run as one GEMM per run of columns, sparse tiles on
 * their gathered rows only (scatter-added), empty tiles not at all. */
static void first_forward(const cs_regressor_t *r, work_t *w, int rows,
                          float *z) {
  int n_in = r->n_in, n_out = r->size[1];
  const float *W = r->p.w[0];
  memcpy(w->bias0, r->p.b[0], sizeof(float) * n_out);
  if (w->any_fold)
    cs_gemv(CS_NOTRANS, n_out, n_in, -1.0f, W, n_in, w->ms_eff, 1.0f,
            w->bias0);
  for (int i = 0; i < rows; i++)
    memcpy(z + (size_t)i * n_out, w->bias0, sizeof(float) * n_out);
  int t = 0, k0, k1;
  while (next_dense_run(w, n_in, &t, &k0, &k1))
    cs_gemm(CS_NOTRANS, CS_TRANS, rows, n_out, k1 - k0, 1.0f, w->x + k0, n_in,
            W + k0, n_in, 1.0f, z, n_out);
  float *tmp = w->d_b; /* free until the BatchNorm below */
  for (t = 0; t < w->n_tiles; t++) {
    if (w->kind[t] != TILE_SPARSE) continue;
    int nr = w->n_rows[t], kb = t * w->tile;
    int kw = kb + w->tile < n_in ? w->tile : n_in - kb;
    cs_gemm(CS_NOTRANS, CS_TRANS, nr, n_out, kw, 1.0f, w->gx + w->goff[t], kw,
            W + kb, n_in, 0.0f, tmp, n_out);
    const int *ri = w->rows + (size_t)t * w->cap;
    for (int q = 0; q < nr; q++) {
      float *zr = z + (size_t)ri[q] * n_out;
      const float *tr = tmp + (size_t)q * n_out;
      for (int o = 0; o < n_out; o++) zr[o] += tr[o];
    }
  }
}

/* dW0 = dz^T x' = dz^T xs - (dz^T 1) ms_eff^T, tile by tile like the
 * forward; col_sum = dz^T 1 (the bias gradient). scratch: [rows x n_out]. */
static void first_backward(const cs_regressor_t *r, work_t *w, int rows,
                           const float *dz, const float *col_sum,
                           float *scratch, float *dW) {
  int n_in = r->n_in, n_out = r->size[1];
  int t = 0, k0, k1;
  while (next_dense_run(w, n_in, &t, &k0, &k1))
    cs_gemm(CS_TRANS, CS_NOTRANS, n_out, k1 - k0, rows, 1.0f, dz, n_out,
            w->x + k0, n_in, 0.0f, dW + k0, n_in);
  for (t = 0; t < w->n_tiles; t++) {
    int kb = t * w->tile, kw = kb + w->tile < n_in ? w->tile : n_in - kb;
    if (w->kind[t] == TILE_EMPTY) {
      for (int o = 0; o < n_out; o++)
        memset(dW + (size_t)o * n_in + kb, 0, sizeof(float) * kw);
      continue;
    }
    if (w->kind[t] != TILE_SPARSE) continue;
    int nr = w->n_rows[t];
    const int *ri = w->rows + (size_t)t * w->cap;
    for (int q = 0; q < nr; q++)
      memcpy(scratch + (size_t)q * n_out, dz + (size_t)ri[q] * n_out,
             sizeof(float) * n_out);
    cs_gemm(CS_TRANS, CS_NOTRANS, n_out, kw, nr, 1.0f, scratch, n_out,
            w->gx + w->goff[t], kw, 0.0f, dW + kb, n_in);
  }
  if (w->any_fold)
    cs_gemm(CS_NOTRANS, CS_NOTRANS, n_out, n_in, 1, -1.0f, col_sum, 1,
            w->ms_eff, n_in, 1.0f, dW, n_in);
}

/* --- the synchronous data-parallel minibatch ------------------------------
 * A minibatch of B rows is cut into fixed sub-blocks of SUB_ROWS rows (the
 * last one shorter). Rank r of N computes sub-blocks [lo, hi) of
 * cs_dist_part(n_sub) (docs/mpi.md), spread over its own threads, each
 * calling a single-threaded BLAS on its sub-block alone. What crosses rows
 * (the BatchNorm statistics, the loss, the gradient) is a partial per
 * sub-block, added in sub-block order by cs_dist_sum_blocks: the weights
 * after every step are the same bits for any number of ranks or threads.
 * One process is the case N = 1 of the same code. */

#define SUB_ROWS 64

enum {
  STEP_GATHER, STEP_LINEAR, STEP_VAR, STEP_BN, STEP_OUT, STEP_BN_SUMS,
  STEP_BN_BACK, STEP_LIN_BACK
};

typedef struct {
  cs_regressor_t *r;
  const cs_dist_t *d;
  int n_threads;
  int cap_sub;       /* local sub-blocks at most */
  int widest;
  work_t *w;         /* [cap_sub] */
  float *gpart;      /* [cap_sub x n_floats] gradient of each local sub-block */
  double *part;      /* [cap_sub x 2 widest] partial sums of the step */
  double *tot;       /* [2 widest] their ordered sums */
  double *mean;      /* [widest] batch mean of the current layer */
  float *mean_f;     /* [widest] */
  float *c12;        /* [2 widest] BatchNorm backward's dh and dh.xhat means */
  float *inv[CS__REG_N_BN];     /* batch 1/std of each BatchNorm */
  float *bn_grad[CS__REG_N_BN]; /* [2 size]: beta then gamma gradients */
  float *block;      /* the allocation of the float arrays above */
  int have_work;     /* work_t initialized */
  /* the current batch and step */
  const float *X, *Y;
  const int64_t *idx;
  int rows, n_sub, sub_lo, n_local;
  int step, layer;
} batch_t;

static void batch_free(batch_t *B) {
  for (int s = 0; s < B->have_work; s++) work_free(&B->w[s]);
  free(B->w);
  free(B->gpart);
  free(B->part);
  free(B->block);
  memset(B, 0, sizeof *B);
}

/* Room for minibatches of up to `batch` rows, this rank's share. */
static int batch_init(batch_t *B, cs_regressor_t *r, const cs_dist_t *d,
                      int n_threads, int batch) {
  memset(B, 0, sizeof *B);
  B->r = r;
  B->d = d;
  B->n_threads = n_threads;
  int n_sub = (batch + SUB_ROWS - 1) / SUB_ROWS;
  int64_t lo, hi;
  cs_dist_part(n_sub, 0, d->size, &lo, &hi); /* rank 0 has the most */
  B->cap_sub = (int)(hi - lo) > 0 ? (int)(hi - lo) : 1;
  int widest = r->dim;
  for (int l = 1; l < CS__REG_N_LINEAR; l++)
    if (r->size[l] > widest) widest = r->size[l];
  B->widest = widest;
  B->w = calloc((size_t)B->cap_sub, sizeof *B->w);
  B->gpart = cs_alloc_aligned((size_t)B->cap_sub * r->n_floats * sizeof(float));
  B->part = calloc((size_t)B->cap_sub * 2 * widest + 2 * (size_t)widest +
                       (size_t)widest, sizeof(double));
  size_t nf = 3 * (size_t)widest;
  for (int l = 0; l < CS__REG_N_BN; l++) nf += 3 * (size_t)r->size[l + 1];
  B->block = calloc(nf, sizeof(float));
  if (!B->w || !B->gpart || !B->part || !B->block) return CS_ENOMEM;
  B->tot = B->part + (size_t)B->cap_sub * 2 * widest;
  B->mean = B->tot + 2 * widest;
  float *q = B->block;
  B->mean_f = q;
  q += widest;
  B->c12 = q;
  q += 2 * widest;
  for (int l = 0; l < CS__REG_N_BN; l++) {
    B->inv[l] = q;
    q += r->size[l + 1];
    B->bn_grad[l] = q;
    q += 2 * r->size[l + 1];
  }
  for (int s = 0; s < B->cap_sub; s++) {
    if (work_init(&B->w[s], r, SUB_ROWS)) return CS_ENOMEM;
    B->have_work = s + 1;
  }
  return 0;
}

/* Rows of global sub-block s of the current batch. */
static int sub_len(const batch_t *B, int s) {
  int begin = s * SUB_ROWS;
  return B->rows - begin < SUB_ROWS ? B->rows - begin : SUB_ROWS;
}

/* dz and the other gradient buffer of a work for Linear l, backward: they
 * swap after every layer above the first (as one pass over the batch). */
static float *dz_of(work_t *w, int l) {
  return (CS__REG_N_LINEAR - 1 - l) % 2 == 0 ? w->d_a : w->d_b;
}
static float *dnext_of(work_t *w, int l) {
  return (CS__REG_N_LINEAR - 1 - l) % 2 == 0 ? w->d_b : w->d_a;
}

/* One step on local sub-blocks [s0, s1). */
static int batch_worker(void *arg, int64_t s0, int64_t s1, int tid,
                        cs_err_t *err) {
  (void)tid;
  (void)err;
  batch_t *B = arg;
  cs_regressor_t *r = B->r;
  cs__reg_arrays_t *p = &r->p;
  const int l = B->layer, dim = r->dim;
  for (int64_t s = s0; s < s1; s++) {
    work_t *w = &B->w[s];
    const int gs = B->sub_lo + (int)s, rows = sub_len(B, gs);
    const int64_t *idx = B->idx + (int64_t)gs * SUB_ROWS;
    const int n_out = l < CS__REG_N_LINEAR ? r->size[l + 1] : 0;
    switch (B->step) {
    case STEP_GATHER:
      gather(r, w, B->X, idx, rows);
      break;
    case STEP_LINEAR: { /* z, ReLU, column sums */
      float *a = w->act[l];
      if (l == 0)
        first_forward(r, w, rows, a);
      else
        linear_forward(w->h[l - 1], rows, r->size[l], p->w[l], p->b[l], n_out,
                       a);
      size_t n_el = (size_t)rows * n_out;
      for (size_t e = 0; e < n_el; e++) a[e] = a[e] > 0.0f ? a[e] : 0.0f;
      col_sums(a, rows, n_out, B->part + (size_t)s * n_out);
      break;
    }
    case STEP_VAR: { /* sum of squared deviations from the batch mean */
      double *v = B->part + (size_t)s * n_out;
      const float *a = w->act[l];
      for (int j = 0; j < n_out; j++) v[j] = 0.0;
      for (int i = 0; i < rows; i++) {
        const float *ar = a + (size_t)i * n_out;
        for (int j = 0; j < n_out; j++) {
          double dv = ar[j] - B->mean[j];
          v[j] += dv * dv;
        }
      }
      break;
    }
    case STEP_BN: {
      const float *a = w->act[l], *inv = B->inv[l], *g = p->gamma[l],
                  *be = p->beta[l];
      float *xh = w->xhat[l], *h = w->h[l];
      for (int i = 0; i < rows; i++) {
        size_t o = (size_t)i * n_out;
        for (int j = 0; j < n_out; j++) {
          float v = (a[o + j] - B->mean_f[j]) * inv[j];
          xh[o + j] = v;
          h[o + j] = g[j] * v + be[j];
        }
      }
      break;
    }
    case STEP_OUT: { /* last Linear, L2 normalization, loss and its
                        gradient through the normalization */
      const int last = CS__REG_N_LINEAR - 1;
      linear_forward(w->h[last - 1], rows, r->size[last], p->w[last],
                     p->b[last], dim, w->y);
      double loss = 0.0, scale = 2.0 / ((double)B->rows * dim);
      for (int i = 0; i < rows; i++) {
        const float *y = w->y + (size_t)i * dim;
        float *o = w->out + (size_t)i * dim, *d = w->d_a + (size_t)i * dim;
        const float *t = B->Y + idx[i] * (int64_t)dim;
        double nrm = sqrt(cs_norm2_sq(dim, y));
        if (nrm < CS__REG_NORM_EPS) nrm = CS__REG_NORM_EPS;
        w->norm[i] = (float)nrm;
        for (int j = 0; j < dim; j++) {
          o[j] = (float)(y[j] / nrm);
          double diff = (double)o[j] - t[j];
          loss += diff * diff;
          d[j] = (float)(scale * diff);
        }
        /* dy = (dout - out (out . dout)) / |y| */
        double dot = 0.0;
        for (int j = 0; j < dim; j++) dot += (double)o[j] * d[j];
        if (w->norm[i] <= (float)CS__REG_NORM_EPS) dot = 0.0; /* clamped */
        float inv = 1.0f / w->norm[i];
        for (int j = 0; j < dim; j++) d[j] = (float)((d[j] - o[j] * dot) * inv);
      }
      B->part[s] = loss;
      break;
    }
    case STEP_BN_SUMS: { /* dz holds dL/dh of BatchNorm l */
      const float *dz = dz_of(w, l), *xh = w->xhat[l];
      double *s_dh = B->part + (size_t)s * 2 * n_out, *s_dhx = s_dh + n_out;
      for (int j = 0; j < n_out; j++) s_dh[j] = s_dhx[j] = 0.0;
      for (int i = 0; i < rows; i++) {
        size_t o = (size_t)i * n_out;
        for (int j = 0; j < n_out; j++) {
          s_dh[j] += dz[o + j];
          s_dhx[j] += (double)dz[o + j] * xh[o + j];
        }
      }
      break;
    }
    case STEP_BN_BACK: { /* da = gamma inv (dh - mean dh - xhat mean dh.xhat),
                            through the ReLU */
      float *dz = dz_of(w, l);
      const float *xh = w->xhat[l], *a = w->act[l], *gam = p->gamma[l],
                  *inv = B->inv[l], *c1 = B->c12, *c2 = B->c12 + n_out;
      for (int i = 0; i < rows; i++) {
        size_t o = (size_t)i * n_out;
        for (int j = 0; j < n_out; j++) {
          float da = gam[j] * inv[j] * (dz[o + j] - c1[j] - xh[o + j] * c2[j]);
          dz[o + j] = a[o + j] > 0.0f ? da : 0.0f;
        }
      }
      break;
    }
    case STEP_LIN_BACK: { /* dz = dL/dz of Linear l: its gradient, and dL/dh
                             of the layer below */
      cs__reg_arrays_t g;
      cs__regressor_layout(r, B->gpart + (size_t)s * r->n_floats, &g, NULL);
      float *dz = dz_of(w, l), *dnext = dnext_of(w, l);
      double *sb = w->acc0;
      col_sums(dz, rows, n_out, sb);
      for (int j = 0; j < n_out; j++) g.b[l][j] = (float)sb[j];
      if (l == 0) {
        first_backward(r, w, rows, dz, g.b[0], dnext, g.w[0]);
        break;
      }
      const int k = r->size[l];
      cs_gemm(CS_TRANS, CS_NOTRANS, n_out, k, rows, 1.0f, dz, n_out,
              w->h[l - 1], k, 0.0f, g.w[l], k);
      cs_gemm(CS_NOTRANS, CS_NOTRANS, rows, k, n_out, 1.0f, dz, n_out, p->w[l],
              k, 0.0f, dnext, k);
      break;
    }
    }
  }
  return 0;
}

static void batch_run(batch_t *B, int step, int layer) {
  B->step = step;
  B->layer = layer;
  cs_parallel_for(B->n_threads, B->n_local, batch_worker, B, NULL);
}

/* tot[len] = the ordered sum of every sub-block's part[len]. */
static int batch_reduce(batch_t *B, int len) {
  return cs_dist_sum_blocks(B->d, B->part, B->n_sub, len, B->tot);
}

/* One train-mode forward and backward pass over the minibatch of rows
 * X[idx[i]], Y[idx[i]], i < rows (>= 2): the gradient into grad (every
 * rank), the BatchNorm running statistics updated; returns the loss. */
static double batch_step(batch_t *B, const float *X, const float *Y,
                         const int64_t *idx, int rows, float *grad) {
  cs_regressor_t *r = B->r;
  cs__reg_arrays_t *p = &r->p;
  int64_t lo, hi;
  B->X = X;
  B->Y = Y;
  B->idx = idx;
  B->rows = rows;
  B->n_sub = (rows + SUB_ROWS - 1) / SUB_ROWS;
  cs_dist_part(B->n_sub, B->d->rank, B->d->size, &lo, &hi);
  B->sub_lo = (int)lo;
  B->n_local = (int)(hi - lo);
  int rc = 0;
  batch_run(B, STEP_GATHER, 0);
  for (int l = 0; l < CS__REG_N_BN; l++) {
    const int n_out = r->size[l + 1];
    batch_run(B, STEP_LINEAR, l);
    rc |= batch_reduce(B, n_out);
    for (int j = 0; j < n_out; j++) B->mean[j] = B->tot[j] / rows;
    batch_run(B, STEP_VAR, l);
    rc |= batch_reduce(B, n_out);
    for (int j = 0; j < n_out; j++) {
      double var = B->tot[j], v = var / rows;
      B->inv[l][j] = (float)(1.0 / sqrt(v + CS__REG_BN_EPS));
      B->mean_f[j] = (float)B->mean[j];
      /* running statistics: unbiased variance, momentum 0.1 */
      double unbiased = rows > 1 ? var / (rows - 1) : v;
      p->run_mean[l][j] = (float)((1.0 - CS__REG_BN_MOMENTUM) *
                                      p->run_mean[l][j] +
                                  CS__REG_BN_MOMENTUM * B->mean[j]);
      p->run_var[l][j] = (float)((1.0 - CS__REG_BN_MOMENTUM) *
                                     p->run_var[l][j] +
                                 CS__REG_BN_MOMENTUM * unbiased);
    }
    batch_run(B, STEP_BN, l);
  }
  batch_run(B, STEP_OUT, 0);
  rc |= batch_reduce(B, 1);
  double loss = B->tot[0] / ((double)rows * r->dim);
  for (int l = CS__REG_N_LINEAR - 1; l >= 0; l--) {
    if (l < CS__REG_N_BN) {
      const int n_out = r->size[l + 1];
      batch_run(B, STEP_BN_SUMS, l);
      rc |= batch_reduce(B, 2 * n_out);
      for (int j = 0; j < n_out; j++) {
        B->bn_grad[l][j] = (float)B->tot[j];                 /* beta */
        B->bn_grad[l][n_out + j] = (float)B->tot[n_out + j]; /* gamma */
        B->c12[j] = (float)(B->tot[j] / rows);
        B->c12[n_out + j] = (float)(B->tot[n_out + j] / rows);
      }
      batch_run(B, STEP_BN_BACK, l);
    }
    batch_run(B, STEP_LIN_BACK, l);
  }
  rc |= cs_dist_sum_blocks_f(B->d, B->gpart, B->n_sub, (int64_t)r->n_floats,
                             grad);
  cs__reg_arrays_t g;
  cs__regressor_layout(r, grad, &g, NULL);
  for (int l = 0; l < CS__REG_N_BN; l++) {
    const int n_out = r->size[l + 1];
    memcpy(g.beta[l], B->bn_grad[l], sizeof(float) * n_out);
    memcpy(g.gamma[l], B->bn_grad[l] + n_out, sizeof(float) * n_out);
  }
  return rc ? NAN : loss;
}

double cs__regressor_batch_grad(cs_regressor_t *r, const float *X,
                                const float *Y, const int64_t *idx,
                                int n_batch, float *grad) {
  int64_t *own = NULL;
  if (!idx) {
    own = malloc((size_t)n_batch * sizeof *own);
    if (!own) return NAN;
    for (int i = 0; i < n_batch; i++) own[i] = i;
    idx = own;
  }
  batch_t B;
  double loss = NAN;
  int saved = cs_blas_set_threads(1);
  if (batch_init(&B, r, &cs_dist_one, 1, n_batch) == 0)
    loss = batch_step(&B, X, Y, idx, n_batch, grad);
  cs_blas_set_threads(saved);
  batch_free(&B);
  free(own);
  return loss;
}

/* --- Adam ------------------------------------------------------------------ */

typedef struct {
  float *param, *m, *v;
  const float *grad;
  float step, bc2_sqrt, beta1, beta2, eps;
} adam_job_t;

static int adam_range(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  (void)tid;
  const adam_job_t *j = arg;
  float *restrict param = j->param, *restrict m = j->m, *restrict v = j->v;
  const float *restrict grad = j->grad;
  const float b1 = j->beta1, b2 = j->beta2, c1 = 1.0f - b1, c2 = 1.0f - b2;
  const float step = j->step, inv_bc2 = 1.0f / j->bc2_sqrt, eps = j->eps;
  int64_t i = begin;
#ifdef __AVX__
  /* The scalar tail's operations, 8 at a time (the compiler does not
   * vectorize sqrtf by itself without -fno-math-errno). */
  const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
  const __m256 vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
  const __m256 vstep = _mm256_set1_ps(step), vinv = _mm256_set1_ps(inv_bc2);
  const __m256 veps = _mm256_set1_ps(eps);
  for (; i + 8 <= end; i += 8) {
    __m256 gr = _mm256_loadu_ps(grad + i);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)),
                              _mm256_mul_ps(vc1, gr));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)),
                              _mm256_mul_ps(_mm256_mul_ps(vc2, gr), gr));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), vinv), veps);
    __m256 upd = _mm256_div_ps(_mm256_mul_ps(vstep, mi), den);
    _mm256_storeu_ps(param + i, _mm256_sub_ps(_mm256_loadu_ps(param + i), upd));
  }
#endif
  for (; i < end; i++) {
    float gr = grad[i];
    float mi = b1 * m[i] + c1 * gr;
    float vi = b2 * v[i] + c2 * gr * gr;
    m[i] = mi;
    v[i] = vi;
    param[i] -= step * mi / (sqrtf(vi) * inv_bc2 + eps);
  }
  return 0;
}

void cs__adam_step(int n_threads, float *param, const float *grad, float *m,
                   float *v, size_t n, int64_t t, float lr, float beta1,
                   float beta2, float eps) {
  double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
  adam_job_t job = {param, m, v, grad, (float)(lr / bc1), (float)sqrt(bc2),
                    beta1, beta2, eps};
  /* Elementwise, so the result is the same for any split. */
  cs_parallel_for(n_threads, (int64_t)n, adam_range, &job, NULL);
}

/* --- the epoch loop ------------------------------------------------------ */

static int check_inputs(const cs_regressor_t *r, const float *X,
                        const float *Y, int64_t n, const float *X_val,
                        const float *Y_val, int64_t n_val,
                        const cs_regressor_params_t *p, cs_err_t *err) {
  if (!X || !Y || n < 2)
    return cs_err_set(err, CS_EINVAL,
                      "regressor: need at least 2 training rows (got %lld)",
                      (long long)n);
  if (n_val < 0 || (n_val > 0 && (!X_val || !Y_val)))
    return cs_err_set(err, CS_EINVAL, "regressor: bad validation set");
  if (p->epochs < 1 || p->batch < 2 || !(p->lr > 0.0f) || !isfinite(p->lr) ||
      p->patience < 0 || !isfinite(p->lr_final))
    return cs_err_set(err, CS_EINVAL,
                      "regressor: bad schedule epochs=%d lr=%g batch=%d "
                      "patience=%d lr_final=%g",
                      p->epochs, (double)p->lr, p->batch, p->patience,
                      (double)p->lr_final);
  (void)r;
  return 0;
}

/* Make the arrays writable: after load they point into a read-only map,
 * copied here into the regressor's own memory (the map is then let go). */
static int ensure_writable(cs_regressor_t *r) {
  if (r->weights) return 0;
  cs__reg_arrays_t old = r->p;
  if (cs__regressor_alloc(r)) {
    r->p = old;
    return CS_ENOMEM;
  }
  const cs__reg_arrays_t *fresh = &r->p;
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    memcpy(fresh->w[l], old.w[l],
           sizeof(float) * r->size[l + 1] * (size_t)r->size[l]);
    memcpy(fresh->b[l], old.b[l], sizeof(float) * r->size[l + 1]);
  }
  for (int l = 0; l < CS__REG_N_BN; l++) {
    size_t bytes = sizeof(float) * r->size[l + 1];
    memcpy(fresh->gamma[l], old.gamma[l], bytes);
    memcpy(fresh->beta[l], old.beta[l], bytes);
    memcpy(fresh->run_mean[l], old.run_mean[l], bytes);
    memcpy(fresh->run_var[l], old.run_var[l], bytes);
  }
  memcpy(fresh->in_mean, old.in_mean, sizeof(float) * r->n_in);
  memcpy(fresh->in_std, old.in_std, sizeof(float) * r->n_in);
  cs_container_unref(r->file);
  r->file = NULL;
  return 0;
}

static float lr_at(const cs_regressor_params_t *p, int64_t step,
                   int64_t total_steps) {
  if (!(p->lr_final > 0.0f) || total_steps <= 1) return p->lr;
  double frac = (double)step / (double)(total_steps - 1);
  if (frac > 1.0) frac = 1.0;
  return (float)(p->lr_final +
                 0.5 * (p->lr - p->lr_final) * (1.0 + cos(M_PI * frac)));
}

static int regressor_train_run(const cs_ctx_t *ctx, cs_regressor_t *r,
                               const float *X, const float *Y,
                               const int64_t *rows, int64_t n,
                               const float *X_val, const float *Y_val,
                               const int64_t *rows_val, int64_t n_val,
                               const cs_regressor_params_t *p,
                               cs_regressor_report_t *report, cs_err_t *err) {
  double t0 = cs_now();
  const cs_dist_t *d = cs_dist_of(ctx);
  int rc = check_inputs(r, X, Y, n, X_val, Y_val, n_val, p, err);
  if (rc) return rc;
  if (ensure_writable(r)) return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  cs__regressor_drop_serving(r); /* weights change: rebuilt at the end */
  int n_threads = cs_ctx_threads(ctx);
  if ((rc = fit_standardizer(r, d, n_threads, X, rows, n, err))) return rc;

  int batch = p->batch < n ? p->batch : (int)n;
  batch_t B;
  size_t n_tr = r->n_trainable;
  float *grad = cs_alloc_aligned(r->n_floats * sizeof(float));
  float *adam_m = cs_alloc_aligned(n_tr * sizeof(float));
  float *adam_v = cs_alloc_aligned(n_tr * sizeof(float));
  float *best = n_val > 0 ? cs_alloc_aligned(r->n_floats * sizeof(float)) : NULL;
  int64_t *order = malloc((size_t)n * sizeof(int64_t));
  int have_batch = batch_init(&B, r, d, n_threads, batch) == 0;
  if (!grad || !adam_m || !adam_v || (n_val > 0 && !best) || !order ||
      !have_batch)
    rc = cs_err_set(err, CS_ENOMEM, "regressor: out of memory for training");
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  /* a row's position in `order` picks the same row as the copy-based
   * X'[i] = X[rows[i]] would: the same shuffles, the same batches */
  for (int64_t i = 0; i < n; i++) order[i] = rows ? rows[i] : i;
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, p->seed, 0x5eed5u);

  int64_t n_batches = (n + batch - 1) / batch;
  int64_t total_steps = n_batches * p->epochs, step = 0;
  double best_val = INFINITY, train_mse = NAN, val_mse = NAN;
  double sec_pass = 0.0, sec_adam = 0.0;
  int64_t n_steps = 0;
  int best_epoch = 0, epoch = 0, since_best = 0;
  for (epoch = 1; epoch <= p->epochs; epoch++) {
    cs_rng_shuffle_i64(&rng, order, n);
    char label[64];
    snprintf(label, sizeof(label), "regressor epoch %d/%d", epoch, p->epochs);
    cs_progress_t prog;
    cs_progress_start(&prog, ctx, label, n_batches);
    double loss_sum = 0.0;
    int64_t rows_seen = 0;
    for (int64_t b = 0; b < n_batches; b++) {
      int64_t start = b * batch;
      int b_rows = (int)(n - start < batch ? n - start : batch);
      float lr = lr_at(p, step, total_steps);
      step++;
      if (b_rows < 2) continue; /* BatchNorm needs two rows */
      double t_pass = cs_now();
      double loss = batch_step(&B, X, Y, order + start, b_rows, grad);
      double t_adam = cs_now();
      cs__adam_step(n_threads, r->weights, grad, adam_m, adam_v, n_tr, step, lr,
                    0.9f, 0.999f, 1e-8f);
      sec_pass += t_adam - t_pass;
      sec_adam += cs_now() - t_adam;
      n_steps++;
      loss_sum += loss * b_rows;
      rows_seen += b_rows;
      cs_progress_update(&prog, b + 1);
    }
    /* One log line per epoch (below) instead of cs_progress_finish's. */
    if (prog.active) {
      fputs("\r\033[K", ctx->log_stream);
      fflush(ctx->log_stream);
    }
    train_mse = rows_seen ? loss_sum / rows_seen : NAN;
    if (report && report->history && epoch <= report->cap_history) {
      report->history[2 * (epoch - 1)] = train_mse;
      report->history[2 * (epoch - 1) + 1] = NAN; /* until measured below */
    }
    if (!isfinite(train_mse)) {
      rc = cs_err_set(err, CS_ERANGE,
                      "regressor: training diverged at epoch %d (loss %g); "
                      "lower the learning rate",
                      epoch, train_mse);
      goto done;
    }
    if (n_val > 0) {
      val_mse = validation_mse(r, d, n_threads, X_val, Y_val, rows_val, n_val);
      if (report && report->history && epoch <= report->cap_history)
        report->history[2 * (epoch - 1) + 1] = val_mse;
      int improved = val_mse < best_val;
      if (improved) {
        best_val = val_mse;
        best_epoch = epoch;
        since_best = 0;
        memcpy(best, r->weights, r->n_floats * sizeof(float));
      } else {
        since_best++;
      }
      cs_log(ctx, CS_LOG_INFO,
             "regressor epoch %d/%d: train MSE %.6f, validation MSE %.6f%s "
             "(lr %.2e, %.2fs)",
             epoch, p->epochs, train_mse, val_mse, improved ? " (best)" : "",
             (double)lr_at(p, step - 1, total_steps), cs_now() - t0);
      if (p->patience > 0 && since_best >= p->patience) break;
    } else {
      cs_log(ctx, CS_LOG_INFO,
             "regressor epoch %d/%d: train MSE %.6f (%.2fs)", epoch,
             p->epochs, train_mse, cs_now() - t0);
    }
  }
  if (epoch > p->epochs) epoch = p->epochs;
  /* early stopping keeps the best epoch's weights; without it (patience
   * 0, the reference schedule) the last epoch's stay, as in the paper */
  int restore = p->patience > 0 && n_val > 0 && best_epoch > 0;
  if (restore && best_epoch != epoch) {
    memcpy(r->weights, best, r->n_floats * sizeof(float));
    cs_log(ctx, CS_LOG_INFO,
           "regressor: restored the best weights (epoch %d, validation MSE "
           "%.6f)", best_epoch, best_val);
  }
  /* the minibatch passes are split over the ranks, Adam runs on each */
  cs_log(ctx, CS_LOG_INFO, "regressor: %lld steps: minibatch passes %.2fs "
         "(%d sub-blocks of %d rows a step, split over %d ranks), Adam "
         "%.2fs (on every rank)", (long long)n_steps, sec_pass,
         (batch + SUB_ROWS - 1) / SUB_ROWS, SUB_ROWS, d->size, sec_adam);
  if ((rc = cs__regressor_build_serving(r, err)) != CS_OK) goto done;
  if (report) {
    report->epochs_run = epoch;
    report->best_epoch = restore ? best_epoch : epoch;
    report->train_mse = train_mse;
    report->val_mse = n_val > 0 ? (restore ? best_val : val_mse) : NAN;
    report->seconds = cs_now() - t0;
  }
done:
  if (have_batch) batch_free(&B);
  free(grad);
  free(adam_m);
  free(adam_v);
  free(best);
  free(order);
  return rc;
}

/* BLAS threads: one, for the whole call; our threads run the sub-blocks
 * (each BLAS call's result then depends only on its own inputs). */
int cs_regressor_train(const cs_ctx_t *ctx, cs_regressor_t *r, const float *X,
                       const float *Y, int64_t n, const float *X_val,
                       const float *Y_val, int64_t n_val,
                       const cs_regressor_params_t *p,
                       cs_regressor_report_t *report, cs_err_t *err) {
  return cs__regressor_train_rows(ctx, r, X, Y, NULL, n, X_val, Y_val, NULL,
                                  n_val, p, report, err);
}

int cs__regressor_train_rows(const cs_ctx_t *ctx, cs_regressor_t *r,
                             const float *X, const float *Y,
                             const int64_t *rows, int64_t n,
                             const float *X_val, const float *Y_val,
                             const int64_t *rows_val, int64_t n_val,
                             const cs_regressor_params_t *p,
                             cs_regressor_report_t *report, cs_err_t *err) {
  int saved = cs_blas_set_threads(1);
  int rc = regressor_train_run(ctx, r, X, Y, rows, n, X_val, Y_val, rows_val,
                               n_val, p, report, err);
  cs_blas_set_threads(saved);
  return rc;
}

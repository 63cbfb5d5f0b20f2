/* als.c: UT-ALS, implicit-feedback matrix factorization (Hu, Koren, Volinsky
 * 2008) solved by alternating least squares with a warm-started conjugate
 * gradient per row (the Y^T Y + sparse correction trick), rows in lockstep
 * blocks so the dense Y^T Y products run as a register-blocked kernel. */
#include "coldstart/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "embed/embed_internal.h"

#define STRIPE 64 /* rows per parallel work unit */
#define RB 8      /* rows solved in lockstep (a multiple of 4) */
#define MAX_DIM 4096

void cs_als_params_default(cs_als_params_t *p) {
  p->dim = 128;
  p->iters = 15;
  p->alpha = 10.f;
  p->lambda = 0.1f;
  p->cg_steps = 3;
  p->seed = 42;
}

typedef float v8f __attribute__((vector_size(32)));

/* Unaligned 8-float load/store as macros: passing vectors by value changes
 * the ABI without -mavx (and -Werror=psabi says so). */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8f))
#define STORE8(p, v) memcpy((p), &(v), sizeof(v8f))

/* Dot product with 8 float lanes summed in a fixed order (deterministic,
 * vectorized without -ffast-math). */
static inline float vdot(const float *restrict a, const float *restrict b,
                         int n) {
  /* Four independent accumulators hide the add latency; the summation
   * order is fixed, so results are reproducible. */
  v8f acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    v8f a0, a1, a2, a3, b0, b1, b2, b3;
    LOAD8(a0, a + i);
    LOAD8(a1, a + i + 8);
    LOAD8(a2, a + i + 16);
    LOAD8(a3, a + i + 24);
    LOAD8(b0, b + i);
    LOAD8(b1, b + i + 8);
    LOAD8(b2, b + i + 16);
    LOAD8(b3, b + i + 24);
    acc0 += a0 * b0;
    acc1 += a1 * b1;
    acc2 += a2 * b2;
    acc3 += a3 * b3;
  }
  for (; i + 8 <= n; i += 8) {
    v8f va, vb;
    LOAD8(va, a + i);
    LOAD8(vb, b + i);
    acc0 += va * vb;
  }
  v8f acc = (acc0 + acc1) + (acc2 + acc3);
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
            ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Prefetch a factor row (random rows are the cost of the sparse part). */
static inline void prefetch_row(const float *row, int d) {
  for (int c = 0; c < d; c += 16) __builtin_prefetch(row + c, 0, 3);
}

#define PREFETCH_AHEAD 4
#define LONG_ROW_FLOATS (64 * 1024) /* 256 KB of factor rows */

static inline void vaxpy(float a, const float *restrict x, float *restrict y,
                         int n) {
  for (int i = 0; i < n; i++) y[i] += a * x[i];
}

typedef float v16f __attribute__((vector_size(64)));
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v16f))
#define STORE16(p, v) memcpy((p), &(v), sizeof(v16f))

/* out[RB x dim] = in[RB x dim] * g[dim x dim]: 4 rows by 32 columns held in
 * registers across the k loop (16-float vectors: one AVX-512 register, two
 * AVX2 ones). Every output is sum_k in[b][k] * g[k][j] accumulated in k
 * order, whatever path computes it. */
static void block_gmul(const float *restrict in, const float *restrict g,
                       int dim, float *restrict out) {
  for (int b = 0; b < RB; b += 4) {
    const float *i0 = in + (int64_t)b * dim, *i1 = i0 + dim, *i2 = i1 + dim,
                *i3 = i2 + dim;
    float *o0 = out + (int64_t)b * dim, *o1 = o0 + dim, *o2 = o1 + dim,
          *o3 = o2 + dim;
    int j = 0;
    for (; j + 32 <= dim; j += 32) {
      v16f a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0},
           a30 = {0}, a31 = {0};
      for (int k = 0; k < dim; k++) {
        const float *gk = g + (int64_t)k * dim + j;
        v16f g0, g1;
        LOAD16(g0, gk);
        LOAD16(g1, gk + 16);
        float x0 = i0[k], x1 = i1[k], x2 = i2[k], x3 = i3[k];
        a00 += x0 * g0;
        a01 += x0 * g1;
        a10 += x1 * g0;
        a11 += x1 * g1;
        a20 += x2 * g0;
        a21 += x2 * g1;
        a30 += x3 * g0;
        a31 += x3 * g1;
      }
      STORE16(o0 + j, a00);
      STORE16(o0 + j + 16, a01);
      STORE16(o1 + j, a10);
      STORE16(o1 + j + 16, a11);
      STORE16(o2 + j, a20);
      STORE16(o2 + j + 16, a21);
      STORE16(o3 + j, a30);
      STORE16(o3 + j + 16, a31);
    }
    for (; j + 16 <= dim; j += 16) {
      v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
      for (int k = 0; k < dim; k++) {
        v16f g0;
        LOAD16(g0, g + (int64_t)k * dim + j);
        a0 += i0[k] * g0;
        a1 += i1[k] * g0;
        a2 += i2[k] * g0;
        a3 += i3[k] * g0;
      }
      STORE16(o0 + j, a0);
      STORE16(o1 + j, a1);
      STORE16(o2 + j, a2);
      STORE16(o3 + j, a3);
    }
    for (; j < dim; j++) {
      float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
      for (int k = 0; k < dim; k++) {
        float gk = g[(int64_t)k * dim + j];
        s0 += i0[k] * gk;
        s1 += i1[k] * gk;
        s2 += i2[k] * gk;
        s3 += i3[k] * gk;
      }
      o0[j] = s0;
      o1[j] = s1;
      o2[j] = s2;
      o3[j] = s3;
    }
  }
}

/* f^T f in fixed blocks of GRAM_BLOCK rows, each one gemm (single-threaded
 * BLAS: a block's bits do not depend on the thread count), added in block
 * order in float: the same bits for any thread count and, over the ranks
 * of an MPI run (each computing its share of the blocks of the same f), for
 * any number of ranks. */
#define GRAM_BLOCK 4096

typedef struct {
  const float *f;
  int64_t n, b0;
  int dim;
  float *out; /* [blocks x dim x dim] */
} gram_job_t;

static int gram_blocks(void *arg, int64_t lo, int64_t hi, int tid,
                       cs_err_t *err) {
  (void)tid;
  (void)err;
  const gram_job_t *j = arg;
  const int d = j->dim;
  for (int64_t b = lo; b < hi; b++) {
    int64_t r0 = (j->b0 + b) * GRAM_BLOCK;
    int64_t rows = j->n - r0 < GRAM_BLOCK ? j->n - r0 : GRAM_BLOCK;
    cs_gemm(CS_TRANS, CS_NOTRANS, d, d, rows, 1.f, j->f + r0 * d, d,
            j->f + r0 * d, d, 0.f, j->out + b * (int64_t)d * d, d);
  }
  return 0;
}

static int gram_dist(const cs_ctx_t *ctx, const cs_dist_t *d, const float *f,
                     int64_t n_rows, int dim, float *gram) {
  const size_t dd = (size_t)dim * (size_t)dim;
  const int64_t n_blocks = (n_rows + GRAM_BLOCK - 1) / GRAM_BLOCK;
  const int n_threads = cs__n_threads(ctx);
  int saved = cs_blas_set_threads(1);
  int rc = 0;
  if (d->size > 1) { /* my blocks, then the ordered sum over all ranks */
    int64_t lo, hi;
    cs_dist_part(n_blocks, d->rank, d->size, &lo, &hi);
    float *buf = malloc(((size_t)(hi - lo) + 1) * dd * sizeof(float));
    rc = buf ? 0 : CS_ENOMEM;
    rc = cs_dist_agree(d, rc, NULL);
    if (!rc) {
      gram_job_t j = {f, n_rows, lo, dim, buf};
      cs_parallel_for(n_threads, hi - lo, gram_blocks, &j, NULL);
      rc = cs_dist_sum_blocks_f(d, buf, n_blocks, (int64_t)dd, gram);
    }
    free(buf);
  } else { /* a group of blocks at a time, added in order */
    memset(gram, 0, dd * sizeof(float));
    int group = n_threads;
    float *buf = malloc((size_t)group * dd * sizeof(float));
    if (!buf) {
      group = 1;
      buf = malloc(dd * sizeof(float));
    }
    rc = buf ? 0 : CS_ENOMEM;
    for (int64_t b = 0; b < n_blocks && !rc; b += group) {
      int64_t nb = n_blocks - b < group ? n_blocks - b : group;
      gram_job_t j = {f, n_rows, b, dim, buf};
      cs_parallel_for(n_threads, nb, gram_blocks, &j, NULL);
      for (int64_t q = 0; q < nb; q++)
        for (size_t e = 0; e < dd; e++) gram[e] += buf[q * dd + e];
    }
    free(buf);
  }
  cs_blas_set_threads(saved);
  return rc;
}

void cs_als_gram(const float *f, int64_t n_rows, int dim, float *gram) {
  if (gram_dist(NULL, &cs_dist_one, f, n_rows, dim, gram))
    memset(gram, 0xff, (size_t)dim * (size_t)dim * sizeof(float)); /* NaN */
}

/* ------------------------------------------------------------ row solver */

typedef struct {
  const cs_csr_t *m;
  const float *y;
  const float *g; /* gram + lambda I */
  int dim, cg_steps;
  float alpha;
  float *x;
  float *scratch[256]; /* per thread: 5 blocks of RB x dim */
} solve_job_t;

static int solve_rows(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  const solve_job_t *j = arg;
  const int d = j->dim;
  const float alpha = j->alpha;
  const float *y = j->y;
  float *xb = j->scratch[tid], *rb = xb + RB * d, *pb = rb + RB * d,
        *apb = pb + RB * d, *tb = apb + RB * d;
  for (int64_t r0 = begin; r0 < end; r0 += RB) {
    int64_t n_blk = end - r0 < RB ? end - r0 : RB;
    int active[RB];
    double rs[RB];
    memset(xb, 0, (size_t)RB * d * sizeof(float));
    for (int b = 0; b < n_blk; b++) {
      int64_t row = r0 + b;
      active[b] = j->m->indptr[row + 1] > j->m->indptr[row];
      if (active[b])
        memcpy(xb + b * d, j->x + row * d, (size_t)d * sizeof(float));
      else
        memset(j->x + row * d, 0, (size_t)d * sizeof(float));
    }
    for (int b = (int)n_blk; b < RB; b++) active[b] = 0;
    /* r = b - A x = -G x + sum_i (c_i - (c_i - 1) y_i.x) y_i */
    block_gmul(xb, j->g, d, tb);
    for (int b = 0; b < RB; b++) {
      float *r = rb + b * d, *p = pb + b * d;
      if (!active[b]) {
        memset(r, 0, (size_t)d * sizeof(float));
        memset(p, 0, (size_t)d * sizeof(float));
        continue;
      }
      for (int c = 0; c < d; c++) r[c] = -tb[b * d + c];
      const int64_t row = r0 + b;
      const int64_t k_end = j->m->indptr[row + 1];
      for (int64_t k = j->m->indptr[row];
           k < k_end && k < j->m->indptr[row] + PREFETCH_AHEAD; k++)
        prefetch_row(y + (int64_t)j->m->indices[k] * d, d);
      for (int64_t k = j->m->indptr[row]; k < k_end; k++) {
        if (k + PREFETCH_AHEAD < k_end)
          prefetch_row(y + (int64_t)j->m->indices[k + PREFETCH_AHEAD] * d, d);
        const float *yi = y + (int64_t)j->m->indices[k] * d;
        float conf = 1.f + alpha * j->m->values[k];
        float s = vdot(yi, xb + b * d, d);
        vaxpy(conf - (conf - 1.f) * s, yi, r, d);
      }
      memcpy(p, r, (size_t)d * sizeof(float));
      rs[b] = vdot(r, r, d);
      if (rs[b] < 1e-20) active[b] = 0;
    }
    for (int it = 0; it < j->cg_steps; it++) {
      int any = 0;
      for (int b = 0; b < RB; b++) any |= active[b];
      if (!any) break;
      block_gmul(pb, j->g, d, apb);
      for (int b = 0; b < RB; b++) {
        if (!active[b]) continue;
        float *x = xb + b * d, *r = rb + b * d, *p = pb + b * d,
              *ap = apb + b * d;
        const int64_t row = r0 + b;
        const int64_t k_beg = j->m->indptr[row], k_end = j->m->indptr[row + 1];
        /* Long rows (popular songs) do not stay in cache between steps. */
        const int long_row = (k_end - k_beg) * d > LONG_ROW_FLOATS;
        for (int64_t k = k_beg; k < k_end; k++) {
          if (long_row && k + PREFETCH_AHEAD < k_end)
            prefetch_row(y + (int64_t)j->m->indices[k + PREFETCH_AHEAD] * d, d);
          const float *yi = y + (int64_t)j->m->indices[k] * d;
          float conf = 1.f + alpha * j->m->values[k];
          vaxpy((conf - 1.f) * vdot(yi, p, d), yi, ap, d);
        }
        double pap = vdot(p, ap, d);
        if (!(pap > 0.0)) {
          active[b] = 0;
          continue;
        }
        float step = (float)(rs[b] / pap);
        vaxpy(step, p, x, d);
        vaxpy(-step, ap, r, d);
        double rs_new = vdot(r, r, d);
        if (rs_new < 1e-20) {
          active[b] = 0;
          continue;
        }
        float beta = (float)(rs_new / rs[b]);
        for (int c = 0; c < d; c++) p[c] = r[c] + beta * p[c];
        rs[b] = rs_new;
      }
      /* Rows that stopped keep p = 0 so the next product is harmless. */
      for (int b = 0; b < RB; b++)
        if (!active[b]) memset(pb + b * d, 0, (size_t)d * sizeof(float));
    }
    for (int b = 0; b < n_blk; b++) {
      int64_t row = r0 + b;
      if (j->m->indptr[row + 1] > j->m->indptr[row])
        memcpy(j->x + row * d, xb + b * d, (size_t)d * sizeof(float));
    }
  }
  return 0;
}

int cs_als_solve_rows(const cs_ctx_t *ctx, const cs_csr_t *plays,
                      const float *y, const float *gram,
                      const cs_als_params_t *p, float *x, cs_err_t *err) {
  const int d = p->dim;
  const int n_threads = cs__n_threads(ctx);
  solve_job_t job = {plays, y, NULL, d, p->cg_steps, p->alpha, x, {0}};
  float *g = malloc((size_t)d * d * sizeof(float));
  int rc = g ? 0 : CS_ENOMEM;
  for (int t = 0; !rc && t < n_threads; t++) {
    job.scratch[t] = cs_alloc_aligned((size_t)5 * RB * d * sizeof(float));
    if (!job.scratch[t]) rc = CS_ENOMEM;
  }
  if (!rc) {
    memcpy(g, gram, (size_t)d * d * sizeof(float));
    for (int c = 0; c < d; c++) g[c * d + c] += p->lambda;
    job.g = g;
    rc = cs__parallel_striped(ctx, plays->n_rows, STRIPE, solve_rows, &job,
                              err);
  }
  for (int t = 0; t < n_threads; t++) free(job.scratch[t]);
  free(g);
  if (rc)
    return cs_err_set(err, rc, "als: scratch for %d threads at d=%d",
                      n_threads, d);
  return 0;
}

/* ------------------------------------------------------------------ loss */

typedef struct {
  const cs_csr_t *m;
  const float *x, *y;
  int dim;
  float alpha;
  double *partial; /* per stripe */
} loss_job_t;

static int loss_rows(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  (void)tid;
  const loss_job_t *j = arg;
  double acc = 0.0;
  for (int64_t u = begin; u < end; u++) {
    const float *xu = j->x + u * j->dim;
    for (int64_t k = j->m->indptr[u]; k < j->m->indptr[u + 1]; k++) {
      if (k + PREFETCH_AHEAD < j->m->indptr[u + 1])
        prefetch_row(j->y + (int64_t)j->m->indices[k + PREFETCH_AHEAD] * j->dim,
                     j->dim);
      double s = vdot(xu, j->y + (int64_t)j->m->indices[k] * j->dim, j->dim);
      double conf = 1.0 + (double)j->alpha * j->m->values[k];
      acc += conf * (1.0 - s) * (1.0 - s) - s * s;
    }
  }
  j->partial[begin / STRIPE] = acc;
  return 0;
}

/* Loss from the observed entries (of the rows of `plays` held here, x
 * their factors; summed over the ranks in rank order: the printed loss may
 * differ in its last digits with the number of ranks) plus the grams of
 * both factors. */
static double loss_with_grams(const cs_ctx_t *ctx, const cs_dist_t *d,
                              const cs_csr_t *plays, const float *x,
                              const float *y, const float *gx,
                              const float *gy, const cs_als_params_t *p) {
  const int dim = p->dim;
  int64_t n_stripes = (plays->n_rows + STRIPE - 1) / STRIPE;
  double *partial = calloc((size_t)n_stripes + 1, sizeof(double));
  double obs = 0.0, all = 0.0, reg = 0.0;
  if (partial) {
    loss_job_t job = {plays, x, y, dim, p->alpha, partial};
    cs__parallel_striped(ctx, plays->n_rows, STRIPE, loss_rows, &job, NULL);
    for (int64_t s = 0; s < n_stripes; s++) obs += partial[s];
    free(partial);
  } else {
    obs = NAN;
  }
  double mine = obs;
  cs_dist_sum_blocks(d, &mine, d->size, 1, &obs);
  for (int64_t i = 0; i < (int64_t)dim * dim; i++) all += (double)gx[i] * gy[i];
  for (int c = 0; c < dim; c++) reg += (double)gx[c * dim + c] + gy[c * dim + c];
  return all + obs + p->lambda * reg;
}

double cs_als_loss(const cs_ctx_t *ctx, const cs_csr_t *plays,
                   const float *user_f, const float *song_f,
                   const cs_als_params_t *p) {
  const int d = p->dim;
  float *gx = malloc((size_t)d * d * sizeof(float));
  float *gy = malloc((size_t)d * d * sizeof(float));
  double loss = NAN;
  if (gx && gy) {
    cs_als_gram(user_f, plays->n_rows, d, gx);
    cs_als_gram(song_f, plays->n_cols, d, gy);
    loss = loss_with_grams(ctx, &cs_dist_one, plays, user_f, song_f, gx, gy,
                           p);
  }
  free(gx);
  free(gy);
  return loss;
}

/* ------------------------------------------------------------------- fit */

typedef struct {
  float *f;
  int dim;
  uint64_t seed, stream0;
  const int64_t *ids; /* global row of each row (NULL: the row itself) */
} init_job_t;

static int init_rows(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  (void)tid;
  const init_job_t *j = arg;
  for (int64_t r = begin; r < end; r++) {
    cs_rng_t rng;
    uint64_t g = (uint64_t)(j->ids ? j->ids[r] : r);
    cs_rng_seed_stream(&rng, j->seed, j->stream0 + g);
    for (int c = 0; c < j->dim; c++)
      j->f[r * j->dim + c] = (float)(0.01 * cs_rng_normal(&rng));
  }
  return 0;
}

static int check_params(const cs_als_params_t *p, cs_err_t *err) {
  if (p->dim < 1 || p->dim > MAX_DIM)
    return cs_err_set(err, CS_EINVAL, "als: dim %d outside 1..%d", p->dim,
                      MAX_DIM);
  if (p->iters < 0 || p->cg_steps < 1)
    return cs_err_set(err, CS_EINVAL, "als: iters %d, cg_steps %d", p->iters,
                      p->cg_steps);
  if (!(p->alpha >= 0.f) || !(p->lambda >= 0.f) || !isfinite(p->alpha) ||
      !isfinite(p->lambda))
    return cs_err_set(err, CS_EINVAL, "als: alpha %g, lambda %g",
                      (double)p->alpha, (double)p->lambda);
  return 0;
}

/* The songs x users play matrix of this rank's songs [s_lo, s_lo + n_mine)
 * (cs_dist_part of the songs), from every rank's user rows: each entry goes
 * to its song's rank; columns ascend within a row, as a transpose gives. */
typedef struct {
  int32_t song, user;
  float value;
} play_t;

static int songs_of_ranks(const cs_dist_t *d, const cs_csr_t *plays,
                          const int64_t *ids, int64_t n_users, int64_t s_lo,
                          int64_t n_mine, cs_csr_t *out, cs_err_t *err) {
  const int P = d->size;
  const int64_t nnz = cs_csr_nnz(plays), n_songs = plays->n_cols;
  int64_t *cnt = calloc(3 * (size_t)P, sizeof *cnt);
  play_t *send = malloc((size_t)(nnz + 1) * sizeof *send);
  if (!cnt || !send) {
    free(cnt);
    free(send);
    return cs_err_set(err, CS_ENOMEM, "als: %lld plays", (long long)nnz);
  }
  int64_t *at = cnt + P, *rcnt = at + P;
  for (int64_t k = 0; k < nnz; k++)
    cnt[cs_dist_owner(n_songs, P, plays->indices[k])]++;
  for (int q = 1; q < P; q++) at[q] = at[q - 1] + cnt[q - 1];
  for (int64_t r = 0; r < plays->n_rows; r++)
    for (int64_t k = plays->indptr[r]; k < plays->indptr[r + 1]; k++) {
      int q = cs_dist_owner(n_songs, P, plays->indices[k]);
      send[at[q]++] = (play_t){plays->indices[k],
                               (int32_t)(ids ? ids[r] : r), plays->values[k]};
    }
  void *recv = NULL;
  int rc = cs_dist_alltoallv(d, send, cnt, sizeof *send, &recv, rcnt);
  free(send);
  int64_t n_got = 0;
  for (int q = 0; q < P && !rc; q++) n_got += rcnt[q];
  free(cnt);
  if (rc) return cs_err_set(err, rc, "als: exchanging %lld plays",
                            (long long)nnz);
  const play_t *got = recv;
  int64_t *rows = malloc((size_t)(n_got + 1) * sizeof *rows);
  int32_t *cols = malloc((size_t)(n_got + 1) * sizeof *cols);
  float *vals = malloc((size_t)(n_got + 1) * sizeof *vals);
  if (!rows || !cols || !vals) {
    rc = cs_err_set(err, CS_ENOMEM, "als: %lld plays", (long long)n_got);
  } else {
    for (int64_t e = 0; e < n_got; e++) {
      rows[e] = got[e].song - s_lo;
      cols[e] = got[e].user;
      vals[e] = got[e].value;
    }
    rc = cs_csr_from_triplets(out, n_mine, n_users, rows, cols, vals, n_got,
                              err);
  }
  free(recv);
  free(rows);
  free(cols);
  free(vals);
  return rc;
}

static int als_fit_run(const cs_ctx_t *ctx, const cs_dist_t *d,
                       const cs_csr_t *plays, const int64_t *ids,
                       int64_t n_users, const cs_als_params_t *p,
                       float *user_f, float *song_f, cs_als_report_t *rep,
                       cs_err_t *err) {
  double t0 = cs_now();
  int rc = check_params(p, err);
  if (rc) return rc;
  const int dim = p->dim;
  const int64_t n_mine = plays->n_rows, n_songs = plays->n_cols;
  for (int64_t u = 0; u < n_mine && !rc; u++)
    for (int64_t k = plays->indptr[u]; k < plays->indptr[u + 1] && !rc; k++)
      if (!(plays->values[k] >= 0.f) || !isfinite(plays->values[k]))
        rc = cs_err_set(err, CS_EINVAL,
                        "als: play count %g at (user %lld, song %d)",
                        (double)plays->values[k],
                        (long long)(ids ? ids[u] : u), (int)plays->indices[k]);
  if ((rc = cs_dist_agree(d, rc, err))) return rc;
  if (rep) memset(rep, 0, sizeof(*rep));
  /* users: this rank's rows; songs: its cs_dist_part range */
  const int P = d->size;
  int64_t s_lo, s_hi;
  cs_dist_part(n_songs, d->rank, P, &s_lo, &s_hi);
  cs_csr_t plays_t = {0};
  float *gx = malloc((size_t)dim * dim * sizeof(float));
  float *gy = malloc((size_t)dim * dim * sizeof(float));
  int64_t *soff = malloc(((size_t)P + 1) * sizeof *soff);
  int64_t *counts = malloc((size_t)P * sizeof *counts);
  int64_t *dest = NULL;
  /* every user's factors (the song half needs them all); in one process
   * that is user_f itself */
  int shared = P > 1 || ids;
  float *x_all = shared ? cs_alloc_aligned((size_t)(n_users + 1) * dim *
                                           sizeof(float))
                        : user_f;
  if (!gx || !gy || !soff || !counts || !x_all)
    rc = cs_err_set(err, CS_ENOMEM, "als: grams at d=%d", dim);
  if (!rc && P == 1 && !ids) rc = cs_csr_transpose(&plays_t, plays, err);
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  if (P > 1 || ids) {
    rc = songs_of_ranks(d, plays, ids, n_users, s_lo, s_hi - s_lo, &plays_t,
                        err);
    if ((rc = cs_dist_agree(d, rc, err))) goto done;
  }
  cs_dist_offsets(n_songs, 1, P, soff);
  cs_dist_allgather_i64(d, n_mine, counts);
  if (shared) { /* where each rank's rows go in x_all */
    dest = malloc((size_t)(n_users + 1) * sizeof *dest);
    int64_t *doff = malloc(((size_t)P + 1) * sizeof *doff);
    rc = dest && doff ? 0 : cs_err_set(err, CS_ENOMEM, "als: %lld users",
                                       (long long)n_users);
    if ((rc = cs_dist_agree(d, rc, err))) {
      free(doff);
      goto done;
    }
    doff[0] = 0;
    for (int q = 0; q < P; q++) doff[q + 1] = doff[q] + counts[q];
    for (int64_t r = 0; r < n_mine; r++)
      dest[doff[d->rank] + r] = ids ? ids[r] : r;
    cs_dist_allgather_rows(d, dest, sizeof *dest, doff);
    free(doff);
  }
  init_job_t ij = {user_f, dim, p->seed, 0, ids};
  cs__parallel_striped(ctx, n_mine, 1024, init_rows, &ij, NULL);
  ij = (init_job_t){song_f, dim, p->seed, (uint64_t)1 << 40, NULL};
  cs__parallel_striped(ctx, n_songs, 1024, init_rows, &ij, NULL);

  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "als", p->iters);
  /* gram_dist's status is agreed between the ranks: all break together */
  if ((rc = gram_dist(ctx, d, song_f, n_songs, dim, gy)))
    cs_err_set(err, rc, "als: song Gram matrix (d=%d)", dim);
  for (int it = 0; it < p->iters && !rc; it++) {
    double t_it = cs_now();
    rc = cs_als_solve_rows(ctx, plays, song_f, gy, p, user_f, err);
    if ((rc = cs_dist_agree(d, rc, err))) break;
    if (shared)
      cs_dist_gather_scatter(d, user_f, (size_t)dim * sizeof(float), counts,
                             dest, x_all, -1);
    if ((rc = gram_dist(ctx, d, x_all, n_users, dim, gx))) {
      cs_err_set(err, rc, "als: user Gram matrix (d=%d)", dim);
      break;
    }
    rc = cs_als_solve_rows(ctx, &plays_t, x_all, gx, p,
                           song_f + s_lo * dim, err);
    if ((rc = cs_dist_agree(d, rc, err))) break;
    cs_dist_allgather_rows(d, song_f, (size_t)dim * sizeof(float), soff);
    if ((rc = gram_dist(ctx, d, song_f, n_songs, dim, gy))) {
      cs_err_set(err, rc, "als: song Gram matrix (d=%d)", dim);
      break;
    }
    double loss = loss_with_grams(ctx, d, plays, user_f, song_f, gx, gy, p);
    if (rep) {
      if (it < 256) rep->loss[it] = loss;
      rep->iters = it + 1;
    }
    cs_log(ctx, CS_LOG_DEBUG, "als: iteration %d loss %.6g (%.2fs)", it + 1,
           loss, cs_now() - t_it);
    cs_progress_update(&prog, it + 1);
  }
  cs_progress_finish(&prog);
done:
  free(gx);
  free(gy);
  free(soff);
  free(counts);
  free(dest);
  if (shared) free(x_all);
  cs_csr_free(&plays_t);
  if (rep) rep->seconds = cs_now() - t0;
  return rc;
}

/* --------------------------------------------------------------- fold-in */

typedef struct {
  int32_t song;
  float plays;
} fold_entry_t;

static int cmp_fold(const void *a, const void *b) {
  int32_t x = ((const fold_entry_t *)a)->song, y = ((const fold_entry_t *)b)->song;
  return (x > y) - (x < y);
}

/* Solve a x = b in place (b becomes x) for symmetric positive definite a
 * [n x n], of which only the lower triangle is read (and overwritten by the
 * Cholesky factor). Plain C so that it is safe to call from many threads at
 * once without touching BLAS threading. Returns CS_EINVAL when a is not
 * positive definite. */
static int cholesky_solve(double *a, int n, double *b) {
  for (int j = 0; j < n; j++) {
    double diag = a[(int64_t)j * n + j];
    for (int k = 0; k < j; k++) diag -= a[(int64_t)j * n + k] * a[(int64_t)j * n + k];
    if (!(diag > 0.0)) return CS_EINVAL;
    diag = sqrt(diag);
    a[(int64_t)j * n + j] = diag;
    for (int i = j + 1; i < n; i++) {
      double s = a[(int64_t)i * n + j];
      const double *ri = a + (int64_t)i * n, *rj = a + (int64_t)j * n;
      for (int k = 0; k < j; k++) s -= ri[k] * rj[k];
      a[(int64_t)i * n + j] = s / diag;
    }
  }
  for (int i = 0; i < n; i++) { /* L z = b */
    double s = b[i];
    for (int k = 0; k < i; k++) s -= a[(int64_t)i * n + k] * b[k];
    b[i] = s / a[(int64_t)i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) { /* L^T x = z */
    double s = b[i];
    for (int k = i + 1; k < n; k++) s -= a[(int64_t)k * n + i] * b[k];
    b[i] = s / a[(int64_t)i * n + i];
  }
  return 0;
}

int cs_als_fold_in_gram(const float *song_f, int64_t n_songs, int dim,
                        const float *gram, const int32_t *songs,
                        const float *plays, int64_t n,
                        const cs_als_params_t *p, float *out_user) {
  if (dim < 1 || dim > MAX_DIM || n < 0) return CS_EINVAL;
  memset(out_user, 0, (size_t)dim * sizeof(float));
  if (n == 0) return 0;
  for (int64_t k = 0; k < n; k++)
    if (songs[k] < 0 || songs[k] >= n_songs || !(plays[k] >= 0.f) ||
        !isfinite(plays[k]))
      return CS_EINVAL;
  fold_entry_t *e = malloc((size_t)n * sizeof(*e));
  double *a = malloc((size_t)dim * dim * sizeof(double));
  double *rhs = calloc((size_t)dim, sizeof(double));
  if (!e || !a || !rhs) {
    free(e);
    free(a);
    free(rhs);
    return CS_ENOMEM;
  }
  for (int64_t k = 0; k < n; k++) e[k] = (fold_entry_t){songs[k], plays[k]};
  qsort(e, (size_t)n, sizeof(*e), cmp_fold);
  for (int64_t i = 0; i < (int64_t)dim * dim; i++) a[i] = gram[i];
  for (int c = 0; c < dim; c++) a[c * dim + c] += p->lambda;
  for (int64_t k = 0; k < n;) {
    int32_t s = e[k].song;
    double total = 0.0;
    for (; k < n && e[k].song == s; k++) total += e[k].plays;
    double conf = 1.0 + (double)p->alpha * (float)total;
    const float *yi = song_f + (int64_t)s * dim;
    for (int r = 0; r < dim; r++) {
      rhs[r] += conf * yi[r];
      for (int c = 0; c <= r; c++) a[r * dim + c] += (conf - 1.0) * yi[r] * yi[c];
    }
  }
  int rc = cholesky_solve(a, dim, rhs);
  if (!rc)
    for (int c = 0; c < dim; c++) out_user[c] = (float)rhs[c];
  free(e);
  free(a);
  free(rhs);
  return rc;
}

/* One BLAS thread for the whole call (only the grams use BLAS, in fixed
 * blocks on our threads): the same bits for any thread count. */
int cs_als_fit(const cs_ctx_t *ctx, const cs_csr_t *plays,
               const cs_als_params_t *p, float *user_f, float *song_f,
               cs_als_report_t *rep, cs_err_t *err) {
  return cs__als_fit_dist(ctx, &cs_dist_one, plays, NULL, plays->n_rows, p,
                          user_f, song_f, rep, err);
}

int cs__als_fit_dist(const cs_ctx_t *ctx, const cs_dist_t *d,
                     const cs_csr_t *plays, const int64_t *ids,
                     int64_t n_users, const cs_als_params_t *p,
                     float *user_f, float *song_f, cs_als_report_t *rep,
                     cs_err_t *err) {
  int saved = cs_blas_set_threads(1);
  int rc = als_fit_run(ctx, d, plays, ids, n_users, p, user_f, song_f, rep,
                       err);
  cs_blas_set_threads(saved);
  return rc;
}

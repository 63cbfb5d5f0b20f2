/* svd.c: TT-SVD song embeddings: basket co-occurrence, positive PMI, and a
 * randomized truncated SVD (Halko, Martinsson, Tropp 2011) built on a
 * multithreaded sparse x dense product and LAPACK for the small dense parts. */
#include "coldstart/embed.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "embed/embed_internal.h"

void cs_svd_params_default(cs_svd_params_t *p) {
  p->dim = 128;
  p->oversample = 10;
  p->n_power_iter = 2;
  p->seed = 42;
}

/* ------------------------------------------------ sparse x dense product */

typedef struct {
  const cs_csr_t *a;
  const float *x;
  int64_t n;
  float *y;
} mm_job_t;

#define MM_AHEAD 3

static int mm_rows(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  (void)tid;
  const mm_job_t *j = arg;
  const int64_t n = j->n;
  const cs_csr_t *a = j->a;
  for (int64_t r = begin; r < end; r++) {
    float *restrict yr = j->y + r * n;
    memset(yr, 0, (size_t)n * sizeof(float));
    const int64_t k_end = a->indptr[r + 1];
    for (int64_t k = a->indptr[r]; k < k_end; k++) {
      if (k + MM_AHEAD < k_end) {
        /* X rows are visited at random: fetch a few nonzeros ahead. */
        const char *nx =
            (const char *)(j->x + (int64_t)a->indices[k + MM_AHEAD] * n);
        for (int64_t off = 0; off < n * 4; off += 64)
          __builtin_prefetch(nx + off, 0, 3);
      }
      const float v = a->values[k];
      const float *restrict xr = j->x + (int64_t)a->indices[k] * n;
      for (int64_t c = 0; c < n; c++) yr[c] += v * xr[c];
    }
  }
  return 0;
}

void cs_csr_mm(const cs_ctx_t *ctx, const cs_csr_t *a, const float *x,
               int64_t n, float *y) {
  mm_job_t j = {a, x, n, y};
  cs__parallel_striped(ctx, a->n_rows, 64, mm_rows, &j, NULL);
}

void cs_csr_mm_ref(const cs_csr_t *a, const float *x, int64_t n, float *y) {
  for (int64_t r = 0; r < a->n_rows; r++) {
    for (int64_t c = 0; c < n; c++) {
      double acc = 0.0;
      for (int64_t k = a->indptr[r]; k < a->indptr[r + 1]; k++)
        acc += (double)a->values[k] * x[(int64_t)a->indices[k] * n + c];
      y[r * n + c] = (float)acc;
    }
  }
}

/* ------------------------------------------------------------ PPMI build */

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Binary basket matrix with at most max_basket songs per basket. */
static int capped_baskets(const cs_csr_t *in, int max_basket, uint64_t seed,
                          cs_csr_t *out) {
  int64_t n_rows = in->n_rows, nnz = 0;
  for (int64_t r = 0; r < n_rows; r++) {
    int64_t len = 0;
    for (int64_t k = in->indptr[r]; k < in->indptr[r + 1]; k++)
      len += in->values[k] > 0.f;
    nnz += len < max_basket ? len : max_basket;
  }
  if (cs_csr_alloc(out, n_rows, in->n_cols, nnz)) return CS_ENOMEM;
  int64_t max_len = 1;
  for (int64_t r = 0; r < n_rows; r++)
    if (in->indptr[r + 1] - in->indptr[r] > max_len)
      max_len = in->indptr[r + 1] - in->indptr[r];
  int32_t *dst = malloc((size_t)max_len * sizeof(int32_t));
  if (!dst) {
    cs_csr_free(out);
    return CS_ENOMEM;
  }
  int64_t pos = 0;
  for (int64_t r = 0; r < n_rows; r++) {
    int64_t len = 0;
    for (int64_t k = in->indptr[r]; k < in->indptr[r + 1]; k++)
      if (in->values[k] > 0.f) dst[len++] = in->indices[k];
    if (len > max_basket) {
      /* Seeded partial Fisher-Yates: the first max_basket slots. */
      cs_rng_t rng;
      cs_rng_seed_stream(&rng, seed, (uint64_t)r);
      for (int64_t i = 0; i < max_basket; i++) {
        int64_t j = i + (int64_t)cs_rng_below(&rng, (uint64_t)(len - i));
        int32_t t = dst[i];
        dst[i] = dst[j];
        dst[j] = t;
      }
      len = max_basket;
      qsort(dst, (size_t)len, sizeof(int32_t), cmp_i32);
    }
    memcpy(out->indices + pos, dst, (size_t)len * sizeof(int32_t));
    for (int64_t i = 0; i < len; i++) out->values[pos + i] = 1.f;
    pos += len;
    out->indptr[r + 1] = pos;
  }
  free(dst);
  return 0;
}

typedef struct {
  const cs_csr_t *b;  /* baskets x songs, binary */
  const cs_csr_t *bt; /* songs x baskets */
  const double *row_sum;
  double total;
  int64_t *row_nnz; /* pass 1 output */
  cs_csr_t *out;    /* pass 2 output (indptr filled) */
  int32_t **cnt;    /* per thread [n_songs] */
  uint64_t **mark;  /* per thread [(n_songs + 63) / 64] */
  int pass;
} ppmi_job_t;

static int ppmi_rows(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  const ppmi_job_t *j = arg;
  int32_t *cnt = j->cnt[tid];
  uint64_t *mark = j->mark[tid];
  const int64_t n_words = (j->bt->n_rows + 63) / 64;
  for (int64_t i = begin; i < end; i++) {
    int64_t lo_word = n_words, hi_word = -1;
    for (int64_t k = j->bt->indptr[i]; k < j->bt->indptr[i + 1]; k++) {
      int64_t bk = j->bt->indices[k];
      for (int64_t q = j->b->indptr[bk]; q < j->b->indptr[bk + 1]; q++) {
        int32_t s = j->b->indices[q];
        if (s == i) continue;
        cnt[s]++;
        int64_t w = s >> 6;
        mark[w] |= (uint64_t)1 << (s & 63);
        if (w < lo_word) lo_word = w;
        if (w > hi_word) hi_word = w;
      }
    }
    int64_t pos = j->pass == 2 ? j->out->indptr[i] : 0, n_pos = 0;
    for (int64_t w = lo_word; w <= hi_word; w++) {
      uint64_t bits = mark[w];
      mark[w] = 0;
      while (bits) {
        int s = (int)(w * 64 + __builtin_ctzll(bits));
        bits &= bits - 1;
        double pmi = log((double)cnt[s] * j->total /
                         (j->row_sum[i] * j->row_sum[s]));
        cnt[s] = 0;
        if (pmi > 0.0) {
          if (j->pass == 2) {
            j->out->indices[pos + n_pos] = s;
            j->out->values[pos + n_pos] = (float)pmi;
          }
          n_pos++;
        }
      }
    }
    if (j->pass == 1) j->row_nnz[i] = n_pos;
  }
  return 0;
}

int cs_ppmi_build(const cs_ctx_t *ctx, const cs_csr_t *baskets, int max_basket,
                  uint64_t seed, cs_csr_t *out, cs_err_t *err) {
  memset(out, 0, sizeof(*out));
  if (max_basket < 2)
    return cs_err_set(err, CS_EINVAL, "ppmi: max_basket %d < 2", max_basket);
  if (baskets->n_cols > INT32_MAX || baskets->n_rows > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "ppmi: %lld x %lld baskets too large",
                      (long long)baskets->n_rows, (long long)baskets->n_cols);
  const int64_t n_songs = baskets->n_cols;
  const int n_threads = cs__n_threads(ctx);
  cs_csr_t b = {0}, bt = {0};
  double *row_sum = NULL;
  int64_t *row_nnz = NULL;
  int32_t *cnt[256] = {0};
  uint64_t *mark[256] = {0};
  int rc = capped_baskets(baskets, max_basket, seed, &b);
  if (!rc) rc = cs_csr_transpose(&bt, &b, err);
  if (!rc) {
    row_sum = calloc((size_t)n_songs + 1, sizeof(double));
    row_nnz = calloc((size_t)n_songs + 1, sizeof(int64_t));
    if (!row_sum || !row_nnz) rc = CS_ENOMEM;
  }
  for (int t = 0; !rc && t < n_threads; t++) {
    cnt[t] = calloc((size_t)n_songs + 1, sizeof(int32_t));
    mark[t] = calloc((size_t)(n_songs + 63) / 64 + 1, sizeof(uint64_t));
    if (!cnt[t] || !mark[t]) rc = CS_ENOMEM;
  }
  if (!rc) {
    /* row_i = sum_j C_ij = sum over baskets holding i of (size - 1). */
    double total = 0.0;
    for (int64_t i = 0; i < n_songs; i++) {
      double s = 0.0;
      for (int64_t k = bt.indptr[i]; k < bt.indptr[i + 1]; k++) {
        int64_t bk = bt.indices[k];
        s += (double)(b.indptr[bk + 1] - b.indptr[bk] - 1);
      }
      row_sum[i] = s;
      total += s;
    }
    ppmi_job_t job = {&b, &bt, row_sum, total, row_nnz, out, cnt, mark, 1};
    cs__parallel_striped(ctx, n_songs, 64, ppmi_rows, &job, NULL);
    int64_t nnz = 0;
    for (int64_t i = 0; i < n_songs; i++) nnz += row_nnz[i];
    out->n_rows = out->n_cols = n_songs;
    out->indptr = calloc((size_t)n_songs + 1, sizeof(int64_t));
    out->indices = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(int32_t));
    out->values = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(float));
    if (!out->indptr || !out->indices || !out->values) {
      cs_csr_free(out);
      rc = CS_ENOMEM;
    } else {
      for (int64_t i = 0; i < n_songs; i++)
        out->indptr[i + 1] = out->indptr[i] + row_nnz[i];
      job.pass = 2;
      cs__parallel_striped(ctx, n_songs, 64, ppmi_rows, &job, NULL);
      cs_log(ctx, CS_LOG_DEBUG, "ppmi: %lld songs, %lld positive pairs",
             (long long)n_songs, (long long)nnz);
    }
  }
  for (int t = 0; t < n_threads; t++) {
    free(cnt[t]);
    free(mark[t]);
  }
  free(row_sum);
  free(row_nnz);
  cs_csr_free(&b);
  cs_csr_free(&bt);
  if (rc == CS_ENOMEM)
    return cs_err_set(err, rc, "ppmi: out of memory for %lld songs",
                      (long long)n_songs);
  return rc;
}

/* ------------------------------------------------------ randomized SVD */

/* Replace q [rows x cols] (rows >= cols) by an orthonormal basis of its
 * column space (Householder QR). */
static int orthonormalize(float *q, int64_t rows, int64_t cols, float *tau) {
  if (LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)rows, (lapack_int)cols, q,
                     (lapack_int)cols, tau) != 0)
    return CS_EINTERNAL;
  if (LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)rows, (lapack_int)cols,
                     (lapack_int)cols, q, (lapack_int)cols, tau) != 0)
    return CS_EINTERNAL;
  return 0;
}

static int rsvd_run(const cs_ctx_t *ctx, const cs_csr_t *a, const cs_csr_t *at, int k,
            int oversample, int n_power_iter, uint64_t seed, float *u,
            float *s, float *v, cs_err_t *err) {
  if (k < 1 || oversample < 0 || n_power_iter < 0)
    return cs_err_set(err, CS_EINVAL,
                      "rsvd: k %d, oversample %d, power iterations %d", k,
                      oversample, n_power_iter);
  const int64_t n_rows = a->n_rows, n_cols = a->n_cols;
  memset(u, 0, (size_t)(n_rows * k) * sizeof(float));
  memset(s, 0, (size_t)k * sizeof(float));
  if (v) memset(v, 0, (size_t)(n_cols * k) * sizeof(float));
  int64_t l = (int64_t)k + oversample;
  if (l > n_rows) l = n_rows;
  if (l > n_cols) l = n_cols;
  if (l == 0) return 0;
  const int64_t k_eff = k < l ? k : l;

  cs_csr_t at_own = {0};
  int rc = 0;
  if (!at) {
    rc = cs_csr_transpose(&at_own, a, err);
    if (rc) return rc;
    at = &at_own;
  }
  float *q = cs_alloc_aligned((size_t)(n_rows * l) * sizeof(float));
  float *z = cs_alloc_aligned((size_t)(n_cols * l) * sizeof(float));
  float *tau = malloc((size_t)l * sizeof(float));
  double *m = malloc((size_t)(l * l) * sizeof(double));
  double *sv = malloc((size_t)l * sizeof(double));
  double *mu = malloc((size_t)(l * l) * sizeof(double));
  double *mvt = malloc((size_t)(l * l) * sizeof(double));
  float *small = malloc((size_t)(l * k_eff) * sizeof(float));
  if (!q || !z || !tau || !m || !sv || !mu || !mvt || !small) {
    rc = cs_err_set(err, CS_ENOMEM, "rsvd: %lld x %lld, %lld components",
                    (long long)n_rows, (long long)n_cols, (long long)l);
    goto done;
  }
  /* Gaussian test matrix, then the range finder with power iterations. */
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  for (int64_t i = 0; i < n_cols * l; i++) z[i] = (float)cs_rng_normal(&rng);
  cs_csr_mm(ctx, a, z, l, q);
  if ((rc = orthonormalize(q, n_rows, l, tau))) goto lapack_fail;
  for (int it = 0; it < n_power_iter; it++) {
    cs_csr_mm(ctx, at, q, l, z);
    if ((rc = orthonormalize(z, n_cols, l, tau))) goto lapack_fail;
    cs_csr_mm(ctx, a, z, l, q);
    if ((rc = orthonormalize(q, n_rows, l, tau))) goto lapack_fail;
  }
  /* B = Q^T A, held as B^T = A^T Q = Qb R; B = R^T Qb^T. */
  cs_csr_mm(ctx, at, q, l, z);
  if (LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)n_cols, (lapack_int)l, z,
                     (lapack_int)l, tau) != 0) {
    rc = CS_EINTERNAL;
    goto lapack_fail;
  }
  for (int64_t i = 0; i < l; i++)
    for (int64_t jj = 0; jj < l; jj++)
      m[i * l + jj] = jj >= i ? (double)z[i * l + jj] : 0.0; /* R */
  /* Transpose in place: m = R^T. */
  for (int64_t i = 0; i < l; i++)
    for (int64_t jj = i + 1; jj < l; jj++) {
      double t = m[i * l + jj];
      m[i * l + jj] = m[jj * l + i];
      m[jj * l + i] = t;
    }
  if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'A', (lapack_int)l, (lapack_int)l, m,
                     (lapack_int)l, sv, mu, (lapack_int)l, mvt,
                     (lapack_int)l) != 0) {
    rc = CS_EINTERNAL;
    goto lapack_fail;
  }
  /* U = Q Ur[:, :k]. */
  for (int64_t i = 0; i < l; i++)
    for (int64_t c = 0; c < k_eff; c++) small[i * k_eff + c] = (float)mu[i * l + c];
  float *u_eff = cs_alloc_aligned((size_t)(n_rows * k_eff) * sizeof(float));
  if (!u_eff) {
    rc = cs_err_set(err, CS_ENOMEM, "rsvd: U %lld x %lld", (long long)n_rows,
                    (long long)k_eff);
    goto done;
  }
  cs_gemm(CS_NOTRANS, CS_NOTRANS, n_rows, k_eff, l, 1.f, q, l, small, k_eff,
          0.f, u_eff, k_eff);
  for (int64_t r = 0; r < n_rows; r++)
    memcpy(u + r * k, u_eff + r * k_eff, (size_t)k_eff * sizeof(float));
  free(u_eff);
  for (int64_t c = 0; c < k_eff; c++) s[c] = (float)sv[c];
  if (v) {
    /* V = Qb Vr[:, :k], Vr = (Vr^T)^T. */
    if (LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)n_cols, (lapack_int)l,
                       (lapack_int)l, z, (lapack_int)l, tau) != 0) {
      rc = CS_EINTERNAL;
      goto lapack_fail;
    }
    for (int64_t i = 0; i < l; i++)
      for (int64_t c = 0; c < k_eff; c++)
        small[i * k_eff + c] = (float)mvt[c * l + i];
    float *v_eff = cs_alloc_aligned((size_t)(n_cols * k_eff) * sizeof(float));
    if (!v_eff) {
      rc = cs_err_set(err, CS_ENOMEM, "rsvd: V %lld x %lld",
                      (long long)n_cols, (long long)k_eff);
      goto done;
    }
    cs_gemm(CS_NOTRANS, CS_NOTRANS, n_cols, k_eff, l, 1.f, z, l, small, k_eff,
            0.f, v_eff, k_eff);
    for (int64_t r = 0; r < n_cols; r++)
      memcpy(v + r * k, v_eff + r * k_eff, (size_t)k_eff * sizeof(float));
    free(v_eff);
  }
  /* Rows of A (columns) with no entries have exactly zero singular-vector
   * rows; clear QR rounding there. */
  for (int64_t r = 0; r < n_rows; r++)
    if (a->indptr[r] == a->indptr[r + 1])
      memset(u + r * k, 0, (size_t)k * sizeof(float));
  if (v)
    for (int64_t r = 0; r < n_cols; r++)
      if (at->indptr[r] == at->indptr[r + 1])
        memset(v + r * k, 0, (size_t)k * sizeof(float));
  /* Sign convention: each U column's largest-magnitude entry is positive. */
  for (int64_t c = 0; c < k_eff; c++) {
    int64_t best = 0;
    for (int64_t r = 1; r < n_rows; r++)
      if (fabsf(u[r * k + c]) > fabsf(u[best * k + c])) best = r;
    if (u[best * k + c] < 0.f) {
      for (int64_t r = 0; r < n_rows; r++) u[r * k + c] = -u[r * k + c];
      if (v)
        for (int64_t r = 0; r < n_cols; r++) v[r * k + c] = -v[r * k + c];
    }
  }
  goto done;
lapack_fail:
  rc = cs_err_set(err, CS_EINTERNAL, "rsvd: LAPACK factorization failed "
                  "(%lld x %lld, %lld components)", (long long)n_rows,
                  (long long)n_cols, (long long)l);
done:
  free(q);
  free(z);
  free(tau);
  free(m);
  free(sv);
  free(mu);
  free(mvt);
  free(small);
  cs_csr_free(&at_own);
  return rc;
}

/* ------------------------------------------------------------- TT-SVD */

static int ttsvd_fit_run(const cs_ctx_t *ctx, const cs_csr_t *baskets,
                 const cs_svd_params_t *p, float *song_emb, cs_err_t *err) {
  if (p->dim < 1 || p->oversample < 0 || p->n_power_iter < 0)
    return cs_err_set(err, CS_EINVAL,
                      "tt-svd: dim %d, oversample %d, power iterations %d",
                      p->dim, p->oversample, p->n_power_iter);
  const int64_t n_songs = baskets->n_cols;
  double t0 = cs_now();
  cs_csr_t ppmi;
  int rc = cs_ppmi_build(ctx, baskets, CS_TTSVD_MAX_BASKET, p->seed, &ppmi, err);
  if (rc) return rc;
  double t1 = cs_now();
  float *s = malloc((size_t)p->dim * sizeof(float));
  if (!s) {
    cs_csr_free(&ppmi);
    return cs_err_set(err, CS_ENOMEM, "tt-svd: %d singular values", p->dim);
  }
  /* PPMI is symmetric: it is its own transpose. */
  rc = cs_rsvd(ctx, &ppmi, &ppmi, p->dim, p->oversample, p->n_power_iter,
               p->seed ^ 0x5bd1e995u, song_emb, s, NULL, err);
  if (!rc) {
    for (int c = 0; c < p->dim; c++) {
      float w = sqrtf(s[c] > 0.f ? s[c] : 0.f);
      for (int64_t r = 0; r < n_songs; r++) song_emb[r * p->dim + c] *= w;
    }
    cs_log(ctx, CS_LOG_INFO,
           "tt-svd: %lld songs, %lld ppmi pairs, d=%d: ppmi %.2fs, svd %.2fs",
           (long long)n_songs, (long long)cs_csr_nnz(&ppmi), p->dim, t1 - t0,
           cs_now() - t1);
  }
  free(s);
  cs_csr_free(&ppmi);
  return rc;
}

/* BLAS threads scoped to the context's for the whole call. */
int cs_rsvd(const cs_ctx_t *ctx, const cs_csr_t *a, const cs_csr_t *at, int k,
            int oversample, int n_power_iter, uint64_t seed, float *u,
            float *s, float *v, cs_err_t *err) {
  int saved = cs_blas_set_threads(cs_ctx_threads(ctx));
  int rc = rsvd_run(ctx, a, at, k, oversample, n_power_iter, seed, u, s, v, err);
  cs_blas_set_threads(saved);
  return rc;
}

/* BLAS threads scoped to the context's for the whole call. */
int cs_ttsvd_fit(const cs_ctx_t *ctx, const cs_csr_t *baskets,
                 const cs_svd_params_t *p, float *song_emb, cs_err_t *err) {
  int saved = cs_blas_set_threads(cs_ctx_threads(ctx));
  int rc = ttsvd_fit_run(ctx, baskets, p, song_emb, err);
  cs_blas_set_threads(saved);
  return rc;
}

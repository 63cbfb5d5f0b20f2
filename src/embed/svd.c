/* svd.c: TT-SVD song embeddings: basket co-occurrence, positive PMI, and a
 * randomized truncated SVD (Halko, Martinsson, Tropp 2011) built on a
 * multithreaded sparse x dense product and LAPACK for the small dense parts. */
#include "coldstart/embed.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
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

/* Binary basket matrix with at most max_basket songs per basket; the draw
 * of a long basket is seeded by its global id (ids[r], or r). */
static int capped_baskets(const cs_csr_t *in, const int64_t *ids,
                          int max_basket, uint64_t seed, cs_csr_t *out) {
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
      cs_rng_seed_stream(&rng, seed, (uint64_t)(ids ? ids[r] : r));
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
  const cs_csr_t *bt; /* songs [row0, row0 + n) x baskets */
  int64_t row0;
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
  const int64_t n_words = (j->b->n_cols + 63) / 64;
  for (int64_t li = begin; li < end; li++) {
    const int64_t i = j->row0 + li;
    int64_t lo_word = n_words, hi_word = -1;
    for (int64_t k = j->bt->indptr[li]; k < j->bt->indptr[li + 1]; k++) {
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
    int64_t pos = j->pass == 2 ? j->out->indptr[li] : 0, n_pos = 0;
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
    if (j->pass == 1) j->row_nnz[li] = n_pos;
  }
  return 0;
}

/* Baskets to the ranks whose songs they hold: basket b goes once to every
 * rank owning one of its songs, as [len, song...] int32 records; *got is
 * the CSR of what this rank received (source rank order). */
static int route_baskets(const cs_dist_t *d, const cs_csr_t *b,
                         cs_csr_t *got) {
  const int P = d->size;
  const int64_t n_songs = b->n_cols;
  int64_t *cnt = calloc(3 * (size_t)P, sizeof *cnt);
  if (!cnt) return CS_ENOMEM;
  int64_t *at = cnt + P, *rcnt = at + P;
  for (int pass = 0; pass < 2; pass++) {
    int32_t *send = NULL;
    if (pass == 1) {
      int64_t total = 0;
      for (int q = 0; q < P; q++) {
        at[q] = total;
        total += cnt[q];
      }
      send = malloc((size_t)(total + 1) * sizeof *send);
      if (!send) {
        free(cnt);
        return CS_ENOMEM;
      }
    }
    for (int64_t r = 0; r < b->n_rows; r++) {
      int64_t k0 = b->indptr[r], len = b->indptr[r + 1] - k0;
      int last = -1;
      for (int64_t k = k0; k < k0 + len; k++) { /* songs ascend: owners too */
        int q = cs_dist_owner(n_songs, P, b->indices[k]);
        if (q == last) continue;
        last = q;
        if (pass == 0) {
          cnt[q] += 1 + len;
        } else {
          send[at[q]++] = (int32_t)len;
          memcpy(send + at[q], b->indices + k0, (size_t)len * sizeof(int32_t));
          at[q] += len;
        }
      }
    }
    if (pass == 0) continue;
    void *recv = NULL;
    int rc = cs_dist_alltoallv(d, send, cnt, sizeof(int32_t), &recv, rcnt);
    free(send);
    if (rc) {
      free(cnt);
      return rc;
    }
    int64_t total = 0, n_b = 0, nnz = 0;
    for (int q = 0; q < P; q++) total += rcnt[q];
    const int32_t *in = recv;
    for (int64_t x = 0; x < total; x += 1 + in[x]) {
      n_b++;
      nnz += in[x];
    }
    rc = cs_csr_alloc(got, n_b, n_songs, nnz);
    if (!rc) {
      int64_t row = 0, pos = 0;
      for (int64_t x = 0; x < total; x += 1 + in[x]) {
        memcpy(got->indices + pos, in + x + 1, (size_t)in[x] * sizeof(int32_t));
        for (int64_t e = 0; e < in[x]; e++) got->values[pos + e] = 1.f;
        pos += in[x];
        got->indptr[++row] = pos;
      }
    }
    free(recv);
    free(cnt);
    return rc;
  }
  free(cnt);
  return 0;
}

/* songs [row0, row0 + n) x baskets: which rows of b hold each of them. */
static int songs_to_baskets(const cs_csr_t *b, int64_t row0, int64_t n,
                            cs_csr_t *out) {
  int64_t nnz = 0;
  for (int64_t k = 0; k < cs_csr_nnz(b); k++)
    nnz += b->indices[k] >= row0 && b->indices[k] < row0 + n;
  if (cs_csr_alloc(out, n, b->n_rows, nnz)) return CS_ENOMEM;
  for (int64_t k = 0; k < cs_csr_nnz(b); k++) {
    int64_t s = b->indices[k] - row0;
    if (s >= 0 && s < n) out->indptr[s + 1]++;
  }
  for (int64_t s = 0; s < n; s++) out->indptr[s + 1] += out->indptr[s];
  int64_t *fill = malloc((size_t)(n + 1) * sizeof *fill);
  if (!fill) {
    cs_csr_free(out);
    return CS_ENOMEM;
  }
  memcpy(fill, out->indptr, (size_t)n * sizeof *fill);
  for (int64_t r = 0; r < b->n_rows; r++) /* ascending rows within a song */
    for (int64_t k = b->indptr[r]; k < b->indptr[r + 1]; k++) {
      int64_t s = b->indices[k] - row0;
      if (s < 0 || s >= n) continue;
      out->indices[fill[s]] = (int32_t)r;
      out->values[fill[s]++] = 1.f;
    }
  free(fill);
  return 0;
}

/* PPMI rows [row0, row0 + n) (this rank's songs of cs_dist_part) from the
 * baskets held here (rows of `baskets`, global ids `ids`, NULL: the row
 * index) and those of every other rank. Counts are integers and each
 * basket reaches a song's rank once, so the rows are exactly those one
 * process computes. Collective. */
static int ppmi_dist(const cs_ctx_t *ctx, const cs_dist_t *d,
                     const cs_csr_t *baskets, const int64_t *ids,
                     int max_basket, uint64_t seed, int64_t row0, int64_t n,
                     cs_csr_t *out, cs_err_t *err) {
  memset(out, 0, sizeof(*out));
  const int64_t n_songs = baskets->n_cols;
  const int n_threads = cs__n_threads(ctx);
  cs_csr_t b = {0}, routed = {0}, bt = {0};
  int64_t *row_cnt = NULL, *row_nnz = NULL;
  double *row_sum = NULL;
  int32_t *cnt[256] = {0};
  uint64_t *mark[256] = {0};
  int rc = capped_baskets(baskets, ids, max_basket, seed, &b);
  if (!rc) {
    row_cnt = calloc((size_t)n_songs + 1, sizeof *row_cnt);
    row_sum = calloc((size_t)n_songs + 1, sizeof(double));
    row_nnz = calloc((size_t)n + 1, sizeof(int64_t));
    if (!row_cnt || !row_sum || !row_nnz) rc = CS_ENOMEM;
  }
  for (int t = 0; !rc && t < n_threads; t++) {
    cnt[t] = calloc((size_t)n_songs + 1, sizeof(int32_t));
    mark[t] = calloc((size_t)(n_songs + 63) / 64 + 1, sizeof(uint64_t));
    if (!cnt[t] || !mark[t]) rc = CS_ENOMEM;
  }
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  /* row_i = sum_j C_ij = sum over baskets holding i of (size - 1): an
   * integer, summed over the ranks exactly */
  for (int64_t r = 0; r < b.n_rows; r++) {
    int64_t len = b.indptr[r + 1] - b.indptr[r];
    for (int64_t k = b.indptr[r]; k < b.indptr[r + 1]; k++)
      row_cnt[b.indices[k]] += len - 1;
  }
  cs_dist_sum_i64(d, row_cnt, n_songs);
  double total = 0.0;
  for (int64_t i = 0; i < n_songs; i++) {
    row_sum[i] = (double)row_cnt[i];
    total += row_sum[i];
  }
  const cs_csr_t *mine = &b;
  if (d->size > 1) {
    rc = route_baskets(d, &b, &routed);
    mine = &routed;
  }
  if (!rc) rc = songs_to_baskets(mine, row0, n, &bt);
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  ppmi_job_t job = {mine, &bt, row0, row_sum, total, row_nnz, out, cnt, mark, 1};
  cs__parallel_striped(ctx, n, 64, ppmi_rows, &job, NULL);
  int64_t nnz = 0;
  for (int64_t i = 0; i < n; i++) nnz += row_nnz[i];
  out->n_rows = n;
  out->n_cols = n_songs;
  out->indptr = calloc((size_t)n + 1, sizeof(int64_t));
  out->indices = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(int32_t));
  out->values = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(float));
  if (!out->indptr || !out->indices || !out->values) {
    cs_csr_free(out);
    rc = CS_ENOMEM;
  } else {
    for (int64_t i = 0; i < n; i++)
      out->indptr[i + 1] = out->indptr[i] + row_nnz[i];
    job.pass = 2;
    cs__parallel_striped(ctx, n, 64, ppmi_rows, &job, NULL);
    cs_log(ctx, CS_LOG_DEBUG, "ppmi: %lld songs here, %lld positive pairs",
           (long long)n, (long long)nnz);
  }
  rc = cs_dist_agree(d, rc, err);
done:
  for (int t = 0; t < n_threads; t++) {
    free(cnt[t]);
    free(mark[t]);
  }
  free(row_cnt);
  free(row_sum);
  free(row_nnz);
  cs_csr_free(&b);
  cs_csr_free(&routed);
  cs_csr_free(&bt);
  if (rc == CS_ENOMEM && (!err || err->code != CS_ENOMEM))
    return cs_err_set(err, rc, "ppmi: out of memory for %lld songs",
                      (long long)n_songs);
  return rc;
}

int cs_ppmi_build(const cs_ctx_t *ctx, const cs_csr_t *baskets, int max_basket,
                  uint64_t seed, cs_csr_t *out, cs_err_t *err) {
  memset(out, 0, sizeof(*out));
  if (max_basket < 2)
    return cs_err_set(err, CS_EINVAL, "ppmi: max_basket %d < 2", max_basket);
  if (baskets->n_cols > INT32_MAX || baskets->n_rows > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "ppmi: %lld x %lld baskets too large",
                      (long long)baskets->n_rows, (long long)baskets->n_cols);
  return ppmi_dist(ctx, &cs_dist_one, baskets, NULL, max_basket, seed, 0,
                   baskets->n_cols, out, err);
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

/* ------------------------------------------- symmetric, over the ranks */

/* y rows [row0, row0 + a->n_rows) = a * x, then every rank gets all of y;
 * *seconds accumulates the time of both. */
static int mm_shared(const cs_ctx_t *ctx, const cs_dist_t *d, const cs_csr_t *a,
                     const int64_t *off, const float *x, int64_t l, float *y,
                     double *seconds) {
  double t0 = cs_now();
  cs_csr_mm(ctx, a, x, l, y + off[d->rank] * l);
  int rc = cs_dist_allgather_rows(d, y, (size_t)l * sizeof(float), off);
  *seconds += cs_now() - t0;
  return rc;
}

/* embed_internal.h: the symmetric randomized SVD, rows split over ranks. */
int cs__rsvd_sym(const cs_ctx_t *ctx, const cs_dist_t *d, const cs_csr_t *a,
                 const int64_t *off, int k, int oversample, int n_power_iter,
                 uint64_t seed, float *u, float *s, cs_err_t *err) {
  const int64_t n = off[d->size];
  double t_all = cs_now(), t_mm = 0.0;
  memset(u, 0, (size_t)(n * k) * sizeof(float));
  memset(s, 0, (size_t)k * sizeof(float));
  int64_t l = (int64_t)k + oversample;
  if (l > n) l = n;
  if (l == 0) return 0;
  const int64_t k_eff = k < l ? k : l;
  int rc = 0;
  float *q = cs_alloc_aligned((size_t)(n * l) * sizeof(float));
  float *z = cs_alloc_aligned((size_t)(n * l) * sizeof(float));
  float *tau = malloc((size_t)l * sizeof(float));
  double *m = malloc((size_t)(l * l) * sizeof(double));
  double *sv = malloc((size_t)l * sizeof(double));
  double *mu = malloc((size_t)(l * l) * sizeof(double));
  double *mvt = malloc((size_t)(l * l) * sizeof(double));
  float *small = malloc((size_t)(l * k_eff) * sizeof(float));
  float *u_eff = cs_alloc_aligned((size_t)(n * k_eff) * sizeof(float));
  uint8_t *empty = calloc((size_t)n + 1, 1);
  if (!q || !z || !tau || !m || !sv || !mu || !mvt || !small || !u_eff ||
      !empty)
    rc = cs_err_set(err, CS_ENOMEM, "rsvd: %lld x %lld, %lld components",
                    (long long)n, (long long)n, (long long)l);
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  /* Gaussian test matrix (the same draws on every rank), then the range
   * finder with power iterations; A^T = A. */
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  for (int64_t i = 0; i < n * l; i++) z[i] = (float)cs_rng_normal(&rng);
  mm_shared(ctx, d, a, off, z, l, q, &t_mm);
  if ((rc = orthonormalize(q, n, l, tau))) goto lapack_fail;
  for (int it = 0; it < n_power_iter; it++) {
    mm_shared(ctx, d, a, off, q, l, z, &t_mm);
    if ((rc = orthonormalize(z, n, l, tau))) goto lapack_fail;
    mm_shared(ctx, d, a, off, z, l, q, &t_mm);
    if ((rc = orthonormalize(q, n, l, tau))) goto lapack_fail;
  }
  /* B = Q^T A, held as B^T = A Q = Qb R; B = R^T Qb^T. */
  mm_shared(ctx, d, a, off, q, l, z, &t_mm);
  if (LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)l, z,
                     (lapack_int)l, tau) != 0) {
    rc = CS_EINTERNAL;
    goto lapack_fail;
  }
  for (int64_t i = 0; i < l; i++)
    for (int64_t jj = 0; jj < l; jj++)
      m[i * l + jj] = jj >= i ? (double)z[i * l + jj] : 0.0; /* R */
  for (int64_t i = 0; i < l; i++) /* m = R^T */
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
  cs_gemm(CS_NOTRANS, CS_NOTRANS, n, k_eff, l, 1.f, q, l, small, k_eff, 0.f,
          u_eff, k_eff);
  for (int64_t r = 0; r < n; r++)
    memcpy(u + r * k, u_eff + r * k_eff, (size_t)k_eff * sizeof(float));
  for (int64_t c = 0; c < k_eff; c++) s[c] = (float)sv[c];
  /* Rows of A with no entries have exactly zero singular-vector rows; clear
   * QR rounding there. */
  for (int64_t r = 0; r < a->n_rows; r++)
    empty[off[d->rank] + r] = a->indptr[r] == a->indptr[r + 1];
  cs_dist_allgather_rows(d, empty, 1, off);
  for (int64_t r = 0; r < n; r++)
    if (empty[r]) memset(u + r * k, 0, (size_t)k * sizeof(float));
  /* Sign convention: each U column's largest-magnitude entry is positive. */
  for (int64_t c = 0; c < k_eff; c++) {
    int64_t best = 0;
    for (int64_t r = 1; r < n; r++)
      if (fabsf(u[r * k + c]) > fabsf(u[best * k + c])) best = r;
    if (u[best * k + c] < 0.f)
      for (int64_t r = 0; r < n; r++) u[r * k + c] = -u[r * k + c];
  }
  /* the products are split over the ranks; the rest runs on every rank */
  cs_log(ctx, CS_LOG_INFO, "rsvd: %lld x %lld, %lld components: products "
         "%.2fs (split over %d ranks), dense parts %.2fs (on every rank)",
         (long long)n, (long long)n, (long long)l, t_mm, d->size,
         cs_now() - t_all - t_mm);
  goto done;
lapack_fail:
  rc = cs_err_set(err, CS_EINTERNAL, "rsvd: LAPACK factorization failed "
                  "(%lld x %lld, %lld components)", (long long)n,
                  (long long)n, (long long)l);
done:
  free(q);
  free(z);
  free(tau);
  free(m);
  free(sv);
  free(mu);
  free(mvt);
  free(small);
  free(u_eff);
  free(empty);
  return rc;
}

/* ------------------------------------------------------------- TT-SVD */

static int ttsvd_run(const cs_ctx_t *ctx, const cs_dist_t *d,
                     const cs_csr_t *baskets, const int64_t *ids,
                     const cs_svd_params_t *p, float *song_emb, cs_err_t *err) {
  if (p->dim < 1 || p->oversample < 0 || p->n_power_iter < 0)
    return cs_err_set(err, CS_EINVAL,
                      "tt-svd: dim %d, oversample %d, power iterations %d",
                      p->dim, p->oversample, p->n_power_iter);
  if (baskets->n_cols > INT32_MAX || baskets->n_rows > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "tt-svd: %lld x %lld baskets too large",
                      (long long)baskets->n_rows, (long long)baskets->n_cols);
  const int64_t n_songs = baskets->n_cols;
  double t0 = cs_now();
  int64_t *off = malloc(((size_t)d->size + 1) * sizeof *off);
  float *s = malloc((size_t)p->dim * sizeof(float));
  int rc = off && s ? 0 : cs_err_set(err, CS_ENOMEM, "tt-svd: %d singular "
                                     "values", p->dim);
  if ((rc = cs_dist_agree(d, rc, err))) {
    free(off);
    free(s);
    return rc;
  }
  cs_dist_offsets(n_songs, 1, d->size, off);
  cs_csr_t ppmi;
  rc = ppmi_dist(ctx, d, baskets, ids, CS_TTSVD_MAX_BASKET, p->seed,
                 off[d->rank], off[d->rank + 1] - off[d->rank], &ppmi, err);
  if (rc) {
    free(off);
    free(s);
    return rc;
  }
  double t1 = cs_now();
  rc = cs__rsvd_sym(ctx, d, &ppmi, off, p->dim, p->oversample,
                    p->n_power_iter, p->seed ^ 0x5bd1e995u, song_emb, s, err);
  if (!rc) {
    for (int c = 0; c < p->dim; c++) {
      float w = sqrtf(s[c] > 0.f ? s[c] : 0.f);
      for (int64_t r = 0; r < n_songs; r++) song_emb[r * p->dim + c] *= w;
    }
    int64_t nnz = cs_csr_nnz(&ppmi);
    cs_dist_sum_i64(d, &nnz, 1);
    cs_log(ctx, CS_LOG_INFO,
           "tt-svd: %lld songs, %lld ppmi pairs, d=%d: ppmi %.2fs, svd %.2fs",
           (long long)n_songs, (long long)nnz, p->dim, t1 - t0, cs_now() - t1);
  }
  free(s);
  free(off);
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

/* One BLAS thread for the whole call: the dense parts then give the same
 * bits for any thread count (and on every rank). */
int cs_ttsvd_fit(const cs_ctx_t *ctx, const cs_csr_t *baskets,
                 const cs_svd_params_t *p, float *song_emb, cs_err_t *err) {
  return cs__ttsvd_fit_dist(ctx, &cs_dist_one, baskets, NULL, p, song_emb,
                            err);
}

int cs__ttsvd_fit_dist(const cs_ctx_t *ctx, const cs_dist_t *d,
                       const cs_csr_t *baskets, const int64_t *ids,
                       const cs_svd_params_t *p, float *song_emb,
                       cs_err_t *err) {
  int saved = cs_blas_set_threads(1);
  int rc = ttsvd_run(ctx, d, baskets, ids, p, song_emb, err);
  cs_blas_set_threads(saved);
  return rc;
}

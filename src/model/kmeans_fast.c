/* kmeans_fast.c: exact accelerated Lloyd iterations and batch nearest-centroid
 * assignment. Distances come in tiles from one BLAS gemm
 * (||x||^2 - 2 x.c + ||c||^2), near-ties are re-decided on the exact distance
 * (cs__kmeans_dist2, lower index wins), and Hamerly bounds (one upper bound to
 * the own centroid, one lower bound to all others, plus half the distance to
 * the nearest other centroid) skip rows whose centroid cannot have changed.
 * Rows are spread over threads; centroid sums are per-thread partials added
 * in thread order, so a seed and a thread count give the same bytes. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "model/kmeans_internal.h"

enum {
  CHUNK_ROWS = 1024,
  MAX_THREADS = 64,
  /* The centroid-distance matrix (k x k floats) is kept up to this k. */
  CDIST_MAX_K = 4096,
  /* A row with more candidate centroids than this takes the gemm path. */
  CAND_MAX = 96
};

/* Relative margin on bound comparisons: covers the double rounding of the
 * exact distances and of the bound arithmetic many times over. */
#define BOUND_MARGIN 1e-9

typedef struct thread_scratch {
  float *tile_x;     /* [tile_rows x dim] gathered rows */
  float *tile_d;     /* [tile_rows x k] gemm output */
  int64_t *tile_idx; /* [tile_rows] row index of each gathered row */
  double *sums;      /* [k x dim] centroid sums (update pass) */
  int32_t *cand;     /* [CAND_MAX] candidate centroids of one row */
  int64_t *counts;   /* [k] */
  int64_t changed, n_full, n_tight, n_cand_rows;
} thread_scratch_t;

typedef struct fast_state {
  const float *X;
  int64_t n;
  int dim, k;
  const float *C;    /* [k x dim] current centroids */
  float *cc;         /* [k] squared norms of the centroids */
  float ccmax;
  float *xx;         /* [n] squared norms of the rows */
  int32_t *labels;   /* [n] */
  double *upper;     /* [n] >= distance to own centroid (NULL: no bounds) */
  double *lower;     /* [n] <= distance to every other centroid */
  double *half_sep;  /* [k] <= half the distance to the nearest other */
  float *cdist;      /* [k x k] <= centroid-centroid distances, or NULL */
  uint8_t *force;    /* [n] 1: bounds unusable, recompute fully */
  const double *drift; /* [k] how far each centroid moved (NULL: first pass) */
  double drift_max1, drift_max2;
  int drift_argmax;
  int use_bounds;    /* 0: every row gets the full gemm pass */
  int tile_rows;
  int n_threads;
  atomic_llong next_chunk;
  int64_t n_chunks;
  thread_scratch_t scratch[MAX_THREADS];
} fast_state_t;

/* Worst-case error of a gemm-form squared distance (float dot of length dim
 * plus three float additions), relative to ||x||^2 + ||c||^2, with slack. */
static double gemm_tol(int dim, double norms) {
  return (double)(dim + 16) * FLT_EPSILON * norms;
}

/* Row scans with GCC/Clang vector extensions (8 float lanes; plain scalar
 * code where the target has no vector unit). */
typedef float vf8_t __attribute__((vector_size(32)));
typedef int32_t vi8_t __attribute__((vector_size(32)));

static inline vf8_t vf8_load(const float *p) {
  vf8_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline vf8_t vf8_min(vf8_t a, vf8_t b) {
  vi8_t lt = a < b;
  return (vf8_t)((lt & (vi8_t)a) | (~lt & (vi8_t)b));
}

static inline float vf8_hmin(vf8_t v) {
  float r = v[0];
  for (int l = 1; l < 8; l++) r = v[l] < r ? v[l] : r;
  return r;
}

/* v[j] += add[j]; returns the minimum of the result. */
static float add_and_min(float *v, const float *add, int k) {
  vf8_t m = {INFINITY, INFINITY, INFINITY, INFINITY,
             INFINITY, INFINITY, INFINITY, INFINITY};
  int j = 0;
  for (; j + 8 <= k; j += 8) {
    vf8_t x = vf8_load(v + j) + vf8_load(add + j);
    memcpy(v + j, &x, sizeof x);
    m = vf8_min(x, m);
  }
  float r = vf8_hmin(m);
  for (; j < k; j++) {
    v[j] += add[j];
    r = v[j] < r ? v[j] : r;
  }
  return r;
}

/* Number of v[j] <= limit, and the minimum of the others. */
static int count_within(const float *v, int k, float limit, float *out_other) {
  const vf8_t inf = {INFINITY, INFINITY, INFINITY, INFINITY,
                     INFINITY, INFINITY, INFINITY, INFINITY};
  const vf8_t lim = {limit, limit, limit, limit, limit, limit, limit, limit};
  vf8_t o = inf;
  vi8_t cnt = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= k; j += 8) {
    vf8_t x = vf8_load(v + j);
    vi8_t in = x <= lim;
    cnt -= in; /* true lanes are -1 */
    vf8_t y = (vf8_t)((in & (vi8_t)inf) | (~in & (vi8_t)x));
    o = vf8_min(y, o);
  }
  int total = 0;
  for (int l = 0; l < 8; l++) total += cnt[l];
  float r = vf8_hmin(o);
  for (; j < k; j++) {
    if (v[j] <= limit)
      total++;
    else if (v[j] < r)
      r = v[j];
  }
  *out_other = r;
  return total;
}

/* Decide the rows of one tile from their gemm distances. */
static void finish_tile(fast_state_t *s, thread_scratch_t *ts, int rows) {
  const int k = s->k, dim = s->dim;
  cs_gemm(CS_NOTRANS, CS_TRANS, rows, k, dim, -2.f, ts->tile_x, dim, s->C, dim,
          0.f, ts->tile_d, k);
  for (int q = 0; q < rows; q++) {
    int64_t i = ts->tile_idx[q];
    float *drow = ts->tile_d + (int64_t)q * k;
    float vmin = add_and_min(drow, s->cc, k);
    const float *x = s->X + i * dim;
    double xxi = (double)s->xx[i];
    double tol = gemm_tol(dim, xxi + (double)s->ccmax);
    /* Candidates (within 2 tol of the minimum) are decided exactly; the
     * others are provably farther than the best candidate. */
    float limit = nextafterf((float)((double)vmin + 2.0 * tol), INFINITY);
    float other_min;
    int n_cand = count_within(drow, k, limit, &other_min);
    double best_d = INFINITY, second_d = INFINITY;
    int32_t best_j = -1;
    for (int j = 0, seen = 0; j < k && seen < n_cand; j++) {
      if (drow[j] > limit) continue;
      seen++;
      double d = cs__kmeans_dist2(x, s->C + (int64_t)j * dim, dim);
      if (d < best_d) {
        if (best_d < second_d) second_d = best_d;
        best_d = d;
        best_j = j;
      } else if (d < second_d) {
        second_d = d;
      }
    }
    ts->changed += best_j != s->labels[i];
    s->labels[i] = best_j;
    if (s->use_bounds) {
      double other_lb = xxi + (double)other_min - tol;
      double lb = second_d < other_lb ? second_d : other_lb;
      s->upper[i] = sqrt(best_d);
      s->lower[i] = lb > 0.0 ? sqrt(lb) : 0.0;
      s->force[i] = 0;
    }
  }
  ts->n_full += rows;
}

/* Elkan's rule with the centroid-distance matrix: with u the exact distance
 * from x to its centroid a, a centroid j with d(a, j) > 2u is farther than a.
 * The few others are decided on exact distances. Returns 0 when the row has
 * too many candidates (the caller sends it to the gemm path). */
static int decide_by_candidates(fast_state_t *s, thread_scratch_t *ts,
                                int64_t i, double d2a) {
  const int k = s->k, dim = s->dim;
  const int32_t a = s->labels[i];
  const double u = s->upper[i];
  const float *row = s->cdist + (int64_t)a * k;
  float limit = nextafterf((float)(2.0 * u * (1.0 + BOUND_MARGIN)), INFINITY);
  float other_min;
  int n_within = count_within(row, k, limit, &other_min); /* includes a */
  if (n_within - 1 > CAND_MAX) return 0;
  int n_cand = 0;
  for (int j = 0; j < k && n_cand < n_within - 1; j++)
    if (row[j] <= limit && j != a) ts->cand[n_cand++] = j;
  const float *x = s->X + i * dim;
  double best_d = d2a, second_d = INFINITY;
  int32_t best_j = a;
  for (int c = 0; c < n_cand; c++) {
    int32_t j = ts->cand[c];
    double d = cs__kmeans_dist2(x, s->C + (int64_t)j * dim, dim);
    if (d < best_d || (d == best_d && j < best_j)) {
      second_d = best_d < second_d ? best_d : second_d;
      best_d = d;
      best_j = j;
    } else if (d < second_d) {
      second_d = d;
    }
  }
  /* Non-candidates: d(x, j) >= d(a, j) - u. */
  double other_lb = (double)other_min - u * (1.0 + BOUND_MARGIN);
  double second = sqrt(second_d);
  ts->changed += best_j != a;
  s->labels[i] = best_j;
  s->upper[i] = sqrt(best_d);
  s->lower[i] = second < other_lb ? second : other_lb;
  ts->n_cand_rows++;
  return 1;
}

static void assign_worker(void *arg, int64_t t0, int64_t t1, int tid) {
  fast_state_t *s = arg;
  thread_scratch_t *ts = &s->scratch[tid];
  const int dim = s->dim;
  int rows = 0;
  for (;;) {
    int64_t chunk = atomic_fetch_add(&s->next_chunk, 1);
    if (chunk >= s->n_chunks) break;
    int64_t begin = chunk * CHUNK_ROWS;
    int64_t end = begin + CHUNK_ROWS < s->n ? begin + CHUNK_ROWS : s->n;
    for (int64_t i = begin; i < end; i++) {
      if (s->use_bounds && s->drift && !s->force[i]) {
        int32_t a = s->labels[i];
        s->upper[i] += s->drift[a];
        s->lower[i] -= a == s->drift_argmax ? s->drift_max2 : s->drift_max1;
        double m = s->lower[i] > s->half_sep[a] ? s->lower[i] : s->half_sep[a];
        if (s->upper[i] * (1.0 + BOUND_MARGIN) < m) continue;
        double d2a = cs__kmeans_dist2(s->X + i * dim, s->C + (int64_t)a * dim,
                                      dim);
        s->upper[i] = sqrt(d2a);
        ts->n_tight++;
        if (s->upper[i] * (1.0 + BOUND_MARGIN) < m) continue;
        if (s->cdist && decide_by_candidates(s, ts, i, d2a)) continue;
      }
      memcpy(ts->tile_x + (int64_t)rows * dim, s->X + i * dim,
             (size_t)dim * sizeof(float));
      ts->tile_idx[rows++] = i;
      if (rows == s->tile_rows) {
        finish_tile(s, ts, rows);
        rows = 0;
      }
    }
  }
  if (rows > 0) finish_tile(s, ts, rows);
}

/* One assignment pass over all rows; returns the number of changed labels. */
static int64_t assign_pass(fast_state_t *s) {
  for (int t = 0; t < s->n_threads; t++) {
    s->scratch[t].changed = s->scratch[t].n_full = s->scratch[t].n_tight = 0;
    s->scratch[t].n_cand_rows = 0;
  }
  atomic_store(&s->next_chunk, 0);
  s->n_chunks = (s->n + CHUNK_ROWS - 1) / CHUNK_ROWS;
  cs_parallel_for(s->n_threads, s->n_threads, assign_worker, s);
  int64_t changed = 0;
  for (int t = 0; t < s->n_threads; t++) changed += s->scratch[t].changed;
  return changed;
}

/* Squared norms of the centroids and, when bounds are used, half the
 * (lower bound of the) distance from each centroid to its nearest other. */
static void sep_worker(void *arg, int64_t j0, int64_t j1, int tid) {
  fast_state_t *s = arg;
  thread_scratch_t *ts = &s->scratch[tid];
  const int k = s->k, dim = s->dim;
  for (int64_t b = j0; b < j1; b += s->tile_rows) {
    int rows = (int)(j1 - b < s->tile_rows ? j1 - b : s->tile_rows);
    cs_gemm(CS_NOTRANS, CS_TRANS, rows, k, dim, -2.f, s->C + b * dim, dim,
            s->C, dim, 0.f, ts->tile_d, k);
    for (int q = 0; q < rows; q++) {
      int64_t j = b + q;
      const float *drow = ts->tile_d + (int64_t)q * k;
      double ccj = (double)s->cc[j];
      double tol = gemm_tol(dim, ccj + (double)s->ccmax);
      double best = INFINITY;
      for (int o = 0; o < k; o++) {
        if (o == j) continue;
        double v = (double)drow[o] + (double)s->cc[o];
        best = v < best ? v : best;
      }
      double lb = best + ccj - tol;
      s->half_sep[j] = lb > 0.0 ? 0.5 * sqrt(lb) : 0.0;
      if (s->cdist) {
        /* lower bounds of the distances, rounded down to float */
        float *out = s->cdist + j * k;
        for (int o = 0; o < k; o++) {
          double v = (double)drow[o] + (double)s->cc[o] + ccj - tol;
          out[o] = v > 0.0 ? nextafterf((float)sqrt(v), 0.f) : 0.f;
          if (out[o] < 0.f) out[o] = 0.f;
        }
        out[j] = 0.f;
      }
    }
  }
}

static void prepare_centroids(fast_state_t *s) {
  s->ccmax = 0.f;
  for (int j = 0; j < s->k; j++) {
    s->cc[j] = (float)cs_norm2_sq(s->dim, s->C + (int64_t)j * s->dim);
    s->ccmax = s->cc[j] > s->ccmax ? s->cc[j] : s->ccmax;
  }
  if (s->use_bounds && s->drift)
    cs_parallel_for(s->n_threads, s->k, sep_worker, s);
}

static void sums_worker(void *arg, int64_t i0, int64_t i1, int tid) {
  fast_state_t *s = arg;
  thread_scratch_t *ts = &s->scratch[tid];
  const int dim = s->dim;
  memset(ts->sums, 0, (size_t)s->k * (size_t)dim * sizeof *ts->sums);
  memset(ts->counts, 0, (size_t)s->k * sizeof *ts->counts);
  for (int64_t i = i0; i < i1; i++) {
    const float *x = s->X + i * dim;
    double *sum = ts->sums + (int64_t)s->labels[i] * dim;
    for (int d = 0; d < dim; d++) sum[d] += (double)x[d];
    ts->counts[s->labels[i]]++;
  }
}

static void norms_worker(void *arg, int64_t i0, int64_t i1, int tid) {
  fast_state_t *s = arg;
  for (int64_t i = i0; i < i1; i++)
    s->xx[i] = (float)cs_norm2_sq(s->dim, s->X + i * s->dim);
}

static void scratch_free(fast_state_t *s) {
  for (int t = 0; t < MAX_THREADS; t++) {
    free(s->scratch[t].tile_x);
    free(s->scratch[t].tile_d);
    free(s->scratch[t].tile_idx);
    free(s->scratch[t].sums);
    free(s->scratch[t].counts);
    free(s->scratch[t].cand);
  }
}

/* Common setup: thread count, tiles, row norms. with_sums adds the per-thread
 * centroid sums. Returns 0 or CS_ENOMEM. */
static int state_init(fast_state_t *s, const cs_ctx_t *ctx, const float *X,
                      int64_t n, int dim, int k, int with_sums) {
  memset(s, 0, sizeof *s);
  s->X = X;
  s->n = n;
  s->dim = dim;
  s->k = k;
  s->n_threads = ctx && ctx->n_threads > 1 ? ctx->n_threads : 1;
  if (s->n_threads > MAX_THREADS) s->n_threads = MAX_THREADS;
  /* ~512 KiB of distances per tile: stays in L2 beside the centroids. */
  s->tile_rows = 131072 / k;
  if (s->tile_rows < 8) s->tile_rows = 8;
  if (s->tile_rows > 256) s->tile_rows = 256;
  for (int t = 0; t < s->n_threads; t++) {
    thread_scratch_t *ts = &s->scratch[t];
    ts->tile_x = cs_alloc_aligned((size_t)s->tile_rows * dim * sizeof(float));
    ts->tile_d = cs_alloc_aligned((size_t)s->tile_rows * k * sizeof(float));
    ts->tile_idx = malloc((size_t)s->tile_rows * sizeof *ts->tile_idx);
    ts->cand = malloc(CAND_MAX * sizeof *ts->cand);
    if (!ts->tile_x || !ts->tile_d || !ts->tile_idx || !ts->cand)
      return CS_ENOMEM;
    if (with_sums) {
      ts->sums = malloc((size_t)k * (size_t)dim * sizeof *ts->sums);
      ts->counts = malloc((size_t)k * sizeof *ts->counts);
      if (!ts->sums || !ts->counts) return CS_ENOMEM;
    }
  }
  s->cc = malloc((size_t)k * sizeof *s->cc);
  s->xx = malloc((size_t)n * sizeof *s->xx);
  if (!s->cc || !s->xx) return CS_ENOMEM;
  cs_parallel_for(s->n_threads, n, norms_worker, s);
  return 0;
}

int cs__kmeans_blas_enter(int n_threads) {
  int saved = openblas_get_num_threads();
  if (n_threads > 1) openblas_set_num_threads(1);
  return saved;
}

void cs__kmeans_blas_leave(int n_threads, int saved) {
  if (n_threads > 1) openblas_set_num_threads(saved);
}

int cs__kmeans_fast(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                    int k, int max_iter, float *centroids, int32_t *labels,
                    int *n_iter, cs_err_t *err) {
  fast_state_t *s = calloc(1, sizeof *s);
  if (!s) return cs_err_set(err, CS_ENOMEM, "kmeans: out of memory");
  int rc = state_init(s, ctx, X, n, dim, k, 1);
  double *sums = malloc((size_t)k * (size_t)dim * sizeof *sums);
  int64_t *counts = malloc((size_t)k * sizeof *counts);
  double *dist2 = malloc((size_t)n * sizeof *dist2);
  double *drift = malloc((size_t)k * sizeof *drift);
  float *old_c = malloc((size_t)k * (size_t)dim * sizeof *old_c);
  s->upper = malloc((size_t)n * sizeof *s->upper);
  s->lower = malloc((size_t)n * sizeof *s->lower);
  s->half_sep = malloc((size_t)k * sizeof *s->half_sep);
  s->force = calloc((size_t)n, 1);
  if (k <= CDIST_MAX_K && k > 1) {
    s->cdist = malloc((size_t)k * (size_t)k * sizeof *s->cdist);
    if (!s->cdist) rc = CS_ENOMEM;
  }
  if (rc != 0 || !sums || !counts || !dist2 || !drift || !old_c ||
      !s->upper || !s->lower || !s->half_sep || !s->force) {
    rc = cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (n=%lld, k=%d)",
                    (long long)n, k);
    goto done;
  }
  int saved_blas = cs__kmeans_blas_enter(s->n_threads);
  s->C = centroids;
  s->labels = labels;
  s->use_bounds = 1;
  for (int64_t i = 0; i < n; i++) labels[i] = -1;
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans", max_iter);
  int iter = 0;
  for (;; iter++) {
    prepare_centroids(s);
    int64_t changed = assign_pass(s);
    int64_t n_full = 0, n_tight = 0, n_cand = 0;
    for (int t = 0; t < s->n_threads; t++) {
      n_full += s->scratch[t].n_full;
      n_tight += s->scratch[t].n_tight;
      n_cand += s->scratch[t].n_cand_rows;
    }
    cs_log(ctx, CS_LOG_DEBUG,
           "kmeans: iteration %d: %lld changed, %lld bound checks, %lld by "
           "candidates, %lld full scans",
           iter, (long long)changed, (long long)n_tight, (long long)n_cand,
           (long long)n_full);
    if (iter == max_iter || (iter > 0 && changed == 0)) break;

    cs_parallel_for(s->n_threads, n, sums_worker, s);
    memcpy(sums, s->scratch[0].sums, (size_t)k * dim * sizeof *sums);
    memcpy(counts, s->scratch[0].counts, (size_t)k * sizeof *counts);
    int used = s->n_threads < n ? s->n_threads : (int)n;
    for (int t = 1; t < used; t++) {
      const double *ps = s->scratch[t].sums;
      for (int64_t e = 0; e < (int64_t)k * dim; e++) sums[e] += ps[e];
      for (int j = 0; j < k; j++) counts[j] += s->scratch[t].counts[j];
    }
    int any_empty = 0;
    for (int j = 0; j < k; j++) any_empty |= counts[j] == 0;
    if (any_empty) {
      for (int64_t i = 0; i < n; i++)
        dist2[i] = cs__kmeans_dist2(X + i * dim,
                                    centroids + (int64_t)labels[i] * dim, dim);
    }
    memcpy(old_c, centroids, (size_t)k * dim * sizeof *old_c);
    cs__kmeans_update(X, n, dim, k, labels, dist2, sums, counts, centroids,
                      any_empty ? s->force : NULL);
    s->drift_max1 = s->drift_max2 = 0.0;
    s->drift_argmax = -1;
    for (int j = 0; j < k; j++) {
      const float *c0 = old_c + (int64_t)j * dim;
      const float *c1 = centroids + (int64_t)j * dim;
      drift[j] = sqrt(cs__kmeans_dist2(c0, c1, dim)) * (1.0 + BOUND_MARGIN);
      if (drift[j] > s->drift_max1) {
        s->drift_max2 = s->drift_max1;
        s->drift_max1 = drift[j];
        s->drift_argmax = j;
      } else if (drift[j] > s->drift_max2) {
        s->drift_max2 = drift[j];
      }
    }
    s->drift = drift;
    cs_progress_update(&prog, iter + 1);
  }
  cs_progress_finish(&prog);
  *n_iter = iter;
  cs__kmeans_blas_leave(s->n_threads, saved_blas);
done:
  scratch_free(s);
  free(s->cc);
  free(s->xx);
  free(s->upper);
  free(s->lower);
  free(s->half_sep);
  free(s->cdist);
  free(s->force);
  free(s);
  free(sums);
  free(counts);
  free(dist2);
  free(drift);
  free(old_c);
  return rc;
}

int cs_kmeans_assign(const cs_ctx_t *ctx, const float *centroids, int k,
                     int dim, const float *X, int64_t n, int32_t *out) {
  if (n <= 0) return 0;
  if (!centroids || !X || !out || k < 1 || dim < 1) return CS_EINVAL;
  fast_state_t *s = calloc(1, sizeof *s);
  if (!s) return CS_ENOMEM;
  int rc = state_init(s, ctx, X, n, dim, k, 0);
  if (rc == 0) {
    int saved_blas = cs__kmeans_blas_enter(s->n_threads);
    s->C = centroids;
    s->labels = out;
    for (int64_t i = 0; i < n; i++) out[i] = -1;
    prepare_centroids(s);
    assign_pass(s);
    cs__kmeans_blas_leave(s->n_threads, saved_blas);
  }
  scratch_free(s);
  free(s->cc);
  free(s->xx);
  free(s);
  return rc;
}

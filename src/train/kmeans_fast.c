/* kmeans_fast.c: exact accelerated Lloyd iterations and batch nearest-centroid
 * assignment. Distances come in tiles from one BLAS gemm
 * (||x||^2 - 2 x.c + ||c||^2), near-ties are re-decided on the exact distance
 * (cs_centroid_dist2, lower index wins). Yinyang-style bounds skip work: each
 * row keeps an upper bound on the distance to its centroid and one lower
 * bound per group of centroids (groups fixed after seeding); a row whose
 * bounds show its centroid cannot have changed is skipped, otherwise only
 * the groups whose bound is below the upper bound are opened, and in them
 * Elkan's rule (d(a, j) >= 2u) with the centroid-distance matrix skips most
 * centroids. Rows with too much left go to the gemm path.
 * Rows are spread over threads (and over MPI ranks, docs/mpi.md); the
 * centroid sums are fixed-point integers updated by the rows whose label
 * moved, so a seed gives the same bytes for any thread or rank count. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "train/kmeans_internal.h"

enum {
  CHUNK_ROWS = 1024,
  /* The centroid-distance matrix (k x k floats) is kept up to this k. */
  CDIST_MAX_K = 4096,
  /* Centroids per group of the Yinyang bounds. */
  GROUP_SIZE = 10
};

/* Relative margin on bound comparisons: covers the double rounding of the
 * exact distances and of the bound arithmetic many times over. */
#define BOUND_MARGIN 1e-9

typedef struct thread_scratch {
  float *tile_x;     /* [tile_rows x dim] gathered rows */
  float *tile_d;     /* [tile_rows x k] gemm output */
  int64_t *tile_idx; /* [tile_rows] row index of each gathered row */
  int64_t *sums;     /* [k x dim] fixed-point change of the centroid sums */
  float *gtmp;       /* [n_groups] */
  double *gm1, *gm2; /* [n_groups] two smallest bounds in an opened group */
  int32_t *garg;     /* [n_groups] centroid of gm1 */
  uint8_t *gopen;    /* [n_groups] */
  int32_t *ev_idx;   /* [k] centroids measured for one row */
  float *ev_d;       /* [k] their float distances */
  int64_t *counts;   /* [k] */
  int64_t changed, n_full, n_tight, n_group_rows, n_opened;
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
  const int32_t *prev; /* [n] labels before the pass (the sums' labels) */
  int scale;         /* fixed point of the sums */
  double *upper;     /* [n] >= distance to own centroid (NULL: no bounds) */
  int n_groups;
  int32_t *group_of; /* [k] group of each centroid */
  int32_t *gptr;     /* [n_groups + 1] members of g: gmem[gptr[g]..] */
  int32_t *gmem;     /* [k] centroids by group, ascending within a group */
  float *glb;        /* [n x n_groups] <= distance to the group's centroids
                        other than the row's own */
  float *gdrift;     /* [n_groups] >= largest move in the group */
  int open_max;      /* more centroids to open than this: gemm path */
  double *half_sep;  /* [k] <= half the distance to the nearest other */
  float *cdist;      /* [k x k] <= centroid-centroid distances, columns in
                        gmem order, or NULL */
  uint8_t *force;    /* [n] 1: bounds unusable, recompute fully */
  const double *drift; /* [k] how far each centroid moved (NULL: first pass) */
  int use_bounds;    /* 0: every row gets the full gemm pass */
  int tile_rows;
  int n_threads;
  atomic_llong next_chunk;
  int64_t n_chunks;
  thread_scratch_t *scratch; /* [n_threads] */
} fast_state_t;

/* Worst-case error of a gemm-form squared distance (float dot of length dim
 * plus three float additions), relative to ||x||^2 + ||c||^2, with slack. */
static double gemm_tol(int dim, double norms) {
  return (double)(dim + 16) * FLT_EPSILON * norms;
}

/* Row scans with GCC/Clang vector extensions (8 float lanes; plain scalar
 * code where the target has no vector unit). */
typedef float vf8_t __attribute__((vector_size(32)));
typedef int32_t vf8_mask_t __attribute__((vector_size(32)));

/* Macros rather than functions: no vector crosses a call (no ABI notes). */
#define VF8_LOAD(dst, p) memcpy(&(dst), (p), sizeof(vf8_t))
#define VF8_SPLAT(x) ((vf8_t){(x), (x), (x), (x), (x), (x), (x), (x)})
/* select b where mask else a */
#define VF8_SELECT(mask, b, a)                                                 \
  ((vf8_t)(((mask) & (vf8_mask_t)(b)) | (~(mask) & (vf8_mask_t)(a))))

static inline float vf8_hmin(const vf8_t *v) {
  float lanes[8];
  memcpy(lanes, v, sizeof lanes);
  float r = lanes[0];
  for (int l = 1; l < 8; l++) r = lanes[l] < r ? lanes[l] : r;
  return r;
}

/* v[j] += add[j]; returns the minimum of the result. */
static float add_and_min(float *v, const float *add, int k) {
  vf8_t m = VF8_SPLAT(INFINITY);
  int j = 0;
  for (; j + 8 <= k; j += 8) {
    vf8_t x, y;
    VF8_LOAD(x, v + j);
    VF8_LOAD(y, add + j);
    x += y;
    memcpy(v + j, &x, sizeof x);
    m = VF8_SELECT(x < m, x, m);
  }
  float r = vf8_hmin(&m);
  for (; j < k; j++) {
    v[j] += add[j];
    r = v[j] < r ? v[j] : r;
  }
  return r;
}

/* Number of v[j] <= limit, and the minimum of the others. */
static int count_within(const float *v, int k, float limit, float *out_other) {
  const vf8_t inf = VF8_SPLAT(INFINITY);
  const vf8_t lim = VF8_SPLAT(limit);
  vf8_t o = inf;
  vf8_mask_t cnt = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= k; j += 8) {
    vf8_t x;
    VF8_LOAD(x, v + j);
    vf8_mask_t in = x <= lim;
    cnt -= in; /* true lanes are -1 */
    vf8_t y = VF8_SELECT(in, inf, x);
    o = VF8_SELECT(y < o, y, o);
  }
  int32_t counts[8];
  memcpy(counts, &cnt, sizeof counts);
  int total = 0;
  for (int l = 0; l < 8; l++) total += counts[l];
  float r = vf8_hmin(&o);
  for (; j < k; j++) {
    if (v[j] <= limit)
      total++;
    else if (v[j] < r)
      r = v[j];
  }
  *out_other = r;
  return total;
}

/* sqrt(v) rounded down to a float (0 when v <= 0, FLT_MAX for +inf). */
static inline float lower_bound_f(double v) {
  if (!(v > 0.0)) return 0.f;
  float f = (float)sqrt(v);
  if (!(f > 0.f)) return 0.f;
  uint32_t bits; /* positive float (or +inf): one ulp down is bits - 1 */
  memcpy(&bits, &f, sizeof bits);
  bits--;
  memcpy(&f, &bits, sizeof f);
  return f;
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
      double d = cs_centroid_dist2(x, s->C + (int64_t)j * dim, dim);
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
    (void)second_d;
    (void)other_min;
    if (s->use_bounds) {
      /* group bounds from the gemm distances (lower bounds: minus tol) */
      const int G = s->n_groups;
      float *gm = ts->gtmp;
      for (int g = 0; g < G; g++) gm[g] = INFINITY;
      for (int j = 0; j < k; j++) {
        int32_t g = s->group_of[j];
        if (j != best_j && drow[j] < gm[g]) gm[g] = drow[j];
      }
      float *gl = s->glb + i * G;
      for (int g = 0; g < G; g++) gl[g] = lower_bound_f(xxi + gm[g] - tol);
      s->upper[i] = sqrt(best_d);
      s->force[i] = 0;
    }
  }
  ts->n_full += rows;
}

/* The opened groups of a row (group bound <= u): their centroids are
 * compared exactly, except those Elkan's rule rules out (d(a, j) > 2u, so
 * d(x, j) >= d(a, j) - u > u). Returns 0 when too many centroids would be
 * opened (the caller sends the row to the gemm path). */
static int decide_by_groups(fast_state_t *s, thread_scratch_t *ts, int64_t i,
                            double d2a) {
  const int G = s->n_groups, dim = s->dim;
  const int32_t a = s->labels[i];
  const double u = s->upper[i];
  const double thr = u * (1.0 + BOUND_MARGIN);
  float *gl = s->glb + i * G;
  int n_open = 0;
  for (int g = 0; g < G; g++) {
    ts->gopen[g] = (double)gl[g] <= thr;
    if (ts->gopen[g]) n_open += s->gptr[g + 1] - s->gptr[g];
  }
  if (n_open > s->open_max) return 0;
  const float *crow = s->cdist ? s->cdist + (int64_t)a * s->k : NULL;
  const double lim = 2.0 * thr;
  const float *x = s->X + i * dim;
  /* float distances first (relative error <= rel); only those that may
   * tie with the smallest are decided on the exact distance */
  const double rel = (double)(dim + 4) * FLT_EPSILON;
  int n_ev = 0;
  float min_df = INFINITY;
  for (int g = 0; g < G; g++) {
    if (!ts->gopen[g]) continue;
    double m1 = INFINITY, m2 = INFINITY;
    int32_t arg = -1;
    for (int32_t e = s->gptr[g]; e < s->gptr[g + 1]; e++) {
      int32_t j = s->gmem[e];
      double v;
      if (j == a) {
        v = u;
      } else if (crow && (double)crow[e] > lim) {
        v = (double)crow[e] - thr;
      } else {
        float df = cs_centroid_dist2f(x, s->C + (int64_t)j * dim, dim);
        v = sqrt((double)df / (1.0 + rel));
        ts->ev_idx[n_ev] = j;
        ts->ev_d[n_ev++] = df;
        min_df = df < min_df ? df : min_df;
        ts->n_opened++;
      }
      if (v < m1) {
        m2 = m1;
        m1 = v;
        arg = j;
      } else if (v < m2) {
        m2 = v;
      }
    }
    ts->gm1[g] = m1;
    ts->gm2[g] = m2;
    ts->garg[g] = arg;
  }
  /* a member with df > min_df (1 + rel) / (1 - rel) is farther than the
   * member of min_df, whatever the rounding */
  double best_d = d2a;
  int32_t best_j = a;
  const double recheck = (double)min_df * (1.0 + rel) / (1.0 - rel);
  for (int c = 0; c < n_ev; c++) {
    if ((double)ts->ev_d[c] > recheck) continue;
    int32_t j = ts->ev_idx[c];
    double d = cs_centroid_dist2(x, s->C + (int64_t)j * dim, dim);
    if (d < best_d || (d == best_d && j < best_j)) {
      best_d = d;
      best_j = j;
    }
  }
  /* group bounds: the smallest lower bound of the members other than the
   * best (the smallest of all is still a valid, if weaker, bound) */
  for (int g = 0; g < G; g++) {
    if (!ts->gopen[g]) continue;
    double v = ts->garg[g] == best_j ? ts->gm2[g] : ts->gm1[g];
    gl[g] = lower_bound_f(v * v);
  }
  if (best_j != a) {
    int32_t ga = s->group_of[a];
    if (!ts->gopen[ga]) {
      float v = lower_bound_f(d2a);
      gl[ga] = v < gl[ga] ? v : gl[ga];
    }
    ts->changed++;
  }
  s->labels[i] = best_j;
  s->upper[i] = sqrt(best_d);
  ts->n_group_rows++;
  return 1;
}

/* gl[g] -= gdrift[g], kept a lower bound despite float rounding (minus
 * 2^-22 relative, more than the half-ulp error); returns the minimum. */
static float drift_group_bounds(float *gl, const float *gdrift, int G) {
  const float c = 2.4e-7f;
  const vf8_t cv = VF8_SPLAT(c);
  const vf8_mask_t abs_mask = {0x7fffffff, 0x7fffffff, 0x7fffffff,
                               0x7fffffff, 0x7fffffff, 0x7fffffff,
                               0x7fffffff, 0x7fffffff};
  vf8_t mv = VF8_SPLAT(FLT_MAX);
  int g = 0;
  for (; g + 8 <= G; g += 8) {
    vf8_t v, d;
    VF8_LOAD(v, gl + g);
    VF8_LOAD(d, gdrift + g);
    v -= d;
    v -= (vf8_t)((vf8_mask_t)v & abs_mask) * cv;
    memcpy(gl + g, &v, sizeof v);
    mv = VF8_SELECT(v < mv, v, mv);
  }
  float m = vf8_hmin(&mv);
  for (; g < G; g++) {
    float v = gl[g] - gdrift[g];
    v -= fabsf(v) * c;
    gl[g] = v;
    m = v < m ? v : m;
  }
  return m;
}

static int assign_worker(void *arg, int64_t t0, int64_t t1, int tid, cs_err_t *err) {
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
        double gmin = (double)drift_group_bounds(s->glb + i * s->n_groups,
                                                 s->gdrift, s->n_groups);
        double m = gmin > s->half_sep[a] ? gmin : s->half_sep[a];
        if (s->upper[i] * (1.0 + BOUND_MARGIN) < m) continue;
        double d2a = cs_centroid_dist2(s->X + i * dim, s->C + (int64_t)a * dim,
                                      dim);
        s->upper[i] = sqrt(d2a);
        ts->n_tight++;
        if (s->upper[i] * (1.0 + BOUND_MARGIN) < m) continue;
        if (decide_by_groups(s, ts, i, d2a)) continue;
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
  return 0;
}

/* One assignment pass over all rows; returns the number of changed labels. */
static int64_t assign_pass(fast_state_t *s) {
  for (int t = 0; t < s->n_threads; t++) {
    s->scratch[t].changed = s->scratch[t].n_full = s->scratch[t].n_tight = 0;
    s->scratch[t].n_group_rows = s->scratch[t].n_opened = 0;
  }
  atomic_store(&s->next_chunk, 0);
  s->n_chunks = (s->n + CHUNK_ROWS - 1) / CHUNK_ROWS;
  cs_parallel_for(s->n_threads, s->n_threads, assign_worker, s, NULL);
  int64_t changed = 0;
  for (int t = 0; t < s->n_threads; t++) changed += s->scratch[t].changed;
  return changed;
}

/* Squared norms of the centroids and, when bounds are used, half the
 * (lower bound of the) distance from each centroid to its nearest other. */
static int sep_worker(void *arg, int64_t j0, int64_t j1, int tid, cs_err_t *err) {
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
        /* columns in group-member order (gmem), as the group pass reads */
        float *out = s->cdist + j * k;
        for (int e = 0; e < k; e++) {
          int32_t o = s->gmem[e];
          double v = (double)drow[o] + (double)s->cc[o] + ccj - tol;
          out[e] = o == j ? 0.f : lower_bound_f(v);
        }
      }
    }
  }
  return 0;
}

static void prepare_centroids(fast_state_t *s) {
  s->ccmax = 0.f;
  for (int j = 0; j < s->k; j++) {
    s->cc[j] = (float)cs_norm2_sq(s->dim, s->C + (int64_t)j * s->dim);
    s->ccmax = s->cc[j] > s->ccmax ? s->cc[j] : s->ccmax;
  }
  if (s->use_bounds && s->drift)
    cs_parallel_for(s->n_threads, s->k, sep_worker, s, NULL);
}

/* The change of the centroid sums and counts from the rows whose label
 * moved (prev -> labels): exact integers, so adding the changes gives the
 * same bits as summing every row again, in any order. */
static int sums_worker(void *arg, int64_t i0, int64_t i1, int tid, cs_err_t *err) {
  fast_state_t *s = arg;
  thread_scratch_t *ts = &s->scratch[tid]; /* zeroed by the caller */
  const int dim = s->dim;
  for (int64_t i = i0; i < i1; i++) {
    int32_t a = s->labels[i], b = s->prev[i];
    if (a == b) continue;
    const float *x = s->X + i * dim;
    cs__kmeans_add_row(ts->sums + (int64_t)a * dim, x, dim, s->scale, +1);
    ts->counts[a]++;
    if (b >= 0) {
      cs__kmeans_add_row(ts->sums + (int64_t)b * dim, x, dim, s->scale, -1);
      ts->counts[b]--;
    }
  }
  return 0;
}

static int norms_worker(void *arg, int64_t i0, int64_t i1, int tid, cs_err_t *err) {
  fast_state_t *s = arg;
  for (int64_t i = i0; i < i1; i++)
    s->xx[i] = (float)cs_norm2_sq(s->dim, s->X + i * s->dim);
  return 0;
}

static void scratch_free(fast_state_t *s) {
  for (int t = 0; s->scratch && t < s->n_threads; t++) {
    free(s->scratch[t].tile_x);
    free(s->scratch[t].tile_d);
    free(s->scratch[t].tile_idx);
    free(s->scratch[t].sums);
    free(s->scratch[t].counts);
    free(s->scratch[t].gtmp);
    free(s->scratch[t].gm1);
    free(s->scratch[t].gm2);
    free(s->scratch[t].garg);
    free(s->scratch[t].gopen);
    free(s->scratch[t].ev_idx);
    free(s->scratch[t].ev_d);
  }
  free(s->scratch);
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
  s->n_threads = cs_ctx_threads(ctx);
  s->scratch = calloc((size_t)s->n_threads, sizeof *s->scratch);
  if (!s->scratch) return CS_ENOMEM;
  /* ~512 KiB of distances per tile: stays in L2 beside the centroids. */
  s->tile_rows = 131072 / k;
  if (s->tile_rows < 8) s->tile_rows = 8;
  if (s->tile_rows > 256) s->tile_rows = 256;
  for (int t = 0; t < s->n_threads; t++) {
    thread_scratch_t *ts = &s->scratch[t];
    ts->tile_x = cs_alloc_aligned((size_t)s->tile_rows * dim * sizeof(float));
    ts->tile_d = cs_alloc_aligned((size_t)s->tile_rows * k * sizeof(float));
    ts->tile_idx = malloc((size_t)s->tile_rows * sizeof *ts->tile_idx);
    if (!ts->tile_x || !ts->tile_d || !ts->tile_idx) return CS_ENOMEM;
    if (with_sums) {
      ts->sums = malloc((size_t)k * (size_t)dim * sizeof *ts->sums);
      ts->counts = malloc((size_t)k * sizeof *ts->counts);
      if (!ts->sums || !ts->counts) return CS_ENOMEM;
    }
  }
  s->cc = malloc((size_t)k * sizeof *s->cc);
  s->xx = malloc((size_t)(n + 1) * sizeof *s->xx);
  if (!s->cc || !s->xx) return CS_ENOMEM;
  cs_parallel_for(s->n_threads, n, norms_worker, s, NULL);
  return 0;
}

/* Group arrays (n_groups = k / GROUP_SIZE, at least 1) and the per-thread
 * scratch the group pass needs. */
static int groups_init(fast_state_t *s) {
  const int k = s->k;
  const int G = k / GROUP_SIZE > 1 ? k / GROUP_SIZE : 1;
  s->n_groups = G;
  s->open_max = k / 4 > 8 ? k / 4 : 8;
  s->group_of = malloc((size_t)k * sizeof *s->group_of);
  s->gptr = malloc((size_t)(G + 1) * sizeof *s->gptr);
  s->gmem = malloc((size_t)k * sizeof *s->gmem);
  s->glb = malloc((size_t)(s->n + 1) * (size_t)G * sizeof *s->glb);
  s->gdrift = malloc((size_t)G * sizeof *s->gdrift);
  if (!s->group_of || !s->gptr || !s->gmem || !s->glb || !s->gdrift)
    return CS_ENOMEM;
  for (int t = 0; t < s->n_threads; t++) {
    thread_scratch_t *ts = &s->scratch[t];
    ts->gtmp = malloc((size_t)G * sizeof *ts->gtmp);
    ts->gm1 = malloc((size_t)G * sizeof *ts->gm1);
    ts->gm2 = malloc((size_t)G * sizeof *ts->gm2);
    ts->garg = malloc((size_t)G * sizeof *ts->garg);
    ts->gopen = malloc((size_t)G);
    ts->ev_idx = malloc((size_t)k * sizeof *ts->ev_idx);
    ts->ev_d = malloc((size_t)k * sizeof *ts->ev_d);
    if (!ts->gtmp || !ts->gm1 || !ts->gm2 || !ts->garg || !ts->gopen ||
        !ts->ev_idx || !ts->ev_d)
      return CS_ENOMEM;
  }
  return 0;
}

/* Group the seeded centroids: a few Lloyd rounds over the centroids with G
 * evenly spaced ones as the start (k-means++ spreads them). Deterministic;
 * any grouping is correct, a good one prunes more. */
static int make_groups(fast_state_t *s) {
  const int k = s->k, dim = s->dim, G = s->n_groups;
  float *gc = malloc((size_t)G * dim * sizeof *gc);
  double *gsum = malloc((size_t)G * dim * sizeof *gsum);
  int64_t *gcount = malloc((size_t)G * sizeof *gcount);
  int32_t *fill = malloc((size_t)G * sizeof *fill);
  if (!gc || !gsum || !gcount || !fill) {
    free(gc);
    free(gsum);
    free(gcount);
    free(fill);
    return CS_ENOMEM;
  }
  for (int g = 0; g < G; g++)
    memcpy(gc + (int64_t)g * dim, s->C + (int64_t)g * k / G * dim,
           (size_t)dim * sizeof(float));
  for (int round = 0; round < 6; round++) {
    for (int j = 0; j < k; j++) {
      int best = 0;
      float best_d = INFINITY;
      for (int g = 0; g < G; g++) {
        float d = cs_centroid_dist2f(s->C + (int64_t)j * dim,
                                    gc + (int64_t)g * dim, dim);
        if (d < best_d) {
          best_d = d;
          best = g;
        }
      }
      s->group_of[j] = best;
    }
    memset(gsum, 0, (size_t)G * dim * sizeof *gsum);
    memset(gcount, 0, (size_t)G * sizeof *gcount);
    for (int j = 0; j < k; j++) {
      double *sum = gsum + (int64_t)s->group_of[j] * dim;
      for (int d = 0; d < dim; d++) sum[d] += s->C[(int64_t)j * dim + d];
      gcount[s->group_of[j]]++;
    }
    for (int g = 0; g < G; g++)
      if (gcount[g] > 0)
        for (int d = 0; d < dim; d++)
          gc[(int64_t)g * dim + d] =
              (float)(gsum[(int64_t)g * dim + d] / (double)gcount[g]);
  }
  /* members by group, ascending index within a group */
  for (int g = 0; g <= G; g++) s->gptr[g] = 0;
  for (int j = 0; j < k; j++) s->gptr[s->group_of[j] + 1]++;
  for (int g = 0; g < G; g++) s->gptr[g + 1] += s->gptr[g];
  for (int g = 0; g < G; g++) {
    fill[g] = s->gptr[g];
    s->gdrift[g] = 0.f;
  }
  for (int j = 0; j < k; j++) s->gmem[fill[s->group_of[j]]++] = j;
  free(gc);
  free(gsum);
  free(gcount);
  free(fill);
  return 0;
}

int cs__kmeans_fast(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                    const float *X, int dim, int k, int max_iter,
                    float *centroids, int32_t *labels, int *n_iter,
                    cs_err_t *err) {
  const int64_t n = rows->n_local;
  fast_state_t *s = calloc(1, sizeof *s);
  if (!s) return cs_err_set(err, CS_ENOMEM, "kmeans: out of memory");
  int rc = state_init(s, ctx, X, n, dim, k, 1);
  int64_t *sums = calloc((size_t)k * (size_t)dim, sizeof *sums);
  int64_t *counts = calloc((size_t)k, sizeof *counts);
  double *dist2 = malloc((size_t)(n + 1) * sizeof *dist2);
  double *drift = malloc((size_t)k * sizeof *drift);
  float *old_c = malloc((size_t)k * (size_t)dim * sizeof *old_c);
  int32_t *prev = malloc((size_t)(n + 1) * sizeof *prev);
  s->upper = malloc((size_t)(n + 1) * sizeof *s->upper);
  s->half_sep = malloc((size_t)k * sizeof *s->half_sep);
  s->force = calloc((size_t)n + 1, 1);
  if (k <= CDIST_MAX_K && k > 1) {
    s->cdist = malloc((size_t)k * (size_t)k * sizeof *s->cdist);
    if (!s->cdist) rc = CS_ENOMEM;
  }
  if (rc == 0) rc = groups_init(s);
  if (rc != 0 || !sums || !counts || !dist2 || !drift || !old_c || !prev ||
      !s->upper || !s->half_sep || !s->force)
    rc = cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (n=%lld, k=%d)",
                    (long long)n, k);
  if ((rc = cs_dist_agree(rows->d, rc, err))) goto done;
  s->scale = cs__kmeans_scale(rows, X, dim);
  s->prev = prev;
  /* our threads each call a single-threaded BLAS */
  int saved_blas = cs_blas_set_threads(1);
  s->C = centroids;
  s->labels = labels;
  s->use_bounds = 1;
  if (make_groups(s) != 0) {
    cs_blas_set_threads(saved_blas);
    rc = cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (k=%d)", k);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) labels[i] = -1;
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans", max_iter);
  int iter = 0;
  for (;; iter++) {
    prepare_centroids(s);
    memcpy(prev, labels, (size_t)n * sizeof *prev);
    int64_t changed = assign_pass(s);
    cs_dist_sum_i64(rows->d, &changed, 1);
    int64_t n_full = 0, n_tight = 0, n_group = 0, n_opened = 0;
    for (int t = 0; t < s->n_threads; t++) {
      n_full += s->scratch[t].n_full;
      n_tight += s->scratch[t].n_tight;
      n_group += s->scratch[t].n_group_rows;
      n_opened += s->scratch[t].n_opened;
    }
    cs_log(ctx, CS_LOG_DEBUG,
           "kmeans: iteration %d: %lld changed; %lld rows past the bounds, "
           "%lld decided in their groups (%lld distances), %lld full scans",
           iter, (long long)changed, (long long)n_tight, (long long)n_group,
           (long long)n_opened, (long long)n_full);
    if (iter == max_iter || (iter > 0 && changed == 0)) break;

    /* the sums follow the moved rows: exact, so equal to a full sum.
     * Every thread's scratch is zeroed first: a pool that falls back to
     * fewer threads leaves the others' untouched, and they are summed;
     * thread 0's is zeroed even with no rows here (no change to add) */
    int used = s->n_threads < n ? s->n_threads : (int)n;
    for (int t = 0; t < (used > 0 ? used : 1); t++) {
      memset(s->scratch[t].sums, 0, (size_t)k * dim * sizeof *sums);
      memset(s->scratch[t].counts, 0, (size_t)k * sizeof *counts);
    }
    cs_parallel_for(s->n_threads, n, sums_worker, s, NULL);
    for (int t = 1; t < used; t++) {
      int64_t *p0 = s->scratch[0].sums, *c0 = s->scratch[0].counts;
      const int64_t *ps = s->scratch[t].sums, *pc = s->scratch[t].counts;
      for (int64_t e = 0; e < (int64_t)k * dim; e++) p0[e] += ps[e];
      for (int j = 0; j < k; j++) c0[j] += pc[j];
    }
    cs_dist_sum_i64(rows->d, s->scratch[0].sums, (int64_t)k * dim);
    cs_dist_sum_i64(rows->d, s->scratch[0].counts, k);
    for (int64_t e = 0; e < (int64_t)k * dim; e++) sums[e] += s->scratch[0].sums[e];
    for (int j = 0; j < k; j++) counts[j] += s->scratch[0].counts[j];
    int any_empty = 0;
    for (int j = 0; j < k; j++) any_empty |= counts[j] == 0;
    if (any_empty) {
      for (int64_t i = 0; i < n; i++)
        dist2[i] = cs_centroid_dist2(X + i * dim,
                                    centroids + (int64_t)labels[i] * dim, dim);
    }
    memcpy(old_c, centroids, (size_t)k * dim * sizeof *old_c);
    cs__kmeans_update(rows, X, dim, k, labels, dist2, sums, s->scale, counts,
                      centroids, any_empty ? s->force : NULL);
    for (int g = 0; g < s->n_groups; g++) s->gdrift[g] = 0.f;
    for (int j = 0; j < k; j++) {
      const float *c0 = old_c + (int64_t)j * dim;
      const float *c1 = centroids + (int64_t)j * dim;
      drift[j] = sqrt(cs_centroid_dist2(c0, c1, dim)) * (1.0 + BOUND_MARGIN);
      /* rounded up to float */
      float up = nextafterf((float)drift[j], INFINITY);
      int32_t g = s->group_of[j];
      if (up > s->gdrift[g]) s->gdrift[g] = up;
    }
    s->drift = drift;
    cs_progress_update(&prog, iter + 1);
  }
  cs_progress_finish(&prog);
  *n_iter = iter;
  cs_blas_set_threads(saved_blas);
done:
  scratch_free(s);
  free(s->cc);
  free(s->xx);
  free(s->upper);
  free(s->half_sep);
  free(s->group_of);
  free(s->gptr);
  free(s->gmem);
  free(s->glb);
  free(s->gdrift);
  free(s->cdist);
  free(s->force);
  free(s);
  free(sums);
  free(counts);
  free(dist2);
  free(drift);
  free(old_c);
  free(prev);
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
    int saved_blas = cs_blas_set_threads(1);
    s->C = centroids;
    s->labels = out;
    for (int64_t i = 0; i < n; i++) out[i] = -1;
    prepare_centroids(s);
    assign_pass(s);
    cs_blas_set_threads(saved_blas);
  }
  scratch_free(s);
  free(s->cc);
  free(s->xx);
  free(s);
  return rc;
}

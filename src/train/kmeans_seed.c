/* kmeans_seed.c: k-means++ seeding (Arthur & Vassilvitskii: each next center
 * is a row drawn with probability proportional to its squared distance to
 * the nearest center so far) made fast by lazy updates: the distances are
 * refreshed in BLAS gemm blocks against batches of new centers, and between
 * refreshes a row drawn from the stale distances (upper bounds) is accepted
 * with probability true / stale, which samples the exact k-means++
 * distribution. Rows are split in fixed blocks whose sums are added in block
 * order: same seed, same centroids, whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "train/kmeans_internal.h"

enum {
  SEED_BLOCK = 2048,  /* rows per block (sampling and gemm tiles) */
  MAX_BATCH = 64,     /* new centers per refresh, at most */
  MAX_REJECTS = 64    /* then refresh anyway */
};

typedef struct seed_state {
  const float *X;
  int64_t n;
  int dim;
  const float *centroids;
  float *xx;        /* [n] squared row norms */
  float *cc;        /* [k] squared center norms */
  float *closest;   /* [n] squared distance to the nearest refreshed center */
  double *block_pot;/* [n_blocks] sum of closest over the block */
  int64_t n_blocks;
  int refreshed;    /* centers [0, refreshed) are reflected in closest */
  int n_centers;
  float *tiles;     /* [n_threads x SEED_BLOCK x MAX_BATCH] gemm output */
} seed_state_t;

/* closest = min(closest, distance to centers [refreshed, n_centers)) for the
 * rows of blocks [b0, b1), then the block sums. */
static int refresh_blocks(void *arg, int64_t b0, int64_t b1, int tid, cs_err_t *err) {
  seed_state_t *s = arg;
  const int dim = s->dim;
  const int first = s->refreshed, count = s->n_centers - s->refreshed;
  float *tile = s->tiles + (int64_t)tid * SEED_BLOCK * MAX_BATCH;
  for (int64_t b = b0; b < b1; b++) {
    int64_t begin = b * SEED_BLOCK;
    int64_t rows = s->n - begin < SEED_BLOCK ? s->n - begin : SEED_BLOCK;
    cs_gemm(CS_NOTRANS, CS_TRANS, rows, count, dim, -2.f, s->X + begin * dim,
            dim, s->centroids + (int64_t)first * dim, dim, 0.f, tile, count);
    double pot = 0.0;
    for (int64_t q = 0; q < rows; q++) {
      const float *d = tile + q * count;
      float best = s->closest[begin + q];
      float xx = s->xx[begin + q];
      for (int j = 0; j < count; j++) {
        float v = xx + s->cc[first + j] + d[j];
        best = v < best ? v : best;
      }
      best = best > 0.f ? best : 0.f;
      s->closest[begin + q] = best;
      pot += (double)best;
    }
    s->block_pot[b] = pot;
  }
  return 0;
}

/* A row drawn with probability closest[i] / total. */
static int64_t draw_row(const seed_state_t *s, cs_rng_t *rng, double total) {
  double r = cs_rng_uniform(rng) * total;
  int64_t b = 0, last_b = -1;
  for (; b < s->n_blocks; b++) {
    if (s->block_pot[b] > 0.0) last_b = b;
    if (r < s->block_pot[b]) break;
    r -= s->block_pot[b];
  }
  if (b == s->n_blocks) b = last_b; /* rounding pushed us past the end */
  int64_t begin = b * SEED_BLOCK;
  int64_t end = begin + SEED_BLOCK < s->n ? begin + SEED_BLOCK : s->n;
  int64_t last_i = begin;
  for (int64_t i = begin; i < end; i++) {
    if (s->closest[i] > 0.f) last_i = i;
    if (r < (double)s->closest[i]) return i;
    r -= (double)s->closest[i];
  }
  return last_i;
}

static void refresh(seed_state_t *s, int n_threads) {
  if (s->n_centers == s->refreshed) return;
  cs_parallel_for(n_threads, s->n_blocks, refresh_blocks, s, NULL);
  s->refreshed = s->n_centers;
}

int cs__kmeans_seed(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                    int k, uint64_t seed, float *centroids, cs_err_t *err) {
  return cs__kmeans_seed_from(ctx, X, n, dim, k, 0, seed, centroids, err);
}

int cs__kmeans_seed_from(const cs_ctx_t *ctx, const float *X, int64_t n,
                         int dim, int k, int k_init, uint64_t seed,
                         float *centroids, cs_err_t *err) {
  seed_state_t s;
  memset(&s, 0, sizeof s);
  s.X = X;
  s.n = n;
  s.dim = dim;
  s.centroids = centroids;
  s.n_blocks = (n + SEED_BLOCK - 1) / SEED_BLOCK;
  int n_threads = cs_ctx_threads(ctx);
  s.xx = malloc((size_t)n * sizeof *s.xx);
  s.cc = malloc((size_t)k * sizeof *s.cc);
  s.closest = malloc((size_t)n * sizeof *s.closest);
  s.block_pot = calloc((size_t)s.n_blocks, sizeof *s.block_pot);
  s.tiles = cs_alloc_aligned((size_t)n_threads * SEED_BLOCK * MAX_BATCH *
                             sizeof(float));
  if (!s.xx || !s.cc || !s.closest || !s.block_pot || !s.tiles) {
    free(s.xx);
    free(s.cc);
    free(s.closest);
    free(s.block_pot);
    free(s.tiles);
    return cs_err_set(err, CS_ENOMEM, "kmeans++: out of memory (n=%lld)",
                      (long long)n);
  }
  int saved_blas = cs_blas_set_threads(1); /* our threads call BLAS */
  for (int64_t i = 0; i < n; i++) {
    s.xx[i] = (float)cs_norm2_sq(dim, X + i * dim);
    s.closest[i] = INFINITY;
  }
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans++ seeding", k);
  int64_t chosen = 0;
  if (k_init > 0) {
    /* the given centers, reflected in `closest` MAX_BATCH at a time */
    for (int j = 0; j < k_init; j++)
      s.cc[j] = (float)cs_norm2_sq(dim, centroids + (int64_t)j * dim);
    while (s.refreshed < k_init) {
      s.n_centers = s.refreshed + MAX_BATCH < k_init ? s.refreshed + MAX_BATCH
                                                     : k_init;
      refresh(&s, n_threads);
    }
  } else {
    chosen = (int64_t)cs_rng_below(&rng, (uint64_t)n);
  }
  int rejects = 0;
  for (int c = k_init; c < k;) {
    if (c > 0) {
      /* Refresh when the batch is full: doubling at first (the potential
       * falls fast), then every MAX_BATCH centers, or after many rejects. */
      int pending = c - s.refreshed;
      int batch = s.refreshed < MAX_BATCH ? s.refreshed : MAX_BATCH;
      if (pending >= (batch > 0 ? batch : 1) || rejects >= MAX_REJECTS) {
        refresh(&s, n_threads);
        rejects = 0;
      }
      double total = 0.0;
      for (int64_t b = 0; b < s.n_blocks; b++) total += s.block_pot[b];
      if (!(total > 0.0)) {
        /* every row sits on a center: any row will do */
        chosen = (int64_t)cs_rng_below(&rng, (uint64_t)n);
      } else {
        chosen = draw_row(&s, &rng, total);
        float stale = s.closest[chosen];
        const float *x = X + chosen * dim;
        float now = stale;
        for (int j = s.refreshed; j < c; j++) {
          float d = cs_centroid_dist2f(x, centroids + (int64_t)j * dim, dim);
          now = d < now ? d : now;
        }
        double u = cs_rng_uniform(&rng);
        if (!(u * (double)stale < (double)now)) {
          rejects++;
          continue;
        }
      }
    }
    float *dst = centroids + (int64_t)c * dim;
    memcpy(dst, X + chosen * dim, (size_t)dim * sizeof(float));
    s.cc[c] = (float)cs_norm2_sq(dim, dst);
    if (c > 0) { /* the row itself is now at distance 0 */
      int64_t b = chosen / SEED_BLOCK;
      s.block_pot[b] -= (double)s.closest[chosen];
      if (s.block_pot[b] < 0.0) s.block_pot[b] = 0.0;
      s.closest[chosen] = 0.f;
    }
    s.n_centers = ++c;
    if (c == 1) refresh(&s, n_threads);
    cs_progress_update(&prog, c);
  }
  cs_progress_finish(&prog);
  cs_blas_set_threads(saved_blas);
  free(s.xx);
  free(s.cc);
  free(s.closest);
  free(s.block_pot);
  free(s.tiles);
  return 0;
}

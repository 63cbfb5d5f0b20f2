/* kmeans_seed.c: k-means++ seeding (Arthur & Vassilvitskii: each next center
 * is a row drawn with probability proportional to its squared distance to
 * the nearest center so far) made fast by lazy updates: the distances are
 * refreshed in BLAS gemm blocks against batches of new centers, and between
 * refreshes a row drawn from the stale distances (upper bounds) is accepted
 * with probability true / stale, which samples the exact k-means++
 * distribution. Rows are split in fixed blocks whose sums are added in block
 * order: same seed, same centroids, whatever the thread count. Over MPI
 * ranks (docs/mpi.md) each rank refreshes its own blocks, the block sums
 * are shared after each refresh, every rank draws the same numbers, and
 * the rank holding a drawn row sends it (one small broadcast per draw). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "train/kmeans_internal.h"

enum {
  SEED_BLOCK = CS__KM_BLOCK, /* rows per block (sampling and gemm tiles) */
  MAX_BATCH = 64,            /* new centers per refresh, at most */
  MAX_REJECTS = 64           /* then refresh anyway */
};

typedef struct seed_state {
  const cs__km_rows_t *rows;
  const float *X;   /* the local rows */
  int dim;
  const float *centroids;
  float *xx;        /* [n_local] squared row norms */
  float *cc;        /* [k] squared center norms */
  float *closest;   /* [n_local] squared distance to the nearest refreshed
                       center */
  double *block_pot;/* [n_blocks] sum of closest over each block (all
                       ranks' blocks, the same on every rank) */
  int64_t n_blocks, b0, n_local_blocks; /* all; first and count held here */
  int64_t *block_off; /* [size + 1] first block of each rank */
  int refreshed;    /* centers [0, refreshed) are reflected in closest */
  int n_centers;
  float *tiles;     /* [n_threads x SEED_BLOCK x MAX_BATCH] gemm output */
} seed_state_t;

/* closest = min(closest, distance to centers [refreshed, n_centers)) for the
 * rows of local blocks [b0, b1), then the block sums. */
static int refresh_blocks(void *arg, int64_t b0, int64_t b1, int tid, cs_err_t *err) {
  seed_state_t *s = arg;
  const int dim = s->dim;
  const int first = s->refreshed, count = s->n_centers - s->refreshed;
  const int64_t n_local = s->rows->n_local;
  float *tile = s->tiles + (int64_t)tid * SEED_BLOCK * MAX_BATCH;
  for (int64_t b = b0; b < b1; b++) {
    int64_t begin = b * SEED_BLOCK;
    int64_t rows = n_local - begin < SEED_BLOCK ? n_local - begin : SEED_BLOCK;
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
    s->block_pot[s->b0 + b] = pot;
  }
  return 0;
}

/* The rank holding block b. */
static int block_owner(const seed_state_t *s, int64_t b) {
  int r = 0;
  while (r + 1 < s->rows->d->size && s->block_off[r + 1] <= b) r++;
  return r;
}

/* The block a draw r in [0, total) falls in (replicated on every rank);
 * *r becomes the remainder inside it. */
static int64_t draw_block(const seed_state_t *s, double *r) {
  int64_t b = 0, last_b = -1;
  for (; b < s->n_blocks; b++) {
    if (s->block_pot[b] > 0.0) last_b = b;
    if (*r < s->block_pot[b]) break;
    *r -= s->block_pot[b];
  }
  if (b == s->n_blocks) { /* rounding pushed us past the end */
    b = last_b;
    *r = INFINITY;
  }
  return b;
}

/* The local row of local block lb where the remainder r falls. */
static int64_t draw_in_block(const seed_state_t *s, int64_t lb, double r) {
  int64_t begin = lb * SEED_BLOCK;
  int64_t end = begin + SEED_BLOCK < s->rows->n_local ? begin + SEED_BLOCK
                                                      : s->rows->n_local;
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
  cs_parallel_for(n_threads, s->n_local_blocks, refresh_blocks, s, NULL);
  cs_dist_allgather_rows(s->rows->d, s->block_pot, sizeof(double),
                         s->block_off);
  s->refreshed = s->n_centers;
}

/* What every rank needs about a drawn row, sent by the rank holding it. */
typedef struct {
  int64_t row;   /* global index */
  float stale;   /* closest[row] */
  float now;     /* min(stale, distance to the pending centers) */
} drawn_t;

/* The owner of global row g fills *dr and x (dim floats), then shares. */
static void share_row(const seed_state_t *s, int64_t g, int pending_from,
                      int pending_to, drawn_t *dr, float *x) {
  const cs__km_rows_t *rows = s->rows;
  int owner = block_owner(s, g / SEED_BLOCK);
  if (owner == rows->d->rank) {
    int64_t i = g - rows->row0;
    memcpy(x, s->X + i * s->dim, (size_t)s->dim * sizeof(float));
    dr->row = g;
    dr->stale = s->closest[i];
    float now = dr->stale;
    for (int j = pending_from; j < pending_to; j++) {
      float d = cs_centroid_dist2f(x, s->centroids + (int64_t)j * s->dim,
                                   s->dim);
      now = d < now ? d : now;
    }
    dr->now = now;
  }
  cs_dist_bcast(rows->d, dr, sizeof *dr, owner);
  cs_dist_bcast(rows->d, x, (size_t)s->dim * sizeof(float), owner);
}

int cs__kmeans_seed(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                    const float *X, int dim, int k, uint64_t seed,
                    float *centroids, cs_err_t *err) {
  seed_state_t s;
  memset(&s, 0, sizeof s);
  const int64_t n = rows->n, n_local = rows->n_local;
  const cs_dist_t *d = rows->d;
  s.rows = rows;
  s.X = X;
  s.dim = dim;
  s.centroids = centroids;
  s.n_blocks = (n + SEED_BLOCK - 1) / SEED_BLOCK;
  s.b0 = rows->row0 / SEED_BLOCK;
  s.n_local_blocks = (n_local + SEED_BLOCK - 1) / SEED_BLOCK;
  int n_threads = cs_ctx_threads(ctx);
  s.xx = malloc((size_t)(n_local + 1) * sizeof *s.xx);
  s.cc = malloc((size_t)k * sizeof *s.cc);
  s.closest = malloc((size_t)(n_local + 1) * sizeof *s.closest);
  s.block_pot = calloc((size_t)s.n_blocks + 1, sizeof *s.block_pot);
  s.block_off = malloc(((size_t)d->size + 1) * sizeof *s.block_off);
  float *x = malloc((size_t)dim * sizeof *x);
  s.tiles = cs_alloc_aligned((size_t)n_threads * SEED_BLOCK * MAX_BATCH *
                             sizeof(float));
  int rc = !s.xx || !s.cc || !s.closest || !s.block_pot || !s.block_off ||
                   !x || !s.tiles
               ? cs_err_set(err, CS_ENOMEM, "kmeans++: out of memory (n=%lld)",
                            (long long)n)
               : 0;
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  cs_dist_offsets(s.n_blocks, 1, d->size, s.block_off);
  int saved_blas = cs_blas_set_threads(1); /* our threads call BLAS */
  for (int64_t i = 0; i < n_local; i++) {
    s.xx[i] = (float)cs_norm2_sq(dim, X + i * dim);
    s.closest[i] = INFINITY;
  }
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans++ seeding", k);
  drawn_t dr = {0, 0.f, 0.f};
  share_row(&s, (int64_t)cs_rng_below(&rng, (uint64_t)n), 0, 0, &dr, x);
  int rejects = 0;
  for (int c = 0; c < k;) {
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
        share_row(&s, (int64_t)cs_rng_below(&rng, (uint64_t)n), s.refreshed,
                  c, &dr, x);
      } else {
        double r = cs_rng_uniform(&rng) * total;
        int64_t b = draw_block(&s, &r);
        /* only block b's rank knows the row; any row of b names that rank */
        int64_t g = b * SEED_BLOCK;
        if (block_owner(&s, b) == d->rank)
          g = rows->row0 + draw_in_block(&s, b - s.b0, r);
        share_row(&s, g, s.refreshed, c, &dr, x);
        double u = cs_rng_uniform(&rng);
        if (!(u * (double)dr.stale < (double)dr.now)) {
          rejects++;
          continue;
        }
      }
    }
    float *dst = centroids + (int64_t)c * dim;
    memcpy(dst, x, (size_t)dim * sizeof(float));
    s.cc[c] = (float)cs_norm2_sq(dim, dst);
    if (c > 0) { /* the row itself is now at distance 0 */
      int64_t b = dr.row / SEED_BLOCK;
      s.block_pot[b] -= (double)dr.stale;
      if (s.block_pot[b] < 0.0) s.block_pot[b] = 0.0;
      int64_t i = dr.row - rows->row0;
      if (i >= 0 && i < n_local) s.closest[i] = 0.f;
    }
    s.n_centers = ++c;
    if (c == 1) refresh(&s, n_threads);
    cs_progress_update(&prog, c);
  }
  cs_progress_finish(&prog);
  cs_blas_set_threads(saved_blas);
done:
  free(s.xx);
  free(s.cc);
  free(s.closest);
  free(s.block_pot);
  free(s.block_off);
  free(s.tiles);
  free(x);
  return rc;
}

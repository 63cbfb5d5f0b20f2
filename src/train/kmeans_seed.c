/* kmeans_seed.c: greedy k-means++ seeding (Arthur & Vassilvitskii: each
 * next center is a row drawn with probability proportional to its squared
 * distance to the nearest center so far; greedy: the best of a few such
 * draws, see below) made fast by lazy updates: the distances are
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
  char *packet;     /* a drawn row on its way to every rank */
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

/* The owner of global row g fills *dr and x (dim floats), then shares them
 * in one broadcast (s->packet: the drawn_t, then the vector). */
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
  if (rows->d->size == 1) return;
  const size_t vec = (size_t)s->dim * sizeof(float);
  memcpy(s->packet, dr, sizeof *dr);
  memcpy(s->packet + sizeof *dr, x, vec);
  cs_dist_bcast(rows->d, s->packet, sizeof *dr + vec, owner);
  memcpy(dr, s->packet, sizeof *dr);
  memcpy(x, s->packet + sizeof *dr, vec);
}

/* One row from the exact k-means++ distribution given centers [0, c): a
 * row drawn from the stale potentials, accepted with probability
 * now / stale; refreshes as the batch fills or rejections pile up. Every
 * rank draws the same numbers; the drawn row's rank sends it. */
static void draw_candidate(seed_state_t *s, cs_rng_t *rng, int c,
                           int *rejects, int n_threads, drawn_t *dr,
                           float *x) {
  const cs__km_rows_t *rows = s->rows;
  for (;;) {
    /* Refresh when the batch is full: doubling at first (the potential
     * falls fast), then every MAX_BATCH centers, or after many rejects. */
    int pending = c - s->refreshed;
    int batch = s->refreshed < MAX_BATCH ? s->refreshed : MAX_BATCH;
    if (pending >= (batch > 0 ? batch : 1) || *rejects >= MAX_REJECTS) {
      refresh(s, n_threads);
      *rejects = 0;
    }
    double total = 0.0;
    for (int64_t b = 0; b < s->n_blocks; b++) total += s->block_pot[b];
    if (!(total > 0.0)) {
      /* every row sits on a center: any row will do */
      share_row(s, (int64_t)cs_rng_below(rng, (uint64_t)rows->n), s->refreshed,
                c, dr, x);
      return;
    }
    double r = cs_rng_uniform(rng) * total;
    int64_t b = draw_block(s, &r);
    /* only block b's rank knows the row; any row of b names that rank */
    int64_t g = b * SEED_BLOCK;
    if (block_owner(s, b) == rows->d->rank)
      g = rows->row0 + draw_in_block(s, b - s->b0, r);
    share_row(s, g, s->refreshed, c, dr, x);
    double u = cs_rng_uniform(rng);
    if (u * (double)dr->stale < (double)dr->now) return;
    (*rejects)++;
  }
}

/* Greedy k-means++ (Arthur & Vassilvitskii; scikit-learn's default): each
 * step draws n_trials candidates and keeps the one that lowers the
 * potential most. The potentials are measured on a fixed seeded sample of
 * SAMPLE_ROWS rows (exactly, for every candidate), not on all rows: the
 * choice costs sample x trials distances per step instead of n x trials,
 * and on data with overlapping clusters it gives the greedy seeding's
 * lower inertia (bench/results/kmeans.md). The sample's rows are summed per
 * seeding block, blocks in order (any rank or thread count, same pick). */
enum { SAMPLE_ROWS = 4096 };

typedef struct {
  int64_t n;        /* sample rows held here */
  float *x;         /* [n x dim] their vectors */
  float *xx;        /* [n] squared norms */
  float *closest;   /* [n] squared distance to the nearest center */
  int64_t *bptr;    /* [local blocks + 1] sample rows of each local block */
  float *dots;      /* [n x trials] squared distances to the candidates */
  double *part;     /* [local blocks x trials] gains */
} sample_t;

typedef struct {
  sample_t *sm;
  const float *cand;   /* [trials x dim] */
  const float *cc;     /* [trials] */
  int trials, dim;
} gain_job_t;

/* Squared distances of x to 4 candidates c[0..3] at once (x read once):
 * 16 fixed lanes per candidate, as cs_centroid_dist2f adds them. */
static void dist2_x4(const float *restrict x, const float *restrict c0,
                     const float *restrict c1, const float *restrict c2,
                     const float *restrict c3, int dim, float out[4]) {
  float a0[16] = {0}, a1[16] = {0}, a2[16] = {0}, a3[16] = {0};
  int i = 0;
  for (; i + 16 <= dim; i += 16)
    for (int l = 0; l < 16; l++) {
      float xv = x[i + l];
      float d0 = xv - c0[i + l], d1 = xv - c1[i + l];
      float d2 = xv - c2[i + l], d3 = xv - c3[i + l];
      a0[l] += d0 * d0;
      a1[l] += d1 * d1;
      a2[l] += d2 * d2;
      a3[l] += d3 * d3;
    }
  for (; i < dim; i++) {
    float xv = x[i];
    float d0 = xv - c0[i], d1 = xv - c1[i], d2 = xv - c2[i], d3 = xv - c3[i];
    a0[0] += d0 * d0;
    a1[0] += d1 * d1;
    a2[0] += d2 * d2;
    a3[0] += d3 * d3;
  }
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
  for (int l = 0; l < 16; l++) {
    s0 += a0[l];
    s1 += a1[l];
    s2 += a2[l];
    s3 += a3[l];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

static int gain_blocks(void *arg, int64_t b0, int64_t b1, int tid,
                       cs_err_t *err) {
  (void)tid;
  (void)err;
  const gain_job_t *j = arg;
  sample_t *sm = j->sm;
  const int L = j->trials, dim = j->dim;
  for (int64_t b = b0; b < b1; b++) {
    double *g = sm->part + b * L;
    for (int t = 0; t < L; t++) g[t] = 0.0;
    for (int64_t q = sm->bptr[b]; q < sm->bptr[b + 1]; q++) {
      /* a row's distances depend on nothing else: any grouping of the rows
       * over threads and ranks gives the same bits */
      const float *x = sm->x + q * dim;
      float *v = sm->dots + q * L;
      int t = 0;
      for (; t + 4 <= L; t += 4) {
        const float *c = j->cand + (int64_t)t * dim;
        dist2_x4(x, c, c + dim, c + 2 * dim, c + 3 * dim, dim, v + t);
      }
      for (; t < L; t++)
        v[t] = cs_centroid_dist2f(x, j->cand + (int64_t)t * dim, dim);
      for (t = 0; t < L; t++) {
        float gain = sm->closest[q] - v[t];
        if (gain > 0.f) g[t] += (double)gain;
      }
    }
  }
  return 0;
}

/* The sample: SAMPLE_ROWS rows of all n chosen by selection sampling from
 * a seeded stream (the same rows on every rank, ascending); this rank keeps
 * those it holds. */
static int sample_init(sample_t *sm, const seed_state_t *s, uint64_t seed,
                       int trials) {
  const cs__km_rows_t *rows = s->rows;
  const int dim = s->dim;
  int64_t want = rows->n < SAMPLE_ROWS ? rows->n : SAMPLE_ROWS, left = want;
  memset(sm, 0, sizeof *sm);
  sm->bptr = calloc((size_t)s->n_local_blocks + 1, sizeof *sm->bptr);
  sm->x = malloc((size_t)(want + 1) * dim * sizeof(float));
  sm->xx = malloc((size_t)(want + 1) * sizeof(float));
  sm->closest = malloc((size_t)(want + 1) * sizeof(float));
  sm->dots = malloc((size_t)(want + 1) * trials * sizeof(float));
  sm->part = calloc(((size_t)s->n_local_blocks + 1) * trials, sizeof(double));
  if (!sm->bptr || !sm->x || !sm->xx || !sm->closest || !sm->dots ||
      !sm->part)
    return CS_ENOMEM;
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, seed, 0x5a3b1e);
  for (int64_t g = 0; g < rows->n && left > 0; g++) {
    /* take row g with probability left / (rows still to see) */
    if (cs_rng_below(&rng, (uint64_t)(rows->n - g)) >= (uint64_t)left) continue;
    left--;
    int64_t i = g - rows->row0;
    if (i < 0 || i >= rows->n_local) continue;
    memcpy(sm->x + sm->n * dim, s->X + i * dim, (size_t)dim * sizeof(float));
    sm->xx[sm->n] = s->xx[i];
    sm->closest[sm->n] = INFINITY;
    sm->bptr[i / SEED_BLOCK + 1]++;
    sm->n++;
  }
  for (int64_t b = 0; b < s->n_local_blocks; b++)
    sm->bptr[b + 1] += sm->bptr[b];
  return 0;
}

static void sample_free(sample_t *sm) {
  free(sm->bptr);
  free(sm->x);
  free(sm->xx);
  free(sm->closest);
  free(sm->dots);
  free(sm->part);
}

/* The sample rows' squared distances to the given centers [0, k_init)
 * (cs_centroid_dist2f's lanes, as the gains use), per sample block. */
typedef struct {
  sample_t *sm;
  const float *centroids;
  int k_init, dim;
} init_job_t;

static int init_blocks(void *arg, int64_t b0, int64_t b1, int tid, cs_err_t *err) {
  (void)tid;
  (void)err;
  const init_job_t *j = arg;
  sample_t *sm = j->sm;
  const int dim = j->dim;
  for (int64_t q = j->sm->bptr[b0]; q < sm->bptr[b1]; q++) {
    const float *x = sm->x + q * dim;
    float best = sm->closest[q], v[4];
    int c = 0;
    for (; c + 4 <= j->k_init; c += 4) {
      const float *cc = j->centroids + (int64_t)c * dim;
      dist2_x4(x, cc, cc + dim, cc + 2 * dim, cc + 3 * dim, dim, v);
      for (int t = 0; t < 4; t++) best = v[t] < best ? v[t] : best;
    }
    for (; c < j->k_init; c++) {
      float d = cs_centroid_dist2f(x, j->centroids + (int64_t)c * dim, dim);
      best = d < best ? d : best;
    }
    sm->closest[q] = best;
  }
  return 0;
}

int cs__kmeans_seed(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                    const float *X, int dim, int k, uint64_t seed,
                    float *centroids, cs_err_t *err) {
  return cs__kmeans_seed_from(ctx, rows, X, dim, k, 0, seed, centroids, err);
}

int cs__kmeans_seed_from(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                         const float *X, int dim, int k, int k_init,
                         uint64_t seed, float *centroids, cs_err_t *err) {
  seed_state_t s;
  memset(&s, 0, sizeof s);
  sample_t sm;
  memset(&sm, 0, sizeof sm);
  const int64_t n = rows->n, n_local = rows->n_local;
  const cs_dist_t *d = rows->d;
  /* scikit-learn's number of local trials */
  const int trials = 2 + (int)log((double)k);
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
  float *cand = malloc((size_t)trials * dim * sizeof *cand);
  float *cand_cc = malloc((size_t)trials * sizeof *cand_cc);
  drawn_t *cand_dr = malloc((size_t)trials * sizeof *cand_dr);
  double *gains = malloc((size_t)trials * sizeof *gains);
  s.tiles = cs_alloc_aligned((size_t)n_threads * SEED_BLOCK * MAX_BATCH *
                             sizeof(float));
  s.packet = malloc(sizeof(drawn_t) + (size_t)dim * sizeof(float));
  int rc = !s.xx || !s.cc || !s.closest || !s.block_pot || !s.block_off ||
                   !cand || !cand_cc || !cand_dr || !gains || !s.tiles ||
                   !s.packet
               ? cs_err_set(err, CS_ENOMEM, "kmeans++: out of memory (n=%lld)",
                            (long long)n)
               : 0;
  for (int64_t i = 0; !rc && i < n_local; i++) {
    s.xx[i] = (float)cs_norm2_sq(dim, X + i * dim);
    s.closest[i] = INFINITY;
  }
  if (!rc && sample_init(&sm, &s, seed, trials))
    rc = cs_err_set(err, CS_ENOMEM, "kmeans++: out of memory (sample)");
  if ((rc = cs_dist_agree(d, rc, err))) goto done;
  cs_dist_offsets(s.n_blocks, 1, d->size, s.block_off);
  int saved_blas = cs_blas_set_threads(1); /* our threads call BLAS */
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans++ seeding", k);
  if (k_init > 0) {
    /* the given centers: every row's and the sample's distances to them,
     * MAX_BATCH centers per refresh */
    for (int j = 0; j < k_init; j++)
      s.cc[j] = (float)cs_norm2_sq(dim, centroids + (int64_t)j * dim);
    while (s.refreshed < k_init) {
      s.n_centers = s.refreshed + MAX_BATCH < k_init ? s.refreshed + MAX_BATCH
                                                     : k_init;
      refresh(&s, n_threads);
    }
    init_job_t ij = {&sm, centroids, k_init, dim};
    cs_parallel_for(n_threads, s.n_local_blocks, init_blocks, &ij, NULL);
  } else {
    share_row(&s, (int64_t)cs_rng_below(&rng, (uint64_t)n), 0, 0, &cand_dr[0],
              cand);
  }
  int rejects = 0, w = 0;
  for (int c = k_init; c < k;) {
    if (c > 0) {
      for (int t = 0; t < trials; t++)
        draw_candidate(&s, &rng, c, &rejects, n_threads, &cand_dr[t],
                       cand + (int64_t)t * dim);
      for (int t = 0; t < trials; t++)
        cand_cc[t] = (float)cs_norm2_sq(dim, cand + (int64_t)t * dim);
      gain_job_t gj = {&sm, cand, cand_cc, trials, dim};
      cs_parallel_for(n_threads, s.n_local_blocks, gain_blocks, &gj, NULL);
      cs_dist_sum_blocks(d, sm.part, s.n_blocks, trials, gains);
      w = 0;
      for (int t = 1; t < trials; t++)
        if (gains[t] > gains[w]) w = t;
    } else {
      /* the first center: the sample's distances to it */
      w = 0;
      cand_cc[0] = (float)cs_norm2_sq(dim, cand);
      gain_job_t gj = {&sm, cand, cand_cc, 1, dim};
      cs_parallel_for(n_threads, s.n_local_blocks, gain_blocks, &gj, NULL);
    }
    const drawn_t *dr = &cand_dr[w];
    float *dst = centroids + (int64_t)c * dim;
    memcpy(dst, cand + (int64_t)w * dim, (size_t)dim * sizeof(float));
    s.cc[c] = (float)cs_norm2_sq(dim, dst);
    /* the sample's distances to the new center (from the gemm above) */
    const int L = c > 0 ? trials : 1;
    for (int64_t q = 0; q < sm.n; q++) {
      float v = sm.dots[q * L + w];
      if (v < sm.closest[q]) sm.closest[q] = v;
    }
    if (c > 0) { /* the row itself is now at distance 0 */
      int64_t b = dr->row / SEED_BLOCK;
      s.block_pot[b] -= (double)dr->stale;
      if (s.block_pot[b] < 0.0) s.block_pot[b] = 0.0;
      int64_t i = dr->row - rows->row0;
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
  free(s.packet);
  free(cand);
  free(cand_cc);
  free(cand_dr);
  free(gains);
  sample_free(&sm);
  return rc;
}

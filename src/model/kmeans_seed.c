/* kmeans_seed.c: greedy k-means++ seeding (several candidates per step, the
 * one that lowers the potential most is kept), with triangle-inequality
 * pruning so that k = 1000 on 70k rows stays cheap. Work is split over fixed
 * blocks of rows and reduced in block order: same seed, same centroids,
 * whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/rng.h"
#include "model/kmeans_internal.h"

enum { SEED_BLOCK = 2048, MAX_TRIALS = 32 };

typedef struct seed_state {
  const float *X;
  int64_t n;
  int dim, k;
  int n_centers;         /* centers chosen so far */
  float *centroids;      /* [k x dim] */
  float *closest;        /* [n] squared distance to the nearest center */
  int32_t *near;         /* [n] index of that center */
  double *block_pot;     /* [n_blocks] sum of closest over the block */
  int64_t n_blocks;
  int n_trials;
  const float *trial_rows[MAX_TRIALS];
  float *trial_to_center; /* [k x n_trials]: squared distance trial-center */
  double *block_gain;     /* [n_blocks x n_trials] */
  int apply_trial;        /* trial applied by apply_block */
} seed_state_t;

/* Gain of each trial over one block: sum of (closest - d) where the trial is
 * closer. A trial t cannot be closer to x than x's center a when
 * d(t, a) >= 2 d(x, a), i.e. when the squared distance is >= 4 closest. */
static void gain_blocks(void *arg, int64_t b0, int64_t b1, int tid) {
  seed_state_t *s = arg;
  const int T = s->n_trials, dim = s->dim;
  for (int64_t b = b0; b < b1; b++) {
    double gain[MAX_TRIALS] = {0};
    int64_t end = (b + 1) * SEED_BLOCK < s->n ? (b + 1) * SEED_BLOCK : s->n;
    for (int64_t i = b * SEED_BLOCK; i < end; i++) {
      float ci = s->closest[i];
      float lim = 4.f * ci;
      const float *tc = s->trial_to_center + (int64_t)s->near[i] * T;
      const float *x = s->X + i * dim;
      for (int t = 0; t < T; t++) {
        if (tc[t] >= lim) continue;
        float d = cs__kmeans_dist2f(x, s->trial_rows[t], dim);
        if (d < ci) gain[t] += (double)(ci - d);
      }
    }
    memcpy(s->block_gain + b * T, gain, (size_t)T * sizeof *gain);
  }
}

/* Make center n_centers-1 (the chosen trial) the nearest where it is closer,
 * with the same pruning and distances as gain_blocks. */
static void apply_blocks(void *arg, int64_t b0, int64_t b1, int tid) {
  seed_state_t *s = arg;
  const int T = s->n_trials, dim = s->dim, t = s->apply_trial;
  const int32_t c = s->n_centers - 1;
  const float *row = s->trial_rows[t];
  for (int64_t b = b0; b < b1; b++) {
    int64_t end = (b + 1) * SEED_BLOCK < s->n ? (b + 1) * SEED_BLOCK : s->n;
    int changed = 0;
    for (int64_t i = b * SEED_BLOCK; i < end; i++) {
      float ci = s->closest[i];
      if (s->trial_to_center[(int64_t)s->near[i] * T + t] >= 4.f * ci) continue;
      float d = cs__kmeans_dist2f(s->X + i * dim, row, dim);
      if (d < ci) {
        s->closest[i] = d;
        s->near[i] = c;
        changed = 1;
      }
    }
    if (changed || c == 0) {
      double pot = 0.0;
      for (int64_t i = b * SEED_BLOCK; i < end; i++) pot += s->closest[i];
      s->block_pot[b] = pot;
    }
  }
}

/* A row drawn with probability closest[i] / total (uniform when total = 0). */
static int64_t draw_row(const seed_state_t *s, cs_rng_t *rng, double total) {
  if (!(total > 0.0)) return (int64_t)cs_rng_below(rng, (uint64_t)s->n);
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

int cs__kmeans_seed(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                    int k, uint64_t seed, float *centroids, cs_err_t *err) {
  seed_state_t s;
  memset(&s, 0, sizeof s);
  s.X = X;
  s.n = n;
  s.dim = dim;
  s.k = k;
  s.centroids = centroids;
  s.n_blocks = (n + SEED_BLOCK - 1) / SEED_BLOCK;
  s.n_trials = 2 + (int)log((double)k);
  if (s.n_trials > MAX_TRIALS) s.n_trials = MAX_TRIALS;
  const int T = s.n_trials;
  s.closest = malloc((size_t)n * sizeof *s.closest);
  s.near = malloc((size_t)n * sizeof *s.near);
  s.block_pot = malloc((size_t)s.n_blocks * sizeof *s.block_pot);
  s.trial_to_center = malloc((size_t)k * (size_t)T * sizeof *s.trial_to_center);
  s.block_gain = malloc((size_t)s.n_blocks * (size_t)T * sizeof *s.block_gain);
  int rc = 0;
  if (!s.closest || !s.near || !s.block_pot || !s.trial_to_center ||
      !s.block_gain) {
    rc = cs_err_set(err, CS_ENOMEM, "kmeans++: out of memory (n=%lld, k=%d)",
                    (long long)n, k);
    goto done;
  }
  int n_threads = ctx && ctx->n_threads > 1 ? ctx->n_threads : 1;
  cs_rng_t rng;
  cs_rng_seed(&rng, seed);
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans++ seeding", k);

  /* First center: a uniform row. Everything is its nearest. */
  int64_t first = (int64_t)cs_rng_below(&rng, (uint64_t)n);
  memcpy(centroids, X + first * dim, (size_t)dim * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    s.closest[i] = 1e30f; /* larger than any distance: nothing is pruned */
    s.near[i] = 0;
  }
  s.n_centers = 1;
  s.trial_rows[0] = centroids;
  s.apply_trial = 0;
  for (int t = 0; t < T; t++) s.trial_to_center[t] = 0.f;
  cs_parallel_for(n_threads, s.n_blocks, apply_blocks, &s);

  for (int c = 1; c < k; c++) {
    double total = 0.0;
    for (int64_t b = 0; b < s.n_blocks; b++) total += s.block_pot[b];
    for (int t = 0; t < T; t++) {
      s.trial_rows[t] = X + draw_row(&s, &rng, total) * dim;
      for (int a = 0; a < c; a++)
        s.trial_to_center[(int64_t)a * T + t] =
            cs__kmeans_dist2f(s.trial_rows[t], centroids + (int64_t)a * dim,
                              dim);
    }
    cs_parallel_for(n_threads, s.n_blocks, gain_blocks, &s);
    int best = 0;
    double best_gain = -1.0;
    for (int t = 0; t < T; t++) {
      double g = 0.0;
      for (int64_t b = 0; b < s.n_blocks; b++) g += s.block_gain[b * T + t];
      if (g > best_gain) {
        best_gain = g;
        best = t;
      }
    }
    memcpy(centroids + (int64_t)c * dim, s.trial_rows[best],
           (size_t)dim * sizeof(float));
    s.n_centers = c + 1;
    s.apply_trial = best;
    cs_parallel_for(n_threads, s.n_blocks, apply_blocks, &s);
    cs_progress_update(&prog, c + 1);
  }
  cs_progress_finish(&prog);
done:
  free(s.closest);
  free(s.near);
  free(s.block_pot);
  free(s.trial_to_center);
  free(s.block_gain);
  return rc;
}

/* centroids.c: the nearest centroids of one vector (see centroids.h) and
 * the reference it is tested against. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "coldstart/centroids.h"
#include "model/centroids_internal.h"

/* Insert (d, j) into the sorted list (ascending d; j is larger than every
 * index already there, so it goes after equal distances). */
static void insert_sorted(double *best_d, int32_t *best_j, int *count, int m,
                          double d, int32_t j) {
  int pos = *count < m ? *count : m - 1;
  if (*count == m && !(d < best_d[m - 1])) return;
  while (pos > 0 && d < best_d[pos - 1]) {
    best_d[pos] = best_d[pos - 1];
    best_j[pos] = best_j[pos - 1];
    pos--;
  }
  best_d[pos] = d;
  best_j[pos] = j;
  if (*count < m) (*count)++;
}

void cs_centroids_nearest(const float *centroids, int k, int dim, const float *x,
                       int m, int32_t *out_idx, float *out_dist) {
  if (m > k) m = k;
  if (m <= 0) return;
  double small_d[32];
  int32_t small_j[32];
  double *best_d = m <= 32 ? small_d : malloc((size_t)m * sizeof *best_d);
  int32_t *best_j = m <= 32 ? small_j : malloc((size_t)m * sizeof *best_j);
  if (!best_d || !best_j) { /* fall back to the allocation-free reference */
    if (best_d != small_d) free(best_d);
    if (best_j != small_j) free(best_j);
    cs__centroids_nearest_ref(centroids, k, dim, x, m, out_idx, out_dist);
    return;
  }
  /* The float distance is within rel of the exact one; a centroid whose
   * float distance shows it cannot beat the current m-th is skipped, the
   * others are decided on the exact distance. */
  const double rel = (double)(dim + 4) * FLT_EPSILON;
  int count = 0;
  float skip_from = INFINITY; /* approx >= this: cannot enter the list */
  for (int j = 0; j < k; j++) {
    const float *c = centroids + (int64_t)j * dim;
    if (count == m && cs_centroid_dist2f(x, c, dim) >= skip_from) continue;
    insert_sorted(best_d, best_j, &count, m, cs_centroid_dist2(x, c, dim), j);
    if (count == m) {
      /* approx >= best_d[m-1] (1 + rel) implies exact >= best_d[m-1];
       * rounded up to float, so the test stays on the safe side */
      skip_from = nextafterf((float)(best_d[m - 1] * (1.0 + rel)), INFINITY);
    }
  }
  for (int i = 0; i < m; i++) {
    out_idx[i] = best_j[i];
    if (out_dist) out_dist[i] = (float)sqrt(best_d[i]);
  }
  if (best_d != small_d) free(best_d);
  if (best_j != small_j) free(best_j);
}

void cs__centroids_nearest_ref(const float *centroids, int k, int dim,
                            const float *x, int m, int32_t *out_idx,
                            float *out_dist) {
  if (m > k) m = k;
  /* Selection sort over exact distances: m passes, each takes the smallest
   * (lower index on ties) not yet taken. */
  for (int i = 0; i < m; i++) {
    int32_t best = -1;
    double best_d = 0.0;
    for (int j = 0; j < k; j++) {
      int taken = 0;
      for (int t = 0; t < i; t++) taken |= out_idx[t] == j;
      if (taken) continue;
      double d = cs_centroid_dist2(x, centroids + (int64_t)j * dim, dim);
      if (best < 0 || d < best_d) {
        best = j;
        best_d = d;
      }
    }
    out_idx[i] = best;
    if (out_dist) out_dist[i] = (float)sqrt(best_d);
  }
}


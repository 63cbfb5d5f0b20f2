/* kmeans.c: k-means entry points (parameters, fit, free), the plain Lloyd
 * reference, the centroid update shared with the fast variant (empty clusters
 * re-seeded from the farthest points), and nearest-centroid queries. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "train/kmeans_internal.h"

void cs_kmeans_params_default(cs_kmeans_params_t *p) {
  memset(p, 0, sizeof *p);
  p->k = 1000;
  p->max_iter = 20;
  p->seed = 0;
  p->algo = CS_KMEANS_FAST;
}

void cs_kmeans_free(cs_kmeans_t *km) {
  if (!km) return;
  free(km->centroids);
  free(km->assign);
  memset(km, 0, sizeof *km);
}

/* ------------------------------------------------------------------------ */
/* Shared pieces                                                             */

int cs__kmeans_update(const float *X, int64_t n, int dim, int k,
                      int32_t *labels, double *dist2, double *sums,
                      int64_t *counts, float *centroids, uint8_t *moved) {
  int n_reseeded = 0;
  for (int j = 0; j < k; j++) {
    if (counts[j] > 0) continue;
    int64_t best = -1;
    double best_d = -1.0;
    for (int64_t i = 0; i < n; i++) {
      if (counts[labels[i]] < 2) continue;
      if (dist2[i] > best_d) {
        best_d = dist2[i];
        best = i;
      }
    }
    if (best < 0) break; /* cannot happen when n >= k */
    const float *x = X + best * dim;
    int32_t old = labels[best];
    double *s_old = sums + (int64_t)old * dim;
    double *s_new = sums + (int64_t)j * dim;
    for (int d = 0; d < dim; d++) {
      s_old[d] -= (double)x[d];
      s_new[d] = (double)x[d];
    }
    counts[old]--;
    counts[j] = 1;
    labels[best] = j;
    dist2[best] = 0.0;
    if (moved) moved[best] = 1;
    n_reseeded++;
  }
  for (int j = 0; j < k; j++) {
    if (counts[j] == 0) continue; /* keeps its previous position */
    const double *s = sums + (int64_t)j * dim;
    float *c = centroids + (int64_t)j * dim;
    double inv = 1.0 / (double)counts[j];
    for (int d = 0; d < dim; d++) c[d] = (float)(s[d] * inv);
  }
  return n_reseeded;
}

double cs__kmeans_inertia(const float *X, int64_t n, int dim,
                          const float *centroids, const int32_t *labels) {
  double total = 0.0;
  for (int64_t i = 0; i < n; i++) {
    total += cs_centroid_dist2(X + i * dim,
                              centroids + (int64_t)labels[i] * dim, dim);
  }
  return total;
}

/* ------------------------------------------------------------------------ */
/* Reference Lloyd                                                           */

/* Nearest centroid by exact distance, lower index on ties. */
static int32_t nearest_exact(const float *centroids, int k, int dim,
                             const float *x, double *out_d2) {
  int32_t best = 0;
  double best_d = cs_centroid_dist2(x, centroids, dim);
  for (int j = 1; j < k; j++) {
    double d = cs_centroid_dist2(x, centroids + (int64_t)j * dim, dim);
    if (d < best_d) {
      best_d = d;
      best = j;
    }
  }
  if (out_d2) *out_d2 = best_d;
  return best;
}

int cs__kmeans_lloyd(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                     int k, int max_iter, float *centroids, int32_t *labels,
                     int *n_iter, cs_err_t *err) {
  double *dist2 = malloc((size_t)n * sizeof *dist2);
  double *sums = malloc((size_t)k * (size_t)dim * sizeof *sums);
  int64_t *counts = malloc((size_t)k * sizeof *counts);
  if (!dist2 || !sums || !counts) {
    free(dist2);
    free(sums);
    free(counts);
    return cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (n=%lld, k=%d)",
                      (long long)n, k);
  }
  for (int64_t i = 0; i < n; i++) labels[i] = -1;
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "kmeans (lloyd)", max_iter);
  int iter = 0, converged = 0;
  for (; iter < max_iter; iter++) {
    int64_t changed = 0;
    for (int64_t i = 0; i < n; i++) {
      int32_t a = nearest_exact(centroids, k, dim, X + i * dim, &dist2[i]);
      changed += a != labels[i];
      labels[i] = a;
    }
    if (iter > 0 && changed == 0) {
      converged = 1;
      break;
    }
    memset(sums, 0, (size_t)k * (size_t)dim * sizeof *sums);
    memset(counts, 0, (size_t)k * sizeof *counts);
    for (int64_t i = 0; i < n; i++) {
      const float *x = X + i * dim;
      double *s = sums + (int64_t)labels[i] * dim;
      for (int d = 0; d < dim; d++) s[d] += (double)x[d];
      counts[labels[i]]++;
    }
    cs__kmeans_update(X, n, dim, k, labels, dist2, sums, counts, centroids,
                      NULL);
    cs_progress_update(&prog, iter + 1);
  }
  if (!converged) {
    for (int64_t i = 0; i < n; i++)
      labels[i] = nearest_exact(centroids, k, dim, X + i * dim, NULL);
  }
  cs_progress_finish(&prog);
  *n_iter = iter;
  free(dist2);
  free(sums);
  free(counts);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Fit                                                                       */

int cs_kmeans_fit(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                  const cs_kmeans_params_t *params, cs_kmeans_t *out,
                  cs_err_t *err) {
  return cs_kmeans_fit_from(ctx, X, n, dim, params, NULL, 0, out, err);
}

int cs_kmeans_fit_from(const cs_ctx_t *ctx, const float *X, int64_t n,
                       int dim, const cs_kmeans_params_t *params,
                       const float *init, int k_init, cs_kmeans_t *out,
                       cs_err_t *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!X || !params || !out || n <= 0 || dim <= 0)
    return cs_err_set(err, CS_EINVAL, "kmeans: empty input (n=%lld, dim=%d)",
                      (long long)n, dim);
  if (params->k < 1)
    return cs_err_set(err, CS_EINVAL, "kmeans: k must be >= 1 (got %d)",
                      params->k);
  if (params->max_iter < 0)
    return cs_err_set(err, CS_EINVAL, "kmeans: max_iter must be >= 0 (got %d)",
                      params->max_iter);
  if (params->algo != CS_KMEANS_LLOYD && params->algo != CS_KMEANS_FAST)
    return cs_err_set(err, CS_EINVAL, "kmeans: unknown algorithm %d",
                      params->algo);
  if (n > INT32_MAX)
    return cs_err_set(err, CS_ETOOBIG, "kmeans: %lld rows (max %d)",
                      (long long)n, INT32_MAX);
  for (int64_t i = 0; i < n * dim; i++) {
    if (!isfinite(X[i]))
      return cs_err_set(err, CS_ERANGE,
                        "kmeans: row %lld column %d is not finite (%g)",
                        (long long)(i / dim), (int)(i % dim), (double)X[i]);
  }
  if (k_init < 0 || (k_init > 0 && !init))
    return cs_err_set(err, CS_EINVAL, "kmeans: %d initial centers", k_init);
  for (int64_t i = 0; i < (int64_t)k_init * dim; i++)
    if (!isfinite(init[i]))
      return cs_err_set(err, CS_ERANGE, "kmeans: initial center %lld column "
                        "%d is not finite", (long long)(i / dim),
                        (int)(i % dim));
  int k = params->k > n ? (int)n : params->k;
  float *centroids = cs_alloc_aligned((size_t)k * (size_t)dim * sizeof(float));
  int32_t *labels = malloc((size_t)n * sizeof *labels);
  if (!centroids || !labels) {
    free(centroids);
    free(labels);
    return cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (n=%lld, k=%d)",
                      (long long)n, k);
  }
  double t0 = cs_now();
  int keep = k_init < k ? k_init : k;
  if (keep > 0)
    memcpy(centroids, init, (size_t)keep * (size_t)dim * sizeof(float));
  int rc = keep < k ? cs__kmeans_seed_from(ctx, X, n, dim, k, keep,
                                           params->seed, centroids, err)
                    : 0;
  double t1 = cs_now();
  int n_iter = 0;
  if (rc == 0) {
    if (params->algo == CS_KMEANS_LLOYD)
      rc = cs__kmeans_lloyd(ctx, X, n, dim, k, params->max_iter, centroids,
                            labels, &n_iter, err);
    else
      rc = cs__kmeans_fast(ctx, X, n, dim, k, params->max_iter, centroids,
                           labels, &n_iter, err);
  }
  if (rc != 0) {
    free(centroids);
    free(labels);
    return rc;
  }
  out->k = k;
  out->dim = dim;
  out->n = n;
  out->centroids = centroids;
  out->assign = labels;
  out->n_iter = n_iter;
  out->inertia = cs__kmeans_inertia(X, n, dim, centroids, labels);
  cs_log(ctx, CS_LOG_DEBUG,
         "kmeans: k=%d n=%lld dim=%d seeding %.2fs, %d iterations %.2fs, "
         "inertia %.6g",
         k, (long long)n, dim, t1 - t0, n_iter, cs_now() - t1, out->inertia);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Reference assignment                                                      */

void cs__kmeans_assign_ref(const float *centroids, int k, int dim,
                           const float *X, int64_t n, int32_t *out) {
  for (int64_t i = 0; i < n; i++)
    out[i] = nearest_exact(centroids, k, dim, X + i * dim, NULL);
}

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

void cs__km_rows_all(cs__km_rows_t *rows, int64_t n) {
  rows->d = &cs_dist_one;
  rows->n = n;
  rows->row0 = 0;
  rows->n_local = n;
}

void cs__km_rows_world(cs__km_rows_t *rows, const cs_dist_t *d, int64_t n) {
  int64_t lo, hi;
  cs_dist_part_blocks(n, CS__KM_BLOCK, d->rank, d->size, &lo, &hi);
  rows->d = d;
  rows->n = n;
  rows->row0 = lo;
  rows->n_local = hi - lo;
}

int cs__kmeans_scale(const cs__km_rows_t *rows, const float *X, int dim) {
  double m = 0.0;
  for (int64_t e = 0; e < rows->n_local * dim; e++) {
    double a = fabs((double)X[e]);
    m = a > m ? a : m;
  }
  cs_dist_max_f64(rows->d, &m, 1);
  return cs_fixed_scale(m, rows->n);
}

void cs__kmeans_add_row(int64_t *sum, const float *x, int dim, int scale,
                        int sign) {
  /* x * 2^scale is exact in double; llrint rounds it to the unit */
  const double f = ldexp(1.0, scale);
  if (sign > 0)
    for (int d = 0; d < dim; d++) sum[d] += (int64_t)llrint((double)x[d] * f);
  else
    for (int d = 0; d < dim; d++) sum[d] -= (int64_t)llrint((double)x[d] * f);
}

/* The row to re-seed an empty cluster with, over all ranks: the largest
 * dist2 among rows of clusters with >= 2 rows, ties to the lower row.
 * Returns its global index (-1: none) and, on every rank, its vector and
 * old label. */
static int64_t farthest_row(const cs__km_rows_t *rows, const float *X, int dim,
                            const int32_t *labels, const double *dist2,
                            const int64_t *counts, float *x_out,
                            int32_t *old_out) {
  const cs_dist_t *d = rows->d;
  int64_t best = -1;
  double best_d = -1.0;
  for (int64_t i = 0; i < rows->n_local; i++) {
    if (counts[labels[i]] < 2) continue;
    if (dist2[i] > best_d) {
      best_d = dist2[i];
      best = i;
    }
  }
  int owner = d->rank;
  int64_t global = best >= 0 ? rows->row0 + best : -1;
  if (d->size > 1) {
    int64_t *all = malloc(2 * (size_t)d->size * sizeof *all);
    if (!all) return -2;
    int64_t bits;
    memcpy(&bits, &best_d, sizeof bits);
    cs_dist_allgather_i64(d, global, all);
    cs_dist_allgather_i64(d, bits, all + d->size);
    global = -1;
    for (int r = 0; r < d->size; r++) {
      if (all[r] < 0) continue;
      double v;
      memcpy(&v, &all[d->size + r], sizeof v);
      /* ranks hold ascending rows: the first of equal maxima is the lower */
      if (global < 0 || v > best_d) {
        best_d = v;
        global = all[r];
        owner = r;
      }
    }
    free(all);
    if (global < 0) return -1;
  }
  if (global < 0) return -1;
  if (owner == d->rank) {
    int64_t i = global - rows->row0;
    memcpy(x_out, X + i * dim, (size_t)dim * sizeof(float));
    *old_out = labels[i];
  }
  cs_dist_bcast(d, x_out, (size_t)dim * sizeof(float), owner);
  cs_dist_bcast(d, old_out, sizeof *old_out, owner);
  return global;
}

int cs__kmeans_update(const cs__km_rows_t *rows, const float *X, int dim,
                      int k, int32_t *labels, double *dist2, int64_t *sums,
                      int scale, int64_t *counts, float *centroids,
                      uint8_t *moved) {
  int n_reseeded = 0;
  float *x = NULL;
  for (int j = 0; j < k; j++) {
    if (counts[j] > 0) continue;
    if (!x && !(x = malloc((size_t)dim * sizeof *x))) break;
    int32_t old = -1;
    int64_t g = farthest_row(rows, X, dim, labels, dist2, counts, x, &old);
    if (g < 0) break; /* cannot happen when n >= k */
    int64_t *s_old = sums + (int64_t)old * dim;
    int64_t *s_new = sums + (int64_t)j * dim;
    cs__kmeans_add_row(s_old, x, dim, scale, -1);
    memset(s_new, 0, (size_t)dim * sizeof *s_new);
    cs__kmeans_add_row(s_new, x, dim, scale, +1);
    counts[old]--;
    counts[j] = 1;
    int64_t i = g - rows->row0;
    if (i >= 0 && i < rows->n_local) {
      labels[i] = j;
      dist2[i] = 0.0;
      if (moved) moved[i] = 1;
    }
    n_reseeded++;
  }
  free(x);
  for (int j = 0; j < k; j++) {
    if (counts[j] == 0) continue; /* keeps its previous position */
    const int64_t *s = sums + (int64_t)j * dim;
    float *c = centroids + (int64_t)j * dim;
    double inv = 1.0 / (double)counts[j];
    for (int d = 0; d < dim; d++) c[d] = (float)(cs_fixed_to(s[d], scale) * inv);
  }
  return n_reseeded;
}

double cs__kmeans_inertia(const cs__km_rows_t *rows, const float *X, int dim,
                          const float *centroids, const int32_t *labels) {
  int64_t n_blocks = (rows->n + CS__KM_BLOCK - 1) / CS__KM_BLOCK;
  int64_t nb = (rows->n_local + CS__KM_BLOCK - 1) / CS__KM_BLOCK;
  double *part = calloc((size_t)nb + 1, sizeof *part);
  if (!part) return NAN;
  for (int64_t i = 0; i < rows->n_local; i++)
    part[i / CS__KM_BLOCK] += cs_centroid_dist2(
        X + i * dim, centroids + (int64_t)labels[i] * dim, dim);
  double total = 0.0;
  cs_dist_sum_blocks(rows->d, part, n_blocks, 1, &total);
  free(part);
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

int cs__kmeans_lloyd(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                     const float *X, int dim, int k, int max_iter,
                     float *centroids, int32_t *labels, int *n_iter,
                     cs_err_t *err) {
  const int64_t n = rows->n_local;
  double *dist2 = malloc((size_t)(n + 1) * sizeof *dist2);
  int64_t *sums = malloc((size_t)k * (size_t)dim * sizeof *sums);
  int64_t *counts = malloc((size_t)k * sizeof *counts);
  if (!dist2 || !sums || !counts) {
    free(dist2);
    free(sums);
    free(counts);
    return cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (n=%lld, k=%d)",
                      (long long)n, k);
  }
  int scale = cs__kmeans_scale(rows, X, dim);
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
    cs_dist_sum_i64(rows->d, &changed, 1);
    if (iter > 0 && changed == 0) {
      converged = 1;
      break;
    }
    memset(sums, 0, (size_t)k * (size_t)dim * sizeof *sums);
    memset(counts, 0, (size_t)k * sizeof *counts);
    for (int64_t i = 0; i < n; i++) {
      cs__kmeans_add_row(sums + (int64_t)labels[i] * dim, X + i * dim, dim,
                         scale, +1);
      counts[labels[i]]++;
    }
    cs_dist_sum_i64(rows->d, sums, (int64_t)k * dim);
    cs_dist_sum_i64(rows->d, counts, k);
    cs__kmeans_update(rows, X, dim, k, labels, dist2, sums, scale, counts,
                      centroids, NULL);
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

static int kmeans_fit_rows(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                           const float *X, int dim,
                           const cs_kmeans_params_t *params, const float *init,
                           int k_init, cs_kmeans_t *out, cs_err_t *err) {
  const int64_t n = rows->n, n_local = rows->n_local;
  if (out) memset(out, 0, sizeof *out);
  if (!params || !out || n <= 0 || dim <= 0 || (n_local > 0 && !X))
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
  int rc = 0;
  for (int64_t i = 0; i < n_local * dim && !rc; i++) {
    if (!isfinite(X[i]))
      rc = cs_err_set(err, CS_ERANGE,
                      "kmeans: row %lld column %d is not finite (%g)",
                      (long long)(rows->row0 + i / dim), (int)(i % dim),
                      (double)X[i]);
  }
  if (!rc && (k_init < 0 || (k_init > 0 && !init)))
    rc = cs_err_set(err, CS_EINVAL, "kmeans: %d initial centers", k_init);
  for (int64_t i = 0; !rc && i < (int64_t)k_init * dim; i++)
    if (!isfinite(init[i]))
      rc = cs_err_set(err, CS_ERANGE, "kmeans: initial center %lld column "
                      "%d is not finite", (long long)(i / dim), (int)(i % dim));
  if ((rc = cs_dist_agree(rows->d, rc, err))) return rc;
  int k = params->k > n ? (int)n : params->k;
  float *centroids = cs_alloc_aligned((size_t)k * (size_t)dim * sizeof(float));
  int32_t *labels = malloc((size_t)(n_local + 1) * sizeof *labels);
  rc = !centroids || !labels
           ? cs_err_set(err, CS_ENOMEM, "kmeans: out of memory (n=%lld, k=%d)",
                        (long long)n, k)
           : 0;
  if ((rc = cs_dist_agree(rows->d, rc, err))) {
    free(centroids);
    free(labels);
    return rc;
  }
  double t0 = cs_now();
  int keep = k_init < k ? k_init : k;
  if (keep > 0)
    memcpy(centroids, init, (size_t)keep * (size_t)dim * sizeof(float));
  rc = keep < k ? cs__kmeans_seed_from(ctx, rows, X, dim, k, keep, params->seed,
                                       centroids, err)
                : 0;
  double t1 = cs_now();
  int n_iter = 0;
  if (rc == 0) {
    if (params->algo == CS_KMEANS_LLOYD)
      rc = cs__kmeans_lloyd(ctx, rows, X, dim, k, params->max_iter, centroids,
                            labels, &n_iter, err);
    else
      rc = cs__kmeans_fast(ctx, rows, X, dim, k, params->max_iter, centroids,
                           labels, &n_iter, err);
  }
  rc = cs_dist_agree(rows->d, rc, err);
  if (rc != 0) {
    free(centroids);
    free(labels);
    return rc;
  }
  out->k = k;
  out->dim = dim;
  out->n = n_local;
  out->row0 = rows->row0;
  out->centroids = centroids;
  out->assign = labels;
  out->n_iter = n_iter;
  out->inertia = cs__kmeans_inertia(rows, X, dim, centroids, labels);
  cs_log(ctx, CS_LOG_DEBUG,
         "kmeans: k=%d n=%lld dim=%d seeding %.2fs, %d iterations %.2fs, "
         "inertia %.6g",
         k, (long long)n, dim, t1 - t0, n_iter, cs_now() - t1, out->inertia);
  return 0;
}

int cs_kmeans_fit(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                  const cs_kmeans_params_t *params, cs_kmeans_t *out,
                  cs_err_t *err) {
  return cs_kmeans_fit_from(ctx, X, n, dim, params, NULL, 0, out, err);
}

int cs_kmeans_fit_from(const cs_ctx_t *ctx, const float *X, int64_t n,
                       int dim, const cs_kmeans_params_t *params,
                       const float *init, int k_init, cs_kmeans_t *out,
                       cs_err_t *err) {
  cs__km_rows_t rows;
  cs__km_rows_all(&rows, n);
  return kmeans_fit_rows(ctx, &rows, X, dim, params, init, k_init, out, err);
}

void cs_kmeans_rows(const cs_ctx_t *ctx, int64_t n, int64_t *lo, int64_t *hi) {
  const cs_dist_t *d = cs_dist_of(ctx);
  cs_dist_part_blocks(n, CS__KM_BLOCK, d->rank, d->size, lo, hi);
}

int cs_kmeans_fit_dist(const cs_ctx_t *ctx, const float *X_local, int64_t n,
                       int dim, const cs_kmeans_params_t *params,
                       cs_kmeans_t *out, cs_err_t *err) {
  cs__km_rows_t rows;
  cs__km_rows_world(&rows, cs_dist_of(ctx), n);
  return kmeans_fit_rows(ctx, &rows, X_local, dim, params, NULL, 0, out, err);
}

/* ------------------------------------------------------------------------ */
/* Reference assignment                                                      */

void cs__kmeans_assign_ref(const float *centroids, int k, int dim,
                           const float *X, int64_t n, int32_t *out) {
  for (int64_t i = 0; i < n; i++)
    out[i] = nearest_exact(centroids, k, dim, X + i * dim, NULL);
}

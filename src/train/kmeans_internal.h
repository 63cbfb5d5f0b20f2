/* kmeans_internal.h: pieces shared by the k-means files (seeding, the
 * centroid update with empty-cluster re-seeding, and the accelerated
 * assignment). Not a public header. */
#ifndef COLDSTART_MODEL_KMEANS_INTERNAL_H
#define COLDSTART_MODEL_KMEANS_INTERNAL_H

#include <stdint.h>

#include "coldstart/centroids.h"
#include "coldstart/ctx.h"
#include "coldstart/error.h"

/* Every assignment decision uses cs_centroid_dist2 (centroids.h), the
 * arithmetic evaluation and serving decide memberships with, so a training
 * row's label is what cs_centroids_nearest returns for it. */

/* Greedy k-means++ seeding (n_local_trials = 2 + floor(ln k) candidates per
 * step, the one that lowers the potential most wins), pruned with the
 * triangle inequality. Writes k rows to `centroids`. Deterministic for a seed
 * whatever the thread count. n >= k >= 1. */
int cs__kmeans_seed(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                    int k, uint64_t seed, float *centroids, cs_err_t *err);

/* The same with centers [0, k_init) given in `centroids` (0 <= k_init < k):
 * the k - k_init others are drawn by k-means++ given them (k_init = 0 is
 * cs__kmeans_seed, draw for draw). */
int cs__kmeans_seed_from(const cs_ctx_t *ctx, const float *X, int64_t n,
                         int dim, int k, int k_init, uint64_t seed,
                         float *centroids, cs_err_t *err);

/* Centroid update shared by both variants. sums [k x dim] and counts [k] hold
 * the per-cluster sums of the current labels. Empty clusters are re-seeded
 * in index order, each with the point farthest from its assigned centroid
 * (dist2[i], ties to the lower row) among clusters with >= 2 points; that
 * point moves (labels[i] = j, dist2[i] = 0, its old cluster's sum loses it).
 * moved[] (may be NULL) gets 1 for moved points. Then centroids = sums /
 * counts (rounded to float). Returns the number of re-seeded clusters. */
int cs__kmeans_update(const float *X, int64_t n, int dim, int k,
                      int32_t *labels, double *dist2, double *sums,
                      int64_t *counts, float *centroids, uint8_t *moved);

/* Exact sum of dist2 of every row to its labelled centroid, in row order. */
double cs__kmeans_inertia(const float *X, int64_t n, int dim,
                          const float *centroids, const int32_t *labels);

/* Reference Lloyd iterations (plain loops, double distances). */
int cs__kmeans_lloyd(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                     int k, int max_iter, float *centroids, int32_t *labels,
                     int *n_iter, cs_err_t *err);
/* Accelerated exact Lloyd iterations: same labels and centroids. */
int cs__kmeans_fast(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                    int k, int max_iter, float *centroids, int32_t *labels,
                    int *n_iter, cs_err_t *err);

/* Reference of cs_kmeans_assign: exact distances, lower index wins ties. */
void cs__kmeans_assign_ref(const float *centroids, int k, int dim,
                           const float *X, int64_t n, int32_t *out);

#endif

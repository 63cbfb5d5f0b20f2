/* kmeans_internal.h: pieces shared by the k-means files (which rows this
 * process holds, seeding, the centroid update with empty-cluster
 * re-seeding, the fixed-point centroid sums, and the accelerated
 * assignment). Not a public header.
 *
 * Rows may be spread over the ranks of an MPI run (docs/mpi.md): a rank
 * holds rows [row0, row0 + n_local) of n, whole blocks of CS__KM_BLOCK
 * rows (cs_dist_part_blocks). Everything that crosses rows is exact or in
 * block order: centroid sums are fixed-point integers (cs_fixed_*: any
 * partition, any thread count, the same bits), the seeding potentials and
 * the inertia are per-block sums added in block order. So the centroids
 * and labels do not depend on the number of ranks or threads. */
#ifndef COLDSTART_MODEL_KMEANS_INTERNAL_H
#define COLDSTART_MODEL_KMEANS_INTERNAL_H

#include <stdint.h>

#include "coldstart/centroids.h"
#include "coldstart/ctx.h"
#include "coldstart/dist.h"
#include "coldstart/error.h"

enum { CS__KM_BLOCK = 2048 };

/* The rows of X this process holds. X arguments below point at row row0. */
typedef struct cs__km_rows {
  const cs_dist_t *d; /* the world the sums reduce over */
  int64_t n;          /* rows over all ranks */
  int64_t row0;       /* first row held here */
  int64_t n_local;    /* rows held here */
} cs__km_rows_t;

/* All n rows in this process (a one-process world). */
void cs__km_rows_all(cs__km_rows_t *rows, int64_t n);
/* This rank's share of n rows in world d (whole blocks). */
void cs__km_rows_world(cs__km_rows_t *rows, const cs_dist_t *d, int64_t n);

/* Every assignment decision uses cs_centroid_dist2 (centroids.h), the
 * arithmetic evaluation and serving decide memberships with, so a training
 * row's label is what cs_centroids_nearest returns for it. */

/* Greedy k-means++ seeding (kmeans_seed.c): each step draws 2 + ln k
 * candidates from the exact k-means++ distribution (lazy sampling) and
 * keeps the one that lowers the potential of a fixed 4096-row sample
 * most. Writes k rows to `centroids` (on every rank). Deterministic for a
 * seed whatever the thread and rank count. n >= k >= 1. Collective. */
int cs__kmeans_seed(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                    const float *X, int dim, int k, uint64_t seed,
                    float *centroids, cs_err_t *err);
/* The same with centers [0, k_init) given in `centroids` (0 <= k_init < k):
 * the k - k_init others are chosen as above given them (a sweep over
 * increasing k starts each k from the previous one's centers). k_init = 0
 * is cs__kmeans_seed, draw for draw. Collective. */
int cs__kmeans_seed_from(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                         const float *X, int dim, int k, int k_init,
                         uint64_t seed, float *centroids, cs_err_t *err);

/* Fixed-point scale of the centroid sums: from the largest |x| over all
 * rows (collective). */
int cs__kmeans_scale(const cs__km_rows_t *rows, const float *X, int dim);
/* sum[0..dim) += (or -=, sign -1) x in fixed point. */
void cs__kmeans_add_row(int64_t *sum, const float *x, int dim, int scale,
                        int sign);

/* Centroid update shared by both variants. sums [k x dim] (fixed point at
 * `scale`) and counts [k] hold the per-cluster sums of the current labels
 * over ALL rows (already reduced). Empty clusters are re-seeded in index
 * order, each with the row farthest from its assigned centroid (dist2[i],
 * ties to the lower row, over all ranks) among clusters with >= 2 rows;
 * that row moves (labels[i] = j, dist2[i] = 0, its old cluster's sum loses
 * it). moved[] (local rows, may be NULL) gets 1 for moved rows. Then
 * centroids = sums / counts (rounded to float). Returns the number of
 * re-seeded clusters. Collective. */
int cs__kmeans_update(const cs__km_rows_t *rows, const float *X, int dim,
                      int k, int32_t *labels, double *dist2, int64_t *sums,
                      int scale, int64_t *counts, float *centroids,
                      uint8_t *moved);

/* Sum of dist2 of every row to its labelled centroid: per block of
 * CS__KM_BLOCK rows, blocks added in order. Collective. */
double cs__kmeans_inertia(const cs__km_rows_t *rows, const float *X, int dim,
                          const float *centroids, const int32_t *labels);

/* Reference Lloyd iterations (plain loops, double distances). labels: the
 * local rows. Collective. */
int cs__kmeans_lloyd(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                     const float *X, int dim, int k, int max_iter,
                     float *centroids, int32_t *labels, int *n_iter,
                     cs_err_t *err);
/* Accelerated exact Lloyd iterations: same labels and centroids. */
int cs__kmeans_fast(const cs_ctx_t *ctx, const cs__km_rows_t *rows,
                    const float *X, int dim, int k, int max_iter,
                    float *centroids, int32_t *labels, int *n_iter,
                    cs_err_t *err);

/* Reference of cs_kmeans_assign: exact distances, lower index wins ties. */
void cs__kmeans_assign_ref(const float *centroids, int k, int dim,
                           const float *X, int64_t n, int32_t *out);

#endif

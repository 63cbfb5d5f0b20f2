/* kmeans.h: k-means (k-means++ init, seeded) with a plain Lloyd reference and
 * a fast exact variant that gives the same assignments from the same start.
 *
 * Seeding: greedy k-means++ (each step draws 2 + ln k candidates with
 * probability proportional to the squared distance to the nearest center
 * so far and keeps the one that lowers the potential most, measured on a
 * fixed seeded sample of 4096 rows), deterministic for a seed whatever the
 * thread count. Then Lloyd iterations: assign every row to
 * its nearest centroid (exact distance, lower index on ties), move each
 * centroid to the mean of its rows; stop after max_iter updates or as soon
 * as an assignment pass changes nothing. A final assignment makes `assign`
 * match the returned centroids. An empty cluster is re-seeded, in index
 * order, with the row farthest from its centroid among clusters of >= 2 rows
 * (ties to the lower row). CS_KMEANS_FAST gives the same labels and
 * centroids as CS_KMEANS_LLOYD, bit for bit; same seed, same bytes. Every
 * distance decision uses cs_centroid_dist2 (centroids.h), so a row's label
 * is exactly what cs_centroids_nearest, which evaluation and serving use,
 * gives for it.
 * Centroid sums are exact (fixed point), the inertia a sum of fixed blocks:
 * the result does not depend on the thread count, nor, with
 * cs_kmeans_fit_dist, on the number of MPI ranks (docs/mpi.md).
 *
 * This is a training header: serving code does not include it. */
#ifndef COLDSTART_KMEANS_H
#define COLDSTART_KMEANS_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/error.h"

typedef enum { CS_KMEANS_LLOYD = 0, CS_KMEANS_FAST = 1 } cs_kmeans_algo_t;

typedef struct cs_kmeans_params {
  int k;          /* number of clusters (clamped to n when n < k) */
  int max_iter;   /* Lloyd iterations (20 in the paper) */
  uint64_t seed;  /* k-means++ seeding */
  int algo;       /* cs_kmeans_algo_t */
} cs_kmeans_params_t;

typedef struct cs_kmeans {
  int k, dim;
  float *centroids; /* [k x dim], owned */
  int32_t *assign;  /* [n] cluster of each training row, owned */
  int64_t n;        /* rows of assign */
  int64_t row0;     /* the first of them (0 unless cs_kmeans_fit_dist) */
  double inertia;   /* sum of squared distances to assigned centroids */
  int n_iter;       /* iterations run */
} cs_kmeans_t;

void cs_kmeans_params_default(cs_kmeans_params_t *p); /* k=1000, 20 iters */
int cs_kmeans_fit(const cs_ctx_t *ctx, const float *X, int64_t n, int dim,
                  const cs_kmeans_params_t *params, cs_kmeans_t *out,
                  cs_err_t *err);
void cs_kmeans_free(cs_kmeans_t *km);

/* The same fit with the n rows spread over the ranks of ctx's world (one
 * process: all of them): this rank holds rows [lo, hi) of cs_kmeans_rows,
 * X_local points at row lo. Collective. Every rank gets the centroids and
 * the inertia; out->assign has the labels of its rows (out->row0 = lo,
 * out->n = hi - lo). The same centroids, labels and inertia as
 * cs_kmeans_fit on all rows in one process, bit for bit, for any number of
 * ranks. */
void cs_kmeans_rows(const cs_ctx_t *ctx, int64_t n, int64_t *lo, int64_t *hi);
int cs_kmeans_fit_dist(const cs_ctx_t *ctx, const float *X_local, int64_t n,
                       int dim, const cs_kmeans_params_t *params,
                       cs_kmeans_t *out, cs_err_t *err);

/* Warm start (a sweep over increasing k, `coldstart tune`): the first
 * min(k_init, k) rows of init ([k_init x dim]) are kept as initial centers,
 * the others are added by k-means++ given them (seeded by params->seed),
 * then the same Lloyd iterations as cs_kmeans_fit. k_init = 0 (init may be
 * NULL) is cs_kmeans_fit, byte for byte. Deterministic for a seed and
 * init, whatever the thread count. */
int cs_kmeans_fit_from(const cs_ctx_t *ctx, const float *X, int64_t n,
                       int dim, const cs_kmeans_params_t *params,
                       const float *init, int k_init, cs_kmeans_t *out,
                       cs_err_t *err);

/* Nearest centroid of each of the n rows of X (exact: the same choice as the
 * Lloyd reference, lower index on ties), in tiles of one BLAS gemm, over
 * ctx->n_threads threads. Returns 0, CS_EINVAL or CS_ENOMEM. */
int cs_kmeans_assign(const cs_ctx_t *ctx, const float *centroids, int k,
                     int dim, const float *X, int64_t n, int32_t *out);

#endif

/* centroids.h: which segment a vector belongs to. One routine and one
 * arithmetic for every segment decision: k-means' assignments in training,
 * the memberships of evaluation and of serving, the input clusters. The
 * distance is the squared Euclidean distance with float differences
 * accumulated in double over 8 fixed lanes (cs_centroid_dist2); a float
 * version over 16 lanes only screens out centroids that provably cannot
 * enter the answer, so the result is exactly what the double arithmetic
 * decides. Ties go to the lower centroid index. */
#ifndef COLDSTART_CENTROIDS_H
#define COLDSTART_CENTROIDS_H

#include <stdint.h>

/* The exact squared distance every decision is made on. */
static inline double cs_centroid_dist2(const float *a, const float *b,
                                       int dim) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= dim; i += 8) {
    for (int l = 0; l < 8; l++) {
      double d = (double)a[i + l] - (double)b[i + l];
      acc[l] += d * d;
    }
  }
  for (; i < dim; i++) {
    double d = (double)a[i] - (double)b[i];
    acc[0] += d * d;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Fast float squared distance over 16 fixed lanes (vectorizes), for
 * screening only. Its rounding error is at most (dim + 2) * FLT_EPSILON
 * relative to the exact value. */
static inline float cs_centroid_dist2f(const float *a, const float *b,
                                       int dim) {
  float acc[16] = {0};
  int i = 0;
  for (; i + 16 <= dim; i += 16) {
    for (int l = 0; l < 16; l++) {
      float d = a[i + l] - b[i + l];
      acc[l] += d * d;
    }
  }
  for (; i < dim; i++) {
    float d = a[i] - b[i];
    acc[0] += d * d;
  }
  float s = 0.f;
  for (int l = 0; l < 16; l++) s += acc[l];
  return s;
}

/* The m nearest of k centroids ([k x dim], row-major) to x: indices in
 * ascending exact distance, ties by lower index; out_dist (may be NULL)
 * gets the distances (not squared), rounded to float. m is clamped to k;
 * m <= 0 writes nothing. No allocation for m <= 32. */
void cs_centroids_nearest(const float *centroids, int k, int dim,
                          const float *x, int m, int32_t *out_idx,
                          float *out_dist);

#endif

/* centroids_internal.h: the reference twin of cs_centroids_nearest, for the
 * tests that compare the two. Not a public header. */
#ifndef COLDSTART_MODEL_CENTROIDS_INTERNAL_H
#define COLDSTART_MODEL_CENTROIDS_INTERNAL_H

#include <stdint.h>

/* Exact distances for all centroids, selection of the m smallest (lower
 * index on ties). Same contract as cs_centroids_nearest. */
void cs__centroids_nearest_ref(const float *centroids, int k, int dim,
                               const float *x, int m, int32_t *out_idx,
                               float *out_dist);

#endif

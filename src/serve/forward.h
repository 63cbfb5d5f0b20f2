/* forward.h: the batched serving forward pass of the regressor (internal to
 * src/serve/; see forward.c). */
#ifndef COLDSTART_SERVE_FORWARD_H
#define COLDSTART_SERVE_FORWARD_H

#include "coldstart/regressor.h"

typedef struct cs_serve_fwd cs_serve_fwd_t;

/* A plan for batches of up to batch_max rows over `r` (which must outlive
 * it): transposed dense weights and scratch. CS_EUNSUPPORTED when the
 * regressor has no one-row serving form (use cs_regressor_predict). */
int cs_serve_fwd_create(cs_serve_fwd_t **f, const cs_regressor_t *r, int batch_max);
void cs_serve_fwd_free(cs_serve_fwd_t *f);
/* X [n x n_in] raw features -> out [n x dim], L2-normalized; n <=
 * batch_max; each row bitwise independent of the others in the batch. */
void cs_serve_fwd_run(cs_serve_fwd_t *f, const float *X, int n, float *out);

#endif

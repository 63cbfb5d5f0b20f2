/* regressor_internal.h: the regressor's layout, shared by regressor.c, the
 * Adam step and the tests (gradient check, reference forward). Not public. */
#ifndef COLDSTART_REGRESSOR_INTERNAL_H
#define COLDSTART_REGRESSOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/regressor.h"

#define CS__REG_N_LINEAR 4 /* Linear layers */
#define CS__REG_N_BN 3     /* BatchNorm layers (after the first three) */
#define CS__REG_BN_EPS 1e-5f
#define CS__REG_BN_MOMENTUM 0.1f
#define CS__REG_NORM_EPS 1e-12 /* like torch.nn.functional.normalize */

/* Pointers to every array of one regressor (or of its gradient). Linear
 * layer l maps size[l] -> size[l+1]; w[l] is [size[l+1] x size[l]] row-major
 * (PyTorch's layout), b[l] is [size[l+1]]. BatchNorm l follows Linear l. */
typedef struct cs__reg_arrays {
  float *w[CS__REG_N_LINEAR], *b[CS__REG_N_LINEAR];
  float *gamma[CS__REG_N_BN], *beta[CS__REG_N_BN];
  float *run_mean[CS__REG_N_BN], *run_var[CS__REG_N_BN];
  float *in_mean, *in_std; /* input standardization, [n_in] each */
} cs__reg_arrays_t;

struct cs_regressor {
  int n_in, dim;
  int size[CS__REG_N_LINEAR + 1]; /* n_in, 400, 300, 200, dim */
  cs__reg_arrays_t p;
  /* Owned storage of all arrays, trainable ones (w, b, gamma, beta) first;
   * NULL when the arrays point into a container map (after load). */
  float *arena;
  size_t n_trainable; /* floats at the start of the arena that Adam updates */
  size_t n_floats;    /* whole arena */
  /* Training only (not saved): column tile width of the first layer;
   * tiles that are all zero in a row are skipped (registration-day feature
   * blocks are often empty). 0 = one dense GEMM. */
  int tile;
  /* One-row inference form (owned, NULL until cs__regressor_build_serving):
   * the first layer transposed [n_in x size[1]] with the input
   * standardization folded in, its output for an all-zero input, and the
   * BatchNorm running statistics as scale/shift per hidden unit. */
  float *serve_w0t, *serve_base;
  float *serve_scale[CS__REG_N_BN], *serve_shift[CS__REG_N_BN];
};

#define CS__REG_DEFAULT_TILE 128

/* Lay the arrays of a regressor with r->size out over `base` (NULL: just
 * count). Returns the number of floats; sets *n_trainable. */
size_t cs__regressor_layout(const cs_regressor_t *r, float *base,
                            cs__reg_arrays_t *a, size_t *n_trainable);

/* cs_regressor_create with other hidden widths (tests use tiny ones). */
int cs__regressor_create_hidden(cs_regressor_t **r, int n_in,
                                const int hidden[CS__REG_N_BN], int dim,
                                uint64_t seed, cs_err_t *err);

/* Set the input standardization from training rows X [n x n_in].
 * Returns 0 or CS_ENOMEM. */
int cs__regressor_fit_standardizer(cs_regressor_t *r, const float *X,
                                   int64_t n, int n_threads, cs_err_t *err);

/* One train-mode forward and backward pass on rows X[idx[i]] (raw features)
 * with targets Y[idx[i]], i < n_batch (idx NULL: rows 0..n_batch-1). Writes
 * the gradient of the MSE loss with respect to the trainable floats into
 * grad (laid out like the arena's first n_trainable floats), returns the
 * loss, and updates the BatchNorm running statistics as PyTorch does.
 * Needs an owned arena. Returns NAN when out of memory. */
double cs__regressor_batch_grad(cs_regressor_t *r, const float *X,
                                const float *Y, const int64_t *idx,
                                int n_batch, float *grad);

/* (Re)build the one-row inference form from the current weights; called
 * after training and loading. Returns 0 or CS_ENOMEM (predict then keeps
 * using the batch path). */
int cs__regressor_build_serving(cs_regressor_t *r);
/* Forget the one-row form (weights are about to change). */
void cs__regressor_drop_serving(cs_regressor_t *r);

/* Adam (PyTorch's formulation) over n floats: step t >= 1. */
void cs__adam_step(int n_threads, float *param, const float *grad, float *m,
                   float *v, size_t n, int64_t t, float lr, float beta1,
                   float beta2, float eps);

#endif

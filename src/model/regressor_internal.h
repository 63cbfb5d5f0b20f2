/* regressor_internal.h: the regressor's layout, shared by regressor.c
 * (inference, storage), its training (src/train/) and the tests. Not
 * public. */
#ifndef COLDSTART_REGRESSOR_INTERNAL_H
#define COLDSTART_REGRESSOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/arena.h"
#include "coldstart/regressor.h"

#define CS__REG_N_LINEAR 4 /* Linear layers */
#define CS__REG_N_BN 3     /* BatchNorm layers (after the first three) */
#define CS__REG_BN_EPS 1e-5f
#define CS__REG_BN_MOMENTUM 0.1f
#define CS__REG_NORM_EPS 1e-12 /* like torch.nn.functional.normalize */
#define CS__REG_MAX_IN (1 << 24)     /* widest input a file may declare */
#define CS__REG_MAX_WIDTH (1 << 16)  /* widest layer a file may declare */

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
  /* Storage (arena.h's rule): the weights live either in one block of `mem`
   * (`weights`: trainable ones (w, b, gamma, beta) first, then the
   * statistics) or in the map of `file` (after load; `weights` NULL, the
   * arrays point into the read-only map). `mem` also holds the one-row
   * form below. */
  float *weights;
  cs_arena_t mem;
  cs_container_t *file;
  size_t n_trainable; /* floats at the start of `weights` Adam updates */
  size_t n_floats;    /* all of `weights` */
  /* Training only (not saved): column tile width of the first layer;
   * tiles that are all zero in a row are skipped (registration-day feature
   * blocks are often empty). 0 = one dense GEMM. */
  int tile;
  /* One-row inference form (in `mem`, allocated by the first
   * cs__regressor_build_serving; valid while serve_ready): the first layer
   * transposed [n_in x size[1]] with the input standardization folded in,
   * its output for an all-zero input, and the BatchNorm running statistics
   * as scale/shift per hidden unit. */
  int serve_ready;
  float *serve_w0t, *serve_base;
  float *serve_scale[CS__REG_N_BN], *serve_shift[CS__REG_N_BN];
};

#define CS__REG_DEFAULT_TILE 128

/* Lay the arrays of a regressor with r->size out over `base` (NULL: just
 * count). Returns the number of floats; sets *n_trainable. */
size_t cs__regressor_layout(const cs_regressor_t *r, float *base,
                            cs__reg_arrays_t *a, size_t *n_trainable);

/* Allocate r->weights in r->mem for r->size (contents zero) and lay the
 * arrays out over it. Returns 0 or CS_ENOMEM. */
int cs__regressor_alloc(cs_regressor_t *r);

/* (Re)build the one-row inference form from the current weights; called
 * after training and loading. Returns 0 or CS_ENOMEM (predict then keeps
 * using the batch path). */
int cs__regressor_build_serving(cs_regressor_t *r);
/* Mark the one-row form stale (weights are about to change). */
static inline void cs__regressor_drop_serving(cs_regressor_t *r) {
  r->serve_ready = 0;
}

#endif

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

/* One folded layer of the inference form: y = b + x W over n_in inputs and
 * n_out outputs (a multiple of 16), W stored transposed [n_in x n_out], in
 * float32 (w) or float16 (w16; the other NULL). */
typedef struct cs__fwd_layer {
  int n_in, n_out;
  const float *w;
  const uint16_t *w16;
  const float *b; /* [n_out] */
} cs__fwd_layer_t;

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
  /* Inference form (in `mem`, allocated by the first
   * cs__regressor_build_serving; valid while serve_ready): each layer
   * folded (standardization into layer 0, each BatchNorm into the next
   * layer) and transposed, widths padded to 16 (forward.c), with float32
   * weights (fwd) and the same rounded to float16 (fwd_half); predict uses
   * fwd_half when `half` is set (cs_regressor_set_half). */
  int serve_ready, half;
  int half_ok; /* every folded weight within float16's range */
  cs__fwd_layer_t fwd[CS__REG_N_LINEAR], fwd_half[CS__REG_N_LINEAR];
};

#define CS__REG_DEFAULT_TILE 128

/* Lay the arrays of a regressor with r->size out over `base` (NULL: just
 * count). Returns the number of floats; sets *n_trainable. */
size_t cs__regressor_layout(const cs_regressor_t *r, float *base,
                            cs__reg_arrays_t *a, size_t *n_trainable);

/* Allocate r->weights in r->mem for r->size (contents zero) and lay the
 * arrays out over it. Returns 0 or CS_ENOMEM. */
int cs__regressor_alloc(cs_regressor_t *r);

/* (Re)build the folded inference form from the current weights; called
 * after training and loading. Returns 0, CS_ENOMEM or CS_ERANGE (a folded
 * weight or bias not finite), with err's message; predict then keeps
 * using the unfolded path. */
int cs__regressor_build_serving(cs_regressor_t *r, cs_err_t *err);
/* y[r][o] = b[o] + sum over k ascending with x[r][k] != 0 of
 * x[r][k] * W[k][o], one fused multiply-add per term, for rows r < n_rows
 * of x (row stride ldx) and o < L->n_out; y has row stride ldy. Each
 * output's chain of FMAs does not depend on the other rows, so results are
 * the same for any batch (forward.c). ks, xv and used are scratch of
 * n_in, 4 n_in and n_in entries. The _ref twin is the plain loop: equal
 * values. */
void cs__fwd_layer(const cs__fwd_layer_t *L, const float *x, int64_t ldx,
                   int64_t n_rows, float *y, int64_t ldy, int32_t *ks,
                   float *xv, uint8_t *used);
void cs__fwd_layer_ref(const cs__fwd_layer_t *L, const float *x, int64_t ldx,
                       int64_t n_rows, float *y, int64_t ldy);
/* IEEE half <-> float (round to nearest even), for the float16 weights. */
float cs__half_to_float(uint16_t h);
uint16_t cs__float_to_half(float f);

/* Mark the folded form stale (weights are about to change). */
static inline void cs__regressor_drop_serving(cs_regressor_t *r) {
  r->serve_ready = 0;
}

#endif

/* forward.c: the regressor's forward pass over a micro-batch of serving
 * rows. cs_regressor_predict's batch path standardizes densely and runs one
 * GEMM over all n_in columns (at n_in = 2,579 and a batch of 8-32 it costs
 * more per row than its one-row path); this one starts from the one-row
 * form (first layer transposed, standardization folded in, only the
 * nonzero features read) and reads every weight once per block of rows
 * instead of once per request, with the accumulators of 4 rows x 64
 * outputs held in registers.
 *
 * Every row is computed with the same operations in the same order
 * whatever the batch holds (no kernel choice depends on n), so a request's
 * answer does not depend on what arrived with it: a batch of n gives
 * bitwise the rows of n batches of 1. The first layer also matches the
 * one-row predict bit for bit; the dense layers sum in ascending input
 * order instead of BLAS gemv's order, so the embedding differs from
 * cs_regressor_predict in the last float bits (tested within 1e-5).
 *
 * The one place the service touches the regressor's internals; it belongs
 * beside the regressor (or behind the recommend module's batch entry
 * point) once that exists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/mat.h"
#include "model/regressor_internal.h"
#include "serve/forward.h"

#define LANES 16
#define RB 4 /* rows per register block */
#define VB 4 /* vectors of LANES outputs per register block */

/* Multiply-adds fused: faster, and the same in every kernel below (the
 * register block and the lone row must round alike). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT ON
#define CONTRACT
#else
#define CONTRACT __attribute__((optimize("fp-contract=fast")))
#endif

typedef float vec_t __attribute__((vector_size(4 * LANES), aligned(4)));

struct cs_serve_fwd {
  const cs_regressor_t *r;
  /* per layer: weights as [k x n_out] (input-major) and the initial value
   * of each output (bias; for layer 0 the folded base) */
  const float *wt[CS__REG_N_LINEAR], *init[CS__REG_N_LINEAR];
  float *owned[CS__REG_N_LINEAR];
  float *work;  /* two activation buffers */
  float *zero;  /* a zero input row, [widest input] */
  int batch_max, widest;
};

int cs_serve_fwd_create(cs_serve_fwd_t **out, const cs_regressor_t *r, int batch_max) {
  *out = NULL;
  if (!r->serve_w0t) return CS_EUNSUPPORTED;
  cs_serve_fwd_t *f = calloc(1, sizeof *f);
  if (!f) return CS_ENOMEM;
  f->r = r;
  f->batch_max = batch_max;
  int widest = 0, in_max = r->n_in;
  for (int l = 1; l <= CS__REG_N_LINEAR; l++)
    if (r->size[l] > widest) widest = r->size[l];
  f->widest = widest;
  f->wt[0] = r->serve_w0t;
  f->init[0] = r->serve_base;
  int rc = CS_OK;
  for (int l = 1; l < CS__REG_N_LINEAR && rc == CS_OK; l++) {
    int n_out = r->size[l + 1], k = r->size[l];
    float *t = cs_alloc_aligned((size_t)k * (size_t)n_out * sizeof(float));
    if (!t) {
      rc = CS_ENOMEM;
      break;
    }
    for (int o = 0; o < n_out; o++)
      for (int j = 0; j < k; j++) t[(size_t)j * n_out + o] = r->p.w[l][(size_t)o * k + j];
    f->owned[l] = t;
    f->wt[l] = t;
    f->init[l] = r->p.b[l];
  }
  f->work = cs_alloc_aligned(2 * (size_t)batch_max * (size_t)widest * sizeof(float));
  f->zero = calloc((size_t)(in_max > widest ? in_max : widest), sizeof(float));
  if (rc == CS_OK && (!f->work || !f->zero)) rc = CS_ENOMEM;
  if (rc != CS_OK) {
    cs_serve_fwd_free(f);
    return rc;
  }
  *out = f;
  return CS_OK;
}

void cs_serve_fwd_free(cs_serve_fwd_t *f) {
  if (!f) return;
  for (int l = 0; l < CS__REG_N_LINEAR; l++) free(f->owned[l]);
  free(f->work);
  free(f->zero);
  free(f);
}

/* unaligned vector load (a macro: returning a 64-byte vector from a
 * function changes the ABI where AVX-512 is off) */
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(vec_t))

/* RB rows x nv vectors of outputs from o0: acc = init + sum over ascending
 * j of x_j * wt[j]. A j where all RB inputs are zero is skipped (adding
 * 0 * w is exact for finite weights, so skipping or not gives the same
 * bits). nv is a constant at each call, so acc lives in registers. */
static inline __attribute__((always_inline)) CONTRACT void block(
    const float *wt, const float *init, int k, int n_out, const float *const x[RB], int rows,
    int o0, const int nv, float *out) {
  vec_t acc[RB][VB];
  for (int v = 0; v < nv; v++) {
    VLOAD(acc[0][v], init + o0 + v * LANES);
    for (int i = 1; i < RB; i++) acc[i][v] = acc[0][v];
  }
  const float *col = wt + o0;
  for (int j = 0; j < k; j++, col += n_out) {
    float xv[RB];
    int any = 0;
    for (int i = 0; i < RB; i++) {
      xv[i] = x[i][j];
      any |= xv[i] != 0.0f;
    }
    if (!any) continue;
    vec_t c[VB];
    for (int v = 0; v < nv; v++) VLOAD(c[v], col + v * LANES);
    for (int i = 0; i < RB; i++) {
      if (xv[i] == 0.0f) continue; /* feature blocks are runs: predictable */
      vec_t b = (vec_t){0} + xv[i];
      for (int v = 0; v < nv; v++) acc[i][v] += b * c[v];
    }
  }
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < nv; v++)
      memcpy(out + (size_t)i * n_out + o0 + v * LANES, &acc[i][v], sizeof(vec_t));
}

/* One row alone: the same accumulation (init, then fma with x_j w[j] for
 * ascending nonzero j) streaming each weight row contiguously, which beats
 * a register block with three empty rows. */
CONTRACT static void row_alone(
    const float *wt, const float *init, int k, int n_out, const float *x, int o_lo, int o_hi,
    float *out) {
  for (int o = o_lo; o < o_hi; o++) out[o] = init[o];
  for (int j = 0; j < k; j++) {
    float v = x[j];
    if (v == 0.0f) continue;
    const float *col = wt + (size_t)j * n_out;
    for (int o = o_lo; o < o_hi; o++) out[o] += v * col[o];
  }
}

/* out[n x n_out] = init + X[n x k] . wt, every row in ascending j. */
CONTRACT static void layer(const cs_serve_fwd_t *f, int l,
                                                                const float *X, int n,
                                                                float *out) {
  const cs_regressor_t *r = f->r;
  int k = r->size[l], n_out = r->size[l + 1];
  const float *wt = f->wt[l], *init = f->init[l];
  int o4 = n_out - n_out % (VB * LANES), o1 = n_out - n_out % LANES;
  /* a batch of one row goes alone; in a bigger batch a last short block
   * still uses the register kernel (its weight slice is in L2 by then) */
  int n_blk = n == 1 ? 0 : n;
  /* output blocks outside, row blocks inside: a block's slice of the
   * weights (k x 64 floats, 660 KB for the first layer) stays in L2 while
   * every row block of the batch goes through it */
  for (int o0 = 0; o0 < o1 && n_blk > 0;) {
    int nv = o0 < o4 ? VB : 1;
    for (int i0 = 0; i0 < n_blk; i0 += RB) {
      const float *x[RB];
      int rows = n_blk - i0 < RB ? n_blk - i0 : RB;
      for (int i = 0; i < RB; i++) x[i] = i < rows ? X + (size_t)(i0 + i) * k : f->zero;
      float *o = out + (size_t)i0 * n_out;
      if (nv == VB) block(wt, init, k, n_out, x, rows, o0, VB, o);
      else block(wt, init, k, n_out, x, rows, o0, 1, o);
    }
    o0 += nv * LANES;
  }
  if (n_blk < n)
    row_alone(wt, init, k, n_out, X + (size_t)n_blk * k, 0, o1, out + (size_t)n_blk * n_out);
  /* outputs past the last whole vector, one row at a time */
  if (o1 < n_out)
    for (int i = 0; i < n; i++)
      row_alone(wt, init, k, n_out, X + (size_t)i * k, o1, n_out, out + (size_t)i * n_out);
}

static void relu_bn(float *z, int width, const float *scale, const float *shift) {
  for (int j = 0; j < width; j++) {
    float a = z[j] > 0.0f ? z[j] : 0.0f;
    z[j] = a * scale[j] + shift[j];
  }
}

void cs_serve_fwd_run(cs_serve_fwd_t *f, const float *X, int n, float *out) {
  const cs_regressor_t *r = f->r;
  size_t half = (size_t)f->batch_max * (size_t)f->widest;
  float *bufs[2] = {f->work, f->work + half};
  const float *in = X;
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    int n_out = r->size[l + 1];
    float *z = l == CS__REG_N_LINEAR - 1 ? out : bufs[l & 1];
    layer(f, l, in, n, z);
    if (l < CS__REG_N_BN)
      for (int i = 0; i < n; i++)
        relu_bn(z + (size_t)i * n_out, n_out, r->serve_scale[l], r->serve_shift[l]);
    in = z;
  }
  for (int i = 0; i < n; i++) {
    float *o = out + (size_t)i * r->dim;
    double acc = 0.0;
    for (int j = 0; j < r->dim; j++) acc += (double)o[j] * (double)o[j];
    double nrm = sqrt(acc);
    if (nrm < CS__REG_NORM_EPS) nrm = CS__REG_NORM_EPS;
    float inv = (float)(1.0 / nrm);
    for (int j = 0; j < r->dim; j++) o[j] *= inv;
  }
}

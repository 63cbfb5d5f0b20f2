/* forward.c: the regressor's inference kernel. Every layer is folded (the
 * input standardization into the first layer, each BatchNorm into the
 * layer after it) and stored transposed, so a layer is
 *   y[r][o] = b[o] + sum, over inputs k in ascending order with x[r][k] != 0,
 *             of x[r][k] * wt[k][o]
 * with one fused multiply-add per term. Each output is one chain of FMAs in
 * a fixed order that does not depend on the other rows, so a user's
 * embedding is the same whether it is computed alone or in a batch of any
 * size: one-row and batched serving give the same recommendations, and so
 * does evaluation. (A tile skips an input only when it is zero in every row
 * of the tile; a row whose own value is zero then adds fma(0, w, acc) = acc,
 * the same value, at most with the sign of a zero changed.) Inputs that are
 * zero in a whole tile are skipped: registration-day feature vectors are half
 * empty blocks, and after a ReLU half of a hidden layer is zero.
 *
 * The weights are float32, or float16 (half the bytes to read; one row is
 * bound by reading the weights) converted to float32 as they are loaded:
 * the arithmetic is float32 either way. Tiles: 4 rows x 64 outputs, or one
 * row x 128 outputs, in registers (AVX-512, else AVX2 + FMA + F16C, else
 * plain C). cs__fwd_layer_ref is the plain loop they are tested against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__) && defined(__F16C__))
#include <immintrin.h>
#endif

#include "model/regressor_internal.h"

float cs__half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31u,
           man = h & 1023u, bits;
  if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalize */
      int e = -1;
      do {
        man <<= 1;
        e++;
      } while (!(man & 1024u));
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 1023u) << 13;
    }
  } else {
    bits = sign | (exp + 112u) << 23 | man << 13;
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t cs__float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 255u, man = x & 0x7fffffu;
  if (exp == 255) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u); /* overflow: infinity */
  if (e <= 0) {                                     /* subnormal or zero */
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t half = man >> shift, rest = man & ((1u << shift) - 1),
             mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1u))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = (uint32_t)e << 10 | man >> 13, rest = man & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half++; /* to even */
  return (uint16_t)(sign | half);
}

void cs__fwd_layer_ref(const cs__fwd_layer_t *L, const float *x, int64_t ldx,
                       int64_t n_rows, float *y, int64_t ldy) {
  for (int64_t r = 0; r < n_rows; r++) {
    const float *xr = x + r * ldx;
    float *yr = y + r * ldy;
    for (int o = 0; o < L->n_out; o++) {
      float acc = L->b[o];
      for (int k = 0; k < L->n_in; k++) {
        if (xr[k] == 0.0f) continue;
        size_t at = (size_t)k * L->n_out + o;
        float w = L->w16 ? cs__half_to_float(L->w16[at]) : L->w[at];
        acc = fmaf(xr[k], w, acc);
      }
      yr[o] = acc;
    }
  }
}

/* --- tiles ------------------------------------------------------------------
 * ks[0..n_k): the inputs used (nonzero in some row of the tile), xv: their
 * values, TILE_ROWS per input (zeros for rows the input is zero in). */

enum { TILE_ROWS = 4 };

#if defined(__AVX512F__)
#define V 16
typedef __m512 vec_t;
#define VLOAD(p) _mm512_loadu_ps(p)
#define VLOADH(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define V 8
typedef __m256 vec_t;
#define VLOAD(p) _mm256_loadu_ps(p)
#define VLOADH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#endif

#ifdef V
/* A tile of TILE_ROWS rows x NV vectors (NV <= 4) of outputs, or of one
 * row x NV vectors (NV <= 8); accumulators stay in registers. */
#define TILE4(NAME, WTYPE, LOADW, NV)                                          \
  static void NAME(const cs__fwd_layer_t *L, const WTYPE *wt, const int32_t *ks, \
                   const float *xv, int n_k, int o0, int n_r, float *y,        \
                   int64_t ldy) {                                              \
    vec_t a[TILE_ROWS][NV];                                                    \
    for (int r = 0; r < TILE_ROWS; r++)                                        \
      for (int v = 0; v < NV; v++) a[r][v] = VLOAD(L->b + o0 + V * v);         \
    for (int i = 0; i < n_k; i++) {                                            \
      const WTYPE *w = wt + (size_t)ks[i] * L->n_out + o0;                     \
      vec_t wv[NV];                                                            \
      for (int v = 0; v < NV; v++) wv[v] = LOADW(w + V * v);                   \
      const float *x = xv + (size_t)i * TILE_ROWS;                             \
      for (int r = 0; r < TILE_ROWS; r++) {                                    \
        vec_t bx = VSET1(x[r]);                                                \
        for (int v = 0; v < NV; v++) a[r][v] = VFMA(bx, wv[v], a[r][v]);       \
      }                                                                        \
    }                                                                          \
    for (int r = 0; r < n_r; r++)                                              \
      for (int v = 0; v < NV; v++) VSTORE(y + r * ldy + o0 + V * v, a[r][v]);  \
  }

#define TILE1(NAME, WTYPE, LOADW, NV)                                          \
  static void NAME(const cs__fwd_layer_t *L, const WTYPE *wt, const int32_t *ks, \
                   const float *xv, int n_k, int o0, float *y) {               \
    vec_t a[NV];                                                               \
    for (int v = 0; v < NV; v++) a[v] = VLOAD(L->b + o0 + V * v);              \
    for (int i = 0; i < n_k; i++) {                                            \
      const WTYPE *w = wt + (size_t)ks[i] * L->n_out + o0;                     \
      vec_t bx = VSET1(xv[(size_t)i * TILE_ROWS]);                             \
      for (int v = 0; v < NV; v++) a[v] = VFMA(bx, LOADW(w + V * v), a[v]);    \
    }                                                                          \
    for (int v = 0; v < NV; v++) VSTORE(y + o0 + V * v, a[v]);                 \
  }

#define TILES(W, WTYPE, LOADW)                                                 \
  TILE4(tile4_##W##_1, WTYPE, LOADW, 1)                                        \
  TILE4(tile4_##W##_2, WTYPE, LOADW, 2)                                        \
  TILE4(tile4_##W##_3, WTYPE, LOADW, 3)                                        \
  TILE4(tile4_##W##_4, WTYPE, LOADW, 4)                                        \
  TILE1(tile1_##W##_1, WTYPE, LOADW, 1)                                        \
  TILE1(tile1_##W##_8, WTYPE, LOADW, 8)                                        \
  /* outputs [o, n_out) of a tile, n_out - o a multiple of V */                \
  static void tiles_##W(const cs__fwd_layer_t *L, const WTYPE *wt,             \
                        const int32_t *ks, const float *xv, int n_k, int n_r,  \
                        float *y, int64_t ldy) {                               \
    int o = 0;                                                                 \
    if (n_r == 1) {                                                            \
      for (; o + 8 * V <= L->n_out; o += 8 * V)                                \
        tile1_##W##_8(L, wt, ks, xv, n_k, o, y);                               \
      for (; o + V <= L->n_out; o += V) tile1_##W##_1(L, wt, ks, xv, n_k, o, y); \
      return;                                                                  \
    }                                                                          \
    for (; o + 4 * V <= L->n_out; o += 4 * V)                                  \
      tile4_##W##_4(L, wt, ks, xv, n_k, o, n_r, y, ldy);                       \
    switch ((L->n_out - o) / V) {                                              \
    case 3: tile4_##W##_3(L, wt, ks, xv, n_k, o, n_r, y, ldy); break;          \
    case 2: tile4_##W##_2(L, wt, ks, xv, n_k, o, n_r, y, ldy); break;          \
    case 1: tile4_##W##_1(L, wt, ks, xv, n_k, o, n_r, y, ldy); break;          \
    default: break;                                                            \
    }                                                                          \
  }

TILES(f32, float, VLOAD)
TILES(f16, uint16_t, VLOADH)
#endif

/* Outputs [o0, o1) of the tile's rows, one plain chain per output (the
 * portable path). */
#ifndef V
static void tile_plain(const cs__fwd_layer_t *L, const int32_t *ks,
                       const float *xv, int n_k, int o0, int o1, int n_r,
                       float *y, int64_t ldy) {
  for (int r = 0; r < n_r; r++)
    for (int o = o0; o < o1; o++) {
      float acc = L->b[o];
      for (int i = 0; i < n_k; i++) {
        size_t at = (size_t)ks[i] * L->n_out + o;
        float w = L->w16 ? cs__half_to_float(L->w16[at]) : L->w[at];
        acc = fmaf(xv[(size_t)i * TILE_ROWS + r], w, acc);
      }
      y[r * ldy + o] = acc;
    }
}
#endif

/* The inputs some row of a tile of n_r rows uses (ks, ascending) and their
 * values per row (xv, TILE_ROWS per input, zero for the rows not using it).
 * Two passes: a byte per input (vectorizes), then the gather. */
static int tile_inputs(const float *x, int64_t ldx, int n_r, int n_in,
                       uint8_t *used, int32_t *ks, float *xv) {
  const float *x0 = x, *x1 = x + (n_r > 1 ? ldx : 0),
              *x2 = x + (n_r > 2 ? 2 * ldx : 0), *x3 = x + (n_r > 3 ? 3 * ldx : 0);
  for (int k = 0; k < n_in; k++)
    used[k] = (x0[k] != 0.0f) | (x1[k] != 0.0f) | (x2[k] != 0.0f) |
              (x3[k] != 0.0f);
  int n_k = 0;
  for (int k = 0; k < n_in; k++) {
    if (!used[k]) continue;
    float *v = xv + (size_t)n_k * TILE_ROWS;
    v[0] = x0[k];
    v[1] = n_r > 1 ? x1[k] : 0.0f;
    v[2] = n_r > 2 ? x2[k] : 0.0f;
    v[3] = n_r > 3 ? x3[k] : 0.0f;
    ks[n_k++] = k;
  }
  return n_k;
}

void cs__fwd_layer(const cs__fwd_layer_t *L, const float *x, int64_t ldx,
                   int64_t n_rows, float *y, int64_t ldy, int32_t *ks,
                   float *xv, uint8_t *used) {
  for (int64_t r0 = 0; r0 < n_rows; r0 += TILE_ROWS) {
    int n_r = n_rows - r0 < TILE_ROWS ? (int)(n_rows - r0) : TILE_ROWS;
    int n_k = tile_inputs(x + r0 * ldx, ldx, n_r, L->n_in, used, ks, xv);
    float *yt = y + r0 * ldy;
#ifdef V
    /* n_out is a multiple of 16, so of V: the vector tiles cover it */
    if (L->w16) tiles_f16(L, L->w16, ks, xv, n_k, n_r, yt, ldy);
    else tiles_f32(L, L->w, ks, xv, n_k, n_r, yt, ldy);
#else
    tile_plain(L, ks, xv, n_k, 0, L->n_out, n_r, yt, ldy);
#endif
  }
}

/* mat.c: aligned allocation and the thin CBLAS (OpenBLAS) wrapper, with
 * plain-C references of gemm/gemv/dot that tests compare against. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/error.h"
#include "coldstart/mat.h"

void *cs_alloc_aligned(size_t size) {
  if (size > SIZE_MAX - 63) return NULL;
  size_t rounded = (size + 63) & ~(size_t)63;
  if (rounded == 0) rounded = 64;
  void *p = aligned_alloc(64, rounded);
  if (p) memset(p, 0, rounded);
  return p;
}

static CBLAS_TRANSPOSE to_cblas(cs_trans_t t) {
  return t == CS_TRANS ? CblasTrans : CblasNoTrans;
}

void cs_gemm(cs_trans_t ta, cs_trans_t tb, int64_t M, int64_t N, int64_t K,
             float alpha, const float *A, int64_t lda, const float *B,
             int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), (blasint)M,
              (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb,
              beta, C, (blasint)ldc);
}

void cs_gemv(cs_trans_t ta, int64_t rows, int64_t cols, float alpha,
             const float *A, int64_t lda, const float *x, float beta,
             float *y) {
  if (rows <= 0 || cols <= 0) return;
  cblas_sgemv(CblasRowMajor, to_cblas(ta), (blasint)rows, (blasint)cols,
              alpha, A, (blasint)lda, x, 1, beta, y, 1);
}

float cs_dot(int64_t n, const float *x, const float *y) {
  return cblas_sdot((blasint)n, x, 1, y, 1);
}

void cs_axpy(int64_t n, float alpha, const float *x, float *y) {
  cblas_saxpy((blasint)n, alpha, x, 1, y, 1);
}

void cs_gemm_ref(cs_trans_t ta, cs_trans_t tb, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    for (int64_t j = 0; j < N; j++) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; k++) {
        float a = ta == CS_TRANS ? A[k * lda + i] : A[i * lda + k];
        float b = tb == CS_TRANS ? B[j * ldb + k] : B[k * ldb + j];
        acc += (double)a * (double)b;
      }
      float prev = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      C[i * ldc + j] = (float)(alpha * acc) + prev;
    }
  }
}

void cs_gemv_ref(cs_trans_t ta, int64_t rows, int64_t cols, float alpha,
                 const float *A, int64_t lda, const float *x, float beta,
                 float *y) {
  int64_t n_out = ta == CS_TRANS ? cols : rows;
  int64_t n_in = ta == CS_TRANS ? rows : cols;
  for (int64_t i = 0; i < n_out; i++) {
    double acc = 0.0;
    for (int64_t k = 0; k < n_in; k++) {
      float a = ta == CS_TRANS ? A[k * lda + i] : A[i * lda + k];
      acc += (double)a * (double)x[k];
    }
    float prev = beta == 0.0f ? 0.0f : beta * y[i];
    y[i] = (float)(alpha * acc) + prev;
  }
}

float cs_dot_ref(int64_t n, const float *x, const float *y) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; i++) acc += (double)x[i] * (double)y[i];
  return (float)acc;
}

double cs_norm2_sq(int64_t n, const float *x) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; i++) acc += (double)x[i] * (double)x[i];
  return acc;
}

void cs_normalize(int64_t n, float *x) {
  double norm = sqrt(cs_norm2_sq(n, x));
  if (norm <= 0.0) return;
  float inv = (float)(1.0 / norm);
  for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

int cs_blas_set_threads(int n_threads) {
  int previous = openblas_get_num_threads();
  openblas_set_num_threads(n_threads < 1 ? 1 : n_threads);
  return previous;
}

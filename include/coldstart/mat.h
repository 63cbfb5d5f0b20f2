/* mat.h: dense row-major float32 arithmetic: the one thin wrapper over
 * CBLAS (OpenBLAS) with plain-C references that tests compare against, and
 * aligned allocation. */
#ifndef COLDSTART_MAT_H
#define COLDSTART_MAT_H

#include <stdint.h>

/* 64-byte aligned zeroed allocation of `size` bytes; free with free(). */
void *cs_alloc_aligned(size_t size);

typedef enum { CS_NOTRANS = 0, CS_TRANS = 1 } cs_trans_t;

/* C[M x N] = alpha * op(A) * op(B) + beta * C, all row-major.
 * op(A) is M x K, op(B) is K x N; lda/ldb/ldc are row strides. */
void cs_gemm(cs_trans_t ta, cs_trans_t tb, int64_t M, int64_t N, int64_t K,
             float alpha, const float *A, int64_t lda, const float *B,
             int64_t ldb, float beta, float *C, int64_t ldc);
/* y[M] = alpha * op(A) x + beta * y, A is rows x cols row-major. */
void cs_gemv(cs_trans_t ta, int64_t rows, int64_t cols, float alpha,
             const float *A, int64_t lda, const float *x, float beta, float *y);
float cs_dot(int64_t n, const float *x, const float *y);
/* y += alpha * x */
void cs_axpy(int64_t n, float alpha, const float *x, float *y);

/* Plain-C references of the same contracts (double accumulators). */
void cs_gemm_ref(cs_trans_t ta, cs_trans_t tb, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float beta, float *C, int64_t ldc);
void cs_gemv_ref(cs_trans_t ta, int64_t rows, int64_t cols, float alpha,
                 const float *A, int64_t lda, const float *x, float beta,
                 float *y);
float cs_dot_ref(int64_t n, const float *x, const float *y);

/* Squared L2 norm with a double accumulator. */
double cs_norm2_sq(int64_t n, const float *x);
/* Scale x to unit L2 norm in place; a zero vector stays zero. */
void cs_normalize(int64_t n, float *x);

/* Set the number of threads BLAS (OpenBLAS) uses and return the previous
 * count. This is process-wide state, so it is scoped: a library call that
 * needs a given count sets it on entry and restores the returned value
 * before it returns (set(1) where our own threads each call BLAS; set(ctx
 * threads) around a stage that leaves the parallelism to BLAS). Nothing
 * else in the project calls OpenBLAS's thread functions. */
int cs_blas_set_threads(int n_threads);

#endif

/* embed.h: the collaborative-filtering embeddings of warm listening: TT-SVD
 * (song x song positive PMI, randomized truncated SVD) and UT-ALS (implicit
 * ALS of the user x song play matrix with a conjugate-gradient row solver). */
#ifndef COLDSTART_EMBED_H
#define COLDSTART_EMBED_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/error.h"
#include "coldstart/sparse.h"

/* ---------------------------------------------------------------- TT-SVD */

typedef struct cs_svd_params {
  int dim;          /* embedding size d (default 128) */
  int oversample;   /* extra random directions (default 10) */
  int n_power_iter; /* power iterations (default 2) */
  uint64_t seed;    /* Gaussian test matrix and basket sampling (default 42) */
} cs_svd_params_t;

void cs_svd_params_default(cs_svd_params_t *p);

/* Baskets with more distinct songs than this are reduced to this many songs,
 * chosen by a seeded draw per basket (deterministic, independent of the
 * thread count), so a basket costs at most CS_TTSVD_MAX_BASKET^2 pairs. */
#define CS_TTSVD_MAX_BASKET 200

/* baskets: rows = baskets (a warm user's day of streams, or a playlist),
 * cols = songs, values = counts (only presence is used: a pair of distinct
 * songs in one basket adds 1 to C[i][j] and C[j][i]).
 *   C[i][j]  = number of baskets holding both i and j (i != j)
 *   PMI[i][j] = log(C_ij * total / (row_i * row_j)), row_i = sum_j C_ij,
 *               total = sum_i row_i; only the positive part is kept.
 * Then a randomized truncated SVD (Halko et al.) of the symmetric PPMI
 * matrix: song_emb = U_d * sqrt(S_d). Rows are NOT L2-normalized (the
 * singular-value scaling carries confidence: rare songs get short vectors);
 * user vectors are built and normalized by the caller. Each column's sign is
 * fixed so that its largest-magnitude entry is positive. Songs in no basket
 * with another song get a zero row. Same seed, same bytes, for any
 * ctx->n_threads (one BLAS thread for the dense parts) and, run by
 * prepare under MPI, any number of ranks (docs/mpi.md). Returns 0,
 * CS_EINVAL or CS_ENOMEM. */
int cs_ttsvd_fit(const cs_ctx_t *ctx, const cs_csr_t *baskets,
                 const cs_svd_params_t *p, float *song_emb /*[n_songs x dim]*/,
                 cs_err_t *err);

/* The PPMI matrix above (n_songs x n_songs, symmetric, sorted columns,
 * positive entries only). `out` is owned by the caller (cs_csr_free). */
int cs_ppmi_build(const cs_ctx_t *ctx, const cs_csr_t *baskets,
                  int max_basket, uint64_t seed, cs_csr_t *out, cs_err_t *err);

/* Randomized truncated SVD of a sparse matrix A (n_rows x n_cols):
 * A ~ U diag(S) V^T with k components, U [n_rows x k], S [k] descending,
 * V [n_cols x k] (V may be NULL). `at` is A^T when the caller has it (or A
 * itself when A is symmetric); NULL means it is built here. Components past
 * min(n_rows, n_cols) are zero. */
int cs_rsvd(const cs_ctx_t *ctx, const cs_csr_t *a, const cs_csr_t *at, int k,
            int oversample, int n_power_iter, uint64_t seed, float *u,
            float *s, float *v, cs_err_t *err);

/* Y[n_rows x n] = A * X with X [n_cols x n], row-major, multithreaded over
 * rows of A; cs_csr_mm_ref is the plain reference (double accumulators). */
void cs_csr_mm(const cs_ctx_t *ctx, const cs_csr_t *a, const float *x,
               int64_t n, float *y);
void cs_csr_mm_ref(const cs_csr_t *a, const float *x, int64_t n, float *y);

/* ---------------------------------------------------------------- UT-ALS */

typedef struct cs_als_params {
  int dim;      /* factors d (default 128) */
  int iters;    /* ALS iterations, each = user half + song half (default 15) */
  float alpha;  /* confidence c = 1 + alpha * plays (default 10) */
  float lambda; /* L2 regularization (default 0.1) */
  int cg_steps; /* conjugate-gradient steps per row solve (default 3) */
  uint64_t seed; /* initialization (default 42) */
} cs_als_params_t;

void cs_als_params_default(cs_als_params_t *p);

typedef struct cs_als_report {
  int iters;         /* iterations run */
  double loss[256];  /* loss after each iteration (first 256) */
  double seconds;    /* wall time of the whole fit */
} cs_als_report_t;

/* Implicit ALS (Hu, Koren, Volinsky 2008). plays: users x songs, values =
 * play counts (>= 0). Minimizes
 *   sum_{all u,i} c_ui (p_ui - x_u.y_i)^2 + lambda (|X|^2 + |Y|^2)
 * with p_ui = 1 when (u, i) is stored, c_ui = 1 + alpha * plays_ui (1 when
 * not stored). Factors start as seeded N(0, 0.01^2) values; each half solves
 * every row by cg_steps of conjugate gradient warm-started from the current
 * row, with Y^T Y computed once per half. Rows with no plays get zero
 * factors. Rows are independent, so the result does not depend on
 * ctx->n_threads. rep may be NULL. Returns 0, CS_EINVAL or CS_ENOMEM. */
int cs_als_fit(const cs_ctx_t *ctx, const cs_csr_t *plays,
               const cs_als_params_t *p, float *user_f /*[n_users x dim]*/,
               float *song_f /*[n_songs x dim]*/, cs_als_report_t *rep,
               cs_err_t *err);

/* One half-step: solve every row r of `plays` (n_rows x n_items) for
 * x_r (in/out, warm start) against fixed item factors y [n_items x dim],
 * with cg_steps of CG. gram = y^T y (dim x dim). Used by cs_als_fit and by
 * the tests. Returns 0 or CS_ENOMEM. */
int cs_als_solve_rows(const cs_ctx_t *ctx, const cs_csr_t *plays,
                      const float *y, const float *gram,
                      const cs_als_params_t *p, float *x, cs_err_t *err);

/* gram[dim x dim] = f^T f for f [n_rows x dim], in fixed blocks of rows
 * added in order (the same bits for any thread or rank count). */
void cs_als_gram(const float *f, int64_t n_rows, int dim, float *gram);

/* Loss of the objective above for the given factors. */
double cs_als_loss(const cs_ctx_t *ctx, const cs_csr_t *plays,
                   const float *user_f, const float *song_f,
                   const cs_als_params_t *p);

/* Fold in a user who is not in the model: the exact least-squares row for
 * plays[k] of songs[k] (k < n), i.e. x = (Y^T C Y + lambda I)^-1 Y^T C p,
 * solved by Cholesky in double, with gram = Y^T Y (cs_als_gram). Plain C
 * (no BLAS), safe to call from many threads at once. Songs may repeat
 * (their plays add up); out-of-range song ids are an error. Returns 0,
 * CS_EINVAL or CS_ENOMEM. n == 0 gives a zero vector. */
int cs_als_fold_in_gram(const float *song_f, int64_t n_songs, int dim,
                        const float *gram, const int32_t *songs,
                        const float *plays, int64_t n,
                        const cs_als_params_t *p, float *out_user);

#endif

/* embed_internal.h: what als.c and svd.c share: a striped parallel loop
 * (blocks of rows dealt round-robin to threads, so skewed rows such as
 * popular songs spread evenly) and per-thread status collection. */
#ifndef COLDSTART_EMBED_INTERNAL_H
#define COLDSTART_EMBED_INTERNAL_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/dist.h"
#include "coldstart/error.h"
#include "coldstart/embed.h"
#include "coldstart/sparse.h"

/* fn(arg, begin, end, tid, err) is called for row blocks [begin, end) of size
 * `block`; thread t gets blocks t, t + T, t + 2T, ... The per-row result
 * must not depend on which thread runs it. */
typedef struct cs__striped {
  int n_threads;
  int64_t n, block;
  cs_range_fn fn;
  void *arg;
} cs__striped_t;

static inline int cs__striped_run(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  const cs__striped_t *s = arg;
  for (int64_t t = begin; t < end; t++) {
    for (int64_t b = t * s->block; b < s->n; b += s->block * s->n_threads) {
      int64_t e = b + s->block < s->n ? b + s->block : s->n;
      int rc = s->fn(s->arg, b, e, tid, err);
      if (rc) return rc;
    }
  }
  return 0;
}

static inline int cs__parallel_striped(const cs_ctx_t *ctx, int64_t n,
                                       int64_t block, cs_range_fn fn,
                                       void *arg, cs_err_t *err) {
  int n_threads = cs_ctx_threads(ctx);
  if (n_threads > 256) n_threads = 256;
  cs__striped_t s = {n_threads, n, block, fn, arg};
  return cs_parallel_for(n_threads, n_threads, cs__striped_run, &s, err);
}

static inline int cs__n_threads(const cs_ctx_t *ctx) {
  int n = cs_ctx_threads(ctx);
  return n > 256 ? 256 : n;
}

/* TT-SVD over the ranks of d (docs/mpi.md): this rank holds the baskets
 * that are the rows of `baskets` (global ids ids[r] seed their capping
 * draw; NULL: r); every rank gets the whole song_emb [n_songs x dim]: the
 * same bits as cs_ttsvd_fit on all the baskets in one process, for any
 * number of ranks or threads. Collective. */
int cs__ttsvd_fit_dist(const cs_ctx_t *ctx, const cs_dist_t *d,
                       const cs_csr_t *baskets, const int64_t *ids,
                       const cs_svd_params_t *p, float *song_emb,
                       cs_err_t *err);

/* UT-ALS over the ranks of d: this rank holds the user rows of `plays`
 * (users x songs), whose global rows are ids[r] (NULL: r) of n_users; it
 * gets their factors in user_f [plays->n_rows x dim] and every song's in
 * song_f [n_songs x dim] (every rank). The factors are the same bits as
 * cs_als_fit on the whole matrix in one process, for any number of ranks
 * or threads (the printed loss may differ in its last digits). Each half
 * step moves every rank's new factors to every rank. Collective. */
int cs__als_fit_dist(const cs_ctx_t *ctx, const cs_dist_t *d,
                     const cs_csr_t *plays, const int64_t *ids,
                     int64_t n_users, const cs_als_params_t *p,
                     float *user_f, float *song_f, cs_als_report_t *rep,
                     cs_err_t *err);

/* The randomized SVD of cs_rsvd for a symmetric n x n matrix A of which this
 * rank holds rows [off[rank], off[rank + 1]) (a), with U [n x k] and S on
 * every rank (TT-SVD's path). Only A's products are split over the ranks;
 * the dense parts (QR, the small SVD, U = Q Ur) run on every rank on the
 * same inputs with a single-threaded BLAS, so they give the same bits
 * everywhere and for any thread count. Collective. */
int cs__rsvd_sym(const cs_ctx_t *ctx, const cs_dist_t *d, const cs_csr_t *a,
                 const int64_t *off, int k, int oversample, int n_power_iter,
                 uint64_t seed, float *u, float *s, cs_err_t *err);

#endif

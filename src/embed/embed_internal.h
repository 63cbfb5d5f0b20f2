/* embed_internal.h: what als.c and svd.c share: a striped parallel loop
 * (blocks of rows dealt round-robin to threads, so skewed rows such as
 * popular songs spread evenly) and per-thread status collection. */
#ifndef COLDSTART_EMBED_INTERNAL_H
#define COLDSTART_EMBED_INTERNAL_H

#include <stdint.h>
#include "coldstart/ctx.h"

/* fn(arg, begin, end, tid) is called for row blocks [begin, end) of size
 * `block`; thread t gets blocks t, t + T, t + 2T, ... The per-row result
 * must not depend on which thread runs it. */
typedef struct cs__striped {
  int n_threads;
  int64_t n, block;
  cs_range_fn fn;
  void *arg;
} cs__striped_t;

static inline void cs__striped_run(void *arg, int64_t begin, int64_t end, int tid) {
  const cs__striped_t *s = arg;
  for (int64_t t = begin; t < end; t++) {
    for (int64_t b = t * s->block; b < s->n; b += s->block * s->n_threads) {
      int64_t e = b + s->block < s->n ? b + s->block : s->n;
      s->fn(s->arg, b, e, tid);
    }
  }
}

static inline void cs__parallel_striped(const cs_ctx_t *ctx, int64_t n,
                                        int64_t block, cs_range_fn fn,
                                        void *arg) {
  int n_threads = ctx && ctx->n_threads > 1 ? ctx->n_threads : 1;
  if (n_threads > 256) n_threads = 256;
  cs__striped_t s = {n_threads, n, block, fn, arg};
  cs_parallel_for(n_threads, n_threads, cs__striped_run, &s);
}

static inline int cs__n_threads(const cs_ctx_t *ctx) {
  int n = ctx && ctx->n_threads > 1 ? ctx->n_threads : 1;
  return n > 256 ? 256 : n;
}

#endif

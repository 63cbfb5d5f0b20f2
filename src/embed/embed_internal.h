/* embed_internal.h: what als.c and svd.c share: a striped parallel loop
 * (blocks of rows dealt round-robin to threads, so skewed rows such as
 * popular songs spread evenly) and per-thread status collection. */
#ifndef COLDSTART_EMBED_INTERNAL_H
#define COLDSTART_EMBED_INTERNAL_H

#include <stdint.h>
#include "coldstart/ctx.h"

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

#endif

/* ctx.h: the run context passed to long-running library calls (threads,
 * logging, progress), a leveled logger and a progress reporter. The library
 * never writes to the terminal by itself: it writes to ctx->log_stream, which
 * the program sets (NULL: silent). */
#ifndef COLDSTART_CTX_H
#define COLDSTART_CTX_H

#include <stdint.h>
#include <stdio.h>
#include "coldstart/error.h"

struct cs_dist;

typedef enum {
  CS_LOG_ERROR = 0,
  CS_LOG_WARN = 1,
  CS_LOG_INFO = 2,
  CS_LOG_DEBUG = 3
} cs_log_level_t;

typedef struct cs_ctx {
  int n_threads;       /* worker threads for our own parallel loops (>= 1) */
  int quiet;           /* no progress lines, no info logs */
  int log_level;       /* messages above this level are dropped */
  FILE *log_stream;    /* where logs and progress go; NULL = nowhere */
  int progress_is_tty; /* progress lines only when the stream is a terminal */
  const struct cs_dist *dist; /* the ranks of an MPI run (coldstart/dist.h);
                                 NULL: one process */
} cs_ctx_t;

/* Defaults: 1 thread, INFO level, no stream (silent), one process. */
void cs_ctx_init(cs_ctx_t *ctx);

/* Worker threads a call should use: ctx->n_threads, at least 1 (1 when
 * ctx is NULL). */
static inline int cs_ctx_threads(const cs_ctx_t *ctx) {
  return ctx && ctx->n_threads > 1 ? ctx->n_threads : 1;
}

void cs_log(const cs_ctx_t *ctx, cs_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Progress for a loop of `total` steps: a single rewritten line on
 * ctx->log_stream with done/total, rate and ETA, refreshed at most ~10
 * times per second; silent when quiet or not a TTY. */
typedef struct cs_progress {
  const cs_ctx_t *ctx;
  char label[64];
  int64_t total, done;
  double t_start, t_last_print;
  int active;
} cs_progress_t;

void cs_progress_start(cs_progress_t *p, const cs_ctx_t *ctx,
                       const char *label, int64_t total);
void cs_progress_update(cs_progress_t *p, int64_t done);
/* Clear the line and, unless quiet, log "label: total in X.XXs". */
void cs_progress_finish(cs_progress_t *p);

/* Monotonic seconds. */
double cs_now(void);

/* Run fn(arg, begin, end, tid, err) over [0, n) split into
 * min(n_threads, n) contiguous chunks, chunk t on thread t (static, so
 * results are deterministic for a given thread count); inline when one
 * chunk. Each chunk gets its own error context. fn returns 0 or a negative
 * code. Returns 0 when every chunk did; otherwise the code of the failing
 * chunk with the lowest tid, its details copied into err, so the error
 * reported does not depend on timing. Chunks are not cancelled: the others
 * run to their end. A chunk whose thread cannot start runs on the caller's
 * thread. tid < n_threads, so per-thread state can be an array of
 * n_threads entries. */
typedef int (*cs_range_fn)(void *arg, int64_t begin, int64_t end, int tid,
                           cs_err_t *err);
int cs_parallel_for(int n_threads, int64_t n, cs_range_fn fn, void *arg,
                    cs_err_t *err);

#endif

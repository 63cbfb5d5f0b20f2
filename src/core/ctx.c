/* ctx.c: the run context: leveled logging, the progress line (rate, ETA),
 * monotonic time and a static-chunk parallel for over pthreads. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coldstart/ctx.h"

void cs_ctx_init(cs_ctx_t *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->n_threads = 1;
  ctx->log_level = CS_LOG_INFO;
}

double cs_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *level_name(cs_log_level_t level) {
  switch (level) {
  case CS_LOG_ERROR: return "error";
  case CS_LOG_WARN: return "warning";
  case CS_LOG_INFO: return "info";
  default: return "debug";
  }
}

void cs_log(const cs_ctx_t *ctx, cs_log_level_t level, const char *fmt, ...) {
  if (!ctx || !ctx->log_stream || (int)level > ctx->log_level) return;
  if (ctx->quiet && level >= CS_LOG_INFO) return;
  if (level != CS_LOG_INFO) fprintf(ctx->log_stream, "%s: ", level_name(level));
  va_list ap;
  va_start(ap, fmt);
  vfprintf(ctx->log_stream, fmt, ap);
  va_end(ap);
  fputc('\n', ctx->log_stream);
  fflush(ctx->log_stream);
}

static void format_duration(char *buf, size_t size, double seconds) {
  if (seconds < 0 || seconds > 1e7) {
    snprintf(buf, size, "?");
  } else if (seconds < 60) {
    snprintf(buf, size, "%.0fs", seconds);
  } else if (seconds < 3600) {
    snprintf(buf, size, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
  } else {
    snprintf(buf, size, "%dh%02dm", (int)seconds / 3600,
             ((int)seconds % 3600) / 60);
  }
}

void cs_progress_start(cs_progress_t *p, const cs_ctx_t *ctx,
                       const char *label, int64_t total) {
  memset(p, 0, sizeof *p);
  p->ctx = ctx;
  snprintf(p->label, sizeof p->label, "%s", label);
  p->total = total;
  p->t_start = p->t_last_print = cs_now();
  p->active = ctx && ctx->log_stream && !ctx->quiet && ctx->progress_is_tty;
}

void cs_progress_update(cs_progress_t *p, int64_t done) {
  p->done = done;
  if (!p->active) return;
  double now = cs_now();
  if (now - p->t_last_print < 0.1 && done < p->total) return;
  p->t_last_print = now;
  double elapsed = now - p->t_start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
  char eta[32];
  format_duration(eta, sizeof eta,
                  rate > 0 ? (double)(p->total - done) / rate : -1.0);
  double pct = p->total > 0 ? 100.0 * (double)done / (double)p->total : 0.0;
  fprintf(p->ctx->log_stream, "\r\033[K%s: %lld/%lld (%.0f%%) %.1f/s ETA %s",
          p->label, (long long)done, (long long)p->total, pct, rate, eta);
  fflush(p->ctx->log_stream);
}

void cs_progress_finish(cs_progress_t *p) {
  if (!p->ctx) return;
  double elapsed = cs_now() - p->t_start;
  if (p->active) {
    fprintf(p->ctx->log_stream, "\r\033[K");
    fflush(p->ctx->log_stream);
  }
  cs_log(p->ctx, CS_LOG_INFO, "%s: %lld in %.2fs", p->label,
         (long long)p->total, elapsed);
  p->active = 0;
}

typedef struct {
  cs_range_fn fn;
  void *arg;
  int64_t begin, end;
  int tid;
  int rc;
  cs_err_t err;
} chunk_t;

static void *run_chunk(void *raw) {
  chunk_t *c = raw;
  cs_err_clear(&c->err);
  c->rc = c->fn(c->arg, c->begin, c->end, c->tid, &c->err);
  if (c->rc && c->err.code == CS_OK) c->err.code = c->rc;
  return NULL;
}

int cs_parallel_for(int n_threads, int64_t n, cs_range_fn fn, void *arg,
                    cs_err_t *err) {
  if (n <= 0) return 0;
  if (n_threads > n) n_threads = (int)n;
  if (n_threads < 1) n_threads = 1;
  chunk_t one;
  chunk_t *chunks = n_threads == 1 ? &one : calloc((size_t)n_threads, sizeof *chunks);
  pthread_t *threads = n_threads == 1 ? NULL : calloc((size_t)n_threads, sizeof *threads);
  if (!chunks || (n_threads > 1 && !threads)) {
    /* no memory for the bookkeeping: one chunk on this thread */
    if (chunks != &one) free(chunks);
    free(threads);
    chunks = &one;
    threads = NULL;
    n_threads = 1;
  }
  for (int t = 0; t < n_threads; t++)
    chunks[t] = (chunk_t){.fn = fn, .arg = arg, .begin = n * t / n_threads,
                          .end = n * (t + 1) / n_threads, .tid = t};
  int started = 0;
  for (int t = 1; t < n_threads; t++) {
    if (pthread_create(&threads[t], NULL, run_chunk, &chunks[t]) != 0) break;
    started = t;
  }
  run_chunk(&chunks[0]);
  /* Chunks whose thread could not start run here, in order. */
  for (int t = started + 1; t < n_threads; t++) run_chunk(&chunks[t]);
  for (int t = 1; t <= started; t++) pthread_join(threads[t], NULL);
  int rc = 0;
  for (int t = 0; t < n_threads && !rc; t++)
    if (chunks[t].rc) {
      rc = chunks[t].rc;
      if (err) *err = chunks[t].err;
    }
  if (chunks != &one) free(chunks);
  free(threads);
  return rc;
}

/* metrics.h: the service's counters (internal to src/serve/): one block per
 * event-loop thread, written by that thread only, summed when /metrics is
 * rendered in the Prometheus text exposition format (version 0.0.4). */
#ifndef COLDSTART_SERVE_METRICS_H
#define COLDSTART_SERVE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum {
  CS_ROUTE_RECOMMEND = 0,
  CS_ROUTE_HEALTH,
  CS_ROUTE_HEALTHZ,
  CS_ROUTE_READYZ,
  CS_ROUTE_METRICS,
  CS_ROUTE_OTHER, /* unknown paths and requests too broken to route */
  CS_N_ROUTES
};
const char *cs_route_name(int route); /* "/recommend", ..., "other" */

#define CS_N_STATUS 17 /* the statuses the server sends, plus "other" */
#define CS_N_LAT_BUCKETS 15
#define CS_N_BATCH_BUCKETS 11

typedef _Atomic uint64_t cs_counter_t;

typedef struct cs_stats {
  cs_counter_t requests[CS_N_ROUTES][CS_N_STATUS];
  cs_counter_t latency[CS_N_ROUTES][CS_N_LAT_BUCKETS + 1]; /* last: +Inf */
  cs_counter_t latency_sum_ns[CS_N_ROUTES];
  cs_counter_t batch[CS_N_BATCH_BUCKETS + 1];
  cs_counter_t batch_sum, batch_count;
  cs_counter_t in_flight;   /* requests received, reply not yet queued */
  cs_counter_t connections; /* open on this thread */
  cs_counter_t accepted;
  cs_counter_t rejected_per_client, rejected_max;
  cs_counter_t timeouts_request, timeouts_idle;
  cs_counter_t answered;
} cs_stats_t;

/* Single-writer increments (the owning thread); readers load relaxed. */
static inline void cs_stat_add(cs_counter_t *c, uint64_t v) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                        memory_order_relaxed);
}
static inline void cs_stat_sub(cs_counter_t *c, uint64_t v) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - v,
                        memory_order_relaxed);
}

void cs_stats_request(cs_stats_t *st, int route, int status, int64_t latency_ns);
void cs_stats_batch(cs_stats_t *st, int batch_size);

/* A growable text buffer. */
typedef struct cs_strbuf {
  char *buf;
  size_t len, cap;
  int oom;
} cs_strbuf_t;
void cs_strbuf_add(cs_strbuf_t *b, const char *s, size_t len);
void cs_strbuf_printf(cs_strbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append a Prometheus label value: backslash, quote and newline escaped. */
void cs_strbuf_label(cs_strbuf_t *b, const char *value);

/* What /metrics shows besides the per-thread counters. */
typedef struct cs_metrics_info {
  const char *model_path, *model_space;
  uint32_t model_crc;
  int model_dim, model_features, model_clusters;
  int64_t model_songs, model_bytes;
  double model_load_seconds, model_loaded_at;
  uint64_t reload_ok, reload_fail;
  int draining;
  int batch_max;
  int max_connections;
  double start_time;
} cs_metrics_info_t;

void cs_metrics_render(cs_strbuf_t *b, cs_stats_t *const *threads, int n_threads,
                       const cs_metrics_info_t *info);

#endif

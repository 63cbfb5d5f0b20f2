/* metrics.c: per-thread counters and histograms of the service and their
 * rendering as Prometheus text exposition (HELP/TYPE lines, counters named
 * *_total, histograms as cumulative _bucket{le=...} plus _sum and _count,
 * label values escaped). */
#include "serve/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const route_names[CS_N_ROUTES] = {
    "/recommend", "/health", "/healthz", "/readyz", "/metrics", "other"};

const char *cs_route_name(int route) {
  return route >= 0 && route < CS_N_ROUTES ? route_names[route] : "other";
}

/* The statuses the server sends; index CS_N_STATUS - 1 is "other". */
static const int statuses[CS_N_STATUS - 1] = {200, 400, 404, 405, 408, 409, 411, 413,
                                              414, 431, 500, 501, 503, 505, 429, 415};

static int status_index(int status) {
  for (int i = 0; i < CS_N_STATUS - 1; i++)
    if (statuses[i] == status) return i;
  return CS_N_STATUS - 1;
}

/* Upper bounds in seconds. */
static const double lat_bounds[CS_N_LAT_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5, 10.0};
static const int batch_bounds[CS_N_BATCH_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

void cs_stats_request(cs_stats_t *st, int route, int status, int64_t latency_ns) {
  if (route < 0 || route >= CS_N_ROUTES) route = CS_ROUTE_OTHER;
  if (latency_ns < 0) latency_ns = 0;
  cs_stat_add(&st->requests[route][status_index(status)], 1);
  double sec = 1e-9 * (double)latency_ns;
  int b = 0;
  while (b < CS_N_LAT_BUCKETS && sec > lat_bounds[b]) b++;
  cs_stat_add(&st->latency[route][b], 1);
  cs_stat_add(&st->latency_sum_ns[route], (uint64_t)latency_ns);
  cs_stat_add(&st->answered, 1);
}

void cs_stats_batch(cs_stats_t *st, int batch_size) {
  int b = 0;
  while (b < CS_N_BATCH_BUCKETS && batch_size > batch_bounds[b]) b++;
  cs_stat_add(&st->batch[b], 1);
  cs_stat_add(&st->batch_sum, (uint64_t)batch_size);
  cs_stat_add(&st->batch_count, 1);
}

void cs_strbuf_add(cs_strbuf_t *b, const char *s, size_t len) {
  if (b->oom) return;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->buf = p;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, len);
  b->len += len;
  b->buf[b->len] = '\0';
}

void cs_strbuf_printf(cs_strbuf_t *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    cs_strbuf_add(b, tmp, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    b->oom = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  cs_strbuf_add(b, big, (size_t)n);
  free(big);
}

void cs_strbuf_label(cs_strbuf_t *b, const char *v) {
  for (; *v; v++) {
    if (*v == '\\') cs_strbuf_add(b, "\\\\", 2);
    else if (*v == '"') cs_strbuf_add(b, "\\\"", 2);
    else if (*v == '\n') cs_strbuf_add(b, "\\n", 2);
    else cs_strbuf_add(b, v, 1);
  }
}

static uint64_t ld(const cs_counter_t *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

static void head(cs_strbuf_t *b, const char *name, const char *type, const char *help) {
  cs_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Sum one counter over the threads. */
#define SUM(field)                                                \
  ({                                                              \
    uint64_t s_ = 0;                                              \
    for (int t_ = 0; t_ < n_threads; t_++) s_ += ld(&th[t_]->field); \
    s_;                                                           \
  })

void cs_metrics_render(cs_strbuf_t *b, cs_stats_t *const *th, int n_threads,
                       const cs_metrics_info_t *info) {
  head(b, "coldstart_http_requests_total", "counter",
       "HTTP requests answered, by route and status code.");
  for (int r = 0; r < CS_N_ROUTES; r++)
    for (int s = 0; s < CS_N_STATUS; s++) {
      uint64_t v = SUM(requests[r][s]);
      if (!v && !(s == 0 && r != CS_ROUTE_OTHER)) continue; /* 200s always shown */
      cs_strbuf_printf(b, "coldstart_http_requests_total{route=\"%s\",code=\"", route_names[r]);
      if (s < CS_N_STATUS - 1) cs_strbuf_printf(b, "%d", statuses[s]);
      else cs_strbuf_add(b, "other", 5);
      cs_strbuf_printf(b, "\"} %llu\n", (unsigned long long)v);
    }

  head(b, "coldstart_http_request_duration_seconds", "histogram",
       "Time from a request fully read to its reply queued, by route.");
  for (int r = 0; r < CS_N_ROUTES; r++) {
    uint64_t cum = 0;
    for (int i = 0; i <= CS_N_LAT_BUCKETS; i++) {
      cum += SUM(latency[r][i]);
      if (i < CS_N_LAT_BUCKETS)
        cs_strbuf_printf(b, "coldstart_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                         route_names[r], lat_bounds[i], (unsigned long long)cum);
      else
        cs_strbuf_printf(b, "coldstart_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                         route_names[r], (unsigned long long)cum);
    }
    cs_strbuf_printf(b, "coldstart_http_request_duration_seconds_sum{route=\"%s\"} %.9g\n",
                     route_names[r], 1e-9 * (double)SUM(latency_sum_ns[r]));
    cs_strbuf_printf(b, "coldstart_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                     route_names[r], (unsigned long long)cum);
  }

  head(b, "coldstart_batch_size", "histogram",
       "Recommend requests answered by one regressor pass (micro-batch size).");
  uint64_t cum = 0;
  for (int i = 0; i <= CS_N_BATCH_BUCKETS; i++) {
    cum += SUM(batch[i]);
    if (i < CS_N_BATCH_BUCKETS)
      cs_strbuf_printf(b, "coldstart_batch_size_bucket{le=\"%d\"} %llu\n", batch_bounds[i],
                       (unsigned long long)cum);
    else
      cs_strbuf_printf(b, "coldstart_batch_size_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
  }
  cs_strbuf_printf(b, "coldstart_batch_size_sum %llu\ncoldstart_batch_size_count %llu\n",
                   (unsigned long long)SUM(batch_sum), (unsigned long long)SUM(batch_count));
  head(b, "coldstart_batch_max", "gauge", "Largest micro-batch (--batch-max).");
  cs_strbuf_printf(b, "coldstart_batch_max %d\n", info->batch_max);

  head(b, "coldstart_http_requests_in_flight", "gauge",
       "Requests received whose reply is not queued yet.");
  cs_strbuf_printf(b, "coldstart_http_requests_in_flight %llu\n", (unsigned long long)SUM(in_flight));
  head(b, "coldstart_http_connections", "gauge", "Open client connections.");
  cs_strbuf_printf(b, "coldstart_http_connections %llu\n", (unsigned long long)SUM(connections));
  head(b, "coldstart_http_connections_max", "gauge", "Connection limit (--max-connections).");
  cs_strbuf_printf(b, "coldstart_http_connections_max %d\n", info->max_connections);
  head(b, "coldstart_http_connections_accepted_total", "counter", "Connections accepted.");
  cs_strbuf_printf(b, "coldstart_http_connections_accepted_total %llu\n",
                   (unsigned long long)SUM(accepted));
  head(b, "coldstart_http_connections_rejected_total", "counter",
       "Connections refused with 503, by reason (per_client: --max-conns-per-client; "
       "max: --max-connections).");
  cs_strbuf_printf(b, "coldstart_http_connections_rejected_total{reason=\"per_client\"} %llu\n",
                   (unsigned long long)SUM(rejected_per_client));
  cs_strbuf_printf(b, "coldstart_http_connections_rejected_total{reason=\"max\"} %llu\n",
                   (unsigned long long)SUM(rejected_max));
  head(b, "coldstart_http_timeouts_total", "counter",
       "Connections closed by a deadline (request: --request-timeout, 408 sent; idle: "
       "--idle-timeout).");
  cs_strbuf_printf(b, "coldstart_http_timeouts_total{kind=\"request\"} %llu\n",
                   (unsigned long long)SUM(timeouts_request));
  cs_strbuf_printf(b, "coldstart_http_timeouts_total{kind=\"idle\"} %llu\n",
                   (unsigned long long)SUM(timeouts_idle));

  head(b, "coldstart_model_info", "gauge",
       "The model being served (value 1): file, identity (CRC-32 of its section table), "
       "space and sizes.");
  cs_strbuf_add(b, "coldstart_model_info{path=\"", 27);
  cs_strbuf_label(b, info->model_path ? info->model_path : "");
  cs_strbuf_printf(b, "\",crc=\"%08x\",space=\"", info->model_crc);
  cs_strbuf_label(b, info->model_space ? info->model_space : "");
  cs_strbuf_printf(b, "\",dim=\"%d\",features=\"%d\",songs=\"%lld\",clusters=\"%d\"} 1\n",
                   info->model_dim, info->model_features, (long long)info->model_songs,
                   info->model_clusters);
  head(b, "coldstart_model_bytes", "gauge", "Size of the served model file (held in memory).");
  cs_strbuf_printf(b, "coldstart_model_bytes %lld\n", (long long)info->model_bytes);
  head(b, "coldstart_model_load_seconds", "gauge",
       "Time the served model took to load (private copy, validation, smoke request).");
  cs_strbuf_printf(b, "coldstart_model_load_seconds %.6f\n", info->model_load_seconds);
  head(b, "coldstart_model_loaded_timestamp_seconds", "gauge",
       "Unix time the served model was loaded.");
  cs_strbuf_printf(b, "coldstart_model_loaded_timestamp_seconds %.3f\n", info->model_loaded_at);
  head(b, "coldstart_model_reloads_total", "counter",
       "Model reloads (SIGHUP), by result; a failed reload keeps the old model.");
  cs_strbuf_printf(b, "coldstart_model_reloads_total{result=\"success\"} %llu\n",
                   (unsigned long long)info->reload_ok);
  cs_strbuf_printf(b, "coldstart_model_reloads_total{result=\"failure\"} %llu\n",
                   (unsigned long long)info->reload_fail);
  head(b, "coldstart_draining", "gauge", "1 while draining after SIGTERM (readyz answers 503).");
  cs_strbuf_printf(b, "coldstart_draining %d\n", info->draining);
  head(b, "process_start_time_seconds", "gauge", "Unix time the server started.");
  cs_strbuf_printf(b, "process_start_time_seconds %.3f\n", info->start_time);
}

/* serve.h: online recommendation: JSON requests (a new user's raw
 * registration-day events and demographics, or a precomputed feature
 * vector) in, JSON recommendations out, batched so that requests arriving
 * together share one regressor pass; the model handle that reloads safely;
 * and the HTTP service around them. The wire contract (routes, fields,
 * statuses, metrics) is docs/api.md.
 *
 * Request (POST /recommend):
 *   {"user_id": 42, "age": 25, "country": "FR",
 *    "events": [{"action": "stream", "kind": "song", "item_id": 123}, ...],
 *    "strategy": "soft", "k": 50}
 * user_id, age, country, events, strategy (default the server's) and k
 * (default the server's) are optional; "features": [F numbers] may replace
 * age/country/events (required for models trained on imported data, which
 * have no featurizer tables). Unknown fields are refused (a misspelt
 * "strategy" must not silently give the default). Every value is range-
 * checked before any narrowing: age an integer in [0, 150] or null,
 * features finite and within float32, item ids and user_id non-negative
 * int64, k in [1, max_k].
 * Response: the `coldstart recommend` JSON object of docs/formats.md.
 * Errors: {"error": NAME, "message": TEXT} with the error table's HTTP
 * status. */
#ifndef COLDSTART_SERVE_H
#define COLDSTART_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/error.h"
#include "coldstart/model.h"
#include "coldstart/strategy.h"

#define CS_BATCH_MAX_LIMIT 1024   /* largest --batch-max */
#define CS_AGE_MAX 150            /* largest age a request may send */
#define CS_COUNTRY_REQUEST_MAX 64 /* longest country string (bytes) */

/* Write one recommendation as the `coldstart recommend` JSON object (no
 * newline). Returns the length written, or -1 when `cap` is too small. */
int64_t cs_rec_write_json(const cs_model_t *m, int64_t user_id,
                          const cs_rec_t *rec, char *buf, size_t cap);

/* --- request handling (one per thread) ----------------------------------
 * Batch use: cs_handler_parse each request body into slots 0..n-1 (a slot
 * whose parse failed is reused for the next body), then cs_handler_run
 * once: one regressor pass over the n rows, then one recommendation per
 * slot, handed to `reply` in slot order. */
typedef struct cs_handler cs_handler_t;

typedef struct cs_handler_params {
  cs_strategy_params_t strat; /* defaults for k, soft m and margin */
  int default_strategy;       /* CS_STRAT_SOFT, or the model's tuned one
                                 unless strategy_given */
  int strategy_given;         /* 1: default_strategy set explicitly */
  int max_events;             /* per request (10000) */
  int max_k;                  /* largest k a request may ask (1000) */
  int batch_max;              /* rows per batch (32) */
  int half;                   /* regressor weights as float16 (0) */
} cs_handler_params_t;

void cs_handler_params_default(cs_handler_params_t *p);
/* Owns its workspace and buffers; `m` must outlive it. */
int cs_handler_create(cs_handler_t **h, const cs_model_t *m,
                      const cs_handler_params_t *p, cs_err_t *err);
void cs_handler_free(cs_handler_t *h);
const cs_model_t *cs_handler_model(const cs_handler_t *h);

/* Parse and featurize one /recommend body into batch slot `slot`. Returns
 * 0, or the error code (CS_EFORMAT, CS_ERANGE, CS_EINVAL, CS_ETOOBIG) with
 * a message naming the field in err. */
int cs_handler_parse(cs_handler_t *h, int slot, const char *body, size_t len,
                     cs_err_t *err);

/* Called once per slot, in slot order: rc 0 with the response JSON (valid
 * only during the call), or an error code and message. */
typedef void (*cs_reply_fn)(void *ctx, int slot, int rc, const char *json,
                            size_t len, const cs_err_t *err);
void cs_handler_run(cs_handler_t *h, int n, cs_reply_fn reply, void *ctx);

/* One request, one row: parse + run with n = 1. On success *out points to
 * the response JSON (owned by the handler, valid until its next call). */
int cs_handler_recommend(cs_handler_t *h, const char *body, size_t len,
                         const char **out, size_t *out_len, cs_err_t *err);

/* --- the served model ----------------------------------------------------
 * A model loaded from a PRIVATE copy of the file (a sealed memfd: nothing
 * done to the file on disk afterwards, overwrite or truncate, can reach
 * the memory it serves from), fully validated (checksums, header, the
 * handler parameters, one smoke request), and reference-counted so a
 * reload can swap it while requests still hold the old one. */
typedef struct cs_served_model {
  cs_model_t model;
  char path[512];      /* the file it was loaded from */
  uint32_t crc;        /* identity: CRC-32 over the section table (names,
                          sizes, section CRCs) */
  int64_t file_bytes;
  double load_seconds; /* copy + validate + smoke request */
  double loaded_at;    /* Unix time */
  _Atomic int refs;    /* starts at 1 (the caller's) */
} cs_served_model_t;

int cs_served_model_load(cs_served_model_t **out, const char *path,
                         const cs_handler_params_t *hp, cs_err_t *err);
cs_served_model_t *cs_served_model_retain(cs_served_model_t *m);
/* Drops one reference; the last frees the model. NULL is fine. */
void cs_served_model_release(cs_served_model_t *m);

/* --- the HTTP service ----------------------------------------------------
 * Our own HTTP/1.1 server on epoll (src/serve/http.c says why): a fixed
 * pool of event-loop threads, each one reading, batching, computing and
 * writing for its own connections; keep-alive and pipelining for every
 * method; strict limits; a whole-request deadline; a per-client connection
 * cap. Routes: POST /recommend, GET /healthz, /readyz, /metrics, /health. */
typedef struct cs_server cs_server_t;

typedef struct cs_server_params {
  const char *bind_addr;      /* "127.0.0.1" (IPv4 or IPv6 literal) */
  int port;                   /* 8080; 0 = pick a free port */
  int n_threads;              /* event loops (2) */
  size_t max_body;            /* bytes (1 MiB) */
  size_t max_head;            /* request line + headers, bytes (16 KiB) */
  int batch_wait_us;          /* wait for a fuller batch (0: never wait) */
  double idle_timeout;        /* s, keep-alive connection with no request (30) */
  double request_timeout;     /* s, first byte to last byte of a request (10) */
  int max_connections;        /* open at once (4096) */
  int max_conns_per_client;   /* per client address (256; 0 = no cap) */
  int access_log_fd;          /* -1: off; else one JSON line per request */
  cs_handler_params_t handler;
} cs_server_params_t;

void cs_server_params_default(cs_server_params_t *p);
/* Start serving `model` (the server takes its own reference). */
int cs_server_start(cs_server_t **s, cs_served_model_t *model,
                    const cs_server_params_t *p, cs_err_t *err);
/* The port actually bound. */
int cs_server_port(const cs_server_t *s);
/* Requests answered so far (all statuses). */
uint64_t cs_server_requests(const cs_server_t *s);
/* Load `path` (validated as cs_served_model_load does) and swap it in;
 * requests already running finish on the old model. On failure the old
 * model keeps serving. Either way counted in /metrics. */
int cs_server_reload(cs_server_t *s, const char *path, cs_err_t *err);
/* Stop accepting (readyz answers 503), answer every request already
 * received, close connections as their replies go out; returns when all
 * are closed or after `timeout` seconds. Returns the number of connections
 * still open (closed unanswered) when the timeout hit. */
int cs_server_drain(cs_server_t *s, double timeout);
void cs_server_stop(cs_server_t *s);

#endif

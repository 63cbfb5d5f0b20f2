/* serve.h: online recommendation: one JSON request (a new user's raw
 * registration-day events and demographics, or a precomputed feature
 * vector) in, one JSON recommendation out, and the HTTP service around it.
 *
 * Request (POST /recommend):
 *   {"user_id": 42, "age": 25, "country": "FR",
 *    "events": [{"action": "stream", "kind": "song", "item_id": 123}, ...],
 *    "strategy": "soft", "k": 50}
 * user_id, age, country, strategy (default "soft") and k (default the
 * server's) are optional; "features": [F numbers] may replace
 * age/country/events (required for models trained on imported data, which
 * have no featurizer tables).
 * Response: the `coldstart recommend` JSON object of docs/formats.md.
 * Errors: {"error": "EFORMAT", "message": "..."} with the error table's
 * HTTP status. GET /health answers {"status": "ok", ...}. */
#ifndef COLDSTART_SERVE_H
#define COLDSTART_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/error.h"
#include "coldstart/model.h"
#include "coldstart/strategy.h"

/* Write one recommendation as the docs/formats.md recommend JSON object (no
 * newline). Returns the length written, or -1 when `cap` is too small. */
int64_t cs_rec_write_json(const cs_model_t *m, int64_t user_id,
                          const cs_rec_t *rec, char *buf, size_t cap);

/* Per-thread request state: workspace, feature and output buffers. */
typedef struct cs_handler cs_handler_t;

typedef struct cs_handler_params {
  cs_strategy_params_t strat; /* defaults for k, soft m and margin */
  int default_strategy;       /* CS_STRAT_SOFT */
  int max_events;             /* per request (10000) */
  int max_k;                  /* largest k a request may ask (1000) */
} cs_handler_params_t;

void cs_handler_params_default(cs_handler_params_t *p);
int cs_handler_create(cs_handler_t **h, const cs_model_t *m,
                      const cs_handler_params_t *p, cs_err_t *err);
void cs_handler_free(cs_handler_t *h);

/* Handle one /recommend body. On success *out points to the response JSON
 * (owned by the handler, valid until its next call) and 0 is returned; on
 * a bad request the error code is returned with details in err. */
int cs_handler_recommend(cs_handler_t *h, const char *body, size_t len,
                         const char **out, size_t *out_len, cs_err_t *err);

/* The HTTP service (libmicrohttpd, a pool of n_threads event loops). */
typedef struct cs_server cs_server_t;

typedef struct cs_server_params {
  const char *bind_addr; /* "127.0.0.1" */
  int port;              /* 0 = pick a free port */
  int n_threads;
  size_t max_body;       /* bytes (1 MiB) */
  cs_handler_params_t handler;
} cs_server_params_t;

void cs_server_params_default(cs_server_params_t *p);
/* Start serving `m` (which must outlive the server). */
int cs_server_start(cs_server_t **s, const cs_model_t *m,
                    const cs_server_params_t *p, cs_err_t *err);
/* The port actually bound. */
int cs_server_port(const cs_server_t *s);
/* Requests answered so far (all statuses). */
uint64_t cs_server_requests(const cs_server_t *s);
void cs_server_stop(cs_server_t *s);

#endif

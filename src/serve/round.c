/* round.c: one round of an event loop: gather the requests that are
 * complete on the ready connections (parsing /recommend bodies into batch
 * slots as they come), one regressor pass over the batch, then every reply
 * queued in request order (pipelining), the access log written, the
 * connections flushed. Also the routes' replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/server_internal.h"

/* --- replies --------------------------------------------------------------- */

static void update_date(io_thread_t *t) {
  time_t now = time(NULL);
  if (now == t->date_sec) return;
  t->date_sec = now;
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(t->date, sizeof t->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void access_log(io_thread_t *t, const item_t *it, int status, size_t bytes,
                       int batch, int64_t latency_ns) {
  if (t->s->p.access_log_fd < 0) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[40];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  char path[64 * 6 + 1], method[16 * 6 + 1];
  size_t np = cs_json_escape(path, sizeof path - 1, it->path, strlen(it->path));
  path[np] = '\0';
  size_t nm = cs_json_escape(method, sizeof method - 1, it->method_str, strlen(it->method_str));
  method[nm] = '\0';
  cs_strbuf_printf(&t->log,
                   "{\"time\": \"%s.%03ldZ\", \"request_id\": \"%s\", \"client\": \"%s\", "
                   "\"method\": \"%s\", \"path\": \"%s\", \"route\": \"%s\", \"status\": %d, "
                   "\"latency_ms\": %.3f, \"batch_size\": %d, \"bytes\": %zu}\n",
                   when, ts.tv_nsec / 1000000, it->request_id, it->c->peer, method, path,
                   cs_route_name(it->route), status, 1e-6 * (double)latency_ns, batch, bytes);
}

static void flush_log(io_thread_t *t) {
  if (t->log.len == 0) return;
  size_t off = 0;
  while (off < t->log.len) {
    ssize_t n = write(t->s->p.access_log_fd, t->log.buf + off, t->log.len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* a full disk must not stop the service */
    off += (size_t)n;
  }
  t->log.len = 0;
}

/* Queue one reply on the item's connection and count it. */
static void send_reply(io_thread_t *t, item_t *it, int status, const char *ctype,
                       const char *body, size_t len, const char *extra, int batch) {
  conn_t *c = it->c;
  /* draining: a connection stays open while it has more already received
   * (later requests of this round, or bytes buffered), so pipelined
   * requests are answered too; its last answer says Connection: close */
  int more = ++c->n_replied < c->n_items || c->in_len > c->in_off;
  int keep = it->keep_alive && status != 408 &&
             (!atomic_load(&t->s->draining) || more);
  int head_only = it->method == CS_HTTP_HEAD;
  if (!c->dead) {
    update_date(t);
    char head[512 + 2 * CS_HTTP_ID_MAX];
    size_t hl = cs_http_write_head(head, sizeof head, status, ctype, len, t->date,
                                   it->request_id, extra, keep, it->minor);
    size_t total = hl + (head_only ? 0 : len);
    if (hl > 0 && cs__out_reserve(c, total) == 0) {
      memcpy(c->out + c->out_len, head, hl);
      if (!head_only) memcpy(c->out + c->out_len + hl, body, len);
      c->out_len += total;
    } else {
      keep = 0; /* out of memory: drop the connection after this */
      cs__conn_close(c);
    }
    if (!keep) c->close_after = 1;
    c->last_active = t->now;
  }
  int64_t lat = cs__mono_ns() - it->t_start;
  cs_stats_request(&t->stats, it->route, status, lat);
  cs_stat_sub(&t->stats.in_flight, 1);
  access_log(t, it, status, len, batch, lat);
}

void cs__send_error(io_thread_t *t, item_t *it, int status, const char *name,
                       const char *message, const char *extra, int batch) {
  char body[1600];
  size_t n = cs_http_error_body(body, sizeof body, name, message);
  send_reply(t, it, status, "application/json", body, n, extra, batch);
}

static void reply_health(io_thread_t *t, item_t *it) {
  const cs_served_model_t *sm = t->model;
  const cs_model_t *m = &sm->model;
  uint64_t answered = 0;
  for (int i = 0; i < t->s->n_threads; i++)
    answered += atomic_load_explicit(&t->s->threads[i].stats.answered, memory_order_relaxed);
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "{\"status\": \"ok\", \"space\": \"%s\", \"dim\": %d, "
                   "\"n_features\": %d, \"songs\": %lld, \"clusters\": %d, "
                   "\"featurizer\": %s, \"requests\": %llu}",
                   m->space, m->dim, m->n_features, (long long)m->n_songs, m->target.k,
                   m->featurizer ? "true" : "false", (unsigned long long)answered);
  send_reply(t, it, 200, "application/json", buf, (size_t)n, NULL, 0);
}

static void reply_readyz(io_thread_t *t, item_t *it) {
  if (atomic_load(&t->s->draining)) {
    cs__send_error(t, it, 503, "EDRAINING", "draining after SIGTERM: not taking new work", NULL, 0);
    return;
  }
  char buf[700], path[512 * 6];
  const cs_served_model_t *sm = t->model;
  size_t np = cs_json_escape(path, sizeof path - 1, sm->path, strlen(sm->path));
  path[np] = '\0';
  int n = snprintf(buf, sizeof buf, "{\"status\": \"ready\", \"model\": \"%.500s\", \"crc\": \"%08x\"}",
                   path, sm->crc);
  send_reply(t, it, 200, "application/json", buf, (size_t)n, NULL, 0);
}

static void reply_metrics(io_thread_t *t, item_t *it) {
  cs_server_t *s = t->s;
  cs_stats_t *th[256];
  int n = s->n_threads < 256 ? s->n_threads : 256;
  for (int i = 0; i < n; i++) th[i] = &s->threads[i].stats;
  pthread_mutex_lock(&s->model_lock);
  cs_served_model_t *sm = cs_served_model_retain(s->model);
  pthread_mutex_unlock(&s->model_lock);
  cs_metrics_info_t info = {
      .model_path = sm->path, .model_space = sm->model.space, .model_crc = sm->crc,
      .model_dim = sm->model.dim, .model_features = sm->model.n_features,
      .model_clusters = sm->model.target.k, .model_songs = sm->model.n_songs,
      .model_bytes = sm->file_bytes, .model_load_seconds = sm->load_seconds,
      .model_loaded_at = sm->loaded_at, .reload_ok = atomic_load(&s->reload_ok),
      .reload_fail = atomic_load(&s->reload_fail), .draining = atomic_load(&s->draining),
      .batch_max = s->p.handler.batch_max, .max_connections = s->p.max_connections,
      .start_time = s->start_time};
  t->scratch.len = 0;
  cs_metrics_render(&t->scratch, th, n, &info);
  cs_served_model_release(sm);
  if (t->scratch.oom) {
    t->scratch.oom = 0;
    cs__send_error(t, it, 500, "ENOMEM", "out of memory rendering metrics", NULL, 0);
    return;
  }
  send_reply(t, it, 200, "text/plain; version=0.0.4; charset=utf-8", t->scratch.buf,
             t->scratch.len, NULL, 0);
}

static void answer_item(io_thread_t *t, item_t *it) {
  if (it->status) {
    cs__send_error(t, it, it->status, it->err_name, it->why, it->allow, 0);
    return;
  }
  if (!t->model && it->route != CS_ROUTE_HEALTHZ && it->route != CS_ROUTE_METRICS) {
    cs__send_error(t, it, 503, "ENOMEM", "no model on this thread (out of memory)", NULL, 0);
    return;
  }
  switch (it->route) {
  case CS_ROUTE_HEALTH: reply_health(t, it); break;
  case CS_ROUTE_HEALTHZ:
    send_reply(t, it, 200, "application/json", "{\"status\": \"ok\"}", 16, NULL, 0);
    break;
  case CS_ROUTE_READYZ: reply_readyz(t, it); break;
  case CS_ROUTE_METRICS: reply_metrics(t, it); break;
  default: cs__send_error(t, it, 500, "EINTERNAL", "unrouted request", NULL, 0);
  }
}

typedef struct {
  io_thread_t *t;
  int batch;
} batch_ctx_t;

static void on_result(void *ctx, int slot, int rc, const char *json, size_t len,
                      const cs_err_t *err) {
  batch_ctx_t *b = ctx;
  io_thread_t *t = b->t;
  int idx = t->slot_item[slot];
  /* everything queued before this request goes out first (pipelining) */
  for (; t->emit_next < idx; t->emit_next++) {
    item_t *it = &t->items[t->emit_next];
    if (it->slot < 0) answer_item(t, it);
  }
  item_t *it = &t->items[idx];
  if (rc == CS_OK)
    send_reply(t, it, 200, "application/json", json, len, NULL, b->batch);
  else
    cs__send_error(t, it, cs_error_http_status(rc), cs_errname(rc), err->msg, NULL, b->batch);
  if (t->emit_next == idx) t->emit_next++;
}

/* --- the model of this thread ---------------------------------------------- */

void cs__thread_use_model(io_thread_t *t) {
  cs_server_t *s = t->s;
  uint64_t gen = atomic_load(&s->generation);
  if (t->handler && gen == t->model_gen) return;
  pthread_mutex_lock(&s->model_lock);
  cs_served_model_t *sm = cs_served_model_retain(s->model);
  gen = atomic_load(&s->generation);
  pthread_mutex_unlock(&s->model_lock);
  cs_handler_t *h = NULL;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_handler_create(&h, &sm->model, &s->p.handler, &err) != CS_OK) {
    /* keep the old model until memory allows the new one */
    cs_served_model_release(sm);
    if (t->handler) return;
    fprintf(stderr, "coldstart serve: thread %d: %s\n", t->index, err.msg);
    return;
  }
  cs_handler_free(t->handler);
  cs_served_model_release(t->model);
  t->handler = h;
  t->model = sm;
  t->model_gen = gen;
}

/* --- gathering requests ------------------------------------------------------ */

static int route_of(const char *path, size_t len) {
  static const struct {
    const char *p;
    int r;
  } routes[] = {{"/recommend", CS_ROUTE_RECOMMEND}, {"/health", CS_ROUTE_HEALTH},
                {"/healthz", CS_ROUTE_HEALTHZ},     {"/readyz", CS_ROUTE_READYZ},
                {"/metrics", CS_ROUTE_METRICS}};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (strlen(routes[i].p) == len && memcmp(routes[i].p, path, len) == 0) return routes[i].r;
  return CS_ROUTE_OTHER;
}

static item_t *new_item(io_thread_t *t, conn_t *c) {
  item_t *it = &t->items[t->n_items++];
  memset(it, 0, offsetof(item_t, request_id));
  it->c = c;
  it->slot = -1;
  it->t_start = t->now;
  it->keep_alive = 0;
  it->request_id[0] = '\0';
  it->method_str[0] = '\0';
  it->path[0] = '\0';
  c->n_items++;
  if (!c->req_start && !c->head_done) cs_stat_add(&t->stats.in_flight, 1);
  return it;
}

void cs__give_id(io_thread_t *t, item_t *it, const char *client_id) {
  if (client_id && *client_id) {
    snprintf(it->request_id, sizeof it->request_id, "%s", client_id);
    return;
  }
  snprintf(it->request_id, sizeof it->request_id, "%s-%d-%llx", t->s->id_prefix, t->index,
           (unsigned long long)++t->id_counter);
}

/* A protocol error ends the connection: framing can no longer be trusted. */
static void protocol_error(io_thread_t *t, conn_t *c, int status, const char *why,
                           const cs_http_req_t *req) {
  item_t *it = new_item(t, c);
  it->status = status;
  it->why = why;
  it->err_name = status == 414 || status == 431 || status == 413 ? "ETOOBIG"
                 : status == 505                                  ? "EVERSION"
                 : status == 411                                  ? "ELENGTH"
                                                                  : "EFORMAT";
  it->route = CS_ROUTE_OTHER;
  it->minor = 1;
  if (req && req->path) {
    it->route = route_of(req->path, req->path_len);
    it->minor = req->minor;
    snprintf(it->method_str, sizeof it->method_str, "%.*s", (int)(req->method_len < 15 ? req->method_len : 15), req->method_str);
    snprintf(it->path, sizeof it->path, "%.*s", (int)(req->path_len < 63 ? req->path_len : 63), req->path);
  }
  cs__give_id(t, it, req ? req->request_id : NULL);
  c->close_after = 1;
  c->req_start = 0;
  c->head_done = 0;
}

/* Which methods a route takes; NULL when `method` is one of them. */
static const char *allow_for(int route, int method) {
  if (route == CS_ROUTE_RECOMMEND) return method == CS_HTTP_POST ? NULL : "Allow: POST\r\n";
  return method == CS_HTTP_GET || method == CS_HTTP_HEAD ? NULL : "Allow: GET, HEAD\r\n";
}

enum { GATHER_DONE, GATHER_MORE, GATHER_LATER };

static int round_full(const io_thread_t *t) {
  return t->n_items >= t->cap_items || t->n_rec >= t->s->p.handler.batch_max;
}

/* Take up to `quota` complete requests of c into the round. Returns
 * GATHER_DONE (nothing more to take now), GATHER_MORE (the quota was
 * reached with input left) or GATHER_LATER (wait for the next round: the
 * round is full, or earlier replies must go out first). */
static int gather_conn(io_thread_t *t, conn_t *c, int quota) {
  cs_server_t *s = t->s;
  int taken = 0;
  while (!c->dead && !c->close_after && !c->lingering) {
    if (round_full(t)) return GATHER_LATER;
    if (taken >= quota) return GATHER_MORE;
    if (c->out_len - c->out_pos > OUT_HIGH) return 0; /* resumes when flushed */
    const char *buf = c->in + c->in_off;
    size_t avail = c->in_len - c->in_off;
    if (avail == 0) return 0;
    if (!c->req_start && !c->head_done) {
      c->req_start = t->now;
      cs_stat_add(&t->stats.in_flight, 1);
    }
    if (!c->head_done) {
      size_t hl = cs_http_head_end(buf, avail, &c->scan);
      const char *why = NULL;
      if (!hl) {
        int st = cs_http_check_partial(buf, avail, &s->limits, &why);
        if (st) protocol_error(t, c, st, why, NULL);
        return 0;
      }
      int st = cs_http_parse_head(buf, hl, &s->limits, &c->req, &why);
      if (st) {
        protocol_error(t, c, st, why, c->req.path ? &c->req : NULL);
        return 0;
      }
      c->head_done = 1;
      c->sent_continue = 0;
      c->route = route_of(c->req.path, c->req.path_len);
      if (c->req.content_length > (int64_t)s->p.max_body) {
        protocol_error(t, c, 413, "request body larger than --max-body", &c->req);
        return 0;
      }
    }
    size_t body_len = c->req.content_length > 0 ? (size_t)c->req.content_length : 0;
    size_t need = c->req.head_len + body_len;
    if (avail < need) {
      if (c->req.expect_continue && !c->sent_continue) {
        if (c->n_items > 0) return GATHER_LATER; /* earlier replies go out first */
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (cs__out_reserve(c, sizeof cont - 1) == 0) {
          memcpy(c->out + c->out_len, cont, sizeof cont - 1);
          c->out_len += sizeof cont - 1;
        }
        c->sent_continue = 1;
        cs__conn_flush(c);
      }
      return 0;
    }
    /* a complete request */
    item_t *it = &t->items[t->n_items++];
    memset(it, 0, offsetof(item_t, request_id));
    it->c = c;
    it->slot = -1;
    it->t_start = t->now;
    c->n_items++;
    it->route = c->route;
    it->method = c->req.method;
    it->minor = c->req.minor;
    it->keep_alive = c->req.keep_alive;
    snprintf(it->method_str, sizeof it->method_str, "%.*s",
             (int)(c->req.method_len < 15 ? c->req.method_len : 15), c->req.method_str);
    snprintf(it->path, sizeof it->path, "%.*s", (int)(c->req.path_len < 63 ? c->req.path_len : 63),
             c->req.path);
    cs__give_id(t, it, c->req.request_id);
    it->body = buf + c->req.head_len;
    it->body_len = body_len;
    if (it->route == CS_ROUTE_OTHER) {
      it->status = 404;
      it->err_name = "ENOTFOUND";
      it->why = "unknown path (POST /recommend; GET /healthz, /readyz, /metrics, /health)";
    } else if ((it->allow = allow_for(it->route, it->method)) != NULL) {
      it->status = 405;
      it->err_name = "EMETHOD";
      it->why = it->route == CS_ROUTE_RECOMMEND ? "use POST /recommend"
                                                : "use GET or HEAD on this path";
    } else if (it->route == CS_ROUTE_RECOMMEND) {
      if (!t->handler) {
        it->status = 503;
        it->err_name = "ENOMEM";
        it->why = "no request handler (out of memory)";
      } else {
        int slot = t->n_rec;
        cs_err_t *e = &t->slot_err[slot];
        cs_err_clear(e);
        int rc = cs_handler_parse(t->handler, slot, it->body, it->body_len, e);
        if (rc == CS_OK) {
          it->slot = slot;
          t->slot_item[slot] = t->n_items - 1;
          t->n_rec++;
        } else {
          /* keep the message: the slot's error record is reused */
          it->status = cs_error_http_status(rc);
          it->err_name = cs_errname(rc);
          it->owned_why = strdup(e->msg);
          it->why = it->owned_why ? it->owned_why : "bad request";
        }
      }
    }
    c->in_off += need;
    c->head_done = 0;
    c->scan = 0;
    c->req_start = 0;
    taken++;
    if (!it->keep_alive) {
      c->close_after = 1;
      return 0;
    }
  }
  return 0;
}

/* A client that closed its side is done once nothing is left to answer. */
void cs__maybe_finish(conn_t *c) {
  if (!c->dead && c->peer_eof && !c->n_items && !c->in_ready && c->out_pos == c->out_len &&
      !c->lingering)
    cs__conn_close(c);
}

/* Round robin over the ready connections in the order they became ready:
 * one request from each per pass, a connection with more going to the back
 * of the queue, until the round is full; what is left stays ready, ahead of
 * connections that become ready later. So a client pipelining many
 * requests takes one slot per pass, not the whole batch. */
void cs__gather(io_thread_t *t) {
  conn_t *head = t->ready, *tail = t->ready_tail;
  t->ready = t->ready_tail = NULL;
  while (head) {
    conn_t *c = head;
    head = c->ready_next;
    if (!head) tail = NULL;
    c->in_ready = 0;
    if (c->dead) continue;
    if (round_full(t)) { /* c and the rest wait, in order */
      cs__mark_ready(c);
      while (head) {
        conn_t *n = head;
        head = n->ready_next;
        n->in_ready = 0;
        cs__mark_ready(n);
      }
      break;
    }
    int g = gather_conn(t, c, 1);
    if (g == GATHER_MORE) {
      c->in_ready = 1;
      c->ready_next = NULL;
      if (tail) tail->ready_next = c;
      else head = c;
      tail = c;
    } else if (g == GATHER_LATER) {
      cs__mark_ready(c);
    } else if (!c->n_items) {
      cs__maybe_finish(c);
    }
  }
}

void cs__process_round(io_thread_t *t) {
  t->emit_next = 0;
  if (t->n_rec > 0) {
    batch_ctx_t b = {t, t->n_rec};
    cs_stats_batch(&t->stats, t->n_rec);
    cs_handler_run(t->handler, t->n_rec, on_result, &b);
  }
  for (; t->emit_next < t->n_items; t->emit_next++) {
    item_t *it = &t->items[t->emit_next];
    if (it->slot < 0) answer_item(t, it);
  }
  for (int i = 0; i < t->n_items; i++) {
    item_t *it = &t->items[i];
    free(it->owned_why);
    it->owned_why = NULL;
    it->c->n_items = 0;
    it->c->n_replied = 0;
  }
  /* flush every connection that got replies, compact its input */
  for (int i = 0; i < t->n_items; i++) {
    conn_t *c = t->items[i].c;
    if (c->dead) continue;
    if (c->in_off > 0) {
      memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
      c->in_len -= c->in_off;
      c->in_off = 0;
    }
    if (c->out_pos < c->out_len) cs__conn_flush(c);
    cs__maybe_finish(c);
  }
  t->n_items = 0;
  t->n_rec = 0;
  flush_log(t);
}


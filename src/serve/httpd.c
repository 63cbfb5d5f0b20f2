/* httpd.c: the HTTP service over libmicrohttpd: POST /recommend and
 * GET /health, a pool of event-loop threads, and a free-list of per-thread
 * request handlers (workspaces) so no request allocates model-sized state. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/serve.h"

struct cs_server {
  struct MHD_Daemon *daemon;
  const cs_model_t *model;
  cs_server_params_t params;
  int port;
  atomic_uint_fast64_t n_requests;
  pthread_mutex_t lock;
  cs_handler_t **handlers; /* [n_handlers] owned */
  int *free_list, n_free, n_handlers;
};

/* Upload state of one request (the body arrives in pieces). */
typedef struct {
  char *body;
  size_t len, cap;
  int too_big;
} upload_t;

void cs_server_params_default(cs_server_params_t *p) {
  p->bind_addr = "127.0.0.1";
  p->port = 8080;
  p->n_threads = 2;
  p->max_body = 1 << 20;
  cs_handler_params_default(&p->handler);
}

static int take_handler(cs_server_t *s) {
  pthread_mutex_lock(&s->lock);
  int slot = s->n_free > 0 ? s->free_list[--s->n_free] : -1;
  pthread_mutex_unlock(&s->lock);
  return slot;
}

static void give_handler(cs_server_t *s, int slot) {
  pthread_mutex_lock(&s->lock);
  s->free_list[s->n_free++] = slot;
  pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *body, size_t len) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, int code,
                                   const char *msg) {
  char buf[1400];
  /* escape the two characters that could break the JSON string */
  char safe[1100];
  size_t j = 0;
  for (size_t i = 0; msg[i] && j + 2 < sizeof safe; i++) {
    char c = msg[i];
    if (c == '"' || c == '\\') safe[j++] = '\\';
    safe[j++] = (c >= 0 && c < 0x20) ? ' ' : c;
  }
  safe[j] = '\0';
  int n = snprintf(buf, sizeof buf, "{\"error\": \"%s\", \"message\": \"%s\"}",
                   cs_errname(code), safe);
  return reply(conn, (unsigned)cs_error_http_status(code), buf, (size_t)n);
}

static enum MHD_Result handle_health(cs_server_t *s, struct MHD_Connection *conn) {
  char buf[512];
  const cs_model_t *m = s->model;
  int n = snprintf(buf, sizeof buf,
                   "{\"status\": \"ok\", \"space\": \"%s\", \"dim\": %d, "
                   "\"n_features\": %d, \"songs\": %lld, \"clusters\": %d, "
                   "\"featurizer\": %s, \"requests\": %llu}",
                   m->space, m->dim, m->n_features, (long long)m->n_songs, m->target.k,
                   m->featurizer ? "true" : "false",
                   (unsigned long long)atomic_load(&s->n_requests));
  return reply(conn, MHD_HTTP_OK, buf, (size_t)n);
}

static enum MHD_Result handle_recommend(cs_server_t *s,
                                        struct MHD_Connection *conn,
                                        const upload_t *up) {
  if (up->too_big) {
    char msg[128];
    snprintf(msg, sizeof msg, "request body larger than %zu bytes", s->params.max_body);
    return reply_error(conn, CS_ETOOBIG, msg);
  }
  int slot = take_handler(s);
  if (slot < 0) return reply_error(conn, CS_ENOMEM, "no free request handler");
  const char *out = NULL;
  size_t out_len = 0;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_handler_recommend(s->handlers[slot], up->body ? up->body : "",
                                up->len, &out, &out_len, &err);
  enum MHD_Result ret = rc == CS_OK ? reply(conn, MHD_HTTP_OK, out, out_len)
                                    : reply_error(conn, rc, err.msg);
  give_handler(s, slot);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  cs_server_t *s = cls;
  (void)version;
  int is_post = strcmp(method, "POST") == 0;
  if (*con_cls == NULL) {
    upload_t *up = calloc(1, sizeof *up);
    if (!up) return MHD_NO;
    *con_cls = up;
    if (is_post) return MHD_YES; /* wait for the body */
  }
  upload_t *up = *con_cls;
  if (is_post && *upload_data_size > 0) {
    size_t n = *upload_data_size;
    if (!up->too_big && up->len + n > s->params.max_body) up->too_big = 1;
    if (!up->too_big) {
      if (up->len + n + 1 > up->cap) {
        size_t cap = up->cap ? up->cap : 4096;
        while (cap < up->len + n + 1) cap *= 2;
        char *b = realloc(up->body, cap);
        if (!b) return MHD_NO;
        up->body = b;
        up->cap = cap;
      }
      memcpy(up->body + up->len, upload_data, n);
      up->len += n;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  atomic_fetch_add(&s->n_requests, 1);
  if (strcmp(url, "/recommend") == 0) {
    if (!is_post) return reply_error(conn, CS_EINVAL, "use POST /recommend");
    return handle_recommend(s, conn, up);
  }
  if (strcmp(url, "/health") == 0) return handle_health(s, conn);
  return reply_error(conn, CS_ENOTFOUND, "unknown path (POST /recommend, GET /health)");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  upload_t *up = *con_cls;
  if (up) {
    free(up->body);
    free(up);
  }
  *con_cls = NULL;
}

int cs_server_start(cs_server_t **out, const cs_model_t *m,
                    const cs_server_params_t *p, cs_err_t *err) {
  *out = NULL;
  if (p->n_threads < 1 || p->n_threads > 256 || p->port < 0 || p->port > 65535)
    return cs_err_set(err, CS_EINVAL, "serve: bad threads %d or port %d",
                      p->n_threads, p->port);
  cs_server_t *s = calloc(1, sizeof *s);
  if (!s) return cs_err_set(err, CS_ENOMEM, "out of memory");
  s->model = m;
  s->params = *p;
  pthread_mutex_init(&s->lock, NULL);
  /* one handler per event-loop thread, plus slack for races */
  s->n_handlers = 2 * p->n_threads;
  s->handlers = calloc((size_t)s->n_handlers, sizeof *s->handlers);
  s->free_list = calloc((size_t)s->n_handlers, sizeof *s->free_list);
  int rc = (s->handlers && s->free_list) ? CS_OK : cs_err_set(err, CS_ENOMEM, "out of memory");
  for (int i = 0; i < s->n_handlers && rc == CS_OK; i++) {
    rc = cs_handler_create(&s->handlers[i], m, &p->handler, err);
    s->free_list[s->n_free++] = i;
  }
  if (rc == CS_OK) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)p->port);
    if (inet_pton(AF_INET, p->bind_addr, &addr.sin_addr) != 1)
      rc = cs_err_set(err, CS_EINVAL, "serve: bad bind address '%s'", p->bind_addr);
    if (rc == CS_OK) {
      unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
      s->daemon = MHD_start_daemon(
          flags, (uint16_t)p->port, NULL, NULL, on_request, s,
          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
          MHD_OPTION_THREAD_POOL_SIZE, (unsigned)p->n_threads,
          MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
          MHD_OPTION_CONNECTION_TIMEOUT, 30u,
          MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
      if (!s->daemon)
        rc = cs_err_set(err, CS_EIO, "serve: cannot listen on %s:%d (port in use?)",
                        p->bind_addr, p->port);
    }
  }
  if (rc != CS_OK) {
    cs_server_stop(s);
    return rc;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : p->port;
  *out = s;
  return CS_OK;
}

int cs_server_port(const cs_server_t *s) { return s->port; }

uint64_t cs_server_requests(const cs_server_t *s) {
  return atomic_load(&((cs_server_t *)s)->n_requests);
}

void cs_server_stop(cs_server_t *s) {
  if (!s) return;
  if (s->daemon) MHD_stop_daemon(s->daemon);
  if (s->handlers)
    for (int i = 0; i < s->n_handlers; i++) cs_handler_free(s->handlers[i]);
  free(s->handlers);
  free(s->free_list);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* server_internal.h: what the two halves of the HTTP service share
 * (internal to src/serve/): the connection, request and event-loop
 * records. server.c owns sockets, threads, deadlines and the lifecycle;
 * round.c one round of an event loop: gather complete requests, run the
 * batch, queue the replies. */
#ifndef COLDSTART_SERVE_SERVER_INTERNAL_H
#define COLDSTART_SERVE_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "coldstart/serve.h"
#include "serve/http.h"
#include "serve/metrics.h"

#define READ_CHUNK (64 * 1024)
#define OUT_HIGH (1 << 20)     /* stop parsing a client's input past this backlog */
#define LINGER_NS 2000000000LL /* half-closed connection: wait for the client's FIN */
#define SWEEP_NS 50000000LL    /* deadline checks every 50 ms */
#define IP_BUCKETS 4096

typedef struct conn conn_t;
typedef struct io_thread io_thread_t;

struct conn {
  int fd;
  io_thread_t *t;
  unsigned char ip[16]; /* IPv4-mapped IPv6 */
  char peer[48];
  char *in;
  size_t in_len, in_off, in_cap, scan;
  char *out;
  size_t out_len, out_pos, out_cap;
  int64_t req_start;   /* first byte of the request being received; 0: none */
  int64_t last_active; /* last read or completed reply */
  int64_t last_write;  /* last write progress while output is pending */
  int64_t linger_until;
  int head_done;
  cs_http_req_t req;
  int route;
  int sent_continue;
  int close_after; /* reply queued with Connection: close: no more parsing */
  int peer_eof;
  int lingering;
  int dead;
  int n_items;     /* requests of this connection in the current round */
  int n_replied;   /* of those, answered so far */
  int in_ready;
  uint32_t events; /* epoll interest */
  conn_t *prev, *next, *ready_next, *dead_next;
};

/* One request gathered in a round. */
typedef struct {
  conn_t *c;
  int route, method, minor, keep_alive;
  int status;              /* != 0: answer with this error (pre-computed) */
  const char *err_name, *why;
  const char *allow;       /* for 405 */
  const char *body;
  size_t body_len;
  int slot;                /* recommend: batch slot, -1 when not batched */
  char *owned_why;         /* a parse error's message (freed after the round) */
  char request_id[CS_HTTP_ID_MAX + 1];
  char method_str[16];
  char path[64];
  int64_t t_start;
} item_t;

typedef struct {
  int fd;
  unsigned char ip[16];
  char peer[48];
} pending_conn_t;

struct io_thread {
  cs_server_t *s;
  int index;
  pthread_t tid;
  int started;
  int epfd, evfd;
  pthread_mutex_t inbox_lock;
  pending_conn_t *inbox;
  int n_inbox, cap_inbox;
  conn_t *conns, *graveyard;
  conn_t *ready, *ready_tail; /* FIFO: first ready, first gathered */
  int n_conns;
  int listening;
  cs_handler_t *handler;
  cs_served_model_t *model;
  uint64_t model_gen;
  item_t *items;
  int n_items, cap_items, n_rec;
  cs_err_t *slot_err; /* [batch_max] */
  int *slot_item;     /* [batch_max] item index of each slot */
  int emit_next;      /* next item to reply to in the current round */
  int64_t now;
  int64_t last_sweep;
  time_t date_sec;
  char date[40];
  uint64_t id_counter;
  cs_strbuf_t scratch;
  cs_strbuf_t log;
  cs_stats_t stats;
};

typedef struct ip_entry {
  unsigned char ip[16];
  int count;
  struct ip_entry *next;
} ip_entry_t;

struct cs_server {
  cs_server_params_t p;
  cs_http_limits_t limits;
  int listen_fd;
  int port;
  int n_threads;
  io_thread_t *threads;
  pthread_mutex_t model_lock;
  cs_served_model_t *model;
  _Atomic uint64_t generation;
  _Atomic int draining, stopping, listener_closed;
  _Atomic uint64_t reload_ok, reload_fail;
  _Atomic int total_conns;
  pthread_mutex_t ip_lock;
  ip_entry_t *ip_table[IP_BUCKETS];
  pthread_mutex_t run_lock;
  pthread_cond_t run_cond;
  int n_running;
  char id_prefix[12];
  double start_time;
};

/* server.c */
int64_t cs__mono_ns(void);
void cs__conn_close(conn_t *c);
int cs__conn_flush(conn_t *c); /* -1 when the connection is gone */
int cs__out_reserve(conn_t *c, size_t more);
void cs__conn_set_events(conn_t *c);
void cs__mark_ready(conn_t *c);

/* round.c */
/* Parse every complete request of the ready connections (as many as the
 * round has room for) into t->items, featurizing /recommend bodies into
 * batch slots. */
void cs__gather(io_thread_t *t);
/* One regressor pass over the round's batch, then every reply in order;
 * flushes the connections that got replies. */
void cs__process_round(io_thread_t *t);
void cs__send_error(io_thread_t *t, item_t *it, int status, const char *name,
                    const char *message, const char *extra, int batch);
void cs__give_id(io_thread_t *t, item_t *it, const char *client_id);
/* Close a connection whose client half-closed once nothing is left. */
void cs__maybe_finish(conn_t *c);
/* Switch the thread to the server's current model (after a reload). */
void cs__thread_use_model(io_thread_t *t);

#endif

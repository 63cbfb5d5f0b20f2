/* server.c: the HTTP service: a fixed pool of epoll event loops, each
 * owning its connections end to end (read, parse, micro-batch, compute,
 * write), so requests that arrive together on a thread share one regressor
 * pass and no request crosses threads. Thread 0 also accepts and hands each
 * new connection to the least-loaded loop. Deadlines (whole request, idle,
 * stalled writes), a per-client and a global connection cap, drain on
 * SIGTERM and model hot swap live here; one round of a loop (gather,
 * batch, reply) is round.c, the wire format http.c, the request body
 * request.c, the counters metrics.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve/server_internal.h"

/* --- small helpers ------------------------------------------------------- */

int64_t cs__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double wall_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void wake(io_thread_t *t) {
  uint64_t one = 1;
  ssize_t n = write(t->evfd, &one, sizeof one);
  (void)n;
}

void cs_server_params_default(cs_server_params_t *p) {
  memset(p, 0, sizeof *p);
  p->bind_addr = "127.0.0.1";
  p->port = 8080;
  p->n_threads = 2;
  p->max_body = 1 << 20;
  p->max_head = 16384;
  p->batch_wait_us = 0;
  p->idle_timeout = 30;
  p->request_timeout = 10;
  p->max_connections = 4096;
  p->max_conns_per_client = 256;
  p->access_log_fd = -1;
  cs_handler_params_default(&p->handler);
}

/* --- per-client connection counts ------------------------------------------ */

static unsigned ip_hash(const unsigned char *ip) {
  unsigned h = 2166136261u;
  for (int i = 0; i < 16; i++) h = (h ^ ip[i]) * 16777619u;
  return h % IP_BUCKETS;
}

/* 0 and counted, or -1 when the client is at its cap. */
static int ip_acquire(cs_server_t *s, const unsigned char *ip) {
  int cap = s->p.max_conns_per_client, rc = 0;
  pthread_mutex_lock(&s->ip_lock);
  ip_entry_t **slot = &s->ip_table[ip_hash(ip)], *e = *slot;
  while (e && memcmp(e->ip, ip, 16) != 0) e = e->next;
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) rc = -1;
    else {
      memcpy(e->ip, ip, 16);
      e->next = *slot;
      *slot = e;
    }
  }
  if (e && cap > 0 && e->count >= cap) rc = -1;
  else if (e) e->count++;
  pthread_mutex_unlock(&s->ip_lock);
  return rc;
}

static void ip_release(cs_server_t *s, const unsigned char *ip) {
  pthread_mutex_lock(&s->ip_lock);
  ip_entry_t **pp = &s->ip_table[ip_hash(ip)];
  while (*pp && memcmp((*pp)->ip, ip, 16) != 0) pp = &(*pp)->next;
  ip_entry_t *e = *pp;
  if (e && --e->count <= 0) {
    *pp = e->next;
    free(e);
  }
  pthread_mutex_unlock(&s->ip_lock);
}

/* --- connections --------------------------------------------------------- */

void cs__conn_set_events(conn_t *c) {
  uint32_t ev = 0;
  int backlog = c->out_len - c->out_pos > OUT_HIGH;
  if (!c->peer_eof && !backlog && (c->in_len - c->in_off) < c->t->s->limits.max_head + c->t->s->p.max_body + READ_CHUNK)
    ev |= EPOLLIN;
  if (c->out_pos < c->out_len) ev |= EPOLLOUT;
  if (c->lingering) ev = EPOLLIN;
  if (ev == c->events) return;
  struct epoll_event e = {.events = ev, .data.ptr = c};
  epoll_ctl(c->t->epfd, EPOLL_CTL_MOD, c->fd, &e);
  c->events = ev;
}

void cs__conn_close(conn_t *c) {
  if (c->dead) return;
  io_thread_t *t = c->t;
  c->dead = 1;
  epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  if (c->req_start || c->head_done) cs_stat_sub(&t->stats.in_flight, 1);
  c->req_start = 0;
  c->head_done = 0;
  ip_release(t->s, c->ip);
  atomic_fetch_sub(&t->s->total_conns, 1);
  cs_stat_sub(&t->stats.connections, 1);
  if (c->in_ready) {
    conn_t **pp = &t->ready, *before = NULL;
    while (*pp && *pp != c) {
      before = *pp;
      pp = &(*pp)->ready_next;
    }
    if (*pp) {
      *pp = c->ready_next;
      if (t->ready_tail == c) t->ready_tail = before;
    }
    c->in_ready = 0;
  }
  if (c->prev) c->prev->next = c->next;
  else t->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  t->n_conns--;
  c->dead_next = t->graveyard;
  t->graveyard = c;
}

static void bury(io_thread_t *t) {
  while (t->graveyard) {
    conn_t *c = t->graveyard;
    t->graveyard = c->dead_next;
    free(c->in);
    free(c->out);
    free(c);
  }
}

void cs__mark_ready(conn_t *c) {
  if (c->in_ready || c->dead) return;
  io_thread_t *t = c->t;
  c->in_ready = 1;
  c->ready_next = NULL;
  if (t->ready_tail) t->ready_tail->ready_next = c;
  else t->ready = c;
  t->ready_tail = c;
}

static void conn_add(io_thread_t *t, const pending_conn_t *pc) {
  conn_t *c = calloc(1, sizeof *c);
  if (!c) {
    close(pc->fd);
    ip_release(t->s, pc->ip);
    atomic_fetch_sub(&t->s->total_conns, 1);
    return;
  }
  c->fd = pc->fd;
  c->t = t;
  memcpy(c->ip, pc->ip, 16);
  memcpy(c->peer, pc->peer, sizeof c->peer);
  c->last_active = t->now;
  c->events = EPOLLIN;
  struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &e) != 0) {
    close(c->fd);
    ip_release(t->s, pc->ip);
    atomic_fetch_sub(&t->s->total_conns, 1);
    free(c);
    return;
  }
  c->next = t->conns;
  if (t->conns) t->conns->prev = c;
  t->conns = c;
  t->n_conns++;
  cs_stat_add(&t->stats.connections, 1);
  cs_stat_add(&t->stats.accepted, 1);
}

int cs__out_reserve(conn_t *c, size_t more) {
  if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
  if (c->out_len + more <= c->out_cap) return 0;
  if (c->out_pos > 0) {
    memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
    c->out_len -= c->out_pos;
    c->out_pos = 0;
    if (c->out_len + more <= c->out_cap) return 0;
  }
  size_t cap = c->out_cap ? c->out_cap : 8192;
  while (cap < c->out_len + more) cap *= 2;
  char *p = realloc(c->out, cap);
  if (!p) return -1;
  c->out = p;
  c->out_cap = cap;
  return 0;
}

/* Write what we can; returns -1 when the connection is gone. */
int cs__conn_flush(conn_t *c) {
  while (c->out_pos < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_pos += (size_t)n;
      c->last_write = c->t->now;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    cs__conn_close(c);
    return -1;
  }
  if (c->out_pos == c->out_len) {
    c->out_pos = c->out_len = 0;
    /* (not while requests of this connection wait in the current round:
     * close_after was set when the last of them was gathered, and their
     * replies are still to come) */
    if (c->close_after && !c->lingering && c->n_items == 0) {
      /* half-close, then wait for the client's FIN so unread input does
       * not turn into a reset that could destroy the reply */
      shutdown(c->fd, SHUT_WR);
      c->lingering = 1;
      c->linger_until = c->t->now + LINGER_NS;
    }
  }
  cs__conn_set_events(c);
  return 0;
}

/* --- reading, accepting ------------------------------------------------------ */

static void conn_read(conn_t *c) {
  cs_server_t *s = c->t->s;
  if (c->lingering) {
    char junk[4096];
    ssize_t n;
    while ((n = recv(c->fd, junk, sizeof junk, 0)) > 0) {
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      cs__conn_close(c);
    return;
  }
  size_t limit = s->limits.max_head + s->p.max_body + READ_CHUNK;
  if (c->in_off > 0 && c->n_items == 0) {
    memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
    c->in_len -= c->in_off;
    c->in_off = 0;
  }
  if (c->in_len >= limit) {
    cs__conn_set_events(c);
    return;
  }
  if (c->in_cap - c->in_len < 1024) {
    /* small first: an idle or slow client costs 4 KiB, not a full chunk */
    size_t cap = c->in_cap ? 2 * c->in_cap : 4096;
    if (cap > limit) cap = limit;
    if (cap <= c->in_cap) {
      cs__conn_set_events(c);
      return;
    }
    char *p = realloc(c->in, cap);
    if (!p) {
      cs__conn_close(c);
      return;
    }
    c->in = p;
    c->in_cap = cap;
  }
  ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
  if (n > 0) {
    c->in_len += (size_t)n;
    c->last_active = c->t->now;
    cs__mark_ready(c);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n == 0) {
    /* client closed its side: answer what is complete, then close */
    c->peer_eof = 1;
    c->close_after = c->close_after || 0;
    if (c->in_len > c->in_off) {
      cs__mark_ready(c);
      cs__conn_set_events(c);
    } else if (c->out_pos == c->out_len) {
      cs__conn_close(c);
    } else {
      c->close_after = 1;
      cs__conn_set_events(c);
    }
    return;
  }
  cs__conn_close(c);
}

static void reject(cs_server_t *s, int fd, const char *why) {
  char body[256], head[256];
  size_t bl = cs_http_error_body(body, sizeof body, "EBUSY", why);
  size_t hl = cs_http_write_head(head, sizeof head, 503, "application/json", bl, NULL, NULL,
                                 "Retry-After: 1\r\n", 0, 1);
  (void)s;
  struct iovec iov[2] = {{head, hl}, {body, bl}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
  ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;
  shutdown(fd, SHUT_WR);
  close(fd);
}

static void accept_some(io_thread_t *t, int max) {
  cs_server_t *s = t->s;
  for (int i = 0; i < max; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, or EMFILE: the backlog waits */
    }
    pending_conn_t pc;
    memset(&pc, 0, sizeof pc);
    pc.fd = fd;
    if (ss.ss_family == AF_INET) {
      const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
      pc.ip[10] = pc.ip[11] = 0xff;
      memcpy(pc.ip + 12, &a->sin_addr, 4);
      inet_ntop(AF_INET, &a->sin_addr, pc.peer, sizeof pc.peer);
    } else if (ss.ss_family == AF_INET6) {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
      memcpy(pc.ip, &a->sin6_addr, 16);
      inet_ntop(AF_INET6, &a->sin6_addr, pc.peer, sizeof pc.peer);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (atomic_fetch_add(&s->total_conns, 1) >= s->p.max_connections) {
      atomic_fetch_sub(&s->total_conns, 1);
      cs_stat_add(&t->stats.rejected_max, 1);
      reject(s, fd, "too many open connections (--max-connections)");
      continue;
    }
    if (ip_acquire(s, pc.ip) != 0) {
      atomic_fetch_sub(&s->total_conns, 1);
      cs_stat_add(&t->stats.rejected_per_client, 1);
      reject(s, fd, "too many connections from this client (--max-conns-per-client)");
      continue;
    }
    /* the least-loaded loop takes it (during a drain the others may be
     * leaving: keep it here) */
    io_thread_t *best = t;
    uint64_t best_n = UINT64_MAX;
    for (int k = 0; k < s->n_threads && !atomic_load(&s->draining); k++) {
      uint64_t n = atomic_load_explicit(&s->threads[k].stats.connections, memory_order_relaxed);
      pthread_mutex_lock(&s->threads[k].inbox_lock);
      n += (uint64_t)s->threads[k].n_inbox;
      pthread_mutex_unlock(&s->threads[k].inbox_lock);
      if (n < best_n) {
        best_n = n;
        best = &s->threads[k];
      }
    }
    if (best == t) {
      conn_add(t, &pc);
      continue;
    }
    pthread_mutex_lock(&best->inbox_lock);
    if (best->n_inbox == best->cap_inbox) {
      int cap = best->cap_inbox ? 2 * best->cap_inbox : 64;
      pending_conn_t *p = realloc(best->inbox, (size_t)cap * sizeof *p);
      if (p) {
        best->inbox = p;
        best->cap_inbox = cap;
      }
    }
    int queued = best->n_inbox < best->cap_inbox;
    if (queued) best->inbox[best->n_inbox++] = pc;
    pthread_mutex_unlock(&best->inbox_lock);
    if (queued) wake(best);
    else conn_add(t, &pc);
  }
}

static void take_inbox(io_thread_t *t) {
  pthread_mutex_lock(&t->inbox_lock);
  int n = t->n_inbox;
  if (n == 0) {
    pthread_mutex_unlock(&t->inbox_lock);
    return;
  }
  pending_conn_t local[64];
  if (n > 64) n = 64;
  memcpy(local, t->inbox, (size_t)n * sizeof *local);
  memmove(t->inbox, t->inbox + n, (size_t)(t->n_inbox - n) * sizeof *local);
  t->n_inbox -= n;
  int more = t->n_inbox > 0;
  pthread_mutex_unlock(&t->inbox_lock);
  for (int i = 0; i < n; i++) conn_add(t, &local[i]);
  if (more) wake(t);
}

/* --- deadlines and drain ---------------------------------------------------- */

static void sweep(io_thread_t *t) {
  cs_server_t *s = t->s;
  int64_t req_ns = (int64_t)(s->p.request_timeout * 1e9);
  int64_t idle_ns = (int64_t)(s->p.idle_timeout * 1e9);
  int draining = atomic_load(&s->draining);
  conn_t *next;
  for (conn_t *c = t->conns; c; c = next) {
    next = c->next;
    if (c->dead || c->n_items) continue;
    if (c->lingering) {
      if (t->now > c->linger_until) cs__conn_close(c);
      continue;
    }
    int pending_out = c->out_pos < c->out_len;
    if (pending_out) {
      if (t->now - c->last_write > req_ns) cs__conn_close(c); /* the client stopped reading */
      continue;
    }
    if (c->req_start || c->head_done) {
      if (req_ns > 0 && t->now - c->req_start > req_ns) {
        cs_stat_add(&t->stats.timeouts_request, 1);
        item_t it;
        memset(&it, 0, sizeof it);
        it.c = c;
        it.route = c->head_done ? c->route : CS_ROUTE_OTHER;
        it.minor = 1;
        it.t_start = t->now;
        cs__give_id(t, &it, c->head_done ? c->req.request_id : NULL);
        c->head_done = 0;
        c->req_start = 0; /* in_flight is dropped by send_reply */
        cs__send_error(t, &it, 408, "ETIMEOUT",
                   "request not received in full within --request-timeout", NULL, 0);
        c->in_off = c->in_len;
        cs__conn_flush(c);
      }
      continue;
    }
    if (c->in_len > c->in_off) continue; /* complete input waiting (in the ready list) */
    if (draining) {
      /* idle: anything unread in the socket is a request already sent */
      conn_read(c);
      if (!c->dead && c->in_len == c->in_off && !c->peer_eof) cs__conn_close(c);
      continue;
    }
    if (idle_ns > 0 && t->now - c->last_active > idle_ns) {
      cs_stat_add(&t->stats.timeouts_idle, 1);
      cs__conn_close(c);
    }
  }
}

static void stop_listening(io_thread_t *t) {
  if (!t->listening) return;
  /* take what the kernel already accepted: those clients sent their
   * requests before the drain */
  accept_some(t, 1 << 30);
  epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->s->listen_fd, NULL);
  close(t->s->listen_fd);
  t->s->listen_fd = -1;
  t->listening = 0;
  atomic_store(&t->s->listener_closed, 1);
}

static void *thread_main(void *arg) {
  io_thread_t *t = arg;
  cs_server_t *s = t->s;
  struct epoll_event evs[256];
  t->now = cs__mono_ns();
  cs__thread_use_model(t);
  for (;;) {
    if (atomic_load(&s->stopping)) break;
    int draining = atomic_load(&s->draining);
    if (draining) {
      if (t->listening) stop_listening(t);
      pthread_mutex_lock(&t->inbox_lock);
      int inbox = t->n_inbox;
      pthread_mutex_unlock(&t->inbox_lock);
      if (t->n_conns == 0 && inbox == 0 && atomic_load(&s->listener_closed)) break;
    }
    int timeout_ms = t->ready ? 0 : (int)(SWEEP_NS / 1000000);
    int n = epoll_wait(t->epfd, evs, 256, timeout_ms);
    t->now = cs__mono_ns();
    for (int i = 0; i < n; i++) {
      void *ptr = evs[i].data.ptr;
      if (ptr == (void *)t) {
        uint64_t v;
        ssize_t r = read(t->evfd, &v, sizeof v);
        (void)r;
        take_inbox(t);
        continue;
      }
      if (ptr == (void *)s) {
        accept_some(t, 64);
        continue;
      }
      conn_t *c = ptr;
      if (c->dead) continue;
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) conn_read(c);
      if (!c->dead && (evs[i].events & EPOLLOUT)) {
        cs__conn_flush(c);
        if (!c->dead && c->out_pos == c->out_len && c->in_len > c->in_off) cs__mark_ready(c);
        cs__maybe_finish(c);
      }
    }
    cs__thread_use_model(t);
    cs__gather(t);
    if (t->n_rec > 0 && t->n_rec < s->p.handler.batch_max && s->p.batch_wait_us > 0 &&
        !draining) {
      /* a fuller batch is worth a bounded wait */
      struct timespec ts = {0, (long)s->p.batch_wait_us * 1000L};
      n = epoll_pwait2(t->epfd, evs, 256, &ts, NULL);
      if (n < 0 && errno == ENOSYS) n = epoll_wait(t->epfd, evs, 256, 1);
      t->now = cs__mono_ns();
      for (int i = 0; i < n; i++) {
        void *ptr = evs[i].data.ptr;
        if (ptr == (void *)t || ptr == (void *)s) {
          if (ptr == (void *)t) {
            uint64_t v;
            ssize_t r = read(t->evfd, &v, sizeof v);
            (void)r;
            take_inbox(t);
          } else {
            accept_some(t, 64);
          }
          continue;
        }
        conn_t *c = ptr;
        if (c->dead) continue;
        if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->n_items == 0) conn_read(c);
        if (!c->dead && (evs[i].events & EPOLLOUT)) cs__conn_flush(c);
      }
      cs__gather(t);
    }
    if (t->n_items > 0) cs__process_round(t);
    /* connections whose client closed with nothing left to answer */
    if (t->now - t->last_sweep > SWEEP_NS || draining) {
      t->last_sweep = t->now;
      sweep(t);
    }
    bury(t);
  }
  /* stopping: close whatever is left */
  while (t->conns) cs__conn_close(t->conns);
  bury(t);
  pthread_mutex_lock(&s->run_lock);
  s->n_running--;
  pthread_cond_broadcast(&s->run_cond);
  pthread_mutex_unlock(&s->run_lock);
  return NULL;
}

/* --- lifecycle ----------------------------------------------------------------- */

static int open_listener(cs_server_t *s, cs_err_t *err) {
  const cs_server_params_t *p = &s->p;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, p->bind_addr, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)p->port);
    sl = sizeof *a4;
  } else if (inet_pton(AF_INET6, p->bind_addr, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)p->port);
    sl = sizeof *a6;
  } else {
    return cs_err_set(err, CS_EINVAL, "serve: bad bind address '%s' (an IPv4 or IPv6 literal)",
                      p->bind_addr);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return cs_err_set(err, CS_EIO, "serve: socket: %s", strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    close(fd);
    return cs_err_set(err, CS_EIO, "serve: cannot listen on %s:%d: %s", p->bind_addr, p->port,
                      strerror(e));
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  s->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                             : ((struct sockaddr_in6 *)&bound)->sin6_port);
  s->listen_fd = fd;
  return CS_OK;
}

/* Each connection needs a descriptor: lift the soft limit, or lower the cap. */
static void fit_fd_limit(cs_server_t *s) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = (rlim_t)s->p.max_connections + 64;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < want) {
    int cap = rl.rlim_cur > 128 ? (int)(rl.rlim_cur - 64) : 64;
    fprintf(stderr, "coldstart serve: descriptor limit %llu: --max-connections lowered to %d\n",
            (unsigned long long)rl.rlim_cur, cap);
    s->p.max_connections = cap;
  }
}

int cs_server_start(cs_server_t **out, cs_served_model_t *model,
                    const cs_server_params_t *p, cs_err_t *err) {
  *out = NULL;
  if (p->n_threads < 1 || p->n_threads > 256 || p->port < 0 || p->port > 65535)
    return cs_err_set(err, CS_EINVAL, "serve: bad threads %d or port %d", p->n_threads, p->port);
  if (p->handler.batch_max < 1 || p->handler.batch_max > CS_BATCH_MAX_LIMIT)
    return cs_err_set(err, CS_EINVAL, "serve: --batch-max %d not in [1, %d]",
                      p->handler.batch_max, CS_BATCH_MAX_LIMIT);
  cs_server_t *s = calloc(1, sizeof *s);
  if (!s) return cs_err_set(err, CS_ENOMEM, "out of memory");
  s->p = *p;
  s->listen_fd = -1;
  cs_http_limits_default(&s->limits);
  s->limits.max_head = p->max_head;
  if (s->limits.max_line > p->max_head) s->limits.max_line = p->max_head;
  s->start_time = wall_time();
  pthread_mutex_init(&s->model_lock, NULL);
  pthread_mutex_init(&s->ip_lock, NULL);
  pthread_mutex_init(&s->run_lock, NULL);
  pthread_cond_init(&s->run_cond, NULL);
  s->model = cs_served_model_retain(model);
  atomic_store(&s->generation, 1);
  uint32_t rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) rnd = (uint32_t)getpid() ^ (uint32_t)time(NULL);
  snprintf(s->id_prefix, sizeof s->id_prefix, "%08x", rnd);
  fit_fd_limit(s);
  int rc = open_listener(s, err);
  s->n_threads = p->n_threads;
  s->threads = calloc((size_t)s->n_threads, sizeof *s->threads);
  if (rc == CS_OK && !s->threads) rc = cs_err_set(err, CS_ENOMEM, "out of memory");
  int cap_items = 4 * p->handler.batch_max + 64;
  for (int i = 0; rc == CS_OK && i < s->n_threads; i++) {
    io_thread_t *t = &s->threads[i];
    t->s = s;
    t->index = i;
    pthread_mutex_init(&t->inbox_lock, NULL);
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->cap_items = cap_items;
    t->items = calloc((size_t)cap_items, sizeof *t->items);
    t->slot_err = calloc((size_t)p->handler.batch_max, sizeof *t->slot_err);
    t->slot_item = calloc((size_t)p->handler.batch_max, sizeof *t->slot_item);
    if (t->epfd < 0 || t->evfd < 0 || !t->items || !t->slot_err || !t->slot_item) {
      rc = cs_err_set(err, CS_ENOMEM, "serve: cannot set up event loop %d", i);
      break;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = t};
    epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &e);
    if (i == 0) {
      struct epoll_event le = {.events = EPOLLIN, .data.ptr = s};
      epoll_ctl(t->epfd, EPOLL_CTL_ADD, s->listen_fd, &le);
      t->listening = 1;
    }
  }
  for (int i = 0; rc == CS_OK && i < s->n_threads; i++) {
    io_thread_t *t = &s->threads[i];
    pthread_mutex_lock(&s->run_lock);
    s->n_running++;
    pthread_mutex_unlock(&s->run_lock);
    if (pthread_create(&t->tid, NULL, thread_main, t) != 0) {
      pthread_mutex_lock(&s->run_lock);
      s->n_running--;
      pthread_mutex_unlock(&s->run_lock);
      rc = cs_err_set(err, CS_ENOMEM, "serve: cannot start thread %d", i);
      break;
    }
    t->started = 1;
  }
  if (rc != CS_OK) {
    cs_server_stop(s);
    return rc;
  }
  *out = s;
  return CS_OK;
}

int cs_server_port(const cs_server_t *s) { return s->port; }

uint64_t cs_server_requests(const cs_server_t *s) {
  uint64_t n = 0;
  for (int i = 0; i < s->n_threads; i++)
    n += atomic_load_explicit(&s->threads[i].stats.answered, memory_order_relaxed);
  return n;
}

int cs_server_reload(cs_server_t *s, const char *path, cs_err_t *err) {
  cs_served_model_t *next = NULL;
  int rc = cs_served_model_load(&next, path, &s->p.handler, err);
  if (rc != CS_OK) {
    atomic_fetch_add(&s->reload_fail, 1);
    return rc;
  }
  pthread_mutex_lock(&s->model_lock);
  cs_served_model_t *old = s->model;
  s->model = next;
  atomic_fetch_add(&s->generation, 1);
  pthread_mutex_unlock(&s->model_lock);
  atomic_fetch_add(&s->reload_ok, 1);
  /* the loops switch at their next round and drop the old model */
  for (int i = 0; i < s->n_threads; i++) wake(&s->threads[i]);
  cs_served_model_release(old);
  return CS_OK;
}

int cs_server_drain(cs_server_t *s, double timeout) {
  atomic_store(&s->draining, 1);
  for (int i = 0; i < s->n_threads; i++) wake(&s->threads[i]);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  int64_t ns = until.tv_nsec + (int64_t)((timeout - (double)(int64_t)timeout) * 1e9);
  until.tv_sec += (time_t)timeout + (time_t)(ns / 1000000000LL);
  until.tv_nsec = (long)(ns % 1000000000LL);
  pthread_mutex_lock(&s->run_lock);
  while (s->n_running > 0)
    if (pthread_cond_timedwait(&s->run_cond, &s->run_lock, &until) == ETIMEDOUT) break;
  pthread_mutex_unlock(&s->run_lock);
  int left = 0;
  for (int i = 0; i < s->n_threads; i++)
    left += (int)atomic_load_explicit(&s->threads[i].stats.connections, memory_order_relaxed);
  return left;
}

void cs_server_stop(cs_server_t *s) {
  if (!s) return;
  atomic_store(&s->stopping, 1);
  for (int i = 0; s->threads && i < s->n_threads; i++) {
    io_thread_t *t = &s->threads[i];
    if (t->evfd >= 0 && t->started) wake(t);
  }
  for (int i = 0; s->threads && i < s->n_threads; i++) {
    io_thread_t *t = &s->threads[i];
    if (t->started) pthread_join(t->tid, NULL);
    for (int k = 0; k < t->n_inbox; k++) {
      close(t->inbox[k].fd);
      ip_release(s, t->inbox[k].ip);
    }
    free(t->inbox);
    if (t->epfd > 0) close(t->epfd);
    if (t->evfd > 0) close(t->evfd);
    cs_handler_free(t->handler);
    cs_served_model_release(t->model);
    free(t->items);
    free(t->slot_err);
    free(t->slot_item);
    free(t->scratch.buf);
    free(t->log.buf);
    pthread_mutex_destroy(&t->inbox_lock);
  }
  free(s->threads);
  if (s->listen_fd >= 0) close(s->listen_fd);
  for (int i = 0; i < IP_BUCKETS; i++)
    while (s->ip_table[i]) {
      ip_entry_t *e = s->ip_table[i];
      s->ip_table[i] = e->next;
      free(e);
    }
  cs_served_model_release(s->model);
  pthread_mutex_destroy(&s->model_lock);
  pthread_mutex_destroy(&s->ip_lock);
  pthread_mutex_destroy(&s->run_lock);
  pthread_cond_destroy(&s->run_cond);
  free(s);
}

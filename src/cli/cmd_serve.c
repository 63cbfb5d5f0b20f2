/* cmd_serve.c: `coldstart serve MODEL`: the HTTP recommendation service
 * over one model file. The main thread only waits for signals: SIGHUP
 * reloads the model file, SIGTERM/SIGINT drain and exit 0. The handler
 * only writes the signal number to a pipe the main thread reads (no work
 * in async context). sigwait alone is not enough: OpenBLAS starts its
 * threads before main, with the signals unblocked, and a SIGTERM delivered
 * to one of them would kill the process with its default action. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coldstart/ctx.h"
#include "coldstart/io.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/serve.h"

/* The write end of the signal pipe: the one global, for the handler. */
static int signal_pipe_w = -1;

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t n = write(signal_pipe_w, &b, 1);
  (void)n;
  errno = saved;
}

enum {
  O_PORT = 2000, O_BIND, O_STRATEGY, O_PORT_FILE, O_MAX_BODY, O_MAX_HEAD, O_MAX_EVENTS,
  O_MAX_K, O_BATCH_MAX, O_BATCH_WAIT, O_IDLE, O_REQ_TIMEOUT, O_DRAIN, O_MAX_CONNS,
  O_PER_CLIENT, O_ACCESS_LOG
};

const cs_cli_flag_t cs_cmd_serve_flags[] = {
    {"port", "N", O_PORT, "TCP port (default 8080; 0: any free port, see --port-file)"},
    {"bind", "ADDR", O_BIND, "address to listen on, an IPv4 or IPv6 literal "
     "(default 127.0.0.1; 0.0.0.0 in a container)"},
    {"port-file", "FILE", O_PORT_FILE, "write the bound port to FILE (default none)"},
    {"strategy", "NAME", O_STRATEGY, "a request's default strategy (default soft; a tuned model's own "
     "when it has one)"},
    {"max-k", "N", O_MAX_K, "largest k a request may ask (default 1000, capped at "
     "the number of songs)"},
    {"max-events", "N", O_MAX_EVENTS, "events per request at most (default 10000)"},
    {"max-body", "BYTES", O_MAX_BODY, "request body bytes at most (default 1048576; "
     "413 past it)"},
    {"max-header", "BYTES", O_MAX_HEAD, "request line + header bytes at most "
     "(default 16384; 431 past it)"},
    {"batch-max", "N", O_BATCH_MAX, "requests per regressor pass: a micro-batch "
     "(default 32)"},
    {"batch-wait-us", "US", O_BATCH_WAIT, "wait up to this long for a fuller batch "
     "(default 0: never wait)"},
    {"request-timeout", "S", O_REQ_TIMEOUT, "seconds from a request's first byte to "
     "its last (default 10; 408 past it)"},
    {"idle-timeout", "S", O_IDLE, "seconds an idle keep-alive connection stays open "
     "(default 30)"},
    {"drain-timeout", "S", O_DRAIN, "seconds SIGTERM waits for the requests in "
     "flight before exiting 0 (default 25)"},
    {"max-connections", "N", O_MAX_CONNS, "open connections in all (default 4096; "
     "503 past it)"},
    {"max-conns-per-client", "N", O_PER_CLIENT, "connections per client address "
     "(default 256; 503 past it; 0: no cap)"},
    {"access-log", "FILE", O_ACCESS_LOG, "one JSON line per request to FILE (- for "
     "stdout; default off)"},
    {"threads", "N", CS_CLI_OPT_THREADS, "event-loop threads (default 2; each "
     "runs its own micro-batches)"},
    CS_CLI_FLAG_HALF,
    {NULL, NULL, 0, NULL}};

int cs_cmd_serve(int argc, char **argv, cs_cli_t *cli) {
  cs_server_params_t sp;
  cs_server_params_default(&sp);
  const char *port_file = NULL, *access_log = NULL;
  double drain_timeout = 25;
  int threads_set = 0, opt, status;
  long long v;
  double d;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_PORT:
      if (cs_cli_parse_int(cli, "--port", optarg, 0, 65535, &v) < 0) return 2;
      sp.port = (int)v;
      break;
    case O_BIND: sp.bind_addr = optarg; break;
    case O_STRATEGY:
      if (cs_cli_parse_strategy(cli, "--strategy", optarg, &sp.handler.default_strategy))
        return 2;
      sp.handler.strategy_given = 1;
      break;
    case O_PORT_FILE: port_file = optarg; break;
    case O_MAX_BODY:
      if (cs_cli_parse_int(cli, "--max-body", optarg, 1024, 1LL << 30, &v) < 0) return 2;
      sp.max_body = (size_t)v;
      break;
    case O_MAX_HEAD:
      if (cs_cli_parse_int(cli, "--max-header", optarg, 1024, 1 << 20, &v) < 0) return 2;
      sp.max_head = (size_t)v;
      break;
    case O_MAX_EVENTS:
      if (cs_cli_parse_int(cli, "--max-events", optarg, 0, 1000000, &v) < 0) return 2;
      sp.handler.max_events = (int)v;
      break;
    case O_MAX_K:
      if (cs_cli_parse_int(cli, "--max-k", optarg, 1, 1000000, &v) < 0) return 2;
      sp.handler.max_k = (int)v;
      break;
    case O_BATCH_MAX:
      if (cs_cli_parse_int(cli, "--batch-max", optarg, 1, CS_BATCH_MAX_LIMIT, &v) < 0) return 2;
      sp.handler.batch_max = (int)v;
      break;
    case O_BATCH_WAIT:
      if (cs_cli_parse_int(cli, "--batch-wait-us", optarg, 0, 100000, &v) < 0) return 2;
      sp.batch_wait_us = (int)v;
      break;
    case O_IDLE:
      if (cs_cli_parse_double(cli, "--idle-timeout", optarg, 0.01, 86400, &d) < 0) return 2;
      sp.idle_timeout = d;
      break;
    case O_REQ_TIMEOUT:
      if (cs_cli_parse_double(cli, "--request-timeout", optarg, 0.01, 86400, &d) < 0) return 2;
      sp.request_timeout = d;
      break;
    case O_DRAIN:
      if (cs_cli_parse_double(cli, "--drain-timeout", optarg, 0, 86400, &d) < 0) return 2;
      drain_timeout = d;
      break;
    case O_MAX_CONNS:
      if (cs_cli_parse_int(cli, "--max-connections", optarg, 1, 1000000, &v) < 0) return 2;
      sp.max_connections = (int)v;
      break;
    case O_PER_CLIENT:
      if (cs_cli_parse_int(cli, "--max-conns-per-client", optarg, 0, 1000000, &v) < 0) return 2;
      sp.max_conns_per_client = (int)v;
      break;
    case O_ACCESS_LOG: access_log = optarg; break;
    case CS_CLI_OPT_HALF: sp.handler.half = 1; break;
    case CS_CLI_STOP: return status;
    default:
      if (cs_cli_strategy_option(cli, opt, optarg, &sp.handler.strat) < 0) return 2;
    }
  }
  if (optind != argc - 1) return cs_cli_usage_error(cli, "expected one MODEL file");
  /* --threads sets the event loops (default 2, not every core) */
  threads_set = cli->threads_set;
  if (threads_set) sp.n_threads = cli->ctx.n_threads;
  const char *model_path = argv[optind];
  /* BLAS threads would fight the event loops for the same cores. */
  cs_blas_set_threads(1);
  signal(SIGPIPE, SIG_IGN);

  if (access_log) {
    sp.access_log_fd = strcmp(access_log, "-") == 0
                           ? STDOUT_FILENO
                           : open(access_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (sp.access_log_fd < 0) {
      fprintf(stderr, "coldstart serve: cannot open access log %s: %m\n", access_log);
      return cs_error_exit_status(CS_EIO);
    }
  }
  /* the signal handlers go in before the model loads: a SIGTERM or SIGHUP
   * during a long load waits in the pipe (TERM then drains an idle server,
   * exit 0; HUP reloads) instead of killing the process */
  status = 0; /* from here on: the exit status */
  int sig_pipe[2] = {-1, -1};
  cs_err_t err;
  cs_err_clear(&err);
  cs_served_model_t *model = NULL;
  cs_server_t *server = NULL;
  if (pipe2(sig_pipe, O_CLOEXEC) != 0) {
    fprintf(stderr, "coldstart serve: pipe: %m\n");
    status = cs_error_exit_status(CS_EIO);
    goto done;
  }
  /* a full pipe must never block the handler (signals then coalesce) */
  fcntl(sig_pipe[1], F_SETFL, fcntl(sig_pipe[1], F_GETFL) | O_NONBLOCK);
  signal_pipe_w = sig_pipe[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  int rc = cs_served_model_load(&model, model_path, &sp.handler, &err);
  if (rc != CS_OK) {
    status = cs_cli_report(cli, &err);
    goto done;
  }
  /* the event loops inherit a mask without them: the handler runs in
   * this thread (or a library's), never interrupts a request */
  sigset_t sigs, old;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, &old);
  rc = cs_server_start(&server, model, &sp, &err);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != CS_OK) {
    status = cs_cli_report(cli, &err);
    goto done;
  }
  int port = cs_server_port(server);
  if (port_file) {
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", port);
    rc = cs_write_file_atomic(port_file, text, (size_t)n, &err);
    if (rc != CS_OK) {
      status = cs_cli_report(cli, &err);
      goto done;
    }
  }
  fprintf(stderr,
          "coldstart serve: %s (%lld songs, %s, crc %08x, loaded in %.3f s) on http://%s:%d "
          "with %d threads\n",
          model_path, (long long)model->model.n_songs,
          model->model.featurizer ? "raw events" : "features only", model->crc,
          model->load_seconds, sp.bind_addr, port, sp.n_threads);
  cs_served_model_release(model); /* the server holds its own reference */
  model = NULL;
  int sig = 0;
  for (;;) {
    unsigned char b;
    ssize_t n = read(sig_pipe[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) {
      sig = SIGTERM; /* cannot happen: the write end is ours */
      break;
    }
    sig = b;
    if (sig != SIGHUP) break;
    cs_err_clear(&err);
    double t0 = cs_now();
    rc = cs_server_reload(server, model_path, &err);
    if (rc == CS_OK)
      fprintf(stderr, "coldstart serve: SIGHUP: reloaded %s in %.3f s\n", model_path,
              cs_now() - t0);
    else
      fprintf(stderr, "coldstart serve: SIGHUP: reload refused, the old model keeps serving: %s\n",
              err.msg);
  }
  fprintf(stderr, "coldstart serve: %s: draining (at most %g s)\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM", drain_timeout);
  double t0 = cs_now();
  int left = cs_server_drain(server, drain_timeout);
  if (left > 0)
    fprintf(stderr, "coldstart serve: drain timeout: closing %d connection%s unanswered\n", left,
            left == 1 ? "" : "s");
  fprintf(stderr, "coldstart serve: stopping after %llu requests (drained in %.3f s)\n",
          (unsigned long long)cs_server_requests(server), cs_now() - t0);
done:
  if (server) cs_server_stop(server);
  if (model) cs_served_model_release(model);
  if (sp.access_log_fd > STDERR_FILENO) close(sp.access_log_fd);
  for (int i = 0; i < 2; i++)
    if (sig_pipe[i] >= 0) close(sig_pipe[i]);
  return status;
}

/* cmd_serve.c: `coldstart serve MODEL`: the HTTP recommendation service over
 * one read-only model file, until SIGINT/SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/io.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/serve.h"

int cs_cmd_serve(int argc, char **argv, cs_cli_t *cli) {
  enum { O_PORT = 2000, O_BIND, O_STRATEGY, O_PORT_FILE };
  static const struct option opts[] = {
      {"port", required_argument, NULL, O_PORT},
      {"bind", required_argument, NULL, O_BIND},
      {"strategy", required_argument, NULL, O_STRATEGY},
      {"port-file", required_argument, NULL, O_PORT_FILE},
      CS_CLI_STRATEGY_OPTIONS,
      CS_CLI_COMMON_OPTIONS,
      {NULL, 0, NULL, 0}};
  cs_server_params_t sp;
  cs_server_params_default(&sp);
  const char *port_file = NULL;
  int threads_set = 0, strategy_set = 0, opt;
  long long v;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case O_PORT:
      if (cs_cli_parse_int(cli, "--port", optarg, 0, 65535, &v) < 0) return 2;
      sp.port = (int)v;
      break;
    case O_BIND: sp.bind_addr = optarg; break;
    case O_STRATEGY:
      sp.handler.default_strategy = cs_strategy_parse(optarg);
      strategy_set = 1;
      if (sp.handler.default_strategy < 0)
        return cs_cli_usage_error(cli, "--strategy: unknown strategy '%s'", optarg);
      break;
    case O_PORT_FILE: port_file = optarg; break;
    default: {
      if (opt == CS_CLI_OPT_THREADS) threads_set = 1;
      int r = cs_cli_strategy_option(cli, opt, optarg, &sp.handler.strat);
      if (r == 0) r = cs_cli_default_option(cli, opt, optarg);
      if (r != 1) return r < 0 ? 2 : 0;
    }
    }
  }
  if (optind != argc - 1) return cs_cli_usage_error(cli, "expected one MODEL file");
  if (threads_set) sp.n_threads = cli->ctx.n_threads;
  /* BLAS threads would fight the event loops for the same cores. */
  cs_blas_set_threads(1);

  cs_err_t err;
  cs_err_clear(&err);
  cs_model_t model;
  int rc = cs_model_load(&model, argv[optind], &err);
  if (rc != CS_OK) return cs_cli_report(cli, &err);
  /* a tuned model's strategy and parameters, unless given */
  if (!strategy_set)
    sp.handler.default_strategy =
        cs_strategy_model_default(&model, sp.handler.default_strategy);
  cs_strategy_params_from_model(&sp.handler.strat, &model);
  /* Block the stop signals before threads start, then wait for one. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  cs_server_t *server = NULL;
  rc = cs_server_start(&server, &model, &sp, &err);
  if (rc != CS_OK) {
    cs_model_free(&model);
    return cs_cli_report(cli, &err);
  }
  int port = cs_server_port(server);
  if (port_file) {
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", port);
    rc = cs_write_file_atomic(port_file, text, (size_t)n, &err);
    if (rc != CS_OK) {
      cs_server_stop(server);
      cs_model_free(&model);
      return cs_cli_report(cli, &err);
    }
  }
  fprintf(stderr, "coldstart serve: %s (%lld songs, %s) on http://%s:%d with %d threads\n",
          argv[optind], (long long)model.n_songs,
          model.featurizer ? "raw events" : "features only", sp.bind_addr, port,
          sp.n_threads);
  int sig = 0;
  sigwait(&stop, &sig);
  fprintf(stderr, "coldstart serve: %s, stopping after %llu requests\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM",
          (unsigned long long)cs_server_requests(server));
  cs_server_stop(server);
  cs_model_free(&model);
  return 0;
}

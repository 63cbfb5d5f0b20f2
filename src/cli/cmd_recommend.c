/* cmd_recommend.c: `coldstart recommend MODEL DATASET --split test
 * --strategy soft`: one JSON line per user (docs/formats.md) with the ranked
 * songs, their scores and contributing clusters, and the user's
 * memberships. Uses the same per-request path as the server. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/evaluate.h"
#include "coldstart/model.h"
#include "coldstart/serve.h"
#include "coldstart/strategy.h"

enum { O_SPLIT = 2000, O_STRATEGY, O_USERS, O_ALLOW };

const cs_cli_flag_t cs_cmd_recommend_flags[] = {
    {"split", "NAME", O_SPLIT, "train, validation or test (default test)"},
    {"strategy", "NAME", O_STRATEGY,
     "popularity, d0-streams, input-clusters, full, semi, soft, mix or blend "
     "(default: the strategy a tuned model was tuned to, else soft)"},
    {"users", "N", O_USERS, "only the first N users of the split (default all)"},
    {"allow-training-users", NULL, O_ALLOW,
     "recommend for users the model was trained on anyway (refused by "
     "default)"},
    CS_CLI_FLAG_HALF,
    {NULL, NULL, 0, NULL}};

int cs_cmd_recommend(int argc, char **argv, cs_cli_t *cli) {
  cs_strategy_params_t sp;
  cs_strategy_params_default(&sp);
  int split = CS_SPLIT_TEST, strategy = -1, opt, status;
  long long max_users = -1;
  int allow_training_users = 0, half = 0;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_SPLIT:
      if (cs_cli_parse_split(cli, "--split", optarg, &split)) return 2;
      break;
    case O_STRATEGY:
      if (cs_cli_parse_strategy(cli, "--strategy", optarg, &strategy)) return 2;
      break;
    case O_USERS:
      if (cs_cli_parse_int(cli, "--users", optarg, 0, INT64_MAX, &max_users) < 0)
        return 2;
      break;
    case O_ALLOW: allow_training_users = 1; break;
    case CS_CLI_OPT_HALF: half = 1; break;
    case CS_CLI_STOP: return status;
    default:
      if (cs_cli_strategy_option(cli, opt, optarg, &sp) < 0) return 2;
    }
  }
  if (optind != argc - 2)
    return cs_cli_usage_error(cli, "expected MODEL and DATASET");
  cs_model_t model;
  cs_dataset_t ds;
  status = cs_cli_load_model_dataset(cli, argv[optind], argv[optind + 1], &model, &ds);
  if (status) return status;
  cs_regressor_set_half(model.regressor, half);
  /* a tuned model's strategy and parameters, unless given */
  if (strategy < 0) strategy = cs_strategy_model_default(&model, CS_STRAT_SOFT);
  cs_strategy_params_from_model(&sp, &model);
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_eval_check_dataset(&cli->ctx, &model, &ds, split, allow_training_users,
                            &err)) {
    cs_dataset_free(&ds);
    cs_model_free(&model);
    return cs_cli_report(cli, &err);
  }
  cs_rec_ws_t *ws = NULL;
  char *buf = NULL;
  float *pred = NULL;
  int rc = cs_rec_ws_create(&ws, &model, &sp, &err);
  const cs_split_t *s = &ds.splits[split];
  int64_t n = s->n_users;
  if (max_users >= 0 && max_users < n) n = max_users;
  size_t cap = 4096 + ((size_t)sp.k + (size_t)sp.soft_margin) *
                          (96 + 12 * (size_t)CS_SOFT_M_MAX);
  if (rc == 0) {
    buf = malloc(cap);
    if (!buf) rc = cs_err_set(&err, CS_ENOMEM, "out of memory");
  }
  /* Predicted embeddings in batches (as `evaluate` computes them), so the
   * per-user work is only the strategy itself. */
  enum { CHUNK = 1024 };
  int need_pred = cs_strategy_needs_embedding(strategy);
  if (rc == 0 && need_pred) {
    pred = malloc((size_t)CHUNK * model.dim * sizeof *pred);
    if (!pred) rc = cs_err_set(&err, CS_ENOMEM, "out of memory");
  }
  for (int64_t u = 0; rc == 0 && u < n; u++) {
    if (need_pred && u % CHUNK == 0) {
      int64_t rows = n - u < CHUNK ? n - u : CHUNK;
      rc = cs_regressor_predict(model.regressor,
                                s->features + (size_t)u * model.n_features,
                                rows, pred, &err);
      if (rc) break;
    }
    const cs_rec_t *r;
    rc = cs_recommend(&model, strategy, &sp,
                      s->features + (size_t)u * model.n_features,
                      need_pred ? pred + (size_t)(u % CHUNK) * model.dim : NULL,
                      ws, &r, &err);
    if (rc) break;
    int64_t len = cs_rec_write_json(&model, s->user_ids[u], r, buf, cap);
    if (len < 0) {
      rc = cs_err_set(&err, CS_EINTERNAL, "user %lld: JSON line longer than "
                      "%zu bytes", (long long)s->user_ids[u], cap);
      break;
    }
    buf[len] = '\n';
    if (fwrite(buf, 1, (size_t)len + 1, stdout) != (size_t)len + 1)
      rc = cs_err_set(&err, CS_EIO, "writing to stdout failed");
  }
  if (rc == 0 && fflush(stdout) != 0)
    rc = cs_err_set(&err, CS_EIO, "writing to stdout failed");
  free(buf);
  free(pred);
  cs_rec_ws_free(ws);
  cs_dataset_free(&ds);
  cs_model_free(&model);
  return rc ? cs_cli_report(cli, &err) : 0;
}

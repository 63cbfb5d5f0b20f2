/* cmd_evaluate.c: `coldstart evaluate MODEL DATASET --split test --k 50`:
 * runs the strategies over a split and prints the Table-1-style table
 * (P@K, R@K, NDCG@K, mean and spread) as text, JSON, CSV or Markdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/dist.h"
#include "coldstart/evaluate.h"
#include "coldstart/model.h"

static int parse_strategies(cs_cli_t *cli, const char *list,
                            cs_eval_params_t *p) {
  char buf[256];
  if (strlen(list) >= sizeof buf)
    return cs_cli_usage_error(cli, "--strategies: list too long");
  strcpy(buf, list);
  p->n_strategies = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    int s;
    if (cs_cli_parse_strategy(cli, "--strategies", tok, &s)) return 2;
    for (int i = 0; i < p->n_strategies; i++)
      if (p->strategies[i] == s)
        return cs_cli_usage_error(cli, "--strategies: '%s' given twice", tok);
    p->strategies[p->n_strategies++] = s;
  }
  if (p->n_strategies == 0)
    return cs_cli_usage_error(cli, "--strategies: empty list");
  return 0;
}

enum { O_SPLIT = 2000, O_STRATEGIES, O_FORMAT, O_NDCG, O_ALLOW };

const cs_cli_flag_t cs_cmd_evaluate_flags[] = {
    {"split", "NAME", O_SPLIT, "train, validation or test (default test)"},
    {"strategies", "A,B", O_STRATEGIES,
     "comma-separated strategies to run, in this order (default: all of "
     "popularity, d0-streams, input-clusters, full, semi, soft, mix, blend)"},
    {"format", "FMT", O_FORMAT,
     "text (a table in %, mean and spread), json (one line, fractions), csv "
     "or markdown (default text)"},
    {"ndcg", "MODE", O_NDCG,
     "list: NDCG of the delivered list (default); sklearn: scikit-learn's "
     "ndcg_score over each strategy's full score vector, ties averaged"},
    {"allow-training-users", NULL, O_ALLOW,
     "score users the model was trained on anyway (refused by default: "
     "their scores would be inflated)"},
    CS_CLI_FLAG_HALF,
    {NULL, NULL, 0, NULL}};

int cs_cmd_evaluate(int argc, char **argv, cs_cli_t *cli) {
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  int split = CS_SPLIT_TEST, fmt = CS_EVAL_TEXT, opt, status, half = 0;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_SPLIT:
      if (cs_cli_parse_split(cli, "--split", optarg, &split)) return 2;
      break;
    case O_STRATEGIES:
      if (parse_strategies(cli, optarg, &ep)) return 2;
      break;
    case O_FORMAT:
      fmt = cs_eval_format_parse(optarg);
      if (fmt < 0)
        return cs_cli_usage_error(cli, "--format: unknown format '%s' (text, "
                                  "json, csv, markdown)", optarg);
      break;
    case O_NDCG:
      if (!strcmp(optarg, "list")) ep.ndcg_mode = CS_NDCG_LIST;
      else if (!strcmp(optarg, "sklearn")) ep.ndcg_mode = CS_NDCG_SKLEARN;
      else
        return cs_cli_usage_error(cli, "--ndcg: unknown mode '%s' (list, "
                                  "sklearn)", optarg);
      break;
    case O_ALLOW: ep.allow_training_users = 1; break;
    case CS_CLI_OPT_HALF: half = 1; break;
    case CS_CLI_STOP: return status;
    default:
      if (cs_cli_strategy_option(cli, opt, optarg, &ep.sp) < 0) return 2;
    }
  }
  if (optind != argc - 2)
    return cs_cli_usage_error(cli, "expected MODEL and DATASET");
  cs_model_t model;
  cs_dataset_t ds;
  status = cs_cli_load_model_dataset(cli, argv[optind], argv[optind + 1], &model, &ds);
  if (status) return status;
  cs_regressor_set_half(model.regressor, half);
  /* a tuned model's parameters, unless given on the command line */
  cs_strategy_params_from_model(&ep.sp, &model);
  cs_err_t err;
  cs_err_clear(&err);
  cs_eval_result_t res;
  double t0 = cs_now();
  int rc = cs_evaluate(&cli->ctx, &model, &ds, split, &ep, &res, &err);
  if (rc == 0) {
    cs_log(&cli->ctx, CS_LOG_INFO, "evaluate: %d strategies on %lld %s users "
           "in %.2fs", res.n_rows, (long long)res.n_users,
           cs_split_name(split), cs_now() - t0);
    if (cs_dist_is_root(cli->ctx.dist)) /* under mpirun: rank 0 prints */
      rc = cs_eval_write(stdout, &res, fmt, &err);
  }
  rc = cs_dist_agree(cs_dist_of(&cli->ctx), rc, &err);
  cs_dataset_free(&ds);
  cs_model_free(&model);
  return rc ? cs_cli_report(cli, &err) : 0;
}

/* cmd_evaluate.c: `coldstart evaluate MODEL DATASET --split test --k 50`:
 * runs the strategies over a split and prints the Table-1-style table
 * (P@K, R@K, NDCG@K, mean and spread) as text, JSON, CSV or Markdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
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
    int s = cs_strategy_parse(tok);
    if (s < 0)
      return cs_cli_usage_error(cli, "--strategies: unknown strategy '%s' "
                                "(popularity, d0-streams, input-clusters, "
                                "full, semi, soft)", tok);
    for (int i = 0; i < p->n_strategies; i++)
      if (p->strategies[i] == s)
        return cs_cli_usage_error(cli, "--strategies: '%s' given twice", tok);
    p->strategies[p->n_strategies++] = s;
  }
  if (p->n_strategies == 0)
    return cs_cli_usage_error(cli, "--strategies: empty list");
  return 0;
}

int cs_cmd_evaluate(int argc, char **argv, cs_cli_t *cli) {
  enum {
    O_SPLIT = 2000, O_STRATEGIES, O_FORMAT,
    O_NDCG, O_ALLOW
  };
  static const struct option opts[] = {
      {"split", required_argument, NULL, O_SPLIT},
      {"strategies", required_argument, NULL, O_STRATEGIES},
      {"format", required_argument, NULL, O_FORMAT},
      {"ndcg", required_argument, NULL, O_NDCG},
      {"allow-training-users", no_argument, NULL, O_ALLOW},
      CS_CLI_STRATEGY_OPTIONS,
      CS_CLI_COMMON_OPTIONS,
      {NULL, 0, NULL, 0}};
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  int split = CS_SPLIT_TEST, fmt = CS_EVAL_TEXT, opt;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case O_SPLIT:
      split = cs_split_parse(optarg);
      if (split < 0)
        return cs_cli_usage_error(cli, "--split: unknown split '%s' "
                                  "(train, validation, test)", optarg);
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
    default: {
      int r = cs_cli_strategy_option(cli, opt, optarg, &ep.sp);
      if (r == 0) r = cs_cli_default_option(cli, opt, optarg);
      if (r != 1) return r < 0 ? 2 : 0;
    }
    }
  }
  if (optind != argc - 2)
    return cs_cli_usage_error(cli, "expected MODEL and DATASET");
  cs_model_t model;
  cs_dataset_t ds;
  int status = cs_cli_load_model_dataset(cli, argv[optind], argv[optind + 1], &model, &ds);
  if (status) return status;
  cs_err_t err;
  cs_err_clear(&err);
  cs_eval_result_t res;
  double t0 = cs_now();
  int rc = cs_evaluate(&cli->ctx, &model, &ds, split, &ep, &res, &err);
  if (rc == 0) {
    cs_log(&cli->ctx, CS_LOG_INFO, "evaluate: %d strategies on %lld %s users "
           "in %.2fs", res.n_rows, (long long)res.n_users,
           cs_split_name(split), cs_now() - t0);
    rc = cs_eval_write(stdout, &res, fmt, &err);
  }
  cs_dataset_free(&ds);
  cs_model_free(&model);
  return rc ? cs_cli_report(cli, &err) : 0;
}

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

enum { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_MARKDOWN };

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

static void print_result(const cs_eval_result_t *r, int fmt) {
  const char *split = cs_split_name(r->split);
  if (fmt == FMT_JSON) {
    printf("{\"split\": \"%s\", \"k\": %d, \"users\": %lld, \"skipped\": %lld, "
           "\"strategies\": {", split, r->k, (long long)r->n_users,
           (long long)r->n_skipped);
    for (int i = 0; i < r->n_rows; i++) {
      const cs_eval_row_t *w = &r->rows[i];
      printf("%s\"%s\": {\"precision\": {\"mean\": %.9g, \"std\": %.9g}, "
             "\"recall\": {\"mean\": %.9g, \"std\": %.9g}, "
             "\"ndcg\": {\"mean\": %.9g, \"std\": %.9g}}",
             i ? ", " : "", cs_strategy_name(w->strategy), w->precision.mean,
             w->precision.std, w->recall.mean, w->recall.std, w->ndcg.mean,
             w->ndcg.std);
    }
    printf("}}\n");
    return;
  }
  if (fmt == FMT_CSV) {
    printf("strategy,precision,precision_std,recall,recall_std,ndcg,ndcg_std\n");
    for (int i = 0; i < r->n_rows; i++) {
      const cs_eval_row_t *w = &r->rows[i];
      printf("%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n",
             cs_strategy_name(w->strategy), w->precision.mean,
             w->precision.std, w->recall.mean, w->recall.std, w->ndcg.mean,
             w->ndcg.std);
    }
    return;
  }
  char hp[32], hr[32], hn[32];
  snprintf(hp, sizeof hp, "P@%d (%%)", r->k);
  snprintf(hr, sizeof hr, "R@%d (%%)", r->k);
  snprintf(hn, sizeof hn, "NDCG@%d (%%)", r->k);
  if (fmt == FMT_MARKDOWN) {
    printf("| strategy | %s | %s | %s |\n| --- | ---: | ---: | ---: |\n", hp,
           hr, hn);
    for (int i = 0; i < r->n_rows; i++) {
      const cs_eval_row_t *w = &r->rows[i];
      printf("| %s | %.2f ± %.2f | %.2f ± %.2f | %.2f ± %.2f |\n",
             cs_strategy_name(w->strategy), 100 * w->precision.mean,
             100 * w->precision.std, 100 * w->recall.mean,
             100 * w->recall.std, 100 * w->ndcg.mean, 100 * w->ndcg.std);
    }
    printf("\n%s split, K = %d: %lld users evaluated, %lld skipped (no "
           "days-1-30 songs).\n", split, r->k, (long long)r->n_users,
           (long long)r->n_skipped);
    return;
  }
  printf("%s split, K = %d: %lld users evaluated, %lld skipped (no days-1-30 "
         "songs)\n\n", split, r->k, (long long)r->n_users,
         (long long)r->n_skipped);
  printf("%-16s %16s %16s %16s\n", "strategy", hp, hr, hn);
  for (int i = 0; i < r->n_rows; i++) {
    const cs_eval_row_t *w = &r->rows[i];
    char c[3][40];
    snprintf(c[0], sizeof c[0], "%.2f ± %.2f", 100 * w->precision.mean,
             100 * w->precision.std);
    snprintf(c[1], sizeof c[1], "%.2f ± %.2f", 100 * w->recall.mean,
             100 * w->recall.std);
    snprintf(c[2], sizeof c[2], "%.2f ± %.2f", 100 * w->ndcg.mean,
             100 * w->ndcg.std);
    /* "±" is 2 bytes in UTF-8: pad one more byte per column */
    printf("%-16s %17s %17s %17s\n", cs_strategy_name(w->strategy), c[0],
           c[1], c[2]);
  }
  printf("\n(mean ± spread: std of 10 fold means, 2 seeds x 5 folds)\n");
}

int cs_cmd_evaluate(int argc, char **argv, cs_cli_t *cli) {
  enum {
    O_SPLIT = 2000, O_K, O_STRATEGIES, O_SOFT_M, O_SOFT_MARGIN, O_FORMAT,
    O_NDCG
  };
  static const struct option opts[] = {
      {"split", required_argument, NULL, O_SPLIT},
      {"k", required_argument, NULL, O_K},
      {"strategies", required_argument, NULL, O_STRATEGIES},
      {"soft-m", required_argument, NULL, O_SOFT_M},
      {"soft-margin", required_argument, NULL, O_SOFT_MARGIN},
      {"format", required_argument, NULL, O_FORMAT},
      {"ndcg", required_argument, NULL, O_NDCG},
      CS_CLI_COMMON_OPTIONS,
      {NULL, 0, NULL, 0}};
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  int split = CS_SPLIT_TEST, fmt = FMT_TEXT, opt;
  long long v;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case O_SPLIT:
      split = cs_split_parse(optarg);
      if (split < 0)
        return cs_cli_usage_error(cli, "--split: unknown split '%s' "
                                  "(train, validation, test)", optarg);
      break;
    case O_K:
      if (cs_cli_parse_int(cli, "--k", optarg, 1, 4096, &v) < 0) return 2;
      ep.sp.k = (int)v;
      break;
    case O_STRATEGIES:
      if (parse_strategies(cli, optarg, &ep)) return 2;
      break;
    case O_SOFT_M:
      if (cs_cli_parse_int(cli, "--soft-m", optarg, 1, 32, &v) < 0) return 2;
      ep.sp.soft_m = (int)v;
      break;
    case O_SOFT_MARGIN:
      if (cs_cli_parse_int(cli, "--soft-margin", optarg, 0, 100000, &v) < 0)
        return 2;
      ep.sp.soft_margin = (int)v;
      break;
    case O_FORMAT:
      if (!strcmp(optarg, "text")) fmt = FMT_TEXT;
      else if (!strcmp(optarg, "json")) fmt = FMT_JSON;
      else if (!strcmp(optarg, "csv")) fmt = FMT_CSV;
      else if (!strcmp(optarg, "markdown")) fmt = FMT_MARKDOWN;
      else
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
    default: {
      int r = cs_cli_default_option(cli, opt, optarg);
      if (r != 1) return r < 0 ? 2 : 0;
    }
    }
  }
  if (optind != argc - 2)
    return cs_cli_usage_error(cli, "expected MODEL and DATASET");
  cs_err_t err;
  cs_err_clear(&err);
  cs_model_t model;
  cs_dataset_t ds;
  if (cs_model_load(&model, argv[optind], &err)) return cs_cli_report(cli, &err);
  if (cs_dataset_load(&ds, argv[optind + 1], &err)) {
    cs_model_free(&model);
    return cs_cli_report(cli, &err);
  }
  cs_eval_result_t res;
  double t0 = cs_now();
  int rc = cs_evaluate(&cli->ctx, &model, &ds, split, &ep, &res, &err);
  if (rc == 0) {
    cs_log(&cli->ctx, CS_LOG_INFO, "evaluate: %d strategies on %lld %s users "
           "in %.2fs", res.n_rows, (long long)res.n_users,
           cs_split_name(split), cs_now() - t0);
    print_result(&res, fmt);
    if (fflush(stdout) != 0)
      rc = cs_err_set(&err, CS_EIO, "writing the table to stdout failed");
  }
  cs_dataset_free(&ds);
  cs_model_free(&model);
  return rc ? cs_cli_report(cli, &err) : 0;
}

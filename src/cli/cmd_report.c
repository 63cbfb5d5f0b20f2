/* cmd_report.c: `coldstart report MODEL DATASET --out report.html`: one
 * self-contained HTML page (inline SVG and CSS) with the strategy
 * comparison, NDCG@K curves, the segments, the regressor's history, an
 * optional k sweep (--tune DIR), three example users and what went in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/model.h"
#include "coldstart/report.h"

/* The report's date: now, or SOURCE_DATE_EPOCH when set (reproducible
 * builds' convention), so a rerun can give the same date. */
static int64_t report_time(void) {
  const char *s = getenv("SOURCE_DATE_EPOCH");
  if (s && *s) {
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && v >= 0) return (int64_t)v;
  }
  return (int64_t)time(NULL);
}

enum { O_OUT = 2000, O_TUNE, O_SPLIT, O_STRATEGY };

const cs_cli_flag_t cs_cmd_report_flags[] = {
    {"out", "FILE", O_OUT, "the HTML file to write (required; one "
     "self-contained page, written atomically)"},
    {"tune", "DIR", O_TUNE, "also plot the k sweep of `coldstart tune` "
     "(DIR/tune.json): inertia and validation NDCG over k, the elbow and "
     "the chosen k"},
    {"split", "NAME", O_SPLIT, "the split the comparison, the curves and "
     "the example users come from (default test)"},
    {"strategy", "NAME", O_STRATEGY,
     "the strategy of the example users' lists (default soft; a tuned "
     "model's own strategy when it has one)"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_report(int argc, char **argv, cs_cli_t *cli) {
  cs_report_params_t rp;
  cs_report_params_default(&rp);
  const char *out_path = NULL, *tune_dir = NULL;
  int opt, status, strategy_given = 0;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_OUT: out_path = optarg; break;
    case O_TUNE: tune_dir = optarg; break;
    case O_SPLIT:
      if (cs_cli_parse_split(cli, "--split", optarg, &rp.split)) return 2;
      break;
    case O_STRATEGY:
      if (cs_cli_parse_strategy(cli, "--strategy", optarg, &rp.example_strategy))
        return 2;
      strategy_given = 1;
      break;
    case CS_CLI_STOP: return status;
    default:
      if (cs_cli_strategy_option(cli, opt, optarg, &rp.sp) < 0) return 2;
    }
  }
  if (optind != argc - 2)
    return cs_cli_usage_error(cli, "expected MODEL and DATASET");
  if (!out_path) return cs_cli_usage_error(cli, "--out FILE is required");
  cs_err_t err;
  cs_err_clear(&err);
  cs_report_t rep;
  cs_report_init(&rep);
  /* Read the sweep first: a bad tune.json fails before the long work. */
  if (tune_dir && cs_report_read_tune(tune_dir, &rep.tune, &err))
    return cs_cli_report(cli, &err);
  double t0 = cs_now();
  cs_model_t model;
  cs_dataset_t ds;
  status = cs_cli_load_model_dataset(cli, argv[optind], argv[optind + 1],
                                     &model, &ds);
  if (status) {
    cs_report_free(&rep);
    return status;
  }
  double sec_load = cs_now() - t0;
  /* a tuned model's strategy and parameters, unless given, as evaluate and
   * recommend take them */
  if (!strategy_given)
    rp.example_strategy = cs_strategy_model_default(&model, rp.example_strategy);
  cs_strategy_params_from_model(&rp.sp, &model);
  rp.model_path = argv[optind];
  rp.dataset_path = argv[optind + 1];
  rp.version = CS_VERSION;
  rp.generated_at = report_time();
  cs_report_stage_add(&rep, "load", sec_load);
  int rc = cs_report_build(&cli->ctx, &model, &ds, &rp, &rep, &err);
  if (rc == 0) {
    if (tune_dir) cs_report_kv_add(&rep, "report", "k sweep", "%s",
                                   rep.tune.path);
    double t1 = cs_now();
    rc = cs_report_write(&rep, out_path, &err);
    if (rc == 0)
      cs_log(&cli->ctx, CS_LOG_INFO, "report: %s written in %.2fs (render "
             "%.2fs)", out_path, cs_now() - t0, cs_now() - t1);
  }
  cs_report_free(&rep);
  cs_dataset_free(&ds);
  cs_model_free(&model);
  return rc ? cs_cli_report(cli, &err) : 0;
}

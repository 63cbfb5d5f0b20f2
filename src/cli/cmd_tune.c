/* cmd_tune.c: `coldstart tune DATASET --out DIR`: sweep the number of
 * segments and tune the mix/blend parameters on the validation split
 * (tune.h), write DIR/tune.json and print a short summary; `train
 * --from-tune DIR` applies the choice. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/io.h"
#include "coldstart/tune.h"

enum {
  O_OUT = 2000, O_CLUSTERS, O_INPUT_CLUSTERS, O_KMEANS_ITER, O_EPOCHS,
  O_PATIENCE, O_REFERENCE, O_SEED, O_NO_BLEND
};

const cs_cli_flag_t cs_cmd_tune_flags[] = {
    {"out", "DIR", O_OUT, "folder for tune.json (required; created, the file "
     "written atomically)"},
    {"clusters", "SPEC", O_CLUSTERS,
     "numbers of segments to sweep: items k or A:B:STEP separated by commas, "
     "e.g. 20:100:20,200:2000:100 (default 500:2000:100; values above the "
     "training users with a target are left out)"},
    {"input-clusters", "K", O_INPUT_CLUSTERS,
     "input clusters, as train (default 100)"},
    {"kmeans-iter", "N", O_KMEANS_ITER, "Lloyd iterations per k (default 20)"},
    {"epochs", "N", O_EPOCHS, "regressor epochs at most, as train (default 8)"},
    {"patience", "N", O_PATIENCE, "regressor early stopping, as train "
     "(default 2)"},
    {"reference-schedule", NULL, O_REFERENCE,
     "the paper's regressor schedule, as train"},
    {"seed", "N", O_SEED, "seed of the regressor and every k-means (default 1)"},
    {"no-blend", NULL, O_NO_BLEND,
     "do not tune blend's parameters (its dense scoring is the slowest "
     "part); blend keeps the --blend-* values"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_tune(int argc, char **argv, cs_cli_t *cli) {
  cs_tune_params_t tp;
  cs_tune_params_default(&tp);
  const char *out_dir = NULL;
  long long v, seed = 1, epochs = -1, patience = -1;
  int reference = 0, opt, status;
  cs_err_t err;
  cs_err_clear(&err);
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_OUT: out_dir = optarg; break;
    case O_CLUSTERS:
      if (cs_tune_parse_k_values(optarg, tp.k_values, CS_TUNE_MAX_K, &tp.n_k,
                                 &err))
        return cs_cli_usage_error(cli, "--clusters: %s", err.msg);
      break;
    case O_INPUT_CLUSTERS:
      if (cs_cli_parse_int(cli, "--input-clusters", optarg, 1, 1000000, &v) < 0)
        return 2;
      tp.train.k_input = (int)v;
      break;
    case O_KMEANS_ITER:
      if (cs_cli_parse_int(cli, "--kmeans-iter", optarg, 1, 100000, &v) < 0)
        return 2;
      tp.train.kmeans_iter = (int)v;
      break;
    case O_EPOCHS:
      if (cs_cli_parse_int(cli, "--epochs", optarg, 1, 100000, &epochs) < 0)
        return 2;
      break;
    case O_PATIENCE:
      if (cs_cli_parse_int(cli, "--patience", optarg, 0, 100000, &patience) < 0)
        return 2;
      break;
    case O_REFERENCE: reference = 1; break;
    case O_SEED:
      if (cs_cli_parse_int(cli, "--seed", optarg, 0, INT64_MAX, &seed) < 0)
        return 2;
      break;
    case O_NO_BLEND: tp.tune_blend = 0; break;
    case CS_CLI_STOP: return status;
    default:
      if (cs_cli_strategy_option(cli, opt, optarg, &tp.sp) < 0) return 2;
    }
  }
  if (optind != argc - 1)
    return cs_cli_usage_error(cli, "expected one DATASET file");
  if (!out_dir) return cs_cli_usage_error(cli, "--out DIR is required");
  if (reference) cs_regressor_params_reference(&tp.train.reg);
  if (epochs > 0) tp.train.reg.epochs = (int)epochs;
  if (patience >= 0) tp.train.reg.patience = (int)patience;
  tp.train.seed = tp.train.reg.seed = (uint64_t)seed; /* as train's --seed */

  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/tune.json", out_dir) >= sizeof path)
    return cs_cli_usage_error(cli, "--out: path too long");
  if (cs_mkdirs(out_dir, &err)) return cs_cli_report(cli, &err);
  cs_dataset_t ds;
  cs_log(&cli->ctx, CS_LOG_INFO, "tune: loading %s", argv[optind]);
  if (cs_dataset_load(&ds, argv[optind], &err)) return cs_cli_report(cli, &err);
  cs_tune_result_t res;
  int rc = cs_tune(&cli->ctx, &ds, &tp, &res, &err);
  cs_dataset_free(&ds);
  if (rc == 0) rc = cs_tune_write_json(&res, argv[optind], path, &err);
  if (rc == 0) {
    printf("%8s %14s %10s %10s %10s  (validation NDCG@%d, %%)\n", "k",
           "inertia", "semi", "soft", "mix", res.chosen_sp.k);
    for (int i = 0; i < res.n_points; i++) {
      const cs_tune_point_t *pt = &res.points[i];
      printf("%8d %14.6g %10.2f %10.2f %10.2f\n", pt->k, pt->inertia,
             100 * pt->val[CS_STRAT_SEMI].ndcg, 100 * pt->val[CS_STRAT_SOFT].ndcg,
             100 * pt->val[CS_STRAT_MIX].ndcg);
    }
    printf("\nelbow of the inertia: k = %d; chosen: k = %d, %s (validation "
           "NDCG %.2f%%; soft %.2f%%)\n", res.elbow_k, res.chosen_k,
           cs_strategy_name(res.chosen_strategy), 100 * res.chosen_ndcg,
           100 * res.chosen_val[CS_STRAT_SOFT].ndcg);
    printf("mix: m %d, tau %g, size %g, prior %g; blend: beta %g, d0 %g\n",
           res.chosen_sp.mix_m, (double)res.chosen_sp.mix_tau,
           (double)res.chosen_sp.mix_size, (double)res.chosen_sp.mix_prior,
           (double)res.chosen_sp.blend_beta, (double)res.chosen_sp.blend_d0);
    printf("%s written in %.1fs; next: coldstart train %s --from-tune %s --out "
           "MODEL\n", path, res.sec_total, argv[optind], out_dir);
    if (fflush(stdout) != 0)
      rc = cs_err_set(&err, CS_EIO, "writing to stdout failed");
  }
  cs_tune_result_free(&res);
  return rc ? cs_cli_report(cli, &err) : 0;
}

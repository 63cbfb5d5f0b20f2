/* cmd_train.c: `coldstart train DATASET --out MODEL`: regressor, k-means
 * over training targets, input clusters and segment rankings, saved as one
 * model file; --timings prints per-stage seconds as JSON (last stderr line). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/dist.h"
#include "coldstart/model.h"
#include "coldstart/train.h"
#include "coldstart/tune.h"

enum {
  O_OUT = 2000, O_CLUSTERS, O_INPUT_CLUSTERS, O_EPOCHS, O_LR, O_BATCH,
  O_REFERENCE, O_SEED, O_TIMINGS, O_KMEANS_ITER, O_PATIENCE, O_FROM_TUNE
};

const cs_cli_flag_t cs_cmd_train_flags[] = {
    {"out", "MODEL", O_OUT, "model file to write (required; atomically)"},
    {"clusters", "K", O_CLUSTERS,
     "k-means segments over the training targets (default 1000; at most the "
     "number of training users with a target)"},
    {"input-clusters", "K", O_INPUT_CLUSTERS,
     "k-means clusters of the raw input features, for input-clusters "
     "(default 100)"},
    {"kmeans-iter", "N", O_KMEANS_ITER, "Lloyd iterations of both (default 20)"},
    {"epochs", "N", O_EPOCHS,
     "regressor epochs at most (default 8; 130 with --reference-schedule)"},
    {"lr", "X", O_LR, "Adam learning rate (default 1e-3, cosine-annealed to "
     "1e-5; 1e-5 constant with --reference-schedule)"},
    {"batch", "N", O_BATCH, "minibatch size (default 256; 512 reference)"},
    {"patience", "N", O_PATIENCE,
     "stop after N epochs without a better validation MSE and keep the best "
     "weights; 0 = never (default 2; 0 reference)"},
    {"reference-schedule", NULL, O_REFERENCE,
     "the paper's schedule: 130 epochs, lr 1e-5, batch 512, no early stop"},
    {"seed", "N", O_SEED, "initialization, shuffling and k-means seeding "
     "(default 1); same seed and threads, same model bytes"},
    {"from-tune", "DIR", O_FROM_TUNE,
     "apply DIR/tune.json (coldstart tune): its chosen number of segments, "
     "its training settings, and its chosen strategy and parameters stored "
     "in the model as the defaults of evaluate, recommend and serve; flags "
     "given here override"},
    {"timings", NULL, O_TIMINGS,
     "end stderr with one JSON line: per-stage seconds, val_mse, "
     "kmeans_inertia, epochs"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_train(int argc, char **argv, cs_cli_t *cli) {
  cs_train_params_t mp;
  cs_train_params_default(&mp);
  const char *out_path = NULL, *from_tune = NULL;
  long long epochs = -1, batch = -1, seed = -1, patience = -1, v;
  int clusters = -1, input_clusters = -1, kmeans_iter = -1;
  double lr = -1.0;
  int reference = 0, timings = 0, opt, status;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_OUT: out_path = optarg; break;
    case O_CLUSTERS:
      if (cs_cli_parse_int(cli, "--clusters", optarg, 1, 1000000, &v) < 0)
        return 2;
      clusters = (int)v;
      break;
    case O_INPUT_CLUSTERS:
      if (cs_cli_parse_int(cli, "--input-clusters", optarg, 1, 1000000, &v) < 0)
        return 2;
      input_clusters = (int)v;
      break;
    case O_EPOCHS:
      if (cs_cli_parse_int(cli, "--epochs", optarg, 1, 100000, &epochs) < 0)
        return 2;
      break;
    case O_LR:
      if (cs_cli_parse_double(cli, "--lr", optarg, 1e-12, 10.0, &lr) < 0)
        return 2;
      break;
    case O_BATCH:
      if (cs_cli_parse_int(cli, "--batch", optarg, 1, 1 << 20, &batch) < 0)
        return 2;
      break;
    case O_REFERENCE: reference = 1; break;
    case O_SEED:
      if (cs_cli_parse_int(cli, "--seed", optarg, 0, INT64_MAX, &seed) < 0)
        return 2;
      break;
    case O_TIMINGS: timings = 1; break;
    case O_FROM_TUNE: from_tune = optarg; break;
    case O_KMEANS_ITER:
      if (cs_cli_parse_int(cli, "--kmeans-iter", optarg, 1, 100000, &v) < 0)
        return 2;
      kmeans_iter = (int)v;
      break;
    case O_PATIENCE:
      if (cs_cli_parse_int(cli, "--patience", optarg, 0, 100000, &patience) < 0)
        return 2;
      break;
    case CS_CLI_STOP: return status;
    }
  }
  if (optind != argc - 1)
    return cs_cli_usage_error(cli, "expected one DATASET file");
  if (!out_path) return cs_cli_usage_error(cli, "--out MODEL is required");
  if (cs_same_file(argv[optind], out_path))
    return cs_cli_usage_error(cli, "--out %s is the input dataset: refusing "
                              "to overwrite it", out_path);
  cs_err_t err;
  cs_err_clear(&err);
  /* tune.json first, then what was given here */
  if (from_tune) {
    char path[4096], recorded[4096];
    snprintf(path, sizeof path, "%s/tune.json", from_tune);
    if (cs_tune_read(path, &mp, recorded, sizeof recorded, &err))
      return cs_cli_report(cli, &err);
    if (!cs_same_file(recorded, argv[optind]))
      cs_log(&cli->ctx, CS_LOG_WARN, "train: %s was tuned on %s, not on %s",
             path, recorded, argv[optind]);
    cs_log(&cli->ctx, CS_LOG_INFO, "train: from %s: k = %d, default strategy "
           "%s", path, mp.k, mp.tuning.strategy);
  }
  if (reference) cs_regressor_params_reference(&mp.reg);
  if (epochs > 0) mp.reg.epochs = (int)epochs;
  if (batch > 0) mp.reg.batch = (int)batch;
  if (lr > 0) mp.reg.lr = (float)lr;
  if (patience >= 0) mp.reg.patience = (int)patience;
  if (seed >= 0) mp.seed = (uint64_t)seed;
  mp.reg.seed = mp.seed; /* one --seed for everything (default 1) */
  if (clusters > 0) mp.k = clusters;
  if (input_clusters > 0) mp.k_input = input_clusters;
  if (kmeans_iter > 0) mp.kmeans_iter = kmeans_iter;
  if (mp.tuning.present) mp.tuning.k = mp.k;

  cs_dataset_t ds;
  cs_model_t model;
  memset(&model, 0, sizeof model);
  cs_train_report_t rep;
  double t_start = cs_now();
  cs_log(&cli->ctx, CS_LOG_INFO, "train: loading %s", argv[optind]);
  if (cs_dataset_load(&ds, argv[optind], &err)) return cs_cli_report(cli, &err);
  double sec_load = cs_now() - t_start;
  int rc = cs_train(&cli->ctx, &ds, &mp, &model, &rep, &err);
  double sec_save = 0.0;
  if (rc == 0) {
    double t0 = cs_now();
    cs_log(&cli->ctx, CS_LOG_INFO, "train: writing %s", out_path);
    /* under mpirun every rank has the model; rank 0 writes it */
    if (cs_dist_is_root(cli->ctx.dist)) {
      cs_dist_guard_output(out_path);
      rc = cs_model_save(&model, out_path, &err);
      cs_dist_guard_output(NULL);
    }
    rc = cs_dist_agree(cs_dist_of(&cli->ctx), rc, &err);
    sec_save = cs_now() - t0;
  }
  cs_model_free(&model);
  cs_dataset_free(&ds);
  if (rc) return cs_cli_report(cli, &err);
  double total = cs_now() - t_start;
  cs_log(&cli->ctx, CS_LOG_INFO, "train: model written to %s (%.1fs)",
         out_path, total);
  if (timings && cs_dist_is_root(cli->ctx.dist)) {
    char val[64];
    if (isfinite(rep.val_mse))
      snprintf(val, sizeof val, "%.9g", rep.val_mse);
    else
      snprintf(val, sizeof val, "null");
    fprintf(stderr,
            "{\"seconds\": {\"load\": %.6f, \"regressor\": %.6f, "
            "\"kmeans\": %.6f, \"input_kmeans\": %.6f, \"segments\": %.6f, "
            "\"save\": %.6f, \"total\": %.6f}, \"val_mse\": %s, "
            "\"kmeans_inertia\": %.9g, \"epochs\": %d}\n",
            sec_load, rep.sec_regressor, rep.sec_kmeans, rep.sec_input_kmeans,
            rep.sec_segments, sec_save, total, val, rep.kmeans_inertia,
            rep.epochs_run);
  }
  return 0;
}

/* cmd_export_onnx.c: `coldstart export-onnx MODEL --out DIR`: the regressor
 * as regressor.onnx plus the segment tables and a README, so ONNX Runtime,
 * Triton or any other stack can serve the method (docs/onnx.md). With
 * --reference DATASET, also the split's feature rows and coldstart's own
 * embeddings of them, to check a port against. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/evaluate.h"
#include "coldstart/model.h"
#include "coldstart/onnx.h"

enum { O_OUT = 2000, O_FORCE, O_REFERENCE, O_SPLIT, O_UNFOLDED };

const cs_cli_flag_t cs_cmd_export_onnx_flags[] = {
    {"out", "DIR", O_OUT, "output folder (required); it must be new or empty. "
     "Written: regressor.onnx (input 'features' float32 [N, F], output "
     "'embedding' float32 [N, d]), centroids.npy, the segment rankings, "
     "input clusters, popularity, songs_id.npy, songs_embedding.npy, "
     "README.md (how to reproduce semi and soft) and export.json (written "
     "last); see docs/onnx.md"},
    {"force", NULL, O_FORCE, "write into a non-empty DIR: replaces this "
     "command's files (and drops an earlier reference/), leaves others"},
    {"reference", "DATASET", O_REFERENCE,
     "also write reference/{user_id,features,embedding}.npy: a split's raw "
     "feature rows and coldstart's embeddings of them, to check a port "
     "against (the dataset must belong with the model)"},
    {"split", "NAME", O_SPLIT,
     "the reference split: train, validation or test (default test)"},
    {"unfolded", NULL, O_UNFOLDED,
     "keep standardization and BatchNorm as ops (Sub, Div, "
     "BatchNormalization) instead of folding them into the Gemms"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_export_onnx(int argc, char **argv, cs_cli_t *cli) {
  cs_onnx_export_params_t ep;
  cs_onnx_export_params_default(&ep);
  const char *out = NULL, *reference = NULL;
  int split = CS_SPLIT_TEST, opt, status;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_OUT:
      out = optarg;
      break;
    case O_FORCE:
      ep.force = 1;
      break;
    case O_REFERENCE:
      reference = optarg;
      break;
    case O_SPLIT:
      if (cs_cli_parse_split(cli, "--split", optarg, &split)) return 2;
      break;
    case O_UNFOLDED:
      ep.onnx.fold = 0;
      break;
    case CS_CLI_STOP: return status;
    }
  }
  if (optind != argc - 1) return cs_cli_usage_error(cli, "expected one MODEL");
  if (!out) return cs_cli_usage_error(cli, "--out DIR is required");
  cs_err_t err;
  cs_err_clear(&err);
  cs_model_t model;
  cs_dataset_t ds;
  int have_ds = 0;
  if (reference) {
    status = cs_cli_load_model_dataset(cli, argv[optind], reference, &model,
                                       &ds);
    if (status) return status;
    have_ds = 1;
    /* a port is checked on any split: training users included */
    if (cs_eval_check_dataset(&cli->ctx, &model, &ds, split, 1, &err)) {
      cs_dataset_free(&ds);
      cs_model_free(&model);
      return cs_cli_report(cli, &err);
    }
    const cs_split_t *s = &ds.splits[split];
    ep.ref_features = s->features;
    ep.ref_user_ids = s->user_ids;
    ep.n_ref = s->n_users;
    ep.ref_split = cs_split_name(split);
  } else if (cs_model_load(&model, argv[optind], &err)) {
    return cs_cli_report(cli, &err);
  }
  double t0 = cs_now();
  int rc = cs_onnx_export(&model, out, &ep, &err);
  if (!rc)
    cs_log(&cli->ctx, CS_LOG_INFO, "export-onnx: wrote %s (%s, %lld reference "
           "users) in %.2fs", out, ep.onnx.fold ? "folded" : "unfolded",
           (long long)ep.n_ref, cs_now() - t0);
  if (have_ds) cs_dataset_free(&ds);
  cs_model_free(&model);
  return rc ? cs_cli_report(cli, &err) : 0;
}

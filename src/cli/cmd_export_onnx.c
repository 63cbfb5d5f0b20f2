/* cmd_export_onnx.c: `coldstart export-onnx MODEL --out DIR`: the regressor
 * as regressor.onnx plus the segment tables and a README, so ONNX Runtime,
 * Triton or any other stack can serve the method (docs/onnx.md). With
 * --reference DATASET, also the split's feature rows and coldstart's own
 * embeddings of them, to check a port against. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/model.h"
#include "coldstart/onnx.h"

static void print_help(const cs_cli_t *cli) {
  cs_cli_help(cli);
  printf("\noptions:\n"
         "  --out DIR            output folder (required); it must be new or "
         "empty\n"
         "  --force              write into a non-empty DIR: replaces this "
         "command's\n"
         "                       files (and drops an earlier reference/), "
         "leaves others\n"
         "  --reference DATASET  also write reference/{user_id,features,"
         "embedding}.npy:\n"
         "                       a split's raw feature rows and coldstart's "
         "embeddings\n"
         "  --split S            the reference split: train, validation, test "
         "(default test)\n"
         "  --unfolded           keep standardization and BatchNorm as ops "
         "(Sub, Div,\n"
         "                       BatchNormalization) instead of folding them "
         "into Gemm\n"
         "\nwrites regressor.onnx (opset %d: input 'features' float32 [N, F], "
         "output\n'embedding' float32 [N, d]), centroids.npy, the segment "
         "rankings, input\nclusters, popularity, songs_id.npy, "
         "songs_embedding.npy, README.md (how to\nreproduce semi and soft) "
         "and export.json (written last); see docs/onnx.md\n",
         CS_ONNX_OPSET);
}

int cs_cmd_export_onnx(int argc, char **argv, cs_cli_t *cli) {
  enum { O_OUT = 2000, O_FORCE, O_REFERENCE, O_SPLIT, O_UNFOLDED };
  static const struct option opts[] = {
      {"out", required_argument, NULL, O_OUT},
      {"force", no_argument, NULL, O_FORCE},
      {"reference", required_argument, NULL, O_REFERENCE},
      {"split", required_argument, NULL, O_SPLIT},
      {"unfolded", no_argument, NULL, O_UNFOLDED},
      CS_CLI_COMMON_OPTIONS,
      {NULL, 0, NULL, 0}};
  cs_onnx_export_params_t ep;
  cs_onnx_export_params_default(&ep);
  const char *out = NULL, *reference = NULL;
  int split = CS_SPLIT_TEST, opt;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
      split = cs_split_parse(optarg);
      if (split < 0)
        return cs_cli_usage_error(cli, "--split: unknown split '%s' "
                                  "(train, validation, test)", optarg);
      break;
    case O_UNFOLDED:
      ep.onnx.fold = 0;
      break;
    case CS_CLI_OPT_HELP:
      print_help(cli);
      return 0;
    default: {
      int r = cs_cli_default_option(cli, opt, optarg);
      if (r != 1) return r < 0 ? 2 : 0;
    }
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
    int status = cs_cli_load_model_dataset(cli, argv[optind], reference,
                                           &model, &ds);
    if (status) return status;
    have_ds = 1;
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

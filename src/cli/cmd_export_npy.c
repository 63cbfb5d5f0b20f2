/* cmd_export_npy.c: `coldstart export-npy DATASET --out DIR`: the dataset as
 * NumPy .npy files and schema.json, exactly the names and dtypes of
 * docs/formats.md, so Python loads it with np.load. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/io.h"
#include "coldstart/npy.h"

enum { OPT_OUT = 3000 };

static int write_one(const char *dir, const char *name, const char *descr,
                     int64_t rows, int64_t cols, const void *data,
                     cs_err_t *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int64_t shape[2] = {rows, cols};
  return cs_npy_write(path, descr, shape, cols > 0 ? 2 : 1, data, err);
}

static int write_schema(const char *dir, const cs_dataset_t *ds,
                        cs_err_t *err) {
  json_t *root = json_object(), *blocks = json_array(), *counts = json_array();
  if (!root || !blocks || !counts) {
    json_decref(root);
    json_decref(blocks);
    json_decref(counts);
    return cs_err_set(err, CS_ENOMEM, "schema.json");
  }
  for (int b = 0; b < CS_N_BLOCKS; b++)
    json_array_append_new(blocks, json_string(cs_feature_blocks[b]));
  for (int c = 0; c < CS_N_COUNTS; c++)
    json_array_append_new(counts, json_string(cs_feature_counts[c]));
  json_object_set_new(root, "space", json_string(ds->space));
  json_object_set_new(root, "dim", json_integer(ds->dim));
  json_object_set_new(root, "n_features", json_integer(ds->n_features));
  json_object_set_new(root, "blocks", blocks);
  json_object_set_new(root, "counts", counts);
  json_object_set_new(root, "age_column", json_integer(CS_N_BLOCKS * ds->dim));
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!text) return cs_err_set(err, CS_ENOMEM, "schema.json");
  char path[4096];
  snprintf(path, sizeof path, "%s/schema.json", dir);
  size_t len = strlen(text);
  text[len] = '\0';
  char *with_nl = malloc(len + 2);
  int rc;
  if (!with_nl) {
    rc = cs_err_set(err, CS_ENOMEM, "schema.json");
  } else {
    memcpy(with_nl, text, len);
    with_nl[len] = '\n';
    rc = cs_write_file_atomic(path, with_nl, len + 1, err);
  }
  free(with_nl);
  free(text);
  return rc;
}

static int export_all(const cs_dataset_t *ds, const char *dir, cs_err_t *err) {
  int rc = cs_mkdirs(dir, err);
  if (!rc) rc = write_one(dir, "songs_embedding.npy", "<f4", ds->n_songs,
                          ds->dim, ds->song_emb, err);
  if (!rc) rc = write_one(dir, "songs_id.npy", "<i8", ds->n_songs, 0,
                          ds->song_ids, err);
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    const cs_split_t *sp = &ds->splits[s];
    const char *name = cs_split_name(s);
    char file[128];
    snprintf(file, sizeof file, "%s_user_id.npy", name);
    rc = write_one(dir, file, "<i8", sp->n_users, 0, sp->user_ids, err);
    snprintf(file, sizeof file, "%s_features.npy", name);
    if (!rc) rc = write_one(dir, file, "<f4", sp->n_users, ds->n_features,
                            sp->features, err);
    snprintf(file, sizeof file, "%s_truth_indptr.npy", name);
    if (!rc) rc = write_one(dir, file, "<i8", sp->n_users + 1, 0,
                            sp->truth_indptr, err);
    snprintf(file, sizeof file, "%s_truth_indices.npy", name);
    if (!rc) rc = write_one(dir, file, "<i8", sp->truth_indptr[sp->n_users], 0,
                            sp->truth_indices, err);
  }
  const cs_split_t *tr = &ds->splits[CS_SPLIT_TRAIN];
  if (!rc) {
    if (!tr->targets)
      return cs_err_set(err, CS_EFORMAT, "dataset has no training targets");
    rc = write_one(dir, "train_target.npy", "<f4", tr->n_users, ds->dim,
                   tr->targets, err);
  }
  if (!rc) rc = write_schema(dir, ds, err);
  return rc;
}

const cs_cli_flag_t cs_cmd_export_npy_flags[] = {
    {"out", "DIR", OPT_OUT, "folder to write the .npy files and schema.json "
     "into (required; created if missing; each file written atomically)"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_export_npy(int argc, char **argv, cs_cli_t *cli) {
  const char *out = NULL;
  int opt, status;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    if (opt == CS_CLI_STOP) return status;
    if (opt == OPT_OUT) out = optarg;
  }
  if (argc - optind != 1) return cs_cli_usage_error(cli, "expected one DATASET");
  if (!out) return cs_cli_usage_error(cli, "--out DIR is required");
  cs_err_t err;
  cs_err_clear(&err);
  cs_dataset_t ds;
  int rc = cs_dataset_load(&ds, argv[optind], &err);
  if (rc) return cs_cli_report(cli, &err);
  double t0 = cs_now();
  rc = export_all(&ds, out, &err);
  if (!rc)
    cs_log(&cli->ctx, CS_LOG_INFO, "export-npy: wrote %s in %.2fs", out,
           cs_now() - t0);
  cs_dataset_free(&ds);
  return rc ? cs_cli_report(cli, &err) : 0;
}

/* cmd_import_deezer.c: `coldstart import-deezer DIR --out FILE [--space
 * auto|svd|mf]`: Deezer's public release folder -> prepared dataset file
 * (what is read, writer by writer: docs/parquet.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/importer.h"

enum { O_SPACE = 2000, O_OUT };

const cs_cli_flag_t cs_cmd_import_deezer_flags[] = {
    {"out", "FILE", O_OUT, "the dataset file to write (required; written to "
     "a temporary name, then renamed)"},
    {"space", "SPACE", O_SPACE,
     "auto (default), svd or mf. auto: the space named in the feature files' "
     "names (user_features_<split>_<space>.parquet, Deezer's README) or, "
     "with no space in the names (user_features_<split>.parquet, the Zenodo "
     "page), the one whose song embeddings (features_svd, features_mf) are "
     "as wide as the feature blocks (the release: 128 svd, 256 mf). A "
     "--space that disagrees with the files' width is an error naming "
     "both. Lists may be Parquet lists or JSON text (fastparquet); rows are "
     "matched by song_index / user_index, in any order; null features and "
     "counts become 0"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_import_deezer(int argc, char **argv, cs_cli_t *cli) {
  const char *space = "auto", *out = NULL;
  int opt, status;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case O_SPACE: space = optarg; break;
    case O_OUT: out = optarg; break;
    case CS_CLI_STOP: return status;
    }
  }
  if (optind != argc - 1) return cs_cli_usage_error(cli, "expected one release DIR");
  if (strcmp(space, "auto") && strcmp(space, "svd") && strcmp(space, "mf"))
    return cs_cli_usage_error(cli, "--space must be auto, svd or mf, not '%s'", space);
  if (!out) return cs_cli_usage_error(cli, "--out FILE is required");
  cs_err_t err;
  cs_err_clear(&err);
  cs_dataset_t ds;
  if (cs_import_deezer(argv[optind], space, &ds, &cli->ctx, &err))
    return cs_cli_report(cli, &err);
  int rc = cs_dataset_save(&ds, out, &err);
  if (!rc)
    cs_log(&cli->ctx, CS_LOG_INFO, "wrote %s: %s space, %lld songs, dim %d, %d "
           "features, users train/validation/test %lld/%lld/%lld", out, ds.space,
           (long long)ds.n_songs, ds.dim, ds.n_features,
           (long long)ds.splits[0].n_users, (long long)ds.splits[1].n_users,
           (long long)ds.splits[2].n_users);
  cs_dataset_free(&ds);
  return rc ? cs_cli_report(cli, &err) : 0;
}

/* cmd_import_deezer.c: `coldstart import-deezer DIR --out FILE [--space
 * auto|svd|mf]`: Deezer's public release folder -> prepared dataset file
 * (the flags and their defaults are documented in commands.def). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/importer.h"

int cs_cmd_import_deezer(int argc, char **argv, cs_cli_t *cli) {
  static const struct option opts[] = {
      {"space", required_argument, NULL, 's'},
      {"out", required_argument, NULL, 'o'},
      CS_CLI_COMMON_OPTIONS,
      {NULL, 0, NULL, 0}};
  const char *space = "auto", *out = NULL;
  int opt;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 's': space = optarg; break;
    case 'o': out = optarg; break;
    default: {
      int r = cs_cli_default_option(cli, opt, optarg);
      if (r != 1) return r < 0 ? 2 : 0;
    }
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

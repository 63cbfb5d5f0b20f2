/* cmd_inspect.c: `coldstart inspect FILE`: what a container file holds
 * (kind, version, sections and sizes) and, for a dataset, its space, sizes,
 * splits, ground-truth density and featurizer tables. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/container.h"
#include "coldstart/dataset.h"

static void human(char *buf, size_t cap, double bytes) {
  const char *u[] = {"B", "KB", "MB", "GB", "TB"};
  int i = 0;
  while (bytes >= 1000 && i < 4) {
    bytes /= 1000;
    i++;
  }
  snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
}

static void print_dataset(const cs_dataset_t *ds) {
  printf("dataset:\n  space %s, source %s, dim %d, features %d\n", ds->space,
         ds->source, ds->dim, ds->n_features);
  printf("  songs %lld\n", (long long)ds->n_songs);
  for (int s = 0; s < CS_N_SPLITS; s++) {
    const cs_split_t *sp = &ds->splits[s];
    int64_t nnz = sp->truth_indptr[sp->n_users], empty = 0, with_target = 0;
    for (int64_t u = 0; u < sp->n_users; u++) {
      empty += sp->truth_indptr[u + 1] == sp->truth_indptr[u];
      if (sp->has_target) with_target += sp->has_target[u];
    }
    double per_user = sp->n_users ? (double)nnz / (double)sp->n_users : 0;
    printf("  %-10s %8lld users, truth %lld songs (%.1f per user, density "
           "%.3g%%, %lld empty)",
           cs_split_name(s), (long long)sp->n_users, (long long)nnz, per_user,
           100.0 * per_user / (double)ds->n_songs, (long long)empty);
    if (sp->targets)
      printf(", targets %lld/%lld", (long long)with_target,
             (long long)sp->n_users);
    printf("\n");
  }
  if (ds->has_tables) {
    const int64_t *n = ds->tables.n;
    printf("  featurizer: %lld songs, %lld artists, %lld albums, %lld "
           "playlists, %lld age groups, %lld country groups\n",
           (long long)ds->tables.n_songs, (long long)n[CS_TABLE_ARTIST],
           (long long)n[CS_TABLE_ALBUM], (long long)n[CS_TABLE_PLAYLIST],
           (long long)n[CS_TABLE_AGE], (long long)n[CS_TABLE_COUNTRY]);
  } else {
    printf("  featurizer: none (features precomputed, e.g. imported)\n");
  }
}

const cs_cli_flag_t cs_cmd_inspect_flags[] = {{NULL, NULL, 0, NULL}};

int cs_cmd_inspect(int argc, char **argv, cs_cli_t *cli) {
  int opt, status;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1)
    if (opt == CS_CLI_STOP) return status;
  if (argc - optind != 1) return cs_cli_usage_error(cli, "expected one FILE");
  const char *path = argv[optind];
  cs_err_t err;
  cs_err_clear(&err);
  cs_container_t c;
  int rc = cs_container_open(&c, path, NULL, &err);
  if (rc) return cs_cli_report(cli, &err);
  char size[32];
  human(size, sizeof size, (double)c.map.size);
  printf("%s: kind %s, version %u, %u sections, %s\n", path, c.kind,
         c.kind_version, c.n_sections, size);
  printf("  %-36s %14s %12s\n", "section", "bytes", "offset");
  for (uint32_t i = 0; i < c.n_sections; i++)
    printf("  %-36s %14llu %12llu\n", c.sections[i].name,
           (unsigned long long)c.sections[i].size,
           (unsigned long long)c.sections[i].offset);
  int is_dataset = strcmp(c.kind, "dataset") == 0;
  cs_container_close(&c);
  if (!is_dataset) return 0;
  cs_dataset_t ds;
  rc = cs_dataset_load(&ds, path, &err);
  if (rc) return cs_cli_report(cli, &err);
  print_dataset(&ds);
  cs_dataset_free(&ds);
  return 0;
}

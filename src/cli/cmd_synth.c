/* cmd_synth.c: `coldstart synth`: writes a synthetic raw-log folder (the
 * raw-log format of docs/synth.md) at a named scale, optionally with a
 * preset world character on top; every generator knob is a flag (--help). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/synth.h"

enum { OPT_SCALE = 3000, OPT_PRESET, OPT_SEED, OPT_OUT, OPT_FORCE,
       OPT_KNOB = 4000 };

static void print_help(const cs_cli_t *cli) {
  int n, n_presets;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  const cs_synth_preset_t *ps = cs_synth_presets(&n_presets);
  cs_cli_help(cli);
  printf("\noptions:\n"
         "  --scale S        tiny | small | deezer (default tiny): the knob "
         "defaults below\n"
         "  --preset NAME    a world character applied on top of the scale "
         "(knob flags\n"
         "                   still override it; values in docs/synth.md and "
         "world.json)\n"
         "  --seed N         random seed (default 1); same seed, same bytes\n"
         "  --out DIR        output folder (required); must be empty or new\n"
         "  --force          write into a non-empty DIR (replaces the five "
         "files)\n"
         "\npresets:\n");
  for (int i = 0; i < n_presets; i++)
    printf("  %-16s %s\n", ps[i].name, ps[i].help);
  printf("\nknobs (defaults at tiny / small / deezer; docs/synth.md):\n");
  for (int i = 0; i < n; i++) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s %s", ks[i].flag, ks[i].is_int ? "N" : "X");
    printf("  %-24s %s (%g / %g / %g)\n", flag, ks[i].help, ks[i].defaults[0],
           ks[i].defaults[1], ks[i].defaults[2]);
  }
  printf("\nwrites catalog.tsv, playlists.tsv, users.tsv, events.tsv and "
         "world.json\n");
}

int cs_cmd_synth(int argc, char **argv, cs_cli_t *cli) {
  int n_knobs;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n_knobs);
  struct option fixed[] = {{"scale", required_argument, NULL, OPT_SCALE},
                           {"preset", required_argument, NULL, OPT_PRESET},
                           {"seed", required_argument, NULL, OPT_SEED},
                           {"out", required_argument, NULL, OPT_OUT},
                           {"force", no_argument, NULL, OPT_FORCE},
                           CS_CLI_COMMON_OPTIONS};
  int n_fixed = (int)(sizeof fixed / sizeof fixed[0]);
  struct option *opts = calloc((size_t)(n_fixed + n_knobs + 1), sizeof *opts);
  const char **knob_arg = calloc((size_t)n_knobs, sizeof *knob_arg);
  if (!opts || !knob_arg) {
    free(opts);
    free(knob_arg);
    cs_err_t err;
    cs_err_set(&err, CS_ENOMEM, "option table");
    return cs_cli_report(cli, &err);
  }
  memcpy(opts, fixed, sizeof fixed);
  for (int i = 0; i < n_knobs; i++)
    opts[n_fixed + i] = (struct option){ks[i].flag, required_argument, NULL,
                                        OPT_KNOB + i};
  const char *scale = "tiny", *preset = NULL, *out = NULL;
  long long seed = 1;
  int force = 0, status = -1, opt;
  while (status < 0 && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt >= OPT_KNOB && opt < OPT_KNOB + n_knobs) {
      knob_arg[opt - OPT_KNOB] = optarg;
      continue;
    }
    switch (opt) {
    case OPT_SCALE:
      scale = optarg;
      break;
    case OPT_PRESET:
      preset = optarg;
      break;
    case OPT_SEED:
      if (cs_cli_parse_int(cli, "--seed", optarg, 0, INT64_MAX, &seed) < 0)
        status = 2;
      break;
    case OPT_OUT:
      out = optarg;
      break;
    case OPT_FORCE:
      force = 1;
      break;
    case CS_CLI_OPT_HELP:
      print_help(cli);
      status = 0;
      break;
    default: {
      int r = cs_cli_default_option(cli, opt, optarg);
      if (r != 1) status = r < 0 ? 2 : 0;
    }
    }
  }
  cs_synth_params_t p;
  cs_err_t err;
  cs_err_clear(&err);
  if (status < 0 && optind < argc)
    status = cs_cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
  if (status < 0 && !out) status = cs_cli_usage_error(cli, "--out DIR is required");
  if (status < 0 &&
      cs_synth_params_default(&p, scale, (uint64_t)seed, &err) != CS_OK)
    status = cs_cli_usage_error(cli, "%s", err.msg);
  if (status < 0 && preset && cs_synth_preset_apply(&p, preset, &err) != CS_OK)
    status = cs_cli_usage_error(cli, "--preset: %s", err.msg);
  for (int i = 0; i < n_knobs && status < 0; i++) {
    if (!knob_arg[i]) continue;
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", ks[i].flag);
    if (ks[i].is_int) {
      long long v;
      if (cs_cli_parse_int(cli, flag, knob_arg[i], (long long)ks[i].lo,
                           (long long)ks[i].hi, &v) < 0)
        status = 2;
      else
        cs_synth_knob_set(&p, &ks[i], (double)v);
    } else {
      double v;
      if (cs_cli_parse_double(cli, flag, knob_arg[i], ks[i].lo, ks[i].hi,
                              &v) < 0)
        status = 2;
      else
        cs_synth_knob_set(&p, &ks[i], v);
    }
  }
  free(opts);
  free(knob_arg);
  if (status >= 0) return status;
  cs_synth_stats_t st;
  if (cs_synth_generate(&p, out, force, &cli->ctx, &st, &err) != CS_OK)
    return cs_cli_report(cli, &err);
  printf("%s: %lld songs, %lld artists, %lld albums, %lld playlists; "
         "%lld warm + %lld cold users (cohort days %lld-%lld); %lld events; "
         "%.1fs\n",
         out, (long long)st.n_songs, (long long)st.n_artists,
         (long long)st.n_albums, (long long)st.n_playlists,
         (long long)st.n_warm_users, (long long)st.n_cold_users,
         (long long)st.cohort_first_day, (long long)st.cohort_last_day,
         (long long)st.n_events, st.seconds);
  return 0;
}

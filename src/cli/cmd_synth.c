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

/* The fixed flags; at run time the knob table's flags are appended
 * (knob_flags), so help and parsing cover every knob. */
const cs_cli_flag_t cs_cmd_synth_flags[] = {
    {"out", "DIR", OPT_OUT, "output folder (required); must be empty or new"},
    {"scale", "S", OPT_SCALE,
     "tiny, small or deezer (default tiny): the knob defaults below"},
    {"preset", "NAME", OPT_PRESET,
     "a world character applied on top of the scale, one of the presets "
     "below (knob flags still override it; docs/synth.md)"},
    {"seed", "N", OPT_SEED, "random seed (default 1); same seed, same bytes"},
    {"force", NULL, OPT_FORCE,
     "write into a non-empty DIR (replaces catalog.tsv, playlists.tsv, "
     "users.tsv, events.tsv and world.json)"},
    {NULL, NULL, 0, NULL}};

/* cs_cmd_synth_flags + one flag per knob, with its defaults at the three
 * scales in its help, and the preset list for the help's epilog; the
 * strings live in `text`. */
typedef struct {
  cs_cli_flag_t *flags;
  const char *epilog;
  char *text;
} knob_flags_t;

static int knob_flags_make(knob_flags_t *kf) {
  int n, n_presets;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  const cs_synth_preset_t *ps = cs_synth_presets(&n_presets);
  int n_fixed = (int)(sizeof cs_cmd_synth_flags / sizeof *cs_cmd_synth_flags) - 1;
  /* room for every string below: each line's fixed text is under 96 bytes */
  size_t cap = 256;
  for (int i = 0; i < n_presets; i++) cap += strlen(ps[i].name) + strlen(ps[i].help) + 96;
  for (int i = 0; i < n; i++) cap += strlen(ks[i].help) + 96;
  kf->flags = calloc((size_t)(n_fixed + n + 1), sizeof *kf->flags);
  kf->text = malloc(cap);
  if (!kf->flags || !kf->text) return -1;
  memcpy(kf->flags, cs_cmd_synth_flags, (size_t)n_fixed * sizeof *kf->flags);
  size_t pos = 0;
  char *t = kf->text;
  kf->epilog = t;
  pos += (size_t)snprintf(t, cap, "presets:\n");
  for (int i = 0; i < n_presets; i++)
    pos += (size_t)snprintf(t + pos, cap - pos, "  %-16s %s\n", ps[i].name, ps[i].help);
  pos += (size_t)snprintf(t + pos, cap - pos, "\nwrites catalog.tsv, playlists.tsv, "
                          "users.tsv, events.tsv and world.json\n") + 1;
  for (int i = 0; i < n; i++) {
    kf->flags[n_fixed + i] = (cs_cli_flag_t){ks[i].flag, ks[i].is_int ? "N" : "X",
                                             OPT_KNOB + i, t + pos};
    pos += (size_t)snprintf(t + pos, cap - pos, "%s (tiny / small / deezer: %g / %g / %g)",
                            ks[i].help, ks[i].defaults[0], ks[i].defaults[1],
                            ks[i].defaults[2]) + 1;
  }
  return 0;
}

int cs_cmd_synth(int argc, char **argv, cs_cli_t *cli) {
  int n_knobs;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n_knobs);
  knob_flags_t kf = {NULL, NULL, NULL};
  const char **knob_arg = calloc((size_t)n_knobs, sizeof *knob_arg);
  if (knob_flags_make(&kf) || !knob_arg) {
    free(kf.flags);
    free(kf.text);
    free(knob_arg);
    cs_err_t err;
    cs_err_set(&err, CS_ENOMEM, "option table");
    return cs_cli_report(cli, &err);
  }
  cli->flags = kf.flags;
  cli->epilog = kf.epilog;
  const char *scale = "tiny", *preset = NULL, *out = NULL;
  long long seed = 1;
  int force = 0, status = -1, opt;
  while (status < 0 && (opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    if (opt == CS_CLI_STOP) break;
    if (opt >= OPT_KNOB && opt < OPT_KNOB + n_knobs) {
      knob_arg[opt - OPT_KNOB] = optarg;
      continue;
    }
    switch (opt) {
    case OPT_SCALE: scale = optarg; break;
    case OPT_PRESET: preset = optarg; break;
    case OPT_SEED:
      if (cs_cli_parse_int(cli, "--seed", optarg, 0, INT64_MAX, &seed) < 0)
        status = 2;
      break;
    case OPT_OUT: out = optarg; break;
    case OPT_FORCE: force = 1; break;
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
  free(knob_arg);
  free(kf.flags);
  free(kf.text);
  cli->flags = cs_cmd_synth_flags;
  cli->epilog = NULL;
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

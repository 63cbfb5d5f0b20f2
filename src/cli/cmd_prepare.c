/* cmd_prepare.c: `coldstart prepare`: raw-log folder -> prepared dataset
 * file (cohort split, CF embeddings, targets, truth, featurizer, features),
 * with per-stage timings and a summary of what was skipped or unknown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/dist.h"
#include "coldstart/logs.h"
#include "coldstart/prepare.h"

enum {
  OPT_LOGS = 3000, OPT_SPACE, OPT_DIM, OPT_SEED, OPT_COHORT, OPT_SPLIT, OPT_OUT,
  OPT_WINDOW, OPT_ALS_ITERS, OPT_ALS_ALPHA, OPT_ALS_LAMBDA, OPT_POWER_ITER
};

const cs_cli_flag_t cs_cmd_prepare_flags[] = {
    {"logs", "DIR", OPT_LOGS, "raw-log folder: catalog.tsv, users.tsv, "
     "events.tsv and optionally playlists.tsv (required; docs/data.md)"},
    {"out", "FILE", OPT_OUT, "dataset file to write (required; atomically, "
     "never over one of the inputs)"},
    {"space", "svd|mf", OPT_SPACE,
     "song embeddings: TT-SVD of co-occurrence (svd) or UT-ALS matrix "
     "factorization (mf) (default svd)"},
    {"dim", "D", OPT_DIM, "embedding size (default 128 for svd, 256 for mf)"},
    {"seed", "N", OPT_SEED,
     "split shuffle and embedding seeds (default 1); same seed, same bytes"},
    {"cohort-from", "DAY", OPT_COHORT,
     "cold cohort = users registered on or after DAY; everyone before is "
     "warm history (default: the 7 latest registration days present)"},
    {"split", "A/B/C", OPT_SPLIT,
     "train/validation/test percentages of the cohort (default 70/20/10)"},
    {"window", "N", OPT_WINDOW,
     "ground truth = songs streamed on days 1..N after registration "
     "(default 30)"},
    {"als-iters", "N", OPT_ALS_ITERS, "UT-ALS iterations (default 15)"},
    {"als-alpha", "X", OPT_ALS_ALPHA,
     "UT-ALS confidence 1 + alpha * plays (default 10)"},
    {"als-lambda", "X", OPT_ALS_LAMBDA, "UT-ALS L2 regularization (default 0.1)"},
    {"power-iter", "N", OPT_POWER_ITER,
     "TT-SVD power iterations of the randomized SVD (default 2)"},
    {NULL, NULL, 0, NULL}};

static int parse_split(const char *s, int out[3]) {
  int a, b, c;
  char tail;
  if (sscanf(s, "%d/%d/%d%c", &a, &b, &c, &tail) != 3) return -1;
  if (a < 0 || b < 0 || c < 0 || a + b + c != 100) return -1;
  out[0] = a;
  out[1] = b;
  out[2] = c;
  return 0;
}

static void print_summary(const cs_logs_t *L, const cs_prepare_report_t *r,
                          const cs_dataset_t *ds, const char *out,
                          double read_s, double save_s) {
  FILE *f = stderr;
  fprintf(f, "prepare: wrote %s (%s, d=%d, F=%d, %lld songs)\n", out,
          ds->space, ds->dim, ds->n_features, (long long)ds->n_songs);
  fprintf(f, "  logs: %lld songs, %lld playlist entries, %lld users, %lld "
          "events\n",
          (long long)L->n_songs, (long long)L->n_playlist_entries,
          (long long)L->n_users, (long long)L->n_events_total);
  fprintf(f, "  unknown ids: %lld events with an unknown user; unknown items: "
          "%lld songs, %lld artists, %lld albums, %lld playlists; %lld "
          "playlist lines with an unknown song\n",
          (long long)L->n_unknown_user_events,
          (long long)L->n_unknown_items[CS_KIND_SONG],
          (long long)L->n_unknown_items[CS_KIND_ARTIST],
          (long long)L->n_unknown_items[CS_KIND_ALBUM],
          (long long)L->n_unknown_items[CS_KIND_PLAYLIST],
          (long long)L->n_playlist_unknown_songs);
  fprintf(f, "  cohort from day %d: %lld users; %lld warm users\n",
          r->cohort_from, (long long)r->n_cohort_users,
          (long long)r->n_warm_users);
  for (int s = 0; s < CS_N_SPLITS; s++)
    fprintf(f, "  %-10s %7lld users, %lld without days-1-30 streams (no "
            "target%s), %lld with empty truth\n",
            cs_split_name(s), (long long)r->n_users[s],
            (long long)r->n_no_target[s],
            s == CS_SPLIT_TRAIN ? ": left out of the model" : "",
            (long long)r->n_no_truth[s]);
  fprintf(f, "  CF training data: %lld users, %lld streams, %lld songs "
          "seen%s\n",
          (long long)r->n_cf_users, (long long)r->n_cf_streams,
          (long long)r->n_cf_songs, strcmp(ds->space, "svd") == 0 ? "" : "");
  if (strcmp(ds->space, "svd") == 0)
    fprintf(f, "  TT-SVD baskets (user-days + playlists): %lld\n",
            (long long)r->n_baskets);
  else if (r->als.iters > 0)
    fprintf(f, "  UT-ALS: %d iterations, loss %.6g -> %.6g, %.2fs\n",
            r->als.iters, r->als.loss[0],
            r->als.loss[(r->als.iters < 256 ? r->als.iters : 256) - 1],
            r->als.seconds);
  fprintf(f, "  events dated before their user's registration day: %lld "
          "(not used)\n", (long long)r->n_before_registration);
  fprintf(f, "  registration-day events: %lld; not used: %lld (action/kind "
          "without a block), %lld (item not in the catalog)\n",
          (long long)r->n_reg_day_events, (long long)r->feat.n_unused_pairs,
          (long long)r->feat.n_missing_items);
  for (int a = 0; a < CS_N_ACTIONS; a++)
    for (int k = 0; k < CS_N_KINDS; k++)
      if (r->feat.unused[a][k])
        fprintf(f, "    %s of a %s: %lld\n", cs_action_name(a), cs_kind_name(k),
                (long long)r->feat.unused[a][k]);
  fprintf(f, "  seconds: read %.2f", read_s);
  for (int s = 0; s < CS_PREP_N_STAGES; s++)
    fprintf(f, ", %s %.2f", cs_prepare_stage_name(s), r->seconds[s]);
  fprintf(f, ", save %.2f\n", save_s);
}

int cs_cmd_prepare(int argc, char **argv, cs_cli_t *cli) {
  cs_prepare_params_t p;
  cs_prepare_params_default(&p);
  const char *logs_dir = NULL, *out = NULL;
  long long v;
  double x;
  int opt, status;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1) {
    switch (opt) {
    case OPT_LOGS: logs_dir = optarg; break;
    case OPT_OUT: out = optarg; break;
    case OPT_SPACE:
      if (strcmp(optarg, "svd") != 0 && strcmp(optarg, "mf") != 0)
        return cs_cli_usage_error(cli, "--space: '%s' (svd or mf)", optarg);
      snprintf(p.space, sizeof p.space, "%s", optarg);
      break;
    case OPT_DIM:
      if (cs_cli_parse_int(cli, "--dim", optarg, 1, 4096, &v) < 0) return 2;
      p.dim = (int)v;
      break;
    case OPT_SEED:
      if (cs_cli_parse_int(cli, "--seed", optarg, 0, INT64_MAX, &v) < 0) return 2;
      p.seed = (uint64_t)v;
      break;
    case OPT_COHORT:
      if (cs_cli_parse_int(cli, "--cohort-from", optarg, INT32_MIN + 1,
                           INT32_MAX, &v) < 0)
        return 2;
      p.cohort_from = (int32_t)v;
      break;
    case OPT_SPLIT:
      if (parse_split(optarg, p.split))
        return cs_cli_usage_error(cli, "--split: '%s' (A/B/C percentages "
                                  "summing to 100)", optarg);
      break;
    case OPT_WINDOW:
      if (cs_cli_parse_int(cli, "--window", optarg, 1, 3650, &v) < 0) return 2;
      p.window = (int)v;
      break;
    case OPT_ALS_ITERS:
      if (cs_cli_parse_int(cli, "--als-iters", optarg, 1, 1000, &v) < 0) return 2;
      p.als.iters = (int)v;
      break;
    case OPT_ALS_ALPHA:
      if (cs_cli_parse_double(cli, "--als-alpha", optarg, 0, 1e6, &x) < 0) return 2;
      p.als.alpha = (float)x;
      break;
    case OPT_ALS_LAMBDA:
      if (cs_cli_parse_double(cli, "--als-lambda", optarg, 0, 1e6, &x) < 0)
        return 2;
      p.als.lambda = (float)x;
      break;
    case OPT_POWER_ITER:
      if (cs_cli_parse_int(cli, "--power-iter", optarg, 0, 100, &v) < 0) return 2;
      p.svd.n_power_iter = (int)v;
      break;
    case CS_CLI_STOP: return status;
    }
  }
  if (optind < argc)
    return cs_cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
  if (!logs_dir) return cs_cli_usage_error(cli, "--logs DIR is required");
  if (!out) return cs_cli_usage_error(cli, "--out FILE is required");

  cs_err_t err;
  cs_err_clear(&err);
  static const char *const inputs[] = {"catalog.tsv", "playlists.tsv",
                                       "users.tsv", "events.tsv"};
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    char in[4096];
    snprintf(in, sizeof in, "%s/%s", logs_dir, inputs[i]);
    if (cs_same_file(in, out))
      return cs_cli_usage_error(cli, "--out %s is the input %s: refusing to "
                                "overwrite it", out, in);
  }
  cs_logs_t logs;
  double t0 = cs_now();
  int rc = cs_logs_read(&logs, logs_dir, &cli->ctx, &err);
  double read_s = cs_now() - t0;
  if (rc) return cs_cli_report(cli, &err);
  if (!cli->ctx.quiet && cs_logs_n_unknown(&logs) > 0)
    cs_log(&cli->ctx, CS_LOG_WARN,
           "%lld references to unknown ids (counted; see the summary)",
           (long long)cs_logs_n_unknown(&logs));
  cs_dataset_t ds;
  cs_prepare_report_t rep;
  rc = cs_prepare_run_consume(&cli->ctx, &logs, &p, &ds, &rep, &err);
  if (!rc && rep.n_before_registration > 0)
    cs_log(&cli->ctx, CS_LOG_WARN, "%lld events are dated before their "
           "user's registration day (counted, not used)",
           (long long)rep.n_before_registration);
  if (rc) {
    cs_logs_free(&logs);
    return cs_cli_report(cli, &err);
  }
  t0 = cs_now();
  /* under mpirun rank 0 holds the whole dataset and writes it */
  if (cs_dist_is_root(cli->ctx.dist)) {
    cs_dist_guard_output(out);
    rc = cs_dataset_save(&ds, out, &err);
    cs_dist_guard_output(NULL);
  }
  rc = cs_dist_agree(cs_dist_of(&cli->ctx), rc, &err);
  double save_s = cs_now() - t0;
  if (!rc && !cli->ctx.quiet)
    print_summary(&logs, &rep, &ds, out, read_s, save_s);
  cs_dataset_free(&ds);
  cs_logs_free(&logs);
  return rc ? cs_cli_report(cli, &err) : 0;
}

/* main.c: the `coldstart` program: dispatches subcommands from the one
 * command table in commands.def. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coldstart/dataset.h"
#include "coldstart/dist.h"
#include "coldstart/evaluate.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/strategy.h"

typedef struct {
  const char *name, *usage, *help;
  int (*fn)(int, char **, cs_cli_t *);
  const cs_cli_flag_t *flags;
  int strategy;
} command_t;

#define CS__CLI_FLAGS_1(ident) cs_cmd_##ident##_flags
#define CS__CLI_FLAGS_0(ident) NULL
static const command_t commands[] = {
#define CS_COMMAND(ident, name, usage, help, flags, strategy) \
  {name, usage, help, cs_cmd_##ident, CS__CLI_FLAGS_##flags(ident), strategy},
#include "cli/commands.def"
#undef CS_COMMAND
};

/* The flags every command takes, and those of the recommending commands. */
static const cs_cli_flag_t common_flags[] = {
    {"quiet", NULL, CS_CLI_OPT_QUIET, "no progress lines, no info logs"},
    {"threads", "N", CS_CLI_OPT_THREADS,
     "worker threads (default: every core of the machine)"},
    {"help", NULL, CS_CLI_OPT_HELP, "print this help"},
    {NULL, NULL, 0, NULL}};
static const cs_cli_flag_t strategy_flags[] = {
    {"k", "N", CS_CLI_OPT_K, "songs per list, K (default 50)"},
    {"soft-m", "M", CS_CLI_OPT_SOFT_M,
     "soft: segments a user is spread over (default 5, at most 32)"},
    {"soft-margin", "N", CS_CLI_OPT_SOFT_MARGIN,
     "soft: slots beyond K in the allocation (default 4)"},
    {"mix-m", "M", CS_CLI_OPT_MIX_M,
     "mix, blend: nearest segments a user is spread over (default 32, at "
     "most 32; a tuned model's value when it has one)"},
    {"mix-tau", "X", CS_CLI_OPT_MIX_TAU,
     "mix, blend: softmax temperature on squared centroid distances, "
     "0.0001..100 (default 0.1 or the tuned value)"},
    {"mix-size", "X", CS_CLI_OPT_MIX_SIZE,
     "mix, blend: exponent of the segment size in the weights, 0..4 "
     "(default 1 or the tuned value)"},
    {"mix-prior", "X", CS_CLI_OPT_MIX_PRIOR,
     "mix, blend: weight of global popularity in the segment score, 0..1 "
     "(default 0.05 or the tuned value)"},
    {"blend-beta", "X", CS_CLI_OPT_BLEND_BETA,
     "blend: weight of the predicted embedding's similarity, 0..1000 "
     "(default 1 or the tuned value)"},
    {"blend-d0", "X", CS_CLI_OPT_BLEND_D0,
     "blend: weight of the registration-day streams vector's similarity, "
     "0..1000 (default 0.3 or the tuned value)"},
    {NULL, NULL, 0, NULL}};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static const command_t *find_command(const char *name) {
  for (int i = 0; i < n_commands; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static void print_overview(FILE *out) {
  fprintf(out,
          "coldstart %s: semi-personalized cold-start music recommendation\n\n"
          "usage: coldstart <command> [options]   (coldstart help <command>)\n\n"
          "commands:\n",
          CS_VERSION);
  for (int i = 0; i < n_commands; i++)
    fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].help);
  fprintf(out,
          "\ncommon options: --quiet (no progress), --threads N, --help\n");
}

int cs_cli_report(const cs_cli_t *cli, const cs_err_t *err) {
  int code = err ? err->code : CS_EINTERNAL;
  if (code == CS_OK) return 0;
  /* a failure every rank agreed on is printed once, by rank 0 */
  if (cs_dist_failure_agreed() && !cs_dist_is_root(cli->ctx.dist))
    return cs_error_exit_status(code);
  if (err && err->msg[0])
    fprintf(stderr, "coldstart %s: %s: %s\n", cli->name, cs_strerror(code),
            err->msg);
  else
    fprintf(stderr, "coldstart %s: %s\n", cli->name, cs_strerror(code));
  return cs_error_exit_status(code);
}

int cs_cli_usage_error(const cs_cli_t *cli, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "coldstart %s: ", cli->name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nusage: %s\n(coldstart help %s for details)\n",
          cli->usage, cli->name);
  return cs_error_exit_status(CS_EUSAGE);
}

/* Is `name` in the table? A command's own entry for a common option (serve's
 * --threads, whose default differs) replaces the common one. */
static int has_flag(const cs_cli_flag_t *flags, const char *name) {
  for (const cs_cli_flag_t *f = flags; f && f->name; f++)
    if (strcmp(f->name, name) == 0) return 1;
  return 0;
}

/* "  --name ARG   help", the help wrapped at 78 columns under itself; the
 * entries also in `skip` are left out. */
static void print_flags(const char *title, const cs_cli_flag_t *flags,
                        const cs_cli_flag_t *skip) {
  if (!flags || !flags->name) return;
  printf("\n%s:\n", title);
  for (const cs_cli_flag_t *f = flags; f->name; f++) {
    if (has_flag(skip, f->name)) continue;
    char head[64];
    snprintf(head, sizeof head, "--%s%s%s", f->name, f->arg ? " " : "",
             f->arg ? f->arg : "");
    int col = printf("  %-22s", head);
    if (strlen(head) > 21) { /* no room for a space before the help */
      printf("\n");
      col = printf("  %-22s", "");
    }
    const char *w = f->help;
    while (*w) {
      size_t n = strcspn(w, " ");
      if (col + 1 + (int)n > 78 && col > 24) {
        printf("\n%24s", "");
        col = 24;
      }
      col += printf(" %.*s", (int)n, w);
      w += n;
      while (*w == ' ') w++;
    }
    printf("\n");
  }
}

int cs_cli_help(const cs_cli_t *cli) {
  printf("usage: %s\n\n%s\n", cli->usage, cli->summary ? cli->summary : "");
  if (cli->flags) print_flags("options", cli->flags, NULL);
  if (cli->strategy_flags) print_flags("list options", strategy_flags, cli->flags);
  print_flags("common options", common_flags, cli->flags);
  if (cli->epilog) printf("\n%s", cli->epilog);
  return 0;
}

/* Append the getopt entries of a flag table, but those also in `skip`. */
static int add_opts(struct option *o, int n, const cs_cli_flag_t *flags,
                    const cs_cli_flag_t *skip) {
  for (const cs_cli_flag_t *f = flags; f && f->name; f++)
    if (!has_flag(skip, f->name))
      o[n++] = (struct option){f->name, f->arg ? required_argument : no_argument,
                             NULL, f->id};
  return n;
}

static int count_flags(const cs_cli_flag_t *flags) {
  int n = 0;
  while (flags && flags[n].name) n++;
  return n;
}

int cs_cli_next(cs_cli_t *cli, int argc, char **argv, int *status) {
  if (!cli->opts) {
    int n = count_flags(cli->flags) + count_flags(strategy_flags) +
            count_flags(common_flags);
    cli->opts = calloc((size_t)n + 1, sizeof *cli->opts);
    if (!cli->opts) {
      fprintf(stderr, "coldstart %s: out of memory\n", cli->name);
      *status = 1;
      return CS_CLI_STOP;
    }
    int k = add_opts(cli->opts, 0, cli->flags, NULL);
    if (cli->strategy_flags) k = add_opts(cli->opts, k, strategy_flags, cli->flags);
    add_opts(cli->opts, k, common_flags, cli->flags);
  }
  int opt;
  while ((opt = getopt_long(argc, argv, "h", cli->opts, NULL)) != -1) {
    int r = cs_cli_common_option(cli, opt, optarg);
    if (r == 0 && (opt == '?' || opt == ':')) {
      /* getopt already printed what was wrong ("unrecognized option") */
      cs_cli_usage_error(cli, "bad option");
      r = -1;
    }
    if (r == 0) return opt;
    if (r < 0 || r == 2) {
      *status = r < 0 ? 2 : 0;
      return CS_CLI_STOP;
    }
  }
  return -1;
}

int cs_cli_parse_int(const cs_cli_t *cli, const char *flag, const char *s,
                     long long lo, long long hi, long long *out) {
  char *end = NULL;
  if (!s || !*s) return cs_cli_usage_error(cli, "%s needs a value", flag), -1;
  long long v = strtoll(s, &end, 10);
  if (*end != '\0' || v < lo || v > hi) {
    cs_cli_usage_error(cli, "%s: bad value '%s' (integer in [%lld, %lld])",
                       flag, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

int cs_cli_parse_double(const cs_cli_t *cli, const char *flag, const char *s,
                        double lo, double hi, double *out) {
  char *end = NULL;
  if (!s || !*s) return cs_cli_usage_error(cli, "%s needs a value", flag), -1;
  double v = strtod(s, &end);
  if (*end != '\0' || !(v >= lo && v <= hi)) {
    cs_cli_usage_error(cli, "%s: bad value '%s' (number in [%g, %g])", flag,
                       s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

int cs_cli_parse_split(const cs_cli_t *cli, const char *flag, const char *s, int *out) {
  int v = cs_split_parse(s);
  if (v < 0) {
    cs_cli_usage_error(cli, "%s: unknown split '%s' (train, validation, test)", flag, s);
    return -1;
  }
  *out = v;
  return 0;
}

int cs_cli_parse_strategy(const cs_cli_t *cli, const char *flag, const char *s,
                          int *out) {
  int v = cs_strategy_parse(s);
  if (v < 0) {
    char names[256];
    size_t pos = 0;
    for (int i = 0; i < CS_N_STRATEGIES; i++)
      pos += (size_t)snprintf(names + pos, sizeof names - pos, "%s%s", i ? ", " : "",
                              cs_strategy_name(i));
    cs_cli_usage_error(cli, "%s: unknown strategy '%s' (%s)", flag, s, names);
    return -1;
  }
  *out = v;
  return 0;
}

int cs_cli_common_option(cs_cli_t *cli, int opt, const char *arg) {
  long long v;
  switch (opt) {
  case CS_CLI_OPT_QUIET:
    cli->ctx.quiet = 1;
    return 1;
  case CS_CLI_OPT_THREADS:
    if (cs_cli_parse_int(cli, "--threads", arg, 1, 256, &v) < 0) return -1;
    cli->ctx.n_threads = (int)v; /* the library scopes BLAS threads to it */
    cli->threads_set = 1;
    return 1;
  case CS_CLI_OPT_HELP:
    cs_cli_help(cli);
    return 2;
  default:
    return 0;
  }
}

/* The float list flags: name, field bit, range, where the value goes. */
static int strategy_float(const cs_cli_t *cli, const char *flag,
                          const char *arg, double lo, double hi, float *field,
                          unsigned bit, cs_strategy_params_t *sp) {
  double x;
  if (cs_cli_parse_double(cli, flag, arg, lo, hi, &x) < 0) return -1;
  *field = (float)x;
  sp->given |= bit;
  return 1;
}

int cs_cli_strategy_option(const cs_cli_t *cli, int opt, const char *arg,
                           cs_strategy_params_t *sp) {
  long long v;
  switch (opt) {
  case CS_CLI_OPT_K:
    if (cs_cli_parse_int(cli, "--k", arg, 1, 4096, &v) < 0) return -1;
    sp->k = (int)v;
    sp->given |= CS_SP_K;
    return 1;
  case CS_CLI_OPT_SOFT_M:
    if (cs_cli_parse_int(cli, "--soft-m", arg, 1, CS_SOFT_M_MAX, &v) < 0) return -1;
    sp->soft_m = (int)v;
    sp->given |= CS_SP_SOFT_M;
    return 1;
  case CS_CLI_OPT_SOFT_MARGIN:
    if (cs_cli_parse_int(cli, "--soft-margin", arg, 0, 100000, &v) < 0) return -1;
    sp->soft_margin = (int)v;
    sp->given |= CS_SP_SOFT_MARGIN;
    return 1;
  case CS_CLI_OPT_MIX_M:
    if (cs_cli_parse_int(cli, "--mix-m", arg, 1, CS_SOFT_M_MAX, &v) < 0) return -1;
    sp->mix_m = (int)v;
    sp->given |= CS_SP_MIX_M;
    return 1;
  case CS_CLI_OPT_MIX_TAU:
    return strategy_float(cli, "--mix-tau", arg, 1e-4, 100.0, &sp->mix_tau,
                          CS_SP_MIX_TAU, sp);
  case CS_CLI_OPT_MIX_SIZE:
    return strategy_float(cli, "--mix-size", arg, 0.0, 4.0, &sp->mix_size,
                          CS_SP_MIX_SIZE, sp);
  case CS_CLI_OPT_MIX_PRIOR:
    return strategy_float(cli, "--mix-prior", arg, 0.0, 1.0, &sp->mix_prior,
                          CS_SP_MIX_PRIOR, sp);
  case CS_CLI_OPT_BLEND_BETA:
    return strategy_float(cli, "--blend-beta", arg, 0.0, 1000.0,
                          &sp->blend_beta, CS_SP_BLEND_BETA, sp);
  case CS_CLI_OPT_BLEND_D0:
    return strategy_float(cli, "--blend-d0", arg, 0.0, 1000.0, &sp->blend_d0,
                          CS_SP_BLEND_D0, sp);
  default:
    return 0;
  }
}

int cs_cli_load_model_dataset(const cs_cli_t *cli, const char *model_path,
                              const char *dataset_path, cs_model_t *model,
                              cs_dataset_t *ds) {
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_model_load(model, model_path, &err)) return cs_cli_report(cli, &err);
  if (cs_dataset_load(ds, dataset_path, &err)) {
    cs_model_free(model);
    return cs_cli_report(cli, &err);
  }
  return 0;
}

const cs_cli_flag_t cs_cmd_version_flags[] = {{NULL, NULL, 0, NULL}};

int cs_cmd_version(int argc, char **argv, cs_cli_t *cli) {
  int opt, status = 0;
  if (argc > 0 && argv)
    while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1)
      if (opt == CS_CLI_STOP) return status;
  printf("coldstart %s\n", CS_VERSION);
  return 0;
}

static int run(int argc, char **argv, cs_cli_t *cli);

/* Under mpirun, every rank runs main: MPI is joined first and left last
 * (src/dist/dist.c); the ranks on one machine share its cores, and only
 * rank 0 logs. A plain run never starts MPI. */
int main(int argc, char **argv) {
  cs_cli_t cli;
  memset(&cli, 0, sizeof cli);
  cs_ctx_init(&cli.ctx);
  cli.ctx.log_stream = stderr;
  cli.ctx.progress_is_tty = isatty(STDERR_FILENO);
  cs_dist_t dist;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_dist_init(&dist, &argc, &argv, &err)) {
    fprintf(stderr, "coldstart: %s\n", err.msg);
    return cs_error_exit_status(err.code);
  }
  cli.ctx.dist = &dist;
  cli.ctx.n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN) / dist.local_size;
  if (cli.ctx.n_threads < 1) cli.ctx.n_threads = 1;
  if (dist.rank != 0) {
    cli.ctx.quiet = 1;
    cli.ctx.log_level = CS_LOG_ERROR;
  }
  int status = run(argc, argv, &cli);
  free(cli.opts);
  return cs_dist_finalize(&dist, status);
}

static int run(int argc, char **argv, cs_cli_t *cli) {
  if (argc < 2) {
    print_overview(stderr);
    return 2;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    print_overview(stdout);
    return 0;
  }
  if (strcmp(name, "--version") == 0) return cs_cmd_version(0, NULL, cli);
  if (strcmp(name, "help") == 0) {
    if (argc < 3) {
      print_overview(stdout);
      return 0;
    }
    const command_t *c = find_command(argv[2]);
    if (!c) {
      fprintf(stderr, "coldstart: unknown command '%s'\n\n", argv[2]);
      print_overview(stderr);
      return 2;
    }
    /* `help CMD` is `CMD --help`: the command's own, detailed help */
    char *help_argv[] = {argv[2], "--help", NULL};
    cli->name = c->name;
    cli->usage = c->usage;
    cli->summary = c->help;
    cli->flags = c->flags;
    cli->strategy_flags = c->strategy;
    optind = 1;
    return c->fn(2, help_argv, cli);
  }
  const command_t *c = find_command(name);
  if (!c) {
    fprintf(stderr, "coldstart: unknown command '%s'\n\n", name);
    print_overview(stderr);
    return 2;
  }
  cli->name = c->name;
  cli->usage = c->usage;
  cli->summary = c->help;
  cli->flags = c->flags;
  cli->strategy_flags = c->strategy;
  /* the commands with a multi-process path (docs/mpi.md); any other would
   * run N times over, writing the same files at once */
  static const char *const distributed[] = {"prepare", "train", "evaluate",
                                            "version"};
  const cs_dist_t *d = cs_dist_of(&cli->ctx);
  int ok = d->size == 1;
  for (size_t i = 0; !ok && i < sizeof distributed / sizeof *distributed; i++)
    ok = strcmp(c->name, distributed[i]) == 0;
  if (!ok) {
    if (d->rank == 0)
      fprintf(stderr, "coldstart %s: does not run under mpirun (%d ranks): "
              "only prepare, train and evaluate do (docs/mpi.md)\n", c->name,
              d->size);
    cs_dist_agree(d, CS_EUSAGE, NULL); /* every rank refuses alike */
    return 2;
  }
  optind = 1;
  return c->fn(argc - 1, argv + 1, cli);
}

/* cli.h: what every `coldstart` subcommand shares: the command signature,
 * the common flags, and the one place that turns an error into a message and
 * an exit status. Only src/cli/ prints to the terminal or exits. */
#ifndef COLDSTART_CLI_H
#define COLDSTART_CLI_H

#include <getopt.h>
#include <stdio.h>
#include "coldstart/ctx.h"
#include "coldstart/error.h"

#define CS_VERSION "0.1.0"

/* One flag of a command. Tables end with {NULL}. The help text says what
 * the flag does and its default; `coldstart help CMD` and `CMD --help`
 * print every flag of the table, so a flag cannot go undocumented. */
typedef struct cs_cli_flag {
  const char *name; /* "out" for --out */
  const char *arg;  /* value placeholder ("FILE", "N"); NULL for a switch */
  int id;           /* what cs_cli_next returns for it (>= 2000) */
  const char *help;
} cs_cli_flag_t;

typedef struct cs_cli {
  cs_ctx_t ctx; /* threads, quiet, log stream (stderr) */
  const char *usage;  /* the running command's usage line */
  const char *name;   /* the running command's name */
  const char *summary; /* its one-line help */
  const cs_cli_flag_t *flags; /* its flags (NULL: not converted yet) */
  int strategy_flags; /* 1: it also takes the list flags (--k, --soft-m,
                         --soft-margin, --mix-*, --blend-*) */
  int threads_set;    /* --threads was given */
  const char *epilog; /* printed after the flags by cs_cli_help (or NULL) */
  struct option *opts; /* getopt table built by cs_cli_next (owned) */
} cs_cli_t;

/* Next flag of argv for the running command (its table, the strategy flags
 * when it takes them, and the common flags --quiet, --threads, --help,
 * handled here). Returns the flag's id with its value in `optarg`, -1 at
 * the end (optind = the first operand), or CS_CLI_STOP with *status set:
 * 0 when --help printed the help, 2 after a usage error was printed. */
#define CS_CLI_STOP (-2)
int cs_cli_next(cs_cli_t *cli, int argc, char **argv, int *status);


#define CS__CLI_FLAGS_DECL_1(ident) \
  extern const cs_cli_flag_t cs_cmd_##ident##_flags[];
#define CS__CLI_FLAGS_DECL_0(ident)
#define CS_COMMAND(ident, name, usage, help, flags, strategy) \
  int cs_cmd_##ident(int argc, char **argv, cs_cli_t *cli);         \
  CS__CLI_FLAGS_DECL_##flags(ident)
#include "cli/commands.def"
#undef CS_COMMAND

/* Print "coldstart: <message>: <detail>" on stderr; returns the exit status
 * for err->code. */
int cs_cli_report(const cs_cli_t *cli, const cs_err_t *err);
/* Print the command's usage on stderr and return 2 (bad usage). */
int cs_cli_usage_error(const cs_cli_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print "usage: ...", the summary and every flag with its help on stdout,
 * return 0 (for --help and `coldstart help CMD`). */
int cs_cli_help(const cs_cli_t *cli);

/* The common options every command accepts (cs_cli_next handles them):
 * --quiet, --threads N, --help. cs_cli_common_option returns 1 when `opt`
 * was one of them (and handled), 0 when not; -1 on a bad value (usage
 * printed, exit 2), and 2 when --help was asked (help printed, exit 0). */
#define CS_CLI_OPT_QUIET 1000
#define CS_CLI_OPT_THREADS 1001
#define CS_CLI_OPT_HELP 'h'
int cs_cli_common_option(cs_cli_t *cli, int opt, const char *arg);

/* Parse helpers: strict (whole string, in range); on failure print usage
 * naming the flag and value and return -1. */
int cs_cli_parse_int(const cs_cli_t *cli, const char *flag, const char *s,
                     long long lo, long long hi, long long *out);
int cs_cli_parse_double(const cs_cli_t *cli, const char *flag, const char *s,
                        double lo, double hi, double *out);
/* A split name (train, validation, test) or a strategy name for `flag`:
 * 0 and *out set, or -1 after a usage error listing the valid names. */
int cs_cli_parse_split(const cs_cli_t *cli, const char *flag, const char *s, int *out);
int cs_cli_parse_strategy(const cs_cli_t *cli, const char *flag, const char *s,
                          int *out);

/* The list parameters every recommending command accepts (evaluate,
 * recommend, serve): --k N, --soft-m M, --soft-margin N and the mix/blend
 * parameters (--mix-m, --mix-tau, --mix-size, --mix-prior, --blend-beta,
 * --blend-d0; each also marks its field as given, so a tuned model's
 * default does not replace it). A command with `strategy` 1 in
 * commands.def gets them from cs_cli_next; it calls
 * cs_cli_strategy_option from its default case: it returns 1 when `opt`
 * was one of them (applied to *sp), 0 when not, -1 on a bad value (usage
 * printed). */
#define CS_CLI_OPT_K 1002
#define CS_CLI_OPT_SOFT_M 1003
#define CS_CLI_OPT_SOFT_MARGIN 1004
#define CS_CLI_OPT_MIX_M 1005
#define CS_CLI_OPT_MIX_TAU 1006
#define CS_CLI_OPT_MIX_SIZE 1007
#define CS_CLI_OPT_MIX_PRIOR 1008
#define CS_CLI_OPT_BLEND_BETA 1009
#define CS_CLI_OPT_BLEND_D0 1010
/* --half, in the tables of the commands that run the regressor (evaluate,
 * recommend, serve): the same entry everywhere. */
#define CS_CLI_OPT_HALF 1011
#define CS_CLI_FLAG_HALF                                                     \
  {"half", NULL, CS_CLI_OPT_HALF,                                            \
   "the regressor reads its weights rounded to float16 (a faster one-user "  \
   "pass; embeddings within 1e-3 of float32, bench/results/half.md; "  \
   "default float32)"}
struct cs_strategy_params;
int cs_cli_strategy_option(const cs_cli_t *cli, int opt, const char *arg,
                           struct cs_strategy_params *sp);

struct cs_model;
struct cs_dataset;
/* Load a model and a dataset (cs_eval_check_dataset says whether they
 * belong together). Returns 0, or the exit status after reporting the
 * error (nothing is left open then). */
int cs_cli_load_model_dataset(const cs_cli_t *cli, const char *model_path,
                              const char *dataset_path, struct cs_model *model,
                              struct cs_dataset *ds);


#endif

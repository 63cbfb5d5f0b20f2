/* prepare.h: raw logs -> prepared dataset: cohort and split, CF embeddings
 * trained without validation/test listening (docs/data.md), targets,
 * days-1-30 ground truth, the featurizer and every cohort user's features. */
#ifndef COLDSTART_PREPARE_H
#define COLDSTART_PREPARE_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/embed.h"
#include "coldstart/error.h"
#include "coldstart/featurize.h"
#include "coldstart/logs.h"

#define CS_PREPARE_NO_DAY INT32_MIN

typedef struct cs_prepare_params {
  char space[8];       /* "svd" (TT-SVD) or "mf" (UT-ALS) */
  int dim;             /* 0: 128 for svd, 256 for mf */
  int32_t cohort_from; /* CS_PREPARE_NO_DAY: the 7 latest registration days */
  int split[3];        /* train/validation/test percentages, sum 100 */
  uint64_t seed;       /* split shuffle and the CF models' seeds */
  int window;          /* ground-truth days after registration (30) */
  cs_svd_params_t svd; /* dim and seed are overridden */
  cs_als_params_t als; /* dim and seed are overridden */
} cs_prepare_params_t;

void cs_prepare_params_default(cs_prepare_params_t *p);

enum {
  CS_PREP_STAGE_COHORT,
  CS_PREP_STAGE_CF_DATA,
  CS_PREP_STAGE_EMBED,
  CS_PREP_STAGE_TARGETS,
  CS_PREP_STAGE_FEATURIZER,
  CS_PREP_STAGE_FEATURES,
  CS_PREP_N_STAGES
};
/* "cohort", "cf_data", "embed", "targets", "featurizer", "features" */
const char *cs_prepare_stage_name(int stage);

typedef struct cs_prepare_report {
  int32_t cohort_from;
  int64_t n_warm_users, n_cohort_users;
  int64_t n_users[CS_N_SPLITS];
  int64_t n_no_target[CS_N_SPLITS]; /* no days-1-30 streams (or zero vector) */
  int64_t n_no_truth[CS_N_SPLITS];  /* empty ground truth */
  int64_t n_cf_users, n_cf_streams, n_baskets, n_cf_songs;
  int64_t n_reg_day_events;         /* events fed to the featurizer */
  int64_t n_before_registration;    /* events dated before their user's
                                       registration day: never used */
  cs_feat_stats_t feat;             /* unused pairs / missing items */
  cs_als_report_t als;              /* mf only */
  double seconds[CS_PREP_N_STAGES];
} cs_prepare_report_t;

/* Build the dataset (owned, in memory) from logs. *out must be freed with
 * cs_dataset_free. rep may be NULL. Returns 0, CS_EINVAL (bad parameters,
 * an empty split), CS_ENOMEM or an embedding error. */
int cs_prepare_run(const cs_ctx_t *ctx, const cs_logs_t *logs,
                   const cs_prepare_params_t *p, cs_dataset_t *out,
                   cs_prepare_report_t *rep, cs_err_t *err);

/* The same, freeing the logs' event arrays (cs_logs_free_events: the
 * counts stay) as soon as they are no longer needed: the peak memory then
 * holds the events or the features, not both. Under MPI (ctx->dist of
 * several ranks; docs/mpi.md) every rank calls it with its own logs (its
 * byte range of events.tsv); only rank 0's *out is the dataset, the others
 * get an empty one. */
int cs_prepare_run_consume(const cs_ctx_t *ctx, cs_logs_t *logs,
                           const cs_prepare_params_t *p, cs_dataset_t *out,
                           cs_prepare_report_t *rep, cs_err_t *err);

#endif

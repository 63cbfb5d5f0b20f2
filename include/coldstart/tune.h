/* tune.h: `coldstart tune` (docs/method.md, "Tuning"): choose the number of
 * segments k and the mix/blend parameters on the VALIDATION split of a
 * prepared dataset (the test split is never read), and write every point
 * of the search to DIR/tune.json, which `train --from-tune DIR` applies.
 *
 * The work is shared across the sweep: one training run (regressor, input
 * clusters, popularity, k-means at the first k), then for each next k a
 * k-means warm-started from the previous k's centroids plus k-means++
 * additions (kmeans.h), its segments, and semi, soft and mix scored on the
 * validation split through cs_evaluate; the strategies that do not depend
 * on k (popularity, d0-streams, input-clusters, full) are scored once. The
 * chosen k is then refitted from scratch exactly as `train` will fit it
 * (same seed, same rows), mix's parameters and then blend's are tuned on it
 * by coordinate descent over fixed grids, and the chosen strategy is the
 * one with the best validation NDCG. This is a training header. */
#ifndef COLDSTART_TUNE_H
#define COLDSTART_TUNE_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"
#include "coldstart/strategy.h"
#include "coldstart/train.h"

#define CS_TUNE_MAX_K 256 /* k values in one sweep */

typedef struct cs_tune_params {
  cs_train_params_t train; /* everything but k as `train` uses it */
  int n_k;                 /* k values to sweep, ascending, distinct */
  int k_values[CS_TUNE_MAX_K];
  cs_strategy_params_t sp; /* K, soft's m and margin, the starting point of
                              mix and blend */
  int tune_blend;          /* 0: leave blend at sp's values (faster) */
} cs_tune_params_t;

/* k from 500 to 2000 in steps of 100 (the seed fork's sweep), the train
 * and strategy defaults, blend tuned. */
void cs_tune_params_default(cs_tune_params_t *p);

/* Comma-separated items, each k or A:B:STEP (A, A+STEP, ... <= B), e.g.
 * "500:2000:100" or "20:100:20,200:2000:100" -> k values, sorted,
 * duplicates dropped; CS_EUSAGE naming the spec when it is bad. */
int cs_tune_parse_k_values(const char *spec, int *out, int cap, int *n,
                           cs_err_t *err);

typedef struct cs_tune_metric {
  double precision, recall, ndcg; /* validation means, fractions */
} cs_tune_metric_t;

typedef struct cs_tune_point {
  int k;
  double inertia;   /* k-means inertia over the training targets */
  double seconds;   /* k-means + segments + scoring at this k */
  uint8_t has[CS_N_STRATEGIES]; /* 1: val[s] was measured (or is one of
                                   the k-independent strategies) */
  cs_tune_metric_t val[CS_N_STRATEGIES];
} cs_tune_point_t;

/* One parameter setting tried at the chosen k. */
typedef struct cs_tune_trial {
  int strategy;
  cs_strategy_params_t sp;
  cs_tune_metric_t val;
} cs_tune_trial_t;

typedef struct cs_tune_result {
  int n_points;
  cs_tune_point_t points[CS_TUNE_MAX_K];
  int elbow_k;
  const char *elbow_method;
  int n_trials, cap_trials;
  cs_tune_trial_t *trials; /* malloc'ed */
  int chosen_k, chosen_strategy;
  cs_strategy_params_t chosen_sp; /* with the tuned mix/blend fields */
  double chosen_ndcg;
  cs_tune_metric_t chosen_val[CS_N_STRATEGIES]; /* every strategy at the
                                                   chosen setting */
  int64_t n_val_users;     /* validation users scored */
  cs_train_params_t train; /* what the sweep trained with (train block) */
  double val_mse;          /* the regressor's validation MSE */
  double sec_train, sec_sweep, sec_tuning, sec_total;
} cs_tune_result_t;

/* Run the sweep and the tuning on ds (train split to fit, validation split
 * to score). Progress and one log line per point on ctx. Deterministic for
 * the same data, params and thread count. */
int cs_tune(const cs_ctx_t *ctx, const cs_dataset_t *ds,
            const cs_tune_params_t *p, cs_tune_result_t *out, cs_err_t *err);
void cs_tune_result_free(cs_tune_result_t *r);

/* DIR/tune.json (docs/method.md, "Tuning": the contract the report reads),
 * written atomically; `dataset` is the path recorded. */
int cs_tune_write_json(const cs_tune_result_t *r, const char *dataset,
                       const char *path, cs_err_t *err);

/* What `train --from-tune` applies, read back from a tune.json: the chosen
 * k, strategy and parameters (as a model's tuned defaults) and the training
 * settings of the sweep (seed, iterations, input clusters, regressor
 * schedule) into *train (its k set to the chosen k, its tuning filled).
 * `dataset` gets the recorded dataset path (cap bytes). Errors name the
 * file and the field. */
int cs_tune_read(const char *path, cs_train_params_t *train, char *dataset,
                 size_t cap, cs_err_t *err);

#endif

/* train.h: training (docs/method.md): from a prepared dataset's train split
 * to a model: the regressor (Adam on MSE to the warm embedding), k-means
 * over the training targets, clusters of the raw input features, and the
 * segments' song rankings. Serving code does not include this header. */
#ifndef COLDSTART_TRAIN_H
#define COLDSTART_TRAIN_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"
#include "coldstart/model.h"
#include "coldstart/regressor.h"
#include "coldstart/segments.h"

/* ------------------------------------------------------------ regressor */

typedef struct cs_regressor_params {
  int epochs;       /* max epochs */
  float lr;         /* Adam learning rate */
  int batch;        /* minibatch size */
  uint64_t seed;    /* init and shuffling */
  int patience;     /* early stopping on validation MSE; 0 = off */
  float lr_final;   /* cosine-anneal the lr per step from `lr` down to this
                       by the end of `epochs`; <= 0 = constant lr (added
                       last, so zero-initialized callers keep a constant lr) */
} cs_regressor_params_t;

/* The fast default schedule (docs/method.md); the reference: 130 epochs,
 * lr 1e-5, batch 512. */
void cs_regressor_params_default(cs_regressor_params_t *p);
void cs_regressor_params_reference(cs_regressor_params_t *p);

typedef struct cs_regressor_report {
  int epochs_run;
  int best_epoch;    /* the epoch whose weights were kept (1-based) */
  double train_mse;  /* final epoch */
  double val_mse;    /* final (best, if early stopping restored it) */
  double seconds;
  /* Per-epoch history, when the caller gives room: epoch e (0-based) has
   * train MSE history[2e] and validation MSE history[2e + 1] (NAN without
   * a validation set), for e < min(epochs_run, cap_history). */
  double *history;
  int cap_history;
} cs_regressor_report_t;

/* A fresh regressor for n_in features and dim outputs, initialized like
 * PyTorch's nn.Linear (seeded), standardization mean 0 and std 1. */
int cs_regressor_create(cs_regressor_t **r, int n_in, int dim, uint64_t seed,
                        cs_err_t *err);

/* X: [n x n_in] raw features, Y: [n x dim] targets; validation set optional
 * (n_val may be 0). Sets the input standardization from X (std < 1e-6
 * counts as 1). Deterministic: same seed, same data, same thread count,
 * same bytes. Minibatches of one row (a trailing remainder) are skipped:
 * BatchNorm needs two rows. BLAS threads are scoped to ctx->n_threads. */
int cs_regressor_train(const cs_ctx_t *ctx, cs_regressor_t *r, const float *X,
                       const float *Y, int64_t n, const float *X_val,
                       const float *Y_val, int64_t n_val,
                       const cs_regressor_params_t *p,
                       cs_regressor_report_t *report, cs_err_t *err);

/* ------------------------------------------------------------- segments */

/* Build from an assignment of users to segments. assign[u] in [0, k) or -1
 * (user left out: e.g. no target). truth_indptr/indices: the split's CSR of
 * distinct days-1-30 song rows (must be < n_songs). Pass assign = NULL to
 * put every user in segment 0 with k = 1 (popularity). Arrays go into
 * out->mem. */
int cs_segments_build(int32_t k, const int32_t *assign, int64_t n_users,
                      const int64_t *truth_indptr,
                      const int64_t *truth_indices, int64_t n_songs,
                      cs_segments_t *out, cs_err_t *err);

/* ---------------------------------------------------------------- model */

typedef struct cs_train_params {
  int k;            /* clusters over targets (1000) */
  int k_input;      /* input clusters (100) */
  int kmeans_iter;  /* 20 */
  uint64_t seed;
  cs_regressor_params_t reg; /* regressor schedule */
  double val_fraction; /* held-out train fraction for early stopping when
                          the validation split has no targets (0.1) */
  cs_model_tuning_t tuning; /* tuned defaults to store in the model
                               (`train --from-tune`); present = 0: none */
} cs_train_params_t;

typedef struct cs_train_report {
  double sec_regressor, sec_kmeans, sec_input_kmeans, sec_segments;
  double val_mse;
  double kmeans_inertia;
  int64_t n_train, n_train_no_target, n_val;
  int epochs_run;
} cs_train_report_t;

void cs_train_params_default(cs_train_params_t *p);

/* Train everything from the dataset's train split (users with targets)
 * into *out, which owns copies of all it keeps (free with cs_model_free). */
int cs_train(const cs_ctx_t *ctx, const cs_dataset_t *ds,
             const cs_train_params_t *p, cs_model_t *out,
             cs_train_report_t *report, cs_err_t *err);

#endif

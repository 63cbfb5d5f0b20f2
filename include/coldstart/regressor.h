/* regressor.h: the feed-forward net of DESIGN.md 1.3 mapping a cold user's
 * features to their future embedding: Linear(F,400)-ReLU-BN,
 * Linear(400,300)-ReLU-BN, Linear(300,200)-ReLU-BN, Linear(200,d), L2 norm.
 * Trained with Adam on MSE to the warm embedding. */
#ifndef COLDSTART_REGRESSOR_H
#define COLDSTART_REGRESSOR_H

#include <stdint.h>
#include "coldstart/container.h"
#include "coldstart/ctx.h"
#include "coldstart/error.h"

typedef struct cs_regressor cs_regressor_t; /* opaque */

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

/* Inputs: callers pass RAW features (counts and age included). The regressor
 * standardizes each feature internally, (x - mean) / std with mean and std
 * computed from the training X by cs_regressor_train (std < 1e-6 counts as
 * 1) and stored with the model, so predict/save/load apply the same
 * transformation. A freshly created regressor uses mean 0, std 1.
 *
 * Training is deterministic: same seed, same data, same BLAS thread count
 * give the same bytes. Minibatches of size 1 (a trailing remainder) are
 * skipped, since BatchNorm needs two rows for batch statistics.
 *
 * The fast default schedule (see docs); reference: 130 epochs, 1e-5, 512. */
void cs_regressor_params_default(cs_regressor_params_t *p);
void cs_regressor_params_reference(cs_regressor_params_t *p);

typedef struct cs_regressor_report {
  int epochs_run;
  double train_mse;  /* final epoch */
  double val_mse;    /* final (best, if early stopping restored it) */
  double seconds;
} cs_regressor_report_t;

int cs_regressor_create(cs_regressor_t **r, int n_in, int dim, uint64_t seed,
                        cs_err_t *err);
void cs_regressor_free(cs_regressor_t *r);
int cs_regressor_n_in(const cs_regressor_t *r);
int cs_regressor_dim(const cs_regressor_t *r);

/* X: [n x n_in], Y: [n x dim]; validation set optional (n_val may be 0). */
int cs_regressor_train(const cs_ctx_t *ctx, cs_regressor_t *r, const float *X,
                       const float *Y, int64_t n, const float *X_val,
                       const float *Y_val, int64_t n_val,
                       const cs_regressor_params_t *p,
                       cs_regressor_report_t *report, cs_err_t *err);

/* Inference (BatchNorm running statistics): out [n x dim], L2-normalized.
 * Thread-safe on a const regressor. */
int cs_regressor_predict(const cs_regressor_t *r, const float *X, int64_t n,
                         float *out, cs_err_t *err);
/* Mean over rows of the squared error summed over dimensions, as MSE
 * per element (sum / (n*dim)), like torch.nn.MSELoss. */
double cs_regressor_mse(const cs_regressor_t *r, const float *X,
                        const float *Y, int64_t n);

/* Store / restore under section names starting with `prefix`. Loading may
 * point into the container's map (keep it open while the regressor lives). */
int cs_regressor_save(const cs_regressor_t *r, cs_container_writer_t *w,
                      const char *prefix, cs_err_t *err);
int cs_regressor_load(cs_regressor_t **r, const cs_container_t *c,
                      const char *prefix, cs_err_t *err);

#endif

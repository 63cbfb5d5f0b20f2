/* regressor_train_internal.h: the pieces of the regressor's training that
 * the tests check one by one (gradient check, standardizer, Adam). Not a
 * public header. */
#ifndef COLDSTART_TRAIN_REGRESSOR_TRAIN_INTERNAL_H
#define COLDSTART_TRAIN_REGRESSOR_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/train.h"
#include "model/regressor_internal.h"

/* cs_regressor_create with other hidden widths (tests use tiny ones). */
int cs__regressor_create_hidden(cs_regressor_t **r, int n_in,
                                const int hidden[CS__REG_N_BN], int dim,
                                uint64_t seed, cs_err_t *err);

/* Set the input standardization from training rows X [n x n_in].
 * Returns 0 or CS_ENOMEM. */
int cs__regressor_fit_standardizer(cs_regressor_t *r, const float *X,
                                   int64_t n, int n_threads, cs_err_t *err);

/* One train-mode forward and backward pass on rows X[idx[i]] (raw features)
 * with targets Y[idx[i]], i < n_batch (idx NULL: rows 0..n_batch-1). Writes
 * the gradient of the MSE loss with respect to the trainable floats into
 * grad (laid out like the arena's first n_trainable floats), returns the
 * loss, and updates the BatchNorm running statistics as PyTorch does.
 * Needs writable weights (r->weights). Returns NAN when out of memory. */
double cs__regressor_batch_grad(cs_regressor_t *r, const float *X,
                                const float *Y, const int64_t *idx,
                                int n_batch, float *grad);

/* cs_regressor_train over rows X[rows[i]], Y[rows[i]], i < n (rows NULL:
 * 0..n-1) and validation rows X_val[rows_val[i]] likewise, without copies:
 * the same result as training on the gathered rows. Under several ranks
 * (ctx->dist) every rank passes the same arguments; each computes its
 * share of every minibatch (fixed sub-blocks) and reads only those rows;
 * the model is the same bits for any rank or thread count. */
int cs__regressor_train_rows(const cs_ctx_t *ctx, cs_regressor_t *r,
                             const float *X, const float *Y,
                             const int64_t *rows, int64_t n,
                             const float *X_val, const float *Y_val,
                             const int64_t *rows_val, int64_t n_val,
                             const cs_regressor_params_t *p,
                             cs_regressor_report_t *report, cs_err_t *err);

/* Adam (PyTorch's formulation) over n floats: step t >= 1. */
void cs__adam_step(int n_threads, float *param, const float *grad, float *m,
                   float *v, size_t n, int64_t t, float lr, float beta1,
                   float beta2, float eps);

#endif

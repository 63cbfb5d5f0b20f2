/* regressor.h: the feed-forward net mapping a cold user's features to their
 * future embedding (docs/method.md, "Regressor"): Linear(F,400)-ReLU-BN,
 * Linear(400,300)-ReLU-BN, Linear(300,200)-ReLU-BN, Linear(200,d), L2
 * normalization. This header is inference and storage; training (creation,
 * the Adam schedule) is in train.h.
 *
 * Inputs are RAW features (counts and age included): the regressor
 * standardizes each feature, (x - mean) / std, with the mean and std of its
 * training rows, stored with the weights.
 *
 * Ownership (arena.h): a regressor owns its weights, in its own memory or,
 * after cs_regressor_load, in the file map it holds a reference to. */
#ifndef COLDSTART_REGRESSOR_H
#define COLDSTART_REGRESSOR_H

#include <stdint.h>
#include "coldstart/container.h"
#include "coldstart/error.h"

typedef struct cs_regressor cs_regressor_t; /* opaque */

void cs_regressor_free(cs_regressor_t *r);
int cs_regressor_n_in(const cs_regressor_t *r);
int cs_regressor_dim(const cs_regressor_t *r);

/* Inference (BatchNorm running statistics): out [n x dim], L2-normalized.
 * Every layer is folded (standardization and BatchNorm into the weights)
 * and skips zero inputs; each row's result is the same whether it is
 * predicted alone or in a batch of any size, on any number of threads (up to
 * the sign of a zero). Equal to the unfolded computation within float
 * rounding (1e-5, tested). Thread-safe on a const regressor. */
int cs_regressor_predict(const cs_regressor_t *r, const float *X, int64_t n,
                         float *out, cs_err_t *err);
/* Precision of the weights predict reads: float32 (0, the default) or
 * float16 (1): half the bytes, which is what one row's forward pass is
 * bound by; the arithmetic stays float32. The two agree within 2e-3 per
 * embedding component (regressor_test; 3e-4 measured at deezer scale,
 * bench/results/half.md). Set it before sharing the regressor between
 * threads. A model with a folded weight beyond float16's range (65504)
 * stays float32: cs_regressor_half says which is used. */
void cs_regressor_set_half(cs_regressor_t *r, int half);
int cs_regressor_half(const cs_regressor_t *r);
/* The same over n_threads threads (rows split between them). */
int cs_regressor_predict_threads(const cs_regressor_t *r, const float *X,
                                 int64_t n, float *out, int n_threads,
                                 cs_err_t *err);
/* Mean over rows of the squared error summed over dimensions, as MSE
 * per element (sum / (n*dim)), like torch.nn.MSELoss. */
double cs_regressor_mse(const cs_regressor_t *r, const float *X,
                        const float *Y, int64_t n);

/* Store / restore under section names starting with `prefix`. Loading
 * validates every value and points into the container's map, taking a
 * reference to it. */
int cs_regressor_save(const cs_regressor_t *r, cs_container_writer_t *w,
                      const char *prefix, cs_err_t *err);
int cs_regressor_load(cs_regressor_t **r, cs_container_t *c,
                      const char *prefix, cs_err_t *err);

#endif

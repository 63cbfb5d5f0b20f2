/* model.h: the one model file serving needs (container kind "model"):
 * regressor, k-means centroids over training targets and their segment
 * rankings, input-feature clusters and their rankings, the popularity
 * ranking, the song table (ids + embeddings) and, when the dataset has
 * them, the featurizer tables. Training (cs_model_train) builds it from a
 * prepared dataset. */
#ifndef COLDSTART_MODEL_H
#define COLDSTART_MODEL_H

#include <stdint.h>
#include "coldstart/container.h"
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"
#include "coldstart/regressor.h"
#include "coldstart/segments.h"

#define CS_MODEL_VERSION 1

struct cs_featurizer;

typedef struct cs_model {
  char space[8];          /* "svd" or "mf" */
  int32_t dim;            /* embedding dimension d */
  int32_t n_features;     /* F = 20d + 19 */
  int64_t n_songs;
  int64_t *song_ids;      /* [n_songs] */
  float *song_emb;        /* [n_songs x dim] */
  cs_regressor_t *regressor;
  int32_t k;              /* clusters over training targets */
  float *centroids;       /* [k x dim] */
  cs_segments_t segments; /* k segments */
  int32_t k_input;        /* input clusters */
  float *input_centroids; /* [k_input x n_features], over L2-normalized
                             raw features */
  cs_segments_t input_segments;
  cs_segments_t popularity; /* one segment: all training users */
  struct cs_featurizer *featurizer; /* NULL when the dataset had none */
  /* Storage: owned = 1 when built in memory (arrays malloc'ed), else they
   * point into `container` (mmap). The regressor and featurizer are always
   * owned objects (possibly pointing into the map themselves). */
  cs_container_t *container;
  int owned;
} cs_model_t;

typedef struct cs_model_params {
  int k;            /* clusters over targets (1000) */
  int k_input;      /* input clusters (100) */
  int kmeans_iter;  /* 20 */
  uint64_t seed;
  cs_regressor_params_t reg; /* regressor schedule */
  double val_fraction; /* held-out train fraction for early stopping when
                          the validation split has no targets (0.1) */
} cs_model_params_t;

typedef struct cs_model_report {
  double sec_regressor, sec_kmeans, sec_input_kmeans, sec_segments;
  double val_mse;
  double kmeans_inertia;
  int64_t n_train, n_train_no_target, n_val;
  int epochs_run;
} cs_model_report_t;

void cs_model_params_default(cs_model_params_t *p);

/* Train everything from the dataset's train split (users with targets). */
int cs_model_train(const cs_ctx_t *ctx, const cs_dataset_t *ds,
                   const cs_model_params_t *p, cs_model_t *out,
                   cs_model_report_t *report, cs_err_t *err);

int cs_model_save(const cs_model_t *m, const char *path, cs_err_t *err);
/* mmap + validate; arrays point into the map. */
int cs_model_load(cs_model_t *m, const char *path, cs_err_t *err);
void cs_model_free(cs_model_t *m);

/* Check a dataset is compatible with the model (dim, F, song table). */
int cs_model_check_dataset(const cs_model_t *m, const cs_dataset_t *ds,
                           cs_err_t *err);

#endif

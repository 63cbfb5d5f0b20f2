/* model.h: the serving model: a read-only view of the one model file
 * (container kind "model", docs/formats.md) holding everything serving
 * needs: the song table, the regressor, three segmentations (k-means over
 * training targets for semi and soft, clusters of raw input features for
 * input-clusters, and the single popularity segment) and, when the dataset
 * had them, the featurizer tables. Training builds one (train.h); this
 * header only loads, saves and frees, so serving code needs nothing from
 * the dataset or training.
 *
 * Ownership (arena.h): every array the model points at is in its arena
 * `mem` (a model built by training: it copies what it keeps from the
 * dataset, so it does not depend on the dataset afterwards) or in the map of
 * `file` (a loaded model); its parts (regressor, segments) hold their own
 * references; the featurizer borrows the model's song table and tables. */
#ifndef COLDSTART_MODEL_H
#define COLDSTART_MODEL_H

#include <stdint.h>
#include "coldstart/arena.h"
#include "coldstart/container.h"
#include "coldstart/error.h"
#include "coldstart/feature_tables.h"
#include "coldstart/featurize.h"
#include "coldstart/regressor.h"
#include "coldstart/segments.h"

#define CS_MODEL_VERSION 1

/* k segments: a centroid each (dim columns; NULL for popularity, whose one
 * segment holds every training user) and each segment's song ranking. */
typedef struct cs_segmentation {
  int32_t k, dim;
  const float *centroids; /* [k x dim] */
  cs_segments_t seg;
} cs_segmentation_t;

typedef struct cs_model_train_info {
  int32_t version;           /* of this record (1) */
  int32_t k, k_input, kmeans_iter;
  int32_t epochs, batch, patience, epochs_run, best_epoch, reserved;
  float lr, lr_final;
  uint64_t seed;
  double val_mse, kmeans_inertia;
  int64_t n_train, n_train_no_target, n_val;
} cs_model_train_info_t;

/* The defaults `coldstart tune` chose for this model (written by `train
 * --from-tune`, section "tune.params", docs/method.md "Tuning"): the strategy to
 * recommend with and the tuned parameters of the mix and blend strategies
 * (strategy.h says what they mean). present = 0 in models trained without
 * tuning and in files written before the section existed: the programs
 * then use their built-in defaults. */
typedef struct cs_model_tuning {
  int present;
  char strategy[24];   /* NUL-terminated strategy name */
  int32_t k;           /* segments the tune chose (= target.k) */
  int32_t mix_m;
  float mix_tau, mix_size, mix_prior;
  float blend_beta, blend_d0;
} cs_model_tuning_t;

typedef struct cs_model {
  char space[8];          /* "svd" or "mf" */
  int32_t dim;            /* embedding dimension d */
  int32_t n_features;     /* F = 20d + 19 */
  int64_t n_songs;
  const int64_t *song_ids; /* [n_songs] */
  const float *song_emb;   /* [n_songs x dim] */
  cs_regressor_t *regressor;
  cs_segmentation_t target;     /* k-means over training targets (dim d) */
  cs_segmentation_t input;      /* over L2-normalized raw features (dim F) */
  cs_segmentation_t popularity; /* k = 1 */
  int has_tables;               /* 0: trained on imported data */
  cs_feature_tables_t tables;
  cs_featurizer_t *featurizer;  /* NULL when !has_tables */
  /* What it was trained on, beside space and song table: the train split's
   * user ids, ascending (0 / NULL in files written before they were
   * recorded). Evaluation refuses to score these users. */
  int64_t n_train_users;
  const int64_t *train_users;
  /* How it was trained (section "train.info"; has_train_info 0 in older
   * files): informational, for reports. history: the regressor's train and
   * validation MSE of each epoch run, [train_info.epochs_run x 2]. */
  int has_train_info;
  cs_model_train_info_t train_info;
  const double *history;

  cs_model_tuning_t tuning; /* tuned defaults (present = 0: none) */
  cs_arena_t mem;
  cs_container_t *file;
} cs_model_t;

/* Write atomically (temp file, fsync, rename). */
int cs_model_save(const cs_model_t *m, const char *path, cs_err_t *err);
/* mmap + validate every section; arrays point into the map. */
int cs_model_load(cs_model_t *m, const char *path, cs_err_t *err);
void cs_model_free(cs_model_t *m);

#endif

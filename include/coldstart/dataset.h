/* dataset.h: the prepared dataset: everything the method needs, produced by
 * `coldstart prepare` (raw logs) or `coldstart import-deezer` (the release),
 * stored in one container file of kind "dataset". */
#ifndef COLDSTART_DATASET_H
#define COLDSTART_DATASET_H

#include <stdint.h>
#include "coldstart/container.h"
#include "coldstart/error.h"

#define CS_DATASET_VERSION 1
#define CS_N_BLOCKS 20
#define CS_N_COUNTS 18

typedef enum {
  CS_SPLIT_TRAIN = 0,
  CS_SPLIT_VALIDATION = 1,
  CS_SPLIT_TEST = 2,
  CS_N_SPLITS = 3
} cs_split_id_t;

/* "train", "validation", "test" */
const char *cs_split_name(int split);
/* Parse a split name; returns the id or -1. */
int cs_split_parse(const char *name);

/* The release's feature layout (DESIGN.md 4.3): 20 blocks of `dim` values,
 * then age_value at column 20*dim, then 18 counts. */
extern const char *const cs_feature_blocks[CS_N_BLOCKS];
extern const char *const cs_feature_counts[CS_N_COUNTS];
static inline int cs_n_features(int dim) { return CS_N_BLOCKS * dim + 1 + CS_N_COUNTS; }

/* One split of the cold cohort. Users in ascending user_id. */
typedef struct cs_split {
  int64_t n_users;
  int64_t *user_ids;      /* [n_users] */
  float *features;        /* [n_users x n_features] */
  int64_t *truth_indptr;  /* [n_users + 1], CSR of days-1-30 songs */
  int64_t *truth_indices; /* [truth_indptr[n_users]], song rows, ascending */
  float *targets;         /* [n_users x dim] warm embedding, zero row when
                             none; NULL when the split has no targets */
  uint8_t *has_target;    /* [n_users] 1 when targets row is real; NULL
                             when targets is NULL */
} cs_split_t;

struct cs_featurizer; /* featurize.h; optional part of a dataset */

typedef struct cs_dataset {
  char space[8];      /* "svd" or "mf" */
  char source[32];    /* "prepare" or "import-deezer" */
  int32_t dim;        /* embedding dimension d */
  int32_t n_features; /* 20*d + 19 */
  int64_t n_songs;
  int64_t *song_ids; /* [n_songs], the song table order = song row index */
  float *song_emb;   /* [n_songs x dim] */
  cs_split_t splits[CS_N_SPLITS];
  /* Featurizer tables (artist/album/playlist/age/country embeddings, song ->
   * artist/album); NULL for imported data (the release ships features
   * precomputed). Owned by the dataset. */
  struct cs_featurizer *featurizer;

  /* Storage: when loaded from a file, arrays point into the mmap owned by
   * `container`; when built in memory (`owned` = 1), cs_dataset_free frees
   * every non-NULL array with free(). */
  cs_container_t *container;
  int owned;
} cs_dataset_t;

/* Save atomically to `path` as a container of kind "dataset". */
int cs_dataset_save(const cs_dataset_t *ds, const char *path, cs_err_t *err);
/* Load (mmap, validated). Arrays point into the map; do not free them. */
int cs_dataset_load(cs_dataset_t *ds, const char *path, cs_err_t *err);
/* Release everything the dataset owns (memory or map). NULL-safe fields. */
void cs_dataset_free(cs_dataset_t *ds);
/* Check internal consistency (sizes, truth indices in range and ascending,
 * user ids ascending); names the offending split/row on failure. */
int cs_dataset_validate(const cs_dataset_t *ds, cs_err_t *err);

#endif

/* dataset.h: the prepared dataset: everything the method needs, produced by
 * `coldstart prepare` (raw logs) or `coldstart import-deezer` (the release),
 * stored in one container file of kind "dataset". */
#ifndef COLDSTART_DATASET_H
#define COLDSTART_DATASET_H

#include <stdint.h>
#include "coldstart/arena.h"
#include "coldstart/container.h"
#include "coldstart/error.h"
#include "coldstart/feature_tables.h"
#include "coldstart/layout.h"

#define CS_DATASET_VERSION 1

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

/* Ownership: every array a dataset points at lives in its arena `mem`
 * (built in memory) or in the file map `file` it holds a reference to
 * (loaded); cs_dataset_free releases both. */
typedef struct cs_dataset {
  char space[8];      /* "svd" or "mf" */
  char source[32];    /* "prepare" or "import-deezer" */
  int32_t dim;        /* embedding dimension d */
  int32_t n_features; /* 20*d + 19 */
  int64_t n_songs;
  int64_t *song_ids; /* [n_songs], the song table order = song row index */
  float *song_emb;   /* [n_songs x dim] */
  cs_split_t splits[CS_N_SPLITS];
  /* The featurizer's lookup tables over this song table; has_tables = 0
   * for imported data (the release ships features precomputed). */
  int has_tables;
  cs_feature_tables_t tables;
  cs_arena_t mem;
  cs_container_t *file;
} cs_dataset_t;

/* Save atomically to `path` as a container of kind "dataset". */
int cs_dataset_save(const cs_dataset_t *ds, const char *path, cs_err_t *err);
/* Load (mmap, validated). Arrays point into the map. */
int cs_dataset_load(cs_dataset_t *ds, const char *path, cs_err_t *err);
/* For datasets assembled from malloc'ed arrays (prepare, import, tests):
 * hand every non-NULL song and split array of the struct to the dataset's
 * arena, once, so cs_dataset_free frees them (tables are built straight
 * into ds->mem by cs_feature_tables_build). Returns 0 or CS_ENOMEM (the
 * arrays are then freed all the same). */
int cs_dataset_adopt_arrays(cs_dataset_t *ds, cs_err_t *err);
/* Release everything the dataset owns (arena and file reference). */
void cs_dataset_free(cs_dataset_t *ds);
/* Check internal consistency (sizes, truth indices in range and ascending,
 * user ids ascending); names the offending split/row on failure. */
int cs_dataset_validate(const cs_dataset_t *ds, cs_err_t *err);

#endif

/* featurize.h: turns one cold user's registration-day events and
 * demographics into the release's feature vector (docs/features.md). The
 * same function serves offline preparation and online requests, so it takes
 * raw events (ids, not precomputed tables).
 *
 * Two parts: cs_feature_tables_build computes the lookup tables (plain
 * arrays, feature_tables.h) from a catalog and the training users;
 * cs_featurizer_create indexes a song table and such tables (id -> row
 * maps) for cs_featurizer_user. */
#ifndef COLDSTART_FEATURIZE_H
#define COLDSTART_FEATURIZE_H

#include <stdint.h>
#include "coldstart/arena.h"
#include "coldstart/error.h"
#include "coldstart/feature_tables.h"
#include "coldstart/layout.h"

/* One raw interaction. */
typedef struct cs_event {
  uint8_t action; /* cs_action_t */
  uint8_t kind;   /* cs_kind_t */
  int64_t item_id;
} cs_event_t;

/* What a featurizer call could not use, added to (caller zeroes it). */
typedef struct cs_feat_stats {
  int64_t n_events;
  int64_t n_unused_pairs;                      /* (action, kind) without a block */
  int64_t unused[CS_N_ACTIONS][CS_N_KINDS];    /* by pair */
  int64_t n_missing_items;                     /* item id not in the tables */
  int64_t missing[CS_N_KINDS];                 /* by kind */
  int64_t n_bad_events;                        /* action/kind out of range */
} cs_feat_stats_t;

/* Inputs of cs_feature_tables_build (read, not kept). */
typedef struct cs_featurizer_input {
  int dim;
  int64_t n_songs;
  const float *song_emb;      /* [n_songs x dim] */
  const int64_t *song_artist; /* [n_songs] artist id, -1 none */
  const int64_t *song_album;  /* [n_songs] album id, -1 none */
  /* playlists as (playlist id, song row) pairs; may be 0 */
  int64_t n_playlist_entries;
  const int64_t *playlist_ids;
  const int32_t *playlist_song_rows;
  /* the users the age/country tables average over (training users with a
   * target): age -1 unknown, country "" / NULL unknown */
  int64_t n_users;
  const int32_t *user_age;
  const char *const *user_country;
  const float *user_target; /* [n_users x dim] */
} cs_featurizer_input_t;

/* Compute the tables (artist/album/playlist embeddings = mean of their
 * songs', in first-appearance order; age/country = mean target of the users
 * sharing them, unknown being its own group). Arrays go into `arena`. */
int cs_feature_tables_build(cs_feature_tables_t *out, cs_arena_t *arena,
                            const cs_featurizer_input_t *in, cs_err_t *err);

typedef struct cs_featurizer cs_featurizer_t;

/* Index a song table (song_ids unique) and tables of the same dimension.
 * Ownership: the featurizer owns only its index maps; the song table and the
 * tables are borrowed from their owner (the dataset or model holding them),
 * which must outlive it. *out is freed with cs_featurizer_free. */
int cs_featurizer_create(cs_featurizer_t **out, int64_t n_songs,
                         const int64_t *song_ids, const float *song_emb,
                         const cs_feature_tables_t *tables, cs_err_t *err);
void cs_featurizer_free(cs_featurizer_t *f);

int cs_featurizer_dim(const cs_featurizer_t *f);
int cs_featurizer_n_features(const cs_featurizer_t *f);

/* Fill out[n_features] for one user (docs/features.md). age -1 = unknown;
 * country NULL or "" = unknown. No allocation; thread-safe on a shared
 * featurizer. Returns 0 or CS_EINVAL (NULL arguments). */
int cs_featurizer_user(const cs_featurizer_t *f, int32_t age,
                       const char *country, const cs_event_t *events,
                       int64_t n_events, float *out, cs_feat_stats_t *stats);

#endif

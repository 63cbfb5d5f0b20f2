/* featurize.h: turns one cold user's registration-day events and
 * demographics into the release's feature vector (DESIGN.md 4.3). The same
 * function serves offline preparation and online requests, so it takes raw
 * events (ids, not precomputed tables). */
#ifndef COLDSTART_FEATURIZE_H
#define COLDSTART_FEATURIZE_H

#include <stdint.h>
#include "coldstart/container.h"
#include "coldstart/error.h"

typedef enum {
  CS_ACTION_STREAM = 0,
  CS_ACTION_SKIP = 1,
  CS_ACTION_FAVORITE = 2,
  CS_ACTION_BAN = 3,
  CS_ACTION_SEARCH = 4,
  CS_ACTION_ONBOARDING_LIKE = 5,
  CS_N_ACTIONS = 6
} cs_action_t;

typedef enum {
  CS_KIND_SONG = 0,
  CS_KIND_ARTIST = 1,
  CS_KIND_ALBUM = 2,
  CS_KIND_PLAYLIST = 3,
  CS_N_KINDS = 4
} cs_kind_t;

/* Longest country code kept (bytes, without terminator). */
#define CS_COUNTRY_MAX 8

/* One raw interaction. */
typedef struct cs_event {
  uint8_t action; /* cs_action_t */
  uint8_t kind;   /* cs_kind_t */
  int64_t item_id;
} cs_event_t;

/* "stream", "skip", "favorite", "ban", "search", "onboarding_like" */
const char *cs_action_name(int action);
/* "song", "artist", "album", "playlist" */
const char *cs_kind_name(int kind);
/* Parse a word of `len` bytes (not necessarily terminated); -1 if unknown. */
int cs_action_parse(const char *s, size_t len);
int cs_kind_parse(const char *s, size_t len);

/* Block index (0..19, cs_feature_blocks order) an (action, kind) event
 * contributes its own item to, or -1 when the pair has no block. */
int cs_feature_block_of(int action, int kind);

/* What a featurizer call could not use, added to (caller zeroes it). */
typedef struct cs_feat_stats {
  int64_t n_events;
  int64_t n_unused_pairs;                      /* (action, kind) without a block */
  int64_t unused[CS_N_ACTIONS][CS_N_KINDS];    /* by pair */
  int64_t n_missing_items;                     /* item id not in the tables */
  int64_t missing[CS_N_KINDS];                 /* by kind */
  int64_t n_bad_events;                        /* action/kind out of range */
} cs_feat_stats_t;

typedef struct cs_featurizer cs_featurizer_t;

/* Inputs of cs_featurizer_build. Arrays are read, not kept (copied). */
typedef struct cs_featurizer_input {
  int dim;
  int64_t n_songs;
  const int64_t *song_ids;    /* [n_songs], unique */
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

/* Build the tables. *out is owned by the caller (cs_featurizer_free). */
int cs_featurizer_build(cs_featurizer_t **out, const cs_featurizer_input_t *in,
                        cs_err_t *err);
void cs_featurizer_free(cs_featurizer_t *f);

int cs_featurizer_dim(const cs_featurizer_t *f);
int cs_featurizer_n_features(const cs_featurizer_t *f);
int64_t cs_featurizer_n_songs(const cs_featurizer_t *f);
/* Table sizes, for `inspect`: songs, artists, albums, playlists, ages,
 * countries. */
void cs_featurizer_sizes(const cs_featurizer_t *f, int64_t sizes[6]);
/* Song row of a song id, -1 when unknown. */
int64_t cs_featurizer_song_row(const cs_featurizer_t *f, int64_t song_id);

/* Fill out[n_features] for one user (DESIGN.md 4.3). age -1 = unknown;
 * country NULL or "" = unknown. No allocation; thread-safe on a shared
 * featurizer. Returns 0 or CS_EINVAL (NULL arguments). */
int cs_featurizer_user(const cs_featurizer_t *f, int32_t age,
                       const char *country, const cs_event_t *events,
                       int64_t n_events, float *out, cs_feat_stats_t *stats);

/* Add the featurizer's sections, named prefix + name, to a container being
 * written. The featurizer must outlive the commit (sections by reference). */
int cs_featurizer_save(const cs_featurizer_t *f, cs_container_writer_t *w,
                       const char *prefix, cs_err_t *err);
/* Load from an open container (tables point into its map, which must
 * outlive the featurizer). *out is owned by the caller. */
int cs_featurizer_load(cs_featurizer_t **out, const cs_container_t *c,
                       const char *prefix, cs_err_t *err);
/* 1 when the container holds a featurizer under `prefix`. */
int cs_featurizer_present(const cs_container_t *c, const char *prefix);

#endif

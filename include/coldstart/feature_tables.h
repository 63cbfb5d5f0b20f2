/* feature_tables.h: the lookup tables behind the featurizer, as plain
 * arrays (docs/features.md): one embedding per artist, album and playlist
 * (the mean of its songs'), per age and per country (the mean target of the
 * training users who share it), and each song's artist and album row. The
 * song table itself (ids, embeddings) is not here: it belongs to the
 * dataset or model that holds these tables, and is stored once.
 *
 * Ownership: a cs_feature_tables_t is a view. Its arrays belong to the
 * dataset or model it is part of (their arena or their file map). */
#ifndef COLDSTART_FEATURE_TABLES_H
#define COLDSTART_FEATURE_TABLES_H

#include <stdint.h>
#include "coldstart/arena.h"
#include "coldstart/container.h"
#include "coldstart/error.h"

typedef enum {
  CS_TABLE_ARTIST = 0,
  CS_TABLE_ALBUM = 1,
  CS_TABLE_PLAYLIST = 2,
  CS_TABLE_AGE = 3,
  CS_TABLE_COUNTRY = 4,
  CS_N_TABLES = 5
} cs_table_id_t;

/* "artist", "album", "playlist", "age", "country" */
const char *cs_table_name(int table);

typedef struct cs_feature_tables {
  int32_t dim;
  int64_t n_songs;            /* rows of the owner's song table */
  int64_t n[CS_N_TABLES];     /* rows per table */
  const int64_t *keys[CS_N_TABLES]; /* [n] ids; ages (-1 unknown); country
                                       codes packed by cs_country_key */
  const float *emb[CS_N_TABLES];    /* [n x dim] */
  const int32_t *song_artist; /* [n_songs] artist row, -1 none */
  const int32_t *song_album;  /* [n_songs] album row, -1 none */
} cs_feature_tables_t;

/* Country code -> table key: its bytes, zero padded, as an int64; "" or
 * NULL (unknown) -> 0. Returns -1 when the code is longer than
 * CS_COUNTRY_MAX bytes (no table can hold it). */
int cs_country_key(const char *country, int64_t *key);

/* Check sizes and ranges (song_artist/album rows within their tables). */
int cs_feature_tables_validate(const cs_feature_tables_t *t, cs_err_t *err);

/* Add the tables as sections prefix + "meta", "<table>_id", "<table>_emb",
 * "song_artist", "song_album" (by reference: t must outlive the commit). */
int cs_feature_tables_save(const cs_feature_tables_t *t,
                           cs_container_writer_t *w, const char *prefix,
                           cs_err_t *err);
/* 1 when the container holds tables under `prefix`. */
int cs_feature_tables_present(const cs_container_t *c, const char *prefix);
/* Point *t into the container's map (the caller keeps the map alive) and
 * validate against the owner's song count and dimension. */
int cs_feature_tables_load(cs_feature_tables_t *t, const cs_container_t *c,
                           const char *prefix, int64_t n_songs, int dim,
                           cs_err_t *err);
/* Deep copy of src's arrays into `arena`; *dst views the copies. */
int cs_feature_tables_copy(cs_feature_tables_t *dst,
                           const cs_feature_tables_t *src, cs_arena_t *arena,
                           cs_err_t *err);

#endif

/* logs.h: the raw-log folder of docs/data.md (catalog.tsv, playlists.tsv,
 * users.tsv, events.tsv) read into column arrays. Every malformed line is an
 * error naming file, line and field; ids that events reference but the other
 * files do not define are counted (never silently dropped). */
#ifndef COLDSTART_LOGS_H
#define COLDSTART_LOGS_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/error.h"
#include "coldstart/layout.h"

typedef struct cs_logs {
  /* catalog.tsv, file order = song row */
  int64_t n_songs;
  int64_t *song_ids;    /* [n_songs] */
  int64_t *song_artist; /* [n_songs] artist id, -1 when empty */
  int64_t *song_album;  /* [n_songs] album id, -1 when empty */

  /* playlists.tsv (optional): entries whose song is in the catalog */
  int has_playlists;
  int64_t n_playlist_entries;
  int64_t *playlist_ids;       /* [n_playlist_entries] */
  int32_t *playlist_song_rows; /* [n_playlist_entries] */

  /* users.tsv, file order = user row */
  int64_t n_users;
  int64_t *user_ids;      /* [n_users] */
  int32_t *user_reg_day;  /* [n_users] */
  int32_t *user_age;      /* [n_users], -1 unknown */
  char (*user_country)[CS_COUNTRY_MAX + 1]; /* [n_users], "" unknown */

  /* events.tsv, file order. Under MPI (ctx->dist of several ranks) rank r
   * holds only the lines of its byte range r/N..(r+1)/N of the file
   * (docs/mpi.md); n_events_total counts the whole file's lines. */
  int64_t n_events;
  int64_t n_events_total;
  int32_t *ev_user;   /* [n_events] user row, -1 when the id is unknown */
  int32_t *ev_day;    /* [n_events] */
  uint8_t *ev_action; /* [n_events] cs_action_t */
  uint8_t *ev_kind;   /* [n_events] cs_kind_t */
  int64_t *ev_item;   /* [n_events] raw item id */
  int32_t *ev_song;   /* [n_events] song row for kind song, else -1 (also
                         -1 for a song id not in the catalog) */

  /* references to ids nobody defines (counted, reported, not fatal; the
   * whole file's counts on every rank) */
  int64_t n_unknown_user_events;         /* events whose user is unknown */
  int64_t n_unknown_items[CS_N_KINDS];   /* events whose item is unknown */
  int64_t n_playlist_unknown_songs;      /* playlist lines, song unknown */

  /* sizes and timings, for reports */
  int64_t bytes[4];   /* catalog, playlists, users, events */
  double seconds[4];
} cs_logs_t;

/* Read the folder `dir`. Returns 0, CS_ENOTFOUND (a required file is
 * missing), CS_EFORMAT (the first malformed line: "events.tsv:1042:
 * unknown action 'strem'"), CS_ENOMEM or CS_EIO. On error *logs is empty. */
int cs_logs_read(cs_logs_t *logs, const char *dir, const cs_ctx_t *ctx,
                 cs_err_t *err);
void cs_logs_free(cs_logs_t *logs);
/* Free only the event arrays (set to NULL); the counts and the other
 * files' arrays stay. */
void cs_logs_free_events(cs_logs_t *logs);

/* Total unknown references (users + items + playlist songs). */
int64_t cs_logs_n_unknown(const cs_logs_t *logs);

#endif

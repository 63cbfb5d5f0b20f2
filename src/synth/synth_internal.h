/* synth_internal.h: the generator's hidden world (styles, artists, albums,
 * songs, playlists, countries), its users and their event buffers, shared by
 * the files of src/synth/. Not a public header. */
#ifndef COLDSTART_SYNTH_INTERNAL_H
#define COLDSTART_SYNTH_INTERNAL_H

#include <stdint.h>
#include "coldstart/rng.h"
#include "coldstart/synth.h"

enum { CS__ACT_STREAM, CS__ACT_SKIP, CS__ACT_FAVORITE, CS__ACT_BAN,
       CS__ACT_SEARCH, CS__ACT_ONBOARDING };
enum { CS__KIND_SONG, CS__KIND_ARTIST, CS__KIND_ALBUM, CS__KIND_PLAYLIST };

#define CS__SYNTH_MAX_TASTES 8

/* RNG stream ids: one per purpose so that changing one part of the world
 * does not reshuffle the others. Users get stream CS__STREAM_USER + index. */
#define CS__STREAM_WORLD 1
#define CS__STREAM_PLAYLIST 2
#define CS__STREAM_REGDAYS 3
#define CS__STREAM_SONGS 4
#define CS__STREAM_USER 1000

/* The hidden world. Songs are stored grouped by artist (and album), so an
 * artist's songs are the contiguous range artist_song[a] .. artist_song[a+1).
 * External ids are shuffled independently of that order. All arrays owned. */
typedef struct cs__world {
  int dim, n_styles, n_countries;
  int64_t n_artists, n_albums, n_songs, n_playlists;
  float *style_vec;         /* [n_styles][dim] unit vectors */
  double *style_weight;     /* [n_styles], sums to 1 */
  double *style_age;        /* [n_styles] mean age of listeners */
  cs_alias_t style_alias;   /* over style_weight */
  int32_t *artist_style;    /* [n_artists] */
  float *artist_vec;        /* [n_artists][dim] unit vectors */
  double *artist_pop;       /* [n_artists] log-normal popularity */
  int64_t *artist_song;     /* [n_artists + 1] song ranges */
  int64_t *style_artist_ptr;/* [n_styles + 1] CSR of artists by style */
  int64_t *style_artists;   /* [n_artists] */
  cs_alias_t *style_artist_alias; /* [n_styles], by artist_pop */
  int32_t *song_artist;     /* [n_songs] */
  int32_t *song_album;      /* [n_songs] */
  double *song_cum;         /* [n_songs] cumulative share within its artist */
  float *song_vec;          /* [n_songs][dim] when song_spread > 0, else NULL */
  double song_sharpness;
  int64_t max_artist_songs;
  cs_alias_t chart_songs;   /* global popularity of songs */
  cs_alias_t chart_artists; /* global popularity of artists */
  int64_t *song_id, *artist_id, *album_id, *playlist_id; /* external ids */
  int32_t *album_artist;    /* [n_albums] */
  double *country_weight;   /* [n_countries] */
  cs_alias_t country_alias;
  cs_alias_t *country_styles; /* [n_countries]: preferred style mix */
  int64_t *playlist_ptr;    /* [n_playlists + 1] CSR of playlist songs */
  int32_t *playlist_songs;
  int32_t *playlist_style;  /* [n_playlists] main style */
  int64_t *style_pl_ptr;    /* [n_styles + 1] CSR of playlists by style */
  int32_t *style_pls;
} cs__world_t;

/* One user's hidden taste and its samplers (scratch owned by the user). */
typedef struct cs__user {
  int n_tastes;
  int32_t taste_style[CS__SYNTH_MAX_TASTES];
  double taste_w[CS__SYNTH_MAX_TASTES]; /* cumulative, last = 1 */
  float *vec;                           /* [dim] unit taste vector */
  double *artist_cum; /* per taste: cumulative weights over style's artists */
  int64_t artist_cum_off[CS__SYNTH_MAX_TASTES + 1];
  double *near_cum;   /* [n_styles] cumulative softmax for exploration */
  int country;        /* true country index */
  int country_known, age_known;
  int age;
  int64_t cap_artist_cum;
  double *song_w; /* [max_artist_songs] scratch for song-level taste */
} cs__user_t;

/* One event before writing: day, action, kind and internal item index. */
typedef struct cs__event {
  int64_t day;
  int32_t item;
  uint8_t action, kind;
  uint32_t seq; /* generation order, for a stable sort by day */
} cs__event_t;

/* A growable event list plus the user's played-song pool (for repeats). */
typedef struct cs__events {
  cs__event_t *ev;
  int64_t n_ev, cap_ev;
  int32_t *pool;
  int64_t n_pool, cap_pool;
  int64_t *day_of; /* session scratch: active day offsets and their taste */
  int *mood;
  uint8_t *used;
  int64_t cap_days;
} cs__events_t;

int cs__world_build(cs__world_t *w, const cs_synth_params_t *p,
                    cs_err_t *err);
void cs__world_free(cs__world_t *w);

int cs__user_init(cs__user_t *u, const cs__world_t *w, cs_err_t *err);
void cs__user_free(cs__user_t *u);
/* Draw a fresh hidden taste (styles, vector, country, age). */
int cs__user_draw(cs__user_t *u, const cs__world_t *w,
                  const cs_synth_params_t *p, cs_rng_t *rng, cs_err_t *err);
/* Songs and artists: by taste (with exploration and chart noise set by the
 * two shares), or disliked (low affinity). */
int32_t cs__user_song(const cs__user_t *u, const cs__world_t *w,
                      double chart, double explore, cs_rng_t *rng);
/* A song of the user's taste number k (by affinity), no noise. */
int32_t cs__user_taste_song(const cs__user_t *u, const cs__world_t *w, int k,
                            cs_rng_t *rng);
/* Index of a taste drawn by the user's mixture weights. */
int cs__user_pick_taste(const cs__user_t *u, cs_rng_t *rng);
int32_t cs__user_artist(const cs__user_t *u, const cs__world_t *w,
                        double chart, cs_rng_t *rng);
int32_t cs__user_disliked_song(const cs__user_t *u, const cs__world_t *w,
                               cs_rng_t *rng);
int32_t cs__user_disliked_artist(const cs__user_t *u, const cs__world_t *w,
                                 cs_rng_t *rng);
int32_t cs__user_playlist(const cs__user_t *u, const cs__world_t *w,
                          double noise, cs_rng_t *rng);
int32_t cs__artist_song(const cs__world_t *w, int64_t artist, cs_rng_t *rng);
/* A song of `artist` picked by this user: by share, tilted by song-level
 * taste when the world has song vectors. */
int32_t cs__user_artist_song(const cs__user_t *u, const cs__world_t *w,
                             int64_t artist, cs_rng_t *rng);

/* Behaviour: append one user's events (cold: registration day + days 1-30;
 * warm: long history until last_day). */
int cs__events_cold(cs__events_t *e, const cs__user_t *u, const cs__world_t *w,
                    const cs_synth_params_t *p, int64_t reg_day, int silent,
                    cs_rng_t *rng, cs_err_t *err);
int cs__events_warm(cs__events_t *e, const cs__user_t *u, const cs__world_t *w,
                    const cs_synth_params_t *p, int64_t reg_day,
                    int64_t last_day, cs_rng_t *rng, cs_err_t *err);
void cs__events_sort(cs__events_t *e);
void cs__events_free(cs__events_t *e);

/* A log-normal count with the given median and sigma, rounded. */
int64_t cs__lognormal_count(cs_rng_t *rng, double median, double sigma);

#endif

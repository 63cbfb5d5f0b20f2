/* synth.h: the synthetic music-service generator behind `coldstart synth`:
 * a hidden taste model (styles, artists, albums, songs, playlists, countries)
 * and users acting on it, written as a raw-log folder (docs/synth.md). */
#ifndef COLDSTART_SYNTH_H
#define COLDSTART_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/error.h"

/* Every knob of the generator, one line each:
 * X(flag, field, is_int, tiny, small, deezer, lo, hi, help)
 * `flag` is the long option (--flag), `field` the cs_synth_params_t member
 * (int64_t when is_int, else double), then the default at each scale, the
 * accepted range and a one-line help. docs/synth.md explains the choices. */
#define CS_SYNTH_KNOBS(X)                                                      \
  X("songs", n_songs, 1, 500, 5000, 50000, 20, 5000000,                      \
    "songs in the catalog")                                                    \
  X("cold-users", n_cold_users, 1, 1000, 10000, 100000, 10, 10000000,        \
    "cold cohort users (registered on the last cohort-days days)")             \
  X("warm-users", n_warm_users, 1, 1500, 12000, 60000, 10, 10000000,         \
    "warm-history users (registered before the cohort)")                       \
  X("playlists", n_playlists, 1, 40, 400, 4000, 1, 1000000,                  \
    "editorial/user playlists")                                                \
  X("styles", n_styles, 1, 8, 24, 40, 2, 10000,                             \
    "hidden styles (random unit vectors in the latent space)")                 \
  X("latent-dim", latent_dim, 1, 16, 16, 16, 2, 256,                         \
    "dimension of the hidden taste space")                                     \
  X("countries", n_countries, 1, 8, 20, 30, 1, 40,                           \
    "countries (two-letter codes, Zipf-sized)")                                \
  X("first-day", first_day, 1, 18000, 18000, 18000, 0, 1000000000,           \
    "day number of the first warm registration")                               \
  X("history-days", history_days, 1, 90, 120, 120, 1, 100000,               \
    "days over which warm users register")                                     \
  X("cohort-days", cohort_days, 1, 7, 7, 7, 1, 1000,                         \
    "registration days of the cold cohort (after the history)")                \
  X("songs-per-album", songs_per_album, 0, 5, 6, 6, 1, 100,                  \
    "mean songs per album (1 + Poisson)")                                      \
  X("albums-per-artist", albums_per_artist, 0, 1.5, 2, 2, 1, 100,        \
    "mean albums per artist (1 + Poisson)")                                    \
  X("style-skew", style_skew, 0, 2, 2, 2, 0.05, 100,                         \
    "Gamma shape of style sizes (small = few big styles)")                     \
  X("artist-pop-sigma", artist_pop_sigma, 0, 1.8, 1.4, 1.4, 0, 5,            \
    "log-normal sigma of artist popularity")                                   \
  X("track-zipf", track_zipf, 0, 1.0, 1.0, 1.0, 0, 5,                        \
    "Zipf exponent of songs within an artist (hits vs deep cuts)")             \
  X("artist-spread", artist_spread, 0, 0.5, 0.5, 0.5, 0, 10,                 \
    "noise of an artist's vector around its style")                           \
  X("user-spread", user_spread, 0, 0.5, 0.5, 0.5, 0, 10,                  \
    "noise of a user's taste vector around their style mixture")               \
  X("taste-sharpness", taste_sharpness, 0, 8, 8, 8, 0, 50,                   \
    "beta in exp(beta*<taste,artist>): how picky users are")                   \
  X("extra-taste", extra_taste, 0, 0.45, 0.45, 0.45, 0, 1,                   \
    "chance of each taste beyond the first")                                   \
  X("max-tastes", max_tastes, 1, 3, 3, 3, 1, 8, "most tastes a user mixes")   \
  X("explore", explore, 0, 0.12, 0.12, 0.12, 0, 1,                           \
    "share of plays from styles near the user's taste")                        \
  X("chart", chart, 0, 0.12, 0.12, 0.12, 0, 1,                               \
    "share of plays drawn from global popularity")                             \
  X("repeat", repeat, 0, 0.3, 0.3, 0.3, 0, 0.95,                             \
    "chance a play replays a song the user already played this month")         \
  X("country-taste", country_taste, 0, 0.5, 0.5, 0.5, 0, 1,                  \
    "chance a taste is drawn from the country's preferred styles")             \
  X("age-sd", age_sd, 0, 7, 7, 7, 0, 50,                                     \
    "sd of age around the mean age of the user's main style")                  \
  X("unknown-age", unknown_age, 0, 0.15, 0.15, 0.15, 0, 1,                   \
    "share of users with an empty age")                                        \
  X("unknown-country", unknown_country, 0, 0.08, 0.08, 0.08, 0, 1,           \
    "share of users with an empty country")                                    \
  X("d0-silent", d0_silent, 0, 0.05, 0.05, 0.05, 0, 1,                       \
    "share of cold users with no registration-day event")                      \
  X("d0-streams", d0_streams, 0, 5, 5, 5, 0, 1000,                           \
    "median registration-day streams (log-normal, sigma 1)")                   \
  X("d0-noise", d0_noise, 0, 0.35, 0.35, 0.35, 0, 1,                         \
    "share of other registration-day items unrelated to taste")                      \
  X("d0-stream-noise", d0_stream_noise, 0, 0.6, 0.6, 0.6, 0, 1,             \
    "share of registration-day streams from charts/onboarding flows")         \
  X("d0-onboarding", d0_onboarding, 0, 0.5, 0.5, 0.5, 0, 1,                  \
    "share of cold users who like artists at onboarding")                      \
  X("d0-actions", d0_actions, 0, 1, 1, 1, 0, 100,                            \
    "multiplier of registration-day favorites, searches and bans")            \
  X("month-plays", month_plays, 0, 50, 50, 50, 0, 100000,                    \
    "median plays in days 1-30 (log-normal)")                                  \
  X("month-sigma", month_sigma, 0, 0.9, 0.9, 0.9, 0, 5,                      \
    "log-normal sigma of days 1-30 plays")                                     \
  X("churn", churn, 0, 0.03, 0.03, 0.03, 0, 1,                               \
    "share of cold users with no play in days 1-30")                           \
  X("warm-plays", warm_plays, 0, 100, 100, 100, 1, 100000,                   \
    "median streams of a warm-history user (log-normal)")                      \
  X("warm-sigma", warm_sigma, 0, 0.7, 0.7, 0.7, 0, 5,                        \
    "log-normal sigma of warm-history streams")                                \
  X("session-plays", session_plays, 0, 12, 12, 12, 1, 10000,                \
    "mean plays per active day (a day's plays form one session)")             \
  X("session-focus", session_focus, 0, 0.6, 0.6, 0.6, 0, 1,                  \
    "share of a session's new songs from that day's single taste")            \
  X("song-spread", song_spread, 0, 0, 0, 0, 0, 10,                          \
    "noise of a song's vector around its artist's (0: songs share it)")        \
  X("song-sharpness", song_sharpness, 0, 8, 8, 8, 0, 50,                     \
    "beta for picking songs within an artist when song-spread > 0")           \
  X("playlist-len", playlist_len, 0, 30, 30, 30, 1, 10000,                   \
    "mean songs per playlist (10 + Poisson)")

typedef struct cs_synth_params {
  uint64_t seed;
#define CS__SYNTH_FIELD(flag, field, is_int, a, b, c, lo, hi, help) \
  CS__SYNTH_FIELD_##is_int(field)
#define CS__SYNTH_FIELD_1(field) int64_t field;
#define CS__SYNTH_FIELD_0(field) double field;
  CS_SYNTH_KNOBS(CS__SYNTH_FIELD)
  char scale[16]; /* "tiny", "small", "deezer" or "custom" (informational) */
  char preset[32]; /* the preset applied on top of the scale, or "" */
} cs_synth_params_t;

/* Description of one knob, for the CLI and world.json. */
typedef struct cs_synth_knob {
  const char *flag;
  const char *help;
  int is_int;
  size_t offset;      /* of the int64_t / double field in cs_synth_params_t */
  double defaults[3]; /* tiny, small, deezer */
  double lo, hi;
} cs_synth_knob_t;

/* The knob table (static storage) and its length. */
const cs_synth_knob_t *cs_synth_knobs(int *n_knobs);
/* Read / write a knob's value in `p` as a double. */
double cs_synth_knob_get(const cs_synth_params_t *p, const cs_synth_knob_t *k);
void cs_synth_knob_set(cs_synth_params_t *p, const cs_synth_knob_t *k,
                       double value);

/* Fill `p` with the defaults of scale "tiny", "small" or "deezer" and the
 * seed. CS_EINVAL (naming the scale) otherwise. */
int cs_synth_params_default(cs_synth_params_t *p, const char *scale,
                            uint64_t seed, cs_err_t *err);
/* A preset: a named world character, a few knob values applied on top of a
 * scale's defaults (explicit knob flags still override them). A setting
 * with `scaled` multiplies the scale's default (sizes: --songs x 0.2), the
 * others replace it. */
typedef struct cs_synth_setting {
  const char *flag; /* a knob's flag, as in CS_SYNTH_KNOBS */
  double value;
  int scaled;
} cs_synth_setting_t;

typedef struct cs_synth_preset {
  const char *name;
  const char *help; /* one line */
  const cs_synth_setting_t *settings;
  int n_settings;
} cs_synth_preset_t;

/* The preset table (static storage) and its length. */
const cs_synth_preset_t *cs_synth_presets(int *n_presets);
/* Apply preset `name` to `p`, which must hold a scale's defaults (call it
 * right after cs_synth_params_default, before any explicit knob) and record
 * the name in p->preset. CS_EINVAL naming `name` and listing the valid
 * presets when there is no such preset; CS_ERANGE naming the preset and the
 * knob when a scaled value falls outside the knob's range. */
int cs_synth_preset_apply(cs_synth_params_t *p, const char *name,
                          cs_err_t *err);

/* Check every knob against its range and the cross-knob constraints. */
int cs_synth_params_check(const cs_synth_params_t *p, cs_err_t *err);

/* Summary statistics of a generated world (also written to world.json). */
typedef struct cs_synth_stats {
  int64_t n_songs, n_artists, n_albums, n_playlists, n_playlist_rows;
  int64_t n_warm_users, n_cold_users;
  int64_t first_day, cohort_first_day, cohort_last_day, last_day;
  int64_t n_events;
  int64_t events_by[6][4]; /* [action][kind], orders of cs_synth_actions() */
  int64_t n_streams;
  double top1_share;       /* share of all streams on the top 1% songs */
  double month_top1_share; /* same over cold users' days 1-30 streams */
  int64_t n_cold_silent;   /* cold users with no registration-day event */
  int64_t n_cold_no_month; /* cold users with no days 1-30 stream */
  double month_songs_median, month_songs_p90; /* distinct songs, cold users */
  int64_t month_songs_max, n_cold_over_100;
  double d0_events_mean;   /* registration-day events per cold user */
  int64_t n_unknown_age, n_unknown_country; /* over all users */
  int64_t bytes_events;
  double seconds;          /* wall time (log only; not in world.json) */
} cs_synth_stats_t;

/* Action and kind words in the order of cs_synth_stats_t.events_by. */
const char *const *cs_synth_actions(void); /* 6 words */
const char *const *cs_synth_kinds(void);   /* 4 words */

/* Generate the world of `p` into directory `out_dir` (created if missing):
 * catalog.tsv, playlists.tsv, users.tsv, events.tsv and world.json. Each file
 * is written to a temporary name and renamed only once all five are
 * complete. An existing non-empty out_dir is refused (CS_EINVAL) unless
 * `force`. Progress per phase on ctx. `stats` (may be NULL) receives the
 * summary. Same params, same bytes. */
int cs_synth_generate(const cs_synth_params_t *p, const char *out_dir,
                      int force, const cs_ctx_t *ctx, cs_synth_stats_t *stats,
                      cs_err_t *err);

#endif

/* world.c: builds the generator's hidden world (styles as unit vectors in a
 * latent taste space, artists around styles, albums, songs with power-law
 * popularity, countries with preferred styles, playlists) and draws users'
 * hidden tastes and the songs/artists/playlists they pick. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/synth_internal.h"

#define CS__ARTIST_ID_BASE 200001
#define CS__ALBUM_ID_BASE 300001
#define CS__PLAYLIST_ID_BASE 400001

static double dotf(const float *a, const float *b, int dim) {
  double s = 0.0;
  for (int i = 0; i < dim; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static void normalize(double *v, int dim) {
  double s = 0.0;
  for (int i = 0; i < dim; i++) s += v[i] * v[i];
  s = s > 0.0 ? 1.0 / sqrt(s) : 0.0;
  for (int i = 0; i < dim; i++) v[i] *= s;
}

/* First i in [lo, hi) with cum[i] > x (cum ascending); hi - 1 when none. */
static int64_t search_cum(const double *cum, int64_t lo, int64_t hi, double x) {
  int64_t a = lo, b = hi - 1;
  while (a < b) {
    int64_t mid = a + (b - a) / 2;
    if (cum[mid] > x)
      b = mid;
    else
      a = mid + 1;
  }
  return a;
}

/* A random permutation of [0, n) as ids base .. base + n - 1. */
static int64_t *shuffled_ids(cs_rng_t *rng, int64_t n, int64_t base) {
  int64_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
  if (!ids) return NULL;
  for (int64_t i = 0; i < n; i++) ids[i] = base + i;
  cs_rng_shuffle_i64(rng, ids, n);
  return ids;
}

void cs__world_free(cs__world_t *w) {
  if (!w) return;
  free(w->style_vec);
  free(w->style_weight);
  free(w->style_age);
  cs_alias_free(&w->style_alias);
  free(w->artist_style);
  free(w->artist_vec);
  free(w->artist_pop);
  free(w->artist_song);
  free(w->style_artist_ptr);
  free(w->style_artists);
  if (w->style_artist_alias)
    for (int c = 0; c < w->n_styles; c++)
      cs_alias_free(&w->style_artist_alias[c]);
  free(w->style_artist_alias);
  free(w->song_artist);
  free(w->song_album);
  free(w->song_cum);
  free(w->song_vec);
  cs_alias_free(&w->chart_songs);
  cs_alias_free(&w->chart_artists);
  free(w->song_id);
  free(w->artist_id);
  free(w->album_id);
  free(w->playlist_id);
  free(w->album_artist);
  free(w->country_weight);
  cs_alias_free(&w->country_alias);
  if (w->country_styles)
    for (int c = 0; c < w->n_countries; c++)
      cs_alias_free(&w->country_styles[c]);
  free(w->country_styles);
  free(w->playlist_ptr);
  free(w->playlist_songs);
  free(w->playlist_style);
  free(w->style_pl_ptr);
  free(w->style_pls);
  memset(w, 0, sizeof *w);
}

/* Styles, their sizes and listener ages; countries and their style mixes. */
static int build_styles(cs__world_t *w, const cs_synth_params_t *p,
                        cs_rng_t *rng) {
  int dim = w->dim, n = w->n_styles;
  double *tmp = malloc((size_t)dim * sizeof *tmp);
  w->style_vec = malloc((size_t)n * dim * sizeof *w->style_vec);
  w->style_weight = malloc((size_t)n * sizeof *w->style_weight);
  w->style_age = malloc((size_t)n * sizeof *w->style_age);
  if (!tmp || !w->style_vec || !w->style_weight || !w->style_age) {
    free(tmp);
    return CS_ENOMEM;
  }
  double total = 0.0;
  for (int c = 0; c < n; c++) {
    for (int i = 0; i < dim; i++) tmp[i] = cs_rng_normal(rng);
    normalize(tmp, dim);
    for (int i = 0; i < dim; i++) w->style_vec[(size_t)c * dim + i] = (float)tmp[i];
    w->style_weight[c] = cs_rng_gamma(rng, p->style_skew) + 1e-6;
    total += w->style_weight[c];
    w->style_age[c] = 17.0 + 38.0 * cs_rng_uniform(rng);
  }
  free(tmp);
  for (int c = 0; c < n; c++) w->style_weight[c] /= total;
  int rc = cs_alias_init(&w->style_alias, w->style_weight, n);
  if (rc) return rc;

  int nc = w->n_countries;
  w->country_weight = malloc((size_t)nc * sizeof *w->country_weight);
  w->country_styles = calloc((size_t)nc, sizeof *w->country_styles);
  double *pref = malloc((size_t)n * sizeof *pref);
  if (!w->country_weight || !w->country_styles || !pref) {
    free(pref);
    return CS_ENOMEM;
  }
  for (int k = 0; k < nc; k++) {
    w->country_weight[k] = 1.0 / (double)(k + 1); /* Zipf-sized countries */
    /* a few local favourites: Gamma(0.3) multipliers are mostly tiny */
    for (int c = 0; c < n; c++)
      pref[c] = w->style_weight[c] * (cs_rng_gamma(rng, 0.3) + 1e-9);
    rc = cs_alias_init(&w->country_styles[k], pref, n);
    if (rc) break;
  }
  free(pref);
  if (rc) return rc;
  return cs_alias_init(&w->country_alias, w->country_weight, nc);
}

/* Artists -> albums -> songs, popularity, the style index and charts. */
static int build_catalog(cs__world_t *w, const cs_synth_params_t *p,
                         cs_rng_t *rng) {
  int64_t n_songs = p->n_songs, cap_art = 64, cap_alb = 64;
  int dim = w->dim;
  w->song_artist = malloc((size_t)n_songs * sizeof *w->song_artist);
  w->song_album = malloc((size_t)n_songs * sizeof *w->song_album);
  w->song_cum = malloc((size_t)n_songs * sizeof *w->song_cum);
  w->artist_song = malloc((size_t)(cap_art + 1) * sizeof *w->artist_song);
  w->album_artist = malloc((size_t)cap_alb * sizeof *w->album_artist);
  if (!w->song_artist || !w->song_album || !w->song_cum || !w->artist_song ||
      !w->album_artist)
    return CS_ENOMEM;
  int64_t s = 0, a = 0, al = 0;
  w->artist_song[0] = 0;
  while (s < n_songs) {
    if (a + 1 >= cap_art) {
      cap_art *= 2;
      int64_t *t = realloc(w->artist_song, (size_t)(cap_art + 1) * sizeof *t);
      if (!t) return CS_ENOMEM;
      w->artist_song = t;
    }
    int64_t n_alb = 1 + (int64_t)cs_rng_poisson(rng, p->albums_per_artist - 1);
    for (int64_t k = 0; k < n_alb && s < n_songs; k++) {
      if (al >= cap_alb) {
        cap_alb *= 2;
        int32_t *t = realloc(w->album_artist, (size_t)cap_alb * sizeof *t);
        if (!t) return CS_ENOMEM;
        w->album_artist = t;
      }
      w->album_artist[al] = (int32_t)a;
      int64_t len = 1 + (int64_t)cs_rng_poisson(rng, p->songs_per_album - 1);
      for (int64_t j = 0; j < len && s < n_songs; j++, s++) {
        w->song_artist[s] = (int32_t)a;
        w->song_album[s] = (int32_t)al;
      }
      al++;
    }
    a++;
    w->artist_song[a] = s;
  }
  w->n_artists = a;
  w->n_albums = al;
  if (w->n_artists < w->n_styles) return CS_ERANGE;

  /* within an artist: Zipf shares over a random order of its songs */
  for (int64_t ar = 0; ar < w->n_artists; ar++) {
    int64_t lo = w->artist_song[ar], hi = w->artist_song[ar + 1];
    double total = 0.0;
    for (int64_t i = lo; i < hi; i++) {
      int64_t rank = 1 + (int64_t)cs_rng_below(rng, (uint64_t)(hi - lo));
      w->song_cum[i] = pow((double)rank, -p->track_zipf) *
                       exp(0.3 * cs_rng_normal(rng));
      total += w->song_cum[i];
    }
    double acc = 0.0;
    for (int64_t i = lo; i < hi; i++) {
      acc += w->song_cum[i] / total;
      w->song_cum[i] = acc;
    }
    w->song_cum[hi - 1] = 1.0;
  }

  /* artists: a style, a vector near it, a log-normal popularity */
  int64_t na = w->n_artists;
  w->artist_style = malloc((size_t)na * sizeof *w->artist_style);
  w->artist_vec = malloc((size_t)na * dim * sizeof *w->artist_vec);
  w->artist_pop = malloc((size_t)na * sizeof *w->artist_pop);
  w->style_artist_ptr = calloc((size_t)w->n_styles + 1, sizeof(int64_t));
  w->style_artists = malloc((size_t)na * sizeof *w->style_artists);
  w->style_artist_alias = calloc((size_t)w->n_styles, sizeof(cs_alias_t));
  double *tmp = malloc((size_t)(dim > na ? dim : na) * sizeof *tmp);
  double *style_pop = calloc((size_t)w->n_styles, sizeof *style_pop);
  if (!w->artist_style || !w->artist_vec || !w->artist_pop ||
      !w->style_artist_ptr || !w->style_artists || !w->style_artist_alias ||
      !tmp || !style_pop) {
    free(tmp);
    free(style_pop);
    return CS_ENOMEM;
  }
  double spread = p->artist_spread / sqrt((double)dim);
  for (int64_t ar = 0; ar < na; ar++) {
    /* the first n_styles artists seed every style so none is empty */
    int c = ar < w->n_styles ? (int)ar
                             : (int)cs_alias_sample(&w->style_alias, rng);
    w->artist_style[ar] = c;
    for (int i = 0; i < dim; i++)
      tmp[i] = w->style_vec[(size_t)c * dim + i] + spread * cs_rng_normal(rng);
    normalize(tmp, dim);
    for (int i = 0; i < dim; i++) w->artist_vec[(size_t)ar * dim + i] = (float)tmp[i];
    w->artist_pop[ar] = exp(p->artist_pop_sigma * cs_rng_normal(rng));
    w->style_artist_ptr[c + 1]++;
    style_pop[c] += w->artist_pop[ar];
  }
  for (int c = 0; c < w->n_styles; c++)
    w->style_artist_ptr[c + 1] += w->style_artist_ptr[c];
  int64_t *fill = malloc((size_t)w->n_styles * sizeof *fill);
  if (!fill) {
    free(tmp);
    free(style_pop);
    return CS_ENOMEM;
  }
  memcpy(fill, w->style_artist_ptr, (size_t)w->n_styles * sizeof *fill);
  for (int64_t ar = 0; ar < na; ar++)
    w->style_artists[fill[w->artist_style[ar]]++] = ar;
  free(fill);
  int rc = CS_OK;
  for (int c = 0; c < w->n_styles && !rc; c++) {
    int64_t lo = w->style_artist_ptr[c], hi = w->style_artist_ptr[c + 1];
    for (int64_t i = lo; i < hi; i++)
      tmp[i - lo] = w->artist_pop[w->style_artists[i]];
    rc = cs_alias_init(&w->style_artist_alias[c], tmp, hi - lo);
  }
  /* charts: style share x artist share within style (x song share) */
  if (!rc) {
    for (int64_t ar = 0; ar < na; ar++) {
      int c = w->artist_style[ar];
      tmp[ar] = w->style_weight[c] * w->artist_pop[ar] / style_pop[c];
    }
    rc = cs_alias_init(&w->chart_artists, tmp, na);
  }
  free(style_pop);
  if (!rc) {
    double *q = malloc((size_t)n_songs * sizeof *q);
    if (!q) {
      free(tmp);
      return CS_ENOMEM;
    }
    for (int64_t i = 0; i < n_songs; i++) {
      int64_t ar = w->song_artist[i];
      double prev = i > w->artist_song[ar] ? w->song_cum[i - 1] : 0.0;
      q[i] = tmp[ar] * (w->song_cum[i] - prev) + 1e-12;
    }
    rc = cs_alias_init(&w->chart_songs, q, n_songs);
    free(q);
  }
  free(tmp);
  return rc;
}

/* Playlists: each one is a pseudo-listener with its own taste. */
static int build_playlists(cs__world_t *w, const cs_synth_params_t *p,
                           cs_err_t *err) {
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, p->seed, CS__STREAM_PLAYLIST);
  int64_t np = w->n_playlists, cap = np * 40 + 64, n_rows = 0;
  w->playlist_ptr = malloc((size_t)(np + 1) * sizeof *w->playlist_ptr);
  w->playlist_songs = malloc((size_t)cap * sizeof *w->playlist_songs);
  w->playlist_style = malloc((size_t)np * sizeof *w->playlist_style);
  w->style_pl_ptr = calloc((size_t)w->n_styles + 1, sizeof *w->style_pl_ptr);
  w->style_pls = malloc((size_t)np * sizeof *w->style_pls);
  uint8_t *seen = calloc((size_t)w->n_songs, 1);
  cs__user_t u;
  memset(&u, 0, sizeof u);
  int rc = (!w->playlist_ptr || !w->playlist_songs || !w->playlist_style ||
            !w->style_pl_ptr || !w->style_pls || !seen)
               ? CS_ENOMEM
               : cs__user_init(&u, w, err);
  w->playlist_ptr[0] = 0;
  for (int64_t pl = 0; pl < np && !rc; pl++) {
    rc = cs__user_draw(&u, w, p, &rng, err);
    if (rc) break;
    w->playlist_style[pl] = u.taste_style[0];
    w->style_pl_ptr[u.taste_style[0] + 1]++;
    double extra = p->playlist_len > 10 ? p->playlist_len - 10 : 0;
    int64_t len = 10 + (int64_t)cs_rng_poisson(&rng, extra);
    if (len > w->n_songs) len = w->n_songs;
    int64_t start = n_rows;
    for (int64_t tries = 0; n_rows - start < len && tries < 4 * len; tries++) {
      int32_t s = cs__user_song(&u, w, 0.05, 0.05, &rng);
      if (seen[s]) continue;
      seen[s] = 1;
      if (n_rows >= cap) {
        cap *= 2;
        int32_t *t = realloc(w->playlist_songs, (size_t)cap * sizeof *t);
        if (!t) {
          rc = CS_ENOMEM;
          break;
        }
        w->playlist_songs = t;
      }
      w->playlist_songs[n_rows++] = s;
    }
    for (int64_t i = start; i < n_rows; i++) seen[w->playlist_songs[i]] = 0;
    w->playlist_ptr[pl + 1] = n_rows;
  }
  cs__user_free(&u);
  free(seen);
  if (rc) return rc;
  for (int c = 0; c < w->n_styles; c++)
    w->style_pl_ptr[c + 1] += w->style_pl_ptr[c];
  int64_t *fill = malloc((size_t)w->n_styles * sizeof *fill);
  if (!fill) return CS_ENOMEM;
  memcpy(fill, w->style_pl_ptr, (size_t)w->n_styles * sizeof *fill);
  for (int64_t pl = 0; pl < np; pl++)
    w->style_pls[fill[w->playlist_style[pl]]++] = (int32_t)pl;
  free(fill);
  return CS_OK;
}

/* Song-level taste (only when song_spread > 0, from its own RNG stream so
 * the rest of the world does not change): a song's vector is its artist's
 * plus noise. */
static int build_song_vectors(cs__world_t *w, const cs_synth_params_t *p) {
  for (int64_t a = 0; a < w->n_artists; a++) {
    int64_t len = w->artist_song[a + 1] - w->artist_song[a];
    if (len > w->max_artist_songs) w->max_artist_songs = len;
  }
  w->song_sharpness = p->song_sharpness;
  if (p->song_spread <= 0.0) return CS_OK;
  int dim = w->dim;
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, p->seed, CS__STREAM_SONGS);
  w->song_vec = malloc((size_t)w->n_songs * dim * sizeof *w->song_vec);
  if (!w->song_vec) return CS_ENOMEM;
  double v[256], spread = p->song_spread / sqrt((double)dim);
  for (int64_t s = 0; s < w->n_songs; s++) {
    const float *av = w->artist_vec + (size_t)w->song_artist[s] * dim;
    for (int i = 0; i < dim; i++) v[i] = av[i] + spread * cs_rng_normal(&rng);
    normalize(v, dim);
    for (int i = 0; i < dim; i++) w->song_vec[(size_t)s * dim + i] = (float)v[i];
  }
  return CS_OK;
}

int cs__world_build(cs__world_t *w, const cs_synth_params_t *p,
                    cs_err_t *err) {
  memset(w, 0, sizeof *w);
  w->dim = (int)p->latent_dim;
  w->n_styles = (int)p->n_styles;
  w->n_countries = (int)p->n_countries;
  w->n_songs = p->n_songs;
  w->n_playlists = p->n_playlists;
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, p->seed, CS__STREAM_WORLD);
  int rc = build_styles(w, p, &rng);
  if (!rc) rc = build_catalog(w, p, &rng);
  if (!rc) {
    w->song_id = shuffled_ids(&rng, w->n_songs, 1);
    w->artist_id = shuffled_ids(&rng, w->n_artists, CS__ARTIST_ID_BASE);
    w->album_id = shuffled_ids(&rng, w->n_albums, CS__ALBUM_ID_BASE);
    w->playlist_id = shuffled_ids(&rng, w->n_playlists, CS__PLAYLIST_ID_BASE);
    if (!w->song_id || !w->artist_id || !w->album_id || !w->playlist_id)
      rc = CS_ENOMEM;
  }
  if (!rc) rc = build_song_vectors(w, p);
  if (!rc) rc = build_playlists(w, p, err);
  if (rc) {
    cs__world_free(w);
    if (!err || err->code == CS_OK)
      cs_err_set(err, rc, "building the synthetic world");
    return rc;
  }
  return CS_OK;
}

/* ---- users ---- */

int cs__user_init(cs__user_t *u, const cs__world_t *w, cs_err_t *err) {
  memset(u, 0, sizeof *u);
  u->vec = malloc((size_t)w->dim * sizeof *u->vec);
  u->near_cum = malloc((size_t)w->n_styles * sizeof *u->near_cum);
  u->cap_artist_cum = 256;
  u->artist_cum = malloc((size_t)u->cap_artist_cum * sizeof *u->artist_cum);
  u->song_w = malloc((size_t)(w->max_artist_songs + 1) * sizeof *u->song_w);
  if (!u->vec || !u->near_cum || !u->artist_cum || !u->song_w) {
    cs__user_free(u);
    return cs_err_set(err, CS_ENOMEM, "user scratch");
  }
  return CS_OK;
}

void cs__user_free(cs__user_t *u) {
  if (!u) return;
  free(u->vec);
  free(u->near_cum);
  free(u->artist_cum);
  free(u->song_w);
  memset(u, 0, sizeof *u);
}

int cs__user_draw(cs__user_t *u, const cs__world_t *w,
                  const cs_synth_params_t *p, cs_rng_t *rng, cs_err_t *err) {
  int dim = w->dim;
  u->country = (int)cs_alias_sample(&w->country_alias, rng);
  int n = 1;
  while (n < p->max_tastes && cs_rng_uniform(rng) < p->extra_taste) n++;
  u->n_tastes = 0;
  double wsum = 0.0, wt[CS__SYNTH_MAX_TASTES];
  for (int k = 0; k < n; k++) {
    int32_t c = 0;
    int fresh = 0;
    for (int tries = 0; tries < 32 && !fresh; tries++) {
      c = cs_rng_uniform(rng) < p->country_taste
              ? (int32_t)cs_alias_sample(&w->country_styles[u->country], rng)
              : (int32_t)cs_alias_sample(&w->style_alias, rng);
      fresh = 1;
      for (int j = 0; j < u->n_tastes; j++)
        if (u->taste_style[j] == c) fresh = 0;
    }
    if (!fresh) continue;
    u->taste_style[u->n_tastes] = c;
    wt[u->n_tastes] = cs_rng_gamma(rng, 2.0) + 1e-9;
    wsum += wt[u->n_tastes];
    u->n_tastes++;
  }
  /* main taste first (largest weight) */
  for (int k = 1; k < u->n_tastes; k++)
    if (wt[k] > wt[0]) {
      double tw = wt[0];
      int32_t ts = u->taste_style[0];
      wt[0] = wt[k], u->taste_style[0] = u->taste_style[k];
      wt[k] = tw, u->taste_style[k] = ts;
    }
  double v[256], acc = 0.0;
  double spread = p->user_spread / sqrt((double)dim);
  for (int i = 0; i < dim; i++) v[i] = spread * cs_rng_normal(rng);
  for (int k = 0; k < u->n_tastes; k++) {
    const float *sv = w->style_vec + (size_t)u->taste_style[k] * dim;
    for (int i = 0; i < dim; i++) v[i] += wt[k] / wsum * sv[i];
    acc += wt[k] / wsum;
    u->taste_w[k] = acc;
  }
  u->taste_w[u->n_tastes - 1] = 1.0;
  normalize(v, dim);
  for (int i = 0; i < dim; i++) u->vec[i] = (float)v[i];

  double age = w->style_age[u->taste_style[0]] + p->age_sd * cs_rng_normal(rng);
  u->age = (int)lround(age < 13 ? 13 : age > 85 ? 85 : age);
  u->age_known = cs_rng_uniform(rng) >= p->unknown_age;
  u->country_known = cs_rng_uniform(rng) >= p->unknown_country;

  /* per-taste artist samplers: popularity x exp(beta (<taste, artist> - 1)) */
  int64_t need = 0;
  for (int k = 0; k < u->n_tastes; k++) {
    int c = u->taste_style[k];
    need += w->style_artist_ptr[c + 1] - w->style_artist_ptr[c];
  }
  if (need > u->cap_artist_cum) {
    double *t = realloc(u->artist_cum, (size_t)need * sizeof *t);
    if (!t) return cs_err_set(err, CS_ENOMEM, "user artist sampler");
    u->artist_cum = t;
    u->cap_artist_cum = need;
  }
  double beta = p->taste_sharpness;
  int64_t off = 0;
  for (int k = 0; k < u->n_tastes; k++) {
    int c = u->taste_style[k];
    u->artist_cum_off[k] = off;
    double cum = 0.0;
    for (int64_t i = w->style_artist_ptr[c]; i < w->style_artist_ptr[c + 1]; i++) {
      int64_t a = w->style_artists[i];
      double d = dotf(u->vec, w->artist_vec + (size_t)a * dim, dim);
      cum += w->artist_pop[a] * exp(beta * (d - 1.0));
      u->artist_cum[off++] = cum;
    }
  }
  u->artist_cum_off[u->n_tastes] = off;
  double cum = 0.0;
  for (int c = 0; c < w->n_styles; c++) {
    double d = dotf(u->vec, w->style_vec + (size_t)c * dim, dim);
    cum += w->style_weight[c] * exp(beta * (d - 1.0));
    u->near_cum[c] = cum;
  }
  return CS_OK;
}

int32_t cs__artist_song(const cs__world_t *w, int64_t artist, cs_rng_t *rng) {
  return (int32_t)search_cum(w->song_cum, w->artist_song[artist],
                             w->artist_song[artist + 1], cs_rng_uniform(rng));
}

int cs__user_pick_taste(const cs__user_t *u, cs_rng_t *rng) {
  return (int)search_cum(u->taste_w, 0, u->n_tastes, cs_rng_uniform(rng));
}

int32_t cs__user_artist_song(const cs__user_t *u, const cs__world_t *w,
                             int64_t artist, cs_rng_t *rng) {
  if (!w->song_vec) return cs__artist_song(w, artist, rng);
  int64_t lo = w->artist_song[artist], hi = w->artist_song[artist + 1];
  double cum = 0.0, prev = 0.0;
  for (int64_t s = lo; s < hi; s++) {
    double d = dotf(u->vec, w->song_vec + (size_t)s * w->dim, w->dim);
    cum += (w->song_cum[s] - prev) * exp(w->song_sharpness * (d - 1.0));
    prev = w->song_cum[s];
    u->song_w[s - lo] = cum;
  }
  double x = cs_rng_uniform(rng) * cum;
  return (int32_t)(lo + search_cum(u->song_w, 0, hi - lo, x));
}

/* An artist of the user's taste k, by the user's affinity. */
static int64_t taste_k_artist(const cs__user_t *u, const cs__world_t *w, int k,
                              cs_rng_t *rng) {
  int64_t lo = u->artist_cum_off[k], hi = u->artist_cum_off[k + 1];
  double x = cs_rng_uniform(rng) * u->artist_cum[hi - 1];
  int64_t i = search_cum(u->artist_cum, lo, hi, x);
  return w->style_artists[w->style_artist_ptr[u->taste_style[k]] + (i - lo)];
}

/* An artist of one of the user's tastes, by the user's affinity. */
static int64_t taste_artist(const cs__user_t *u, const cs__world_t *w,
                            cs_rng_t *rng) {
  return taste_k_artist(u, w, cs__user_pick_taste(u, rng), rng);
}

int32_t cs__user_taste_song(const cs__user_t *u, const cs__world_t *w, int k,
                            cs_rng_t *rng) {
  return cs__user_artist_song(u, w, taste_k_artist(u, w, k, rng), rng);
}

/* An artist of a style near the user's taste, by popularity. */
static int64_t near_artist(const cs__user_t *u, const cs__world_t *w,
                           cs_rng_t *rng) {
  double x = cs_rng_uniform(rng) * u->near_cum[w->n_styles - 1];
  int64_t c = search_cum(u->near_cum, 0, w->n_styles, x);
  int64_t i = cs_alias_sample(&w->style_artist_alias[c], rng);
  return w->style_artists[w->style_artist_ptr[c] + i];
}

int32_t cs__user_song(const cs__user_t *u, const cs__world_t *w, double chart,
                      double explore, cs_rng_t *rng) {
  double x = cs_rng_uniform(rng);
  if (x < chart) return (int32_t)cs_alias_sample(&w->chart_songs, rng);
  int64_t a = x < chart + explore ? near_artist(u, w, rng)
                                  : taste_artist(u, w, rng);
  return cs__user_artist_song(u, w, a, rng);
}

int32_t cs__user_artist(const cs__user_t *u, const cs__world_t *w,
                        double chart, cs_rng_t *rng) {
  if (cs_rng_uniform(rng) < chart)
    return (int32_t)cs_alias_sample(&w->chart_artists, rng);
  return (int32_t)taste_artist(u, w, rng);
}

#define CS__DISLIKE_DOT 0.2
int32_t cs__user_disliked_artist(const cs__user_t *u, const cs__world_t *w,
                                 cs_rng_t *rng) {
  int64_t a = 0;
  for (int tries = 0; tries < 8; tries++) {
    a = cs_alias_sample(&w->chart_artists, rng);
    if (dotf(u->vec, w->artist_vec + (size_t)a * w->dim, w->dim) <
        CS__DISLIKE_DOT)
      break;
  }
  return (int32_t)a;
}

int32_t cs__user_disliked_song(const cs__user_t *u, const cs__world_t *w,
                               cs_rng_t *rng) {
  int64_t s = 0;
  for (int tries = 0; tries < 8; tries++) {
    s = cs_alias_sample(&w->chart_songs, rng);
    if (dotf(u->vec, w->artist_vec + (size_t)w->song_artist[s] * w->dim,
             w->dim) < CS__DISLIKE_DOT)
      break;
  }
  return (int32_t)s;
}

int32_t cs__user_playlist(const cs__user_t *u, const cs__world_t *w,
                          double noise, cs_rng_t *rng) {
  if (cs_rng_uniform(rng) >= noise) {
    int k = (int)search_cum(u->taste_w, 0, u->n_tastes, cs_rng_uniform(rng));
    int c = u->taste_style[k];
    int64_t lo = w->style_pl_ptr[c], hi = w->style_pl_ptr[c + 1];
    if (hi > lo)
      return w->style_pls[lo + (int64_t)cs_rng_below(rng, (uint64_t)(hi - lo))];
  }
  return (int32_t)cs_rng_below(rng, (uint64_t)w->n_playlists);
}

int64_t cs__lognormal_count(cs_rng_t *rng, double median, double sigma) {
  if (median <= 0.0) return 0;
  double v = median * exp(sigma * cs_rng_normal(rng));
  if (v > 1e7) v = 1e7;
  return (int64_t)floor(v + 0.5);
}

/* behavior.c: what a synthetic user does: a cold user's sparse, noisy
 * registration day and their first 30 days of listening; a warm user's long
 * history. Only the hidden taste links the registration day to days 1-30. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/synth_internal.h"

static int push(cs__events_t *e, int64_t day, int action, int kind,
                int32_t item) {
  if (e->n_ev == e->cap_ev) {
    int64_t cap = e->cap_ev ? 2 * e->cap_ev : 256;
    cs__event_t *t = realloc(e->ev, (size_t)cap * sizeof *t);
    if (!t) return CS_ENOMEM;
    e->ev = t;
    e->cap_ev = cap;
  }
  cs__event_t *ev = &e->ev[e->n_ev];
  ev->day = day;
  ev->item = item;
  ev->action = (uint8_t)action;
  ev->kind = (uint8_t)kind;
  ev->seq = (uint32_t)e->n_ev;
  e->n_ev++;
  return CS_OK;
}

static int pool_add(cs__events_t *e, int32_t song) {
  if (e->n_pool == e->cap_pool) {
    int64_t cap = e->cap_pool ? 2 * e->cap_pool : 256;
    int32_t *t = realloc(e->pool, (size_t)cap * sizeof *t);
    if (!t) return CS_ENOMEM;
    e->pool = t;
    e->cap_pool = cap;
  }
  e->pool[e->n_pool++] = song;
  return CS_OK;
}

void cs__events_free(cs__events_t *e) {
  if (!e) return;
  free(e->ev);
  free(e->pool);
  free(e->day_of);
  free(e->mood);
  free(e->used);
  memset(e, 0, sizeof *e);
}

static int cmp_event(const void *a, const void *b) {
  const cs__event_t *x = a, *y = b;
  if (x->day != y->day) return x->day < y->day ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void cs__events_sort(cs__events_t *e) {
  qsort(e->ev, (size_t)e->n_ev, sizeof *e->ev, cmp_event);
}

/* A song the user likes (with probability `noise` a chart song instead). */
static int32_t liked_song(const cs__user_t *u, const cs__world_t *w,
                          const cs_synth_params_t *p, double noise,
                          cs_rng_t *rng) {
  if (cs_rng_uniform(rng) < noise)
    return (int32_t)cs_alias_sample(&w->chart_songs, rng);
  return cs__user_song(u, w, p->chart, p->explore, rng);
}

/* n events of one (action, kind) on day `day`, items from the user's taste
 * (or disliked ones for skips and bans). */
static int burst(cs__events_t *e, const cs__user_t *u, const cs__world_t *w,
                 const cs_synth_params_t *p, int64_t day, int action,
                 int kind, int64_t n, double noise, cs_rng_t *rng) {
  int disliked = action == CS__ACT_SKIP || action == CS__ACT_BAN;
  for (int64_t i = 0; i < n; i++) {
    int32_t item = 0;
    switch (kind) {
    case CS__KIND_SONG:
      if (disliked)
        item = cs_rng_uniform(rng) < 0.7
                   ? cs__user_disliked_song(u, w, rng)
                   : (int32_t)cs_alias_sample(&w->chart_songs, rng);
      else
        item = liked_song(u, w, p, noise, rng);
      break;
    case CS__KIND_ARTIST:
      item = disliked ? cs__user_disliked_artist(u, w, rng)
                      : cs__user_artist(u, w, noise, rng);
      break;
    case CS__KIND_ALBUM:
      item = disliked ? w->song_album[cs__user_disliked_song(u, w, rng)]
                      : w->song_album[liked_song(u, w, p, noise, rng)];
      break;
    default:
      item = cs__user_playlist(u, w, noise, rng);
      break;
    }
    int rc = push(e, day, action, kind, item);
    if (rc) return rc;
  }
  return CS_OK;
}

/* Registration day: sparse and noisy, every action and kind. */
static int registration_day(cs__events_t *e, const cs__user_t *u,
                            const cs__world_t *w, const cs_synth_params_t *p,
                            int64_t day, cs_rng_t *rng) {
  static const struct {
    int action, kind;
    double rate; /* mean events per user at activity 1 */
  } mix[] = {
      {CS__ACT_FAVORITE, CS__KIND_SONG, 0.5},
      {CS__ACT_FAVORITE, CS__KIND_ARTIST, 0.3},
      {CS__ACT_FAVORITE, CS__KIND_ALBUM, 0.15},
      {CS__ACT_FAVORITE, CS__KIND_PLAYLIST, 0.15},
      {CS__ACT_SEARCH, CS__KIND_SONG, 0.6},
      {CS__ACT_SEARCH, CS__KIND_ARTIST, 0.5},
      {CS__ACT_SEARCH, CS__KIND_ALBUM, 0.15},
      {CS__ACT_SEARCH, CS__KIND_PLAYLIST, 0.1},
      {CS__ACT_BAN, CS__KIND_SONG, 0.08},
      {CS__ACT_BAN, CS__KIND_ARTIST, 0.04},
      {CS__ACT_BAN, CS__KIND_ALBUM, 0.02},
  };
  double activity = cs__lognormal_count(rng, 1000.0, 0.6) / 1000.0;
  double noise = p->d0_noise;
  int rc = CS_OK;
  if (cs_rng_uniform(rng) < p->d0_onboarding)
    rc = burst(e, u, w, p, day, CS__ACT_ONBOARDING, CS__KIND_ARTIST,
               1 + (int64_t)cs_rng_poisson(rng, 3.0), noise, rng);
  int64_t n_streams = cs__lognormal_count(rng, p->d0_streams, 1.0);
  if (!rc)
    rc = burst(e, u, w, p, day, CS__ACT_STREAM, CS__KIND_SONG, n_streams,
               p->d0_stream_noise, rng);
  if (!rc)
    rc = burst(e, u, w, p, day, CS__ACT_SKIP, CS__KIND_SONG,
               (int64_t)cs_rng_poisson(rng, 0.3 * (double)n_streams + 0.3),
               noise, rng);
  for (size_t i = 0; i < sizeof mix / sizeof mix[0] && !rc; i++)
    rc = burst(e, u, w, p, day, mix[i].action, mix[i].kind,
               (int64_t)cs_rng_poisson(rng,
                                       mix[i].rate * activity * p->d0_actions),
               noise, rng);
  /* silence is decided by d0_silent alone: an active user does something */
  if (!rc && e->n_ev == 0)
    rc = burst(e, u, w, p, day, CS__ACT_STREAM, CS__KIND_SONG, 1, noise, rng);
  return rc;
}

/* Active days: n_days distinct offsets in [0, span), drawn as
 * span * U^front (front > 1: more in the first days), each with the taste
 * that leads that day's session. Scratch lives in `e`. */
static int pick_days(cs__events_t *e, const cs__user_t *u, int64_t span,
                     int64_t n_days, double front, cs_rng_t *rng) {
  if (span > e->cap_days || n_days > e->cap_days) {
    int64_t cap = span > n_days ? span : n_days;
    int64_t *d = realloc(e->day_of, (size_t)cap * sizeof *d);
    if (d) e->day_of = d;
    int *m = realloc(e->mood, (size_t)cap * sizeof *m);
    if (m) e->mood = m;
    uint8_t *used = realloc(e->used, (size_t)cap);
    if (used) e->used = used;
    if (!d || !m || !used) return CS_ENOMEM;
    e->cap_days = cap;
  }
  memset(e->used, 0, (size_t)span);
  int64_t got = 0;
  for (int64_t t = 0; t < 20 * n_days && got < n_days; t++) {
    double x = front == 1.0 ? cs_rng_uniform(rng)
                            : pow(cs_rng_uniform(rng), front);
    int64_t d = (int64_t)(x * (double)span);
    if (d >= span) d = span - 1;
    if (e->used[d]) continue;
    e->used[d] = 1;
    e->day_of[got++] = d;
  }
  for (int64_t d = 0; d < span && got < n_days; d++)
    if (!e->used[d]) e->used[d] = 1, e->day_of[got++] = d;
  for (int64_t j = 0; j < got; j++) e->mood[j] = cs__user_pick_taste(u, rng);
  return CS_OK;
}

/* `n` plays in sessions over days [first, first + span): each active day
 * holds about session_plays plays, mostly from that day's taste, with
 * repeats of the user's own earlier plays in this window; plus a few skips
 * and favorites. */
static int listening(cs__events_t *e, const cs__user_t *u,
                     const cs__world_t *w, const cs_synth_params_t *p,
                     int64_t first, int64_t span, int64_t n, double front,
                     cs_rng_t *rng) {
  e->n_pool = 0;
  double want = (double)n / p->session_plays * exp(0.3 * cs_rng_normal(rng));
  int64_t n_days = (int64_t)ceil(want);
  if (n_days < 1) n_days = 1;
  if (n_days > span) n_days = span;
  if (n_days > n) n_days = n;
  int rc = pick_days(e, u, span, n_days, front, rng);
  for (int64_t i = 0; i < n && !rc; i++) {
    int64_t j = (int64_t)cs_rng_below(rng, (uint64_t)n_days);
    int32_t s;
    if (e->n_pool > 0 && cs_rng_uniform(rng) < p->repeat)
      s = e->pool[cs_rng_below(rng, (uint64_t)e->n_pool)];
    else if (cs_rng_uniform(rng) < p->session_focus)
      s = cs__user_taste_song(u, w, e->mood[j], rng);
    else
      s = cs__user_song(u, w, p->chart, p->explore, rng);
    rc = push(e, first + e->day_of[j], CS__ACT_STREAM, CS__KIND_SONG, s);
    if (!rc) rc = pool_add(e, s);
  }
  int64_t n_skips = (int64_t)cs_rng_poisson(rng, 0.1 * (double)n);
  /* the item is drawn before the day: C leaves the order of a call's
   * arguments open, and this is the order gcc used when the first worlds
   * were published (clang's left-to-right order gave other bytes) */
  for (int64_t i = 0; i < n_skips && !rc; i++) {
    int32_t song = cs__user_disliked_song(u, w, rng);
    int64_t day = first + e->day_of[cs_rng_below(rng, (uint64_t)n_days)];
    rc = push(e, day, CS__ACT_SKIP, CS__KIND_SONG, song);
  }
  int64_t n_favs = e->n_pool ? (int64_t)cs_rng_poisson(rng, 0.03 * (double)n)
                             : 0;
  for (int64_t i = 0; i < n_favs && !rc; i++) {
    int32_t song = e->pool[cs_rng_below(rng, (uint64_t)e->n_pool)];
    int64_t day = first + e->day_of[cs_rng_below(rng, (uint64_t)n_days)];
    rc = push(e, day, CS__ACT_FAVORITE, CS__KIND_SONG, song);
  }
  return rc;
}

int cs__events_cold(cs__events_t *e, const cs__user_t *u, const cs__world_t *w,
                    const cs_synth_params_t *p, int64_t reg_day, int silent,
                    cs_rng_t *rng, cs_err_t *err) {
  e->n_ev = 0;
  int rc = silent ? CS_OK : registration_day(e, u, w, p, reg_day, rng);
  if (!rc && cs_rng_uniform(rng) >= p->churn) {
    int64_t n = cs__lognormal_count(rng, p->month_plays, p->month_sigma);
    if (n < 1) n = 1;
    /* front-loaded: active days ~ 30 U^1.5, more in the first weeks */
    rc = listening(e, u, w, p, reg_day + 1, 30, n, 1.5, rng);
  }
  if (rc) return cs_err_set(err, rc, "generating a cold user's events");
  cs__events_sort(e);
  return CS_OK;
}

int cs__events_warm(cs__events_t *e, const cs__user_t *u, const cs__world_t *w,
                    const cs_synth_params_t *p, int64_t reg_day,
                    int64_t last_day, cs_rng_t *rng, cs_err_t *err) {
  e->n_ev = 0;
  int64_t n = cs__lognormal_count(rng, p->warm_plays, p->warm_sigma);
  if (n < 1) n = 1;
  int rc = listening(e, u, w, p, reg_day, last_day - reg_day + 1, n, 1.0, rng);
  if (rc) return cs_err_set(err, rc, "generating a warm user's events");
  cs__events_sort(e);
  return CS_OK;
}

/* params.c: the generator's knob table (flags, defaults per scale, ranges),
 * scale defaults and parameter checks. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "coldstart/synth.h"

static const cs_synth_knob_t knobs[] = {
#define CS__KNOB_ROW(flag, field, is_int, tiny, small, deezer, lo, hi, help) \
  {flag, help, is_int, offsetof(cs_synth_params_t, field),                   \
   {tiny, small, deezer}, lo, hi},
    CS_SYNTH_KNOBS(CS__KNOB_ROW)
#undef CS__KNOB_ROW
};

static const char *const action_words[6] = {
    "stream", "skip", "favorite", "ban", "search", "onboarding_like"};
static const char *const kind_words[4] = {"song", "artist", "album",
                                          "playlist"};

const char *const *cs_synth_actions(void) { return action_words; }
const char *const *cs_synth_kinds(void) { return kind_words; }

const cs_synth_knob_t *cs_synth_knobs(int *n_knobs) {
  if (n_knobs) *n_knobs = (int)(sizeof knobs / sizeof knobs[0]);
  return knobs;
}

double cs_synth_knob_get(const cs_synth_params_t *p,
                         const cs_synth_knob_t *k) {
  const char *base = (const char *)p + k->offset;
  if (k->is_int) {
    int64_t v;
    memcpy(&v, base, sizeof v);
    return (double)v;
  }
  double v;
  memcpy(&v, base, sizeof v);
  return v;
}

void cs_synth_knob_set(cs_synth_params_t *p, const cs_synth_knob_t *k,
                       double value) {
  char *base = (char *)p + k->offset;
  if (k->is_int) {
    int64_t v = (int64_t)llround(value);
    memcpy(base, &v, sizeof v);
  } else {
    memcpy(base, &value, sizeof value);
  }
}

int cs_synth_params_default(cs_synth_params_t *p, const char *scale,
                            uint64_t seed, cs_err_t *err) {
  static const char *const scales[3] = {"tiny", "small", "deezer"};
  int which = -1;
  for (int i = 0; i < 3; i++)
    if (scale && strcmp(scale, scales[i]) == 0) which = i;
  if (which < 0)
    return cs_err_set(err, CS_EINVAL,
                      "unknown scale '%s' (tiny, small or deezer)",
                      scale ? scale : "(null)");
  memset(p, 0, sizeof *p);
  p->seed = seed;
  int n;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  for (int i = 0; i < n; i++) cs_synth_knob_set(p, &ks[i], ks[i].defaults[which]);
  snprintf(p->scale, sizeof p->scale, "%s", scales[which]);
  return CS_OK;
}

int cs_synth_params_check(const cs_synth_params_t *p, cs_err_t *err) {
  int n;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  for (int i = 0; i < n; i++) {
    double v = cs_synth_knob_get(p, &ks[i]);
    if (!(v >= ks[i].lo && v <= ks[i].hi))
      return cs_err_set(err, CS_ERANGE, "--%s: %g is outside [%g, %g]",
                        ks[i].flag, v, ks[i].lo, ks[i].hi);
  }
  if (p->chart + p->explore > 1.0)
    return cs_err_set(err, CS_ERANGE,
                      "--chart + --explore = %g must be at most 1",
                      p->chart + p->explore);
  if (p->max_tastes > 8)
    return cs_err_set(err, CS_ERANGE, "--max-tastes %lld > 8",
                      (long long)p->max_tastes);
  if (p->max_tastes > p->n_styles)
    return cs_err_set(err, CS_ERANGE, "--max-tastes %lld > --styles %lld",
                      (long long)p->max_tastes, (long long)p->n_styles);
  double n_artists_est =
      (double)p->n_songs / (p->songs_per_album * p->albums_per_artist);
  if (n_artists_est < (double)p->n_styles)
    return cs_err_set(err, CS_ERANGE,
                      "--songs %lld gives about %.0f artists, fewer than "
                      "--styles %lld: lower --styles or --songs-per-album",
                      (long long)p->n_songs, n_artists_est,
                      (long long)p->n_styles);
  if (p->n_songs > INT32_MAX / 2 || p->n_playlists > INT32_MAX / 2)
    return cs_err_set(err, CS_ERANGE, "catalog too large");
  return CS_OK;
}

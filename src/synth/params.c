/* params.c: the generator's knob table (flags, defaults per scale, ranges),
 * scale defaults, the presets (named world characters) and parameter
 * checks. */
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

/* ---- presets: docs/synth.md says why each value ---- */

#define CS__PRESET(name, help, settings) \
  {name, help, settings, (int)(sizeof settings / sizeof settings[0])}

static const cs_synth_setting_t taste_led[] = {
    {"chart", 0.03, 0},          {"explore", 0.05, 0},
    {"artist-pop-sigma", 1.0, 0}, {"track-zipf", 0.7, 0},
    {"taste-sharpness", 14, 0},  {"user-spread", 0.8, 0},
    {"styles", 2, 1},            {"song-spread", 1, 0},
    {"song-sharpness", 6, 0},    {"d0-stream-noise", 0.4, 0},
};
static const cs_synth_setting_t popularity_led[] = {
    {"chart", 0.35, 0},          {"explore", 0.15, 0},
    {"artist-pop-sigma", 1.5, 1}, {"track-zipf", 1.4, 0},
    {"taste-sharpness", 3, 0},   {"style-skew", 0.7, 0},
};
static const cs_synth_setting_t sparse_d0[] = {
    {"d0-silent", 0.15, 0},      {"d0-streams", 1.5, 0},
    {"d0-onboarding", 0.15, 0},  {"d0-actions", 0.3, 0},
    {"d0-noise", 0.5, 0},        {"d0-stream-noise", 0.75, 0},
};
static const cs_synth_setting_t small_catalog[] = {
    {"songs", 0.2, 1},
    {"styles", 0.5, 1},
    {"playlists", 0.25, 1},
};
static const cs_synth_setting_t deezer_like[] = {
    {"chart", 0.13, 0},          {"artist-pop-sigma", 1.2, 0},
    {"d0-streams", 3, 0},        {"d0-stream-noise", 0.89, 0},
    {"month-plays", 250, 0},
};

static const cs_synth_preset_t presets[] = {
    CS__PRESET("taste-led",
               "listening follows taste (song-level), charts and hits matter "
               "little",
               taste_led),
    CS__PRESET("popularity-led",
               "charts and a heavy head drive listening, tastes are broad",
               popularity_led),
    CS__PRESET("sparse-d0",
               "registration days are very sparse and noisy (15% silent)",
               sparse_d0),
    CS__PRESET("small-catalog",
               "a fifth of the scale's songs (half the styles) for the same "
               "users",
               small_catalog),
    CS__PRESET("deezer-like",
               "baselines calibrated to the paper's Table 1 (about 9.7% "
               "NDCG@50 at deezer scale)",
               deezer_like),
};

const cs_synth_preset_t *cs_synth_presets(int *n_presets) {
  if (n_presets) *n_presets = (int)(sizeof presets / sizeof presets[0]);
  return presets;
}

static const cs_synth_knob_t *find_knob(const char *flag) {
  int n;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(ks[i].flag, flag) == 0) return &ks[i];
  return NULL;
}

int cs_synth_preset_apply(cs_synth_params_t *p, const char *name,
                          cs_err_t *err) {
  int n;
  const cs_synth_preset_t *ps = cs_synth_presets(&n);
  const cs_synth_preset_t *pr = NULL;
  for (int i = 0; i < n && !pr; i++)
    if (name && strcmp(ps[i].name, name) == 0) pr = &ps[i];
  if (!pr) {
    char valid[256] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof valid; i++)
      len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s",
                              i ? ", " : "", ps[i].name);
    return cs_err_set(err, CS_EINVAL, "unknown preset '%s' (valid: %s)",
                      name ? name : "(null)", valid);
  }
  for (int i = 0; i < pr->n_settings; i++) {
    const cs_synth_setting_t *st = &pr->settings[i];
    const cs_synth_knob_t *k = find_knob(st->flag);
    if (!k)
      return cs_err_set(err, CS_EINVAL, "preset %s: no knob --%s", pr->name,
                        st->flag);
    double v = st->scaled ? cs_synth_knob_get(p, k) * st->value : st->value;
    if (k->is_int) v = (double)llround(v);
    if (!(v >= k->lo && v <= k->hi))
      return cs_err_set(err, CS_ERANGE,
                        "preset %s: --%s %g is outside [%g, %g] at this scale",
                        pr->name, k->flag, v, k->lo, k->hi);
    cs_synth_knob_set(p, k, v);
  }
  snprintf(p->preset, sizeof p->preset, "%s", pr->name);
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

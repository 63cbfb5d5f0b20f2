/* output.c: `cs_synth_generate`: runs the generator phase by phase and writes
 * the raw-log folder (catalog.tsv, playlists.tsv, users.tsv, events.tsv,
 * world.json) through large buffers and a fast integer formatter, every file
 * under a temporary name until all of them are complete. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coldstart/io.h"
#include "synth/synth_internal.h"

#define CS__TSV_BUF (4u << 20)

static const char *const country_codes[40] = {
    "FR", "BR", "DE", "US", "GB", "MX", "IT", "ES", "CO", "BE",
    "NL", "CA", "AR", "CL", "PL", "AT", "CH", "SN", "CI", "PT",
    "TR", "MA", "DZ", "ZA", "NG", "AU", "SE", "NO", "DK", "RO",
    "CM", "TN", "PE", "EC", "IE", "FI", "CZ", "HU", "GR", "JP"};

/* A buffered TSV writer over an atomic file. */
typedef struct tsv {
  cs_atomic_file_t af;
  char *buf;
  size_t len;
  int open;
  int64_t bytes;
} tsv_t;

static int tsv_open(tsv_t *t, const char *dir, const char *name,
                    cs_err_t *err) {
  memset(t, 0, sizeof *t);
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return cs_err_set(err, CS_EINVAL, "output path too long: %s/%s", dir,
                      name);
  t->buf = malloc(CS__TSV_BUF);
  if (!t->buf) return cs_err_set(err, CS_ENOMEM, "%s: write buffer", path);
  int rc = cs_atomic_open(&t->af, path, err);
  if (rc) {
    free(t->buf);
    t->buf = NULL;
    return rc;
  }
  t->open = 1;
  return CS_OK;
}

static int tsv_flush(tsv_t *t, cs_err_t *err) {
  if (t->len == 0) return CS_OK;
  int rc = cs_atomic_write(&t->af, t->buf, t->len, err);
  t->bytes += (int64_t)t->len;
  t->len = 0;
  return rc;
}

/* Make room for one more line (lines are far shorter than 4 KiB). */
static inline int tsv_room(tsv_t *t, cs_err_t *err) {
  return t->len + 4096 > CS__TSV_BUF ? tsv_flush(t, err) : CS_OK;
}

static inline void tsv_i64(tsv_t *t, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) t->buf[t->len++] = '-';
  while (n) t->buf[t->len++] = tmp[--n];
}

static inline void tsv_str(tsv_t *t, const char *s) {
  size_t n = strlen(s);
  memcpy(t->buf + t->len, s, n);
  t->len += n;
}

static inline void tsv_ch(tsv_t *t, char c) { t->buf[t->len++] = c; }

static int tsv_commit(tsv_t *t, cs_err_t *err) {
  int rc = tsv_flush(t, err);
  if (!rc) {
    t->open = 0;
    rc = cs_atomic_commit(&t->af, err);
  }
  free(t->buf);
  t->buf = NULL;
  return rc;
}

static void tsv_abort(tsv_t *t) {
  if (t->open) cs_atomic_abort(&t->af);
  t->open = 0;
  free(t->buf);
  t->buf = NULL;
}

static int cmp_i64_desc(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x > y ? -1 : x < y;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Share of the total on the top 1% entries (sorts `counts`). */
static double top1_share(int64_t *counts, int64_t n) {
  qsort(counts, (size_t)n, sizeof *counts, cmp_i64_desc);
  int64_t top = (n + 99) / 100, total = 0, head = 0;
  for (int64_t i = 0; i < n; i++) {
    total += counts[i];
    if (i < top) head += counts[i];
  }
  return total ? (double)head / (double)total : 0.0;
}

static int write_catalog(tsv_t *t, const cs__world_t *w, cs_err_t *err) {
  int64_t *order = malloc((size_t)w->n_songs * sizeof *order);
  if (!order) return cs_err_set(err, CS_ENOMEM, "catalog order");
  for (int64_t s = 0; s < w->n_songs; s++) order[w->song_id[s] - 1] = s;
  tsv_str(t, "song_id\tartist_id\talbum_id\n");
  int rc = CS_OK;
  for (int64_t r = 0; r < w->n_songs && !rc; r++) {
    int64_t s = order[r];
    tsv_i64(t, w->song_id[s]);
    tsv_ch(t, '\t');
    tsv_i64(t, w->artist_id[w->song_artist[s]]);
    tsv_ch(t, '\t');
    tsv_i64(t, w->album_id[w->song_album[s]]);
    tsv_ch(t, '\n');
    rc = tsv_room(t, err);
  }
  free(order);
  return rc;
}

static int write_playlists(tsv_t *t, const cs__world_t *w, cs_err_t *err) {
  int64_t np = w->n_playlists, base = INT64_MAX;
  for (int64_t pl = 0; pl < np; pl++)
    if (w->playlist_id[pl] < base) base = w->playlist_id[pl];
  int64_t *order = malloc((size_t)np * sizeof *order);
  if (!order) return cs_err_set(err, CS_ENOMEM, "playlist order");
  for (int64_t pl = 0; pl < np; pl++) order[w->playlist_id[pl] - base] = pl;
  tsv_str(t, "playlist_id\tsong_id\n");
  int rc = CS_OK;
  for (int64_t r = 0; r < np && !rc; r++) {
    int64_t pl = order[r];
    for (int64_t i = w->playlist_ptr[pl]; i < w->playlist_ptr[pl + 1] && !rc;
         i++) {
      tsv_i64(t, w->playlist_id[pl]);
      tsv_ch(t, '\t');
      tsv_i64(t, w->song_id[w->playlist_songs[i]]);
      tsv_ch(t, '\n');
      rc = tsv_room(t, err);
    }
  }
  free(order);
  return rc;
}

/* Registration days: warm users uniformly over the history, sorted; the
 * cohort evenly over its days. User ids grow with registration, with gaps. */
static int registration(const cs_synth_params_t *p, int64_t *reg_day,
                        int64_t *user_id) {
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, p->seed, CS__STREAM_REGDAYS);
  int64_t n_warm = p->n_warm_users, n_cold = p->n_cold_users;
  for (int64_t i = 0; i < n_warm; i++)
    reg_day[i] = p->first_day +
                 (int64_t)cs_rng_below(&rng, (uint64_t)p->history_days);
  qsort(reg_day, (size_t)n_warm, sizeof *reg_day, cmp_i64);
  int64_t cohort = p->first_day + p->history_days;
  for (int64_t i = 0; i < n_cold; i++)
    reg_day[n_warm + i] = cohort + i * p->cohort_days / n_cold;
  int64_t id = 0;
  for (int64_t i = 0; i < n_warm + n_cold; i++) {
    id += 1;
    if (cs_rng_uniform(&rng) < 0.05) id += (int64_t)cs_rng_below(&rng, 10);
    user_id[i] = id;
  }
  return CS_OK;
}

/* Per-run accumulators for the statistics. */
typedef struct tally {
  int64_t *song_streams, *month_streams, *month_songs;
  int32_t *mark;
  int64_t n_month_users, d0_events;
} tally_t;

static void tally_user(tally_t *ty, cs_synth_stats_t *st,
                       const cs__events_t *e, int64_t user, int64_t reg_day,
                       int cold) {
  int64_t distinct = 0, d0 = 0;
  for (int64_t i = 0; i < e->n_ev; i++) {
    const cs__event_t *ev = &e->ev[i];
    st->events_by[ev->action][ev->kind]++;
    if (ev->day == reg_day) d0++;
    if (ev->action != CS__ACT_STREAM) continue;
    ty->song_streams[ev->item]++;
    if (!cold || ev->day <= reg_day) continue;
    ty->month_streams[ev->item]++;
    if (ty->mark[ev->item] != (int32_t)(user + 1)) {
      ty->mark[ev->item] = (int32_t)(user + 1);
      distinct++;
    }
  }
  st->n_events += e->n_ev;
  if (!cold) return;
  if (d0 == 0) st->n_cold_silent++;
  ty->d0_events += d0;
  if (distinct == 0) {
    st->n_cold_no_month++;
    return;
  }
  ty->month_songs[ty->n_month_users++] = distinct;
  if (distinct > 100) st->n_cold_over_100++;
}

static int write_user(tsv_t *users, tsv_t *events, const cs__world_t *w,
                      const cs__user_t *u, const cs__events_t *e, int64_t id,
                      int64_t reg_day, cs_err_t *err) {
  static const char *const act_tab[6] = {"\tstream\t", "\tskip\t",
                                         "\tfavorite\t", "\tban\t",
                                         "\tsearch\t", "\tonboarding_like\t"};
  static const char *const kind_tab[4] = {"song\t", "artist\t", "album\t",
                                          "playlist\t"};
  tsv_i64(users, id);
  tsv_ch(users, '\t');
  tsv_i64(users, reg_day);
  tsv_ch(users, '\t');
  if (u->age_known) tsv_i64(users, u->age);
  tsv_ch(users, '\t');
  if (u->country_known) tsv_str(users, country_codes[u->country]);
  tsv_ch(users, '\n');
  int rc = tsv_room(users, err);
  for (int64_t i = 0; i < e->n_ev && !rc; i++) {
    const cs__event_t *ev = &e->ev[i];
    tsv_i64(events, id);
    tsv_ch(events, '\t');
    tsv_i64(events, ev->day);
    tsv_str(events, act_tab[ev->action]);
    tsv_str(events, kind_tab[ev->kind]);
    const int64_t *ids = ev->kind == CS__KIND_SONG     ? w->song_id
                         : ev->kind == CS__KIND_ARTIST ? w->artist_id
                         : ev->kind == CS__KIND_ALBUM  ? w->album_id
                                                       : w->playlist_id;
    tsv_i64(events, ids[ev->item]);
    tsv_ch(events, '\n');
    rc = tsv_room(events, err);
  }
  return rc;
}

/* Knobs added after the first worlds were published are written to
 * world.json only when they differ from their scale default, so that a
 * world made without them keeps its bytes; a reader takes an absent knob
 * at its default (docs/synth.md). */
static int later_knob_at_default(const cs_synth_params_t *p,
                                 const cs_synth_knob_t *k, double v) {
  static const char *const later[] = {"d0-actions"};
  static const char *const scales[3] = {"tiny", "small", "deezer"};
  int is_later = 0;
  for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
    if (strcmp(k->flag, later[i]) == 0) is_later = 1;
  if (!is_later) return 0;
  for (int s = 0; s < 3; s++)
    if (strcmp(p->scale, scales[s]) == 0) return v == k->defaults[s];
  return 0;
}

static json_t *world_json(const cs_synth_params_t *p,
                          const cs_synth_stats_t *st) {
  json_t *root = json_object(), *params = json_object(), *s = json_object();
  json_t *ev = json_object();
  json_object_set_new(root, "generator", json_string("coldstart synth"));
  json_object_set_new(root, "format_version", json_integer(1));
  json_object_set_new(root, "scale", json_string(p->scale));
  /* only when used, so a world without a preset keeps its old bytes */
  if (p->preset[0])
    json_object_set_new(root, "preset", json_string(p->preset));
  json_object_set_new(root, "seed", json_integer((json_int_t)p->seed));
  int n;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  for (int i = 0; i < n; i++) {
    double v = cs_synth_knob_get(p, &ks[i]);
    if (later_knob_at_default(p, &ks[i], v)) continue;
    json_object_set_new(params, ks[i].flag,
                        ks[i].is_int ? json_integer((json_int_t)v)
                                     : json_real(v));
  }
  json_object_set_new(root, "params", params);
#define I(name, v) json_object_set_new(s, name, json_integer((json_int_t)(v)))
#define R(name, v) json_object_set_new(s, name, json_real(v))
  I("songs", st->n_songs);
  I("artists", st->n_artists);
  I("albums", st->n_albums);
  I("playlists", st->n_playlists);
  I("playlist_rows", st->n_playlist_rows);
  I("warm_users", st->n_warm_users);
  I("cold_users", st->n_cold_users);
  I("first_day", st->first_day);
  I("cohort_first_day", st->cohort_first_day);
  I("cohort_last_day", st->cohort_last_day);
  I("last_day", st->last_day);
  I("events", st->n_events);
  I("streams", st->n_streams);
  R("top1pct_stream_share", st->top1_share);
  R("top1pct_month_stream_share", st->month_top1_share);
  I("cold_silent_registration_day", st->n_cold_silent);
  R("cold_silent_share", st->n_cold_users
                             ? (double)st->n_cold_silent / st->n_cold_users
                             : 0.0);
  R("registration_day_events_mean", st->d0_events_mean);
  I("cold_no_month_stream", st->n_cold_no_month);
  R("month_distinct_songs_median", st->month_songs_median);
  R("month_distinct_songs_p90", st->month_songs_p90);
  I("month_distinct_songs_max", st->month_songs_max);
  I("cold_users_over_100_songs", st->n_cold_over_100);
  I("unknown_age", st->n_unknown_age);
  I("unknown_country", st->n_unknown_country);
  I("events_tsv_bytes", st->bytes_events);
#undef I
#undef R
  const char *const *acts = cs_synth_actions(), *const *kinds = cs_synth_kinds();
  for (int a = 0; a < 6; a++) {
    json_t *row = json_object();
    for (int k = 0; k < 4; k++)
      if (st->events_by[a][k])
        json_object_set_new(row, kinds[k],
                            json_integer((json_int_t)st->events_by[a][k]));
    json_object_set_new(ev, acts[a], row);
  }
  json_object_set_new(s, "events_by_action_kind", ev);
  json_object_set_new(root, "stats", s);
  return root;
}

/* Generate users (warm then cold, in id order) straight into the files. */
static int generate_users(const cs_synth_params_t *p, const cs__world_t *w,
                          const cs_ctx_t *ctx, tsv_t *users, tsv_t *events,
                          tally_t *ty, cs_synth_stats_t *st, cs_err_t *err) {
  int64_t n_users = p->n_warm_users + p->n_cold_users;
  int64_t *reg_day = malloc((size_t)n_users * sizeof *reg_day);
  int64_t *user_id = malloc((size_t)n_users * sizeof *user_id);
  cs__user_t u;
  cs__events_t e;
  memset(&u, 0, sizeof u);
  memset(&e, 0, sizeof e);
  if (!reg_day || !user_id) {
    free(reg_day);
    free(user_id);
    return cs_err_set(err, CS_ENOMEM, "user tables");
  }
  registration(p, reg_day, user_id);
  int rc = cs__user_init(&u, w, err);
  tsv_str(users, "user_id\tregistration_day\tage\tcountry\n");
  tsv_str(events, "user_id\tday\taction\tkind\titem_id\n");
  cs_progress_t pr;
  cs_progress_start(&pr, ctx, "synth: users and events", n_users);
  for (int64_t i = 0; i < n_users && !rc; i++) {
    cs_rng_t rng;
    cs_rng_seed_stream(&rng, p->seed, CS__STREAM_USER + (uint64_t)i);
    int cold = i >= p->n_warm_users;
    rc = cs__user_draw(&u, w, p, &rng, err);
    if (rc) break;
    if (cold) {
      int silent = cs_rng_uniform(&rng) < p->d0_silent;
      rc = cs__events_cold(&e, &u, w, p, reg_day[i], silent, &rng, err);
    } else {
      rc = cs__events_warm(&e, &u, w, p, reg_day[i], st->last_day, &rng, err);
    }
    if (!rc)
      rc = write_user(users, events, w, &u, &e, user_id[i], reg_day[i], err);
    if (rc) break;
    if (!u.age_known) st->n_unknown_age++;
    if (!u.country_known) st->n_unknown_country++;
    tally_user(ty, st, &e, i, reg_day[i], cold);
    if ((i & 1023) == 0) cs_progress_update(&pr, i);
  }
  cs_progress_update(&pr, n_users);
  cs_progress_finish(&pr);
  cs__events_free(&e);
  cs__user_free(&u);
  free(reg_day);
  free(user_id);
  return rc;
}

static void finish_stats(const cs_synth_params_t *p, const cs__world_t *w,
                         tally_t *ty, cs_synth_stats_t *st) {
  st->n_streams = st->events_by[CS__ACT_STREAM][CS__KIND_SONG];
  st->top1_share = top1_share(ty->song_streams, w->n_songs);
  st->month_top1_share = top1_share(ty->month_streams, w->n_songs);
  int64_t n = ty->n_month_users;
  if (n > 0) {
    qsort(ty->month_songs, (size_t)n, sizeof *ty->month_songs, cmp_i64);
    st->month_songs_median =
        n % 2 ? (double)ty->month_songs[n / 2]
              : 0.5 * (double)(ty->month_songs[n / 2 - 1] +
                               ty->month_songs[n / 2]);
    st->month_songs_p90 = (double)ty->month_songs[(n * 9) / 10];
    st->month_songs_max = ty->month_songs[n - 1];
  }
  st->d0_events_mean = p->n_cold_users
                           ? (double)ty->d0_events / (double)p->n_cold_users
                           : 0.0;
}

int cs_synth_generate(const cs_synth_params_t *p, const char *out_dir,
                      int force, const cs_ctx_t *ctx, cs_synth_stats_t *stats,
                      cs_err_t *err) {
  cs_synth_stats_t st;
  memset(&st, 0, sizeof st);
  double t0 = cs_now();
  int rc = cs_synth_params_check(p, err);
  if (rc) return rc;
  if (!out_dir || !*out_dir)
    return cs_err_set(err, CS_EINVAL, "no output directory");
  struct stat sb;
  if (stat(out_dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
    return cs_err_set(err, CS_EINVAL, "%s exists and is not a directory",
                      out_dir);
  if (!force && cs_dir_nonempty(out_dir))
    return cs_err_set(err, CS_EINVAL,
                      "%s is not empty (use --force to overwrite)", out_dir);
  rc = cs_mkdirs(out_dir, err);
  if (rc) return rc;

  cs__world_t w;
  cs_progress_t pr;
  cs_progress_start(&pr, ctx, "synth: world", 1);
  rc = cs__world_build(&w, p, err);
  cs_progress_update(&pr, 1);
  cs_progress_finish(&pr);
  if (rc) return rc;
  cs_log(ctx, CS_LOG_INFO,
         "synth: %d styles, %lld artists, %lld albums, %lld songs, "
         "%lld playlists",
         w.n_styles, (long long)w.n_artists, (long long)w.n_albums,
         (long long)w.n_songs, (long long)w.n_playlists);
  st.n_songs = w.n_songs;
  st.n_artists = w.n_artists;
  st.n_albums = w.n_albums;
  st.n_playlists = w.n_playlists;
  st.n_playlist_rows = w.playlist_ptr[w.n_playlists];
  st.n_warm_users = p->n_warm_users;
  st.n_cold_users = p->n_cold_users;
  st.first_day = p->first_day;
  st.cohort_first_day = p->first_day + p->history_days;
  st.cohort_last_day = st.cohort_first_day + p->cohort_days - 1;
  st.last_day = st.cohort_last_day + 30;

  tally_t ty;
  memset(&ty, 0, sizeof ty);
  ty.song_streams = calloc((size_t)w.n_songs, sizeof *ty.song_streams);
  ty.month_streams = calloc((size_t)w.n_songs, sizeof *ty.month_streams);
  ty.month_songs = calloc((size_t)p->n_cold_users, sizeof *ty.month_songs);
  ty.mark = calloc((size_t)w.n_songs, sizeof *ty.mark);
  tsv_t f[5];
  memset(f, 0, sizeof f);
  static const char *const names[5] = {"catalog.tsv", "playlists.tsv",
                                       "users.tsv", "events.tsv",
                                       "world.json"};
  if (!ty.song_streams || !ty.month_streams || !ty.month_songs || !ty.mark)
    rc = cs_err_set(err, CS_ENOMEM, "statistics");
  for (int i = 0; i < 5 && !rc; i++) rc = tsv_open(&f[i], out_dir, names[i], err);
  if (!rc) rc = write_catalog(&f[0], &w, err);
  if (!rc) rc = write_playlists(&f[1], &w, err);
  if (!rc) rc = generate_users(p, &w, ctx, &f[2], &f[3], &ty, &st, err);
  if (!rc) rc = tsv_flush(&f[3], err);
  if (!rc) {
    st.bytes_events = f[3].bytes;
    finish_stats(p, &w, &ty, &st);
    json_t *root = world_json(p, &st);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                             JSON_REAL_PRECISION(6))
                      : NULL;
    json_decref(root);
    if (!text) {
      rc = cs_err_set(err, CS_ENOMEM, "world.json");
    } else {
      rc = cs_atomic_write(&f[4].af, text, strlen(text), err);
      if (!rc) rc = cs_atomic_write(&f[4].af, "\n", 1, err);
      free(text);
    }
  }
  /* every file is complete: only now do they take their final names */
  cs_progress_start(&pr, ctx, "synth: commit files", 5);
  for (int i = 0; i < 5 && !rc; i++) {
    rc = tsv_commit(&f[i], err);
    cs_progress_update(&pr, i + 1);
  }
  cs_progress_finish(&pr);
  for (int i = 0; i < 5; i++) tsv_abort(&f[i]);
  free(ty.song_streams);
  free(ty.month_streams);
  free(ty.month_songs);
  free(ty.mark);
  cs__world_free(&w);
  st.seconds = cs_now() - t0;
  if (rc) return rc;
  cs_log(ctx, CS_LOG_INFO,
         "synth: %lld events (%.1f MB), top 1%% songs take %.1f%% of streams, "
         "%.1f%% silent registration days, median %.0f songs in days 1-30, "
         "%.2fs",
         (long long)st.n_events, (double)st.bytes_events / 1e6,
         100.0 * st.top1_share,
         100.0 * (double)st.n_cold_silent / (double)st.n_cold_users,
         st.month_songs_median, st.seconds);
  if (stats) *stats = st;
  return CS_OK;
}

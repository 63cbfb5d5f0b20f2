/* synth_test.c: the synthetic world's promises, checked on the files it
 * writes (tiny and small scales): format and referential integrity, every
 * action and kind, the cohort, power-law popularity, silent registration
 * days, activity spread, unknown demographics, demographics that correlate
 * with taste, an informative registration day, byte determinism, and the
 * presets (values applied, worlds of the character they claim). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/rng.h"
#include "coldstart/synth.h"

static const char *const files[5] = {"catalog.tsv", "playlists.tsv",
                                     "users.tsv", "events.tsv", "world.json"};

/* ---- a tiny reader for the folder ---- */

static char *slurp(const char *dir, const char *name, size_t *size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  if (size) *size = (size_t)n;
  return buf;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Index of `id` in the sorted array, -1 when absent. */
static int64_t find_id(const int64_t *sorted, int64_t n, int64_t id) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (sorted[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && sorted[lo] == id ? lo : -1;
}

typedef struct world {
  int64_t n_songs, n_users, n_events, n_playlists;
  int64_t *song_id, *artist_of, *album_of; /* catalog rows (ids) */
  int64_t *songs_sorted, *artists_sorted, *albums_sorted, *playlists_sorted;
  int64_t n_artists, n_albums;
  int64_t *user_id, *reg_day, *age; /* age -1 unknown */
  char (*country)[4];               /* "" unknown */
  int64_t *ev_user, *ev_day, *ev_item; /* ev_user: row in users */
  int *ev_action, *ev_kind;
  int64_t *ev_song; /* song row for song events, else -1 */
} world_t;

static int word_index(const char *s, size_t len, const char *const *words,
                      int n) {
  for (int i = 0; i < n; i++)
    if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0) return i;
  return -1;
}

static int64_t unique_sorted(int64_t *a, int64_t n) {
  qsort(a, (size_t)n, sizeof *a, cmp_i64);
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (m == 0 || a[m - 1] != a[i]) a[m++] = a[i];
  return m;
}

static int64_t count_lines(const char *s) {
  int64_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* Lines after the header line (0 when none). */
static int64_t data_rows(const char *s) {
  int64_t n = count_lines(s);
  return n > 1 ? n - 1 : 0;
}

static void load_world(const char *dir, world_t *w) {
  memset(w, 0, sizeof *w);
  char *text = slurp(dir, "catalog.tsv", NULL), *p;
  assert_non_null(text);
  assert_memory_equal(text, "song_id\tartist_id\talbum_id\n", 26);
  w->n_songs = data_rows(text);
  w->song_id = malloc((size_t)w->n_songs * sizeof(int64_t));
  w->artist_of = malloc((size_t)w->n_songs * sizeof(int64_t));
  w->album_of = malloc((size_t)w->n_songs * sizeof(int64_t));
  p = strchr(text, '\n') + 1;
  for (int64_t i = 0; i < w->n_songs; i++) {
    w->song_id[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\t');
    w->artist_of[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\t');
    w->album_of[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\n');
  }
  free(text);
  w->songs_sorted = malloc((size_t)w->n_songs * sizeof(int64_t));
  w->artists_sorted = malloc((size_t)w->n_songs * sizeof(int64_t));
  w->albums_sorted = malloc((size_t)w->n_songs * sizeof(int64_t));
  memcpy(w->songs_sorted, w->song_id, (size_t)w->n_songs * sizeof(int64_t));
  memcpy(w->artists_sorted, w->artist_of, (size_t)w->n_songs * sizeof(int64_t));
  memcpy(w->albums_sorted, w->album_of, (size_t)w->n_songs * sizeof(int64_t));
  assert_int_equal(unique_sorted(w->songs_sorted, w->n_songs), w->n_songs);
  w->n_artists = unique_sorted(w->artists_sorted, w->n_songs);
  w->n_albums = unique_sorted(w->albums_sorted, w->n_songs);

  text = slurp(dir, "playlists.tsv", NULL);
  assert_non_null(text);
  assert_memory_equal(text, "playlist_id\tsong_id\n", 20);
  int64_t rows = data_rows(text);
  w->playlists_sorted = malloc((size_t)rows * sizeof(int64_t));
  p = strchr(text, '\n') + 1;
  for (int64_t i = 0; i < rows; i++) {
    w->playlists_sorted[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\t');
    int64_t s = strtoll(p, &p, 10);
    assert_true(find_id(w->songs_sorted, w->n_songs, s) >= 0);
    assert_int_equal(*p++, '\n');
  }
  free(text);
  w->n_playlists = unique_sorted(w->playlists_sorted, rows);

  text = slurp(dir, "users.tsv", NULL);
  assert_non_null(text);
  assert_memory_equal(text, "user_id\tregistration_day\tage\tcountry\n", 37);
  w->n_users = data_rows(text);
  w->user_id = malloc((size_t)w->n_users * sizeof(int64_t));
  w->reg_day = malloc((size_t)w->n_users * sizeof(int64_t));
  w->age = malloc((size_t)w->n_users * sizeof(int64_t));
  w->country = calloc((size_t)w->n_users, sizeof *w->country);
  p = strchr(text, '\n') + 1;
  for (int64_t i = 0; i < w->n_users; i++) {
    w->user_id[i] = strtoll(p, &p, 10);
    if (i > 0) assert_true(w->user_id[i] > w->user_id[i - 1]);
    assert_int_equal(*p++, '\t');
    w->reg_day[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\t');
    w->age[i] = *p == '\t' ? -1 : strtoll(p, &p, 10);
    assert_int_equal(*p++, '\t');
    int n = 0;
    while (*p != '\n' && n < 3) w->country[i][n++] = *p++;
    assert_int_equal(*p++, '\n');
  }
  free(text);

  text = slurp(dir, "events.tsv", NULL);
  assert_non_null(text);
  assert_memory_equal(text, "user_id\tday\taction\tkind\titem_id\n", 32);
  w->n_events = data_rows(text);
  size_t n = (size_t)w->n_events;
  w->ev_user = malloc(n * sizeof(int64_t));
  w->ev_day = malloc(n * sizeof(int64_t));
  w->ev_item = malloc(n * sizeof(int64_t));
  w->ev_song = malloc(n * sizeof(int64_t));
  w->ev_action = malloc(n * sizeof(int));
  w->ev_kind = malloc(n * sizeof(int));
  p = strchr(text, '\n') + 1;
  int64_t urow = 0;
  for (int64_t i = 0; i < w->n_events; i++) {
    int64_t uid = strtoll(p, &p, 10);
    /* events come grouped by user, in users.tsv order */
    while (urow < w->n_users && w->user_id[urow] != uid) urow++;
    assert_true(urow < w->n_users);
    w->ev_user[i] = urow;
    assert_int_equal(*p++, '\t');
    w->ev_day[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\t');
    char *q = strchr(p, '\t');
    w->ev_action[i] = word_index(p, (size_t)(q - p), cs_synth_actions(), 6);
    assert_true(w->ev_action[i] >= 0);
    p = q + 1;
    q = strchr(p, '\t');
    w->ev_kind[i] = word_index(p, (size_t)(q - p), cs_synth_kinds(), 4);
    assert_true(w->ev_kind[i] >= 0);
    p = q + 1;
    w->ev_item[i] = strtoll(p, &p, 10);
    assert_int_equal(*p++, '\n');
    int64_t found = -1;
    switch (w->ev_kind[i]) {
    case 0: found = find_id(w->songs_sorted, w->n_songs, w->ev_item[i]); break;
    case 1: found = find_id(w->artists_sorted, w->n_artists, w->ev_item[i]); break;
    case 2: found = find_id(w->albums_sorted, w->n_albums, w->ev_item[i]); break;
    default: found = find_id(w->playlists_sorted, w->n_playlists, w->ev_item[i]);
    }
    assert_true(found >= 0); /* every item exists in its table */
    w->ev_song[i] = w->ev_kind[i] == 0 ? found : -1;
  }
  free(text);
}

static void free_world(world_t *w) {
  free(w->song_id), free(w->artist_of), free(w->album_of);
  free(w->songs_sorted), free(w->artists_sorted), free(w->albums_sorted);
  free(w->playlists_sorted);
  free(w->user_id), free(w->reg_day), free(w->age), free(w->country);
  free(w->ev_user), free(w->ev_day), free(w->ev_item), free(w->ev_song);
  free(w->ev_action), free(w->ev_kind);
}

/* ---- fixtures: tiny twice (determinism), small once ---- */

typedef struct fixture {
  char root[512], tiny_a[600], tiny_b[600], tiny_c[600], small[600];
  cs_synth_stats_t tiny_stats, small_stats;
  world_t tiny, small_w;
} fixture_t;

static void remove_dir(const char *dir) {
  char path[1024];
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  const char *tmp = getenv("CS_TMP");
  snprintf(f->root, sizeof f->root, "%s/synth_test.XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(f->root)) return -1;
  snprintf(f->tiny_a, sizeof f->tiny_a, "%s/tiny_a", f->root);
  snprintf(f->tiny_b, sizeof f->tiny_b, "%s/tiny_b", f->root);
  snprintf(f->tiny_c, sizeof f->tiny_c, "%s/tiny_c", f->root);
  snprintf(f->small, sizeof f->small, "%s/small", f->root);
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_synth_params_t p;
  cs_err_t err;
  if (cs_synth_params_default(&p, "tiny", 7, &err)) return -1;
  if (cs_synth_generate(&p, f->tiny_a, 0, &ctx, &f->tiny_stats, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  if (cs_synth_generate(&p, f->tiny_b, 0, &ctx, NULL, &err)) return -1;
  p.seed = 8;
  if (cs_synth_generate(&p, f->tiny_c, 0, &ctx, NULL, &err)) return -1;
  if (cs_synth_params_default(&p, "small", 7, &err)) return -1;
  if (cs_synth_generate(&p, f->small, 0, &ctx, &f->small_stats, &err)) return -1;
  load_world(f->tiny_a, &f->tiny);
  load_world(f->small, &f->small_w);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  free_world(&f->tiny);
  free_world(&f->small_w);
  remove_dir(f->tiny_a);
  remove_dir(f->tiny_b);
  remove_dir(f->tiny_c);
  remove_dir(f->small);
  rmdir(f->root);
  free(f);
  return 0;
}

/* ---- tests ---- */

static void test_params(void **state) {
  (void)state;
  cs_synth_params_t p;
  cs_err_t err;
  const char *scales[3] = {"tiny", "small", "deezer"};
  const int64_t songs[3] = {500, 5000, 50000}, cold[3] = {1000, 10000, 100000};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cs_synth_params_default(&p, scales[i], 1, &err), CS_OK);
    assert_int_equal(cs_synth_params_check(&p, &err), CS_OK);
    assert_int_equal(p.n_songs, songs[i]);
    assert_int_equal(p.n_cold_users, cold[i]);
    assert_int_equal(p.cohort_days, 7);
  }
  assert_int_equal(cs_synth_params_default(&p, "huge", 1, &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "huge"));
  cs_synth_params_default(&p, "tiny", 1, &err);
  p.chart = 0.7;
  p.explore = 0.5;
  assert_int_equal(cs_synth_params_check(&p, &err), CS_ERANGE);
  cs_synth_params_default(&p, "tiny", 1, &err);
  p.unknown_age = 1.5;
  assert_int_equal(cs_synth_params_check(&p, &err), CS_ERANGE);
  assert_non_null(strstr(err.msg, "--unknown-age"));
  /* every knob round-trips through the table */
  int n;
  const cs_synth_knob_t *ks = cs_synth_knobs(&n);
  assert_true(n >= 30);
  for (int i = 0; i < n; i++) {
    cs_synth_knob_set(&p, &ks[i], ks[i].lo);
    assert_true(cs_synth_knob_get(&p, &ks[i]) == ks[i].lo);
  }
}

static void test_deterministic(void **state) {
  fixture_t *f = *state;
  for (int i = 0; i < 5; i++) {
    size_t na, nb, nc;
    char *a = slurp(f->tiny_a, files[i], &na);
    char *b = slurp(f->tiny_b, files[i], &nb);
    char *c = slurp(f->tiny_c, files[i], &nc);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    if (i == 3) assert_true(na != nc || memcmp(a, c, na) != 0); /* seed matters */
    free(a), free(b), free(c);
  }
}

static void test_refuses_nonempty(void **state) {
  fixture_t *f = *state;
  cs_synth_params_t p;
  cs_err_t err;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_synth_params_default(&p, "tiny", 9, &err);
  p.n_cold_users = 50;
  p.n_warm_users = 50;
  assert_int_equal(cs_synth_generate(&p, f->tiny_b, 0, &ctx, NULL, &err),
                   CS_EINVAL);
  assert_non_null(strstr(err.msg, "--force"));
  /* nothing was touched: still the seed-7 world */
  size_t na, nb;
  char *a = slurp(f->tiny_a, "users.tsv", &na), *b = slurp(f->tiny_b, "users.tsv", &nb);
  assert_int_equal(na, nb);
  free(a), free(b);
  assert_int_equal(cs_synth_generate(&p, f->tiny_b, 1, &ctx, NULL, &err), CS_OK);
  b = slurp(f->tiny_b, "users.tsv", &nb);
  assert_int_equal(count_lines(b), 101);
  free(b);
  /* no temporary files left behind */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", f->tiny_b);
  assert_true(system(cmd) != 0);
}

/* Cohort = the 7 latest registration days; all of it is the cold users. */
static int64_t cohort_from(const world_t *w) {
  int64_t *days = malloc((size_t)w->n_users * sizeof *days);
  memcpy(days, w->reg_day, (size_t)w->n_users * sizeof *days);
  int64_t n = unique_sorted(days, w->n_users);
  int64_t from = days[n >= 7 ? n - 7 : 0];
  free(days);
  return from;
}

/* Share of all streams on the top ceil(n_songs / per) songs. */
static double head_share(const world_t *w, int64_t per) {
  int64_t *plays = calloc((size_t)w->n_songs, sizeof *plays), total = 0;
  for (int64_t i = 0; i < w->n_events; i++)
    if (w->ev_action[i] == 0) plays[w->ev_song[i]]++, total++;
  qsort(plays, (size_t)w->n_songs, sizeof *plays, cmp_i64);
  int64_t top = (w->n_songs + per - 1) / per, head = 0;
  for (int64_t i = 0; i < top; i++) head += plays[w->n_songs - 1 - i];
  free(plays);
  return (double)head / (double)total;
}

static void check_basic(const world_t *w, const cs_synth_stats_t *st,
                        int64_t n_cold) {
  int64_t from = cohort_from(w), cold = 0;
  for (int64_t u = 0; u < w->n_users; u++) cold += w->reg_day[u] >= from;
  assert_int_equal(cold, n_cold);
  assert_int_equal(st->n_cold_users, n_cold);
  /* every action and every kind appears */
  int64_t by[6][4];
  memset(by, 0, sizeof by);
  for (int64_t i = 0; i < w->n_events; i++) by[w->ev_action[i]][w->ev_kind[i]]++;
  for (int a = 0; a < 6; a++) {
    int64_t any = 0;
    for (int k = 0; k < 4; k++) any += by[a][k];
    assert_true(any > 0);
  }
  for (int k = 0; k < 4; k++) {
    int64_t any = 0;
    for (int a = 0; a < 6; a++) any += by[a][k];
    assert_true(any > 0);
  }
  for (int a = 0; a < 6; a++)
    for (int k = 0; k < 4; k++) assert_int_equal(by[a][k], st->events_by[a][k]);
  /* cold users: events on day 0 .. 30 only; silent registration days */
  uint8_t *active = calloc((size_t)w->n_users, 1);
  for (int64_t i = 0; i < w->n_events; i++) {
    int64_t u = w->ev_user[i], r = w->reg_day[u];
    assert_true(w->ev_day[i] >= r);
    if (r >= from) assert_true(w->ev_day[i] <= r + 30);
    if (w->ev_day[i] == r) active[u] = 1;
  }
  int64_t silent = 0, no_age = 0, no_country = 0;
  for (int64_t u = 0; u < w->n_users; u++) {
    if (w->reg_day[u] >= from) silent += !active[u];
    no_age += w->age[u] < 0;
    no_country += w->country[u][0] == '\0';
    if (w->age[u] >= 0) assert_true(w->age[u] >= 13 && w->age[u] <= 85);
  }
  free(active);
  double silent_share = (double)silent / (double)n_cold;
  assert_true(silent_share >= 0.02 && silent_share <= 0.10);
  assert_int_equal(silent, st->n_cold_silent);
  assert_true(no_age > w->n_users / 20 && no_age < w->n_users / 3);
  assert_true(no_country > w->n_users / 50 && no_country < w->n_users / 5);
  /* power law: the top 1% of songs take 15-40% of the streams */
  double share = head_share(w, 100);
  assert_true(share >= 0.15 && share <= 0.40);
  assert_true(fabs(share - st->top1_share) < 1e-9);
}

static void test_tiny_world(void **state) {
  fixture_t *f = *state;
  check_basic(&f->tiny, &f->tiny_stats, 1000);
}

static void test_small_world(void **state) {
  fixture_t *f = *state;
  check_basic(&f->small_w, &f->small_stats, 10000);
}

/* Distinct days-1-30 songs of each cold user, as sorted song rows (CSR). */
typedef struct month {
  int64_t *ptr, *songs, n_users, from;
} month_t;

static void month_songs(const world_t *w, month_t *m) {
  m->from = cohort_from(w);
  m->n_users = w->n_users;
  m->ptr = calloc((size_t)w->n_users + 1, sizeof *m->ptr);
  m->songs = malloc((size_t)w->n_events * sizeof *m->songs);
  int64_t n = 0;
  for (int64_t u = 0, i = 0; u < w->n_users; u++) {
    m->ptr[u] = n;
    for (; i < w->n_events && w->ev_user[i] == u; i++)
      if (w->reg_day[u] >= m->from && w->ev_action[i] == 0 &&
          w->ev_day[i] > w->reg_day[u])
        m->songs[n++] = w->ev_song[i];
    int64_t k = unique_sorted(m->songs + m->ptr[u], n - m->ptr[u]);
    n = m->ptr[u] + k;
  }
  m->ptr[w->n_users] = n;
}

static double overlap(const month_t *m, int64_t a, int64_t b) {
  int64_t i = m->ptr[a], j = m->ptr[b], na = m->ptr[a + 1] - i,
          nb = m->ptr[b + 1] - j, both = 0;
  if (na == 0 || nb == 0) return 0.0;
  while (i < m->ptr[a + 1] && j < m->ptr[b + 1]) {
    if (m->songs[i] == m->songs[j]) both++, i++, j++;
    else if (m->songs[i] < m->songs[j]) i++;
    else j++;
  }
  return (double)both / sqrt((double)na * (double)nb);
}

static void test_activity_spread(void **state) {
  fixture_t *f = *state;
  const world_t *w = &f->small_w;
  month_t m;
  month_songs(w, &m);
  int64_t *sizes = malloc((size_t)w->n_users * sizeof *sizes), n = 0, big = 0;
  for (int64_t u = 0; u < w->n_users; u++) {
    if (w->reg_day[u] < m.from) continue;
    int64_t k = m.ptr[u + 1] - m.ptr[u];
    if (k == 0) continue;
    sizes[n++] = k;
    big += k > 100;
  }
  qsort(sizes, (size_t)n, sizeof *sizes, cmp_i64);
  int64_t median = sizes[n / 2];
  assert_true(median >= 10 && median <= 99); /* tens of songs */
  assert_true(big >= n / 200 && big <= n / 5); /* a few hundreds */
  assert_true(sizes[n - 1] > 200);
  free(sizes);
  free(m.ptr), free(m.songs);
}

/* Users who share a country (or an age) listen more alike than random
 * pairs: the only link is the hidden taste. */
static void test_demographics_correlate(void **state) {
  fixture_t *f = *state;
  const world_t *w = &f->small_w;
  month_t m;
  month_songs(w, &m);
  int64_t *cold = malloc((size_t)w->n_users * sizeof *cold), n = 0;
  for (int64_t u = 0; u < w->n_users; u++)
    if (w->reg_day[u] >= m.from && m.ptr[u + 1] > m.ptr[u]) cold[n++] = u;
  cs_rng_t rng;
  cs_rng_seed(&rng, 11);
  double same_c = 0, same_a = 0, rnd = 0;
  int64_t n_c = 0, n_a = 0, n_r = 0;
  for (int64_t t = 0; t < 400000 && (n_c < 3000 || n_a < 3000); t++) {
    int64_t a = cold[cs_rng_below(&rng, (uint64_t)n)];
    int64_t b = cold[cs_rng_below(&rng, (uint64_t)n)];
    if (a == b) continue;
    double o = overlap(&m, a, b);
    if (n_r < 3000) rnd += o, n_r++;
    if (n_c < 3000 && w->country[a][0] && strcmp(w->country[a], w->country[b]) == 0)
      same_c += o, n_c++;
    if (n_a < 3000 && w->age[a] >= 0 && w->age[a] == w->age[b]) same_a += o, n_a++;
  }
  assert_true(n_c == 3000 && n_a == 3000);
  rnd /= n_r, same_c /= n_c, same_a /= n_a;
  print_message("overlap: random %.4f, same country %.4f, same age %.4f\n",
                rnd, same_c, same_a);
  assert_true(same_c > 1.15 * rnd);
  assert_true(same_a > 1.15 * rnd);
  free(cold);
  free(m.ptr), free(m.songs);
}

/* The registration day says something (beyond popularity) about days 1-30:
 * a naive artist-to-song model fit on 80% of the cohort beats popularity on
 * the rest by a clear margin. */
static void test_registration_day_informative(void **state) {
  fixture_t *f = *state;
  const world_t *w = &f->small_w;
  month_t m;
  month_songs(w, &m);
  int64_t n_art = w->n_artists, n_songs = w->n_songs;
  float *assoc = calloc((size_t)(n_art * n_songs), sizeof *assoc);
  double *pop = calloc((size_t)n_songs, sizeof *pop);
  int64_t *arts = malloc((size_t)w->n_events * sizeof *arts);
  double p_pop = 0, p_art = 0;
  int64_t n_test = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (int64_t u = 0, i = 0; u < w->n_users; u++) {
      int64_t n_a = 0;
      for (; i < w->n_events && w->ev_user[i] == u; i++) {
        if (w->ev_day[i] != w->reg_day[u]) continue;
        int act = w->ev_action[i], kind = w->ev_kind[i];
        if (act == 1 || act == 3) continue; /* skips and bans */
        int64_t a = -1;
        if (kind == 0)
          a = find_id(w->artists_sorted, n_art, w->artist_of[w->ev_song[i]]);
        else if (kind == 1)
          a = find_id(w->artists_sorted, n_art, w->ev_item[i]);
        if (a >= 0) arts[n_a++] = a;
      }
      if (w->reg_day[u] < m.from || m.ptr[u + 1] == m.ptr[u]) continue;
      int test = (u % 5) == 0;
      if (pass == 0 && !test) {
        for (int64_t j = m.ptr[u]; j < m.ptr[u + 1]; j++) {
          pop[m.songs[j]] += 1.0;
          for (int64_t k = 0; k < n_a; k++)
            assoc[arts[k] * n_songs + m.songs[j]] += 1.0f;
        }
      } else if (pass == 1 && test) {
        /* top 50 by popularity, and by sum of artist associations */
        double *score = calloc((size_t)n_songs, sizeof *score);
        for (int64_t s = 0; s < n_songs; s++) score[s] = 1e-6 * pop[s];
        for (int64_t k = 0; k < n_a; k++)
          for (int64_t s = 0; s < n_songs; s++)
            score[s] += assoc[arts[k] * n_songs + s];
        int64_t g = m.ptr[u + 1] - m.ptr[u], hit_pop = 0, hit_art = 0;
        for (int which = 0; which < 2; which++) {
          const double *sc = which ? score : pop;
          uint8_t *taken = calloc((size_t)n_songs, 1);
          for (int r = 0; r < 50; r++) {
            int64_t best = -1;
            for (int64_t s = 0; s < n_songs; s++)
              if (!taken[s] && (best < 0 || sc[s] > sc[best])) best = s;
            taken[best] = 1;
            for (int64_t j = m.ptr[u]; j < m.ptr[u + 1]; j++)
              if (m.songs[j] == best) {
                if (which)
                  hit_art++;
                else
                  hit_pop++;
              }
          }
          free(taken);
        }
        double denom = (double)(g < 50 ? g : 50);
        p_pop += hit_pop / denom;
        p_art += hit_art / denom;
        n_test++;
        free(score);
        if (n_test >= 300) break;
      }
    }
  }
  p_pop /= n_test, p_art /= n_test;
  print_message("P@50 on %lld users: popularity %.3f, day-0 artists %.3f\n",
                (long long)n_test, p_pop, p_art);
  assert_true(p_art > 1.5 * p_pop);
  assert_true(p_pop > 0.03); /* popularity is a real baseline too */
  free(assoc), free(pop), free(arts);
  free(m.ptr), free(m.songs);
}

/* Song-level taste is opt-in: it changes the plays, not the catalog. */
static void test_song_spread(void **state) {
  fixture_t *f = *state;
  char dir[700];
  snprintf(dir, sizeof dir, "%s/songs", f->root);
  cs_synth_params_t p;
  cs_err_t err;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_synth_params_default(&p, "tiny", 7, &err);
  p.song_spread = 0.8;
  assert_int_equal(cs_synth_generate(&p, dir, 0, &ctx, NULL, &err), CS_OK);
  size_t na, nb;
  char *a = slurp(f->tiny_a, "catalog.tsv", &na), *b = slurp(dir, "catalog.tsv", &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  free(a), free(b);
  a = slurp(f->tiny_a, "events.tsv", &na);
  b = slurp(dir, "events.tsv", &nb);
  assert_true(na != nb || memcmp(a, b, na) != 0);
  free(a), free(b);
  world_t w;
  load_world(dir, &w); /* integrity checks */
  free_world(&w);
  remove_dir(dir);
}

/* Presets: every one applies its table's values on top of each scale and
 * passes the checks; sizes scale with the scale; knobs outside the preset
 * keep their defaults; an unknown name is refused with the valid list. */
static void test_presets(void **state) {
  (void)state;
  static const char *const required[5] = {"taste-led", "popularity-led",
                                          "sparse-d0", "small-catalog",
                                          "deezer-like"};
  static const char *const scales[3] = {"tiny", "small", "deezer"};
  int n_presets, n_knobs;
  const cs_synth_preset_t *ps = cs_synth_presets(&n_presets);
  const cs_synth_knob_t *ks = cs_synth_knobs(&n_knobs);
  for (int r = 0; r < 5; r++) {
    int found = 0;
    for (int i = 0; i < n_presets; i++) found += !strcmp(ps[i].name, required[r]);
    assert_int_equal(found, 1);
  }
  cs_synth_params_t p, base;
  cs_err_t err;
  for (int i = 0; i < n_presets; i++) {
    assert_true(ps[i].n_settings > 0);
    assert_true(strlen(ps[i].help) > 10 && !strchr(ps[i].help, '\n'));
    for (int sc = 0; sc < 3; sc++) {
      cs_synth_params_default(&base, scales[sc], 5, &err);
      cs_synth_params_default(&p, scales[sc], 5, &err);
      assert_string_equal(p.preset, "");
      assert_int_equal(cs_synth_preset_apply(&p, ps[i].name, &err), CS_OK);
      assert_string_equal(p.preset, ps[i].name);
      assert_int_equal(cs_synth_params_check(&p, &err), CS_OK);
      for (int k = 0; k < n_knobs; k++) {
        const cs_synth_setting_t *st = NULL;
        for (int j = 0; j < ps[i].n_settings; j++)
          if (!strcmp(ps[i].settings[j].flag, ks[k].flag)) st = &ps[i].settings[j];
        double was = cs_synth_knob_get(&base, &ks[k]);
        double v = cs_synth_knob_get(&p, &ks[k]);
        if (!st) {
          assert_true(v == was);
        } else if (st->scaled) {
          double want = was * st->value;
          assert_true(fabs(v - (ks[k].is_int ? (double)llround(want) : want)) < 1e-12);
        } else {
          assert_true(v == st->value);
        }
      }
    }
  }
  /* known answers at small scale */
  cs_synth_params_default(&p, "small", 5, &err);
  assert_int_equal(cs_synth_preset_apply(&p, "small-catalog", &err), CS_OK);
  assert_int_equal(p.n_songs, 1000);
  assert_int_equal(p.n_styles, 12);
  assert_int_equal(p.n_cold_users, 10000);
  cs_synth_params_default(&p, "deezer", 5, &err);
  assert_int_equal(cs_synth_preset_apply(&p, "deezer-like", &err), CS_OK);
  assert_true(p.month_plays == 250 && p.d0_stream_noise == 0.89 &&
              p.chart == 0.13 && p.artist_pop_sigma == 1.2);
  assert_int_equal(p.n_songs, 50000);
  /* unknown: CS_EINVAL naming it and every valid preset, p untouched */
  cs_synth_params_default(&p, "tiny", 5, &err);
  cs_synth_params_default(&base, "tiny", 5, &err);
  assert_int_equal(cs_synth_preset_apply(&p, "tastey", &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "'tastey'"));
  for (int i = 0; i < n_presets; i++) assert_non_null(strstr(err.msg, ps[i].name));
  assert_memory_equal(&p, &base, sizeof p);
}

/* Each preset's world is valid and has the character it claims, against
 * the default tiny world of the same seed (tiny_a). */
static void test_preset_worlds(void **state) {
  fixture_t *f = *state;
  const cs_synth_stats_t *d = &f->tiny_stats;
  int n_presets;
  const cs_synth_preset_t *ps = cs_synth_presets(&n_presets);
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  for (int i = 0; i < n_presets; i++) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/preset", f->root);
    cs_synth_params_t p;
    cs_err_t err;
    cs_synth_stats_t st;
    cs_synth_params_default(&p, "tiny", 7, &err);
    assert_int_equal(cs_synth_preset_apply(&p, ps[i].name, &err), CS_OK);
    assert_int_equal(cs_synth_generate(&p, dir, 0, &ctx, &st, &err), CS_OK);
    world_t w;
    load_world(dir, &w); /* format and referential integrity */
    double top10 = head_share(&w, 10), top10_default = head_share(&f->tiny, 10);
    free_world(&w);
    char *json = slurp(dir, "world.json", NULL);
    char want[96];
    snprintf(want, sizeof want, "\"preset\": \"%s\"", ps[i].name);
    assert_non_null(strstr(json, want));
    free(json);
    double silent = (double)st.n_cold_silent / (double)st.n_cold_users;
    print_message("%-15s top10%% %.3f (default %.3f) top1 %.3f silent %.3f d0 events %.1f month median %.0f "
                  "songs %lld\n", ps[i].name, top10, top10_default, st.top1_share, silent,
                  st.d0_events_mean, st.month_songs_median,
                  (long long)st.n_songs);
    if (!strcmp(ps[i].name, "taste-led")) {
      assert_true(top10 < top10_default - 0.05);
      assert_true(top10 > 0.2); /* still a heavy head: 10% of songs */
    } else if (!strcmp(ps[i].name, "popularity-led")) {
      assert_true(top10 > top10_default + 0.02);
      assert_true(st.top1_share > d->top1_share + 0.02);
    } else if (!strcmp(ps[i].name, "sparse-d0")) {
      assert_true(silent > 0.1 && silent < 0.2);
      assert_true(st.d0_events_mean < 0.5 * d->d0_events_mean);
      /* searches come only from registration days: d0-actions 0.3 */
      double ratio = (double)st.events_by[4][0] / (double)d->events_by[4][0];
      assert_true(ratio > 0.2 && ratio < 0.35);
    } else if (!strcmp(ps[i].name, "small-catalog")) {
      assert_int_equal(st.n_songs, d->n_songs / 5);
      assert_int_equal(st.n_cold_users, d->n_cold_users);
    } else if (!strcmp(ps[i].name, "deezer-like")) {
      assert_true(st.month_songs_median > 3 * d->month_songs_median);
    }
    remove_dir(dir);
  }
  /* --d0-actions 0: no registration-day favorites/searches/bans remain */
  char dir[700];
  snprintf(dir, sizeof dir, "%s/noact", f->root);
  cs_synth_params_t p;
  cs_err_t err;
  cs_synth_stats_t st;
  cs_synth_params_default(&p, "tiny", 7, &err);
  p.d0_actions = 0;
  assert_int_equal(cs_synth_generate(&p, dir, 0, &ctx, &st, &err), CS_OK);
  for (int k = 0; k < 4; k++) {
    assert_int_equal(st.events_by[4][k], 0); /* search */
    assert_int_equal(st.events_by[3][k], 0); /* ban */
  }
  assert_true(st.events_by[5][1] > 0); /* onboarding likes stay */
  remove_dir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_tiny_world),
      cmocka_unit_test(test_small_world),
      cmocka_unit_test(test_activity_spread),
      cmocka_unit_test(test_demographics_correlate),
      cmocka_unit_test(test_registration_day_informative),
      cmocka_unit_test(test_refuses_nonempty),
      cmocka_unit_test(test_song_spread),
      cmocka_unit_test(test_presets),
      cmocka_unit_test(test_preset_worlds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

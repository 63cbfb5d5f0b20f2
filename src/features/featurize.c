/* featurize.c: the featurizer tables (song, artist, album, playlist, age and
 * country embeddings) and the per-user feature vector of DESIGN.md 4.3. */
#include "coldstart/featurize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dataset.h"
#include "data/idmap.h"

enum { T_SONG, T_ARTIST, T_ALBUM, T_PLAYLIST, T_AGE, T_COUNTRY, N_TABLES };

typedef struct {
  int64_t n;
  const int64_t *keys; /* ids; ages and packed country codes as int64 */
  const float *emb;    /* [n x dim] */
  cs__idmap_t map;
} table_t;

struct cs_featurizer {
  int dim, n_features;
  table_t t[N_TABLES];
  const int32_t *song_artist; /* [n_songs] artist row or -1 */
  const int32_t *song_album;  /* [n_songs] album row or -1 */
  void *owned[2 * N_TABLES + 2]; /* buffers of a built featurizer */
  int n_owned;
};

static const char *const action_names[CS_N_ACTIONS] = {
    "stream", "skip", "favorite", "ban", "search", "onboarding_like"};
static const char *const kind_names[CS_N_KINDS] = {"song", "artist", "album",
                                                   "playlist"};

/* block of (action, kind); see cs_feature_blocks. */
static const int8_t block_of[CS_N_ACTIONS][CS_N_KINDS] = {
    /* stream */ {10, 11, 12, -1},
    /* skip */ {7, 8, 9, -1},
    /* favorite */ {2, 3, 4, 5},
    /* ban */ {13, 14, 15, -1},
    /* search */ {16, 17, 18, 19},
    /* onboarding_like */ {-1, 6, -1, -1},
};

/* block feeding each count, in the release's count order. */
static const int8_t count_block[CS_N_COUNTS] = {2,  4,  3,  5,  7,  8,
                                                9,  13, 14, 15, 10, 11,
                                                12, 16, 18, 17, 19, 6};

const char *cs_action_name(int action) {
  return action >= 0 && action < CS_N_ACTIONS ? action_names[action] : "?";
}

const char *cs_kind_name(int kind) {
  return kind >= 0 && kind < CS_N_KINDS ? kind_names[kind] : "?";
}

static int parse_word(const char *const *names, int n, const char *s,
                      size_t len) {
  for (int i = 0; i < n; i++)
    if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) return i;
  return -1;
}

int cs_action_parse(const char *s, size_t len) {
  return s ? parse_word(action_names, CS_N_ACTIONS, s, len) : -1;
}

int cs_kind_parse(const char *s, size_t len) {
  return s ? parse_word(kind_names, CS_N_KINDS, s, len) : -1;
}

int cs_feature_block_of(int action, int kind) {
  if (action < 0 || action >= CS_N_ACTIONS || kind < 0 || kind >= CS_N_KINDS)
    return -1;
  return block_of[action][kind];
}

/* Country code -> int64 key: the bytes, zero padded; "" (unknown) -> 0.
 * Returns -1 when the code is too long to be in any table. */
static int country_key(const char *country, int64_t *key) {
  uint64_t k = 0;
  size_t len = country ? strlen(country) : 0;
  if (len > CS_COUNTRY_MAX) return -1;
  if (len) memcpy(&k, country, len);
  *key = (int64_t)k;
  return 0;
}

static int age_key(int32_t age) { return age < 0 ? -1 : age; }

int cs_featurizer_dim(const cs_featurizer_t *f) { return f ? f->dim : 0; }
int cs_featurizer_n_features(const cs_featurizer_t *f) {
  return f ? f->n_features : 0;
}
int64_t cs_featurizer_n_songs(const cs_featurizer_t *f) {
  return f ? f->t[T_SONG].n : 0;
}

void cs_featurizer_sizes(const cs_featurizer_t *f, int64_t sizes[6]) {
  for (int i = 0; i < N_TABLES; i++) sizes[i] = f ? f->t[i].n : 0;
}

int64_t cs_featurizer_song_row(const cs_featurizer_t *f, int64_t song_id) {
  return cs__idmap_get(&f->t[T_SONG].map, song_id);
}

void cs_featurizer_free(cs_featurizer_t *f) {
  if (!f) return;
  for (int i = 0; i < N_TABLES; i++) cs__idmap_free(&f->t[i].map);
  for (int i = 0; i < f->n_owned; i++) free(f->owned[i]);
  free(f);
}

static const char *const table_names[N_TABLES] = {
    "song", "artist", "album", "playlist", "age", "country"};

/* Build the id -> row map of a table; duplicate keys are an error. */
static int index_table(table_t *t, const char *what, cs_err_t *err) {
  if (cs__idmap_init(&t->map, t->n))
    return cs_err_set(err, CS_ENOMEM, "featurizer: %s table", what);
  for (int64_t i = 0; i < t->n; i++) {
    int64_t got = cs__idmap_put(&t->map, t->keys[i], (int32_t)i);
    if (got < 0) return cs_err_set(err, CS_ENOMEM, "featurizer: %s table", what);
    if (got != i)
      return cs_err_set(err, CS_EFORMAT,
                        "featurizer: %s id %lld appears twice (rows %lld, "
                        "%lld)",
                        what, (long long)t->keys[i], (long long)got,
                        (long long)i);
  }
  return 0;
}

/* ----------------------------------------------------------------------
 * Per-user features (the online path: no allocation). */

static inline void add_row(float *restrict dst, const float *restrict src,
                           int dim) {
  for (int j = 0; j < dim; j++) dst[j] += src[j];
}

int cs_featurizer_user(const cs_featurizer_t *f, int32_t age,
                       const char *country, const cs_event_t *events,
                       int64_t n_events, float *out, cs_feat_stats_t *stats) {
  if (!f || !out || (n_events > 0 && !events)) return CS_EINVAL;
  const int d = f->dim;
  int64_t cnt[CS_N_BLOCKS] = {0};
  memset(out, 0, (size_t)f->n_features * sizeof(float));
  for (int64_t e = 0; e < n_events; e++) {
    int a = events[e].action, k = events[e].kind;
    if (a >= CS_N_ACTIONS || k >= CS_N_KINDS) {
      if (stats) stats->n_bad_events++;
      continue;
    }
    if (stats) stats->n_events++;
    int blk = block_of[a][k];
    if (blk < 0) {
      if (stats) {
        stats->n_unused_pairs++;
        stats->unused[a][k]++;
      }
      continue;
    }
    const table_t *t = &f->t[k]; /* T_SONG..T_PLAYLIST == CS_KIND_* */
    int32_t row = cs__idmap_get(&t->map, events[e].item_id);
    if (row < 0) {
      if (stats) {
        stats->n_missing_items++;
        stats->missing[k]++;
      }
      continue;
    }
    add_row(out + (size_t)blk * d, t->emb + (size_t)row * d, d);
    cnt[blk]++;
    if (k == CS_KIND_SONG &&
        (a == CS_ACTION_STREAM || a == CS_ACTION_SKIP || a == CS_ACTION_BAN)) {
      /* the song's artist and album blocks follow the song block */
      int32_t ar = f->song_artist[row], al = f->song_album[row];
      if (ar >= 0) {
        add_row(out + (size_t)(blk + 1) * d,
                f->t[T_ARTIST].emb + (size_t)ar * d, d);
        cnt[blk + 1]++;
      }
      if (al >= 0) {
        add_row(out + (size_t)(blk + 2) * d,
                f->t[T_ALBUM].emb + (size_t)al * d, d);
        cnt[blk + 2]++;
      }
    }
  }
  for (int b = 2; b < CS_N_BLOCKS; b++) {
    if (cnt[b] <= 1) continue;
    float inv = (float)(1.0 / (double)cnt[b]);
    float *blk = out + (size_t)b * d;
    for (int j = 0; j < d; j++) blk[j] *= inv;
  }
  int32_t ak = age_key(age);
  int32_t row = cs__idmap_get(&f->t[T_AGE].map, ak);
  if (row >= 0)
    memcpy(out, f->t[T_AGE].emb + (size_t)row * d, (size_t)d * sizeof(float));
  int64_t ck;
  if (country_key(country, &ck) == 0) {
    row = cs__idmap_get(&f->t[T_COUNTRY].map, ck);
    if (row >= 0)
      memcpy(out + d, f->t[T_COUNTRY].emb + (size_t)row * d,
             (size_t)d * sizeof(float));
  }
  float *tail = out + (size_t)CS_N_BLOCKS * d;
  tail[0] = (float)ak;
  for (int c = 0; c < CS_N_COUNTS; c++) tail[1 + c] = (float)cnt[count_block[c]];
  return 0;
}

/* ----------------------------------------------------------------------
 * Building the tables. */

static void *own(cs_featurizer_t *f, size_t size) {
  void *p = calloc(1, size ? size : 1);
  if (p) f->owned[f->n_owned++] = p;
  return p;
}

/* Give each distinct key of keys[0..n) (skipping -1 when skip_neg) a group
 * row in first-appearance order; group_of[i] = its row (-1 skipped). Writes
 * the group keys into a newly owned array. */
static int group_keys(cs_featurizer_t *f, table_t *t, const int64_t *keys,
                      int64_t n, int skip_neg, int32_t *group_of,
                      cs_err_t *err) {
  cs__idmap_t m;
  if (cs__idmap_init(&m, 1024)) return cs_err_set(err, CS_ENOMEM, "featurizer");
  int64_t n_groups = 0;
  for (int64_t i = 0; i < n; i++) {
    if (skip_neg && keys[i] < 0) {
      group_of[i] = -1;
      continue;
    }
    int64_t g = cs__idmap_put(&m, keys[i], (int32_t)n_groups);
    if (g < 0) {
      cs__idmap_free(&m);
      return cs_err_set(err, CS_ENOMEM, "featurizer");
    }
    if (g == n_groups) n_groups++;
    group_of[i] = (int32_t)g;
  }
  cs__idmap_free(&m);
  int64_t *gk = own(f, (size_t)n_groups * sizeof(int64_t));
  if (!gk) return cs_err_set(err, CS_ENOMEM, "featurizer");
  for (int64_t i = 0; i < n; i++)
    if (group_of[i] >= 0) gk[group_of[i]] = keys[i];
  t->n = n_groups;
  t->keys = gk;
  return 0;
}

/* t->emb[g] = mean of src rows (src_row[i], or i when NULL) over the items i
 * with group_of[i] == g; double accumulation. */
static int group_means(cs_featurizer_t *f, table_t *t, const int32_t *group_of,
                       int64_t n, const float *src, const int32_t *src_row,
                       cs_err_t *err) {
  int d = f->dim;
  double *acc = calloc((size_t)t->n * d + 1, sizeof(double));
  int64_t *cnt = calloc((size_t)t->n + 1, sizeof(int64_t));
  float *emb = own(f, (size_t)t->n * d * sizeof(float));
  if (!acc || !cnt || !emb) {
    free(acc);
    free(cnt);
    return cs_err_set(err, CS_ENOMEM, "featurizer: group means");
  }
  for (int64_t i = 0; i < n; i++) {
    int32_t g = group_of[i];
    if (g < 0) continue;
    const float *x = src + (size_t)(src_row ? src_row[i] : i) * d;
    double *a = acc + (size_t)g * d;
    for (int j = 0; j < d; j++) a[j] += x[j];
    cnt[g]++;
  }
  for (int64_t g = 0; g < t->n; g++)
    for (int j = 0; j < d; j++)
      emb[(size_t)g * d + j] =
          cnt[g] ? (float)(acc[(size_t)g * d + j] / (double)cnt[g]) : 0.0f;
  free(acc);
  free(cnt);
  t->emb = emb;
  return 0;
}

static int build_tables(cs_featurizer_t *f, const cs_featurizer_input_t *in,
                        cs_err_t *err) {
  int d = in->dim;
  int64_t ns = in->n_songs;
  table_t *songs = &f->t[T_SONG];
  int64_t *ids = own(f, (size_t)ns * sizeof(int64_t));
  float *emb = own(f, (size_t)ns * d * sizeof(float));
  int32_t *sa = own(f, (size_t)ns * sizeof(int32_t));
  int32_t *sb = own(f, (size_t)ns * sizeof(int32_t));
  if (!ids || !emb || !sa || !sb)
    return cs_err_set(err, CS_ENOMEM, "featurizer: song table");
  memcpy(ids, in->song_ids, (size_t)ns * sizeof(int64_t));
  memcpy(emb, in->song_emb, (size_t)ns * d * sizeof(float));
  songs->n = ns;
  songs->keys = ids;
  songs->emb = emb;
  f->song_artist = sa;
  f->song_album = sb;

  int rc = group_keys(f, &f->t[T_ARTIST], in->song_artist, ns, 1, sa, err);
  if (!rc) rc = group_means(f, &f->t[T_ARTIST], sa, ns, emb, NULL, err);
  if (!rc) rc = group_keys(f, &f->t[T_ALBUM], in->song_album, ns, 1, sb, err);
  if (!rc) rc = group_means(f, &f->t[T_ALBUM], sb, ns, emb, NULL, err);
  if (rc) return rc;

  int64_t np = in->n_playlist_entries, nu = in->n_users;
  int64_t n_tmp = np > nu ? np : nu;
  int32_t *group_of = calloc((size_t)n_tmp + 1, sizeof(int32_t));
  int64_t *keys = calloc((size_t)nu + 1, sizeof(int64_t));
  if (!group_of || !keys) {
    free(group_of);
    free(keys);
    return cs_err_set(err, CS_ENOMEM, "featurizer: tables");
  }
  for (int64_t e = 0; e < np && !rc; e++)
    if (in->playlist_song_rows[e] < 0 || in->playlist_song_rows[e] >= ns)
      rc = cs_err_set(err, CS_EINVAL,
                      "featurizer: playlist %lld entry %lld: song row %d out "
                      "of range",
                      (long long)in->playlist_ids[e], (long long)e,
                      in->playlist_song_rows[e]);
  if (!rc)
    rc = group_keys(f, &f->t[T_PLAYLIST], in->playlist_ids, np, 0, group_of,
                    err);
  if (!rc)
    rc = group_means(f, &f->t[T_PLAYLIST], group_of, np, emb,
                     in->playlist_song_rows, err);

  for (int64_t u = 0; u < nu && !rc; u++)
    keys[u] = age_key(in->user_age ? in->user_age[u] : -1);
  if (!rc) rc = group_keys(f, &f->t[T_AGE], keys, nu, 0, group_of, err);
  if (!rc)
    rc = group_means(f, &f->t[T_AGE], group_of, nu, in->user_target, NULL, err);

  for (int64_t u = 0; u < nu && !rc; u++) {
    const char *c = in->user_country ? in->user_country[u] : NULL;
    if (country_key(c, &keys[u]))
      rc = cs_err_set(err, CS_EINVAL,
                      "featurizer: country '%s' longer than %d bytes", c,
                      CS_COUNTRY_MAX);
  }
  if (!rc) rc = group_keys(f, &f->t[T_COUNTRY], keys, nu, 0, group_of, err);
  if (!rc)
    rc = group_means(f, &f->t[T_COUNTRY], group_of, nu, in->user_target, NULL,
                     err);
  free(group_of);
  free(keys);
  return rc;
}

int cs_featurizer_build(cs_featurizer_t **out, const cs_featurizer_input_t *in,
                        cs_err_t *err) {
  *out = NULL;
  if (!in || in->dim <= 0 || in->n_songs <= 0 || !in->song_ids ||
      !in->song_emb || !in->song_artist || !in->song_album ||
      in->n_playlist_entries < 0 || in->n_users < 0 ||
      (in->n_playlist_entries > 0 &&
       (!in->playlist_ids || !in->playlist_song_rows)) ||
      (in->n_users > 0 && !in->user_target) || in->n_songs > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "featurizer: bad build input");
  cs_featurizer_t *f = calloc(1, sizeof *f);
  if (!f) return cs_err_set(err, CS_ENOMEM, "featurizer");
  f->dim = in->dim;
  f->n_features = cs_n_features(in->dim);
  int rc = build_tables(f, in, err);
  for (int i = 0; i < N_TABLES && !rc; i++)
    rc = index_table(&f->t[i], table_names[i], err);
  if (rc) {
    cs_featurizer_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* ----------------------------------------------------------------------
 * Storage: sections prefix + "meta", "<table>_id", "<table>_emb",
 * "song_artist", "song_album". */

typedef struct {
  int64_t dim;
  int64_t n[N_TABLES];
  int64_t reserved[4];
} feat_meta_t;

static void sec(char *buf, size_t cap, const char *prefix, const char *a,
                const char *b) {
  snprintf(buf, cap, "%s%s%s", prefix, a, b);
}

int cs_featurizer_present(const cs_container_t *c, const char *prefix) {
  char name[CS_CONTAINER_NAME_MAX];
  sec(name, sizeof name, prefix, "meta", "");
  size_t size = 0;
  return cs_container_get(c, name, &size) != NULL;
}

int cs_featurizer_save(const cs_featurizer_t *f, cs_container_writer_t *w,
                       const char *prefix, cs_err_t *err) {
  feat_meta_t meta;
  memset(&meta, 0, sizeof meta);
  meta.dim = f->dim;
  for (int i = 0; i < N_TABLES; i++) meta.n[i] = f->t[i].n;
  char name[CS_CONTAINER_NAME_MAX];
  sec(name, sizeof name, prefix, "meta", "");
  int rc = cs_container_add_copy(w, name, &meta, sizeof meta, err);
  size_t d = (size_t)f->dim;
  for (int i = 0; i < N_TABLES && !rc; i++) {
    const table_t *t = &f->t[i];
    sec(name, sizeof name, prefix, table_names[i], "_id");
    rc = cs_container_add(w, name, t->keys, (size_t)t->n * sizeof(int64_t),
                          err);
    sec(name, sizeof name, prefix, table_names[i], "_emb");
    if (!rc)
      rc = cs_container_add(w, name, t->emb, (size_t)t->n * d * sizeof(float),
                            err);
  }
  size_t ns = (size_t)f->t[T_SONG].n;
  sec(name, sizeof name, prefix, "song_artist", "");
  if (!rc)
    rc = cs_container_add(w, name, f->song_artist, ns * sizeof(int32_t), err);
  sec(name, sizeof name, prefix, "song_album", "");
  if (!rc)
    rc = cs_container_add(w, name, f->song_album, ns * sizeof(int32_t), err);
  return rc;
}

static const void *get_exact(const cs_container_t *c, const char *name,
                             size_t size, int *rc, cs_err_t *err) {
  const void *p = NULL;
  size_t got = 0;
  if (*rc) return NULL;
  *rc = cs_container_require(c, name, size, &p, &got, err);
  return *rc ? NULL : p;
}

int cs_featurizer_load(cs_featurizer_t **out, const cs_container_t *c,
                       const char *prefix, cs_err_t *err) {
  *out = NULL;
  char name[CS_CONTAINER_NAME_MAX];
  int rc = 0;
  sec(name, sizeof name, prefix, "meta", "");
  const feat_meta_t *mp = get_exact(c, name, sizeof(feat_meta_t), &rc, err);
  if (rc) return rc;
  feat_meta_t meta;
  memcpy(&meta, mp, sizeof meta);
  if (meta.dim <= 0 || meta.dim > 65536 || meta.n[T_SONG] <= 0 ||
      meta.n[T_SONG] > INT32_MAX)
    return cs_err_set(err, CS_EFORMAT, "%s: %smeta: bad dim/song count",
                      c->path, prefix);
  for (int i = 0; i < N_TABLES; i++)
    if (meta.n[i] < 0 || meta.n[i] > INT32_MAX)
      return cs_err_set(err, CS_EFORMAT, "%s: %smeta: bad %s count %lld",
                        c->path, prefix, table_names[i], (long long)meta.n[i]);
  cs_featurizer_t *f = calloc(1, sizeof *f);
  if (!f) return cs_err_set(err, CS_ENOMEM, "featurizer");
  f->dim = (int)meta.dim;
  f->n_features = cs_n_features(f->dim);
  size_t d = (size_t)f->dim;
  for (int i = 0; i < N_TABLES && !rc; i++) {
    table_t *t = &f->t[i];
    t->n = meta.n[i];
    sec(name, sizeof name, prefix, table_names[i], "_id");
    t->keys = get_exact(c, name, (size_t)t->n * sizeof(int64_t), &rc, err);
    sec(name, sizeof name, prefix, table_names[i], "_emb");
    t->emb = get_exact(c, name, (size_t)t->n * d * sizeof(float), &rc, err);
  }
  size_t ns = (size_t)f->t[T_SONG].n;
  sec(name, sizeof name, prefix, "song_artist", "");
  f->song_artist = get_exact(c, name, ns * sizeof(int32_t), &rc, err);
  sec(name, sizeof name, prefix, "song_album", "");
  f->song_album = get_exact(c, name, ns * sizeof(int32_t), &rc, err);
  for (size_t s = 0; s < ns && !rc; s++) {
    if (f->song_artist[s] < -1 || f->song_artist[s] >= f->t[T_ARTIST].n ||
        f->song_album[s] < -1 || f->song_album[s] >= f->t[T_ALBUM].n)
      rc = cs_err_set(err, CS_EFORMAT,
                      "%s: %s: song row %zu: artist/album row out of range",
                      c->path, prefix, s);
  }
  for (int i = 0; i < N_TABLES && !rc; i++) {
    rc = index_table(&f->t[i], table_names[i], err);
    if (rc) cs_err_prefix(err, rc, "%s: ", c->path);
  }
  if (rc) {
    cs_featurizer_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

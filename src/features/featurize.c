/* featurize.c: the featurizer tables (artist, album, playlist, age and
 * country embeddings) and the per-user feature vector (docs/features.md). */
#include "coldstart/featurize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/idmap.h"

/* The song table and the feature tables, each with its id -> row map. */
enum { T_SONG = 0, T_ARTIST, T_ALBUM, T_PLAYLIST, T_AGE, T_COUNTRY, N_LOOKUPS };

typedef struct {
  int64_t n;
  const int64_t *keys; /* borrowed */
  const float *emb;    /* borrowed, [n x dim] */
  cs__idmap_t map;     /* owned */
} lookup_t;

struct cs_featurizer {
  int dim, n_features;
  lookup_t t[N_LOOKUPS]; /* T_SONG..T_PLAYLIST == CS_KIND_* */
  const int32_t *song_artist; /* borrowed, [n_songs] artist row or -1 */
  const int32_t *song_album;  /* borrowed, [n_songs] album row or -1 */
};

static int age_key(int32_t age) { return age < 0 ? -1 : age; }

int cs_featurizer_dim(const cs_featurizer_t *f) { return f ? f->dim : 0; }
int cs_featurizer_n_features(const cs_featurizer_t *f) {
  return f ? f->n_features : 0;
}

void cs_featurizer_free(cs_featurizer_t *f) {
  if (!f) return;
  for (int i = 0; i < N_LOOKUPS; i++) cs__idmap_free(&f->t[i].map);
  free(f);
}

static const char *lookup_name(int i) {
  return i == T_SONG ? "song" : cs_table_name(i - 1);
}

/* Build the id -> row map of a table; duplicate keys are an error. */
static int index_table(lookup_t *t, const char *what, cs_err_t *err) {
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

int cs_featurizer_create(cs_featurizer_t **out, int64_t n_songs,
                         const int64_t *song_ids, const float *song_emb,
                         const cs_feature_tables_t *tables, cs_err_t *err) {
  *out = NULL;
  if (!song_ids || !song_emb || !tables || tables->n_songs != n_songs)
    return cs_err_set(err, CS_EINVAL,
                      "featurizer: tables for %lld songs, song table of %lld",
                      tables ? (long long)tables->n_songs : -1LL,
                      (long long)n_songs);
  int rc = cs_feature_tables_validate(tables, err);
  if (rc) return rc;
  cs_featurizer_t *f = calloc(1, sizeof *f);
  if (!f) return cs_err_set(err, CS_ENOMEM, "featurizer");
  f->dim = tables->dim;
  f->n_features = cs_n_features(f->dim);
  f->t[T_SONG] = (lookup_t){.n = n_songs, .keys = song_ids, .emb = song_emb};
  for (int i = 0; i < CS_N_TABLES; i++)
    f->t[1 + i] = (lookup_t){.n = tables->n[i], .keys = tables->keys[i],
                             .emb = tables->emb[i]};
  f->song_artist = tables->song_artist;
  f->song_album = tables->song_album;
  for (int i = 0; i < N_LOOKUPS && !rc; i++)
    rc = index_table(&f->t[i], lookup_name(i), err);
  if (rc) {
    cs_featurizer_free(f);
    return rc;
  }
  *out = f;
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
    int blk = cs_feature_block_of(a, k);
    if (blk < 0) {
      if (stats) {
        stats->n_unused_pairs++;
        stats->unused[a][k]++;
      }
      continue;
    }
    const lookup_t *t = &f->t[k]; /* T_SONG..T_PLAYLIST == CS_KIND_* */
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
    if (k == CS_KIND_SONG && cs_feature_song_adds_artist_album(a)) {
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
  for (int b = CS_FIRST_EVENT_BLOCK; b < CS_N_BLOCKS; b++) {
    if (cnt[b] <= 1) continue;
    float inv = (float)(1.0 / (double)cnt[b]);
    float *blk = out + (size_t)b * d;
    for (int j = 0; j < d; j++) blk[j] *= inv;
  }
  int32_t ak = age_key(age);
  int32_t row = cs__idmap_get(&f->t[T_AGE].map, ak);
  if (row >= 0)
    memcpy(out + (size_t)CS_BLOCK_AGE * d, f->t[T_AGE].emb + (size_t)row * d,
           (size_t)d * sizeof(float));
  int64_t ck;
  if (cs_country_key(country, &ck) == 0) {
    row = cs__idmap_get(&f->t[T_COUNTRY].map, ck);
    if (row >= 0)
      memcpy(out + (size_t)CS_BLOCK_COUNTRY * d,
             f->t[T_COUNTRY].emb + (size_t)row * d, (size_t)d * sizeof(float));
  }
  out[cs_feature_age_column(d)] = (float)ak;
  for (int c = 0; c < CS_N_COUNTS; c++)
    out[cs_feature_count_column(d, c)] = (float)cnt[cs_feature_count_block(c)];
  return 0;
}

/* ----------------------------------------------------------------------
 * Building the tables. */

/* Give each distinct key of keys[0..n) (skipping -1 when skip_neg) a group
 * row in first-appearance order; group_of[i] = its row (-1 skipped). The
 * group keys go into a new arena array. */
static int group_keys(cs_arena_t *arena, const int64_t *keys, int64_t n,
                      int skip_neg, int32_t *group_of, int64_t *n_out,
                      const int64_t **keys_out, cs_err_t *err) {
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
  int64_t *gk = cs_arena_alloc(arena, (size_t)n_groups * sizeof(int64_t));
  if (!gk) return cs_err_set(err, CS_ENOMEM, "featurizer");
  for (int64_t i = 0; i < n; i++)
    if (group_of[i] >= 0) gk[group_of[i]] = keys[i];
  *n_out = n_groups;
  *keys_out = gk;
  return 0;
}

/* emb[g] = mean of src rows (src_row[i], or i when NULL) over the items i
 * with group_of[i] == g, for g < n_groups; double accumulation. */
static int group_means(cs_arena_t *arena, int d, int64_t n_groups,
                       const int32_t *group_of, int64_t n, const float *src,
                       const int32_t *src_row, const float **emb_out,
                       cs_err_t *err) {
  double *acc = calloc((size_t)n_groups * d + 1, sizeof(double));
  int64_t *cnt = calloc((size_t)n_groups + 1, sizeof(int64_t));
  float *emb = cs_arena_alloc(arena, (size_t)n_groups * d * sizeof(float));
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
  for (int64_t g = 0; g < n_groups; g++)
    for (int j = 0; j < d; j++)
      emb[(size_t)g * d + j] =
          cnt[g] ? (float)(acc[(size_t)g * d + j] / (double)cnt[g]) : 0.0f;
  free(acc);
  free(cnt);
  *emb_out = emb;
  return 0;
}

/* One table: groups of keys[0..n), their mean rows of src. */
static int build_table(cs_feature_tables_t *t, int table, cs_arena_t *arena,
                       const int64_t *keys, int64_t n, int skip_neg,
                       int32_t *group_of, const float *src,
                       const int32_t *src_row, cs_err_t *err) {
  int rc = group_keys(arena, keys, n, skip_neg, group_of, &t->n[table],
                      &t->keys[table], err);
  if (!rc)
    rc = group_means(arena, t->dim, t->n[table], group_of, n, src, src_row,
                     &t->emb[table], err);
  return rc;
}

int cs_feature_tables_build(cs_feature_tables_t *t, cs_arena_t *arena,
                            const cs_featurizer_input_t *in, cs_err_t *err) {
  memset(t, 0, sizeof *t);
  if (!in || in->dim <= 0 || in->n_songs <= 0 || !in->song_emb ||
      !in->song_artist || !in->song_album || in->n_playlist_entries < 0 ||
      in->n_users < 0 ||
      (in->n_playlist_entries > 0 &&
       (!in->playlist_ids || !in->playlist_song_rows)) ||
      (in->n_users > 0 && !in->user_target) || in->n_songs > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "featurizer: bad build input");
  const int64_t ns = in->n_songs, np = in->n_playlist_entries, nu = in->n_users;
  t->dim = in->dim;
  t->n_songs = ns;
  int32_t *sa = cs_arena_alloc(arena, (size_t)ns * sizeof(int32_t));
  int32_t *sb = cs_arena_alloc(arena, (size_t)ns * sizeof(int32_t));
  if (!sa || !sb) return cs_err_set(err, CS_ENOMEM, "featurizer: song table");
  t->song_artist = sa;
  t->song_album = sb;
  int rc = build_table(t, CS_TABLE_ARTIST, arena, in->song_artist, ns, 1, sa,
                       in->song_emb, NULL, err);
  if (!rc)
    rc = build_table(t, CS_TABLE_ALBUM, arena, in->song_album, ns, 1, sb,
                     in->song_emb, NULL, err);
  if (rc) return rc;

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
    rc = build_table(t, CS_TABLE_PLAYLIST, arena, in->playlist_ids, np, 0,
                     group_of, in->song_emb, in->playlist_song_rows, err);

  for (int64_t u = 0; u < nu && !rc; u++)
    keys[u] = age_key(in->user_age ? in->user_age[u] : -1);
  if (!rc)
    rc = build_table(t, CS_TABLE_AGE, arena, keys, nu, 0, group_of,
                     in->user_target, NULL, err);

  for (int64_t u = 0; u < nu && !rc; u++) {
    const char *c = in->user_country ? in->user_country[u] : NULL;
    if (cs_country_key(c, &keys[u]))
      rc = cs_err_set(err, CS_EINVAL,
                      "featurizer: country '%s' longer than %d bytes", c,
                      CS_COUNTRY_MAX);
  }
  if (!rc)
    rc = build_table(t, CS_TABLE_COUNTRY, arena, keys, nu, 0, group_of,
                     in->user_target, NULL, err);
  free(group_of);
  free(keys);
  return rc;
}

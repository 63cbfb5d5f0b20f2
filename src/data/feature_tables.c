/* feature_tables.c: storage, validation and copies of the featurizer's
 * lookup tables (see feature_tables.h). */
#include "coldstart/feature_tables.h"

#include <stdio.h>
#include <string.h>

#include "coldstart/layout.h"

static const char *const table_names[CS_N_TABLES] = {"artist", "album",
                                                     "playlist", "age",
                                                     "country"};

const char *cs_table_name(int table) {
  return table >= 0 && table < CS_N_TABLES ? table_names[table] : "?";
}

int cs_country_key(const char *country, int64_t *key) {
  uint64_t k = 0;
  size_t len = country ? strlen(country) : 0;
  if (len > CS_COUNTRY_MAX) return -1;
  if (len) memcpy(&k, country, len);
  *key = (int64_t)k;
  return 0;
}

/* The "meta" section. n[0] is the song count, n[1 + table] the table sizes
 * (the song table's own rows are the owner's "songs.*" sections). */
typedef struct {
  int64_t dim;
  int64_t n[1 + CS_N_TABLES];
  int64_t reserved[4];
} tables_meta_t;

static void sec(char *buf, size_t cap, const char *prefix, const char *a,
                const char *b) {
  snprintf(buf, cap, "%s%s%s", prefix, a, b);
}

int cs_feature_tables_validate(const cs_feature_tables_t *t, cs_err_t *err) {
  if (t->dim <= 0 || t->dim > 65536 || t->n_songs <= 0 ||
      t->n_songs > INT32_MAX || !t->song_artist || !t->song_album)
    return cs_err_set(err, CS_EFORMAT,
                      "feature tables: bad dim %d or song count %lld",
                      (int)t->dim, (long long)t->n_songs);
  for (int i = 0; i < CS_N_TABLES; i++)
    if (t->n[i] < 0 || t->n[i] > INT32_MAX ||
        (t->n[i] > 0 && (!t->keys[i] || !t->emb[i])))
      return cs_err_set(err, CS_EFORMAT, "feature tables: bad %s table (%lld rows)",
                        table_names[i], (long long)t->n[i]);
  for (int64_t s = 0; s < t->n_songs; s++)
    if (t->song_artist[s] < -1 || t->song_artist[s] >= t->n[CS_TABLE_ARTIST] ||
        t->song_album[s] < -1 || t->song_album[s] >= t->n[CS_TABLE_ALBUM])
      return cs_err_set(err, CS_EFORMAT,
                        "feature tables: song row %lld: artist row %d / album "
                        "row %d out of range (%lld artists, %lld albums)",
                        (long long)s, t->song_artist[s], t->song_album[s],
                        (long long)t->n[CS_TABLE_ARTIST],
                        (long long)t->n[CS_TABLE_ALBUM]);
  return 0;
}

int cs_feature_tables_save(const cs_feature_tables_t *t,
                           cs_container_writer_t *w, const char *prefix,
                           cs_err_t *err) {
  tables_meta_t meta;
  memset(&meta, 0, sizeof meta);
  meta.dim = t->dim;
  meta.n[0] = t->n_songs;
  for (int i = 0; i < CS_N_TABLES; i++) meta.n[1 + i] = t->n[i];
  char name[CS_CONTAINER_NAME_MAX];
  sec(name, sizeof name, prefix, "meta", "");
  int rc = cs_container_add_copy(w, name, &meta, sizeof meta, err);
  size_t d = (size_t)t->dim;
  for (int i = 0; i < CS_N_TABLES && !rc; i++) {
    sec(name, sizeof name, prefix, table_names[i], "_id");
    rc = cs_container_add(w, name, t->keys[i], (size_t)t->n[i] * sizeof(int64_t),
                          err);
    sec(name, sizeof name, prefix, table_names[i], "_emb");
    if (!rc)
      rc = cs_container_add(w, name, t->emb[i],
                            (size_t)t->n[i] * d * sizeof(float), err);
  }
  size_t ns = (size_t)t->n_songs;
  sec(name, sizeof name, prefix, "song_artist", "");
  if (!rc)
    rc = cs_container_add(w, name, t->song_artist, ns * sizeof(int32_t), err);
  sec(name, sizeof name, prefix, "song_album", "");
  if (!rc)
    rc = cs_container_add(w, name, t->song_album, ns * sizeof(int32_t), err);
  return rc;
}

int cs_feature_tables_present(const cs_container_t *c, const char *prefix) {
  char name[CS_CONTAINER_NAME_MAX];
  sec(name, sizeof name, prefix, "meta", "");
  return cs_container_get(c, name, NULL) != NULL;
}

static const void *get_exact(const cs_container_t *c, const char *name,
                             size_t size, int *rc, cs_err_t *err) {
  const void *p = NULL;
  size_t got = 0;
  if (*rc) return NULL;
  *rc = cs_container_require(c, name, size, &p, &got, err);
  return *rc ? NULL : p;
}

int cs_feature_tables_load(cs_feature_tables_t *t, const cs_container_t *c,
                           const char *prefix, int64_t n_songs, int dim,
                           cs_err_t *err) {
  memset(t, 0, sizeof *t);
  char name[CS_CONTAINER_NAME_MAX];
  int rc = 0;
  sec(name, sizeof name, prefix, "meta", "");
  const tables_meta_t *mp = get_exact(c, name, sizeof(tables_meta_t), &rc, err);
  if (rc) return rc;
  tables_meta_t meta;
  memcpy(&meta, mp, sizeof meta);
  if (meta.dim != dim || meta.n[0] != n_songs)
    return cs_err_set(err, CS_EFORMAT,
                      "%s: %smeta: tables for dim %lld and %lld songs, the "
                      "file has dim %d and %lld songs",
                      c->path, prefix, (long long)meta.dim,
                      (long long)meta.n[0], dim, (long long)n_songs);
  for (int i = 0; i < CS_N_TABLES; i++)
    if (meta.n[1 + i] < 0 || meta.n[1 + i] > INT32_MAX)
      return cs_err_set(err, CS_EFORMAT, "%s: %smeta: bad %s count %lld",
                        c->path, prefix, table_names[i],
                        (long long)meta.n[1 + i]);
  t->dim = dim;
  t->n_songs = n_songs;
  size_t d = (size_t)dim;
  for (int i = 0; i < CS_N_TABLES; i++) {
    t->n[i] = meta.n[1 + i];
    sec(name, sizeof name, prefix, table_names[i], "_id");
    t->keys[i] = get_exact(c, name, (size_t)t->n[i] * sizeof(int64_t), &rc, err);
    sec(name, sizeof name, prefix, table_names[i], "_emb");
    t->emb[i] = get_exact(c, name, (size_t)t->n[i] * d * sizeof(float), &rc, err);
  }
  sec(name, sizeof name, prefix, "song_artist", "");
  t->song_artist = get_exact(c, name, (size_t)n_songs * sizeof(int32_t), &rc, err);
  sec(name, sizeof name, prefix, "song_album", "");
  t->song_album = get_exact(c, name, (size_t)n_songs * sizeof(int32_t), &rc, err);
  if (!rc && (rc = cs_feature_tables_validate(t, err)))
    cs_err_prefix(err, rc, "%s: ", c->path);
  if (rc) memset(t, 0, sizeof *t);
  return rc;
}

int cs_feature_tables_copy(cs_feature_tables_t *dst,
                           const cs_feature_tables_t *src, cs_arena_t *arena,
                           cs_err_t *err) {
  cs_feature_tables_t t = *src;
  size_t d = (size_t)src->dim;
  int ok = 1;
  for (int i = 0; i < CS_N_TABLES; i++) {
    t.keys[i] = cs_arena_dup(arena, src->keys[i], (size_t)src->n[i] * sizeof(int64_t));
    t.emb[i] = cs_arena_dup(arena, src->emb[i], (size_t)src->n[i] * d * sizeof(float));
    ok &= t.keys[i] && t.emb[i];
  }
  size_t ns = (size_t)src->n_songs * sizeof(int32_t);
  t.song_artist = cs_arena_dup(arena, src->song_artist, ns);
  t.song_album = cs_arena_dup(arena, src->song_album, ns);
  if (!ok || !t.song_artist || !t.song_album)
    return cs_err_set(err, CS_ENOMEM, "feature tables: copy");
  *dst = t;
  return 0;
}

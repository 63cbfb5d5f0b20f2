/* dataset.c: the prepared dataset file: every array is one 64-byte aligned
 * container section, loaded by pointing straight into the mmap. */
#include "coldstart/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/featurize.h"

const char *const cs_feature_blocks[CS_N_BLOCKS] = {
    "age",
    "country",
    "favorite_songs",
    "favorite_artists",
    "favorite_albums",
    "favorite_playlists",
    "onboarding_like_artists",
    "skipped_songs",
    "skipped_artists",
    "skipped_albums",
    "streamed_songs",
    "streamed_artists",
    "streamed_albums",
    "banned_songs",
    "banned_artists",
    "banned_albums",
    "search_songs",
    "search_artists",
    "search_albums",
    "search_playlists",
};

const char *const cs_feature_counts[CS_N_COUNTS] = {
    "nb_favorite_songs",   "nb_favorite_albums",  "nb_favorite_artists",
    "nb_favorite_playlists", "nb_skipped_songs",  "nb_skipped_artists",
    "nb_skipped_albums",   "nb_banned_songs",     "nb_banned_artists",
    "nb_banned_albums",    "nb_streamed_songs",   "nb_streamed_artists",
    "nb_streamed_albums",  "nb_search_songs",     "nb_search_albums",
    "nb_search_artists",   "nb_search_playlists", "nb_onboarding_like_artists",
};

static const char *const split_names[CS_N_SPLITS] = {"train", "validation",
                                                     "test"};

const char *cs_split_name(int split) {
  if (split < 0 || split >= CS_N_SPLITS) return "?";
  return split_names[split];
}

int cs_split_parse(const char *name) {
  if (!name) return -1;
  for (int s = 0; s < CS_N_SPLITS; s++)
    if (strcmp(name, split_names[s]) == 0) return s;
  if (strcmp(name, "val") == 0) return CS_SPLIT_VALIDATION;
  return -1;
}

/* The "meta" section: fixed layout, little-endian host order. */
typedef struct {
  char space[8];
  char source[32];
  int32_t dim;
  int32_t n_features;
  int64_t n_songs;
  int64_t n_users[CS_N_SPLITS];
  int64_t n_truth[CS_N_SPLITS];
  uint8_t has_targets[CS_N_SPLITS];
  uint8_t has_featurizer;
  uint8_t pad[4];
  int64_t reserved[8];
} ds_meta_t;

_Static_assert(sizeof(ds_meta_t) == 176, "dataset meta layout");

#define FEAT_PREFIX "feat."

/* "block\n...\ncount\n..." so a reader can check the layout it expects. */
static size_t schema_text(char *buf, size_t cap) {
  size_t n = 0;
  for (int i = 0; i < CS_N_BLOCKS + CS_N_COUNTS; i++) {
    const char *s = i < CS_N_BLOCKS ? cs_feature_blocks[i]
                                    : cs_feature_counts[i - CS_N_BLOCKS];
    int w = snprintf(buf ? buf + n : NULL, buf ? cap - n : 0, "%s\n", s);
    n += (size_t)w;
  }
  return n;
}

static void section_name(char *out, size_t cap, int split, const char *what) {
  snprintf(out, cap, "%s.%s", split_names[split], what);
}

int cs_dataset_save(const cs_dataset_t *ds, const char *path, cs_err_t *err) {
  int rc = cs_dataset_validate(ds, err);
  if (rc) return cs_err_prefix(err, rc, "saving %s: ", path);
  cs_container_writer_t *w = NULL;
  rc = cs_container_writer_create(&w, "dataset", CS_DATASET_VERSION, err);
  if (rc) return rc;

  ds_meta_t meta;
  memset(&meta, 0, sizeof meta);
  snprintf(meta.space, sizeof meta.space, "%s", ds->space);
  snprintf(meta.source, sizeof meta.source, "%s", ds->source);
  meta.dim = ds->dim;
  meta.n_features = ds->n_features;
  meta.n_songs = ds->n_songs;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    const cs_split_t *sp = &ds->splits[s];
    meta.n_users[s] = sp->n_users;
    meta.n_truth[s] = sp->truth_indptr ? sp->truth_indptr[sp->n_users] : 0;
    meta.has_targets[s] = sp->targets != NULL;
  }
  meta.has_featurizer = ds->featurizer != NULL;

  char schema[2048];
  size_t schema_len = schema_text(schema, sizeof schema);

  size_t d = (size_t)ds->dim, nf = (size_t)ds->n_features;
  rc = cs_container_add_copy(w, "meta", &meta, sizeof meta, err);
  if (!rc) rc = cs_container_add_copy(w, "schema", schema, schema_len, err);
  if (!rc)
    rc = cs_container_add(w, "songs.id", ds->song_ids,
                          (size_t)ds->n_songs * sizeof(int64_t), err);
  if (!rc)
    rc = cs_container_add(w, "songs.emb", ds->song_emb,
                          (size_t)ds->n_songs * d * sizeof(float), err);
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    const cs_split_t *sp = &ds->splits[s];
    size_t n = (size_t)sp->n_users;
    char name[64];
    section_name(name, sizeof name, s, "user_id");
    rc = cs_container_add(w, name, sp->user_ids, n * sizeof(int64_t), err);
    section_name(name, sizeof name, s, "features");
    if (!rc)
      rc = cs_container_add(w, name, sp->features, n * nf * sizeof(float), err);
    section_name(name, sizeof name, s, "truth_indptr");
    if (!rc)
      rc = cs_container_add(w, name, sp->truth_indptr,
                            (n + 1) * sizeof(int64_t), err);
    section_name(name, sizeof name, s, "truth_indices");
    if (!rc)
      rc = cs_container_add(w, name, sp->truth_indices,
                            (size_t)meta.n_truth[s] * sizeof(int64_t), err);
    if (!rc && sp->targets) {
      section_name(name, sizeof name, s, "target");
      rc = cs_container_add(w, name, sp->targets, n * d * sizeof(float), err);
      section_name(name, sizeof name, s, "has_target");
      if (!rc) rc = cs_container_add(w, name, sp->has_target, n, err);
    }
  }
  if (!rc && ds->featurizer)
    rc = cs_featurizer_save(ds->featurizer, w, FEAT_PREFIX, err);
  if (!rc) rc = cs_container_writer_commit(w, path, err);
  cs_container_writer_free(w);
  return rc;
}

/* Point *out at a section of exactly `size` bytes (NULL when size is 0). */
static int require(const cs_container_t *c, const char *name, size_t size,
                   void **out, cs_err_t *err) {
  const void *data = NULL;
  size_t got = 0;
  int rc = cs_container_require(c, name, size, &data, &got, err);
  if (rc) return rc;
  *out = size ? (void *)data : NULL;
  return 0;
}

static int load_sections(cs_dataset_t *ds, const cs_container_t *c,
                         cs_err_t *err) {
  const void *p = NULL;
  size_t size = 0;
  int rc = cs_container_require(c, "meta", sizeof(ds_meta_t), &p, &size, err);
  if (rc) return rc;
  ds_meta_t meta;
  memcpy(&meta, p, sizeof meta);
  if (meta.space[sizeof meta.space - 1] || meta.source[sizeof meta.source - 1])
    return cs_err_set(err, CS_EFORMAT, "%s: meta: unterminated space/source",
                      c->path);
  if (meta.dim <= 0 || meta.dim > 65536 ||
      meta.n_features != cs_n_features(meta.dim))
    return cs_err_set(err, CS_EFORMAT,
                      "%s: meta: dim %d with %d features (expected 20*dim+19)",
                      c->path, meta.dim, meta.n_features);
  if (meta.n_songs <= 0 || meta.n_songs > ((int64_t)1 << 40))
    return cs_err_set(err, CS_EFORMAT, "%s: meta: bad song count %lld",
                      c->path, (long long)meta.n_songs);
  for (int s = 0; s < CS_N_SPLITS; s++)
    if (meta.n_users[s] < 0 || meta.n_users[s] > ((int64_t)1 << 40) ||
        meta.n_truth[s] < 0 || meta.n_truth[s] > ((int64_t)1 << 50))
      return cs_err_set(err, CS_EFORMAT, "%s: meta: bad sizes for split %s",
                        c->path, split_names[s]);

  rc = cs_container_require(c, "schema", SIZE_MAX, &p, &size, err);
  if (rc) return rc;
  char schema[2048];
  size_t schema_len = schema_text(schema, sizeof schema);
  if (size != schema_len || memcmp(p, schema, size) != 0)
    return cs_err_set(err, CS_EFORMAT,
                      "%s: feature schema differs from this build's layout",
                      c->path);

  memcpy(ds->space, meta.space, sizeof ds->space);
  memcpy(ds->source, meta.source, sizeof ds->source);
  ds->dim = meta.dim;
  ds->n_features = meta.n_features;
  ds->n_songs = meta.n_songs;
  size_t d = (size_t)meta.dim, nf = (size_t)meta.n_features;
  rc = require(c, "songs.id", (size_t)meta.n_songs * sizeof(int64_t),
               (void **)&ds->song_ids, err);
  if (!rc)
    rc = require(c, "songs.emb", (size_t)meta.n_songs * d * sizeof(float),
                 (void **)&ds->song_emb, err);
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    cs_split_t *sp = &ds->splits[s];
    size_t n = (size_t)meta.n_users[s];
    char name[64];
    sp->n_users = meta.n_users[s];
    section_name(name, sizeof name, s, "user_id");
    rc = require(c, name, n * sizeof(int64_t), (void **)&sp->user_ids, err);
    section_name(name, sizeof name, s, "features");
    if (!rc)
      rc = require(c, name, n * nf * sizeof(float), (void **)&sp->features,
                   err);
    section_name(name, sizeof name, s, "truth_indptr");
    if (!rc)
      rc = require(c, name, (n + 1) * sizeof(int64_t),
                   (void **)&sp->truth_indptr, err);
    section_name(name, sizeof name, s, "truth_indices");
    if (!rc)
      rc = require(c, name, (size_t)meta.n_truth[s] * sizeof(int64_t),
                   (void **)&sp->truth_indices, err);
    if (!rc && meta.has_targets[s]) {
      section_name(name, sizeof name, s, "target");
      rc = require(c, name, n * d * sizeof(float), (void **)&sp->targets, err);
      section_name(name, sizeof name, s, "has_target");
      if (!rc) rc = require(c, name, n, (void **)&sp->has_target, err);
      /* an empty split still "has targets": keep non-NULL markers */
      if (!rc && n == 0) {
        static const float no_targets[1] = {0};
        static const uint8_t no_flags[1] = {0};
        sp->targets = (float *)no_targets;
        sp->has_target = (uint8_t *)no_flags;
      }
    }
  }
  if (!rc && meta.has_featurizer)
    rc = cs_featurizer_load(&ds->featurizer, c, FEAT_PREFIX, err);
  return rc;
}

int cs_dataset_load(cs_dataset_t *ds, const char *path, cs_err_t *err) {
  memset(ds, 0, sizeof *ds);
  cs_container_t *c = calloc(1, sizeof *c);
  if (!c) return cs_err_set(err, CS_ENOMEM, "loading %s", path);
  int rc = cs_container_open(c, path, "dataset", err);
  if (rc) {
    free(c);
    return rc;
  }
  ds->container = c;
  ds->owned = 0;
  if (c->kind_version != CS_DATASET_VERSION) {
    rc = cs_err_set(err, CS_EVERSION,
                    "%s: dataset format version %u, this build reads %d", path,
                    c->kind_version, CS_DATASET_VERSION);
  }
  if (!rc) rc = load_sections(ds, c, err);
  if (!rc) {
    rc = cs_dataset_validate(ds, err);
    if (rc) cs_err_prefix(err, rc, "%s: ", path);
  }
  if (rc) cs_dataset_free(ds);
  return rc;
}

void cs_dataset_free(cs_dataset_t *ds) {
  if (!ds) return;
  cs_featurizer_free(ds->featurizer);
  if (ds->owned) {
    free(ds->song_ids);
    free(ds->song_emb);
    for (int s = 0; s < CS_N_SPLITS; s++) {
      cs_split_t *sp = &ds->splits[s];
      free(sp->user_ids);
      free(sp->features);
      free(sp->truth_indptr);
      free(sp->truth_indices);
      free(sp->targets);
      free(sp->has_target);
    }
  }
  if (ds->container) {
    cs_container_close(ds->container);
    free(ds->container);
  }
  memset(ds, 0, sizeof *ds);
}

static int validate_split(const cs_dataset_t *ds, int s, cs_err_t *err) {
  const cs_split_t *sp = &ds->splits[s];
  const char *name = split_names[s];
  if (sp->n_users < 0)
    return cs_err_set(err, CS_EFORMAT, "split %s: negative user count", name);
  if (!sp->truth_indptr)
    return cs_err_set(err, CS_EFORMAT, "split %s: no truth index", name);
  if (sp->n_users > 0 && (!sp->user_ids || !sp->features))
    return cs_err_set(err, CS_EFORMAT, "split %s: missing user arrays", name);
  if ((sp->targets == NULL) != (sp->has_target == NULL))
    return cs_err_set(err, CS_EFORMAT,
                      "split %s: targets and has_target must come together",
                      name);
  for (int64_t u = 1; u < sp->n_users; u++)
    if (sp->user_ids[u] <= sp->user_ids[u - 1])
      return cs_err_set(err, CS_EFORMAT,
                        "split %s: user ids not ascending at row %lld "
                        "(%lld after %lld)",
                        name, (long long)u, (long long)sp->user_ids[u],
                        (long long)sp->user_ids[u - 1]);
  if (sp->truth_indptr[0] != 0)
    return cs_err_set(err, CS_EFORMAT, "split %s: truth_indptr[0] = %lld",
                      name, (long long)sp->truth_indptr[0]);
  for (int64_t u = 0; u < sp->n_users; u++) {
    int64_t b = sp->truth_indptr[u], e = sp->truth_indptr[u + 1];
    if (e < b)
      return cs_err_set(err, CS_EFORMAT,
                        "split %s: truth_indptr decreases at row %lld", name,
                        (long long)u);
    for (int64_t k = b; k < e; k++) {
      int64_t song = sp->truth_indices[k];
      if (song < 0 || song >= ds->n_songs)
        return cs_err_set(err, CS_EFORMAT,
                          "split %s: user row %lld (id %lld): truth song row "
                          "%lld out of range [0, %lld)",
                          name, (long long)u, (long long)sp->user_ids[u],
                          (long long)song, (long long)ds->n_songs);
      if (k > b && song <= sp->truth_indices[k - 1])
        return cs_err_set(err, CS_EFORMAT,
                          "split %s: user row %lld (id %lld): truth songs not "
                          "strictly ascending (%lld after %lld)",
                          name, (long long)u, (long long)sp->user_ids[u],
                          (long long)song,
                          (long long)sp->truth_indices[k - 1]);
    }
  }
  if (sp->has_target)
    for (int64_t u = 0; u < sp->n_users; u++)
      if (sp->has_target[u] > 1)
        return cs_err_set(err, CS_EFORMAT,
                          "split %s: user row %lld: has_target = %u", name,
                          (long long)u, sp->has_target[u]);
  return 0;
}

int cs_dataset_validate(const cs_dataset_t *ds, cs_err_t *err) {
  if (!ds) return cs_err_set(err, CS_EINVAL, "no dataset");
  if (strcmp(ds->space, "svd") != 0 && strcmp(ds->space, "mf") != 0)
    return cs_err_set(err, CS_EFORMAT, "space '%.8s' (expected svd or mf)",
                      ds->space);
  if (ds->dim <= 0 || ds->n_features != cs_n_features(ds->dim))
    return cs_err_set(err, CS_EFORMAT,
                      "dim %d with %d features (expected 20*dim+19)", ds->dim,
                      ds->n_features);
  if (ds->n_songs <= 0 || !ds->song_ids || !ds->song_emb)
    return cs_err_set(err, CS_EFORMAT, "no song table");
  for (int s = 0; s < CS_N_SPLITS; s++) {
    int rc = validate_split(ds, s, err);
    if (rc) return rc;
  }
  if (ds->featurizer) {
    if (cs_featurizer_dim(ds->featurizer) != ds->dim)
      return cs_err_set(err, CS_EFORMAT, "featurizer dim %d, dataset dim %d",
                        cs_featurizer_dim(ds->featurizer), ds->dim);
    if (cs_featurizer_n_songs(ds->featurizer) != ds->n_songs)
      return cs_err_set(err, CS_EFORMAT,
                        "featurizer has %lld songs, dataset %lld",
                        (long long)cs_featurizer_n_songs(ds->featurizer),
                        (long long)ds->n_songs);
  }
  return 0;
}

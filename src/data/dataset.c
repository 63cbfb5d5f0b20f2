/* dataset.c: the prepared dataset file: every array is one 64-byte aligned
 * container section, loaded by pointing straight into the mmap. */
#include "coldstart/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
  meta.has_featurizer = ds->has_tables != 0;

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
  if (!rc && ds->has_tables)
    rc = cs_feature_tables_save(&ds->tables, w, FEAT_PREFIX, err);
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
  if (!rc && meta.has_featurizer) {
    rc = cs_feature_tables_load(&ds->tables, c, FEAT_PREFIX, ds->n_songs,
                                ds->dim, err);
    ds->has_tables = rc == 0;
  }
  return rc;
}

int cs_dataset_load(cs_dataset_t *ds, const char *path, cs_err_t *err) {
  memset(ds, 0, sizeof *ds);
  int rc = cs_container_load(&ds->file, path, "dataset", err);
  if (rc) return rc;
  if (ds->file->kind_version != CS_DATASET_VERSION)
    rc = cs_err_set(err, CS_EVERSION,
                    "%s: dataset format version %u, this build reads %d", path,
                    ds->file->kind_version, CS_DATASET_VERSION);
  if (!rc) rc = load_sections(ds, ds->file, err);
  if (!rc) {
    rc = cs_dataset_validate(ds, err);
    if (rc) cs_err_prefix(err, rc, "%s: ", path);
  }
  if (rc) cs_dataset_free(ds);
  return rc;
}

int cs_dataset_adopt_arrays(cs_dataset_t *ds, cs_err_t *err) {
  int bad = cs_arena_adopt(&ds->mem, ds->song_ids);
  bad |= cs_arena_adopt(&ds->mem, ds->song_emb);
  for (int s = 0; s < CS_N_SPLITS; s++) {
    cs_split_t *sp = &ds->splits[s];
    bad |= cs_arena_adopt(&ds->mem, sp->user_ids);
    bad |= cs_arena_adopt(&ds->mem, sp->features);
    bad |= cs_arena_adopt(&ds->mem, sp->truth_indptr);
    bad |= cs_arena_adopt(&ds->mem, sp->truth_indices);
    bad |= cs_arena_adopt(&ds->mem, sp->targets);
    bad |= cs_arena_adopt(&ds->mem, sp->has_target);
  }
  if (bad) {
    /* the arrays that could not be recorded were freed: forget them all */
    cs_arena_free(&ds->mem);
    ds->song_ids = NULL;
    ds->song_emb = NULL;
    memset(ds->splits, 0, sizeof ds->splits);
    return cs_err_set(err, CS_ENOMEM, "dataset: out of memory");
  }
  return 0;
}

void cs_dataset_free(cs_dataset_t *ds) {
  if (!ds) return;
  cs_arena_free(&ds->mem);
  cs_container_unref(ds->file);
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
  if (ds->has_tables) {
    if (ds->tables.dim != ds->dim)
      return cs_err_set(err, CS_EFORMAT, "featurizer dim %d, dataset dim %d",
                        (int)ds->tables.dim, ds->dim);
    if (ds->tables.n_songs != ds->n_songs)
      return cs_err_set(err, CS_EFORMAT,
                        "featurizer has %lld songs, dataset %lld",
                        (long long)ds->tables.n_songs, (long long)ds->n_songs);
    int rc = cs_feature_tables_validate(&ds->tables, err);
    if (rc) return rc;
  }
  return 0;
}

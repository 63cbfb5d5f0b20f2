/* model.c: the one model file (container kind "model", loaded via mmap;
 * sections in docs/formats.md): save, load with validation, free. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/layout.h"
#include "coldstart/model.h"

void cs_model_free(cs_model_t *m) {
  if (!m) return;
  cs_featurizer_free(m->featurizer);
  cs_regressor_free(m->regressor);
  cs_segments_free(&m->target.seg);
  cs_segments_free(&m->input.seg);
  cs_segments_free(&m->popularity.seg);
  cs_arena_free(&m->mem);
  cs_container_unref(m->file);
  memset(m, 0, sizeof *m);
}

/* --- file --------------------------------------------------------------- */

typedef struct {
  char space[8];
  int32_t dim, n_features;
  int64_t n_songs;
  int32_t k, k_input;
  int32_t has_featurizer, reserved;
} model_meta_t;

/* Section "tune.params": the tuned defaults, a versioned struct. Later
 * versions may only append fields (a reader takes the fields it knows). */
#define TUNE_VERSION 1
typedef struct {
  uint32_t version, size;
  char strategy[24];
  int32_t k, mix_m;
  float mix_tau, mix_size, mix_prior, blend_beta, blend_d0;
  uint32_t reserved[9];
} tune_disk_t;

static int tuning_load(cs_model_tuning_t *t, const void *data, size_t size,
                       const char *path, cs_err_t *err) {
  tune_disk_t d;
  memset(&d, 0, sizeof d);
  if (size < 8)
    return cs_err_set(err, CS_EFORMAT, "%s: section 'tune.params' has %zu "
                      "bytes", path, size);
  memcpy(&d, data, size < sizeof d ? size : sizeof d);
  if (d.version < 1 || size < sizeof d || d.size != size)
    return cs_err_set(err, CS_EFORMAT, "%s: section 'tune.params': version "
                      "%u with %u of %zu bytes (this program reads version "
                      "%d, %zu bytes)", path, d.version, d.size, size,
                      TUNE_VERSION, sizeof d);
  int ok = memchr(d.strategy, '\0', sizeof d.strategy) != NULL;
  for (size_t i = 0; ok && d.strategy[i]; i++)
    ok = (d.strategy[i] >= 'a' && d.strategy[i] <= 'z') ||
         (d.strategy[i] >= '0' && d.strategy[i] <= '9') || d.strategy[i] == '-';
  const float f[5] = {d.mix_tau, d.mix_size, d.mix_prior, d.blend_beta,
                      d.blend_d0};
  for (int i = 0; ok && i < 5; i++) ok = f[i] >= 0.0f && f[i] <= 1e6f;
  if (!ok || d.k < 1 || d.mix_m < 0 || d.mix_m > 1024)
    return cs_err_set(err, CS_EFORMAT, "%s: section 'tune.params' holds bad "
                      "values (strategy '%.24s', k %d, mix m %d)", path,
                      memchr(d.strategy, '\0', sizeof d.strategy) ? d.strategy
                                                                : "?",
                      d.k, d.mix_m);
  t->present = 1;
  memcpy(t->strategy, d.strategy, sizeof t->strategy);
  t->k = d.k;
  t->mix_m = d.mix_m;
  t->mix_tau = d.mix_tau;
  t->mix_size = d.mix_size;
  t->mix_prior = d.mix_prior;
  t->blend_beta = d.blend_beta;
  t->blend_d0 = d.blend_d0;
  return 0;
}

int cs_model_save(const cs_model_t *m, const char *path, cs_err_t *err) {
  cs_container_writer_t *w = NULL;
  int rc = cs_container_writer_create(&w, "model", CS_MODEL_VERSION, err);
  if (rc) return rc;
  model_meta_t meta;
  memset(&meta, 0, sizeof meta);
  memcpy(meta.space, m->space, sizeof meta.space);
  meta.dim = m->dim;
  meta.n_features = m->n_features;
  meta.n_songs = m->n_songs;
  meta.k = m->target.k;
  meta.k_input = m->input.k;
  meta.has_featurizer = m->has_tables != 0;
  size_t ns = (size_t)m->n_songs;
  if ((rc = cs_container_add_copy(w, "meta", &meta, sizeof meta, err)) ||
      (rc = cs_container_add(w, "song_ids", m->song_ids, ns * 8, err)) ||
      (rc = cs_container_add(w, "song_emb", m->song_emb,
                             ns * (size_t)m->dim * 4, err)) ||
      (rc = cs_container_add(w, "centroids", m->target.centroids,
                             (size_t)m->target.k * m->dim * 4, err)) ||
      (rc = cs_container_add(w, "in_centroids", m->input.centroids,
                             (size_t)m->input.k * m->n_features * 4, err)) ||
      (rc = cs_regressor_save(m->regressor, w, "reg.", err)) ||
      (rc = cs_segments_save(&m->target.seg, w, "seg.", err)) ||
      (rc = cs_segments_save(&m->input.seg, w, "inseg.", err)) ||
      (rc = cs_segments_save(&m->popularity.seg, w, "pop.", err)) ||
      (m->has_tables &&
       (rc = cs_feature_tables_save(&m->tables, w, "feat.", err))) ||
      (m->has_train_info &&
       ((rc = cs_container_add_copy(w, "train.info", &m->train_info,
                                    sizeof m->train_info, err)) ||
        (rc = cs_container_add(w, "train.history", m->history,
                               (size_t)m->train_info.epochs_run * 2 *
                                   sizeof(double),
                               err)))) ||
      (m->n_train_users > 0 &&
       (rc = cs_container_add(w, "train.users", m->train_users,
                              (size_t)m->n_train_users * sizeof(int64_t),
                              err))))
    goto done;
  if (m->tuning.present) {
    tune_disk_t d;
    memset(&d, 0, sizeof d);
    d.version = TUNE_VERSION;
    d.size = sizeof d;
    memcpy(d.strategy, m->tuning.strategy, sizeof d.strategy);
    d.strategy[sizeof d.strategy - 1] = '\0';
    d.k = m->tuning.k;
    d.mix_m = m->tuning.mix_m;
    d.mix_tau = m->tuning.mix_tau;
    d.mix_size = m->tuning.mix_size;
    d.mix_prior = m->tuning.mix_prior;
    d.blend_beta = m->tuning.blend_beta;
    d.blend_d0 = m->tuning.blend_d0;
    if ((rc = cs_container_add_copy(w, "tune.params", &d, sizeof d, err)))
      goto done;
  }
  rc = cs_container_writer_commit(w, path, err);
done:
  cs_container_writer_free(w);
  return rc;
}

int cs_model_load(cs_model_t *m, const char *path, cs_err_t *err) {
  memset(m, 0, sizeof *m);
  int rc = cs_container_load(&m->file, path, "model", err);
  if (rc) return rc;
  cs_container_t *c = m->file;
  if (c->kind_version != CS_MODEL_VERSION) {
    rc = cs_err_set(err, CS_EVERSION, "%s: model format %u, this program "
                    "reads %d", path, c->kind_version, CS_MODEL_VERSION);
    goto fail;
  }
  const void *data;
  size_t size;
  if ((rc = cs_container_require(c, "meta", sizeof(model_meta_t), &data,
                                 &size, err)))
    goto fail;
  model_meta_t meta;
  memcpy(&meta, data, sizeof meta);
  if (meta.dim <= 0 || meta.dim > 65536 ||
      meta.n_features != cs_n_features(meta.dim) || meta.n_songs <= 0 ||
      meta.n_songs > INT32_MAX || meta.k <= 0 || meta.k_input <= 0 ||
      meta.space[sizeof meta.space - 1] != '\0') {
    rc = cs_err_set(err, CS_EFORMAT, "%s: bad model header (dim %d, %d "
                    "features, %lld songs, k %d, input k %d)", path, meta.dim,
                    meta.n_features, (long long)meta.n_songs, meta.k,
                    meta.k_input);
    goto fail;
  }
  memcpy(m->space, meta.space, sizeof m->space);
  m->dim = meta.dim;
  m->n_features = meta.n_features;
  m->n_songs = meta.n_songs;
  size_t ns = (size_t)meta.n_songs;
  if ((rc = cs_container_require(c, "song_ids", ns * 8, &data, &size, err)))
    goto fail;
  m->song_ids = data;
  if ((rc = cs_container_require(c, "song_emb", ns * (size_t)m->dim * 4,
                                 &data, &size, err)))
    goto fail;
  m->song_emb = data;
  m->target = (cs_segmentation_t){.k = meta.k, .dim = m->dim};
  m->input = (cs_segmentation_t){.k = meta.k_input, .dim = m->n_features};
  m->popularity = (cs_segmentation_t){.k = 1, .dim = m->dim};
  if ((rc = cs_container_require(c, "centroids", (size_t)meta.k * m->dim * 4,
                                 &data, &size, err)))
    goto fail;
  m->target.centroids = data;
  if ((rc = cs_container_require(c, "in_centroids",
                                 (size_t)meta.k_input * m->n_features * 4,
                                 &data, &size, err)))
    goto fail;
  m->input.centroids = data;
  {
    /* a NaN song vector or centroid would make rankings depend on the
     * order of comparisons (batch and one-user paths would differ) */
    const struct {
      const char *name;
      const float *v;
      size_t n;
    } vecs[] = {{"song_emb", m->song_emb, ns * (size_t)m->dim},
                {"centroids", m->target.centroids, (size_t)meta.k * m->dim},
                {"in_centroids", m->input.centroids,
                 (size_t)meta.k_input * m->n_features}};
    for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++)
      for (size_t i = 0; i < vecs[v].n; i++)
        if (!isfinite(vecs[v].v[i])) {
          rc = cs_err_set(err, CS_EFORMAT, "%s: section %s: value %zu is %g",
                          path, vecs[v].name, i, (double)vecs[v].v[i]);
          goto fail;
        }
  }
  if ((rc = cs_regressor_load(&m->regressor, c, "reg.", err))) goto fail;
  if (cs_regressor_n_in(m->regressor) != m->n_features ||
      cs_regressor_dim(m->regressor) != m->dim) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: regressor shape %d -> %d does not "
                    "match the model (%d -> %d)", path,
                    cs_regressor_n_in(m->regressor),
                    cs_regressor_dim(m->regressor), m->n_features, m->dim);
    goto fail;
  }
  if ((rc = cs_segments_load(&m->target.seg, c, "seg.", m->n_songs, err)) ||
      (rc = cs_segments_load(&m->input.seg, c, "inseg.", m->n_songs, err)) ||
      (rc = cs_segments_load(&m->popularity.seg, c, "pop.", m->n_songs, err)))
    goto fail;
  if (m->target.seg.k != m->target.k || m->input.seg.k != m->input.k ||
      m->popularity.seg.k != 1) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: segment tables do not match the "
                    "cluster counts", path);
    goto fail;
  }
  /* soft's fill looks up p_j(s) in the target segments: O(1) index */
  if (m->target.seg.by_song && (rc = cs_segments_index(&m->target.seg))) {
    cs_err_set(err, rc, "%s: segment index", path);
    goto fail;
  }
  if (meta.has_featurizer) {
    if ((rc = cs_feature_tables_load(&m->tables, c, "feat.", m->n_songs,
                                     m->dim, err)) ||
        (rc = cs_featurizer_create(&m->featurizer, m->n_songs, m->song_ids,
                                   m->song_emb, &m->tables, err)))
      goto fail;
    m->has_tables = 1;
  }
  /* optional: how it was trained (absent in older files) */
  if ((data = cs_container_get(c, "train.info", &size)) &&
      size == sizeof m->train_info) {
    memcpy(&m->train_info, data, sizeof m->train_info);
    size_t want = (size_t)(m->train_info.epochs_run > 0
                               ? m->train_info.epochs_run : 0) * 2 * sizeof(double);
    const void *h = cs_container_get(c, "train.history", &size);
    if (m->train_info.version != 1 || m->train_info.epochs_run < 0 || !h ||
        size != want) {
      rc = cs_err_set(err, CS_EFORMAT, "%s: sections 'train.info' / "
                      "'train.history' disagree", path);
      goto fail;
    }
    m->history = h;
    m->has_train_info = 1;
  }
  /* optional: the training users (absent in older files) */
  if ((data = cs_container_get(c, "train.users", &size))) {
    m->n_train_users = (int64_t)(size / sizeof(int64_t));
    m->train_users = data;
    int ok = size % sizeof(int64_t) == 0;
    for (int64_t i = 1; ok && i < m->n_train_users; i++)
      ok = m->train_users[i] > m->train_users[i - 1];
    if (!ok) {
      rc = cs_err_set(err, CS_EFORMAT, "%s: section 'train.users' is not an "
                      "ascending list of user ids", path);
      goto fail;
    }
  }
  /* optional: the tuned defaults (absent in untuned and older files) */
  if ((data = cs_container_get(c, "tune.params", &size)) &&
      (rc = tuning_load(&m->tuning, data, size, path, err)))
    goto fail;
  return 0;
fail:
  cs_err_prefix(err, rc, "loading model %s: ", path);
  cs_model_free(m);
  return rc;
}

/* model.c: training the whole method from a prepared dataset (regressor,
 * k-means over targets, input clusters, segment rankings, popularity) and
 * the one model file (container kind "model", loaded via mmap). */
#include <stdlib.h>
#include <string.h>

#include "coldstart/featurize.h"
#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/rng.h"

void cs_model_params_default(cs_model_params_t *p) {
  memset(p, 0, sizeof *p);
  p->k = 1000;
  p->k_input = 100;
  p->kmeans_iter = 20;
  p->seed = 1;
  cs_regressor_params_default(&p->reg);
  p->val_fraction = 0.1;
}

void cs_model_free(cs_model_t *m) {
  if (!m) return;
  cs_regressor_free(m->regressor);
  cs_segments_free(&m->segments);
  cs_segments_free(&m->input_segments);
  cs_segments_free(&m->popularity);
  if (m->owned) {
    free(m->song_ids);
    free(m->song_emb);
    free(m->centroids);
    free(m->input_centroids);
    /* an in-memory model borrows the dataset's featurizer */
  } else {
    cs_featurizer_free(m->featurizer);
  }
  if (m->container) {
    cs_container_close(m->container);
    free(m->container);
  }
  memset(m, 0, sizeof *m);
}

int cs_model_check_dataset(const cs_model_t *m, const cs_dataset_t *ds,
                           cs_err_t *err) {
  if (m->dim != ds->dim || m->n_features != ds->n_features)
    return cs_err_set(err, CS_EINVAL,
                      "model (dim %d, %d features) does not match dataset "
                      "(dim %d, %d features)", m->dim, m->n_features, ds->dim,
                      ds->n_features);
  if (m->n_songs != ds->n_songs)
    return cs_err_set(err, CS_EINVAL, "model has %lld songs, dataset %lld",
                      (long long)m->n_songs, (long long)ds->n_songs);
  for (int64_t i = 0; i < m->n_songs; i++)
    if (m->song_ids[i] != ds->song_ids[i])
      return cs_err_set(err, CS_EINVAL, "song table differs at row %lld: "
                        "model id %lld, dataset id %lld", (long long)i,
                        (long long)m->song_ids[i], (long long)ds->song_ids[i]);
  return 0;
}

/* --- training ----------------------------------------------------------- */

int cs_model_train(const cs_ctx_t *ctx, const cs_dataset_t *ds,
                   const cs_model_params_t *p, cs_model_t *out,
                   cs_model_report_t *rep, cs_err_t *err) {
  memset(out, 0, sizeof *out);
  memset(rep, 0, sizeof *rep);
  const cs_split_t *tr = &ds->splits[CS_SPLIT_TRAIN];
  const cs_split_t *va = &ds->splits[CS_SPLIT_VALIDATION];
  int F = ds->n_features, d = ds->dim;
  if (!tr->targets || !tr->has_target)
    return cs_err_set(err, CS_EINVAL, "train split has no targets");
  if (p->k < 1 || p->k_input < 1 || p->kmeans_iter < 1)
    return cs_err_set(err, CS_EINVAL, "bad clusters (%d) / input clusters "
                      "(%d) / iterations (%d)", p->k, p->k_input,
                      p->kmeans_iter);
  int rc = CS_ENOMEM;
  int64_t n_t = 0;
  for (int64_t u = 0; u < tr->n_users; u++) n_t += tr->has_target[u] != 0;
  rep->n_train = n_t;
  rep->n_train_no_target = tr->n_users - n_t;
  if (n_t < 2)
    return cs_err_set(err, CS_EINVAL, "train split has %lld users with a "
                      "target (need at least 2)", (long long)n_t);
  cs_log(ctx, CS_LOG_INFO, "train: %lld training users with a target, %lld "
         "without (left out)", (long long)n_t, (long long)rep->n_train_no_target);

  /* Rows with a target, in split order; when the validation split has no
   * targets, a seeded fraction goes to the end as the held-out set. */
  int64_t *rows = malloc((size_t)n_t * sizeof *rows);
  float *X = NULL, *Y = NULL, *Xv = NULL, *Yv = NULL;
  int32_t *assign = NULL;
  cs_kmeans_t km = {0}, kin = {0};
  if (!rows) goto fail;
  {
    int64_t i = 0;
    for (int64_t u = 0; u < tr->n_users; u++)
      if (tr->has_target[u]) rows[i++] = u;
  }
  int64_t n_fit = n_t, n_val = 0;
  int own_val = va->targets && va->has_target;
  if (own_val) {
    for (int64_t u = 0; u < va->n_users; u++) n_val += va->has_target[u] != 0;
  } else if (p->val_fraction > 0.0) {
    n_val = (int64_t)((double)n_t * p->val_fraction);
    if (n_val >= n_t) n_val = n_t - 1;
    cs_rng_t rng;
    cs_rng_seed_stream(&rng, p->seed, 7);
    int64_t *perm = malloc((size_t)n_t * sizeof *perm);
    if (!perm) goto fail;
    for (int64_t i = 0; i < n_t; i++) perm[i] = i;
    cs_rng_shuffle_i64(&rng, perm, n_t);
    /* mark the first n_val of the permutation as held out, keep order */
    uint8_t *held = calloc((size_t)n_t, 1);
    if (!held) {
      free(perm);
      goto fail;
    }
    for (int64_t i = 0; i < n_val; i++) held[perm[i]] = 1;
    int64_t a = 0, b = n_t - n_val;
    for (int64_t i = 0; i < n_t; i++) perm[held[i] ? b++ : a++] = rows[i];
    memcpy(rows, perm, (size_t)n_t * sizeof *rows);
    free(perm);
    free(held);
    n_fit = n_t - n_val;
  }
  rep->n_val = n_val;
  X = cs_alloc_aligned((size_t)n_t * F * sizeof(float));
  Y = cs_alloc_aligned((size_t)n_t * d * sizeof(float));
  if (!X || !Y) goto fail;
  for (int64_t i = 0; i < n_t; i++) {
    memcpy(X + (size_t)i * F, tr->features + (size_t)rows[i] * F,
           (size_t)F * sizeof(float));
    memcpy(Y + (size_t)i * d, tr->targets + (size_t)rows[i] * d,
           (size_t)d * sizeof(float));
  }
  if (own_val) {
    Xv = cs_alloc_aligned((size_t)(n_val + 1) * F * sizeof(float));
    Yv = cs_alloc_aligned((size_t)(n_val + 1) * d * sizeof(float));
    if (!Xv || !Yv) goto fail;
    int64_t i = 0;
    for (int64_t u = 0; u < va->n_users; u++) {
      if (!va->has_target[u]) continue;
      memcpy(Xv + (size_t)i * F, va->features + (size_t)u * F,
             (size_t)F * sizeof(float));
      memcpy(Yv + (size_t)i * d, va->targets + (size_t)u * d,
             (size_t)d * sizeof(float));
      i++;
    }
  }

  /* Regressor. */
  double t0 = cs_now();
  if ((rc = cs_regressor_create(&out->regressor, F, d, p->seed, err)))
    goto fail;
  cs_regressor_report_t rr = {0};
  const float *xv = own_val ? Xv : X + (size_t)n_fit * F;
  const float *yv = own_val ? Yv : Y + (size_t)n_fit * d;
  if ((rc = cs_regressor_train(ctx, out->regressor, X, Y, n_fit, xv, yv,
                               n_val, &p->reg, &rr, err)))
    goto fail;
  rep->sec_regressor = cs_now() - t0;
  rep->val_mse = rr.val_mse;
  rep->epochs_run = rr.epochs_run;
  cs_log(ctx, CS_LOG_INFO, "train: regressor %d epochs, val MSE %.6g, %.1fs",
         rr.epochs_run, rr.val_mse, rep->sec_regressor);

  /* k-means over all training targets. */
  t0 = cs_now();
  cs_kmeans_params_t kp;
  cs_kmeans_params_default(&kp);
  kp.k = p->k < n_t ? p->k : (int)n_t;
  kp.max_iter = p->kmeans_iter;
  kp.seed = p->seed;
  if ((rc = cs_kmeans_fit(ctx, Y, n_t, d, &kp, &km, err))) goto fail;
  rep->sec_kmeans = cs_now() - t0;
  rep->kmeans_inertia = km.inertia;
  cs_log(ctx, CS_LOG_INFO, "train: k-means k=%d, inertia %.6g, %.1fs", km.k,
         km.inertia, rep->sec_kmeans);

  /* Input clusters on L2-normalized raw features (X reused in place). */
  t0 = cs_now();
  for (int64_t i = 0; i < n_t; i++) cs_normalize(F, X + (size_t)i * F);
  kp.k = p->k_input < n_t ? p->k_input : (int)n_t;
  kp.seed = p->seed + 1;
  if ((rc = cs_kmeans_fit(ctx, X, n_t, F, &kp, &kin, err))) goto fail;
  rep->sec_input_kmeans = cs_now() - t0;

  /* Segments. */
  t0 = cs_now();
  assign = malloc(((size_t)tr->n_users + 1) * sizeof *assign);
  if (!assign) goto fail;
  for (int64_t u = 0; u < tr->n_users; u++) assign[u] = -1;
  for (int64_t i = 0; i < n_t; i++) assign[rows[i]] = km.assign[i];
  if ((rc = cs_segments_build(km.k, assign, tr->n_users, tr->truth_indptr,
                              tr->truth_indices, ds->n_songs, &out->segments,
                              err)))
    goto fail;
  for (int64_t i = 0; i < n_t; i++) assign[rows[i]] = kin.assign[i];
  if ((rc = cs_segments_build(kin.k, assign, tr->n_users, tr->truth_indptr,
                              tr->truth_indices, ds->n_songs,
                              &out->input_segments, err)))
    goto fail;
  if ((rc = cs_segments_build(1, NULL, tr->n_users, tr->truth_indptr,
                              tr->truth_indices, ds->n_songs, &out->popularity,
                              err)))
    goto fail;
  rep->sec_segments = cs_now() - t0;

  /* Song table and the rest. */
  rc = CS_ENOMEM;
  out->owned = 1;
  memcpy(out->space, ds->space, sizeof out->space);
  out->dim = d;
  out->n_features = F;
  out->n_songs = ds->n_songs;
  out->song_ids = malloc((size_t)ds->n_songs * sizeof(int64_t));
  out->song_emb = cs_alloc_aligned((size_t)ds->n_songs * d * sizeof(float));
  if (!out->song_ids || !out->song_emb) goto fail;
  memcpy(out->song_ids, ds->song_ids, (size_t)ds->n_songs * sizeof(int64_t));
  memcpy(out->song_emb, ds->song_emb,
         (size_t)ds->n_songs * d * sizeof(float));
  out->k = km.k;
  out->centroids = km.centroids;
  km.centroids = NULL;
  out->k_input = kin.k;
  out->input_centroids = kin.centroids;
  kin.centroids = NULL;
  out->featurizer = ds->featurizer;
  rc = 0;
fail:
  if (rc == CS_ENOMEM && (!err || err->code != CS_ENOMEM))
    cs_err_set(err, CS_ENOMEM, "train: out of memory");
  free(rows);
  free(X);
  free(Y);
  free(Xv);
  free(Yv);
  free(assign);
  cs_kmeans_free(&km);
  cs_kmeans_free(&kin);
  if (rc) {
    out->owned = 1;
    cs_model_free(out);
  }
  return rc;
}

/* --- file --------------------------------------------------------------- */

typedef struct {
  char space[8];
  int32_t dim, n_features;
  int64_t n_songs;
  int32_t k, k_input;
  int32_t has_featurizer, reserved;
} model_meta_t;

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
  meta.k = m->k;
  meta.k_input = m->k_input;
  meta.has_featurizer = m->featurizer != NULL;
  size_t ns = (size_t)m->n_songs;
  if ((rc = cs_container_add_copy(w, "meta", &meta, sizeof meta, err)) ||
      (rc = cs_container_add(w, "song_ids", m->song_ids, ns * 8, err)) ||
      (rc = cs_container_add(w, "song_emb", m->song_emb,
                             ns * (size_t)m->dim * 4, err)) ||
      (rc = cs_container_add(w, "centroids", m->centroids,
                             (size_t)m->k * m->dim * 4, err)) ||
      (rc = cs_container_add(w, "in_centroids", m->input_centroids,
                             (size_t)m->k_input * m->n_features * 4, err)) ||
      (rc = cs_regressor_save(m->regressor, w, "reg.", err)) ||
      (rc = cs_segments_save(&m->segments, w, "seg.", err)) ||
      (rc = cs_segments_save(&m->input_segments, w, "inseg.", err)) ||
      (rc = cs_segments_save(&m->popularity, w, "pop.", err)) ||
      (m->featurizer &&
       (rc = cs_featurizer_save(m->featurizer, w, "feat.", err))))
    goto done;
  rc = cs_container_writer_commit(w, path, err);
done:
  cs_container_writer_free(w);
  return rc;
}

int cs_model_load(cs_model_t *m, const char *path, cs_err_t *err) {
  memset(m, 0, sizeof *m);
  cs_container_t *c = calloc(1, sizeof *c);
  if (!c) return cs_err_set(err, CS_ENOMEM, "loading %s", path);
  int rc = cs_container_open(c, path, "model", err);
  if (rc) {
    free(c);
    return rc;
  }
  m->container = c;
  m->owned = 0;
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
  if (meta.dim <= 0 || meta.dim > 65536 || meta.n_features != cs_n_features(meta.dim) ||
      meta.n_songs <= 0 || meta.n_songs > INT32_MAX || meta.k <= 0 ||
      meta.k_input <= 0 || meta.space[sizeof meta.space - 1] != '\0') {
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
  m->k = meta.k;
  m->k_input = meta.k_input;
  size_t ns = (size_t)meta.n_songs;
  if ((rc = cs_container_require(c, "song_ids", ns * 8, &data, &size, err)))
    goto fail;
  m->song_ids = (int64_t *)data;
  if ((rc = cs_container_require(c, "song_emb", ns * (size_t)m->dim * 4,
                                 &data, &size, err)))
    goto fail;
  m->song_emb = (float *)data;
  if ((rc = cs_container_require(c, "centroids", (size_t)m->k * m->dim * 4,
                                 &data, &size, err)))
    goto fail;
  m->centroids = (float *)data;
  if ((rc = cs_container_require(c, "in_centroids",
                                 (size_t)m->k_input * m->n_features * 4, &data,
                                 &size, err)))
    goto fail;
  m->input_centroids = (float *)data;
  if ((rc = cs_regressor_load(&m->regressor, c, "reg.", err))) goto fail;
  if (cs_regressor_n_in(m->regressor) != m->n_features ||
      cs_regressor_dim(m->regressor) != m->dim) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: regressor shape %d -> %d does not "
                    "match the model (%d -> %d)", path,
                    cs_regressor_n_in(m->regressor),
                    cs_regressor_dim(m->regressor), m->n_features, m->dim);
    goto fail;
  }
  if ((rc = cs_segments_load(&m->segments, c, "seg.", m->n_songs, err)) ||
      (rc = cs_segments_load(&m->input_segments, c, "inseg.", m->n_songs,
                             err)) ||
      (rc = cs_segments_load(&m->popularity, c, "pop.", m->n_songs, err)))
    goto fail;
  if (m->segments.k != m->k || m->input_segments.k != m->k_input ||
      m->popularity.k != 1) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: segment tables do not match the "
                    "cluster counts", path);
    goto fail;
  }
  if (meta.has_featurizer &&
      (rc = cs_featurizer_load(&m->featurizer, c, "feat.", err)))
    goto fail;
  return 0;
fail:
  cs_err_prefix(err, rc, "loading model %s: ", path);
  cs_model_free(m);
  return rc;
}

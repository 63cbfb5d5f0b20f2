/* train.c: training the whole method from a prepared dataset's train split
 * (docs/method.md): the regressor, k-means over the training targets, the
 * input clusters, the segment rankings and popularity, into a model that
 * owns copies of everything it keeps. */
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "coldstart/train.h"
#include "train/regressor_train_internal.h"
#include "train/train_internal.h"

void cs_train_params_default(cs_train_params_t *p) {
  memset(p, 0, sizeof *p);
  p->k = 1000;
  p->k_input = 100;
  p->kmeans_iter = 20;
  p->seed = 1;
  cs_regressor_params_default(&p->reg);
  p->val_fraction = 0.1;
}

int cs__train_rows(const cs_dataset_t *ds, const cs_train_params_t *p,
                   int64_t n_t, int64_t **rows_out, int64_t *n_val_out,
                   int *own_val_out) {
  const cs_split_t *tr = &ds->splits[CS_SPLIT_TRAIN];
  const cs_split_t *va = &ds->splits[CS_SPLIT_VALIDATION];
  *rows_out = NULL;
  int64_t *rows = malloc((size_t)n_t * sizeof *rows);
  if (!rows) return CS_ENOMEM;
  {
    int64_t i = 0;
    for (int64_t u = 0; u < tr->n_users; u++)
      if (tr->has_target[u]) rows[i++] = u;
  }
  int64_t n_val = 0;
  int own_val = va->targets && va->has_target;
  if (own_val) {
    for (int64_t u = 0; u < va->n_users; u++) n_val += va->has_target[u] != 0;
  } else if (p->val_fraction > 0.0) {
    n_val = (int64_t)((double)n_t * p->val_fraction);
    if (n_val >= n_t) n_val = n_t - 1;
    cs_rng_t rng;
    cs_rng_seed_stream(&rng, p->seed, 7);
    int64_t *perm = malloc((size_t)n_t * sizeof *perm);
    uint8_t *held = calloc((size_t)n_t, 1);
    if (!perm || !held) {
      free(perm);
      free(held);
      free(rows);
      return CS_ENOMEM;
    }
    for (int64_t i = 0; i < n_t; i++) perm[i] = i;
    cs_rng_shuffle_i64(&rng, perm, n_t);
    /* mark the first n_val of the permutation as held out, keep order */
    for (int64_t i = 0; i < n_val; i++) held[perm[i]] = 1;
    int64_t a = 0, b = n_t - n_val;
    for (int64_t i = 0; i < n_t; i++) perm[held[i] ? b++ : a++] = rows[i];
    memcpy(rows, perm, (size_t)n_t * sizeof *rows);
    free(perm);
    free(held);
  }
  *rows_out = rows;
  *n_val_out = n_val;
  *own_val_out = own_val;
  return 0;
}

int cs_train(const cs_ctx_t *ctx, const cs_dataset_t *ds,
             const cs_train_params_t *p, cs_model_t *out,
             cs_train_report_t *rep, cs_err_t *err) {
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

  int64_t *rows = NULL, n_val = 0;
  int own_val = 0;
  float *X = NULL, *Y = NULL;
  int32_t *assign = NULL, *labels = NULL;
  int64_t *rows_val = NULL;
  cs_kmeans_t km = {0}, kin = {0};
  if ((rc = cs__train_rows(ds, p, n_t, &rows, &n_val, &own_val))) goto fail;
  rc = CS_ENOMEM;
  int64_t n_fit = own_val ? n_t : n_t - n_val;
  rep->n_val = n_val;
  /* Under MPI (docs/mpi.md) every rank runs this same function: the
   * regressor reads its share of every minibatch straight from the split
   * (no copy), the k-means runs hold only their block of rows, and the
   * labels are shared for the segments; every rank ends with the same
   * model. cs_dist_stage: test hooks, then every rank agrees on the
   * status. */
  if (own_val) {
    rows_val = malloc((size_t)(n_val + 1) * sizeof *rows_val);
    if (!rows_val) goto fail;
    int64_t i = 0;
    for (int64_t u = 0; u < va->n_users; u++)
      if (va->has_target[u]) rows_val[i++] = u;
  }

  /* Regressor. */
  double t0 = cs_now();
  if ((rc = cs_regressor_create(&out->regressor, F, d, p->seed, err)))
    goto fail;
  cs_regressor_report_t rr = {0};
  rr.cap_history = p->reg.epochs;
  rr.history = cs_arena_alloc(&out->mem, (size_t)rr.cap_history * 2 * sizeof(double));
  if (!rr.history) {
    rc = CS_ENOMEM;
    goto fail;
  }
  const cs_split_t *vs = own_val ? va : tr;
  rc = cs__regressor_train_rows(ctx, out->regressor, tr->features,
                                tr->targets, rows, n_fit, vs->features,
                                vs->targets, own_val ? rows_val : rows + n_fit,
                                n_val, &p->reg, &rr, err);
  if ((rc = cs_dist_stage(ctx, "regressor", rc, err))) goto fail;
  rep->sec_regressor = cs_now() - t0;
  rep->val_mse = rr.val_mse;
  rep->epochs_run = rr.epochs_run;
  cs_log(ctx, CS_LOG_INFO, "train: regressor %d epochs, val MSE %.6g, %.1fs",
         rr.epochs_run, rr.val_mse, rep->sec_regressor);

  /* k-means over all training targets (in `rows` order); this rank holds
   * rows [lo, hi) of them. */
  t0 = cs_now();
  int64_t lo, hi;
  cs_kmeans_rows(ctx, n_t, &lo, &hi);
  X = cs_alloc_aligned((size_t)(hi - lo + 1) * F * sizeof(float));
  Y = cs_alloc_aligned((size_t)(hi - lo + 1) * d * sizeof(float));
  rc = X && Y ? 0 : cs_err_set(err, CS_ENOMEM, "train: out of memory");
  if ((rc = cs_dist_agree(cs_dist_of(ctx), rc, err))) goto fail;
  for (int64_t i = lo; i < hi; i++) {
    memcpy(X + (size_t)(i - lo) * F, tr->features + (size_t)rows[i] * F,
           (size_t)F * sizeof(float));
    memcpy(Y + (size_t)(i - lo) * d, tr->targets + (size_t)rows[i] * d,
           (size_t)d * sizeof(float));
  }
  cs_kmeans_params_t kp;
  cs_kmeans_params_default(&kp);
  kp.k = p->k < n_t ? p->k : (int)n_t;
  kp.max_iter = p->kmeans_iter;
  kp.seed = p->seed;
  rc = cs_kmeans_fit_dist(ctx, Y, n_t, d, &kp, &km, err);
  if ((rc = cs_dist_stage(ctx, "kmeans", rc, err))) goto fail;
  rep->sec_kmeans = cs_now() - t0;
  rep->kmeans_inertia = km.inertia;
  cs_log(ctx, CS_LOG_INFO, "train: k-means k=%d, inertia %.6g, %.1fs", km.k,
         km.inertia, rep->sec_kmeans);

  /* Input clusters on L2-normalized raw features (X reused in place). */
  t0 = cs_now();
  for (int64_t i = 0; i < hi - lo; i++) cs_normalize(F, X + (size_t)i * F);
  kp.k = p->k_input < n_t ? p->k_input : (int)n_t;
  kp.seed = p->seed + 1;
  rc = cs_kmeans_fit_dist(ctx, X, n_t, F, &kp, &kin, err);
  if ((rc = cs_dist_stage(ctx, "input_kmeans", rc, err))) goto fail;
  rep->sec_input_kmeans = cs_now() - t0;

  /* Segments: every rank gets every label, then counts alike. */
  t0 = cs_now();
  assign = malloc(((size_t)tr->n_users + 1) * sizeof *assign);
  labels = malloc(((size_t)n_t + 1) * sizeof *labels);
  int64_t *off = malloc(((size_t)cs_dist_of(ctx)->size + 1) * sizeof *off);
  rc = assign && labels && off ? 0 : CS_ENOMEM;
  if (!rc) rc = cs_dist_allgather_i64(cs_dist_of(ctx), lo, off);
  if (!rc) off[cs_dist_of(ctx)->size] = n_t;
  for (int pass = 0; pass < 2 && !rc; pass++) {
    const cs_kmeans_t *m = pass == 0 ? &km : &kin;
    memcpy(labels + lo, m->assign, (size_t)(hi - lo) * sizeof *labels);
    rc = cs_dist_allgather_rows(cs_dist_of(ctx), labels, sizeof *labels, off);
    for (int64_t u = 0; u < tr->n_users && !rc; u++) assign[u] = -1;
    for (int64_t i = 0; i < n_t && !rc; i++) assign[rows[i]] = labels[i];
    if (!rc)
      rc = cs_segments_build(m->k, assign, tr->n_users, tr->truth_indptr,
                             tr->truth_indices, ds->n_songs,
                             pass == 0 ? &out->target.seg : &out->input.seg,
                             err);
  }
  free(off);
  if (!rc)
    rc = cs_segments_build(1, NULL, tr->n_users, tr->truth_indptr,
                           tr->truth_indices, ds->n_songs,
                           &out->popularity.seg, err);
  if (!rc) rc = cs_segments_index(&out->target.seg);
  if ((rc = cs_dist_stage(ctx, "segments", rc, err))) goto fail;
  rep->sec_segments = cs_now() - t0;

  /* Song table, centroids and tables: copies the model owns. */
  rc = CS_ENOMEM;
  memcpy(out->space, ds->space, sizeof out->space);
  out->dim = d;
  out->n_features = F;
  out->n_songs = ds->n_songs;
  out->song_ids = cs_arena_dup(&out->mem, ds->song_ids,
                               (size_t)ds->n_songs * sizeof(int64_t));
  out->song_emb = cs_arena_dup(&out->mem, ds->song_emb,
                               (size_t)ds->n_songs * d * sizeof(float));
  out->target.k = km.k;
  out->target.dim = d;
  out->target.centroids = cs_arena_dup(&out->mem, km.centroids,
                                       (size_t)km.k * d * sizeof(float));
  out->input.k = kin.k;
  out->input.dim = F;
  out->input.centroids = cs_arena_dup(&out->mem, kin.centroids,
                                      (size_t)kin.k * F * sizeof(float));
  out->popularity.k = 1;
  out->popularity.dim = d;
  out->has_train_info = 1;
  out->history = rr.history;
  out->train_info = (cs_model_train_info_t){
      .version = 1, .k = km.k, .k_input = kin.k, .kmeans_iter = p->kmeans_iter,
      .epochs = p->reg.epochs, .batch = p->reg.batch,
      .patience = p->reg.patience, .epochs_run = rr.epochs_run,
      .best_epoch = rr.best_epoch, .lr = p->reg.lr,
      .lr_final = p->reg.lr_final, .seed = p->seed, .val_mse = rr.val_mse,
      .kmeans_inertia = km.inertia, .n_train = rep->n_train,
      .n_train_no_target = rep->n_train_no_target, .n_val = rep->n_val};
  out->n_train_users = tr->n_users;
  out->train_users = cs_arena_dup(&out->mem, tr->user_ids,
                                  (size_t)tr->n_users * sizeof(int64_t));
  out->tuning = p->tuning;
  if (!out->song_ids || !out->song_emb || !out->target.centroids ||
      !out->input.centroids || !out->train_users)
    goto fail;
  if (ds->has_tables) {
    if ((rc = cs_feature_tables_copy(&out->tables, &ds->tables, &out->mem,
                                     err)) ||
        (rc = cs_featurizer_create(&out->featurizer, out->n_songs,
                                   out->song_ids, out->song_emb, &out->tables,
                                   err)))
      goto fail;
    out->has_tables = 1;
  }
  rc = 0;
fail:
  if (rc == CS_ENOMEM && (!err || err->code != CS_ENOMEM))
    cs_err_set(err, CS_ENOMEM, "train: out of memory");
  free(rows);
  free(X);
  free(Y);
  free(rows_val);
  free(assign);
  free(labels);
  cs_kmeans_free(&km);
  cs_kmeans_free(&kin);
  if (rc) cs_model_free(out);
  return rc;
}


/* evaluate.c: strategies x users -> metrics (docs/metrics.md). The lists
 * come from the recommend module's batch entry point; this file only scores
 * them, in parallel across users, and aggregates means and spreads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/evaluate.h"
#include "coldstart/mat.h"
#include "coldstart/metrics.h"

#define EVAL_CHUNK 4096  /* users per batch call (lists) */
#define EVAL_SK_CHUNK 128 /* users per batch call in sklearn mode (their
                             dense score rows: 128 x n_songs floats) */
_Static_assert(EVAL_CHUNK % CS_REC_BATCH_BLOCK == 0,
               "calls must start at the batch's block boundaries");

void cs_eval_params_default(cs_eval_params_t *p) {
  memset(p, 0, sizeof *p);
  cs_strategy_params_default(&p->sp);
  for (int i = 0; i < CS_N_STRATEGIES; i++) p->strategies[i] = i;
  p->n_strategies = CS_N_STRATEGIES;
  p->ndcg_mode = CS_NDCG_LIST;
}

/* Artist or album id of song s, or -1 (for a catalog comparison). */
static int64_t catalog_id(const cs_feature_tables_t *t, int table, int64_t s) {
  int32_t row = table == CS_TABLE_ARTIST ? t->song_artist[s] : t->song_album[s];
  return row < 0 ? -1 : t->keys[table][row];
}

int cs_eval_check_dataset(const cs_ctx_t *ctx, const cs_model_t *m,
                          const cs_dataset_t *ds, int split,
                          int allow_training_users, cs_err_t *err) {
  if (strcmp(m->space, ds->space) != 0)
    return cs_err_set(err, CS_EINVAL, "the model was trained in the %s space, "
                      "the dataset is in the %s space", m->space, ds->space);
  if (m->dim != ds->dim || m->n_features != ds->n_features)
    return cs_err_set(err, CS_EINVAL,
                      "model (dim %d, %d features) does not match dataset "
                      "(dim %d, %d features)", m->dim, m->n_features, ds->dim,
                      ds->n_features);
  if (m->n_songs != ds->n_songs)
    return cs_err_set(err, CS_EINVAL, "the songs differ: the model has %lld "
                      "songs, the dataset %lld", (long long)m->n_songs,
                      (long long)ds->n_songs);
  for (int64_t i = 0; i < m->n_songs; i++)
    if (m->song_ids[i] != ds->song_ids[i])
      return cs_err_set(err, CS_EINVAL, "the songs differ at row %lld: "
                        "model song id %lld, dataset song id %lld",
                        (long long)i, (long long)m->song_ids[i],
                        (long long)ds->song_ids[i]);
  if (m->has_tables && ds->has_tables)
    for (int64_t i = 0; i < m->n_songs; i++)
      for (int t = CS_TABLE_ARTIST; t <= CS_TABLE_ALBUM; t++) {
        int64_t a = catalog_id(&m->tables, t, i), b = catalog_id(&ds->tables, t, i);
        if (a != b)
          return cs_err_set(err, CS_EINVAL, "the songs differ: song %lld is "
                            "on %s %lld in the model's catalog and %s %lld in "
                            "the dataset's (another catalog)",
                            (long long)m->song_ids[i], cs_table_name(t),
                            (long long)a, cs_table_name(t), (long long)b);
      }
  if (memcmp(m->song_emb, ds->song_emb,
             (size_t)m->n_songs * (size_t)m->dim * sizeof(float)) != 0)
    cs_log(ctx, CS_LOG_WARN,
           "the dataset's song embeddings differ from the model's (it was "
           "prepared separately): its features are in its own embedding "
           "space");
  if (split < 0 || split >= CS_N_SPLITS || allow_training_users) return 0;
  if (!m->train_users) {
    cs_log(ctx, CS_LOG_WARN, "the model does not record its training users "
           "(an older file): cannot check the %s users are new to it",
           cs_split_name(split));
    return 0;
  }
  /* both lists ascend: one merge counts the users in common */
  const cs_split_t *sp = &ds->splits[split];
  int64_t i = 0, j = 0, n_common = 0, first = -1;
  while (i < sp->n_users && j < m->n_train_users) {
    if (sp->user_ids[i] < m->train_users[j]) {
      i++;
    } else if (sp->user_ids[i] > m->train_users[j]) {
      j++;
    } else {
      if (n_common++ == 0) first = sp->user_ids[i];
      i++;
      j++;
    }
  }
  if (n_common)
    return cs_err_set(err, CS_EINVAL,
                      "%lld of the %lld %s users (first: user %lld) are users "
                      "the model was trained on: scores on them would be "
                      "inflated (a dataset prepared with another --seed or "
                      "split? --allow-training-users scores them anyway)",
                      (long long)n_common, (long long)sp->n_users,
                      cs_split_name(split), (long long)first);
  return 0;
}

/* Metrics of the users [first, first + n) of the evaluated list, from the
 * batch results (and, in sklearn mode, their dense score rows). */
typedef struct {
  const cs_model_t *m;
  const cs_split_t *sp;
  const cs_eval_params_t *p;
  const int64_t *users; /* split rows evaluated */
  const cs_rec_batch_t *batch;
  const float *dense;   /* [n x n_songs] or NULL */
  int64_t first;
  double *prec, *rec, *ndcg; /* [n_eval] */
} score_job_t;

static int score_users(void *arg, int64_t begin, int64_t end, int tid,
                       cs_err_t *err) {
  const score_job_t *j = arg;
  for (int64_t i = begin; i < end; i++) {
    int64_t e = j->first + i, u = j->users[e];
    const int64_t *truth = j->sp->truth_indices + j->sp->truth_indptr[u];
    int64_t n_truth = j->sp->truth_indptr[u + 1] - j->sp->truth_indptr[u];
    const cs_rec_t *r = cs_rec_batch_get(j->batch, i);
    cs_user_metrics_t um;
    cs_metrics_user(r->songs, r->n_items, j->p->sp.k, truth, n_truth, &um);
    j->prec[e] = um.precision;
    j->rec[e] = um.recall;
    j->ndcg[e] = um.ndcg;
    if (j->dense) {
      int64_t top[4096];
      for (int x = 0; x < r->n_items; x++) top[x] = r->songs[x];
      j->ndcg[e] = cs_metrics_ndcg_sklearn(
          j->dense + (size_t)i * j->m->n_songs, j->m->n_songs, top, r->n_items,
          truth, n_truth);
    }
  }
  return 0;
}

int cs_evaluate(const cs_ctx_t *ctx, const cs_model_t *m,
                const cs_dataset_t *ds, int split, const cs_eval_params_t *p,
                cs_eval_result_t *out, cs_err_t *err) {
  memset(out, 0, sizeof *out);
  if (split < 0 || split >= CS_N_SPLITS)
    return cs_err_set(err, CS_EINVAL, "evaluate: bad split %d", split);
  int rc = cs_eval_check_dataset(ctx, m, ds, split, p->allow_training_users,
                                 err);
  if (rc) return rc;
  if ((rc = cs_strategy_params_check(&p->sp, m, err))) return rc;
  if (p->sp.k > 4096)
    return cs_err_set(err, CS_ERANGE, "evaluate: k = %d above 4096", p->sp.k);
  const cs_split_t *sp = &ds->splits[split];
  int n_threads = cs_ctx_threads(ctx);
  out->split = split;
  out->k = p->sp.k;

  int need_pred = 0;
  for (int i = 0; i < p->n_strategies; i++) {
    int s = p->strategies[i];
    if (s < 0 || s >= CS_N_STRATEGIES)
      return cs_err_set(err, CS_EINVAL, "evaluate: bad strategy %d", s);
    need_pred |= cs_strategy_needs_embedding(s);
  }
  int sklearn = p->ndcg_mode == CS_NDCG_SKLEARN;
  int64_t chunk = sklearn ? EVAL_SK_CHUNK : EVAL_CHUNK;

  /* Under MPI (docs/mpi.md) rank r scores users [e_lo, e_hi) of the list;
   * the per-user values are then shared, and every rank aggregates all of
   * them alike (a user's list does not depend on the users beside it).
   * Failures from here on are agreed on by every rank. */
  const cs_dist_t *dist = cs_dist_of(ctx);
  int64_t e_lo = 0, e_hi = 0;
  int64_t *e_off = malloc(((size_t)dist->size + 1) * sizeof *e_off);
  int64_t n_eval = 0;
  int64_t *users = malloc(((size_t)sp->n_users + 1) * sizeof *users);
  int64_t *scratch = malloc(((size_t)sp->n_users + 1) * sizeof *scratch);
  double *vals = malloc(3 * ((size_t)sp->n_users + 1) * sizeof *vals);
  float *pred = NULL, *dense = NULL;
  cs_rec_batch_t *batch = NULL;
  cs_eval_params_t pe = *p;
  rc = CS_ENOMEM;
  if (!users || !scratch || !vals || !e_off) goto setup;
  for (int64_t u = 0; u < sp->n_users; u++) {
    if (sp->truth_indptr[u + 1] > sp->truth_indptr[u])
      users[n_eval++] = u;
    else
      out->n_skipped++;
  }
  out->n_users = n_eval;
  /* ranks split at multiples of the batch's own blocks (512 users for
   * lists, the 128-user calls in sklearn mode): every block, and so every
   * matrix product, is the one a single process computes */
  int64_t align = sklearn ? EVAL_SK_CHUNK : CS_REC_BATCH_BLOCK;
  cs_dist_part_blocks(n_eval, align, dist->rank, dist->size, &e_lo, &e_hi);
  cs_dist_offsets(n_eval, align, dist->size, e_off);
  if (chunk > n_eval) chunk = n_eval > 0 ? n_eval : 1;
  /* Lists only: no item scores needed (soft skips the mixture when it
   * does not fill). */
  pe.sp.skip_scores = 1;
  if ((rc = cs_rec_batch_create(&batch, m, &pe.sp, chunk, n_threads, err)))
    goto setup;
  cs_rec_batch_set_song_tile(batch, p->song_tile);
  rc = CS_ENOMEM;
  if (sklearn) {
    dense = cs_alloc_aligned((size_t)chunk * m->n_songs * sizeof(float));
    if (!dense) goto setup;
  }
  if (need_pred && sp->n_users > 0) {
    double t0 = cs_now();
    pred = cs_alloc_aligned((size_t)sp->n_users * m->dim * sizeof(float));
    if (!pred) goto setup;
    /* the split rows this rank scores: users[e_lo] .. users[e_hi - 1] */
    int64_t u0 = e_hi > e_lo ? users[e_lo] : 0;
    int64_t u1 = e_hi > e_lo ? users[e_hi - 1] + 1 : 0;
    if ((rc = cs_regressor_predict_threads(m->regressor,
                                           sp->features + u0 * m->n_features,
                                           u1 - u0, pred + u0 * m->dim,
                                           n_threads, err)))
      goto setup;
    out->seconds_predict = cs_now() - t0;
  }
  rc = 0;
setup:
  if ((rc = cs_dist_agree(dist, rc, err))) goto done;

  score_job_t job = {.m = m, .sp = sp, .p = &pe, .users = users,
                     .batch = batch, .prec = vals, .rec = vals + n_eval,
                     .ndcg = vals + 2 * n_eval};
  for (int i = 0; i < p->n_strategies; i++) {
    int s = p->strategies[i];
    double t0 = cs_now();
    for (int64_t first = e_lo; first < e_hi; first += chunk) {
      int64_t n = e_hi - first < chunk ? e_hi - first : chunk;
      const int64_t *rows = users + first;
      rc = cs_recommend_batch(ctx, m, s, &pe.sp, sp->features, pred, rows, n,
                              batch, err);
      if (!rc && sklearn) {
        rc = cs_rec_batch_scores(m, s, sp->features, pred, rows, n, batch,
                                 dense);
        job.dense = rc == 1 ? dense : NULL;
        if (rc == 1) rc = 0;
      }
      if (rc) {
        if (rc == CS_ENOMEM) cs_err_set(err, CS_ENOMEM, "evaluate: scores");
        cs_err_prefix(err, rc, "evaluate %s: ", cs_strategy_name(s));
        break;
      }
      job.first = first;
      cs_parallel_for(n_threads, n, score_users, &job, NULL);
    }
    if ((rc = cs_dist_agree(dist, rc, err))) goto done;
    for (int q = 0; q < 3 && !rc; q++)
      rc = cs_dist_allgather_rows(dist, vals + q * n_eval, sizeof *vals, e_off);
    if ((rc = cs_dist_agree(dist, rc, err))) goto done;
    cs_eval_row_t *row = &out->rows[out->n_rows++];
    row->strategy = s;
    row->precision.mean = cs_metrics_mean(job.prec, n_eval);
    row->recall.mean = cs_metrics_mean(job.rec, n_eval);
    row->ndcg.mean = cs_metrics_mean(job.ndcg, n_eval);
    row->precision.std = cs_metrics_spread(job.prec, n_eval, scratch);
    row->recall.std = cs_metrics_spread(job.rec, n_eval, scratch);
    row->ndcg.std = cs_metrics_spread(job.ndcg, n_eval, scratch);
    row->seconds = cs_now() - t0;
    cs_log(ctx, CS_LOG_INFO, "evaluate: %s on %lld users in %.2fs",
           cs_strategy_name(s), (long long)n_eval, row->seconds);
  }
  rc = 0;
done:
  if (rc == CS_ENOMEM && err && err->code != CS_ENOMEM)
    cs_err_set(err, CS_ENOMEM, "evaluate: out of memory");
  cs_rec_batch_free(batch);
  free(e_off);
  free(users);
  free(scratch);
  free(vals);
  free(pred);
  free(dense);
  return rc;
}

/* --- output ------------------------------------------------------------ */

static int finish(FILE *out, cs_err_t *err) {
  if (ferror(out) || fflush(out) != 0)
    return cs_err_set(err, CS_EIO, "writing the evaluation table failed");
  return 0;
}

int cs_eval_format_parse(const char *name) {
  static const char *const formats[] = {"text", "json", "csv", "markdown"};
  for (int i = 0; i < 4; i++)
    if (name && strcmp(name, formats[i]) == 0) return i;
  return -1;
}

int cs_eval_write(FILE *out, const cs_eval_result_t *r, int fmt,
                  cs_err_t *err) {
  const char *split = cs_split_name(r->split);
  if (fmt == CS_EVAL_JSON) {
    fprintf(out, "{\"split\": \"%s\", \"k\": %d, \"users\": %lld, \"skipped\": %lld, "
           "\"strategies\": {", split, r->k, (long long)r->n_users,
           (long long)r->n_skipped);
    for (int i = 0; i < r->n_rows; i++) {
      const cs_eval_row_t *w = &r->rows[i];
      fprintf(out, "%s\"%s\": {\"precision\": {\"mean\": %.9g, \"std\": %.9g}, "
             "\"recall\": {\"mean\": %.9g, \"std\": %.9g}, "
             "\"ndcg\": {\"mean\": %.9g, \"std\": %.9g}}",
             i ? ", " : "", cs_strategy_name(w->strategy), w->precision.mean,
             w->precision.std, w->recall.mean, w->recall.std, w->ndcg.mean,
             w->ndcg.std);
    }
    fprintf(out, "}}\n");
    return finish(out, err);
  }
  if (fmt == CS_EVAL_CSV) {
    fprintf(out, "strategy,precision,precision_std,recall,recall_std,ndcg,ndcg_std\n");
    for (int i = 0; i < r->n_rows; i++) {
      const cs_eval_row_t *w = &r->rows[i];
      fprintf(out, "%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n",
             cs_strategy_name(w->strategy), w->precision.mean,
             w->precision.std, w->recall.mean, w->recall.std, w->ndcg.mean,
             w->ndcg.std);
    }
    return finish(out, err);
  }
  char hp[32], hr[32], hn[32];
  snprintf(hp, sizeof hp, "P@%d (%%)", r->k);
  snprintf(hr, sizeof hr, "R@%d (%%)", r->k);
  snprintf(hn, sizeof hn, "NDCG@%d (%%)", r->k);
  if (fmt == CS_EVAL_MARKDOWN) {
    fprintf(out, "| strategy | %s | %s | %s |\n| --- | ---: | ---: | ---: |\n", hp,
           hr, hn);
    for (int i = 0; i < r->n_rows; i++) {
      const cs_eval_row_t *w = &r->rows[i];
      fprintf(out, "| %s | %.2f ± %.2f | %.2f ± %.2f | %.2f ± %.2f |\n",
             cs_strategy_name(w->strategy), 100 * w->precision.mean,
             100 * w->precision.std, 100 * w->recall.mean,
             100 * w->recall.std, 100 * w->ndcg.mean, 100 * w->ndcg.std);
    }
    fprintf(out, "\n%s split, K = %d: %lld users evaluated, %lld skipped (no "
           "days-1-30 songs).\n", split, r->k, (long long)r->n_users,
           (long long)r->n_skipped);
    return finish(out, err);
  }
  fprintf(out, "%s split, K = %d: %lld users evaluated, %lld skipped (no days-1-30 "
         "songs)\n\n", split, r->k, (long long)r->n_users,
         (long long)r->n_skipped);
  fprintf(out, "%-16s %16s %16s %16s\n", "strategy", hp, hr, hn);
  for (int i = 0; i < r->n_rows; i++) {
    const cs_eval_row_t *w = &r->rows[i];
    char c[3][40];
    snprintf(c[0], sizeof c[0], "%.2f ± %.2f", 100 * w->precision.mean,
             100 * w->precision.std);
    snprintf(c[1], sizeof c[1], "%.2f ± %.2f", 100 * w->recall.mean,
             100 * w->recall.std);
    snprintf(c[2], sizeof c[2], "%.2f ± %.2f", 100 * w->ndcg.mean,
             100 * w->ndcg.std);
    /* "±" is 2 bytes in UTF-8: pad one more byte per column */
    fprintf(out, "%-16s %17s %17s %17s\n", cs_strategy_name(w->strategy), c[0],
           c[1], c[2]);
  }
  fprintf(out, "\n(mean ± spread: std of 10 fold means, 2 seeds x 5 folds)\n");
  return finish(out, err);
}

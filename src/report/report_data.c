/* report_data.c: fills a cs_report_t from a model and its dataset: the
 * evaluation at K (cs_evaluate), NDCG@K curves for K = 1..k_max, segment
 * statistics and the centroid PCA, three example users and "what went in".
 * This is the one file of the report that reads the model and dataset
 * structs; the renderer (html.c, svg.c) reads only the report. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "coldstart/evaluate.h"
#include "coldstart/mat.h"
#include "coldstart/metrics.h"
#include "coldstart/report.h"
#include "coldstart/topk.h"

#define CURVE_CHUNK 2048 /* users per batch call (progress granularity) */

void cs_report_params_default(cs_report_params_t *p) {
  memset(p, 0, sizeof *p);
  p->split = CS_SPLIT_TEST;
  cs_strategy_params_default(&p->sp);
  p->k_max = CS_REPORT_KMAX;
  p->example_strategy = CS_STRAT_SOFT;
  p->soft_curve_budget = 200000;
}

void cs_report_init(cs_report_t *r) { memset(r, 0, sizeof *r); }

void cs_report_free(cs_report_t *r) {
  if (!r) return;
  free(r->segments.n_users);
  free(r->segments.n_songs);
  free(r->segments.top10_share);
  free(r->segments.xy);
  free(r->history.train_mse);
  free(r->history.val_mse);
  cs_report_tune_free(&r->tune);
  for (int i = 0; i < CS_REPORT_N_USERS; i++) {
    free(r->users[i].items);
    free(r->users[i].truth_song_ids);
    free(r->users[i].truth_hit);
  }
  cs_report_init(r);
}

int cs_report_kv_add(cs_report_t *r, const char *group, const char *key,
                     const char *fmt, ...) {
  cs_report_kv_t *kv = NULL;
  for (int i = 0; i < r->n_kv && !kv; i++)
    if (!strcmp(r->kv[i].group, group) && !strcmp(r->kv[i].key, key))
      kv = &r->kv[i];
  if (!kv) {
    if (r->n_kv >= CS_REPORT_MAX_KV) return CS_ERANGE;
    kv = &r->kv[r->n_kv++];
    snprintf(kv->group, sizeof kv->group, "%s", group);
    snprintf(kv->key, sizeof kv->key, "%s", key);
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv->value, sizeof kv->value, fmt, ap);
  va_end(ap);
  return 0;
}

int cs_report_stage_add(cs_report_t *r, const char *name, double seconds) {
  cs_report_stage_t *s = NULL;
  for (int i = 0; i < r->n_stages && !s; i++)
    if (!strcmp(r->stages[i].name, name)) s = &r->stages[i];
  if (!s) {
    if (r->n_stages >= CS_REPORT_MAX_STAGES) return CS_ERANGE;
    s = &r->stages[r->n_stages++];
    snprintf(s->name, sizeof s->name, "%s", name);
  }
  s->seconds = seconds;
  return 0;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static void size_text(char *out, size_t cap, const char *path) {
  struct stat st;
  if (!path || stat(path, &st) != 0) {
    snprintf(out, cap, "unknown");
    return;
  }
  double b = (double)st.st_size;
  if (b >= 1e9) snprintf(out, cap, "%.2f GB (%lld bytes)", b / 1e9, (long long)st.st_size);
  else if (b >= 1e6) snprintf(out, cap, "%.1f MB (%lld bytes)", b / 1e6, (long long)st.st_size);
  else snprintf(out, cap, "%.1f kB (%lld bytes)", b / 1e3, (long long)st.st_size);
}

/* --- training history ------------------------------------------------------
 * From the model's train.info / train.history sections (absent in older
 * files: the page then says so instead of plotting anything). */
static int fill_history(const cs_model_t *m, cs_report_t *r, cs_err_t *err) {
  r->history.n_epochs = 0;
  if (!m->has_train_info) return 0;
  const cs_model_train_info_t *t = &m->train_info;
  int n = t->epochs_run;
  if (n > 0) {
    r->history.train_mse = malloc((size_t)n * sizeof(double));
    r->history.val_mse = malloc((size_t)n * sizeof(double));
    if (!r->history.train_mse || !r->history.val_mse)
      return cs_err_set(err, CS_ENOMEM, "report: out of memory (history)");
    for (int e = 0; e < n; e++) {
      r->history.train_mse[e] = m->history[2 * e];
      r->history.val_mse[e] = m->history[2 * e + 1];
    }
  }
  r->history.n_epochs = n;
  r->history.best_epoch = t->best_epoch;
  cs_report_kv_add(r, "training", "regressor schedule", "%d epochs at most, "
                   "Adam lr %g (to %g), batch %d, patience %d; %d run, epoch "
                   "%d kept", t->epochs, (double)t->lr, (double)t->lr_final,
                   t->batch, t->patience, t->epochs_run, t->best_epoch);
  cs_report_kv_add(r, "training", "validation MSE", "%.6g", t->val_mse);
  cs_report_kv_add(r, "training", "k-means", "k = %d, input k = %d, %d "
                   "iterations, inertia %.6g", t->k, t->k_input,
                   t->kmeans_iter, t->kmeans_inertia);
  cs_report_kv_add(r, "training", "users", "%lld with a target (%lld "
                   "without, left out), %lld held out for validation",
                   (long long)t->n_train, (long long)t->n_train_no_target,
                   (long long)t->n_val);
  cs_report_kv_add(r, "training", "seed", "%llu", (unsigned long long)t->seed);
  return 0;
}

/* --- NDCG@K curves ---------------------------------------------------------- */

static const int64_t *truth_of(const cs_split_t *sp, int64_t u, int64_t *n) {
  *n = sp->truth_indptr[u + 1] - sp->truth_indptr[u];
  return sp->truth_indices + sp->truth_indptr[u];
}

/* Every strategy's lists through the recommend module's batch entry point
 * (what evaluate scores). Prefix strategies: one list of k_max songs, every
 * K from it. soft: the list at K is not a prefix of the list at K' (its
 * slots T = K + margin are split by weight), so it is recommended again at
 * each K of soft_ks. out: [n_eval x k_max] per-user NDCG@K (NAN where soft
 * was not computed). */
static int build_curves(const cs_ctx_t *ctx, const cs_model_t *m,
                        const cs_split_t *sp, const int64_t *users,
                        int64_t n_eval, const float *pred,
                        const cs_report_params_t *p, cs_report_t *rep,
                        cs_err_t *err) {
  cs_report_curves_t *c = &rep->curves;
  int k_max = p->k_max;
  if (k_max > m->n_songs) k_max = (int)m->n_songs;
  cs_strategy_params_t spk = p->sp;
  spk.k = k_max;
  spk.skip_scores = 1;
  int soft_ks[CS_REPORT_KMAX], n_soft_ks = 0;
  int every_k = (double)n_eval * k_max <= (double)p->soft_curve_budget;
  for (int k = 1; k <= k_max; k++)
    if (every_k || k <= 5 || k % 10 == 0 || k == k_max)
      soft_ks[n_soft_ks++] = k;
  int64_t chunk = n_eval < CURVE_CHUNK ? (n_eval > 0 ? n_eval : 1) : CURVE_CHUNK;
  double *out = malloc(((size_t)n_eval * k_max + 1) * sizeof *out);
  double *col = malloc(((size_t)n_eval + 1) * sizeof *col);
  cs_rec_batch_t *b = NULL;
  int rc = out && col ? cs_rec_batch_create(&b, m, &spk, chunk,
                                            cs_ctx_threads(ctx), err)
                      : cs_err_set(err, CS_ENOMEM, "report: out of memory (curves)");
  cs_progress_t prog;
  int64_t done = 0;
  if (!rc)
    cs_progress_start(&prog, ctx, "report: NDCG@K curves",
                      n_eval * CS_N_STRATEGIES);
  for (int s = 0; s < CS_N_STRATEGIES && !rc; s++) {
    double t0 = cs_now();
    for (int64_t first = 0; first < n_eval && !rc; first += chunk) {
      int64_t n = n_eval - first < chunk ? n_eval - first : chunk;
      const int64_t *rows = users + first;
      if (s != CS_STRAT_SOFT) {
        rc = cs_recommend_batch(ctx, m, s, &spk, sp->features, pred, rows, n,
                                b, err);
        for (int64_t i = 0; i < n && !rc; i++) {
          int64_t n_truth;
          const int64_t *truth = truth_of(sp, rows[i], &n_truth);
          const cs_rec_t *r = cs_rec_batch_get(b, i);
          cs_report_ndcg_prefix(r->songs, r->n_items, k_max, truth, n_truth,
                                out + (size_t)(first + i) * k_max);
        }
      } else {
        for (int64_t i = 0; i < n; i++)
          for (int k = 0; k < k_max; k++)
            out[(size_t)(first + i) * k_max + k] = NAN;
        cs_strategy_params_t pk = spk;
        for (int q = 0; q < n_soft_ks && !rc; q++) {
          pk.k = soft_ks[q];
          rc = cs_recommend_batch(ctx, m, s, &pk, sp->features, pred, rows, n,
                                  b, err);
          for (int64_t i = 0; i < n && !rc; i++) {
            int64_t n_truth;
            const int64_t *truth = truth_of(sp, rows[i], &n_truth);
            const cs_rec_t *r = cs_rec_batch_get(b, i);
            cs_user_metrics_t um;
            cs_metrics_user(r->songs, r->n_items, pk.k, truth, n_truth, &um);
            out[(size_t)(first + i) * k_max + pk.k - 1] = um.ndcg;
          }
        }
      }
      done += n;
      if (!rc) cs_progress_update(&prog, done);
    }
    if (rc) {
      cs_err_prefix(err, rc, "report: %s: ", cs_strategy_name(s));
      break;
    }
    int i = c->n_series++;
    snprintf(c->strategy[i], CS_REPORT_NAME_MAX, "%s", cs_strategy_name(s));
    c->per_k[i] = s == CS_STRAT_SOFT;
    for (int k = 0; k < k_max; k++) {
      for (int64_t e = 0; e < n_eval; e++) col[e] = out[(size_t)e * k_max + k];
      c->ndcg[i][k] = n_eval > 0 && isnan(col[0]) ? NAN
                                                  : cs_metrics_mean(col, n_eval);
    }
    char stage[CS_REPORT_NAME_MAX];
    snprintf(stage, sizeof stage, "curve %s", cs_strategy_name(s));
    cs_report_stage_add(rep, stage, cs_now() - t0);
  }
  if (!rc) {
    cs_progress_finish(&prog);
    c->k_max = k_max;
    c->n_users = n_eval;
  }
  cs_rec_batch_free(b);
  free(out);
  free(col);
  return rc;
}

/* --- segments --------------------------------------------------------------- */

static int build_segments(const cs_model_t *m, cs_report_segments_t *s,
                          cs_err_t *err) {
  int32_t k = m->target.k;
  s->n_users = malloc((size_t)k * sizeof *s->n_users);
  s->n_songs = malloc((size_t)k * sizeof *s->n_songs);
  s->top10_share = malloc((size_t)k * sizeof *s->top10_share);
  s->xy = malloc((size_t)k * 2 * sizeof *s->xy);
  if (!s->n_users || !s->n_songs || !s->top10_share || !s->xy)
    return cs_err_set(err, CS_ENOMEM, "report: out of memory (segments)");
  const cs_segments_t *seg = &m->target.seg;
  for (int32_t c = 0; c < k; c++) {
    s->n_users[c] = seg->n_users[c];
    s->n_songs[c] = cs_segments_len(seg, c);
    double share = 0.0;
    int64_t top = s->n_songs[c] < 10 ? s->n_songs[c] : 10;
    for (int64_t i = 0; i < top; i++) share += seg->p[seg->indptr[c] + i];
    s->top10_share[c] = share;
  }
  if (cs_report_pca2(m->target.centroids, k, m->dim, s->xy, s->explained))
    return cs_err_set(err, CS_ENOMEM, "report: out of memory (PCA)");
  s->k = k;
  return 0;
}

/* --- example users ------------------------------------------------------------ */

typedef struct {
  double activity;
  int64_t row;
} act_t;

static int cmp_act(const void *a, const void *b) {
  const act_t *x = a, *y = b;
  if (x->activity != y->activity) return x->activity < y->activity ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

static int in_sorted(const int64_t *a, int64_t n, int64_t v) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && a[lo] == v;
}

static int fill_user(const cs_model_t *m, const cs_split_t *sp, int64_t u,
                     double activity, const float *pred, int strategy,
                     const cs_strategy_params_t *sparams, cs_rec_ws_t *ws,
                     const char *role, cs_report_user_t *out, cs_err_t *err) {
  snprintf(out->role, sizeof out->role, "%s", role);
  out->user_id = sp->user_ids[u];
  out->row = u;
  out->activity = activity;
  const float *feat = sp->features + (size_t)u * m->n_features;
  out->age = feat[CS_N_BLOCKS * m->dim];
  for (int c = 0; c < CS_N_COUNTS; c++)
    out->counts[c] = feat[CS_N_BLOCKS * m->dim + 1 + c];
  snprintf(out->strategy, sizeof out->strategy, "%s", cs_strategy_name(strategy));
  const cs_rec_t *r;
  int rc = cs_recommend(m, strategy, sparams, feat, pred, ws, &r, err);
  if (rc) return rc;
  int64_t n_truth;
  const int64_t *truth = truth_of(sp, u, &n_truth);
  out->items = calloc((size_t)r->n_items + 1, sizeof *out->items);
  out->truth_song_ids = malloc(((size_t)n_truth + 1) * sizeof(int64_t));
  out->truth_hit = calloc((size_t)n_truth + 1, 1);
  if (!out->items || !out->truth_song_ids || !out->truth_hit)
    return cs_err_set(err, CS_ENOMEM, "report: out of memory (users)");
  out->n_members = r->n_members;
  for (int i = 0; i < r->n_members; i++) {
    out->member_cluster[i] = r->member_cluster[i];
    out->member_weight[i] = r->member_weight[i];
    out->member_dist[i] = r->member_dist[i];
  }
  out->n_items = r->n_items;
  for (int i = 0; i < r->n_items; i++) {
    cs_report_item_t *it = &out->items[i];
    it->song_id = m->song_ids[r->songs[i]];
    it->score = r->scores[i];
    it->member_mask = r->item_mask[i];
    it->hit = (uint8_t)in_sorted(truth, n_truth, r->songs[i]);
  }
  out->n_truth = n_truth;
  out->n_hits = 0;
  for (int64_t t = 0; t < n_truth; t++) {
    out->truth_song_ids[t] = m->song_ids[truth[t]];
    for (int i = 0; i < r->n_items; i++)
      if (r->songs[i] == truth[t]) {
        out->truth_hit[t] = 1;
        out->n_hits++;
        break;
      }
  }
  return 0;
}

/* idle: fewest registration-day contributions among users with days-1-30
 * songs; typical: the median; active: the most (ties: lower row; the
 * three are distinct users when the split has three). */
static int build_users(const cs_model_t *m, const cs_split_t *sp,
                       const int64_t *users, int64_t n_eval,
                       const float *pred, const cs_report_params_t *p,
                       cs_report_t *rep, cs_err_t *err) {
  if (n_eval == 0) return 0;
  act_t *a = malloc((size_t)n_eval * sizeof *a);
  if (!a) return cs_err_set(err, CS_ENOMEM, "report: out of memory (users)");
  for (int64_t e = 0; e < n_eval; e++) {
    const float *c = sp->features + (size_t)users[e] * m->n_features +
                     (size_t)CS_N_BLOCKS * m->dim + 1;
    double s = 0.0;
    for (int i = 0; i < CS_N_COUNTS; i++) s += c[i];
    a[e] = (act_t){s, users[e]};
  }
  qsort(a, (size_t)n_eval, sizeof *a, cmp_act);
  int64_t last = n_eval - 1;
  while (last > 0 && a[last - 1].activity == a[last].activity) last--;
  if (last == 0) last = n_eval - 1; /* everyone ties */
  int64_t typical = n_eval / 2;
  while (n_eval >= 3 && (typical == 0 || typical == last))
    typical = (typical + 1) % n_eval;
  int64_t pick[CS_REPORT_N_USERS] = {0, typical, last};
  static const char *const roles[CS_REPORT_N_USERS] = {"idle", "typical",
                                                       "active"};
  cs_strategy_params_t spk = p->sp;
  spk.skip_scores = 0;
  cs_rec_ws_t *ws = NULL;
  int rc = cs_rec_ws_create(&ws, m, &spk, err);
  int n = n_eval < CS_REPORT_N_USERS ? (int)n_eval : CS_REPORT_N_USERS;
  for (int i = 0; i < n && !rc; i++) {
    int64_t at = n_eval < CS_REPORT_N_USERS ? i : pick[i];
    int64_t u = a[at].row;
    rc = fill_user(m, sp, u, a[at].activity,
                   pred ? pred + (size_t)u * m->dim : NULL,
                   p->example_strategy, &spk, ws, roles[i], &rep->users[i],
                   err);
    if (!rc) rep->n_users = i + 1;
  }
  cs_rec_ws_free(ws);
  free(a);
  return rc;
}

/* --- what went in --------------------------------------------------------------- */

static void fill_inputs(const cs_model_t *m, const cs_dataset_t *ds,
                        const cs_report_params_t *p, const cs_ctx_t *ctx,
                        cs_report_t *r) {
  char size[96];
  const char *dpath = p->dataset_path ? p->dataset_path : "(in memory)";
  const char *mpath = p->model_path ? p->model_path : "(in memory)";
  cs_report_kv_add(r, "dataset", "file", "%s", dpath);
  size_text(size, sizeof size, p->dataset_path);
  cs_report_kv_add(r, "dataset", "size", "%s", size);
  cs_report_kv_add(r, "dataset", "source", "%s%s", ds->source,
                   !strcmp(ds->source, "import-deezer")
                       ? " (Deezer's public release)"
                       : !strcmp(ds->source, "prepare")
                             ? " (raw logs: a synthetic world or a service's own)"
                             : "");
  cs_report_kv_add(r, "dataset", "embedding space", "%s, d = %d (%s)", ds->space,
                   ds->dim, !strcmp(ds->space, "svd") ? "TT-SVD" : "UT-ALS");
  cs_report_kv_add(r, "dataset", "features", "%d per user (20 blocks of d, "
                   "age, 18 counts)", ds->n_features);
  cs_report_kv_add(r, "dataset", "songs", "%lld", (long long)ds->n_songs);
  int64_t n_target = 0;
  const cs_split_t *tr = &ds->splits[CS_SPLIT_TRAIN];
  for (int64_t u = 0; tr->has_target && u < tr->n_users; u++)
    n_target += tr->has_target[u] != 0;
  cs_report_kv_add(r, "dataset", "cold users", "train %lld (%lld with a "
                   "target), validation %lld, test %lld",
                   (long long)tr->n_users, (long long)n_target,
                   (long long)ds->splits[CS_SPLIT_VALIDATION].n_users,
                   (long long)ds->splits[CS_SPLIT_TEST].n_users);
  cs_report_kv_add(r, "dataset", "featurizer tables", "%s",
                   ds->has_tables ? "yes (raw events can be featurized)"
                                  : "no (features precomputed)");
  cs_report_kv_add(r, "model", "file", "%s", mpath);
  size_text(size, sizeof size, p->model_path);
  cs_report_kv_add(r, "model", "size", "%s", size);
  cs_report_kv_add(r, "model", "segments (k)", "%d k-means clusters over "
                   "training targets", m->target.k);
  cs_report_kv_add(r, "model", "input clusters (k_input)", "%d", m->input.k);
  cs_report_kv_add(r, "model", "regressor", "%d features -> 400 -> 300 -> 200 "
                   "-> %d, L2-normalized", m->n_features, m->dim);
  cs_report_kv_add(r, "model", "format", "model container v%u",
                   m->file ? m->file->kind_version
                                : (unsigned)CS_MODEL_VERSION);
  cs_report_kv_add(r, "report", "split", "%s", cs_split_name(p->split));
  cs_report_kv_add(r, "report", "list length K", "%d", p->sp.k);
  cs_report_kv_add(r, "report", "soft allocation", "m = %d nearest segments, "
                   "margin %d (T = K + %d slots)", p->sp.soft_m,
                   p->sp.soft_margin, p->sp.soft_margin);
  cs_report_kv_add(r, "report", "NDCG@K curve", "K = 1..%d", r->curves.k_max);
  for (int i = 0; i < r->curves.n_series; i++) {
    if (!r->curves.per_k[i]) continue;
    int n_k = 0;
    for (int k = 0; k < r->curves.k_max; k++) n_k += !isnan(r->curves.ndcg[i][k]);
    cs_report_kv_add(r, "report", "soft curve", "%s (%d of %d K; budget "
                     "%lld recommendations)", n_k == r->curves.k_max
                     ? "recommended again at every K"
                     : "recommended again at K = 1..5, 10, 20, ...", n_k,
                     r->curves.k_max, (long long)p->soft_curve_budget);
  }
  cs_report_kv_add(r, "report", "example users' strategy", "%s",
                   cs_strategy_name(p->example_strategy));
  cs_report_kv_add(r, "report", "threads", "%d", ctx->n_threads);
  cs_report_kv_add(r, "versions", "coldstart", "%s",
                   p->version ? p->version : "unknown");
  cs_report_kv_add(r, "versions", "dataset format", "dataset container v%u",
                   ds->file ? ds->file->kind_version
                                 : (unsigned)CS_DATASET_VERSION);
  cs_report_kv_add(r, "versions", "generated", "%s", r->generated);
}

int cs_report_build(const cs_ctx_t *ctx, const cs_model_t *m,
                    const cs_dataset_t *ds, const cs_report_params_t *p,
                    cs_report_t *r, cs_err_t *err) {
  if (p->split < 0 || p->split >= CS_N_SPLITS)
    return cs_err_set(err, CS_EINVAL, "report: bad split %d", p->split);
  if (p->k_max < 1 || p->k_max > CS_REPORT_KMAX)
    return cs_err_set(err, CS_ERANGE, "report: curve length %d outside [1, %d]",
                      p->k_max, CS_REPORT_KMAX);
  if (p->example_strategy < 0 || p->example_strategy >= CS_N_STRATEGIES)
    return cs_err_set(err, CS_EINVAL, "report: bad strategy %d",
                      p->example_strategy);
  int rc = cs_eval_check_dataset(ctx, m, ds, p->split, 0, err);
  if (rc) return rc;
  if ((rc = cs_strategy_params_check(&p->sp, m, err))) return rc;
  double t_all = cs_now();
  const cs_split_t *sp = &ds->splits[p->split];
  snprintf(r->title, sizeof r->title, "%s on %s",
           p->model_path ? base_name(p->model_path) : "model",
           p->dataset_path ? base_name(p->dataset_path) : "dataset");
  time_t when = (time_t)p->generated_at;
  struct tm tm;
  if (gmtime_r(&when, &tm))
    strftime(r->generated, sizeof r->generated, "%Y-%m-%d %H:%M:%S UTC", &tm);
  snprintf(r->source, sizeof r->source, "%s", ds->source);
  snprintf(r->space, sizeof r->space, "%s", ds->space);
  r->n_counts = CS_N_COUNTS;
  for (int c = 0; c < CS_N_COUNTS; c++)
    snprintf(r->count_names[c], CS_REPORT_NAME_MAX, "%s", cs_feature_counts[c]);

  /* 1. the comparison at K, with spread */
  double t0 = cs_now();
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  ep.sp = p->sp;
  cs_eval_result_t res;
  cs_ctx_t quiet = *ctx; /* its per-strategy lines would interleave ours */
  if (quiet.log_level > CS_LOG_WARN) quiet.log_level = CS_LOG_WARN;
  if ((rc = cs_evaluate(&quiet, m, ds, p->split, &ep, &res, err))) return rc;
  cs_report_eval_t *ev = &r->eval;
  snprintf(ev->split, sizeof ev->split, "%s", cs_split_name(p->split));
  ev->k = res.k;
  ev->n_users = res.n_users;
  ev->n_skipped = res.n_skipped;
  for (int i = 0; i < res.n_rows && i < CS_REPORT_MAX_SERIES; i++) {
    const cs_eval_row_t *w = &res.rows[i];
    cs_report_row_t *o = &ev->rows[ev->n_rows++];
    snprintf(o->strategy, sizeof o->strategy, "%s", cs_strategy_name(w->strategy));
    o->precision = w->precision.mean;
    o->precision_std = w->precision.std;
    o->recall = w->recall.mean;
    o->recall_std = w->recall.std;
    o->ndcg = w->ndcg.mean;
    o->ndcg_std = w->ndcg.std;
    o->seconds = w->seconds;
  }
  cs_report_stage_add(r, "evaluate", cs_now() - t0);

  /* users evaluated (non-empty truth) and their predicted embeddings */
  int64_t n_eval = 0;
  int64_t *users = malloc(((size_t)sp->n_users + 1) * sizeof *users);
  float *pred = cs_alloc_aligned(((size_t)sp->n_users + 1) * m->dim *
                                 sizeof(float));
  if (!users || !pred) {
    rc = cs_err_set(err, CS_ENOMEM, "report: out of memory");
    goto done;
  }
  for (int64_t u = 0; u < sp->n_users; u++)
    if (sp->truth_indptr[u + 1] > sp->truth_indptr[u]) users[n_eval++] = u;
  t0 = cs_now();
  if (sp->n_users > 0 &&
      (rc = cs_regressor_predict(m->regressor, sp->features, sp->n_users, pred,
                                 err)))
    goto done;
  cs_report_stage_add(r, "predict", cs_now() - t0);

  /* 2. NDCG@K, K = 1..k_max */
  t0 = cs_now();
  if ((rc = build_curves(ctx, m, sp, users, n_eval, pred, p, r, err)))
    goto done;
  cs_report_stage_add(r, "curves", cs_now() - t0);

  /* 3. segments */
  t0 = cs_now();
  if ((rc = build_segments(m, &r->segments, err))) goto done;
  cs_report_stage_add(r, "segments", cs_now() - t0);

  /* 4. the regressor's history */
  if ((rc = fill_history(m, r, err))) goto done;

  /* 5. example users */
  t0 = cs_now();
  if ((rc = build_users(m, sp, users, n_eval, pred, p, r, err))) goto done;
  cs_report_stage_add(r, "examples", cs_now() - t0);

  fill_inputs(m, ds, p, ctx, r);
  cs_report_stage_add(r, "report data", cs_now() - t_all);
done:
  free(users);
  free(pred);
  return rc;
}

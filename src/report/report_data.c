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

#define CURVE_CHUNK 1024    /* users per parallel step (progress granularity) */
#define DOT_BLOCK_FLOATS (8 << 20) /* score buffer of the dot strategies */

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
 * The model file does not store the regressor's per-epoch losses yet (the
 * training code is being split out; it will add a history section). Until
 * then the report states it plainly instead of plotting anything. Wire the
 * history here: fill h->n_epochs, h->train_mse, h->val_mse, h->best_epoch
 * and the training parameters / stage timings as kv rows ("training"). */
static int fill_history(const cs_model_t *m, cs_report_t *r, cs_err_t *err) {
  (void)m;
  (void)err;
  r->history.n_epochs = 0;
  return 0;
}

/* --- NDCG@K curves ---------------------------------------------------------- */

typedef struct {
  const cs_model_t *m;
  const cs_split_t *sp;
  const int64_t *users; /* split rows evaluated */
  const float *pred;    /* [split users x dim] */
  int strategy, k_max;
  const int *soft_ks;       /* K values soft is recommended at, ascending */
  int n_soft_ks;
  cs_strategy_params_t spk; /* k = k_max */
  cs_rec_ws_t **ws;         /* per thread */
  double *out;              /* [n_eval x k_max] per-user NDCG@K */
  int64_t first;            /* offset of the current chunk / block */
  /* dot strategies: scores of the current block [rows x n_songs] */
  const float *scores;
  const uint8_t *zero; /* d0 rows with an empty streamed_songs block */
  int64_t **top;       /* per thread [k_max] */
  int32_t **list;      /* per thread [k_max] */
  int *thread_rc;
} curve_job_t;

static const int64_t *truth_of(const cs_split_t *sp, int64_t u, int64_t *n) {
  *n = sp->truth_indptr[u + 1] - sp->truth_indptr[u];
  return sp->truth_indices + sp->truth_indptr[u];
}

/* Users [first + begin, first + end) through cs_recommend. Prefix
 * strategies: one list of k_max songs, every K from it. soft: the list at
 * K is not a prefix of the list at K' (its slots T = K + margin are split
 * by weight), so it is recommended again at every K. */
static void curve_users(void *arg, int64_t begin, int64_t end, int tid) {
  curve_job_t *j = arg;
  const cs_model_t *m = j->m;
  for (int64_t e = j->first + begin; e < j->first + end; e++) {
    int64_t u = j->users[e], n_truth;
    const int64_t *truth = truth_of(j->sp, u, &n_truth);
    const float *feat = j->sp->features + (size_t)u * m->n_features;
    const float *pred = j->pred ? j->pred + (size_t)u * m->dim : NULL;
    double *out = j->out + (size_t)e * j->k_max;
    const cs_rec_t *r;
    if (j->strategy != CS_STRAT_SOFT) {
      int rc = cs_recommend(m, j->strategy, &j->spk, feat, pred, j->ws[tid],
                            &r, NULL);
      if (rc) {
        j->thread_rc[tid] = rc;
        return;
      }
      cs_report_ndcg_prefix(r->songs, r->n_items, j->k_max, truth, n_truth,
                            out);
      continue;
    }
    cs_strategy_params_t pk = j->spk;
    for (int k = 0; k < j->k_max; k++) out[k] = NAN;
    for (int i = 0; i < j->n_soft_ks; i++) {
      int k = j->soft_ks[i];
      pk.k = k;
      int rc = cs_recommend(m, CS_STRAT_SOFT, &pk, feat, pred, j->ws[tid], &r,
                            NULL);
      if (rc) {
        j->thread_rc[tid] = rc;
        return;
      }
      cs_user_metrics_t um;
      cs_metrics_user(r->songs, r->n_items, k, truth, n_truth, &um);
      out[k - 1] = um.ndcg;
    }
  }
}

/* Rows [begin, end) of a scored block (full, d0-streams): top k_max by
 * dot product (cs_topk: ties to the lower row, as cs_recommend), or
 * popularity for a d0 user without streams (as cs_recommend). */
static void curve_block_rows(void *arg, int64_t begin, int64_t end, int tid) {
  curve_job_t *j = arg;
  const cs_model_t *m = j->m;
  for (int64_t row = begin; row < end; row++) {
    int64_t e = j->first + row, u = j->users[e], n_truth;
    const int64_t *truth = truth_of(j->sp, u, &n_truth);
    double *out = j->out + (size_t)e * j->k_max;
    if (j->zero && j->zero[row]) {
      const cs_rec_t *r;
      int rc = cs_recommend(m, CS_STRAT_POPULARITY, &j->spk, NULL, NULL,
                            j->ws[tid], &r, NULL);
      if (rc) {
        j->thread_rc[tid] = rc;
        return;
      }
      cs_report_ndcg_prefix(r->songs, r->n_items, j->k_max, truth, n_truth,
                            out);
      continue;
    }
    int64_t n = cs_topk(j->scores + (size_t)row * m->n_songs, m->n_songs,
                        j->k_max, NULL, j->top[tid], NULL);
    for (int64_t i = 0; i < n; i++) j->list[tid][i] = (int32_t)j->top[tid][i];
    cs_report_ndcg_prefix(j->list[tid], (int)n, j->k_max, truth, n_truth, out);
  }
}

static int check_threads(const curve_job_t *j, int n_threads, cs_err_t *err) {
  for (int t = 0; t < n_threads; t++)
    if (j->thread_rc[t])
      return cs_err_set(err, j->thread_rc[t], "report: %s recommendation "
                        "failed", cs_strategy_name(j->strategy));
  return 0;
}

/* full and d0-streams: one GEMM per block of users against every song
 * (the per-user gemv of cs_recommend would read the song table once per
 * user), then top k_max per row in parallel. */
static int curve_dot(const cs_ctx_t *ctx, curve_job_t *j, int64_t n_eval,
                     float *scores, float *vec, uint8_t *zero, int64_t block,
                     cs_progress_t *prog, int64_t *done, cs_err_t *err) {
  const cs_model_t *m = j->m;
  int d0 = j->strategy == CS_STRAT_D0_STREAMS;
  int n_threads = ctx->n_threads > 0 ? ctx->n_threads : 1;
  j->scores = scores;
  j->zero = d0 ? zero : NULL;
  for (int64_t b = 0; b < n_eval; b += block) {
    int64_t rows = n_eval - b < block ? n_eval - b : block;
    for (int64_t r = 0; r < rows; r++) {
      int64_t u = j->users[b + r];
      const float *v = d0 ? j->sp->features + (size_t)u * m->n_features +
                                (size_t)CS_D0_STREAMS_BLOCK * m->dim
                          : j->pred + (size_t)u * m->dim;
      memcpy(vec + (size_t)r * m->dim, v, (size_t)m->dim * sizeof(float));
      int nonzero = !d0;
      for (int i = 0; i < m->dim && !nonzero; i++) nonzero = v[i] != 0.0f;
      zero[r] = (uint8_t)!nonzero;
    }
    cs_gemm(CS_NOTRANS, CS_TRANS, rows, m->n_songs, m->dim, 1.0f, vec, m->dim,
            m->song_emb, m->dim, 0.0f, scores, m->n_songs);
    j->first = b;
    cs_parallel_for(n_threads, rows, curve_block_rows, j);
    int rc = check_threads(j, n_threads, err);
    if (rc) return rc;
    *done += rows;
    cs_progress_update(prog, *done);
  }
  return 0;
}

static int build_curves(const cs_ctx_t *ctx, const cs_model_t *m,
                        const cs_split_t *sp, const int64_t *users,
                        int64_t n_eval, const float *pred,
                        const cs_report_params_t *p, cs_report_t *rep,
                        cs_err_t *err) {
  cs_report_curves_t *c = &rep->curves;
  int k_max = p->k_max;
  if (k_max > m->n_songs) k_max = (int)m->n_songs;
  int n_threads = ctx->n_threads > 0 ? ctx->n_threads : 1;
  int64_t block = DOT_BLOCK_FLOATS / (m->n_songs > 0 ? m->n_songs : 1);
  if (block < 16) block = 16;
  if (block > 512) block = 512;
  curve_job_t j = {.m = m, .sp = sp, .users = users, .pred = pred,
                   .k_max = k_max};
  j.spk = p->sp;
  j.spk.k = k_max;
  j.spk.skip_scores = 1;
  int soft_ks[CS_REPORT_KMAX], n_soft_ks = 0;
  int every_k = (double)n_eval * k_max <= (double)p->soft_curve_budget;
  for (int k = 1; k <= k_max; k++)
    if (every_k || k <= 5 || k % 10 == 0 || k == k_max)
      soft_ks[n_soft_ks++] = k;
  j.soft_ks = soft_ks;
  j.n_soft_ks = n_soft_ks;
  double *out = malloc(((size_t)n_eval * k_max + 1) * sizeof *out);
  double *col = malloc(((size_t)n_eval + 1) * sizeof *col);
  float *scores = cs_alloc_aligned((size_t)block * m->n_songs * sizeof(float));
  float *vec = cs_alloc_aligned((size_t)block * m->dim * sizeof(float));
  uint8_t *zero = malloc((size_t)block);
  j.ws = calloc((size_t)n_threads, sizeof *j.ws);
  j.top = calloc((size_t)n_threads, sizeof *j.top);
  j.list = calloc((size_t)n_threads, sizeof *j.list);
  j.thread_rc = calloc((size_t)n_threads, sizeof *j.thread_rc);
  int rc = 0;
  if (!out || !col || !scores || !vec || !zero || !j.ws || !j.top || !j.list ||
      !j.thread_rc)
    rc = cs_err_set(err, CS_ENOMEM, "report: out of memory (curves)");
  for (int t = 0; t < n_threads && !rc; t++) {
    rc = cs_rec_ws_create(&j.ws[t], m, &j.spk, err);
    j.top[t] = malloc((size_t)k_max * sizeof(int64_t));
    j.list[t] = malloc((size_t)k_max * sizeof(int32_t));
    if (!rc && (!j.top[t] || !j.list[t]))
      rc = cs_err_set(err, CS_ENOMEM, "report: out of memory (curves)");
  }
  j.out = out;
  cs_progress_t prog;
  int64_t done = 0;
  if (!rc)
    cs_progress_start(&prog, ctx, "report: NDCG@K curves",
                      n_eval * CS_N_STRATEGIES);
  for (int s = 0; s < CS_N_STRATEGIES && !rc; s++) {
    double t0 = cs_now();
    j.strategy = s;
    memset(j.thread_rc, 0, (size_t)n_threads * sizeof *j.thread_rc);
    if (s == CS_STRAT_FULL || s == CS_STRAT_D0_STREAMS) {
      rc = curve_dot(ctx, &j, n_eval, scores, vec, zero, block, &prog, &done,
                     err);
    } else {
      for (int64_t b = 0; b < n_eval && !rc; b += CURVE_CHUNK) {
        int64_t rows = n_eval - b < CURVE_CHUNK ? n_eval - b : CURVE_CHUNK;
        j.first = b;
        cs_parallel_for(n_threads, rows, curve_users, &j);
        rc = check_threads(&j, n_threads, err);
        done += rows;
        cs_progress_update(&prog, done);
      }
    }
    if (rc) break;
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
  for (int t = 0; t < n_threads; t++) {
    if (j.ws) cs_rec_ws_free(j.ws[t]);
    if (j.top) free(j.top[t]);
    if (j.list) free(j.list[t]);
  }
  free(j.ws);
  free(j.top);
  free(j.list);
  free(j.thread_rc);
  free(out);
  free(col);
  free(scores);
  free(vec);
  free(zero);
  return rc;
}

/* --- segments --------------------------------------------------------------- */

static int build_segments(const cs_model_t *m, cs_report_segments_t *s,
                          cs_err_t *err) {
  int32_t k = m->k;
  s->n_users = malloc((size_t)k * sizeof *s->n_users);
  s->n_songs = malloc((size_t)k * sizeof *s->n_songs);
  s->top10_share = malloc((size_t)k * sizeof *s->top10_share);
  s->xy = malloc((size_t)k * 2 * sizeof *s->xy);
  if (!s->n_users || !s->n_songs || !s->top10_share || !s->xy)
    return cs_err_set(err, CS_ENOMEM, "report: out of memory (segments)");
  const cs_segments_t *seg = &m->segments;
  for (int32_t c = 0; c < k; c++) {
    s->n_users[c] = seg->n_users[c];
    s->n_songs[c] = cs_segments_len(seg, c);
    double share = 0.0;
    int64_t top = s->n_songs[c] < 10 ? s->n_songs[c] : 10;
    for (int64_t i = 0; i < top; i++) share += seg->p[seg->indptr[c] + i];
    s->top10_share[c] = share;
  }
  if (cs_report_pca2(m->centroids, k, m->dim, s->xy, s->explained))
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
                   ds->featurizer ? "yes (raw events can be featurized)"
                                  : "no (features precomputed)");
  cs_report_kv_add(r, "model", "file", "%s", mpath);
  size_text(size, sizeof size, p->model_path);
  cs_report_kv_add(r, "model", "size", "%s", size);
  cs_report_kv_add(r, "model", "segments (k)", "%d k-means clusters over "
                   "training targets", m->k);
  cs_report_kv_add(r, "model", "input clusters (k_input)", "%d", m->k_input);
  cs_report_kv_add(r, "model", "regressor", "%d features -> 400 -> 300 -> 200 "
                   "-> %d, L2-normalized", m->n_features, m->dim);
  cs_report_kv_add(r, "model", "format", "model container v%u",
                   m->container ? m->container->kind_version
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
                   ds->container ? ds->container->kind_version
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
  int rc = cs_model_check_dataset(m, ds, err);
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

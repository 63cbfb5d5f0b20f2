/* strategy.c: the strategies (docs/method.md, "Strategies") for one user at
 * a time, including the soft allocation, over a reusable per-thread
 * workspace (no allocation per request). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/centroids.h"
#include "coldstart/layout.h"
#include "coldstart/mat.h"
#include "coldstart/strategy.h"
#include "coldstart/topk.h"
#include "recommend/mix.h"

static const char *const names[CS_N_STRATEGIES] = {
    "popularity", "d0-streams", "input-clusters", "full", "semi", "soft",
    "mix", "blend"};

const char *cs_strategy_name(int id) {
  return id >= 0 && id < CS_N_STRATEGIES ? names[id] : "unknown";
}

int cs_strategy_parse(const char *name) {
  for (int i = 0; i < CS_N_STRATEGIES; i++)
    if (name && strcmp(name, names[i]) == 0) return i;
  return -1;
}

int cs_strategy_needs_embedding(int id) {
  return id == CS_STRAT_FULL || id == CS_STRAT_SEMI || id == CS_STRAT_SOFT ||
         id == CS_STRAT_MIX || id == CS_STRAT_BLEND;
}

void cs_strategy_params_default(cs_strategy_params_t *p) {
  memset(p, 0, sizeof *p);
  p->k = 50;
  p->soft_m = 5;
  p->soft_margin = 4;
  p->skip_scores = 0;
  p->mix_m = 32;
  p->mix_tau = 0.1f;
  p->mix_size = 1.0f;
  p->mix_prior = 0.05f;
  p->blend_beta = 1.0f;
  p->blend_d0 = 0.3f;
}

int cs_strategy_params_check(const cs_strategy_params_t *p,
                             const cs_model_t *m, cs_err_t *err) {
  if (p->k < 1 || p->k > m->n_songs)
    return cs_err_set(err, CS_ERANGE, "k = %d: must be in [1, %lld] (songs)",
                      p->k, (long long)m->n_songs);
  int k = m->target.k;
  if (p->soft_m < 1 || p->soft_m > CS_SOFT_M_MAX || p->soft_m > k)
    return cs_err_set(err, CS_ERANGE,
                      "soft m = %d: must be in [1, %d] (clusters, max %d)",
                      p->soft_m, k < CS_SOFT_M_MAX ? k : CS_SOFT_M_MAX,
                      CS_SOFT_M_MAX);
  if (p->soft_margin < 0 || p->soft_margin > 1000000)
    return cs_err_set(err, CS_ERANGE, "soft margin = %d: must be >= 0",
                      p->soft_margin);
  return cs__mix_params_check(p, err);
}

/* --- workspace ---------------------------------------------------------- */

struct cs_rec_ws {
  cs__mix_ws_t *mix; /* mix and blend (mix.c) */
  int cap_items, cap_m;
  int64_t n_songs;
  float *pred;      /* [dim] */
  float *xnorm;     /* [n_features] */
  float *dots;      /* [n_songs] */
  float *acc;       /* [n_songs] soft mixture scores, zero between uses */
  uint32_t *accmask;/* [n_songs] clusters with p_j(s) > 0 */
  int32_t *touched; /* [n_songs] */
  uint32_t *stamp;  /* [n_songs] song taken when == epoch */
  int32_t *pos;     /* [n_songs] item position of a taken song */
  uint32_t epoch;
  int64_t *top_idx; /* [cap_items] */
  float *top_score; /* [cap_items] */
  int32_t *fill_song; /* [cap_items] */
  float *fill_score;  /* [cap_items] */
  uint32_t *fill_mask; /* [cap_items] */
  uint32_t *seen;     /* [n_songs] threshold fill: seen when == seen_epoch */
  uint32_t seen_epoch;
  /* mixture_many: each song's own list and p there, and the lookups */
  int *own_j;          /* [cap_items] */
  float *own_p;        /* [cap_items] */
  int32_t *pair_c, *pair_s; /* [cap_items x CS_SOFT_M_MAX] */
  int64_t *pair_pos;
  float *pair_p;
  cs_rec_t rec;
};

cs__mix_ws_t *cs__rec_ws_mix(cs_rec_ws_t *ws) { return ws->mix; }

void cs_rec_ws_free(cs_rec_ws_t *ws) {
  if (!ws) return;
  cs__mix_ws_free(ws->mix);
  free(ws->pred);
  free(ws->xnorm);
  free(ws->dots);
  free(ws->acc);
  free(ws->accmask);
  free(ws->touched);
  free(ws->stamp);
  free(ws->pos);
  free(ws->top_idx);
  free(ws->top_score);
  free(ws->fill_song);
  free(ws->fill_score);
  free(ws->fill_mask);
  free(ws->seen);
  free(ws->own_j);
  free(ws->own_p);
  free(ws->pair_c);
  free(ws->pair_s);
  free(ws->pair_pos);
  free(ws->pair_p);
  free(ws->rec.songs);
  free(ws->rec.scores);
  free(ws->rec.item_mask);
  free(ws->rec.member_cluster);
  free(ws->rec.member_weight);
  free(ws->rec.member_dist);
  free(ws);
}

int cs_rec_ws_create(cs_rec_ws_t **out, const cs_model_t *m,
                     const cs_strategy_params_t *p, cs_err_t *err) {
  *out = NULL;
  int rc = cs_strategy_params_check(p, m, err);
  if (rc) return rc;
  cs_rec_ws_t *ws = calloc(1, sizeof *ws);
  if (!ws) return cs_err_set(err, CS_ENOMEM, "recommend workspace");
  size_t ns = (size_t)m->n_songs;
  ws->n_songs = m->n_songs;
  ws->cap_items = p->k + p->soft_margin;
  ws->cap_m = p->soft_m;
  size_t ci = (size_t)ws->cap_items, cm = CS_SOFT_M_MAX;
  ws->pred = cs_alloc_aligned((size_t)m->dim * sizeof(float) + 64);
  ws->xnorm = cs_alloc_aligned((size_t)m->n_features * sizeof(float) + 64);
  ws->dots = cs_alloc_aligned(ns * sizeof(float) + 64);
  ws->acc = calloc(ns, sizeof(float));
  ws->accmask = calloc(ns, sizeof(uint32_t));
  ws->touched = malloc(ns * sizeof(int32_t));
  ws->stamp = calloc(ns, sizeof(uint32_t));
  ws->pos = malloc(ns * sizeof(int32_t));
  ws->top_idx = malloc(ci * sizeof(int64_t));
  ws->top_score = malloc(ci * sizeof(float));
  ws->fill_song = malloc(ci * sizeof(int32_t));
  ws->fill_score = malloc(ci * sizeof(float));
  ws->fill_mask = malloc(ci * sizeof(uint32_t));
  ws->seen = calloc(ns, sizeof(uint32_t));
  size_t cp = (ci > cm ? ci : cm) * cm;
  ws->own_j = malloc((ci > cm ? ci : cm) * sizeof(int));
  ws->own_p = malloc((ci > cm ? ci : cm) * sizeof(float));
  ws->pair_c = malloc(cp * sizeof(int32_t));
  ws->pair_s = malloc(cp * sizeof(int32_t));
  ws->pair_pos = malloc(cp * sizeof(int64_t));
  ws->pair_p = malloc(cp * sizeof(float));
  ws->rec.songs = malloc(ci * sizeof(int32_t));
  ws->rec.scores = malloc(ci * sizeof(float));
  ws->rec.item_mask = malloc(ci * sizeof(uint32_t));
  ws->rec.member_cluster = malloc(cm * sizeof(int32_t));
  ws->rec.member_weight = malloc(cm * sizeof(float));
  ws->rec.member_dist = malloc(cm * sizeof(float));
  if (!ws->pred || !ws->xnorm || !ws->dots || !ws->acc || !ws->accmask ||
      !ws->touched || !ws->stamp || !ws->pos || !ws->top_idx ||
      !ws->top_score || !ws->fill_song || !ws->fill_score || !ws->fill_mask ||
      !ws->seen || !ws->own_j || !ws->own_p || !ws->pair_c || !ws->pair_s ||
      !ws->pair_pos || !ws->pair_p || !ws->rec.songs ||
      !ws->rec.scores || !ws->rec.item_mask || !ws->rec.member_cluster ||
      !ws->rec.member_weight || !ws->rec.member_dist ||
      cs__mix_ws_create(&ws->mix, m, ws->cap_items) != 0) {
    cs_rec_ws_free(ws);
    return cs_err_set(err, CS_ENOMEM, "recommend workspace (%lld songs)",
                      (long long)m->n_songs);
  }
  ws->epoch = 0;
  *out = ws;
  return 0;
}

const float *cs_d0_streams_vector(const cs_model_t *m, const float *features) {
  const float *block =
      features + (size_t)cs_feature_streamed_songs_block() * m->dim;
  for (int i = 0; i < m->dim; i++)
    if (block[i] != 0.0f) return block;
  return NULL;
}

static uint32_t next_epoch(cs_rec_ws_t *ws) {
  if (++ws->epoch == 0) {
    memset(ws->stamp, 0, (size_t)ws->n_songs * sizeof(uint32_t));
    ws->epoch = 1;
  }
  return ws->epoch;
}

/* --- building blocks ---------------------------------------------------- */

void cs_soft_slots(const double *w, int m, int total, int *a) {
  double frac[CS_SOFT_M_MAX] = {0};
  int used = 0;
  for (int j = 0; j < m; j++) {
    double x = w[j] * (double)total;
    if (!(x >= 0.0)) x = 0.0; /* NaN or negative weight: no slots */
    if (x > (double)total) x = (double)total;
    double f = floor(x);
    a[j] = (int)f;
    frac[j] = x - f;
    used += a[j];
  }
  /* Leftover slots: largest fractional part first, ties to lower j. */
  for (int left = total - used; left > 0; left--) {
    int best = -1;
    for (int j = 0; j < m; j++)
      if (frac[j] >= 0.0 && (best < 0 || frac[j] > frac[best])) best = j;
    if (best < 0) break;
    a[best]++;
    frac[best] = -1.0;
  }
}

/* A segment's top K (full ranking over all songs). */
static void rec_segment(const cs_segments_t *seg, int32_t c, int k,
                        cs_rec_ws_t *ws, cs_rec_t *r, int with_member) {
  uint32_t e = next_epoch(ws);
  r->n_items = (int)cs_segments_take(seg, c, k, ws->stamp, e, r->songs,
                                     r->scores);
  for (int i = 0; i < r->n_items; i++) r->item_mask[i] = with_member ? 1u : 0u;
}

/* Top K songs by dot product of `v` with the song embeddings. */
static void rec_dot(const cs_model_t *m, const float *v, int k,
                    cs_rec_ws_t *ws, cs_rec_t *r) {
  cs_gemv(CS_NOTRANS, m->n_songs, m->dim, 1.0f, m->song_emb, m->dim, v, 0.0f,
          ws->dots);
  int64_t n = cs_topk(ws->dots, m->n_songs, k, NULL, ws->top_idx,
                      ws->top_score);
  r->n_items = (int)n;
  for (int64_t i = 0; i < n; i++) {
    r->songs[i] = (int32_t)ws->top_idx[i];
    r->scores[i] = ws->top_score[i];
    r->item_mask[i] = 0;
  }
}

/* acc[s] = sum_j w_j p_j(s) and accmask[s] = {j : p_j(s) > 0} over the
 * union of the m lists (exact: lists are untruncated); returns the number
 * of songs touched (listed in ws->touched, reset by the caller). */
static int64_t accumulate_mixture(const cs_segments_t *seg, const cs_rec_t *r,
                                  const double *w, int n_m, cs_rec_ws_t *ws) {
  int64_t n_touched = 0;
  for (int j = 0; j < n_m; j++) {
    int32_t c = r->member_cluster[j];
    for (int64_t i = seg->indptr[c]; i < seg->indptr[c + 1]; i++) {
      int32_t s = seg->songs[i];
      if (ws->accmask[s] == 0) ws->touched[n_touched++] = s;
      ws->acc[s] += (float)(w[j] * (double)seg->p[i]);
      ws->accmask[s] |= 1u << j;
    }
  }
  return n_touched;
}

/* Exact mixture scores of n songs (the same float operations, in the same
 * order, as accumulate_mixture) and the memberships that have each. Song i
 * came from list own_j[i], whose entry own_p[i] is its p there: no lookup
 * for that one (own_j[i] = -1: none known). The other lookups go to
 * cs_segments_p_many all together, so their cache misses overlap. n is at
 * most max(cap_items, CS_SOFT_M_MAX). */
static void mixture_many(const cs_segments_t *seg, const cs_rec_t *r,
                         const double *w, int n_m, int n, const int32_t *songs,
                         const int *own_j, const float *own_p, float *score,
                         uint32_t *mask, cs_rec_ws_t *ws) {
  int64_t np = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n_m; j++)
      if (j != own_j[i]) {
        ws->pair_c[np] = r->member_cluster[j];
        ws->pair_s[np++] = songs[i];
      }
  cs_segments_p_many(seg, ws->pair_c, ws->pair_s, np, ws->pair_pos, ws->pair_p);
  np = 0;
  for (int i = 0; i < n; i++) {
    float sum = 0.0f;
    uint32_t mk = 0;
    for (int j = 0; j < n_m; j++) {
      float pj = j == own_j[i] ? own_p[i] : ws->pair_p[np++];
      if (pj > 0.0f) {
        sum += (float)(w[j] * (double)pj);
        mk |= 1u << j;
      }
    }
    score[i] = sum;
    if (mask) mask[i] = mk;
  }
}

/* Keep the best `need` (score desc, song asc) in ws->fill_*. */
static void fill_insert(cs_rec_ws_t *ws, int need, int *n_fill, float sc,
                        int32_t s, uint32_t mask) {
  int n = *n_fill;
  if (n == need && !(sc > ws->fill_score[n - 1] ||
                     (sc == ws->fill_score[n - 1] && s < ws->fill_song[n - 1])))
    return;
  int i = n < need ? n++ : need - 1;
  while (i > 0 && (sc > ws->fill_score[i - 1] ||
                   (sc == ws->fill_score[i - 1] && s < ws->fill_song[i - 1]))) {
    ws->fill_score[i] = ws->fill_score[i - 1];
    ws->fill_song[i] = ws->fill_song[i - 1];
    ws->fill_mask[i] = ws->fill_mask[i - 1];
    i--;
  }
  ws->fill_score[i] = sc;
  ws->fill_song[i] = s;
  ws->fill_mask[i] = mask;
  *n_fill = n;
}

/* Reference fill: over the accumulated mixture of every listed song. */
static int fill_accumulated(int64_t n_touched, int need, uint32_t e,
                            cs_rec_ws_t *ws) {
  int n_fill = 0;
  for (int64_t t = 0; t < n_touched; t++) {
    int32_t s = ws->touched[t];
    if (ws->stamp[s] != e)
      fill_insert(ws, need, &n_fill, ws->acc[s], s, ws->accmask[s]);
  }
  return n_fill;
}

/* Fast fill (threshold algorithm): walk the m rankings depth by depth,
 * scoring each newly seen song exactly (binary-search lookups); an unseen
 * song scores at most sum_j w_j p_j(depth) over the lists not exhausted,
 * so once the need-th best beats that bound (with a margin above float
 * rounding) nothing unseen can enter. Same result as fill_accumulated. */
static int fill_threshold(const cs_segments_t *seg, const cs_rec_t *r,
                          const double *w, int n_m, int need, uint32_t e,
                          cs_rec_ws_t *ws) {
  if (++ws->seen_epoch == 0) {
    memset(ws->seen, 0, (size_t)ws->n_songs * sizeof(uint32_t));
    ws->seen_epoch = 1;
  }
  uint32_t es = ws->seen_epoch;
  int n_fill = 0;
  for (int64_t depth = 0;; depth++) {
    int active = 0, n_new = 0, new_j[CS_SOFT_M_MAX];
    int32_t new_s[CS_SOFT_M_MAX];
    float new_p[CS_SOFT_M_MAX], new_score[CS_SOFT_M_MAX];
    uint32_t new_mask[CS_SOFT_M_MAX];
    double bound = 0.0;
    for (int j = 0; j < n_m; j++) {
      int32_t c = r->member_cluster[j];
      if (depth >= cs_segments_len(seg, c)) continue;
      active = 1;
      int64_t at = seg->indptr[c] + depth;
      bound += w[j] * (double)seg->p[at];
      int32_t s = seg->songs[at];
      if (ws->stamp[s] == e || ws->seen[s] == es) continue;
      ws->seen[s] = es;
      new_s[n_new] = s;
      new_p[n_new] = seg->p[at];
      new_j[n_new++] = j;
    }
    if (n_new > 0)
      mixture_many(seg, r, w, n_m, n_new, new_s, new_j, new_p, new_score, new_mask, ws);
    for (int i = 0; i < n_new; i++)
      fill_insert(ws, need, &n_fill, new_score[i], new_s[i], new_mask[i]);
    if (!active) break;
    if (n_fill == need &&
        (double)ws->fill_score[need - 1] > bound * (1.0 + 1e-5))
      break;
  }
  return n_fill;
}

/* Soft allocation (docs/method.md, "soft"). `pred`: predicted embedding. */
static void rec_soft(const cs_model_t *m, const cs_strategy_params_t *p,
                     const float *pred, cs_rec_ws_t *ws, cs_rec_t *r) {
  const cs_segments_t *seg = &m->target.seg;
  int n_m = p->soft_m, k = p->k, total = p->k + p->soft_margin;
  cs_centroids_nearest(m->target.centroids, m->target.k, m->dim, pred, n_m,
                       r->member_cluster, r->member_dist);
  r->n_members = n_m;
  double w[CS_SOFT_M_MAX] = {0}, wsum = 0.0;
  for (int j = 0; j < n_m; j++) {
    w[j] = 1.0 / ((double)r->member_dist[j] + 1e-10);
    wsum += w[j];
  }
  for (int j = 0; j < n_m; j++) {
    w[j] /= wsum;
    r->member_weight[j] = (float)w[j];
  }
  int a[CS_SOFT_M_MAX];
  cs_soft_slots(w, n_m, total, a);

  /* Candidates: top a_j of cluster j in order j = 1..m, first occurrence
   * kept; a later duplicate only adds its cluster to the item. Only songs
   * with p_j > 0 are candidates: a cluster listing fewer than a_j songs
   * leaves the rest of its slots to the fill, which ranks by the mixture
   * (not to its p = 0 songs in row order; docs/method.md, step 4). */
  uint32_t e = next_epoch(ws);
  int n = 0;
  for (int j = 0; j < n_m; j++) {
    int32_t c = r->member_cluster[j];
    int64_t end = seg->indptr[c] + a[j];
    if (end > seg->indptr[c + 1]) end = seg->indptr[c + 1];
    for (int64_t i = seg->indptr[c]; i < end; i++) {
      int32_t s = seg->songs[i];
      if (ws->stamp[s] == e) {
        r->item_mask[ws->pos[s]] |= 1u << j;
        continue;
      }
      ws->stamp[s] = e;
      ws->pos[s] = n;
      r->songs[n] = s;
      r->item_mask[n] = 1u << j;
      ws->own_j[n] = j;
      ws->own_p[n] = seg->p[i];
      n++;
    }
  }
  if (n > k) n = k;

  /* Fill: the best remaining songs by mixture score sum_j w_j p_j(s)
   * (desc, then song row asc), then zero-score songs by row. */
  int need = k - n, n_fill = 0;
  int64_t n_touched = 0;
  if (seg->by_song) {
    if (need > 0) n_fill = fill_threshold(seg, r, w, n_m, need, e, ws);
  } else if (need > 0 || !p->skip_scores) {
    n_touched = accumulate_mixture(seg, r, w, n_m, ws);
    if (need > 0) n_fill = fill_accumulated(n_touched, need, e, ws);
  }
  /* scores: the candidates' mixture; the fill's was computed choosing it
   * (the same function); the zero-score tail is in no list */
  if (p->skip_scores)
    for (int i = 0; i < n; i++) r->scores[i] = 0.0f;
  else if (seg->by_song)
    mixture_many(seg, r, w, n_m, n, r->songs, ws->own_j, ws->own_p, r->scores, NULL, ws);
  else
    for (int i = 0; i < n; i++) r->scores[i] = ws->acc[r->songs[i]];
  for (int i = 0; i < n_fill; i++) {
    int32_t s = ws->fill_song[i];
    ws->stamp[s] = e;
    r->songs[n] = s;
    r->item_mask[n] = ws->fill_mask[i];
    r->scores[n] = p->skip_scores ? 0.0f : ws->fill_score[i];
    n++;
  }
  for (int32_t s = 0; n < k && s < m->n_songs; s++) {
    if (ws->stamp[s] == e) continue;
    ws->stamp[s] = e;
    r->songs[n] = s;
    r->item_mask[n] = 0;
    r->scores[n] = 0.0f;
    n++;
  }
  r->n_items = n;
  for (int64_t t = 0; t < n_touched; t++) {
    ws->acc[ws->touched[t]] = 0.0f;
    ws->accmask[ws->touched[t]] = 0;
  }
}

int cs_recommend(const cs_model_t *m, int strategy,
                 const cs_strategy_params_t *p, const float *features,
                 const float *pred, cs_rec_ws_t *ws, const cs_rec_t **out,
                 cs_err_t *err) {
  cs_rec_t *r = &ws->rec;
  r->strategy = strategy;
  r->n_items = 0;
  r->n_members = 0;
  if (p->k < 1 || p->soft_margin < 0)
    return cs_err_set(err, CS_EINVAL, "recommend: k=%d, margin=%d: need "
                      "k >= 1 and margin >= 0", p->k, p->soft_margin);
  if (p->k > ws->cap_items || p->k + p->soft_margin > ws->cap_items ||
      p->soft_m > ws->cap_m)
    return cs_err_set(err, CS_EINVAL, "recommend: params exceed the "
                      "workspace (k=%d, margin=%d, m=%d)", p->k,
                      p->soft_margin, p->soft_m);
  if (cs_strategy_needs_embedding(strategy) && !pred) {
    if (!m->regressor)
      return cs_err_set(err, CS_ESTATE, "recommend: model has no regressor");
    int rc = cs_regressor_predict(m->regressor, features, 1, ws->pred, err);
    if (rc) return rc;
    pred = ws->pred;
  }
  /* features far outside what the model was trained on can overflow the
   * layers: a non-finite embedding has no nearest segment */
  if (cs_strategy_needs_embedding(strategy))
    for (int i = 0; i < m->dim; i++)
      if (!isfinite(pred[i]))
        return cs_err_set(err, CS_ERANGE, "recommend: the predicted embedding "
                          "is not finite (component %d); the features are "
                          "out of the model's range", i);
  switch (strategy) {
  case CS_STRAT_POPULARITY:
    rec_segment(&m->popularity.seg, 0, p->k, ws, r, 0);
    break;
  case CS_STRAT_D0_STREAMS: {
    const float *block = cs_d0_streams_vector(m, features);
    if (block)
      rec_dot(m, block, p->k, ws, r);
    else
      rec_segment(&m->popularity.seg, 0, p->k, ws, r, 0);
    break;
  }
  case CS_STRAT_INPUT_CLUSTERS: {
    memcpy(ws->xnorm, features, (size_t)m->n_features * sizeof(float));
    cs_normalize(m->n_features, ws->xnorm);
    cs_centroids_nearest(m->input.centroids, m->input.k, m->n_features,
                         ws->xnorm, 1, r->member_cluster, r->member_dist);
    r->n_members = 1;
    r->member_weight[0] = 1.0f;
    rec_segment(&m->input.seg, r->member_cluster[0], p->k, ws, r, 1);
    break;
  }
  case CS_STRAT_FULL:
    rec_dot(m, pred, p->k, ws, r);
    break;
  case CS_STRAT_SEMI:
    cs_centroids_nearest(m->target.centroids, m->target.k, m->dim, pred, 1,
                         r->member_cluster, r->member_dist);
    r->n_members = 1;
    r->member_weight[0] = 1.0f;
    rec_segment(&m->target.seg, r->member_cluster[0], p->k, ws, r, 1);
    break;
  case CS_STRAT_SOFT:
    rec_soft(m, p, pred, ws, r);
    break;
  case CS_STRAT_MIX:
    cs__rec_mix(m, p, pred, ws->mix, r);
    break;
  case CS_STRAT_BLEND: {
    cs_rec_t *one[1] = {r};
    int rc = cs__blend_block(m, p, &features, &pred, 1, ws->mix, one);
    if (rc) return cs_err_set(err, rc, "recommend: blend scores");
    break;
  }
  default:
    return cs_err_set(err, CS_EINVAL, "recommend: unknown strategy %d",
                      strategy);
  }
  *out = r;
  return 0;
}

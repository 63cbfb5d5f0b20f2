/* batch.c: recommendations for many users at once (see strategy.h): the
 * embeddings in one batched forward pass, the dot-product strategies (full,
 * d0-streams) scored against all songs by tiles of one GEMM each with a
 * running top-K per user, the segment strategies user by user over
 * per-thread workspaces. The lists are those of cs_recommend (full and
 * d0-streams: up to near-tied songs, GEMM against gemv scores). */
#include <stdlib.h>
#include <string.h>

#include "coldstart/mat.h"
#include "coldstart/strategy.h"
#include "coldstart/topk.h"
#include "recommend/mix.h"

enum {
  TILE_USERS = CS_REC_BATCH_BLOCK, /* users per block of the tiled scoring */
  SONG_TILE = 1024,   /* songs per GEMM tile (512 x 1024 scores = 2 MB stay
                         in cache; best sgemm rate measured) */
  PRED_CHUNK = 1024   /* rows gathered per forward pass */
};

/* Per-thread buffers of the tiled scoring. */
typedef struct {
  float *vec;     /* [TILE_USERS x dim] user vectors */
  float *scores;  /* [TILE_USERS x scores_tile] */
  int64_t scores_tile; /* the song tile `scores` was sized for */
  float *heap_s;  /* [TILE_USERS x k] */
  int64_t *heap_i;
  cs_topk_heap_t *heap; /* [TILE_USERS] running top-K per user */
  uint8_t *zero;  /* [TILE_USERS] d0 rows with a zero block */
} tile_buf_t;

struct cs_rec_batch {
  const cs_model_t *m;
  int64_t cap_users;
  int cap_items, cap_m, cap_k, n_threads;
  int64_t song_tile;
  cs_strategy_params_t last_p; /* params of the last cs_recommend_batch */
  cs_rec_ws_t **ws;   /* [n_threads] */
  tile_buf_t *tiles;  /* [n_threads] */
  float *pred;        /* [cap_users x dim] embeddings computed here */
  float *xbuf;        /* [PRED_CHUNK x n_features] gathered rows */
  /* results, user i at i * cap_items / i * CS_SOFT_M_MAX */
  int32_t *songs;
  float *scores;
  uint32_t *item_mask;
  int32_t *member_cluster;
  float *member_weight, *member_dist;
  cs_rec_t *recs;     /* [cap_users] views of the arrays above */
};

static void tiles_free(tile_buf_t *B) {
  free(B->vec);
  free(B->scores);
  free(B->heap_s);
  free(B->heap_i);
  free(B->heap);
  free(B->zero);
}

void cs_rec_batch_free(cs_rec_batch_t *b) {
  if (!b) return;
  for (int t = 0; t < b->n_threads; t++) {
    if (b->ws) cs_rec_ws_free(b->ws[t]);
    if (b->tiles) tiles_free(&b->tiles[t]);
  }
  free(b->ws);
  free(b->tiles);
  free(b->pred);
  free(b->xbuf);
  free(b->songs);
  free(b->scores);
  free(b->item_mask);
  free(b->member_cluster);
  free(b->member_weight);
  free(b->member_dist);
  free(b->recs);
  free(b);
}

int cs_rec_batch_create(cs_rec_batch_t **out, const cs_model_t *m,
                        const cs_strategy_params_t *p, int64_t cap_users,
                        int n_threads, cs_err_t *err) {
  *out = NULL;
  if (cap_users < 1 || n_threads < 1)
    return cs_err_set(err, CS_EINVAL, "recommend batch: %lld users, %d threads",
                      (long long)cap_users, n_threads);
  int rc = cs_strategy_params_check(p, m, err);
  if (rc) return rc;
  cs_rec_batch_t *b = calloc(1, sizeof *b);
  if (!b) return cs_err_set(err, CS_ENOMEM, "recommend batch");
  b->m = m;
  b->cap_users = cap_users;
  b->cap_items = p->k + p->soft_margin;
  b->cap_m = p->soft_m;
  b->cap_k = p->k;
  b->n_threads = n_threads;
  b->song_tile = SONG_TILE;
  size_t cu = (size_t)cap_users, ci = (size_t)b->cap_items,
         cm = CS_SOFT_M_MAX, k = (size_t)p->k;
  int64_t tile_users = cap_users < TILE_USERS ? cap_users : TILE_USERS;
  b->ws = calloc((size_t)n_threads, sizeof *b->ws);
  b->tiles = calloc((size_t)n_threads, sizeof *b->tiles);
  b->songs = malloc(cu * ci * sizeof *b->songs);
  b->scores = malloc(cu * ci * sizeof *b->scores);
  b->item_mask = malloc(cu * ci * sizeof *b->item_mask);
  b->member_cluster = malloc(cu * cm * sizeof *b->member_cluster);
  b->member_weight = malloc(cu * cm * sizeof *b->member_weight);
  b->member_dist = malloc(cu * cm * sizeof *b->member_dist);
  b->recs = calloc(cu, sizeof *b->recs);
  rc = b->ws && b->tiles && b->songs && b->scores && b->item_mask &&
               b->member_cluster && b->member_weight && b->member_dist &&
               b->recs
           ? 0
           : CS_ENOMEM;
  for (int t = 0; t < n_threads && !rc; t++) {
    if ((rc = cs_rec_ws_create(&b->ws[t], m, p, err))) break;
    tile_buf_t *B = &b->tiles[t];
    size_t tu = (size_t)tile_users;
    B->vec = cs_alloc_aligned(tu * (size_t)m->dim * sizeof(float));
    B->heap_s = malloc(tu * k * sizeof(float));
    B->heap_i = malloc(tu * k * sizeof(int64_t));
    B->heap = malloc(tu * sizeof(cs_topk_heap_t));
    B->zero = malloc(tu);
    if (!B->vec || !B->heap_s || !B->heap_i || !B->heap || !B->zero)
      rc = CS_ENOMEM;
  }
  for (int64_t i = 0; i < cap_users && !rc; i++) {
    cs_rec_t *r = &b->recs[i];
    r->songs = b->songs + i * b->cap_items;
    r->scores = b->scores + i * b->cap_items;
    r->item_mask = b->item_mask + i * b->cap_items;
    r->member_cluster = b->member_cluster + i * CS_SOFT_M_MAX;
    r->member_weight = b->member_weight + i * CS_SOFT_M_MAX;
    r->member_dist = b->member_dist + i * CS_SOFT_M_MAX;
  }
  if (rc) {
    cs_rec_batch_free(b);
    return rc == CS_ENOMEM ? cs_err_set(err, CS_ENOMEM, "recommend batch (%lld users)",
                                        (long long)cap_users)
                           : rc;
  }
  *out = b;
  return 0;
}

void cs_rec_batch_set_song_tile(cs_rec_batch_t *b, int64_t song_tile) {
  b->song_tile = song_tile > 0 ? song_tile : SONG_TILE;
}

const cs_rec_t *cs_rec_batch_get(const cs_rec_batch_t *b, int64_t i) {
  return &b->recs[i];
}

/* Copy a workspace result into user i's slot. */
static void keep(cs_rec_batch_t *b, int64_t i, const cs_rec_t *r) {
  cs_rec_t *d = &b->recs[i];
  d->strategy = r->strategy;
  d->n_items = r->n_items;
  d->n_members = r->n_members;
  memcpy(d->songs, r->songs, (size_t)r->n_items * sizeof *d->songs);
  memcpy(d->scores, r->scores, (size_t)r->n_items * sizeof *d->scores);
  memcpy(d->item_mask, r->item_mask, (size_t)r->n_items * sizeof *d->item_mask);
  memcpy(d->member_cluster, r->member_cluster,
         (size_t)r->n_members * sizeof *d->member_cluster);
  memcpy(d->member_weight, r->member_weight,
         (size_t)r->n_members * sizeof *d->member_weight);
  memcpy(d->member_dist, r->member_dist,
         (size_t)r->n_members * sizeof *d->member_dist);
}

typedef struct {
  cs_rec_batch_t *b;
  const cs_model_t *m;
  int strategy;
  const cs_strategy_params_t *p;
  const float *features, *pred;
  const int64_t *rows;
  int64_t n;
  int pred_by_user; /* pred row i is user i (computed here), else rows[i] */
} job_t;

static int64_t row_of(const job_t *j, int64_t i) {
  return j->rows ? j->rows[i] : i;
}

static const float *pred_of(const job_t *j, int64_t i) {
  if (!j->pred) return NULL;
  return j->pred + (size_t)(j->pred_by_user ? i : row_of(j, i)) * j->m->dim;
}

/* Segment strategies (and popularity), one user at a time. */
static int run_users(void *arg, int64_t begin, int64_t end, int tid,
                     cs_err_t *err) {
  const job_t *j = arg;
  const cs_model_t *m = j->m;
  for (int64_t i = begin; i < end; i++) {
    int64_t row = row_of(j, i);
    const cs_rec_t *r;
    int rc = cs_recommend(m, j->strategy, j->p,
                          j->features + (size_t)row * m->n_features,
                          pred_of(j, i), j->b->ws[tid], &r, err);
    if (rc) return rc;
    keep(j->b, i, r);
  }
  return 0;
}

/* blend: blocks [bbegin, bend) of CS__BLEND_BLOCK users, each through the
 * same block function as one user alone (mix.c). */
static int run_blend(void *arg, int64_t bbegin, int64_t bend, int tid,
                     cs_err_t *err) {
  const job_t *j = arg;
  const cs_model_t *m = j->m;
  for (int64_t blk = bbegin; blk < bend; blk++) {
    int64_t first = blk * CS__BLEND_BLOCK;
    int n = (int)(j->n - first < CS__BLEND_BLOCK ? j->n - first
                                                  : CS__BLEND_BLOCK);
    const float *feat[CS__BLEND_BLOCK], *pred[CS__BLEND_BLOCK];
    cs_rec_t *out[CS__BLEND_BLOCK];
    for (int u = 0; u < n; u++) {
      feat[u] = j->features + (size_t)row_of(j, first + u) * m->n_features;
      pred[u] = pred_of(j, first + u);
      out[u] = &j->b->recs[first + u];
      out[u]->strategy = j->strategy;
    }
    int rc = cs__blend_block(m, j->p, feat, pred, n,
                             cs__rec_ws_mix(j->b->ws[tid]), out);
    if (rc) return cs_err_set(err, rc, "recommend: blend score rows");
  }
  return 0;
}

/* 1 when one of c[0..15] > thr: one vector compare (GCC/Clang vector
 * extensions; plain C fallback elsewhere). */
#if defined(__GNUC__)
typedef float cs__v16f __attribute__((vector_size(64)));
typedef int32_t cs__v16i __attribute__((vector_size(64)));
static inline int any_above16(const float *c, float thr) {
  cs__v16f x, t;
  memcpy(&x, c, sizeof x);
  for (int l = 0; l < 16; l++) t[l] = thr;
  cs__v16i mk = x > t;
  uint64_t w[8];
  memcpy(w, &mk, sizeof w);
  return ((w[0] | w[1]) | (w[2] | w[3]) | (w[4] | w[5]) | (w[6] | w[7])) != 0;
}
#else
static inline int any_above16(const float *c, float thr) {
  int any = 0;
  for (int t = 0; t < 16; t++) any |= c[t] > thr;
  return any;
}
#endif

/* Offer one row of a score tile (songs first..first+len-1) to a user's
 * running top-K. Songs arrive in ascending row order, so once the heap is
 * full only a score strictly above the root can enter (a later song with an
 * equal score never displaces an earlier one: ties to the lower row, as
 * cs_topk): 16 scores are checked against it with one vector compare. */
static void scan_row(const float *c, int64_t len, int64_t first,
                     cs_topk_heap_t *h) {
  int64_t i = 0;
  for (; h->n < h->k && i < len; i++) cs_topk_heap_push(h, c[i], first + i);
  float thr = h->scores[0];
  for (; i + 16 <= len; i += 16) {
    if (!any_above16(c + i, thr)) continue;
    for (int t = 0; t < 16; t++)
      if (c[i + t] > thr) {
        cs_topk_heap_push(h, c[i + t], first + i + t);
        thr = h->scores[0];
      }
  }
  for (; i < len; i++)
    if (c[i] > thr) {
      cs_topk_heap_push(h, c[i], first + i);
      thr = h->scores[0];
    }
}

/* Dot-product strategies: blocks [bbegin, bend) of TILE_USERS users, each
 * on one thread: one GEMM per song tile (single-threaded BLAS), running
 * top-K, then the lists. The block partition does not depend on the thread
 * count, so the results do not. */
static int run_tiled(void *arg, int64_t bbegin, int64_t bend, int tid,
                     cs_err_t *err) {
  const job_t *j = arg;
  cs_rec_batch_t *b = j->b;
  const cs_model_t *m = j->m;
  tile_buf_t *B = &b->tiles[tid];
  int k = j->p->k, d0 = j->strategy == CS_STRAT_D0_STREAMS;
  int64_t tile = b->song_tile < m->n_songs ? b->song_tile : m->n_songs;
  if (!B->scores || B->scores_tile < tile) { /* the tile may have grown */
    free(B->scores);
    int64_t tu = b->cap_users < TILE_USERS ? b->cap_users : TILE_USERS;
    B->scores = cs_alloc_aligned((size_t)tu * (size_t)tile * sizeof(float));
    B->scores_tile = B->scores ? tile : 0;
    if (!B->scores) return cs_err_set(err, CS_ENOMEM, "recommend: score tile");
  }
  for (int64_t blk = bbegin; blk < bend; blk++) {
    int64_t first = blk * TILE_USERS;
    int64_t n_rows = j->n - first < TILE_USERS ? j->n - first : TILE_USERS;
    for (int64_t r = 0; r < n_rows; r++) {
      int64_t row = row_of(j, first + r);
      const float *v =
          d0 ? cs_d0_streams_vector(m, j->features + (size_t)row * m->n_features)
             : pred_of(j, first + r);
      B->zero[r] = v == NULL;
      if (v) memcpy(B->vec + (size_t)r * m->dim, v, (size_t)m->dim * sizeof(float));
      else memset(B->vec + (size_t)r * m->dim, 0, (size_t)m->dim * sizeof(float));
      cs_topk_heap_init(&B->heap[r], B->heap_s + (size_t)r * k,
                        B->heap_i + (size_t)r * k, k);
    }
    for (int64_t s0 = 0; s0 < m->n_songs; s0 += tile) {
      int64_t len = m->n_songs - s0 < tile ? m->n_songs - s0 : tile;
      cs_gemm(CS_NOTRANS, CS_TRANS, n_rows, len, m->dim, 1.0f, B->vec, m->dim,
              m->song_emb + (size_t)s0 * m->dim, m->dim, 0.0f, B->scores, len);
      for (int64_t r = 0; r < n_rows; r++)
        if (!B->zero[r])
          scan_row(B->scores + (size_t)r * len, len, s0, &B->heap[r]);
    }
    for (int64_t r = 0; r < n_rows; r++) {
      int64_t i = first + r;
      if (B->zero[r]) { /* d0-streams without streams: popularity */
        const cs_rec_t *rec;
        int64_t row = row_of(j, i);
        int rc = cs_recommend(m, CS_STRAT_POPULARITY, j->p,
                              j->features + (size_t)row * m->n_features, NULL,
                              b->ws[tid], &rec, err);
        if (rc) return rc;
        keep(b, i, rec);
        b->recs[i].strategy = j->strategy;
        continue;
      }
      cs_rec_t *out = &b->recs[i];
      int n = (int)cs_topk_heap_sort(&B->heap[r]);
      out->strategy = j->strategy;
      out->n_items = n;
      out->n_members = 0;
      for (int x = 0; x < n; x++) {
        out->songs[x] = (int32_t)B->heap[r].idx[x];
        out->scores[x] = B->heap[r].scores[x];
        out->item_mask[x] = 0;
      }
    }
  }
  return 0;
}

/* Embeddings of the n users into b->pred (row i = user i), rows split
 * between n_threads (the same bits on any count). */
static int embed(const job_t *j, int n_threads, cs_err_t *err) {
  const cs_model_t *m = j->m;
  cs_rec_batch_t *b = j->b;
  if (!b->pred) {
    b->pred = cs_alloc_aligned((size_t)b->cap_users * m->dim * sizeof(float));
    if (!b->pred) return cs_err_set(err, CS_ENOMEM, "recommend: embeddings");
  }
  if (!j->rows)
    return cs_regressor_predict_threads(m->regressor, j->features, j->n,
                                        b->pred, n_threads, err);
  if (!b->xbuf) {
    int64_t rows = b->cap_users < PRED_CHUNK ? b->cap_users : PRED_CHUNK;
    b->xbuf = cs_alloc_aligned((size_t)rows * m->n_features * sizeof(float));
    if (!b->xbuf) return cs_err_set(err, CS_ENOMEM, "recommend: feature rows");
  }
  for (int64_t s = 0; s < j->n; s += PRED_CHUNK) {
    int64_t n = j->n - s < PRED_CHUNK ? j->n - s : PRED_CHUNK;
    for (int64_t i = 0; i < n; i++)
      memcpy(b->xbuf + (size_t)i * m->n_features,
             j->features + (size_t)j->rows[s + i] * m->n_features,
             (size_t)m->n_features * sizeof(float));
    int rc = cs_regressor_predict_threads(m->regressor, b->xbuf, n,
                                          b->pred + (size_t)s * m->dim,
                                          n_threads, err);
    if (rc) return rc;
  }
  return 0;
}

int cs_recommend_batch(const cs_ctx_t *ctx, const cs_model_t *m, int strategy,
                       const cs_strategy_params_t *p, const float *features,
                       const float *pred, const int64_t *rows, int64_t n,
                       cs_rec_batch_t *b, cs_err_t *err) {
  if (n < 0 || n > b->cap_users || b->m != m)
    return cs_err_set(err, CS_EINVAL, "recommend batch: %lld users (room for "
                      "%lld) or another model", (long long)n,
                      (long long)b->cap_users);
  if (p->k > b->cap_k || p->k + p->soft_margin > b->cap_items ||
      p->soft_m > b->cap_m)
    return cs_err_set(err, CS_EINVAL, "recommend batch: params exceed the "
                      "batch (k=%d, margin=%d, m=%d)", p->k, p->soft_margin,
                      p->soft_m);
  if (strategy < 0 || strategy >= CS_N_STRATEGIES)
    return cs_err_set(err, CS_EINVAL, "recommend: unknown strategy %d",
                      strategy);
  b->last_p = *p;
  if (n == 0) return 0;
  job_t j = {b, m, strategy, p, features, pred, rows, n, 0};
  int rc;
  int n_threads = cs_ctx_threads(ctx) < b->n_threads ? cs_ctx_threads(ctx)
                                                     : b->n_threads;
  if (cs_strategy_needs_embedding(strategy) && !pred) {
    if (!m->regressor)
      return cs_err_set(err, CS_ESTATE, "recommend: model has no regressor");
    if ((rc = embed(&j, n_threads, err))) return rc;
    j.pred = b->pred;
    j.pred_by_user = 1;
  }
  if (strategy == CS_STRAT_FULL || strategy == CS_STRAT_D0_STREAMS) {
    /* our threads each run their own GEMMs: BLAS threads would only compete
     * with them for the same cores */
    int saved = cs_blas_set_threads(1);
    int64_t n_blocks = (n + TILE_USERS - 1) / TILE_USERS;
    rc = cs_parallel_for(n_threads, n_blocks, run_tiled, &j, err);
    cs_blas_set_threads(saved);
  } else if (strategy == CS_STRAT_BLEND) {
    int64_t n_blocks = (n + CS__BLEND_BLOCK - 1) / CS__BLEND_BLOCK;
    rc = cs_parallel_for(n_threads, n_blocks, run_blend, &j, err);
  } else {
    rc = cs_parallel_for(n_threads, n, run_users, &j, err);
  }
  return rc;
}

/* dense[n_songs] = p of segment c (0 outside its list). */
static void segment_p(const cs_segments_t *seg, int32_t c, int64_t n_songs,
                      float *dense) {
  memset(dense, 0, (size_t)n_songs * sizeof *dense);
  for (int64_t i = seg->indptr[c]; i < seg->indptr[c + 1]; i++)
    dense[seg->songs[i]] = seg->p[i];
}

int cs_rec_batch_scores(const cs_model_t *m, int strategy,
                        const float *features, const float *pred,
                        const int64_t *rows, int64_t n,
                        const cs_rec_batch_t *b, float *dense) {
  if (strategy == CS_STRAT_SOFT || n <= 0) return 0;
  job_t j = {(cs_rec_batch_t *)b, m, strategy, NULL, features, pred, rows, n, 0};
  if (!pred && cs_strategy_needs_embedding(strategy)) {
    j.pred = b->pred;
    j.pred_by_user = 1;
  }
  const size_t ns = (size_t)m->n_songs;
  if (strategy == CS_STRAT_MIX || strategy == CS_STRAT_BLEND) {
    cs__mix_ws_t *x = cs__rec_ws_mix(b->ws[0]);
    for (int64_t i = 0; i < n; i++) {
      const float *f = features + (size_t)row_of(&j, i) * m->n_features;
      if (strategy == CS_STRAT_MIX)
        cs__mix_dense(m, &b->last_p, pred_of(&j, i), x, dense + (size_t)i * ns);
      else
        cs__blend_dense(m, &b->last_p, f, pred_of(&j, i), x,
                        dense + (size_t)i * ns);
    }
    return 1;
  }
  if (strategy == CS_STRAT_FULL || strategy == CS_STRAT_D0_STREAMS) {
    float *vec = cs_alloc_aligned((size_t)n * m->dim * sizeof(float));
    if (!vec) return CS_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
      const float *v =
          strategy == CS_STRAT_D0_STREAMS
              ? cs_d0_streams_vector(m, features + (size_t)row_of(&j, i) * m->n_features)
              : pred_of(&j, i);
      if (v) memcpy(vec + (size_t)i * m->dim, v, (size_t)m->dim * sizeof(float));
    }
    cs_gemm(CS_NOTRANS, CS_TRANS, n, m->n_songs, m->dim, 1.0f, vec, m->dim,
            m->song_emb, m->dim, 0.0f, dense, m->n_songs);
    for (int64_t i = 0; i < n && strategy == CS_STRAT_D0_STREAMS; i++)
      if (!cs_d0_streams_vector(m, features + (size_t)row_of(&j, i) * m->n_features))
        segment_p(&m->popularity.seg, 0, m->n_songs, dense + (size_t)i * ns);
    free(vec);
    return 1;
  }
  for (int64_t i = 0; i < n; i++) {
    const cs_rec_t *r = &b->recs[i];
    const cs_segments_t *seg = strategy == CS_STRAT_SEMI ? &m->target.seg
                               : strategy == CS_STRAT_INPUT_CLUSTERS
                                   ? &m->input.seg
                                   : &m->popularity.seg;
    int32_t c = strategy == CS_STRAT_POPULARITY ? 0 : r->member_cluster[0];
    segment_p(seg, c, m->n_songs, dense + (size_t)i * ns);
  }
  return 1;
}

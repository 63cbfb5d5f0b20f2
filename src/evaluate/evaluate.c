/* evaluate.c: strategies x users -> metrics. Segment strategies go through
 * the per-request path (cs_recommend) in parallel across users; the
 * dot-product strategies (full, d0-streams) score blocks of users against
 * all songs with one GEMM per block, then select top-K in parallel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/evaluate.h"
#include "coldstart/mat.h"
#include "coldstart/metrics.h"
#include "coldstart/topk.h"

#define EVAL_BLOCK 128 /* users per GEMM block for dot-product strategies */
#define EVAL_TILE_USERS 512 /* users per block in the tiled path */
#define EVAL_SONG_TILE 1024 /* songs per GEMM tile (512 x 1024 scores = 2 MB
                               stay in cache; best sgemm rate measured) */

void cs_eval_params_default(cs_eval_params_t *p) {
  memset(p, 0, sizeof *p);
  cs_strategy_params_default(&p->sp);
  for (int i = 0; i < CS_N_STRATEGIES; i++) p->strategies[i] = i;
  p->n_strategies = CS_N_STRATEGIES;
  p->ndcg_mode = CS_NDCG_LIST;
}

typedef struct {
  const cs_model_t *m;
  const cs_split_t *sp;
  const cs_eval_params_t *p;
  const int64_t *users; /* split rows evaluated */
  const float *pred;    /* [split users x dim] or NULL */
  int strategy;
  cs_rec_ws_t **ws;     /* per thread */
  float **dense;        /* per thread [n_songs], zero between users */
  int64_t **top;        /* per thread [k] */
  /* dot-product blocks */
  const float *block_scores; /* [rows x n_songs] */
  const uint8_t *block_zero; /* d0 rows whose streamed block is zero */
  int64_t block_begin;
  double *prec, *rec, *ndcg; /* [n_eval] */
} job_t;

static void score_user(job_t *j, int64_t e, const int32_t *list, int n_list,
                       const float *scores, const int64_t *top, int n_top) {
  const cs_split_t *sp = j->sp;
  int64_t u = j->users[e];
  const int64_t *truth = sp->truth_indices + sp->truth_indptr[u];
  int64_t n_truth = sp->truth_indptr[u + 1] - sp->truth_indptr[u];
  cs_user_metrics_t um;
  cs_metrics_user(list, n_list, j->p->sp.k, truth, n_truth, &um);
  j->prec[e] = um.precision;
  j->rec[e] = um.recall;
  j->ndcg[e] = um.ndcg;
  if (scores)
    j->ndcg[e] = cs_metrics_ndcg_sklearn(scores, j->m->n_songs, top, n_top,
                                         truth, n_truth);
}

/* Segment strategies (and popularity), one user at a time. */
static int run_lists(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  job_t *j = arg;
  const cs_model_t *m = j->m;
  int sklearn = j->p->ndcg_mode == CS_NDCG_SKLEARN &&
                j->strategy != CS_STRAT_SOFT;
  for (int64_t e = begin; e < end; e++) {
    int64_t u = j->users[e];
    const cs_rec_t *r;
    const float *pred = j->pred ? j->pred + (size_t)u * m->dim : NULL;
    int rc = cs_recommend(m, j->strategy, &j->p->sp,
                          j->sp->features + (size_t)u * m->n_features, pred,
                          j->ws[tid], &r, NULL);
    if (rc) return rc;
    if (!sklearn) {
      score_user(j, e, r->songs, r->n_items, NULL, NULL, 0);
      continue;
    }
    /* The segment's p over all songs; its ranking is r->songs (a valid
     * descending top-k of that vector). */
    const cs_segments_t *seg = j->strategy == CS_STRAT_POPULARITY
                                   ? &m->popularity
                               : j->strategy == CS_STRAT_SEMI
                                   ? &m->segments
                                   : &m->input_segments;
    int32_t c = j->strategy == CS_STRAT_POPULARITY ? 0 : r->member_cluster[0];
    float *dense = j->dense[tid];
    for (int64_t i = seg->indptr[c]; i < seg->indptr[c + 1]; i++)
      dense[seg->songs[i]] = seg->p[i];
    for (int i = 0; i < r->n_items; i++) j->top[tid][i] = r->songs[i];
    score_user(j, e, r->songs, r->n_items, dense, j->top[tid], r->n_items);
    for (int64_t i = seg->indptr[c]; i < seg->indptr[c + 1]; i++)
      dense[seg->songs[i]] = 0.0f;
  }
  return 0;
}

/* Dot-product strategies: rows [begin, end) of the current block. */
static int run_block_rows(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  job_t *j = arg;
  const cs_model_t *m = j->m;
  int k = j->p->sp.k;
  cs_rec_ws_t *ws = j->ws[tid];
  int64_t *top = j->top[tid];
  int32_t list[4096];
  float top_scores[4096];
  for (int64_t row = begin; row < end; row++) {
    int64_t e = j->block_begin + row;
    if (j->block_zero && j->block_zero[row]) {
      const cs_rec_t *r;
      int64_t u = j->users[e];
      int rc = cs_recommend(m, CS_STRAT_POPULARITY, &j->p->sp,
                            j->sp->features + (size_t)u * m->n_features, NULL,
                            ws, &r, NULL);
      if (rc) return rc;
      if (j->p->ndcg_mode == CS_NDCG_SKLEARN) {
        /* Popularity fallback: its p vector over all songs. */
        const cs_segments_t *seg = &m->popularity;
        float *dense = j->dense[tid];
        for (int64_t i = seg->indptr[0]; i < seg->indptr[1]; i++)
          dense[seg->songs[i]] = seg->p[i];
        for (int i = 0; i < r->n_items; i++) top[i] = r->songs[i];
        score_user(j, e, r->songs, r->n_items, dense, top, r->n_items);
        for (int64_t i = seg->indptr[0]; i < seg->indptr[1]; i++)
          dense[seg->songs[i]] = 0.0f;
      } else {
        score_user(j, e, r->songs, r->n_items, NULL, NULL, 0);
      }
      continue;
    }
    const float *scores = j->block_scores + (size_t)row * m->n_songs;
    int64_t n = cs_topk(scores, m->n_songs, k, NULL, top, top_scores);
    for (int64_t i = 0; i < n; i++) list[i] = (int32_t)top[i];
    score_user(j, e, list, (int)n,
               j->p->ndcg_mode == CS_NDCG_SKLEARN ? scores : NULL, top,
               (int)n);
  }
  return 0;
}

/* --- tiled dot-product top-K (list NDCG) -------------------------------
 * Scores of a block of users against a tile of songs (one GEMM) stay in
 * cache while each user's running top-K is updated; a chunk of 16 scores is
 * skipped at once when none beats the user's current K-th score. Songs are
 * scanned in ascending row order, so a later song with a score equal to
 * the K-th never displaces it (ties: lower row first), exactly as cs_topk.
 * The full-row path below (GEMM over all songs, cs_topk) is the reference
 * and serves the sklearn NDCG mode. */

/* Per-thread buffers of the tiled path. */
typedef struct {
  float *vec;     /* [EVAL_TILE_USERS x dim] user vectors */
  float *scores;  /* [EVAL_TILE_USERS x tile] */
  float *heap_s;  /* [EVAL_TILE_USERS x k] */
  int64_t *heap_i;
  cs_topk_heap_t *heap; /* [EVAL_TILE_USERS] running top-K per user */
  int32_t *list;  /* [k] one user's ranked songs */
  uint8_t *zero;  /* [EVAL_TILE_USERS] d0 rows with a zero block */
} tile_buf_t;

typedef struct {
  job_t *j;
  int64_t n_eval, tile;
  tile_buf_t *buf; /* [n_threads] */
} tiled_t;

/* 1 when one of c[0..15] > thr: one vector compare (GCC/Clang vector
 * extensions; plain C fallback elsewhere). */
#if defined(__GNUC__)
typedef float cs__v16f __attribute__((vector_size(64)));
typedef int32_t cs__v16i __attribute__((vector_size(64)));
static inline int any_above16(const float *c, float thr) {
  cs__v16f x, t;
  memcpy(&x, c, sizeof x);
  for (int l = 0; l < 16; l++) t[l] = thr;
  cs__v16i m = x > t;
  uint64_t w[8];
  memcpy(w, &m, sizeof w);
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
 * full only a score strictly above the root can enter: 16 scores are
 * checked against it with one vector compare. */
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

/* Blocks [bbegin, bend) of EVAL_TILE_USERS users, all on this thread: GEMM per
 * song tile (single-threaded BLAS), running top-K, then metrics. The block
 * partition does not depend on the thread count, so results do not. */
static int run_tiled_blocks(void *arg, int64_t bbegin, int64_t bend,
                             int tid,
                             cs_err_t *err) {
  tiled_t *t = arg;
  job_t *j = t->j;
  const cs_model_t *m = j->m;
  tile_buf_t *B = &t->buf[tid];
  int k = j->p->sp.k, d0 = j->strategy == CS_STRAT_D0_STREAMS;
  for (int64_t blk = bbegin; blk < bend; blk++) {
    int64_t b = blk * EVAL_TILE_USERS;
    int64_t rows = t->n_eval - b < EVAL_TILE_USERS ? t->n_eval - b : EVAL_TILE_USERS;
    for (int64_t r = 0; r < rows; r++) {
      int64_t u = j->users[b + r];
      const float *v =
          d0 ? j->sp->features + (size_t)u * m->n_features +
                   (size_t)CS_D0_STREAMS_BLOCK * m->dim
             : j->pred + (size_t)u * m->dim;
      memcpy(B->vec + (size_t)r * m->dim, v, (size_t)m->dim * sizeof(float));
      int nonzero = !d0;
      for (int i = 0; i < m->dim && !nonzero; i++) nonzero = v[i] != 0.0f;
      B->zero[r] = (uint8_t)!nonzero;
      cs_topk_heap_init(&B->heap[r], B->heap_s + (size_t)r * k,
                        B->heap_i + (size_t)r * k, k);
    }
    for (int64_t s0 = 0; s0 < m->n_songs; s0 += t->tile) {
      int64_t len = m->n_songs - s0 < t->tile ? m->n_songs - s0 : t->tile;
      cs_gemm(CS_NOTRANS, CS_TRANS, rows, len, m->dim, 1.0f, B->vec, m->dim,
              m->song_emb + (size_t)s0 * m->dim, m->dim, 0.0f, B->scores,
              len);
      for (int64_t r = 0; r < rows; r++)
        if (!B->zero[r])
          scan_row(B->scores + (size_t)r * len, len, s0, &B->heap[r]);
    }
    for (int64_t r = 0; r < rows; r++) {
      int64_t e = b + r;
      if (B->zero[r]) { /* d0-streams without streams: popularity */
        const cs_rec_t *rec;
        int64_t u = j->users[e];
        int rc = cs_recommend(m, CS_STRAT_POPULARITY, &j->p->sp,
                              j->sp->features + (size_t)u * m->n_features,
                              NULL, j->ws[tid], &rec, NULL);
        if (rc) return rc;
        score_user(j, e, rec->songs, rec->n_items, NULL, NULL, 0);
        continue;
      }
      int n = (int)cs_topk_heap_sort(&B->heap[r]);
      for (int x = 0; x < n; x++) B->list[x] = (int32_t)B->heap[r].idx[x];
      score_user(j, e, B->list, n, NULL, NULL, 0);
    }
  }
  return 0;
}

static int run_dot_tiled(const cs_ctx_t *ctx, job_t *j, int64_t n_eval,
                         int64_t tile, cs_err_t *err) {
  const cs_model_t *m = j->m;
  int n_threads = cs_ctx_threads(ctx);
  int k = j->p->sp.k;
  tiled_t t = {j, n_eval, tile, calloc((size_t)n_threads, sizeof(tile_buf_t))};
  int rc = 0;
  if (!t.buf) return cs_err_set(err, CS_ENOMEM, "evaluate: out of memory");
  for (int i = 0; i < n_threads && !rc; i++) {
    tile_buf_t *B = &t.buf[i];
    B->vec = cs_alloc_aligned((size_t)EVAL_TILE_USERS * m->dim * sizeof(float));
    B->scores = cs_alloc_aligned((size_t)EVAL_TILE_USERS * tile * sizeof(float));
    B->heap_s = malloc((size_t)EVAL_TILE_USERS * k * sizeof(float));
    B->heap_i = malloc((size_t)EVAL_TILE_USERS * k * sizeof(int64_t));
    B->heap = malloc((size_t)EVAL_TILE_USERS * sizeof(cs_topk_heap_t));
    B->list = malloc((size_t)k * sizeof(int32_t));
    B->zero = malloc(EVAL_TILE_USERS);
    if (!B->vec || !B->scores || !B->heap_s || !B->heap_i || !B->heap ||
        !B->list || !B->zero)
      rc = cs_err_set(err, CS_ENOMEM, "evaluate: out of memory");
  }
  if (!rc) {
    /* Our threads each run their own GEMMs: BLAS threads would only
     * compete with them for the same cores. */
    int saved_blas = cs_blas_set_threads(1);
    int64_t n_blocks = (n_eval + EVAL_TILE_USERS - 1) / EVAL_TILE_USERS;
    rc = cs_parallel_for(n_threads, n_blocks, run_tiled_blocks, &t, err);
    cs_blas_set_threads(saved_blas);
    if (rc)
      cs_err_prefix(err, rc, "evaluate %s: ", cs_strategy_name(j->strategy));
  }
  for (int i = 0; i < n_threads; i++) {
    tile_buf_t *B = &t.buf[i];
    free(B->vec);
    free(B->scores);
    free(B->heap_s);
    free(B->heap_i);
    free(B->heap);
    free(B->list);
    free(B->zero);
  }
  free(t.buf);
  return rc;
}

static int run_dot(const cs_ctx_t *ctx, job_t *j, int64_t n_eval,
                   float *block_scores, float *block_vec, uint8_t *block_zero,
                   cs_err_t *err) {
  const cs_model_t *m = j->m;
  int d0 = j->strategy == CS_STRAT_D0_STREAMS;
  j->block_scores = block_scores;
  j->block_zero = d0 ? block_zero : NULL;
  for (int64_t b = 0; b < n_eval; b += EVAL_BLOCK) {
    int64_t rows = n_eval - b < EVAL_BLOCK ? n_eval - b : EVAL_BLOCK;
    for (int64_t r = 0; r < rows; r++) {
      int64_t u = j->users[b + r];
      const float *v =
          d0 ? j->sp->features + (size_t)u * m->n_features +
                   (size_t)CS_D0_STREAMS_BLOCK * m->dim
             : j->pred + (size_t)u * m->dim;
      memcpy(block_vec + (size_t)r * m->dim, v, (size_t)m->dim * sizeof(float));
      if (d0) {
        int nonzero = 0;
        for (int i = 0; i < m->dim && !nonzero; i++) nonzero = v[i] != 0.0f;
        block_zero[r] = (uint8_t)!nonzero;
      }
    }
    cs_gemm(CS_NOTRANS, CS_TRANS, rows, m->n_songs, m->dim, 1.0f, block_vec,
            m->dim, m->song_emb, m->dim, 0.0f, block_scores, m->n_songs);
    j->block_begin = b;
    int n_threads = cs_ctx_threads(ctx);
    int rc = cs_parallel_for(n_threads, rows, run_block_rows, j, err);
    if (rc)
      return cs_err_prefix(err, rc, "evaluate %s: ",
                           cs_strategy_name(j->strategy));
  }
  return 0;
}

int cs_evaluate(const cs_ctx_t *ctx, const cs_model_t *m,
                const cs_dataset_t *ds, int split, const cs_eval_params_t *p,
                cs_eval_result_t *out, cs_err_t *err) {
  memset(out, 0, sizeof *out);
  if (split < 0 || split >= CS_N_SPLITS)
    return cs_err_set(err, CS_EINVAL, "evaluate: bad split %d", split);
  int rc = cs_model_check_dataset(m, ds, err);
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
    need_pred |= s == CS_STRAT_FULL || s == CS_STRAT_SEMI || s == CS_STRAT_SOFT;
  }

  int64_t n_eval = 0;
  int64_t *users = malloc(((size_t)sp->n_users + 1) * sizeof *users);
  int64_t *scratch = malloc(((size_t)sp->n_users + 1) * sizeof *scratch);
  double *vals = malloc(3 * ((size_t)sp->n_users + 1) * sizeof *vals);
  float *pred = NULL, *block_scores = NULL, *block_vec = NULL;
  uint8_t *block_zero = malloc(EVAL_BLOCK);
  cs_rec_ws_t **ws = calloc((size_t)n_threads, sizeof *ws);
  float **dense = calloc((size_t)n_threads, sizeof *dense);
  int64_t **top = calloc((size_t)n_threads, sizeof *top);
  rc = CS_ENOMEM;
  if (!users || !scratch || !vals || !block_zero || !ws || !dense || !top)
    goto done;
  for (int t = 0; t < n_threads; t++) {
    if ((rc = cs_rec_ws_create(&ws[t], m, &p->sp, err))) goto done;
    dense[t] = calloc((size_t)m->n_songs, sizeof(float));
    top[t] = malloc(((size_t)p->sp.k + (size_t)p->sp.soft_margin + 1) *
                    sizeof(int64_t));
    rc = CS_ENOMEM;
    if (!dense[t] || !top[t]) goto done;
  }
  for (int64_t u = 0; u < sp->n_users; u++) {
    if (sp->truth_indptr[u + 1] > sp->truth_indptr[u])
      users[n_eval++] = u;
    else
      out->n_skipped++;
  }
  out->n_users = n_eval;

  if (need_pred && sp->n_users > 0) {
    double t0 = cs_now();
    pred = cs_alloc_aligned((size_t)sp->n_users * m->dim * sizeof(float));
    if (!pred) goto done;
    if ((rc = cs_regressor_predict(m->regressor, sp->features, sp->n_users,
                                   pred, err)))
      goto done;
    out->seconds_predict = cs_now() - t0;
  }

  /* Lists only: no item scores needed (soft skips the mixture when it
   * does not fill). */
  cs_eval_params_t pe = *p;
  pe.sp.skip_scores = 1;
  job_t job = {.m = m, .sp = sp, .p = &pe, .users = users, .pred = pred,
               .ws = ws, .dense = dense, .top = top, .prec = vals,
               .rec = vals + n_eval, .ndcg = vals + 2 * n_eval,
};
  for (int i = 0; i < p->n_strategies; i++) {
    int s = p->strategies[i];
    double t0 = cs_now();
    job.strategy = s;
    if (s == CS_STRAT_FULL || s == CS_STRAT_D0_STREAMS) {
      int64_t tile = p->song_tile > 0 ? p->song_tile : EVAL_SONG_TILE;
      if (tile > m->n_songs) tile = m->n_songs;
      if (p->ndcg_mode == CS_NDCG_LIST) {
        rc = run_dot_tiled(ctx, &job, n_eval, tile, err);
      } else {
        if (!block_scores) {
          block_scores = cs_alloc_aligned((size_t)EVAL_BLOCK * m->n_songs *
                                          sizeof(float));
          block_vec = cs_alloc_aligned((size_t)EVAL_BLOCK * m->dim *
                                       sizeof(float));
          rc = CS_ENOMEM;
          if (!block_scores || !block_vec) goto done;
        }
        rc = run_dot(ctx, &job, n_eval, block_scores, block_vec, block_zero,
                     err);
      }
      if (rc) goto done;
    } else {
      rc = cs_parallel_for(n_threads, n_eval, run_lists, &job, err);
      if (rc) {
        cs_err_prefix(err, rc, "evaluate %s: ", cs_strategy_name(s));
        goto done;
      }
    }
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
  for (int t = 0; ws && t < n_threads; t++) {
    cs_rec_ws_free(ws[t]);
    if (dense) free(dense[t]);
    if (top) free(top[t]);
  }
  free(ws);
  free(dense);
  free(top);
  free(users);
  free(scratch);
  free(vals);
  free(pred);
  free(block_scores);
  free(block_vec);
  free(block_zero);
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

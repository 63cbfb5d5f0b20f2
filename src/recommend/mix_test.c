/* mix_test.c: the mix and blend strategies: known answers on a hand-made
 * model, a property test against a plain dense reference on random models
 * (always K distinct songs; the same songs, scores and clusters), the
 * batch path equal to the one-user path (any thread count, row subsets,
 * blocks of more than 16 and 64 users), the dense score vectors of
 * cs_rec_batch_scores, the parameter ranges, and the tuned defaults a model
 * carries (applied, overridden by given flags, saved and loaded, absent in
 * untuned files, refused when corrupt). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/centroids.h"
#include "coldstart/container.h"
#include "coldstart/layout.h"
#include "coldstart/model.h"
#include "coldstart/rng.h"
#include "coldstart/strategy.h"
#include "coldstart/train.h"

#define DIM 2
#define NF (20 * DIM + 19)
#define NS 10

/* The hand-made model of strategy_test.c:
 * songs 0..9; song_emb x = {.1,.5,.3,.9,.2,.9,0,0,0,0}, y = 0.
 * centroids c0 (0,0), c1 (4,0), c2 (0,10); two users in each.
 * c0 ranking [0,1,2] p .4 .4 .2; c1 [3,4,1,5] p 1/3 1/3 1/6 1/6;
 * c2 [7,6,8] p .5 .25 .25; popularity counts 2,3,1,2,2,1,1,2,1,0 / 15. */
static const int64_t truth_ptr[7] = {0, 3, 5, 8, 11, 13, 15};
static const int64_t truth_idx[15] = {0, 1, 2, 0, 1, 1, 3, 4,
                                      3, 4, 5, 6, 7, 7, 8};

static void make_model(cs_model_t *m, int with_regressor) {
  memset(m, 0, sizeof *m);
  strcpy(m->space, "svd");
  m->dim = DIM;
  m->n_features = NF;
  m->n_songs = NS;
  int64_t *ids = cs_arena_alloc(&m->mem, NS * sizeof(int64_t));
  float *emb = cs_arena_alloc(&m->mem, NS * DIM * sizeof(float));
  const float xs[NS] = {.1f, .5f, .3f, .9f, .2f, .9f, 0, 0, 0, 0};
  for (int i = 0; i < NS; i++) {
    ids[i] = 1000 + i;
    emb[i * DIM] = xs[i];
  }
  m->song_ids = ids;
  m->song_emb = emb;
  m->target.k = 3;
  m->target.dim = DIM;
  float *c = cs_arena_alloc(&m->mem, 3 * DIM * sizeof(float));
  c[2] = 4.0f;
  c[5] = 10.0f;
  m->target.centroids = c;
  const int32_t assign[6] = {0, 0, 1, 1, 2, 2};
  assert_int_equal(cs_segments_build(3, assign, 6, truth_ptr, truth_idx, NS,
                                     &m->target.seg, NULL), 0);
  m->input.k = 1;
  m->input.dim = NF;
  m->input.centroids = cs_arena_alloc(&m->mem, NF * sizeof(float));
  assert_int_equal(cs_segments_build(1, NULL, 6, truth_ptr, truth_idx, NS,
                                     &m->input.seg, NULL), 0);
  m->popularity.k = 1;
  m->popularity.dim = DIM;
  assert_int_equal(cs_segments_build(1, NULL, 6, truth_ptr, truth_idx, NS,
                                     &m->popularity.seg, NULL), 0);
  if (with_regressor)
    assert_int_equal(cs_regressor_create(&m->regressor, NF, DIM, 7, NULL), 0);
}

static cs_strategy_params_t params(int k, int mix_m, float tau, float size,
                                   float prior, float beta, float bd) {
  cs_strategy_params_t p;
  cs_strategy_params_default(&p);
  p.k = k;
  p.soft_m = 1;
  p.mix_m = mix_m;
  p.mix_tau = tau;
  p.mix_size = size;
  p.mix_prior = prior;
  p.blend_beta = beta;
  p.blend_d0 = bd;
  return p;
}

static const cs_rec_t *run(const cs_model_t *m, int strategy,
                           const cs_strategy_params_t *p, const float *feat,
                           const float *pred, cs_rec_ws_t **ws) {
  cs_err_t err;
  if (*ws) cs_rec_ws_free(*ws);
  assert_int_equal(cs_rec_ws_create(ws, m, p, &err), 0);
  const cs_rec_t *r = NULL;
  assert_int_equal(cs_recommend(m, strategy, p, feat, pred, *ws, &r, &err), 0);
  return r;
}

static void expect_list(const cs_rec_t *r, const int32_t *songs,
                        const uint32_t *masks, int n) {
  assert_int_equal(r->n_items, n);
  for (int i = 0; i < n; i++) {
    assert_int_equal(r->songs[i], songs[i]);
    if (masks) assert_int_equal(r->item_mask[i], masks[i]);
  }
}

/* --- known answers ------------------------------------------------------ */

static void test_mix_known(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_rec_ws_t *ws = NULL;
  float pred[DIM] = {1.0f, 0.0f}; /* d = 1 (c0), 3 (c1), sqrt(101) (c2) */
  /* m = 2, tau = 8: w ~ exp(0), exp(-(9 - 1) / 8) = e^-1 (equal sizes) */
  cs_strategy_params_t p = params(8, 2, 8.0f, 1.0f, 0.0f, 0, 0);
  const cs_rec_t *r = run(&m, CS_STRAT_MIX, &p, NULL, pred, &ws);
  double w0 = 1.0 / (1.0 + exp(-1.0)), w1 = 1.0 - w0;
  assert_int_equal(r->n_members, 2);
  assert_int_equal(r->member_cluster[0], 0);
  assert_int_equal(r->member_cluster[1], 1);
  assert_float_equal(r->member_weight[0], w0, 1e-6);
  assert_float_equal(r->member_dist[1], 3.0f, 1e-6);
  /* M(1) = .4 w0 + w1/6 > M(0) = .4 w0 > M(2) = .2 w0 > M(3) = M(4) =
   * w1/3 > M(5) = w1/6, then songs with score 0 by row */
  const int32_t songs[8] = {1, 0, 2, 3, 4, 5, 6, 7};
  const uint32_t masks[8] = {3, 1, 1, 2, 2, 2, 0, 0};
  expect_list(r, songs, masks, 8);
  assert_float_equal(r->scores[0], 0.4 * w0 + w1 / 6, 1e-6);
  assert_float_equal(r->scores[3], w1 / 3, 1e-6);
  assert_float_equal(r->scores[6], 0.0f, 0);

  /* prior 0.5: half popularity (counts / 15); 3 and 4 tie (lower row
   * first), 7 comes in from popularity alone */
  p.mix_prior = 0.5f;
  p.k = 10;
  r = run(&m, CS_STRAT_MIX, &p, NULL, pred, &ws);
  const int32_t songs2[10] = {1, 0, 3, 4, 2, 7, 5, 6, 8, 9};
  const uint32_t masks2[10] = {3, 1, 2, 2, 1, 0, 2, 0, 0, 0};
  expect_list(r, songs2, masks2, 10);
  assert_float_equal(r->scores[0], 0.5 * (0.4 * w0 + w1 / 6) + 0.5 * 0.2, 1e-6);
  assert_float_equal(r->scores[5], 0.5 * 2.0 / 15.0, 1e-6);
  assert_float_equal(r->scores[9], 0.0f, 0);

  /* m = 1: the nearest segment, ties inside it broken by popularity */
  p = params(4, 1, 0.1f, 1.0f, 0.01f, 0, 0);
  r = run(&m, CS_STRAT_MIX, &p, NULL, pred, &ws);
  const int32_t songs3[4] = {1, 0, 2, 3}; /* .4 .4 (1 is more popular) .2 */
  expect_list(r, songs3, NULL, 4);

  cs_rec_ws_free(ws);
  cs_model_free(&m);
}

static void test_blend_known(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_rec_ws_t *ws = NULL;
  float pred[DIM] = {1.0f, 0.0f}, feat[NF] = {0};
  cs_strategy_params_t p = params(10, 2, 8.0f, 1.0f, 0.5f, 1.0f, 0.0f);
  const cs_rec_t *r = run(&m, CS_STRAT_BLEND, &p, feat, pred, &ws);
  /* score = log(.5 M(s) + .5 pop(s) + 1e-9) + x_s */
  double w0 = 1.0 / (1.0 + exp(-1.0)), w1 = 1.0 - w0;
  const double M[NS] = {.4 * w0, .4 * w0 + w1 / 6, .2 * w0, w1 / 3, w1 / 3,
                        w1 / 6, 0, 0, 0, 0};
  const double cnt[NS] = {2, 3, 1, 2, 2, 1, 1, 2, 1, 0};
  const double xs[NS] = {.1, .5, .3, .9, .2, .9, 0, 0, 0, 0};
  const int32_t songs[10] = {1, 3, 0, 2, 5, 4, 7, 6, 8, 9};
  const uint32_t masks[10] = {3, 2, 1, 1, 2, 2, 0, 0, 0, 0};
  expect_list(r, songs, masks, 10);
  for (int i = 0; i < 10; i++) {
    int s = songs[i];
    assert_float_equal(r->scores[i],
                       log(.5 * M[s] + .5 * cnt[s] / 15 + 1e-9) + xs[s], 1e-5);
  }
  assert_int_equal(r->n_members, 2);
  /* the registration-day streams vector adds to the user vector: with
   * d0 = (2, 0) and blend_d0 1 the similarity is 3 x: 5 (x .9) now beats 0 */
  feat[cs_feature_streamed_songs_block() * DIM] = 2.0f;
  p.blend_d0 = 1.0f;
  p.k = 4;
  r = run(&m, CS_STRAT_BLEND, &p, feat, pred, &ws);
  const int32_t songs2[4] = {3, 1, 5, 0};
  expect_list(r, songs2, NULL, 4);
  assert_float_equal(r->scores[0], log(.5 * M[3] + .5 * cnt[3] / 15 + 1e-9) + 2.7,
                     1e-5);
  /* beta = beta_d0 = 0: the ranking of log(mix), i.e. mix's */
  p = params(10, 2, 8.0f, 1.0f, 0.5f, 0.0f, 0.0f);
  r = run(&m, CS_STRAT_BLEND, &p, feat, pred, &ws);
  const int32_t mixlist[10] = {1, 0, 3, 4, 2, 7, 5, 6, 8, 9};
  expect_list(r, mixlist, NULL, 10);
  cs_rec_ws_free(ws);
  cs_model_free(&m);
}

/* --- the dense reference ------------------------------------------------- */

typedef struct {
  float score;
  int32_t song;
} ranked_t;

static int cmp_ranked(const void *a, const void *b) {
  const ranked_t *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->song < y->song ? -1 : x->song > y->song;
}

/* p_c(s) by a plain scan of the list. */
static float seg_p(const cs_segments_t *s, int32_t c, int32_t song) {
  for (int64_t i = s->indptr[c]; i < s->indptr[c + 1]; i++)
    if (s->songs[i] == song) return s->p[i];
  return 0.0f;
}

/* Every song's score, straight from the definitions (docs/method.md), then
 * one full sort (score desc, row asc). */
static void naive(const cs_model_t *m, int strategy,
                  const cs_strategy_params_t *p, const float *feat,
                  const float *pred, int32_t *songs, float *scores,
                  uint32_t *masks, int32_t *mc, double *w_out) {
  int mm = p->mix_m > 0 ? p->mix_m : 32;
  if (mm > m->target.k) mm = m->target.k;
  float md[CS_SOFT_M_MAX];
  cs_centroids_nearest(m->target.centroids, m->target.k, m->dim, pred, mm, mc,
                       md);
  double tau = p->mix_tau > 0 ? p->mix_tau : 0.1, w[CS_SOFT_M_MAX], sum = 0;
  double d1 = (double)md[0] * md[0];
  for (int j = 0; j < mm; j++) {
    w[j] = exp(-((double)md[j] * md[j] - d1) / tau) *
           (p->mix_size != 0 ? pow((double)m->target.seg.n_users[mc[j]],
                                   (double)p->mix_size)
                             : 1.0);
    sum += w[j];
  }
  if (!(sum > 0)) {
    sum = 0;
    for (int j = 0; j < mm; j++) {
      w[j] = exp(-((double)md[j] * md[j] - d1) / tau);
      sum += w[j];
    }
  }
  for (int j = 0; j < mm; j++) w_out[j] = w[j] /= sum;
  const float *d0 = feat ? cs_d0_streams_vector(m, feat) : NULL;
  float v[32];
  for (int i = 0; i < m->dim; i++)
    v[i] = (float)((double)p->blend_beta * pred[i] +
                   (d0 ? (double)p->blend_d0 * d0[i] : 0.0));
  ranked_t *all = malloc((size_t)m->n_songs * sizeof *all);
  double prior = p->mix_prior;
  for (int32_t s = 0; s < m->n_songs; s++) {
    double acc = 0;
    uint32_t mk = 0;
    for (int j = 0; j < mm; j++) {
      if (!(w[j] > 0)) continue;
      float pj = seg_p(&m->target.seg, mc[j], s);
      if (pj > 0) {
        acc += w[j] * (double)pj;
        mk |= 1u << j;
      }
    }
    masks[s] = mk;
    float pop = seg_p(&m->popularity.seg, 0, s);
    double segsc = (1.0 - prior) * acc + prior * (double)pop;
    float sc;
    if (strategy == CS_STRAT_MIX) {
      sc = (float)segsc;
    } else {
      /* 16 lane chains over d = l, l + 16, ... (zero-padded), then the
       * lanes added pairwise (l + 8, + 4, + 2, + 1) */
      float lane[16] = {0};
      int dim16 = (m->dim + 15) / 16 * 16;
      for (int d = 0; d < dim16; d++)
        lane[d % 16] = fmaf(d < m->dim ? v[d] : 0.0f,
                            d < m->dim ? m->song_emb[(size_t)s * m->dim + d] : 0.0f,
                            lane[d % 16]);
      for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) lane[l] = lane[l] + lane[l + w];
      float dot = lane[0];
      sc = logf((float)(segsc + CS_BLEND_FLOOR)) + dot;
    }
    all[s] = (ranked_t){sc, s};
  }
  qsort(all, (size_t)m->n_songs, sizeof *all, cmp_ranked);
  for (int i = 0; i < p->k; i++) {
    songs[i] = all[i].song;
    scores[i] = all[i].score;
  }
  free(all);
}

/* A random model with the three segmentations, random embeddings and
 * centroids on a coarse grid (many exact distance ties). */
static void random_model(cs_model_t *m, cs_rng_t *rng, int dim) {
  memset(m, 0, sizeof *m);
  strcpy(m->space, "svd");
  m->dim = dim;
  m->n_features = cs_n_features(dim);
  m->n_songs = 20 + (int64_t)cs_rng_below(rng, 200);
  m->target.k = 1 + (int)cs_rng_below(rng, 40);
  m->target.dim = dim;
  int64_t *ids = cs_arena_alloc(&m->mem, (size_t)m->n_songs * sizeof(int64_t));
  float *emb = cs_arena_alloc(&m->mem, (size_t)m->n_songs * dim * sizeof(float));
  for (int64_t i = 0; i < m->n_songs; i++) ids[i] = i;
  for (int64_t i = 0; i < m->n_songs * dim; i++)
    emb[i] = (float)cs_rng_below(rng, 5) * 0.25f - 0.5f; /* score ties */
  m->song_ids = ids;
  m->song_emb = emb;
  float *c = cs_arena_alloc(&m->mem, (size_t)m->target.k * dim * sizeof(float));
  for (int i = 0; i < m->target.k * dim; i++) c[i] = (float)cs_rng_below(rng, 5);
  m->target.centroids = c;
  int64_t n_users = 1 + (int64_t)cs_rng_below(rng, 80);
  int32_t *assign = malloc((size_t)n_users * sizeof *assign);
  int64_t *ptr = malloc(((size_t)n_users + 1) * sizeof *ptr);
  int64_t *idx = malloc((size_t)n_users * 40 * sizeof *idx);
  ptr[0] = 0;
  for (int64_t u = 0; u < n_users; u++) {
    assign[u] = (int32_t)cs_rng_below(rng, (uint64_t)m->target.k + 1) - 1;
    int64_t n = 0, s = (int64_t)cs_rng_below(rng, 8);
    while (n < 40 && s < m->n_songs) {
      idx[ptr[u] + n++] = s;
      s += 1 + (int64_t)cs_rng_below(rng, 12);
    }
    ptr[u + 1] = ptr[u] + n;
  }
  assert_int_equal(cs_segments_build(m->target.k, assign, n_users, ptr, idx,
                                     m->n_songs, &m->target.seg, NULL), 0);
  assert_int_equal(cs_segments_build(1, NULL, n_users, ptr, idx, m->n_songs,
                                     &m->popularity.seg, NULL), 0);
  m->popularity.k = 1;
  m->popularity.dim = dim;
  free(assign);
  free(ptr);
  free(idx);
}

static void random_params(cs_rng_t *rng, const cs_model_t *m,
                          cs_strategy_params_t *p) {
  static const float taus[] = {0.01f, 0.1f, 1.0f, 10.0f, 0.0f};
  static const float sizes[] = {0.0f, 0.5f, 1.0f, 2.0f};
  static const float priors[] = {0.0f, 0.05f, 0.5f, 1.0f};
  static const float betas[] = {0.0f, 1.0f, 5.0f};
  cs_strategy_params_default(p);
  p->k = 1 + (int)cs_rng_below(rng, (uint64_t)(m->n_songs < 60 ? m->n_songs : 60));
  p->soft_m = 1;
  p->mix_m = (int)cs_rng_below(rng, 12); /* 0: the default (32) */
  p->mix_tau = taus[cs_rng_below(rng, 5)];
  p->mix_size = sizes[cs_rng_below(rng, 4)];
  p->mix_prior = priors[cs_rng_below(rng, 4)];
  p->blend_beta = betas[cs_rng_below(rng, 3)];
  p->blend_d0 = betas[cs_rng_below(rng, 3)];
}

static void random_user(cs_rng_t *rng, const cs_model_t *m, float *feat,
                        float *pred) {
  memset(feat, 0, (size_t)m->n_features * sizeof *feat);
  if (cs_rng_below(rng, 2)) /* half the users streamed something */
    for (int i = 0; i < m->dim; i++)
      feat[cs_feature_streamed_songs_block() * m->dim + i] =
          (float)cs_rng_normal(rng);
  for (int i = 0; i < m->dim; i++) pred[i] = (float)cs_rng_below(rng, 9) * 0.5f;
}

static void test_property(void **state) {
  (void)state;
  cs_rng_t rng;
  cs_rng_seed(&rng, 2024);
  for (int trial = 0; trial < 300; trial++) {
    cs_model_t m;
    random_model(&m, &rng, 1 + (int)cs_rng_below(&rng, 24));
    cs_strategy_params_t p;
    random_params(&rng, &m, &p);
    cs_err_t err;
    assert_int_equal(cs_strategy_params_check(&p, &m, &err), 0);
    cs_rec_ws_t *ws = NULL;
    assert_int_equal(cs_rec_ws_create(&ws, &m, &p, &err), 0);
    float *feat = malloc((size_t)m.n_features * sizeof *feat);
    for (int rep = 0; rep < 3; rep++) {
      float pred[32];
      random_user(&rng, &m, feat, pred);
      for (int strategy = CS_STRAT_MIX; strategy <= CS_STRAT_BLEND; strategy++) {
        const cs_rec_t *r;
        assert_int_equal(cs_recommend(&m, strategy, &p, feat, pred, ws, &r,
                                      &err), 0);
        assert_int_equal(r->n_items, p.k); /* always K ... */
        for (int i = 0; i < p.k; i++) {   /* ... distinct songs in range */
          assert_true(r->songs[i] >= 0 && r->songs[i] < m.n_songs);
          for (int j = 0; j < i; j++)
            assert_int_not_equal(r->songs[i], r->songs[j]);
        }
        int32_t songs[64], mc[CS_SOFT_M_MAX];
        float scores[64];
        uint32_t *masks = malloc((size_t)m.n_songs * sizeof *masks);
        double w[CS_SOFT_M_MAX];
        naive(&m, strategy, &p, feat, pred, songs, scores, masks, mc, w);
        int mm = p.mix_m > 0 ? p.mix_m : 32;
        assert_int_equal(r->n_members, mm < m.target.k ? mm : m.target.k);
        for (int j = 0; j < r->n_members; j++) {
          assert_int_equal(r->member_cluster[j], mc[j]);
          assert_true(r->member_weight[j] == (float)w[j]);
        }
        for (int i = 0; i < p.k; i++) {
          assert_int_equal(r->songs[i], songs[i]);
          assert_true(r->scores[i] == scores[i]); /* bit for bit */
          assert_int_equal(r->item_mask[i], masks[songs[i]]);
        }
        free(masks);
      }
    }
    free(feat);
    cs_rec_ws_free(ws);
    cs_model_free(&m);
  }
}

/* --- batch = one user ----------------------------------------------------- */

static void test_batch_equals_one_user(void **state) {
  (void)state;
  cs_rng_t rng;
  cs_rng_seed(&rng, 77);
  for (int trial = 0; trial < 12; trial++) {
    cs_model_t m;
    random_model(&m, &rng, trial % 3 == 0 ? 3 : trial % 3 == 1 ? 16 : 21);
    cs_strategy_params_t p;
    random_params(&rng, &m, &p);
    p.blend_beta = 1.0f + (float)trial; /* the dot products matter */
    int64_t n_users = 150 + (int64_t)cs_rng_below(&rng, 60);
    float *feat = malloc((size_t)n_users * m.n_features * sizeof *feat);
    float *pred = malloc((size_t)n_users * m.dim * sizeof *pred);
    for (int64_t u = 0; u < n_users; u++)
      random_user(&rng, &m, feat + u * m.n_features, pred + u * m.dim);
    /* every other user, backwards: rows not in split order */
    int64_t n_rows = n_users / 2, *rows = malloc((size_t)n_rows * sizeof *rows);
    for (int64_t i = 0; i < n_rows; i++) rows[i] = n_users - 1 - 2 * i;
    cs_err_t err;
    cs_rec_ws_t *ws = NULL;
    assert_int_equal(cs_rec_ws_create(&ws, &m, &p, &err), 0);
    for (int threads = 1; threads <= 3; threads += 2) {
      cs_ctx_t ctx;
      cs_ctx_init(&ctx);
      ctx.n_threads = threads;
      cs_rec_batch_t *b = NULL;
      assert_int_equal(cs_rec_batch_create(&b, &m, &p, n_users, threads, &err), 0);
      for (int strategy = CS_STRAT_MIX; strategy <= CS_STRAT_BLEND; strategy++) {
        for (int sub = 0; sub < 2; sub++) {
          const int64_t *rw = sub ? rows : NULL;
          int64_t n = sub ? n_rows : n_users;
          assert_int_equal(cs_recommend_batch(&ctx, &m, strategy, &p, feat, pred,
                                              rw, n, b, &err), 0);
          float *dense = malloc((size_t)n * m.n_songs * sizeof *dense);
          assert_int_equal(cs_rec_batch_scores(&m, strategy, feat, pred, rw, n,
                                               b, dense), 1);
          for (int64_t i = 0; i < n; i++) {
            int64_t u = rw ? rw[i] : i;
            const cs_rec_t *a = cs_rec_batch_get(b, i), *r;
            assert_int_equal(cs_recommend(&m, strategy, &p,
                                          feat + u * m.n_features,
                                          pred + u * m.dim, ws, &r, &err), 0);
            assert_int_equal(a->strategy, strategy);
            assert_int_equal(a->n_items, r->n_items);
            assert_int_equal(a->n_members, r->n_members);
            assert_memory_equal(a->songs, r->songs, (size_t)r->n_items * 4);
            assert_memory_equal(a->scores, r->scores, (size_t)r->n_items * 4);
            assert_memory_equal(a->item_mask, r->item_mask, (size_t)r->n_items * 4);
            assert_memory_equal(a->member_cluster, r->member_cluster,
                                (size_t)r->n_members * 4);
            assert_memory_equal(a->member_weight, r->member_weight,
                                (size_t)r->n_members * 4);
            /* the dense vector ranks the same list with the same scores */
            const float *row = dense + (size_t)i * m.n_songs;
            for (int x = 0; x < r->n_items; x++) {
              int32_t s = r->songs[x];
              assert_true(row[s] == r->scores[x]);
              for (int32_t t = 0; t < m.n_songs; t++) {
                int before = 0;
                for (int y = 0; y < x; y++) before |= r->songs[y] == t;
                if (before || t == s) continue;
                assert_true(row[t] < row[s] || (row[t] == row[s] && t > s));
              }
            }
          }
          free(dense);
        }
      }
      cs_rec_batch_free(b);
    }
    cs_rec_ws_free(ws);
    free(rows);
    free(feat);
    free(pred);
    cs_model_free(&m);
  }
}

/* --- parameters and tuned defaults --------------------------------------- */

static void test_params(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_strategy_params_t p;
  cs_strategy_params_default(&p);
  p.k = 5;
  p.soft_m = 2;
  cs_err_t err;
  assert_int_equal(cs_strategy_params_check(&p, &m, &err), 0);
  assert_int_equal(p.mix_m, 32); /* clamped to the model's 3 segments */
  cs_rec_ws_t *ws = NULL;
  float pred[DIM] = {1, 0};
  const cs_rec_t *r = run(&m, CS_STRAT_MIX, &p, NULL, pred, &ws);
  assert_int_equal(r->n_members, 3);
  cs_rec_ws_free(ws);
  struct { int field; float v; } bad[] = {
      {0, 33}, {0, -1}, {1, 1e-5f}, {1, 101}, {1, NAN}, {2, -0.1f}, {2, 4.5f},
      {3, -0.01f}, {3, 1.01f}, {4, -1}, {4, INFINITY}, {5, -1}, {5, 1001}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cs_strategy_params_t q = p;
    switch (bad[i].field) {
    case 0: q.mix_m = (int)bad[i].v; break;
    case 1: q.mix_tau = bad[i].v; break;
    case 2: q.mix_size = bad[i].v; break;
    case 3: q.mix_prior = bad[i].v; break;
    case 4: q.blend_beta = bad[i].v; break;
    default: q.blend_d0 = bad[i].v; break;
    }
    assert_int_equal(cs_strategy_params_check(&q, &m, &err), CS_ERANGE);
  }
  /* zero-initialized mix_m and tau mean the defaults */
  cs_strategy_params_t z = {.k = 5, .soft_m = 1};
  assert_int_equal(cs_strategy_params_check(&z, &m, &err), 0);

  /* tuned defaults: taken unless given */
  cs_strategy_params_default(&p);
  cs_strategy_params_from_model(&p, &m); /* untuned model: unchanged */
  assert_float_equal(p.mix_tau, 0.1f, 0);
  assert_int_equal(cs_strategy_model_default(&m, CS_STRAT_SOFT), CS_STRAT_SOFT);
  m.tuning = (cs_model_tuning_t){1, "blend", 3, 8, 0.2f, 0.5f, 0.1f, 2.0f, 0.7f};
  p.mix_prior = 0.9f;
  p.given = CS_SP_MIX_PRIOR;
  cs_strategy_params_from_model(&p, &m);
  assert_int_equal(p.mix_m, 8);
  assert_float_equal(p.mix_tau, 0.2f, 0);
  assert_float_equal(p.mix_size, 0.5f, 0);
  assert_float_equal(p.mix_prior, 0.9f, 0); /* given: kept */
  assert_float_equal(p.blend_beta, 2.0f, 0);
  assert_float_equal(p.blend_d0, 0.7f, 0);
  assert_int_equal(cs_strategy_model_default(&m, CS_STRAT_SOFT), CS_STRAT_BLEND);
  strcpy(m.tuning.strategy, "nope");
  assert_int_equal(cs_strategy_model_default(&m, CS_STRAT_SOFT), CS_STRAT_SOFT);
  cs_model_free(&m);
}

static void test_tuning_file(void **state) {
  (void)state;
  cs_model_t m, l;
  make_model(&m, 1);
  char path[] = "/tmp/cs_mix_test_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  cs_err_t err;
  /* untuned (the format of every file written before the section): no
   * tuned defaults after loading */
  assert_int_equal(cs_model_save(&m, path, &err), 0);
  assert_int_equal(cs_model_load(&l, path, &err), 0);
  assert_int_equal(l.tuning.present, 0);
  cs_container_t *c = NULL;
  assert_int_equal(cs_container_load(&c, path, "model", &err), 0);
  size_t size;
  assert_null(cs_container_get(c, "tune.params", &size));
  cs_container_unref(c);
  cs_model_free(&l);
  /* tuned: every field round-trips */
  m.tuning = (cs_model_tuning_t){1, "mix", 3, 12, 0.05f, 1.5f, 0.2f, 3.0f, 0.25f};
  assert_int_equal(cs_model_save(&m, path, &err), 0);
  assert_int_equal(cs_model_load(&l, path, &err), 0);
  assert_int_equal(l.tuning.present, 1);
  assert_string_equal(l.tuning.strategy, "mix");
  assert_int_equal(l.tuning.k, 3);
  assert_int_equal(l.tuning.mix_m, 12);
  assert_float_equal(l.tuning.mix_tau, 0.05f, 0);
  assert_float_equal(l.tuning.mix_size, 1.5f, 0);
  assert_float_equal(l.tuning.mix_prior, 0.2f, 0);
  assert_float_equal(l.tuning.blend_beta, 3.0f, 0);
  assert_float_equal(l.tuning.blend_d0, 0.25f, 0);
  cs_model_free(&l);
  /* bad values are refused with the section named */
  m.tuning.mix_tau = -1.0f;
  assert_int_equal(cs_model_save(&m, path, &err), 0);
  assert_int_equal(cs_model_load(&l, path, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "tune.params"));
  strcpy(m.tuning.strategy, "Bad Name");
  m.tuning.mix_tau = 0.1f;
  assert_int_equal(cs_model_save(&m, path, &err), 0);
  assert_int_equal(cs_model_load(&l, path, &err), CS_EFORMAT);
  unlink(path);
  cs_model_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mix_known),
      cmocka_unit_test(test_blend_known),
      cmocka_unit_test(test_property),
      cmocka_unit_test(test_batch_equals_one_user),
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_tuning_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* strategy_test.c: each strategy on a hand-made model with known answers,
 * the soft allocation's slot arithmetic, dedup, fill and cluster
 * attribution, a property test against a naive reference over random
 * models, and identical recommendations after a model save/load. */
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
#include "coldstart/kmeans.h"
#include "coldstart/layout.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/rng.h"
#include "coldstart/strategy.h"
#include "coldstart/train.h"

#define DIM 2
#define NF (20 * DIM + 19)
#define NS 10

/* The hand-made model:
 * songs 0..9; song_emb x = {.1,.5,.3,.9,.2,.9,0,0,0,0}, y = 0.
 * centroids c0 (0,0), c1 (4,0), c2 (0,10).
 * users 0..5 assigned to 0,0,1,1,2,2 with truths
 *   {0,1,2} {0,1} | {1,3,4} {3,4,5} | {6,7} {7,8}
 *   -> c0 ranking [0,1,2] p .4 .4 .2; c1 [3,4,1,5] p 1/3 1/3 1/6 1/6;
 *      c2 [7,6,8] p .5 .25 .25.
 * input clusters: centroids e0, e1 over features; users -> 0,0,0,1,1,1.
 * popularity ranking [1,0,3,4,7,2,5,6,8] then 9. */
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
  c[2] = 4.0f;  /* c1 = (4, 0) */
  c[5] = 10.0f; /* c2 = (0, 10) */
  m->target.centroids = c;
  const int32_t assign[6] = {0, 0, 1, 1, 2, 2};
  assert_int_equal(cs_segments_build(3, assign, 6, truth_ptr, truth_idx, NS,
                                     &m->target.seg, NULL), 0);
  m->input.k = 2;
  m->input.dim = NF;
  float *ic = cs_arena_alloc(&m->mem, 2 * NF * sizeof(float));
  ic[0] = 1.0f;
  ic[NF + 1] = 1.0f;
  m->input.centroids = ic;
  const int32_t in_assign[6] = {0, 0, 0, 1, 1, 1};
  assert_int_equal(cs_segments_build(2, in_assign, 6, truth_ptr, truth_idx,
                                     NS, &m->input.seg, NULL), 0);
  m->popularity.k = 1;
  m->popularity.dim = DIM;
  assert_int_equal(cs_segments_build(1, NULL, 6, truth_ptr, truth_idx, NS,
                                     &m->popularity.seg, NULL), 0);
  if (with_regressor)
    assert_int_equal(cs_regressor_create(&m->regressor, NF, DIM, 7, NULL), 0);
}

static const cs_rec_t *run(const cs_model_t *m, int strategy, int k, int sm,
                           int margin, const float *feat, const float *pred,
                           cs_rec_ws_t **ws) {
  cs_strategy_params_t p = {.k = k, .soft_m = sm, .soft_margin = margin};
  cs_err_t err;
  if (*ws) cs_rec_ws_free(*ws);
  assert_int_equal(cs_rec_ws_create(ws, m, &p, &err), 0);
  const cs_rec_t *r = NULL;
  assert_int_equal(cs_recommend(m, strategy, &p, feat, pred, *ws, &r, &err), 0);
  return r;
}

static void expect_songs(const cs_rec_t *r, const int32_t *songs, int n) {
  assert_int_equal(r->n_items, n);
  for (int i = 0; i < n; i++) assert_int_equal(r->songs[i], songs[i]);
}

static void test_names(void **state) {
  (void)state;
  const char *expect[] = {"popularity", "d0-streams", "input-clusters",
                          "full", "semi", "soft", "mix", "blend"};
  for (int i = 0; i < CS_N_STRATEGIES; i++) {
    assert_string_equal(cs_strategy_name(i), expect[i]);
    assert_int_equal(cs_strategy_parse(expect[i]), i);
  }
  assert_int_equal(cs_strategy_parse("Soft"), -1);
}

static void test_soft_slots(void **state) {
  (void)state;
  int a[5];
  const double w1[3] = {0.5, 0.3, 0.2}; /* 27, 16.2, 10.8 -> 27 16 11 */
  cs_soft_slots(w1, 3, 54, a);
  assert_int_equal(a[0], 27);
  assert_int_equal(a[1], 16);
  assert_int_equal(a[2], 11);
  const double w2[4] = {0.25, 0.25, 0.25, 0.25}; /* 1.5 each: ties -> j low */
  cs_soft_slots(w2, 4, 6, a);
  assert_int_equal(a[0], 2);
  assert_int_equal(a[1], 2);
  assert_int_equal(a[2], 1);
  assert_int_equal(a[3], 1);
  const double w3[5] = {0.46, 0.22, 0.14, 0.10, 0.08}; /* T = 54 */
  /* 24.84 11.88 7.56 5.4 4.32 -> floors 24 11 7 5 4 = 51; 3 left to
   * .88 (j1), .84 (j0), .56 (j2) */
  cs_soft_slots(w3, 5, 54, a);
  assert_int_equal(a[0], 25);
  assert_int_equal(a[1], 12);
  assert_int_equal(a[2], 8);
  assert_int_equal(a[3], 5);
  assert_int_equal(a[4], 4);
  const double w4[1] = {1.0};
  cs_soft_slots(w4, 1, 54, a);
  assert_int_equal(a[0], 54);
}

static void test_popularity_semi_input(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_rec_ws_t *ws = NULL;
  float feat[NF] = {0}, pred[DIM] = {3.5f, 0.0f};
  const int32_t pop[NS] = {1, 0, 3, 4, 7, 2, 5, 6, 8, 9};
  const cs_rec_t *r = run(&m, CS_STRAT_POPULARITY, 10, 1, 0, feat, NULL, &ws);
  expect_songs(r, pop, 10);
  assert_int_equal(r->n_members, 0);
  assert_int_equal(r->item_mask[0], 0);
  assert_float_equal(r->scores[0], 3.0f / 15.0f, 1e-7);
  assert_float_equal(r->scores[9], 0.0f, 0);

  r = run(&m, CS_STRAT_SEMI, 8, 1, 0, feat, pred, &ws);
  const int32_t semi[8] = {3, 4, 1, 5, 0, 2, 6, 7}; /* list, zero tail */
  expect_songs(r, semi, 8);
  assert_int_equal(r->n_members, 1);
  assert_int_equal(r->member_cluster[0], 1);
  assert_float_equal(r->member_dist[0], 0.5f, 1e-6);
  assert_float_equal(r->member_weight[0], 1.0f, 0);
  for (int i = 0; i < 8; i++) assert_int_equal(r->item_mask[i], 1);
  assert_float_equal(r->scores[0], 1.0f / 3.0f, 1e-7);
  assert_float_equal(r->scores[3], 1.0f / 6.0f, 1e-7);

  feat[1] = 3.0f; /* normalized: e1 -> input cluster 1 */
  r = run(&m, CS_STRAT_INPUT_CLUSTERS, 6, 1, 0, feat, NULL, &ws);
  const int32_t inp[6] = {7, 3, 4, 5, 6, 8};
  expect_songs(r, inp, 6);
  assert_int_equal(r->n_members, 1);
  assert_int_equal(r->member_cluster[0], 1);
  assert_float_equal(r->member_dist[0], 0.0f, 1e-6);
  cs_rec_ws_free(ws);
  cs_model_free(&m);
}

static void test_dot_strategies(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_rec_ws_t *ws = NULL;
  float feat[NF] = {0}, pred[DIM] = {1.0f, 0.0f};
  const int32_t top[4] = {3, 5, 1, 2}; /* .9 .9 (tie: lower row) .5 .3 */
  const cs_rec_t *r = run(&m, CS_STRAT_FULL, 4, 1, 0, feat, pred, &ws);
  expect_songs(r, top, 4);
  assert_int_equal(r->n_members, 0);
  assert_float_equal(r->scores[0], 0.9f, 1e-6);
  /* d0-streams: zero streamed_songs block -> popularity */
  r = run(&m, CS_STRAT_D0_STREAMS, 4, 1, 0, feat, NULL, &ws);
  const int32_t pop[4] = {1, 0, 3, 4};
  expect_songs(r, pop, 4);
  /* a non-zero block (columns 10*DIM .. 11*DIM-1) */
  feat[cs_feature_streamed_songs_block() * DIM] = 2.0f;
  feat[0] = -5.0f; /* other blocks do not matter */
  r = run(&m, CS_STRAT_D0_STREAMS, 4, 1, 0, feat, NULL, &ws);
  expect_songs(r, top, 4);
  assert_float_equal(r->scores[0], 1.8f, 1e-6);
  cs_rec_ws_free(ws);
  cs_model_free(&m);
}

static void test_soft_known(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_rec_ws_t *ws = NULL;
  float feat[NF] = {0};
  /* pred (1,0): d = 1, 3 -> w = .75, .25; T = 5: 3.75, 1.25 -> a = 4, 1.
   * c0 has only 3 songs (its 4th slot goes to the fill, not to a p = 0
   * song): candidates [0 1 2] + [3]: K = 4 reached. */
  float pred1[DIM] = {1.0f, 0.0f};
  const cs_rec_t *r = run(&m, CS_STRAT_SOFT, 4, 2, 1, feat, pred1, &ws);
  const int32_t s1[4] = {0, 1, 2, 3};
  expect_songs(r, s1, 4);
  assert_int_equal(r->n_members, 2);
  assert_int_equal(r->member_cluster[0], 0);
  assert_int_equal(r->member_cluster[1], 1);
  assert_float_equal(r->member_weight[0], 0.75f, 1e-6);
  assert_float_equal(r->member_weight[1], 0.25f, 1e-6);
  assert_float_equal(r->member_dist[1], 3.0f, 1e-6);
  const uint32_t m1[4] = {1, 1, 1, 2};
  for (int i = 0; i < 4; i++) assert_int_equal(r->item_mask[i], m1[i]);
  assert_float_equal(r->scores[0], 0.3f, 1e-6);
  assert_float_equal(r->scores[1], 0.3f + 0.25f / 6.0f, 1e-6);
  assert_float_equal(r->scores[3], 0.25f / 3.0f, 1e-6);

  /* pred (2,0): equidistant -> w .5/.5, members [0, 1] (tie: lower index).
   * K = 6, margin 0: a = 3, 3: [0 1 2] + [3 4 (1 dup)] = 5, fill by
   * mixture: song 5 (.5/6); song 1 carries both clusters. */
  float pred2[DIM] = {2.0f, 0.0f};
  r = run(&m, CS_STRAT_SOFT, 6, 2, 0, feat, pred2, &ws);
  const int32_t s2[6] = {0, 1, 2, 3, 4, 5};
  expect_songs(r, s2, 6);
  const uint32_t m2[6] = {1, 3, 1, 2, 2, 2};
  for (int i = 0; i < 6; i++) assert_int_equal(r->item_mask[i], m2[i]);
  assert_float_equal(r->scores[5], 0.5f / 6.0f, 1e-6);

  /* K = 7: T = 7, 3.5/3.5 -> tie to j = 0: a = 4, 3; c0 gives 3, c1 gives
   * [3 4 1] (1 gains c1); fill 5 then zero-score songs by row: 6. */
  r = run(&m, CS_STRAT_SOFT, 7, 2, 0, feat, pred2, &ws);
  const int32_t s3[7] = {0, 1, 2, 3, 4, 5, 6};
  expect_songs(r, s3, 7);
  const uint32_t m3[7] = {1, 3, 1, 2, 2, 2, 0};
  for (int i = 0; i < 7; i++) assert_int_equal(r->item_mask[i], m3[i]);
  assert_float_equal(r->scores[6], 0.0f, 0);

  /* Cut to K: T = K + margin candidates, only K delivered. K = 3, margin
   * 3: a = 3, 3 -> [0 1 2 3 4] cut to [0 1 2]; song 1 still has c1. */
  r = run(&m, CS_STRAT_SOFT, 3, 2, 3, feat, pred2, &ws);
  const int32_t s4[3] = {0, 1, 2};
  expect_songs(r, s4, 3);
  assert_int_equal(r->item_mask[1], 3);

  /* m = 3 brings c2 in: fill songs from it carry its bit (bit 2). */
  r = run(&m, CS_STRAT_SOFT, 9, 3, 0, feat, pred2, &ws);
  int found7 = 0;
  for (int i = 0; i < r->n_items; i++)
    if (r->songs[i] == 7) {
      found7 = 1;
      assert_true(r->item_mask[i] & 4u);
    }
  assert_true(found7);

  /* an embedding that is not finite (features beyond the model's range
   * overflowing the layers) is refused by every embedding strategy, and
   * k = 0 is refused */
  float bad[DIM] = {NAN, 0.0f};
  cs_strategy_params_t sp = {.k = 4, .soft_m = 2, .soft_margin = 1};
  cs_err_t err;
  for (int st = CS_STRAT_FULL; st <= CS_STRAT_SOFT; st++) {
    assert_int_equal(cs_recommend(&m, st, &sp, feat, bad, ws, &r, &err), CS_ERANGE);
    assert_non_null(strstr(err.msg, "not finite"));
  }
  bad[0] = INFINITY;
  assert_int_equal(cs_recommend(&m, CS_STRAT_SOFT, &sp, feat, bad, ws, &r, &err), CS_ERANGE);
  sp.k = 0;
  assert_int_equal(cs_recommend(&m, CS_STRAT_POPULARITY, &sp, feat, NULL, ws, &r, &err),
                   CS_EINVAL);
  cs_rec_ws_free(ws);
  cs_model_free(&m);
}

/* --- property test against a naive reference -------------------------- */

static void naive_soft(const cs_model_t *m, const float *pred, int K, int sm,
                       int margin, int32_t *songs, uint32_t *masks) {
  int32_t idx[CS_SOFT_M_MAX];
  float dist[CS_SOFT_M_MAX];
  /* nearest by full sort of exact distances (same arithmetic) */
  int n_k = m->target.k;
  float *all = malloc((size_t)n_k * sizeof *all);
  int *ord = malloc((size_t)n_k * sizeof *ord);
  for (int c = 0; c < n_k; c++) {
    cs_centroids_nearest(m->target.centroids + (size_t)c * m->dim, 1, m->dim,
                         pred, 1, idx, dist);
    all[c] = dist[0];
    ord[c] = c;
  }
  for (int i = 1; i < n_k; i++) /* insertion sort: stable, ties by index */
    for (int j = i; j > 0 && all[ord[j]] < all[ord[j - 1]]; j--) {
      int t = ord[j];
      ord[j] = ord[j - 1];
      ord[j - 1] = t;
    }
  double w[CS_SOFT_M_MAX], sum = 0;
  for (int j = 0; j < sm; j++) sum += (w[j] = 1.0 / ((double)all[ord[j]] + 1e-10));
  for (int j = 0; j < sm; j++) w[j] /= sum;
  int a[CS_SOFT_M_MAX];
  cs_soft_slots(w, sm, K + margin, a);
  int n_songs = (int)m->n_songs;
  float *score = calloc((size_t)n_songs, sizeof *score);
  uint32_t *has = calloc((size_t)n_songs, sizeof *has);
  for (int j = 0; j < sm; j++) {
    const cs_segments_t *s = &m->target.seg;
    int c = ord[j];
    for (int64_t i = s->indptr[c]; i < s->indptr[c + 1]; i++) {
      score[s->songs[i]] += (float)(w[j] * (double)s->p[i]);
      has[s->songs[i]] |= 1u << j;
    }
  }
  int n = 0;
  int32_t cand[4096];
  uint32_t cmask[4096];
  for (int j = 0; j < sm; j++) {
    const cs_segments_t *s = &m->target.seg;
    int c = ord[j];
    for (int64_t i = 0; i < a[j] && i < cs_segments_len(s, c); i++) {
      int32_t song = s->songs[s->indptr[c] + i];
      int dup = -1;
      for (int t = 0; t < n; t++)
        if (cand[t] == song) dup = t;
      if (dup >= 0) {
        cmask[dup] |= 1u << j;
      } else {
        cand[n] = song;
        cmask[n++] = 1u << j;
      }
    }
  }
  if (n > K) n = K;
  while (n < K) { /* best remaining by (score desc, row asc) */
    int best = -1;
    for (int s = 0; s < n_songs; s++) {
      int taken = 0;
      for (int t = 0; t < n && !taken; t++) taken = cand[t] == s;
      if (!taken && (best < 0 || score[s] > score[best])) best = s;
    }
    cand[n] = best;
    cmask[n++] = has[best];
  }
  memcpy(songs, cand, (size_t)K * sizeof *songs);
  memcpy(masks, cmask, (size_t)K * sizeof *masks);
  free(all);
  free(ord);
  free(score);
  free(has);
}

static void random_model(cs_model_t *m, cs_rng_t *rng) {
  memset(m, 0, sizeof *m);
  m->dim = 3;
  m->n_features = cs_n_features(3);
  m->n_songs = 20 + (int64_t)cs_rng_below(rng, 200);
  m->target.k = 1 + (int)cs_rng_below(rng, 12);
  m->target.dim = 3;
  int64_t *ids = cs_arena_alloc(&m->mem, (size_t)m->n_songs * sizeof(int64_t));
  m->song_emb = cs_arena_alloc(&m->mem, (size_t)m->n_songs * 3 * sizeof(float));
  for (int64_t i = 0; i < m->n_songs; i++) ids[i] = i;
  m->song_ids = ids;
  float *c = cs_arena_alloc(&m->mem, (size_t)m->target.k * 3 * sizeof(float));
  for (int i = 0; i < m->target.k * 3; i++)
    c[i] = (float)cs_rng_below(rng, 5); /* many exact ties */
  m->target.centroids = c;
  int64_t n_users = 1 + (int64_t)cs_rng_below(rng, 60);
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
  free(assign);
  free(ptr);
  free(idx);
}

static void test_soft_property(void **state) {
  (void)state;
  cs_rng_t rng;
  cs_rng_seed(&rng, 99);
  for (int trial = 0; trial < 300; trial++) {
    cs_model_t m;
    random_model(&m, &rng);
    int sm = 1 + (int)cs_rng_below(&rng, (uint64_t)(m.target.k < 8 ? m.target.k : 8));
    int K = 1 + (int)cs_rng_below(&rng, (uint64_t)m.n_songs);
    if (K > 100) K = 100;
    int margin = (int)cs_rng_below(&rng, 6);
    cs_strategy_params_t p = {.k = K, .soft_m = sm, .soft_margin = margin};
    cs_rec_ws_t *ws = NULL;
    assert_int_equal(cs_rec_ws_create(&ws, &m, &p, NULL), 0);
    for (int rep = 0; rep < 3; rep++) {
      float pred[3];
      for (int i = 0; i < 3; i++) pred[i] = (float)cs_rng_below(&rng, 9) * 0.5f;
      const cs_rec_t *r;
      assert_int_equal(cs_recommend(&m, CS_STRAT_SOFT, &p, NULL, pred, ws, &r,
                                    NULL), 0);
      assert_int_equal(r->n_items, K); /* always K ... */
      for (int i = 0; i < K; i++) {   /* ... distinct songs in range */
        assert_true(r->songs[i] >= 0 && r->songs[i] < m.n_songs);
        for (int j = 0; j < i; j++) assert_int_not_equal(r->songs[i], r->songs[j]);
      }
      int32_t songs[128];
      uint32_t masks[128];
      naive_soft(&m, pred, K, sm, margin, songs, masks);
      for (int i = 0; i < K; i++) {
        assert_int_equal(r->songs[i], songs[i]);
        assert_int_equal(r->item_mask[i], masks[i]);
      }
      /* The reference fill (accumulate every listed song; used for files
       * without the by-song order) gives the same songs, clusters and
       * bitwise the same scores as the threshold fill. */
      float sc[128];
      memcpy(sc, r->scores, (size_t)K * sizeof *sc);
      int32_t *bs = m.target.seg.by_song;
      m.target.seg.by_song = NULL;
      assert_int_equal(cs_recommend(&m, CS_STRAT_SOFT, &p, NULL, pred, ws, &r,
                                    NULL), 0);
      m.target.seg.by_song = bs;
      assert_memory_equal(r->songs, songs, (size_t)K * sizeof *songs);
      assert_memory_equal(r->item_mask, masks, (size_t)K * sizeof *masks);
      assert_memory_equal(r->scores, sc, (size_t)K * sizeof *sc);
      /* without scores (evaluation): the same songs and clusters */
      cs_strategy_params_t pq = p;
      pq.skip_scores = 1;
      assert_int_equal(cs_recommend(&m, CS_STRAT_SOFT, &pq, NULL, pred, ws, &r,
                                    NULL), 0);
      for (int i = 0; i < K; i++) {
        assert_int_equal(r->songs[i], songs[i]);
        assert_int_equal(r->item_mask[i], masks[i]);
      }
      /* semi = soft with m = 1 and margin 0 when the cluster has >= K songs */
      cs_strategy_params_t p1 = {.k = K, .soft_m = 1, .soft_margin = 0};
      assert_int_equal(cs_recommend(&m, CS_STRAT_SEMI, &p1, NULL, pred, ws,
                                    &r, NULL), 0);
      int32_t semi[128];
      memcpy(semi, r->songs, (size_t)K * sizeof *semi);
      int32_t c = r->member_cluster[0];
      assert_int_equal(cs_recommend(&m, CS_STRAT_SOFT, &p1, NULL, pred, ws,
                                    &r, NULL), 0);
      assert_int_equal(r->member_cluster[0], c);
      if (cs_segments_len(&m.target.seg, c) >= K)
        for (int i = 0; i < K; i++) assert_int_equal(r->songs[i], semi[i]);
    }
    cs_rec_ws_free(ws);
    cs_model_free(&m);
  }
}

/* --- model file round trip --------------------------------------------- */

static void test_model_roundtrip(void **state) {
  (void)state;
  cs_model_t m, l;
  make_model(&m, 1);
  char path[] = "/tmp/cs_strategy_test_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  cs_err_t err;
  assert_int_equal(cs_model_save(&m, path, &err), 0);
  assert_int_equal(cs_model_load(&l, path, &err), 0);
  assert_int_equal(l.target.k, 3);
  assert_int_equal(l.input.k, 2);
  assert_int_equal(l.n_songs, NS);
  assert_string_equal(l.space, "svd");
  assert_null(l.featurizer);
  cs_strategy_params_t p = {.k = 5, .soft_m = 2, .soft_margin = 1};
  cs_rec_ws_t *w1 = NULL, *w2 = NULL;
  assert_int_equal(cs_rec_ws_create(&w1, &m, &p, &err), 0);
  assert_int_equal(cs_rec_ws_create(&w2, &l, &p, &err), 0);
  cs_rng_t rng;
  cs_rng_seed(&rng, 5);
  float feat[NF];
  for (int trial = 0; trial < 20; trial++) {
    for (int i = 0; i < NF; i++) feat[i] = (float)cs_rng_normal(&rng);
    for (int s = 0; s < CS_N_STRATEGIES; s++) {
      const cs_rec_t *a, *b;
      assert_int_equal(cs_recommend(&m, s, &p, feat, NULL, w1, &a, &err), 0);
      assert_int_equal(cs_recommend(&l, s, &p, feat, NULL, w2, &b, &err), 0);
      assert_int_equal(a->n_items, b->n_items);
      assert_int_equal(a->n_members, b->n_members);
      assert_memory_equal(a->songs, b->songs, (size_t)a->n_items * 4);
      assert_memory_equal(a->scores, b->scores, (size_t)a->n_items * 4);
      assert_memory_equal(a->item_mask, b->item_mask, (size_t)a->n_items * 4);
      assert_memory_equal(a->member_cluster, b->member_cluster,
                          (size_t)a->n_members * 4);
    }
  }
  cs_rec_ws_free(w1);
  cs_rec_ws_free(w2);
  cs_model_free(&m);
  cs_model_free(&l);
  /* A corrupted file is refused with an error, not a crash. */
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, 200, SEEK_SET);
  fputc(0x5a, f);
  fclose(f);
  assert_int_not_equal(cs_model_load(&l, path, &err), 0);
  unlink(path);
}

/* Files whose checksums are right but whose content is not: refused at
 * load, naming what is wrong. */
static void save_load_fails(cs_model_t *m, const char *want) {
  char path[] = "/tmp/cs_strategy_forged_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  cs_err_t err;
  cs_model_t l;
  assert_int_equal(cs_model_save(m, path, &err), 0);
  assert_int_equal(cs_model_load(&l, path, &err), CS_EFORMAT);
  if (!strstr(err.msg, want)) fail_msg("'%s' should name '%s'", err.msg, want);
  unlink(path);
}

static void test_model_forged_content(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 1);
  cs_segments_t *seg = &m.target.seg;
  float *p = (float *)seg->p;
  int64_t at = seg->indptr[1] + 2; /* c1 [3 4 1 5]: p 1/3 1/3 1/6 1/6 */
  float keep = p[at];
  p[at] = 0.5f; /* rises along the list */
  save_load_fails(&m, "ranking");
  p[at] = keep;
  assert_non_null(seg->by_song_p);
  float *bp = (float *)seg->by_song_p;
  keep = bp[0];
  bp[0] = keep * 2.0f; /* by-song copy disagrees with the list */
  save_load_fails(&m, "ranking");
  bp[0] = keep;
  float *emb = (float *)m.song_emb;
  emb[3] = NAN;
  save_load_fails(&m, "song_emb");
  emb[3] = 0.0f;
  float *cen = (float *)m.target.centroids;
  cen[1] = INFINITY;
  save_load_fails(&m, "centroids");
  cs_model_free(&m);
}

static void test_params_check(void **state) {
  (void)state;
  cs_model_t m;
  make_model(&m, 0);
  cs_strategy_params_t p = {.k = 11, .soft_m = 1, .soft_margin = 0};
  cs_err_t err;
  assert_int_equal(cs_strategy_params_check(&p, &m, &err), CS_ERANGE);
  p.k = 5;
  p.soft_m = 4; /* model has 3 clusters */
  assert_int_equal(cs_strategy_params_check(&p, &m, &err), CS_ERANGE);
  p.soft_m = 3;
  assert_int_equal(cs_strategy_params_check(&p, &m, &err), 0);
  cs_model_free(&m);
}

/* The O(1) lookup index gives p_c(s) exactly as the binary search and the
 * ranking scan, for every (segment, song) of random models. */
static void test_segments_index(void **state) {
  (void)state;
  cs_rng_t rng;
  cs_rng_seed(&rng, 41);
  for (int trial = 0; trial < 40; trial++) {
    cs_model_t m;
    random_model(&m, &rng);
    cs_segments_t *seg = &m.target.seg;
    float *want = malloc((size_t)seg->k * m.n_songs * sizeof *want);
    for (int32_t c = 0; c < seg->k; c++)
      for (int32_t song = 0; song < m.n_songs; song++)
        want[(size_t)c * m.n_songs + song] = cs_segments_p(seg, c, song);
    assert_int_equal(cs_segments_index(seg), 0);
    assert_non_null(seg->index);
    for (int32_t c = 0; c < seg->k; c++)
      for (int32_t song = 0; song < m.n_songs; song++)
        assert_true(cs_segments_p(seg, c, song) ==
                    want[(size_t)c * m.n_songs + song]);
    /* and all pairs at once, in a random order with repeats */
    int64_t n_pairs = 3 * (int64_t)seg->k * m.n_songs;
    int32_t *pc = malloc((size_t)n_pairs * sizeof *pc);
    int32_t *ps = malloc((size_t)n_pairs * sizeof *ps);
    int64_t *pos = malloc((size_t)n_pairs * sizeof *pos);
    float *got = malloc((size_t)n_pairs * sizeof *got);
    for (int64_t i = 0; i < n_pairs; i++) {
      pc[i] = (int32_t)cs_rng_below(&rng, (uint64_t)seg->k);
      ps[i] = (int32_t)cs_rng_below(&rng, (uint64_t)m.n_songs);
    }
    cs_segments_p_many(seg, pc, ps, n_pairs, pos, got);
    for (int64_t i = 0; i < n_pairs; i++)
      assert_true(got[i] == want[(size_t)pc[i] * m.n_songs + ps[i]]);
    /* and the scan of the ranking, without the by-song order */
    int32_t *bs = seg->by_song;
    struct cs_segments_word *index = seg->index;
    seg->by_song = NULL;
    seg->index = NULL;
    for (int32_t c = 0; c < seg->k; c++)
      for (int32_t song = 0; song < m.n_songs; song++)
        assert_true(cs_segments_p(seg, c, song) ==
                    want[(size_t)c * m.n_songs + song]);
    assert_int_equal(cs_segments_index(seg), CS_ESTATE);
    memset(got, 0, (size_t)n_pairs * sizeof *got);
    cs_segments_p_many(seg, pc, ps, n_pairs, pos, got);
    for (int64_t i = 0; i < n_pairs; i++)
      assert_true(got[i] == want[(size_t)pc[i] * m.n_songs + ps[i]]);
    free(pc);
    free(ps);
    free(pos);
    free(got);
    seg->by_song = bs;
    seg->index = index;
    free(want);
    cs_model_free(&m);
  }
}

/* --- one arithmetic for segment decisions ------------------------------ */

/* The float distance serving used before it shared training's routine
 * (8 float lanes). */
static float old_serving_dist2(const float *a, const float *b, int dim) {
  float lane[8] = {0};
  int i = 0;
  for (; i + 8 <= dim; i += 8)
    for (int l = 0; l < 8; l++) {
      float d = a[i + l] - b[i + l];
      lane[l] += d * d;
    }
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
         ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* Two centroids that float arithmetic and the exact (double) arithmetic
 * order differently as seen from x: serving must place x where training's
 * k-means would (the exact order), not where a float distance says. */
static void test_near_ties_follow_training(void **state) {
  (void)state;
  enum { D = 64 };
  cs_rng_t rng;
  cs_rng_seed(&rng, 11);
  float x[D], c[2 * D];
  int found = 0;
  for (int trial = 0; trial < 100000 && !found; trial++) {
    for (int i = 0; i < D; i++) {
      x[i] = (float)cs_rng_normal(&rng);
      c[i] = x[i] + (float)(0.3 * cs_rng_normal(&rng));
    }
    /* c1 = c0 with one coordinate nudged a few ulps: a near tie */
    memcpy(c + D, c, D * sizeof(float));
    int j = (int)cs_rng_below(&rng, D);
    for (int s = (int)cs_rng_below(&rng, 4); s >= 0; s--)
      c[D + j] = nextafterf(c[D + j], c[D + j] > x[j] ? -INFINITY : INFINITY);
    double e0 = cs_centroid_dist2(x, c, D), e1 = cs_centroid_dist2(x, c + D, D);
    float f0 = old_serving_dist2(x, c, D), f1 = old_serving_dist2(x, c + D, D);
    /* ties went to the lower index: the float order says c1 iff f1 < f0 */
    found = e0 != e1 && (e1 < e0) != (f1 < f0);
  }
  assert_true(found); /* such pairs exist: the test can tell the two apart */
  int exact = cs_centroid_dist2(x, c + D, D) < cs_centroid_dist2(x, c, D);

  /* training's label for x */
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  int32_t label = -1;
  assert_int_equal(cs_kmeans_assign(&ctx, c, 2, D, x, 1, &label), 0);
  assert_int_equal(label, exact);
  /* the one nearest-centroid routine */
  int32_t idx[2];
  float dist[2];
  cs_centroids_nearest(c, 2, D, x, 2, idx, dist);
  assert_int_equal(idx[0], exact);

  /* serving's membership: semi and soft on a model with those centroids */
  cs_model_t m;
  memset(&m, 0, sizeof m);
  m.dim = D;
  m.n_features = cs_n_features(D);
  m.n_songs = NS;
  int64_t *ids = cs_arena_alloc(&m.mem, NS * sizeof(int64_t));
  for (int i = 0; i < NS; i++) ids[i] = i;
  m.song_ids = ids;
  m.song_emb = cs_arena_alloc(&m.mem, (size_t)NS * D * sizeof(float));
  m.target.k = 2;
  m.target.dim = D;
  m.target.centroids = c;
  const int32_t assign[6] = {0, 0, 1, 1, 0, 1};
  assert_int_equal(cs_segments_build(2, assign, 6, truth_ptr, truth_idx, NS,
                                     &m.target.seg, NULL), 0);
  cs_rec_ws_t *ws = NULL;
  const cs_rec_t *r = run(&m, CS_STRAT_SEMI, 3, 2, 0, NULL, x, &ws);
  assert_int_equal(r->member_cluster[0], exact);
  r = run(&m, CS_STRAT_SOFT, 3, 2, 0, NULL, x, &ws);
  assert_int_equal(r->member_cluster[0], exact);
  cs_rec_ws_free(ws);
  m.target.centroids = NULL; /* on the stack, not the model's */
  cs_model_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_near_ties_follow_training),
      cmocka_unit_test(test_segments_index),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_soft_slots),
      cmocka_unit_test(test_popularity_semi_input),
      cmocka_unit_test(test_dot_strategies),
      cmocka_unit_test(test_soft_known),
      cmocka_unit_test(test_model_forged_content),
      cmocka_unit_test(test_soft_property),
      cmocka_unit_test(test_model_roundtrip),
      cmocka_unit_test(test_params_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

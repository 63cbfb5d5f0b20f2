/* evaluate_test.c: training a model from a small in-memory dataset, then
 * evaluating it: results independent of the thread count, equal to a
 * per-user loop over cs_recommend + cs_metrics_user, empty-truth users
 * skipped and counted, and the JSON outputs (evaluate table, recommend
 * lines) parsing with exactly the contract's keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/evaluate.h"
#include "coldstart/mat.h"
#include "coldstart/metrics.h"
#include "coldstart/rng.h"
#include "coldstart/serve.h"
#include "coldstart/train.h"

/* Strategies whose users are placed in segments (memberships reported). */
static int places_in_segments(int s) {
  return s == CS_STRAT_SEMI || s == CS_STRAT_SOFT ||
         s == CS_STRAT_INPUT_CLUSTERS || s == CS_STRAT_MIX ||
         s == CS_STRAT_BLEND;
}

#define DIM 4
#define NSONGS 120

/* Users have a taste t in {0..3}; songs 30t..30t+29 are their taste's.
 * Features: the streamed_songs block is the mean embedding of 3 songs of
 * their taste (absent for 1 in 10); targets: the taste's normalized mean. */
static void make_split(cs_split_t *s, int64_t n, int with_targets,
                       const float *emb, cs_rng_t *rng, int64_t id0) {
  int F = cs_n_features(DIM);
  s->n_users = n;
  s->user_ids = malloc((size_t)n * sizeof(int64_t));
  s->features = calloc((size_t)n * F, sizeof(float));
  s->truth_indptr = malloc(((size_t)n + 1) * sizeof(int64_t));
  s->truth_indices = malloc((size_t)n * 20 * sizeof(int64_t));
  if (with_targets) {
    s->targets = calloc((size_t)n * DIM, sizeof(float));
    s->has_target = calloc((size_t)n, 1);
  }
  s->truth_indptr[0] = 0;
  for (int64_t u = 0; u < n; u++) {
    s->user_ids[u] = id0 + u;
    int t = (int)cs_rng_below(rng, 4);
    float *f = s->features + (size_t)u * F;
    if (cs_rng_below(rng, 10) != 0)
      for (int r = 0; r < 3; r++) {
        int song = 30 * t + (int)cs_rng_below(rng, 30);
        for (int d = 0; d < DIM; d++) f[10 * DIM + d] += emb[song * DIM + d] / 3;
      }
    f[20 * DIM] = (float)(20 + t);
    int64_t n_truth = u % 13 == 5 ? 0 : 1 + (int64_t)cs_rng_below(rng, 15);
    int64_t at = s->truth_indptr[u], prev = -1;
    for (int64_t i = 0; i < n_truth; i++) {
      /* ascending, distinct, mostly the taste's songs */
      int64_t song = prev + 1 + (int64_t)cs_rng_below(rng, 3);
      if (song < 30 * t) song = 30 * t + (int64_t)cs_rng_below(rng, 5);
      if (song <= prev || song >= NSONGS) break;
      s->truth_indices[at++] = song;
      prev = song;
    }
    s->truth_indptr[u + 1] = at;
    if (with_targets && at > s->truth_indptr[u]) {
      s->has_target[u] = 1;
      float *y = s->targets + (size_t)u * DIM;
      for (int64_t i = s->truth_indptr[u]; i < at; i++)
        for (int d = 0; d < DIM; d++)
          y[d] += emb[s->truth_indices[i] * DIM + d];
      cs_normalize(DIM, y);
    }
  }
}

static void make_dataset(cs_dataset_t *ds) {
  memset(ds, 0, sizeof *ds);
  strcpy(ds->space, "svd");
  strcpy(ds->source, "test");
  ds->dim = DIM;
  ds->n_features = cs_n_features(DIM);
  ds->n_songs = NSONGS;
  ds->song_ids = malloc(NSONGS * sizeof(int64_t));
  ds->song_emb = malloc(NSONGS * DIM * sizeof(float));
  cs_rng_t rng;
  cs_rng_seed(&rng, 3);
  for (int s = 0; s < NSONGS; s++) {
    ds->song_ids[s] = 5000 + 3 * s;
    for (int d = 0; d < DIM; d++)
      ds->song_emb[s * DIM + d] =
          (float)(0.3 * cs_rng_normal(&rng) + (d == s / 30 ? 2.0 : 0.0));
    cs_normalize(DIM, ds->song_emb + s * DIM);
  }
  make_split(&ds->splits[CS_SPLIT_TRAIN], 400, 1, ds->song_emb, &rng, 0);
  make_split(&ds->splits[CS_SPLIT_VALIDATION], 100, 1, ds->song_emb, &rng,
             1000);
  make_split(&ds->splits[CS_SPLIT_TEST], 130, 0, ds->song_emb, &rng, 2000);
  assert_int_equal(cs_dataset_adopt_arrays(ds, NULL), 0);
}

typedef struct {
  cs_dataset_t ds;
  cs_model_t m;
} fixture_t;

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  make_dataset(&fx->ds);
  cs_err_t err;
  assert_int_equal(cs_dataset_validate(&fx->ds, &err), 0);
  cs_train_params_t mp;
  cs_train_params_default(&mp);
  mp.k = 8;
  mp.k_input = 4;
  mp.reg.epochs = 3;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_train_report_t rep;
  int rc = cs_train(&ctx, &fx->ds, &mp, &fx->m, &rep, &err);
  if (rc) fprintf(stderr, "train: %s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(fx->m.target.k, 8);
  assert_int_equal(fx->m.input.k, 4);
  assert_true(rep.n_train > 300 && rep.n_train_no_target > 0);
  assert_true(rep.kmeans_inertia > 0 && isfinite(rep.val_mse));
  /* segments count each training user with a target exactly once */
  int64_t n_seg_users = 0;
  for (int c = 0; c < fx->m.target.k; c++)
    n_seg_users += fx->m.target.seg.n_users[c];
  assert_int_equal(n_seg_users, rep.n_train);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  cs_model_free(&fx->m);
  cs_dataset_free(&fx->ds);
  free(fx);
  return 0;
}

static void same_result(const cs_eval_result_t *a, const cs_eval_result_t *b) {
  assert_int_equal(a->n_rows, b->n_rows);
  assert_int_equal(a->n_users, b->n_users);
  for (int i = 0; i < a->n_rows; i++) {
    assert_int_equal(a->rows[i].strategy, b->rows[i].strategy);
    assert_memory_equal(&a->rows[i].precision, &b->rows[i].precision,
                        sizeof a->rows[i].precision);
    assert_memory_equal(&a->rows[i].recall, &b->rows[i].recall,
                        sizeof a->rows[i].recall);
    assert_memory_equal(&a->rows[i].ndcg, &b->rows[i].ndcg,
                        sizeof a->rows[i].ndcg);
  }
}

static void test_threads_and_manual(void **state) {
  fixture_t *fx = *state;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  ep.sp.k = 10;
  ep.sp.soft_m = 3;
  ep.sp.soft_margin = 2;
  cs_eval_result_t r1, r2;
  cs_err_t err;
  assert_int_equal(cs_evaluate(&ctx, &fx->m, &fx->ds, CS_SPLIT_TEST, &ep, &r1,
                               &err), 0);
  ctx.n_threads = 3;
  assert_int_equal(cs_evaluate(&ctx, &fx->m, &fx->ds, CS_SPLIT_TEST, &ep, &r2,
                               &err), 0);
  same_result(&r1, &r2);
  /* Song tiles smaller than the catalog (17 does not divide 120): the same
   * lists as one tile. */
  ep.song_tile = 17;
  assert_int_equal(cs_evaluate(&ctx, &fx->m, &fx->ds, CS_SPLIT_TEST, &ep, &r2,
                               &err), 0);
  same_result(&r1, &r2);
  ep.song_tile = 0;
  const cs_split_t *sp = &fx->ds.splits[CS_SPLIT_TEST];
  int64_t skipped = 0;
  for (int64_t u = 0; u < sp->n_users; u++)
    skipped += sp->truth_indptr[u + 1] == sp->truth_indptr[u];
  assert_true(skipped > 0);
  assert_int_equal(r1.n_skipped, skipped);
  assert_int_equal(r1.n_users + r1.n_skipped, sp->n_users);
  assert_int_equal(r1.n_rows, CS_N_STRATEGIES);

  /* The same numbers from a plain per-user loop. */
  float *pred = malloc((size_t)sp->n_users * DIM * sizeof(float));
  assert_int_equal(cs_regressor_predict(fx->m.regressor, sp->features,
                                        sp->n_users, pred, &err), 0);
  cs_rec_ws_t *ws;
  assert_int_equal(cs_rec_ws_create(&ws, &fx->m, &ep.sp, &err), 0);
  for (int i = 0; i < r1.n_rows; i++) {
    int s = r1.rows[i].strategy;
    double sum[3] = {0, 0, 0};
    for (int64_t u = 0; u < sp->n_users; u++) {
      const int64_t *g = sp->truth_indices + sp->truth_indptr[u];
      int64_t ng = sp->truth_indptr[u + 1] - sp->truth_indptr[u];
      if (ng == 0) continue;
      const cs_rec_t *r;
      assert_int_equal(cs_recommend(&fx->m, s, &ep.sp,
                                    sp->features + (size_t)u * fx->m.n_features,
                                    pred + (size_t)u * DIM, ws, &r, &err), 0);
      assert_int_equal(r->n_items, 10);
      cs_user_metrics_t um;
      cs_metrics_user(r->songs, r->n_items, 10, g, ng, &um);
      sum[0] += um.precision;
      sum[1] += um.recall;
      sum[2] += um.ndcg;
    }
    assert_float_equal(r1.rows[i].precision.mean, sum[0] / r1.n_users, 1e-9);
    assert_float_equal(r1.rows[i].recall.mean, sum[1] / r1.n_users, 1e-9);
    assert_float_equal(r1.rows[i].ndcg.mean, sum[2] / r1.n_users, 1e-9);
  }
  cs_rec_ws_free(ws);
  free(pred);

  /* sklearn NDCG: soft is list-based (identical), P and R unchanged. */
  ep.ndcg_mode = CS_NDCG_SKLEARN;
  cs_eval_result_t r3;
  assert_int_equal(cs_evaluate(&ctx, &fx->m, &fx->ds, CS_SPLIT_TEST, &ep, &r3,
                               &err), 0);
  for (int i = 0; i < r3.n_rows; i++) {
    assert_float_equal(r3.rows[i].precision.mean, r1.rows[i].precision.mean, 0);
    assert_true(r3.rows[i].ndcg.mean >= 0 && r3.rows[i].ndcg.mean <= 1);
    if (r3.rows[i].strategy == CS_STRAT_SOFT)
      assert_float_equal(r3.rows[i].ndcg.mean, r1.rows[i].ndcg.mean, 0);
  }
}

static void test_json_contract(void **state) {
  fixture_t *fx = *state;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  ep.sp.k = 20;
  ep.n_strategies = 2;
  ep.strategies[0] = CS_STRAT_SOFT;
  ep.strategies[1] = CS_STRAT_POPULARITY;
  cs_eval_result_t r;
  cs_err_t err;
  assert_int_equal(cs_evaluate(&ctx, &fx->m, &fx->ds, CS_SPLIT_VALIDATION,
                               &ep, &r, &err), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(cs_eval_write(f, &r, CS_EVAL_JSON, &err), 0);
  fclose(f);
  json_error_t je;
  json_t *root = json_loads(buf, 0, &je);
  assert_non_null(root);
  assert_int_equal(json_object_size(root), 5);
  assert_string_equal(json_string_value(json_object_get(root, "split")),
                      "validation");
  assert_int_equal(json_integer_value(json_object_get(root, "k")), 20);
  assert_int_equal(json_integer_value(json_object_get(root, "users")),
                   r.n_users);
  assert_int_equal(json_integer_value(json_object_get(root, "skipped")),
                   r.n_skipped);
  json_t *st = json_object_get(root, "strategies");
  assert_int_equal(json_object_size(st), 2);
  const char *names[2] = {"soft", "popularity"};
  const char *metrics[3] = {"precision", "recall", "ndcg"};
  for (int i = 0; i < 2; i++) {
    json_t *o = json_object_get(st, names[i]);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    for (int j = 0; j < 3; j++) {
      json_t *mo = json_object_get(o, metrics[j]);
      assert_int_equal(json_object_size(mo), 2);
      double mean = json_number_value(json_object_get(mo, "mean"));
      double sd = json_number_value(json_object_get(mo, "std"));
      assert_true(mean >= 0 && mean <= 1 && sd >= 0 && sd <= 1);
      assert_true(json_is_number(json_object_get(mo, "std")));
    }
  }
  json_decref(root);
  free(buf);

  /* CSV and text render the same rows. */
  buf = NULL;
  f = open_memstream(&buf, &len);
  assert_int_equal(cs_eval_write(f, &r, CS_EVAL_CSV, &err), 0);
  fclose(f);
  assert_non_null(strstr(buf, "strategy,precision,precision_std,recall"));
  assert_non_null(strstr(buf, "\nsoft,"));
  free(buf);
  assert_int_equal(cs_eval_format_parse("markdown"), CS_EVAL_MARKDOWN);
  assert_int_equal(cs_eval_format_parse("xml"), -1);
}

static void test_recommend_json(void **state) {
  fixture_t *fx = *state;
  cs_strategy_params_t sp = {.k = 12, .soft_m = 4, .soft_margin = 4};
  cs_rec_ws_t *ws;
  cs_err_t err;
  assert_int_equal(cs_rec_ws_create(&ws, &fx->m, &sp, &err), 0);
  const cs_split_t *s = &fx->ds.splits[CS_SPLIT_TEST];
  char buf[65536];
  for (int strategy = 0; strategy < CS_N_STRATEGIES; strategy++) {
    const cs_rec_t *r;
    assert_int_equal(cs_recommend(&fx->m, strategy, &sp, s->features, NULL, ws,
                                  &r, &err), 0);
    int64_t n = cs_rec_write_json(&fx->m, s->user_ids[0], r, buf, sizeof buf);
    assert_true(n > 0);
    json_error_t je;
    json_t *o = json_loadb(buf, (size_t)n, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "user_id")),
                     s->user_ids[0]);
    assert_string_equal(json_string_value(json_object_get(o, "strategy")),
                        cs_strategy_name(strategy));
    json_t *mem = json_object_get(o, "memberships");
    json_t *items = json_object_get(o, "items");
    assert_int_equal(json_array_size(items), 12);
    size_t expect_m = strategy == CS_STRAT_SOFT ? 4
                      : strategy == CS_STRAT_MIX || strategy == CS_STRAT_BLEND
                          ? (size_t)fx->m.target.k /* min(32, k) */
                      : places_in_segments(strategy) ? 1 : 0;
    assert_int_equal(json_array_size(mem), expect_m);
    for (size_t j = 0; j < json_array_size(mem); j++) {
      json_t *mj = json_array_get(mem, j);
      assert_int_equal(json_object_size(mj), 3);
      assert_true(json_is_integer(json_object_get(mj, "cluster")));
      assert_true(json_is_number(json_object_get(mj, "weight")));
      assert_true(json_is_number(json_object_get(mj, "distance")));
    }
    for (size_t i = 0; i < 12; i++) {
      json_t *it = json_array_get(items, i);
      assert_int_equal(json_object_size(it), 3);
      json_int_t id = json_integer_value(json_object_get(it, "song_id"));
      assert_true(id >= 5000 && id < 5000 + 3 * NSONGS && (id - 5000) % 3 == 0);
      assert_true(json_is_number(json_object_get(it, "score")));
      json_t *cl = json_object_get(it, "clusters");
      assert_true(json_is_array(cl));
      if (!places_in_segments(strategy))
        assert_int_equal(json_array_size(cl), 0);
    }
    json_decref(o);
  }
  cs_rec_ws_free(ws);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_and_manual),
      cmocka_unit_test(test_json_contract),
      cmocka_unit_test(test_recommend_json),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* tune_test.c: the k-value specs, the elbow of an inertia curve, tune.json
 * written and read back (every field train --from-tune applies), its
 * errors naming the field, and cs_tune end to end on a small in-memory
 * dataset: points, choice on validation, determinism. */
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

#include "coldstart/rng.h"
#include "coldstart/tune.h"
#include "train/train_internal.h"

static void test_k_values(void **state) {
  (void)state;
  int k[CS_TUNE_MAX_K], n;
  cs_err_t err;
  assert_int_equal(cs_tune_parse_k_values("500:2000:100", k, CS_TUNE_MAX_K, &n,
                                          &err), 0);
  assert_int_equal(n, 16);
  assert_int_equal(k[0], 500);
  assert_int_equal(k[15], 2000);
  assert_int_equal(cs_tune_parse_k_values("10:25:10", k, CS_TUNE_MAX_K, &n,
                                          &err), 0);
  assert_int_equal(n, 2); /* 10, 20 */
  assert_int_equal(k[1], 20);
  assert_int_equal(cs_tune_parse_k_values("300,100,200,100", k, CS_TUNE_MAX_K,
                                          &n, &err), 0);
  assert_int_equal(n, 3);
  assert_int_equal(k[0], 100);
  assert_int_equal(k[2], 300);
  assert_int_equal(cs_tune_parse_k_values("20:60:20,100,50:50:1,200:400:100", k,
                                          CS_TUNE_MAX_K, &n, &err), 0);
  const int want[] = {20, 40, 50, 60, 100, 200, 300, 400};
  assert_int_equal(n, 8);
  for (int i = 0; i < 8; i++) assert_int_equal(k[i], want[i]);
  const char *bad[] = {"", "5:1:1", "1:5:0", "0:5:1", "a,b", "10,,20", "10,-3",
                       "1:5", "1:5:1:", "10,", ",10", "1:5:1,x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cs_tune_parse_k_values(bad[i], k, CS_TUNE_MAX_K, &n, &err),
                     CS_EUSAGE);
  assert_int_equal(cs_tune_parse_k_values("1:1000:1", k, CS_TUNE_MAX_K, &n,
                                          &err), CS_EUSAGE); /* too many */
}

static void test_elbow(void **state) {
  (void)state;
  cs_tune_point_t pt[6];
  memset(pt, 0, sizeof pt);
  /* inertia 1/k-like: falls fast, then flat; the bend is at k = 200 */
  const int ks[6] = {100, 200, 300, 400, 500, 600};
  const double in[6] = {100, 40, 30, 25, 22, 20};
  for (int i = 0; i < 6; i++) {
    pt[i].k = ks[i];
    pt[i].inertia = in[i];
  }
  assert_int_equal(cs__tune_elbow(pt, 6), 200);
  /* a straight line: no point below the chord, the first k */
  for (int i = 0; i < 6; i++) pt[i].inertia = 100 - 10 * i;
  assert_int_equal(cs__tune_elbow(pt, 6), 100);
  assert_int_equal(cs__tune_elbow(pt, 2), 100); /* too few points */
}

/* A small dataset: 12 tastes, users stream songs of their taste; targets
 * are the taste direction plus noise; features carry a noisy copy in the
 * streamed_songs block. */
enum { DIM = 4, NSONGS = 90 };
static void make_split(cs_split_t *s, int64_t n, int with_target,
                       const float *emb, cs_rng_t *rng, int64_t id0) {
  int F = cs_n_features(DIM);
  s->n_users = n;
  s->user_ids = malloc((size_t)n * sizeof *s->user_ids);
  s->features = calloc((size_t)n * F, sizeof *s->features);
  s->truth_indptr = malloc(((size_t)n + 1) * sizeof *s->truth_indptr);
  s->truth_indices = malloc((size_t)n * 12 * sizeof *s->truth_indices);
  s->targets = with_target ? calloc((size_t)n * DIM, sizeof(float)) : NULL;
  s->has_target = with_target ? calloc((size_t)n, 1) : NULL;
  s->truth_indptr[0] = 0;
  for (int64_t u = 0; u < n; u++) {
    s->user_ids[u] = id0 + u;
    int taste = (int)cs_rng_below(rng, 12);
    int64_t nt = 0;
    for (int j = 0; j < 12; j++)
      if (cs_rng_below(rng, 3)) {
        int64_t song = taste * 7 + (int64_t)cs_rng_below(rng, 7);
        int dup = 0;
        for (int64_t q = 0; q < nt; q++)
          dup |= s->truth_indices[s->truth_indptr[u] + q] == song;
        if (!dup) s->truth_indices[s->truth_indptr[u] + nt++] = song;
      }
    /* ascending */
    int64_t *t = s->truth_indices + s->truth_indptr[u];
    for (int64_t a = 1; a < nt; a++)
      for (int64_t b = a; b > 0 && t[b - 1] > t[b]; b--) {
        int64_t x = t[b];
        t[b] = t[b - 1];
        t[b - 1] = x;
      }
    s->truth_indptr[u + 1] = s->truth_indptr[u] + nt;
    float *f = s->features + (size_t)u * F;
    for (int d = 0; d < DIM; d++) {
      float v = emb[(size_t)taste * 7 * DIM + d];
      f[cs_feature_streamed_songs_block() * DIM + d] =
          v + 0.3f * (float)cs_rng_normal(rng);
      f[d] = 0.5f * v; /* the age block */
      if (with_target) s->targets[(size_t)u * DIM + d] = v + 0.1f * (float)cs_rng_normal(rng);
    }
    if (with_target) s->has_target[u] = nt > 0;
  }
}

static void make_dataset(cs_dataset_t *ds) {
  memset(ds, 0, sizeof *ds);
  strcpy(ds->space, "svd");
  strcpy(ds->source, "prepare");
  ds->dim = DIM;
  ds->n_features = cs_n_features(DIM);
  ds->n_songs = NSONGS;
  ds->song_ids = malloc(NSONGS * sizeof *ds->song_ids);
  ds->song_emb = malloc(NSONGS * DIM * sizeof *ds->song_emb);
  cs_rng_t rng;
  cs_rng_seed(&rng, 5);
  for (int s = 0; s < NSONGS; s++) {
    ds->song_ids[s] = 100 + s;
    for (int d = 0; d < DIM; d++)
      ds->song_emb[s * DIM + d] =
          s % 7 == 0 ? (float)cs_rng_normal(&rng) : ds->song_emb[(s - s % 7) * DIM + d];
  }
  make_split(&ds->splits[CS_SPLIT_TRAIN], 500, 1, ds->song_emb, &rng, 0);
  make_split(&ds->splits[CS_SPLIT_VALIDATION], 120, 1, ds->song_emb, &rng, 1000);
  make_split(&ds->splits[CS_SPLIT_TEST], 80, 0, ds->song_emb, &rng, 2000);
  assert_int_equal(cs_dataset_adopt_arrays(ds, NULL), 0);
}

static void small_params(cs_tune_params_t *p) {
  cs_tune_params_default(p);
  p->n_k = 3;
  p->k_values[0] = 6;
  p->k_values[1] = 12;
  p->k_values[2] = 2000; /* above the training users: left out */
  p->train.k_input = 4;
  p->train.reg.epochs = 3;
  p->sp.k = 10;
}

static void test_tune_end_to_end(void **state) {
  (void)state;
  cs_dataset_t ds;
  make_dataset(&ds);
  cs_err_t err;
  assert_int_equal(cs_dataset_validate(&ds, &err), 0);
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  cs_tune_params_t p;
  small_params(&p);
  cs_tune_result_t r, r2;
  int rc = cs_tune(&ctx, &ds, &p, &r, &err);
  if (rc) fail_msg("tune: %s", err.msg);
  assert_int_equal(r.n_points, 2);
  assert_int_equal(r.points[0].k, 6);
  assert_int_equal(r.points[1].k, 12);
  assert_true(r.points[1].inertia < r.points[0].inertia);
  for (int i = 0; i < 2; i++) {
    for (int s = 0; s < CS_N_STRATEGIES; s++) {
      assert_int_equal(r.points[i].has[s], s != CS_STRAT_BLEND);
      if (r.points[i].has[s])
        assert_true(r.points[i].val[s].ndcg >= 0 && r.points[i].val[s].ndcg <= 1);
    }
    /* k-independent strategies: the same numbers at every k */
    assert_true(r.points[i].val[CS_STRAT_FULL].ndcg ==
                r.points[0].val[CS_STRAT_FULL].ndcg);
  }
  assert_true(r.chosen_k == 6 || r.chosen_k == 12);
  assert_true(r.n_trials > 5);
  /* the chosen strategy is the validation best at the chosen setting */
  for (int s = 0; s < CS_N_STRATEGIES; s++)
    assert_true(r.chosen_val[s].ndcg <= r.chosen_ndcg);
  assert_true(r.chosen_val[r.chosen_strategy].ndcg == r.chosen_ndcg);
  /* mix's tuned point is the best mix trial */
  double best_mix = 0;
  for (int i = 0; i < r.n_trials; i++)
    if (r.trials[i].strategy == CS_STRAT_MIX && r.trials[i].val.ndcg > best_mix)
      best_mix = r.trials[i].val.ndcg;
  assert_true(r.chosen_val[CS_STRAT_MIX].ndcg == best_mix);
  /* deterministic, whatever the thread count */
  ctx.n_threads = 3;
  assert_int_equal(cs_tune(&ctx, &ds, &p, &r2, &err), 0);
  assert_int_equal(r2.chosen_k, r.chosen_k);
  assert_int_equal(r2.chosen_strategy, r.chosen_strategy);
  assert_true(r2.chosen_ndcg == r.chosen_ndcg);
  assert_true(r2.points[1].inertia == r.points[1].inertia);

  /* tune.json round trip */
  char dir[] = "/tmp/cs_tune_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/tune.json", dir);
  assert_int_equal(cs_tune_write_json(&r, "some/dataset", path, &err), 0);
  cs_train_params_t tp;
  cs_train_params_default(&tp);
  char recorded[64];
  assert_int_equal(cs_tune_read(path, &tp, recorded, sizeof recorded, &err), 0);
  assert_string_equal(recorded, "some/dataset");
  assert_int_equal(tp.k, r.chosen_k);
  assert_int_equal(tp.k_input, 4);
  assert_int_equal(tp.reg.epochs, 3);
  assert_int_equal((int)tp.seed, 1);
  assert_int_equal((int)tp.reg.seed, 1);
  assert_int_equal(tp.tuning.present, 1);
  assert_string_equal(tp.tuning.strategy, cs_strategy_name(r.chosen_strategy));
  assert_int_equal(tp.tuning.mix_m, r.chosen_sp.mix_m);
  assert_true(tp.tuning.mix_tau == r.chosen_sp.mix_tau);
  assert_true(tp.tuning.mix_size == r.chosen_sp.mix_size);
  assert_true(tp.tuning.mix_prior == r.chosen_sp.mix_prior);
  assert_true(tp.tuning.blend_beta == r.chosen_sp.blend_beta);
  assert_true(tp.tuning.blend_d0 == r.chosen_sp.blend_d0);
  /* errors name the file and field */
  FILE *f = fopen(path, "w");
  fputs("{\"dataset\": \"d\", \"chosen\": {\"k\": 0, \"strategy\": \"mix\", "
        "\"params\": {}}, \"train\": {}}", f);
  fclose(f);
  assert_int_equal(cs_tune_read(path, &tp, NULL, 0, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "chosen.k"));
  f = fopen(path, "w");
  fputs("{\"dataset\": \"d\", \"chosen\": {\"k\": 5, \"strategy\": \"mix\", "
        "\"params\": {\"mix_m\": 4, \"mix_tau\": \"x\"}}, \"train\": {}}", f);
  fclose(f);
  assert_int_equal(cs_tune_read(path, &tp, NULL, 0, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "chosen.params.mix_tau"));
  f = fopen(path, "w");
  fputs("{not json", f);
  fclose(f);
  assert_int_equal(cs_tune_read(path, &tp, NULL, 0, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, path));
  unlink(path);
  rmdir(dir);

  cs_tune_result_free(&r2);
  /* nothing to score on: an empty validation truth */
  cs_split_t *va = &ds.splits[CS_SPLIT_VALIDATION];
  for (int64_t u = 0; u <= va->n_users; u++) va->truth_indptr[u] = 0;
  assert_int_equal(cs_tune(&ctx, &ds, &p, &r2, &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "validation"));
  cs_tune_result_free(&r);
  cs_tune_result_free(&r2);
  cs_dataset_free(&ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_k_values),
      cmocka_unit_test(test_elbow),
      cmocka_unit_test(test_tune_end_to_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* prepare_test.c: prepare on a small generated log folder: split sizes and
 * order, truth and TT-SVD targets recomputed by hand, and the leak test:
 * listening added for validation/test users (including a song only they
 * play) changes no song embedding, no training target and no training
 * feature, in both spaces. */
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

#include "coldstart/prepare.h"

/* x = the fold-in of (songs, plays) against song factors y (n_songs x d). */
static int fold_in(const float *y, int64_t n_songs, int d, const int32_t *songs,
                   const float *plays, int64_t n, const cs_als_params_t *p,
                   float *out) {
  float *gram = malloc((size_t)d * d * sizeof(float));
  if (!gram) return CS_ENOMEM;
  cs_als_gram(y, n_songs, d, gram);
  int rc = cs_als_fold_in_gram(y, n_songs, d, gram, songs, plays, n, p, out);
  free(gram);
  return rc;
}

enum { N_SONGS = 40, PLANT = 40, N_WARM = 60, N_COLD = 50, DIM = 8 };

static char dir[256];
static int first_silent; /* 1: user 2000, the first of its split, has no
                            days-1-30 streams either */

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static int contains(const int64_t *ids, int64_t n, int64_t id) {
  for (int64_t i = 0; i < n; i++)
    if (ids[i] == id) return 1;
  return 0;
}

/* Write the folder. `extra_ids`: users who also stream the planted song and
 * more songs on days 1-30 (and after). */
static void gen(const int64_t *extra_ids, int64_t n_extra) {
  char path[512];
  snprintf(path, sizeof path, "%s/catalog.tsv", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "song_id\tartist_id\talbum_id\n");
  for (int s = 1; s <= N_SONGS; s++) {
    if (s == PLANT) fprintf(f, "%d\t999\t998\n", s);
    else fprintf(f, "%d\t%d\t%d\n", s, 100 + (s - 1) / 5, 200 + (s - 1) / 2);
  }
  assert_int_equal(fclose(f), 0);
  snprintf(path, sizeof path, "%s/playlists.tsv", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "playlist_id\tsong_id\n");
  for (int p = 0; p < 3; p++)
    for (int k = 0; k < 6; k++) fprintf(f, "%d\t%d\n", 500 + p, 1 + (p * 7 + k * 3) % 39);
  assert_int_equal(fclose(f), 0);
  snprintf(path, sizeof path, "%s/users.tsv", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "user_id\tregistration_day\tage\tcountry\n");
  for (int u = 0; u < N_WARM; u++)
    fprintf(f, "%d\t%d\t%d\t%s\n", 1000 + u, u % 10, 20 + u % 5, u % 2 ? "FR" : "DE");
  for (int u = 0; u < N_COLD; u++) {
    if (u % 7 == 3) fprintf(f, "%d\t%d\t\t\n", 2000 + u, 50 + u % 7);
    else fprintf(f, "%d\t%d\t%d\t%s\n", 2000 + u, 50 + u % 7, 20 + u % 4,
                 u % 3 ? "FR" : "BR");
  }
  assert_int_equal(fclose(f), 0);
  snprintf(path, sizeof path, "%s/events.tsv", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "user_id\tday\taction\tkind\titem_id\n");
  uint64_t rng = 7;
  for (int u = 0; u < N_WARM; u++) {
    int taste = u % 3; /* songs of one third of the catalog */
    for (int k = 0; k < 40; k++) {
      int song = 1 + (int)((taste * 13 + lcg(&rng) % 13) % 39);
      fprintf(f, "%d\t%d\tstream\tsong\t%d\n", 1000 + u, 10 + (int)(lcg(&rng) % 30), song);
    }
  }
  for (int u = 0; u < N_COLD; u++) {
    int id = 2000 + u, reg = 50 + u % 7, taste = u % 3;
    /* registration day */
    fprintf(f, "%d\t%d\tstream\tsong\t%d\n", id, reg, 1 + taste * 13);
    fprintf(f, "%d\t%d\tskip\tsong\t%d\n", id, reg, 1 + (taste * 13 + 5) % 39);
    fprintf(f, "%d\t%d\tfavorite\tartist\t%d\n", id, reg, 100 + taste);
    fprintf(f, "%d\t%d\tsearch\tplaylist\t%d\n", id, reg, 500 + taste);
    /* days 1-30 (user 4 has none) */
    int n = u == 4 || (u == 0 && first_silent) ? 0 : 5 + (int)(lcg(&rng) % 10);
    for (int k = 0; k < n; k++) {
      int song = 1 + (int)((taste * 13 + lcg(&rng) % 13) % 39);
      fprintf(f, "%d\t%d\tstream\tsong\t%d\n", id, reg + 1 + (int)(lcg(&rng) % 30), song);
    }
    if (contains(extra_ids, n_extra, id)) {
      for (int k = 0; k < 4; k++)
        fprintf(f, "%d\t%d\tstream\tsong\t%d\n", id, reg + 1 + 7 * k, PLANT);
      for (int k = 1; k < 39; k += 2)
        fprintf(f, "%d\t%d\tstream\tsong\t%d\n", id, reg + 2, k);
      fprintf(f, "%d\t%d\tstream\tsong\t%d\n", id, reg + 40, 3);
    }
  }
  assert_int_equal(fclose(f), 0);
}

static int run(const char *space, cs_dataset_t *ds, cs_prepare_report_t *rep) {
  cs_logs_t L;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_logs_read(&L, dir, NULL, &err);
  if (rc) fail_msg("logs: %s", err.msg);
  cs_prepare_params_t p;
  cs_prepare_params_default(&p);
  snprintf(p.space, sizeof p.space, "%s", space);
  p.dim = DIM;
  p.seed = 3;
  p.als.iters = 5;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = 2;
  rc = cs_prepare_run(&ctx, &L, &p, ds, rep, &err);
  if (rc) fail_msg("prepare: %s", err.msg);
  cs_logs_free(&L);
  return rc;
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/cs_prepare_test_%d", (int)getpid());
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
  return system(cmd);
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void test_splits_truth_targets(void **state) {
  (void)state;
  gen(NULL, 0);
  cs_dataset_t ds;
  cs_prepare_report_t rep;
  run("svd", &ds, &rep);
  assert_int_equal(rep.cohort_from, 50);
  assert_int_equal(rep.n_warm_users, N_WARM);
  assert_int_equal(ds.splits[0].n_users, 35);
  assert_int_equal(ds.splits[1].n_users, 10);
  assert_int_equal(ds.splits[2].n_users, 5);
  assert_int_equal(ds.n_features, cs_n_features(DIM));
  assert_true(ds.has_tables);
  int found = 0;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    const cs_split_t *sp = &ds.splits[s];
    for (int64_t i = 0; i < sp->n_users; i++) {
      if (i) assert_true(sp->user_ids[i] > sp->user_ids[i - 1]);
      assert_true(sp->user_ids[i] >= 2000);
      if (sp->user_ids[i] == 2004) { /* no days 1-30 streams */
        found = 1;
        assert_int_equal(sp->truth_indptr[i + 1], sp->truth_indptr[i]);
        assert_int_equal(sp->has_target[i], 0);
      }
      /* the registration-day counts: 1 stream, 1 skip, 1 favorite artist,
       * 1 playlist search */
      const float *f = sp->features + (size_t)i * ds.n_features + 20 * DIM;
      assert_true(f[1 + 10] == 1.0f); /* nb_streamed_songs */
      assert_true(f[1 + 4] == 1.0f);  /* nb_skipped_songs */
      assert_true(f[1 + 2] == 1.0f);  /* nb_favorite_artists */
      assert_true(f[1 + 16] == 1.0f); /* nb_search_playlists */
      int64_t u = sp->user_ids[i] - 2000;
      assert_true(f[0] == (u % 7 == 3 ? -1.0f : (float)(20 + u % 4)));
    }
  }
  assert_true(found);
  assert_true(rep.n_no_target[0] + rep.n_no_target[1] + rep.n_no_target[2] == 1);
  /* TT-SVD target = normalized mean of the truth songs' vectors weighted by
   * stream counts; check it is a unit vector in the span, and that it
   * points the same way as the unweighted mean (positive dot product). */
  const cs_split_t *tr = &ds.splits[0];
  for (int64_t i = 0; i < tr->n_users; i++) {
    if (!tr->has_target[i]) continue;
    const float *t = tr->targets + (size_t)i * DIM;
    double norm = 0, dot = 0;
    for (int j = 0; j < DIM; j++) norm += (double)t[j] * t[j];
    assert_true(fabs(norm - 1.0) < 1e-4);
    for (int64_t k = tr->truth_indptr[i]; k < tr->truth_indptr[i + 1]; k++)
      for (int j = 0; j < DIM; j++)
        dot += (double)t[j] * ds.song_emb[tr->truth_indices[k] * DIM + j];
    assert_true(dot > 0);
  }
  cs_dataset_free(&ds);
}

static void leak_check(const char *space) {
  gen(NULL, 0);
  cs_dataset_t a, b;
  cs_prepare_report_t ra, rb;
  run(space, &a, &ra);
  int64_t extra[N_COLD];
  int64_t n_extra = 0;
  for (int s = CS_SPLIT_VALIDATION; s <= CS_SPLIT_TEST; s++)
    for (int64_t i = 0; i < a.splits[s].n_users; i++)
      extra[n_extra++] = a.splits[s].user_ids[i];
  gen(extra, n_extra);
  run(space, &b, &rb);
  /* same split (it depends on ids and seed only) */
  for (int s = 0; s < CS_N_SPLITS; s++) {
    assert_int_equal(a.splits[s].n_users, b.splits[s].n_users);
    assert_memory_equal(a.splits[s].user_ids, b.splits[s].user_ids,
                        (size_t)a.splits[s].n_users * sizeof(int64_t));
  }
  /* the validation/test users now have the planted song in their truth */
  int64_t plant_row = PLANT - 1;
  const cs_split_t *vb = &b.splits[CS_SPLIT_VALIDATION];
  assert_true(vb->n_users > 0);
  assert_int_equal(vb->truth_indices[vb->truth_indptr[1] - 1], plant_row);
  /* ... but no model saw it */
  for (int j = 0; j < DIM; j++)
    assert_true(b.song_emb[plant_row * DIM + j] == 0.0f);
  assert_memory_equal(a.song_emb, b.song_emb,
                      (size_t)a.n_songs * DIM * sizeof(float));
  const cs_split_t *ta = &a.splits[0], *tb = &b.splits[0];
  assert_memory_equal(ta->targets, tb->targets,
                      (size_t)ta->n_users * DIM * sizeof(float));
  assert_memory_equal(ta->features, tb->features,
                      (size_t)ta->n_users * a.n_features * sizeof(float));
  assert_int_equal(ra.n_cf_streams, rb.n_cf_streams);
  cs_dataset_free(&a);
  cs_dataset_free(&b);
}

static void test_no_leak_svd(void **state) {
  (void)state;
  leak_check("svd");
}

static void test_no_leak_mf(void **state) {
  (void)state;
  leak_check("mf");
}

/* UT-ALS validation targets (folded in, never trained on): unit vectors
 * close to the exact least-squares fold-in of their days-1-30 plays. */
static void test_mf_fold_in(void **state) {
  (void)state;
  gen(NULL, 0);
  cs_dataset_t ds;
  cs_prepare_report_t rep;
  run("mf", &ds, &rep);
  cs_logs_t L;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_logs_read(&L, dir, NULL, &err), 0);
  cs_als_params_t ap;
  cs_als_params_default(&ap);
  ap.dim = DIM;
  const cs_split_t *va = &ds.splits[CS_SPLIT_VALIDATION];
  int checked = 0;
  for (int64_t i = 0; i < va->n_users; i++) {
    if (!va->has_target[i]) continue;
    /* this user's days-1-30 plays straight from the logs */
    int32_t songs[256];
    float plays[256];
    int64_t n = 0, u = -1;
    for (int64_t r = 0; r < L.n_users; r++)
      if (L.user_ids[r] == va->user_ids[i]) u = r;
    assert_true(u >= 0);
    for (int64_t e = 0; e < L.n_events; e++) {
      int64_t rel = (int64_t)L.ev_day[e] - L.user_reg_day[u];
      if (L.ev_user[e] != u || L.ev_action[e] != CS_ACTION_STREAM || rel < 1 || rel > 30)
        continue;
      songs[n] = L.ev_song[e];
      plays[n++] = 1.0f;
    }
    float exact[DIM];
    assert_int_equal(fold_in(ds.song_emb, ds.n_songs, DIM, songs, plays, n,
                                    &ap, exact), 0);
    double dot = 0, nn = 0, nt = 0;
    const float *t = va->targets + (size_t)i * DIM;
    for (int j = 0; j < DIM; j++) {
      dot += (double)t[j] * exact[j];
      nn += (double)exact[j] * exact[j];
      nt += (double)t[j] * t[j];
    }
    assert_true(fabs(nt - 1.0) < 1e-4);
    double cosine = dot / sqrt(nn * nt);
    if (cosine < 0.95) fail_msg("user %lld: cosine %.4f to the exact fold-in",
                                (long long)va->user_ids[i], cosine);
    checked++;
  }
  assert_true(checked > 5);
  cs_logs_free(&L);
  cs_dataset_free(&ds);
}

static void test_bad_params(void **state) {
  (void)state;
  gen(NULL, 0);
  cs_logs_t L;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_logs_read(&L, dir, NULL, &err), 0);
  cs_prepare_params_t p;
  cs_prepare_params_default(&p);
  cs_dataset_t ds;
  p.split[0] = 80;
  assert_int_equal(cs_prepare_run(NULL, &L, &p, &ds, NULL, &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "sum to 100"));
  cs_prepare_params_default(&p);
  p.cohort_from = 1000; /* nobody registered that late */
  assert_int_equal(cs_prepare_run(NULL, &L, &p, &ds, NULL, &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "no training users"));
  cs_logs_free(&L);
}

/* The lowest user id, first of its split, without days-1-30 streams: its
 * truth is empty (once an undefined qsort(NULL, 0) under UBSan). */
static void test_first_user_without_streams(void **state) {
  (void)state;
  first_silent = 1;
  gen(NULL, 0);
  first_silent = 0;
  cs_dataset_t ds;
  cs_prepare_report_t rep;
  run("svd", &ds, &rep);
  int found = 0;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    const cs_split_t *sp = &ds.splits[s];
    if (sp->n_users > 0 && sp->user_ids[0] == 2000) {
      found = 1;
      assert_int_equal(sp->truth_indptr[1], 0);
      if (sp->has_target) assert_int_equal(sp->has_target[0], 0);
    }
  }
  assert_true(found);
  cs_dataset_free(&ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_user_without_streams),
      cmocka_unit_test(test_splits_truth_targets),
      cmocka_unit_test(test_no_leak_svd), cmocka_unit_test(test_no_leak_mf),
      cmocka_unit_test(test_mf_fold_in),
      cmocka_unit_test(test_bad_params)};
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* scoring_bench.c: times (1) evaluating all six strategies with metrics on a
 * split (cs_evaluate) and (2) one user's features-to-K-songs latency through
 * the per-request API (cs_recommend), per strategy, median over many users.
 * Prints one JSON object to stdout; bench/scoring.py runs it.
 *
 * usage: scoring_bench MODEL DATASET [THREADS] [REPEATS] [DUMP_DIR]
 *        scoring_bench --random [THREADS] [REPEATS] [DUMP_DIR]
 * --random builds shape-equivalent random data in memory (deezer scale:
 * 50,000 songs, d = 128, F = 2579, k = 1000 and 100 input clusters over
 * 70,000 training users' song lists, 10,000 test users, untrained
 * regressor: the same arithmetic as a trained one). DUMP_DIR, when given,
 * receives song_emb.f32 [n_songs x d] and test_pred.f32 [n_test x d] (the
 * regressor's predictions) so the PyTorch side scores the same data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coldstart/evaluate.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "coldstart/train.h"

#define R_SONGS 50000
#define R_DIM 128
#define R_K 1000
#define R_KIN 100
#define R_TRAIN 70000
#define R_TEST 10000

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* A user's song list: distinct, ascending; ~60% from the taste's window of
 * the catalog, the rest from global popularity (Zipf ranks). */
static int64_t draw_songs(cs_rng_t *rng, const cs_zipf_t *z, int64_t window,
                          int64_t n, int64_t *out) {
  for (int64_t i = 0; i < n; i++) {
    int64_t rank = cs_zipf_sample(z, rng) - 1;
    out[i] = cs_rng_uniform(rng) < 0.6 ? (window + rank % 2000) % R_SONGS
                                       : rank;
  }
  qsort(out, (size_t)n, sizeof *out, cmp_i64);
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (m == 0 || out[i] != out[m - 1]) out[m++] = out[i];
  return m;
}

static void random_vectors(cs_rng_t *rng, float *x, int64_t rows, int dim) {
  for (int64_t i = 0; i < rows * dim; i++) x[i] = (float)cs_rng_normal(rng);
  for (int64_t i = 0; i < rows; i++) cs_normalize(dim, x + i * dim);
}

static int build_random(cs_model_t *m, cs_dataset_t *ds) {
  cs_rng_t rng;
  cs_rng_seed(&rng, 2021);
  cs_zipf_t z;
  if (cs_zipf_init(&z, R_SONGS, 0.9)) return -1;
  int F = cs_n_features(R_DIM);
  memset(m, 0, sizeof *m);
  memset(ds, 0, sizeof *ds);
  strcpy(m->space, "svd");
  strcpy(ds->space, "svd");
  m->dim = ds->dim = R_DIM;
  m->n_features = ds->n_features = F;
  m->n_songs = ds->n_songs = R_SONGS;
  int64_t *m_ids = cs_arena_alloc(&m->mem, R_SONGS * sizeof(int64_t));
  ds->song_ids = cs_arena_alloc(&ds->mem, R_SONGS * sizeof(int64_t));
  float *m_emb = cs_arena_alloc(&m->mem, (size_t)R_SONGS * R_DIM * sizeof(float));
  ds->song_emb = cs_arena_alloc(&ds->mem, (size_t)R_SONGS * R_DIM * sizeof(float));
  for (int64_t s = 0; s < R_SONGS; s++) m_ids[s] = ds->song_ids[s] = s;
  random_vectors(&rng, m_emb, R_SONGS, R_DIM);
  memcpy(ds->song_emb, m_emb, (size_t)R_SONGS * R_DIM * sizeof(float));
  m->song_ids = m_ids;
  m->song_emb = m_emb;
  float *c = cs_arena_alloc(&m->mem, (size_t)R_K * R_DIM * sizeof(float));
  random_vectors(&rng, c, R_K, R_DIM);
  m->target = (cs_segmentation_t){.k = R_K, .dim = R_DIM, .centroids = c};
  float *ic = cs_arena_alloc(&m->mem, (size_t)R_KIN * F * sizeof(float));
  random_vectors(&rng, ic, R_KIN, F);
  m->input = (cs_segmentation_t){.k = R_KIN, .dim = F, .centroids = ic};
  m->popularity = (cs_segmentation_t){.k = 1, .dim = R_DIM};

  /* Training users' lists -> the three segment tables. */
  int64_t *ptr = malloc((R_TRAIN + 1) * sizeof(int64_t));
  int64_t *idx = malloc((size_t)R_TRAIN * 80 * sizeof(int64_t));
  int32_t *assign = malloc(R_TRAIN * sizeof(int32_t));
  ptr[0] = 0;
  for (int64_t u = 0; u < R_TRAIN; u++) {
    assign[u] = (int32_t)(u % R_K);
    int64_t n = 10 + (int64_t)cs_rng_below(&rng, 70);
    ptr[u + 1] = ptr[u] + draw_songs(&rng, &z, assign[u] * 50, n,
                                     idx + ptr[u]);
  }
  int rc = cs_segments_build(R_K, assign, R_TRAIN, ptr, idx, R_SONGS,
                             &m->target.seg, NULL);
  for (int64_t u = 0; u < R_TRAIN; u++) assign[u] = (int32_t)(u % R_KIN);
  if (!rc)
    rc = cs_segments_build(R_KIN, assign, R_TRAIN, ptr, idx, R_SONGS,
                           &m->input.seg, NULL);
  if (!rc)
    rc = cs_segments_build(1, NULL, R_TRAIN, ptr, idx, R_SONGS,
                           &m->popularity.seg, NULL);
  free(ptr);
  free(idx);
  free(assign);
  if (!rc) rc = cs_regressor_create(&m->regressor, F, R_DIM, 7, NULL);
  if (rc) return rc;

  /* Test users: ~6 of 20 blocks filled (1 in 20 users silent), counts,
   * age; 10-80 truth songs. */
  cs_split_t *sp = &ds->splits[CS_SPLIT_TEST];
  sp->n_users = R_TEST;
  sp->user_ids = cs_arena_alloc(&ds->mem, R_TEST * sizeof(int64_t));
  sp->features = cs_arena_alloc(&ds->mem, (size_t)R_TEST * F * sizeof(float));
  sp->truth_indptr = cs_arena_alloc(&ds->mem, (R_TEST + 1) * sizeof(int64_t));
  sp->truth_indices = cs_arena_alloc(&ds->mem, (size_t)R_TEST * 80 * sizeof(int64_t));
  sp->truth_indptr[0] = 0;
  for (int64_t u = 0; u < R_TEST; u++) {
    sp->user_ids[u] = 1000000 + u;
    float *f = sp->features + (size_t)u * F;
    if (cs_rng_below(&rng, 20) != 0)
      for (int b = 0; b < CS_N_BLOCKS; b++)
        if (b < 2 || b == 10 || cs_rng_below(&rng, 6) == 0)
          random_vectors(&rng, f + (size_t)b * R_DIM, 1, R_DIM);
    f[CS_N_BLOCKS * R_DIM] = (float)(18 + cs_rng_below(&rng, 40));
    for (int c = 0; c < CS_N_COUNTS; c++)
      f[CS_N_BLOCKS * R_DIM + 1 + c] = (float)cs_rng_below(&rng, 5);
    int64_t n = 10 + (int64_t)cs_rng_below(&rng, 70);
    sp->truth_indptr[u + 1] =
        sp->truth_indptr[u] +
        draw_songs(&rng, &z, (int64_t)cs_rng_below(&rng, R_K) * 50, n,
                   sp->truth_indices + sp->truth_indptr[u]);
  }
  cs_zipf_free(&z);
  return 0;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int dump(const char *dir, const char *name, const float *x, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(x, sizeof(float), n, f);
  return (fclose(f) != 0 || w != n) ? -1 : 0;
}

int main(int argc, char **argv) {
  int random = argc >= 2 && strcmp(argv[1], "--random") == 0;
  int a = random ? 2 : 3;
  if (!random && argc < 3) {
    fprintf(stderr, "usage: scoring_bench MODEL DATASET [THREADS] [REPEATS] "
            "[DUMP_DIR] | --random [THREADS] [REPEATS] [DUMP_DIR]\n");
    return 2;
  }
  int threads = argc > a ? atoi(argv[a]) : 2;
  int repeats = argc > a + 1 ? atoi(argv[a + 1]) : 3;
  const char *dump_dir = argc > a + 2 ? argv[a + 2] : NULL;
  cs_model_t m;
  cs_dataset_t ds;
  cs_err_t err;
  double t0 = cs_now();
  if (random) {
    if (build_random(&m, &ds)) {
      fprintf(stderr, "scoring_bench: building random data failed\n");
      return 1;
    }
  } else if (cs_model_load(&m, argv[1], &err) ||
             cs_dataset_load(&ds, argv[2], &err)) {
    fprintf(stderr, "scoring_bench: %s\n", err.msg);
    return 1;
  }
  double t_setup = cs_now() - t0;
  const cs_split_t *sp = &ds.splits[CS_SPLIT_TEST];

  if (dump_dir) {
    float *pred = cs_alloc_aligned((size_t)sp->n_users * m.dim * sizeof(float));
    if (!pred || cs_regressor_predict(m.regressor, sp->features, sp->n_users,
                                      pred, &err) ||
        dump(dump_dir, "song_emb.f32", m.song_emb, (size_t)m.n_songs * m.dim) ||
        dump(dump_dir, "test_pred.f32", pred, (size_t)sp->n_users * m.dim)) {
      fprintf(stderr, "scoring_bench: dumping to %s failed\n", dump_dir);
      return 1;
    }
    free(pred);
  }

  /* (1) all six strategies of the paper with metrics (the target's set;
   * mix and blend are timed one by one below with the others). */
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = threads;
  cs_blas_set_threads(threads);
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  ep.n_strategies = CS_STRAT_SOFT + 1;
  double total[16], per[CS_N_STRATEGIES][16], pred_s[16];
  cs_eval_result_t res;
  if (repeats > 16) repeats = 16;
  for (int r = 0; r < repeats; r++) {
    double t = cs_now();
    if (cs_evaluate(&ctx, &m, &ds, CS_SPLIT_TEST, &ep, &res, &err)) {
      fprintf(stderr, "scoring_bench: %s\n", err.msg);
      return 1;
    }
    total[r] = cs_now() - t;
    pred_s[r] = res.seconds_predict;
    for (int i = 0; i < res.n_rows; i++) per[i][r] = res.rows[i].seconds;
  }

  /* CPU seconds per strategy (robust to other load on shared cores). */
  double cpu_s[CS_N_STRATEGIES] = {0}, cpu_all = 0.0;
  {
    cs_eval_params_t one = ep;
    one.n_strategies = 1;
    for (int s = 0; s < CS_N_STRATEGIES; s++) {
      one.strategies[0] = s;
      cs_eval_result_t r1;
      double c = cpu_now();
      if (cs_evaluate(&ctx, &m, &ds, CS_SPLIT_TEST, &one, &r1, &err)) return 1;
      cpu_s[s] = cpu_now() - c; /* includes the forward pass for full,
                                   semi and soft */
    }
    double c = cpu_now();
    if (cs_evaluate(&ctx, &m, &ds, CS_SPLIT_TEST, &ep, &res, &err)) return 1;
    cpu_all = cpu_now() - c;
  }

  /* (2) per-request latency, one thread, as the server runs it. */
  cs_blas_set_threads(1);
  cs_rec_ws_t *ws;
  if (cs_rec_ws_create(&ws, &m, &ep.sp, &err)) {
    fprintf(stderr, "scoring_bench: %s\n", err.msg);
    return 1;
  }
  int n_lat = sp->n_users < 2000 ? (int)sp->n_users : 2000;
  double *lat = malloc((size_t)n_lat * sizeof *lat);
  double lat_med[CS_N_STRATEGIES], lat_p99[CS_N_STRATEGIES];
  for (int s = 0; s < CS_N_STRATEGIES; s++) {
    int n_run = (s == CS_STRAT_FULL || s == CS_STRAT_D0_STREAMS) ? n_lat / 4
                                                                 : n_lat;
    for (int u = 0; u < n_run; u++) {
      const cs_rec_t *rec;
      double t = cs_now();
      cs_recommend(&m, s, &ep.sp, sp->features + (size_t)u * m.n_features,
                   NULL, ws, &rec, NULL);
      lat[u] = cs_now() - t;
    }
    lat_med[s] = median(lat, n_run);
    lat_p99[s] = lat[(int)(0.99 * (n_run - 1))];
  }

  /* Components: the regressor's forward pass for one user, and each
   * strategy given the predicted embedding (what cs_recommend adds). */
  float *one = cs_alloc_aligned((size_t)m.dim * sizeof(float));
  double *preds = cs_alloc_aligned((size_t)n_lat * m.dim * sizeof(float));
  float *predv = (float *)preds;
  for (int u = 0; u < n_lat; u++) {
    double t = cs_now();
    cs_regressor_predict(m.regressor, sp->features + (size_t)u * m.n_features,
                         1, one, NULL);
    lat[u] = cs_now() - t;
    memcpy(predv + (size_t)u * m.dim, one, (size_t)m.dim * sizeof(float));
  }
  double reg_med = median(lat, n_lat);
  double given_med[CS_N_STRATEGIES];
  for (int s = 0; s < CS_N_STRATEGIES; s++) {
    int n_run = (s == CS_STRAT_FULL || s == CS_STRAT_D0_STREAMS) ? n_lat / 4
                                                                 : n_lat;
    for (int u = 0; u < n_run; u++) {
      const cs_rec_t *rec;
      double t = cs_now();
      cs_recommend(&m, s, &ep.sp, sp->features + (size_t)u * m.n_features,
                   predv + (size_t)u * m.dim, ws, &rec, NULL);
      lat[u] = cs_now() - t;
    }
    given_med[s] = median(lat, n_run);
  }
  free(one);
  free(preds);

  printf("{\"data\": \"%s\", \"songs\": %lld, \"dim\": %d, \"features\": %d, "
         "\"clusters\": %d, \"test_users\": %lld, \"evaluated\": %lld, "
         "\"threads\": %d, \"repeats\": %d, \"setup_s\": %.3f, "
         "\"evaluate_all_s\": %.4f, \"predict_s\": %.4f, "
         "\"regressor_one_us\": %.2f, \"evaluate_all_cpu_s\": %.3f, "
         "\"strategies\": {",
         random ? "random" : argv[2], (long long)m.n_songs, m.dim,
         m.n_features, m.target.k, (long long)sp->n_users, (long long)res.n_users,
         threads, repeats, t_setup, median(total, repeats),
         median(pred_s, repeats), 1e6 * reg_med, cpu_all);
  for (int i = 0; i < res.n_rows; i++) {
    int s = res.rows[i].strategy;
    printf("%s\"%s\": {\"evaluate_s\": %.4f, \"latency_us\": %.2f, "
           "\"latency_p99_us\": %.2f, \"given_pred_us\": %.2f, "
           "\"cpu_s\": %.3f, "
           "\"precision\": %.5f, \"recall\": %.5f, "
           "\"ndcg\": %.5f}", i ? ", " : "", cs_strategy_name(s),
           median(per[i], repeats), 1e6 * lat_med[s], 1e6 * lat_p99[s],
           1e6 * given_med[s], cpu_s[s], res.rows[i].precision.mean, res.rows[i].recall.mean,
           res.rows[i].ndcg.mean);
  }
  printf("}}\n");
  free(lat);
  cs_rec_ws_free(ws);
  cs_model_free(&m);
  cs_dataset_free(&ds);
  return 0;
}

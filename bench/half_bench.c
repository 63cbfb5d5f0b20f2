/* half_bench.c: what float16 weights change. On every user of a split:
 * the largest absolute difference of the predicted embedding (float16 vs
 * float32 weights), how many users change their nearest target segment,
 * their set of soft's m nearest segments, and their soft list (K songs, in
 * order); and the forward pass's time per user at batch 1 both ways.
 * Prints one JSON object. usage: half_bench MODEL DATASET [SPLIT] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/centroids.h"
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/model.h"
#include "coldstart/strategy.h"

static double median(double *v, int n) {
  for (int i = 1; i < n; i++) /* insertion sort: n is small */
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2];
}

/* seconds per user of one-row forward passes over the first n users */
static double time_batch1(cs_regressor_t *r, const float *x, int64_t n, int f,
                          int d, float *y) {
  double rep[7];
  for (int k = 0; k < 7; k++) {
    double t0 = cs_now();
    for (int64_t i = 0; i < n; i++)
      cs_regressor_predict(r, x + (size_t)i * f, 1, y + (size_t)i * d, NULL);
    rep[k] = (cs_now() - t0) / (double)n;
  }
  return median(rep, 7);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: half_bench MODEL DATASET [SPLIT]\n");
    return 2;
  }
  int split = argc > 3 ? cs_split_parse(argv[3]) : CS_SPLIT_TEST;
  cs_model_t m;
  cs_dataset_t ds;
  cs_err_t err;
  if (cs_model_load(&m, argv[1], &err) || cs_dataset_load(&ds, argv[2], &err)) {
    fprintf(stderr, "half_bench: %s\n", err.msg);
    return 1;
  }
  const cs_split_t *s = &ds.splits[split];
  int64_t n = s->n_users;
  int d = m.dim, f = m.n_features;
  float *y32 = malloc((size_t)n * d * sizeof *y32);
  float *y16 = malloc((size_t)n * d * sizeof *y16);
  cs_regressor_set_half(m.regressor, 0);
  cs_regressor_predict(m.regressor, s->features, n, y32, NULL);
  cs_regressor_set_half(m.regressor, 1);
  cs_regressor_predict(m.regressor, s->features, n, y16, NULL);
  double max_abs = 0.0, sum_abs = 0.0;
  for (size_t i = 0; i < (size_t)n * d; i++) {
    double e = fabs((double)y16[i] - (double)y32[i]);
    if (e > max_abs) max_abs = e;
    sum_abs += e;
  }
  cs_strategy_params_t sp;
  cs_strategy_params_default(&sp);
  cs_rec_ws_t *ws = NULL;
  if (cs_rec_ws_create(&ws, &m, &sp, &err)) {
    fprintf(stderr, "half_bench: %s\n", err.msg);
    return 1;
  }
  int64_t nearest_changed = 0, set_changed = 0, list_changed = 0;
  int32_t *list32 = malloc((size_t)sp.k * sizeof *list32);
  for (int64_t u = 0; u < n; u++) {
    int32_t c32[CS_SOFT_M_MAX], c16[CS_SOFT_M_MAX];
    float d32[CS_SOFT_M_MAX], d16[CS_SOFT_M_MAX];
    cs_centroids_nearest(m.target.centroids, m.target.k, d, y32 + (size_t)u * d,
                         sp.soft_m, c32, d32);
    cs_centroids_nearest(m.target.centroids, m.target.k, d, y16 + (size_t)u * d,
                         sp.soft_m, c16, d16);
    nearest_changed += c32[0] != c16[0];
    int same = 1;
    for (int j = 0; j < sp.soft_m && same; j++) {
      int found = 0;
      for (int i = 0; i < sp.soft_m; i++) found |= c32[j] == c16[i];
      same = found;
    }
    set_changed += !same;
    const cs_rec_t *r;
    const float *x = s->features + (size_t)u * f;
    cs_recommend(&m, CS_STRAT_SOFT, &sp, x, y32 + (size_t)u * d, ws, &r, &err);
    int k32 = r->n_items;
    memcpy(list32, r->songs, (size_t)k32 * sizeof *list32);
    cs_recommend(&m, CS_STRAT_SOFT, &sp, x, y16 + (size_t)u * d, ws, &r, &err);
    list_changed += k32 != r->n_items || memcmp(list32, r->songs, (size_t)k32 * sizeof *list32);
  }
  int64_t nt = n < 2000 ? n : 2000;
  cs_regressor_set_half(m.regressor, 0);
  double t32 = time_batch1(m.regressor, s->features, nt, f, d, y32);
  cs_regressor_set_half(m.regressor, 1);
  double t16 = time_batch1(m.regressor, s->features, nt, f, d, y16);
  printf("{\"model\": \"%s\", \"split\": \"%s\", \"users\": %lld, \"dim\": %d, "
         "\"max_abs_diff\": %.3g, \"mean_abs_diff\": %.3g, "
         "\"nearest_segment_changed\": %lld, \"soft_segment_set_changed\": %lld, "
         "\"soft_list_changed\": %lld, \"forward_us_f32\": %.2f, "
         "\"forward_us_f16\": %.2f}\n",
         argv[1], cs_split_name(split), (long long)n, d, max_abs,
         sum_abs / ((double)n * d), (long long)nearest_changed,
         (long long)set_changed, (long long)list_changed, 1e6 * t32, 1e6 * t16);
  cs_rec_ws_free(ws);
  free(y32);
  free(y16);
  free(list32);
  cs_dataset_free(&ds);
  cs_model_free(&m);
  return 0;
}

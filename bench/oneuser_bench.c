/* oneuser_bench.c: one cold user, raw events to K songs, in-process, stage
 * by stage: parse the request body, featurize, the regressor's forward
 * pass, the segment search, the allocation, the response JSON. Prints the
 * median and p99 of each stage and of the whole path (microseconds) as one
 * JSON object.
 * usage: oneuser_bench MODEL BODIES.jsonl [STRATEGY] [REPEATS] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/centroids.h"
#include "coldstart/ctx.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/serve.h"
#include "coldstart/strategy.h"

enum { S_PARSE, S_FEATURIZE, S_FORWARD, S_SEARCH, S_ALLOCATE, S_JSON, S_TOTAL,
       N_STAGES };
static const char *const stage_names[N_STAGES] = {
    "parse", "featurize", "forward", "segment_search", "allocation", "json",
    "total"};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The request's demographics and events (as the server reads them). */
static int parse(const char *body, int32_t *age, char *country, size_t cap,
                 cs_event_t *ev, int64_t max_ev, int64_t *n_ev) {
  json_error_t je;
  json_t *root = json_loads(body, 0, &je);
  if (!root) return -1;
  json_t *ja = json_object_get(root, "age"), *jc = json_object_get(root, "country");
  *age = json_is_integer(ja) ? (int32_t)json_integer_value(ja) : -1;
  snprintf(country, cap, "%s", json_is_string(jc) ? json_string_value(jc) : "");
  json_t *arr = json_object_get(root, "events");
  size_t n = json_array_size(arr);
  if ((int64_t)n > max_ev) n = (size_t)max_ev;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(arr, i);
    const char *a = json_string_value(json_object_get(e, "action"));
    const char *k = json_string_value(json_object_get(e, "kind"));
    if (!a || !k) continue;
    ev[i].action = (uint8_t)cs_action_parse(a, strlen(a));
    ev[i].kind = (uint8_t)cs_kind_parse(k, strlen(k));
    ev[i].item_id = json_integer_value(json_object_get(e, "item_id"));
  }
  *n_ev = (int64_t)n;
  json_decref(root);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: oneuser_bench MODEL BODIES.jsonl [STRATEGY] [REPEATS]\n");
    return 2;
  }
  int strategy = cs_strategy_parse(argc > 3 ? argv[3] : "soft");
  int repeats = argc > 4 ? atoi(argv[4]) : 3;
  if (strategy < 0) {
    fprintf(stderr, "unknown strategy %s\n", argv[3]);
    return 2;
  }
  cs_blas_set_threads(1);
  cs_err_t err;
  cs_err_clear(&err);
  cs_model_t m;
  if (cs_model_load(&m, argv[1], &err) || !m.featurizer) {
    fprintf(stderr, "%s\n", m.featurizer ? err.msg : "model without featurizer");
    return 1;
  }
  /* CS_HALF=1: the regressor reads float16 weights */
  if (getenv("CS_HALF")) cs_regressor_set_half(m.regressor, 1);
  FILE *fp = fopen(argv[2], "r");
  if (!fp) {
    perror(argv[2]);
    return 1;
  }
  size_t cap_lines = 1024, n_lines = 0;
  char **lines = malloc(cap_lines * sizeof *lines);
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, fp) > 0) {
    if (n_lines == cap_lines) lines = realloc(lines, (cap_lines *= 2) * sizeof *lines);
    lines[n_lines++] = strdup(line);
  }
  free(line);
  fclose(fp);

  cs_strategy_params_t sp;
  cs_strategy_params_default(&sp);
  cs_rec_ws_t *ws;
  if (cs_rec_ws_create(&ws, &m, &sp, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  enum { MAX_EV = 10000 };
  cs_event_t *ev = malloc(MAX_EV * sizeof *ev);
  float *x = cs_alloc_aligned((size_t)m.n_features * sizeof(float));
  float *pred = cs_alloc_aligned((size_t)m.dim * sizeof(float));
  size_t out_cap = 1 << 20;
  char *out = malloc(out_cap);
  size_t n_samples = n_lines * (size_t)repeats;
  double *t[N_STAGES];
  for (int s = 0; s < N_STAGES; s++) t[s] = malloc(n_samples * sizeof(double));
  double sink = 0;
  size_t k = 0;
  for (int r = 0; r < repeats; r++)
    for (size_t i = 0; i < n_lines; i++, k++) {
      int32_t age = 0;
      char country[16];
      int64_t n_ev = 0;
      int32_t idx[CS_SOFT_M_MAX];
      float dist[CS_SOFT_M_MAX];
      double c0 = cs_now();
      parse(lines[i], &age, country, sizeof country, ev, MAX_EV, &n_ev);
      double c1 = cs_now();
      cs_featurizer_user(m.featurizer, age, country, ev, n_ev, x, NULL);
      double c2 = cs_now();
      cs_regressor_predict(m.regressor, x, 1, pred, NULL);
      double c3 = cs_now();
      cs_centroids_nearest(m.target.centroids, m.target.k, m.dim, pred,
                           sp.soft_m, idx, dist);
      double c4 = cs_now();
      const cs_rec_t *rec;
      cs_recommend(&m, strategy, &sp, x, pred, ws, &rec, NULL);
      double c5 = cs_now();
      int64_t len = cs_rec_write_json(&m, (int64_t)i, rec, out, out_cap);
      double c6 = cs_now();
      sink += (double)len + idx[0];
      double search = cs_strategy_needs_embedding(strategy) &&
                              strategy != CS_STRAT_FULL
                          ? c4 - c3
                          : 0.0;
      t[S_PARSE][k] = c1 - c0;
      t[S_FEATURIZE][k] = c2 - c1;
      t[S_FORWARD][k] = c3 - c2;
      t[S_SEARCH][k] = search;
      /* cs_recommend searches the segments again: the allocation is the rest */
      t[S_ALLOCATE][k] = c5 - c4 - search > 0 ? c5 - c4 - search : 0;
      t[S_JSON][k] = c6 - c5;
      t[S_TOTAL][k] = (c3 - c0) + (c5 - c4) + (c6 - c5);
    }
  printf("{\"model\": \"%s\", \"strategy\": \"%s\", \"users\": %zu, "
         "\"repeats\": %d, \"stages_us\": {", argv[1],
         cs_strategy_name(strategy), n_lines, repeats);
  for (int s = 0; s < N_STAGES; s++) {
    qsort(t[s], n_samples, sizeof(double), cmp_double);
    printf("%s\"%s\": {\"p50\": %.2f, \"p99\": %.2f}", s ? ", " : "",
           stage_names[s], 1e6 * t[s][n_samples / 2],
           1e6 * t[s][n_samples * 99 / 100]);
  }
  printf("}, \"sink\": %g}\n", sink > 0 ? 1.0 : 0.0);
  return 0;
}

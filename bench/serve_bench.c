/* serve_bench.c: the online request path without the network: each request
 * body (JSON: raw events + demographics) through cs_handler_recommend
 * (parse, featurize, regressor, soft allocation, response JSON), timed per
 * request; prints the median, p99 and the rate on one core as JSON.
 * usage: serve_bench MODEL BODIES.jsonl [REPEATS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/ctx.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/serve.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: serve_bench MODEL BODIES.jsonl [REPEATS]\n");
    return 2;
  }
  int repeats = argc > 3 ? atoi(argv[3]) : 3;
  cs_blas_set_threads(1);
  cs_err_t err;
  cs_err_clear(&err);
  cs_model_t model;
  if (cs_model_load(&model, argv[1], &err) != CS_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  cs_handler_params_t hp;
  cs_handler_params_default(&hp);
  cs_handler_t *h;
  if (cs_handler_create(&h, &model, &hp, &err) != CS_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  FILE *fp = fopen(argv[2], "r");
  if (!fp) {
    perror(argv[2]);
    return 1;
  }
  size_t cap_lines = 1024, n_lines = 0;
  char **lines = malloc(cap_lines * sizeof *lines);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, fp)) > 0) {
    if (n_lines == cap_lines) lines = realloc(lines, (cap_lines *= 2) * sizeof *lines);
    lines[n_lines++] = strndup(line, (size_t)len);
  }
  free(line);
  fclose(fp);
  double *times = malloc(n_lines * (size_t)repeats * sizeof *times);
  size_t n_times = 0, n_failed = 0, bytes = 0;
  double t_all = cs_now();
  for (int r = 0; r < repeats; r++) {
    for (size_t i = 0; i < n_lines; i++) {
      const char *out;
      size_t out_len;
      double t0 = cs_now();
      int rc = cs_handler_recommend(h, lines[i], strlen(lines[i]), &out, &out_len, &err);
      times[n_times++] = cs_now() - t0;
      if (rc != CS_OK) n_failed++;
      else bytes += out_len;
    }
  }
  t_all = cs_now() - t_all;
  qsort(times, n_times, sizeof *times, cmp_double);
  printf("{\"requests\": %zu, \"failed\": %zu, \"median_us\": %.2f, \"p99_us\": %.2f, "
         "\"per_core_rps\": %.0f, \"mean_response_bytes\": %.0f}\n",
         n_times, n_failed, 1e6 * times[n_times / 2], 1e6 * times[n_times * 99 / 100],
         (double)n_times / t_all, (double)bytes / (double)(n_times - n_failed + 1));
  for (size_t i = 0; i < n_lines; i++) free(lines[i]);
  free(lines);
  free(times);
  cs_handler_free(h);
  cs_model_free(&model);
  return n_failed ? 1 : 0;
}

/* serve_bench.c: the online request path without the network: request
 * bodies (JSON: raw events + demographics) through the handler as the
 * server runs them: parse + featurize each, one regressor pass per batch,
 * one recommendation + response JSON each. Batch 1 is a request alone;
 * batch B is B requests arriving together. Also checks that every answer
 * is the same bytes in both. Prints one JSON line per batch size, timed in
 * thread CPU time (the machine is shared) and in wall time.
 * usage: serve_bench MODEL BODIES.jsonl [MAX_REQUESTS] [BATCH...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coldstart/ctx.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/serve.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  char **answers; /* [n] the answers of the reference run, or NULL */
  char **check;   /* [n] compare against these */
  size_t base, n_failed, n_diff, bytes;
} run_t;

static void on_reply(void *ctx, int slot, int rc, const char *json, size_t len,
                     const cs_err_t *err) {
  run_t *r = ctx;
  (void)err;
  size_t i = r->base + (size_t)slot;
  if (rc != CS_OK) {
    r->n_failed++;
    return;
  }
  r->bytes += len;
  if (r->answers) r->answers[i] = strndup(json, len);
  if (r->check && (!r->check[i] || strlen(r->check[i]) != len || memcmp(r->check[i], json, len)))
    r->n_diff++;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: serve_bench MODEL BODIES.jsonl [MAX_REQUESTS] [BATCH...]\n");
    return 2;
  }
  size_t max_req = argc > 3 ? (size_t)atol(argv[3]) : 5000;
  cs_blas_set_threads(1);
  cs_err_t err;
  cs_err_clear(&err);
  cs_model_t model;
  if (cs_model_load(&model, argv[1], &err) != CS_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  FILE *fp = fopen(argv[2], "r");
  if (!fp) {
    perror(argv[2]);
    return 1;
  }
  size_t cap_lines = 1024, n = 0;
  char **lines = malloc(cap_lines * sizeof *lines);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while (n < max_req && (len = getline(&line, &cap, fp)) > 0) {
    if (n == cap_lines) lines = realloc(lines, (cap_lines *= 2) * sizeof *lines);
    lines[n++] = strndup(line, (size_t)len);
  }
  free(line);
  fclose(fp);
  int batches[16] = {1, 8, 16, 32};
  int n_batches = 4;
  if (argc > 4) {
    n_batches = 0;
    for (int a = 4; a < argc && n_batches < 16; a++) batches[n_batches++] = atoi(argv[a]);
  }
  char **ref = calloc(n, sizeof *ref);
  double *per = malloc(n * sizeof *per);
  int rc = 0;
  for (int b = 0; b < n_batches; b++) {
    int B = batches[b];
    cs_handler_params_t hp;
    cs_handler_params_default(&hp);
    hp.batch_max = B;
    cs_handler_t *h;
    if (cs_handler_create(&h, &model, &hp, &err) != CS_OK) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
    run_t r = {b == 0 ? ref : NULL, b == 0 ? NULL : ref, 0, 0, 0, 0};
    size_t n_parse_failed = 0, n_per = 0;
    double cpu0 = cpu_now(), wall0 = cs_now();
    for (size_t i = 0; i + (size_t)B <= n; i += (size_t)B) {
      double t0 = cpu_now();
      r.base = i;
      for (int s = 0; s < B; s++)
        if (cs_handler_parse(h, s, lines[i + s], strlen(lines[i + s]), &err) != CS_OK)
          n_parse_failed++;
      cs_handler_run(h, B, on_reply, &r);
      per[n_per++] = (cpu_now() - t0) / B;
    }
    double cpu = cpu_now() - cpu0, wall = cs_now() - wall0;
    size_t done = n_per * (size_t)B;
    qsort(per, n_per, sizeof *per, cmp_double);
    printf("{\"batch\": %d, \"requests\": %zu, \"failed\": %zu, \"different_from_batch_1\": %zu, "
           "\"cpu_us_per_request\": %.2f, \"median_batch_cpu_us_per_request\": %.2f, "
           "\"wall_us_per_request\": %.2f, \"per_core_rps\": %.0f, \"mean_response_bytes\": %.0f}\n",
           B, done, r.n_failed + n_parse_failed, r.n_diff, 1e6 * cpu / (double)done,
           1e6 * per[n_per / 2], 1e6 * wall / (double)done, (double)done / cpu,
           (double)r.bytes / (double)(done + 1));
    if (r.n_failed || n_parse_failed || r.n_diff) rc = 1;
    cs_handler_free(h);
  }
  for (size_t i = 0; i < n; i++) {
    free(lines[i]);
    free(ref[i]);
  }
  free(lines);
  free(ref);
  free(per);
  cs_model_free(&model);
  return rc;
}

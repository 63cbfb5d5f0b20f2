/* onnx_bench.c: coldstart's regressor forward pass, the public
 * cs_regressor_predict_threads, timed per call on 1 row and on 64 rows, over the
 * same raw float32 rows bench/onnx.mjs feeds ONNX Runtime. Prints one JSON
 * line; writes the embeddings of every row (batch 1 and batch 64) so the
 * node side can check both tools computed the same thing.
 *
 * usage: onnx_bench MODEL ROWS.f32 N_ROWS THREADS CALLS1 CALLS64 OUT_PREFIX
 * ROWS.f32 holds N_ROWS x F floats (F from the model). Batch 1 cycles
 * through the rows one at a time; batch 64 through the N_ROWS / 64
 * consecutive blocks. THREADS: the rows of a call split between that many
 * threads (batch 1 runs on one). Writes
 * OUT_PREFIX.b1.f32 and OUT_PREFIX.b64.f32 ([N_ROWS x d] each). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/ctx.h"
#include "coldstart/mat.h"
#include "coldstart/model.h"
#include "coldstart/regressor.h"
#include "bench_io.h"

enum { WARMUP = 200, BATCH = 64 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(const double *sorted, long n, int p) {
  long i = (long)((double)p / 100.0 * (double)(n - 1) + 0.5);
  return sorted[i];
}

/* Time `calls` predictions of `batch` rows cycling over the blocks;
 * returns the sorted per-call seconds in *times (malloc'ed). */
static int timed(const cs_regressor_t *r, const float *X, long n_rows, int n_in,
                 int dim, int batch, int threads, long calls, double **times,
                 float *out) {
  long n_blocks = n_rows / batch;
  double *t = malloc((size_t)calls * sizeof *t);
  float *y = cs_alloc_aligned((size_t)batch * dim * sizeof *y);
  if (!t || !y) return -1;
  cs_err_t err;
  for (long c = -WARMUP; c < calls; c++) {
    long b = (c + WARMUP) % n_blocks;
    const float *x = X + (size_t)b * batch * n_in;
    double t0 = cs_now();
    if (cs_regressor_predict_threads(r, x, batch, y, threads, &err)) {
      fprintf(stderr, "onnx_bench: %s\n", err.msg);
      return -1;
    }
    double dt = cs_now() - t0;
    if (c >= 0) t[c] = dt;
    memcpy(out + (size_t)b * batch * dim, y, (size_t)batch * dim * sizeof *y);
  }
  free(y);
  qsort(t, (size_t)calls, sizeof *t, cmp_double);
  *times = t;
  return 0;
}

static int write_f32(const char *path, const float *x, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(x, sizeof *x, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "onnx_bench: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: onnx_bench MODEL ROWS.f32 N_ROWS THREADS CALLS1 "
                    "CALLS64 OUT_PREFIX\n");
    return 2;
  }
  long n_rows = atol(argv[3]), calls1 = atol(argv[5]), calls64 = atol(argv[6]);
  int threads = atoi(argv[4]);
  if (n_rows < BATCH || calls1 < 1 || calls64 < 1 || threads < 1) {
    fprintf(stderr, "onnx_bench: need N_ROWS >= %d and positive counts\n", BATCH);
    return 2;
  }
  cs_blas_set_threads(threads);
  cs_err_t err;
  cs_model_t model;
  if (cs_model_load(&model, argv[1], &err)) {
    fprintf(stderr, "onnx_bench: %s\n", err.msg);
    return 1;
  }
  const cs_regressor_t *r = model.regressor;
  int n_in = cs_regressor_n_in(r), dim = cs_regressor_dim(r);
  float *X = bench_read_f32("onnx_bench", argv[2], (size_t)n_rows * n_in);
  float *out1 = calloc((size_t)n_rows * dim, sizeof *out1);
  float *out64 = calloc((size_t)n_rows * dim, sizeof *out64);
  if (!X || !out1 || !out64) return 1;
  double nonzero = 0;
  for (size_t i = 0; i < (size_t)n_rows * n_in; i++) nonzero += X[i] != 0.0f;
  double *t1, *t64;
  if (timed(r, X, n_rows, n_in, dim, 1, threads, calls1, &t1, out1) ||
      timed(r, X, n_rows, n_in, dim, BATCH, threads, calls64, &t64, out64))
    return 1;
  char path[4096];
  snprintf(path, sizeof path, "%s.b1.f32", argv[7]);
  if (write_f32(path, out1, (size_t)n_rows * dim)) return 1;
  snprintf(path, sizeof path, "%s.b64.f32", argv[7]);
  if (write_f32(path, out64, (size_t)(n_rows / BATCH) * BATCH * dim)) return 1;
  printf("{\"tool\": \"coldstart\", \"threads\": %d, \"rows\": %ld, "
         "\"nonzero_fraction\": %.4f, "
         "\"batch1\": {\"calls\": %ld, \"p50_us\": %.2f, \"p99_us\": %.2f}, "
         "\"batch64\": {\"calls\": %ld, \"p50_us\": %.2f, \"p99_us\": %.2f, "
         "\"p50_us_per_user\": %.3f, \"p99_us_per_user\": %.3f}}\n",
         threads, n_rows, nonzero / ((double)n_rows * n_in), calls1,
         1e6 * pct(t1, calls1, 50), 1e6 * pct(t1, calls1, 99), calls64,
         1e6 * pct(t64, calls64, 50), 1e6 * pct(t64, calls64, 99),
         1e6 * pct(t64, calls64, 50) / BATCH, 1e6 * pct(t64, calls64, 99) / BATCH);
  free(t1);
  free(t64);
  free(X);
  free(out1);
  free(out64);
  cs_model_free(&model);
  return 0;
}

/* kmeans_bench.c: times cs_kmeans_fit on a raw float32 file written by
 * bench/kmeans.py; one JSON line per run to stdout, per-iteration debug lines
 * to stderr when CS_BENCH_VERBOSE is set.
 *
 * usage: kmeans_bench FILE N DIM K ITERS THREADS SEED fast|lloyd [REPEATS
 *                     [CENTROIDS_OUT]]
 * FILE holds N x DIM float32 values, row-major, no header; CENTROIDS_OUT
 * receives the last run's k x DIM centroids the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coldstart/ctx.h"
#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "bench_io.h"

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: kmeans_bench FILE N DIM K ITERS THREADS SEED "
                    "fast|lloyd [REPEATS]\n");
    return 2;
  }
  long long n = atoll(argv[2]);
  int dim = atoi(argv[3]);
  int threads = atoi(argv[6]);
  int repeats = argc > 9 ? atoi(argv[9]) : 1;
  cs_kmeans_params_t p;
  cs_kmeans_params_default(&p);
  p.k = atoi(argv[4]);
  p.max_iter = atoi(argv[5]);
  p.seed = (uint64_t)strtoull(argv[7], NULL, 10);
  p.algo = strcmp(argv[8], "lloyd") == 0 ? CS_KMEANS_LLOYD : CS_KMEANS_FAST;
  if (n <= 0 || dim <= 0 || threads <= 0 || repeats <= 0) {
    fprintf(stderr, "kmeans_bench: bad arguments\n");
    return 2;
  }
  float *X = bench_read_f32("kmeans_bench", argv[1], (size_t)n * (size_t)dim);
  if (!X) return 1;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = threads;
  if (getenv("CS_BENCH_VERBOSE")) {
    ctx.log_stream = stderr;
    ctx.log_level = CS_LOG_DEBUG;
  }
  cs_blas_set_threads(threads);
  for (int r = 0; r < repeats; r++) {
    cs_kmeans_t km;
    cs_err_t err;
    cs_err_clear(&err);
    double t0 = cs_now();
    clock_t c0 = clock(); /* process CPU time, all threads */
    int rc = cs_kmeans_fit(&ctx, X, n, dim, &p, &km, &err);
    clock_t c1 = clock();
    double t1 = cs_now();
    if (rc != 0) {
      fprintf(stderr, "kmeans_bench: %s\n", err.msg);
      free(X);
      return 1;
    }
    printf("{\"seconds\": %.4f, \"cpu_seconds\": %.4f, \"inertia\": %.10g, "
           "\"n_iter\": %d, \"k\": %d}\n",
           t1 - t0, (double)(c1 - c0) / CLOCKS_PER_SEC, km.inertia, km.n_iter,
           km.k);
    fflush(stdout);
    if (argc > 10 && r == repeats - 1) {
      FILE *f = fopen(argv[10], "wb");
      size_t count = (size_t)km.k * (size_t)dim;
      if (!f || fwrite(km.centroids, sizeof(float), count, f) != count ||
          fclose(f) != 0) {
        fprintf(stderr, "kmeans_bench: cannot write %s\n", argv[10]);
        cs_kmeans_free(&km);
        free(X);
        return 1;
      }
    }
    cs_kmeans_free(&km);
  }
  free(X);
  return 0;
}

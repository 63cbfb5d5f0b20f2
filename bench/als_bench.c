/* als_bench.c: times UT-ALS (seconds per iteration) and TT-SVD on a
 * generated play matrix of a given shape, printing one TSV line per
 * measurement. Built and driven by bench/als.sh.
 *   als_bench SHAPE N_USERS N_SONGS MEAN_SONGS_PER_USER DIMS ITERS THREADS
 *             [svd]
 * Users mix one of 200 taste groups (70%) with global Zipf popularity
 * (30%); play counts are 1 + geometric. A user's songs are split into
 * baskets of ~12 songs ("days") for TT-SVD. */
#include <math.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/ctx.h"
#include "coldstart/embed.h"
#include "coldstart/mat.h"
#include "coldstart/rng.h"
#include "coldstart/sparse.h"

#define N_GROUPS 200

/* CPU seconds of the whole process (all threads): with other jobs on the
 * machine, this is steadier than wall time. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: als_bench SHAPE N_USERS N_SONGS MEAN DIMS ITERS "
                    "THREADS [svd]\n");
    return 2;
  }
  const char *shape = argv[1];
  int64_t n_users = atoll(argv[2]), n_songs = atoll(argv[3]);
  double mean = atof(argv[4]);
  const char *dims = argv[5];
  int iters = atoi(argv[6]), threads = atoi(argv[7]);
  int do_svd = argc > 8 && strcmp(argv[8], "svd") == 0;

  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = threads;
  cs_blas_set_threads(threads);

  double t0 = cs_now();
  cs_rng_t rng;
  cs_rng_seed(&rng, 1234);
  cs_zipf_t zipf, zipf_group;
  int64_t group_size = n_songs / N_GROUPS;
  if (cs_zipf_init(&zipf, n_songs, 0.9) || cs_zipf_init(&zipf_group, group_size, 0.8))
    return 1;
  /* Each song's group comes from a fixed shuffle of song ids. */
  int64_t *perm = malloc((size_t)n_songs * sizeof(int64_t));
  for (int64_t i = 0; i < n_songs; i++) perm[i] = i;
  cs_rng_shuffle_i64(&rng, perm, n_songs);
  int64_t cap = (int64_t)(n_users * mean * 1.6) + 1024, n = 0;
  int64_t *ri = malloc((size_t)cap * sizeof(int64_t));
  int32_t *ci = malloc((size_t)cap * sizeof(int32_t));
  float *vi = malloc((size_t)cap * sizeof(float));
  int64_t *bi = malloc((size_t)cap * sizeof(int64_t));
  int64_t n_baskets = 0;
  for (int64_t u = 0; u < n_users; u++) {
    int64_t g = (int64_t)cs_rng_below(&rng, N_GROUPS);
    /* lognormal number of draws with the requested mean */
    double k = exp(log(mean) - 0.5 + cs_rng_normal(&rng));
    int64_t n_draws = (int64_t)k + 1;
    if (n + n_draws > cap) n_draws = cap - n;
    for (int64_t t = 0; t < n_draws; t++) {
      int64_t s = cs_rng_uniform(&rng) < 0.7
                      ? perm[g * group_size + cs_zipf_sample(&zipf_group, &rng) - 1]
                      : cs_zipf_sample(&zipf, &rng) - 1;
      ri[n] = u;
      ci[n] = (int32_t)s;
      vi[n] = (float)(1 + (int64_t)(-log(1.0 - cs_rng_uniform(&rng)) * 2.0));
      bi[n] = n_baskets + t / 12;
      n++;
    }
    n_baskets += n_draws / 12 + 1;
  }
  cs_csr_t plays, baskets;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_csr_from_triplets(&plays, n_users, n_songs, ri, ci, vi, n, &err) ||
      (do_svd && cs_csr_from_triplets(&baskets, n_baskets, n_songs, bi, ci, vi,
                                      n, &err))) {
    fprintf(stderr, "als_bench: %s\n", err.msg);
    return 1;
  }
  free(ri);
  free(ci);
  free(vi);
  free(bi);
  free(perm);
  cs_zipf_free(&zipf);
  cs_zipf_free(&zipf_group);
  fprintf(stderr, "%s: %lld users x %lld songs, %lld nonzeros, generated in %.1fs\n",
          shape, (long long)n_users, (long long)n_songs,
          (long long)cs_csr_nnz(&plays), cs_now() - t0);

  char dims_copy[64];
  snprintf(dims_copy, sizeof dims_copy, "%s", dims);
  for (char *tok = strtok(dims_copy, ","); tok; tok = strtok(NULL, ",")) {
    cs_als_params_t p;
    cs_als_params_default(&p);
    p.dim = atoi(tok);
    p.iters = iters;
    float *x = cs_alloc_aligned((size_t)(n_users * p.dim) * sizeof(float));
    float *y = cs_alloc_aligned((size_t)(n_songs * p.dim) * sizeof(float));
    /* Median over 3 fits of `iters` iterations each, minus a fit of 0
     * iterations (initialization and the transpose). */
    double t_init = cs_now(), c_init = cpu_seconds();
    p.iters = 0;
    if (cs_als_fit(&ctx, &plays, &p, x, y, NULL, &err)) return 1;
    t_init = cs_now() - t_init;
    c_init = cpu_seconds() - c_init;
    double cpu_iter[64];
    double per_iter[64];
    int n_meas = 0;
    for (int rep = 0; rep < 3 && n_meas < 64; rep++) {
      cs_als_report_t r;
      p.iters = iters;
      double t = cs_now(), c = cpu_seconds();
      if (cs_als_fit(&ctx, &plays, &p, x, y, &r, &err)) {
        fprintf(stderr, "als_bench: %s\n", err.msg);
        return 1;
      }
      cpu_iter[n_meas] = (cpu_seconds() - c - c_init) / iters;
      per_iter[n_meas++] = (cs_now() - t - t_init) / iters;
      fprintf(stderr, "  d=%d run %d: %.3f s/iter wall, %.3f cpu-s/iter, "
              "loss %.6g -> %.6g\n", p.dim, rep, per_iter[n_meas - 1],
              cpu_iter[n_meas - 1], r.loss[0], r.loss[r.iters - 1]);
    }
    qsort(per_iter, (size_t)n_meas, sizeof(double), cmp_double);
    qsort(cpu_iter, (size_t)n_meas, sizeof(double), cmp_double);
    printf("als\t%s\t%lld\t%lld\t%lld\t%d\t%d\t%.3f\t%.3f\n", shape,
           (long long)n_users, (long long)n_songs,
           (long long)cs_csr_nnz(&plays), p.dim, threads, per_iter[n_meas / 2],
           cpu_iter[n_meas / 2]);
    fflush(stdout);
    free(x);
    free(y);
  }
  if (do_svd) {
    cs_svd_params_t sp;
    cs_svd_params_default(&sp);
    float *e = cs_alloc_aligned((size_t)(n_songs * sp.dim) * sizeof(float));
    double ts[3], cs3[3];
    {
      double t = cs_now(), c = cpu_seconds();
      cs_csr_t ppmi;
      if (cs_ppmi_build(&ctx, &baskets, CS_TTSVD_MAX_BASKET, sp.seed, &ppmi,
                        &err)) {
        fprintf(stderr, "als_bench: %s\n", err.msg);
        return 1;
      }
      fprintf(stderr, "  ppmi alone: %lld baskets -> %lld positive pairs in "
              "%.2fs wall, %.2f cpu-s\n", (long long)baskets.n_rows,
              (long long)cs_csr_nnz(&ppmi), cs_now() - t, cpu_seconds() - c);
      cs_csr_free(&ppmi);
    }
    for (int rep = 0; rep < 3; rep++) {
      double t = cs_now(), c = cpu_seconds();
      if (cs_ttsvd_fit(&ctx, &baskets, &sp, e, &err)) {
        fprintf(stderr, "als_bench: %s\n", err.msg);
        return 1;
      }
      ts[rep] = cs_now() - t;
      cs3[rep] = cpu_seconds() - c;
      fprintf(stderr, "  tt-svd d=%d run %d: %.2fs wall, %.2f cpu-s\n", sp.dim,
              rep, ts[rep], cs3[rep]);
    }
    qsort(cs3, 3, sizeof(double), cmp_double);
    qsort(ts, 3, sizeof(double), cmp_double);
    printf("ttsvd\t%s\t%lld\t%lld\t%lld\t%d\t%d\t%.3f\t%.3f\n", shape,
           (long long)baskets.n_rows, (long long)n_songs,
           (long long)cs_csr_nnz(&baskets), sp.dim, threads, ts[1], cs3[1]);
    free(e);
    cs_csr_free(&baskets);
  }
  cs_csr_free(&plays);
  return 0;
}

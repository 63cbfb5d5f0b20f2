/* regressor_bench.c: times cs_regressor_train on raw float32 files written by
 * bench/regressor.py; per-epoch lines go to stderr, one JSON summary line to
 * stdout.
 *
 * usage: regressor_bench DIR N_TRAIN N_VAL N_FEATURES DIM THREADS
 *                        fast|reference [EPOCHS]
 * DIR holds train_X.f32 [N_TRAIN x N_FEATURES], train_Y.f32 [N_TRAIN x DIM],
 * val_X.f32, val_Y.f32. `reference` runs the paper's schedule (lr 1e-5,
 * batch 512) for EPOCHS epochs (default 130) without a validation set, so
 * epoch times are training passes only; `fast` runs the default schedule
 * with the validation set (early stopping). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/ctx.h"
#include "coldstart/mat.h"
#include "coldstart/regressor.h"
#include "coldstart/train.h"
#include "bench_io.h"

static float *read_f32(const char *dir, const char *name, size_t count) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return bench_read_f32("regressor_bench", path, count);
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr,
            "usage: regressor_bench DIR N_TRAIN N_VAL N_FEATURES DIM THREADS "
            "fast|reference [EPOCHS]\n");
    return 2;
  }
  const char *dir = argv[1];
  long n = atol(argv[2]), n_val = atol(argv[3]);
  int n_in = atoi(argv[4]), dim = atoi(argv[5]), threads = atoi(argv[6]);
  int reference = strcmp(argv[7], "reference") == 0;
  float *X = read_f32(dir, "train_X.f32", (size_t)n * n_in);
  float *Y = read_f32(dir, "train_Y.f32", (size_t)n * dim);
  float *Xv = read_f32(dir, "val_X.f32", (size_t)n_val * n_in);
  float *Yv = read_f32(dir, "val_Y.f32", (size_t)n_val * dim);
  if (!X || !Y || !Xv || !Yv) return 1;

  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = threads;
  ctx.log_stream = stderr;
  cs_blas_set_threads(threads);
  cs_regressor_params_t p;
  if (reference) {
    cs_regressor_params_reference(&p);
    if (argc > 8) p.epochs = atoi(argv[8]);
  } else {
    cs_regressor_params_default(&p);
    if (argc > 8) p.epochs = atoi(argv[8]);
  }
  cs_regressor_t *r;
  cs_err_t err;
  if (cs_regressor_create(&r, n_in, dim, 1, &err)) {
    fprintf(stderr, "regressor_bench: %s\n", err.msg);
    return 1;
  }
  cs_regressor_report_t rep = {0};
  double t0 = cs_now();
  int rc = cs_regressor_train(&ctx, r, X, Y, n, reference ? NULL : Xv,
                              reference ? NULL : Yv, reference ? 0 : n_val, &p,
                              &rep, &err);
  double seconds = cs_now() - t0;
  if (rc) {
    fprintf(stderr, "regressor_bench: %s\n", err.msg);
    return 1;
  }
  double t1 = cs_now();
  double val = cs_regressor_mse(r, Xv, Yv, n_val);
  double val_seconds = cs_now() - t1;
  printf("{\"mode\": \"%s\", \"epochs\": %d, \"lr\": %g, \"batch\": %d, "
         "\"seconds\": %.3f, \"train_mse\": %.8f, \"val_mse\": %.8f, "
         "\"val_eval_seconds\": %.3f}\n",
         reference ? "reference" : "fast", rep.epochs_run, (double)p.lr,
         p.batch, seconds, rep.train_mse, val, val_seconds);
  cs_regressor_free(r);
  free(X);
  free(Y);
  free(Xv);
  free(Yv);
  return 0;
}

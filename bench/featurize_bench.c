/* featurize_bench.c: time cs_featurizer_user (the online featurizer) on the
 * registration-day events of every cohort user of a raw-log folder, with the
 * featurizer tables of a prepared dataset. Prints the median of 5 passes in
 * microseconds per user, and the mean number of events per user.
 * usage: featurize_bench DATASET LOGS_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/featurize.h"
#include "coldstart/logs.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DATASET LOGS_DIR\n", argv[0]);
    return 2;
  }
  cs_err_t err;
  cs_err_clear(&err);
  cs_dataset_t ds;
  cs_logs_t L;
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.n_threads = 2;
  if (cs_dataset_load(&ds, argv[1], &err) || cs_logs_read(&L, argv[2], &ctx, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  cs_featurizer_t *fz = NULL;
  if (!ds.has_tables ||
      cs_featurizer_create(&fz, ds.n_songs, ds.song_ids, ds.song_emb,
                           &ds.tables, &err)) {
    fprintf(stderr, "dataset has no featurizer tables %s\n", err.msg);
    return 1;
  }
  /* registration-day events of users registered on the latest days */
  int64_t *start = calloc((size_t)L.n_users + 1, sizeof(int64_t));
  cs_event_t *ev = malloc((size_t)L.n_events * sizeof *ev);
  int64_t *count = calloc((size_t)L.n_users, sizeof(int64_t));
  for (int64_t e = 0; e < L.n_events; e++) {
    int32_t u = L.ev_user[e];
    if (u >= 0 && L.ev_day[e] == L.user_reg_day[u]) count[u]++;
  }
  for (int64_t u = 0; u < L.n_users; u++) start[u + 1] = start[u] + count[u];
  memset(count, 0, (size_t)L.n_users * sizeof(int64_t));
  for (int64_t e = 0; e < L.n_events; e++) {
    int32_t u = L.ev_user[e];
    if (u < 0 || L.ev_day[e] != L.user_reg_day[u]) continue;
    cs_event_t *x = &ev[start[u] + count[u]++];
    x->action = L.ev_action[e];
    x->kind = L.ev_kind[e];
    x->item_id = L.ev_item[e];
  }
  int nf = cs_featurizer_n_features(fz);
  float *out = malloc((size_t)nf * sizeof(float));
  double per_user[5];
  int64_t n_users = L.n_users, n_events = start[n_users];
  double sink = 0;
  for (int pass = 0; pass < 5; pass++) {
    double t0 = cs_now();
    for (int64_t u = 0; u < n_users; u++) {
      cs_featurizer_user(fz, L.user_age[u], L.user_country[u],
                         ev + start[u], start[u + 1] - start[u], out, NULL);
      sink += out[0];
    }
    per_user[pass] = (cs_now() - t0) / (double)n_users * 1e6;
  }
  qsort(per_user, 5, sizeof(double), cmp_double);
  printf("featurize: d=%d F=%d users=%lld events/user=%.1f median_us_per_user=%.3f "
         "(min %.3f) sink=%g\n",
         ds.dim, nf, (long long)n_users, (double)n_events / (double)n_users,
         per_user[2], per_user[0], sink);
  free(out);
  free(ev);
  free(start);
  free(count);
  cs_logs_free(&L);
  cs_dataset_free(&ds);
  return 0;
}

/* tune.c: `coldstart tune` (tune.h, docs/method.md "Tuning"): the k sweep
 * with warm-started k-means over one trained regressor, the coordinate
 * descent over the mix and blend parameters at the chosen k, all scored on
 * the validation split, and tune.json out and back in. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/evaluate.h"
#include "coldstart/io.h"
#include "coldstart/kmeans.h"
#include "coldstart/mat.h"
#include "coldstart/tune.h"
#include "train/train_internal.h"

void cs_tune_params_default(cs_tune_params_t *p) {
  memset(p, 0, sizeof *p);
  cs_train_params_default(&p->train);
  for (int k = 500; k <= 2000; k += 100) p->k_values[p->n_k++] = k;
  cs_strategy_params_default(&p->sp);
  p->tune_blend = 1;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* One item of a k spec: "k" or "A:B:STEP"; appends to out. */
static int parse_k_item(const char *spec, const char *s, size_t len, int *out,
                        int cap, int *n, cs_err_t *err) {
  char item[64];
  if (len == 0 || len >= sizeof item)
    return cs_err_set(err, CS_EUSAGE, "k values '%s': bad item '%.*s' "
                      "(k or A:B:STEP, separated by commas)", spec, (int)len, s);
  memcpy(item, s, len);
  item[len] = '\0';
  char *end;
  long a = strtol(item, &end, 10), b = a, step = 1;
  if (*end == ':') {
    b = strtol(end + 1, &end, 10);
    if (*end != ':')
      return cs_err_set(err, CS_EUSAGE, "k values '%s': '%s': expected "
                        "A:B:STEP", spec, item);
    step = strtol(end + 1, &end, 10);
  }
  if (end == item || *end != '\0' || a < 1 || b < a || step < 1 || b > 1000000)
    return cs_err_set(err, CS_EUSAGE, "k values '%s': bad item '%s' (k >= 1, "
                      "or A:B:STEP with 1 <= A <= B and STEP >= 1)", spec, item);
  for (long k = a; k <= b; k += step) {
    if (*n == cap)
      return cs_err_set(err, CS_EUSAGE, "k values '%s': more than %d", spec,
                        cap);
    out[(*n)++] = (int)k;
  }
  return 0;
}

int cs_tune_parse_k_values(const char *spec, int *out, int cap, int *n,
                           cs_err_t *err) {
  *n = 0;
  if (!spec || !*spec)
    return cs_err_set(err, CS_EUSAGE, "empty list of k values");
  for (const char *s = spec;;) {
    size_t len = strcspn(s, ",");
    int rc = parse_k_item(spec, s, len, out, cap, n, err);
    if (rc) return rc;
    if (!s[len]) break;
    s += len + 1;
  }
  qsort(out, (size_t)*n, sizeof *out, cmp_int);
  int m = 0;
  for (int i = 0; i < *n; i++)
    if (m == 0 || out[i] != out[m - 1]) out[m++] = out[i];
  *n = m;
  return 0;
}

void cs_tune_result_free(cs_tune_result_t *r) {
  if (!r) return;
  free(r->trials);
  r->trials = NULL;
  r->n_trials = r->cap_trials = 0;
}

/* --- the sweep's state ---------------------------------------------------- */

typedef struct {
  const cs_ctx_t *ctx;  /* progress and logs */
  cs_ctx_t quiet;       /* inner calls: same threads, no logs */
  const cs_dataset_t *ds;
  cs_model_t model;     /* its target segmentation is swapped per k */
  cs_kmeans_t km;       /* the k-means behind model.target (or k = 0) */
  float *Y;             /* [n_t x dim] training targets, k-means order */
  int64_t *rows;        /* [n_t] their split rows */
  int64_t n_t;
} tune_state_t;

/* Put the clustering km (taken over: st->km) in the model. */
static int set_target(tune_state_t *st, cs_kmeans_t *km, cs_err_t *err) {
  const cs_split_t *tr = &st->ds->splits[CS_SPLIT_TRAIN];
  int32_t *assign = malloc(((size_t)tr->n_users + 1) * sizeof *assign);
  if (!assign) return cs_err_set(err, CS_ENOMEM, "tune: segments");
  for (int64_t u = 0; u < tr->n_users; u++) assign[u] = -1;
  for (int64_t i = 0; i < st->n_t; i++) assign[st->rows[i]] = km->assign[i];
  cs_segments_t seg;
  memset(&seg, 0, sizeof seg);
  int rc = cs_segments_build(km->k, assign, tr->n_users, tr->truth_indptr,
                             tr->truth_indices, st->ds->n_songs, &seg, err);
  free(assign);
  if (rc) return rc;
  /* the O(1) lookups a loaded model has (the same results, faster) */
  if (seg.by_song && (rc = cs_segments_index(&seg))) {
    cs_segments_free(&seg);
    return cs_err_set(err, rc, "tune: segment index");
  }
  cs_segments_free(&st->model.target.seg);
  st->model.target.seg = seg;
  st->model.target.k = km->k;
  st->model.target.centroids = km->centroids;
  cs_kmeans_free(&st->km);
  st->km = *km;
  memset(km, 0, sizeof *km);
  return 0;
}

static int fit_k(tune_state_t *st, const cs_train_params_t *tp, int k,
                 const float *init, int k_init, cs_kmeans_t *out,
                 cs_err_t *err) {
  cs_kmeans_params_t kp;
  cs_kmeans_params_default(&kp);
  kp.k = k < st->n_t ? k : (int)st->n_t;
  kp.max_iter = tp->kmeans_iter;
  kp.seed = tp->seed;
  return cs_kmeans_fit_from(&st->quiet, st->Y, st->n_t, st->ds->dim, &kp, init,
                            k_init, out, err);
}

/* Score strategies[0..n) on the validation split into val[strategy]. */
static int score(tune_state_t *st, const int *strategies, int n,
                 const cs_strategy_params_t *sp, cs_tune_metric_t *val,
                 int64_t *n_users, cs_err_t *err) {
  cs_eval_params_t ep;
  cs_eval_params_default(&ep);
  ep.sp = *sp;
  ep.n_strategies = n;
  for (int i = 0; i < n; i++) ep.strategies[i] = strategies[i];
  cs_eval_result_t res;
  int rc = cs_evaluate(&st->quiet, &st->model, st->ds, CS_SPLIT_VALIDATION,
                       &ep, &res, err);
  if (rc) return rc;
  for (int i = 0; i < res.n_rows; i++) {
    cs_tune_metric_t *v = &val[res.rows[i].strategy];
    v->precision = res.rows[i].precision.mean;
    v->recall = res.rows[i].recall.mean;
    v->ndcg = res.rows[i].ndcg.mean;
  }
  if (n_users) *n_users = res.n_users;
  return 0;
}

/* The elbow of the inertia curve: the point farthest below the chord from
 * the first to the last point, both axes scaled to [0, 1] (Kneedle). */
static const char elbow_method[] =
    "kneedle: largest distance below the chord of the inertia curve, k and "
    "inertia scaled to [0, 1]";

int cs__tune_elbow(const cs_tune_point_t *pt, int n) {
  if (n < 3) return pt[0].k;
  double k0 = pt[0].k, k1 = pt[n - 1].k, i0 = pt[0].inertia,
         i1 = pt[n - 1].inertia;
  if (!(i0 > i1)) return pt[0].k;
  int best = 0;
  double best_gap = -1.0;
  for (int i = 0; i < n; i++) {
    double x = (pt[i].k - k0) / (k1 - k0), y = (pt[i].inertia - i1) / (i0 - i1);
    double gap = (1.0 - x) - y; /* chord y = 1 - x minus the curve */
    if (gap > best_gap) {
      best_gap = gap;
      best = i;
    }
  }
  return pt[best].k;
}

/* --- coordinate descent -------------------------------------------------- */

typedef struct {
  const char *name;
  int is_int;
  size_t off; /* field of cs_strategy_params_t */
  int n;
  double grid[8];
} axis_t;

static const axis_t mix_axes[] = {
    {"mix_tau", 0, offsetof(cs_strategy_params_t, mix_tau), 5,
     {0.03, 0.1, 0.3, 1.0, 3.0}},
    {"mix_size", 0, offsetof(cs_strategy_params_t, mix_size), 4,
     {0.0, 0.5, 1.0, 1.5}},
    {"mix_prior", 0, offsetof(cs_strategy_params_t, mix_prior), 5,
     {0.0, 0.02, 0.1, 0.3, 0.5}},
    {"mix_m", 1, offsetof(cs_strategy_params_t, mix_m), 3, {8, 16, 32}},
};
static const axis_t blend_axes[] = {
    {"blend_beta", 0, offsetof(cs_strategy_params_t, blend_beta), 5,
     {0.0, 0.3, 1.0, 3.0, 10.0}},
    {"blend_d0", 0, offsetof(cs_strategy_params_t, blend_d0), 4,
     {0.0, 0.1, 0.3, 1.0}},
};

static void set_axis(cs_strategy_params_t *p, const axis_t *a, double v) {
  char *b = (char *)p + a->off;
  if (a->is_int)
    *(int *)(void *)b = (int)v;
  else
    *(float *)(void *)b = (float)v;
}

static int same_params(const cs_strategy_params_t *a,
                       const cs_strategy_params_t *b) {
  return a->mix_m == b->mix_m && a->mix_tau == b->mix_tau &&
         a->mix_size == b->mix_size && a->mix_prior == b->mix_prior &&
         a->blend_beta == b->blend_beta && a->blend_d0 == b->blend_d0;
}

/* NDCG of `strategy` at sp: from an earlier trial when one has the same
 * parameters, else scored now and recorded. */
static int trial(tune_state_t *st, cs_tune_result_t *r, int strategy,
                 const cs_strategy_params_t *sp, cs_progress_t *prog,
                 double *ndcg, cs_err_t *err) {
  for (int i = 0; i < r->n_trials; i++)
    if (r->trials[i].strategy == strategy && same_params(&r->trials[i].sp, sp)) {
      *ndcg = r->trials[i].val.ndcg;
      return 0;
    }
  if (r->n_trials == r->cap_trials) {
    int cap = r->cap_trials ? 2 * r->cap_trials : 32;
    cs_tune_trial_t *t = realloc(r->trials, (size_t)cap * sizeof *t);
    if (!t) return cs_err_set(err, CS_ENOMEM, "tune: trials");
    r->trials = t;
    r->cap_trials = cap;
  }
  cs_tune_metric_t val[CS_N_STRATEGIES];
  int rc = score(st, &strategy, 1, sp, val, NULL, err);
  if (rc) return rc;
  cs_tune_trial_t *t = &r->trials[r->n_trials++];
  t->strategy = strategy;
  t->sp = *sp;
  t->val = val[strategy];
  *ndcg = t->val.ndcg;
  cs_progress_update(prog, prog->done + 1);
  return 0;
}

/* Coordinate descent: each axis in turn moves to its best grid value
 * (strictly better than the current point), up to `rounds` passes or
 * until a pass changes nothing. */
static int descend(tune_state_t *st, cs_tune_result_t *r, int strategy,
                   const axis_t *axes, int n_axes, int rounds,
                   cs_strategy_params_t *sp, cs_progress_t *prog,
                   double *best, cs_err_t *err) {
  int rc = trial(st, r, strategy, sp, prog, best, err);
  for (int round = 0; round < rounds && !rc; round++) {
    int moved = 0;
    for (int a = 0; a < n_axes && !rc; a++) {
      cs_strategy_params_t here = *sp;
      for (int g = 0; g < axes[a].n && !rc; g++) {
        cs_strategy_params_t q = here;
        set_axis(&q, &axes[a], axes[a].grid[g]);
        double v;
        if ((rc = trial(st, r, strategy, &q, prog, &v, err))) break;
        if (v > *best) {
          *best = v;
          *sp = q;
          moved = 1;
        }
      }
    }
    if (!moved) break;
  }
  return rc;
}

/* --- the driver ---------------------------------------------------------- */

int cs_tune(const cs_ctx_t *ctx, const cs_dataset_t *ds,
            const cs_tune_params_t *p, cs_tune_result_t *out, cs_err_t *err) {
  memset(out, 0, sizeof *out);
  double t_start = cs_now();
  const cs_split_t *tr = &ds->splits[CS_SPLIT_TRAIN];
  const cs_split_t *va = &ds->splits[CS_SPLIT_VALIDATION];
  if (!tr->targets || !tr->has_target)
    return cs_err_set(err, CS_EINVAL, "tune: the train split has no targets");
  int64_t n_t = 0, n_val_truth = 0;
  for (int64_t u = 0; u < tr->n_users; u++) n_t += tr->has_target[u] != 0;
  for (int64_t u = 0; u < va->n_users; u++)
    n_val_truth += va->truth_indptr[u + 1] > va->truth_indptr[u];
  if (n_val_truth == 0)
    return cs_err_set(err, CS_EINVAL, "tune: the validation split has no "
                      "user with days-1-30 songs: nothing to score on");
  if (p->n_k < 1 || p->n_k > CS_TUNE_MAX_K)
    return cs_err_set(err, CS_EINVAL, "tune: %d k values", p->n_k);
  int ks[CS_TUNE_MAX_K], n_k = 0;
  for (int i = 0; i < p->n_k; i++) {
    if (p->k_values[i] < 1 || (i > 0 && p->k_values[i] <= p->k_values[i - 1]))
      return cs_err_set(err, CS_EINVAL, "tune: k values must be positive and "
                        "ascending (%d after %d)", p->k_values[i],
                        i ? p->k_values[i - 1] : 0);
    if (p->k_values[i] <= n_t) ks[n_k++] = p->k_values[i];
  }
  if (n_k < p->n_k)
    cs_log(ctx, CS_LOG_WARN, "tune: %d k values above the %lld training "
           "users with a target left out", p->n_k - n_k, (long long)n_t);
  if (n_k == 0)
    return cs_err_set(err, CS_EINVAL, "tune: every k value is above the %lld "
                      "training users with a target", (long long)n_t);
  /* soft's m may not exceed the smallest k swept */
  cs_strategy_params_t sp0 = p->sp;
  if (sp0.soft_m > ks[0]) sp0.soft_m = ks[0];
  int rc;

  tune_state_t st;
  memset(&st, 0, sizeof st);
  st.ctx = ctx;
  st.quiet = *ctx;
  st.quiet.quiet = 1;
  st.quiet.log_level = CS_LOG_WARN;
  st.ds = ds;
  st.n_t = n_t;
  out->train = p->train;
  out->train.k = ks[0];
  memset(&out->train.tuning, 0, sizeof out->train.tuning);

  /* 1. One training run: regressor, input clusters, popularity, k-means
   * at the first k (cold, as `train` fits it). */
  cs_log(ctx, CS_LOG_INFO, "tune: training the regressor and the first "
         "segmentation (k = %d)", ks[0]);
  cs_train_report_t rep;
  double t0 = cs_now();
  if ((rc = cs_train(ctx, ds, &out->train, &st.model, &rep, err))) return rc;
  out->sec_train = cs_now() - t0;
  out->val_mse = rep.val_mse;
  int64_t n_val = 0;
  int own_val = 0;
  rc = cs__train_rows(ds, &out->train, n_t, &st.rows, &n_val, &own_val);
  int d = ds->dim;
  if (!rc) {
    st.Y = cs_alloc_aligned((size_t)n_t * d * sizeof(float));
    rc = st.Y ? 0 : CS_ENOMEM;
  }
  if (rc) {
    rc = cs_err_set(err, CS_ENOMEM, "tune: training targets");
    goto done;
  }
  for (int64_t i = 0; i < n_t; i++)
    memcpy(st.Y + (size_t)i * d, tr->targets + (size_t)st.rows[i] * d,
           (size_t)d * sizeof(float));

  /* 2. The strategies that do not depend on k, once. */
  cs_tune_metric_t fixed[CS_N_STRATEGIES];
  memset(fixed, 0, sizeof fixed);
  const int indep[4] = {CS_STRAT_POPULARITY, CS_STRAT_D0_STREAMS,
                        CS_STRAT_INPUT_CLUSTERS, CS_STRAT_FULL};
  if ((rc = score(&st, indep, 4, &sp0, fixed, &out->n_val_users, err)))
    goto done;

  /* 3. The sweep. */
  t0 = cs_now();
  cs_progress_t prog;
  cs_progress_start(&prog, ctx, "tune: k sweep", n_k);
  const int per_k[3] = {CS_STRAT_SEMI, CS_STRAT_SOFT, CS_STRAT_MIX};
  int best_i = 0;
  double best_k_ndcg = -1.0;
  for (int i = 0; i < n_k; i++) {
    double tk = cs_now();
    cs_tune_point_t *pt = &out->points[out->n_points];
    memset(pt, 0, sizeof *pt);
    pt->k = ks[i];
    if (i == 0) {
      pt->inertia = rep.kmeans_inertia;
      pt->k = st.model.target.k;
    } else {
      cs_kmeans_t km;
      const float *prev = st.model.target.centroids;
      if ((rc = fit_k(&st, &out->train, ks[i], prev, st.model.target.k, &km,
                      err)) ||
          (rc = set_target(&st, &km, err))) {
        cs_kmeans_free(&km);
        goto done_prog;
      }
      pt->inertia = st.km.inertia;
    }
    if ((rc = score(&st, per_k, 3, &sp0, pt->val, NULL, err))) goto done_prog;
    for (int s = 0; s < CS_N_STRATEGIES; s++) {
      if (s == CS_STRAT_SEMI || s == CS_STRAT_SOFT || s == CS_STRAT_MIX) {
        pt->has[s] = 1;
      } else if (s != CS_STRAT_BLEND) {
        pt->val[s] = fixed[s];
        pt->has[s] = 1;
      }
    }
    pt->seconds = cs_now() - tk;
    out->n_points++;
    double v = pt->val[CS_STRAT_MIX].ndcg;
    if (pt->val[CS_STRAT_SOFT].ndcg > v) v = pt->val[CS_STRAT_SOFT].ndcg;
    if (pt->val[CS_STRAT_SEMI].ndcg > v) v = pt->val[CS_STRAT_SEMI].ndcg;
    if (v > best_k_ndcg) {
      best_k_ndcg = v;
      best_i = i;
    }
    cs_progress_update(&prog, i + 1);
    cs_log(ctx, CS_LOG_INFO, "tune: k = %d: inertia %.6g, validation NDCG "
           "semi %.4f, soft %.4f, mix %.4f (%.1fs)", pt->k, pt->inertia,
           pt->val[CS_STRAT_SEMI].ndcg, pt->val[CS_STRAT_SOFT].ndcg,
           pt->val[CS_STRAT_MIX].ndcg, pt->seconds);
  }
  cs_progress_finish(&prog);
  out->sec_sweep = cs_now() - t0;
  out->elbow_k = cs__tune_elbow(out->points, out->n_points);
  out->elbow_method = elbow_method;
  out->chosen_k = out->points[best_i].k;

  /* 4. The chosen k, fitted from scratch as `train --clusters k` will. */
  t0 = cs_now();
  if (out->chosen_k != st.model.target.k || n_k > 1) {
    cs_kmeans_t km;
    if ((rc = fit_k(&st, &out->train, out->chosen_k, NULL, 0, &km, err)) ||
        (rc = set_target(&st, &km, err))) {
      cs_kmeans_free(&km);
      goto done;
    }
  }
  cs_log(ctx, CS_LOG_INFO, "tune: chose k = %d (elbow of the inertia: %d); "
         "tuning mix%s on it", out->chosen_k, out->elbow_k,
         p->tune_blend ? " and blend" : "");

  /* 5. mix's parameters, then blend's on top of them. */
  cs_strategy_params_t sp = sp0;
  int n_evals = 2 * (5 + 4 + 5 + 3) + (p->tune_blend ? 2 * (5 + 4) : 0);
  cs_progress_start(&prog, ctx, "tune: parameters", n_evals);
  double best_mix = 0.0, best_blend = 0.0;
  if ((rc = descend(&st, out, CS_STRAT_MIX, mix_axes, 4, 2, &sp, &prog,
                    &best_mix, err)))
    goto done_prog;
  if (p->tune_blend &&
      (rc = descend(&st, out, CS_STRAT_BLEND, blend_axes, 2, 2, &sp, &prog,
                    &best_blend, err)))
    goto done_prog;
  cs_progress_finish(&prog);

  /* 6. Every strategy at the chosen setting; the best one wins (ties: the
   * first in the strategy order). */
  int all[CS_N_STRATEGIES];
  for (int s = 0; s < CS_N_STRATEGIES; s++) all[s] = s;
  if ((rc = score(&st, all, CS_N_STRATEGIES, &sp, out->chosen_val, NULL, err)))
    goto done;
  out->chosen_sp = sp;
  out->chosen_strategy = 0;
  for (int s = 1; s < CS_N_STRATEGIES; s++)
    if (out->chosen_val[s].ndcg > out->chosen_val[out->chosen_strategy].ndcg)
      out->chosen_strategy = s;
  out->chosen_ndcg = out->chosen_val[out->chosen_strategy].ndcg;
  out->train.k = out->chosen_k;
  out->sec_tuning = cs_now() - t0;
  out->sec_total = cs_now() - t_start;
  cs_log(ctx, CS_LOG_INFO, "tune: chose %s at k = %d (validation NDCG %.4f; "
         "soft %.4f) in %.1fs", cs_strategy_name(out->chosen_strategy),
         out->chosen_k, out->chosen_ndcg, out->chosen_val[CS_STRAT_SOFT].ndcg,
         out->sec_total);
  rc = 0;
  goto done;
done_prog:
  cs_progress_finish(&prog);
done:
  st.model.target.centroids = NULL; /* st.km's, freed below */
  cs_model_free(&st.model);
  cs_kmeans_free(&st.km);
  free(st.Y);
  free(st.rows);
  if (rc) cs_tune_result_free(out);
  return rc;
}

/* --- tune.json ------------------------------------------------------------- */

/* A float parameter as the decimal it was set from (0.1f -> 0.1). */
static json_t *param_real(float x) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.6g", (double)x);
  return json_real(strtod(buf, NULL));
}

static json_t *params_json(const cs_strategy_params_t *sp) {
  json_t *o = json_object();
  json_object_set_new(o, "mix_m", json_integer(sp->mix_m));
  json_object_set_new(o, "mix_tau", param_real(sp->mix_tau));
  json_object_set_new(o, "mix_size", param_real(sp->mix_size));
  json_object_set_new(o, "mix_prior", param_real(sp->mix_prior));
  json_object_set_new(o, "blend_beta", param_real(sp->blend_beta));
  json_object_set_new(o, "blend_d0", param_real(sp->blend_d0));
  return o;
}

static json_t *metric_json(const cs_tune_metric_t *v) {
  json_t *o = json_object();
  json_object_set_new(o, "precision", json_real(v->precision));
  json_object_set_new(o, "recall", json_real(v->recall));
  json_object_set_new(o, "ndcg", json_real(v->ndcg));
  return o;
}

int cs_tune_write_json(const cs_tune_result_t *r, const char *dataset,
                       const char *path, cs_err_t *err) {
  json_t *root = json_object(), *kv = json_array(), *pts = json_array();
  json_object_set_new(root, "dataset", json_string(dataset));
  json_object_set_new(root, "split", json_string("validation"));
  json_object_set_new(root, "list_k", json_integer(r->chosen_sp.k));
  json_object_set_new(root, "users", json_integer(r->n_val_users));
  for (int i = 0; i < r->n_points; i++) {
    const cs_tune_point_t *pt = &r->points[i];
    json_array_append_new(kv, json_integer(pt->k));
    json_t *o = json_object(), *val = json_object();
    json_object_set_new(o, "k", json_integer(pt->k));
    json_object_set_new(o, "inertia", json_real(pt->inertia));
    json_object_set_new(o, "seconds", json_real(pt->seconds));
    for (int s = 0; s < CS_N_STRATEGIES; s++)
      if (pt->has[s])
        json_object_set_new(val, cs_strategy_name(s), metric_json(&pt->val[s]));
    json_object_set_new(o, "validation", val);
    json_array_append_new(pts, o);
  }
  json_object_set_new(root, "k_values", kv);
  json_object_set_new(root, "points", pts);
  json_t *el = json_object();
  json_object_set_new(el, "k", json_integer(r->elbow_k));
  json_object_set_new(el, "method", json_string(r->elbow_method));
  json_object_set_new(root, "elbow", el);
  json_t *ch = json_object(), *cv = json_object();
  json_object_set_new(ch, "k", json_integer(r->chosen_k));
  json_object_set_new(ch, "strategy",
                      json_string(cs_strategy_name(r->chosen_strategy)));
  json_object_set_new(ch, "params", params_json(&r->chosen_sp));
  json_object_set_new(ch, "validation_ndcg", json_real(r->chosen_ndcg));
  for (int s = 0; s < CS_N_STRATEGIES; s++)
    json_object_set_new(cv, cs_strategy_name(s), metric_json(&r->chosen_val[s]));
  json_object_set_new(ch, "validation", cv);
  json_object_set_new(root, "chosen", ch);
  json_t *trials = json_array();
  for (int i = 0; i < r->n_trials; i++) {
    json_t *o = json_object();
    json_object_set_new(o, "strategy",
                        json_string(cs_strategy_name(r->trials[i].strategy)));
    json_object_set_new(o, "params", params_json(&r->trials[i].sp));
    json_object_set_new(o, "validation", metric_json(&r->trials[i].val));
    json_array_append_new(trials, o);
  }
  json_object_set_new(root, "trials", trials);
  const cs_train_params_t *tp = &r->train;
  json_t *t = json_object();
  json_object_set_new(t, "seed", json_integer((json_int_t)tp->seed));
  json_object_set_new(t, "kmeans_iter", json_integer(tp->kmeans_iter));
  json_object_set_new(t, "input_clusters", json_integer(tp->k_input));
  json_object_set_new(t, "epochs", json_integer(tp->reg.epochs));
  json_object_set_new(t, "lr", param_real(tp->reg.lr));
  json_object_set_new(t, "lr_final", param_real(tp->reg.lr_final));
  json_object_set_new(t, "batch", json_integer(tp->reg.batch));
  json_object_set_new(t, "patience", json_integer(tp->reg.patience));
  json_object_set_new(t, "val_fraction", json_real(tp->val_fraction));
  json_object_set_new(t, "val_mse", isfinite(r->val_mse) ? json_real(r->val_mse)
                                                         : json_null());
  json_object_set_new(root, "train", t);
  json_t *sec = json_object();
  json_object_set_new(sec, "train", json_real(r->sec_train));
  json_object_set_new(sec, "sweep", json_real(r->sec_sweep));
  json_object_set_new(sec, "tuning", json_real(r->sec_tuning));
  json_object_set_new(sec, "total", json_real(r->sec_total));
  json_object_set_new(root, "seconds", sec);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                    JSON_REAL_PRECISION(10));
  json_decref(root);
  if (!text) return cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
  size_t len = strlen(text);
  char *buf = malloc(len + 2);
  int rc;
  if (!buf) {
    rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
  } else {
    memcpy(buf, text, len);
    buf[len] = '\n';
    rc = cs_write_file_atomic(path, buf, len + 1, err);
  }
  free(buf);
  free(text);
  return rc;
}

/* Field `name` of object o as a number (integers accepted), range-checked. */
static int get_num(const char *path, const char *where, json_t *o,
                   const char *name, double lo, double hi, double *out,
                   cs_err_t *err) {
  json_t *v = json_object_get(o, name);
  if (!json_is_number(v))
    return cs_err_set(err, CS_EFORMAT, "%s: %s.%s missing or not a number",
                      path, where, name);
  double x = json_number_value(v);
  if (!(x >= lo && x <= hi))
    return cs_err_set(err, CS_EFORMAT, "%s: %s.%s = %g out of [%g, %g]", path,
                      where, name, x, lo, hi);
  *out = x;
  return 0;
}

int cs_tune_read(const char *path, cs_train_params_t *train, char *dataset,
                 size_t cap, cs_err_t *err) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    return cs_err_set(err, CS_EFORMAT, "%s:%d:%d: %s", path, je.line,
                      je.column, je.text);
  int rc = 0;
  json_t *ch = json_object_get(root, "chosen");
  json_t *pa = json_object_get(ch, "params");
  json_t *tp = json_object_get(root, "train");
  json_t *st = json_object_get(ch, "strategy");
  const char *ds = json_string_value(json_object_get(root, "dataset"));
  if (!json_is_object(ch) || !json_is_object(pa) || !json_is_object(tp) ||
      !json_is_string(st) || !ds) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: not a tune.json (needs \"dataset\", "
                    "\"chosen\" with \"strategy\" and \"params\", \"train\")",
                    path);
    goto done;
  }
  const char *name = json_string_value(st);
  if (cs_strategy_parse(name) < 0) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: chosen.strategy '%s' is not a "
                    "strategy of this program", path, name);
    goto done;
  }
  double k = 0, mix_m = 0, tau = 0, size = 0, prior = 0, beta = 0, bd = 0,
         seed = 0, iter = 0, kin = 0, ep = 0, lr = 0, lrf = 0, batch = 0,
         pat = 0, vf = 0;
  if ((rc = get_num(path, "chosen", ch, "k", 1, 1e6, &k, err)) ||
      (rc = get_num(path, "chosen.params", pa, "mix_m", 0, CS_SOFT_M_MAX,
                    &mix_m, err)) ||
      (rc = get_num(path, "chosen.params", pa, "mix_tau", 0, 100, &tau, err)) ||
      (rc = get_num(path, "chosen.params", pa, "mix_size", 0, 4, &size, err)) ||
      (rc = get_num(path, "chosen.params", pa, "mix_prior", 0, 1, &prior,
                    err)) ||
      (rc = get_num(path, "chosen.params", pa, "blend_beta", 0, 1000, &beta,
                    err)) ||
      (rc = get_num(path, "chosen.params", pa, "blend_d0", 0, 1000, &bd,
                    err)) ||
      (rc = get_num(path, "train", tp, "seed", 0, 9.2e18, &seed, err)) ||
      (rc = get_num(path, "train", tp, "kmeans_iter", 1, 1e5, &iter, err)) ||
      (rc = get_num(path, "train", tp, "input_clusters", 1, 1e6, &kin, err)) ||
      (rc = get_num(path, "train", tp, "epochs", 1, 1e5, &ep, err)) ||
      (rc = get_num(path, "train", tp, "lr", 1e-12, 10, &lr, err)) ||
      (rc = get_num(path, "train", tp, "lr_final", -10, 10, &lrf, err)) ||
      (rc = get_num(path, "train", tp, "batch", 1, 1 << 20, &batch, err)) ||
      (rc = get_num(path, "train", tp, "patience", 0, 1e5, &pat, err)) ||
      (rc = get_num(path, "train", tp, "val_fraction", 0, 1, &vf, err)))
    goto done;
  json_t *js = json_object_get(tp, "seed");
  train->seed = json_is_integer(js) ? (uint64_t)json_integer_value(js)
                                    : (uint64_t)seed;
  train->reg.seed = train->seed;
  train->k = (int)k;
  train->kmeans_iter = (int)iter;
  train->k_input = (int)kin;
  train->reg.epochs = (int)ep;
  train->reg.lr = (float)lr;
  train->reg.lr_final = (float)lrf;
  train->reg.batch = (int)batch;
  train->reg.patience = (int)pat;
  train->val_fraction = vf;
  cs_model_tuning_t *t = &train->tuning;
  memset(t, 0, sizeof *t);
  t->present = 1;
  snprintf(t->strategy, sizeof t->strategy, "%s", name);
  t->k = (int32_t)k;
  t->mix_m = (int32_t)mix_m;
  t->mix_tau = (float)tau;
  t->mix_size = (float)size;
  t->mix_prior = (float)prior;
  t->blend_beta = (float)beta;
  t->blend_d0 = (float)bd;
  if (dataset && cap) snprintf(dataset, cap, "%s", ds);
done:
  json_decref(root);
  return rc;
}

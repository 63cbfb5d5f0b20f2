/* tune.c: reads a k sweep for the report from DIR/tune.json (the format is
 * documented in docs/report.md): one point per k with the k-means inertia,
 * optional seconds and per-strategy validation metrics, and optional
 * "elbow" and "chosen" k. Errors name the file and the JSON path. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/report.h"

void cs_report_tune_free(cs_report_tune_t *t) {
  if (!t) return;
  free(t->k);
  free(t->inertia);
  free(t->seconds);
  free(t->precision);
  free(t->recall);
  free(t->ndcg);
  memset(t, 0, sizeof *t);
}

/* A JSON value's short description for error messages. */
static void describe(const json_t *v, char *out, size_t cap) {
  char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!s) {
    snprintf(out, cap, "(unprintable)");
    return;
  }
  if (strlen(s) > 40) strcpy(s + 37, "...");
  snprintf(out, cap, "%s", s);
  free(s);
}

static int bad(cs_err_t *err, const char *name, const char *path,
               const char *want, const json_t *v) {
  char got[64];
  if (v) describe(v, got, sizeof got);
  else snprintf(got, sizeof got, "nothing");
  return cs_err_set(err, CS_EFORMAT, "%s: %s: expected %s, got %s", name, path,
                    want, got);
}

static int get_k(const json_t *v, const char *name, const char *path,
                 int32_t *out, cs_err_t *err) {
  if (!json_is_integer(v) || json_integer_value(v) < 1 ||
      json_integer_value(v) > 100000000)
    return bad(err, name, path, "an integer k >= 1", v);
  *out = (int32_t)json_integer_value(v);
  return 0;
}

/* A number (>= lo, <= hi), or NaN when absent/null and optional. */
static int get_num(const json_t *v, int optional, double lo, double hi,
                   const char *name, const char *path, double *out,
                   cs_err_t *err) {
  if ((!v || json_is_null(v)) && optional) {
    *out = NAN;
    return 0;
  }
  char want[96];
  snprintf(want, sizeof want, "a number in [%g, %g]", lo, hi);
  if (!json_is_number(v)) return bad(err, name, path, want, v);
  double x = json_number_value(v);
  if (!(x >= lo && x <= hi)) return bad(err, name, path, want, v);
  *out = x;
  return 0;
}

static int series_of(cs_report_tune_t *t, const char *strategy) {
  for (int s = 0; s < t->n_series; s++)
    if (strcmp(t->strategy[s], strategy) == 0) return s;
  return -1;
}

typedef struct {
  int32_t k;
  int idx;
} korder_t;

static int cmp_k(const void *a, const void *b) {
  const korder_t *x = a, *y = b;
  return x->k < y->k ? -1 : x->k > y->k;
}

int cs_report_parse_tune(const char *text, size_t len, const char *name,
                         cs_report_tune_t *t, cs_err_t *err) {
  cs_report_tune_free(t);
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return cs_err_set(err, CS_EFORMAT, "%s:%d:%d: %s", name, je.line,
                      je.column, je.text);
  int rc = 0;
  korder_t *ord = NULL;
  const json_t *points = json_object_get(root, "points");
  if (!json_is_object(root)) {
    rc = bad(err, name, "(top level)", "an object", root);
    goto done;
  }
  if (!json_is_array(points) || json_array_size(points) == 0) {
    rc = bad(err, name, "points", "a non-empty array", points);
    goto done;
  }
  size_t n = json_array_size(points);
  if (n > 100000) {
    rc = cs_err_set(err, CS_ETOOBIG, "%s: points: %zu points (at most "
                    "100000)", name, n);
    goto done;
  }
  /* First pass: strategies named anywhere, in order of appearance. */
  for (size_t i = 0; i < n; i++) {
    const json_t *pt = json_array_get(points, i);
    char path[64];
    snprintf(path, sizeof path, "points[%zu]", i);
    if (!json_is_object(pt)) {
      rc = bad(err, name, path, "an object", pt);
      goto done;
    }
    const json_t *val = json_object_get(pt, "validation");
    if (!val || json_is_null(val)) continue;
    if (!json_is_object(val)) {
      snprintf(path, sizeof path, "points[%zu].validation", i);
      rc = bad(err, name, path, "an object {STRATEGY: {...}}", val);
      goto done;
    }
    const char *key;
    const json_t *m;
    json_object_foreach((json_t *)val, key, m) {
      (void)m;
      if (series_of(t, key) >= 0) continue;
      if (strlen(key) == 0 || strlen(key) >= CS_REPORT_NAME_MAX) {
        rc = cs_err_set(err, CS_EFORMAT, "%s: points[%zu].validation: "
                        "strategy name of %zu bytes (1 to %d)", name, i,
                        strlen(key), CS_REPORT_NAME_MAX - 1);
        goto done;
      }
      if (t->n_series >= CS_REPORT_MAX_SERIES) {
        rc = cs_err_set(err, CS_ETOOBIG, "%s: points[%zu].validation: more "
                        "than %d strategies", name, i, CS_REPORT_MAX_SERIES);
        goto done;
      }
      snprintf(t->strategy[t->n_series++], CS_REPORT_NAME_MAX, "%s", key);
    }
  }
  size_t ns = (size_t)(t->n_series > 0 ? t->n_series : 1);
  ord = malloc(n * sizeof *ord);
  t->k = malloc(n * sizeof *t->k);
  t->inertia = malloc(n * sizeof *t->inertia);
  t->seconds = malloc(n * sizeof *t->seconds);
  t->precision = malloc(ns * n * sizeof *t->precision);
  t->recall = malloc(ns * n * sizeof *t->recall);
  t->ndcg = malloc(ns * n * sizeof *t->ndcg);
  if (!ord || !t->k || !t->inertia || !t->seconds || !t->precision ||
      !t->recall || !t->ndcg) {
    rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", name);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *pt = json_array_get(points, i);
    char path[96];
    snprintf(path, sizeof path, "points[%zu].k", i);
    if ((rc = get_k(json_object_get(pt, "k"), name, path, &ord[i].k, err)))
      goto done;
    ord[i].idx = (int)i;
  }
  qsort(ord, n, sizeof *ord, cmp_k);
  for (size_t i = 1; i < n; i++)
    if (ord[i].k == ord[i - 1].k) {
      rc = cs_err_set(err, CS_EFORMAT, "%s: points[%d] and points[%d] both "
                      "have k = %d", name, ord[i - 1].idx, ord[i].idx,
                      ord[i].k);
      goto done;
    }
  for (size_t o = 0; o < n; o++) {
    size_t i = (size_t)ord[o].idx;
    const json_t *pt = json_array_get(points, i);
    char path[160];
    t->k[o] = ord[o].k;
    snprintf(path, sizeof path, "points[%zu].inertia", i);
    if ((rc = get_num(json_object_get(pt, "inertia"), 0, 0.0, HUGE_VAL, name,
                      path, &t->inertia[o], err)))
      goto done;
    snprintf(path, sizeof path, "points[%zu].seconds", i);
    if ((rc = get_num(json_object_get(pt, "seconds"), 1, 0.0, HUGE_VAL, name,
                      path, &t->seconds[o], err)))
      goto done;
    const json_t *val = json_object_get(pt, "validation");
    for (int s = 0; s < t->n_series; s++) {
      static const char *const metric[3] = {"precision", "recall", "ndcg"};
      double *dst[3] = {t->precision, t->recall, t->ndcg};
      const json_t *m = json_is_object(val)
                            ? json_object_get(val, t->strategy[s])
                            : NULL;
      if (m && !json_is_object(m)) {
        snprintf(path, sizeof path, "points[%zu].validation.%s", i,
                 t->strategy[s]);
        rc = bad(err, name, path, "an object {\"precision\", \"recall\", "
                 "\"ndcg\"}", m);
        goto done;
      }
      for (int q = 0; q < 3; q++) {
        snprintf(path, sizeof path, "points[%zu].validation.%s.%s", i,
                 t->strategy[s], metric[q]);
        if ((rc = get_num(m ? json_object_get(m, metric[q]) : NULL, 1, 0.0,
                          1.0, name, path, &dst[q][(size_t)s * n + o], err)))
          goto done;
      }
    }
  }
  t->n_points = (int)n;
  static const char *const marks[2] = {"elbow", "chosen"};
  int32_t *mk[2] = {&t->elbow_k, &t->chosen_k};
  for (int q = 0; q < 2; q++) {
    const json_t *o = json_object_get(root, marks[q]);
    if (!o || json_is_null(o)) continue;
    char path[32];
    snprintf(path, sizeof path, "%s", marks[q]);
    if (!json_is_object(o)) {
      rc = bad(err, name, path, "an object {\"k\": K}", o);
      goto done;
    }
    snprintf(path, sizeof path, "%s.k", marks[q]);
    if ((rc = get_k(json_object_get(o, "k"), name, path, mk[q], err)))
      goto done;
    /* "rule": a free text; else what `coldstart tune` writes: the chosen
     * strategy and the validation NDCG it was chosen on */
    const json_t *rule = json_object_get(o, "rule");
    const json_t *strat = json_object_get(o, "strategy");
    const json_t *vn = json_object_get(o, "validation_ndcg");
    if (q == 1 && json_is_string(rule))
      snprintf(t->chosen_note, sizeof t->chosen_note, "%s",
               json_string_value(rule));
    else if (q == 1 && json_is_string(strat) && json_is_number(vn))
      snprintf(t->chosen_note, sizeof t->chosen_note,
               "coldstart tune: the best validation NDCG of semi, soft and mix "
               "over k; strategy %.32s (validation NDCG %.2f%%)",
               json_string_value(strat), 100.0 * json_number_value(vn));
    else if (q == 1 && json_is_string(strat))
      snprintf(t->chosen_note, sizeof t->chosen_note,
               "coldstart tune: the best validation NDCG of semi, soft and mix "
               "over k; strategy %.32s", json_string_value(strat));
  }
  snprintf(t->path, sizeof t->path, "%s", name);
done:
  free(ord);
  json_decref(root);
  if (rc) cs_report_tune_free(t);
  return rc;
}

int cs_report_read_tune(const char *dir, cs_report_tune_t *t, cs_err_t *err) {
  char path[1024];
  int n = snprintf(path, sizeof path, "%s/tune.json", dir);
  if (n < 0 || (size_t)n >= sizeof path)
    return cs_err_set(err, CS_EINVAL, "--tune: directory name too long");
  FILE *f = fopen(path, "rb");
  if (!f) return cs_err_set(err, CS_ENOTFOUND, "%s: cannot open", path);
  char *text = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (len + 65536 > cap) {
      cap = cap ? cap * 2 : 131072;
      if (cap > (size_t)256 << 20) {
        rc = cs_err_set(err, CS_ETOOBIG, "%s: larger than 256 MB", path);
        break;
      }
      char *p = realloc(text, cap);
      if (!p) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
        break;
      }
      text = p;
    }
    size_t got = fread(text + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) rc = cs_err_set(err, CS_EIO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (rc == 0) rc = cs_report_parse_tune(text, len, path, t, err);
  free(text);
  return rc;
}

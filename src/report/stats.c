/* stats.c: the report's numeric kernels: NDCG@K for every K of one ranked
 * list by running sums, and a deterministic two-axis PCA (power iteration
 * on the covariance) for the centroid map. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/metrics.h"
#include "coldstart/report.h"

static int in_truth(const int64_t *truth, int64_t n, int64_t song) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (truth[mid] < song) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && truth[lo] == song;
}

/* DCG and ideal DCG accumulate in rank order, the same additions in the
 * same order as cs_metrics_user, so every out[K - 1] equals its NDCG@K. */
void cs_report_ndcg_prefix(const int32_t *list, int n_list, int k_max,
                           const int64_t *truth, int64_t n_truth, double *out) {
  double dcg = 0.0, idcg = 0.0;
  for (int r = 0; r < k_max; r++) {
    double disc = cs_metrics_discount(r);
    if (r < n_list && in_truth(truth, n_truth, list[r])) dcg += disc;
    if (r < n_truth) idcg += disc;
    out[r] = idcg > 0.0 ? dcg / idcg : 0.0;
  }
}

/* --- PCA ------------------------------------------------------------------ */

#define PCA_ITER 1000
#define PCA_TOL 1e-13

/* y = C v for a dim x dim symmetric matrix. */
static void symv(const double *c, int dim, const double *v, double *y) {
  for (int i = 0; i < dim; i++) {
    double s = 0.0;
    const double *row = c + (size_t)i * dim;
    for (int j = 0; j < dim; j++) s += row[j] * v[j];
    y[i] = s;
  }
}

static double norm(const double *v, int dim) {
  double s = 0.0;
  for (int i = 0; i < dim; i++) s += v[i] * v[i];
  return sqrt(s);
}

/* Leading eigenvector of c (orthogonal to `away` when not NULL) by power
 * iteration from a fixed start; returns its eigenvalue (>= 0). */
static double power_axis(const double *c, int dim, const double *away,
                         double *v, double *tmp) {
  for (int i = 0; i < dim; i++) /* fixed, generic start */
    v[i] = 1.0 + 0.37 * sin(1.0 + 2.1 * i);
  double lambda = 0.0;
  for (int it = 0; it < PCA_ITER; it++) {
    if (away) {
      double d = 0.0;
      for (int i = 0; i < dim; i++) d += v[i] * away[i];
      for (int i = 0; i < dim; i++) v[i] -= d * away[i];
    }
    double nv = norm(v, dim);
    if (!(nv > 0)) return 0.0;
    for (int i = 0; i < dim; i++) v[i] /= nv;
    symv(c, dim, v, tmp);
    if (away) {
      double d = 0.0;
      for (int i = 0; i < dim; i++) d += tmp[i] * away[i];
      for (int i = 0; i < dim; i++) tmp[i] -= d * away[i];
    }
    double l = 0.0, diff = 0.0;
    for (int i = 0; i < dim; i++) l += v[i] * tmp[i];
    double nt = norm(tmp, dim);
    if (!(nt > 0)) return 0.0;
    for (int i = 0; i < dim; i++) {
      double w = tmp[i] / nt;
      diff += (w - v[i]) * (w - v[i]);
      v[i] = w;
    }
    lambda = l;
    if (diff < PCA_TOL) break;
  }
  /* sign: largest-magnitude component positive (lowest index on ties) */
  int big = 0;
  for (int i = 1; i < dim; i++)
    if (fabs(v[i]) > fabs(v[big]) + 1e-12) big = i;
  if (v[big] < 0)
    for (int i = 0; i < dim; i++) v[i] = -v[i];
  return lambda > 0 ? lambda : 0.0;
}

int cs_report_pca2(const float *x, int64_t n, int dim, double *xy,
                   double explained[2]) {
  explained[0] = explained[1] = 0.0;
  if (n <= 0 || dim <= 0) return 0;
  memset(xy, 0, (size_t)n * 2 * sizeof *xy);
  if (n < 2) return 0;
  double *mean = calloc((size_t)dim, sizeof *mean);
  double *cov = calloc((size_t)dim * dim, sizeof *cov);
  double *row = malloc((size_t)dim * sizeof *row);
  double *axes = malloc((size_t)dim * 2 * sizeof *axes);
  double *tmp = malloc((size_t)dim * sizeof *tmp);
  if (!mean || !cov || !row || !axes || !tmp) {
    free(mean), free(cov), free(row), free(axes), free(tmp);
    return CS_ENOMEM;
  }
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < dim; j++) mean[j] += x[(size_t)i * dim + j];
  for (int j = 0; j < dim; j++) mean[j] /= (double)n;
  for (int64_t i = 0; i < n; i++) {
    for (int j = 0; j < dim; j++) row[j] = x[(size_t)i * dim + j] - mean[j];
    for (int a = 0; a < dim; a++) {
      double ra = row[a];
      if (ra == 0.0) continue;
      double *c = cov + (size_t)a * dim;
      for (int b = 0; b < dim; b++) c[b] += ra * row[b];
    }
  }
  double trace = 0.0;
  for (int j = 0; j < dim; j++) trace += cov[(size_t)j * dim + j];
  if (trace > 0) {
    double l1 = power_axis(cov, dim, NULL, axes, tmp);
    double l2 = dim > 1 ? power_axis(cov, dim, axes, axes + dim, tmp) : 0.0;
    if (dim == 1) axes[dim] = 0.0;
    explained[0] = l1 / trace;
    explained[1] = l2 / trace;
    for (int64_t i = 0; i < n; i++) {
      double p1 = 0.0, p2 = 0.0;
      for (int j = 0; j < dim; j++) {
        double d = x[(size_t)i * dim + j] - mean[j];
        p1 += d * axes[j];
        p2 += dim > 1 ? d * axes[dim + j] : 0.0;
      }
      xy[2 * i] = p1;
      xy[2 * i + 1] = p2;
    }
  }
  free(mean), free(cov), free(row), free(axes), free(tmp);
  return 0;
}

/* metrics.c: Precision/Recall/NDCG at K (docs/metrics.md), the scikit-learn
 * tie-averaged NDCG, and the seeded 2 x 5-fold spread. */
#include <math.h>

#include "coldstart/metrics.h"
#include "coldstart/rng.h"

double cs_metrics_discount(int64_t rank) {
  return 1.0 / log2((double)rank + 2.0);
}

static int in_truth(const int64_t *truth, int64_t n, int64_t song) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (truth[mid] < song)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && truth[lo] == song;
}

static double ideal_dcg(int64_t n_rel, int k) {
  int64_t n = n_rel < k ? n_rel : k;
  double s = 0.0;
  for (int64_t r = 0; r < n; r++) s += cs_metrics_discount(r);
  return s;
}

void cs_metrics_user(const int32_t *list, int n_list, int k,
                     const int64_t *truth, int64_t n_truth,
                     cs_user_metrics_t *out) {
  int n = n_list < k ? n_list : k;
  int64_t hits = 0;
  double dcg = 0.0;
  for (int r = 0; r < n; r++)
    if (in_truth(truth, n_truth, list[r])) {
      hits++;
      dcg += cs_metrics_discount(r);
    }
  int64_t denom = n_truth < k ? n_truth : k;
  out->precision = denom > 0 ? (double)hits / (double)denom : 0.0;
  out->recall = n_truth > 0 ? (double)hits / (double)n_truth : 0.0;
  double idcg = ideal_dcg(n_truth, k);
  out->ndcg = idcg > 0.0 ? dcg / idcg : 0.0;
}

/* sklearn _tie_averaged_dcg restricted to the top k: groups of equal
 * scores in descending order; a group's gain (mean relevance of its
 * members) times the sum of the discounts of the positions it occupies
 * below k. All songs with a score above the k-th score are in top_idx;
 * the k-th score's group may extend past the list, so it is counted over
 * the whole vector. */
double cs_metrics_ndcg_sklearn(const float *scores, int64_t n,
                               const int64_t *top_idx, int k,
                               const int64_t *truth, int64_t n_truth) {
  if (k > n) k = (int)n;
  if (k <= 0 || n_truth <= 0) return 0.0;
  float kth = scores[top_idx[k - 1]];
  double dcg = 0.0;
  int64_t pos = 0; /* first position of the current group */
  int i = 0;
  while (i < k && scores[top_idx[i]] > kth) {
    /* A group strictly above the k-th score: all its members are listed
     * consecutively among top_idx (descending). */
    float v = scores[top_idx[i]];
    int64_t size = 0, rel = 0;
    while (i < k && scores[top_idx[i]] == v) {
      rel += in_truth(truth, n_truth, top_idx[i]);
      size++;
      i++;
    }
    double disc = 0.0;
    for (int64_t r = pos; r < pos + size; r++) disc += cs_metrics_discount(r);
    dcg += (double)rel / (double)size * disc;
    pos += size;
  }
  /* The k-th score's group over the whole vector. */
  int64_t size = 0, rel = 0;
  for (int64_t s = 0; s < n; s++)
    if (scores[s] == kth) {
      size++;
      rel += in_truth(truth, n_truth, s);
    }
  if (size > 0) {
    double disc = 0.0;
    for (int64_t r = pos; r < pos + size && r < k; r++)
      disc += cs_metrics_discount(r);
    dcg += (double)rel / (double)size * disc;
  }
  double idcg = ideal_dcg(n_truth, k);
  return idcg > 0.0 ? dcg / idcg : 0.0;
}

double cs_metrics_mean(const double *values, int64_t n) {
  if (n <= 0) return 0.0;
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += values[i];
  return s / (double)n;
}

double cs_metrics_spread(const double *values, int64_t n, int64_t *scratch) {
  if (n < 5) return 0.0;
  double means[10];
  int n_means = 0;
  for (uint64_t seed = 0; seed < 2; seed++) {
    for (int64_t i = 0; i < n; i++) scratch[i] = i;
    cs_rng_t rng;
    cs_rng_seed(&rng, seed);
    cs_rng_shuffle_i64(&rng, scratch, n);
    /* numpy.array_split(perm, 5): the first n % 5 parts get one more. */
    int64_t lo = 0;
    for (int64_t part = 0; part < 5; part++) {
      int64_t hi = lo + n / 5 + (part < n % 5 ? 1 : 0);
      double s = 0.0;
      for (int64_t i = lo; i < hi; i++) s += values[scratch[i]];
      means[n_means++] = s / (double)(hi - lo);
      lo = hi;
    }
  }
  double mu = 0.0;
  for (int i = 0; i < n_means; i++) mu += means[i];
  mu /= n_means;
  double var = 0.0;
  for (int i = 0; i < n_means; i++) var += (means[i] - mu) * (means[i] - mu);
  return sqrt(var / (n_means - 1));
}

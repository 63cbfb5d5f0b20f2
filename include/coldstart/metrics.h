/* metrics.h: the ranking metrics of docs/metrics.md (Precision@K with the
 * reference's min(|G|, K) denominator, Recall@K, NDCG@K on the delivered
 * list), the scikit-learn ndcg_score variant over a full score vector with
 * tied scores averaged, and the seeded spread (std of 10 fold means). */
#ifndef COLDSTART_METRICS_H
#define COLDSTART_METRICS_H

#include <stdint.h>

typedef struct cs_user_metrics {
  double precision, recall, ndcg;
} cs_user_metrics_t;

/* Metrics of a delivered list `list` (n_list song rows, ranked, distinct)
 * at cutoff k against ground truth `truth` (n_truth distinct song rows,
 * ascending). Only the first min(n_list, k) items count. n_truth must be
 * > 0 (empty-truth users are skipped by the caller). */
void cs_metrics_user(const int32_t *list, int n_list, int k,
                     const int64_t *truth, int64_t n_truth,
                     cs_user_metrics_t *out);

/* scikit-learn's ndcg_score(y_true, y_score, k) for one user with binary
 * relevance y_true = 1 on `truth` and y_score = `scores` over all n songs,
 * ties averaged (sklearn's default ignore_ties=False). `top_idx` must hold
 * the top-k indices of `scores` in descending order (any order among
 * equals); `is_rel(song)` is answered by binary search in `truth`. Cost:
 * O(n) for counting the tie group at the k-th score. */
double cs_metrics_ndcg_sklearn(const float *scores, int64_t n,
                               const int64_t *top_idx, int k,
                               const int64_t *truth, int64_t n_truth);

/* 1 / log2(r + 2) for rank r = 0, 1, ... */
double cs_metrics_discount(int64_t rank);

/* Spread of docs/metrics.md: for seed i in {0, 1}, shuffle 0..n-1 with cs_rng
 * seeded i (cs_rng_shuffle_i64), cut into 5 parts as numpy.array_split
 * does (the first n % 5 parts one longer), take each part's mean of `values`; return the sample standard deviation (n-1)
 * of those 10 means. 0 when n < 5. `scratch`: n int64 (caller-provided). */
double cs_metrics_spread(const double *values, int64_t n, int64_t *scratch);

/* Plain mean (double accumulator); 0 when n == 0. */
double cs_metrics_mean(const double *values, int64_t n);

#endif

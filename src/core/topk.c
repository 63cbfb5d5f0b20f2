/* topk.c: top-K selection with a bounded min-heap (O(n log K)) and a
 * full-sort reference; equal scores rank the lower index first, NaN last. */
#include <math.h>
#include <stdlib.h>

#include "coldstart/topk.h"

/* a ranks before b: higher score, or equal score and lower index. NaN is
 * treated as -infinity below every real number. */
static inline int ranks_before(float sa, int64_t ia, float sb, int64_t ib) {
  int na = isnan(sa), nb = isnan(sb);
  if (na || nb) {
    if (na && nb) return ia < ib;
    return nb;
  }
  if (sa != sb) return sa > sb;
  return ia < ib;
}

/* Min-heap by rank: the root is the worst-ranked kept element. */
static inline void swap_pair(float *hs, int64_t *hi, int64_t a, int64_t b) {
  float ts = hs[a];
  hs[a] = hs[b];
  hs[b] = ts;
  int64_t ti = hi[a];
  hi[a] = hi[b];
  hi[b] = ti;
}

static void sift_down(float *hs, int64_t *hi, int64_t size, int64_t pos) {
  for (;;) {
    int64_t l = 2 * pos + 1, r = l + 1, worst = pos;
    if (l < size && ranks_before(hs[worst], hi[worst], hs[l], hi[l])) worst = l;
    if (r < size && ranks_before(hs[worst], hi[worst], hs[r], hi[r])) worst = r;
    if (worst == pos) return;
    swap_pair(hs, hi, pos, worst);
    pos = worst;
  }
}

void cs_topk_heap_init(cs_topk_heap_t *h, float *scores, int64_t *idx,
                       int64_t k) {
  h->scores = scores;
  h->idx = idx;
  h->k = k;
  h->n = 0;
}

void cs_topk_heap_push(cs_topk_heap_t *h, float score, int64_t idx) {
  float *hs = h->scores;
  int64_t *hi = h->idx;
  if (h->n < h->k) {
    int64_t pos = h->n++;
    hs[pos] = score;
    hi[pos] = idx;
    while (pos > 0) {
      int64_t parent = (pos - 1) / 2;
      if (!ranks_before(hs[parent], hi[parent], hs[pos], hi[pos])) return;
      swap_pair(hs, hi, pos, parent);
      pos = parent;
    }
  } else if (h->k > 0 && ranks_before(score, idx, hs[0], hi[0])) {
    hs[0] = score;
    hi[0] = idx;
    sift_down(hs, hi, h->n, 0);
  }
}

int64_t cs_topk_heap_sort(cs_topk_heap_t *h) {
  /* Pop the worst to the back: the arrays end sorted best-first. */
  for (int64_t end = h->n - 1; end > 0; end--) {
    swap_pair(h->scores, h->idx, 0, end);
    sift_down(h->scores, h->idx, end, 0);
  }
  return h->n;
}

int64_t cs_topk(const float *scores, int64_t n, int64_t k,
                const uint8_t *skip, int64_t *out_idx, float *out_scores) {
  if (k <= 0 || n <= 0) return 0;
  /* The heap lives in out_idx and out_scores (no allocation); without
   * out_scores its scores go to a scratch. */
  float stack_scores[256];
  float *hs = out_scores ? out_scores
              : k <= 256 ? stack_scores : malloc((size_t)k * sizeof *hs);
  if (!hs) return 0;
  cs_topk_heap_t h;
  cs_topk_heap_init(&h, hs, out_idx, k);
  for (int64_t i = 0; i < n; i++)
    if (!skip || !skip[i]) cs_topk_heap_push(&h, scores[i], i);
  int64_t size = cs_topk_heap_sort(&h);
  if (!out_scores && hs != stack_scores) free(hs);
  return size;
}

typedef struct {
  float score;
  int64_t idx;
} scored_t;

static int cmp_scored(const void *a, const void *b) {
  const scored_t *x = a, *y = b;
  if (ranks_before(x->score, x->idx, y->score, y->idx)) return -1;
  if (ranks_before(y->score, y->idx, x->score, x->idx)) return 1;
  return 0;
}

int64_t cs_topk_ref(const float *scores, int64_t n, int64_t k,
                    const uint8_t *skip, int64_t *out_idx, float *out_scores) {
  if (k <= 0 || n <= 0) return 0;
  scored_t *all = malloc((size_t)n * sizeof *all);
  if (!all) return 0;
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!skip || !skip[i]) all[m++] = (scored_t){scores[i], i};
  qsort(all, (size_t)m, sizeof *all, cmp_scored);
  int64_t out = m < k ? m : k;
  for (int64_t j = 0; j < out; j++) {
    out_idx[j] = all[j].idx;
    if (out_scores) out_scores[j] = all[j].score;
  }
  free(all);
  return out;
}

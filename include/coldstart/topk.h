/* topk.h: partial top-K selection over float scores, O(n log K), ties broken
 * by the lower index so every ranking is deterministic. */
#ifndef COLDSTART_TOPK_H
#define COLDSTART_TOPK_H

#include <stdint.h>

/* Write the indices (and scores, if out_scores != NULL) of the k largest
 * scores in descending order (equal scores: lower index first). If `skip` is
 * not NULL, indices i with skip[i] != 0 are never selected. Returns the
 * number written: min(k, number of eligible indices). NaN scores rank last.
 * With out_scores it allocates nothing (the heap lives in the two outputs,
 * which need room for that many entries). */
int64_t cs_topk(const float *scores, int64_t n, int64_t k,
                const uint8_t *skip, int64_t *out_idx, float *out_scores);
/* The building block of cs_topk, for callers that see scores in pieces
 * (tiles): a bounded min-heap of the k best (score, index) pairs offered so
 * far, ranked as above; the root is the worst pair kept. Storage for k pairs
 * belongs to the caller. */
typedef struct cs_topk_heap {
  float *scores;
  int64_t *idx;
  int64_t k, n;
} cs_topk_heap_t;

void cs_topk_heap_init(cs_topk_heap_t *h, float *scores, int64_t *idx,
                       int64_t k);
/* Offer a pair: kept while the heap is not full, or when it ranks before
 * the root (which it then replaces). */
void cs_topk_heap_push(cs_topk_heap_t *h, float score, int64_t idx);
/* Sort the kept pairs best-first in place (the heap is consumed); returns
 * the number kept. */
int64_t cs_topk_heap_sort(cs_topk_heap_t *h);

/* Reference: full stable sort of all candidates; same contract. */
int64_t cs_topk_ref(const float *scores, int64_t n, int64_t k,
                    const uint8_t *skip, int64_t *out_idx, float *out_scores);

#endif

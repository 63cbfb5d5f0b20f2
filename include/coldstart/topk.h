/* topk.h: partial top-K selection over float scores, O(n log K), ties broken
 * by the lower index so every ranking is deterministic. */
#ifndef COLDSTART_TOPK_H
#define COLDSTART_TOPK_H

#include <stdint.h>

/* Write the indices (and scores, if out_scores != NULL) of the k largest
 * scores in descending order (equal scores: lower index first). If `skip` is
 * not NULL, indices i with skip[i] != 0 are never selected. Returns the
 * number written: min(k, number of eligible indices). NaN scores rank last. */
int64_t cs_topk(const float *scores, int64_t n, int64_t k,
                const uint8_t *skip, int64_t *out_idx, float *out_scores);
/* Reference: full stable sort of all candidates; same contract. */
int64_t cs_topk_ref(const float *scores, int64_t n, int64_t k,
                    const uint8_t *skip, int64_t *out_idx, float *out_scores);

#endif

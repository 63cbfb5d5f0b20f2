/* mix.h: the mix and blend strategies (docs/method.md, "mix", "blend"),
 * internal to src/recommend: strategy.c calls them for one user, batch.c
 * for blocks of users. Both paths run the same functions, so they give the
 * same lists bit for bit. Not a public header. */
#ifndef COLDSTART_RECOMMEND_MIX_H
#define COLDSTART_RECOMMEND_MIX_H

#include <stdint.h>
#include "coldstart/model.h"
#include "coldstart/strategy.h"

/* Users per call of cs__blend_block (the batch path's block). */
#define CS__BLEND_BLOCK 64

/* Per-thread buffers of mix and blend, owned by a cs_rec_ws_t: the
 * mixture accumulator, dense popularity, the cached log term of blend and
 * its score rows. cap_items: room for K items (the heap). */
typedef struct cs__mix_ws cs__mix_ws_t;

int cs__mix_ws_create(cs__mix_ws_t **x, const cs_model_t *m, int cap_items);
void cs__mix_ws_free(cs__mix_ws_t *x);

/* mix for one user: memberships, then the top K of the segment score
 * (1 - prior) sum_j w_j p_j(s) + prior p_pop(s), zero-score songs by
 * ascending row after. Writes r (songs, scores, masks, memberships). */
void cs__rec_mix(const cs_model_t *m, const cs_strategy_params_t *p,
                 const float *pred, cs__mix_ws_t *x, cs_rec_t *r);
/* blend for n <= CS__BLEND_BLOCK users (n = 1 for one user): features[i]
 * (may be NULL: no registration-day streams) and preds[i] of user i,
 * results in out[i]. The score rows of n > 1 users live in a buffer
 * allocated on first use: returns 0 or CS_ENOMEM. */
int cs__blend_block(const cs_model_t *m, const cs_strategy_params_t *p,
                    const float *const *features, const float *const *preds,
                    int n, cs__mix_ws_t *x, cs_rec_t *const *out);
/* The score of every song (the dense vector ranked): mix and blend, one
 * user, into out[n_songs]. */
void cs__mix_dense(const cs_model_t *m, const cs_strategy_params_t *p,
                   const float *pred, cs__mix_ws_t *x, float *out);
void cs__blend_dense(const cs_model_t *m, const cs_strategy_params_t *p,
                     const float *features, const float *pred,
                     cs__mix_ws_t *x, float *out);

/* The mix/blend part of a recommend workspace (strategy.c). */
cs__mix_ws_t *cs__rec_ws_mix(cs_rec_ws_t *ws);

/* Range check of the mix and blend fields (params.c). */
int cs__mix_params_check(const cs_strategy_params_t *p, cs_err_t *err);

/* Effective parameters: mix_m (0: 32) clamped to the model's k, mix_tau
 * (0: 0.1). */
int cs__mix_m(const cs_strategy_params_t *p, const cs_model_t *m);
double cs__mix_tau(const cs_strategy_params_t *p);

#endif

/* strategy.h: the recommendation strategies (docs/method.md,
 * "Strategies"): the only module that knows what each strategy does. Two
 * entry points: cs_recommend, one user's feature vector in, K ranked songs
 * (with the segments the user was placed in and the segments each song came
 * from) out, allocation-free over a per-thread workspace; and
 * cs_recommend_batch, many users at once (one batched forward pass, the
 * dot-product strategies scored by tiles of one GEMM each), which the
 * evaluator and the report use. Both give the same lists, except that
 * full and d0-streams rank GEMM scores in the batch and gemv scores for
 * one user, which can differ in the last float bit and swap near-tied
 * songs. (The server's micro-batches make one forward pass, which is
 * batch-invariant, then call cs_recommend per request.)
 *
 * Ties everywhere break by the lower song row index (and lower cluster
 * index for centroid distances).
 *
 * Memberships and item clusters per strategy:
 * - popularity, d0-streams, full: none (empty).
 * - semi: the nearest centroid (weight 1); every item carries it.
 * - soft: the m nearest centroids, nearest first, with the soft weights;
 *   an item carries every one of the m clusters whose top-a_j candidate
 *   slots contained it (the one it was taken from first), or, for fill
 *   items, every one of the m clusters with p_j(s) > 0 (none when the song
 *   was only a zero-score fill).
 * - input-clusters: the nearest INPUT cluster (ids in the input-cluster
 *   numbering, 0..k_input-1; weight 1); every item carries it.
 * - mix, blend: the mix_m nearest centroids, nearest first, with the
 *   mixture weights w_j; an item carries every membership j with
 *   p_j(s) > 0 (none for a song only popularity or the dot product put
 *   there).
 *
 * Scores: popularity/semi/input-clusters: p of the song in the segment;
 * full/d0-streams: the dot product; soft: sum_j w_j p_j(s) over the m
 * memberships (the mixture probability; the list order is the allocation
 * order of docs/method.md, "soft", not necessarily score order); mix: its
 * ranking score (1 - prior) sum_j w_j p_j(s) + prior p_pop(s); blend: its
 * ranking score (docs/method.md, "blend"). mix and blend lists are in
 * score order (desc, then lower song row). */
#ifndef COLDSTART_STRATEGY_H
#define COLDSTART_STRATEGY_H

#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/error.h"
#include "coldstart/model.h"

typedef enum {
  CS_STRAT_POPULARITY = 0,
  CS_STRAT_D0_STREAMS = 1,
  CS_STRAT_INPUT_CLUSTERS = 2,
  CS_STRAT_FULL = 3,
  CS_STRAT_SEMI = 4,
  CS_STRAT_SOFT = 5,
  CS_STRAT_MIX = 6,   /* mixture of the nearest segments, ranked by score */
  CS_STRAT_BLEND = 7, /* log mixture + similarity of the user vector */
  CS_N_STRATEGIES = 8
} cs_strategy_id_t;

#define CS_SOFT_M_MAX 32 /* memberships are tracked in a 32-bit mask */

/* "popularity", "d0-streams", "input-clusters", "full", "semi", "soft",
 * "mix", "blend" */
const char *cs_strategy_name(int id);
/* Parse a name; returns the id or -1. */
int cs_strategy_parse(const char *name);
/* 1 when the strategy ranks from the regressor's predicted embedding
 * (full, semi, soft, mix, blend). */
int cs_strategy_needs_embedding(int id);

/* d0-streams' user vector: the streamed_songs block of `features`, or NULL
 * when that block is all zero (the strategy then falls back to
 * popularity). */
const float *cs_d0_streams_vector(const cs_model_t *m, const float *features);

/* The parameters of every strategy. The mix and blend fields were added
 * last: a caller that zero-initializes the struct gets mix_m = 0 and
 * mix_tau = 0, which mean "the default" (32 and 0.1), and 0 for the
 * others (valid values). Use cs_strategy_params_default. */
typedef struct cs_strategy_params {
  int k;           /* list length K (50) */
  int soft_m;      /* m nearest centroids (5), 1..CS_SOFT_M_MAX */
  int soft_margin; /* extra slots (4) */
  int skip_scores; /* 1: the caller does not need item scores (evaluation):
                      soft then computes the mixture sum_j w_j p_j(s) only
                      when it must fill, and scores are 0 otherwise; blend
                      then leaves the item clusters empty (it would look
                      them up song by song) */
  /* mix and blend (docs/method.md, "mix"): memberships are the mix_m
   * nearest centroids with weights
   *   w_j ~ n_users_j^mix_size * exp(-(d_j^2 - d_1^2) / mix_tau),
   * and the segment score is (1 - mix_prior) sum_j w_j p_j(s)
   * + mix_prior p_pop(s). */
  int mix_m;        /* 1..CS_SOFT_M_MAX, at most the model's k (32;
                       clamped to k when larger) */
  float mix_tau;    /* softmax temperature on squared distances,
                       [1e-4, 100] (0.1) */
  float mix_size;   /* exponent of the segment size, [0, 4] (1) */
  float mix_prior;  /* weight of global popularity, [0, 1] (0.05) */
  /* blend: score(s) = log(segment score(s) + CS_BLEND_FLOOR)
   *   + <blend_beta * pred + blend_d0 * streamed_songs block, e_s> */
  float blend_beta; /* weight of the predicted embedding, [0, 1000] (1) */
  float blend_d0;   /* weight of the registration-day streams vector,
                       [0, 1000] (0.3) */
  /* CS_SP_* bits of the fields set explicitly (by the command line);
   * cs_strategy_params_from_model leaves those alone. */
  unsigned given;
} cs_strategy_params_t;

#define CS_BLEND_FLOOR 1e-9 /* added to the segment score before the log */

enum {
  CS_SP_K = 1u << 0, CS_SP_SOFT_M = 1u << 1, CS_SP_SOFT_MARGIN = 1u << 2,
  CS_SP_MIX_M = 1u << 3, CS_SP_MIX_TAU = 1u << 4, CS_SP_MIX_SIZE = 1u << 5,
  CS_SP_MIX_PRIOR = 1u << 6, CS_SP_BLEND_BETA = 1u << 7,
  CS_SP_BLEND_D0 = 1u << 8
};

void cs_strategy_params_default(cs_strategy_params_t *p);
/* Check params against a model (k <= n_songs, m <= model k, ranges of the
 * mix and blend parameters, ...). */
int cs_strategy_params_check(const cs_strategy_params_t *p,
                             const cs_model_t *m, cs_err_t *err);
/* Start from the defaults the model was tuned to (`coldstart tune`, then
 * `train --from-tune`; model.h, cs_model_tuning_t): every tuned field whose
 * CS_SP_* bit is not in p->given takes the model's value. A model without
 * tuned defaults leaves p as it is. */
void cs_strategy_params_from_model(cs_strategy_params_t *p,
                                   const cs_model_t *m);
/* The strategy the model was tuned to recommend with, or `fallback` when
 * it has none (or names a strategy this program does not know). */
int cs_strategy_model_default(const cs_model_t *m, int fallback);

/* One recommendation, stored in the workspace (valid until its next use). */
typedef struct cs_rec {
  int strategy;
  int n_items;
  int32_t *songs;         /* [n_items] song rows, ranked */
  float *scores;          /* [n_items] */
  uint32_t *item_mask;    /* [n_items] bit j: membership j contributed */
  int n_members;
  int32_t *member_cluster; /* [n_members] nearest first */
  float *member_weight;
  float *member_dist;
} cs_rec_t;

typedef struct cs_rec_ws cs_rec_ws_t; /* opaque per-thread workspace */

/* Sized for the model and params (k, m); owns every buffer. */
int cs_rec_ws_create(cs_rec_ws_t **ws, const cs_model_t *m,
                     const cs_strategy_params_t *p, cs_err_t *err);
void cs_rec_ws_free(cs_rec_ws_t *ws);

/* Recommend for one user. `features`: [n_features] raw feature vector.
 * `pred`: the regressor's predicted embedding [dim] if the caller already
 * has it (batch evaluation), or NULL to compute it here (full, semi,
 * soft, mix, blend). No allocation in the strategies (with pred NULL, the
 * regressor's forward pass allocates its scratch). A workspace serves the model it was
 * created for (it caches per-song values of that model). Returns 0, or CS_EINVAL for a bad strategy. The
 * result points into the workspace. */
int cs_recommend(const cs_model_t *m, int strategy,
                 const cs_strategy_params_t *p, const float *features,
                 const float *pred, cs_rec_ws_t *ws, const cs_rec_t **out,
                 cs_err_t *err);

/* Soft allocation slot arithmetic (docs/method.md, "soft"), exposed for
 * tests:
 * weights w[m] (sum 1) and T slots -> a[m] with sum a = T; a_j =
 * floor(w_j T), leftovers to the largest fractional parts, ties to lower j. */
void cs_soft_slots(const double *w, int m, int total, int *a);

/* --- many users at once ------------------------------------------------ */

typedef struct cs_rec_batch cs_rec_batch_t; /* opaque: results + workspaces */

/* Users per block of the batch's tiled scoring: the dot-product strategies
 * score calls in blocks of this many users from the call's first user. A
 * caller splitting users between processes at multiples of it gets the
 * blocks (and matrix products) one process computes. */
enum { CS_REC_BATCH_BLOCK = 512 };

/* Room for up to cap_users users per call with params sized like
 * cs_rec_ws_create's, run over n_threads threads. */
int cs_rec_batch_create(cs_rec_batch_t **b, const cs_model_t *m,
                        const cs_strategy_params_t *p, int64_t cap_users,
                        int n_threads, cs_err_t *err);
void cs_rec_batch_free(cs_rec_batch_t *b);
/* Songs per scoring tile of the dot-product strategies (0: the default,
 * 1024; results do not depend on it). */
void cs_rec_batch_set_song_tile(cs_rec_batch_t *b, int64_t song_tile);

/* Recommend for n <= cap_users users: user i is row rows[i] (rows NULL:
 * row i) of `features` [* x n_features] and, when given, of `pred`
 * [* x dim] (NULL: the embeddings are computed here, one batched forward
 * pass). The same lists as cs_recommend for each user; results do not
 * depend on the thread count. Returns 0, CS_EINVAL or CS_ENOMEM. */
int cs_recommend_batch(const cs_ctx_t *ctx, const cs_model_t *m, int strategy,
                       const cs_strategy_params_t *p, const float *features,
                       const float *pred, const int64_t *rows, int64_t n,
                       cs_rec_batch_t *b, cs_err_t *err);
/* User i's recommendation from the last cs_recommend_batch call. */
const cs_rec_t *cs_rec_batch_get(const cs_rec_batch_t *b, int64_t i);

/* The score every song gets under `strategy`, for the n users of the last
 * cs_recommend_batch call on b (same features, pred, rows and params),
 * when the strategy ranks by one score vector: the dot products for full
 * and d0-streams (one GEMM for all n), the segment's p for popularity, semi
 * and input-clusters (the segment each user was placed in; d0-streams
 * users without streams use popularity's), the ranking score of mix and
 * blend. Fills dense [n x n_songs] and returns 1; returns 0 for soft (its
 * list comes from several segments: no single score vector), CS_ENOMEM
 * when out of memory. */
int cs_rec_batch_scores(const cs_model_t *m, int strategy,
                        const float *features, const float *pred,
                        const int64_t *rows, int64_t n,
                        const cs_rec_batch_t *b, float *dense);

#endif

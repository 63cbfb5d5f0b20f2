/* evaluate.h: run strategies over a dataset split and aggregate the
 * metrics of docs/metrics.md (mean and seeded spread), multithreaded across
 * users and deterministic (results do not depend on the thread count).
 * This is where a model meets a dataset. */
#ifndef COLDSTART_EVALUATE_H
#define COLDSTART_EVALUATE_H

#include <stdint.h>
#include <stdio.h>
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"
#include "coldstart/model.h"
#include "coldstart/strategy.h"

typedef enum { CS_NDCG_LIST = 0, CS_NDCG_SKLEARN = 1 } cs_ndcg_mode_t;

typedef struct cs_eval_params {
  cs_strategy_params_t sp;
  int strategies[CS_N_STRATEGIES]; /* which to run, in this order */
  int n_strategies;
  int ndcg_mode; /* cs_ndcg_mode_t */
  int song_tile; /* songs per scoring tile for full/d0-streams (0: the
                    default; results do not depend on it) */
  int allow_training_users; /* score users the model was trained on */
} cs_eval_params_t;

/* Every strategy (the six of the paper, then mix and blend), K = 50, m = 5,
 * margin 4, list NDCG. */
void cs_eval_params_default(cs_eval_params_t *p);

typedef struct cs_eval_metric {
  double mean, std;
} cs_eval_metric_t;

typedef struct cs_eval_row {
  int strategy;
  cs_eval_metric_t precision, recall, ndcg;
  double seconds; /* wall time of this strategy (lists + metrics) */
} cs_eval_row_t;

typedef struct cs_eval_result {
  int split;
  int k;
  int64_t n_users;   /* users evaluated (non-empty ground truth) */
  int64_t n_skipped; /* users with empty ground truth */
  double seconds_predict; /* regressor forward pass over the split */
  int n_rows;
  cs_eval_row_t rows[CS_N_STRATEGIES];
} cs_eval_result_t;

/* Check a dataset belongs with the model before scoring `split` (-1: no
 * split): the same space, dimension and song table (ids; the artist and
 * album of every song when both carry the featurizer's tables), and none of
 * the split's users among the model's training users unless
 * allow_training_users. CS_EINVAL saying which differs. Song embeddings
 * that differ (a dataset prepared separately, e.g. a new cohort) are only
 * a warning on ctx's log. */
int cs_eval_check_dataset(const cs_ctx_t *ctx, const cs_model_t *m,
                          const cs_dataset_t *ds, int split,
                          int allow_training_users, cs_err_t *err);

/* NDCG in sklearn mode: full and d0-streams use their dot-product score
 * vector over all songs; popularity, semi and input-clusters use their
 * segment's p vector over all songs (p = 0 outside the list); mix its
 * segment score seg(s), blend its ranking score; soft, which has no
 * single score vector, uses its delivered list (score K - rank, 0
 * elsewhere), which equals the list NDCG. Ties averaged as sklearn
 * (docs/metrics.md). */
int cs_evaluate(const cs_ctx_t *ctx, const cs_model_t *m,
                const cs_dataset_t *ds, int split, const cs_eval_params_t *p,
                cs_eval_result_t *out, cs_err_t *err);

/* Output formats of `coldstart evaluate`. */
typedef enum {
  CS_EVAL_TEXT = 0,     /* Table-1-style table, values in %, mean ± spread */
  CS_EVAL_JSON = 1,     /* docs/formats.md contract, fractions in [0, 1] */
  CS_EVAL_CSV = 2,      /* strategy,precision,precision_std,... fractions */
  CS_EVAL_MARKDOWN = 3  /* the text table as Markdown */
} cs_eval_format_t;

/* "text", "json", "csv", "markdown" -> format, or -1. */
int cs_eval_format_parse(const char *name);
/* Write a result to `out` (the program passes stdout). JSON:
 * {"split": S, "k": K, "users": n, "skipped": n_empty, "strategies":
 *  {NAME: {"precision": {"mean": x, "std": x}, "recall": {...},
 *  "ndcg": {...}}}} on one line. Returns 0 or CS_EIO. */
int cs_eval_write(FILE *out, const cs_eval_result_t *r, int format,
                  cs_err_t *err);

#endif

/* report.h: the HTML report of a model on a dataset (`coldstart report`).
 * Everything the page shows is gathered first into one plain struct,
 * cs_report_t, which owns all its arrays:
 * - cs_report_build fills it from a model and a dataset (the strategy
 *   comparison with spread, NDCG@K for K = 1..k_max, segment statistics
 *   and a PCA of the centroids, three example users, what went in);
 * - cs_report_read_tune adds a k sweep from DIR/tune.json (docs/report.md);
 * - cs_report_render / cs_report_write turn it into one self-contained
 *   HTML page (inline SVG and CSS; no script, no font, nothing fetched).
 * The renderer reads only this struct, so it is tested on synthetic ones.
 * Metric values are fractions in [0, 1] everywhere (the page shows %). */
#ifndef COLDSTART_REPORT_H
#define COLDSTART_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"
#include "coldstart/model.h"
#include "coldstart/strategy.h"

#define CS_REPORT_KMAX 100       /* longest NDCG@K curve */
#define CS_REPORT_NAME_MAX 32    /* strategy / stage / count names */
#define CS_REPORT_MAX_SERIES 8   /* strategies on one chart */
#define CS_REPORT_MAX_KV 64      /* "what went in" rows */
#define CS_REPORT_MAX_STAGES 24  /* timing rows */
#define CS_REPORT_N_USERS 3      /* example users: idle, typical, active */
#define CS_REPORT_MAX_COUNTS 32  /* registration-day count columns */

/* One "what went in" row: a group ("dataset", "model", "report",
 * "versions", "training"), a key and its value as display text. */
typedef struct cs_report_kv {
  char group[16];
  char key[48];
  char value[464];
} cs_report_kv_t;

typedef struct cs_report_stage {
  char name[CS_REPORT_NAME_MAX];
  double seconds;
} cs_report_stage_t;

/* One strategy of the comparison at the evaluation K. */
typedef struct cs_report_row {
  char strategy[CS_REPORT_NAME_MAX];
  double precision, precision_std; /* mean and spread (docs/metrics.md) */
  double recall, recall_std;
  double ndcg, ndcg_std;
  double seconds; /* wall time of this strategy's evaluation */
} cs_report_row_t;

typedef struct cs_report_eval {
  char split[16];
  int k;
  int64_t n_users;   /* users evaluated (non-empty days-1-30 songs) */
  int64_t n_skipped; /* users with empty ground truth */
  int n_rows;
  cs_report_row_t rows[CS_REPORT_MAX_SERIES];
} cs_report_eval_t;

/* Mean NDCG@K over the evaluated users for K = 1..k_max. */
typedef struct cs_report_curves {
  int k_max;    /* 0: no curves */
  int n_series;
  char strategy[CS_REPORT_MAX_SERIES][CS_REPORT_NAME_MAX];
  /* ndcg[s][K - 1]; NaN at a K where the series was not computed */
  double ndcg[CS_REPORT_MAX_SERIES][CS_REPORT_KMAX];
  /* 1: the list was recomputed at each K shown (soft: its slots depend on
   * K, so its list at K is not a prefix of its list at K'); 0: every K is
   * a prefix of the one list of k_max songs (exact for those strategies). */
  uint8_t per_k[CS_REPORT_MAX_SERIES];
  int64_t n_users;
} cs_report_curves_t;

/* Segments (k-means clusters over training targets). Arrays [k]. */
typedef struct cs_report_segments {
  int32_t k;           /* 0: none */
  int64_t *n_users;    /* training users in the segment */
  int64_t *n_songs;    /* songs it ranks (n_c(s) > 0) */
  double *top10_share; /* share of its (user, song) pairs on its 10 most
                          frequent songs: sum of p over the top 10 */
  double *xy;          /* [k x 2] centroids on the first two principal axes */
  double explained[2]; /* fraction of the centroids' variance per axis */
} cs_report_segments_t;

/* The regressor's training history (per epoch, 1-based in the page). */
typedef struct cs_report_history {
  int n_epochs;      /* 0: the model file has no training history */
  double *train_mse; /* [n_epochs] */
  double *val_mse;   /* [n_epochs]; NaN where not measured */
  int best_epoch;    /* 1-based epoch whose weights were kept; 0 unknown */
} cs_report_history_t;

/* A k sweep (`coldstart tune`), read from DIR/tune.json. Arrays
 * [n_points] in ascending k; per-strategy arrays [n_series x n_points].
 * NaN marks a value the file did not give. */
typedef struct cs_report_tune {
  int n_points; /* 0: no sweep */
  int32_t *k;
  double *inertia;
  double *seconds;
  int n_series;
  char strategy[CS_REPORT_MAX_SERIES][CS_REPORT_NAME_MAX];
  double *precision, *recall, *ndcg;
  int32_t elbow_k;  /* 0 when the file names none */
  int32_t chosen_k; /* 0 when the file names none */
  char chosen_note[256]; /* "chosen" object's "rule" text, if any */
  char path[512];
} cs_report_tune_t;

typedef struct cs_report_item {
  int64_t song_id;
  float score;
  uint32_t member_mask; /* bit j: membership j contributed the song */
  uint8_t hit;          /* 1: among the user's days-1-30 songs */
} cs_report_item_t;

/* An example user of the evaluated split and their recommendation. */
typedef struct cs_report_user {
  char role[16];         /* "idle", "typical", "active" */
  int64_t user_id;
  int64_t row;           /* row in the split */
  double activity;       /* sum of the registration-day counts */
  double counts[CS_REPORT_MAX_COUNTS]; /* [cs_report_t.n_counts] */
  double age;            /* age_value; < 0 unknown */
  char strategy[CS_REPORT_NAME_MAX];
  int n_members;
  int32_t member_cluster[CS_SOFT_M_MAX]; /* nearest first */
  double member_weight[CS_SOFT_M_MAX];
  double member_dist[CS_SOFT_M_MAX];
  int n_items;
  cs_report_item_t *items; /* [n_items] ranked */
  int64_t n_truth;
  int64_t *truth_song_ids; /* [n_truth] days-1-30 songs, song table order */
  uint8_t *truth_hit;      /* [n_truth] 1: recommended */
  int64_t n_hits;
} cs_report_user_t;

typedef struct cs_report {
  char title[256];
  char generated[32];   /* UTC date and time, ISO 8601 */
  char source[32];      /* dataset source: "prepare" or "import-deezer" */
  char space[8];        /* "svd" or "mf" */
  cs_report_eval_t eval;
  cs_report_curves_t curves;
  cs_report_segments_t segments;
  cs_report_history_t history;
  cs_report_tune_t tune;
  int n_users;
  cs_report_user_t users[CS_REPORT_N_USERS];
  int n_counts;
  char count_names[CS_REPORT_MAX_COUNTS][CS_REPORT_NAME_MAX];
  int n_kv;
  cs_report_kv_t kv[CS_REPORT_MAX_KV];
  int n_stages;
  cs_report_stage_t stages[CS_REPORT_MAX_STAGES];
} cs_report_t;

typedef struct cs_report_params {
  int split;               /* evaluated split (CS_SPLIT_TEST) */
  cs_strategy_params_t sp; /* K (50), soft m (5), margin (4) */
  int k_max;               /* NDCG@K curve up to this K (100), <= KMAX */
  int example_strategy;    /* strategy of the example users (soft) */
  /* soft's curve: recommended again at every K when users x k_max <= this
   * many recommendations (200,000), else at K = 1..5, 10, 20, ..., k_max
   * only (every soft recommendation costs a nearest-centroid search). */
  int64_t soft_curve_budget;
  const char *model_path;  /* shown in "what went in"; may be NULL */
  const char *dataset_path;
  const char *version;     /* program version text; may be NULL */
  int64_t generated_at;    /* Unix seconds of the report's date */
} cs_report_params_t;

void cs_report_params_default(cs_report_params_t *p);

/* Zero a report (every section absent). */
void cs_report_init(cs_report_t *r);
/* Release every array the report owns; the struct is left initialized. */
void cs_report_free(cs_report_t *r);

/* Fill `r` (initialized by cs_report_init; its tune sweep, kv and timing
 * rows are kept) from a model and its dataset: runs the evaluation
 * (cs_evaluate) at K, the NDCG@K curves, the segment statistics and PCA,
 * picks and recommends for the example users, and records what went in
 * and how long each stage took. Deterministic except timings and the
 * date; does not depend on ctx->n_threads. On error the report may be
 * partly filled: cs_report_free it. */
int cs_report_build(const cs_ctx_t *ctx, const cs_model_t *m,
                    const cs_dataset_t *ds, const cs_report_params_t *p,
                    cs_report_t *r, cs_err_t *err);

/* Add (or overwrite) a row of "what went in", and a timing row. Rows past
 * the capacity are dropped (returns CS_ERANGE). */
int cs_report_kv_add(cs_report_t *r, const char *group, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cs_report_stage_add(cs_report_t *r, const char *name, double seconds);

/* Read DIR/tune.json (format: docs/report.md) into t (freed first).
 * Errors name the file and the JSON path of the bad value. */
int cs_report_read_tune(const char *dir, cs_report_tune_t *t, cs_err_t *err);
/* The same from text in memory; `name` is used in error messages. */
int cs_report_parse_tune(const char *text, size_t len, const char *name,
                         cs_report_tune_t *t, cs_err_t *err);
void cs_report_tune_free(cs_report_tune_t *t);

/* Render the page: *html is malloc'ed (caller frees), NUL-terminated. */
int cs_report_render(const cs_report_t *r, char **html, size_t *len,
                     cs_err_t *err);
/* Render and write atomically to `path`. */
int cs_report_write(const cs_report_t *r, const char *path, cs_err_t *err);

/* --- kernels (exposed for tests) ----------------------------------------- */

/* NDCG@K of one delivered list for every K = 1..k_max at once (out[K - 1]),
 * by running sums: the same values as cs_metrics_user(list, n_list, K,
 * truth, n_truth) at each K. truth ascending, n_truth > 0. */
void cs_report_ndcg_prefix(const int32_t *list, int n_list, int k_max,
                           const int64_t *truth, int64_t n_truth, double *out);

/* The first two principal axes of n points of `dim` floats (centered on
 * their mean): xy[n x 2] = coordinates, explained[2] = fraction of the
 * total variance along each axis. Power iteration on the dim x dim
 * covariance with a fixed start and iteration budget (deterministic); each
 * axis' sign makes its largest-magnitude component positive. Returns 0 or
 * CS_ENOMEM. n < 2 or zero variance gives zeros. */
int cs_report_pca2(const float *x, int64_t n, int dim, double *xy,
                   double explained[2]);

#endif

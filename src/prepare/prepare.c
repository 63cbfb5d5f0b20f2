/* prepare.c: raw logs -> prepared dataset. Chooses the cold cohort, splits
 * it, trains the CF embeddings on warm listening plus the TRAIN cohort's
 * days 0-30 only (validation/test listening never reaches a model), then
 * computes targets, ground truth, the featurizer and every cohort user's
 * features.
 *
 * Under MPI (docs/mpi.md) every rank runs this too. The cohort and split
 * come from users.tsv alone (every rank reads it); each user then belongs
 * to one rank (rank r: positions [lo, hi) of cs_dist_part of each split,
 * and its share of the warm users), which receives that user's events
 * from the rank that parsed them (each parses a byte range of events.tsv)
 * in file order. Numberings (CF rows, baskets) are global, in user-row
 * order; sums are integers or fixed-block sums; rank 0 gathers the
 * dataset. So the dataset is the same bytes for any number of ranks. */
#include "coldstart/prepare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/dist.h"
#include "coldstart/rng.h"
#include "coldstart/sparse.h"
#include "data/idmap.h"
#include "embed/embed_internal.h"

enum { ROLE_TRAIN = 0, ROLE_VAL = 1, ROLE_TEST = 2, ROLE_WARM = 3 };

static const char *const stage_names[CS_PREP_N_STAGES] = {
    "cohort", "cf_data", "embed", "targets", "featurizer", "features"};

const char *cs_prepare_stage_name(int stage) {
  return stage >= 0 && stage < CS_PREP_N_STAGES ? stage_names[stage] : "?";
}

void cs_prepare_params_default(cs_prepare_params_t *p) {
  memset(p, 0, sizeof *p);
  snprintf(p->space, sizeof p->space, "svd");
  p->dim = 0;
  p->cohort_from = CS_PREPARE_NO_DAY;
  p->split[0] = 70;
  p->split[1] = 20;
  p->split[2] = 10;
  p->seed = 1;
  p->window = 30;
  cs_svd_params_default(&p->svd);
  cs_als_params_default(&p->als);
}

/* Working state shared by the stages. */
typedef struct {
  const cs_ctx_t *ctx;
  const cs_dist_t *d;
  const cs_logs_t *L;
  const cs_prepare_params_t *p;
  int dim;
  int is_mf;
  uint8_t *role;              /* [n_users] */
  int32_t *owner;             /* [n_users] the rank holding each user */
  int64_t *rows[CS_N_SPLITS]; /* user rows of each split, ascending id */
  int64_t n_rows[CS_N_SPLITS];
  int64_t lo[CS_N_SPLITS], hi[CS_N_SPLITS]; /* this rank's positions */
  /* the events of this rank's users, file order: the logs' own arrays in
   * one process, received ones (ev_block) under several ranks */
  int64_t n_ev;
  const int32_t *ev_user, *ev_day, *ev_song;
  const uint8_t *ev_action, *ev_kind;
  const int64_t *ev_item;
  void *ev_block;
  cs_logs_t *L_own;           /* consume mode: the logs whose event arrays
                                 are freed once not needed (else NULL) */
  int64_t *ev_ptr;            /* [n_users + 1] events of each user row */
  int64_t *ev_idx;            /* event indices, file order within a user */
  int32_t *cf_row;            /* [n_users] global row in the ALS matrix, -1 */
  int64_t n_cf;
  cs_csr_t cf;                /* svd: my baskets x songs; mf: my users x songs */
  int64_t *cf_ids;            /* [cf.n_rows] global basket id / ALS row */
  float *song_emb;            /* [n_songs x dim], every rank */
  float *user_f;              /* mf: [cf.n_rows x dim] */
  int32_t *user_f_row;        /* mf: [n_users] row of user_f, -1 */
  float *gram;                /* mf: song_f^T song_f */
  /* registration-day events of this rank's cohort users (the features
   * stage needs only those; the full event arrays are gone by then) */
  int64_t *reg_ptr;           /* [n_users + 1] */
  uint8_t *reg_action, *reg_kind;
  int64_t *reg_item;
} prep_t;

typedef struct {
  int64_t id, row;
} id_row_t;

static int cmp_id_row(const void *a, const void *b) {
  const id_row_t *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return x < y ? -1 : x > y;
}

/* Sort user rows by user id. */
static int sort_rows_by_id(const cs_logs_t *L, int64_t *rows, int64_t n) {
  id_row_t *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
  if (!tmp) return CS_ENOMEM;
  for (int64_t i = 0; i < n; i++) {
    tmp[i].id = L->user_ids[rows[i]];
    tmp[i].row = rows[i];
  }
  qsort(tmp, (size_t)n, sizeof *tmp, cmp_id_row);
  for (int64_t i = 0; i < n; i++) rows[i] = tmp[i].row;
  free(tmp);
  return 0;
}

static int is_stream(const prep_t *P, int64_t e) {
  return P->ev_action[e] == CS_ACTION_STREAM && P->ev_song[e] >= 0;
}

/* ------------------------------------------------------------ cohort */

/* Which rank holds each user: position ranges of every split, and a range
 * of the warm users (user-row order). */
static int assign_owners(prep_t *P) {
  const cs_logs_t *L = P->L;
  const cs_dist_t *d = P->d;
  P->owner = malloc((size_t)L->n_users * sizeof *P->owner);
  if (!P->owner) return CS_ENOMEM;
  int64_t n_warm = 0;
  for (int64_t u = 0; u < L->n_users; u++) n_warm += P->role[u] == ROLE_WARM;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    cs_dist_part(P->n_rows[s], d->rank, d->size, &P->lo[s], &P->hi[s]);
    for (int64_t i = 0; i < P->n_rows[s]; i++)
      P->owner[P->rows[s][i]] = cs_dist_owner(P->n_rows[s], d->size, i);
  }
  int64_t w = 0;
  for (int64_t u = 0; u < L->n_users; u++)
    if (P->role[u] == ROLE_WARM)
      P->owner[u] = cs_dist_owner(n_warm, d->size, w++);
  return 0;
}

/* One event on its way to its user's rank. */
typedef struct {
  int64_t item;
  int32_t user, day, song;
  uint8_t action, kind;
} ev_rec_t;

/* Send every parsed event to the rank holding its user (events of unknown
 * users are counted by the reader and go nowhere); what arrives is in file
 * order, since ranks parsed consecutive byte ranges. */
static int exchange_events(prep_t *P, cs_err_t *err) {
  const cs_logs_t *L = P->L;
  const int n_ranks = P->d->size;
  int64_t *cnt = calloc(3 * (size_t)n_ranks, sizeof *cnt);
  ev_rec_t *send = malloc((size_t)(L->n_events + 1) * sizeof *send);
  if (!cnt || !send) {
    free(cnt);
    free(send);
    return cs_err_set(err, CS_ENOMEM, "prepare: sending %lld events",
                      (long long)L->n_events);
  }
  int64_t *at = cnt + n_ranks, *got = at + n_ranks;
  for (int64_t e = 0; e < L->n_events; e++)
    if (L->ev_user[e] >= 0) cnt[P->owner[L->ev_user[e]]]++;
  for (int q = 1; q < n_ranks; q++) at[q] = at[q - 1] + cnt[q - 1];
  for (int64_t e = 0; e < L->n_events; e++) {
    if (L->ev_user[e] < 0) continue;
    ev_rec_t r;
    memset(&r, 0, sizeof r);
    r.item = L->ev_item[e];
    r.user = L->ev_user[e];
    r.day = L->ev_day[e];
    r.song = L->ev_song[e];
    r.action = L->ev_action[e];
    r.kind = L->ev_kind[e];
    send[at[P->owner[r.user]]++] = r;
  }
  void *recv = NULL;
  int rc = cs_dist_alltoallv(P->d, send, cnt, sizeof *send, &recv, got);
  free(send);
  int64_t n = 0;
  for (int q = 0; q < n_ranks && !rc; q++) n += got[q];
  free(cnt);
  if (rc) return cs_err_set(err, rc, "prepare: exchanging events");
  /* one block: item, user, day, song, action, kind */
  size_t bytes = (size_t)(n + 1) * (8 + 4 + 4 + 4 + 1 + 1);
  char *block = malloc(bytes);
  if (!block) {
    free(recv);
    return cs_err_set(err, CS_ENOMEM, "prepare: %lld events", (long long)n);
  }
  int64_t *item = (int64_t *)block;
  int32_t *user = (int32_t *)(item + n + 1), *day = user + n + 1,
          *song = day + n + 1;
  uint8_t *action = (uint8_t *)(song + n + 1), *kind = action + n + 1;
  const ev_rec_t *in = recv;
  for (int64_t e = 0; e < n; e++) {
    item[e] = in[e].item;
    user[e] = in[e].user;
    day[e] = in[e].day;
    song[e] = in[e].song;
    action[e] = in[e].action;
    kind[e] = in[e].kind;
  }
  free(recv);
  P->ev_block = block;
  P->n_ev = n;
  P->ev_item = item;
  P->ev_user = user;
  P->ev_day = day;
  P->ev_song = song;
  P->ev_action = action;
  P->ev_kind = kind;
  return 0;
}

static int stage_cohort(prep_t *P, cs_prepare_report_t *rep, cs_err_t *err) {
  const cs_logs_t *L = P->L;
  int64_t nu = L->n_users;
  if (nu == 0) return cs_err_set(err, CS_EINVAL, "prepare: no users");
  int32_t from = P->p->cohort_from;
  if (from == CS_PREPARE_NO_DAY) {
    int32_t *days = malloc((size_t)nu * sizeof *days);
    if (!days) return cs_err_set(err, CS_ENOMEM, "prepare: cohort");
    memcpy(days, L->user_reg_day, (size_t)nu * sizeof *days);
    qsort(days, (size_t)nu, sizeof *days, cmp_i32);
    int64_t n_distinct = 0;
    for (int64_t i = 0; i < nu; i++)
      if (i == 0 || days[i] != days[i - 1]) days[n_distinct++] = days[i];
    from = days[n_distinct > 7 ? n_distinct - 7 : 0];
    free(days);
  }
  rep->cohort_from = from;
  P->role = malloc((size_t)nu);
  int64_t *cohort = malloc((size_t)nu * sizeof *cohort);
  if (!P->role || !cohort) {
    free(cohort);
    return cs_err_set(err, CS_ENOMEM, "prepare: cohort");
  }
  int64_t nc = 0;
  for (int64_t u = 0; u < nu; u++) {
    P->role[u] = ROLE_WARM;
    if (L->user_reg_day[u] >= from) cohort[nc++] = u;
  }
  rep->n_cohort_users = nc;
  rep->n_warm_users = nu - nc;
  /* a seeded shuffle of the id-sorted cohort: independent of file order */
  if (sort_rows_by_id(L, cohort, nc)) {
    free(cohort);
    return cs_err_set(err, CS_ENOMEM, "prepare: cohort");
  }
  cs_rng_t rng;
  cs_rng_seed_stream(&rng, P->p->seed, 0x5e11);
  cs_rng_shuffle_i64(&rng, cohort, nc);
  int64_t n_train = (nc * P->p->split[0] + 50) / 100;
  int64_t n_val = (nc * P->p->split[1] + 50) / 100;
  if (n_train + n_val > nc) n_val = nc - n_train;
  int64_t counts[CS_N_SPLITS] = {n_train, n_val, nc - n_train - n_val};
  int64_t at = 0;
  int rc = 0;
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    P->n_rows[s] = counts[s];
    P->rows[s] = malloc((size_t)(counts[s] + 1) * sizeof(int64_t));
    if (!P->rows[s]) {
      rc = cs_err_set(err, CS_ENOMEM, "prepare: split");
      break;
    }
    memcpy(P->rows[s], cohort + at, (size_t)counts[s] * sizeof(int64_t));
    at += counts[s];
    for (int64_t i = 0; i < counts[s]; i++) P->role[P->rows[s][i]] = (uint8_t)s;
    if (sort_rows_by_id(L, P->rows[s], counts[s]))
      rc = cs_err_set(err, CS_ENOMEM, "prepare: split");
    rep->n_users[s] = counts[s];
  }
  free(cohort);
  if (rc) return rc;
  if (n_train == 0)
    return cs_err_set(err, CS_EINVAL,
                      "prepare: no training users (cohort of %lld users from "
                      "day %d, split %d/%d/%d)",
                      (long long)nc, from, P->p->split[0], P->p->split[1],
                      P->p->split[2]);
  if (assign_owners(P)) return cs_err_set(err, CS_ENOMEM, "prepare: owners");

  /* the events of this rank's users */
  if (P->d->size > 1) {
    if ((rc = exchange_events(P, err))) return rc;
    if (P->L_own) cs_logs_free_events(P->L_own); /* this rank's shard: sent */
  } else {
    P->n_ev = L->n_events;
    P->ev_user = L->ev_user;
    P->ev_day = L->ev_day;
    P->ev_song = L->ev_song;
    P->ev_action = L->ev_action;
    P->ev_kind = L->ev_kind;
    P->ev_item = L->ev_item;
  }
  /* events of each user row, file order */
  P->ev_ptr = calloc((size_t)nu + 1, sizeof(int64_t));
  P->ev_idx = malloc((size_t)(P->n_ev > 0 ? P->n_ev : 1) * sizeof(int64_t));
  if (!P->ev_ptr || !P->ev_idx)
    return cs_err_set(err, CS_ENOMEM, "prepare: event index");
  for (int64_t e = 0; e < P->n_ev; e++)
    if (P->ev_user[e] >= 0) P->ev_ptr[P->ev_user[e] + 1]++;
  for (int64_t u = 0; u < nu; u++) P->ev_ptr[u + 1] += P->ev_ptr[u];
  int64_t *fill = malloc((size_t)nu * sizeof(int64_t));
  if (!fill) return cs_err_set(err, CS_ENOMEM, "prepare: event index");
  memcpy(fill, P->ev_ptr, (size_t)nu * sizeof(int64_t));
  int64_t before = 0;
  for (int64_t e = 0; e < P->n_ev; e++) {
    int32_t u = P->ev_user[e];
    if (u < 0) continue;
    P->ev_idx[fill[u]++] = e;
    before += P->ev_day[e] < L->user_reg_day[u];
  }
  free(fill);
  cs_dist_sum_i64(P->d, &before, 1);
  rep->n_before_registration = before;
  return 0;
}

/* ------------------------------------------------------------ CF data */

/* Does event e of user row u go into the CF training data? Warm users: all
 * their streams from registration on; TRAIN cohort users: streams on days
 * reg..reg+window; validation/test users: never. */
static int cf_uses(const prep_t *P, int64_t u, int64_t e) {
  if (!is_stream(P, e)) return 0;
  int64_t rel = (int64_t)P->ev_day[e] - P->L->user_reg_day[u];
  if (rel < 0) return 0; /* before registration: counted, never used */
  if (P->role[u] == ROLE_WARM) return 1;
  if (P->role[u] != ROLE_TRAIN) return 0;
  return rel <= P->p->window;
}

typedef struct {
  int64_t day;
  int32_t song;
} day_song_t;

static int cmp_day_song(const void *a, const void *b) {
  const day_song_t *x = a, *y = b;
  if (x->day != y->day) return x->day < y->day ? -1 : 1;
  return (x->song > y->song) - (x->song < y->song);
}

static day_song_t *scratch_grow(day_song_t **buf, int64_t *cap, int64_t n) {
  if (n <= *cap) return *buf;
  int64_t nc = n > 2 * *cap ? n : 2 * *cap;
  day_song_t *nb = realloc(*buf, (size_t)nc * sizeof *nb);
  if (!nb) return NULL;
  *buf = nb;
  *cap = nc;
  return nb;
}

/* Global numbering from per-user counts held by their ranks: first[u] =
 * sum of the counts of user rows < u (over all ranks); returns the total,
 * or -1 when out of memory. */
static int64_t global_firsts(const prep_t *P, int64_t *count_first) {
  if (cs_dist_sum_i64(P->d, count_first, P->L->n_users)) return -1;
  int64_t total = 0;
  for (int64_t u = 0; u < P->L->n_users; u++) {
    int64_t c = count_first[u];
    count_first[u] = total;
    total += c;
  }
  return total;
}

static int stage_cf_data(prep_t *P, cs_prepare_report_t *rep, cs_err_t *err) {
  const cs_logs_t *L = P->L;
  int64_t nu = L->n_users, n_trip = 0, n_mine = 0;
  P->cf_row = malloc((size_t)nu * sizeof(int32_t));
  int64_t *first = calloc((size_t)nu + 1, sizeof *first);
  if (!P->cf_row || !first) {
    free(first);
    return cs_err_set(err, CS_ENOMEM, "prepare: cf data");
  }
  /* CF streams per user (my users; the others have no events here) */
  for (int64_t u = 0; u < nu; u++) {
    int64_t n = 0;
    for (int64_t k = P->ev_ptr[u]; k < P->ev_ptr[u + 1]; k++)
      n += cf_uses(P, u, P->ev_idx[k]);
    first[u] = n > 0;
    n_trip += n;
    n_mine += n > 0;
  }
  P->n_cf = global_firsts(P, first);
  if (P->n_cf < 0) {
    free(first);
    return cs_err_set(err, CS_ENOMEM, "prepare: cf data");
  }
  for (int64_t u = 0; u < nu; u++)
    P->cf_row[u] = (u + 1 < nu ? first[u + 1] : P->n_cf) > first[u]
                       ? (int32_t)first[u]
                       : -1;
  int64_t total_trip = n_trip;
  cs_dist_sum_i64(P->d, &total_trip, 1);
  rep->n_cf_users = P->n_cf;
  rep->n_cf_streams = total_trip;
  if (total_trip == 0) {
    free(first);
    return cs_err_set(err, CS_EINVAL,
                      "prepare: no stream of a warm-history or training user "
                      "to learn song embeddings from (%lld events in the "
                      "logs, %lld warm users)",
                      (long long)L->n_events_total,
                      (long long)rep->n_warm_users);
  }
  /* my playlists' baskets (svd): playlist b (in order of first appearance)
   * is basket first_playlist + b; rank r builds cs_dist_part of them */
  int64_t n_pl = 0, pl_lo = 0, pl_hi = 0, pl_mine = 0;
  cs__idmap_t pl;
  memset(&pl, 0, sizeof pl);
  int rc = 0;
  if (!P->is_mf && L->n_playlist_entries > 0) {
    if (cs__idmap_init(&pl, 1024)) rc = CS_ENOMEM;
    for (int64_t i = 0; i < L->n_playlist_entries && !rc; i++) {
      int64_t b = cs__idmap_put(&pl, L->playlist_ids[i], (int32_t)n_pl);
      if (b < 0) rc = CS_ENOMEM;
      else if (b == n_pl) n_pl++;
    }
    cs_dist_part(n_pl, P->d->rank, P->d->size, &pl_lo, &pl_hi);
    for (int64_t i = 0; i < L->n_playlist_entries && !rc; i++) {
      int64_t b = cs__idmap_get(&pl, L->playlist_ids[i]);
      pl_mine += b >= pl_lo && b < pl_hi;
    }
  }
  int64_t n_all = n_trip + pl_mine;
  int64_t *rows = malloc((size_t)(n_all + 1) * sizeof(int64_t));
  int32_t *cols = malloc((size_t)(n_all + 1) * sizeof(int32_t));
  float *vals = malloc((size_t)(n_all + 1) * sizeof(float));
  /* per local row: the user it belongs to and its index within the user
   * (svd: its day; mf: 0), for the global ids */
  int64_t n_rows_cap = (P->is_mf ? n_mine : n_trip) + (pl_hi - pl_lo) + 1;
  int64_t *row_user = malloc((size_t)n_rows_cap * sizeof *row_user);
  int64_t *row_j = malloc((size_t)n_rows_cap * sizeof *row_j);
  day_song_t *scratch = NULL;
  int64_t scratch_cap = 0;
  if (rc || !rows || !cols || !vals || !row_user || !row_j)
    rc = cs_err_set(err, CS_ENOMEM, "prepare: cf triplets (%lld)",
                    (long long)n_all);
  memset(first, 0, (size_t)nu * sizeof *first); /* now: baskets per user */
  int64_t t = 0, n_local = 0;
  for (int64_t u = 0; u < nu && !rc; u++) {
    if (P->ev_ptr[u] == P->ev_ptr[u + 1] || P->cf_row[u] < 0) continue;
    int64_t t0 = t;
    for (int64_t k = P->ev_ptr[u]; k < P->ev_ptr[u + 1]; k++) {
      int64_t e = P->ev_idx[k];
      if (!cf_uses(P, u, e)) continue;
      /* svd: park the day in rows[] until the user's baskets are known */
      rows[t] = P->is_mf ? n_local : P->ev_day[e];
      cols[t] = P->ev_song[e];
      vals[t] = 1.0f;
      t++;
    }
    if (P->is_mf) {
      row_user[n_local] = u;
      row_j[n_local++] = 0;
      continue;
    }
    /* basket = (user, day): order this user's streams by day, then number
     * the distinct days */
    day_song_t *ds = scratch_grow(&scratch, &scratch_cap, t - t0);
    if (!ds) {
      rc = cs_err_set(err, CS_ENOMEM, "prepare: baskets");
      break;
    }
    for (int64_t i = t0; i < t; i++) {
      ds[i - t0].day = rows[i];
      ds[i - t0].song = cols[i];
    }
    qsort(ds, (size_t)(t - t0), sizeof *ds, cmp_day_song);
    for (int64_t i = t0; i < t; i++) {
      if (i == t0 || ds[i - t0].day != ds[i - t0 - 1].day) {
        row_user[n_local] = u;
        row_j[n_local++] = first[u]++;
      }
      rows[i] = n_local - 1;
      cols[i] = ds[i - t0].song;
    }
  }
  free(scratch);
  int64_t n_user_rows = n_local;
  for (int64_t b = pl_lo; b < pl_hi && !rc; b++) {
    row_user[n_local] = -1;
    row_j[n_local++] = b;
  }
  for (int64_t i = 0; i < L->n_playlist_entries && !rc && pl_hi > pl_lo; i++) {
    int64_t b = cs__idmap_get(&pl, L->playlist_ids[i]);
    if (b < pl_lo || b >= pl_hi) continue;
    rows[t] = n_user_rows + (b - pl_lo);
    cols[t] = L->playlist_song_rows[i];
    vals[t] = 1.0f;
    t++;
  }
  cs__idmap_free(&pl);
  if ((rc = cs_dist_agree(P->d, rc, err))) goto done;
  /* global ids of my rows */
  int64_t n_user_baskets = 0;
  if (!P->is_mf) {
    n_user_baskets = global_firsts(P, first);
    if (n_user_baskets < 0) rc = CS_ENOMEM;
  }
  P->cf_ids = malloc((size_t)(n_local + 1) * sizeof *P->cf_ids);
  if (!P->cf_ids) rc = CS_ENOMEM;
  for (int64_t r = 0; r < n_local && !rc; r++)
    P->cf_ids[r] = P->is_mf ? P->cf_row[row_user[r]]
                   : row_user[r] >= 0 ? first[row_user[r]] + row_j[r]
                                      : n_user_baskets + row_j[r];
  rep->n_baskets = P->is_mf ? 0 : n_user_baskets + n_pl;
  if (!rc)
    rc = cs_csr_from_triplets(&P->cf, n_local, L->n_songs, rows, cols, vals,
                              t, err);
  if (!rc) {
    /* songs the models see at all */
    int64_t *seen = calloc((size_t)L->n_songs + 1, sizeof *seen);
    if (!seen) {
      rc = CS_ENOMEM;
    } else {
      for (int64_t k = 0; k < cs_csr_nnz(&P->cf); k++)
        seen[P->cf.indices[k]] = 1;
      cs_dist_sum_i64(P->d, seen, L->n_songs);
      for (int64_t s = 0; s < L->n_songs; s++) rep->n_cf_songs += seen[s] > 0;
      free(seen);
    }
  }
  if (rc == CS_ENOMEM && (!err || err->code != CS_ENOMEM))
    cs_err_set(err, rc, "prepare: cf data");
done:
  free(rows);
  free(cols);
  free(vals);
  free(row_user);
  free(row_j);
  free(first);
  return rc;
}

/* ------------------------------------------------------------ embed */

static int stage_embed(prep_t *P, cs_prepare_report_t *rep, cs_err_t *err) {
  int64_t ns = P->L->n_songs;
  size_t d = (size_t)P->dim;
  P->song_emb = calloc((size_t)ns * d, sizeof(float));
  if (!P->song_emb) return cs_err_set(err, CS_ENOMEM, "prepare: embeddings");
  if (!P->is_mf) {
    cs_svd_params_t sp = P->p->svd;
    sp.dim = P->dim;
    sp.seed = P->p->seed;
    int rc = cs__ttsvd_fit_dist(P->ctx, P->d, &P->cf, P->cf_ids, &sp,
                                P->song_emb, err);
    cs_csr_free(&P->cf); /* not needed past this point */
    return rc;
  }
  cs_als_params_t ap = P->p->als;
  ap.dim = P->dim;
  ap.seed = P->p->seed;
  int64_t n_mine = P->cf.n_rows;
  P->user_f = calloc((size_t)(n_mine > 0 ? n_mine : 1) * d, sizeof(float));
  P->gram = calloc(d * d, sizeof(float));
  P->user_f_row = malloc((size_t)P->L->n_users * sizeof *P->user_f_row);
  if (!P->user_f || !P->gram || !P->user_f_row)
    return cs_err_set(err, CS_ENOMEM, "prepare: ALS factors");
  for (int64_t u = 0; u < P->L->n_users; u++) P->user_f_row[u] = -1;
  for (int64_t r = 0, u = 0; r < n_mine; r++) { /* rows ascend with users */
    while (P->cf_row[u] != P->cf_ids[r]) u++;
    P->user_f_row[u] = (int32_t)r;
  }
  /* one process: the rows are every CF user, in order (ids not needed) */
  int rc = cs__als_fit_dist(P->ctx, P->d, &P->cf,
                            P->d->size > 1 ? P->cf_ids : NULL, P->n_cf, &ap,
                            P->user_f, P->song_emb, &rep->als, err);
  cs_csr_free(&P->cf);
  if (rc) return rc;
  cs_als_gram(P->song_emb, ns, P->dim, P->gram);
  return 0;
}

/* ------------------------------------------------------------ targets */

/* Song rows streamed by user row u on days reg+1..reg+window (each stream,
 * file order) into *buf (grown as needed); returns the count or -1. */
static int64_t window_streams(const prep_t *P, int64_t u, int32_t **buf,
                              int64_t *cap) {
  const cs_logs_t *L = P->L;
  int64_t n = 0;
  for (int64_t k = P->ev_ptr[u]; k < P->ev_ptr[u + 1]; k++) {
    int64_t e = P->ev_idx[k];
    if (!is_stream(P, e)) continue;
    int64_t rel = (int64_t)P->ev_day[e] - L->user_reg_day[u];
    if (rel < 1 || rel > P->p->window) continue;
    if (n == *cap) {
      int64_t nc = *cap ? *cap * 2 : 256;
      int32_t *nb = realloc(*buf, (size_t)nc * sizeof(int32_t));
      if (!nb) return -1;
      *buf = nb;
      *cap = nc;
    }
    (*buf)[n++] = P->ev_song[e];
  }
  return n;
}

static int normalize(float *x, int d) {
  double ss = 0;
  for (int j = 0; j < d; j++) ss += (double)x[j] * x[j];
  if (!(ss > 0) || !isfinite(ss)) {
    memset(x, 0, (size_t)d * sizeof(float));
    return 0;
  }
  float inv = (float)(1.0 / sqrt(ss));
  for (int j = 0; j < d; j++) x[j] *= inv;
  return 1;
}

/* This rank's rows of a split: users at positions [lo, hi), their targets
 * and truth (positions relative to lo). */
typedef struct {
  prep_t *P;
  int split;
  int64_t lo;
  float *targets;     /* [(hi - lo) x dim] */
  uint8_t *has_target;
} target_job_t;

static int target_range(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  target_job_t *J = arg;
  prep_t *P = J->P;
  int d = P->dim;
  int32_t *buf = NULL;
  int64_t cap = 0;
  double *acc = malloc((size_t)d * sizeof(double));
  if (!acc) goto fail;
  for (int64_t i = begin; i < end; i++) {
    int64_t u = P->rows[J->split][J->lo + i];
    float *t = J->targets + (size_t)i * d;
    int64_t n = window_streams(P, u, &buf, &cap);
    if (n < 0) goto fail;
    memset(t, 0, (size_t)d * sizeof(float));
    J->has_target[i] = 0;
    if (n == 0) continue;
    if (!P->is_mf) {
      for (int j = 0; j < d; j++) acc[j] = 0;
      for (int64_t k = 0; k < n; k++) {
        const float *x = P->song_emb + (size_t)buf[k] * d;
        for (int j = 0; j < d; j++) acc[j] += x[j];
      }
      for (int j = 0; j < d; j++) t[j] = (float)(acc[j] / (double)n);
    } else if (J->split == CS_SPLIT_TRAIN && P->user_f_row[u] >= 0) {
      memcpy(t, P->user_f + (size_t)P->user_f_row[u] * d,
             (size_t)d * sizeof(float));
    } else {
      continue; /* validation/test in UT-ALS: fold_in_split() */
    }
    J->has_target[i] = (uint8_t)normalize(t, d);
  }
  free(buf);
  free(acc);
  return 0;
fail:
  free(buf);
  free(acc);
  return cs_err_set(err, CS_ENOMEM, "prepare: %s targets",
                    cs_split_name(J->split));
}

/* Truth of positions [lo, hi) of split s = distinct songs streamed days
 * reg+1..reg+window, ascending: indptr [hi - lo + 1] (from 0), indices. */
static int build_truth(prep_t *P, int s, int64_t lo, int64_t hi,
                       int64_t **indptr_out, int64_t **indices_out,
                       cs_err_t *err) {
  int64_t n = hi - lo;
  int32_t *buf = NULL;
  int64_t cap = 0, total = 0, tcap = 1024;
  int64_t *indptr = calloc((size_t)n + 1, sizeof(int64_t));
  int64_t *indices = malloc((size_t)tcap * sizeof(int64_t));
  *indptr_out = indptr;
  *indices_out = indices;
  if (!indptr || !indices) return cs_err_set(err, CS_ENOMEM, "prepare: truth");
  for (int64_t i = 0; i < n; i++) {
    int64_t m = window_streams(P, P->rows[s][lo + i], &buf, &cap);
    if (m < 0) {
      free(buf);
      return cs_err_set(err, CS_ENOMEM, "prepare: truth");
    }
    if (m > 1) qsort(buf, (size_t)m, sizeof *buf, cmp_i32);
    for (int64_t k = 0; k < m; k++) {
      if (k > 0 && buf[k] == buf[k - 1]) continue;
      if (total == tcap) {
        tcap *= 2;
        int64_t *nb = realloc(indices, (size_t)tcap * sizeof(int64_t));
        if (!nb) {
          free(buf);
          return cs_err_set(err, CS_ENOMEM, "prepare: truth");
        }
        indices = nb;
        *indices_out = indices;
      }
      indices[total++] = buf[k];
    }
    indptr[i + 1] = total;
  }
  free(buf);
  return 0;
}

/* UT-ALS targets of validation/test users (this rank's positions): their
 * days-1-30 play counts solved against the fixed song factors, exactly as
 * the training users' half-steps are (cs_als_solve_rows, `iters` passes of
 * cg_steps CG from zero), then L2-normalized. The model itself never sees
 * these rows. */
static int fold_in_split(prep_t *P, int s, int64_t lo, int64_t hi,
                         float *targets, uint8_t *has_target, cs_err_t *err) {
  int64_t n = hi - lo, t = 0;
  int32_t *buf = NULL;
  int64_t cap = 0, n_plays = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t m = window_streams(P, P->rows[s][lo + i], &buf, &cap);
    if (m < 0) {
      free(buf);
      return cs_err_set(err, CS_ENOMEM, "prepare: fold-in");
    }
    n_plays += m;
  }
  int64_t *rows = malloc((size_t)(n_plays + 1) * sizeof(int64_t));
  int32_t *cols = malloc((size_t)(n_plays + 1) * sizeof(int32_t));
  float *vals = malloc((size_t)(n_plays + 1) * sizeof(float));
  float *x = calloc((size_t)(n + 1) * P->dim, sizeof(float));
  cs_csr_t plays;
  memset(&plays, 0, sizeof plays);
  int rc = 0;
  if (!rows || !cols || !vals || !x)
    rc = cs_err_set(err, CS_ENOMEM, "prepare: fold-in");
  for (int64_t i = 0; i < n && !rc; i++) {
    int64_t m = window_streams(P, P->rows[s][lo + i], &buf, &cap);
    for (int64_t k = 0; k < m; k++, t++) {
      rows[t] = i;
      cols[t] = buf[k];
      vals[t] = 1.0f;
    }
  }
  if (!rc)
    rc = cs_csr_from_triplets(&plays, n, P->L->n_songs, rows, cols, vals, t,
                              err);
  free(rows);
  free(cols);
  free(vals);
  free(buf);
  cs_als_params_t ap = P->p->als;
  ap.dim = P->dim;
  int passes = ap.iters > 0 ? ap.iters : 1;
  for (int it = 0; it < passes && !rc; it++)
    rc = cs_als_solve_rows(P->ctx, &plays, P->song_emb, P->gram, &ap, x, err);
  for (int64_t i = 0; i < n && !rc; i++) {
    float *tg = targets + (size_t)i * P->dim;
    memcpy(tg, x + (size_t)i * P->dim, (size_t)P->dim * sizeof(float));
    int has = plays.indptr[i + 1] > plays.indptr[i];
    has_target[i] = (uint8_t)(has && normalize(tg, P->dim));
    if (!has_target[i]) memset(tg, 0, (size_t)P->dim * sizeof(float));
  }
  cs_csr_free(&plays);
  free(x);
  return rc;
}

/* Rank 0 gathers every rank's truth rows of a split into its CSR. */
static int gather_truth(prep_t *P, cs_split_t *sp, int s, int64_t *indptr,
                        int64_t *indices, const int64_t *off) {
  const cs_dist_t *d = P->d;
  int64_t n_mine = P->hi[s] - P->lo[s];
  int64_t *nnz = malloc(((size_t)d->size + 1) * sizeof *nnz);
  int64_t *lens = malloc((size_t)(n_mine + 1) * sizeof *lens);
  if (!nnz || !lens) {
    free(nnz);
    free(lens);
    return CS_ENOMEM;
  }
  for (int64_t i = 0; i < n_mine; i++) lens[i] = indptr[i + 1] - indptr[i];
  int rc = cs_dist_gather_rows_from(d, lens, sp->truth_indptr + 1,
                                    sizeof *lens, off, 0);
  cs_dist_allgather_i64(d, indptr[n_mine], nnz);
  int64_t total = 0;
  for (int q = 0; q < d->size; q++) {
    int64_t c = nnz[q];
    nnz[q] = total;
    total += c;
  }
  nnz[d->size] = total;
  if (!rc && d->rank == 0) {
    sp->truth_indptr[0] = 0;
    for (int64_t i = 0; i < P->n_rows[s]; i++)
      sp->truth_indptr[i + 1] += sp->truth_indptr[i];
    int64_t *all = malloc((size_t)(total + 1) * sizeof *all);
    if (!all) rc = CS_ENOMEM;
    else {
      free(sp->truth_indices);
      sp->truth_indices = all;
    }
  }
  if (!rc)
    rc = cs_dist_gather_rows_from(d, indices, d->rank == 0 ? sp->truth_indices
                                                           : NULL,
                                  sizeof *indices, nnz, 0);
  free(nnz);
  free(lens);
  return rc;
}

static int stage_targets(prep_t *P, cs_dataset_t *ds, cs_prepare_report_t *rep,
                         cs_err_t *err) {
  size_t d = (size_t)P->dim;
  const cs_dist_t *dist = P->d;
  const int root = dist->rank == 0, multi = dist->size > 1;
  int64_t *off = malloc(((size_t)dist->size + 1) * sizeof *off);
  if (!off) return cs_err_set(err, CS_ENOMEM, "prepare: targets");
  int rc = 0;
  int64_t counts[2 * CS_N_SPLITS] = {0};
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    cs_split_t *sp = &ds->splits[s];
    int64_t n = P->n_rows[s], lo = P->lo[s], hi = P->hi[s];
    cs_dist_offsets(n, 1, dist->size, off);
    sp->n_users = n;
    /* every rank holds the targets of every split (the featurizer needs
     * the training ones); the truth and user ids only rank 0 */
    sp->user_ids = malloc((size_t)(n + 1) * sizeof(int64_t));
    sp->targets = calloc((size_t)(n + 1) * d, sizeof(float));
    sp->has_target = calloc((size_t)n + 1, 1);
    sp->truth_indptr = calloc((size_t)n + 1, sizeof(int64_t));
    if (!sp->user_ids || !sp->targets || !sp->has_target || !sp->truth_indptr)
      rc = cs_err_set(err, CS_ENOMEM, "prepare: targets");
    int64_t *indptr = NULL, *indices = NULL;
    if (!rc) {
      for (int64_t i = 0; i < n; i++)
        sp->user_ids[i] = P->L->user_ids[P->rows[s][i]];
      rc = build_truth(P, s, lo, hi, &indptr, &indices, err);
    }
    target_job_t job = {P, s, lo, sp->targets + (size_t)lo * d,
                        sp->has_target + lo};
    if (!rc) rc = cs_parallel_for(cs_ctx_threads(P->ctx), hi - lo,
                                  target_range, &job, err);
    if (!rc && P->is_mf && s != CS_SPLIT_TRAIN)
      rc = fold_in_split(P, s, lo, hi, job.targets, job.has_target, err);
    for (int64_t i = 0; i < hi - lo && !rc; i++) {
      counts[s] += !job.has_target[i];
      counts[CS_N_SPLITS + s] += indptr[i + 1] == indptr[i];
    }
    if ((rc = cs_dist_agree(dist, rc, err))) {
      free(indptr);
      free(indices);
      break;
    }
    if (multi) {
      rc = cs_dist_allgather_rows(dist, sp->targets, d * sizeof(float), off);
      if (!rc) rc = cs_dist_allgather_rows(dist, sp->has_target, 1, off);
      if (!rc) rc = gather_truth(P, sp, s, indptr, indices, off);
      free(indptr);
      free(indices);
    } else {
      memcpy(sp->truth_indptr, indptr, ((size_t)n + 1) * sizeof(int64_t));
      free(indptr);
      sp->truth_indices = indices; /* the whole split's */
    }
    if ((rc = cs_dist_agree(dist, rc, err))) break;
    if (!root) { /* only rank 0 writes the dataset */
      free(sp->truth_indptr);
      free(sp->truth_indices);
      sp->truth_indptr = NULL;
      sp->truth_indices = NULL;
    }
  }
  free(off);
  if (rc) return rc;
  cs_dist_sum_i64(dist, counts, 2 * CS_N_SPLITS);
  for (int s = 0; s < CS_N_SPLITS; s++) {
    rep->n_no_target[s] = counts[s];
    rep->n_no_truth[s] = counts[CS_N_SPLITS + s];
  }
  if (rep->n_no_target[CS_SPLIT_TRAIN] == rep->n_users[CS_SPLIT_TRAIN])
    return cs_err_set(err, CS_EINVAL,
                      "prepare: none of the %lld training users streams a "
                      "song on days 1-%d after registering (%lld events in "
                      "the logs): no target to learn from",
                      (long long)rep->n_users[CS_SPLIT_TRAIN], P->p->window,
                      (long long)P->L->n_events_total);
  return 0;
}

/* ------------------------------------------------------------ featurizer */

/* Built alike on every rank from the users file and the training targets
 * (every rank holds them). */
static int stage_featurizer(prep_t *P, cs_dataset_t *ds, cs_err_t *err) {
  const cs_logs_t *L = P->L;
  const cs_split_t *tr = &ds->splits[CS_SPLIT_TRAIN];
  int64_t n = 0;
  for (int64_t i = 0; i < tr->n_users; i++) n += tr->has_target[i];
  int32_t *ages = malloc((size_t)(n + 1) * sizeof(int32_t));
  const char **countries = malloc((size_t)(n + 1) * sizeof(char *));
  float *targets = malloc((size_t)(n + 1) * P->dim * sizeof(float));
  int rc = 0;
  if (!ages || !countries || !targets) {
    rc = cs_err_set(err, CS_ENOMEM, "prepare: featurizer");
  } else {
    int64_t k = 0;
    for (int64_t i = 0; i < tr->n_users; i++) {
      if (!tr->has_target[i]) continue;
      int64_t u = P->rows[CS_SPLIT_TRAIN][i];
      ages[k] = L->user_age[u];
      countries[k] = L->user_country[u];
      memcpy(targets + (size_t)k * P->dim, tr->targets + (size_t)i * P->dim,
             (size_t)P->dim * sizeof(float));
      k++;
    }
    cs_featurizer_input_t in = {
        .dim = P->dim,
        .n_songs = L->n_songs,
        .song_emb = P->song_emb,
        .song_artist = L->song_artist,
        .song_album = L->song_album,
        .n_playlist_entries = L->n_playlist_entries,
        .playlist_ids = L->playlist_ids,
        .playlist_song_rows = L->playlist_song_rows,
        .n_users = n,
        .user_age = ages,
        .user_country = countries,
        .user_target = targets};
    rc = cs_feature_tables_build(&ds->tables, &ds->mem, &in, err);
    ds->has_tables = rc == 0;
  }
  free(ages);
  free(countries);
  free(targets);
  return rc;
}

typedef struct {
  prep_t *P;
  cs_dataset_t *ds;
  const cs_featurizer_t *f; /* over the dataset's tables */
  int split;
  int64_t lo;               /* first position of features[0] */
  float *features;          /* [(hi - lo) x F] */
  cs_feat_stats_t *stats;   /* [n_threads] */
  int64_t *n_events;        /* [n_threads] */
} features_job_t;

/* Features of split users at positions lo + [begin, end): their
 * registration-day events (day == registration_day, file order) and
 * demographics through the featurizer. */
static int features_range(void *arg, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  features_job_t *J = arg;
  const prep_t *P = J->P;
  const cs_logs_t *L = P->L;
  int nf = J->ds->n_features, slot = tid, rc = 0;
  cs_event_t *evs = NULL;
  int64_t cap = 0;
  for (int64_t i = begin; i < end; i++) {
    int64_t u = P->rows[J->split][J->lo + i];
    int64_t m = 0, n_ev = P->reg_ptr[u + 1] - P->reg_ptr[u];
    if (n_ev > cap) {
      cs_event_t *nb = realloc(evs, (size_t)n_ev * sizeof *nb);
      if (!nb) {
        rc = cs_err_set(err, CS_ENOMEM, "prepare: %s features: %lld events",
                        cs_split_name(J->split), (long long)n_ev);
        break;
      }
      evs = nb;
      cap = n_ev;
    }
    for (int64_t k = P->reg_ptr[u]; k < P->reg_ptr[u + 1]; k++) {
      evs[m].action = P->reg_action[k];
      evs[m].kind = P->reg_kind[k];
      evs[m].item_id = P->reg_item[k];
      m++;
    }
    J->n_events[slot] += m;
    rc = cs_featurizer_user(J->f, L->user_age[u],
                            L->user_country[u], evs, m,
                            J->features + (size_t)i * nf, &J->stats[slot]);
    if (rc) {
      cs_err_set(err, rc, "prepare: %s features of user %lld",
                 cs_split_name(J->split), (long long)L->user_ids[u]);
      break;
    }
  }
  free(evs);
  return rc;
}

static void add_stats(cs_feat_stats_t *to, const cs_feat_stats_t *from) {
  to->n_events += from->n_events;
  to->n_unused_pairs += from->n_unused_pairs;
  to->n_missing_items += from->n_missing_items;
  to->n_bad_events += from->n_bad_events;
  for (int a = 0; a < CS_N_ACTIONS; a++)
    for (int k = 0; k < CS_N_KINDS; k++) to->unused[a][k] += from->unused[a][k];
  for (int k = 0; k < CS_N_KINDS; k++) to->missing[k] += from->missing[k];
}

/* Keep only the registration-day events of this rank's cohort users (what
 * the features need) and free the rest: every event and its index. */
static int keep_registration_day(prep_t *P, cs_err_t *err) {
  const cs_logs_t *L = P->L;
  const int64_t nu = L->n_users;
  int64_t n = 0;
  P->reg_ptr = calloc((size_t)nu + 1, sizeof *P->reg_ptr);
  if (!P->reg_ptr) return cs_err_set(err, CS_ENOMEM, "prepare: features");
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      P->reg_action = malloc((size_t)n + 1);
      P->reg_kind = malloc((size_t)n + 1);
      P->reg_item = malloc(((size_t)n + 1) * sizeof *P->reg_item);
      if (!P->reg_action || !P->reg_kind || !P->reg_item)
        return cs_err_set(err, CS_ENOMEM, "prepare: %lld registration-day "
                          "events", (long long)n);
    }
    n = 0;
    for (int64_t u = 0; u < nu; u++) {
      if (P->role[u] == ROLE_WARM) {
        P->reg_ptr[u + 1] = n;
        continue;
      }
      for (int64_t k = P->ev_ptr[u]; k < P->ev_ptr[u + 1]; k++) {
        int64_t e = P->ev_idx[k];
        if (P->ev_day[e] != L->user_reg_day[u]) continue;
        if (pass == 1) {
          P->reg_action[n] = P->ev_action[e];
          P->reg_kind[n] = P->ev_kind[e];
          P->reg_item[n] = P->ev_item[e];
        }
        n++;
      }
      P->reg_ptr[u + 1] = n;
    }
  }
  free(P->ev_idx);
  free(P->ev_ptr);
  P->ev_idx = P->ev_ptr = NULL;
  free(P->ev_block);
  P->ev_block = NULL;
  if (P->L_own) cs_logs_free_events(P->L_own);
  P->ev_user = P->ev_day = P->ev_song = NULL;
  P->ev_action = P->ev_kind = NULL;
  P->ev_item = NULL;
  return 0;
}

/* Each rank featurizes its users; rank 0 gathers them into the dataset
 * (its own rows are computed in place). */
static int stage_features(prep_t *P, cs_dataset_t *ds, cs_prepare_report_t *rep,
                          cs_err_t *err) {
  const cs_dist_t *dist = P->d;
  const int root = dist->rank == 0;
  int nf = ds->n_features;
  int nt = cs_ctx_threads(P->ctx);
  features_job_t J = {.P = P, .ds = ds};
  cs_featurizer_t *f = NULL;
  int64_t *off = malloc(((size_t)dist->size + 1) * sizeof *off);
  int rc = off ? keep_registration_day(P, err) : CS_ENOMEM;
  if (!rc)
    rc = cs_featurizer_create(&f, P->L->n_songs, P->L->song_ids, P->song_emb,
                              &ds->tables, err);
  J.f = f;
  J.stats = calloc((size_t)nt, sizeof *J.stats);
  J.n_events = calloc((size_t)nt, sizeof *J.n_events);
  if (!rc && (!J.stats || !J.n_events))
    rc = cs_err_set(err, CS_ENOMEM, "prepare: features");
  rc = cs_dist_agree(dist, rc, err);
  cs_feat_stats_t total;
  memset(&total, 0, sizeof total);
  int64_t n_reg_day = 0;
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    cs_split_t *sp = &ds->splits[s];
    int64_t lo = P->lo[s], hi = P->hi[s];
    float *mine = NULL;
    if (root) {
      sp->features = malloc((size_t)(sp->n_users + 1) * nf * sizeof(float));
      mine = sp->features ? sp->features + (size_t)lo * nf : NULL;
    } else {
      mine = malloc((size_t)(hi - lo + 1) * nf * sizeof(float));
    }
    if (!mine)
      rc = cs_err_set(err, CS_ENOMEM, "prepare: %s features (%lld x %d)",
                      cs_split_name(s), (long long)(root ? sp->n_users
                                                         : hi - lo), nf);
    memset(J.stats, 0, (size_t)nt * sizeof *J.stats);
    memset(J.n_events, 0, (size_t)nt * sizeof *J.n_events);
    J.split = s;
    J.lo = lo;
    J.features = mine;
    if (!rc) rc = cs_parallel_for(nt, hi - lo, features_range, &J, err);
    for (int t = 0; t < nt && !rc; t++) {
      add_stats(&total, &J.stats[t]);
      n_reg_day += J.n_events[t];
    }
    if (!(rc = cs_dist_agree(dist, rc, err))) {
      cs_dist_offsets(sp->n_users, 1, dist->size, off);
      rc = cs_dist_gather_rows_from(dist, mine, sp->features,
                                    (size_t)nf * sizeof(float), off, 0);
    }
    if (!root) free(mine);
    rc = cs_dist_agree(dist, rc, err);
  }
  if (!rc) {
    /* the counters of every rank's users (all int64) */
    cs_dist_sum_i64(dist, (int64_t *)&total, sizeof total / sizeof(int64_t));
    cs_dist_sum_i64(dist, &n_reg_day, 1);
    add_stats(&rep->feat, &total);
    rep->n_reg_day_events += n_reg_day;
  }
  free(off);
  free(J.stats);
  free(J.n_events);
  cs_featurizer_free(f);
  return rc;
}

/* ------------------------------------------------------------ driver */

static void prep_free(prep_t *P) {
  free(P->role);
  free(P->owner);
  free(P->ev_block);
  free(P->ev_ptr);
  free(P->ev_idx);
  for (int s = 0; s < CS_N_SPLITS; s++) free(P->rows[s]);
  free(P->cf_row);
  cs_csr_free(&P->cf);
  free(P->cf_ids);
  free(P->song_emb);
  free(P->user_f);
  free(P->user_f_row);
  free(P->gram);
  free(P->reg_ptr);
  free(P->reg_action);
  free(P->reg_kind);
  free(P->reg_item);
}

static int prepare_run(const cs_ctx_t *ctx, const cs_logs_t *logs,
                       cs_logs_t *consume, const cs_prepare_params_t *p,
                       cs_dataset_t *out, cs_prepare_report_t *rep_out,
                       cs_err_t *err) {
  memset(out, 0, sizeof *out);
  cs_prepare_report_t rep_local, *rep = rep_out ? rep_out : &rep_local;
  memset(rep, 0, sizeof *rep);
  int is_mf = strcmp(p->space, "mf") == 0;
  if (!is_mf && strcmp(p->space, "svd") != 0)
    return cs_err_set(err, CS_EINVAL, "prepare: space '%s' (svd or mf)",
                      p->space);
  if (p->split[0] < 0 || p->split[1] < 0 || p->split[2] < 0 ||
      p->split[0] + p->split[1] + p->split[2] != 100)
    return cs_err_set(err, CS_EINVAL, "prepare: split %d/%d/%d must sum to 100",
                      p->split[0], p->split[1], p->split[2]);
  int dim = p->dim > 0 ? p->dim : (is_mf ? 256 : 128);
  if (dim > 4096 || p->window < 1)
    return cs_err_set(err, CS_EINVAL, "prepare: dim %d / window %d", dim,
                      p->window);
  if (logs->n_songs <= 0 || logs->n_songs > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "prepare: %lld songs",
                      (long long)logs->n_songs);
  prep_t P;
  memset(&P, 0, sizeof P);
  P.ctx = ctx;
  P.d = cs_dist_of(ctx);
  P.L = logs;
  P.L_own = consume;
  P.p = p;
  P.dim = dim;
  P.is_mf = is_mf;

  cs_dataset_t *ds = out;
  snprintf(ds->space, sizeof ds->space, "%s", is_mf ? "mf" : "svd");
  snprintf(ds->source, sizeof ds->source, "prepare");
  ds->dim = dim;
  ds->n_features = cs_n_features(dim);
  ds->n_songs = logs->n_songs;

  int rc = 0;
  for (int stage = 0; stage < CS_PREP_N_STAGES && !rc; stage++) {
    double t0 = cs_now();
    switch (stage) {
      case CS_PREP_STAGE_COHORT: rc = stage_cohort(&P, rep, err); break;
      case CS_PREP_STAGE_CF_DATA: rc = stage_cf_data(&P, rep, err); break;
      case CS_PREP_STAGE_EMBED: rc = stage_embed(&P, rep, err); break;
      case CS_PREP_STAGE_TARGETS: rc = stage_targets(&P, ds, rep, err); break;
      case CS_PREP_STAGE_FEATURIZER: rc = stage_featurizer(&P, ds, err); break;
      case CS_PREP_STAGE_FEATURES: rc = stage_features(&P, ds, rep, err); break;
    }
    /* test hooks, then every rank agrees on the stage's status */
    rc = cs_dist_stage(ctx, stage_names[stage], rc, err);
    rep->seconds[stage] = cs_now() - t0;
    if (!rc && ctx) {
      cs_log(ctx, CS_LOG_INFO, "prepare: %-10s %.2fs", stage_names[stage],
             rep->seconds[stage]);
      if (stage == CS_PREP_STAGE_COHORT)
        cs_log(ctx, CS_LOG_INFO,
               "prepare: cohort from day %d: %lld users (train %lld, "
               "validation %lld, test %lld), %lld warm users",
               rep->cohort_from, (long long)rep->n_cohort_users,
               (long long)rep->n_users[0], (long long)rep->n_users[1],
               (long long)rep->n_users[2], (long long)rep->n_warm_users);
      if (stage == CS_PREP_STAGE_CF_DATA)
        cs_log(ctx, CS_LOG_INFO,
               "prepare: CF data: %lld users, %lld streams, %lld songs%s",
               (long long)rep->n_cf_users, (long long)rep->n_cf_streams,
               (long long)rep->n_cf_songs, is_mf ? "" : " (TT-SVD baskets)");
    }
  }
  if (!rc) {
    ds->song_ids = malloc((size_t)logs->n_songs * sizeof(int64_t));
    if (!ds->song_ids) rc = cs_err_set(err, CS_ENOMEM, "prepare");
    else memcpy(ds->song_ids, logs->song_ids,
                (size_t)logs->n_songs * sizeof(int64_t));
    ds->song_emb = P.song_emb;
    P.song_emb = NULL;
  }
  /* the arrays built above now belong to the dataset, failed or not */
  int rc_adopt = cs_dataset_adopt_arrays(ds, err);
  if (!rc) rc = rc_adopt;
  /* under several ranks only rank 0 holds the whole dataset */
  if (!rc && cs_dist_is_root(P.d)) rc = cs_dataset_validate(ds, err);
  rc = cs_dist_agree(P.d, rc, err);
  prep_free(&P);
  if (rc || !cs_dist_is_root(P.d)) cs_dataset_free(ds);
  return rc;
}

int cs_prepare_run(const cs_ctx_t *ctx, const cs_logs_t *logs,
                   const cs_prepare_params_t *p, cs_dataset_t *out,
                   cs_prepare_report_t *rep, cs_err_t *err) {
  return prepare_run(ctx, logs, NULL, p, out, rep, err);
}

int cs_prepare_run_consume(const cs_ctx_t *ctx, cs_logs_t *logs,
                           const cs_prepare_params_t *p, cs_dataset_t *out,
                           cs_prepare_report_t *rep, cs_err_t *err) {
  return prepare_run(ctx, logs, logs, p, out, rep, err);
}

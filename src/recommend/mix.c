/* mix.c: the mix and blend strategies (docs/method.md, "mix", "blend").
 *
 * Both place the user in the mix_m nearest segments with softmax weights
 * on squared distances times a power of the segment size, and score a song
 * by the mixture of the segments' p smoothed toward global popularity:
 *   seg(s) = (1 - prior) sum_j w_j p_j(s) + prior p_pop(s).
 * mix ranks seg(s) (sparse: the union of the m lists and the popularity
 * list are the only songs with a score). blend ranks
 *   log(seg(s) + CS_BLEND_FLOOR) + <v, e_s>,  v = beta pred + beta_d0 d0,
 * over every song: a product of the segment mixture with an exponential
 * of the embedding similarity. Its dot products come from one kernel that
 * computes each (user, song) pair as the same chain of fmaf over the
 * dimensions whatever the block of users it runs in, so one user alone
 * (cs_recommend) and a block of users (cs_recommend_batch) get the same
 * scores bit for bit, hence the same lists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/centroids.h"
#include "coldstart/mat.h"
#include "coldstart/topk.h"
#include "recommend/mix.h"

enum {
  SONG_TILE = 512 /* songs per tile: 512 x 128 floats = 256 KB */
};

struct cs__mix_ws {
  const cs_model_t *m;  /* the model pop and base were built from */
  int64_t n_songs;
  int dim, cap_items;
  double *acc;      /* [n_songs] sum_j w_j p_j(s); 0 between uses */
  uint32_t *mask;   /* [n_songs] memberships with w_j p_j(s) listed */
  int32_t *touched; /* [n_songs] songs with mask != 0 */
  float *pop;       /* [n_songs] p_pop(s), dense */
  uint32_t *stamp;  /* [n_songs] taken when == epoch */
  uint32_t epoch;
  float *base;      /* [n_songs] blend's term for a song in no list */
  double base_prior;
  int base_valid;
  float *row;       /* [n_songs] one user's blend scores */
  float *block;     /* [CS__BLEND_BLOCK x n_songs], allocated on first use */
  float *uv;        /* [2 x CS__BLEND_BLOCK x dim16] user vectors, then
                       the nonzero ones packed */
  float *heap_s;    /* [cap_items] */
  int64_t *heap_i;
  double w[CS__BLEND_BLOCK][CS_SOFT_M_MAX]; /* weights of a block's users */
  int32_t mc[CS_SOFT_M_MAX];                /* scratch memberships */
  float md[CS_SOFT_M_MAX], mw[CS_SOFT_M_MAX];
};

void cs__mix_ws_free(cs__mix_ws_t *x) {
  if (!x) return;
  free(x->acc);
  free(x->mask);
  free(x->touched);
  free(x->pop);
  free(x->stamp);
  free(x->base);
  free(x->row);
  free(x->block);
  free(x->uv);
  free(x->heap_s);
  free(x->heap_i);
  free(x);
}

/* Dense popularity of model m (and a stale log term). */
static void bind_model(cs__mix_ws_t *x, const cs_model_t *m) {
  const cs_segments_t *pop = &m->popularity.seg;
  memset(x->pop, 0, (size_t)x->n_songs * sizeof *x->pop);
  if (pop->k >= 1 && pop->indptr) /* a model without one: p_pop = 0 */
    for (int64_t i = pop->indptr[0]; i < pop->indptr[1]; i++)
      x->pop[pop->songs[i]] = pop->p[i];
  x->base_valid = 0;
  x->m = m;
}

int cs__mix_ws_create(cs__mix_ws_t **out, const cs_model_t *m, int cap_items) {
  *out = NULL;
  cs__mix_ws_t *x = calloc(1, sizeof *x);
  if (!x) return CS_ENOMEM;
  size_t ns = (size_t)m->n_songs;
  x->n_songs = m->n_songs;
  x->dim = m->dim;
  x->cap_items = cap_items;
  x->acc = calloc(ns, sizeof *x->acc);
  x->mask = calloc(ns, sizeof *x->mask);
  x->touched = malloc(ns * sizeof *x->touched);
  x->pop = malloc(ns * sizeof *x->pop);
  x->stamp = calloc(ns, sizeof *x->stamp);
  x->base = malloc(ns * sizeof *x->base);
  x->row = malloc(ns * sizeof *x->row);
  x->uv = cs_alloc_aligned(2 * (size_t)CS__BLEND_BLOCK *
                           (size_t)((m->dim + 15) & ~15) * sizeof(float));
  x->heap_s = malloc((size_t)cap_items * sizeof *x->heap_s);
  x->heap_i = malloc((size_t)cap_items * sizeof *x->heap_i);
  if (!x->acc || !x->mask || !x->touched || !x->pop || !x->stamp ||
      !x->base || !x->row || !x->uv || !x->heap_s || !x->heap_i) {
    cs__mix_ws_free(x);
    return CS_ENOMEM;
  }
  bind_model(x, m);
  *out = x;
  return 0;
}

int cs__mix_m(const cs_strategy_params_t *p, const cs_model_t *m) {
  int mm = p->mix_m > 0 ? p->mix_m : 32;
  if (mm > CS_SOFT_M_MAX) mm = CS_SOFT_M_MAX;
  return mm < m->target.k ? mm : m->target.k;
}

double cs__mix_tau(const cs_strategy_params_t *p) {
  return p->mix_tau > 0.0f ? (double)p->mix_tau : 0.1;
}

/* --- memberships and the segment score ---------------------------------- */

/* The mix_m nearest centroids and their weights w (double, sum 1):
 * w_j ~ n_users_j^size exp(-(d_j^2 - d_1^2) / tau); when every size
 * factor is 0 (empty segments), the exponentials alone. */
static int members(const cs_model_t *m, const cs_strategy_params_t *p,
                   const float *pred, int32_t *mc, float *md, float *mw,
                   double *w) {
  int mm = cs__mix_m(p, m);
  cs_centroids_nearest(m->target.centroids, m->target.k, m->dim, pred, mm,
                       mc, md);
  double tau = cs__mix_tau(p), size = (double)p->mix_size;
  double d1 = (double)md[0] * (double)md[0], sum = 0.0;
  for (int j = 0; j < mm; j++) {
    double dj = (double)md[j];
    w[j] = exp(-(dj * dj - d1) / tau);
    if (size != 0.0) w[j] *= pow((double)m->target.seg.n_users[mc[j]], size);
    sum += w[j];
  }
  if (!(sum > 0.0) || !isfinite(sum)) {
    sum = 0.0;
    for (int j = 0; j < mm; j++) {
      double dj = (double)md[j];
      w[j] = exp(-(dj * dj - d1) / tau);
      sum += w[j];
    }
  }
  for (int j = 0; j < mm; j++) {
    w[j] /= sum;
    mw[j] = (float)w[j];
  }
  return mm;
}

/* acc[s] = sum_j w_j p_j(s) and mask[s] = {j : w_j > 0, s listed in j}
 * over the lists of the memberships with w_j > 0, in order j = 1..m;
 * returns the number of songs touched (x->touched). */
static int64_t accumulate(const cs_segments_t *seg, const int32_t *mc,
                          const double *w, int mm, cs__mix_ws_t *x) {
  /* Each list in song-row order when the segments have it (sequential
   * access to acc); the sum of a song is over j = 1..m in order either
   * way, so the result is the same. */
  const int32_t *songs = seg->by_song ? seg->by_song : seg->songs;
  const float *pv = seg->by_song ? seg->by_song_p : seg->p;
  int64_t n_touched = 0;
  for (int j = 0; j < mm; j++) {
    if (!(w[j] > 0.0)) continue;
    int32_t c = mc[j];
    uint32_t bit = 1u << j;
    for (int64_t i = seg->indptr[c]; i < seg->indptr[c + 1]; i++) {
      int32_t s = songs[i];
      if (x->mask[s] == 0) x->touched[n_touched++] = s;
      x->acc[s] += w[j] * (double)pv[i];
      x->mask[s] |= bit;
    }
  }
  return n_touched;
}

static void reset(cs__mix_ws_t *x, int64_t n_touched) {
  for (int64_t t = 0; t < n_touched; t++) {
    x->acc[x->touched[t]] = 0.0;
    x->mask[x->touched[t]] = 0;
  }
}

/* The segment score, and blend's log term, of a song. */
static inline float seg_score(double prior, double acc, float pop) {
  return (float)((1.0 - prior) * acc + prior * (double)pop);
}
static inline float log_term(double prior, double acc, float pop) {
  return logf((float)((1.0 - prior) * acc + prior * (double)pop +
                      CS_BLEND_FLOOR));
}

static void ensure_model(cs__mix_ws_t *x, const cs_model_t *m) {
  if (x->m != m) bind_model(x, m);
}

/* --- mix ------------------------------------------------------------------ */

void cs__rec_mix(const cs_model_t *m, const cs_strategy_params_t *p,
                 const float *pred, cs__mix_ws_t *x, cs_rec_t *r) {
  ensure_model(x, m);
  const cs_segments_t *seg = &m->target.seg, *pop = &m->popularity.seg;
  double w[CS_SOFT_M_MAX];
  int mm = members(m, p, pred, r->member_cluster, r->member_dist,
                   r->member_weight, w);
  r->n_members = mm;
  int64_t n_touched = accumulate(seg, r->member_cluster, w, mm, x);
  double prior = (double)p->mix_prior;
  int k = p->k;
  cs_topk_heap_t h;
  cs_topk_heap_init(&h, x->heap_s, x->heap_i, k);
  for (int64_t t = 0; t < n_touched; t++) {
    int32_t s = x->touched[t];
    float sc = seg_score(prior, x->acc[s], x->pop[s]);
    if (sc > 0.0f) cs_topk_heap_push(&h, sc, s);
  }
  /* Songs in no list score prior p_pop(s): only the first k of them in
   * the popularity ranking (p desc, row asc: the heap's own order) can
   * enter. */
  if (prior > 0.0 && pop->k >= 1 && pop->indptr) {
    int offered = 0;
    for (int64_t i = pop->indptr[0]; i < pop->indptr[1] && offered < k; i++) {
      int32_t s = pop->songs[i];
      if (x->mask[s]) continue;
      float sc = seg_score(prior, 0.0, x->pop[s]);
      if (sc > 0.0f) {
        cs_topk_heap_push(&h, sc, s);
        offered++;
      }
    }
  }
  int n = (int)cs_topk_heap_sort(&h);
  if (++x->epoch == 0) {
    memset(x->stamp, 0, (size_t)x->n_songs * sizeof *x->stamp);
    x->epoch = 1;
  }
  uint32_t e = x->epoch;
  for (int i = 0; i < n; i++) {
    int32_t s = (int32_t)h.idx[i];
    r->songs[i] = s;
    r->scores[i] = h.scores[i];
    r->item_mask[i] = x->mask[s];
    x->stamp[s] = e;
  }
  /* Then songs with score 0, by ascending row. */
  for (int32_t s = 0; n < k && s < m->n_songs; s++) {
    if (x->stamp[s] == e) continue;
    x->stamp[s] = e;
    r->songs[n] = s;
    r->scores[n] = 0.0f;
    r->item_mask[n] = x->mask[s];
    n++;
  }
  r->n_items = n;
  reset(x, n_touched);
}

void cs__mix_dense(const cs_model_t *m, const cs_strategy_params_t *p,
                   const float *pred, cs__mix_ws_t *x, float *out) {
  ensure_model(x, m);
  double w[CS_SOFT_M_MAX];
  int mm = members(m, p, pred, x->mc, x->md, x->mw, w);
  int64_t n_touched = accumulate(&m->target.seg, x->mc, w, mm, x);
  double prior = (double)p->mix_prior;
  for (int64_t s = 0; s < m->n_songs; s++)
    out[s] = seg_score(prior, 0.0, x->pop[s]);
  for (int64_t t = 0; t < n_touched; t++) {
    int32_t s = x->touched[t];
    out[s] = seg_score(prior, x->acc[s], x->pop[s]);
  }
  reset(x, n_touched);
}

/* --- blend ---------------------------------------------------------------- */

/* The blend dot product <u, e> of two dim-vectors, one definition for
 * every path: 16 lane sums, lane l the chain acc = fma(u[d], e[d], acc)
 * over d = l, l + 16, l + 32, ... in order from acc = 0 (the last, partial
 * chunk padded with zeros), then the lanes added pairwise: l and l + 8,
 * then l and l + 4, l and l + 2, l and l + 1. fma rounds once and a
 * single float add does not depend on its operands' order, so the AVX-512
 * kernels and the plain fallback compute the same bits; a pair's value
 * does not depend on the users or songs computed beside it. User vectors
 * are stored zero-padded to dim16 = dim rounded up to 16. */
#if defined(__AVX512F__)
#include <immintrin.h>

static inline float lane_sum(__m512 a) {
  a = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(1, 0, 3, 2)));
  a = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(2, 3, 0, 1)));
  a = _mm512_add_ps(a, _mm512_permute_ps(a, _MM_SHUFFLE(1, 0, 3, 2)));
  a = _mm512_add_ps(a, _mm512_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(a);
}

/* rows[i][s] += <u_i, e_s> for NU users (u: [NU x dim16]) and songs
 * [s0, s1), four songs at a time. */
static inline __attribute__((always_inline)) void
dots_kernel(const int NU, const float *u, const float *emb, int dim,
            int64_t s0, int64_t s1, float *const *rows) {
  const int dim16 = (dim + 15) & ~15, full = dim / 16;
  const __mmask16 tail = (__mmask16)((1u << (dim % 16)) - 1u);
  int64_t s = s0;
  for (; s + 4 <= s1; s += 4) {
    const float *e = emb + (size_t)s * dim;
    __m512 acc[4][4];
    for (int i = 0; i < NU; i++)
      for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    for (int c = 0; c < dim16 / 16; c++) {
      __m512 ev[4];
      for (int j = 0; j < 4; j++) {
        ev[j] = c < full ? _mm512_loadu_ps(e + (size_t)j * dim + c * 16)
                         : _mm512_maskz_loadu_ps(tail, e + (size_t)j * dim + c * 16);
        /* keep the song chunk in a register: one load for NU users */
        __asm__("" : "+v"(ev[j]));
      }
      for (int i = 0; i < NU; i++) {
        __m512 uv = _mm512_load_ps(u + (size_t)i * dim16 + c * 16);
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(uv, ev[j], acc[i][j]);
      }
    }
    for (int i = 0; i < NU; i++)
      for (int j = 0; j < 4; j++) rows[i][s + j] += lane_sum(acc[i][j]);
  }
  for (; s < s1; s++) {
    const float *e = emb + (size_t)s * dim;
    for (int i = 0; i < NU; i++) {
      __m512 acc = _mm512_setzero_ps();
      for (int c = 0; c < dim16 / 16; c++) {
        __m512 ev = c < full ? _mm512_loadu_ps(e + c * 16)
                             : _mm512_maskz_loadu_ps(tail, e + c * 16);
        acc = _mm512_fmadd_ps(_mm512_load_ps(u + (size_t)i * dim16 + c * 16), ev,
                              acc);
      }
      rows[i][s] += lane_sum(acc);
    }
  }
}

static void dots_4(const float *u, const float *emb, int dim, int64_t s0,
                   int64_t s1, float *const *rows) {
  dots_kernel(4, u, emb, dim, s0, s1, rows);
}
static void dots_1(const float *u, const float *emb, int dim, int64_t s0,
                   int64_t s1, float *const *rows) {
  dots_kernel(1, u, emb, dim, s0, s1, rows);
}
#else
static float dot_ref(const float *u, const float *e, int dim) {
  float acc[16] = {0};
  int dim16 = (dim + 15) & ~15;
  for (int d = 0; d < dim16; d++)
    acc[d % 16] = fmaf(u[d], d < dim ? e[d] : 0.0f, acc[d % 16]);
  for (int k = 8; k >= 1; k /= 2)
    for (int l = 0; l < k; l++) acc[l] = acc[l] + acc[l + k];
  return acc[0];
}
static void dots_n(int nu, const float *u, const float *emb, int dim,
                   int64_t s0, int64_t s1, float *const *rows) {
  int dim16 = (dim + 15) & ~15;
  for (int64_t s = s0; s < s1; s++)
    for (int i = 0; i < nu; i++)
      rows[i][s] += dot_ref(u + (size_t)i * dim16, emb + (size_t)s * dim, dim);
}
static void dots_4(const float *u, const float *emb, int dim, int64_t s0,
                   int64_t s1, float *const *rows) {
  dots_n(4, u, emb, dim, s0, s1, rows);
}
static void dots_1(const float *u, const float *emb, int dim, int64_t s0,
                   int64_t s1, float *const *rows) {
  dots_n(1, u, emb, dim, s0, s1, rows);
}
#endif

/* The user vector beta pred + beta_d0 d0 (d0: the streamed_songs block,
 * none when features is NULL or the block is zero) into v[dim16],
 * zero-padded; returns 1 when it is not all zero. */
static int user_vector(const cs_model_t *m, const cs_strategy_params_t *p,
                       const float *features, const float *pred, float *v) {
  const float *d0 = features ? cs_d0_streams_vector(m, features) : NULL;
  double beta = (double)p->blend_beta, bd = (double)p->blend_d0;
  int nonzero = 0, dim16 = (m->dim + 15) & ~15;
  for (int i = 0; i < m->dim; i++) {
    v[i] = (float)(beta * (double)pred[i] + (d0 ? bd * (double)d0[i] : 0.0));
    nonzero |= v[i] != 0.0f;
  }
  for (int i = m->dim; i < dim16; i++) v[i] = 0.0f;
  return nonzero;
}

/* Add the dot products of the n users with a nonzero vector (x->uv, row
 * u) to their rows: song tile by song tile, four users at a time. */
static void add_dots(const cs_model_t *m, cs__mix_ws_t *x, float *const *rowp,
                     const int *nonzero, int n) {
  int dim16 = (m->dim + 15) & ~15, sel[CS__BLEND_BLOCK], n_sel = 0;
  for (int u = 0; u < n; u++)
    if (nonzero[u]) sel[n_sel++] = u;
  if (n_sel == 0) return;
  /* the selected users' vectors, packed in groups of four */
  float *packed = x->uv + (size_t)CS__BLEND_BLOCK * dim16;
  float *rows4[CS__BLEND_BLOCK];
  for (int i = 0; i < n_sel; i++) {
    memcpy(packed + (size_t)i * dim16, x->uv + (size_t)sel[i] * dim16,
           (size_t)dim16 * sizeof(float));
    rows4[i] = rowp[sel[i]];
  }
  for (int64_t s0 = 0; s0 < m->n_songs; s0 += SONG_TILE) {
    int64_t s1 = s0 + SONG_TILE < m->n_songs ? s0 + SONG_TILE : m->n_songs;
    int i = 0;
    for (; i + 4 <= n_sel; i += 4)
      dots_4(packed + (size_t)i * dim16, m->song_emb, m->dim, s0, s1, rows4 + i);
    for (; i < n_sel; i++)
      dots_1(packed + (size_t)i * dim16, m->song_emb, m->dim, s0, s1, rows4 + i);
  }
}

/* row[s] = log term of every song (memberships written to mc/md/mw, the
 * weights to w); returns the number of memberships. */
static int log_row(const cs_model_t *m, const cs_strategy_params_t *p,
                   const float *pred, cs__mix_ws_t *x, float *row,
                   int32_t *mc, float *md, float *mw, double *w) {
  int mm = members(m, p, pred, mc, md, mw, w);
  int64_t n_touched = accumulate(&m->target.seg, mc, w, mm, x);
  double prior = (double)p->mix_prior;
  if (!x->base_valid || x->base_prior != prior) {
    for (int64_t s = 0; s < m->n_songs; s++)
      x->base[s] = log_term(prior, 0.0, x->pop[s]);
    x->base_prior = prior;
    x->base_valid = 1;
  }
  memcpy(row, x->base, (size_t)m->n_songs * sizeof *row);
  for (int64_t t = 0; t < n_touched; t++) {
    int32_t s = x->touched[t];
    row[s] = log_term(prior, x->acc[s], x->pop[s]);
  }
  reset(x, n_touched);
  return mm;
}

/* Top k of a dense row (desc, ties to the lower song row; NaN last). */
static int top_row(const float *row, int64_t n_songs, int k, cs__mix_ws_t *x,
                   cs_topk_heap_t *h) {
  cs_topk_heap_init(h, x->heap_s, x->heap_i, k);
  for (int64_t s = 0; s < n_songs; s++) {
    /* songs arrive by ascending row: once full, only a strictly better
     * score (or anything better than a NaN root) can enter */
    if (h->n == h->k && !(row[s] > h->scores[0]) && !isnan(h->scores[0]))
      continue;
    cs_topk_heap_push(h, row[s], s);
  }
  return (int)cs_topk_heap_sort(h);
}

int cs__blend_block(const cs_model_t *m, const cs_strategy_params_t *p,
                    const float *const *features, const float *const *preds,
                    int n, cs__mix_ws_t *x, cs_rec_t *const *out) {
  ensure_model(x, m);
  size_t ns = (size_t)m->n_songs;
  float *rows = x->row;
  if (n > 1) {
    if (!x->block) {
      x->block = malloc((size_t)CS__BLEND_BLOCK * ns * sizeof *x->block);
      if (!x->block) return CS_ENOMEM;
    }
    rows = x->block;
  }
  float *rowp[CS__BLEND_BLOCK] = {0};
  int nonzero[CS__BLEND_BLOCK] = {0};
  int dim16 = (m->dim + 15) & ~15;
  for (int u = 0; u < n; u++) {
    cs_rec_t *r = out[u];
    rowp[u] = rows + (size_t)u * ns;
    r->n_members = log_row(m, p, preds[u], x, rowp[u], r->member_cluster,
                           r->member_dist, r->member_weight, x->w[u]);
    nonzero[u] = user_vector(m, p, features ? features[u] : NULL, preds[u],
                             x->uv + (size_t)u * dim16);
  }
  add_dots(m, x, rowp, nonzero, n);
  const cs_segments_t *seg = &m->target.seg;
  for (int u = 0; u < n; u++) {
    cs_rec_t *r = out[u];
    cs_topk_heap_t h;
    int n_items = top_row(rowp[u], m->n_songs, p->k, x, &h);
    for (int i = 0; i < n_items; i++) {
      int32_t s = (int32_t)h.idx[i];
      uint32_t mk = 0;
      for (int j = 0; j < r->n_members && !p->skip_scores; j++)
        if (x->w[u][j] > 0.0 && cs_segments_p(seg, r->member_cluster[j], s) > 0.0f)
          mk |= 1u << j;
      r->songs[i] = s;
      r->scores[i] = h.scores[i];
      r->item_mask[i] = mk;
    }
    r->n_items = n_items;
  }
  return 0;
}

void cs__blend_dense(const cs_model_t *m, const cs_strategy_params_t *p,
                     const float *features, const float *pred,
                     cs__mix_ws_t *x, float *out) {
  ensure_model(x, m);
  log_row(m, p, pred, x, out, x->mc, x->md, x->mw, x->w[0]);
  int nonzero = user_vector(m, p, features, pred, x->uv);
  add_dots(m, x, &out, &nonzero, 1);
}

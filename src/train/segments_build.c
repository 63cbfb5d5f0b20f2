/* segments_build.c: counting each segment's songs over its training users'
 * days-1-30 truth and ranking them (docs/method.md, "Segments"). */
#include <stdlib.h>
#include <string.h>

#include "coldstart/segments.h"
#include "coldstart/train.h"

typedef struct {
  int32_t song;
  int32_t count;
} entry_t;

/* count desc, then song row asc: the one ranking order. */
static int entry_cmp(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return (x->song > y->song) - (x->song < y->song);
}

static int song_cmp(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  return (x->song > y->song) - (x->song < y->song);
}

int cs_segments_build(int32_t k, const int32_t *assign, int64_t n_users,
                      const int64_t *truth_indptr,
                      const int64_t *truth_indices, int64_t n_songs,
                      cs_segments_t *out, cs_err_t *err) {
  memset(out, 0, sizeof *out);
  if (!assign) k = 1;
  if (k <= 0 || n_users < 0 || n_songs <= 0 || n_songs > INT32_MAX)
    return cs_err_set(err, CS_EINVAL,
                      "segments: bad sizes (k=%d, users=%lld, songs=%lld)",
                      (int)k, (long long)n_users, (long long)n_songs);
  int rc = CS_ENOMEM;
  /* Users grouped by segment (counting sort). */
  int64_t *seg_start = calloc((size_t)k + 1, sizeof *seg_start);
  int64_t *order = malloc(((size_t)n_users + 1) * sizeof *order);
  int32_t *dense = calloc((size_t)n_songs, sizeof *dense);
  int32_t *touched = malloc((size_t)n_songs * sizeof *touched);
  entry_t *ent = malloc((size_t)n_songs * sizeof *ent);
  out->k = k;
  out->n_songs = n_songs;
  out->indptr = cs_arena_alloc(&out->mem, ((size_t)k + 1) * sizeof *out->indptr);
  out->n_users = cs_arena_alloc(&out->mem, (size_t)k * sizeof *out->n_users);
  if (!seg_start || !order || !dense || !touched || !ent || !out->indptr ||
      !out->n_users)
    goto fail;
  for (int64_t u = 0; u < n_users; u++) {
    int32_t c = assign ? assign[u] : 0;
    if (c < -1 || c >= k) {
      rc = cs_err_set(err, CS_ERANGE, "segments: user %lld assigned to %d "
                      "(k=%d)", (long long)u, (int)c, (int)k);
      goto fail;
    }
    if (c >= 0) seg_start[c + 1]++;
  }
  for (int32_t c = 0; c < k; c++) seg_start[c + 1] += seg_start[c];
  {
    int64_t *fill = malloc(((size_t)k + 1) * sizeof *fill);
    if (!fill) goto fail;
    memcpy(fill, seg_start, ((size_t)k + 1) * sizeof *fill);
    for (int64_t u = 0; u < n_users; u++) {
      int32_t c = assign ? assign[u] : 0;
      if (c >= 0) order[fill[c]++] = u;
    }
    free(fill);
  }
  /* Upper bound on nnz: every (user, song) pair. */
  int64_t cap = 0;
  for (int64_t u = 0; u < n_users; u++)
    if (!assign || assign[u] >= 0)
      cap += truth_indptr[u + 1] - truth_indptr[u];
  out->songs = cs_arena_alloc(&out->mem, ((size_t)cap + 1) * sizeof *out->songs);
  out->p = cs_arena_alloc(&out->mem, ((size_t)cap + 1) * sizeof *out->p);
  out->counts = cs_arena_alloc(&out->mem, ((size_t)cap + 1) * sizeof *out->counts);
  out->by_song = cs_arena_alloc(&out->mem, ((size_t)cap + 1) * sizeof *out->by_song);
  out->by_song_p = cs_arena_alloc(&out->mem, ((size_t)cap + 1) * sizeof *out->by_song_p);
  if (!out->songs || !out->p || !out->counts || !out->by_song ||
      !out->by_song_p)
    goto fail;

  int64_t nnz = 0;
  for (int32_t c = 0; c < k; c++) {
    int64_t n_touched = 0, total = 0;
    for (int64_t i = seg_start[c]; i < seg_start[c + 1]; i++) {
      int64_t u = order[i];
      for (int64_t t = truth_indptr[u]; t < truth_indptr[u + 1]; t++) {
        int64_t s = truth_indices[t];
        if (s < 0 || s >= n_songs) {
          rc = cs_err_set(err, CS_ERANGE, "segments: user %lld has song row "
                          "%lld outside [0, %lld)", (long long)u,
                          (long long)s, (long long)n_songs);
          goto fail;
        }
        if (dense[s]++ == 0) touched[n_touched++] = (int32_t)s;
        total++;
      }
    }
    out->n_users[c] = seg_start[c + 1] - seg_start[c];
    for (int64_t i = 0; i < n_touched; i++) {
      ent[i].song = touched[i];
      ent[i].count = dense[touched[i]];
      dense[touched[i]] = 0;
    }
    qsort(ent, (size_t)n_touched, sizeof *ent, entry_cmp);
    for (int64_t i = 0; i < n_touched; i++) {
      out->songs[nnz] = ent[i].song;
      out->counts[nnz] = ent[i].count;
      out->p[nnz] = (float)((double)ent[i].count / (double)total);
      nnz++;
    }
    out->indptr[c + 1] = nnz;
    /* by-song order: the touched songs sorted by row */
    for (int64_t i = 0; i < n_touched; i++) {
      ent[i].song = out->songs[out->indptr[c] + i];
      ent[i].count = (int32_t)i; /* position in the ranking */
    }
    qsort(ent, (size_t)n_touched, sizeof *ent, song_cmp);
    for (int64_t i = 0; i < n_touched; i++) {
      out->by_song[out->indptr[c] + i] = ent[i].song;
      out->by_song_p[out->indptr[c] + i] = out->p[out->indptr[c] + ent[i].count];
    }
  }
  rc = 0;
fail:
  free(seg_start);
  free(order);
  free(dense);
  free(touched);
  free(ent);
  if (rc) {
    if (rc == CS_ENOMEM) cs_err_set(err, CS_ENOMEM, "segments: out of memory");
    cs_segments_free(out);
  }
  return rc;
}


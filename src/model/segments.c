/* segments.c: per-segment song counts and rankings (DESIGN.md 1.4), stored
 * sparse and exact (see segments.h), with save/load into a container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/segments.h"

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

void cs_segments_free(cs_segments_t *s) {
  if (!s) return;
  if (s->owned) {
    free(s->indptr);
    free(s->songs);
    free(s->p);
    free(s->counts);
    free(s->n_users);
    free(s->by_song);
    free(s->by_song_p);
  }
  memset(s, 0, sizeof *s);
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
  out->owned = 1;
  out->k = k;
  out->n_songs = n_songs;
  out->indptr = calloc((size_t)k + 1, sizeof *out->indptr);
  out->n_users = calloc((size_t)k, sizeof *out->n_users);
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
  out->songs = malloc(((size_t)cap + 1) * sizeof *out->songs);
  out->p = malloc(((size_t)cap + 1) * sizeof *out->p);
  out->counts = malloc(((size_t)cap + 1) * sizeof *out->counts);
  out->by_song = malloc(((size_t)cap + 1) * sizeof *out->by_song);
  out->by_song_p = malloc(((size_t)cap + 1) * sizeof *out->by_song_p);
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

float cs_segments_p(const cs_segments_t *s, int32_t c, int32_t song) {
  if (!s->by_song) {
    for (int64_t i = s->indptr[c]; i < s->indptr[c + 1]; i++)
      if (s->songs[i] == song) return s->p[i];
    return 0.0f;
  }
  int64_t lo = s->indptr[c], hi = s->indptr[c + 1];
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (s->by_song[mid] < song)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->indptr[c + 1] && s->by_song[lo] == song ? s->by_song_p[lo]
                                                         : 0.0f;
}

int64_t cs_segments_take(const cs_segments_t *s, int32_t c, int64_t n,
                         uint32_t *stamp, uint32_t epoch, int32_t *out_songs,
                         float *out_p) {
  int64_t n_out = 0;
  for (int64_t i = s->indptr[c]; i < s->indptr[c + 1] && n_out < n; i++) {
    int32_t song = s->songs[i];
    if (stamp) {
      if (stamp[song] == epoch) continue;
      stamp[song] = epoch;
    }
    out_songs[n_out] = song;
    if (out_p) out_p[n_out] = s->p[i];
    n_out++;
  }
  if (n_out >= n) return n_out;
  /* The zero-p tail: songs not in the list, by ascending row. A list
   * membership test is needed only for songs in the list; mark them with a
   * linear scan when no stamp is given (rare: tiny segments). */
  int64_t len = cs_segments_len(s, c);
  const int32_t *list = s->songs + s->indptr[c];
  for (int32_t song = 0; song < s->n_songs && n_out < n; song++) {
    if (stamp) {
      if (stamp[song] == epoch) continue;
    } else {
      int in_list = 0;
      for (int64_t i = 0; i < len && !in_list; i++) in_list = list[i] == song;
      if (in_list) continue;
    }
    if (stamp) stamp[song] = epoch;
    out_songs[n_out] = song;
    if (out_p) out_p[n_out] = 0.0f;
    n_out++;
  }
  return n_out;
}

/* --- container I/O ------------------------------------------------------ */

typedef struct {
  int64_t k, n_songs, nnz, reserved;
} seg_meta_t;

static void sec_name(char *buf, size_t cap, const char *prefix,
                     const char *name) {
  snprintf(buf, cap, "%s%s", prefix, name);
}

int cs_segments_save(const cs_segments_t *s, cs_container_writer_t *w,
                     const char *prefix, cs_err_t *err) {
  char name[CS_CONTAINER_NAME_MAX];
  seg_meta_t meta = {s->k, s->n_songs, s->indptr[s->k], 0};
  size_t nnz = (size_t)meta.nnz;
  int rc;
  sec_name(name, sizeof name, prefix, "meta");
  if ((rc = cs_container_add_copy(w, name, &meta, sizeof meta, err))) return rc;
  sec_name(name, sizeof name, prefix, "indptr");
  if ((rc = cs_container_add(w, name, s->indptr,
                             ((size_t)s->k + 1) * sizeof(int64_t), err)))
    return rc;
  sec_name(name, sizeof name, prefix, "n_users");
  if ((rc = cs_container_add(w, name, s->n_users,
                             (size_t)s->k * sizeof(int64_t), err)))
    return rc;
  sec_name(name, sizeof name, prefix, "songs");
  if ((rc = cs_container_add(w, name, s->songs, nnz * sizeof(int32_t), err)))
    return rc;
  sec_name(name, sizeof name, prefix, "p");
  if ((rc = cs_container_add(w, name, s->p, nnz * sizeof(float), err)))
    return rc;
  sec_name(name, sizeof name, prefix, "counts");
  if ((rc = cs_container_add(w, name, s->counts, nnz * sizeof(int32_t), err)))
    return rc;
  if (!s->by_song) return 0;
  sec_name(name, sizeof name, prefix, "by_song");
  if ((rc = cs_container_add(w, name, s->by_song, nnz * sizeof(int32_t), err)))
    return rc;
  sec_name(name, sizeof name, prefix, "by_song_p");
  return cs_container_add(w, name, s->by_song_p, nnz * sizeof(float), err);
}

int cs_segments_load(cs_segments_t *s, const cs_container_t *c,
                     const char *prefix, int64_t n_songs, cs_err_t *err) {
  char name[CS_CONTAINER_NAME_MAX];
  const void *data;
  size_t size;
  int rc;
  memset(s, 0, sizeof *s);
  sec_name(name, sizeof name, prefix, "meta");
  if ((rc = cs_container_require(c, name, sizeof(seg_meta_t), &data, &size,
                                 err)))
    return rc;
  seg_meta_t meta;
  memcpy(&meta, data, sizeof meta);
  if (meta.k <= 0 || meta.k > INT32_MAX || meta.n_songs != n_songs ||
      meta.nnz < 0 || meta.nnz > (int64_t)1 << 40)
    return cs_err_set(err, CS_EFORMAT,
                      "%s: section %s: bad segment header (k=%lld, "
                      "songs=%lld, expected songs=%lld, nnz=%lld)",
                      c->path, name, (long long)meta.k,
                      (long long)meta.n_songs, (long long)n_songs,
                      (long long)meta.nnz);
  size_t nnz = (size_t)meta.nnz;
  struct {
    const char *n;
    size_t size;
    void **dst;
  } secs[] = {
      {"indptr", ((size_t)meta.k + 1) * 8, (void **)&s->indptr},
      {"n_users", (size_t)meta.k * 8, (void **)&s->n_users},
      {"songs", nnz * 4, (void **)&s->songs},
      {"p", nnz * 4, (void **)&s->p},
      {"counts", nnz * 4, (void **)&s->counts},
  };
  for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
    sec_name(name, sizeof name, prefix, secs[i].n);
    if ((rc = cs_container_require(c, name, secs[i].size, &data, &size, err)))
      return rc;
    *secs[i].dst = (void *)data;
  }
  s->k = (int32_t)meta.k;
  s->n_songs = n_songs;
  s->owned = 0;
  /* Optional by-song order (absent in older files). */
  sec_name(name, sizeof name, prefix, "by_song");
  if (cs_container_get(c, name, &size)) {
    if ((rc = cs_container_require(c, name, nnz * 4, &data, &size, err)))
      return rc;
    s->by_song = (int32_t *)data;
    sec_name(name, sizeof name, prefix, "by_song_p");
    if ((rc = cs_container_require(c, name, nnz * 4, &data, &size, err)))
      return rc;
    s->by_song_p = (float *)data;
  }
  /* Validate: monotone indptr, songs in range, ranking order. */
  if (s->indptr[0] != 0 || s->indptr[s->k] != meta.nnz)
    goto bad;
  for (int32_t g = 0; g < s->k; g++)
    if (s->indptr[g + 1] < s->indptr[g]) goto bad;
  for (int32_t g = 0; g < s->k; g++) {
    for (int64_t i = s->indptr[g]; i < s->indptr[g + 1]; i++) {
      if (s->songs[i] < 0 || s->songs[i] >= n_songs || s->counts[i] <= 0)
        goto bad;
      if (i > s->indptr[g] &&
          (s->counts[i] > s->counts[i - 1] ||
           (s->counts[i] == s->counts[i - 1] &&
            s->songs[i] <= s->songs[i - 1])))
        goto bad;
    }
  }
  if (s->by_song)
    for (int32_t g = 0; g < s->k; g++)
      for (int64_t i = s->indptr[g]; i < s->indptr[g + 1]; i++)
        if (s->by_song[i] < 0 || s->by_song[i] >= n_songs ||
            (i > s->indptr[g] && s->by_song[i] <= s->by_song[i - 1]) ||
            !(s->by_song_p[i] > 0.0f))
          goto bad;
  return 0;
bad:
  memset(s, 0, sizeof *s);
  return cs_err_set(err, CS_EFORMAT, "%s: segments '%s': inconsistent "
                    "ranking table", c->path, prefix);
}

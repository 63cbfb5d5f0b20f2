/* segments.c: per-segment song rankings (docs/method.md, "Segments"),
 * stored sparse and exact (see segments.h): lookups, the ranking walk, and
 * save/load into a container. Building them is training
 * (src/train/segments_build.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/segments.h"

void cs_segments_free(cs_segments_t *s) {
  if (!s) return;
  cs_arena_free(&s->mem);
  cs_container_unref(s->file);
  memset(s, 0, sizeof *s);
}

int cs_segments_index(cs_segments_t *s) {
  if (!s->by_song) return CS_ESTATE;
  int64_t n_words = (s->n_songs + 63) / 64;
  /* a crafted k x n_songs can ask for tens of GB with a few lists: beyond
   * 64 MB or 16x the lists' own bytes, look songs up by binary search */
  double bytes = (double)s->k * (double)n_words * sizeof(struct cs_segments_word);
  double lists = (double)s->indptr[s->k] * 20.0;
  if (bytes > 64e6 && bytes > 16.0 * lists) return 0;
  struct cs_segments_word *index =
      cs_arena_alloc(&s->mem, (size_t)s->k * (size_t)n_words * sizeof *index);
  if (!index) return CS_ENOMEM;
  for (int32_t c = 0; c < s->k; c++) {
    struct cs_segments_word *row = index + (size_t)c * n_words;
    for (int64_t i = s->indptr[c]; i < s->indptr[c + 1]; i++) {
      int32_t song = s->by_song[i];
      row[song >> 6].bits |= (uint64_t)1 << (song & 63);
    }
    uint64_t before = 0;
    for (int64_t w = 0; w < n_words; w++) {
      row[w].rank = before;
      before += (uint64_t)__builtin_popcountll(row[w].bits);
    }
  }
  s->index = index;
  s->n_words = n_words;
  return 0;
}

float cs_segments_p(const cs_segments_t *s, int32_t c, int32_t song) {
  if (s->index) {
    const struct cs_segments_word *wd =
        &s->index[(size_t)c * s->n_words + (size_t)(song >> 6)];
    uint64_t bit = (uint64_t)1 << (song & 63);
    if (!(wd->bits & bit)) return 0.0f;
    int64_t pos = (int64_t)wd->rank + __builtin_popcountll(wd->bits & (bit - 1));
    return s->by_song_p[s->indptr[c] + pos];
  }
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

void cs_segments_p_many(const cs_segments_t *s, const int32_t *c,
                        const int32_t *song, int64_t n, int64_t *pos, float *out) {
  if (!s->index) {
    for (int64_t i = 0; i < n; i++) out[i] = cs_segments_p(s, c[i], song[i]);
    return;
  }
  for (int64_t i = 0; i < n; i++)
    __builtin_prefetch(&s->index[(size_t)c[i] * s->n_words + (size_t)(song[i] >> 6)]);
  for (int64_t i = 0; i < n; i++) {
    const struct cs_segments_word *wd =
        &s->index[(size_t)c[i] * s->n_words + (size_t)(song[i] >> 6)];
    uint64_t bit = (uint64_t)1 << (song[i] & 63);
    pos[i] = -1;
    if (wd->bits & bit) {
      pos[i] = s->indptr[c[i]] + (int64_t)wd->rank +
               __builtin_popcountll(wd->bits & (bit - 1));
      __builtin_prefetch(&s->by_song_p[pos[i]]);
    }
  }
  for (int64_t i = 0; i < n; i++) out[i] = pos[i] < 0 ? 0.0f : s->by_song_p[pos[i]];
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

int cs_segments_load(cs_segments_t *s, cs_container_t *c,
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
  /* Validate: monotone indptr, songs in range, ranking order (counts and
   * p non-increasing: soft's fill stops early on that), user counts; the
   * by-song order holds each list's songs with the same p. */
  if (s->indptr[0] != 0 || s->indptr[s->k] != meta.nnz)
    goto bad;
  for (int32_t g = 0; g < s->k; g++)
    if (s->indptr[g + 1] < s->indptr[g] || s->n_users[g] < 0) goto bad;
  for (int32_t g = 0; g < s->k; g++) {
    for (int64_t i = s->indptr[g]; i < s->indptr[g + 1]; i++) {
      if (s->songs[i] < 0 || s->songs[i] >= n_songs || s->counts[i] <= 0 ||
          !(s->p[i] > 0.0f) || !isfinite(s->p[i]))
        goto bad;
      if (i > s->indptr[g] &&
          (s->counts[i] > s->counts[i - 1] || s->p[i] > s->p[i - 1] ||
           (s->counts[i] == s->counts[i - 1] &&
            s->songs[i] <= s->songs[i - 1])))
        goto bad;
    }
  }
  if (s->by_song) {
    float *p_of = calloc((size_t)(n_songs > 0 ? n_songs : 1), sizeof *p_of);
    if (!p_of) {
      memset(s, 0, sizeof *s);
      return cs_err_set(err, CS_ENOMEM, "%s: out of memory", c->path);
    }
    int ok = 1;
    for (int32_t g = 0; g < s->k && ok; g++) {
      for (int64_t i = s->indptr[g]; i < s->indptr[g + 1]; i++) p_of[s->songs[i]] = s->p[i];
      for (int64_t i = s->indptr[g]; i < s->indptr[g + 1] && ok; i++)
        ok = s->by_song[i] >= 0 && s->by_song[i] < n_songs &&
             (i == s->indptr[g] || s->by_song[i] > s->by_song[i - 1]) &&
             s->by_song_p[i] > 0.0f && s->by_song_p[i] == p_of[s->by_song[i]];
      for (int64_t i = s->indptr[g]; i < s->indptr[g + 1]; i++) p_of[s->songs[i]] = 0.0f;
    }
    free(p_of);
    if (!ok) goto bad;
  }
  s->file = cs_container_ref(c);
  return 0;
bad:
  memset(s, 0, sizeof *s);
  return cs_err_set(err, CS_EFORMAT, "%s: segments '%s': inconsistent "
                    "ranking table", c->path, prefix);
}

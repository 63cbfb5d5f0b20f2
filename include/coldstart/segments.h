/* segments.h: per-segment song rankings (docs/method.md, "Segments"). For
 * each segment c
 * (a k-means cluster, an input cluster, or "everyone" for popularity) and
 * song s: n_c(s) = number of c's training users having s among their
 * days-1-30 songs, p_c(s) = n_c(s) / sum_s n_c(s).
 *
 * Storage is sparse and EXACT: each segment keeps every song with
 * n_c(s) > 0, sorted by p desc then song row asc (the ranking). The total
 * size is bounded by the number of (training user, song) pairs in the
 * days-1-30 truth (e.g. ~3.5M entries = 40 MB at deezer scale), far below a
 * dense k x n_songs matrix (1000 x 50k floats = 200 MB). Songs not stored
 * have p_c(s) = 0 and rank after every stored song, by ascending row index.
 * Because nothing is truncated, the soft fill score sum_j w_j p_j(s)
 * computed over the union of the m clusters' lists is exact for every song
 * (songs outside the union score exactly 0). */
#ifndef COLDSTART_SEGMENTS_H
#define COLDSTART_SEGMENTS_H

#include <stdint.h>
#include "coldstart/arena.h"
#include "coldstart/container.h"
#include "coldstart/error.h"

typedef struct cs_segments {
  int32_t k;          /* number of segments */
  int64_t n_songs;    /* song table size (valid rows 0..n_songs-1) */
  int64_t *indptr;    /* [k+1] CSR row pointers into songs/p/counts */
  int32_t *songs;     /* [nnz] song rows, ranked within each segment */
  float *p;           /* [nnz] p_c(s) */
  int32_t *counts;    /* [nnz] n_c(s) */
  int64_t *n_users;   /* [k] users counted in each segment */
  /* The same entries ordered by song row within each segment, for p_c(s)
   * lookups by binary search (cs_segments_p); NULL in files written
   * before they existed (lookups then scan the ranking). */
  int32_t *by_song;   /* [nnz] */
  float *by_song_p;   /* [nnz] */
  /* Optional O(1) lookup index over the by-song order (built at load or
   * after training by cs_segments_index; NULL until then): per segment and
   * 64-song word, a bit per song set when the song is listed and the number
   * of the segment's listed songs before the word, side by side (one cache
   * line), so the position in by_song_p is rank + popcount. [k x n_words]. */
  struct cs_segments_word { uint64_t bits; uint64_t rank; } *index;
  int64_t n_words;
  /* Ownership (arena.h): the arrays are in `mem` (built by training,
   * cs_segments_build in train.h) or in the map of `file` (loaded). */
  cs_arena_t mem;
  cs_container_t *file;
} cs_segments_t;

static inline int64_t cs_segments_len(const cs_segments_t *s, int32_t c) {
  return s->indptr[c + 1] - s->indptr[c];
}

void cs_segments_free(cs_segments_t *s);

/* p_c(s): through the lookup index when built (O(1)), else a binary search
 * in the by-song order (O(log length)), or a scan of the ranking when that
 * order is absent; 0 when s is not in the list. */
float cs_segments_p(const cs_segments_t *s, int32_t c, int32_t song);
/* out[i] = cs_segments_p(s, c[i], song[i]) for n pairs, the same values,
 * with the reads of all pairs in flight together: every index word is
 * prefetched, then every p entry they point to, then both are read (a
 * lookup is two dependent cache misses at scale; one by one they would
 * queue). pos: scratch, [n]. Without the index, one cs_segments_p a pair. */
void cs_segments_p_many(const cs_segments_t *s, const int32_t *c,
                        const int32_t *song, int64_t n, int64_t *pos, float *out);
/* Build the lookup index (in s->mem; k x ceil(n_songs / 64) x 16 bytes).
 * Needs the by-song order; returns 0, CS_ESTATE without it, or
 * CS_ENOMEM. */
int cs_segments_index(cs_segments_t *s);

/* The first `n` songs of segment c's full ranking over ALL songs: the stored
 * list, then songs with p = 0 by ascending row index. Songs with
 * stamp[song] == epoch are skipped (stamp may be NULL); taken songs get
 * stamp[song] = epoch when stamp is non-NULL. Writes songs and p values;
 * returns the number written (min(n, eligible songs)). */
int64_t cs_segments_take(const cs_segments_t *s, int32_t c, int64_t n,
                         uint32_t *stamp, uint32_t epoch, int32_t *out_songs,
                         float *out_p);

/* Store / restore under section names starting with `prefix`; loading
 * validates sizes, ranges and ordering, and points into the container map
 * (taking a reference to it). */
int cs_segments_save(const cs_segments_t *s, cs_container_writer_t *w,
                     const char *prefix, cs_err_t *err);
int cs_segments_load(cs_segments_t *s, cs_container_t *c,
                     const char *prefix, int64_t n_songs, cs_err_t *err);

#endif

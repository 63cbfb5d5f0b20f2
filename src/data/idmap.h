/* idmap.h: internal open-addressing hash map from 64-bit ids to int32 rows,
 * shared by the log reader, the featurizer and prepare. */
#ifndef COLDSTART_DATA_IDMAP_H
#define COLDSTART_DATA_IDMAP_H

#include <stdint.h>

typedef struct cs__idmap {
  int64_t *keys;  /* [mask + 1], owned */
  int32_t *vals;  /* [mask + 1], -1 = empty slot, owned */
  uint64_t mask;  /* capacity - 1 (power of two) */
  int64_t n;      /* entries */
} cs__idmap_t;

/* Room for about `n_hint` entries without rehashing. 0 or CS_ENOMEM. */
int cs__idmap_init(cs__idmap_t *m, int64_t n_hint);
void cs__idmap_free(cs__idmap_t *m);
/* Insert key -> val (val >= 0) unless present. Returns the value now
 * stored for key (the old one when it existed), or CS_ENOMEM. */
int64_t cs__idmap_put(cs__idmap_t *m, int64_t key, int32_t val);

static inline uint64_t cs__idmap_hash(int64_t key) {
  uint64_t z = (uint64_t)key + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Row of key, or -1. */
static inline int32_t cs__idmap_get(const cs__idmap_t *m, int64_t key) {
  if (!m->vals) return -1;
  uint64_t i = cs__idmap_hash(key) & m->mask;
  for (;;) {
    int32_t v = m->vals[i];
    if (v < 0) return -1;
    if (m->keys[i] == key) return v;
    i = (i + 1) & m->mask;
  }
}

#endif

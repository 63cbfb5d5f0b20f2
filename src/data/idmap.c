/* idmap.c: the id -> row hash map (linear probing, load factor <= 1/2). */
#include "data/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "coldstart/error.h"

static int alloc_table(cs__idmap_t *m, uint64_t cap) {
  m->keys = malloc(cap * sizeof *m->keys);
  m->vals = malloc(cap * sizeof *m->vals);
  if (!m->keys || !m->vals) {
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    return CS_ENOMEM;
  }
  memset(m->vals, 0xff, cap * sizeof *m->vals);
  m->mask = cap - 1;
  return 0;
}

int cs__idmap_init(cs__idmap_t *m, int64_t n_hint) {
  memset(m, 0, sizeof *m);
  uint64_t cap = 16;
  while (cap < (uint64_t)(n_hint > 0 ? n_hint : 0) * 2) cap <<= 1;
  return alloc_table(m, cap);
}

void cs__idmap_free(cs__idmap_t *m) {
  if (!m) return;
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

static void insert_fresh(cs__idmap_t *m, int64_t key, int32_t val) {
  uint64_t i = cs__idmap_hash(key) & m->mask;
  while (m->vals[i] >= 0) i = (i + 1) & m->mask;
  m->keys[i] = key;
  m->vals[i] = val;
}

static int grow(cs__idmap_t *m) {
  cs__idmap_t old = *m;
  if (alloc_table(m, (old.mask + 1) * 2)) {
    *m = old;
    return CS_ENOMEM;
  }
  for (uint64_t i = 0; i <= old.mask; i++)
    if (old.vals[i] >= 0) insert_fresh(m, old.keys[i], old.vals[i]);
  free(old.keys);
  free(old.vals);
  return 0;
}

int64_t cs__idmap_put(cs__idmap_t *m, int64_t key, int32_t val) {
  if (!m->vals && alloc_table(m, 16)) return CS_ENOMEM;
  int32_t have = cs__idmap_get(m, key);
  if (have >= 0) return have;
  if ((uint64_t)(m->n + 1) * 2 > m->mask + 1 && grow(m)) return CS_ENOMEM;
  insert_fresh(m, key, val);
  m->n++;
  return val;
}

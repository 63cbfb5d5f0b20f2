/* arena.c: a list of heap blocks owned together (see arena.h). */
#include "coldstart/arena.h"

#include <stdlib.h>
#include <string.h>

#include "coldstart/mat.h"

static int record(cs_arena_t *a, void *block) {
  if (a->n_blocks == a->cap_blocks) {
    size_t cap = a->cap_blocks ? 2 * a->cap_blocks : 16;
    void **b = realloc(a->blocks, cap * sizeof *b);
    if (!b) return -1;
    a->blocks = b;
    a->cap_blocks = cap;
  }
  a->blocks[a->n_blocks++] = block;
  return 0;
}

void *cs_arena_alloc(cs_arena_t *a, size_t size) {
  void *p = cs_alloc_aligned(size ? size : 64);
  if (!p) return NULL;
  if (record(a, p)) {
    free(p);
    return NULL;
  }
  return p;
}

void *cs_arena_dup(cs_arena_t *a, const void *src, size_t size) {
  void *p = cs_arena_alloc(a, size);
  if (p && size) memcpy(p, src, size);
  return p;
}

int cs_arena_adopt(cs_arena_t *a, void *block) {
  if (!block) return 0;
  if (record(a, block)) {
    free(block);
    return -1;
  }
  return 0;
}

void cs_arena_free(cs_arena_t *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n_blocks; i++) free(a->blocks[i]);
  free(a->blocks);
  memset(a, 0, sizeof *a);
}

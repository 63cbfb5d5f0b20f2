/* arena.h: the one way an object owns heap memory. Every array an object
 * points at lives either in its arena (blocks freed together by
 * cs_arena_free) or in a file map it holds a counted reference to
 * (cs_container_ref, container.h). No object frees arrays one by one and
 * no object carries an "owned" flag: see docs/architecture.md, "Ownership". */
#ifndef COLDSTART_ARENA_H
#define COLDSTART_ARENA_H

#include <stddef.h>

typedef struct cs_arena {
  void **blocks; /* owned */
  size_t n_blocks, cap_blocks;
} cs_arena_t;

/* A zero-initialized arena ({0}) is valid and empty. */

/* A zeroed, 64-byte aligned block of `size` bytes (size 0 gives a valid
 * 64-byte block), owned by the arena. NULL when out of memory. */
void *cs_arena_alloc(cs_arena_t *a, size_t size);
/* cs_arena_alloc + memcpy of `size` bytes from `src`. */
void *cs_arena_dup(cs_arena_t *a, const void *src, size_t size);
/* Take ownership of a block from malloc/realloc/cs_alloc_aligned (NULL is
 * accepted and ignored). On failure to record it, the block is freed and
 * -1 returned (the caller reports CS_ENOMEM); 0 otherwise. */
int cs_arena_adopt(cs_arena_t *a, void *block);
/* Free every block; the arena is empty again. NULL is fine. */
void cs_arena_free(cs_arena_t *a);

#endif

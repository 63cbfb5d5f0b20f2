/* bench_io.h: reading the raw float32 files the benchmark scripts write for
 * the C bench programs (header-only: each bench program is one file). */
#ifndef COLDSTART_BENCH_IO_H
#define COLDSTART_BENCH_IO_H

#include <stdio.h>
#include <stdlib.h>

#include "coldstart/mat.h"

/* `count` floats from `path` into a 64-byte-aligned buffer (free()), or
 * NULL after a message on stderr naming the program and the file. */
static inline float *bench_read_f32(const char *prog, const char *path,
                                    size_t count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open %s\n", prog, path);
    return NULL;
  }
  float *data = cs_alloc_aligned(count * sizeof(float));
  size_t got = data ? fread(data, sizeof(float), count, f) : 0;
  fclose(f);
  if (got != count) {
    fprintf(stderr, "%s: %s: read %zu of %zu floats\n", prog, path, got, count);
    free(data);
    return NULL;
  }
  return data;
}

#endif

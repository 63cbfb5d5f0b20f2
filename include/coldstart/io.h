/* io.h: file helpers: atomic writes (temp file, fsync, rename) and read-only
 * mmap of whole files. */
#ifndef COLDSTART_IO_H
#define COLDSTART_IO_H

#include <stddef.h>
#include <stdio.h>
#include "coldstart/error.h"

/* An output file that only appears under its final name on commit.
 * Data goes to "<path>.tmp.<pid>" in the same directory. Opening also
 * removes the temp files of `path` that earlier writers left when they were
 * killed (their pid no longer runs); a live writer's are kept. */
typedef struct cs_atomic_file {
  FILE *fp;
  char *path;     /* owned */
  char *tmp_path; /* owned */
} cs_atomic_file_t;

int cs_atomic_open(cs_atomic_file_t *af, const char *path, cs_err_t *err);
/* fwrite that records a detailed error (file name, errno) on failure. */
int cs_atomic_write(cs_atomic_file_t *af, const void *data, size_t size,
                    cs_err_t *err);
/* fflush + fsync + fclose + rename; on any failure the temp file is removed
 * and the previous file at `path` (if any) is left untouched. */
int cs_atomic_commit(cs_atomic_file_t *af, cs_err_t *err);
/* Drop the temp file (safe after a failed commit or on error paths). */
void cs_atomic_abort(cs_atomic_file_t *af);

/* Write a whole buffer atomically. */
int cs_write_file_atomic(const char *path, const void *data, size_t size,
                         cs_err_t *err);

/* A read-only memory map of a whole file. */
typedef struct cs_mmap {
  const unsigned char *data;
  size_t size;
} cs_mmap_t;

int cs_mmap_open(cs_mmap_t *m, const char *path, cs_err_t *err);
void cs_mmap_close(cs_mmap_t *m);

/* mkdir -p; returns 0 or CS_EIO. */
int cs_mkdirs(const char *path, cs_err_t *err);
/* 1 when both paths exist and name the same file (device and inode). */
int cs_same_file(const char *a, const char *b);
/* 1 when `dir` exists and holds anything besides . and .., else 0. */
int cs_dir_nonempty(const char *dir);
/* 1 when the path exists. */
int cs_path_exists(const char *path);

#endif

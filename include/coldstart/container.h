/* container.h: the versioned binary container every coldstart file uses
 * (datasets, models): magic, format version, a kind string, a section table,
 * and a CRC-32 per section. Sections are 64-byte aligned so float arrays can
 * be used straight from the mmap.
 *
 * Layout (little-endian):
 *   header  (64 bytes): magic "CSTART\0\1", u32 container_version,
 *           u32 n_sections, char kind[16], u32 kind_version, u32 reserved,
 *           u64 table_offset, u32 table_crc, u32 header_crc, pad to 64
 *   section data, each aligned to 64
 *   table   n_sections x { char name[48]; u64 offset; u64 size; u32 crc;
 *           u32 reserved }
 */
#ifndef COLDSTART_CONTAINER_H
#define COLDSTART_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/error.h"
#include "coldstart/io.h"

#define CS_CONTAINER_NAME_MAX 48

/* --- writing --------------------------------------------------------------
 * Sections are copied into the writer's list by reference: the data must
 * stay valid until cs_container_writer_commit(). */
typedef struct cs_container_writer cs_container_writer_t;

/* kind: e.g. "dataset" or "model"; kind_version: the format of that kind. */
int cs_container_writer_create(cs_container_writer_t **w, const char *kind,
                               uint32_t kind_version, cs_err_t *err);
/* Add a section (by reference). Duplicate names are an error. */
int cs_container_add(cs_container_writer_t *w, const char *name,
                     const void *data, size_t size, cs_err_t *err);
/* Add a section holding a copy of `data` (for small, short-lived values). */
int cs_container_add_copy(cs_container_writer_t *w, const char *name,
                          const void *data, size_t size, cs_err_t *err);
/* Write everything atomically to `path` (temp file, fsync, rename). */
int cs_container_writer_commit(cs_container_writer_t *w, const char *path,
                               cs_err_t *err);
void cs_container_writer_free(cs_container_writer_t *w);

/* --- reading ------------------------------------------------------------ */
typedef struct cs_container_section {
  char name[CS_CONTAINER_NAME_MAX];
  uint64_t offset, size;
  uint32_t crc;
} cs_container_section_t;

typedef struct cs_container {
  int refs;            /* counted references (cs_container_load/ref/unref) */
  cs_mmap_t map;
  char path[512];
  char kind[17];
  uint32_t kind_version;
  uint32_t n_sections;
  cs_container_section_t *sections; /* owned */
} cs_container_t;

/* mmap and validate `path`: magic, versions, bounds of every section and
 * every checksum. `kind` (may be NULL) must match the file's kind.
 * Errors: CS_ENOTFOUND, CS_ETRUNC, CS_ECORRUPT, CS_EVERSION, CS_EFORMAT,
 * each with the file name and what was wrong. */
int cs_container_open(cs_container_t *c, const char *path, const char *kind,
                      cs_err_t *err);
void cs_container_close(cs_container_t *c);

/* The same, as a shared, reference-counted object: *out is a new heap
 * container holding one reference. Every object that points into the map
 * holds its own reference (cs_container_ref) and drops it in its _free
 * (cs_container_unref), so the map lives exactly as long as its last user,
 * whatever the order they are freed in. ref/unref are atomic; unref of the
 * last reference closes and frees; both accept NULL. Loaders that keep
 * pointers into a container (regressor, segments, dataset, model) take
 * such a counted container, never one from cs_container_open. */
int cs_container_load(cs_container_t **out, const char *path, const char *kind,
                      cs_err_t *err);
cs_container_t *cs_container_ref(cs_container_t *c);
void cs_container_unref(cs_container_t *c);
/* Find a section: returns a pointer into the map and its size, or NULL. */
const void *cs_container_get(const cs_container_t *c, const char *name,
                             size_t *size);
/* Find a section that must exist and be exactly `expect_size` bytes
 * (pass SIZE_MAX to accept any size). Errors name file and section. */
int cs_container_require(const cs_container_t *c, const char *name,
                         size_t expect_size, const void **data, size_t *size,
                         cs_err_t *err);

#endif

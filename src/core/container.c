/* container.c: the versioned, checksummed section container behind dataset
 * and model files (see container.h for the layout). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "coldstart/container.h"

#define HEADER_SIZE 64
#define ENTRY_SIZE 72
#define ALIGN 64
#define CONTAINER_VERSION 1u
static const unsigned char MAGIC[8] = {'C', 'S', 'T', 'A', 'R', 'T', 0, 1};

typedef struct {
  char name[CS_CONTAINER_NAME_MAX];
  const void *data;
  size_t size;
  void *copy; /* owned when the section was added by copy */
} wsection_t;

struct cs_container_writer {
  char kind[16];
  uint32_t kind_version;
  wsection_t *sections;
  size_t n_sections, cap_sections;
};

static uint32_t crc_of(const void *data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const unsigned char *p = data;
  while (size > 0) {
    uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return (uint32_t)crc;
}

/* CRC of the header with its own checksum field (bytes 52..55) zeroed. */
static uint32_t header_crc(const unsigned char *header) {
  unsigned char copy[HEADER_SIZE];
  memcpy(copy, header, HEADER_SIZE);
  memset(copy + 52, 0, 4);
  return crc_of(copy, HEADER_SIZE);
}

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

int cs_container_writer_create(cs_container_writer_t **w, const char *kind,
                               uint32_t kind_version, cs_err_t *err) {
  *w = NULL;
  if (!kind || strlen(kind) >= 16)
    return cs_err_set(err, CS_EINVAL, "container kind '%s' too long",
                      kind ? kind : "(null)");
  cs_container_writer_t *cw = calloc(1, sizeof *cw);
  if (!cw) return cs_err_set(err, CS_ENOMEM, "out of memory");
  strcpy(cw->kind, kind);
  cw->kind_version = kind_version;
  *w = cw;
  return CS_OK;
}

static int add_section(cs_container_writer_t *w, const char *name,
                       const void *data, size_t size, void *copy,
                       cs_err_t *err) {
  if (strlen(name) >= CS_CONTAINER_NAME_MAX) {
    free(copy);
    return cs_err_set(err, CS_EINVAL, "section name '%s' too long", name);
  }
  for (size_t i = 0; i < w->n_sections; i++)
    if (strcmp(w->sections[i].name, name) == 0) {
      free(copy);
      return cs_err_set(err, CS_EINVAL, "duplicate section '%s'", name);
    }
  if (w->n_sections == w->cap_sections) {
    size_t cap = w->cap_sections ? 2 * w->cap_sections : 16;
    wsection_t *s = realloc(w->sections, cap * sizeof *s);
    if (!s) {
      free(copy);
      return cs_err_set(err, CS_ENOMEM, "out of memory");
    }
    w->sections = s;
    w->cap_sections = cap;
  }
  wsection_t *s = &w->sections[w->n_sections++];
  memset(s, 0, sizeof *s);
  strcpy(s->name, name);
  s->data = data;
  s->size = size;
  s->copy = copy;
  return CS_OK;
}

int cs_container_add(cs_container_writer_t *w, const char *name,
                     const void *data, size_t size, cs_err_t *err) {
  if (size > 0 && !data)
    return cs_err_set(err, CS_EINVAL, "section '%s': no data", name);
  return add_section(w, name, data, size, NULL, err);
}

int cs_container_add_copy(cs_container_writer_t *w, const char *name,
                          const void *data, size_t size, cs_err_t *err) {
  void *copy = malloc(size ? size : 1);
  if (!copy) return cs_err_set(err, CS_ENOMEM, "out of memory");
  if (size) memcpy(copy, data, size);
  return add_section(w, name, copy, size, copy, err);
}

static size_t align_up(size_t v) { return (v + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

int cs_container_writer_commit(cs_container_writer_t *w, const char *path,
                               cs_err_t *err) {
  static const unsigned char zeros[ALIGN];
  size_t n = w->n_sections;
  unsigned char *table = calloc(n ? n : 1, ENTRY_SIZE);
  if (!table) return cs_err_set(err, CS_ENOMEM, "out of memory");
  cs_atomic_file_t af;
  int rc = cs_atomic_open(&af, path, err);
  if (rc != CS_OK) {
    free(table);
    return rc;
  }
  unsigned char header[HEADER_SIZE] = {0};
  rc = cs_atomic_write(&af, header, HEADER_SIZE, err); /* placeholder */
  size_t offset = HEADER_SIZE;
  for (size_t i = 0; i < n && rc == CS_OK; i++) {
    const wsection_t *s = &w->sections[i];
    size_t start = align_up(offset);
    rc = cs_atomic_write(&af, zeros, start - offset, err);
    if (rc == CS_OK) rc = cs_atomic_write(&af, s->data, s->size, err);
    offset = start + s->size;
    unsigned char *e = table + i * ENTRY_SIZE;
    memcpy(e, s->name, strlen(s->name));
    put_u64(e + 48, start);
    put_u64(e + 56, s->size);
    put_u32(e + 64, crc_of(s->data, s->size));
  }
  size_t table_offset = align_up(offset);
  if (rc == CS_OK) rc = cs_atomic_write(&af, zeros, table_offset - offset, err);
  if (rc == CS_OK) rc = cs_atomic_write(&af, table, n * ENTRY_SIZE, err);
  memcpy(header, MAGIC, 8);
  put_u32(header + 8, CONTAINER_VERSION);
  put_u32(header + 12, (uint32_t)n);
  memcpy(header + 16, w->kind, strlen(w->kind));
  put_u32(header + 32, w->kind_version);
  put_u64(header + 40, table_offset);
  put_u32(header + 48, crc_of(table, n * ENTRY_SIZE));
  put_u32(header + 52, header_crc(header));
  if (rc == CS_OK && fseek(af.fp, 0, SEEK_SET) != 0)
    rc = cs_err_set(err, CS_EIO, "%s: seek failed", path);
  if (rc == CS_OK) rc = cs_atomic_write(&af, header, HEADER_SIZE, err);
  free(table);
  if (rc != CS_OK) {
    cs_atomic_abort(&af);
    return rc;
  }
  return cs_atomic_commit(&af, err);
}

void cs_container_writer_free(cs_container_writer_t *w) {
  if (!w) return;
  for (size_t i = 0; i < w->n_sections; i++) free(w->sections[i].copy);
  free(w->sections);
  free(w);
}

int cs_container_open(cs_container_t *c, const char *path, const char *kind,
                      cs_err_t *err) {
  memset(c, 0, sizeof *c);
  snprintf(c->path, sizeof c->path, "%s", path);
  int rc = cs_mmap_open(&c->map, path, err);
  if (rc != CS_OK) return rc;
  const unsigned char *p = c->map.data;
  size_t size = c->map.size;
  if (size < HEADER_SIZE) {
    rc = cs_err_set(err, CS_ETRUNC, "%s: %zu bytes, shorter than the %d-byte header",
                    path, size, HEADER_SIZE);
    goto fail;
  }
  if (memcmp(p, MAGIC, 8) != 0) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: not a coldstart file (bad magic at offset 0)", path);
    goto fail;
  }
  if (get_u32(p + 52) != header_crc(p)) {
    rc = cs_err_set(err, CS_ECORRUPT, "%s: header checksum mismatch", path);
    goto fail;
  }
  if (get_u32(p + 8) != CONTAINER_VERSION) {
    rc = cs_err_set(err, CS_EVERSION, "%s: container version %u, this build reads %u",
                    path, get_u32(p + 8), CONTAINER_VERSION);
    goto fail;
  }
  memcpy(c->kind, p + 16, 16);
  c->kind[16] = '\0';
  c->kind_version = get_u32(p + 32);
  if (kind && strcmp(kind, c->kind) != 0) {
    rc = cs_err_set(err, CS_EFORMAT, "%s: is a '%s' file, expected a '%s' file",
                    path, c->kind, kind);
    goto fail;
  }
  c->n_sections = get_u32(p + 12);
  uint64_t table_offset = get_u64(p + 40);
  uint64_t table_size = (uint64_t)c->n_sections * ENTRY_SIZE;
  if (table_offset > size || table_size > size - table_offset) {
    rc = cs_err_set(err, CS_ETRUNC,
                    "%s: section table at offset %llu (%u sections) past the end (%zu bytes)",
                    path, (unsigned long long)table_offset, c->n_sections, size);
    goto fail;
  }
  if (get_u32(p + 48) != crc_of(p + table_offset, table_size)) {
    rc = cs_err_set(err, CS_ECORRUPT, "%s: section table checksum mismatch", path);
    goto fail;
  }
  c->sections = calloc(c->n_sections ? c->n_sections : 1, sizeof *c->sections);
  if (!c->sections) {
    rc = cs_err_set(err, CS_ENOMEM, "out of memory");
    goto fail;
  }
  for (uint32_t i = 0; i < c->n_sections; i++) {
    const unsigned char *e = p + table_offset + (uint64_t)i * ENTRY_SIZE;
    cs_container_section_t *s = &c->sections[i];
    memcpy(s->name, e, CS_CONTAINER_NAME_MAX);
    s->name[CS_CONTAINER_NAME_MAX - 1] = '\0';
    s->offset = get_u64(e + 48);
    s->size = get_u64(e + 56);
    s->crc = get_u32(e + 64);
    if (s->offset > size || s->size > size - s->offset) {
      rc = cs_err_set(err, CS_ETRUNC,
                      "%s: section '%s' (offset %llu, %llu bytes) runs past the end",
                      path, s->name, (unsigned long long)s->offset,
                      (unsigned long long)s->size);
      goto fail;
    }
    if (s->offset % ALIGN != 0) {
      /* the writer aligns every section: a forged offset would give
       * misaligned int64/float loads to whoever reads the section */
      rc = cs_err_set(err, CS_EFORMAT,
                      "%s: section '%s' at offset %llu is not %d-byte aligned",
                      path, s->name, (unsigned long long)s->offset, ALIGN);
      goto fail;
    }
    if (crc_of(p + s->offset, s->size) != s->crc) {
      rc = cs_err_set(err, CS_ECORRUPT, "%s: section '%s' checksum mismatch",
                      path, s->name);
      goto fail;
    }
  }
  return CS_OK;
fail:
  cs_container_close(c);
  return rc;
}

void cs_container_close(cs_container_t *c) {
  if (!c) return;
  cs_mmap_close(&c->map);
  free(c->sections);
  c->sections = NULL;
  c->n_sections = 0;
}

int cs_container_load(cs_container_t **out, const char *path, const char *kind,
                      cs_err_t *err) {
  *out = NULL;
  cs_container_t *c = malloc(sizeof *c);
  if (!c) return cs_err_set(err, CS_ENOMEM, "loading %s", path);
  int rc = cs_container_open(c, path, kind, err);
  if (rc != CS_OK) {
    free(c);
    return rc;
  }
  c->refs = 1;
  *out = c;
  return CS_OK;
}

cs_container_t *cs_container_ref(cs_container_t *c) {
  if (c) __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
  return c;
}

void cs_container_unref(cs_container_t *c) {
  if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  cs_container_close(c);
  free(c);
}

const void *cs_container_get(const cs_container_t *c, const char *name,
                             size_t *size) {
  for (uint32_t i = 0; i < c->n_sections; i++)
    if (strcmp(c->sections[i].name, name) == 0) {
      if (size) *size = c->sections[i].size;
      return c->map.data + c->sections[i].offset;
    }
  if (size) *size = 0;
  return NULL;
}

int cs_container_require(const cs_container_t *c, const char *name,
                         size_t expect_size, const void **data, size_t *size,
                         cs_err_t *err) {
  size_t got = 0;
  const void *p = cs_container_get(c, name, &got);
  if (!p)
    return cs_err_set(err, CS_EFORMAT, "%s: missing section '%s'", c->path, name);
  if (expect_size != SIZE_MAX && got != expect_size)
    return cs_err_set(err, CS_EFORMAT,
                      "%s: section '%s' is %zu bytes, expected %zu", c->path,
                      name, got, expect_size);
  if (data) *data = p;
  if (size) *size = got;
  return CS_OK;
}

/* pq_internal.h: what the Parquet reader's files share: the Thrift compact
 * protocol cursor, the file handle, the encodings and the codecs. */
#ifndef COLDSTART_PQ_INTERNAL_H
#define COLDSTART_PQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/error.h"
#include "coldstart/parquet.h"

/* Sanity limits for untrusted metadata (real files are far below). */
#define CS__PQ_MAX_DEPTH 32             /* schema / thrift nesting */
#define CS__PQ_MAX_PAGE_VALUES (1 << 26) /* level slots in one page */
#define CS__PQ_MAX_PAGE_BYTES (1 << 30)  /* one page, compressed or not */
#define CS__PQ_MAX_FOOTER (1 << 28)

/* Thrift compact protocol wire types. */
enum {
  CS__T_STOP = 0, CS__T_TRUE = 1, CS__T_FALSE = 2, CS__T_I8 = 3,
  CS__T_I16 = 4, CS__T_I32 = 5, CS__T_I64 = 6, CS__T_DOUBLE = 7,
  CS__T_BINARY = 8, CS__T_LIST = 9, CS__T_SET = 10, CS__T_MAP = 11,
  CS__T_STRUCT = 12
};

/* A read cursor over a buffer that came from `name` at file offset
 * `file_off`; errors name the file and the byte offset. */
typedef struct cs__tr {
  const uint8_t *base, *p, *end;
  int64_t file_off;
  const char *name;
  cs_err_t *err;
  int depth;
} cs__tr_t;

void cs__tr_init(cs__tr_t *tr, const void *data, size_t size, int64_t file_off,
                 const char *name, cs_err_t *err);
/* Offset in the file of the cursor. */
static inline int64_t cs__tr_pos(const cs__tr_t *tr) {
  return tr->file_off + (int64_t)(tr->p - tr->base);
}
int cs__tr_fail(cs__tr_t *tr, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cs__tr_varint(cs__tr_t *tr, uint64_t *v);
/* Next field of a struct: *type = CS__T_STOP at the end. `last_id` is the
 * previous field id of this struct (start with 0). */
int cs__tr_field(cs__tr_t *tr, int *last_id, int *id, int *type);
/* An integer field of any integer wire type (or bool) into *v. */
int cs__tr_int(cs__tr_t *tr, int type, int64_t *v);
int cs__tr_binary(cs__tr_t *tr, int type, const uint8_t **data, size_t *len);
/* List/set header: element type and count (count checked against the bytes
 * left: every element takes at least one byte, except bools). */
int cs__tr_list(cs__tr_t *tr, int type, int *elem_type, int64_t *n);
/* Skip a value of wire type `type` (nested, depth-limited). */
int cs__tr_skip(cs__tr_t *tr, int type);
/* Require a struct wire type before reading one. */
int cs__tr_expect(cs__tr_t *tr, int type, int want, const char *what);

/* Page header (parquet.thrift PageHeader, the fields we use). */
typedef struct cs__page_header {
  int type; /* 0 data v1, 1 index, 2 dictionary, 3 data v2 */
  int64_t uncompressed_size, compressed_size;
  int64_t num_values;
  int encoding;
  int def_encoding, rep_encoding;   /* v1 */
  int64_t num_nulls, num_rows;      /* v2 */
  int64_t def_bytes, rep_bytes;     /* v2 */
  int is_compressed;                /* v2 (default 1) */
  int has_data, has_dict, has_v2;
} cs__page_header_t;

int cs__pq_read_page_header(cs__tr_t *tr, cs__page_header_t *ph);

/* Metadata parsing into the file handle (metadata.c). */
struct cs_pq_file {
  char *name;
  int fd;                 /* -1 for in-memory files */
  const uint8_t *mem;
  int64_t size;
  int version;
  int64_t num_rows;
  char *created_by;
  int n_nodes, n_columns, n_fields, n_row_groups;
  cs_pq_node_t *nodes;
  cs_pq_column_t *columns;
  cs_pq_field_t *fields;
  cs_pq_row_group_t *row_groups;
  /* scratch for chunk reading (column.c) */
  uint8_t *raw;
  size_t cap_raw;
  uint8_t *page;
  size_t cap_page;
  uint32_t *idx;
  size_t cap_idx;
  cs_pq_chunk_t dict;
};

int cs__pq_parse_footer(cs_pq_file_t *f, const uint8_t *buf, size_t len,
                        int64_t file_off, cs_err_t *err);
/* Read `len` bytes at `off` (pread or memcpy); errors name the file. */
int cs__pq_pread(cs_pq_file_t *f, void *dst, size_t len, int64_t off,
                 cs_err_t *err);

/* Encodings (encoding.c). Each decodes exactly `n` items or fails naming the
 * file offset `off` of `src`. */
int cs__bit_width(uint32_t max_value);
/* RLE / bit-packed hybrid into u32; `bw` 0..32. */
int cs__rle_decode(const uint8_t *src, size_t len, int bw, int64_t n,
                   uint32_t *out, const char *name, int64_t off, cs_err_t *err);
/* Reference bit-unpacking (one bit at a time) used by the tests. */
void cs__unpack_ref(const uint8_t *src, int bw, int64_t n, uint32_t *out);
void cs__unpack(const uint8_t *src, int bw, int64_t n, uint32_t *out);
/* DELTA_BINARY_PACKED into int64 (INT32 callers narrow); *used = bytes
 * consumed. */
int cs__delta_decode(const uint8_t *src, size_t len, int64_t n, int64_t *out,
                     size_t *used, const char *name, int64_t off,
                     cs_err_t *err);
/* BYTE_STREAM_SPLIT of n items of `width` bytes; `len` must be n*width. */
int cs__bss_decode(const uint8_t *src, size_t len, int width, int64_t n,
                   uint8_t *out, const char *name, int64_t off, cs_err_t *err);

/* Codecs (codec.c): decompress exactly `dst_len` bytes. */
int cs__pq_decompress(int codec, const uint8_t *src, size_t src_len,
                      uint8_t *dst, size_t dst_len, const char *name,
                      int64_t off, cs_err_t *err);

#endif

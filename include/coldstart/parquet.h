/* parquet.h: a focused Parquet reader: footer and Thrift metadata, schema,
 * row groups, and column chunks decoded one at a time (pread, never the whole
 * file in memory). Supports PLAIN, dictionary, RLE/bit-packed levels,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT; data pages v1 and v2; codecs
 * UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW; flat columns and one level of
 * lists (3-level and legacy 2-level). Every malformed input is a cs_err_t
 * error naming the file and byte offset. */
#ifndef COLDSTART_PARQUET_H
#define COLDSTART_PARQUET_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/error.h"

/* Physical types (parquet.thrift Type). */
typedef enum {
  CS_PQ_BOOLEAN = 0,
  CS_PQ_INT32 = 1,
  CS_PQ_INT64 = 2,
  CS_PQ_INT96 = 3,
  CS_PQ_FLOAT = 4,
  CS_PQ_DOUBLE = 5,
  CS_PQ_BYTE_ARRAY = 6,
  CS_PQ_FIXED_LEN_BYTE_ARRAY = 7
} cs_pq_type_t;

typedef enum {
  CS_PQ_REQUIRED = 0,
  CS_PQ_OPTIONAL = 1,
  CS_PQ_REPEATED = 2
} cs_pq_repetition_t;

/* One schema element (depth-first order, as in the file). */
typedef struct cs_pq_node {
  char *name;          /* owned */
  int type;            /* cs_pq_type_t, or -1 for a group */
  int type_length;     /* FIXED_LEN_BYTE_ARRAY width */
  int repetition;      /* cs_pq_repetition_t (root: REQUIRED) */
  int n_children;
  int converted_type;  /* parquet ConvertedType, -1 when absent */
  int logical_type;    /* LogicalType union field id, 0 when absent */
  int logical_bits;    /* INTEGER bit width / TIMESTAMP unit, else 0 */
  int logical_signed;  /* INTEGER signedness */
  int scale, precision;
  int parent;          /* index of the parent node, -1 for the root */
  int first_child;     /* index of the first child, -1 for leaves */
  int next_sibling;    /* -1 when last */
  int leaf;            /* leaf column index, -1 for groups */
} cs_pq_node_t;

/* One leaf column (a column chunk per row group). */
typedef struct cs_pq_column {
  char *path;          /* dotted path "features_svd.list.element"; owned */
  int node;            /* schema node of the leaf */
  int field;           /* top-level field (index into fields[]) */
  int type;            /* physical type */
  int type_length;
  int max_def, max_rep;
  /* For list columns (max_rep == 1): definition levels below def_list mean
   * the list itself is null, below def_elem the list is empty, and below
   * max_def the element is null. For flat columns def_list = def_elem = 0. */
  int def_list, def_elem;
} cs_pq_column_t;

/* One top-level field (what a row object has as keys). */
typedef struct cs_pq_field {
  const char *name;    /* points at the node's name */
  int node;
  int column;          /* its leaf column; -1 when the field has several
                          leaves or deeper nesting (not readable) */
  int is_list;         /* 1 when the field is a one-level list */
} cs_pq_field_t;

typedef struct cs_pq_column_meta {
  int type;
  int codec;           /* 0 none, 1 snappy, 2 gzip, 3 lzo, 4 brotli, 5 lz4,
                          6 zstd, 7 lz4_raw */
  int n_encodings;
  int encodings[16];   /* first 16 encodings listed */
  int64_t num_values;
  int64_t total_uncompressed_size;
  int64_t total_compressed_size;
  int64_t data_page_offset;
  int64_t dictionary_page_offset; /* -1 when absent */
} cs_pq_column_meta_t;

typedef struct cs_pq_row_group {
  int64_t num_rows;
  int64_t total_byte_size;
  cs_pq_column_meta_t *columns; /* [n_columns]; owned */
} cs_pq_row_group_t;

/* An open file: metadata plus scratch buffers reused by cs_pq_read_chunk,
 * so one handle must not be read from two threads at once (open one handle
 * per thread). */
typedef struct cs_pq_file cs_pq_file_t;

/* Open a file: reads and parses only the footer. */
int cs_pq_open(cs_pq_file_t **out, const char *path, cs_err_t *err);
/* Open an in-memory copy (not owned; must outlive the handle); `name` is
 * used in error messages. For tests and the fuzzer. */
int cs_pq_open_mem(cs_pq_file_t **out, const void *data, size_t size,
                   const char *name, cs_err_t *err);
void cs_pq_close(cs_pq_file_t *f);

const char *cs_pq_name(const cs_pq_file_t *f);
int64_t cs_pq_file_size(const cs_pq_file_t *f);
int64_t cs_pq_num_rows(const cs_pq_file_t *f);
const char *cs_pq_created_by(const cs_pq_file_t *f); /* "" when absent */
int cs_pq_version(const cs_pq_file_t *f);
int cs_pq_n_nodes(const cs_pq_file_t *f);
const cs_pq_node_t *cs_pq_node(const cs_pq_file_t *f, int i);
int cs_pq_n_columns(const cs_pq_file_t *f);
const cs_pq_column_t *cs_pq_column(const cs_pq_file_t *f, int i);
int cs_pq_n_fields(const cs_pq_file_t *f);
const cs_pq_field_t *cs_pq_field(const cs_pq_file_t *f, int i);
/* Top-level field index by name, or -1. */
int cs_pq_find_field(const cs_pq_file_t *f, const char *name);
int cs_pq_n_row_groups(const cs_pq_file_t *f);
const cs_pq_row_group_t *cs_pq_row_group(const cs_pq_file_t *f, int i);

/* Names for printing ("DOUBLE", "SNAPPY", "RLE_DICTIONARY", "LIST", ...);
 * never NULL. */
const char *cs_pq_type_name(int type);
const char *cs_pq_codec_name(int codec);
const char *cs_pq_encoding_name(int encoding);
const char *cs_pq_repetition_name(int repetition);
const char *cs_pq_converted_name(int converted_type);
const char *cs_pq_logical_name(int logical_type);

/* A decoded column chunk: levels for every slot, values for the non-null
 * ones only (dense). Reused across reads: cs_pq_read_chunk grows buffers. */
typedef struct cs_pq_chunk {
  const char *file;     /* name of the file it was read from (the handle's;
                           valid while the handle is open), for messages */
  int type;             /* physical type */
  int type_length;
  int max_def, max_rep;
  int64_t n_rows;       /* rows in the row group */
  int64_t n_levels;     /* level slots (== n_rows for flat columns) */
  int16_t *def;         /* [n_levels], NULL when max_def == 0 */
  int16_t *rep;         /* [n_levels], NULL when max_rep == 0 */
  int64_t n_values;     /* non-null values */
  void *values;         /* [n_values]: int32_t, int64_t, float, double,
                           uint8_t (BOOLEAN, 0/1) or, for INT96, 12-byte
                           items; for byte arrays see below */
  int64_t *offsets;     /* BYTE_ARRAY / FIXED_LEN: [n_values + 1] into bytes */
  uint8_t *bytes;
  /* capacities (internal): cap_levels in slots; cap_values, cap_offsets
   * and cap_bytes in BYTES of their buffers (the chunk is reused across
   * columns of different widths) */
  int64_t cap_levels, cap_values, cap_offsets, cap_bytes;
} cs_pq_chunk_t;

void cs_pq_chunk_init(cs_pq_chunk_t *c);
void cs_pq_chunk_free(cs_pq_chunk_t *c);

/* Decode column `column` of row group `rg` into `out` (reusing its
 * buffers). Reads only that chunk's bytes. */
int cs_pq_read_chunk(cs_pq_file_t *f, int rg, int column, cs_pq_chunk_t *out,
                     cs_err_t *err);

/* Walk a chunk row by row. For flat columns each row is one slot; for lists
 * a row spans the slots from one rep==0 to the next. */
typedef struct cs_pq_cursor {
  const cs_pq_chunk_t *chunk;
  const cs_pq_column_t *col;
  int64_t slot;  /* next level slot */
  int64_t value; /* next dense value index */
} cs_pq_cursor_t;

/* One row of one column: its elements are level slots [slot, slot + n_elems)
 * (a flat non-null value is one element); dense values start at `value` and
 * advance by one for each element that is not null (cs_pq_slot_null). */
typedef struct cs_pq_row {
  int64_t slot, n_elems, value;
  int is_null; /* the flat value or the whole list is null */
} cs_pq_row_t;

void cs_pq_cursor_init(cs_pq_cursor_t *cur, const cs_pq_chunk_t *chunk,
                       const cs_pq_column_t *col);
/* Advance over one row; CS_ERANGE when the chunk has no more rows. */
int cs_pq_cursor_next(cs_pq_cursor_t *cur, cs_pq_row_t *row, cs_err_t *err);
/* 1 when slot `s` holds a null element (def < max_def). */
static inline int cs_pq_slot_null(const cs_pq_chunk_t *c, int64_t s) {
  return c->def && c->def[s] < c->max_def;
}

/* Convert dense value `i` of a numeric chunk to double / int64 (BOOLEAN,
 * INT32, INT64, FLOAT, DOUBLE). */
double cs_pq_value_double(const cs_pq_chunk_t *c, int64_t i);
int64_t cs_pq_value_int64(const cs_pq_chunk_t *c, int64_t i);

#endif

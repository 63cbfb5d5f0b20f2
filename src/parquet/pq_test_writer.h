/* pq_test_writer.h: a tiny in-memory Parquet writer for the tests (and the
 * fuzz seeds they save): flat columns of any physical type, REQUIRED or
 * OPTIONAL, PLAIN or dictionary-encoded (RLE_DICTIONARY), one v1 data page
 * per column chunk, any number of row groups, no compression. Every value
 * is a function of (column, row) (pqw_value), so a reader's output can be
 * checked value by value without a truth file. Test-only: static functions,
 * aborts on out of memory. */
#ifndef COLDSTART_PQ_TEST_WRITER_H
#define COLDSTART_PQ_TEST_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coldstart/parquet.h"

typedef struct {
  uint8_t *p;
  size_t n, cap;
} pqw_buf_t;

static void pqw_put(pqw_buf_t *b, const void *s, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) abort();
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
}
static void pqw_u8(pqw_buf_t *b, uint8_t v) { pqw_put(b, &v, 1); }
static void pqw_u32(pqw_buf_t *b, uint32_t v) { pqw_put(b, &v, 4); }
static void pqw_uleb(pqw_buf_t *b, uint64_t v) {
  while (v >= 0x80) {
    pqw_u8(b, (uint8_t)(v | 0x80));
    v >>= 7;
  }
  pqw_u8(b, (uint8_t)v);
}

/* Thrift compact protocol: structs nest; `last` holds each level's previous
 * field id. */
typedef struct {
  pqw_buf_t *b;
  int last[16], depth;
} pqw_tw_t;

static void pqw_field(pqw_tw_t *w, int id, int type) {
  int delta = id - w->last[w->depth];
  if (delta > 0 && delta <= 15) {
    pqw_u8(w->b, (uint8_t)(delta << 4 | type));
  } else {
    pqw_u8(w->b, (uint8_t)type);
    pqw_uleb(w->b, (uint64_t)((id << 1) ^ (id >> 31)));
  }
  w->last[w->depth] = id;
}
static void pqw_zz(pqw_tw_t *w, int64_t v) {
  pqw_uleb(w->b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
static void pqw_i32(pqw_tw_t *w, int id, int64_t v) {
  pqw_field(w, id, 5);
  pqw_zz(w, v);
}
static void pqw_i64(pqw_tw_t *w, int id, int64_t v) {
  pqw_field(w, id, 6);
  pqw_zz(w, v);
}
static void pqw_bin(pqw_tw_t *w, int id, const char *s) { /* id 0: list item */
  if (id) pqw_field(w, id, 8);
  pqw_uleb(w->b, strlen(s));
  pqw_put(w->b, s, strlen(s));
}
static void pqw_begin(pqw_tw_t *w, int id) { /* id 0: list item */
  if (id) pqw_field(w, id, 12);
  w->last[++w->depth] = 0;
}
static void pqw_end(pqw_tw_t *w) {
  pqw_u8(w->b, 0);
  w->depth--;
}
static void pqw_list(pqw_tw_t *w, int id, int elem_type, int n) {
  pqw_field(w, id, 9);
  if (n < 15) {
    pqw_u8(w->b, (uint8_t)(n << 4 | elem_type));
  } else {
    pqw_u8(w->b, (uint8_t)(0xf0 | elem_type));
    pqw_uleb(w->b, (uint64_t)n);
  }
}

/* One column of the file. */
typedef struct {
  int type;        /* cs_pq_type_t */
  int type_length; /* FIXED_LEN_BYTE_ARRAY width (0: 5) */
  int optional;    /* 1: OPTIONAL, nulls where pqw_is_null */
  int dict;        /* 1: dictionary page + RLE_DICTIONARY data page */
} pqw_col_t;

#define PQW_DICT_SIZE 5

static uint64_t pqw_mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

static int pqw_is_null(const pqw_col_t *c, int col, int64_t row) {
  return c->optional && (row + col) % 7 == 3;
}

/* The value of (col, row) in its PLAIN encoding (without the byte array
 * length prefix): writes up to 32 bytes to out, returns the byte count.
 * Dictionary columns take only PQW_DICT_SIZE distinct values. */
static size_t pqw_value(const pqw_col_t *c, int col, int64_t row, uint8_t *out) {
  int64_t k = c->dict ? row % PQW_DICT_SIZE : row;
  uint64_t h = pqw_mix((uint64_t)k * 1000003u + (uint64_t)col);
  switch (c->type) {
  case CS_PQ_BOOLEAN: out[0] = (uint8_t)(h & 1); return 1;
  case CS_PQ_INT32: { int32_t v = (int32_t)(uint32_t)h; memcpy(out, &v, 4); return 4; }
  case CS_PQ_INT64: { int64_t v = (int64_t)h; memcpy(out, &v, 8); return 8; }
  case CS_PQ_INT96: memcpy(out, &h, 8); memcpy(out + 8, &k, 4); return 12;
  case CS_PQ_FLOAT: { float v = (float)k * 0.5f - (float)col; memcpy(out, &v, 4); return 4; }
  case CS_PQ_DOUBLE: { double v = (double)k * 1.25 + (double)col / 3.0; memcpy(out, &v, 8); return 8; }
  case CS_PQ_BYTE_ARRAY:
    return (size_t)snprintf((char *)out, 32, "r%lld.c%d%.*s", (long long)k, col,
                            (int)(h % 9), "xxxxxxxxx");
  default: { /* FIXED_LEN_BYTE_ARRAY */
    size_t w = c->type_length ? (size_t)c->type_length : 5;
    for (size_t i = 0; i < w && i < 32; i++) out[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;
    return w;
  }
  }
}

/* PLAIN-encode values of rows (skipping nulls) into b; booleans bit-pack. */
static void pqw_plain(pqw_buf_t *b, const pqw_col_t *c, int col, const int64_t *rows,
                      int64_t n) {
  uint8_t v[32], bits = 0;
  for (int64_t i = 0; i < n; i++) {
    size_t len = pqw_value(c, col, rows[i], v);
    if (c->type == CS_PQ_BOOLEAN) {
      bits |= (uint8_t)(v[0] << (i & 7));
      if ((i & 7) == 7 || i == n - 1) {
        pqw_u8(b, bits);
        bits = 0;
      }
      continue;
    }
    if (c->type == CS_PQ_BYTE_ARRAY) pqw_u32(b, (uint32_t)len);
    pqw_put(b, v, len);
  }
}

/* RLE/bit-packed hybrid: one bit-packed run of `n` values of `bw` bits. */
static void pqw_bitpacked(pqw_buf_t *b, const uint32_t *vals, int64_t n, int bw) {
  int64_t groups = (n + 7) / 8;
  pqw_uleb(b, (uint64_t)groups << 1 | 1);
  uint64_t acc = 0;
  int have = 0;
  for (int64_t i = 0; i < groups * 8; i++) {
    acc |= (uint64_t)(i < n ? vals[i] : 0) << have;
    have += bw;
    while (have >= 8) {
      pqw_u8(b, (uint8_t)acc);
      acc >>= 8;
      have -= 8;
    }
  }
}

static void pqw_page_header(pqw_buf_t *b, int type, int64_t n_values, int encoding,
                            size_t body_len) {
  pqw_tw_t w = {.b = b};
  pqw_i32(&w, 1, type);
  pqw_i32(&w, 2, (int64_t)body_len);
  pqw_i32(&w, 3, (int64_t)body_len);
  pqw_begin(&w, type == 2 ? 7 : 5);
  pqw_i32(&w, 1, n_values);
  pqw_i32(&w, 2, encoding);
  if (type == 0) {
    pqw_i32(&w, 3, 3);
    pqw_i32(&w, 4, 3);
  }
  pqw_end(&w);
  pqw_u8(b, 0);
}

typedef struct {
  int64_t data_off, dict_off, size, n_values;
} pqw_chunk_meta_t;

/* Write column `col` of rows [row0, row0 + n) as one chunk at the end of f. */
static pqw_chunk_meta_t pqw_chunk(pqw_buf_t *f, const pqw_col_t *c, int col,
                                  int64_t row0, int64_t n) {
  pqw_chunk_meta_t m = {.dict_off = -1, .n_values = n};
  int64_t start = (int64_t)f->n;
  int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof *rows);
  uint32_t *lv = malloc((size_t)(n ? n : 1) * sizeof *lv);
  if (!rows || !lv) abort();
  int64_t nn = 0;
  for (int64_t r = 0; r < n; r++) {
    lv[r] = !pqw_is_null(c, col, row0 + r);
    if (lv[r]) rows[nn++] = row0 + r;
  }
  pqw_buf_t body = {0};
  if (c->optional) {
    pqw_buf_t levels = {0};
    pqw_bitpacked(&levels, lv, n, 1);
    pqw_u32(&body, (uint32_t)levels.n);
    pqw_put(&body, levels.p, levels.n);
    free(levels.p);
  }
  if (c->dict) {
    int64_t dict_rows[PQW_DICT_SIZE];
    for (int i = 0; i < PQW_DICT_SIZE; i++) dict_rows[i] = i;
    pqw_buf_t d = {0};
    pqw_plain(&d, c, col, dict_rows, PQW_DICT_SIZE);
    m.dict_off = (int64_t)f->n;
    pqw_page_header(f, 2, PQW_DICT_SIZE, 0, d.n);
    pqw_put(f, d.p, d.n);
    free(d.p);
    uint32_t *idx = malloc((size_t)(nn ? nn : 1) * sizeof *idx);
    if (!idx) abort();
    for (int64_t i = 0; i < nn; i++) idx[i] = (uint32_t)(rows[i] % PQW_DICT_SIZE);
    pqw_u8(&body, 3);
    if (nn) pqw_bitpacked(&body, idx, nn, 3);
    free(idx);
  } else {
    pqw_plain(&body, c, col, rows, nn);
  }
  m.data_off = (int64_t)f->n;
  pqw_page_header(f, 0, n, c->dict ? 8 : 0, body.n);
  pqw_put(f, body.p, body.n);
  m.size = (int64_t)f->n - start;
  free(body.p);
  free(rows);
  free(lv);
  return m;
}

/* A whole file: columns c0..c<n_cols-1> ("c<i>"), row groups of the given
 * sizes. Returns the bytes (malloc'ed) and their count in *size. */
static uint8_t *pqw_file(const pqw_col_t *cols, int n_cols, const int64_t *rg_rows,
                         int n_rgs, size_t *size) {
  pqw_buf_t f = {0};
  pqw_put(&f, "PAR1", 4);
  pqw_chunk_meta_t *meta = malloc((size_t)(n_cols * n_rgs) * sizeof *meta);
  if (!meta) abort();
  int64_t row0 = 0, total = 0;
  for (int g = 0; g < n_rgs; g++) {
    for (int c = 0; c < n_cols; c++)
      meta[g * n_cols + c] = pqw_chunk(&f, &cols[c], c, row0, rg_rows[g]);
    row0 += rg_rows[g];
  }
  total = row0;
  pqw_buf_t foot = {0};
  pqw_tw_t w = {.b = &foot};
  char name[32];
  pqw_i32(&w, 1, 1);
  pqw_list(&w, 2, 12, n_cols + 1);
  pqw_begin(&w, 0);
  pqw_bin(&w, 4, "schema");
  pqw_i32(&w, 5, n_cols);
  pqw_end(&w);
  for (int c = 0; c < n_cols; c++) {
    pqw_begin(&w, 0);
    pqw_i32(&w, 1, cols[c].type);
    if (cols[c].type == CS_PQ_FIXED_LEN_BYTE_ARRAY)
      pqw_i32(&w, 2, cols[c].type_length ? cols[c].type_length : 5);
    pqw_i32(&w, 3, cols[c].optional ? 1 : 0);
    snprintf(name, sizeof name, "c%d", c);
    pqw_bin(&w, 4, name);
    pqw_end(&w);
  }
  pqw_i64(&w, 3, total);
  pqw_list(&w, 4, 12, n_rgs);
  for (int g = 0; g < n_rgs; g++) {
    pqw_begin(&w, 0);
    pqw_list(&w, 1, 12, n_cols);
    int64_t bytes = 0;
    for (int c = 0; c < n_cols; c++) {
      const pqw_chunk_meta_t *m = &meta[g * n_cols + c];
      bytes += m->size;
      pqw_begin(&w, 0);
      pqw_i64(&w, 2, m->data_off);
      pqw_begin(&w, 3);
      pqw_i32(&w, 1, cols[c].type);
      pqw_list(&w, 2, 5, cols[c].dict ? 2 : 1);
      pqw_zz(&w, cols[c].dict ? 8 : 0);
      if (cols[c].dict) pqw_zz(&w, 3);
      pqw_list(&w, 3, 8, 1);
      snprintf(name, sizeof name, "c%d", c);
      pqw_bin(&w, 0, name);
      pqw_i32(&w, 4, 0);
      pqw_i64(&w, 5, m->n_values);
      pqw_i64(&w, 6, m->size);
      pqw_i64(&w, 7, m->size);
      pqw_i64(&w, 9, m->data_off);
      if (m->dict_off >= 0) pqw_i64(&w, 11, m->dict_off);
      pqw_end(&w);
      pqw_end(&w);
    }
    pqw_i64(&w, 2, bytes);
    pqw_i64(&w, 3, rg_rows[g]);
    pqw_end(&w);
  }
  pqw_bin(&w, 6, "coldstart pq_test_writer");
  pqw_u8(&foot, 0);
  pqw_put(&f, foot.p, foot.n);
  pqw_u32(&f, (uint32_t)foot.n);
  pqw_put(&f, "PAR1", 4);
  free(foot.p);
  free(meta);
  *size = f.n;
  return f.p;
}

#endif

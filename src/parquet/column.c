/* column.c: decoding one column chunk: page headers, decompression,
 * repetition/definition levels, dictionary and data pages (v1 and v2), then
 * walking the decoded chunk row by row. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parquet/pq_internal.h"

void cs_pq_chunk_init(cs_pq_chunk_t *c) { memset(c, 0, sizeof *c); }

void cs_pq_chunk_free(cs_pq_chunk_t *c) {
  if (!c) return;
  free(c->def);
  free(c->rep);
  free(c->values);
  free(c->offsets);
  free(c->bytes);
  memset(c, 0, sizeof *c);
}

/* Grow *p to hold `need` items of `elem` bytes (amortized doubling). *cap
 * counts BYTES: one chunk is reused for columns of different widths (an
 * INT32 column then a DOUBLE one), so a capacity in items would be wrong. */
static int grow(void **p, int64_t *cap, int64_t need, size_t elem) {
  if (need < 0 || (uint64_t)need > (uint64_t)INT64_MAX / 2 / elem) return -1;
  int64_t bytes = need * (int64_t)elem;
  if (bytes <= *cap && *p) return 0;
  int64_t n = *cap > 0 ? *cap : 1024;
  while (n < bytes) n *= 2;
  void *q = realloc(*p, (size_t)n);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

static int grow_buf(uint8_t **p, size_t *cap, size_t need) {
  if (need <= *cap && *p) return 0;
  size_t n = need < 4096 ? 4096 : need;
  uint8_t *q = realloc(*p, n);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* Bytes per stored value for fixed-width types; 0 for byte arrays. */
static size_t value_width(int type) {
  switch (type) {
  case CS_PQ_BOOLEAN: return 1;
  case CS_PQ_INT32: case CS_PQ_FLOAT: return 4;
  case CS_PQ_INT64: case CS_PQ_DOUBLE: return 8;
  case CS_PQ_INT96: return 12;
  default: return 0;
  }
}

typedef struct page_ctx {
  cs_pq_file_t *f;
  const cs_pq_column_t *col;
  cs_pq_chunk_t *out;
  cs_err_t *err;
  int codec;
  int have_dict;
} page_ctx_t;

static int nomem(page_ctx_t *pc) {
  return cs_err_set(pc->err, CS_ENOMEM, "%s: column '%s': out of memory",
                    pc->f->name, pc->col->path);
}

static int fail(page_ctx_t *pc, int code, int64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(page_ctx_t *pc, int code, int64_t off, const char *fmt, ...) {
  char detail[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return cs_err_set(pc->err, code, "%s: offset %lld: column '%s': %s",
                    pc->f->name, (long long)off, pc->col->path, detail);
}

/* Make room for `n` more values of `out`'s type. */
static int reserve_values(page_ctx_t *pc, cs_pq_chunk_t *out, int64_t n) {
  size_t w = value_width(out->type);
  if (w) {
    if (grow(&out->values, &out->cap_values, out->n_values + n, w))
      return nomem(pc);
  } else if (grow((void **)&out->offsets, &out->cap_offsets, out->n_values + n + 1,
                  sizeof(int64_t))) {
    return nomem(pc);
  }
  return 0;
}

static int append_bytes(page_ctx_t *pc, cs_pq_chunk_t *out, const uint8_t *s,
                        size_t n) {
  int64_t used = out->offsets[out->n_values];
  if (grow((void **)&out->bytes, &out->cap_bytes, used + (int64_t)n + 1, 1))
    return nomem(pc);
  if (n) memcpy(out->bytes + used, s, n);
  out->offsets[++out->n_values] = used + (int64_t)n;
  return 0;
}

/* PLAIN values into `out` (the chunk or the dictionary). */
static int decode_plain(page_ctx_t *pc, cs_pq_chunk_t *out, const uint8_t *src,
                        size_t len, int64_t n, int64_t off) {
  size_t w = value_width(out->type);
  if (reserve_values(pc, out, n)) return CS_ENOMEM;
  if (out->type == CS_PQ_BOOLEAN) {
    if ((uint64_t)(n + 7) / 8 > len)
      return fail(pc, CS_ETRUNC, off, "%lld PLAIN booleans need more than %lld "
                  "bytes", (long long)n, (long long)len);
    uint8_t *dst = (uint8_t *)out->values + out->n_values;
    for (int64_t i = 0; i < n; i++) dst[i] = (src[i >> 3] >> (i & 7)) & 1;
    out->n_values += n;
    return 0;
  }
  if (w) {
    if ((uint64_t)n * w > len)
      return fail(pc, CS_ETRUNC, off, "%lld PLAIN values need more than the "
                  "page's %lld bytes", (long long)n, (long long)len);
    memcpy((uint8_t *)out->values + (size_t)out->n_values * w, src, (size_t)n * w);
    out->n_values += n;
    return 0;
  }
  if (out->type == CS_PQ_FIXED_LEN_BYTE_ARRAY) {
    size_t tl = (size_t)out->type_length;
    if ((uint64_t)n * tl > len)
      return fail(pc, CS_ETRUNC, off, "%lld fixed-length values need more than "
                  "the page's %lld bytes", (long long)n, (long long)len);
    for (int64_t i = 0; i < n; i++)
      if (append_bytes(pc, out, src + (size_t)i * tl, tl)) return CS_ENOMEM;
    return 0;
  }
  size_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    if (len - pos < 4)
      return fail(pc, CS_ETRUNC, off + (int64_t)pos, "byte array %lld of %lld "
                  "runs past the page", (long long)i, (long long)n);
    uint32_t l;
    memcpy(&l, src + pos, 4);
    pos += 4;
    if (l > len - pos)
      return fail(pc, CS_ETRUNC, off + (int64_t)pos, "byte array of %lld bytes "
                  "runs past the page (%lld left)", (long long)l,
                  (long long)(len - pos));
    if (append_bytes(pc, out, src + pos, l)) return CS_ENOMEM;
    pos += l;
  }
  return 0;
}

static int decode_dict_indices(page_ctx_t *pc, cs_pq_chunk_t *out,
                               const uint8_t *src, size_t len, int64_t n,
                               int64_t off) {
  cs_pq_file_t *f = pc->f;
  const cs_pq_chunk_t *dict = &f->dict;
  if (!pc->have_dict)
    return fail(pc, CS_EFORMAT, off, "dictionary-encoded page without a "
                "dictionary page");
  if (n == 0) return 0;
  if (len < 1)
    return fail(pc, CS_ETRUNC, off, "dictionary page data is empty");
  int bw = src[0];
  if (bw > 32)
    return fail(pc, CS_EFORMAT, off, "dictionary index bit width %d", bw);
  if (grow_buf((uint8_t **)&f->idx, &f->cap_idx, (size_t)n * sizeof(uint32_t)))
    return nomem(pc);
  int rc = cs__rle_decode(src + 1, len - 1, bw, n, f->idx, f->name, off + 1,
                          pc->err);
  if (rc) return rc;
  if (reserve_values(pc, out, n)) return CS_ENOMEM;
  const uint32_t *idx = f->idx;
  uint32_t n_dict = (uint32_t)dict->n_values;
  for (int64_t i = 0; i < n; i++)
    if (idx[i] >= n_dict)
      return fail(pc, CS_EFORMAT, off, "dictionary index %lld out of range "
                  "(dictionary has %lld values)", (long long)idx[i],
                  (long long)n_dict);
  size_t w = value_width(out->type);
  if (w == 8) {
    const uint64_t *d = dict->values;
    uint64_t *o = (uint64_t *)out->values + out->n_values;
    for (int64_t i = 0; i < n; i++) o[i] = d[idx[i]];
  } else if (w == 4) {
    const uint32_t *d = dict->values;
    uint32_t *o = (uint32_t *)out->values + out->n_values;
    for (int64_t i = 0; i < n; i++) o[i] = d[idx[i]];
  } else if (w) {
    uint8_t *o = (uint8_t *)out->values + (size_t)out->n_values * w;
    for (int64_t i = 0; i < n; i++)
      memcpy(o + (size_t)i * w, (const uint8_t *)dict->values + (size_t)idx[i] * w, w);
  } else {
    for (int64_t i = 0; i < n; i++) {
      int64_t a = dict->offsets[idx[i]], b = dict->offsets[idx[i] + 1];
      if (append_bytes(pc, out, dict->bytes + a, (size_t)(b - a))) return CS_ENOMEM;
    }
    return 0;
  }
  out->n_values += n;
  return 0;
}

/* DELTA_LENGTH_BYTE_ARRAY (lengths, then the bytes) and DELTA_BYTE_ARRAY
 * (prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY; each value is
 * the previous one's prefix plus its suffix). */
static int decode_delta_strings(page_ctx_t *pc, int encoding, const uint8_t *src,
                                size_t len, int64_t n, int64_t off) {
  cs_pq_chunk_t *out = pc->out;
  if (n == 0) return 0;
  int64_t *prefix = NULL, *lens = malloc((size_t)n * sizeof *lens);
  size_t pos = 0, used = 0;
  int rc = lens ? 0 : nomem(pc);
  if (!rc && encoding == 7) {
    prefix = malloc((size_t)n * sizeof *prefix);
    rc = prefix ? cs__delta_decode(src, len, n, prefix, &used, pc->f->name, off,
                                   pc->err)
                : nomem(pc);
    pos = used;
  }
  if (!rc)
    rc = cs__delta_decode(src + pos, len - pos, n, lens, &used, pc->f->name,
                          off + (int64_t)pos, pc->err);
  if (!rc) pos += used;
  if (!rc && reserve_values(pc, out, n)) rc = CS_ENOMEM;
  for (int64_t i = 0; i < n && !rc; i++) {
    int64_t pre = prefix ? prefix[i] : 0;
    int64_t prev_len = i ? out->offsets[out->n_values] - out->offsets[out->n_values - 1] : 0;
    if (lens[i] < 0 || (uint64_t)lens[i] > len - pos || pre < 0 || pre > prev_len ||
        (i == 0 && pre != 0)) {
      rc = fail(pc, CS_EFORMAT, off + (int64_t)pos, "%s value %lld: bad length "
                "%lld or prefix %lld", cs_pq_encoding_name(encoding),
                (long long)i, (long long)lens[i], (long long)pre);
      break;
    }
    int64_t start = out->offsets[out->n_values];
    if (grow((void **)&out->bytes, &out->cap_bytes, start + pre + lens[i] + 1, 1)) {
      rc = nomem(pc);
      break;
    }
    if (pre) memmove(out->bytes + start, out->bytes + out->offsets[out->n_values - 1], (size_t)pre);
    memcpy(out->bytes + start + pre, src + pos, (size_t)lens[i]);
    pos += (size_t)lens[i];
    out->offsets[++out->n_values] = start + pre + lens[i];
    if (out->type == CS_PQ_FIXED_LEN_BYTE_ARRAY && pre + lens[i] != out->type_length)
      rc = fail(pc, CS_EFORMAT, off, "fixed-length value %lld has %lld bytes",
                (long long)i, (long long)(pre + lens[i]));
  }
  free(prefix);
  free(lens);
  return rc;
}

static int decode_values(page_ctx_t *pc, int encoding, const uint8_t *src,
                         size_t len, int64_t n, int64_t off) {
  cs_pq_chunk_t *out = pc->out;
  cs_pq_file_t *f = pc->f;
  int type = out->type, rc;
  switch (encoding) {
  case 0:
    return decode_plain(pc, out, src, len, n, off);
  case 2:
  case 8:
    return decode_dict_indices(pc, out, src, len, n, off);
  case 3: { /* RLE booleans, 4-byte length prefix */
    if (type != CS_PQ_BOOLEAN)
      return fail(pc, CS_EUNSUPPORTED, off, "RLE value encoding for type "
                  "%d", type);
    if (len < 4)
      return fail(pc, CS_ETRUNC, off, "RLE boolean data lacks its length");
    uint32_t l;
    memcpy(&l, src, 4);
    if (l > len - 4)
      return fail(pc, CS_ETRUNC, off, "RLE boolean data of %lld bytes runs "
                  "past the page (%lld left)", (long long)l, (long long)len - 4);
    if (grow_buf((uint8_t **)&f->idx, &f->cap_idx, (size_t)(n ? n : 1) * 4))
      return nomem(pc);
    if ((rc = cs__rle_decode(src + 4, l, 1, n, f->idx, f->name, off + 4, pc->err)))
      return rc;
    if (reserve_values(pc, out, n)) return CS_ENOMEM;
    uint8_t *o = (uint8_t *)out->values + out->n_values;
    for (int64_t i = 0; i < n; i++) o[i] = (uint8_t)f->idx[i];
    out->n_values += n;
    return 0;
  }
  case 5: { /* DELTA_BINARY_PACKED */
    if (type != CS_PQ_INT32 && type != CS_PQ_INT64)
      return fail(pc, CS_EFORMAT, off, "DELTA_BINARY_PACKED for type %d", type);
    if (reserve_values(pc, out, n)) return CS_ENOMEM;
    int64_t *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    if (!tmp) return nomem(pc);
    size_t used;
    rc = cs__delta_decode(src, len, n, tmp, &used, f->name, off, pc->err);
    if (!rc) {
      if (type == CS_PQ_INT64) {
        memcpy((int64_t *)out->values + out->n_values, tmp, (size_t)n * 8);
      } else {
        int32_t *o = (int32_t *)out->values + out->n_values;
        for (int64_t i = 0; i < n; i++) o[i] = (int32_t)(uint32_t)tmp[i];
      }
      out->n_values += n;
    }
    free(tmp);
    return rc;
  }
  case 6:   /* DELTA_LENGTH_BYTE_ARRAY */
  case 7: { /* DELTA_BYTE_ARRAY */
    if (type != CS_PQ_BYTE_ARRAY && !(encoding == 7 && type == CS_PQ_FIXED_LEN_BYTE_ARRAY))
      return fail(pc, CS_EFORMAT, off, "%s for type %d",
                  cs_pq_encoding_name(encoding), type);
    return decode_delta_strings(pc, encoding, src, len, n, off);
  }
  case 9: { /* BYTE_STREAM_SPLIT */
    size_t w = type == CS_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)out->type_length
                                                  : value_width(type);
    if (type == CS_PQ_BOOLEAN || type == CS_PQ_INT96 || w == 0)
      return fail(pc, CS_EFORMAT, off, "BYTE_STREAM_SPLIT for type %d", type);
    if (type == CS_PQ_FIXED_LEN_BYTE_ARRAY) {
      uint8_t *tmp = malloc((size_t)(n ? n : 1) * w);
      if (!tmp) return nomem(pc);
      rc = cs__bss_decode(src, len, (int)w, n, tmp, f->name, off, pc->err);
      if (!rc) rc = decode_plain(pc, out, tmp, (size_t)n * w, n, off);
      free(tmp);
      return rc;
    }
    if (reserve_values(pc, out, n)) return CS_ENOMEM;
    rc = cs__bss_decode(src, len, (int)w, n,
                        (uint8_t *)out->values + (size_t)out->n_values * w,
                        f->name, off, pc->err);
    if (!rc) out->n_values += n;
    return rc;
  }
  default:
    return fail(pc, CS_EUNSUPPORTED, off, "value encoding %d (%s) is not "
                "supported", encoding, cs_pq_encoding_name(encoding));
  }
}

/* Decode `n` levels (max `max_level`) from RLE data into dst. */
static int decode_levels(page_ctx_t *pc, const uint8_t *src, size_t len,
                         int max_level, int64_t n, int16_t *dst, int64_t off) {
  cs_pq_file_t *f = pc->f;
  if (grow_buf((uint8_t **)&f->idx, &f->cap_idx, (size_t)(n ? n : 1) * 4))
    return nomem(pc);
  int rc = cs__rle_decode(src, len, cs__bit_width((uint32_t)max_level), n,
                          f->idx, f->name, off, pc->err);
  if (rc) return rc;
  for (int64_t i = 0; i < n; i++) {
    if (f->idx[i] > (uint32_t)max_level)
      return fail(pc, CS_EFORMAT, off, "level %lld above the column's maximum "
                  "%d", (long long)f->idx[i], max_level);
    dst[i] = (int16_t)f->idx[i];
  }
  return 0;
}

/* v1 levels: [u32 length][RLE data]; advances *pos. */
static int decode_levels_v1(page_ctx_t *pc, const uint8_t *page, size_t len,
                            size_t *pos, int encoding, int max_level, int64_t n,
                            int16_t *dst, int64_t off) {
  if (encoding != 3)
    return fail(pc, CS_EUNSUPPORTED, off, "level encoding %d is not "
                "supported (only RLE)", encoding);
  if (len - *pos < 4)
    return fail(pc, CS_ETRUNC, off + (int64_t)*pos, "levels lack their "
                "length");
  uint32_t l;
  memcpy(&l, page + *pos, 4);
  *pos += 4;
  if (l > len - *pos)
    return fail(pc, CS_ETRUNC, off + (int64_t)*pos, "levels of %lld bytes run "
                "past the page (%lld left)", (long long)l,
                (long long)(len - *pos));
  int rc = decode_levels(pc, page + *pos, l, max_level, n, dst,
                         off + (int64_t)*pos);
  *pos += l;
  return rc;
}

static int64_t count_nonnull(const cs_pq_chunk_t *out, int64_t from, int64_t n) {
  if (!out->def) return n;
  int64_t k = 0;
  const int16_t *d = out->def + from;
  int16_t m = (int16_t)out->max_def;
  for (int64_t i = 0; i < n; i++) k += d[i] == m;
  return k;
}

/* Decompress a whole page body into f->page; returns its pointer. */
static int page_body(page_ctx_t *pc, const uint8_t *data, size_t csize,
                     size_t usize, int64_t off, const uint8_t **body) {
  cs_pq_file_t *f = pc->f;
  if (pc->codec == 0) {
    if (csize != usize)
      return fail(pc, CS_EFORMAT, off, "uncompressed page of %lld bytes, header "
                  "says %lld", (long long)csize, (long long)usize);
    *body = data;
    return 0;
  }
  if (grow_buf(&f->page, &f->cap_page, usize + 8)) return nomem(pc);
  int rc = cs__pq_decompress(pc->codec, data, csize, f->page, usize, f->name,
                             off, pc->err);
  if (rc) return rc;
  *body = f->page;
  return 0;
}

static int read_dictionary(page_ctx_t *pc, const cs__page_header_t *ph,
                           const uint8_t *data, int64_t off) {
  cs_pq_file_t *f = pc->f;
  if (pc->have_dict)
    return fail(pc, CS_EFORMAT, off, "second dictionary page in a column "
                "chunk");
  if (pc->out->n_levels)
    return fail(pc, CS_EFORMAT, off, "dictionary page after data pages");
  if (ph->encoding != 0 && ph->encoding != 2)
    return fail(pc, CS_EUNSUPPORTED, off, "dictionary encoding %d", ph->encoding);
  const uint8_t *body;
  int rc = page_body(pc, data, (size_t)ph->compressed_size,
                     (size_t)ph->uncompressed_size, off, &body);
  if (rc) return rc;
  cs_pq_chunk_t *d = &f->dict;
  d->type = pc->out->type;
  d->type_length = pc->out->type_length;
  d->n_values = 0;
  if (d->offsets) d->offsets[0] = 0;
  else if (grow((void **)&d->offsets, &d->cap_offsets, 1, sizeof(int64_t)))
    return nomem(pc);
  d->offsets[0] = 0;
  if ((rc = decode_plain(pc, d, body, (size_t)ph->uncompressed_size,
                         ph->num_values, off)))
    return rc;
  pc->have_dict = 1;
  return 0;
}

static int reserve_levels(page_ctx_t *pc, int64_t n) {
  cs_pq_chunk_t *out = pc->out;
  int64_t need = out->n_levels + n;
  if (need <= out->cap_levels && (out->def || !out->max_def) &&
      (out->rep || !out->max_rep))
    return 0;
  int64_t cap = out->cap_levels ? out->cap_levels : 1024;
  while (cap < need) cap *= 2;
  if (out->max_def) {
    int16_t *q = realloc(out->def, (size_t)cap * sizeof *q);
    if (!q) return nomem(pc);
    out->def = q;
  }
  if (out->max_rep) {
    int16_t *q = realloc(out->rep, (size_t)cap * sizeof *q);
    if (!q) return nomem(pc);
    out->rep = q;
  }
  out->cap_levels = cap;
  return 0;
}

static int read_data_page(page_ctx_t *pc, const cs__page_header_t *ph,
                          const uint8_t *data, int64_t off) {
  cs_pq_chunk_t *out = pc->out;
  int64_t n = ph->num_values, at = out->n_levels;
  size_t csize = (size_t)ph->compressed_size, usize = (size_t)ph->uncompressed_size;
  int rc;
  if ((rc = reserve_levels(pc, n))) return rc;
  const uint8_t *vals;
  size_t vlen;
  if (ph->type == 0) {
    const uint8_t *body;
    if ((rc = page_body(pc, data, csize, usize, off, &body))) return rc;
    size_t pos = 0;
    /* levels live in the decompressed body: errors report the page start */
    int64_t loff = off;
    if (out->max_rep &&
        (rc = decode_levels_v1(pc, body, usize, &pos, ph->rep_encoding,
                               out->max_rep, n, out->rep + at, loff)))
      return rc;
    if (out->max_def &&
        (rc = decode_levels_v1(pc, body, usize, &pos, ph->def_encoding,
                               out->max_def, n, out->def + at, loff)))
      return rc;
    vals = body + pos;
    vlen = usize - pos;
  } else {
    int64_t lv = ph->rep_bytes + ph->def_bytes;
    if (ph->rep_bytes < 0 || ph->def_bytes < 0 || lv > (int64_t)csize ||
        lv > (int64_t)usize)
      return fail(pc, CS_EFORMAT, off, "v2 level sizes %lld exceed the page "
                  "(%lld bytes)", (long long)lv, (long long)csize);
    if (ph->num_rows < 0 || ph->num_rows > n || ph->num_nulls < 0 ||
        ph->num_nulls > n)
      return fail(pc, CS_EFORMAT, off, "v2 page row/null counts out of range "
                  "(%lld values)", (long long)n);
    if (out->max_rep &&
        (rc = decode_levels(pc, data, (size_t)ph->rep_bytes, out->max_rep, n,
                            out->rep + at, off)))
      return rc;
    if (out->max_def &&
        (rc = decode_levels(pc, data + ph->rep_bytes, (size_t)ph->def_bytes,
                            out->max_def, n, out->def + at,
                            off + ph->rep_bytes)))
      return rc;
    const uint8_t *vsrc = data + lv;
    size_t vcsize = csize - (size_t)lv, vusize = usize - (size_t)lv;
    if (ph->is_compressed) {
      if ((rc = page_body(pc, vsrc, vcsize, vusize, off + lv, &vals))) return rc;
    } else {
      if (vcsize != vusize)
        return fail(pc, CS_EFORMAT, off, "uncompressed v2 page values of %lld "
                    "bytes, header says %lld", (long long)vcsize,
                    (long long)vusize);
      vals = vsrc;
    }
    vlen = vusize;
  }
  if (out->max_rep && at == 0 && n > 0 && out->rep[0] != 0)
    return fail(pc, CS_EFORMAT, off, "column chunk starts inside a row "
                "(repetition level %d)", out->rep[0]);
  int64_t nn = count_nonnull(out, at, n);
  if (ph->type == 3 && out->max_def && n - nn != ph->num_nulls)
    return fail(pc, CS_EFORMAT, off, "v2 page says %lld nulls, levels say %lld",
                (long long)ph->num_nulls, (long long)(n - nn));
  out->n_levels += n;
  return decode_values(pc, ph->encoding, vals, vlen, nn, off);
}

int cs_pq_read_chunk(cs_pq_file_t *f, int rg_index, int column,
                     cs_pq_chunk_t *out, cs_err_t *err) {
  if (rg_index < 0 || rg_index >= f->n_row_groups || column < 0 ||
      column >= f->n_columns)
    return cs_err_set(err, CS_EINVAL, "%s: no row group %d / column %d",
                      f->name, rg_index, column);
  const cs_pq_row_group_t *rg = &f->row_groups[rg_index];
  const cs_pq_column_meta_t *cm = &rg->columns[column];
  const cs_pq_column_t *col = &f->columns[column];
  page_ctx_t pc = {f, col, out, err, cm->codec, 0};
  out->file = f->name;
  out->type = col->type;
  out->type_length = col->type_length;
  if (out->max_def != col->max_def || out->max_rep != col->max_rep) {
    /* level arrays depend on the column's shape; start fresh */
    free(out->def);
    free(out->rep);
    out->def = out->rep = NULL;
    out->cap_levels = 0;
  }
  out->max_def = col->max_def;
  out->max_rep = col->max_rep;
  out->n_rows = rg->num_rows;
  out->n_levels = 0;
  out->n_values = 0;
  if (!value_width(out->type)) {
    if (grow((void **)&out->offsets, &out->cap_offsets, 1, sizeof(int64_t)))
      return nomem(&pc);
    out->offsets[0] = 0;
  }
  int64_t start = cm->data_page_offset;
  if (cm->dictionary_page_offset > 0 && cm->dictionary_page_offset < start)
    start = cm->dictionary_page_offset;
  int64_t len = cm->total_compressed_size;
  if (start < 4 || len > f->size || start > f->size - len)
    return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: column '%s' chunk of "
                      "%lld bytes lies outside the file (%lld bytes)", f->name,
                      (long long)start, col->path, (long long)len,
                      (long long)f->size);
  if (grow_buf(&f->raw, &f->cap_raw, (size_t)len + 1)) return nomem(&pc);
  int rc = cs__pq_pread(f, f->raw, (size_t)len, start, err);
  if (rc) return rc;
  int64_t pos = 0;
  while (out->n_levels < cm->num_values) {
    if (pos >= len)
      return cs_err_set(err, CS_ETRUNC, "%s: offset %lld: column '%s' chunk ends "
                        "after %lld of %lld values", f->name,
                        (long long)(start + pos), col->path,
                        (long long)out->n_levels, (long long)cm->num_values);
    cs__tr_t tr;
    cs__tr_init(&tr, f->raw + pos, (size_t)(len - pos), start + pos, f->name, err);
    cs__page_header_t ph;
    if ((rc = cs__pq_read_page_header(&tr, &ph))) return rc;
    int64_t body_off = cs__tr_pos(&tr);
    pos = body_off - start;
    if (ph.compressed_size > len - pos)
      return cs_err_set(err, CS_ETRUNC, "%s: offset %lld: column '%s' page of "
                        "%lld bytes runs past its chunk (%lld bytes left)",
                        f->name, (long long)body_off, col->path,
                        (long long)ph.compressed_size, (long long)(len - pos));
    const uint8_t *data = f->raw + pos;
    if (ph.type == 2) {
      if (!ph.has_dict)
        return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: dictionary page "
                          "without its header", f->name, (long long)body_off);
      rc = read_dictionary(&pc, &ph, data, body_off);
    } else if (ph.type == 0 || ph.type == 3) {
      if ((ph.type == 0 && !ph.has_data) || (ph.type == 3 && !ph.has_v2))
        return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: data page without "
                          "its header", f->name, (long long)body_off);
      if (ph.num_values > cm->num_values - out->n_levels)
        return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: column '%s' pages "
                          "hold more than the chunk's %lld values", f->name,
                          (long long)body_off, col->path,
                          (long long)cm->num_values);
      if (!col->max_rep && ph.num_values > rg->num_rows - out->n_levels)
        return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: column '%s' pages "
                          "hold more than the row group's %lld rows", f->name,
                          (long long)body_off, col->path,
                          (long long)rg->num_rows);
      rc = read_data_page(&pc, &ph, data, body_off);
    }
    if (rc) return rc;
    pos += ph.compressed_size;
  }
  /* the chunk must hold exactly the row group's rows */
  int64_t rows = out->n_levels;
  if (out->max_rep) {
    rows = 0;
    for (int64_t i = 0; i < out->n_levels; i++) rows += out->rep[i] == 0;
  }
  if (rows != rg->num_rows)
    return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: column '%s' chunk holds "
                      "%lld rows, its row group %lld", f->name, (long long)start,
                      col->path, (long long)rows, (long long)rg->num_rows);
  return 0;
}

void cs_pq_cursor_init(cs_pq_cursor_t *cur, const cs_pq_chunk_t *chunk,
                       const cs_pq_column_t *col) {
  cur->chunk = chunk;
  cur->col = col;
  cur->slot = 0;
  cur->value = 0;
}

int cs_pq_cursor_next(cs_pq_cursor_t *cur, cs_pq_row_t *row, cs_err_t *err) {
  const cs_pq_chunk_t *c = cur->chunk;
  int64_t s = cur->slot;
  if (s >= c->n_levels)
    return cs_err_set(err, CS_ERANGE, "%s: column '%s': no more rows",
                      c->file ? c->file : "?", cur->col->path);
  row->slot = s;
  row->value = cur->value;
  int d = c->def ? c->def[s] : c->max_def;
  if (!c->max_rep) {
    row->is_null = d < c->max_def;
    row->n_elems = row->is_null ? 0 : 1;
    cur->value += row->n_elems;
    cur->slot = s + 1;
    return 0;
  }
  if (d < cur->col->def_elem) {
    row->is_null = d < cur->col->def_list;
    row->n_elems = 0;
    cur->slot = s + 1;
    if (cur->slot < c->n_levels && c->rep[cur->slot] != 0)
      return cs_err_set(err, CS_EFORMAT, "%s: column '%s': level slot %lld "
                        "continues a null or empty list", c->file ? c->file : "?",
                        cur->col->path, (long long)cur->slot);
    return 0;
  }
  row->is_null = 0;
  int64_t e = s + 1;
  while (e < c->n_levels && c->rep[e] != 0) {
    int de = c->def ? c->def[e] : c->max_def;
    if (de < cur->col->def_elem)
      return cs_err_set(err, CS_EFORMAT, "%s: column '%s': level slot %lld: "
                        "missing list element inside a list", c->file ? c->file : "?",
                        cur->col->path, (long long)e);
    e++;
  }
  row->n_elems = e - s;
  cur->value += count_nonnull(c, s, e - s);
  cur->slot = e;
  return 0;
}

double cs_pq_value_double(const cs_pq_chunk_t *c, int64_t i) {
  switch (c->type) {
  case CS_PQ_BOOLEAN: return ((const uint8_t *)c->values)[i];
  case CS_PQ_INT32: return ((const int32_t *)c->values)[i];
  case CS_PQ_INT64: return (double)((const int64_t *)c->values)[i];
  case CS_PQ_FLOAT: return ((const float *)c->values)[i];
  case CS_PQ_DOUBLE: return ((const double *)c->values)[i];
  default: return 0.0;
  }
}

int64_t cs_pq_value_int64(const cs_pq_chunk_t *c, int64_t i) {
  switch (c->type) {
  case CS_PQ_BOOLEAN: return ((const uint8_t *)c->values)[i];
  case CS_PQ_INT32: return ((const int32_t *)c->values)[i];
  case CS_PQ_INT64: return ((const int64_t *)c->values)[i];
  case CS_PQ_FLOAT: return (int64_t)((const float *)c->values)[i];
  case CS_PQ_DOUBLE: return (int64_t)((const double *)c->values)[i];
  default: return 0;
  }
}

/* thrift.c: a bounds-checked reader for the Thrift compact protocol that
 * Parquet uses for its footer and page headers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "parquet/pq_internal.h"

void cs__tr_init(cs__tr_t *tr, const void *data, size_t size, int64_t file_off,
                 const char *name, cs_err_t *err) {
  tr->base = tr->p = data;
  tr->end = tr->base + size;
  tr->file_off = file_off;
  tr->name = name;
  tr->err = err;
  tr->depth = 0;
}

int cs__tr_fail(cs__tr_t *tr, int code, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return cs_err_set(tr->err, code, "%s: offset %lld: %s", tr->name,
                    (long long)cs__tr_pos(tr), detail);
}

int cs__tr_varint(cs__tr_t *tr, uint64_t *v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (tr->p >= tr->end)
      return cs__tr_fail(tr, CS_ETRUNC, "thrift varint runs past the end");
    uint8_t b = *tr->p++;
    if (shift == 63 && (b & 0x7e))
      return cs__tr_fail(tr, CS_EFORMAT, "thrift varint overflows 64 bits");
    out |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = out;
      return 0;
    }
  }
  return cs__tr_fail(tr, CS_EFORMAT, "thrift varint longer than 10 bytes");
}

static int64_t zigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

int cs__tr_field(cs__tr_t *tr, int *last_id, int *id, int *type) {
  *id = 0;
  *type = CS__T_STOP;
  if (tr->p >= tr->end)
    return cs__tr_fail(tr, CS_ETRUNC, "thrift struct runs past the end");
  uint8_t b = *tr->p++;
  *type = b & 0x0f;
  if (*type == CS__T_STOP) {
    *id = 0;
    return 0;
  }
  int delta = b >> 4;
  if (delta) {
    *id = *last_id + delta;
  } else {
    uint64_t v;
    int rc = cs__tr_varint(tr, &v);
    if (rc) return rc;
    int64_t fid = zigzag(v);
    if (fid < -32768 || fid > 32767)
      return cs__tr_fail(tr, CS_EFORMAT, "thrift field id %lld out of range",
                         (long long)fid);
    *id = (int)fid;
  }
  if (*type > CS__T_STRUCT)
    return cs__tr_fail(tr, CS_EFORMAT, "thrift field %d has bad type %d", *id,
                       *type);
  *last_id = *id;
  return 0;
}

int cs__tr_int(cs__tr_t *tr, int type, int64_t *v) {
  uint64_t u;
  int rc;
  switch (type) {
  case CS__T_TRUE: *v = 1; return 0;
  case CS__T_FALSE: *v = 0; return 0;
  case CS__T_I8:
    if (tr->p >= tr->end)
      return cs__tr_fail(tr, CS_ETRUNC, "thrift byte runs past the end");
    *v = (int8_t)*tr->p++;
    return 0;
  case CS__T_I16:
  case CS__T_I32:
  case CS__T_I64:
    if ((rc = cs__tr_varint(tr, &u))) return rc;
    *v = zigzag(u);
    if (type == CS__T_I16 && (*v < -32768 || *v > 32767))
      return cs__tr_fail(tr, CS_EFORMAT, "thrift i16 out of range");
    if (type == CS__T_I32 && (*v < INT32_MIN || *v > INT32_MAX))
      return cs__tr_fail(tr, CS_EFORMAT, "thrift i32 out of range");
    return 0;
  default:
    return cs__tr_fail(tr, CS_EFORMAT, "expected a thrift integer, got type %d",
                       type);
  }
}

int cs__tr_binary(cs__tr_t *tr, int type, const uint8_t **data, size_t *len) {
  if (type != CS__T_BINARY)
    return cs__tr_fail(tr, CS_EFORMAT, "expected a thrift string, got type %d",
                       type);
  uint64_t n;
  int rc = cs__tr_varint(tr, &n);
  if (rc) return rc;
  if (n > (uint64_t)(tr->end - tr->p))
    return cs__tr_fail(tr, CS_ETRUNC, "thrift string of %llu bytes runs past "
                       "the end", (unsigned long long)n);
  *data = tr->p;
  *len = (size_t)n;
  tr->p += n;
  return 0;
}

int cs__tr_list(cs__tr_t *tr, int type, int *elem_type, int64_t *n) {
  if (type != CS__T_LIST && type != CS__T_SET)
    return cs__tr_fail(tr, CS_EFORMAT, "expected a thrift list, got type %d",
                       type);
  if (tr->p >= tr->end)
    return cs__tr_fail(tr, CS_ETRUNC, "thrift list runs past the end");
  uint8_t b = *tr->p++;
  *elem_type = b & 0x0f;
  uint64_t count = b >> 4;
  if (count == 15) {
    int rc = cs__tr_varint(tr, &count);
    if (rc) return rc;
  }
  if (*elem_type == CS__T_STOP || *elem_type > CS__T_STRUCT)
    return cs__tr_fail(tr, CS_EFORMAT, "thrift list has bad element type %d",
                       *elem_type);
  if (count > (uint64_t)(tr->end - tr->p))
    return cs__tr_fail(tr, CS_ETRUNC, "thrift list of %llu elements runs past "
                       "the end", (unsigned long long)count);
  *n = (int64_t)count;
  return 0;
}

int cs__tr_expect(cs__tr_t *tr, int type, int want, const char *what) {
  if (type != want)
    return cs__tr_fail(tr, CS_EFORMAT, "%s has thrift type %d, expected %d",
                       what, type, want);
  return 0;
}

int cs__tr_skip(cs__tr_t *tr, int type) {
  int rc = 0;
  int64_t v, n;
  const uint8_t *d;
  size_t len;
  if (++tr->depth > CS__PQ_MAX_DEPTH) {
    tr->depth--;
    return cs__tr_fail(tr, CS_EFORMAT, "thrift nesting deeper than %d",
                       CS__PQ_MAX_DEPTH);
  }
  switch (type) {
  case CS__T_TRUE:
  case CS__T_FALSE:
    break;
  case CS__T_I8:
  case CS__T_I16:
  case CS__T_I32:
  case CS__T_I64:
    rc = cs__tr_int(tr, type, &v);
    break;
  case CS__T_DOUBLE:
    if (tr->end - tr->p < 8)
      rc = cs__tr_fail(tr, CS_ETRUNC, "thrift double runs past the end");
    else
      tr->p += 8;
    break;
  case CS__T_BINARY:
    rc = cs__tr_binary(tr, type, &d, &len);
    break;
  case CS__T_LIST:
  case CS__T_SET: {
    int et;
    if ((rc = cs__tr_list(tr, type, &et, &n))) break;
    for (int64_t i = 0; i < n && !rc; i++) {
      if (et == CS__T_TRUE || et == CS__T_FALSE) {
        /* bools in lists take one byte each */
        if (tr->p >= tr->end)
          rc = cs__tr_fail(tr, CS_ETRUNC, "thrift list runs past the end");
        else
          tr->p++;
      } else {
        rc = cs__tr_skip(tr, et);
      }
    }
    break;
  }
  case CS__T_MAP: {
    uint64_t count;
    if ((rc = cs__tr_varint(tr, &count))) break;
    if (count == 0) break;
    if (tr->p >= tr->end) {
      rc = cs__tr_fail(tr, CS_ETRUNC, "thrift map runs past the end");
      break;
    }
    uint8_t kv = *tr->p++;
    int kt = kv >> 4, vt = kv & 0x0f;
    if (count > (uint64_t)(tr->end - tr->p) || kt == 0 || vt == 0 ||
        kt > CS__T_STRUCT || vt > CS__T_STRUCT) {
      rc = cs__tr_fail(tr, CS_EFORMAT, "bad thrift map header");
      break;
    }
    for (uint64_t i = 0; i < count && !rc; i++) {
      rc = cs__tr_skip(tr, kt);
      if (!rc) rc = cs__tr_skip(tr, vt);
    }
    break;
  }
  case CS__T_STRUCT: {
    int last = 0, id, ft;
    for (;;) {
      if ((rc = cs__tr_field(tr, &last, &id, &ft))) break;
      if (ft == CS__T_STOP) break;
      if ((rc = cs__tr_skip(tr, ft))) break;
    }
    break;
  }
  default:
    rc = cs__tr_fail(tr, CS_EFORMAT, "bad thrift type %d", type);
  }
  tr->depth--;
  return rc;
}

int cs__pq_read_page_header(cs__tr_t *tr, cs__page_header_t *ph) {
  memset(ph, 0, sizeof *ph);
  ph->type = -1;
  ph->is_compressed = 1;
  int last = 0, id, type, rc;
  int64_t v;
  int have_type = 0, have_usize = 0, have_csize = 0;
  for (;;) {
    if ((rc = cs__tr_field(tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) break;
    if (id >= 1 && id <= 3) {
      if ((rc = cs__tr_int(tr, type, &v))) return rc;
      if (id == 1) ph->type = (int)v, have_type = 1;
      if (id == 2) ph->uncompressed_size = v, have_usize = 1;
      if (id == 3) ph->compressed_size = v, have_csize = 1;
    } else if (id == 5 || id == 7 || id == 8) {
      if ((rc = cs__tr_expect(tr, type, CS__T_STRUCT, "page sub-header")))
        return rc;
      int l2 = 0, id2, t2;
      for (;;) {
        if ((rc = cs__tr_field(tr, &l2, &id2, &t2))) return rc;
        if (t2 == CS__T_STOP) break;
        int want = (id == 5 && id2 <= 4) || (id == 7 && id2 <= 3) ||
                   (id == 8 && id2 <= 7);
        if (!want) {
          if ((rc = cs__tr_skip(tr, t2))) return rc;
          continue;
        }
        if ((rc = cs__tr_int(tr, t2, &v))) return rc;
        if (id == 5) {
          if (id2 == 1) ph->num_values = v;
          if (id2 == 2) ph->encoding = (int)v;
          if (id2 == 3) ph->def_encoding = (int)v;
          if (id2 == 4) ph->rep_encoding = (int)v;
        } else if (id == 7) {
          if (id2 == 1) ph->num_values = v;
          if (id2 == 2) ph->encoding = (int)v;
        } else {
          if (id2 == 1) ph->num_values = v;
          if (id2 == 2) ph->num_nulls = v;
          if (id2 == 3) ph->num_rows = v;
          if (id2 == 4) ph->encoding = (int)v;
          if (id2 == 5) ph->def_bytes = v;
          if (id2 == 6) ph->rep_bytes = v;
          if (id2 == 7) ph->is_compressed = v != 0;
        }
      }
      if (id == 5) ph->has_data = 1;
      if (id == 7) ph->has_dict = 1;
      if (id == 8) ph->has_v2 = 1;
    } else {
      if ((rc = cs__tr_skip(tr, type))) return rc;
    }
  }
  if (!have_type || !have_usize || !have_csize)
    return cs__tr_fail(tr, CS_EFORMAT, "page header lacks type or sizes");
  if (ph->uncompressed_size < 0 || ph->compressed_size < 0 ||
      ph->uncompressed_size > CS__PQ_MAX_PAGE_BYTES ||
      ph->compressed_size > CS__PQ_MAX_PAGE_BYTES)
    return cs__tr_fail(tr, CS_EFORMAT, "page sizes %lld/%lld out of range",
                       (long long)ph->compressed_size,
                       (long long)ph->uncompressed_size);
  if (ph->num_values < 0 || ph->num_values > CS__PQ_MAX_PAGE_VALUES)
    return cs__tr_fail(tr, CS_EFORMAT, "page value count %lld out of range",
                       (long long)ph->num_values);
  return 0;
}

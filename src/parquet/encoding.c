/* encoding.c: Parquet value and level encodings: the RLE / bit-packed hybrid
 * (levels, dictionary indices, booleans), DELTA_BINARY_PACKED and
 * BYTE_STREAM_SPLIT. Every decoder checks its input bounds. */
#include <string.h>
#include "parquet/pq_internal.h"

int cs__bit_width(uint32_t max_value) {
  int bw = 0;
  while (max_value) {
    bw++;
    max_value >>= 1;
  }
  return bw;
}

void cs__unpack_ref(const uint8_t *src, int bw, int64_t n, uint32_t *out) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t v = 0;
    for (int b = 0; b < bw; b++) {
      uint64_t bit = (uint64_t)i * (uint64_t)bw + (uint64_t)b;
      v |= (uint32_t)((src[bit >> 3] >> (bit & 7)) & 1) << b;
    }
    out[i] = v;
  }
}

/* Unpack n values (reads exactly ceil(n*bw/8) bytes). */
void cs__unpack(const uint8_t *src, int bw, int64_t n, uint32_t *out) {
  if (bw == 0) {
    memset(out, 0, (size_t)n * sizeof *out);
    return;
  }
  const uint64_t mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);
  size_t n_bytes = (size_t)(((uint64_t)n * (uint64_t)bw + 7) / 8);
  uint64_t acc = 0;
  int have = 0;
  size_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    while (have < bw) {
      /* refill a byte at a time; fast path reads 4 bytes */
      if (have <= 32 && pos + 4 <= n_bytes) {
        uint32_t w;
        memcpy(&w, src + pos, 4);
        acc |= (uint64_t)w << have;
        have += 32;
        pos += 4;
      } else {
        acc |= (uint64_t)src[pos++] << have;
        have += 8;
      }
    }
    out[i] = (uint32_t)(acc & mask);
    acc >>= bw;
    have -= bw;
  }
}

static int enc_fail(cs_err_t *err, int code, const char *name, int64_t off,
                    const char *what) {
  return cs_err_set(err, code, "%s: offset %lld: %s", name, (long long)off, what);
}

static int read_uleb(const uint8_t *src, size_t len, size_t *pos, uint64_t *v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= len) return -1;
    uint8_t b = src[(*pos)++];
    out |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = out;
      return 0;
    }
  }
  return -1;
}

int cs__rle_decode(const uint8_t *src, size_t len, int bw, int64_t n,
                   uint32_t *out, const char *name, int64_t off, cs_err_t *err) {
  if (bw < 0 || bw > 32)
    return enc_fail(err, CS_EFORMAT, name, off, "RLE bit width above 32");
  size_t pos = 0;
  int64_t done = 0;
  int vbytes = (bw + 7) / 8;
  while (done < n) {
    uint64_t h;
    size_t run_start = pos;
    if (read_uleb(src, len, &pos, &h))
      return enc_fail(err, CS_ETRUNC, name, off + (int64_t)run_start,
                      "RLE run header runs past the end of the data");
    if (h & 1) {
      uint64_t groups = h >> 1;
      if (groups == 0 || groups > (uint64_t)1 << 40)
        return enc_fail(err, CS_EFORMAT, name, off + (int64_t)run_start,
                        "bad bit-packed run length");
      uint64_t count = groups * 8;
      int64_t take = (int64_t)(count < (uint64_t)(n - done) ? count
                                                             : (uint64_t)(n - done));
      size_t need = (size_t)(((uint64_t)take * (uint64_t)bw + 7) / 8);
      if (need > len - pos)
        return enc_fail(err, CS_ETRUNC, name, off + (int64_t)pos,
                        "bit-packed run runs past the end of the data");
      cs__unpack(src + pos, bw, take, out + done);
      size_t full = (size_t)(groups * (uint64_t)bw);
      pos += full < len - pos ? full : len - pos;
      done += take;
    } else {
      uint64_t count = h >> 1;
      if ((size_t)vbytes > len - pos)
        return enc_fail(err, CS_ETRUNC, name, off + (int64_t)pos,
                        "RLE run value runs past the end of the data");
      uint32_t v = 0;
      for (int b = 0; b < vbytes; b++) v |= (uint32_t)src[pos + b] << (8 * b);
      pos += (size_t)vbytes;
      if (bw < 32 && (v >> bw))
        return enc_fail(err, CS_EFORMAT, name, off + (int64_t)pos,
                        "RLE run value wider than its bit width");
      int64_t take = (int64_t)(count < (uint64_t)(n - done) ? count
                                                             : (uint64_t)(n - done));
      if (count == 0)
        return enc_fail(err, CS_EFORMAT, name, off + (int64_t)run_start,
                        "empty RLE run");
      for (int64_t i = 0; i < take; i++) out[done + i] = v;
      done += take;
    }
  }
  return 0;
}

int cs__delta_decode(const uint8_t *src, size_t len, int64_t n, int64_t *out,
                     size_t *used, const char *name, int64_t off,
                     cs_err_t *err) {
  size_t pos = 0;
  uint64_t block, n_mini, total, first_zz;
  if (read_uleb(src, len, &pos, &block) || read_uleb(src, len, &pos, &n_mini) ||
      read_uleb(src, len, &pos, &total) || read_uleb(src, len, &pos, &first_zz))
    return enc_fail(err, CS_ETRUNC, name, off, "DELTA_BINARY_PACKED header "
                    "runs past the end");
  if (block == 0 || block % 128 || block > 1 << 20 || n_mini == 0 ||
      block % n_mini || (block / n_mini) % 32)
    return enc_fail(err, CS_EFORMAT, name, off, "bad DELTA_BINARY_PACKED block "
                    "sizes");
  if (total < (uint64_t)n)
    return enc_fail(err, CS_EFORMAT, name, off, "DELTA_BINARY_PACKED holds "
                    "fewer values than the page needs");
  uint64_t per_mini = block / n_mini;
  uint64_t value = (first_zz >> 1) ^ -(first_zz & 1);
  int64_t done = 0;
  uint32_t tmp[1024 + 8];
  if (n > 0) out[done++] = (int64_t)value;
  while (done < (int64_t)total && done < n) {
    uint64_t md_zz;
    size_t bstart = pos;
    if (read_uleb(src, len, &pos, &md_zz))
      return enc_fail(err, CS_ETRUNC, name, off + (int64_t)bstart,
                      "DELTA_BINARY_PACKED block runs past the end");
    uint64_t min_delta = (md_zz >> 1) ^ -(md_zz & 1);
    if (n_mini > len - pos)
      return enc_fail(err, CS_ETRUNC, name, off + (int64_t)pos,
                      "DELTA_BINARY_PACKED bit widths run past the end");
    const uint8_t *widths = src + pos;
    pos += n_mini;
    for (uint64_t m = 0; m < n_mini && done < n; m++) {
      int bw = widths[m];
      if (bw > 64)
        return enc_fail(err, CS_EFORMAT, name, off + (int64_t)pos,
                        "DELTA_BINARY_PACKED bit width above 64");
      size_t bytes = (size_t)(per_mini * (uint64_t)bw / 8);
      int64_t take = (int64_t)per_mini < n - done ? (int64_t)per_mini : n - done;
      size_t need = (size_t)(((uint64_t)take * (uint64_t)bw + 7) / 8);
      if (need > len - pos)
        return enc_fail(err, CS_ETRUNC, name, off + (int64_t)pos,
                        "DELTA_BINARY_PACKED miniblock runs past the end");
      if (bw <= 32) {
        /* per_mini <= block <= 1<<20; unpack in pieces of 1024 */
        for (int64_t k = 0; k < take; k += 1024) {
          int64_t piece = take - k < 1024 ? take - k : 1024;
          cs__unpack(src + pos + (size_t)(k * bw / 8), bw, piece, tmp);
          for (int64_t i = 0; i < piece; i++) {
            value += min_delta + tmp[i];
            out[done++] = (int64_t)value;
          }
        }
      } else {
        for (int64_t i = 0; i < take; i++) {
          uint64_t d = 0;
          for (int b = 0; b < bw; b++) {
            uint64_t bit = (uint64_t)i * (uint64_t)bw + (uint64_t)b;
            d |= (uint64_t)((src[pos + (bit >> 3)] >> (bit & 7)) & 1) << b;
          }
          value += min_delta + d;
          out[done++] = (int64_t)value;
        }
      }
      pos += bytes < len - pos ? bytes : len - pos;
    }
  }
  /* skip the remaining (unused) blocks is unnecessary: a page holds one
   * stream; report what we consumed */
  *used = pos;
  return 0;
}

int cs__bss_decode(const uint8_t *src, size_t len, int width, int64_t n,
                   uint8_t *out, const char *name, int64_t off, cs_err_t *err) {
  if (width <= 0 || (uint64_t)n * (uint64_t)width != len)
    return enc_fail(err, CS_EFORMAT, name, off, "BYTE_STREAM_SPLIT data size "
                    "does not match the value count");
  for (int b = 0; b < width; b++) {
    const uint8_t *stream = src + (size_t)b * (size_t)n;
    for (int64_t i = 0; i < n; i++) out[(size_t)i * (size_t)width + (size_t)b] = stream[i];
  }
  return 0;
}

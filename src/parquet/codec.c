/* codec.c: page decompression for the Parquet codecs we read: UNCOMPRESSED,
 * SNAPPY, GZIP, ZSTD and LZ4_RAW (plus Hadoop-framed LZ4). The output must be
 * exactly the size the page header promises. */
#include <limits.h>
#include <string.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include "parquet/pq_internal.h"

static int size_mismatch(cs_err_t *err, const char *name, int64_t off,
                         const char *codec, size_t got, size_t want) {
  return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: %s page decompresses to "
                    "%zu bytes, header says %zu", name, (long long)off, codec,
                    got, want);
}

static int inflate_gzip(const uint8_t *src, size_t src_len, uint8_t *dst,
                        size_t dst_len, const char *name, int64_t off,
                        cs_err_t *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header */
    return cs_err_set(err, CS_ENOMEM, "%s: offset %lld: zlib init failed", name,
                      (long long)off);
  zs.next_in = (Bytef *)src;
  zs.avail_in = (uInt)src_len;
  zs.next_out = dst;
  zs.avail_out = (uInt)dst_len;
  int zr;
  size_t produced = 0;
  for (;;) {
    zr = inflate(&zs, Z_FINISH);
    produced = dst_len - zs.avail_out;
    if (zr == Z_STREAM_END && zs.avail_in > 0 && produced < dst_len) {
      /* concatenated gzip members */
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    break;
  }
  inflateEnd(&zs);
  if (zr != Z_STREAM_END) {
    if (zr == Z_BUF_ERROR && zs.avail_out == 0)
      return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: GZIP page "
                        "decompresses to more than the %zu bytes the header "
                        "says", name, (long long)off, dst_len);
    return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: corrupt GZIP page "
                      "(zlib: %s)", name, (long long)off,
                      zs.msg ? zs.msg : "truncated stream");
  }
  if (produced != dst_len)
    return size_mismatch(err, name, off, "GZIP", produced, dst_len);
  return 0;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop's LZ4 framing: [u32 BE raw size][u32 BE compressed size][block]... */
static int lz4_hadoop(const uint8_t *src, size_t src_len, uint8_t *dst,
                      size_t dst_len, const char *name, int64_t off,
                      cs_err_t *err) {
  size_t in = 0, out = 0;
  while (in < src_len) {
    if (src_len - in < 8) goto bad;
    uint32_t raw = be32(src + in), comp = be32(src + in + 4);
    in += 8;
    if (comp > src_len - in || raw > dst_len - out || comp > INT_MAX) goto bad;
    int r = LZ4_decompress_safe((const char *)src + in, (char *)dst + out,
                                (int)comp, (int)raw);
    if (r < 0 || (uint32_t)r != raw) goto bad;
    in += comp;
    out += raw;
  }
  if (out != dst_len) return size_mismatch(err, name, off, "LZ4", out, dst_len);
  return 0;
bad:
  return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: corrupt LZ4 (Hadoop) "
                    "page", name, (long long)(off + (int64_t)in));
}

int cs__pq_decompress(int codec, const uint8_t *src, size_t src_len,
                      uint8_t *dst, size_t dst_len, const char *name,
                      int64_t off, cs_err_t *err) {
  switch (codec) {
  case 0:
    if (src_len != dst_len)
      return size_mismatch(err, name, off, "UNCOMPRESSED", src_len, dst_len);
    memcpy(dst, src, src_len);
    return 0;
  case 1: {
    size_t ulen;
    if (snappy_uncompressed_length((const char *)src, src_len, &ulen) !=
        SNAPPY_OK)
      return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: corrupt SNAPPY page "
                        "header", name, (long long)off);
    if (ulen != dst_len)
      return size_mismatch(err, name, off, "SNAPPY", ulen, dst_len);
    size_t out_len = dst_len;
    if (snappy_uncompress((const char *)src, src_len, (char *)dst, &out_len) !=
        SNAPPY_OK)
      return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: corrupt SNAPPY page",
                        name, (long long)off);
    if (out_len != dst_len)
      return size_mismatch(err, name, off, "SNAPPY", out_len, dst_len);
    return 0;
  }
  case 2:
    return inflate_gzip(src, src_len, dst, dst_len, name, off, err);
  case 5:
    return lz4_hadoop(src, src_len, dst, dst_len, name, off, err);
  case 6: {
    size_t r = ZSTD_decompress(dst, dst_len, src, src_len);
    if (ZSTD_isError(r))
      return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: corrupt ZSTD page "
                        "(%s)", name, (long long)off, ZSTD_getErrorName(r));
    if (r != dst_len) return size_mismatch(err, name, off, "ZSTD", r, dst_len);
    return 0;
  }
  case 7: {
    if (src_len > INT_MAX || dst_len > INT_MAX)
      return cs_err_set(err, CS_ETOOBIG, "%s: offset %lld: LZ4_RAW page over "
                        "2 GB", name, (long long)off);
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len,
                                (int)dst_len);
    if (r < 0)
      return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: corrupt LZ4_RAW page",
                        name, (long long)off);
    if ((size_t)r != dst_len)
      return size_mismatch(err, name, off, "LZ4_RAW", (size_t)r, dst_len);
    return 0;
  }
  default:
    return cs_err_set(err, CS_EUNSUPPORTED, "%s: offset %lld: codec %s (%d) is "
                      "not supported", name, (long long)off,
                      cs_pq_codec_name(codec), codec);
  }
}

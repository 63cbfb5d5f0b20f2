/* npy.c: NumPy .npy format 1.0 writer (magic, little-endian header length,
 * a Python dict literal padded so the data starts on a 64-byte boundary). */
#include "coldstart/npy.h"

#include <stdio.h>
#include <string.h>

#include "coldstart/io.h"

static size_t item_size(const char *descr) {
  if (!descr || strlen(descr) != 3) return 0;
  if (descr[0] != '<' && descr[0] != '|') return 0;
  if (descr[1] != 'f' && descr[1] != 'i' && descr[1] != 'u') return 0;
  size_t n = (size_t)(descr[2] - '0');
  return n == 1 || n == 2 || n == 4 || n == 8 ? n : 0;
}

size_t cs_npy_header(char *buf, size_t cap, const char *descr,
                     const int64_t *shape, int ndim) {
  if (!item_size(descr) || ndim < 1 || ndim > 4 || cap < 128) return 0;
  char dict[256];
  int len = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return 0;
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld,%s",
                    (long long)shape[i], i + 1 < ndim ? " " : "");
  }
  /* numpy writes "(5,)" for one dimension and "(3, 4)" for more */
  if (ndim > 1) len--; /* drop the trailing comma of the last entry */
  len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
  /* magic(6) + version(2) + u16 length(2) + dict + spaces + '\n' */
  size_t total = 10 + (size_t)len + 1;
  total = (total + 63) / 64 * 64;
  if (total > cap || total - 10 > 65535) return 0;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  size_t hlen = total - 10;
  buf[8] = (char)(hlen & 0xff);
  buf[9] = (char)(hlen >> 8);
  memcpy(buf + 10, dict, (size_t)len);
  memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
  buf[total - 1] = '\n';
  return total;
}

int cs_npy_write(const char *path, const char *descr, const int64_t *shape,
                 int ndim, const void *data, cs_err_t *err) {
  char header[512];
  size_t hl = cs_npy_header(header, sizeof header, descr, shape, ndim);
  if (!hl)
    return cs_err_set(err, CS_EINVAL, "%s: bad npy dtype '%s' or shape", path,
                      descr ? descr : "(null)");
  size_t n = item_size(descr);
  for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
  if (n > 0 && !data)
    return cs_err_set(err, CS_EINVAL, "%s: no data for a non-empty array",
                      path);
  cs_atomic_file_t af;
  int rc = cs_atomic_open(&af, path, err);
  if (rc) return rc;
  rc = cs_atomic_write(&af, header, hl, err);
  if (!rc && n) rc = cs_atomic_write(&af, data, n, err);
  if (!rc) return cs_atomic_commit(&af, err);
  cs_atomic_abort(&af);
  return rc;
}

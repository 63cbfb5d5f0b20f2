/* npy.h: NumPy .npy (format 1.0) writer for the dataset export: C order,
 * little-endian dtypes, written atomically. */
#ifndef COLDSTART_NPY_H
#define COLDSTART_NPY_H

#include <stdint.h>
#include "coldstart/error.h"

/* Write `data` (C order) with dtype `descr` ("<f4", "<i8", "<i4", "|u1")
 * and shape[0..ndim) to `path` atomically. ndim 1..4. */
int cs_npy_write(const char *path, const char *descr, const int64_t *shape,
                 int ndim, const void *data, cs_err_t *err);

/* The header bytes (magic, version, length, dict, padding to a multiple of
 * 64) for the given dtype and shape; returns its length, or 0 when it does
 * not fit `cap` or arguments are bad. */
size_t cs_npy_header(char *buf, size_t cap, const char *descr,
                     const int64_t *shape, int ndim);

#endif

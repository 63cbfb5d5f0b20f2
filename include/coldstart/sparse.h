/* sparse.h: compressed sparse row matrices (play counts, co-occurrences,
 * ground-truth lists) built from (row, col, value) triplets. */
#ifndef COLDSTART_SPARSE_H
#define COLDSTART_SPARSE_H

#include <stdint.h>
#include "coldstart/error.h"

typedef struct cs_csr {
  int64_t n_rows, n_cols;
  int64_t *indptr;  /* [n_rows + 1], owned */
  int32_t *indices; /* [nnz] column indices, ascending within a row, owned */
  float *values;    /* [nnz], owned */
} cs_csr_t;

static inline int64_t cs_csr_nnz(const cs_csr_t *m) {
  return m->indptr ? m->indptr[m->n_rows] : 0;
}

/* Allocate an n_rows x n_cols matrix with room for nnz entries: indptr
 * zeroed, indices and values uninitialized. Returns 0 or CS_ENOMEM. */
int cs_csr_alloc(cs_csr_t *out, int64_t n_rows, int64_t n_cols, int64_t nnz);
/* Build from triplets; duplicate (row, col) pairs are summed. Inputs are not
 * modified. Returns 0, CS_EINVAL (index out of range) or CS_ENOMEM. */
int cs_csr_from_triplets(cs_csr_t *out, int64_t n_rows, int64_t n_cols,
                         const int64_t *rows, const int32_t *cols,
                         const float *values, int64_t n, cs_err_t *err);
/* out = m transposed. */
int cs_csr_transpose(cs_csr_t *out, const cs_csr_t *m, cs_err_t *err);
void cs_csr_free(cs_csr_t *m);

#endif

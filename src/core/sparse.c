/* sparse.c: CSR matrices built from triplets (duplicates summed, columns
 * sorted by a two-pass counting sort) and their transpose. */
#include "coldstart/sparse.h"

#include <stdlib.h>
#include <string.h>

void cs_csr_free(cs_csr_t *m) {
  if (!m) return;
  free(m->indptr);
  free(m->indices);
  free(m->values);
  m->indptr = NULL;
  m->indices = NULL;
  m->values = NULL;
  m->n_rows = m->n_cols = 0;
}

int cs_csr_alloc(cs_csr_t *out, int64_t n_rows, int64_t n_cols, int64_t nnz) {
  out->n_rows = n_rows;
  out->n_cols = n_cols;
  out->indptr = calloc((size_t)n_rows + 1, sizeof(int64_t));
  out->indices = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(int32_t));
  out->values = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(float));
  if (!out->indptr || !out->indices || !out->values) {
    cs_csr_free(out);
    return CS_ENOMEM;
  }
  return 0;
}

int cs_csr_from_triplets(cs_csr_t *out, int64_t n_rows, int64_t n_cols,
                         const int64_t *rows, const int32_t *cols,
                         const float *values, int64_t n, cs_err_t *err) {
  memset(out, 0, sizeof(*out));
  if (n_rows < 0 || n_cols < 0 || n_cols > INT32_MAX || n < 0)
    return cs_err_set(err, CS_EINVAL,
                      "csr: bad shape %lld x %lld with %lld triplets",
                      (long long)n_rows, (long long)n_cols, (long long)n);
  for (int64_t t = 0; t < n; t++) {
    if (rows[t] < 0 || rows[t] >= n_rows || cols[t] < 0 || cols[t] >= n_cols)
      return cs_err_set(err, CS_EINVAL,
                        "csr: triplet %lld at (%lld, %d) outside %lld x %lld",
                        (long long)t, (long long)rows[t], (int)cols[t],
                        (long long)n_rows, (long long)n_cols);
  }
  /* Pass 1: stable counting sort by column. Pass 2: stable counting sort of
   * that order by row. The result is ordered by (row, col), and equal pairs
   * keep their input order, so duplicate sums are reproducible. */
  int64_t *by_col = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  int64_t *order = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  int64_t *col_start = calloc((size_t)n_cols + 1, sizeof(int64_t));
  int64_t *row_start = calloc((size_t)n_rows + 1, sizeof(int64_t));
  if (!by_col || !order || !col_start || !row_start) {
    free(by_col);
    free(order);
    free(col_start);
    free(row_start);
    return cs_err_set(err, CS_ENOMEM, "csr: %lld triplets", (long long)n);
  }
  for (int64_t t = 0; t < n; t++) col_start[cols[t] + 1]++;
  for (int64_t c = 0; c < n_cols; c++) col_start[c + 1] += col_start[c];
  for (int64_t t = 0; t < n; t++) by_col[col_start[cols[t]]++] = t;
  for (int64_t t = 0; t < n; t++) row_start[rows[t] + 1]++;
  for (int64_t r = 0; r < n_rows; r++) row_start[r + 1] += row_start[r];
  for (int64_t k = 0; k < n; k++) {
    int64_t t = by_col[k];
    order[row_start[rows[t]]++] = t;
  }
  free(col_start);
  free(by_col);

  /* Count distinct (row, col) pairs. */
  int64_t nnz = 0;
  for (int64_t k = 0; k < n; k++) {
    int64_t t = order[k];
    if (k == 0 || rows[t] != rows[order[k - 1]] || cols[t] != cols[order[k - 1]])
      nnz++;
  }
  int rc = cs_csr_alloc(out, n_rows, n_cols, nnz);
  if (rc) {
    free(order);
    free(row_start);
    return cs_err_set(err, rc, "csr: %lld nonzeros", (long long)nnz);
  }
  int64_t pos = -1;
  double acc = 0.0;
  for (int64_t k = 0; k < n; k++) {
    int64_t t = order[k];
    int is_new = k == 0 || rows[t] != rows[order[k - 1]] ||
                 cols[t] != cols[order[k - 1]];
    if (is_new) {
      if (pos >= 0) out->values[pos] = (float)acc;
      pos++;
      acc = 0.0;
      out->indices[pos] = cols[t];
      out->indptr[rows[t] + 1]++;
    }
    acc += values ? (double)values[t] : 1.0;
  }
  if (pos >= 0) out->values[pos] = (float)acc;
  for (int64_t r = 0; r < n_rows; r++) out->indptr[r + 1] += out->indptr[r];
  free(order);
  free(row_start);
  return 0;
}

int cs_csr_transpose(cs_csr_t *out, const cs_csr_t *m, cs_err_t *err) {
  memset(out, 0, sizeof(*out));
  int64_t nnz = cs_csr_nnz(m);
  if (m->n_rows > INT32_MAX)
    return cs_err_set(err, CS_EINVAL, "csr: %lld rows cannot become columns",
                      (long long)m->n_rows);
  int rc = cs_csr_alloc(out, m->n_cols, m->n_rows, nnz);
  if (rc) return cs_err_set(err, rc, "csr transpose: %lld nonzeros",
                            (long long)nnz);
  for (int64_t k = 0; k < nnz; k++) out->indptr[m->indices[k] + 1]++;
  for (int64_t c = 0; c < m->n_cols; c++) out->indptr[c + 1] += out->indptr[c];
  int64_t *next = malloc((size_t)(m->n_cols > 0 ? m->n_cols : 1) *
                         sizeof(int64_t));
  if (!next) {
    cs_csr_free(out);
    return cs_err_set(err, CS_ENOMEM, "csr transpose: %lld columns",
                      (long long)m->n_cols);
  }
  memcpy(next, out->indptr, (size_t)m->n_cols * sizeof(int64_t));
  /* Rows are visited in order, so each output row gets ascending columns. */
  for (int64_t r = 0; r < m->n_rows; r++) {
    for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++) {
      int64_t dst = next[m->indices[k]]++;
      out->indices[dst] = (int32_t)r;
      out->values[dst] = m->values[k];
    }
  }
  free(next);
  return 0;
}

/* deezer.c: `import-deezer`: reads Deezer's release (song and user
 * embeddings, per-split user features) with our Parquet reader and builds the
 * prepared dataset. Rows are matched by song_index / user_index, never by
 * position; nulls become 0. Embedding lists may be Parquet lists (pyarrow,
 * DuckDB, Spark) or JSON text (fastparquet, what Deezer's pipeline wrote);
 * feature files may carry the space in their name or not (then the space
 * follows from the width of their blocks). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/importer.h"
#include "coldstart/parquet.h"
#include "importer/json_list.h"

typedef struct {
  int64_t key;
  int64_t row;
} keyrow_t;

static int cmp_keyrow(const void *a, const void *b) {
  int64_t x = ((const keyrow_t *)a)->key, y = ((const keyrow_t *)b)->key;
  return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Row of `key` in a sorted keyrow table, or -1. */
static int64_t lookup(const keyrow_t *t, int64_t n, int64_t key) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (t[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && t[lo].key == key ? t[lo].row : -1;
}

/* The column of field `name`: numeric, a list or not as want_list says,
 * INT32/INT64 when want_int (ids: a float would be truncated). */
static int field_column(cs_pq_file_t *f, const char *name, int want_list,
                        int want_int, cs_err_t *err) {
  int fi = cs_pq_find_field(f, name);
  if (fi < 0)
    return cs_err_set(err, CS_EFORMAT, "%s: no column '%s'", cs_pq_name(f), name);
  const cs_pq_field_t *fd = cs_pq_field(f, fi);
  if (fd->column < 0 || fd->is_list != want_list)
    return cs_err_set(err, CS_EFORMAT, "%s: column '%s' is not %s",
                      cs_pq_name(f), name, want_list ? "a list" : "a plain value");
  int type = cs_pq_column(f, fd->column)->type;
  if (type == CS_PQ_BYTE_ARRAY || type == CS_PQ_FIXED_LEN_BYTE_ARRAY ||
      type == CS_PQ_INT96)
    return cs_err_set(err, CS_EFORMAT, "%s: column '%s' is not numeric (%s)",
                      cs_pq_name(f), name, cs_pq_type_name(type));
  if (want_int && type != CS_PQ_INT32 && type != CS_PQ_INT64)
    return cs_err_set(err, CS_EFORMAT, "%s: column '%s' holds ids but is %s, "
                      "not INT32 or INT64", cs_pq_name(f), name,
                      cs_pq_type_name(type));
  return fd->column;
}

/* Read an id column (no nulls) of all row groups into ids[num_rows]. */
static int read_ids(cs_pq_file_t *f, const char *name, int64_t *ids,
                    cs_pq_chunk_t *ch, cs_err_t *err) {
  int col = field_column(f, name, 0, 1, err);
  if (col < 0) return col;
  int64_t base = 0;
  for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
    int rc = cs_pq_read_chunk(f, g, col, ch, err);
    if (rc) return rc;
    if (ch->n_values != ch->n_rows)
      return cs_err_set(err, CS_EFORMAT, "%s: row group %d: column '%s' has "
                        "nulls", cs_pq_name(f), g, name);
    for (int64_t r = 0; r < ch->n_rows; r++) ids[base + r] = cs_pq_value_int64(ch, r);
    base += ch->n_rows;
  }
  return 0;
}

/* The leaf column of embedding field `name`: a list of numbers, or (*is_text
 * = 1) a flat BYTE_ARRAY holding each list as JSON text (fastparquet's list
 * encoding, annotated JSON or UTF8). */
static int embedding_column(cs_pq_file_t *f, const char *name, int *is_text,
                            cs_err_t *err) {
  int fi = cs_pq_find_field(f, name);
  if (fi < 0)
    return cs_err_set(err, CS_EFORMAT, "%s: no column '%s'", cs_pq_name(f), name);
  const cs_pq_field_t *fd = cs_pq_field(f, fi);
  if (fd->column >= 0 && !fd->is_list &&
      cs_pq_column(f, fd->column)->type == CS_PQ_BYTE_ARRAY) {
    *is_text = 1;
    return fd->column;
  }
  *is_text = 0;
  if (fd->column >= 0 && !fd->is_list)
    return cs_err_set(err, CS_EFORMAT, "%s: column '%s' is neither a list nor "
                      "JSON text (%s)", cs_pq_name(f), name,
                      cs_pq_type_name(cs_pq_column(f, fd->column)->type));
  return field_column(f, name, 1, 0, err);
}

/* One row of an embedding column: its length, and with `dst` its values
 * (the first `cap` of them) as floats. */
static int embedding_row(cs_pq_file_t *f, const char *name, int is_text,
                         const cs_pq_chunk_t *ch, const cs_pq_row_t *row,
                         int64_t at, float *dst, int64_t cap, int64_t *n,
                         cs_err_t *err) {
  if (is_text) {
    char why[160];
    const uint8_t *text = ch->bytes + ch->offsets[row->value];
    size_t len = (size_t)(ch->offsets[row->value + 1] - ch->offsets[row->value]);
    if (cs__json_list_parse(text, len, dst, dst ? cap : 0, n, why, sizeof why))
      return cs_err_set(err, CS_EFORMAT, "%s: row %lld: column '%s': JSON list: %s",
                        cs_pq_name(f), (long long)at, name, why);
    return 0;
  }
  *n = row->n_elems;
  if (!dst) return 0;
  int64_t v = row->value;
  for (int64_t e = 0; e < row->n_elems && e < cap; e++) {
    if (cs_pq_slot_null(ch, row->slot + e))
      return cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' element %lld is null",
                        cs_pq_name(f), (long long)at, name, (long long)e);
    dst[e] = (float)cs_pq_value_double(ch, v++);
    if (!isfinite(dst[e]))
      return cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' element %lld: %g "
                        "is not a finite float", cs_pq_name(f), (long long)at,
                        name, (long long)e, cs_pq_value_double(ch, v - 1));
  }
  return 0;
}

/* Read an embedding column (list or JSON text) into emb[row * dim] as
 * float, with present[row] = 0 for null lists (when allowed). All lists
 * must hold `dim` values (dim <= 0: take the first list's length into
 * *dim). */
static int read_embeddings(cs_pq_file_t *f, const char *name, int *dim,
                           float **emb_out, uint8_t *present,
                           cs_pq_chunk_t *ch, cs_err_t *err) {
  int is_text;
  int col = embedding_column(f, name, &is_text, err);
  if (col < 0) return col;
  int64_t n = cs_pq_num_rows(f), base = 0;
  float *emb = NULL;
  int rc = 0;
  for (int g = 0; g < cs_pq_n_row_groups(f) && !rc; g++) {
    if ((rc = cs_pq_read_chunk(f, g, col, ch, err))) break;
    cs_pq_cursor_t cur;
    cs_pq_cursor_init(&cur, ch, cs_pq_column(f, col));
    for (int64_t r = 0; r < ch->n_rows && !rc; r++) {
      cs_pq_row_t row;
      if ((rc = cs_pq_cursor_next(&cur, &row, err))) break;
      int64_t at = base + r, n_got;
      if (row.is_null) {
        if (!present) {
          rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' is null",
                          cs_pq_name(f), (long long)at, name);
          break;
        }
        present[at] = 0;
        continue;
      }
      if (*dim <= 0) {
        if ((rc = embedding_row(f, name, is_text, ch, &row, at, NULL, 0, &n_got, err)))
          break;
        if (n_got <= 0 || n_got > 1 << 20) {
          rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' has %lld values",
                          cs_pq_name(f), (long long)at, name, (long long)n_got);
          break;
        }
        *dim = (int)n_got;
      }
      if (!emb && !(emb = calloc((size_t)(n ? n : 1) * (size_t)*dim, sizeof *emb))) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
        break;
      }
      if ((rc = embedding_row(f, name, is_text, ch, &row, at, emb + at * *dim, *dim,
                              &n_got, err)))
        break;
      if (n_got != *dim) {
        rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' has %lld values, "
                        "expected %d", cs_pq_name(f), (long long)at, name,
                        (long long)n_got, *dim);
        break;
      }
      if (present) present[at] = 1;
    }
    base += ch->n_rows;
  }
  if (!rc && !emb && *dim > 0 &&
      !(emb = calloc((size_t)(n ? n : 1) * (size_t)*dim, sizeof *emb)))
    rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
  if (rc) {
    free(emb);
    return rc;
  }
  *emb_out = emb;
  return 0;
}

/* Width of embedding field `name`: the length of its first non-null list;
 * 0 when the file has no such field or only null lists. */
static int embedding_width(cs_pq_file_t *f, const char *name, cs_pq_chunk_t *ch,
                           int *width, cs_err_t *err) {
  *width = 0;
  if (cs_pq_find_field(f, name) < 0) return 0;
  int is_text;
  int col = embedding_column(f, name, &is_text, err);
  if (col < 0) return col;
  int64_t base = 0; /* rows before this row group: errors name file rows */
  for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
    int rc = cs_pq_read_chunk(f, g, col, ch, err);
    if (rc) return rc;
    cs_pq_cursor_t cur;
    cs_pq_cursor_init(&cur, ch, cs_pq_column(f, col));
    for (int64_t r = 0; r < ch->n_rows; r++) {
      cs_pq_row_t row;
      int64_t n;
      if ((rc = cs_pq_cursor_next(&cur, &row, err))) return rc;
      if (row.is_null) continue;
      if ((rc = embedding_row(f, name, is_text, ch, &row, base + r, NULL, 0, &n, err)))
        return rc;
      *width = n > INT_MAX ? INT_MAX : (int)n;
      return 0;
    }
    base += ch->n_rows;
  }
  return 0;
}

/* A flat numeric chunk as `rows` floats (nulls -> 0). Returns the first
 * row whose value is not finite in float (NaN, inf, beyond FLT_MAX), or -1. */
static int64_t chunk_to_float(const cs_pq_chunk_t *ch, int64_t rows, float *out) {
  if (ch->n_values == rows && ch->type == CS_PQ_DOUBLE) {
    const double *v = ch->values;
    for (int64_t r = 0; r < rows; r++) out[r] = (float)v[r];
  } else {
    int64_t v = 0;
    for (int64_t r = 0; r < rows; r++)
      out[r] = cs_pq_slot_null(ch, r) ? 0.0f : (float)cs_pq_value_double(ch, v++);
  }
  for (int64_t r = 0; r < rows; r++)
    if (!isfinite(out[r])) return r;
  return -1;
}

static int open_in(cs_pq_file_t **f, const char *dir, const char *file,
                   cs_err_t *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int rc = cs_pq_open(f, path, err);
  if (rc) return rc;
  /* rows are int32 indices in a dataset; the footer's count sizes every
   * table below, so a forged one must not reach an allocation */
  int64_t n = cs_pq_num_rows(*f);
  if (n > INT32_MAX) {
    cs_pq_close(*f);
    *f = NULL;
    return cs_err_set(err, CS_ETOOBIG, "%s: %lld rows: more than a table "
                      "can hold (2^31 - 1)", path, (long long)n);
  }
  return 0;
}

typedef struct {
  int dim;
  int64_t n_songs;
  keyrow_t *song_rows;  /* sorted by song_index -> song row */
  int64_t n_users;
  keyrow_t *user_rows;  /* sorted by user_index -> row in user_emb */
  float *user_emb;      /* [n_users x dim] */
  uint8_t *user_present;
} tables_t;

static int read_songs(cs_pq_file_t *f, const char *space, cs_dataset_t *ds,
                      tables_t *t, cs_pq_chunk_t *ch, cs_err_t *err) {
  int rc = 0;
  char col[64];
  snprintf(col, sizeof col, "features_%s", space);
  int64_t n = cs_pq_num_rows(f);
  int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
  float *emb = NULL;
  t->song_rows = malloc((size_t)(n ? n : 1) * sizeof *t->song_rows);
  if (!ids || !t->song_rows) rc = cs_err_set(err, CS_ENOMEM, "songs: out of memory");
  if (!rc) rc = read_ids(f, "song_index", ids, ch, err);
  int dim = 0;
  if (!rc) rc = read_embeddings(f, col, &dim, &emb, NULL, ch, err);
  if (!rc && dim <= 0)
    rc = cs_err_set(err, CS_EFORMAT, "%s: no songs", cs_pq_name(f));
  if (!rc) {
    for (int64_t i = 0; i < n; i++) t->song_rows[i] = (keyrow_t){ids[i], i};
    qsort(t->song_rows, (size_t)n, sizeof *t->song_rows, cmp_keyrow);
    ds->song_ids = malloc((size_t)(n ? n : 1) * sizeof *ds->song_ids);
    ds->song_emb = malloc((size_t)(n ? n : 1) * (size_t)dim * sizeof *ds->song_emb);
    if (!ds->song_ids || !ds->song_emb)
      rc = cs_err_set(err, CS_ENOMEM, "songs: out of memory");
  }
  for (int64_t i = 0; !rc && i < n; i++) {
    if (i && t->song_rows[i].key == t->song_rows[i - 1].key) {
      rc = cs_err_set(err, CS_EFORMAT, "%s: song_index %lld appears twice",
                      cs_pq_name(f), (long long)t->song_rows[i].key);
      break;
    }
    ds->song_ids[i] = t->song_rows[i].key;
    memcpy(ds->song_emb + i * dim, emb + t->song_rows[i].row * dim,
           (size_t)dim * sizeof *emb);
    t->song_rows[i].row = i; /* now: song_index -> song table row */
  }
  ds->n_songs = n;
  t->n_songs = n;
  t->dim = dim;
  free(ids);
  free(emb);
  return rc;
}

static int read_users(const char *dir, const char *space, tables_t *t,
                      cs_pq_chunk_t *ch, cs_err_t *err) {
  cs_pq_file_t *f;
  int rc = open_in(&f, dir, "user_embeddings.parquet", err);
  if (rc) return rc;
  char col[64];
  snprintf(col, sizeof col, "%s_embeddings", space);
  int64_t n = cs_pq_num_rows(f);
  int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
  t->user_rows = malloc((size_t)(n ? n : 1) * sizeof *t->user_rows);
  t->user_present = calloc((size_t)(n ? n : 1), 1);
  if (!ids || !t->user_rows || !t->user_present)
    rc = cs_err_set(err, CS_ENOMEM, "users: out of memory");
  if (!rc) rc = read_ids(f, "user_index", ids, ch, err);
  int dim = t->dim;
  if (!rc) rc = read_embeddings(f, col, &dim, &t->user_emb, t->user_present, ch, err);
  if (!rc) {
    for (int64_t i = 0; i < n; i++) t->user_rows[i] = (keyrow_t){ids[i], i};
    qsort(t->user_rows, (size_t)n, sizeof *t->user_rows, cmp_keyrow);
    for (int64_t i = 1; i < n && !rc; i++)
      if (t->user_rows[i].key == t->user_rows[i - 1].key)
        rc = cs_err_set(err, CS_EFORMAT, "%s: user_index %lld appears twice",
                        cs_pq_name(f), (long long)t->user_rows[i].key);
  }
  t->n_users = n;
  free(ids);
  cs_pq_close(f);
  return rc;
}

/* The name of feature column j (0 <= j < cs_n_features(dim)) in the
 * feature layout's order (layout.h spells the names). */
static int feature_name(int j, int dim, char *buf, size_t cap) {
  return cs_feature_column_name(dim, j, buf, cap);
}

/* Width of a feature file's blocks: how many of the first block's columns
 * (<block>_embedding0, 1, ...) it has. */
static int block_width(cs_pq_file_t *f) {
  enum { MAX_WIDTH = 1 << 20 };
  char name[96];
  int w = 0;
  while (w < MAX_WIDTH) {
    feature_name(w, MAX_WIDTH, name, sizeof name);
    if (cs_pq_find_field(f, name) < 0) break;
    w++;
  }
  return w;
}

/* Which feature file each split reads and the space of the dataset. The
 * release names them two ways: user_features_{split}_{svd,mf}.parquet
 * (Deezer's README) and user_features_{split}.parquet (the Zenodo page). */
static const char *const space_names[2] = {"svd", "mf"};

typedef struct {
  int space;                    /* 0 svd, 1 mf */
  char files[CS_N_SPLITS][96];  /* file name inside the folder */
} layout_t;

static int in_dir(const char *dir, const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return access(path, F_OK) == 0;
}

/* Open `file` and read its block width. */
static int file_block_width(const char *dir, const char *file, int *w, cs_err_t *err) {
  cs_pq_file_t *f;
  int rc = open_in(&f, dir, file, err);
  if (rc) return rc;
  *w = block_width(f);
  cs_pq_close(f);
  return 0;
}

/* space: -1 to detect. widths[s]: width of features_<s> in
 * song_embeddings.parquet (0 when absent). */
static int resolve_layout(const char *dir, int space, const int widths[2],
                          layout_t *lay, cs_err_t *err) {
  char plain[CS_N_SPLITS][96], sfx[CS_N_SPLITS][2][96];
  int have_plain[CS_N_SPLITS], have_sfx[CS_N_SPLITS][2], first_plain = -1;
  int any_sfx[2] = {0, 0};
  for (int s = 0; s < CS_N_SPLITS; s++) {
    snprintf(plain[s], sizeof plain[s], "user_features_%s.parquet", cs_split_name(s));
    have_plain[s] = in_dir(dir, plain[s]);
    if (have_plain[s] && first_plain < 0) first_plain = s;
    for (int k = 0; k < 2; k++) {
      snprintf(sfx[s][k], sizeof sfx[s][k], "user_features_%s_%s.parquet",
               cs_split_name(s), space_names[k]);
      have_sfx[s][k] = in_dir(dir, sfx[s][k]);
      any_sfx[k] |= have_sfx[s][k];
    }
  }
  char how[192];
  int rc, w;
  if (space >= 0) {
    snprintf(how, sizeof how, "--space %s", space_names[space]);
  } else if (first_plain >= 0) {
    /* no space in the name: the one whose song embeddings are as wide */
    if ((rc = file_block_width(dir, plain[first_plain], &w, err))) return rc;
    if (widths[0] == widths[1])
      return cs_err_set(err, CS_EINVAL, "%s/%s: cannot tell the space: features_svd "
                        "and features_mf of song_embeddings.parquet are both %d wide; "
                        "pass --space svd or --space mf", dir, plain[first_plain],
                        widths[0]);
    space = w == widths[0] ? 0 : w == widths[1] ? 1 : -1;
    if (space < 0)
      return cs_err_set(err, CS_EFORMAT, "%s/%s: its blocks are %d wide, but "
                        "song_embeddings.parquet's features_svd is %d wide and "
                        "features_mf %d", dir, plain[first_plain], w, widths[0], widths[1]);
    snprintf(how, sizeof how, "space %s (detected from the %d-wide blocks of %s)",
             space_names[space], w, plain[first_plain]);
  } else if (any_sfx[0] && any_sfx[1]) {
    return cs_err_set(err, CS_EINVAL, "%s holds feature files of both spaces "
                      "(user_features_*_svd.parquet and user_features_*_mf.parquet): "
                      "pass --space svd or --space mf", dir);
  } else {
    space = any_sfx[1] ? 1 : 0;
    snprintf(how, sizeof how, "space %s (from the file names)", space_names[space]);
  }
  lay->space = space;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    const char *file = have_sfx[s][space] ? sfx[s][space] : have_plain[s] ? plain[s] : NULL;
    if (!file)
      return cs_err_set(err, CS_ENOTFOUND, "%s: no %s or %s", dir, sfx[s][space], plain[s]);
    snprintf(lay->files[s], sizeof lay->files[s], "%s", file);
    if (!widths[space]) continue; /* read_songs reports the missing column */
    if ((rc = file_block_width(dir, file, &w, err))) return rc;
    if (w == widths[space]) continue;
    int other = 1 - space;
    if (w == widths[other])
      return cs_err_set(err, CS_EINVAL, "%s disagrees with %s/%s: its blocks are %d "
                        "wide, the width of features_%s (space %s), not %d as "
                        "features_%s (space %s)", how, dir, file, w, space_names[other],
                        space_names[other], widths[space], space_names[space],
                        space_names[space]);
    return cs_err_set(err, CS_EFORMAT, "%s/%s: its blocks are %d wide, but features_%s "
                      "of song_embeddings.parquet is %d wide (%s)", dir, file, w,
                      space_names[space], widths[space], how);
  }
  return 0;
}

static int read_split(const char *dir, const char *file, int split,
                      const tables_t *t, cs_split_t *sp, const cs_ctx_t *ctx,
                      cs_pq_chunk_t *ch, cs_err_t *err) {
  cs_pq_file_t *f;
  int rc = open_in(&f, dir, file, err);
  if (rc) return rc;
  const int dim = t->dim, F = cs_n_features(dim);
  int64_t n = cs_pq_num_rows(f);
  size_t nn = (size_t)(n ? n : 1);
  int64_t *ids = malloc(nn * sizeof *ids);
  float *feat = calloc(nn * (size_t)F, sizeof *feat);
  int *cols = malloc((size_t)F * sizeof *cols);
  int64_t *lens = calloc(nn, sizeof *lens);
  int64_t *songs = NULL, n_songs_total = 0, cap_songs = 0, n_unknown = 0;
  keyrow_t *order = malloc(nn * sizeof *order);
  if (!ids || !feat || !cols || !lens || !order)
    rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
  if (!rc) rc = read_ids(f, "user_index", ids, ch, err);
  char name[96];
  for (int j = 0; j < F && !rc; j++) {
    feature_name(j, dim, name, sizeof name);
    cols[j] = field_column(f, name, 0, 0, err);
    if (cols[j] < 0) rc = cols[j];
  }
  int songs_col = rc ? -1 : field_column(f, "d1d30_songs", 1, 1, err);
  if (songs_col < 0 && !rc) rc = songs_col;
  /* features: column chunk by column chunk, BATCH columns at a time into a
   * column-major buffer, then written row by row (contiguous) */
  enum { BATCH = 32 };
  float *colbuf = NULL;
  int64_t base = 0;
  cs_progress_t prog;
  char label[64];
  snprintf(label, sizeof label, "import-deezer %s", cs_split_name(split));
  cs_progress_start(&prog, ctx, label, (int64_t)cs_pq_n_row_groups(f) * F);
  for (int g = 0; g < cs_pq_n_row_groups(f) && !rc; g++) {
    int64_t rows = cs_pq_row_group(f, g)->num_rows;
    free(colbuf);
    colbuf = malloc((size_t)(rows ? rows : 1) * BATCH * sizeof *colbuf);
    if (!colbuf) {
      rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
      break;
    }
    for (int j0 = 0; j0 < F && !rc; j0 += BATCH) {
      int nb = F - j0 < BATCH ? F - j0 : BATCH;
      for (int k = 0; k < nb && !rc; k++) {
        if ((rc = cs_pq_read_chunk(f, g, cols[j0 + k], ch, err))) break;
        int64_t bad = chunk_to_float(ch, rows, colbuf + (size_t)k * (size_t)rows);
        if (bad >= 0) {
          feature_name(j0 + k, dim, name, sizeof name);
          rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: column '%s': %g is "
                          "not a finite float", cs_pq_name(f),
                          (long long)(base + bad), name,
                          (double)colbuf[(size_t)k * (size_t)rows + (size_t)bad]);
        }
      }
      if (rc) break;
      for (int64_t r = 0; r < rows; r++) {
        float *dst = feat + (base + r) * F + j0;
        for (int k = 0; k < nb; k++) dst[k] = colbuf[(size_t)k * (size_t)rows + (size_t)r];
      }
      cs_progress_update(&prog, (int64_t)g * F + j0 + nb);
    }
    if (rc) break;
    /* truth lists (kept in file order, mapped to song rows) */
    if ((rc = cs_pq_read_chunk(f, g, songs_col, ch, err))) break;
    cs_pq_cursor_t cur;
    cs_pq_cursor_init(&cur, ch, cs_pq_column(f, songs_col));
    for (int64_t r = 0; r < rows && !rc; r++) {
      cs_pq_row_t row;
      if ((rc = cs_pq_cursor_next(&cur, &row, err))) break;
      if (n_songs_total + row.n_elems > cap_songs) {
        int64_t cap = cap_songs ? cap_songs * 2 : 1024;
        while (cap < n_songs_total + row.n_elems) cap *= 2;
        int64_t *q = realloc(songs, (size_t)cap * sizeof *q);
        if (!q) {
          rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
          break;
        }
        songs = q;
        cap_songs = cap;
      }
      int64_t v = row.value, kept = 0;
      for (int64_t e = 0; e < row.n_elems; e++) {
        if (cs_pq_slot_null(ch, row.slot + e)) continue;
        int64_t song = lookup(t->song_rows, t->n_songs, cs_pq_value_int64(ch, v++));
        if (song < 0) {
          n_unknown++;
          continue;
        }
        songs[n_songs_total + kept++] = song;
      }
      lens[base + r] = kept;
      n_songs_total += kept;
    }
    base += rows;
  }
  cs_progress_finish(&prog);
  if (!rc && n_unknown)
    cs_log(ctx, CS_LOG_WARN, "%s: %lld d1d30_songs entries name songs missing "
           "from song_embeddings.parquet; left out", cs_pq_name(f),
           (long long)n_unknown);
  /* users ascending by user_index */
  if (!rc) {
    for (int64_t i = 0; i < n; i++) order[i] = (keyrow_t){ids[i], i};
    qsort(order, (size_t)n, sizeof *order, cmp_keyrow);
    for (int64_t i = 1; i < n && !rc; i++)
      if (order[i].key == order[i - 1].key)
        rc = cs_err_set(err, CS_EFORMAT, "%s: user_index %lld appears twice",
                        cs_pq_name(f), (long long)order[i].key);
  }
  int64_t *starts = NULL;
  if (!rc) {
    sp->n_users = n;
    sp->user_ids = malloc(nn * sizeof *sp->user_ids);
    sp->features = malloc(nn * (size_t)F * sizeof *sp->features);
    sp->truth_indptr = malloc((nn + 1) * sizeof *sp->truth_indptr);
    sp->truth_indices = malloc((size_t)(n_songs_total ? n_songs_total : 1) * sizeof(int64_t));
    sp->targets = calloc(nn * (size_t)dim, sizeof *sp->targets);
    sp->has_target = calloc(nn, 1);
    starts = malloc((nn + 1) * sizeof *starts);
    if (!sp->user_ids || !sp->features || !sp->truth_indptr ||
        !sp->truth_indices || !sp->targets || !sp->has_target || !starts)
      rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
  }
  if (!rc) {
    starts[0] = 0;
    for (int64_t i = 0; i < n; i++) starts[i + 1] = starts[i] + lens[i];
    int64_t nnz = 0;
    sp->truth_indptr[0] = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t src = order[i].row;
      sp->user_ids[i] = order[i].key;
      memcpy(sp->features + i * F, feat + src * F, (size_t)F * sizeof *feat);
      int64_t *dst = sp->truth_indices + nnz;
      memcpy(dst, songs + starts[src], (size_t)lens[src] * sizeof *dst);
      qsort(dst, (size_t)lens[src], sizeof *dst, cmp_i64);
      int64_t k = 0;
      for (int64_t e = 0; e < lens[src]; e++)
        if (k == 0 || dst[e] != dst[k - 1]) dst[k++] = dst[e];
      nnz += k;
      sp->truth_indptr[i + 1] = nnz;
      int64_t ur = lookup(t->user_rows, t->n_users, order[i].key);
      if (ur >= 0 && t->user_present[ur]) {
        memcpy(sp->targets + i * dim, t->user_emb + ur * dim, (size_t)dim * sizeof(float));
        sp->has_target[i] = 1;
      }
    }
  }
  free(colbuf);
  free(starts);
  free(ids);
  free(feat);
  free(cols);
  free(lens);
  free(songs);
  free(order);
  cs_pq_close(f);
  return rc;
}

int cs_import_deezer(const char *dir, const char *space, cs_dataset_t *ds,
                     const cs_ctx_t *ctx, cs_err_t *err) {
  memset(ds, 0, sizeof *ds);
  int want = -1;
  if (space && *space && strcmp(space, "auto")) {
    want = !strcmp(space, "svd") ? 0 : !strcmp(space, "mf") ? 1 : -2;
    if (want == -2)
      return cs_err_set(err, CS_EINVAL, "space must be 'svd', 'mf' or 'auto', not "
                        "'%s'", space);
  }
  snprintf(ds->source, sizeof ds->source, "import-deezer");
  tables_t t;
  memset(&t, 0, sizeof t);
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  double t0 = cs_now();
  cs_pq_file_t *songs;
  layout_t lay;
  int widths[2] = {0, 0};
  int rc = open_in(&songs, dir, "song_embeddings.parquet", err);
  if (rc) return rc;
  for (int k = 0; k < 2 && !rc; k++) { /* both: a disagreement names both */
    char col[64];
    snprintf(col, sizeof col, "features_%s", space_names[k]);
    rc = embedding_width(songs, col, &ch, &widths[k], err);
  }
  if (!rc) rc = resolve_layout(dir, want, widths, &lay, err);
  if (!rc) {
    snprintf(ds->space, sizeof ds->space, "%s", space_names[lay.space]);
    rc = read_songs(songs, ds->space, ds, &t, &ch, err);
  }
  cs_pq_close(songs);
  if (!rc) rc = read_users(dir, ds->space, &t, &ch, err);
  ds->dim = t.dim;
  ds->n_features = cs_n_features(t.dim);
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    rc = read_split(dir, lay.files[s], s, &t, &ds->splits[s], ctx, &ch, err);
    if (!rc)
      cs_log(ctx, CS_LOG_INFO, "import-deezer: %s: %s: %lld users, %lld truth "
             "entries", cs_split_name(s), lay.files[s], (long long)ds->splits[s].n_users,
             (long long)ds->splits[s].truth_indptr[ds->splits[s].n_users]);
  }
  if (!rc)
    cs_log(ctx, CS_LOG_INFO, "import-deezer: %s space, dim %d, %lld songs, "
           "%lld user embeddings in %.2fs", ds->space, t.dim, (long long)t.n_songs,
           (long long)t.n_users, cs_now() - t0);
  cs_pq_chunk_free(&ch);
  free(t.song_rows);
  free(t.user_rows);
  free(t.user_emb);
  free(t.user_present);
  /* the arrays built above now belong to the dataset, failed or not */
  int rc_adopt = cs_dataset_adopt_arrays(ds, err);
  if (!rc) rc = rc_adopt;
  if (!rc) rc = cs_dataset_validate(ds, err);
  if (rc) cs_dataset_free(ds);
  return rc;
}

/* deezer.c: `import-deezer`: reads Deezer's release (song and user
 * embeddings, per-split user features) with our Parquet reader and builds the
 * prepared dataset. Rows are matched by song_index / user_index, never by
 * position; nulls become 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/importer.h"
#include "coldstart/parquet.h"

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

static int field_column(cs_pq_file_t *f, const char *name, int want_list,
                        cs_err_t *err) {
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
  return fd->column;
}

/* Read an id column (no nulls) of all row groups into ids[num_rows]. */
static int read_ids(cs_pq_file_t *f, const char *name, int64_t *ids,
                    cs_pq_chunk_t *ch, cs_err_t *err) {
  int col = field_column(f, name, 0, err);
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

/* Read a list<double> embedding column into emb[row * dim] as float, with
 * present[row] = 0 for null lists (when allowed) . All lists must hold `dim`
 * values (dim <= 0: take the first list's length into *dim). */
static int read_embeddings(cs_pq_file_t *f, const char *name, int *dim,
                           float **emb_out, uint8_t *present,
                           cs_pq_chunk_t *ch, cs_err_t *err) {
  int col = field_column(f, name, 1, err);
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
      int64_t at = base + r;
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
        if (row.n_elems <= 0 || row.n_elems > 1 << 20) {
          rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' has %lld values",
                          cs_pq_name(f), (long long)at, name, (long long)row.n_elems);
          break;
        }
        *dim = (int)row.n_elems;
      }
      if (!emb && !(emb = calloc((size_t)(n ? n : 1) * (size_t)*dim, sizeof *emb))) {
        rc = cs_err_set(err, CS_ENOMEM, "%s: out of memory", cs_pq_name(f));
        break;
      }
      if (row.n_elems != *dim) {
        rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' has %lld values, "
                        "expected %d", cs_pq_name(f), (long long)at, name,
                        (long long)row.n_elems, *dim);
        break;
      }
      int64_t v = row.value;
      for (int64_t e = 0; e < row.n_elems; e++) {
        if (cs_pq_slot_null(ch, row.slot + e)) {
          rc = cs_err_set(err, CS_EFORMAT, "%s: row %lld: '%s' element %lld "
                          "is null", cs_pq_name(f), (long long)at, name, (long long)e);
          break;
        }
        emb[at * *dim + e] = (float)cs_pq_value_double(ch, v++);
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

/* A flat numeric chunk as `rows` floats (nulls -> 0). */
static void chunk_to_float(const cs_pq_chunk_t *ch, int64_t rows, float *out) {
  if (ch->n_values == rows && ch->type == CS_PQ_DOUBLE) {
    const double *v = ch->values;
    for (int64_t r = 0; r < rows; r++) out[r] = (float)v[r];
    return;
  }
  int64_t v = 0;
  for (int64_t r = 0; r < rows; r++)
    out[r] = cs_pq_slot_null(ch, r) ? 0.0f : (float)cs_pq_value_double(ch, v++);
}

static int open_in(cs_pq_file_t **f, const char *dir, const char *file,
                   cs_err_t *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return cs_pq_open(f, path, err);
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

static int read_songs(const char *dir, const char *space, cs_dataset_t *ds,
                      tables_t *t, cs_pq_chunk_t *ch, cs_err_t *err) {
  cs_pq_file_t *f;
  int rc = open_in(&f, dir, "song_embeddings.parquet", err);
  if (rc) return rc;
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
  cs_pq_close(f);
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

/* The feature column names, in layout order. */
static int feature_name(int j, int dim, char *buf, size_t cap) {
  return cs_feature_column_name(dim, j, buf, cap);
}

static int read_split(const char *dir, const char *space, int split,
                      const tables_t *t, cs_split_t *sp, const cs_ctx_t *ctx,
                      cs_pq_chunk_t *ch, cs_err_t *err) {
  char file[128];
  snprintf(file, sizeof file, "user_features_%s_%s.parquet", cs_split_name(split), space);
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
    cols[j] = field_column(f, name, 0, err);
    if (cols[j] < 0) rc = cols[j];
  }
  int songs_col = rc ? -1 : field_column(f, "d1d30_songs", 1, err);
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
        chunk_to_float(ch, rows, colbuf + (size_t)k * (size_t)rows);
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
  if (!space || (strcmp(space, "svd") && strcmp(space, "mf")))
    return cs_err_set(err, CS_EINVAL, "space must be 'svd' or 'mf', not '%s'",
                      space ? space : "(null)");
  snprintf(ds->space, sizeof ds->space, "%s", space);
  snprintf(ds->source, sizeof ds->source, "import-deezer");
  tables_t t;
  memset(&t, 0, sizeof t);
  cs_pq_chunk_t ch;
  cs_pq_chunk_init(&ch);
  double t0 = cs_now();
  int rc = read_songs(dir, space, ds, &t, &ch, err);
  if (!rc) rc = read_users(dir, space, &t, &ch, err);
  ds->dim = t.dim;
  ds->n_features = cs_n_features(t.dim);
  for (int s = 0; s < CS_N_SPLITS && !rc; s++) {
    rc = read_split(dir, space, s, &t, &ds->splits[s], ctx, &ch, err);
    if (!rc)
      cs_log(ctx, CS_LOG_INFO, "import-deezer: %s: %lld users, %lld truth "
             "entries", cs_split_name(s), (long long)ds->splits[s].n_users,
             (long long)ds->splits[s].truth_indptr[ds->splits[s].n_users]);
  }
  if (!rc)
    cs_log(ctx, CS_LOG_INFO, "import-deezer: %s space, dim %d, %lld songs, "
           "%lld user embeddings in %.2fs", space, t.dim, (long long)t.n_songs,
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

/* metadata.c: opening a Parquet file: the footer, the Thrift FileMetaData
 * (schema, row groups, column chunk metadata) and the leaf-column / list
 * layout derived from the schema. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "parquet/pq_internal.h"

int cs__pq_pread(cs_pq_file_t *f, void *dst, size_t len, int64_t off,
                 cs_err_t *err) {
  if (off < 0 || (int64_t)len > f->size || off > f->size - (int64_t)len)
    return cs_err_set(err, CS_ETRUNC, "%s: offset %lld: %zu bytes run past the "
                      "end of the file (%lld bytes)", f->name, (long long)off,
                      len, (long long)f->size);
  if (f->fd < 0) {
    memcpy(dst, f->mem + off, len);
    return 0;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t r = pread(f->fd, (uint8_t *)dst + done, len - done,
                      (off_t)(off + (int64_t)done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      return cs_err_set(err, r < 0 ? CS_EIO : CS_ETRUNC,
                        "%s: offset %lld: read failed: %s", f->name,
                        (long long)(off + (int64_t)done),
                        r < 0 ? strerror(errno) : "unexpected end of file");
    done += (size_t)r;
  }
  return 0;
}

static char *dup_n(const uint8_t *s, size_t n) {
  char *out = malloc(n + 1);
  if (!out) return NULL;
  memcpy(out, s, n);
  out[n] = 0;
  return out;
}

static int oom(cs__tr_t *tr) {
  return cs__tr_fail(tr, CS_ENOMEM, "out of memory reading metadata");
}

static int parse_logical(cs__tr_t *tr, cs_pq_node_t *nd) {
  int last = 0, id, type, rc;
  for (;;) {
    if ((rc = cs__tr_field(tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) return 0;
    if (type != CS__T_STRUCT) {
      if ((rc = cs__tr_skip(tr, type))) return rc;
      continue;
    }
    nd->logical_type = id;
    /* INTEGER (10): bitWidth i8, isSigned bool; TIMESTAMP (8) / TIME (7):
     * isAdjustedToUTC, unit (union: 1 millis 2 micros 3 nanos). */
    int l2 = 0, id2, t2;
    for (;;) {
      if ((rc = cs__tr_field(tr, &l2, &id2, &t2))) return rc;
      if (t2 == CS__T_STOP) break;
      int64_t v;
      if (id == 10 && (id2 == 1 || id2 == 2)) {
        if ((rc = cs__tr_int(tr, t2, &v))) return rc;
        if (id2 == 1) nd->logical_bits = (int)v;
        else nd->logical_signed = (int)v;
      } else if (id == 5 && (id2 == 1 || id2 == 2)) {
        if ((rc = cs__tr_int(tr, t2, &v))) return rc;
        if (id2 == 1) nd->scale = (int)v;
        else nd->precision = (int)v;
      } else if ((id == 7 || id == 8) && id2 == 2 && t2 == CS__T_STRUCT) {
        int l3 = 0, id3, t3;
        for (;;) {
          if ((rc = cs__tr_field(tr, &l3, &id3, &t3))) return rc;
          if (t3 == CS__T_STOP) break;
          nd->logical_bits = id3;
          if ((rc = cs__tr_skip(tr, t3))) return rc;
        }
      } else if ((rc = cs__tr_skip(tr, t2))) {
        return rc;
      }
    }
  }
}

static int parse_schema_element(cs__tr_t *tr, cs_pq_node_t *nd) {
  int last = 0, id, type, rc;
  int64_t v;
  nd->type = -1;
  nd->converted_type = -1;
  nd->repetition = CS_PQ_REQUIRED;
  for (;;) {
    if ((rc = cs__tr_field(tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) break;
    switch (id) {
    case 1: case 2: case 3: case 5: case 6: case 7: case 8:
      if ((rc = cs__tr_int(tr, type, &v))) return rc;
      if (id == 1) {
        if (v < 0 || v > 7)
          return cs__tr_fail(tr, CS_EFORMAT, "unknown physical type %lld",
                             (long long)v);
        nd->type = (int)v;
      }
      if (id == 2) nd->type_length = (int)v;
      if (id == 3) {
        if (v < 0 || v > 2)
          return cs__tr_fail(tr, CS_EFORMAT, "unknown repetition %lld",
                             (long long)v);
        nd->repetition = (int)v;
      }
      if (id == 5) {
        if (v < 0)
          return cs__tr_fail(tr, CS_EFORMAT, "negative num_children");
        nd->n_children = (int)v;
      }
      if (id == 6) nd->converted_type = (int)v;
      if (id == 7) nd->scale = (int)v;
      if (id == 8) nd->precision = (int)v;
      break;
    case 4: {
      const uint8_t *s;
      size_t n;
      if ((rc = cs__tr_binary(tr, type, &s, &n))) return rc;
      free(nd->name);
      if (!(nd->name = dup_n(s, n))) return oom(tr);
      break;
    }
    case 10:
      if ((rc = cs__tr_expect(tr, type, CS__T_STRUCT, "logicalType"))) return rc;
      if ((rc = parse_logical(tr, nd))) return rc;
      break;
    default:
      if ((rc = cs__tr_skip(tr, type))) return rc;
    }
  }
  if (!nd->name && !(nd->name = dup_n((const uint8_t *)"", 0))) return oom(tr);
  return 0;
}

static int parse_column_meta(cs__tr_t *tr, cs_pq_column_meta_t *cm) {
  int last = 0, id, type, rc;
  int64_t v, n;
  int et;
  for (;;) {
    if ((rc = cs__tr_field(tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) return 0;
    switch (id) {
    case 1: case 4: case 5: case 6: case 7: case 9: case 11:
      if ((rc = cs__tr_int(tr, type, &v))) return rc;
      if (id == 1) cm->type = (int)v;
      if (id == 4) cm->codec = (int)v;
      if (id == 5) cm->num_values = v;
      if (id == 6) cm->total_uncompressed_size = v;
      if (id == 7) cm->total_compressed_size = v;
      if (id == 9) cm->data_page_offset = v;
      if (id == 11) cm->dictionary_page_offset = v;
      break;
    case 2:
      if ((rc = cs__tr_list(tr, type, &et, &n))) return rc;
      for (int64_t i = 0; i < n; i++) {
        if ((rc = cs__tr_int(tr, et, &v))) return rc;
        if (cm->n_encodings < 16) cm->encodings[cm->n_encodings++] = (int)v;
      }
      break;
    default:
      if ((rc = cs__tr_skip(tr, type))) return rc;
    }
  }
}

static int parse_column_chunk(cs__tr_t *tr, cs_pq_column_meta_t *cm) {
  int last = 0, id, type, rc, have_meta = 0;
  for (;;) {
    if ((rc = cs__tr_field(tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) break;
    if (id == 1) {
      return cs__tr_fail(tr, CS_EUNSUPPORTED,
                         "column chunk stored in another file");
    } else if (id == 3) {
      if ((rc = cs__tr_expect(tr, type, CS__T_STRUCT, "ColumnMetaData")))
        return rc;
      if ((rc = parse_column_meta(tr, cm))) return rc;
      have_meta = 1;
    } else if ((rc = cs__tr_skip(tr, type))) {
      return rc;
    }
  }
  if (!have_meta)
    return cs__tr_fail(tr, CS_EFORMAT, "column chunk without metadata");
  return 0;
}

static int parse_row_group(cs__tr_t *tr, cs_pq_file_t *f, cs_pq_row_group_t *rg) {
  int last = 0, id, type, rc, et;
  int64_t v, n;
  for (;;) {
    if ((rc = cs__tr_field(tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) break;
    if (id == 1) {
      if ((rc = cs__tr_list(tr, type, &et, &n))) return rc;
      if ((rc = cs__tr_expect(tr, et, CS__T_STRUCT, "ColumnChunk"))) return rc;
      if (n != f->n_columns || rg->columns)
        return cs__tr_fail(tr, CS_EFORMAT, "row group has %lld column chunks, "
                           "schema has %d leaf columns", (long long)n,
                           f->n_columns);
      rg->columns = calloc((size_t)(n ? n : 1), sizeof *rg->columns);
      if (!rg->columns) return oom(tr);
      for (int64_t i = 0; i < n; i++) {
        rg->columns[i].dictionary_page_offset = -1;
        if ((rc = parse_column_chunk(tr, &rg->columns[i]))) return rc;
      }
    } else if (id == 2 || id == 3) {
      if ((rc = cs__tr_int(tr, type, &v))) return rc;
      if (v < 0)
        return cs__tr_fail(tr, CS_EFORMAT, "negative row group size %lld",
                           (long long)v);
      if (id == 2) rg->total_byte_size = v;
      else rg->num_rows = v;
    } else if ((rc = cs__tr_skip(tr, type))) {
      return rc;
    }
  }
  if (!rg->columns)
    return cs__tr_fail(tr, CS_EFORMAT, "row group without column chunks");
  return 0;
}

/* Link the flat schema list into a tree and derive leaf columns. */
static int build_tree(cs__tr_t *tr, cs_pq_file_t *f) {
  int stack[CS__PQ_MAX_DEPTH + 1], left[CS__PQ_MAX_DEPTH + 1], last_child[CS__PQ_MAX_DEPTH + 1];
  int depth = 0, n_leaves = 0;
  if (f->n_nodes < 1 || f->nodes[0].n_children < 1 || f->nodes[0].type >= 0)
    return cs__tr_fail(tr, CS_EFORMAT, "schema has no root group or no fields");
  for (int i = 0; i < f->n_nodes; i++) {
    cs_pq_node_t *nd = &f->nodes[i];
    nd->first_child = nd->next_sibling = -1;
    nd->leaf = -1;
    nd->parent = -1;
    if (i == 0) {
      nd->repetition = CS_PQ_REQUIRED;
    } else {
      while (depth > 0 && left[depth - 1] == 0) depth--;
      if (depth == 0)
        return cs__tr_fail(tr, CS_EFORMAT, "schema element %d '%s' lies outside "
                           "the tree", i, nd->name);
      int parent = stack[depth - 1];
      left[depth - 1]--;
      nd->parent = parent;
      if (last_child[depth - 1] < 0) f->nodes[parent].first_child = i;
      else f->nodes[last_child[depth - 1]].next_sibling = i;
      last_child[depth - 1] = i;
    }
    if (nd->type < 0 && nd->n_children == 0 && i > 0)
      return cs__tr_fail(tr, CS_EFORMAT, "schema element '%s' has neither a "
                         "type nor children", nd->name);
    if (nd->type >= 0 && i > 0) {
      nd->n_children = 0;
      nd->leaf = n_leaves++;
    }
    if (nd->n_children > 0) {
      if (depth >= CS__PQ_MAX_DEPTH)
        return cs__tr_fail(tr, CS_EFORMAT, "schema nested deeper than %d",
                           CS__PQ_MAX_DEPTH);
      if (nd->n_children > f->n_nodes)
        return cs__tr_fail(tr, CS_EFORMAT, "schema element '%s' claims %d "
                           "children", nd->name, nd->n_children);
      stack[depth] = i;
      left[depth] = nd->n_children;
      last_child[depth] = -1;
      depth++;
    }
  }
  while (depth > 0 && left[depth - 1] == 0) depth--;
  if (depth != 0)
    return cs__tr_fail(tr, CS_EFORMAT, "schema ends before all children");
  f->n_columns = n_leaves;
  f->columns = calloc((size_t)(n_leaves ? n_leaves : 1), sizeof *f->columns);
  f->n_fields = f->nodes[0].n_children;
  f->fields = calloc((size_t)f->n_fields, sizeof *f->fields);
  if (!f->columns || !f->fields) return oom(tr);
  int fi = 0;
  for (int top = f->nodes[0].first_child; top >= 0;
       top = f->nodes[top].next_sibling, fi++) {
    cs_pq_field_t *fd = &f->fields[fi];
    fd->name = f->nodes[top].name;
    fd->node = top;
    fd->column = -1;
  }
  for (int i = 1; i < f->n_nodes; i++) {
    cs_pq_node_t *nd = &f->nodes[i];
    if (nd->leaf < 0) continue;
    cs_pq_column_t *c = &f->columns[nd->leaf];
    c->node = i;
    c->type = nd->type;
    c->type_length = nd->type_length;
    if (nd->type == CS_PQ_FIXED_LEN_BYTE_ARRAY &&
        (nd->type_length <= 0 || nd->type_length > (1 << 20)))
      return cs__tr_fail(tr, CS_EFORMAT, "column '%s' has fixed length %d",
                         nd->name, nd->type_length);
    /* path from the top-level field down to the leaf */
    int path[CS__PQ_MAX_DEPTH + 1], n_path = 0;
    for (int j = i; j > 0; j = f->nodes[j].parent) path[n_path++] = j;
    size_t plen = 0;
    for (int k = 0; k < n_path; k++) plen += strlen(f->nodes[path[k]].name) + 1;
    c->path = malloc(plen + 1);
    if (!c->path) return oom(tr);
    c->path[0] = 0;
    int d = 0, r = 0, def_list = 0, def_elem = 0;
    for (int k = n_path - 1; k >= 0; k--) {
      cs_pq_node_t *pn = &f->nodes[path[k]];
      if (k != n_path - 1) strcat(c->path, ".");
      strcat(c->path, pn->name);
      if (pn->repetition != CS_PQ_REQUIRED) d++;
      if (pn->repetition == CS_PQ_REPEATED) {
        r++;
        if (r == 1) def_elem = d;
      }
      if (k == n_path - 1 && pn->repetition == CS_PQ_OPTIONAL) def_list = d;
    }
    c->max_def = d;
    c->max_rep = r;
    c->def_list = r ? def_list : 0;
    c->def_elem = r ? def_elem : 0;
    int top = path[n_path - 1];
    for (fi = 0; fi < f->n_fields && f->fields[fi].node != top; fi++) {}
    c->field = fi;
  }
  /* a field is readable when it has exactly one leaf, at most one list */
  for (int c = 0; c < n_leaves; c++) {
    cs_pq_field_t *fd = &f->fields[f->columns[c].field];
    fd->column = fd->column == -1 ? c : -2;
  }
  for (fi = 0; fi < f->n_fields; fi++) {
    cs_pq_field_t *fd = &f->fields[fi];
    if (fd->column >= 0 && f->columns[fd->column].max_rep > 1) fd->column = -2;
    if (fd->column < 0) fd->column = -1;
    else fd->is_list = f->columns[fd->column].max_rep == 1;
  }
  return 0;
}

int cs__pq_parse_footer(cs_pq_file_t *f, const uint8_t *buf, size_t len,
                        int64_t file_off, cs_err_t *err) {
  cs__tr_t tr;
  cs__tr_init(&tr, buf, len, file_off, f->name, err);
  int last = 0, id, type, rc, et, have_schema = 0;
  int64_t v, n;
  for (;;) {
    if ((rc = cs__tr_field(&tr, &last, &id, &type))) return rc;
    if (type == CS__T_STOP) break;
    switch (id) {
    case 1:
    case 3:
      if ((rc = cs__tr_int(&tr, type, &v))) return rc;
      if (id == 1) f->version = (int)v;
      else f->num_rows = v;
      break;
    case 2:
      if (have_schema)
        return cs__tr_fail(&tr, CS_EFORMAT, "schema given twice");
      if ((rc = cs__tr_list(&tr, type, &et, &n))) return rc;
      if ((rc = cs__tr_expect(&tr, et, CS__T_STRUCT, "SchemaElement"))) return rc;
      if (n > 1000000)
        return cs__tr_fail(&tr, CS_ETOOBIG, "%lld schema elements", (long long)n);
      f->nodes = calloc((size_t)(n ? n : 1), sizeof *f->nodes);
      if (!f->nodes) return oom(&tr);
      f->n_nodes = 0;
      for (int64_t i = 0; i < n; i++) {
        f->n_nodes++;
        if ((rc = parse_schema_element(&tr, &f->nodes[i]))) return rc;
      }
      have_schema = 1;
      if ((rc = build_tree(&tr, f))) return rc;
      break;
    case 4:
      if (!have_schema)
        return cs__tr_fail(&tr, CS_EFORMAT, "row groups before the schema");
      if (f->row_groups)
        return cs__tr_fail(&tr, CS_EFORMAT, "row groups given twice");
      if ((rc = cs__tr_list(&tr, type, &et, &n))) return rc;
      if ((rc = cs__tr_expect(&tr, et, CS__T_STRUCT, "RowGroup"))) return rc;
      f->row_groups = calloc((size_t)(n ? n : 1), sizeof *f->row_groups);
      if (!f->row_groups) return oom(&tr);
      for (int64_t i = 0; i < n; i++) {
        f->n_row_groups++;
        if ((rc = parse_row_group(&tr, f, &f->row_groups[i]))) return rc;
      }
      break;
    case 6: {
      const uint8_t *s;
      size_t sl;
      if ((rc = cs__tr_binary(&tr, type, &s, &sl))) return rc;
      free(f->created_by);
      if (!(f->created_by = dup_n(s, sl))) return oom(&tr);
      break;
    }
    default:
      if ((rc = cs__tr_skip(&tr, type))) return rc;
    }
  }
  if (!have_schema) return cs__tr_fail(&tr, CS_EFORMAT, "footer has no schema");
  int64_t total = 0;
  for (int i = 0; i < f->n_row_groups; i++) {
    cs_pq_row_group_t *rg = &f->row_groups[i];
    for (int c = 0; c < f->n_columns; c++) {
      cs_pq_column_meta_t *cm = &rg->columns[c];
      if (cm->type != f->columns[c].type)
        return cs_err_set(err, CS_EFORMAT, "%s: row group %d column '%s': chunk "
                          "type %d differs from schema type %d", f->name, i,
                          f->columns[c].path, cm->type, f->columns[c].type);
      if (cm->total_compressed_size < 0 || cm->num_values < 0 ||
          cm->data_page_offset < 0)
        return cs_err_set(err, CS_EFORMAT, "%s: row group %d column '%s': "
                          "negative size or offset", f->name, i,
                          f->columns[c].path);
    }
    if (rg->num_rows > INT64_MAX - total)
      return cs_err_set(err, CS_EFORMAT, "%s: row counts overflow", f->name);
    total += rg->num_rows;
  }
  if (total != f->num_rows)
    return cs_err_set(err, CS_EFORMAT, "%s: row groups hold %lld rows, footer "
                      "says %lld", f->name, (long long)total,
                      (long long)f->num_rows);
  return 0;
}

static int open_common(cs_pq_file_t *f, cs_err_t *err) {
  uint8_t tail[8];
  int rc;
  if (f->size < 12)
    return cs_err_set(err, CS_ETRUNC, "%s: offset 0: %lld bytes is too short "
                      "for a Parquet file", f->name, (long long)f->size);
  if ((rc = cs__pq_pread(f, tail, 4, 0, err))) return rc;
  if (memcmp(tail, "PAR1", 4))
    return cs_err_set(err, CS_EFORMAT, "%s: offset 0: not a Parquet file (no "
                      "PAR1 magic)", f->name);
  if ((rc = cs__pq_pread(f, tail, 8, f->size - 8, err))) return rc;
  if (memcmp(tail + 4, "PAR1", 4)) {
    if (!memcmp(tail + 4, "PARE", 4))
      return cs_err_set(err, CS_EUNSUPPORTED, "%s: encrypted footer", f->name);
    return cs_err_set(err, CS_ETRUNC, "%s: offset %lld: no PAR1 magic at the "
                      "end (truncated file?)", f->name, (long long)f->size - 4);
  }
  uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 |
                  (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
  if ((int64_t)flen > f->size - 12 || flen > CS__PQ_MAX_FOOTER)
    return cs_err_set(err, CS_EFORMAT, "%s: offset %lld: footer length %u does "
                      "not fit the file", f->name, (long long)f->size - 8, flen);
  int64_t off = f->size - 8 - flen;
  uint8_t *buf = malloc(flen ? flen : 1);
  if (!buf) return cs_err_set(err, CS_ENOMEM, "%s: footer", f->name);
  rc = cs__pq_pread(f, buf, flen, off, err);
  if (!rc) rc = cs__pq_parse_footer(f, buf, flen, off, err);
  free(buf);
  return rc;
}

static cs_pq_file_t *file_new(const char *name) {
  cs_pq_file_t *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->fd = -1;
  f->name = strdup(name);
  if (!f->name) {
    free(f);
    return NULL;
  }
  cs_pq_chunk_init(&f->dict);
  return f;
}

int cs_pq_open(cs_pq_file_t **out, const char *path, cs_err_t *err) {
  *out = NULL;
  cs_pq_file_t *f = file_new(path);
  if (!f) return cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) {
    int e = errno;
    cs_pq_close(f);
    return cs_err_set(err, e == ENOENT ? CS_ENOTFOUND : CS_EIO, "%s: %s", path,
                      strerror(e));
  }
  struct stat st;
  if (fstat(f->fd, &st) < 0) {
    int e = errno;
    cs_pq_close(f);
    return cs_err_set(err, CS_EIO, "%s: %s", path, strerror(e));
  }
  f->size = (int64_t)st.st_size;
  int rc = open_common(f, err);
  if (rc) {
    cs_pq_close(f);
    return rc;
  }
  *out = f;
  return 0;
}

int cs_pq_open_mem(cs_pq_file_t **out, const void *data, size_t size,
                   const char *name, cs_err_t *err) {
  *out = NULL;
  cs_pq_file_t *f = file_new(name);
  if (!f) return cs_err_set(err, CS_ENOMEM, "%s: out of memory", name);
  f->mem = data;
  f->size = (int64_t)size;
  int rc = open_common(f, err);
  if (rc) {
    cs_pq_close(f);
    return rc;
  }
  *out = f;
  return 0;
}

void cs_pq_close(cs_pq_file_t *f) {
  if (!f) return;
  if (f->fd >= 0) close(f->fd);
  for (int i = 0; i < f->n_nodes; i++) free(f->nodes[i].name);
  free(f->nodes);
  for (int i = 0; i < f->n_columns; i++) free(f->columns[i].path);
  free(f->columns);
  free(f->fields);
  for (int i = 0; i < f->n_row_groups; i++) free(f->row_groups[i].columns);
  free(f->row_groups);
  free(f->created_by);
  free(f->raw);
  free(f->page);
  free(f->idx);
  cs_pq_chunk_free(&f->dict);
  free(f->name);
  free(f);
}

const char *cs_pq_name(const cs_pq_file_t *f) { return f->name; }
int64_t cs_pq_file_size(const cs_pq_file_t *f) { return f->size; }
int64_t cs_pq_num_rows(const cs_pq_file_t *f) { return f->num_rows; }
const char *cs_pq_created_by(const cs_pq_file_t *f) {
  return f->created_by ? f->created_by : "";
}
int cs_pq_version(const cs_pq_file_t *f) { return f->version; }
int cs_pq_n_nodes(const cs_pq_file_t *f) { return f->n_nodes; }
const cs_pq_node_t *cs_pq_node(const cs_pq_file_t *f, int i) {
  return &f->nodes[i];
}
int cs_pq_n_columns(const cs_pq_file_t *f) { return f->n_columns; }
const cs_pq_column_t *cs_pq_column(const cs_pq_file_t *f, int i) {
  return &f->columns[i];
}
int cs_pq_n_fields(const cs_pq_file_t *f) { return f->n_fields; }
const cs_pq_field_t *cs_pq_field(const cs_pq_file_t *f, int i) {
  return &f->fields[i];
}
int cs_pq_find_field(const cs_pq_file_t *f, const char *name) {
  for (int i = 0; i < f->n_fields; i++)
    if (!strcmp(f->fields[i].name, name)) return i;
  return -1;
}
int cs_pq_n_row_groups(const cs_pq_file_t *f) { return f->n_row_groups; }
const cs_pq_row_group_t *cs_pq_row_group(const cs_pq_file_t *f, int i) {
  return &f->row_groups[i];
}

#define NAME_OF(table, i) \
  ((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) && table[i] ? table[i] : "UNKNOWN")

const char *cs_pq_type_name(int type) {
  static const char *const t[] = {"BOOLEAN", "INT32", "INT64", "INT96",
                                  "FLOAT", "DOUBLE", "BYTE_ARRAY",
                                  "FIXED_LEN_BYTE_ARRAY"};
  if (type == -1) return "GROUP";
  return NAME_OF(t, type);
}
const char *cs_pq_codec_name(int codec) {
  static const char *const t[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                  "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return NAME_OF(t, codec);
}
const char *cs_pq_encoding_name(int e) {
  static const char *const t[] = {"PLAIN", NULL, "PLAIN_DICTIONARY", "RLE",
                                  "BIT_PACKED", "DELTA_BINARY_PACKED",
                                  "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                  "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return NAME_OF(t, e);
}
const char *cs_pq_repetition_name(int r) {
  static const char *const t[] = {"REQUIRED", "OPTIONAL", "REPEATED"};
  return NAME_OF(t, r);
}
const char *cs_pq_converted_name(int c) {
  static const char *const t[] = {
      "UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE",
      "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS",
      "UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32",
      "INT_64", "JSON", "BSON", "INTERVAL"};
  if (c < 0) return "";
  return NAME_OF(t, c);
}
const char *cs_pq_logical_name(int l) {
  static const char *const t[] = {NULL, "STRING", "MAP", "LIST", "ENUM",
                                  "DECIMAL", "DATE", "TIME", "TIMESTAMP", NULL,
                                  "INTEGER", "NULL", "JSON", "BSON", "UUID",
                                  "FLOAT16", "VARIANT", "GEOMETRY",
                                  "GEOGRAPHY"};
  if (l <= 0) return "";
  return NAME_OF(t, l);
}

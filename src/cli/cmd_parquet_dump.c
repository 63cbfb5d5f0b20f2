/* cmd_parquet_dump.c: `coldstart parquet-dump FILE [--columns a,b]`: one JSON
 * object per row (lists as arrays, nulls as null, doubles that round-trip
 * exactly, integers as integers); `--count` decodes everything without
 * printing and reports the decode throughput. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "coldstart/ctx.h"
#include "coldstart/parquet.h"

/* Shortest "%.Ng" that reads back as the same double; integral values get a
 * ".0" so readers keep them as floating point. */
static void put_double(FILE *out, double v) {
  if (isnan(v)) { fputs("NaN", out); return; }
  if (isinf(v)) { fputs(v > 0 ? "Infinity" : "-Infinity", out); return; }
  char buf[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, out);
  if (!strpbrk(buf, ".eE")) fputs(".0", out);
}

static void put_float(FILE *out, float v) {
  if (isnan(v) || isinf(v)) { put_double(out, v); return; }
  char buf[40];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  fputs(buf, out);
  if (!strpbrk(buf, ".eE")) fputs(".0", out);
}

static void put_string(FILE *out, const uint8_t *s, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
    else if (ch == '\n') fputs("\\n", out);
    else if (ch == '\t') fputs("\\t", out);
    else if (ch < 0x20 || ch == 0x7f) fprintf(out, "\\u%04x", ch);
    else fputc(ch, out);
  }
  fputc('"', out);
}

static void put_value(FILE *out, const cs_pq_chunk_t *c, int64_t i) {
  switch (c->type) {
  case CS_PQ_BOOLEAN: fputs(((const uint8_t *)c->values)[i] ? "true" : "false", out); break;
  case CS_PQ_INT32: fprintf(out, "%d", ((const int32_t *)c->values)[i]); break;
  case CS_PQ_INT64: fprintf(out, "%lld", (long long)((const int64_t *)c->values)[i]); break;
  case CS_PQ_FLOAT: put_float(out, ((const float *)c->values)[i]); break;
  case CS_PQ_DOUBLE: put_double(out, ((const double *)c->values)[i]); break;
  case CS_PQ_INT96: {
    const uint8_t *b = (const uint8_t *)c->values + 12 * i;
    fputc('"', out);
    for (int k = 0; k < 12; k++) fprintf(out, "%02x", b[k]);
    fputc('"', out);
    break;
  }
  default:
    put_string(out, c->bytes + c->offsets[i], (size_t)(c->offsets[i + 1] - c->offsets[i]));
  }
}

/* Parse --columns into field indices; returns the count or -1. */
static int select_fields(cs_cli_t *cli, cs_pq_file_t *f, const char *spec,
                         int *sel) {
  int n = 0;
  if (!spec) {
    for (int i = 0; i < cs_pq_n_fields(f); i++) sel[n++] = i;
    return n;
  }
  char *copy = strdup(spec);
  if (!copy) return -1;
  for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
    int fi = cs_pq_find_field(f, tok);
    if (fi < 0) {
      cs_cli_usage_error(cli, "--columns: no column '%s' in %s", tok, cs_pq_name(f));
      free(copy);
      return -1;
    }
    if (n < cs_pq_n_fields(f)) sel[n++] = fi;
  }
  free(copy);
  return n;
}

/* CPU time of this process (user + system), for --count on busy machines. */
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int dump(cs_pq_file_t *f, const int *sel, int n_sel, int count_only,
                cs_cli_t *cli, cs_err_t *err) {
  cs_pq_chunk_t *chunks = calloc((size_t)n_sel + 1, sizeof *chunks);
  cs_pq_cursor_t *cur = calloc((size_t)n_sel + 1, sizeof *cur);
  if (!chunks || !cur) {
    free(chunks);
    free(cur);
    return cs_err_set(err, CS_ENOMEM, "out of memory");
  }
  for (int k = 0; k < n_sel; k++) {
    const cs_pq_field_t *fd = cs_pq_field(f, sel[k]);
    if (fd->column < 0) {
      free(chunks);
      free(cur);
      return cs_err_set(err, CS_EUNSUPPORTED, "%s: column '%s' is a struct, "
                        "map or nested list (not supported)", cs_pq_name(f),
                        fd->name);
    }
  }
  int rc = 0;
  int64_t n_values = 0, rows = 0;
  double t0 = cs_now(), c0 = cpu_seconds();
  FILE *out = stdout;
  for (int g = 0; g < cs_pq_n_row_groups(f) && !rc; g++) {
    int64_t n_rows = cs_pq_row_group(f, g)->num_rows;
    if (count_only) {
      /* column chunk by column chunk: one chunk in memory at a time */
      for (int k = 0; k < n_sel && !rc; k++) {
        const cs_pq_field_t *fd = cs_pq_field(f, sel[k]);
        rc = cs_pq_read_chunk(f, g, fd->column, &chunks[0], err);
        if (rc) break;
        cs_pq_cursor_init(&cur[0], &chunks[0], cs_pq_column(f, fd->column));
        cs_pq_row_t row;
        for (int64_t r = 0; r < n_rows && !rc; r++)
          rc = cs_pq_cursor_next(&cur[0], &row, err);
        n_values += chunks[0].n_values;
      }
      rows += n_rows;
      continue;
    }
    for (int k = 0; k < n_sel && !rc; k++) {
      const cs_pq_field_t *fd = cs_pq_field(f, sel[k]);
      rc = cs_pq_read_chunk(f, g, fd->column, &chunks[k], err);
      if (!rc) cs_pq_cursor_init(&cur[k], &chunks[k], cs_pq_column(f, fd->column));
    }
    for (int64_t r = 0; r < n_rows && !rc; r++) {
      fputc('{', out);
      for (int k = 0; k < n_sel && !rc; k++) {
        const cs_pq_field_t *fd = cs_pq_field(f, sel[k]);
        cs_pq_row_t row;
        if ((rc = cs_pq_cursor_next(&cur[k], &row, err))) break;
        if (k) fputc(',', out);
        put_string(out, (const uint8_t *)fd->name, strlen(fd->name));
        fputc(':', out);
        if (row.is_null) {
          fputs("null", out);
          continue;
        }
        const cs_pq_chunk_t *c = &chunks[k];
        if (!fd->is_list) {
          put_value(out, c, row.value);
          continue;
        }
        fputc('[', out);
        int64_t v = row.value;
        for (int64_t e = 0; e < row.n_elems; e++) {
          if (e) fputc(',', out);
          if (cs_pq_slot_null(c, row.slot + e)) fputs("null", out);
          else put_value(out, c, v++);
        }
        fputc(']', out);
      }
      fputs("}\n", out);
    }
    rows += n_rows;
  }
  if (!rc && count_only) {
    double dt = cs_now() - t0, ct = cpu_seconds() - c0;
    double mb = (double)cs_pq_file_size(f) / 1e6;
    printf("rows %lld columns %d values %lld file_mb %.1f seconds %.3f mb_per_s "
           "%.1f cpu_seconds %.3f cpu_mb_per_s %.1f\n", (long long)rows, n_sel,
           (long long)n_values, mb, dt, dt > 0 ? mb / dt : 0.0, ct,
           ct > 0 ? mb / ct : 0.0);
  }
  if (!rc && fflush(out) != 0) rc = cs_err_set(err, CS_EIO, "writing stdout failed");
  for (int k = 0; k < n_sel; k++) cs_pq_chunk_free(&chunks[k]);
  free(chunks);
  free(cur);
  (void)cli;
  return rc;
}

const cs_cli_flag_t cs_cmd_parquet_dump_flags[] = {
    {"columns", "a,b", 'c', "only these columns, in this order (default all)"},
    {"count", NULL, 'n', "decode every column, print only the row count and "
     "the decode rate (MB/s)"},
    {NULL, NULL, 0, NULL}};

int cs_cmd_parquet_dump(int argc, char **argv, cs_cli_t *cli) {
  const char *columns = NULL;
  int count_only = 0, opt, st = 0;
  while ((opt = cs_cli_next(cli, argc, argv, &st)) != -1) {
    switch (opt) {
    case 'c': columns = optarg; break;
    case 'n': count_only = 1; break;
    default: return st;
    }
  }
  if (optind != argc - 1) return cs_cli_usage_error(cli, "expected one FILE");
  cs_err_t err;
  cs_err_clear(&err);
  cs_pq_file_t *f;
  if (cs_pq_open(&f, argv[optind], &err)) return cs_cli_report(cli, &err);
  int *sel = calloc((size_t)cs_pq_n_fields(f) + 1, sizeof *sel);
  int n_sel = sel ? select_fields(cli, f, columns, sel) : -1;
  int status;
  if (n_sel < 0) {
    status = sel ? 2 : cs_cli_report(cli, &err);
  } else {
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    int rc = dump(f, sel, n_sel, count_only, cli, &err);
    status = rc ? cs_cli_report(cli, &err) : 0;
  }
  free(sel);
  cs_pq_close(f);
  return status;
}

/* cmd_parquet_schema.c: `coldstart parquet-schema FILE`: the schema tree
 * (names, physical and logical types, repetition) and the row groups (rows,
 * sizes, codecs, encodings), like parquet-tools. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "coldstart/parquet.h"

static void print_node(const cs_pq_file_t *f, int i, int depth) {
  const cs_pq_node_t *nd = cs_pq_node(f, i);
  printf("%*s", 2 * depth, "");
  if (i == 0) {
    printf("message %s {\n", nd->name);
  } else {
    printf("%s ", cs_pq_repetition_name(nd->repetition));
    if (nd->type < 0) printf("group ");
    else if (nd->type == CS_PQ_FIXED_LEN_BYTE_ARRAY)
      printf("fixed_len_byte_array(%d) ", nd->type_length);
    else printf("%s ", cs_pq_type_name(nd->type));
    printf("%s", nd->name);
    if (nd->logical_type > 0) {
      printf(" (%s", cs_pq_logical_name(nd->logical_type));
      if (nd->logical_type == 10)
        printf("(%d,%s)", nd->logical_bits, nd->logical_signed ? "true" : "false");
      if (nd->logical_type == 5) printf("(%d,%d)", nd->precision, nd->scale);
      printf(")");
    } else if (nd->converted_type >= 0) {
      printf(" (%s)", cs_pq_converted_name(nd->converted_type));
    }
    if (nd->type >= 0) {
      const cs_pq_column_t *c = cs_pq_column(f, nd->leaf);
      printf(";  # column %d, max_def %d, max_rep %d\n", nd->leaf, c->max_def,
             c->max_rep);
      return;
    }
    printf(" {\n");
  }
  for (int ch = nd->first_child; ch >= 0; ch = cs_pq_node(f, ch)->next_sibling)
    print_node(f, ch, depth + 1);
  printf("%*s}\n", 2 * depth, "");
}

const cs_cli_flag_t cs_cmd_parquet_schema_flags[] = {{NULL, NULL, 0, NULL}};

int cs_cmd_parquet_schema(int argc, char **argv, cs_cli_t *cli) {
  int opt, status = 0;
  while ((opt = cs_cli_next(cli, argc, argv, &status)) != -1)
    if (opt == CS_CLI_STOP) return status;
  if (optind != argc - 1) return cs_cli_usage_error(cli, "expected one FILE");
  cs_err_t err;
  cs_err_clear(&err);
  cs_pq_file_t *f;
  if (cs_pq_open(&f, argv[optind], &err)) return cs_cli_report(cli, &err);
  printf("file: %s\n", cs_pq_name(f));
  printf("size: %lld bytes\n", (long long)cs_pq_file_size(f));
  printf("created_by: %s\n", cs_pq_created_by(f));
  printf("version: %d\n", cs_pq_version(f));
  printf("rows: %lld\n", (long long)cs_pq_num_rows(f));
  printf("columns: %d leaves in %d fields\n", cs_pq_n_columns(f), cs_pq_n_fields(f));
  printf("row groups: %d\n\n", cs_pq_n_row_groups(f));
  print_node(f, 0, 0);
  for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
    const cs_pq_row_group_t *rg = cs_pq_row_group(f, g);
    int64_t comp = 0, uncomp = 0;
    for (int c = 0; c < cs_pq_n_columns(f); c++) {
      comp += rg->columns[c].total_compressed_size;
      uncomp += rg->columns[c].total_uncompressed_size;
    }
    printf("\nrow group %d: %lld rows, %lld bytes compressed, %lld uncompressed\n",
           g, (long long)rg->num_rows, (long long)comp, (long long)uncomp);
    for (int c = 0; c < cs_pq_n_columns(f); c++) {
      const cs_pq_column_meta_t *cm = &rg->columns[c];
      printf("  %-40s %-7s %-12s values %lld, %lld -> %lld bytes, offset %lld, "
             "encodings", cs_pq_column(f, c)->path, cs_pq_type_name(cm->type),
             cs_pq_codec_name(cm->codec), (long long)cm->num_values,
             (long long)cm->total_compressed_size,
             (long long)cm->total_uncompressed_size,
             (long long)(cm->dictionary_page_offset > 0 &&
                                 cm->dictionary_page_offset < cm->data_page_offset
                             ? cm->dictionary_page_offset
                             : cm->data_page_offset));
      for (int e = 0; e < cm->n_encodings; e++)
        printf("%s%s", e ? "," : " ", cs_pq_encoding_name(cm->encodings[e]));
      printf("\n");
    }
  }
  cs_pq_close(f);
  if (fflush(stdout) != 0) {
    cs_err_set(&err, CS_EIO, "writing stdout failed");
    return cs_cli_report(cli, &err);
  }
  return 0;
}

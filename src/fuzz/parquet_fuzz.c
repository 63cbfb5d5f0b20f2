/* parquet_fuzz.c: libFuzzer target for the Parquet reader: open an in-memory
 * file, decode every column chunk of every row group and walk every row.
 * Any input must end in success or a cs_err_t error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "coldstart/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cs_err_t err;
  cs_err_clear(&err);
  cs_pq_file_t *f;
  if (cs_pq_open_mem(&f, data, size, "fuzz.parquet", &err)) {
    /* errors must carry a message naming the file */
    if (!strstr(err.msg, "fuzz.parquet")) __builtin_trap();
    return 0;
  }
  cs_pq_chunk_t chunk;
  cs_pq_chunk_init(&chunk);
  for (int g = 0; g < cs_pq_n_row_groups(f); g++) {
    for (int c = 0; c < cs_pq_n_columns(f); c++) {
      if (cs_pq_read_chunk(f, g, c, &chunk, &err)) {
        if (!strstr(err.msg, "fuzz.parquet")) __builtin_trap();
        continue;
      }
      cs_pq_cursor_t cur;
      cs_pq_cursor_init(&cur, &chunk, cs_pq_column(f, c));
      cs_pq_row_t row;
      volatile double sink = 0;
      for (int64_t r = 0; r < chunk.n_rows; r++) {
        if (cs_pq_cursor_next(&cur, &row, &err)) {
          if (!strstr(err.msg, "fuzz.parquet")) __builtin_trap();
          break;
        }
        int64_t v = row.value;
        for (int64_t e = 0; e < row.n_elems; e++) {
          if (cs_pq_slot_null(&chunk, row.slot + e)) continue;
          if (v >= chunk.n_values) __builtin_trap(); /* cursor overran values */
          if (chunk.type != CS_PQ_BYTE_ARRAY && chunk.type != CS_PQ_INT96 &&
              chunk.type != CS_PQ_FIXED_LEN_BYTE_ARRAY)
            sink += cs_pq_value_double(&chunk, v);
          v++;
        }
      }
      (void)sink;
    }
  }
  cs_pq_chunk_free(&chunk);
  cs_pq_close(f);
  return 0;
}

/* importer.h: turning Deezer's public release (a folder of Parquet files,
 * docs/data.md, docs/parquet.md) into the prepared dataset that `coldstart prepare` makes. */
#ifndef COLDSTART_IMPORTER_H
#define COLDSTART_IMPORTER_H

#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"

/* Read `dir` (song_embeddings.parquet, user_embeddings.parquet and per split
 * user_features_<split>_<space>.parquet or user_features_<split>.parquet)
 * into `out` (free with cs_dataset_free). `space`: "svd", "mf",
 * or NULL / "" / "auto" to take it from the file names or, with no space in
 * them, from the feature blocks' width (the space whose song embeddings are
 * as wide); out->space tells which. A space that disagrees with a feature
 * file's block width is CS_EINVAL naming both. Embedding lists may be
 * Parquet lists or JSON text (strictly parsed; errors name file, row and
 * column). Songs ascend by song_index; users of each split ascend by
 * user_index (rows are matched by id, in any file order); feature columns
 * are mapped by name into docs/features.md's layout (nulls -> 0); truth =
 * d1d30_songs as song rows (matched by song_index), sorted and
 * deduplicated; targets = the user's <space>_embeddings row (matched by
 * user_index; has_target = 0 and a zero row when absent) for every split;
 * no feature tables (has_tables = 0). */
int cs_import_deezer(const char *dir, const char *space, cs_dataset_t *out,
                     const cs_ctx_t *ctx, cs_err_t *err);

#endif

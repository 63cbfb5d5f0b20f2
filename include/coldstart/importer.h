/* importer.h: turning Deezer's public release (a folder of Parquet files,
 * docs/data.md) into the prepared dataset that `coldstart prepare` makes. */
#ifndef COLDSTART_IMPORTER_H
#define COLDSTART_IMPORTER_H

#include "coldstart/ctx.h"
#include "coldstart/dataset.h"
#include "coldstart/error.h"

/* Read `dir` (song_embeddings.parquet, user_embeddings.parquet,
 * user_features_{train,validation,test}_<space>.parquet) for `space` ("svd"
 * or "mf") into `out` (owned = 1; free with cs_dataset_free). Songs ascend by
 * song_index; users of each split ascend by user_index; feature columns are
 * mapped by name into docs/features.md's layout (nulls -> 0); truth = d1d30_songs
 * as song rows (matched by song_index), sorted and deduplicated; targets =
 * the user's <space>_embeddings row (matched by user_index; has_target = 0
 * and a zero row when absent) for every split; featurizer = NULL. */
int cs_import_deezer(const char *dir, const char *space, cs_dataset_t *out,
                     const cs_ctx_t *ctx, cs_err_t *err);

#endif

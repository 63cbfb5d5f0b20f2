/* export.c: `coldstart export-onnx`: a model as files another serving stack
 * reads: regressor.onnx, the segment tables as .npy, README.md (how to
 * reproduce the six strategies of the paper from them; mix and blend and a
 * tuned model's parameters are not exported) and export.json (shapes and
 * parameters, written last). The only place that reads cs_model_t fields
 * is view_model(). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coldstart/dataset.h"
#include "coldstart/layout.h"
#include "coldstart/io.h"
#include "coldstart/npy.h"
#include "coldstart/onnx.h"
#include "coldstart/strategy.h"

/* What the export needs from a model, borrowed. */
typedef struct {
  const char *space;
  int dim, n_features, k, k_input;
  int64_t n_songs;
  const int64_t *song_ids;
  const float *song_emb;
  const cs_regressor_t *regressor;
  const float *centroids, *input_centroids;
  const cs_segments_t *segments, *input_segments, *popularity;
} model_view_t;

static int view_model(const cs_model_t *m, model_view_t *v, cs_err_t *err) {
  memset(v, 0, sizeof *v);
  v->space = m->space;
  v->dim = m->dim;
  v->n_features = m->n_features;
  v->k = m->target.k;
  v->k_input = m->input.k;
  v->n_songs = m->n_songs;
  v->song_ids = m->song_ids;
  v->song_emb = m->song_emb;
  v->regressor = m->regressor;
  v->centroids = m->target.centroids;
  v->input_centroids = m->input.centroids;
  v->segments = &m->target.seg;
  v->input_segments = &m->input.seg;
  v->popularity = &m->popularity.seg;
  if (!v->regressor) return cs_err_set(err, CS_ESTATE, "model has no regressor");
  if (cs_regressor_n_in(v->regressor) != v->n_features ||
      cs_regressor_dim(v->regressor) != v->dim)
    return cs_err_set(err, CS_EFORMAT, "model: regressor is %d -> %d but the "
                      "model says F = %d, d = %d",
                      cs_regressor_n_in(v->regressor),
                      cs_regressor_dim(v->regressor), v->n_features, v->dim);
  if (v->segments->k != v->k || v->input_segments->k != v->k_input ||
      v->popularity->k != 1)
    return cs_err_set(err, CS_EFORMAT, "model: segment tables (%d, %d, %d) "
                      "do not match k = %d, k_input = %d, popularity 1",
                      v->segments->k, v->input_segments->k, v->popularity->k,
                      v->k, v->k_input);
  return 0;
}

/* --- files ----------------------------------------------------------------- */

typedef struct {
  const char *dir;
  json_t *files; /* export.json "files": name -> {dtype, shape} */
  cs_err_t *err;
} writer_t;

static int put_npy(writer_t *w, const char *name, const char *descr,
                   int64_t rows, int64_t cols, const void *data) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", w->dir, name) >= (int)sizeof path)
    return cs_err_set(w->err, CS_EINVAL, "%s/%s: path too long", w->dir, name);
  int64_t shape[2] = {rows, cols};
  int ndim = cols >= 0 ? 2 : 1;
  int rc = cs_npy_write(path, descr, shape, ndim, data, w->err);
  if (rc) return rc;
  json_t *s = json_array();
  for (int i = 0; i < ndim; i++) json_array_append_new(s, json_integer(shape[i]));
  json_object_set_new(w->files, name, json_pack("{s:s, s:o}", "dtype", descr,
                                                "shape", s));
  return 0;
}

/* One segment table as CSR: PREFIX_{indptr,songs,p,count,users}.npy. */
static int put_segments(writer_t *w, const char *prefix, const cs_segments_t *s) {
  char name[5][64];
  static const char *suffix[5] = {"indptr", "songs", "p", "count", "users"};
  for (int i = 0; i < 5; i++)
    snprintf(name[i], sizeof name[i], "%s_%s.npy", prefix, suffix[i]);
  int64_t nnz = s->indptr[s->k];
  int rc = put_npy(w, name[0], "<i8", (int64_t)s->k + 1, -1, s->indptr);
  if (!rc) rc = put_npy(w, name[1], "<i4", nnz, -1, s->songs);
  if (!rc) rc = put_npy(w, name[2], "<f4", nnz, -1, s->p);
  if (!rc) rc = put_npy(w, name[3], "<i4", nnz, -1, s->counts);
  if (!rc) rc = put_npy(w, name[4], "<i8", s->k, -1, s->n_users);
  return rc;
}

static int put_text(writer_t *w, const char *name, const char *text) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", w->dir, name) >= (int)sizeof path)
    return cs_err_set(w->err, CS_EINVAL, "%s/%s: path too long", w->dir, name);
  return cs_write_file_atomic(path, text, strlen(text), w->err);
}

static const char *const reference_files[3] = {"user_id.npy", "features.npy",
                                               "embedding.npy"};

/* --force without a reference set: drop an earlier export's reference/
 * files (only those names; the folder goes only when left empty). */
static int remove_stale_reference(const char *dir, cs_err_t *err) {
  char path[4096];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/reference/%s", dir, reference_files[i]);
    if (unlink(path) != 0 && errno != ENOENT)
      return cs_err_set(err, CS_EIO, "%s: cannot remove: %s", path,
                        strerror(errno));
  }
  snprintf(path, sizeof path, "%s/reference", dir);
  if (rmdir(path) != 0 && errno != ENOENT && errno != ENOTEMPTY &&
      errno != EEXIST)
    return cs_err_set(err, CS_EIO, "%s: cannot remove: %s", path,
                      strerror(errno));
  return 0;
}

/* --- README --------------------------------------------------------------- */

static char *readme_text(const model_view_t *v, const cs_onnx_export_params_t *p,
                         const cs_strategy_params_t *sp) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  int d = v->dim, F = v->n_features;
  char layout[2048];
  size_t at = 0;
  at += (size_t)snprintf(layout + at, sizeof layout - at, "| block b | name |\n| --- | --- |\n");
  for (int b = 0; b < CS_N_BLOCKS; b++)
    at += (size_t)snprintf(layout + at, sizeof layout - at, "| %d | %s |\n", b,
                           cs_feature_blocks[b]);
  at += (size_t)snprintf(layout + at, sizeof layout - at,
                         "\nCounts, columns %d .. %d: ", CS_N_BLOCKS * d + 1, F - 1);
  for (int c = 0; c < CS_N_COUNTS && at < sizeof layout; c++)
    at += (size_t)snprintf(layout + at, sizeof layout - at, "%s%s",
                           cs_feature_counts[c], c + 1 < CS_N_COUNTS ? ", " : ".\n");
  fprintf(f,
"# coldstart model export\n"
"\n"
"Written by `coldstart export-onnx`. A %s-space model: embedding dimension\n"
"d = %d, F = %d input features, k = %d segments, k_input = %d input\n"
"clusters, %lld songs. `export.json` holds these numbers, every file's dtype\n"
"and shape, and the default list parameters. It is written last: a folder\n"
"without it is an interrupted export.\n"
"\n"
"Song ROWS are indices 0..n_songs-1 into the song table (`songs_id.npy`\n"
"maps a row to the song id). Every ranking breaks ties by the lower song\n"
"row, every nearest-centroid search by the lower centroid index.\n"
"\n"
"## Files\n"
"\n"
"| file | dtype | shape | content |\n"
"| --- | --- | --- | --- |\n"
"| regressor.onnx | ONNX | | opset %d, IR version %d; input `features` float32 [N, %d], output `embedding` float32 [N, %d] |\n"
"| centroids.npy | float32 | [%d, %d] | segment centroids (k-means over the training users' embeddings) |\n"
"| segments_indptr.npy | int64 | [%d] | CSR row pointers: segment c is entries indptr[c] .. indptr[c+1]-1 |\n"
"| segments_songs.npy | int32 | [nnz] | song rows, each segment's ranking: p descending, then song row ascending |\n"
"| segments_p.npy | float32 | [nnz] | p_c(s) = n_c(s) / sum over songs of n_c |\n"
"| segments_count.npy | int32 | [nnz] | n_c(s): training users of c with s among their days-1-30 songs |\n"
"| segments_users.npy | int64 | [%d] | training users in each segment |\n"
"| input_centroids.npy | float32 | [%d, %d] | input clusters (k-means over L2-normalized raw feature vectors) |\n"
"| input_segments_{indptr,songs,p,count,users}.npy | | | the same CSR layout over the %d input clusters |\n"
"| popularity_{indptr,songs,p,count,users}.npy | | | the same layout, one segment holding every training user |\n"
"| songs_id.npy | int64 | [%lld] | song row -> song id |\n"
"| songs_embedding.npy | float32 | [%lld, %d] | song vectors (for `full` and `d0-streams`) |\n",
          v->space, d, F, v->k, v->k_input, (long long)v->n_songs,
          CS_ONNX_OPSET, CS_ONNX_IR_VERSION, F, d, v->k, d, v->k + 1, v->k,
          v->k_input, F, v->k_input, (long long)v->n_songs,
          (long long)v->n_songs, d);
  if (p->n_ref > 0)
    fprintf(f,
"| reference/user_id.npy | int64 | [%lld] | users of the %s split |\n"
"| reference/features.npy | float32 | [%lld, %d] | their raw feature rows |\n"
"| reference/embedding.npy | float32 | [%lld, %d] | coldstart's own embeddings of those rows: a port must match them (coldstart's test: max abs difference <= 1e-5) |\n",
            (long long)p->n_ref, p->ref_split ? p->ref_split : "reference",
            (long long)p->n_ref, F, (long long)p->n_ref, d);
  fprintf(f,
"\n"
"Each segment's list holds every song with n_c(s) > 0, untruncated: a song\n"
"not listed has p_c(s) = 0. Songs beyond a list rank after it by ascending\n"
"row.\n"
"\n"
"## Step 1: the embedding\n"
"\n"
"`features` is the user's RAW feature vector, F = 20 d + 19 values in the\n"
"column order of Deezer's release (export.json lists the names too):\n"
"columns [b d, (b+1) d) hold block b (the mean embedding of the items of that\n"
"kind of registration-day interaction, or of the warm users sharing the\n"
"user's age / country; zero when none), column %d is age_value (-1 when\n"
"unknown), then one count per column. Do not standardize it: the graph does\n"
"(%s). Run regressor.onnx; `embedding` e is L2-normalized (a zero output\n"
"stays zero). Any batch size N works.\n"
"\n"
"%s"
"\n"
"## semi (K = %d by default)\n"
"\n"
"1. e = the user's embedding.\n"
"2. c = the centroid nearest to e: argmin over c of ||e - centroids[c]||\n"
"   (Euclidean; ties: lower c).\n"
"3. The list is the first K songs of segment c's ranking\n"
"   (segments_songs[indptr[c] ..]); when the segment has fewer than K songs,\n"
"   continue with the songs not in it by ascending row.\n"
"4. Report song ids: songs_id[row]. The user's membership is c (weight 1).\n"
"\n"
"## soft (K = %d, m = %d, margin = %d by default)\n"
"\n"
"1. e = the user's embedding.\n"
"2. The m nearest centroids c_1 .. c_m, by Euclidean distance\n"
"   d_1 <= ... <= d_m (not squared; ties: lower index).\n"
"3. Weights w_j = (1 / (d_j + 1e-10)) / sum_i (1 / (d_i + 1e-10)).\n"
"4. Slots: T = K + margin. a_j = floor(w_j T); the T - sum_j a_j slots left\n"
"   go one each to the largest fractional parts w_j T - a_j (ties: lower j).\n"
"5. Candidates: for j = 1 .. m in order, the first a_j songs of segment\n"
"   c_j's ranking (all of them when it has fewer than a_j); a song already\n"
"   taken is skipped (the first occurrence stays). Keep the first K.\n"
"6. If fewer than K: fill with songs not taken yet, by the mixture score\n"
"   sum_j w_j p_{c_j}(s) descending, ties by lower row, over the songs in at\n"
"   least one of the m lists (score > 0); if still short, the remaining\n"
"   songs by ascending row.\n"
"7. A song's clusters (the method's explanation): the c_j whose top-a_j\n"
"   slots held it, or for a fill song every c_j with p_{c_j}(s) > 0. The\n"
"   user's memberships: c_1 .. c_m with weights w_j and distances d_j.\n"
"\n"
"coldstart computes distances and the fill score in float32; a float64\n"
"port gives the same lists except where two values tie to the last bit.\n"
"\n"
"## The other strategies\n"
"\n"
"- popularity: the first K songs of the popularity ranking.\n"
"- full: the K songs with the largest dot product e . songs_embedding[s]\n"
"  (ties: lower row).\n"
"- input-clusters: x = features / ||features|| (a zero vector stays zero),\n"
"  the nearest input centroid to x, the first K songs of its ranking\n"
"  (input_segments_*), continued by ascending row as in semi.\n"
"- d0-streams: v = features[%d .. %d) (the streamed_songs block); if v is\n"
"  all zero, popularity; otherwise the top K by v . songs_embedding[s].\n",
          CS_N_BLOCKS * d,
          p->onnx.fold ? "folded into the first Gemm"
                       : "the Sub and Div nodes",
          layout, sp->k, sp->k, sp->soft_m, sp->soft_margin,
          cs_feature_streamed_songs_block() * d,
          (cs_feature_streamed_songs_block() + 1) * d);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

/* --- export.json ------------------------------------------------------------- */

static int put_manifest(writer_t *w, const model_view_t *v,
                        const cs_onnx_export_params_t *p,
                        const cs_strategy_params_t *sp) {
  json_t *root = json_pack(
      "{s:s, s:i, s:s, s:i, s:i, s:I, s:i, s:i,"
      " s:{s:s, s:i, s:i, s:s, s:s, s:b, s:f, s:f},"
      " s:{s:i, s:i, s:i}}",
      "format", "coldstart-onnx-export", "version", 1, "space", v->space,
      "dim", v->dim, "n_features", v->n_features, "n_songs",
      (json_int_t)v->n_songs, "k", v->k, "k_input", v->k_input, "onnx",
      "file", "regressor.onnx", "opset", CS_ONNX_OPSET, "ir_version",
      CS_ONNX_IR_VERSION, "input", "features", "output", "embedding",
      "folded", p->onnx.fold ? 1 : 0, "batchnorm_eps", 1e-5, "l2_eps", 1e-12,
      "defaults", "k", sp->k, "soft_m", sp->soft_m, "soft_margin",
      sp->soft_margin);
  if (!root) return cs_err_set(w->err, CS_ENOMEM, "export.json");
  json_t *blocks = json_array(), *counts = json_array();
  for (int b = 0; b < CS_N_BLOCKS; b++)
    json_array_append_new(blocks, json_string(cs_feature_blocks[b]));
  for (int c = 0; c < CS_N_COUNTS; c++)
    json_array_append_new(counts, json_string(cs_feature_counts[c]));
  json_object_set_new(root, "feature_blocks", blocks);
  json_object_set_new(root, "age_column", json_integer(CS_N_BLOCKS * v->dim));
  json_object_set_new(root, "feature_counts", counts);
  json_object_set(root, "files", w->files);
  if (p->n_ref > 0)
    json_object_set_new(root, "reference",
                        json_pack("{s:s, s:I}", "split",
                                  p->ref_split ? p->ref_split : "reference",
                                  "n_users", (json_int_t)p->n_ref));
  else
    json_object_set_new(root, "reference", json_null());
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                    JSON_REAL_PRECISION(6));
  json_decref(root);
  if (!text) return cs_err_set(w->err, CS_ENOMEM, "export.json");
  size_t len = strlen(text);
  char *with_nl = malloc(len + 2);
  int rc;
  if (!with_nl) {
    rc = cs_err_set(w->err, CS_ENOMEM, "export.json");
  } else {
    memcpy(with_nl, text, len);
    memcpy(with_nl + len, "\n", 2);
    rc = put_text(w, "export.json", with_nl);
  }
  free(with_nl);
  free(text);
  return rc;
}

/* --- the export ----------------------------------------------------------- */

void cs_onnx_export_params_default(cs_onnx_export_params_t *p) {
  memset(p, 0, sizeof *p);
  cs_onnx_params_default(&p->onnx);
}

static int put_onnx(writer_t *w, const model_view_t *v,
                    const cs_onnx_export_params_t *p) {
  cs_onnx_params_t op = p->onnx;
  char dim[16], nf[16];
  snprintf(dim, sizeof dim, "%d", v->dim);
  snprintf(nf, sizeof nf, "%d", v->n_features);
  const char *keys[3] = {"coldstart.space", "coldstart.dim",
                         "coldstart.n_features"};
  const char *vals[3] = {v->space, dim, nf};
  for (int i = 0; i < 3 && op.n_meta < CS_ONNX_META_MAX; i++) {
    op.meta_key[op.n_meta] = keys[i];
    op.meta_value[op.n_meta++] = vals[i];
  }
  uint8_t *bytes;
  size_t len;
  int rc = cs_onnx_encode_regressor(v->regressor, &op, &bytes, &len, w->err);
  if (rc) return rc;
  char path[4096];
  snprintf(path, sizeof path, "%s/regressor.onnx", w->dir);
  rc = cs_write_file_atomic(path, bytes, len, w->err);
  free(bytes);
  if (rc) return rc;
  json_object_set_new(w->files, "regressor.onnx",
                      json_pack("{s:s, s:I}", "format", "onnx", "bytes",
                                (json_int_t)len));
  return 0;
}

static int put_reference(writer_t *w, const model_view_t *v,
                         const cs_onnx_export_params_t *p) {
  char path[4096];
  snprintf(path, sizeof path, "%s/reference", w->dir);
  int rc = cs_mkdirs(path, w->err);
  if (rc) return rc;
  float *emb = malloc((size_t)p->n_ref * (size_t)v->dim * sizeof *emb);
  if (!emb)
    return cs_err_set(w->err, CS_ENOMEM, "reference embeddings (%lld users)",
                      (long long)p->n_ref);
  rc = cs_regressor_predict(v->regressor, p->ref_features, p->n_ref, emb,
                            w->err);
  if (!rc) rc = put_npy(w, "reference/user_id.npy", "<i8", p->n_ref, -1,
                        p->ref_user_ids);
  if (!rc) rc = put_npy(w, "reference/features.npy", "<f4", p->n_ref,
                        v->n_features, p->ref_features);
  if (!rc) rc = put_npy(w, "reference/embedding.npy", "<f4", p->n_ref, v->dim,
                        emb);
  free(emb);
  return rc;
}

int cs_onnx_export(const cs_model_t *m, const char *dir,
                   const cs_onnx_export_params_t *p, cs_err_t *err) {
  cs_onnx_export_params_t defaults;
  if (!p) {
    cs_onnx_export_params_default(&defaults);
    p = &defaults;
  }
  if (!dir || !*dir) return cs_err_set(err, CS_EINVAL, "no output directory");
  if (p->n_ref < 0 || (p->n_ref > 0 && (!p->ref_features || !p->ref_user_ids)))
    return cs_err_set(err, CS_EINVAL, "reference set: %lld rows without data",
                      (long long)p->n_ref);
  model_view_t v;
  int rc = view_model(m, &v, err);
  if (rc) return rc;
  struct stat sb;
  if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
    return cs_err_set(err, CS_EINVAL, "%s exists and is not a directory", dir);
  if (!p->force && cs_dir_nonempty(dir))
    return cs_err_set(err, CS_EINVAL,
                      "%s is not empty (use --force to overwrite)", dir);
  /* room for the longest name written inside (reference/embedding.npy,
   * segments_*.npy): every path below then fits its 4096-byte buffer */
  if (strlen(dir) > 4096 - 64)
    return cs_err_set(err, CS_EINVAL, "%s: path too long", dir);
  if ((rc = cs_mkdirs(dir, err))) return rc;
  char path[4096];
  snprintf(path, sizeof path, "%s/export.json", dir);
  /* an earlier export stops being "complete" before any file changes */
  if (unlink(path) != 0 && errno != ENOENT)
    return cs_err_set(err, CS_EIO, "%s: cannot remove: %s", path,
                      strerror(errno));

  cs_strategy_params_t sp;
  cs_strategy_params_default(&sp);
  writer_t w = {dir, json_object(), err};
  if (!w.files) return cs_err_set(err, CS_ENOMEM, "export.json");
  rc = put_onnx(&w, &v, p);
  if (!rc) rc = put_npy(&w, "centroids.npy", "<f4", v.k, v.dim, v.centroids);
  if (!rc) rc = put_segments(&w, "segments", v.segments);
  if (!rc) rc = put_npy(&w, "input_centroids.npy", "<f4", v.k_input,
                        v.n_features, v.input_centroids);
  if (!rc) rc = put_segments(&w, "input_segments", v.input_segments);
  if (!rc) rc = put_segments(&w, "popularity", v.popularity);
  if (!rc) rc = put_npy(&w, "songs_id.npy", "<i8", v.n_songs, -1, v.song_ids);
  if (!rc) rc = put_npy(&w, "songs_embedding.npy", "<f4", v.n_songs, v.dim,
                        v.song_emb);
  if (!rc) rc = p->n_ref > 0 ? put_reference(&w, &v, p)
                             : remove_stale_reference(dir, err);
  if (!rc) {
    char *text = readme_text(&v, p, &sp);
    rc = text ? put_text(&w, "README.md", text)
              : cs_err_set(err, CS_ENOMEM, "README.md");
    free(text);
  }
  if (!rc) rc = put_manifest(&w, &v, p, &sp);
  json_decref(w.files);
  return rc;
}

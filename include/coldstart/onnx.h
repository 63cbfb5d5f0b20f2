/* onnx.h: the model leaves coldstart: the regressor as an ONNX graph
 * (regressor.onnx) and the segment tables as .npy files, with a README
 * telling another stack (ONNX Runtime, Triton, ...) how to reproduce the
 * `semi` and `soft` strategies from them. The contract is docs/onnx.md.
 *
 * The graph: input `features` float32 [N, F] (raw features, the layout of
 * docs/method.md), output `embedding` float32 [N, d], the same function as
 * cs_regressor_predict: standardization, Linear-ReLU-BatchNorm x3, Linear,
 * L2 normalization (eps 1e-12), ONNX opset CS_ONNX_OPSET, IR version
 * CS_ONNX_IR_VERSION, weights stored inline as little-endian raw_data.
 * Written by our own protobuf encoder (src/onnx/pb.c). */
#ifndef COLDSTART_ONNX_H
#define COLDSTART_ONNX_H

#include <stddef.h>
#include <stdint.h>
#include "coldstart/error.h"
#include "coldstart/model.h"
#include "coldstart/regressor.h"

#define CS_ONNX_OPSET 17
#define CS_ONNX_IR_VERSION 8
#define CS_ONNX_META_MAX 8

typedef struct cs_onnx_params {
  /* 1 (default): the input standardization is folded into the first Gemm
   * and each BatchNorm (which follows a ReLU) into the next Gemm, so the
   * graph is Gemm-Relu x3, Gemm, ReduceL2-Max-Div: the fastest form for a
   * runtime. 0: Sub/Div and BatchNormalization ops with the trained
   * arrays, one-to-one with the network as trained. Both compute the same
   * function; float rounding differs in the last bits. */
  int fold;
  /* Extra ModelProto.metadata_props (key, value) pairs; the strings are
   * borrowed for the call. */
  int n_meta;
  const char *meta_key[CS_ONNX_META_MAX];
  const char *meta_value[CS_ONNX_META_MAX];
} cs_onnx_params_t;

void cs_onnx_params_default(cs_onnx_params_t *p);

/* The serialized ModelProto of a regressor. *out is malloc'ed (the caller
 * frees it); *out_len its size. */
int cs_onnx_encode_regressor(const cs_regressor_t *r, const cs_onnx_params_t *p,
                             uint8_t **out, size_t *out_len, cs_err_t *err);

typedef struct cs_onnx_export_params {
  cs_onnx_params_t onnx;
  int force; /* 0: refuse a DIR that exists and is not empty */
  /* Optional reference set (n_ref = 0: none): raw feature rows
   * [n_ref x F] and their user ids, borrowed. The export then also writes
   * reference/{user_id,features,embedding}.npy, the embeddings being
   * coldstart's own cs_regressor_predict of those rows, so another stack
   * can check its port row by row. `ref_split` names them in export.json. */
  const float *ref_features;
  const int64_t *ref_user_ids;
  int64_t n_ref;
  const char *ref_split;
} cs_onnx_export_params_t;

void cs_onnx_export_params_default(cs_onnx_export_params_t *p);

/* Write the whole export of model `m` into `dir` (created if needed):
 * regressor.onnx, the tables, README.md and, last, export.json (its
 * presence marks a complete export). Every file is written atomically
 * (temp name, fsync, rename). A non-empty existing `dir` is refused unless
 * p->force; with force, files of an earlier export that this one does not
 * write (reference/) are removed, and nothing else is touched. */
int cs_onnx_export(const cs_model_t *m, const char *dir,
                   const cs_onnx_export_params_t *p, cs_err_t *err);

#endif

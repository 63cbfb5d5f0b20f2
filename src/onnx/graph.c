/* graph.c: the regressor as an ONNX ModelProto (opset 17, IR version 8).
 *
 * Inference math (the same as cs_regressor_predict, see regressor.c):
 *   x  = (features - in_mean) / in_std
 *   h_l = BN_l(relu(W_l h_{l-1} + b_l)), l = 0..2, BN_l(a) = a*s_l + t_l with
 *        s_l = gamma_l / sqrt(var_l + 1e-5), t_l = beta_l - mean_l * s_l
 *   y  = W_3 h_2 + b_3;  embedding = y / max(||y||_2, 1e-12)
 *
 * Folded form (default): W_0' = W_0 diag(1/in_std), b_0' = b_0 - W_0' in_mean,
 * and since BN_l follows the ReLU it folds into the NEXT layer:
 * W_{l+1}' = W_{l+1} diag(s_l), b_{l+1}' = b_{l+1} + W_{l+1} t_l (sums in
 * double, rounded once). Unfolded form: Sub, Div and BatchNormalization
 * nodes over the trained arrays.
 *
 * ONNX field numbers (onnx.proto): ModelProto ir_version 1, producer_name 2,
 * producer_version 3, doc_string 6, graph 7, opset_import 8,
 * metadata_props 14; OperatorSetIdProto domain 1, version 2; GraphProto
 * node 1, name 2, initializer 5, doc_string 10, input 11, output 12;
 * NodeProto input 1, output 2, name 3, op_type 4, attribute 5;
 * AttributeProto name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2,
 * INTS 7); TensorProto dims 1, data_type 2 (FLOAT 1), name 8, raw_data 9;
 * ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
 * TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1;
 * Dimension dim_value 1, dim_param 2; StringStringEntryProto key 1,
 * value 2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/onnx.h"
#include "model/regressor_internal.h"
#include "onnx/pb.h"

enum { ONNX_FLOAT = 1 };                              /* TensorProto.DataType */
enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7 }; /* AttributeType */

void cs_onnx_params_default(cs_onnx_params_t *p) {
  memset(p, 0, sizeof *p);
  p->fold = 1;
}

/* --- graph pieces ---------------------------------------------------------- */

/* proto2 repeated int64, one key per element (the canonical encoding). */
static void repeated_int64(cs__pb_t *b, int field, const int64_t *v, int n) {
  for (int i = 0; i < n; i++) cs__pb_int64(b, field, v[i]);
}

static void initializer(cs__pb_t *graph, const char *name, const int64_t *dims,
                        int ndim, const float *data) {
  size_t count = 1;
  for (int i = 0; i < ndim; i++) count *= (size_t)dims[i];
  cs__pb_t t;
  cs__pb_init(&t);
  repeated_int64(&t, 1, dims, ndim);
  cs__pb_int64(&t, 2, ONNX_FLOAT);
  cs__pb_string(&t, 8, name);
  cs__pb_floats_le(&t, 9, data, count);
  cs__pb_message(graph, 5, &t);
  cs__pb_free(&t);
}

/* A float32 tensor value [N, cols] with N symbolic ("N"). */
static void value_info(cs__pb_t *graph, int field, const char *name,
                       int64_t cols) {
  cs__pb_t vi, type, tensor, shape, dim;
  cs__pb_init(&vi);
  cs__pb_init(&type);
  cs__pb_init(&tensor);
  cs__pb_init(&shape);
  cs__pb_init(&dim);
  cs__pb_string(&dim, 2, "N");
  cs__pb_message(&shape, 1, &dim);
  dim.len = 0;
  cs__pb_int64(&dim, 1, cols);
  cs__pb_message(&shape, 1, &dim);
  cs__pb_int64(&tensor, 1, ONNX_FLOAT);
  cs__pb_message(&tensor, 2, &shape);
  cs__pb_message(&type, 1, &tensor);
  cs__pb_string(&vi, 1, name);
  cs__pb_message(&vi, 2, &type);
  cs__pb_message(graph, field, &vi);
  cs__pb_free(&vi);
  cs__pb_free(&type);
  cs__pb_free(&tensor);
  cs__pb_free(&shape);
  cs__pb_free(&dim);
}

typedef struct {
  const char *name;
  int type;        /* ATTR_* */
  float f;
  int64_t i;
  int64_t ints[4];
  int n_ints;
} attr_t;

static void node(cs__pb_t *graph, const char *op, const char *name,
                 const char *const *in, int n_in, const char *out,
                 const attr_t *attrs, int n_attrs) {
  cs__pb_t n, a;
  cs__pb_init(&n);
  cs__pb_init(&a);
  for (int i = 0; i < n_in; i++) cs__pb_string(&n, 1, in[i]);
  cs__pb_string(&n, 2, out);
  cs__pb_string(&n, 3, name);
  cs__pb_string(&n, 4, op);
  for (int k = 0; k < n_attrs; k++) {
    a.len = 0;
    cs__pb_string(&a, 1, attrs[k].name);
    if (attrs[k].type == ATTR_FLOAT) cs__pb_float(&a, 2, attrs[k].f);
    if (attrs[k].type == ATTR_INT) cs__pb_int64(&a, 3, attrs[k].i);
    if (attrs[k].type == ATTR_INTS)
      repeated_int64(&a, 8, attrs[k].ints, attrs[k].n_ints);
    cs__pb_int64(&a, 20, attrs[k].type);
    cs__pb_message(&n, 5, &a);
  }
  cs__pb_message(graph, 1, &n);
  cs__pb_free(&n);
  cs__pb_free(&a);
}

static void gemm(cs__pb_t *graph, int l, const char *in, const char *out) {
  char name[32], w[32], b[32];
  snprintf(name, sizeof name, "linear%d", l);
  snprintf(w, sizeof w, "W%d", l);
  snprintf(b, sizeof b, "b%d", l);
  const char *inputs[3] = {in, w, b};
  attr_t trans_b = {.name = "transB", .type = ATTR_INT, .i = 1};
  node(graph, "Gemm", name, inputs, 3, out, &trans_b, 1);
}

static void unary(cs__pb_t *graph, const char *op, const char *name,
                  const char *in, const char *out) {
  node(graph, op, name, &in, 1, out, NULL, 0);
}

static void binary(cs__pb_t *graph, const char *op, const char *name,
                   const char *a, const char *b, const char *out) {
  const char *inputs[2] = {a, b};
  node(graph, op, name, inputs, 2, out, NULL, 0);
}

/* --- folding ----------------------------------------------------------------- */

/* BN_l as scale/shift, exactly as regressor.c computes it (float). */
static void bn_scale_shift(const cs_regressor_t *r, int l, float *scale,
                           float *shift) {
  const cs__reg_arrays_t *p = &r->p;
  for (int j = 0; j < r->size[l + 1]; j++) {
    float s = p->gamma[l][j] / sqrtf(p->run_var[l][j] + CS__REG_BN_EPS);
    scale[j] = s;
    shift[j] = p->beta[l][j] - p->run_mean[l][j] * s;
  }
}

/* Folded W_l', b_l' into w [out x in], b [out]. */
static void fold_layer(const cs_regressor_t *r, int l, float *w, float *b,
                       float *scale, float *shift) {
  const cs__reg_arrays_t *p = &r->p;
  int n_out = r->size[l + 1], n_in = r->size[l];
  if (l == 0) {
    for (int o = 0; o < n_out; o++) {
      const float *wo = p->w[0] + (size_t)o * n_in;
      double acc = p->b[0][o];
      for (int j = 0; j < n_in; j++) {
        float wj = wo[j] / p->in_std[j];
        w[(size_t)o * n_in + j] = wj;
        acc -= (double)wj * (double)p->in_mean[j];
      }
      b[o] = (float)acc;
    }
    return;
  }
  bn_scale_shift(r, l - 1, scale, shift);
  for (int o = 0; o < n_out; o++) {
    const float *wo = p->w[l] + (size_t)o * n_in;
    double acc = p->b[l][o];
    for (int j = 0; j < n_in; j++) {
      w[(size_t)o * n_in + j] = wo[j] * scale[j];
      acc += (double)wo[j] * (double)shift[j];
    }
    b[o] = (float)acc;
  }
}

/* --- the model ----------------------------------------------------------- */

static int build_graph(const cs_regressor_t *r, const cs_onnx_params_t *p,
                       cs__pb_t *g, cs_err_t *err) {
  const cs__reg_arrays_t *a = &r->p;
  int fold = p->fold;
  cs__pb_string(g, 2, "coldstart_regressor");

  /* nodes */
  char cur[32] = "features", next[32];
  if (!fold) {
    binary(g, "Sub", "standardize_center", "features", "in_mean", "x_centered");
    binary(g, "Div", "standardize_scale", "x_centered", "in_std", "x");
    snprintf(cur, sizeof cur, "x");
  }
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    snprintf(next, sizeof next, l + 1 < CS__REG_N_LINEAR ? "z%d" : "y", l);
    gemm(g, l, cur, next);
    if (l + 1 == CS__REG_N_LINEAR) break;
    char relu_name[32], relu_out[32];
    snprintf(relu_name, sizeof relu_name, "relu%d", l);
    snprintf(relu_out, sizeof relu_out, "a%d", l);
    unary(g, "Relu", relu_name, next, relu_out);
    snprintf(cur, sizeof cur, "%s", relu_out);
    if (!fold) {
      char bn_name[32], bn_out[32], in[5][32];
      snprintf(bn_name, sizeof bn_name, "batchnorm%d", l);
      snprintf(bn_out, sizeof bn_out, "h%d", l);
      snprintf(in[0], sizeof in[0], "%s", relu_out);
      snprintf(in[1], sizeof in[1], "bn%d_gamma", l);
      snprintf(in[2], sizeof in[2], "bn%d_beta", l);
      snprintf(in[3], sizeof in[3], "bn%d_mean", l);
      snprintf(in[4], sizeof in[4], "bn%d_var", l);
      const char *inputs[5] = {in[0], in[1], in[2], in[3], in[4]};
      attr_t eps = {.name = "epsilon", .type = ATTR_FLOAT, .f = CS__REG_BN_EPS};
      node(g, "BatchNormalization", bn_name, inputs, 5, bn_out, &eps, 1);
      snprintf(cur, sizeof cur, "%s", bn_out);
    }
  }
  attr_t reduce[2] = {
      {.name = "axes", .type = ATTR_INTS, .ints = {1}, .n_ints = 1},
      {.name = "keepdims", .type = ATTR_INT, .i = 1}};
  const char *y_in = "y";
  node(g, "ReduceL2", "l2_norm", &y_in, 1, "y_norm", reduce, 2);
  binary(g, "Max", "l2_norm_eps", "y_norm", "norm_eps", "y_norm_eps");
  binary(g, "Div", "l2_normalize", "y", "y_norm_eps", "embedding");

  /* initializers */
  int widest = 0;
  size_t biggest = 0;
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    size_t n = (size_t)r->size[l + 1] * r->size[l];
    if (n > biggest) biggest = n;
    if (r->size[l + 1] > widest) widest = r->size[l + 1];
  }
  float *w = NULL, *b = NULL, *scale = NULL, *shift = NULL;
  if (fold) {
    w = malloc(biggest * sizeof *w);
    b = malloc((size_t)widest * sizeof *b);
    scale = malloc((size_t)widest * sizeof *scale);
    shift = malloc((size_t)widest * sizeof *shift);
    if (!w || !b || !scale || !shift) {
      free(w);
      free(b);
      free(scale);
      free(shift);
      return cs_err_set(err, CS_ENOMEM, "onnx: out of memory folding weights");
    }
  } else {
    int64_t dims_in[1] = {r->n_in};
    initializer(g, "in_mean", dims_in, 1, a->in_mean);
    initializer(g, "in_std", dims_in, 1, a->in_std);
  }
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    char wn[32], bn[32];
    snprintf(wn, sizeof wn, "W%d", l);
    snprintf(bn, sizeof bn, "b%d", l);
    int64_t dims_w[2] = {r->size[l + 1], r->size[l]}, dims_b[1] = {r->size[l + 1]};
    if (fold) fold_layer(r, l, w, b, scale, shift);
    initializer(g, wn, dims_w, 2, fold ? w : a->w[l]);
    initializer(g, bn, dims_b, 1, fold ? b : a->b[l]);
    if (!fold && l < CS__REG_N_BN) {
      const float *arrays[4] = {a->gamma[l], a->beta[l], a->run_mean[l],
                                a->run_var[l]};
      static const char *suffix[4] = {"gamma", "beta", "mean", "var"};
      for (int k = 0; k < 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "bn%d_%s", l, suffix[k]);
        initializer(g, name, dims_b, 1, arrays[k]);
      }
    }
  }
  free(w);
  free(b);
  free(scale);
  free(shift);
  int64_t dims_one[1] = {1};
  float eps = (float)CS__REG_NORM_EPS;
  initializer(g, "norm_eps", dims_one, 1, &eps);

  cs__pb_string(g, 10, fold
      ? "coldstart regressor: Gemm-Relu x3 (input standardization folded "
        "into the first Gemm, each BatchNorm into the next Gemm), Gemm, "
        "L2 normalization y / max(||y||, 1e-12)"
      : "coldstart regressor: (x - in_mean) / in_std, Gemm-Relu-"
        "BatchNormalization x3, Gemm, L2 normalization y / max(||y||, 1e-12)");
  value_info(g, 11, "features", r->n_in);
  value_info(g, 12, "embedding", r->dim);
  return 0;
}

int cs_onnx_encode_regressor(const cs_regressor_t *r, const cs_onnx_params_t *p,
                             uint8_t **out, size_t *out_len, cs_err_t *err) {
  *out = NULL;
  *out_len = 0;
  cs_onnx_params_t defaults;
  if (!p) {
    cs_onnx_params_default(&defaults);
    p = &defaults;
  }
  if (!r) return cs_err_set(err, CS_EINVAL, "onnx: no regressor");
  if (p->n_meta < 0 || p->n_meta > CS_ONNX_META_MAX)
    return cs_err_set(err, CS_EINVAL, "onnx: %d metadata pairs (max %d)",
                      p->n_meta, CS_ONNX_META_MAX);
  cs__pb_t model, g, sub;
  cs__pb_init(&model);
  cs__pb_init(&g);
  cs__pb_init(&sub);
  int rc = build_graph(r, p, &g, err);
  if (rc) {
    cs__pb_free(&g);
    return rc;
  }
  cs__pb_int64(&model, 1, CS_ONNX_IR_VERSION);
  cs__pb_string(&model, 2, "coldstart");
  cs__pb_string(&model, 3, "1");
  cs__pb_string(&model, 6, "cold-start user embedding regressor: raw "
                "features [N, F] -> L2-normalized embedding [N, d]");
  cs__pb_message(&model, 7, &g);
  cs__pb_string(&sub, 1, "");
  cs__pb_int64(&sub, 2, CS_ONNX_OPSET);
  cs__pb_message(&model, 8, &sub);
  for (int i = 0; i < p->n_meta; i++) {
    sub.len = 0;
    cs__pb_string(&sub, 1, p->meta_key[i] ? p->meta_key[i] : "");
    cs__pb_string(&sub, 2, p->meta_value[i] ? p->meta_value[i] : "");
    cs__pb_message(&model, 14, &sub);
  }
  cs__pb_free(&g);
  cs__pb_free(&sub);
  if (model.failed) {
    cs__pb_free(&model);
    return cs_err_set(err, CS_ETOOBIG, "onnx: out of memory or over the "
                      "2 GiB protobuf limit (n_in=%d, dim=%d)", r->n_in, r->dim);
  }
  *out = cs__pb_take(&model, out_len);
  return 0;
}

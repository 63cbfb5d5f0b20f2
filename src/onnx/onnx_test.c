/* onnx_test.c: the protobuf encoder against hand-computed bytes (the
 * examples of the protobuf encoding spec and a few edge cases); the
 * regressor's ModelProto decoded back by a small independent reader and
 * EVALUATED by a tiny interpreter of its nodes, equal to
 * cs_regressor_predict within 1e-5 in both the folded and unfolded forms;
 * the export folder (files, --force, stale reference removal). ONNX
 * Runtime itself runs the export in tests/cli/onnx.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coldstart/io.h"
#include "coldstart/onnx.h"
#include "coldstart/rng.h"
#include "coldstart/train.h"
#include "train/regressor_train_internal.h"
#include "onnx/pb.h"

/* --- encoder: known bytes ---------------------------------------------------- */

static void expect(cs__pb_t *b, const char *hex_bytes, size_t n) {
  assert_false(b->failed);
  assert_int_equal(b->len, n);
  assert_memory_equal(b->data, hex_bytes, n);
  b->len = 0;
}

static void test_varints(void **state) {
  (void)state;
  cs__pb_t b;
  cs__pb_init(&b);
  cs__pb_varint(&b, 0);
  expect(&b, "\x00", 1);
  cs__pb_varint(&b, 1);
  expect(&b, "\x01", 1);
  cs__pb_varint(&b, 127);
  expect(&b, "\x7f", 1);
  cs__pb_varint(&b, 128);
  expect(&b, "\x80\x01", 2);
  cs__pb_varint(&b, 300); /* 0b10_0101100 -> ac 02 */
  expect(&b, "\xac\x02", 2);
  cs__pb_varint(&b, UINT64_MAX);
  expect(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
  assert_int_equal(cs__pb_varint_size(0), 1);
  assert_int_equal(cs__pb_varint_size(127), 1);
  assert_int_equal(cs__pb_varint_size(128), 2);
  assert_int_equal(cs__pb_varint_size(16383), 2);
  assert_int_equal(cs__pb_varint_size(16384), 3);
  assert_int_equal(cs__pb_varint_size(UINT64_MAX), 10);
  /* keys: field << 3 | wire type */
  cs__pb_key(&b, 1, CS__PB_WIRE_VARINT);
  expect(&b, "\x08", 1);
  cs__pb_key(&b, 2, CS__PB_WIRE_LEN);
  expect(&b, "\x12", 1);
  cs__pb_key(&b, 15, CS__PB_WIRE_FIXED32);
  expect(&b, "\x7d", 1);
  cs__pb_key(&b, 16, CS__PB_WIRE_VARINT); /* 128 */
  expect(&b, "\x80\x01", 2);
  cs__pb_key(&b, 20, CS__PB_WIRE_VARINT); /* 160: AttributeProto.type */
  expect(&b, "\xa0\x01", 2);
  cs__pb_free(&b);
}

static void test_fields(void **state) {
  (void)state;
  cs__pb_t b, child;
  cs__pb_init(&b);
  cs__pb_init(&child);
  /* the protobuf spec's examples */
  cs__pb_int64(&b, 1, 150);
  expect(&b, "\x08\x96\x01", 3);
  cs__pb_string(&b, 2, "testing");
  expect(&b, "\x12\x07testing", 9);
  int64_t packed[3] = {3, 270, 86942};
  cs__pb_packed_int64(&b, 4, packed, 3);
  expect(&b, "\x22\x06\x03\x8e\x02\x9e\xa7\x05", 8);
  cs__pb_int64(&child, 1, 150);
  cs__pb_message(&b, 3, &child);
  expect(&b, "\x1a\x03\x08\x96\x01", 5);
  /* a negative int64 is its two's complement: 10 bytes */
  cs__pb_int64(&b, 1, -1);
  expect(&b, "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
  /* fixed32 float and little-endian raw floats */
  cs__pb_float(&b, 2, 1.0f);
  expect(&b, "\x15\x00\x00\x80\x3f", 5);
  float fl[2] = {1.0f, -2.0f};
  cs__pb_floats_le(&b, 9, fl, 2);
  expect(&b, "\x4a\x08\x00\x00\x80\x3f\x00\x00\x00\xc0", 10);
  cs__pb_bytes(&b, 1, "", 0);
  expect(&b, "\x0a\x00", 2);
  /* a failed child poisons its parent; a failed buffer stays failed */
  child.failed = 1;
  cs__pb_message(&b, 3, &child);
  assert_true(b.failed);
  size_t before = b.len;
  cs__pb_int64(&b, 1, 1);
  assert_int_equal(b.len, before);
  cs__pb_free(&b);
  cs__pb_free(&child);
  /* growth across many appends keeps every byte */
  cs__pb_init(&b);
  for (int i = 0; i < 10000; i++) cs__pb_int64(&b, 1, i);
  size_t want = 0;
  for (int i = 0; i < 10000; i++) want += 1 + cs__pb_varint_size((uint64_t)i);
  assert_false(b.failed);
  assert_int_equal(b.len, want);
  size_t len;
  uint8_t *bytes = cs__pb_take(&b, &len);
  assert_int_equal(len, want);
  assert_int_equal(bytes[0], 0x08);
  assert_int_equal(bytes[1], 0x00);
  assert_null(b.data);
  free(bytes);
}

/* --- an independent reader of the produced ModelProto ---------------------- */

typedef struct {
  const uint8_t *p, *end;
} rd_t;

typedef struct {
  int field, wire;
  uint64_t v;           /* varint / fixed32 bits */
  const uint8_t *data;  /* length-delimited */
  size_t len;
} fld_t;

static uint64_t rd_varint(rd_t *r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    assert_true(r->p < r->end);
    uint8_t byte = *r->p++;
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  fail_msg("varint longer than 10 bytes");
  return 0;
}

/* Next field, or 0 at the end. */
static int rd_next(rd_t *r, fld_t *f) {
  if (r->p >= r->end) return 0;
  uint64_t key = rd_varint(r);
  f->field = (int)(key >> 3);
  f->wire = (int)(key & 7);
  f->data = NULL;
  f->len = 0;
  switch (f->wire) {
  case 0:
    f->v = rd_varint(r);
    break;
  case 2:
    f->len = (size_t)rd_varint(r);
    assert_true(f->len <= (size_t)(r->end - r->p));
    f->data = r->p;
    r->p += f->len;
    break;
  case 5:
    assert_true(r->end - r->p >= 4);
    f->v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 |
           (uint64_t)r->p[3] << 24;
    r->p += 4;
    break;
  default:
    fail_msg("unexpected wire type %d", f->wire);
  }
  return 1;
}

static rd_t sub(const fld_t *f) { return (rd_t){f->data, f->data + f->len}; }

static void copy_str(char *dst, size_t cap, const fld_t *f) {
  assert_true(f->len < cap);
  memcpy(dst, f->data, f->len);
  dst[f->len] = '\0';
}

#define MAX_NODES 32
#define MAX_INIT 32
#define NAME_LEN 32

typedef struct {
  char op[NAME_LEN], in[5][NAME_LEN], out[NAME_LEN];
  int n_in;
  int64_t trans_b, keepdims, axes;
  float epsilon;
  int has_epsilon;
} node_t;

typedef struct {
  char name[NAME_LEN];
  int64_t dims[2];
  int ndim;
  float *data;
} tensor_t;

typedef struct {
  int64_t ir_version, opset;
  char opset_domain[8];
  node_t nodes[MAX_NODES];
  int n_nodes;
  tensor_t init[MAX_INIT];
  int n_init;
  char in_name[NAME_LEN], out_name[NAME_LEN], in_dim0[8], out_dim0[8];
  int64_t in_cols, out_cols;
} parsed_t;

static void parse_value_info(const fld_t *f, char *name, char *dim0,
                             int64_t *cols) {
  rd_t r = sub(f);
  fld_t a, b, c, d, e;
  int n_dims = 0;
  while (rd_next(&r, &a)) {
    if (a.field == 1) copy_str(name, NAME_LEN, &a);
    if (a.field != 2) continue;
    rd_t rt = sub(&a);
    while (rd_next(&rt, &b)) {
      assert_int_equal(b.field, 1); /* tensor_type */
      rd_t rtt = sub(&b);
      while (rd_next(&rtt, &c)) {
        if (c.field == 1) assert_int_equal(c.v, 1); /* FLOAT */
        if (c.field != 2) continue;
        rd_t rs = sub(&c);
        while (rd_next(&rs, &d)) {
          rd_t rdim = sub(&d);
          while (rd_next(&rdim, &e)) {
            if (n_dims == 0) {
              assert_int_equal(e.field, 2); /* dim_param */
              copy_str(dim0, 8, &e);
            } else {
              assert_int_equal(e.field, 1); /* dim_value */
              *cols = (int64_t)e.v;
            }
          }
          n_dims++;
        }
      }
    }
  }
  assert_int_equal(n_dims, 2);
}

static void parse_node(const fld_t *f, node_t *n) {
  memset(n, 0, sizeof *n);
  n->keepdims = -1;
  rd_t r = sub(f);
  fld_t a, b;
  while (rd_next(&r, &a)) {
    if (a.field == 1) {
      assert_true(n->n_in < 5);
      copy_str(n->in[n->n_in++], NAME_LEN, &a);
    } else if (a.field == 2) {
      copy_str(n->out, NAME_LEN, &a);
    } else if (a.field == 4) {
      copy_str(n->op, NAME_LEN, &a);
    } else if (a.field == 5) {
      rd_t ra = sub(&a);
      char name[NAME_LEN] = "";
      int64_t type = 0, i = 0, ints = -1;
      float fv = 0;
      while (rd_next(&ra, &b)) {
        if (b.field == 1) copy_str(name, sizeof name, &b);
        if (b.field == 20) type = (int64_t)b.v;
        if (b.field == 3) i = (int64_t)b.v;
        if (b.field == 8) ints = (int64_t)b.v;
        if (b.field == 2) {
          uint32_t u = (uint32_t)b.v;
          memcpy(&fv, &u, 4);
        }
      }
      if (!strcmp(name, "transB")) {
        assert_int_equal(type, 2);
        n->trans_b = i;
      } else if (!strcmp(name, "keepdims")) {
        assert_int_equal(type, 2);
        n->keepdims = i;
      } else if (!strcmp(name, "axes")) {
        assert_int_equal(type, 7);
        n->axes = ints;
      } else if (!strcmp(name, "epsilon")) {
        assert_int_equal(type, 1);
        n->epsilon = fv;
        n->has_epsilon = 1;
      } else {
        fail_msg("unexpected attribute %s", name);
      }
    }
  }
}

static void parse_tensor(const fld_t *f, tensor_t *t) {
  memset(t, 0, sizeof *t);
  rd_t r = sub(f);
  fld_t a;
  size_t raw_len = 0;
  const uint8_t *raw = NULL;
  while (rd_next(&r, &a)) {
    if (a.field == 1) {
      assert_true(t->ndim < 2);
      t->dims[t->ndim++] = (int64_t)a.v;
    }
    if (a.field == 2) assert_int_equal(a.v, 1);
    if (a.field == 8) copy_str(t->name, NAME_LEN, &a);
    if (a.field == 9) {
      raw = a.data;
      raw_len = a.len;
    }
  }
  size_t count = 1;
  for (int i = 0; i < t->ndim; i++) count *= (size_t)t->dims[i];
  assert_int_equal(raw_len, count * 4);
  t->data = malloc(raw_len);
  assert_non_null(t->data);
  for (size_t i = 0; i < count; i++) {
    uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
                 (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
    memcpy(&t->data[i], &u, 4);
  }
}

static void parse_model(const uint8_t *bytes, size_t len, parsed_t *m) {
  memset(m, 0, sizeof *m);
  rd_t r = {bytes, bytes + len};
  fld_t f, g;
  int n_graphs = 0;
  while (rd_next(&r, &f)) {
    if (f.field == 1) m->ir_version = (int64_t)f.v;
    if (f.field == 8) {
      rd_t ro = sub(&f);
      while (rd_next(&ro, &g)) {
        if (g.field == 1) copy_str(m->opset_domain, sizeof m->opset_domain, &g);
        if (g.field == 2) m->opset = (int64_t)g.v;
      }
    }
    if (f.field != 7) continue;
    n_graphs++;
    rd_t rg = sub(&f);
    while (rd_next(&rg, &g)) {
      if (g.field == 1) {
        assert_true(m->n_nodes < MAX_NODES);
        parse_node(&g, &m->nodes[m->n_nodes++]);
      } else if (g.field == 5) {
        assert_true(m->n_init < MAX_INIT);
        parse_tensor(&g, &m->init[m->n_init++]);
      } else if (g.field == 11) {
        parse_value_info(&g, m->in_name, m->in_dim0, &m->in_cols);
      } else if (g.field == 12) {
        parse_value_info(&g, m->out_name, m->out_dim0, &m->out_cols);
      }
    }
  }
  assert_int_equal(n_graphs, 1);
}

static void parsed_free(parsed_t *m) {
  for (int i = 0; i < m->n_init; i++) free(m->init[i].data);
}

/* --- a tiny interpreter of those nodes (double precision) ---------------- */

typedef struct {
  char name[NAME_LEN];
  int64_t rows, cols; /* 1-D tensors are one row, [1] is 1 x 1 */
  double *data;
} val_t;

#define MAX_VALS (MAX_NODES + MAX_INIT + 1)

static val_t *find(val_t *vals, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(vals[i].name, name)) return &vals[i];
  fail_msg("value %s used before it is defined", name);
  return NULL;
}

static double at(const val_t *v, int64_t i, int64_t j) {
  return v->data[(v->rows == 1 ? 0 : i) * v->cols + (v->cols == 1 ? 0 : j)];
}

static void run_graph(const parsed_t *m, const float *X, int64_t n, double *out) {
  val_t vals[MAX_VALS];
  int n_vals = 0;
  for (int i = 0; i < m->n_init; i++) {
    const tensor_t *t = &m->init[i];
    val_t *v = &vals[n_vals++];
    snprintf(v->name, NAME_LEN, "%s", t->name);
    v->rows = t->ndim == 2 ? t->dims[0] : 1;
    v->cols = t->ndim == 2 ? t->dims[1] : t->dims[0];
    v->data = malloc((size_t)(v->rows * v->cols) * sizeof(double));
    for (int64_t k = 0; k < v->rows * v->cols; k++) v->data[k] = t->data[k];
  }
  val_t *x = &vals[n_vals++];
  snprintf(x->name, NAME_LEN, "%s", m->in_name);
  x->rows = n;
  x->cols = m->in_cols;
  x->data = malloc((size_t)(n * m->in_cols) * sizeof(double));
  for (int64_t k = 0; k < n * m->in_cols; k++) x->data[k] = X[k];
  for (int k = 0; k < m->n_nodes; k++) {
    const node_t *nd = &m->nodes[k];
    val_t *a = find(vals, n_vals, nd->in[0]);
    val_t *y = &vals[n_vals++];
    snprintf(y->name, NAME_LEN, "%s", nd->out);
    y->rows = a->rows;
    y->cols = a->cols;
    if (!strcmp(nd->op, "Gemm")) {
      val_t *w = find(vals, n_vals, nd->in[1]), *b = find(vals, n_vals, nd->in[2]);
      assert_int_equal(nd->trans_b, 1);
      assert_int_equal(w->cols, a->cols);
      y->cols = w->rows;
      y->data = malloc((size_t)(y->rows * y->cols) * sizeof(double));
      for (int64_t i = 0; i < y->rows; i++)
        for (int64_t o = 0; o < y->cols; o++) {
          double z = at(b, 0, o);
          for (int64_t q = 0; q < a->cols; q++)
            z += a->data[i * a->cols + q] * w->data[o * w->cols + q];
          y->data[i * y->cols + o] = z;
        }
      continue;
    }
    if (!strcmp(nd->op, "ReduceL2")) {
      assert_int_equal(nd->axes, 1);
      assert_int_equal(nd->keepdims, 1);
      y->cols = 1;
      y->data = malloc((size_t)y->rows * sizeof(double));
      for (int64_t i = 0; i < y->rows; i++) {
        double s = 0;
        for (int64_t j = 0; j < a->cols; j++) s += a->data[i * a->cols + j] * a->data[i * a->cols + j];
        y->data[i] = sqrt(s);
      }
      continue;
    }
    y->data = malloc((size_t)(y->rows * y->cols) * sizeof(double));
    if (!strcmp(nd->op, "Relu")) {
      for (int64_t i = 0; i < y->rows * y->cols; i++)
        y->data[i] = a->data[i] > 0 ? a->data[i] : 0;
      continue;
    }
    if (!strcmp(nd->op, "BatchNormalization")) {
      assert_true(nd->has_epsilon);
      assert_true(fabsf(nd->epsilon - 1e-5f) < 1e-12f);
      val_t *g = find(vals, n_vals, nd->in[1]), *be = find(vals, n_vals, nd->in[2]);
      val_t *mu = find(vals, n_vals, nd->in[3]), *var = find(vals, n_vals, nd->in[4]);
      for (int64_t i = 0; i < y->rows; i++)
        for (int64_t j = 0; j < y->cols; j++)
          y->data[i * y->cols + j] = (a->data[i * a->cols + j] - at(mu, 0, j)) /
                                         sqrt(at(var, 0, j) + nd->epsilon) *
                                         at(g, 0, j) + at(be, 0, j);
      continue;
    }
    val_t *b = find(vals, n_vals, nd->in[1]);
    assert_true(b->rows == 1 || b->rows == a->rows);
    assert_true(b->cols == 1 || b->cols == a->cols);
    for (int64_t i = 0; i < y->rows; i++)
      for (int64_t j = 0; j < y->cols; j++) {
        double u = a->data[i * a->cols + j], v = at(b, i, j), r = NAN;
        if (!strcmp(nd->op, "Sub")) r = u - v;
        else if (!strcmp(nd->op, "Div")) r = u / v;
        else if (!strcmp(nd->op, "Max")) r = u > v ? u : v;
        else fail_msg("unexpected op %s", nd->op);
        y->data[i * y->cols + j] = r;
      }
  }
  val_t *res = find(vals, n_vals, m->out_name);
  assert_int_equal(res->rows, n);
  assert_int_equal(res->cols, m->out_cols);
  memcpy(out, res->data, (size_t)(n * m->out_cols) * sizeof(double));
  for (int i = 0; i < n_vals; i++) free(vals[i].data);
}

/* --- the regressor's graph ----------------------------------------------- */

/* A small regressor with every array random (trained-like: non-trivial
 * standardization and BatchNorm running statistics). */
static cs_regressor_t *random_regressor(int n_in, int dim, uint64_t seed) {
  static const int hidden[3] = {7, 6, 5};
  cs_regressor_t *r;
  assert_int_equal(cs__regressor_create_hidden(&r, n_in, hidden, dim, seed, NULL), 0);
  cs_rng_t rng;
  cs_rng_seed(&rng, seed + 100);
  for (int j = 0; j < n_in; j++) {
    r->p.in_mean[j] = (float)(cs_rng_normal(&rng) * 3.0);
    r->p.in_std[j] = (float)(0.2 + 5.0 * cs_rng_uniform(&rng));
  }
  for (int l = 0; l < CS__REG_N_BN; l++)
    for (int j = 0; j < r->size[l + 1]; j++) {
      r->p.gamma[l][j] = (float)(cs_rng_normal(&rng)); /* some negative */
      r->p.beta[l][j] = (float)(cs_rng_normal(&rng) * 0.5);
      r->p.run_mean[l][j] = (float)(cs_rng_uniform(&rng));
      r->p.run_var[l][j] = (float)(0.05 + cs_rng_uniform(&rng));
    }
  assert_int_equal(cs__regressor_build_serving(r, NULL), 0);
  return r;
}

static void check_graph(int fold) {
  enum { N_IN = 11, DIM = 4, N = 9 };
  cs_regressor_t *r = random_regressor(N_IN, DIM, 7);
  cs_onnx_params_t p;
  cs_onnx_params_default(&p);
  p.fold = fold;
  p.n_meta = 1;
  p.meta_key[0] = "coldstart.space";
  p.meta_value[0] = "svd";
  uint8_t *bytes;
  size_t len;
  assert_int_equal(cs_onnx_encode_regressor(r, &p, &bytes, &len, NULL), 0);
  parsed_t m;
  parse_model(bytes, len, &m);
  assert_int_equal(m.ir_version, CS_ONNX_IR_VERSION);
  assert_int_equal(m.opset, CS_ONNX_OPSET);
  assert_string_equal(m.opset_domain, "");
  assert_string_equal(m.in_name, "features");
  assert_string_equal(m.out_name, "embedding");
  assert_string_equal(m.in_dim0, "N");
  assert_string_equal(m.out_dim0, "N");
  assert_int_equal(m.in_cols, N_IN);
  assert_int_equal(m.out_cols, DIM);
  const char *want_folded[] = {"Gemm", "Relu", "Gemm", "Relu", "Gemm", "Relu",
                               "Gemm", "ReduceL2", "Max", "Div"};
  const char *want_unfolded[] = {"Sub", "Div", "Gemm", "Relu", "BatchNormalization",
                                 "Gemm", "Relu", "BatchNormalization", "Gemm",
                                 "Relu", "BatchNormalization", "Gemm",
                                 "ReduceL2", "Max", "Div"};
  const char **want = fold ? want_folded : want_unfolded;
  int n_want = fold ? 10 : 15;
  assert_int_equal(m.n_nodes, n_want);
  for (int k = 0; k < n_want; k++) assert_string_equal(m.nodes[k].op, want[k]);
  /* 8 weights + eps; unfolded adds in_mean, in_std and 4 x 3 BN arrays */
  assert_int_equal(m.n_init, fold ? 9 : 23);

  cs_rng_t rng;
  cs_rng_seed(&rng, 3);
  float X[N * N_IN];
  for (int i = 0; i < N * N_IN; i++)
    X[i] = cs_rng_uniform(&rng) < 0.4 ? 0.0f : (float)(cs_rng_normal(&rng) * 4.0);
  for (int j = 0; j < N_IN; j++) X[(N - 1) * N_IN + j] = 0.0f; /* empty user */
  double got[N * DIM];
  run_graph(&m, X, N, got);
  float want_emb[N * DIM];
  assert_int_equal(cs_regressor_predict(r, X, N, want_emb, NULL), 0);
  for (int i = 0; i < N * DIM; i++) assert_true(fabs(got[i] - want_emb[i]) <= 1e-5);
  /* rows are unit vectors */
  for (int i = 0; i < N; i++) {
    double s = 0;
    for (int j = 0; j < DIM; j++) s += got[i * DIM + j] * got[i * DIM + j];
    assert_true(fabs(s - 1.0) < 1e-6);
  }
  parsed_free(&m);
  free(bytes);
  cs_regressor_free(r);
}

static void test_graph_folded(void **state) {
  (void)state;
  check_graph(1);
}

static void test_graph_unfolded(void **state) {
  (void)state;
  check_graph(0);
}

static void test_bad_params(void **state) {
  (void)state;
  cs_regressor_t *r = random_regressor(5, 3, 1);
  cs_onnx_params_t p;
  cs_onnx_params_default(&p);
  p.n_meta = CS_ONNX_META_MAX + 1;
  uint8_t *bytes = (uint8_t *)1;
  size_t len = 1;
  cs_err_t err;
  assert_int_equal(cs_onnx_encode_regressor(r, &p, &bytes, &len, &err), CS_EINVAL);
  assert_null(bytes);
  assert_int_equal(len, 0);
  assert_int_equal(cs_onnx_encode_regressor(NULL, NULL, &bytes, &len, &err), CS_EINVAL);
  /* deterministic: same regressor, same bytes */
  uint8_t *a, *b;
  size_t la, lb;
  assert_int_equal(cs_onnx_encode_regressor(r, NULL, &a, &la, NULL), 0);
  assert_int_equal(cs_onnx_encode_regressor(r, NULL, &b, &lb, NULL), 0);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);
  free(a);
  free(b);
  cs_regressor_free(r);
}

/* --- the export folder --------------------------------------------------- */

typedef struct {
  cs_model_t m;
  int64_t truth_indptr[7], truth_indices[12];
} tiny_model_t;

static void tiny_model(tiny_model_t *t) {
  enum { DIM = 3, F = 5, SONGS = 6, USERS = 6 };
  memset(t, 0, sizeof *t);
  cs_model_t *m = &t->m;
  snprintf(m->space, sizeof m->space, "svd");
  m->dim = DIM;
  m->n_features = F;
  m->n_songs = SONGS;
  int64_t *ids = cs_arena_alloc(&m->mem, SONGS * sizeof(int64_t));
  m->song_emb = cs_arena_alloc(&m->mem, SONGS * DIM * sizeof(float));
  for (int s = 0; s < SONGS; s++) ids[s] = 100 + s;
  m->song_ids = ids;
  m->regressor = random_regressor(F, DIM, 5);
  m->target.k = 2;
  m->target.dim = DIM;
  m->target.centroids = cs_arena_alloc(&m->mem, 2 * DIM * sizeof(float));
  m->input.k = 2;
  m->input.dim = F;
  m->input.centroids = cs_arena_alloc(&m->mem, 2 * F * sizeof(float));
  m->popularity.k = 1;
  m->popularity.dim = DIM;
  /* six users, two songs each */
  for (int u = 0; u <= USERS; u++) t->truth_indptr[u] = 2 * u;
  for (int u = 0; u < USERS; u++) {
    t->truth_indices[2 * u] = u % SONGS;
    t->truth_indices[2 * u + 1] = (u + 1) % SONGS;
  }
  int32_t assign[USERS] = {0, 0, 1, 1, 1, 0};
  assert_int_equal(cs_segments_build(2, assign, USERS, t->truth_indptr,
                                     t->truth_indices, SONGS, &m->target.seg, NULL), 0);
  assert_int_equal(cs_segments_build(2, assign, USERS, t->truth_indptr,
                                     t->truth_indices, SONGS, &m->input.seg, NULL), 0);
  assert_int_equal(cs_segments_build(1, NULL, USERS, t->truth_indptr,
                                     t->truth_indices, SONGS, &m->popularity.seg, NULL), 0);
}

static void tiny_model_free(tiny_model_t *t) { cs_model_free(&t->m); }

/* Where an .npy file's data starts (format 1.0: 10 + header length). */
static size_t npy_data_offset(const cs_mmap_t *mm) {
  assert_true(mm->size >= 10);
  assert_memory_equal(mm->data, "\x93NUMPY\x01\x00", 8);
  return 10 + (size_t)mm->data[8] + ((size_t)mm->data[9] << 8);
}

static int exists_in(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return cs_path_exists(path);
}

static void test_export_folder(void **state) {
  (void)state;
  tiny_model_t t;
  tiny_model(&t);
  char dir[] = "/tmp/onnx_test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  cs_onnx_export_params_t p;
  cs_onnx_export_params_default(&p);
  float feats[2 * 5] = {1, 0, 2, 0, 3, 0, 0, 0, 0, 0};
  int64_t ids[2] = {7, 8};
  p.ref_features = feats;
  p.ref_user_ids = ids;
  p.n_ref = 2;
  p.ref_split = "test";
  cs_err_t err;
  assert_int_equal(cs_onnx_export(&t.m, dir, &p, &err), 0);
  static const char *files[] = {
      "regressor.onnx", "centroids.npy", "segments_indptr.npy",
      "segments_songs.npy", "segments_p.npy", "segments_count.npy",
      "segments_users.npy", "input_centroids.npy", "input_segments_songs.npy",
      "popularity_songs.npy", "songs_id.npy", "songs_embedding.npy",
      "reference/features.npy", "reference/embedding.npy",
      "reference/user_id.npy", "README.md", "export.json"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    assert_true(exists_in(dir, files[i]));
  /* the tables hold the model's arrays after the npy header */
  char path[512];
  snprintf(path, sizeof path, "%s/segments_songs.npy", dir);
  cs_mmap_t mm;
  assert_int_equal(cs_mmap_open(&mm, path, NULL), 0);
  size_t nnz = (size_t)t.m.target.seg.indptr[2];
  size_t off = npy_data_offset(&mm);
  assert_int_equal(mm.size, off + nnz * 4);
  assert_memory_equal(mm.data + off, t.m.target.seg.songs, nnz * 4);
  assert_non_null(memmem(mm.data + 10, off - 10, "'<i4'", 5));
  cs_mmap_close(&mm);
  /* reference embeddings = cs_regressor_predict */
  snprintf(path, sizeof path, "%s/reference/embedding.npy", dir);
  assert_int_equal(cs_mmap_open(&mm, path, NULL), 0);
  float want[2 * 3];
  assert_int_equal(cs_regressor_predict(t.m.regressor, feats, 2, want, NULL), 0);
  off = npy_data_offset(&mm);
  assert_int_equal(mm.size, off + sizeof want);
  assert_memory_equal(mm.data + off, want, sizeof want);
  cs_mmap_close(&mm);

  /* a non-empty folder is refused without force, and left as it was */
  assert_int_equal(cs_onnx_export(&t.m, dir, &p, &err), CS_EINVAL);
  assert_non_null(strstr(err.msg, "--force"));
  assert_true(exists_in(dir, "export.json"));
  /* force without a reference set drops the old reference/, keeps other
   * files */
  snprintf(path, sizeof path, "%s/mine.txt", dir);
  assert_int_equal(cs_write_file_atomic(path, "x", 1, NULL), 0);
  p.force = 1;
  p.n_ref = 0;
  assert_int_equal(cs_onnx_export(&t.m, dir, &p, &err), 0);
  assert_false(exists_in(dir, "reference/embedding.npy"));
  assert_false(exists_in(dir, "reference"));
  assert_true(exists_in(dir, "mine.txt"));
  assert_true(exists_in(dir, "export.json"));
  /* a model whose regressor disagrees with its declared shape is refused */
  t.m.n_features = 6;
  assert_int_equal(cs_onnx_export(&t.m, dir, &p, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "F = 6"));
  t.m.n_features = 5;

  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  tiny_model_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_varints),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_graph_folded),
      cmocka_unit_test(test_graph_unfolded),
      cmocka_unit_test(test_bad_params),
      cmocka_unit_test(test_export_folder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* regressor.c: the regressor outside training (docs/method.md,
 * "Regressor"): weight layout, input standardization, the inference forward
 * pass (BatchNorm running statistics) in batch and one-row forms, MSE, save
 * and load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/mat.h"
#include "model/regressor_internal.h"

#define REG_FORMAT_VERSION 1u
#define REG_CHUNK 1024 /* rows per inference block */


static size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t cs__regressor_layout(const cs_regressor_t *r, float *base,
                            cs__reg_arrays_t *a, size_t *n_trainable) {
  size_t off = 0;
#define REG_TAKE(field, count)                                              \
  do {                                                                      \
    if (base) (field) = base + off;                                         \
    off += pad16((size_t)(count));                                          \
  } while (0)
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    REG_TAKE(a->w[l], (size_t)r->size[l + 1] * (size_t)r->size[l]);
    REG_TAKE(a->b[l], r->size[l + 1]);
  }
  for (int l = 0; l < CS__REG_N_BN; l++) {
    REG_TAKE(a->gamma[l], r->size[l + 1]);
    REG_TAKE(a->beta[l], r->size[l + 1]);
  }
  if (n_trainable) *n_trainable = off;
  for (int l = 0; l < CS__REG_N_BN; l++) {
    REG_TAKE(a->run_mean[l], r->size[l + 1]);
    REG_TAKE(a->run_var[l], r->size[l + 1]);
  }
  REG_TAKE(a->in_mean, r->n_in);
  REG_TAKE(a->in_std, r->n_in);
#undef REG_TAKE
  return off;
}

int cs__regressor_alloc(cs_regressor_t *r) {
  r->n_floats = cs__regressor_layout(r, NULL, &r->p, &r->n_trainable);
  r->weights = cs_arena_alloc(&r->mem, r->n_floats * sizeof(float));
  if (!r->weights) return CS_ENOMEM;
  cs__regressor_layout(r, r->weights, &r->p, NULL);
  return 0;
}

void cs_regressor_free(cs_regressor_t *r) {
  if (!r) return;
  cs_arena_free(&r->mem);
  cs_container_unref(r->file);
  free(r);
}

int cs_regressor_n_in(const cs_regressor_t *r) { return r->n_in; }
int cs_regressor_dim(const cs_regressor_t *r) { return r->dim; }

/* --- inference ------------------------------------------------------------ */

/* Forward n_rows (<= REG_CHUNK) raw rows into out [n_rows x dim] with the
 * running statistics. work: REG_CHUNK * (n_in + 2 * 400) floats + bn. */
static void forward_infer(const cs_regressor_t *r, const float *X,
                          int64_t n_rows, float *out, float *xbuf,
                          float *hbuf0, float *hbuf1, float *scale,
                          float *shift) {
  const cs__reg_arrays_t *p = &r->p;
  int n_in = r->n_in;
  for (int64_t i = 0; i < n_rows; i++) {
    const float *x = X + i * n_in;
    float *xs = xbuf + i * n_in;
    for (int j = 0; j < n_in; j++)
      xs[j] = (x[j] - p->in_mean[j]) / p->in_std[j];
  }
  const float *in = xbuf;
  float *bufs[2] = {hbuf0, hbuf1};
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    int n_out = r->size[l + 1], k = r->size[l];
    float *z = (l == CS__REG_N_LINEAR - 1) ? out : bufs[l & 1];
    for (int64_t i = 0; i < n_rows; i++) memcpy(z + i * n_out, p->b[l],
                                                sizeof(float) * n_out);
    cs_gemm(CS_NOTRANS, CS_TRANS, n_rows, n_out, k, 1.0f, in, k, p->w[l], k,
            1.0f, z, n_out);
    if (l < CS__REG_N_BN) {
      for (int j = 0; j < n_out; j++) {
        float s = p->gamma[l][j] / sqrtf(p->run_var[l][j] + CS__REG_BN_EPS);
        scale[j] = s;
        shift[j] = p->beta[l][j] - p->run_mean[l][j] * s;
      }
      for (int64_t i = 0; i < n_rows; i++) {
        float *zr = z + i * n_out;
        for (int j = 0; j < n_out; j++) {
          float a = zr[j] > 0.0f ? zr[j] : 0.0f;
          zr[j] = a * scale[j] + shift[j];
        }
      }
    }
    in = z;
  }
  for (int64_t i = 0; i < n_rows; i++) {
    float *o = out + i * r->dim;
    double nrm = sqrt(cs_norm2_sq(r->dim, o));
    if (nrm < CS__REG_NORM_EPS) nrm = CS__REG_NORM_EPS;
    float inv = (float)(1.0 / nrm);
    for (int j = 0; j < r->dim; j++) o[j] *= inv;
  }
}

/* --- one-row inference -------------------------------------------------------
 * A cold user's feature vector is mostly empty blocks. With the input
 * standardization folded into the first layer, h = base + sum over nonzero
 * x_j of x_j * (W0[:, j] / std_j), where base is the layer's output for an
 * all-zero input: only the columns of nonzero features are read (instead of
 * the whole n_in x 400 matrix), and the next layers are matrix-vector
 * products. Same function as forward_infer; float rounding differs in the
 * last bits (tested within 1e-5). */

#define SERVE_MAX_WIDTH 2048 /* widest hidden layer the one-row path takes */

int cs__regressor_build_serving(cs_regressor_t *r) {
  cs__regressor_drop_serving(r);
  const cs__reg_arrays_t *p = &r->p;
  int n_in = r->n_in, h0 = r->size[1];
  size_t n_bn = 0;
  for (int l = 0; l < CS__REG_N_BN; l++) n_bn += 2 * (size_t)r->size[l + 1];
  /* sizes are fixed for a regressor: allocated once, rebuilt in place */
  if (!r->serve_w0t)
    r->serve_w0t = cs_arena_alloc(&r->mem, (size_t)n_in * (size_t)h0 * sizeof(float));
  if (!r->serve_base)
    r->serve_base = cs_arena_alloc(&r->mem, ((size_t)h0 + n_bn) * sizeof(float));
  if (!r->serve_w0t || !r->serve_base) return CS_ENOMEM;
  for (int o = 0; o < h0; o++) {
    const float *w = p->w[0] + (size_t)o * n_in;
    double acc = p->b[0][o];
    for (int j = 0; j < n_in; j++) {
      float wj = w[j] / p->in_std[j];
      r->serve_w0t[(size_t)j * h0 + o] = wj;
      acc -= (double)wj * (double)p->in_mean[j];
    }
    r->serve_base[o] = (float)acc;
  }
  float *bn = r->serve_base + h0;
  for (int l = 0; l < CS__REG_N_BN; l++) {
    int width = r->size[l + 1];
    r->serve_scale[l] = bn;
    r->serve_shift[l] = bn + width;
    bn += 2 * (size_t)width;
    for (int j = 0; j < width; j++) {
      float sc = p->gamma[l][j] / sqrtf(p->run_var[l][j] + CS__REG_BN_EPS);
      r->serve_scale[l][j] = sc;
      r->serve_shift[l][j] = p->beta[l][j] - p->run_mean[l][j] * sc;
    }
  }
  r->serve_ready = 1;
  return CS_OK;
}

static void relu_bn(float *z, int width, const float *scale, const float *shift) {
  for (int j = 0; j < width; j++) {
    float a = z[j] > 0.0f ? z[j] : 0.0f;
    z[j] = a * scale[j] + shift[j];
  }
}

static void predict_one(const cs_regressor_t *r, const float *x, float *out) {
  const cs__reg_arrays_t *p = &r->p;
  float buf[2][SERVE_MAX_WIDTH];
  int h0 = r->size[1];
  float *h = buf[0];
  memcpy(h, r->serve_base, sizeof(float) * (size_t)h0);
  for (int j = 0; j < r->n_in; j++) {
    if (x[j] == 0.0f) continue;
    const float *col = r->serve_w0t + (size_t)j * h0;
    float v = x[j];
    for (int o = 0; o < h0; o++) h[o] += v * col[o];
  }
  relu_bn(h, h0, r->serve_scale[0], r->serve_shift[0]);
  for (int l = 1; l < CS__REG_N_LINEAR; l++) {
    int n_out = r->size[l + 1], k = r->size[l];
    float *z = l == CS__REG_N_LINEAR - 1 ? out : buf[l & 1];
    memcpy(z, p->b[l], sizeof(float) * (size_t)n_out);
    cs_gemv(CS_NOTRANS, n_out, k, 1.0f, p->w[l], k, h, 1.0f, z);
    if (l < CS__REG_N_BN) relu_bn(z, n_out, r->serve_scale[l], r->serve_shift[l]);
    h = z;
  }
  double nrm = sqrt(cs_norm2_sq(r->dim, out));
  if (nrm < CS__REG_NORM_EPS) nrm = CS__REG_NORM_EPS;
  float inv = (float)(1.0 / nrm);
  for (int j = 0; j < r->dim; j++) out[j] *= inv;
}

static int serving_ready(const cs_regressor_t *r) {
  if (!r->serve_ready) return 0;
  for (int l = 1; l < CS__REG_N_LINEAR; l++)
    if (r->size[l] > SERVE_MAX_WIDTH) return 0;
  return 1;
}

int cs_regressor_predict(const cs_regressor_t *r, const float *X, int64_t n,
                         float *out, cs_err_t *err) {
  if (n < 0) return cs_err_set(err, CS_EINVAL, "regressor: n=%lld < 0",
                               (long long)n);
  if (n == 0) return 0;
  if (n == 1 && serving_ready(r)) {
    predict_one(r, X, out);
    return 0;
  }
  int64_t chunk = n < REG_CHUNK ? n : REG_CHUNK;
  int widest = 0;
  for (int l = 1; l < CS__REG_N_LINEAR; l++)
    if (r->size[l] > widest) widest = r->size[l];
  size_t n_work = (size_t)chunk * (size_t)r->n_in +
                  2 * (size_t)chunk * (size_t)widest + 2 * (size_t)widest;
  float *work = cs_alloc_aligned(n_work * sizeof(float));
  if (!work) return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  float *xbuf = work;
  float *h0 = xbuf + (size_t)chunk * r->n_in;
  float *h1 = h0 + (size_t)chunk * widest;
  float *scale = h1 + (size_t)chunk * widest;
  float *shift = scale + widest;
  for (int64_t s = 0; s < n; s += chunk) {
    int64_t rows = n - s < chunk ? n - s : chunk;
    forward_infer(r, X + s * r->n_in, rows, out + s * r->dim, xbuf, h0, h1,
                  scale, shift);
  }
  free(work);
  return 0;
}

double cs_regressor_mse(const cs_regressor_t *r, const float *X,
                        const float *Y, int64_t n) {
  if (n <= 0) return NAN;
  int64_t chunk = n < REG_CHUNK ? n : REG_CHUNK;
  float *pred = malloc((size_t)chunk * r->dim * sizeof(float));
  if (!pred) return NAN;
  double total = 0.0;
  for (int64_t s = 0; s < n; s += chunk) {
    int64_t rows = n - s < chunk ? n - s : chunk;
    if (cs_regressor_predict(r, X + s * r->n_in, rows, pred, NULL)) {
      free(pred);
      return NAN;
    }
    const float *y = Y + s * r->dim;
    for (int64_t i = 0; i < rows * r->dim; i++) {
      double d = (double)pred[i] - (double)y[i];
      total += d * d;
    }
  }
  free(pred);
  return total / ((double)n * (double)r->dim);
}

/* --- save / load ------------------------------------------------------------
 * Sections (all little-endian, under `prefix`):
 *   header: u32[8] = {version, n_in, dim, h1, h2, h3, 0, 0}
 *   in_mean, in_std: f32[n_in]
 *   w0..w3: f32[out x in]; b0..b3: f32[out]
 *   bn0..bn2 _gamma, _beta, _mean, _var: f32[width]                        */

typedef struct {
  char name[CS_CONTAINER_NAME_MAX];
  float **slot;
  size_t count;
  int kind; /* 0 any finite, 1 finite >= 0, 2 finite > 0 */
} reg_section_t;

/* List every float section of r; returns how many (<= 32). */
static int reg_sections(cs_regressor_t *r, const char *prefix,
                        reg_section_t *s) {
  int n = 0;
  snprintf(s[n].name, sizeof(s[n].name), "%sin_mean", prefix);
  s[n].slot = &r->p.in_mean, s[n].count = r->n_in, s[n++].kind = 0;
  snprintf(s[n].name, sizeof(s[n].name), "%sin_std", prefix);
  s[n].slot = &r->p.in_std, s[n].count = r->n_in, s[n++].kind = 2;
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    snprintf(s[n].name, sizeof(s[n].name), "%sw%d", prefix, l);
    s[n].slot = &r->p.w[l];
    s[n].count = (size_t)r->size[l + 1] * r->size[l], s[n++].kind = 0;
    snprintf(s[n].name, sizeof(s[n].name), "%sb%d", prefix, l);
    s[n].slot = &r->p.b[l], s[n].count = r->size[l + 1], s[n++].kind = 0;
  }
  static const char *bn_names[4] = {"gamma", "beta", "mean", "var"};
  for (int l = 0; l < CS__REG_N_BN; l++) {
    float **slots[4] = {&r->p.gamma[l], &r->p.beta[l], &r->p.run_mean[l],
                        &r->p.run_var[l]};
    for (int q = 0; q < 4; q++) {
      snprintf(s[n].name, sizeof(s[n].name), "%sbn%d_%s", prefix, l,
               bn_names[q]);
      s[n].slot = slots[q], s[n].count = r->size[l + 1];
      s[n++].kind = q == 3 ? 1 : 0;
    }
  }
  return n;
}

static int check_prefix(const char *prefix, cs_err_t *err) {
  /* the longest suffix is "bn0_gamma" / "in_mean" (9 chars) */
  if (!prefix || strlen(prefix) + 10 > CS_CONTAINER_NAME_MAX - 1)
    return cs_err_set(err, CS_EINVAL, "regressor: section prefix '%s' too long",
                      prefix ? prefix : "(null)");
  return 0;
}

int cs_regressor_save(const cs_regressor_t *r, cs_container_writer_t *w,
                      const char *prefix, cs_err_t *err) {
  int rc = check_prefix(prefix, err);
  if (rc) return rc;
  uint32_t header[8] = {REG_FORMAT_VERSION, (uint32_t)r->n_in,
                        (uint32_t)r->dim,   (uint32_t)r->size[1],
                        (uint32_t)r->size[2], (uint32_t)r->size[3], 0, 0};
  char name[CS_CONTAINER_NAME_MAX];
  snprintf(name, sizeof(name), "%sheader", prefix);
  rc = cs_container_add_copy(w, name, header, sizeof(header), err);
  if (rc) return rc;
  reg_section_t s[32];
  /* reg_sections only reads the pointers through r; it needs a mutable
   * regressor to share code with load. */
  cs_regressor_t view = *r;
  int n = reg_sections(&view, prefix, s);
  for (int i = 0; i < n; i++) {
    rc = cs_container_add(w, s[i].name, *s[i].slot, s[i].count * sizeof(float),
                          err);
    if (rc) return rc;
  }
  return 0;
}

int cs_regressor_load(cs_regressor_t **out, cs_container_t *c,
                      const char *prefix, cs_err_t *err) {
  *out = NULL;
  int rc = check_prefix(prefix, err);
  if (rc) return rc;
  char name[CS_CONTAINER_NAME_MAX];
  snprintf(name, sizeof(name), "%sheader", prefix);
  const void *data;
  size_t size;
  rc = cs_container_require(c, name, 32, &data, &size, err);
  if (rc) return rc;
  uint32_t h[8];
  memcpy(h, data, sizeof(h));
  if (h[0] != REG_FORMAT_VERSION)
    return cs_err_set(err, CS_EVERSION,
                      "%s: section '%s': regressor format version %u, "
                      "expected %u", c->path, name, h[0], REG_FORMAT_VERSION);
  if (h[1] < 1 || h[1] > CS__REG_MAX_IN || h[2] < 1 || h[2] > CS__REG_MAX_WIDTH)
    return cs_err_set(err, CS_EFORMAT,
                      "%s: section '%s': bad shape n_in=%u dim=%u", c->path,
                      name, h[1], h[2]);
  for (int l = 0; l < CS__REG_N_BN; l++)
    if (h[3 + l] < 1 || h[3 + l] > CS__REG_MAX_WIDTH)
      return cs_err_set(err, CS_EFORMAT,
                        "%s: section '%s': bad hidden width %u", c->path,
                        name, h[3 + l]);
  cs_regressor_t *r = calloc(1, sizeof(*r));
  if (!r) return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  r->n_in = (int)h[1];
  r->dim = (int)h[2];
  r->size[0] = r->n_in;
  for (int l = 0; l < CS__REG_N_BN; l++) r->size[l + 1] = (int)h[3 + l];
  r->size[CS__REG_N_LINEAR] = r->dim;
  r->tile = CS__REG_DEFAULT_TILE;
  r->n_floats = cs__regressor_layout(r, NULL, &r->p, &r->n_trainable);
  r->file = cs_container_ref(c); /* the arrays below point into its map */
  reg_section_t s[32];
  int n = reg_sections(r, prefix, s);
  for (int i = 0; i < n; i++) {
    rc = cs_container_require(c, s[i].name, s[i].count * sizeof(float), &data,
                              &size, err);
    if (rc) {
      if (rc == CS_ENOTFOUND || rc == CS_EINVAL) rc = CS_EFORMAT;
      if (err) err->code = rc;
      cs_regressor_free(r);
      return rc;
    }
    if ((uintptr_t)data % sizeof(float)) {
      cs_regressor_free(r);
      return cs_err_set(err, CS_EFORMAT, "%s: section '%s' is misaligned",
                        c->path, s[i].name);
    }
    const float *f = data;
    for (size_t j = 0; j < s[i].count; j++) {
      int bad = !isfinite(f[j]) || (s[i].kind == 1 && f[j] < 0.0f) ||
                (s[i].kind == 2 && f[j] <= 0.0f);
      if (bad) {
        cs_regressor_free(r);
        return cs_err_set(err, CS_EFORMAT,
                          "%s: section '%s': bad value %g at index %zu",
                          c->path, s[i].name, (double)f[j], j);
      }
    }
    *s[i].slot = (float *)(uintptr_t)data; /* read-only: never written */
  }
  if (cs__regressor_build_serving(r) != CS_OK) {
    cs_regressor_free(r);
    return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  }
  *out = r;
  return 0;
}

/* regressor.c: the regressor outside training (docs/method.md,
 * "Regressor"): weight layout, input standardization, the inference forward
 * pass (BatchNorm running statistics) in batch and one-row forms, MSE, save
 * and load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/ctx.h"
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

/* --- the folded inference form --------------------------------------------
 * Each layer folded and transposed for cs__fwd_layer (forward.c): the first
 * takes the input standardization, (x - mean) / std, into its weights and
 * bias; every later one takes the BatchNorm before it (h = relu(z) * s + t
 * with s = gamma / sqrt(var + eps), t = beta - mean * s): W' = W diag(s),
 * b' = b + W t (sums in double). Widths are padded to 16 with zeros. Same
 * function as forward_infer up to float rounding (tested within 1e-5). */

static int out_pad_of(const cs_regressor_t *r, int l) {
  return (int)pad16((size_t)r->size[l + 1]);
}

/* A folded weight or bias that is not finite (a tiny input std): refused. */
static int overflowed(cs_regressor_t *r, cs_err_t *err) {
  cs__regressor_drop_serving(r);
  return cs_err_set(err, CS_ERANGE, "regressor: folding the input "
                    "standardization and BatchNorm overflows float (an input "
                    "with a tiny spread)");
}

int cs__regressor_build_serving(cs_regressor_t *r, cs_err_t *err) {
  cs__regressor_drop_serving(r);
  const cs__reg_arrays_t *p = &r->p;
  float *w[CS__REG_N_LINEAR], *b[CS__REG_N_LINEAR];
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    int in = l == 0 ? r->n_in : out_pad_of(r, l - 1), out = out_pad_of(r, l);
    size_t n = (size_t)in * out;
    /* sizes are fixed for a regressor: allocated once, rebuilt in place */
    if (!r->fwd[l].w) {
      r->fwd[l].w = cs_arena_alloc(&r->mem, n * sizeof(float));
      r->fwd[l].b = cs_arena_alloc(&r->mem, (size_t)out * sizeof(float));
      r->fwd_half[l].w16 = cs_arena_alloc(&r->mem, n * sizeof(uint16_t));
      if (!r->fwd[l].w || !r->fwd[l].b || !r->fwd_half[l].w16) {
        r->fwd[l].w = NULL;
        return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
      }
    }
    r->fwd[l].n_in = r->fwd_half[l].n_in = in;
    r->fwd[l].n_out = r->fwd_half[l].n_out = out;
    r->fwd_half[l].b = r->fwd[l].b;
    w[l] = (float *)r->fwd[l].w;
    b[l] = (float *)r->fwd[l].b;
    memset(w[l], 0, n * sizeof(float));
    memset(b[l], 0, (size_t)out * sizeof(float));
  }
  /* layer 0: standardization folded in */
  int n_in = r->n_in, h0 = r->size[1], o0 = r->fwd[0].n_out;
  for (int o = 0; o < h0; o++) {
    const float *wr = p->w[0] + (size_t)o * n_in;
    double acc = p->b[0][o];
    for (int j = 0; j < n_in; j++) {
      float wj = wr[j] / p->in_std[j];
      w[0][(size_t)j * o0 + o] = wj;
      acc -= (double)wj * (double)p->in_mean[j];
    }
    b[0][o] = (float)acc;
  }
  /* layers 1..3: the BatchNorm of the layer before folded in */
  for (int l = 1; l < CS__REG_N_LINEAR; l++) {
    int in = r->size[l], out = r->size[l + 1], op = r->fwd[l].n_out;
    const float *g = p->gamma[l - 1], *be = p->beta[l - 1],
                *mu = p->run_mean[l - 1], *var = p->run_var[l - 1];
    for (int o = 0; o < out; o++) {
      const float *wr = p->w[l] + (size_t)o * in;
      double acc = p->b[l][o];
      for (int k = 0; k < in; k++) {
        float sc = g[k] / sqrtf(var[k] + CS__REG_BN_EPS);
        float sh = be[k] - mu[k] * sc;
        w[l][(size_t)k * op + o] = wr[k] * sc;
        acc += (double)wr[k] * (double)sh;
      }
      b[l][o] = (float)acc;
    }
  }
  /* A folded weight that overflowed (a tiny input std) would make
   * fma(0, inf, acc) = NaN: a row's result would depend on its tile-mates.
   * One beyond float16's range keeps the float16 copy unused. */
  r->half_ok = 1;
  for (int l = 0; l < CS__REG_N_LINEAR; l++) {
    size_t n = (size_t)r->fwd[l].n_in * r->fwd[l].n_out;
    uint16_t *h = (uint16_t *)r->fwd_half[l].w16;
    for (size_t i = 0; i < n; i++) {
      if (!isfinite(w[l][i])) return overflowed(r, err);
      if (fabsf(w[l][i]) > 65504.0f) r->half_ok = 0;
      h[i] = cs__float_to_half(w[l][i]);
    }
    for (int o = 0; o < r->fwd[l].n_out; o++)
      if (!isfinite(b[l][o])) return overflowed(r, err);
  }
  r->serve_ready = 1;
  return CS_OK;
}

void cs_regressor_set_half(cs_regressor_t *r, int half) {
  r->half = half != 0 && r->half_ok;
}
int cs_regressor_half(const cs_regressor_t *r) { return r->half; }

/* Rows [begin, end) of a prediction through the folded layers. */
typedef struct {
  const cs_regressor_t *r;
  const float *X;
  float *out;
} fwd_job_t;

enum { FWD_ROWS = 64 }; /* rows per pass through the four layers */

static int fwd_rows(void *arg, int64_t begin, int64_t end, int tid,
                    cs_err_t *err) {
  (void)tid;
  const fwd_job_t *j = arg;
  const cs_regressor_t *r = j->r;
  const cs__fwd_layer_t *layers = r->half ? r->fwd_half : r->fwd;
  int widest = 0;
  for (int l = 0; l < CS__REG_N_LINEAR; l++)
    if (layers[l].n_out > widest) widest = layers[l].n_out;
  int max_in = r->n_in > widest ? r->n_in : widest;
  int64_t rows = end - begin < FWD_ROWS ? end - begin : FWD_ROWS;
  float *h = cs_alloc_aligned((size_t)2 * rows * widest * sizeof(float));
  int32_t *ks = malloc((size_t)max_in * sizeof *ks);
  float *xv = malloc((size_t)max_in * 4 * sizeof *xv);
  uint8_t *used = malloc((size_t)max_in);
  if (!h || !ks || !xv || !used) {
    free(h);
    free(ks);
    free(xv);
    free(used);
    return cs_err_set(err, CS_ENOMEM, "regressor: out of memory");
  }
  float *bufs[2] = {h, h + (size_t)rows * widest};
  const int L = CS__REG_N_LINEAR;
  for (int64_t s = begin; s < end; s += FWD_ROWS) {
    int64_t n = end - s < FWD_ROWS ? end - s : FWD_ROWS;
    const float *in = j->X + s * r->n_in;
    int64_t ld_in = r->n_in;
    for (int l = 0; l < L; l++) {
      float *y = bufs[l & 1];
      cs__fwd_layer(&layers[l], in, ld_in, n, y, widest, ks, xv, used);
      if (l < L - 1)
        for (int64_t i = 0; i < n; i++) {
          float *z = y + i * widest;
          for (int o = 0; o < layers[l].n_out; o++) z[o] = z[o] > 0.0f ? z[o] : 0.0f;
        }
      in = y;
      ld_in = widest;
    }
    for (int64_t i = 0; i < n; i++) {
      const float *z = in + i * widest;
      float *o = j->out + (s + i) * r->dim;
      double nrm = sqrt(cs_norm2_sq(r->dim, z));
      if (nrm < CS__REG_NORM_EPS) nrm = CS__REG_NORM_EPS;
      float inv = (float)(1.0 / nrm);
      for (int c = 0; c < r->dim; c++) o[c] = z[c] * inv;
    }
  }
  free(h);
  free(ks);
  free(xv);
  free(used);
  return 0;
}

int cs_regressor_predict_threads(const cs_regressor_t *r, const float *X,
                                 int64_t n, float *out, int n_threads,
                                 cs_err_t *err) {
  if (n < 0) return cs_err_set(err, CS_EINVAL, "regressor: n=%lld < 0",
                               (long long)n);
  if (n == 0) return 0;
  if (r->serve_ready) {
    fwd_job_t j = {r, X, out};
    /* at least 8 rows a thread (starting one costs about two rows) */
    int64_t most = (n + 7) / 8;
    if (n_threads > most) n_threads = (int)most;
    if (n_threads <= 1) return fwd_rows(&j, 0, n, 0, err);
    /* each row's result does not depend on the rows beside it, so neither
     * on the split into threads */
    return cs_parallel_for(n_threads, n, fwd_rows, &j, err);
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

int cs_regressor_predict(const cs_regressor_t *r, const float *X, int64_t n,
                         float *out, cs_err_t *err) {
  return cs_regressor_predict_threads(r, X, n, out, 1, err);
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
  if ((rc = cs__regressor_build_serving(r, err)) != CS_OK) {
    cs_regressor_free(r);
    if (rc == CS_ERANGE && err) err->code = rc = CS_EFORMAT; /* a bad file */
    return cs_err_prefix(err, rc, "%s: ", c->path);
  }
  *out = r;
  return 0;
}

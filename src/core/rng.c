/* rng.c: xoshiro256** seeded by splitmix64, and the samplers built on it
 * (uniform, normal, gamma, Poisson, categorical, Walker alias, Zipf). */
#include <math.h>
#include <stdlib.h>

#include "coldstart/error.h"
#include "coldstart/rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void cs_rng_seed(cs_rng_t *rng, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

void cs_rng_seed_stream(cs_rng_t *rng, uint64_t seed, uint64_t stream_id) {
  uint64_t x = seed ^ (stream_id * 0xd1b54a32d192ed03ULL + 0x8bb84b93962eacc9ULL);
  uint64_t mixed = splitmix64(&x) ^ stream_id;
  cs_rng_seed(rng, mixed);
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t cs_rng_u64(cs_rng_t *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double cs_rng_uniform(cs_rng_t *rng) {
  return (double)(cs_rng_u64(rng) >> 11) * 0x1.0p-53;
}

uint64_t cs_rng_below(cs_rng_t *rng, uint64_t n) {
  /* Lemire's nearly divisionless method with rejection: unbiased. */
  uint64_t x = cs_rng_u64(rng);
  __uint128_t m = (__uint128_t)x * n;
  uint64_t low = (uint64_t)m;
  if (low < n) {
    uint64_t threshold = -n % n;
    while (low < threshold) {
      x = cs_rng_u64(rng);
      m = (__uint128_t)x * n;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

double cs_rng_normal(cs_rng_t *rng) {
  double u1 = 1.0 - cs_rng_uniform(rng); /* (0, 1] */
  double u2 = cs_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double cs_rng_gamma(cs_rng_t *rng, double shape) {
  if (shape < 1.0) {
    /* Boost: Gamma(a) = Gamma(a+1) * U^(1/a). */
    double u = 1.0 - cs_rng_uniform(rng);
    return cs_rng_gamma(rng, shape + 1.0) * pow(u, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = cs_rng_normal(rng);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = 1.0 - cs_rng_uniform(rng);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
  }
}

uint64_t cs_rng_poisson(cs_rng_t *rng, double lambda) {
  if (!(lambda > 0.0)) return 0;
  if (lambda < 30.0) {
    /* Knuth: multiply uniforms until below e^-lambda. */
    double limit = exp(-lambda), p = 1.0;
    uint64_t k = 0;
    for (;;) {
      p *= cs_rng_uniform(rng);
      if (p <= limit) return k;
      k++;
    }
  }
  /* Normal approximation with continuity correction for large lambda. */
  double x = floor(lambda + sqrt(lambda) * cs_rng_normal(rng) + 0.5);
  return x < 0.0 ? 0 : (uint64_t)x;
}

int64_t cs_rng_categorical(cs_rng_t *rng, const double *weights, int64_t n) {
  double total = 0.0;
  for (int64_t i = 0; i < n; i++) total += weights[i];
  double r = cs_rng_uniform(rng) * total;
  int64_t last = -1;
  for (int64_t i = 0; i < n; i++) {
    if (weights[i] <= 0.0) continue;
    last = i;
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return last < 0 ? 0 : last; /* rounding: fall back to last positive */
}

void cs_rng_shuffle_i64(cs_rng_t *rng, int64_t *a, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)cs_rng_below(rng, (uint64_t)i + 1);
    int64_t t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

int cs_alias_init(cs_alias_t *t, const double *weights, int64_t n) {
  t->n = 0;
  t->prob = NULL;
  t->alias = NULL;
  if (n <= 0) return CS_EINVAL;
  double total = 0.0;
  for (int64_t i = 0; i < n; i++) {
    if (!(weights[i] >= 0.0) || !isfinite(weights[i])) return CS_EINVAL;
    total += weights[i];
  }
  if (!(total > 0.0)) return CS_EINVAL;
  t->prob = malloc((size_t)n * sizeof *t->prob);
  t->alias = malloc((size_t)n * sizeof *t->alias);
  int64_t *small = malloc((size_t)n * sizeof *small);
  int64_t *large = malloc((size_t)n * sizeof *large);
  if (!t->prob || !t->alias || !small || !large) {
    free(small);
    free(large);
    cs_alias_free(t);
    return CS_ENOMEM;
  }
  int64_t n_small = 0, n_large = 0;
  for (int64_t i = 0; i < n; i++) {
    t->prob[i] = weights[i] * (double)n / total;
    t->alias[i] = i;
    if (t->prob[i] < 1.0)
      small[n_small++] = i;
    else
      large[n_large++] = i;
  }
  while (n_small > 0 && n_large > 0) {
    int64_t s = small[--n_small], l = large[n_large - 1];
    t->alias[s] = l;
    t->prob[l] -= 1.0 - t->prob[s];
    if (t->prob[l] < 1.0) {
      n_large--;
      small[n_small++] = l;
    }
  }
  while (n_large > 0) t->prob[large[--n_large]] = 1.0;
  while (n_small > 0) t->prob[small[--n_small]] = 1.0;
  free(small);
  free(large);
  t->n = n;
  return CS_OK;
}

int64_t cs_alias_sample(const cs_alias_t *t, cs_rng_t *rng) {
  int64_t i = (int64_t)cs_rng_below(rng, (uint64_t)t->n);
  return cs_rng_uniform(rng) < t->prob[i] ? i : t->alias[i];
}

void cs_alias_free(cs_alias_t *t) {
  if (!t) return;
  free(t->prob);
  free(t->alias);
  t->prob = NULL;
  t->alias = NULL;
  t->n = 0;
}

int cs_zipf_init(cs_zipf_t *z, int64_t n, double s) {
  if (n <= 0 || !(s >= 0.0)) return CS_EINVAL;
  double *w = malloc((size_t)n * sizeof *w);
  if (!w) return CS_ENOMEM;
  for (int64_t k = 0; k < n; k++) w[k] = pow((double)(k + 1), -s);
  int rc = cs_alias_init(&z->table, w, n);
  free(w);
  return rc;
}

int64_t cs_zipf_sample(const cs_zipf_t *z, cs_rng_t *rng) {
  return cs_alias_sample(&z->table, rng) + 1;
}

void cs_zipf_free(cs_zipf_t *z) {
  if (z) cs_alias_free(&z->table);
}

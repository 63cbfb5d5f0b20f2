/* rng.h: seeded, explicitly passed random numbers (xoshiro256** seeded by
 * splitmix64) with uniform, normal, Zipf and categorical sampling. */
#ifndef COLDSTART_RNG_H
#define COLDSTART_RNG_H

#include <stdint.h>

typedef struct cs_rng {
  uint64_t s[4];
} cs_rng_t;

/* Seed the generator; the same seed gives the same stream on every machine. */
void cs_rng_seed(cs_rng_t *rng, uint64_t seed);
/* An independent stream derived from (seed, stream_id), e.g. one per thread. */
void cs_rng_seed_stream(cs_rng_t *rng, uint64_t seed, uint64_t stream_id);
uint64_t cs_rng_u64(cs_rng_t *rng);
/* Uniform double in [0, 1). */
double cs_rng_uniform(cs_rng_t *rng);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t cs_rng_below(cs_rng_t *rng, uint64_t n);
/* Standard normal N(0, 1) (Box-Muller, no hidden cached state). */
double cs_rng_normal(cs_rng_t *rng);
/* Gamma(shape, 1) (Marsaglia-Tsang), shape > 0. */
double cs_rng_gamma(cs_rng_t *rng, double shape);
/* Poisson(lambda), lambda >= 0. */
uint64_t cs_rng_poisson(cs_rng_t *rng, double lambda);
/* Index in [0, n) drawn with probability weights[i] / sum(weights), by a
 * linear scan: for one-off draws. Weights must be >= 0 with positive sum. */
int64_t cs_rng_categorical(cs_rng_t *rng, const double *weights, int64_t n);
/* Shuffle an int64 array in place (Fisher-Yates). */
void cs_rng_shuffle_i64(cs_rng_t *rng, int64_t *a, int64_t n);

/* Walker alias table for repeated O(1) categorical draws. */
typedef struct cs_alias {
  int64_t n;
  double *prob;   /* owned */
  int64_t *alias; /* owned */
} cs_alias_t;

/* Build from weights (>= 0, positive sum). Returns 0 or CS_EINVAL/CS_ENOMEM. */
int cs_alias_init(cs_alias_t *t, const double *weights, int64_t n);
int64_t cs_alias_sample(const cs_alias_t *t, cs_rng_t *rng);
void cs_alias_free(cs_alias_t *t);

/* Zipf law over ranks 1..n with exponent s: P(k) proportional to k^-s.
 * cs_zipf_sample returns a rank in [1, n]. */
typedef struct cs_zipf {
  cs_alias_t table;
} cs_zipf_t;

int cs_zipf_init(cs_zipf_t *z, int64_t n, double s);
int64_t cs_zipf_sample(const cs_zipf_t *z, cs_rng_t *rng);
void cs_zipf_free(cs_zipf_t *z);

#endif

/* params.c: the mix and blend parameters' ranges, and the defaults a tuned
 * model carries (model.h, cs_model_tuning_t) applied to a parameter set. */
#include <math.h>
#include <string.h>

#include "coldstart/strategy.h"
#include "recommend/mix.h"

/* x in [lo, hi] (finite), the bounds rounded to float like the values
 * the command line stores (0.0001 as a float is below 1e-4) */
static int in_range(float x, double lo, double hi) {
  return isfinite(x) && x >= (float)lo && x <= (float)hi;
}

int cs__mix_params_check(const cs_strategy_params_t *p, cs_err_t *err) {
  if (p->mix_m < 0 || p->mix_m > CS_SOFT_M_MAX)
    return cs_err_set(err, CS_ERANGE, "mix m = %d: must be in [1, %d]",
                      p->mix_m, CS_SOFT_M_MAX);
  if (p->mix_tau != 0.0f && !in_range(p->mix_tau, 1e-4, 100.0))
    return cs_err_set(err, CS_ERANGE, "mix tau = %g: must be in [0.0001, 100]",
                      (double)p->mix_tau);
  if (!in_range(p->mix_size, 0.0, 4.0))
    return cs_err_set(err, CS_ERANGE, "mix size = %g: must be in [0, 4]",
                      (double)p->mix_size);
  if (!in_range(p->mix_prior, 0.0, 1.0))
    return cs_err_set(err, CS_ERANGE, "mix prior = %g: must be in [0, 1]",
                      (double)p->mix_prior);
  if (!in_range(p->blend_beta, 0.0, 1000.0))
    return cs_err_set(err, CS_ERANGE, "blend beta = %g: must be in [0, 1000]",
                      (double)p->blend_beta);
  if (!in_range(p->blend_d0, 0.0, 1000.0))
    return cs_err_set(err, CS_ERANGE, "blend d0 = %g: must be in [0, 1000]",
                      (double)p->blend_d0);
  return 0;
}

void cs_strategy_params_from_model(cs_strategy_params_t *p,
                                   const cs_model_t *m) {
  const cs_model_tuning_t *t = &m->tuning;
  if (!t->present) return;
  if (!(p->given & CS_SP_MIX_M)) p->mix_m = t->mix_m;
  if (!(p->given & CS_SP_MIX_TAU)) p->mix_tau = t->mix_tau;
  if (!(p->given & CS_SP_MIX_SIZE)) p->mix_size = t->mix_size;
  if (!(p->given & CS_SP_MIX_PRIOR)) p->mix_prior = t->mix_prior;
  if (!(p->given & CS_SP_BLEND_BETA)) p->blend_beta = t->blend_beta;
  if (!(p->given & CS_SP_BLEND_D0)) p->blend_d0 = t->blend_d0;
}

int cs_strategy_model_default(const cs_model_t *m, int fallback) {
  if (!m->tuning.present) return fallback;
  int s = cs_strategy_parse(m->tuning.strategy);
  return s >= 0 ? s : fallback;
}

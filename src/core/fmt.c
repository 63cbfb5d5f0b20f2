/* fmt.c: "%.9g" for floats without printf's arbitrary-precision path.
 *
 * A float scaled by an exact power of ten (at most 1e21) into [1e8, 1e9) is
 * one correctly rounded double operation: its error is below 1e9 * 2^-53 <
 * 2e-7, so rounding it to an integer gives the exact decimal rounding
 * unless its fraction is within that of one half; then snprintf decides. */
#include "coldstart/fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const double pow10_tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* d * 10^k, k in [-22, 22]: one correctly rounded operation. */
static double scale10(double d, int k) {
  return k >= 0 ? d * pow10_tab[k] : d / pow10_tab[-k];
}

static int slow(char *out, float x) { return snprintf(out, 32, "%.9g", (double)x); }

int cs_fmt_float9(char *out, float x) {
  if (!isfinite(x)) return slow(out, x);
  char *o = out;
  double d = x;
  if (d == 0.0) {
    if (signbit(x)) *o++ = '-';
    *o++ = '0';
    *o = '\0';
    return (int)(o - out);
  }
  if (d < 0) d = -d;
  if (d < 1e-13 || d >= 1e13) return slow(out, x);
  /* the decimal exponent: estimate, then settle on the scaled value */
  int e2;
  frexp(d, &e2); /* 2^(e2-1) <= d < 2^e2: e10 is this or one more */
  int e10 = (int)floor((e2 - 1) * 0.30102999566398120);
  double v = scale10(d, 8 - e10);
  if (v >= 1e9) v = scale10(d, 8 - ++e10);
  else if (v < 1e8) v = scale10(d, 8 - --e10);
  double fl = floor(v), frac = v - fl;
  if (fabs(frac - 0.5) < 1e-6) return slow(out, x);
  uint64_t digits = (uint64_t)fl + (frac > 0.5);
  if (digits == 1000000000u) { /* 9.999999996 rounds up to 10.0000000 */
    digits = 100000000u;
    e10++;
  }
  char dig[9];
  for (int i = 8; i >= 0; i--) {
    dig[i] = (char)('0' + digits % 10);
    digits /= 10;
  }
  int nd = 9; /* %g drops trailing zeros */
  while (nd > 1 && dig[nd - 1] == '0') nd--;
  if (x < 0) *o++ = '-';
  if (e10 >= -4 && e10 < 9) { /* fixed notation */
    if (e10 < 0) {
      *o++ = '0';
      *o++ = '.';
      for (int i = -1; i > e10; i--) *o++ = '0';
      memcpy(o, dig, (size_t)nd);
      o += nd;
    } else {
      for (int i = 0; i <= e10; i++) *o++ = dig[i];
      if (nd > e10 + 1) {
        *o++ = '.';
        memcpy(o, dig + e10 + 1, (size_t)(nd - e10 - 1));
        o += nd - e10 - 1;
      }
    }
  } else { /* d.dddde+XX */
    *o++ = dig[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, dig + 1, (size_t)(nd - 1));
      o += nd - 1;
    }
    *o++ = 'e';
    int ex = e10;
    *o++ = ex < 0 ? '-' : '+';
    if (ex < 0) ex = -ex;
    *o++ = (char)('0' + ex / 10);
    *o++ = (char)('0' + ex % 10);
  }
  *o = '\0';
  return (int)(o - out);
}

/* json_list.c: strict parsing of a JSON array of numbers stored as Parquet
 * text (fastparquet's list encoding): JSON's number grammar, whitespace
 * anywhere between tokens, nothing else. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer/json_list.h"

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static size_t skip_ws(const uint8_t *s, size_t len, size_t i) {
  while (i < len && is_ws(s[i])) i++;
  return i;
}

/* Quote up to 24 bytes at s[i..] for a message, stopping at a separator. */
static void quote(const uint8_t *s, size_t len, size_t i, char *buf, size_t cap) {
  size_t k = 0;
  while (i + k < len && k < 24 && k + 1 < cap && s[i + k] != ',' && s[i + k] != ']' &&
         !is_ws(s[i + k])) {
    uint8_t c = s[i + k];
    buf[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    k++;
  }
  if (k == 0 && i < len && cap > 1) buf[k++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
  buf[k] = 0;
}

static int fail(char *why, size_t why_cap, const char *what, const uint8_t *s,
                size_t len, size_t at) {
  char tok[32];
  if (at >= len) {
    snprintf(why, why_cap, "%s at the end of the text (%zu bytes)", what, len);
  } else {
    quote(s, len, at, tok, sizeof tok);
    snprintf(why, why_cap, "%s '%s' at byte %zu", what, tok, at);
  }
  return -1;
}

/* Length of a JSON number at s[i..], or 0 when there is none. */
static size_t number_len(const uint8_t *s, size_t len, size_t i) {
  size_t j = i;
  if (j < len && s[j] == '-') j++;
  if (j >= len || !is_digit(s[j])) return 0;
  if (s[j] == '0') j++;
  else while (j < len && is_digit(s[j])) j++;
  if (j < len && s[j] == '.') {
    j++;
    if (j >= len || !is_digit(s[j])) return 0;
    while (j < len && is_digit(s[j])) j++;
  }
  if (j < len && (s[j] == 'e' || s[j] == 'E')) {
    j++;
    if (j < len && (s[j] == '+' || s[j] == '-')) j++;
    if (j >= len || !is_digit(s[j])) return 0;
    while (j < len && is_digit(s[j])) j++;
  }
  return j - i;
}

int cs__json_list_parse(const uint8_t *s, size_t len, float *out, int64_t cap,
                        int64_t *n_values, char *why, size_t why_cap) {
  int64_t n = 0;
  *n_values = 0;
  size_t i = skip_ws(s, len, 0);
  if (i >= len || s[i] != '[') return fail(why, why_cap, "expected '[', found", s, len, i);
  i = skip_ws(s, len, i + 1);
  if (i < len && s[i] == ']') {
    i = skip_ws(s, len, i + 1);
    if (i < len) return fail(why, why_cap, "bytes after the list:", s, len, i);
    return 0;
  }
  for (;;) {
    size_t k = number_len(s, len, i);
    /* the number must end at a separator: "0.002x" is one bad token */
    if (k == 0 || (i + k < len && !is_ws(s[i + k]) && s[i + k] != ',' && s[i + k] != ']'))
      return fail(why, why_cap, "bad number", s, len, i);
    if (n < cap && out) {
      char buf[400];
      if (k >= sizeof buf) return fail(why, why_cap, "number too long:", s, len, i);
      memcpy(buf, s + i, k);
      buf[k] = 0;
      errno = 0;
      char *end;
      double v = strtod(buf, &end);
      /* the whole token, or a locale whose decimal point is not '.' */
      if (end != buf + k) return fail(why, why_cap, "bad number", s, len, i);
      float f = (float)v;
      if (isinf(f) || (errno == ERANGE && (v > 1.0 || v < -1.0)))
        return fail(why, why_cap, "number out of float range:", s, len, i);
      out[n] = f;
    }
    n++;
    i = skip_ws(s, len, i + k);
    if (i < len && s[i] == ',') {
      i = skip_ws(s, len, i + 1);
      continue;
    }
    if (i < len && s[i] == ']') break;
    return fail(why, why_cap, "expected ',' or ']', found", s, len, i);
  }
  i = skip_ws(s, len, i + 1);
  if (i < len) return fail(why, why_cap, "bytes after the list:", s, len, i);
  *n_values = n;
  return 0;
}

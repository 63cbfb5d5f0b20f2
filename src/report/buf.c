/* buf.c: the report's growable text buffer, HTML/XML escaping (every text
 * on the page passes here) and number formatting for labels. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

void cs__buf_init(cs__buf_t *b) { memset(b, 0, sizeof *b); }

void cs__buf_free(cs__buf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static int reserve(cs__buf_t *b, size_t extra) {
  if (b->failed) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d) {
    b->failed = 1;
    return -1;
  }
  b->data = d;
  b->cap = cap;
  return 0;
}

void cs__buf_putn(cs__buf_t *b, const char *s, size_t n) {
  if (reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void cs__buf_put(cs__buf_t *b, const char *s) {
  if (s) cs__buf_putn(b, s, strlen(s));
}

static void vprintf_to(cs__buf_t *b, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  char small[512];
  int n = vsnprintf(small, sizeof small, fmt, aq);
  va_end(aq);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    cs__buf_putn(b, small, (size_t)n);
    return;
  }
  if (reserve(b, (size_t)n)) return;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void cs__buf_printf(cs__buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf_to(b, fmt, ap);
  va_end(ap);
}

/* Length of a valid UTF-8 sequence starting at s (1..4), or 0. */
static int utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  int n;
  unsigned min;
  if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
  else return 0;
  unsigned cp = c & (0x3Fu >> (n - 1));
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void cs__buf_esc(cs__buf_t *b, const char *s) {
  if (!s) return;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t run = 0;
    while (p[run] >= 0x20 && p[run] < 0x7F && p[run] != '&' && p[run] != '<' &&
           p[run] != '>' && p[run] != '"' && p[run] != '\'')
      run++;
    if (run) {
      cs__buf_putn(b, (const char *)p, run);
      p += run;
      continue;
    }
    unsigned c = *p;
    switch (c) {
    case '&': cs__buf_put(b, "&amp;"); p++; continue;
    case '<': cs__buf_put(b, "&lt;"); p++; continue;
    case '>': cs__buf_put(b, "&gt;"); p++; continue;
    case '"': cs__buf_put(b, "&quot;"); p++; continue;
    case '\'': cs__buf_put(b, "&#39;"); p++; continue;
    case '\t': case '\n': cs__buf_putn(b, (const char *)p, 1); p++; continue;
    default: break;
    }
    if (c < 0x20 || c == 0x7F) { /* other control characters: dropped */
      p++;
      continue;
    }
    int n = utf8_len(p);
    if (n) {
      cs__buf_putn(b, (const char *)p, (size_t)n);
      p += n;
    } else {
      cs__buf_put(b, "\xEF\xBF\xBD"); /* U+FFFD */
      p++;
    }
  }
}

void cs__buf_escf(cs__buf_t *b, const char *fmt, ...) {
  cs__buf_t tmp;
  cs__buf_init(&tmp);
  va_list ap;
  va_start(ap, fmt);
  vprintf_to(&tmp, fmt, ap);
  va_end(ap);
  if (tmp.failed) b->failed = 1;
  else cs__buf_esc(b, tmp.data ? tmp.data : "");
  cs__buf_free(&tmp);
}

void cs__fmt_num(char *out, size_t cap, double v, int decimals) {
  if (cap == 0) return;
  if (!isfinite(v)) {
    snprintf(out, cap, "\xE2\x80\x93"); /* en dash */
    return;
  }
  if (decimals < 0) decimals = 0;
  if (decimals > 9) decimals = 9;
  char raw[64];
  snprintf(raw, sizeof raw, "%.*f", decimals, v);
  if (strcmp(raw, "-0") == 0 || (raw[0] == '-' && strspn(raw + 1, "0.") ==
                                                      strlen(raw + 1)))
    memmove(raw, raw + 1, strlen(raw)); /* "-0.0" -> "0.0" */
  const char *digits = raw[0] == '-' ? raw + 1 : raw;
  const char *dot = strchr(digits, '.');
  size_t n_int = dot ? (size_t)(dot - digits) : strlen(digits);
  char res[96];
  size_t o = 0;
  if (raw[0] == '-') res[o++] = '-';
  for (size_t i = 0; i < n_int; i++) {
    if (i > 0 && (n_int - i) % 3 == 0) res[o++] = ',';
    res[o++] = digits[i];
  }
  if (dot) {
    size_t rest = strlen(dot);
    memcpy(res + o, dot, rest);
    o += rest;
  }
  res[o] = '\0';
  snprintf(out, cap, "%s", res);
}

/* svg.c: small SVG chart primitives for the report: scales, nice ticks,
 * labelled axes, grouped bars with error bars, histograms, lines, sized
 * points, vertical markers and legends. Output is plain inline SVG (no
 * namespace attribute, no url() references, no script), styled by
 * attributes so a chart reads the same in any browser. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

#define AXIS_COLOR "#6b6b6b"
#define GRID_COLOR "#e4e4e4"
#define TICK_TEXT "#444444"
#define TITLE_TEXT "#1f1f1f"

/* --- scales and ticks ---------------------------------------------------- */

double cs__scale_at(const cs__scale_t *s, double v) {
  double a = s->d0, b = s->d1, t;
  if (s->log) {
    a = log10(a > 0 ? a : 1e-300);
    b = log10(b > 0 ? b : 1e-300);
    v = log10(v > 0 ? v : 1e-300);
  }
  t = b != a ? (v - a) / (b - a) : 0.5;
  return s->r0 + t * (s->r1 - s->r0);
}

/* The nice step (1, 2, 2.5, 5 x 10^e) closest above raw; for integer
 * axes (counts) 1, 2, 5 x 10^e and at least 1. */
static double nice_step(double raw, int integer) {
  if (!(raw > 0) || !isfinite(raw)) return 1.0;
  double e = floor(log10(raw)), base = pow(10.0, e), f = raw / base;
  double m = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0
           : f <= 2.5 && !integer ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
  double st = m * base;
  return integer && st < 1.0 ? 1.0 : st;
}

int cs__nice_ticks(double lo, double hi, int target, int integer, double *out,
                   int cap, double *step) {
  if (target < 1) target = 1;
  if (!(hi > lo)) hi = lo + 1.0;
  double st = nice_step((hi - lo) / target, integer);
  if (step) *step = st;
  int n = 0;
  double first = ceil(lo / st - 1e-9);
  for (double i = first; n < cap; i += 1.0) {
    double v = i * st;
    if (v > hi + st * 1e-9) break;
    out[n++] = fabs(v) < st * 1e-9 ? 0.0 : v;
  }
  return n;
}

void cs__nice_range(double *lo, double *hi, int target, int integer) {
  if (!isfinite(*lo) || !isfinite(*hi)) {
    *lo = 0.0;
    *hi = 1.0;
  }
  if (!(*hi > *lo)) {
    double pad = *lo != 0.0 ? fabs(*lo) * 0.1 : 1.0;
    *lo -= *lo != 0.0 ? pad : 0.0;
    *hi += pad;
  }
  double st = nice_step((*hi - *lo) / (target < 1 ? 1 : target), integer);
  *lo = floor(*lo / st + 1e-9) * st;
  *hi = ceil(*hi / st - 1e-9) * st;
}

int cs__log_ticks(double lo, double hi, double *out, int cap) {
  if (!(lo > 0) || !(hi >= lo)) return 0;
  static const double mult[3] = {1.0, 2.0, 5.0};
  int e0 = (int)floor(log10(lo)), e1 = (int)ceil(log10(hi));
  int decades = e1 - e0, n = 0;
  for (int e = e0; e <= e1; e++)
    for (int i = 0; i < 3; i++) {
      if (decades > 3 && i > 0) continue; /* many decades: powers of 10 */
      double v = mult[i] * pow(10.0, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) && n < cap) out[n++] = v;
    }
  return n;
}

int cs__decimals_for(double step) {
  if (!(step > 0) || !isfinite(step)) return 0;
  for (int d = 0; d < 9; d++) {
    double s = step * pow(10.0, d);
    if (fabs(s - round(s)) < 1e-6 * (s > 1 ? s : 1)) return d;
  }
  return 9;
}

/* --- plot ---------------------------------------------------------------- */

void cs__plot_init(cs__plot_t *p, double width, double height, double ml,
                   double mt, double mr, double mb) {
  memset(p, 0, sizeof *p);
  p->width = width;
  p->height = height;
  p->left = ml;
  p->top = mt;
  p->right = width - mr;
  p->bottom = height - mb;
  p->x = (cs__scale_t){0.0, 1.0, p->left, p->right, 0};
  p->y = (cs__scale_t){0.0, 1.0, p->bottom, p->top, 0};
  p->x_decimals = p->y_decimals = -1;
}

void cs__plot_x(cs__plot_t *p, double lo, double hi, int log) {
  p->x.d0 = lo;
  p->x.d1 = hi;
  p->x.log = log;
}

void cs__plot_y(cs__plot_t *p, double lo, double hi, int log) {
  p->y.d0 = lo;
  p->y.d1 = hi;
  p->y.log = log;
}

void cs__svg_begin(cs__buf_t *b, const cs__plot_t *p, const char *id,
                   const char *title) {
  cs__buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\""
                 " height=\"%.0f\" role=\"img\"", p->width, p->height, p->width,
                 p->height);
  if (id) {
    cs__buf_put(b, " id=\"");
    cs__buf_esc(b, id);
    cs__buf_put(b, "\"");
  }
  cs__buf_put(b, " font-size=\"12\"><title>");
  cs__buf_esc(b, title);
  cs__buf_put(b, "</title>\n");
}

void cs__svg_end(cs__buf_t *b) { cs__buf_put(b, "</svg>\n"); }

void cs__svg_text(cs__buf_t *b, double x, double y, const char *anchor,
                  int size, const char *weight, const char *fill,
                  const char *text) {
  cs__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                 "font-size=\"%d\"", x, y, anchor, size);
  if (weight) cs__buf_printf(b, " font-weight=\"%s\"", weight);
  cs__buf_printf(b, " fill=\"%s\">", fill ? fill : TITLE_TEXT);
  cs__buf_esc(b, text);
  cs__buf_put(b, "</text>\n");
}

static void tick_label(char *out, size_t cap, double v, int decimals,
                       const char *suffix) {
  char num[64];
  cs__fmt_num(num, sizeof num, v, decimals);
  snprintf(out, cap, "%s%s", num, suffix ? suffix : "");
}

/* Tick values of one axis: nice ticks (linear) or 1-2-5 ticks (log). */
static int axis_ticks(const cs__scale_t *s, int integer, double *t, int cap,
                      int *dec, int want_dec, int target) {
  double lo = s->d0 < s->d1 ? s->d0 : s->d1, hi = s->d0 < s->d1 ? s->d1 : s->d0;
  double step = 1.0;
  int n;
  if (s->log) {
    n = cs__log_ticks(lo, hi, t, cap);
    double minv = n ? t[0] : lo;
    *dec = minv >= 1 ? 0 : cs__decimals_for(minv);
  } else {
    n = cs__nice_ticks(lo, hi, target, integer, t, cap, &step);
    *dec = cs__decimals_for(step);
  }
  if (want_dec >= 0) *dec = want_dec;
  return n;
}

void cs__svg_axes(cs__buf_t *b, const cs__plot_t *p, const char *xlabel,
                  const char *ylabel, const char *const *x_cats, int n_cats) {
  double t[64];
  char lab[96];
  int dec;
  /* y: grid lines and labels */
  int plot_h = (int)(p->bottom - p->top);
  int n = axis_ticks(&p->y, p->y_integer, t, 64, &dec, p->y_decimals,
                     plot_h > 240 ? 6 : 4);
  cs__buf_put(b, "<g class=\"axis-y\">\n");
  for (int i = 0; i < n; i++) {
    double y = cs__scale_at(&p->y, t[i]);
    cs__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"1\"/>\n", p->left, y, p->right,
                   y, GRID_COLOR);
    tick_label(lab, sizeof lab, t[i], dec, p->y_suffix);
    cs__svg_text(b, p->left - 7, y + 4, "end", 12, NULL, TICK_TEXT, lab);
  }
  cs__buf_put(b, "</g>\n<g class=\"axis-x\">\n");
  if (x_cats) {
    double band = (p->right - p->left) / (n_cats > 0 ? n_cats : 1);
    for (int i = 0; i < n_cats; i++)
      cs__svg_text(b, p->left + band * (i + 0.5), p->bottom + 20, "middle", 13,
                   "600", TITLE_TEXT, x_cats[i]);
  } else {
    int plot_w = (int)(p->right - p->left);
    n = axis_ticks(&p->x, p->x_integer, t, 64, &dec, p->x_decimals,
                   plot_w > 600 ? 10 : 5);
    for (int i = 0; i < n; i++) {
      double x = cs__scale_at(&p->x, t[i]);
      cs__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                     "stroke=\"%s\" stroke-width=\"1\"/>\n", x, p->bottom, x,
                     p->bottom + 5, AXIS_COLOR);
      tick_label(lab, sizeof lab, t[i], dec, p->x_suffix);
      cs__svg_text(b, x, p->bottom + 18, "middle", 12, NULL, TICK_TEXT, lab);
    }
  }
  cs__buf_put(b, "</g>\n");
  /* axis lines */
  cs__buf_printf(b, "<path d=\"M%.1f %.1f V%.1f H%.1f\" fill=\"none\" "
                 "stroke=\"%s\" stroke-width=\"1\"/>\n", p->left, p->top,
                 p->bottom, p->right, AXIS_COLOR);
  if (xlabel)
    cs__svg_text(b, (p->left + p->right) / 2, p->height - 8, "middle", 13,
                 NULL, TITLE_TEXT, xlabel);
  if (ylabel) {
    double cy = (p->top + p->bottom) / 2;
    cs__buf_printf(b, "<text transform=\"translate(16 %.1f) rotate(-90)\" "
                   "text-anchor=\"middle\" font-size=\"13\" fill=\"%s\">", cy,
                   TITLE_TEXT);
    cs__buf_esc(b, ylabel);
    cs__buf_put(b, "</text>\n");
  }
}

void cs__svg_grouped_bars(cs__buf_t *b, const cs__plot_t *p, int n_groups,
                          int n_series, const double *val, const double *err,
                          const char *const *colors, int labels,
                          int decimals) {
  if (n_groups < 1 || n_series < 1) return;
  double band = (p->right - p->left) / n_groups;
  double inner = band * 0.78, bar = inner / n_series;
  double y0 = cs__scale_at(&p->y, p->y.d0 > 0 ? p->y.d0 : 0.0);
  char lab[64];
  for (int g = 0; g < n_groups; g++) {
    double gx = p->left + band * g + (band - inner) / 2;
    for (int s = 0; s < n_series; s++) {
      double v = val[g * n_series + s];
      if (!isfinite(v)) continue;
      double e = err ? err[g * n_series + s] : NAN;
      double x = gx + bar * s, y = cs__scale_at(&p->y, v);
      double top = y < y0 ? y : y0, h = fabs(y0 - y);
      cs__fmt_num(lab, sizeof lab, v, decimals);
      cs__buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"%.1f\" fill=\"%s\"><title>", x + 1, top,
                     bar - 2 > 1 ? bar - 2 : 1, h, colors[s]);
      cs__buf_esc(b, lab);
      if (isfinite(e)) {
        char el[64];
        cs__fmt_num(el, sizeof el, e, decimals + 1);
        cs__buf_put(b, " \xC2\xB1 ");
        cs__buf_esc(b, el);
      }
      cs__buf_put(b, "</title></rect>\n");
      double label_y = y;
      if (isfinite(e) && e > 0) {
        double cx = x + bar / 2, ya = cs__scale_at(&p->y, v - e),
               yb = cs__scale_at(&p->y, v + e), cap = bar * 0.22;
        if (ya > y0) ya = y0;
        cs__buf_printf(b, "<path d=\"M%.1f %.1f V%.1f M%.1f %.1f H%.1f "
                       "M%.1f %.1f H%.1f\" stroke=\"#222\" stroke-width=\"1.3\" "
                       "fill=\"none\"/>\n", cx, ya, yb, cx - cap, yb, cx + cap,
                       cx - cap, ya, cx + cap);
        label_y = yb;
      }
      if (labels)
        cs__svg_text(b, x + bar / 2, label_y - 5, "middle",
                     bar >= 34 ? 11 : 10, NULL, TITLE_TEXT, lab);
    }
  }
}

void cs__svg_histogram(cs__buf_t *b, const cs__plot_t *p, const double *edges,
                       const double *counts, int n_bins, const char *color) {
  double y0 = cs__scale_at(&p->y, 0.0);
  for (int i = 0; i < n_bins; i++) {
    if (!(counts[i] > 0)) continue;
    double xa = cs__scale_at(&p->x, edges[i]), xb = cs__scale_at(&p->x, edges[i + 1]);
    double y = cs__scale_at(&p->y, counts[i]);
    double w = xb - xa - 1.0;
    cs__buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\" fill=\"%s\"><title>%.6g to %.6g: %.0f"
                   "</title></rect>\n", xa + 0.5, y, w > 0.5 ? w : 0.5, y0 - y,
                   color, edges[i], edges[i + 1], counts[i]);
  }
}

void cs__svg_line(cs__buf_t *b, const cs__plot_t *p, const double *xs,
                  const double *ys, int n, const char *color,
                  const char *dash, double width, int marks) {
  cs__buf_put(b, "<path d=\"");
  int pen = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(xs[i]) || !isfinite(ys[i])) {
      pen = 0;
      continue;
    }
    cs__buf_printf(b, "%s%.1f %.1f ", pen ? "L" : "M", cs__scale_at(&p->x, xs[i]),
                   cs__scale_at(&p->y, ys[i]));
    pen = 1;
  }
  cs__buf_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
                 "stroke-linejoin=\"round\" stroke-linecap=\"round\"", color,
                 width);
  if (dash) cs__buf_printf(b, " stroke-dasharray=\"%s\"", dash);
  cs__buf_put(b, "/>\n");
  if (marks)
    for (int i = 0; i < n; i++)
      if (isfinite(xs[i]) && isfinite(ys[i]))
        cs__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.2\" "
                       "fill=\"%s\" stroke=\"#fff\" stroke-width=\"1\"/>\n",
                       cs__scale_at(&p->x, xs[i]), cs__scale_at(&p->y, ys[i]),
                       color);
}

static int cmp_radius_desc(const void *a, const void *b, void *ctx) {
  const double *r = ctx;
  int i = *(const int *)a, j = *(const int *)b;
  if (r[i] != r[j]) return r[i] > r[j] ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* qsort_r: GNU (the build defines _GNU_SOURCE); the order is total (ties
 * by index), so the output does not depend on the sort's stability. */
void cs__svg_bubbles(cs__buf_t *b, const cs__plot_t *p, const double *xs,
                     const double *ys, const double *r, int n,
                     const char *color, const char *const *tips) {
  int *ord = malloc((size_t)(n > 0 ? n : 1) * sizeof *ord);
  if (!ord) {
    b->failed = 1;
    return;
  }
  for (int i = 0; i < n; i++) ord[i] = i;
  qsort_r(ord, (size_t)n, sizeof *ord, cmp_radius_desc, (void *)r);
  for (int t = 0; t < n; t++) {
    int i = ord[t];
    if (!isfinite(xs[i]) || !isfinite(ys[i]) || !isfinite(r[i])) continue;
    cs__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.2f\" fill=\"%s\" "
                   "fill-opacity=\"0.38\" stroke=\"%s\" stroke-opacity=\"0.9\" "
                   "stroke-width=\"0.8\">", cs__scale_at(&p->x, xs[i]),
                   cs__scale_at(&p->y, ys[i]), r[i], color, color);
    if (tips && tips[i]) {
      cs__buf_put(b, "<title>");
      cs__buf_esc(b, tips[i]);
      cs__buf_put(b, "</title>");
    }
    cs__buf_put(b, "</circle>\n");
  }
  free(ord);
}

void cs__svg_vmarker(cs__buf_t *b, const cs__plot_t *p, double x,
                     const char *label, const char *color, const char *dash,
                     int row) {
  double px = cs__scale_at(&p->x, x);
  cs__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                 "stroke=\"%s\" stroke-width=\"1.6\"", px, p->top, px, p->bottom,
                 color);
  if (dash) cs__buf_printf(b, " stroke-dasharray=\"%s\"", dash);
  cs__buf_put(b, "/>\n");
  if (label) {
    int right_side = px < p->left + (p->right - p->left) * 0.72;
    cs__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                   "font-size=\"12\" font-weight=\"600\" fill=\"%s\" "
                   "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
                   right_side ? px + 5 : px - 5, p->top - 6 - 15.0 * row,
                   right_side ? "start" : "end", color);
    cs__buf_esc(b, label);
    cs__buf_put(b, "</text>\n");
  }
}

void cs__svg_legend(cs__buf_t *b, double x, double y, const char *const *names,
                    const char *const *colors, const char *const *dashes,
                    int n, int per_row, double col_w, int line) {
  if (per_row < 1) per_row = 1;
  cs__buf_put(b, "<g class=\"legend\">\n");
  for (int i = 0; i < n; i++) {
    double ex = x + (i % per_row) * col_w, ey = y + (i / per_row) * 20.0;
    if (line || (dashes && dashes[i])) {
      cs__buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                     "stroke=\"%s\" stroke-width=\"3\"", ex, ey - 4, ex + 24,
                     ey - 4, colors[i]);
      if (dashes && dashes[i]) cs__buf_printf(b, " stroke-dasharray=\"%s\"", dashes[i]);
      cs__buf_put(b, "/>\n");
    } else {
      cs__buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"13\" height=\"13\" "
                     "fill=\"%s\"/>\n", ex + 5, ey - 11, colors[i]);
    }
    cs__svg_text(b, ex + 30, ey, "start", 12, NULL, TITLE_TEXT, names[i]);
  }
  cs__buf_put(b, "</g>\n");
}

/* report_internal.h: what the report's renderer shares between its files:
 * a growable text buffer with HTML/XML escaping (buf.c) and small SVG
 * chart primitives (svg.c): linear and log scales, "nice" ticks, axes
 * with labels, grouped bars with error bars, histograms, lines, sized
 * points, markers and legends. Every text that reaches the page goes
 * through cs__buf_esc. */
#ifndef COLDSTART_REPORT_INTERNAL_H
#define COLDSTART_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* --- text buffer (buf.c) --------------------------------------------------
 * Appends never fail loudly: on allocation failure `failed` is set and
 * later appends are ignored; the caller checks it once at the end. */
typedef struct cs__buf {
  char *data; /* NUL-terminated when len > 0 */
  size_t len, cap;
  int failed;
} cs__buf_t;

void cs__buf_init(cs__buf_t *b);
void cs__buf_free(cs__buf_t *b);
void cs__buf_putn(cs__buf_t *b, const char *s, size_t n);
void cs__buf_put(cs__buf_t *b, const char *s);
void cs__buf_printf(cs__buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Escaped text for element content or a quoted attribute: & < > " ' as
 * entities, control characters dropped (tab and newline kept), invalid
 * UTF-8 bytes replaced by U+FFFD. NULL writes nothing. */
void cs__buf_esc(cs__buf_t *b, const char *s);
/* printf, then escape the result. */
void cs__buf_escf(cs__buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A number as display text: `decimals` after the point, thousands
 * separated by commas ("12,345.6"); NaN/inf as an en dash. */
void cs__fmt_num(char *out, size_t cap, double v, int decimals);

/* --- scales and ticks (svg.c) --------------------------------------------- */
typedef struct cs__scale {
  double d0, d1; /* domain */
  double r0, r1; /* range (pixels) */
  int log;       /* 1: log10 scale (domain > 0) */
} cs__scale_t;

double cs__scale_at(const cs__scale_t *s, double v);

/* Up to `cap` "nice" tick values (1, 2, 2.5 or 5 x 10^n steps; with
 * `integer`, 1, 2 or 5 x 10^n and at least 1) covering [lo, hi] with about
 * `target` intervals; *step gets the step. Returns the count. For a log
 * scale use cs__log_ticks. */
int cs__nice_ticks(double lo, double hi, int target, int integer, double *out,
                   int cap, double *step);
/* Expand [*lo, *hi] outward to the nice tick grid of about `target`
 * intervals (a zero-width range grows to something visible). */
void cs__nice_range(double *lo, double *hi, int target, int integer);
/* Ticks 1, 2, 5 x 10^n inside [lo, hi] (lo > 0). */
int cs__log_ticks(double lo, double hi, double *out, int cap);
/* Decimals that show the values of a step exactly enough (0 for >= 1). */
int cs__decimals_for(double step);

/* --- charts (svg.c) ---------------------------------------------------------
 * A chart is an <svg> of width x height pixels with a plot area inset by
 * margins; x and y scales map data to pixels inside the plot area. */
typedef struct cs__plot {
  double width, height;
  double left, top, right, bottom; /* plot area edges in pixels */
  cs__scale_t x, y;
  int x_decimals, y_decimals;      /* tick label decimals (-1: from step) */
  int x_integer, y_integer;        /* 1: integer ticks only (counts) */
  const char *x_suffix, *y_suffix; /* appended to tick labels ("%"), or NULL */
} cs__plot_t;

/* Margins: left, top, right, bottom. Scales start at [0, 1]. */
void cs__plot_init(cs__plot_t *p, double width, double height, double ml,
                   double mt, double mr, double mb);
void cs__plot_x(cs__plot_t *p, double lo, double hi, int log);
void cs__plot_y(cs__plot_t *p, double lo, double hi, int log);

/* <svg ...> with a <title>; `id` may be NULL. */
void cs__svg_begin(cs__buf_t *b, const cs__plot_t *p, const char *id,
                   const char *title);
void cs__svg_end(cs__buf_t *b);

/* Axes: y grid lines with tick labels on the left, x ticks and labels
 * below (numeric: nice or log ticks; x_cats != NULL: one label centered
 * under each of n_cats equal bands), axis titles on both axes. */
void cs__svg_axes(cs__buf_t *b, const cs__plot_t *p, const char *xlabel,
                  const char *ylabel, const char *const *x_cats, int n_cats);

/* Grouped bars over n_groups equal x bands (x scale ignored): in group g,
 * bar s has height val[g * n_series + s] and, when err != NULL, an error
 * bar of +-err[...]. With `labels`, the value is written above each bar
 * with `decimals` digits. NaN values draw nothing. */
void cs__svg_grouped_bars(cs__buf_t *b, const cs__plot_t *p, int n_groups,
                          int n_series, const double *val, const double *err,
                          const char *const *colors, int labels,
                          int decimals);

/* Histogram: bins [edges[i], edges[i + 1]) with counts[i] (n_bins bins). */
void cs__svg_histogram(cs__buf_t *b, const cs__plot_t *p, const double *edges,
                       const double *counts, int n_bins, const char *color);

/* A line through (xs[i], ys[i]); NaN breaks it. dash: NULL solid or an
 * SVG dasharray ("6 3"). With `marks`, a small circle at every point. */
void cs__svg_line(cs__buf_t *b, const cs__plot_t *p, const double *xs,
                  const double *ys, int n, const char *color,
                  const char *dash, double width, int marks);

/* Circles of radius r[i] pixels (NaN skips a point); semi-transparent
 * fill with a darker outline. Drawn largest first so small ones stay
 * visible. `tips`: optional per-point <title> text (n strings). */
void cs__svg_bubbles(cs__buf_t *b, const cs__plot_t *p, const double *xs,
                     const double *ys, const double *r, int n,
                     const char *color, const char *const *tips);

/* A vertical marker line at data x across the plot with a label just
 * above the plot area, in the top margin ("elbow k = 300"); `row` lifts
 * the label by rows so two markers near each other stay readable. */
void cs__svg_vmarker(cs__buf_t *b, const cs__plot_t *p, double x,
                     const char *label, const char *color, const char *dash,
                     int row);

/* A legend of n entries starting at (x, y), laid out in rows of at most
 * `per_row` entries spaced `col_w` pixels: a line sample (with dash) or a
 * filled square (dash == NULL and line == 0). */
void cs__svg_legend(cs__buf_t *b, double x, double y, const char *const *names,
                    const char *const *colors, const char *const *dashes,
                    int n, int per_row, double col_w, int line);

/* Plain text at (x, y): anchor "start" | "middle" | "end". */
void cs__svg_text(cs__buf_t *b, double x, double y, const char *anchor,
                  int size, const char *weight, const char *fill,
                  const char *text);

#endif

/* html.c: renders a cs_report_t as one self-contained HTML page: inline
 * CSS and SVG only (no script, no web font, no external reference), text
 * escaped, a colour-blind-safe palette (Okabe & Ito) with a second cue
 * (dash pattern, label) wherever colour tells series apart. Sections, in
 * order: comparison, ndcg-at-k, segments, regressor, tune, examples,
 * inputs (their ids are part of the contract: docs/report.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldstart/io.h"
#include "coldstart/report.h"
#include "report/report_internal.h"

#define CONTENT_W 1090 /* drawing width inside a section */
#define HALF_W 530

/* --- palette ------------------------------------------------------------- */

typedef struct {
  const char *name, *color, *dash;
} style_t;

/* Okabe-Ito colours; dashes repeat the distinction for greyscale/CVD. */
static const style_t known_styles[] = {
    {"popularity", "#8c8c8c", "2 4"},
    {"d0-streams", "#E69F00", "7 4"},
    {"input-clusters", "#56B4E9", "10 3 2 3"},
    {"full", "#009E73", "4 2"},
    {"semi", "#0072B2", NULL},
    {"soft", "#D55E00", "1 2"},
    {"mix", "#CC79A7", "8 2 1 2"},
    {"blend", "#000000", "12 3"},
};
static const char *const extra_colors[] = {"#F0E442", "#999933", "#882255"};
/* Segment (membership) colours in the example users. */
static const char *const member_colors[] = {"#0072B2", "#E69F00", "#009E73",
                                            "#CC79A7", "#56B4E9", "#D55E00",
                                            "#000000", "#8c8c8c"};

static style_t style_of(const char *name, int index) {
  for (size_t i = 0; i < sizeof known_styles / sizeof known_styles[0]; i++)
    if (!strcmp(known_styles[i].name, name)) return known_styles[i];
  style_t s = {name, extra_colors[index % 3], "3 3"};
  return s;
}

static const char *member_color(int j) { return member_colors[j % 8]; }

/* --- small helpers --------------------------------------------------------- */

static void num(char *out, size_t cap, double v, int decimals) {
  cs__fmt_num(out, cap, v, decimals);
}

static void put_num(cs__buf_t *b, double v, int decimals) {
  char s[64];
  num(s, sizeof s, v, decimals);
  cs__buf_put(b, s);
}

static void put_pct(cs__buf_t *b, double frac, int decimals) {
  put_num(b, 100.0 * frac, decimals);
}

static void section_open(cs__buf_t *b, const char *id, const char *title) {
  cs__buf_put(b, "<section id=\"");
  cs__buf_esc(b, id);
  cs__buf_put(b, "\">\n<h2>");
  cs__buf_esc(b, title);
  cs__buf_put(b, "</h2>\n");
}

static void section_close(cs__buf_t *b) { cs__buf_put(b, "</section>\n"); }

static void note(cs__buf_t *b, const char *text) {
  cs__buf_put(b, "<p class=\"note\">");
  cs__buf_esc(b, text);
  cs__buf_put(b, "</p>\n");
}

static void empty_box(cs__buf_t *b, const char *cls, const char *text) {
  cs__buf_printf(b, "<div class=\"empty %s\">", cls);
  cs__buf_esc(b, text);
  cs__buf_put(b, "</div>\n");
}

static void swatch(cs__buf_t *b, const char *color) {
  cs__buf_printf(b, "<span class=\"swatch\" style=\"background:%s\"></span>",
                 color);
}

static double max_of(const double *v, int64_t n) {
  double m = -HUGE_VAL;
  for (int64_t i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] > m) m = v[i];
  return m;
}

static double min_of(const double *v, int64_t n) {
  double m = HUGE_VAL;
  for (int64_t i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] < m) m = v[i];
  return m;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of n values (copied, sorted); NaN when n == 0. */
static double median_of(const double *v, int64_t n) {
  if (n <= 0) return NAN;
  double *c = malloc((size_t)n * sizeof *c);
  if (!c) return NAN;
  memcpy(c, v, (size_t)n * sizeof *c);
  qsort(c, (size_t)n, sizeof *c, cmp_double);
  double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
  free(c);
  return m;
}

/* --- CSS ---------------------------------------------------------------------- */

static const char *const css =
    ":root{color-scheme:light}\n"
    "body{margin:0;background:#f4f5f7;color:#1f1f1f;font:14px/1.45 system-ui,"
    "-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,\"Noto Sans\","
    "\"Liberation Sans\",\"DejaVu Sans\",sans-serif}\n"
    "main{max-width:1180px;margin:0 auto;padding:20px 24px 40px}\n"
    "header h1{font-size:26px;margin:4px 0 2px}\n"
    "header .sub{color:#4a4a4a;margin:0 0 6px}\n"
    ".headline{font-size:15px;margin:8px 0 4px}\n"
    "nav{margin:10px 0 4px;font-size:13px}\n"
    "nav a{color:#0b5ea8;margin-right:14px;text-decoration:none}\n"
    "section{background:#fff;border:1px solid #dfe2e6;border-radius:8px;"
    "padding:16px 22px 18px;margin:16px 0}\n"
    "h2{font-size:20px;margin:0 0 4px}\n"
    "h3{font-size:15px;margin:14px 0 6px}\n"
    "h4{font-size:13px;margin:10px 0 4px;color:#333}\n"
    "p{margin:4px 0 8px}\n"
    ".note{color:#4f4f4f;font-size:13px}\n"
    "svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}\n"
    "svg.chart text{font-family:inherit}\n"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0 8px}\n"
    "th,td{padding:3px 10px;border-bottom:1px solid #eceef1;text-align:right;"
    "vertical-align:top}\n"
    "th{background:#f6f7f9;font-weight:600}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "td{font-variant-numeric:tabular-nums}\n"
    "td.best{font-weight:700}\n"
    "td.text,th.text{text-align:left}\n"
    "tr.group td{background:#f6f7f9;font-weight:600;text-transform:uppercase;"
    "font-size:11px;letter-spacing:.04em;color:#555}\n"
    ".row{display:flex;flex-wrap:wrap;gap:8px 36px;align-items:flex-start}\n"
    ".grid2{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));"
    "gap:4px 28px}\n"
    ".swatch{display:inline-block;width:11px;height:11px;border-radius:2px;"
    "margin-right:6px;vertical-align:-1px}\n"
    ".empty{padding:16px 18px;background:#fafafa;border:1px dashed #b9bec6;"
    "border-radius:6px;color:#333;margin:8px 0}\n"
    ".user{border-top:1px solid #dfe2e6;margin-top:14px;padding-top:6px}\n"
    ".user h3 .role{display:inline-block;background:#1f1f1f;color:#fff;"
    "border-radius:4px;padding:0 7px;margin-right:8px;font-size:13px}\n"
    ".chips{display:flex;flex-wrap:wrap;gap:4px;margin:4px 0 6px}\n"
    ".chip{border:1px solid #cfd3d9;border-radius:4px;padding:0 5px;"
    "font-size:12px;background:#fff;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    ".chip .rk{color:#777;margin-right:3px}\n"
    ".chip.hit{background:#e8f3ea;border-color:#1b7a3a;color:#0f4d23;"
    "font-weight:700;box-shadow:inset 0 0 0 1px #1b7a3a}\n"
    ".chip .seg{display:inline-block;width:8px;height:8px;border-radius:1px;"
    "margin-left:3px;vertical-align:0}\n"
    ".wbar{display:inline-block;height:9px;background:#0072B2;"
    "vertical-align:0;margin-right:6px}\n"
    "code{font-size:12px;background:#f1f2f4;padding:0 4px;border-radius:3px}\n"
    "footer{color:#666;font-size:12px;margin-top:20px}\n";

/* --- comparison --------------------------------------------------------------- */

/* The paper's Table 1 (Deezer data, TT-SVD space, K = 50, in %). */
static const struct {
  const char *strategy;
  double p, r, n;
} paper_rows[] = {
    {"popularity", 8.92, 3.01, 9.72},  {"d0-streams", 9.30, 3.48, 9.73},
    {"input-clusters", 8.84, 2.97, 9.75}, {"full", 9.58, 3.53, 9.77},
    {"semi", 22.75, 8.26, 24.59},
};

static void comparison_chart(cs__buf_t *b, const cs_report_eval_t *ev) {
  int ns = ev->n_rows;
  double val[3 * CS_REPORT_MAX_SERIES], err[3 * CS_REPORT_MAX_SERIES];
  const char *colors[CS_REPORT_MAX_SERIES], *names[CS_REPORT_MAX_SERIES];
  double hi = 0.0;
  for (int s = 0; s < ns; s++) {
    const cs_report_row_t *w = &ev->rows[s];
    double v[3] = {w->precision, w->recall, w->ndcg};
    double e[3] = {w->precision_std, w->recall_std, w->ndcg_std};
    for (int g = 0; g < 3; g++) {
      val[g * ns + s] = 100.0 * v[g];
      err[g * ns + s] = 100.0 * e[g];
      if (100.0 * (v[g] + e[g]) > hi) hi = 100.0 * (v[g] + e[g]);
    }
    style_t st = style_of(w->strategy, s);
    colors[s] = st.color;
    names[s] = w->strategy;
  }
  double lo = 0.0;
  hi *= 1.12; /* room for the value labels */
  cs__nice_range(&lo, &hi, 6, 0);
  cs__plot_t p;
  cs__plot_init(&p, CONTENT_W, 420, 64, 44, 12, 56);
  cs__plot_y(&p, 0.0, hi, 0);
  p.y_suffix = "%";
  char t[3][48], title[160];
  snprintf(t[0], sizeof t[0], "Precision@%d", ev->k);
  snprintf(t[1], sizeof t[1], "Recall@%d", ev->k);
  snprintf(t[2], sizeof t[2], "NDCG@%d", ev->k);
  snprintf(title, sizeof title, "P, R and NDCG at K = %d per strategy, with "
           "the spread as error bars", ev->k);
  cs__svg_begin(b, &p, "chart-comparison", title);
  const char *cats[3] = {t[0], t[1], t[2]};
  char ylabel[128], nu[32];
  num(nu, sizeof nu, (double)ev->n_users, 0);
  snprintf(ylabel, sizeof ylabel, "mean over %s %s users (%%)", nu, ev->split);
  cs__svg_axes(b, &p, NULL, ylabel, cats, 3);
  cs__svg_grouped_bars(b, &p, 3, ns, val, err, colors, 1, 1);
  cs__svg_legend(b, p.left + 4, 20, names, colors, NULL, ns, 6, 165, 0);
  cs__svg_end(b);
}

static void comparison_table(cs__buf_t *b, const cs_report_eval_t *ev) {
  int best[3] = {0, 0, 0};
  for (int s = 1; s < ev->n_rows; s++) {
    if (ev->rows[s].precision > ev->rows[best[0]].precision) best[0] = s;
    if (ev->rows[s].recall > ev->rows[best[1]].recall) best[1] = s;
    if (ev->rows[s].ndcg > ev->rows[best[2]].ndcg) best[2] = s;
  }
  cs__buf_printf(b, "<table class=\"numbers\"><thead><tr><th>strategy</th>"
                 "<th>P@%d (%%)</th><th>R@%d (%%)</th><th>NDCG@%d (%%)</th>"
                 "<th>time (s)</th></tr></thead><tbody>\n", ev->k, ev->k,
                 ev->k);
  for (int s = 0; s < ev->n_rows; s++) {
    const cs_report_row_t *w = &ev->rows[s];
    double v[3] = {w->precision, w->recall, w->ndcg};
    double e[3] = {w->precision_std, w->recall_std, w->ndcg_std};
    cs__buf_put(b, "<tr><td>");
    swatch(b, style_of(w->strategy, s).color);
    cs__buf_esc(b, w->strategy);
    cs__buf_put(b, "</td>");
    for (int g = 0; g < 3; g++) {
      cs__buf_printf(b, "<td%s>", best[g] == s ? " class=\"best\"" : "");
      put_pct(b, v[g], 2);
      cs__buf_put(b, " \xC2\xB1 ");
      put_pct(b, e[g], 2);
      cs__buf_put(b, "</td>");
    }
    cs__buf_put(b, "<td>");
    put_num(b, w->seconds, 2);
    cs__buf_put(b, "</td></tr>\n");
  }
  cs__buf_put(b, "</tbody></table>\n");
}

static void paper_table(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_eval_t *ev = &r->eval;
  cs__buf_put(b, "<div class=\"paper\"><h3>The paper's Table 1 alongside</h3>\n"
                 "<table><thead><tr><th>strategy</th><th>P@50 paper</th>"
                 "<th>here</th><th>R@50 paper</th><th>here</th>"
                 "<th>NDCG@50 paper</th><th>here</th></tr></thead><tbody>\n");
  for (size_t i = 0; i < sizeof paper_rows / sizeof paper_rows[0]; i++) {
    const cs_report_row_t *w = NULL;
    for (int s = 0; s < ev->n_rows; s++)
      if (!strcmp(ev->rows[s].strategy, paper_rows[i].strategy)) w = &ev->rows[s];
    double pv[3] = {paper_rows[i].p, paper_rows[i].r, paper_rows[i].n};
    double ours[3] = {w ? 100 * w->precision : NAN, w ? 100 * w->recall : NAN,
                      w ? 100 * w->ndcg : NAN};
    cs__buf_put(b, "<tr><td>");
    cs__buf_esc(b, paper_rows[i].strategy);
    cs__buf_put(b, "</td>");
    for (int g = 0; g < 3; g++) {
      cs__buf_put(b, "<td>");
      put_num(b, pv[g], 2);
      cs__buf_put(b, "</td><td>");
      put_num(b, ours[g], 2);
      cs__buf_put(b, "</td>");
    }
    cs__buf_put(b, "</tr>\n");
  }
  cs__buf_put(b, "</tbody></table>\n<table><thead><tr><th>soft allocation's "
                 "authors (same data)</th><th>P@50</th><th>R@50</th>"
                 "<th>NDCG@50</th></tr></thead><tbody>\n"
                 "<tr><td>soft (m = 5)</td><td>23.10</td><td>8.38</td>"
                 "<td>25.45</td></tr>\n<tr><td>their semi run</td><td>22.17"
                 "</td><td>8.04</td><td>24.01</td></tr>\n");
  for (int s = 0; s < ev->n_rows; s++) {
    const cs_report_row_t *w = &ev->rows[s];
    if (strcmp(w->strategy, "soft") && strcmp(w->strategy, "semi")) continue;
    cs__buf_put(b, "<tr><td>");
    cs__buf_esc(b, w->strategy);
    cs__buf_put(b, ", this report</td><td>");
    put_pct(b, w->precision, 2);
    cs__buf_put(b, "</td><td>");
    put_pct(b, w->recall, 2);
    cs__buf_put(b, "</td><td>");
    put_pct(b, w->ndcg, 2);
    cs__buf_put(b, "</td></tr>\n");
  }
  cs__buf_put(b, "</tbody></table>\n");
  char msg[320];
  snprintf(msg, sizeof msg, "Paper: Briand et al., KDD 2021, Deezer data, "
           "TT-SVD space, K = 50, in %%.%s%s",
           strcmp(r->space, "svd") ? " This dataset is in the UT-ALS space: "
                                     "compare with care."
                                   : "",
           ev->k != 50 ? " This report's K differs from 50: the columns are "
                         "not comparable."
                       : "");
  note(b, msg);
  cs__buf_put(b, "</div>\n");
}

static void section_comparison(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_eval_t *ev = &r->eval;
  section_open(b, "comparison", "Strategy comparison");
  if (ev->n_rows == 0) {
    empty_box(b, "no-eval", "No evaluation in this report.");
    section_close(b);
    return;
  }
  char msg[512], nu[32], nsk[32];
  num(nu, sizeof nu, (double)ev->n_users, 0);
  num(nsk, sizeof nsk, (double)ev->n_skipped, 0);
  snprintf(msg, sizeof msg, "%s split, K = %d: %s users evaluated, %s "
           "skipped (no days-1-30 songs). Bars: mean; error bars and "
           "\xC2\xB1: spread (standard deviation of 10 fold means: 2 seeds "
           "x 5 folds).", ev->split, ev->k, nu, nsk);
  note(b, msg);
  comparison_chart(b, ev);
  cs__buf_put(b, "<div class=\"row\"><div>\n<h3>The numbers</h3>\n");
  comparison_table(b, ev);
  cs__buf_put(b, "</div>\n");
  if (!strcmp(r->source, "import-deezer")) {
    paper_table(b, r);
  } else {
    cs__buf_put(b, "<div class=\"paper\">");
    char src[256];
    snprintf(src, sizeof src, "The paper's Table 1 (Deezer's data) appears "
             "here for datasets imported from Deezer's release; this dataset "
             "comes from '%s', so its numbers are not comparable with the "
             "paper's.", r->source[0] ? r->source : "unknown");
    note(b, src);
    cs__buf_put(b, "</div>\n");
  }
  cs__buf_put(b, "</div>\n");
  section_close(b);
}

/* --- NDCG@K curves ---------------------------------------------------------------- */

static void section_curves(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_curves_t *c = &r->curves;
  char title[64];
  snprintf(title, sizeof title, "NDCG@K for K = 1 to %d", c->k_max > 0 ? c->k_max : 100);
  section_open(b, "ndcg-at-k", title);
  if (c->k_max == 0 || c->n_series == 0) {
    empty_box(b, "no-curves", "No NDCG@K curves in this report.");
    section_close(b);
    return;
  }
  char msg[512], nu[32];
  num(nu, sizeof nu, (double)c->n_users, 0);
  snprintf(msg, sizeof msg, "Mean NDCG@K over the %s evaluated %s users, "
           "for lists of K = 1 to %d songs.", nu,
           r->eval.split[0] ? r->eval.split : "", c->k_max);
  note(b, msg);
  double hi = 0.0, lo = 0.0;
  for (int s = 0; s < c->n_series; s++) {
    double m = 100.0 * max_of(c->ndcg[s], c->k_max);
    if (m > hi) hi = m;
  }
  cs__nice_range(&lo, &hi, 6, 0);
  cs__plot_t p;
  cs__plot_init(&p, CONTENT_W, 450, 64, 54, 16, 52);
  cs__plot_x(&p, 1, c->k_max > 1 ? c->k_max : 2, 0);
  cs__plot_y(&p, 0.0, hi, 0);
  p.y_suffix = "%";
  cs__svg_begin(b, &p, "chart-ndcg-at-k", "NDCG@K as a function of K per "
                "strategy");
  cs__svg_axes(b, &p, "K: number of songs recommended", "NDCG@K (%)", NULL,
               0);
  if (r->eval.k >= 1 && r->eval.k <= c->k_max) {
    char lab[64];
    snprintf(lab, sizeof lab, "K = %d (the comparison above)", r->eval.k);
    cs__svg_vmarker(b, &p, r->eval.k, lab, "#555555", "3 3", 0);
  }
  const char *names[CS_REPORT_MAX_SERIES], *colors[CS_REPORT_MAX_SERIES],
      *dashes[CS_REPORT_MAX_SERIES];
  double ys[CS_REPORT_KMAX];
  for (int s = 0; s < c->n_series; s++) {
    style_t st = style_of(c->strategy[s], s);
    names[s] = c->strategy[s];
    colors[s] = st.color;
    dashes[s] = st.dash;
    /* a series computed at some K only: its points, joined and marked */
    double px[CS_REPORT_KMAX];
    int n = 0, sparse = 0;
    for (int k = 0; k < c->k_max; k++) {
      if (isnan(c->ndcg[s][k])) {
        sparse = 1;
        continue;
      }
      px[n] = k + 1;
      ys[n++] = 100.0 * c->ndcg[s][k];
    }
    cs__svg_line(b, &p, px, ys, n, st.color, st.dash, st.dash ? 2.2 : 2.8,
                 sparse);
  }
  cs__svg_legend(b, p.left + 4, 20, names, colors, dashes, c->n_series, 6,
                 165, 1);
  cs__svg_end(b);
  /* the values at a few K */
  static const int at[] = {1, 5, 10, 20, 50, 100};
  cs__buf_put(b, "<table class=\"curve-values\"><thead><tr><th>NDCG@K (%)"
                 "</th>");
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
    if (at[i] <= c->k_max) cs__buf_printf(b, "<th>K = %d</th>", at[i]);
  cs__buf_put(b, "</tr></thead><tbody>\n");
  for (int s = 0; s < c->n_series; s++) {
    cs__buf_put(b, "<tr><td>");
    swatch(b, colors[s]);
    cs__buf_esc(b, c->strategy[s]);
    cs__buf_put(b, "</td>");
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
      if (at[i] <= c->k_max) {
        cs__buf_put(b, "<td>");
        put_pct(b, c->ndcg[s][at[i] - 1], 2);
        cs__buf_put(b, "</td>");
      }
    cs__buf_put(b, "</tr>\n");
  }
  cs__buf_put(b, "</tbody></table>\n");
  int any_per_k = 0, sparse = 0;
  for (int s = 0; s < c->n_series; s++) {
    any_per_k |= c->per_k[s];
    for (int k = 0; k < c->k_max; k++) sparse |= isnan(c->ndcg[s][k]);
  }
  cs__buf_put(b, "<p class=\"note\">How the curves are computed: ");
  if (any_per_k)
    cs__buf_esc(b, sparse
        ? "soft's list at K is not the first K songs of its list at a larger "
          "K (its T = K + margin slots are split among the segments by "
          "weight), so it is recommended again at each K; at this size that "
          "is done at K = 1 to 5 and every tenth K (the marked points, exact; "
          "the lines between them join the points). "
        : "soft's list at K is not the first K songs of its list at a larger "
          "K (its T = K + margin slots are split among the segments by "
          "weight), so it is recommended again at every K: exact at every "
          "K. ");
  cs__buf_esc(b, "The other strategies rank songs independently of K: their "
                 "list at K is the first K songs of one list of the longest K, "
                 "so every point is exact.");
  cs__buf_put(b, "</p>\n");
  section_close(b);
}

/* --- segments ---------------------------------------------------------------------- */

/* A histogram chart of n values: bins of a nice width from lo to the
 * largest value (or hi when finite); with `auto_log` and a wide spread of
 * positive values (largest / smallest > 50), 4 bins per decade on a log
 * axis instead (zeros are then left out: the caller reports them). */
static void histogram_chart(cs__buf_t *b, const char *id, const char *title,
                            const double *vals, int64_t n, double lo,
                            double hi, int target, int integer, int auto_log,
                            const char *xlabel, const char *x_suffix,
                            const char *color) {
  double minpos = HUGE_VAL, maxv = max_of(vals, n);
  for (int64_t i = 0; i < n; i++)
    if (vals[i] > 0 && vals[i] < minpos) minpos = vals[i];
  int logx = auto_log && isfinite(minpos) && maxv / minpos > 50.0;
  double edges[201], counts[200];
  int n_bins;
  char xl[160];
  snprintf(xl, sizeof xl, "%s%s", xlabel, logx ? " (log scale)" : "");
  if (logx) {
    double e0 = floor(log10(minpos)), e1 = ceil(log10(maxv * (1 + 1e-9)));
    if (e1 <= e0) e1 = e0 + 1;
    n_bins = (int)(4 * (e1 - e0));
    if (n_bins > 200) n_bins = 200;
    for (int i = 0; i <= n_bins; i++) edges[i] = pow(10.0, e0 + i / 4.0);
  } else {
    if (!isfinite(hi)) hi = maxv;
    if (!isfinite(hi) || hi <= lo) hi = lo + 1.0;
    double tick[64], step = 1.0;
    cs__nice_ticks(lo, hi, target, integer, tick, 64, &step);
    n_bins = (int)ceil((hi - lo) / step - 1e-9);
    if (n_bins < 1) n_bins = 1;
    if (n_bins > 200) n_bins = 200;
    for (int i = 0; i <= n_bins; i++) edges[i] = lo + step * i;
  }
  memset(counts, 0, sizeof counts);
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(vals[i]) || (logx && vals[i] <= 0)) continue;
    int bin = logx ? (int)floor(4.0 * (log10(vals[i]) - log10(edges[0])) + 1e-9)
                   : (int)floor((vals[i] - edges[0]) / (edges[1] - edges[0]));
    if (bin < 0) bin = 0;
    if (bin >= n_bins) bin = n_bins - 1;
    counts[bin] += 1.0;
  }
  double ylo = 0.0, yhi = max_of(counts, n_bins);
  cs__nice_range(&ylo, &yhi, 4, 1);
  cs__plot_t p;
  cs__plot_init(&p, HALF_W, 300, 62, 16, 26, 52);
  cs__plot_x(&p, edges[0], edges[n_bins], logx);
  cs__plot_y(&p, 0.0, yhi, 0);
  p.x_suffix = x_suffix;
  p.y_integer = 1;
  cs__svg_begin(b, &p, id, title);
  cs__svg_axes(b, &p, xl, "segments", NULL, 0);
  cs__svg_histogram(b, &p, edges, counts, n_bins, color);
  cs__svg_end(b);
}

static void pca_chart(cs__buf_t *b, const cs_report_segments_t *s) {
  int64_t k = s->k;
  double *xs = malloc((size_t)k * sizeof *xs), *ys = malloc((size_t)k * sizeof *ys);
  double *rad = malloc((size_t)k * sizeof *rad);
  char **tips = calloc((size_t)k, sizeof *tips);
  if (!xs || !ys || !rad || !tips) {
    b->failed = 1;
    free(xs), free(ys), free(rad), free(tips);
    return;
  }
  double max_users = 1.0;
  for (int64_t c = 0; c < k; c++)
    if ((double)s->n_users[c] > max_users) max_users = (double)s->n_users[c];
  const double r_max = k > 300 ? 11.0 : 16.0;
  for (int64_t c = 0; c < k; c++) {
    xs[c] = s->xy[2 * c];
    ys[c] = s->xy[2 * c + 1];
    rad[c] = s->n_users[c] > 0
                 ? 1.2 + (r_max - 1.2) * sqrt((double)s->n_users[c] / max_users)
                 : 1.0;
    tips[c] = malloc(128);
    if (tips[c])
      snprintf(tips[c], 128, "segment %lld: %lld users, %lld songs, top-10 "
               "share %.1f%%", (long long)c, (long long)s->n_users[c],
               (long long)s->n_songs[c], 100.0 * s->top10_share[c]);
  }
  double xlo = min_of(xs, k), xhi = max_of(xs, k), ylo = min_of(ys, k),
         yhi = max_of(ys, k);
  double px = (xhi - xlo) * 0.06, py = (yhi - ylo) * 0.08;
  xlo -= px, xhi += px, ylo -= py, yhi += py;
  cs__nice_range(&xlo, &xhi, 5, 0);
  cs__nice_range(&ylo, &yhi, 4, 0);
  cs__plot_t p;
  cs__plot_init(&p, HALF_W, 300, 62, 16, 112, 52);
  cs__plot_x(&p, xlo, xhi, 0);
  cs__plot_y(&p, ylo, yhi, 0);
  char xl[96], yl[96];
  snprintf(xl, sizeof xl, "PC1 (%.1f%% of the centroids' variance)",
           100.0 * s->explained[0]);
  snprintf(yl, sizeof yl, "PC2 (%.1f%%)", 100.0 * s->explained[1]);
  cs__svg_begin(b, &p, "chart-segment-pca", "Centroids on their first two "
                "principal axes, area proportional to the segment's users");
  cs__svg_axes(b, &p, xl, yl, NULL, 0);
  cs__svg_bubbles(b, &p, xs, ys, rad, (int)k, "#0072B2",
                  (const char *const *)tips);
  /* size key, right of the plot */
  double kx = p.right + 14, ky = p.top + 8;
  cs__svg_text(b, kx, ky + 4, "start", 12, "600", "#333", "users");
  ky += 14;
  double key_users[3] = {max_users, max_users / 4.0, max_users / 16.0};
  for (int i = 0; i < 3; i++) {
    double rr = 1.2 + (r_max - 1.2) * sqrt(key_users[i] / max_users);
    double cy = ky + rr;
    cs__buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" "
                   "fill=\"#0072B2\" fill-opacity=\"0.38\" stroke=\"#0072B2\" "
                   "stroke-width=\"0.8\"/>\n", kx + r_max, cy, rr);
    char lab[48];
    num(lab, sizeof lab, key_users[i], key_users[i] >= 1 ? 0 : 1);
    cs__svg_text(b, kx + 2 * r_max + 8, cy + 4, "start", 11, NULL, "#333", lab);
    ky += 2 * rr + 8;
  }
  cs__svg_end(b);
  for (int64_t c = 0; c < k; c++) free(tips[c]);
  free(tips), free(xs), free(ys), free(rad);
}

static void section_segments(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_segments_t *s = &r->segments;
  section_open(b, "segments", "The segments");
  if (s->k == 0) {
    empty_box(b, "no-segments", "No segments in this report.");
    section_close(b);
    return;
  }
  int64_t k = s->k, n_empty = 0, total = 0;
  double *users = malloc((size_t)k * sizeof *users);
  double *songs = malloc((size_t)k * sizeof *songs);
  double *share = malloc((size_t)k * sizeof *share);
  if (!users || !songs || !share) {
    b->failed = 1;
    free(users), free(songs), free(share);
    return;
  }
  for (int64_t c = 0; c < k; c++) {
    users[c] = (double)s->n_users[c];
    songs[c] = (double)s->n_songs[c];
    share[c] = 100.0 * s->top10_share[c];
    total += s->n_users[c];
    n_empty += s->n_users[c] == 0;
  }
  char a[32], bb[32], c1[32], d[32], e[32], f[32], msg[640];
  num(a, sizeof a, (double)k, 0);
  num(bb, sizeof bb, (double)total, 0);
  num(c1, sizeof c1, median_of(users, k), 0);
  num(d, sizeof d, max_of(users, k), 0);
  num(e, sizeof e, median_of(songs, k), 0);
  num(f, sizeof f, median_of(share, k), 1);
  snprintf(msg, sizeof msg, "%s segments (k-means over the training users' "
           "target embeddings) holding %s training users; %lld empty. Median "
           "segment: %s users (largest %s), %s songs ranked, %s%% of its "
           "(user, song) pairs on its 10 most frequent songs.", a, bb,
           (long long)n_empty, c1, d, e, f);
  note(b, msg);
  cs__buf_put(b, "<div class=\"grid2\">\n<div><h4>Size distribution</h4>\n");
  histogram_chart(b, "chart-segment-sizes", "Segments by number of training "
                  "users", users, k, 0.0, NAN, 20, 1, 1, "training users in the "
                  "segment", NULL, "#0072B2");
  cs__buf_put(b, "</div>\n<div><h4>Songs each segment ranks</h4>\n");
  histogram_chart(b, "chart-segment-songs", "Segments by number of songs "
                  "ranked", songs, k, 0.0, NAN, 20, 1, 1, "songs ranked (played by "
                  "at least one of its users)", NULL, "#009E73");
  cs__buf_put(b, "</div>\n<div><h4>Concentration: share of the top 10 songs"
                 "</h4>\n");
  histogram_chart(b, "chart-segment-top10", "Segments by the share of their "
                  "top 10 songs", share, k, 0.0, 100.0, 20, 0, 0, "share of the "
                  "segment's (user, song) pairs on its 10 most frequent songs",
                  "%", "#E69F00");
  cs__buf_put(b, "</div>\n<div><h4>Map of the centroids (PCA)</h4>\n");
  pca_chart(b, s);
  cs__buf_put(b, "</div>\n</div>\n");
  note(b, "Each bar counts segments. A segment ranks every song at least one "
          "of its training users played on days 1-30; its top-10 share is the "
          "sum of p over its 10 first songs. Map: each circle is a centroid, "
          "its area proportional to the segment's training users; hover a "
          "circle for its numbers.");
  free(users), free(songs), free(share);
  section_close(b);
}

/* --- regressor ----------------------------------------------------------------------- */

static void section_regressor(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_history_t *h = &r->history;
  section_open(b, "regressor", "The regressor: loss per epoch");
  if (h->n_epochs <= 0) {
    empty_box(b, "no-history", "This model file has no training history: it "
              "holds the trained regressor but not its per-epoch training "
              "and validation losses, so there is no loss curve to show.");
    section_close(b);
    return;
  }
  int n = h->n_epochs;
  double *xs = malloc((size_t)n * sizeof *xs);
  if (!xs) {
    b->failed = 1;
    return;
  }
  for (int i = 0; i < n; i++) xs[i] = i + 1;
  double lo = fmin(min_of(h->train_mse, n), min_of(h->val_mse, n));
  double hi = fmax(max_of(h->train_mse, n), max_of(h->val_mse, n));
  double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  if (lo < 0) lo = 0;
  cs__nice_range(&lo, &hi, 5, 0);
  cs__plot_t p;
  cs__plot_init(&p, CONTENT_W, 350, 84, 54, 16, 52);
  cs__plot_x(&p, 1, n > 1 ? n : 2, 0);
  cs__plot_y(&p, lo, hi, 0);
  p.x_decimals = 0;
  cs__svg_begin(b, &p, "chart-loss", "Training and validation MSE per epoch");
  cs__svg_axes(b, &p, "epoch", "MSE per element", NULL, 0);
  if (h->best_epoch >= 1 && h->best_epoch <= n) {
    char lab[64];
    snprintf(lab, sizeof lab, "kept: epoch %d", h->best_epoch);
    cs__svg_vmarker(b, &p, h->best_epoch, lab, "#555555", "3 3", 0);
  }
  cs__svg_line(b, &p, xs, h->train_mse, n, "#0072B2", NULL, 2.4, n <= 60);
  cs__svg_line(b, &p, xs, h->val_mse, n, "#D55E00", "7 4", 2.4, n <= 60);
  const char *names[2] = {"training MSE", "validation MSE"};
  const char *colors[2] = {"#0072B2", "#D55E00"};
  const char *dashes[2] = {NULL, "7 4"};
  cs__svg_legend(b, p.left + 4, 20, names, colors, dashes, 2, 2, 170, 1);
  cs__svg_end(b);
  free(xs);
  char msg[256];
  snprintf(msg, sizeof msg, "%d epochs; final training MSE %.6g, validation "
           "MSE %.6g (mean squared error per embedding element).", n,
           h->train_mse[n - 1], h->val_mse[n - 1]);
  note(b, msg);
  section_close(b);
}

/* --- tune ------------------------------------------------------------------------------- */

static void tune_markers(cs__buf_t *b, const cs__plot_t *p,
                         const cs_report_tune_t *t) {
  char lab[64];
  int near = t->elbow_k && t->chosen_k &&
             fabs(cs__scale_at(&p->x, t->elbow_k) -
                  cs__scale_at(&p->x, t->chosen_k)) < 150;
  if (t->elbow_k) {
    snprintf(lab, sizeof lab, "elbow k = %d", t->elbow_k);
    cs__svg_vmarker(b, p, t->elbow_k, lab, "#000000", "5 4", 0);
  }
  if (t->chosen_k) {
    snprintf(lab, sizeof lab, "chosen k = %d", t->chosen_k);
    cs__svg_vmarker(b, p, t->chosen_k, lab, "#D55E00", NULL, near ? 1 : 0);
  }
}

static void tune_x(cs__plot_t *p, const cs_report_tune_t *t) {
  double lo = t->k[0], hi = t->k[t->n_points - 1];
  if (t->elbow_k) lo = fmin(lo, t->elbow_k), hi = fmax(hi, t->elbow_k);
  if (t->chosen_k) lo = fmin(lo, t->chosen_k), hi = fmax(hi, t->chosen_k);
  if (hi / lo > 8.0) {
    cs__plot_x(p, lo / 1.15, hi * 1.15, 1);
  } else {
    double pad = (hi - lo) * 0.05 + 1.0;
    lo -= pad, hi += pad;
    if (lo < 0) lo = 0;
    cs__nice_range(&lo, &hi, 6, 0);
    cs__plot_x(p, lo, hi, 0);
  }
  p->x_decimals = 0;
}

static void section_tune(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_tune_t *t = &r->tune;
  section_open(b, "tune", "Choosing k: inertia and validation NDCG");
  if (t->n_points == 0) {
    empty_box(b, "no-tune", "No k sweep in this report: run the tune command "
              "and pass its output directory with --tune DIR (DIR/tune.json, "
              "format in docs/report.md).");
    section_close(b);
    return;
  }
  int n = t->n_points;
  double *xs = malloc((size_t)n * sizeof *xs), *ys = malloc((size_t)n * sizeof *ys);
  if (!xs || !ys) {
    b->failed = 1;
    free(xs), free(ys);
    return;
  }
  for (int i = 0; i < n; i++) xs[i] = t->k[i];
  char msg[1100];
  snprintf(msg, sizeof msg, "%d values of k from %s.%s%s", n, t->path,
           t->chosen_note[0] ? " Chosen by: " : "", t->chosen_note);
  note(b, msg);
  cs__buf_put(b, "<div class=\"grid2\">\n<div><h4>k-means inertia</h4>\n");
  cs__plot_t p;
  cs__plot_init(&p, HALF_W, 340, 78, 40, 14, 52);
  tune_x(&p, t);
  double lo = min_of(t->inertia, n), hi = max_of(t->inertia, n);
  double pad = (hi - lo) * 0.08;
  lo -= pad, hi += pad;
  if (lo < 0) lo = 0;
  cs__nice_range(&lo, &hi, 5, 0);
  cs__plot_y(&p, lo, hi, 0);
  cs__svg_begin(b, &p, "chart-tune-inertia", "k-means inertia over k");
  cs__svg_axes(b, &p, "k: number of segments", "inertia (sum of squared "
               "distances)", NULL, 0);
  tune_markers(b, &p, t);
  cs__svg_line(b, &p, xs, t->inertia, n, "#0072B2", NULL, 2.4, 1);
  cs__svg_end(b);
  cs__buf_put(b, "</div>\n<div><h4>Validation NDCG</h4>\n");
  cs__plot_init(&p, HALF_W, 340, 62, 40, 14, 52);
  tune_x(&p, t);
  lo = 0.0, hi = 0.0;
  for (int s = 0; s < t->n_series; s++)
    hi = fmax(hi, 100.0 * max_of(t->ndcg + (size_t)s * n, n));
  if (!(hi > 0)) hi = 1.0;
  cs__nice_range(&lo, &hi, 5, 0);
  cs__plot_y(&p, 0.0, hi, 0);
  p.y_suffix = "%";
  cs__svg_begin(b, &p, "chart-tune-ndcg", "Validation NDCG per strategy over k");
  cs__svg_axes(b, &p, "k: number of segments", "validation NDCG (%)", NULL, 0);
  tune_markers(b, &p, t);
  const char *names[CS_REPORT_MAX_SERIES], *colors[CS_REPORT_MAX_SERIES],
      *dashes[CS_REPORT_MAX_SERIES];
  for (int s = 0; s < t->n_series; s++) {
    style_t st = style_of(t->strategy[s], s);
    names[s] = t->strategy[s];
    colors[s] = st.color;
    dashes[s] = st.dash;
    for (int i = 0; i < n; i++) ys[i] = 100.0 * t->ndcg[(size_t)s * n + i];
    cs__svg_line(b, &p, xs, ys, n, st.color, st.dash, 2.4, 1);
  }
  cs__svg_legend(b, p.left + 10, p.bottom - 10 - 20.0 * ((t->n_series - 1) / 3),
                 names, colors, dashes, t->n_series, 3, 140, 1);
  cs__svg_end(b);
  cs__buf_put(b, "</div>\n</div>\n");
  if (t->n_series == 0)
    note(b, "The sweep has no validation metrics (no \"validation\" objects).");
  /* the points */
  cs__buf_put(b, "<table class=\"tune-points\"><thead><tr><th>k</th>"
                 "<th>inertia</th><th>seconds</th>");
  for (int s = 0; s < t->n_series; s++) {
    cs__buf_put(b, "<th>");
    cs__buf_esc(b, t->strategy[s]);
    cs__buf_put(b, " NDCG (%)</th>");
  }
  cs__buf_put(b, "<th class=\"text\"></th></tr></thead><tbody>\n");
  for (int i = 0; i < n; i++) {
    cs__buf_printf(b, "<tr><td>%d</td><td>", t->k[i]);
    put_num(b, t->inertia[i], t->inertia[i] >= 100 ? 0 : 3);
    cs__buf_put(b, "</td><td>");
    put_num(b, t->seconds[i], 2);
    cs__buf_put(b, "</td>");
    for (int s = 0; s < t->n_series; s++) {
      cs__buf_put(b, "<td>");
      put_pct(b, t->ndcg[(size_t)s * n + i], 2);
      cs__buf_put(b, "</td>");
    }
    cs__buf_printf(b, "<td class=\"text\">%s%s</td></tr>\n",
                   t->k[i] == t->elbow_k ? "elbow " : "",
                   t->k[i] == t->chosen_k ? "chosen" : "");
  }
  cs__buf_put(b, "</tbody></table>\n");
  free(xs), free(ys);
  section_close(b);
}

/* --- example users --------------------------------------------------------------------- */

/* "nb_favorite_songs" -> "favorite songs" */
static void count_label(char *out, size_t cap, const char *name) {
  const char *s = strncmp(name, "nb_", 3) == 0 ? name + 3 : name;
  snprintf(out, cap, "%s", s);
  for (char *c = out; *c; c++)
    if (*c == '_') *c = ' ';
}

static const char *role_text(const char *role) {
  if (!strcmp(role, "idle")) return "Idle user";
  if (!strcmp(role, "typical")) return "Typical user";
  if (!strcmp(role, "active")) return "Very active user";
  return role;
}

static void user_card(cs__buf_t *b, const cs_report_t *r,
                      const cs_report_user_t *u) {
  cs__buf_put(b, "<div class=\"user\" id=\"user-");
  cs__buf_esc(b, u->role);
  cs__buf_put(b, "\">\n<h3><span class=\"role\">");
  cs__buf_esc(b, role_text(u->role));
  cs__buf_printf(b, "</span>user %lld</h3>\n", (long long)u->user_id);
  char act[32], age[32], msg[512];
  num(act, sizeof act, u->activity, 0);
  if (u->age >= 0) snprintf(age, sizeof age, "age %.0f", u->age);
  else snprintf(age, sizeof age, "age unknown");
  snprintf(msg, sizeof msg, "%s registration-day contributions, %s. %s "
           "recommends %d songs; %lld of their %lld days-1-30 songs are among "
           "them.", act, age, u->strategy, u->n_items, (long long)u->n_hits,
           (long long)u->n_truth);
  cs__buf_put(b, "<p>");
  cs__buf_esc(b, msg);
  cs__buf_put(b, "</p>\n<div class=\"row\">\n<div><h4>Registration-day "
                 "activity</h4>\n");
  int any = 0;
  for (int c = 0; c < r->n_counts; c++) any |= u->counts[c] != 0;
  if (!any) {
    note(b, "None: no registration-day interactions; the regressor sees only "
            "their age and country.");
  } else {
    cs__buf_put(b, "<table class=\"activity\"><thead><tr><th>contribution"
                   "</th><th>count</th></tr></thead><tbody>\n");
    for (int c = 0; c < r->n_counts; c++) {
      if (u->counts[c] == 0) continue;
      char lab[64];
      count_label(lab, sizeof lab, r->count_names[c]);
      cs__buf_put(b, "<tr><td>");
      cs__buf_esc(b, lab);
      cs__buf_put(b, "</td><td>");
      put_num(b, u->counts[c], 0);
      cs__buf_put(b, "</td></tr>\n");
    }
    cs__buf_put(b, "</tbody></table>\n");
  }
  cs__buf_put(b, "</div>\n<div><h4>Memberships</h4>\n");
  if (u->n_members == 0) {
    char m[96];
    snprintf(m, sizeof m, "None: %s does not place users in segments.",
             u->strategy);
    note(b, m);
  } else {
    cs__buf_put(b, "<table class=\"members\"><thead><tr><th>segment</th>"
                   "<th class=\"text\">weight</th><th>distance</th>"
                   "<th>recommended songs from it</th></tr></thead><tbody>\n");
    for (int j = 0; j < u->n_members; j++) {
      int contributed = 0;
      for (int i = 0; i < u->n_items; i++)
        contributed += (u->items[i].member_mask >> j) & 1u;
      cs__buf_put(b, "<tr><td>");
      swatch(b, member_color(j));
      cs__buf_printf(b, "%d</td><td class=\"text\"><span class=\"wbar\" "
                     "style=\"width:%.0fpx;background:%s\"></span>",
                     u->member_cluster[j], 1.0 + 90.0 * u->member_weight[j],
                     member_color(j));
      put_pct(b, u->member_weight[j], 1);
      cs__buf_put(b, "%</td><td>");
      put_num(b, u->member_dist[j], 3);
      cs__buf_printf(b, "</td><td>%d</td></tr>\n", contributed);
    }
    cs__buf_put(b, "</tbody></table>\n");
  }
  cs__buf_put(b, "</div>\n</div>\n<h4>Recommended songs, ranked "
                 "(song id; squares: the contributing segments; green: "
                 "played on days 1-30)</h4>\n<div class=\"chips recs\">\n");
  for (int i = 0; i < u->n_items; i++) {
    const cs_report_item_t *it = &u->items[i];
    cs__buf_printf(b, "<span class=\"chip%s\"><span class=\"rk\">%d.</span>"
                   "%lld", it->hit ? " hit" : "", i + 1, (long long)it->song_id);
    for (int j = 0; j < u->n_members; j++)
      if ((it->member_mask >> j) & 1u)
        cs__buf_printf(b, "<span class=\"seg\" style=\"background:%s\" "
                       "title=\"segment %d\"></span>", member_color(j),
                       u->member_cluster[j]);
    cs__buf_put(b, "</span>\n");
  }
  cs__buf_put(b, "</div>\n");
  const int64_t show = 160;
  cs__buf_printf(b, "<h4>Their days-1-30 songs (%lld; green: recommended)"
                 "</h4>\n<div class=\"chips truth\">\n", (long long)u->n_truth);
  /* hits first, then the rest, in song table order */
  int64_t shown = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int64_t t = 0; t < u->n_truth && shown < show; t++) {
      if ((pass == 0) != (u->truth_hit[t] != 0)) continue;
      cs__buf_printf(b, "<span class=\"chip%s\">%lld</span>\n",
                     u->truth_hit[t] ? " hit" : "",
                     (long long)u->truth_song_ids[t]);
      shown++;
    }
  if (u->n_truth > shown)
    cs__buf_printf(b, "<span class=\"chip more\">and %lld more</span>\n",
                   (long long)(u->n_truth - shown));
  cs__buf_put(b, "</div>\n</div>\n");
}

static void section_examples(cs__buf_t *b, const cs_report_t *r) {
  section_open(b, "examples", "Three example users");
  if (r->n_users == 0) {
    empty_box(b, "no-users", "No example users: the split has no user with "
              "days-1-30 songs.");
    section_close(b);
    return;
  }
  note(b, "Chosen from the evaluated split by their registration-day "
          "activity (the sum of the 18 nb_* counts of their feature vector; "
          "a song stream counts for the song, its artist and its album): the "
          "fewest (idle), the median (typical) and the most (very active), "
          "among users with days-1-30 songs.");
  for (int i = 0; i < r->n_users; i++) user_card(b, r, &r->users[i]);
  section_close(b);
}

/* --- what went in --------------------------------------------------------------------- */

static void section_inputs(cs__buf_t *b, const cs_report_t *r) {
  section_open(b, "inputs", "What went in");
  cs__buf_put(b, "<div class=\"row\"><div>\n<table class=\"inputs\"><tbody>\n");
  const char *group = "";
  for (int i = 0; i < r->n_kv; i++) {
    const cs_report_kv_t *kv = &r->kv[i];
    if (strcmp(kv->group, group)) {
      group = kv->group;
      cs__buf_put(b, "<tr class=\"group\"><td colspan=\"2\">");
      cs__buf_esc(b, group);
      cs__buf_put(b, "</td></tr>\n");
    }
    cs__buf_put(b, "<tr><td>");
    cs__buf_esc(b, kv->key);
    cs__buf_put(b, "</td><td class=\"text\">");
    cs__buf_esc(b, kv->value);
    cs__buf_put(b, "</td></tr>\n");
  }
  cs__buf_put(b, "</tbody></table>\n</div>\n<div>\n<table class=\"timings\">"
                 "<thead><tr><th>stage</th><th>seconds</th></tr></thead>"
                 "<tbody>\n");
  for (int i = 0; i < r->n_stages; i++) {
    cs__buf_put(b, "<tr><td>");
    cs__buf_esc(b, r->stages[i].name);
    cs__buf_put(b, "</td><td>");
    put_num(b, r->stages[i].seconds, 3);
    cs__buf_put(b, "</td></tr>\n");
  }
  cs__buf_put(b, "</tbody></table>\n</div></div>\n");
  section_close(b);
}

/* --- page ------------------------------------------------------------------------------- */

static void headline(cs__buf_t *b, const cs_report_t *r) {
  const cs_report_eval_t *ev = &r->eval;
  if (ev->n_rows == 0) return;
  int best = 0, soft = -1, semi = -1;
  for (int s = 0; s < ev->n_rows; s++) {
    if (ev->rows[s].ndcg > ev->rows[best].ndcg) best = s;
    if (!strcmp(ev->rows[s].strategy, "soft")) soft = s;
    if (!strcmp(ev->rows[s].strategy, "semi")) semi = s;
  }
  char msg[512];
  int n = snprintf(msg, sizeof msg, "Best NDCG@%d: %s, %.2f%%.", ev->k,
                   ev->rows[best].strategy, 100.0 * ev->rows[best].ndcg);
  if (soft >= 0 && semi >= 0 && n > 0 && (size_t)n < sizeof msg)
    snprintf(msg + n, sizeof msg - (size_t)n, " soft vs semi: %+.2f points "
             "of NDCG@%d (spread %.2f).", 100.0 * (ev->rows[soft].ndcg -
                                                  ev->rows[semi].ndcg), ev->k,
             100.0 * ev->rows[soft].ndcg_std);
  cs__buf_put(b, "<p class=\"headline\">");
  cs__buf_esc(b, msg);
  cs__buf_put(b, "</p>\n");
}

int cs_report_render(const cs_report_t *r, char **html, size_t *len,
                     cs_err_t *err) {
  *html = NULL;
  *len = 0;
  cs__buf_t b;
  cs__buf_init(&b);
  cs__buf_put(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
                  "charset=\"utf-8\">\n<meta name=\"viewport\" content=\""
                  "width=device-width, initial-scale=1\">\n<title>coldstart "
                  "report: ");
  cs__buf_esc(&b, r->title);
  cs__buf_put(&b, "</title>\n<style>\n");
  cs__buf_put(&b, css);
  cs__buf_put(&b, "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>coldstart "
                  "report</h1>\n<p class=\"sub\">");
  cs__buf_esc(&b, r->title);
  if (r->eval.n_rows)
    cs__buf_escf(&b, " \xC2\xB7 %s split \xC2\xB7 K = %d \xC2\xB7 %lld users",
                 r->eval.split, r->eval.k, (long long)r->eval.n_users);
  if (r->generated[0]) cs__buf_escf(&b, " \xC2\xB7 %s", r->generated);
  cs__buf_put(&b, "</p>\n");
  headline(&b, r);
  cs__buf_put(&b, "<nav><a href=\"#comparison\">comparison</a>"
                  "<a href=\"#ndcg-at-k\">NDCG@K</a>"
                  "<a href=\"#segments\">segments</a>"
                  "<a href=\"#regressor\">regressor</a>"
                  "<a href=\"#tune\">choosing k</a>"
                  "<a href=\"#examples\">example users</a>"
                  "<a href=\"#inputs\">what went in</a></nav>\n</header>\n");
  section_comparison(&b, r);
  section_curves(&b, r);
  section_segments(&b, r);
  section_regressor(&b, r);
  section_tune(&b, r);
  section_examples(&b, r);
  section_inputs(&b, r);
  cs__buf_put(&b, "<footer>Generated by coldstart");
  for (int i = 0; i < r->n_kv; i++)
    if (!strcmp(r->kv[i].group, "versions") && !strcmp(r->kv[i].key, "coldstart")) {
      cs__buf_put(&b, " ");
      cs__buf_esc(&b, r->kv[i].value);
    }
  cs__buf_put(&b, ". One self-contained file: no script, nothing loaded from "
                  "elsewhere.</footer>\n</main>\n</body>\n</html>\n");
  if (b.failed) {
    cs__buf_free(&b);
    return cs_err_set(err, CS_ENOMEM, "report: out of memory rendering the "
                      "page");
  }
  *html = b.data;
  *len = b.len;
  return 0;
}

int cs_report_write(const cs_report_t *r, const char *path, cs_err_t *err) {
  char *html;
  size_t len;
  int rc = cs_report_render(r, &html, &len, err);
  if (rc) return rc;
  rc = cs_write_file_atomic(path, html, len, err);
  free(html);
  return rc;
}

/* dist.c: the collectives of include/coldstart/dist.h, built from the few
 * primitives of the message layer (src/dist/dist_internal.h); in the
 * one-process world (no layer) each is the local copy. Holds no MPI: the
 * library links without it. Also the test hooks and the signal guard. */
#include "coldstart/dist.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist/dist_internal.h"

const cs_dist_t cs_dist_one = {0, 1, 1, 0, NULL};

/* Process-wide state, as MPI's own is: what the signal handler needs (it
 * can only see globals) and whether a failure was agreed on. */
static char g_guard_tmp[4200];
static volatile sig_atomic_t g_guard_set;
static int g_rank;
static int g_failure_agreed;

int cs_dist_launched(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                     "PMIX_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);
    if (v && *v) return 1;
  }
  return 0;
}

int cs_dist_failure_agreed(void) { return g_failure_agreed; }
void cs__dist_reset(void) { g_failure_agreed = 0; }

void cs_dist_offsets(int64_t n, int64_t block, int size, int64_t *offsets) {
  for (int r = 0; r < size; r++) {
    int64_t lo, hi;
    cs_dist_part_blocks(n, block > 0 ? block : 1, r, size, &lo, &hi);
    offsets[r] = lo;
  }
  offsets[size] = n;
}

int cs_fixed_scale(double max_abs, int64_t n_terms) {
  if (!(max_abs > 0.0) || !isfinite(max_abs)) return 0;
  if (n_terms < 1) n_terms = 1;
  int e;
  frexp(max_abs, &e); /* max_abs < 2^e */
  int bits_n = 0;
  while (bits_n < 62 && ((int64_t)1 << bits_n) < n_terms) bits_n++;
  int scale = 62 - e - bits_n;
  if (scale > 1000) scale = 1000;
  if (scale < -1000) scale = -1000;
  return scale;
}

/* ------------------------------------------------------------- signals */

static void put_str(char *buf, size_t cap, size_t *at, const char *s) {
  while (*s && *at + 1 < cap) buf[(*at)++] = *s++;
}

static void on_signal(int sig) {
  if (g_guard_set) unlink(g_guard_tmp);
  char msg[160], num[16];
  size_t at = 0, n = 0;
  int r = g_rank;
  do {
    num[n++] = (char)('0' + r % 10);
    r /= 10;
  } while (r && n < sizeof num);
  put_str(msg, sizeof msg, &at, "coldstart: rank ");
  while (n) msg[at++] = num[--n];
  put_str(msg, sizeof msg, &at,
          ": stopped by a signal (another rank failed or the job was "
          "cancelled)\n");
  ssize_t w = write(STDERR_FILENO, msg, at);
  (void)w;
  signal(sig, SIG_DFL);
  raise(sig);
}

void cs__dist_install_signals(int rank) {
  g_rank = rank;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
}

void cs_dist_guard_output(const char *path) {
  g_guard_set = 0;
  if (!path) return;
  int w = snprintf(g_guard_tmp, sizeof g_guard_tmp, "%s.tmp.%ld", path,
                   (long)getpid());
  g_guard_set = w > 0 && (size_t)w < sizeof g_guard_tmp;
}

/* --------------------------------------------------------- collectives */

static int is_multi(const cs_dist_t *d) {
  return d && d->ops && d->size > 1;
}

int cs_dist_barrier(const cs_dist_t *d) {
  return is_multi(d) ? d->ops->barrier() : 0;
}

int cs_dist_bcast(const cs_dist_t *d, void *buf, size_t bytes, int root) {
  return is_multi(d) && bytes > 0 ? d->ops->bcast(buf, bytes, root) : 0;
}

int cs_dist_sum_i64(const cs_dist_t *d, int64_t *v, int64_t n) {
  return is_multi(d) && n > 0
             ? d->ops->allreduce(v, n, CS__DIST_I64, CS__DIST_SUM)
             : 0;
}

int cs_dist_max_f64(const cs_dist_t *d, double *v, int64_t n) {
  return is_multi(d) && n > 0
             ? d->ops->allreduce(v, n, CS__DIST_F64, CS__DIST_MAX)
             : 0;
}

int cs_dist_min_f64(const cs_dist_t *d, double *v, int64_t n) {
  return is_multi(d) && n > 0
             ? d->ops->allreduce(v, n, CS__DIST_F64, CS__DIST_MIN)
             : 0;
}

/* A failure inside a collective: the other ranks are in it already and
 * cannot be told, so the job stops (every rank exits non-zero). */
static int stop_job(const cs_dist_t *d, const char *what) {
  d->ops->stop_job(what);
  return CS_EINTERNAL;
}

int cs_dist_allgather_i64(const cs_dist_t *d, int64_t mine, int64_t *all) {
  if (!is_multi(d)) {
    all[0] = mine;
    return 0;
  }
  int64_t *off = malloc(((size_t)d->size + 1) * sizeof *off);
  if (!off) return stop_job(d, "out of memory inside a collective");
  for (int r = 0; r <= d->size; r++) off[r] = r;
  all[d->rank] = mine;
  int rc = d->ops->rows(d, NULL, all, sizeof *all, off, -1);
  free(off);
  return rc;
}

int cs_dist_allgather_rows(const cs_dist_t *d, void *buf, size_t row_bytes,
                           const int64_t *offsets) {
  return is_multi(d) && row_bytes > 0
             ? d->ops->rows(d, NULL, buf, row_bytes, offsets, -1)
             : 0;
}

int cs_dist_gather_rows(const cs_dist_t *d, void *buf, size_t row_bytes,
                        const int64_t *offsets, int root) {
  return is_multi(d) && row_bytes > 0
             ? d->ops->rows(d, NULL, buf, row_bytes, offsets, root)
             : 0;
}

int cs_dist_gather_rows_from(const cs_dist_t *d, const void *mine,
                             void *out, size_t row_bytes,
                             const int64_t *offsets, int root) {
  if (row_bytes == 0) return 0;
  if (!is_multi(d)) {
    size_t bytes = (size_t)(offsets[1] - offsets[0]) * row_bytes;
    if (out && mine != out) memmove(out, mine, bytes);
    return 0;
  }
  if (d->rank == root &&
      (const char *)mine ==
          (const char *)out + (size_t)(offsets[d->rank] - offsets[0]) * row_bytes)
    mine = NULL; /* already in place (MPI forbids aliased buffers) */
  return d->ops->rows(d, mine, d->rank == root ? out : NULL, row_bytes,
                      offsets, root);
}

int cs_dist_gather_scatter(const cs_dist_t *d, const void *mine,
                           size_t row_bytes, const int64_t *counts,
                           const int64_t *dest, void *out, int root) {
  if (row_bytes == 0) return 0;
  if (!is_multi(d)) {
    for (int64_t j = 0; j < counts[0]; j++)
      memcpy((char *)out + (size_t)dest[j] * row_bytes,
             (const char *)mine + (size_t)j * row_bytes, row_bytes);
    return 0;
  }
  const int P = d->size;
  int64_t per = ((int64_t)64 << 20) / (int64_t)row_bytes / P;
  if (per < 1) per = 1;
  int64_t most = 0, *base = malloc(2 * ((size_t)P + 1) * sizeof *base);
  char *tmp = malloc((size_t)per * P * row_bytes);
  if (!base || !tmp) return stop_job(d, "out of memory inside a collective");
  int64_t *toff = base + P + 1;
  base[0] = 0;
  for (int q = 0; q < P; q++) {
    base[q + 1] = base[q] + counts[q];
    most = counts[q] > most ? counts[q] : most;
  }
  int rc = 0;
  for (int64_t first = 0; first < most && !rc; first += per) {
    toff[0] = 0;
    for (int q = 0; q < P; q++) {
      int64_t c = counts[q] - first;
      c = c < 0 ? 0 : c > per ? per : c;
      toff[q + 1] = toff[q] + c;
    }
    memcpy(tmp + (size_t)toff[d->rank] * row_bytes,
           (const char *)mine + (size_t)first * row_bytes,
           (size_t)(toff[d->rank + 1] - toff[d->rank]) * row_bytes);
    rc = d->ops->rows(d, NULL, tmp, row_bytes, toff, root);
    if (rc || (root >= 0 && root != d->rank)) continue;
    for (int q = 0; q < P; q++)
      for (int64_t j = 0; j < toff[q + 1] - toff[q]; j++)
        memcpy((char *)out + (size_t)dest[base[q] + first + j] * row_bytes,
               tmp + (size_t)(toff[q] + j) * row_bytes, row_bytes);
  }
  free(base);
  free(tmp);
  return rc;
}

int cs_dist_alltoallv(const cs_dist_t *d, const void *send,
                      const int64_t *send_counts, size_t rec_bytes,
                      void **recv, int64_t *recv_counts) {
  *recv = NULL;
  if (!is_multi(d)) {
    *recv = malloc((size_t)(send_counts[0] > 0 ? send_counts[0] : 1) *
                   rec_bytes);
    if (!*recv) return CS_ENOMEM;
    memcpy(*recv, send, (size_t)send_counts[0] * rec_bytes);
    recv_counts[0] = send_counts[0];
    return 0;
  }
  int rc = d->ops->alltoall_i64(d, send_counts, recv_counts);
  if (rc) return rc;
  int64_t total = 0;
  for (int q = 0; q < d->size; q++) total += recv_counts[q];
  *recv = malloc((size_t)(total > 0 ? total : 1) * rec_bytes);
  if (!*recv) return stop_job(d, "out of memory inside a collective");
  rc = d->ops->alltoallv(d, send, send_counts, *recv, recv_counts, rec_bytes);
  if (rc) {
    free(*recv);
    *recv = NULL;
  }
  return rc;
}

/* ------------------------------------------------------- ordered sums */

/* out[j] = sum over blocks in order of blocks[b * len + j], j < len. */
#define ORDERED_SUM(T, name)                                                  \
  static void name(const void *blocks_v, int64_t n_blocks, int64_t len,      \
                   void *out_v) {                                             \
    const T *blocks = blocks_v;                                               \
    T *out = out_v;                                                           \
    for (int64_t j = 0; j < len; j++) out[j] = 0;                             \
    for (int64_t b = 0; b < n_blocks; b++) {                                  \
      const T *x = blocks + b * len;                                          \
      for (int64_t j = 0; j < len; j++) out[j] += x[j];                       \
    }                                                                         \
  }
ORDERED_SUM(double, ordered_sum_d)
ORDERED_SUM(float, ordered_sum_f)

typedef void (*ordered_sum_fn)(const void *, int64_t, int64_t, void *);

/* Small totals: every block to every rank, then the ordered sum. Large
 * ones: column segment q of every block to rank q, which sums it in block
 * order; then the sums are shared. Both add in block order. */
static int sum_blocks_multi(const cs_dist_t *d, const void *mine,
                            int64_t n_blocks, int64_t len, size_t esize,
                            ordered_sum_fn sum, void *out) {
  const int P = d->size;
  int64_t *boff = malloc(4 * ((size_t)P + 1) * sizeof(int64_t));
  void *tmp = NULL;
  int rc = 0;
  if (!boff) return stop_job(d, "out of memory inside a collective");
  int64_t *coff = boff + P + 1, *sc = coff + P + 1, *rcn = sc + P + 1;
  cs_dist_offsets(n_blocks, 1, P, boff);
  cs_dist_offsets(len, 1, P, coff);
  const int64_t my_b0 = boff[d->rank], my_nb = boff[d->rank + 1] - my_b0;
  if (n_blocks * len <= 65536) {
    tmp = malloc((size_t)(n_blocks * len + 1) * esize);
    if (!tmp) return stop_job(d, "out of memory inside a collective");
    memcpy((char *)tmp + (size_t)(my_b0 * len) * esize, mine,
           (size_t)(my_nb * len) * esize);
    rc = d->ops->rows(d, NULL, tmp, (size_t)len * esize, boff, -1);
    if (!rc) sum(tmp, n_blocks, len, out);
    goto done;
  }
  const int64_t my_w = coff[d->rank + 1] - coff[d->rank];
  const size_t send_n = (size_t)(my_nb * len), recv_n = (size_t)(n_blocks * my_w);
  tmp = malloc((send_n + recv_n + 1) * esize);
  if (!tmp) return stop_job(d, "out of memory inside a collective");
  char *send = tmp, *recv = (char *)tmp + send_n * esize;
  size_t at = 0;
  for (int q = 0; q < P; q++) {
    int64_t w = coff[q + 1] - coff[q];
    sc[q] = my_nb * w;
    rcn[q] = (boff[q + 1] - boff[q]) * my_w;
    for (int64_t b = 0; b < my_nb; b++) {
      memcpy(send + at * esize,
             (const char *)mine + (size_t)(b * len + coff[q]) * esize,
             (size_t)w * esize);
      at += (size_t)w;
    }
  }
  rc = d->ops->alltoallv(d, send, sc, recv, rcn, esize);
  if (rc) goto done;
  /* recv: my segment of every block, blocks in global order */
  sum(recv, n_blocks, my_w, (char *)out + (size_t)coff[d->rank] * esize);
  rc = d->ops->rows(d, NULL, out, esize, coff, -1);
done:
  free(boff);
  free(tmp);
  return rc;
}

int cs_dist_sum_blocks(const cs_dist_t *d, const double *mine,
                       int64_t n_blocks, int64_t len, double *out) {
  if (len <= 0) return 0;
  if (is_multi(d))
    return sum_blocks_multi(d, mine, n_blocks, len, sizeof(double),
                            ordered_sum_d, out);
  ordered_sum_d(mine, n_blocks, len, out);
  return 0;
}

int cs_dist_sum_blocks_f(const cs_dist_t *d, const float *mine,
                         int64_t n_blocks, int64_t len, float *out) {
  if (len <= 0) return 0;
  if (is_multi(d))
    return sum_blocks_multi(d, mine, n_blocks, len, sizeof(float),
                            ordered_sum_f, out);
  ordered_sum_f(mine, n_blocks, len, out);
  return 0;
}

/* ------------------------------------------------------------- status */

int cs_dist_agree(const cs_dist_t *d, int rc, cs_err_t *err) {
  if (!is_multi(d)) return rc;
  int64_t *all = malloc((size_t)d->size * sizeof *all);
  if (!all) return stop_job(d, "out of memory in a status exchange");
  cs_dist_allgather_i64(d, rc, all);
  int failed = -1;
  for (int r = 0; r < d->size && failed < 0; r++)
    if (all[r] != 0) failed = r;
  int code = failed >= 0 ? (int)all[failed] : 0;
  free(all);
  if (failed < 0) return 0;
  cs_err_t local;
  cs_err_clear(&local);
  cs_err_t *e = err ? err : &local;
  char msg[sizeof e->msg];
  memcpy(msg, e->msg, sizeof msg);
  cs_dist_bcast(d, msg, sizeof msg, failed);
  msg[sizeof msg - 1] = '\0';
  if (d->rank != failed)
    cs_err_set(e, code, "rank %d: %s", failed, msg);
  else
    e->code = code;
  g_failure_agreed = 1;
  return code;
}

static int env_int(const char *name, int *out) {
  const char *v = getenv(name);
  if (!v || !*v) return 0;
  char *end = NULL;
  long x = strtol(v, &end, 10);
  if (*end) return 0;
  *out = (int)x;
  return 1;
}

static int env_is(const char *name, const char *value) {
  const char *v = getenv(name);
  return v && strcmp(v, value) == 0;
}

int cs_dist_stage(const cs_ctx_t *ctx, const char *stage, int rc,
                  cs_err_t *err) {
  const cs_dist_t *d = cs_dist_of(ctx);
  int r;
  if (env_int("CS_TEST_DIE_RANK", &r) && r == d->rank &&
      env_is("CS_TEST_DIE_STAGE", stage)) {
    /* test hook: a rank that vanishes (docs/mpi.md) */
    fprintf(stderr, "coldstart: rank %d: CS_TEST_DIE_RANK: exiting at stage "
            "'%s'\n", d->rank, stage);
    fflush(stderr);
    _exit(3);
  }
  if (rc == 0 && env_int("CS_TEST_FAIL_RANK", &r) && r == d->rank &&
      env_is("CS_TEST_FAIL_STAGE", stage))
    /* CS_TEST_FAIL_CODE=ENOMEM: as a rank out of memory (which stops the
     * job from where it happens, docs/mpi.md) */
    rc = cs_err_set(err, env_is("CS_TEST_FAIL_CODE", "ENOMEM") ? CS_ENOMEM : CS_EINTERNAL,
                    "CS_TEST_FAIL_RANK: failing at stage '%s'", stage);
  rc = cs_dist_agree(d, rc, err);
  const char *tr = getenv("CS_DIST_TRAFFIC");
  if (tr && *tr && is_multi(d) && d->ops->traffic) {
    /* what this rank has moved by the end of the stage (bench/scale.sh) */
    double t[4];
    d->ops->traffic(t);
    fprintf(stderr, "coldstart: rank %d traffic after %s: %.0f collectives, "
            "%.1f MB sent, %.1f MB received, %.3f s inside collectives\n",
            d->rank, stage, t[0], t[1] / 1e6, t[2] / 1e6, t[3]);
  }
  return rc;
}

/* dist.c: the process group (MPI under mpirun, else one process) and the
 * ordered collectives of include/coldstart/dist.h. The only file that
 * includes <mpi.h>; built without it (no CS_HAVE_MPI) every collective is
 * the one-process copy. */
#include "coldstart/dist.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CS_HAVE_MPI
#include <mpi.h>
#endif

const cs_dist_t cs_dist_one = {0, 1, 1, 0};

/* Process-wide state, as MPI's own is: what the signal handler needs (it
 * can only see globals) and whether a failure was agreed on. */
static char g_guard_tmp[4200];
static volatile sig_atomic_t g_guard_set;
static int g_rank;
static int g_failure_agreed;

int cs_dist_built_with_mpi(void) {
#ifdef CS_HAVE_MPI
  return 1;
#else
  return 0;
#endif
}

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
  while (bits_n < 63 && ((int64_t)1 << bits_n) < n_terms) bits_n++;
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
  char msg[128], num[16];
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

void cs_dist_guard_output(const char *path) {
  g_guard_set = 0;
  if (!path) return;
  int w = snprintf(g_guard_tmp, sizeof g_guard_tmp, "%s.tmp.%ld", path,
                   (long)getpid());
  g_guard_set = w > 0 && (size_t)w < sizeof g_guard_tmp;
}

/* ------------------------------------------------------- init, finalize */

int cs_dist_init(cs_dist_t *d, int *argc, char ***argv, cs_err_t *err) {
  *d = cs_dist_one;
  g_rank = 0;
  g_failure_agreed = 0;
  if (!cs_dist_launched()) return 0;
#ifdef CS_HAVE_MPI
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank,
                      MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &d->local_size);
  MPI_Comm_free(&local);
  d->mpi = 1;
  g_rank = d->rank;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  return 0;
#else
  (void)argc;
  (void)argv;
  return cs_err_set(err, CS_EUNSUPPORTED,
                    "launched by an MPI launcher (mpirun) but this coldstart "
                    "was built without MPI: every rank would run the whole "
                    "job alone (install libopenmpi-dev and rebuild)");
#endif
}

int cs_dist_finalize(cs_dist_t *d, int status) {
  if (!d || !d->mpi) return status;
#ifdef CS_HAVE_MPI
  fflush(stdout);
  fflush(stderr);
  if (status != 0 && !g_failure_agreed) {
    MPI_Abort(MPI_COMM_WORLD, status);
    return status;
  }
  if (status != 0) MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  d->mpi = 0;
#endif
  return status;
}

/* --------------------------------------------------------- collectives */

#ifdef CS_HAVE_MPI
#define CHUNK_ELEMS ((int64_t)1 << 28)

static int is_multi(const cs_dist_t *d) { return d && d->mpi && d->size > 1; }

/* A contiguous datatype of `bytes`, committed; MPI_BYTE for one byte. */
static MPI_Datatype record_type(size_t bytes) {
  if (bytes == 1) return MPI_BYTE;
  MPI_Datatype t;
  MPI_Type_contiguous((int)bytes, MPI_BYTE, &t);
  MPI_Type_commit(&t);
  return t;
}

static void record_type_free(MPI_Datatype t) {
  if (t != MPI_BYTE) MPI_Type_free(&t);
}
#endif

int cs_dist_barrier(const cs_dist_t *d) {
#ifdef CS_HAVE_MPI
  if (is_multi(d)) MPI_Barrier(MPI_COMM_WORLD);
#else
  (void)d;
#endif
  return 0;
}

int cs_dist_bcast(const cs_dist_t *d, void *buf, size_t bytes, int root) {
#ifdef CS_HAVE_MPI
  if (!is_multi(d)) return 0;
  for (size_t at = 0; at < bytes; at += (size_t)CHUNK_ELEMS) {
    size_t n = bytes - at < (size_t)CHUNK_ELEMS ? bytes - at : (size_t)CHUNK_ELEMS;
    MPI_Bcast((char *)buf + at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
  }
#else
  (void)d;
  (void)buf;
  (void)bytes;
  (void)root;
#endif
  return 0;
}

#ifdef CS_HAVE_MPI
static void allreduce(void *v, int64_t n, MPI_Datatype t, size_t esize,
                      MPI_Op op) {
  for (int64_t at = 0; at < n; at += CHUNK_ELEMS) {
    int64_t m = n - at < CHUNK_ELEMS ? n - at : CHUNK_ELEMS;
    MPI_Allreduce(MPI_IN_PLACE, (char *)v + (size_t)at * esize, (int)m, t, op,
                  MPI_COMM_WORLD);
  }
}
#endif

int cs_dist_sum_i64(const cs_dist_t *d, int64_t *v, int64_t n) {
#ifdef CS_HAVE_MPI
  if (is_multi(d)) allreduce(v, n, MPI_INT64_T, sizeof *v, MPI_SUM);
#else
  (void)d;
  (void)v;
  (void)n;
#endif
  return 0;
}

int cs_dist_max_f64(const cs_dist_t *d, double *v, int64_t n) {
#ifdef CS_HAVE_MPI
  if (is_multi(d)) allreduce(v, n, MPI_DOUBLE, sizeof *v, MPI_MAX);
#else
  (void)d;
  (void)v;
  (void)n;
#endif
  return 0;
}

int cs_dist_min_f64(const cs_dist_t *d, double *v, int64_t n) {
#ifdef CS_HAVE_MPI
  if (is_multi(d)) allreduce(v, n, MPI_DOUBLE, sizeof *v, MPI_MIN);
#else
  (void)d;
  (void)v;
  (void)n;
#endif
  return 0;
}

int cs_dist_allgather_i64(const cs_dist_t *d, int64_t mine, int64_t *all) {
#ifdef CS_HAVE_MPI
  if (is_multi(d)) {
    MPI_Allgather(&mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, MPI_COMM_WORLD);
    return 0;
  }
#endif
  (void)d;
  all[0] = mine;
  return 0;
}

#ifdef CS_HAVE_MPI
/* Counts and displacements in rows for a rows exchange; CS_ETOOBIG when a
 * count does not fit MPI's int. */
static int row_counts(const cs_dist_t *d, const int64_t *offsets, int *counts,
                      int *displs) {
  for (int r = 0; r < d->size; r++) {
    int64_t c = offsets[r + 1] - offsets[r], o = offsets[r] - offsets[0];
    if (c < 0 || c > INT_MAX || o > INT_MAX) return CS_ETOOBIG;
    counts[r] = (int)c;
    displs[r] = (int)o;
  }
  return 0;
}

static int rows_exchange(const cs_dist_t *d, void *buf, size_t row_bytes,
                         const int64_t *offsets, int root) {
  int *counts = malloc(2 * (size_t)d->size * sizeof(int));
  if (!counts) return CS_ENOMEM;
  int *displs = counts + d->size;
  int rc = row_counts(d, offsets, counts, displs);
  if (rc) {
    free(counts);
    return rc;
  }
  MPI_Datatype t = record_type(row_bytes);
  if (root < 0)
    MPI_Allgatherv(MPI_IN_PLACE, 0, t, buf, counts, displs, t, MPI_COMM_WORLD);
  else if (d->rank == root)
    MPI_Gatherv(MPI_IN_PLACE, 0, t, buf, counts, displs, t, root,
                MPI_COMM_WORLD);
  else
    MPI_Gatherv((char *)buf + (size_t)displs[d->rank] * row_bytes,
                counts[d->rank], t, NULL, NULL, NULL, t, root,
                MPI_COMM_WORLD);
  record_type_free(t);
  free(counts);
  return 0;
}
#endif

int cs_dist_allgather_rows(const cs_dist_t *d, void *buf, size_t row_bytes,
                           const int64_t *offsets) {
#ifdef CS_HAVE_MPI
  if (is_multi(d) && row_bytes > 0)
    return rows_exchange(d, buf, row_bytes, offsets, -1);
#endif
  (void)d;
  (void)buf;
  (void)row_bytes;
  (void)offsets;
  return 0;
}

int cs_dist_gather_rows(const cs_dist_t *d, void *buf, size_t row_bytes,
                        const int64_t *offsets, int root) {
#ifdef CS_HAVE_MPI
  if (is_multi(d) && row_bytes > 0)
    return rows_exchange(d, buf, row_bytes, offsets, root);
#endif
  (void)d;
  (void)buf;
  (void)row_bytes;
  (void)offsets;
  (void)root;
  return 0;
}

int cs_dist_alltoallv(const cs_dist_t *d, const void *send,
                      const int64_t *send_counts, size_t rec_bytes,
                      void **recv, int64_t *recv_counts) {
  *recv = NULL;
#ifdef CS_HAVE_MPI
  if (is_multi(d)) {
    int P = d->size;
    int *ints = malloc(4 * (size_t)P * sizeof(int));
    if (!ints) return CS_ENOMEM;
    int *sc = ints, *sd = ints + P, *rcnt = ints + 2 * P, *rd = ints + 3 * P;
    int64_t at = 0;
    for (int q = 0; q < P; q++) {
      if (send_counts[q] > INT_MAX || at > INT_MAX) {
        free(ints);
        return CS_ETOOBIG;
      }
      sc[q] = (int)send_counts[q];
      sd[q] = (int)at;
      at += send_counts[q];
    }
    MPI_Alltoall(sc, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD);
    int64_t total = 0;
    for (int q = 0; q < P; q++) {
      if (total > INT_MAX) {
        free(ints);
        return CS_ETOOBIG;
      }
      rd[q] = (int)total;
      recv_counts[q] = rcnt[q];
      total += rcnt[q];
    }
    *recv = malloc((size_t)(total > 0 ? total : 1) * rec_bytes);
    if (!*recv) {
      free(ints);
      return CS_ENOMEM;
    }
    MPI_Datatype t = record_type(rec_bytes);
    MPI_Alltoallv(send, sc, sd, t, *recv, rcnt, rd, t, MPI_COMM_WORLD);
    record_type_free(t);
    free(ints);
    return 0;
  }
#endif
  (void)d;
  *recv = malloc((size_t)(send_counts[0] > 0 ? send_counts[0] : 1) * rec_bytes);
  if (!*recv) return CS_ENOMEM;
  memcpy(*recv, send, (size_t)send_counts[0] * rec_bytes);
  recv_counts[0] = send_counts[0];
  return 0;
}

/* ------------------------------------------------------- ordered sums */

/* out[j] = sum over blocks in order of blocks[b * stride + j], j < width. */
#define ORDERED_SUM(T, name)                                                  \
  static void name(const T *blocks, int64_t n_blocks, int64_t stride,        \
                   int64_t width, T *out) {                                   \
    for (int64_t j = 0; j < width; j++) out[j] = 0;                           \
    for (int64_t b = 0; b < n_blocks; b++) {                                  \
      const T *x = blocks + b * stride;                                       \
      for (int64_t j = 0; j < width; j++) out[j] += x[j];                     \
    }                                                                         \
  }
ORDERED_SUM(double, ordered_sum_d)
ORDERED_SUM(float, ordered_sum_f)

#ifdef CS_HAVE_MPI
/* The MPI path of both sum_blocks: small totals gather every block
 * everywhere; large ones gather column segment q of every block on rank
 * q, which sums it, then share the sums. Both add in block order. */
static int sum_blocks_mpi(const cs_dist_t *d, const void *mine,
                          int64_t n_blocks, int64_t len, size_t esize,
                          MPI_Datatype t, void *out, int is_double) {
  const int P = d->size;
  int64_t *boff = malloc(2 * ((size_t)P + 1) * sizeof(int64_t));
  int *ints = malloc(4 * (size_t)P * sizeof(int));
  void *tmp = NULL;
  int rc = 0;
  if (!boff || !ints) {
    rc = CS_ENOMEM;
    goto done;
  }
  int64_t *coff = boff + P + 1;
  cs_dist_offsets(n_blocks, 1, P, boff);
  cs_dist_offsets(len, 1, P, coff);
  int64_t my_nb = boff[d->rank + 1] - boff[d->rank];
  if (n_blocks * len <= 65536) {
    tmp = malloc((size_t)(n_blocks * len + 1) * esize);
    if (!tmp) {
      rc = CS_ENOMEM;
      goto done;
    }
    int *counts = ints, *displs = ints + P;
    for (int r = 0; r < P; r++) {
      counts[r] = (int)((boff[r + 1] - boff[r]) * len);
      displs[r] = (int)(boff[r] * len);
    }
    MPI_Allgatherv(mine, counts[d->rank], t, tmp, counts, displs, t,
                   MPI_COMM_WORLD);
    if (is_double)
      ordered_sum_d(tmp, n_blocks, len, len, out);
    else
      ordered_sum_f(tmp, n_blocks, len, len, out);
    goto done;
  }
  /* send: for each destination q, segment q of each of my blocks */
  int64_t my_w = coff[d->rank + 1] - coff[d->rank];
  size_t send_n = (size_t)(my_nb * len), recv_n = (size_t)(n_blocks * my_w);
  tmp = malloc((send_n + recv_n + 1) * esize);
  if (!tmp) {
    rc = CS_ENOMEM;
    goto done;
  }
  char *send = tmp, *recv = (char *)tmp + send_n * esize;
  int *sc = ints, *sd = ints + P, *rcn = ints + 2 * P, *rd = ints + 3 * P;
  int64_t at = 0, rat = 0;
  for (int q = 0; q < P; q++) {
    int64_t w = coff[q + 1] - coff[q];
    if (my_nb * w > INT_MAX || at > INT_MAX) {
      rc = CS_ETOOBIG;
      goto done;
    }
    sc[q] = (int)(my_nb * w);
    sd[q] = (int)at;
    for (int64_t b = 0; b < my_nb; b++) {
      memcpy(send + (size_t)at * esize,
             (const char *)mine + (size_t)(b * len + coff[q]) * esize,
             (size_t)w * esize);
      at += w;
    }
    int64_t nb_q = boff[q + 1] - boff[q];
    rcn[q] = (int)(nb_q * my_w);
    rd[q] = (int)rat;
    rat += nb_q * my_w;
  }
  MPI_Alltoallv(send, sc, sd, t, recv, rcn, rd, t, MPI_COMM_WORLD);
  /* recv: blocks in global order, my_w values each */
  char *seg = (char *)out + (size_t)coff[d->rank] * esize;
  if (is_double)
    ordered_sum_d((const double *)recv, n_blocks, my_w, my_w, (double *)seg);
  else
    ordered_sum_f((const float *)recv, n_blocks, my_w, my_w, (float *)seg);
  for (int q = 0; q < P; q++) {
    rcn[q] = (int)(coff[q + 1] - coff[q]);
    rd[q] = (int)coff[q];
  }
  MPI_Allgatherv(MPI_IN_PLACE, 0, t, out, rcn, rd, t, MPI_COMM_WORLD);
done:
  free(boff);
  free(ints);
  free(tmp);
  return rc;
}
#endif

int cs_dist_sum_blocks(const cs_dist_t *d, const double *mine,
                       int64_t n_blocks, int64_t len, double *out) {
#ifdef CS_HAVE_MPI
  if (is_multi(d))
    return sum_blocks_mpi(d, mine, n_blocks, len, sizeof(double), MPI_DOUBLE,
                          out, 1);
#endif
  (void)d;
  ordered_sum_d(mine, n_blocks, len, len, out);
  return 0;
}

int cs_dist_sum_blocks_f(const cs_dist_t *d, const float *mine,
                         int64_t n_blocks, int64_t len, float *out) {
#ifdef CS_HAVE_MPI
  if (is_multi(d))
    return sum_blocks_mpi(d, mine, n_blocks, len, sizeof(float), MPI_FLOAT,
                          out, 0);
#endif
  (void)d;
  ordered_sum_f(mine, n_blocks, len, len, out);
  return 0;
}

/* ------------------------------------------------------------- status */

int cs_dist_agree(const cs_dist_t *d, int rc, cs_err_t *err) {
#ifdef CS_HAVE_MPI
  if (is_multi(d)) {
    int *all = malloc((size_t)d->size * sizeof(int));
    if (!all) {
      /* no room to learn who failed: stop the job rather than hang */
      fprintf(stderr, "coldstart: rank %d: out of memory in a status "
              "exchange\n", d->rank);
      MPI_Abort(MPI_COMM_WORLD, 1);
      return CS_ENOMEM;
    }
    MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    int failed = -1;
    for (int r = 0; r < d->size && failed < 0; r++)
      if (all[r] != 0) failed = r;
    int code = failed >= 0 ? all[failed] : 0;
    free(all);
    if (failed < 0) return 0;
    cs_err_t local;
    cs_err_t *e = err ? err : &local;
    if (d->rank == failed && e->code != code) e->code = code;
    char msg[sizeof e->msg];
    memcpy(msg, e->msg, sizeof msg);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, failed, MPI_COMM_WORLD);
    msg[sizeof msg - 1] = '\0';
    if (d->rank != failed)
      cs_err_set(e, code, "rank %d: %s", failed, msg);
    g_failure_agreed = 1;
    return code;
  }
#endif
  (void)d;
  (void)err;
  return rc;
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
    rc = cs_err_set(err, CS_EINTERNAL, "CS_TEST_FAIL_RANK: failing at stage "
                    "'%s'", stage);
  return cs_dist_agree(d, rc, err);
}

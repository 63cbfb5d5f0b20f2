/* dist_mpi.c: the MPI message layer of coldstart/dist.h: joining and
 * leaving the world, and the primitives of src/dist/dist_internal.h over
 * MPI_COMM_WORLD. The only file that includes <mpi.h>; linked into the
 * programs that run as ranks (not into libcoldstart). Built without MPI
 * (no CS_HAVE_MPI) it only knows the one-process world. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/dist.h"
#include "dist/dist_internal.h"

#ifdef CS_HAVE_MPI
#include <mpi.h>

int cs_dist_built_with_mpi(void) { return 1; }

/* What this rank moved (bytes it sent and received, as the collective's
 * payload: a tree or ring moves about as much per rank) and the time it
 * spent inside collectives (waiting for the slowest rank included):
 * printed at the end when CS_DIST_TRAFFIC is set (bench/scale.sh). */
static struct {
  int64_t calls;
  double sent, received, seconds;
} g_traffic;

#define TRAFFIC_BEGIN double t_begin_ = MPI_Wtime()
#define TRAFFIC_END(sent_bytes, recv_bytes)                                  \
  do {                                                                       \
    g_traffic.calls++;                                                       \
    g_traffic.sent += (double)(sent_bytes);                                  \
    g_traffic.received += (double)(recv_bytes);                              \
    g_traffic.seconds += MPI_Wtime() - t_begin_;                             \
  } while (0)
static int g_rank_for_traffic;

#define CHUNK ((int64_t)1 << 28)

/* A contiguous datatype of `bytes` (MPI_BYTE for one), committed. */
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

static int op_barrier(void) {
  TRAFFIC_BEGIN;
  MPI_Barrier(MPI_COMM_WORLD);
  TRAFFIC_END(0, 0);
  return 0;
}

static int op_bcast(void *buf, size_t bytes, int root) {
  TRAFFIC_BEGIN;
  for (size_t at = 0; at < bytes; at += (size_t)CHUNK) {
    size_t n = bytes - at < (size_t)CHUNK ? bytes - at : (size_t)CHUNK;
    MPI_Bcast((char *)buf + at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
  }
  int me = g_rank_for_traffic;
  TRAFFIC_END(me == root ? bytes : 0, me == root ? 0 : bytes);
  return 0;
}

static int op_allreduce(void *v, int64_t n, int type, int op) {
  MPI_Datatype t = type == CS__DIST_I64 ? MPI_INT64_T : MPI_DOUBLE;
  MPI_Op o = op == CS__DIST_SUM ? MPI_SUM : op == CS__DIST_MAX ? MPI_MAX
                                                               : MPI_MIN;
  size_t esize = type == CS__DIST_I64 ? sizeof(int64_t) : sizeof(double);
  TRAFFIC_BEGIN;
  for (int64_t at = 0; at < n; at += CHUNK) {
    int64_t m = n - at < CHUNK ? n - at : CHUNK;
    MPI_Allreduce(MPI_IN_PLACE, (char *)v + (size_t)at * esize, (int)m, t, o,
                  MPI_COMM_WORLD);
  }
  TRAFFIC_END((size_t)n * esize, (size_t)n * esize);
  return 0;
}

static void op_stop_job(const char *why) {
  fprintf(stderr, "coldstart: rank %d: %s; stopping every rank\n",
          g_rank_for_traffic, why);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  _exit(1); /* MPI_Abort does not return; if it did, this rank stops */
}

/* int counts and displacements (in records) of offsets; CS_ETOOBIG when
 * one does not fit. */
static int to_ints(int size, const int64_t *counts, int *c, int *displ) {
  int64_t at = 0;
  for (int r = 0; r < size; r++) {
    if (counts[r] < 0 || counts[r] > INT_MAX || at > INT_MAX)
      op_stop_job("a message of more than 2^31 records (MPI's int count)");
    c[r] = (int)counts[r];
    displ[r] = (int)at;
    at += counts[r];
  }
  return 0;
}

static int op_rows(const cs_dist_t *d, const void *send, void *buf,
                   size_t row_bytes, const int64_t *off, int root) {
  int P = d->size;
  int64_t *cnt = malloc((size_t)P * sizeof *cnt);
  int *ints = malloc(2 * (size_t)P * sizeof *ints);
  if (!cnt || !ints) op_stop_job("out of memory inside a collective");
  for (int r = 0; r < P; r++) cnt[r] = off[r + 1] - off[r];
  int *c = ints, *displ = ints + P;
  int rc = to_ints(P, cnt, c, displ);
  if (!rc) {
    TRAFFIC_BEGIN;
    MPI_Datatype t = record_type(row_bytes);
    const void *mine = send ? send
                            : (const char *)buf + (size_t)displ[d->rank] * row_bytes;
    if (root < 0 && !send)
      MPI_Allgatherv(MPI_IN_PLACE, 0, t, buf, c, displ, t, MPI_COMM_WORLD);
    else if (root < 0)
      MPI_Allgatherv(mine, c[d->rank], t, buf, c, displ, t, MPI_COMM_WORLD);
    else if (d->rank == root && !send)
      MPI_Gatherv(MPI_IN_PLACE, 0, t, buf, c, displ, t, root, MPI_COMM_WORLD);
    else if (d->rank == root)
      MPI_Gatherv(mine, c[d->rank], t, buf, c, displ, t, root, MPI_COMM_WORLD);
    else
      MPI_Gatherv(mine, c[d->rank], t, NULL, NULL, NULL, t, root,
                  MPI_COMM_WORLD);
    record_type_free(t);
    double mine_b = (double)cnt[d->rank] * (double)row_bytes;
    double all_b = (double)(off[P] - off[0]) * (double)row_bytes;
    TRAFFIC_END(root < 0 || d->rank != root ? mine_b : 0,
                root < 0 || d->rank == root ? all_b - mine_b : 0);
  }
  free(cnt);
  free(ints);
  return rc;
}

static int op_alltoall_i64(const cs_dist_t *d, const int64_t *send,
                           int64_t *recv) {
  TRAFFIC_BEGIN;
  MPI_Alltoall(send, 1, MPI_INT64_T, recv, 1, MPI_INT64_T, MPI_COMM_WORLD);
  TRAFFIC_END((size_t)(d->size - 1) * 8, (size_t)(d->size - 1) * 8);
  return 0;
}

static int op_alltoallv(const cs_dist_t *d, const void *send,
                        const int64_t *send_counts, void *recv,
                        const int64_t *recv_counts, size_t rec_bytes) {
  int P = d->size;
  int *ints = malloc(4 * (size_t)P * sizeof *ints);
  if (!ints) op_stop_job("out of memory inside a collective");
  int *sc = ints, *sd = ints + P, *rcn = ints + 2 * P, *rd = ints + 3 * P;
  int rc = to_ints(P, send_counts, sc, sd);
  if (!rc) rc = to_ints(P, recv_counts, rcn, rd);
  if (!rc) {
    TRAFFIC_BEGIN;
    MPI_Datatype t = record_type(rec_bytes);
    MPI_Alltoallv(send, sc, sd, t, recv, rcn, rd, t, MPI_COMM_WORLD);
    record_type_free(t);
    double out_b = 0, in_b = 0;
    for (int q = 0; q < P; q++)
      if (q != d->rank) {
        out_b += (double)send_counts[q] * (double)rec_bytes;
        in_b += (double)recv_counts[q] * (double)rec_bytes;
      }
    TRAFFIC_END(out_b, in_b);
  }
  free(ints);
  return rc;
}

static void op_traffic(double out[4]) {
  out[0] = (double)g_traffic.calls;
  out[1] = g_traffic.sent;
  out[2] = g_traffic.received;
  out[3] = g_traffic.seconds;
}


static void enomem_stop(const char *msg) {
  char why[1200];
  snprintf(why, sizeof why, "%s (out of memory)", msg);
  op_stop_job(why);
}

static const struct cs_dist_ops mpi_ops = {
    op_barrier, op_bcast,  op_allreduce, op_rows, op_alltoall_i64,
    op_alltoallv, op_traffic, op_stop_job};

int cs_dist_init(cs_dist_t *d, int *argc, char ***argv, cs_err_t *err) {
  *d = cs_dist_one;
  cs__dist_reset();
  if (!cs_dist_launched()) return 0;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return cs_err_set(err, CS_EINTERNAL, "MPI_Init_thread failed");
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank,
                      MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &d->local_size);
  MPI_Comm_free(&local);
  d->mpi = 1;
  d->ops = &mpi_ops;
  g_rank_for_traffic = d->rank;
  cs__dist_install_signals(d->rank);
  if (d->size > 1) cs_err_set_enomem_hook(enomem_stop);
  return 0;
}

int cs_dist_finalize(cs_dist_t *d, int status) {
  if (!d || !d->mpi) return status;
  const char *tr = getenv("CS_DIST_TRAFFIC");
  if (tr && *tr && d->size > 1)
    fprintf(stderr, "coldstart: rank %d traffic: %lld collectives, %.1f MB "
            "sent, %.1f MB received, %.3f s inside collectives\n", d->rank,
            (long long)g_traffic.calls, g_traffic.sent / 1e6,
            g_traffic.received / 1e6, g_traffic.seconds);
  fflush(stdout);
  fflush(stderr);
  if (status != 0 && !cs_dist_failure_agreed()) {
    /* failed alone: the others may wait in a collective forever */
    MPI_Abort(MPI_COMM_WORLD, status);
    return status;
  }
  if (status != 0) MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  d->mpi = 0;
  d->ops = NULL;
  return status;
}

#else /* built without MPI */

int cs_dist_built_with_mpi(void) { return 0; }

int cs_dist_init(cs_dist_t *d, int *argc, char ***argv, cs_err_t *err) {
  (void)argc;
  (void)argv;
  *d = cs_dist_one;
  cs__dist_reset();
  if (!cs_dist_launched()) return 0;
  return cs_err_set(err, CS_EUNSUPPORTED,
                    "launched by an MPI launcher (mpirun) but this coldstart "
                    "was built without MPI: every rank would run the whole "
                    "job alone (install libopenmpi-dev and rebuild)");
}

int cs_dist_finalize(cs_dist_t *d, int status) {
  (void)d;
  return status;
}

#endif

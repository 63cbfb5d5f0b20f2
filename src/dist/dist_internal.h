/* dist_internal.h: the message layer under coldstart/dist.h: the handful of
 * primitives src/dist/dist.c builds every collective from, implemented over
 * MPI by src/dist/dist_mpi.c (the only file that includes <mpi.h>). */
#ifndef COLDSTART_DIST_INTERNAL_H
#define COLDSTART_DIST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "coldstart/dist.h"

enum { CS__DIST_I64 = 0, CS__DIST_F64 = 1 };
enum { CS__DIST_SUM = 0, CS__DIST_MAX = 1, CS__DIST_MIN = 2 };

/* Each returns 0, CS_ENOMEM or CS_ETOOBIG (a count MPI's int cannot
 * carry); MPI's own errors abort the job. */
struct cs_dist_ops {
  int (*barrier)(void);
  int (*bcast)(void *buf, size_t bytes, int root);
  /* in place over every rank; type CS__DIST_*, op CS__DIST_SUM/MAX/MIN */
  int (*allreduce)(void *v, int64_t n, int type, int op);
  /* buf holds rows [off[0], off[size]) of row_bytes; rank r has filled
   * [off[r], off[r + 1]) (or, with send != NULL, holds them there);
   * afterwards every rank (root < 0) or root has all in buf (a non-root
   * rank with send != NULL may pass buf NULL to a gather) */
  int (*rows)(const cs_dist_t *d, const void *send, void *buf,
              size_t row_bytes, const int64_t *off, int root);
  /* send[q] goes to rank q; recv[q] came from rank q */
  int (*alltoall_i64)(const cs_dist_t *d, const int64_t *send, int64_t *recv);
  /* records by destination / by source, counts known on both sides */
  int (*alltoallv)(const cs_dist_t *d, const void *send,
                   const int64_t *send_counts, void *recv,
                   const int64_t *recv_counts, size_t rec_bytes);
  /* what this rank moved so far: {collectives, bytes sent, bytes
   * received, seconds inside collectives} */
  void (*traffic)(double out[4]);
  /* stop every rank now, with this rank's message (no return): for a
   * failure inside a collective, where the others cannot be told */
  void (*stop_job)(const char *why);
};

/* Installed by the message layer once the rank is known: SIGTERM/SIGINT
 * remove the guarded output's temp file and name the stopped rank. */
void cs__dist_install_signals(int rank);
/* Reset the agreed-failure flag (a fresh world). */
void cs__dist_reset(void);

#endif

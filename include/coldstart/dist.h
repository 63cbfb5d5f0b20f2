/* dist.h: the group of processes a run belongs to, and the few collectives
 * the offline stages (prepare, train, evaluate) reduce with (docs/mpi.md).
 *
 * Under `mpirun -np N coldstart ...` the group is MPI's world of N ranks;
 * otherwise (no mpirun, or a build without MPI) it is a world of one
 * process where every collective is a copy or a no-op, so the library and
 * its tests never need an MPI runtime.
 *
 * Determinism: every reduction here has an order that does not depend on N.
 * Integer sums and max/min are exact. Floating-point sums go through
 * cs_dist_sum_blocks: the work is cut into blocks whose number and content
 * do not depend on N (rank r computes blocks [lo_r, hi_r) of them), and the
 * blocks are added in block order whatever rank computed them; or through
 * the fixed-point helpers below (integer sums: any order gives the same
 * bits). A stage built from those gives the same bytes for any N.
 *
 * Only the main thread calls these (MPI is initialized FUNNELED). Every
 * collective must be entered by every rank, in the same order. MPI errors
 * abort the job (MPI's default handler), so the collectives return 0 or
 * CS_ENOMEM / CS_ETOOBIG for what is checked before any message moves. */
#ifndef COLDSTART_DIST_H
#define COLDSTART_DIST_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "coldstart/ctx.h"
#include "coldstart/error.h"

struct cs_dist_ops;

typedef struct cs_dist {
  int rank;       /* 0 .. size-1; rank 0 writes the output files */
  int size;       /* >= 1 */
  int local_size; /* ranks on this machine (they share its cores) */
  int mpi;        /* 1 when MPI was initialized by cs_dist_init */
  const struct cs_dist_ops *ops; /* the message layer (src/dist/dist_mpi.c);
                                    NULL in the one-process world */
} cs_dist_t;

/* The world of one process; what a NULL ctx->dist means. */
extern const cs_dist_t cs_dist_one;

static inline const cs_dist_t *cs_dist_of(const cs_ctx_t *ctx) {
  return ctx && ctx->dist ? ctx->dist : &cs_dist_one;
}
static inline int cs_dist_is_root(const cs_dist_t *d) {
  return !d || d->rank == 0;
}

/* 1 when the environment says a launcher started this process as one rank
 * of several (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set). */
int cs_dist_launched(void);

/* The library itself never references MPI: programs that run as ranks
 * (the coldstart program, the distributed tests) also link
 * src/dist/dist_mpi.c, which defines cs_dist_init, cs_dist_finalize and
 * cs_dist_built_with_mpi and plugs the MPI message layer into the world.
 *
 * 1 when that layer was built with MPI. */
int cs_dist_built_with_mpi(void);
/* Join the world: MPI_Init_thread when launched under mpirun (see
 * cs_dist_launched; a plain run never starts MPI: its singleton init costs
 * ~0.4 s), else the one-process world. Under MPI, also installs a SIGTERM /
 * SIGINT handler that removes the temp file of the guarded output (below)
 * and says which rank was stopped: mpirun sends SIGTERM to the others when
 * a rank dies. Returns 0, or CS_EUNSUPPORTED when launched under mpirun by
 * a binary built without MPI (it would silently run N copies). */
int cs_dist_init(cs_dist_t *d, int *argc, char ***argv, cs_err_t *err);
/* Leave the world at the end of the program. status 0: MPI_Finalize.
 * Otherwise: when every rank knows about the failure (cs_dist_agree saw
 * it), a barrier then MPI_Finalize, so each exits with its own status;
 * when this rank failed alone (the others may be blocked in a collective),
 * MPI_Abort(status), which stops the whole job. Returns status. */
int cs_dist_finalize(cs_dist_t *d, int status);
/* 1 after cs_dist_agree returned a failure: every rank has it. */
int cs_dist_failure_agreed(void);

/* The output file rank 0 is about to write atomically: if the process is
 * terminated by a signal before it commits, the handler removes its temp
 * file ("<path>.tmp.<pid>", include/coldstart/io.h's naming), so a job
 * killed mid-write leaves nothing behind. NULL: no guard. */
void cs_dist_guard_output(const char *path);

/* ---------------------------------------------------------- partitions */

/* Items [*lo, *hi) of rank r when n items are split into `size` contiguous
 * ranges of near-equal length (the first n % size ranks get one more). */
static inline void cs_dist_part(int64_t n, int rank, int size, int64_t *lo,
                                int64_t *hi) {
  int64_t base = n / size, extra = n % size;
  *lo = rank * base + (rank < extra ? rank : extra);
  *hi = *lo + base + (rank < extra ? 1 : 0);
}

/* The same over whole blocks: n items in blocks of `block` (the last one
 * shorter), the blocks split as cs_dist_part splits items; [*lo, *hi) are
 * item indices. */
static inline void cs_dist_part_blocks(int64_t n, int64_t block, int rank,
                                       int size, int64_t *lo, int64_t *hi) {
  int64_t nb = (n + block - 1) / block, blo, bhi;
  cs_dist_part(nb, rank, size, &blo, &bhi);
  *lo = blo * block < n ? blo * block : n;
  *hi = bhi * block < n ? bhi * block : n;
}

/* The rank whose cs_dist_part range holds item i of n. */
static inline int cs_dist_owner(int64_t n, int size, int64_t i) {
  int64_t base = n / size, extra = n % size, cut = extra * (base + 1);
  return i < cut ? (int)(i / (base + 1)) : (int)(extra + (i - cut) / base);
}

/* offsets[size + 1]: offsets[r] = the first item of rank r under
 * cs_dist_part_blocks (block 1 = cs_dist_part). */
void cs_dist_offsets(int64_t n, int64_t block, int size, int64_t *offsets);

/* --------------------------------------------------------- collectives */

int cs_dist_barrier(const cs_dist_t *d);
/* buf[bytes] from rank `root` to every rank. */
int cs_dist_bcast(const cs_dist_t *d, void *buf, size_t bytes, int root);
/* In place, every rank gets the element-wise result (exact). */
int cs_dist_sum_i64(const cs_dist_t *d, int64_t *v, int64_t n);
int cs_dist_max_f64(const cs_dist_t *d, double *v, int64_t n);
int cs_dist_min_f64(const cs_dist_t *d, double *v, int64_t n);
/* all[size] = every rank's `mine`, in rank order. */
int cs_dist_allgather_i64(const cs_dist_t *d, int64_t mine, int64_t *all);

/* buf holds rows [offsets[0], offsets[size]) of row_bytes each; rank r has
 * filled rows [offsets[r], offsets[r + 1]). After the call every rank
 * (allgather) or rank `root` (gather) has all of them. */
int cs_dist_allgather_rows(const cs_dist_t *d, void *buf, size_t row_bytes,
                           const int64_t *offsets);
int cs_dist_gather_rows(const cs_dist_t *d, void *buf, size_t row_bytes,
                        const int64_t *offsets, int root);

/* The same gather with this rank's rows in `mine` (not inside out): only
 * root needs `out` (all rows); the others may pass NULL. One process:
 * mine is copied to out (when they differ). */
int cs_dist_gather_rows_from(const cs_dist_t *d, const void *mine,
                             void *out, size_t row_bytes,
                             const int64_t *offsets, int root);

/* Rows scattered over the ranks: rank r holds counts[r] rows (`mine`,
 * contiguous) whose places in `out` are dest[c_r + j], c_r = counts of the
 * ranks before r (every rank passes every rank's counts and dest). Every
 * rank (root < 0) or rank root ends with out[dest[i]] = row i, for all
 * rows. Rounds of at most ~64 MB per rank. */
int cs_dist_gather_scatter(const cs_dist_t *d, const void *mine,
                           size_t row_bytes, const int64_t *counts,
                           const int64_t *dest, void *out, int root);

/* The ordered sum of n_blocks vectors of len values: block b (0-based, over
 * all ranks) is computed by the rank whose cs_dist_part(n_blocks) range
 * holds it; `mine` holds this rank's blocks in order ([hi - lo][len]).
 * out[len] (every rank) = ((block_0 + block_1) + block_2) + ..., added in
 * that order in the type of the values: the same bits for any N. n_blocks
 * 0 gives zeros. Moves about (n_blocks / N + 1) * len values per rank. */
int cs_dist_sum_blocks(const cs_dist_t *d, const double *mine,
                       int64_t n_blocks, int64_t len, double *out);
int cs_dist_sum_blocks_f(const cs_dist_t *d, const float *mine,
                         int64_t n_blocks, int64_t len, float *out);

/* Personalized exchange: send_counts[q] records of rec_bytes go to rank q
 * (send holds them by destination, rank order). *recv (malloc'ed, owned by
 * the caller, never NULL on success) gets what every rank sent here, by
 * source rank order; recv_counts[q] = records from rank q. */
int cs_dist_alltoallv(const cs_dist_t *d, const void *send,
                      const int64_t *send_counts, size_t rec_bytes,
                      void **recv, int64_t *recv_counts);

/* The status of a stage on every rank: returns 0 when rc == 0 everywhere;
 * otherwise the code of the lowest failing rank, whose message every rank
 * gets in *err ("rank R: ..." on the others). One small collective. */
int cs_dist_agree(const cs_dist_t *d, int rc, cs_err_t *err);

/* Test hooks (docs/mpi.md), read from the environment at each stage
 * boundary: CS_TEST_DIE_RANK=R with CS_TEST_DIE_STAGE=NAME makes rank R
 * print a line and _exit(3) there (a rank that dies); CS_TEST_FAIL_RANK /
 * CS_TEST_FAIL_STAGE make it return CS_EINTERNAL instead (a rank that
 * fails). Then cs_dist_agree. Returns 0 or the agreed failure. */
int cs_dist_stage(const cs_ctx_t *ctx, const char *stage, int rc,
                  cs_err_t *err);

/* ------------------------------------------------- fixed-point sums */

/* Exact, order-free sums of doubles: each term becomes an int64 count of
 * 2^-scale units (rounded to nearest), integers are added (associative:
 * any partition, any order, the same bits), and the total converts back.
 * cs_fixed_scale gives the largest scale for which n_terms terms of
 * magnitude <= max_abs cannot overflow; the scale must be the same on
 * every rank (max_abs from cs_dist_max_f64). Precision: 2^-scale per term
 * (about 1e-13 for 70,000 unit-bounded terms). */
int cs_fixed_scale(double max_abs, int64_t n_terms);
static inline int64_t cs_fixed_from(double x, int scale) {
  return (int64_t)llrint(ldexp(x, scale));
}
static inline double cs_fixed_to(int64_t v, int scale) {
  return ldexp((double)v, -scale);
}

#endif

/* error.h: the one error table (code, name, message, exit status, HTTP status)
 * and the caller-supplied error context that carries file/line/value details. */
#ifndef COLDSTART_ERROR_H
#define COLDSTART_ERROR_H

#include <stddef.h>

/* X(NAME, value, message, cli_exit_status, http_status) */
#define CS_ERRNO_MAP(X)                                                        \
  X(OK, 0, "success", 0, 200)                                                 \
  X(EINVAL, -1, "invalid argument", 2, 400)                                   \
  X(EUSAGE, -2, "bad command-line usage", 2, 400)                             \
  X(ENOMEM, -3, "out of memory", 1, 503)                                      \
  X(EIO, -4, "input/output error", 74, 500)                                   \
  X(EFORMAT, -5, "malformed input", 65, 400)                                  \
  X(ECORRUPT, -6, "corrupted file (checksum mismatch)", 65, 500)              \
  X(ETRUNC, -7, "truncated file", 65, 500)                                    \
  X(EVERSION, -8, "unsupported file version", 65, 500)                        \
  X(ENOTFOUND, -9, "not found", 66, 404)                                      \
  X(EUNSUPPORTED, -10, "unsupported feature", 69, 501)                        \
  X(ERANGE, -11, "value out of range", 65, 400)                               \
  X(ESTATE, -12, "operation not valid in this state", 70, 409)                \
  X(ETOOBIG, -13, "input too large", 65, 413)                                 \
  X(EINTERNAL, -14, "internal error", 70, 500)

typedef enum {
#define CS__ERR_ENUM(name, value, msg, exit_status, http) CS_##name = value,
  CS_ERRNO_MAP(CS__ERR_ENUM)
#undef CS__ERR_ENUM
} cs_errcode_t;

/* Human message for a code ("malformed input"); never NULL. */
const char *cs_strerror(int code);
/* Symbolic name for a code ("EFORMAT"); never NULL. */
const char *cs_errname(int code);
/* Process exit status the CLI uses for a code (0 for CS_OK). */
int cs_error_exit_status(int code);
/* HTTP status the server uses for a code (200 for CS_OK). */
int cs_error_http_status(int code);

/* Caller-supplied error context. Functions that can fail take a
 * `cs_err_t *err` (may be NULL) and fill it with the details a user needs:
 * "events.tsv:1042: unknown action 'strem'". */
typedef struct cs_err {
  int code;       /* last error code, CS_OK when none */
  char msg[1024]; /* detail: file, line/offset, offending value */
} cs_err_t;

/* Clear an error context (code = CS_OK, msg = ""). NULL is fine. */
void cs_err_clear(cs_err_t *err);
/* Record `code` with a printf-style detail; returns `code` so callers can
 * write `return cs_err_set(err, CS_EFORMAT, "%s:%ld: ...", ...)`. */
int cs_err_set(cs_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A process-wide hook cs_err_set runs when it records CS_ENOMEM, with the
 * message (NULL: none, the default). The MPI layer installs one when
 * several ranks run: a rank short of memory cannot rejoin the collective
 * the others wait in, so it stops the whole job instead. */
void cs_err_set_enomem_hook(void (*hook)(const char *msg));
/* Prefix existing detail with more context ("loading model.cs: " + msg);
 * returns err->code (or `code` when err is NULL). */
int cs_err_prefix(cs_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/* error.c: cs_strerror and friends generated from the one error table, and
 * the caller-supplied error context. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coldstart/error.h"

typedef struct {
  int code;
  const char *name, *msg;
  int exit_status, http_status;
} err_entry_t;

static const err_entry_t err_table[] = {
#define CS__ERR_ROW(name, value, msg, exit_status, http) \
  {value, #name, msg, exit_status, http},
    CS_ERRNO_MAP(CS__ERR_ROW)
#undef CS__ERR_ROW
};

static const err_entry_t *find_entry(int code) {
  for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
    if (err_table[i].code == code) return &err_table[i];
  return NULL;
}

const char *cs_strerror(int code) {
  const err_entry_t *e = find_entry(code);
  return e ? e->msg : "unknown error";
}

const char *cs_errname(int code) {
  const err_entry_t *e = find_entry(code);
  return e ? e->name : "EUNKNOWN";
}

int cs_error_exit_status(int code) {
  const err_entry_t *e = find_entry(code);
  return e ? e->exit_status : 1;
}

int cs_error_http_status(int code) {
  const err_entry_t *e = find_entry(code);
  return e ? e->http_status : 500;
}

void cs_err_clear(cs_err_t *err) {
  if (!err) return;
  err->code = CS_OK;
  err->msg[0] = '\0';
}

static void (*g_enomem_hook)(const char *msg);

void cs_err_set_enomem_hook(void (*hook)(const char *msg)) { g_enomem_hook = hook; }

int cs_err_set(cs_err_t *err, int code, const char *fmt, ...) {
  if (!err && !(code == CS_ENOMEM && g_enomem_hook)) return code;
  cs_err_t local;
  cs_err_t *e = err ? err : &local;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  if (code == CS_ENOMEM && g_enomem_hook) g_enomem_hook(e->msg);
  return code;
}

int cs_err_prefix(cs_err_t *err, int code, const char *fmt, ...) {
  if (!err) return code;
  char prefix[512], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  if (err->code == CS_OK) err->code = code;
  size_t n_prefix = strlen(prefix), room = sizeof err->msg - 1;
  if (n_prefix > room) n_prefix = room;
  memcpy(err->msg, prefix, n_prefix);
  size_t n_old = strnlen(old, room - n_prefix);
  memcpy(err->msg + n_prefix, old, n_old);
  err->msg[n_prefix + n_old] = '\0';
  return err->code;
}

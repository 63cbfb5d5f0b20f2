/* served_model.c: the model the service answers from: copied out of the
 * file into a sealed memfd (so no later change to the file on disk, an
 * overwrite or a truncate, can reach the pages being served: a shared mmap
 * of the file itself turns those into SIGSEGV/SIGBUS), validated, smoke-
 * tested, and reference-counted for hot reload. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "coldstart/ctx.h"
#include "coldstart/serve.h"

/* Copy `fd` (size bytes) into a new sealed memfd; returns it or -1. */
static int private_copy(int fd, const char *path, int64_t size, cs_err_t *err) {
  int mfd = memfd_create("coldstart-model", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    cs_err_set(err, CS_EIO, "%s: memfd_create: %s", path, strerror(errno));
    return -1;
  }
  off_t off = 0;
  while (off < size) {
    ssize_t n = sendfile(mfd, fd, &off, (size_t)(size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
      /* no in-kernel copy here: read + write */
      char buf[1 << 16];
      ssize_t r = pread(fd, buf, sizeof buf, off);
      /* the memfd's own offset must follow `off`: pwrite at it */
      if (r > 0 && pwrite(mfd, buf, (size_t)r, off) == r) {
        off += r;
        continue;
      }
      n = r > 0 ? -1 : r; /* a short or failed write is an I/O error */
    }
    if (n <= 0) {
      cs_err_set(err, n == 0 ? CS_ETRUNC : CS_EIO,
                 "%s: %s after %lld of %lld bytes (file changed while loading?)",
                 path, n == 0 ? "ended" : strerror(errno), (long long)off,
                 (long long)size);
      close(mfd);
      return -1;
    }
  }
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    cs_err_set(err, CS_EIO, "%s: sealing the private copy: %s", path, strerror(errno));
    close(mfd);
    return -1;
  }
  return mfd;
}

/* Error messages name "/proc/self/fd/N": put the real path back. */
static void rename_in_message(cs_err_t *err, const char *from, const char *to) {
  if (!err) return;
  char *at = strstr(err->msg, from);
  if (!at) return;
  char out[sizeof err->msg];
  size_t n_head = (size_t)(at - err->msg), n_to = strlen(to);
  const char *rest = at + strlen(from);
  size_t n_rest = strlen(rest), room = sizeof out - 1, pos = 0;
  memcpy(out, err->msg, n_head);
  pos = n_head;
  if (n_to > room - pos) n_to = room - pos;
  memcpy(out + pos, to, n_to);
  pos += n_to;
  if (n_rest > room - pos) n_rest = room - pos;
  memcpy(out + pos, rest, n_rest);
  pos += n_rest;
  out[pos] = '\0';
  memcpy(err->msg, out, pos + 1);
}

static uint32_t section_table_crc(const cs_container_t *c) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint32_t i = 0; i < c->n_sections; i++) {
    const cs_container_section_t *s = &c->sections[i];
    unsigned char rec[CS_CONTAINER_NAME_MAX + 12];
    memset(rec, 0, sizeof rec);
    memcpy(rec, s->name, strnlen(s->name, CS_CONTAINER_NAME_MAX));
    for (int b = 0; b < 8; b++) rec[CS_CONTAINER_NAME_MAX + b] = (unsigned char)(s->size >> (8 * b));
    for (int b = 0; b < 4; b++) rec[CS_CONTAINER_NAME_MAX + 8 + b] = (unsigned char)(s->crc >> (8 * b));
    crc = crc32(crc, rec, sizeof rec);
  }
  return (uint32_t)crc;
}

/* One request through the whole path: the model must answer before it
 * serves anyone. */
static int smoke_test(const cs_model_t *m, const cs_handler_params_t *hp,
                      const char *path, cs_err_t *err) {
  cs_handler_params_t p = *hp;
  p.batch_max = 1;
  cs_handler_t *h = NULL;
  int rc = cs_handler_create(&h, m, &p, err);
  if (rc != CS_OK) return cs_err_prefix(err, rc, "%s: ", path);
  char body[64];
  size_t len;
  if (m->featurizer) {
    len = (size_t)snprintf(body, sizeof body, "{}");
    const char *out;
    size_t out_len;
    rc = cs_handler_recommend(h, body, len, &out, &out_len, err);
  } else {
    /* a features-only model: an all-zero feature row */
    char *big = malloc((size_t)m->n_features * 2 + 32);
    if (!big) rc = cs_err_set(err, CS_ENOMEM, "out of memory");
    if (big) {
      size_t pos = (size_t)sprintf(big, "{\"features\": [");
      for (int i = 0; i < m->n_features; i++) pos += (size_t)sprintf(big + pos, i ? ",0" : "0");
      pos += (size_t)sprintf(big + pos, "]}");
      const char *out;
      size_t out_len;
      rc = cs_handler_recommend(h, big, pos, &out, &out_len, err);
      free(big);
    }
  }
  cs_handler_free(h);
  if (rc != CS_OK) return cs_err_prefix(err, rc, "%s: smoke request failed: ", path);
  return CS_OK;
}

static double wall_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cs_served_model_load(cs_served_model_t **out, const char *path,
                         const cs_handler_params_t *hp, cs_err_t *err) {
  *out = NULL;
  double t0 = cs_now();
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return cs_err_set(err, e == ENOENT ? CS_ENOTFOUND : CS_EIO, "%s: cannot open: %s",
                      path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cs_err_set(err, CS_EINVAL, "%s: not a regular file", path);
  }
  if (st.st_size == 0) {
    close(fd);
    return cs_err_set(err, CS_ETRUNC, "%s: empty file", path);
  }
  int mfd = private_copy(fd, path, (int64_t)st.st_size, err);
  close(fd);
  if (mfd < 0) return err ? err->code : CS_EIO;
  cs_served_model_t *m = calloc(1, sizeof *m);
  if (!m) {
    close(mfd);
    return cs_err_set(err, CS_ENOMEM, "out of memory");
  }
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", mfd);
  int rc = cs_model_load(&m->model, proc, err);
  close(mfd); /* the map keeps the pages */
  if (rc != CS_OK) {
    rename_in_message(err, proc, path);
    free(m);
    return rc;
  }
  cs_regressor_set_half(m->model.regressor, hp->half);
  rc = smoke_test(&m->model, hp, path, err);
  if (rc != CS_OK) {
    rename_in_message(err, proc, path);
    cs_model_free(&m->model);
    free(m);
    return rc;
  }
  snprintf(m->path, sizeof m->path, "%s", path);
  m->crc = m->model.file ? section_table_crc(m->model.file) : 0;
  m->file_bytes = (int64_t)st.st_size;
  m->loaded_at = wall_time();
  m->load_seconds = cs_now() - t0;
  atomic_store(&m->refs, 1);
  *out = m;
  return CS_OK;
}

cs_served_model_t *cs_served_model_retain(cs_served_model_t *m) {
  if (m) atomic_fetch_add(&m->refs, 1);
  return m;
}

void cs_served_model_release(cs_served_model_t *m) {
  if (!m) return;
  if (atomic_fetch_sub(&m->refs, 1) != 1) return;
  cs_model_free(&m->model);
  free(m);
}

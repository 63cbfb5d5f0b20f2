/* io.c: atomic file output (temp file in the same directory, fsync, rename)
 * and read-only whole-file mmap. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coldstart/io.h"

/* Remove "<path>.tmp.<pid>" files left by writers that died (their pid no
 * longer runs on this machine): a killed run must not leave megabytes
 * behind forever. Files of live writers are left alone. */
static void remove_stale_temps(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  const char *base = slash ? slash + 1 : path;
  size_t dlen = slash ? (size_t)(slash - path) : 1;
  if (dlen >= sizeof dir) return;
  if (slash) {
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    if (dlen == 0) strcpy(dir, "/");
  } else {
    strcpy(dir, ".");
  }
  DIR *d = opendir(dir);
  if (!d) return;
  size_t blen = strlen(base);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0)
      continue;
    char *end = NULL;
    long pid = strtol(n + blen + 5, &end, 10);
    if (!end || *end != '\0' || pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive */
    char stale[8192];
    int w = snprintf(stale, sizeof stale, "%s/%s", dir, n);
    if (w > 0 && (size_t)w < sizeof stale) unlink(stale);
  }
  closedir(d);
}

int cs_atomic_open(cs_atomic_file_t *af, const char *path, cs_err_t *err) {
  memset(af, 0, sizeof *af);
  remove_stale_temps(path);
  size_t len = strlen(path);
  af->path = malloc(len + 1);
  af->tmp_path = malloc(len + 32);
  if (!af->path || !af->tmp_path) {
    cs_atomic_abort(af);
    return cs_err_set(err, CS_ENOMEM, "%s: out of memory", path);
  }
  memcpy(af->path, path, len + 1);
  snprintf(af->tmp_path, len + 32, "%s.tmp.%ld", path, (long)getpid());
  af->fp = fopen(af->tmp_path, "wb");
  if (!af->fp) {
    int e = errno;
    cs_atomic_abort(af);
    return cs_err_set(err, e == ENOENT ? CS_ENOTFOUND : CS_EIO,
                      "%s: cannot create: %s", path, strerror(e));
  }
  return CS_OK;
}

int cs_atomic_write(cs_atomic_file_t *af, const void *data, size_t size,
                    cs_err_t *err) {
  if (size == 0) return CS_OK;
  if (fwrite(data, 1, size, af->fp) != size)
    return cs_err_set(err, CS_EIO, "%s: write failed: %s", af->path,
                      strerror(errno));
  return CS_OK;
}

int cs_atomic_commit(cs_atomic_file_t *af, cs_err_t *err) {
  int rc = CS_OK;
  if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
    rc = cs_err_set(err, CS_EIO, "%s: flush failed: %s", af->path,
                    strerror(errno));
  if (fclose(af->fp) != 0 && rc == CS_OK)
    rc = cs_err_set(err, CS_EIO, "%s: close failed: %s", af->path,
                    strerror(errno));
  af->fp = NULL;
  if (rc == CS_OK && rename(af->tmp_path, af->path) != 0)
    rc = cs_err_set(err, CS_EIO, "%s: rename failed: %s", af->path,
                    strerror(errno));
  if (rc != CS_OK) {
    cs_atomic_abort(af);
    return rc;
  }
  free(af->path);
  free(af->tmp_path);
  af->path = af->tmp_path = NULL;
  return CS_OK;
}

void cs_atomic_abort(cs_atomic_file_t *af) {
  if (!af) return;
  if (af->fp) fclose(af->fp);
  if (af->tmp_path) unlink(af->tmp_path);
  free(af->path);
  free(af->tmp_path);
  af->fp = NULL;
  af->path = af->tmp_path = NULL;
}

int cs_write_file_atomic(const char *path, const void *data, size_t size,
                         cs_err_t *err) {
  cs_atomic_file_t af;
  int rc = cs_atomic_open(&af, path, err);
  if (rc != CS_OK) return rc;
  rc = cs_atomic_write(&af, data, size, err);
  if (rc != CS_OK) {
    cs_atomic_abort(&af);
    return rc;
  }
  return cs_atomic_commit(&af, err);
}

int cs_mmap_open(cs_mmap_t *m, const char *path, cs_err_t *err) {
  m->data = NULL;
  m->size = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return cs_err_set(err, e == ENOENT ? CS_ENOTFOUND : CS_EIO,
                      "%s: cannot open: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return cs_err_set(err, CS_EIO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return cs_err_set(err, CS_EINVAL, "%s: not a regular file", path);
  }
  if (st.st_size == 0) {
    close(fd);
    m->data = (const unsigned char *)"";
    return CS_OK;
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED)
    return cs_err_set(err, CS_EIO, "%s: mmap failed: %s", path, strerror(e));
  m->data = p;
  m->size = (size_t)st.st_size;
  return CS_OK;
}

void cs_mmap_close(cs_mmap_t *m) {
  if (!m) return;
  if (m->data && m->size > 0) munmap((void *)m->data, m->size);
  m->data = NULL;
  m->size = 0;
}

int cs_mkdirs(const char *path, cs_err_t *err) {
  char buf[4096];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof buf)
    return cs_err_set(err, CS_EINVAL, "bad directory path '%s'", path);
  memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char saved = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return cs_err_set(err, CS_EIO, "%s: cannot create directory: %s", buf,
                          strerror(errno));
      buf[i] = saved;
    }
  }
  return CS_OK;
}

int cs_dir_nonempty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *de;
  int any = 0;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      any = 1;
      break;
    }
  closedir(d);
  return any;
}

int cs_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

int cs_path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

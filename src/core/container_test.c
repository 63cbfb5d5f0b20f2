/* container_test.c: tests for atomic files, mmap, the section container
 * (round trip, every flipped byte and every truncation rejected), the
 * parallel for and the progress reporter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "coldstart/container.h"
#include "coldstart/ctx.h"
#include "coldstart/io.h"

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/cs-container-test.XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void path_in_tmp(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int write_sample(const char *path, cs_err_t *err) {
  static float floats[1000];
  for (int i = 0; i < 1000; i++) floats[i] = (float)i * 0.5f;
  const char meta[] = "hello";
  cs_container_writer_t *w;
  int rc = cs_container_writer_create(&w, "dataset", 3, err);
  if (rc) return rc;
  rc = cs_container_add(w, "floats", floats, sizeof floats, err);
  if (!rc) rc = cs_container_add_copy(w, "meta", meta, sizeof meta, err);
  if (!rc) rc = cs_container_add(w, "empty", NULL, 0, err);
  if (!rc) rc = cs_container_writer_commit(w, path, err);
  cs_container_writer_free(w);
  return rc;
}

static void test_round_trip(void **state) {
  (void)state;
  char path[300];
  path_in_tmp(path, sizeof path, "a.cs");
  cs_err_t err;
  assert_int_equal(write_sample(path, &err), CS_OK);
  cs_container_t c;
  assert_int_equal(cs_container_open(&c, path, "dataset", &err), CS_OK);
  assert_string_equal(c.kind, "dataset");
  assert_int_equal(c.kind_version, 3);
  assert_int_equal(c.n_sections, 3);
  size_t size;
  const float *f = cs_container_get(&c, "floats", &size);
  assert_non_null(f);
  assert_int_equal(size, 4000);
  assert_true(((uintptr_t)f & 63) == 0);
  assert_true(f[999] == 499.5f);
  const void *m;
  assert_int_equal(cs_container_require(&c, "meta", 6, &m, NULL, &err), CS_OK);
  assert_string_equal((const char *)m, "hello");
  assert_int_equal(cs_container_require(&c, "meta", 7, &m, NULL, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "'meta'"));
  assert_int_equal(cs_container_require(&c, "nope", SIZE_MAX, &m, NULL, &err),
                   CS_EFORMAT);
  assert_null(cs_container_get(&c, "nope", NULL));
  cs_container_get(&c, "empty", &size);
  assert_int_equal(size, 0);
  cs_container_close(&c);
  /* wrong kind */
  assert_int_equal(cs_container_open(&c, path, "model", &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "expected a 'model' file"));
  /* duplicate names refused */
  cs_container_writer_t *w;
  assert_int_equal(cs_container_writer_create(&w, "x", 1, &err), CS_OK);
  assert_int_equal(cs_container_add_copy(w, "s", "a", 1, &err), CS_OK);
  assert_int_equal(cs_container_add_copy(w, "s", "b", 1, &err), CS_EINVAL);
  cs_container_writer_free(w);
}

/* A killed writer's temp file is removed by the next writer of the same
 * path; a live writer's, and other names, are kept. */
static void test_stale_temp_files_removed(void **state) {
  (void)state;
  char path[300], dead[400], live[400], other[400];
  path_in_tmp(path, sizeof path, "out.model");
  pid_t child = fork();
  if (child == 0) _exit(0);
  assert_true(child > 0);
  waitpid(child, NULL, 0); /* now a pid nobody runs */
  snprintf(dead, sizeof dead, "%s.tmp.%ld", path, (long)child);
  snprintf(live, sizeof live, "%s.tmp.%ld", path, (long)getppid());
  snprintf(other, sizeof other, "%s.tmp.notapid", path);
  cs_err_t err;
  const char junk[4096] = {0};
  assert_int_equal(cs_write_file_atomic(dead, junk, sizeof junk, &err), CS_OK);
  assert_int_equal(cs_write_file_atomic(live, junk, 1, &err), CS_OK);
  assert_int_equal(cs_write_file_atomic(other, junk, 1, &err), CS_OK);
  assert_int_equal(cs_write_file_atomic(path, "new", 3, &err), CS_OK);
  assert_false(cs_path_exists(dead));
  assert_true(cs_path_exists(live));
  assert_true(cs_path_exists(other));
  assert_true(cs_path_exists(path));
  unlink(live);
  unlink(other);
  unlink(path);
}

/* A forged file: valid checksums everywhere, but section 0 starts 8 bytes
 * later than the writer would put it. */
static void test_unaligned_section_is_refused(void **state) {
  (void)state;
  char path[300], bad[300];
  path_in_tmp(path, sizeof path, "u.cs");
  path_in_tmp(bad, sizeof bad, "u-bad.cs");
  cs_err_t err;
  assert_int_equal(write_sample(path, &err), CS_OK);
  cs_mmap_t m;
  assert_int_equal(cs_mmap_open(&m, path, &err), CS_OK);
  unsigned char *b = malloc(m.size);
  memcpy(b, m.data, m.size);
  size_t size = m.size;
  cs_mmap_close(&m);
  uint32_t n;
  uint64_t table, off, len;
  memcpy(&n, b + 12, 4);
  memcpy(&table, b + 40, 8);
  unsigned char *e = b + table; /* entry 0: name[48], offset, size, crc */
  memcpy(&off, e + 48, 8);
  memcpy(&len, e + 56, 8);
  off += 8;
  assert_true(off + len <= table);
  memcpy(e + 48, &off, 8);
  uint32_t crc = (uint32_t)crc32(0L, b + off, (uInt)len);
  memcpy(e + 64, &crc, 4);
  crc = (uint32_t)crc32(0L, b + table, (uInt)n * 72);
  memcpy(b + 48, &crc, 4);
  memset(b + 52, 0, 4);
  crc = (uint32_t)crc32(0L, b, 64);
  memcpy(b + 52, &crc, 4);
  assert_int_equal(cs_write_file_atomic(bad, b, size, &err), CS_OK);
  free(b);
  cs_container_t c;
  assert_int_equal(cs_container_open(&c, bad, NULL, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "not 64-byte aligned"));
  assert_non_null(strstr(err.msg, bad));
  unlink(bad);
  unlink(path);
}

static void test_every_flipped_byte_is_caught(void **state) {
  (void)state;
  char path[300], bad[300];
  path_in_tmp(path, sizeof path, "b.cs");
  path_in_tmp(bad, sizeof bad, "b-bad.cs");
  cs_err_t err;
  assert_int_equal(write_sample(path, &err), CS_OK);
  cs_mmap_t m;
  assert_int_equal(cs_mmap_open(&m, path, &err), CS_OK);
  unsigned char *copy = malloc(m.size);
  size_t size = m.size;
  memcpy(copy, m.data, size);
  cs_mmap_close(&m);
  /* Flip one bit in every byte that belongs to the header, a section or the
   * table (the zero padding between sections is covered by no checksum and
   * read by nobody). */
  cs_container_t good;
  assert_int_equal(cs_container_open(&good, path, NULL, &err), CS_OK);
  uint8_t *covered = calloc(size, 1);
  memset(covered, 1, 64);
  for (uint32_t i = 0; i < good.n_sections; i++)
    memset(covered + good.sections[i].offset, 1, good.sections[i].size);
  memset(covered + size - 72 * good.n_sections, 1, 72 * good.n_sections);
  cs_container_close(&good);
  int caught = 0, tried = 0;
  for (size_t pos = 0; pos < size; pos++) {
    if (!covered[pos]) continue;
    copy[pos] ^= 0x10;
    assert_int_equal(cs_write_file_atomic(bad, copy, size, &err), CS_OK);
    copy[pos] ^= 0x10;
    cs_container_t c;
    int rc = cs_container_open(&c, bad, NULL, &err);
    tried++;
    if (rc != CS_OK) caught++;
    else cs_container_close(&c);
  }
  free(covered);
  assert_true(tried > 100);
  assert_int_equal(caught, tried);
  /* The specific message for a data byte. */
  copy[64 + 100] ^= 1;
  assert_int_equal(cs_write_file_atomic(bad, copy, size, &err), CS_OK);
  cs_container_t c;
  assert_int_equal(cs_container_open(&c, bad, NULL, &err), CS_ECORRUPT);
  assert_non_null(strstr(err.msg, "section 'floats' checksum mismatch"));
  assert_non_null(strstr(err.msg, bad));
  free(copy);

}

static void test_every_truncation_is_caught(void **state) {
  (void)state;
  char path[300], bad[300];
  path_in_tmp(path, sizeof path, "c.cs");
  path_in_tmp(bad, sizeof bad, "c-bad.cs");
  cs_err_t err;
  assert_int_equal(write_sample(path, &err), CS_OK);
  cs_mmap_t m;
  assert_int_equal(cs_mmap_open(&m, path, &err), CS_OK);
  for (size_t len = 0; len < m.size; len += (len < 100 ? 1 : 61)) {
    assert_int_equal(cs_write_file_atomic(bad, m.data, len, &err), CS_OK);
    cs_container_t c;
    int rc = cs_container_open(&c, bad, NULL, &err);
    assert_int_not_equal(rc, CS_OK);
  }
  cs_mmap_close(&m);
  cs_container_t c;
  assert_int_equal(cs_container_open(&c, "/nonexistent/x.cs", NULL, &err),
                   CS_ENOTFOUND);
}

static void test_atomic_write_keeps_old_file(void **state) {
  (void)state;
  char path[300];
  path_in_tmp(path, sizeof path, "keep.txt");
  cs_err_t err;
  assert_int_equal(cs_write_file_atomic(path, "old", 3, &err), CS_OK);
  cs_atomic_file_t af;
  assert_int_equal(cs_atomic_open(&af, path, &err), CS_OK);
  assert_int_equal(cs_atomic_write(&af, "new-partial", 11, &err), CS_OK);
  char tmp_copy[400];
  snprintf(tmp_copy, sizeof tmp_copy, "%s", af.tmp_path);
  cs_atomic_abort(&af); /* simulated failure mid-write */
  assert_false(cs_path_exists(tmp_copy));
  cs_mmap_t m;
  assert_int_equal(cs_mmap_open(&m, path, &err), CS_OK);
  assert_int_equal(m.size, 3);
  assert_memory_equal(m.data, "old", 3);
  cs_mmap_close(&m);
  /* a directory that does not exist: error names the path */
  assert_int_not_equal(cs_write_file_atomic("/nonexistent-dir/x", "a", 1, &err), CS_OK);
  assert_non_null(strstr(err.msg, "/nonexistent-dir/x"));
  char deep[300];
  path_in_tmp(deep, sizeof deep, "a/b/c");
  assert_int_equal(cs_mkdirs(deep, &err), CS_OK);
  assert_true(cs_path_exists(deep));
}

typedef struct {
  int64_t *out;
  int max_tid;
} pf_arg_t;

static int square_range(void *raw, int64_t begin, int64_t end, int tid, cs_err_t *err) {
  pf_arg_t *a = raw;
  for (int64_t i = begin; i < end; i++) a->out[i] = i * i + tid * 0;
  (void)tid;
  return 0;
}

static void test_parallel_for_covers_range(void **state) {
  (void)state;
  int64_t out[1001];
  for (int threads = 1; threads <= 5; threads++) {
    memset(out, 0xff, sizeof out);
    pf_arg_t a = {out, 0};
    assert_int_equal(cs_parallel_for(threads, 1001, square_range, &a, NULL), 0);
    for (int64_t i = 0; i < 1001; i++) assert_int_equal(out[i], i * i);
  }
  /* no call on empty range */
  assert_int_equal(cs_parallel_for(4, 0, square_range, NULL, NULL), 0);
}

/* Chunks covering an odd index fail with their own message. */
static int fail_on_odd(void *raw, int64_t begin, int64_t end, int tid,
                       cs_err_t *err) {
  int64_t *seen = raw;
  for (int64_t i = begin; i < end; i++) {
    seen[i] = 1;
    if (i % 2 && i > 40)
      return cs_err_set(err, i > 80 ? CS_EIO : CS_EFORMAT,
                        "item %lld (thread %d)", (long long)i, tid);
  }
  return 0;
}

static void test_parallel_for_reports_the_first_chunk_error(void **state) {
  (void)state;
  for (int threads = 1; threads <= 6; threads++) {
    int64_t seen[100] = {0};
    cs_err_t err;
    cs_err_clear(&err);
    int rc = cs_parallel_for(threads, 100, fail_on_odd, seen, &err);
    /* whatever the timing: the failing chunk with the lowest index wins */
    int64_t first_fail = -1;
    for (int t = 0; t < threads && first_fail < 0; t++) {
      int64_t b = 100 * t / threads, e = 100 * (t + 1) / threads;
      for (int64_t i = b; i < e && first_fail < 0; i++)
        if (i % 2 && i > 40) first_fail = i;
    }
    assert_int_equal(rc, first_fail > 80 ? CS_EIO : CS_EFORMAT);
    assert_int_equal(err.code, rc);
    char want[64];
    snprintf(want, sizeof want, "item %lld (", (long long)first_fail);
    assert_non_null(strstr(err.msg, want));
    /* chunks are not cancelled: every chunk ran up to its own failure */
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[40], 1);
  }
}

static void test_progress_silent_without_tty(void **state) {
  (void)state;
  char path[300];
  path_in_tmp(path, sizeof path, "log.txt");
  FILE *fp = fopen(path, "w+");
  assert_non_null(fp);
  cs_ctx_t ctx;
  cs_ctx_init(&ctx);
  ctx.log_stream = fp;
  ctx.progress_is_tty = 0;
  cs_progress_t p;
  cs_progress_start(&p, &ctx, "stage", 10);
  for (int i = 1; i <= 10; i++) cs_progress_update(&p, i);
  cs_progress_finish(&p);
  ctx.quiet = 1;
  cs_log(&ctx, CS_LOG_INFO, "hidden %d", 1);
  cs_log(&ctx, CS_LOG_WARN, "shown %d", 2);
  fflush(fp);
  rewind(fp);
  char buf[256] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  assert_null(strchr(buf, '\r')); /* no progress line */
  assert_non_null(strstr(buf, "stage: 10 in "));
  assert_null(strstr(buf, "hidden"));
  assert_non_null(strstr(buf, "warning: shown 2"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_every_flipped_byte_is_caught),
      cmocka_unit_test(test_every_truncation_is_caught),
      cmocka_unit_test(test_atomic_write_keeps_old_file),
      cmocka_unit_test(test_unaligned_section_is_refused),
      cmocka_unit_test(test_stale_temp_files_removed),
      cmocka_unit_test(test_parallel_for_covers_range),
      cmocka_unit_test(test_parallel_for_reports_the_first_chunk_error),
      cmocka_unit_test(test_progress_silent_without_tty),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

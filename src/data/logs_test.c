/* logs_test.c: the raw-log reader: values and unknown-id counts on a small
 * folder, and a malformed line in each file failing with its line number
 * and field; also the .npy writer's bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/logs.h"
#include "coldstart/npy.h"

static char dir[256];

static void write_text(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
}

static const char *CATALOG =
    "song_id\tartist_id\talbum_id\n"
    "10\t100\t300\n"
    "11\t\t301\n"
    "12\t101\t\n";
static const char *PLAYLISTS =
    "playlist_id\tsong_id\n"
    "7\t10\n"
    "7\t12\n"
    "8\t99\n"; /* unknown song */
static const char *USERS =
    "user_id\tregistration_day\tage\tcountry\n"
    "1\t100\t25\tFR\n"
    "2\t101\t\t\n"
    "3\t-5\t0\tDE\r\n"; /* CRLF is accepted */
static const char *EVENTS =
    "user_id\tday\taction\tkind\titem_id\n"
    "1\t100\tstream\tsong\t10\n"
    "1\t101\tskip\tsong\t55\n"          /* unknown song */
    "2\t101\tfavorite\tartist\t100\n"
    "2\t101\tsearch\tplaylist\t9\n"     /* unknown playlist */
    "9\t101\tban\talbum\t300\n"         /* unknown user */
    "3\t-4\tonboarding_like\tartist\t101";  /* no final newline */

static void write_all(void) {
  write_text("catalog.tsv", CATALOG);
  write_text("playlists.tsv", PLAYLISTS);
  write_text("users.tsv", USERS);
  write_text("events.tsv", EVENTS);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/cs_logs_test_%d", (int)getpid());
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
  return system(cmd);
}

static int teardown(void **state) {
  (void)state;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void test_read_values(void **state) {
  (void)state;
  write_all();
  cs_logs_t L;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_logs_read(&L, dir, NULL, &err);
  if (rc) fail_msg("read: %s", err.msg);
  assert_int_equal(L.n_songs, 3);
  assert_int_equal(L.song_ids[2], 12);
  assert_int_equal(L.song_artist[1], -1);
  assert_int_equal(L.song_album[2], -1);
  assert_int_equal(L.song_album[1], 301);
  assert_int_equal(L.has_playlists, 1);
  assert_int_equal(L.n_playlist_entries, 2);
  assert_int_equal(L.playlist_song_rows[1], 2);
  assert_int_equal(L.n_playlist_unknown_songs, 1);
  assert_int_equal(L.n_users, 3);
  assert_int_equal(L.user_age[0], 25);
  assert_int_equal(L.user_age[1], -1);
  assert_int_equal(L.user_age[2], 0);
  assert_string_equal(L.user_country[0], "FR");
  assert_string_equal(L.user_country[1], "");
  assert_string_equal(L.user_country[2], "DE");
  assert_int_equal(L.user_reg_day[2], -5);
  assert_int_equal(L.n_events, 6);
  assert_int_equal(L.ev_user[0], 0);
  assert_int_equal(L.ev_song[0], 0);
  assert_int_equal(L.ev_song[1], -1);
  assert_int_equal(L.ev_action[1], CS_ACTION_SKIP);
  assert_int_equal(L.ev_kind[2], CS_KIND_ARTIST);
  assert_int_equal(L.ev_user[4], -1);
  assert_int_equal(L.ev_day[5], -4);
  assert_int_equal(L.ev_action[5], CS_ACTION_ONBOARDING_LIKE);
  assert_int_equal(L.ev_item[5], 101);
  assert_int_equal(L.n_unknown_user_events, 1);
  assert_int_equal(L.n_unknown_items[CS_KIND_SONG], 1);
  assert_int_equal(L.n_unknown_items[CS_KIND_PLAYLIST], 1);
  assert_int_equal(L.n_unknown_items[CS_KIND_ARTIST], 0);
  assert_int_equal(cs_logs_n_unknown(&L), 4);
  cs_logs_free(&L);

  /* playlists.tsv is optional */
  char path[512];
  snprintf(path, sizeof path, "%s/playlists.tsv", dir);
  unlink(path);
  assert_int_equal(cs_logs_read(&L, dir, NULL, &err), 0);
  assert_int_equal(L.has_playlists, 0);
  assert_int_equal(L.n_unknown_items[CS_KIND_PLAYLIST], 1);
  cs_logs_free(&L);
  /* users.tsv is not */
  snprintf(path, sizeof path, "%s/users.tsv", dir);
  unlink(path);
  assert_int_equal(cs_logs_read(&L, dir, NULL, &err), CS_ENOTFOUND);
  assert_non_null(strstr(err.msg, "users.tsv"));
}

/* Replace the whole of one file, expect CS_EFORMAT and these substrings. */
static void expect_bad(const char *file, const char *text, const char *where,
                       const char *what) {
  write_all();
  write_text(file, text);
  cs_logs_t L;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_logs_read(&L, dir, NULL, &err);
  if (rc != CS_EFORMAT)
    fail_msg("%s: expected EFORMAT, got %d (%s)", file, rc, err.msg);
  if (!strstr(err.msg, where) || !strstr(err.msg, what))
    fail_msg("message '%s' lacks '%s' / '%s'", err.msg, where, what);
  assert_int_equal(L.n_events, 0);
  assert_null(L.song_ids);
}

static void test_bad_lines(void **state) {
  (void)state;
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n"
             "1\t100\tstream\tsong\t10\n"
             "1\t100\tstrem\tsong\t10\n",
             "events.tsv:3:", "unknown action 'strem'");
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n"
             "1\t100\tstream\tsongs\t10\n",
             "events.tsv:2:", "unknown kind 'songs'");
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n"
             "1\t100\tstream\tsong\t10\n"
             "1\t10x\tstream\tsong\t10\n",
             "events.tsv:3:", "day");
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n"
             "1\t100\tstream\tsong\n",
             "events.tsv:2:", "expected 5 tab-separated fields, got 4");
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n"
             "-1\t100\tstream\tsong\t4\n",
             "events.tsv:2:", "user_id");
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n"
             "1\t100\tstream\tsong\t99999999999999999999\n",
             "events.tsv:2:", "item_id");
  expect_bad("events.tsv",
             "user_id\tday\taction\tkind\titem_id\n\n"
             "1\t100\tstream\tsong\t10\n",
             "events.tsv:2:", "empty line");
  expect_bad("events.tsv", "user\tday\taction\tkind\titem_id\n",
             "events.tsv:1:", "bad header");
  expect_bad("catalog.tsv",
             "song_id\tartist_id\talbum_id\n10\t1\t2\n11\tx\t2\n",
             "catalog.tsv:3:", "artist_id");
  expect_bad("catalog.tsv",
             "song_id\tartist_id\talbum_id\n10\t1\t2\n10\t1\t2\n",
             "catalog.tsv:3:", "song_id 10 already defined");
  expect_bad("playlists.tsv", "playlist_id\tsong_id\n7\t10\t3\n",
             "playlists.tsv:2:", "expected 2 tab-separated fields");
  expect_bad("users.tsv",
             "user_id\tregistration_day\tage\tcountry\n1\t100\t25\tFR\n"
             "2\t100\tabc\tFR\n",
             "users.tsv:3:", "age");
  expect_bad("users.tsv",
             "user_id\tregistration_day\tage\tcountry\n1\t100\t25\t"
             "FARTOOLONGCOUNTRY\n",
             "users.tsv:2:", "country");
  expect_bad("users.tsv",
             "user_id\tregistration_day\tage\tcountry\n1\t100\t25\tFR\n"
             "1\t101\t25\tFR\n",
             "users.tsv:3:", "user_id 1 already defined");
}

/* A events file big enough for the parallel reader (2 chunks): the same
 * arrays as one thread, and a bad line in the second chunk reported with
 * its own line number. */
static void test_parallel_events(void **state) {
  (void)state;
  write_all();
  enum { N = 120000 };
  size_t cap = (size_t)N * 40 + 100, len = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  len += (size_t)snprintf(text, cap, "user_id\tday\taction\tkind\titem_id\n");
  for (int i = 0; i < N; i++)
    len += (size_t)snprintf(text + len, cap - len, "%d\t%d\t%s\tsong\t%d\n",
                            1 + i % 4, 100 + i % 50, i % 3 ? "stream" : "skip",
                            10 + i % 4);
  write_text("events.tsv", text);
  cs_ctx_t one, two;
  cs_ctx_init(&one);
  cs_ctx_init(&two);
  two.n_threads = 2;
  cs_logs_t a, b;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_logs_read(&a, dir, &one, &err), 0);
  assert_int_equal(cs_logs_read(&b, dir, &two, &err), 0);
  assert_int_equal(a.n_events, N);
  assert_int_equal(b.n_events, N);
  assert_memory_equal(a.ev_user, b.ev_user, N * sizeof(int32_t));
  assert_memory_equal(a.ev_day, b.ev_day, N * sizeof(int32_t));
  assert_memory_equal(a.ev_action, b.ev_action, N);
  assert_memory_equal(a.ev_song, b.ev_song, N * sizeof(int32_t));
  assert_memory_equal(a.ev_item, b.ev_item, N * sizeof(int64_t));
  assert_int_equal(a.n_unknown_user_events, b.n_unknown_user_events);
  assert_int_equal(a.n_unknown_items[0], b.n_unknown_items[0]);
  assert_int_equal(b.n_unknown_user_events, N / 4); /* user 4 is unknown */
  assert_int_equal(b.n_unknown_items[CS_KIND_SONG], N / 4); /* song 13 */
  cs_logs_free(&a);
  cs_logs_free(&b);
  /* break data line 100000 (file line 100001), in the second half */
  char *line = text;
  for (int i = 0; i < 100000; i++) line = strchr(line, '\n') + 1;
  char *tab = strchr(line, '\t');
  tab = strchr(tab + 1, '\t');
  memcpy(tab + 1, "strm", 4); /* "stream" -> "strmam", "skip" -> "strm" */
  write_text("events.tsv", text);
  assert_int_equal(cs_logs_read(&b, dir, &two, &err), CS_EFORMAT);
  if (!strstr(err.msg, "events.tsv:100001: unknown action 'strm"))
    fail_msg("message: %s", err.msg);
  free(text);
}

static void test_npy_bytes(void **state) {
  (void)state;
  float data[6] = {1.5f, -2.0f, 3.0f, 4.0f, 5.0f, 6.25f};
  int64_t shape[2] = {2, 3};
  char path[512];
  snprintf(path, sizeof path, "%s/a.npy", dir);
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_npy_write(path, "<f4", shape, 2, data, &err), 0);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  unsigned char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
  size_t hlen = buf[8] | (size_t)buf[9] << 8;
  assert_int_equal((10 + hlen) % 64, 0);
  assert_int_equal(n, 10 + hlen + sizeof data);
  assert_int_equal(buf[10 + hlen - 1], '\n');
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  assert_memory_equal(buf + 10, dict, strlen(dict));
  float v;
  memcpy(&v, buf + 10 + hlen + 5 * sizeof(float), sizeof v);
  assert_true(v == 6.25f);
  /* one dimension: "(5,)"; empty arrays are fine */
  char hdr[256];
  int64_t five = 5, zero = 0;
  size_t len = cs_npy_header(hdr, sizeof hdr, "<i8", &five, 1);
  assert_int_equal(len, 128); /* like numpy: 60-byte dict + 10 + newline, padded */
  assert_non_null(strstr(hdr + 10, "'shape': (5,), }"));
  snprintf(path, sizeof path, "%s/empty.npy", dir);
  assert_int_equal(cs_npy_write(path, "<i8", &zero, 1, NULL, &err), 0);
  assert_int_equal(cs_npy_write(path, "float", &five, 1, data, &err), CS_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_read_values),
                                     cmocka_unit_test(test_bad_lines),
                                     cmocka_unit_test(test_parallel_events),
                                     cmocka_unit_test(test_npy_bytes)};
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* dataset_test.c: the dataset file round trip (every array equal), damage
 * detection, validation messages, and the name tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coldstart/dataset.h"
#include "coldstart/featurize.h"

enum { DIM = 4, N_SONGS = 7 };

static void tmp_path(char *buf, size_t cap, const char *tag) {
  snprintf(buf, cap, "/tmp/cs_dataset_test_%d_%s.cs", (int)getpid(), tag);
}

/* A small owned dataset: 7 songs, 3/2/0 users, targets on train only,
 * and a featurizer. */
static void make_dataset(cs_dataset_t *ds, int with_featurizer) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->space, sizeof ds->space, "svd");
  snprintf(ds->source, sizeof ds->source, "prepare");
  ds->dim = DIM;
  ds->n_features = cs_n_features(DIM);
  ds->n_songs = N_SONGS;
  ds->song_ids = malloc(N_SONGS * sizeof(int64_t));
  ds->song_emb = malloc(N_SONGS * DIM * sizeof(float));
  for (int s = 0; s < N_SONGS; s++) {
    ds->song_ids[s] = 100 + 3 * s;
    for (int j = 0; j < DIM; j++) ds->song_emb[s * DIM + j] = (float)(s + 0.25 * j);
  }
  const size_t n_users[CS_N_SPLITS] = {3, 2, 0};
  for (int sp = 0; sp < CS_N_SPLITS; sp++) {
    cs_split_t *S = &ds->splits[sp];
    size_t n = n_users[sp];
    S->n_users = (int64_t)n;
    S->user_ids = malloc((n + 1) * sizeof(int64_t));
    S->features = malloc((n + 1) * ds->n_features * sizeof(float));
    S->truth_indptr = malloc((n + 1) * sizeof(int64_t));
    S->truth_indices = malloc(64 * sizeof(int64_t));
    S->truth_indptr[0] = 0;
    for (size_t u = 0; u < n; u++) {
      S->user_ids[u] = 10 * sp + 2 * u + 1;
      for (int k = 0; k < ds->n_features; k++)
        S->features[(size_t)u * ds->n_features + k] = (float)(sp * 1000 + u * 10 + k);
      int64_t at = S->truth_indptr[u];
      for (size_t s = u; s < N_SONGS; s += 2) S->truth_indices[at++] = s;
      S->truth_indptr[u + 1] = at;
    }
    if (sp == CS_SPLIT_TRAIN) {
      S->targets = malloc(n * DIM * sizeof(float));
      S->has_target = malloc(n);
      for (size_t u = 0; u < n; u++) {
        S->has_target[u] = u != 1;
        for (int j = 0; j < DIM; j++)
          S->targets[u * DIM + j] = u == 1 ? 0.0f : (float)(0.5 * u - j);
      }
    }
  }
  if (with_featurizer) {
    int64_t artists[N_SONGS] = {1, 1, 2, 2, 2, -1, 3};
    int64_t albums[N_SONGS] = {5, 5, 6, 7, 7, 8, -1};
    int64_t pl_ids[3] = {900, 900, 901};
    int32_t pl_rows[3] = {0, 3, 6};
    int32_t ages[3] = {25, -1, 25};
    const char *countries[3] = {"FR", "", "BR"};
    cs_featurizer_input_t in = {
        .dim = DIM, .n_songs = N_SONGS, .song_emb = ds->song_emb, .song_artist = artists, .song_album = albums,
        .n_playlist_entries = 3, .playlist_ids = pl_ids,
        .playlist_song_rows = pl_rows, .n_users = 3, .user_age = ages,
        .user_country = countries, .user_target = ds->splits[0].targets};
    cs_err_t err;
    cs_err_clear(&err);
    assert_int_equal(cs_feature_tables_build(&ds->tables, &ds->mem, &in, &err), 0);
    ds->has_tables = 1;
  }
  assert_int_equal(cs_dataset_adopt_arrays(ds, NULL), 0);
}

/* A featurizer over a dataset's song table and tables. */
static cs_featurizer_t *featurizer_of(const cs_dataset_t *ds) {
  cs_featurizer_t *f = NULL;
  assert_int_equal(cs_featurizer_create(&f, ds->n_songs, ds->song_ids,
                                        ds->song_emb, &ds->tables, NULL), 0);
  return f;
}

static void assert_mem(const void *a, const void *b, size_t size) {
  if (size == 0) return;
  assert_non_null(a);
  assert_non_null(b);
  assert_memory_equal(a, b, size);
}

static void test_round_trip(void **state) {
  (void)state;
  cs_dataset_t ds, back;
  make_dataset(&ds, 1);
  char path[256];
  tmp_path(path, sizeof path, "rt");
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_dataset_save(&ds, path, &err);
  if (rc) fail_msg("save: %s", err.msg);
  rc = cs_dataset_load(&back, path, &err);
  if (rc) fail_msg("load: %s", err.msg);
  assert_string_equal(back.space, "svd");
  assert_string_equal(back.source, "prepare");
  assert_int_equal(back.dim, DIM);
  assert_int_equal(back.n_features, cs_n_features(DIM));
  assert_int_equal(back.n_songs, N_SONGS);
  assert_non_null(back.file); /* loaded: the arrays point into its map */
  assert_mem(back.song_ids, ds.song_ids, N_SONGS * sizeof(int64_t));
  assert_mem(back.song_emb, ds.song_emb, N_SONGS * DIM * sizeof(float));
  assert_int_equal(((uintptr_t)back.song_emb) % 64, 0);
  for (int sp = 0; sp < CS_N_SPLITS; sp++) {
    cs_split_t *a = &ds.splits[sp], *b = &back.splits[sp];
    size_t n = (size_t)a->n_users;
    assert_int_equal(b->n_users, a->n_users);
    assert_mem(b->user_ids, a->user_ids, n * sizeof(int64_t));
    assert_mem(b->features, a->features, n * ds.n_features * sizeof(float));
    assert_mem(b->truth_indptr, a->truth_indptr, (n + 1) * sizeof(int64_t));
    assert_mem(b->truth_indices, a->truth_indices,
               (size_t)a->truth_indptr[n] * sizeof(int64_t));
    assert_int_equal(b->targets != NULL, a->targets != NULL);
    if (a->targets) {
      assert_mem(b->targets, a->targets, n * DIM * sizeof(float));
      assert_mem(b->has_target, a->has_target, n);
    }
  }
  /* the featurizer gives the same features after the round trip */
  assert_true(back.has_tables);
  cs_event_t ev[4] = {{CS_ACTION_STREAM, CS_KIND_SONG, 103},
                      {CS_ACTION_FAVORITE, CS_KIND_PLAYLIST, 900},
                      {CS_ACTION_SEARCH, CS_KIND_ARTIST, 2},
                      {CS_ACTION_SKIP, CS_KIND_SONG, 118}};
  float f1[cs_n_features(DIM)], f2[cs_n_features(DIM)];
  cs_featurizer_t *fa = featurizer_of(&ds), *fb = featurizer_of(&back);
  assert_int_equal(cs_featurizer_user(fa, 25, "FR", ev, 4, f1, NULL), 0);
  assert_int_equal(cs_featurizer_user(fb, 25, "FR", ev, 4, f2, NULL), 0);
  assert_memory_equal(f1, f2, sizeof f1);
  cs_featurizer_free(fa);
  cs_featurizer_free(fb);
  cs_dataset_free(&back);
  cs_dataset_free(&ds);
  unlink(path);
}

static void test_no_featurizer(void **state) {
  (void)state;
  cs_dataset_t ds, back;
  make_dataset(&ds, 0);
  snprintf(ds.space, sizeof ds.space, "mf");
  snprintf(ds.source, sizeof ds.source, "import-deezer");
  char path[256];
  tmp_path(path, sizeof path, "nf");
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_dataset_save(&ds, path, &err), 0);
  assert_int_equal(cs_dataset_load(&back, path, &err), 0);
  assert_false(back.has_tables);
  assert_string_equal(back.space, "mf");
  assert_string_equal(back.source, "import-deezer");
  cs_dataset_free(&back);
  cs_dataset_free(&ds);
  unlink(path);
}

static void test_flipped_byte(void **state) {
  (void)state;
  cs_dataset_t ds, back;
  make_dataset(&ds, 1);
  char path[256];
  tmp_path(path, sizeof path, "flip");
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_dataset_save(&ds, path, &err), 0);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  /* a byte inside the section data (past the 64-byte header) */
  long at = 64 + 130;
  assert_true(at < size);
  fseek(fp, at, SEEK_SET);
  int c = fgetc(fp);
  fseek(fp, at, SEEK_SET);
  fputc(c ^ 0x10, fp);
  assert_int_equal(fclose(fp), 0);
  int rc = cs_dataset_load(&back, path, &err);
  assert_true(rc != 0);
  assert_true(err.msg[0] != '\0');
  cs_dataset_free(&ds);
  unlink(path);
}

static void test_validate(void **state) {
  (void)state;
  cs_dataset_t ds;
  make_dataset(&ds, 0);
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(cs_dataset_validate(&ds, &err), 0);
  int64_t saved = ds.splits[0].truth_indices[1];
  ds.splits[0].truth_indices[1] = 0; /* user 0 truth: 0, 0, ... */
  assert_int_equal(cs_dataset_validate(&ds, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "train"));
  assert_non_null(strstr(err.msg, "ascending"));
  ds.splits[0].truth_indices[1] = N_SONGS;
  assert_int_equal(cs_dataset_validate(&ds, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "out of range"));
  ds.splits[0].truth_indices[1] = saved;
  ds.splits[1].user_ids[1] = ds.splits[1].user_ids[0];
  assert_int_equal(cs_dataset_validate(&ds, &err), CS_EFORMAT);
  assert_non_null(strstr(err.msg, "validation"));
  /* nothing is written for an invalid dataset */
  char path[256];
  tmp_path(path, sizeof path, "bad");
  assert_int_equal(cs_dataset_save(&ds, path, &err), CS_EFORMAT);
  assert_int_equal(access(path, F_OK), -1);
  cs_dataset_free(&ds);
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(cs_split_name(CS_SPLIT_VALIDATION), "validation");
  assert_int_equal(cs_split_parse("test"), CS_SPLIT_TEST);
  assert_int_equal(cs_split_parse("train"), CS_SPLIT_TRAIN);
  assert_int_equal(cs_split_parse("nope"), -1);
  assert_string_equal(cs_feature_blocks[0], "age");
  assert_string_equal(cs_feature_blocks[6], "onboarding_like_artists");
  assert_string_equal(cs_feature_blocks[19], "search_playlists");
  assert_string_equal(cs_feature_counts[1], "nb_favorite_albums");
  assert_string_equal(cs_feature_counts[14], "nb_search_albums");
  assert_string_equal(cs_feature_counts[17], "nb_onboarding_like_artists");
  assert_int_equal(cs_n_features(128), 2579);
  assert_int_equal(cs_n_features(256), 5139);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip), cmocka_unit_test(test_no_featurizer),
      cmocka_unit_test(test_flipped_byte), cmocka_unit_test(test_validate),
      cmocka_unit_test(test_names)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

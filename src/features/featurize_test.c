/* featurize_test.c: the featurizer on hand-computed examples: block means,
 * the artist and album a song stream/skip/ban contributes, demographic
 * groups (unknown is its own group, unseen values give zero), empty blocks,
 * counts in the release order, unused pairs and missing items. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "coldstart/dataset.h"
#include "coldstart/featurize.h"

enum { D = 2, NF = CS_N_BLOCKS * D + 1 + CS_N_COUNTS };

/* songs 10 (1,0), 11 (0,1), 12 (2,2), 13 (4,0)
 * artists: 10,11 -> 100; 12 -> 200; 13 -> none
 *   100 = (0.5, 0.5); 200 = (2, 2)
 * albums: 10 -> 300; 11,12,13 -> 301
 *   300 = (1, 0); 301 = (2, 1)
 * playlist 7: songs 10, 10, 12 -> (4/3, 2/3)
 * users (age, country, target): (20,FR,(1,0)) (20,DE,(0,1)) (-1,FR,(1,1))
 *   (30,"",(2,2)) -> age 20 (0.5,0.5), age -1 (1,1), age 30 (2,2);
 *   FR (1,0.5), DE (0,1), "" (2,2) */
/* The tables' storage of the featurizer make() returns (one at a time). */
static cs_arena_t tables_mem;
static cs_feature_tables_t tables;

/* cs_feature_tables_build + cs_featurizer_create over the same songs. */
static int build(const cs_featurizer_input_t *in, const int64_t *song_ids,
                 cs_featurizer_t **f, cs_err_t *err) {
  *f = NULL;
  int rc = cs_feature_tables_build(&tables, &tables_mem, in, err);
  if (!rc)
    rc = cs_featurizer_create(f, in->n_songs, song_ids, in->song_emb, &tables,
                              err);
  return rc;
}

static void release(cs_featurizer_t *f) {
  cs_featurizer_free(f);
  cs_arena_free(&tables_mem);
}

/* Table sizes: songs, artists, albums, playlists, ages, countries. */
static void sizes_of(int64_t sizes[6]) {
  sizes[0] = tables.n_songs;
  for (int i = 0; i < CS_N_TABLES; i++) sizes[1 + i] = tables.n[i];
}

static cs_featurizer_t *make(void) {
  static const int64_t ids[4] = {10, 11, 12, 13};
  static const float emb[8] = {1, 0, 0, 1, 2, 2, 4, 0};
  static const int64_t artist[4] = {100, 100, 200, -1};
  static const int64_t album[4] = {300, 301, 301, 301};
  static const int64_t pl_ids[3] = {7, 7, 7};
  static const int32_t pl_rows[3] = {0, 0, 2};
  static const int32_t ages[4] = {20, 20, -1, 30};
  static const char *const countries[4] = {"FR", "DE", "FR", ""};
  static const float targets[8] = {1, 0, 0, 1, 1, 1, 2, 2};
  cs_featurizer_input_t in = {
      .dim = D, .n_songs = 4, .song_emb = emb,
      .song_artist = artist, .song_album = album, .n_playlist_entries = 3,
      .playlist_ids = pl_ids, .playlist_song_rows = pl_rows, .n_users = 4,
      .user_age = ages, .user_country = countries, .user_target = targets};
  cs_featurizer_t *f = NULL;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = build(&in, ids, &f, &err);
  if (rc) fail_msg("build: %s", err.msg);
  return f;
}

static int block(const char *name) {
  for (int b = 0; b < CS_N_BLOCKS; b++)
    if (strcmp(cs_feature_blocks[b], name) == 0) return b;
  fail_msg("no block %s", name);
  return -1;
}

static float count_of(const float *out, const char *name) {
  for (int c = 0; c < CS_N_COUNTS; c++)
    if (strcmp(cs_feature_counts[c], name) == 0)
      return out[CS_N_BLOCKS * D + 1 + c];
  fail_msg("no count %s", name);
  return -1;
}

static void expect_block(const float *out, const char *name, double x,
                         double y) {
  int b = block(name);
  if (fabs(out[b * D] - x) > 1e-6 || fabs(out[b * D + 1] - y) > 1e-6)
    fail_msg("block %s = (%g, %g), expected (%g, %g)", name, out[b * D],
             out[b * D + 1], x, y);
}

static void test_hand_example(void **state) {
  (void)state;
  cs_featurizer_t *f = make();
  assert_int_equal(cs_featurizer_dim(f), D);
  assert_int_equal(cs_featurizer_n_features(f), NF);
  int64_t sizes[6];
  sizes_of(sizes);
  assert_int_equal(sizes[0], 4); /* songs */
  assert_int_equal(sizes[1], 2); /* artists */
  assert_int_equal(sizes[2], 2); /* albums */
  assert_int_equal(sizes[3], 1); /* playlists */
  assert_int_equal(sizes[4], 3); /* ages */
  assert_int_equal(sizes[5], 3); /* countries */
  const cs_event_t ev[] = {
      {CS_ACTION_STREAM, CS_KIND_SONG, 10},
      {CS_ACTION_STREAM, CS_KIND_SONG, 10}, /* twice counts twice */
      {CS_ACTION_STREAM, CS_KIND_SONG, 12},
      {CS_ACTION_SKIP, CS_KIND_SONG, 13}, /* no artist: album only */
      {CS_ACTION_FAVORITE, CS_KIND_ARTIST, 200},
      {CS_ACTION_SEARCH, CS_KIND_PLAYLIST, 7},
      {CS_ACTION_STREAM, CS_KIND_PLAYLIST, 7}, /* no such block */
      {CS_ACTION_ONBOARDING_LIKE, CS_KIND_ARTIST, 100},
      {CS_ACTION_BAN, CS_KIND_ALBUM, 300},
      {CS_ACTION_FAVORITE, CS_KIND_SONG, 999}, /* not in the catalog */
      {CS_ACTION_FAVORITE, CS_KIND_SONG, 11},
  };
  float out[NF];
  cs_feat_stats_t st;
  memset(&st, 0, sizeof st);
  assert_int_equal(cs_featurizer_user(f, 20, "FR", ev, 11, out, &st), 0);
  expect_block(out, "age", 0.5, 0.5);
  expect_block(out, "country", 1, 0.5);
  expect_block(out, "streamed_songs", 4.0 / 3, 2.0 / 3);
  expect_block(out, "streamed_artists", 1, 1);        /* 100,100,200 */
  expect_block(out, "streamed_albums", 4.0 / 3, 1.0 / 3); /* 300,300,301 */
  expect_block(out, "skipped_songs", 4, 0);
  expect_block(out, "skipped_artists", 0, 0);
  expect_block(out, "skipped_albums", 2, 1);
  expect_block(out, "favorite_artists", 2, 2);
  expect_block(out, "favorite_songs", 0, 1); /* 999 missing, 11 kept */
  expect_block(out, "favorite_albums", 0, 0); /* favorites: own item only */
  expect_block(out, "search_playlists", 4.0 / 3, 2.0 / 3);
  expect_block(out, "onboarding_like_artists", 0.5, 0.5);
  expect_block(out, "banned_albums", 1, 0);
  expect_block(out, "banned_songs", 0, 0);
  expect_block(out, "search_songs", 0, 0);
  assert_true(out[CS_N_BLOCKS * D] == 20.0f);
  const float expect_counts[CS_N_COUNTS] = {1, 0, 1, 0, 1, 0, 1, 0, 0,
                                            1, 3, 3, 3, 0, 0, 0, 1, 1};
  for (int c = 0; c < CS_N_COUNTS; c++)
    if (out[CS_N_BLOCKS * D + 1 + c] != expect_counts[c])
      fail_msg("%s = %g, expected %g", cs_feature_counts[c],
               out[CS_N_BLOCKS * D + 1 + c], expect_counts[c]);
  assert_true(count_of(out, "nb_streamed_artists") == 3.0f);
  assert_true(count_of(out, "nb_skipped_artists") == 0.0f);
  assert_int_equal(st.n_events, 11);
  assert_int_equal(st.n_unused_pairs, 1);
  assert_int_equal(st.unused[CS_ACTION_STREAM][CS_KIND_PLAYLIST], 1);
  assert_int_equal(st.n_missing_items, 1);
  assert_int_equal(st.missing[CS_KIND_SONG], 1);
  release(f);
}

static void test_demographics(void **state) {
  (void)state;
  cs_featurizer_t *f = make();
  float out[NF];
  /* unknown age is its own group; NULL and "" are the unknown country */
  assert_int_equal(cs_featurizer_user(f, -1, NULL, NULL, 0, out, NULL), 0);
  expect_block(out, "age", 1, 1);
  expect_block(out, "country", 2, 2);
  assert_true(out[CS_N_BLOCKS * D] == -1.0f);
  assert_int_equal(cs_featurizer_user(f, 30, "DE", NULL, 0, out, NULL), 0);
  expect_block(out, "age", 2, 2);
  expect_block(out, "country", 0, 1);
  assert_true(out[CS_N_BLOCKS * D] == 30.0f);
  /* values no training user has: zero blocks */
  assert_int_equal(cs_featurizer_user(f, 99, "XX", NULL, 0, out, NULL), 0);
  expect_block(out, "age", 0, 0);
  expect_block(out, "country", 0, 0);
  assert_int_equal(
      cs_featurizer_user(f, 20, "A-VERY-LONG-COUNTRY", NULL, 0, out, NULL), 0);
  expect_block(out, "country", 0, 0);
  expect_block(out, "age", 0.5, 0.5);
  release(f);
}

static void test_empty_user(void **state) {
  (void)state;
  cs_featurizer_t *f = make();
  float out[NF];
  for (int i = 0; i < NF; i++) out[i] = 123.0f; /* must be overwritten */
  assert_int_equal(cs_featurizer_user(f, 99, "XX", NULL, 0, out, NULL), 0);
  for (int i = 0; i < CS_N_BLOCKS * D; i++) assert_true(out[i] == 0.0f);
  for (int c = 0; c < CS_N_COUNTS; c++)
    assert_true(out[CS_N_BLOCKS * D + 1 + c] == 0.0f);
  assert_int_equal(cs_featurizer_user(NULL, 0, NULL, NULL, 0, out, NULL),
                   CS_EINVAL);
  release(f);
}

static void test_pairs_and_names(void **state) {
  (void)state;
  /* every existing block is reachable from exactly one (action, kind) */
  int seen[CS_N_BLOCKS] = {0};
  for (int a = 0; a < CS_N_ACTIONS; a++)
    for (int k = 0; k < CS_N_KINDS; k++) {
      int b = cs_feature_block_of(a, k);
      if (b < 0) continue;
      seen[b]++;
      /* the block name is <action word>_<kind>s */
      static const char *const words[CS_N_ACTIONS] = {
          "streamed", "skipped", "favorite", "banned", "search",
          "onboarding_like"};
      char expect[64];
      snprintf(expect, sizeof expect, "%s_%ss", words[a], cs_kind_name(k));
      assert_string_equal(cs_feature_blocks[b], expect);
    }
  for (int b = 2; b < CS_N_BLOCKS; b++) assert_int_equal(seen[b], 1);
  assert_int_equal(cs_feature_block_of(CS_ACTION_STREAM, CS_KIND_PLAYLIST), -1);
  assert_int_equal(cs_action_parse("onboarding_like", 15),
                   CS_ACTION_ONBOARDING_LIKE);
  assert_int_equal(cs_action_parse("strem", 5), -1);
  assert_int_equal(cs_action_parse("streamX", 6), CS_ACTION_STREAM);
  assert_int_equal(cs_kind_parse("playlist", 8), CS_KIND_PLAYLIST);
  assert_int_equal(cs_kind_parse("songs", 5), -1);
  assert_string_equal(cs_action_name(CS_ACTION_BAN), "ban");
  assert_string_equal(cs_kind_name(CS_KIND_ALBUM), "album");
}

static void test_duplicate_song(void **state) {
  (void)state;
  const int64_t ids[2] = {5, 5};
  const float emb[4] = {0};
  const int64_t none[2] = {-1, -1};
  cs_featurizer_input_t in = {.dim = D, .n_songs = 2, .song_emb = emb,
                              .song_artist = none, .song_album = none};
  cs_featurizer_t *f = NULL;
  cs_err_t err;
  cs_err_clear(&err);
  assert_int_equal(build(&in, ids, &f, &err), CS_EFORMAT);
  assert_null(f);
  release(f);
  assert_non_null(strstr(err.msg, "song id 5"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_example), cmocka_unit_test(test_demographics),
      cmocka_unit_test(test_empty_user), cmocka_unit_test(test_pairs_and_names),
      cmocka_unit_test(test_duplicate_song)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

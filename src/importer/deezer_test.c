/* deezer_test.c: import-deezer end to end on the project's fixtures
 * (tests/fixtures/parquet): every feature value lands in its named column
 * (nulls -> 0), truth lists are the d1d30 songs as sorted unique song rows
 * (unknown songs left out), targets come from user_embeddings by
 * user_index; the saved file loads back the same. Deezer's own writers
 * (fastparquet JSON-text lists, Spark feature tables in no row order) give
 * exactly the dataset pyarrow's layout gives, and so do DuckDB,
 * hyparquet-writer and the variants; both file namings; the space detected
 * from the block width; a disagreeing --space; bad JSON text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coldstart/importer.h"

/* Relative to the repository root (tests/run.sh runs tests from there). */
#define FIXTURES "tests/fixtures/parquet"

static json_t *load_truth(const char *table) {
  char path[2048];
  snprintf(path, sizeof path, FIXTURES "/truth/%s.json", table);
  json_error_t jerr;
  json_t *j = json_load_file(path, 0, &jerr);
  if (!j) fail_msg("%s: %s (tests run from the repository root)", path, jerr.text);
  return j;
}

static int64_t find_i64(const json_t *arr, int64_t key) {
  for (size_t i = 0; i < json_array_size(arr); i++)
    if (json_integer_value(json_array_get(arr, i)) == key) return (int64_t)i;
  return -1;
}

static int64_t song_row(const cs_dataset_t *ds, int64_t song_index) {
  for (int64_t i = 0; i < ds->n_songs; i++)
    if (ds->song_ids[i] == song_index) return i;
  return -1;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Feature index of a release column name in the dataset's layout. */
static int feature_index(const char *cn, int dim) {
  int k;
  if (!strcmp(cn, "age_value")) return 20 * dim;
  if (!strncmp(cn, "nb_", 3)) {
    for (k = 0; k < CS_N_COUNTS && strcmp(cs_feature_counts[k], cn); k++) {}
    assert_true(k < CS_N_COUNTS);
    return 20 * dim + 1 + k;
  }
  const char *us = strstr(cn, "_embedding");
  assert_non_null(us);
  for (k = 0; k < CS_N_BLOCKS; k++)
    if (strlen(cs_feature_blocks[k]) == (size_t)(us - cn) &&
        !strncmp(cs_feature_blocks[k], cn, (size_t)(us - cn)))
      break;
  assert_true(k < CS_N_BLOCKS);
  return k * dim + atoi(us + strlen("_embedding"));
}

/* Every value of the dataset against the truth files of `space`. */
static void check_dataset(const cs_dataset_t *ds, const char *space, int dim) {
  assert_string_equal(ds->space, space);
  assert_string_equal(ds->source, "import-deezer");
  assert_int_equal(ds->dim, dim);
  assert_int_equal(ds->n_features, 20 * dim + 19);
  assert_false(ds->has_tables);
  /* songs ascending by song_index, embeddings from the right row */
  json_t *songs = load_truth("song_embeddings");
  const json_t *sd = json_object_get(songs, "data");
  const json_t *sidx = json_object_get(sd, "song_index");
  char col[64];
  snprintf(col, sizeof col, "features_%s", space);
  const json_t *semb = json_object_get(sd, col);
  assert_int_equal(ds->n_songs, (int64_t)json_array_size(sidx));
  for (int64_t i = 0; i < ds->n_songs; i++) {
    if (i) assert_true(ds->song_ids[i] > ds->song_ids[i - 1]);
    int64_t r = find_i64(sidx, ds->song_ids[i]);
    assert_true(r >= 0);
    const json_t *e = json_array_get(semb, (size_t)r);
    for (int k = 0; k < dim; k++)
      assert_true(ds->song_emb[i * dim + k] ==
                  (float)json_number_value(json_array_get(e, (size_t)k)));
  }
  json_t *users = load_truth("user_embeddings");
  const json_t *ud = json_object_get(users, "data");
  snprintf(col, sizeof col, "%s_embeddings", space);
  const json_t *uidx = json_object_get(ud, "user_index"), *uemb = json_object_get(ud, col);
  int64_t n_targets = 0, n_no_target = 0, n_nulls = 0, n_unknown = 0, n_repeats = 0;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    char name[128];
    snprintf(name, sizeof name, "user_features_%s_%s", cs_split_name(s), space);
    json_t *t = load_truth(name);
    const json_t *td = json_object_get(t, "data");
    const json_t *cols = json_object_get(t, "columns");
    const cs_split_t *sp = &ds->splits[s];
    const json_t *tu = json_object_get(td, "user_index");
    assert_int_equal(sp->n_users, (int64_t)json_array_size(tu));
    int F = ds->n_features;
    assert_int_equal((int)json_array_size(cols), 2 + F);
    for (int64_t i = 0; i < sp->n_users; i++) {
      if (i) assert_true(sp->user_ids[i] > sp->user_ids[i - 1]);
      int64_t r = find_i64(tu, sp->user_ids[i]);
      assert_true(r >= 0);
      for (size_t c = 2; c < json_array_size(cols); c++) {
        const char *cn = json_string_value(json_array_get(cols, c));
        int j = feature_index(cn, dim);
        const json_t *v = json_array_get(json_object_get(td, cn), (size_t)r);
        float want = json_is_null(v) ? 0.0f : (float)json_number_value(v);
        n_nulls += json_is_null(v);
        if (sp->features[i * F + j] != want)
          fail_msg("%s user %lld column %s: %g != %g", name,
                   (long long)sp->user_ids[i], cn, sp->features[i * F + j], want);
      }
      /* truth: sorted unique song rows of d1d30_songs, unknown songs out */
      const json_t *list = json_array_get(json_object_get(td, "d1d30_songs"), (size_t)r);
      int64_t want[256], n_want = 0;
      assert_true(json_array_size(list) <= 256);
      for (size_t e = 0; e < json_array_size(list); e++) {
        int64_t row = song_row(ds, json_integer_value(json_array_get(list, e)));
        if (row < 0) n_unknown++;
        else want[n_want++] = row;
      }
      qsort(want, (size_t)n_want, sizeof *want, cmp_i64);
      int64_t k2 = 0;
      for (int64_t e = 0; e < n_want; e++)
        if (!k2 || want[e] != want[k2 - 1]) want[k2++] = want[e];
      n_repeats += n_want - k2;
      assert_int_equal(sp->truth_indptr[i + 1] - sp->truth_indptr[i], k2);
      assert_memory_equal(sp->truth_indices + sp->truth_indptr[i], want,
                          (size_t)k2 * sizeof *want);
      /* target from user_embeddings by user_index */
      int64_t ur = find_i64(uidx, sp->user_ids[i]);
      const json_t *ue = ur >= 0 ? json_array_get(uemb, (size_t)ur) : NULL;
      assert_non_null(sp->targets);
      if (ue && !json_is_null(ue)) {
        assert_int_equal(sp->has_target[i], 1);
        n_targets++;
        for (int d = 0; d < dim; d++)
          assert_true(sp->targets[i * dim + d] ==
                      (float)json_number_value(json_array_get(ue, (size_t)d)));
      } else {
        assert_int_equal(sp->has_target[i], 0);
        n_no_target++;
        for (int d = 0; d < dim; d++) assert_true(sp->targets[i * dim + d] == 0.0f);
      }
    }
    json_decref(t);
  }
  /* the fixture has all the cases: they were checked */
  assert_true(n_targets > 0);
  assert_true(n_no_target >= 3); /* users absent from user_embeddings, null lists */
  assert_true(n_nulls > 0);      /* nullable counts and features */
  assert_int_equal(n_unknown, 1);
  assert_true(n_repeats > 0);
  json_decref(songs);
  json_decref(users);
}

static const char *tmp_dir(void) {
  const char *tmp = getenv("CS_TMP");
  return tmp && *tmp ? tmp : "/tmp";
}

static void import_ok(const char *dir, const char *space, cs_dataset_t *ds) {
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_import_deezer(dir, space, ds, NULL, &err)) fail_msg("%s: %s", dir, err.msg);
}

/* Import, check every value, save, load back, check again. */
static void import_check(const char *dir, const char *space, const char *want_space,
                         int dim) {
  char out[1024];
  snprintf(out, sizeof out, "%s/import_%s_%d.cs", tmp_dir(), want_space, (int)getpid());
  cs_dataset_t ds, back;
  cs_err_t err;
  import_ok(dir, space, &ds);
  check_dataset(&ds, want_space, dim);
  if (cs_dataset_save(&ds, out, &err)) fail_msg("%s", err.msg);
  cs_dataset_free(&ds);
  if (cs_dataset_load(&back, out, &err)) fail_msg("%s", err.msg);
  check_dataset(&back, want_space, dim);
  cs_dataset_free(&back);
  unlink(out);
}

static void test_release_svd(void **state) {
  (void)state;
  import_check(FIXTURES "/release", "svd", "svd", 4);
}

static void test_release_mf(void **state) {
  (void)state;
  import_check(FIXTURES "/release", "mf", "mf", 8);
}

/* Deezer's own writers: fastparquet JSON-text embeddings, Spark features
 * (OPTIONAL INT32 ids, REQUIRED list of REQUIRED INT32, PLAIN_DICTIONARY
 * doubles with a PLAIN fallback, INT32 age, INT64 counts, rows unsorted),
 * README naming; the space comes from the names when not given. */
static void test_deezer_pipeline(void **state) {
  (void)state;
  import_check(FIXTURES "/deezer", "svd", "svd", 4);
  import_check(FIXTURES "/deezer", NULL, "svd", 4);
  import_check(FIXTURES "/deezer", "auto", "svd", 4);
}

/* Zenodo's naming: no space in the names; the blocks are 8 wide, the width
 * of features_mf: mf. */
static void test_zenodo_naming(void **state) {
  (void)state;
  import_check(FIXTURES "/zenodo", NULL, "mf", 8);
  import_check(FIXTURES "/zenodo", "mf", "mf", 8);
}

static void same_dataset(const cs_dataset_t *a, const cs_dataset_t *b) {
  assert_string_equal(a->space, b->space);
  assert_int_equal(a->dim, b->dim);
  assert_int_equal(a->n_songs, b->n_songs);
  assert_memory_equal(a->song_ids, b->song_ids, (size_t)a->n_songs * sizeof(int64_t));
  assert_memory_equal(a->song_emb, b->song_emb, (size_t)(a->n_songs * a->dim) * sizeof(float));
  for (int s = 0; s < CS_N_SPLITS; s++) {
    const cs_split_t *x = &a->splits[s], *y = &b->splits[s];
    assert_int_equal(x->n_users, y->n_users);
    size_t n = (size_t)x->n_users;
    assert_memory_equal(x->user_ids, y->user_ids, n * sizeof(int64_t));
    assert_memory_equal(x->features, y->features, n * (size_t)a->n_features * sizeof(float));
    assert_memory_equal(x->truth_indptr, y->truth_indptr, (n + 1) * sizeof(int64_t));
    assert_memory_equal(x->truth_indices, y->truth_indices,
                        (size_t)x->truth_indptr[n] * sizeof(int64_t));
    assert_memory_equal(x->targets, y->targets, n * (size_t)a->dim * sizeof(float));
    assert_memory_equal(x->has_target, y->has_target, n);
  }
}

/* A folder of symlinks (made under CS_TMP, its name in dir[]): the 5 files
 * of release folder `base` for `space`, with swaps = {"name", "fixture
 * path", ...} (n_swaps pairs) in their place. */
static const char *const release_files[] = {
    "song_embeddings.parquet", "user_embeddings.parquet", "user_features_train_%s.parquet",
    "user_features_validation_%s.parquet", "user_features_test_%s.parquet"};

static void link_fixture(const char *dir, const char *name, const char *fixture) {
  char abs_src[PATH_MAX], dst[2048];
  if (!realpath(fixture, abs_src)) fail_msg("no fixture %s", fixture);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  assert_int_equal(symlink(abs_src, dst), 0);
}

static void make_folder(char *dir, size_t cap, const char *tag, const char *base,
                        const char *space, const char *const *swaps, int n_swaps) {
  static int serial;
  snprintf(dir, cap, "%s/import_%s_%d_%d", tmp_dir(), tag, (int)getpid(), serial++);
  assert_int_equal(mkdir(dir, 0755), 0);
  for (size_t k = 0; k < sizeof release_files / sizeof *release_files; k++) {
    char name[128], src[1024];
    snprintf(name, sizeof name, release_files[k], space);
    snprintf(src, sizeof src, "%s/%s", base, name);
    for (int w = 0; w < n_swaps; w++)
      if (!strcmp(swaps[2 * w], name)) snprintf(src, sizeof src, "%s", swaps[2 * w + 1]);
    link_fixture(dir, name, src);
  }
}

static void remove_folder(const char *dir) {
  char cmd[2200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* Every writer's files swapped into the release folder import to exactly
 * the dataset the pyarrow layout gives. */
static void test_writers_agree(void **state) {
  (void)state;
  static const struct {
    const char *space, *tag;
    const char *swaps[6];
  } cases[] = {
      {"svd", "deezer", {"song_embeddings.parquet", FIXTURES "/deezer/song_embeddings.parquet",
                         "user_embeddings.parquet", FIXTURES "/deezer/user_embeddings.parquet",
                         "user_features_train_svd.parquet", FIXTURES "/deezer/user_features_train_svd.parquet"}},
      {"svd", "gzip_v2", {"song_embeddings.parquet", FIXTURES "/variants/gzip_v2_plain/song_embeddings.parquet",
                          "user_embeddings.parquet", FIXTURES "/variants/gzip_v2_plain/user_embeddings.parquet",
                          "user_features_train_svd.parquet", FIXTURES "/variants/gzip_v2_plain/user_features_train_svd.parquet"}},
      {"svd", "legacy", {"song_embeddings.parquet", FIXTURES "/variants/legacy_lists/song_embeddings.parquet",
                         "user_embeddings.parquet", FIXTURES "/variants/legacy_lists/user_embeddings.parquet",
                         "user_features_train_svd.parquet", FIXTURES "/release/user_features_train_svd.parquet"}},
      {"svd", "duckdb", {"song_embeddings.parquet", FIXTURES "/duckdb/song_embeddings.v2.parquet",
                         "user_embeddings.parquet", FIXTURES "/duckdb/user_embeddings.zstd.parquet",
                         "user_features_train_svd.parquet", FIXTURES "/duckdb/user_features_train_svd.v2.parquet"}},
      {"mf", "duckdb_array", {"song_embeddings.parquet", FIXTURES "/duckdb/song_embeddings.array.parquet",
                              "user_embeddings.parquet", FIXTURES "/duckdb/user_embeddings.zstd.parquet",
                              "user_features_train_mf.parquet", FIXTURES "/release/user_features_train_mf.parquet"}},
      {"svd", "hyparquet", {"song_embeddings.parquet", FIXTURES "/hyparquet/song_embeddings.parquet",
                            "user_embeddings.parquet", FIXTURES "/hyparquet/user_embeddings.parquet",
                            "user_features_train_svd.parquet", FIXTURES "/hyparquet/user_features_train_svd.parquet"}},
      {"mf", "hyparquet_mf", {"song_embeddings.parquet", FIXTURES "/hyparquet/song_embeddings.parquet",
                              "user_embeddings.parquet", FIXTURES "/hyparquet/user_embeddings.parquet",
                              "user_features_train_mf.parquet", FIXTURES "/release/user_features_train_mf.parquet"}},
  };
  cs_dataset_t want[2], got;
  import_ok(FIXTURES "/release", "svd", &want[0]);
  import_ok(FIXTURES "/release", "mf", &want[1]);
  char dir[1024];
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    make_folder(dir, sizeof dir, cases[c].tag, FIXTURES "/release", cases[c].space,
                cases[c].swaps, 3);
    import_ok(dir, cases[c].space, &got);
    same_dataset(&want[strcmp(cases[c].space, "svd") != 0], &got);
    cs_dataset_free(&got);
    remove_folder(dir);
  }
  /* Deezer's pipeline and Zenodo's naming, whole folders */
  import_ok(FIXTURES "/deezer", NULL, &got);
  same_dataset(&want[0], &got);
  cs_dataset_free(&got);
  import_ok(FIXTURES "/zenodo", NULL, &got);
  same_dataset(&want[1], &got);
  cs_dataset_free(&got);
  cs_dataset_free(&want[0]);
  cs_dataset_free(&want[1]);
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *size = (size_t)n;
  return buf;
}

/* Rows in no order (Spark) and the same rows sorted: byte-identical
 * dataset files. */
static void test_unsorted_equals_sorted(void **state) {
  (void)state;
  const char *swaps[] = {
      "song_embeddings.parquet", FIXTURES "/deezer_sorted/song_embeddings.parquet",
      "user_features_train_svd.parquet", FIXTURES "/deezer_sorted/user_features_train_svd.parquet"};
  char dir[1024], out[2][1100];
  make_folder(dir, sizeof dir, "sorted", FIXTURES "/deezer", "svd", swaps, 2);
  const char *dirs[2] = {FIXTURES "/deezer", dir};
  cs_err_t err;
  for (int k = 0; k < 2; k++) {
    cs_dataset_t ds;
    import_ok(dirs[k], "svd", &ds);
    snprintf(out[k], sizeof out[k], "%s/order_%d.cs", dir, k);
    if (cs_dataset_save(&ds, out[k], &err)) fail_msg("%s", err.msg);
    cs_dataset_free(&ds);
  }
  size_t n0, n1;
  uint8_t *a = read_file(out[0], &n0), *b = read_file(out[1], &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(a, b, n0);
  free(a);
  free(b);
  remove_folder(dir);
}

static void expect_error(const char *dir, const char *space, int code,
                         const char *const *needles) {
  cs_dataset_t ds;
  cs_err_t err;
  cs_err_clear(&err);
  int rc = cs_import_deezer(dir, space, &ds, NULL, &err);
  if (rc != code)
    fail_msg("%s --space %s: %s, expected %s: %s", dir, space ? space : "auto",
             cs_errname(rc), cs_errname(code), err.msg);
  for (int k = 0; needles[k]; k++)
    if (!strstr(err.msg, needles[k])) fail_msg("message '%s' lacks '%s'", err.msg, needles[k]);
}

/* Bad JSON text: the file, row and column are named, nothing imported. */
static void test_bad_json_text(void **state) {
  (void)state;
  static const struct {
    const char *what;
    const char *needles[4];
  } cases[] = {
      {"garbage", {"song_embeddings.parquet: row 3: column 'features_svd'", "bad number '0.002x'"}},
      {"nan", {"row 2: column 'features_svd'", "bad number 'NaN'"}},
      {"unclosed", {"row 1: column 'features_svd'", "expected ',' or ']'"}},
      {"nested", {"row 6: column 'features_svd'", "bad number '[0.5' at byte"}},
      {"short", {"song_embeddings.parquet: row 5: 'features_svd' has 3 values, expected 4"}},
      {"long", {"song_embeddings.parquet: row 4: 'features_svd' has 5 values, expected 4"}},
  };
  char dir[1024], src[512];
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    snprintf(src, sizeof src, FIXTURES "/bad/%s/song_embeddings.parquet", cases[c].what);
    const char *swaps[] = {"song_embeddings.parquet", src};
    make_folder(dir, sizeof dir, cases[c].what, FIXTURES "/deezer", "svd", swaps, 1);
    expect_error(dir, "svd", CS_EFORMAT, cases[c].needles);
    remove_folder(dir);
  }
}

/* Values the method cannot use: ids stored as floats (truncated silently
 * before), a feature that is not a finite float. */
static void test_bad_values(void **state) {
  (void)state;
  char dir[1024];
  const char *swaps[] = {"song_embeddings.parquet",
                         FIXTURES "/bad/float_ids/song_embeddings.parquet"};
  make_folder(dir, sizeof dir, "float_ids", FIXTURES "/deezer", "svd", swaps, 1);
  expect_error(dir, "svd", CS_EFORMAT,
               (const char *const[]){"song_embeddings.parquet: column 'song_index' holds ids "
                                     "but is DOUBLE", NULL});
  remove_folder(dir);
  const char *swaps2[] = {"user_features_train_svd.parquet",
                          FIXTURES "/bad/inf_feature/user_features_train_svd.parquet"};
  make_folder(dir, sizeof dir, "inf_feature", FIXTURES "/deezer", "svd", swaps2, 1);
  expect_error(dir, "svd", CS_EFORMAT,
               (const char *const[]){"user_features_train_svd.parquet: row 3: column "
                                     "'age_embedding2': inf is not a finite float", NULL});
  remove_folder(dir);
}

static void test_space_errors(void **state) {
  (void)state;
  /* --space naming the other width: both values named */
  expect_error(FIXTURES "/zenodo", "svd", CS_EINVAL,
               (const char *const[]){"--space svd disagrees with", "user_features_train.parquet",
                                     "8 wide", "features_mf (space mf)", NULL});
  /* a suffixed file of the wrong width, too */
  const char *swaps[] = {"user_features_train_svd.parquet",
                         FIXTURES "/release/user_features_train_mf.parquet"};
  char dir[1024];
  make_folder(dir, sizeof dir, "wrongwidth", FIXTURES "/release", "svd", swaps, 1);
  expect_error(dir, "svd", CS_EINVAL,
               (const char *const[]){"--space svd disagrees", "user_features_train_svd.parquet",
                                     "mf", NULL});
  remove_folder(dir);
  /* both spaces' files and no --space: which one? */
  expect_error(FIXTURES "/release", NULL, CS_EINVAL,
               (const char *const[]){"both spaces", "pass --space svd or --space mf", NULL});
  /* no mf files in Deezer's pipeline folder: both names we looked for */
  expect_error(FIXTURES "/deezer", "mf", CS_ENOTFOUND,
               (const char *const[]){"user_features_train_mf.parquet", "user_features_train.parquet",
                                     NULL});
  expect_error(FIXTURES "/deezer", "pca", CS_EINVAL, (const char *const[]){"'pca'", NULL});
}

static void test_missing_files(void **state) {
  (void)state;
  expect_error("/nonexistent", "svd", CS_ENOTFOUND,
               (const char *const[]){"/nonexistent/song_embeddings.parquet", NULL});
  /* a folder without the validation split names it */
  char dir[1024];
  make_folder(dir, sizeof dir, "noval", FIXTURES "/deezer", "svd", NULL, 0);
  char path[1100];
  snprintf(path, sizeof path, "%s/user_features_validation_svd.parquet", dir);
  assert_int_equal(unlink(path), 0);
  expect_error(dir, "svd", CS_ENOTFOUND,
               (const char *const[]){"user_features_validation_svd.parquet",
                                     "user_features_validation.parquet", NULL});
  remove_folder(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_release_svd),
      cmocka_unit_test(test_release_mf),
      cmocka_unit_test(test_deezer_pipeline),
      cmocka_unit_test(test_zenodo_naming),
      cmocka_unit_test(test_writers_agree),
      cmocka_unit_test(test_unsorted_equals_sorted),
      cmocka_unit_test(test_bad_json_text),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_space_errors),
      cmocka_unit_test(test_missing_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

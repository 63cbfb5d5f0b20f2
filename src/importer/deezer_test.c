/* deezer_test.c: import-deezer end to end on the shared release fixture for
 * both spaces: every feature value lands in its named column (nulls -> 0),
 * truth lists are the d1d30 songs as sorted unique song rows, targets come
 * from user_embeddings by user_index; the saved file loads back the same. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coldstart/importer.h"

static const char *shared_dir(void) {
  const char *s = getenv("CS_SHARED");
  return s && *s ? s : "../shared";
}

static json_t *load_truth(const char *name) {
  char path[2048];
  snprintf(path, sizeof path, "%s/fixtures/deezer-parquet/release/%s.truth.json",
           shared_dir(), name);
  json_error_t jerr;
  json_t *j = json_load_file(path, 0, &jerr);
  if (!j) fail_msg("%s: %s", path, jerr.text);
  return json_object_get(j, "data") ? j : NULL;
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
                  (float)json_real_value(json_array_get(e, (size_t)k)));
  }
  json_t *users = load_truth("user_embeddings");
  const json_t *ud = json_object_get(users, "data");
  snprintf(col, sizeof col, "%s_embeddings", space);
  const json_t *uidx = json_object_get(ud, "user_index"), *uemb = json_object_get(ud, col);
  int64_t n_targets = 0, n_nulls = 0;
  for (int s = 0; s < CS_N_SPLITS; s++) {
    char name[128];
    snprintf(name, sizeof name, "user_features_%s_%s", cs_split_name(s), space);
    json_t *t = load_truth(name);
    const json_t *td = json_object_get(t, "data");
    const json_t *cols = json_object_get(t, "columns");
    const cs_split_t *sp = &ds->splits[s];
    const json_t *tu = json_object_get(td, "user_index");
    assert_int_equal(sp->n_users, (int64_t)json_array_size(tu));
    /* feature columns of the truth file, mapped by name */
    int F = ds->n_features;
    for (int64_t i = 0; i < sp->n_users; i++) {
      if (i) assert_true(sp->user_ids[i] > sp->user_ids[i - 1]);
      int64_t r = find_i64(tu, sp->user_ids[i]);
      assert_true(r >= 0);
      for (size_t c = 2; c < json_array_size(cols); c++) {
        const char *cn = json_string_value(json_array_get(cols, c));
        int j;
        int k;
        if (!strcmp(cn, "age_value")) j = 20 * dim;
        else if (!strncmp(cn, "nb_", 3)) {
          for (k = 0; k < CS_N_COUNTS && strcmp(cs_feature_counts[k], cn); k++) {}
          assert_true(k < CS_N_COUNTS);
          j = 20 * dim + 1 + k;
        } else {
          const char *us = strstr(cn, "_embedding");
          assert_non_null(us);
          for (k = 0; k < CS_N_BLOCKS; k++)
            if (strlen(cs_feature_blocks[k]) == (size_t)(us - cn) &&
                !strncmp(cs_feature_blocks[k], cn, (size_t)(us - cn)))
              break;
          assert_true(k < CS_N_BLOCKS);
          j = k * dim + atoi(us + strlen("_embedding"));
        }
        const json_t *v = json_array_get(json_object_get(td, cn), (size_t)r);
        float want = json_is_null(v) ? 0.0f : (float)json_number_value(v);
        n_nulls += json_is_null(v);
        if (sp->features[i * F + j] != want)
          fail_msg("%s user %lld column %s: %g != %g", name,
                   (long long)sp->user_ids[i], cn, sp->features[i * F + j], want);
      }
      /* truth: sorted unique song rows of d1d30_songs */
      const json_t *list = json_array_get(json_object_get(td, "d1d30_songs"), (size_t)r);
      int64_t want[4096], n_want = 0;
      for (size_t e = 0; e < json_array_size(list); e++)
        want[n_want++] = song_row(ds, json_integer_value(json_array_get(list, e)));
      qsort(want, (size_t)n_want, sizeof *want, cmp_i64);
      int64_t k2 = 0;
      for (int64_t e = 0; e < n_want; e++)
        if (!k2 || want[e] != want[k2 - 1]) want[k2++] = want[e];
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
                      (float)json_real_value(json_array_get(ue, (size_t)d)));
      } else {
        assert_int_equal(sp->has_target[i], 0);
        for (int d = 0; d < dim; d++) assert_true(sp->targets[i * dim + d] == 0.0f);
      }
    }
    json_decref(t);
  }
  assert_true(n_targets > 0);
  assert_true(n_nulls > 0); /* the fixture has nullable counts: they were checked */
  json_decref(songs);
  json_decref(users);
}

static void import_space(const char *space, int dim) {
  char dir[1024], out[1024];
  snprintf(dir, sizeof dir, "%s/fixtures/deezer-parquet/release", shared_dir());
  const char *tmp = getenv("CS_TMP");
  snprintf(out, sizeof out, "%s/import_%s_%d.cs", tmp && *tmp ? tmp : "/tmp", space,
           (int)getpid());
  cs_dataset_t ds;
  cs_err_t err;
  cs_err_clear(&err);
  if (cs_import_deezer(dir, space, &ds, NULL, &err)) fail_msg("%s", err.msg);
  check_dataset(&ds, space, dim);
  if (cs_dataset_save(&ds, out, &err)) fail_msg("%s", err.msg);
  cs_dataset_free(&ds);
  cs_dataset_t back;
  if (cs_dataset_load(&back, out, &err)) fail_msg("%s", err.msg);
  check_dataset(&back, space, dim);
  cs_dataset_free(&back);
  unlink(out);
}

static void test_import_svd(void **state) {
  (void)state;
  import_space("svd", 8);
}

static void test_import_mf(void **state) {
  (void)state;
  import_space("mf", 16);
}

static void same_dataset(const cs_dataset_t *a, const cs_dataset_t *b) {
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

/* Each variant writer's files (other codecs, plain vs dictionary, pages v2,
 * 32-row groups, legacy lists, pandas' reordered rows) swapped into the
 * release folder must import to exactly the same dataset. */
static void test_import_variants(void **state) {
  (void)state;
  static const char *const variants[] = {"gzip_v1_plain", "lz4raw_v2_plain", "none_v1_plain",
                                         "pandas_default", "snappy_legacy_lists",
                                         "snappy_rg32", "zstd_v2_dict"};
  static const char *const files[] = {"song_embeddings.parquet", "user_embeddings.parquet",
                                      "user_features_train_svd.parquet",
                                      "user_features_validation_svd.parquet",
                                      "user_features_test_svd.parquet"};
  char rel[1024], dir[1024], src[2048], dst[2048];
  snprintf(rel, sizeof rel, "%s/fixtures/deezer-parquet/release", shared_dir());
  cs_dataset_t want, got;
  cs_err_t err;
  if (cs_import_deezer(rel, "svd", &want, NULL, &err)) fail_msg("%s", err.msg);
  const char *tmp = getenv("CS_TMP");
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    snprintf(dir, sizeof dir, "%s/import_variant_%d_%zu", tmp && *tmp ? tmp : "/tmp",
             (int)getpid(), v);
    assert_int_equal(mkdir(dir, 0755), 0);
    int n_swapped = 0;
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
      snprintf(src, sizeof src, "%s/fixtures/deezer-parquet/variants/%s/%s", shared_dir(),
               variants[v], files[k]);
      if (access(src, R_OK) == 0) n_swapped++;
      else snprintf(src, sizeof src, "%s/%s", rel, files[k]);
      char abs_src[PATH_MAX];
      assert_non_null(realpath(src, abs_src));
      snprintf(dst, sizeof dst, "%s/%s", dir, files[k]);
      assert_int_equal(symlink(abs_src, dst), 0);
    }
    assert_true(n_swapped >= 2);
    if (cs_import_deezer(dir, "svd", &got, NULL, &err)) fail_msg("%s: %s", variants[v], err.msg);
    same_dataset(&want, &got);
    cs_dataset_free(&got);
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
      snprintf(dst, sizeof dst, "%s/%s", dir, files[k]);
      unlink(dst);
    }
    rmdir(dir);
  }
  cs_dataset_free(&want);
}

static void test_import_errors(void **state) {
  (void)state;
  cs_dataset_t ds;
  cs_err_t err;
  assert_int_equal(cs_import_deezer("/nonexistent", "svd", &ds, NULL, &err), CS_ENOTFOUND);
  assert_non_null(strstr(err.msg, "/nonexistent/song_embeddings.parquet"));
  assert_int_equal(cs_import_deezer("/nonexistent", "pca", &ds, NULL, &err), CS_EINVAL);
  /* a variant folder lacks the validation/test files: named in the error */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/fixtures/deezer-parquet/variants/zstd_v2_dict",
           shared_dir());
  assert_int_equal(cs_import_deezer(dir, "svd", &ds, NULL, &err), CS_ENOTFOUND);
  assert_non_null(strstr(err.msg, "user_features_validation_svd.parquet"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import_svd),
      cmocka_unit_test(test_import_mf),
      cmocka_unit_test(test_import_variants),
      cmocka_unit_test(test_import_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* json_list_test.c: the JSON-text list parser: every number form JSON
 * allows (signs, exponents, whitespace anywhere), exact agreement with
 * strtod rounded to float, and every kind of garbage rejected with the byte
 * offset of the bad token. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer/json_list.h"

static int parse(const char *s, float *out, int64_t cap, int64_t *n, char *why) {
  return cs__json_list_parse((const uint8_t *)s, strlen(s), out, cap, n, why, 128);
}

static void test_accepts(void **state) {
  (void)state;
  float v[8];
  int64_t n;
  char why[128];
  /* Python's json.dumps, JavaScript's String(), whitespace, exponents */
  static const struct {
    const char *text;
    int n;
    double want[4];
  } cases[] = {
      {"[0.0019, -0.0154, 1e-05]", 3, {0.0019, -0.0154, 1e-05}},
      {"[0.0019,-0.0154,1e-5]", 3, {0.0019, -0.0154, 1e-5}},
      {" [\n\t1.5E+2 ,\r\n-2.25e-3\t]\n", 2, {150.0, -0.00225}},
      {"[0, -0, 0.0, 12]", 4, {0.0, -0.0, 0.0, 12.0}},
      {"[-1.2345678901234567890e-10]", 1, {-1.2345678901234567890e-10}},
      {"[1E0,2e+0,3e-0]", 3, {1.0, 2.0, 3.0}},
      {"[]", 0, {0}},
      {"  [ ]  ", 0, {0}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    memset(v, 0x7f, sizeof v);
    if (parse(cases[c].text, v, 8, &n, why)) fail_msg("'%s': %s", cases[c].text, why);
    assert_int_equal(n, cases[c].n);
    for (int k = 0; k < cases[c].n; k++) assert_true(v[k] == (float)cases[c].want[k]);
  }
  /* -0 keeps its sign */
  assert_int_equal(parse("[-0.0]", v, 8, &n, why), 0);
  assert_true(signbit(v[0]));
  /* counting past the capacity, and counting only */
  assert_int_equal(parse("[1, 2, 3, 4, 5]", v, 2, &n, why), 0);
  assert_int_equal(n, 5);
  assert_true(v[0] == 1.0f && v[1] == 2.0f);
  assert_int_equal(cs__json_list_parse((const uint8_t *)"[1,2,3]", 7, NULL, 0, &n, why, 128), 0);
  assert_int_equal(n, 3);
  /* not NUL-terminated: only `len` bytes are read */
  const char buf[] = {'[', '4', ']', '9'};
  assert_int_equal(cs__json_list_parse((const uint8_t *)buf, 3, v, 8, &n, why, 128), 0);
  assert_int_equal(n, 1);
  assert_true(v[0] == 4.0f);
  /* agrees with strtod on awkward decimals */
  static const char *const hard[] = {"0.1", "0.30000000000000004", "3.4028234e38",
                                     "1.17549435e-38", "7.006492321624085e-46", "123456789012345678"};
  for (size_t h = 0; h < sizeof hard / sizeof *hard; h++) {
    char text[64];
    snprintf(text, sizeof text, "[%s]", hard[h]);
    assert_int_equal(parse(text, v, 8, &n, why), 0);
    assert_true(v[0] == (float)strtod(hard[h], NULL));
  }
}

static void test_rejects(void **state) {
  (void)state;
  float v[8];
  int64_t n;
  char why[128];
  static const struct {
    const char *text, *reason;
  } cases[] = {
      {"[0.1, 0.2x, 0.3]", "bad number '0.2x' at byte 6"},
      {"[NaN]", "bad number 'NaN' at byte 1"},
      {"[1, Infinity]", "bad number 'Infinity' at byte 4"},
      {"[-Infinity]", "bad number '-Infinity' at byte 1"},
      {"[+1]", "bad number '+1' at byte 1"},
      {"[.5]", "bad number '.5' at byte 1"},
      {"[5.]", "bad number '5.' at byte 1"},
      {"[01]", "bad number '01' at byte 1"},
      {"[1e]", "bad number '1e' at byte 1"},
      {"[0x10]", "bad number '0x10' at byte 1"},
      {"[1,,2]", "bad number"},
      {"[1, 2,]", "bad number"},
      {"[[1]]", "bad number"},
      {"[\"1\"]", "bad number"},
      {"[1 2]", "expected ',' or ']', found '2' at byte 3"},
      {"[1, 2", "expected ',' or ']', found at the end of the text (5 bytes)"},
      {"1, 2", "expected '[', found '1' at byte 0"},
      {"", "expected '[', found at the end"},
      {"[1] x", "bytes after the list: 'x' at byte 4"},
      {"[] ]", "bytes after the list"},
      {"[1e39]", "number out of float range: '1e39' at byte 1"},
      {"[-1e400]", "out of float range"},
      {"null", "expected '['"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    why[0] = 0;
    if (parse(cases[c].text, v, 8, &n, why) != -1)
      fail_msg("'%s' accepted", cases[c].text);
    if (!strstr(why, cases[c].reason))
      fail_msg("'%s': reason '%s' lacks '%s'", cases[c].text, why, cases[c].reason);
  }
  /* an embedded NUL is garbage too */
  assert_int_equal(cs__json_list_parse((const uint8_t *)"[1\0]", 4, v, 8, &n, why, 128), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepts),
      cmocka_unit_test(test_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
